/* bench/queue_depth.c - the cost-at-depth and many-queue phases of
 * bench/queue.c (issue 15).
 *
 * Depth (--depth N [--churn-s S]): first the three figures on a new, empty
 * queue (the reference, measured right before); then one new standard queue is filled with N
 * messages by SQL straight into the store's table (INSERT ... SELECT
 * generate_series, 100,000 rows a transaction, then VACUUM ANALYZE, the
 * state autovacuum's insert threshold brings a queue filled by sends to, and
 * a CHECKPOINT, so the load's writes are not paid in the phases) -
 * only to save time: every measured phase goes through the HTTP API. Then
 * the three SQS figures (SendMessage, SendMessageBatch(10),
 * ReceiveMessage(10)+DeleteMessageBatch) on that queue; then S seconds of
 * churn at half the empty-queue single-send peak (clients/2 senders and
 * clients/2 receivers, both paced at that rate, so the depth stays put);
 * then the three figures again. The sizes of sy_messages and of each of its
 * indexes (and live/dead tuples, autovacuum runs) are printed after the
 * load, every minute of churn, after the churn and at the end.
 *
 * Many queues (--queues N): N standard queues created over the API, then
 * the three figures with every request going to the next queue of the
 * client's stride (receives without long polling).
 *
 * Ratios are to the run's own empty, single-queue figures. */
#include <jansson.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "queue_bench.h"

static double ratio(double a, double b)
{
    return b > 0 ? a / b : 0;
}

static PGresult *q(PGconn *c, const char *sql, int n, const char *const *p)
{
    PGresult *r = PQexecParams(c, sql, n, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK) {
        fprintf(stderr, "bench/queue depth: %s: %s", sql, PQresultErrorMessage(r));
        PQclear(r);
        return NULL;
    }
    return r;
}

static void mb(char *out, size_t n, const char *bytes)
{
    snprintf(out, n, "%.1f MB", atof(bytes) / 1048576.0);
}

/* print the sizes; append them to json under key */
static void sizes(PGconn *c, const char *label, const char *key, char *json, size_t cap)
{
    PGresult *r = q(c,
                    "SELECT pg_relation_size('sy_messages'), pg_total_relation_size('sy_messages'), "
                    "  coalesce(s.n_live_tup, 0), coalesce(s.n_dead_tup, 0), coalesce(s.autovacuum_count, 0), "
                    "  coalesce(s.vacuum_count, 0) "
                    "FROM pg_stat_user_tables s WHERE s.relid = 'sy_messages'::regclass",
                    0, NULL);
    PGresult *ix = q(c,
                     "SELECT c.relname, pg_relation_size(c.oid) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                     "WHERE i.indrelid = 'sy_messages'::regclass ORDER BY 1",
                     0, NULL);
    if (!r || !ix || PQntuples(r) != 1) {
        PQclear(r);
        PQclear(ix);
        return;
    }
    char heap[32], total[32], one[32];
    mb(heap, sizeof heap, PQgetvalue(r, 0, 0));
    mb(total, sizeof total, PQgetvalue(r, 0, 1));
    printf("sizes %-22s sy_messages heap %s, total %s;", label, heap, total);
    size_t k = strlen(json);
    k += (size_t)snprintf(json + k, cap - k, ",\"%s\":{\"heap_bytes\":%s,\"total_bytes\":%s", key,
                          PQgetvalue(r, 0, 0), PQgetvalue(r, 0, 1));
    for (int i = 0; i < PQntuples(ix); i++) {
        mb(one, sizeof one, PQgetvalue(ix, i, 1));
        printf(" %s %s%s", PQgetvalue(ix, i, 0), one, i + 1 < PQntuples(ix) ? "," : ";");
        k += (size_t)snprintf(json + k, cap - k, ",\"%s_bytes\":%s", PQgetvalue(ix, i, 0), PQgetvalue(ix, i, 1));
    }
    printf(" live %s dead %s, autovacuums %s\n", PQgetvalue(r, 0, 2), PQgetvalue(r, 0, 3), PQgetvalue(r, 0, 4));
    snprintf(json + k, cap - k, ",\"live_tuples\":%s,\"dead_tuples\":%s,\"autovacuums\":%s}", PQgetvalue(r, 0, 2),
             PQgetvalue(r, 0, 3), PQgetvalue(r, 0, 4));
    fflush(stdout);
    PQclear(r);
    PQclear(ix);
}

