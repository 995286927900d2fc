/* topic/fanout.c - the engine of a publish: the per-topic subscription
 * cache and filter matchers (rebuilt when the topic's version moves), and
 * the deliveries, all written in the caller's transaction */
#include "queue/queue.h"
#include "topic/internal.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ------------------------------------------------------------- cache */
static void entry_free(tp_entry_t *e)
{
    for (size_t i = 0; i < e->nsubs; i++) {
        free(e->subs[i].arn);
        free(e->subs[i].protocol);
        free(e->subs[i].endpoint);
        json_decref(e->subs[i].attrs);
    }
    free(e->subs);
    sy_matcher_destroy(&e->by_attrs);
    sy_matcher_destroy(&e->by_body);
    free(e->topic);
    free(e);
}

static void entry_release(tp_svc_t *s, tp_entry_t *e)
{
    pthread_mutex_lock(&s->mu);
    bool last = --e->refs == 0;
    pthread_mutex_unlock(&s->mu);
    if (last) entry_free(e);
}

void tp_cache_free(tp_svc_t *s)
{
    tp_entry_t *e = s->cache;
    while (e) {
        tp_entry_t *n = e->next;
        if (--e->refs == 0) entry_free(e);
        e = n;
    }
    s->cache = NULL;
}

static tp_entry_t *entry_load(PGconn *c, const char *topic, int64_t version, sy_err_t *err)
{
    const char *p[1] = {topic};
    json_t *rows = tp_rows(c, err, TP_Q_SUBS_OF_TOPIC, p);
    if (!rows) return NULL;
    tp_entry_t *e = sy_calloc(1, sizeof *e);
    e->topic = sy_strdup(topic);
    e->version = version;
    e->refs = 1;
    e->nsubs = json_array_size(rows);
    e->subs = sy_calloc(e->nsubs ? e->nsubs : 1, sizeof *e->subs);
    e->by_attrs = sy_matcher_new(SY_PATTERN_SNS_ATTRIBUTES);
    e->by_body = sy_matcher_new(SY_PATTERN_SNS_BODY);
    for (size_t i = 0; i < e->nsubs; i++) {
        json_t *r = json_array_get(rows, i);
        tp_sub_t *sb = &e->subs[i];
        sb->arn = sy_strdup(sy_json_str(r, "arn"));
        sb->protocol = sy_strdup(sy_json_str(r, "protocol"));
        sb->endpoint = sy_strdup(sy_json_str(r, "endpoint"));
        sb->attrs = json_loads(sy_json_str(r, "attrs"), 0, NULL);
        if (!sb->attrs) sb->attrs = json_object();
        sb->confirmed = strcmp(sy_json_str(r, "confirmed"), "true") == 0;
        const char *fp = sy_json_str(sb->attrs, "FilterPolicy");
        if (fp && *fp && strcmp(fp, "{}") != 0) {
            const char *scope = sy_json_str(sb->attrs, "FilterPolicyScope");
            sb->body_scope = scope && strcmp(scope, "MessageBody") == 0;
            sy_err_t e2;
            if (sy_matcher_add(sb->body_scope ? e->by_body : e->by_attrs, sb->arn, fp, strlen(fp), &e2) == 0)
                sb->filtered = true;
            else
                sy_log(SY_LOG_WARN, "sns", NULL, "stored filter policy does not compile", "subscription", sb->arn);
        }
    }
    json_decref(rows);
    return e;
}

/* The topic's entry at `version` (a reference the caller releases). */
static tp_entry_t *entry_get(tp_svc_t *s, PGconn *c, const char *topic, int64_t version, sy_err_t *err)
{
    pthread_mutex_lock(&s->mu);
    for (tp_entry_t *e = s->cache; e; e = e->next)
        if (strcmp(e->topic, topic) == 0 && e->version == version) {
            e->refs++;
            pthread_mutex_unlock(&s->mu);
            return e;
        }
    pthread_mutex_unlock(&s->mu);
    tp_entry_t *n = entry_load(c, topic, version, err);
    if (!n) return NULL;
    pthread_mutex_lock(&s->mu);
    tp_entry_t **pp = &s->cache;
    size_t kept = 0;
    while (*pp) { /* drop the older versions of this topic; bound the cache */
        tp_entry_t *e = *pp;
        if ((strcmp(e->topic, topic) == 0 && e->version < version) || kept >= TP_CACHE_MAX) {
            *pp = e->next;
            if (--e->refs == 0) entry_free(e);
            continue;
        }
        pp = &e->next;
        kept++;
    }
    n->refs++; /* the cache's reference */
    n->next = s->cache;
    s->cache = n;
    pthread_mutex_unlock(&s->mu);
    return n;
}

