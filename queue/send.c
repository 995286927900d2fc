/* queue/send.c - the send path: validate, hash, group-commit */
#include "queue/internal.h"

#include <stdlib.h>
#include <string.h>

static int invalid_for_type(sy_err_t *err, const char *param, const char *v)
{
    return sy_err_set(err, SY_E_INVALID, 400, "InvalidParameterValue",
                      "Value %s for parameter %s is invalid. Reason: The request include parameter that is not valid for this queue type.",
                      v, param);
}

/* Fill a send job from one message; 0 or an SQS error. */
int send_prepare(queue_engine_t *e, const sy_queue_t *q, const sy_msg_in_t *m, json_t *sys_attrs,
                 const char *sender, send_job_t *j, sy_err_t *err)
{
    memset(j, 0, sizeof *j);
    if (!m->body || m->body_len == 0)
        return sy_err_set(err, SY_E_INVALID, 400, "MissingParameter", "The request must contain the parameter MessageBody.");
    if (msg_validate_body(m->body, m->body_len, err) < 0) return SY_E_INVALID;
    size_t asize = 0;
    if (msg_validate_attrs(m->attrs, &asize, err) < 0) return SY_E_INVALID;
    if (sys_attrs && json_object_size(sys_attrs)) {
        const char *k;
        json_t *v;
        json_object_foreach(sys_attrs, k, v) {
            if (strcmp(k, "AWSTraceHeader") != 0 || !sy_json_str(v, "StringValue"))
                return sy_err_set(err, SY_E_INVALID, 400, "InvalidParameterValue",
                                  "Message system attribute name '%s' is invalid.", k);
        }
    }
    if (m->body_len + asize > (size_t)q->max_size)
        return sy_err_set(err, SY_E_INVALID, 400, "InvalidParameterValue",
                          "One or more parameters are invalid. Reason: Message must be shorter than %d bytes.", q->max_size);
    if (m->delay_s > 900 || m->delay_s < -1)
        return sy_err_set(err, SY_E_INVALID, 400, "InvalidParameterValue",
                          "Value %d for parameter DelaySeconds is invalid. Reason: DelaySeconds must be >= 0 and <= 900.",
                          m->delay_s);
    j->engine = e;
    j->queue_id = q->id;
    j->fifo = q->fifo;
    j->body = m->body;
    j->delay_s = m->delay_s >= 0 ? m->delay_s : q->delay_s;
    j->sender_id = sender;
    sy_uuid4(j->uuid);
    sy_md5_hex(m->body, m->body_len, j->md5_body);
    msg_md5_attrs(m->attrs, j->md5_attrs);
    if (m->attrs && json_object_size(m->attrs)) j->attrs_json = sy_json_dumps(m->attrs);
    if (sys_attrs && json_object_size(sys_attrs)) j->sys_json = sy_json_dumps(sys_attrs);
    if (!q->fifo) {
        if (m->dedup_id) return invalid_for_type(err, "MessageDeduplicationId", m->dedup_id);
        return 0;
    }
    if (m->delay_s > 0) {
        char v[16];
        snprintf(v, sizeof v, "%d", m->delay_s);
        return invalid_for_type(err, "DelaySeconds", v);
    }
    if (!m->group_id || !*m->group_id)
        return sy_err_set(err, SY_E_INVALID, 400, "MissingParameter", "The request must contain the parameter MessageGroupId.");
    if (strlen(m->group_id) > 128 || (m->dedup_id && (strlen(m->dedup_id) > 128 || !*m->dedup_id)))
        return sy_err_set(err, SY_E_INVALID, 400, "InvalidParameterValue",
                          "MessageGroupId and MessageDeduplicationId can be up to 128 characters long.");
    char content[65];
    const char *dedup = m->dedup_id;
    if (!dedup) {
        if (!q->content_dedup)
            return sy_err_set(err, SY_E_INVALID, 400, "InvalidParameterValue",
                              "The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly");
        sy_sha256_hex(m->body, m->body_len, content);
        dedup = content;
    }
    j->group_id = m->group_id;
    j->dedup_key = q->dedup_per_group ? sy_asprintf("%zu:%s|%s", strlen(m->group_id), m->group_id, dedup)
                                      : sy_strdup(dedup);
    /* AWS reports the content-based id (the body's SHA-256) as MessageDeduplicationId */
    j->dedup_id = m->dedup_id ? m->dedup_id : j->dedup_key + (q->dedup_per_group ? strlen(j->dedup_key) - 64 : 0);
    return 0;
}

