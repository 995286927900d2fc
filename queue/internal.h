/* queue/internal.h - shared inside queue/ only */
#ifndef SY_QUEUE_INTERNAL_H
#define SY_QUEUE_INTERNAL_H
#include "queue/queue.h"

#define SQS_XMLNS "http://queue.amazonaws.com/doc/2012-11-05/"
#define SQS_MAX_MESSAGE_SIZE 1048576

#define QCACHE_BUCKETS 4096 /* the settings cache (engine.c) */

/* A queue's settings as the engine needs them. */
typedef struct {
    int64_t id;
    char name[96];
    bool fifo;
    int delay_s, max_size, retention_s, wait_s, visibility_s;
    bool content_dedup, dedup_per_group;
    int max_receive;        /* RedrivePolicy maxReceiveCount, 0: none */
    char dlq_name[96];      /* RedrivePolicy target queue name */
    json_t *attrs;          /* all settable attributes (owned) */
    int64_t created_s, modified_s;
} sy_queue_t;

void sy_queue_clear(sy_queue_t *q);

/* engine state hanging off ctx->svc[SY_SVC_QUEUE] */
typedef struct waiter waiter_t;
typedef struct {
    sy_ctx_t *ctx;
    pthread_mutex_t mu;
    uint64_t *wake_seq;         /* per-queue wake counters (hashed) */
    waiter_t **waiting;         /* parked long polls per slot, oldest first */
    pthread_t listener, sweeper, notifier;
    /* notifier: queue ids to NOTIFY other brokers about, after commit */
    pthread_mutex_t notify_mu;
    pthread_cond_t notify_cv;
#define NOTIFY_MAX 256
    int64_t pending[NOTIFY_MAX];
    int npending;
    bool pending_overflow;
    int notifier_pid; /* backend pid of the notifier, to skip our own */
    bool threads_up;
    volatile bool stop;
    double time_scale;
    int min_retention_s;        /* 60, or lower for tests */
    int sweep_ms;
    /* queue settings cache: name -> settings, 1 s TTL (AWS itself takes up
     * to 60 s to propagate attribute changes); invalidated on local writes */
    sy_gc_t *lease_gc; /* combines concurrent leases of standard queues */
    pthread_mutex_t cache_mu;
    struct qcache_entry *cache[QCACHE_BUCKETS];
    uint64_t cache_gen; /* bumped by every invalidation, under cache_mu */
    struct qdepth *depth;       /* depth.c: the depth gauges */
} queue_engine_t;
typedef struct qdepth qdepth_t;
/* depth.c / store_depth.c (issue 11) */
void depth_start(queue_engine_t *e);
void depth_stop(queue_engine_t *e);
int store_queue_depths(sy_ctx_t *ctx, const char *names_array, int cap, sy_queue_depth_t **out, int *n,
                       sy_err_t *err);
#define WAKE_SLOTS 1024

/* engine.c: the engine state, the settings cache, receive */
queue_engine_t *queue_engine(const sy_ctx_t *ctx); /* NULL before sy_queue_start */
/* A queue's settings by name, through the cache; QueueDoesNotExist when none. */
int queue_get(sy_ctx_t *ctx, const char *name, sy_queue_t *out, sy_err_t *err);
int queue_get_on(sy_ctx_t *ctx, PGconn *c, const char *name, sy_queue_t *out, sy_err_t *err); /* in c's transaction */
void qcache_invalidate(queue_engine_t *e, const char *name);
void qcache_invalidate_all(queue_engine_t *e); /* the listener lost (or has just made) its connection */
/* A queue was created, deleted, or its attributes or policy changed: this
 * broker's cached copy goes now, every other broker's when it hears of it. */
void queue_changed(sy_ctx_t *ctx, const char *name);
void qcache_free(queue_engine_t *e);

static inline int err_nonexistent(sy_err_t *err)
{
    return sy_err_set2(err, SY_E_NOTFOUND, 400, "QueueDoesNotExist", "AWS.SimpleQueueService.NonExistentQueue",
                       "The specified queue does not exist.");
}

