/* tests/unit/test_migrate.c - sy_migrate against the fixture PostgreSQL: a
 * fresh database per test, numeric order, one transaction per file, failure
 * handling, and brokers migrating concurrently applying each file once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "core/core.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct {
    char db[64];
    char dir[256];
} fixture_t;

static char *conninfo(const char *db)
{
    const char *host = getenv("SY_TEST_PGHOST");
    const char *port = getenv("SY_TEST_PGPORT");
    return sy_asprintf("host=%s port=%s user=postgres dbname=%s", host ? host : "/tmp",
                       port ? port : "5432", db);
}

static PGconn *connect_db(const char *db)
{
    char *ci = conninfo(db);
    PGconn *c = PQconnectdb(ci);
    free(ci);
    if (PQstatus(c) != CONNECTION_OK) fail_msg("connect %s: %s", db, PQerrorMessage(c));
    return c;
}

static void exec_ok(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        fail_msg("%s: %s", sql, PQresultErrorMessage(r));
    PQclear(r);
}

static long query_long(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1)
        fail_msg("%s: %s", sql, PQresultErrorMessage(r));
    long v = atol(PQgetvalue(r, 0, 0));
    PQclear(r);
    return v;
}

static void write_file(const char *dir, const char *name, const char *body)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(body, f);
    fclose(f);
}

static int setup(void **state)
{
    static int seq;
    fixture_t *fx = calloc(1, sizeof *fx);
    snprintf(fx->db, sizeof fx->db, "sy_migrate_%d_%d", (int)getpid(), ++seq);
    snprintf(fx->dir, sizeof fx->dir, "/tmp/sy_migrate_%d_%d.XXXXXX", (int)getpid(), seq);
    if (!mkdtemp(fx->dir)) return -1;
    PGconn *c = connect_db("postgres");
    char sql[128];
    snprintf(sql, sizeof sql, "CREATE DATABASE %s", fx->db);
    exec_ok(c, sql);
    PQfinish(c);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *fx = *state;
    PGconn *c = connect_db("postgres");
    char sql[160];
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", fx->db);
    exec_ok(c, sql);
    PQfinish(c);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", fx->dir);
    if (system(cmd) != 0) return -1;
    free(fx);
    return 0;
}

/* Numeric, not lexical, order: 2 runs before 10; other files are ignored. */
static void test_applies_in_numeric_order(void **state)
{
    fixture_t *fx = *state;
    write_file(fx->dir, "10_third.sql", "INSERT INTO trail VALUES (10);");
    write_file(fx->dir, "001_first.sql", "CREATE TABLE trail (v int, at serial);");
    write_file(fx->dir, "2_second.sql", "INSERT INTO trail VALUES (2);\nINSERT INTO trail VALUES (3);");
    write_file(fx->dir, "README.md", "not a migration");
    write_file(fx->dir, "3_backup.sql~", "garbage");
    write_file(fx->dir, "x_4.sql", "garbage");

    PGconn *c = connect_db(fx->db);
    sy_err_t err;
    assert_int_equal(sy_migrate(c, fx->dir, &err), 3);
    PGresult *r = PQexec(c, "SELECT string_agg(v::text, ',' ORDER BY at) FROM trail");
    assert_string_equal(PQgetvalue(r, 0, 0), "2,3,10");
    PQclear(r);
    r = PQexec(c, "SELECT string_agg(version || ':' || name, ',' ORDER BY version),"
                  " bool_and(applied_at IS NOT NULL) FROM sy_schema_migrations");
    assert_string_equal(PQgetvalue(r, 0, 0), "1:001_first,2:2_second,10:10_third");
    assert_string_equal(PQgetvalue(r, 0, 1), "t");
    PQclear(r);

    /* idempotent: nothing left to apply */
    assert_int_equal(sy_migrate(c, fx->dir, &err), 0);
    assert_int_equal(query_long(c, "SELECT count(*) FROM trail"), 3);

    /* a later file is applied on the next start */
    write_file(fx->dir, "11_more.sql", "INSERT INTO trail VALUES (11);");
    assert_int_equal(sy_migrate(c, fx->dir, &err), 1);
    assert_int_equal(query_long(c, "SELECT count(*) FROM trail"), 4);
    assert_int_equal(query_long(c, "SELECT count(*) FROM sy_schema_migrations"), 4);
    PQfinish(c);
}

