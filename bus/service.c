/* bus/service.c - the EventBridge service: start/stop (routes, delivery
 * and ticker threads) and the seams set by the composition root. */
#include "bus/internal.h"

#include <stdlib.h>

eb_svc_t *eb_svc(const sy_ctx_t *ctx)
{
    return ctx->svc[SY_SVC_BUS];
}

double eb_scale(const sy_ctx_t *ctx)
{
    return ctx->cfg.time_scale > 0 ? ctx->cfg.time_scale : 1.0;
}

void sy_bus_set_function_invoker(sy_ctx_t *ctx, sy_bus_invoke_fn fn, void *udata)
{
    eb_svc_t *svc = eb_svc(ctx);
    if (!svc) return;
    svc->invoker = fn;
    svc->invoker_udata = udata;
}

void sy_bus_set_topic_publisher(sy_ctx_t *ctx, sy_bus_topic_fn fn, void *udata)
{
    eb_svc_t *svc = eb_svc(ctx);
    if (!svc) return;
    svc->publisher = fn;
    svc->publisher_udata = udata;
}

void sy_bus_set_execution_starter(sy_ctx_t *ctx, sy_bus_start_execution_fn fn, void *udata)
{
    eb_svc_t *svc = eb_svc(ctx);
    if (!svc) return;
    svc->starter = fn;
    svc->starter_udata = udata;
}

int sy_bus_start(sy_ctx_t *ctx, sy_err_t *err)
{
    eb_svc_t *svc = sy_calloc(1, sizeof *svc);
    svc->ctx = ctx;
    svc->rate = json_object();
    pthread_mutex_init(&svc->mu, NULL);
    ctx->svc[SY_SVC_BUS] = svc;
    eb_test_doubles_install(svc); /* tests only: cfg.test_doubles */
    int rc = store_eb_ensure_default(ctx, err);
    if (rc == 0) rc = eb_deliver_start(svc, err);
    if (rc == 0) rc = eb_ticker_start(svc, err);
    if (rc < 0) return rc;
    sy_http_route_target("AWSEvents.", "events", SY_PROTO_JSON11, eb_api_handle, svc);
    return 0;
}

void sy_bus_stop(sy_ctx_t *ctx)
{
    eb_svc_t *svc = eb_svc(ctx);
    if (!svc) return;
    svc->stop = 1;
    for (int i = 0; i < svc->nthreads; i++) pthread_join(svc->threads[i], NULL);
    eb_snap_drop(svc);
    json_decref(svc->rate);
    pthread_mutex_destroy(&svc->mu);
    free(svc);
    ctx->svc[SY_SVC_BUS] = NULL;
}
