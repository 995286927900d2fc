/* worker/worker.c - `switchyard worker`: one DEALER per broker, credit equal
 * to free slots, slot threads run the handlers, heartbeats, reconnect with
 * back-off + jitter on a fresh socket, drain on SIGTERM. The main thread owns
 * every socket; slot threads hand results back through a list + eventfd. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "worker/internal.h"

#define BACKOFF_MAX_MS 32000
#define HELLO_TIMEOUT_MS 3000

wk_fn_t *wk_fn_find(wk_worker_t *w, const char *name)
{
    for (int i = 0; i < w->nfns; i++)
        if (strcmp(w->fns[i].name, name) == 0) return &w->fns[i];
    return NULL;
}

void wk_job_free(wk_job_t *j)
{
    if (!j) return;
    free(j->payload);
    free(j->result);
    free(j->error_type);
    free(j->error_message);
    free(j);
}

void wk_done_push(wk_worker_t *w, wk_job_t *j)
{
    pthread_mutex_lock(&w->done_mu);
    j->next = w->done;
    w->done = j;
    pthread_mutex_unlock(&w->done_mu);
    uint64_t one = 1;
    (void)!write(w->evfd, &one, sizeof one);
}

void wk_extend_push(wk_worker_t *w, const wk_job_t *j, int64_t ms)
{
    wk_extend_t *x = wk_calloc(1, sizeof *x);
    x->conn = j->conn;
    x->delivery_id = j->delivery_id;
    snprintf(x->lease_token, sizeof x->lease_token, "%s", j->lease_token);
    x->fn = j->fn;
    x->ms = ms;
    pthread_mutex_lock(&w->done_mu);
    x->next = w->extends;
    w->extends = x;
    pthread_mutex_unlock(&w->done_mu);
    uint64_t one = 1;
    (void)!write(w->evfd, &one, sizeof one);
}

/* ------------------------------------------------------------ sending */
static int conn_send(wk_conn_t *c, const Syw__Envelope *e, const void *body, size_t len)
{
    if (!c->sock) return -1;
    int rc = wk_wire_send(c->sock, NULL, 0, e, NULL, body, len, NULL);
    if (rc == 0) c->last_send = wk_mono_ms();
    return rc;
}

static void send_credit(wk_conn_t *c, wk_fn_t *fn, int amount)
{
    Syw__Credit cr = SYW__CREDIT__INIT;
    cr.function = fn->name;
    cr.amount = (uint32_t)amount;
    Syw__Envelope e = SYW__ENVELOPE__INIT;
    e.cmd_case = SYW__ENVELOPE__CMD_CREDIT;
    e.credit = &cr;
    conn_send(c, &e, NULL, 0);
}

/* Settle a job towards its broker: ACK (ok/error) or RELEASE. credit is the
 * number of slots given back to that session with it. */
static void send_result(wk_conn_t *c, wk_job_t *j, int credit)
{
    Syw__Envelope e = SYW__ENVELOPE__INIT;
    if (j->outcome == WK_OUT_RELEASE) {
        Syw__Release r = SYW__RELEASE__INIT;
        r.delivery_id = j->delivery_id;
        r.lease_token = j->lease_token;
        r.function = j->fn->name;
        r.reason = "worker draining";
        r.credit = (uint32_t)credit;
        e.cmd_case = SYW__ENVELOPE__CMD_RELEASE;
        e.release = &r;
        conn_send(c, &e, NULL, 0);
        return;
    }
    Syw__Ack a = SYW__ACK__INIT;
    a.delivery_id = j->delivery_id;
    a.lease_token = j->lease_token;
    a.function = j->fn->name;
    a.message_id = j->message_id;
    a.outcome = j->outcome == WK_OUT_OK ? SYW__OUTCOME__OUTCOME_OK : SYW__OUTCOME__OUTCOME_FN_ERROR;
    a.error_type = j->error_type ? j->error_type : "";
    a.error_message = j->error_message ? j->error_message : "";
    a.retryable = j->retryable;
    a.duration_ms = (uint32_t)(wk_mono_ms() - j->started_mono);
    a.credit = (uint32_t)credit;
    e.cmd_case = SYW__ENVELOPE__CMD_ACK;
    e.ack = &a;
    conn_send(c, &e, j->result, j->result_len);
}

static wk_conn_t *active_conn(wk_worker_t *w, int idx)
{
    return idx >= 0 && idx < w->nconns && w->conns[idx].state == 2 ? &w->conns[idx] : NULL;
}

