/* queue/store_message.c - SQL for leased messages: lease with SKIP LOCKED
 * (combined for standard queues), delete, visibility */
#include "queue/internal.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------- leasing */
static const char *SQL_LEASE_HEAD_STD =
    "WITH c AS (SELECT id FROM sy_messages WHERE queue_id = $1 AND visible_at <= now() "
    "  AND sent_at > now() - make_interval(secs => $6::int) "
    "  ORDER BY visible_at, id LIMIT $2 FOR UPDATE SKIP LOCKED), ";
/* FIFO receives run in parallel, each on the message groups it holds: in
 * one transaction, SQL_FIFO_GROUPS takes a transaction-scoped advisory lock
 * on each group it will serve (pg_try_advisory_xact_lock: a group another
 * receive holds is skipped, never waited for), then the lease statement -
 * run after the locks are held, so its snapshot sees every earlier lease of
 * those groups committed - takes the groups' oldest messages unless a
 * message of the group is in flight.
 * The groups are walked in group-id order along sy_messages_group (one
 * index probe a group, lazily: the walk stops as soon as the locked groups'
 * available messages fill the receive), starting after the group the
 * broker's previous receive of the queue served ($4, see fifo_cursor) and
 * wrapping around: round robin, so concurrent receivers start at different
 * groups and no group starves. (It started at the group of a random one of
 * the 64 oldest available messages: a scan of the ready index's head, where
 * the entries of just-leased messages are not yet dead to every snapshot -
 * two thirds of the statement's buffer reads.) A receive thus serves as
 * few groups as it can (as SQS does: "as many messages with the same
 * message group ID as possible"). A group is busy while one of its messages
 * is in flight (a probe of sy_messages_inflight).
 * $1 queue, $2 limit, $3 retention, $4 the group to start after ('' for
 * the first). */
static const char *SQL_FIFO_GROUPS =
    "WITH RECURSIVE "
    "wa(g) AS (SELECT (SELECT min(group_id) FROM sy_messages WHERE queue_id = $1::bigint AND group_id > $4::text) "
    "  UNION ALL SELECT (SELECT min(group_id) FROM sy_messages WHERE queue_id = $1::bigint AND group_id > wa.g) "
    "  FROM wa WHERE wa.g IS NOT NULL), "
    "wb(g) AS (SELECT (SELECT min(group_id) FROM sy_messages WHERE queue_id = $1::bigint AND group_id IS NOT NULL) "
    "  UNION ALL SELECT (SELECT min(group_id) FROM sy_messages WHERE queue_id = $1::bigint AND group_id > wb.g) "
    "  FROM wb WHERE wb.g < $4::text), "
    "w AS (SELECT g FROM wa WHERE g IS NOT NULL UNION ALL SELECT g FROM wb WHERE g <= $4::text), "
    "l AS (SELECT w.g FROM w CROSS JOIN LATERAL (SELECT 1 FROM sy_messages m WHERE m.queue_id = $1::bigint "
    "  AND m.group_id = w.g AND m.visible_at <= now() AND m.sent_at > now() - make_interval(secs => $3::int) "
    "  LIMIT $2::int) a WHERE NOT EXISTS (SELECT 1 FROM sy_messages b WHERE b.queue_id = $1::bigint "
    "  AND b.group_id = w.g AND b.receive_count > 0 AND b.visible_at > now()) "
    "  AND pg_try_advisory_xact_lock(hashtextextended($1::bigint::text || '/' || w.g, 0)) LIMIT $2::int) "
    "SELECT json_agg(DISTINCT g)::text FROM l";
/* the lease head for the locked groups, whose JSON list is parameter $%d */
static const char *SQL_LEASE_HEAD_FIFO_FMT =
    "WITH g AS (SELECT value AS group_id, ord FROM jsonb_array_elements_text($%d::jsonb) WITH ORDINALITY t(value, ord)), "
    "cand AS (SELECT m.id FROM g CROSS JOIN LATERAL (SELECT id FROM sy_messages WHERE queue_id = $1 "
    "  AND group_id = g.group_id AND visible_at <= now() AND sent_at > now() - make_interval(secs => $6::int) "
    "  ORDER BY id LIMIT $2) m WHERE NOT EXISTS (SELECT 1 FROM sy_messages b WHERE b.queue_id = $1 "
    "  AND b.group_id = g.group_id AND b.receive_count > 0 AND b.visible_at > now()) ORDER BY g.ord, m.id LIMIT $2), "
    "c AS (SELECT id FROM sy_messages WHERE id IN (SELECT id FROM cand) FOR UPDATE), ";
