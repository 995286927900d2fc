/* lambda/fleet.c - many brokers as one service. A fleet thread per broker
 * keeps its row in the registry (sy_brokers: a heartbeat every
 * fleet-heartbeat-ms naming the functions its workers host, their free
 * credit, the room of its concurrency shares and what runs), reads the
 * other live brokers' rows, and LISTENs on sy_fleet_<its id>.
 *
 * A synchronous invocation (Invoke RequestResponse, an EXPRESS execution's
 * or StartSyncExecution's function task) that reaches a broker whose
 * workers do not host the function, or whose share is used up, or whose
 * workers are all busy while another broker's are not, is handed over:
 * the origin writes the call into sy_fleet_calls and notifies the target in
 * the same statement; the target's fleet thread claims it, invokes through
 * its own pool, writes the outcome and notifies the origin, whose fleet
 * thread reads (and deletes) it and answers the caller. Both tables are
 * UNLOGGED: the hand-over costs two commits without WAL flushes and two
 * notifications (bench/fleet.sh measures it). A lost notification is found
 * by the next heartbeat's look at the table. The origin side (where a call
 * goes, and what happens when its target does not answer) is
 * fleet_route.c. */
#include "lambda/fleet_internal.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>


static int64_t mono_ms(void)
{
    return sy_mono_us() / 1000;
}

static void peers_free(lm_peer_t *p, int n)
{
    for (int i = 0; i < n; i++) json_decref(p[i].functions);
    free(p);
}

static void hex_of(const char *uuid, char out[33])
{
    int k = 0;
    for (const char *p = uuid; *p && k < 32; p++)
        if (*p != '-') out[k++] = *p;
    out[k] = 0;
}

/* ------------------------------------------------------------ registry */
typedef struct {
    json_t *obj;
    lm_svc_t *s;
} hb_t;

static void hb_cb(const sy_pool_function_info_t *info, void *u)
{
    hb_t *h = u;
    json_object_set_new(h->obj, info->name,
                        json_pack("{s:i,s:i,s:i,s:i,s:i}", "w", info->workers, "c", info->credit, "r", -1, "s", 0,
                                  "o", 0));
}

/* This broker's row: hosted functions with their room and what runs. */
static char *heartbeat_json(lm_fleet_t *fl)
{
    lm_svc_t *s = fl->s;
    hb_t h = {json_object(), s};
    if (s->pool) sy_pool_functions(s->pool, hb_cb, &h);
    pthread_mutex_lock(&s->mu);
    const char *key;
    json_t *val;
    json_object_foreach(h.obj, key, val) {
        for (lm_fn_t *f = s->fns; f; f = f->next)
            if (strcmp(f->name, key) == 0) {
                json_object_set_new(val, "r", json_integer(lm_conc_room(s, f)));
                json_object_set_new(val, "s", json_integer(f->sync_inflight));
                json_object_set_new(val, "o", json_integer(f->outstanding));
            }
    }
    pthread_mutex_unlock(&s->mu);
    /* since when each function is hosted here */
    int64_t now = mono_ms();
    hosted_t *nh = sy_calloc(json_object_size(h.obj) + 1, sizeof *nh);
    int n = 0;
    json_object_foreach(h.obj, key, val) {
        snprintf(nh[n].name, sizeof nh[n].name, "%s", key);
        nh[n].since = now;
        for (int i = 0; i < fl->nhosted; i++)
            if (strcmp(fl->hosted[i].name, key) == 0) nh[n].since = fl->hosted[i].since;
        n++;
    }
    free(fl->hosted);
    fl->hosted = nh;
    fl->nhosted = n;
    char *txt = sy_json_dumps(h.obj);
    json_decref(h.obj);
    return txt;
}

static int heartbeat(lm_fleet_t *fl)
{
    lm_svc_t *s = fl->s;
    sy_err_t err;
    bool draining = sy_probe_draining() || fl->draining;
    char *fns = heartbeat_json(fl);
    int rc = lm_store_fleet_heartbeat(fl->c, fl->id, s->ctx->cfg.account_id, draining, fns, &err);
    free(fns);
    lm_peer_t *peers = NULL;
    int npeers = 0, reserved_sum = 0;
    int hb = s->ctx->cfg.fleet_heartbeat_ms;
    if (rc == 0) rc = lm_store_fleet_peers(fl->c, s->ctx->cfg.account_id, 3 * hb, &peers, &npeers, &reserved_sum, &err);
    if (rc < 0) {
        sy_log(SY_LOG_WARN, "fleet", NULL, "registry heartbeat failed", "error", err.message);
        return rc;
    }
    const char **names = sy_calloc((size_t)fl->nhosted + 1, sizeof *names);
    int64_t *since = sy_calloc((size_t)fl->nhosted + 1, sizeof *since);
    for (int i = 0; i < fl->nhosted; i++) {
        names[i] = fl->hosted[i].name;
        since[i] = fl->hosted[i].since;
    }
    lm_conc_update(s, fl->hex, peers, npeers, reserved_sum, names, since, fl->nhosted, 2 * (int64_t)hb + 100);
    free(names);
    free(since);
    pthread_mutex_lock(&fl->mu);
    peers_free(fl->peers, fl->npeers);
    fl->peers = peers;
    fl->npeers = npeers;
    pthread_mutex_unlock(&fl->mu);
    sy_metric_set("switchyard_fleet_brokers", NULL, npeers);
    return 0;
}

