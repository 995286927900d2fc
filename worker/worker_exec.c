/* worker/worker_exec.c - slot threads and the C handler loader
 * (include/switchyard/handler.h). */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "switchyard/handler.h"
#include "worker/internal.h"

void wk_job_set_error(wk_job_t *j, const char *type, const char *msg, bool retryable)
{
    free(j->error_type);
    free(j->error_message);
    free(j->result);
    j->outcome = WK_OUT_ERROR;
    j->error_type = sy_strdup(type);
    j->error_message = sy_strdup(msg);
    j->retryable = retryable;
    /* Lambda's error body */
    char et[256], em[2048];
    wk_json_escape(type, strlen(type), et, sizeof et);
    wk_json_escape(msg, strlen(msg), em, sizeof em);
    size_t n = strlen(et) + strlen(em) + 64;
    j->result = sy_malloc(n);
    j->result_len = (size_t)snprintf(j->result, n, "{\"errorMessage\":\"%s\",\"errorType\":\"%s\"}",
                                     em, et);
}

void wk_job_start_clock(wk_job_t *j, int64_t now)
{
    /* the smaller of the function's Timeout (its configuration) and the
     * worker's own limit for it */
    int64_t timeout_ms = j->fn->timeout_ms;
    if (j->cfg && j->cfg->timeout_ms > 0 && j->cfg->timeout_ms < timeout_ms) timeout_ms = j->cfg->timeout_ms;
    j->deadline_ms = now + timeout_ms;
    j->fn_deadline = true;
    if (j->caller_deadline_ms > 0 && j->caller_deadline_ms < j->deadline_ms) {
        j->deadline_ms = j->caller_deadline_ms;
        j->fn_deadline = false;
    }
    j->timeout_s = j->fn_deadline ? (double)timeout_ms / 1000.0
                                  : (double)(j->deadline_ms - now) / 1000.0;
}

void wk_job_set_timeout(wk_job_t *j)
{
    char msg[160];
    snprintf(msg, sizeof msg, "Task timed out after %.2f seconds", j->timeout_s);
    wk_job_set_error(j, "Sandbox.Timedout", msg, true);
}

/* ------------------------------------------------------- C handlers */
typedef struct {
    sy_handler_ctx_t pub;
    wk_job_t *job;
    char arn[256];
    char trace[128];
    char log_group[160];
} so_ctx_t;

static const char *ctx_env_get(const sy_handler_ctx_t *ctx, const char *name)
{
    return wk_fncfg_var(((const so_ctx_t *)ctx)->job->cfg, name);
}

static void ctx_log(const sy_handler_ctx_t *ctx, int level, const char *msg)
{
    if (level < sy_log_level) return;
    int lv = level >= SY_LOG_DEBUG && level <= SY_LOG_ERROR ? level : SY_LOG_INFO; /* a handler's own number */
    sy_log(lv, "handler", ctx->request_id, msg, "function", ctx->function_name);
}

static int64_t ctx_remaining(const sy_handler_ctx_t *ctx)
{
    return ctx->deadline_ms - sy_now_ms();
}

static void ctx_respond(const sy_handler_ctx_t *ctx, const void *body, size_t len)
{
    wk_job_t *j = ((const so_ctx_t *)ctx)->job;
    free(j->result);
    j->result = sy_malloc(len);
    if (len) memcpy(j->result, body, len);
    j->result_len = len;
}

static void ctx_fail(const sy_handler_ctx_t *ctx, const char *type, const char *msg)
{
    wk_job_t *j = ((const so_ctx_t *)ctx)->job;
    free(j->error_type);
    free(j->error_message);
    j->error_type = sy_strdup(type && *type ? type : "Unhandled");
    j->error_message = sy_strdup(msg ? msg : "");
}

static void ctx_extend(const sy_handler_ctx_t *ctx, int64_t ms)
{
    wk_job_t *j = ((const so_ctx_t *)ctx)->job;
    if (j->lease_token[0] && ms > 0) wk_extend_push(j->fn->w, j, ms);
}

