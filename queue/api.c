/* queue/api.c - SQS over both wire protocols: decode (query or JSON 1.0)
 * into one request object, call the action, encode (XML or JSON); the
 * decoding helpers the api_*.c files share */
#include "queue/internal.h"

#include <stdlib.h>
#include <string.h>

typedef int (*action_fn)(const sy_req_t *req, json_t *in, json_t **out, sy_err_t *err);
/* an action that writes its JSON 1.0 response body itself (hot paths) */
typedef int (*json_action_fn)(const sy_req_t *req, json_t *in, sy_buf_t *body, sy_err_t *err);

/* query-protocol shapes: how flattened parameters map onto JSON members */
static const sy_query_shape_t MSG_ATTRS[] = {
    {"MessageAttributes", "MessageAttribute", 'M', NULL, NULL, NULL, NULL},
    {"MessageSystemAttributes", "MessageSystemAttribute", 'M', NULL, NULL, NULL, NULL},
    {NULL, NULL, 0, NULL, NULL, NULL, NULL}};
static const sy_query_shape_t SHAPES[] = {
    {"Attributes", "Attribute", 'm', "Name", "Value", NULL, NULL},
    {"tags", "Tag", 't', "Key", "Value", NULL, NULL},
    {"AttributeNames", "AttributeName", 'l', NULL, NULL, NULL, NULL},
    {"MessageSystemAttributeNames", "MessageSystemAttributeName", 'l', NULL, NULL, NULL, NULL},
    {"MessageAttributeNames", "MessageAttributeName", 'l', NULL, NULL, NULL, NULL},
    {"MessageAttributes", "MessageAttribute", 'M', NULL, NULL, NULL, NULL},
    {"MessageSystemAttributes", "MessageSystemAttribute", 'M', NULL, NULL, NULL, NULL},
    {"Entries", "SendMessageBatchRequestEntry", 'L', NULL, NULL, MSG_ATTRS, "DelaySeconds"},
    {"Entries", "DeleteMessageBatchRequestEntry", 'L', NULL, NULL, NULL, NULL},
    {"Entries", "ChangeMessageVisibilityBatchRequestEntry", 'L', NULL, NULL, NULL, "VisibilityTimeout"},
    {"TagKeys", "TagKey", 'l', NULL, NULL, NULL, NULL},
    {"AWSAccountIds", "AWSAccountId", 'l', NULL, NULL, NULL, NULL},
    {"Actions", "ActionName", 'l', NULL, NULL, NULL, NULL},
    {NULL, NULL, 0, NULL, NULL, NULL, NULL}};
static const char *INTS = "DelaySeconds,MaxNumberOfMessages,VisibilityTimeout,WaitTimeSeconds,MaxResults,"
                          "MaxNumberOfMessagesPerSecond";

/* action handlers live in api_queues.c, api_messages.c, api_move.c */
int sqs_create_queue(const sy_req_t *, json_t *, json_t **, sy_err_t *);
int sqs_get_queue_url(const sy_req_t *, json_t *, json_t **, sy_err_t *);
int sqs_list_queues(const sy_req_t *, json_t *, json_t **, sy_err_t *);
int sqs_delete_queue(const sy_req_t *, json_t *, json_t **, sy_err_t *);
int sqs_get_queue_attributes(const sy_req_t *, json_t *, json_t **, sy_err_t *);
int sqs_set_queue_attributes(const sy_req_t *, json_t *, json_t **, sy_err_t *);
int sqs_purge_queue(const sy_req_t *, json_t *, json_t **, sy_err_t *);
int sqs_tag_queue(const sy_req_t *, json_t *, json_t **, sy_err_t *);
int sqs_untag_queue(const sy_req_t *, json_t *, json_t **, sy_err_t *);
int sqs_list_queue_tags(const sy_req_t *, json_t *, json_t **, sy_err_t *);
int sqs_add_permission(const sy_req_t *, json_t *, json_t **, sy_err_t *);
int sqs_remove_permission(const sy_req_t *, json_t *, json_t **, sy_err_t *);
int sqs_list_dlq_sources(const sy_req_t *, json_t *, json_t **, sy_err_t *);
int sqs_send_message(const sy_req_t *, json_t *, json_t **, sy_err_t *);
int sqs_send_message_batch(const sy_req_t *, json_t *, json_t **, sy_err_t *);
int sqs_receive_message(const sy_req_t *, json_t *, json_t **, sy_err_t *);
int sqs_receive_message_json(const sy_req_t *, json_t *, sy_buf_t *, sy_err_t *);
int sqs_delete_message(const sy_req_t *, json_t *, json_t **, sy_err_t *);
int sqs_delete_message_batch(const sy_req_t *, json_t *, json_t **, sy_err_t *);
int sqs_change_visibility(const sy_req_t *, json_t *, json_t **, sy_err_t *);
int sqs_change_visibility_batch(const sy_req_t *, json_t *, json_t **, sy_err_t *);
int sqs_start_move_task(const sy_req_t *, json_t *, json_t **, sy_err_t *);
int sqs_list_move_tasks(const sy_req_t *, json_t *, json_t **, sy_err_t *);
int sqs_cancel_move_task(const sy_req_t *, json_t *, json_t **, sy_err_t *);