/* the lease statement is HEAD, TAIL, the new receipt token, TAIL_END */
static const char *SQL_LEASE_TAIL =
    "mv AS (DELETE FROM sy_messages m USING c WHERE m.id = c.id AND $4::int > 0 AND m.receive_count >= $4::int "
    "  RETURNING m.*), "
    "ins AS (INSERT INTO sy_messages (queue_id, visible_at, sent_at, receive_count, first_receive_at, msg_uuid, "
    "  group_id, dedup_id, sender_id, source_queue_id, md5_body, md5_attrs, attrs, sys_attrs, body) "
    "  SELECT $5::bigint, now(), sent_at, receive_count, first_receive_at, msg_uuid, group_id, dedup_id, sender_id, "
    "  queue_id, md5_body, md5_attrs, attrs, sys_attrs, body FROM mv RETURNING 1) "
    "UPDATE sy_messages m SET visible_at = now() + make_interval(secs => $3), receive_count = m.receive_count + 1, "
    "  first_receive_at = coalesce(m.first_receive_at, now()), receipt = ";
static const char *SQL_LEASE_TAIL_END =
    " FROM c WHERE m.id = c.id AND NOT ($4::int > 0 AND m.receive_count >= $4::int) "
    "RETURNING m.id, m.msg_uuid::text, m.receipt, m.body, m.md5_body, m.md5_attrs, m.attrs::text, "
    "  m.sys_attrs::text, m.receive_count, (extract(epoch from m.sent_at) * 1000)::bigint, "
    "  (extract(epoch from m.first_receive_at) * 1000)::bigint, m.group_id, m.dedup_id, m.sender_id";

/* the lease statement; a FIFO one takes its groups as parameter 7 (8 when
 * the receipt token is parameter 7) */
static char *lease_sql(bool fifo, const char *receipt)
{
    char head[1024];
    if (fifo) snprintf(head, sizeof head, SQL_LEASE_HEAD_FIFO_FMT, receipt[0] == '$' ? 8 : 7);
    return sy_asprintf("%s%s%s%s", fifo ? head : SQL_LEASE_HEAD_STD, SQL_LEASE_TAIL, receipt, SQL_LEASE_TAIL_END);
}

static char *dup_or_null(PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? NULL : sy_strdup(PQgetvalue(r, row, col));
}

static void row_to_leased(PGresult *r, int i, leased_t *l)
{
    memset(l, 0, sizeof *l);
    l->id = atoll(PQgetvalue(r, i, 0));
    snprintf(l->uuid, sizeof l->uuid, "%s", PQgetvalue(r, i, 1));
    l->receipt = sy_strdup(PQgetvalue(r, i, 2));
    l->body = sy_strdup(PQgetvalue(r, i, 3));
    l->md5_body = sy_strdup(PQgetvalue(r, i, 4));
    l->md5_attrs = dup_or_null(r, i, 5);
    l->attrs = PQgetisnull(r, i, 6) ? NULL : json_loads(PQgetvalue(r, i, 6), 0, NULL);
    l->sys_attrs = PQgetisnull(r, i, 7) ? NULL : json_loads(PQgetvalue(r, i, 7), 0, NULL);
    l->receive_count = atoi(PQgetvalue(r, i, 8));
    l->sent_ms = atoll(PQgetvalue(r, i, 9));
    l->first_ms = atoll(PQgetvalue(r, i, 10));
    l->group_id = dup_or_null(r, i, 11);
    l->dedup_id = dup_or_null(r, i, 12);
    l->sender_id = dup_or_null(r, i, 13);
}

void leased_clear(leased_t *l)
{
    free(l->receipt);
    free(l->body);
    free(l->md5_body);
    free(l->md5_attrs);
    json_decref(l->attrs);
    json_decref(l->sys_attrs);
    free(l->group_id);
    free(l->dedup_id);
    free(l->sender_id);
    memset(l, 0, sizeof *l);
}

/* Read a pipeline's nq results (each ended by NULL) up to its sync; the
 * result of query `keep` is returned in *kept. false on any error. */
