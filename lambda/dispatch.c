/* lambda/dispatch.c - the dispatcher thread: leases from the internal
 * queues of functions that have free concurrency (async invocations) and
 * from the SQS queues of event-source mappings (batches), and pushes them
 * to the pool with sy_pool_offer. The pool's lease callbacks (on the pool
 * thread) only take the lease from the map and queue a settle job. */
#include "lambda/internal.h"
#include "lambda/fleet.h" /* issue 11 */
#include "queue/queue.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

struct lm_esm {
    lm_esm_row_t row;
    char *queue;           /* source queue name */
    int outstanding;       /* batches offered, not settled */
    lm_lease_t *held;      /* partial batch held for MaximumBatchingWindowInSeconds */
    json_t *held_records;
    int64_t held_since_ms;
    int64_t idle_until_ms; /* empty queue: poll again after this */
    bool seen;             /* reload bookkeeping */
    lm_esm_t *next;
};

void lm_lease_free(lm_lease_t *l)
{
    if (!l) return;
    for (int i = 0; i < l->n; i++) {
        free(l->receipts[i]);
        free(l->message_ids[i]);
    }
    free(l->receipts);
    free(l->message_ids);
    free(l->queue);
    free(l->payload);
    free(l->reply_exec);
    free(l->request_id);
    free(l->qualifier);
    free(l);
}

void lm_job_free(lm_job_t *j)
{
    if (!j) return;
    lm_lease_free(j->lease);
    free(j->error_type);
    free(j->error_message);
    free(j->result);
    free(j);
}

static unsigned slot_of(const char *token)
{
    uint32_t h = 2166136261u;
    for (const unsigned char *p = (const unsigned char *)token; *p; p++) h = (h ^ *p) * 16777619u;
    return h % 1024;
}

/* under s->mu */
static void map_put(lm_svc_t *s, lm_lease_t *l)
{
    unsigned k = slot_of(l->token);
    l->next = s->leases[k];
    s->leases[k] = l;
}

static lm_lease_t *map_take(lm_svc_t *s, const char *token)
{
    for (lm_lease_t **pp = &s->leases[slot_of(token)]; *pp; pp = &(*pp)->next)
        if (strcmp((*pp)->token, token) == 0) {
            lm_lease_t *l = *pp;
            *pp = l->next;
            l->next = NULL;
            return l;
        }
    return NULL;
}

static lm_fn_t *fn_find(lm_svc_t *s, const char *name)
{
    for (lm_fn_t *f = s->fns; f; f = f->next)
        if (strcmp(f->name, name) == 0) return f;
    return NULL;
}

static lm_esm_t *esm_find(lm_svc_t *s, const char *uuid)
{
    for (lm_esm_t *e = s->esms; e; e = e->next)
        if (strcmp(e->row.uuid, uuid) == 0) return e;
    return NULL;
}

/* under s->mu: a lease left the pool */
static void settled(lm_svc_t *s, const lm_lease_t *l)
{
    lm_fn_t *f = fn_find(s, l->function);
    if (f && f->outstanding > 0) f->outstanding--;
    if (l->kind == 'E') {
        lm_esm_t *e = esm_find(s, l->esm);
        if (e && e->outstanding > 0) e->outstanding--;
    }
    s->kick = true;
    pthread_cond_signal(&s->wake);
}

/* --------------------------------------------------- lease source (pool thread) */
static lm_job_t *job_new(lm_svc_t *s, char kind, const char *function, const char *token)
{
    lm_job_t *j = sy_calloc(1, sizeof *j);
    j->kind = kind;
    snprintf(j->function, sizeof j->function, "%s", function ? function : "");
    snprintf(j->token, sizeof j->token, "%s", token);
    if (kind != 'x') {
        pthread_mutex_lock(&s->mu);
        j->lease = map_take(s, token);
        if (j->lease) settled(s, j->lease);
        pthread_mutex_unlock(&s->mu);
        if (j->lease) snprintf(j->function, sizeof j->function, "%s", j->lease->function);
    }
    return j;
}

