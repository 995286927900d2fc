/* statemachine/api_machines.c - AWSStepFunctions.* state machine actions:
 * create, describe, update, delete, list, validate, tags. */
#include "statemachine/internal_api.h"

#include <stdlib.h>
#include <string.h>

/* Integrations whose services do not exist yet: AWS's validation error. */
static void unsupported_resources(const json_t *v, const char *loc, json_t *diags)
{
    if (json_is_object(v)) {
        const char *res = sy_json_str(v, "Resource");
        if (res && sy_json_str(v, "Type") && !strcmp(sy_json_str(v, "Type"), "Task")) {
            /* the resources Switchyard runs; anything else is refused here */
            static const char *yes[] = {"arn:aws:states:::lambda:invoke", "arn:aws:states:::sqs:sendMessage",
                                        "arn:aws:states:::sns:publish", "arn:aws:states:::events:putEvents",
                                        "arn:aws:states:::states:startExecution",
                                        "arn:aws:states:::aws-sdk:sns:publish",
                                        "arn:aws:states:::aws-sdk:eventbridge:putEvents", NULL};
            bool supported = strncmp(res, "arn:aws:states:::aws-sdk:sqs:", 29) == 0 ||
                             strncmp(res, "arn:aws:states:::aws-sdk:eventbridge:", 37) == 0 ||
                             strncmp(res, "arn:aws:states:::aws-sdk:sfn:", 29) == 0 ||
                             (strncmp(res, "arn:aws:lambda:", 15) == 0 && strstr(res, ":function:"));
            for (const char **y = yes; *y && !supported; y++) {
                size_t n = strlen(*y);
                supported = strncmp(res, *y, n) == 0 && (res[n] == 0 || res[n] == '.');
            }
            if (!supported) {
                    char *l = sy_asprintf("%s/Resource", loc);
                    char *m = sy_asprintf("The resource provided %s is not recognized. The value is not a valid "
                                          "resource ARN, or the resource is not available in this region.", res);
                    json_array_append_new(diags, json_pack("{s:s,s:s,s:s,s:s}", "severity", "ERROR", "code",
                                                           "SCHEMA_VALIDATION_FAILED", "message", m, "location", l));
                    free(l);
                    free(m);
            }
        }
        const char *k;
        json_t *e;
        json_object_foreach((json_t *)v, k, e)
        {
            char *l = sy_asprintf("%s/%s", loc, k);
            unsupported_resources(e, l, diags);
            free(l);
        }
    } else if (json_is_array(v)) {
        size_t i;
        json_t *e;
        json_array_foreach(v, i, e)
        {
            char *l = sy_asprintf("%s/%zu", loc, i);
            unsupported_resources(e, l, diags);
            free(l);
        }
    }
}

/* 0 when the definition is runnable; InvalidDefinition otherwise. */
int sfn_check_definition(const char *def, const char *type, sy_err_t *err)
{
    size_t chars = 0; /* AWS's quota counts characters, not bytes */
    for (const unsigned char *p = (const unsigned char *)def; *p; p++) chars += (*p & 0xC0) != 0x80;
    if (chars > SY_ASL_DEFINITION_MAX)
        return sy_err_set(err, SY_E_LIMIT, 400, "ValidationException",
                          "1 validation error detected: Value at 'definition' failed to satisfy constraint: Member "
                          "must have length less than or equal to %d",
                          SY_ASL_DEFINITION_MAX);
    int flags = type && !strcmp(type, "EXPRESS") ? SY_ASL_VALIDATE_EXPRESS : 0;
    json_t *diags = NULL;
    sy_asl_def_t *d = sy_asl_def_parse(def, strlen(def), flags, &diags);
    if (d) {
        diags = json_array();
        unsupported_resources(sy_asl_def_json(d), "", diags);
        sy_asl_def_destroy(&d);
    }
    int rc = 0;
    if (json_array_size(diags)) {
        char *m = sy_asl_diagnostics_message(diags);
        rc = sy_err_set(err, SY_E_INVALID, 400, "InvalidDefinition", "%s", m);
        free(m);
    }
    json_decref(diags);
    return rc;
}

static json_t *tags_to_list(const json_t *tags)
{
    json_t *l = json_array();
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)tags, k, v) json_array_append_new(l, json_pack("{s:s,s:O}", "key", k, "value", v));
    return l;
}

static json_t *tags_from_list(const json_t *l)
{
    json_t *o = json_object();
    size_t i;
    json_t *t;
    json_array_foreach(l, i, t) if (sy_json_str(t, "key"))
        json_object_set_new(o, sy_json_str(t, "key"), json_string(sy_json_str(t, "value") ? sy_json_str(t, "value") : ""));
    return o;
}

