/* tests/unit/test_bus_pattern.c - the tricky corners of the event-pattern
 * compiler and matcher (bus/). */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "pattern/pattern.h"
#include "pattern/internal.h"

static void count_cb(const char *id, void *u)
{
    (void)id;
    (*(int *)u)++;
}

/* 1 when pattern matches event, 0 when not, -1 when the pattern is invalid */
static int kmatch(sy_pattern_kind_t kind, const char *pattern, const char *event)
{
    sy_matcher_t *m = sy_matcher_new(kind);
    sy_err_t err;
    if (sy_matcher_add(m, "r", pattern, strlen(pattern), &err) < 0) {
        sy_matcher_destroy(&m);
        return -1;
    }
    int n = 0;
    int rc = sy_matcher_match(m, event, strlen(event), count_cb, &n);
    sy_matcher_destroy(&m);
    assert_true(rc >= 0);
    assert_int_equal(rc, n);
    return n;
}

static int match(const char *pattern, const char *event)
{
    return kmatch(SY_PATTERN_EVENTBRIDGE, pattern, event);
}

static void reason(const char *pattern, const char *want)
{
    sy_err_t err;
    memset(&err, 0, sizeof(err));
    assert_int_equal(sy_pattern_validate(SY_PATTERN_EVENTBRIDGE, pattern, strlen(pattern), &err),
                     SY_E_INVALID);
    assert_int_equal(err.status, 400);
    assert_string_equal(err.code, "InvalidEventPatternException");
    char full[1200];
    snprintf(full, sizeof(full), "Event pattern is not valid. Reason: %s", want);
    assert_string_equal(err.message, full);
}

static void test_numbers(void **state)
{
    (void)state;
    assert_int_equal(match("{\"x\":[300]}", "{\"x\":3.0e2}"), 1);
    assert_int_equal(match("{\"x\":[300]}", "{\"x\":300.0}"), 1);
    assert_int_equal(match("{\"x\":[3.0e2]}", "{\"x\":300}"), 1);
    assert_int_equal(match("{\"x\":[300]}", "{\"x\":\"300\"}"), 0);
    assert_int_equal(match("{\"x\":[\"300\"]}", "{\"x\":300}"), 0);
    assert_int_equal(match("{\"x\":[0]}", "{\"x\":-0}"), 1);
    /* not exactly representable: lexeme only */
    assert_int_equal(match("{\"x\":[123456789012345678]}", "{\"x\":123456789012345678}"), 1);
    assert_int_equal(match("{\"x\":[123456789012345678]}", "{\"x\":1.23456789012345678e17}"), 0);
    assert_int_equal(match("{\"x\":[{\"numeric\":[\"=\",0.1]}]}", "{\"x\":0.10000000000000001}"), 0);
    assert_int_equal(match("{\"x\":[{\"numeric\":[\"=\",0.1]}]}", "{\"x\":1e-1}"), 1);
    /* ranges over the full double range, open and closed bounds */
    assert_int_equal(match("{\"x\":[{\"numeric\":[\">\",0,\"<=\",5]}]}", "{\"x\":5}"), 1);
    assert_int_equal(match("{\"x\":[{\"numeric\":[\">\",0,\"<=\",5]}]}", "{\"x\":0}"), 0);
    assert_int_equal(match("{\"x\":[{\"numeric\":[\">\",0,\"<\",5]}]}", "{\"x\":4.999999999999999}"), 1);
    assert_int_equal(match("{\"x\":[{\"numeric\":[\">=\",-1.7e308]}]}", "{\"x\":-1e308}"), 1);
    assert_int_equal(match("{\"x\":[{\"numeric\":[\"<\",-1e300]}]}", "{\"x\":-1.5e300}"), 1);
    assert_int_equal(match("{\"x\":[{\"numeric\":[\"<\",-1e300]}]}", "{\"x\":-1e299}"), 0);
    assert_int_equal(match("{\"x\":[{\"numeric\":[\">\",0]}]}", "{\"x\":\"5\"}"), 0);
    uint64_t a, b;
    assert_true(pat_num_key("-2", 2, &a));
    assert_true(pat_num_key("1e-3", 4, &b));
    assert_true(a < b);
    assert_false(pat_num_key("0.10000000000000001", 19, &a));
    reason("{\"x\":[{\"numeric\":[\">\",1,\">\",2]}]}", "Bad numeric range operator: >");
    reason("{\"x\":[{\"numeric\":[\">\",5,\"<\",1]}]}", "Bottom must be less than top");
    reason("{\"x\":[{\"numeric\":[\"=\",\"5\"]}]}", "Value of equals must be numeric");
}

