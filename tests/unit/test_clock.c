/* tests/unit/test_clock.c - the broker's clock and the pool's limits
 * (issue 14): sy_now_ms follows the database once anchored and ignores the
 * wall clock (the test clock file moves sy_wall_us only); a full pool
 * answers NULL after the acquire timeout, not never; SQLSTATEs that mean
 * "refused for now" are 503 ServiceUnavailable. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char clock_path[] = "/tmp/sy-test-clock-XXXXXX";

static void write_offset(long long ms)
{
    FILE *f = fopen(clock_path, "w");
    assert_non_null(f);
    fprintf(f, "%lld\n", ms);
    fclose(f);
    usleep(60000); /* the file is re-read at most every 50 ms */
}

static int64_t absdiff(int64_t a, int64_t b)
{
    return a > b ? a - b : b - a;
}

static void test_wall_clock_jumps_move_only_the_wall(void **state)
{
    (void)state;
    int fd = mkstemp(clock_path);
    assert_true(fd >= 0);
    close(fd);
    sy_clock_test_file(clock_path);
    write_offset(0);
    int64_t wall0 = sy_wall_us();
    write_offset(3600 * 1000LL); /* an hour forward */
    assert_true(absdiff(sy_wall_us() - wall0, 3600 * 1000000LL) < 5 * 1000000LL);
    /* not anchored yet: the broker's clock is the wall clock */
    assert_true(absdiff(sy_now_us(), sy_wall_us()) < 1000000LL);
    /* anchored: the database said T at this monotonic instant; from now on
     * the broker's clock is T + elapsed monotonic time, whatever the wall says */
    int64_t t = 1700000000000000LL;
    sy_clock_anchor(t, sy_mono_us());
    assert_true(absdiff(sy_now_us(), t) < 1000000LL);
    write_offset(-3600 * 1000LL); /* an hour backward */
    assert_true(absdiff(sy_now_ms(), t / 1000) < 1000);
    usleep(200000);
    int64_t later = sy_now_us();
    assert_true(later - t >= 200000 && later - t < 2000000); /* monotonic time went on */
    write_offset(0);
    sy_clock_test_file(NULL);
    unlink(clock_path);
}

static char *conninfo(void)
{
    const char *host = getenv("SY_TEST_PGHOST"), *port = getenv("SY_TEST_PGPORT");
    if (!host) return NULL;
    return sy_asprintf("host=%s port=%s user=postgres dbname=postgres", host, port ? port : "5432");
}

static void test_full_pool_times_out(void **state)
{
    (void)state;
    char *ci = conninfo();
    if (!ci) skip();
    sy_pg_pool_t *p = sy_pg_pool_new(ci, 2);
    assert_non_null(p);
    PGconn *a = sy_pg_acquire(p), *b = sy_pg_acquire(p);
    assert_non_null(a);
    assert_non_null(b);
    sy_pg_pool_set_acquire_timeout(p, 200);
    int64_t t0 = sy_mono_us();
    assert_null(sy_pg_acquire(p)); /* full: NULL after the timeout */
    int64_t waited = sy_mono_us() - t0;
    assert_true(waited >= 190000 && waited < 5000000);
    assert_int_equal(sy_pg_pool_in_use(p), 2);
    sy_pg_release(p, b);
    PGconn *c = sy_pg_acquire(p); /* a free one is taken at once */
    assert_non_null(c);
    sy_pg_release(p, c);
    sy_pg_release(p, a);
    assert_int_equal(sy_pg_pool_in_use(p), 0);
    sy_pg_pool_destroy(&p);
    free(ci);
}

static void test_statement_timeout_is_503(void **state)
{
    (void)state;
    char *ci = conninfo();
    if (!ci) skip();
    PGconn *c = PQconnectdb(ci);
    assert_int_equal(PQstatus(c), CONNECTION_OK);
    PQclear(PQexec(c, "SET statement_timeout = '50ms'"));
    sy_err_t err;
    sy_err_clear(&err);
    PGresult *r = sy_pg_exec(c, &err, "SELECT pg_sleep(2)", 0, NULL);
    assert_null(r);
    assert_string_equal(err.sqlstate, "57014");
    assert_int_equal(err.status, 503);
    assert_string_equal(err.code, "ServiceUnavailable");
    sy_err_clear(&err);
    r = sy_pg_exec(c, &err, "SELECT 1/0", 0, NULL); /* a plain error stays 500 */
    assert_null(r);
    assert_int_equal(err.status, 500);
    assert_true(sy_pg_unavailable("53100") && sy_pg_unavailable("08006") && sy_pg_unavailable("57P01"));
    assert_false(sy_pg_unavailable("23505") || sy_pg_unavailable("40001") || sy_pg_unavailable(NULL));
    PQfinish(c);
    free(ci);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wall_clock_jumps_move_only_the_wall),
        cmocka_unit_test(test_full_pool_times_out),
        cmocka_unit_test(test_statement_timeout_is_503),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
