/* bench/topic.c - SNS Publish load generator over keep-alive HTTP/1.1 (the
 * query protocol, as every SDK speaks SNS).
 * usage: bench-topic URL [--clients C] [--messages N] [--body BYTES] [--subscribers S]
 * Set-up: one standard topic with S SQS subscriptions (envelope delivery,
 * so every delivery is signed), queues created over the SQS JSON protocol,
 * and one more queue of its own for the SQS reference.
 * Phases: SendMessage and SendMessageBatch(10) into that queue (the same
 * run's SQS reference), single Publish, PublishBatch(10). The deliveries
 * are written in the publish's transaction (topic/fanout.c), so messages
 * delivered per second = those counted in the subscribed queues (exact
 * ApproximateNumberOfMessages, before and after the phase) / the phase's
 * time. Last line: one JSON object with the ratios to the SQS reference. */
#include <arpa/inet.h>
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
static int body_bytes = 256;
static char topic_arn_enc[256];
static char ref_url[256];     /* the SQS reference queue */
static char sub_urls[64][256]; /* the subscribed queues */
static int nsub_urls;
static atomic_long errors;

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
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

/* One request: target NULL = query protocol (form body). */
static int call(conn_t *c, const char *target, const char *body, size_t blen, char **resp)
{
    char head[512];
    int hn = target ? snprintf(head, sizeof head,
                               "POST / HTTP/1.1\r\nHost: %s:%d\r\nContent-Type: application/x-amz-json-1.0\r\n"
                               "X-Amz-Target: %s\r\nContent-Length: %zu\r\n\r\n",
                               host, port, target, blen)
                    : snprintf(head, sizeof head,
                               "POST / HTTP/1.1\r\nHost: %s:%d\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                               "Content-Length: %zu\r\n\r\n",
                               host, port, blen);
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

static void enc(char *out, size_t n, const char *s)
{
    size_t o = 0;
    for (; *s && o + 4 < n; s++) {
        unsigned char ch = (unsigned char)*s;
        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || strchr("-_.~", ch))
            out[o++] = (char)ch;
        else
            o += (size_t)snprintf(out + o, n - o, "%%%02X", ch);
    }
    out[o] = 0;
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
    return (double)l->v[(size_t)(p * (double)(l->n - 1))] / 1000.0;
}

typedef struct {
    long count;
    int batch;
    lat_t *lat;
    bool sqs; /* SendMessage(Batch) into ref_url instead */
} job_t;

static void *publisher(void *u)
{
    job_t *j = u;
    conn_t c = {.fd = -1};
    size_t cap = (size_t)body_bytes * 12 + 8192;
    char *req = malloc(cap), *msg = malloc((size_t)body_bytes + 1);
    memset(msg, 'x', (size_t)body_bytes);
    msg[body_bytes] = 0;
    for (long i = 0; i < j->count; i += j->batch) {
        int n;
        if (j->sqs) {
            n = snprintf(req, cap, j->batch == 1 ? "{\"QueueUrl\":\"%s\",\"MessageBody\":\"%s\"}"
                                                 : "{\"QueueUrl\":\"%s\",\"Entries\":[",
                         ref_url, msg);
            for (int k = 1; j->batch > 1 && k <= j->batch; k++)
                n += snprintf(req + n, cap - (size_t)n, "%s{\"Id\":\"m%d\",\"MessageBody\":\"%s\"}",
                              k > 1 ? "," : "", k, msg);
            if (j->batch > 1) n += snprintf(req + n, cap - (size_t)n, "]}");
        } else if (j->batch == 1) {
            n = snprintf(req, cap, "Action=Publish&Version=2010-03-31&TopicArn=%s&Message=%s", topic_arn_enc, msg);
        } else {
            n = snprintf(req, cap, "Action=PublishBatch&Version=2010-03-31&TopicArn=%s", topic_arn_enc);
            for (int k = 1; k <= j->batch; k++)
                n += snprintf(req + n, cap - (size_t)n,
                              "&PublishBatchRequestEntries.member.%d.Id=m%d"
                              "&PublishBatchRequestEntries.member.%d.Message=%s",
                              k, k, k, msg);
        }
        char *resp;
        int64_t t0 = now_us();
        int st = call(&c, j->sqs ? (j->batch == 1 ? "AmazonSQS.SendMessage" : "AmazonSQS.SendMessageBatch") : NULL,
                      req, (size_t)n, &resp);
        lat_add(j->lat, now_us() - t0);
        if (st != 200 || (j->batch > 1 && (strstr(resp, "<Failed><member>") || strstr(resp, "\"Failed\":[{"))))
            atomic_fetch_add(&errors, 1);
    }
    if (c.fd >= 0) close(c.fd);
    free(c.buf);
    free(req);
    free(msg);
    return NULL;
}

