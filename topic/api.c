/* topic/api.c - SNS over the query protocol: decode the form into one
 * request object, call the action, encode the (non-flattened) XML reply */
#include "topic/internal.h"

#include <stdlib.h>
#include <string.h>

typedef int (*action_fn)(sy_ctx_t *ctx, const sy_req_t *req, json_t *in, json_t **out, sy_err_t *err);

static const sy_query_shape_t ENTRY_SHAPES[] = {
    {"MessageAttributes", "MessageAttributes.entry", 'M', NULL, NULL, NULL, NULL},
    {NULL, NULL, 0, NULL, NULL, NULL, NULL}};
static const sy_query_shape_t SHAPES[] = {
    {"Attributes", "Attributes.entry", 'e', "key", "value", NULL, NULL},
    {"MessageAttributes", "MessageAttributes.entry", 'M', NULL, NULL, NULL, NULL},
    {"Tags", "Tags.member", 'L', NULL, NULL, NULL, NULL},
    {"TagKeys", "TagKeys.member", 'l', NULL, NULL, NULL, NULL},
    {"PublishBatchRequestEntries", "PublishBatchRequestEntries.member", 'L', NULL, NULL, ENTRY_SHAPES, NULL},
    {NULL, NULL, 0, NULL, NULL, NULL, NULL}};

int sns_create_topic(sy_ctx_t *, const sy_req_t *, json_t *, json_t **, sy_err_t *);
int sns_delete_topic(sy_ctx_t *, const sy_req_t *, json_t *, json_t **, sy_err_t *);
int sns_list_topics(sy_ctx_t *, const sy_req_t *, json_t *, json_t **, sy_err_t *);
int sns_get_topic_attributes(sy_ctx_t *, const sy_req_t *, json_t *, json_t **, sy_err_t *);
int sns_set_topic_attributes(sy_ctx_t *, const sy_req_t *, json_t *, json_t **, sy_err_t *);
int sns_tag_resource(sy_ctx_t *, const sy_req_t *, json_t *, json_t **, sy_err_t *);
int sns_untag_resource(sy_ctx_t *, const sy_req_t *, json_t *, json_t **, sy_err_t *);
int sns_list_tags(sy_ctx_t *, const sy_req_t *, json_t *, json_t **, sy_err_t *);
int sns_permission(sy_ctx_t *, const sy_req_t *, json_t *, json_t **, sy_err_t *);
int sns_subscribe(sy_ctx_t *, const sy_req_t *, json_t *, json_t **, sy_err_t *);
int sns_confirm_subscription(sy_ctx_t *, const sy_req_t *, json_t *, json_t **, sy_err_t *);
int sns_unsubscribe(sy_ctx_t *, const sy_req_t *, json_t *, json_t **, sy_err_t *);
int sns_list_subscriptions(sy_ctx_t *, const sy_req_t *, json_t *, json_t **, sy_err_t *);
int sns_list_subscriptions_by_topic(sy_ctx_t *, const sy_req_t *, json_t *, json_t **, sy_err_t *);
int sns_get_subscription_attributes(sy_ctx_t *, const sy_req_t *, json_t *, json_t **, sy_err_t *);
int sns_set_subscription_attributes(sy_ctx_t *, const sy_req_t *, json_t *, json_t **, sy_err_t *);
int sns_publish(sy_ctx_t *, const sy_req_t *, json_t *, json_t **, sy_err_t *);
int sns_publish_batch(sy_ctx_t *, const sy_req_t *, json_t *, json_t **, sy_err_t *);

static const struct {
    const char *name;
    action_fn fn;
} actions[] = {
    {"CreateTopic", sns_create_topic},
    {"DeleteTopic", sns_delete_topic},
    {"ListTopics", sns_list_topics},
    {"GetTopicAttributes", sns_get_topic_attributes},
    {"SetTopicAttributes", sns_set_topic_attributes},
    {"TagResource", sns_tag_resource},
    {"UntagResource", sns_untag_resource},
    {"ListTagsForResource", sns_list_tags},
    {"AddPermission", sns_permission},
    {"RemovePermission", sns_permission},
    {"Subscribe", sns_subscribe},
    {"ConfirmSubscription", sns_confirm_subscription},
    {"Unsubscribe", sns_unsubscribe},
    {"ListSubscriptions", sns_list_subscriptions},
    {"ListSubscriptionsByTopic", sns_list_subscriptions_by_topic},
    {"GetSubscriptionAttributes", sns_get_subscription_attributes},
    {"SetSubscriptionAttributes", sns_set_subscription_attributes},
    {"Publish", sns_publish},
    {"PublishBatch", sns_publish_batch},
};

/* The SMS, mobile-push and data-protection actions of the model. */
static const char *unsupported[] = {"CheckIfPhoneNumberIsOptedOut",
                                    "CreatePlatformApplication",
                                    "CreatePlatformEndpoint",
                                    "CreateSMSSandboxPhoneNumber",
                                    "DeleteEndpoint",
                                    "DeletePlatformApplication",
                                    "DeleteSMSSandboxPhoneNumber",
                                    "GetDataProtectionPolicy",
                                    "GetEndpointAttributes",
                                    "GetPlatformApplicationAttributes",
                                    "GetSMSAttributes",
                                    "GetSMSSandboxAccountStatus",
                                    "ListEndpointsByPlatformApplication",
                                    "ListOriginationNumbers",
                                    "ListPhoneNumbersOptedOut",
                                    "ListPlatformApplications",
                                    "ListSMSSandboxPhoneNumbers",
                                    "OptInPhoneNumber",
                                    "PutDataProtectionPolicy",
                                    "SetEndpointAttributes",
                                    "SetPlatformApplicationAttributes",
                                    "SetSMSAttributes",
                                    "VerifySMSSandboxPhoneNumber",
                                    NULL};

