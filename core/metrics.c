/* core/metrics.c - counters, gauges and histograms, rendered in the
 * Prometheus text exposition format 0.0.4 for /metrics.
 *
 * Process-wide state, by design: one registry of series (the only global
 * mutable state in core/ besides the log level), so that any thread can
 * count without a context in hand. It is guarded like this:
 *   - the hash table of series is a fixed array of chains; a series is
 *     published at the head of its chain with a release store after it is
 *     fully built, and never freed or moved, so lookups walk the chains
 *     with acquire loads and no lock;
 *   - inserts take `reg_lock` and look again before adding (no duplicates);
 *   - values are C11 atomics (doubles kept as their bit pattern and added
 *     with a compare-exchange loop), so the hot path is a hash, a short
 *     chain walk and one or two atomic operations.
 * Rendering takes `reg_lock` only to snapshot the list of series.
 *
 * `labels` is the inside of the braces, already in Prometheus syntax:
 * `queue="orders",code="200"` (or NULL / "" for none); label values must be
 * escaped by the caller (\\, \" and \n). A labels string with a raw newline
 * is refused, so one bad caller cannot corrupt the whole exposition. */
#include "core/core.h"

#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

enum { T_COUNTER = 1, T_GAUGE, T_HISTOGRAM };

/* Default buckets, seconds (le); +Inf is implicit. */
static const double BUCKETS[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                 0.1,    0.25,  0.5,    1,     2.5,   5,    10};
#define NBUCKETS (sizeof BUCKETS / sizeof BUCKETS[0])

typedef struct series {
    struct series *next; /* chain; immutable once published */
    struct series *all;  /* registration list, for rendering */
    char *name, *labels;
    uint32_t hash;
    int type;
    _Atomic uint64_t value;            /* counter/gauge: double bits */
    _Atomic uint64_t sum;              /* histogram: double bits */
    _Atomic uint64_t bucket[NBUCKETS + 1]; /* histogram: per-bucket (not cumulative); last = +Inf */
} series_t;

typedef struct family {
    struct family *next;
    char *name;
    int type;
} family_t;

#define NCHAINS 1024
static _Atomic(series_t *) chains[NCHAINS];
static series_t *all_series; /* guarded by reg_lock */
static size_t nseries;       /* guarded by reg_lock */
static family_t *families;   /* guarded by reg_lock */
static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;

static uint32_t fnv1a(const char *name, const char *labels)
{
    uint32_t h = 2166136261u;
    for (const char *p = name; *p; p++) h = (h ^ (unsigned char)*p) * 16777619u;
    h = (h ^ '{') * 16777619u;
    for (const char *p = labels; *p; p++) h = (h ^ (unsigned char)*p) * 16777619u;
    return h;
}

static bool valid_name(const char *s)
{
    if (!s || !*s) return false;
    for (const char *p = s; *p; p++) {
        char c = *p;
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
                  (p != s && c >= '0' && c <= '9');
        if (!ok) return false;
    }
    return true;
}

