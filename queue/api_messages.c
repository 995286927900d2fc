/* queue/api_messages.c - SendMessage(Batch), ReceiveMessage,
 * DeleteMessage(Batch), ChangeMessageVisibility(Batch) */
#include "queue/internal.h"

#include <stdlib.h>
#include <string.h>

static sy_ctx_t *CTX(const sy_req_t *r)
{
    return (sy_ctx_t *)r->ctx;
}

/* SenderId: the caller's access key when known, else the account. */
static const char *sender_of(const sy_req_t *req, char *buf, size_t n)
{
    const char *auth = sy_req_header(req, "Authorization");
    char region[64], service[64];
    if (req->access_key) snprintf(buf, n, "%s", req->access_key);
    else if (!auth || sy_sigv4_parse_scope(auth, buf, n, region, sizeof region, service, sizeof service) < 0)
        snprintf(buf, n, "%s", req->ctx->cfg.account_id);
    return buf;
}

static int msg_from_json(json_t *in, sy_msg_in_t *m, sy_err_t *err)
{
    memset(m, 0, sizeof *m);
    json_t *body = json_object_get(in, "MessageBody");
    if (body && !json_is_string(body))
        return sy_err_set(err, SY_E_INVALID, 400, "InvalidParameterValue", "MessageBody must be a string");
    m->body = json_string_value(body);
    m->body_len = body ? json_string_length(body) : 0;
    m->attrs = json_object_get(in, "MessageAttributes");
    int64_t d = -1;
    bool has;
    if (param_int(in, "DelaySeconds", &d, &has, err) < 0) return SY_E_INVALID;
    if (has && (d < 0 || d > 900))
        return sy_err_set(err, SY_E_INVALID, 400, "InvalidParameterValue",
                          "Value %lld for parameter DelaySeconds is invalid. Reason: DelaySeconds must be >= 0 and <= 900.",
                          (long long)d);
    m->delay_s = has ? (int)d : -1;
    m->group_id = sy_json_str(in, "MessageGroupId");
    m->dedup_id = sy_json_str(in, "MessageDeduplicationId");
    return 0;
}

static json_t *sent_json(const sy_msg_sent_t *s, const send_job_t *j)
{
    json_t *o = json_pack("{s:s,s:s}", "MessageId", s->message_id, "MD5OfMessageBody", s->md5_body);
    if (s->md5_attrs[0]) json_object_set_new(o, "MD5OfMessageAttributes", json_string(s->md5_attrs));
    if (j->sys_json) {
        json_t *sys = json_loads(j->sys_json, 0, NULL);
        char md5[33];
        msg_md5_attrs(sys, md5);
        json_object_set_new(o, "MD5OfMessageSystemAttributes", json_string(md5));
        json_decref(sys);
    }
    if (s->seq[0]) json_object_set_new(o, "SequenceNumber", json_string(s->seq));
    return o;
}

int sqs_send_message(const sy_req_t *req, json_t *in, json_t **out, sy_err_t *err)
{
    sy_queue_t q;
    int rc = resolve_queue(req, &q, err);
    if (rc < 0) return rc;
    sy_msg_in_t m;
    send_job_t j;
    memset(&j, 0, sizeof j);
    char sender[128];
    if ((rc = msg_from_json(in, &m, err)) < 0) goto done;
    rc = send_prepare(queue_engine(req->ctx), &q, &m, json_object_get(in, "MessageSystemAttributes"),
                      sender_of(req, sender, sizeof sender), &j, err);
    if (rc < 0) goto done;
    rc = sy_gc_submit(CTX(req)->gc, store_send_batch, send_after_commit, &j, err);
    if (rc < 0) goto done;
    sy_msg_sent_t s;
    send_result(&j, &s);
    *out = sent_json(&s, &j);
    sy_metric_inc("switchyard_sqs_messages_sent_total", NULL, 1);
done:
    send_job_clear(&j);
    sy_queue_clear(&q);
    return rc;
}

