/* lambda/settle.c - settle threads: what workers' ACK/RELEASE/EXTEND
 * mean for the queues, written in batches (one transaction per batch: the
 * message deletes, task replies (the reply seam) and destination records of
 * many invocations commit together), with Lambda's async retry policy. */
#include "lambda/internal.h"
#include "queue/queue.h"

#include <stdlib.h>
#include <string.h>

#define SETTLE_BATCH 128

void lm_settle_push(lm_svc_t *s, lm_job_t *j)
{
    pthread_mutex_lock(&s->mu);
    if (s->jobs_tail) s->jobs_tail->next = j;
    else s->jobs = j;
    s->jobs_tail = j;
    s->njobs++;
    pthread_cond_signal(&s->settle_cv);
    pthread_mutex_unlock(&s->mu);
}

/* --------------------------------------------------------- destinations */
int lm_destination_send(lm_svc_t *s, PGconn *c, const char *arn, const char *function, bool success,
                        const char *request_id, int attempts, const char *condition, const char *payload,
                        const char *response, bool fn_error, const char *qualifier, const char *version,
                        sy_err_t *err)
{
    char ts[32];
    sy_iso8601_ms(sy_now_ms(), ts);
    char *farn = lm_function_arn(s->ctx, function);
    char *qarn = sy_asprintf("%s:%s", farn, qualifier && *qualifier ? qualifier : "$LATEST");
    char executed[16];
    snprintf(executed, sizeof executed, "%s", version && *version ? version : "$LATEST");
    if ((!version || !*version) && qualifier && *qualifier) { /* settled by a broker that did not dispatch it */
        lm_target_t t;
        sy_err_t terr;
        if (lm_target_resolve(s, function, qualifier, &t, &terr) == 0) snprintf(executed, sizeof executed, "%s", t.version);
        lm_target_clear(&t);
    }
    json_t *req = payload ? json_loads(payload, JSON_DECODE_ANY, NULL) : NULL;
    if (!req) req = payload ? json_string(payload) : json_null();
    json_t *rec = json_pack("{s:s,s:s,s:{s:s,s:s,s:s,s:i},s:o,s:{s:i,s:s}}", "version", "1.0", "timestamp", ts,
                            "requestContext", "requestId", request_id ? request_id : "", "functionArn", qarn,
                            "condition", condition, "approximateInvokeCount", attempts, "requestPayload", req,
                            "responseContext", "statusCode", 200, "executedVersion", executed);
    if (fn_error) json_object_set_new(json_object_get(rec, "responseContext"), "functionError", json_string("Unhandled"));
    if (response) {
        json_t *r = json_loads(response, JSON_DECODE_ANY, NULL);
        json_object_set_new(rec, "responsePayload", r ? r : json_string(response));
    }
    char *body = sy_json_dumps(rec);
    json_decref(rec);
    int rc = 0;
    char *qname = NULL;
    char buf[256];
    snprintf(buf, sizeof buf, "%s", arn);
    sy_arn_parts_t parts;
    if (sy_arn_parse(buf, &parts) < 0) {
        sy_log(SY_LOG_WARN, "lambda", request_id, "invalid destination", "destination", arn);
    } else if (strcmp(parts.service, "sqs") == 0 && (qname = sy_queue_name_from_arn(s->ctx, arn))) {
        sy_msg_in_t m = {.body = body, .body_len = strlen(body), .delay_s = -1};
        rc = sy_queue_tx_send(s->ctx, c, qname, &m, NULL, err);
    } else if (strcmp(parts.service, "lambda") == 0) {
        rc = sy_lambda_invoke_async(s->ctx, c, arn, body, strlen(body), NULL, err);
    } else if (strcmp(parts.service, "events") == 0) {
        pthread_mutex_lock(&s->mu);
        sy_lambda_bus_sink_fn sink = s->bus_sink;
        void *u = s->bus_sink_u;
        pthread_mutex_unlock(&s->mu);
        if (sink)
            rc = sink(s->ctx, c, arn, "lambda",
                      success ? "Lambda Function Invocation Result - Success"
                              : "Lambda Function Invocation Result - Failure",
                      body, u, err);
        else
            sy_log(SY_LOG_WARN, "lambda", request_id, "event bus destinations are not available; record dropped",
                   "destination", arn);
    } else if (strcmp(parts.service, "sns") == 0) {
        pthread_mutex_lock(&s->mu);
        sy_lambda_topic_sink_fn sink = s->topic_sink;
        void *u = s->topic_sink_u;
        pthread_mutex_unlock(&s->mu);
        if (sink)
            rc = sink(s->ctx, c, arn, body, u, err);
        else
            sy_log(SY_LOG_WARN, "lambda", request_id, "topic destinations are not available; record dropped",
                   "destination", arn);
    } else {
        sy_log(SY_LOG_WARN, "lambda", request_id, "unsupported destination; record dropped", "destination", arn);
    }
    if (rc < 0 && rc != SY_E_DB) { /* a missing destination must not block the settle */
        sy_log(SY_LOG_WARN, "lambda", request_id, "could not deliver to destination", "destination", arn, "error",
               err ? err->message : "");
        rc = 0;
    }
    free(qname);
    free(body);
    free(qarn);
    free(farn);
    return rc;
}

