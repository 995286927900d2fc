/* pattern/matcher.c - the public matcher: rule storage, copy-on-write
 * snapshots, thread-safe match, and the SNS message-attributes envelope. */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pattern/internal.h"

typedef struct {
    char *id;
    rule_ir_t ir;
} rule_t;

/* Concurrency: `lock` serialises writers (rules, rebuilds). Snapshots are
 * immutable and swapped RCU-style: a reader registers in readers[epoch & 1]
 * (and re-checks the epoch), reads `snap`, matches, and leaves; a rebuild
 * compiles the new snapshot without blocking anyone, swaps the pointer, flips
 * the epoch and waits until the old epoch's readers are gone before freeing
 * the old snapshot. Readers never wait. add/delete mark the matcher dirty;
 * the next match publishes a new snapshot first, so a match that starts
 * after add() returned sees the rule. Callbacks must not add, delete or
 * match on the same matcher (a rebuild would wait for its own reader). */
struct sy_matcher {
    sy_pattern_kind_t kind;
    pthread_mutex_t lock;
    rule_t *rules;
    uint32_t nrules, caprules;
    uint32_t *idx;      /* open addressing over rule ids: index+1, 0 = empty */
    uint32_t nidx;
    int dirty;          /* atomic */
    snapshot_t *snap;   /* atomic */
    unsigned epoch;     /* atomic */
    _Alignas(64) long readers[2]; /* atomic; own cache line: every match writes it */
};

/* snapshot generations are unique across matchers: they key scratch caches */
static uint64_t next_gen;

/* Per-thread scratch cache (a few snapshots' worth), freed at thread exit. */
#define TLS_SLOTS 4
typedef struct {
    scratch_t *slot[TLS_SLOTS];
    unsigned next;
} tls_cache_t;

static pthread_key_t tls_key;
static pthread_once_t tls_once = PTHREAD_ONCE_INIT;

static _Thread_local tls_cache_t *tls_cache;

static void tls_free(void *p)
{
    tls_cache_t *c = p;
    tls_cache = NULL;
    for (int i = 0; i < TLS_SLOTS; i++) pat_scratch_free(c->slot[i]);
    free(c);
}

static void tls_init(void)
{
    pthread_key_create(&tls_key, tls_free);
}

/* tls_cache is the fast access; the pthread key frees the cache at thread exit */

static scratch_t *scratch_get(uint64_t gen, bool *temp)
{
    tls_cache_t *c = tls_cache;
    if (!c) {
        pthread_once(&tls_once, tls_init);
        c = sy_calloc(1, sizeof(*c));
        pthread_setspecific(tls_key, c);
        tls_cache = c;
    }
    *temp = false;
    for (int i = 0; i < TLS_SLOTS; i++)
        if (c->slot[i] && c->slot[i]->gen == gen && !c->slot[i]->busy) return c->slot[i];
    for (int k = 0; k < TLS_SLOTS; k++) {
        unsigned i = (c->next++) % TLS_SLOTS;
        if (!c->slot[i]) c->slot[i] = sy_calloc(1, sizeof(scratch_t));
        if (!c->slot[i]->busy) return c->slot[i];
    }
    *temp = true; /* nested matches from callbacks */
    return sy_calloc(1, sizeof(scratch_t));
}

static uint32_t id_hash(const char *s)
{
    return pat_seg_hash(BUS_HASH_INIT, s, strlen(s));
}

static void idx_rebuild(sy_matcher_t *m)
{
    uint32_t n = 64;
    while (n < m->nrules * 2 + 2) n *= 2;
    free(m->idx);
    m->idx = sy_calloc(n, sizeof(uint32_t));
    m->nidx = n;
    for (uint32_t r = 0; r < m->nrules; r++) {
        uint32_t i = id_hash(m->rules[r].id) & (n - 1);
        while (m->idx[i]) i = (i + 1) & (n - 1);
        m->idx[i] = r + 1;
    }
}

static int64_t idx_find(const sy_matcher_t *m, const char *id)
{
    if (!m->nidx) return -1;
    for (uint32_t i = id_hash(id) & (m->nidx - 1); m->idx[i]; i = (i + 1) & (m->nidx - 1))
        if (!strcmp(m->rules[m->idx[i] - 1].id, id)) return m->idx[i] - 1;
    return -1;
}

sy_matcher_t *sy_matcher_new(sy_pattern_kind_t kind)
{
    void *mem = NULL;
    if (posix_memalign(&mem, 64, sizeof(sy_matcher_t)) != 0) sy_panic("out of memory");
    sy_matcher_t *m = mem; /* aligned for the readers' cache line */
    memset(m, 0, sizeof(*m));
    m->kind = kind;
    pthread_mutex_init(&m->lock, NULL);
    idx_rebuild(m);
    m->dirty = 1;
    return m;
}

void sy_matcher_destroy(sy_matcher_t **self_p)
{
    if (!self_p || !*self_p) return;
    sy_matcher_t *m = *self_p;
    for (uint32_t r = 0; r < m->nrules; r++) {
        free(m->rules[r].id);
        pat_rule_ir_free(&m->rules[r].ir);
    }
    free(m->rules);
    free(m->idx);
    pat_snapshot_free(m->snap);
    pthread_mutex_destroy(&m->lock);
    free(m);
    *self_p = NULL;
}

