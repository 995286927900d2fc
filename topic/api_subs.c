/* topic/api_subs.c - Subscribe, ConfirmSubscription, Unsubscribe, the
 * subscription listings and attributes. Every change bumps the topic's
 * version in the same transaction, so publishers rebuild their matchers. */
#include "queue/queue.h"
#include "topic/internal.h"

#include <stdlib.h>
#include <string.h>

#define PAGE 100

static const char *SUB_ATTRS[] = {"RawMessageDelivery", "FilterPolicy",        "FilterPolicyScope", "DeliveryPolicy",
                                  "RedrivePolicy",      "SubscriptionRoleArn", "ReplayPolicy",      NULL};

static int bump(PGconn *c, const char *topic, sy_err_t *err)
{
    const char *p[1] = {topic};
    return tp_cmd(c, err, TP_Q_TOPIC_BUMP, p, NULL);
}

/* One subscription attribute against the protocol and the others. */
static int check_sub_attr(const char *protocol, const json_t *all, const char *k, const char *v, bool in_attrs,
                          sy_err_t *err)
{
    bool known = false;
    for (const char **a = SUB_ATTRS; *a; a++) known |= strcmp(*a, k) == 0;
    if (!known) return tp_invalid(err, "Attributes Reason: Unknown attribute %s", k);
    if (!strcmp(k, "RawMessageDelivery")) {
        if (strcasecmp(v, "true") && strcasecmp(v, "false"))
            return tp_invalid(err, "Attributes Reason: RawMessageDelivery: Invalid value [%s]. Must be true or false.",
                              v);
        if (!strcasecmp(v, "true") && strcmp(protocol, "sqs") && strcmp(protocol, "http") && strcmp(protocol, "https"))
            return tp_invalid(err, "Attributes Reason: Delivery protocol [%s] does not support raw message delivery.",
                              protocol);
    }
    if (!strcmp(k, "FilterPolicyScope") && strcmp(v, "MessageAttributes") && strcmp(v, "MessageBody"))
        return tp_invalid(err,
                          "Attributes Reason: FilterPolicyScope: Invalid value [%s]. Please use either "
                          "MessageBody or MessageAttributes",
                          v);
    if (!strcmp(k, "FilterPolicy") && *v) {
        const char *scope = sy_json_str(all, "FilterPolicyScope");
        bool body = scope && !strcmp(scope, "MessageBody");
        if (sy_pattern_validate(body ? SY_PATTERN_SNS_BODY : SY_PATTERN_SNS_ATTRIBUTES, v, strlen(v), err) < 0)
            return SY_E_INVALID;
    }
    if (!strcmp(k, "DeliveryPolicy") && *v) return tp_policy_check(v, false, in_attrs, err);
    if (!strcmp(k, "RedrivePolicy")) {
        json_t *j = json_loads(v, 0, NULL);
        bool ok = json_is_object(j);
        json_decref(j);
        if (!ok) return tp_invalid(err, "%s: failed to parse JSON", k);
    }
    if (!strcmp(k, "RedrivePolicy")) {
        json_t *j = json_loads(v, 0, NULL);
        const char *dlq = sy_json_str(j, "deadLetterTargetArn");
        bool ok = dlq && !strncmp(dlq, "arn:aws:sqs:", 12);
        json_decref(j);
        if (!ok) return tp_invalid(err, "RedrivePolicy: deadLetterTargetArn is not an SQS queue ARN");
    }
    return 0;
}