static void run_so(wk_fn_t *fn, wk_job_t *j)
{
    so_ctx_t c;
    memset(&c, 0, sizeof c);
    const wk_fncfg_t *cfg = j->cfg;
    if (cfg)
        snprintf(c.arn, sizeof c.arn, "%s", cfg->arn);
    else
        snprintf(c.arn, sizeof c.arn, "arn:aws:lambda:us-east-1:000000000000:function:%s", fn->name);
    snprintf(c.log_group, sizeof c.log_group, "/aws/lambda/%s", cfg ? cfg->name : fn->name);
    c.job = j;
    c.pub.abi_version = SY_HANDLER_ABI_VERSION;
    c.pub.request_id = j->request_id;
    c.pub.function_name = cfg ? cfg->name : fn->name;
    c.pub.function_version = cfg ? cfg->version : "$LATEST";
    c.pub.memory_size_mb = cfg ? (uint32_t)cfg->memory_mb : 128;
    c.pub.log_group_name = c.log_group;
    c.pub.log_stream_name = fn->w ? fn->w->worker_id : "";
    c.pub.env_get = ctx_env_get;
    c.pub.invoked_function_arn = c.arn;
    c.pub.message_id = j->message_id;
    c.pub.trace_id = wk_xray_from_traceparent(j->traceparent, c.trace, sizeof c.trace) ? c.trace : "";
    c.pub.deadline_ms = j->deadline_ms;
    c.pub.attempt = j->attempt;
    c.pub.log = ctx_log;
    c.pub.remaining_ms = ctx_remaining;
    c.pub.respond = ctx_respond;
    c.pub.fail = ctx_fail;
    c.pub.extend = ctx_extend;
    sy_function_handler_fn h = (sy_function_handler_fn)fn->handler_fn;
    int rc = h(&c.pub, j->payload, j->len);
    if (rc == 0) {
        j->outcome = WK_OUT_OK;
        if (!j->result) {
            j->result = sy_strdup("null");
            j->result_len = 4;
        }
        free(j->error_type);
        free(j->error_message);
        j->error_type = j->error_message = NULL;
    } else {
        char *type = j->error_type ? j->error_type : sy_strdup("Unhandled");
        char *msg = j->error_message ? j->error_message : sy_strdup("handler failed");
        j->error_type = j->error_message = NULL;
        wk_job_set_error(j, type, msg, false);
        free(type);
        free(msg);
    }
}

void wk_exec_run(wk_fn_t *fn, wk_job_t *j)
{
    int64_t t0 = sy_mono_us();
    run_so(fn, j);
    /* a moving average (1/8) of run times: worker_inline.c runs fast ones inline */
    int64_t d = sy_mono_us() - t0;
    int64_t avg = __atomic_load_n(&fn->avg_run_us, __ATOMIC_RELAXED);
    __atomic_store_n(&fn->avg_run_us, avg + (d - avg) / 8, __ATOMIC_RELAXED);
}

static void *so_slot(void *arg)
{
    wk_fn_t *fn = arg;
    wk_job_t *j;
    while ((j = wk_queue_pop(fn))) {
        wk_exec_run(fn, j);
        wk_done_push(fn->w, j);
    }
    return NULL;
}

int wk_exec_start(wk_fn_t *fn)
{
    pthread_mutex_init(&fn->mu, NULL);
    pthread_cond_init(&fn->cv, NULL);
    void *(*slot)(void *) = so_slot;
    if (fn->kind == WK_FN_SO) {
        fn->dl = dlopen(fn->path, RTLD_NOW | RTLD_LOCAL);
        if (!fn->dl) {
            sy_log(SY_LOG_ERROR, "worker", NULL, "could not load handler", "function", fn->name,
                   "error", dlerror());
            return -1;
        }
        fn->handler_fn = dlsym(fn->dl, fn->symbol);
        if (!fn->handler_fn) {
            sy_log(SY_LOG_ERROR, "worker", NULL, "handler symbol not found", "function", fn->name,
                   "symbol", fn->symbol);
            return -1;
        }
        sy_function_init_fn init = (sy_function_init_fn)dlsym(fn->dl, "sy_handler_init");
        if (init && init(fn->name) != 0) {
            sy_log(SY_LOG_ERROR, "worker", NULL, "sy_handler_init failed", "function", fn->name);
            return -1;
        }
    } else {
        if (wk_runtime_init(fn) != 0) return -1;
        slot = wk_runtime_slot;
    }
    fn->threads = sy_calloc((size_t)fn->concurrency, sizeof *fn->threads);
    for (int i = 0; i < fn->concurrency; i++) {
        void *arg = fn->kind == WK_FN_SO ? (void *)fn : wk_runtime_env_at(fn, i);
        if (pthread_create(&fn->threads[i], NULL, slot, arg) != 0) {
            sy_log(SY_LOG_ERROR, "worker", NULL, "could not start slot thread");
            return -1;
        }
        fn->nthreads++;
    }
    return 0;
}

void wk_exec_stop(wk_fn_t *fn)
{
    if (!fn->threads && !fn->dl && !fn->envs) return;
    pthread_mutex_lock(&fn->mu);
    fn->stopping = true;
    pthread_cond_broadcast(&fn->cv);
    pthread_mutex_unlock(&fn->mu);
    if (fn->kind == WK_FN_RUNTIME) wk_runtime_stop(fn); /* wakes slots waiting on a process */
    for (int i = 0; i < fn->nthreads; i++) pthread_join(fn->threads[i], NULL);
    free(fn->threads);
    fn->threads = NULL;
    fn->nthreads = 0;
    if (fn->kind == WK_FN_RUNTIME) wk_runtime_free(fn);
    /* queued jobs never started */
    while (fn->q_head) {
        wk_job_t *j = fn->q_head;
        fn->q_head = j->next;
        wk_job_free(j);
    }
    if (fn->dl) dlclose(fn->dl);
    fn->dl = NULL;
    wk_fncfg_release_fn(fn);
    pthread_cond_destroy(&fn->cv);
    pthread_mutex_destroy(&fn->mu);
}
