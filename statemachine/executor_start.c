/* statemachine/executor_start.c - sy_sfn_execution_start: StartExecution for
 * other services (EventBridge targets), inside their transaction. */
#include "statemachine/internal.h"

#include <stdlib.h>
#include <string.h>

int sy_sfn_execution_start(sy_ctx_t *ctx, PGconn *c, const char *sm_arn, const char *name, const char *input,
                           char **arn_out, sy_err_t *err)
{
    sfn_svc_t *svc = sfn_svc(ctx);
    if (!svc) return sy_err_set(err, SY_E_INTERNAL, 500, "ServiceUnavailable", "step functions not running");
    sfn_machine_t m = {0};
    int rc = store_machine_get(ctx, c, sm_arn, &m, err);
    if (rc == SY_E_NOTFOUND)
        return sy_err_set(err, rc, 400, "StateMachineDoesNotExist", "State Machine Does Not Exist: '%s'", sm_arn);
    if (rc < 0) return rc;
    bool express = m.type && !strcmp(m.type, "EXPRESS");
    sfn_machine_clear(&m);
    if (express)
        return sy_err_set(err, SY_E_INVALID, 400, "ValidationException",
                          "EXPRESS state machines cannot be started by this entry point yet");
    sfn_start_t s = {.sm_arn = sm_arn, .name = name, .input = input};
    char *arn = NULL;
    int64_t start_ms = 0;
    rc = sfn_start_standard(svc, c, &s, &arn, &start_ms, err);
    if (arn_out) *arn_out = arn;
    else free(arn);
    return rc;
}
