/* statemachine/executor.c - the durable executor. Work messages in the
 * internal queue __sfn_work say "timer R fired", "task R finished", "task R
 * timed out", "advance"; executor threads on every broker lease them, lock
 * the execution row, load the checkpoint, apply, step in memory and write
 * the new checkpoint, its history, the follow-up messages and the deletion of
 * the leased message in ONE transaction. Applying a message twice is a
 * no-op: request ids are never reused and resume answers -1 for a request
 * that is no longer outstanding. */
#include "statemachine/internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct sfn_defc {
    uint64_t hash;
    char *text;
    sy_asl_def_t *def;
    sfn_defc_t *next;
};

int64_t sfn_int(const json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return json_is_integer(v) ? json_integer_value(v) : 0;
}

double sfn_scale(const sy_ctx_t *ctx)
{
    return ctx->cfg.time_scale > 0 ? ctx->cfg.time_scale : 1.0;
}

static uint64_t fnv(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

const sy_asl_def_t *sfn_def_get(sfn_svc_t *svc, const char *text)
{
    uint64_t h = fnv(text);
    pthread_mutex_lock(&svc->mu);
    for (sfn_defc_t *d = svc->defs; d; d = d->next)
        if (d->hash == h && strcmp(d->text, text) == 0) {
            pthread_mutex_unlock(&svc->mu);
            return d->def;
        }
    pthread_mutex_unlock(&svc->mu);
    sy_asl_def_t *def = sy_asl_def_parse(text, strlen(text), 0, NULL);
    if (!def) return NULL;
    sfn_defc_t *d = sy_calloc(1, sizeof *d);
    d->hash = h;
    d->text = sy_strdup(text);
    d->def = def;
    pthread_mutex_lock(&svc->mu);
    d->next = svc->defs;
    svc->defs = d;
    pthread_mutex_unlock(&svc->mu);
    return def;
}

void sfn_defs_free(sfn_svc_t *svc)
{
    while (svc->defs) {
        sfn_defc_t *d = svc->defs;
        svc->defs = d->next;
        sy_asl_def_destroy(&d->def);
        free(d->text);
        free(d);
    }
}

json_t *sfn_context_new(const char *exec_arn, const char *exec_name, const char *sm_arn, const char *sm_name,
                        const char *role_arn, int64_t start_ms, int redrive_count)
{
    /* $$.Task.Token is added by the interpreter in token tasks only;
     * redrive_count < 0 (EXPRESS) leaves RedriveCount out, as AWS does */
    char ts[32];
    sy_iso8601_ms(start_ms, ts);
    return json_pack("{s:{s:s,s:s,s:s,s:s,s:o},s:{s:s,s:s}}", "Execution", "Id", exec_arn, "Name", exec_name,
                     "RoleArn", role_arn, "StartTime", ts, "RedriveCount",
                     redrive_count < 0 ? json_null() : json_integer(redrive_count), "StateMachine", "Id", sm_arn,
                     "Name", sm_name);
}

/* ------------------------------------------------------------ messages */
int sfn_tx_begin(sfn_run_t *r, sy_err_t *err)
{
    if (r->express || r->in_tx) return 0;
    int rc = sy_pg_begin(r->c, err);
    if (rc == 0) r->in_tx = true;
    return rc;
}

int sfn_work_send_c(sy_ctx_t *ctx, PGconn *c, json_t *body, int64_t delay_ms, sy_err_t *err)
{
    char *s = sy_json_dumps(body);
    int64_t d = delay_ms <= 0 ? 0 : (delay_ms + 999) / 1000;
    if (d > 900) d = 900;
    sy_msg_in_t m = {.body = s, .body_len = strlen(s), .delay_s = (int)d};
    int rc = c ? sy_queue_tx_send(ctx, c, SFN_WORK_QUEUE, &m, NULL, err)
               : sy_queue_send_by_name(ctx, SFN_WORK_QUEUE, &m, NULL, err);
    free(s);
    return rc;
}

int sfn_work_send(sfn_run_t *r, json_t *body, int64_t delay_ms, sy_err_t *err)
{
    int rc = sfn_tx_begin(r, err);
    if (rc == 0) rc = sfn_work_send_c(r->ctx, r->c, body, delay_ms, err);
    return rc;
}

_Thread_local int sfn_invoker_depth;

/* A function task's outcome, applied to its execution in the caller's
 * transaction (the settle of the function's message): the result, the next
 * state's checkpoint and the next task's dispatch commit together with the
 * settle, and one settle commit carries the steps of many executions.
 * Under a savepoint: when applying fails (a lock wait broken by a deadlock,
 * a bad checkpoint), it is rolled back and the outcome goes the long way, as
 * a work message for the executor threads. 0 applied, 1 to send instead,
 * <0 the transaction is lost. */
static int apply_inline(sfn_svc_t *svc, PGconn *c, const json_t *b, sy_err_t *err)
{
    int rc = store_savepoint_named(c, "sfn_step", err);
    if (rc < 0) return rc;
    sy_err_t e;
    sy_err_clear(&e);
    rc = sfn_apply_in_tx(svc, c, b, &e);
    if (rc == 0) rc = store_savepoint_release_named(c, "sfn_step", &e);
    if (rc == 0) {
        sy_metric_inc("switchyard_sfn_inline_steps_total", NULL, 1);
        return 0;
    }
    if (PQstatus(c) != CONNECTION_OK) {
        if (err) *err = e;
        return SY_E_DB;
    }
    store_savepoint_rollback_named(c, "sfn_step");
    if (PQtransactionStatus(c) != PQTRANS_INTRANS) {
        if (err) *err = e;
        return SY_E_DB;
    }
    sy_log(SY_LOG_INFO, "sfn", NULL, "task outcome queued for the executor", "execution", sy_json_str(b, "e"), "error",
           e.message);
    sy_metric_inc("switchyard_sfn_inline_fallbacks_total", NULL, 1);
    return 1;
}

/* The outcomes reported in one transaction, applied just before it commits
 * (sy_pg_on_commit) in execution ARN order: two transactions holding
 * outcomes of the same executions (parallel branches settled by two settle
 * threads) lock the execution rows in the same order, and never deadlock.
 * The executor threads' batches take them in that order too
 * (executor_loop.c). Reports of one execution keep their order. */
typedef struct {
    sfn_svc_t *svc;
    json_t **v;
    int n, cap;
} pending_t;

static int pending_cmp(const void *a, const void *b)
{
    const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    int c = strcmp(sy_json_str(x, "e"), sy_json_str(y, "e"));
    if (c) return c;
    int64_t i = sfn_int(x, "seq"), j = sfn_int(y, "seq");
    return i < j ? -1 : i > j;
}

/* All of p under one savepoint: 0 applied, 1 rolled back (apply them one
 * by one), <0 the transaction is lost. */
static int apply_all(pending_t *p, PGconn *c, sy_err_t *err)
{
    int rc = store_savepoint_named(c, "sfn_steps", err);
    if (rc < 0) return rc;
    sy_err_t e;
    sy_err_clear(&e);
    for (int i = 0; i < p->n && rc == 0; i++) rc = sfn_apply_in_tx(p->svc, c, p->v[i], &e);
    if (rc == 0) rc = store_savepoint_release_named(c, "sfn_steps", &e);
    if (rc == 0) {
        sy_metric_inc("switchyard_sfn_inline_steps_total", NULL, p->n);
        return 0;
    }
    if (PQstatus(c) != CONNECTION_OK) {
        if (err) *err = e;
        return SY_E_DB;
    }
    store_savepoint_rollback_named(c, "sfn_steps");
    if (PQtransactionStatus(c) != PQTRANS_INTRANS) {
        if (err) *err = e;
        return SY_E_DB;
    }
    return 1;
}

static int pending_flush(PGconn *c, void *u, sy_err_t *err)
{
    pending_t *p = u;
    qsort(p->v, (size_t)p->n, sizeof *p->v, pending_cmp);
    for (int i = 0; i < p->n; i++) json_object_del(p->v[i], "seq");
    /* one savepoint for the lot (two statements, not two a step); if any
     * step fails, each again under a savepoint of its own */
    int rc = p->n > 1 ? apply_all(p, c, err) : 1;
    if (rc <= 0) return rc;
    rc = 0;
    for (int i = 0; i < p->n && rc >= 0; i++) {
        rc = apply_inline(p->svc, c, p->v[i], err);
        if (rc == 1) rc = sfn_work_send_c(p->svc->ctx, c, p->v[i], 0, err);
    }
    return rc < 0 ? rc : 0;
}

static void pending_free(void *u)
{
    pending_t *p = u;
    for (int i = 0; i < p->n; i++) json_decref(p->v[i]);
    free(p->v);
    free(p);
}

/* Queue b to be applied when c's transaction commits: 0, or 1 when it
 * cannot be (then it goes as a work message now). */
static int defer_inline(sfn_svc_t *svc, PGconn *c, json_t *b)
{
    pending_t *p = sy_pg_on_commit_arg(c, pending_flush);
    if (!p) {
        p = sy_calloc(1, sizeof *p);
        p->svc = svc;
        if (sy_pg_on_commit(c, pending_flush, pending_free, p) < 0) {
            free(p);
            return 1;
        }
    }
    if (p->n == p->cap) {
        p->cap = p->cap ? 2 * p->cap : 16;
        p->v = sy_realloc(p->v, (size_t)p->cap * sizeof *p->v);
    }
    json_object_set_new(b, "seq", json_integer(p->n));
    p->v[p->n++] = json_incref(b);
    return 0;
}

int sy_sfn_task_complete(sy_ctx_t *ctx, PGconn *c, const char *execution_arn, int64_t task_id,
                         const json_t *result, const char *error, const char *cause, sy_err_t *err)
{
    sfn_svc_t *svc = sfn_svc(ctx);
    if (strstr(execution_arn, ":express:")) {
        if (!sfn_express_deliver(svc, execution_arn, task_id, result, error, cause))
            return sy_err_set(err, SY_E_NOTFOUND, 400, "TaskDoesNotExist", "no express execution waits for it");
        return 0;
    }
    json_t *b = json_pack("{s:s,s:s,s:I,s:s}", "k", "task", "e", execution_arn, "r", (json_int_t)task_id, "src", "fn");
    if (error) {
        json_object_set_new(b, "err", json_string(error));
        if (cause) json_object_set_new(b, "cause", json_string(cause));
    } else {
        json_object_set_new(b, "res", result ? json_deep_copy(result) : json_null());
    }
    int rc = c && sfn_invoker_depth == 0 ? defer_inline(svc, c, b) : 1;
    if (rc == 1) rc = sfn_work_send_c(ctx, c, b, 0, err);
    json_decref(b);
    return rc;
}

/* Arm the execution timeout: an "xto" message due TimeoutSeconds (scaled)
 * from now, tagged with the redrive count so that a redriven execution
 * ignores the timer of its previous run. */
int sfn_arm_exec_timeout(sfn_run_t *r, const sy_asl_def_t *def, int redrive_count, sy_err_t *err)
{
    int64_t to = sy_asl_def_timeout_s(def);
    if (to <= 0) return 0;
    int64_t rel = (int64_t)((double)to * 1000.0 / sfn_scale(r->ctx));
    json_t *b = json_pack("{s:s,s:s,s:i,s:I}", "k", "xto", "e", r->exec_arn, "n", redrive_count, "due",
                          (json_int_t)(sy_now_ms() + rel));
    int rc = sfn_work_send(r, b, rel, err);
    json_decref(b);
    return rc;
}

/* ------------------------------------------------------------- driving */
static bool req_is_wait(const char *res)
{
    size_t n = res ? strlen(res) : 0;
    return n > 17 && strcmp(res + n - 17, ".waitForTaskToken") == 0;
}

int sfn_drive(sfn_run_t *r, sy_asl_exec_t *x, sy_err_t *err)
{
    for (int guard = 0; guard < 1000000; guard++) {
        const sy_asl_req_t *reqs;
        size_t n;
        if (sy_asl_exec_step(x, &reqs, &n) != SY_ASL_RUNNING) return 0;
        sy_asl_req_t *qs = n ? sy_malloc(n * sizeof *qs) : NULL;
        if (n) memcpy(qs, reqs, n * sizeof *qs);
        json_t *sync = json_array();
        int rc = 0;
        for (size_t i = 0; i < n && rc == 0; i++) {
            const sy_asl_req_t *q = &qs[i];
            if (q->kind == SY_ASL_REQ_TIMER) {
                int64_t now = sy_now_ms(), rel = (int64_t)((double)(q->wake_at_ms - now) / sfn_scale(r->ctx));
                if (rel < 0) rel = 0;
                if (r->express) {
                    json_array_append_new(r->timers, json_pack("{s:I,s:I}", "r", (json_int_t)q->id, "due",
                                                               (json_int_t)(now + rel)));
                } else {
                    json_t *b = json_pack("{s:s,s:s,s:I,s:I}", "k", "timer", "e", r->exec_arn, "r", (json_int_t)q->id,
                                          "due", (json_int_t)(now + rel));
                    rc = sfn_work_send(r, b, rel, err);
                    json_decref(b);
                }
                continue;
            }
            json_t *res = NULL;
            char *e = NULL, *c = NULL;
            rc = sfn_dispatch(r, q, &res, &e, &c, err);
            if (rc == 1) {
                json_t *o = json_pack("{s:I}", "r", (json_int_t)q->id);
                if (e) {
                    json_object_set_new(o, "err", json_string(e));
                    if (c) json_object_set_new(o, "cause", json_string(c));
                } else {
                    json_object_set_new(o, "res", res ? res : json_null());
                    res = NULL;
                }
                json_array_append_new(sync, o);
                rc = 0;
            } else if (rc == 0 && res) { /* a callback task was submitted */
                sy_asl_exec_task_submitted(x, q->id, res);
            }
            if (rc == 0 && !r->express) {
                /* waiting: arm the durable timeout and heartbeat timers */
                int64_t now = sy_now_ms();
                if (q->timeout_s > 0) {
                    int64_t rel = (int64_t)((double)q->timeout_s * 1000.0 / sfn_scale(r->ctx));
                    json_t *b = json_pack("{s:s,s:s,s:I,s:I}", "k", "to", "e", r->exec_arn, "r", (json_int_t)q->id,
                                          "due", (json_int_t)(now + rel));
                    rc = sfn_work_send(r, b, rel, err);
                    json_decref(b);
                }
                if (rc == 0 && q->heartbeat_s > 0 && req_is_wait(q->resource)) {
                    int64_t rel = (int64_t)((double)q->heartbeat_s * 1000.0 / sfn_scale(r->ctx));
                    json_t *b = json_pack("{s:s,s:s,s:I,s:I}", "k", "hb", "e", r->exec_arn, "r", (json_int_t)q->id,
                                          "due", (json_int_t)(now + rel));
                    rc = sfn_work_send(r, b, rel, err);
                    json_decref(b);
                }
            }
            json_decref(res);
            free(e);
            free(c);
        }
        free(qs);
        if (rc < 0) {
            json_decref(sync);
            return rc;
        }
        size_t i;
        json_t *o;
        json_array_foreach(sync, i, o)
            sy_asl_exec_resume_task(x, sfn_int(o, "r"), json_object_get(o, "res"), sy_json_str(o, "err"),
                                    sy_json_str(o, "cause"));
        size_t nsync = json_array_size(sync);
        json_decref(sync);
        if (nsync) continue;
        if (!r->express) return 0;
        int w = sfn_express_block(r, x, err);
        if (w <= 0) return w;
    }
    return 0;
}

/* The nested .sync parent's task result: DescribeExecution's shape. */
static json_t *child_result(const char *arn, const char *sm_arn, const char *name, const char *status,
                            int64_t start_ms, int64_t stop_ms, const char *input, const char *output, bool parsed)
{
    json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:I,s:I}", "ExecutionArn", arn, "StateMachineArn", sm_arn, "Name", name,
                          "Status", status, "StartDate", (json_int_t)start_ms, "StopDate", (json_int_t)stop_ms);
    if (parsed) {
        json_t *in = json_loads(input, JSON_DECODE_ANY, NULL), *out = output ? json_loads(output, JSON_DECODE_ANY, NULL) : NULL;
        json_object_set_new(o, "Input", in ? in : json_null());
        json_object_set_new(o, "Output", out ? out : json_null());
    } else {
        json_object_set_new(o, "Input", json_string(input));
        json_object_set_new(o, "Output", output ? json_string(output) : json_null());
    }
    json_object_set_new(o, "InputDetails", json_pack("{s:b}", "Included", 1));
    json_object_set_new(o, "OutputDetails", json_pack("{s:b}", "Included", 1));
    return o;
}

