/* statemachine/executor_tasks.c - Task resources: SQS (optimized and
 * aws-sdk), nested Step Functions, callbacks (.waitForTaskToken) and the
 * function-task seam (the invoker set by sy_sfn_set_function_invoker). */
#include "statemachine/internal.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>


enum { MODE_NONE = 0, MODE_WAIT, MODE_SYNC, MODE_SYNC2 };

static char *base_of(const char *res, int *mode)
{
    char *b = sy_strdup(res);
    size_t n = strlen(b);
    static const struct {
        const char *suf;
        int mode;
    } sufs[] = {{".waitForTaskToken", MODE_WAIT}, {".sync:2", MODE_SYNC2}, {".sync", MODE_SYNC}};
    *mode = MODE_NONE;
    for (size_t i = 0; i < 3; i++) {
        size_t m = strlen(sufs[i].suf);
        if (n > m && strcmp(b + n - m, sufs[i].suf) == 0) {
            b[n - m] = 0;
            *mode = sufs[i].mode;
            break;
        }
    }
    return b;
}

static void fail(char **error, char **cause, const char *e, const char *c)
{
    *error = sy_strdup(e);
    *cause = c ? sy_strdup(c) : NULL;
}

/* ------------------------------------------------------------------ SQS */
static int sqs_send(sfn_run_t *r, const json_t *in, bool sdk, json_t **res, char **error, char **cause, sy_err_t *err)
{
    const char *url = sy_json_str(in, "QueueUrl");
    json_t *body = json_object_get(in, "MessageBody");
    if (!url || !body) {
        fail(error, cause, sdk ? "Sqs.SqsException" : "SQS.AmazonSQSException",
             "The request must contain the parameters QueueUrl and MessageBody.");
        return 1;
    }
    const char *slash = strrchr(url, '/');
    const char *name = slash ? slash + 1 : url;
    char *text = json_is_string(body) ? sy_strdup(json_string_value(body)) : sy_json_dumps(body);
    int64_t delay = -1;
    sy_json_int(in, "DelaySeconds", &delay);
    sy_msg_in_t m = {.body = text, .body_len = strlen(text), .delay_s = (int)delay,
                     .attrs = json_object_get(in, "MessageAttributes"),
                     .group_id = sy_json_str(in, "MessageGroupId"),
                     .dedup_id = sy_json_str(in, "MessageDeduplicationId")};
    sy_msg_sent_t out;
    sy_err_t e;
    sy_err_clear(&e);
    int rc;
    if (r->express) rc = sy_queue_send_by_name(r->ctx, name, &m, &out, &e);
    else {
        rc = sfn_tx_begin(r, err);
        if (rc == 0) rc = sy_queue_tx_send(r->ctx, r->c, name, &m, &out, &e);
    }
    free(text);
    if (rc == SY_E_DB) {
        if (err) *err = e;
        return rc;
    }
    if (rc < 0) {
        bool missing = strstr(e.code, "NonExistentQueue") || strstr(e.code, "QueueDoesNotExist");
        fail(error, cause,
             sdk ? (missing ? "Sqs.QueueDoesNotExistException" : "Sqs.SqsException") : "SQS.AmazonSQSException",
             e.message);
        return 1;
    }
    *res = json_pack("{s:s,s:s}", sdk ? "Md5OfMessageBody" : "MD5OfMessageBody", out.md5_body, "MessageId",
                     out.message_id);
    if (out.seq[0]) json_object_set_new(*res, "SequenceNumber", json_string(out.seq));
    return 1;
}

/* ------------------------------------------------------ nested executions */
static int start_child(sfn_run_t *r, const sy_asl_req_t *q, const json_t *in, int mode, json_t **res, char **error,
                       char **cause, sy_err_t *err)
{
    const char *sm = sy_json_str(in, "StateMachineArn");
    if (!sm) {
        fail(error, cause, "StepFunctions.ValidationException", "StateMachineArn is required");
        return 1;
    }
    json_t *iv = json_object_get(in, "Input");
    char *input = !iv ? sy_strdup("{}") : json_is_string(iv) ? sy_strdup(json_string_value(iv)) : sy_json_dumps(iv);
    json_t *parent = NULL;
    if (mode == MODE_SYNC || mode == MODE_SYNC2)
        parent = json_pack("{s:s,s:I,s:s}", "e", r->exec_arn, "r", (json_int_t)q->id, "m",
                           mode == MODE_SYNC2 ? "sync2" : "sync");
    sfn_start_t s = {.sm_arn = sm, .name = sy_json_str(in, "Name"), .input = input, .parent = parent};
    char *arn = NULL;
    int64_t start = 0;
    sy_err_t e;
    sy_err_clear(&e);
    int rc = r->express ? 0 : sfn_tx_begin(r, err);
    if (rc == 0) rc = sfn_start_standard(r->svc, r->express ? NULL : r->c, &s, &arn, &start, &e);
    free(input);
    json_decref(parent);
    if (rc == SY_E_DB) {
        if (err) *err = e;
        return rc;
    }
    if (rc < 0) {
        char *n = sy_asprintf("StepFunctions.%s%s", e.code, strstr(e.code, "Exception") ? "" : "Exception");
        fail(error, cause, n, e.message);
        free(n);
        return 1;
    }
    if (mode == MODE_SYNC || mode == MODE_SYNC2) {
        free(arn);
        return 0;
    }
    *res = json_pack("{s:s,s:I}", "ExecutionArn", arn, "StartDate", (json_int_t)start);
    free(arn);
    return mode == MODE_WAIT ? 0 : 1;
}

