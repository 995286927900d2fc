/* asl/execution.c - the public execution API: create, step, resume, redrive, checkpoint. */
#include "asl/internal.h"

#include <stdlib.h>
#include <string.h>

const char *asl_state_event_prefix(const char *type)
{
    return type ? type : "";
}

static json_t *default_ctx(const json_t *given, const json_t *input, int64_t now)
{
    json_t *c = given ? json_deep_copy(given) : json_object();
    json_t *e = json_object_get(c, "Execution");
    if (!json_is_object(e)) {
        e = json_object();
        json_object_set_new(c, "Execution", e);
    }
    char ts[40];
    sy_iso8601_ms(now, ts);
    if (!json_object_get(e, "Id"))
        json_object_set_new(e, "Id", json_string("arn:aws:states:us-east-1:000000000000:execution:sm:exec"));
    if (!json_object_get(e, "Name"))
        json_object_set_new(e, "Name", json_string("exec"));
    if (!json_object_get(e, "RoleArn"))
        json_object_set_new(e, "RoleArn", json_string("arn:aws:iam::000000000000:role/switchyard"));
    if (!json_object_get(e, "StartTime"))
        json_object_set_new(e, "StartTime", json_string(ts));
    if (!json_object_get(e, "RedriveCount"))
        json_object_set_new(e, "RedriveCount", json_integer(0));
    else if (json_is_null(json_object_get(e, "RedriveCount")))
        json_object_del(e, "RedriveCount"); /* EXPRESS executions have none */
    json_object_set_new(e, "Input", json_deep_copy(input));
    json_t *sm = json_object_get(c, "StateMachine");
    if (!json_is_object(sm)) {
        sm = json_object();
        json_object_set_new(c, "StateMachine", sm);
    }
    if (!json_object_get(sm, "Id"))
        json_object_set_new(sm, "Id", json_string("arn:aws:states:us-east-1:000000000000:stateMachine:sm"));
    if (!json_object_get(sm, "Name"))
        json_object_set_new(sm, "Name", json_string("sm"));
    return c;
}

static asl_x_t *exec_alloc(const sy_asl_def_t *def)
{
    asl_x_t *x = sy_malloc(sizeof *x);
    memset(x, 0, sizeof *x);
    x->def = def;
    x->history = json_array();
    x->issued = json_array();
    return x;
}

sy_asl_exec_t *sy_asl_exec_new(const sy_asl_def_t *def, const json_t *input, const json_t *context,
                               int64_t now_ms)
{
    if (!def || !input)
        return NULL;
    asl_x_t *x = exec_alloc(def);
    x->st = json_object();
    asl_seti(x->st, "status", SY_ASL_RUNNING);
    asl_seti(x->st, "now", now_ms);
    asl_seti(x->st, "next_event", 1);
    asl_seti(x->st, "next_thread", 0);
    asl_seti(x->st, "next_req", 0);
    json_object_set_new(x->st, "threads", json_object());
    json_object_set_new(x->st, "ctx", default_ctx(context, input, now_ms));
    json_t *d = json_object();
    json_object_set_new(d, "input", asl_payload_text(input));
    json_object_set_new(d, "inputDetails", json_pack("{s:b}", "truncated", 0));
    json_object_set(d, "roleArn", json_object_get(json_object_get(json_object_get(x->st, "ctx"), "Execution"), "RoleArn"));
    asl_emit(x, NULL, "ExecutionStarted", "executionStartedEventDetails", d);
    asl_thread_new(x, -1, 0, json_array(), json_deep_copy(input));
    return x;
}

void sy_asl_exec_destroy(sy_asl_exec_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    asl_x_t *x = *self_p;
    json_decref(x->st);
    json_decref(x->history);
    json_decref(x->issued);
    free(x->reqs);
    free(x);
    *self_p = NULL;
}

void sy_asl_exec_set_variables(sy_asl_exec_t *x, const json_t *vars)
{
    json_t *t = asl_thread_get(x, 0);
    if (t && json_is_object(vars))
        json_object_set_new(t, "vars", json_deep_copy(vars));
}

void sy_asl_exec_set_now(sy_asl_exec_t *x, int64_t now_ms)
{
    asl_seti(x->st, "now", now_ms);
}

