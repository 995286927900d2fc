/* worker/pool.c - the broker side of SYW01: a ROUTER thread that holds the
 * sessions of connected workers and pushes invocations to them within their
 * credit. Other threads talk to it through a command queue + eventfd. */
#include <errno.h>
#include <sched.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "worker/internal.h"

static int setopt_int(void *s, int opt, int v)
{
    return zmq_setsockopt(s, opt, &v, sizeof v);
}

static void *pool_thread(void *arg);

sy_pool_t *sy_pool_new(const char *endpoint, const sy_pool_opts_t *opts, sy_err_t *err)
{
    sy_pool_t *p = sy_calloc(1, sizeof *p);
    if (opts) p->opts = *opts;
    if (p->opts.heartbeat_ivl_ms <= 0) p->opts.heartbeat_ivl_ms = 1000;
    if (p->opts.liveness <= 0) p->opts.liveness = 3;
    if (p->opts.max_credit <= 0) p->opts.max_credit = 1024;
    if (p->opts.default_timeout_ms <= 0) p->opts.default_timeout_ms = 900000;
    if (p->opts.busy_poll_us == 0) p->opts.busy_poll_us = SY_POOL_BUSY_POLL_US_DEFAULT;
    p->opts.keys_dir = NULL; /* borrowed strings are not kept */
    p->opts.curve_secret_key = NULL;
    if (opts && opts->lease) {
        p->lease = *opts->lease;
        p->has_lease = true;
    }
    p->opts.lease = NULL;
    p->evfd = -1;
    p->port = -1;
    /* delivery ids are per session, but a random start keeps a restarted
     * broker's ids apart from its predecessor's in logs */
    p->next_id = ((uint64_t)wk_rand32() << 16) + 1;
    pthread_mutex_init(&p->cmd_mu, NULL);
    pthread_mutex_init(&p->metrics_mu, NULL);
    p->curve = opts && opts->curve_secret_key && *opts->curve_secret_key;

    if (!p->curve && !wk_endpoint_is_loopback(endpoint) && !(opts && opts->insecure)) {
        sy_err_set(err, SY_E_INVALID, 500, "InvalidConfiguration",
                 "refusing plain TCP on non-loopback endpoint %s: configure worker keys (CurveZMQ) "
                 "or the insecure flag",
                 endpoint);
        goto fail;
    }
    p->zctx = zmq_ctx_new();
    if (p->curve) {
        if (strlen(opts->curve_secret_key) != 40 ||
            zmq_curve_public(p->public_key, opts->curve_secret_key) != 0) {
            sy_err_set(err, SY_E_INVALID, 500, "InvalidConfiguration", "invalid curve secret key");
            goto fail;
        }
        if (opts->keys_dir && *opts->keys_dir) {
            if (pool_auth_load(p, opts->keys_dir, err) != 0) goto fail;
            p->zap = zmq_socket(p->zctx, ZMQ_REP);
            if (zmq_bind(p->zap, "inproc://zeromq.zap.01") != 0) {
                sy_err_set(err, SY_E_INTERNAL, 500, "InternalFailure", "could not bind ZAP handler: %s",
                         zmq_strerror(errno));
                goto fail;
            }
        }
    }
    p->router = zmq_socket(p->zctx, ZMQ_ROUTER);
    setopt_int(p->router, ZMQ_ROUTER_MANDATORY, 1);
    setopt_int(p->router, ZMQ_ROUTER_HANDOVER, 1);
    setopt_int(p->router, ZMQ_LINGER, 0);
    setopt_int(p->router, ZMQ_SNDHWM, 100000);
    setopt_int(p->router, ZMQ_RCVHWM, 100000);
    setopt_int(p->router, ZMQ_HEARTBEAT_IVL, p->opts.heartbeat_ivl_ms);
    setopt_int(p->router, ZMQ_HEARTBEAT_TIMEOUT, p->opts.heartbeat_ivl_ms * p->opts.liveness);
    if (p->curve) {
        setopt_int(p->router, ZMQ_CURVE_SERVER, 1);
        zmq_setsockopt(p->router, ZMQ_CURVE_SECRETKEY, opts->curve_secret_key, 40);
        zmq_setsockopt(p->router, ZMQ_ZAP_DOMAIN, "switchyard", 10);
    }
    if (zmq_bind(p->router, endpoint) != 0) {
        sy_err_set(err, SY_E_INVALID, 500, "InvalidConfiguration", "could not bind worker endpoint %s: %s",
                 endpoint, zmq_strerror(errno));
        goto fail;
    }
    size_t sz = sizeof p->endpoint;
    zmq_getsockopt(p->router, ZMQ_LAST_ENDPOINT, p->endpoint, &sz);
    const char *colon = strrchr(p->endpoint, ':');
    if (strncmp(p->endpoint, "tcp://", 6) == 0 && colon) p->port = atoi(colon + 1);
    p->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (pthread_create(&p->thread, NULL, pool_thread, p) != 0) {
        sy_err_set(err, SY_E_INTERNAL, 500, "InternalFailure", "could not start pool thread");
        goto fail;
    }
    p->started = true;
    sy_log(SY_LOG_INFO, "pool", NULL, "worker endpoint bound", "endpoint", p->endpoint, "curve",
           p->curve ? (p->zap ? "allow-list" : "any-key") : "off");
    return p;
fail:
    sy_pool_destroy(&p);
    return NULL;
}