int sfn_persist_ex(sfn_run_t *r, sy_asl_exec_t *x, const sfn_execrow_t *row, sy_err_t *err)
{
    int rc = sfn_tx_begin(r, err);
    if (rc < 0) return rc;
    sy_asl_status_t st = sy_asl_exec_status(x);
    const json_t *hist = sy_asl_exec_history(x);
    if (st == SY_ASL_RUNNING) {
        json_t *save = sy_asl_exec_save(x);
        rc = store_exec_update(r->c, r->exec_arn, "RUNNING", save, NULL, NULL, NULL, 0, hist, err);
        json_decref(save);
        return rc;
    }
    char *out = st == SY_ASL_SUCCEEDED ? sy_json_dumps(sy_asl_exec_output(x)) : NULL;
    int64_t now = sy_now_ms();
    rc = store_exec_update(r->c, r->exec_arn, sy_asl_status_name(st), NULL, out, sy_asl_exec_error(x), sy_asl_exec_cause(x),
                           now, hist, err);
    if (rc == 0) rc = store_tasks_done_exec(r->c, r->exec_arn, err);
    if (rc == 0 && row && row->parent && sy_json_str(row->parent, "e")) {
        const char *m = sy_json_str(row->parent, "m");
        json_t *res = child_result(row->arn, row->machine_arn, row->name, sy_asl_status_name(st), row->start_ms, now,
                                   row->input, out, m && !strcmp(m, "sync2"));
        json_t *b = json_pack("{s:s,s:s,s:I,s:s}", "k", "task", "e", sy_json_str(row->parent, "e"), "r",
                              (json_int_t)sfn_int(row->parent, "r"), "src", "child");
        if (st == SY_ASL_SUCCEEDED) {
            json_object_set_new(b, "res", res);
        } else {
            json_object_set_new(b, "err", json_string("States.TaskFailed"));
            json_object_set_new(b, "cause", json_string_nocheck(""));
            char *cs = sy_json_dumps(res);
            json_object_set_new(b, "cause", json_string(cs));
            free(cs);
            json_decref(res);
        }
        rc = sfn_work_send(r, b, 0, err);
        json_decref(b);
    }
    free(out);
    return rc;
}

