/* switchyard/handler.h - the C handler ABI of `switchyard worker`.
 *
 * A handler is a function in a shared object, named on the worker's command
 * line as --function NAME=so:/path/libfoo.so:symbol. Up to N invocations run
 * at once (--concurrency N), each on one of the function's N threads or, for
 * fast handlers, on the worker's socket thread (--inline-us): a handler must
 * be thread-safe and must not assume which thread it runs on (no per-thread
 * state kept between invocations). It needs nothing from Switchyard at link
 * time: everything comes through the context.
 *
 *   #include <switchyard/handler.h>
 *   int echo(const sy_handler_ctx_t *ctx, const char *event, size_t len) {
 *       ctx->log(ctx, SY_HANDLER_LOG_INFO, "got an event");
 *       ctx->respond(ctx, event, len);      // result JSON (copied)
 *       return 0;                           // 0: success
 *   }
 *
 * Return 0 for success: the result is what respond() was given ("null" when
 * it was not called). Return non-zero for a function error: the error is what
 * fail() was given (errorType "Unhandled" when it was not called); the caller
 * sees Lambda's {"errorMessage": ..., "errorType": ...} shape.
 *
 * If the shared object exports `int sy_handler_init(const char *function)`,
 * the worker calls it once before the first invocation; non-zero aborts
 * start-up.
 */
#ifndef SWITCHYARD_HANDLER_H
#define SWITCHYARD_HANDLER_H

#include <stddef.h>
#include <stdint.h>

#define SY_HANDLER_ABI_VERSION 2

enum { SY_HANDLER_LOG_DEBUG = 0, SY_HANDLER_LOG_INFO, SY_HANDLER_LOG_WARN, SY_HANDLER_LOG_ERROR };

typedef struct sy_handler_ctx sy_handler_ctx_t;
struct sy_handler_ctx {
    uint32_t abi_version;             /* SY_HANDLER_ABI_VERSION */
    const char *request_id;           /* the invocation id (Lambda's awsRequestId) */
    const char *function_name;
    const char *invoked_function_arn;
    const char *message_id;           /* durable deliveries: the message id, else "" */
    const char *trace_id;             /* X-Ray form of the traceparent, or "" */
    int64_t deadline_ms;              /* absolute epoch ms */
    uint32_t attempt;                 /* 1 for the first delivery */
    /* Structured log line on the worker's stderr, tagged with request_id. */
    void (*log)(const sy_handler_ctx_t *ctx, int level, const char *msg);
    /* Milliseconds left before the deadline (may be negative). */
    int64_t (*remaining_ms)(const sy_handler_ctx_t *ctx);
    /* Set the result payload (copied; a later call replaces it). */
    void (*respond)(const sy_handler_ctx_t *ctx, const void *body, size_t len);
    /* Set the error (copied); used when the handler returns non-zero. */
    void (*fail)(const sy_handler_ctx_t *ctx, const char *error_type, const char *error_message);
    /* Long tasks: ask the broker to keep this delivery's lease `ms` longer
     * from now (durable deliveries; a no-op for synchronous invocations).
     * It does not move deadline_ms (the function timeout still applies). */
    void (*extend)(const sy_handler_ctx_t *ctx, int64_t ms);
    void *opaque;                     /* the worker's; do not touch */
    /* ABI 2 (abi_version >= 2): the function's configuration as Lambda
     * gives it to a runtime (from the Lambda API's CreateFunction /
     * UpdateFunctionConfiguration, or the version invoked). */
    const char *function_version;     /* "$LATEST" or a published version ("3") */
    uint32_t memory_size_mb;          /* MemorySize (AWS_LAMBDA_FUNCTION_MEMORY_SIZE) */
    const char *log_group_name;       /* "/aws/lambda/NAME" */
    const char *log_stream_name;
    /* Environment.Variables of the function: the value of name, or NULL. */
    const char *(*env_get)(const sy_handler_ctx_t *ctx, const char *name);
};

/* The handler symbol's type. */
typedef int (*sy_function_handler_fn)(const sy_handler_ctx_t *ctx, const char *event, size_t len);
/* Optional `sy_handler_init` symbol's type. */
typedef int (*sy_function_init_fn)(const char *function);

#endif
