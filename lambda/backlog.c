/* lambda/backlog.c - the backlog of each function, for Prometheus and for
 * KEDA's metrics-api scaler:
 *   switchyard_function_backlog{function="..",state="queued|inflight"}
 *   GET /keda/backlog?functions=fnA,fnB
 *       -> {"backlog":N,"queued":Q,"inflight":I,"functions":K}
 * queued = invocations waiting: the function's internal queue (async
 * invocations, visible or delayed for a retry) plus the messages waiting in
 * the SQS queues its enabled event-source mappings read; inflight = the
 * internal queue's leased messages, the mappings' queues' in-flight ones
 * and the synchronous invocations the registry shows running on every
 * broker. backlog = queued + inflight; K = how many of the named functions
 * exist. Without ?functions every function counts. The numbers are computed
 * for every function at most once a second (one depth query, capped and
 * index-served: queue/store_depth.c; one function list; one mapping list),
 * whatever the scrape rate. The endpoint needs no signature, as /metrics. */
#include "lambda/fleet.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    char name[LM_NAME_MAX + 1];
    int64_t queued, inflight;
} fb_t;

struct lm_backlog {
    lm_svc_t *s;
    pthread_mutex_t mu;
    int64_t refreshed_ms; /* mono; 0 never */
    fb_t *v;
    int n;
    char **published;
    int npublished;
};

static const char *queue_of_arn(const char *arn)
{
    const char *c = strrchr(arn, ':');
    return c ? c + 1 : arn;
}

static void gauge(const char *fn, int64_t q, int64_t i)
{
    char labels[160];
    snprintf(labels, sizeof labels, "function=\"%s\",state=\"queued\"", fn); /* names: [A-Za-z0-9_-] */
    sy_metric_set("switchyard_function_backlog", labels, (double)q);
    snprintf(labels, sizeof labels, "function=\"%s\",state=\"inflight\"", fn);
    sy_metric_set("switchyard_function_backlog", labels, (double)i);
}

/* With b->mu held. */
static void refresh(lm_backlog_t *b)
{
    int64_t now = sy_mono_us() / 1000;
    if (b->refreshed_ms && now - b->refreshed_ms < 1000) return;
    b->refreshed_ms = now;
    sy_ctx_t *ctx = b->s->ctx;
    sy_err_t err;
    lm_row_t *rows = NULL;
    lm_esm_row_t *esms = NULL;
    int nrows = 0, nesms = 0;
    if (lm_store_fn_list(ctx, &rows, &nrows, &err) < 0) return;
    if (lm_store_esm_list(ctx, NULL, NULL, &esms, &nesms, &err) < 0) nesms = 0;
    int nq = nrows + nesms;
    const char **names = sy_calloc((size_t)nq + 1, sizeof *names);
    char **own = sy_calloc((size_t)nrows + 1, sizeof *own);
    for (int i = 0; i < nrows; i++) names[i] = own[i] = lm_queue_name(rows[i].name);
    for (int k = 0; k < nesms; k++) names[nrows + k] = queue_of_arn(esms[k].source_arn);
    sy_queue_depth_t *d = sy_calloc((size_t)nq + 1, sizeof *d);
    if (sy_queue_depths(ctx, names, nq, d, &err) == 0) {
        fb_t *v = sy_calloc((size_t)nrows + 1, sizeof *v);
        for (int i = 0; i < nrows; i++) {
            snprintf(v[i].name, sizeof v[i].name, "%s", rows[i].name);
            v[i].queued = d[i].visible + d[i].delayed;
            v[i].inflight = d[i].inflight + lm_fleet_sync_running(b->s, rows[i].name);
            for (int k = 0; k < nesms; k++) {
                if (!esms[k].enabled || strcmp(esms[k].function, rows[i].name) != 0) continue;
                v[i].queued += d[nrows + k].visible + d[nrows + k].delayed;
                v[i].inflight += d[nrows + k].inflight;
            }
        }
        for (int j = 0; j < b->npublished; j++) { /* deleted functions read 0 */
            bool still = false;
            for (int i = 0; i < nrows && !still; i++) still = strcmp(v[i].name, b->published[j]) == 0;
            if (!still) gauge(b->published[j], 0, 0);
            free(b->published[j]);
        }
        free(b->published);
        b->published = sy_calloc((size_t)nrows + 1, sizeof *b->published);
        b->npublished = nrows;
        for (int i = 0; i < nrows; i++) {
            gauge(v[i].name, v[i].queued, v[i].inflight);
            b->published[i] = sy_strdup(v[i].name);
        }
        free(b->v);
        b->v = v;
        b->n = nrows;
    }
    free(d);
    for (int i = 0; i < nrows; i++) free(own[i]);
    free(own);
    free(names);
    for (int i = 0; i < nrows; i++) lm_row_clear(&rows[i]);
    free(rows);
    for (int k = 0; k < nesms; k++) lm_esm_row_clear(&esms[k]);
    free(esms);
}