/* A failing file rolls back as a whole, is not recorded, stops the run, and
 * leaves the connection usable and the lock released. */
static void test_failure_rolls_back(void **state)
{
    fixture_t *fx = *state;
    write_file(fx->dir, "1_ok.sql", "CREATE TABLE a (x int);");
    write_file(fx->dir, "2_bad.sql", "CREATE TABLE b (x int);\nINSERT INTO nosuch VALUES (1);");
    write_file(fx->dir, "3_later.sql", "CREATE TABLE c (x int);");
    PGconn *c = connect_db(fx->db);
    sy_err_t err;
    memset(&err, 0, sizeof err);
    assert_int_equal(sy_migrate(c, fx->dir, &err), -1);
    assert_string_equal(err.sqlstate, "42P01");
    assert_non_null(strstr(err.message, "2_bad"));
    assert_int_equal(query_long(c, "SELECT count(*) FROM sy_schema_migrations"), 1);
    assert_int_equal(query_long(c, "SELECT count(*) FROM pg_tables WHERE tablename IN ('a','b','c')"),
                     1);
    assert_int_equal(PQtransactionStatus(c), PQTRANS_IDLE);
    /* the advisory lock was released: another session can take it at once */
    PGconn *c2 = connect_db(fx->db);
    assert_int_equal(query_long(c2, "SELECT pg_try_advisory_lock(6004793648590573908)::int"), 1);
    PQfinish(c2);

    /* fixed, the run resumes where it stopped */
    write_file(fx->dir, "2_bad.sql", "CREATE TABLE b (x int);");
    assert_int_equal(sy_migrate(c, fx->dir, &err), 2);
    assert_int_equal(query_long(c, "SELECT count(*) FROM pg_tables WHERE tablename IN ('a','b','c')"),
                     3);
    PQfinish(c);
}

