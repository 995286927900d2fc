/* tests/fuzz/fuzz_pattern.c - fuzz the pattern compiler and the event
 * flattener/matcher.
 *
 * Input: the first byte picks the mode, the rest is split at the first NUL
 * (or in the middle) into a pattern and an event:
 *   - the pattern is validated and, when valid, added to a matcher (all
 *     three kinds); the event is matched against it and against a fixed set
 *     of patterns covering every operator;
 *   - differential oracle: the same rule compiled with DFA construction off
 *     (every value through the NFA) must give the same verdict.
 * With -DSY_FUZZ=ON (clang) this is a libFuzzer target. Otherwise main()
 * replays: every pattern and event of the conformance corpus (argv[1]), then
 * a few thousand pseudo-random mutations of them (fixed seed). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pattern/pattern.h"
#include "pattern/internal.h"
#include "fuzz_split.h"

static const char *const FIXED[] = {
    "{\"a\":[\"x\",1,null,true,{\"prefix\":\"p\"},{\"suffix\":\"s\"}]}",
    "{\"a\":{\"b\":[{\"wildcard\":\"*x*y\"},{\"equals-ignore-case\":\"StraSSe\"}]}}",
    "{\"a\":[{\"anything-but\":{\"wildcard\":\"a*\"}}],\"b\":[{\"exists\":false}]}",
    "{\"a\":[{\"numeric\":[\">\",-1e300,\"<=\",5]}],\"c\":[{\"cidr\":\"10.0.0.0/8\"}]}",
    "{\"$or\":[{\"a\":[{\"anything-but\":[1,2]}]},{\"a.b\":[{\"exists\":true}]}]}",
};

static sy_matcher_t *fixed_m;

static void cb(const char *id, void *u)
{
    (void)id;
    (*(int *)u)++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    if (!fixed_m) {
        fixed_m = sy_matcher_new(SY_PATTERN_EVENTBRIDGE);
        for (size_t i = 0; i < sizeof(FIXED) / sizeof(*FIXED); i++) {
            char id[8];
            snprintf(id, sizeof(id), "f%zu", i);
            if (sy_matcher_add(fixed_m, id, FIXED[i], strlen(FIXED[i]), NULL)) abort();
        }
    }
    sy_pattern_kind_t kind = (sy_pattern_kind_t)(data[0] % 3);
    fuzz_split_t sp = fuzz_split(data, size);
    const char *rest = sp.pattern, *ev = sp.event;
    size_t plen = sp.plen, elen = sp.elen;
    sy_err_t err;
    int count = 0;
    if (sy_pattern_validate(kind, rest, plen, &err) == 0) {
        sy_matcher_t *m = sy_matcher_new(kind);
        if (sy_matcher_add(m, "p", rest, plen, &err) != 0) abort(); /* validate and add agree */
        int r = sy_matcher_match(m, ev, elen, cb, &count);
        if (r >= 0 && r != count) abort();
        sy_matcher_destroy(&m);
        if (kind != SY_PATTERN_SNS_ATTRIBUTES) {
            rule_ir_t ir;
            char msg[256];
            if (pat_pattern_compile(kind, rest, plen, &ir, msg, sizeof(msg)) != 0) abort();
            rule_src_t src = {&ir, "p"};
            snapshot_t *snap = pat_snapshot_build(&src, 1, 1, 0);
            scratch_t *sc = sy_calloc(1, sizeof(*sc));
            pat_scratch_prepare(snap, sc);
            int r2 = pat_flatten(snap, sc, ev, elen);
            if (r2 == 0) r2 = pat_match_fields(snap, sc, NULL, NULL);
            if ((r < 0) != (r2 < 0) || (r >= 0 && r != r2)) abort(); /* DFA and NFA disagree */
            pat_scratch_free(sc);
            pat_snapshot_free(snap);
            pat_rule_ir_free(&ir);
        }
    }
    count = 0;
    int r = sy_matcher_match(fixed_m, ev, elen, cb, &count);
    if (r >= 0 && r != count) abort();
    r = sy_matcher_match(fixed_m, rest, size - 1, NULL, NULL); /* the whole input as an event */
    (void)r;
    return 0;
}

#ifndef SY_LIBFUZZER
#include <jansson.h>

typedef struct {
    char **s;
    size_t *n;
    size_t len, cap;
} pool_t;

