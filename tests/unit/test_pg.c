/* tests/unit/test_pg.c - the connection pool (core/pg.c) against the fixture
 * PostgreSQL, for what a restart or a failover does to it (issue 14):
 * a multi-host URL whose first host is down; an idle pooled connection whose
 * backend died is replaced before use, not handed out to fail; a prepared
 * statement missing on a backend that has a known pid (pids are reused) is
 * prepared again, alone or inside a transaction; while the database refuses
 * connections, concurrent requests make one connection attempt, not one each. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "core/core.h"
#include "unit_pg.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dbname[64];
static char *conninfo;

/* A TCP port on 127.0.0.1 nothing listens on: 1 (tcpmux), refused at once. */
static int dead_port(void)
{
    return 1;
}

static int setup(void **state)
{
    (void)state;
    ut_create_db(dbname, sizeof dbname, "sy_unit_pg");
    /* two hosts, the first one down: libpq goes on to the next, and keeps only
     * a writable one, as the brokers' URL in a pg_auto_failover formation */
    conninfo = sy_asprintf("host=127.0.0.1,%s port=%d,%s user=postgres dbname=%s connect_timeout=2 "
                           "target_session_attrs=read-write",
                           ut_pghost(), dead_port(), ut_pgport(), dbname);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    ut_drop_db(dbname);
    free(conninfo);
    return 0;
}

static int one_int(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    int v = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 ? atoi(PQgetvalue(r, 0, 0)) : -1;
    PQclear(r);
    return v;
}

static void test_multi_host_url(void **state)
{
    (void)state;
    sy_pg_pool_t *p = sy_pg_pool_new(conninfo, 2);
    assert_non_null(p);
    PGconn *c = sy_pg_acquire(p);
    assert_non_null(c);
    assert_string_equal(PQport(c), ut_pgport()); /* the second host answered */
    assert_int_equal(one_int(c, "SELECT 41 + 1"), 42);
    sy_pg_release(p, c);
    sy_pg_pool_destroy(&p);
}

static int backends(void)
{
    PGconn *a = ut_admin(dbname);
    char *sql = sy_asprintf("SELECT count(*) FROM pg_stat_activity WHERE datname = '%s' "
                            "AND application_name = 'switchyard'",
                            dbname);
    int n = one_int(a, sql);
    free(sql);
    PQfinish(a);
    return n;
}

/* sy_pg_pool_start: the warmed connections end up in the pool (acquiring
 * three at once opens none more), never beyond its size; destroy joins the
 * warm thread. */
static void test_pool_start_warms(void **state)
{
    (void)state;
    sy_pg_pool_t *p = sy_pg_pool_start(conninfo, 3, 2);
    assert_non_null(p);
    for (int i = 0; i < 500 && backends() < 3; i++) usleep(20000);
    assert_int_equal(backends(), 3);
    PGconn *c[3];
    for (int i = 0; i < 3; i++) c[i] = sy_pg_acquire(p);
    for (int i = 0; i < 3; i++) assert_non_null(c[i]);
    assert_true(PQbackendPID(c[0]) != PQbackendPID(c[1]) && PQbackendPID(c[1]) != PQbackendPID(c[2]) &&
                PQbackendPID(c[0]) != PQbackendPID(c[2]));
    assert_int_equal(backends(), 3);
    for (int i = 0; i < 3; i++) sy_pg_release(p, c[i]);
    sy_pg_pool_destroy(&p);

    p = sy_pg_pool_start(conninfo, 1, 4); /* no room to warm: one connection */
    assert_non_null(p);
    usleep(200000);
    assert_int_equal(backends(), 1);
    sy_pg_pool_destroy(&p);
    for (int i = 0; i < 250 && backends() > 0; i++) usleep(20000);

    p = sy_pg_pool_start(conninfo, 4, 3); /* destroyed while warming */
    assert_non_null(p);
    sy_pg_pool_destroy(&p);
    assert_null(p);
}