static void loadavg(char *out, size_t n)
{
    FILE *f = fopen("/proc/loadavg", "r");
    out[0] = 0;
    if (f && fgets(out, (int)n, f)) out[strcspn(out, " ")] = 0;
    if (f) fclose(f);
}

/* the three figures on the queues of p (send1, send10, receive+delete) */
static trio_t trio(phase_t p, const char *label)
{
    trio_t t;
    char la[32];
    p.batch = 1;
    t.send1 = phase_send(&p);
    p.batch = 10;
    t.send10 = phase_send(&p);
    long got = 0;
    t.recv = phase_receive(&p, &got);
    loadavg(la, sizeof la);
    printf("%-22s send %9.0f  batch10 %9.0f  receive+delete %9.0f msgs/s  (load %s)\n", label, t.send1, t.send10,
           t.recv, la);
    fflush(stdout);
    return t;
}

static void trio_json(char *json, size_t cap, const char *key, const trio_t *t, const trio_t *ref)
{
    size_t k = strlen(json);
    snprintf(json + k, cap - k,
             ",\"%s_send_msgs_per_s\":%.0f,\"%s_send_batch10_msgs_per_s\":%.0f,"
             "\"%s_receive_delete_msgs_per_s\":%.0f,\"ratio_%s_send\":%.3f,\"ratio_%s_batch10\":%.3f,"
             "\"ratio_%s_receive_delete\":%.3f",
             key, t->send1, key, t->send10, key, t->recv, key, ratio(t->send1, ref->send1), key,
             ratio(t->send10, ref->send10), key, ratio(t->recv, ref->recv));
}

typedef struct {
    const phase_t *p;
    double rate;
} send_job_t;
static void *send_thread(void *u)
{
    send_job_t *j = u;
    j->rate = phase_send(j->p);
    return NULL;
}

static int64_t queue_id(PGconn *c, const char *name)
{
    const char *p[1] = {name};
    PGresult *r = q(c, "SELECT id FROM sy_queues WHERE name = $1", 1, p);
    int64_t id = r && PQntuples(r) == 1 ? atoll(PQgetvalue(r, 0, 0)) : -1;
    PQclear(r);
    return id;
}

static int load(PGconn *c, int64_t qid, long depth)
{
    char qs[24], from[24], to[24], len[16];
    snprintf(qs, sizeof qs, "%lld", (long long)qid);
    snprintf(len, sizeof len, "%d", body_bytes);
    int64_t t0 = now_us();
    for (long at = 0; at < depth; at += 100000) {
        snprintf(from, sizeof from, "%ld", at + 1);
        snprintf(to, sizeof to, "%ld", at + 100000 < depth ? at + 100000 : depth);
        const char *p[4] = {qs, from, to, len};
        PGresult *r = q(c,
                        "INSERT INTO sy_messages (queue_id, visible_at, sent_at, msg_uuid, md5_body, body) "
                        "SELECT $1::bigint, now(), now(), gen_random_uuid(), md5(b), b FROM "
                        "(SELECT g::text || '|' || repeat('x', greatest($4::int - length(g::text) - 1, 0)) AS b "
                        " FROM generate_series($2::bigint, $3::bigint) g) s",
                        4, p);
        if (!r) return -1;
        PQclear(r);
    }
    PGresult *r = q(c, "VACUUM ANALYZE sy_messages", 0, NULL);
    if (!r) return -1;
    PQclear(r);
    /* the load's (and the vacuum's) dirty pages written now, not during the
     * measured phases: the queue was filled long before, as a deep one is */
    int64_t t1 = now_us();
    r = q(c, "CHECKPOINT", 0, NULL);
    if (!r) return -1;
    PQclear(r);
    printf("loaded %ld messages by SQL (INSERT ... SELECT, then VACUUM ANALYZE) in %.1f s, CHECKPOINT %.1f s\n",
           depth, (double)(t1 - t0) / 1e6, (double)(now_us() - t1) / 1e6);
    return 0;
}