/* Each broker owns a fixed share of every function's slots (concurrency
 * split evenly over the --broker list), so no broker can sit on credit
 * another one needs; a broker that is away leaves its share unused. Free
 * slots of an active session are granted to it as credit. */
static void grant_free(wk_worker_t *w)
{
    if (w->draining) return;
    for (int i = 0; i < w->nconns; i++) {
        wk_conn_t *c = active_conn(w, i);
        for (int f = 0; c && f < w->nfns; f++) {
            if (c->free_slots[f] <= 0) continue;
            int amount = c->free_slots[f];
            c->granted[f] += amount;
            c->free_slots[f] = 0;
            send_credit(c, &w->fns[f], amount);
        }
    }
}

/* A job is done (or given up): report it unless already reported. */
static void settle(wk_worker_t *w, wk_job_t *j, bool slot_free)
{
    int f = (int)(j->fn - w->fns);
    wk_conn_t *c = active_conn(w, j->conn);
    int credit = 0;
    if (slot_free) {
        j->fn->running--;
        if (c && !w->draining) {
            credit = 1;
            c->granted[f]++;
        } else {
            w->conns[j->conn].free_slots[f]++;
        }
    }
    if (j->reported || j->cancelled) {
        if (credit) send_credit(c, j->fn, credit);
        wk_job_free(j);
        return;
    }
    j->reported = true;
    if (c) {
        send_result(c, j, credit);
        wk_job_free(j);
    } else {
        /* no session right now: keep it for the next WELCOME */
        wk_conn_t *oc = &w->conns[j->conn];
        j->next = NULL;
        if (oc->outbox_tail)
            oc->outbox_tail->next = j;
        else
            oc->outbox = j;
        oc->outbox_tail = j;
    }
}

static void inflight_remove(wk_worker_t *w, wk_job_t *j)
{
    for (wk_job_t **pp = &w->inflight; *pp; pp = &(*pp)->inext)
        if (*pp == j) {
            *pp = j->inext;
            j->inext = NULL;
            return;
        }
}

static void take_done(wk_worker_t *w)
{
    uint64_t v;
    (void)!read(w->evfd, &v, sizeof v);
    pthread_mutex_lock(&w->done_mu);
    wk_job_t *j = w->done;
    w->done = NULL;
    wk_extend_t *x = w->extends;
    w->extends = NULL;
    pthread_mutex_unlock(&w->done_mu);
    while (x) { /* before the results: an EXTEND after its ACK would be stale */
        wk_extend_t *n = x->next;
        wk_conn_t *c = active_conn(w, x->conn);
        if (c) {
            Syw__Extend m = SYW__EXTEND__INIT;
            m.delivery_id = x->delivery_id;
            m.lease_token = x->lease_token;
            m.function = x->fn->name;
            m.extend_ms = (uint32_t)(x->ms > UINT32_MAX ? UINT32_MAX : x->ms);
            Syw__Envelope e = SYW__ENVELOPE__INIT;
            e.cmd_case = SYW__ENVELOPE__CMD_EXTEND;
            e.extend = &m;
            conn_send(c, &e, NULL, 0);
        }
        free(x);
        x = n;
    }
    while (j) {
        wk_job_t *n = j->next;
        inflight_remove(w, j);
        settle(w, j, true);
        j = n;
    }
}

/* ------------------------------------------------------- connections */
static void mon_close(wk_conn_t *c)
{
    if (!c->mon) return;
    if (c->sock) zmq_socket_monitor(c->sock, NULL, 0);
    zmq_close(c->mon);
    c->mon = NULL;
}

/* The transport tells us why a handshake failed; say it once, clearly. */
static void mon_read(wk_conn_t *c)
{
    for (;;) {
        zmq_msg_t ev, addr;
        zmq_msg_init(&ev);
        if (zmq_msg_recv(&ev, c->mon, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&ev);
            return;
        }
        zmq_msg_init(&addr);
        if (zmq_msg_more(&ev)) zmq_msg_recv(&addr, c->mon, 0);
        uint16_t id = 0;
        if (zmq_msg_size(&ev) >= 2) memcpy(&id, zmq_msg_data(&ev), 2);
        if (!c->auth_logged) {
            c->auth_logged = true;
            if (id == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)
                wk_log(WK_ERROR, "worker", NULL,
                       "broker refused this worker's key (not in its allow-list?)", "broker",
                       c->endpoint, (const char *)NULL);
            else
                wk_log(WK_ERROR, "worker", NULL,
                       "handshake with broker failed (wrong broker key, or curve on one side only?)",
                       "broker", c->endpoint, (const char *)NULL);
        }
        zmq_msg_close(&addr);
        zmq_msg_close(&ev);
    }
}