static bool pipe_results(PGconn *c, int nq, int keep, PGresult **kept, sy_err_t *err)
{
    bool ok = true;
    *kept = NULL;
    for (int i = 0; i < nq; i++) {
        PGresult *r = PQgetResult(c);
        ExecStatusType st = PQresultStatus(r);
        if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
            if (ok) sy_pg_error(c, r, err);
            ok = false;
        }
        if (i == keep && ok) *kept = r;
        else PQclear(r);
        while ((r = PQgetResult(c))) PQclear(r);
    }
    PGresult *r;
    while ((r = PQgetResult(c))) {
        ExecStatusType st = PQresultStatus(r);
        PQclear(r);
        if (st == PGRES_PIPELINE_SYNC) break;
    }
    if (!ok) {
        PQclear(*kept);
        *kept = NULL;
    }
    return ok;
}

/* Where this broker's next FIFO receive of a queue starts its walk over the
 * groups: after the group its previous receive served (SQL_FIFO_GROUPS).
 * A small table by queue id; a collision of two queues only restarts a
 * walk at the first group. */
#define FIFO_CURSORS 64
static struct {
    int64_t queue_id;
    char group[132];
} fifo_cursor[FIFO_CURSORS];
static pthread_mutex_t fifo_cursor_mu = PTHREAD_MUTEX_INITIALIZER;

static void fifo_cursor_get(int64_t queue_id, char out[132])
{
    pthread_mutex_lock(&fifo_cursor_mu);
    int k = (int)((uint64_t)queue_id % FIFO_CURSORS);
    snprintf(out, 132, "%s", fifo_cursor[k].queue_id == queue_id ? fifo_cursor[k].group : "");
    pthread_mutex_unlock(&fifo_cursor_mu);
}

static void fifo_cursor_set(int64_t queue_id, const char *group)
{
    if (!group) return;
    pthread_mutex_lock(&fifo_cursor_mu);
    int k = (int)((uint64_t)queue_id % FIFO_CURSORS);
    fifo_cursor[k].queue_id = queue_id;
    snprintf(fifo_cursor[k].group, sizeof fifo_cursor[k].group, "%s", group);
    pthread_mutex_unlock(&fifo_cursor_mu);
}

/* BEGIN, lease, COMMIT: one round trip; a FIFO lease takes two (its
 * groups' locks first, see SQL_FIFO_GROUPS). The lease is the prepared
 * statement `stmt` (parse and plan once a backend) of np parameters; a
 * FIFO one gets the locked groups as one more. */
static PGresult *lease_once(PGconn *c, bool fifo, const char *stmt, const char *sql, int np,
                            const char *const *p, sy_err_t *err)
{
    if (sy_pg_prepare(c, err, stmt, sql, np + fifo) < 0 ||
        (fifo && sy_pg_prepare(c, err, "sy_fifo_groups", SQL_FIFO_GROUPS, 4) < 0))
        return NULL;
    if (PQenterPipelineMode(c) != 1) {
        sy_err_set(err, SY_E_DB, 500, "InternalFailure", "could not enter pipeline mode");
        return NULL;
    }
    /* a lost lease only makes the message visible again: no fsync needed */
    sy_pg_send_begin(c);
    PQsendQueryParams(c, "SET LOCAL synchronous_commit = off", 0, NULL, NULL, NULL, NULL, 0);
    PGresult *lease = NULL, *groups = NULL;
    const char *p2[8];
    bool ok = true, none_free = false;
    if (fifo) {
        /* A group's oldest messages come from an ordered scan of
         * sy_messages_group that stops after the limit; a bitmap scan would
         * read every message of the group and sort them (a cached generic
         * plan, made while the queue was small, chose it: 1,500 heap pages
         * a receive at 2,000 messages a group). */
        PQsendQueryParams(c, "SET LOCAL enable_bitmapscan = off", 0, NULL, NULL, NULL, NULL, 0);
        char start[132];
        fifo_cursor_get(atoll(p[0]), start);
        const char *gp[4] = {p[0], p[1], p[5], start};
        PQsendQueryPrepared(c, "sy_fifo_groups", 4, gp, NULL, NULL, 0);
        PQpipelineSync(c); /* inside the transaction: the locks stay held */
        ok = pipe_results(c, 4, 3, &groups, err);
        if (ok && (PQntuples(groups) != 1 || PQgetisnull(groups, 0, 0))) none_free = true;
        if (ok) {
            memcpy(p2, p, sizeof(char *) * (size_t)np);
            p2[np] = PQgetvalue(groups, 0, 0);
            p = p2;
        }
    }
    if (ok && !none_free) {
        PQsendQueryPrepared(c, stmt, np + fifo, p, NULL, NULL, 0);
        sy_pg_send_commit(c);
        PQpipelineSync(c);
        ok = fifo ? pipe_results(c, 2, 0, &lease, err) : pipe_results(c, 4, 2, &lease, err);
    }
    PQclear(groups);
    PQexitPipelineMode(c);
    sy_pg_rollback(c); /* when the COMMIT did not run */
    if (ok && none_free) return PQmakeEmptyPGresult(c, PGRES_TUPLES_OK); /* nothing to receive */
    return ok ? lease : NULL;
}