/* ------------------------------------------------------------- settling */
static json_t *result_json(const lm_job_t *j)
{
    if (!j->result_len) return json_null();
    json_t *v = json_loadb(j->result, j->result_len, JSON_DECODE_ANY, NULL);
    return v ? v : json_stringn(j->result, j->result_len);
}

static char *error_body(const lm_job_t *j)
{
    if (j->result_len && j->result[0] == '{') return sy_strdup(j->result);
    json_t *o = json_pack("{s:s,s:s}", "errorMessage", j->error_message ? j->error_message : "",
                          "errorType", j->error_type ? j->error_type : "Unhandled");
    char *s = sy_json_dumps(o);
    json_decref(o);
    return s;
}

static int retry_delay_s(const lm_svc_t *s, int attempt)
{
    double d = (attempt <= 1 ? 60.0 : 120.0) / lm_scale(s);
    return d < 1 ? 1 : (int)(d + 0.5);
}

/* On c, inside the settle transaction: the row may be locked by it (a
 * recovered lease), so another connection would wait on us forever. */
static void set_visibility(lm_svc_t *s, PGconn *c, const char *queue, const char *receipt, int64_t ms)
{
    int secs = (int)((ms + 999) / 1000);
    if (secs > 43200) secs = 43200;
    sy_queue_tx_change_visibility(s->ctx, c, queue, receipt, secs, NULL, NULL);
}

/* A lease token the broker does not hold in memory (it restarted since the
 * delivery, or the token is stale): rebuild its context from the message
 * the receipt still leases, locked in c's transaction. NULL with *rc 0 when
 * the receipt is stale or invalid (refused: nothing is applied). */
static lm_lease_t *lease_recover(lm_svc_t *s, PGconn *c, const lm_job_t *j, const char *queue, const char *receipt,
                                 int *rc, sy_err_t *err)
{
    sy_msg_out_t m;
    sy_err_t e;
    sy_err_clear(&e);
    *rc = sy_queue_tx_leased(s->ctx, c, queue, receipt, &m, &e);
    if (*rc == SY_E_DB) {
        if (err) *err = e;
        return NULL;
    }
    if (*rc < 0) {
        sy_log(SY_LOG_INFO, "lambda", NULL, "stale lease token refused", "function", j->function, "error",
               e.message);
        sy_metric_inc("switchyard_lambda_stale_tokens_total", NULL, 1);
        *rc = 0;
        return NULL;
    }
    lm_lease_t *l = lm_lease_of_message(j->function, queue, &m);
    sy_msg_out_clear(&m);
    sy_log(SY_LOG_INFO, "lambda", l->message_ids[0], "lease recovered from the database", "function", j->function);
    sy_metric_inc("switchyard_lambda_recovered_leases_total", NULL, 1);
    return l;
}

/* Delete the leased message; *stale when the receipt no longer leases it
 * (then nothing else may be applied). */
static int delete_leased(lm_svc_t *s, PGconn *c, const char *queue, const char *receipt, bool *stale, sy_err_t *err)
{
    bool deleted = false;
    int rc = sy_queue_tx_delete(s->ctx, c, queue, receipt, &deleted, err);
    *stale = rc == 0 && !deleted;
    if (*stale) sy_log(SY_LOG_INFO, "lambda", NULL, "stale lease token refused", "queue", queue);
    return rc;
}

