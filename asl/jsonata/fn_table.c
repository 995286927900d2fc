/* asl/jsonata/fn_table.c — the function library's table: names, signatures,
 * the reference implementation's arities (for $map & co.), and the Step
 * Functions variant ($partition, $range, $hash, $random([seed]), $uuid,
 * $parse added; $eval absent). The function values are immortal and built
 * once per process. */
#include "internal.h"

#include "../../core/core.h"

#include <pthread.h>
#include <string.h>

#define D(name) int name(jn_ctx *c, jv *a, int n, jv input, jv *out);
D(jn_f_sum) D(jn_f_count) D(jn_f_max) D(jn_f_min) D(jn_f_average) D(jn_f_string) D(jn_f_substring)
D(jn_f_substring_before) D(jn_f_substring_after) D(jn_f_lowercase) D(jn_f_uppercase) D(jn_f_length) D(jn_f_trim)
D(jn_f_pad) D(jn_f_match) D(jn_f_contains) D(jn_f_replace) D(jn_f_split) D(jn_f_join) D(jn_f_format_number)
D(jn_f_format_base) D(jn_f_format_integer) D(jn_f_parse_integer) D(jn_f_number) D(jn_f_floor) D(jn_f_ceil)
D(jn_f_round) D(jn_f_abs) D(jn_f_sqrt) D(jn_f_power) D(jn_f_random) D(jn_f_boolean) D(jn_f_not) D(jn_f_map)
D(jn_f_zip) D(jn_f_filter) D(jn_f_single) D(jn_f_reduce) D(jn_f_sift) D(jn_f_keys) D(jn_f_lookup) D(jn_f_append)
D(jn_f_exists) D(jn_f_spread) D(jn_f_merge) D(jn_f_reverse) D(jn_f_each) D(jn_f_error) D(jn_f_assert) D(jn_f_type)
D(jn_f_sort) D(jn_f_shuffle) D(jn_f_distinct) D(jn_f_base64encode) D(jn_f_base64decode)
D(jn_f_encode_url_component) D(jn_f_encode_url) D(jn_f_decode_url_component) D(jn_f_decode_url)
D(jn_f_to_millis) D(jn_f_from_millis) D(jn_f_clone) D(jn_f_now) D(jn_f_millis) D(jn_f_partition) D(jn_f_range)
D(jn_f_hash) D(jn_f_sfn_random) D(jn_f_uuid) D(jn_f_parse)

static const jn_builtin common[] = {
    {"sum", jn_f_sum, "<a<n>:n>", 1},
    {"count", jn_f_count, "<a:n>", 1},
    {"max", jn_f_max, "<a<n>:n>", 1},
    {"min", jn_f_min, "<a<n>:n>", 1},
    {"average", jn_f_average, "<a<n>:n>", 1},
    {"string", jn_f_string, "<x-b?:s>", 1},
    {"substring", jn_f_substring, "<s-nn?:s>", 3},
    {"substringBefore", jn_f_substring_before, "<s-s:s>", 2},
    {"substringAfter", jn_f_substring_after, "<s-s:s>", 2},
    {"lowercase", jn_f_lowercase, "<s-:s>", 1},
    {"uppercase", jn_f_uppercase, "<s-:s>", 1},
    {"length", jn_f_length, "<s-:n>", 1},
    {"trim", jn_f_trim, "<s-:s>", 1},
    {"pad", jn_f_pad, "<s-ns?:s>", 3},
    {"match", jn_f_match, "<s-f<s:o>n?:a<o>>", 3},
    {"contains", jn_f_contains, "<s-(sf):b>", 2},
    {"replace", jn_f_replace, "<s-(sf)(sf)n?:s>", 4},
    {"split", jn_f_split, "<s-(sf)n?:a<s>>", 3},
    {"join", jn_f_join, "<a<s>s?:s>", 2},
    {"formatNumber", jn_f_format_number, "<n-so?:s>", 3},
    {"formatBase", jn_f_format_base, "<n-n?:s>", 2},
    {"formatInteger", jn_f_format_integer, "<n-s:s>", 2},
    {"parseInteger", jn_f_parse_integer, "<s-s:n>", 2},
    {"number", jn_f_number, "<(nsb)-:n>", 1},
    {"floor", jn_f_floor, "<n-:n>", 1},
    {"ceil", jn_f_ceil, "<n-:n>", 1},
    {"round", jn_f_round, "<n-n?:n>", 2},
    {"abs", jn_f_abs, "<n-:n>", 1},
    {"sqrt", jn_f_sqrt, "<n-:n>", 1},
    {"power", jn_f_power, "<n-n:n>", 2},
    {"boolean", jn_f_boolean, "<x-:b>", 1},
    {"not", jn_f_not, "<x-:b>", 1},
    {"map", jn_f_map, "<af>", 2},
    {"zip", jn_f_zip, "<a+>", 0},
    {"filter", jn_f_filter, "<af>", 2},
    {"single", jn_f_single, "<af?>", 2},
    {"reduce", jn_f_reduce, "<afj?:j>", 3},
    {"sift", jn_f_sift, "<o-f?:o>", 2},
    {"keys", jn_f_keys, "<x-:a<s>>", 1},
    {"lookup", jn_f_lookup, "<x-s:x>", 2},
    {"append", jn_f_append, "<xx:a>", 2},
    {"exists", jn_f_exists, "<x:b>", 1},
    {"spread", jn_f_spread, "<x-:a<o>>", 1},
    {"merge", jn_f_merge, "<a<o>:o>", 1},
    {"reverse", jn_f_reverse, "<a:a>", 1},
    {"each", jn_f_each, "<o-f:a>", 2},
    {"error", jn_f_error, "<s?:x>", 1},
    {"assert", jn_f_assert, "<bs?:x>", 2},
    {"type", jn_f_type, "<x:s>", 1},
    {"sort", jn_f_sort, "<af?:a>", 2},
    {"shuffle", jn_f_shuffle, "<a:a>", 1},
    {"distinct", jn_f_distinct, "<x:x>", 1},
    {"base64encode", jn_f_base64encode, "<s-:s>", 1},
    {"base64decode", jn_f_base64decode, "<s-:s>", 1},
    {"encodeUrlComponent", jn_f_encode_url_component, "<s-:s>", 1},
    {"encodeUrl", jn_f_encode_url, "<s-:s>", 1},
    {"decodeUrlComponent", jn_f_decode_url_component, "<s-:s>", 1},
    {"decodeUrl", jn_f_decode_url, "<s-:s>", 1},
    {"toMillis", jn_f_to_millis, "<s-s?:n>", 2},
    {"fromMillis", jn_f_from_millis, "<n-s?s?:s>", 3},
    {"clone", jn_f_clone, "<(oa)-:o>", 1},
    {"now", jn_f_now, "<s?s?:s>", 2},
    {"millis", jn_f_millis, "<:n>", 0},
    {NULL, NULL, NULL, 0},
};

