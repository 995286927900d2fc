/* asl/ql_states.c - states in JSONata mode: Assign and Output (evaluated
 * side by side from the variables as the state was entered), Pass, Wait,
 * Choice (Condition), Succeed, Fail, and a catcher's Output / Assign with
 * $states.errorOutput. Task, Parallel and Map use the helpers from their own
 * files (state_task.c, state_parallel.c, state_map.c). */
#include "asl/internal.h"

#include <stdlib.h>
#include <string.h>

/* Assign (kept on the thread until the state exits), then Output; dflt
 * (stolen) is the output when there is no Output field. */
static int assign_output(asl_x_t *x, json_t *t, const json_t *holder, const json_t *bind, json_t *dflt,
                         json_t **out, asl_fault_t *f)
{
    *out = NULL;
    json_object_del(t, "assigned");
    const json_t *a = json_object_get(holder, "Assign");
    if (a) {
        json_t *vals = NULL;
        if (asl_jx_eval(x, a, bind, "Assign", &vals, f) != 0 || asl_vars_check(t, vals, f) != 0) {
            json_decref(vals);
            json_decref(dflt);
            return -1;
        }
        json_object_set_new(t, "assigned", vals);
    }
    const json_t *o = json_object_get(holder, "Output");
    if (!o) {
        *out = dflt;
        return 0;
    }
    json_decref(dflt);
    if (asl_jx_eval(x, o, bind, "Output", out, f) != 0) {
        json_object_del(t, "assigned");
        return -1;
    }
    return 0;
}

static void fault(asl_x_t *x, json_t *t, json_t *bind, asl_fault_t *f)
{
    json_decref(bind);
    asl_state_fault(x, t, f);
    asl_fault_clear(f);
}

void asl_jx_finish(asl_x_t *x, json_t *t, const json_t *st, const json_t *result, json_t *dflt)
{
    json_t *bind = asl_jx_bind(x, t, json_object_get(t, "input"), result, NULL, NULL), *out = NULL;
    asl_fault_t f = {0};
    if (assign_output(x, t, st, bind, dflt, &out, &f) != 0) {
        fault(x, t, bind, &f);
        return;
    }
    json_decref(bind);
    asl_state_done(x, t, out);
}

void asl_jx_catch(asl_x_t *x, json_t *t, const json_t *c, json_t *eo)
{
    json_t *bind = asl_jx_bind(x, t, json_object_get(t, "input"), NULL, eo, NULL), *out = NULL;
    asl_fault_t f = {0};
    if (assign_output(x, t, c, bind, eo, &out, &f) != 0) {
        json_decref(bind);
        asl_state_fault_final(x, t, &f);
        asl_fault_clear(&f);
        return;
    }
    json_decref(bind);
    asl_state_done_next(x, t, out, asl_gets(c, "Next"));
}

void asl_jx_run_pass(asl_x_t *x, json_t *t)
{
    const json_t *st = asl_state_def(x, t), *in = json_object_get(t, "input");
    json_t *bind = asl_jx_bind(x, t, in, NULL, NULL, NULL), *out = NULL;
    asl_fault_t f = {0};
    const json_t *res = json_object_get(st, "Result");
    if (assign_output(x, t, st, bind, json_deep_copy(res ? res : in), &out, &f) != 0) {
        fault(x, t, bind, &f);
        return;
    }
    json_decref(bind);
    asl_state_done(x, t, out);
}

