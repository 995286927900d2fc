/* topic/http.c - HTTP(S) subscriptions: deliveries are messages of the
 * internal queue __sns_http (written in the publish's transaction); one
 * thread per broker leases them, POSTs them with libcurl, and deletes them
 * on a 2xx. A failure sets the message's visibility to the delay of the
 * next retry of its DeliveryPolicy (carried in the message, resolved at
 * publish), so a pending retry is a row in PostgreSQL and survives the
 * broker; past the last retry it goes to the subscription's dead-letter
 * queue or is dropped with a warning. */
#include "queue/queue.h"
#include "topic/internal.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int tp_http_enqueue(sy_ctx_t *ctx, PGconn *c, const char *endpoint, const char *type, const char *message_id,
                    const char *topic_arn, const char *sub_arn, const char *body, const char *dlq,
                    const tp_policy_t *policy, sy_err_t *err)
{
    json_t *d = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "u", endpoint, "type", type, "id", message_id, "topic",
                          topic_arn, "sub", sub_arn, "b", body);
    if (dlq) json_object_set_new(d, "dlq", json_string(dlq));
    tp_policy_t def;
    if (!policy) {
        tp_policy_default(&def);
        policy = &def;
    }
    json_object_set_new(d, "p", tp_policy_pack(policy));
    char *s = sy_json_dumps(d);
    json_decref(d);
    sy_msg_in_t m = {.body = s, .body_len = strlen(s), .delay_s = -1};
    int rc = sy_queue_tx_send(ctx, c, TP_HTTP_QUEUE, &m, NULL, err);
    free(s);
    return rc;
}

static size_t discard(char *p, size_t sz, size_t n, void *u)
{
    (void)p;
    (void)u;
    return sz * n;
}