/* attrs.c: validate and apply attributes */
int attrs_defaults(bool fifo, json_t *out);
int attrs_apply(const queue_engine_t *e, bool fifo, bool creating, json_t *in, json_t *attrs, sy_err_t *err);
int queue_from_row(sy_queue_t *q, int64_t id, const char *name, bool fifo, json_t *attrs);

/* message.c: validation and MD5s */
int msg_validate_body(const char *body, size_t len, sy_err_t *err);
int msg_validate_attrs(json_t *attrs, size_t *size_out, sy_err_t *err);
void msg_md5_attrs(json_t *attrs, char out[33]); /* "" when no attributes */
json_t *msg_filter_attrs(json_t *attrs, json_t *names); /* new ref or NULL */

/* receipts: "<queue_id>:<message_id>:<token>" base64 */
char *receipt_encode(int64_t qid, int64_t mid, const char *token);
int receipt_decode(const char *handle, int64_t *qid, int64_t *mid, char *token, size_t tn);

/* store_queue.c */
/* One statement on a pooled connection (autocommit); NULL + err on failure. */
PGresult *store_autocommit(sy_ctx_t *ctx, sy_err_t *err, const char *sql, int n, const char *const *p);
int store_queue_create(sy_ctx_t *ctx, const char *name, bool fifo, json_t *attrs, json_t *tags, int retention_s,
                       bool internal, sy_queue_t *out, bool *created, sy_err_t *err);
int store_queue_get(sy_ctx_t *ctx, const char *name, sy_queue_t *out, sy_err_t *err); /* uncached: queue_get */
/* the same on the caller's connection (inside its transaction: a send that
 * is part of another write never waits for a second connection) */
int store_queue_get_on(PGconn *c, const char *account, const char *name, sy_queue_t *out, sy_err_t *err);
int store_queue_delete(sy_ctx_t *ctx, int64_t id, sy_err_t *err);
int store_queue_list(sy_ctx_t *ctx, const char *prefix, const char *after, int max, json_t *names, sy_err_t *err);
int store_queue_set_attrs(sy_ctx_t *ctx, int64_t id, json_t *attrs, int retention_s, sy_err_t *err);
int store_queue_counts(sy_ctx_t *ctx, int64_t id, int64_t counts[3], sy_err_t *err);
int store_queue_purge(sy_ctx_t *ctx, int64_t id, sy_err_t *err);
int store_queue_tags(sy_ctx_t *ctx, int64_t id, json_t *set, json_t *remove, json_t **out, sy_err_t *err);
int store_queue_permissions(sy_ctx_t *ctx, int64_t id, const char *queue_arn, const char *label, json_t *stmt,
                            sy_err_t *err);
/* The access check of one request (queue/authz.c); 0 when allowed. */
int sqs_authorize(const sy_req_t *req, const json_t *in, sy_err_t *err);
int store_queue_dlq_sources(sy_ctx_t *ctx, const char *dlq_arn, json_t *names, sy_err_t *err);
/* the web console's reads (store_console.c): one JSON document each, NULL on error */
json_t *store_console_stats(sy_ctx_t *ctx, const char *names_json, sy_err_t *err);
json_t *store_console_summary(sy_ctx_t *ctx, sy_err_t *err);
json_t *store_console_peek(sy_ctx_t *ctx, int64_t queue_id, int max, sy_err_t *err);

/* store_send.c */
typedef struct {
    queue_engine_t *engine; /* to wake local waiters after commit */
    int64_t queue_id;
    bool fifo;
    int delay_s;
    const char *body;
    char *attrs_json, *sys_json; /* owned */
    char uuid[37], md5_body[33], md5_attrs[33];
    const char *group_id;
    char *dedup_key;            /* owned; FIFO only */
    const char *dedup_id;
    const char *sender_id;
    /* outputs */
    int64_t seq;
    char out_uuid[37];
} send_job_t;
void store_send_batch(PGconn *c, void **args, int n, int *rcs, sy_err_t *errs);
int store_send_one(PGconn *c, send_job_t *j, sy_err_t *err);

