/* statemachine/console.c - the web console's Step Functions endpoint
 * (issue 16): counts of machines and of executions by status (all, or one
 * machine's) for the overview and the executions page's status filter. */
#include "statemachine/internal.h"

/* {"StateMachineArn"?} -> {"StateMachines", "Executions": {STATUS: n}} */
int sy_sfn_console_summary(sy_ctx_t *ctx, const json_t *in, json_t **out, sy_err_t *err)
{
    json_t *a = json_object_get(in, "StateMachineArn");
    if (a && !json_is_string(a))
        return sy_err_set(err, SY_E_INVALID, 400, "ValidationException", "StateMachineArn must be a string");
    *out = sfn_store_console_summary(ctx, a ? json_string_value(a) : NULL, err);
    return *out ? 0 : SY_E_DB;
}
