/* bus/flatten.c - flatten an event into (path, value, array trail) fields,
 * keeping only paths some pattern names and skipping every sub-tree whose
 * path is not a prefix of a used path while parsing. */
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#endif

#include "bus/internal.h"

#define FLATTEN_MAX_DEPTH 512

typedef struct {
    const snapshot_t *s;
    scratch_t *sc;
    const char *p, *end;
    int depth;
} fl_t;

/* bytes that matter while skipping: " [ ] { } */
static const uint8_t SPECIAL[256] = {['"'] = 1, ['['] = 2, ['{'] = 2, [']'] = 3, ['}'] = 3};

static inline void ws(fl_t *f)
{
    const char *p = f->p, *end = f->end;
    if (p < end && (uint8_t)*p > ' ') return; /* most calls: no white space */
    if (p + 1 < end && *p == ' ' && (uint8_t)p[1] > ' ') { /* then: one space */
        f->p = p + 1;
        return;
    }
    while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')) p++;
    f->p = p;
}

/* First '"' or '\\' at or after p (flags: bit0 a dot was seen before it),
 * or end. */
static inline const char *find_quote(const char *p, const char *end, unsigned *dot)
{
#ifdef __SSE2__
    const __m128i cq = _mm_set1_epi8('"'), cb = _mm_set1_epi8('\\'), cd = _mm_set1_epi8('.');
    while (end - p >= 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
        unsigned m = (unsigned)_mm_movemask_epi8(
            _mm_or_si128(_mm_cmpeq_epi8(v, cq), _mm_cmpeq_epi8(v, cb)));
        unsigned d = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, cd));
        if (m) {
            int i = __builtin_ctz(m);
            if (d & ((1u << i) - 1)) *dot = 1;
            return p + i;
        }
        if (d) *dot = 1;
        p += 16;
    }
#endif
    for (; p < end; p++) {
        if (*p == '"' || *p == '\\') return p;
        if (*p == '.') *dot = 1;
    }
    return end;
}

/* On the opening quote; leaves p after the closing quote. *esc set when the
 * string has escapes, *dot when it holds a '.'. Returns the body or NULL. */
static inline const char *scan_string2(fl_t *f, size_t *rawlen, bool *esc, unsigned *dot)
{
    const char *start = ++f->p, *p = start;
    *esc = false;
    for (;;) {
        p = find_quote(p, f->end, dot);
        if (p >= f->end) return NULL;
        if (*p == '"') break;
        *esc = true;
        p += 2; /* skip the escaped byte */
        if (p > f->end) return NULL;
    }
    *rawlen = (size_t)(p - start);
    f->p = p + 1;
    return start;
}

static inline const char *scan_string(fl_t *f, size_t *rawlen, bool *esc)
{
    unsigned dot = 0;
    return scan_string2(f, rawlen, esc, &dot);
}

/* After the closing quote of the string whose body starts at p, or NULL. */
static const char *string_end(const char *p, const char *end)
{
    unsigned dot = 0;
    for (;;) {
        p = find_quote(p, end, &dot);
        if (p >= end) return NULL;
        if (*p == '"') return p + 1;
        p += 2;
        if (p > end) return NULL;
    }
}

static inline int popcount16(unsigned x)
{
    x = x - ((x >> 1) & 0x5555u);
    x = (x & 0x3333u) + ((x >> 2) & 0x3333u);
    x = (x + (x >> 4)) & 0x0F0Fu;
    return (int)((x + (x >> 8)) & 0x1Fu);
}

/* Bracket/quote scanning over blocks of bytes. '[' | 0x20 == '{' and
 * ']' | 0x20 == '}', and no other byte maps there. A block without quotes
 * whose closing brackets cannot bring the depth to zero is consumed with two
 * popcounts. Returns the position after the container (*done set), the
 * position where the block loop stopped, or NULL on an unterminated string. */
#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target("avx2,popcnt"))) static const char *
skip_blocks_avx2(const char *p, const char *end, long *depth, bool *done)
{
    const __m256i cq = _mm256_set1_epi8('"'), c20 = _mm256_set1_epi8(0x20),
                  co = _mm256_set1_epi8('{'), cc = _mm256_set1_epi8('}');
    while (end - p >= 32) {
        __m256i v = _mm256_loadu_si256((const __m256i *)(const void *)p);
        __m256i w = _mm256_or_si256(v, c20);
        uint32_t q = (uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(v, cq));
        uint32_t o = (uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(w, co));
        uint32_t c = (uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(w, cc));
        if (!q) {
            int nc = __builtin_popcount(c);
            if (*depth - nc > 0) {
                *depth += __builtin_popcount(o) - nc;
                p += 32;
                continue;
            }
        }
        uint32_t all = q | o | c;
        const char *next = p + 32;
        while (all) {
            int i = __builtin_ctz(all);
            all &= all - 1;
            if ((q >> i) & 1) {
                _mm256_zeroupper(); /* string_end is SSE code: avoid the transition penalty */
                next = string_end(p + i + 1, end);
                if (!next) return NULL;
                break;
            }
            if ((o >> i) & 1) {
                (*depth)++;
            } else if (--*depth == 0) {
                *done = true;
                return p + i + 1;
            }
        }
        p = next;
    }
    return p;
}

