/* topic/store_console.c - the web console's counts of topics and
 * subscriptions (issue 16) */
#include "topic/internal.h"

json_t *tp_store_console_summary(sy_ctx_t *ctx, sy_err_t *err)
{
    PGconn *c = sy_pg_acquire(ctx->pool);
    if (!c) {
        sy_err_set(err, SY_E_DB, 503, "ServiceUnavailable", "database unavailable");
        return NULL;
    }
    PGresult *r = sy_pg_exec(c, err,
                             "SELECT json_build_object('Topics', (SELECT count(*) FROM sy_topics), "
                             "'Subscriptions', (SELECT count(*) FROM sy_topic_subs), "
                             "'PendingConfirmation', (SELECT count(*) FROM sy_topic_subs WHERE NOT confirmed))",
                             0, NULL);
    sy_pg_release(ctx->pool, c);
    if (!r) return NULL;
    json_t *v = json_loads(PQgetvalue(r, 0, 0), 0, NULL);
    PQclear(r);
    return v;
}