static void test_bad_inputs(void **state)
{
    fixture_t *fx = *state;
    PGconn *c = connect_db(fx->db);
    sy_err_t err;
    assert_int_equal(sy_migrate(c, "/nonexistent/schema/dir", &err), -1);
    assert_non_null(strstr(err.message, "/nonexistent/schema/dir"));
    /* two files with one version number */
    write_file(fx->dir, "1_a.sql", "SELECT 1;");
    write_file(fx->dir, "01_b.sql", "SELECT 1;");
    assert_int_equal(sy_migrate(c, fx->dir, &err), -1);
    assert_non_null(strstr(err.message, "version 1"));
    /* an empty directory applies nothing */
    char path[400];
    snprintf(path, sizeof path, "%s/1_a.sql", fx->dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/01_b.sql", fx->dir);
    unlink(path);
    assert_int_equal(sy_migrate(c, fx->dir, &err), 0);
    PQfinish(c);
    assert_int_equal(sy_migrate(NULL, fx->dir, &err), -1);
}

/* ---------------------------------------------------------- concurrency */
typedef struct {
    const fixture_t *fx;
    int result;
} racer_t;

static pthread_barrier_t barrier;

static void *racer(void *arg)
{
    racer_t *r = arg;
    char *ci = conninfo(r->fx->db);
    PGconn *c = PQconnectdb(ci);
    free(ci);
    pthread_barrier_wait(&barrier);
    sy_err_t err;
    r->result = sy_migrate(c, r->fx->dir, &err);
    if (r->result < 0) fprintf(stderr, "racer: %s\n", err.message);
    PQfinish(c);
    return NULL;
}

static void write_racy_migrations(const char *dir)
{
    /* not idempotent: applied twice, these fail or double-count */
    write_file(dir, "1_t.sql", "CREATE TABLE hits (n int); SELECT pg_sleep(0.2);");
    write_file(dir, "2_t.sql", "INSERT INTO hits VALUES (2); SELECT pg_sleep(0.1);");
    write_file(dir, "3_t.sql", "CREATE TABLE more (n int); INSERT INTO hits VALUES (3);");
}

static void test_concurrent_threads(void **state)
{
    fixture_t *fx = *state;
    write_racy_migrations(fx->dir);
    enum { N = 6 };
    pthread_t th[N];
    racer_t rs[N];
    pthread_barrier_init(&barrier, NULL, N);
    for (int i = 0; i < N; i++) {
        rs[i] = (racer_t){fx, -99};
        pthread_create(&th[i], NULL, racer, &rs[i]);
    }
    int total = 0, winners = 0;
    for (int i = 0; i < N; i++) {
        pthread_join(th[i], NULL);
        assert_true(rs[i].result >= 0);
        total += rs[i].result;
        winners += rs[i].result > 0;
    }
    pthread_barrier_destroy(&barrier);
    assert_int_equal(total, 3);
    assert_int_equal(winners, 1);
    PGconn *c = connect_db(fx->db);
    assert_int_equal(query_long(c, "SELECT count(*) FROM hits"), 2);
    assert_int_equal(query_long(c, "SELECT count(*) FROM sy_schema_migrations"), 3);
    PQfinish(c);
}

/* Separate processes, as two brokers would be. */
static void test_concurrent_processes(void **state)
{
    fixture_t *fx = *state;
    write_racy_migrations(fx->dir);
    enum { N = 4 };
    pid_t pids[N];
    int pipefd[2];
    assert_int_equal(pipe(pipefd), 0);
    for (int i = 0; i < N; i++) {
        pids[i] = fork();
        assert_true(pids[i] >= 0);
        if (pids[i] == 0) {
            char go;
            close(pipefd[1]);
            char *ci = conninfo(fx->db);
            PGconn *c = PQconnectdb(ci);
            free(ci);
            if (read(pipefd[0], &go, 1) < 0) _exit(100);
            sy_err_t err;
            int n = sy_migrate(c, fx->dir, &err);
            PQfinish(c);
            _exit(n < 0 ? 99 : n);
        }
    }
    close(pipefd[0]);
    close(pipefd[1]); /* EOF releases every child at once */
    int total = 0;
    for (int i = 0; i < N; i++) {
        int st;
        assert_int_equal(waitpid(pids[i], &st, 0), pids[i]);
        assert_true(WIFEXITED(st));
        assert_true(WEXITSTATUS(st) <= 3);
        total += WEXITSTATUS(st);
    }
    assert_int_equal(total, 3);
    PGconn *c = connect_db(fx->db);
    assert_int_equal(query_long(c, "SELECT count(*) FROM hits"), 2);
    assert_int_equal(query_long(c, "SELECT count(*) FROM sy_schema_migrations"), 3);
    PQfinish(c);
}

/* The project's own schema/ applies cleanly to an empty database. */
static void test_project_schema(void **state)
{
    fixture_t *fx = *state;
    const char *src = getenv("SY_SOURCE_DIR");
    char dir[512];
    snprintf(dir, sizeof dir, "%s/schema", src ? src : ".");
    struct stat st;
    if (stat(dir, &st) != 0) {
        skip();
    }
    PGconn *c = connect_db(fx->db);
    sy_err_t err;
    memset(&err, 0, sizeof err);
    int n = sy_migrate(c, dir, &err);
    if (n < 0) fail_msg("schema/: %s", err.message);
    assert_int_equal(query_long(c, "SELECT count(*) FROM sy_schema_migrations"), n);
    assert_int_equal(sy_migrate(c, dir, &err), 0);
    PQfinish(c);
}

int main(void)
{
    sy_log_level = SY_LOG_WARN;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_applies_in_numeric_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failure_rolls_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_inputs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_threads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_processes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_project_schema, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
