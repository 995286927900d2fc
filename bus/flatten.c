/* bus/flatten.c - flatten an event into (path, value, array trail) fields,
 * keeping only paths some pattern names and skipping every sub-tree whose
 * path is not a prefix of a used path while parsing. */
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
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

static void ws(fl_t *f)
{
    while (f->p < f->end && (*f->p == ' ' || *f->p == '\n' || *f->p == '\r' || *f->p == '\t'))
        f->p++;
}

/* On the opening quote; leaves p after the closing quote. *esc set when the
 * string has escapes. Returns the raw body start or NULL. */
static const char *scan_string(fl_t *f, size_t *rawlen, bool *esc)
{
    const char *start = ++f->p;
    const char *q = memchr(start, '"', (size_t)(f->end - start));
    if (!q) return NULL;
    *esc = memchr(start, '\\', (size_t)(q - start)) != NULL;
    if (*esc) {
        const char *p = start;
        while (p < f->end && *p != '"') p += *p == '\\' ? 2 : 1;
        if (p >= f->end) return NULL;
        q = p;
    }
    *rawlen = (size_t)(q - start);
    f->p = q + 1;
    return start;
}

/* After the closing quote of the string whose body starts at p, or NULL. */
static const char *string_end(const char *p, const char *end)
{
    for (;;) {
        const char *q = memchr(p, '"', (size_t)(end - p));
        if (!q) return NULL;
        const char *b = q;
        while (b > p && b[-1] == '\\') b--;
        if (((q - b) & 1) == 0) return q + 1;
        p = q + 1;
    }
}

/* Skip a whole object or array starting at p (on the bracket). */
static const char *skip_container(const char *p, const char *end)
{
    long depth = 0;
#ifdef __SSE2__
    const __m128i cq = _mm_set1_epi8('"'), c1 = _mm_set1_epi8('['), c2 = _mm_set1_epi8(']'),
                  c3 = _mm_set1_epi8('{'), c4 = _mm_set1_epi8('}');
    while (end - p >= 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
        __m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, cq), _mm_cmpeq_epi8(v, c1)),
                                 _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, c2), _mm_cmpeq_epi8(v, c3)),
                                              _mm_cmpeq_epi8(v, c4)));
        unsigned mask = (unsigned)_mm_movemask_epi8(m);
        const char *next = p + 16;
        while (mask) {
            int i = __builtin_ctz(mask);
            char c = p[i];
            mask &= mask - 1;
            if (c == '"') {
                next = string_end(p + i + 1, end);
                if (!next) return NULL;
                break;
            }
            if (c == '[' || c == '{') depth++;
            else if (--depth == 0) return p + i + 1;
        }
        p = next;
    }
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
    fd->trail_off = sc->ntrails;
    fd->trail_len = sc->ntstack;
    if (sc->ntstack) {
        bus_grow((void **)&sc->trails, &sc->captrails, sc->ntrails + sc->ntstack, sizeof(trail_t));
        memcpy(sc->trails + sc->ntrails, sc->tstack, sc->ntstack * sizeof(trail_t));
        sc->ntrails += sc->ntstack;
    }
}

static int parse_value(fl_t *f, int32_t path, uint32_t plen, uint32_t hash);

static int parse_object(fl_t *f, uint32_t plen, uint32_t hash)
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
        const char *key = scan_string(f, &rawlen, &esc);
        if (!key) return -1;
        uint32_t need = plen + 1 + (uint32_t)rawlen + 1;
        bus_grow((void **)&sc->path, &sc->cappath, need, 1);
        uint32_t kl = plen;
        if (plen) sc->path[kl++] = '.';
        long klen = (long)rawlen;
        if (esc) klen = bus_json_unescape(key, rawlen, sc->path + kl);
        else memcpy(sc->path + kl, key, rawlen);
        if (klen < 0) return -1;
        uint32_t nlen = kl + (uint32_t)klen;
        uint32_t h = bus_path_hash(hash, sc->path + kl, (size_t)(nlen - kl));
        ws(f);
        if (f->p >= f->end || *f->p != ':') return -1;
        f->p++;
        bool found;
        int32_t pid = bus_path_lookup(f->s, h, sc->path, nlen, &found);
        int rc = found ? parse_value(f, pid, nlen, h) : skip_value(f);
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

static int parse_value(fl_t *f, int32_t path, uint32_t plen, uint32_t hash)
{
    scratch_t *sc = f->sc;
    ws(f);
    if (f->p >= f->end) return -1;
    if (++f->depth > FLATTEN_MAX_DEPTH) return -1;
    int rc = 0;
    char c = *f->p;
    if (c == '{') {
        rc = parse_object(f, plen, hash);
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
            rc = parse_value(f, path, plen, hash);
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
    fl_t f = {s, sc, json, json + len, 0};
    sc->nfields = sc->ntrails = sc->ntstack = sc->nbuf = sc->arrays = 0;
    bus_grow((void **)&sc->buf, &sc->capbuf, (uint32_t)(len + len / 2 + 16), 1);
    ws(&f);
    if (f.p >= f.end || *f.p != '{') return SY_E_INVALID;
    if (parse_value(&f, -1, 0, BUS_HASH_INIT)) return SY_E_INVALID;
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
