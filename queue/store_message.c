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
/* FIFO leases run in parallel, each on the message groups it holds (a
 * lease serves one receive or several, see lease_fifo): in one
 * transaction, SQL_FIFO_GROUPS takes a transaction-scoped advisory lock
 * on each group it will serve (pg_try_advisory_xact_lock: a group another
 * lease holds is skipped, never waited for), then the lease statement -
 * run after the locks are held, so its snapshot sees every earlier lease of
 * those groups committed - takes the groups' oldest messages unless a
 * message of the group is in flight.
 * The groups are walked in group-id order along sy_messages_group (one
 * index probe a group, lazily: the walk stops as soon as the locked groups'
 * available messages fill the receives), starting after the group the
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
 * the first), $5 how many messages of one group count (the most one receive
 * takes). The answer: [[group, messages available up to $5], ...] in walk
 * order, or NULL when no group is free. */

/* The two probes a FIFO statement makes of a group, each written so that
 * its plan cannot depend on the queue's statistics: the next group after
 * one is an ordered scan of sy_messages_group that stops at the first
 * entry (min(group_id) let the planner aggregate over every message of the
 * queue when its statistics predated the queue: 2.5 s a walk step), and a
 * message of the group in flight is a scalar subquery, run once a group as
 * a probe of sy_messages_inflight (NOT EXISTS became an anti join reading
 * every in-flight entry of the queue). */
#define NEXT_GROUP(after)                                                                               \
    "SELECT group_id FROM sy_messages WHERE queue_id = $1::bigint AND group_id > " after " "            \
    "ORDER BY group_id LIMIT 1"
#define IN_FLIGHT(queue, group)                                                                         \
    "SELECT 1 FROM sy_messages b WHERE b.queue_id = " queue " AND b.group_id = " group " "              \
    "AND b.receive_count > 0 AND b.visible_at > now() LIMIT 1"
static const char *SQL_FIFO_GROUPS =
    "WITH RECURSIVE "
    "wa(g) AS (SELECT (" NEXT_GROUP("$4::text") ") "
    "  UNION ALL SELECT (" NEXT_GROUP("wa.g") ") FROM wa WHERE wa.g IS NOT NULL), "
    "wb(g) AS (SELECT (" NEXT_GROUP("''") ") "
    "  UNION ALL SELECT (" NEXT_GROUP("wb.g") ") FROM wb WHERE wb.g < $4::text), "
    "w AS (SELECT g FROM wa WHERE g IS NOT NULL UNION ALL SELECT g FROM wb WHERE g <= $4::text), "
    "l AS (SELECT w.g FROM w CROSS JOIN LATERAL (SELECT 1 FROM sy_messages m WHERE m.queue_id = $1::bigint "
    "  AND m.group_id = w.g AND m.visible_at <= now() AND m.sent_at > now() - make_interval(secs => $3::int) "
    "  LIMIT $5::int) a WHERE (" IN_FLIGHT("$1::bigint", "w.g") ") IS NULL "
    "  AND pg_try_advisory_xact_lock(hashtextextended($1::bigint::text || '/' || w.g, 0)) LIMIT $2::int), "
    "k AS (SELECT g, row_number() OVER () r FROM l) "
    "SELECT json_agg(json_build_array(g, n) ORDER BY f)::text FROM (SELECT g, count(*) n, min(r) f FROM k GROUP BY g) y";
/* the lease head for the locked groups, whose share-out is parameter $%d:
 * [[group, receive, cap], ...] in walk order; each receive (a job of a
 * combined lease) takes the oldest messages of its groups, at most cap in
 * all, so a group is never split between two receives. */