/* An async invocation ('A'). */
static int settle_async(lm_svc_t *s, PGconn *c, lm_job_t *j, sy_err_t *err)
{
    lm_lease_t *l = j->lease;
    char *q = l ? NULL : lm_queue_name(j->function);
    const char *queue = l ? l->queue : q;
    const char *receipt = l ? l->receipts[0] : (j->token[1] == '.' ? j->token + 2 : NULL);
    int rc = 0;
    bool stale = false;
    if (!receipt) goto done; /* a random token of a lost lease: the message returns with its visibility */
    if (j->kind == 'r' || j->kind == 'x') {
        set_visibility(s, c, queue, receipt, j->ms);
        goto done;
    }
    if (!l) { /* a lease from before a broker restart: its context is in the row */
        l = j->lease = lease_recover(s, c, j, queue, receipt, &rc, err);
        if (!l) goto done;
    }
    lm_fn_t f;
    if (lm_fn_lookup(s, l->function, &f, err) < 0) { /* deleted: drop */
        rc = sy_queue_tx_delete(s->ctx, c, queue, receipt, NULL, err);
        goto done;
    }
    char *ok_dest = NULL, *fail_dest = NULL;
    lm_fn_destinations(s, l->function, &ok_dest, &fail_dest);
    if (l->reply_exec) {
        rc = delete_leased(s, c, queue, receipt, &stale, err);
        if (rc == 0 && stale) { /* refused: the message was leased again */
        } else if (rc == 0 && j->kind == 'a' && j->ok) {
            json_t *v = result_json(j);
            rc = lm_reply(s, c, l->reply_exec, l->reply_task, v, NULL, NULL, err);
            json_decref(v);
        } else if (rc == 0) {
            char *cause = error_body(j);
            const char *type = j->kind == 'e' ? "Lambda.EventAgeExceeded" : j->error_type ? j->error_type : "Unhandled";
            rc = lm_reply(s, c, l->reply_exec, l->reply_task, NULL, type, cause, err);
            free(cause);
        }
        if (rc == SY_E_NOTFOUND) rc = 0; /* the execution is gone */
    } else if (j->kind == 'a' && j->ok) {
        rc = delete_leased(s, c, queue, receipt, &stale, err);
        if (rc == 0 && !stale && ok_dest)
            rc = lm_destination_send(s, c, ok_dest, l->function, true, LM_LEASE_RID(l), l->attempt, "Success",
                                     l->payload, j->result, false, l->qualifier, l->version, err);
    } else if (j->kind == 'a' && l->attempt <= f.max_retries) {
        sy_log(SY_LOG_INFO, "lambda", LM_LEASE_RID(l), "async invocation failed; will retry", "function",
               l->function, "error_type", j->error_type ? j->error_type : "Unhandled");
        set_visibility(s, c, queue, receipt, (int64_t)retry_delay_s(s, l->attempt) * 1000);
    } else {
        rc = delete_leased(s, c, queue, receipt, &stale, err);
        char *eb = j->kind == 'e' ? NULL : error_body(j);
        if (rc == 0 && stale) { /* refused: the message was leased again */
        } else if (rc == 0 && fail_dest)
            rc = lm_destination_send(s, c, fail_dest, l->function, false, LM_LEASE_RID(l), l->attempt,
                                     j->kind == 'e' ? "EventAgeExceeded" : "RetriesExhausted", l->payload, eb,
                                     j->kind != 'e', l->qualifier, l->version, err);
        else if (rc == 0)
            sy_log(SY_LOG_WARN, "lambda", LM_LEASE_RID(l), "async invocation dropped after its last attempt",
                   "function", l->function);
        free(eb);
    }
    free(ok_dest);
    free(fail_dest);
done:
    free(q);
    return rc;
}

/* The ids a handler reported in batchItemFailures; NULL (all failed) when
 * the response is not valid (AWS: the whole batch is retried). */
static bool *batch_failures(const lm_lease_t *l, const lm_job_t *j)
{
    bool *failed = sy_calloc((size_t)l->n + 1, sizeof *failed);
    if (!l->report_failures || !j->result_len) return failed;
    json_t *r = json_loadb(j->result, j->result_len, JSON_DECODE_ANY, NULL);
    json_t *arr = json_object_get(r, "batchItemFailures");
    size_t i;
    json_t *it;
    bool bad = false;
    json_array_foreach(arr, i, it)
    {
        const char *id = sy_json_str(it, "itemIdentifier");
        int k = -1;
        for (int m = 0; id && *id && m < l->n; m++)
            if (strcmp(l->message_ids[m], id) == 0) k = m;
        if (k < 0) bad = true;
        else failed[k] = true;
    }
    json_decref(r);
    if (bad) {
        free(failed);
        return NULL;
    }
    return failed;
}

