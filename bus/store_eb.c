/* bus/store_eb.c - what the store files of bus/ share: running a statement
 * into rows or a row count, and the rules version (sy_eb_meta) that every
 * rule, target and archive change bumps in its transaction. The statements
 * themselves are in store_buses.c, store_rules.c, store_schedule.c,
 * store_archives.c and store_dests.c: together the only SQL of bus/. */
#include "bus/internal.h"

#include <stdio.h>
#include <stdlib.h>

json_t *store_eb_rows(PGconn *c, sy_err_t *err, const char *sql, int n, const char *const *p)
{
    PGresult *r = sy_pg_exec(c, err, sql, n, p);
    if (!r) return NULL;
    json_t *rows = json_array();
    int nf = PQnfields(r);
    for (int i = 0; i < PQntuples(r); i++) {
        json_t *o = json_object();
        for (int f = 0; f < nf; f++)
            json_object_set_new(o, PQfname(r, f),
                                PQgetisnull(r, i, f) ? json_null() : json_string(PQgetvalue(r, i, f)));
        json_array_append_new(rows, o);
    }
    PQclear(r);
    return rows;
}

json_t *store_eb_q(sy_ctx_t *ctx, sy_err_t *err, const char *sql, int n, const char *const *p)
{
    PGconn *c = sy_pg_acquire(ctx->pool);
    if (!c) {
        sy_err_set(err, SY_E_DB, 500, "InternalException", "database unavailable");
        return NULL;
    }
    json_t *rows = store_eb_rows(c, err, sql, n, p);
    sy_pg_release(ctx->pool, c);
    return rows;
}

int store_eb_cmd(PGconn *c, sy_err_t *err, const char *sql, int n, const char *const *p)
{
    PGresult *r = sy_pg_exec(c, err, sql, n, p);
    if (!r) return SY_E_DB;
    const char *t = PQcmdTuples(r);
    int rows = t && *t ? atoi(t) : PQntuples(r);
    PQclear(r);
    return rows;
}

int store_eb_one(json_t *rows, json_t **row)
{
    *row = NULL;
    if (!rows) return SY_E_DB;
    if (json_array_size(rows)) *row = json_incref(json_array_get(rows, 0));
    json_decref(rows);
    return *row ? 1 : 0;
}

const char *store_eb_i64(char buf[24], int64_t v)
{
    snprintf(buf, 24, "%lld", (long long)v);
    return buf;
}

int store_eb_bump(PGconn *c, sy_err_t *err)
{
    int rc = store_eb_cmd(c, err, "UPDATE sy_eb_meta SET version = version + 1 WHERE id = 1", 0, NULL);
    return rc < 0 ? rc : 0;
}

int64_t store_eb_version(PGconn *c, sy_err_t *err)
{
    PGresult *r = sy_pg_exec(c, err, "SELECT version FROM sy_eb_meta WHERE id = 1", 0, NULL);
    if (!r) return SY_E_DB;
    int64_t v = PQntuples(r) ? strtoll(PQgetvalue(r, 0, 0), NULL, 10) : 0;
    PQclear(r);
    return v;
}