static void test_dead_idle_connection_replaced(void **state)
{
    (void)state;
    sy_pg_pool_t *p = sy_pg_pool_new(conninfo, 1);
    assert_non_null(p);
    PGconn *c = sy_pg_acquire(p);
    int pid = PQbackendPID(c);
    sy_pg_release(p, c); /* idle in the pool, still CONNECTION_OK for libpq */

    PGconn *a = ut_admin(dbname);
    char *sql = sy_asprintf("SELECT pg_terminate_backend(%d)", pid);
    ut_run_sql(a, sql);
    free(sql);
    PQfinish(a);
    /* gone: the process has exited, so its socket is closed (pg_stat_activity
     * forgets it a moment earlier) */
    for (int i = 0; i < 250 && !(kill(pid, 0) < 0 && errno == ESRCH); i++) usleep(20000);
    assert_true(kill(pid, 0) < 0 && errno == ESRCH);

    c = sy_pg_acquire(p);
    assert_non_null(c);
    assert_int_not_equal(PQbackendPID(c), pid);
    /* the first statement on it works: no request pays for the dead backend */
    sy_err_t err;
    sy_err_clear(&err);
    const char *params[1] = {"6"};
    PGresult *r = sy_pg_exec(c, &err, "SELECT $1::int * 7", 1, params);
    assert_non_null(r);
    assert_string_equal(PQgetvalue(r, 0, 0), "42");
    PQclear(r);
    sy_pg_release(p, c);
    sy_pg_pool_destroy(&p);
}

#define Q_SQL "SELECT $1::int + 1"

/* What a new backend with a reused pid looks like to the process-wide set of
 * prepared statements: it has none of them. */
static void forget_on_server(PGconn *c, const char *name)
{
    char *sql = sy_asprintf("DEALLOCATE %s", name);
    ut_run_sql(c, sql);
    free(sql);
}

static void test_prepared_missing_lone_statement(void **state)
{
    (void)state;
    sy_pg_pool_t *p = sy_pg_pool_new(conninfo, 1);
    PGconn *c = sy_pg_acquire(p);
    sy_err_t err;
    sy_err_clear(&err);
    const char *params[1] = {"41"};
    PGresult *r = sy_pg_exec_prepared(c, &err, "sy_unit_q1", Q_SQL, 1, params);
    assert_non_null(r);
    PQclear(r);
    forget_on_server(c, "sy_unit_q1");
    r = sy_pg_exec_prepared(c, &err, "sy_unit_q1", Q_SQL, 1, params);
    assert_non_null(r);
    assert_string_equal(PQgetvalue(r, 0, 0), "42");
    PQclear(r);
    sy_pg_release(p, c);
    sy_pg_pool_destroy(&p);
}

static int tx_calls;
static int in_tx(PGconn *c, void *u, sy_err_t *err)
{
    (void)u;
    tx_calls++;
    const char *params[1] = {"1"};
    PGresult *r = sy_pg_exec_prepared(c, err, "sy_unit_q2", Q_SQL, 1, params);
    if (!r) return SY_E_DB;
    int ok = strcmp(PQgetvalue(r, 0, 0), "2") == 0;
    PQclear(r);
    return ok ? 0 : SY_E_DB;
}

static void test_prepared_missing_in_transaction(void **state)
{
    (void)state;
    sy_pg_pool_t *p = sy_pg_pool_new(conninfo, 1);
    PGconn *c = sy_pg_acquire(p);
    sy_err_t err;
    sy_err_clear(&err);
    tx_calls = 0;
    assert_int_equal(sy_pg_tx_on(c, in_tx, NULL, &err), 0);
    assert_int_equal(tx_calls, 1);
    forget_on_server(c, "sy_unit_q2");
    tx_calls = 0;
    assert_int_equal(sy_pg_tx_on(c, in_tx, NULL, &err), 0); /* the aborted attempt retried, prepared again */
    assert_int_equal(tx_calls, 2);
    sy_pg_release(p, c);
    sy_pg_pool_destroy(&p);
}

/* sy_pg_on_commit: hooks run in order just before COMMIT, inside the
 * transaction; a failing hook rolls it back; a rollback discards them. */
static char hook_log[64];
static int hook_discards;
static int hook_insert(PGconn *c, void *u, sy_err_t *err)
{
    const char *v = u;
    strncat(hook_log, v, sizeof hook_log - strlen(hook_log) - 1);
    const char *params[1] = {v};
    PGresult *r = sy_pg_exec(c, err, "INSERT INTO sy_unit_hooks (v) VALUES ($1)", 1, params);
    if (!r) return SY_E_DB;
    PQclear(r);
    return 0;
}
static int hook_fail(PGconn *c, void *u, sy_err_t *err)
{
    (void)c;
    (void)u;
    strncat(hook_log, "!", sizeof hook_log - strlen(hook_log) - 1);
    return sy_err_set(err, SY_E_DB, 500, "X", "hook failed");
}
static void hook_discard(void *u)
{
    (void)u;
    hook_discards++;
}
static int tx_with_hook(PGconn *c, void *u, sy_err_t *err)
{
    (void)err;
    return sy_pg_on_commit(c, hook_insert, hook_discard, u);
}

