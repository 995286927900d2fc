/* worker/worker_inline.c - running C handlers on the loop thread.
 *
 * The thread that runs the event loop (the leader: it owns every socket)
 * runs a C handler's invocation itself when it can. No hand-off to a slot
 * thread and back: two thread wakes fewer per invocation, and the ACK leaves
 * from the thread that received the DELIVER.
 *
 * A second thread stands by. While inline runs happen, a periodic timerfd
 * (period --inline-us) wakes it; when it finds a handler running inline for
 * longer than --inline-us, it takes the loop over (the sockets move with it, through mu: a full barrier,
 * which is what libzmq asks of a socket that changes threads). The thread
 * that ran the handler hands its result over the way slot threads do
 * (wk_done_push) and stands by in its turn. So the sockets are never
 * unattended longer than --inline-us, heartbeats and timeouts keep running
 * during slow handlers, and the two roles rotate between the two threads.
 * Only while the other thread stands by does the leader run anything inline;
 * otherwise invocations go to the slot threads as before.
 *
 * A turn of the loop may pick several invocations (a burst of DELIVERs): the
 * leader runs them one after the other while the turn's budget (a tenth of
 * --inline-us) lasts and gives the rest to the slot threads; a stand-by that
 * takes over gives them to the slot threads at once. A function whose runs
 * average more than that budget is not run inline at all, so take-overs are
 * for the outliers of fast functions. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "worker/internal.h"

/* The tick stops after this long without inline runs (an idle worker does
 * not wake up); the first run after that starts it again. Arming a timer per
 * run would cost more than the run: ~11 us on the 2-vCPU VM, where the
 * hrtimer reprogramming exits to the hypervisor. */
#define TICK_IDLE_US 200000

static void tick(int tfd, int64_t us) /* us 0: stop */
{
    struct itimerspec t = {0};
    t.it_value.tv_sec = us / 1000000;
    t.it_value.tv_nsec = (long)(us % 1000000) * 1000;
    t.it_interval = t.it_value;
    timerfd_settime(tfd, 0, &t, NULL);
}

int wk_inline_init(wk_worker_t *w)
{
    wk_inline_t *in = &w->inl;
    in->tfd = in->exitfd = -1;
    if (in->us <= 0) return 0;
    pthread_mutex_init(&in->mu, NULL);
    in->mu_ready = true;
    in->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    in->exitfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (in->tfd < 0 || in->exitfd < 0) {
        sy_log(SY_LOG_WARN, "worker", NULL, "inline handlers off: no timerfd/eventfd");
        in->us = 0;
    }
    return 0;
}

bool wk_inline_take(wk_worker_t *w, wk_job_t *j)
{
    wk_inline_t *in = &w->inl;
    if (in->us <= 0 || j->fn->kind != WK_FN_SO || w->draining) return false;
    if (__atomic_load_n(&j->fn->avg_run_us, __ATOMIC_RELAXED) > in->us / 10) return false;
    if (!in->jobs) { /* the stand-by's state only matters for the first of a turn */
        pthread_mutex_lock(&in->mu);
        bool ok = in->standby && !in->over;
        pthread_mutex_unlock(&in->mu);
        if (!ok) return false;
    }
    j->next = NULL; /* the list is the leader's until wk_inline_run shares it */
    if (in->jobs_tail)
        in->jobs_tail->next = j;
    else
        in->jobs = j;
    in->jobs_tail = j;
    return true;
}

static wk_job_t *pop(wk_inline_t *in)
{
    wk_job_t *j = in->jobs;
    if (j) {
        in->jobs = j->next;
        if (!in->jobs) in->jobs_tail = NULL;
        j->next = NULL;
    }
    return j;
}

/* Jobs picked but not started go to the slot threads. */
static void to_slots(wk_job_t *j)
{
    while (j) {
        wk_job_t *n = j->next;
        wk_queue_push(j->fn, j);
        j = n;
    }
}

