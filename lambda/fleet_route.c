/* lambda/fleet_route.c - the origin side of many brokers as one service:
 * where a synchronous call goes (this broker's pool, or handed to the
 * broker the registry shows best placed: fleet.c), and what happens when
 * that broker does not run it. A call the target never claimed (it died or
 * drains) or refused (stopped, no worker, no room after all) is tried again
 * with the registry of the next heartbeat, at most LM_FLEET_ATTEMPTS times
 * within the caller's deadline; a call a dead broker had claimed answers
 * ServiceException at once (its outcome is unknown); a call throttled only
 * because the shares are settling after a join waits for the next
 * heartbeat instead of a 429. */
#include "lambda/fleet_internal.h"

#include <stdlib.h>
#include <string.h>

void lm_fleet_waiter_free(waiter_t *w)
{
    if (!w) return;
    free(w->payload);
    free(w);
}

/* The live broker (not this one) best placed for name: hosts it, has room;
 * most free credit first. need_credit: only one with free credit. */
static bool pick(lm_fleet_t *fl, const char *name, bool need_credit, char out[33])
{
    bool found = false;
    json_int_t best = -1;
    pthread_mutex_lock(&fl->mu);
    for (int i = 0; i < fl->npeers; i++) {
        if (strcmp(fl->peers[i].id, fl->hex) == 0) continue;
        json_t *f = json_object_get(fl->peers[i].functions, name);
        if (!f || json_integer_value(json_object_get(f, "w")) <= 0) continue;
        if (json_integer_value(json_object_get(f, "r")) == 0) continue;
        json_int_t c = json_integer_value(json_object_get(f, "c"));
        if (need_credit && c <= 0) continue;
        if (c > best || (c == best && (sy_now_us() & 1))) {
            best = c;
            snprintf(out, 33, "%s", fl->peers[i].id);
            found = true;
        }
    }
    pthread_mutex_unlock(&fl->mu);
    return found;
}

/* Are other brokers live? (Their workers may host a function before this
 * broker has read their rows: up to two heartbeats after a worker starts.) */
static bool has_peers(lm_fleet_t *fl)
{
    bool found = false;
    pthread_mutex_lock(&fl->mu);
    for (int i = 0; i < fl->npeers && !found; i++) found = strcmp(fl->peers[i].id, fl->hex) != 0;
    pthread_mutex_unlock(&fl->mu);
    return found;
}

static int defer(lm_svc_t *s, const char *name, const void *payload, size_t len, const sy_invoke_opts_t *o,
                 sy_invoke_cb cb, void *u, int attempt);

bool lm_fleet_hosts(lm_svc_t *s, const char *name)
{
    lm_fleet_t *fl = s->fleet;
    char id[33];
    return fl && pick(fl, name, false, id);
}

int lm_fleet_sync_running(lm_svc_t *s, const char *name)
{
    lm_fleet_t *fl = s->fleet;
    if (!fl) return 0;
    int n = 0;
    pthread_mutex_lock(&fl->mu);
    for (int i = 0; i < fl->npeers; i++) {
        json_t *f = json_object_get(fl->peers[i].functions, name);
        if (f) n += (int)json_integer_value(json_object_get(f, "s"));
    }
    pthread_mutex_unlock(&fl->mu);
    return n;
}

/* ------------------------------------------------------- the origin side */
static waiter_t *waiter_take(lm_fleet_t *fl, const char *id)
{
    pthread_mutex_lock(&fl->mu);
    waiter_t *w = NULL;
    for (waiter_t **pp = &fl->waiters; *pp; pp = &(*pp)->next)
        if (strcmp((*pp)->id, id) == 0) {
            w = *pp;
            *pp = w->next;
            break;
        }
    pthread_mutex_unlock(&fl->mu);
    return w;
}

static waiter_t *waiter_new(const char *name, const void *payload, size_t len, const sy_invoke_opts_t *o,
                           sy_invoke_cb cb, void *u, int attempt)
{
    waiter_t *w = sy_calloc(1, sizeof *w);
    sy_uuid4(w->id);
    w->cb = cb;
    w->u = u;
    w->deadline_ms = o->deadline_ms;
    snprintf(w->key, sizeof w->key, "%s", name);
    snprintf(w->request_id, sizeof w->request_id, "%s", o->request_id ? o->request_id : "");
    snprintf(w->traceparent, sizeof w->traceparent, "%s", o->traceparent ? o->traceparent : "");
    w->payload = sy_malloc(len + 1);
    memcpy(w->payload, payload, len);
    w->len = len;
    w->attempt = attempt;
    return w;
}