static void collect(void *u)
{
    lm_backlog_t *b = u;
    pthread_mutex_lock(&b->mu);
    refresh(b);
    pthread_mutex_unlock(&b->mu);
}

static void keda(sy_req_t *req, sy_resp_t *resp, void *u)
{
    lm_backlog_t *b = u;
    sy_form_t form = {0}; /* core's form parser (fuzzed: fuzz_form) decodes the query */
    const char *q = req->query ? req->query : "";
    char *want = NULL;
    if (sy_form_parse(&form, q, strlen(q)) < 0) {
        sy_form_free(&form);
        resp->status = 400;
        resp->content_type = "application/json";
        sy_buf_puts(&resp->body, "{\"message\":\"malformed query string\"}");
        return;
    }
    if (sy_form_get(&form, "functions")) want = sy_strdup(sy_form_get(&form, "functions"));
    sy_form_free(&form);
    int64_t queued = 0, inflight = 0;
    int k = 0;
    pthread_mutex_lock(&b->mu);
    refresh(b);
    for (int i = 0; i < b->n; i++) {
        bool named = !want || !*want;
        if (!named) {
            char *copy = sy_strdup(want), *save = NULL;
            for (char *t = strtok_r(copy, ",", &save); t && !named; t = strtok_r(NULL, ",", &save)) {
                while (*t == ' ') t++;
                char name[LM_NAME_MAX + 1];
                named = lm_function_name(t, name) == 0 && strcmp(name, b->v[i].name) == 0;
            }
            free(copy);
        }
        if (!named) continue;
        queued += b->v[i].queued;
        inflight += b->v[i].inflight;
        k++;
    }
    pthread_mutex_unlock(&b->mu);
    free(want);
    json_t *o = json_pack("{s:I,s:I,s:I,s:i}", "backlog", (json_int_t)(queued + inflight), "queued",
                          (json_int_t)queued, "inflight", (json_int_t)inflight, "functions", k);
    char *txt = sy_json_dumps(o);
    json_decref(o);
    resp->status = 200;
    resp->content_type = "application/json";
    sy_buf_puts(&resp->body, txt);
    free(txt);
}

void lm_backlog_start(lm_svc_t *s)
{
    lm_backlog_t *b = sy_calloc(1, sizeof *b);
    b->s = s;
    pthread_mutex_init(&b->mu, NULL);
    s->backlog = b;
    sy_metrics_add_collector(collect, b);
    sy_http_route_open("/keda/backlog", "lambda", keda, b);
}

void lm_backlog_stop(lm_svc_t *s)
{
    lm_backlog_t *b = s->backlog;
    if (!b) return;
    sy_metrics_remove_collector(collect, b);
    /* the route stays registered (routes are fixed at start-up); the
     * server stops serving before services stop */
    pthread_mutex_lock(&b->mu);
    free(b->v);
    b->v = NULL;
    b->n = 0;
    b->refreshed_ms = sy_mono_us() / 1000 + 3600 * 1000; /* no refresh any more */
    for (int j = 0; j < b->npublished; j++) free(b->published[j]);
    free(b->published);
    b->published = NULL;
    b->npublished = 0;
    pthread_mutex_unlock(&b->mu);
}
