/* worker/pool_dispatch.c - credit-based dispatch: pending invocations and
 * leased messages go to the least-recently-used session with credit for the
 * function; never more deliveries than credit. */
#include <stdlib.h>
#include <string.h>

#include "worker/internal.h"

#define LEASE_BATCH 64
#define LEASE_POLL_MS 1000

pool_func_t *pool_func_get(sy_pool_t *p, const char *name)
{
    for (pool_func_t *f = p->funcs; f; f = f->next)
        if (strcmp(f->name, name) == 0) return f;
    pool_func_t *f = sy_calloc(1, sizeof *f);
    f->name = sy_strdup(name);
    f->lease_wanted = true;
    pthread_mutex_lock(&p->cmd_mu);
    f->next = p->funcs;
    p->funcs = f;
    pthread_mutex_unlock(&p->cmd_mu);
    return f;
}

void pool_pending_push(pool_func_t *pf, pool_inv_t *inv, bool front)
{
    if (front) {
        inv->next = pf->pending;
        pf->pending = inv;
        if (!pf->pending_tail) pf->pending_tail = inv;
        return;
    }
    inv->next = NULL;
    if (pf->pending_tail)
        pf->pending_tail->next = inv;
    else
        pf->pending = inv;
    pf->pending_tail = inv;
}

static pool_inv_t *pending_pop(pool_func_t *pf)
{
    pool_inv_t *inv = pf->pending;
    if (inv) {
        pf->pending = inv->next;
        if (!pf->pending) pf->pending_tail = NULL;
        inv->next = NULL;
    }
    return inv;
}

pool_inv_t *pool_inflight_find(sy_pool_t *p, uint64_t id)
{
    for (pool_inv_t *i = p->inflight; i; i = i->next)
        if (i->id == id) return i;
    return NULL;
}

void pool_inflight_remove(sy_pool_t *p, pool_inv_t *inv)
{
    for (pool_inv_t **pp = &p->inflight; *pp; pp = &(*pp)->next) {
        if (*pp == inv) {
            *pp = inv->next;
            inv->next = NULL;
            if (inv->sync) p->sync_inflight--;
            break;
        }
    }
    if (inv->session) {
        for (size_t i = 0; i < inv->session->nfuncs; i++)
            if (inv->session->funcs[i].pf == inv->pf) inv->session->funcs[i].inflight--;
        inv->session = NULL;
    }
}

/* Settle an invocation: call back (sync) and free. Not in any list. */
void pool_inv_finish(sy_pool_t *p, pool_inv_t *inv, const sy_invoke_result_t *res)
{
    if (inv->session || pool_inflight_find(p, inv->id)) pool_inflight_remove(p, inv);
    if (inv->sync && inv->cb) inv->cb(res, inv->u);
    free(inv->payload);
    free(inv);
}

static pool_sfunc_t *sfunc(pool_session_t *s, pool_func_t *pf)
{
    for (size_t i = 0; i < s->nfuncs; i++)
        if (s->funcs[i].pf == pf) return &s->funcs[i];
    return NULL;
}

/* Least-recently-used session with credit for pf, or NULL. */
static pool_session_t *pick(sy_pool_t *p, pool_func_t *pf)
{
    pool_session_t *best = NULL;
    for (pool_session_t *s = p->sessions; s; s = s->next) {
        if (s->draining) continue;
        pool_sfunc_t *sf = sfunc(s, pf);
        if (sf && sf->credit > 0 && (!best || s->lru < best->lru)) best = s;
    }
    return best;
}

static int total_credit(sy_pool_t *p, pool_func_t *pf)
{
    int c = 0;
    for (pool_session_t *s = p->sessions; s; s = s->next) {
        pool_sfunc_t *sf = s->draining ? NULL : sfunc(s, pf);
        if (sf) c += sf->credit;
    }
    return c;
}

/* Send one DELIVER. Returns 0, or -1 when the session turned out dead (the
 * invocation is then not delivered and stays the caller's). */