static const char *SQL_LEASE_HEAD_FIFO_FMT =
    "WITH g AS (SELECT x->>0 AS group_id, (x->>1)::int AS job, (x->>2)::int AS cap, ord "
    "  FROM jsonb_array_elements($%d::jsonb) WITH ORDINALITY t(x, ord)), "
    "cand AS (SELECT id FROM (SELECT m.id, g.cap, row_number() OVER (PARTITION BY g.job ORDER BY g.ord, m.id) rn "
    "  FROM g CROSS JOIN LATERAL (SELECT id FROM sy_messages WHERE queue_id = $1 "
    "  AND group_id = g.group_id AND visible_at <= now() AND sent_at > now() - make_interval(secs => $6::int) "
    "  ORDER BY id LIMIT g.cap) m WHERE (" IN_FLIGHT("$1", "g.group_id") ") IS NULL) k WHERE rn <= cap LIMIT $2), "
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

/* ------------------------------------------------------------ lease jobs
 * One receive's lease: the text parameters every lease statement takes
 * ($1 queue, $2 limit, $3 visibility, $4 maxReceiveCount (0: no DLQ), $5
 * DLQ id, $6 retention, [$7 shared receipt token]) and where its messages
 * go. Concurrent receives of one queue become one lease (a job each, see
 * lease_batch): far less contention on the queue's head - or, FIFO, on its
 * groups - than many statements racing each other. */
typedef struct {
    int64_t queue_id;
    bool fifo;
    char qid[24], vis[16], maxrc[16], dlq[24], ret[16];
    bool has_dlq;
    const char *token; /* a shared receipt token, or NULL: one per message */
    int max;
    leased_t *out;
    int n;
} lease_job_t;

static void lease_job(lease_job_t *j, const sy_queue_t *q, int64_t dlq_id, int max, int visibility_s,
                      const char *token, leased_t *out)
{
    memset(j, 0, sizeof *j);
    j->queue_id = q->id;
    j->fifo = q->fifo;
    j->token = token;
    j->max = max;
    j->out = out;
    snprintf(j->qid, sizeof j->qid, "%lld", (long long)q->id);
    snprintf(j->vis, sizeof j->vis, "%d", visibility_s);
    /* past MessageRetentionPeriod: never delivered, even before the sweeper removes it */
    snprintf(j->ret, sizeof j->ret, "%d", q->retention_s);
    j->has_dlq = dlq_id > 0;
    if (j->has_dlq) snprintf(j->dlq, sizeof j->dlq, "%lld", (long long)dlq_id);
    snprintf(j->maxrc, sizeof j->maxrc, "%d", j->has_dlq ? q->max_receive : 0);
}

static bool same_lease(const lease_job_t *a, const lease_job_t *b)
{
    return a->queue_id == b->queue_id && !a->token && !b->token && !strcmp(a->vis, b->vis) &&
           !strcmp(a->maxrc, b->maxrc) && !strcmp(a->dlq, b->dlq) && !strcmp(a->ret, b->ret);
}

/* the statement's parameters with limit lim; extra (a FIFO lease's share-
 * out) after them. Returns how many. */
static int job_params(const lease_job_t *j, const char *lim, const char *extra, const char *p[8])
{
    int np = 0;
    p[np++] = j->qid;
    p[np++] = lim;
    p[np++] = j->vis;
    p[np++] = j->maxrc;
    p[np++] = j->has_dlq ? j->dlq : NULL;
    p[np++] = j->ret;
    if (j->token) p[np++] = j->token;
    if (extra) p[np++] = extra;
    return np;
}

static int leased_by_id(const void *a, const void *b)
{
    int64_t x = ((const leased_t *)a)->id, y = ((const leased_t *)b)->id;
    return x < y ? -1 : x > y;
}

/* The rows of r in id order (UPDATE ... RETURNING does not keep the CTE's
 * ORDER BY, and a FIFO group must come back in send order). */
static leased_t *rows_by_id(PGresult *r, int *rows)
{
    *rows = PQntuples(r);
    leased_t *all = *rows ? sy_malloc(sizeof(leased_t) * (size_t)*rows) : NULL;
    for (int k = 0; k < *rows; k++) row_to_leased(r, k, &all[k]);
    if (*rows > 1) qsort(all, (size_t)*rows, sizeof *all, leased_by_id);
    return all;
}

/* Hand a standard lease's rows (r) to jobs[0..n) in id order, each up to
 * its maximum; a row none has room for is dropped (not expected: the
 * statement's limit is the sum of the maxima). */
