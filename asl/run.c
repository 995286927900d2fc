/* The execution core: threads, the scheduler loop, history events,
 * requests, checkpoints. State-specific logic lives in state_*.c. */
#include "asl/internal.h"

#include <stdlib.h>
#include <string.h>

int64_t sfn_geti(const json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return json_is_integer(v) ? json_integer_value(v) : 0;
}

void sfn_seti(json_t *o, const char *k, int64_t v)
{
    json_object_set_new(o, k, json_integer(v));
}

const char *sfn_gets(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

void sfn_sets(json_t *o, const char *k, const char *v)
{
    if (v)
        json_object_set_new(o, k, json_string(v));
    else
        json_object_del(o, k);
}

int64_t sfn_now(const sfn_x_t *x)
{
    return sfn_geti(x->st, "now");
}

const json_t *sfn_scope_def(const sfn_x_t *x, const json_t *scope)
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

const json_t *sfn_state_def(const sfn_x_t *x, const json_t *t)
{
    const json_t *scope = sfn_scope_def(x, json_object_get(t, "scope"));
    return json_object_get(json_object_get(scope, "States"), sfn_gets(t, "state"));
}

json_t *sfn_ctx(const sfn_x_t *x, const json_t *t)
{
    json_t *c = json_copy(json_object_get(x->st, "ctx")); /* shallow: only top-level keys are set below */
    json_t *s = json_object();
    json_object_set_new(s, "Name", json_string(sfn_gets(t, "state")));
    json_t *et = json_object_get(t, "entered_time");
    json_object_set(s, "EnteredTime", et ? et : json_string(""));
    const char *type = sfn_gets(sfn_state_def(x, t), "Type");
    if (type && !strcmp(type, "Task")) /* AWS shows RetryCount only in Task states */
        json_object_set_new(s, "RetryCount", json_integer(sfn_geti(t, "attempt")));
    json_object_set_new(c, "State", s);
    json_t *vars = json_object_get(t, "vars");
    if (vars)
        json_object_set(c, SFN_VARS_KEY, vars);
    const char *token = sfn_gets(t, "token");
    if (token)
        json_object_set_new(c, "Task", json_pack("{s:s}", "Token", token));
    return c;
}

json_t *sfn_payload_text(const json_t *v)
{
    char *s = sfn_dumps(v);
    json_t *j = json_string(s);
    free(s);
    return j;
}

int64_t sfn_emit(sfn_x_t *x, json_t *t, const char *type, const char *dkey, json_t *details)
{
    if (t && json_is_true(json_object_get(t, "silent"))) {
        json_decref(details); /* a distributed Map's child execution: own history */
        return 0;
    }
    int64_t id = sfn_geti(x->st, "next_event");
    sfn_seti(x->st, "next_event", id + 1);
    if (x->quiet) {
        json_decref(details);
        if (t)
            sfn_seti(t, "prev", id);
        return id;
    }
    json_t *ev = json_object();
    sfn_seti(ev, "id", id);
    sfn_seti(ev, "previousEventId", t ? sfn_geti(t, "prev") : 0);
    sfn_sets(ev, "type", type);
    sfn_seti(ev, "timestamp", sfn_now(x));
    if (dkey && details)
        json_object_set_new(ev, dkey, details);
    else
        json_decref(details);
    json_array_append_new(x->history, ev);
    if (t)
        sfn_seti(t, "prev", id);
    return id;
}

/* ---- threads ---- */
json_t *sfn_thread_get(const sfn_x_t *x, int64_t id)
{
    char key[24];
    snprintf(key, sizeof key, "%lld", (long long)id);
    return json_object_get(json_object_get(x->st, "threads"), key);
}

json_t *sfn_thread_new(sfn_x_t *x, int64_t parent, int64_t index, json_t *scope, json_t *input)
{
    int64_t id = sfn_geti(x->st, "next_thread");
    sfn_seti(x->st, "next_thread", id + 1);
    json_t *t = json_object();
    sfn_seti(t, "id", id);
    sfn_seti(t, "parent", parent);
    sfn_seti(t, "index", index);
    json_object_set_new(t, "scope", scope);
    const json_t *sc = sfn_scope_def(x, scope);
    sfn_sets(t, "state", sfn_gets(sc, "StartAt"));
    json_object_set_new(t, "input", input);
    sfn_sets(t, "phase", "enter");
    json_t *pt = parent >= 0 ? sfn_thread_get(x, parent) : NULL;
    sfn_seti(t, "prev", pt ? sfn_geti(pt, "prev") : 0);
    if (pt && json_object_get(pt, "vars")) /* inner scopes see, but do not change, outer variables */
        json_object_set_new(t, "vars", json_deep_copy(json_object_get(pt, "vars")));
    if (pt && (json_is_true(json_object_get(pt, "silent")) || json_is_true(json_object_get(pt, "distributed"))))
        json_object_set_new(t, "silent", json_true());
    char key[24];
    snprintf(key, sizeof key, "%lld", (long long)id);
    json_object_set_new(json_object_get(x->st, "threads"), key, t);
    return t;
}

void sfn_thread_drop(sfn_x_t *x, int64_t id)
{
    json_t *threads = json_object_get(x->st, "threads");
    const char *k;
    json_t *t, *tmp;
    json_object_foreach_safe(threads, tmp, k, t)
    {
        if (sfn_geti(t, "parent") == id && sfn_geti(t, "id") != id)
            sfn_thread_drop(x, sfn_geti(t, "id"));
    }
    char key[24];
    snprintf(key, sizeof key, "%lld", (long long)id);
    json_object_del(threads, key);
}

static void reset_state_fields(json_t *t)
{
    static const char *keys[] = {"attempt", "retries", "eff", "req", "kids", "out", "result",
                                 "fault_error", "fault_cause", "entered", "entered_time", "assigned", "token", "submitted", "reader_result"};
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
        json_object_del(t, keys[i]);
}

/* ---- requests ---- */
static int64_t next_req(sfn_x_t *x)
{
    int64_t id = sfn_geti(x->st, "next_req") + 1;
    sfn_seti(x->st, "next_req", id);
    json_array_append_new(x->issued, json_integer(id));
    return id;
}

int64_t sfn_request_task(sfn_x_t *x, json_t *t, const char *resource, const json_t *input)
{
    const json_t *st = sfn_state_def(x, t);
    json_t *r = json_object();
    int64_t id = next_req(x);
    sfn_seti(r, "id", id);
    sfn_seti(r, "kind", SY_ASL_REQ_TASK);
    sfn_sets(r, "resource", resource);
    json_object_set(r, "input", (json_t *)input);
    sfn_seti(r, "attempt", sfn_geti(t, "attempt"));
    sfn_seti(r, "timeout", sfn_geti(t, "timeout_s"));
    sfn_seti(r, "heartbeat", sfn_geti(t, "heartbeat_s"));
    sfn_seti(r, "pattern", sfn_task_pattern(resource));
    if (sfn_gets(t, "token"))
        sfn_sets(r, "token", sfn_gets(t, "token"));
    (void)st;
    json_object_set_new(t, "req", r);
    return id;
}

int64_t sfn_request_timer(sfn_x_t *x, json_t *t, int64_t wake_at_ms)
{
    json_t *r = json_object();
    int64_t id = next_req(x);
    sfn_seti(r, "id", id);
    sfn_seti(r, "kind", SY_ASL_REQ_TIMER);
    sfn_seti(r, "wake_at", wake_at_ms);
    json_object_set_new(t, "req", r);
    return id;
}

static void req_fill(sy_asl_req_t *q, const json_t *t)
{
    const json_t *r = json_object_get(t, "req");
    memset(q, 0, sizeof *q);
    q->id = sfn_geti(r, "id");
    q->kind = (sy_asl_req_kind_t)sfn_geti(r, "kind");
    q->state_name = sfn_gets(t, "state");
    q->resource = sfn_gets(r, "resource");
    q->input = json_object_get(r, "input");
    q->attempt = (int)sfn_geti(r, "attempt");
    q->timeout_s = sfn_geti(r, "timeout");
    q->heartbeat_s = sfn_geti(r, "heartbeat");
    q->wake_at_ms = sfn_geti(r, "wake_at");
    q->pattern = (sy_asl_pattern_t)sfn_geti(r, "pattern");
    q->task_token = sfn_gets(r, "token");
}

sy_asl_pattern_t sfn_task_pattern(const char *resource)
{
    size_t n = resource ? strlen(resource) : 0;
    if (n > 17 && !strcmp(resource + n - 17, ".waitForTaskToken"))
        return SY_ASL_PATTERN_WAIT_FOR_TOKEN;
    const char *sync = resource ? strstr(resource, ".sync") : NULL;
    if (sync && (!sync[5] || sync[5] == ':'))
        return SY_ASL_PATTERN_SYNC;
    return SY_ASL_PATTERN_REQUEST_RESPONSE;
}

void sfn_reqs_rebuild(sfn_x_t *x, bool only_issued)
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
            json_array_foreach(x->issued, i, id) if (json_integer_value(id) == sfn_geti(r, "id")) found = true;
            if (!found)
                continue;
        }
        if (x->nreqs == x->capreqs) {
            x->capreqs = x->capreqs ? x->capreqs * 2 : 8;
            sy_asl_req_t *n = sfn_xmalloc(sizeof(sy_asl_req_t) * x->capreqs);
            if (x->reqs)
                memcpy(n, x->reqs, sizeof(sy_asl_req_t) * x->nreqs);
            free(x->reqs);
            x->reqs = n;
        }
        req_fill(&x->reqs[x->nreqs++], t);
    }
}

