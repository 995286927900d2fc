/* statemachine/executor_ops.c - operations on a durable execution from the
 * API: stop, redrive, callbacks (SendTask*). Each is one transaction. */
#include "statemachine/internal.h"

#include <stdlib.h>
#include <string.h>

static int finish_tx(PGconn *c, int rc, sy_err_t *err)
{
    if (rc == 0) return sy_pg_commit(c, err);
    sy_pg_rollback(c);
    return rc;
}

static int exec_missing(const char *arn, sy_err_t *err)
{
    return sy_err_set(err, SY_E_NOTFOUND, 400, "ExecutionDoesNotExist", "Execution Does Not Exist: '%s'", arn);
}

int sfn_stop_execution(sfn_svc_t *svc, const char *arn, const char *error, const char *cause, int64_t *stop_ms,
                       sy_err_t *err)
{
    PGconn *c = sy_pg_acquire(svc->ctx->pool);
    if (!c) return sy_err_set(err, SY_E_DB, 500, "ServiceUnavailable", "database unavailable");
    sfn_execrow_t row = {0};
    sy_asl_exec_t *x = NULL;
    int rc = sy_pg_begin(c, err);
    if (rc == 0) rc = store_exec_get(svc->ctx, c, arn, true, &row, err);
    if (rc == SY_E_NOTFOUND) rc = exec_missing(arn, err);
    if (rc == 0 && strcmp(row.status, "RUNNING") == 0) {
        const sy_asl_def_t *def = sfn_def_get(svc, row.definition);
        x = def && row.state ? sy_asl_exec_load(def, row.state) : NULL;
        if (x) {
            sy_asl_exec_set_now(x, sy_now_ms());
            sy_asl_exec_abort(x, error, cause);
            sfn_run_t r = {.ctx = svc->ctx, .svc = svc, .c = c, .in_tx = true, .exec_arn = arn};
            rc = sfn_persist_ex(&r, x, &row, err);
        }
        *stop_ms = sy_now_ms();
    } else if (rc == 0) {
        *stop_ms = row.stop_ms;
    }
    rc = finish_tx(c, rc, err);
    sy_pg_release(svc->ctx->pool, c);
    sy_asl_exec_destroy(&x);
    sfn_execrow_clear(&row);
    return rc;
}

/* Restart from the last checkpoint before the failure: outstanding tasks
 * run again, outstanding timers fire at once. */
int sfn_redrive_execution(sfn_svc_t *svc, const char *arn, int64_t *redrive_ms, sy_err_t *err)
{
    PGconn *c = sy_pg_acquire(svc->ctx->pool);
    if (!c) return sy_err_set(err, SY_E_DB, 500, "ServiceUnavailable", "database unavailable");
    sfn_execrow_t row = {0};
    sy_asl_exec_t *x = NULL;
    int rc = sy_pg_begin(c, err);
    if (rc == 0) rc = store_exec_get(svc->ctx, c, arn, true, &row, err);
    if (rc == SY_E_NOTFOUND) rc = exec_missing(arn, err);
    if (rc < 0) goto done;
    if (strcmp(row.type, "STANDARD") != 0 || !row.state ||
        !(strcmp(row.status, "FAILED") == 0 || strcmp(row.status, "TIMED_OUT") == 0 || strcmp(row.status, "ABORTED") == 0)) {
        rc = sy_err_set(err, SY_E_INVALID, 400, "ExecutionNotRedrivable",
                        "Execution is not redrivable: '%s' (status %s)", arn, row.status);
        goto done;
    }
    int64_t maxid = store_history_max(c, arn, err);
    if (maxid < 0) {
        rc = (int)maxid;
        goto done;
    }
    const sy_asl_def_t *def = sfn_def_get(svc, row.definition);
    int64_t now = sy_now_ms();
    x = sy_asl_exec_redrive(def, row.state, maxid + 1, row.redrive_count + 1, now);
    if (!x) {
        rc = sy_err_set(err, SY_E_INVALID, 400, "ExecutionNotRedrivable", "Execution is not redrivable: '%s'", arn);
        goto done;
    }
    rc = store_exec_redrive(c, arn, now, err);
    sfn_run_t r = {.ctx = svc->ctx, .svc = svc, .c = c, .in_tx = true, .exec_arn = arn};
    /* re-issue what the checkpoint was waiting for */
    const sy_asl_req_t *reqs;
    size_t n;
    sy_asl_exec_pending(x, &reqs, &n);
    sy_asl_req_t *qs = n ? sy_malloc(n * sizeof *qs) : NULL;
    if (n) memcpy(qs, reqs, n * sizeof *qs);
    json_t *keep = json_array(); /* the borrowed inputs must outlive the resumes */
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (qs[i].kind == SY_ASL_REQ_TIMER) {
            sy_asl_exec_resume_timer(x, qs[i].id);
            continue;
        }
        json_t *res = NULL;
        char *e = NULL, *cs = NULL;
        int d = sfn_dispatch(&r, &qs[i], &res, &e, &cs, err);
        if (d < 0) rc = d;
        else if (d == 1) json_array_append_new(keep, json_pack("{s:I,s:o,s:s?,s:s?}", "r", (json_int_t)qs[i].id, "res",
                                                               res ? res : json_null(), "err", e, "cause", cs));
        else {
            if (res) sy_asl_exec_task_submitted(x, qs[i].id, res);
            json_decref(res);
        }
        free(e);
        free(cs);
    }
    free(qs);
    size_t i;
    json_t *o;
    json_array_foreach(keep, i, o)
        sy_asl_exec_resume_task(x, sfn_int(o, "r"), json_object_get(o, "res"), sy_json_str(o, "err"),
                                sy_json_str(o, "cause"));
    json_decref(keep);
    if (rc == 0) rc = sfn_arm_exec_timeout(&r, def, row.redrive_count + 1, err);
    if (rc == 0) rc = sfn_drive(&r, x, err);
    if (rc == 0) rc = sfn_persist_ex(&r, x, &row, err);
    *redrive_ms = now;