static bool valid_entry_id(const char *id)
{
    size_t n = id ? strlen(id) : 0;
    if (n == 0 || n > 80) return false;
    for (size_t i = 0; i < n; i++) {
        char c = id[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
            return false;
    }
    return true;
}

/* Whole-request checks every batch action makes. */
static int check_batch(json_t *entries, sy_err_t *err)
{
    if (!json_is_array(entries) || json_array_size(entries) == 0)
        return sy_err_set2(err, SY_E_INVALID, 400, "EmptyBatchRequest", "AWS.SimpleQueueService.EmptyBatchRequest",
                           "There should be at least one SendMessageBatchRequestEntry in the request.");
    if (json_array_size(entries) > 10)
        return sy_err_set2(err, SY_E_INVALID, 400, "TooManyEntriesInBatchRequest",
                           "AWS.SimpleQueueService.TooManyEntriesInBatchRequest",
                           "Maximum number of entries per request are 10. You have sent %zu.", json_array_size(entries));
    size_t i, k;
    json_t *e, *f;
    json_array_foreach(entries, i, e) {
        const char *id = sy_json_str(e, "Id");
        if (!valid_entry_id(id))
            return sy_err_set2(err, SY_E_INVALID, 400, "InvalidBatchEntryId", "AWS.SimpleQueueService.InvalidBatchEntryId",
                               "A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long.");
        json_array_foreach(entries, k, f) {
            if (k < i && strcmp(id, sy_json_str(f, "Id")) == 0)
                return sy_err_set2(err, SY_E_INVALID, 400, "BatchEntryIdsNotDistinct",
                                   "AWS.SimpleQueueService.BatchEntryIdsNotDistinct", "Id %s repeated.", id);
        }
    }
    return 0;
}

static json_t *failed_entry(const char *id, const sy_err_t *e)
{
    return json_pack("{s:s,s:b,s:s,s:s}", "Id", id, "SenderFault", !e->receiver, "Code",
                     e->query_code[0] ? e->query_code : e->code, "Message", e->message);
}

int sqs_send_message_batch(const sy_req_t *req, json_t *in, json_t **out, sy_err_t *err)
{
    json_t *entries = json_object_get(in, "Entries");
    sy_queue_t q;
    int rc = resolve_queue(req, &q, err);
    if (rc < 0) return rc;
    if ((rc = check_batch(entries, err)) < 0) goto fail;
    size_t n = json_array_size(entries), total = 0;
    json_t *e;
    size_t i;
    json_array_foreach(entries, i, e) {
        json_t *b = json_object_get(e, "MessageBody");
        total += json_is_string(b) ? json_string_length(b) : 0;
    }
    if (total > (size_t)SQS_MAX_MESSAGE_SIZE) {
        rc = sy_err_set2(err, SY_E_INVALID, 400, "BatchRequestTooLong", "AWS.SimpleQueueService.BatchRequestTooLong",
                         "Batch requests cannot be longer than %d bytes. You have sent %zu bytes.", SQS_MAX_MESSAGE_SIZE, total);
        goto fail;
    }
    send_job_t jobs[10];
    void *args[10];
    int rcs[10], idx[10];
    sy_err_t errs[10];
    int nj = 0;
    char sender[128];
    sender_of(req, sender, sizeof sender);
    json_t *ok = json_array(), *failed = json_array();
    json_array_foreach(entries, i, e) {
        sy_msg_in_t m;
        sy_err_t ee;
        memset(&jobs[nj], 0, sizeof jobs[nj]);
        if (msg_from_json(e, &m, &ee) < 0 ||
            send_prepare(queue_engine(req->ctx), &q, &m, json_object_get(e, "MessageSystemAttributes"), sender,
                         &jobs[nj], &ee) < 0) {
            send_job_clear(&jobs[nj]);
            json_array_append_new(failed, failed_entry(sy_json_str(e, "Id"), &ee));
            continue;
        }
        args[nj] = &jobs[nj];
        idx[nj++] = (int)i;
    }
    if (nj) sy_gc_submit_many(CTX(req)->gc, store_send_batch, send_after_commit, args, nj, rcs, errs);
    for (int k = 0; k < nj; k++) {
        const char *id = sy_json_str(json_array_get(entries, (size_t)idx[k]), "Id");
        if (rcs[k] < 0) {
            json_array_append_new(failed, failed_entry(id, &errs[k]));
        } else {
            sy_msg_sent_t s;
            send_result(&jobs[k], &s);
            json_t *o = sent_json(&s, &jobs[k]);
            json_object_set_new(o, "Id", json_string(id));
            json_array_append_new(ok, o);
        }
        send_job_clear(&jobs[k]);
    }
    sy_metric_inc("switchyard_sqs_messages_sent_total", NULL, (double)json_array_size(ok));
    (void)n;
    *out = json_pack("{s:o,s:o}", "Successful", ok, "Failed", failed);
    sy_queue_clear(&q);
    return 0;
fail:
    sy_queue_clear(&q);
    return rc;
}

/* ------------------------------------------------------------ receive */
static bool wants(json_t *names, const char *a)
{
    size_t i;
    json_t *n;
    json_array_foreach(names, i, n) {
        const char *s = json_string_value(n);
        if (s && (strcmp(s, "All") == 0 || strcmp(s, a) == 0)) return true;
    }
    return false;
}

static void out_member(sy_buf_t *b, const char *k)
{
    sy_buf_putc(b, ',');
    sy_buf_json_str(b, k, strlen(k));
    sy_buf_putc(b, ':');
}

static void out_str(resp_msg_t *o, const char *k, const char *v)
{
    if (o->obj) {
        json_object_set_new(o->obj, k, json_string(v));
        return;
    }
    out_member(o->b, k);
    sy_buf_json_str(o->b, v, strlen(v));
}

static void put_sys(resp_msg_t *o, json_t *names, const char *k, const char *v)
{
    if (!v || !wants(names, k)) return;
    if (o->obj) {
        if (!o->attrs) o->attrs = json_object();
        json_object_set_new(o->attrs, k, json_string(v));
        return;
    }
    if (o->attrs_open) {
        sy_buf_putc(o->b, ',');
    } else {
        out_member(o->b, "Attributes");
        sy_buf_putc(o->b, '{');
        o->attrs_open = true;
    }
    sy_buf_json_str(o->b, k, strlen(k));
    sy_buf_putc(o->b, ':');
    sy_buf_json_str(o->b, v, strlen(v));
}

void resp_message(resp_msg_t *o, const leased_t *l, const sy_queue_t *q, json_t *sys_names, json_t *attr_names)
{
    char *handle = receipt_encode(q->id, l->id, l->receipt);
    if (o->b) {
        sy_buf_puts(o->b, "{\"MessageId\":");
        sy_buf_json_str(o->b, l->uuid, strlen(l->uuid));
    } else {
        json_object_set_new(o->obj, "MessageId", json_string(l->uuid));
    }
    out_str(o, "ReceiptHandle", handle);
    out_str(o, "MD5OfBody", l->md5_body);
    out_str(o, "Body", l->body);
    free(handle);
    char buf[32];
    put_sys(o, sys_names, "SenderId", l->sender_id);
    snprintf(buf, sizeof buf, "%lld", (long long)l->sent_ms);
    put_sys(o, sys_names, "SentTimestamp", buf);
    snprintf(buf, sizeof buf, "%d", l->receive_count);
    put_sys(o, sys_names, "ApproximateReceiveCount", buf);
    snprintf(buf, sizeof buf, "%lld", (long long)l->first_ms);
    put_sys(o, sys_names, "ApproximateFirstReceiveTimestamp", buf);
    if (q->fifo) {
        put_sys(o, sys_names, "MessageGroupId", l->group_id);
        put_sys(o, sys_names, "MessageDeduplicationId", l->dedup_id);
        snprintf(buf, sizeof buf, "%020lld", (long long)l->id);
        put_sys(o, sys_names, "SequenceNumber", buf);
    }
    json_t *trace = json_object_get(l->sys_attrs, "AWSTraceHeader");
    if (trace) put_sys(o, sys_names, "AWSTraceHeader", sy_json_str(trace, "StringValue"));
    if (o->attrs) json_object_set_new(o->obj, "Attributes", o->attrs);
    if (o->attrs_open) sy_buf_putc(o->b, '}');
    json_t *ma = msg_filter_attrs(l->attrs, attr_names);
    if (ma) {
        char md5[33];
        msg_md5_attrs(ma, md5);
        out_str(o, "MD5OfMessageAttributes", md5);
        if (o->obj) {
            json_object_set_new(o->obj, "MessageAttributes", ma);
        } else {
            out_member(o->b, "MessageAttributes");
            char *text = sy_json_dumps(ma);
            sy_buf_puts(o->b, text);
            free(text);
            json_decref(ma);
        }
    }
    if (o->b) sy_buf_putc(o->b, '}');
}

static int bounded(json_t *in, const char *k, int64_t lo, int64_t hi, int64_t *v, bool *has, sy_err_t *err)
{
    if (param_int(in, k, v, has, err) < 0) return SY_E_INVALID;
    if (*has && (*v < lo || *v > hi))
        return sy_err_set(err, SY_E_INVALID, 400, "InvalidParameterValue",
                          "Value %lld for parameter %s is invalid. Reason: must be between %lld and %lld.",
                          (long long)*v, k, (long long)lo, (long long)hi);
    return 0;
}

/* The request's checks and the lease (long polling included): up to 10
 * messages in got[]; the attribute name lists are the caller's to free. */
static int receive(const sy_req_t *req, json_t *in, sy_queue_t *q, leased_t got[10], int *n, json_t **sys_names,
                   sy_err_t *err)
{
    int64_t max = 1, vis = 0, wait = 0;
    bool has_max, has_vis, has_wait;
    *n = 0;
    *sys_names = NULL;
    if (bounded(in, "MaxNumberOfMessages", 1, 10, &max, &has_max, err) < 0 ||
        bounded(in, "VisibilityTimeout", 0, 43200, &vis, &has_vis, err) < 0 ||
        bounded(in, "WaitTimeSeconds", 0, 20, &wait, &has_wait, err) < 0)
        return SY_E_INVALID;
    int rc = resolve_queue(req, q, err);
    if (rc < 0) return rc;
    if (!has_max) max = 1;
    if (!has_vis) vis = q->visibility_s;
    if (!has_wait) wait = q->wait_s;
    *sys_names = json_array();
    json_array_extend(*sys_names, json_object_get(in, "AttributeNames"));
    json_array_extend(*sys_names, json_object_get(in, "MessageSystemAttributeNames"));

    queue_engine_t *e = queue_engine(req->ctx);
    int64_t deadline = sy_mono_us() + wait * 1000000;
    for (;;) {
        uint64_t seq = waiters_seq(e, q->id);
        if ((rc = queue_receive(CTX(req), q, (int)max, (int)vis, got, n, err)) < 0) return rc;
        if (*n > 0 || sy_mono_us() >= deadline || e->stop || req->ctx->stopping) break;
        waiters_wait(e, q->id, seq, (int)max, deadline);
    }
    sy_metric_inc("switchyard_sqs_messages_received_total", NULL, *n);
    return 0;
}

/* The response into *out (a json_t: the query protocol's XML is made from
 * it) or, when body is set, written straight into the JSON 1.0 body (the
 * json_t and its dump cost 3.4 us a message, this 0.7: bench/receive_json.sh) */
static int receive_respond(const sy_req_t *req, json_t *in, json_t **out, sy_buf_t *body, sy_err_t *err)
{
    sy_queue_t q = {0};
    leased_t got[10];
    int n;
    json_t *sys_names, *msgs = NULL;
    int rc = receive(req, in, &q, got, &n, &sys_names, err);
    if (rc == 0) {
        if (body) sy_buf_puts(body, n ? "{\"Messages\":[" : "{");
        else msgs = json_array();
        for (int i = 0; i < n; i++) {
            resp_msg_t o = {.b = body, .obj = body ? NULL : json_object()};
            if (body && i) sy_buf_putc(body, ',');
            resp_message(&o, &got[i], &q, sys_names, json_object_get(in, "MessageAttributeNames"));
            if (!body) json_array_append_new(msgs, o.obj);
            leased_clear(&got[i]);
        }
        if (body) {
            sy_buf_puts(body, n ? "]}" : "}");
        } else {
            *out = json_object();
            if (n) json_object_set(*out, "Messages", msgs);
            json_decref(msgs);
        }
    }
    json_decref(sys_names);
    sy_queue_clear(&q);
    return rc;
}

int sqs_receive_message(const sy_req_t *req, json_t *in, json_t **out, sy_err_t *err)
{
    return receive_respond(req, in, out, NULL, err);
}

int sqs_receive_message_json(const sy_req_t *req, json_t *in, sy_buf_t *body, sy_err_t *err)
{
    return receive_respond(req, in, NULL, body, err);
}

/* --------------------------------------------------- receipts: delete */
static int bad_receipt(sy_err_t *err, const char *h)
{
    return sy_err_set(err, SY_E_INVALID, 400, "ReceiptHandleIsInvalid",
                      "The input receipt handle \"%s\" is not a valid receipt handle.", h ? h : "");
}

static int receipt_job(const sy_queue_t *q, const char *handle, receipt_job_t *j, sy_err_t *err)
{
    memset(j, 0, sizeof *j);
    if (!handle)
        return sy_err_set(err, SY_E_INVALID, 400, "MissingParameter", "The request must contain the parameter ReceiptHandle.");
    if (receipt_decode(handle, &j->queue_id, &j->msg_id, j->token, sizeof j->token) < 0 || j->queue_id != q->id)
        return bad_receipt(err, handle);
    return 0;
}

int sqs_delete_message(const sy_req_t *req, json_t *in, json_t **out, sy_err_t *err)
{
    (void)out;
    sy_queue_t q;
    int rc = resolve_queue(req, &q, err);
    if (rc < 0) return rc;
    receipt_job_t j;
    if ((rc = receipt_job(&q, sy_json_str(in, "ReceiptHandle"), &j, err)) == 0)
        rc = sy_gc_submit(CTX(req)->gc, store_delete_batch, NULL, &j, err);
    /* FIFO: a delete may free its message group for a long-polling receive */
    if (rc == 0 && q.fifo && j.found) waiters_wake_n(queue_engine(req->ctx), q.id, 1);
    sy_queue_clear(&q);
    if (rc == 0) sy_metric_inc("switchyard_sqs_messages_deleted_total", NULL, j.found);
    return rc;
}

int sqs_delete_message_batch(const sy_req_t *req, json_t *in, json_t **out, sy_err_t *err)
{
    json_t *entries = json_object_get(in, "Entries");
    sy_queue_t q;
    int rc = resolve_queue(req, &q, err);
    if (rc < 0) return rc;
    if ((rc = check_batch(entries, err)) < 0) {
        sy_queue_clear(&q);
        return rc;
    }
    receipt_job_t jobs[10];
    void *args[10];
    int rcs[10], idx[10], nj = 0;
    sy_err_t errs[10];
    json_t *ok = json_array(), *failed = json_array();
    size_t i;
    json_t *e;
    json_array_foreach(entries, i, e) {
        sy_err_t ee;
        if (receipt_job(&q, sy_json_str(e, "ReceiptHandle"), &jobs[nj], &ee) < 0) {
            json_array_append_new(failed, failed_entry(sy_json_str(e, "Id"), &ee));
            continue;
        }
        args[nj] = &jobs[nj];
        idx[nj++] = (int)i;
    }
    if (nj) sy_gc_submit_many(CTX(req)->gc, store_delete_batch, NULL, args, nj, rcs, errs);
    for (int k = 0; k < nj; k++) {
        const char *id = sy_json_str(json_array_get(entries, (size_t)idx[k]), "Id");
        if (rcs[k] < 0) json_array_append_new(failed, failed_entry(id, &errs[k]));
        else json_array_append_new(ok, json_pack("{s:s}", "Id", id));
    }
    sy_metric_inc("switchyard_sqs_messages_deleted_total", NULL, (double)json_array_size(ok));
    if (q.fifo && json_array_size(ok)) waiters_wake_n(queue_engine(req->ctx), q.id, (long)json_array_size(ok));
    *out = json_pack("{s:o,s:o}", "Successful", ok, "Failed", failed);
    sy_queue_clear(&q);
    return 0;
}

/* ------------------------------------------------- visibility changes */
static int not_inflight(sy_err_t *err, const char *h)
{
    return sy_err_set2(err, SY_E_INVALID, 400, "MessageNotInflight", "AWS.SimpleQueueService.MessageNotInflight",
                       "Value %s for parameter ReceiptHandle is invalid. Reason: Message does not exist or is not available for visibility timeout change.",
                       h);
}

int sqs_change_visibility(const sy_req_t *req, json_t *in, json_t **out, sy_err_t *err)
{
    (void)out;
    int64_t vis = 0;
    bool has;
    if (bounded(in, "VisibilityTimeout", 0, 43200, &vis, &has, err) < 0) return SY_E_INVALID;
    if (!has)
        return sy_err_set(err, SY_E_INVALID, 400, "MissingParameter",
                          "The request must contain the parameter VisibilityTimeout.");
    sy_queue_t q;
    int rc = resolve_queue(req, &q, err);
    if (rc < 0) return rc;
    receipt_job_t j;
    const char *h = sy_json_str(in, "ReceiptHandle");
    if ((rc = receipt_job(&q, h, &j, err)) == 0) {
        j.visibility_s = (int)vis;
        rc = store_change_visibility(CTX(req), &j, 1, err);
        if (rc == 0 && !j.found) rc = not_inflight(err, h);
        if (rc == 0 && vis == 0) waiters_wake(queue_engine(req->ctx), q.id);
    }
    sy_queue_clear(&q);
    return rc;
}

int sqs_change_visibility_batch(const sy_req_t *req, json_t *in, json_t **out, sy_err_t *err)
{
    json_t *entries = json_object_get(in, "Entries");
    sy_queue_t q;
    int rc = resolve_queue(req, &q, err);
    if (rc < 0) return rc;
    if ((rc = check_batch(entries, err)) < 0) {
        sy_queue_clear(&q);
        return rc;
    }
    receipt_job_t jobs[10];
    int idx[10], nj = 0;
    json_t *ok = json_array(), *failed = json_array();
    size_t i;
    json_t *e;
    json_array_foreach(entries, i, e) {
        sy_err_t ee;
        int64_t vis = 0;
        bool has;
        if (bounded(e, "VisibilityTimeout", 0, 43200, &vis, &has, &ee) < 0 ||
            receipt_job(&q, sy_json_str(e, "ReceiptHandle"), &jobs[nj], &ee) < 0) {
            json_array_append_new(failed, failed_entry(sy_json_str(e, "Id"), &ee));
            continue;
        }
        jobs[nj].visibility_s = (int)vis;
        idx[nj++] = (int)i;
    }
    if (nj && (rc = store_change_visibility(CTX(req), jobs, nj, err)) < 0) {
        json_decref(ok);
        json_decref(failed);
        sy_queue_clear(&q);
        return rc;
    }
    for (int k = 0; k < nj; k++) {
        json_t *entry = json_array_get(entries, (size_t)idx[k]);
        const char *id = sy_json_str(entry, "Id");
        if (jobs[k].found) {
            json_array_append_new(ok, json_pack("{s:s}", "Id", id));
        } else {
            sy_err_t ee;
            not_inflight(&ee, sy_json_str(entry, "ReceiptHandle"));
            json_array_append_new(failed, failed_entry(id, &ee));
        }
    }
    *out = json_pack("{s:o,s:o}", "Successful", ok, "Failed", failed);
    sy_queue_clear(&q);
    return 0;
}
