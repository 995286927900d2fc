/* statemachine/executor_loop.c - executor threads: lease work messages,
 * apply each to its execution in one transaction. */
#include "statemachine/internal.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static const sy_asl_req_t *pending_req(sy_asl_exec_t *x, int64_t id)
{
    const sy_asl_req_t *reqs;
    size_t n;
    sy_asl_exec_pending(x, &reqs, &n);
    for (size_t i = 0; i < n; i++)
        if (reqs[i].id == id) return &reqs[i];
    return NULL;
}

static bool ends_with(const char *s, const char *suf)
{
    size_t n = strlen(s), m = strlen(suf);
    return n >= m && strcmp(s + n - m, suf) == 0;
}

/* Shape a function's output as the resource's result. */
json_t *sfn_function_result(const char *resource, const json_t *out)
{
    if (strncmp(resource, "arn:aws:states:::lambda:invoke", 30) == 0) {
        /* AWS's wrapper: {ExecutedVersion, Payload, SdkHttpMetadata, SdkResponseMetadata, StatusCode} */
        char rid[37];
        sy_uuid4(rid);
        return json_pack("{s:s,s:O,s:i,s:{s:{s:s},s:{s:s},s:i},s:{s:s}}", "ExecutedVersion", "$LATEST", "Payload",
                         out ? out : json_null(), "StatusCode", 200, "SdkHttpMetadata", "AllHttpHeaders",
                         "X-Amz-Executed-Version", "$LATEST", "HttpHeaders", "X-Amz-Executed-Version", "$LATEST",
                         "HttpStatusCode", 200, "SdkResponseMetadata", "RequestId", rid);
    }
    return json_deep_copy(out ? out : json_null());
}

/* Apply one message to the loaded execution. Returns 1 when the execution
 * changed (drive and persist), 0 when the message is stale. */
static int apply(sfn_run_t *r, sy_asl_exec_t *x, const json_t *b, sy_err_t *err)
{
    const char *k = sy_json_str(b, "k");
    int64_t id = sfn_int(b, "r");
    if (!strcmp(k, "adv")) return 1;
    if (!strcmp(k, "xto")) {
        sy_asl_exec_timeout(x);
        return 1;
    }
    if (!strcmp(k, "timer")) return sy_asl_exec_resume_timer(x, id) == 0;
    const sy_asl_req_t *q = pending_req(x, id);
    if (!q || q->kind != SY_ASL_REQ_TASK) return 0;
    if (!strcmp(k, "to"))
        return sy_asl_exec_resume_task(x, id, NULL, "States.Timeout", NULL) == 0;
    if (!strcmp(k, "hb")) {
        sfn_taskrow_t t;
        int rc = store_task_find(r->c, r->exec_arn, id, &t, err);
        if (rc == SY_E_NOTFOUND) return 0;
        if (rc < 0) return rc;
        int64_t due = t.last_hb_ms + (int64_t)((double)t.hb_s * 1000.0 / sfn_scale(r->ctx));
        int64_t now = sy_now_ms();
        if (now + 20 < due) { /* a heartbeat came: re-arm */
            json_t *nb = json_deep_copy(b);
            json_object_set_new(nb, "due", json_integer(due));
            rc = sfn_work_send(r, nb, due - now, err);
            json_decref(nb);
            return rc < 0 ? rc : 0;
        }
        return sy_asl_exec_resume_task(x, id, NULL, "States.HeartbeatTimeout", NULL) == 0;
    }
    if (strcmp(k, "task") != 0) return 0;
    const char *src = sy_json_str(b, "src");
    const char *e = sy_json_str(b, "err");
    bool callback = ends_with(q->resource, ".waitForTaskToken");
    if (callback && src && strcmp(src, "token") != 0 && !e) { /* the submit itself returned */
        if (strcmp(src, "fn") != 0) return 0;
        json_t *out = sfn_function_result(q->resource, json_object_get(b, "res"));
        int s = sy_asl_exec_task_submitted(x, id, out);
        json_decref(out);
        return s == 0;
    }
    if (e) return sy_asl_exec_resume_task(x, id, NULL, e, sy_json_str(b, "cause")) == 0;
    json_t *res = src && !strcmp(src, "fn") ? sfn_function_result(q->resource, json_object_get(b, "res"))
                                            : json_incref(json_object_get(b, "res"));
    int rc = sy_asl_exec_resume_task(x, id, res, NULL, NULL);
    json_decref(res);
    return rc == 0;
}

