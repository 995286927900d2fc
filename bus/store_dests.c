/* bus/store_dests.c - the statements on connections (sy_eb_connections)
 * and API destinations (sy_eb_destinations), and the lookup an API
 * destination delivery needs. */
#include "bus/internal.h"

/* ------------------------------------------------------------ connections */
int store_eb_connection_insert(PGconn *c, const char *name, const char *arn, const char *description,
                               const char *auth_type, const char *auth, int64_t created_ms, sy_err_t *err)
{
    char now[24];
    const char *p[6] = {name, arn, description, auth_type, auth, store_eb_i64(now, created_ms)};
    return store_eb_cmd(c, err,
                        "INSERT INTO sy_eb_connections (name, arn, description, auth_type, auth, state, created_ms, "
                        "updated_ms) VALUES ($1, $2, $3, $4, $5::jsonb, 'AUTHORIZED', $6, $6) ON CONFLICT DO NOTHING",
                        6, p);
}

int store_eb_connection_get(sy_ctx_t *ctx, const char *name, json_t **row, sy_err_t *err)
{
    const char *p[1] = {name};
    return store_eb_one(store_eb_q(ctx, err,
                                   "SELECT name, arn, description, auth_type, auth::text AS auth, state, created_ms, "
                                   "updated_ms FROM sy_eb_connections WHERE name = $1",
                                   1, p),
                        row);
}

int store_eb_connection_exists(sy_ctx_t *ctx, const char *arn, sy_err_t *err)
{
    const char *p[1] = {arn};
    json_t *row;
    int rc = store_eb_one(store_eb_q(ctx, err, "SELECT name FROM sy_eb_connections WHERE arn = $1", 1, p), &row);
    json_decref(row);
    return rc;
}

json_t *store_eb_connection_list(sy_ctx_t *ctx, const char *prefix, const char *after, sy_err_t *err)
{
    const char *p[2] = {prefix, after};
    return store_eb_q(ctx, err,
                      "SELECT name, arn, auth_type, state, created_ms, updated_ms FROM sy_eb_connections "
                      "WHERE starts_with(name, $1) AND name > $2 ORDER BY name",
                      2, p);
}

int store_eb_connection_update(PGconn *c, const char *name, const char *description, const char *auth_type,
                               const char *auth, int64_t updated_ms, sy_err_t *err)
{
    char now[24];
    const char *p[5] = {name, description, auth_type, auth, store_eb_i64(now, updated_ms)};
    return store_eb_cmd(c, err,
                        "UPDATE sy_eb_connections SET description = COALESCE($2, description), auth_type = $3, "
                        "auth = COALESCE($4::jsonb, auth), updated_ms = $5 WHERE name = $1",
                        5, p);
}

int store_eb_connection_delete(PGconn *c, const char *name, sy_err_t *err)
{
    const char *p[1] = {name};
    return store_eb_cmd(c, err, "DELETE FROM sy_eb_connections WHERE name = $1", 1, p);
}

/* ------------------------------------------------------------ destinations */
int store_eb_dest_insert(PGconn *c, const eb_dest_in_t *d, sy_err_t *err)
{
    char rate[24], now[24];
    const char *p[8] = {d->name,
                        d->arn,
                        d->description,
                        d->connection_arn,
                        d->endpoint,
                        d->method,
                        store_eb_i64(rate, d->rate),
                        store_eb_i64(now, d->created_ms)};
    return store_eb_cmd(
        c, err,
        "INSERT INTO sy_eb_destinations (name, arn, description, connection_arn, endpoint, method, "
        "rate, created_ms, updated_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) ON CONFLICT DO NOTHING",
        8, p);
}

int store_eb_dest_get(sy_ctx_t *ctx, const char *name, json_t **row, sy_err_t *err)
{
    const char *p[1] = {name};
    return store_eb_one(store_eb_q(ctx, err,
                                   "SELECT name, arn, description, connection_arn, endpoint, method, rate, created_ms, "
                                   "updated_ms FROM sy_eb_destinations WHERE name = $1",
                                   1, p),
                        row);
}

json_t *store_eb_dest_list(sy_ctx_t *ctx, const char *prefix, const char *connection_arn, const char *after,
                           sy_err_t *err)
{
    const char *p[3] = {prefix, connection_arn, after};
    return store_eb_q(ctx, err,
                      "SELECT name, arn, description, connection_arn, endpoint, method, rate, created_ms, "
                      "updated_ms FROM sy_eb_destinations WHERE starts_with(name, $1) AND "
                      "($2 = '' OR connection_arn = $2) AND name > $3 ORDER BY name",
                      3, p);
}

int store_eb_dest_update(PGconn *c, const eb_dest_in_t *d, sy_err_t *err)
{
    char rate[24], now[24];
    const char *p[7] = {d->name,
                        d->description,
                        d->connection_arn,
                        d->endpoint,
                        d->method,
                        store_eb_i64(rate, d->rate),
                        store_eb_i64(now, d->updated_ms)};
    return store_eb_cmd(c, err,
                        "UPDATE sy_eb_destinations SET description = COALESCE($2, description), connection_arn = "
                        "COALESCE($3, connection_arn), endpoint = COALESCE($4, endpoint), method = COALESCE($5, "
                        "method), rate = CASE WHEN $6::int > 0 THEN $6::int ELSE rate END, updated_ms = $7 "
                        "WHERE name = $1",
                        7, p);
}

int store_eb_dest_delete(PGconn *c, const char *name, sy_err_t *err)
{
    const char *p[1] = {name};
    return store_eb_cmd(c, err, "DELETE FROM sy_eb_destinations WHERE name = $1", 1, p);
}

int store_eb_dest_for_delivery(sy_ctx_t *ctx, const char *arn, json_t **row, sy_err_t *err)
{
    const char *p[1] = {arn};
    return store_eb_one(
        store_eb_q(ctx, err,
                   "SELECT d.name, d.endpoint, d.method, d.rate, c.auth_type, c.auth::text AS auth "
                   "FROM sy_eb_destinations d LEFT JOIN sy_eb_connections c ON c.arn = d.connection_arn "
                   "WHERE d.arn = $1",
                   1, p),
        row);
}