static void enter(asl_x_t *x, json_t *t)
{
    const json_t *st = asl_state_def(x, t);
    char evt[64];
    snprintf(evt, sizeof evt, "%sStateEntered", asl_state_event_prefix(asl_gets(st, "Type")));
    json_t *d = NULL;
    if (!x->quiet) {
        d = json_object();
        json_object_set_new(d, "name", json_string(asl_gets(t, "state")));
        json_object_set_new(d, "input", asl_payload_text(json_object_get(t, "input")));
        json_object_set_new(d, "inputDetails", json_pack("{s:b}", "truncated", 0));
    }
    asl_seti(t, "entered_prev", asl_geti(t, "prev"));
    int64_t id = asl_emit(x, t, evt, "stateEnteredEventDetails", d);
    asl_seti(t, "entered", id);
    char ts[40];
    sy_iso8601_ms(asl_now(x), ts);
    asl_sets(t, "entered_time", ts);
    asl_seti(t, "attempt", 0);
    asl_sets(t, "phase", "run");
}

static void run(asl_x_t *x, json_t *t)
{
    const char *type = asl_gets(asl_state_def(x, t), "Type");
    static const struct {
        const char *type;
        void (*fn)(asl_x_t *, json_t *);
    } tab[] = {{"Pass", asl_run_pass},       {"Wait", asl_run_wait},         {"Choice", asl_run_choice},
               {"Succeed", asl_run_succeed}, {"Fail", asl_run_fail},         {"Task", asl_run_task},
               {"Parallel", asl_run_parallel}, {"Map", asl_run_map}};
    for (size_t i = 0; i < sizeof tab / sizeof *tab; i++)
        if (type && !strcmp(type, tab[i].type)) {
            tab[i].fn(x, t);
            return;
        }
    asl_thread_fail(x, t, "States.Runtime", "unknown state type");
}

/* One transition of one thread. Returns false when the thread is blocked. */
static bool advance(asl_x_t *x, json_t *t)
{
    const char *ph = asl_gets(t, "phase");
    if (!ph)
        return false;
    if (!strcmp(ph, "enter"))
        enter(x, t);
    else if (!strcmp(ph, "run"))
        run(x, t);
    else if (!strcmp(ph, "task_done"))
        asl_task_result(x, t);
    else if (!strcmp(ph, "reader_done")) {
        asl_sets(t, "phase", "run");
        if (asl_gets(t, "fault_error")) {
            char *err = sy_strdup(asl_gets(t, "fault_error")), *cause = sy_strdup(asl_gets(t, "fault_cause"));
            json_object_del(t, "fault_error");
            json_object_del(t, "fault_cause");
            asl_state_error(x, t, err, cause);
            free(err);
            free(cause);
        }
    }
    else if (!strcmp(ph, "timer_done")) {
        json_t *out = json_incref(json_object_get(t, "out"));
        asl_state_done(x, t, out);
    } else
        return false;
    return true;
}

/* AWS's quota: a STANDARD execution's history holds at most 25,000 events;
 * one that needs more fails. */
static void history_full(asl_x_t *x)
{
    const char *k;
    json_t *t;
    json_object_foreach(json_object_get(x->st, "threads"), k, t) {
        if (asl_geti(t, "parent") < 0) {
            asl_thread_fail(x, t, "States.Runtime",
                            "The execution reached the maximum number of history events (25000).");
            return;
        }
    }
}

sy_asl_status_t sy_asl_exec_step(sy_asl_exec_t *x, const sy_asl_req_t **reqs, size_t *n)
{
    json_array_clear(x->issued);
    bool progress = true;
    while (progress && asl_geti(x->st, "status") == SY_ASL_RUNNING) {
        progress = false;
        json_t *ids = json_array();
        const char *k;
        json_t *t;
        json_object_foreach(json_object_get(x->st, "threads"), k, t)
            json_array_append_new(ids, json_integer(asl_geti(t, "id")));
        size_t i;
        json_t *id;
        json_array_foreach(ids, i, id)
        {
            if (asl_geti(x->st, "status") != SY_ASL_RUNNING)
                break;
            json_t *th = asl_thread_get(x, json_integer_value(id));
            if (th && advance(x, th))
                progress = true;
        }
        json_decref(ids);
        if (!x->quiet && asl_geti(x->st, "status") == SY_ASL_RUNNING &&
            asl_geti(x->st, "next_event") > SY_ASL_HISTORY_MAX + 1)
            history_full(x);
    }
    asl_reqs_rebuild(x, true);
    if (reqs)
        *reqs = x->reqs;
    if (n)
        *n = x->nreqs;
    return (sy_asl_status_t)asl_geti(x->st, "status");
}

