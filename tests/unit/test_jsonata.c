/* tests/unit/test_jsonata.c — asl/jsonata.h beyond the reference suite:
 * sy_jsonata_references, undefined vs function results, the Step Functions
 * functions, the U1001 guards, rendered messages, $now/$millis pinned by
 * opts, concurrent evaluation of one compiled expression. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "asl/jsonata.h"

static sy_jsonata_opts_t SFN = {.step_functions = true};

/* evaluate `expr` against `input` (JSON text or NULL); returns the compact
 * JSON text of the result, "undefined", "function" or "error:CODE" (caller frees) */
static char *run(const char *expr, const char *input, const sy_jsonata_opts_t *opts) {
    sy_jsonata_error_t err = {.position = -1};
    sy_jsonata_t *x = sy_jsonata_compile(expr, strlen(expr), &err);
    char *res;
    if (!x) {
        res = malloc(16);
        snprintf(res, 16, "error:%s", err.code);
        sy_jsonata_error_clear(&err);
        return res;
    }
    json_t *in = input ? json_loads(input, JSON_DECODE_ANY, NULL) : NULL;
    json_t *out = NULL;
    int kind = -1;
    int rc = sy_jsonata_eval_kind(x, in, NULL, opts, &out, &kind, &err);
    if (rc < 0) {
        res = malloc(16);
        snprintf(res, 16, "error:%s", err.code);
    } else if (kind == SY_JSONATA_FUNCTION) {
        res = strdup("function");
    } else if (kind == SY_JSONATA_UNDEFINED) {
        res = strdup("undefined");
    } else {
        res = json_dumps(out, JSON_ENCODE_ANY | JSON_COMPACT | JSON_REAL_PRECISION(15));
    }
    json_decref(out);
    json_decref(in);
    sy_jsonata_error_clear(&err);
    sy_jsonata_free(&x);
    return res;
}

static void expect(const char *expr, const char *input, const sy_jsonata_opts_t *opts, const char *want) {
    char *got = run(expr, input, opts);
    if (strcmp(got, want) != 0) fprintf(stderr, "%s => %s (want %s)\n", expr, got, want);
    assert_string_equal(got, want);
    free(got);
}

static json_t *refs(const char *expr) {
    sy_jsonata_error_t err = {.position = -1};
    sy_jsonata_t *x = sy_jsonata_compile(expr, strlen(expr), &err);
    assert_non_null(x);
    json_t *r = sy_jsonata_references(x);
    sy_jsonata_free(&x);
    return r;
}

static void expect_refs(const char *expr, const char *want) {
    json_t *r = refs(expr);
    json_t *w = json_loads(want, 0, NULL);
    char *got = json_dumps(r, JSON_COMPACT | JSON_SORT_KEYS);
    if (!json_equal(r, w)) fprintf(stderr, "%s => %s\n", expr, got);
    assert_true(json_equal(r, w));
    free(got);
    json_decref(r);
    json_decref(w);
}

static void test_references(void **state) {
    (void)state;
    expect_refs("$states.input.total + $price",
                "{\"variables\":[\"states\",\"price\"],\"states_fields\":[\"input\"],\"assigns_states\":false,"
                "\"top_level_input\":false}");
    expect_refs("total", "{\"variables\":[],\"states_fields\":[],\"assigns_states\":false,\"top_level_input\":true}");
    expect_refs("$.total", "{\"variables\":[],\"states_fields\":[],\"assigns_states\":false,\"top_level_input\":true}");
    expect_refs("$$", "{\"variables\":[],\"states_fields\":[],\"assigns_states\":false,\"top_level_input\":true}");
    expect_refs("$order[total > 10].($.a)",
                "{\"variables\":[\"order\"],\"states_fields\":[],\"assigns_states\":false,\"top_level_input\":false}");
    expect_refs("($x := 1; $f := function($a){ $a + $x + $y }; $f($states.result))",
                "{\"variables\":[\"y\",\"states\"],\"states_fields\":[\"result\"],\"assigns_states\":false,"
                "\"top_level_input\":false}");
    expect_refs("($states := {})", "{\"variables\":[],\"states_fields\":[],\"assigns_states\":true,\"top_level_input\":false}");
}

