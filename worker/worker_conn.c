/* worker/worker_conn.c - one broker connection: a DEALER per session (fresh
 * routing id each time), HELLO/WELCOME, reconnect with back-off + jitter, the
 * handshake monitor, and the commands a broker sends (DELIVER, CANCEL,
 * DISCONNECT, ...). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "worker/internal.h"

#define BACKOFF_MAX_MS 32000

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
                sy_log(SY_LOG_ERROR, "worker", NULL,
                       "broker refused this worker's key (not in its allow-list?)", "broker",
                       c->endpoint);
            else
                sy_log(SY_LOG_ERROR, "worker", NULL,
                       "handshake with broker failed (wrong broker key, or curve on one side only?)",
                       "broker", c->endpoint);
        }
        zmq_msg_close(&addr);
        zmq_msg_close(&ev);
    }
}

void wk_conn_reset(wk_worker_t *w, wk_conn_t *c, bool fast)
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
    wk_grant_free(w);
}

void wk_conn_open(wk_worker_t *w, wk_conn_t *c)
{
    c->sock = zmq_socket(w->zctx, ZMQ_DEALER);
    /* a fresh random routing id per session */
    char rid[37];
    sy_uuid4(rid);
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
        sy_log(SY_LOG_ERROR, "worker", NULL, "could not connect", "broker", c->endpoint, "error",
               zmq_strerror(errno));
        wk_conn_reset(w, c, false);
        return;
    }
    Syw__Hello h = SYW__HELLO__INIT;
    h.worker_id = w->worker_id;
    h.version = "switchyard-worker/0.1";
    char host[64] = "";
    gethostname(host, sizeof host - 1);
    h.node = host;
    Syw__FunctionSpec *specs = sy_calloc((size_t)w->nfns, sizeof *specs);
    Syw__FunctionSpec **sp = sy_calloc((size_t)w->nfns, sizeof *sp);
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
    wk_conn_send(c, &e, NULL, 0);
    free(sp);
    free(specs);
    c->state = 1;
    c->hello_at = c->last_recv = wk_mono_ms();
}

static void on_welcome(wk_worker_t *w, wk_conn_t *c, const Syw__Welcome *wl)
{
    c->state = 2;
    c->gen++;
    c->auth_logged = false;
    c->ivl_ms = (int)wl->heartbeat_ivl_ms;
    c->liveness = (int)wl->liveness;
    c->backoff_ms = w->reconnect_min_ms;
    snprintf(c->session_id, sizeof c->session_id, "%s", wl->session_id ? wl->session_id : "");
    sy_log(SY_LOG_INFO, "worker", NULL, "registered with broker", "broker", c->endpoint,
           "session_id", c->session_id);
    if (w->draining) {
        Syw__Draining d = SYW__DRAINING__INIT;
        d.deadline_ms = sy_now_ms() + (w->drain_deadline - wk_mono_ms());
        Syw__Envelope e = SYW__ENVELOPE__INIT;
        e.cmd_case = SYW__ENVELOPE__CMD_DRAINING;
        e.draining = &d;
        wk_conn_send(c, &e, NULL, 0);
    }
    /* results finished while we had no session: the lease token is the authority */
    while (c->outbox) {
        wk_job_t *j = c->outbox;
        c->outbox = j->next;
        wk_send_result(c, j, 0);
        wk_job_free(j);
    }
    c->outbox_tail = NULL;
    wk_grant_free(w);
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
    wk_conn_send(c, &e, NULL, 0);
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
        sy_log(SY_LOG_WARN, "worker", d->request_id, "delivery without credit, released",
               "function", fn->name);
        release_now(w, c, d, w->draining ? "worker draining" : "no credit");
        return;
    }
    c->granted[f]--;
    c->running[f]++;
    fn->running++;
    wk_job_t *j = sy_calloc(1, sizeof *j);
    j->delivery_id = d->delivery_id;
    j->conn = ci;
    j->conn_gen = c->gen;
    j->fn = fn;
    snprintf(j->lease_token, sizeof j->lease_token, "%s", d->lease_token ? d->lease_token : "");
    snprintf(j->message_id, sizeof j->message_id, "%s", d->message_id ? d->message_id : "");
    snprintf(j->traceparent, sizeof j->traceparent, "%s", d->traceparent ? d->traceparent : "");
    if (d->request_id && *d->request_id)
        snprintf(j->request_id, sizeof j->request_id, "%s", d->request_id);
    else
        sy_uuid4(j->request_id);
    j->attempt = d->attempt ? d->attempt : 1;
    int64_t now = sy_now_ms();
    j->caller_deadline_ms = d->deadline_ms > 0 ? d->deadline_ms : 0;
    wk_job_start_clock(j, now);
    size_t len;
    const void *body = wk_frame_body(fr, &len);
    j->payload = sy_malloc(len + 1);
    memcpy(j->payload, body, len);
    ((char *)j->payload)[len] = 0;
    j->len = len;
    j->started_mono = wk_mono_ms();
    j->inext = w->inflight;
    w->inflight = j;
    if (!wk_inline_take(w, j)) wk_queue_push(fn, j);
}

