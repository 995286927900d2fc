/* lambda/lambda.h - the one public header of lambda/: the Lambda service
 * (rest-json API under /2015-03-31/...): functions' configuration, Invoke
 * (sync through the worker pool, async through each function's durable
 * queue), retries and destinations, and SQS event-source mappings. It runs
 * the broker's worker pool (worker/) as its delivery mechanism. */
#ifndef SY_LAMBDA_H
#define SY_LAMBDA_H

#include "core/core.h"
#include "worker/worker.h"

/* Start the Lambda API (routes under /2015-03-31/functions, ...), the
 * broker's pool on `endpoint` (opts: heartbeats and security; the lease
 * source is the function dispatcher's own), the dispatcher thread (async
 * invocations and SQS event-source mappings) and the settle threads, and
 * register the Step Functions function invoker. Call after sy_queue_start and
 * sy_sfn_start. */
int sy_lambda_start(sy_ctx_t *ctx, const char *endpoint, const sy_pool_opts_t *opts, sy_err_t *err);
/* Stops the threads and destroys the pool. NULL-safe, idempotent. */
void sy_lambda_stop(sy_ctx_t *ctx);
/* The broker's pool (NULL before sy_lambda_start). */
sy_pool_t *sy_lambda_pool(sy_ctx_t *ctx);

/* Where the outcome of an asynchronous invocation goes besides the
 * function's own destinations: a Step Functions task (completed with
 * sy_sfn_task_complete in the transaction that settles the invocation). */
typedef struct {
    const char *execution_arn; /* NULL: no reply */
    int64_t task_id;
} sy_lambda_reply_t;
/* THE entry point for invocations of functions from other services (SNS,
 * EventBridge, Step Functions, destinations): durable, asynchronous
 * (Lambda's InvocationType=Event). `function` is a name or a function ARN
 * (a qualifier is ignored). With c (an open transaction) the invocation is
 * written in it and commits with the caller; with c NULL it is committed
 * (group commit) before this returns. A function not yet created is created
 * with defaults when a worker hosts it; otherwise ResourceNotFoundException.
 * reply_to may be NULL. Returns 0 or <0 with err (Lambda error codes). */
int sy_lambda_invoke_async(sy_ctx_t *ctx, PGconn *c, const char *function, const void *payload, size_t len,
                             const sy_lambda_reply_t *reply_to, sy_err_t *err);
/* EventBridge destinations (OnSuccess/OnFailure naming an event bus) go
 * through this seam, set by bus/ once it exists: put one event (source
 * "lambda", detail-type "Lambda Function Invocation Result - Success" or
 * "- Failure", detail = the invocation record) on bus_arn, inside c when
 * not NULL. Unset: such records are dropped with a warning. */
typedef int (*sy_lambda_bus_sink_fn)(sy_ctx_t *ctx, PGconn *c, const char *bus_arn, const char *source,
                                       const char *detail_type, const char *detail_json, void *u, sy_err_t *err);
void sy_lambda_set_bus_sink(sy_ctx_t *ctx, sy_lambda_bus_sink_fn fn, void *u);
/* Destinations naming an SNS topic go through this seam, set by the
 * composition root: publish the invocation record (message) to topic_arn
 * inside c. Unset: such records are dropped with a warning. */
typedef int (*sy_lambda_topic_sink_fn)(sy_ctx_t *ctx, PGconn *c, const char *topic_arn, const char *message,
                                         void *u, sy_err_t *err);
void sy_lambda_set_topic_sink(sy_ctx_t *ctx, sy_lambda_topic_sink_fn fn, void *u);

#endif
