/* lambda/service.c - the function service: start/stop, the config cache,
 * the internal entry point for asynchronous invocations from other
 * services, and invocations for other services' tasks (Step Functions). */
#include "lambda/internal.h"
#include "lambda/fleet.h" /* issue 11 */
#include "queue/queue.h"

#include <stdlib.h>
#include <string.h>

#define CACHE_TTL_MS 1000

static int64_t mono_ms(void)
{
    return sy_mono_us() / 1000;
}

lm_svc_t *lm_svc(sy_ctx_t *ctx)
{
    lm_svc_t *s = ctx->svc[SY_SVC_WORKER];
    if (!s) { /* created on first use, at start-up (single-threaded) */
        s = sy_calloc(1, sizeof *s);
        s->ctx = ctx;
        pthread_mutex_init(&s->mu, NULL);
        pthread_cond_init(&s->wake, NULL);
        pthread_cond_init(&s->settle_cv, NULL);
        ctx->svc[SY_SVC_WORKER] = s;
    }
    return s;
}

double lm_scale(const lm_svc_t *s)
{
    return s->ctx->cfg.time_scale > 1 ? s->ctx->cfg.time_scale : 1;
}

int lm_function_name(const char *in, char out[LM_NAME_MAX + 1])
{
    if (!in || !*in) return -1;
    const char *p = in;
    size_t n;
    const char *f = strstr(in, ":function:");
    if (strncmp(in, "arn:", 4) == 0) {
        if (!f) return -1;
        p = f + 10;
    } else if (f) { /* account:function:name partial ARN */
        p = f + 10;
    }
    const char *colon = strchr(p, ':'); /* a qualifier: ignored ($LATEST only) */
    n = colon ? (size_t)(colon - p) : strlen(p);
    if (n == 0 || n > LM_NAME_MAX) return -1;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
            return -1;
    }
    memcpy(out, p, n);
    out[n] = 0;
    return 0;
}

char *lm_function_arn(const sy_ctx_t *ctx, const char *name)
{
    return sy_asprintf("arn:aws:lambda:%s:%s:function:%s", ctx->cfg.region, ctx->cfg.account_id, name);
}

char *lm_queue_name(const char *function)
{
    return sy_asprintf(LM_QUEUE_PREFIX "%s", function);
}

static void fn_free(lm_fn_t *f)
{
    free(f->blob);
    free(f->on_success);
    free(f->on_failure);
    free(f);
}

/* under s->mu */
static lm_fn_t *fn_find(lm_svc_t *s, const char *name)
{
    for (lm_fn_t *f = s->fns; f; f = f->next)
        if (strcmp(f->name, name) == 0) return f;
    return NULL;
}

static char *dest_arn(const json_t *ec, const char *which)
{
    const json_t *d = json_object_get(json_object_get(ec, "DestinationConfig"), which);
    const char *a = sy_json_str(d, "Destination");
    return a && *a ? sy_strdup(a) : NULL;
}

typedef struct {
    const char *name;
    bool found;
} host_q_t;
static void host_cb(const sy_pool_function_info_t *info, void *u)
{
    host_q_t *q = u;
    if (strcmp(info->name, q->name) == 0) q->found = true;
}
bool lm_pool_hosts(lm_svc_t *s, const char *name)
{
    if (!s->pool) return false;
    host_q_t q = {name, false};
    sy_pool_functions(s->pool, host_cb, &q);
    return q.found;
}

int lm_ensure_queue(lm_svc_t *s, const char *name, sy_err_t *err)
{
    char *q = lm_queue_name(name);
    int rc = sy_queue_ensure_internal(s->ctx, q, 60, err);
    free(q);
    return rc;
}

/* Load name's row into the cache (creating it with defaults when a worker
 * hosts it). Not under s->mu. */
static int fn_load_once(lm_svc_t *s, const char *name, sy_err_t *err, bool *stale);

/* A write on this broker (lm_fn_invalidate) while a load read the row is
 * not lost to that load: it reads again. */
static int fn_load(lm_svc_t *s, const char *name, sy_err_t *err)
{
    int rc = 0;
    for (int i = 0; i < 4; i++) {
        bool stale = false;
        rc = fn_load_once(s, name, err, &stale);
        if (rc < 0 || !stale) break;
    }
    return rc;
}

