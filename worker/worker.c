/* worker/worker.c - `switchyard worker`: start-up, the main loop (the main
 * thread owns every socket and polls them with the slot threads' eventfd and
 * a signalfd), heartbeats and timeouts, the SIGTERM drain, shut-down. Slot
 * threads run the handlers (worker_exec.c, worker_runtime.c). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "worker/internal.h"

#define HELLO_TIMEOUT_MS 3000

wk_fn_t *wk_fn_find(wk_worker_t *w, const char *name)
{
    for (int i = 0; i < w->nfns; i++)
        if (strcmp(w->fns[i].name, name) == 0) return &w->fns[i];
    return NULL;
}

void wk_queue_push(wk_fn_t *fn, wk_job_t *j)
{
    pthread_mutex_lock(&fn->mu);
    j->next = NULL;
    if (fn->q_tail)
        fn->q_tail->next = j;
    else
        fn->q_head = j;
    fn->q_tail = j;
    pthread_cond_signal(&fn->cv);
    pthread_mutex_unlock(&fn->mu);
}

wk_job_t *wk_queue_pop(wk_fn_t *fn)
{
    pthread_mutex_lock(&fn->mu);
    while (!fn->q_head && !fn->stopping) pthread_cond_wait(&fn->cv, &fn->mu);
    wk_job_t *j = NULL;
    if (!fn->stopping) {
        j = fn->q_head;
        fn->q_head = j->next;
        if (!fn->q_head) fn->q_tail = NULL;
        j->next = NULL;
    }
    pthread_mutex_unlock(&fn->mu);
    return j;
}

/* What the main thread may read of a job a slot thread runs: the fields set
 * at DELIVER, none of the result fields (the slot thread owns those). */
static void job_header(const wk_job_t *j, wk_job_t *t)
{
    memset(t, 0, sizeof *t);
    t->delivery_id = j->delivery_id;
    t->conn = j->conn;
    t->conn_gen = j->conn_gen;
    t->fn = j->fn;
    memcpy(t->lease_token, j->lease_token, sizeof t->lease_token);
    memcpy(t->message_id, j->message_id, sizeof t->message_id);
    memcpy(t->request_id, j->request_id, sizeof t->request_id);
    memcpy(t->traceparent, j->traceparent, sizeof t->traceparent);
    t->attempt = j->attempt;
    t->deadline_ms = j->deadline_ms;
    t->fn_deadline = j->fn_deadline;
    t->timeout_s = j->timeout_s;
    t->caller_deadline_ms = j->caller_deadline_ms;
    t->started_mono = j->started_mono;
}

static void timers(wk_worker_t *w)
{
    wk_resolve_tick(w);
    int64_t now = wk_mono_ms(), wall = sy_now_ms();
    for (int i = 0; i < w->nconns; i++) {
        wk_conn_t *c = &w->conns[i];
        if (c->state == 0) {
            if (now >= c->reconnect_at) wk_conn_open(w, c);
            continue;
        }
        if (c->state == 1) {
            if (now - c->hello_at > HELLO_TIMEOUT_MS) {
                sy_log(SY_LOG_WARN, "worker", NULL, "no WELCOME from broker, reconnecting", "broker",
                       c->endpoint);
                wk_conn_reset(w, c, false);
            }
            continue;
        }
        if (now - c->last_recv > (int64_t)c->ivl_ms * c->liveness) {
            sy_log(SY_LOG_WARN, "worker", NULL, "broker silent, reconnecting", "broker", c->endpoint);
            wk_conn_reset(w, c, false);
            continue;
        }
        if (now - c->last_send >= c->ivl_ms) wk_send_simple(c, SYW__ENVELOPE__CMD_HEARTBEAT);
    }
    /* C handlers cannot be stopped: past the deadline the invocation fails,
     * the slot stays busy (no credit) until the handler returns. */
    for (wk_job_t *j = w->inflight; j; j = j->inext) {
        if (j->reported || j->cancelled || j->fn->kind != WK_FN_SO || wall < j->deadline_ms)
            continue;
        wk_job_t t; /* report from a copy: the slot thread owns the result fields */
        job_header(j, &t);
        wk_job_set_timeout(&t);
        wk_conn_t *c = wk_active_conn(w, j->conn);
        if (c) wk_send_result(c, &t, 0);
        free(t.result);
        free(t.error_type);
        free(t.error_message);
        j->reported = true;
        sy_log(SY_LOG_WARN, "worker", j->request_id, "handler timed out", "function", j->fn->name);
    }
}