json_t *sfn_thread_by_req(const sfn_x_t *x, int64_t req_id)
{
    const char *k;
    json_t *t;
    json_object_foreach(json_object_get(x->st, "threads"), k, t)
    {
        json_t *r = json_object_get(t, "req");
        if (r && sfn_geti(r, "id") == req_id)
            return t;
    }
    return NULL;
}

/* ---- finishing ---- */
static void set_status(sfn_x_t *x, sy_asl_status_t s)
{
    sfn_seti(x->st, "status", s);
    if (s != SY_ASL_RUNNING)
        json_object_set_new(x->st, "threads", json_object());
}

static void thread_end(sfn_x_t *x, json_t *t)
{
    int64_t pid = sfn_geti(t, "parent");
    if (pid < 0)
        return;
    json_t *p = sfn_thread_get(x, pid);
    json_incref(t);
    sfn_thread_drop(x, sfn_geti(t, "id"));
    if (p)
        sfn_child_done(x, p, t);
    json_decref(t);
}

static void emit_error_event(sfn_x_t *x, json_t *t, const char *type, const char *dkey,
                             const char *error, const char *cause)
{
    json_t *d = json_object();
    if (error)
        json_object_set_new(d, "error", json_string(error));
    if (cause)
        json_object_set_new(d, "cause", json_string(cause));
    sfn_emit(x, t, type, dkey, d);
}

