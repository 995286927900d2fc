/* tests/fuzz/fuzz_flatten.c - the event flattener alone (pattern/flatten.c:
 * pat_flatten), the first code every PutEvents / Publish body reaches when
 * rules or filter policies exist. A fixed snapshot names a handful of paths
 * (leaves, nested leaves, a path that is both a leaf and a prefix, a key
 * with a non-ASCII character); the input is the event.
 * Oracles besides ASan/UBSan, differential against jansson:
 *   - an event jansson loads as an object (depth <= 400) flattens;
 *   - when jansson loads it without duplicate keys, the flattened fields
 *     are exactly the scalars jansson finds at the named paths (through
 *     arrays, a key "a.b" standing for a.b): same path, same type, strings
 *     byte-equal after unescaping, numbers equal as doubles, and every
 *     field's array trail is no deeper than the event;
 *   - fields come out sorted by path.
 * Seeds: the events of ../shared/conformance/event-patterns (written by
 * tests/fuzz/conformance_seeds.py into the build tree) plus
 * corpus/fuzz_flatten/ (regressions). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pattern/internal.h"

static const char *const PATHS[] = {
    "a", "a.b", "a.b.c", "a.c", "b", "detail.state", "detail.list", "detail.n.x",
    "resources", "id", "source", "caf\xc3\xa9", "z.\xe2\x82\xac",
};
#define NPATHS (sizeof PATHS / sizeof *PATHS)

static snapshot_t *snap;
static int32_t path_id[NPATHS];
static rule_ir_t irs[NPATHS];

/* {"a":{"b":[{"exists":true}]}} for "a.b" */
static char *pattern_for(const char *path)
{
    json_t *leaf = json_pack("[{s:b}]", "exists", 1);
    char *dup = strdup(path), *save = NULL;
    char *segs[8];
    int n = 0;
    for (char *t = strtok_r(dup, ".", &save); t && n < 8; t = strtok_r(NULL, ".", &save)) segs[n++] = t;
    json_t *v = leaf;
    for (int i = n - 1; i >= 0; i--) {
        json_t *o = json_object();
        json_object_set_new(o, segs[i], v);
        v = o;
    }
    char *s = json_dumps(v, JSON_COMPACT);
    json_decref(v);
    free(dup);
    return s;
}

static void setup(void)
{
    rule_src_t src[NPATHS];
    char ids[NPATHS][8];
    for (size_t i = 0; i < NPATHS; i++) {
        char *p = pattern_for(PATHS[i]), msg[256];
        if (pat_pattern_compile(SY_PATTERN_EVENTBRIDGE, p, strlen(p), &irs[i], msg, sizeof msg) != 0) abort();
        free(p);
        snprintf(ids[i], sizeof ids[i], "r%zu", i);
        src[i] = (rule_src_t){&irs[i], ids[i]};
    }
    snap = pat_snapshot_build(src, NPATHS, 1, 64);
    for (size_t i = 0; i < NPATHS; i++) { /* the path id of each named leaf */
        uint32_t node = 0;
        const path_slot_t *sl = NULL;
        const char *p = PATHS[i];
        for (;;) {
            const char *d = strchr(p, '.');
            size_t l = d ? (size_t)(d - p) : strlen(p);
            sl = pat_path_child(snap, node, p, l);
            if (!sl) abort();
            node = sl->node;
            if (!d) break;
            p = d + 1;
        }
        path_id[i] = (int32_t)sl->path;
    }
}

typedef struct {
    char **v;
    size_t n, cap;
} list_t;

static void add(list_t *l, char *s)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 16;
        l->v = realloc(l->v, l->cap * sizeof *l->v);
    }
    l->v[l->n++] = s;
}

static int named(const char *path)
{
    for (size_t i = 0; i < NPATHS; i++)
        if (!strcmp(PATHS[i], path)) return (int)i;
    return -1;
}

static int prefix_of_named(const char *path)
{
    size_t l = strlen(path);
    for (size_t i = 0; i < NPATHS; i++)
        if (!strncmp(PATHS[i], path, l) && PATHS[i][l] == '.') return 1;
    return 0;
}

/* "<path index>|<type>|<value>" */
static char *entry(int idx, int type, const char *v, size_t n)
{
    char *s = malloc(n + 32);
    int h = snprintf(s, 32, "%d|%d|", idx, type);
    memcpy(s + h, v, n);
    s[h + n] = 0;
    return s;
}

static void walk_value(const json_t *v, const char *path, list_t *out);

static void walk_object(const json_t *o, const char *path, list_t *out)
{
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)o, k, v) {
        size_t pl = path ? strlen(path) : 0;
        char *np = malloc(pl + strlen(k) + 2);
        if (path) sprintf(np, "%s.%s", path, k);
        else strcpy(np, k);
        if (named(np) >= 0 || prefix_of_named(np)) walk_value(v, np, out);
        free(np);
    }
}

