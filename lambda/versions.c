/* lambda/versions.c - what an invocation runs: a qualifier ("" or
 * "$LATEST", a published version, an alias with its weighted routing)
 * resolved to a version and its frozen configuration, the configuration
 * handed to workers with each DELIVER (SY_WORKER_ATTR_CONFIG), and the
 * durable invocation entry point that keeps the qualifier and the request
 * id with the message. Versions and aliases are cached for 1 s (and
 * forgotten at once on this broker's own writes). */
#include "lambda/internal.h"
#include "queue/queue.h"

#include <stdlib.h>
#include <string.h>

#define VCACHE_TTL_MS 1000
#define VCACHE_MAX 4096

typedef struct lm_vent {
    char name[LM_NAME_MAX + 1];
    char qual[LM_QUAL_MAX + 1];
    char kind;             /* 'V' version, 'A' alias */
    json_t *config;        /* 'V' */
    char revision[37];     /* 'V' */
    char version[16];      /* 'A': the version it names */
    char extra[16];        /* 'A': RoutingConfig's additional version, "" none */
    double weight;         /* 'A': its share */
    int64_t loaded_ms;
    struct lm_vent *next;
} lm_vent_t;

struct lm_vcache {
    lm_vent_t *head;
    int n;
};

static int64_t mono_ms(void)
{
    return sy_mono_us() / 1000;
}

static void vent_free(lm_vent_t *e)
{
    json_decref(e->config);
    free(e);
}

void lm_versions_free(lm_svc_t *s)
{
    if (!s->vcache) return;
    while (s->vcache->head) {
        lm_vent_t *e = s->vcache->head;
        s->vcache->head = e->next;
        vent_free(e);
    }
    free(s->vcache);
    s->vcache = NULL;
}

void lm_versions_invalidate(lm_svc_t *s, const char *name)
{
    pthread_mutex_lock(&s->mu);
    if (s->vcache)
        for (lm_vent_t **pp = &s->vcache->head; *pp;) {
            if (strcmp((*pp)->name, name) == 0) {
                lm_vent_t *d = *pp;
                *pp = d->next;
                vent_free(d);
                s->vcache->n--;
            } else {
                pp = &(*pp)->next;
            }
        }
    pthread_mutex_unlock(&s->mu);
}

/* under s->mu: a fresh entry or NULL (a stale one is dropped) */
static lm_vent_t *vent_find(lm_svc_t *s, const char *name, const char *qual)
{
    if (!s->vcache) return NULL;
    for (lm_vent_t **pp = &s->vcache->head; *pp; pp = &(*pp)->next) {
        lm_vent_t *e = *pp;
        if (strcmp(e->name, name) != 0 || strcmp(e->qual, qual) != 0) continue;
        if (mono_ms() - e->loaded_ms < VCACHE_TTL_MS) return e;
        *pp = e->next;
        vent_free(e);
        s->vcache->n--;
        return NULL;
    }
    return NULL;
}

/* under s->mu: takes e */
static void vent_put(lm_svc_t *s, lm_vent_t *e)
{
    if (!s->vcache) s->vcache = sy_calloc(1, sizeof *s->vcache);
    if (s->vcache->n >= VCACHE_MAX) { /* a bounded cache: start over */
        while (s->vcache->head) {
            lm_vent_t *d = s->vcache->head;
            s->vcache->head = d->next;
            vent_free(d);
        }
        s->vcache->n = 0;
    }
    e->loaded_ms = mono_ms();
    e->next = s->vcache->head;
    s->vcache->head = e;
    s->vcache->n++;
}

char *lm_config_blob(const sy_ctx_t *ctx, const char *name, const json_t *config, const char *version,
                     const char *qualifier, const char *revision)
{
    int64_t timeout = LM_DEFAULT_TIMEOUT_S, mem = 128;
    sy_json_int(config, "Timeout", &timeout);
    sy_json_int(config, "MemorySize", &mem);
    char *arn = lm_function_arn(ctx, name);
    char *qarn = qualifier && *qualifier ? sy_asprintf("%s:%s", arn, qualifier) : sy_strdup(arn);
    json_t *o = json_pack("{s:s,s:s,s:I,s:I,s:s,s:s}", "FunctionName", name, "Version", version, "MemorySize",
                          (json_int_t)mem, "Timeout", (json_int_t)timeout, "FunctionArn", qarn, "RevisionId",
                          revision ? revision : "");
    const char *h = sy_json_str(config, "Handler");
    if (h && *h) json_object_set_new(o, "Handler", json_string(h));
    json_t *env = json_object_get(config, "Environment");
    if (json_is_object(env)) json_object_set(o, "Environment", env);
    char *s = sy_json_dumps(o);
    json_decref(o);
    free(arn);
    free(qarn);
    return s;
}

