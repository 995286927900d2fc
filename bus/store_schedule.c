/* bus/store_schedule.c - the statements on schedule timers
 * (sy_eb_schedules): one row per scheduled rule with its next tick, set by
 * PutRule, claimed by the ticker when due. */
#include "bus/internal.h"

int store_eb_schedule_put(PGconn *c, const char *rule_arn, const char *expr, int64_t next_ms, sy_err_t *err)
{
    char next[24];
    const char *p[3] = {rule_arn, expr, store_eb_i64(next, next_ms)};
    return store_eb_cmd(c, err,
                        expr ? "INSERT INTO sy_eb_schedules (rule_arn, expr, next_ms) VALUES ($1, $2, $3) "
                               "ON CONFLICT (rule_arn) DO UPDATE SET next_ms = CASE WHEN "
                               "sy_eb_schedules.expr = $2 THEN sy_eb_schedules.next_ms ELSE $3::bigint END, "
                               "expr = $2"
                             : "DELETE FROM sy_eb_schedules WHERE rule_arn = $1",
                        expr ? 3 : 1, p);
}

json_t *store_eb_schedules_due(PGconn *c, int64_t now_ms, sy_err_t *err)
{
    char now[24];
    const char *p[1] = {store_eb_i64(now, now_ms)};
    return store_eb_rows(c, err,
                         "SELECT rule_arn, expr, next_ms FROM sy_eb_schedules WHERE next_ms <= $1 "
                         "ORDER BY next_ms LIMIT 20 FOR UPDATE SKIP LOCKED",
                         1, p);
}

int store_eb_schedule_move(PGconn *c, const char *rule_arn, int64_t next_ms, sy_err_t *err)
{
    char next[24];
    const char *p[2] = {rule_arn, store_eb_i64(next, next_ms)};
    return store_eb_cmd(c, err, "UPDATE sy_eb_schedules SET next_ms = $2 WHERE rule_arn = $1", 2, p);
}