int sfn_api_create_machine(sfn_svc_t *svc, json_t *in, json_t **out, sy_err_t *err)
{
    const char *name = sfn_req_str(in, "name", err), *def = sfn_req_str(in, "definition", err),
               *role = sfn_req_str(in, "roleArn", err);
    if (!name || !def || !role) return SY_E_INVALID;
    const char *type = sy_json_str(in, "type") ? sy_json_str(in, "type") : "STANDARD";
    if (!sfn_name_ok(name)) return sy_err_set(err, SY_E_INVALID, 400, "InvalidName", "Invalid Name: '%s'", name);
    if (strcmp(type, "STANDARD") && strcmp(type, "EXPRESS"))
        return sy_err_set(err, SY_E_INVALID, 400, "ValidationException", "Value '%s' at 'type' failed to satisfy constraint", type);
    int rc = sfn_check_definition(def, type, err);
    if (rc < 0) return rc;
    char *res = sy_asprintf("stateMachine:%s", name);
    sfn_machine_t m = {.arn = sy_arn(svc->ctx, "states", res), .name = sy_strdup(name), .type = sy_strdup(type),
                       .definition = sy_strdup(def), .role_arn = sy_strdup(role), .extra = json_object(),
                       .tags = tags_from_list(json_object_get(in, "tags")), .created_ms = sy_now_ms()};
    free(res);
    static const char *extras[] = {"loggingConfiguration", "tracingConfiguration", "description", NULL};
    for (const char **e = extras; *e; e++)
        if (json_object_get(in, *e)) json_object_set(m.extra, *e, json_object_get(in, *e));
    bool existed = false;
    rc = store_machine_insert(svc->ctx, &m, &existed, err);
    if (rc == 0 && existed) {
        sfn_machine_t old;
        rc = store_machine_get(svc->ctx, NULL, m.arn, &old, err);
        if (rc == 0) {
            if (strcmp(old.definition, def) || strcmp(old.role_arn, role) || strcmp(old.type, type))
                rc = sy_err_set(err, SY_E_EXISTS, 400, "StateMachineAlreadyExists", "State Machine Already Exists: '%s'", m.arn);
            else m.created_ms = old.created_ms;
            sfn_machine_clear(&old);
        }
    }
    if (rc == 0) *out = json_pack("{s:s,s:f}", "stateMachineArn", m.arn, "creationDate", (double)m.created_ms / 1000.0);
    sfn_machine_clear(&m);
    return rc;
}

int sfn_machine_load(sfn_svc_t *svc, const char *arn, sfn_machine_t *m, sy_err_t *err)
{
    int rc = sfn_arn_check(arn, ":stateMachine:", err);
    if (rc == 0) rc = store_machine_get(svc->ctx, NULL, arn, m, err);
    if (rc == SY_E_NOTFOUND)
        return sy_err_set(err, rc, 400, "StateMachineDoesNotExist", "State Machine Does Not Exist: '%s'", arn);
    return rc;
}

json_t *sfn_machine_json(const sfn_machine_t *m)
{
    json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:f}", "stateMachineArn", m->arn, "name", m->name, "status",
                          "ACTIVE", "definition", m->definition, "roleArn", m->role_arn, "type", m->type,
                          "creationDate", (double)m->created_ms / 1000.0);
    json_t *lc = json_object_get(m->extra, "loggingConfiguration");
    json_object_set_new(o, "loggingConfiguration", lc ? json_incref(lc) : json_pack("{s:s,s:b}", "level", "OFF",
                                                                                    "includeExecutionData", 0));
    json_t *tc = json_object_get(m->extra, "tracingConfiguration");
    json_object_set_new(o, "tracingConfiguration", tc ? json_incref(tc) : json_pack("{s:b}", "enabled", 0));
    if (sy_json_str(m->extra, "description")) json_object_set(o, "description", json_object_get(m->extra, "description"));
    return o;
}

int sfn_api_describe_machine(sfn_svc_t *svc, json_t *in, json_t **out, sy_err_t *err)
{
    const char *arn = sfn_req_str(in, "stateMachineArn", err);
    if (!arn) return SY_E_INVALID;
    sfn_machine_t m;
    int rc = sfn_machine_load(svc, arn, &m, err);
    if (rc < 0) return rc;
    *out = sfn_machine_json(&m);
    sfn_machine_clear(&m);
    return 0;
}

