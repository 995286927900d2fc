/* bus/eb_deliver.c - delivery threads: lease messages of the internal
 * delivery queue, deliver each to its target (another bus, a state machine,
 * a function, an API destination, an SQS queue that was missing), retry
 * with the target's RetryPolicy (exponential back-off with jitter, as
 * queue visibility) and dead-letter with AWS's error attributes. */
#include "bus/internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int eb_delivery_enqueue(sy_ctx_t *ctx, PGconn *c, const json_t *msg, sy_err_t *err)
{
    char *s = json_dumps(msg, JSON_COMPACT);
    sy_msg_in_t m = {.body = s, .body_len = strlen(s), .delay_s = 0};
    int rc = sy_queue_tx_send(ctx, c, EB_DELIVER_QUEUE, &m, NULL, err);
    free(s);
    return rc;
}

static const char *resource_after(const char *arn, const char *marker)
{
    const char *p = strstr(arn, marker);
    return p ? p + strlen(marker) : NULL;
}

/* Deliver inside the open transaction on c. 0, or <0 with err->code as the
 * ERROR_CODE. *retryable: false for errors a retry cannot fix. */
static int deliver(eb_svc_t *svc, PGconn *c, const json_t *b, const sy_msg_out_t *m, bool *retryable,
                   sy_err_t *err)
{
    sy_ctx_t *ctx = svc->ctx;
    const json_t *t = json_object_get(b, "t");
    const char *arn = sy_json_str(t, "Arn");
    const char *body = sy_json_str(b, "b");
    *retryable = true;
    if (!arn || !body) {
        *retryable = false;
        return sy_err_set(err, SY_E_INVALID, 400, "InvalidDelivery", "malformed delivery message");
    }
    if (!strncmp(arn, "arn:aws:sqs:", 12)) {
        char *q = sy_queue_name_from_arn(ctx, arn);
        if (!q) {
            *retryable = false;
            return sy_err_set(err, SY_E_INVALID, 400, "SQS.ValidationException", "queue of another account");
        }
        const char *gid = sy_json_str(json_object_get(t, "SqsParameters"), "MessageGroupId");
        sy_msg_in_t mi = {.body = body, .body_len = strlen(body), .delay_s = -1, .group_id = gid,
                          .dedup_id = gid ? sy_json_str(b, "eid") : NULL};
        int rc = sy_queue_tx_send(ctx, c, q, &mi, NULL, err);
        free(q);
        if (rc < 0 && !err->sqlstate[0]) {
            char msg[1024];
            snprintf(msg, sizeof msg, "%s", err->message);
            sy_err_set(err, rc, 400, rc == SY_E_NOTFOUND ? "SQS.NonExistentQueue" : "SQS.ValidationException",
                       "%s", msg);
        }
        return rc;
    }
    if (!strncmp(arn, "arn:aws:states:", 15)) {
        if (!svc->starter)
            return sy_err_set(err, SY_E_INTERNAL, 500, "StepFunctions.ServiceUnavailable",
                              "no execution starter registered");
        int rc = svc->starter(ctx, c, arn, body, NULL, NULL, svc->starter_udata, err);
        if (rc < 0 && !err->sqlstate[0]) {
            char msg[1024];
            snprintf(msg, sizeof msg, "%s", err->message);
            char code[128];
            snprintf(code, sizeof code, "StepFunctions.%.80s", err->code);
            sy_err_set(err, rc, 400, code, "%s", msg);
        }
        return rc;
    }
    if (!strncmp(arn, "arn:aws:events:", 15) && resource_after(arn, ":event-bus/")) {
        int hops = (int)json_integer_value(json_object_get(b, "h"));
        if (hops >= EB_MAX_HOPS) {
            *retryable = false;
            return sy_err_set(err, SY_E_LIMIT, 400, "EventBridge.LoopDetected", "event crossed too many buses");
        }
        json_t *ev = json_loads(body, 0, NULL);
        if (!json_is_object(ev)) {
            json_decref(ev);
            *retryable = false;
            return sy_err_set(err, SY_E_INVALID, 400, "EventBridge.InvalidEvent", "the input is not an event");
        }
        eb_snap_t *s = eb_snap_get(svc, c, err);
        int rc = SY_E_DB;
        if (s) {
            const char *bus = resource_after(arn, ":event-bus/");
            if (!eb_snap_bus(s, bus)) {
                rc = sy_err_set(err, SY_E_NOTFOUND, 404, "EventBridge.ResourceNotFoundException",
                                "Event bus %s does not exist.", bus);
            } else {
                eb_route_t r = {.bus = bus, .event = ev, .archive = true, .hops = hops + 1};
                rc = eb_route(svc, s, c, &r, err);
                if (rc > 0) rc = 0;
            }
            eb_snap_release(svc, s);
        }
        json_decref(ev);
        return rc;
    }
    if (!strncmp(arn, "arn:aws:events:", 15) && resource_after(arn, ":api-destination/"))
    {
        int rc = eb_http_send(svc, arn, t, body, err);
        if (rc < 0 && !strcmp(err->code, "HttpError")) *retryable = false; /* 4xx: a retry cannot fix it */
        return rc;
    }
    if (!strncmp(arn, "arn:aws:sns:", 12)) {
        if (!svc->publisher)
            return sy_err_set(err, SY_E_INTERNAL, 500, "SNS.ServiceUnavailable", "no topic publisher registered");
        int rc = svc->publisher(ctx, c, arn, body, svc->publisher_udata, err);
        if (rc < 0 && !err->sqlstate[0]) {
            char msg[1024], code[128];
            snprintf(msg, sizeof msg, "%s", err->message);
            snprintf(code, sizeof code, "SNS.%.80s", err->code[0] ? err->code : "ServiceUnavailable");
            if (rc == SY_E_NOTFOUND) *retryable = false;
            sy_err_set(err, rc, 400, code, "%s", msg);
        }
        return rc;
    }
    if (!strncmp(arn, "arn:aws:lambda:", 15)) {
        if (!svc->invoker)
            return sy_err_set(err, SY_E_INTERNAL, 500, "Lambda.ServiceException", "no function invoker registered");
        sy_bus_invocation_t inv = {.function = arn, .payload = body, .payload_len = strlen(body),
                                   .rule_arn = sy_json_str(b, "ra"), .target_id = sy_json_str(t, "Id"),
                                   .event_id = sy_json_str(b, "eid"), .attempt = m->receive_count - 1};
        int rc = svc->invoker(ctx, c, &inv, svc->invoker_udata, err);
        if (rc < 0 && !err->code[0]) sy_err_set(err, rc, 500, "Lambda.ServiceException", "invocation failed");
        return rc;
    }
    *retryable = false;
    return sy_err_set(err, SY_E_INVALID, 400, "UnsupportedTarget", "target type not supported: %s", arn);
}

