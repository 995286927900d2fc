/* tests/unit/test_gc.c - group commit against the fixture PostgreSQL: many
 * concurrent callers share transactions, each gets its own outcome, a job
 * whose statement fails does not fail its neighbours, nothing is half-written. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "core/core.h"
#include "unit_pg.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dbname[64];
static char *conninfo;

static int setup(void **state)
{
    (void)state;
    ut_create_db(dbname, sizeof dbname, "sy_unit_gc");
    PGconn *c = ut_admin(dbname);
    ut_run_sql(c, "CREATE TABLE t (k int PRIMARY KEY, v text NOT NULL)");
    PQfinish(c);
    conninfo = sy_asprintf("host=%s port=%s user=postgres dbname=%s", ut_pghost(), ut_pgport(), dbname);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    ut_drop_db(dbname);
    free(conninfo);
    return 0;
}

typedef struct {
    int k;
    const char *v; /* NULL violates NOT NULL: the statement fails */
    bool logical_error;
    bool write_then_fail; /* writes its row, then refuses (e.g. a fan-out's second send) */
} row_job_t;

static void insert_rows(PGconn *c, void **args, int n, int *rcs, sy_err_t *errs)
{
    for (int i = 0; i < n; i++) {
        row_job_t *j = args[i];
        if (j->logical_error) { /* refuses without writing */
            rcs[i] = sy_err_set(&errs[i], SY_E_INVALID, 400, "InvalidParameterValue", "job %d refused", j->k);
            continue;
        }
        char k[16];
        snprintf(k, sizeof k, "%d", j->k);
        const char *p[2] = {k, j->v};
        PGresult *r = PQexecParams(c, "INSERT INTO t VALUES ($1, $2)", 2, NULL, p, NULL, NULL, 0);
        rcs[i] = PQresultStatus(r) == PGRES_COMMAND_OK ? 0 : sy_pg_error(c, r, &errs[i]);
        PQclear(r);
        if (rcs[i] == 0 && j->write_then_fail)
            rcs[i] = sy_err_set(&errs[i], SY_E_DB, 503, "ServiceUnavailable", "job %d failed after a write", j->k);
    }
}

/* Ten one-row jobs k = base..base+9 in one submit_many: job null_at's row
 * violates NOT NULL, job fail_at writes its row and then fails (-1: none). */
static void submit_ten(sy_gc_t *gc, int base, int null_at, int fail_at, int rcs[10], sy_err_t errs[10])
{
    row_job_t jobs[10];
    void *args[10];
    for (int i = 0; i < 10; i++) {
        jobs[i] = (row_job_t){.k = base + i, .v = i == null_at ? NULL : "y", .write_then_fail = i == fail_at};
        args[i] = &jobs[i];
    }
    sy_gc_submit_many(gc, insert_rows, NULL, args, 10, rcs, errs);
}

static int count_rows(int lo, int hi)
{
    PGconn *c = ut_admin(dbname);
    char sql[96];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM t WHERE k >= %d AND k < %d", lo, hi);
    PGresult *r = PQexec(c, sql);
    int n = atoi(PQgetvalue(r, 0, 0));
    PQclear(r);
    PQfinish(c);
    return n;
}

/* A job answered "failed" leaves nothing behind, even what its run wrote
 * before failing (its caller retries: a commit would write it twice); its
 * neighbours in the batch still commit. */
static void test_failed_job_leaves_no_write(void **state)
{
    (void)state;
    sy_gc_t *gc = sy_gc_new(conninfo, 1, 64, 0);
    int rcs[10];
    sy_err_t errs[10];
    submit_ten(gc, 800000, -1, 6, rcs, errs);
    for (int i = 0; i < 10; i++) assert_int_equal(rcs[i] < 0, i == 6);
    assert_string_equal(errs[6].code, "ServiceUnavailable");
    assert_int_equal(count_rows(800000, 800010), 9);
    assert_int_equal(count_rows(800006, 800007), 0);
    /* alone */
    row_job_t j = {.k = 800100, .v = "z", .write_then_fail = true};
    sy_err_t err;
    assert_true(sy_gc_submit(gc, insert_rows, NULL, &j, &err) < 0);
    assert_int_equal(err.status, 503);
    assert_int_equal(count_rows(800100, 800101), 0);
    sy_gc_destroy(&gc);
}

typedef struct {
    sy_gc_t *gc;
    int base, n;
    int failures;
} worker_t;