/* A FIFO group found free by the groups statement may have been leased by
 * a receive that committed between its snapshot and the lock: the lease
 * then finds it in flight and takes nothing. Try again (fresh snapshots)
 * before answering empty, or the receive would wait for nothing. */
static PGresult *lease_pipelined(PGconn *c, bool fifo, const char *stmt, const char *sql, int np,
                                 const char *const *p, sy_err_t *err)
{
    for (int attempt = 0;; attempt++) {
        PGresult *r = lease_once(c, fifo, stmt, sql, np, p, err);
        if (!fifo || !r || PQntuples(r) > 0 || attempt == 3 || !PQnfields(r)) /* no fields: no free group */
            return r;
        PQclear(r);
    }
}

static int leased_by_id(const void *a, const void *b)
{
    int64_t x = ((const leased_t *)a)->id, y = ((const leased_t *)b)->id;
    return x < y ? -1 : x > y;
}

/* -------------------------------------------- combined leases (standard)
 * Concurrent receives of one standard queue become one lease statement
 * whose rows are shared out in order: far less contention on the queue's
 * head than many SKIP LOCKED scans racing each other. */
typedef struct {
    int64_t queue_id;
    char qid[24], vis[16], maxrc[16], dlq[24], ret[16];
    bool has_dlq;
    int max;
    leased_t *out;
    int n;
} lease_job_t;

static bool same_lease(const lease_job_t *a, const lease_job_t *b)
{
    return a->queue_id == b->queue_id && !strcmp(a->vis, b->vis) && !strcmp(a->maxrc, b->maxrc) &&
           !strcmp(a->dlq, b->dlq) && !strcmp(a->ret, b->ret);
}

static void lease_batch(PGconn *c, void **args, int n, int *rcs, sy_err_t *errs)
{
    char *sql = lease_sql(false, "gen_random_uuid()::text");
    bool *done = sy_calloc((size_t)n, sizeof(bool));
    for (int i = 0; i < n; i++) {
        if (done[i]) continue;
        lease_job_t *lead = args[i];
        int total = 0;
        for (int k = i; k < n; k++)
            if (!done[k] && same_lease(lead, args[k])) total += ((lease_job_t *)args[k])->max;
        char lim[16];
        snprintf(lim, sizeof lim, "%d", total);
        const char *p[6] = {lead->qid, lim, lead->vis, lead->maxrc, lead->has_dlq ? lead->dlq : NULL, lead->ret};
        sy_err_t e;
        PGresult *r = sy_pg_exec_prepared(c, &e, "sy_lease_std", sql, 6, p);
        int rows = r ? PQntuples(r) : 0, next = 0;
        leased_t *all = rows ? sy_malloc(sizeof(leased_t) * (size_t)rows) : NULL;
        for (int k = 0; k < rows; k++) row_to_leased(r, k, &all[k]);
        if (rows > 1) qsort(all, (size_t)rows, sizeof *all, leased_by_id);
        for (int k = i; k < n; k++) {
            lease_job_t *j = args[k];
            if (done[k] || !same_lease(lead, j)) continue;
            done[k] = true;
            if (!r) {
                rcs[k] = SY_E_DB;
                errs[k] = e;
                continue;
            }
            j->n = 0;
            while (j->n < j->max && next < rows) j->out[j->n++] = all[next++];
            rcs[k] = 0;
        }
        for (; next < rows; next++) leased_clear(&all[next]); /* not expected: total covers all */
        free(all);
        PQclear(r);
    }
    free(done);
    free(sql);
}

/* The text parameters every lease statement takes: $1 queue, $2 limit,
 * $3 visibility, $4 maxReceiveCount (0: no DLQ), $5 DLQ id, $6 retention,
 * [$7 shared receipt token]. */
