/* bus/store_console.c - counts for the web console's overview (issue 16) */
#include "bus/internal.h"

json_t *eb_store_console_summary(sy_ctx_t *ctx, sy_err_t *err)
{
    return sy_pg_json(ctx->pool, err, "ServiceUnavailable",
                      "SELECT json_build_object('EventBuses', (SELECT count(*) FROM sy_eb_buses), "
                      "'Rules', (SELECT count(*) FROM sy_eb_rules), "
                      "'Targets', (SELECT count(*) FROM sy_eb_targets), "
                      "'Archives', (SELECT count(*) FROM sy_eb_archives), "
                      "'ReplaysRunning', (SELECT count(*) FROM sy_eb_replays "
                      "WHERE state IN ('STARTING', 'RUNNING')))",
                      0, NULL);
}
