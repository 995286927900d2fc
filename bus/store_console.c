/* bus/store_console.c - counts for the web console's overview (issue 16) */
#include "bus/internal.h"

json_t *eb_store_console_summary(sy_ctx_t *ctx, sy_err_t *err)
{
    PGconn *c = sy_pg_acquire(ctx->pool);
    if (!c) {
        sy_err_set(err, SY_E_DB, 503, "ServiceUnavailable", "database unavailable");
        return NULL;
    }
    PGresult *r = sy_pg_exec(c, err,
                             "SELECT json_build_object('EventBuses', (SELECT count(*) FROM sy_eb_buses), "
                             "'Rules', (SELECT count(*) FROM sy_eb_rules), "
                             "'Targets', (SELECT count(*) FROM sy_eb_targets), "
                             "'Archives', (SELECT count(*) FROM sy_eb_archives), "
                             "'ReplaysRunning', (SELECT count(*) FROM sy_eb_replays "
                             "WHERE state IN ('STARTING', 'RUNNING')))",
                             0, NULL);
    sy_pg_release(ctx->pool, c);
    if (!r) return NULL;
    json_t *v = json_loads(PQgetvalue(r, 0, 0), 0, NULL);
    PQclear(r);
    return v;
}