/* Max tries of one sync call through the fleet: hand-overs to brokers that
 * did not run it, and waits for the next heartbeat while the shares settle. */
#define LM_FLEET_ATTEMPTS 8 /* a broker that starts hosting shows room to others within ~5 heartbeats */

static int forward(lm_svc_t *s, const char *target, const char *name, const void *payload, size_t len,
                   const sy_invoke_opts_t *o, sy_invoke_cb cb, void *u, int attempt)
{
    lm_fleet_t *fl = s->fleet;
    waiter_t *w = waiter_new(name, payload, len, o, cb, u, attempt);
    lm_call_t call = {.deadline_ms = o->deadline_ms, .payload = (char *)payload, .len = len};
    snprintf(call.id, sizeof call.id, "%s", w->id);
    snprintf(call.origin, sizeof call.origin, "%s", fl->hex);
    snprintf(call.function, sizeof call.function, "%s", name);
    snprintf(call.request_id, sizeof call.request_id, "%s", o->request_id ? o->request_id : "");
    snprintf(call.traceparent, sizeof call.traceparent, "%s", o->traceparent ? o->traceparent : "");
    pthread_mutex_lock(&fl->mu); /* before the insert: the answer may come first */
    w->next = fl->waiters;
    fl->waiters = w;
    pthread_mutex_unlock(&fl->mu);
    sy_err_t err;
    PGconn *c = sy_pg_acquire(s->ctx->pool);
    int rc = c ? lm_store_fleet_call_put(c, &call, target, &err) : SY_E_DB;
    if (c) sy_pg_release(s->ctx->pool, c);
    if (rc < 0) {
        lm_fleet_waiter_free(waiter_take(fl, w->id));
        sy_log(SY_LOG_WARN, "fleet", o->request_id, "could not hand the call to another broker", "function", name);
        return rc;
    }
    sy_metric_inc("switchyard_fleet_forwarded_total", NULL, 1);
    return 0;
}

typedef struct {
    lm_svc_t *s;
    char name[LM_NAME_MAX + 1];
    sy_invoke_cb cb;
    void *u;
    bool may_forward;
    int64_t deadline_ms;
    char request_id[40], traceparent[64];
    void *payload; /* kept for a retry elsewhere when no worker showed up */
    size_t len;
    char key[LM_NAME_MAX + 18]; /* the pool key: name, or "name:N" (l->name is the function) */
} local_t;

static void local_done(const sy_invoke_result_t *res, void *u)
{
    local_t *l = u;
    lm_conc_give(l->s, l->name);
    char target[33];
    if (res->status == SY_INVOKE_NO_WORKER && l->may_forward && l->s->fleet &&
        pick(l->s->fleet, l->key, false, target)) { /* a worker joined another broker meanwhile */
        sy_invoke_opts_t o = {.deadline_ms = l->deadline_ms, .request_id = l->request_id[0] ? l->request_id : NULL,
                              .traceparent = l->traceparent[0] ? l->traceparent : NULL};
        if (forward(l->s, target, l->key, l->payload, l->len, &o, l->cb, l->u, 0) == 0) {
            free(l->payload);
            free(l);
            return;
        }
    }
    if (res->status == SY_INVOKE_NO_WORKER && l->may_forward && l->s->fleet && has_peers(l->s->fleet)) {
        /* no broker shows a worker with room for it yet: their shares settle
         * after a join, their rows reach us a heartbeat late; try again after
         * the next heartbeat (a function nobody hosts gets its
         * ResourceNotReadyException a few heartbeats later) */
        sy_invoke_opts_t o = {.deadline_ms = l->deadline_ms, .request_id = l->request_id[0] ? l->request_id : NULL,
                              .traceparent = l->traceparent[0] ? l->traceparent : NULL};
        if (defer(l->s, l->key, l->payload, l->len, &o, l->cb, l->u, 0) == 0) {
            free(l->payload);
            free(l);
            return;
        }
    }
    l->cb(res, l->u);
    free(l->payload);
    free(l);
}