static int have_avx2 = -1;
#endif

#ifdef __SSE2__
static const char *skip_blocks_sse2(const char *p, const char *end, long *depth, bool *done)
{
    const __m128i cq = _mm_set1_epi8('"'), c20 = _mm_set1_epi8(0x20), co = _mm_set1_epi8('{'),
                  cc = _mm_set1_epi8('}');
    while (end - p >= 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
        __m128i w = _mm_or_si128(v, c20);
        unsigned q = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, cq));
        unsigned o = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(w, co));
        unsigned c = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(w, cc));
        if (!q) {
            int nc = popcount16(c);
            if (*depth - nc > 0) {
                *depth += popcount16(o) - nc;
                p += 16;
                continue;
            }
        }
        unsigned all = q | o | c;
        const char *next = p + 16;
        while (all) {
            int i = __builtin_ctz(all);
            all &= all - 1;
            if ((q >> i) & 1) {
                next = string_end(p + i + 1, end);
                if (!next) return NULL;
                break;
            }
            if ((o >> i) & 1) {
                (*depth)++;
            } else if (--*depth == 0) {
                *done = true;
                return p + i + 1;
            }
        }
        p = next;
    }
    return p;
}
#endif

/* Skip a whole object or array starting at p (on the bracket). */
static const char *skip_container(const char *p, const char *end)
{
    long depth = 0;
    bool done = false;
#if defined(__x86_64__) && defined(__GNUC__)
    int avx2 = __atomic_load_n(&have_avx2, __ATOMIC_RELAXED);
    if (avx2 < 0) {
        avx2 = __builtin_cpu_supports("avx2") ? 1 : 0;
        __atomic_store_n(&have_avx2, avx2, __ATOMIC_RELAXED);
    }
    if (avx2) {
        p = skip_blocks_avx2(p, end, &depth, &done);
        if (!p || done) return p;
    }
#endif
#ifdef __SSE2__
    p = skip_blocks_sse2(p, end, &depth, &done);
    if (!p || done) return p;
#endif
    while (p < end) {
        uint8_t k = SPECIAL[(uint8_t)*p];
        if (!k) {
            p++;
            continue;
        }
        if (k == 1) {
            p = string_end(p + 1, end);
            if (!p) return NULL;
            continue;
        }
        p++;
        if (k == 2) depth++;
        else if (--depth == 0) return p;
    }
    return NULL;
}

static int skip_value(fl_t *f)
{
    ws(f);
    if (f->p >= f->end) return -1;
    char c = *f->p;
    if (c == '"') {
        size_t l;
        bool e;
        return scan_string(f, &l, &e) ? 0 : -1;
    }
    if (c == '{' || c == '[') {
        const char *q = skip_container(f->p, f->end);
        if (!q) return -1;
        f->p = q;
        return 0;
    }
    size_t l = bus_json_number_len(f->p, (size_t)(f->end - f->p));
    if (l) {
        f->p += l;
        return 0;
    }
    static const char *const lits[] = {"true", "false", "null"};
    for (int i = 0; i < 3; i++) {
        size_t n = strlen(lits[i]);
        if ((size_t)(f->end - f->p) >= n && !memcmp(f->p, lits[i], n)) {
            f->p += n;
            return 0;
        }
    }
    return -1;
}

static void emit(fl_t *f, int32_t path, uint32_t type, const char *v, size_t n)
{
    scratch_t *sc = f->sc;
    bus_grow((void **)&sc->fields, &sc->capfields, sc->nfields + 1, sizeof(*sc->fields));
    field_t *fd = &sc->fields[sc->nfields++];
    fd->path = (uint32_t)path;
    fd->type = type;
    fd->v = v;
    fd->vlen = (uint32_t)n;
    const xtab_t *xt = &f->s->paths[path].exact;
    if (xt->n > 1) {
        fd->vhash = xtab_hash(v, n);
        xtab_prefetch(xt, fd->vhash);
    }
    fd->trail_off = sc->ntrails;
    fd->trail_len = sc->ntstack;
    if (sc->ntstack) {
        bus_grow((void **)&sc->trails, &sc->captrails, sc->ntrails + sc->ntstack, sizeof(trail_t));
        memcpy(sc->trails + sc->ntrails, sc->tstack, sc->ntstack * sizeof(trail_t));
        sc->ntrails += sc->ntstack;
    }
}

static int parse_value(fl_t *f, int32_t path, uint32_t node);

