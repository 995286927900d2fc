/* tests/unit/test_pg_embed.c - the embedded PostgreSQL launcher: first start
 * (initdb), reuse of the data, a stale postmaster.pid, an orphaned
 * postmaster, an interrupted initdb, and a data dir the postgres user cannot
 * reach. server/ is not a library: the file is included (as h2o does). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../../server/pg_embed.c"

typedef struct {
    char root[PATH_MAX - 200];
    char data[PATH_MAX];
} fx_t;

static int setup(void **state)
{
    fx_t *fx = calloc(1, sizeof *fx);
    /* /tmp: short enough for a socket path, traversable by everyone */
    snprintf(fx->root, sizeof fx->root, "/tmp/sy_pgembed_%d.XXXXXX", (int)getpid());
    if (!mkdtemp(fx->root)) return -1;
    chmod(fx->root, 0755);
    snprintf(fx->data, sizeof fx->data, "%s/data", fx->root);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fx_t *fx = *state;
    sy_pg_embed_stop(fx->data, NULL);
    rm_tree(fx->root);
    free(fx);
    return 0;
}

static pid_t postmaster_pid(const fx_t *fx)
{
    char pg[PATH_MAX + 8];
    snprintf(pg, sizeof pg, "%s/pg", fx->data);
    pidfile_t pf;
    if (read_pidfile(pg, &pf) != 0) return 0;
    return pf.pid;
}

static PGconn *must_connect(const char *ci)
{
    PGconn *c = PQconnectdb(ci);
    if (PQstatus(c) != CONNECTION_OK) fail_msg("connect %s: %s", ci, PQerrorMessage(c));
    return c;
}

static char *start_ok(const fx_t *fx)
{
    char *ci = NULL;
    sy_err_t err;
    memset(&err, 0, sizeof err);
    int rc = sy_pg_embed_start(fx->data, NULL, &ci, &err);
    if (rc != 0) fail_msg("start: %s", err.message);
    assert_non_null(ci);
    return ci;
}

static void exec_ok(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
        fail_msg("%s: %s", sql, PQresultErrorMessage(r));
    PQclear(r);
}

static void test_start_stop_reuse(void **state)
{
    fx_t *fx = *state;
    char *ci = start_ok(fx);
    assert_non_null(strstr(ci, "dbname=switchyard"));
    PGconn *c = must_connect(ci);
    PGresult *r = PQexec(c, "SELECT current_database(), current_setting('listen_addresses')");
    assert_string_equal(PQgetvalue(r, 0, 0), "switchyard");
    assert_string_equal(PQgetvalue(r, 0, 1), ""); /* no TCP */
    PQclear(r);
    exec_ok(c, "CREATE TABLE keep (v text); INSERT INTO keep VALUES ('kept')");
    PQfinish(c);
    pid_t pid = postmaster_pid(fx);
    assert_true(pid > 0);

    sy_pg_embed_stop(fx->data, NULL);
    assert_false(pid_alive(pid));
    char pidfile[PATH_MAX + 32];
    snprintf(pidfile, sizeof pidfile, "%s/pg/postmaster.pid", fx->data);
    assert_false(is_file(pidfile));
    free(ci);

    /* second start: same data, no initdb */
    ci = start_ok(fx);
    c = must_connect(ci);
    r = PQexec(c, "SELECT v FROM keep");
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    assert_string_equal(PQgetvalue(r, 0, 0), "kept");
    PQclear(r);
    PQfinish(c);
    free(ci);
    sy_pg_embed_stop(fx->data, NULL);
    sy_pg_embed_stop(fx->data, NULL); /* idempotent */
}

/* A broker killed with -9 leaves its postmaster running: reuse it. */
static void test_orphan_postmaster_is_reused(void **state)
{
    fx_t *fx = *state;
    free(start_ok(fx));
    pid_t pid = postmaster_pid(fx);
    char *ci = start_ok(fx); /* as a restarted broker would */
    assert_int_equal(postmaster_pid(fx), pid);
    PGconn *c = must_connect(ci);
    PQfinish(c);
    free(ci);
}