/* ------------------------------------------------------ SNS, EventBridge */
/* Run fn inside the execution's transaction; an EXPRESS execution has none,
 * so it gets one of its own. */
typedef int (*in_tx_fn)(sfn_run_t *r, PGconn *c, const json_t *in, bool sdk, json_t **res, sy_err_t *e);
static int with_tx(sfn_run_t *r, in_tx_fn fn, const json_t *in, bool sdk, json_t **res, sy_err_t *e, sy_err_t *err)
{
    if (!r->express) {
        int rc = sfn_tx_begin(r, err);
        return rc < 0 ? rc : fn(r, r->c, in, sdk, res, e);
    }
    PGconn *c = sy_pg_acquire(r->ctx->pool);
    if (!c) return sy_err_set(err, SY_E_DB, 503, "ServiceUnavailable", "database unavailable");
    int rc = sy_pg_begin(c, err);
    if (rc == 0) rc = fn(r, c, in, sdk, res, e);
    if (rc == 0) rc = sy_pg_commit(c, err);
    else sy_pg_rollback(c);
    sy_pg_release(r->ctx->pool, c);
    return rc;
}

static int do_publish(sfn_run_t *r, PGconn *c, const json_t *in, bool sdk, json_t **res, sy_err_t *e)
{
    (void)sdk;
    sfn_svc_t *svc = sfn_svc(r->ctx);
    const char *topic = sy_json_str(in, "TopicArn");
    json_t *msg = json_object_get(in, "Message");
    if (!topic || !msg)
        return sy_err_set(e, SY_E_INVALID, 400, "InvalidParameter",
                          "Invalid parameter: the request must contain TopicArn and Message");
    char *text = json_is_string(msg) ? sy_strdup(json_string_value(msg)) : sy_json_dumps(msg);
    int rc = svc->publish(r->ctx, c, topic, text, sy_json_str(in, "Subject"), json_object_get(in, "MessageAttributes"), e);
    free(text);
    if (rc == 0) {
        char id[37];
        sy_uuid4(id);
        *res = json_pack("{s:s}", "MessageId", id);
    }
    return rc;
}

static int do_put_events(sfn_run_t *r, PGconn *c, const json_t *in, bool sdk, json_t **res, sy_err_t *e)
{
    (void)sdk;
    sfn_svc_t *svc = sfn_svc(r->ctx);
    json_t *entries = json_object_get(in, "Entries");
    if (!json_is_array(entries) || json_array_size(entries) == 0 || json_array_size(entries) > 10)
        return sy_err_set(e, SY_E_INVALID, 400, "ValidationException", "Entries must hold 1 to 10 events");
    json_t *out = json_array();
    size_t i;
    json_t *en;
    int rc = 0;
    json_array_foreach(entries, i, en) {
        json_t *d = json_object_get(en, "Detail");
        char *detail = json_is_string(d) ? sy_strdup(json_string_value(d)) : sy_json_dumps(d ? d : json_object());
        const char *bus = sy_json_str(en, "EventBusName");
        char id[37] = "";
        rc = svc->put_event(r->ctx, c, bus ? bus : "default", sy_json_str(en, "Source") ? sy_json_str(en, "Source") : "",
                            sy_json_str(en, "DetailType") ? sy_json_str(en, "DetailType") : "", detail, id, e);
        free(detail);
        if (rc < 0) break;
        json_array_append_new(out, json_pack("{s:s}", "EventId", id));
    }
    if (rc < 0) {
        json_decref(out);
        return rc;
    }
    *res = json_pack("{s:o,s:i}", "Entries", out, "FailedEntryCount", 0);
    return 0;
}

