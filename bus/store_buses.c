/* bus/store_buses.c - the statements on event buses (sy_eb_buses): the
 * default bus, create, delete (with the bus's rules, schedules and
 * targets), describe, list, the permission policy, and the tags of buses
 * and rules. */
#include "bus/internal.h"

#include <stdlib.h>

int store_eb_ensure_default(sy_ctx_t *ctx, sy_err_t *err)
{
    char *arn = sy_arn(ctx, "events", "event-bus/default");
    char now[24];
    const char *p[2] = {arn, store_eb_i64(now, sy_now_ms())};
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

int store_eb_bus_get(sy_ctx_t *ctx, const char *name, json_t **row, sy_err_t *err)
{
    const char *p[1] = {name};
    return store_eb_one(store_eb_q(ctx, err,
                                   "SELECT name, arn, description, policy::text AS policy, tags::text AS tags, "
                                   "created_ms FROM sy_eb_buses WHERE name = $1",
                                   1, p),
                        row);
}

int store_eb_bus_insert(PGconn *c, const char *name, const char *arn, const char *description, const char *tags,
                        int64_t created_ms, sy_err_t *err)
{
    char now[24];
    const char *p[5] = {name, arn, description, tags, store_eb_i64(now, created_ms)};
    return store_eb_cmd(c, err,
                        "INSERT INTO sy_eb_buses (name, arn, description, tags, created_ms) VALUES "
                        "($1, $2, $3, $4::jsonb, $5) ON CONFLICT DO NOTHING",
                        5, p);
}

int store_eb_bus_delete(PGconn *c, const char *name, sy_err_t *err)
{
    const char *p[1] = {name};
    return store_eb_cmd(c, err,
                        "WITH r AS (DELETE FROM sy_eb_rules WHERE bus = $1 RETURNING arn), "
                        "s AS (DELETE FROM sy_eb_schedules WHERE rule_arn IN (SELECT arn FROM r)), "
                        "t AS (DELETE FROM sy_eb_targets WHERE bus = $1) "
                        "DELETE FROM sy_eb_buses WHERE name = $1",
                        1, p);
}

json_t *store_eb_bus_list(sy_ctx_t *ctx, const char *prefix, const char *after, int max_rows, sy_err_t *err)
{
    char lim[16];
    snprintf(lim, sizeof lim, "%d", max_rows);
    const char *p[3] = {prefix, after, lim};
    return store_eb_q(ctx, err,
                      "SELECT name, arn, policy::text AS policy, description, created_ms FROM sy_eb_buses "
                      "WHERE starts_with(name, $1) AND name > $2 ORDER BY name LIMIT $3::int",
                      3, p);
}

int store_eb_bus_policy_put(PGconn *c, const char *bus, const char *statements, bool replace, sy_err_t *err)
{
    const char *p[3] = {bus, statements, replace ? "1" : "0"};
    return store_eb_cmd(c, err,
                        "UPDATE sy_eb_buses SET policy = CASE WHEN $3 = '1' THEN $2::jsonb "
                        "ELSE policy || $2::jsonb END WHERE name = $1",
                        3, p);
}

int store_eb_bus_policy_remove(PGconn *c, const char *bus, const char *sid, bool all, sy_err_t *err)
{
    const char *p[3] = {bus, sid ? sid : "", all ? "1" : "0"};
    return store_eb_cmd(c, err,
                        "UPDATE sy_eb_buses SET policy = CASE WHEN $3 = '1' THEN '{}'::jsonb "
                        "ELSE policy - $2 END WHERE name = $1 AND ($3 = '1' OR policy ? $2)",
                        3, p);
}

json_t *store_eb_tags_edit(sy_ctx_t *ctx, bool of_rule, const char *arn, const char *add, const char *remove,
                           sy_err_t *err)
{
    const char *p[3] = {arn, add, remove};
    const char *q = !of_rule ? "UPDATE sy_eb_buses SET tags = (tags || $2::jsonb) - ARRAY(SELECT "
                               "jsonb_array_elements_text($3::jsonb)) WHERE arn = $1 RETURNING tags::text AS tags"
                             : "UPDATE sy_eb_rules SET tags = (tags || $2::jsonb) - ARRAY(SELECT "
                               "jsonb_array_elements_text($3::jsonb)) WHERE arn = $1 RETURNING tags::text AS tags";
    return store_eb_q(ctx, err, q, 3, p);
}
