/* bench/queue_bench.h - what bench/queue.c shares with its depth and
 * many-queue phases (bench/queue_depth.c) */
#pragma once

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

extern char host[64];
extern int port;
extern int body_bytes;

typedef struct {
    int fd;
    char *buf;
    size_t cap;
} conn_t;

typedef struct {
    int64_t *v;
    size_t n, cap;
    pthread_mutex_t mu;
} lat_t;

/* One phase: clients threads for secs seconds, on url or round robin over
 * urls (nurls > 0: each client walks its own stride, receives without long
 * polling); rate > 0 paces the whole phase (messages/s). */
typedef struct {
    const char *url;
    const char *const *urls;
    int nurls;
    int groups; /* FIFO message groups, 0 for a standard queue */
    int clients;
    double secs;
    int batch; /* senders: 1 or 10 */
    double rate;
    lat_t *lat;
    atomic_int *producing;
} phase_t;

int64_t now_us(void);
int call(conn_t *c, const char *action, const char *body, size_t blen, char **resp);
double pct(lat_t *l, double p);
double phase_send(const phase_t *p);                /* messages/s */
double phase_receive(const phase_t *p, long *got);  /* messages/s received and deleted */
void create_queue(const char *name, bool fifo, char *url_out, size_t cap);

/* bench/queue_depth.c. Each appends its JSON fields (",\"k\":v...") to json
 * (capacity cap). one_queue: the send1, send10, receive+delete figures of
 * the run's empty-queue phases. */
typedef struct {
    double send1, send10, recv;
} trio_t;
int depth_run(const char *conninfo, long depth, double churn_s, int clients, double secs, const trio_t *empty,
              char *json, size_t cap);
int many_queues_run(int nqueues, int clients, double secs, const trio_t *one_queue, char *json, size_t cap);