static const jn_builtin upstream_only[] = {
    {"random", jn_f_random, "<:n>", 0},
    {NULL, NULL, NULL, 0},
};

static const jn_builtin sfn_only[] = {
    {"partition", jn_f_partition, "<an:a>", 2},
    {"range", jn_f_range, "<nnn?:a<n>>", 3},
    {"hash", jn_f_hash, "<s-s?:s>", 2},
    {"random", jn_f_sfn_random, "<n?:n>", 1},
    {"uuid", jn_f_uuid, "<:s>", 0},
    {"parse", jn_f_parse, "<s-:x>", 1},
    {NULL, NULL, NULL, 0},
};

static struct entry {
    const jn_builtin *bi;
    jn_fn fn;
} *tab_up, *tab_sfn;
static size_t n_up, n_sfn;
static jn_arena *sig_arena;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static int cmp_entry(const void *x, const void *y) {
    return strcmp(((const struct entry *)x)->bi->name, ((const struct entry *)y)->bi->name);
}

static struct entry *build(const jn_builtin *extra, size_t *n) {
    size_t k = 0, cap = 0;
    for (const jn_builtin *b = common; b->name; b++) cap++;
    for (const jn_builtin *b = extra; b->name; b++) cap++;
    struct entry *t = sy_calloc(cap, sizeof *t);
    const jn_builtin *lists[2] = {common, extra};
    for (int l = 0; l < 2; l++)
        for (const jn_builtin *b = lists[l]; b->name; b++) {
            struct entry *e = &t[k++];
            e->bi = b;
            e->fn.rc = -1;
            e->fn.kind = FN_NATIVE;
            e->fn.bi = b;
            int off;
            char code[8];
            e->fn.sig = jn_sig_parse(sig_arena, b->sig, &off, code);
        }
    qsort(t, k, sizeof *t, cmp_entry);
    *n = k;
    return t;
}

static void init(void) {
    sig_arena = jn_arena_new();
    tab_up = build(upstream_only, &n_up);
    tab_sfn = build(sfn_only, &n_sfn);
}

static struct entry *find(const char *name, bool sfn) {
    pthread_once(&once, init);
    struct entry *t = sfn ? tab_sfn : tab_up;
    size_t lo = 0, hi = sfn ? n_sfn : n_up;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(name, t[mid].bi->name);
        if (c == 0) return &t[mid];
        if (c < 0) hi = mid;
        else lo = mid + 1;
    }
    return NULL;
}

const jn_builtin *jn_builtin_find(const char *name, bool sfn) {
    struct entry *e = find(name, sfn);
    return e ? e->bi : NULL;
}

jv jn_builtin_value(const char *name, bool sfn) {
    struct entry *e = find(name, sfn);
    if (!e) return JV_UNDEF;
    jv v = {.t = JT_FN};
    v.f = &e->fn;
    return v;
}