static int fn_load_once(lm_svc_t *s, const char *name, sy_err_t *err, bool *stale)
{
    lm_row_t row;
    pthread_mutex_lock(&s->mu);
    lm_fn_t *g = fn_find(s, name);
    uint64_t gen = g ? g->gen : 0;
    pthread_mutex_unlock(&s->mu);
    int rc = lm_store_fn_get(s->ctx, name, &row, err);
    if (rc == SY_E_NOTFOUND && (lm_pool_hosts(s, name) || lm_fleet_hosts(s, name))) {
        json_t *cfg = json_pack("{s:i,s:i}", "Timeout", LM_DEFAULT_TIMEOUT_S, "MemorySize", 128);
        rc = lm_store_fn_create(s->ctx, name, cfg, true, err);
        json_decref(cfg);
        if (rc == 0) {
            sy_log(SY_LOG_INFO, "lambda", NULL, "function created for a worker's announcement", "function", name);
            rc = lm_store_fn_get(s->ctx, name, &row, err);
        }
    }
    if (rc < 0) {
        if (rc == SY_E_NOTFOUND) { /* forget a deleted function */
            pthread_mutex_lock(&s->mu);
            for (lm_fn_t **pp = &s->fns; *pp; pp = &(*pp)->next)
                if (strcmp((*pp)->name, name) == 0 && (*pp)->sync_inflight == 0 && (*pp)->outstanding == 0) {
                    lm_fn_t *d = *pp;
                    *pp = d->next;
                    fn_free(d);
                    break;
                }
            pthread_mutex_unlock(&s->mu);
        }
        return rc;
    }
    bool queue_ok = false;
    pthread_mutex_lock(&s->mu);
    lm_fn_t *f = fn_find(s, name);
    queue_ok = f && f->queue_ok;
    pthread_mutex_unlock(&s->mu);
    if (!queue_ok && lm_ensure_queue(s, name, err) < 0) {
        lm_row_clear(&row);
        return SY_E_DB;
    }
    pthread_mutex_lock(&s->mu);
    f = fn_find(s, name);
    if (!f) {
        f = sy_calloc(1, sizeof *f);
        snprintf(f->name, sizeof f->name, "%s", name);
        f->next = s->fns;
        s->fns = f;
    }
    int64_t t = 0;
    f->timeout_s = sy_json_int(row.config, "Timeout", &t) && t > 0 ? (int)t : LM_DEFAULT_TIMEOUT_S;
    f->reserved = row.reserved;
    f->max_retries = sy_json_int(row.event_config, "MaximumRetryAttempts", &t) ? (int)t : LM_DEFAULT_RETRIES;
    f->max_age_s = sy_json_int(row.event_config, "MaximumEventAgeInSeconds", &t) ? (int)t : LM_DEFAULT_MAX_AGE_S;
    free(f->on_success);
    free(f->on_failure);
    f->on_success = dest_arn(row.event_config, "OnSuccess");
    f->on_failure = dest_arn(row.event_config, "OnFailure");
    free(f->blob);
    f->blob = lm_config_blob(s->ctx, name, row.config, "$LATEST", NULL, row.revision);
    f->queue_ok = true;
    *stale = f->gen != gen;
    f->loaded_ms = *stale ? 0 : mono_ms();
    pthread_mutex_unlock(&s->mu);
    lm_row_clear(&row);
    return 0;
}

int lm_fn_lookup(lm_svc_t *s, const char *name, lm_fn_t *out, sy_err_t *err)
{
    pthread_mutex_lock(&s->mu);
    lm_fn_t *f = fn_find(s, name);
    bool fresh = f && f->loaded_ms && mono_ms() - f->loaded_ms < CACHE_TTL_MS;
    if (fresh) {
        *out = *f;
        out->on_success = out->on_failure = out->blob = NULL;
        out->next = NULL;
    }
    pthread_mutex_unlock(&s->mu);
    if (fresh) return 0;
    int rc = fn_load(s, name, err);
    if (rc < 0) return rc;
    pthread_mutex_lock(&s->mu);
    f = fn_find(s, name);
    if (f) {
        *out = *f;
        out->on_success = out->on_failure = out->blob = NULL;
        out->next = NULL;
    }
    pthread_mutex_unlock(&s->mu);
    return f ? 0 : sy_err_set(err, SY_E_NOTFOUND, 404, "ResourceNotFoundException", "Function not found: %s", name);
}

