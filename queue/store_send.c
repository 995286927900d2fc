/* queue/store_send.c - SQL for sends: group-committed and pipelined (one
 * round trip per batch), or one send inside a caller's transaction */
#include "queue/internal.h"

#include <stdlib.h>
#include <string.h>

static const char *SQL_SEND =
    "INSERT INTO sy_messages (queue_id, visible_at, msg_uuid, md5_body, md5_attrs, attrs, sys_attrs, sender_id, body) "
    "VALUES ($1, now() + make_interval(secs => $2), $3, $4, nullif($5, ''), $6::jsonb, $7::jsonb, $8, $9) "
    "RETURNING id, msg_uuid::text";

/* FIFO: the dedup row and the message in one statement; a duplicate inside
 * the window returns the original message's id and sequence number. */
static const char *SQL_SEND_FIFO =
    "WITH d AS (INSERT INTO sy_dedup AS x (queue_id, dedup_key, message_uuid, seq, expires_at) "
    "  VALUES ($1, $10, $3, nextval('sy_messages_id_seq'), now() + interval '5 minutes') "
    "  ON CONFLICT (queue_id, dedup_key) DO UPDATE SET message_uuid = EXCLUDED.message_uuid, seq = EXCLUDED.seq, "
    "  expires_at = EXCLUDED.expires_at WHERE x.expires_at < now() RETURNING seq), "
    "m AS (INSERT INTO sy_messages (id, queue_id, visible_at, msg_uuid, md5_body, md5_attrs, attrs, sys_attrs, "
    "  sender_id, body, group_id, dedup_id) "
    "  SELECT d.seq, $1, now() + make_interval(secs => $2), $3, $4, nullif($5, ''), $6::jsonb, $7::jsonb, $8, $9, "
    "  $11, $12 FROM d RETURNING id, msg_uuid::text) "
    "SELECT id, msg_uuid FROM m UNION ALL "
    "SELECT seq, message_uuid::text FROM sy_dedup WHERE queue_id = $1 AND dedup_key = $10 "
    "AND NOT EXISTS (SELECT 1 FROM m)";

static void send_params(send_job_t *j, char qid[24], char delay[16], const char *p[12])
{
    snprintf(qid, 24, "%lld", (long long)j->queue_id);
    snprintf(delay, 16, "%d", j->delay_s);
    p[0] = qid;
    p[1] = delay;
    p[2] = j->uuid;
    p[3] = j->md5_body;
    p[4] = j->md5_attrs;
    p[5] = j->attrs_json;
    p[6] = j->sys_json;
    p[7] = j->sender_id;
    p[8] = j->body;
    p[9] = j->dedup_key;
    p[10] = j->group_id;
    p[11] = j->dedup_id;
}

/* Standard sends of a batch go in multi-row INSERTs (far less work per
 * message for PostgreSQL than one statement each); FIFO sends keep their
 * per-message dedup statement. Everything is pipelined: one round trip. */
#define ROWS_PER_INSERT 400

static int cmp_uuid_job(const void *a, const void *b)
{
    return strcmp((*(send_job_t *const *)a)->uuid, (*(send_job_t *const *)b)->uuid);
}

/* the multi-row INSERT for n rows: prepared once per size and backend */
static char *send_multi_sql(int n)
{
    sy_buf_t sql;
    sy_buf_init(&sql);
    sy_buf_puts(&sql, "INSERT INTO sy_messages (queue_id, visible_at, msg_uuid, md5_body, md5_attrs, attrs, sys_attrs, "
                      "sender_id, body) VALUES ");
    for (int i = 0; i < n; i++) {
        int b = i * 8;
        sy_buf_printf(&sql,
                      "%s($%d::bigint, now() + make_interval(secs => $%d::int), $%d::uuid, $%d, nullif($%d, ''), "
                      "$%d::jsonb, $%d::jsonb, $%d, $%d)",
                      i ? "," : "", b + 1, b + 2, b + 3, b + 4, b + 5, b + 6, b + 7, b + 8, n * 8 + i + 1);
    }
    sy_buf_puts(&sql, " RETURNING id, msg_uuid::text");
    return sy_buf_take(&sql);
}

