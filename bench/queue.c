/* bench/queue.c - SQS load generator over keep-alive HTTP/1.1 (JSON protocol).
 * usage: bench-queue URL [--clients C] [--messages N] [--body BYTES]
 * Phases: single SendMessage, SendMessageBatch(10), ReceiveMessage(10) +
 * DeleteMessageBatch, end-to-end send->receive latency, send latency at half
 * the measured peak. Last line: one JSON object of figures. */
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
#include <time.h>
#include <unistd.h>

static char host[64] = "127.0.0.1";
static int port = 4566;
static char queue_url[256];
static int body_bytes = 256;

static int64_t now_us(void)
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

typedef struct {
    int fd;
    char *buf;
    size_t cap;
} conn_t;

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

/* One request; returns the body (in c->buf, NUL-terminated) and status. */
static int call(conn_t *c, const char *action, const char *body, size_t blen, char **resp)
{
    char head[512];
    int hn = snprintf(head, sizeof head,
                      "POST / HTTP/1.1\r\nHost: %s:%d\r\nContent-Type: application/x-amz-json-1.0\r\n"
                      "X-Amz-Target: AmazonSQS.%s\r\nContent-Length: %zu\r\n\r\n",
                      host, port, action, blen);
    for (int attempt = 0; attempt < 2; attempt++) {
        if (c->fd < 0 && conn_open(c) < 0) return -1;
        if (write(c->fd, head, (size_t)hn) != hn || write(c->fd, body, blen) != (ssize_t)blen) goto reconnect;
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

/* ---------------------------------------------------------- stats */
typedef struct {
    int64_t *v;
    size_t n, cap;
    pthread_mutex_t mu;
} lat_t;
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
static double pct(lat_t *l, double p)
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
    long count;      /* messages this client handles */
    int batch;       /* 1 or 10 */
    double rate;     /* per-client msgs/s limit, 0 = none */
    lat_t *lat;
    atomic_long *done;
    long target;
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

static void *sender(void *u)
{
    job_t *j = u;
    conn_t c = {.fd = -1};
    char *req = malloc((size_t)body_bytes * 12 + 4096);
    int64_t start = now_us();
    for (long i = 0; i < j->count; i += j->batch) {
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
            int n = sprintf(req, "{\"QueueUrl\":\"%s\",\"MessageBody\":\"%s\"}", queue_url, b);
            free(b);
            st = call(&c, "SendMessage", req, (size_t)n, &resp);
        } else {
            int n = sprintf(req, "{\"QueueUrl\":\"%s\",\"Entries\":[", queue_url);
            for (int k = 0; k < j->batch; k++) {
                char *b = make_body(wall_us());
                n += sprintf(req + n, "%s{\"Id\":\"m%d\",\"MessageBody\":\"%s\"}", k ? "," : "", k, b);
                free(b);
            }
            n += sprintf(req + n, "]}");
            st = call(&c, "SendMessageBatch", req, (size_t)n, &resp);
        }
        if (st != 200) {
            fprintf(stderr, "send failed: %d %s\n", st, st > 0 ? resp : "");
            break;
        }
        lat_add(j->lat, now_us() - t0);
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
    while (atomic_load(j->done) < j->target && now_us() < j->stop_at) {
        int n = snprintf(req, sizeof req,
                         "{\"QueueUrl\":\"%s\",\"MaxNumberOfMessages\":10,\"WaitTimeSeconds\":1,\"VisibilityTimeout\":60}",
                         queue_url);
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
            if (++idle > 3) break;
            continue;
        }
        idle = 0;
        int dn = sprintf(del, "{\"QueueUrl\":\"%s\",\"Entries\":[", queue_url);
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
    }
    free(del);
    if (c.fd >= 0) close(c.fd);
    free(c.buf);
    if (getenv("BENCH_DEBUG")) fprintf(stderr, "receiver %d: %d empty polls\n", j->id, empties);
    return NULL;
}

static double run_senders(int clients, long total, int batch, double rate, lat_t *lat)
{
    pthread_t th[256];
    job_t jobs[256];
    atomic_long done = 0;
    int64_t t0 = now_us();
    for (int i = 0; i < clients; i++) {
        jobs[i] = (job_t){.id = i, .count = total / clients, .batch = batch, .rate = rate / clients, .lat = lat,
                          .done = &done};
        pthread_create(&th[i], NULL, sender, &jobs[i]);
    }
    for (int i = 0; i < clients; i++) pthread_join(th[i], NULL);
    double secs = (double)(now_us() - t0) / 1e6;
    return (double)atomic_load(&done) / secs;
}

static double run_receivers(int clients, long total, lat_t *lat, long *got)
{
    pthread_t th[256];
    job_t jobs[256];
    atomic_long done = 0;
    int64_t t0 = now_us();
    for (int i = 0; i < clients; i++) {
        jobs[i] = (job_t){.id = i, .lat = lat, .done = &done, .target = total, .stop_at = t0 + 120 * 1000000LL};
        pthread_create(&th[i], NULL, receiver, &jobs[i]);
    }
    for (int i = 0; i < clients; i++) pthread_join(th[i], NULL);
    double secs = (double)(now_us() - t0) / 1e6;
    *got = atomic_load(&done);
    return (double)*got / secs;
}

static void create_queue(const char *name)
{
    conn_t c = {.fd = -1};
    char req[256], *resp;
    int n = snprintf(req, sizeof req, "{\"QueueName\":\"%s\"}", name);
    if (call(&c, "CreateQueue", req, (size_t)n, &resp) != 200) {
        fprintf(stderr, "CreateQueue failed\n");
        exit(1);
    }
    json_t *r = json_loads(resp, 0, NULL);
    snprintf(queue_url, sizeof queue_url, "%s", json_string_value(json_object_get(r, "QueueUrl")));
    json_decref(r);
    n = snprintf(req, sizeof req, "{\"QueueUrl\":\"%s\"}", queue_url);
    call(&c, "PurgeQueue", req, (size_t)n, &resp);
    close(c.fd);
    free(c.buf);
}

int main(int argc, char **argv)
{
    int clients = 32;
    long n = 20000;
    const char *url = argc > 1 ? argv[1] : "http://127.0.0.1:4566";
    for (int i = 2; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--clients")) clients = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--messages")) n = atol(argv[i + 1]);
        else if (!strcmp(argv[i], "--body")) body_bytes = atoi(argv[i + 1]);
    }
    if (clients > 256) clients = 256;
    sscanf(url, "http://%63[^:]:%d", host, &port);
    char qname[64];
    snprintf(qname, sizeof qname, "bench-%ld", (long)getpid());
    create_queue(qname);
    lat_t lat = {.mu = PTHREAD_MUTEX_INITIALIZER};
    printf("bench/queue: %s, %d clients, %ld messages per phase, %d-byte bodies\n", url, clients, n, body_bytes);

    bool e2e_only = getenv("BENCH_E2E_ONLY") != NULL;
    double send1 = e2e_only ? 0 : run_senders(clients, n, 1, 0, &lat);
    double send1_p50 = pct(&lat, 0.5), send1_p99 = pct(&lat, 0.99);
    printf("send (single):        %9.0f msgs/s  p50 %.2f ms  p99 %.2f ms\n", send1, send1_p50, send1_p99);
    lat_reset(&lat);
    double send10 = e2e_only ? 0 : run_senders(clients, n * 5, 10, 0, &lat);
    printf("send (batch of 10):   %9.0f msgs/s  p50 %.2f ms  p99 %.2f ms (per request)\n", send10, pct(&lat, 0.5),
           pct(&lat, 0.99));
    lat_reset(&lat);
    long got = 0;
    double recv = e2e_only ? 0 : run_receivers(clients, n * 6, NULL, &got);
    printf("receive+delete (10):  %9.0f msgs/s  (%ld messages)\n", recv, got);

    /* end to end: producers and consumers at once */
    lat_t e2e = {.mu = PTHREAD_MUTEX_INITIALIZER};
    pthread_t prod;
    struct {
        int clients;
        long n;
        lat_t *lat;
    } pa = {clients / 2 > 0 ? clients / 2 : 1, n, &lat};
    void *(*prod_fn)(void *) = NULL;
    (void)prod_fn;
    int64_t t0 = now_us();
    job_t pj[128];
    pthread_t pth[128];
    atomic_long pdone = 0;
    for (int i = 0; i < pa.clients; i++) {
        pj[i] = (job_t){.count = n / pa.clients, .batch = 1, .lat = &lat, .done = &pdone};
        pthread_create(&pth[i], NULL, sender, &pj[i]);
    }
    long got2 = 0;
    double e2e_rate = run_receivers(clients / 2 > 0 ? clients / 2 : 1, (n / pa.clients) * pa.clients, &e2e, &got2);
    for (int i = 0; i < pa.clients; i++) pthread_join(pth[i], NULL);
    (void)prod;
    if (getenv("BENCH_DEBUG"))
        fprintf(stderr, "e2e: receivers done after %.2fs with %ld, producers sent %ld\n",
                (double)(now_us() - t0) / 1e6, got2, atomic_load(&pdone));
    double e2e_secs = (double)(now_us() - t0) / 1e6;
    printf("end-to-end:           %9.0f msgs/s  send->receive p50 %.2f ms  p99 %.2f ms (send p50 %.2f ms)\n",
           (double)got2 / e2e_secs, pct(&e2e, 0.5), pct(&e2e, 0.99), pct(&lat, 0.5));
    if (e2e_only) return 0;
    (void)e2e_rate;

    /* send latency at half the measured single-send peak */
    lat_reset(&lat);
    double half = send1 / 2;
    double half_rate = run_senders(clients, (long)(half * 5 > n ? n : half * 5), 1, half, &lat);
    printf("send at half peak:    %9.0f msgs/s  p50 %.2f ms  p99 %.2f ms\n", half_rate, pct(&lat, 0.5), pct(&lat, 0.99));
    double hp50 = pct(&lat, 0.5), hp99 = pct(&lat, 0.99);
    /* drain what the half-peak phase left */
    run_receivers(4, (long)(half * 5 > n ? n : half * 5), NULL, &got);

    printf("{\"clients\":%d,\"messages\":%ld,\"body_bytes\":%d,\"send_msgs_per_s\":%.0f,\"send_p50_ms\":%.3f,"
           "\"send_p99_ms\":%.3f,\"send_batch10_msgs_per_s\":%.0f,\"receive_delete_batch10_msgs_per_s\":%.0f,"
           "\"end_to_end_msgs_per_s\":%.0f,\"send_to_receive_p50_ms\":%.3f,\"send_to_receive_p99_ms\":%.3f,"
           "\"half_peak_send_msgs_per_s\":%.0f,\"half_peak_send_p50_ms\":%.3f,\"half_peak_send_p99_ms\":%.3f}\n",
           clients, n, body_bytes, send1, send1_p50, send1_p99, send10, recv, (double)got2 / e2e_secs, pct(&e2e, 0.5),
           pct(&e2e, 0.99), half_rate, hp50, hp99);
    return 0;
}
