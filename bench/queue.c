/* bench/queue.c - SQS load generator over keep-alive HTTP/1.1 (JSON protocol).
 * usage: bench-queue URL [--clients C] [--seconds S] [--body BYTES] [--quick]
 *                        [--pg CONNINFO] [--peer-conns 4,16,32] [--fifo-groups G]
 *                        [--queues N] [--depth N [--churn-s S]]
 * Phases (each runs S seconds, default 10; --quick: 2): single SendMessage,
 * SendMessageBatch(10), ReceiveMessage(10) + DeleteMessageBatch, the same
 * send-batch/receive+delete on a FIFO queue with G message groups (100),
 * end-to-end send->receive latency, send latency at half the measured peak.
 * With --pg, then the plain-SQL peer (bench/queue_peer.c) on the same
 * PostgreSQL. --queues and --depth add the many-queue and cost-at-depth
 * phases of bench/queue_depth.c (before the peer). Last line: one JSON
 * object of figures and ratios to the peer (and to the empty, single queue). */
#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "queue_bench.h"
#include "cpu_use.h"
#include "queue_peer.h"

char host[64] = "127.0.0.1";
int port = 4566;
static char queue_url[256];
int body_bytes = 256;

int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}
static int64_t wall_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int conn_open(conn_t *c)
{
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, host, &sa.sin_addr);
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(c->fd, (struct sockaddr *)&sa, sizeof sa) < 0) return -1;
    if (!c->buf) {
        c->cap = 1 << 20;
        c->buf = malloc(c->cap);
    }
    return 0;
}

/* One request of head and body, written at once (as SDKs do: one segment
 * for a small request); returns the body (in c->buf, NUL-terminated) and
 * status. */
static int exchange(conn_t *c, const char *head, size_t hn, const char *body, size_t blen, char **resp)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        if (c->fd < 0 && conn_open(c) < 0) return -1;
        struct iovec iov[2] = {{(void *)head, hn}, {(void *)body, blen}};
        if (writev(c->fd, iov, blen ? 2 : 1) != (ssize_t)(hn + blen)) goto reconnect;
        size_t got = 0;
        ssize_t r;
        char *hdr_end = NULL;
        while (!(hdr_end = memmem(c->buf, got, "\r\n\r\n", 4))) {
            r = read(c->fd, c->buf + got, c->cap - got - 1);
            if (r <= 0) goto reconnect;
            got += (size_t)r;
        }
        c->buf[got] = 0;
        int status = atoi(c->buf + 9);
        char *cl = strcasestr(c->buf, "Content-Length:");
        size_t len = cl && cl < hdr_end ? strtoul(cl + 15, NULL, 10) : 0;
        size_t hlen = (size_t)(hdr_end + 4 - c->buf);
        while (got < hlen + len) {
            r = read(c->fd, c->buf + got, c->cap - got - 1);
            if (r <= 0) goto reconnect;
            got += (size_t)r;
        }
        c->buf[hlen + len] = 0;
        *resp = c->buf + hlen;
        return status;
    reconnect:
        close(c->fd);
        c->fd = -1;
    }
    return -1;
}

int call(conn_t *c, const char *action, const char *body, size_t blen, char **resp)
{
    char head[512];
    int hn = snprintf(head, sizeof head,
                      "POST / HTTP/1.1\r\nHost: %s:%d\r\nContent-Type: application/x-amz-json-1.0\r\n"
                      "X-Amz-Target: AmazonSQS.%s\r\nContent-Length: %zu\r\n\r\n",
                      host, port, action, blen);
    return exchange(c, head, (size_t)hn, body, blen, resp);
}

