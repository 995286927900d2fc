/* tests/unit/unit_pg.h - a unit test's own database on the fixture
 * PostgreSQL (SY_TEST_PGHOST / SY_TEST_PGPORT): connect, run SQL, create
 * and drop it. Include after <cmocka.h> and "core/core.h". */
#ifndef SY_TESTS_UNIT_PG_H
#define SY_TESTS_UNIT_PG_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static inline const char *ut_pghost(void)
{
    return getenv("SY_TEST_PGHOST");
}

static inline const char *ut_pgport(void)
{
    return getenv("SY_TEST_PGPORT") ? getenv("SY_TEST_PGPORT") : "5432";
}

static inline PGconn *ut_admin(const char *db)
{
    char *ci = sy_asprintf("host=%s port=%s user=postgres dbname=%s", ut_pghost(), ut_pgport(), db);
    PGconn *c = PQconnectdb(ci);
    free(ci);
    if (PQstatus(c) != CONNECTION_OK) fail_msg("connect: %s", PQerrorMessage(c));
    return c;
}

static inline void ut_run_sql(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
        fail_msg("%s: %s", sql, PQresultErrorMessage(r));
    PQclear(r);
}

/* A fresh database named prefix_<pid> (into name). */
static inline void ut_create_db(char *name, size_t size, const char *prefix)
{
    snprintf(name, size, "%s_%d", prefix, (int)getpid());
    PGconn *c = ut_admin("postgres");
    char *sql = sy_asprintf("DROP DATABASE IF EXISTS %s", name);
    ut_run_sql(c, sql);
    free(sql);
    sql = sy_asprintf("CREATE DATABASE %s", name);
    ut_run_sql(c, sql);
    free(sql);
    PQfinish(c);
}

static inline void ut_drop_db(const char *name)
{
    PGconn *c = ut_admin("postgres");
    char *sql = sy_asprintf("DROP DATABASE IF EXISTS %s WITH (FORCE)", name);
    ut_run_sql(c, sql);
    free(sql);
    PQfinish(c);
}

#endif