/* store_message.c */
typedef struct {
    int64_t id;
    char uuid[37];
    char *receipt, *body, *md5_body, *md5_attrs;
    json_t *attrs, *sys_attrs;
    int receive_count;
    int64_t sent_ms, first_ms;
    char *group_id, *dedup_id, *sender_id;
} leased_t;
void leased_clear(leased_t *l);

/* api_messages.c: a message of a ReceiveMessage response goes into a
 * json_t (the query protocol's XML is made from it) or straight into the
 * JSON 1.0 body: the same members in the same order, byte for byte what
 * json_dumps writes of the json_t (tests/unit/test_receive_json.c). */
typedef struct {
    json_t *obj, *attrs; /* tree: the message (caller's), its Attributes */
    sy_buf_t *b;         /* or the body */
    bool attrs_open;
} resp_msg_t;
void resp_message(resp_msg_t *o, const leased_t *l, const sy_queue_t *q, json_t *sys_names, json_t *attr_names);
/* Lease up to max messages of q. dlq_id: the queue its over-received
 * messages move to (0: none). combine: the group committer that merges
 * concurrent leases of a standard queue into one statement, or NULL. */
int store_receive(sy_ctx_t *ctx, sy_gc_t *combine, const sy_queue_t *q, int64_t dlq_id, int max, int visibility_s,
                  leased_t *out, int *n, sy_err_t *err);
int store_receive_shared(sy_ctx_t *ctx, const sy_queue_t *q, int64_t dlq_id, int max, int visibility_s,
                         const char *token, leased_t *out, int *n, sy_err_t *err);
/* engine.c: the same with the engine's combiner and q's dead-letter queue */
int queue_receive(sy_ctx_t *ctx, const sy_queue_t *q, int max, int visibility_s, leased_t *out, int *n, sy_err_t *err);
int queue_receive_shared(sy_ctx_t *ctx, const sy_queue_t *q, int max, int visibility_s, const char *token,
                         leased_t *out, int *n, sy_err_t *err);
/* *out: *n rows, caller frees each (leased_clear) and the array */
int store_leased_batch(PGconn *c, int64_t queue_id, const char *token, leased_t **out, int *n, sy_err_t *err);

typedef struct {
    int64_t queue_id, msg_id;
    char token[40];
    int visibility_s; /* for change-visibility jobs */
    bool found;
} receipt_job_t;
void store_delete_batch(PGconn *c, void **args, int n, int *rcs, sy_err_t *errs);
int store_change_visibility(sy_ctx_t *ctx, receipt_job_t *jobs, int n, sy_err_t *err);
int store_change_visibility_on(PGconn *c, receipt_job_t *jobs, int n, sy_err_t *err);
int store_leased_by_receipt(PGconn *c, const receipt_job_t *j, leased_t *out, sy_err_t *err);

/* send.c */
int send_prepare(queue_engine_t *e, const sy_queue_t *q, const sy_msg_in_t *m, json_t *sys_attrs,
                 const char *sender, send_job_t *j, sy_err_t *err);
void send_job_clear(send_job_t *j);
void send_result(const send_job_t *j, sy_msg_sent_t *out);
/* group commit's after-commit step for sends: wake local waiters, queue the
 * NOTIFY for other brokers */
void send_after_commit(void **args, int n, const int *rcs);

/* waiters.c: long polling, local and across brokers (LISTEN/NOTIFY) */
uint64_t waiters_seq(queue_engine_t *e, int64_t qid);
void waiters_wake(queue_engine_t *e, int64_t qid);                 /* everyone on qid */
void waiters_wake_n(queue_engine_t *e, int64_t qid, long count);   /* enough for count messages */
void waiters_stop(queue_engine_t *e);
void notify_later(queue_engine_t *e, int64_t qid);
/* Park until woken for qid, 1 s passes, or the deadline (mono us); returns
 * at once if qid was woken since `seq` was read. */