static void fail_inv(sy_pool_t *p, pool_inv_t *inv, sy_invoke_status_t st)
{
    sy_invoke_result_t r = {.status = st, .request_id = inv->request_id};
    pool_inv_finish(p, inv, &r);
}

void sy_pool_destroy(sy_pool_t **self_p)
{
    if (!self_p || !*self_p) return;
    sy_pool_t *p = *self_p;
    *self_p = NULL;
    if (p->started) {
        __atomic_store_n(&p->stop, 1, __ATOMIC_RELEASE);
        uint64_t one = 1;
        (void)!write(p->evfd, &one, sizeof one);
        pthread_join(p->thread, NULL);
    }
    /* The thread is gone: everything below is ours. */
    for (pool_cmd_t *c = p->cmds, *n; c; c = n) {
        n = c->next;
        if (c->kind == 3) {
            for (pool_inv_t *inv = c->inv, *nx; inv; inv = nx) { /* offered, never sent */
                nx = inv->next;
                if (p->has_lease && p->lease.release)
                    p->lease.release(p->lease.u, c->function, inv->lease_token, 0);
                free(inv->payload);
                free(inv);
            }
            c->inv = NULL;
        }
        if (c->inv) fail_inv(p, c->inv, SY_INVOKE_SHUTDOWN);
        free(c->function);
        free(c);
    }
    /* In-flight leases stay with their workers: a later ACK (to another
     * broker) settles them, or their visibility timeout returns them. */
    while (p->inflight) fail_inv(p, p->inflight, SY_INVOKE_SHUTDOWN);
    while (p->sessions) pool_session_kill(p, p->sessions, NULL);
    for (pool_func_t *f = p->funcs, *n; f; f = n) {
        n = f->next;
        while (f->pending) {
            pool_inv_t *inv = f->pending;
            f->pending = inv->next;
            if (inv->sync) {
                fail_inv(p, inv, SY_INVOKE_SHUTDOWN);
            } else {
                /* leased but never sent: hand it back at once */
                if (p->has_lease && p->lease.release)
                    p->lease.release(p->lease.u, f->name, inv->lease_token, 0);
                free(inv->payload);
                free(inv);
            }
        }
        free(f->name);
        free(f);
    }
    if (p->router) {
        int linger = 200; /* let the DISCONNECTs leave */
        zmq_setsockopt(p->router, ZMQ_LINGER, &linger, sizeof linger);
        zmq_close(p->router);
    }
    if (p->zap) zmq_close(p->zap);
    if (p->zctx) zmq_ctx_term(p->zctx);
    if (p->evfd >= 0) close(p->evfd);
    for (size_t i = 0; i < p->nallowed; i++) free(p->allowed_fns[i]);
    free(p->allowed_fns);
    free(p->allowed);
    pthread_mutex_destroy(&p->cmd_mu);
    pthread_mutex_destroy(&p->metrics_mu);
    free(p);
}

int sy_pool_port(const sy_pool_t *self)
{
    return self ? self->port : -1;
}