static bool timer_kind(const char *k)
{
    return !strcmp(k, "timer") || !strcmp(k, "to") || !strcmp(k, "xto");
}

/* Apply one work message body to its execution inside the open
 * transaction on c: lock the execution row, load the checkpoint, apply,
 * step and persist. A message for an execution that is gone, ended, or no
 * longer waiting for it is a no-op (0). */
int sfn_apply_in_tx(sfn_svc_t *svc, PGconn *c, const json_t *b, sy_err_t *err)
{
    sy_ctx_t *ctx = svc->ctx;
    const char *arn = sy_json_str(b, "e"), *k = sy_json_str(b, "k");
    sfn_execrow_t row = {0};
    sy_asl_exec_t *x = NULL;
    int rc = 0;
    sfn_run_t r = {.ctx = ctx, .svc = svc, .c = c, .in_tx = true, .exec_arn = arn};
    if (!arn || !k) goto done;
    rc = store_exec_get(ctx, c, arn, true, &row, err);
    if (rc == SY_E_NOTFOUND) {
        rc = 0;
        goto done;
    }
    if (rc < 0) goto done;
    if (strcmp(row.status, "RUNNING") != 0 || !row.state) goto done;
    int64_t now = sy_now_ms(), due = sfn_int(b, "due");
    if (!strcmp(k, "xto") && sfn_int(b, "n") != row.redrive_count) goto done; /* an earlier run's */
    if (timer_kind(k) && due > now + 20) { /* longer than one delay: re-arm */
        rc = sfn_work_send(&r, (json_t *)b, due - now, err);
        goto done;
    }
    const sy_asl_def_t *def = sfn_def_get(svc, row.definition);
    x = def ? sy_asl_exec_load(def, row.state) : NULL;
    if (!x) {
        sy_log(SY_LOG_ERROR, "sfn", NULL, "could not load checkpoint", "execution", arn);
        goto done;
    }
    sy_asl_exec_set_now(x, now);
    int a = apply(&r, x, b, err);
    if (a < 0) {
        rc = a;
        goto done;
    }
    if (a == 1) {
        rc = sfn_drive(&r, x, err);
        if (rc == 0) rc = sfn_persist_ex(&r, x, &row, err);
        if (rc < 0) goto done;
        sy_metric_inc("switchyard_sfn_steps_total", NULL, 1);
    }
done:
    sy_asl_exec_destroy(&x);
    sfn_execrow_clear(&row);
    return rc;
}

/* Apply one leased message inside the open transaction on c, and consume it. */
static int process_in_tx(sfn_svc_t *svc, PGconn *c, sy_msg_out_t *m, sy_err_t *err)
{
    json_t *b = json_loads(m->body, 0, NULL);
    int rc = b ? sfn_apply_in_tx(svc, c, b, err) : 0;
    if (rc == 0) {
        bool deleted = false;
        rc = sy_queue_tx_delete(svc->ctx, c, SFN_WORK_QUEUE, m->receipt, &deleted, err);
        if (rc == 0 && !deleted) rc = sy_err_set(err, SY_E_INVALID, 409, "LeaseLost", "lease lost");
    }
    json_decref(b);
    return rc;
}

/* One leased message, one transaction (sy_pg_tx_on re-runs it on a
 * serialization failure or deadlock). */
typedef struct {
    sfn_svc_t *svc;
    sy_msg_out_t *m;
} one_t;

static int process_one(PGconn *c, void *u, sy_err_t *err)
{
    one_t *o = u;
    return process_in_tx(o->svc, c, o->m, err);
}

static int process(sfn_svc_t *svc, PGconn *c, sy_msg_out_t *m, sy_err_t *err)
{
    one_t o = {.svc = svc, .m = m};
    return sy_pg_tx_on(c, process_one, &o, err);
}