static void test_strings(void **state)
{
    (void)state;
    assert_int_equal(match("{\"x\":[{\"prefix\":\"\"}]}", "{\"x\":\"anything\"}"), 1);
    assert_int_equal(match("{\"x\":[{\"prefix\":\"\"}]}", "{\"x\":5}"), 0);
    assert_int_equal(match("{\"x\":[{\"suffix\":\".png\"}]}", "{\"x\":\"a.png\"}"), 1);
    assert_int_equal(match("{\"x\":[{\"suffix\":{\"equals-ignore-case\":\".PNG\"}}]}", "{\"x\":\"a.png\"}"), 1);
    assert_int_equal(match("{\"x\":[{\"prefix\":{\"equals-ignore-case\":\"EventB\"}}]}", "{\"x\":\"eVeNtBridge\"}"), 1);
    assert_int_equal(match("{\"x\":[{\"equals-ignore-case\":\"\\u00e9cole\"}]}", "{\"x\":\"\\u00c9COLE\"}"), 1);
    assert_int_equal(match("{\"x\":[{\"equals-ignore-case\":\"stra\\u00dfe\"}]}", "{\"x\":\"STRASSE\"}"), 1);
    assert_int_equal(match("{\"x\":[\"\\u00e9\"]}", "{\"x\":\"e\\u0301\"}"), 0); /* no normalisation */
    assert_int_equal(match("{\"x\":[\"a\\\"b\"]}", "{\"x\":\"a\\\"b\"}"), 1);
    assert_int_equal(match("{\"x\":[\"\"]}", "{\"x\":\"\"}"), 1);
    assert_int_equal(match("{\"x\":[\"\"]}", "{\"x\":null}"), 0);
    assert_int_equal(match("{\"x\":[null]}", "{\"x\":null}"), 1);
    assert_int_equal(match("{\"x\":[null]}", "{\"y\":1}"), 0);
    assert_int_equal(match("{\"x\":[true]}", "{\"x\":\"true\"}"), 0);
}

static void test_wildcard(void **state)
{
    (void)state;
    assert_int_equal(match("{\"x\":[{\"wildcard\":\"a*b*c\"}]}", "{\"x\":\"abc\"}"), 1);
    assert_int_equal(match("{\"x\":[{\"wildcard\":\"a*b*c\"}]}", "{\"x\":\"aXXbYYc\"}"), 1);
    assert_int_equal(match("{\"x\":[{\"wildcard\":\"a*b*c\"}]}", "{\"x\":\"aXXbYYcd\"}"), 0);
    assert_int_equal(match("{\"x\":[{\"wildcard\":\"*\"}]}", "{\"x\":\"\"}"), 1);
    assert_int_equal(match("{\"x\":[{\"wildcard\":\"a\\\\*b\"}]}", "{\"x\":\"a*b\"}"), 1);
    assert_int_equal(match("{\"x\":[{\"wildcard\":\"a\\\\*b\"}]}", "{\"x\":\"aXb\"}"), 0);
    assert_int_equal(match("{\"x\":[{\"wildcard\":\"a\\\\\\\\b\"}]}", "{\"x\":\"a\\\\b\"}"), 1);
    assert_int_equal(match("{\"x\":[{\"wildcard\":\"abc\"}]}", "{\"x\":\"abc\"}"), 1);
    reason("{\"x\":[{\"wildcard\":\"a**b\"}]}", "Consecutive wildcard characters at pos 2");
    reason("{\"x\":[{\"wildcard\":\"a\\\\cb\"}]}", "Invalid escape character at pos 2");
}

