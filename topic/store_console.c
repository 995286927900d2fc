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

/* A page of topics by name prefix, after `after` in name order, with their
 * subscription counts: {"Topics":[{Name, TopicArn, Subscriptions}], "More"} */
json_t *tp_store_console_list(sy_ctx_t *ctx, const char *prefix, const char *after, int max, sy_err_t *err)
{
    PGconn *c = sy_pg_acquire(ctx->pool);
    if (!c) {
        sy_err_set(err, SY_E_DB, 503, "ServiceUnavailable", "database unavailable");
        return NULL;
    }
    char lim[16];
    snprintf(lim, sizeof lim, "%d", max + 1);
    const char *p[3] = {prefix, after, lim};
    PGresult *r = sy_pg_exec(c, err,
                             "SELECT COALESCE(json_agg(json_build_object('Name', t.name, 'TopicArn', t.arn, "
                             "'Subscriptions', (SELECT count(*) FROM sy_topic_subs s WHERE s.topic = t.name)) "
                             "ORDER BY t.name), '[]') FROM (SELECT name, arn FROM sy_topics "
                             "WHERE left(name, length($1)) = $1 AND name > $2 ORDER BY name LIMIT $3) t",
                             3, p);
    sy_pg_release(ctx->pool, c);
    if (!r) return NULL;
    json_t *v = json_loads(PQgetvalue(r, 0, 0), 0, NULL);
    PQclear(r);
    return v;
}