static int invoke_local(lm_svc_t *s, const char *name, const void *payload, size_t len, const sy_invoke_opts_t *o,
                        sy_invoke_cb cb, void *u, bool may_forward)
{
    if (!s->pool) return SY_E_INTERNAL;
    char fn[LM_NAME_MAX + 1]; /* concurrency counts per function; a pool key may name a version ("name:N") */
    snprintf(fn, sizeof fn, "%.*s", (int)strcspn(name, ":"), name);
    if (!lm_conc_take(s, fn)) return LM_SYNC_THROTTLED;
    local_t *l = sy_calloc(1, sizeof *l);
    l->s = s;
    snprintf(l->name, sizeof l->name, "%s", fn);
    snprintf(l->key, sizeof l->key, "%s", name);
    l->cb = cb;
    l->u = u;
    l->may_forward = may_forward;
    l->deadline_ms = o->deadline_ms;
    snprintf(l->request_id, sizeof l->request_id, "%s", o->request_id ? o->request_id : "");
    snprintf(l->traceparent, sizeof l->traceparent, "%s", o->traceparent ? o->traceparent : "");
    if (may_forward) {
        l->payload = sy_malloc(len + 1);
        memcpy(l->payload, payload, len);
        l->len = len;
    }
    int rc = sy_pool_invoke_opts(s->pool, name, payload, len, o, local_done, l);
    if (rc < 0) {
        lm_conc_give(s, fn);
        free(l->payload);
        free(l);
    }
    return rc;
}

int lm_sync_invoke_local(lm_svc_t *s, const char *name, const void *payload, size_t len, const sy_invoke_opts_t *o,
                         sy_invoke_cb cb, void *u)
{
    return invoke_local(s, name, payload, len, o, cb, u, false);
}

typedef struct {
    const char *name;
    bool found;
    int concurrency, credit;
} local_q_t;

static void local_cb(const sy_pool_function_info_t *info, void *u)
{
    local_q_t *q = u;
    if (strcmp(info->name, q->name) != 0) return;
    q->found = true;
    q->concurrency += info->concurrency;
    q->credit += info->credit;
}

/* Is every slot of this broker's workers for name taken? */
static bool local_full(lm_svc_t *s, const local_q_t *q)
{
    if (q->credit == 0) return true;
    int used = 0;
    pthread_mutex_lock(&s->mu);
    for (lm_fn_t *f = s->fns; f; f = f->next)
        if (strcmp(f->name, q->name) == 0) used = f->sync_inflight + f->outstanding;
    pthread_mutex_unlock(&s->mu);
    return used >= q->concurrency;
}

static int sync_invoke_once(lm_svc_t *s, const char *name, const void *payload, size_t len,
                            const sy_invoke_opts_t *o, sy_invoke_cb cb, void *u, int attempt)
{
    lm_fleet_t *fl = s->fleet;
    if (!fl || !s->pool) return invoke_local(s, name, payload, len, o, cb, u, false);
    char target[33];
    local_q_t q = {.name = name};
    sy_pool_functions(s->pool, local_cb, &q);
    if (q.found) {
        /* all our workers busy while another broker's are idle: go there */
        if (local_full(s, &q) && pick(fl, name, true, target))
            return forward(s, target, name, payload, len, o, cb, u, attempt);
        int rc = invoke_local(s, name, payload, len, o, cb, u, false);
        if (rc != LM_SYNC_THROTTLED || !pick(fl, name, false, target)) return rc;
        return forward(s, target, name, payload, len, o, cb, u, attempt); /* our share is used up, theirs is not */
    }
    if (pick(fl, name, false, target)) return forward(s, target, name, payload, len, o, cb, u, attempt);
    /* nobody hosts it (yet): the pool waits up to 1 s for a worker, then
     * looks at the registry once more */
    return invoke_local(s, name, payload, len, o, cb, u, true);
}

/* Keep a sync call for the next heartbeat (deferred()); 0, or -1 when the
 * caller's deadline or the attempts do not allow it. */
static int defer(lm_svc_t *s, const char *name, const void *payload, size_t len, const sy_invoke_opts_t *o,
                 sy_invoke_cb cb, void *u, int attempt)
{
    lm_fleet_t *fl = s->fleet;
    if (!fl || attempt + 1 >= LM_FLEET_ATTEMPTS || sy_now_ms() + s->ctx->cfg.fleet_heartbeat_ms >= o->deadline_ms)
        return -1;
    waiter_t *w = waiter_new(name, payload, len, o, cb, u, attempt);
    w->deferred = true;
    pthread_mutex_lock(&fl->mu);
    w->next = fl->waiters;
    fl->waiters = w;
    pthread_mutex_unlock(&fl->mu);
    sy_metric_inc("switchyard_fleet_deferred_total", NULL, 1);
    return 0;
}

/* Throttled while this broker holds no share only because the fleet is
 * changing (a broker or worker joined: shares settle within two heartbeats)
 * and no other broker has room yet: tried again after the next heartbeat,
 * within the caller's deadline, instead of a 429. */
