/* bench/queue_peer.c - the plain-SQL peer of bench/queue.c: a queue written
 * the canonical way over libpq (PGMQ's shape), on the broker's own embedded
 * PostgreSQL, with the same body size and durability as Switchyard:
 *   send:    INSERT INTO q (body) VALUES ($1)                 one row a commit
 *   batch:   INSERT INTO q (body) VALUES ($1),...,($10)       ten rows a commit
 *   receive: BEGIN; SET LOCAL synchronous_commit = off;       (leases may be
 *            UPDATE q SET visible_at = now() + 60 s, ...      lost in a crash,
 *            WHERE id IN (SELECT id ... ORDER BY id LIMIT 10  as Switchyard's)
 *                         FOR UPDATE SKIP LOCKED) RETURNING id, body; COMMIT
 *            DELETE FROM q WHERE id = ANY($1)                 synchronous commit
 * Statements are prepared once per connection; every phase runs for a fixed
 * time with C connections, one thread each, and the best of the connection
 * counts asked for is reported. */
#include "queue_peer.h"

#include <libpq-fe.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *conninfo;
static int body_len;

static int64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static PGconn *peer_connect(void)
{
    PGconn *c = PQconnectdb(conninfo);
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "peer: %s", PQerrorMessage(c));
        PQfinish(c);
        return NULL;
    }
    return c;
}

static int run(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
    if (!ok) fprintf(stderr, "peer: %s: %s", sql, PQresultErrorMessage(r));
    PQclear(r);
    return ok ? 0 : -1;
}

static int prepare(PGconn *c, const char *name, const char *sql)
{
    PGresult *r = PQprepare(c, name, sql, 0, NULL);
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!ok) fprintf(stderr, "peer: prepare %s: %s", name, PQresultErrorMessage(r));
    PQclear(r);
    return ok ? 0 : -1;
}

typedef struct {
    int kind; /* 1, 10: inserts of that many rows; 0: lease then delete */
    int64_t stop_at;
    atomic_long *done;
    atomic_int *empty;
} pjob_t;

static void *peer_worker(void *u)
{
    pjob_t *j = u;
    PGconn *c = peer_connect();
    if (!c) return NULL;
    run(c, "SET synchronous_commit = on");
    prepare(c, "ins1", "INSERT INTO bench_peer_q (body) VALUES ($1)");
    prepare(c, "ins10", "INSERT INTO bench_peer_q (body) VALUES ($1),($2),($3),($4),($5),($6),($7),($8),($9),($10)");
    prepare(c, "lease",
            "UPDATE bench_peer_q SET visible_at = now() + interval '60 seconds', receive_count = receive_count + 1 "
            "WHERE id IN (SELECT id FROM bench_peer_q WHERE visible_at <= now() ORDER BY id LIMIT 10 "
            "FOR UPDATE SKIP LOCKED) RETURNING id, body");
    prepare(c, "del", "DELETE FROM bench_peer_q WHERE id = ANY($1::bigint[])");
    char *body = malloc((size_t)body_len + 1);
    memset(body, 'x', (size_t)body_len);
    body[body_len] = 0;
    const char *p[10];
    for (int i = 0; i < 10; i++) p[i] = body;
    char ids[512];
    while (mono_us() < j->stop_at) {
        if (j->kind > 0) {
            PGresult *r = PQexecPrepared(c, j->kind == 1 ? "ins1" : "ins10", j->kind, p, NULL, NULL, 0);
            int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
            if (!ok) fprintf(stderr, "peer insert: %s", PQresultErrorMessage(r));
            PQclear(r);
            if (!ok) break;
            atomic_fetch_add(j->done, j->kind);
            continue;
        }
        /* lease: one transaction with asynchronous commit, one round trip */
        PQenterPipelineMode(c);
        PQsendQueryParams(c, "BEGIN", 0, NULL, NULL, NULL, NULL, 0);
        PQsendQueryParams(c, "SET LOCAL synchronous_commit = off", 0, NULL, NULL, NULL, NULL, 0);
        PQsendQueryPrepared(c, "lease", 0, NULL, NULL, NULL, 0);
        PQsendQueryParams(c, "COMMIT", 0, NULL, NULL, NULL, NULL, 0);
        PQpipelineSync(c);
        PGresult *r;
        int n = 0, ok = 1, len = 1;
        ids[0] = '{';
        for (int step = 0; step < 4; step++) { /* BEGIN, SET, lease, COMMIT */
            r = PQgetResult(c);
            if (step == 2) {
                if (PQresultStatus(r) != PGRES_TUPLES_OK) {
                    fprintf(stderr, "peer lease: %s", PQresultErrorMessage(r));
                    ok = 0;
                } else {
                    n = PQntuples(r);
                    for (int k = 0; k < n; k++)
                        len += snprintf(ids + len, sizeof ids - (size_t)len, "%s%s", k ? "," : "", PQgetvalue(r, k, 0));
                }
            }
            PQclear(r);
            while ((r = PQgetResult(c))) PQclear(r);
        }
        while ((r = PQgetResult(c))) {
            ExecStatusType st = PQresultStatus(r);
            PQclear(r);
            if (st == PGRES_PIPELINE_SYNC) break;
        }
        PQexitPipelineMode(c);
        if (!ok) break;
        if (n == 0) {
            if (atomic_fetch_add(j->empty, 1) > 8) break; /* drained */
            continue;
        }
        snprintf(ids + len, sizeof ids - (size_t)len, "}");
        const char *dp[1] = {ids};
        r = PQexecPrepared(c, "del", 1, dp, NULL, NULL, 0);
        if (PQresultStatus(r) != PGRES_COMMAND_OK) {
            fprintf(stderr, "peer delete: %s", PQresultErrorMessage(r));
            PQclear(r);
            break;
        }
        PQclear(r);
        atomic_fetch_add(j->done, n);
    }
    free(body);
    PQfinish(c);
    return NULL;
}