static int check_endpoint(sy_ctx_t *ctx, const char *protocol, const char *endpoint, sy_err_t *err)
{
    if (!endpoint || !*endpoint) return tp_invalid(err, "Endpoint");
    if (!strcmp(protocol, "sqs")) {
        char *q = sy_queue_name_from_arn(ctx, endpoint);
        free(q);
        if (!q) return tp_invalid(err, "SQS endpoint ARN");
    } else if (!strcmp(protocol, "lambda")) {
        if (strncmp(endpoint, "arn:aws:lambda:", 15) || !strstr(endpoint, ":function:"))
            return tp_invalid(err, "Lambda endpoint ARN");
    } else if (!strcmp(protocol, "http")) {
        if (strncmp(endpoint, "http://", 7)) return tp_invalid(err, "Endpoint must match the specified protocol");
    } else if (!strcmp(protocol, "https")) {
        if (strncmp(endpoint, "https://", 8)) return tp_invalid(err, "Endpoint must match the specified protocol");
    } else if (!strcmp(protocol, "email") || !strcmp(protocol, "email-json") || !strcmp(protocol, "sms") ||
               !strcmp(protocol, "application") || !strcmp(protocol, "firehose")) {
        return tp_invalid(err, "Protocol %s is not supported by Switchyard", protocol);
    } else {
        return tp_invalid(err, "Invalid protocol type: %s", protocol);
    }
    return 0;
}

static bool fifo_name(const char *s)
{
    size_t n = strlen(s);
    return n > 5 && !strcmp(s + n - 5, ".fifo");
}

/* FIFO topics deliver to SQS queues only; FIFO queues take FIFO topics only. */
static int check_fifo(const char *topic, const char *protocol, const char *endpoint, sy_err_t *err)
{
    bool sqs = !strcmp(protocol, "sqs");
    if (fifo_name(topic) && !sqs) return tp_invalid(err, "Invalid protocol type: %s", protocol);
    if (!fifo_name(topic) && sqs && fifo_name(endpoint))
        return tp_invalid(err, "Endpoint Reason: FIFO SQS Queues can not be subscribed to "
                               "standard SNS topics");
    return 0;
}

/* The rows of a Subscribe, in one transaction. */
typedef struct {
    sy_ctx_t *ctx;
    const char *topic, *topic_arn, *protocol, *endpoint, *new_arn, *attrs, *token, *now;
    bool http;
    char *found_arn; /* out: the existing subscription's ARN (idempotent) */
    bool confirmed;  /* out */
} subscribe_t;

static int subscribe_tx(PGconn *c, void *u, sy_err_t *err)
{
    subscribe_t *s = u;
    free(s->found_arn); /* a retried transaction starts over */
    s->found_arn = NULL;
    s->confirmed = !s->http;
    const char *p1[1] = {s->topic};
    json_t *topic = tp_rows(c, err, TP_Q_TOPIC_LOCK, p1);
    if (!topic) return SY_E_DB;
    const json_t *trow = json_array_get(topic, 0);
    if (!trow) {
        json_decref(topic);
        return tp_notfound(err, "Topic");
    }
    json_t *rows;
    const char *p2[3] = {s->topic, s->protocol, s->endpoint};
    rows = tp_rows(c, err, TP_Q_SUB_FIND, p2);
    if (!rows) {
        json_decref(topic);
        return SY_E_DB;
    }
    if (json_array_size(rows)) { /* idempotent */
        s->found_arn = sy_strdup(sy_json_str(json_array_get(rows, 0), "arn"));
        s->confirmed = !strcmp(sy_json_str(json_array_get(rows, 0), "confirmed"), "true");
        json_decref(rows);
        json_decref(topic);
        return 0;
    }
    json_decref(rows);
    const char *p3[8] = {s->new_arn,
                         s->topic,
                         s->protocol,
                         s->endpoint,
                         s->attrs,
                         s->confirmed ? "true" : "false",
                         s->http ? s->token : NULL,
                         s->now};
    int rc = tp_cmd(c, err, TP_Q_SUB_INSERT, p3, NULL);
    if (rc == 0) rc = bump(c, s->topic, err);
    if (rc == 0 && s->http) {
        char mid[37];
        char *body = tp_confirmation(s->ctx, "SubscriptionConfirmation", s->topic_arn, s->new_arn, s->token,
                                     tp_sigver(sy_json_str(trow, "sigver")), mid);
        json_t *a = json_loads(s->attrs, 0, NULL);
        tp_policy_t pol;
        tp_policy_resolve(sy_json_str(trow, "dpolicy"), sy_json_str(a, "DeliveryPolicy"), &pol);
        json_decref(a);
        rc = tp_http_enqueue(s->ctx, c, s->endpoint, "SubscriptionConfirmation", mid, s->topic_arn, s->new_arn, body,
                             NULL, &pol, err);
        free(body);
    }
    json_decref(topic);
    return rc;
}