/* ------------------------------------------------------------ matching */
typedef struct {
    char **arns;
    size_t n, cap;
} hits_t;

static void on_hit(const char *rule_id, void *u)
{
    hits_t *h = u;
    if (h->n == h->cap) {
        h->cap = h->cap ? 2 * h->cap : 8;
        h->arns = sy_realloc(h->arns, h->cap * sizeof *h->arns);
    }
    h->arns[h->n++] = sy_strdup(rule_id);
}

static bool hit(const hits_t *h, const tp_sub_t *sb)
{
    for (size_t i = 0; i < h->n; i++)
        if (strcmp(h->arns[i], sb->arn) == 0) return true;
    return false;
}

/* ------------------------------------------------------------ checks */
int tp_check_message(const tp_msg_t *m, bool fifo_topic, sy_err_t *err)
{
    if (!m->message) return tp_invalid(err, "Message");
    if (!*m->message) return tp_invalid(err, "Empty message");
    if (strlen(m->message) > 262144) return tp_invalid(err, "Message too long");
    if (m->subject && (!*m->subject || strlen(m->subject) > 100)) return tp_invalid(err, "Subject");
    if (fifo_topic && (!m->group_id || !*m->group_id))
        return tp_invalid(err, "The MessageGroupId parameter is required for FIFO topics");
    if (!fifo_topic && m->dedup_id)
        return tp_invalid(err, "The request includes MessageDeduplicationId parameter that is not valid for this "
                               "topic type");
    if (m->structure) {
        if (strcmp(m->structure, "json") != 0) return tp_invalid(err, "MessageStructure");
        json_t *j = json_loads(m->message, 0, NULL);
        bool ok = json_is_object(j) && json_is_string(json_object_get(j, "default"));
        json_decref(j);
        if (!ok) return tp_invalid(err, "Message Structure - No default entry in JSON message body");
    }
    const char *k;
    json_t *v;
    json_object_foreach(m->attrs, k, v)
    {
        const char *t = sy_json_str(v, "DataType");
        if (!t || !*t)
            return sy_err_set(err, SY_E_INVALID, 400, "ParameterValueInvalid",
                              "The message attribute '%s' must contain non-empty message attribute type.", k);
        bool bin = strncmp(t, "Binary", 6) == 0;
        if (!(bin ? sy_json_str(v, "BinaryValue") : sy_json_str(v, "StringValue")))
            return sy_err_set(err, SY_E_INVALID, 400, "ParameterValueInvalid",
                              "The message attribute '%s' must contain non-empty message attribute value for "
                              "message attribute type '%s'.",
                              k, t);
    }
    return 0;
}

/* The body a protocol gets under MessageStructure=json. */
char *tp_message_for(const tp_msg_t *m, const char *protocol)
{
    if (!m->structure) return sy_strdup(m->message);
    json_t *j = json_loads(m->message, 0, NULL);
    const char *v = sy_json_str(j, protocol);
    if (!v) v = sy_json_str(j, "default");
    char *s = sy_strdup(v ? v : "");
    json_decref(j);
    return s;
}

static bool attr_true(const json_t *attrs, const char *name)
{
    const char *v = sy_json_str(attrs, name);
    return v && strcasecmp(v, "true") == 0;
}

/* ------------------------------------------------------------ delivery */
char *tp_sub_dlq(const json_t *sub_attrs)
{
    const char *rp = sy_json_str(sub_attrs, "RedrivePolicy");
    if (!rp) return NULL;
    json_t *j = json_loads(rp, 0, NULL);
    const char *arn = sy_json_str(j, "deadLetterTargetArn");
    char *s = arn ? sy_strdup(arn) : NULL;
    json_decref(j);
    return s;
}

