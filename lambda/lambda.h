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
 * invocations and SQS event-source mappings) and the settle threads. Call
 * after sy_queue_start; the seams below are set afterwards by
 * server/wiring.c. */
int sy_lambda_start(sy_ctx_t *ctx, const char *endpoint, const sy_pool_opts_t *opts, sy_err_t *err);
/* Stops the threads and destroys the pool. NULL-safe, idempotent. */
void sy_lambda_stop(sy_ctx_t *ctx);
/* The broker's pool (NULL before sy_lambda_start). */
sy_pool_t *sy_lambda_pool(sy_ctx_t *ctx);

/* Where the outcome of an asynchronous invocation goes besides the
 * function's own destinations: a task of another service (a Step Functions
 * execution's), reported through the reply seam below in the transaction
 * that settles the invocation. */
typedef struct {
    const char *execution_arn; /* NULL: no reply */
    int64_t task_id;
} sy_lambda_reply_t;
/* THE entry point for invocations of functions from other services (SNS,
 * EventBridge, Step Functions, destinations): durable, asynchronous
 * (Lambda's InvocationType=Event). `function` is a name or a function ARN;
 * a qualifier ("name:live", "arn:...:function:name:3") names the version
 * or alias that runs (an unknown one: ResourceNotFoundException). With c (an open transaction) the invocation is
 * written in it and commits with the caller; with c NULL it is committed
 * (group commit) before this returns. A function not yet created is created
 * with defaults when a worker hosts it; otherwise ResourceNotFoundException.
 * reply_to may be NULL. Returns 0 or <0 with err (Lambda error codes). */
int sy_lambda_invoke_async(sy_ctx_t *ctx, PGconn *c, const char *function, const void *payload, size_t len,
                             const sy_lambda_reply_t *reply_to, sy_err_t *err);
/* EventBridge destinations (OnSuccess/OnFailure naming an event bus) go
 * through this seam, set by the composition root: put one event (source
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


/* The reply seam, set by the composition root (Step Functions:
 * sy_sfn_task_complete). Called with the outcome of an invocation made with
 * a reply_to: result (borrowed; the function's response as JSON) on
 * success, or error (an error name, e.g. "Unhandled", "Sandbox.Timedout",
 * "Lambda.EventAgeExceeded") + cause (the error body, JSON text) on failure.
 * c is the settle thread's open transaction, which deletes the invocation's
 * message: the reply commits with it or not at all. c is NULL for a task's
 * synchronous invocation (sy_lambda_invoke_for_task with express or no c);
 * then it is called on the pool thread and must not block for long. Return
 * 0, SY_E_NOTFOUND when nobody waits any more (dropped), or SY_E_DB (the
 * settle transaction is rolled back and re-run). Unset: an invocation
 * with a reply_to is not settled (its message returns with its visibility
 * timeout) and a synchronous task's outcome is dropped with a warning. */
typedef int (*sy_lambda_reply_fn)(sy_ctx_t *ctx, PGconn *c, const char *execution_arn, int64_t task_id,
                                  const json_t *result, const char *error, const char *cause, void *udata,
                                  sy_err_t *err);
void sy_lambda_set_reply_sink(sy_ctx_t *ctx, sy_lambda_reply_fn fn, void *udata);

/* A task of another service that runs a function (a Step Functions Task
 * state; the composition root maps the caller's own type onto this). */
typedef struct {
    const char *execution_arn; /* the outcome goes to the reply seam with... */
    int64_t task_id;           /* ...these two */
    const char *resource;      /* as written in the definition: "arn:aws:states:::lambda:invoke..."
                                  sends a string Payload as the raw body */
    const char *function;      /* name or function ARN, with a version or alias qualifier or not */
    const json_t *payload;     /* borrowed: the event */
    int64_t timeout_s;         /* the task's own timeout, 0: none (the function's applies) */
    bool express;              /* run synchronously through the pool (no durable invocation) */
} sy_lambda_task_t;
/* Invoke a function for a task. With c (an open transaction) and not
 * express: a durable asynchronous invocation written in c (as
 * sy_lambda_invoke_async with reply_to = the task); the outcome is reported
 * through the reply seam when it settles. Otherwise a synchronous
 * invocation through the worker pool, bounded by the smaller of the task's
 * and the function's timeout; its outcome goes to the reply seam with c
 * NULL. Returns 0 once accepted, or <0 with err: err->code is the error
 * name the task fails with ("Lambda.ResourceNotFoundException", with the
 * Lambda SDK's message text, "Lambda.ServiceException", ...); SY_E_DB is a
 * database error of c's transaction. Thread-safe. */
int sy_lambda_invoke_for_task(sy_ctx_t *ctx, PGconn *c, const sy_lambda_task_t *t, sy_err_t *err);


/* The web console's read-only endpoints (lambda/console.c; issue 16), added
 * in server/wiring.c. workers: {} -> {"Workers":[...] (see
 * sy_pool_workers_json), "Functions":[{Name, Workers, Concurrency,
 * FreeCredit}]}; summary: {} -> {Functions, EventSourceMappings, Workers}. */
int sy_lambda_console_workers(sy_ctx_t *ctx, const json_t *in, json_t **out, sy_err_t *err);
int sy_lambda_console_summary(sy_ctx_t *ctx, const json_t *in, json_t **out, sy_err_t *err);
#endif