static void conn_reset(wk_worker_t *w, wk_conn_t *c, bool fast)
{
    mon_close(c);
    if (c->sock) zmq_close(c->sock);
    c->sock = NULL;
    c->state = 0;
    for (int f = 0; f < w->nfns; f++) {
        c->free_slots[f] += c->granted[f];
        c->granted[f] = 0;
    }
    int64_t base = fast ? w->reconnect_min_ms : c->backoff_ms;
    if (base < w->reconnect_min_ms) base = w->reconnect_min_ms;
    /* jitter: 50%..150% of the back-off */
    c->reconnect_at = wk_mono_ms() + base / 2 + (int64_t)(wk_rand32() % (uint32_t)(base + 1));
    if (!fast) c->backoff_ms = base * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : base * 2;
    grant_free(w);
}

static void conn_open(wk_worker_t *w, wk_conn_t *c)
{
    c->sock = zmq_socket(w->zctx, ZMQ_DEALER);
    /* a fresh random routing id per session */
    char rid[37];
    wk_uuid4(rid);
    zmq_setsockopt(c->sock, ZMQ_ROUTING_ID, rid, 36);
    int v = 0;
    zmq_setsockopt(c->sock, ZMQ_LINGER, &v, sizeof v);
    v = 100000;
    zmq_setsockopt(c->sock, ZMQ_SNDHWM, &v, sizeof v);
    zmq_setsockopt(c->sock, ZMQ_RCVHWM, &v, sizeof v);
    v = 1000;
    zmq_setsockopt(c->sock, ZMQ_HEARTBEAT_IVL, &v, sizeof v);
    v = 3000;
    zmq_setsockopt(c->sock, ZMQ_HEARTBEAT_TIMEOUT, &v, sizeof v);
    if (w->broker_key[0]) {
        zmq_setsockopt(c->sock, ZMQ_CURVE_SERVERKEY, w->broker_key, 40);
        zmq_setsockopt(c->sock, ZMQ_CURVE_PUBLICKEY, w->public_key, 40);
        zmq_setsockopt(c->sock, ZMQ_CURVE_SECRETKEY, w->secret_key, 40);
    }
    static int mon_seq;
    char mon_ep[64];
    snprintf(mon_ep, sizeof mon_ep, "inproc://sy-worker-mon-%d", mon_seq++);
    if (zmq_socket_monitor(c->sock, mon_ep,
                           ZMQ_EVENT_HANDSHAKE_FAILED_AUTH | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                               ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL) == 0) {
        c->mon = zmq_socket(w->zctx, ZMQ_PAIR);
        if (zmq_connect(c->mon, mon_ep) != 0) {
            zmq_close(c->mon);
            c->mon = NULL;
        }
    }
    if (zmq_connect(c->sock, c->endpoint) != 0) {
        wk_log(WK_ERROR, "worker", NULL, "could not connect", "broker", c->endpoint, "error",
               zmq_strerror(errno), (const char *)NULL);
        conn_reset(w, c, false);
        return;
    }
    Syw__Hello h = SYW__HELLO__INIT;
    h.worker_id = w->worker_id;
    h.version = "switchyard-worker/0.1";
    char host[64] = "";
    gethostname(host, sizeof host - 1);
    h.node = host;
    Syw__FunctionSpec *specs = wk_calloc((size_t)w->nfns, sizeof *specs);
    Syw__FunctionSpec **sp = wk_calloc((size_t)w->nfns, sizeof *sp);
    for (int i = 0; i < w->nfns; i++) {
        syw__function_spec__init(&specs[i]);
        specs[i].name = w->fns[i].name;
        specs[i].max_concurrency = (uint32_t)w->fns[i].concurrency;
        specs[i].timeout_ms = (uint32_t)w->fns[i].timeout_ms;
        sp[i] = &specs[i];
    }
    h.n_functions = (size_t)w->nfns;
    h.functions = sp;
    Syw__Envelope e = SYW__ENVELOPE__INIT;
    e.cmd_case = SYW__ENVELOPE__CMD_HELLO;
    e.hello = &h;
    conn_send(c, &e, NULL, 0);
    free(sp);
    free(specs);
    c->state = 1;
    c->hello_at = c->last_recv = wk_mono_ms();
}

