/* queue/receive.c - the primitive's lease/settle calls for other services */
#include "queue/internal.h"

#include <stdlib.h>
#include <string.h>

static void msg_out_take(int64_t qid, leased_t *l, sy_msg_out_t *o)
{
    memset(o, 0, sizeof *o);
    o->id = l->id;
    snprintf(o->message_id, sizeof o->message_id, "%s", l->uuid);
    o->receipt = receipt_encode(qid, l->id, l->receipt);
    o->body = l->body;
    l->body = NULL;
    o->attrs = l->attrs;
    l->attrs = NULL;
    o->receive_count = l->receive_count;
    o->sent_ms = l->sent_ms;
    leased_clear(l);
}

static int lease(sy_ctx_t *ctx, const char *name, int max, int visibility_s, const char *token, sy_msg_out_t *out,
                 int *n, sy_err_t *err)
{
    *n = 0;
    if (max > 10) max = 10;
    sy_queue_t q;
    int rc = queue_get(ctx, name, &q, err);
    if (rc < 0) return rc;
    leased_t got[10];
    int got_n = 0;
    int vis = visibility_s >= 0 ? visibility_s : q.visibility_s;
    if (token)
        rc = queue_receive_shared(ctx, &q, max, vis, token, got, &got_n, err);
    else
        rc = queue_receive(ctx, &q, max, vis, got, &got_n, err);
    for (int i = 0; i < got_n; i++) msg_out_take(q.id, &got[i], &out[i]);
    *n = got_n;
    sy_queue_clear(&q);
    return rc;
}

int sy_queue_lease(sy_ctx_t *ctx, const char *name, int max, int visibility_s, sy_msg_out_t *out, int *n,
                   sy_err_t *err)
{
    return lease(ctx, name, max, visibility_s, NULL, out, n, err);
}

int sy_queue_lease_shared(sy_ctx_t *ctx, const char *name, int max, int visibility_s, const char *token,
                          sy_msg_out_t *out, int *n, sy_err_t *err)
{
    *n = 0;
    if (!token || !*token || strlen(token) >= sizeof((receipt_job_t *)0)->token ||
        strspn(token, "0123456789abcdef-") != strlen(token))
        return sy_err_set(err, SY_E_INVALID, 400, "InvalidParameterValue", "invalid shared lease token");
    return lease(ctx, name, max, visibility_s, token, out, n, err);
}

int sy_queue_tx_leased_batch(sy_ctx_t *ctx, PGconn *c, const char *name, const char *token, sy_msg_out_t **out,
                             int *n, sy_err_t *err)
{
    *out = NULL;
    *n = 0;
    sy_queue_t q;
    int rc = queue_get(ctx, name, &q, err);
    if (rc < 0) return rc;
    leased_t *got = NULL;
    int got_n = 0;
    rc = store_leased_batch(c, q.id, token, &got, &got_n, err);
    if (rc == 0 && got_n) {
        *out = sy_calloc((size_t)got_n, sizeof **out);
        for (int i = 0; i < got_n; i++) msg_out_take(q.id, &got[i], &(*out)[i]);
        *n = got_n;
    }
    free(got);
    sy_queue_clear(&q);
    return rc;
}

void sy_msg_out_clear(sy_msg_out_t *m)
{
    free(m->receipt);
    free(m->body);
    json_decref(m->attrs);
    memset(m, 0, sizeof *m);
}