typedef struct {
    char qid[24], lim[16], vis[16], maxrc[16], dlq[24], ret[16];
    const char *p[7];
} lease_params_t;

static void lease_params(const sy_queue_t *q, int64_t dlq_id, int max, int visibility_s, const char *token,
                         lease_params_t *lp)
{
    snprintf(lp->qid, sizeof lp->qid, "%lld", (long long)q->id);
    snprintf(lp->ret, sizeof lp->ret, "%d", q->retention_s);
    snprintf(lp->lim, sizeof lp->lim, "%d", max);
    snprintf(lp->vis, sizeof lp->vis, "%d", visibility_s);
    bool has_dlq = dlq_id > 0;
    lp->dlq[0] = 0;
    if (has_dlq) snprintf(lp->dlq, sizeof lp->dlq, "%lld", (long long)dlq_id);
    snprintf(lp->maxrc, sizeof lp->maxrc, "%d", has_dlq ? q->max_receive : 0);
    /* past MessageRetentionPeriod: never delivered, even before the sweeper removes it */
    const char *p[7] = {lp->qid, lp->lim, lp->vis, lp->maxrc, has_dlq ? lp->dlq : NULL, lp->ret, token};
    memcpy(lp->p, p, sizeof p);
}

/* Rows of a lease into out, in id order (UPDATE ... RETURNING does not keep
 * the CTE's ORDER BY, and a FIFO group must come back in send order). A
 * FIFO queue's next receive starts after the group served last. */
static int collect_leased(const sy_queue_t *q, PGresult *r, int max, leased_t *out, int *n)
{
    if (!r) return SY_E_DB;
    for (int i = 0; i < PQntuples(r) && i < max; i++) row_to_leased(r, i, &out[(*n)++]);
    if (*n > 1) qsort(out, (size_t)*n, sizeof *out, leased_by_id);
    if (q->fifo && *n > 0) fifo_cursor_set(q->id, out[*n - 1].group_id);
    PQclear(r);
    return 0;
}

static int receive_one(sy_ctx_t *ctx, const sy_queue_t *q, int64_t dlq_id, int max, int visibility_s, leased_t *out,
                       int *n, sy_err_t *err)
{
    *n = 0;
    lease_params_t lp;
    lease_params(q, dlq_id, max, visibility_s, NULL, &lp);
    char *sql = lease_sql(q->fifo, "gen_random_uuid()::text");
    PGconn *c = sy_pg_acquire(ctx->pool);
    if (!c) {
        free(sql);
        return sy_err_set(err, SY_E_DB, 503, "ServiceUnavailable", "database unavailable");
    }
    PGresult *r = lease_pipelined(c, q->fifo, q->fifo ? "sy_lease_fifo" : "sy_lease_one", sql, 6, lp.p, err);
    sy_pg_release(ctx->pool, c);
    free(sql);
    return collect_leased(q, r, max, out, n);
}

int store_receive(sy_ctx_t *ctx, sy_gc_t *combine, const sy_queue_t *q, int64_t dlq_id, int max, int visibility_s,
                  leased_t *out, int *n, sy_err_t *err)
{
    if (!q->fifo && combine) {
        lease_job_t j = {.queue_id = q->id, .max = max, .out = out};
        snprintf(j.qid, sizeof j.qid, "%lld", (long long)q->id);
        snprintf(j.vis, sizeof j.vis, "%d", visibility_s);
        snprintf(j.ret, sizeof j.ret, "%d", q->retention_s);
        j.has_dlq = dlq_id > 0;
        if (j.has_dlq) snprintf(j.dlq, sizeof j.dlq, "%lld", (long long)dlq_id);
        snprintf(j.maxrc, sizeof j.maxrc, "%d", j.has_dlq ? q->max_receive : 0);
        *n = 0;
        int rc = sy_gc_submit(combine, lease_batch, NULL, &j, err);
        if (rc == 0) *n = j.n;
        return rc;
    }
    return receive_one(ctx, q, dlq_id, max, visibility_s, out, n, err);
}

/* A lease whose messages all take the same receipt token (an event-source
 * mapping's batch: the token names the batch, so a broker that restarted
 * finds it again with store_leased_batch). Not combined with other leases. */