static int sync_invoke(lm_svc_t *s, const char *name, const void *payload, size_t len, const sy_invoke_opts_t *o,
                       sy_invoke_cb cb, void *u, int attempt)
{
    int rc = sync_invoke_once(s, name, payload, len, o, cb, u, attempt);
    if (rc != LM_SYNC_THROTTLED || !s->fleet) return rc;
    char fn[LM_NAME_MAX + 1];
    snprintf(fn, sizeof fn, "%.*s", (int)strcspn(name, ":"), name);
    if (!lm_conc_unsettled(s, fn)) return rc;
    if (defer(s, name, payload, len, o, cb, u, attempt) < 0) return rc;
    return 0;
}

int lm_sync_invoke(lm_svc_t *s, const char *name, const void *payload, size_t len, const sy_invoke_opts_t *o,
                   sy_invoke_cb cb, void *u)
{
    return sync_invoke(s, name, payload, len, o, cb, u, 0);
}

/* A hand-over the target never ran (it stopped first, or had no worker after
 * all): sent again wherever the registry now shows a worker, while the
 * caller's deadline allows, at most LM_FLEET_ATTEMPTS tries in all.
 * Consumes w; false (w untouched) when it cannot be sent again. */
static bool redispatch(lm_fleet_t *fl, waiter_t *w)
{
    if (w->attempt + 1 >= LM_FLEET_ATTEMPTS || sy_now_ms() >= w->deadline_ms) return false;
    lm_svc_t *s = fl->s;
    sy_invoke_opts_t o = {.deadline_ms = w->deadline_ms, .request_id = w->request_id[0] ? w->request_id : NULL,
                          .traceparent = w->traceparent[0] ? w->traceparent : NULL};
    char fn[LM_NAME_MAX + 1]; /* the configuration the worker applies, as serve() finds it */
    size_t cut = strcspn(w->key, ":");
    snprintf(fn, sizeof fn, "%.*s", (int)cut, w->key);
    lm_target_t t;
    memset(&t, 0, sizeof t);
    sy_err_t terr;
    if (lm_target_resolve(s, fn, w->key[cut] ? w->key + cut + 1 : "", &t, &terr) == 0) o.config = t.config;
    int rc = sync_invoke(s, w->key, w->payload, w->len, &o, w->cb, w->u, w->attempt + 1);
    lm_target_clear(&t);
    if (rc != 0) {
        sy_invoke_result_t r = {.status = rc == LM_SYNC_THROTTLED ? SY_INVOKE_TOO_MANY : SY_INVOKE_SHUTDOWN};
        w->cb(&r, w->u);
    }
    lm_fleet_waiter_free(w);
    return true;
}

static void resent(const waiter_t *w)
{
    sy_log(SY_LOG_INFO, "fleet", w->request_id[0] ? w->request_id : NULL,
           "call sent again: the broker it was handed to did not run it", "function", w->key);
    sy_metric_inc("switchyard_fleet_resent_total", NULL, 1);
}

/* Back on the list for the next heartbeat (deferred()); false when the
 * attempts or the caller's deadline do not allow another try. */
static bool requeue(lm_fleet_t *fl, waiter_t *w)
{
    if (w->attempt + 1 >= LM_FLEET_ATTEMPTS || sy_now_ms() + fl->s->ctx->cfg.fleet_heartbeat_ms >= w->deadline_ms)
        return false;
    w->deferred = true;
    pthread_mutex_lock(&fl->mu);
    w->next = fl->waiters;
    fl->waiters = w;
    pthread_mutex_unlock(&fl->mu);
    return true;
}

void lm_fleet_answer(lm_fleet_t *fl, const char *id)
{
    int status = 0;
    char *etype = NULL, *emsg = NULL, *result = NULL;
    size_t len = 0;
    sy_err_t err;
    if (lm_store_fleet_call_take(fl->c, id, &status, &etype, &emsg, &result, &len, &err) < 0) return;
    waiter_t *w = waiter_take(fl, id);
    /* not run: the target stopped before its pool ran it, lost its workers,
     * or had no room after all (its share shrank since the row we chose it
     * by: a broker joining or leaving) */
    bool not_run = status == SY_INVOKE_SHUTDOWN || status == SY_INVOKE_NO_WORKER || status == SY_INVOKE_TOO_MANY;
    /* tried again after the next heartbeat, with the registry as it is then
     * (now, the same row would send it to the same broker) */
    if (w && not_run && requeue(fl, w)) {
        resent(w);
        w = NULL;
    }
    if (w) {
        sy_invoke_result_t r = {.status = (sy_invoke_status_t)status, .error_type = etype, .error_message = emsg,
                                .result = result, .len = len};
        w->cb(&r, w->u);
        lm_fleet_waiter_free(w);
    }
    free(etype);
    free(emsg);
    free(result);
}

