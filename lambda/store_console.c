/* lambda/store_console.c - counts for the web console's overview (issue 16) */
#include "lambda/internal.h"

json_t *lm_store_console_summary(sy_ctx_t *ctx, sy_err_t *err)
{
    const char *p[1] = {ctx->cfg.account_id};
    return sy_pg_json(ctx->pool, err, "ServiceException",
                      "SELECT json_build_object('Functions', (SELECT count(*) FROM sy_functions "
                      "WHERE account = $1), 'EventSourceMappings', (SELECT count(*) FROM "
                      "sy_event_source_mappings))",
                      1, p);
}
