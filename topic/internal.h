/* topic/internal.h - shared inside topic/ only */
#ifndef SY_TOPIC_INTERNAL_H
#define SY_TOPIC_INTERNAL_H
#include "pattern/pattern.h"
#include "core/core.h"
#include "topic/topic.h"

#include <pthread.h>

#define SNS_XMLNS "http://sns.amazonaws.com/doc/2010-03-31/"
#define TP_HTTP_QUEUE "__sns_http"
#define TP_HTTP_LEASE_S 30 /* a delivery in flight; longer than a POST's timeout */
#define TP_HTTP_TIMEOUT_S 15 /* AWS's HTTP(S) delivery timeout */
#define TP_CACHE_MAX 1024 /* topics whose matchers a broker keeps */
#define TP_SIGVER_SLOTS 64 /* topics whose SignatureVersion a broker remembers */

/* One topic's subscriptions and filter matchers as of `version`. Shared
 * (refcounted) between publishers; replaced when the version moves. */
typedef struct {
    char *arn, *protocol, *endpoint;
    json_t *attrs; /* stored attributes (RawMessageDelivery, FilterPolicy, ...) */
    bool confirmed, filtered, body_scope;
} tp_sub_t;

typedef struct tp_entry {
    struct tp_entry *next;
    char *topic;
    int64_t version;
    int refs;
    tp_sub_t *subs;
    size_t nsubs;
    sy_matcher_t *by_attrs, *by_body;
} tp_entry_t;

/* Throttle state of one subscription on this broker (maxReceivesPerSecond). */
typedef struct tp_pace {
    struct tp_pace *next;
    char *sub;
    int64_t next_us;
} tp_pace_t;

typedef struct {
    sy_ctx_t *ctx;
    pthread_mutex_t mu;
    tp_entry_t *cache;
    pthread_t http_thread;
    bool http_up;
    sy_topic_invoke_fn invoker; /* Lambda subscriptions (seam, server/wiring.c) */
    void *invoker_udata;
    struct evp_pkey_st *sign_key; /* signing.c: the cluster's key pair (EVP_PKEY) */
    char *cert_pem, *cert_path;   /* its certificate and the path it is served at */
    char *key_pem;                /* signing.c: parsed into sign_key on first use */
    tp_pace_t *paces;             /* http.c, its thread only */
    struct {
        char arn[300];
        int ver;
    } sigvers[TP_SIGVER_SLOTS]; /* last SignatureVersion seen per topic (under mu) */
} tp_svc_t;

/* service.c: the state hanging off ctx->svc[SY_SVC_TOPIC] (NULL before
 * sy_topic_start); api.c: the SNS route */
tp_svc_t *tp_svc(const sy_ctx_t *ctx);
void sns_routes(sy_ctx_t *ctx);

/* A Notification's signature, made once per publish and reused by every
 * subscription that receives the same text (the signed string does not
 * name the subscription). */
typedef struct {
    int ver;
    char ts[32]; /* the publish's Timestamp */
    char mid[37]; /* and MessageId */
    char *msg, *sig;
} tp_sig_t;
void tp_sig_clear(tp_sig_t *c);

/* One message to fan out. */
typedef struct {
    const char *topic_arn;
    const char *message;
    const char *subject;
    json_t *attrs;         /* SQS-shaped message attributes or NULL */
    const char *structure; /* "json" or NULL */
    const char *group_id, *dedup_id;
    int sigver;          /* the topic's SignatureVersion (1, 2), set by tp_publish_tx */
    char *topic_dp;      /* the topic's DeliveryPolicy (owned, set by tp_publish_tx) */
    tp_sig_t sig;        /* owned: tp_sig_clear */
    char message_id[37];
    char seq[24];
    char dedup_buf[65]; /* content-based deduplication id */
} tp_msg_t;

int tp_publish_tx(tp_svc_t *s, PGconn *c, tp_msg_t *m, sy_err_t *err);
/* Validate the message and its attributes (before any transaction). */
int tp_check_message(const tp_msg_t *m, bool fifo_topic, sy_err_t *err);
void tp_cache_free(tp_svc_t *s);

/* envelope.c */
char *tp_base_url(const sy_ctx_t *ctx);
json_t *tp_attrs_envelope(const json_t *attrs); /* {"n":{"Type","Value"}} */
/* sig: the publish's signature cache (NULL: sign here, now). */
char *tp_envelope(const sy_ctx_t *ctx, const char *type, const char *message_id, const char *topic_arn,
                  const char *sub_arn, const char *subject, const char *message, const json_t *attrs, const char *seq,
                  int sigver, tp_sig_t *sig);
char *tp_lambda_event(const sy_ctx_t *ctx, const char *message_id, const char *topic_arn, const char *sub_arn,
                      const char *subject, const char *message, const json_t *attrs, int sigver, tp_sig_t *sig);
/* Sign m's default text ahead of the transaction (on the request's thread,
 * with the topic's last known SignatureVersion): the group commit's writer
 * then only copies the signature. */
void tp_presign(tp_svc_t *s, tp_msg_t *m);
char *tp_message_for(const tp_msg_t *m, const char *protocol); /* fanout.c */
void tp_sigver_remember(tp_svc_t *s, const char *topic_arn, int ver);
/* A SubscriptionConfirmation or UnsubscribeConfirmation, signed. */
char *tp_confirmation(const sy_ctx_t *ctx, const char *type, const char *topic_arn, const char *sub_arn,
                      const char *token, int sigver, char message_id[37]);