static void send_multi(PGconn *c, send_job_t **jobs, int n)
{
    char stmt[32];
    snprintf(stmt, sizeof stmt, "sy_send_%d", n);
    const char **all = sy_malloc(sizeof(char *) * (size_t)n * 9);
    char(*num)[2][24] = sy_malloc(sizeof *num * (size_t)n);
    for (int i = 0; i < n; i++) {
        send_job_t *j = jobs[i];
        const char **p = all + i * 8;
        snprintf(num[i][0], 24, "%lld", (long long)j->queue_id);
        snprintf(num[i][1], 24, "%d", j->delay_s);
        p[0] = num[i][0];
        p[1] = num[i][1];
        p[2] = j->uuid;
        p[3] = j->md5_body;
        p[4] = j->md5_attrs;
        p[5] = j->attrs_json;
        p[6] = j->sys_json;
        p[7] = j->sender_id;
        all[n * 8 + i] = j->body; /* bodies last: $8n+1 .. $9n */
    }
    PQsendQueryPrepared(c, stmt, n * 9, all, NULL, NULL, 0);
    free(all);
    free(num);
}

/* prepare what a batch will send, before the pipeline starts */
static int send_prepare_stmts(PGconn *c, int nstd, bool any_fifo, sy_err_t *err)
{
    for (int k = 0; k < nstd; k += ROWS_PER_INSERT) {
        int m = nstd - k < ROWS_PER_INSERT ? nstd - k : ROWS_PER_INSERT;
        char stmt[32];
        snprintf(stmt, sizeof stmt, "sy_send_%d", m);
        char *sql = send_multi_sql(m);
        int rc = sy_pg_prepare(c, err, stmt, sql, m * 9);
        free(sql);
        if (rc < 0) return rc;
    }
    return any_fifo ? sy_pg_prepare(c, err, "sy_send_fifo", SQL_SEND_FIFO, 12) : 0;
}

static void send_multi_result(PGconn *c, PGresult *r, send_job_t **jobs, int n, int *rcs, sy_err_t *errs, int *idx)
{
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != n) {
        for (int i = 0; i < n; i++) rcs[idx[i]] = sy_pg_error(c, r, &errs[idx[i]]);
        return;
    }
    send_job_t **sorted = sy_malloc(sizeof(send_job_t *) * (size_t)n);
    memcpy(sorted, jobs, sizeof(send_job_t *) * (size_t)n);
    qsort(sorted, (size_t)n, sizeof *sorted, cmp_uuid_job);
    for (int k = 0; k < n; k++) {
        send_job_t key, *kp = &key;
        snprintf(key.uuid, sizeof key.uuid, "%s", PQgetvalue(r, k, 1));
        send_job_t **hit = bsearch(&kp, sorted, (size_t)n, sizeof *sorted, cmp_uuid_job);
        if (!hit) continue;
        (*hit)->seq = atoll(PQgetvalue(r, k, 0));
        snprintf((*hit)->out_uuid, sizeof(*hit)->out_uuid, "%s", (*hit)->uuid);
    }
    free(sorted);
    for (int i = 0; i < n; i++)
        rcs[idx[i]] =
            jobs[i]->out_uuid[0] ? 0 : sy_err_set(&errs[idx[i]], SY_E_DB, 500, "InternalFailure", "message not stored");
}