/* ---------------------------------------------------------- stats */
static void lat_add(lat_t *l, int64_t x)
{
    pthread_mutex_lock(&l->mu);
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 4096;
        l->v = realloc(l->v, l->cap * sizeof *l->v);
    }
    l->v[l->n++] = x;
    pthread_mutex_unlock(&l->mu);
}
static int cmp64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}
double pct(lat_t *l, double p)
{
    if (!l->n) return 0;
    qsort(l->v, l->n, sizeof *l->v, cmp64);
    size_t i = (size_t)(p * (double)(l->n - 1));
    return (double)l->v[i] / 1000.0; /* ms */
}
static void lat_reset(lat_t *l)
{
    l->n = 0;
}

/* ---------------------------------------------------------- phases */
typedef struct {
    int id;
    int batch;           /* 1 or 10 */
    double rate;         /* per-client msgs/s limit, 0 = none */
    const char *url;     /* queue */
    const char *const *urls; /* or these queues, round robin (nurls > 0) */
    int nurls, clients, wait_s;
    int groups;          /* FIFO: message groups (0: standard queue) */
    lat_t *lat;
    atomic_long *done;
    atomic_long *errors;
    atomic_int *producing; /* receivers: keep polling while senders run */
    int64_t stop_at;
} job_t;

static char *make_body(int64_t stamp)
{
    char *b = malloc((size_t)body_bytes + 64);
    int n = snprintf(b, 64, "%lld|", (long long)stamp);
    memset(b + n, 'x', (size_t)(body_bytes > n ? body_bytes - n : 0));
    b[n + (body_bytes > n ? body_bytes - n : 0)] = 0;
    return b;
}

/* the FIFO fields of entry k of request i of client id */
static int fifo_fields(char *out, const job_t *j, long i, int k)
{
    if (!j->groups) return sprintf(out, "%s", "");
    return sprintf(out, ",\"MessageGroupId\":\"g%d\",\"MessageDeduplicationId\":\"c%d-%ld-%d\"",
                   (int)((j->id * 7 + i + k) % j->groups), j->id, i, k);
}

static void *sender(void *u)
{
    job_t *j = u;
    conn_t c = {.fd = -1};
    char *req = malloc((size_t)body_bytes * 12 + 8192);
    char ff[160];
    int64_t start = now_us();
    long reqs = 0;
    for (long i = 0; now_us() < j->stop_at; i += j->batch) {
        const char *url = j->nurls ? j->urls[(j->id + reqs++ * j->clients) % j->nurls] : j->url;
        if (j->rate > 0) {
            int64_t due = start + (int64_t)((double)i / j->rate * 1e6);
            int64_t w = due - now_us();
            if (w > 0) usleep((useconds_t)w);
        }
        int64_t t0 = now_us();
        char *resp;
        int st;
        if (j->batch == 1) {
            char *b = make_body(wall_us());
            fifo_fields(ff, j, i, 0);
            int n = sprintf(req, "{\"QueueUrl\":\"%s\",\"MessageBody\":\"%s\"%s}", url, b, ff);
            free(b);
            st = call(&c, "SendMessage", req, (size_t)n, &resp);
        } else {
            int n = sprintf(req, "{\"QueueUrl\":\"%s\",\"Entries\":[", url);
            for (int k = 0; k < j->batch; k++) {
                char *b = make_body(wall_us());
                fifo_fields(ff, j, i, k);
                n += sprintf(req + n, "%s{\"Id\":\"m%d\",\"MessageBody\":\"%s\"%s}", k ? "," : "", k, b, ff);
                free(b);
            }
            n += sprintf(req + n, "]}");
            st = call(&c, "SendMessageBatch", req, (size_t)n, &resp);
        }
        if (st != 200 || (j->batch > 1 && strstr(resp, "\"Failed\":[{"))) {
            if (atomic_fetch_add(j->errors, 1) < 3) fprintf(stderr, "send failed: %d %s\n", st, st > 0 ? resp : "");
            if (st != 200) break;
            continue;
        }
        if (j->lat) lat_add(j->lat, now_us() - t0);
        atomic_fetch_add(j->done, j->batch);
    }
    free(req);
    if (c.fd >= 0) close(c.fd);
    free(c.buf);
    return NULL;
}