void sy_asl_exec_pending(const sy_asl_exec_t *cx, const sy_asl_req_t **reqs, size_t *n)
{
    asl_x_t *x = (asl_x_t *)cx;
    asl_reqs_rebuild(x, false);
    *reqs = x->reqs;
    *n = x->nreqs;
}

int sy_asl_exec_resume_task(sy_asl_exec_t *x, int64_t req_id, const json_t *result, const char *error,
                            const char *cause)
{
    json_t *t = asl_thread_by_req(x, req_id);
    if (t && !strcmp(asl_gets(t, "phase"), "wait_reader")) { /* a Map's ItemReader */
        json_object_del(t, "req");
        if (error) {
            asl_sets(t, "fault_error", "States.ItemReaderFailed");
            asl_sets(t, "fault_cause", cause ? cause : error);
        } else {
            json_object_set_new(t, "reader_result", result ? json_deep_copy(result) : json_null());
        }
        asl_sets(t, "phase", "reader_done");
        return 0;
    }
    if (!t || strcmp(asl_gets(t, "phase"), "wait_task") != 0)
        return -1;
    if (error) {
        asl_sets(t, "fault_error", error);
        asl_sets(t, "fault_cause", cause);
    } else {
        json_object_set_new(t, "result", result ? json_deep_copy(result) : json_null());
    }
    asl_sets(t, "phase", "task_done");
    return 0;
}

int sy_asl_exec_resume_timer(sy_asl_exec_t *x, int64_t req_id)
{
    json_t *t = asl_thread_by_req(x, req_id);
    if (!t)
        return -1;
    const char *ph = asl_gets(t, "phase");
    json_object_del(t, "req");
    if (!strcmp(ph, "wait_timer"))
        asl_sets(t, "phase", "timer_done");
    else if (!strcmp(ph, "retry_wait"))
        asl_sets(t, "phase", "run");
    else
        return -1;
    return 0;
}

int sy_asl_exec_task_submitted(sy_asl_exec_t *x, int64_t req_id, const json_t *output)
{
    json_t *t = asl_thread_by_req(x, req_id);
    json_t *r = json_object_get(t, "req");
    if (!t || strcmp(asl_gets(t, "phase"), "wait_task") != 0 ||
        asl_geti(r, "pattern") != SY_ASL_PATTERN_WAIT_FOR_TOKEN || json_is_true(json_object_get(t, "submitted")))
        return -1;
    json_t *d = asl_task_details(asl_gets(r, "resource"));
    json_object_set_new(d, "output", asl_payload_text(output ? output : json_null()));
    json_object_set_new(d, "outputDetails", json_pack("{s:b}", "truncated", 0));
    asl_emit(x, t, "TaskSubmitted", "taskSubmittedEventDetails", d);
    json_object_set_new(t, "submitted", json_true());
    return 0;
}

int64_t sy_asl_exec_token_request(const sy_asl_exec_t *x, const char *token)
{
    const char *k;
    json_t *t;
    if (!token)
        return -1;
    json_object_foreach(json_object_get(x->st, "threads"), k, t)
    {
        json_t *r = json_object_get(t, "req");
        const char *tok = asl_gets(r, "token");
        if (tok && !strcmp(tok, token) && !strcmp(asl_gets(t, "phase"), "wait_task"))
            return asl_geti(r, "id");
    }
    return -1;
}

static json_t *root_thread(const asl_x_t *x)
{
    return asl_thread_get(x, 0);
}

void sy_asl_exec_abort(sy_asl_exec_t *x, const char *error, const char *cause)
{
    if (asl_geti(x->st, "status") != SY_ASL_RUNNING)
        return;
    json_t *d = json_object();
    if (error)
        json_object_set_new(d, "error", json_string(error));
    if (cause)
        json_object_set_new(d, "cause", json_string(cause));
    asl_emit(x, root_thread(x), "ExecutionAborted", "executionAbortedEventDetails", d);
    asl_sets(x->st, "error", error);
    asl_sets(x->st, "cause", cause);
    asl_seti(x->st, "status", SY_ASL_ABORTED);
    json_object_set_new(x->st, "threads", json_object());
}

