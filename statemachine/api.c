/* statemachine/api.c - AWSStepFunctions.* (JSON 1.0): the action table,
 * the dispatch of a request to its action and the request checks the
 * actions share. The actions are in api_machines.c, api_executions.c and
 * api_task.c. */
#include "statemachine/internal_api.h"

#include <stdlib.h>
#include <string.h>

const char *sfn_req_str(json_t *in, const char *key, sy_err_t *err)
{
    const char *v = sy_json_str(in, key);
    if (!v)
        sy_err_set(err, SY_E_INVALID, 400, "ValidationException",
                   "1 validation error detected: Value null at '%s' failed to satisfy constraint: Member must not be null",
                   key);
    return v;
}

bool sfn_name_ok(const char *n)
{
    size_t len = strlen(n);
    if (len < 1 || len > 80) return false;
    for (const unsigned char *p = (const unsigned char *)n; *p; p++)
        if (*p <= 0x20 || *p == 0x7f || strchr("<>{}[]?*\"#%\\^|~`$&,;:/", *p)) return false;
    return true;
}

int sfn_arn_check(const char *arn, const char *kind, sy_err_t *err)
{
    char *want = sy_asprintf("arn:aws:states:");
    bool ok = strncmp(arn, want, strlen(want)) == 0 && strstr(arn, kind);
    free(want);
    if (!ok) return sy_err_set(err, SY_E_INVALID, 400, "InvalidArn", "Invalid Arn: 'Resource type not valid in this context: %s'", arn);
    return 0;
}

static const struct {
    const char *name;
    sfn_action_fn fn;
} actions[] = {
    {"CreateStateMachine", sfn_api_create_machine},
    {"DescribeStateMachine", sfn_api_describe_machine},
    {"UpdateStateMachine", sfn_api_update_machine},
    {"DeleteStateMachine", sfn_api_delete_machine},
    {"ListStateMachines", sfn_api_list_machines},
    {"ValidateStateMachineDefinition", sfn_api_validate_machine},
    {"TagResource", sfn_api_tag_resource},
    {"UntagResource", sfn_api_untag_resource},
    {"ListTagsForResource", sfn_api_list_tags},
    {"StartExecution", sfn_api_start_execution},
    {"StartSyncExecution", sfn_api_start_sync},
    {"DescribeExecution", sfn_api_describe_execution},
    {"ListExecutions", sfn_api_list_executions},
    {"GetExecutionHistory", sfn_api_history},
    {"StopExecution", sfn_api_stop_execution},
    {"RedriveExecution", sfn_api_redrive},
    {"DescribeStateMachineForExecution", sfn_api_describe_sm_for_execution},
    {"SendTaskSuccess", sfn_api_task_success},
    {"SendTaskFailure", sfn_api_task_failure},
    {"SendTaskHeartbeat", sfn_api_task_heartbeat},
    {"DescribeMapRun", sfn_api_describe_map_run},
    {"ListMapRuns", sfn_api_list_map_runs},
    {"TestState", sfn_api_test_state},
};

void sfn_api_handle(sy_req_t *req, sy_resp_t *resp, void *udata)
{
    sfn_svc_t *svc = udata;
    sy_err_t err;
    sy_err_clear(&err);
    sfn_action_fn fn = NULL;
    for (size_t i = 0; i < sizeof actions / sizeof *actions; i++)
        if (req->action && !strcmp(req->action, actions[i].name)) fn = actions[i].fn;
    if (!fn) {
        sy_err_set(&err, SY_E_INVALID, 400, "UnknownOperationException", "Unknown operation %s",
                   req->action ? req->action : "");
        sy_resp_error(resp, req, &err, NULL);
        return;
    }
    json_t *in = json_is_object(req->json) ? json_incref(req->json) : json_object();
    json_t *out = NULL;
    int rc = req->ctx->authz && sfn_authorize(req, in, &err) < 0 ? SY_E_INVALID : fn(svc, in, &out, &err);
    if (rc < 0) {
        if (!err.code[0]) sy_err_set(&err, rc, 500, "InternalFailure", "internal error");
        sy_metric_inc("switchyard_sfn_errors_total", NULL, 1);
        sy_resp_error(resp, req, &err, NULL);
    } else {
        json_t *o = out ? json_incref(out) : json_object();
        sy_resp_json(resp, req, o);
        json_decref(o);
    }
    json_decref(out);
    json_decref(in);
}