static int post(const json_t *d, const tp_policy_t *p, sy_err_t *err)
{
    CURL *cu = curl_easy_init();
    if (!cu) sy_panic("curl_easy_init");
    struct curl_slist *hdr = NULL;
    char h[1024];
    snprintf(h, sizeof h, "Content-Type: %s", p->content_type);
    hdr = curl_slist_append(hdr, h);
    snprintf(h, sizeof h, "x-amz-sns-message-type: %s", sy_json_str(d, "type"));
    hdr = curl_slist_append(hdr, h);
    snprintf(h, sizeof h, "x-amz-sns-message-id: %s", sy_json_str(d, "id"));
    hdr = curl_slist_append(hdr, h);
    snprintf(h, sizeof h, "x-amz-sns-topic-arn: %s", sy_json_str(d, "topic"));
    hdr = curl_slist_append(hdr, h);
    snprintf(h, sizeof h, "x-amz-sns-subscription-arn: %s", sy_json_str(d, "sub"));
    hdr = curl_slist_append(hdr, h);
    hdr = curl_slist_append(hdr, "User-Agent: Amazon Simple Notification Service Agent");
    const char *body = sy_json_str(d, "b");
    curl_easy_setopt(cu, CURLOPT_URL, sy_json_str(d, "u"));
    curl_easy_setopt(cu, CURLOPT_POST, 1L);
    curl_easy_setopt(cu, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(cu, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    curl_easy_setopt(cu, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(cu, CURLOPT_TIMEOUT, (long)TP_HTTP_TIMEOUT_S);
    curl_easy_setopt(cu, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(cu, CURLOPT_WRITEFUNCTION, discard);
    CURLcode cc = curl_easy_perform(cu);
    long status = 0;
    curl_easy_getinfo(cu, CURLINFO_RESPONSE_CODE, &status);
    int rc = 0;
    if (cc != CURLE_OK)
        rc = sy_err_set(err, SY_E_TIMEOUT, 500, "HttpError", "%s", curl_easy_strerror(cc));
    else if (status < 200 || status > 299)
        rc = sy_err_set(err, SY_E_INTERNAL, 500, "HttpError", "status %ld", status);
    curl_slist_free_all(hdr);
    curl_easy_cleanup(cu);
    return rc;
}

/* Retries exhausted: the subscription's DLQ if it has one, else dropped. */
static void dead_letter(tp_svc_t *s, const json_t *d, const sy_err_t *why)
{
    const char *dlq = sy_json_str(d, "dlq");
    char *q = dlq ? sy_queue_name_from_arn(s->ctx, dlq) : NULL;
    sy_err_t err;
    if (q) {
        const char *body = sy_json_str(d, "b");
        sy_msg_in_t m = {.body = body, .body_len = strlen(body), .delay_s = -1};
        if (sy_queue_send_by_name(s->ctx, q, &m, NULL, &err) == 0) {
            free(q);
            return;
        }
    }
    free(q);
    sy_log(SY_LOG_WARN, "sns", NULL, "http delivery dropped after retries", "endpoint", sy_json_str(d, "u"), "error",
           why->message);
}

/* throttlePolicy: wait until this subscription may receive again (this
 * broker's deliveries; the one delivery thread serializes them). */
static void pace(tp_svc_t *s, const char *sub, int per_s)
{
    if (per_s <= 0 || !sub) return;
    tp_pace_t *p = s->paces;
    while (p && strcmp(p->sub, sub) != 0) p = p->next;
    if (!p) {
        p = sy_calloc(1, sizeof *p);
        p->sub = sy_strdup(sub);
        p->next = s->paces;
        s->paces = p;
    }
    int64_t now = sy_mono_us(), gap = (int64_t)(1e6 / per_s / s->ctx->cfg.time_scale);
    if (p->next_us > now) {
        int64_t wait = p->next_us - now;
        usleep((useconds_t)(wait > 1000000 ? 1000000 : wait));
        sy_metric_inc("switchyard_sns_http_throttled_total", NULL, 1);
        now = sy_mono_us();
    }
    p->next_us = (p->next_us > now ? p->next_us : now) + gap;
}

/* One leased delivery: POST it; on failure schedule the policy's next
 * retry (the message's visibility) or, past the last, dead-letter it. */
static void deliver_one(tp_svc_t *s, sy_msg_out_t *m)
{
    sy_err_t err;
    sy_err_clear(&err);
    json_t *d = json_loads(m->body, 0, NULL);
    if (!d) { /* not ours to retry */
        sy_queue_delete_receipt(s->ctx, TP_HTTP_QUEUE, m->receipt, &err);
        return;
    }
    tp_policy_t p;
    tp_policy_unpack(json_object_get(d, "p"), &p);
    pace(s, sy_json_str(d, "sub"), p.max_per_s);
    int rc = post(d, &p, &err);
    sy_metric_inc("switchyard_sns_http_deliveries_total", rc == 0 ? "outcome=\"ok\"" : "outcome=\"error\"", 1);
    int delay = rc == 0 ? -1 : tp_policy_delay_s(&p, m->receive_count);
    if (rc == 0 || delay < 0) {
        if (rc < 0) dead_letter(s, d, &err);
        sy_queue_delete_receipt(s->ctx, TP_HTTP_QUEUE, m->receipt, &err);
    } else {
        double scaled = delay / s->ctx->cfg.time_scale;
        int vis = delay == 0 ? 0 : (int)scaled < scaled ? (int)scaled + 1 : (int)scaled;
        sy_metric_inc("switchyard_sns_http_retries_total", NULL, 1);
        if (sy_queue_change_visibility(s->ctx, TP_HTTP_QUEUE, m->receipt, vis, &err) < 0)
            sy_log(SY_LOG_WARN, "sns", NULL, "could not schedule an http retry", "error", err.message);
    }
    json_decref(d);
}

static void *http_main(void *arg)
{
    tp_svc_t *s = arg;
    sy_ctx_wait_wired(s->ctx); /* deliveries to functions go through a seam */
    while (!s->ctx->stopping && s->http_up) {
        sy_msg_out_t msgs[10];
        int n = 0;
        sy_err_t err;
        if (sy_queue_lease(s->ctx, TP_HTTP_QUEUE, 10, TP_HTTP_LEASE_S, msgs, &n, &err) < 0) n = 0;
        for (int i = 0; i < n; i++) {
            deliver_one(s, &msgs[i]);
            sy_msg_out_clear(&msgs[i]);
        }
        if (n == 0) usleep(100 * 1000);
    }
    while (s->paces) {
        tp_pace_t *p = s->paces;
        s->paces = p->next;
        free(p->sub);
        free(p);
    }
    return NULL;
}

int tp_http_start(tp_svc_t *s, sy_err_t *err)
{
    if (sy_queue_ensure_internal(s->ctx, TP_HTTP_QUEUE, TP_HTTP_LEASE_S, err) < 0) return SY_E_INTERNAL;
    s->http_up = true;
    if (pthread_create(&s->http_thread, NULL, http_main, s) != 0) {
        s->http_up = false;
        return sy_err_set(err, SY_E_INTERNAL, 500, "InternalError", "could not start the http delivery thread");
    }
    return 0;
}

void tp_http_stop(tp_svc_t *s)
{
    if (!s->http_up) return;
    s->http_up = false;
    pthread_join(s->http_thread, NULL);
}
