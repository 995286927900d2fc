/* statemachine/authz.c - the resource a Step Functions action touches, for
 * the access check (core/authz.c) made before the action runs. */
#include "statemachine/internal.h"

#include <stdlib.h>
#include <string.h>

static char *resource_of(const sy_ctx_t *ctx, const char *action, const json_t *in)
{
    static const char *keys[] = {"stateMachineArn", "executionArn", "activityArn", "mapRunArn", "resourceArn",
                                 "stateMachineAliasArn", "stateMachineVersionArn", NULL};
    for (const char **k = keys; *k; k++)
        if (sy_json_str(in, *k)) return sy_strdup(sy_json_str(in, *k));
    const char *name = sy_json_str(in, "name");
    if (name && !strcmp(action, "CreateStateMachine")) {
        char *res = sy_asprintf("stateMachine:%s", name);
        char *arn = sy_arn(ctx, "states", res);
        free(res);
        return arn;
    }
    if (name && !strcmp(action, "CreateActivity")) {
        char *res = sy_asprintf("activity:%s", name);
        char *arn = sy_arn(ctx, "states", res);
        free(res);
        return arn;
    }
    return sy_strdup("*");
}

int sfn_authorize(const sy_req_t *req, const json_t *in, sy_err_t *err)
{
    char action[96];
    snprintf(action, sizeof action, "states:%s", req->action ? req->action : "");
    char *resource = resource_of(req->ctx, req->action ? req->action : "", in);
    int rc = sy_authz_check(req, action, resource, NULL, err);
    free(resource);
    return rc;
}