/* Several leased messages, one transaction (one commit instead of n). In
 * execution ARN order, so that two executor threads lock rows in the same
 * order. 0 when all were applied; <0 and nothing applied otherwise (the
 * caller then takes them one by one). */
static int process_batch(sfn_svc_t *svc, PGconn *c, sy_msg_out_t *ms, int n)
{
    int order[16];
    const char *keys[16];
    json_t *bodies[16];
    for (int i = 0; i < n; i++) {
        bodies[i] = json_loads(ms[i].body, 0, NULL);
        keys[i] = sy_json_str(bodies[i], "e");
        if (!keys[i]) keys[i] = "";
        order[i] = i;
    }
    for (int i = 1; i < n; i++) /* insertion sort: n <= 10 */
        for (int j = i; j > 0 && strcmp(keys[order[j - 1]], keys[order[j]]) > 0; j--) {
            int t = order[j];
            order[j] = order[j - 1];
            order[j - 1] = t;
        }
    sy_err_t err;
    sy_err_clear(&err);
    int rc = sy_pg_begin(c, &err);
    for (int i = 0; i < n && rc == 0; i++) rc = process_in_tx(svc, c, &ms[order[i]], &err);
    if (rc == 0) rc = sy_pg_commit(c, &err);
    else sy_pg_rollback(c);
    for (int i = 0; i < n; i++) json_decref(bodies[i]);
    return rc;
}

static void *executor_main(void *arg)
{
    sfn_svc_t *svc = arg;
    sy_ctx_t *ctx = svc->ctx;
    int idle = 0;
    sy_ctx_wait_wired(ctx); /* a resumed task needs the function invoker seam */
    while (!svc->stop && !ctx->stopping) {
        sy_msg_out_t msgs[10];
        int n = 0;
        sy_err_t err;
        sy_err_clear(&err);
        if (sy_queue_lease(ctx, SFN_WORK_QUEUE, 10, 60, msgs, &n, &err) < 0 || n == 0) {
            idle = idle < 10 ? idle + 1 : 10;
            struct timespec ts = {0, (long)idle * 5 * 1000000L};
            nanosleep(&ts, NULL);
            continue;
        }
        idle = 0;
        PGconn *c = sy_pg_acquire(ctx->pool);
        bool batched = c && n > 1 && process_batch(svc, c, msgs, n) == 0;
        for (int i = 0; i < n; i++) {
            if (c && !batched) {
                sy_err_clear(&err);
                int rc = process(svc, c, &msgs[i], &err);
                if (rc < 0) {
                    sy_log(SY_LOG_WARN, "sfn", NULL, "could not apply work message", "error", err.message,
                           "message_id", msgs[i].message_id);
                    if (msgs[i].receive_count > 20) /* poison: give up on it */
                        sy_queue_delete_receipt(ctx, SFN_WORK_QUEUE, msgs[i].receipt, NULL);
                    else
                        sy_queue_change_visibility(ctx, SFN_WORK_QUEUE, msgs[i].receipt, 1, NULL);
                }
            }
            sy_msg_out_clear(&msgs[i]);
        }
        if (c) sy_pg_release(ctx->pool, c);
    }
    return NULL;
}

int sfn_executor_start(sfn_svc_t *svc, sy_err_t *err)
{
    int rc = sy_queue_ensure_internal(svc->ctx, SFN_WORK_QUEUE, 60, err);
    if (rc < 0) return rc;
    for (int i = 0; i < SFN_EXECUTORS; i++) {
        if (pthread_create(&svc->threads[i], NULL, executor_main, svc) != 0)
            return sy_err_set(err, SY_E_INTERNAL, 500, "InternalFailure", "could not start executor thread");
        svc->nthreads++;
    }
    return 0;
}

void sfn_executor_stop(sfn_svc_t *svc)
{
    svc->stop = 1;
    for (int i = 0; i < svc->nthreads; i++) pthread_join(svc->threads[i], NULL);
    svc->nthreads = 0;
}
