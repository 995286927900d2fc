/* statemachine/service.c - the Step Functions service's life cycle: start
 * (the executor threads, the AWSStepFunctions.* route, the test double when
 * configured), stop, and the seam setters server/wiring.c calls. */
#include "statemachine/internal_api.h"

#include <stdlib.h>

sfn_svc_t *sfn_svc(const sy_ctx_t *ctx)
{
    return (sfn_svc_t *)ctx->svc[SY_SVC_SFN];
}

int sy_sfn_start(sy_ctx_t *ctx, sy_err_t *err)
{
    sfn_svc_t *svc = sy_calloc(1, sizeof *svc);
    svc->ctx = ctx;
    pthread_mutex_init(&svc->mu, NULL);
    ctx->svc[SY_SVC_SFN] = svc;
    if (sy_config_list_has(ctx->cfg.test_doubles, "sfn-invoker")) sfn_test_double_install(svc);
    int rc = sfn_executor_start(svc, err);
    if (rc < 0) return rc;
    sy_http_route_target("AWSStepFunctions.", "states", SY_PROTO_JSON10, sfn_api_handle, svc);
    return 0;
}

void sy_sfn_stop(sy_ctx_t *ctx)
{
    sfn_svc_t *svc = sfn_svc(ctx);
    if (!svc) return;
    sfn_executor_stop(svc);
    sfn_mc_free(svc);
    sfn_defs_free(svc);
    pthread_mutex_destroy(&svc->mu);
    free(svc);
    ctx->svc[SY_SVC_SFN] = NULL;
}

void sy_sfn_set_function_invoker(sy_ctx_t *ctx, sy_sfn_invoke_fn fn, void *udata)
{
    sfn_svc_t *svc = sfn_svc(ctx);
    pthread_mutex_lock(&svc->mu);
    if (!svc->invoker_is_double) { /* the configured test double stays */
        svc->invoker = fn;
        svc->invoker_udata = udata;
    }
    pthread_mutex_unlock(&svc->mu);
}

void sy_sfn_set_integrations(sy_ctx_t *ctx, sy_sfn_publish_fn publish, sy_sfn_put_event_fn put_event)
{
    sfn_svc_t *svc = sfn_svc(ctx);
    pthread_mutex_lock(&svc->mu);
    svc->publish = publish;
    svc->put_event = put_event;
    pthread_mutex_unlock(&svc->mu);
}