int sns_subscribe(sy_ctx_t *ctx, const sy_req_t *req, json_t *in, json_t **out, sy_err_t *err)
{
    (void)req;
    const char *topic_arn = sy_json_str(in, "TopicArn");
    const char *protocol = sy_json_str(in, "Protocol");
    const char *endpoint = sy_json_str(in, "Endpoint");
    char *topic = tp_topic_name(topic_arn);
    if (!topic) return tp_invalid(err, "TopicArn");
    if (!protocol) {
        free(topic);
        return tp_invalid(err, "Protocol");
    }
    if (check_endpoint(ctx, protocol, endpoint, err) < 0 || check_fifo(topic, protocol, endpoint, err) < 0) {
        free(topic);
        return SY_E_INVALID;
    }
    json_t *attrs = json_object_get(in, "Attributes");
    const char *k;
    json_t *v;
    json_object_foreach(attrs, k, v) if (check_sub_attr(protocol, attrs, k, json_string_value(v), true, err) < 0)
    {
        free(topic);
        return SY_E_INVALID;
    }
    bool http = !strcmp(protocol, "http") || !strcmp(protocol, "https");
    char uuid[37], token[65], now[24];
    sy_uuid4(uuid);
    unsigned char rnd[32];
    sy_random_bytes(rnd, sizeof rnd);
    sy_hex(rnd, sizeof rnd, token);
    snprintf(now, sizeof now, "%lld", (long long)sy_now_ms());
    char *arn = sy_asprintf("%s:%s", topic_arn, uuid);
    char *aj = sy_json_dumps(attrs ? attrs : json_object());
    subscribe_t s = {.ctx = ctx,
                     .topic = topic,
                     .topic_arn = topic_arn,
                     .protocol = protocol,
                     .endpoint = endpoint,
                     .new_arn = arn,
                     .attrs = aj,
                     .token = token,
                     .now = now,
                     .http = http};
    int rc = sy_pg_tx(ctx->pool, subscribe_tx, &s, err);
    if (rc == 0) {
        const char *ret = sy_json_str(in, "ReturnSubscriptionArn");
        bool show = s.confirmed || (ret && !strcasecmp(ret, "true"));
        *out = json_pack("{s:s}", "SubscriptionArn", show ? (s.found_arn ? s.found_arn : arn) : "pending confirmation");
    }
    free(s.found_arn);
    free(aj);
    free(arn);
    free(topic);
    return rc;
}

typedef struct {
    const char *topic, *token;
    json_t *rows; /* out: the confirmed subscription */
} confirm_t;

static int confirm_tx(PGconn *c, void *u, sy_err_t *err)
{
    confirm_t *cf = u;
    json_decref(cf->rows); /* a retried transaction starts over */
    const char *p[2] = {cf->topic, cf->token};
    cf->rows = tp_rows(c, err, TP_Q_SUB_CONFIRM, p);
    if (!cf->rows) return SY_E_DB;
    if (!json_array_size(cf->rows)) { /* the SubscribeURL of an UnsubscribeConfirmation: restore */
        json_t *t = tp_rows(c, err, TP_Q_TOMB_TAKE, p);
        if (!t) return SY_E_DB;
        const json_t *r = json_array_get(t, 0);
        if (!r) {
            json_decref(t);
            return tp_invalid(err, "Token");
        }
        char now[24];
        snprintf(now, sizeof now, "%lld", (long long)sy_now_ms());
        const char *q[7] = {sy_json_str(r, "arn"),   cf->topic,  sy_json_str(r, "protocol"), sy_json_str(r, "endpoint"),
                            sy_json_str(r, "attrs"), cf->token, now};
        json_decref(cf->rows);
        cf->rows = tp_rows(c, err, TP_Q_SUB_RESTORE, q);
        json_decref(t);
        if (!cf->rows) return SY_E_DB;
        if (!json_array_size(cf->rows)) return tp_invalid(err, "Token"); /* subscribed again meanwhile */
    }
    return bump(c, cf->topic, err);
}