static void test_kinds(void **state) {
    (void)state;
    expect("function($x){$x}", NULL, NULL, "function");
    expect("$missing", NULL, NULL, "undefined");
    expect("$substring(1)", NULL, NULL, "undefined");
    expect("{'k': $missing}", NULL, NULL, "{}");
    expect("[1,2,3][1]", NULL, NULL, "2");
    expect("$.a", "{\"a\":[5]}", NULL, "[5]");
    expect("1.5 + 1", NULL, NULL, "2.5");
    expect("0.1 + 0.2 = 0.3", NULL, NULL, "false");
    expect("$string(0.1 + 0.2)", NULL, NULL, "\"0.3\"");
    expect("$length(\"\xF0\x9D\x84\x9E\xF0\x9F\x92\xA9\")", NULL, NULL, "2");
    expect("$round(2.5) & ',' & $round(1.005, 2)", NULL, NULL, "\"2,1\"");
}

static void test_step_functions(void **state) {
    (void)state;
    expect("$partition([0,1,2,3], 3)", NULL, &SFN, "[[0,1,2],[3]]");
    expect("$partition([0,1,2], 5)", NULL, &SFN, "[[0,1,2]]");
    expect("$range(0, 9, 3)", NULL, &SFN, "[0,3,6,9]");
    expect("$range(0, 10, 3)", NULL, &SFN, "[0,3,6,9]");
    expect("$range(1, 9, 9)", NULL, &SFN, "1");
    expect("$hash('abc', 'MD5')", NULL, &SFN, "\"900150983cd24fb0d6963f7d28e17f72\"");
    expect("$hash('abc', 'SHA-1')", NULL, &SFN, "\"a9993e364706816aba3e25717850c26c9cd0d89d\"");
    expect("$parse('-0')", NULL, &SFN, "0");
    expect("$parse('1.1')", NULL, &SFN, "1.1");
    expect("$parse('\"HelloWorld\"')", NULL, &SFN, "\"HelloWorld\"");
    expect("$parse('{\"a\":[1,2]}')", NULL, &SFN, "{\"a\":[1,2]}");
    expect("$parse('{')", NULL, &SFN, "error:D3137");
    expect("$random(7) = $random(7) and $random(7) >= 0 and $random(7) < 1", NULL, &SFN, "true");
    expect("$length($uuid())", NULL, &SFN, "36");
    expect("$eval('1')", NULL, &SFN, "error:T1006");
    expect("$partition([1], 1)", NULL, NULL, "error:T1006");
    /* a binding shadows the added function */
    expect("($range := function($a){$a}; $range(5))", NULL, &SFN, "5");
}

static void test_guards(void **state) {
    (void)state;
    sy_jsonata_opts_t o = {.max_depth = 500};
    expect("($f := function($n){$n = 0 ? 0 : 1 + $f($n - 1)}; $f(100000))", NULL, &o, "error:U1001");
    expect("($f := function($n){$n = 0 ? 0 : 1 + $f($n - 1)}; $f(100000))", NULL, NULL, "error:U1001");
    sy_jsonata_opts_t t = {.time_limit_ms = 200};
    expect("($f := function($n){$f($n + 1)}; $f(0))", NULL, &t, "error:U1001");
    /* tail calls do not grow the stack */
    expect("($even := function($n){$n = 0 ? true : $odd($n - 1)}; $odd := function($n){$n = 0 ? false : $even($n - 1)};"
           " $odd(20001))",
           NULL, NULL, "true");
    /* deep nesting in the source is refused, not a crash */
    char src[4100];
    memset(src, '(', 2000);
    src[2000] = '1';
    memset(src + 2001, ')', 2000);
    src[4001] = 0;
    expect(src, NULL, NULL, "error:U1001");
    /* an array that doubles on every call stops at the evaluation's memory
     * budget, not at gigabytes; a range of 1e7 (JSONata's own limit) fits */
    sy_jsonata_opts_t deep = {.max_depth = 400};
    expect("($f := function($s, $x) { $x > 0 ? $f([$s, $s], $x) : $s }; $f('a', 2))", NULL, &deep, "error:U1001");
    expect("[1..10000000] ~> $count()", NULL, NULL, "10000000");
    /* the budget ends with its evaluation: a string literal compiled next on this thread is whole */
    expect("($f := function($s, $x) { $x > 0 ? $f($s & $s, $x) : $s }; $f('ab', 2))", NULL, &deep, "error:U1001");
    expect("\"a\\u00e9b\" & 'cd'", NULL, NULL, "\"aébcd\"");
}