static void push(pool_t *p, const char *s, size_t n)
{
    if (p->len == p->cap) {
        p->cap = p->cap ? p->cap * 2 : 256;
        p->s = realloc(p->s, p->cap * sizeof(*p->s));
        p->n = realloc(p->n, p->cap * sizeof(*p->n));
        if (!p->s || !p->n) abort();
    }
    p->s[p->len] = malloc(n + 1);
    memcpy(p->s[p->len], s, n);
    p->s[p->len][n] = 0;
    p->n[p->len++] = n;
}

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static const char *const TOKENS[] = {"{", "}", "[", "]", "\"", ",", ":", "\\", "*", "**", "$or",
                                     "\"prefix\"", "\"anything-but\"", "\"numeric\"", "\"exists\"",
                                     "\"wildcard\"", "\"cidr\"", "1e308", "-0", "null", "\\u00df",
                                     "\xff", "\xc3", ".", "[[[[[[[[", "{\"a\":"};

/* one mutation of buf (length *n, capacity cap) */
static void mutate(char *buf, size_t *n, size_t cap)
{
    int op = (int)(next() % 4);
    size_t at = *n ? next() % (*n + 1) : 0;
    if (op == 0 && *n) { /* flip a byte */
        buf[at % *n] = (char)next();
    } else if (op == 1 && *n) { /* delete a run */
        size_t l = 1 + next() % 8;
        if (at + l > *n) l = *n - at;
        memmove(buf + at, buf + at + l, *n - at - l);
        *n -= l;
    } else { /* insert a token */
        const char *t = TOKENS[next() % (sizeof(TOKENS) / sizeof(*TOKENS))];
        size_t l = strlen(t);
        if (*n + l >= cap) return;
        memmove(buf + at + l, buf + at, *n - at);
        memcpy(buf + at, t, l);
        *n += l;
    }
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "../shared/conformance/event-patterns";
    int iterations = argc > 2 ? atoi(argv[2]) : 4000;
    static const char *const files[] = {"aws-validated", "aws-docs", "curated", "ruler-tests",
                                        "quamina-tests", "invalid-patterns"};
    pool_t pats = {0}, evs = {0};
    for (size_t f = 0; f < sizeof(files) / sizeof(*files); f++) {
        char path[1024];
        snprintf(path, sizeof(path), "%s/%s.jsonl", dir, files[f]);
        FILE *fp = fopen(path, "r");
        if (!fp) {
            fprintf(stderr, "cannot open %s\n", path);
            return 1;
        }
        char *line = NULL;
        size_t lcap = 0;
        while (getline(&line, &lcap, fp) > 0) {
            json_t *v = json_loads(line, 0, NULL);
            const char *p = json_string_value(json_object_get(v, "pattern"));
            const char *e = json_string_value(json_object_get(v, "event"));
            if (p) push(&pats, p, strlen(p));
            if (e) push(&evs, e, strlen(e));
            json_decref(v);
        }
        free(line);
        fclose(fp);
    }
    size_t cap = 1 << 16;
    uint8_t *buf = malloc(cap);
    long runs = 0;
    /* seeds: every corpus pattern with its event, in each kind */
    for (size_t i = 0; i < pats.len; i++) {
        const char *e = evs.s[i % evs.len];
        size_t en = evs.n[i % evs.len];
        if (pats.n[i] + en + 2 > cap) continue;
        buf[0] = (uint8_t)(i % 3);
        memcpy(buf + 1, pats.s[i], pats.n[i]);
        buf[1 + pats.n[i]] = 0;
        memcpy(buf + 2 + pats.n[i], e, en);
        LLVMFuzzerTestOneInput(buf, pats.n[i] + en + 2);
        runs++;
    }
    /* mutations */
    char *p = malloc(cap / 2), *e = malloc(cap / 2);
    for (int it = 0; it < iterations; it++) {
        size_t k = next() % pats.len, j = next() % evs.len;
        size_t pn = pats.n[k] < cap / 4 ? pats.n[k] : cap / 4;
        size_t en = evs.n[j] < cap / 4 ? evs.n[j] : cap / 4;
        memcpy(p, pats.s[k], pn);
        memcpy(e, evs.s[j], en);
        int muts = 1 + (int)(next() % 4);
        for (int x = 0; x < muts; x++) {
            if (next() & 1) mutate(p, &pn, cap / 2 - 16);
            else mutate(e, &en, cap / 2 - 16);
        }
        buf[0] = (uint8_t)next();
        memcpy(buf + 1, p, pn);
        buf[1 + pn] = 0;
        memcpy(buf + 2 + pn, e, en);
        LLVMFuzzerTestOneInput(buf, pn + en + 2);
        runs++;
    }
    printf("fuzz replay: %ld inputs, no crash\n", runs);
    for (size_t i = 0; i < pats.len; i++) free(pats.s[i]);
    for (size_t i = 0; i < evs.len; i++) free(evs.s[i]);
    free(pats.s);
    free(pats.n);
    free(evs.s);
    free(evs.n);
    free(buf);
    free(p);
    free(e);
    sy_matcher_destroy(&fixed_m);
    return 0;
}
#endif
