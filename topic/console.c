/* topic/console.c - the web console's topic endpoints (issue 16), reached at
 * /console/api/topic/... through server/wiring.c: which subscriptions a
 * message would reach (the filter policies evaluated by the same matcher a
 * publish uses, nothing delivered), and counts for the overview. */
#include "pattern/pattern.h"
#include "topic/internal.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *arn;
    bool hit;
} hit_t;

static void on_hit(const char *rule_id, void *u)
{
    hit_t *h = u;
    if (strcmp(rule_id, h->arn) == 0) h->hit = true;
}

/* Does one subscription's filter policy let the message through? */
static json_t *evaluate(const json_t *row, const char *message, const char *attrs_env)
{
    json_t *attrs = json_loads(sy_json_str(row, "attrs") ? sy_json_str(row, "attrs") : "{}", 0, NULL);
    const char *fp = attrs ? sy_json_str(attrs, "FilterPolicy") : NULL;
    const char *scope = attrs ? sy_json_str(attrs, "FilterPolicyScope") : NULL;
    bool body = scope && strcmp(scope, "MessageBody") == 0;
    bool confirmed = strcmp(sy_json_str(row, "confirmed"), "true") == 0;
    const char *why = NULL;
    bool matches = true;
    if (fp && *fp && strcmp(fp, "{}") != 0) {
        sy_matcher_t *m = sy_matcher_new(body ? SY_PATTERN_SNS_BODY : SY_PATTERN_SNS_ATTRIBUTES);
        sy_err_t e2;
        hit_t h = {sy_json_str(row, "arn"), false};
        if (sy_matcher_add(m, h.arn, fp, strlen(fp), &e2) < 0) {
            why = "the filter policy does not compile";
        } else {
            const char *ev = body ? message : attrs_env;
            sy_matcher_match(m, ev, strlen(ev), on_hit, &h);
            why = h.hit ? "the filter policy matches" : "the filter policy does not match";
        }
        matches = h.hit;
        sy_matcher_destroy(&m);
    } else {
        why = "no filter policy";
    }
    if (!confirmed) {
        matches = false;
        why = "pending confirmation";
    }
    json_t *o = json_pack("{s:s,s:s,s:s,s:b,s:b,s:s}", "SubscriptionArn", sy_json_str(row, "arn"), "Protocol",
                          sy_json_str(row, "protocol"), "Endpoint", sy_json_str(row, "endpoint"), "Matches", matches,
                          "Confirmed", confirmed, "Reason", why);
    if (fp) json_object_set_new(o, "FilterPolicy", json_string(fp));
    json_object_set_new(o, "FilterPolicyScope", json_string(body ? "MessageBody" : "MessageAttributes"));
    json_decref(attrs);
    return o;
}

/* {"TopicArn", "Message", "MessageAttributes"?: {n:{DataType,StringValue}}}
 * -> {"Subscriptions":[{SubscriptionArn, Protocol, Endpoint, FilterPolicy,
 * FilterPolicyScope, Confirmed, Matches, Reason}]} */
int sy_topic_console_match(sy_ctx_t *ctx, const json_t *in, json_t **out, sy_err_t *err)
{
    const char *arn = sy_json_str(in, "TopicArn"), *message = sy_json_str(in, "Message");
    json_t *ma = json_object_get(in, "MessageAttributes");
    if (!arn || !message || (ma && !json_is_object(ma)))
        return sy_err_set(err, SY_E_INVALID, 400, "ValidationException",
                          "TopicArn and Message are required; MessageAttributes is a map");
    char *topic = tp_topic_name(arn);
    if (!topic) return tp_notfound(err, "Topic");
    json_t *rows = NULL;
    const char *p[1] = {topic};
    int rc = tp_db(ctx, err, TP_Q_TOPIC_EXISTS, p, &rows);
    if (rc == 0 && !json_array_size(rows)) rc = tp_notfound(err, "Topic");
    json_decref(rows);
    rows = NULL;
    if (rc == 0) rc = tp_db(ctx, err, TP_Q_SUBS_OF_TOPIC, p, &rows);
    free(topic);
    if (rc < 0) return rc;
    json_t *env = ma ? tp_attrs_envelope(ma) : json_object();
    char *envj = sy_json_dumps(env);
    json_decref(env);
    json_t *subs = json_array();
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row) json_array_append_new(subs, evaluate(row, message, envj));
    free(envj);
    json_decref(rows);
    *out = json_pack("{s:o}", "Subscriptions", subs);
    return 0;
}

/* {} -> {"Topics", "Subscriptions", "PendingConfirmation"} */
int sy_topic_console_summary(sy_ctx_t *ctx, const json_t *in, json_t **out, sy_err_t *err)
{
    (void)in;
    *out = tp_store_console_summary(ctx, err);
    return *out ? 0 : SY_E_DB;
}

/* {"Prefix"?, "NextToken"?, "MaxResults"? (1..100, 25)} -> {"Topics":[{Name,
 * TopicArn, Subscriptions}], "NextToken"?}: ListTopics has no name filter */
int sy_topic_console_list(sy_ctx_t *ctx, const json_t *in, json_t **out, sy_err_t *err)
{
    const char *prefix = sy_json_str(in, "Prefix"), *after = sy_json_str(in, "NextToken");
    int64_t max = 25;
    if (json_object_get(in, "MaxResults") && (!sy_json_int(in, "MaxResults", &max) || max < 1 || max > 100))
        return sy_err_set(err, SY_E_INVALID, 400, "ValidationException", "MaxResults must be between 1 and 100");
    json_t *rows = tp_store_console_list(ctx, prefix ? prefix : "", after ? after : "", (int)max, err);
    if (!rows) return SY_E_DB;
    json_t *o = json_object();
    if (json_array_size(rows) > (size_t)max) {
        json_array_remove(rows, (size_t)max);
        json_object_set_new(o, "NextToken", json_string(sy_json_str(json_array_get(rows, (size_t)max - 1), "Name")));
    }
    json_object_set_new(o, "Topics", rows);
    *out = o;
    return 0;
}