/* The postmaster itself died with -9: stale postmaster.pid, socket lock. */
static void test_stale_pidfile_after_crash(void **state)
{
    fx_t *fx = *state;
    free(start_ok(fx));
    pid_t pid = postmaster_pid(fx);
    assert_int_equal(kill(pid, SIGKILL), 0);
    waitpid(pid, NULL, WNOHANG);
    assert_true(wait_exit(pid, 10));
    char *ci = start_ok(fx);
    assert_true(postmaster_pid(fx) != pid);
    PGconn *c = must_connect(ci);
    PQfinish(c);
    free(ci);

    /* a pid file naming a recycled pid (a live process that is not postgres) */
    sy_pg_embed_stop(fx->data, NULL);
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/pg/postmaster.pid", fx->data);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "%ld\n%s/pg\n1\n5432\n%s/run\n\n\nready\n", (long)getpid(), fx->data, fx->data);
    fclose(f);
    ci = start_ok(fx);
    assert_true(postmaster_pid(fx) != getpid());
    free(ci);
}

/* initdb killed half-way: no PG_VERSION, but files. */
static void test_interrupted_initdb(void **state)
{
    fx_t *fx = *state;
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/pg/base", fx->data);
    assert_int_equal(mkdir_p(path, 0700), 0);
    char *ci = start_ok(fx);
    PGconn *c = must_connect(ci);
    PQfinish(c);
    free(ci);
}

/* As root: a parent the postgres user cannot enter is named in the error. */
static void test_untraversable_parent(void **state)
{
    fx_t *fx = *state;
    if (geteuid() != 0) skip();
    char locked[PATH_MAX];
    snprintf(locked, sizeof locked, "%s/locked", fx->root);
    assert_int_equal(mkdir(locked, 0700), 0);
    char data[PATH_MAX + 16];
    snprintf(data, sizeof data, "%s/data", locked);
    char *ci = NULL;
    sy_err_t err;
    memset(&err, 0, sizeof err);
    assert_true(sy_pg_embed_start(data, NULL, &ci, &err) < 0);
    assert_null(ci);
    assert_non_null(strstr(err.message, "not traversable"));
    assert_non_null(strstr(err.message, locked));
    /* fixed as the message says, it starts */
    chmod(locked, 0711);
    memset(&err, 0, sizeof err);
    if (sy_pg_embed_start(data, NULL, &ci, &err) != 0) fail_msg("after chmod: %s", err.message);
    free(ci);
    sy_pg_embed_stop(data, NULL);
}

/* main.c blocks SIGTERM/SIGINT (for sigwait) and ignores SIGPIPE before it
 * starts PostgreSQL: the postmaster must still stop on pg_ctl's signals.
 * (PostgreSQL 15 resets its own mask too; the launcher clears it anyway.) */
static void test_parent_signal_mask_not_inherited(void **state)
{
    fx_t *fx = *state;
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGQUIT);
    pthread_sigmask(SIG_BLOCK, &set, &old);
    free(start_ok(fx));
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pid_t pid = postmaster_pid(fx);
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%ld/status", (long)pid);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    unsigned long long blk = ~0ULL;
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, "SigBlk:", 7)) blk = strtoull(line + 7, NULL, 16);
    fclose(f);
    assert_int_equal(blk & ((1ULL << (SIGTERM - 1)) | (1ULL << (SIGINT - 1))), 0);
    sy_pg_embed_stop(fx->data, NULL);
    assert_false(pid_alive(pid));
}

/* A data dir whose socket path would not fit in sun_path. */
static void test_long_data_dir(void **state)
{
    fx_t *fx = *state;
    char data[PATH_MAX];
    snprintf(data, sizeof data, "%s/%s/%s", fx->root,
             "a-rather-long-directory-name-to-push-the-socket-path-beyond-the-limit",
             "and-some-more-of-it-here");
    char *ci = NULL;
    sy_err_t err;
    if (sy_pg_embed_start(data, NULL, &ci, &err) != 0) fail_msg("long: %s", err.message);
    const char *sock = strstr(ci, "/tmp/switchyard-pg-");
    assert_non_null(sock);
    char sockdir[128];
    snprintf(sockdir, sizeof sockdir, "%.*s", (int)strcspn(sock, " "), sock);
    PGconn *c = must_connect(ci);
    PQfinish(c);
    free(ci);
    sy_pg_embed_stop(data, NULL);
    rm_tree(sockdir);
}

int main(void)
{
    sy_log_level = SY_LOG_WARN;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_start_stop_reuse, setup, teardown),
        cmocka_unit_test_setup_teardown(test_orphan_postmaster_is_reused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stale_pidfile_after_crash, setup, teardown),
        cmocka_unit_test_setup_teardown(test_interrupted_initdb, setup, teardown),
        cmocka_unit_test_setup_teardown(test_untraversable_parent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_long_data_dir, setup, teardown),
        cmocka_unit_test_setup_teardown(test_parent_signal_mask_not_inherited, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