static void drain_start(wk_worker_t *w)
{
    if (w->draining) return;
    w->draining = true;
    w->drain_deadline = wk_mono_ms() + w->drain_timeout_ms;
    sy_log(SY_LOG_INFO, "worker", NULL, "draining");
    Syw__Draining d = SYW__DRAINING__INIT;
    d.deadline_ms = sy_now_ms() + w->drain_timeout_ms;
    Syw__Envelope e = SYW__ENVELOPE__INIT;
    e.cmd_case = SYW__ENVELOPE__CMD_DRAINING;
    e.draining = &d;
    for (int i = 0; i < w->nconns; i++) {
        wk_conn_t *c = &w->conns[i];
        if (c->state != 2) continue;
        wk_conn_send(c, &e, NULL, 0);
        for (int f = 0; f < w->nfns; f++) {
            c->free_slots[f] += c->granted[f];
            c->granted[f] = 0;
        }
    }
    /* queued, not started: give back at once */
    for (int f = 0; f < w->nfns; f++) {
        wk_fn_t *fn = &w->fns[f];
        pthread_mutex_lock(&fn->mu);
        wk_job_t *q = fn->q_head;
        fn->q_head = fn->q_tail = NULL;
        pthread_mutex_unlock(&fn->mu);
        while (q) {
            wk_job_t *n = q->next;
            wk_inflight_remove(w, q);
            q->outcome = WK_OUT_RELEASE;
            wk_settle(w, q, true);
            q = n;
        }
    }
}

/* At the drain deadline: RELEASE what is still running. */
static void drain_expire(wk_worker_t *w)
{
    for (wk_job_t *j = w->inflight; j; j = j->inext) {
        if (j->reported) continue;
        wk_conn_t *c = wk_active_conn(w, j->conn);
        wk_job_t t;
        job_header(j, &t);
        t.outcome = WK_OUT_RELEASE;
        if (c) wk_send_result(c, &t, 0);
        j->reported = true;
    }
}

/* Run the event loop as the leader. Returns 1 when the loop ended (*rc is
 * the exit code), 0 when the stand-by took the loop over while this thread
 * ran a handler inline (worker_inline.c). */
static int lead(wk_worker_t *w, int *rc)
{
    *rc = 0;
    zmq_pollitem_t *items = sy_calloc(2 * (size_t)WK_MAX_CONNS + 2, sizeof *items);
    for (;;) {
        int n = 0;
        items[n++] = (zmq_pollitem_t){NULL, w->evfd, ZMQ_POLLIN, 0};
        items[n++] = (zmq_pollitem_t){NULL, w->sigfd, ZMQ_POLLIN, 0};
        int map[64];
        bool is_mon[64];
        for (int i = 0; i < w->nconns && n < 62; i++) {
            if (!w->conns[i].sock) continue;
            map[n] = i;
            is_mon[n] = false;
            items[n++] = (zmq_pollitem_t){w->conns[i].sock, 0, ZMQ_POLLIN, 0};
            if (w->conns[i].mon) {
                map[n] = i;
                is_mon[n] = true;
                items[n++] = (zmq_pollitem_t){w->conns[i].mon, 0, ZMQ_POLLIN, 0};
            }
        }
        if (zmq_poll(items, n, 20) < 0 && errno != EINTR) break;
        if (items[1].revents & ZMQ_POLLIN) {
            struct signalfd_siginfo si;
            while (read(w->sigfd, &si, sizeof si) == sizeof si) drain_start(w);
        }
        for (int k = 2; k < n; k++) {
            if (!(items[k].revents & ZMQ_POLLIN)) continue;
            if (is_mon[k]) {
                wk_conn_monitor(&w->conns[map[k]]);
                continue;
            }
            if (!w->conns[map[k]].sock) continue; /* reset by an earlier item */
            *rc = wk_on_message(w, map[k]);
            if (*rc) goto out;
        }
        if (items[0].revents & ZMQ_POLLIN) wk_take_done(w);
        if (wk_inline_run(w)) {
            free(items);
            return 0;
        }
        timers(w);
        if (w->draining) {
            if (w->inflight && wk_mono_ms() >= w->drain_deadline) {
                drain_expire(w);
                break;
            }
            bool unsent = false; /* results waiting for a session: give it a chance */
            for (int i = 0; i < w->nconns; i++) unsent |= w->conns[i].outbox != NULL;
            if (!w->inflight && (!unsent || wk_mono_ms() >= w->drain_deadline)) break;
        }
    }
out:
    free(items);
    if (w->draining) {
        for (int i = 0; i < w->nconns; i++) {
            wk_conn_t *c = &w->conns[i];
            if (c->state != 2) continue;
            wk_send_simple(c, SYW__ENVELOPE__CMD_GOODBYE);
            int linger = 2000; /* let GOODBYE (and the last ACKs) leave */
            zmq_setsockopt(c->sock, ZMQ_LINGER, &linger, sizeof linger);
        }
        sy_log(SY_LOG_INFO, "worker", NULL, "drained, goodbye");
    }
    return 1;
}

static void worker_free(wk_worker_t *w, bool stuck);