static void test_anything_but(void **state)
{
    (void)state;
    const char *p = "{\"x\":[{\"anything-but\":[\"rugby\",\"tennis\"]}]}";
    assert_int_equal(match(p, "{\"x\":\"golf\"}"), 1);
    assert_int_equal(match(p, "{\"x\":\"rugby\"}"), 0);
    assert_int_equal(match(p, "{\"x\":[\"rugby\",\"baseball\"]}"), 1);
    assert_int_equal(match(p, "{\"x\":null}"), 1);
    assert_int_equal(match(p, "{\"x\":5}"), 1);
    assert_int_equal(match(p, "{\"y\":\"golf\"}"), 0); /* never a missing field */
    assert_int_equal(match("{\"x\":[{\"anything-but\":[100]}]}", "{\"x\":\"100\"}"), 1);
    assert_int_equal(match("{\"x\":[{\"anything-but\":[100]}]}", "{\"x\":1e2}"), 0);
    assert_int_equal(match("{\"x\":[{\"anything-but\":{\"prefix\":\"init\"}}]}", "{\"x\":\"initial\"}"), 0);
    assert_int_equal(match("{\"x\":[{\"anything-but\":{\"suffix\":\".txt\"}}]}", "{\"x\":\"a.png\"}"), 1);
    assert_int_equal(match("{\"x\":[{\"anything-but\":{\"equals-ignore-case\":[\"A\",\"b\"]}}]}", "{\"x\":\"B\"}"), 0);
    assert_int_equal(match("{\"x\":[{\"anything-but\":{\"wildcard\":\"*/lib/*\"}}]}", "{\"x\":\"/usr/lib/x\"}"), 0);
    assert_int_equal(match("{\"x\":[{\"anything-but\":{\"wildcard\":\"*/lib/*\"}}]}", "{\"x\":\"/usr/bin/x\"}"), 1);
    reason("{\"x\":[{\"anything-but\":{\"prefix\":\"\"}}]}", "Null prefix/suffix not allowed");
    reason("{\"x\":[{\"anything-but\":[\"stopped\", null]}]}",
           "Inside anything but list, start|null|boolean is not supported.");
}

static void test_exists_and_arrays(void **state)
{
    (void)state;
    assert_int_equal(match("{\"x\":[{\"exists\":true}]}", "{\"x\":null}"), 1);
    assert_int_equal(match("{\"x\":[{\"exists\":true}]}", "{\"x\":[]}"), 0);
    assert_int_equal(match("{\"x\":[{\"exists\":true}]}", "{\"x\":{\"y\":1}}"), 0);
    assert_int_equal(match("{\"x\":[{\"exists\":false}]}", "{\"x\":{\"y\":1}}"), 1);
    assert_int_equal(match("{\"x\":[{\"exists\":false}]}", "{\"x\":[]}"), 1);
    assert_int_equal(match("{\"x\":[{\"exists\":false}]}", "{\"x\":null}"), 0);
    assert_int_equal(match("{\"x\":[\"a\"]}", "{\"x\":[[\"b\"],[[\"a\"]]]}"), 1);
    /* array consistency: fields of different elements of one array */
    const char *p = "{\"e\":{\"f\":[\"Anna\"],\"l\":[\"Doe\"]}}";
    assert_int_equal(match(p, "{\"e\":[{\"f\":\"John\",\"l\":\"Doe\"},{\"f\":\"Anna\",\"l\":\"Smith\"}]}"), 0);
    assert_int_equal(match(p, "{\"e\":[{\"f\":\"John\",\"l\":\"Doe\"},{\"f\":\"Anna\",\"l\":\"Doe\"}]}"), 1);
    assert_int_equal(match("{\"d\":{\"a\":[{\"exists\":true}],\"b\":[{\"exists\":false}]}}", "{\"d\":[{\"a\":1}]}"), 1);
    reason("{\"x\":[]}", "Empty arrays are not allowed");
    reason("{\"x\":\"a\"}", "\"x\" must be an object or an array");
    reason("{}", "Empty objects are not allowed");
}