static double bits_to_d(uint64_t u)
{
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

static uint64_t d_to_bits(double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    return u;
}

static void atomic_add_d(_Atomic uint64_t *a, double v)
{
    uint64_t old = atomic_load_explicit(a, memory_order_relaxed);
    while (!atomic_compare_exchange_weak_explicit(a, &old, d_to_bits(bits_to_d(old) + v),
                                                  memory_order_relaxed, memory_order_relaxed)) {
    }
}

static series_t *chain_find(series_t *s, uint32_t h, const char *name, const char *labels)
{
    for (; s; s = s->next)
        if (s->hash == h && strcmp(s->name, name) == 0 && strcmp(s->labels, labels) == 0) return s;
    return NULL;
}

/* Find or create the series; NULL when the name/labels are unusable or the
 * name is already registered with another type (a programmer error). */
static series_t *lookup(const char *name, const char *labels, int type)
{
    if (!labels) labels = "";
    uint32_t h = fnv1a(name, labels);
    _Atomic(series_t *) *head = &chains[h % NCHAINS];
    series_t *s = chain_find(atomic_load_explicit(head, memory_order_acquire), h, name, labels);
    if (s) return s->type == type ? s : NULL;
    if (!valid_name(name) || strchr(labels, '\n')) return NULL;

    pthread_mutex_lock(&reg_lock);
    s = chain_find(atomic_load_explicit(head, memory_order_relaxed), h, name, labels);
    if (!s) {
        family_t *f = families;
        while (f && strcmp(f->name, name) != 0) f = f->next;
        if (!f) {
            f = sy_calloc(1, sizeof *f);
            f->name = sy_strdup(name);
            f->type = type;
            f->next = families;
            families = f;
        }
        if (f->type == type) {
            s = sy_calloc(1, sizeof *s);
            s->name = f->name;
            s->labels = sy_strdup(labels);
            s->hash = h;
            s->type = type;
            s->next = atomic_load_explicit(head, memory_order_relaxed);
            s->all = all_series;
            all_series = s;
            nseries++;
            atomic_store_explicit(head, s, memory_order_release);
        }
    }
    pthread_mutex_unlock(&reg_lock);
    return s && s->type == type ? s : NULL;
}

void sy_metric_inc(const char *name, const char *labels, double v)
{
    if (!(v >= 0) || isinf(v)) return; /* counters only go up; NaN refused */
    series_t *s = lookup(name, labels, T_COUNTER);
    if (s) atomic_add_d(&s->value, v);
}

void sy_metric_set(const char *name, const char *labels, double v)
{
    series_t *s = lookup(name, labels, T_GAUGE);
    if (s) atomic_store_explicit(&s->value, d_to_bits(v), memory_order_relaxed);
}

void sy_metric_observe(const char *name, const char *labels, double seconds)
{
    if (isnan(seconds)) return;
    series_t *s = lookup(name, labels, T_HISTOGRAM);
    if (!s) return;
    size_t i = 0;
    while (i < NBUCKETS && seconds > BUCKETS[i]) i++;
    atomic_fetch_add_explicit(&s->bucket[i], 1, memory_order_relaxed);
    atomic_add_d(&s->sum, seconds);
}

/* ------------------------------------------------------------- rendering */
static void put_num(sy_buf_t *b, double v)
{
    if (isnan(v)) {
        sy_buf_puts(b, "NaN");
    } else if (isinf(v)) {
        sy_buf_puts(b, v > 0 ? "+Inf" : "-Inf");
    } else {
        char tmp[40];
        snprintf(tmp, sizeof tmp, "%.15g", v);
        if (strtod(tmp, NULL) != v) snprintf(tmp, sizeof tmp, "%.17g", v);
        sy_buf_puts(b, tmp);
    }
}

static int series_cmp(const void *a, const void *b)
{
    const series_t *x = *(series_t *const *)a, *y = *(series_t *const *)b;
    int c = strcmp(x->name, y->name);
    return c ? c : strcmp(x->labels, y->labels);
}

static void put_labels(sy_buf_t *b, const char *labels, const char *le)
{
    if (!*labels && !le) return;
    sy_buf_putc(b, '{');
    sy_buf_puts(b, labels);
    if (le) {
        if (*labels) sy_buf_putc(b, ',');
        sy_buf_printf(b, "le=\"%s\"", le);
    }
    sy_buf_putc(b, '}');
}

static void render_histogram(sy_buf_t *out, const series_t *s)
{
    uint64_t cum = 0;
    for (size_t i = 0; i <= NBUCKETS; i++) {
        cum += atomic_load_explicit(&s->bucket[i], memory_order_relaxed);
        char le[32];
        if (i < NBUCKETS) snprintf(le, sizeof le, "%g", BUCKETS[i]);
        else strcpy(le, "+Inf");
        sy_buf_printf(out, "%s_bucket", s->name);
        put_labels(out, s->labels, le);
        sy_buf_printf(out, " %llu\n", (unsigned long long)cum);
    }
    sy_buf_printf(out, "%s_sum", s->name);
    put_labels(out, s->labels, NULL);
    sy_buf_putc(out, ' ');
    put_num(out, bits_to_d(atomic_load_explicit(&s->sum, memory_order_relaxed)));
    /* _count is the +Inf bucket, so the two always agree in one scrape */
    sy_buf_printf(out, "\n%s_count", s->name);
    put_labels(out, s->labels, NULL);
    sy_buf_printf(out, " %llu\n", (unsigned long long)cum);
}

/* collectors: registered at start-up, run before each render */
typedef struct {
    void (*fn)(void *u);
    void *u;
} collector_t;
static collector_t collectors[8]; /* guarded by collect_lock */
static pthread_mutex_t collect_lock = PTHREAD_MUTEX_INITIALIZER;

void sy_metrics_add_collector(void (*fn)(void *u), void *u)
{
    pthread_mutex_lock(&collect_lock);
    for (size_t i = 0; i < sizeof collectors / sizeof collectors[0]; i++)
        if (!collectors[i].fn) {
            collectors[i] = (collector_t){fn, u};
            break;
        }
    pthread_mutex_unlock(&collect_lock);
}

void sy_metrics_remove_collector(void (*fn)(void *u), void *u)
{
    pthread_mutex_lock(&collect_lock);
    for (size_t i = 0; i < sizeof collectors / sizeof collectors[0]; i++)
        if (collectors[i].fn == fn && collectors[i].u == u) collectors[i] = (collector_t){NULL, NULL};
    pthread_mutex_unlock(&collect_lock);
}

void sy_metrics_render(sy_buf_t *out)
{
    pthread_mutex_lock(&collect_lock); /* held: a collector is never removed mid-call */
    for (size_t i = 0; i < sizeof collectors / sizeof collectors[0]; i++)
        if (collectors[i].fn) collectors[i].fn(collectors[i].u);
    pthread_mutex_unlock(&collect_lock);
    pthread_mutex_lock(&reg_lock);
    size_t n = nseries;
    series_t **v = sy_malloc((n ? n : 1) * sizeof *v);
    size_t k = 0;
    for (series_t *s = all_series; s && k < n; s = s->all) v[k++] = s;
    pthread_mutex_unlock(&reg_lock);

    qsort(v, k, sizeof *v, series_cmp);
    static const char *tname[] = {"", "counter", "gauge", "histogram"};
    for (size_t i = 0; i < k; i++) {
        const series_t *s = v[i];
        if (i == 0 || strcmp(v[i - 1]->name, s->name) != 0) {
            sy_buf_printf(out, "# HELP %s Switchyard %s %s.\n", s->name, tname[s->type], s->name);
            sy_buf_printf(out, "# TYPE %s %s\n", s->name, tname[s->type]);
        }
        if (s->type == T_HISTOGRAM) {
            render_histogram(out, s);
            continue;
        }
        sy_buf_puts(out, s->name);
        put_labels(out, s->labels, NULL);
        sy_buf_putc(out, ' ');
        put_num(out, bits_to_d(atomic_load_explicit(&s->value, memory_order_relaxed)));
        sy_buf_putc(out, '\n');
    }
    free(v);
}