void asl_jx_run_wait(asl_x_t *x, json_t *t)
{
    const json_t *st = asl_state_def(x, t), *in = json_object_get(t, "input");
    json_t *bind = asl_jx_bind(x, t, in, NULL, NULL, NULL), *out = NULL;
    asl_fault_t f = {0};
    int64_t now = asl_now(x), at = now;
    const json_t *ts = json_object_get(st, "Timestamp");
    if (ts) {
        json_t *v = NULL;
        if (asl_jx_eval(x, ts, bind, "Timestamp", &v, &f) != 0) {
            fault(x, t, bind, &f);
            return;
        }
        int64_t ms;
        if (!json_is_string(v) || !asl_parse_timestamp(json_string_value(v), &ms)) {
            char *txt = json_is_string(v) ? sy_strdup(json_string_value(v)) : asl_dumps(v);
            asl_fault_set(&f, "States.QueryEvaluationError",
                          "The Timestamp field cannot be parsed as an ISO-8601 extended offset date-time format "
                          "string: %s", txt);
            f.location = sy_strdup("Timestamp");
            free(txt);
            json_decref(v);
            fault(x, t, bind, &f);
            return;
        }
        json_decref(v);
        at = ms;
    } else {
        double secs = 0;
        bool given;
        if (asl_jx_int_field(x, t, st, "Seconds", bind, 0, 99999999, false, &secs, &given, &f) != 0) {
            fault(x, t, bind, &f);
            return;
        }
        at = now + (int64_t)secs * 1000;
    }
    if (assign_output(x, t, st, bind, json_deep_copy(in), &out, &f) != 0) {
        fault(x, t, bind, &f);
        return;
    }
    json_decref(bind);
    json_object_set_new(t, "out", out);
    if (at <= now) {
        asl_sets(t, "phase", "timer_done");
        return;
    }
    asl_request_timer(x, t, at);
    asl_sets(t, "phase", "wait_timer");
}

void asl_jx_run_choice(asl_x_t *x, json_t *t)
{
    const json_t *st = asl_state_def(x, t), *in = json_object_get(t, "input");
    json_t *bind = asl_jx_bind(x, t, in, NULL, NULL, NULL), *out = NULL;
    asl_fault_t f = {0};
    const char *next = NULL;
    const json_t *holder = st;
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(st, "Choices"), i, r)
    {
        const json_t *cond = json_object_get(r, "Condition");
        json_t *v = NULL;
        if (!cond)
            continue;
        if (asl_jx_eval(x, cond, bind, "Condition", &v, &f) != 0) {
            fault(x, t, bind, &f);
            return;
        }
        if (!json_is_boolean(v)) {
            asl_jx_type_fault(&f, cond, "Condition", "boolean", v);
            json_decref(v);
            fault(x, t, bind, &f);
            return;
        }
        bool hit = json_is_true(v);
        json_decref(v);
        if (hit) {
            next = asl_gets(r, "Next");
            holder = r;
            break;
        }
    }
    if (!next)
        next = asl_gets(st, "Default");
    if (!next) {
        json_decref(bind);
        asl_thread_fail(x, t, "States.NoChoiceMatched", "No Matches!");
        return;
    }
    if (assign_output(x, t, holder, bind, json_deep_copy(in), &out, &f) != 0) {
        fault(x, t, bind, &f);
        return;
    }
    json_decref(bind);
    asl_state_done_next(x, t, out, next);
}

void asl_jx_run_succeed(asl_x_t *x, json_t *t)
{
    const json_t *st = asl_state_def(x, t), *in = json_object_get(t, "input");
    json_t *bind = asl_jx_bind(x, t, in, NULL, NULL, NULL), *out = NULL;
    asl_fault_t f = {0};
    if (assign_output(x, t, st, bind, json_deep_copy(in), &out, &f) != 0) {
        fault(x, t, bind, &f);
        return;
    }
    json_decref(bind);
    asl_state_done(x, t, out);
}

static int fail_text(asl_x_t *x, const json_t *st, const char *field, const json_t *bind, char **out,
                     asl_fault_t *f)
{
    *out = NULL;
    const json_t *node = json_object_get(st, field);
    if (!node)
        return 0;
    json_t *v = NULL;
    if (asl_jx_eval(x, node, bind, field, &v, f) != 0)
        return -1;
    if (!json_is_string(v)) {
        asl_jx_type_fault(f, node, field, "string", v);
        json_decref(v);
        return -1;
    }
    *out = sy_strdup(json_string_value(v));
    json_decref(v);
    return 0;
}

void asl_jx_run_fail(asl_x_t *x, json_t *t)
{
    const json_t *st = asl_state_def(x, t);
    json_t *bind = asl_jx_bind(x, t, json_object_get(t, "input"), NULL, NULL, NULL);
    char *err = NULL, *cause = NULL;
    asl_fault_t f = {0};
    if (fail_text(x, st, "Error", bind, &err, &f) != 0 || fail_text(x, st, "Cause", bind, &cause, &f) != 0) {
        free(err);
        fault(x, t, bind, &f);
        return;
    }
    json_decref(bind);
    asl_thread_fail(x, t, err, cause);
    free(err);
    free(cause);
}
