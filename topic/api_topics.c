/* topic/api_topics.c - CreateTopic, DeleteTopic, ListTopics, topic
 * attributes, tags, permissions */
#include "topic/internal.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#define PAGE 100

static const char *TOPIC_ATTRS[] = {"DisplayName",
                                    "Policy",
                                    "DeliveryPolicy",
                                    "KmsMasterKeyId",
                                    "FifoTopic",
                                    "ContentBasedDeduplication",
                                    "SignatureVersion",
                                    "TracingConfig",
                                    "ArchivePolicy",
                                    "FifoThroughputScope",
                                    NULL};

static bool known_attr(const char *const *list, const char *name)
{
    for (; *list; list++)
        if (strcmp(*list, name) == 0) return true;
    return false;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static bool name_ok(const char *name)
{
    size_t n = strlen(name);
    if (ends_with(name, ".fifo")) n -= 5;
    if (n < 1 || n > 256) return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)name[i]) && name[i] != '-' && name[i] != '_') return false;
    return true;
}

static int check_topic_attr(const char *k, const char *v, bool in_attrs, sy_err_t *err)
{
    if (!known_attr(TOPIC_ATTRS, k)) return tp_invalid(err, "Attributes Reason: Unknown attribute %s", k);
    if ((!strcmp(k, "FifoTopic") || !strcmp(k, "ContentBasedDeduplication")) && strcasecmp(v, "true") != 0 &&
        strcasecmp(v, "false") != 0)
        return tp_invalid(err, "Attributes Reason: %s must be true or false", k);
    if (!strcmp(k, "SignatureVersion") && strcmp(v, "1") && strcmp(v, "2"))
        return tp_invalid(err, "%sSignatureVersion: Invalid value [%s]. Valid values are 1 or 2.",
                          in_attrs ? "Attributes Reason: " : "", v);
    if (!strcmp(k, "DeliveryPolicy") && *v) return tp_policy_check(v, true, in_attrs, err);
    if (!strcmp(k, "Policy")) {
        json_t *j = json_loads(v, 0, NULL);
        char *why = NULL;
        bool ok = sy_policy_validate(j, true, &why) == 0;
        json_decref(j);
        if (!ok) {
            tp_invalid(err, "Attributes Reason: Policy: %s", why ? why : "not a valid policy document");
            free(why);
            return SY_E_INVALID;
        }
    }
    return 0;
}

/* Tags: [{"Key","Value"}] -> {"k":"v"} */
static int tags_object(const json_t *list, json_t **out, sy_err_t *err)
{
    json_t *o = json_object();
    size_t i;
    json_t *t;
    json_array_foreach(list, i, t)
    {
        const char *k = sy_json_str(t, "Key"), *v = sy_json_str(t, "Value");
        if (!k || !*k || strlen(k) > 128 || (v && strlen(v) > 256)) {
            json_decref(o);
            return tp_invalid(err, "Tags Reason: invalid tag key or value");
        }
        json_object_set_new(o, k, json_string(v ? v : ""));
    }
    if (json_object_size(o) > 50) {
        json_decref(o);
        return sy_err_set(err, SY_E_LIMIT, 400, "TagLimitExceeded",
                          "Could not complete request: tag quota of "
                          "per resource exceeded");
    }
    *out = o;
    return 0;
}

/* What an attribute of an existing topic is when it was never set. */
static const char *attr_default(const char *name, const char *k)
{
    if (!strcmp(k, "DisplayName")) return "";
    if (!strcmp(k, "FifoTopic")) return ends_with(name, ".fifo") ? "true" : "false";
    if (!strcmp(k, "ContentBasedDeduplication")) return "false";
    if (!strcmp(k, "SignatureVersion")) return "1";
    return NULL;
}

/* CreateTopic of an existing name: idempotent only with the same
 * attributes (those given) and tags (when given), as on AWS. */
