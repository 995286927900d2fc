/* The execution core: threads, the scheduler loop, history events,
 * requests, checkpoints. State-specific logic lives in state_*.c. */
#include "asl/internal.h"

#include <stdlib.h>
#include <string.h>

int64_t asl_geti(const json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return json_is_integer(v) ? json_integer_value(v) : 0;
}

void asl_seti(json_t *o, const char *k, int64_t v)
{
    json_object_set_new(o, k, json_integer(v));
}

const char *asl_gets(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

void asl_sets(json_t *o, const char *k, const char *v)
{
    if (v)
        json_object_set_new(o, k, json_string(v));
    else
        json_object_del(o, k);
}

int64_t asl_now(const asl_x_t *x)
{
    return asl_geti(x->st, "now");
}

const json_t *asl_scope_def(const asl_x_t *x, const json_t *scope)
{
    const json_t *cur = x->def->root;
    size_t i;
    json_t *k;
    json_array_foreach(scope, i, k)
    {
        if (json_is_integer(k))
            cur = json_array_get(cur, (size_t)json_integer_value(k));
        else
            cur = json_object_get(cur, json_string_value(k));
    }
    return cur;
}

const json_t *asl_state_def(const asl_x_t *x, const json_t *t)
{
    const json_t *scope = asl_scope_def(x, json_object_get(t, "scope"));
    return json_object_get(json_object_get(scope, "States"), asl_gets(t, "state"));
}

json_t *asl_ctx(const asl_x_t *x, const json_t *t)
{
    json_t *c = json_copy(json_object_get(x->st, "ctx")); /* shallow: only top-level keys are set below */
    json_t *s = json_object();
    json_object_set_new(s, "Name", json_string(asl_gets(t, "state")));
    json_t *et = json_object_get(t, "entered_time");
    json_object_set(s, "EnteredTime", et ? et : json_string(""));
    const char *type = asl_gets(asl_state_def(x, t), "Type");
    if (type && !strcmp(type, "Task")) /* AWS shows RetryCount only in Task states */
        json_object_set_new(s, "RetryCount", json_integer(asl_geti(t, "attempt")));
    json_object_set_new(c, "State", s);
    json_t *vars = json_object_get(t, "vars");
    if (vars)
        json_object_set(c, ASL_VARS_KEY, vars);
    const char *token = asl_gets(t, "token");
    if (token)
        json_object_set_new(c, "Task", json_pack("{s:s}", "Token", token));
    return c;
}

json_t *asl_payload_text(const json_t *v)
{
    char *s = asl_dumps(v);
    json_t *j = json_string(s);
    free(s);
    return j;
}

int64_t asl_emit(asl_x_t *x, json_t *t, const char *type, const char *dkey, json_t *details)
{
    if (t && json_is_true(json_object_get(t, "silent"))) {
        json_decref(details); /* a distributed Map's child execution: own history */
        return 0;
    }
    int64_t id = asl_geti(x->st, "next_event");
    asl_seti(x->st, "next_event", id + 1);
    if (x->quiet) {
        json_decref(details);
        if (t)
            asl_seti(t, "prev", id);
        return id;
    }
    json_t *ev = json_object();
    asl_seti(ev, "id", id);
    asl_seti(ev, "previousEventId", t ? asl_geti(t, "prev") : 0);
    asl_sets(ev, "type", type);
    asl_seti(ev, "timestamp", asl_now(x));
    if (dkey && details)
        json_object_set_new(ev, dkey, details);
    else
        json_decref(details);
    json_array_append_new(x->history, ev);
    if (t)
        asl_seti(t, "prev", id);
    return id;
}

/* ---- threads ---- */
json_t *asl_thread_get(const asl_x_t *x, int64_t id)
{
    char key[24];
    snprintf(key, sizeof key, "%lld", (long long)id);
    return json_object_get(json_object_get(x->st, "threads"), key);
}

json_t *asl_thread_new(asl_x_t *x, int64_t parent, int64_t index, json_t *scope, json_t *input)
{
    int64_t id = asl_geti(x->st, "next_thread");
    asl_seti(x->st, "next_thread", id + 1);
    json_t *t = json_object();
    asl_seti(t, "id", id);
    asl_seti(t, "parent", parent);
    asl_seti(t, "index", index);
    json_object_set_new(t, "scope", scope);
    const json_t *sc = asl_scope_def(x, scope);
    asl_sets(t, "state", asl_gets(sc, "StartAt"));
    json_object_set_new(t, "input", input);
    asl_sets(t, "phase", "enter");
    json_t *pt = parent >= 0 ? asl_thread_get(x, parent) : NULL;
    asl_seti(t, "prev", pt ? asl_geti(pt, "prev") : 0);
    /* Inner scopes see, but do not change, outer variables; a distributed
     * Map's iterations are child executions that see none. */
    if (pt && !json_is_true(json_object_get(pt, "distributed")))
        asl_vars_inherit(t, pt);
    if (pt && (json_is_true(json_object_get(pt, "silent")) || json_is_true(json_object_get(pt, "distributed"))))
        json_object_set_new(t, "silent", json_true());
    char key[24];
    snprintf(key, sizeof key, "%lld", (long long)id);
    json_object_set_new(json_object_get(x->st, "threads"), key, t);
    return t;
}

void asl_thread_drop(asl_x_t *x, int64_t id)
{
    json_t *threads = json_object_get(x->st, "threads");
    const char *k;
    json_t *t, *tmp;
    json_object_foreach_safe(threads, tmp, k, t)
    {
        if (asl_geti(t, "parent") == id && asl_geti(t, "id") != id)
            asl_thread_drop(x, asl_geti(t, "id"));
    }
    char key[24];
    snprintf(key, sizeof key, "%lld", (long long)id);
    json_object_del(threads, key);
}

static void reset_state_fields(json_t *t)
{
    static const char *keys[] = {"attempt", "retries", "eff", "req", "kids", "out", "result",
                                 "fault_error", "fault_cause", "entered", "entered_prev", "finishing", "entered_time", "assigned", "token", "submitted", "reader_result"};
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
        json_object_del(t, keys[i]);
}

/* ---- requests ---- */
static int64_t next_req(asl_x_t *x)
{
    int64_t id = asl_geti(x->st, "next_req") + 1;
    asl_seti(x->st, "next_req", id);
    json_array_append_new(x->issued, json_integer(id));
    return id;
}

int64_t asl_request_task(asl_x_t *x, json_t *t, const char *resource, const json_t *input)
{
    const json_t *st = asl_state_def(x, t);
    json_t *r = json_object();
    int64_t id = next_req(x);
    asl_seti(r, "id", id);
    asl_seti(r, "kind", SY_ASL_REQ_TASK);
    asl_sets(r, "resource", resource);
    json_object_set(r, "input", (json_t *)input);
    asl_seti(r, "attempt", asl_geti(t, "attempt"));
    asl_seti(r, "timeout", asl_geti(t, "timeout_s"));
    asl_seti(r, "heartbeat", asl_geti(t, "heartbeat_s"));
    asl_seti(r, "pattern", asl_task_pattern(resource));
    if (asl_gets(t, "token"))
        asl_sets(r, "token", asl_gets(t, "token"));
    (void)st;
    json_object_set_new(t, "req", r);
    return id;
}

int64_t asl_request_timer(asl_x_t *x, json_t *t, int64_t wake_at_ms)
{
    json_t *r = json_object();
    int64_t id = next_req(x);
    asl_seti(r, "id", id);
    asl_seti(r, "kind", SY_ASL_REQ_TIMER);
    asl_seti(r, "wake_at", wake_at_ms);
    json_object_set_new(t, "req", r);
    return id;
}

static void req_fill(sy_asl_req_t *q, const json_t *t)
{
    const json_t *r = json_object_get(t, "req");
    memset(q, 0, sizeof *q);
    q->id = asl_geti(r, "id");
    q->kind = (sy_asl_req_kind_t)asl_geti(r, "kind");
    q->state_name = asl_gets(t, "state");
    q->resource = asl_gets(r, "resource");
    q->input = json_object_get(r, "input");
    q->attempt = (int)asl_geti(r, "attempt");
    q->timeout_s = asl_geti(r, "timeout");
    q->heartbeat_s = asl_geti(r, "heartbeat");
    q->wake_at_ms = asl_geti(r, "wake_at");
    q->pattern = (sy_asl_pattern_t)asl_geti(r, "pattern");
    q->task_token = asl_gets(r, "token");
}

sy_asl_pattern_t asl_task_pattern(const char *resource)
{
    size_t n = resource ? strlen(resource) : 0;
    if (n > 17 && !strcmp(resource + n - 17, ".waitForTaskToken"))
        return SY_ASL_PATTERN_WAIT_FOR_TOKEN;
    const char *sync = resource ? strstr(resource, ".sync") : NULL;
    if (sync && (!sync[5] || sync[5] == ':'))
        return SY_ASL_PATTERN_SYNC;
    return SY_ASL_PATTERN_REQUEST_RESPONSE;
}

void asl_reqs_rebuild(asl_x_t *x, bool only_issued)
{
    x->nreqs = 0;
    const char *k;
    json_t *t;
    json_object_foreach(json_object_get(x->st, "threads"), k, t)
    {
        json_t *r = json_object_get(t, "req");
        if (!r)
            continue;
        if (only_issued) {
            bool found = false;
            size_t i;
            json_t *id;
            json_array_foreach(x->issued, i, id) if (json_integer_value(id) == asl_geti(r, "id")) found = true;
            if (!found)
                continue;
        }
        if (x->nreqs == x->capreqs) {
            x->capreqs = x->capreqs ? x->capreqs * 2 : 8;
            sy_asl_req_t *n = sy_malloc(sizeof(sy_asl_req_t) * x->capreqs);
            if (x->reqs)
                memcpy(n, x->reqs, sizeof(sy_asl_req_t) * x->nreqs);
            free(x->reqs);
            x->reqs = n;
        }
        req_fill(&x->reqs[x->nreqs++], t);
    }
}

json_t *asl_thread_by_req(const asl_x_t *x, int64_t req_id)
{
    const char *k;
    json_t *t;
    json_object_foreach(json_object_get(x->st, "threads"), k, t)
    {
        json_t *r = json_object_get(t, "req");
        if (r && asl_geti(r, "id") == req_id)
            return t;
    }
    return NULL;
}

/* ---- finishing ---- */
static void set_status(asl_x_t *x, sy_asl_status_t s)
{
    asl_seti(x->st, "status", s);
    if (s != SY_ASL_RUNNING)
        json_object_set_new(x->st, "threads", json_object());
}

static void thread_end(asl_x_t *x, json_t *t)
{
    int64_t pid = asl_geti(t, "parent");
    if (pid < 0)
        return;
    json_t *p = asl_thread_get(x, pid);
    json_incref(t);
    asl_thread_drop(x, asl_geti(t, "id"));
    if (p)
        asl_child_done(x, p, t);
    json_decref(t);
}

static void emit_error_event(asl_x_t *x, json_t *t, const char *type, const char *dkey,
                             const char *error, const char *cause)
{
    json_t *d = json_object();
    if (error)
        json_object_set_new(d, "error", json_string(error));
    if (cause)
        json_object_set_new(d, "cause", json_string(cause));
    asl_emit(x, t, type, dkey, d);
}

void asl_thread_fail(asl_x_t *x, json_t *t, const char *error, const char *cause)
{
    asl_sets(t, "phase", "finished");
    asl_sets(t, "status", "failed");
    json_object_del(t, "req");
    asl_sets(t, "error", error);
    asl_sets(t, "cause", cause);
    if (asl_geti(t, "parent") < 0) {
        emit_error_event(x, t, "ExecutionFailed", "executionFailedEventDetails", error, cause);
        asl_sets(x->st, "error", error);
        asl_sets(x->st, "cause", cause);
        set_status(x, SY_ASL_FAILED);
        return;
    }
    thread_end(x, t);
}

static void thread_succeed(asl_x_t *x, json_t *t, json_t *output)
{
    asl_sets(t, "phase", "finished");
    asl_sets(t, "status", "ok");
    json_object_set_new(t, "output", output);
    if (asl_geti(t, "parent") < 0) {
        json_t *d = json_object();
        json_object_set_new(d, "output", asl_payload_text(output));
        json_object_set_new(d, "outputDetails", json_pack("{s:b}", "truncated", 0));
        asl_emit(x, t, "ExecutionSucceeded", "executionSucceededEventDetails", d);
        json_object_set(x->st, "output", output);
        set_status(x, SY_ASL_SUCCEEDED);
        return;
    }
    thread_end(x, t);
}

static char *runtime_cause(const asl_x_t *x, const json_t *t, const char *detail)
{
    (void)x;
    return sy_asprintf("An error occurred while executing the state '%s' (entered at the event id #%lld). %s",
                      asl_gets(t, "state"), (long long)asl_geti(t, "entered"), detail ? detail : "");
}

/* States.QueryEvaluationError: an EvaluationFailed event first. It follows
 * the event before the state was entered when nothing happened since (a
 * Wait state's fields: the Entered event itself). */
static char *query_fault(asl_x_t *x, json_t *t, const asl_fault_t *f, const char **type)
{
    char *c = runtime_cause(x, t, f->cause);
    *type = asl_gets(asl_state_def(x, t), "Type");
    if (*type && strcmp(*type, "Wait") && asl_geti(t, "prev") == asl_geti(t, "entered"))
        asl_seti(t, "prev", asl_geti(t, "entered_prev"));
    json_t *d = json_object();
    json_object_set_new(d, "cause", json_string(c));
    json_object_set_new(d, "error", json_string(f->error));
    if (f->location)
        json_object_set_new(d, "location", json_string(f->location));
    json_object_set_new(d, "state", json_string(asl_gets(t, "state")));
    asl_emit(x, t, "EvaluationFailed", "evaluationFailedEventDetails", d);
    return c;
}

void asl_state_fault_final(asl_x_t *x, json_t *t, const asl_fault_t *f)
{
    if (strcmp(f->error, "States.QueryEvaluationError") != 0) {
        asl_state_fault(x, t, f);
        return;
    }
    const char *type;
    char *c = query_fault(x, t, f, &type);
    asl_thread_fail(x, t, f->error, c);
    free(c);
}

void asl_state_fault(asl_x_t *x, json_t *t, const asl_fault_t *f)
{
    if (!strcmp(f->error, "States.QueryEvaluationError")) {
        const char *type;
        char *c = query_fault(x, t, f, &type);
        bool finishing = json_is_true(json_object_get(t, "finishing"));
        json_object_del(t, "finishing");
        if (type && !finishing && (!strcmp(type, "Map") || !strcmp(type, "Parallel"))) {
            json_object_del(t, "distributed");
            json_object_del(t, "req");
            if (asl_try_retry(x, t, asl_state_def(x, t), f->error)) { /* a retried Map starts again silently */
                free(c);
                return;
            }
            asl_emit(x, t, !strcmp(type, "Map") ? "MapStateFailed" : "ParallelStateFailed", NULL, NULL);
        }
        if (type && (!strcmp(type, "Task") || !strcmp(type, "Map") || !strcmp(type, "Parallel")))
            asl_state_error(x, t, f->error, c); /* retryable and catchable */
        else
            asl_thread_fail(x, t, f->error, c);
        free(c);
        return;
    }
    if (!strcmp(f->error, "States.Runtime") || !strcmp(f->error, "States.IntrinsicFailure")) {
        char *c = runtime_cause(x, t, f->cause);
        asl_thread_fail(x, t, f->error, c);
        free(c);
        return;
    }
    asl_thread_fail(x, t, f->error, f->cause);
}

static bool too_big(const json_t *v)
{
    return asl_dump_len(v) > ASL_MAX_PAYLOAD;
}

int asl_assign(asl_x_t *x, json_t *t, const json_t *assign, const json_t *doc, const json_t *ctx, asl_fault_t *f)
{
    (void)x;
    if (!assign)
        return 0;
    json_t *vals = NULL;
    if (asl_payload_eval(assign, doc, ctx, &vals, f) != 0)
        return -1;
    if (asl_vars_check(t, vals, f) != 0) {
        json_decref(vals);
        return -1;
    }
    json_object_set_new(t, "assigned", vals);
    return 0;
}

/* Variables assigned by the state take effect as it exits; the Exited event lists them. */
static void apply_assigned(json_t *t, json_t *details)
{
    json_t *vals = json_object_get(t, "assigned");
    if (!vals)
        return;
    json_t *vars = json_object_get(t, "vars");
    if (!vars) {
        vars = json_object();
        json_object_set_new(t, "vars", vars);
    }
    json_t *shown = json_object();
    const char *k;
    json_t *v;
    json_object_foreach(vals, k, v)
    {
        json_object_set(vars, k, v);
        json_object_set_new(shown, k, asl_payload_text(v));
    }
    json_object_set_new(details, "assignedVariables", shown);
    json_object_set_new(details, "assignedVariablesDetails", json_pack("{s:b}", "truncated", 0));
    json_object_del(t, "assigned");
    json_t *bytes = json_object_get(t, "assigned_bytes"); /* the total asl_vars_check measured */
    if (json_is_integer(bytes))
        json_object_set(t, "vars_bytes", bytes);
    else
        json_object_del(t, "vars_bytes");
    json_object_del(t, "assigned_bytes");
}

void asl_state_done_next(asl_x_t *x, json_t *t, json_t *output, const char *next)
{
    const json_t *st = asl_state_def(x, t);
    const char *type = asl_gets(st, "Type");
    if (too_big(output)) {
        json_decref(output);
        char *c = sy_asprintf("The state/task '%s' returned a result with a size exceeding the maximum "
                             "number of bytes service limit.", asl_gets(t, "state"));
        asl_thread_fail(x, t, "States.DataLimitExceeded", c);
        free(c);
        return;
    }
    char evt[64];
    snprintf(evt, sizeof evt, "%sStateExited", asl_state_event_prefix(type));
    json_t *d = json_object();
    if (!x->quiet) {
        json_object_set_new(d, "name", json_string(asl_gets(t, "state")));
        json_object_set_new(d, "output", asl_payload_text(output));
        json_object_set_new(d, "outputDetails", json_pack("{s:b}", "truncated", 0));
    }
    apply_assigned(t, d);
    asl_emit(x, t, evt, "stateExitedEventDetails", d);
    if (!next && (json_is_true(json_object_get(st, "End")) || !strcmp(type, "Succeed"))) {
        thread_succeed(x, t, output);
        return;
    }
    if (!next)
        next = asl_gets(st, "Next");
    reset_state_fields(t);
    char *n = sy_strdup(next);
    asl_sets(t, "state", n);
    free(n);
    json_object_set_new(t, "input", output);
    asl_sets(t, "phase", "enter");
}

void asl_state_done(asl_x_t *x, json_t *t, json_t *output)
{
    asl_state_done_next(x, t, output, NULL);
}

bool asl_error_matches(const json_t *error_equals, const char *error)
{
    size_t i;
    json_t *e;
    json_array_foreach(error_equals, i, e)
    {
        const char *n = json_string_value(e);
        if (!n)
            continue;
        if (!strcmp(n, error))
            return true;
        if (!strcmp(n, "States.ALL") && strcmp(error, "States.Runtime"))
            return true;
        if (!strcmp(n, "States.TaskFailed") && strcmp(error, "States.Timeout") &&
            strcmp(error, "States.Runtime") && strncmp(error, "States.", 7))
            return true;
    }
    return false;
}

/* Returns true when a retry was scheduled. */
bool asl_try_retry(asl_x_t *x, json_t *t, const json_t *st, const char *error)
{
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(st, "Retry"), i, r)
    {
        if (!asl_error_matches(json_object_get(r, "ErrorEquals"), error))
            continue;
        json_t *counts = json_object_get(t, "retries");
        if (!counts) {
            counts = json_object();
            json_object_set_new(t, "retries", counts);
        }
        char key[24];
        snprintf(key, sizeof key, "%zu", i);
        int64_t n = asl_geti(counts, key);
        json_t *ma = json_object_get(r, "MaxAttempts");
        int64_t max = ma ? (int64_t)json_number_value(ma) : 3;
        if (n >= max)
            return false;
        json_t *iv = json_object_get(r, "IntervalSeconds"), *br = json_object_get(r, "BackoffRate");
        json_t *md = json_object_get(r, "MaxDelaySeconds");
        double delay = iv ? json_number_value(iv) : 1.0;
        double rate = br ? json_number_value(br) : 2.0;
        for (int64_t k = 0; k < n; k++)
            delay *= rate;
        if (md && delay > json_number_value(md))
            delay = json_number_value(md);
        if (!strcmp(asl_gets(r, "JitterStrategy") ? asl_gets(r, "JitterStrategy") : "", "FULL"))
            delay = delay * ((double)rand() / RAND_MAX);
        asl_seti(counts, key, n + 1);
        asl_seti(t, "attempt", asl_geti(t, "attempt") + 1);
        asl_request_timer(x, t, asl_now(x) + (int64_t)(delay * 1000.0));
        asl_sets(t, "phase", "retry_wait");
        return true;
    }
    return false;
}

