/* Pass, Wait, Choice, Succeed and Fail states. */
#include "asl/internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* InputPath, then Parameters when present. *eff is new. */
static int effective_input(asl_x_t *x, json_t *t, const json_t *st, const json_t *ctx, json_t **eff,
                           asl_fault_t *f)
{
    json_t *in = NULL;
    *eff = NULL;
    if (asl_path_select(st, "InputPath", json_object_get(t, "input"), ctx, &in, f) != 0)
        return -1;
    json_t *params = json_object_get(st, "Parameters");
    if (!params) {
        *eff = in;
        return 0;
    }
    int rc = asl_payload_eval(params, in, ctx, eff, f);
    json_decref(in);
    (void)x;
    return rc;
}

int asl_effective_input(asl_x_t *x, json_t *t, const json_t *st, const json_t *ctx, json_t **eff,
                        asl_fault_t *f)
{
    if (asl_jx_state(x, st))
        return asl_jx_arguments(x, t, st, json_object_get(st, "Arguments"), eff, f);
    return effective_input(x, t, st, ctx, eff, f);
}

void asl_run_pass(asl_x_t *x, json_t *t)
{
    if (asl_jx_state(x, asl_state_def(x, t))) {
        asl_jx_run_pass(x, t);
        return;
    }
    const json_t *st = asl_state_def(x, t);
    json_t *ctx = asl_ctx(x, t), *eff = NULL;
    asl_fault_t f = {0};
    if (effective_input(x, t, st, ctx, &eff, &f) != 0) {
        json_decref(eff);
        json_decref(ctx);
        asl_state_fault(x, t, &f);
        asl_fault_clear(&f);
        return;
    }
    json_t *result = json_object_get(st, "Result");
    if (result) {
        json_decref(eff);
        eff = json_deep_copy(result);
    }
    asl_finish_output(x, t, st, eff, ctx);
}

static char *plain(const json_t *v)
{
    return json_is_string(v) ? sy_strdup(json_string_value(v)) : asl_dumps(v);
}

/* The wake-up time of a Wait state, or -1 with f set. */
static int64_t wait_until(asl_x_t *x, const json_t *st, const json_t *in, const json_t *ctx, asl_fault_t *f)
{
    int64_t now = asl_now(x), ms;
    json_t *v;
    if ((v = json_object_get(st, "Seconds")))
        return now + (int64_t)json_number_value(v) * 1000;
    if ((v = json_object_get(st, "Timestamp"))) {
        if (!asl_parse_timestamp(json_string_value(v), &ms))
            ms = now;
        return ms;
    }
    const char *path = asl_gets(st, "SecondsPath");
    bool secs = path != NULL;
    if (!path)
        path = asl_gets(st, "TimestampPath");
    json_t *val = NULL;
    if (asl_value_eval(path, secs ? "SecondsPath" : "TimestampPath", in, ctx, &val, f) != 0)
        return -1;
    char *txt = plain(val);
    int64_t rc = -1;
    if (secs) {
        if (!asl_is_int(val))
            asl_fault_set(f, "States.Runtime",
                          "The SecondsPath parameter cannot be parsed as a long value: %s == %s", path, txt);
        else if (json_number_value(val) < 0)
            asl_fault_set(f, "States.Runtime",
                          "The SecondsPath parameter references a negative value: %s == %s", path, txt);
        else if (json_number_value(val) > 2147483647.0)
            asl_fault_set(f, "States.Runtime", "Wait state delay is too long.");
        else
            rc = now + (int64_t)json_number_value(val) * 1000;
    } else {
        if (!json_is_string(val) || !asl_parse_timestamp(json_string_value(val), &ms))
            asl_fault_set(f, "States.Runtime",
                          "The TimestampPath parameter does not reference a valid ISO-8601 extended "
                          "offset date-time format string: %s == %s", path, txt);
        else if ((ms - now) / 1000 > 2147483647LL)
            asl_fault_set(f, "States.Runtime", "Wait state delay is too long.");
        else
            rc = ms;
    }
    free(txt);
    json_decref(val);
    return rc;
}