static const struct {
    const char *name;
    action_fn fn;
    json_action_fn json; /* JSON 1.0 responses, when set */
} actions[] = {
    {"CreateQueue", sqs_create_queue},
    {"GetQueueUrl", sqs_get_queue_url},
    {"ListQueues", sqs_list_queues},
    {"DeleteQueue", sqs_delete_queue},
    {"GetQueueAttributes", sqs_get_queue_attributes},
    {"SetQueueAttributes", sqs_set_queue_attributes},
    {"PurgeQueue", sqs_purge_queue},
    {"TagQueue", sqs_tag_queue},
    {"UntagQueue", sqs_untag_queue},
    {"ListQueueTags", sqs_list_queue_tags},
    {"AddPermission", sqs_add_permission},
    {"RemovePermission", sqs_remove_permission},
    {"ListDeadLetterSourceQueues", sqs_list_dlq_sources},
    {"SendMessage", sqs_send_message},
    {"SendMessageBatch", sqs_send_message_batch},
    {"ReceiveMessage", sqs_receive_message, sqs_receive_message_json},
    {"DeleteMessage", sqs_delete_message},
    {"DeleteMessageBatch", sqs_delete_message_batch},
    {"ChangeMessageVisibility", sqs_change_visibility},
    {"ChangeMessageVisibilityBatch", sqs_change_visibility_batch},
    {"StartMessageMoveTask", sqs_start_move_task},
    {"ListMessageMoveTasks", sqs_list_move_tasks},
    {"CancelMessageMoveTask", sqs_cancel_move_task},
};

/* ------------------------------------------------------- XML encoding */
static void xml_value(sy_buf_t *b, const char *action, const char *name, json_t *v);

static void xml_scalar(sy_buf_t *b, json_t *v)
{
    if (json_is_string(v)) sy_buf_xml_escape(b, json_string_value(v), json_string_length(v));
    else if (json_is_integer(v)) sy_buf_printf(b, "%lld", (long long)json_integer_value(v));
    else if (json_is_real(v)) sy_buf_printf(b, "%.17g", json_real_value(v));
    else if (json_is_boolean(v)) sy_buf_puts(b, json_is_true(v) ? "true" : "false");
}

static void xml_elem(sy_buf_t *b, const char *action, const char *tag, json_t *v)
{
    sy_buf_printf(b, "<%s>", tag);
    if (json_is_object(v)) {
        const char *k;
        json_t *x;
        json_object_foreach(v, k, x) xml_value(b, action, k, x);
    } else {
        xml_scalar(b, v);
    }
    sy_buf_printf(b, "</%s>", tag);
}

/* SQS flattens lists and maps: the member element repeats, no wrapper. */
static void xml_value(sy_buf_t *b, const char *action, const char *name, json_t *v)
{
    if (json_is_array(v)) {
        char tag[96];
        if (strcmp(name, "QueueUrls") == 0 || strcmp(name, "queueUrls") == 0) snprintf(tag, sizeof tag, "QueueUrl");
        else if (strcmp(name, "Messages") == 0) snprintf(tag, sizeof tag, "Message");
        else if (strcmp(name, "Successful") == 0) snprintf(tag, sizeof tag, "%sResultEntry", action);
        else if (strcmp(name, "Failed") == 0) snprintf(tag, sizeof tag, "BatchResultErrorEntry");
        else if (strcmp(name, "Results") == 0) snprintf(tag, sizeof tag, "%sResultEntry", action);
        else snprintf(tag, sizeof tag, "%s", name);
        size_t i;
        json_t *x;
        json_array_foreach(v, i, x) xml_elem(b, action, tag, x);
        return;
    }
    if (json_is_object(v) && (strcmp(name, "Attributes") == 0 || strcmp(name, "MessageAttributes") == 0 ||
                              strcmp(name, "Tags") == 0)) {
        bool tags = strcmp(name, "Tags") == 0;
        const char *tag = tags ? "Tag" : strcmp(name, "Attributes") == 0 ? "Attribute" : "MessageAttribute";
        const char *k;
        json_t *x;
        json_object_foreach(v, k, x) {
            sy_buf_printf(b, "<%s><%s>", tag, tags ? "Key" : "Name");
            sy_buf_xml_escape(b, k, strlen(k));
            sy_buf_printf(b, "</%s>", tags ? "Key" : "Name");
            xml_elem(b, action, "Value", x);
            sy_buf_printf(b, "</%s>", tag);
        }
        return;
    }
    xml_elem(b, action, name, v);
}

static void xml_response(sy_resp_t *resp, const sy_req_t *req, json_t *out)
{
    sy_buf_t *b = &resp->body;
    resp->status = 200;
    resp->content_type = "text/xml";
    sy_buf_printf(b, "<?xml version=\"1.0\"?><%sResponse xmlns=\"%s\">", req->action, SQS_XMLNS);
    if (out) {
        sy_buf_printf(b, "<%sResult>", req->action);
        const char *k;
        json_t *v;
        json_object_foreach(out, k, v) xml_value(b, req->action, k, v);
        sy_buf_printf(b, "</%sResult>", req->action);
    }
    sy_buf_printf(b, "<ResponseMetadata><RequestId>%s</RequestId></ResponseMetadata></%sResponse>", req->request_id,
                  req->action);
}

