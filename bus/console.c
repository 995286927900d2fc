/* bus/console.c - the web console's EventBridge endpoint (issue 16): counts
 * for the overview. Everything else the console shows of buses comes from
 * the EventBridge API itself (ListRules, TestEventPattern, ListReplays...). */
#include "bus/internal.h"

/* {} -> {EventBuses, Rules, Targets, Archives, ReplaysRunning} */
int sy_bus_console_summary(sy_ctx_t *ctx, const json_t *in, json_t **out, sy_err_t *err)
{
    (void)in;
    *out = eb_store_console_summary(ctx, err);
    return *out ? 0 : SY_E_DB;
}