static int deliver_sqs(sy_ctx_t *ctx, PGconn *c, const tp_sub_t *sb, tp_msg_t *m, const char *msg, sy_err_t *err)
{
    char *q = sy_queue_name_from_arn(ctx, sb->endpoint);
    if (!q) return 0; /* another account's queue: nothing to write here */
    bool raw = attr_true(sb->attrs, "RawMessageDelivery");
    char *body =
        raw ? NULL
            : tp_envelope(ctx, "Notification", m->message_id, m->topic_arn, sb->arn, m->subject, msg, m->attrs, m->seq,
                          m->sigver, &m->sig);
    bool fifo = strlen(q) > 5 && strcmp(q + strlen(q) - 5, ".fifo") == 0;
    sy_msg_in_t mi = {.body = raw ? msg : body,
                      .body_len = strlen(raw ? msg : body),
                      .attrs = raw ? m->attrs : NULL,
                      .delay_s = -1,
                      .group_id = fifo ? (m->group_id ? m->group_id : "default") : NULL,
                      .dedup_id = fifo ? (m->dedup_id ? m->dedup_id : m->message_id) : NULL};
    int rc = sy_queue_tx_send(ctx, c, q, &mi, NULL, err);
    char *dlq = rc < 0 && rc != SY_E_DB ? tp_sub_dlq(sb->attrs) : NULL;
    char *dq = dlq ? sy_queue_name_from_arn(ctx, dlq) : NULL;
    if (dq) { /* undeliverable (the queue is gone): the subscription's DLQ */
        sy_msg_in_t dm = mi;
        dm.group_id = dm.dedup_id = NULL;
        rc = sy_queue_tx_send(ctx, c, dq, &dm, NULL, err);
    }
    if (rc < 0 && rc != SY_E_DB) { /* a deleted queue must not fail the publish (AWS drops it too) */
        sy_log(SY_LOG_WARN, "sns", NULL, "delivery to queue failed", "subscription", sb->arn, "error", err->message);
        rc = 0;
    }
    free(dq);
    free(dlq);
    free(body);
    free(q);
    return rc;
}

static int deliver(sy_ctx_t *ctx, PGconn *c, const tp_sub_t *sb, tp_msg_t *m, sy_err_t *err)
{
    char *msg = tp_message_for(m, sb->protocol);
    int rc = 0;
    if (strcmp(sb->protocol, "sqs") == 0) {
        rc = deliver_sqs(ctx, c, sb, m, msg, err);
    } else if (strcmp(sb->protocol, "lambda") == 0) {
        char *ev = tp_lambda_event(ctx, m->message_id, m->topic_arn, sb->arn, m->subject, msg, m->attrs, m->sigver,
                                   &m->sig);
        const tp_svc_t *s = tp_svc(ctx);
        if (s->invoker)
            rc = s->invoker(ctx, c, sb->endpoint, ev, strlen(ev), s->invoker_udata, err);
        else
            rc = sy_err_set(err, SY_E_INTERNAL, 500, "InternalFailure", "no function invoker");
        if (rc < 0 && rc != SY_E_DB) {
            sy_log(SY_LOG_WARN, "sns", NULL, "function invocation failed", "subscription", sb->arn, "error",
                   err->message);
            rc = 0;
        }
        free(ev);
    } else if (strcmp(sb->protocol, "http") == 0 || strcmp(sb->protocol, "https") == 0) {
        bool raw = attr_true(sb->attrs, "RawMessageDelivery");
        char *body = raw ? sy_strdup(msg)
                         : tp_envelope(ctx, "Notification", m->message_id, m->topic_arn, sb->arn, m->subject, msg,
                                       m->attrs, m->seq, m->sigver, &m->sig);
        char *dlq = tp_sub_dlq(sb->attrs);
        tp_policy_t pol;
        tp_policy_resolve(m->topic_dp, sy_json_str(sb->attrs, "DeliveryPolicy"), &pol);
        rc = tp_http_enqueue(ctx, c, sb->endpoint, "Notification", m->message_id, m->topic_arn, sb->arn, body, dlq,
                             &pol, err);
        free(dlq);
        free(body);
    }
    free(msg);
    return rc;
}

