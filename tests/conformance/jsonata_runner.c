/* tests/conformance/jsonata_runner.c — the JSONata reference suite
 * (../shared/conformance/jsonata/, README there) through asl/jsonata.h.
 *
 *   jsonata_conformance <suite-dir> [min-pct] [filter-substring] [-v]
 *
 * Skips only what sfn-case-tags.json marks "skip" (no $eval in Step
 * Functions; the reference harness's private depth hooks) and the
 * post-2.0.6 operators (?? and ?:), printing each skip with its reason.
 * Deep equality as the README describes: arrays in order (as multisets for
 * "unordered" cases), objects by key set, numbers bit-exact. Prints
 * "N passed, N failed, N skipped" and fails below min-pct of the applicable
 * cases. */
#include "../../asl/jsonata.h"

#include <dirent.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool num_eq(const json_t *a, const json_t *b) {
    double x = json_number_value(a), y = json_number_value(b);
    return memcmp(&x, &y, sizeof x) == 0 || (x == 0 && y == 0);
}

static bool deq(const json_t *a, const json_t *b, bool unordered);

static bool arr_eq(const json_t *a, const json_t *b, bool unordered) {
    size_t n = json_array_size(a);
    if (n != json_array_size(b)) return false;
    if (!unordered) {
        for (size_t i = 0; i < n; i++)
            if (!deq(json_array_get(a, i), json_array_get(b, i), false)) return false;
        return true;
    }
    bool *used = calloc(n + 1, 1);
    bool ok = true;
    for (size_t i = 0; i < n && ok; i++) {
        bool found = false;
        for (size_t j = 0; j < n && !found; j++)
            if (!used[j] && deq(json_array_get(a, i), json_array_get(b, j), true)) used[j] = found = true;
        ok = found;
    }
    free(used);
    return ok;
}

static bool deq(const json_t *a, const json_t *b, bool unordered) {
    if (!a || !b) return a == b;
    if (json_is_number(a) && json_is_number(b)) return num_eq(a, b);
    if (json_typeof(a) != json_typeof(b)) return false;
    switch (json_typeof(a)) {
    case JSON_STRING:
        return json_string_length(a) == json_string_length(b) &&
               memcmp(json_string_value(a), json_string_value(b), json_string_length(a)) == 0;
    case JSON_ARRAY: return arr_eq(a, b, unordered);
    case JSON_OBJECT: {
        if (json_object_size(a) != json_object_size(b)) return false;
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)a, k, v) {
            if (!deq(v, json_object_get(b, k), unordered)) return false;
        }
        return true;
    }
    default: return true;
    }
}

static char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    size_t r = fread(b, 1, (size_t)n, f);
    fclose(f);
    b[r] = 0;
    if (len) *len = r;
    return b;
}