void asl_run_wait(asl_x_t *x, json_t *t)
{
    if (asl_jx_state(x, asl_state_def(x, t))) {
        asl_jx_run_wait(x, t);
        return;
    }
    const json_t *st = asl_state_def(x, t);
    json_t *ctx = asl_ctx(x, t), *in = NULL, *out = NULL;
    asl_fault_t f = {0};
    if (asl_path_select(st, "InputPath", json_object_get(t, "input"), ctx, &in, &f) != 0)
        goto fault;
    int64_t at = wait_until(x, st, in, ctx, &f);
    if (at < 0 && f.error)
        goto fault;
    if (asl_assign(x, t, json_object_get(st, "Assign"), in, ctx, &f) != 0)
        goto fault;
    if (asl_path_select(st, "OutputPath", in, ctx, &out, &f) != 0)
        goto fault;
    json_decref(in);
    json_decref(ctx);
    json_object_set_new(t, "out", out);
    if (at <= asl_now(x)) {
        asl_sets(t, "phase", "timer_done");
        return;
    }
    asl_request_timer(x, t, at);
    asl_sets(t, "phase", "wait_timer");
    return;
fault:
    json_decref(in);
    json_decref(ctx);
    asl_state_fault(x, t, &f);
    asl_fault_clear(&f);
}

void asl_run_choice(asl_x_t *x, json_t *t)
{
    if (asl_jx_state(x, asl_state_def(x, t))) {
        asl_jx_run_choice(x, t);
        return;
    }
    const json_t *st = asl_state_def(x, t);
    json_t *ctx = asl_ctx(x, t), *in = NULL, *out = NULL;
    asl_fault_t f = {0};
    const char *next = NULL;
    const json_t *assign = NULL;
    if (asl_path_select(st, "InputPath", json_object_get(t, "input"), ctx, &in, &f) != 0)
        goto fault;
    if (asl_choice_eval(st, in, ctx, &next, &assign, &f) != 0)
        goto fault;
    if (!next) {
        json_decref(in);
        json_decref(ctx);
        asl_thread_fail(x, t, "States.NoChoiceMatched", "No Matches!");
        return;
    }
    if (asl_assign(x, t, assign, in, ctx, &f) != 0)
        goto fault;
    if (asl_path_select(st, "OutputPath", in, ctx, &out, &f) != 0)
        goto fault;
    json_decref(in);
    json_decref(ctx);
    asl_state_done_next(x, t, out, next);
    return;
fault:
    json_decref(in);
    json_decref(ctx);
    asl_state_fault(x, t, &f);
    asl_fault_clear(&f);
}

void asl_run_succeed(asl_x_t *x, json_t *t)
{
    if (asl_jx_state(x, asl_state_def(x, t))) {
        asl_jx_run_succeed(x, t);
        return;
    }
    const json_t *st = asl_state_def(x, t);
    json_t *ctx = asl_ctx(x, t), *in = NULL, *out = NULL;
    asl_fault_t f = {0};
    if (asl_path_select(st, "InputPath", json_object_get(t, "input"), ctx, &in, &f) != 0 ||
        asl_assign(x, t, json_object_get(st, "Assign"), in, ctx, &f) != 0 ||
        asl_path_select(st, "OutputPath", in, ctx, &out, &f) != 0) {
        json_decref(in);
        json_decref(ctx);
        asl_state_fault(x, t, &f);
        asl_fault_clear(&f);
        return;
    }
    json_decref(in);
    json_decref(ctx);
    asl_state_done(x, t, out);
}

static int fail_field(const json_t *st, const char *lit, const char *pathk, const json_t *in,
                      const json_t *ctx, char **out, asl_fault_t *f)
{
    *out = NULL;
    const char *s = asl_gets(st, lit);
    if (s) {
        *out = sy_strdup(s);
        return 0;
    }
    const char *p = asl_gets(st, pathk);
    if (!p)
        return 0;
    json_t *v = NULL;
    if (asl_value_eval(p, pathk, in, ctx, &v, f) != 0)
        return -1;
    *out = plain(v);
    json_decref(v);
    return 0;
}

void asl_run_fail(asl_x_t *x, json_t *t)
{
    if (asl_jx_state(x, asl_state_def(x, t))) {
        asl_jx_run_fail(x, t);
        return;
    }
    const json_t *st = asl_state_def(x, t);
    json_t *ctx = asl_ctx(x, t);
    const json_t *in = json_object_get(t, "input");
    char *err = NULL, *cause = NULL;
    asl_fault_t f = {0};
    if (fail_field(st, "Error", "ErrorPath", in, ctx, &err, &f) != 0 ||
        fail_field(st, "Cause", "CausePath", in, ctx, &cause, &f) != 0) {
        asl_state_fault(x, t, &f);
        asl_fault_clear(&f);
    } else {
        asl_thread_fail(x, t, err, cause);
    }
    free(err);
    free(cause);
    json_decref(ctx);
}