static void share_in_order(PGresult *r, lease_job_t **jobs, int n)
{
    int rows, next = 0;
    leased_t *all = rows_by_id(r, &rows);
    for (int k = 0; k < n; k++)
        for (jobs[k]->n = 0; jobs[k]->n < jobs[k]->max && next < rows;) jobs[k]->out[jobs[k]->n++] = all[next++];
    for (; next < rows; next++) leased_clear(&all[next]);
    free(all);
}

/* ------------------------------------------------- standard queues
 * A lease alone: BEGIN, lease, COMMIT in one round trip (pipeline). */
static PGresult *lease_std_alone(PGconn *c, const lease_job_t *j, sy_err_t *err)
{
    char *sql = lease_sql(false, j->token ? "$7" : "gen_random_uuid()::text");
    const char *stmt = j->token ? "sy_lease_shared" : "sy_lease_one", *p[8];
    char lim[16];
    snprintf(lim, sizeof lim, "%d", j->max);
    int np = job_params(j, lim, NULL, p);
    int rc = sy_pg_prepare(c, err, stmt, sql, np);
    free(sql);
    if (rc < 0) return NULL;
    if (PQenterPipelineMode(c) != 1) {
        sy_err_set(err, SY_E_DB, 500, "InternalFailure", "could not enter pipeline mode");
        return NULL;
    }
    /* a lost lease only makes the message visible again: no fsync needed */
    sy_pg_send_begin(c);
    PQsendQueryParams(c, "SET LOCAL synchronous_commit = off", 0, NULL, NULL, NULL, NULL, 0);
    PQsendQueryPrepared(c, stmt, np, p, NULL, NULL, 0);
    sy_pg_send_commit(c);
    PQpipelineSync(c);
    PGresult *lease = NULL;
    bool ok = pipe_results(c, 4, 2, &lease, err);
    PQexitPipelineMode(c);
    sy_pg_rollback(c); /* when the COMMIT did not run */
    return ok ? lease : NULL;
}

/* Standard jobs[0..n) of one queue (same_lease) in one statement, inside
 * the caller's transaction; rows shared out in id order. */
static int lease_std(PGconn *c, lease_job_t **jobs, int n, sy_err_t *err)
{
    int total = 0;
    for (int k = 0; k < n; k++) total += jobs[k]->max;
    char lim[16];
    snprintf(lim, sizeof lim, "%d", total);
    const char *p[8];
    int np = job_params(jobs[0], lim, NULL, p);
    char *sql = lease_sql(false, "gen_random_uuid()::text");
    PGresult *r = sy_pg_exec_prepared(c, err, "sy_lease_std", sql, np, p);
    free(sql);
    if (!r) return SY_E_DB;
    share_in_order(r, jobs, n);
    PQclear(r);
    return 0;
}

/* ------------------------------------------------------- FIFO queues
 * Where this broker's next FIFO receive of a queue starts its walk over the
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

/* Share the locked groups ([[group, available], ...] in walk order) out to
 * the receives, whole: each group to the first receive it fits in, else to
 * the one with the most room left (it then takes the group's oldest
 * messages); a group no receive has room for is left for the next lease.
 * The answer, [[group, receive, cap], ...], is the lease's parameter. */
static json_t *fifo_share_out(json_t *groups, lease_job_t **jobs, int n)
{
    json_t *out = json_array();
    int *room = sy_malloc(sizeof(int) * (size_t)n);
    for (int k = 0; k < n; k++) room[k] = jobs[k]->max;
    size_t i;
    json_t *g;
    json_array_foreach(groups, i, g) {
        int avail = (int)json_integer_value(json_array_get(g, 1)), to = -1;
        for (int k = 0; k < n && to < 0; k++)
            if (room[k] >= avail) to = k; /* the first it fits in */
        if (to < 0)
            for (int k = 0; k < n; k++)
                if (room[k] > 0 && (to < 0 || room[k] > room[to])) to = k; /* the most room */
        if (to < 0) continue;
        room[to] -= avail < room[to] ? avail : room[to];
        json_array_append_new(out, json_pack("[Oii]", json_array_get(g, 0), to, jobs[to]->max));
    }
    free(room);
    return out;
}