int wk_inline_run(wk_worker_t *w)
{
    wk_inline_t *in = &w->inl;
    if (!in->jobs) return 0;
    pthread_mutex_lock(&in->mu);
    in->started_us = sy_mono_us();
    if (!in->ticking) { /* under mu: the stand-by stops the tick under it too */
        in->ticking = true;
        tick(in->tfd, in->us);
    }
    pthread_mutex_unlock(&in->mu);
    for (;;) {
        pthread_mutex_lock(&in->mu);
        /* this turn's budget is spent: the rest run on the slot threads */
        wk_job_t *j = sy_mono_us() - in->started_us < in->us / 10 ? pop(in) : NULL;
        if (j) {
            in->running = true;
            in->taken = false;
        }
        wk_job_t *rest = j ? NULL : in->jobs;
        if (!j) in->jobs = in->jobs_tail = NULL;
        pthread_mutex_unlock(&in->mu);
        if (!j) {
            to_slots(rest);
            break;
        }
        wk_exec_run(j->fn, j);
        pthread_mutex_lock(&in->mu);
        in->running = false; /* from here the stand-by cannot take over */
        bool taken = in->taken;
        pthread_mutex_unlock(&in->mu);
        if (taken) { /* the stand-by holds the loop (and took the rest) */
            __atomic_add_fetch(&in->handed_over, 1, __ATOMIC_RELAXED);
            wk_done_push(w, j);
            return 1;
        }
        /* EXTENDs the handler asked for must leave before its ACK */
        pthread_mutex_lock(&w->done_mu);
        bool pending = w->extends || w->done;
        pthread_mutex_unlock(&w->done_mu);
        if (pending) wk_take_done(w);
        __atomic_add_fetch(&in->ran, 1, __ATOMIC_RELAXED);
        wk_inflight_remove(w, j);
        wk_settle(w, j, true);
    }
    return 0;
}

bool wk_inline_standby(wk_worker_t *w)
{
    wk_inline_t *in = &w->inl;
    pthread_mutex_lock(&in->mu);
    in->standby = true;
    pthread_mutex_unlock(&in->mu);
    for (;;) {
        struct pollfd pf[2] = {{in->tfd, POLLIN, 0}, {in->exitfd, POLLIN, 0}};
        if (poll(pf, 2, 1000) < 0 && errno != EINTR) {
            sy_log(SY_LOG_ERROR, "worker", NULL, "stand-by poll failed", "error", strerror(errno));
            return false;
        }
        uint64_t v;
        if (pf[0].revents & POLLIN) (void)!read(in->tfd, &v, sizeof v);
        pthread_mutex_lock(&in->mu);
        if (in->over) {
            in->standby = false;
            pthread_mutex_unlock(&in->mu);
            return false;
        }
        int64_t now = sy_mono_us();
        if (!in->running && in->ticking && now - in->started_us > TICK_IDLE_US) {
            in->ticking = false;
            tick(in->tfd, 0);
        }
        if (in->running && !in->taken && now - in->started_us >= in->us) {
            in->taken = true;
            in->standby = false;
            wk_job_t *rest = in->jobs;
            in->jobs = in->jobs_tail = NULL;
            pthread_mutex_unlock(&in->mu);
            to_slots(rest);
            return true;
        }
        pthread_mutex_unlock(&in->mu);
    }
}

bool wk_inline_end(wk_worker_t *w)
{
    wk_inline_t *in = &w->inl;
    if (!in->mu_ready) return false;
    pthread_mutex_lock(&in->mu);
    in->over = true;
    bool other_in_handler = in->running;
    pthread_mutex_unlock(&in->mu);
    uint64_t one = 1;
    if (in->exitfd >= 0) (void)!write(in->exitfd, &one, sizeof one);
    return other_in_handler;
}

void wk_inline_free(wk_worker_t *w)
{
    wk_inline_t *in = &w->inl;
    if (in->tfd >= 0) close(in->tfd);
    if (in->exitfd >= 0) close(in->exitfd);
    in->tfd = in->exitfd = -1;
    if (in->mu_ready) pthread_mutex_destroy(&in->mu);
    in->mu_ready = false;
}