static bool stuck_jobs(const wk_worker_t *w)
{
    return w->inflight != NULL;
}

/* The loop ended on this thread: tell the other one. When the loop ended on
 * the stand-by while the main thread is still inside a handler that will not
 * return (the drain deadline passed), the process ends here. */
static void loop_over(wk_worker_t *w, int rc, bool on_main)
{
    w->exit_code = rc;
    bool other_in_handler = wk_inline_end(w);
    if (!on_main && other_in_handler && stuck_jobs(w)) {
        worker_free(w, true);
        _exit(rc);
    }
}

static void *standby_main(void *arg)
{
    wk_worker_t *w = arg;
    while (wk_inline_standby(w)) {
        int rc;
        if (lead(w, &rc)) {
            loop_over(w, rc, false);
            break;
        }
    }
    return NULL;
}

static int worker_run(wk_worker_t *w)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    w->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    wk_resolve_init(w); /* one session per address the --broker names resolve to */
    wk_inline_init(w);
    bool any_so = false;
    for (int f = 0; f < w->nfns; f++) any_so |= w->fns[f].kind == WK_FN_SO;
    if (w->inl.us > 0 && any_so)
        w->standby_started = pthread_create(&w->standby_thread, NULL, standby_main, w) == 0;
    if (!w->standby_started) w->inl.us = 0;
    for (;;) {
        int rc;
        if (lead(w, &rc)) {
            loop_over(w, rc, true);
            break;
        }
        if (!wk_inline_standby(w)) break; /* ended on the other thread */
    }
    char ran[24], over[24];
    snprintf(ran, sizeof ran, "%llu", (unsigned long long)w->inl.ran);
    snprintf(over, sizeof over, "%llu", (unsigned long long)w->inl.handed_over);
    sy_log(SY_LOG_DEBUG, "worker", NULL, "handlers run on the loop thread", "finished_inline", ran,
           "handed_over", over);
    return w->exit_code;
}

static void worker_free(wk_worker_t *w, bool stuck)
{
    wk_resolve_stop(w);
    for (int i = 0; i < w->nconns; i++) {
        wk_conn_t *c = &w->conns[i];
        wk_conn_close(c);
        while (c->outbox) {
            wk_job_t *j = c->outbox;
            c->outbox = j->next;
            wk_job_free(j);
        }
        free(c->granted);
        free(c->free_slots);
        free(c->running);
        free(c->target);
        free(c->endpoint);
    }
    free(w->spare);
    if (w->zctx) zmq_ctx_term(w->zctx);
    /* a C handler that never returned cannot be joined: the process exits
     * with _exit; runtime processes are killed either way */
    for (int i = 0; i < w->nfns; i++)
        if (!stuck || w->fns[i].kind == WK_FN_RUNTIME) wk_exec_stop(&w->fns[i]);
    if (stuck) return;
    pthread_mutex_lock(&w->done_mu);
    wk_job_t *d = w->done;
    w->done = NULL;
    for (wk_extend_t *x = w->extends, *n; x; x = n) {
        n = x->next;
        free(x);
    }
    w->extends = NULL;
    pthread_mutex_unlock(&w->done_mu);
    while (d) {
        wk_job_t *n = d->next;
        wk_job_free(d);
        d = n;
    }
    for (int i = 0; i < w->nfns; i++) {
        wk_fn_t *fn = &w->fns[i];
        free(fn->name);
        free(fn->path);
        free(fn->symbol);
        free(fn->handler);
    }
    free(w->fns);
    free(w->conns);
    if (w->evfd >= 0) close(w->evfd);
    if (w->sigfd >= 0) close(w->sigfd);
    wk_inline_free(w);
    sy_config_release(&wk_config_table, &w->cfg);
}

int sy_worker_main(int argc, char **argv)
{
    wk_worker_t w;
    memset(&w, 0, sizeof w);
    w.evfd = w.sigfd = -1;
    int rc = wk_args_parse(&w, argc, argv);
    if (rc) {
        worker_free(&w, false);
        return rc == 1 ? 0 : rc;
    }
    /* every thread inherits the mask; the main thread reads signals from a signalfd */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    pthread_mutex_init(&w.done_mu, NULL);
    w.evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    for (int i = 0; i < w.nfns; i++) {
        if (wk_exec_start(&w.fns[i]) != 0) {
            worker_free(&w, false);
            return 2;
        }
    }
    w.zctx = zmq_ctx_new();
    sy_log(SY_LOG_INFO, "worker", NULL, "worker starting", "worker_id", w.worker_id);
    rc = worker_run(&w);
    bool stuck = stuck_jobs(&w);
    if (w.standby_started && !stuck) pthread_join(w.standby_thread, NULL);
    worker_free(&w, stuck);
    if (stuck) _exit(rc);
    pthread_mutex_destroy(&w.done_mu);
    return rc;
}