static int job_of_group(json_t *share, const char *group)
{
    size_t i;
    json_t *s;
    json_array_foreach(share, i, s) {
        const char *sg = json_string_value(json_array_get(s, 0));
        if (group && sg && !strcmp(sg, group))
            return (int)json_integer_value(json_array_get(s, 1));
    }
    return -1;
}

/* FIFO jobs[0..n) of one queue (same_lease, or one alone) inside the
 * caller's transaction: one walk locks the groups all of them need
 * (SQL_FIFO_GROUPS), one lease takes their messages, each receive gets
 * whole groups (fifo_share_out). A group found free by the walk may have
 * been leased by a receive that committed between the walk's snapshot and
 * its lock: the lease then finds it in flight and takes nothing. Walk
 * again (fresh snapshots, the locks already held kept) before answering
 * empty, or the receives would wait for nothing. */
static int lease_fifo(PGconn *c, lease_job_t **jobs, int n, sy_err_t *err)
{
    lease_job_t *lead = jobs[0];
    int total = 0, cap = 0;
    for (int k = 0; k < n; k++) {
        jobs[k]->n = 0;
        total += jobs[k]->max;
        if (jobs[k]->max > cap) cap = jobs[k]->max;
    }
    char tot[16], caps[16];
    snprintf(tot, sizeof tot, "%d", total);
    snprintf(caps, sizeof caps, "%d", cap);
    /* A group's oldest messages come from an ordered scan of
     * sy_messages_group that stops after the limit; a bitmap scan would
     * read every message of the group and sort them (a cached generic
     * plan, made while the queue was small, chose it: 1,500 heap pages a
     * receive at 2,000 messages a group). */
    PGresult *r = sy_pg_exec(c, err, "SET LOCAL enable_bitmapscan = off", 0, NULL);
    if (!r) return SY_E_DB;
    PQclear(r);
    char *sql = lease_sql(true, lead->token ? "$7" : "gen_random_uuid()::text");
    int rc = 0;
    for (int attempt = 0; attempt < 4 && rc == 0; attempt++) {
        char start[132];
        fifo_cursor_get(lead->queue_id, start);
        const char *gp[5] = {lead->qid, tot, lead->ret, start, caps};
        r = sy_pg_exec_prepared(c, err, "sy_fifo_groups", SQL_FIFO_GROUPS, 5, gp);
        if (!r) {
            rc = SY_E_DB;
            break;
        }
        json_t *groups = PQgetisnull(r, 0, 0) ? NULL : json_loads(PQgetvalue(r, 0, 0), 0, NULL);
        PQclear(r);
        json_t *share = groups ? fifo_share_out(groups, jobs, n) : NULL;
        json_decref(groups);
        if (!share || !json_array_size(share)) { /* no free group: nothing to receive */
            json_decref(share);
            break;
        }
        char *share_text = json_dumps(share, JSON_COMPACT);
        const char *p[8];
        int np = job_params(lead, tot, share_text, p);
        r = sy_pg_exec_prepared(c, err, lead->token ? "sy_lease_fifo_shared" : "sy_lease_fifo", sql, np, p);
        free(share_text);
        if (!r) {
            json_decref(share);
            rc = SY_E_DB;
            break;
        }
        int rows;
        leased_t *all = rows_by_id(r, &rows);
        PQclear(r);
        for (int k = 0; k < rows; k++) {
            int to = job_of_group(share, all[k].group_id);
            if (to >= 0 && jobs[to]->n < jobs[to]->max) jobs[to]->out[jobs[to]->n++] = all[k];
            else leased_clear(&all[k]); /* not expected: the lease caps each receive */
        }
        free(all);
        /* the next walk starts after the last group served */
        json_t *last = json_array_get(share, json_array_size(share) - 1);
        if (rows) fifo_cursor_set(lead->queue_id, json_string_value(json_array_get(last, 0)));
        json_decref(share);
        if (rows) break;
    }
    free(sql);
    if (rc < 0)
        for (int k = 0; k < n; k++) {
            while (jobs[k]->n > 0) leased_clear(&jobs[k]->out[--jobs[k]->n]);
        }
    return rc;
}