/* ------------------------------------------------------- XML encoding */
static void xml_value(sy_buf_t *b, const char *name, json_t *v);

static void xml_body(sy_buf_t *b, json_t *v)
{
    if (json_is_string(v))
        sy_buf_xml_escape(b, json_string_value(v), json_string_length(v));
    else if (json_is_integer(v))
        sy_buf_printf(b, "%lld", (long long)json_integer_value(v));
    else if (json_is_boolean(v))
        sy_buf_puts(b, json_is_true(v) ? "true" : "false");
    else if (json_is_object(v)) {
        const char *k;
        json_t *x;
        json_object_foreach(v, k, x) xml_value(b, k, x);
    }
}

/* Not flattened: <List><member>..</member></List>,
 * <Attributes><entry><key>k</key><value>v</value></entry></Attributes>. */
static void xml_value(sy_buf_t *b, const char *name, json_t *v)
{
    if (json_is_null(v)) return;
    sy_buf_printf(b, "<%s>", name);
    if (json_is_array(v)) {
        size_t i;
        json_t *x;
        json_array_foreach(v, i, x)
        {
            sy_buf_puts(b, "<member>");
            xml_body(b, x);
            sy_buf_puts(b, "</member>");
        }
    } else if (json_is_object(v) && strcmp(name, "Attributes") == 0) {
        const char *k;
        json_t *x;
        json_object_foreach(v, k, x)
        {
            sy_buf_puts(b, "<entry><key>");
            sy_buf_xml_escape(b, k, strlen(k));
            sy_buf_puts(b, "</key><value>");
            xml_body(b, x);
            sy_buf_puts(b, "</value></entry>");
        }
    } else {
        xml_body(b, v);
    }
    sy_buf_printf(b, "</%s>", name);
}

static void xml_response(sy_resp_t *resp, const sy_req_t *req, json_t *out)
{
    sy_buf_t *b = &resp->body;
    resp->status = 200;
    resp->content_type = "text/xml";
    sy_buf_printf(b, "<?xml version=\"1.0\"?><%sResponse xmlns=\"%s\">", req->action, SNS_XMLNS);
    sy_buf_printf(b, "<%sResult>", req->action); /* always: TagResource has an empty result shape */
    const char *k;
    json_t *v;
    json_object_foreach(out, k, v) xml_value(b, k, v);
    sy_buf_printf(b, "</%sResult>", req->action);
    sy_buf_printf(b, "<ResponseMetadata><RequestId>%s</RequestId></ResponseMetadata></%sResponse>", req->request_id,
                  req->action);
}

/* ------------------------------------------------------------ dispatch */
static void handle(sy_req_t *req, sy_resp_t *resp, void *udata)
{
    sy_ctx_t *ctx = udata;
    sy_err_t err;
    sy_err_clear(&err);
    action_fn fn = NULL;
    for (size_t i = 0; i < sizeof actions / sizeof actions[0]; i++)
        if (req->action && strcmp(actions[i].name, req->action) == 0) fn = actions[i].fn;
    if (!fn) {
        bool known = false;
        for (const char **u = unsupported; *u; u++) known |= req->action && strcmp(*u, req->action) == 0;
        if (known)
            sy_err_set(&err, SY_E_INVALID, 400, "InvalidParameter",
                       "Invalid parameter: %s is not supported by Switchyard (SMS, mobile push and data protection "
                       "are not implemented)",
                       req->action);
        else
            sy_err_set(&err, SY_E_INVALID, 400, "InvalidAction", "The action %s is not valid for this endpoint.",
                       req->action ? req->action : "");
        sy_resp_error(resp, req, &err, SNS_XMLNS);
        return;
    }
    json_t *in = sy_query_to_json(req->form, SHAPES, NULL);
    if (!in) {
        sy_err_set(&err, SY_E_INVALID, 400, "InvalidParameter", "Invalid parameter: not valid UTF-8");
        sy_resp_error(resp, req, &err, SNS_XMLNS);
        return;
    }
    json_t *out = NULL;
    int rc = ctx->authz && tp_authorize(ctx, req, in, &err) < 0 ? SY_E_INVALID : fn(ctx, req, in, &out, &err);
    if (rc < 0) {
        sy_metric_inc("switchyard_sns_errors_total", NULL, 1);
        if (rc == SY_E_DB && !err.code[0]) sy_err_set(&err, rc, 500, "InternalError", "database error");
        sy_resp_error(resp, req, &err, SNS_XMLNS);
    } else {
        xml_response(resp, req, out);
    }
    json_decref(out);
    json_decref(in);
}

void sns_routes(sy_ctx_t *ctx)
{
    sy_http_route_query("2010-03-31", "sns", handle, ctx);
}