int tp_publish_tx(tp_svc_t *s, PGconn *c, tp_msg_t *m, sy_err_t *err)
{
    char *topic = tp_topic_name(m->topic_arn);
    if (!topic) return tp_notfound(err, "Topic");
    const char *p[1] = {topic};
    json_t *rows = tp_rows(c, err, TP_Q_TOPIC_VERSION, p);
    int rc = 0;
    tp_entry_t *e = NULL;
    hits_t hits = {0};
    if (!rows) {
        rc = SY_E_DB;
        goto done;
    }
    if (!json_array_size(rows)) {
        rc = tp_notfound(err, "Topic");
        goto done;
    }
    const json_t *row = json_array_get(rows, 0);
    int64_t version = strtoll(sy_json_str(row, "version"), NULL, 10);
    m->sigver = tp_sigver(sy_json_str(row, "sigver"));
    tp_sigver_remember(s, m->topic_arn, m->sigver);
    free(m->topic_dp);
    m->topic_dp = sy_json_str(row, "dpolicy") ? sy_strdup(sy_json_str(row, "dpolicy")) : NULL;
    e = entry_get(s, c, topic, version, err);
    if (!e) {
        rc = SY_E_DB;
        goto done;
    }
    if (!m->message_id[0]) sy_uuid4(m->message_id);
    if (m->group_id) { /* a FIFO topic */
        if (!m->dedup_id && strcasecmp(sy_json_str(json_array_get(rows, 0), "cbd"), "true") == 0) {
            sy_sha256_hex(m->message, strlen(m->message), m->dedup_buf);
            m->dedup_id = m->dedup_buf;
        }
        if (!m->dedup_id) {
            rc = tp_invalid(err, "The topic should either have ContentBasedDeduplication enabled or "
                                 "MessageDeduplicationId provided explicitly");
            goto done;
        }
        snprintf(m->seq, sizeof m->seq, "%020lld", (long long)sy_now_us());
    }
    if (sy_matcher_count(e->by_attrs)) {
        json_t *env = m->attrs ? tp_attrs_envelope(m->attrs) : json_object();
        char *ej = sy_json_dumps(env);
        sy_matcher_match(e->by_attrs, ej, strlen(ej), on_hit, &hits);
        free(ej);
        json_decref(env);
    }
    if (sy_matcher_count(e->by_body)) sy_matcher_match(e->by_body, m->message, strlen(m->message), on_hit, &hits);
    for (size_t i = 0; i < e->nsubs && rc == 0; i++) {
        const tp_sub_t *sb = &e->subs[i];
        if (!sb->confirmed || (sb->filtered && !hit(&hits, sb))) continue;
        rc = deliver(s->ctx, c, sb, m, err);
    }
    sy_metric_inc("switchyard_sns_published_total", NULL, 1);
done:
    for (size_t i = 0; i < hits.n; i++) free(hits.arns[i]);
    free(hits.arns);
    if (e) entry_release(s, e);
    json_decref(rows);
    free(topic);
    free(m->topic_dp);
    m->topic_dp = NULL;
    return rc;
}

int sy_topic_publish_tx(sy_ctx_t *ctx, PGconn *c, const char *topic_arn, const char *message, const char *subject,
                        json_t *msg_attrs, sy_err_t *err)
{
    tp_svc_t *s = tp_svc(ctx);
    if (!s) return sy_err_set(err, SY_E_INTERNAL, 500, "InternalError", "topics are not running");
    tp_msg_t m = {.topic_arn = topic_arn, .message = message, .subject = subject, .attrs = msg_attrs};
    bool fifo = strlen(topic_arn) > 5 && strcmp(topic_arn + strlen(topic_arn) - 5, ".fifo") == 0;
    if (fifo) { /* one group; a redelivered event is the same message */
        m.group_id = "default";
        sy_sha256_hex(message, strlen(message), m.dedup_buf);
        m.dedup_id = m.dedup_buf;
    }
    int rc = tp_check_message(&m, fifo, err);
    if (rc == 0) rc = tp_publish_tx(s, c, &m, err);
    tp_sig_clear(&m.sig);
    return rc;
}