/* ------------------------------------------------------------ dispatch */
static void handle(sy_req_t *req, sy_resp_t *resp, void *udata)
{
    (void)udata;
    sy_err_t err;
    action_fn fn = NULL;
    json_action_fn json_fn = NULL;
    for (size_t i = 0; i < sizeof actions / sizeof actions[0]; i++)
        if (req->action && strcmp(actions[i].name, req->action) == 0) {
            fn = actions[i].fn;
            json_fn = req->proto == SY_PROTO_QUERY ? NULL : actions[i].json;
        }
    if (!fn) {
        if (req->proto == SY_PROTO_QUERY)
            sy_err_set(&err, SY_E_INVALID, 400, "InvalidAction", "The action %s is not valid for this endpoint.",
                       req->action ? req->action : "");
        else
            sy_err_set(&err, SY_E_INVALID, 400, "UnknownOperationException", "Unknown operation %s",
                       req->action ? req->action : "");
        sy_resp_error(resp, req, &err, SQS_XMLNS);
        return;
    }
    json_t *in = req->proto == SY_PROTO_QUERY ? sy_query_to_json(req->form, SHAPES, INTS) : json_incref(req->json);
    if (!in) {
        sy_err_set(&err, SY_E_INVALID, 400, "InvalidParameterValue", "request parameters are not valid UTF-8");
        sy_resp_error(resp, req, &err, SQS_XMLNS);
        return;
    }
    json_t *out = NULL;
    int rc = req->ctx->authz ? sqs_authorize(req, in, &err) : 0;
    if (rc == 0) rc = json_fn ? json_fn(req, in, sy_resp_json_body(resp, req), &err) : fn(req, in, &out, &err);
    if (rc < 0) {
        sy_metric_inc("switchyard_sqs_errors_total", NULL, 1);
        sy_resp_error(resp, req, &err, SQS_XMLNS);
    } else if (json_fn) {
        /* the body is written */
    } else if (req->proto == SY_PROTO_QUERY) {
        xml_response(resp, req, out);
    } else {
        json_t *o = out ? json_incref(out) : json_object();
        sy_resp_json(resp, req, o);
        json_decref(o);
    }
    json_decref(out);
    json_decref(in);
}

void sqs_routes(sy_ctx_t *ctx)
{
    sy_http_route_target("AmazonSQS.", "sqs", SY_PROTO_JSON10, handle, ctx);
    sy_http_route_query("2012-11-05", "sqs", handle, ctx);
}

/* ------------------------------------------------------------ helpers */
const char *queue_url(const sy_req_t *req, const char *name, char *buf, size_t n)
{
    const sy_config_t *cfg = &req->ctx->cfg;
    if (cfg->public_url) snprintf(buf, n, "%s/%s/%s", cfg->public_url, cfg->account_id, name);
    else snprintf(buf, n, "http://%s/%s/%s", req->host && *req->host ? req->host : cfg->listen, cfg->account_id, name);
    return buf;
}

/* "http://host/ACCOUNT/NAME", "/ACCOUNT/NAME" or a bare name */
char *queue_name_from_url(const char *url)
{
    if (!url || !*url) return NULL;
    const char *p = url;
    const char *scheme = strstr(p, "://");
    if (scheme) {
        p = strchr(scheme + 3, '/');
        if (!p) return NULL;
    }
    while (*p == '/') p++;
    const char *slash = strrchr(p, '/');
    const char *name = slash ? slash + 1 : p;
    if (!*name) return NULL;
    return sy_strdup(name);
}

int param_int(const json_t *in, const char *key, int64_t *out, bool *present, sy_err_t *err)
{
    json_t *v = json_object_get(in, key);
    *present = v != NULL && !json_is_null(v);
    if (!*present) return 0;
    if (json_is_integer(v)) {
        *out = json_integer_value(v);
        return 0;
    }
    if (json_is_string(v)) {
        char *end;
        long long x = strtoll(json_string_value(v), &end, 10);
        if (*json_string_value(v) && !*end) {
            *out = x;
            return 0;
        }
    }
    return sy_err_set(err, SY_E_INVALID, 400, "InvalidParameterValue", "Value for parameter %s is invalid.", key);
}

int resolve_queue(const sy_req_t *req, sy_queue_t *q, sy_err_t *err)
{
    const char *url = sy_json_str(req->proto == SY_PROTO_QUERY ? NULL : req->json, "QueueUrl");
    if (req->proto == SY_PROTO_QUERY) url = sy_form_get(req->form, "QueueUrl");
    if (!url)
        return sy_err_set(err, SY_E_INVALID, 400, "MissingParameter", "The request must contain the parameter QueueUrl.");
    char *name = queue_name_from_url(url);
    if (!name) return err_nonexistent(err);
    int rc = queue_get((sy_ctx_t *)req->ctx, name, q, err);
    free(name);
    return rc;
}