static int dead_letter(eb_svc_t *svc, PGconn *c, const json_t *b, const sy_err_t *why, sy_err_t *err)
{
    const json_t *t = json_object_get(b, "t");
    const char *dlq = sy_json_str(json_object_get(t, "DeadLetterConfig"), "Arn");
    if (!dlq) {
        sy_log(SY_LOG_WARN, "events", NULL, "delivery dropped after retries", "target", sy_json_str(t, "Arn"),
               "error", why->message);
        sy_metric_inc("switchyard_events_dropped_total", NULL, 1);
        return 0;
    }
    char *q = sy_queue_name_from_arn(svc->ctx, dlq);
    if (!q) return 0;
    json_t *attrs = json_pack("{s:{s:s,s:s},s:{s:s,s:s},s:{s:s,s:s},s:{s:s,s:s}}", "ERROR_CODE", "DataType",
                              "String", "StringValue", why->code[0] ? why->code : "InternalError", "ERROR_MESSAGE",
                              "DataType", "String", "StringValue", why->message[0] ? why->message : "delivery failed",
                              "RULE_ARN", "DataType", "String", "StringValue",
                              sy_json_str(b, "ra") ? sy_json_str(b, "ra") : "", "TARGET_ARN", "DataType", "String",
                              "StringValue", sy_json_str(t, "Arn") ? sy_json_str(t, "Arn") : "");
    const char *body = sy_json_str(b, "b");
    sy_msg_in_t m = {.body = body, .body_len = strlen(body), .attrs = attrs, .delay_s = -1};
    sy_err_t e;
    sy_err_clear(&e);
    int rc = sy_queue_tx_send(svc->ctx, c, q, &m, NULL, &e);
    if (rc < 0 && e.sqlstate[0]) *err = e;
    else if (rc < 0) {
        sy_log(SY_LOG_WARN, "events", NULL, "could not dead-letter", "queue", q, "error", e.message);
        rc = 0;
    }
    sy_metric_inc("switchyard_events_dead_lettered_total", NULL, 1);
    json_decref(attrs);
    free(q);
    return rc;
}

/* Back-off before attempt n (1-based): 1 s, 2 s, 4 s ... capped at 300 s,
 * with full jitter in [d/2, d], divided by the time scale (whole seconds). */