/* sns:publish / events:putEvents (and their aws-sdk forms). A refusal by
 * the service fails the task with the service's error name. */
static int integration(sfn_run_t *r, in_tx_fn fn, const char *svc_prefix, const json_t *in, bool sdk, json_t **res,
                       char **error, char **cause, sy_err_t *err)
{
    sy_err_t e;
    sy_err_clear(&e);
    int rc = with_tx(r, fn, in, sdk, res, &e, err);
    if (rc == SY_E_DB) return rc;
    if (rc < 0) {
        char *name = sy_asprintf("%s.%s", svc_prefix, e.code[0] ? e.code : "ServiceException");
        fail(error, cause, name, e.message);
        free(name);
    }
    return 1;
}

/* arn:aws:states:::aws-sdk:<service>:<action> for the JSON-protocol
 * services Switchyard serves: the action runs in process through the same
 * routes as the wire. Errors are "<Service>.<Code>Exception" as AWS names
 * SDK integration errors. Not part of the checkpoint's transaction. */
static const struct {
    const char *svc, *target, *err_prefix;
    bool camel; /* the wire uses camelCase members; SDK integrations PascalCase */
} sdk_services[] = {{"sqs", "AmazonSQS.", "Sqs", false}, {"eventbridge", "AWSEvents.", "EventBridge", false},
                    {"sfn", "AWSStepFunctions.", "Sfn", true}};

/* A copy of v with every object member's first letter lower- or
 * upper-cased (PascalCase <-> camelCase), recursively. */
static json_t *recase(const json_t *v, bool lower)
{
    if (json_is_array(v)) {
        json_t *a = json_array();
        size_t i;
        json_t *e;
        json_array_foreach(v, i, e) json_array_append_new(a, recase(e, lower));
        return a;
    }
    if (!json_is_object(v)) return json_deep_copy(v);
    json_t *o = json_object();
    const char *k;
    json_t *e;
    json_object_foreach((json_t *)v, k, e) {
        char *key = sy_strdup(k);
        if (lower && key[0] >= 'A' && key[0] <= 'Z') key[0] = (char)(key[0] - 'A' + 'a');
        if (!lower && key[0] >= 'a' && key[0] <= 'z') key[0] = (char)(key[0] - 'a' + 'A');
        json_object_set_new(o, key, recase(e, lower));
        free(key);
    }
    return o;
}

static bool sdk_call(sfn_run_t *r, const char *base, const json_t *in, json_t **res, char **error, char **cause)
{
    const char *rest = base + strlen("arn:aws:states:::aws-sdk:");
    for (size_t i = 0; i < sizeof sdk_services / sizeof *sdk_services; i++) {
        size_t n = strlen(sdk_services[i].svc);
        if (strncmp(rest, sdk_services[i].svc, n) != 0 || rest[n] != ':' || !rest[n + 1]) continue;
        char *target = sy_asprintf("%s%s", sdk_services[i].target, rest + n + 1);
        size_t t = strlen(sdk_services[i].target);
        if (target[t] >= 'a' && target[t] <= 'z') target[t] = (char)(target[t] - 'a' + 'A'); /* sendMessage */
        json_t *out = NULL, *call_in = sdk_services[i].camel ? recase(in, true) : json_incref((json_t *)in);
        int status = sy_http_call_json(r->ctx, target, call_in, &out);
        json_decref(call_in);
        free(target);
        if (status < 400) {
            *res = sdk_services[i].camel ? recase(out, false) : json_incref(out);
            json_decref(out);
            return true;
        }
        const char *type = sy_json_str(out, "__type");
        const char *hash = type ? strrchr(type, '#') : NULL;
        const char *code = hash ? hash + 1 : type ? type : "ServiceException";
        size_t cl = strlen(code);
        bool has_suffix = cl >= 9 && strcmp(code + cl - 9, "Exception") == 0;
        char *name = sy_asprintf("%s.%s%s", sdk_services[i].err_prefix, code, has_suffix ? "" : "Exception");
        const char *msg = sy_json_str(out, "message") ? sy_json_str(out, "message") : sy_json_str(out, "Message");
        fail(error, cause, name, msg ? msg : "");
        free(name);
        json_decref(out);
        return true;
    }
    return false;
}

