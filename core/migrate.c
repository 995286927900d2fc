/* core/migrate.c - schema migrations: apply schema/NNN_name.sql in numeric
 * order, each in its own transaction, under a session advisory lock so that
 * brokers starting at the same time never race; every applied file is
 * recorded in sy_schema_migrations. A schema already up to date costs one
 * round trip (no lock, no DDL): what a broker's start pays every time. */
#include "core/core.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* The advisory lock key: "SYMIGRAT" as a 64-bit integer. */
#define MIGRATE_LOCK_KEY "6004793648590573908"

typedef struct {
    int version;
    char *name; /* file name without the .sql suffix, e.g. "001_init" */
    char *path;
} migration_t;

static void migrations_free(migration_t *m, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(m[i].name);
        free(m[i].path);
    }
    free(m);
}

static int migration_cmp(const void *a, const void *b)
{
    const migration_t *x = a, *y = b;
    return (x->version > y->version) - (x->version < y->version);
}

/* NNN_name.sql -> version NNN; -1 for a file that is not a migration. */
static int parse_version(const char *fname)
{
    size_t len = strlen(fname);
    if (len < 6 || strcmp(fname + len - 4, ".sql") != 0) return -1;
    if (!isdigit((unsigned char)fname[0])) return -1;
    long v = 0;
    const char *p = fname;
    while (isdigit((unsigned char)*p)) {
        v = v * 10 + (*p - '0');
        if (v > 1000000000L) return -1;
        p++;
    }
    if (*p != '_') return -1;
    return (int)v;
}

static int list_migrations(const char *dir, migration_t **out, size_t *nout, sy_err_t *err)
{
    DIR *d = opendir(dir);
    if (!d)
        return sy_err_set(err, SY_E_INTERNAL, 500, "InternalFailure",
                          "could not open schema directory \"%s\": %s", dir, strerror(errno));
    migration_t *m = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        int v = parse_version(de->d_name);
        if (v < 0) continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            m = sy_realloc(m, cap * sizeof *m);
        }
        size_t len = strlen(de->d_name);
        m[n].version = v;
        m[n].name = sy_strndup(de->d_name, len - 4);
        m[n].path = sy_asprintf("%s/%s", dir, de->d_name);
        n++;
    }
    closedir(d);
    if (n) qsort(m, n, sizeof *m, migration_cmp);
    for (size_t i = 1; i < n; i++) {
        if (m[i].version == m[i - 1].version) {
            int rc = sy_err_set(err, SY_E_INVALID, 500, "InternalFailure",
                                "two migrations have version %d: \"%s\" and \"%s\"", m[i].version,
                                m[i - 1].name, m[i].name);
            migrations_free(m, n);
            return rc;
        }
    }
    *out = m;
    *nout = n;
    return 0;
}

static char *read_file(const char *path, sy_err_t *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        sy_err_set(err, SY_E_INTERNAL, 500, "InternalFailure", "could not open \"%s\": %s", path,
                   strerror(errno));
        return NULL;
    }
    sy_buf_t b;
    sy_buf_init(&b);
    char chunk[8192];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) sy_buf_append(&b, chunk, n);
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        sy_buf_free(&b);
        sy_err_set(err, SY_E_INTERNAL, 500, "InternalFailure", "could not read \"%s\"", path);
        return NULL;
    }
    return sy_buf_take(&b);
}

/* Run one statement (or a script) expecting success; fills *err on failure. */
static int run(PGconn *c, const char *sql, const char *what, sy_err_t *err)
{
    PGresult *r = PQexec(c, sql);
    ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK || st == PGRES_EMPTY_QUERY) {
        PQclear(r);
        return 0;
    }
    const char *msg = r ? PQresultErrorMessage(r) : PQerrorMessage(c);
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    char m[900];
    snprintf(m, sizeof m, "%s", msg && *msg ? msg : "unknown error");
    size_t ml = strlen(m);
    while (ml && (m[ml - 1] == '\n' || m[ml - 1] == ' ')) m[--ml] = '\0';
    sy_err_set(err, SY_E_DB, 500, "InternalFailure", "%s: %s", what, m);
    if (err) snprintf(err->sqlstate, sizeof err->sqlstate, "%s", state ? state : "");
    if (err) err->receiver = true;
    PQclear(r);
    return SY_E_DB;
}

/* Versions already applied, as a sorted array. */
static int applied_versions(PGconn *c, int **out, int *nout, sy_err_t *err)
{
    PGresult *r = PQexec(c, "SELECT version FROM sy_schema_migrations ORDER BY version");
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        PQclear(r);
        return run(c, "SELECT version FROM sy_schema_migrations", "could not read applied migrations",
                   err);
    }
    int n = PQntuples(r);
    int *v = sy_calloc((size_t)n + 1, sizeof *v);
    for (int i = 0; i < n; i++) v[i] = atoi(PQgetvalue(r, i, 0));
    PQclear(r);
    *out = v;
    *nout = n;
    return 0;
}

static bool contains(const int *v, int n, int x)
{
    for (int i = 0; i < n; i++)
        if (v[i] == x) return true;
    return false;
}

static void warn_unknown(const migration_t *m, size_t n, const int *done, int ndone)
{
    for (int i = 0; i < ndone; i++) {
        bool known = false;
        for (size_t j = 0; j < n && !known; j++) known = m[j].version == done[i];
        if (!known) {
            char v[16];
            snprintf(v, sizeof v, "%d", done[i]);
            sy_log(SY_LOG_WARN, "migrate", NULL, "database has a migration this binary does not know",
                   "version", v);
        }
    }
}