static void test_keys_and_or(void **state)
{
    (void)state;
    assert_int_equal(match("{\"a\":{\"b\":[\"x\"]}}", "{\"a.b\":\"x\"}"), 1);
    assert_int_equal(match("{\"a.b\":[\"x\"]}", "{\"a\":{\"b\":\"x\"}}"), 1);
    assert_int_equal(match("{\"x\":[\"y\"],\"x\":[\"z\"]}", "{\"x\":\"z\"}"), 1);
    assert_int_equal(match("{\"x\":[\"y\"],\"x\":[\"z\"]}", "{\"x\":\"y\"}"), 0);
    const char *o = "{\"s\":[\"a\"],\"$or\":[{\"p\":[1]},{\"q\":[{\"prefix\":\"z\"}]}]}";
    assert_int_equal(match(o, "{\"s\":\"a\",\"q\":\"zz\"}"), 1);
    assert_int_equal(match(o, "{\"s\":\"a\",\"p\":1}"), 1);
    assert_int_equal(match(o, "{\"s\":\"b\",\"p\":1}"), 0);
    /* a rule matched by two alternatives is reported once */
    assert_int_equal(match(o, "{\"s\":\"a\",\"p\":1,\"q\":\"z\"}"), 1);
    assert_int_equal(match("{\"$or\":{\"a\":[\"1\"]}}", "{\"$or\":{\"a\":\"1\"}}"), 1);
    reason("{\"$or\":[{\"a\":[\"1\"]}]}", "Unrecognized match type a");
    reason("{\"x\":[{\"Prefix\":\"a\"}]}", "Unrecognized match type Prefix");
    /* more than 1000 combinations */
    char big[4096]; /* 11 * 11 * 10 = 1210 combinations */
    snprintf(big, sizeof(big),
             "{\"a\":{\"$or\":[{\"a1\":[1]},{\"a2\":[1]},{\"a3\":[1]},{\"a4\":[1]},{\"a5\":[1]},{\"a6\":[1]},{\"a7\":[1]},{\"a8\":[1]},{\"a9\":[1]},{\"a10\":[1]},{\"a11\":[1]}]},"
             "\"b\":{\"$or\":[{\"a1\":[1]},{\"a2\":[1]},{\"a3\":[1]},{\"a4\":[1]},{\"a5\":[1]},{\"a6\":[1]},{\"a7\":[1]},{\"a8\":[1]},{\"a9\":[1]},{\"a10\":[1]},{\"a11\":[1]}]},"
             "\"c\":{\"$or\":[{\"a1\":[1]},{\"a2\":[1]},{\"a3\":[1]},{\"a4\":[1]},{\"a5\":[1]},{\"a6\":[1]},{\"a7\":[1]},{\"a8\":[1]},{\"a9\":[1]},{\"a10\":[1]}]}}");
    sy_err_t err;
    assert_int_equal(sy_pattern_validate(SY_PATTERN_EVENTBRIDGE, big, strlen(big), &err), SY_E_INVALID);
    big[strlen(big) - 26] = 0; /* drop a9, a10 of c: 11*11*8 = 968 */
    strcat(big, "]}}");
    assert_int_equal(sy_pattern_validate(SY_PATTERN_EVENTBRIDGE, big, strlen(big), &err), 0);
}

static void test_cidr(void **state)
{
    (void)state;
    assert_int_equal(match("{\"ip\":[{\"cidr\":\"10.0.0.0/24\"}]}", "{\"ip\":\"10.0.0.255\"}"), 1);
    assert_int_equal(match("{\"ip\":[{\"cidr\":\"10.0.0.0/24\"}]}", "{\"ip\":\"10.0.1.0\"}"), 0);
    assert_int_equal(match("{\"ip\":[{\"cidr\":\"10.0.0.0/24\"}]}", "{\"ip\":167772161}"), 0);
    assert_int_equal(match("{\"ip\":[{\"cidr\":\"2001:db8::/32\"}]}", "{\"ip\":\"2001:0db8:ffff::1\"}"), 1);
    assert_int_equal(match("{\"ip\":[{\"cidr\":\"2001:db8::/32\"}]}", "{\"ip\":\"2001:db9::1\"}"), 0);
    reason("{\"ip\":[{\"cidr\":\"10.0.0.1/32\"}]}", "IPv4 mask bits must be < 32");
    reason("{\"ip\":[{\"cidr\":\"300.0.0.0/8\"}]}", "Invalid IP address: 300.0.0.0");
    reason("{\"ip\":[{\"cidr\":\"bad-filter\"}]}", "Malformed CIDR, one '/' required");
}