void sy_asl_exec_timeout(sy_asl_exec_t *x)
{
    if (asl_geti(x->st, "status") != SY_ASL_RUNNING)
        return;
    json_t *d = json_object();
    json_object_set_new(d, "error", json_string("States.Timeout"));
    asl_emit(x, root_thread(x), "ExecutionTimedOut", "executionTimedOutEventDetails", d);
    asl_sets(x->st, "error", "States.Timeout");
    asl_seti(x->st, "status", SY_ASL_TIMED_OUT);
    json_object_set_new(x->st, "threads", json_object());
}

const char *sy_asl_status_name(sy_asl_status_t s)
{
    switch (s) {
    case SY_ASL_RUNNING: return "RUNNING";
    case SY_ASL_SUCCEEDED: return "SUCCEEDED";
    case SY_ASL_FAILED: return "FAILED";
    case SY_ASL_TIMED_OUT: return "TIMED_OUT";
    case SY_ASL_ABORTED: return "ABORTED";
    }
    return "FAILED";
}

sy_asl_status_t sy_asl_exec_status(const sy_asl_exec_t *x)
{
    return (sy_asl_status_t)asl_geti(x->st, "status");
}

const json_t *sy_asl_exec_output(const sy_asl_exec_t *x)
{
    return json_object_get(x->st, "output");
}

const char *sy_asl_exec_error(const sy_asl_exec_t *x)
{
    return asl_gets(x->st, "error");
}

const char *sy_asl_exec_cause(const sy_asl_exec_t *x)
{
    return asl_gets(x->st, "cause");
}

const json_t *sy_asl_exec_history(const sy_asl_exec_t *x)
{
    return x->history;
}

void sy_asl_exec_history_clear(sy_asl_exec_t *x)
{
    json_array_clear(x->history);
}

void sy_asl_exec_set_history(sy_asl_exec_t *x, bool on)
{
    x->quiet = !on;
    if (!on) json_array_clear(x->history);
}

json_t *sy_asl_exec_save(const sy_asl_exec_t *x)
{
    json_t *s = json_deep_copy(x->st);
    json_object_set_new(s, "version", json_integer(1));
    return s;
}

sy_asl_exec_t *sy_asl_exec_load(const sy_asl_def_t *def, const json_t *saved)
{
    if (!def || !json_is_object(saved) || asl_geti(saved, "version") != 1 ||
        !json_is_object(json_object_get(saved, "threads")) || !json_is_object(json_object_get(saved, "ctx")))
        return NULL;
    asl_x_t *x = exec_alloc(def);
    x->st = json_deep_copy(saved);
    json_object_del(x->st, "version");
    const char *k;
    json_t *t;
    json_object_foreach(json_object_get(x->st, "threads"), k, t)
    {
        if (!asl_state_def(x, t)) {
            sy_asl_exec_destroy(&x);
            return NULL;
        }
    }
    return x;
}

sy_asl_exec_t *sy_asl_exec_redrive(const sy_asl_def_t *def, const json_t *saved, int64_t next_event_id,
                                   int redrive_count, int64_t now_ms)
{
    if (!def || !json_is_object(saved))
        return NULL;
    json_t *st = json_deep_copy(saved);
    asl_seti(st, "next_event", next_event_id);
    asl_seti(st, "status", SY_ASL_RUNNING);
    json_object_del(st, "error");
    json_object_del(st, "cause");
    json_t *ex = json_object_get(json_object_get(st, "ctx"), "Execution");
    if (ex)
        asl_seti(ex, "RedriveCount", redrive_count);
    asl_x_t *x = sy_asl_exec_load(def, st);
    json_decref(st);
    if (!x)
        return NULL;
    sy_asl_exec_set_now(x, now_ms);
    asl_emit(x, NULL, "ExecutionRedriven", "executionRedrivenEventDetails",
             json_pack("{s:i}", "redriveCount", redrive_count));
    return x;
}
