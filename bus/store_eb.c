/* bus/store_eb.c - EventBridge SQL helpers (the only file of the service
 * that talks to PostgreSQL directly; the statements themselves are kept next
 * to their callers as constants in the api_*.c files and passed here). */
#include "bus/internal.h"

#include <stdlib.h>
#include <string.h>

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

int store_eb_tx(sy_ctx_t *ctx, PGconn **c, sy_err_t *err)
{
    *c = sy_pg_acquire(ctx->pool);
    if (!*c) return sy_err_set(err, SY_E_DB, 500, "InternalException", "database unavailable");
    int rc = store_eb_cmd(*c, err, "BEGIN", 0, NULL);
    if (rc < 0) {
        sy_pg_release(ctx->pool, *c);
        *c = NULL;
        return rc;
    }
    return 0;
}

int store_eb_end(sy_ctx_t *ctx, PGconn *c, int rc, sy_err_t *err)
{
    if (!c) return rc;
    if (rc >= 0) {
        int r2 = store_eb_cmd(c, err, "COMMIT", 0, NULL);
        if (r2 < 0) rc = r2;
    } else {
        store_eb_cmd(c, NULL, "ROLLBACK", 0, NULL);
    }
    sy_pg_release(ctx->pool, c);
    return rc;
}

int store_eb_ensure_default(sy_ctx_t *ctx, sy_err_t *err)
{
    char *arn = sy_arn(ctx, "events", "event-bus/default");
    char now[24];
    snprintf(now, sizeof now, "%lld", (long long)sy_now_ms());
    const char *p[2] = {arn, now};
    PGconn *c = sy_pg_acquire(ctx->pool);
    int rc = c ? store_eb_cmd(c, err,
                              "INSERT INTO sy_eb_buses (name, arn, created_ms) VALUES ('default', $1, $2) "
                              "ON CONFLICT DO NOTHING",
                              2, p)
               : sy_err_set(err, SY_E_DB, 500, "InternalException", "database unavailable");
    if (c) sy_pg_release(ctx->pool, c);
    free(arn);
    return rc < 0 ? rc : 0;
}

json_t *store_eb_bus_get(sy_ctx_t *ctx, const char *name, sy_err_t *err)
{
    const char *p[1] = {name};
    json_t *rows = store_eb_q(ctx, err,
                              "SELECT name, arn, description, policy::text AS policy, tags::text AS tags, created_ms "
                              "FROM sy_eb_buses WHERE name = $1",
                              1, p);
    if (!rows) return NULL;
    json_t *row = json_array_size(rows) ? json_incref(json_array_get(rows, 0)) : NULL;
    json_decref(rows);
    if (!row) eb_not_found(err, "Event bus %s does not exist.", name);
    return row;
}

int store_eb_archive_write(PGconn *c, const char *archive, int64_t time_ms, const char *event, sy_err_t *err)
{
    char t[24];
    snprintf(t, sizeof t, "%lld", (long long)time_ms);
    const char *p[3] = {archive, t, event};
    int rc = store_eb_cmd(c, err, "INSERT INTO sy_eb_archive_events (archive, time_ms, event) VALUES ($1, $2, $3)",
                          3, p);
    return rc < 0 ? rc : 0;
}
