/* queue/store_move.c - SQL for message-move tasks: start, list, cancel, and
 * the steps the sweeper runs, claimed by any broker with SKIP LOCKED */
#include "queue/internal.h"

#include <stdlib.h>
#include <string.h>

int store_move_insert(sy_ctx_t *ctx, const char *handle, int64_t src_id, const char *src_arn, const char *dest_arn,
                      int rate, sy_err_t *err)
{
    char qid[24], rt[16];
    snprintf(qid, sizeof qid, "%lld", (long long)src_id);
    snprintf(rt, sizeof rt, "%d", rate);
    const char *p[5] = {handle, qid, src_arn, dest_arn, rate > 0 ? rt : NULL};
    /* one running task per source queue */
    PGresult *r = store_autocommit(
        ctx, err,
        "INSERT INTO sy_move_tasks (handle, source_queue_id, source_arn, dest_arn, max_per_second, "
        "status, to_move) SELECT $1, $2, $3, $4, $5, 'RUNNING', "
        "(SELECT count(*) FROM sy_messages WHERE queue_id = $2) "
        "WHERE NOT EXISTS (SELECT 1 FROM sy_move_tasks WHERE source_queue_id = $2 AND status = 'RUNNING') "
        "RETURNING handle",
        5, p);
    if (!r) return SY_E_DB;
    int rc = PQntuples(r) == 0 ? SY_E_EXISTS : 0;
    PQclear(r);
    return rc;
}

static char *dup_or_null(PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? NULL : sy_strdup(PQgetvalue(r, row, col));
}

int store_move_list(sy_ctx_t *ctx, int64_t src_id, int max, move_task_t **out, int *n, sy_err_t *err)
{
    *out = NULL;
    *n = 0;
    char qid[24], lim[16];
    snprintf(qid, sizeof qid, "%lld", (long long)src_id);
    snprintf(lim, sizeof lim, "%d", max);
    const char *p[2] = {qid, lim};
    PGresult *r = store_autocommit(ctx, err,
                                   "SELECT handle, status, source_arn, dest_arn, max_per_second, moved, to_move, "
                                   "failure_reason, (extract(epoch from started_at) * 1000)::bigint FROM sy_move_tasks "
                                   "WHERE source_queue_id = $1 ORDER BY started_at DESC LIMIT $2",
                                   2, p);
    if (!r) return SY_E_DB;
    int rows = PQntuples(r);
    if (rows) *out = sy_calloc((size_t)rows, sizeof **out);
    for (int i = 0; i < rows; i++) {
        move_task_t *t = &(*out)[i];
        t->handle = sy_strdup(PQgetvalue(r, i, 0));
        t->status = sy_strdup(PQgetvalue(r, i, 1));
        t->source_arn = sy_strdup(PQgetvalue(r, i, 2));
        t->dest_arn = dup_or_null(r, i, 3);
        t->rate = PQgetisnull(r, i, 4) ? 0 : atoi(PQgetvalue(r, i, 4));
        t->moved = atoll(PQgetvalue(r, i, 5));
        t->to_move = atoll(PQgetvalue(r, i, 6));
        t->failure = dup_or_null(r, i, 7);
        t->started_ms = atoll(PQgetvalue(r, i, 8));
    }
    *n = rows;
    PQclear(r);
    return 0;
}

void move_task_clear(move_task_t *t)
{
    free(t->handle);
    free(t->status);
    free(t->source_arn);
    free(t->dest_arn);
    free(t->failure);
    memset(t, 0, sizeof *t);
}

int store_move_cancel(sy_ctx_t *ctx, const char *handle, int64_t *moved, sy_err_t *err)
{
    const char *p[1] = {handle};
    PGresult *r =
        store_autocommit(ctx, err,
                         "UPDATE sy_move_tasks SET status = 'CANCELLED' WHERE handle = $1 AND status = 'RUNNING' "
                         "RETURNING moved",
                         1, p);
    if (!r) return SY_E_DB;
    int rc = 0;
    if (PQntuples(r) == 0)
        rc = SY_E_NOTFOUND;
    else
        *moved = atoll(PQgetvalue(r, 0, 0));
    PQclear(r);
    return rc;
}

/* Up to 8 running tasks, locked for the caller's transaction, each with its
 * budget for this tick: a fifth of its rate (ticks are 200 ms), rounded up,
 * and no more than the rate allows since the task started (one message at
 * once, then the rate per second): without that bound a rate below 5 would
 * move a message every tick. A budget <= 0: not yet. */
int store_move_claim(PGconn *c, move_step_t **out, int *n, sy_err_t *err)
{
    *out = NULL;
    *n = 0;
    PGresult *r = sy_pg_exec(c, err,
                             "SELECT handle, source_queue_id, dest_arn, least((coalesce(max_per_second, 500) + 4) / 5, "
                             "  floor(extract(epoch from now() - started_at) * coalesce(max_per_second, 500))::bigint "
                             "  + 1 - moved) "
                             "FROM sy_move_tasks WHERE status = 'RUNNING' FOR UPDATE SKIP LOCKED LIMIT 8",
                             0, NULL);
    if (!r) return SY_E_DB;
    int rows = PQntuples(r);
    if (rows) *out = sy_calloc((size_t)rows, sizeof **out);
    for (int i = 0; i < rows; i++) {
        move_step_t *s = &(*out)[i];
        s->handle = sy_strdup(PQgetvalue(r, i, 0));
        s->source_id = atoll(PQgetvalue(r, i, 1));
        s->dest_arn = dup_or_null(r, i, 2);
        s->budget = atoll(PQgetvalue(r, i, 3));
    }
    *n = rows;
    PQclear(r);
    return 0;
}

/* Move up to the step's budget from its source to dest_name (NULL: back to
 * each message's source queue); a task that moved less than its budget is
 * complete. *moved: how many moved. */
int store_move_step(PGconn *c, const sy_ctx_t *ctx, const move_step_t *s, const char *dest_name, int64_t *moved,
                    sy_err_t *err)
{
    char src[24], lim[24];
    snprintf(src, sizeof src, "%lld", (long long)s->source_id);
    snprintf(lim, sizeof lim, "%lld", (long long)s->budget);
    const char *p[5] = {src, dest_name, lim, ctx->cfg.account_id, s->handle};
    PGresult *r = sy_pg_exec(
        c, err,
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
    if (!r) return SY_E_DB;
    *moved = PQntuples(r) == 1 ? atoll(PQgetvalue(r, 0, 0)) : 0;
    PQclear(r);
    return 0;
}

void move_step_clear(move_step_t *s)
{
    free(s->handle);
    free(s->dest_arn);
    memset(s, 0, sizeof *s);
}
