/* Task state: schedule the resource, then ResultSelector/ResultPath/OutputPath
 * on success or Retry/Catch on failure. */
#include "asl/internal.h"

#include <stdlib.h>
#include <string.h>

static bool is_legacy_lambda(const char *res)
{
    return !strncmp(res, "arn:aws:lambda:", 15);
}

/* "arn:aws:states:::lambda:invoke" -> type "lambda", resource "invoke";
 * "arn:aws:states:::aws-sdk:sqs:sendMessage" -> "aws-sdk:sqs", "sendMessage". */
static void split_resource(const char *res, char **type, char **name)
{
    const char *p = strstr(res, ":::");
    p = p ? p + 3 : res;
    const char *colon = strchr(p, ':');
    if (!strncmp(p, "aws-sdk:", 8) && colon)
        colon = strchr(colon + 1, ':');
    if (!colon) {
        *type = sy_strdup(p);
        *name = sy_strdup("");
        return;
    }
    *type = strndup(p, (size_t)(colon - p));
    *name = sy_strdup(colon + 1);
}

json_t *asl_task_details(const char *res)
{
    char *type, *name;
    split_resource(res, &type, &name);
    json_t *d = json_object();
    json_object_set_new(d, "resource", json_string(name));
    json_object_set_new(d, "resourceType", json_string(type));
    free(type);
    free(name);
    return d;
}

static int seconds_field(const json_t *st, const char *lit, const char *pathk, const json_t *in,
                         const json_t *ctx, int64_t *out, asl_fault_t *f)
{
    json_t *v = json_object_get(st, lit);
    *out = 0;
    if (v) {
        *out = (int64_t)json_number_value(v);
        return 0;
    }
    const char *p = asl_gets(st, pathk);
    if (!p)
        return 0;
    if (asl_value_eval(p, pathk, in, ctx, &v, f) != 0)
        return -1;
    if (!asl_is_int(v) || json_number_value(v) <= 0) {
        char *s = asl_dumps(v);
        asl_fault_set(f, "States.Runtime", "The %s field refers to value \"%s\" which is not a valid integer: %s",
                      pathk, s, p);
        free(s);
        json_decref(v);
        return -1;
    }
    *out = (int64_t)json_number_value(v);
    json_decref(v);
    return 0;
}

static void emit_scheduled(asl_x_t *x, json_t *t, const char *res, const json_t *eff)
{
    int64_t to = asl_geti(t, "timeout_s"), hb = asl_geti(t, "heartbeat_s");
    if (is_legacy_lambda(res)) {
        json_t *d = json_object();
        json_object_set_new(d, "resource", json_string(res));
        json_object_set_new(d, "input", asl_payload_text(eff));
        json_object_set_new(d, "inputDetails", json_pack("{s:b}", "truncated", 0));
        if (to)
            json_object_set_new(d, "timeoutInSeconds", json_integer(to));
        asl_emit(x, t, "LambdaFunctionScheduled", "lambdaFunctionScheduledEventDetails", d);
        asl_emit(x, t, "LambdaFunctionStarted", NULL, NULL);
        return;
    }
    json_t *d = asl_task_details(res);
    json_object_set_new(d, "region", json_string("us-east-1"));
    json_object_set_new(d, "parameters", asl_payload_text(eff));
    if (to)
        json_object_set_new(d, "timeoutInSeconds", json_integer(to));
    if (hb)
        json_object_set_new(d, "heartbeatInSeconds", json_integer(hb));
    asl_emit(x, t, "TaskScheduled", "taskScheduledEventDetails", d);
    asl_emit(x, t, "TaskStarted", "taskStartedEventDetails", asl_task_details(res));
}