static void test_sns(void **state)
{
    (void)state;
    const char *attrs = "{\"store\":{\"Type\":\"String\",\"Value\":\"example_corp\"},"
                        "\"price_usd\":{\"Type\":\"Number\",\"Value\":\"210.75\"},"
                        "\"colors\":{\"Type\":\"String.Array\",\"Value\":\"[\\\"red\\\",\\\"blue\\\"]\"},"
                        "\"blob\":{\"Type\":\"Binary\",\"Value\":\"AAEC\"}}";
    sy_pattern_kind_t A = SY_PATTERN_SNS_ATTRIBUTES;
    assert_int_equal(kmatch(A, "{\"store\":[\"example_corp\"]}", attrs), 1);
    assert_int_equal(kmatch(A, "{\"price_usd\":[{\"numeric\":[\">=\",100]}]}", attrs), 1);
    assert_int_equal(kmatch(A, "{\"price_usd\":[\"210.75\"]}", attrs), 0); /* Number attr, string policy */
    assert_int_equal(kmatch(A, "{\"colors\":[\"blue\"]}", attrs), 1);
    assert_int_equal(kmatch(A, "{\"blob\":[{\"exists\":true}]}", attrs), 0);
    assert_int_equal(kmatch(A, "{\"missing\":[{\"exists\":false}]}", attrs), 1);
    assert_int_equal(kmatch(A, "{\"store\":{\"nested\":[\"x\"]}}", attrs), -1); /* flat only */
    assert_int_equal(kmatch(A, "{\"a\":[1],\"b\":[1],\"c\":[1],\"d\":[1],\"e\":[1],\"f\":[1]}", attrs), -1);
    assert_int_equal(kmatch(A, "{\"a\":[1,2,3,4,5,6],\"b\":[1,2,3,4,5],\"c\":[1,2,3,4,5,6]}", attrs), -1);
    assert_int_equal(kmatch(A, "{\"price_usd\":[{\"numeric\":[\">\",1e10]}]}", attrs), -1);
    sy_pattern_kind_t B = SY_PATTERN_SNS_BODY;
    assert_int_equal(kmatch(B, "{\"order\":{\"kind\":[\"pizza\"]}}", "{\"order\":{\"kind\":\"pizza\"}}"), 1);
    sy_err_t err;
    assert_int_equal(sy_pattern_validate(B, "{\"x\":[{\"wildcard\":\"a*\"}]}", 23, &err), SY_E_INVALID);
    assert_string_equal(err.code, "InvalidParameter");
}

static void test_add_delete(void **state)
{
    (void)state;
    sy_matcher_t *m = sy_matcher_new(SY_PATTERN_EVENTBRIDGE);
    const char *ev = "{\"a\":\"1\",\"b\":\"2\"}";
    int n = 0;
    assert_int_equal(sy_matcher_add(m, "r1", "{\"a\":[\"1\"]}", 11, NULL), 0);
    assert_int_equal(sy_matcher_add(m, "r2", "{\"b\":[\"2\"]}", 11, NULL), 0);
    assert_int_equal(sy_matcher_match(m, ev, strlen(ev), count_cb, &n), 2);
    assert_int_equal(sy_matcher_add(m, "r1", "{\"a\":[\"9\"]}", 11, NULL), 0); /* replace */
    assert_int_equal(sy_matcher_count(m), 2);
    assert_int_equal(sy_matcher_match(m, ev, strlen(ev), NULL, NULL), 1);
    assert_int_equal(sy_matcher_delete(m, "r2"), 0);
    assert_int_equal(sy_matcher_delete(m, "r2"), SY_E_NOTFOUND);
    assert_int_equal(sy_matcher_match(m, ev, strlen(ev), NULL, NULL), 0);
    assert_int_equal(sy_matcher_match(m, "[1]", 3, NULL, NULL), SY_E_INVALID);
    assert_int_equal(sy_matcher_match(m, "{\"a\":", 5, NULL, NULL), SY_E_INVALID);
    sy_matcher_destroy(&m);
    assert_null(m);
    sy_matcher_destroy(&m);
}