static void test_on_commit_hooks(void **state)
{
    (void)state;
    sy_pg_pool_t *p = sy_pg_pool_new(conninfo, 1);
    PGconn *c = sy_pg_acquire(p);
    ut_run_sql(c, "DROP TABLE IF EXISTS sy_unit_hooks; CREATE TABLE sy_unit_hooks (v text)");
    sy_err_t err;
    sy_err_clear(&err);
    /* two hooks, in registration order, then COMMIT */
    hook_log[0] = 0;
    hook_discards = 0;
    assert_int_equal(sy_pg_begin(c, &err), 0);
    ut_run_sql(c, "INSERT INTO sy_unit_hooks VALUES ('t')");
    assert_int_equal(sy_pg_on_commit(c, hook_insert, hook_discard, "a"), 0);
    assert_int_equal(sy_pg_on_commit(c, hook_insert, NULL, "b"), 0);
    assert_ptr_equal(sy_pg_on_commit_arg(c, hook_insert), (void *)"a");
    assert_string_equal(hook_log, ""); /* nothing runs before the commit */
    assert_int_equal(sy_pg_commit(c, &err), 0);
    assert_string_equal(hook_log, "ab");
    assert_int_equal(hook_discards, 1);
    assert_null(sy_pg_on_commit_arg(c, hook_insert));
    assert_int_equal(one_int(c, "SELECT count(*) FROM sy_unit_hooks"), 3);
    /* a rollback discards without running */
    hook_log[0] = 0;
    assert_int_equal(sy_pg_begin(c, &err), 0);
    assert_int_equal(sy_pg_on_commit(c, hook_insert, hook_discard, "c"), 0);
    sy_pg_rollback(c);
    assert_string_equal(hook_log, "");
    assert_int_equal(hook_discards, 2);
    assert_int_equal(sy_pg_begin(c, &err), 0);
    assert_int_equal(sy_pg_commit(c, &err), 0);
    assert_string_equal(hook_log, "");
    /* a failing hook: the transaction rolls back, later hooks only discarded */
    assert_int_equal(sy_pg_begin(c, &err), 0);
    ut_run_sql(c, "INSERT INTO sy_unit_hooks VALUES ('lost')");
    assert_int_equal(sy_pg_on_commit(c, hook_insert, hook_discard, "d"), 0);
    assert_int_equal(sy_pg_on_commit(c, hook_fail, hook_discard, NULL), 0);
    assert_int_equal(sy_pg_on_commit(c, hook_insert, hook_discard, "e"), 0);
    assert_int_equal(sy_pg_commit(c, &err), SY_E_DB);
    assert_string_equal(hook_log, "d!");
    assert_int_equal(hook_discards, 5);
    assert_int_equal(PQtransactionStatus(c), PQTRANS_IDLE);
    assert_int_equal(one_int(c, "SELECT count(*) FROM sy_unit_hooks"), 3);
    /* through sy_pg_tx_on */
    hook_log[0] = 0;
    assert_int_equal(sy_pg_tx_on(c, tx_with_hook, "f", &err), 0);
    assert_string_equal(hook_log, "f");
    assert_int_equal(one_int(c, "SELECT count(*) FROM sy_unit_hooks WHERE v = 'f'"), 1);
    ut_run_sql(c, "DROP TABLE sy_unit_hooks");
    sy_pg_release(p, c);
    sy_pg_pool_destroy(&p);
}