static int parse_object(fl_t *f, uint32_t node)
{
    scratch_t *sc = f->sc;
    f->p++; /* { */
    ws(f);
    if (f->p < f->end && *f->p == '}') {
        f->p++;
        return 0;
    }
    for (;;) {
        ws(f);
        if (f->p >= f->end || *f->p != '"') return -1;
        size_t rawlen;
        bool esc;
        unsigned dot = 0;
        const char *key = scan_string2(f, &rawlen, &esc, &dot);
        if (!key) return -1;
        const char *k = key;
        size_t kn = rawlen;
        if (esc) {
            bus_grow((void **)&sc->path, &sc->cappath, (uint32_t)rawlen + 1, 1);
            long l = bus_json_unescape(key, rawlen, sc->path);
            if (l < 0) return -1;
            k = sc->path;
            kn = (size_t)l;
            dot = memchr(k, '.', kn) != NULL;
        }
        const path_slot_t *sl;
        if (!dot) {
            sl = bus_path_child(f->s, node, k, kn);
        } else {
            /* an event key "a.b" is the path a.b, as if nested */
            uint32_t cur = node;
            for (;;) {
                const char *d = memchr(k, '.', kn);
                size_t l = d ? (size_t)(d - k) : kn;
                sl = bus_path_child(f->s, cur, k, l);
                if (!sl || !d) break;
                cur = sl->node;
                k += l + 1;
                kn -= l + 1;
            }
        }
        ws(f);
        if (f->p >= f->end || *f->p != ':') return -1;
        f->p++;
        int rc = sl ? parse_value(f, sl->path, sl->node) : skip_value(f);
        if (rc) return rc;
        ws(f);
        if (f->p >= f->end) return -1;
        if (*f->p == ',') {
            f->p++;
            continue;
        }
        if (*f->p == '}') {
            f->p++;
            return 0;
        }
        return -1;
    }
}

static int parse_value(fl_t *f, int32_t path, uint32_t node)
{
    scratch_t *sc = f->sc;
    ws(f);
    if (f->p >= f->end) return -1;
    if (++f->depth > FLATTEN_MAX_DEPTH) return -1;
    int rc = 0;
    char c = *f->p;
    if (c == '{') {
        rc = parse_object(f, node);
    } else if (c == '[') {
        uint32_t id = ++sc->arrays, idx = 0;
        f->p++;
        ws(f);
        if (f->p < f->end && *f->p == ']') {
            f->p++;
            goto done;
        }
        for (;;) {
            bus_grow((void **)&sc->tstack, &sc->captstack, sc->ntstack + 1, sizeof(trail_t));
            sc->tstack[sc->ntstack++] = (trail_t){id, idx++};
            rc = parse_value(f, path, node);
            sc->ntstack--;
            if (rc) goto done;
            ws(f);
            if (f->p >= f->end) {
                rc = -1;
                goto done;
            }
            if (*f->p == ',') {
                f->p++;
                continue;
            }
            if (*f->p == ']') {
                f->p++;
                goto done;
            }
            rc = -1;
            goto done;
        }
    } else if (c == '"') {
        const char *q = f->p;
        size_t rawlen;
        bool esc;
        const char *body = scan_string(f, &rawlen, &esc);
        if (!body) {
            rc = -1;
            goto done;
        }
        if (path < 0) goto done;
        if (!esc) {
            emit(f, path, FV_STR, q, rawlen + 2);
        } else {
            /* sc->buf was reserved for the whole event: pointers stay valid */
            char *o = sc->buf + sc->nbuf;
            o[0] = '"';
            long l = bus_json_unescape(body, rawlen, o + 1);
            if (l < 0) {
                rc = -1;
                goto done;
            }
            o[l + 1] = '"';
            sc->nbuf += (uint32_t)l + 2;
            emit(f, path, FV_STR, o, (size_t)l + 2);
        }
    } else {
        const char *q = f->p;
        if (skip_value(f)) {
            rc = -1;
            goto done;
        }
        if (path < 0) goto done;
        uint32_t t = c == 't' ? FV_TRUE : c == 'f' ? FV_FALSE : c == 'n' ? FV_NULL : FV_NUM;
        emit(f, path, t, q, (size_t)(f->p - q));
    }
done:
    f->depth--;
    return rc;
}

int bus_flatten(const snapshot_t *s, scratch_t *sc, const char *json, size_t len)
{
    if (len > (1u << 30)) return SY_E_INVALID; /* far beyond any event size limit */
    fl_t f = {s, sc, json, json + len, 0};
    sc->nfields = sc->ntrails = sc->ntstack = sc->nbuf = sc->arrays = 0;
    bus_grow((void **)&sc->buf, &sc->capbuf, (uint32_t)(len + len / 2 + 16), 1);
    ws(&f);
    if (f.p >= f.end || *f.p != '{') return SY_E_INVALID;
    if (parse_value(&f, -1, 0)) return SY_E_INVALID;
    ws(&f);
    if (f.p != f.end) return SY_E_INVALID;
    /* stable sort by path (fields usually arrive nearly grouped) */
    for (uint32_t i = 1; i < sc->nfields; i++) {
        field_t x = sc->fields[i];
        uint32_t j = i;
        while (j > 0 && sc->fields[j - 1].path > x.path) {
            sc->fields[j] = sc->fields[j - 1];
            j--;
        }
        sc->fields[j] = x;
    }
    return 0;
}