int sfn_persist(sfn_run_t *r, sy_asl_exec_t *x, const json_t *parent, sy_err_t *err)
{
    (void)parent;
    return sfn_persist_ex(r, x, NULL, err);
}

/* ------------------------------------------------------- start (durable) */
int sfn_start_standard(sfn_svc_t *svc, PGconn *c, const sfn_start_t *s, char **arn_out, int64_t *start_ms,
                       sy_err_t *err)
{
    sy_ctx_t *ctx = svc->ctx;
    sfn_machine_t m;
    int rc = store_machine_get(ctx, c, s->sm_arn, &m, err);
    if (rc == SY_E_NOTFOUND)
        return sy_err_set(err, rc, 400, "StateMachineDoesNotExist", "State Machine Does Not Exist: '%s'", s->sm_arn);
    if (rc < 0) return rc;
    const char *input = s->input ? s->input : "{}";
    json_t *in = json_loads(input, JSON_DECODE_ANY, NULL);
    if (!in) {
        sfn_machine_clear(&m);
        return sy_err_set(err, SY_E_INVALID, 400, "InvalidExecutionInput",
                          "Invalid State Machine Execution Input: 'input is not valid JSON'");
    }
    char uuid[37];
    sy_uuid4(uuid);
    const char *name = s->name ? s->name : uuid;
    char *res = sy_asprintf("execution:%s:%s", m.name, name);
    char *arn = sy_arn(ctx, "states", res);
    free(res);
    int64_t now = sy_now_ms();
    const sy_asl_def_t *def = sfn_def_get(svc, m.definition);
    json_t *cx = sfn_context_new(arn, name, m.arn, m.name, m.role_arn, now, 0);
    sy_asl_exec_t *x = def ? sy_asl_exec_new(def, in, cx, now) : NULL;
    json_decref(cx);
    json_decref(in);
    if (!x) {
        rc = sy_err_set(err, SY_E_INTERNAL, 500, "InternalFailure", "could not start the execution");
        goto done;
    }
    json_t *init = sy_asl_exec_save(x);
    PGconn *own = c ? NULL : sy_pg_acquire(ctx->pool);
    sfn_run_t r = {.ctx = ctx, .svc = svc, .c = c ? c : own, .in_tx = c != NULL, .exec_arn = arn};
    if (!r.c) {
        json_decref(init);
        rc = sy_err_set(err, SY_E_DB, 500, "ServiceUnavailable", "database unavailable");
        goto done;
    }
    if (c) { /* a nested start: savepoint, so a name clash does not break the parent's transaction */
        rc = store_savepoint(c, err);
    }
    if (rc == 0) rc = sfn_drive(&r, x, err);
    if (rc == 0) {
        sy_asl_status_t st = sy_asl_exec_status(x);
        char *out = st == SY_ASL_SUCCEEDED ? sy_json_dumps(sy_asl_exec_output(x)) : NULL;
        json_t *save = st == SY_ASL_RUNNING ? sy_asl_exec_save(x) : st == SY_ASL_SUCCEEDED ? NULL : json_incref(init);
        sfn_execrow_t row = {.arn = arn, .machine_arn = m.arn, .name = (char *)name, .type = "STANDARD",
                             .status = (char *)sy_asl_status_name(st), .input = (char *)input, .output = out,
                             .error = (char *)sy_asl_exec_error(x), .cause = (char *)sy_asl_exec_cause(x),
                             .definition = m.definition, .role_arn = m.role_arn, .state = save,
                             .parent = (json_t *)s->parent, .start_ms = now,
                             .stop_ms = st == SY_ASL_RUNNING ? 0 : now};
        bool existed = false;
        rc = store_exec_insert(r.c, &row, sy_asl_exec_history(x), &existed, err);
        json_decref(save);
        free(out);
        if (rc == 0 && !existed && st == SY_ASL_RUNNING) rc = sfn_arm_exec_timeout(&r, def, 0, err);
        if (rc == 0 && existed) {
            if (c) store_savepoint_rollback(c);
            else if (r.in_tx) sy_pg_rollback(r.c);
            r.in_tx = false;
            sfn_execrow_t old;
            rc = store_exec_get(ctx, r.c, arn, false, &old, err);
            if (rc == 0) {
                json_t *a = json_loads(old.input, JSON_DECODE_ANY, NULL), *b = json_loads(input, JSON_DECODE_ANY, NULL);
                if (a && b && json_equal(a, b) && strcmp(old.status, "RUNNING") == 0) *start_ms = old.start_ms;
                else
                    rc = sy_err_set(err, SY_E_EXISTS, 400, "ExecutionAlreadyExists", "Execution Already Exists: '%s'", arn);
                json_decref(a);
                json_decref(b);
                sfn_execrow_clear(&old);
            }
            if (rc == 0) {
                *arn_out = arn;
                arn = NULL;
            }
            json_decref(init);
            if (own) sy_pg_release(ctx->pool, own);
            goto done;
        }
        /* a nested .sync child that finished at once tells its parent now */
        if (rc == 0 && st != SY_ASL_RUNNING && s->parent) {
            sfn_execrow_t prow = {.arn = arn, .machine_arn = m.arn, .name = (char *)name, .input = (char *)input,
                                  .parent = (json_t *)s->parent, .start_ms = now};
            sy_asl_exec_history_clear(x);
            rc = sfn_persist_ex(&r, x, &prow, err);
        }
    }
    if (c) {
        if (rc == 0) rc = store_savepoint_release(c, err);
        else if (err && strcmp(err->code, "ExecutionAlreadyExists") != 0)
            store_savepoint_rollback(c);
    } else if (r.in_tx) {
        if (rc == 0) rc = sy_pg_commit(r.c, err);
        else sy_pg_rollback(r.c);
    }
    json_decref(init);
    if (own) sy_pg_release(ctx->pool, own);
    if (rc == 0) {
        *arn_out = arn;
        arn = NULL;
        *start_ms = now;
        sy_metric_inc("switchyard_sfn_executions_started_total", "type=\"STANDARD\"", 1);
    }
done:
    sy_asl_exec_destroy(&x);
    free(arn);
    sfn_machine_clear(&m);
    return rc;
}
