/* queue/store_console.c - the web console's read-only queries (issue 16):
 * counts and oldest-message age of a page of queues, a summary of all user
 * queues, and a peek at messages that leaves them untouched (no lease, no
 * receive count). Each returns one JSON document built by PostgreSQL. */
#include "queue/internal.h"

#include <stdlib.h>

static json_t *one_json(sy_ctx_t *ctx, sy_err_t *err, const char *sql, int n, const char *const *p)
{
    PGresult *r = store_autocommit(ctx, err, sql, n, p);
    if (!r) return NULL;
    json_t *v = PQntuples(r) == 1 && !PQgetisnull(r, 0, 0) ? json_loads(PQgetvalue(r, 0, 0), 0, NULL) : NULL;
    PQclear(r);
    if (!v) sy_err_set(err, SY_E_INTERNAL, 500, "ServiceException", "could not read the console query's result");
    return v;
}

json_t *store_console_stats(sy_ctx_t *ctx, const char *names_json, sy_err_t *err)
{
    const char *p[2] = {ctx->cfg.account_id, names_json};
    return one_json(ctx, err,
                    "SELECT COALESCE(json_object_agg(s.name, json_build_object("
                    "'Visible', s.visible, 'InFlight', s.inflight, 'Delayed', s.delayed, "
                    "'OldestAgeSeconds', s.oldest, 'Fifo', s.fifo, "
                    "'DeadLetterTargetArn', (s.rp::jsonb)->>'deadLetterTargetArn', "
                    "'MaxReceiveCount', (s.rp::jsonb)->>'maxReceiveCount')), '{}') "
                    "FROM (SELECT q.name, q.fifo, q.attrs->>'RedrivePolicy' AS rp, "
                    "count(m.id) FILTER (WHERE m.visible_at <= now()) AS visible, "
                    "count(m.id) FILTER (WHERE m.visible_at > now() AND m.receive_count > 0) AS inflight, "
                    "count(m.id) FILTER (WHERE m.visible_at > now() AND m.receive_count = 0) AS delayed, "
                    "COALESCE(floor(extract(epoch FROM now() - min(m.sent_at)))::bigint, 0) AS oldest "
                    "FROM sy_queues q LEFT JOIN sy_messages m ON m.queue_id = q.id "
                    "WHERE q.account = $1 AND NOT q.internal "
                    "AND q.name = ANY (SELECT json_array_elements_text($2::json)) GROUP BY q.id) s",
                    2, p);
}

json_t *store_console_summary(sy_ctx_t *ctx, sy_err_t *err)
{
    const char *p[1] = {ctx->cfg.account_id};
    return one_json(ctx, err,
                    "SELECT json_build_object('Queues', (SELECT count(*) FROM sy_queues WHERE account = $1 "
                    "AND NOT internal), 'Messages', count(m.id), "
                    "'InFlight', count(m.id) FILTER (WHERE m.visible_at > now() AND m.receive_count > 0), "
                    "'OldestAgeSeconds', COALESCE(floor(extract(epoch FROM now() - min(m.sent_at)))::bigint, 0)) "
                    "FROM sy_messages m JOIN sy_queues q ON q.id = m.queue_id "
                    "WHERE q.account = $1 AND NOT q.internal",
                    1, p);
}

json_t *store_console_peek(sy_ctx_t *ctx, int64_t queue_id, int max, sy_err_t *err)
{
    char ids[24], lim[16];
    snprintf(ids, sizeof ids, "%lld", (long long)queue_id);
    snprintf(lim, sizeof lim, "%d", max);
    const char *p[2] = {ids, lim};
    return one_json(ctx, err,
                    "SELECT COALESCE(json_agg(json_build_object("
                    "'MessageId', msg_uuid, 'Body', left(body, 4096), 'BodyLength', length(body), "
                    "'MessageAttributes', attrs, 'MessageGroupId', group_id, 'ReceiveCount', receive_count, "
                    "'SentTimestamp', floor(extract(epoch FROM sent_at) * 1000)::bigint, "
                    "'State', CASE WHEN visible_at <= now() THEN 'visible' WHEN receive_count > 0 "
                    "THEN 'in flight' ELSE 'delayed' END, "
                    "'VisibleInSeconds', GREATEST(0, ceil(extract(epoch FROM visible_at - now())))::bigint) "
                    "ORDER BY id), '[]') FROM (SELECT * FROM sy_messages WHERE queue_id = $1 ORDER BY id LIMIT $2) m",
                    2, p);
}
