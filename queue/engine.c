/* queue/engine.c - the engine state every layer above the store reaches:
 * the accessor, the queue settings cache in front of store_queue_get, and
 * the receive that picks the lease path and the dead-letter queue */
#include "queue/internal.h"

#include <stdlib.h>
#include <string.h>

queue_engine_t *queue_engine(const sy_ctx_t *ctx)
{
    return ctx->svc[SY_SVC_QUEUE];
}

/* ----------------------------------------------- queue settings cache */
struct qcache_entry {
    struct qcache_entry *next;
    sy_queue_t q; /* attrs is immutable once cached; copies take a reference */
    int64_t fetched_us;
};

/* How long a cached copy is trusted. A change made through any broker
 * reaches every broker's cache at once (queue_changed: this broker's copy
 * is dropped, the others hear NOTIFY sy_queue "s:<name>", waiters.c); the
 * TTL only bounds what a lost notification can leave behind (a broker
 * killed between its write and its NOTIFY), as AWS lets attribute changes
 * take up to 60 s to propagate. It was 1 s: with traffic spread over 10,000
 * queues nearly every request then missed the cache and paid a lookup. */
#define QCACHE_TTL_US (30 * 1000000LL)

static unsigned qhash(const char *s)
{
    unsigned h = 2166136261u;
    while (*s) h = (h ^ (unsigned char)*s++) * 16777619u;
    return h % QCACHE_BUCKETS;
}

static bool cache_get(queue_engine_t *e, const char *name, sy_queue_t *out)
{
    bool hit = false;
    int64_t now = sy_mono_us();
    pthread_mutex_lock(&e->cache_mu);
    for (struct qcache_entry *c = e->cache[qhash(name)]; c; c = c->next)
        if (strcmp(c->q.name, name) == 0 && now - c->fetched_us < QCACHE_TTL_US) {
            *out = c->q;
            json_incref(out->attrs);
            hit = true;
            break;
        }
    pthread_mutex_unlock(&e->cache_mu);
    return hit;
}

static uint64_t cache_gen(queue_engine_t *e)
{
    pthread_mutex_lock(&e->cache_mu);
    uint64_t g = e->cache_gen;
    pthread_mutex_unlock(&e->cache_mu);
    return g;
}

/* q as read from the database by a fetch that began at generation gen: an
 * invalidation since then may be about a change that read missed, so it is
 * not cached */
static void cache_put(queue_engine_t *e, const sy_queue_t *q, uint64_t gen)
{
    unsigned h = qhash(q->name);
    pthread_mutex_lock(&e->cache_mu);
    if (e->cache_gen != gen) {
        pthread_mutex_unlock(&e->cache_mu);
        return;
    }
    struct qcache_entry **pp = &e->cache[h];
    while (*pp && strcmp((*pp)->q.name, q->name) != 0) pp = &(*pp)->next;
    struct qcache_entry *c = *pp;
    if (!c) {
        c = sy_calloc(1, sizeof *c);
        *pp = c;
    } else {
        json_decref(c->q.attrs);
    }
    c->q = *q;
    json_incref(c->q.attrs);
    c->fetched_us = sy_mono_us();
    pthread_mutex_unlock(&e->cache_mu);
}

void qcache_invalidate(queue_engine_t *e, const char *name)
{
    if (!e) return;
    pthread_mutex_lock(&e->cache_mu);
    e->cache_gen++;
    for (struct qcache_entry *c = e->cache[qhash(name)]; c; c = c->next)
        if (strcmp(c->q.name, name) == 0) c->fetched_us = 0;
    pthread_mutex_unlock(&e->cache_mu);
}

void qcache_invalidate_all(queue_engine_t *e)
{
    if (!e) return;
    pthread_mutex_lock(&e->cache_mu);
    e->cache_gen++;
    for (int i = 0; i < QCACHE_BUCKETS; i++)
        for (struct qcache_entry *c = e->cache[i]; c; c = c->next) c->fetched_us = 0;
    pthread_mutex_unlock(&e->cache_mu);
}

void queue_changed(sy_ctx_t *ctx, const char *name)
{
    qcache_invalidate(queue_engine(ctx), name);
    store_queue_changed(ctx, name);
}

void qcache_free(queue_engine_t *e)
{
    for (int i = 0; i < QCACHE_BUCKETS; i++) {
        struct qcache_entry *c = e->cache[i];
        while (c) {
            struct qcache_entry *n = c->next;
            json_decref(c->q.attrs);
            free(c);
            c = n;
        }
        e->cache[i] = NULL;
    }
}

int queue_get(sy_ctx_t *ctx, const char *name, sy_queue_t *out, sy_err_t *err)
{
    queue_engine_t *e = queue_engine(ctx);
    if (e && cache_get(e, name, out)) return 0;
    uint64_t gen = e ? cache_gen(e) : 0;
    int rc = store_queue_get(ctx, name, out, err);
    if (rc == 0 && e) cache_put(e, out, gen);
    return rc;
}

int queue_get_on(sy_ctx_t *ctx, PGconn *c, const char *name, sy_queue_t *out, sy_err_t *err)
{
    queue_engine_t *e = queue_engine(ctx);
    if (e && cache_get(e, name, out)) return 0;
    uint64_t gen = e ? cache_gen(e) : 0;
    int rc = store_queue_get_on(c, ctx->cfg.account_id, name, out, err);
    if (rc == 0 && e) cache_put(e, out, gen);
    return rc;
}

/* ------------------------------------------------------------ receive */
/* The id of q's dead-letter queue when it has a redrive policy and the
 * queue still exists; 0 otherwise (messages then stay where they are). */
static int64_t dlq_id(sy_ctx_t *ctx, const sy_queue_t *q)
{
    if (q->max_receive <= 0 || !q->dlq_name[0]) return 0;
    sy_queue_t d;
    sy_err_t e;
    if (queue_get(ctx, q->dlq_name, &d, &e) < 0) return 0;
    int64_t id = d.id;
    sy_queue_clear(&d);
    return id;
}

int queue_receive(sy_ctx_t *ctx, const sy_queue_t *q, int max, int visibility_s, leased_t *out, int *n, sy_err_t *err)
{
    queue_engine_t *e = queue_engine(ctx);
    return store_receive(ctx, e ? e->lease_gc : NULL, q, dlq_id(ctx, q), max, visibility_s, out, n, err);
}

int queue_receive_shared(sy_ctx_t *ctx, const sy_queue_t *q, int max, int visibility_s, const char *token,
                         leased_t *out, int *n, sy_err_t *err)
{
    return store_receive_shared(ctx, q, dlq_id(ctx, q), max, visibility_s, token, out, n, err);
}
