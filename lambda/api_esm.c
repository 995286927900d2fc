/* lambda/api_esm.c - event-source mappings from SQS queues:
 * Create/Get/List/Update/DeleteEventSourceMapping. */
#include "lambda/internal.h"
#include "queue/queue.h"

#include <stdlib.h>
#include <string.h>

static void error(sy_resp_t *resp, const sy_req_t *req, int status, const char *code, const char *msg)
{
    sy_err_t e;
    sy_err_set(&e, SY_E_INVALID, status, code, "%s", msg);
    sy_resp_error(resp, req, &e, NULL);
}

static json_t *esm_json(const sy_ctx_t *ctx, const lm_esm_row_t *r, const char *state)
{
    char *arn = r->qualifier[0] ? sy_asprintf("arn:aws:lambda:%s:%s:function:%s:%s", ctx->cfg.region,
                                              ctx->cfg.account_id, r->function, r->qualifier)
                                : lm_function_arn(ctx, r->function);
    json_t *o = json_pack("{s:s,s:i,s:i,s:s,s:s,s:I,s:s,s:s,s:o}", "UUID", r->uuid, "BatchSize", r->batch_size,
                          "MaximumBatchingWindowInSeconds", r->window_s, "EventSourceArn", r->source_arn,
                          "FunctionArn", arn, "LastModified", (json_int_t)r->modified_s, "State",
                          state ? state : (r->enabled ? "Enabled" : "Disabled"), "StateTransitionReason", "USER_INITIATED",
                          "FunctionResponseTypes",
                          r->report_failures ? json_pack("[s]", "ReportBatchItemFailures") : json_array());
    if (r->max_concurrency > 0)
        json_object_set_new(o, "ScalingConfig", json_pack("{s:i}", "MaximumConcurrency", r->max_concurrency));
    free(arn);
    return o;
}

static void reply(sy_resp_t *resp, const sy_req_t *req, int status, json_t *v)
{
    sy_resp_json(resp, req, v);
    resp->status = status;
    json_decref(v);
}

/* Apply the settable members of the request to r. */
static int apply(lm_svc_t *s, const json_t *b, lm_esm_row_t *r, sy_resp_t *resp, const sy_req_t *req)
{
    int64_t v;
    const char *fn = sy_json_str(b, "FunctionName");
    if (fn) {
        if (lm_ref_parse(fn, r->function, r->qualifier) < 0) {
            error(resp, req, 400, "InvalidParameterValueException", "invalid FunctionName");
            return -1;
        }
        lm_target_t t; /* the version or alias must exist (versions.c) */
        sy_err_t err;
        int rc = lm_target_resolve(s, r->function, r->qualifier, &t, &err);
        lm_target_clear(&t);
        if (rc < 0) {
            sy_resp_error(resp, req, &err, NULL);
            return -1;
        }
    }
    if (json_object_get(b, "BatchSize")) {
        if (!sy_json_int(b, "BatchSize", &v) || v < 1 || v > 10000) {
            error(resp, req, 400, "InvalidParameterValueException", "BatchSize must be between 1 and 10000");
            return -1;
        }
        r->batch_size = (int)v;
    }
    if (json_object_get(b, "MaximumBatchingWindowInSeconds")) {
        if (!sy_json_int(b, "MaximumBatchingWindowInSeconds", &v) || v < 0 || v > 300) {
            error(resp, req, 400, "InvalidParameterValueException",
                  "MaximumBatchingWindowInSeconds must be between 0 and 300");
            return -1;
        }
        r->window_s = (int)v;
    }
    if (r->batch_size > 10 && r->window_s < 1) {
        error(resp, req, 400, "InvalidParameterValueException",
              "Maximum batch window in seconds must be greater than 0 if maximum batch size is greater than 10");
        return -1;
    }
    json_t *en = json_object_get(b, "Enabled");
    if (json_is_boolean(en)) r->enabled = json_is_true(en);
    json_t *frt = json_object_get(b, "FunctionResponseTypes");
    if (frt) {
        r->report_failures = false;
        size_t i;
        json_t *it;
        json_array_foreach(frt, i, it)
        {
            if (!json_is_string(it) || strcmp(json_string_value(it), "ReportBatchItemFailures") != 0) {
                error(resp, req, 400, "InvalidParameterValueException", "unsupported FunctionResponseTypes value");
                return -1;
            }
            r->report_failures = true;
        }
    }
    json_t *sc = json_object_get(b, "ScalingConfig");
    if (sc && sy_json_int(sc, "MaximumConcurrency", &v)) {
        if (v < 2 || v > 1000) {
            error(resp, req, 400, "InvalidParameterValueException", "MaximumConcurrency must be between 2 and 1000");
            return -1;
        }
        r->max_concurrency = (int)v;
    }
    return 0;
}