void lm_fn_destinations(lm_svc_t *s, const char *name, char **on_success, char **on_failure)
{
    *on_success = *on_failure = NULL;
    pthread_mutex_lock(&s->mu);
    lm_fn_t *f = fn_find(s, name);
    if (f) {
        if (f->on_success) *on_success = sy_strdup(f->on_success);
        if (f->on_failure) *on_failure = sy_strdup(f->on_failure);
    }
    pthread_mutex_unlock(&s->mu);
}

void lm_fn_invalidate(lm_svc_t *s, const char *name)
{
    pthread_mutex_lock(&s->mu);
    lm_fn_t *f = fn_find(s, name);
    if (f) {
        f->loaded_ms = 0;
        f->gen++; /* a load that read the row before this write reads it again */
    }
    pthread_mutex_unlock(&s->mu);
}

/* ------------------------------------------------ the internal entry point */
int sy_lambda_invoke_async(sy_ctx_t *ctx, PGconn *c, const char *function, const void *payload, size_t len,
                             const sy_lambda_reply_t *reply_to, sy_err_t *err)
{
    lm_svc_t *s = lm_svc(ctx);
    char name[LM_NAME_MAX + 1], qual[LM_QUAL_MAX + 1];
    if (lm_ref_parse(function, name, qual) < 0)
        return sy_err_set(err, SY_E_INVALID, 400, "InvalidParameterValueException", "invalid function name: %s",
                          function ? function : "");
    return lm_invoke_async_ex(s, c, name, qual, payload, len, reply_to, NULL, err);
}

void sy_lambda_set_bus_sink(sy_ctx_t *ctx, sy_lambda_bus_sink_fn fn, void *u)
{
    lm_svc_t *s = lm_svc(ctx);
    pthread_mutex_lock(&s->mu);
    s->bus_sink = fn;
    s->bus_sink_u = u;
    pthread_mutex_unlock(&s->mu);
}

void sy_lambda_set_reply_sink(sy_ctx_t *ctx, sy_lambda_reply_fn fn, void *udata)
{
    lm_svc_t *s = lm_svc(ctx);
    pthread_mutex_lock(&s->mu);
    s->reply_sink = fn;
    s->reply_sink_u = udata;
    pthread_mutex_unlock(&s->mu);
}

int lm_reply(lm_svc_t *s, PGconn *c, const char *execution_arn, int64_t task_id, const json_t *result,
             const char *error, const char *cause, sy_err_t *err)
{
    pthread_mutex_lock(&s->mu);
    sy_lambda_reply_fn sink = s->reply_sink;
    void *u = s->reply_sink_u;
    pthread_mutex_unlock(&s->mu);
    if (!sink && c) /* not wired yet (start-up): leave the message leased, it returns */
        return sy_err_set(err, SY_E_INTERNAL, 500, "ServiceException", "no reply seam is set");
    if (!sink) {
        sy_log(SY_LOG_WARN, "lambda", NULL, "no reply seam is set; task outcome dropped", "execution",
               execution_arn);
        return 0;
    }
    return sink(s->ctx, c, execution_arn, task_id, result, error, cause, u, err);
}

void sy_lambda_set_topic_sink(sy_ctx_t *ctx, sy_lambda_topic_sink_fn fn, void *u)
{
    lm_svc_t *s = lm_svc(ctx);
    pthread_mutex_lock(&s->mu);
    s->topic_sink = fn;
    s->topic_sink_u = u;
    pthread_mutex_unlock(&s->mu);
}

/* ------------------------------------------------ other services' tasks */
typedef struct {
    lm_svc_t *s;
    char *exec;
    int64_t task;
} express_t;

static void express_done(const sy_invoke_result_t *res, void *u)
{
    express_t *x = u;
    json_t *v = NULL;
    if (res->status == SY_INVOKE_OK) {
        v = res->len ? json_loadb(res->result, res->len, JSON_DECODE_ANY, NULL) : json_null();
        if (!v) v = json_stringn(res->result, res->len);
        lm_reply(x->s, NULL, x->exec, x->task, v, NULL, NULL, NULL);
    } else {
        const char *type = res->status == SY_INVOKE_FN_ERROR ? res->error_type
                           : res->status == SY_INVOKE_TIMEOUT ? "Sandbox.Timedout"
                           : res->status == SY_INVOKE_TOO_MANY ? "Lambda.TooManyRequestsException"
                           : res->status == SY_INVOKE_NO_WORKER ? "Lambda.ResourceNotReadyException"
                                                                : "Lambda.ServiceException";
        char *cause = res->status == SY_INVOKE_FN_ERROR && res->len ? sy_strndup(res->result, res->len)
                                                                     : sy_asprintf("{\"errorMessage\":\"%s\",\"errorType\":\"%s\"}",
                                                                                   res->error_message ? res->error_message : "invocation failed", type);
        lm_reply(x->s, NULL, x->exec, x->task, NULL, type, cause, NULL);
        free(cause);
    }
    json_decref(v);
    free(x->exec);
    free(x);
}

