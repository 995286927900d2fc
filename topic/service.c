/* topic/service.c - the topic service's state (the subscription cache,
 * the HTTP delivery thread, the Lambda seam): start, stop, the seam setter */
#include "topic/internal.h"

#include <stdlib.h>

tp_svc_t *tp_svc(const sy_ctx_t *ctx)
{
    return ctx->svc[SY_SVC_TOPIC];
}

void sy_topic_set_function_invoker(sy_ctx_t *ctx, sy_topic_invoke_fn fn, void *udata)
{
    tp_svc_t *s = tp_svc(ctx);
    if (!s) return;
    s->invoker = fn;
    s->invoker_udata = udata;
}

int sy_topic_start(sy_ctx_t *ctx, sy_err_t *err)
{
    tp_svc_t *s = sy_calloc(1, sizeof *s);
    s->ctx = ctx;
    pthread_mutex_init(&s->mu, NULL);
    ctx->svc[SY_SVC_TOPIC] = s;
    if (tp_sign_start(s, err) < 0) return SY_E_INTERNAL;
    if (tp_http_start(s, err) < 0) return SY_E_INTERNAL;
    sns_routes(ctx);
    tp_cert_routes(ctx);
    return 0;
}

void sy_topic_stop(sy_ctx_t *ctx)
{
    tp_svc_t *s = tp_svc(ctx);
    if (!s) return;
    tp_http_stop(s);
    tp_cache_free(s);
    tp_sign_stop(s);
    pthread_mutex_destroy(&s->mu);
    free(s);
    ctx->svc[SY_SVC_TOPIC] = NULL;
}