static int deliver(sy_pool_t *p, pool_session_t *s, pool_inv_t *inv)
{
    pool_sfunc_t *sf = sfunc(s, inv->pf);
    Syw__Deliver d = SYW__DELIVER__INIT;
    inv->id = p->next_id++;
    d.delivery_id = inv->id;
    d.lease_token = inv->lease_token;
    d.message_id = inv->message_id;
    d.function = inv->pf->name;
    d.attempt = inv->attempt;
    /* A sync caller's deadline is the pool's to enforce (SY_INVOKE_TIMEOUT
     * + CANCEL); the worker is told the same one (no grace: the handler's
     * deadline is the one enforced), and the function timeout still bounds
     * the run there. */
    d.deadline_ms = inv->deadline_ms;
    Syw__Deliver__AttributesEntry cfg = SYW__DELIVER__ATTRIBUTES_ENTRY__INIT, *cfgp = &cfg;
    if (inv->config) {
        cfg.key = SY_WORKER_ATTR_CONFIG;
        cfg.value = (char *)inv->config;
        d.n_attributes = 1;
        d.attributes = &cfgp;
    }
    d.traceparent = inv->traceparent;
    d.request_id = inv->request_id;
    d.content_type = "application/json";
    Syw__Envelope e = SYW__ENVELOPE__INIT;
    e.cmd_case = SYW__ENVELOPE__CMD_DELIVER;
    e.deliver = &d;
    /* zmq_send copies the payload into its own frame: our copy stays for a
     * sync invocation that a RELEASE puts back in the queue. */
    int rc = pool_send(p, s, &e, NULL, inv->payload, inv->len);
    if (rc != 0) return -1;
    if (!inv->sync) {
        free(inv->payload);
        inv->payload = NULL;
        inv->len = 0;
        inv->config = NULL;
    }
    sf->credit--;
    sf->inflight++;
    s->lru = ++p->lru_clock;
    inv->session = s;
    if (inv->sync) p->sync_inflight++;
    inv->next = p->inflight;
    p->inflight = inv;
    POOL_STAT_ADD(p, deliveries, 1);
    return 0;
}

/* A leased message as a pending invocation (takes out->payload). */
pool_inv_t *pool_inv_from_delivery(sy_pool_t *p, pool_func_t *pf, sy_delivery_t *d, int64_t wall)
{
    pool_inv_t *inv = sy_calloc(1, sizeof *inv);
    inv->pf = pf;
    memcpy(inv->lease_token, d->lease_token, sizeof inv->lease_token);
    inv->lease_token[sizeof inv->lease_token - 1] = 0;
    memcpy(inv->message_id, d->message_id, sizeof inv->message_id);
    inv->message_id[sizeof inv->message_id - 1] = 0;
    memcpy(inv->traceparent, d->traceparent, sizeof inv->traceparent);
    inv->traceparent[sizeof inv->traceparent - 1] = 0;
    inv->attempt = d->attempt ? d->attempt : 1;
    inv->deadline_ms = d->deadline_ms ? d->deadline_ms : wall + p->opts.default_timeout_ms;
    inv->payload = d->payload;
    inv->len = d->len;
    d->payload = NULL;
    pool_inv_attach_config(inv, d->config);
    size_t rl = strnlen(d->request_id, sizeof d->request_id);
    if (rl > 0 && rl < sizeof inv->request_id)
        memcpy(inv->request_id, d->request_id, rl + 1);
    else
        sy_uuid4(inv->request_id);
    return inv;
}

/* Append config to the payload's block (freed with it, on every path). */
void pool_inv_attach_config(pool_inv_t *inv, const char *config)
{
    if (!config) return;
    size_t cl = strlen(config);
    inv->payload = sy_realloc(inv->payload, inv->len + cl + 2);
    char *cfg = (char *)inv->payload + inv->len + 1;
    memcpy(cfg, config, cl + 1);
    inv->config = cfg;
}

static void do_lease(sy_pool_t *p, pool_func_t *pf)
{
    int64_t now = wk_mono_ms();
    for (;;) {
        if (!pf->lease_wanted && now < pf->lease_next_ms) return;
        int max = total_credit(p, pf);
        if (max <= 0) return;
        if (max > LEASE_BATCH) max = LEASE_BATCH;
        sy_delivery_t out[LEASE_BATCH];
        memset(out, 0, sizeof(sy_delivery_t) * (size_t)max);
        int n = p->lease.lease(p->lease.u, pf->name, max, out);
        pf->lease_next_ms = now + LEASE_POLL_MS;
        if (n < 0) {
            pf->lease_wanted = false;
            return;
        }
        if (n > max) n = max;
        int64_t wall = sy_now_ms();
        for (int i = 0; i < n; i++) {
            pool_inv_t *inv = pool_inv_from_delivery(p, pf, &out[i], wall);
            pool_pending_push(pf, inv, false);
        }
        pf->lease_wanted = n == max; /* full batch: probably more behind it */
        /* deliver what we leased before asking for more */
        pool_inv_t *inv;
        pool_session_t *s;
        while (pf->pending && (s = pick(p, pf))) {
            inv = pending_pop(pf);
            if (deliver(p, s, inv) != 0) {
                pool_pending_push(pf, inv, true);
                pool_session_kill(p, s, "unreachable");
            }
        }
        if (!pf->lease_wanted || pf->pending) return;
    }
}

