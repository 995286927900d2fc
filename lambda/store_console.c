/* lambda/store_console.c - counts for the web console's overview (issue 16) */
#include "lambda/internal.h"

json_t *lm_store_console_summary(sy_ctx_t *ctx, sy_err_t *err)
{
    PGconn *c = sy_pg_acquire(ctx->pool);
    if (!c) {
        sy_err_set(err, SY_E_DB, 503, "ServiceException", "database unavailable");
        return NULL;
    }
    const char *p[1] = {ctx->cfg.account_id};
    PGresult *r = sy_pg_exec(c, err,
                             "SELECT json_build_object('Functions', (SELECT count(*) FROM sy_functions "
                             "WHERE account = $1), 'EventSourceMappings', (SELECT count(*) FROM "
                             "sy_event_source_mappings))",
                             1, p);
    sy_pg_release(ctx->pool, c);
    if (!r) return NULL;
    json_t *v = json_loads(PQgetvalue(r, 0, 0), 0, NULL);
    PQclear(r);
    return v;
}