static int src_ack(void *u, const char *function, const char *token, const char *message_id, sy_ack_outcome_t outcome,
                   const char *etype, const char *emsg, const void *result, size_t len)
{
    (void)message_id;
    lm_svc_t *s = u;
    if (token[0] != 'A' && token[0] != 'E') return -1;
    lm_job_t *j = job_new(s, 'a', function, token);
    if (!j->lease && token[0] == 'E' && token[1] != '.') {
        lm_job_free(j);
        return -1; /* not recoverable: its messages return with their visibility timeout */
    }
    j->ok = outcome == SY_ACK_OK;
    j->error_type = etype && *etype ? sy_strdup(etype) : NULL;
    j->error_message = emsg && *emsg ? sy_strdup(emsg) : NULL;
    j->result = sy_strndup(result ? result : "", result ? len : 0);
    j->result_len = result ? len : 0;
    lm_settle_push(s, j);
    return 0;
}

static int src_release(void *u, const char *function, const char *token, int64_t delay_ms)
{
    lm_svc_t *s = u;
    if (token[0] != 'A' && token[0] != 'E') return -1;
    lm_job_t *j = job_new(s, 'r', function, token);
    if (!j->lease && token[0] == 'E' && token[1] != '.') {
        lm_job_free(j);
        return -1; /* not recoverable: its messages return with their visibility timeout */
    }
    j->ms = delay_ms;
    lm_settle_push(s, j);
    return 0;
}

static int src_extend(void *u, const char *function, const char *token, int64_t extend_ms)
{
    lm_svc_t *s = u;
    if (token[0] != 'A' && token[0] != 'E') return -1;
    lm_job_t *j = job_new(s, 'x', function, token);
    j->ms = extend_ms;
    lm_settle_push(s, j);
    return 0;
}

const sy_lease_source_t lm_lease_source_proto = {
    .lease = NULL, .ack = src_ack, .release = src_release, .extend = src_extend, .u = NULL};

/* ------------------------------------------------------------- dispatcher */
typedef struct {
    char (*names)[LM_NAME_MAX + 1];
    int *conc;
    int n, cap;
} hosted_t;

static void hosted_cb(const sy_pool_function_info_t *info, void *u)
{
    hosted_t *h = u;
    const char *colon = strchr(info->name, ':');
    if (colon) { /* a worker hosting one version ("name:N") adds to the function */
        for (int i = 0; i < h->n; i++)
            if (strlen(h->names[i]) == (size_t)(colon - info->name) &&
                strncmp(h->names[i], info->name, (size_t)(colon - info->name)) == 0) {
                h->conc[i] += info->concurrency;
                return;
            }
        if (colon - info->name > LM_NAME_MAX) return;
    }
    if (!colon && strlen(info->name) > LM_NAME_MAX) return;
    if (h->n == h->cap) {
        h->cap = h->cap ? h->cap * 2 : 16;
        h->names = sy_realloc(h->names, (size_t)h->cap * sizeof *h->names);
        h->conc = sy_realloc(h->conc, (size_t)h->cap * sizeof *h->conc);
    }
    snprintf(h->names[h->n], LM_NAME_MAX + 1, "%.*s", colon ? (int)(colon - info->name) : LM_NAME_MAX, info->name);
    for (int i = 0; colon && i < h->n; i++) /* the base name came after a versioned one */
        if (strcmp(h->names[i], h->names[h->n]) == 0) {
            h->conc[i] += info->concurrency;
            return;
        }
    h->conc[h->n++] = info->concurrency;
}

/* Free concurrency of a function for durable work: its workers' summed
 * concurrency, capped by its reserved concurrency, less what is out. */
static int function_room(lm_svc_t *s, const char *name, int conc)
{
    /* a worker shared by several brokers gives each a share of its slots,
     * which may be none: lease nothing that could only wait here while
     * another broker can run it */
    int credit = s->pool ? sy_pool_function_credit(s->pool, name) : 0;
    bool shared = credit == 0 && lm_fleet_hosts(s, name); /* fleet.c: another broker's workers host it */
    pthread_mutex_lock(&s->mu);
    lm_fn_t *f = fn_find(s, name);
    int room = 0;
    if (f) {
        f->capacity = conc;
        room = conc - f->outstanding;
        int share = lm_conc_room(s, f); /* concurrency.c: this broker's share of the limits */
        if (share >= 0 && share < room) room = share;
        if (shared && f->outstanding == 0) room = 0;
    }
    pthread_mutex_unlock(&s->mu);
    return room > 0 ? room : 0;
}

static void offered(lm_svc_t *s, const char *name, lm_lease_t *l)
{
    pthread_mutex_lock(&s->mu);
    lm_fn_t *f = fn_find(s, name);
    if (f) f->outstanding++;
    if (l->kind == 'E') {
        lm_esm_t *e = esm_find(s, l->esm);
        if (e) e->outstanding++;
    }
    map_put(s, l);
    pthread_mutex_unlock(&s->mu);
}