static void *receiver(void *u)
{
    job_t *j = u;
    conn_t c = {.fd = -1};
    char req[1024];
    char *del = malloc(64 * 1024);
    int idle = 0, empties = 0;
    /* many queues: each client walks its own stride of them, without long
     * polling, and stops after a whole pass found nothing */
    int max_idle = j->nurls ? j->nurls / (j->clients ? j->clients : 1) + 3 : 2;
    long reqs = 0, mine = 0;
    int64_t start = now_us();
    while (now_us() < j->stop_at) {
        if (j->rate > 0) {
            int64_t w = start + (int64_t)((double)mine / j->rate * 1e6) - now_us();
            if (w > 0) usleep((useconds_t)w);
        }
        const char *url = j->nurls ? j->urls[(j->id + reqs++ * j->clients) % j->nurls] : j->url;
        int n = snprintf(req, sizeof req,
                         "{\"QueueUrl\":\"%s\",\"MaxNumberOfMessages\":10,\"WaitTimeSeconds\":%d,\"VisibilityTimeout\":60}",
                         url, j->nurls ? 0 : j->wait_s);
        char *resp;
        int st = call(&c, "ReceiveMessage", req, (size_t)n, &resp);
        if (st != 200) {
            fprintf(stderr, "receive failed: %d\n", st);
            break;
        }
        int64_t now = wall_us();
        json_t *r = json_loads(resp, 0, NULL);
        json_t *msgs = json_object_get(r, "Messages");
        size_t cnt = json_array_size(msgs);
        if (cnt == 0) {
            json_decref(r);
            empties++;
            if (!(j->producing && atomic_load(j->producing)) && j->rate <= 0 && ++idle > max_idle) break;
            continue;
        }
        idle = 0;
        int dn = sprintf(del, "{\"QueueUrl\":\"%s\",\"Entries\":[", url);
        for (size_t k = 0; k < cnt; k++) {
            json_t *m = json_array_get(msgs, k);
            const char *body = json_string_value(json_object_get(m, "Body"));
            if (j->lat && body) lat_add(j->lat, now - atoll(body));
            dn += sprintf(del + dn, "%s{\"Id\":\"d%zu\",\"ReceiptHandle\":\"%s\"}", k ? "," : "", k,
                          json_string_value(json_object_get(m, "ReceiptHandle")));
        }
        dn += sprintf(del + dn, "]}");
        json_decref(r);
        st = call(&c, "DeleteMessageBatch", del, (size_t)dn, &resp);
        if (st != 200) {
            fprintf(stderr, "delete failed: %d\n", st);
            break;
        }
        atomic_fetch_add(j->done, (long)cnt);
        mine += (long)cnt;
    }
    free(del);
    if (c.fd >= 0) close(c.fd);
    free(c.buf);
    if (getenv("BENCH_DEBUG")) fprintf(stderr, "receiver %d: %d empty polls\n", j->id, empties);
    return NULL;
}

/* the phases (queue_bench.h): p->clients threads, each for p->secs */
double phase_send(const phase_t *p)
{
    pthread_t th[256];
    job_t jobs[256];
    atomic_long done = 0, errors = 0;
    int64_t t0 = now_us();
    for (int i = 0; i < p->clients; i++) {
        jobs[i] = (job_t){.id = i, .batch = p->batch, .rate = p->rate / p->clients, .url = p->url, .urls = p->urls,
                          .nurls = p->nurls, .clients = p->clients, .groups = p->groups, .lat = p->lat,
                          .done = &done, .errors = &errors, .stop_at = t0 + (int64_t)(p->secs * 1e6)};
        pthread_create(&th[i], NULL, sender, &jobs[i]);
    }
    for (int i = 0; i < p->clients; i++) pthread_join(th[i], NULL);
    double el = (double)(now_us() - t0) / 1e6;
    if (atomic_load(&errors)) fprintf(stderr, "%ld failed send requests\n", (long)atomic_load(&errors));
    return (double)atomic_load(&done) / el;
}

