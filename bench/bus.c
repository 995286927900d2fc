/* bench/bus.c - EventBridge PutEvents load generator over keep-alive
 * HTTP/1.1 (JSON 1.1): 10 rules on the default bus, each with an SQS
 * target; every PutEvents carries --batch entries (default 10), each
 * matching exactly one rule, so events/s = durable SQS deliveries/s.
 * usage: bench-bus URL [--clients C] [--events N] [--batch B]
 * Last line: one JSON object of figures. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static char host[64] = "127.0.0.1";
static int port = 4566;

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

typedef struct {
    int fd;
    char buf[1 << 16];
} conn_t;

static int conn_open(conn_t *c)
{
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, host, &sa.sin_addr);
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return connect(c->fd, (struct sockaddr *)&sa, sizeof sa);
}

static int call(conn_t *c, const char *target, const char *body, char **resp)
{
    char head[512];
    size_t blen = strlen(body);
    const char *ct = strncmp(target, "AmazonSQS", 9) ? "application/x-amz-json-1.1" : "application/x-amz-json-1.0";
    int hn = snprintf(head, sizeof head,
                      "POST / HTTP/1.1\r\nHost: %s:%d\r\nContent-Type: %s\r\nX-Amz-Target: %s\r\n"
                      "Content-Length: %zu\r\n\r\n",
                      host, port, ct, target, blen);
    for (int attempt = 0; attempt < 2; attempt++) {
        if (c->fd < 0 && conn_open(c) < 0) return -1;
        if (write(c->fd, head, (size_t)hn) != hn || write(c->fd, body, blen) != (ssize_t)blen) goto reconnect;
        size_t got = 0;
        char *end = NULL;
        while (!(end = memmem(c->buf, got, "\r\n\r\n", 4))) {
            ssize_t r = read(c->fd, c->buf + got, sizeof c->buf - got - 1);
            if (r <= 0) goto reconnect;
            got += (size_t)r;
        }
        int status = atoi(c->buf + 9);
        char *cl = strcasestr(c->buf, "Content-Length:");
        size_t len = cl && cl < end ? strtoul(cl + 15, NULL, 10) : 0, hlen = (size_t)(end + 4 - c->buf);
        while (got < hlen + len) {
            ssize_t r = read(c->fd, c->buf + got, sizeof c->buf - got - 1);
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

static int batch = 10;
static long per_client;
static atomic_long failed, sent;
static int64_t *lat;
static atomic_long nlat;

static void *client(void *arg)
{
    long id = (long)arg;
    conn_t *c = calloc(1, sizeof *c);
    c->fd = -1;
    char *body = malloc(65536);
    for (long k = 0; k < per_client; k += batch) {
        size_t n = (size_t)snprintf(body, 65536, "{\"Entries\":[");
        for (int i = 0; i < batch; i++)
            n += (size_t)snprintf(body + n, 65536 - n,
                                  "%s{\"Source\":\"bench\",\"DetailType\":\"t%ld\",\"Detail\":"
                                  "\"{\\\"order\\\":%ld,\\\"client\\\":%ld,\\\"amount\\\":12.5}\"}",
                                  i ? "," : "", (k + i + id) % 10, k + i, id);
        snprintf(body + n, 65536 - n, "]}");
        char *resp;
        int64_t t = now_us();
        int st = call(c, "AWSEvents.PutEvents", body, &resp);
        lat[atomic_fetch_add(&nlat, 1)] = now_us() - t;
        if (st != 200 || (!strstr(resp, "\"FailedEntryCount\":0") && !strstr(resp, "\"FailedEntryCount\": 0")))
            atomic_fetch_add(&failed, batch);
        else atomic_fetch_add(&sent, batch);
    }
    free(body);
    if (c->fd >= 0) close(c->fd);
    free(c);
    return NULL;
}

static int cmp64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    const char *url = argc > 1 ? argv[1] : "http://127.0.0.1:4566";
    int clients = 32;
    long events = 100000;
    for (int i = 2; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--clients")) clients = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--events")) events = atol(argv[i + 1]);
        else if (!strcmp(argv[i], "--batch")) batch = atoi(argv[i + 1]);
    }
    if (batch < 1 || batch > 10) batch = 10;
    sscanf(url, "http://%63[^:]:%d", host, &port);
    conn_t *c = calloc(1, sizeof *c);
    c->fd = -1;
    char body[1024], *resp;
    for (int i = 0; i < 10; i++) {
        snprintf(body, sizeof body, "{\"QueueName\":\"bench-bus-%d\"}", i);
        if (call(c, "AmazonSQS.CreateQueue", body, &resp) != 200) return fprintf(stderr, "CreateQueue: %s\n", resp), 1;
        snprintf(body, sizeof body,
                 "{\"Name\":\"bench-%d\",\"EventPattern\":\"{\\\"source\\\":[\\\"bench\\\"],\\\"detail-type\\\":"
                 "[\\\"t%d\\\"],\\\"detail\\\":{\\\"amount\\\":[{\\\"numeric\\\":[\\\">\\\",10]}]}}\"}",
                 i, i);
        if (call(c, "AWSEvents.PutRule", body, &resp) != 200) return fprintf(stderr, "PutRule: %s\n", resp), 1;
        snprintf(body, sizeof body,
                 "{\"Rule\":\"bench-%d\",\"Targets\":[{\"Id\":\"q\",\"Arn\":\"arn:aws:sqs:us-east-1:000000000000:"
                 "bench-bus-%d\"}]}",
                 i, i);
        if (call(c, "AWSEvents.PutTargets", body, &resp) != 200) return fprintf(stderr, "PutTargets: %s\n", resp), 1;
    }
    per_client = events / clients;
    lat = calloc((size_t)(events / batch + clients + 16), sizeof *lat);
    pthread_t *th = calloc((size_t)clients, sizeof *th);
    int64_t t0 = now_us();
    for (long i = 0; i < clients; i++) pthread_create(&th[i], NULL, client, (void *)i);
    for (int i = 0; i < clients; i++) pthread_join(th[i], NULL);
    double secs = (double)(now_us() - t0) / 1e6;
    long n = atomic_load(&nlat);
    qsort(lat, (size_t)n, sizeof *lat, cmp64);
    double eps = (double)atomic_load(&sent) / secs;
    printf("PutEvents: %ld events in %.2f s, %d clients, batch %d: %.0f events/s; call p50 %.1f ms p99 %.1f ms; "
           "failed %ld\n",
           atomic_load(&sent), secs, clients, batch, eps, lat[n / 2] / 1000.0, lat[n * 99 / 100] / 1000.0,
           atomic_load(&failed));
    printf("{\"bench\":\"bus\",\"rules\":10,\"target\":\"sqs\",\"batch\":%d,\"clients\":%d,\"events\":%ld,"
           "\"seconds\":%.3f,\"events_per_s\":%.0f,\"call_p50_ms\":%.2f,\"call_p99_ms\":%.2f,\"failed\":%ld}\n",
           batch, clients, atomic_load(&sent), secs, eps, lat[n / 2] / 1000.0, lat[n * 99 / 100] / 1000.0,
           atomic_load(&failed));
    return atomic_load(&failed) ? 1 : 0;
}