int sns_confirm_subscription(sy_ctx_t *ctx, const sy_req_t *req, json_t *in, json_t **out, sy_err_t *err)
{
    (void)req;
    const char *token = sy_json_str(in, "Token");
    char *topic = tp_topic_name(sy_json_str(in, "TopicArn"));
    if (!topic) return tp_invalid(err, "TopicArn");
    if (!token || !*token) {
        free(topic);
        return tp_invalid(err, "Token");
    }
    confirm_t cf = {topic, token, NULL};
    int rc = sy_pg_tx(ctx->pool, confirm_tx, &cf, err);
    if (rc == 0) *out = json_pack("{s:s}", "SubscriptionArn", sy_json_str(json_array_get(cf.rows, 0), "arn"));
    json_decref(cf.rows);
    free(topic);
    return rc;
}

/* A confirmed HTTP(S) subscription that goes gets an UnsubscribeConfirmation
 * (its SubscribeURL restores it, as on AWS). */
static int unsub_confirmation(sy_ctx_t *ctx, PGconn *c, const char *arn, const json_t *sub, sy_err_t *err)
{
    const char *proto = sy_json_str(sub, "protocol");
    if (strcmp(sy_json_str(sub, "confirmed"), "true") || (strcmp(proto, "http") && strcmp(proto, "https"))) return 0;
    const char *p[1] = {sy_json_str(sub, "topic")};
    json_t *topic = tp_rows(c, err, TP_Q_TOPIC_LOCK, p);
    if (!topic) return SY_E_DB;
    const json_t *t = json_array_get(topic, 0);
    int rc = 0;
    if (t) {
        unsigned char rnd[32];
        char token[65], now[24], mid[37];
        sy_random_bytes(rnd, sizeof rnd);
        sy_hex(rnd, sizeof rnd, token);
        snprintf(now, sizeof now, "%lld", (long long)sy_now_ms());
        const char *q[7] = {token, p[0], arn, proto, sy_json_str(sub, "endpoint"), sy_json_str(sub, "attrs"), now};
        rc = tp_cmd(c, err, TP_Q_TOMB_INSERT, q, NULL);
        if (rc == 0) {
            const char *tarn = sy_json_str(t, "arn");
            char *body = tp_confirmation(ctx, "UnsubscribeConfirmation", tarn, arn, token,
                                         tp_sigver(sy_json_str(t, "sigver")), mid);
            json_t *a = json_loads(sy_json_str(sub, "attrs"), 0, NULL);
            tp_policy_t pol;
            tp_policy_resolve(sy_json_str(t, "dpolicy"), sy_json_str(a, "DeliveryPolicy"), &pol);
            json_decref(a);
            rc = tp_http_enqueue(ctx, c, sy_json_str(sub, "endpoint"), "UnsubscribeConfirmation", mid, tarn, arn, body,
                                 NULL, &pol, err);
            free(body);
        }
    }
    json_decref(topic);
    return rc;
}

typedef struct {
    sy_ctx_t *ctx;
    const char *arn;
} unsubscribe_t;

static int unsubscribe_tx(PGconn *c, void *u, sy_err_t *err)
{
    unsubscribe_t *us = u;
    const char *p[1] = {us->arn};
    json_t *rows = tp_rows(c, err, TP_Q_SUB_DELETE, p);
    if (!rows) return SY_E_DB;
    const json_t *r = json_array_get(rows, 0);
    int rc = r ? bump(c, sy_json_str(r, "topic"), err) : 0;
    if (rc == 0 && r) rc = unsub_confirmation(us->ctx, c, us->arn, r, err);
    json_decref(rows);
    return rc;
}