void send_job_clear(send_job_t *j)
{
    free(j->attrs_json);
    free(j->sys_json);
    free(j->dedup_key);
    j->attrs_json = j->sys_json = j->dedup_key = NULL;
}

void send_result(const send_job_t *j, sy_msg_sent_t *out)
{
    memset(out, 0, sizeof *out);
    snprintf(out->message_id, sizeof out->message_id, "%s", j->out_uuid[0] ? j->out_uuid : j->uuid);
    snprintf(out->md5_body, sizeof out->md5_body, "%s", j->md5_body);
    snprintf(out->md5_attrs, sizeof out->md5_attrs, "%s", j->md5_attrs);
    if (j->fifo) snprintf(out->seq, sizeof out->seq, "%020lld", (long long)j->seq);
}

/* send committed here: wake local waiters at once */
void send_after_commit(void **args, int n, const int *rcs)
{
    /* one wake per queue, sized by how many of its messages committed */
    for (int i = 0; i < n; i++) {
        send_job_t *j = args[i];
        if (rcs[i] != 0 || !j->engine) continue;
        bool seen = false;
        for (int k = 0; k < i && !seen; k++) seen = rcs[k] == 0 && ((send_job_t *)args[k])->queue_id == j->queue_id;
        if (seen) continue;
        long count = 0;
        for (int k = i; k < n; k++) count += rcs[k] == 0 && ((send_job_t *)args[k])->queue_id == j->queue_id;
        waiters_wake_n(j->engine, j->queue_id, count);
        notify_later(j->engine, j->queue_id);
    }
}

int sy_queue_send_by_name(sy_ctx_t *ctx, const char *name, const sy_msg_in_t *m, sy_msg_sent_t *out, sy_err_t *err)
{
    sy_queue_t q;
    int rc = queue_get(ctx, name, &q, err);
    if (rc < 0) return rc;
    send_job_t j;
    rc = send_prepare(queue_engine(ctx), &q, m, NULL, ctx->cfg.account_id, &j, err);
    if (rc == 0) rc = sy_gc_submit(ctx->gc, store_send_batch, send_after_commit, &j, err);
    if (rc == 0 && out) send_result(&j, out);
    send_job_clear(&j);
    sy_queue_clear(&q);
    return rc;
}

int sy_queue_tx_send(sy_ctx_t *ctx, PGconn *c, const char *name, const sy_msg_in_t *m, sy_msg_sent_t *out,
                     sy_err_t *err)
{
    sy_queue_t q;
    int rc = queue_get_on(ctx, c, name, &q, err); /* on c: a writer never waits for a pooled connection */
    if (rc < 0) return rc;
    send_job_t j;
    rc = send_prepare(queue_engine(ctx), &q, m, NULL, ctx->cfg.account_id, &j, err);
    if (rc == 0) rc = store_send_one(c, &j, err);
    if (rc == 0 && out) send_result(&j, out);
    send_job_clear(&j);
    sy_queue_clear(&q);
    return rc;
}

char *sy_queue_name_from_arn(const sy_ctx_t *ctx, const char *arn)
{
    char *buf = sy_strdup(arn);
    sy_arn_parts_t p;
    char *name = NULL;
    if (sy_arn_parse(buf, &p) == 0 && strcmp(p.service, "sqs") == 0 && strcmp(p.account, ctx->cfg.account_id) == 0)
        name = sy_strdup(p.resource);
    free(buf);
    return name;
}

int sy_queue_ensure_internal(sy_ctx_t *ctx, const char *name, int visibility_s, sy_err_t *err)
{
    json_t *attrs = json_object();
    attrs_defaults(false, attrs);
    char v[16];
    snprintf(v, sizeof v, "%d", visibility_s);
    json_object_set_new(attrs, "VisibilityTimeout", json_string(v));
    json_object_set_new(attrs, "MessageRetentionPeriod", json_string("1209600"));
    json_t *tags = json_object();
    sy_queue_t q;
    bool created;
    int rc = store_queue_create(ctx, name, false, attrs, tags, 1209600, true, &q, &created, err);
    if (rc == 0) sy_queue_clear(&q);
    if (rc == 0 && created) queue_changed(ctx, name);
    json_decref(attrs);
    json_decref(tags);
    return rc;
}