static void on_cancel(wk_worker_t *w, int ci, const Syw__Cancel *cn)
{
    for (wk_job_t *j = w->inflight; j; j = j->inext) {
        if (j->delivery_id != cn->delivery_id || j->conn != ci || j->conn_gen != w->conns[ci].gen)
            continue;
        j->cancelled = true;
        sy_log(SY_LOG_INFO, "worker", j->request_id, "invocation cancelled by broker", "reason",
               cn->reason ? cn->reason : "");
        if (j->fn->kind == WK_FN_RUNTIME) wk_runtime_cancel(j->fn, j);
    }
}

/* 0 fine; 3 fatal version mismatch */
int wk_on_message(wk_worker_t *w, int ci)
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
            sy_log(SY_LOG_ERROR, "worker", NULL, msg, "broker", c->endpoint);
            wk_frame_close(&f);
            return 3;
        }
        if (rc != WK_WIRE_OK) {
            sy_log(SY_LOG_WARN, "worker", NULL, "malformed message from broker", "broker", c->endpoint);
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
            on_cancel(w, ci, f.env->cancel);
            break;
        case SYW__ENVELOPE__CMD_HEARTBEAT:
            break;
        case SYW__ENVELOPE__CMD_DISCONNECT: {
            const Syw__Disconnect *d = f.env->disconnect;
            const char *why = d->message && *d->message ? d->message : "disconnect";
            if (d->reason == SYW__DISCONNECT_REASON__DISCONNECT_VERSION_MISMATCH) {
                sy_log(SY_LOG_ERROR, "worker", NULL, "broker refused us: protocol version mismatch",
                       "broker", c->endpoint, "detail", why);
                wk_frame_close(&f);
                return 3;
            }
            if (d->reason == SYW__DISCONNECT_REASON__DISCONNECT_UNAUTHORIZED) { /* our key may not host that */
                sy_log(SY_LOG_ERROR, "worker", NULL, "broker refused us: not authorized", "broker", c->endpoint,
                       "detail", why);
                wk_frame_close(&f);
                return 3;
            }
            sy_log(SY_LOG_WARN, "worker", NULL, "broker disconnected us, reconnecting", "broker",
                   c->endpoint, "reason", why);
            wk_frame_close(&f);
            wk_conn_reset(w, c, true);
            return 0;
        }
        default:
            sy_log(SY_LOG_WARN, "worker", NULL, "unexpected command from broker", "command",
                   wk_cmd_name(f.env->cmd_case));
        }
        wk_frame_close(&f);
    }
    return 0;
}


void wk_conn_monitor(wk_conn_t *c)
{
    if (c->mon) mon_read(c);
}

void wk_conn_close(wk_conn_t *c)
{
    mon_close(c);
    if (c->sock) zmq_close(c->sock);
    c->sock = NULL;
}