int sns_unsubscribe(sy_ctx_t *ctx, const sy_req_t *req, json_t *in, json_t **out, sy_err_t *err)
{
    (void)req;
    (void)out;
    const char *arn = sy_json_str(in, "SubscriptionArn");
    if (!arn || strncmp(arn, "arn:aws:sns:", 12)) return tp_invalid(err, "SubscriptionArn");
    unsubscribe_t us = {ctx, arn};
    return sy_pg_tx(ctx->pool, unsubscribe_tx, &us, err);
}

static json_t *sub_member(const sy_ctx_t *ctx, const json_t *r)
{
    bool confirmed = !strcmp(sy_json_str(r, "confirmed"), "true");
    return json_pack("{s:s,s:s,s:s,s:s,s:s}", "SubscriptionArn",
                     confirmed ? sy_json_str(r, "arn") : "PendingConfirmation", "Owner", ctx->cfg.account_id,
                     "Protocol", sy_json_str(r, "protocol"), "Endpoint", sy_json_str(r, "endpoint"), "TopicArn",
                     sy_json_str(r, "topic_arn"));
}

static int list_subs(sy_ctx_t *ctx, const json_t *in, const char *topic, json_t **out, sy_err_t *err)
{
    const char *tok = sy_json_str(in, "NextToken");
    long off = tok ? strtol(tok, NULL, 10) : 0;
    if (off < 0) off = 0;
    char offs[24];
    snprintf(offs, sizeof offs, "%ld", off);
    const char *p[2] = {offs, topic};
    json_t *rows = NULL;
    int rc = tp_db(ctx, err, TP_Q_SUB_PAGE, p, &rows);
    if (rc < 0) return rc;
    json_t *subs = json_array();
    size_t i;
    json_t *r;
    json_array_foreach(rows, i, r)
    {
        if (i == PAGE) break;
        json_array_append_new(subs, sub_member(ctx, r));
    }
    *out = json_pack("{s:o}", "Subscriptions", subs);
    if (json_array_size(rows) > PAGE) {
        snprintf(offs, sizeof offs, "%ld", off + PAGE);
        json_object_set_new(*out, "NextToken", json_string(offs));
    }
    json_decref(rows);
    return 0;
}

int sns_list_subscriptions(sy_ctx_t *ctx, const sy_req_t *req, json_t *in, json_t **out, sy_err_t *err)
{
    (void)req;
    return list_subs(ctx, in, NULL, out, err);
}

int sns_list_subscriptions_by_topic(sy_ctx_t *ctx, const sy_req_t *req, json_t *in, json_t **out, sy_err_t *err)
{
    (void)req;
    char *topic = tp_topic_name(sy_json_str(in, "TopicArn"));
    if (!topic) return tp_invalid(err, "TopicArn");
    const char *p[1] = {topic};
    json_t *rows = NULL;
    int rc = tp_db(ctx, err, TP_Q_TOPIC_EXISTS, p, &rows);
    if (rc == 0 && !json_array_size(rows)) rc = tp_notfound(err, "Topic");
    if (rc == 0) rc = list_subs(ctx, in, topic, out, err);
    json_decref(rows);
    free(topic);
    return rc;
}

static json_t *sub_row(sy_ctx_t *ctx, const char *arn, sy_err_t *err, int *rc)
{
    const char *p[1] = {arn ? arn : ""};
    json_t *rows = NULL;
    *rc = tp_db(ctx, err, TP_Q_SUB_GET, p, &rows);
    if (*rc < 0) return NULL;
    json_t *r = json_incref(json_array_get(rows, 0));
    json_decref(rows);
    if (!r) *rc = tp_notfound(err, "Subscription");
    return r;
}

