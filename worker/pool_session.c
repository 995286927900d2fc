/* worker/pool_session.c - the broker's session state machine:
 * new --HELLO--> active --DRAINING--> draining --GOODBYE/expiry--> closed.
 * Expiry or EHOSTUNREACH releases the session's leases at once. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "worker/internal.h"

int pool_send(sy_pool_t *p, pool_session_t *s, const Syw__Envelope *env, zmq_msg_t *body_msg,
              const void *body, size_t len)
{
    int rc = wk_wire_send(p->router, s->rid, s->rid_len, env, body_msg, body, len, NULL);
    if (rc == 0) s->last_send = wk_mono_ms();
    return rc;
}

void pool_send_disconnect(sy_pool_t *p, const void *rid, size_t rid_len, int reason,
                          const char *msg)
{
    Syw__Disconnect d = SYW__DISCONNECT__INIT;
    d.reason = reason;
    d.message = (char *)msg;
    Syw__Envelope e = SYW__ENVELOPE__INIT;
    e.cmd_case = SYW__ENVELOPE__CMD_DISCONNECT;
    e.disconnect = &d;
    wk_wire_send(p->router, rid, rid_len, &e, NULL, NULL, 0, NULL);
}

static pool_session_t *find_session(sy_pool_t *p, const void *rid, size_t len)
{
    for (pool_session_t *s = p->sessions; s; s = s->next)
        if (s->rid_len == len && memcmp(s->rid, rid, len) == 0) return s;
    return NULL;
}

/* Remove the session; its in-flight work is released at once (leases) or
 * failed (sync invocations). why == NULL: pool shutdown, nothing logged. */
void pool_session_kill(sy_pool_t *p, pool_session_t *s, const char *why)
{
    for (pool_inv_t *inv = p->inflight, *n; inv; inv = n) {
        n = inv->next;
        if (inv->session != s) continue;
        pool_inflight_remove(p, inv);
        if (!inv->sync) {
            if (p->has_lease && p->lease.release) {
                p->lease.release(p->lease.u, inv->pf->name, inv->lease_token, 0);
                POOL_STAT_ADD(p, releases, 1);
                inv->pf->lease_wanted = true; /* redeliver from the timers */
            }
            sy_log(SY_LOG_WARN, "pool", inv->request_id, "released lease of lost worker", "worker_id",
                   s->worker_id, "message_id", inv->message_id);
            free(inv->payload);
            free(inv);
        } else {
            sy_invoke_result_t r = {.status = SY_INVOKE_WORKER_LOST,
                                    .request_id = inv->request_id,
                                    .error_type = "ServiceException",
                                    .error_message = "the worker running the invocation was lost"};
            pool_inv_finish(p, inv, &r);
        }
    }
    pthread_mutex_lock(&p->cmd_mu);
    for (pool_session_t **pp = &p->sessions; *pp; pp = &(*pp)->next) {
        if (*pp == s) {
            *pp = s->next;
            break;
        }
    }
    pthread_mutex_unlock(&p->cmd_mu);
    if (why)
        sy_log(SY_LOG_INFO, "pool", NULL, "worker session closed", "worker_id", s->worker_id,
               "session_id", s->session_id, "reason", why);
    free(s->funcs);
    free(s);
}

