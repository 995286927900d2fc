/* topic/api_publish.c - Publish and PublishBatch: validate, then fan out in
 * one transaction; the reply is sent only after the commit */
#include "topic/internal.h"

#include <stdlib.h>
#include <string.h>

static bool is_fifo(const char *arn)
{
    size_t n = strlen(arn);
    return n > 5 && strcmp(arn + n - 5, ".fifo") == 0;
}

static int entry_msg(const json_t *in, const char *topic_arn, tp_msg_t *m, sy_err_t *err)
{
    memset(m, 0, sizeof *m);
    m->topic_arn = topic_arn;
    m->message = sy_json_str(in, "Message");
    m->subject = sy_json_str(in, "Subject");
    m->attrs = json_object_get(in, "MessageAttributes");
    m->structure = sy_json_str(in, "MessageStructure");
    m->group_id = sy_json_str(in, "MessageGroupId");
    m->dedup_id = sy_json_str(in, "MessageDeduplicationId");
    if (!is_fifo(topic_arn) && m->group_id)
        return tp_invalid(err, "MessageGroupId Reason: The request includes MessageGroupId parameter that is not "
                               "valid for this topic type");
    return tp_check_message(m, is_fifo(topic_arn), err);
}

static const char *topic_arn_param(const json_t *in, sy_err_t *err)
{
    const char *arn = sy_json_str(in, "TopicArn");
    if (!arn) arn = sy_json_str(in, "TargetArn");
    if (!arn && sy_json_str(in, "PhoneNumber")) {
        tp_invalid(err, "PhoneNumber Reason: SMS is not supported by Switchyard");
        return NULL;
    }
    char *name = tp_topic_name(arn);
    if (!name) {
        tp_invalid(err, "TopicArn");
        return NULL;
    }
    free(name);
    return arn;
}

/* Group commit (core's sy_gc, shared with SQS sends): concurrent publishes
 * on this broker share transactions. Each job's fan-out runs inside the
 * writer's open transaction; a publish that fails does so before it writes
 * (topic missing, deduplication id missing) or by a failed statement, which
 * breaks the transaction, and then core re-runs every job alone. */
typedef struct {
    tp_svc_t *svc;
    tp_msg_t *m;
} publish_t;

static void publish_gc(PGconn *c, void **args, int n, int *rcs, sy_err_t *errs)
{
    for (int i = 0; i < n; i++) {
        publish_t *p = args[i];
        sy_err_clear(&errs[i]);
        rcs[i] = tp_publish_tx(p->svc, c, p->m, &errs[i]);
    }
}

int sns_publish(sy_ctx_t *ctx, const sy_req_t *req, json_t *in, json_t **out, sy_err_t *err)
{
    (void)req;
    const char *arn = topic_arn_param(in, err);
    if (!arn) return SY_E_INVALID;
    tp_msg_t m;
    if (entry_msg(in, arn, &m, err) < 0) return SY_E_INVALID;
    publish_t p = {tp_svc(ctx), &m};
    tp_presign(p.svc, &m);
    int rc = sy_gc_submit(ctx->gc, publish_gc, NULL, &p, err);
    tp_sig_clear(&m.sig);
    if (rc < 0) return rc;
    *out = json_pack("{s:s}", "MessageId", m.message_id);
    if (m.seq[0]) json_object_set_new(*out, "SequenceNumber", json_string(m.seq));
    return 0;
}

static json_t *failed(const char *id, const sy_err_t *e)
{
    return json_pack("{s:s,s:s,s:s,s:b}", "Id", id, "Code", e->code, "Message", e->message, "SenderFault",
                     e->status < 500);
}