/* Receive+delete until secs pass or the queue is drained (never, when
 * p->rate paces the receivers). */
double phase_receive(const phase_t *p, long *got)
{
    pthread_t th[256];
    job_t jobs[256];
    atomic_long done = 0;
    int64_t t0 = now_us();
    for (int i = 0; i < p->clients; i++) {
        jobs[i] = (job_t){.id = i, .url = p->url, .urls = p->urls, .nurls = p->nurls, .clients = p->clients,
                          .wait_s = 1, .rate = p->rate / p->clients, .lat = p->lat, .done = &done,
                          .producing = p->producing, .stop_at = t0 + (int64_t)(p->secs * 1e6)};
        pthread_create(&th[i], NULL, receiver, &jobs[i]);
    }
    for (int i = 0; i < p->clients; i++) pthread_join(th[i], NULL);
    double el = (double)(now_us() - t0) / 1e6;
    *got = atomic_load(&done);
    return (double)*got / el;
}

/* The HTTP floor: GET /health/live from the same clients over the same
 * keep-alive connections - no database, no JSON, no queue: what a request
 * costs the broker and this client before any queue work. */
typedef struct {
    int64_t stop_at;
    atomic_long *done;
} floor_job_t;

static void *floor_client(void *u)
{
    floor_job_t *j = u;
    conn_t c = {.fd = -1};
    char head[256];
    int hn = snprintf(head, sizeof head, "GET /health/live HTTP/1.1\r\nHost: %s:%d\r\n\r\n", host, port);
    while (now_us() < j->stop_at) {
        char *resp;
        if (exchange(&c, head, (size_t)hn, "", 0, &resp) != 200) {
            fprintf(stderr, "GET /health/live failed\n");
            break;
        }
        atomic_fetch_add(j->done, 1);
    }
    if (c.fd >= 0) close(c.fd);
    free(c.buf);
    return NULL;
}

static double phase_floor(int clients, double secs)
{
    pthread_t th[256];
    floor_job_t jobs[256];
    atomic_long done = 0;
    int64_t t0 = now_us();
    for (int i = 0; i < clients; i++) {
        jobs[i] = (floor_job_t){.stop_at = t0 + (int64_t)(secs * 1e6), .done = &done};
        pthread_create(&th[i], NULL, floor_client, &jobs[i]);
    }
    for (int i = 0; i < clients; i++) pthread_join(th[i], NULL);
    return (double)atomic_load(&done) / ((double)(now_us() - t0) / 1e6);
}

/* A phase's figure and where the cores went meanwhile. */
#define MEASURED(rate, use, expr)                                                                                  \
    do {                                                                                                           \
        cpu_mark_t m_;                                                                                             \
        cpu_mark(&m_);                                                                                             \
        (rate) = (expr);                                                                                           \
        cpu_since(&m_, &(use));                                                                                    \
    } while (0)

static double run_senders(const char *url, int groups, int clients, double secs, int batch, double rate, lat_t *lat)
{
    phase_t p = {.url = url, .groups = groups, .clients = clients, .secs = secs, .batch = batch, .rate = rate,
                 .lat = lat};
    return phase_send(&p);
}

static double run_receivers(const char *url, int clients, double secs, lat_t *lat, atomic_int *producing, long *got)
{
    phase_t p = {.url = url, .clients = clients, .secs = secs, .lat = lat, .producing = producing};
    return phase_receive(&p, got);
}