static void *submitter(void *u)
{
    worker_t *w = u;
    for (int i = 0; i < w->n; i++) {
        row_job_t j = {.k = w->base + i, .v = (i % 7 == 3) ? NULL : "x", .logical_error = (i % 11 == 5)};
        sy_err_t err;
        int rc = sy_gc_submit(w->gc, insert_rows, NULL, &j, &err);
        bool should_fail = j.v == NULL || j.logical_error;
        if ((rc < 0) != should_fail) w->failures++;
        if (rc < 0 && j.logical_error && strcmp(err.code, "InvalidParameterValue") != 0) w->failures++;
    }
    return NULL;
}

static void test_concurrent_callers_get_their_own_outcome(void **state)
{
    (void)state;
    sy_gc_t *gc = sy_gc_new(conninfo, 2, 64, 0);
    enum { T = 8, N = 200 };
    pthread_t th[T];
    worker_t w[T];
    for (int i = 0; i < T; i++) {
        w[i] = (worker_t){.gc = gc, .base = i * 10000, .n = N};
        pthread_create(&th[i], NULL, submitter, &w[i]);
    }
    for (int i = 0; i < T; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(w[i].failures, 0);
    }
    sy_gc_destroy(&gc);
    assert_null(gc);
    /* exactly the rows of successful jobs were written */
    int expected = 0;
    for (int i = 0; i < N; i++) expected += !(i % 7 == 3 || i % 11 == 5);
    PGconn *c = ut_admin(dbname);
    PGresult *r = PQexec(c, "SELECT count(*) FROM t");
    assert_int_equal(atoi(PQgetvalue(r, 0, 0)), expected * T);
    PQclear(r);
    PQfinish(c);
}

static void test_submit_many_batches_together(void **state)
{
    (void)state;
    sy_gc_t *gc = sy_gc_new(conninfo, 1, 64, 0);
    int rcs[10];
    sy_err_t errs[10];
    submit_ten(gc, 900000, 4, -1, rcs, errs);
    for (int i = 0; i < 10; i++) assert_int_equal(rcs[i] < 0, i == 4);
    assert_string_equal(errs[4].sqlstate, "23502"); /* not_null_violation, reported to its caller */
    sy_gc_destroy(&gc);
}

/* A batch that runs long (here pg_sleep(1)) must not hold back the callers
 * behind it: the second writer, idle while the first keeps up, joins once a
 * job has waited ~4 ms (it connects then). */
static void sleep_job(PGconn *c, void **args, int n, int *rcs, sy_err_t *errs)
{
    (void)args;
    (void)errs;
    PQclear(PQexec(c, "SELECT pg_sleep(1)"));
    for (int i = 0; i < n; i++) rcs[i] = 0;
}

typedef struct {
    sy_gc_t *gc;
    int64_t done_us;
} slow_t;

static void *slow_submitter(void *u)
{
    slow_t *s = u;
    sy_err_t err;
    assert_int_equal(sy_gc_submit(s->gc, sleep_job, NULL, NULL, &err), 0);
    s->done_us = sy_mono_us();
    return NULL;
}

static void test_second_writer_joins_behind_a_slow_batch(void **state)
{
    (void)state;
    sy_gc_t *gc = sy_gc_new(conninfo, 2, 64, 0);
    int rcs[10];
    sy_err_t errs[10];
    submit_ten(gc, 870000, -1, -1, rcs, errs); /* the first writer is connected */
    slow_t s = {.gc = gc};
    pthread_t th;
    pthread_create(&th, NULL, slow_submitter, &s);
    usleep(100000); /* the slow batch is running */
    int64_t t0 = sy_mono_us();
    row_job_t j = {.k = 870500, .v = "behind"};
    sy_err_t err;
    assert_int_equal(sy_gc_submit(gc, insert_rows, NULL, &j, &err), 0);
    int64_t waited = sy_mono_us() - t0;
    pthread_join(th, NULL);
    assert_true(waited < 500000);       /* not the ~900 ms left of the slow batch */
    assert_true(s.done_us > t0 + waited); /* and the slow one was still running */
    sy_gc_destroy(&gc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_concurrent_callers_get_their_own_outcome),
        cmocka_unit_test(test_submit_many_batches_together),
        cmocka_unit_test(test_failed_job_leaves_no_write),
        cmocka_unit_test(test_second_writer_joins_behind_a_slow_batch),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