void asl_run_task(asl_x_t *x, json_t *t)
{
    const json_t *st = asl_state_def(x, t);
    const char *res = asl_gets(st, "Resource");
    json_t *ctx = asl_ctx(x, t), *eff = NULL;
    asl_fault_t f = {0};
    if (!res) { /* an unresolved CloudFormation reference */
        json_decref(ctx);
        asl_fault_set(&f, "States.Runtime", "The resource of state '%s' is not a string", asl_gets(t, "state"));
        asl_state_fault(x, t, &f);
        asl_fault_clear(&f);
        return;
    }
    int64_t to = 0, hb = 0;
    const json_t *in = json_object_get(t, "input");
    if (asl_task_pattern(res) == SY_ASL_PATTERN_WAIT_FOR_TOKEN) {
        /* a fresh token per attempt, visible to Parameters as $$.Task.Token */
        char uuid[37];
        sy_uuid4(uuid);
        char *token = sy_asprintf("%s:%s", uuid, asl_gets(json_object_get(json_object_get(x->st, "ctx"), "Execution"), "Name"));
        asl_sets(t, "token", token);
        free(token);
        json_decref(ctx);
        ctx = asl_ctx(x, t);
    }
    int trc;
    if (asl_jx_state(x, st)) {
        json_t *bind = asl_jx_bind(x, t, in, NULL, NULL, NULL);
        double d1 = 0, d2 = 0;
        bool g;
        trc = asl_jx_int_field(x, t, st, "TimeoutSeconds", bind, 1, 99999999, false, &d1, &g, &f) != 0 ||
              asl_jx_int_field(x, t, st, "HeartbeatSeconds", bind, 1, 99999999, false, &d2, &g, &f) != 0;
        json_decref(bind);
        to = (int64_t)d1;
        hb = (int64_t)d2;
    } else {
        trc = seconds_field(st, "TimeoutSeconds", "TimeoutSecondsPath", in, ctx, &to, &f) != 0 ||
              seconds_field(st, "HeartbeatSeconds", "HeartbeatSecondsPath", in, ctx, &hb, &f) != 0;
    }
    if (trc || asl_effective_input(x, t, st, ctx, &eff, &f) != 0) {
        json_decref(ctx);
        asl_state_fault(x, t, &f);
        asl_fault_clear(&f);
        return;
    }
    asl_seti(t, "timeout_s", to);
    asl_seti(t, "heartbeat_s", hb);
    emit_scheduled(x, t, res, eff);
    asl_request_task(x, t, res, eff);
    asl_sets(t, "phase", "wait_task");
    json_decref(eff);
    json_decref(ctx);
}

static void emit_failed(asl_x_t *x, json_t *t, const char *res, const char *error, const char *cause)
{
    bool timeout = !strcmp(error, "States.Timeout") || !strcmp(error, "States.HeartbeatTimeout");
    json_t *d = is_legacy_lambda(res) ? json_object() : asl_task_details(res);
    json_object_set_new(d, "error", json_string(error));
    if (cause)
        json_object_set_new(d, "cause", json_string(cause));
    if (is_legacy_lambda(res))
        asl_emit(x, t, timeout ? "LambdaFunctionTimedOut" : "LambdaFunctionFailed",
                 timeout ? "lambdaFunctionTimedOutEventDetails" : "lambdaFunctionFailedEventDetails", d);
    else
        asl_emit(x, t, timeout ? "TaskTimedOut" : "TaskFailed",
                 timeout ? "taskTimedOutEventDetails" : "taskFailedEventDetails", d);
}

static bool oversized(const json_t *v)
{
    char *s = asl_dumps(v);
    bool big = strlen(s) > ASL_MAX_PAYLOAD;
    free(s);
    return big;
}

void asl_task_result(asl_x_t *x, json_t *t)
{
    const json_t *st = asl_state_def(x, t);
    const char *res = asl_gets(st, "Resource");
    json_object_del(t, "req");
    json_object_del(t, "submitted");
    if (asl_gets(t, "fault_error")) {
        char *err = sy_strdup(asl_gets(t, "fault_error"));
        char *cause = asl_gets(t, "fault_cause") ? sy_strdup(asl_gets(t, "fault_cause")) : NULL;
        json_object_del(t, "fault_error");
        json_object_del(t, "fault_cause");
        emit_failed(x, t, res, err, cause);
        asl_state_error(x, t, err, cause);
        free(err);
        free(cause);
        return;
    }
    json_t *result = json_incref(json_object_get(t, "result"));
    json_object_del(t, "result");
    if (oversized(result)) {
        json_decref(result);
        /* AWS names the Lambda ARN, or the integration's service ("lambda"). */
        char *type = NULL, *name = NULL;
        if (!is_legacy_lambda(res))
            split_resource(res, &type, &name);
        char *cause = sy_asprintf("The state/task '%s' returned a result with a size exceeding the "
                                 "maximum number of bytes service limit.", type ? type : res);
        free(type);
        free(name);
        emit_failed(x, t, res, "States.DataLimitExceeded", cause);
        asl_state_error(x, t, "States.DataLimitExceeded", cause);
        free(cause);
        return;
    }
    json_t *d = is_legacy_lambda(res) ? json_object() : asl_task_details(res);
    json_object_set_new(d, "output", asl_payload_text(result));
    json_object_set_new(d, "outputDetails", json_pack("{s:b}", "truncated", 0));
    if (is_legacy_lambda(res))
        asl_emit(x, t, "LambdaFunctionSucceeded", "lambdaFunctionSucceededEventDetails", d);
    else
        asl_emit(x, t, "TaskSucceeded", "taskSucceededEventDetails", d);
    asl_finish_result(x, t, result);
}
