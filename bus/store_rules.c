/* bus/store_rules.c - the statements on rules (sy_eb_rules) and their
 * targets (sy_eb_targets), and the three reads a rules snapshot is built
 * from. */
#include "bus/internal.h"

#include <stdio.h>

int store_eb_rule_get(sy_ctx_t *ctx, PGconn *c, const char *bus, const char *name, json_t **row, sy_err_t *err)
{
    const char *p[2] = {bus, name};
    static const char *sql =
        "SELECT bus, name, arn, pattern, schedule, state, description, role_arn, created_ms, "
        "(SELECT count(*) FROM sy_eb_targets t WHERE t.bus = r.bus AND t.rule = r.name) AS ntargets "
        "FROM sy_eb_rules r WHERE bus = $1 AND name = $2";
    return store_eb_one(c ? store_eb_rows(c, err, sql, 2, p) : store_eb_q(ctx, err, sql, 2, p), row);
}

int store_eb_rule_put(PGconn *c, const eb_rule_in_t *r, sy_err_t *err)
{
    char now[24];
    const char *p[9] = {r->bus,         r->name,     r->arn,
                        r->pattern,     r->schedule, r->state,
                        r->description, r->tags,     store_eb_i64(now, r->created_ms)};
    return store_eb_cmd(c, err,
                        "INSERT INTO sy_eb_rules (bus, name, arn, pattern, schedule, state, description, tags, "
                        "created_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9) ON CONFLICT (bus, name) DO "
                        "UPDATE SET pattern = $4, schedule = $5, state = $6, description = $7",
                        9, p);
}

json_t *store_eb_rule_list(sy_ctx_t *ctx, const char *bus, const char *prefix, const char *after, int max_rows,
                           sy_err_t *err)
{
    char lim[16];
    snprintf(lim, sizeof lim, "%d", max_rows);
    const char *p[4] = {bus, prefix, after, lim};
    return store_eb_q(ctx, err,
                      "SELECT bus, name, arn, pattern, schedule, state, description, role_arn "
                      "FROM sy_eb_rules WHERE bus = $1 AND starts_with(name, $2) AND name > $3 "
                      "ORDER BY name LIMIT $4::int",
                      4, p);
}

int store_eb_rule_delete(PGconn *c, const char *bus, const char *name, const char *arn, sy_err_t *err)
{
    const char *p[3] = {bus, name, arn};
    return store_eb_cmd(c, err,
                        "WITH t AS (DELETE FROM sy_eb_targets WHERE bus = $1 AND rule = $2), "
                        "s AS (DELETE FROM sy_eb_schedules WHERE rule_arn = $3) "
                        "DELETE FROM sy_eb_rules WHERE bus = $1 AND name = $2",
                        3, p);
}

int store_eb_rule_set_state(PGconn *c, const char *bus, const char *name, const char *state, sy_err_t *err)
{
    const char *p[3] = {bus, name, state};
    return store_eb_cmd(c, err, "UPDATE sy_eb_rules SET state = $3 WHERE bus = $1 AND name = $2", 3, p);
}

json_t *store_eb_target_ids_lock(PGconn *c, const char *bus, const char *rule, sy_err_t *err)
{
    const char *p[2] = {bus, rule};
    return store_eb_rows(c, err, "SELECT id FROM sy_eb_targets WHERE bus = $1 AND rule = $2 FOR UPDATE", 2, p);
}

int store_eb_target_put(PGconn *c, const char *bus, const char *rule, const char *id, const char *arn, const char *spec,
                        sy_err_t *err)
{
    const char *p[5] = {bus, rule, id, arn, spec};
    return store_eb_cmd(c, err,
                        "INSERT INTO sy_eb_targets (bus, rule, id, arn, spec) VALUES ($1, $2, $3, $4, $5::jsonb) "
                        "ON CONFLICT (bus, rule, id) DO UPDATE SET arn = $4, spec = $5::jsonb",
                        5, p);
}

int store_eb_targets_delete(PGconn *c, const char *bus, const char *rule, const char *ids, sy_err_t *err)
{
    const char *p[3] = {bus, rule, ids};
    return store_eb_cmd(c, err,
                        "DELETE FROM sy_eb_targets WHERE bus = $1 AND rule = $2 AND id IN "
                        "(SELECT jsonb_array_elements_text($3::jsonb))",
                        3, p);
}

json_t *store_eb_target_list(sy_ctx_t *ctx, const char *bus, const char *rule, const char *after, sy_err_t *err)
{
    const char *p[3] = {bus, rule, after};
    return store_eb_q(ctx, err,
                      "SELECT id, spec::text AS spec FROM sy_eb_targets WHERE bus = $1 AND rule = $2 "
                      "AND id > $3 ORDER BY id",
                      3, p);
}

json_t *store_eb_rules_by_target(sy_ctx_t *ctx, const char *target_arn, const char *bus, const char *after,
                                 sy_err_t *err)
{
    const char *p[3] = {target_arn, bus, after};
    return store_eb_q(ctx, err,
                      "SELECT DISTINCT rule FROM sy_eb_targets WHERE arn = $1 AND bus = $2 AND rule > $3 "
                      "ORDER BY rule",
                      3, p);
}

int store_eb_snapshot_rows(PGconn *c, json_t **buses, json_t **rules, json_t **archives, sy_err_t *err)
{
    *buses = store_eb_rows(c, err, "SELECT name FROM sy_eb_buses ORDER BY name", 0, NULL);
    *rules = *buses ? store_eb_rows(c, err,
                                    "SELECT r.bus, r.name, r.arn, r.pattern, r.schedule, r.state, "
                                    "COALESCE((SELECT json_agg(t.spec ORDER BY t.id) FROM sy_eb_targets t "
                                    "WHERE t.bus = r.bus AND t.rule = r.name), '[]')::text AS targets "
                                    "FROM sy_eb_rules r ORDER BY r.bus, r.name",
                                    0, NULL)
                    : NULL;
    *archives = *rules ? store_eb_rows(c, err,
                                       "SELECT name, bus, pattern FROM sy_eb_archives WHERE state = "
                                       "'ENABLED' ORDER BY name",
                                       0, NULL)
                       : NULL;
    if (*archives) return 0;
    json_decref(*buses);
    json_decref(*rules);
    *buses = *rules = NULL;
    return SY_E_DB;
}
