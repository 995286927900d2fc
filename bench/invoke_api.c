/* bench/invoke_api.c - the Lambda API through HTTP against a running broker
 * with workers: sequential RequestResponse latency (p50/p99) and durable
 * Event throughput (202s per second, each committed to PostgreSQL) with
 * many keep-alive connections. Usage: bench_invoke_api HOST PORT FUNCTION
 * SECONDS CONNECTIONS [async] (async: the Event phase only). Prints one JSON object. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static const char *host;
static int port;
static const char *fn;
static double secs;
static volatile int stop;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int dial(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, host, &a.sin_addr);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
        perror("connect");
        exit(1);
    }
    return fd;
}

/* One request on a keep-alive connection; returns the status. */
static int call(int fd, const char *type, const char *body)
{
    char req[1024];
    int n = snprintf(req, sizeof req,
                     "POST /2015-03-31/functions/%s/invocations HTTP/1.1\r\nHost: %s:%d\r\n"
                     "X-Amz-Invocation-Type: %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
                     fn, host, port, type, strlen(body), body);
    if (write(fd, req, (size_t)n) != n) return -1;
    char buf[8192];
    size_t got = 0;
    for (;;) {
        ssize_t r = read(fd, buf + got, sizeof buf - 1 - got);
        if (r <= 0) return -1;
        got += (size_t)r;
        buf[got] = 0;
        char *end = strstr(buf, "\r\n\r\n");
        if (!end) continue;
        char *cl = strcasestr(buf, "content-length:");
        size_t len = cl && cl < end ? strtoul(cl + 15, NULL, 10) : 0;
        if (got >= (size_t)(end + 4 - buf) + len) return atoi(buf + 9);
    }
}

static int cmpd(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static long counts[256];
static void *async_main(void *arg)
{
    long i = (long)arg;
    int fd = dial();
    while (!stop) {
        if (call(fd, "Event", "{\"bench\":1}") == 202) counts[i]++;
        else {
            fprintf(stderr, "async invoke failed\n");
            break;
        }
    }
    close(fd);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 6) {
        fprintf(stderr, "usage: bench_invoke_api HOST PORT FUNCTION SECONDS CONNECTIONS [async]\n");
        return 2;
    }
    host = argv[1];
    port = atoi(argv[2]);
    fn = argv[3];
    secs = atof(argv[4]);
    int conns = atoi(argv[5]);
    if (conns > 256) conns = 256;
    bool async_only = argc > 6 && strcmp(argv[6], "async") == 0; /* bench/fleet.sh: several at once */
    size_t cap = 1 << 20, n = 0;
    double *lat = malloc(cap * sizeof *lat), t0, p50 = 0, p99 = 0;
    if (async_only) goto async;
    /* sequential RequestResponse */
    int fd = dial();
    for (int i = 0; i < 200; i++) call(fd, "RequestResponse", "{\"warm\":1}");
    t0 = now_s();
    while (now_s() - t0 < secs && n < cap) {
        double a = now_s();
        if (call(fd, "RequestResponse", "{\"k\":1}") != 200) {
            fprintf(stderr, "sync invoke failed\n");
            return 1;
        }
        lat[n++] = (now_s() - a) * 1e6;
    }
    close(fd);
    qsort(lat, n, sizeof *lat, cmpd);
    p50 = lat[n / 2];
    p99 = lat[n * 99 / 100];
async:
    /* durable Event throughput */
    pthread_t th[256];
    for (long i = 0; i < conns; i++) pthread_create(&th[i], NULL, async_main, (void *)i);
    t0 = now_s();
    usleep((useconds_t)(secs * 1e6));
    stop = 1;
    double el = now_s() - t0;
    long total = 0;
    for (int i = 0; i < conns; i++) {
        pthread_join(th[i], NULL);
        total += counts[i];
    }
    printf("{\"sync_http_p50_us\":%.0f,\"sync_http_p99_us\":%.0f,\"sync_per_s\":%.0f,\"async_per_s\":%.0f,"
           "\"connections\":%d}\n",
           p50, p99, (double)n / secs, (double)total / el, conns);
    free(lat);
    return 0;
}