int sfn_api_update_machine(sfn_svc_t *svc, json_t *in, json_t **out, sy_err_t *err)
{
    const char *arn = sfn_req_str(in, "stateMachineArn", err);
    if (!arn) return SY_E_INVALID;
    sfn_machine_t m;
    int rc = sfn_machine_load(svc, arn, &m, err);
    if (rc < 0) return rc;
    const char *def = sy_json_str(in, "definition");
    if (def) rc = sfn_check_definition(def, m.type, err);
    json_t *extra = json_object();
    if (json_object_get(in, "loggingConfiguration")) json_object_set(extra, "loggingConfiguration", json_object_get(in, "loggingConfiguration"));
    if (json_object_get(in, "tracingConfiguration")) json_object_set(extra, "tracingConfiguration", json_object_get(in, "tracingConfiguration"));
    int64_t now = sy_now_ms();
    if (rc == 0) rc = store_machine_update(svc->ctx, arn, def, sy_json_str(in, "roleArn"), extra, now, err);
    sfn_mc_forget(svc, arn);
    json_decref(extra);
    if (rc == 0) *out = json_pack("{s:f,s:s}", "updateDate", (double)now / 1000.0, "revisionId", "1");
    sfn_machine_clear(&m);
    return rc;
}

int sfn_api_delete_machine(sfn_svc_t *svc, json_t *in, json_t **out, sy_err_t *err)
{
    const char *arn = sfn_req_str(in, "stateMachineArn", err);
    if (!arn) return SY_E_INVALID;
    int rc = sfn_arn_check(arn, ":stateMachine:", err);
    if (rc == 0) rc = store_machine_delete(svc->ctx, arn, err);
    sfn_mc_forget(svc, arn);
    if (rc == 0) *out = json_object();
    return rc;
}

int sfn_api_list_machines(sfn_svc_t *svc, json_t *in, json_t **out, sy_err_t *err)
{
    int64_t max = 100, off = 0;
    sy_json_int(in, "maxResults", &max);
    if (max <= 0 || max > 1000) max = 100;
    const char *tok = sy_json_str(in, "nextToken");
    if (tok) off = strtoll(tok, NULL, 10);
    json_t *rows = NULL;
    int rc = store_machine_list(svc->ctx, off, (int)max + 1, &rows, err);
    if (rc < 0) return rc;
    *out = json_object();
    if (json_array_size(rows) > (size_t)max) {
        json_array_remove(rows, (size_t)max);
        char nt[24];
        snprintf(nt, sizeof nt, "%lld", (long long)(off + max));
        json_object_set_new(*out, "nextToken", json_string(nt));
    }
    json_object_set_new(*out, "stateMachines", rows);
    return 0;
}

int sfn_api_validate_machine(sfn_svc_t *svc, json_t *in, json_t **out, sy_err_t *err)
{
    (void)svc;
    const char *def = sfn_req_str(in, "definition", err);
    if (!def) return SY_E_INVALID;
    const char *type = sy_json_str(in, "type");
    json_t *d = sy_asl_validate(def, strlen(def), type && !strcmp(type, "EXPRESS") ? SY_ASL_VALIDATE_EXPRESS : 0);
    *out = json_pack("{s:s,s:o,s:b}", "result", json_array_size(d) ? "FAIL" : "OK", "diagnostics", d, "truncated", 0);
    return 0;
}

int sfn_api_tag_resource(sfn_svc_t *svc, json_t *in, json_t **out, sy_err_t *err)
{
    const char *arn = sfn_req_str(in, "resourceArn", err);
    if (!arn) return SY_E_INVALID;
    json_t *add = tags_from_list(json_object_get(in, "tags"));
    int rc = store_machine_tags(svc->ctx, arn, add, NULL, NULL, err);
    json_decref(add);
    if (rc == SY_E_NOTFOUND) return sy_err_set(err, rc, 400, "ResourceNotFound", "Resource not found: '%s'", arn);
    if (rc == 0) *out = json_object();
    return rc;
}

int sfn_api_untag_resource(sfn_svc_t *svc, json_t *in, json_t **out, sy_err_t *err)
{
    const char *arn = sfn_req_str(in, "resourceArn", err);
    if (!arn) return SY_E_INVALID;
    json_t *keys = json_object_get(in, "tagKeys");
    int rc = store_machine_tags(svc->ctx, arn, NULL, keys, NULL, err);
    if (rc == SY_E_NOTFOUND) return sy_err_set(err, rc, 400, "ResourceNotFound", "Resource not found: '%s'", arn);
    if (rc == 0) *out = json_object();
    return rc;
}

int sfn_api_list_tags(sfn_svc_t *svc, json_t *in, json_t **out, sy_err_t *err)
{
    const char *arn = sfn_req_str(in, "resourceArn", err);
    if (!arn) return SY_E_INVALID;
    sfn_machine_t m;
    int rc = store_machine_get(svc->ctx, NULL, arn, &m, err);
    if (rc == SY_E_NOTFOUND) return sy_err_set(err, rc, 400, "ResourceNotFound", "Resource not found: '%s'", arn);
    if (rc < 0) return rc;
    *out = json_pack("{s:o}", "tags", tags_to_list(m.tags));
    sfn_machine_clear(&m);
    return 0;
}