/* A lease alone, in its own transaction on a pooled connection (no
 * combiner, or a shared receipt token). */
static int lease_alone(sy_ctx_t *ctx, lease_job_t *j, sy_err_t *err)
{
    j->n = 0;
    PGconn *c = sy_pg_acquire(ctx->pool);
    if (!c) return sy_err_set(err, SY_E_DB, 503, "ServiceUnavailable", "database unavailable");
    int rc = 0;
    if (!j->fifo) {
        PGresult *r = lease_std_alone(c, j, err);
        if (!r) rc = SY_E_DB;
        else share_in_order(r, &j, 1);
        PQclear(r);
    } else {
        PGresult *r = NULL;
        rc = sy_pg_begin(c, err);
        if (rc == 0 && !(r = sy_pg_exec(c, err, "SET LOCAL synchronous_commit = off", 0, NULL))) rc = SY_E_DB;
        PQclear(r);
        if (rc == 0) rc = lease_fifo(c, &j, 1, err);
        if (rc == 0) rc = sy_pg_commit(c, err);
        if (rc < 0) {
            sy_pg_rollback(c);
            while (j->n > 0) leased_clear(&j->out[--j->n]);
        }
    }
    sy_pg_release(ctx->pool, c);
    return rc;
}

/* The combiner's run: the jobs of each queue (same_lease) in one lease. */
static void lease_batch(PGconn *c, void **args, int n, int *rcs, sy_err_t *errs)
{
    bool *done = sy_calloc((size_t)n, sizeof(bool));
    lease_job_t **group = sy_malloc(sizeof(lease_job_t *) * (size_t)n);
    int *at = sy_malloc(sizeof(int) * (size_t)n);
    for (int i = 0; i < n; i++) {
        if (done[i]) continue;
        int m = 0;
        for (int k = i; k < n; k++)
            if (!done[k] && same_lease(args[i], args[k])) {
                done[k] = true;
                at[m] = k;
                group[m++] = args[k];
            }
        sy_err_t e = {0};
        int rc = group[0]->fifo ? lease_fifo(c, group, m, &e) : lease_std(c, group, m, &e);
        /* their ratio: how many receives a lease served */
        const char *kind = group[0]->fifo ? "kind=\"fifo\"" : "kind=\"standard\"";
        sy_metric_inc("switchyard_sqs_leases_total", kind, 1);
        sy_metric_inc("switchyard_sqs_lease_receives_total", kind, m);
        for (int g = 0; g < m; g++) {
            rcs[at[g]] = rc;
            errs[at[g]] = e;
        }
    }
    free(at);
    free(group);
    free(done);
}

int store_receive(sy_ctx_t *ctx, sy_gc_t *combine, const sy_queue_t *q, int64_t dlq_id, int max, int visibility_s,
                  leased_t *out, int *n, sy_err_t *err)
{
    lease_job_t j;
    lease_job(&j, q, dlq_id, max, visibility_s, NULL, out);
    int rc = combine ? sy_gc_submit(combine, lease_batch, NULL, &j, err) : lease_alone(ctx, &j, err);
    *n = rc == 0 ? j.n : 0;
    return rc;
}

/* A lease whose messages all take the same receipt token (an event-source
 * mapping's batch: the token names the batch, so a broker that restarted
 * finds it again with store_leased_batch). Not combined with other leases. */
int store_receive_shared(sy_ctx_t *ctx, const sy_queue_t *q, int64_t dlq_id, int max, int visibility_s,
                         const char *token, leased_t *out, int *n, sy_err_t *err)
{
    lease_job_t j;
    lease_job(&j, q, dlq_id, max, visibility_s, token, out);
    int rc = lease_alone(ctx, &j, err);
    *n = rc == 0 ? j.n : 0;
    return rc;
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