/* ------------------------------------------------------- the target side */
typedef struct {
    lm_fleet_t *fl;
    char id[37];
} served_t;

static void outbox_push(lm_fleet_t *fl, outcome_t *oc)
{
    pthread_mutex_lock(&fl->mu);
    oc->next = fl->outbox;
    fl->outbox = oc;
    pthread_mutex_unlock(&fl->mu);
    uint64_t one = 1;
    (void)!write(fl->evfd, &one, sizeof one);
}

static void served_done(const sy_invoke_result_t *res, void *u)
{
    served_t *sv = u;
    outcome_t *oc = sy_calloc(1, sizeof *oc);
    snprintf(oc->id, sizeof oc->id, "%s", sv->id);
    oc->status = (int)res->status;
    oc->etype = res->error_type ? sy_strdup(res->error_type) : NULL;
    oc->emsg = res->error_message ? sy_strdup(res->error_message) : NULL;
    if (res->len) {
        oc->result = sy_malloc(res->len);
        memcpy(oc->result, res->result, res->len);
        oc->len = res->len;
    }
    outbox_push(sv->fl, oc);
    free(sv);
}

static void serve(lm_fleet_t *fl, const char *id)
{
    lm_call_t call;
    sy_err_t err;
    pthread_mutex_lock(&fl->mu);
    bool draining = fl->draining;
    pthread_mutex_unlock(&fl->mu);
    if (draining) return; /* left unclaimed: its origin sends it elsewhere (orphans) */
    if (lm_store_fleet_call_claim(fl->c, id, fl->hex, &call, &err) < 0) return;
    served_t *sv = sy_calloc(1, sizeof *sv);
    sv->fl = fl;
    snprintf(sv->id, sizeof sv->id, "%s", id);
    sy_invoke_opts_t o = {.deadline_ms = call.deadline_ms, .request_id = call.request_id[0] ? call.request_id : NULL,
                          .traceparent = call.traceparent[0] ? call.traceparent : NULL};
    /* the configuration the worker applies (lambda/versions.c): from the pool
     * key the calling broker used, "name" or "name:N" */
    char fn[LM_NAME_MAX + 1];
    size_t cut = strcspn(call.function, ":");
    snprintf(fn, sizeof fn, "%.*s", (int)cut, call.function);
    lm_target_t t;
    memset(&t, 0, sizeof t);
    sy_err_t terr;
    if (lm_target_resolve(fl->s, fn, call.function[cut] ? call.function + cut + 1 : "", &t, &terr) == 0)
        o.config = t.config;
    lm_fn_t f;
    sy_err_t ferr;
    lm_fn_lookup(fl->s, fn, &f, &ferr); /* its settings cached here: the share is counted */
    int rc = lm_sync_invoke_local(fl->s, call.function, call.payload, call.len, &o, served_done, sv);
    lm_target_clear(&t);
    if (rc != 0) {
        sy_invoke_result_t r = {.status = rc == LM_SYNC_THROTTLED ? SY_INVOKE_TOO_MANY : SY_INVOKE_SHUTDOWN};
        served_done(&r, sv);
    }
    sy_metric_inc("switchyard_fleet_served_total", NULL, 1);
    free(call.payload);
}

static void write_outcomes(lm_fleet_t *fl)
{
    pthread_mutex_lock(&fl->mu);
    outcome_t *oc = fl->outbox;
    fl->outbox = NULL;
    pthread_mutex_unlock(&fl->mu);
    while (oc) {
        outcome_t *n = oc->next;
        sy_err_t err;
        if (fl->c && lm_store_fleet_call_done(fl->c, oc->id, oc->status, oc->etype, oc->emsg, oc->result, oc->len,
                                              &err) < 0)
            sy_log(SY_LOG_WARN, "fleet", NULL, "could not write a served call's outcome", "error", err.message);
        free(oc->etype);
        free(oc->emsg);
        free(oc->result);
        free(oc);
        oc = n;
    }
}

/* Notifications that arrive while this thread runs a statement are queued
 * inside libpq, not on the socket: look again after every statement. */
static void notifications(lm_fleet_t *fl)
{
    if (!PQconsumeInput(fl->c)) return;
    PGnotify *n;
    while ((n = PQnotifies(fl->c)) || (PQconsumeInput(fl->c) && (n = PQnotifies(fl->c)))) {
        const char *p = n->extra;
        if (p[0] == 'R' && p[1] == ' ') serve(fl, p + 2);
        else if (p[0] == 'D' && p[1] == ' ') lm_fleet_answer(fl, p + 2);
        PQfreemem(n);
    }
}