/* The version entry of name:N (cache, then the database). */
static int version_entry(lm_svc_t *s, const char *name, const char *num, json_t **config, char revision[37],
                         sy_err_t *err)
{
    pthread_mutex_lock(&s->mu);
    lm_vent_t *e = vent_find(s, name, num);
    if (e) {
        *config = json_incref(e->config);
        memcpy(revision, e->revision, 37);
    }
    pthread_mutex_unlock(&s->mu);
    if (e) return 0;
    long n;
    if (!lm_version_number(num, &n))
        return sy_err_set(err, SY_E_NOTFOUND, 404, "ResourceNotFoundException",
                          "Function not found: arn:aws:lambda:%s:%s:function:%s:%s", s->ctx->cfg.region,
                          s->ctx->cfg.account_id, name, num);
    lm_ver_t v;
    int rc = lm_store_version_get(s->ctx, name, (int)n, &v, err);
    if (rc < 0) return rc;
    e = sy_calloc(1, sizeof *e);
    snprintf(e->name, sizeof e->name, "%s", name);
    snprintf(e->qual, sizeof e->qual, "%s", num);
    e->kind = 'V';
    e->config = json_incref(v.row.config);
    memcpy(e->revision, v.row.revision, 37);
    *config = json_incref(v.row.config);
    memcpy(revision, v.row.revision, 37);
    lm_ver_clear(&v);
    pthread_mutex_lock(&s->mu);
    vent_put(s, e);
    pthread_mutex_unlock(&s->mu);
    return 0;
}

/* The alias entry: the version it sends this invocation to (weighted). */
static int alias_pick(lm_svc_t *s, const char *name, const char *alias, char version[16], sy_err_t *err)
{
    pthread_mutex_lock(&s->mu);
    lm_vent_t *e = vent_find(s, name, alias);
    lm_vent_t c;
    if (e) c = *e;
    pthread_mutex_unlock(&s->mu);
    if (!e) {
        lm_alias_t a;
        int rc = lm_store_alias_get(s->ctx, name, alias, &a, err);
        if (rc == SY_E_NOTFOUND) /* as Lambda answers an invocation of an unknown qualifier */
            return sy_err_set(err, SY_E_NOTFOUND, 404, "ResourceNotFoundException",
                              "Function not found: arn:aws:lambda:%s:%s:function:%s:%s", s->ctx->cfg.region,
                              s->ctx->cfg.account_id, name, alias);
        if (rc < 0) return rc;
        e = sy_calloc(1, sizeof *e);
        snprintf(e->name, sizeof e->name, "%s", name);
        snprintf(e->qual, sizeof e->qual, "%s", alias);
        e->kind = 'A';
        snprintf(e->version, sizeof e->version, "%s", a.version);
        char msg[256];
        if (lm_routing_parse(a.routing, e->extra, &e->weight, msg, sizeof msg) < 0) e->extra[0] = 0;
        lm_alias_clear(&a);
        c = *e;
        pthread_mutex_lock(&s->mu);
        vent_put(s, e);
        pthread_mutex_unlock(&s->mu);
    }
    const char *pick = c.version;
    if (c.extra[0] && c.weight > 0) {
        uint32_t r;
        sy_random_bytes(&r, sizeof r);
        if ((double)r / 4294967296.0 < c.weight) pick = c.extra;
    }
    snprintf(version, 16, "%s", pick);
    return 0;
}

typedef struct {
    const char *key;
    bool found;
} key_q_t;

int lm_target_resolve(lm_svc_t *s, const char *name, const char *qualifier, lm_target_t *t, sy_err_t *err)
{
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "%s", name);
    snprintf(t->qualifier, sizeof t->qualifier, "%s", qualifier ? qualifier : "");
    snprintf(t->pool_key, sizeof t->pool_key, "%s", name);
    char version[16] = "$LATEST";
    int rc;
    if (t->qualifier[0] && strcmp(t->qualifier, "$LATEST") != 0) {
        if (lm_version_number(t->qualifier, NULL))
            snprintf(version, sizeof version, "%.15s", t->qualifier);
        else if ((rc = alias_pick(s, name, t->qualifier, version, err)) < 0)
            return rc;
    }
    snprintf(t->version, sizeof t->version, "%s", version);
    if (strcmp(version, "$LATEST") == 0) {
        lm_fn_t f;
        if ((rc = lm_fn_lookup(s, name, &f, err)) < 0) return rc;
        t->timeout_s = f.timeout_s;
        lm_row_t row;
        pthread_mutex_lock(&s->mu);
        for (lm_fn_t *x = s->fns; x; x = x->next)
            if (strcmp(x->name, name) == 0 && x->blob) t->config = sy_strdup(x->blob);
        pthread_mutex_unlock(&s->mu);
        if (!t->config || t->qualifier[0]) { /* not cached, or the ARN names the qualifier */
            free(t->config);
            t->config = NULL;
            if ((rc = lm_store_fn_get(s->ctx, name, &row, err)) < 0) return rc;
            t->config = lm_config_blob(s->ctx, name, row.config, "$LATEST", t->qualifier, row.revision);
            lm_row_clear(&row);
        }
        return 0;
    }
    json_t *config = NULL;
    char revision[37];
    if ((rc = version_entry(s, name, version, &config, revision, err)) < 0) return rc;
    int64_t timeout = LM_DEFAULT_TIMEOUT_S;
    sy_json_int(config, "Timeout", &timeout);
    t->timeout_s = (int)timeout;
    t->config = lm_config_blob(s->ctx, name, config, version, t->qualifier, revision);
    json_decref(config);
    /* a worker that hosts this very version announces "name:N" */
    char key[sizeof t->pool_key];
    snprintf(key, sizeof key, "%s:%s", name, version);
    if (lm_pool_hosts(s, key)) snprintf(t->pool_key, sizeof t->pool_key, "%s", key);
    return 0;
}