static double run(int clients, long n, int batch, bool sqs, lat_t *lat)
{
    pthread_t th[256];
    job_t jobs[256];
    int64_t t0 = now_us();
    for (int i = 0; i < clients; i++) {
        jobs[i] = (job_t){n / clients, batch, lat, sqs};
        pthread_create(&th[i], NULL, publisher, &jobs[i]);
    }
    for (int i = 0; i < clients; i++) pthread_join(th[i], NULL);
    return (double)(n / clients * clients) / ((double)(now_us() - t0) / 1e6);
}

/* the QueueUrl of a CreateQueue answer */
static void queue_url_of(const char *resp, char *out)
{
    const char *u = strstr(resp, "\"QueueUrl\":\"");
    out[0] = 0;
    if (!u) return;
    u += 12;
    size_t k = 0;
    for (; *u && *u != '"' && k < 255; u++)
        if (*u != '\\') out[k++] = *u;
    out[k] = 0;
}

/* messages in the subscribed queues (exact: a count(*) per queue) */
static long delivered(void)
{
    conn_t c = {.fd = -1};
    long total = 0;
    for (int i = 0; i < nsub_urls; i++) {
        char req[512], *resp;
        int n = snprintf(req, sizeof req,
                         "{\"QueueUrl\":\"%s\",\"AttributeNames\":[\"ApproximateNumberOfMessages\"]}", sub_urls[i]);
        if (call(&c, "AmazonSQS.GetQueueAttributes", req, (size_t)n, &resp) != 200) return -1;
        const char *v = strstr(resp, "\"ApproximateNumberOfMessages\":\"");
        if (v) total += atol(v + 31);
    }
    if (c.fd >= 0) close(c.fd);
    free(c.buf);
    return total;
}

static void setup(int subscribers)
{
    conn_t c = {.fd = -1};
    char req[2048], name[64], *resp;
    snprintf(name, sizeof name, "bench-topic-%ld", (long)getpid());
    int n = snprintf(req, sizeof req, "Action=CreateTopic&Version=2010-03-31&Name=%s", name);
    if (call(&c, NULL, req, (size_t)n, &resp) != 200) {
        fprintf(stderr, "bench/topic: CreateTopic failed: %s\n", resp);
        exit(1);
    }
    char *a = strstr(resp, "<TopicArn>"), arn[200];
    snprintf(arn, sizeof arn, "%.*s", (int)(strstr(a, "</TopicArn>") - a - 10), a + 10);
    enc(topic_arn_enc, sizeof topic_arn_enc, arn);
    for (int i = 0; i < subscribers; i++) {
        char q[96], qarn[200], qenc[300];
        snprintf(q, sizeof q, "%s-q%d", name, i);
        n = snprintf(req, sizeof req, "{\"QueueName\":\"%s\"}", q);
        call(&c, "AmazonSQS.CreateQueue", req, (size_t)n, &resp);
        if (nsub_urls < 64) queue_url_of(resp, sub_urls[nsub_urls++]);
        snprintf(qarn, sizeof qarn, "arn:aws:sqs:us-east-1:000000000000:%s", q);
        enc(qenc, sizeof qenc, qarn);
        n = snprintf(req, sizeof req, "Action=Subscribe&Version=2010-03-31&TopicArn=%s&Protocol=sqs&Endpoint=%s",
                     topic_arn_enc, qenc);
        if (call(&c, NULL, req, (size_t)n, &resp) != 200) {
            fprintf(stderr, "bench/topic: Subscribe failed: %s\n", resp);
            exit(1);
        }
    }
    char rq[96];
    snprintf(rq, sizeof rq, "%s-ref", name);
    n = snprintf(req, sizeof req, "{\"QueueName\":\"%s\"}", rq);
    call(&c, "AmazonSQS.CreateQueue", req, (size_t)n, &resp);
    queue_url_of(resp, ref_url);
    close(c.fd);
    free(c.buf);
}