static const char *attr_str(const json_t *attrs, const char *name)
{
    return sy_json_str(json_object_get(attrs, name), "StringValue");
}

/* The in-memory context of a leased async invocation, all of it from the
 * message: the body is the event, the sy-reply attribute the Step Functions
 * task to report to, the receive count the attempt. The token is
 * self-describing ("A." + the queue's receipt handle, which encodes the
 * queue, the message and the lease), so a broker that has lost the map
 * (restart) rebuilds the same context from the row (lm_lease_recover). */
lm_lease_t *lm_lease_of_message(const char *function, const char *queue, const sy_msg_out_t *m)
{
    lm_lease_t *l = sy_calloc(1, sizeof *l);
    l->kind = 'A';
    snprintf(l->function, sizeof l->function, "%s", function);
    l->queue = sy_strdup(queue);
    l->n = 1;
    l->receipts = sy_calloc(1, sizeof(char *));
    l->message_ids = sy_calloc(1, sizeof(char *));
    l->receipts[0] = sy_strdup(m->receipt);
    l->message_ids[0] = sy_strdup(m->message_id);
    l->attempt = m->receive_count;
    l->payload = sy_strdup(m->body ? m->body : "");
    const char *rid = attr_str(m->attrs, LM_ATTR_REQUEST), *qual = attr_str(m->attrs, LM_ATTR_QUALIFIER);
    l->request_id = sy_strdup(rid && *rid && strlen(rid) <= 36 ? rid : m->message_id); /* one id everywhere */
    if (qual && *qual) l->qualifier = sy_strdup(qual);
    const char *reply = attr_str(m->attrs, LM_ATTR_REPLY);
    if (reply) {
        json_t *r = json_loads(reply, 0, NULL);
        const char *e = sy_json_str(r, "e");
        int64_t t = 0;
        if (e && sy_json_int(r, "t", &t)) {
            l->reply_exec = sy_strdup(e);
            l->reply_task = t;
        }
        json_decref(r);
    }
    if (strlen(m->receipt) + 2 < sizeof l->token) {
        snprintf(l->token, sizeof l->token, "A.%s", m->receipt);
    } else { /* not recoverable after a restart: runs again then */
        unsigned char raw[12];
        char hex[25];
        sy_random_bytes(raw, sizeof raw);
        sy_hex(raw, sizeof raw, hex);
        snprintf(l->token, sizeof l->token, "A#%s", hex);
    }
    return l;
}

/* Lease up to `room` async invocations of one function. Returns how many
 * were leased (a full lease means: call again). */
static int dispatch_async(lm_svc_t *s, const char *name, int room)
{
    lm_fn_t f;
    sy_err_t err;
    if (lm_fn_lookup(s, name, &f, &err) < 0) return 0;
    char *q = lm_queue_name(name);
    int want = room < 10 ? room : 10;
    sy_msg_out_t msgs[10];
    int n = 0;
    int vis = f.timeout_s + 10;
    if (sy_queue_lease(s->ctx, q, want, vis, msgs, &n, &err) < 0) n = 0;
    int64_t now = sy_now_ms();
    for (int i = 0; i < n; i++) {
        sy_msg_out_t *m = &msgs[i];
        lm_lease_t *l = lm_lease_of_message(name, q, m);
        if (!l->reply_exec && f.max_age_s > 0 && now - m->sent_ms > (int64_t)f.max_age_s * 1000) {
            lm_job_t *j = sy_calloc(1, sizeof *j);
            j->kind = 'e';
            snprintf(j->function, sizeof j->function, "%s", name);
            snprintf(j->token, sizeof j->token, "%s", l->token);
            j->lease = l;
            lm_settle_push(s, j);
            sy_msg_out_clear(m);
            continue;
        }
        sy_delivery_t d;
        memset(&d, 0, sizeof d);
        snprintf(d.lease_token, sizeof d.lease_token, "%s", l->token);
        snprintf(d.message_id, sizeof d.message_id, "%s", m->message_id);
        d.attempt = (uint32_t)m->receive_count;
        char key[LM_NAME_MAX + 18];
        int timeout_s = f.timeout_s;
        lm_delivery_target(s, l, &d, key, sizeof key, &timeout_s); /* versions.c: id, config */
        d.deadline_ms = now + (int64_t)timeout_s * 1000 + 2000;
        d.payload = m->body;
        d.len = strlen(m->body);
        m->body = NULL;
        offered(s, name, l);
        if (sy_pool_offer(s->pool, key, &d, 1) < 0) free(d.payload);
        free((char *)d.config);
        sy_msg_out_clear(m);
    }
    free(q);
    return n == want ? n : 0;
}