void sfn_thread_fail(sfn_x_t *x, json_t *t, const char *error, const char *cause)
{
    sfn_sets(t, "phase", "finished");
    sfn_sets(t, "status", "failed");
    json_object_del(t, "req");
    sfn_sets(t, "error", error);
    sfn_sets(t, "cause", cause);
    if (sfn_geti(t, "parent") < 0) {
        emit_error_event(x, t, "ExecutionFailed", "executionFailedEventDetails", error, cause);
        sfn_sets(x->st, "error", error);
        sfn_sets(x->st, "cause", cause);
        set_status(x, SY_ASL_FAILED);
        return;
    }
    thread_end(x, t);
}

static void thread_succeed(sfn_x_t *x, json_t *t, json_t *output)
{
    sfn_sets(t, "phase", "finished");
    sfn_sets(t, "status", "ok");
    json_object_set_new(t, "output", output);
    if (sfn_geti(t, "parent") < 0) {
        json_t *d = json_object();
        json_object_set_new(d, "output", sfn_payload_text(output));
        json_object_set_new(d, "outputDetails", json_pack("{s:b}", "truncated", 0));
        sfn_emit(x, t, "ExecutionSucceeded", "executionSucceededEventDetails", d);
        json_object_set(x->st, "output", output);
        set_status(x, SY_ASL_SUCCEEDED);
        return;
    }
    thread_end(x, t);
}