void waiters_wait(queue_engine_t *e, int64_t qid, uint64_t seq, int want, int64_t deadline_us);
int waiters_start(queue_engine_t *e, sy_err_t *err);

/* store_notify.c: a connection LISTENing on sy_queue (NULL when it could
 * not connect or listen); the notifier's connection (asynchronous commit);
 * one NOTIFY per queue id, or '*' for all (logged when it fails) */
PGconn *store_listen_connect(const char *conninfo);
PGconn *store_notify_connect(const char *conninfo);
void store_notify(PGconn *c, const int64_t *ids, int n, bool all);
/* NOTIFY sy_queue "s:<name>": the queue's settings changed (logged when it
 * fails; the other brokers' caches then catch up within their TTL) */
void store_queue_changed(sy_ctx_t *ctx, const char *name);

/* store_message.c: retention expiry, orphans of deleted queues,
 * in bounded steps from *cursor (0: a new pass); 1 when the pass is done */
int store_sweep(sy_ctx_t *ctx, int64_t *cursor, int64_t *expired, sy_err_t *err);
/* FIFO deduplication rows past their 5-minute window (once a sweep interval) */
int store_sweep_dedup(sy_ctx_t *ctx, sy_err_t *err);

/* sweeper.c: retention, dedup expiry, message-move tasks */
int sweeper_start(queue_engine_t *e);

/* store_move.c */
typedef struct {
    char *handle, *status, *source_arn;
    char *dest_arn, *failure; /* NULL when none */
    int rate;                 /* MaxNumberOfMessagesPerSecond, 0: none */
    int64_t moved, to_move, started_ms;
} move_task_t;
void move_task_clear(move_task_t *t);
typedef struct {
    char *handle;
    int64_t source_id;
    char *dest_arn; /* NULL: back to each message's source queue */
    int64_t budget; /* messages to move this tick; < 1: none yet */
} move_step_t;
void move_step_clear(move_step_t *s);
/* SY_E_EXISTS (err untouched) when a task already runs for the source */
int store_move_insert(sy_ctx_t *ctx, const char *handle, int64_t src_id, const char *src_arn, const char *dest_arn,
                      int rate, sy_err_t *err);
/* *out: *n tasks, newest first; caller clears each and frees the array */
int store_move_list(sy_ctx_t *ctx, int64_t src_id, int max, move_task_t **out, int *n, sy_err_t *err);
/* SY_E_NOTFOUND (err untouched) when no such running task */
int store_move_cancel(sy_ctx_t *ctx, const char *handle, int64_t *moved, sy_err_t *err);
/* inside the caller's transaction: claim running tasks, move one step */
int store_move_claim(PGconn *c, move_step_t **out, int *n, sy_err_t *err);
int store_move_step(PGconn *c, const sy_ctx_t *ctx, const move_step_t *s, const char *dest_name, int64_t *moved,
                    sy_err_t *err);

/* move.c */
int move_start(sy_ctx_t *ctx, const sy_queue_t *src, const char *src_arn, const char *dest_arn, int rate,
               char *handle_out, sy_err_t *err);
int move_list(sy_ctx_t *ctx, const sy_queue_t *src, int max, json_t *out, sy_err_t *err);
int move_cancel(sy_ctx_t *ctx, const char *handle, int64_t *moved, sy_err_t *err);
void move_tick(sy_ctx_t *ctx);

/* service.c: sy_queue_start / sy_queue_stop; api.c: the SQS routes */
void sqs_routes(sy_ctx_t *ctx);

/* api helpers */
const char *queue_url(const sy_req_t *req, const char *name, char *buf, size_t n);
char *queue_name_from_url(const char *url); /* NULL if malformed */
int param_int(const json_t *in, const char *key, int64_t *out, bool *present, sy_err_t *err);
int resolve_queue(const sy_req_t *req, sy_queue_t *q, sy_err_t *err);
#endif