/* ------------------------------------------------------ event-source mappings */
static json_t *record_of(lm_svc_t *s, const lm_esm_t *e, const sy_msg_out_t *m)
{
    char md5[33], sent[24], first[24], rc[16];
    sy_md5_hex(m->body, strlen(m->body), md5);
    snprintf(sent, sizeof sent, "%lld", (long long)m->sent_ms);
    snprintf(first, sizeof first, "%lld", (long long)sy_now_ms());
    snprintf(rc, sizeof rc, "%d", m->receive_count);
    json_t *mattrs = json_object();
    const char *k;
    json_t *v;
    json_object_foreach(m->attrs, k, v)
    {
        json_t *a = json_pack("{s:[],s:[],s:s}", "stringListValues", "binaryListValues", "dataType",
                              sy_json_str(v, "DataType") ? sy_json_str(v, "DataType") : "String");
        if (sy_json_str(v, "StringValue")) json_object_set_new(a, "stringValue", json_string(sy_json_str(v, "StringValue")));
        if (sy_json_str(v, "BinaryValue")) json_object_set_new(a, "binaryValue", json_string(sy_json_str(v, "BinaryValue")));
        json_object_set_new(mattrs, k, a);
    }
    return json_pack("{s:s,s:s,s:s,s:{s:s,s:s,s:s,s:s},s:o,s:s,s:s,s:s,s:s}", "messageId", m->message_id,
                     "receiptHandle", m->receipt, "body", m->body, "attributes", "ApproximateReceiveCount", rc,
                     "SentTimestamp", sent, "SenderId", s->ctx->cfg.account_id, "ApproximateFirstReceiveTimestamp",
                     first, "messageAttributes", mattrs, "md5OfBody", md5, "eventSource", "aws:sqs", "eventSourceARN",
                     e->row.source_arn, "awsRegion", s->ctx->cfg.region);
}

static void offer_batch(lm_svc_t *s, lm_esm_t *e, int timeout_s)
{
    lm_lease_t *l = e->held;
    json_t *ev = json_pack("{s:o}", "Records", e->held_records);
    e->held = NULL;
    e->held_records = NULL;
    char *body = sy_json_dumps(ev);
    json_decref(ev);
    sy_delivery_t d;
    memset(&d, 0, sizeof d);
    snprintf(d.lease_token, sizeof d.lease_token, "%s", l->token);
    snprintf(d.message_id, sizeof d.message_id, "%s", l->message_ids[0]);
    d.attempt = (uint32_t)(l->attempt > 0 ? l->attempt : 1);
    d.deadline_ms = sy_now_ms() + (int64_t)timeout_s * 1000 + 2000;
    d.payload = body;
    d.len = strlen(body);
    char key[LM_NAME_MAX + 18];
    lm_delivery_target(s, l, &d, key, sizeof key, &timeout_s); /* versions.c: config */
    offered(s, l->function, l);
    if (sy_pool_offer(s->pool, key, &d, 1) < 0) free(d.payload);
    free((char *)d.config);
}

/* Fill (or top up) e's batch from its queue; offer it when full, when the
 * queue is drained and no batching window applies, or when the window is
 * over. Returns true when the queue may have more right away. */
