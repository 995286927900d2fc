/* lambda/console.c - the web console's function endpoints (issue 16),
 * reached at /console/api/lambda/... through server/wiring.c: the workers
 * connected to this broker (their functions, slots in use, recent errors,
 * cold starts) and counts for the overview. */
#include "lambda/internal.h"

#include <stdlib.h>

static void add_function(const sy_pool_function_info_t *info, void *u)
{
    json_array_append_new(u, json_pack("{s:s,s:i,s:i,s:i}", "Name", info->name, "Workers", info->workers,
                                       "Concurrency", info->concurrency, "FreeCredit", info->credit));
}

/* {} -> {"Workers":[...], "Functions":[{Name, Workers, Concurrency, FreeCredit}]}:
 * the sessions of this broker's pool (each broker shows its own workers) */
int sy_lambda_console_workers(sy_ctx_t *ctx, const json_t *in, json_t **out, sy_err_t *err)
{
    (void)in;
    (void)err;
    lm_svc_t *s = lm_svc(ctx);
    json_t *fns = json_array();
    json_t *workers = s->pool ? sy_pool_workers_json(s->pool) : json_array();
    if (s->pool) sy_pool_functions(s->pool, add_function, fns);
    *out = json_pack("{s:o,s:o}", "Workers", workers, "Functions", fns);
    return 0;
}

/* {} -> {"Functions", "EventSourceMappings", "Workers"} */
int sy_lambda_console_summary(sy_ctx_t *ctx, const json_t *in, json_t **out, sy_err_t *err)
{
    (void)in;
    json_t *o = lm_store_console_summary(ctx, err);
    if (!o) return SY_E_DB;
    lm_svc_t *s = lm_svc(ctx);
    json_t *w = s->pool ? sy_pool_workers_json(s->pool) : json_array();
    json_object_set_new(o, "Workers", json_integer((json_int_t)json_array_size(w)));
    json_decref(w);
    *out = o;
    return 0;
}