static int same_topic(sy_ctx_t *ctx, const char *name, const json_t *attrs, const json_t *tags, sy_err_t *err)
{
    const char *p[1] = {name};
    json_t *rows = NULL;
    int rc = tp_db(ctx, err, TP_Q_TOPIC_RAW, p, &rows);
    if (rc < 0) return rc;
    const json_t *r = json_array_get(rows, 0);
    json_t *have = r ? json_loads(sy_json_str(r, "attrs"), 0, NULL) : NULL;
    json_t *have_tags = r ? json_loads(sy_json_str(r, "tags"), 0, NULL) : NULL;
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)attrs, k, v)
    {
        const char *old = sy_json_str(have, k);
        if (!old) old = attr_default(name, k);
        const char *want = json_string_value(v);
        bool boolean = !strcmp(k, "FifoTopic") || !strcmp(k, "ContentBasedDeduplication");
        if (!old || !want || (boolean ? strcasecmp(old, want) : strcmp(old, want))) {
            rc = tp_invalid(err, "Attributes Reason: Topic already exists with different attributes");
            break;
        }
    }
    if (rc == 0 && json_object_size(tags) && !json_equal(tags, have_tags))
        rc = tp_invalid(err, "Tags Reason: Topic already exists with different tags");
    json_decref(have);
    json_decref(have_tags);
    json_decref(rows);
    return rc;
}

int sns_create_topic(sy_ctx_t *ctx, const sy_req_t *req, json_t *in, json_t **out, sy_err_t *err)
{
    (void)req;
    const char *name = sy_json_str(in, "Name");
    if (!name || !name_ok(name)) return tp_invalid(err, "Topic Name");
    json_t *attrs = json_object_get(in, "Attributes");
    const char *k;
    json_t *v;
    json_object_foreach(attrs, k, v) if (check_topic_attr(k, json_string_value(v), true, err) < 0) return SY_E_INVALID;
    const char *fifo = sy_json_str(attrs, "FifoTopic");
    bool is_fifo = fifo && strcasecmp(fifo, "true") == 0;
    if (is_fifo != ends_with(name, ".fifo"))
        return tp_invalid(err, "Fifo Topic names must end with .fifo and they must have FifoTopic attribute set "
                               "to true");
    if (!is_fifo && sy_json_str(attrs, "ContentBasedDeduplication"))
        return tp_invalid(err, "ContentBasedDeduplication Reason: Content-based deduplication can only be set for "
                               "FIFO topics");
    json_t *tags = NULL;
    if (tags_object(json_object_get(in, "Tags"), &tags, err) < 0) return SY_E_INVALID;
    char *arn = sy_arn(ctx, "sns", name);
    char *aj = sy_json_dumps(attrs ? attrs : json_object());
    char *tj = sy_json_dumps(tags);
    char now[24];
    snprintf(now, sizeof now, "%lld", (long long)sy_now_ms());
    const char *p[5] = {name, arn, aj, tj, now};
    json_t *rows = NULL;
    int rc = tp_db(ctx, err, TP_Q_TOPIC_INSERT, p, &rows);
    if (rc == 0 && !json_array_size(rows)) rc = same_topic(ctx, name, attrs, tags, err); /* it exists */
    json_decref(rows);
    if (rc == 0) *out = json_pack("{s:s}", "TopicArn", arn);
    free(tj);
    free(aj);
    free(arn);
    json_decref(tags);
    return rc;
}

/* The topic name of the TopicArn / ResourceArn parameter, or an error. */
static char *topic_param(const json_t *in, const char *param, sy_err_t *err)
{
    const char *arn = sy_json_str(in, param);
    if (!arn) {
        tp_invalid(err, "%s", param);
        return NULL;
    }
    char *name = tp_topic_name(arn);
    if (!name) tp_invalid(err, "%s", param);
    return name;
}

int sns_delete_topic(sy_ctx_t *ctx, const sy_req_t *req, json_t *in, json_t **out, sy_err_t *err)
{
    (void)req;
    (void)out;
    char *name = topic_param(in, "TopicArn", err);
    if (!name) return SY_E_INVALID;
    const char *p[1] = {name};
    int rc = tp_db(ctx, err, TP_Q_TOPIC_DELETE, p, NULL); /* idempotent, as AWS */
    free(name);
    return rc;
}