/* Sync calls waiting for the shares to settle: tried again now that this
 * heartbeat has recomputed them. */
void lm_fleet_deferred(lm_fleet_t *fl)
{
    waiter_t *due = NULL;
    pthread_mutex_lock(&fl->mu);
    for (waiter_t **pp = &fl->waiters; *pp;) {
        waiter_t *w = *pp;
        if (w->deferred) {
            *pp = w->next;
            w->next = due;
            due = w;
        } else {
            pp = &w->next;
        }
    }
    pthread_mutex_unlock(&fl->mu);
    while (due) {
        waiter_t *w = due;
        due = w->next;
        w->next = NULL;
        if (!redispatch(fl, w)) {
            sy_invoke_result_t r = {.status = SY_INVOKE_TOO_MANY};
            w->cb(&r, w->u);
            lm_fleet_waiter_free(w);
        }
    }
}

/* Calls handed to a broker that is gone (killed: silent for 3 heartbeats;
 * or draining before it claimed them): never claimed -> sent again; claimed
 * by a broker that died -> the outcome is unknown (the function may have run
 * on a worker that is still alive): the caller gets a retryable service
 * error at once instead of waiting for the deadline. */
/* A broker seen gone leaves this heartbeat's copy of the registry at once
 * (read a few ms before, it may still list it: a call sent again would go
 * back to it). */
static void forget_peer(lm_fleet_t *fl, const char *hex)
{
    pthread_mutex_lock(&fl->mu);
    for (int i = 0; i < fl->npeers; i++)
        if (strcmp(fl->peers[i].id, hex) == 0) {
            json_decref(fl->peers[i].functions);
            fl->peers[i] = fl->peers[--fl->npeers];
            break;
        }
    pthread_mutex_unlock(&fl->mu);
}

void lm_fleet_orphans(lm_fleet_t *fl)
{
    pthread_mutex_lock(&fl->mu);
    bool any = fl->waiters != NULL;
    pthread_mutex_unlock(&fl->mu);
    if (!any) return;
    char **ids = NULL, *states = NULL, **targets = NULL;
    int n = 0;
    sy_err_t err;
    if (lm_store_fleet_call_orphans(fl->c, fl->hex, 3 * fl->s->ctx->cfg.fleet_heartbeat_ms, &ids, &states, &targets,
                                    &n, &err) < 0)
        return;
    for (int i = 0; i < n; i++) forget_peer(fl, targets[i]);
    for (int i = 0; i < n; i++) {
        waiter_t *w = waiter_take(fl, ids[i]);
        if (w && states[i] == 'n' && w->attempt + 1 < LM_FLEET_ATTEMPTS && w->deadline_ms > sy_now_ms()) {
            resent(w);
            redispatch(fl, w); /* answers the caller itself if it cannot */
            w = NULL;
        }
        if (w) {
            sy_log(SY_LOG_WARN, "fleet", w->request_id[0] ? w->request_id : NULL,
                   "the broker running a handed-over call stopped; its outcome is unknown", "function", w->key);
            sy_metric_inc("switchyard_fleet_lost_total", NULL, 1);
            sy_invoke_result_t r = {.status = SY_INVOKE_SHUTDOWN,
                                    .error_message = "the broker running the invocation stopped; its outcome is unknown"};
            w->cb(&r, w->u);
            lm_fleet_waiter_free(w);
        }
        free(ids[i]);
        free(targets[i]);
    }
    free(ids);
    free(states);
    free(targets);
}

/* Waiters past their deadline (+2 s for the other broker's answer). */
void lm_fleet_expire(lm_fleet_t *fl, bool all)
{
    int64_t now = sy_now_ms();
    for (;;) {
        waiter_t *w = NULL;
        pthread_mutex_lock(&fl->mu);
        for (waiter_t **pp = &fl->waiters; *pp; pp = &(*pp)->next)
            if (all || now > (*pp)->deadline_ms + 2000) {
                w = *pp;
                *pp = w->next;
                break;
            }
        pthread_mutex_unlock(&fl->mu);
        if (!w) return;
        sy_err_t err;
        if (fl->c) lm_store_fleet_call_drop(fl->c, w->id, &err);
        sy_invoke_result_t r = {.status = all ? SY_INVOKE_SHUTDOWN : SY_INVOKE_TIMEOUT};
        w->cb(&r, w->u);
        lm_fleet_waiter_free(w);
    }
}