const char *sy_pool_endpoint(const sy_pool_t *self)
{
    return self->endpoint;
}

const char *sy_pool_public_key(const sy_pool_t *self)
{
    return self->curve ? self->public_key : NULL;
}

static void push_cmd(sy_pool_t *p, pool_cmd_t *c)
{
    pthread_mutex_lock(&p->cmd_mu);
    bool was_empty = p->cmds == NULL;
    if (p->cmds_tail)
        p->cmds_tail->next = c;
    else
        p->cmds = c;
    p->cmds_tail = c;
    pthread_mutex_unlock(&p->cmd_mu);
    /* a callback on the pool thread (an invocation finishing and starting
     * the next) needs no wake: the thread looks at the queue before it polls */
    if (was_empty && !(p->started && pthread_equal(pthread_self(), p->thread))) {
        uint64_t one = 1;
        (void)!write(p->evfd, &one, sizeof one);
    }
}

int sy_pool_invoke(sy_pool_t *p, const char *function, const void *payload, size_t len,
                   int64_t deadline_ms, sy_invoke_cb cb, void *u)
{
    sy_invoke_opts_t o = {.deadline_ms = deadline_ms};
    return sy_pool_invoke_opts(p, function, payload, len, &o, cb, u);
}

int sy_pool_invoke_opts(sy_pool_t *p, const char *function, const void *payload, size_t len,
                        const sy_invoke_opts_t *o, sy_invoke_cb cb, void *u)
{
    if (!p || !function || !*function || !cb || !o || POOL_STOPPING(p)) return SY_E_INVALID;
    if (o->request_id && strlen(o->request_id) >= sizeof((pool_inv_t *)0)->request_id)
        return SY_E_INVALID;
    pool_inv_t *inv = sy_calloc(1, sizeof *inv);
    inv->sync = true;
    inv->cb = cb;
    inv->u = u;
    inv->deadline_ms = o->deadline_ms;
    inv->attempt = 1;
    if (o->request_id && *o->request_id)
        snprintf(inv->request_id, sizeof inv->request_id, "%s", o->request_id);
    else
        sy_uuid4(inv->request_id);
    if (o->traceparent)
        snprintf(inv->traceparent, sizeof inv->traceparent, "%s", o->traceparent);
    inv->payload = sy_malloc(len);
    if (len) memcpy(inv->payload, payload, len);
    inv->len = len;
    pool_inv_attach_config(inv, o->config);
    pool_cmd_t *c = sy_calloc(1, sizeof *c);
    c->kind = 1;
    c->inv = inv;
    c->function = sy_strdup(function);
    push_cmd(p, c);
    return 0;
}

int sy_pool_offer(sy_pool_t *p, const char *function, sy_delivery_t *d, int n)
{
    if (!p || !function || !*function || n < 0 || (n && !d) || POOL_STOPPING(p)) return SY_E_INVALID;
    if (n == 0) return 0;
    pool_cmd_t *c = sy_calloc(1, sizeof *c);
    c->kind = 3;
    c->function = sy_strdup(function);
    int64_t wall = sy_now_ms();
    pool_inv_t **tail = &c->inv;
    for (int i = 0; i < n; i++) {
        *tail = pool_inv_from_delivery(p, NULL, &d[i], wall);
        tail = &(*tail)->next;
    }
    push_cmd(p, c);
    return 0;
}

void sy_pool_wake(sy_pool_t *p, const char *function)
{
    if (!p || !function) return;
    pool_cmd_t *c = sy_calloc(1, sizeof *c);
    c->kind = 2;
    c->function = sy_strdup(function);
    push_cmd(p, c);
}

