/* statemachine/store_console.c - counts for the web console (issue 16) */
#include "statemachine/internal.h"

json_t *sfn_store_console_summary(sy_ctx_t *ctx, const char *machine_arn, sy_err_t *err)
{
    PGconn *c = sy_pg_acquire(ctx->pool);
    if (!c) {
        sy_err_set(err, SY_E_DB, 503, "ServiceUnavailable", "database unavailable");
        return NULL;
    }
    const char *p[1] = {machine_arn ? machine_arn : ""};
    PGresult *r = sy_pg_exec(c, err,
                             "SELECT json_build_object('StateMachines', (SELECT count(*) FROM sy_sfn_machines), "
                             "'Executions', (SELECT COALESCE(json_object_agg(status, n), '{}') FROM "
                             "(SELECT status, count(*) AS n FROM sy_sfn_executions "
                             "WHERE $1 = '' OR machine_arn = $1 GROUP BY status) s))",
                             1, p);
    sy_pg_release(ctx->pool, c);
    if (!r) return NULL;
    json_t *v = json_loads(PQgetvalue(r, 0, 0), 0, NULL);
    PQclear(r);
    return v;
}
