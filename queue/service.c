/* queue/service.c - start and stop of the queue service: the engine state,
 * its threads (listener, notifier, sweeper), the lease combiner and the
 * SQS routes */
#include "queue/internal.h"

#include <stdlib.h>

int sy_queue_start(sy_ctx_t *ctx, sy_err_t *err)
{
    queue_engine_t *e = sy_calloc(1, sizeof *e);
    e->ctx = ctx;
    pthread_mutex_init(&e->mu, NULL);
    pthread_mutex_init(&e->cache_mu, NULL);
    e->wake_seq = sy_calloc(WAKE_SLOTS, sizeof(uint64_t));
    e->waiting = sy_calloc(WAKE_SLOTS, sizeof(waiter_t *));
    e->min_retention_s = ctx->cfg.queue_min_retention_s > 0 ? ctx->cfg.queue_min_retention_s : 60;
    e->sweep_ms = ctx->cfg.queue_sweep_ms > 0 ? ctx->cfg.queue_sweep_ms : 10000;
    ctx->svc[SY_SVC_QUEUE] = e;
    e->lease_gc = sy_gc_new(sy_pg_conninfo(ctx->pool), 2, 64, SY_GC_ASYNC_COMMIT);
    if (waiters_start(e, err) < 0) return SY_E_INTERNAL;
    sweeper_start(e);
    depth_start(e); /* depth.c: switchyard_queue_messages gauges */
    e->threads_up = true;
    sqs_routes(ctx);
    return 0;
}

void sy_queue_wake_all(sy_ctx_t *ctx)
{
    queue_engine_t *e = queue_engine(ctx);
    if (!e) return;
    waiters_stop(e);
}

void sy_queue_stop(sy_ctx_t *ctx)
{
    queue_engine_t *e = queue_engine(ctx);
    if (!e) return;
    sy_queue_wake_all(ctx);
    depth_stop(e);
    sy_gc_destroy(&e->lease_gc);
    if (e->threads_up) {
        pthread_join(e->listener, NULL);
        pthread_join(e->sweeper, NULL);
        pthread_join(e->notifier, NULL);
    }
    pthread_mutex_destroy(&e->mu);
    qcache_free(e);
    free(e->waiting);
    pthread_mutex_destroy(&e->notify_mu);
    pthread_cond_destroy(&e->notify_cv);
    pthread_mutex_destroy(&e->cache_mu);
    free(e->wake_seq);
    free(e);
    ctx->svc[SY_SVC_QUEUE] = NULL;
}