static char *runtime_cause(const sfn_x_t *x, const json_t *t, const char *detail)
{
    (void)x;
    return sfn_printf("An error occurred while executing the state '%s' (entered at the event id #%lld). %s",
                      sfn_gets(t, "state"), (long long)sfn_geti(t, "entered"), detail ? detail : "");
}

void sfn_state_fault(sfn_x_t *x, json_t *t, const sfn_fault_t *f)
{
    if (!strcmp(f->error, "States.Runtime") || !strcmp(f->error, "States.IntrinsicFailure")) {
        char *c = runtime_cause(x, t, f->cause);
        sfn_thread_fail(x, t, f->error, c);
        free(c);
        return;
    }
    sfn_thread_fail(x, t, f->error, f->cause);
}

static bool too_big(const json_t *v)
{
    return sfn_dump_len(v) > SFN_MAX_PAYLOAD;
}

int sfn_assign(sfn_x_t *x, json_t *t, const json_t *assign, const json_t *doc, const json_t *ctx, sfn_fault_t *f)
{
    (void)x;
    if (!assign)
        return 0;
    json_t *vals = NULL;
    if (sfn_payload_eval(assign, doc, ctx, &vals, f) != 0)
        return -1;
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
        json_object_set_new(shown, k, sfn_payload_text(v));
    }
    json_object_set_new(details, "assignedVariables", shown);
    json_object_set_new(details, "assignedVariablesDetails", json_pack("{s:b}", "truncated", 0));
    json_object_del(t, "assigned");
}

void sfn_state_done_next(sfn_x_t *x, json_t *t, json_t *output, const char *next)
{
    const json_t *st = sfn_state_def(x, t);
    const char *type = sfn_gets(st, "Type");
    if (too_big(output)) {
        json_decref(output);
        char *c = sfn_printf("The state/task '%s' returned a result with a size exceeding the maximum "
                             "number of bytes service limit.", sfn_gets(t, "state"));
        sfn_thread_fail(x, t, "States.DataLimitExceeded", c);
        free(c);
        return;
    }
    char evt[64];
    snprintf(evt, sizeof evt, "%sStateExited", sfn_state_event_prefix(type));
    json_t *d = json_object();
    if (!x->quiet) {
        json_object_set_new(d, "name", json_string(sfn_gets(t, "state")));
        json_object_set_new(d, "output", sfn_payload_text(output));
        json_object_set_new(d, "outputDetails", json_pack("{s:b}", "truncated", 0));
    }
    apply_assigned(t, d);
    sfn_emit(x, t, evt, "stateExitedEventDetails", d);
    if (!next && (json_is_true(json_object_get(st, "End")) || !strcmp(type, "Succeed"))) {
        thread_succeed(x, t, output);
        return;
    }
    if (!next)
        next = sfn_gets(st, "Next");
    reset_state_fields(t);
    char *n = sfn_xstrdup(next);
    sfn_sets(t, "state", n);
    free(n);
    json_object_set_new(t, "input", output);
    sfn_sets(t, "phase", "enter");
}

void sfn_state_done(sfn_x_t *x, json_t *t, json_t *output)
{
    sfn_state_done_next(x, t, output, NULL);
}

bool sfn_error_matches(const json_t *error_equals, const char *error)
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
bool sfn_try_retry(sfn_x_t *x, json_t *t, const json_t *st, const char *error)
{
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(st, "Retry"), i, r)
    {
        if (!sfn_error_matches(json_object_get(r, "ErrorEquals"), error))
            continue;
        json_t *counts = json_object_get(t, "retries");
        if (!counts) {
            counts = json_object();
            json_object_set_new(t, "retries", counts);
        }
        char key[24];
        snprintf(key, sizeof key, "%zu", i);
        int64_t n = sfn_geti(counts, key);
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
        if (!strcmp(sfn_gets(r, "JitterStrategy") ? sfn_gets(r, "JitterStrategy") : "", "FULL"))
            delay = delay * ((double)rand() / RAND_MAX);
        sfn_seti(counts, key, n + 1);
        sfn_seti(t, "attempt", sfn_geti(t, "attempt") + 1);
        sfn_request_timer(x, t, sfn_now(x) + (int64_t)(delay * 1000.0));
        sfn_sets(t, "phase", "retry_wait");
        return true;
    }
    return false;
}

