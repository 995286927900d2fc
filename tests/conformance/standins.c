/* The ASL corpus's recorded Lambdas as C handlers for `switchyard worker`
 * (ABI: include/switchyard/handler.h). They behave as stand_in_run() in
 * sfn_asl_conformance.c does in process; the broker shapes the result
 * (lambda:invoke's {ExecutedVersion, Payload, ...} wrapper) and turns a
 * failure into error = errorType, cause = {"errorMessage","errorType"}.
 *
 * SY_STANDIN_SLEEP_MS: how long the "sleeps 60 s" function sleeps (the
 * runner sets 60 s divided by the broker's --time-scale, at least 5 s). */
#include <switchyard/handler.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BIG_LEN (257 * 1024)

static void respond_event(const sy_handler_ctx_t *ctx, const char *event, size_t len)
{
    size_t i = 0;
    while (i < len && (event[i] == ' ' || event[i] == '\n' || event[i] == '\r' || event[i] == '\t'))
        i++;
    /* no event (lambda:invoke without Payload) is an empty object */
    if (i == len || (len - i == 4 && !memcmp(event + i, "null", 4)))
        ctx->respond(ctx, "{}", 2);
    else
        ctx->respond(ctx, event, len);
}

/* identity: returns its event unchanged */
int standin_identity(const sy_handler_ctx_t *ctx, const char *event, size_t len)
{
    respond_event(ctx, event, len);
    return 0;
}

/* constant: returns {"Return": "HelloWorld"} whatever the event */
int standin_constant(const sy_handler_ctx_t *ctx, const char *event, size_t len)
{
    (void)event;
    (void)len;
    static const char r[] = "{\"Return\":\"HelloWorld\"}";
    ctx->respond(ctx, r, sizeof r - 1);
    return 0;
}

/* returns the bytes of the JSON text "HelloWorld!" */
int standin_bytes(const sy_handler_ctx_t *ctx, const char *event, size_t len)
{
    (void)event;
    (void)len;
    static const char r[] = "\"HelloWorld!\"";
    ctx->respond(ctx, r, sizeof r - 1);
    return 0;
}

/* returns a 257 KiB string (over the 256 KiB state payload limit) */
int standin_oversized(const sy_handler_ctx_t *ctx, const char *event, size_t len)
{
    (void)event;
    (void)len;
    char *s = malloc(BIG_LEN + 2);
    if (!s)
        abort();
    s[0] = '"';
    memset(s + 1, 'a', BIG_LEN);
    s[BIG_LEN + 1] = '"';
    ctx->respond(ctx, s, BIG_LEN + 2);
    free(s);
    return 0;
}

/* sleeps (60 s, scaled) then returns its event */
int standin_sleep(const sy_handler_ctx_t *ctx, const char *event, size_t len)
{
    const char *e = getenv("SY_STANDIN_SLEEP_MS");
    long ms = e ? atol(e) : 60000;
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
    respond_event(ctx, event, len);
    return 0;
}

/* raises Exception('Some exception was raised.') */
int standin_raise(const sy_handler_ctx_t *ctx, const char *event, size_t len)
{
    (void)event;
    (void)len;
    ctx->fail(ctx, "Exception", "Some exception was raised.");
    return 1;
}

/* raises a CustomException with no message */
int standin_raise_custom(const sy_handler_ctx_t *ctx, const char *event, size_t len)
{
    (void)event;
    (void)len;
    ctx->fail(ctx, "CustomException", "");
    return 1;
}
