/* lambda/invoke.c - Invoke: RequestResponse straight to an idle
 * worker through the pool (no database on the hot path beyond the cached
 * config), Event into the function's internal queue, DryRun. */
#include "lambda/internal.h"
#include "lambda/fleet.h" /* issue 11 */

#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool done;
    sy_invoke_status_t status;
    char *etype, *emsg;
    sy_buf_t result;
} waiter_t;

static void on_result(const sy_invoke_result_t *r, void *u)
{
    waiter_t *w = u;
    pthread_mutex_lock(&w->mu);
    w->status = r->status;
    w->etype = r->error_type ? sy_strdup(r->error_type) : NULL;
    w->emsg = r->error_message ? sy_strdup(r->error_message) : NULL;
    if (r->len) sy_buf_append(&w->result, r->result, r->len);
    w->done = true;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

static void error(sy_resp_t *resp, const sy_req_t *req, int status, const char *code, const char *msg)
{
    sy_err_t e;
    sy_err_set(&e, SY_E_INVALID, status, code, "%s", msg);
    sy_resp_error(resp, req, &e, NULL);
}

static void fn_error(sy_resp_t *resp, const char *type, const char *msg, const sy_buf_t *body, const char *version)
{
    resp->status = 200;
    resp->content_type = "application/json";
    sy_resp_header(resp, "X-Amz-Function-Error", "Unhandled");
    sy_resp_header(resp, "X-Amz-Executed-Version", version);
    sy_buf_reset(&resp->body);
    if (body && body->len && body->data[0] == '{') {
        sy_buf_append(&resp->body, body->data, body->len);
        return;
    }
    json_t *o = json_pack("{s:s,s:s}", "errorMessage", msg ? msg : "", "errorType", type ? type : "Unhandled");
    char *s = sy_json_dumps(o);
    sy_buf_puts(&resp->body, s);
    free(s);
    json_decref(o);
}

static void invoke_sync(lm_svc_t *s, sy_req_t *req, sy_resp_t *resp, const char *name, const lm_target_t *f,
                        const char *payload, size_t len)
{
    waiter_t w;
    memset(&w, 0, sizeof w);
    pthread_mutex_init(&w.mu, NULL);
    pthread_cond_init(&w.cv, NULL);
    sy_buf_init(&w.result);
    sy_invoke_opts_t o = {.deadline_ms = sy_now_ms() + (int64_t)f->timeout_s * 1000 + LM_INIT_ALLOWANCE_MS,
                          .request_id = req->request_id,
                          .config = f->config};
    const char *tp = sy_req_header(req, "traceparent");
    o.traceparent = tp;
    /* fleet.c: through this broker's workers, or handed to a broker whose workers host it */
    int rc = lm_sync_invoke(s, f->pool_key, payload, len, &o, on_result, &w);
    if (rc != 0) {
        if (rc == LM_SYNC_THROTTLED) error(resp, req, 429, "TooManyRequestsException", "Rate Exceeded.");
        else error(resp, req, 500, "ServiceException", "could not invoke the function");
        goto done;
    }
    pthread_mutex_lock(&w.mu);
    while (!w.done) pthread_cond_wait(&w.cv, &w.mu);
    pthread_mutex_unlock(&w.mu);
    char msg[128];
    switch (w.status) {
    case SY_INVOKE_OK:
        resp->status = 200;
        resp->content_type = "application/json";
        sy_resp_header(resp, "X-Amz-Executed-Version", f->version);
        sy_buf_reset(&resp->body);
        if (w.result.len) sy_buf_append(&resp->body, w.result.data, w.result.len);
        else sy_buf_puts(&resp->body, "null");
        break;
    case SY_INVOKE_FN_ERROR:
        fn_error(resp, w.etype, w.emsg, &w.result, f->version);
        break;
    case SY_INVOKE_TIMEOUT:
        snprintf(msg, sizeof msg, "Task timed out after %d.00 seconds", f->timeout_s);
        fn_error(resp, "Sandbox.Timedout", msg, NULL, f->version);
        break;
    case SY_INVOKE_WORKER_LOST:
        fn_error(resp, "Runtime.ExitError", "the worker running the invocation was lost", NULL, f->version);
        break;
    case SY_INVOKE_TOO_MANY:
        error(resp, req, 429, "TooManyRequestsException", "Rate Exceeded.");
        break;
    case SY_INVOKE_NO_WORKER:
        snprintf(msg, sizeof msg, "no worker hosts the function %s", name);
        error(resp, req, 502, "ResourceNotReadyException", msg);
        break;
    default: /* SHUTDOWN: this broker stops, or (with a message) the broker a call was handed to died */
        if (w.emsg) error(resp, req, 500, "ServiceException", w.emsg);
        else error(resp, req, 503, "ServiceException", "the broker is shutting down");
        break;
    }
done:
    free(w.etype);
    free(w.emsg);
    sy_buf_free(&w.result);
    pthread_mutex_destroy(&w.mu);
    pthread_cond_destroy(&w.cv);
}

void lm_api_invoke(lm_svc_t *s, sy_req_t *req, sy_resp_t *resp, const char *name)
{
    const char *type = sy_req_header(req, "X-Amz-Invocation-Type");
    if (!type || !*type) type = "RequestResponse";
    bool event = strcasecmp(type, "Event") == 0, dry = strcasecmp(type, "DryRun") == 0;
    if (!event && !dry && strcasecmp(type, "RequestResponse") != 0)
        return error(resp, req, 400, "InvalidParameterValueException", "invalid InvocationType");
    const char *payload = req->body_len ? req->body : "{}";
    size_t len = req->body_len ? req->body_len : 2;
    if (len > (event ? 256u * 1024 : 6u * 1024 * 1024))
        return error(resp, req, 413, "RequestTooLargeException", "Request must be smaller than the payload limit");
    json_t *check = json_loadb(payload, len, JSON_DECODE_ANY, NULL);
    if (!check) return error(resp, req, 400, "InvalidRequestContentException", "Could not parse request body into json");
    json_decref(check);
    lm_fn_t f;
    sy_err_t err;
    char qual[LM_QUAL_MAX + 1];
    if (lm_req_qualifier(req, resp, qual) < 0) return; /* api_versions.c */
    if (lm_fn_lookup(s, name, &f, &err) < 0) return sy_resp_error(resp, req, &err, NULL);
    lm_target_t t;
    if (lm_target_resolve(s, name, qual, &t, &err) < 0) return sy_resp_error(resp, req, &err, NULL);
    if (dry) {
        resp->status = 204;
    } else if (event) {
        /* one request id: the response's x-amzn-RequestId is the runtime's and the destination record's */
        if (f.reserved == 0) error(resp, req, 429, "TooManyRequestsException", "Rate Exceeded.");
        else if (lm_invoke_async_ex(s, NULL, name, qual, payload, len, NULL, req->request_id, &err) < 0)
            sy_resp_error(resp, req, &err, NULL);
        else {
            resp->status = 202;
            resp->content_type = "application/json";
        }
    } else {
        invoke_sync(s, req, resp, name, &t, payload, len);
    }
    lm_target_clear(&t);
}