/* Skipped sub-trees: brackets inside strings, escaped quotes and
 * backslashes, at every alignment against the 16/32-byte scan blocks. */
static void test_skip_subtrees(void **state)
{
    (void)state;
    sy_matcher_t *m = sy_matcher_new(SY_PATTERN_EVENTBRIDGE);
    const char *pat = "{\"x\":[\"hit\"]}";
    assert_int_equal(sy_matcher_add(m, "r", pat, strlen(pat), NULL), 0);
    char ev[2048], pad[128];
    for (int n = 0; n < 100; n++) {
        memset(pad, 'p', (size_t)n);
        pad[n] = 0;
        snprintf(ev, sizeof(ev),
                 "{\"skip\":{\"a\":\"%s]}\\\"[{\",\"b\":[1,{\"c\":\"\\\\\"},[[\"]\"]]],"
                 "\"d\":\"%s\\\\\\\"}\",\"e\":\"%s[{[{[{\",\"f\":[\"]}]}]}%s\"]},"
                 "\"x\":\"hit\"}",
                 pad, pad, pad, pad);
        assert_int_equal(sy_matcher_match(m, ev, strlen(ev), NULL, NULL), 1);
        /* the same sub-tree with its last brace missing is not JSON */
        snprintf(ev, sizeof(ev), "{\"x\":\"hit\",\"skip\":{\"a\":\"%s}\"", pad);
        assert_int_equal(sy_matcher_match(m, ev, strlen(ev), NULL, NULL), SY_E_INVALID);
    }
    sy_matcher_destroy(&m);
}

typedef struct {
    sy_matcher_t *m;
    int stop;
    int bad;
} race_t;

static void *matcher_thread(void *arg)
{
    race_t *r = arg;
    const char *ev = "{\"k\":\"v\",\"n\":5}";
    while (!__atomic_load_n(&r->stop, __ATOMIC_ACQUIRE)) {
        int n = sy_matcher_match(r->m, ev, strlen(ev), NULL, NULL);
        if (n < 1) __atomic_add_fetch(&r->bad, 1, __ATOMIC_RELAXED); /* "stable" is always there */
    }
    return NULL;
}

static void test_concurrent(void **state)
{
    (void)state;
    race_t r = {sy_matcher_new(SY_PATTERN_EVENTBRIDGE), 0, 0};
    assert_int_equal(sy_matcher_add(r.m, "stable", "{\"k\":[\"v\"]}", 11, NULL), 0);
    pthread_t t[2];
    for (int i = 0; i < 2; i++) pthread_create(&t[i], NULL, matcher_thread, &r);
    char id[32], pat[64];
    for (int i = 0; i < 300; i++) {
        snprintf(id, sizeof(id), "r%d", i % 17);
        snprintf(pat, sizeof(pat), "{\"n\":[{\"numeric\":[\">\",%d]}]}", i % 9);
        assert_int_equal(sy_matcher_add(r.m, id, pat, strlen(pat), NULL), 0);
        if (i % 3 == 0) sy_matcher_delete(r.m, id);
    }
    __atomic_store_n(&r.stop, 1, __ATOMIC_RELEASE);
    for (int i = 0; i < 2; i++) pthread_join(t[i], NULL);
    assert_int_equal(r.bad, 0);
    sy_matcher_destroy(&r.m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_numbers),       cmocka_unit_test(test_strings),
        cmocka_unit_test(test_wildcard),      cmocka_unit_test(test_anything_but),
        cmocka_unit_test(test_exists_and_arrays), cmocka_unit_test(test_keys_and_or),
        cmocka_unit_test(test_cidr),          cmocka_unit_test(test_sns),
        cmocka_unit_test(test_add_delete),    cmocka_unit_test(test_concurrent),
        cmocka_unit_test(test_skip_subtrees),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