/* One statement: is every migration of the directory applied? No error is
 * reported (a database without sy_schema_migrations is simply not). */
static bool up_to_date(PGconn *c, const migration_t *m, size_t n)
{
    int *done = NULL, ndone = 0;
    PGresult *r = PQexec(c, "SELECT version FROM sy_schema_migrations ORDER BY version");
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        PQclear(r);
        return false;
    }
    ndone = PQntuples(r);
    done = sy_calloc((size_t)ndone + 1, sizeof *done);
    for (int i = 0; i < ndone; i++) done[i] = atoi(PQgetvalue(r, i, 0));
    PQclear(r);
    bool all = true;
    for (size_t i = 0; i < n && all; i++) all = contains(done, ndone, m[i].version);
    if (all) warn_unknown(m, n, done, ndone);
    free(done);
    return all;
}

static int apply_one(PGconn *c, const migration_t *m, sy_err_t *err)
{
    char *sql = read_file(m->path, err);
    if (!sql) return SY_E_INTERNAL;
    char what[300];
    snprintf(what, sizeof what, "migration %s failed", m->name);
    int rc = sy_pg_begin(c, err);
    if (rc == 0) rc = run(c, sql, what, err);
    if (rc == 0) {
        char ver[16];
        snprintf(ver, sizeof ver, "%d", m->version);
        const char *params[2] = {ver, m->name};
        PGresult *r = PQexecParams(c,
                                   "INSERT INTO sy_schema_migrations(version, name, applied_at) "
                                   "VALUES ($1::int, $2, now())",
                                   2, NULL, params, NULL, NULL, 0);
        if (PQresultStatus(r) != PGRES_COMMAND_OK) {
            snprintf(what, sizeof what, "could not record migration %s", m->name);
            const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
            sy_err_set(err, SY_E_DB, 500, "InternalFailure", "%s: %s", what, PQresultErrorMessage(r));
            if (err) snprintf(err->sqlstate, sizeof err->sqlstate, "%s", state ? state : "");
            rc = SY_E_DB;
        }
        PQclear(r);
    }
    if (rc == 0) rc = sy_pg_commit(c, err);
    if (rc != 0) sy_pg_rollback(c);
    free(sql);
    return rc;
}

int sy_migrate(PGconn *c, const char *schema_dir, sy_err_t *err)
{
    migration_t *m = NULL;
    size_t n = 0;
    int *done = NULL, ndone = 0, applied = 0;
    bool locked = false;
    int rc;

    if (!c || PQstatus(c) != CONNECTION_OK) {
        sy_err_set(err, SY_E_DB, 500, "InternalFailure", "no database connection for migrations");
        return -1;
    }
    if (!schema_dir || !*schema_dir) {
        sy_err_set(err, SY_E_INVALID, 500, "InternalFailure", "no schema directory given");
        return -1;
    }
    if ((rc = list_migrations(schema_dir, &m, &n, err)) != 0) goto done;

    /* The common case, a schema already up to date, in one round trip and
     * without the lock: applied rows are only ever added, so every file
     * found applied stays applied. A missing table (a new database) or any
     * file not applied yet takes the locked path below. */
    if (up_to_date(c, m, n)) {
        rc = 0;
        goto done;
    }

    /* A session lock: held across the per-migration transactions below. */
    if ((rc = run(c, "SELECT pg_advisory_lock(" MIGRATE_LOCK_KEY ")", "could not take migration lock",
                  err)) != 0)
        goto done;
    locked = true;
    rc = run(c,
             "CREATE TABLE IF NOT EXISTS sy_schema_migrations ("
             " version int PRIMARY KEY, name text NOT NULL,"
             " applied_at timestamptz NOT NULL DEFAULT now())",
             "could not create sy_schema_migrations", err);
    if (rc != 0) goto done;
    if ((rc = applied_versions(c, &done, &ndone, err)) != 0) goto done;

    warn_unknown(m, n, done, ndone);
    for (size_t i = 0; i < n; i++) {
        if (contains(done, ndone, m[i].version)) continue;
        int64_t t0 = sy_mono_us();
        if ((rc = apply_one(c, &m[i], err)) != 0) {
            sy_log(SY_LOG_ERROR, "migrate", NULL, "migration failed", "migration", m[i].name, "error",
                   err ? err->message : "");
            goto done;
        }
        char ms[32];
        snprintf(ms, sizeof ms, "%.1f", (double)(sy_mono_us() - t0) / 1000.0);
        sy_log(SY_LOG_INFO, "migrate", NULL, "applied migration", "migration", m[i].name, "ms", ms);
        applied++;
    }
    rc = 0;
done:
    if (locked) {
        /* If the connection is in a failed transaction, end it first. */
        sy_pg_rollback(c);
        PQclear(PQexec(c, "SELECT pg_advisory_unlock(" MIGRATE_LOCK_KEY ")"));
    }
    free(done);
    migrations_free(m, n);
    return rc == 0 ? applied : -1;
}

/* Migrations of schema_dir not applied yet (readiness), or <0. */
int sy_migrate_pending(PGconn *c, const char *schema_dir, sy_err_t *err)
{
    migration_t *m = NULL;
    size_t n = 0;
    int *done = NULL, ndone = 0, pending = 0;
    int rc = list_migrations(schema_dir, &m, &n, err);
    if (rc == 0) rc = applied_versions(c, &done, &ndone, err);
    for (size_t i = 0; rc == 0 && i < n; i++) pending += !contains(done, ndone, m[i].version);
    free(done);
    migrations_free(m, n);
    return rc < 0 ? rc : pending;
}