int depth_run(const char *conninfo, long depth, double churn_s, int clients, double secs, const trio_t *run_ref,
              char *json, size_t cap)
{
    PGconn *c = PQconnectdb(conninfo);
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "bench/queue depth: %s", PQerrorMessage(c));
        PQfinish(c);
        return -1;
    }
    char name[64], url[256];
    /* the reference: the three figures on an empty queue right before */
    snprintf(name, sizeof name, "bench-%ld-empty", (long)getpid());
    create_queue(name, false, url, sizeof url);
    phase_t pe = {.url = url, .clients = clients, .secs = secs};
    trio_t empty_t = trio(pe, "empty queue:");
    const trio_t *empty = &empty_t;
    if (run_ref && run_ref->send1 > 0)
        printf("(the run's first empty-queue phases: send %.0f, batch10 %.0f, receive+delete %.0f msgs/s)\n",
               run_ref->send1, run_ref->send10, run_ref->recv);
    trio_json(json, cap, "empty", empty, empty);
    snprintf(name, sizeof name, "bench-%ld-depth", (long)getpid());
    create_queue(name, false, url, sizeof url);
    int64_t qid = queue_id(c, name);
    sizes(c, "(before the load):", "sizes_before_load", json, cap);
    if (qid < 0 || load(c, qid, depth) < 0) {
        PQfinish(c);
        return -1;
    }
    sizes(c, "(loaded):", "sizes_loaded", json, cap);
    phase_t p = {.url = url, .clients = clients, .secs = secs};
    char label[64];
    snprintf(label, sizeof label, "at depth %ld:", depth);
    trio_t at = trio(p, label);
    sizes(c, "(after the depth phases):", "sizes_after_depth_phases", json, cap);

    trio_t after = {0};
    if (churn_s > 0) {
        /* churn: senders and receivers together, both paced at half peak */
        double half = empty->send1 / 2, sent = 0, recvd = 0;
        int h = clients / 2 > 0 ? clients / 2 : 1;
        printf("churn: %.0f s at %.0f msgs/s (half the empty-queue single-send peak), %d senders + %d receivers\n",
               churn_s, half, h, h);
        fflush(stdout);
        for (double done = 0; done < churn_s; done += 60) {
            double slice = churn_s - done < 60 ? churn_s - done : 60;
            phase_t ps = {.url = url, .clients = h, .secs = slice, .batch = 1, .rate = half};
            phase_t pr = {.url = url, .clients = h, .secs = slice, .rate = half};
            pthread_t st;
            send_job_t sj = {&ps, 0};
            /* the senders on a thread of their own, the receivers here */
            pthread_create(&st, NULL, send_thread, &sj);
            long got = 0;
            double rr = phase_receive(&pr, &got);
            pthread_join(st, NULL);
            sent += sj.rate * slice;
            recvd += rr * slice;
            char l[48];
            snprintf(l, sizeof l, "(churn %.0f s):", done + slice);
            sizes(c, l, "sizes_churn_last", json, cap);
            /* keep only the last minute's sizes in the JSON */
            char *prev = strstr(json, ",\"sizes_churn_last\"");
            char *last = prev ? strstr(prev + 1, ",\"sizes_churn_last\"") : NULL;
            if (last) memmove(prev, last, strlen(last) + 1);
        }
        char la[32];
        loadavg(la, sizeof la);
        printf("churn done: sent %.0f msgs/s, received+deleted %.0f msgs/s on average (load %s)\n", sent / churn_s,
               recvd / churn_s, la);
        size_t k = strlen(json);
        snprintf(json + k, cap - k, ",\"churn_s\":%.0f,\"churn_target_msgs_per_s\":%.0f,\"churn_send_msgs_per_s\":%.0f,"
                 "\"churn_receive_delete_msgs_per_s\":%.0f", churn_s, half, sent / churn_s, recvd / churn_s);
        sizes(c, "(after the churn):", "sizes_after_churn", json, cap);
        after = trio(p, "after the churn:");
        sizes(c, "(end):", "sizes_end", json, cap);
    }
    printf("depth ratios to the empty queue: send %.2f, batch %.2f, receive+delete %.2f", ratio(at.send1, empty->send1),
           ratio(at.send10, empty->send10), ratio(at.recv, empty->recv));
    if (churn_s > 0)
        printf("; after the churn: send %.2f, batch %.2f, receive+delete %.2f", ratio(after.send1, empty->send1),
               ratio(after.send10, empty->send10), ratio(after.recv, empty->recv));
    printf("\n");
    size_t k = strlen(json);
    snprintf(json + k, cap - k, ",\"depth\":%ld", depth);
    trio_json(json, cap, "depth", &at, empty);
    if (churn_s > 0) trio_json(json, cap, "churned", &after, empty);
    PQfinish(c);
    return 0;
}