static void on_welcome(wk_worker_t *w, wk_conn_t *c, const Syw__Welcome *wl)
{
    c->state = 2;
    c->auth_logged = false;
    c->ivl_ms = (int)wl->heartbeat_ivl_ms;
    c->liveness = (int)wl->liveness;
    c->backoff_ms = w->reconnect_min_ms;
    snprintf(c->session_id, sizeof c->session_id, "%s", wl->session_id ? wl->session_id : "");
    wk_log(WK_INFO, "worker", NULL, "registered with broker", "broker", c->endpoint,
           "session_id", c->session_id, (const char *)NULL);
    if (w->draining) {
        Syw__Draining d = SYW__DRAINING__INIT;
        d.deadline_ms = wk_now_ms() + (w->drain_deadline - wk_mono_ms());
        Syw__Envelope e = SYW__ENVELOPE__INIT;
        e.cmd_case = SYW__ENVELOPE__CMD_DRAINING;
        e.draining = &d;
        conn_send(c, &e, NULL, 0);
    }
    /* results finished while we had no session: the lease token is the authority */
    while (c->outbox) {
        wk_job_t *j = c->outbox;
        c->outbox = j->next;
        send_result(c, j, 0);
        wk_job_free(j);
    }
    c->outbox_tail = NULL;
    grant_free(w);
}

static void release_now(wk_worker_t *w, wk_conn_t *c, const Syw__Deliver *d, const char *why)
{
    Syw__Release r = SYW__RELEASE__INIT;
    r.delivery_id = d->delivery_id;
    r.lease_token = d->lease_token;
    r.function = d->function;
    r.reason = (char *)why;
    Syw__Envelope e = SYW__ENVELOPE__INIT;
    e.cmd_case = SYW__ENVELOPE__CMD_RELEASE;
    e.release = &r;
    conn_send(c, &e, NULL, 0);
    (void)w;
}