int store_receive_shared(sy_ctx_t *ctx, const sy_queue_t *q, int64_t dlq_id, int max, int visibility_s,
                         const char *token, leased_t *out, int *n, sy_err_t *err)
{
    *n = 0;
    lease_params_t lp;
    lease_params(q, dlq_id, max, visibility_s, token, &lp);
    char *sql = lease_sql(q->fifo, "$7");
    PGconn *c = sy_pg_acquire(ctx->pool);
    if (!c) {
        free(sql);
        return sy_err_set(err, SY_E_DB, 503, "ServiceUnavailable", "database unavailable");
    }
    /* FIFO: the group locks must share the lease's transaction */
    PGresult *r = q->fifo ? lease_pipelined(c, true, "sy_lease_fifo_shared", sql, 7, lp.p, err)
                          : sy_pg_exec_prepared(c, err, "sy_lease_shared", sql, 7, lp.p);
    sy_pg_release(ctx->pool, c);
    free(sql);
    return collect_leased(q, r, max, out, n);
}

/* The messages a shared receipt token still leases, in id order, locked for
 * the caller's transaction. None when the batch was settled or leased
 * again since. */
int store_leased_batch(PGconn *c, int64_t queue_id, const char *token, leased_t **out, int *n, sy_err_t *err)
{
    *out = NULL;
    *n = 0;
    char qid[24];
    snprintf(qid, sizeof qid, "%lld", (long long)queue_id);
    const char *p[2] = {qid, token};
    PGresult *r = sy_pg_exec_prepared(
        c, err, "sy_leased_batch",
        "SELECT m.id, m.msg_uuid::text, m.receipt, m.body, m.md5_body, m.md5_attrs, m.attrs::text, "
        "  m.sys_attrs::text, m.receive_count, (extract(epoch from m.sent_at) * 1000)::bigint, "
        "  (extract(epoch from m.first_receive_at) * 1000)::bigint, m.group_id, m.dedup_id, m.sender_id "
        "FROM sy_messages m WHERE m.queue_id = $1::bigint AND m.receipt = $2 ORDER BY m.id FOR UPDATE",
        2, p);
    if (!r) return SY_E_DB;
    int rows = PQntuples(r);
    if (rows) *out = sy_calloc((size_t)rows, sizeof **out);
    for (int i = 0; i < rows; i++) row_to_leased(r, i, &(*out)[i]);
    *n = rows;
    PQclear(r);
    return 0;
}

/* ------------------------------------------- delete (group-committed) */
static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* Mark each job found when its message id is among the returned rows. */
static void mark_found(PGresult *r, receipt_job_t **jobs, int n)
{
    int rows = r ? PQntuples(r) : 0;
    int64_t *ids = sy_malloc(sizeof(int64_t) * (size_t)(rows ? rows : 1));
    for (int k = 0; k < rows; k++) ids[k] = atoll(PQgetvalue(r, k, 0));
    qsort(ids, (size_t)rows, sizeof *ids, cmp_i64);
    for (int i = 0; i < n; i++)
        jobs[i]->found = rows && bsearch(&jobs[i]->msg_id, ids, (size_t)rows, sizeof *ids, cmp_i64) != NULL;
    free(ids);
}

static void id_arrays(void **args, int n, sy_buf_t *mids, sy_buf_t *qids, sy_buf_t *toks)
{
    sy_buf_puts(mids, "{");
    sy_buf_puts(qids, "{");
    sy_buf_puts(toks, "{");
    for (int i = 0; i < n; i++) {
        receipt_job_t *j = args[i];
        sy_buf_printf(mids, "%s%lld", i ? "," : "", (long long)j->msg_id);
        sy_buf_printf(qids, "%s%lld", i ? "," : "", (long long)j->queue_id);
        sy_buf_printf(toks, "%s\"%s\"", i ? "," : "", j->token); /* tokens are [0-9a-f-] */
    }
    sy_buf_puts(mids, "}");
    sy_buf_puts(qids, "}");
    sy_buf_puts(toks, "}");
}