static bool dispatch_esm(lm_svc_t *s, lm_esm_t *e, int timeout_s)
{
    int64_t now = sy_now_ms();
    if (!e->held) {
        if (now < e->idle_until_ms) return false;
        lm_lease_t *l = sy_calloc(1, sizeof *l);
        l->kind = 'E';
        snprintf(l->function, sizeof l->function, "%s", e->row.function);
        snprintf(l->esm, sizeof l->esm, "%s", e->row.uuid);
        l->queue = sy_strdup(e->queue);
        l->report_failures = e->row.report_failures;
        if (e->row.qualifier[0]) l->qualifier = sy_strdup(e->row.qualifier); /* a version or alias */
        unsigned char raw[16];
        sy_random_bytes(raw, sizeof raw);
        sy_hex(raw, sizeof raw, l->shared);
        snprintf(l->token, sizeof l->token, "E.%s.%s", l->esm, l->shared);
        e->held = l;
        e->held_records = json_array();
        e->held_since_ms = now;
    }
    lm_lease_t *l = e->held;
    bool more = false;
    while (l->n < e->row.batch_size) {
        int want = e->row.batch_size - l->n < 10 ? e->row.batch_size - l->n : 10;
        sy_msg_out_t msgs[10];
        int n = 0;
        sy_err_t err;
        if (sy_queue_lease_shared(s->ctx, e->queue, want, -1, l->shared, msgs, &n, &err) < 0) n = 0;
        l->receipts = sy_realloc(l->receipts, (size_t)(l->n + n + 1) * sizeof(char *));
        l->message_ids = sy_realloc(l->message_ids, (size_t)(l->n + n + 1) * sizeof(char *));
        for (int i = 0; i < n; i++) {
            json_array_append_new(e->held_records, record_of(s, e, &msgs[i]));
            l->receipts[l->n] = sy_strdup(msgs[i].receipt);
            l->message_ids[l->n] = sy_strdup(msgs[i].message_id);
            if (msgs[i].receive_count > l->attempt) l->attempt = msgs[i].receive_count;
            l->n++;
            sy_msg_out_clear(&msgs[i]);
        }
        if (n < want) break;
        more = true;
    }
    int64_t window_ms = (int64_t)((double)e->row.window_s * 1000.0 / lm_scale(s));
    bool full = l->n >= e->row.batch_size;
    if (l->n == 0) {
        lm_lease_free(l);
        json_decref(e->held_records);
        e->held = NULL;
        e->held_records = NULL;
        e->idle_until_ms = now + 50;
        return false;
    }
    if (full || window_ms == 0 || now - e->held_since_ms >= window_ms) {
        offer_batch(s, e, timeout_s);
        return full && more;
    }
    return false;
}

static void esms_free(lm_esm_t *e)
{
    lm_esm_row_clear(&e->row);
    free(e->queue);
    lm_lease_free(e->held);
    json_decref(e->held_records);
    free(e);
}

/* Reload the mappings (every second, or when changed here). Dispatcher thread. */
static void esms_load(lm_svc_t *s)
{
    lm_esm_row_t *rows = NULL;
    int n = 0;
    sy_err_t err;
    if (lm_store_esm_list(s->ctx, NULL, NULL, &rows, &n, &err) < 0) return;
    pthread_mutex_lock(&s->mu);
    for (lm_esm_t *e = s->esms; e; e = e->next) e->seen = false;
    for (int i = 0; i < n; i++) {
        lm_esm_t *e = esm_find(s, rows[i].uuid);
        if (!e) {
            char *qn = sy_queue_name_from_arn(s->ctx, rows[i].source_arn);
            if (!qn) {
                lm_esm_row_clear(&rows[i]);
                continue;
            }
            e = sy_calloc(1, sizeof *e);
            e->queue = qn;
            e->next = s->esms;
            s->esms = e;
        } else {
            lm_esm_row_clear(&e->row);
        }
        e->row = rows[i];
        memset(&rows[i], 0, sizeof rows[i]);
        e->seen = true;
    }
    for (lm_esm_t **pp = &s->esms; *pp;) {
        lm_esm_t *e = *pp;
        if (!e->seen && !e->held && e->outstanding == 0) {
            *pp = e->next;
            esms_free(e);
        } else {
            if (!e->seen) e->row.enabled = false;
            pp = &e->next;
        }
    }
    s->esms_loaded_ms = sy_mono_us() / 1000;
    pthread_mutex_unlock(&s->mu);
    for (int i = 0; i < n; i++) lm_esm_row_clear(&rows[i]);
    free(rows);
}

void lm_esms_reload(lm_svc_t *s)
{
    pthread_mutex_lock(&s->mu);
    s->esms_loaded_ms = 0;
    s->kick = true;
    pthread_cond_signal(&s->wake);
    pthread_mutex_unlock(&s->mu);
}

