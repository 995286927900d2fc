/* bench/patterns.c - single-thread throughput of the bus/ matcher alone on
 * citylots-shaped events (read once into memory; the matcher sees each line
 * as it would see an event body).
 *
 * usage: bench_patterns DATA.jlines[.gz] [CL2-RULES.json] [max-lines]
 * Prints human-readable lines, then all figures as one JSON object on the
 * last line. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pattern/pattern.h"

typedef struct {
    char **line;
    size_t *len;
    size_t n, cap;
} data_t;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* CPU time of this thread: the machine is shared, so events/s are computed
 * from the CPU time the matching thread got (wall-clock figures printed too). */
static double cpu(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int load(const char *path, size_t max, data_t *d)
{
    char cmd[2048];
    FILE *f;
    size_t pl = strlen(path);
    bool gz = pl > 3 && !strcmp(path + pl - 3, ".gz");
    if (gz) {
        snprintf(cmd, sizeof(cmd), "gzip -dc '%s'", path);
        f = popen(cmd, "r");
    } else {
        f = fopen(path, "r");
    }
    if (!f) return -1;
    char *buf = NULL;
    size_t cap = 0;
    ssize_t l;
    while (d->n < max && (l = getline(&buf, &cap, f)) > 0) {
        while (l > 0 && (buf[l - 1] == '\n' || buf[l - 1] == '\r')) l--;
        if (l == 0) continue;
        if (d->n == d->cap) {
            d->cap = d->cap ? d->cap * 2 : 4096;
            d->line = realloc(d->line, d->cap * sizeof(char *));
            d->len = realloc(d->len, d->cap * sizeof(size_t));
            if (!d->line || !d->len) abort();
        }
        d->line[d->n] = malloc((size_t)l + 1);
        memcpy(d->line[d->n], buf, (size_t)l);
        d->line[d->n][l] = 0;
        d->len[d->n++] = (size_t)l;
    }
    free(buf);
    if (gz) pclose(f);
    else fclose(f);
    return d->n ? 0 : -1;
}

static void count_cb(const char *id, void *u)
{
    (void)id;
    (*(long *)u)++;
}

typedef struct {
    char name[96];
    int rules;
    double eps, wall_eps;
    long matches;
} result_t;

static result_t results[64];
static int nresults;

/* 1 warm-up pass, then `passes` measured passes; the median pass counts. */
static double measure(sy_matcher_t *m, const data_t *d, int passes, long *matches, double *wall_eps)
{
    double t[9], w[9];
    long cnt = 0;
    for (size_t i = 0; i < d->n; i++) sy_matcher_match(m, d->line[i], d->len[i], count_cb, &cnt);
    for (int p = 0; p < passes; p++) {
        cnt = 0;
        double t0 = cpu(), w0 = now();
        for (size_t i = 0; i < d->n; i++) {
            if (sy_matcher_match(m, d->line[i], d->len[i], count_cb, &cnt) < 0) {
                fprintf(stderr, "event %zu rejected\n", i);
                exit(1);
            }
        }
        t[p] = cpu() - t0;
        w[p] = now() - w0;
    }
    for (int i = 0; i < passes; i++)
        for (int j = i + 1; j < passes; j++)
            if (t[j] < t[i]) {
                double x = t[i];
                t[i] = t[j];
                t[j] = x;
            }
    for (int i = 0; i < passes; i++)
        for (int j = i + 1; j < passes; j++)
            if (w[j] < w[i]) {
                double x = w[i];
                w[i] = w[j];
                w[j] = x;
            }
    *wall_eps = (double)d->n / w[passes / 2];
    *matches = cnt;
    return (double)d->n / t[passes / 2];
}

static const char *only; /* BENCH_ONLY: run workloads whose name contains it */

static void run(const char *name, sy_matcher_t *m, const data_t *d, int passes)
{
    if (only && !strstr(name, only)) return;
    result_t *r = &results[nresults++];
    snprintf(r->name, sizeof(r->name), "%s", name);
    r->rules = (int)sy_matcher_count(m);
    r->eps = measure(m, d, passes, &r->matches, &r->wall_eps);
    printf("%-34s rules=%-6d %10.0f events/s (cpu) %10.0f (wall)  matches/pass=%ld\n", name,
           r->rules, r->eps, r->wall_eps, r->matches);
    fflush(stdout);
}

static void add(sy_matcher_t *m, const char *id, const char *pat)
{
    sy_err_t err;
    if (sy_matcher_add(m, id, pat, strlen(pat), &err)) {
        fprintf(stderr, "pattern %s rejected: %s\n", pat, err.message);
        exit(1);
    }
}

static void five(const char *name, const char *const pats[5], const data_t *d)
{
    sy_matcher_t *m = sy_matcher_new(SY_PATTERN_EVENTBRIDGE);
    char id[32];
    for (int i = 0; i < 5; i++) {
        snprintf(id, sizeof(id), "r%d", i);
        add(m, id, pats[i]);
    }
    run(name, m, d, 5);
    sy_matcher_destroy(&m);
}

/* the first n distinct MAPBLKLOT values of the data, as n exact rules */
static void scaling(const data_t *d, int n)
{
    char name[64];
    snprintf(name, sizeof(name), "c: exact MAPBLKLOT x%d", n);
    if (only && !strstr(name, only)) return;
    sy_matcher_t *m = sy_matcher_new(SY_PATTERN_EVENTBRIDGE);
    char pat[128], id[32];
    int added = 0;
    double t0 = now();
    for (size_t i = 0; i < d->n && added < n; i++) {
        const char *p = strstr(d->line[i], "\"MAPBLKLOT\": \"");
        if (!p) continue;
        p += 14;
        const char *q = strchr(p, '"');
        snprintf(pat, sizeof(pat), "{\"properties\":{\"MAPBLKLOT\":[\"%.*s\"]}}", (int)(q - p), p);
        snprintf(id, sizeof(id), "%.*s", (int)(q - p), p);
        size_t before = sy_matcher_count(m);
        add(m, id, pat);
        if (sy_matcher_count(m) > before) added++;
    }
    double tadd = now() - t0;
    run(name, m, d, 5);
    printf("%-34s add time %.3f s\n", "", tadd);
    sy_matcher_destroy(&m);
}

static void cl2(const char *path, const data_t *d)
{
    json_error_t e;
    json_t *root = json_load_file(path, 0, &e);
    if (!root) return;
    const char *key;
    json_t *set;
    json_object_foreach(root, key, set) {
        json_t *rules = json_object_get(set, "rules"), *r;
        if (!json_is_array(rules)) continue;
        sy_matcher_t *m = sy_matcher_new(SY_PATTERN_EVENTBRIDGE);
        size_t i;
        json_array_foreach(rules, i, r) {
            char *s = json_dumps(r, JSON_COMPACT | JSON_REAL_PRECISION(17));
            char id[32];
            snprintf(id, sizeof(id), "r%zu", i);
            add(m, id, s);
            free(s);
        }
        char name[96];
        snprintf(name, sizeof(name), "cl2: %s", key);
        run(name, m, d, 3);
        sy_matcher_destroy(&m);
    }
    json_decref(root);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s DATA.jlines[.gz] [CL2-RULES.json] [max-lines]\n", argv[0]);
        return 2;
    }
    data_t d = {0};
    only = getenv("BENCH_ONLY");
    size_t max = argc > 3 && argv[3][0] ? (size_t)atol(argv[3]) : (size_t)-1;
    if (load(argv[1], max, &d)) {
        fprintf(stderr, "cannot read %s\n", argv[1]);
        return 1;
    }
    printf("%zu events loaded from %s\n", d.n, argv[1]);

    /* (a) Quamina's BenchmarkCityLots patterns */
    sy_matcher_t *m = sy_matcher_new(SY_PATTERN_EVENTBRIDGE);
    add(m, "CRANLEIGH", "{\"properties\":{\"STREET\":[\"CRANLEIGH\"]}}");
    add(m, "17TH Even", "{\"properties\":{\"STREET\":[\"17TH\"],\"ODD_EVEN\":[\"E\"]}}");
    add(m, "Geometry", "{\"geometry\":{\"coordinates\":[37.807807921694092]}}");
    add(m, "0011008", "{\"properties\":{\"MAPBLKLOT\":[\"0011008\"],\"BLKLOT\":[\"0011008\"]},"
                      "\"geometry\":{\"coordinates\":[37.807807921694092]}}");
    run("a: quamina citylots (4 patterns)", m, &d, 3);
    sy_matcher_destroy(&m);

    /* (b) five rules of one kind on properties.STREET */
    static const char *const exact[5] = {
        "{\"properties\":{\"STREET\":[\"CRANLEIGH\"]}}", "{\"properties\":{\"STREET\":[\"17TH\"]}}",
        "{\"properties\":{\"STREET\":[\"MARKET\"]}}", "{\"properties\":{\"STREET\":[\"ACTON\"]}}",
        "{\"properties\":{\"STREET\":[\"JEFFERSON\"]}}"};
    static const char *const prefix[5] = {
        "{\"properties\":{\"STREET\":[{\"prefix\":\"AC\"}]}}", "{\"properties\":{\"STREET\":[{\"prefix\":\"BL\"}]}}",
        "{\"properties\":{\"STREET\":[{\"prefix\":\"DR\"}]}}", "{\"properties\":{\"STREET\":[{\"prefix\":\"FU\"}]}}",
        "{\"properties\":{\"STREET\":[{\"prefix\":\"RH\"}]}}"};
    static const char *const wild[5] = {
        "{\"properties\":{\"STREET\":[{\"wildcard\":\"F*ON\"}]}}", "{\"properties\":{\"STREET\":[{\"wildcard\":\"*RK*\"}]}}",
        "{\"properties\":{\"STREET\":[{\"wildcard\":\"J*SON\"}]}}", "{\"properties\":{\"STREET\":[{\"wildcard\":\"B*CH\"}]}}",
        "{\"properties\":{\"STREET\":[{\"wildcard\":\"ST0*9\"}]}}"};
    static const char *const eic[5] = {
        "{\"properties\":{\"STREET\":[{\"equals-ignore-case\":\"jefferson\"}]}}",
        "{\"properties\":{\"STREET\":[{\"equals-ignore-case\":\"bEaCh\"}]}}",
        "{\"properties\":{\"STREET\":[{\"equals-ignore-case\":\"HyDe\"}]}}",
        "{\"properties\":{\"STREET\":[{\"equals-ignore-case\":\"CHESTNUT\"}]}}",
        "{\"properties\":{\"STREET\":[{\"equals-ignore-case\":\"cranleigh\"}]}}"};
    static const char *const abut[5] = {
        "{\"properties\":{\"STREET\":[{\"anything-but\":[\"FULTON\"]}]}}",
        "{\"properties\":{\"STREET\":[{\"anything-but\":[\"MASON\"]}]}}",
        "{\"properties\":{\"STREET\":[{\"anything-but\":[\"MARKET\"]}]}}",
        "{\"properties\":{\"STREET\":[{\"anything-but\":[\"MISSION\"]}]}}",
        "{\"properties\":{\"STREET\":[{\"anything-but\":[\"HOWARD\"]}]}}"};
    five("b: STREET exact x5", exact, &d);
    five("b: STREET prefix x5", prefix, &d);
    five("b: STREET wildcard x5", wild, &d);
    five("b: STREET equals-ignore-case x5", eic, &d);
    five("b: STREET anything-but x5", abut, &d);

    /* (c) scaling: N exact rules on one field */
    static const int ns[] = {1, 100, 1000, 10000, 100000};
    for (size_t i = 0; i < sizeof(ns) / sizeof(*ns); i++) scaling(&d, ns[i]);

    if (argc > 2 && strcmp(argv[2], "-") != 0) cl2(argv[2], &d);

    /* one JSON object on the last line */
    printf("{\"events\":%zu,\"unit\":\"events/s\",\"results\":{", d.n);
    for (int i = 0; i < nresults; i++)
        printf("%s\"%s\":{\"rules\":%d,\"events_per_s\":%.0f,\"wall_events_per_s\":%.0f,"
               "\"matches\":%ld}",
               i ? "," : "", results[i].name, results[i].rules, results[i].eps,
               results[i].wall_eps, results[i].matches);
    double c1 = 0, c100k = 0;
    for (int i = 0; i < nresults; i++) {
        if (!strcmp(results[i].name, "c: exact MAPBLKLOT x1")) c1 = results[i].eps;
        if (!strcmp(results[i].name, "c: exact MAPBLKLOT x100000")) c100k = results[i].eps;
    }
    printf("},\"slowdown_1_to_100000\":%.2f}\n", c100k > 0 ? c1 / c100k : 0.0);
    for (size_t i = 0; i < d.n; i++) free(d.line[i]);
    free(d.line);
    free(d.len);
    return 0;
}
