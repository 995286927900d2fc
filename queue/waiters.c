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

/* A long poll parked on a queue. Wakes are targeted: a commit of n messages
 * wakes waiters (oldest first) until their MaxNumberOfMessages cover n, so
 * a send does not stampede every receiver into an empty lease. */
struct waiter {
    int64_t qid;
    int want;
    bool woken;
    pthread_cond_t cv;
    struct waiter *next;
};

uint64_t waiters_seq(queue_engine_t *e, int64_t qid)
{
    pthread_mutex_lock(&e->mu);
    uint64_t s = e->wake_seq[slot(qid)];
    pthread_mutex_unlock(&e->mu);
    return s;
}

static void wake_locked(queue_engine_t *e, int64_t qid, long count)
{
    size_t sl = slot(qid);
    e->wake_seq[sl]++;
    for (waiter_t *w = e->waiting[sl]; w && count > 0; w = w->next) {
        if (w->qid != qid || w->woken) continue;
        w->woken = true;
        pthread_cond_signal(&w->cv);
        count -= w->want;
    }
}

void waiters_wake_n(queue_engine_t *e, int64_t qid, long count)
{
    pthread_mutex_lock(&e->mu);
    wake_locked(e, qid, count);
    pthread_mutex_unlock(&e->mu);
}

void waiters_wake(queue_engine_t *e, int64_t qid)
{
    waiters_wake_n(e, qid, 1L << 40);
}

static void wake_everyone_locked(queue_engine_t *e)
{
    for (size_t i = 0; i < WAKE_SLOTS; i++) {
        e->wake_seq[i]++;
        for (waiter_t *w = e->waiting[i]; w; w = w->next) {
            w->woken = true;
            pthread_cond_signal(&w->cv);
        }
    }
}

void waiters_stop(queue_engine_t *e)
{
    pthread_mutex_lock(&e->mu);
    e->stop = true;
    wake_everyone_locked(e);
    pthread_mutex_unlock(&e->mu);
    pthread_mutex_lock(&e->notify_mu);
    pthread_cond_signal(&e->notify_cv);
    pthread_mutex_unlock(&e->notify_mu);
}

void waiters_wait(queue_engine_t *e, int64_t qid, uint64_t seq, int want, int64_t deadline_us)
{
    int64_t until = sy_mono_us() + 1000000; /* re-check for delays and expiries */
    if (deadline_us < until) until = deadline_us;
    size_t sl = slot(qid);
    waiter_t w = {.qid = qid, .want = want > 0 ? want : 1};
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&w.cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_lock(&e->mu);
    if (e->stop || e->wake_seq[sl] != seq) goto out; /* woken since the caller looked */
    waiter_t **tail = &e->waiting[sl];
    while (*tail) tail = &(*tail)->next;
    *tail = &w; /* oldest first */
    while (!w.woken && !e->stop) {
        if (until <= sy_mono_us()) break;
        struct timespec ts = {until / 1000000, (until % 1000000) * 1000}; /* CLOCK_MONOTONIC, as sy_mono_us */
        pthread_cond_timedwait(&w.cv, &e->mu, &ts);
    }
    for (waiter_t **pp = &e->waiting[sl]; *pp; pp = &(*pp)->next)
        if (*pp == &w) {
            *pp = w.next;
            break;
        }
out:
    pthread_mutex_unlock(&e->mu);
    pthread_cond_destroy(&w.cv);
}

static void *listener_main(void *u)
{
    queue_engine_t *e = u;
    PGconn *c = NULL;
    while (!e->stop) {
        if (!c) {
            if (!(c = store_listen_connect(sy_pg_conninfo(e->ctx->pool)))) {
                struct timespec ts = {0, 200 * 1000 * 1000};
                nanosleep(&ts, NULL);
                continue;
            }
            /* settings cached before we listened may have changed since */
            qcache_invalidate_all(e);
        }
        struct pollfd pfd = {.fd = PQsocket(c), .events = POLLIN};
        int pr = poll(&pfd, 1, 250);
        if (pr < 0 && errno != EINTR) break;
        if (PQconsumeInput(c) != 1) {
            sy_log(SY_LOG_WARN, "queue", NULL, "listen connection lost; reconnecting");
            PQfinish(c);
            c = NULL;
            /* wake everyone: a notification may have been missed (and
             * the settings cache is dropped when we listen again) */
            pthread_mutex_lock(&e->mu);
            wake_everyone_locked(e);
            pthread_mutex_unlock(&e->mu);
            continue;
        }
        PGnotify *n;
        while ((n = PQnotifies(c))) {
            if (strncmp(n->extra, "s:", 2) == 0) {
                qcache_invalidate(e, n->extra + 2); /* a queue's settings changed (queue_changed) */
            } else if (n->be_pid == __atomic_load_n(&e->notifier_pid, __ATOMIC_RELAXED)) {
                /* our own: local waiters were woken at commit */
            } else if (strcmp(n->extra, "*") == 0) {
                pthread_mutex_lock(&e->mu);
                wake_everyone_locked(e);
                pthread_mutex_unlock(&e->mu);
            } else {
                waiters_wake(e, atoll(n->extra));
            }
            PQfreemem(n);
        }
    }
    if (c) PQfinish(c);
    return NULL;
}

/* ------------------------------------------------------------ notifier
 * Other brokers learn of committed sends through NOTIFY, sent here after
 * the commit in a small asynchronous-commit transaction; queue ids pending
 * at once are coalesced into one statement. */
void notify_later(queue_engine_t *e, int64_t qid)
{
    pthread_mutex_lock(&e->notify_mu);
    bool seen = false;
    for (int i = 0; i < e->npending && !seen; i++) seen = e->pending[i] == qid;
    if (!seen && e->npending < NOTIFY_MAX) e->pending[e->npending++] = qid;
    else if (!seen) e->pending_overflow = true;
    pthread_cond_signal(&e->notify_cv);
    pthread_mutex_unlock(&e->notify_mu);
}

static void *notifier_main(void *u)
{
    queue_engine_t *e = u;
    PGconn *c = NULL;
    int64_t ids[NOTIFY_MAX];
    for (;;) {
        pthread_mutex_lock(&e->notify_mu);
        while (e->npending == 0 && !e->pending_overflow && !e->stop) pthread_cond_wait(&e->notify_cv, &e->notify_mu);
        int n = e->npending;
        bool all = e->pending_overflow;
        memcpy(ids, e->pending, sizeof(int64_t) * (size_t)n);
        e->npending = 0;
        e->pending_overflow = false;
        bool stop = e->stop;
        pthread_mutex_unlock(&e->notify_mu);
        if (n == 0 && !all && stop) break;
        if (!c || PQstatus(c) != CONNECTION_OK) {
            if (c) PQfinish(c);
            c = store_notify_connect(sy_pg_conninfo(e->ctx->pool));
            __atomic_store_n(&e->notifier_pid, PQbackendPID(c), __ATOMIC_RELAXED);
        }
        store_notify(c, ids, n, all);
    }
    if (c) PQfinish(c);
    return NULL;
}

int waiters_start(queue_engine_t *e, sy_err_t *err)
{
    pthread_mutex_init(&e->notify_mu, NULL);
    pthread_cond_init(&e->notify_cv, NULL);
    if (pthread_create(&e->listener, NULL, listener_main, e) != 0 ||
        pthread_create(&e->notifier, NULL, notifier_main, e) != 0)
        return sy_err_set(err, SY_E_INTERNAL, 500, "InternalFailure", "could not start listener");
    return 0;
}