void sfn_state_error(sfn_x_t *x, json_t *t, const char *error, const char *cause)
{
    const json_t *st = sfn_state_def(x, t);
    json_object_del(t, "req");
    if (sfn_try_retry(x, t, st, error))
        return;
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(st, "Catch"), i, c)
    {
        if (!sfn_error_matches(json_object_get(c, "ErrorEquals"), error))
            continue;
        json_t *eo = json_object();
        json_object_set_new(eo, "Error", json_string(error));
        /* A task error without a cause (a timeout) is caught with "Cause": "". */
        const char *type = sfn_gets(st, "Type");
        if (cause || (type && !strcmp(type, "Task")))
            json_object_set_new(eo, "Cause", json_string(cause ? cause : ""));
        json_t *out = NULL;
        sfn_fault_t f = {0};
        json_object_del(t, "assigned");
        json_t *ctx = sfn_ctx(x, t);
        int arc = sfn_assign(x, t, json_object_get(c, "Assign"), eo, ctx, &f);
        json_decref(ctx);
        if (arc != 0) {
            json_decref(eo);
            sfn_state_fault(x, t, &f);
            sfn_fault_clear(&f);
            return;
        }
        if (sfn_result_path(c, json_object_get(t, "input"), eo, &out, &f) != 0) {
            sfn_state_fault(x, t, &f);
            sfn_fault_clear(&f);
            return;
        }
        sfn_state_done_next(x, t, out, sfn_gets(c, "Next"));
        return;
    }
    sfn_thread_fail(x, t, error, cause);
}

/* Assign, ResultPath, OutputPath, then the state is done (or faults).
 * Takes result and ctx. */
void sfn_finish_output(sfn_x_t *x, json_t *t, const json_t *st, json_t *result, json_t *ctx)
{
    json_t *doc = NULL, *out = NULL;
    sfn_fault_t f = {0};
    if (sfn_assign(x, t, json_object_get(st, "Assign"), result, ctx, &f) != 0)
        goto fault;
    if (sfn_result_path(st, json_object_get(t, "input"), result, &doc, &f) != 0) {
        result = NULL;
        goto fault;
    }
    result = NULL;
    if (sfn_path_select(st, "OutputPath", doc, ctx, &out, &f) != 0)
        goto fault;
    json_decref(doc);
    json_decref(ctx);
    sfn_state_done(x, t, out);
    return;
fault:
    json_decref(result);
    json_decref(doc);
    json_decref(ctx);
    sfn_state_fault(x, t, &f);
    sfn_fault_clear(&f);
}

void sfn_finish_result(sfn_x_t *x, json_t *t, json_t *result)
{
    const json_t *st = sfn_state_def(x, t);
    json_t *ctx = sfn_ctx(x, t), *sel = NULL;
    json_t *rs = json_object_get(st, "ResultSelector");
    if (rs) {
        sfn_fault_t f = {0};
        if (sfn_payload_eval(rs, result, ctx, &sel, &f) != 0) {
            json_decref(result);
            json_decref(ctx);
            sfn_state_fault(x, t, &f);
            sfn_fault_clear(&f);
            return;
        }
        json_decref(result);
        result = sel;
    }
    sfn_finish_output(x, t, st, result, ctx);
}

void sfn_child_done(sfn_x_t *x, json_t *parent, json_t *child)
{
    const char *type = sfn_gets(sfn_state_def(x, parent), "Type");
    if (!strcmp(type, "Map"))
        sfn_map_child_done(x, parent, child);
    else
        sfn_parallel_child_done(x, parent, child);
}