/* The request body: lambda:invoke sends a string Payload as the raw body
 * (AWS's SDK does: Payload "0.0" invokes with the number 0.0); a legacy
 * function ARN gets the state's effective input as JSON. */
static char *invocation_payload(const sy_lambda_task_t *inv)
{
    bool invoke = inv->resource && strncmp(inv->resource, "arn:aws:states:::lambda:invoke", 30) == 0;
    if (invoke && json_is_string(inv->payload)) {
        const char *text = json_string_value(inv->payload);
        json_t *parsed = json_loads(text, JSON_DECODE_ANY, NULL);
        if (parsed) {
            json_decref(parsed);
            return sy_strdup(text);
        }
    }
    return sy_json_dumps(inv->payload);
}

int sy_lambda_invoke_for_task(sy_ctx_t *ctx, PGconn *c, const sy_lambda_task_t *inv, sy_err_t *err)
{
    lm_svc_t *s = lm_svc(ctx);
    char name[LM_NAME_MAX + 1], qual[LM_QUAL_MAX + 1];
    if (lm_ref_parse(inv->function, name, qual) < 0)
        return sy_err_set(err, SY_E_INVALID, 400, "Lambda.InvalidParameterValueException", "invalid function name: %s",
                          inv->function);
    char *payload = invocation_payload(inv);
    int rc;
    if (inv->express || !c) {
        lm_target_t f; /* the version or alias the task names (a qualified ARN) */
        rc = lm_target_resolve(s, name, qual, &f, err);
        if (rc == 0 && !s->pool)
            rc = sy_err_set(err, SY_E_INTERNAL, 500, "Lambda.ServiceException", "could not invoke %s", name);
        if (rc == 0) {
            express_t *x = sy_calloc(1, sizeof *x);
            x->s = s;
            x->exec = sy_strdup(inv->execution_arn);
            x->task = inv->task_id;
            int64_t t = inv->timeout_s > 0 && inv->timeout_s < f.timeout_s ? inv->timeout_s : f.timeout_s;
            sy_invoke_opts_t o = {.deadline_ms = sy_now_ms() + t * 1000 + (t < f.timeout_s ? 0 : LM_INIT_ALLOWANCE_MS),
                                  .config = f.config};
            rc = lm_sync_invoke(s, f.pool_key, payload, strlen(payload), &o, express_done, x); /* fleet.c */
            if (rc == LM_SYNC_THROTTLED) {
                free(x->exec);
                free(x);
                rc = sy_err_set(err, SY_E_INVALID, 429, "Lambda.TooManyRequestsException", "Rate Exceeded.");
            } else if (rc < 0) {
                free(x->exec);
                free(x);
                rc = sy_err_set(err, SY_E_INTERNAL, 500, "Lambda.ServiceException", "could not invoke %s", name);
            }
        }
        lm_target_clear(&f);
    } else {
        sy_lambda_reply_t r = {.execution_arn = inv->execution_arn, .task_id = inv->task_id};
        rc = lm_invoke_async_ex(s, c, name, qual, payload, strlen(payload), &r, NULL, err);
    }
    free(payload);
    if (rc == SY_E_NOTFOUND && err && !strcmp(err->code, "ResourceNotFoundException")) {
        /* the Lambda SDK exception's text, as Step Functions reports it */
        char rid[37];
        sy_uuid4(rid);
        snprintf(err->message, sizeof err->message,
                 "Function not found: arn:aws:lambda:%s:%s:function:%s:%s (Service: AWSLambda; Status Code: 404; "
                 "Error Code: ResourceNotFoundException; Request ID: %s; Proxy: null)",
                 ctx->cfg.region, ctx->cfg.account_id, name, qual[0] ? qual : "$LATEST", rid);
    }
    if (rc < 0 && rc != SY_E_DB && err && strncmp(err->code, "Lambda.", 7) != 0) {
        char code[96];
        snprintf(code, sizeof code, "Lambda.%.80s", err->code);
        snprintf(err->code, sizeof err->code, "%s", code);
    }
    return rc;
}