/* signing.c */
int tp_sign_start(tp_svc_t *s, sy_err_t *err); /* load, or make once per cluster */
void tp_sign_stop(tp_svc_t *s);
void tp_cert_routes(sy_ctx_t *ctx);
char *tp_cert_url(const sy_ctx_t *ctx);
/* AWS's string to sign of an envelope (by its Type), or NULL. */
char *tp_canonical(const json_t *env);
/* Set SignatureVersion and Signature (1: SHA1withRSA, 2: SHA256withRSA). */
void tp_sign(const sy_ctx_t *ctx, json_t *env, int sigver);
int tp_sigver(const char *attr); /* "2" -> 2, else 1 */

/* policy.c: DeliveryPolicy */
typedef struct {
    int num_retries, no_delay, min_retries, max_retries, min_delay, max_delay;
    char backoff[12];
    int max_per_s; /* throttlePolicy.maxReceivesPerSecond, 0: none */
    char content_type[64];
} tp_policy_t;
void tp_policy_default(tp_policy_t *p);
/* Validate a DeliveryPolicy value: the topic shape ({"http":{...}}) or the
 * subscription shape; in_attributes: the message says "Attributes Reason". */
int tp_policy_check(const char *text, bool topic, bool in_attributes, sy_err_t *err);
void tp_policy_resolve(const char *topic_dp, const char *sub_dp, tp_policy_t *p);
char *tp_policy_effective_sub(const char *topic_dp, const char *sub_dp);
char *tp_policy_effective_topic(const char *topic_dp);
int tp_policy_delay_s(const tp_policy_t *p, int retry); /* -1: no retry left */
json_t *tp_policy_pack(const tp_policy_t *p);
void tp_policy_unpack(const json_t *j, tp_policy_t *p);

/* http.c: the HTTP(S) delivery thread over the internal queue */
/* dlq: the subscription's dead-letter queue ARN (RedrivePolicy) or NULL */
int tp_http_enqueue(sy_ctx_t *ctx, PGconn *c, const char *endpoint, const char *type, const char *message_id,
                    const char *topic_arn, const char *sub_arn, const char *body, const char *dlq,
                    const tp_policy_t *policy, sy_err_t *err);
/* The deadLetterTargetArn of a subscription's RedrivePolicy, or NULL
 * (caller frees). */
char *tp_sub_dlq(const json_t *sub_attrs);
int tp_http_start(tp_svc_t *s, sy_err_t *err);
void tp_http_stop(tp_svc_t *s);

/* store.c: the only SQL. Statements are named and prepared per backend. */
typedef enum {
    TP_Q_TOPIC_BUMP,
    TP_Q_TOPIC_LOCK,
    TP_Q_SUB_FIND,
    TP_Q_SUB_INSERT,
    TP_Q_SUB_CONFIRM,
    TP_Q_SUB_DELETE,
    TP_Q_SUB_PAGE,
    TP_Q_TOPIC_EXISTS,
    TP_Q_SUB_GET,
    TP_Q_SUB_SET_ATTRS,
    TP_Q_TOPIC_INSERT,
    TP_Q_TOPIC_DELETE,
    TP_Q_TOPIC_PAGE,
    TP_Q_TOPIC_GET,
    TP_Q_TOPIC_SET_ATTR,
    TP_Q_TOPIC_TAGS,
    TP_Q_SUBS_OF_TOPIC,
    TP_Q_TOPIC_VERSION,
    TP_Q_TOPIC_TAG,
    TP_Q_TOPIC_UNTAG,
    TP_Q_SIGNING_GET,
    TP_Q_SIGNING_INSERT,
    TP_Q_TOMB_INSERT,
    TP_Q_TOMB_TAKE,
    TP_Q_SUB_RESTORE,
    TP_Q_TOPIC_RAW,
    TP_Q_COUNT
} tp_q_t;
typedef enum { TP_SP_SET, TP_SP_RELEASE, TP_SP_ROLLBACK } tp_sp_t;
/* Transactions: core's sy_pg_tx; inside one, a savepoint per batch entry. */
int tp_savepoint(PGconn *c, tp_sp_t op, sy_err_t *err);
/* Run statement q on c; rows as an array of objects (text columns, JSON
 * null for NULL), or NULL + err. */
json_t *tp_rows(PGconn *c, sy_err_t *err, tp_q_t q, const char *const *p);
int tp_cmd(PGconn *c, sy_err_t *err, tp_q_t q, const char *const *p, int *affected);
/* The same on a pooled connection, autocommit; rows may be NULL. */
int tp_db(sy_ctx_t *ctx, sy_err_t *err, tp_q_t q, const char *const *p, json_t **rows);
/* store_console.c: counts for the web console's overview, NULL on error */
json_t *tp_store_console_summary(sy_ctx_t *ctx, sy_err_t *err);
json_t *tp_store_console_list(sy_ctx_t *ctx, const char *prefix, const char *after, int max, sy_err_t *err);

/* errors */
int tp_invalid(sy_err_t *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int tp_notfound(sy_err_t *err, const char *what);
char *tp_topic_name(const char *arn); /* NULL when not an SNS topic ARN */
/* authz.c: the access check of one request; 0 when allowed */
int tp_authorize(sy_ctx_t *ctx, const sy_req_t *req, const json_t *in, sy_err_t *err);
#endif
