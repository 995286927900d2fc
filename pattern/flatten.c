/* pattern/flatten.c - flatten an event into (path, value, array trail) fields,
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

#include "pattern/internal.h"

#define FLATTEN_MAX_DEPTH 512

typedef struct {
    const snapshot_t *s;
    scratch_t *sc;
    const char *p, *end;
    int depth;
} fl_t;


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

/* Skipping a sub-tree: a state machine (depth, inside a string, pending
 * escape) run over blocks of bytes. A block without backslashes is handled
 * with masks, as simdjson does: the prefix-XOR of the quote bits tells which
 * brackets sit inside strings; '[' | 0x20 == '{' and ']' | 0x20 == '}' and no
 * other byte maps there; when the closing brackets of a block cannot bring
 * the depth to zero, two popcounts consume it. */
typedef struct {
    long depth;
    bool in_str, esc;
} skip_t;

/* Scalar steps over [p, stop); returns the position after the container
 * when it closes, else NULL (state updated). */
static const char *skip_scalar(skip_t *st, const char *p, const char *stop)
{
    for (; p < stop; p++) {
        char c = *p;
        if (st->esc) {
            st->esc = false;
        } else if (st->in_str) {
            if (c == '\\') st->esc = true;
            else if (c == '"') st->in_str = false;
        } else if (c == '"') {
            st->in_str = true;
        } else if (c == '[' || c == '{') {
            st->depth++;
        } else if (c == ']' || c == '}') {
            if (--st->depth == 0) return p + 1;
        }
    }
    return NULL;
}

/* Masks of one block (bit i = byte i): structural opens/closes outside
 * strings; updates in_str. Returns the position after the container when
 * it closes in this block, else NULL. */
static inline const char *skip_masks(skip_t *st, const char *p, uint64_t q, uint64_t o,
                                     uint64_t c, int width)
{
    const uint64_t full = width < 64 ? (1ull << width) - 1 : ~0ull;
    if (q) {
        uint64_t inside = q;
        for (int sh = 1; sh < width; sh <<= 1) inside ^= inside << sh; /* prefix XOR */
        inside &= full;
        if (st->in_str) inside = ~inside & full;
        o &= ~inside;
        c &= ~inside;
        if (__builtin_popcountll(q) & 1) st->in_str = !st->in_str;
    } else if (st->in_str) {
        return NULL; /* the whole block is inside a string */
    }
    int nc = __builtin_popcountll(c);
    if (st->depth - nc > 0) {
        st->depth += __builtin_popcountll(o) - nc;
        return NULL;
    }
    for (uint64_t all = o | c; all; all &= all - 1) {
        int i = __builtin_ctzll(all);
        if ((o >> i) & 1) st->depth++;
        else if (--st->depth == 0) return p + i + 1;
    }
    return NULL;
}

#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target("avx2,popcnt"))) static inline uint64_t
mask64(__m256i lo, __m256i hi, __m256i x)
{
    uint64_t a = (uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(lo, x));
    uint64_t b = (uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(hi, x));
    return a | (b << 32);
}

__attribute__((target("avx2,popcnt"))) static const char *
skip_blocks_avx2(skip_t *st, const char *p, const char *end, bool *done)
{
    const __m256i cq = _mm256_set1_epi8('"'), cb = _mm256_set1_epi8('\\'),
                  c20 = _mm256_set1_epi8(0x20), co = _mm256_set1_epi8('{'),
                  cc = _mm256_set1_epi8('}');
    while (end - p >= 64) {
        __builtin_prefetch(p + 512);
        __m256i v0 = _mm256_loadu_si256((const __m256i *)(const void *)p);
        __m256i v1 = _mm256_loadu_si256((const __m256i *)(const void *)(p + 32));
        uint64_t bs = mask64(v0, v1, cb);
        if (bs || st->esc) {
            _mm256_zeroupper();
            const char *r = skip_scalar(st, p, p + 64);
            if (r) {
                *done = true;
                return r;
            }
            p += 64;
            continue;
        }
        __m256i w0 = _mm256_or_si256(v0, c20), w1 = _mm256_or_si256(v1, c20);
        uint64_t q = mask64(v0, v1, cq), o = mask64(w0, w1, co), c = mask64(w0, w1, cc);
        const char *r = skip_masks(st, p, q, o, c, 64);
        if (r) {
            *done = true;
            return r;
        }
        p += 64;
    }
    return p;
}