int sy_matcher_add(sy_matcher_t *m, const char *rule_id, const char *pattern, size_t len,
                   sy_err_t *err)
{
    rule_ir_t ir;
    int rc = pat_pattern_compile_err(m->kind, pattern, len, &ir, err);
    if (rc) return rc;
    pthread_mutex_lock(&m->lock);
    int64_t at = idx_find(m, rule_id);
    if (at >= 0) {
        pat_rule_ir_free(&m->rules[at].ir);
        m->rules[at].ir = ir;
    } else {
        pat_grow((void **)&m->rules, &m->caprules, m->nrules + 1, sizeof(*m->rules));
        m->rules[m->nrules].id = sy_strndup(rule_id, strlen(rule_id));
        m->rules[m->nrules].ir = ir;
        m->nrules++;
        if (m->nrules * 2 + 2 > m->nidx) {
            idx_rebuild(m);
        } else {
            uint32_t i = id_hash(rule_id) & (m->nidx - 1);
            while (m->idx[i]) i = (i + 1) & (m->nidx - 1);
            m->idx[i] = m->nrules;
        }
    }
    __atomic_store_n(&m->dirty, 1, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&m->lock);
    return 0;
}

int sy_matcher_delete(sy_matcher_t *m, const char *rule_id)
{
    pthread_mutex_lock(&m->lock);
    int64_t at = idx_find(m, rule_id);
    if (at < 0) {
        pthread_mutex_unlock(&m->lock);
        return SY_E_NOTFOUND;
    }
    free(m->rules[at].id);
    pat_rule_ir_free(&m->rules[at].ir);
    m->rules[at] = m->rules[--m->nrules];
    idx_rebuild(m);
    __atomic_store_n(&m->dirty, 1, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&m->lock);
    return 0;
}

size_t sy_matcher_count(sy_matcher_t *m)
{
    pthread_mutex_lock(&m->lock);
    size_t n = m->nrules;
    pthread_mutex_unlock(&m->lock);
    return n;
}

/* Called with the lock held: publish a snapshot of the current rules. */
static void rebuild(sy_matcher_t *m)
{
    rule_src_t *src = sy_malloc((m->nrules ? m->nrules : 1) * sizeof(*src));
    for (uint32_t r = 0; r < m->nrules; r++) src[r] = (rule_src_t){&m->rules[r].ir, m->rules[r].id};
    snapshot_t *s = pat_snapshot_build(src, m->nrules, __atomic_add_fetch(&next_gen, 1, __ATOMIC_RELAXED),
                                       DFA_MAX_STATES);
    free(src);
    snapshot_t *old = __atomic_exchange_n(&m->snap, s, __ATOMIC_SEQ_CST);
    unsigned e = __atomic_load_n(&m->epoch, __ATOMIC_SEQ_CST);
    __atomic_store_n(&m->epoch, e + 1, __ATOMIC_SEQ_CST);
    /* readers of epoch e may hold `old`; later ones see `s` */
    while (__atomic_load_n(&m->readers[e & 1], __ATOMIC_SEQ_CST) != 0) sched_yield();
    pat_snapshot_free(old);
    __atomic_store_n(&m->dirty, 0, __ATOMIC_RELEASE);
}

static int match_json(sy_matcher_t *m, const char *json, size_t len, sy_match_cb cb, void *u)
{
    if (__atomic_load_n(&m->dirty, __ATOMIC_ACQUIRE)) {
        pthread_mutex_lock(&m->lock);
        if (m->dirty) rebuild(m);
        pthread_mutex_unlock(&m->lock);
    }
    unsigned slot;
    for (;;) {
        unsigned e = __atomic_load_n(&m->epoch, __ATOMIC_SEQ_CST);
        __atomic_add_fetch(&m->readers[e & 1], 1, __ATOMIC_SEQ_CST);
        if (__atomic_load_n(&m->epoch, __ATOMIC_SEQ_CST) == e) {
            slot = e & 1;
            break;
        }
        __atomic_sub_fetch(&m->readers[e & 1], 1, __ATOMIC_SEQ_CST); /* a flip raced us */
    }
    const snapshot_t *s = __atomic_load_n(&m->snap, __ATOMIC_SEQ_CST);
    bool temp;
    scratch_t *sc = scratch_get(s->gen, &temp);
    sc->busy = true;
    pat_scratch_prepare(s, sc);
    int rc = pat_flatten(s, sc, json, len);
    if (rc == 0) rc = pat_match_fields(s, sc, cb, u);
    sc->busy = false;
    __atomic_sub_fetch(&m->readers[slot], 1, __ATOMIC_RELEASE);
    if (temp) pat_scratch_free(sc);
    return rc;
}

int sy_matcher_match(sy_matcher_t *m, const char *event_json, size_t len, sy_match_cb cb, void *u)
{
    if (!m || !event_json) return SY_E_INVALID;
    if (m->kind != SY_PATTERN_SNS_ATTRIBUTES) return match_json(m, event_json, len, cb, u);
    size_t n = 0;
    char *ev = pat_sns_attributes_event(event_json, len, &n);
    if (!ev) return SY_E_INVALID;
    int rc = match_json(m, ev, n, cb, u);
    free(ev);
    return rc;
}