/* An event-source mapping batch ('E'). Failed messages stay leased: they
 * return with the queue's visibility timeout and count towards its redrive
 * policy, as on AWS. */
static int settle_batch(lm_svc_t *s, PGconn *c, lm_job_t *j, sy_err_t *err)
{
    lm_lease_t *l = j->lease;
    if (j->kind == 'r' || j->kind == 'x') {
        for (int i = 0; i < l->n; i++) set_visibility(s, c, l->queue, l->receipts[i], j->ms);
        return 0;
    }
    if (!j->ok) return 0;
    bool *failed = batch_failures(l, j);
    if (!failed) {
        sy_log(SY_LOG_WARN, "lambda", NULL, "invalid batchItemFailures; the whole batch is retried", "function",
               l->function);
        return 0;
    }
    int rc = 0;
    for (int i = 0; i < l->n && rc == 0; i++)
        if (!failed[i]) rc = sy_queue_tx_delete(s->ctx, c, l->queue, l->receipts[i], NULL, err);
    free(failed);
    return rc;
}

static void refuse_stale(const lm_job_t *j, const char *why)
{
    sy_log(SY_LOG_INFO, "lambda", NULL, "stale lease token refused", "function", j->function, "error", why);
    sy_metric_inc("switchyard_lambda_stale_tokens_total", NULL, 1);
}

/* A mapping batch the broker does not hold in memory (it restarted since
 * the delivery, or an EXTEND, which leaves the live lease in the map): the
 * token names the mapping and the receipt token every
 * message of the batch was leased under; the messages it still leases,
 * locked in c's transaction, are the batch. NULL with *rc 0 when the token
 * is stale (the batch was settled or leased again) or invalid: refused. */
static lm_lease_t *batch_recover(lm_svc_t *s, PGconn *c, const lm_job_t *j, int *rc, sy_err_t *err)
{
    *rc = 0;
    const char *t = j->token;
    if (strlen(t) != 2 + 36 + 1 + 32 || t[38] != '.') {
        refuse_stale(j, "malformed batch token");
        return NULL;
    }
    char esm[37];
    snprintf(esm, sizeof esm, "%.36s", t + 2);
    const char *shared = t + 39;
    lm_esm_row_t row;
    memset(&row, 0, sizeof row);
    sy_err_t e;
    sy_err_clear(&e);
    *rc = lm_store_esm_get(s->ctx, esm, &row, &e);
    if (*rc < 0) {
        if (*rc == SY_E_DB && err) *err = e;
        if (*rc != SY_E_DB) { /* the mapping is gone: its messages return with their visibility */
            refuse_stale(j, "event-source mapping not found");
            *rc = 0;
        }
        return NULL;
    }
    char *queue = sy_queue_name_from_arn(s->ctx, row.source_arn);
    sy_msg_out_t *msgs = NULL;
    int n = 0;
    lm_lease_t *l = NULL;
    if (!queue) {
        refuse_stale(j, "source queue not found");
        goto done;
    }
    *rc = sy_queue_tx_leased_batch(s->ctx, c, queue, shared, &msgs, &n, &e);
    if (*rc == SY_E_DB) {
        if (err) *err = e;
        goto done;
    }
    if (*rc < 0 || n == 0) {
        refuse_stale(j, *rc < 0 ? e.message : "no message is leased under the batch token");
        *rc = 0;
        goto done;
    }
    l = sy_calloc(1, sizeof *l);
    l->kind = 'E';
    snprintf(l->function, sizeof l->function, "%s", row.function);
    snprintf(l->esm, sizeof l->esm, "%s", esm);
    snprintf(l->shared, sizeof l->shared, "%s", shared);
    snprintf(l->token, sizeof l->token, "%s", t);
    l->queue = sy_strdup(queue);
    l->report_failures = row.report_failures;
    l->n = n;
    l->receipts = sy_calloc((size_t)n, sizeof(char *));
    l->message_ids = sy_calloc((size_t)n, sizeof(char *));
    for (int i = 0; i < n; i++) {
        l->receipts[i] = sy_strdup(msgs[i].receipt);
        l->message_ids[i] = sy_strdup(msgs[i].message_id);
        if (msgs[i].receive_count > l->attempt) l->attempt = msgs[i].receive_count;
    }
    if (j->kind != 'x') { /* an EXTEND reads the batch this way every time */
        sy_log(SY_LOG_INFO, "lambda", NULL, "batch lease recovered from the database", "function", l->function,
               "event_source_mapping", esm);
        sy_metric_inc("switchyard_lambda_recovered_leases_total", NULL, 1);
    }
done:
    for (int i = 0; i < n; i++) sy_msg_out_clear(&msgs[i]);
    free(msgs);
    free(queue);
    lm_esm_row_clear(&row);
    return l;
}