void asl_state_error(asl_x_t *x, json_t *t, const char *error, const char *cause)
{
    const json_t *st = asl_state_def(x, t);
    json_object_del(t, "req");
    if (asl_try_retry(x, t, st, error))
        return;
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(st, "Catch"), i, c)
    {
        if (!asl_error_matches(json_object_get(c, "ErrorEquals"), error))
            continue;
        json_t *eo = json_object();
        json_object_set_new(eo, "Error", json_string(error));
        /* A task error without a cause (a timeout) is caught with "Cause": "". */
        const char *type = asl_gets(st, "Type");
        if (cause || (type && !strcmp(type, "Task")))
            json_object_set_new(eo, "Cause", json_string(cause ? cause : ""));
        if (asl_jx_state(x, st)) {
            asl_jx_catch(x, t, c, eo);
            return;
        }
        json_t *out = NULL;
        asl_fault_t f = {0};
        json_object_del(t, "assigned");
        json_t *ctx = asl_ctx(x, t);
        int arc = asl_assign(x, t, json_object_get(c, "Assign"), eo, ctx, &f);
        json_decref(ctx);
        if (arc != 0) {
            json_decref(eo);
            asl_state_fault(x, t, &f);
            asl_fault_clear(&f);
            return;
        }
        if (asl_result_path(c, json_object_get(t, "input"), eo, &out, &f) != 0) {
            asl_state_fault(x, t, &f);
            asl_fault_clear(&f);
            return;
        }
        asl_state_done_next(x, t, out, asl_gets(c, "Next"));
        return;
    }
    asl_thread_fail(x, t, error, cause);
}