done:
    rc = finish_tx(c, rc, err);
    sy_pg_release(svc->ctx->pool, c);
    sy_asl_exec_destroy(&x);
    sfn_execrow_clear(&row);
    return rc;
}

/* SendTaskSuccess / SendTaskFailure (kind 's' / 'f') and SendTaskHeartbeat ('h'). */
int sfn_task_callback(sfn_svc_t *svc, const char *token, char kind, const json_t *output, const char *error,
                      const char *cause, sy_err_t *err)
{
    PGconn *c = sy_pg_acquire(svc->ctx->pool);
    if (!c) return sy_err_set(err, SY_E_DB, 500, "ServiceUnavailable", "database unavailable");
    sfn_taskrow_t t;
    sfn_execrow_t row = {0};
    int rc = sy_pg_begin(c, err);
    if (rc == 0) rc = store_task_get(c, token, kind != 'h', &t, err);
    if (rc == SY_E_NOTFOUND) rc = sy_err_set(err, SY_E_INVALID, 400, "InvalidToken", "Invalid Token: '%s'", token);
    if (rc == 0) rc = store_exec_get(svc->ctx, c, t.exec_arn, false, &row, err);
    if (rc == SY_E_NOTFOUND) rc = sy_err_set(err, rc, 400, "TaskDoesNotExist", "Task Does Not Exist");
    if (rc == 0 && (t.done || strcmp(row.status, "RUNNING") != 0))
        rc = sy_err_set(err, SY_E_INVALID, 400, "TaskTimedOut", "Task Timed Out: '%s'", token);
    if (rc == 0 && kind == 'h') rc = store_task_heartbeat(c, token, sy_now_ms(), err);
    if (rc == 0 && kind != 'h') {
        rc = store_task_done(c, token, err);
        json_t *b = json_pack("{s:s,s:s,s:I,s:s}", "k", "task", "e", t.exec_arn, "r", (json_int_t)t.req, "src", "token");
        if (kind == 's') json_object_set(b, "res", (json_t *)output);
        else {
            json_object_set_new(b, "err", json_string(error ? error : ""));
            if (cause) json_object_set_new(b, "cause", json_string(cause));
        }
        if (rc == 0) rc = sfn_work_send_c(svc->ctx, c, b, 0, err);
        json_decref(b);
    }
    rc = finish_tx(c, rc, err);
    sy_pg_release(svc->ctx->pool, c);
    sfn_execrow_clear(&row);
    return rc;
}
