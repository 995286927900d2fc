/* tests/worker/test_handler.c - C handlers for the worker tests and the
 * benchmark, built as a shared object (the worker dlopens it). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
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

/* {"sleep_ms": N}: sleeps, then answers with its pid, thread id and
 * start/end times (epoch us) so tests can measure how many ran at once, and
 * where (tid == pid: the worker's main thread). */
int slow(const sy_handler_ctx_t *ctx, const char *event, size_t len)
{
    (void)len;
    long ms = 100;
    const char *p = strstr(event, "\"sleep_ms\"");
    if (p && (p = strchr(p, ':'))) ms = strtol(p + 1, NULL, 10);
    ctx->log(ctx, SY_HANDLER_LOG_INFO, "slow handler started");
    long long start = now_us();
    usleep((useconds_t)ms * 1000);
    char out[256];
    int n = snprintf(out, sizeof out,
                     "{\"pid\":%d,\"tid\":%ld,\"start_us\":%lld,\"end_us\":%lld,\"attempt\":%u,"
                     "\"request_id\":\"%s\"}",
                     (int)getpid(), (long)syscall(SYS_gettid), start, now_us(), ctx->attempt,
                     ctx->request_id);
    ctx->respond(ctx, out, (size_t)n);
    return 0;
}

/* {"sleep_ms": N}: sleeps, then fails (attempt in the message). */
int slow_fail(const sy_handler_ctx_t *ctx, const char *event, size_t len)
{
    (void)len;
    long ms = 100;
    const char *p = strstr(event, "\"sleep_ms\"");
    if (p && (p = strchr(p, ':'))) ms = strtol(p + 1, NULL, 10);
    ctx->log(ctx, SY_HANDLER_LOG_INFO, "slow_fail handler started");
    usleep((useconds_t)ms * 1000);
    char msg[64];
    snprintf(msg, sizeof msg, "failed on attempt %u", ctx->attempt);
    ctx->fail(ctx, "SlowFailure", msg);
    return 1;
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

/* The function configuration of ABI 2 as JSON (issue 12). */
int config_info(const sy_handler_ctx_t *ctx, const char *event, size_t len)
{
    (void)event;
    (void)len;
    char out[1024];
    const char *g = ctx->abi_version >= 2 ? ctx->env_get(ctx, "GREETING") : NULL;
    int n = snprintf(out, sizeof out,
                     "{\"abi\":%u,\"version\":\"%s\",\"memory\":%u,\"greeting\":\"%s\",\"log_group\":\"%s\","
                     "\"arn\":\"%s\",\"remaining_ms\":%lld}",
                     ctx->abi_version, ctx->function_version, ctx->memory_size_mb, g ? g : "",
                     ctx->log_group_name, ctx->invoked_function_arn, (long long)ctx->remaining_ms(ctx));
    ctx->respond(ctx, out, (size_t)n);
    return 0;
}

/* A long task that keeps its lease: one EXTEND, then a short sleep
 * (SY_TEST_SLOW_MS in the worker's environment, default 100 ms). */
int extender(const sy_handler_ctx_t *ctx, const char *event, size_t len)
{
    ctx->extend(ctx, 60000);
    const char *ms = getenv("SY_TEST_SLOW_MS");
    usleep((useconds_t)(ms ? atol(ms) : 100) * 1000);
    ctx->respond(ctx, event, len);
    return 0;
}

/* An SQS event-source handler: reports every record whose body contains
 * "fail" in batchItemFailures (ReportBatchItemFailures). */
int sqs_partial(const sy_handler_ctx_t *ctx, const char *event, size_t len)
{
    (void)len;
    size_t cap = 64, n = 0;
    char *out = malloc(cap);
    n += (size_t)snprintf(out, cap, "{\"batchItemFailures\":[");
    int first = 1;
    for (const char *p = strstr(event, "\"messageId\""); p; p = strstr(p + 1, "\"messageId\"")) {
        const char *q = strchr(p + 11, '"');
        if (!q) break;
        const char *e = strchr(q + 1, '"');
        if (!e) break;
        const char *next = strstr(e, "\"messageId\"");
        const char *body = strstr(e, "\"body\"");
        const char *f = body ? strstr(body, "fail") : NULL;
        if (f && (!next || f < next)) {
            size_t idl = (size_t)(e - q - 1);
            while (n + idl + 64 > cap) {
                cap *= 2;
                out = realloc(out, cap);
            }
            n += (size_t)snprintf(out + n, cap - n, "%s{\"itemIdentifier\":\"%.*s\"}", first ? "" : ",", (int)idl, q + 1);
            first = 0;
        }
    }
    while (n + 4 > cap) {
        cap *= 2;
        out = realloc(out, cap);
    }
    n += (size_t)snprintf(out + n, cap - n, "]}");
    ctx->respond(ctx, out, n);
    free(out);
    return 0;
}

/* sqs_partial, slowly: logs "sqs record started <body>" for every record
 * (tests count runs per message), sleeps 4 s (a broker restart fits in;
 * SY_TEST_SLOW_MS in the worker's environment changes it), then reports
 * the records whose body contains "fail". */
int sqs_partial_slow(const sy_handler_ctx_t *ctx, const char *event, size_t len)
{
    for (const char *p = strstr(event, "\"body\":\""); p; p = strstr(p + 1, "\"body\":\"")) {
        const char *b = p + 8, *e = strchr(b, '"');
        if (!e) break;
        char line[160];
        snprintf(line, sizeof line, "sqs record started %.*s", (int)(e - b < 120 ? e - b : 120), b);
        ctx->log(ctx, SY_HANDLER_LOG_INFO, line);
    }
    const char *ms = getenv("SY_TEST_SLOW_MS");
    usleep((useconds_t)(ms ? atol(ms) : 4000) * 1000);
    return sqs_partial(ctx, event, len);
}