static void missed(lm_fleet_t *fl)
{
    char **ids = NULL, *kinds = NULL;
    int n = 0;
    sy_err_t err;
    if (lm_store_fleet_call_missed(fl->c, fl->hex, &ids, &kinds, &n, &err) < 0) return;
    for (int i = 0; i < n; i++) {
        if (kinds[i] == 'R') serve(fl, ids[i]);
        else lm_fleet_answer(fl, ids[i]);
        free(ids[i]);
    }
    free(ids);
    free(kinds);
}

static bool db_up(lm_fleet_t *fl)
{
    if (fl->c && PQstatus(fl->c) == CONNECTION_OK) return true;
    if (fl->c) PQfinish(fl->c);
    fl->c = PQconnectdb(sy_pg_conninfo(fl->s->ctx->pool));
    sy_err_t err;
    if (PQstatus(fl->c) != CONNECTION_OK || lm_store_fleet_listen(fl->c, fl->channel, &err) < 0) {
        PQfinish(fl->c);
        fl->c = NULL;
        return false;
    }
    return true;
}

static void *fleet_main(void *arg)
{
    lm_fleet_t *fl = arg;
    lm_svc_t *s = fl->s;
    int hb = s->ctx->cfg.fleet_heartbeat_ms;
    int beat = sy_beat_register("fleet", 60000 + 3 * (int64_t)hb);
    int64_t next_hb = mono_ms() + hb, turns = 0;
    for (;;) {
        sy_beat(beat);
        pthread_mutex_lock(&fl->mu);
        bool stop = fl->stop;
        pthread_mutex_unlock(&fl->mu);
        if (stop) break;
        struct pollfd p[2] = {{fl->evfd, POLLIN, 0}, {fl->c ? PQsocket(fl->c) : -1, POLLIN, 0}};
        int64_t wait = next_hb - mono_ms();
        poll(p, 2, wait < 0 ? 0 : wait > 100 ? 100 : (int)wait);
        if (p[0].revents & POLLIN) {
            uint64_t v;
            (void)!read(fl->evfd, &v, sizeof v);
        }
        if (db_up(fl)) {
            notifications(fl);
            write_outcomes(fl);
            notifications(fl);
        }
        lm_fleet_expire(fl, false);
        if (mono_ms() >= next_hb) {
            next_hb = mono_ms() + hb;
            if (db_up(fl)) {
                heartbeat(fl);
                missed(fl);
                lm_fleet_orphans(fl);
                lm_fleet_deferred(fl);
                notifications(fl);
                if (++turns % 30 == 0) {
                    sy_err_t err;
                    lm_store_fleet_gc(fl->c, &err);
                }
            }
        }
    }
    /* the pool is gone: write what it finished, leave the registry */
    if (db_up(fl)) {
        write_outcomes(fl);
        sy_err_t err;
        lm_store_fleet_leave(fl->c, fl->id, &err);
    }
    lm_fleet_expire(fl, true);
    sy_beat_stop(beat);
    return NULL;
}

int lm_fleet_start(lm_svc_t *s, sy_err_t *err)
{
    lm_fleet_t *fl = sy_calloc(1, sizeof *fl);
    fl->s = s;
    sy_uuid4(fl->id);
    hex_of(fl->id, fl->hex);
    snprintf(fl->channel, sizeof fl->channel, "sy_fleet_%s", fl->hex);
    pthread_mutex_init(&fl->mu, NULL);
    fl->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    lm_conc_init(s);
    s->fleet = fl;
    if (!db_up(fl)) {
        sy_err_set(err, SY_E_DB, 500, "ServiceException", "fleet: could not connect to the database");
        return SY_E_DB;
    }
    heartbeat(fl); /* peers known before the first request */
    if (pthread_create(&fl->thread, NULL, fleet_main, fl) != 0) sy_panic("pthread_create");
    fl->started = true;
    sy_log(SY_LOG_INFO, "fleet", NULL, "joined the broker registry", "broker_id", fl->id);
    return 0;
}

void lm_fleet_draining(lm_svc_t *s)
{
    lm_fleet_t *fl = s->fleet;
    if (!fl) return;
    pthread_mutex_lock(&fl->mu);
    fl->draining = true;
    pthread_mutex_unlock(&fl->mu);
}

void lm_fleet_stop(lm_svc_t *s)
{
    lm_fleet_t *fl = s->fleet;
    if (!fl) return;
    if (fl->started) {
        pthread_mutex_lock(&fl->mu);
        fl->stop = true;
        pthread_mutex_unlock(&fl->mu);
        uint64_t one = 1;
        (void)!write(fl->evfd, &one, sizeof one);
        pthread_join(fl->thread, NULL);
    } else {
        lm_fleet_expire(fl, true);
    }
    if (fl->c) PQfinish(fl->c);
    peers_free(fl->peers, fl->npeers);
    free(fl->hosted);
    close(fl->evfd);
    pthread_mutex_destroy(&fl->mu);
    free(fl);
    s->fleet = NULL;
    lm_conc_free(s);
}