static void walk_value(const json_t *v, const char *path, list_t *out)
{
    int idx = named(path);
    char num[64];
    switch (json_typeof(v)) {
    case JSON_OBJECT: walk_object(v, path, out); break;
    case JSON_ARRAY:
        for (size_t i = 0; i < json_array_size(v); i++) walk_value(json_array_get(v, i), path, out);
        break;
    case JSON_STRING:
        if (idx >= 0) add(out, entry(idx, FV_STR, json_string_value(v), json_string_length(v)));
        break;
    case JSON_INTEGER:
    case JSON_REAL:
        snprintf(num, sizeof num, "%.17g", json_number_value(v) + 0.0); /* -0 is 0 */
        if (idx >= 0) add(out, entry(idx, FV_NUM, num, strlen(num)));
        break;
    case JSON_TRUE: if (idx >= 0) add(out, entry(idx, FV_TRUE, "", 0)); break;
    case JSON_FALSE: if (idx >= 0) add(out, entry(idx, FV_FALSE, "", 0)); break;
    case JSON_NULL: if (idx >= 0) add(out, entry(idx, FV_NULL, "", 0)); break;
    }
}

static int depth(const json_t *v)
{
    int d = 0;
    if (json_is_object(v)) {
        const char *k;
        const json_t *x;
        json_object_foreach((json_t *)v, k, x) {
            int e = depth(x);
            if (e > d) d = e;
        }
    } else if (json_is_array(v)) {
        for (size_t i = 0; i < json_array_size(v); i++) {
            int e = depth(json_array_get(v, i));
            if (e > d) d = e;
        }
    } else {
        return 0;
    }
    return d + 1;
}

static int cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void list_free(list_t *l)
{
    for (size_t i = 0; i < l->n; i++) free(l->v[i]);
    free(l->v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!snap) setup();
    if (size > 1 << 16) return 0;
    const char *ev = (const char *)data;
    static scratch_t *sc; /* reused, as the matcher's per-thread scratch is */
    if (!sc) sc = sy_calloc(1, sizeof *sc);
    pat_scratch_prepare(snap, sc);
    int rc = pat_flatten(snap, sc, ev, size);
    for (uint32_t i = 1; rc == 0 && i < sc->nfields; i++)
        if (sc->fields[i - 1].path > sc->fields[i].path) abort();
    json_error_t je;
    json_t *doc = json_loadb(ev, size, JSON_ALLOW_NUL, &je);
    /* jansson takes a raw NUL right after a number or literal as its end
     * ({"x":1<NUL>} loads); a raw NUL is never JSON, so no comparison */
    if (json_is_object(doc) && !memchr(ev, 0, size)) {
        int d = depth(doc);
        if (rc != 0 && d <= 400) abort(); /* jansson's object must flatten */
        json_t *strict = json_loadb(ev, size, JSON_ALLOW_NUL | JSON_REJECT_DUPLICATES, &je);
        if (rc == 0 && strict) {
            list_t want = {0}, got = {0};
            walk_object(strict, NULL, &want);
            for (uint32_t i = 0; i < sc->nfields; i++) {
                const field_t *f = &sc->fields[i];
                int idx = -1;
                for (size_t k = 0; k < NPATHS; k++)
                    if ((uint32_t)path_id[k] == f->path) idx = (int)k;
                if (idx < 0) abort(); /* a field at a path no pattern names */
                if ((int)f->trail_len > d) abort();
                if (f->type == FV_STR) {
                    if (f->vlen < 2 || f->v[0] != '"' || f->v[f->vlen - 1] != '"') abort();
                    add(&got, entry(idx, FV_STR, f->v + 1, f->vlen - 2));
                } else if (f->type == FV_NUM) {
                    char lex[512], num[64];
                    if (f->vlen >= sizeof lex) abort();
                    memcpy(lex, f->v, f->vlen);
                    lex[f->vlen] = 0;
                    snprintf(num, sizeof num, "%.17g", strtod(lex, NULL) + 0.0);
                    add(&got, entry(idx, FV_NUM, num, strlen(num)));
                } else {
                    add(&got, entry(idx, (int)f->type, "", 0));
                }
            }
            if (want.n != got.n) abort();
            if (want.n) qsort(want.v, want.n, sizeof *want.v, cmp);
            if (got.n) qsort(got.v, got.n, sizeof *got.v, cmp);
            for (size_t i = 0; i < want.n; i++)
                if (strcmp(want.v[i], got.v[i]) != 0) abort();
            list_free(&want);
            list_free(&got);
        }
        json_decref(strict);
    }
    json_decref(doc);
    return 0;
}
