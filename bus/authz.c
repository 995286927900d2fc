/* bus/authz.c - the resource an EventBridge action touches, for the access
 * check (core/authz.c) made before the action runs. */
#include "bus/internal.h"

#include <stdlib.h>
#include <string.h>

static char *bus_arn(const sy_ctx_t *ctx, const char *bus)
{
    if (bus && !strncmp(bus, "arn:", 4)) return sy_strdup(bus);
    char *res = sy_asprintf("event-bus/%s", bus && *bus ? bus : "default");
    char *arn = sy_arn(ctx, "events", res);
    free(res);
    return arn;
}

static char *kind_arn(const sy_ctx_t *ctx, const char *kind, const char *name)
{
    if (!strncmp(name, "arn:", 4)) return sy_strdup(name);
    char *res = sy_asprintf("%s/%s", kind, name);
    char *arn = sy_arn(ctx, "events", res);
    free(res);
    return arn;
}

static char *resource_of(const sy_ctx_t *ctx, const char *action, const json_t *in)
{
    const char *name = sy_json_str(in, "Name"), *bus = sy_json_str(in, "EventBusName");
    if (!strcmp(action, "PutEvents")) {
        const json_t *first = json_array_get(json_object_get(in, "Entries"), 0);
        return bus_arn(ctx, sy_json_str(first, "EventBusName"));
    }
    if (strstr(action, "Rule") || !strcmp(action, "PutTargets") || !strcmp(action, "RemoveTargets") ||
        !strcmp(action, "ListTargetsByRule")) {
        const char *rule = name ? name : sy_json_str(in, "Rule");
        if (!rule || strstr(action, "ListRule")) return bus_arn(ctx, bus);
        if (!strncmp(rule, "arn:", 4)) return sy_strdup(rule);
        char *res = bus && *bus && strcmp(bus, "default") && strncmp(bus, "arn:", 4) ? sy_asprintf("rule/%s/%s", bus, rule)
                                                                                    : sy_asprintf("rule/%s", rule);
        char *arn = sy_arn(ctx, "events", res);
        free(res);
        return arn;
    }
    if (strstr(action, "EventBus")) return name ? bus_arn(ctx, name) : sy_strdup("*");
    const char *arch = sy_json_str(in, "ArchiveName");
    if (strstr(action, "Archive") && arch) return kind_arn(ctx, "archive", arch);
    const char *rep = sy_json_str(in, "ReplayName");
    if (strstr(action, "Replay") && rep) return kind_arn(ctx, "replay", rep);
    if (strstr(action, "ApiDestination") && name) return kind_arn(ctx, "api-destination", name);
    if (strstr(action, "Connection") && name) return kind_arn(ctx, "connection", name);
    const char *arn = sy_json_str(in, "ResourceARN");
    if (arn) return sy_strdup(arn);
    return sy_strdup("*");
}

int eb_authorize(const sy_req_t *req, const json_t *in, sy_err_t *err)
{
    char action[96];
    snprintf(action, sizeof action, "events:%s", req->action ? req->action : "");
    char *resource = resource_of(req->ctx, req->action ? req->action : "", in);
    int rc = sy_authz_check(req, action, resource, NULL, err);
    free(resource);
    return rc;
}