static void hello(sy_pool_t *p, wk_frame_t *f, pool_session_t *old)
{
    const Syw__Hello *h = f->env->hello;
    if (old) pool_session_kill(p, old, "new HELLO on the same connection");
    /* the same worker on a new connection (it restarted, or lost its socket):
     * its old session is dead, release its work now rather than at expiry */
    for (pool_session_t *o = p->sessions, *n; o; o = n) {
        n = o->next;
        if (strcmp(o->worker_id, h->worker_id) == 0)
            pool_session_kill(p, o, "replaced by a new session of the same worker");
    }
    size_t rid_len = zmq_msg_size(&f->rid);
    if (rid_len > sizeof((pool_session_t *)0)->rid) return;
    if (p->zap) { /* a key may be limited to some functions (docs/security.md) */
        const char *user = f->user;
        for (size_t i = 0; i < h->n_functions; i++) {
            if (pool_auth_may_host(p, user, h->functions[i]->name)) continue;
            char why[320];
            snprintf(why, sizeof why, "this worker key may not host function %s", h->functions[i]->name);
            sy_log(SY_LOG_WARN, "pool", NULL, "refused worker function", "worker_id", h->worker_id, "function",
                   h->functions[i]->name, "key", user ? user : "");
            sy_metric_inc("switchyard_worker_refused_total", "reason=\"function\"", 1);
            pool_send_disconnect(p, zmq_msg_data(&f->rid), rid_len, SYW__DISCONNECT_REASON__DISCONNECT_UNAUTHORIZED,
                                 why);
            return;
        }
    }
    pool_session_t *s = sy_calloc(1, sizeof *s);
    memcpy(s->rid, zmq_msg_data(&f->rid), rid_len);
    s->rid_len = rid_len;
    snprintf(s->worker_id, sizeof s->worker_id, "%s", h->worker_id);
    sy_uuid4(s->session_id);
    s->last_recv = s->last_send = wk_mono_ms();
    s->lru = 0; /* newcomers first */
    pool_session_note_hello(p, s, h);
    s->funcs = sy_calloc(h->n_functions, sizeof *s->funcs);
    for (size_t i = 0; i < h->n_functions; i++) {
        s->funcs[s->nfuncs].pf = pool_func_get(p, h->functions[i]->name);
        s->funcs[s->nfuncs].max_concurrency = (int)h->functions[i]->max_concurrency;
        s->nfuncs++;
    }
    pthread_mutex_lock(&p->cmd_mu);
    s->next = p->sessions;
    p->sessions = s;
    pthread_mutex_unlock(&p->cmd_mu);
    Syw__Welcome w = SYW__WELCOME__INIT;
    w.session_id = s->session_id;
    w.heartbeat_ivl_ms = (uint32_t)p->opts.heartbeat_ivl_ms;
    w.liveness = (uint32_t)p->opts.liveness;
    w.max_credit = (uint32_t)p->opts.max_credit;
    w.server_time_ms = sy_now_ms();
    Syw__Envelope e = SYW__ENVELOPE__INIT;
    e.cmd_case = SYW__ENVELOPE__CMD_WELCOME;
    e.welcome = &w;
    char nf[16];
    snprintf(nf, sizeof nf, "%zu", s->nfuncs);
    sy_log(SY_LOG_INFO, "pool", NULL, "worker registered", "worker_id", s->worker_id, "session_id",
           s->session_id, "functions", nf);
    if (pool_send(p, s, &e, NULL, NULL, 0) != 0) pool_session_kill(p, s, "unreachable");
}

static pool_sfunc_t *sfunc_by_name(pool_session_t *s, const char *name)
{
    for (size_t i = 0; i < s->nfuncs; i++)
        if (strcmp(s->funcs[i].pf->name, name) == 0) return &s->funcs[i];
    return NULL;
}

static void add_credit(sy_pool_t *p, pool_session_t *s, pool_func_t *pf, const char *name,
                       uint32_t amount)
{
    if (!s || !amount || s->draining) return;
    pool_sfunc_t *sf = pf ? NULL : sfunc_by_name(s, name);
    if (pf)
        for (size_t i = 0; i < s->nfuncs; i++)
            if (s->funcs[i].pf == pf) sf = &s->funcs[i];
    if (!sf) return;
    int64_t c = (int64_t)sf->credit + amount;
    sf->credit = c > p->opts.max_credit ? p->opts.max_credit : (int)c;
    pool_dispatch(p, sf->pf);
}

static const char *str_or(const char *s, const char *d)
{
    return s && *s ? s : d;
}