static bool dispatch_esms(lm_svc_t *s, const hosted_t *h)
{
    bool busy = false;
    /* the dispatcher is the only thread that adds or removes mappings
     * (esms_load), so walking the list outside the lock is safe; counters
     * are read under it */
    for (lm_esm_t *e = s->esms; e; e = e->next) {
        if (!e->row.enabled) continue;
        int conc = -1;
        for (int i = 0; i < h->n; i++)
            if (strcmp(h->names[i], e->row.function) == 0) conc = h->conc[i];
        if (conc <= 0) continue;
        lm_fn_t f;
        sy_err_t err;
        if (lm_fn_lookup(s, e->row.function, &f, &err) < 0) continue;
        for (int round = 0; round < 64; round++) {
            int room = function_room(s, e->row.function, conc);
            pthread_mutex_lock(&s->mu);
            if (e->row.max_concurrency > 0 && e->row.max_concurrency - e->outstanding < room)
                room = e->row.max_concurrency - e->outstanding;
            pthread_mutex_unlock(&s->mu);
            if (room <= 0) break;
            bool more = dispatch_esm(s, e, f.timeout_s);
            if (!more) break;
            busy = true;
        }
    }
    return busy;
}

static void *dispatcher_main(void *arg)
{
    lm_svc_t *s = arg;
    int idle_ms = 1;
    hosted_t h = {0};
    sy_ctx_wait_wired(s->ctx); /* replies go through the reply/topic/bus sinks */
    int beat = sy_beat_register("lambda-dispatcher", 60000); /* GET /health/live */
    while (true) {
        sy_beat(beat);
        pthread_mutex_lock(&s->mu);
        bool stop = s->stop;
        s->kick = false;
        bool reload = sy_mono_us() / 1000 - s->esms_loaded_ms >= 1000;
        pthread_mutex_unlock(&s->mu);
        if (stop || s->ctx->stopping) break;
        if (reload) esms_load(s);
        h.n = 0;
        sy_pool_functions(s->pool, hosted_cb, &h);
        bool busy = false;
        for (int i = 0; i < h.n; i++) {
            for (int round = 0; round < 64; round++) {
                int room = function_room(s, h.names[i], h.conc[i]);
                if (room <= 0) {
                    sy_err_t err;
                    lm_fn_t f;
                    lm_fn_lookup(s, h.names[i], &f, &err); /* creates it, keeps the cache warm */
                    break;
                }
                if (dispatch_async(s, h.names[i], room) == 0) break;
                busy = true;
            }
        }
        if (dispatch_esms(s, &h)) busy = true;
        if (busy) {
            idle_ms = 1;
            continue;
        }
        pthread_mutex_lock(&s->mu);
        if (!s->kick && !s->stop) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_nsec += (long)idle_ms * 1000000L;
            if (ts.tv_nsec >= 1000000000L) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&s->wake, &s->mu, &ts);
        }
        bool kicked = s->kick;
        pthread_mutex_unlock(&s->mu);
        idle_ms = kicked ? 1 : (idle_ms * 2 > 50 ? 50 : idle_ms * 2);
    }
    sy_beat_stop(beat);
    free(h.names);
    free(h.conc);
    return NULL;
}

void lm_dispatch_kick(lm_svc_t *s)
{
    pthread_mutex_lock(&s->mu);
    s->kick = true;
    pthread_cond_signal(&s->wake);
    pthread_mutex_unlock(&s->mu);
}

int lm_dispatch_start(lm_svc_t *s, sy_err_t *err)
{
    if (pthread_create(&s->dispatcher, NULL, dispatcher_main, s) != 0)
        return sy_err_set(err, SY_E_INTERNAL, 500, "ServiceException", "could not start the dispatcher");
    for (int i = 0; i < 2; i++)
        if (pthread_create(&s->settlers[i], NULL, lm_settle_main, s) != 0) sy_panic("pthread_create");
    s->threads_up = true;
    return 0;
}

void lm_dispatch_stop(lm_svc_t *s)
{
    if (!s->threads_up) return;
    pthread_mutex_lock(&s->mu);
    s->stop = true;
    pthread_cond_broadcast(&s->wake);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->dispatcher, NULL);
    while (s->esms) {
        lm_esm_t *e = s->esms;
        s->esms = e->next;
        esms_free(e); /* a held batch returns to its queue with the visibility timeout */
    }
}

void lm_settle_stop(lm_svc_t *s)
{
    if (!s->threads_up) return;
    pthread_mutex_lock(&s->mu);
    s->settle_stop = true;
    pthread_cond_broadcast(&s->settle_cv);
    pthread_mutex_unlock(&s->mu);
    for (int i = 0; i < 2; i++) pthread_join(s->settlers[i], NULL);
    s->threads_up = false;
}