static int settle_one(lm_svc_t *s, PGconn *c, lm_job_t *j, sy_err_t *err)
{
    if (j->token[0] != 'E') return settle_async(s, c, j, err);
    if (!j->lease) {
        /* An EXTEND (the live lease stays in the map), or a batch from
         * before a broker restart: the messages leased under the batch's
         * token are the batch. A failed batch leaves them as they are: they
         * return with the queue's visibility timeout, as the live path does. */
        if (j->kind == 'a' && !j->ok) return 0;
        int rc;
        j->lease = batch_recover(s, c, j, &rc, err);
        if (!j->lease) return rc;
    }
    return settle_batch(s, c, j, err);
}

typedef struct {
    lm_svc_t *s;
    lm_job_t *j;
} one_t;

static int settle_tx_one(PGconn *c, void *u, sy_err_t *err)
{
    one_t *o = u;
    return settle_one(o->s, c, o->j, err);
}

/* One transaction for the batch; if it breaks, each job in a transaction
 * of its own (re-run on serialization failure or deadlock by sy_pg_tx_on). */
static void settle_batch_tx(lm_svc_t *s, lm_job_t *jobs)
{
    /* A full pool is waited out, not a reason to drop the outcomes: a
     * dropped settle runs the function again once its lease expires. */
    PGconn *c;
    for (int attempt = 0; !(c = sy_pg_acquire(s->ctx->pool)); attempt++) {
        pthread_mutex_lock(&s->mu);
        bool stop = s->settle_stop;
        pthread_mutex_unlock(&s->mu);
        if (stop) return; /* shutting down: the leases return with their visibility */
        sy_pg_retry_backoff(attempt < 6 ? attempt : 6);
    }
    sy_err_t err;
    sy_err_clear(&err);
    int rc = sy_pg_begin(c, &err);
    for (lm_job_t *j = jobs; rc == 0 && j; j = j->next) {
        sy_err_clear(&err);
        rc = settle_one(s, c, j, &err);
    }
    if (rc == 0 && sy_pg_commit(c, &err) == 0) {
        sy_pg_release(s->ctx->pool, c);
        return;
    }
    sy_pg_rollback(c);
    for (lm_job_t *j = jobs; j; j = j->next) {
        one_t o = {s, j};
        sy_err_clear(&err);
        if (sy_pg_tx_on(c, settle_tx_one, &o, &err) < 0)
            sy_log(SY_LOG_WARN, "lambda", NULL, "could not settle an invocation", "function", j->function, "error",
                   err.message);
    }
    sy_pg_release(s->ctx->pool, c);
}

void *lm_settle_main(void *arg)
{
    lm_svc_t *s = arg;
    while (true) {
        pthread_mutex_lock(&s->mu);
        while (!s->jobs && !s->settle_stop) pthread_cond_wait(&s->settle_cv, &s->mu);
        if (!s->jobs && s->settle_stop) {
            pthread_mutex_unlock(&s->mu);
            break;
        }
        lm_job_t *batch = s->jobs, *last = s->jobs;
        int n = 1;
        while (last->next && n < SETTLE_BATCH) {
            last = last->next;
            n++;
        }
        s->jobs = last->next;
        if (!s->jobs) s->jobs_tail = NULL;
        last->next = NULL;
        s->njobs -= n;
        pthread_mutex_unlock(&s->mu);
        settle_batch_tx(s, batch);
        while (batch) {
            lm_job_t *j = batch;
            batch = j->next;
            lm_job_free(j);
        }
    }
    return NULL;
}