void store_delete_batch(PGconn *c, void **args, int n, int *rcs, sy_err_t *errs)
{
    sy_buf_t mids, qids, toks;
    sy_buf_init(&mids);
    sy_buf_init(&qids);
    sy_buf_init(&toks);
    id_arrays(args, n, &mids, &qids, &toks);
    const char *p[3] = {mids.data, qids.data, toks.data};
    sy_err_t e;
    PGresult *r = sy_pg_exec_prepared(c, &e, "sy_delete",
                                      "DELETE FROM sy_messages m USING unnest($1::bigint[], $2::bigint[], $3::text[]) "
                                      "AS u(mid, qid, tok) WHERE m.id = u.mid AND m.queue_id = u.qid "
                                      "AND m.receipt = u.tok RETURNING m.id",
                                      3, p);
    for (int i = 0; i < n; i++) {
        rcs[i] = r ? 0 : SY_E_DB;
        if (!r) errs[i] = e;
    }
    mark_found(r, (receipt_job_t **)args, n);
    PQclear(r);
    sy_buf_free(&mids);
    sy_buf_free(&qids);
    sy_buf_free(&toks);
}

/* The row a receipt still leases, locked for the caller's transaction.
 * SY_E_NOTFOUND when the receipt is stale (deleted or leased again). */
int store_leased_by_receipt(PGconn *c, const receipt_job_t *j, leased_t *out, sy_err_t *err)
{
    char mid[24], qid[24];
    snprintf(mid, sizeof mid, "%lld", (long long)j->msg_id);
    snprintf(qid, sizeof qid, "%lld", (long long)j->queue_id);
    const char *p[3] = {mid, qid, j->token};
    PGresult *r = sy_pg_exec_prepared(
        c, err, "sy_leased_by_receipt",
        "SELECT m.id, m.msg_uuid::text, m.receipt, m.body, m.md5_body, m.md5_attrs, m.attrs::text, "
        "  m.sys_attrs::text, m.receive_count, (extract(epoch from m.sent_at) * 1000)::bigint, "
        "  (extract(epoch from m.first_receive_at) * 1000)::bigint, m.group_id, m.dedup_id, m.sender_id "
        "FROM sy_messages m WHERE m.id = $1::bigint AND m.queue_id = $2::bigint AND m.receipt = $3 FOR UPDATE",
        3, p);
    if (!r) return SY_E_DB;
    int rc = 0;
    if (PQntuples(r) == 1) row_to_leased(r, 0, out);
    else rc = sy_err_set(err, SY_E_NOTFOUND, 400, "ReceiptHandleIsInvalid", "stale receipt handle");
    PQclear(r);
    return rc;
}

int store_change_visibility(sy_ctx_t *ctx, receipt_job_t *jobs, int n, sy_err_t *err)
{
    PGconn *c = sy_pg_acquire(ctx->pool);
    if (!c) return sy_err_set(err, SY_E_DB, 503, "ServiceUnavailable", "database unavailable");
    int rc = store_change_visibility_on(c, jobs, n, err);
    sy_pg_release(ctx->pool, c);
    return rc;
}

/* The same on the caller's connection (inside its transaction, if any). */
int store_change_visibility_on(PGconn *c, receipt_job_t *jobs, int n, sy_err_t *err)
{
    sy_buf_t mids, qids, toks, secs;
    sy_buf_init(&mids);
    sy_buf_init(&qids);
    sy_buf_init(&toks);
    sy_buf_init(&secs);
    void **args = sy_malloc(sizeof(void *) * (size_t)n);
    for (int i = 0; i < n; i++) args[i] = &jobs[i];
    id_arrays(args, n, &mids, &qids, &toks);
    free(args);
    sy_buf_puts(&secs, "{");
    for (int i = 0; i < n; i++) sy_buf_printf(&secs, "%s%d", i ? "," : "", jobs[i].visibility_s);
    sy_buf_puts(&secs, "}");
    const char *p[4] = {mids.data, qids.data, toks.data, secs.data};
    int rc = 0;
    PGresult *r = sy_pg_exec_prepared(c, err, "sy_visibility",
                            "UPDATE sy_messages m SET visible_at = now() + make_interval(secs => u.secs) "
                            "FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::int[]) AS u(mid, qid, tok, secs) "
                            "WHERE m.id = u.mid AND m.queue_id = u.qid AND m.receipt = u.tok RETURNING m.id",
                            4, p);
    if (!r) {
        rc = SY_E_DB;
        goto done;
    }
    receipt_job_t **jp = sy_malloc(sizeof(receipt_job_t *) * (size_t)n);
    for (int i = 0; i < n; i++) jp[i] = &jobs[i];
    mark_found(r, jp, n);
    free(jp);
done:
    PQclear(r);
    sy_buf_free(&mids);
    sy_buf_free(&qids);
    sy_buf_free(&toks);
    sy_buf_free(&secs);
    return rc;
}