/* ------------------------------------------------------- many queues */
typedef struct {
    int from, to;
    char **urls;
    const char *prefix;
} mk_t;

static void *make_queues(void *u)
{
    mk_t *m = u;
    conn_t c = {.fd = -1};
    for (int i = m->from; i < m->to; i++) {
        char req[256], *resp;
        int n = snprintf(req, sizeof req, "{\"QueueName\":\"%s-%d\"}", m->prefix, i);
        if (call(&c, "CreateQueue", req, (size_t)n, &resp) != 200) {
            fprintf(stderr, "CreateQueue failed: %s\n", resp);
            exit(1);
        }
        json_t *r = json_loads(resp, 0, NULL);
        m->urls[i] = strdup(json_string_value(json_object_get(r, "QueueUrl")));
        json_decref(r);
    }
    if (c.fd >= 0) close(c.fd);
    free(c.buf);
    return NULL;
}

int many_queues_run(int nqueues, int clients, double secs, const trio_t *one_queue, char *json, size_t cap)
{
    char prefix[64];
    snprintf(prefix, sizeof prefix, "bench-%ld-m", (long)getpid());
    char **urls = calloc((size_t)nqueues, sizeof *urls);
    pthread_t th[32];
    mk_t mk[32];
    int nt = nqueues < 32 ? nqueues : 32;
    int64_t t0 = now_us();
    for (int i = 0; i < nt; i++) {
        mk[i] = (mk_t){nqueues * i / nt, nqueues * (i + 1) / nt, urls, prefix};
        pthread_create(&th[i], NULL, make_queues, &mk[i]);
    }
    for (int i = 0; i < nt; i++) pthread_join(th[i], NULL);
    printf("created %d queues in %.1f s\n", nqueues, (double)(now_us() - t0) / 1e6);
    phase_t p = {.urls = (const char *const *)urls, .nurls = nqueues, .clients = clients, .secs = secs};
    char label[64];
    snprintf(label, sizeof label, "over %d queues:", nqueues);
    trio_t t = trio(p, label);
    printf("many-queue ratios to one queue: send %.2f, batch %.2f, receive+delete %.2f\n",
           ratio(t.send1, one_queue->send1), ratio(t.send10, one_queue->send10), ratio(t.recv, one_queue->recv));
    size_t k = strlen(json);
    snprintf(json + k, cap - k, ",\"queues\":%d", nqueues);
    trio_json(json, cap, "queues", &t, one_queue);
    for (int i = 0; i < nqueues; i++) free(urls[i]);
    free(urls);
    return 0;
}