int sns_list_topics(sy_ctx_t *ctx, const sy_req_t *req, json_t *in, json_t **out, sy_err_t *err)
{
    (void)req;
    const char *tok = sy_json_str(in, "NextToken");
    const char *p[1] = {tok ? tok : ""};
    json_t *rows = NULL;
    int rc = tp_db(ctx, err, TP_Q_TOPIC_PAGE, p, &rows);
    if (rc < 0) return rc;
    json_t *topics = json_array();
    size_t i;
    json_t *r;
    json_array_foreach(rows, i, r)
    {
        if (i == PAGE) break;
        json_array_append_new(topics, json_pack("{s:s}", "TopicArn", sy_json_str(r, "arn")));
    }
    *out = json_pack("{s:o}", "Topics", topics);
    if (json_array_size(rows) > PAGE)
        json_object_set_new(*out, "NextToken", json_string(sy_json_str(json_array_get(rows, PAGE - 1), "name")));
    json_decref(rows);
    return 0;
}

static json_t *default_policy(const sy_ctx_t *ctx, const char *arn)
{
    return json_pack("{s:s,s:s,s:[{s:s,s:s,s:{s:s},s:[s,s,s,s,s,s,s,s],s:s,s:{s:{s:s}}}]}", "Version", "2008-10-17",
                     "Id", "__default_policy_ID", "Statement", "Sid", "__default_statement_ID", "Effect", "Allow",
                     "Principal", "AWS", "*", "Action", "SNS:GetTopicAttributes", "SNS:SetTopicAttributes",
                     "SNS:AddPermission", "SNS:RemovePermission", "SNS:DeleteTopic", "SNS:Subscribe",
                     "SNS:ListSubscriptionsByTopic", "SNS:Publish", "Resource", arn, "Condition", "StringEquals",
                     "AWS:SourceOwner", ctx->cfg.account_id);
}

int sns_get_topic_attributes(sy_ctx_t *ctx, const sy_req_t *req, json_t *in, json_t **out, sy_err_t *err)
{
    (void)req;
    char *name = topic_param(in, "TopicArn", err);
    if (!name) return SY_E_INVALID;
    const char *p[1] = {name};
    json_t *rows = NULL;
    int rc = tp_db(ctx, err, TP_Q_TOPIC_GET, p, &rows);
    free(name);
    if (rc < 0) return rc;
    json_t *r = json_array_get(rows, 0);
    if (!r) {
        json_decref(rows);
        return tp_notfound(err, "Topic");
    }
    const char *arn = sy_json_str(r, "arn");
    json_t *a = json_object();
    json_object_set_new(a, "TopicArn", json_string(arn));
    json_object_set_new(a, "Owner", json_string(ctx->cfg.account_id));
    json_t *pol = default_policy(ctx, arn);
    char *pj = sy_json_dumps(pol);
    json_decref(pol);
    json_object_set_new(a, "Policy", json_string(pj));
    free(pj);
    json_object_set_new(a, "DisplayName", json_string(""));
    json_object_set_new(a, "SubscriptionsConfirmed", json_string(sy_json_str(r, "c")));
    json_object_set_new(a, "SubscriptionsPending", json_string(sy_json_str(r, "p")));
    json_object_set_new(a, "SubscriptionsDeleted", json_string("0"));
    json_t *stored = json_loads(sy_json_str(r, "attrs"), 0, NULL);
    char *eff = tp_policy_effective_topic(sy_json_str(stored, "DeliveryPolicy"));
    json_object_set_new(a, "EffectiveDeliveryPolicy", json_string(eff));
    free(eff);
    json_object_update(a, stored);
    json_decref(stored);
    if (ends_with(arn, ".fifo") && !json_object_get(a, "ContentBasedDeduplication"))
        json_object_set_new(a, "ContentBasedDeduplication", json_string("false"));
    *out = json_pack("{s:o}", "Attributes", a);
    json_decref(rows);
    return 0;
}