/* ------------------------------------------------------------- functions */
static int function_task(sfn_run_t *r, const sy_asl_req_t *q, const char *base, const json_t *in, char **error,
                         char **cause, sy_err_t *err)
{
    bool legacy = strncmp(base, "arn:aws:lambda:", 15) == 0;
    const char *fn = legacy ? base : sy_json_str(in, "FunctionName");
    const json_t *payload = legacy ? in : json_object_get(in, "Payload");
    json_t *empty = NULL;
    if (!payload) payload = empty = json_object();
    pthread_mutex_lock(&r->svc->mu);
    sy_sfn_invoke_fn inv = r->svc->invoker;
    void *ud = r->svc->invoker_udata;
    pthread_mutex_unlock(&r->svc->mu);
    int rc = 0;
    if (!fn) {
        fail(error, cause, "Lambda.InvalidParameterValueException", "FunctionName is required");
        rc = 1;
    } else if (!inv) {
        fail(error, cause, "Lambda.ServiceException",
             "no function invoker is available on this broker (worker support is not enabled)");
        rc = 1;
    } else {
        if (!r->express) rc = sfn_tx_begin(r, err);
        sy_sfn_invocation_t iv = {.execution_arn = r->exec_arn, .task_id = q->id, .resource = q->resource,
                                  .function = fn, .payload = payload, .timeout_s = q->timeout_s,
                                  .attempt = q->attempt, .express = r->express};
        sy_err_t e;
        sy_err_clear(&e);
        if (rc == 0) {
            sfn_invoker_depth++; /* an outcome reported from inside is queued, not applied inline */
            rc = inv(r->ctx, r->express ? NULL : r->c, &iv, ud, &e);
            sfn_invoker_depth--;
        }
        if (rc == SY_E_DB) {
            if (err) *err = e;
        } else if (rc < 0) {
            fail(error, cause, e.code[0] ? e.code : "Lambda.ServiceException", e.message);
            rc = 1;
        }
    }
    json_decref(empty);
    return rc;
}

/* ------------------------------------------------------------- dispatch */
int sfn_dispatch(sfn_run_t *r, const sy_asl_req_t *q, json_t **res, char **error, char **cause, sy_err_t *err)
{
    int mode;
    char *base = base_of(q->resource ? q->resource : "", &mode);
    json_t *in = json_deep_copy(q->input ? q->input : json_null());
    int rc = 1;
    if (mode == MODE_WAIT) { /* a callback: store its token first */
        if (!q->task_token || !*q->task_token) { /* the interpreter issues one for every token task */
            rc = sy_err_set(err, SY_E_INTERNAL, 500, "InternalFailure", "callback task without a task token");
            goto done;
        }
        char *token = sy_strdup(q->task_token); /* already in $$.Task.Token */
        if (!r->express) {
            rc = sfn_tx_begin(r, err);
            if (rc == 0) rc = store_task_insert(r->c, token, r->exec_arn, q->id, q->heartbeat_s, sy_now_ms(), err);
        }
        free(token);
        if (rc < 0) goto done;
        rc = 1;
    }
    if (!strcmp(base, "arn:aws:states:::sqs:sendMessage") || !strcmp(base, "arn:aws:states:::aws-sdk:sqs:sendMessage"))
        rc = sqs_send(r, in, strstr(base, "aws-sdk") != NULL, res, error, cause, err);
    else if (!strncmp(base, "arn:aws:states:::aws-sdk:", 25) && sdk_call(r, base, in, res, error, cause))
        rc = 1;
    else if ((!strcmp(base, "arn:aws:states:::sns:publish") || !strcmp(base, "arn:aws:states:::aws-sdk:sns:publish")) &&
             sfn_svc(r->ctx)->publish)
        rc = integration(r, do_publish, strstr(base, "aws-sdk") ? "Sns" : "SNS", in, strstr(base, "aws-sdk") != NULL,
                         res, error, cause, err);
    else if ((!strcmp(base, "arn:aws:states:::events:putEvents") ||
              !strcmp(base, "arn:aws:states:::aws-sdk:eventbridge:putEvents")) &&
             sfn_svc(r->ctx)->put_event)
        rc = integration(r, do_put_events, strstr(base, "aws-sdk") ? "EventBridge" : "EventBridge", in,
                         strstr(base, "aws-sdk") != NULL, res, error, cause, err);
    else if (!strcmp(base, "arn:aws:states:::states:startExecution"))
        rc = start_child(r, q, in, mode, res, error, cause, err);
    else if (!strncmp(base, "arn:aws:lambda:", 15) || !strcmp(base, "arn:aws:states:::lambda:invoke"))
        rc = function_task(r, q, base, in, error, cause, err);
    else
        fail(error, cause, "States.Runtime", "this resource is not supported by Switchyard");
    if (mode == MODE_WAIT && rc == 1 && !*error) /* submitted: *res is the submit's output; wait for the token */
        rc = 0;
done:
    json_decref(in);
    free(base);
    return rc;
}