static double phase(int kind, int conns, double seconds)
{
    pthread_t th[64];
    pjob_t jobs[64];
    atomic_long done = 0;
    atomic_int empty = 0;
    if (conns > 64) conns = 64;
    int64_t t0 = mono_us();
    for (int i = 0; i < conns; i++) {
        jobs[i] = (pjob_t){.kind = kind, .stop_at = t0 + (int64_t)(seconds * 1e6), .done = &done, .empty = &empty};
        pthread_create(&th[i], NULL, peer_worker, &jobs[i]);
    }
    for (int i = 0; i < conns; i++) pthread_join(th[i], NULL);
    return (double)atomic_load(&done) / ((double)(mono_us() - t0) / 1e6);
}

static long peer_count(PGconn *c)
{
    PGresult *r = PQexec(c, "SELECT count(*) FROM bench_peer_q");
    long n = PQresultStatus(r) == PGRES_TUPLES_OK ? atol(PQgetvalue(r, 0, 0)) : -1;
    PQclear(r);
    return n;
}

int peer_run(const char *ci, int body, const int *conns, int nconns, double seconds, peer_result_t *out)
{
    conninfo = ci;
    body_len = body;
    memset(out, 0, sizeof *out);
    PGconn *c = peer_connect();
    if (!c) return -1;
    if (run(c, "DROP TABLE IF EXISTS bench_peer_q") < 0 ||
        run(c, "CREATE TABLE bench_peer_q (id bigserial PRIMARY KEY, visible_at timestamptz NOT NULL DEFAULT now(), "
               "enqueued_at timestamptz NOT NULL DEFAULT now(), receive_count integer NOT NULL DEFAULT 0, "
               "body text NOT NULL)") < 0 ||
        run(c, "CREATE INDEX ON bench_peer_q (visible_at)") < 0) {
        PQfinish(c);
        return -1;
    }
    for (int i = 0; i < nconns; i++) {
        cpu_mark_t m;
        cpu_use_t u;
        cpu_mark(&m);
        double r = phase(1, conns[i], seconds);
        cpu_since(&m, &u);
        printf("peer INSERT 1 row/tx:   %9.0f rows/s  (%d connections)\n", r, conns[i]);
        fflush(stdout);
        cpu_print("peer", &u, r * u.wall_s);
        if (r > out->insert1) out->insert1 = r, out->insert1_conns = conns[i], out->insert1_cpu = u;
    }
    for (int i = 0; i < nconns; i++) {
        cpu_mark_t m;
        cpu_use_t u;
        cpu_mark(&m);
        double r = phase(10, conns[i], seconds);
        cpu_since(&m, &u);
        printf("peer INSERT 10 rows/tx: %9.0f rows/s  (%d connections)\n", r, conns[i]);
        fflush(stdout);
        cpu_print("peer", &u, r * u.wall_s);
        if (r > out->insert10) out->insert10 = r, out->insert10_conns = conns[i], out->insert10_cpu = u;
    }
    for (int i = 0; i < nconns; i++) {
        long before = peer_count(c);
        cpu_mark_t m;
        cpu_use_t u;
        cpu_mark(&m);
        double r = phase(0, conns[i], seconds);
        cpu_since(&m, &u);
        printf("peer lease 10 + DELETE: %9.0f rows/s  (%d connections, %ld rows queued at start)\n", r, conns[i],
               before);
        fflush(stdout);
        cpu_print("peer", &u, r * u.wall_s);
        if (r > out->lease) out->lease = r, out->lease_conns = conns[i], out->lease_cpu = u;
    }
    run(c, "DROP TABLE IF EXISTS bench_peer_q");
    PQfinish(c);
    return 0;
}
