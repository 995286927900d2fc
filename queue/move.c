/* queue/move.c - StartMessageMoveTask and friends: redrive a dead-letter
 * queue back to its sources (or to a given queue), rate-limited, claimed by
 * any broker with SKIP LOCKED. */
#include "queue/internal.h"

#include <stdlib.h>
#include <string.h>

static PGresult *q1(sy_ctx_t *ctx, sy_err_t *err, const char *sql, int n, const char *const *p)
{
    PGconn *c = sy_pg_acquire(ctx->pool);
    if (!c) {
        sy_err_set(err, SY_E_DB, 503, "ServiceUnavailable", "database unavailable");
        return NULL;
    }
    PGresult *r = sy_pg_exec(c, err, sql, n, p);
    sy_pg_release(ctx->pool, c);
    return r;
}

int move_start(sy_ctx_t *ctx, const sy_queue_t *src, const char *src_arn, const char *dest_arn, int rate,
               char *handle_out, sy_err_t *err)
{
    char qid[24], rt[16], uuid[37];
    snprintf(qid, sizeof qid, "%lld", (long long)src->id);
    snprintf(rt, sizeof rt, "%d", rate);
    sy_uuid4(uuid);
    char *handle = sy_asprintf("%s", uuid);
    const char *p[5] = {handle, qid, src_arn, dest_arn, rate > 0 ? rt : NULL};
    /* one running task per source queue */
    PGresult *r = q1(ctx, err,
                     "INSERT INTO sy_move_tasks (handle, source_queue_id, source_arn, dest_arn, max_per_second, "
                     "status, to_move) SELECT $1, $2, $3, $4, $5, 'RUNNING', "
                     "(SELECT count(*) FROM sy_messages WHERE queue_id = $2) "
                     "WHERE NOT EXISTS (SELECT 1 FROM sy_move_tasks WHERE source_queue_id = $2 AND status = 'RUNNING') "
                     "RETURNING handle",
                     5, p);
    int rc = 0;
    if (!r) rc = SY_E_DB;
    else if (PQntuples(r) == 0)
        rc = sy_err_set2(err, SY_E_INVALID, 400, "UnsupportedOperation", "AWS.SimpleQueueService.UnsupportedOperation",
                         "There is already a task running. Only one active task is allowed for a source queue arn at a given time.");
    else
        snprintf(handle_out, 64, "%s", handle);
    PQclear(r);
    free(handle);
    return rc;
}

int move_list(sy_ctx_t *ctx, const sy_queue_t *src, int max, json_t *out, sy_err_t *err)
{
    char qid[24], lim[16];
    snprintf(qid, sizeof qid, "%lld", (long long)src->id);
    snprintf(lim, sizeof lim, "%d", max);
    const char *p[2] = {qid, lim};
    PGresult *r = q1(ctx, err,
                     "SELECT handle, status, source_arn, dest_arn, max_per_second, moved, to_move, failure_reason, "
                     "(extract(epoch from started_at) * 1000)::bigint FROM sy_move_tasks WHERE source_queue_id = $1 "
                     "ORDER BY started_at DESC LIMIT $2",
                     2, p);
    if (!r) return SY_E_DB;
    for (int i = 0; i < PQntuples(r); i++) {
        json_t *t = json_object();
        const char *status = PQgetvalue(r, i, 1);
        if (strcmp(status, "RUNNING") == 0) json_object_set_new(t, "TaskHandle", json_string(PQgetvalue(r, i, 0)));
        json_object_set_new(t, "Status", json_string(status));
        json_object_set_new(t, "SourceArn", json_string(PQgetvalue(r, i, 2)));
        if (!PQgetisnull(r, i, 3)) json_object_set_new(t, "DestinationArn", json_string(PQgetvalue(r, i, 3)));
        if (!PQgetisnull(r, i, 4))
            json_object_set_new(t, "MaxNumberOfMessagesPerSecond", json_integer(atoi(PQgetvalue(r, i, 4))));
        json_object_set_new(t, "ApproximateNumberOfMessagesMoved", json_integer(atoll(PQgetvalue(r, i, 5))));
        json_object_set_new(t, "ApproximateNumberOfMessagesToMove", json_integer(atoll(PQgetvalue(r, i, 6))));
        if (!PQgetisnull(r, i, 7)) json_object_set_new(t, "FailureReason", json_string(PQgetvalue(r, i, 7)));
        json_object_set_new(t, "StartedTimestamp", json_integer(atoll(PQgetvalue(r, i, 8))));
        json_array_append_new(out, t);
    }
    PQclear(r);
    return 0;
}

