/* tests/conformance/patterns_runner.c - run the event-pattern conformance
 * corpus (../shared/conformance/event-patterns) through bus/.
 *
 * Every vector is checked twice: alone in a matcher, and merged with every
 * other pattern of its file in one matcher (the real deployment shape).
 * Vectors using Quamina-only operators (regexp, shellstyle) are skipped:
 * they are not EventBridge features. quamina-tests vectors whose pattern
 * Ruler rejects are skipped when we reject it too (AWS would).
 * Exit status: 0 only when every aws-validated, aws-docs and curated vector
 * passes, every invalid pattern is rejected and >= 99% of ruler-tests pass. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pattern/pattern.h"
#include "pattern/internal.h"

typedef struct {
    const char *id;
    bool found;
} find_t;

static void on_match(const char *rule_id, void *u)
{
    find_t *f = u;
    if (!strcmp(rule_id, f->id)) f->found = true;
}

static bool quamina_only(json_t *v)
{
    json_t *ops = json_object_get(v, "ops"), *o;
    size_t i;
    json_array_foreach(ops, i, o) {
        const char *s = json_string_value(o);
        if (s && (!strcmp(s, "regexp") || !strcmp(s, "shellstyle"))) return true;
    }
    const char *p = json_string_value(json_object_get(v, "pattern"));
    return p && (strstr(p, "\"regexp\"") || strstr(p, "\"shellstyle\""));
}

typedef struct {
    int passed, failed, skipped, merged_failed, nfa_failed;
} tally_t;

/* The same rules compiled with DFA construction off: every field value then
 * runs through the NFA, so both execution paths are checked. */
typedef struct {
    rule_ir_t *irs;
    rule_src_t *src;
    size_t n, cap;
} nfa_set_t;

static void nfa_add(nfa_set_t *ns, const char *id, const char *pat)
{
    char msg[256];
    if (ns->n == ns->cap) {
        ns->cap = ns->cap ? ns->cap * 2 : 256;
        ns->irs = realloc(ns->irs, ns->cap * sizeof(*ns->irs));
        ns->src = realloc(ns->src, ns->cap * sizeof(*ns->src));
    }
    if (pat_pattern_compile(SY_PATTERN_EVENTBRIDGE, pat, strlen(pat), &ns->irs[ns->n], msg, sizeof(msg)))
        return;
    ns->src[ns->n].id = id;
    ns->n++;
}

static int shown;

static void show(const char *why, json_t *v)
{
    if (shown++ > 60) return;
    printf("  FAIL %s %s (%s)\n    pattern: %.200s\n    event:   %.200s\n",
           json_string_value(json_object_get(v, "id")), why,
           json_is_true(json_object_get(v, "match")) ? "expected match" : "expected no match",
           json_string_value(json_object_get(v, "pattern")),
           json_string_value(json_object_get(v, "event")));
}

static json_t *load(const char *dir, const char *name)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s.jsonl", dir, name);
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "cannot open %s\n", path);
        return NULL;
    }
    json_t *all = json_array();
    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, f) > 0) {
        json_error_t e;
        json_t *v = json_loads(line, 0, &e);
        if (v) json_array_append_new(all, v);
    }
    free(line);
    fclose(f);
    return all;
}