static void on_deliver(wk_worker_t *w, int ci, wk_frame_t *fr)
{
    wk_conn_t *c = &w->conns[ci];
    const Syw__Deliver *d = fr->env->deliver;
    wk_fn_t *fn = wk_fn_find(w, d->function);
    if (!fn) {
        release_now(w, c, d, "function not hosted");
        return;
    }
    int f = (int)(fn - w->fns);
    if (c->granted[f] <= 0 || w->draining) {
        wk_log(WK_WARN, "worker", d->request_id, "delivery without credit, released",
               "function", fn->name, (const char *)NULL);
        release_now(w, c, d, w->draining ? "worker draining" : "no credit");
        return;
    }
    c->granted[f]--;
    fn->running++;
    wk_job_t *j = wk_calloc(1, sizeof *j);
    j->delivery_id = d->delivery_id;
    j->conn = ci;
    j->fn = fn;
    snprintf(j->lease_token, sizeof j->lease_token, "%s", d->lease_token ? d->lease_token : "");
    snprintf(j->message_id, sizeof j->message_id, "%s", d->message_id ? d->message_id : "");
    snprintf(j->traceparent, sizeof j->traceparent, "%s", d->traceparent ? d->traceparent : "");
    if (d->request_id && *d->request_id)
        snprintf(j->request_id, sizeof j->request_id, "%s", d->request_id);
    else
        wk_uuid4(j->request_id);
    j->attempt = d->attempt ? d->attempt : 1;
    int64_t now = wk_now_ms();
    j->caller_deadline_ms = d->deadline_ms > 0 ? d->deadline_ms : 0;
    wk_job_start_clock(j, now);
    size_t len;
    const void *body = wk_frame_body(fr, &len);
    j->payload = wk_malloc(len + 1);
    memcpy(j->payload, body, len);
    ((char *)j->payload)[len] = 0;
    j->len = len;
    j->started_mono = wk_mono_ms();
    j->inext = w->inflight;
    w->inflight = j;
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

static void on_cancel(wk_worker_t *w, const Syw__Cancel *cn)
{
    for (wk_job_t *j = w->inflight; j; j = j->inext) {
        if (j->delivery_id != cn->delivery_id) continue;
        j->cancelled = true;
        wk_log(WK_INFO, "worker", j->request_id, "invocation cancelled by broker", "reason",
               cn->reason ? cn->reason : "", (const char *)NULL);
        if (j->fn->kind == WK_FN_RUNTIME) wk_runtime_cancel(j->fn, j->delivery_id);
    }
}

/* 0 fine; 3 fatal version mismatch */
static int on_message(wk_worker_t *w, int ci)
{
    wk_conn_t *c = &w->conns[ci];
    for (int n = 0; n < 512 && c->sock; n++) {
        wk_frame_t f;
        int rc = wk_wire_recv(c->sock, false, &f, ZMQ_DONTWAIT);
        if (rc == WK_WIRE_AGAIN) {
            wk_frame_close(&f);
            return 0;
        }
        c->last_recv = wk_mono_ms();
        if (rc == WK_WIRE_VERSION) {
            char msg[160];
            snprintf(msg, sizeof msg, "protocol version mismatch: worker speaks %s, broker sent %s",
                     SY_WORKER_PROTOCOL, f.sig);
            wk_log(WK_ERROR, "worker", NULL, msg, "broker", c->endpoint, (const char *)NULL);
            wk_frame_close(&f);
            return 3;
        }
        if (rc != WK_WIRE_OK) {
            wk_log(WK_WARN, "worker", NULL, "malformed message from broker", "broker", c->endpoint,
                   (const char *)NULL);
            wk_frame_close(&f);
            continue;
        }
        switch (f.env->cmd_case) {
        case SYW__ENVELOPE__CMD_WELCOME:
            if (c->state == 1) on_welcome(w, c, f.env->welcome);
            break;
        case SYW__ENVELOPE__CMD_DELIVER:
            if (c->state == 2) on_deliver(w, ci, &f);
            break;
        case SYW__ENVELOPE__CMD_CANCEL:
            on_cancel(w, f.env->cancel);
            break;
        case SYW__ENVELOPE__CMD_HEARTBEAT:
            break;
        case SYW__ENVELOPE__CMD_DISCONNECT: {
            const Syw__Disconnect *d = f.env->disconnect;
            const char *why = d->message && *d->message ? d->message : "disconnect";
            if (d->reason == SYW__DISCONNECT_REASON__DISCONNECT_VERSION_MISMATCH) {
                wk_log(WK_ERROR, "worker", NULL, "broker refused us: protocol version mismatch",
                       "broker", c->endpoint, "detail", why, (const char *)NULL);
                wk_frame_close(&f);
                return 3;
            }
            wk_log(WK_WARN, "worker", NULL, "broker disconnected us, reconnecting", "broker",
                   c->endpoint, "reason", why, (const char *)NULL);
            wk_frame_close(&f);
            conn_reset(w, c, true);
            return 0;
        }
        default:
            wk_log(WK_WARN, "worker", NULL, "unexpected command from broker", "command",
                   wk_cmd_name(f.env->cmd_case), (const char *)NULL);
        }
        wk_frame_close(&f);
    }
    return 0;
}

static void send_simple(wk_conn_t *c, int cmd)
{
    Syw__Envelope e = SYW__ENVELOPE__INIT;
    Syw__Heartbeat hb = SYW__HEARTBEAT__INIT;
    Syw__Goodbye gb = SYW__GOODBYE__INIT;
    e.cmd_case = cmd;
    if (cmd == SYW__ENVELOPE__CMD_HEARTBEAT) e.heartbeat = &hb;
    else e.goodbye = &gb;
    conn_send(c, &e, NULL, 0);
}

static void timers(wk_worker_t *w)
{
    int64_t now = wk_mono_ms(), wall = wk_now_ms();
    for (int i = 0; i < w->nconns; i++) {
        wk_conn_t *c = &w->conns[i];
        if (c->state == 0) {
            if (now >= c->reconnect_at) conn_open(w, c);
            continue;
        }
        if (c->state == 1) {
            if (now - c->hello_at > HELLO_TIMEOUT_MS) {
                wk_log(WK_WARN, "worker", NULL, "no WELCOME from broker, reconnecting", "broker",
                       c->endpoint, (const char *)NULL);
                conn_reset(w, c, false);
            }
            continue;
        }
        if (now - c->last_recv > (int64_t)c->ivl_ms * c->liveness) {
            wk_log(WK_WARN, "worker", NULL, "broker silent, reconnecting", "broker", c->endpoint,
                   (const char *)NULL);
            conn_reset(w, c, false);
            continue;
        }
        if (now - c->last_send >= c->ivl_ms) send_simple(c, SYW__ENVELOPE__CMD_HEARTBEAT);
    }
    /* C handlers cannot be stopped: past the deadline the invocation fails,
     * the slot stays busy (no credit) until the handler returns. */
    for (wk_job_t *j = w->inflight; j; j = j->inext) {
        if (j->reported || j->cancelled || j->fn->kind != WK_FN_SO || wall < j->deadline_ms)
            continue;
        wk_job_t t = *j; /* report from a copy: the slot thread owns the result fields */
        t.result = NULL;
        t.error_type = t.error_message = NULL;
        wk_job_set_timeout(&t);
        wk_conn_t *c = active_conn(w, j->conn);
        if (c) send_result(c, &t, 0);
        free(t.result);
        free(t.error_type);
        free(t.error_message);
        j->reported = true;
        wk_log(WK_WARN, "worker", j->request_id, "handler timed out", "function", j->fn->name,
               (const char *)NULL);
    }
}

static void drain_start(wk_worker_t *w)
{
    if (w->draining) return;
    w->draining = true;
    w->drain_deadline = wk_mono_ms() + w->drain_timeout_ms;
    wk_log(WK_INFO, "worker", NULL, "draining", (const char *)NULL);
    Syw__Draining d = SYW__DRAINING__INIT;
    d.deadline_ms = wk_now_ms() + w->drain_timeout_ms;
    Syw__Envelope e = SYW__ENVELOPE__INIT;
    e.cmd_case = SYW__ENVELOPE__CMD_DRAINING;
    e.draining = &d;
    for (int i = 0; i < w->nconns; i++) {
        wk_conn_t *c = &w->conns[i];
        if (c->state != 2) continue;
        conn_send(c, &e, NULL, 0);
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
            inflight_remove(w, q);
            q->outcome = WK_OUT_RELEASE;
            settle(w, q, true);
            q = n;
        }
    }
}

