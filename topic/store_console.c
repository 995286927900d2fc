/* topic/store_console.c - the web console's counts of topics and
 * subscriptions (issue 16) */
#include "topic/internal.h"

json_t *tp_store_console_summary(sy_ctx_t *ctx, sy_err_t *err)
{
    return sy_pg_json(ctx->pool, err, "ServiceUnavailable",
                      "SELECT json_build_object('Topics', (SELECT count(*) FROM sy_topics), "
                      "'Subscriptions', (SELECT count(*) FROM sy_topic_subs), "
                      "'PendingConfirmation', (SELECT count(*) FROM sy_topic_subs WHERE NOT confirmed))",
                      0, NULL);
}

/* A page of topics by name prefix, after `after` in name order, with their
 * subscription counts: {"Topics":[{Name, TopicArn, Subscriptions}], "More"} */
json_t *tp_store_console_list(sy_ctx_t *ctx, const char *prefix, const char *after, int max, sy_err_t *err)
{
    char lim[16];
    snprintf(lim, sizeof lim, "%d", max + 1);
    const char *p[3] = {prefix, after, lim};
    return sy_pg_json(ctx->pool, err, "ServiceUnavailable",
                      "SELECT COALESCE(json_agg(json_build_object('Name', t.name, 'TopicArn', t.arn, "
                      "'Subscriptions', (SELECT count(*) FROM sy_topic_subs s WHERE s.topic = t.name)) "
                      "ORDER BY t.name), '[]') FROM (SELECT name, arn FROM sy_topics "
                      "WHERE left(name, length($1)) = $1 AND name > $2 ORDER BY name LIMIT $3) t",
                      3, p);
}