static int backoff_s(eb_svc_t *svc, int n)
{
    double d = pow(2.0, n - 1 > 8 ? 8 : n - 1);
    if (d > 300) d = 300;
    unsigned r;
    sy_random_bytes(&r, sizeof r);
    d = d / 2 + (d / 2) * ((double)r / 4294967295.0);
    d /= eb_scale(svc->ctx);
    int s = (int)ceil(d);
    return s < 1 ? 1 : s;
}

/* Commit (rc >= 0) or roll back the delivery transaction; give c back. */
static void tx_close(sy_ctx_t *ctx, PGconn *c, int rc)
{
    if (rc >= 0) sy_pg_commit(c, NULL);
    else sy_pg_rollback(c);
    sy_pg_release(ctx->pool, c);
}

static void process(eb_svc_t *svc, sy_msg_out_t *m)
{
    sy_ctx_t *ctx = svc->ctx;
    json_t *b = json_loads(m->body, 0, NULL);
    sy_err_t err, why;
    sy_err_clear(&err);
    sy_err_clear(&why);
    PGconn *c = sy_pg_acquire(ctx->pool);
    if (!c) goto out;
    int rc = sy_pg_begin(c, &err);
    if (rc < 0) goto end;
    bool retryable = true;
    rc = b ? deliver(svc, c, b, m, &retryable, &why) : 0;
    if (rc < 0 && why.sqlstate[0]) goto end; /* the transaction broke: let visibility retry it */
    if (rc < 0) {
        /* a delivery failure: roll back what it may have written, then decide */
        sy_pg_rollback(c);
        rc = sy_pg_begin(c, &err);
        if (rc < 0) goto end;
        const json_t *rp = json_object_get(json_object_get(b, "t"), "RetryPolicy");
        int64_t max_retries = 185, max_age = 86400;
        sy_json_int(rp, "MaximumRetryAttempts", &max_retries);
        sy_json_int(rp, "MaximumEventAgeInSeconds", &max_age);
        int attempt = m->receive_count; /* 1 on the first try */
        int64_t age_ms = sy_now_ms() - (int64_t)json_integer_value(json_object_get(b, "t0"));
        bool expired = (double)age_ms >= (double)max_age * 1000.0 / eb_scale(ctx);
        sy_metric_inc("switchyard_events_delivery_failures_total", NULL, 1);
        if (retryable && attempt <= max_retries && !expired) {
            tx_close(ctx, c, 0);
            sy_queue_change_visibility(ctx, EB_DELIVER_QUEUE, m->receipt, backoff_s(svc, attempt), NULL);
            goto out;
        }
        rc = dead_letter(svc, c, b, &why, &err);
        if (rc < 0) goto end;
    }
    bool deleted = false;
    rc = sy_queue_tx_delete(ctx, c, EB_DELIVER_QUEUE, m->receipt, &deleted, &err);
    if (rc == 0 && !deleted) rc = SY_E_INVALID; /* lease lost: another thread has it now */
    if (rc == 0) sy_metric_inc("switchyard_events_delivered_total", NULL, 1);
end:
    tx_close(ctx, c, rc);
out:
    json_decref(b);
}

static void *deliver_main(void *arg)
{
    eb_svc_t *svc = arg;
    sy_ctx_t *ctx = svc->ctx;
    int idle = 0;
    sy_ctx_wait_wired(ctx); /* targets: functions, state machines, topics through seams */
    while (!svc->stop && !ctx->stopping) {
        sy_msg_out_t msgs[10];
        int n = 0;
        if (sy_queue_lease(ctx, EB_DELIVER_QUEUE, 10, 60, msgs, &n, NULL) < 0 || n == 0) {
            idle = idle < 10 ? idle + 1 : 10;
            struct timespec ts = {0, (long)idle * 5 * 1000000L};
            nanosleep(&ts, NULL);
            continue;
        }
        idle = 0;
        for (int i = 0; i < n; i++) {
            process(svc, &msgs[i]);
            sy_msg_out_clear(&msgs[i]);
        }
    }
    return NULL;
}

int eb_deliver_start(eb_svc_t *svc, sy_err_t *err)
{
    int rc = sy_queue_ensure_internal(svc->ctx, EB_DELIVER_QUEUE, 60, err);
    if (rc < 0) return rc;
    for (int i = 0; i < EB_DELIVERERS; i++) {
        if (pthread_create(&svc->threads[svc->nthreads], NULL, deliver_main, svc) != 0)
            return sy_err_set(err, SY_E_INTERNAL, 500, "InternalException", "could not start delivery thread");
        svc->nthreads++;
    }
    return 0;
}