int sy_pool_quiesce(sy_pool_t *p, int64_t deadline_ms)
{
    if (!p) return 0;
    bool told = false;
    for (;;) {
        /* the pool thread refreshes the gauge every 10 ms */
        uint64_t n = __atomic_load_n(&p->stats.inflight, __ATOMIC_RELAXED);
        if (n == 0 || sy_now_ms() >= deadline_ms) return (int)n;
        if (!told) {
            char v[24];
            snprintf(v, sizeof v, "%llu", (unsigned long long)n);
            sy_log(SY_LOG_INFO, "pool", NULL, "waiting for in-flight invocations to finish", "inflight", v);
            told = true;
        }
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

void sy_pool_stats(sy_pool_t *p, sy_pool_stats_t *out)
{
    const uint64_t *src = (const uint64_t *)&p->stats;
    uint64_t *dst = (uint64_t *)out;
    for (size_t i = 0; i < sizeof *out / sizeof(uint64_t); i++)
        dst[i] = __atomic_load_n(&src[i], __ATOMIC_RELAXED);
}

void sy_pool_metrics_publish(sy_pool_t *p)
{
    sy_pool_stats_t st;
    sy_pool_stats(p, &st);
    sy_metric_set("switchyard_worker_sessions", NULL, (double)st.workers);
    sy_metric_set("switchyard_worker_credit", NULL, (double)st.credit);
    sy_metric_set("switchyard_worker_inflight", NULL, (double)st.inflight);
    sy_metric_set("switchyard_worker_pending_invocations", NULL, (double)st.pending);
    pthread_mutex_lock(&p->metrics_mu);
#define COUNTER(name, field)                                                                       \
    if (st.field > p->published.field)                                                             \
        sy_metric_inc(name, NULL, (double)(st.field - p->published.field));                        \
    else                                                                                           \
        sy_metric_inc(name, NULL, 0);
    COUNTER("switchyard_worker_deliveries_total", deliveries)
    COUNTER("switchyard_worker_acks_total", acks)
    COUNTER("switchyard_worker_function_errors_total", fn_errors)
    COUNTER("switchyard_worker_releases_total", releases)
    COUNTER("switchyard_worker_extends_total", extends)
    COUNTER("switchyard_worker_stale_acks_total", stale_acks)
    COUNTER("switchyard_worker_expired_sessions_total", expired_workers)
    COUNTER("switchyard_worker_refused_total", refused)
    COUNTER("switchyard_worker_invoke_timeouts_total", timeouts)
#undef COUNTER
    p->published = st;
    pthread_mutex_unlock(&p->metrics_mu);
}

void sy_pool_functions(sy_pool_t *p, void (*fn)(const sy_pool_function_info_t *info, void *u),
                       void *u)
{
    pthread_mutex_lock(&p->cmd_mu); /* sessions and functions change under it */
    for (pool_func_t *f = p->funcs; f; f = f->next) {
        sy_pool_function_info_t info = {.name = f->name, .credit = f->credit};
        for (pool_session_t *s = p->sessions; s; s = s->next)
            for (size_t i = 0; i < s->nfuncs; i++)
                if (s->funcs[i].pf == f) {
                    info.workers++;
                    info.concurrency += s->funcs[i].max_concurrency;
                }
        if (info.workers) fn(&info, u);
    }
    pthread_mutex_unlock(&p->cmd_mu);
}

int sy_pool_function_credit(sy_pool_t *p, const char *function)
{
    int c = 0;
    pthread_mutex_lock(&p->cmd_mu);
    for (pool_func_t *f = p->funcs; f; f = f->next)
        if (strcmp(f->name, function) == 0) c = f->credit;
    pthread_mutex_unlock(&p->cmd_mu);
    return c;
}

/* ------------------------------------------------------------ the thread */
static void take_cmds(sy_pool_t *p)
{
    uint64_t v;
    (void)!read(p->evfd, &v, sizeof v);
    pthread_mutex_lock(&p->cmd_mu);
    pool_cmd_t *c = p->cmds;
    p->cmds = p->cmds_tail = NULL;
    pthread_mutex_unlock(&p->cmd_mu);
    while (c) {
        pool_cmd_t *n = c->next;
        pool_func_t *pf = pool_func_get(p, c->function);
        if (c->kind == 1) {
            c->inv->pf = pf;
            c->inv->no_worker_at = sy_now_ms() + 1000;
            POOL_STAT_ADD(p, pending, 1);
            pool_pending_push(pf, c->inv, false);
        } else if (c->kind == 3) {
            for (pool_inv_t *inv = c->inv, *nx; inv; inv = nx) {
                nx = inv->next;
                inv->pf = pf;
                pool_pending_push(pf, inv, false);
            }
            c->inv = NULL;
        } else {
            pf->lease_wanted = true;
        }
        pool_dispatch(p, pf);
        free(c->function);
        free(c);
        c = n;
    }
}

static void update_gauges(sy_pool_t *p)
{
    uint64_t workers = 0, credit = 0;
    pthread_mutex_lock(&p->cmd_mu);
    for (pool_func_t *f = p->funcs; f; f = f->next) f->credit = 0;
    for (pool_session_t *s = p->sessions; s; s = s->next) {
        workers++;
        for (size_t i = 0; i < s->nfuncs; i++) {
            credit += (uint64_t)s->funcs[i].credit;
            s->funcs[i].pf->credit += s->funcs[i].credit;
        }
    }
    pthread_mutex_unlock(&p->cmd_mu);
    uint64_t inflight = 0;
    for (pool_inv_t *i = p->inflight; i; i = i->next) inflight++;
    POOL_STAT_SET(p, workers, workers);
    POOL_STAT_SET(p, credit, credit);
    POOL_STAT_SET(p, inflight, inflight);
}

/* Block for up to 20 ms, or - while a synchronous caller waits for a worker
 * and the last event is recent - only look (timeout 0) and yield the CPU.
 * On a virtual machine, waking a halted vCPU costs tens of microseconds; a
 * pool thread that stays runnable for the length of a short invocation
 * takes the answer without that wake (docs/workers.md, busy polling). With
 * many invocations outstanding, answers arrive back to back and the CPUs
 * stay busy anyway: polling then only takes CPU time from the workers. */
#define BUSY_POLL_MAX_INFLIGHT 8

static int poll_timeout(const sy_pool_t *p, int64_t last_event_us)
{
    if (p->opts.busy_poll_us <= 0 || p->sync_inflight <= 0 ||
        p->sync_inflight > BUSY_POLL_MAX_INFLIGHT)
        return 20;
    return sy_mono_us() - last_event_us < p->opts.busy_poll_us ? 0 : 20;
}

static void *pool_thread(void *arg)
{
    sy_pool_t *p = arg;
    int64_t last_timers = 0, last_event_us = 0;
    int beat = sy_beat_register("worker-pool", 10000); /* GET /health/live */
    while (!POOL_STOPPING(p)) {
        sy_beat(beat);
        zmq_pollitem_t items[3] = {{p->router, 0, ZMQ_POLLIN, 0}, {NULL, p->evfd, ZMQ_POLLIN, 0},
                                   {p->zap, 0, ZMQ_POLLIN, 0}};
        pthread_mutex_lock(&p->cmd_mu);
        bool queued = p->cmds != NULL; /* pushed from this thread: no eventfd */
        pthread_mutex_unlock(&p->cmd_mu);
        int timeout = queued ? 0 : poll_timeout(p, last_event_us);
        int n = zmq_poll(items, p->zap ? 3 : 2, timeout);
        if (n < 0 && errno != EINTR) break;
        if (n > 0 || queued)
            last_event_us = sy_mono_us();
        else if (timeout == 0)
            sched_yield();
        if (queued || (items[1].revents & ZMQ_POLLIN)) take_cmds(p);
        if (items[0].revents & ZMQ_POLLIN) {
            for (int i = 0; i < 512; i++) {
                wk_frame_t f;
                int rc = wk_wire_recv(p->router, true, &f, ZMQ_DONTWAIT);
                if (rc == WK_WIRE_AGAIN) {
                    wk_frame_close(&f);
                    break;
                }
                pool_handle_message(p, &f, rc);
                wk_frame_close(&f);
            }
        }
        if (p->zap && (items[2].revents & ZMQ_POLLIN)) pool_auth_handle(p);
        int64_t now = wk_mono_ms();
        if (now - last_timers >= 10) {
            last_timers = now;
            pool_timers(p);
            update_gauges(p);
        }
    }
    sy_beat_stop(beat);
    /* Tell workers we are going: they reconnect (to us or another broker). */
    for (pool_session_t *s = p->sessions; s; s = s->next)
        pool_send_disconnect(p, s->rid, s->rid_len, SYW__DISCONNECT_REASON__DISCONNECT_SHUTDOWN,
                             "broker shutting down");
    return NULL;
}