void pool_dispatch(sy_pool_t *p, pool_func_t *pf)
{
    pool_session_t *s;
    while (pf->pending && (s = pick(p, pf))) {
        pool_inv_t *inv = pending_pop(pf);
        if (inv->sync) POOL_STAT_ADD(p, pending, (uint64_t)-1);
        if (deliver(p, s, inv) != 0) {
            if (inv->sync) POOL_STAT_ADD(p, pending, 1);
            pool_pending_push(pf, inv, true);
            pool_session_kill(p, s, "unreachable");
        }
    }
    if (p->lease.lease && !pf->pending) do_lease(p, pf);
}

static bool hosted(sy_pool_t *p, pool_func_t *pf)
{
    for (pool_session_t *s = p->sessions; s; s = s->next)
        if (sfunc(s, pf)) return true;
    return false;
}

/* Heartbeats, dead sessions, deadlines, periodic lease polls. */
void pool_timers(sy_pool_t *p)
{
    int64_t now = wk_mono_ms(), wall = sy_now_ms();
    int64_t dead_after = (int64_t)p->opts.heartbeat_ivl_ms * p->opts.liveness;
    for (pool_session_t *s = p->sessions, *n; s; s = n) {
        n = s->next;
        if (now - s->last_recv > dead_after) {
            POOL_STAT_ADD(p, expired_workers, 1);
            pool_session_kill(p, s, "heartbeat expired");
            continue;
        }
        if (now - s->last_send >= p->opts.heartbeat_ivl_ms) {
            Syw__Heartbeat hb = SYW__HEARTBEAT__INIT;
            Syw__Envelope e = SYW__ENVELOPE__INIT;
            e.cmd_case = SYW__ENVELOPE__CMD_HEARTBEAT;
            e.heartbeat = &hb;
            if (pool_send(p, s, &e, NULL, NULL, 0) != 0) {
                POOL_STAT_ADD(p, expired_workers, 1);
                pool_session_kill(p, s, "unreachable");
            }
        }
    }
    /* sync invocations past their deadline */
    for (pool_func_t *pf = p->funcs; pf; pf = pf->next) {
        pool_inv_t **pp = &pf->pending;
        pf->pending_tail = NULL;
        while (*pp) {
            pool_inv_t *inv = *pp;
            bool nobody = !hosted(p, pf);
            if (!inv->sync && wall >= inv->deadline_ms) {
                /* leased but never delivered in time: the lease is over */
                *pp = inv->next;
                if (p->has_lease && p->lease.release)
                    p->lease.release(p->lease.u, pf->name, inv->lease_token, 0);
                free(inv->payload);
                free(inv);
                continue;
            }
            if (inv->sync && (wall >= inv->deadline_ms || (nobody && wall >= inv->no_worker_at))) {
                *pp = inv->next;
                inv->next = NULL;
                POOL_STAT_ADD(p, pending, (uint64_t)-1);
                sy_invoke_result_t r = {.status = nobody ? SY_INVOKE_NO_WORKER : SY_INVOKE_TOO_MANY,
                                        .request_id = inv->request_id};
                r.error_type = nobody ? "ResourceNotFoundException" : "TooManyRequestsException";
                r.error_message = nobody ? "no worker hosts the function"
                                         : "no worker had free concurrency before the deadline";
                pool_inv_finish(p, inv, &r);
                continue;
            }
            pf->pending_tail = inv;
            pp = &inv->next;
        }
        if (pf->pending || (p->lease.lease && (pf->lease_wanted || now >= pf->lease_next_ms)))
            pool_dispatch(p, pf);
    }
    for (pool_inv_t *inv = p->inflight, *n; inv; inv = n) {
        n = inv->next;
        if (!inv->sync || wall < inv->deadline_ms) continue;
        POOL_STAT_ADD(p, timeouts, 1);
        Syw__Cancel c = SYW__CANCEL__INIT;
        c.delivery_id = inv->id;
        c.reason = "deadline";
        Syw__Envelope e = SYW__ENVELOPE__INIT;
        e.cmd_case = SYW__ENVELOPE__CMD_CANCEL;
        e.cancel = &c;
        pool_send(p, inv->session, &e, NULL, NULL, 0);
        sy_invoke_result_t r = {.status = SY_INVOKE_TIMEOUT, .request_id = inv->request_id,
                                .error_type = "TimeoutError",
                                .error_message = "invocation deadline passed"};
        pool_inv_finish(p, inv, &r);
    }
}