static void create(lm_svc_t *s, sy_req_t *req, sy_resp_t *resp)
{
    const char *src = sy_json_str(req->json, "EventSourceArn");
    if (!src) return error(resp, req, 400, "InvalidParameterValueException", "EventSourceArn is required");
    if (!sy_json_str(req->json, "FunctionName"))
        return error(resp, req, 400, "InvalidParameterValueException", "FunctionName is required");
    char *q = sy_queue_name_from_arn(s->ctx, src);
    if (!q)
        return error(resp, req, 400, "InvalidParameterValueException",
                     "only SQS queues of this account are supported as event sources");
    free(q);
    lm_esm_row_t r;
    memset(&r, 0, sizeof r);
    sy_uuid4(r.uuid);
    r.batch_size = 10;
    r.enabled = true;
    r.source_arn = sy_strdup(src);
    sy_err_t err;
    if (apply(s, req->json, &r, resp, req) == 0) {
        if (lm_store_esm_create(s->ctx, &r, &err) < 0) sy_resp_error(resp, req, &err, NULL);
        else reply(resp, req, 202, esm_json(s->ctx, &r, r.enabled ? "Creating" : "Disabled"));
        lm_esms_reload(s);
    }
    lm_esm_row_clear(&r);
}

void lm_api_esm(lm_svc_t *s, sy_req_t *req, sy_resp_t *resp, const char *uuid)
{
    sy_err_t err;
    if (!uuid) {
        if (strcmp(req->method, "POST") == 0) return create(s, req, resp);
        /* List: FunctionName / EventSourceArn filters in the query string */
        char fn[LM_NAME_MAX + 1] = "", src[512] = "";
        for (const char *q = req->query; q && *q;) {
            const char *amp = strchr(q, '&');
            size_t len = amp ? (size_t)(amp - q) : strlen(q);
            char kv[600];
            snprintf(kv, sizeof kv, "%.*s", (int)len, q);
            sy_form_t f = {0};
            if (sy_form_parse(&f, kv, strlen(kv)) == 0 && f.n == 1) {
                if (strcmp(f.items[0].name, "FunctionName") == 0) lm_function_name(f.items[0].value, fn);
                if (strcmp(f.items[0].name, "EventSourceArn") == 0) snprintf(src, sizeof src, "%s", f.items[0].value);
            }
            sy_form_free(&f);
            q = amp ? amp + 1 : NULL;
        }
        lm_esm_row_t *rows;
        int n;
        if (lm_store_esm_list(s->ctx, fn[0] ? fn : NULL, src[0] ? src : NULL, &rows, &n, &err) < 0)
            return sy_resp_error(resp, req, &err, NULL);
        json_t *arr = json_array();
        for (int i = 0; i < n; i++) {
            json_array_append_new(arr, esm_json(s->ctx, &rows[i], NULL));
            lm_esm_row_clear(&rows[i]);
        }
        free(rows);
        return reply(resp, req, 200, json_pack("{s:o}", "EventSourceMappings", arr));
    }
    lm_esm_row_t r;
    if (lm_store_esm_get(s->ctx, uuid, &r, &err) < 0) return sy_resp_error(resp, req, &err, NULL);
    if (strcmp(req->method, "GET") == 0) {
        reply(resp, req, 200, esm_json(s->ctx, &r, NULL));
    } else if (strcmp(req->method, "DELETE") == 0) {
        if (lm_store_esm_delete(s->ctx, uuid, &err) < 0) sy_resp_error(resp, req, &err, NULL);
        else reply(resp, req, 202, esm_json(s->ctx, &r, "Deleting"));
        lm_esms_reload(s);
    } else if (strcmp(req->method, "PUT") == 0) {
        if (apply(s, req->json, &r, resp, req) == 0) {
            if (lm_store_esm_update(s->ctx, &r, &err) < 0) sy_resp_error(resp, req, &err, NULL);
            else reply(resp, req, 202, esm_json(s->ctx, &r, r.enabled ? "Updating" : "Disabling"));
            lm_esms_reload(s);
        }
    } else {
        error(resp, req, 404, "UnknownOperationException", "unknown operation");
    }
    lm_esm_row_clear(&r);
}