int sns_publish_batch(sy_ctx_t *ctx, const sy_req_t *req, json_t *in, json_t **out, sy_err_t *err)
{
    (void)req;
    const char *arn = topic_arn_param(in, err);
    if (!arn) return SY_E_INVALID;
    json_t *entries = json_object_get(in, "PublishBatchRequestEntries");
    size_t n = json_array_size(entries);
    if (n == 0)
        return sy_err_set(err, SY_E_INVALID, 400, "EmptyBatchRequest", "The batch request doesn't contain any entries");
    if (n > 10)
        return sy_err_set(err, SY_E_INVALID, 400, "TooManyEntriesInBatchRequest",
                          "The batch request contains more entries than permissible");
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        const char *id = sy_json_str(json_array_get(entries, i), "Id");
        if (!id || !*id || strlen(id) > 80)
            return sy_err_set(err, SY_E_INVALID, 400, "InvalidBatchEntryId",
                              "The Id of a batch entry in a batch request doesn't abide by the specification");
        for (size_t k = 0; k < i; k++)
            if (!strcmp(id, sy_json_str(json_array_get(entries, k), "Id")))
                return sy_err_set(err, SY_E_INVALID, 400, "BatchEntryIdsNotDistinct",
                                  "Two or more batch entries in the request have the same Id");
        const char *msg = sy_json_str(json_array_get(entries, i), "Message");
        total += msg ? strlen(msg) : 0;
    }
    if (total > 262144)
        return sy_err_set(err, SY_E_INVALID, 400, "BatchRequestTooLong",
                          "The length of all the messages put together is more than the limit");
    tp_msg_t *ms = sy_calloc(n, sizeof *ms);
    bool *ok = sy_calloc(n, sizeof *ok);
    json_t *succ = json_array(), *fail = json_array();
    /* entries that pass validation go to the group commit together, each
     * with its own outcome (signed here, on the request's thread) */
    publish_t *jobs = sy_calloc(n, sizeof *jobs);
    void **args = sy_calloc(n, sizeof *args);
    int *rcs = sy_calloc(n, sizeof *rcs), *idx = sy_calloc(n, sizeof *idx);
    sy_err_t *errs = sy_calloc(n, sizeof *errs);
    int nj = 0, rc = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(entries, i);
        sy_err_t ee;
        sy_err_clear(&ee);
        if (entry_msg(e, arn, &ms[i], &ee) < 0) {
            json_array_append_new(fail, failed(sy_json_str(e, "Id"), &ee));
            continue;
        }
        jobs[nj] = (publish_t){tp_svc(ctx), &ms[i]};
        tp_presign(jobs[nj].svc, &ms[i]);
        args[nj] = &jobs[nj];
        idx[nj++] = (int)i;
    }
    if (nj) sy_gc_submit_many(ctx->gc, publish_gc, NULL, args, nj, rcs, errs);
    /* the topic is gone, or the database refused every entry: the whole
     * request fails. When some entries were committed (each entry has its
     * own outcome in the group commit) the others are Failed entries with
     * SenderFault false, as on AWS: a request error would hide the
     * committed ones and the client's retry would publish them twice. */
    int committed = 0;
    for (int k = 0; k < nj; k++) committed += rcs[k] == 0;
    for (int k = 0; k < nj && rc == 0; k++)
        if (rcs[k] == SY_E_NOTFOUND || (errs[k].status >= 500 && committed == 0)) {
            *err = errs[k];
            rc = rcs[k];
        }
    for (int k = 0; k < nj && rc == 0; k++) {
        ok[idx[k]] = rcs[k] == 0;
        if (rcs[k] < 0)
            json_array_append_new(fail, failed(sy_json_str(json_array_get(entries, (size_t)idx[k]), "Id"), &errs[k]));
    }
    free(jobs);
    free(args);
    free(rcs);
    free(idx);
    free(errs);
    if (rc == 0) {
        for (size_t i = 0; i < n; i++) {
            if (!ok[i]) continue;
            json_t *s = json_pack("{s:s,s:s}", "Id", sy_json_str(json_array_get(entries, i), "Id"), "MessageId",
                                  ms[i].message_id);
            if (ms[i].seq[0]) json_object_set_new(s, "SequenceNumber", json_string(ms[i].seq));
            json_array_append_new(succ, s);
        }
        *out = json_pack("{s:O,s:O}", "Successful", succ, "Failed", fail);
    }
    json_decref(succ);
    json_decref(fail);
    for (size_t i = 0; i < n; i++) tp_sig_clear(&ms[i].sig);
    free(ok);
    free(ms);
    return rc;
}
