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
        *type = sfn_xstrdup(p);
        *name = sfn_xstrdup("");
        return;
    }
    *type = strndup(p, (size_t)(colon - p));
    *name = sfn_xstrdup(colon + 1);
}

json_t *sfn_task_details(const char *res)
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
                         const json_t *ctx, int64_t *out, sfn_fault_t *f)
{
    json_t *v = json_object_get(st, lit);
    *out = 0;
    if (v) {
        *out = (int64_t)json_number_value(v);
        return 0;
    }
    const char *p = sfn_gets(st, pathk);
    if (!p)
        return 0;
    if (sfn_value_eval(p, pathk, in, ctx, &v, f) != 0)
        return -1;
    if (!sfn_is_int(v) || json_number_value(v) <= 0) {
        char *s = sfn_dumps(v);
        sfn_fault_set(f, "States.Runtime", "The %s field refers to value \"%s\" which is not a valid integer: %s",
                      pathk, s, p);
        free(s);
        json_decref(v);
        return -1;
    }
    *out = (int64_t)json_number_value(v);
    json_decref(v);
    return 0;
}

static void emit_scheduled(sfn_x_t *x, json_t *t, const char *res, const json_t *eff)
{
    int64_t to = sfn_geti(t, "timeout_s"), hb = sfn_geti(t, "heartbeat_s");
    if (is_legacy_lambda(res)) {
        json_t *d = json_object();
        json_object_set_new(d, "resource", json_string(res));
        json_object_set_new(d, "input", sfn_payload_text(eff));
        json_object_set_new(d, "inputDetails", json_pack("{s:b}", "truncated", 0));
        if (to)
            json_object_set_new(d, "timeoutInSeconds", json_integer(to));
        sfn_emit(x, t, "LambdaFunctionScheduled", "lambdaFunctionScheduledEventDetails", d);
        sfn_emit(x, t, "LambdaFunctionStarted", NULL, NULL);
        return;
    }
    json_t *d = sfn_task_details(res);
    json_object_set_new(d, "region", json_string("us-east-1"));
    json_object_set_new(d, "parameters", sfn_payload_text(eff));
    if (to)
        json_object_set_new(d, "timeoutInSeconds", json_integer(to));
    if (hb)
        json_object_set_new(d, "heartbeatInSeconds", json_integer(hb));
    sfn_emit(x, t, "TaskScheduled", "taskScheduledEventDetails", d);
    sfn_emit(x, t, "TaskStarted", "taskStartedEventDetails", sfn_task_details(res));
}

void sfn_run_task(sfn_x_t *x, json_t *t)
{
    const json_t *st = sfn_state_def(x, t);
    const char *res = sfn_gets(st, "Resource");
    json_t *ctx = sfn_ctx(x, t), *eff = NULL;
    sfn_fault_t f = {0};
    if (!res) { /* an unresolved CloudFormation reference */
        json_decref(ctx);
        sfn_fault_set(&f, "States.Runtime", "The resource of state '%s' is not a string", sfn_gets(t, "state"));
        sfn_state_fault(x, t, &f);
        sfn_fault_clear(&f);
        return;
    }
    int64_t to = 0, hb = 0;
    const json_t *in = json_object_get(t, "input");
    if (sfn_task_pattern(res) == SY_ASL_PATTERN_WAIT_FOR_TOKEN) {
        /* a fresh token per attempt, visible to Parameters as $$.Task.Token */
        char uuid[37];
        sfn_uuid(uuid);
        char *token = sfn_printf("%s:%s", uuid, sfn_gets(json_object_get(json_object_get(x->st, "ctx"), "Execution"), "Name"));
        sfn_sets(t, "token", token);
        free(token);
        json_decref(ctx);
        ctx = sfn_ctx(x, t);
    }
    if (seconds_field(st, "TimeoutSeconds", "TimeoutSecondsPath", in, ctx, &to, &f) != 0 ||
        seconds_field(st, "HeartbeatSeconds", "HeartbeatSecondsPath", in, ctx, &hb, &f) != 0 ||
        sfn_effective_input(x, t, st, ctx, &eff, &f) != 0) {
        json_decref(ctx);
        sfn_state_fault(x, t, &f);
        sfn_fault_clear(&f);
        return;
    }
    sfn_seti(t, "timeout_s", to);
    sfn_seti(t, "heartbeat_s", hb);
    emit_scheduled(x, t, res, eff);
    sfn_request_task(x, t, res, eff);
    sfn_sets(t, "phase", "wait_task");
    json_decref(eff);
    json_decref(ctx);
}

static void emit_failed(sfn_x_t *x, json_t *t, const char *res, const char *error, const char *cause)
{
    bool timeout = !strcmp(error, "States.Timeout") || !strcmp(error, "States.HeartbeatTimeout");
    json_t *d = is_legacy_lambda(res) ? json_object() : sfn_task_details(res);
    json_object_set_new(d, "error", json_string(error));
    if (cause)
        json_object_set_new(d, "cause", json_string(cause));
    if (is_legacy_lambda(res))
        sfn_emit(x, t, timeout ? "LambdaFunctionTimedOut" : "LambdaFunctionFailed",
                 timeout ? "lambdaFunctionTimedOutEventDetails" : "lambdaFunctionFailedEventDetails", d);
    else
        sfn_emit(x, t, timeout ? "TaskTimedOut" : "TaskFailed",
                 timeout ? "taskTimedOutEventDetails" : "taskFailedEventDetails", d);
}

static bool oversized(const json_t *v)
{
    char *s = sfn_dumps(v);
    bool big = strlen(s) > SFN_MAX_PAYLOAD;
    free(s);
    return big;
}

void sfn_task_result(sfn_x_t *x, json_t *t)
{
    const json_t *st = sfn_state_def(x, t);
    const char *res = sfn_gets(st, "Resource");
    json_object_del(t, "req");
    json_object_del(t, "submitted");
    if (sfn_gets(t, "fault_error")) {
        char *err = sfn_xstrdup(sfn_gets(t, "fault_error"));
        char *cause = sfn_gets(t, "fault_cause") ? sfn_xstrdup(sfn_gets(t, "fault_cause")) : NULL;
        json_object_del(t, "fault_error");
        json_object_del(t, "fault_cause");
        emit_failed(x, t, res, err, cause);
        sfn_state_error(x, t, err, cause);
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
        char *cause = sfn_printf("The state/task '%s' returned a result with a size exceeding the "
                                 "maximum number of bytes service limit.", type ? type : res);
        free(type);
        free(name);
        emit_failed(x, t, res, "States.DataLimitExceeded", cause);
        sfn_state_error(x, t, "States.DataLimitExceeded", cause);
        free(cause);
        return;
    }
    json_t *d = is_legacy_lambda(res) ? json_object() : sfn_task_details(res);
    json_object_set_new(d, "output", sfn_payload_text(result));
    json_object_set_new(d, "outputDetails", json_pack("{s:b}", "truncated", 0));
    if (is_legacy_lambda(res))
        sfn_emit(x, t, "LambdaFunctionSucceeded", "lambdaFunctionSucceededEventDetails", d);
    else
        sfn_emit(x, t, "TaskSucceeded", "taskSucceededEventDetails", d);
    sfn_finish_result(x, t, result);
}