void lm_target_clear(lm_target_t *t)
{
    free(t->config);
    t->config = NULL;
}

/* ------------------------------------------------------ durable invocations */
int lm_invoke_async_ex(lm_svc_t *s, PGconn *c, const char *name, const char *qualifier, const void *payload,
                       size_t len, const sy_lambda_reply_t *reply_to, const char *request_id, sy_err_t *err)
{
    lm_fn_t f;
    int rc = lm_fn_lookup(s, name, &f, err);
    if (rc < 0) return rc;
    if (qualifier && *qualifier) { /* an unknown version or alias fails now, not at dispatch */
        lm_target_t t;
        if ((rc = lm_target_resolve(s, name, qualifier, &t, err)) < 0) return rc;
        lm_target_clear(&t);
    }
    char rid[37];
    if (!request_id || !*request_id) {
        sy_uuid4(rid);
        request_id = rid;
    }
    json_t *attrs = json_pack("{s:{s:s,s:s}}", LM_ATTR_REQUEST, "DataType", "String", "StringValue", request_id);
    if (qualifier && *qualifier)
        json_object_set_new(attrs, LM_ATTR_QUALIFIER,
                            json_pack("{s:s,s:s}", "DataType", "String", "StringValue", qualifier));
    if (reply_to && reply_to->execution_arn) {
        json_t *r = json_pack("{s:s,s:I}", "e", reply_to->execution_arn, "t", (json_int_t)reply_to->task_id);
        char *rs = sy_json_dumps(r);
        json_decref(r);
        json_object_set_new(attrs, LM_ATTR_REPLY, json_pack("{s:s,s:s}", "DataType", "String", "StringValue", rs));
        free(rs);
    }
    char *q = lm_queue_name(name);
    sy_msg_in_t m = {.body = len ? payload : "{}", .body_len = len ? len : 2, .attrs = attrs, .delay_s = 0};
    rc = c ? sy_queue_tx_send(s->ctx, c, q, &m, NULL, err) : sy_queue_send_by_name(s->ctx, q, &m, NULL, err);
    json_decref(attrs);
    free(q);
    if (rc < 0 && err && rc != SY_E_DB) { /* the queue's terms are not Lambda's */
        err->status = 400;
        snprintf(err->code, sizeof err->code, "InvalidRequestContentException");
    }
    if (rc == 0) lm_dispatch_kick(s);
    return rc;
}

void lm_delivery_target(lm_svc_t *s, lm_lease_t *l, sy_delivery_t *d, char *pool_key, size_t n, int *timeout_s)
{
    snprintf(pool_key, n, "%s", l->function);
    if (l->request_id) snprintf(d->request_id, sizeof d->request_id, "%.36s", l->request_id);
    lm_target_t t;
    sy_err_t err;
    if (lm_target_resolve(s, l->function, l->qualifier ? l->qualifier : "", &t, &err) < 0) {
        /* the version or alias went away since: run $LATEST's code, as named */
        sy_log(SY_LOG_WARN, "lambda", l->request_id, "qualifier no longer resolves; invoking $LATEST", "function",
               l->function, "error", err.message);
        if (lm_target_resolve(s, l->function, "", &t, &err) < 0) return;
    }
    snprintf(l->version, sizeof l->version, "%s", t.version);
    snprintf(pool_key, n, "%s", t.pool_key);
    if (t.timeout_s > 0) *timeout_s = t.timeout_s;
    d->config = t.config; /* the caller frees it after sy_pool_offer (which copies it) */
    t.config = NULL;
}