int sns_get_subscription_attributes(sy_ctx_t *ctx, const sy_req_t *req, json_t *in, json_t **out, sy_err_t *err)
{
    (void)req;
    int rc;
    json_t *r = sub_row(ctx, sy_json_str(in, "SubscriptionArn"), err, &rc);
    if (!r) return rc;
    bool confirmed = !strcmp(sy_json_str(r, "confirmed"), "true");
    json_t *a = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "SubscriptionArn", sy_json_str(r, "arn"), "TopicArn",
                          sy_json_str(r, "topic_arn"), "Protocol", sy_json_str(r, "protocol"), "Endpoint",
                          sy_json_str(r, "endpoint"), "Owner", ctx->cfg.account_id, "ConfirmationWasAuthenticated",
                          "true", "PendingConfirmation", confirmed ? "false" : "true", "RawMessageDelivery", "false",
                          "SubscriptionPrincipal", "arn:aws:iam::000000000000:user/switchyard");
    json_t *stored = json_loads(sy_json_str(r, "attrs"), 0, NULL);
    json_object_update(a, stored);
    if (json_object_get(stored, "FilterPolicy") && !json_object_get(stored, "FilterPolicyScope"))
        json_object_set_new(a, "FilterPolicyScope", json_string("MessageAttributes"));
    const char *proto = sy_json_str(r, "protocol");
    if (!strcmp(proto, "http") || !strcmp(proto, "https")) {
        char *eff = tp_policy_effective_sub(sy_json_str(r, "topic_dp"), sy_json_str(stored, "DeliveryPolicy"));
        json_object_set_new(a, "EffectiveDeliveryPolicy", json_string(eff));
        free(eff);
    }
    json_decref(stored);
    json_decref(r);
    *out = json_pack("{s:o}", "Attributes", a);
    return 0;
}

typedef struct {
    const char *arn, *topic, *attrs;
} set_attrs_t;

static int set_attrs_tx(PGconn *c, void *u, sy_err_t *err)
{
    const set_attrs_t *sa = u;
    const char *p[2] = {sa->arn, sa->attrs};
    int rc = tp_cmd(c, err, TP_Q_SUB_SET_ATTRS, p, NULL);
    if (rc == 0) rc = bump(c, sa->topic, err);
    return rc;
}

int sns_set_subscription_attributes(sy_ctx_t *ctx, const sy_req_t *req, json_t *in, json_t **out, sy_err_t *err)
{
    (void)req;
    (void)out;
    const char *k = sy_json_str(in, "AttributeName"), *v = sy_json_str(in, "AttributeValue");
    if (!k) return tp_invalid(err, "AttributeName");
    if (!v) v = "";
    int rc;
    json_t *r = sub_row(ctx, sy_json_str(in, "SubscriptionArn"), err, &rc);
    if (!r) return rc;
    json_t *stored = json_loads(sy_json_str(r, "attrs"), 0, NULL);
    if (!stored) stored = json_object();
    json_object_set_new(stored, k, json_string(v));
    rc = check_sub_attr(sy_json_str(r, "protocol"), stored, k, v, false, err);
    if (rc == 0 && !strcmp(k, "FilterPolicyScope") && sy_json_str(stored, "FilterPolicy"))
        rc = check_sub_attr(sy_json_str(r, "protocol"), stored, "FilterPolicy", sy_json_str(stored, "FilterPolicy"),
                            false, err);
    if (rc == 0 && !strcmp(k, "DeliveryPolicy") && !*v) json_object_del(stored, "DeliveryPolicy");
    if (rc == 0 && !strcmp(k, "FilterPolicy") && !*v) json_object_del(stored, "FilterPolicy");
    char *aj = sy_json_dumps(stored);
    set_attrs_t sa = {sy_json_str(r, "arn"), sy_json_str(r, "topic"), aj};
    if (rc == 0) rc = sy_pg_tx(ctx->pool, set_attrs_tx, &sa, err);
    free(aj);
    json_decref(stored);
    json_decref(r);
    return rc;
}