static int have_avx2 = -1;
#endif

#ifdef __SSE2__
static const char *skip_blocks_sse2(skip_t *st, const char *p, const char *end, bool *done)
{
    const __m128i cq = _mm_set1_epi8('"'), cb = _mm_set1_epi8('\\'), c20 = _mm_set1_epi8(0x20),
                  co = _mm_set1_epi8('{'), cc = _mm_set1_epi8('}');
    while (end - p >= 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
        __m128i w = _mm_or_si128(v, c20);
        unsigned bs = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, cb));
        if (bs || st->esc) {
            const char *r = skip_scalar(st, p, p + 16);
            if (r) {
                *done = true;
                return r;
            }
            p += 16;
            continue;
        }
        unsigned q = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, cq));
        unsigned o = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(w, co));
        unsigned c = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(w, cc));
        const char *r = skip_masks(st, p, q, o, c, 16);
        if (r) {
            *done = true;
            return r;
        }
        p += 16;
    }
    return p;
}
#endif

/* Skip a whole object or array starting at p (on the bracket). */
static const char *skip_container(const char *p, const char *end)
{
    skip_t st = {0, false, false};
    bool done = false;
#if defined(__x86_64__) && defined(__GNUC__)
    int avx2 = __atomic_load_n(&have_avx2, __ATOMIC_RELAXED);
    if (avx2 < 0) {
        avx2 = __builtin_cpu_supports("avx2") ? 1 : 0;
        __atomic_store_n(&have_avx2, avx2, __ATOMIC_RELAXED);
    }
    if (avx2) {
        p = skip_blocks_avx2(&st, p, end, &done);
        if (done) return p;
    }
#endif
#ifdef __SSE2__
    p = skip_blocks_sse2(&st, p, end, &done);
    if (done) return p;
#endif
    return skip_scalar(&st, p, end);
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
    size_t l = pat_json_number_len(f->p, (size_t)(f->end - f->p));
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
    pat_grow((void **)&sc->fields, &sc->capfields, sc->nfields + 1, sizeof(*sc->fields));
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
        pat_grow((void **)&sc->trails, &sc->captrails, sc->ntrails + sc->ntstack, sizeof(trail_t));
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
            pat_grow((void **)&sc->path, &sc->cappath, (uint32_t)rawlen + 1, 1);
            long l = pat_json_unescape(key, rawlen, sc->path);
            if (l < 0) return -1;
            k = sc->path;
            kn = (size_t)l;
            dot = memchr(k, '.', kn) != NULL;
        }
        const path_slot_t *sl;
        if (!dot) {
            sl = pat_path_child(f->s, node, k, kn);
        } else {
            /* an event key "a.b" is the path a.b, as if nested */
            uint32_t cur = node;
            for (;;) {
                const char *d = memchr(k, '.', kn);
                size_t l = d ? (size_t)(d - k) : kn;
                sl = pat_path_child(f->s, cur, k, l);
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
            pat_grow((void **)&sc->tstack, &sc->captstack, sc->ntstack + 1, sizeof(trail_t));
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
            long l = pat_json_unescape(body, rawlen, o + 1);
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

int pat_flatten(const snapshot_t *s, scratch_t *sc, const char *json, size_t len)
{
    if (len > (1u << 30)) return SY_E_INVALID; /* far beyond any event size limit */
    for (size_t off = 64; off < len && off < 512; off += 64) __builtin_prefetch(json + off);
    fl_t f = {s, sc, json, json + len, 0};
    sc->nfields = sc->ntrails = sc->ntstack = sc->nbuf = sc->arrays = 0;
    pat_grow((void **)&sc->buf, &sc->capbuf, (uint32_t)(len + len / 2 + 16), 1);
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
