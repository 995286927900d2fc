/* queue/depth.c - how deep the queues are, for Prometheus and autoscalers:
 * switchyard_queue_messages{queue="..",state="visible|inflight|delayed"} on
 * /metrics (the account's queues, internal ones excluded), and
 * sy_queue_depths() for other services (the Lambda backlog). The gauges are
 * refreshed at most once a second however often /metrics is scraped, and
 * every count is capped (metrics-depth-cap); store_depth.c says which index
 * serves the query. */
#include "queue/internal.h"

#include <stdlib.h>
#include <string.h>

struct qdepth {
    sy_ctx_t *ctx;
    pthread_mutex_t mu;
    int64_t refreshed_ms; /* mono */
    char **published;     /* queues with gauges, to zero the ones that went away */
    int npublished;
};

static void escape(const char *in, char *out, size_t n)
{
    size_t k = 0;
    for (; *in && k + 2 < n; in++) {
        if (*in == '"' || *in == '\\') out[k++] = '\\';
        if (*in == '\n') continue;
        out[k++] = *in;
    }
    out[k] = 0;
}

static void set3(const char *queue, int64_t v, int64_t i, int64_t d)
{
    char q[200], labels[300];
    escape(queue, q, sizeof q);
    snprintf(labels, sizeof labels, "queue=\"%s\",state=\"visible\"", q);
    sy_metric_set("switchyard_queue_messages", labels, (double)v);
    snprintf(labels, sizeof labels, "queue=\"%s\",state=\"inflight\"", q);
    sy_metric_set("switchyard_queue_messages", labels, (double)i);
    snprintf(labels, sizeof labels, "queue=\"%s\",state=\"delayed\"", q);
    sy_metric_set("switchyard_queue_messages", labels, (double)d);
}

static void collect(void *u)
{
    qdepth_t *qd = u;
    pthread_mutex_lock(&qd->mu);
    int64_t now = sy_mono_us() / 1000;
    if (qd->refreshed_ms && now - qd->refreshed_ms < 1000) {
        pthread_mutex_unlock(&qd->mu);
        return;
    }
    qd->refreshed_ms = now;
    sy_queue_depth_t *v = NULL;
    int n = 0;
    sy_err_t err;
    if (store_queue_depths(qd->ctx, NULL, qd->ctx->cfg.metrics_depth_cap, &v, &n, &err) == 0) {
        for (int i = 0; i < qd->npublished; i++) {
            bool still = false;
            for (int k = 0; k < n && !still; k++) still = strcmp(v[k].name, qd->published[i]) == 0;
            if (!still) set3(qd->published[i], 0, 0, 0);
            free(qd->published[i]);
        }
        free(qd->published);
        qd->published = sy_calloc((size_t)n + 1, sizeof *qd->published);
        qd->npublished = n;
        for (int k = 0; k < n; k++) {
            set3(v[k].name, v[k].visible, v[k].inflight, v[k].delayed);
            qd->published[k] = sy_strdup(v[k].name);
        }
        free(v);
    }
    pthread_mutex_unlock(&qd->mu);
}

void depth_start(queue_engine_t *e)
{
    qdepth_t *qd = sy_calloc(1, sizeof *qd);
    qd->ctx = e->ctx;
    pthread_mutex_init(&qd->mu, NULL);
    e->depth = qd;
    sy_metrics_add_collector(collect, qd);
}

void depth_stop(queue_engine_t *e)
{
    qdepth_t *qd = e->depth;
    if (!qd) return;
    sy_metrics_remove_collector(collect, qd);
    for (int i = 0; i < qd->npublished; i++) free(qd->published[i]);
    free(qd->published);
    pthread_mutex_destroy(&qd->mu);
    free(qd);
    e->depth = NULL;
}

int sy_queue_depths(sy_ctx_t *ctx, const char *const *names, int n, sy_queue_depth_t *out, sy_err_t *err)
{
    sy_buf_t arr;
    sy_buf_init(&arr);
    sy_buf_puts(&arr, "{");
    for (int i = 0; i < n; i++) {
        memset(&out[i], 0, sizeof out[i]);
        snprintf(out[i].name, sizeof out[i].name, "%s", names[i]);
        if (i) sy_buf_puts(&arr, ",");
        sy_buf_puts(&arr, "\"");
        for (const char *p = names[i]; *p; p++) {
            if (*p == '"' || *p == '\\') sy_buf_puts(&arr, "\\");
            sy_buf_append(&arr, p, 1);
        }
        sy_buf_puts(&arr, "\"");
    }
    sy_buf_puts(&arr, "}");
    sy_buf_append(&arr, "", 1);
    sy_queue_depth_t *v = NULL;
    int k = 0;
    int rc = store_queue_depths(ctx, arr.data, ctx->cfg.metrics_depth_cap, &v, &k, err);
    sy_buf_free(&arr);
    if (rc < 0) return rc;
    for (int j = 0; j < k; j++)
        for (int i = 0; i < n; i++)
            if (strcmp(out[i].name, v[j].name) == 0) out[i] = v[j];
    free(v);
    return 0;
}