/* At the drain deadline: RELEASE what is still running. */
static void drain_expire(wk_worker_t *w)
{
    for (wk_job_t *j = w->inflight; j; j = j->inext) {
        if (j->reported) continue;
        wk_conn_t *c = active_conn(w, j->conn);
        wk_job_t t = *j;
        t.outcome = WK_OUT_RELEASE;
        if (c) send_result(c, &t, 0);
        j->reported = true;
    }
}

static int worker_run(wk_worker_t *w)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    w->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    for (int i = 0; i < w->nconns; i++) {
        w->conns[i].granted = wk_calloc((size_t)w->nfns, sizeof(int));
        w->conns[i].free_slots = wk_calloc((size_t)w->nfns, sizeof(int));
        for (int f = 0; f < w->nfns; f++) {
            int conc = w->fns[f].concurrency;
            w->conns[i].free_slots[f] = conc / w->nconns + (i < conc % w->nconns ? 1 : 0);
        }
        w->conns[i].backoff_ms = w->reconnect_min_ms;
        conn_open(w, &w->conns[i]);
    }
    int rc = 0;
    zmq_pollitem_t *items = wk_calloc(2 * (size_t)w->nconns + 2, sizeof *items);
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
                if (w->conns[map[k]].mon) mon_read(&w->conns[map[k]]);
                continue;
            }
            if (!w->conns[map[k]].sock) continue; /* reset by an earlier item */
            rc = on_message(w, map[k]);
            if (rc) goto out;
        }
        if (items[0].revents & ZMQ_POLLIN) take_done(w);
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
            send_simple(c, SYW__ENVELOPE__CMD_GOODBYE);
            int linger = 2000; /* let GOODBYE (and the last ACKs) leave */
            zmq_setsockopt(c->sock, ZMQ_LINGER, &linger, sizeof linger);
        }
        wk_log(WK_INFO, "worker", NULL, "drained, goodbye", (const char *)NULL);
    }
    return rc;
}

static void worker_free(wk_worker_t *w, bool stuck)
{
    for (int i = 0; i < w->nconns; i++) {
        wk_conn_t *c = &w->conns[i];
        mon_close(c);
        if (c->sock) zmq_close(c->sock);
        while (c->outbox) {
            wk_job_t *j = c->outbox;
            c->outbox = j->next;
            wk_job_free(j);
        }
        free(c->granted);
        free(c->free_slots);
        free(c->endpoint);
    }
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
    wk_log(WK_INFO, "worker", NULL, "worker starting", "worker_id", w.worker_id,
           (const char *)NULL);
    rc = worker_run(&w);
    bool stuck = false;
    for (wk_job_t *j = w.inflight; j; j = j->inext) stuck = true;
    worker_free(&w, stuck);
    if (stuck) _exit(rc);
    pthread_mutex_destroy(&w.done_mu);
    return rc;
}