/* ------------------------------------------------------------- upkeep */
/* Messages past their queue's retention and messages of deleted queues
 * (sends that raced a DeleteQueue on another broker with cached settings)
 * are removed in primary-key ranges of SWEEP_CHUNK ids, two short
 * statements a range, as many ranges as fit in SWEEP_BUDGET_US, resuming at
 * *cursor on the next call (0: a new pass from the oldest id). A statement
 * over the whole table (as before issue 15) read all of it at every sweep
 * and, at a depth of 1,000,000 messages, held back the xmin horizon for
 * seconds, so the dead index entries at a queue's head could be neither
 * vacuumed nor marked dead by the leases walking past them. Expired
 * messages are never leased meanwhile (the lease statements test sent_at).
 * Returns 1 when the pass is finished, 0 when it is not; FIFO dedup rows
 * past their window go at every call. *expired: the first kind's count. */
#define SWEEP_CHUNK 5000
#define SWEEP_BUDGET_US 20000

static int sweep_range(PGconn *c, int64_t from, int64_t to, int64_t *expired, sy_err_t *err)
{
    char a[24], b[24];
    snprintf(a, sizeof a, "%lld", (long long)from);
    snprintf(b, sizeof b, "%lld", (long long)to);
    const char *p[2] = {a, b};
    PGresult *r = sy_pg_exec_prepared(c, err, "sy_sweep_expired",
                                      "DELETE FROM sy_messages m USING sy_queues q WHERE m.id > $1::bigint "
                                      "AND m.id <= $2::bigint AND m.queue_id = q.id "
                                      "AND m.sent_at < now() - make_interval(secs => q.retention_s)",
                                      2, p);
    if (!r) return SY_E_DB;
    *expired += atoll(PQcmdTuples(r));
    PQclear(r);
    r = sy_pg_exec_prepared(c, err, "sy_sweep_orphans",
                            "DELETE FROM sy_messages m WHERE m.id > $1::bigint AND m.id <= $2::bigint "
                            "AND NOT EXISTS (SELECT 1 FROM sy_queues q WHERE q.id = m.queue_id)",
                            2, p);
    if (!r) return SY_E_DB;
    PQclear(r);
    return 0;
}

int store_sweep(sy_ctx_t *ctx, int64_t *cursor, int64_t *expired, sy_err_t *err)
{
    *expired = 0;
    PGconn *c = sy_pg_acquire(ctx->pool);
    if (!c) return sy_err_set(err, SY_E_DB, 503, "ServiceUnavailable", "database unavailable");
    int rc = 0, done = 0;
    PGresult *r = sy_pg_exec(c, err, "SELECT coalesce(min(id), 0), coalesce(max(id), 0) FROM sy_messages", 0, NULL);
    if (!r) {
        rc = SY_E_DB;
        goto out;
    }
    int64_t lo = atoll(PQgetvalue(r, 0, 0)), hi = atoll(PQgetvalue(r, 0, 1));
    PQclear(r);
    if (*cursor < lo - 1) *cursor = lo - 1; /* a new pass, or the ids below are gone */
    int64_t t0 = sy_mono_us();
    while (*cursor < hi && sy_mono_us() - t0 < SWEEP_BUDGET_US) {
        if ((rc = sweep_range(c, *cursor, *cursor + SWEEP_CHUNK, expired, err)) < 0) goto out;
        *cursor += SWEEP_CHUNK;
    }
    if (*cursor >= hi) {
        *cursor = 0;
        done = 1;
    }
out:
    sy_pg_release(ctx->pool, c);
    return rc < 0 ? rc : done;
}

/* The FIFO deduplication window's expired rows. A scan of the whole table
 * (a send checks expires_at itself; stale rows only take space), so it runs
 * once a sweep interval, not with every step of a retention pass: at 20,000
 * FIFO sends a second it was a fifth of a core. */
int store_sweep_dedup(sy_ctx_t *ctx, sy_err_t *err)
{
    PGconn *c = sy_pg_acquire(ctx->pool);
    if (!c) return sy_err_set(err, SY_E_DB, 503, "ServiceUnavailable", "database unavailable");
    PGresult *r = sy_pg_exec(c, err, "DELETE FROM sy_dedup WHERE expires_at < now()", 0, NULL);
    int rc = r ? 0 : SY_E_DB;
    PQclear(r);
    sy_pg_release(ctx->pool, c);
    return rc;
}