int sy_queue_tx_leased(sy_ctx_t *ctx, PGconn *c, const char *name, const char *receipt, sy_msg_out_t *out,
                       sy_err_t *err)
{
    memset(out, 0, sizeof *out);
    sy_queue_t q;
    int rc = queue_get(ctx, name, &q, err);
    if (rc < 0) return rc;
    receipt_job_t j;
    memset(&j, 0, sizeof j);
    leased_t l;
    memset(&l, 0, sizeof l);
    if (receipt_decode(receipt, &j.queue_id, &j.msg_id, j.token, sizeof j.token) < 0 || j.queue_id != q.id) {
        rc = sy_err_set(err, SY_E_INVALID, 400, "ReceiptHandleIsInvalid", "invalid receipt handle");
    } else if ((rc = store_leased_by_receipt(c, &j, &l, err)) == 0) {
        out->id = l.id;
        snprintf(out->message_id, sizeof out->message_id, "%s", l.uuid);
        out->receipt = sy_strdup(receipt);
        out->body = l.body;
        l.body = NULL;
        out->attrs = l.attrs;
        l.attrs = NULL;
        out->receive_count = l.receive_count;
        out->sent_ms = l.sent_ms;
    }
    leased_clear(&l);
    sy_queue_clear(&q);
    return rc;
}

static int settle(sy_ctx_t *ctx, const char *name, const char *receipt, int vis, bool del, sy_err_t *err)
{
    sy_queue_t q;
    int rc = queue_get(ctx, name, &q, err);
    if (rc < 0) return rc;
    receipt_job_t j;
    memset(&j, 0, sizeof j);
    if (receipt_decode(receipt, &j.queue_id, &j.msg_id, j.token, sizeof j.token) < 0 || j.queue_id != q.id) {
        rc = sy_err_set(err, SY_E_INVALID, 400, "ReceiptHandleIsInvalid", "invalid receipt handle");
    } else if (del) {
        rc = sy_gc_submit(ctx->gc, store_delete_batch, NULL, &j, err);
    } else {
        j.visibility_s = vis;
        rc = store_change_visibility(ctx, &j, 1, err);
        if (rc == 0 && vis == 0) waiters_wake(queue_engine(ctx), q.id);
    }
    sy_queue_clear(&q);
    return rc;
}

int sy_queue_delete_receipt(sy_ctx_t *ctx, const char *name, const char *receipt, sy_err_t *err)
{
    return settle(ctx, name, receipt, 0, true, err);
}

int sy_queue_change_visibility(sy_ctx_t *ctx, const char *name, const char *receipt, int visibility_s, sy_err_t *err)
{
    return settle(ctx, name, receipt, visibility_s, false, err);
}

int sy_queue_tx_delete(sy_ctx_t *ctx, PGconn *c, const char *name, const char *receipt, bool *deleted, sy_err_t *err)
{
    sy_queue_t q;
    int rc = queue_get(ctx, name, &q, err);
    if (rc < 0) return rc;
    receipt_job_t j;
    memset(&j, 0, sizeof j);
    if (receipt_decode(receipt, &j.queue_id, &j.msg_id, j.token, sizeof j.token) < 0 || j.queue_id != q.id) {
        rc = sy_err_set(err, SY_E_INVALID, 400, "ReceiptHandleIsInvalid", "invalid receipt handle");
    } else {
        void *args[1] = {&j};
        int rcs[1];
        sy_err_t errs[1];
        store_delete_batch(c, args, 1, rcs, errs);
        rc = rcs[0];
        if (rc < 0 && err) *err = errs[0];
        if (deleted) *deleted = j.found;
    }
    sy_queue_clear(&q);
    return rc;
}

int sy_queue_tx_change_visibility(sy_ctx_t *ctx, PGconn *c, const char *name, const char *receipt, int visibility_s,
                                  bool *changed, sy_err_t *err)
{
    sy_queue_t q;
    int rc = queue_get(ctx, name, &q, err);
    if (rc < 0) return rc;
    receipt_job_t j;
    memset(&j, 0, sizeof j);
    if (receipt_decode(receipt, &j.queue_id, &j.msg_id, j.token, sizeof j.token) < 0 || j.queue_id != q.id) {
        rc = sy_err_set(err, SY_E_INVALID, 400, "ReceiptHandleIsInvalid", "invalid receipt handle");
    } else {
        j.visibility_s = visibility_s;
        rc = store_change_visibility_on(c, &j, 1, err);
        if (changed) *changed = j.found;
    }
    sy_queue_clear(&q);
    return rc;
}