void create_queue(const char *name, bool fifo, char *url_out, size_t cap)
{
    conn_t c = {.fd = -1};
    char req[512], *resp;
    int n = snprintf(req, sizeof req, "{\"QueueName\":\"%s\"%s}", name,
                     fifo ? ",\"Attributes\":{\"FifoQueue\":\"true\",\"DeduplicationScope\":\"messageGroup\","
                            "\"FifoThroughputLimit\":\"perMessageGroupId\"}"
                          : "");
    if (call(&c, "CreateQueue", req, (size_t)n, &resp) != 200) {
        fprintf(stderr, "CreateQueue failed: %s\n", resp);
        exit(1);
    }
    json_t *r = json_loads(resp, 0, NULL);
    snprintf(url_out, cap, "%s", json_string_value(json_object_get(r, "QueueUrl")));
    json_decref(r);
    n = snprintf(req, sizeof req, "{\"QueueUrl\":\"%s\"}", url_out);
    call(&c, "PurgeQueue", req, (size_t)n, &resp);
    close(c.fd);
    free(c.buf);
}

/* join the producers, then let the receivers stop at an empty queue */
typedef struct {
    pthread_t *th;
    int n;
    atomic_int *flag;
} watch_t;
static void *watch(void *u)
{
    watch_t *w = u;
    for (int i = 0; i < w->n; i++) pthread_join(w->th[i], NULL);
    atomic_store(w->flag, 0);
    return NULL;
}

static double ratio(double a, double b)
{
    return b > 0 ? a / b : 0;
}

