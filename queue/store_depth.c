/* queue/store_depth.c - SQL of the depth gauges: per queue the visible,
 * in-flight and delayed messages, each count capped. Both range scans are
 * served by the index sy_messages_ready (queue_id, visible_at, id): visible
 * is queue_id = q AND visible_at <= now(), the rest queue_id = q AND
 * visible_at > now() (receive_count, read from the heap for those rows only,
 * tells in-flight from delayed). With the cap a refresh reads at most
 * 2 x cap index entries per queue, never the whole table. */
#include "queue/internal.h"

#include <stdlib.h>
#include <string.h>

int store_queue_depths(sy_ctx_t *ctx, const char *names_array, int cap, sy_queue_depth_t **out, int *n,
                       sy_err_t *err)
{
    char capstr[16];
    snprintf(capstr, sizeof capstr, "%d", cap);
    const char *p[3] = {ctx->cfg.account_id, names_array, capstr};
    PGresult *r = store_autocommit(
        ctx, err,
        "SELECT q.name, v.n, i.inflight, i.delayed FROM sy_queues q "
        "CROSS JOIN LATERAL (SELECT count(*) FROM (SELECT 1 FROM sy_messages m WHERE m.queue_id = q.id "
        "  AND m.visible_at <= now() LIMIT $3::int) x) v(n) "
        "CROSS JOIN LATERAL (SELECT count(*) FILTER (WHERE rc > 0), count(*) FILTER (WHERE rc = 0) FROM "
        "  (SELECT m.receive_count AS rc FROM sy_messages m WHERE m.queue_id = q.id AND m.visible_at > now() "
        "   LIMIT $3::int) x) i(inflight, delayed) "
        "WHERE q.account = $1 AND (CASE WHEN $2::text[] IS NULL THEN NOT q.internal ELSE q.name = ANY($2::text[]) END) "
        "ORDER BY q.name",
        3, p);
    if (!r) return SY_E_DB;
    int k = PQntuples(r);
    sy_queue_depth_t *v = sy_calloc((size_t)k + 1, sizeof *v);
    for (int i = 0; i < k; i++) {
        snprintf(v[i].name, sizeof v[i].name, "%s", PQgetvalue(r, i, 0));
        v[i].visible = atoll(PQgetvalue(r, i, 1));
        v[i].inflight = atoll(PQgetvalue(r, i, 2));
        v[i].delayed = atoll(PQgetvalue(r, i, 3));
    }
    PQclear(r);
    *out = v;
    *n = k;
    return 0;
}
