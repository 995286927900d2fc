/* server/drain.c - the broker's SIGTERM drain: readiness fails at once
 * (GET /health/ready answers 503 "draining", so Kubernetes takes the pod out
 * of its Services), requests keep being served for --drain-delay-s, then
 * serve stops accepting, finishes what is in flight, gives leased but
 * undelivered work back and leaves the broker registry. A watchdog bounds
 * it: still running --drain-timeout-s after the delay, the process exits 1. */
#include "server/server.h"

#include <errno.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static bool done, started;
static pthread_t watchdog;
static double bound_s;

static void *watch(void *arg)
{
    (void)arg;
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += (time_t)bound_s;
    until.tv_nsec += (long)((bound_s - (double)(time_t)bound_s) * 1e9);
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&mu);
    int rc = 0;
    while (!done && rc != ETIMEDOUT) rc = pthread_cond_timedwait(&cv, &mu, &until);
    bool over = !done;
    pthread_mutex_unlock(&mu);
    if (over) {
        sy_log(SY_LOG_ERROR, "server", NULL, "drain did not finish in time, exiting");
        _exit(1);
    }
    return NULL;
}

void sy_server_drain_begin(sy_ctx_t *ctx)
{
    sy_probe_set_draining(true);
    bound_s = ctx->cfg.drain_delay_s + ctx->cfg.drain_timeout_s;
    started = pthread_create(&watchdog, NULL, watch, NULL) == 0;
    if (ctx->cfg.drain_delay_s > 0) {
        sy_log(SY_LOG_INFO, "server", NULL, "draining: readiness fails, still serving");
        struct timespec d = {(time_t)ctx->cfg.drain_delay_s,
                             (long)((ctx->cfg.drain_delay_s - (double)(time_t)ctx->cfg.drain_delay_s) * 1e9)};
        while (nanosleep(&d, &d) < 0 && errno == EINTR) {
        }
    }
}

void sy_server_drain_end(void)
{
    if (!started) return;
    pthread_mutex_lock(&mu);
    done = true;
    pthread_cond_signal(&cv);
    pthread_mutex_unlock(&mu);
    pthread_join(watchdog, NULL);
    started = false;
}
