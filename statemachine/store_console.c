/* statemachine/store_console.c - counts for the web console (issue 16) */
#include "statemachine/internal.h"

json_t *sfn_store_console_summary(sy_ctx_t *ctx, const char *machine_arn, sy_err_t *err)
{
    const char *p[1] = {machine_arn ? machine_arn : ""};
    return sy_pg_json(ctx->pool, err, "ServiceUnavailable",
                      "SELECT json_build_object('StateMachines', (SELECT count(*) FROM sy_sfn_machines), "
                      "'Executions', (SELECT COALESCE(json_object_agg(status, n), '{}') FROM "
                      "(SELECT status, count(*) AS n FROM sy_sfn_executions "
                      "WHERE $1 = '' OR machine_arn = $1 GROUP BY status) s))",
                      1, p);
}
