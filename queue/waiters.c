/* queue/waiters.c - long polling. A send committed on this broker wakes its
 * waiters directly; sends on other brokers arrive through LISTEN sy_queue.
 * Waiters also re-check every second for delays and visibility expiries. */
#include "queue/internal.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static size_t slot(int64_t qid)
{
    return (size_t)((uint64_t)qid * 0x9E3779B97F4A7C15ull >> 54) % WAKE_SLOTS;
}

uint64_t waiters_seq(queue_engine_t *e, int64_t qid)
{
    pthread_mutex_lock(&e->mu);
    uint64_t s = e->wake_seq[slot(qid)];
    pthread_mutex_unlock(&e->mu);
    return s;
}

void waiters_wake(queue_engine_t *e, int64_t qid)
{
    pthread_mutex_lock(&e->mu);
    e->wake_seq[slot(qid)]++;
    pthread_cond_broadcast(&e->cv);
    pthread_mutex_unlock(&e->mu);
}

void waiters_wait(queue_engine_t *e, int64_t qid, uint64_t seq, int64_t deadline_us)
{
    int64_t until = sy_mono_us() + 1000000;
    if (deadline_us < until) until = deadline_us;
    pthread_mutex_lock(&e->mu);
    while (!e->stop && e->wake_seq[slot(qid)] == seq) {
        int64_t left = until - sy_mono_us();
        if (left <= 0) break;
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_sec += left / 1000000;
        ts.tv_nsec += (left % 1000000) * 1000;
        if (ts.tv_nsec >= 1000000000) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&e->cv, &e->mu, &ts);
    }
    pthread_mutex_unlock(&e->mu);
}

/* send committed here: wake local waiters at once */
void store_send_after(void **args, int n, const int *rcs)
{
    for (int i = 0; i < n; i++) {
        if (rcs[i] != 0) continue;
        send_job_t *j = args[i];
        if (j->engine) waiters_wake(j->engine, j->queue_id);
    }
}

static PGconn *listen_connect(queue_engine_t *e)
{
    PGconn *c = PQconnectdb(sy_pg_conninfo(e->ctx->pool));
    if (PQstatus(c) != CONNECTION_OK) {
        PQfinish(c);
        return NULL;
    }
    PGresult *r = PQexec(c, "LISTEN sy_queue");
    bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    if (!ok) {
        PQfinish(c);
        return NULL;
    }
    return c;
}

static void *listener_main(void *u)
{
    queue_engine_t *e = u;
    PGconn *c = NULL;
    while (!e->stop) {
        if (!c && !(c = listen_connect(e))) {
            struct timespec ts = {0, 200 * 1000 * 1000};
            nanosleep(&ts, NULL);
            continue;
        }
        struct pollfd pfd = {.fd = PQsocket(c), .events = POLLIN};
        int pr = poll(&pfd, 1, 250);
        if (pr < 0 && errno != EINTR) break;
        if (PQconsumeInput(c) != 1) {
            sy_log(SY_LOG_WARN, "queue", NULL, "listen connection lost; reconnecting");
            PQfinish(c);
            c = NULL;
            /* wake everyone: a notification may have been missed */
            pthread_mutex_lock(&e->mu);
            for (size_t i = 0; i < WAKE_SLOTS; i++) e->wake_seq[i]++;
            pthread_cond_broadcast(&e->cv);
            pthread_mutex_unlock(&e->mu);
            continue;
        }
        PGnotify *n;
        while ((n = PQnotifies(c))) {
            waiters_wake(e, atoll(n->extra));
            PQfreemem(n);
        }
    }
    if (c) PQfinish(c);
    return NULL;
}

int waiters_start(queue_engine_t *e, sy_err_t *err)
{
    if (pthread_create(&e->listener, NULL, listener_main, e) != 0)
        return sy_err_set(err, SY_E_INTERNAL, 500, "InternalFailure", "could not start listener");
    return 0;
}