/* ------------------------------------------------------------ start/stop */
static void metrics_collect(void *u)
{
    lm_svc_t *s = u;
    if (s->pool) sy_pool_metrics_publish(s->pool);
}

int sy_lambda_start(sy_ctx_t *ctx, const char *endpoint, const sy_pool_opts_t *opts, sy_err_t *err)
{
    lm_svc_t *s = lm_svc(ctx);
    s->src = lm_lease_source_proto;
    s->src.u = s;
    sy_pool_opts_t o = opts ? *opts : (sy_pool_opts_t){0};
    o.lease = &s->src;
    s->pool = sy_pool_new(endpoint, &o, err);
    if (!s->pool) return SY_E_INTERNAL;
    if (lm_fleet_start(s, err) < 0) return SY_E_INTERNAL; /* fleet.c: registry, calls between brokers */
    if (lm_dispatch_start(s, err) < 0) return SY_E_INTERNAL;
    lm_backlog_start(s); /* backlog.c: /metrics gauges, GET /keda/backlog */
    sy_metrics_add_collector(metrics_collect, s);
    sy_http_route_path("/2015-03-31/functions", "lambda", lm_api_handle, s);
    sy_http_route_path("/2015-03-31/event-source-mappings", "lambda", lm_api_handle, s);
    sy_http_route_path("/2017-10-31/functions", "lambda", lm_api_handle, s);
    sy_http_route_path("/2019-09-30/functions", "lambda", lm_api_handle, s);
    sy_http_route_path("/2019-09-25/functions", "lambda", lm_api_handle, s);
    sy_http_route_path("/2021-11-15/functions", "lambda", lm_api_handle, s); /* InvokeWithResponseStream */
    char port[16];
    snprintf(port, sizeof port, "%d", sy_pool_port(s->pool));
    sy_log(SY_LOG_INFO, "lambda", NULL, "worker endpoint listening", "endpoint", sy_pool_endpoint(s->pool), "port",
           port, "curve", sy_pool_public_key(s->pool) ? "on" : "off");
    return 0;
}

sy_pool_t *sy_lambda_pool(sy_ctx_t *ctx)
{
    lm_svc_t *s = ctx->svc[SY_SVC_WORKER];
    return s ? s->pool : NULL;
}

void sy_lambda_stop(sy_ctx_t *ctx)
{
    lm_svc_t *s = ctx->svc[SY_SVC_WORKER];
    if (!s) return;
    sy_metrics_remove_collector(metrics_collect, s);
    lm_backlog_stop(s);
    lm_fleet_draining(s);
    lm_dispatch_stop(s); /* no more offers */
    /* what workers run for us finishes and is settled before we go (else
     * its ACK dies with the pool and the message runs again after its
     * visibility timeout); half the drain timeout, the rest is for the others */
    int left = sy_pool_quiesce(s->pool, sy_now_ms() + (int64_t)(s->ctx->cfg.drain_timeout_s * 500));
    if (left > 0) {
        char v[16];
        snprintf(v, sizeof v, "%d", left);
        sy_log(SY_LOG_WARN, "lambda", NULL, "stopping with invocations still in flight", "inflight", v);
    }
    sy_pool_destroy(&s->pool); /* no more callbacks */
    lm_fleet_stop(s);          /* outcomes of served calls written, registry row gone */
    lm_settle_stop(s);         /* settle what was acked */
    lm_versions_free(s);
    while (s->fns) {
        lm_fn_t *f = s->fns;
        s->fns = f->next;
        fn_free(f);
    }
    for (size_t i = 0; i < sizeof s->leases / sizeof s->leases[0]; i++)
        while (s->leases[i]) {
            lm_lease_t *l = s->leases[i];
            s->leases[i] = l->next;
            lm_lease_free(l);
        }
    while (s->jobs) {
        lm_job_t *j = s->jobs;
        s->jobs = j->next;
        lm_job_free(j);
    }
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->wake);
    pthread_cond_destroy(&s->settle_cv);
    free(s);
    ctx->svc[SY_SVC_WORKER] = NULL;
}