static tally_t run_file(const char *dir, const char *name)
{
    tally_t t = {0};
    json_t *all = load(dir, name);
    if (!all) {
        t.failed = 1;
        return t;
    }
    sy_matcher_t *merged = sy_matcher_new(SY_PATTERN_EVENTBRIDGE);
    nfa_set_t ns = {0};
    size_t i;
    json_t *v;
    char *active = calloc(json_array_size(all) + 1, 1);
    json_array_foreach(all, i, v) {
        const char *id = json_string_value(json_object_get(v, "id"));
        const char *pat = json_string_value(json_object_get(v, "pattern"));
        const char *ev = json_string_value(json_object_get(v, "event"));
        bool want = json_is_true(json_object_get(v, "match"));
        json_t *ruler = json_object_get(json_object_get(v, "engines"), "ruler");
        bool ruler_rejects = json_is_string(ruler) && !strcmp(json_string_value(ruler), "pattern-error");
        if (quamina_only(v)) {
            t.skipped++;
            continue;
        }
        sy_err_t err;
        sy_matcher_t *m = sy_matcher_new(SY_PATTERN_EVENTBRIDGE);
        int rc = sy_matcher_add(m, id, pat, strlen(pat), &err);
        if (rc) {
            if (ruler_rejects) {
                t.skipped++;
            } else {
                t.failed++;
                show(err.message, v);
            }
            sy_matcher_destroy(&m);
            continue;
        }
        find_t f = {id, false};
        int n = sy_matcher_match(m, ev, strlen(ev), on_match, &f);
        sy_matcher_destroy(&m);
        if (n < 0) {
            t.failed++;
            show("event rejected", v);
            continue;
        }
        if (f.found == want) {
            t.passed++;
            active[i] = 1;
            sy_matcher_add(merged, id, pat, strlen(pat), NULL);
            nfa_add(&ns, id, pat);
        } else {
            t.failed++;
            show("wrong result", v);
        }
    }
    /* merged automaton: every passing vector again, with all its neighbours loaded */
    json_array_foreach(all, i, v) {
        if (!active[i]) continue;
        const char *id = json_string_value(json_object_get(v, "id"));
        const char *ev = json_string_value(json_object_get(v, "event"));
        find_t f = {id, false};
        sy_matcher_match(merged, ev, strlen(ev), on_match, &f);
        if (f.found != json_is_true(json_object_get(v, "match"))) {
            t.merged_failed++;
            show("wrong result in merged matcher", v);
        }
    }
    for (size_t k = 0; k < ns.n; k++) ns.src[k].ir = &ns.irs[k];
    snapshot_t *snap = pat_snapshot_build(ns.src, (uint32_t)ns.n, 1, 0);
    scratch_t *sc = calloc(1, sizeof(*sc));
    pat_scratch_prepare(snap, sc);
    json_array_foreach(all, i, v) {
        if (!active[i]) continue;
        const char *id = json_string_value(json_object_get(v, "id"));
        const char *ev = json_string_value(json_object_get(v, "event"));
        find_t f = {id, false};
        if (pat_flatten(snap, sc, ev, strlen(ev)) == 0) pat_match_fields(snap, sc, on_match, &f);
        if (f.found != json_is_true(json_object_get(v, "match"))) {
            t.nfa_failed++;
            show("wrong result in merged NFA-only matcher", v);
        }
    }
    pat_scratch_free(sc);
    pat_snapshot_free(snap);
    for (size_t k = 0; k < ns.n; k++) pat_rule_ir_free(&ns.irs[k]);
    free(ns.irs);
    free(ns.src);
    free(active);
    sy_matcher_destroy(&merged);
    json_decref(all);
    return t;
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "../shared/conformance/event-patterns";
    static const char *const files[] = {"aws-validated", "aws-docs", "curated", "ruler-tests",
                                        "quamina-tests"};
    bool ok = true;
    int tp = 0, tf = 0;
    for (size_t k = 0; k < sizeof(files) / sizeof(*files); k++) {
        tally_t t = run_file(dir, files[k]);
        int total = t.passed + t.failed;
        printf("%-14s %d passed, %d failed, %d skipped; merged matcher: %d failed, merged "
               "NFA-only: %d failed\n",
               files[k], t.passed, t.failed, t.skipped, t.merged_failed, t.nfa_failed);
        tp += t.passed;
        tf += t.failed + t.merged_failed + t.nfa_failed;
        if (k < 3 && (t.failed || t.merged_failed || t.nfa_failed || total == 0)) ok = false;
        if (k == 3 && (total == 0 || (double)t.passed < 0.99 * (t.passed + t.failed + t.skipped) ||
                       t.merged_failed || t.nfa_failed))
            ok = false;
    }
    json_t *inv = load(dir, "invalid-patterns");
    int ip = 0, ifl = 0;
    size_t i;
    json_t *v;
    json_array_foreach(inv, i, v) {
        const char *pat = json_string_value(json_object_get(v, "pattern"));
        sy_err_t err;
        memset(&err, 0, sizeof(err));
        if (sy_pattern_validate(SY_PATTERN_EVENTBRIDGE, pat, strlen(pat), &err) < 0 &&
            !strcmp(err.code, "InvalidEventPatternException") && err.status == 400) {
            ip++;
            const char *aws = json_string_value(json_object_get(v, "aws_error"));
            if (aws && strcmp(aws, err.message) != 0)
                printf("  note: message differs for %s\n    aws: %s\n    us:  %s\n",
                       json_string_value(json_object_get(v, "id")), aws, err.message);
        } else {
            ifl++;
            printf("  FAIL invalid pattern accepted: %s\n", pat);
        }
    }
    json_decref(inv);
    printf("%-14s %d passed, %d failed\n", "invalid", ip, ifl);
    if (ifl || ip == 0) ok = false;
    tp += ip;
    tf += ifl;
    printf("%d passed, %d failed\n", tp, tf);
    printf("%s\n", ok ? "targets met" : "TARGETS NOT MET");
    return ok ? 0 : 1;
}