/* Assign, ResultPath, OutputPath, then the state is done (or faults).
 * Takes result and ctx. */
void asl_finish_output(asl_x_t *x, json_t *t, const json_t *st, json_t *result, json_t *ctx)
{
    json_t *doc = NULL, *out = NULL;
    asl_fault_t f = {0};
    if (asl_assign(x, t, json_object_get(st, "Assign"), result, ctx, &f) != 0)
        goto fault;
    if (asl_result_path(st, json_object_get(t, "input"), result, &doc, &f) != 0) {
        result = NULL;
        goto fault;
    }
    result = NULL;
    if (asl_path_select(st, "OutputPath", doc, ctx, &out, &f) != 0)
        goto fault;
    json_decref(doc);
    json_decref(ctx);
    asl_state_done(x, t, out);
    return;
fault:
    json_decref(result);
    json_decref(doc);
    json_decref(ctx);
    asl_state_fault(x, t, &f);
    asl_fault_clear(&f);
}

void asl_finish_result(asl_x_t *x, json_t *t, json_t *result)
{
    const json_t *st = asl_state_def(x, t);
    if (asl_jx_state(x, st)) {
        asl_jx_finish(x, t, st, result, result); /* $states.result, and the default output */
        return;
    }
    json_t *ctx = asl_ctx(x, t), *sel = NULL;
    json_t *rs = json_object_get(st, "ResultSelector");
    if (rs) {
        asl_fault_t f = {0};
        if (asl_payload_eval(rs, result, ctx, &sel, &f) != 0) {
            json_decref(result);
            json_decref(ctx);
            asl_state_fault(x, t, &f);
            asl_fault_clear(&f);
            return;
        }
        json_decref(result);
        result = sel;
    }
    asl_finish_output(x, t, st, result, ctx);
}

void asl_task_aborted(asl_x_t *x, json_t *t, const json_t *child)
{
    const char *type = asl_gets(asl_state_def(x, child), "Type");
    if (!type || strcmp(type, "Task") != 0)
        return;
    int64_t prev = asl_geti(t, "prev");
    asl_emit(x, t, "TaskStateAborted", NULL, NULL);
    asl_seti(t, "prev", prev);
}

void asl_child_done(asl_x_t *x, json_t *parent, json_t *child)
{
    const char *type = asl_gets(asl_state_def(x, parent), "Type");
    if (!strcmp(type, "Map"))
        asl_map_child_done(x, parent, child);
    else
        asl_parallel_child_done(x, parent, child);
}
