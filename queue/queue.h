/* queue/queue.h - the queue store (the one durable primitive) and the SQS API */
#ifndef SY_QUEUE_H
#define SY_QUEUE_H
#include "core/core.h"

/* Register the SQS routes and start the background threads (long-poll
 * listener, retention sweep, message-move tasks). */
int sy_queue_start(sy_ctx_t *ctx, sy_err_t *err);
void sy_queue_wake_all(sy_ctx_t *ctx); /* shutting down: long polls return */
void sy_queue_stop(sy_ctx_t *ctx);

/* ---- the primitive, for other services (topics, buses, functions, sfn) */
typedef struct {
    const char *body;
    size_t body_len;
    json_t *attrs;        /* borrowed: {"name": {"DataType":..,"StringValue"|"BinaryValue"}} or NULL */
    int delay_s;          /* -1: the queue's default */
    const char *group_id; /* FIFO */
    const char *dedup_id; /* FIFO; NULL: content-based when enabled */
} sy_msg_in_t;

typedef struct {
    char message_id[37];
    char md5_body[33], md5_attrs[33];
    char seq[24]; /* FIFO SequenceNumber or "" */
} sy_msg_sent_t;

/* Durable send into the queue named `name` (account from ctx). Returns 0
 * once committed (group commit), or <0 with err in SQS's terms. */
int sy_queue_send_by_name(sy_ctx_t *ctx, const char *name, const sy_msg_in_t *m, sy_msg_sent_t *out,
                          sy_err_t *err);
/* The same, inside the caller's open transaction on connection c (e.g. a
 * PutEvents writing the event and its deliveries atomically). Waiters are
 * woken by the NOTIFY when the caller commits. */
int sy_queue_tx_send(sy_ctx_t *ctx, PGconn *c, const char *name, const sy_msg_in_t *m, sy_msg_sent_t *out,
                     sy_err_t *err);
/* Delete a leased message inside the caller's open transaction. Sets
 * *deleted to whether the receipt was still current. */
int sy_queue_tx_delete(sy_ctx_t *ctx, PGconn *c, const char *name, const char *receipt, bool *deleted,
                       sy_err_t *err);

/* Change a leased message's visibility inside the caller's open transaction
 * on c (a row the caller has locked must not be updated from another
 * connection). Sets *changed to whether the receipt was still current. */
int sy_queue_tx_change_visibility(sy_ctx_t *ctx, PGconn *c, const char *name, const char *receipt, int visibility_s,
                                  bool *changed, sy_err_t *err);

/* The queue name of an SQS ARN in this account, or NULL. Caller frees. */
char *sy_queue_name_from_arn(const sy_ctx_t *ctx, const char *arn);

/* Create an internal queue (not listed by ListQueues) if it does not exist. */
int sy_queue_ensure_internal(sy_ctx_t *ctx, const char *name, int visibility_s, sy_err_t *err);

typedef struct {
    int64_t id;
    char message_id[37];
    char *receipt; /* handle for delete/visibility */
    char *body;
    json_t *attrs;
    int receive_count;
    int64_t sent_ms;
} sy_msg_out_t;
/* Lease up to max messages (visibility_s < 0: queue default) without waiting. */
int sy_queue_lease(sy_ctx_t *ctx, const char *name, int max, int visibility_s, sy_msg_out_t *out, int *n,
                   sy_err_t *err);
/* The same, every leased message taking the one receipt token `token`
 * ([0-9a-f-], under 40 characters; e.g. 32 random hex digits): a batch
 * named by its token (event-source mappings). Each message's receipt
 * handle stays unique (it also encodes the message id). */
int sy_queue_lease_shared(sy_ctx_t *ctx, const char *name, int max, int visibility_s, const char *token,
                          sy_msg_out_t *out, int *n, sy_err_t *err);
void sy_msg_out_clear(sy_msg_out_t *m);
/* The messages the shared token still leases, in id order, locked FOR
 * UPDATE inside the caller's open transaction on c. *out is an array of *n
 * (clear each, free the array); *n 0 when the batch was settled or leased
 * again since. */
int sy_queue_tx_leased_batch(sy_ctx_t *ctx, PGconn *c, const char *name, const char *token, sy_msg_out_t **out,
                             int *n, sy_err_t *err);
/* The message a receipt still leases, read and locked FOR UPDATE inside the
 * caller's open transaction on c (e.g. to settle a lease whose context is
 * not in memory). SY_E_NOTFOUND when the receipt is stale: the message was
 * deleted or leased again since. */
int sy_queue_tx_leased(sy_ctx_t *ctx, PGconn *c, const char *name, const char *receipt, sy_msg_out_t *out,
                       sy_err_t *err);
int sy_queue_delete_receipt(sy_ctx_t *ctx, const char *name, const char *receipt, sy_err_t *err);
int sy_queue_change_visibility(sy_ctx_t *ctx, const char *name, const char *receipt, int visibility_s,
                               sy_err_t *err);

/* The web console's read-only endpoints (queue/console.c; issue 16), added
 * in server/wiring.c: a JSON object in, *out a JSON object (caller decrefs).
 * stats: {"QueueNames":[<=100]} -> {"Queues":{name:{Visible, InFlight,
 * Delayed, OldestAgeSeconds, Fifo, DeadLetterTargetArn, MaxReceiveCount}}};
 * summary: {} -> {Queues, Messages, InFlight, OldestAgeSeconds};
 * peek: {"QueueName","MaxMessages"<=50} -> {"Messages":[...]} without
 * leasing or counting a receive. */
int sy_queue_console_stats(sy_ctx_t *ctx, const json_t *in, json_t **out, sy_err_t *err);
int sy_queue_console_summary(sy_ctx_t *ctx, const json_t *in, json_t **out, sy_err_t *err);
int sy_queue_console_peek(sy_ctx_t *ctx, const json_t *in, json_t **out, sy_err_t *err);
/* How deep queues are (the Lambda backlog; queue/depth.c): for each of the
 * n names, out[i] gets the visible, in-flight and delayed messages, each
 * counted up to metrics-depth-cap (zeros for a queue that does not exist). */
typedef struct {
    char name[96];
    int64_t visible, inflight, delayed;
} sy_queue_depth_t;
int sy_queue_depths(sy_ctx_t *ctx, const char *const *names, int n, sy_queue_depth_t *out, sy_err_t *err);
#endif
