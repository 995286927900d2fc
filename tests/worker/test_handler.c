/* tests/worker/test_handler.c - C handlers for the worker tests and the
 * benchmark, built as a shared object (the worker dlopens it). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "switchyard/handler.h"

static long long now_us(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (long long)tv.tv_sec * 1000000 + tv.tv_usec;
}

/* The event, unchanged. */
int echo(const sy_handler_ctx_t *ctx, const char *event, size_t len)
{
    ctx->respond(ctx, event, len);
    return 0;
}

/* Always a function error. */
int fail(const sy_handler_ctx_t *ctx, const char *event, size_t len)
{
    (void)event;
    (void)len;
    ctx->log(ctx, SY_HANDLER_LOG_WARN, "failing on purpose");
    ctx->fail(ctx, "ValidationError", "the order has no items");
    return 1;
}

/* {"sleep_ms": N}: sleeps, then answers with its pid and start/end times
 * (epoch us) so tests can measure how many ran at once, and where. */
int slow(const sy_handler_ctx_t *ctx, const char *event, size_t len)
{
    (void)len;
    long ms = 100;
    const char *p = strstr(event, "\"sleep_ms\"");
    if (p && (p = strchr(p, ':'))) ms = strtol(p + 1, NULL, 10);
    long long start = now_us();
    usleep((useconds_t)ms * 1000);
    char out[256];
    int n = snprintf(out, sizeof out,
                     "{\"pid\":%d,\"start_us\":%lld,\"end_us\":%lld,\"attempt\":%u,\"request_id\":\"%s\"}",
                     (int)getpid(), start, now_us(), ctx->attempt, ctx->request_id);
    ctx->respond(ctx, out, (size_t)n);
    return 0;
}

/* The context as JSON. */
int ctxinfo(const sy_handler_ctx_t *ctx, const char *event, size_t len)
{
    (void)event;
    (void)len;
    char out[1024];
    int n = snprintf(out, sizeof out,
                     "{\"abi\":%u,\"request_id\":\"%s\",\"function\":\"%s\",\"arn\":\"%s\","
                     "\"trace_id\":\"%s\",\"attempt\":%u,\"remaining_ok\":%s}",
                     ctx->abi_version, ctx->request_id, ctx->function_name,
                     ctx->invoked_function_arn, ctx->trace_id, ctx->attempt,
                     ctx->remaining_ms(ctx) > 0 && ctx->remaining_ms(ctx) <= 5000 ? "true" : "false");
    ctx->respond(ctx, out, (size_t)n);
    return 0;
}

/* A long task that keeps its lease: one EXTEND, then a short sleep. */
int extender(const sy_handler_ctx_t *ctx, const char *event, size_t len)
{
    ctx->extend(ctx, 60000);
    usleep(100 * 1000);
    ctx->respond(ctx, event, len);
    return 0;
}