static double ratio(double a, double b)
{
    return b > 0 ? a / b : 0;
}

int main(int argc, char **argv)
{
    int clients = 32, subscribers = 2;
    long n = 10000;
    const char *url = argc > 1 ? argv[1] : "http://127.0.0.1:4566";
    for (int i = 2; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--clients")) clients = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--messages")) n = atol(argv[i + 1]);
        else if (!strcmp(argv[i], "--body")) body_bytes = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--subscribers")) subscribers = atoi(argv[i + 1]);
    }
    if (clients > 256) clients = 256;
    if (clients < 1) clients = 1;
    sscanf(url, "http://%63[^:]:%d", host, &port);
    setup(subscribers);
    printf("bench/topic: %s, %d clients, %ld publishes per phase, %d-byte messages, %d SQS subscribers\n", url,
           clients, n, body_bytes, subscribers);
    lat_t lat = {.mu = PTHREAD_MUTEX_INITIALIZER};
    double s1 = run(clients, n, 1, true, &lat);
    printf("SQS SendMessage:       %9.0f msgs/s  p50 %.2f ms (the same run's reference)\n", s1, pct(&lat, 0.5));
    lat.n = 0;
    double s10 = run(clients, n, 10, true, &lat);
    printf("SQS SendMessageBatch:  %9.0f msgs/s  p50 %.2f ms (per request)\n", s10, pct(&lat, 0.5));
    lat.n = 0;
    double p1 = run(clients, n, 1, false, &lat);
    double p1_50 = pct(&lat, 0.5), p1_99 = pct(&lat, 0.99);
    printf("publish (single):      %9.0f msgs/s  p50 %.2f ms  p99 %.2f ms\n", p1, p1_50, p1_99);
    lat.n = 0;
    long before = delivered();
    int64_t t0 = now_us();
    double p10 = run(clients, n, 10, false, &lat);
    double el = (double)(now_us() - t0) / 1e6;
    long got = delivered() - before;
    double d10 = (double)got / el;
    double p10_50 = pct(&lat, 0.5), p10_99 = pct(&lat, 0.99);
    printf("publish (batch of 10): %9.0f msgs/s  p50 %.2f ms  p99 %.2f ms (per request)\n", p10, p10_50, p10_99);
    printf("  delivered:           %9.0f msgs/s  (%ld messages into %d SQS subscriptions; %.2f x SendMessageBatch)\n",
           d10, got, nsub_urls, ratio(d10, s10));
    FILE *la = fopen("/proc/loadavg", "r");
    char load[32] = "";
    if (la && fgets(load, sizeof load, la)) load[strcspn(load, " ")] = 0;
    if (la) fclose(la);
    printf("{\"clients\":%d,\"messages\":%ld,\"body_bytes\":%d,\"subscribers\":%d,\"publish_msgs_per_s\":%.0f,"
           "\"publish_p50_ms\":%.3f,\"publish_p99_ms\":%.3f,\"publish_batch10_msgs_per_s\":%.0f,"
           "\"publish_batch10_p50_ms\":%.3f,\"publish_batch10_p99_ms\":%.3f,\"errors\":%ld,"
           "\"sqs_send_msgs_per_s\":%.0f,\"sqs_send_batch10_msgs_per_s\":%.0f,"
           "\"publish_batch10_delivered_msgs_per_s\":%.0f,\"publish_batch10_delivered\":%ld,"
           "\"ratio_publish_to_send\":%.3f,\"ratio_publish_batch10_to_send_batch10\":%.3f,"
           "\"ratio_delivered_to_send_batch10\":%.3f,\"loadavg_1m\":%s}\n",
           clients, n, body_bytes, subscribers, p1, p1_50, p1_99, p10, p10_50, p10_99, atomic_load(&errors), s1, s10,
           d10, got, ratio(p1, s1), ratio(p10, s10), ratio(d10, s10), load[0] ? load : "0");
    return 0;
}