static void test_messages(void **state) {
    (void)state;
    const char *cases[][3] = {
        {"1 + 'a'", "T2002", "The right side of the \"+\" operator must evaluate to a number"},
        {"$substring(\"a\", \"b\")", "T0410", "Argument 2 of function \"substring\" does not match function signature"},
        {"$sum(\"a\")", "T0412", "Argument 1 of function \"sum\" must be an array of \"numbers\""},
        {"$notafunction()", "T1006", "Attempted to invoke a non-function"},
        {"$error('boom')", "D3137", "boom"},
        {"'abc", "S0101", "String literal must be terminated by a matching quote"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sy_jsonata_error_t err = {.position = -1};
        sy_jsonata_t *x = sy_jsonata_compile(cases[i][0], strlen(cases[i][0]), &err);
        json_t *out = NULL;
        if (x) assert_int_equal(sy_jsonata_eval(x, NULL, NULL, NULL, &out, &err), -1);
        assert_null(out);
        assert_string_equal(err.code, cases[i][1]);
        assert_string_equal(err.message, cases[i][2]);
        sy_jsonata_error_clear(&err);
        sy_jsonata_free(&x);
    }
}

static void test_now(void **state) {
    (void)state;
    sy_jsonata_opts_t o = {.now_ms = 1700000000123};
    expect("$millis()", NULL, &o, "1700000000123");
    expect("$millis() = $millis()", NULL, NULL, "true");
}

/* prepared bindings are shared by evaluations: none of them may change them */
static void test_prepared(void **state) {
    (void)state;
    json_t *b = json_loads("{\"states\":{\"input\":{\"a\":[1],\"o\":{\"k\":1},\"l\":[{\"g\":\"x\",\"v\":1},{\"g\":\"x\",\"v\":2}]}}}",
                           0, NULL);
    sy_jsonata_bindings_t *pb = sy_jsonata_bindings_new(b);
    const char *exprs[][2] = {
        {"$states.input.a[]", "[1]"},
        {"$states.input.a", "[1]"},
        {"$states.input.o ~> |$|{'k': 2}|", "{\"k\":2}"},
        {"$states.input.o.k", "1"},
        {"$states.input.l{g: $sum(v)}", "{\"x\":3}"},
        {"$states.input.l[0].v", "1"},
        {"$append($states.input.a, 2)", "[1,2]"},
        {"$states.input.a", "[1]"},
    };
    for (int round = 0; round < 2; round++)
        for (size_t i = 0; i < sizeof exprs / sizeof exprs[0]; i++) {
            sy_jsonata_error_t err = {.position = -1};
            sy_jsonata_t *x = sy_jsonata_compile(exprs[i][0], strlen(exprs[i][0]), &err);
            assert_non_null(x);
            json_t *out = NULL;
            int kind;
            assert_int_equal(sy_jsonata_eval_prepared(x, NULL, pb, NULL, &out, &kind, &err), 0);
            char *got = json_dumps(out, JSON_ENCODE_ANY | JSON_COMPACT);
            if (strcmp(got, exprs[i][1]) != 0) fprintf(stderr, "%s => %s\n", exprs[i][0], got);
            assert_string_equal(got, exprs[i][1]);
            free(got);
            json_decref(out);
            sy_jsonata_free(&x);
        }
    sy_jsonata_bindings_free(&pb);
    json_decref(b);
}

static sy_jsonata_t *shared;

static void *worker(void *arg) {
    (void)arg;
    json_t *in = json_pack("{s:[{s:i},{s:i},{s:i}]}", "items", "v", 3, "v", 1, "v", 2);
    for (int i = 0; i < 200; i++) {
        json_t *out = NULL;
        sy_jsonata_error_t err = {.position = -1};
        if (sy_jsonata_eval(shared, in, NULL, NULL, &out, &err) != 0) abort();
        json_t *want = json_pack("[i,i,i]", 1, 2, 3);
        if (!json_equal(out, want)) abort();
        json_decref(want);
        json_decref(out);
    }
    json_decref(in);
    return NULL;
}

static void test_threads(void **state) {
    (void)state;
    const char *e = "($s := function($a){ $sort($a, function($x, $y){ $x > $y }) }; $s(items.v))";
    sy_jsonata_error_t err = {.position = -1};
    shared = sy_jsonata_compile(e, strlen(e), &err);
    assert_non_null(shared);
    pthread_t t[4];
    for (int i = 0; i < 4; i++) pthread_create(&t[i], NULL, worker, NULL);
    for (int i = 0; i < 4; i++) pthread_join(t[i], NULL);
    sy_jsonata_free(&shared);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_references), cmocka_unit_test(test_kinds),    cmocka_unit_test(test_step_functions),
        cmocka_unit_test(test_guards),     cmocka_unit_test(test_messages), cmocka_unit_test(test_now),
        cmocka_unit_test(test_threads),    cmocka_unit_test(test_prepared),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