static int cmpstr(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static char **list_dir(const char *path, size_t *n) {
    DIR *d = opendir(path);
    char **v = NULL;
    *n = 0;
    if (!d) return NULL;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        v = realloc(v, (*n + 1) * sizeof *v);
        v[(*n)++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(v, *n, sizeof *v, cmpstr);
    return v;
}

typedef struct {
    int pass, fail, skip;
    bool verbose, messages;
    json_t *tags;
    const char *root;
} run_t;

static const char *skip_reason(run_t *r, const char *id) {
    json_t *t = json_object_get(json_object_get(r->tags, "cases"), id);
    size_t i;
    json_t *tag;
    json_array_foreach(t, i, tag) {
        const char *reason = json_string_value(json_object_get(tag, "reason"));
        const char *action = json_string_value(json_object_get(tag, "action"));
        if ((action && strcmp(action, "skip") == 0) || (reason && strcmp(reason, "post-2.0.6-syntax") == 0))
            return reason;
    }
    return NULL;
}

static bool is_unordered(run_t *r, const char *id) {
    json_t *t = json_object_get(json_object_get(r->tags, "cases"), id);
    size_t i;
    json_t *tag;
    json_array_foreach(t, i, tag) {
        const char *reason = json_string_value(json_object_get(tag, "reason"));
        if (reason && strcmp(reason, "unordered") == 0) return true;
    }
    return false;
}

static void run_case(run_t *r, const char *group, const char *id, json_t *cs) {
    const char *reason = skip_reason(r, id);
    if (reason) {
        r->skip++;
        if (r->verbose) printf("SKIP %s (%s)\n", id, reason);
        return;
    }
    char *exprbuf = NULL;
    const char *expr = json_string_value(json_object_get(cs, "expr"));
    size_t elen = expr ? strlen(expr) : 0;
    if (!expr) {
        char path[1024];
        snprintf(path, sizeof path, "%s/groups/%s/%s", r->root, group,
                 json_string_value(json_object_get(cs, "expr-file")));
        exprbuf = read_file(path, &elen);
        expr = exprbuf;
    }
    json_t *input = NULL;
    bool own_input = false;
    if (json_object_get(cs, "data")) input = json_object_get(cs, "data");
    else if (json_is_string(json_object_get(cs, "dataset"))) {
        char path[1024];
        snprintf(path, sizeof path, "%s/datasets/%s.json", r->root, json_string_value(json_object_get(cs, "dataset")));
        input = json_load_file(path, JSON_DECODE_ANY, NULL);
        own_input = true;
    }
    bool unordered = json_is_true(json_object_get(cs, "unordered")) || is_unordered(r, id);
    sy_jsonata_error_t err = {.position = -1};
    json_t *out = NULL;
    bool ok = false;
    char why[512] = "";
    sy_jsonata_t *x = expr ? sy_jsonata_compile(expr, elen, &err) : NULL;
    int rc = -1;
    if (x) {
        sy_jsonata_opts_t opts = {.time_limit_ms = 20000};
        rc = sy_jsonata_eval(x, input, json_object_get(cs, "bindings"), &opts, &out, &err);
    }
    json_t *want;
    if ((want = json_object_get(cs, "code")) || (want = json_object_get(json_object_get(cs, "error"), "code"))) {
        ok = rc < 0 && strcmp(err.code, json_string_value(want)) == 0;
        json_t *tok = json_object_get(cs, "token");
        if (ok && tok) ok = err.token && strcmp(err.token, json_string_value(tok)) == 0;
        json_t *eo = json_object_get(cs, "error");
        if (ok && eo) {
            const char *k;
            json_t *v;
            json_object_foreach(eo, k, v) {
                if (strcmp(k, "code") == 0) continue;
                if (strcmp(k, "message") == 0) ok = ok && err.message && strcmp(err.message, json_string_value(v)) == 0;
                else if (strcmp(k, "token") == 0) ok = ok && err.token && strcmp(err.token, json_string_value(v)) == 0;
                else if (strcmp(k, "value") == 0) ok = ok && deq(err.value, v, false);
                else if (strcmp(k, "functionName") == 0) {
                    char needle[128];
                    snprintf(needle, sizeof needle, "$%s()", json_string_value(v));
                    ok = ok && err.message && strstr(err.message, needle);
                }
            }
        }
        if (!ok)
            snprintf(why, sizeof why, "want error %s, got %s %s", json_string_value(want), rc < 0 ? err.code : "value",
                     rc < 0 && err.message ? err.message : "");
    } else if (json_is_true(json_object_get(cs, "undefinedResult"))) {
        ok = rc == 0 && out == NULL;
        if (!ok) snprintf(why, sizeof why, "want undefined, got %s %s", rc < 0 ? err.code : "value", rc < 0 && err.message ? err.message : "");
    } else {
        want = json_object_get(cs, "result");
        ok = rc == 0 && deq(out, want, unordered);
        if (!ok) snprintf(why, sizeof why, "got %s %s", rc < 0 ? err.code : "", rc < 0 && err.message ? err.message : "");
    }
    if (r->messages && (json_object_get(cs, "code") || json_object_get(cs, "error")))
        printf("MSG\t%s\t%s\t%s\t%s\n", id, rc < 0 ? err.code : "NOERR", rc < 0 && err.message ? err.message : "",
               rc < 0 && err.token ? err.token : "undefined");
    if (ok) r->pass++;
    else {
        r->fail++;
        char *got = out ? json_dumps(out, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
        char *exp = json_object_get(cs, "result") ? json_dumps(json_object_get(cs, "result"), JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
        printf("FAIL %s: %.200s\n     %s\n     result %.300s\n     expect %.300s\n", id, expr ? expr : "?", why,
               got ? got : "-", exp ? exp : "-");
        free(got);
        free(exp);
    }
    json_decref(out);
    sy_jsonata_error_clear(&err);
    sy_jsonata_free(&x);
    if (own_input) json_decref(input);
    free(exprbuf);
}

/* --dump-seeds SUITE DIR: every case's expression as one file (fuzz seeds) */
static int dump_seeds(const char *root, const char *dir) {
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", dir);
    if (system(cmd) != 0) return 1;
    char path[1024];
    snprintf(path, sizeof path, "%s/groups", root);
    size_t ng, k = 0;
    char **groups = list_dir(path, &ng);
    for (size_t g = 0; g < ng; g++) {
        char gp[1024];
        snprintf(gp, sizeof gp, "%s/groups/%s", root, groups[g]);
        size_t nf;
        char **files = list_dir(gp, &nf);
        for (size_t f = 0; f < nf; f++) {
            char fp[2048];
            snprintf(fp, sizeof fp, "%s/%s", gp, files[f]);
            size_t l = strlen(files[f]);
            char *text = NULL;
            size_t tl = 0;
            if (l > 8 && strcmp(files[f] + l - 8, ".jsonata") == 0) text = read_file(fp, &tl);
            json_t *doc = l > 5 && strcmp(files[f] + l - 5, ".json") == 0 ? json_load_file(fp, JSON_DECODE_ANY, NULL) : NULL;
            json_t *one = json_is_array(doc) ? json_array_get(doc, 0) : doc;
            if (!text && json_is_string(json_object_get(one, "expr"))) text = strdup(json_string_value(json_object_get(one, "expr")));
            if (text) {
                char out[2048];
                snprintf(out, sizeof out, "%s/%05zu", dir, k++);
                FILE *o = fopen(out, "wb");
                if (o) {
                    fputs(text, o);
                    fclose(o);
                }
            }
            free(text);
            json_decref(doc);
            free(files[f]);
        }
        free(files);
        free(groups[g]);
    }
    free(groups);
    printf("%zu seeds in %s\n", k, dir);
    return k > 0 ? 0 : 1;
}

int main(int argc, char **argv) {
    if (argc == 4 && strcmp(argv[1], "--dump-seeds") == 0) return dump_seeds(argv[2], argv[3]);
    if (argc < 2) {
        fprintf(stderr, "usage: %s <suite-dir> [min-pct] [filter] [-v]\n", argv[0]);
        return 2;
    }
    run_t r = {.root = argv[1]};
    double min = argc > 2 ? atof(argv[2]) : 0;
    const char *filter = argc > 3 ? argv[3] : NULL;
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "-v") == 0) r.verbose = true;
        else if (strcmp(argv[i], "-m") == 0) r.messages = true; /* print every error's code, message, token */
    if (filter && (strcmp(filter, "-v") == 0 || strcmp(filter, "-m") == 0)) filter = NULL;
    char path[1024];
    snprintf(path, sizeof path, "%s/sfn-case-tags.json", r.root);
    r.tags = json_load_file(path, 0, NULL);
    snprintf(path, sizeof path, "%s/groups", r.root);
    size_t ng;
    char **groups = list_dir(path, &ng);
    for (size_t g = 0; g < ng; g++) {
        char gp[1024];
        snprintf(gp, sizeof gp, "%s/groups/%s", r.root, groups[g]);
        size_t nf;
        char **files = list_dir(gp, &nf);
        for (size_t f = 0; f < nf; f++) {
            size_t l = strlen(files[f]);
            if (l < 5 || strcmp(files[f] + l - 5, ".json") != 0) {
                free(files[f]);
                continue;
            }
            char fp[2048], id[1024];
            snprintf(fp, sizeof fp, "%s/%s", gp, files[f]);
            snprintf(id, sizeof id, "%s/%s", groups[g], files[f]);
            if (filter && !strstr(id, filter)) {
                free(files[f]);
                continue;
            }
            json_t *doc = json_load_file(fp, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
            if (json_is_array(doc)) {
                size_t i;
                json_t *cs;
                json_array_foreach(doc, i, cs) {
                    char cid[1100];
                    snprintf(cid, sizeof cid, "%s#%zu", id, i);
                    run_case(&r, groups[g], cid, cs);
                }
            } else if (json_is_object(doc)) {
                run_case(&r, groups[g], id, doc);
            } else {
                printf("FAIL %s: unreadable case file\n", id);
                r.fail++;
            }
            json_decref(doc);
            free(files[f]);
        }
        free(files);
        free(groups[g]);
    }
    free(groups);
    json_decref(r.tags);
    int applicable = r.pass + r.fail;
    double pct = applicable ? 100.0 * r.pass / applicable : 0;
    printf("%d passed, %d failed, %d skipped (%.2f%% of %d applicable)\n", r.pass, r.fail, r.skip, pct, applicable);
    return pct + 1e-9 >= min ? 0 : 1;
}
