/* queue/receive.c - the primitive's lease/settle calls for other services */
#include "queue/internal.h"

#include <stdlib.h>
#include <string.h>

int sy_queue_lease(sy_ctx_t *ctx, const char *name, int max, int visibility_s, sy_msg_out_t *out, int *n,
                   sy_err_t *err)
{
    *n = 0;
    if (max > 10) max = 10;
    sy_queue_t q;
    int rc = store_queue_get(ctx, name, &q, err);
    if (rc < 0) return rc;
    leased_t got[10];
    int got_n = 0;
    rc = store_receive(ctx, &q, max, visibility_s >= 0 ? visibility_s : q.visibility_s, got, &got_n, err);
    for (int i = 0; i < got_n; i++) {
        sy_msg_out_t *o = &out[i];
        memset(o, 0, sizeof *o);
        o->id = got[i].id;
        snprintf(o->message_id, sizeof o->message_id, "%s", got[i].uuid);
        o->receipt = receipt_encode(q.id, got[i].id, got[i].receipt);
        o->body = got[i].body;
        got[i].body = NULL;
        o->attrs = got[i].attrs;
        got[i].attrs = NULL;
        o->receive_count = got[i].receive_count;
        o->sent_ms = got[i].sent_ms;
        leased_clear(&got[i]);
    }
    *n = got_n;
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
    int rc = store_queue_get(ctx, name, &q, err);
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
    int rc = store_queue_get(ctx, name, &q, err);
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
    int rc = store_queue_get(ctx, name, &q, err);
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