/* switchyard_lambda_cold_starts_total{function}: a worker reports that an
 * invocation started a new runtime process (issue 12). */
static void pool_count_cold_start(const char *function)
{
    char labels[200];
    const char *fn = function && *function && strlen(function) <= 140 &&
                             strspn(function, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_:$") ==
                                 strlen(function)
                         ? function
                         : "other";
    snprintf(labels, sizeof labels, "function=\"%s\"", fn);
    sy_metric_inc("switchyard_lambda_cold_starts_total", labels, 1);
}

static void ack(sy_pool_t *p, wk_frame_t *f, pool_session_t *s)
{
    const Syw__Ack *a = f->env->ack;
    size_t len;
    const void *body = wk_frame_body(f, &len);
    pool_inv_t *inv = a->delivery_id && s ? pool_inflight_find(p, a->delivery_id) : NULL;
    if (inv && inv->session != s) inv = NULL;
    bool ok = a->outcome == SYW__OUTCOME__OUTCOME_OK;
    POOL_STAT_ADD(p, acks, 1);
    if (!ok) POOL_STAT_ADD(p, fn_errors, 1);
    if (a->cold_start) pool_count_cold_start(a->function);
    pool_func_t *pf = inv ? inv->pf : NULL;
    if (inv && inv->sync) {
        pool_inflight_remove(p, inv);
        sy_invoke_result_t r = {.status = ok ? SY_INVOKE_OK : SY_INVOKE_FN_ERROR,
                                .request_id = inv->request_id,
                                .result = body,
                                .len = len};
        if (!ok) {
            r.error_type = str_or(a->error_type, "Unhandled");
            r.error_message = str_or(a->error_message, "");
        }
        pool_inv_finish(p, inv, &r);
    } else if (a->lease_token && *a->lease_token) {
        /* The token is the authority, whatever session it arrives on. */
        if (inv) {
            pool_inflight_remove(p, inv);
            free(inv->payload);
            free(inv);
        }
        if (p->has_lease && p->lease.ack) {
            int rc = p->lease.ack(p->lease.u, str_or(a->function, pf ? pf->name : ""),
                                  a->lease_token, str_or(a->message_id, ""),
                                  ok ? SY_ACK_OK : SY_ACK_FN_ERROR, a->error_type, a->error_message,
                                  body, len);
            if (rc < 0) POOL_STAT_ADD(p, stale_acks, 1);
        }
    }
    if (s) pool_session_note_ack(p, s, a);
    add_credit(p, s, pf, str_or(a->function, ""), a->credit);
}

static void release(sy_pool_t *p, wk_frame_t *f, pool_session_t *s)
{
    const Syw__Release *r = f->env->release;
    pool_inv_t *inv = r->delivery_id && s ? pool_inflight_find(p, r->delivery_id) : NULL;
    if (inv && inv->session != s) inv = NULL;
    pool_func_t *pf = inv ? inv->pf : NULL;
    POOL_STAT_ADD(p, releases, 1);
    if (inv && inv->sync) {
        pool_inflight_remove(p, inv);
        inv->attempt++;
        POOL_STAT_ADD(p, pending, 1);
        pool_pending_push(inv->pf, inv, true); /* another worker takes it */
    } else if (r->lease_token && *r->lease_token) {
        if (inv) {
            pool_inflight_remove(p, inv);
            free(inv->payload);
            free(inv);
        }
        if (p->has_lease && p->lease.release) {
            int rc = p->lease.release(p->lease.u, str_or(r->function, pf ? pf->name : ""),
                                      r->lease_token, r->delay_ms);
            if (rc < 0) POOL_STAT_ADD(p, stale_acks, 1);
        }
        if (pf) pf->lease_wanted = true;
    }
    add_credit(p, s, pf, str_or(r->function, ""), r->credit);
    if (pf) pool_dispatch(p, pf);
}

static void extend(sy_pool_t *p, wk_frame_t *f)
{
    const Syw__Extend *x = f->env->extend;
    POOL_STAT_ADD(p, extends, 1);
    if (x->lease_token && *x->lease_token && p->has_lease && p->lease.extend) {
        if (p->lease.extend(p->lease.u, str_or(x->function, ""), x->lease_token, x->extend_ms) < 0)
            POOL_STAT_ADD(p, stale_acks, 1);
    }
}

static void protocol_error(sy_pool_t *p, wk_frame_t *f, pool_session_t *s, int reason,
                           const char *msg)
{
    POOL_STAT_ADD(p, refused, 1);
    sy_log(SY_LOG_WARN, "pool", NULL, msg, "signature", f->sig, "worker_id", s ? s->worker_id : "");
    if (s) pool_session_kill(p, s, msg);
    pool_send_disconnect(p, zmq_msg_data(&f->rid), zmq_msg_size(&f->rid), reason, msg);
}

void pool_handle_message(sy_pool_t *p, wk_frame_t *f, int rc)
{
    if (!f->has_rid) return;
    pool_session_t *s = find_session(p, zmq_msg_data(&f->rid), zmq_msg_size(&f->rid));
    if (rc == WK_WIRE_VERSION) {
        char msg[160];
        snprintf(msg, sizeof msg, "protocol version mismatch: broker speaks %s, peer sent %s",
                 SY_WORKER_PROTOCOL, f->sig);
        protocol_error(p, f, s, SYW__DISCONNECT_REASON__DISCONNECT_VERSION_MISMATCH, msg);
        return;
    }
    if (rc != WK_WIRE_OK) {
        protocol_error(p, f, s, SYW__DISCONNECT_REASON__DISCONNECT_PROTOCOL_ERROR,
                       "malformed message");
        return;
    }
    int cmd = f->env->cmd_case;
    if (s) s->last_recv = wk_mono_ms();
    if (cmd == SYW__ENVELOPE__CMD_HELLO) {
        hello(p, f, s);
        return;
    }
    if (!s) {
        /* e.g. a worker still connected across a broker restart: settle what
         * carries a lease token, then make it say HELLO. */
        if (cmd == SYW__ENVELOPE__CMD_ACK) ack(p, f, NULL);
        if (cmd == SYW__ENVELOPE__CMD_RELEASE) release(p, f, NULL);
        if (cmd == SYW__ENVELOPE__CMD_EXTEND) extend(p, f);
        if (cmd != SYW__ENVELOPE__CMD_GOODBYE)
            pool_send_disconnect(p, zmq_msg_data(&f->rid), zmq_msg_size(&f->rid),
                                 SYW__DISCONNECT_REASON__DISCONNECT_UNKNOWN_SESSION,
                                 "unknown session, say HELLO");
        return;
    }
    switch (cmd) {
    case SYW__ENVELOPE__CMD_CREDIT:
        add_credit(p, s, NULL, f->env->credit->function, f->env->credit->amount);
        break;
    case SYW__ENVELOPE__CMD_ACK:
        ack(p, f, s);
        break;
    case SYW__ENVELOPE__CMD_RELEASE:
        release(p, f, s);
        break;
    case SYW__ENVELOPE__CMD_EXTEND:
        extend(p, f);
        break;
    case SYW__ENVELOPE__CMD_HEARTBEAT:
        break;
    case SYW__ENVELOPE__CMD_DRAINING:
        s->draining = true;
        for (size_t i = 0; i < s->nfuncs; i++) s->funcs[i].credit = 0;
        sy_log(SY_LOG_INFO, "pool", NULL, "worker draining", "worker_id", s->worker_id);
        break;
    case SYW__ENVELOPE__CMD_GOODBYE:
        pool_session_kill(p, s, "goodbye");
        break;
    default:
        protocol_error(p, f, s, SYW__DISCONNECT_REASON__DISCONNECT_PROTOCOL_ERROR,
                       "unexpected command from worker");
    }
}