int sns_set_topic_attributes(sy_ctx_t *ctx, const sy_req_t *req, json_t *in, json_t **out, sy_err_t *err)
{
    (void)req;
    (void)out;
    const char *k = sy_json_str(in, "AttributeName"), *v = sy_json_str(in, "AttributeValue");
    if (!k) return tp_invalid(err, "AttributeName");
    if (!v) v = "";
    if (check_topic_attr(k, v, false, err) < 0) return SY_E_INVALID;
    if (!strcmp(k, "FifoTopic")) return tp_invalid(err, "AttributeName Reason: FifoTopic cannot be changed");
    char *name = topic_param(in, "TopicArn", err);
    if (!name) return SY_E_INVALID;
    if (!strcmp(k, "ContentBasedDeduplication") && !ends_with(name, ".fifo")) {
        free(name);
        return tp_invalid(err, "AttributeName Reason: ContentBasedDeduplication is for FIFO topics");
    }
    const char *p[3] = {name, k, v};
    json_t *rows = NULL;
    int rc = tp_db(ctx, err, TP_Q_TOPIC_SET_ATTR, p, &rows);
    free(name);
    if (rc == 0 && !json_array_size(rows)) rc = tp_notfound(err, "Topic");
    json_decref(rows);
    return rc;
}

static int tags_update(sy_ctx_t *ctx, tp_q_t q, const json_t *in, const char *arg, sy_err_t *err)
{
    char *name = topic_param(in, "ResourceArn", err);
    if (!name) return SY_E_INVALID;
    const char *p[2] = {name, arg};
    json_t *rows = NULL;
    int rc = tp_db(ctx, err, q, p, &rows);
    free(name);
    if (rc == 0 && !json_array_size(rows))
        rc = sy_err_set(err, SY_E_NOTFOUND, 404, "ResourceNotFound", "Resource does not exist");
    json_decref(rows);
    return rc;
}

int sns_tag_resource(sy_ctx_t *ctx, const sy_req_t *req, json_t *in, json_t **out, sy_err_t *err)
{
    (void)req;
    (void)out;
    json_t *tags = NULL;
    if (tags_object(json_object_get(in, "Tags"), &tags, err) < 0) return SY_E_INVALID;
    char *tj = sy_json_dumps(tags);
    json_decref(tags);
    int rc = tags_update(ctx, TP_Q_TOPIC_TAG, in, tj, err);
    free(tj);
    return rc;
}

int sns_untag_resource(sy_ctx_t *ctx, const sy_req_t *req, json_t *in, json_t **out, sy_err_t *err)
{
    (void)req;
    (void)out;
    json_t *keys = json_object_get(in, "TagKeys");
    char *kj = sy_json_dumps(keys ? keys : json_array());
    int rc = tags_update(ctx, TP_Q_TOPIC_UNTAG, in, kj, err);
    free(kj);
    return rc;
}

int sns_list_tags(sy_ctx_t *ctx, const sy_req_t *req, json_t *in, json_t **out, sy_err_t *err)
{
    (void)req;
    char *name = topic_param(in, "ResourceArn", err);
    if (!name) return SY_E_INVALID;
    const char *p[1] = {name};
    json_t *rows = NULL;
    int rc = tp_db(ctx, err, TP_Q_TOPIC_TAGS, p, &rows);
    free(name);
    if (rc < 0) return rc;
    if (!json_array_size(rows)) {
        json_decref(rows);
        return sy_err_set(err, SY_E_NOTFOUND, 404, "ResourceNotFound", "Resource does not exist");
    }
    json_t *tags = json_loads(sy_json_str(json_array_get(rows, 0), "tags"), 0, NULL);
    json_t *list = json_array();
    const char *k;
    json_t *v;
    json_object_foreach(tags, k, v) json_array_append_new(list, json_pack("{s:s,s:O}", "Key", k, "Value", v));
    json_decref(tags);
    json_decref(rows);
    *out = json_pack("{s:o}", "Tags", list);
    return 0;
}

/* AddPermission / RemovePermission: accepted, nothing is enforced. */
int sns_permission(sy_ctx_t *ctx, const sy_req_t *req, json_t *in, json_t **out, sy_err_t *err)
{
    (void)req;
    (void)out;
    char *name = topic_param(in, "TopicArn", err);
    if (!name) return SY_E_INVALID;
    const char *p[1] = {name};
    json_t *rows = NULL;
    int rc = tp_db(ctx, err, TP_Q_TOPIC_EXISTS, p, &rows);
    free(name);
    if (rc == 0 && !json_array_size(rows)) rc = tp_notfound(err, "Topic");
    json_decref(rows);
    return rc;
}