static void test_prepared_missing_pipelined(void **state)
{
    (void)state;
    /* callers that prepare, then send (queue/store_send.c): the failure is
     * reported through sy_pg_error, and the next sy_pg_prepare prepares */
    sy_pg_pool_t *p = sy_pg_pool_new(conninfo, 1);
    PGconn *c = sy_pg_acquire(p);
    sy_err_t err;
    sy_err_clear(&err);
    assert_int_equal(sy_pg_prepare(c, &err, "sy_unit_q3", Q_SQL, 1), 0);
    forget_on_server(c, "sy_unit_q3");
    assert_int_equal(sy_pg_prepare(c, &err, "sy_unit_q3", Q_SQL, 1), 0); /* believes it is there */
    const char *params[1] = {"1"};
    PGresult *r = PQexecPrepared(c, "sy_unit_q3", 1, params, NULL, NULL, 0);
    assert_int_equal(PQresultStatus(r), PGRES_FATAL_ERROR);
    sy_pg_error(c, r, &err);
    assert_string_equal(err.sqlstate, "26000");
    assert_true(sy_pg_retryable(err.sqlstate));
    PQclear(r);
    assert_int_equal(sy_pg_prepare(c, &err, "sy_unit_q3", Q_SQL, 1), 0);
    r = PQexecPrepared(c, "sy_unit_q3", 1, params, NULL, NULL, 0);
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    PQclear(r);
    sy_pg_release(p, c);
    sy_pg_pool_destroy(&p);
}

static double metric(const char *name)
{
    sy_buf_t b;
    sy_buf_init(&b);
    sy_metrics_render(&b);
    double v = 0;
    size_t n = strlen(name);
    for (const char *line = b.data; line && *line;) {
        if (strncmp(line, name, n) == 0 && line[n] == ' ') v = atof(line + n + 1);
        const char *nl = strchr(line, '\n');
        line = nl ? nl + 1 : NULL;
    }
    sy_buf_free(&b);
    return v;
}

#define STORM 8
static sy_pg_pool_t *storm_pool;
static pthread_barrier_t storm_go;
static void *storm_acquire(void *u)
{
    pthread_barrier_wait(&storm_go);
    PGconn *c = sy_pg_acquire(storm_pool);
    *(bool *)u = c != NULL;
    sy_pg_release(storm_pool, c);
    return NULL;
}

static void set_allow_connections(bool on)
{
    PGconn *a = ut_admin("postgres");
    char *sql = sy_asprintf("ALTER DATABASE %s ALLOW_CONNECTIONS %s", dbname, on ? "true" : "false");
    ut_run_sql(a, sql);
    free(sql);
    if (!on) { /* and none left: the pool's idle ones are gone too */
        sql = sy_asprintf("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '%s'", dbname);
        ut_run_sql(a, sql);
        free(sql);
        sql = sy_asprintf("SELECT count(*) FROM pg_stat_activity WHERE datname = '%s'", dbname);
        for (int i = 0; i < 250 && one_int(a, sql) != 0; i++) usleep(20000);
        free(sql);
    }
    PQfinish(a);
}

static void test_no_connection_storm_while_down(void **state)
{
    (void)state;
    storm_pool = sy_pg_pool_new(conninfo, STORM);
    assert_non_null(storm_pool);
    set_allow_connections(false);
    usleep(100000); /* the terminated backends' sockets are closed */
    double before = metric("switchyard_db_connect_failures_total");
    pthread_t t[STORM];
    bool got[STORM];
    pthread_barrier_init(&storm_go, NULL, STORM);
    for (int i = 0; i < STORM; i++) pthread_create(&t[i], NULL, storm_acquire, &got[i]);
    for (int i = 0; i < STORM; i++) pthread_join(t[i], NULL);
    pthread_barrier_destroy(&storm_go);
    for (int i = 0; i < STORM; i++) assert_false(got[i]);
    /* eight requests at once while the database refuses: one connection
     * attempt (two if the machine stalled a thread past the back-off), not eight */
    double tried = metric("switchyard_db_connect_failures_total") - before;
    if (!(tried >= 1 && tried <= 2)) fail_msg("%g connection attempts (before: %g)", tried, before);
    set_allow_connections(true);
    usleep(300000); /* past the back-off */
    PGconn *c = sy_pg_acquire(storm_pool);
    assert_non_null(c);
    assert_int_equal(one_int(c, "SELECT 1"), 1);
    sy_pg_release(storm_pool, c);
    sy_pg_pool_destroy(&storm_pool);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_multi_host_url),
        cmocka_unit_test(test_pool_start_warms),
        cmocka_unit_test(test_dead_idle_connection_replaced),
        cmocka_unit_test(test_prepared_missing_lone_statement),
        cmocka_unit_test(test_prepared_missing_in_transaction),
        cmocka_unit_test(test_prepared_missing_pipelined),
        cmocka_unit_test(test_on_commit_hooks),
        cmocka_unit_test(test_no_connection_storm_while_down),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