int move_cancel(sy_ctx_t *ctx, const char *handle, int64_t *moved, sy_err_t *err)
{
    const char *p[1] = {handle};
    PGresult *r = q1(ctx, err,
                     "UPDATE sy_move_tasks SET status = 'CANCELLED' WHERE handle = $1 AND status = 'RUNNING' "
                     "RETURNING moved",
                     1, p);
    if (!r) return SY_E_DB;
    int rc = 0;
    if (PQntuples(r) == 0)
        rc = sy_err_set(err, SY_E_NOTFOUND, 400, "ResourceNotFoundException", "The task handle %s is not valid or the task is not running.", handle);
    else
        *moved = atoll(PQgetvalue(r, 0, 0));
    PQclear(r);
    return rc;
}

/* One step of every running task: move up to its budget for this tick. */
void move_tick(sy_ctx_t *ctx)
{
    PGconn *c = sy_pg_acquire(ctx->pool);
    if (!c) return;
    sy_err_t err;
    PGresult *b = sy_pg_exec(c, &err, "BEGIN", 0, NULL);
    PQclear(b);
    /* a task's budget this tick: a fifth of its rate (ticks are 200 ms),
     * rounded up, and no more than the rate allows since the task started
     * (one message at once, then the rate per second): without that bound
     * a rate below 5 would move a message every tick. <= 0: not yet */
    PGresult *t = sy_pg_exec(c, &err,
                             "SELECT handle, source_queue_id, dest_arn, least((coalesce(max_per_second, 500) + 4) / 5, "
                             "  floor(extract(epoch from now() - started_at) * coalesce(max_per_second, 500))::bigint "
                             "  + 1 - moved) "
                             "FROM sy_move_tasks WHERE status = 'RUNNING' FOR UPDATE SKIP LOCKED LIMIT 8",
                             0, NULL);
    for (int i = 0; t && i < PQntuples(t); i++) {
        const char *handle = PQgetvalue(t, i, 0);
        long long budget = atoll(PQgetvalue(t, i, 3));
        if (budget < 1) continue;
        char *dest_name = NULL;
        if (!PQgetisnull(t, i, 2)) {
            const char *arn = PQgetvalue(t, i, 2);
            const char *col = strrchr(arn, ':');
            dest_name = sy_strdup(col ? col + 1 : arn);
        }
        char lim[24];
        snprintf(lim, sizeof lim, "%lld", budget);
        const char *p[5] = {PQgetvalue(t, i, 1), dest_name, lim, ctx->cfg.account_id, handle};
        PGresult *r = sy_pg_exec(c, &err,
            "WITH d AS (SELECT id FROM sy_queues WHERE account = $4 AND name = $2), "
            "pick AS (SELECT m.id FROM sy_messages m WHERE m.queue_id = $1::bigint "
            "  AND ($2::text IS NULL OR EXISTS (SELECT 1 FROM d)) "
            "  AND ($2::text IS NOT NULL OR EXISTS (SELECT 1 FROM sy_queues s WHERE s.id = m.source_queue_id)) "
            "  ORDER BY m.id LIMIT $3 FOR UPDATE SKIP LOCKED), "
            "mv AS (DELETE FROM sy_messages m USING pick WHERE m.id = pick.id RETURNING m.*), "
            "ins AS (INSERT INTO sy_messages (queue_id, visible_at, sent_at, msg_uuid, group_id, dedup_id, sender_id, "
            "  md5_body, md5_attrs, attrs, sys_attrs, body) "
            "  SELECT coalesce((SELECT id FROM d), mv.source_queue_id), now(), now(), msg_uuid, group_id, dedup_id, "
            "  sender_id, md5_body, md5_attrs, attrs, sys_attrs, body FROM mv RETURNING queue_id) "
            "UPDATE sy_move_tasks SET moved = moved + (SELECT count(*) FROM ins), "
            "  status = CASE WHEN (SELECT count(*) FROM ins) < $3::int THEN 'COMPLETED' ELSE status END "
            "WHERE handle = $5 RETURNING (SELECT count(*) FROM ins)",
            5, p);
        if (r && PQntuples(r) == 1 && atoll(PQgetvalue(r, 0, 0)) > 0)
            sy_log(SY_LOG_INFO, "queue", NULL, "message move task progress", "task", handle, "moved", PQgetvalue(r, 0, 0));
        PQclear(r);
        free(dest_name);
        if (PQtransactionStatus(c) == PQTRANS_INERROR) break;
    }
    PQclear(t);
    b = sy_pg_exec(c, &err, PQtransactionStatus(c) == PQTRANS_INERROR ? "ROLLBACK" : "COMMIT", 0, NULL);
    PQclear(b);
    sy_pg_release(ctx->pool, c);
}