void store_send_batch(PGconn *c, void **args, int n, int *rcs, sy_err_t *errs)
{
    /* the standard sends, in chunks; then each FIFO send on its own */
    send_job_t **std = sy_malloc(sizeof(send_job_t *) * (size_t)n);
    int *std_idx = sy_malloc(sizeof(int) * (size_t)n);
    int nstd = 0;
    bool any_fifo = false;
    for (int i = 0; i < n; i++) {
        send_job_t *j = args[i];
        j->out_uuid[0] = 0;
        any_fifo |= j->fifo;
        if (!j->fifo) {
            std[nstd] = j;
            std_idx[nstd++] = i;
        }
    }
    sy_err_t perr;
    if (send_prepare_stmts(c, nstd, any_fifo, &perr) < 0 || PQenterPipelineMode(c) != 1) {
        for (int i = 0; i < n; i++) rcs[i] = sy_err_set(&errs[i], SY_E_DB, 500, "InternalFailure", "could not send");
        free(std);
        free(std_idx);
        return;
    }
    int chunks = 0;
    for (int k = 0; k < nstd; k += ROWS_PER_INSERT, chunks++)
        send_multi(c, std + k, nstd - k < ROWS_PER_INSERT ? nstd - k : ROWS_PER_INSERT);
    for (int i = 0; i < n; i++) {
        send_job_t *j = args[i];
        if (!j->fifo) continue;
        char qid[24], delay[16];
        const char *p[12];
        send_params(j, qid, delay, p);
        PQsendQueryPrepared(c, "sy_send_fifo", 12, p, NULL, NULL, 0);
    }
    /* no NOTIFY here: it would hold PostgreSQL's notify lock through this
     * commit's fsync and serialize the writers; the notifier sends it after */
    PQpipelineSync(c);
    PGresult *r;
    for (int k = 0, ch = 0; ch < chunks; k += ROWS_PER_INSERT, ch++) {
        int m = nstd - k < ROWS_PER_INSERT ? nstd - k : ROWS_PER_INSERT;
        r = PQgetResult(c);
        send_multi_result(c, r, std + k, m, rcs, errs, std_idx + k);
        PQclear(r);
        while ((r = PQgetResult(c))) PQclear(r);
    }
    for (int i = 0; i < n; i++) {
        send_job_t *j = args[i];
        if (!j->fifo) continue;
        r = PQgetResult(c);
        if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1) {
            j->seq = atoll(PQgetvalue(r, 0, 0));
            snprintf(j->out_uuid, sizeof j->out_uuid, "%s", PQgetvalue(r, 0, 1));
            rcs[i] = 0;
        } else {
            rcs[i] = sy_pg_error(c, r, &errs[i]);
        }
        PQclear(r);
        while ((r = PQgetResult(c))) PQclear(r); /* the NULL that ends a query's results */
    }
    while ((r = PQgetResult(c))) { /* PGRES_PIPELINE_SYNC */
        ExecStatusType st = PQresultStatus(r);
        PQclear(r);
        if (st == PGRES_PIPELINE_SYNC) break;
    }
    if (PQexitPipelineMode(c) != 1) sy_log(SY_LOG_ERROR, "queue", NULL, "could not leave pipeline mode");
    free(std);
    free(std_idx);
}

/* One send on the caller's connection, inside its transaction. */
int store_send_one(PGconn *c, send_job_t *j, sy_err_t *err)
{
    char qid[24], delay[16];
    const char *p[12];
    send_params(j, qid, delay, p);
    PGresult *r = sy_pg_exec(c, err, j->fifo ? SQL_SEND_FIFO : SQL_SEND, j->fifo ? 12 : 9, p);
    if (!r) return SY_E_DB;
    int rc = 0;
    if (PQntuples(r) == 1) {
        j->seq = atoll(PQgetvalue(r, 0, 0));
        snprintf(j->out_uuid, sizeof j->out_uuid, "%s", PQgetvalue(r, 0, 1));
    } else {
        rc = sy_err_set(err, SY_E_DB, 500, "InternalFailure", "send returned no row");
    }
    PQclear(r);
    const char *np[1] = {qid};
    if (rc == 0 && !(r = sy_pg_exec(c, err, "SELECT pg_notify('sy_queue', $1)", 1, np))) return SY_E_DB;
    if (rc == 0) PQclear(r);
    return rc;
}