int main(int argc, char **argv)
{
    int clients = 32, groups = 100;
    double secs = 10;
    const char *pg = NULL, *peer_conns = "4,16,32";
    bool quick = false;
    long depth = 0;
    bool depth_only = false; /* only the depth phases (with their own empty-queue reference) */
    double churn_s = 0;
    int nqueues = 0;
    const char *phases = "send,batch,receive,fifo"; /* --phases: a subset, for profiling one phase */
    static char extra[16384];
    const char *url = argc > 1 ? argv[1] : "http://127.0.0.1:4566";
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--quick")) quick = true, secs = 2;
        else if (!strcmp(argv[i], "--depth-only")) depth_only = true;
        else if (i + 1 >= argc) break;
        else if (!strcmp(argv[i], "--clients")) clients = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--seconds")) secs = atof(argv[++i]);
        else if (!strcmp(argv[i], "--body")) body_bytes = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--pg")) pg = argv[++i];
        else if (!strcmp(argv[i], "--peer-conns")) peer_conns = argv[++i];
        else if (!strcmp(argv[i], "--fifo-groups")) groups = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--depth")) depth = atol(argv[++i]);
        else if (!strcmp(argv[i], "--churn-s")) churn_s = atof(argv[++i]);
        else if (!strcmp(argv[i], "--queues")) nqueues = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--phases")) phases = argv[++i];
        else if (!strcmp(argv[i], "--messages")) i++; /* older option: phases are timed now */
    }
    if (clients > 256) clients = 256;
    if (clients < 2) clients = 2;
    sscanf(url, "http://%63[^:]:%d", host, &port);
    char qname[64], fname[64], furl[256];
    snprintf(qname, sizeof qname, "bench-%ld", (long)getpid());
    snprintf(fname, sizeof fname, "bench-%ld.fifo", (long)getpid());
    create_queue(qname, false, queue_url, sizeof queue_url);
    lat_t lat = {.mu = PTHREAD_MUTEX_INITIALIZER};
    printf("bench/queue: %s, %d clients, %.0f s a phase, %d-byte bodies\n", url, clients, secs, body_bytes);
    fflush(stdout);

    if (depth_only) {
        if (!pg || depth <= 0) return fprintf(stderr, "--depth-only needs --depth and --pg\n"), 1;
        int rc = depth_run(pg, depth, churn_s, clients, secs, NULL, extra, sizeof extra);
        printf("{\"clients\":%d,\"seconds_per_phase\":%.0f,\"body_bytes\":%d%s}\n", clients, secs, body_bytes, extra);
        return rc < 0;
    }
    bool e2e_only = getenv("BENCH_E2E_ONLY") != NULL;
    double send1 = 0, send1_p50 = 0, send1_p99 = 0, send10 = 0, recv = 0, frecv = 0, fsend10 = 0, floor_rps = 0;
    cpu_use_t cu_send1 = {0}, cu_send10 = {0}, cu_recv = {0}, cu_frecv = {0}, cu_floor = {0};
    long got = 0;
    bool ph_send = strstr(phases, "send") != NULL, ph_batch = strstr(phases, "batch") != NULL,
         ph_recv = strstr(phases, "receive") != NULL, ph_fifo = strstr(phases, "fifo") != NULL;
    if (!e2e_only && !(ph_send && ph_batch && ph_recv && ph_fifo)) {
        /* one or more phases alone (profiling): no latency, depth or peer phases */
        double r;
        cpu_use_t u;
        if (ph_send) {
            MEASURED(r, u, run_senders(queue_url, 0, clients, secs, 1, 0, &lat));
            printf("send (single):        %9.0f msgs/s\n", r);
            cpu_print("send", &u, r * u.wall_s);
        }
        if (ph_batch) {
            MEASURED(r, u, run_senders(queue_url, 0, clients, secs, 10, 0, &lat));
            printf("send (batch of 10):   %9.0f msgs/s\n", r);
            cpu_print("batch", &u, r * u.wall_s);
        }
        if (ph_recv) {
            MEASURED(r, u, run_receivers(queue_url, clients, secs, NULL, NULL, &got));
            printf("receive+delete (10):  %9.0f msgs/s\n", r);
            cpu_print("receive+delete", &u, r * u.wall_s);
        }
        if (ph_fifo) {
            create_queue(fname, true, furl, sizeof furl);
            printf("FIFO send (batch 10): %9.0f msgs/s\n", run_senders(furl, groups, clients, secs, 10, 0, &lat));
            fflush(stdout);
            long fgot = 0;
            MEASURED(r, u, run_receivers(furl, clients, secs, NULL, NULL, &fgot));
            printf("FIFO receive+delete:  %9.0f msgs/s\n", r);
            cpu_print("FIFO receive+delete", &u, r * u.wall_s);
        }
        if (strstr(phases, "peer") && pg) {
            int conns[8], nc = 0;
            for (const char *q = peer_conns; *q && nc < 8; q = strchr(q, ',') ? strchr(q, ',') + 1 : "")
                conns[nc++] = atoi(q);
            peer_result_t peer;
            if (peer_run(pg, body_bytes, conns, nc, secs, &peer) < 0) fprintf(stderr, "peer phases failed\n");
        }
        if (strstr(phases, "floor")) {
            MEASURED(r, u, phase_floor(clients, secs));
            printf("HTTP floor (GET /health/live): %9.0f requests/s\n", r);
            cpu_print("floor", &u, r * u.wall_s);
        }
        return 0;
    }
    if (!e2e_only) {
        MEASURED(send1, cu_send1, run_senders(queue_url, 0, clients, secs, 1, 0, &lat));
        send1_p50 = pct(&lat, 0.5), send1_p99 = pct(&lat, 0.99);
        printf("send (single):        %9.0f msgs/s  p50 %.2f ms  p99 %.2f ms\n", send1, send1_p50, send1_p99);
        cpu_print("send", &cu_send1, send1 * cu_send1.wall_s);
        fflush(stdout);
        lat_reset(&lat);
        MEASURED(send10, cu_send10, run_senders(queue_url, 0, clients, secs, 10, 0, &lat));
        printf("send (batch of 10):   %9.0f msgs/s  p50 %.2f ms  p99 %.2f ms (per request)\n", send10, pct(&lat, 0.5),
               pct(&lat, 0.99));
        cpu_print("batch", &cu_send10, send10 * cu_send10.wall_s);
        fflush(stdout);
        lat_reset(&lat);
        MEASURED(recv, cu_recv, run_receivers(queue_url, clients, secs, NULL, NULL, &got));
        printf("receive+delete (10):  %9.0f msgs/s  (%ld messages)\n", recv, got);
        cpu_print("receive+delete", &cu_recv, recv * cu_recv.wall_s);
        fflush(stdout);

        create_queue(fname, true, furl, sizeof furl);
        fsend10 = run_senders(furl, groups, clients, secs, 10, 0, &lat);
        lat_reset(&lat);
        printf("FIFO send (batch 10): %9.0f msgs/s  (%d message groups)\n", fsend10, groups);
        long fgot = 0;
        MEASURED(frecv, cu_frecv, run_receivers(furl, clients, secs, NULL, NULL, &fgot));
        printf("FIFO receive+delete:  %9.0f msgs/s  (%ld messages, %.0f%% of standard)\n", frecv, fgot,
               100 * ratio(frecv, recv));
        cpu_print("FIFO receive+delete", &cu_frecv, frecv * cu_frecv.wall_s);
        MEASURED(floor_rps, cu_floor, phase_floor(clients, secs));
        printf("HTTP floor:           %9.0f requests/s (GET /health/live: no database, no JSON)\n", floor_rps);
        cpu_print("floor", &cu_floor, floor_rps * cu_floor.wall_s);
        fflush(stdout);
    }
    /* the latency phases on a queue of their own (PurgeQueue: once a minute) */
    char lname[64];
    snprintf(lname, sizeof lname, "bench-%ld-lat", (long)getpid());
    create_queue(lname, false, queue_url, sizeof queue_url);

    /* end to end: producers and consumers at once */
    lat_t e2e = {.mu = PTHREAD_MUTEX_INITIALIZER};
    int half_clients = clients / 2;
    job_t pj[128];
    pthread_t pth[128];
    atomic_long pdone = 0, perr = 0;
    atomic_int producing = 1;
    int64_t t0 = now_us();
    for (int i = 0; i < half_clients; i++) {
        pj[i] = (job_t){.id = i, .batch = 1, .url = queue_url, .lat = &lat, .done = &pdone, .errors = &perr,
                        .stop_at = t0 + (int64_t)(secs * 1e6)};
        pthread_create(&pth[i], NULL, sender, &pj[i]);
    }
    /* the receivers stop once the producers are done and the queue is empty */
    pthread_t watcher;
    watch_t wa = {pth, half_clients, &producing};
    pthread_create(&watcher, NULL, watch, &wa);
    long got2 = 0;
    run_receivers(queue_url, half_clients, secs + 30, &e2e, &producing, &got2);
    pthread_join(watcher, NULL);
    double e2e_secs = (double)(now_us() - t0) / 1e6;
    printf("end-to-end:           %9.0f msgs/s  send->receive p50 %.2f ms  p99 %.2f ms (send p50 %.2f ms)\n",
           (double)got2 / e2e_secs, pct(&e2e, 0.5), pct(&e2e, 0.99), pct(&lat, 0.5));
    fflush(stdout);
    if (e2e_only) return 0;

    /* send latency at half the measured single-send peak */
    lat_reset(&lat);
    double half = send1 / 2;
    double half_rate = run_senders(queue_url, 0, clients, secs, 1, half, &lat);
    double hp50 = pct(&lat, 0.5), hp99 = pct(&lat, 0.99);
    printf("send at half peak:    %9.0f msgs/s  p50 %.2f ms  p99 %.2f ms\n", half_rate, hp50, hp99);
    fflush(stdout);

    trio_t one = {send1, send10, recv};
    if (nqueues > 0) many_queues_run(nqueues, clients, secs, &one, extra, sizeof extra);
    if (depth > 0) {
        if (!pg) fprintf(stderr, "--depth needs --pg (the load goes in by SQL)\n");
        else if (depth_run(pg, depth, churn_s, clients, secs, &one, extra, sizeof extra) < 0)
            fprintf(stderr, "depth phases failed\n");
    }

    peer_result_t peer = {0};
    if (pg) {
        int conns[8], nc = 0;
        if (quick) conns[nc++] = clients;
        else
            for (const char *p = peer_conns; *p && nc < 8; p = strchr(p, ',') ? strchr(p, ',') + 1 : "")
                conns[nc++] = atoi(p);
        if (peer_run(pg, body_bytes, conns, nc, secs, &peer) < 0) fprintf(stderr, "peer phases failed\n");
    }
    size_t xl = strlen(extra);
    const struct {
        const char *name;
        const cpu_use_t *u;
        double rate;
    } cpu_rows[] = {{"send", &cu_send1, send1},          {"batch10", &cu_send10, send10},
                    {"receive_delete", &cu_recv, recv},  {"fifo_receive_delete", &cu_frecv, frecv},
                    {"http_floor", &cu_floor, floor_rps}, {"peer_insert1", &peer.insert1_cpu, peer.insert1},
                    {"peer_insert10", &peer.insert10_cpu, peer.insert10},
                    {"peer_lease_delete", &peer.lease_cpu, peer.lease}};
    for (size_t i = 0; i < sizeof cpu_rows / sizeof cpu_rows[0] && xl < sizeof extra; i++) {
        int w = cpu_json(extra + xl, sizeof extra - xl, cpu_rows[i].name, cpu_rows[i].u,
                         cpu_rows[i].rate * cpu_rows[i].u->wall_s);
        if (w > 0) xl += (size_t)w;
    }
    if (xl < sizeof extra)
        snprintf(extra + xl, sizeof extra - xl, ",\"http_floor_requests_per_s\":%.0f", floor_rps);
    printf("ratios to the plain-SQL peer: send %.2f, batch %.2f, receive+delete %.2f; FIFO/standard %.2f\n",
           ratio(send1, peer.insert1), ratio(send10, peer.insert10), ratio(recv, peer.lease), ratio(frecv, recv));

    printf("{\"clients\":%d,\"seconds_per_phase\":%.0f,\"body_bytes\":%d,\"send_msgs_per_s\":%.0f,\"send_p50_ms\":%.3f,"
           "\"send_p99_ms\":%.3f,\"send_batch10_msgs_per_s\":%.0f,\"receive_delete_batch10_msgs_per_s\":%.0f,"
           "\"fifo_groups\":%d,\"fifo_send_batch10_msgs_per_s\":%.0f,\"fifo_receive_delete_msgs_per_s\":%.0f,"
           "\"end_to_end_msgs_per_s\":%.0f,\"send_to_receive_p50_ms\":%.3f,\"send_to_receive_p99_ms\":%.3f,"
           "\"half_peak_send_msgs_per_s\":%.0f,\"half_peak_send_p50_ms\":%.3f,\"half_peak_send_p99_ms\":%.3f,"
           "\"peer_insert1_rows_per_s\":%.0f,\"peer_insert1_conns\":%d,\"peer_insert10_rows_per_s\":%.0f,"
           "\"peer_insert10_conns\":%d,\"peer_lease_delete_rows_per_s\":%.0f,\"peer_lease_conns\":%d,"
           "\"ratio_send_to_peer\":%.3f,\"ratio_batch10_to_peer\":%.3f,\"ratio_receive_delete_to_peer\":%.3f,"
           "\"ratio_fifo_to_standard\":%.3f%s}\n",
           clients, secs, body_bytes, send1, send1_p50, send1_p99, send10, recv, groups, fsend10, frecv,
           (double)got2 / e2e_secs, pct(&e2e, 0.5), pct(&e2e, 0.99), half_rate, hp50, hp99, peer.insert1,
           peer.insert1_conns, peer.insert10, peer.insert10_conns, peer.lease, peer.lease_conns,
           ratio(send1, peer.insert1), ratio(send10, peer.insert10), ratio(recv, peer.lease), ratio(frecv, recv), extra);
    return 0;
}
