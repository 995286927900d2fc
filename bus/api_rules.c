/* bus/api_rules.c - rules and targets: PutRule, DescribeRule, ListRules,
 * DeleteRule, EnableRule, DisableRule, PutTargets, RemoveTargets,
 * ListTargetsByRule, ListRuleNamesByTarget, TestEventPattern. Every change
 * bumps the rules version in the same transaction. */
#include "bus/internal.h"

#include <stdlib.h>
#include <string.h>

static bool rule_name_ok(const char *n)
{
    size_t l = strlen(n);
    if (l < 1 || l > 64) return false;
    for (const char *p = n; *p; p++)
        if (!strchr(".-_", *p) && !((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')))
            return false;
    return true;
}

static char *rule_arn(const sy_ctx_t *ctx, const char *bus, const char *rule)
{
    char *res = strcmp(bus, "default") ? sy_asprintf("rule/%s/%s", bus, rule) : sy_asprintf("rule/%s", rule);
    char *arn = sy_arn(ctx, "events", res);
    free(res);
    return arn;
}

static int bus_exists(eb_svc_t *svc, const char *bus, sy_err_t *err)
{
    json_t *row = store_eb_bus_get(svc->ctx, bus, err);
    if (!row) return strcmp(err->code, "ResourceNotFoundException") ? SY_E_DB : SY_E_NOTFOUND;
    json_decref(row);
    return 0;
}

static json_t *rule_get(eb_svc_t *svc, PGconn *c, const char *bus, const char *name, sy_err_t *err)
{
    const char *p[2] = {bus, name};
    static const char *sql = "SELECT bus, name, arn, pattern, schedule, state, description, role_arn, created_ms, "
                             "(SELECT count(*) FROM sy_eb_targets t WHERE t.bus = r.bus AND t.rule = r.name) AS ntargets "
                             "FROM sy_eb_rules r WHERE bus = $1 AND name = $2";
    json_t *rows = c ? store_eb_rows(c, err, sql, 2, p) : store_eb_q(svc->ctx, err, sql, 2, p);
    if (!rows) return NULL;
    json_t *row = json_array_size(rows) ? json_incref(json_array_get(rows, 0)) : NULL;
    json_decref(rows);
    if (!row) eb_not_found(err, "Rule %s does not exist on EventBus %s.", name, bus);
    return row;
}

static int rule_err(const sy_err_t *err)
{
    return !strcmp(err->code, "ResourceNotFoundException") ? SY_E_NOTFOUND : SY_E_DB;
}

static json_t *rule_json(const json_t *row)
{
    json_t *o = json_pack("{s:s,s:s,s:s,s:s}", "Name", sy_json_str(row, "name"), "Arn", sy_json_str(row, "arn"),
                          "State", sy_json_str(row, "state"), "EventBusName", sy_json_str(row, "bus"));
    static const char *opt[][2] = {{"pattern", "EventPattern"},
                                   {"schedule", "ScheduleExpression"},
                                   {"description", "Description"},
                                   {"role_arn", "RoleArn"}};
    for (size_t i = 0; i < 4; i++)
        if (sy_json_str(row, opt[i][0])) json_object_set_new(o, opt[i][1], json_string(sy_json_str(row, opt[i][0])));
    return o;
}

int eb_put_rule(eb_svc_t *svc, json_t *in, json_t **out, sy_err_t *err)
{
    sy_ctx_t *ctx = svc->ctx;
    const char *name = eb_req_str(in, "Name", err);
    if (!name) return SY_E_INVALID;
    if (!rule_name_ok(name))
        return eb_validation(err, "1 validation error detected: Value '%s' at 'name' failed to satisfy constraint: "
                                  "Member must satisfy regular expression pattern: [\\.\\-_A-Za-z0-9]+",
                             name);
    const char *pattern = sy_json_str(in, "EventPattern"), *sched = sy_json_str(in, "ScheduleExpression");
    const char *state = sy_json_str(in, "State") ? sy_json_str(in, "State") : "ENABLED";
    if (strcmp(state, "ENABLED") && strcmp(state, "DISABLED") &&
        strcmp(state, "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS"))
        return eb_validation(err, "1 validation error detected: Value '%s' at 'state' failed to satisfy constraint: "
                                  "Member must satisfy enum value set: [ENABLED, DISABLED]",
                             state);
    if (!pattern && !sched) return eb_validation(err, "Parameter(s) EventPattern or ScheduleExpression must be specified.");
    if (pattern && sy_pattern_validate(SY_PATTERN_EVENTBRIDGE, pattern, strlen(pattern), err) < 0) return SY_E_INVALID;
    if (sched && eb_schedule_parse(sched, err) < 0) return SY_E_INVALID;
    char *bus = eb_bus_name(in, "EventBusName");
    int rc = 0;
    if (sched && strcmp(bus, "default"))
        rc = eb_validation(err, "ScheduleExpression is supported only on the default event bus.");
    if (rc == 0) rc = bus_exists(svc, bus, err);
    char *arn = rule_arn(ctx, bus, name);
    PGconn *c = NULL;
    if (rc == 0) rc = store_eb_tx(ctx, &c, err);
    if (rc == 0) {
        json_t *tags = json_object();
        size_t i;
        json_t *t;
        json_array_foreach(json_object_get(in, "Tags"), i, t) if (sy_json_str(t, "Key"))
            json_object_set_new(tags, sy_json_str(t, "Key"), json_string(sy_json_str(t, "Value") ?: ""));
        char *tt = sy_json_dumps(tags), now[24], next[24];
        snprintf(now, sizeof now, "%lld", (long long)sy_now_ms());
        snprintf(next, sizeof next, "%lld", (long long)(sched ? eb_schedule_next(sched, sy_now_ms(), eb_scale(ctx)) : 0));
        const char *p[9] = {bus, name, arn, pattern, sched, state, sy_json_str(in, "Description"), tt, now};
        rc = store_eb_cmd(c, err,
                          "INSERT INTO sy_eb_rules (bus, name, arn, pattern, schedule, state, description, tags, "
                          "created_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9) ON CONFLICT (bus, name) DO "
                          "UPDATE SET pattern = $4, schedule = $5, state = $6, description = $7",
                          9, p);
        const char *ps[3] = {arn, sched, next};
        if (rc >= 0)
            rc = store_eb_cmd(c, err,
                              sched ? "INSERT INTO sy_eb_schedules (rule_arn, expr, next_ms) VALUES ($1, $2, $3) "
                                      "ON CONFLICT (rule_arn) DO UPDATE SET next_ms = CASE WHEN "
                                      "sy_eb_schedules.expr = $2 THEN sy_eb_schedules.next_ms ELSE $3::bigint END, "
                                      "expr = $2"
                                    : "DELETE FROM sy_eb_schedules WHERE rule_arn = $1",
                              sched ? 3 : 1, ps);
        if (rc >= 0) rc = store_eb_bump(c, err);
        rc = store_eb_end(ctx, c, rc, err);
        free(tt);
        json_decref(tags);
    }
    if (rc >= 0) *out = json_pack("{s:s}", "RuleArn", arn);
    free(arn);
    free(bus);
    return rc < 0 ? rc : 0;
}

int eb_describe_rule(eb_svc_t *svc, json_t *in, json_t **out, sy_err_t *err)
{
    const char *name = eb_req_str(in, "Name", err);
    if (!name) return SY_E_INVALID;
    char *bus = eb_bus_name(in, "EventBusName");
    json_t *row = rule_get(svc, NULL, bus, name, err);
    free(bus);
    if (!row) return rule_err(err);
    *out = rule_json(row);
    json_object_set_new(*out, "CreatedBy", json_string(svc->ctx->cfg.account_id));
    json_decref(row);
    return 0;
}

int eb_list_rules(eb_svc_t *svc, json_t *in, json_t **out, sy_err_t *err)
{
    char *bus = eb_bus_name(in, "EventBusName");
    int64_t limit = 100;
    if (!sy_json_int(in, "Limit", &limit) || limit < 1 || limit > 100) limit = 100;
    char lim[16];
    snprintf(lim, sizeof lim, "%d", (int)limit + 1);
    const char *p[4] = {bus, sy_json_str(in, "NamePrefix") ?: "", sy_json_str(in, "NextToken") ?: "", lim};
    int rc = bus_exists(svc, bus, err);
    json_t *rows = rc == 0 ? store_eb_q(svc->ctx, err,
                                        "SELECT bus, name, arn, pattern, schedule, state, description, role_arn "
                                        "FROM sy_eb_rules WHERE bus = $1 AND starts_with(name, $2) AND name > $3 "
                                        "ORDER BY name LIMIT $4::int",
                                        4, p)
                           : NULL;
    free(bus);
    if (rc < 0) return rc;
    if (!rows) return SY_E_DB;
    json_t *list = json_array();
    for (size_t i = 0; i < json_array_size(rows) && (int64_t)i < limit; i++)
        json_array_append_new(list, rule_json(json_array_get(rows, i)));
    *out = json_pack("{s:o}", "Rules", list);
    if ((int64_t)json_array_size(rows) > limit)
        json_object_set_new(*out, "NextToken", json_string(sy_json_str(json_array_get(rows, limit - 1), "name")));
    json_decref(rows);
    return 0;
}

int eb_delete_rule(eb_svc_t *svc, json_t *in, json_t **out, sy_err_t *err)
{
    (void)out;
    const char *name = eb_req_str(in, "Name", err);
    if (!name) return SY_E_INVALID;
    char *bus = eb_bus_name(in, "EventBusName");
    PGconn *c;
    int rc = store_eb_tx(svc->ctx, &c, err);
    if (rc == 0) {
        json_t *row = rule_get(svc, c, bus, name, err);
        if (!row) rc = rule_err(err) == SY_E_NOTFOUND ? 0 : SY_E_DB; /* AWS: deleting a missing rule succeeds */
        else if (strcmp(sy_json_str(row, "ntargets"), "0") && !json_is_true(json_object_get(in, "Force")))
            rc = eb_validation(err, "Rule can't be deleted since it has targets.");
        else {
            const char *p[3] = {bus, name, sy_json_str(row, "arn")};
            rc = store_eb_cmd(c, err,
                              "WITH t AS (DELETE FROM sy_eb_targets WHERE bus = $1 AND rule = $2), "
                              "s AS (DELETE FROM sy_eb_schedules WHERE rule_arn = $3) "
                              "DELETE FROM sy_eb_rules WHERE bus = $1 AND name = $2",
                              3, p);
            if (rc >= 0) rc = store_eb_bump(c, err);
        }
        if (row) sy_err_clear(rc == 0 ? err : NULL);
        json_decref(row);
        rc = store_eb_end(svc->ctx, c, rc, err);
    }
    free(bus);
    return rc;
}

static int set_state(eb_svc_t *svc, json_t *in, const char *state, sy_err_t *err)
{
    const char *name = eb_req_str(in, "Name", err);
    if (!name) return SY_E_INVALID;
    char *bus = eb_bus_name(in, "EventBusName");
    const char *p[3] = {bus, name, state};
    PGconn *c;
    int rc = store_eb_tx(svc->ctx, &c, err);
    if (rc == 0) {
        rc = store_eb_cmd(c, err, "UPDATE sy_eb_rules SET state = $3 WHERE bus = $1 AND name = $2", 3, p);
        if (rc == 0) rc = eb_not_found(err, "Rule %s does not exist on EventBus %s.", name, bus);
        if (rc > 0) rc = store_eb_bump(c, err);
        rc = store_eb_end(svc->ctx, c, rc, err);
    }
    free(bus);
    return rc;
}

int eb_enable_rule(eb_svc_t *svc, json_t *in, json_t **out, sy_err_t *err)
{
    (void)out;
    return set_state(svc, in, "ENABLED", err);
}

int eb_disable_rule(eb_svc_t *svc, json_t *in, json_t **out, sy_err_t *err)
{
    (void)out;
    return set_state(svc, in, "DISABLED", err);
}

/* ------------------------------------------------------------ targets */
static int check_target(eb_svc_t *svc, const json_t *t, sy_err_t *err)
{
    const char *id = sy_json_str(t, "Id"), *arn = sy_json_str(t, "Arn");
    if (!id || !arn || !*id || strlen(id) > 64 || !rule_name_ok(id))
        return eb_validation(err, "Parameter(s) Id and Arn must be specified for every target.");
    int shapes = !!json_object_get(t, "Input") + !!json_object_get(t, "InputPath") +
                 !!json_object_get(t, "InputTransformer");
    if (shapes > 1)
        return eb_validation(err, "Only one of Input, InputPath, or InputTransformer must be provided for target %s.",
                             id);
    const char *input = sy_json_str(t, "Input");
    if (input) {
        json_t *j = json_loads(input, JSON_DECODE_ANY, NULL);
        if (!j) return eb_validation(err, "Input for target %s is not a valid JSON text.", id);
        json_decref(j);
    }
    const json_t *it = json_object_get(t, "InputTransformer");
    if (it && !sy_json_str(it, "InputTemplate"))
        return eb_validation(err, "InputTemplate must be specified for target %s.", id);
    if (json_object_size(json_object_get(it, "InputPathsMap")) > 100)
        return eb_validation(err, "InputPathsMap has more than 100 entries for target %s.", id);
    const json_t *rp = json_object_get(t, "RetryPolicy");
    int64_t v;
    if (sy_json_int(rp, "MaximumRetryAttempts", &v) && (v < 0 || v > 185))
        return eb_validation(err, "MaximumRetryAttempts must be between 0 and 185 for target %s.", id);
    if (sy_json_int(rp, "MaximumEventAgeInSeconds", &v) && (v < 60 || v > 86400))
        return eb_validation(err, "MaximumEventAgeInSeconds must be between 60 and 86400 for target %s.", id);
    const char *dlq = sy_json_str(json_object_get(t, "DeadLetterConfig"), "Arn");
    if (dlq && strncmp(dlq, "arn:aws:sqs:", 12))
        return eb_validation(err, "DeadLetterConfig Arn must be an SQS queue ARN for target %s.", id);
    bool ok = !strncmp(arn, "arn:aws:sqs:", 12) || !strncmp(arn, "arn:aws:sns:", 12) || !strncmp(arn, "arn:aws:states:", 15) ||
              !strncmp(arn, "arn:aws:lambda:", 15) ||
              (!strncmp(arn, "arn:aws:events:", 15) && (strstr(arn, ":event-bus/") || strstr(arn, ":api-destination/")));
    if (!ok) return eb_validation(err, "Target type of %s is not supported by Switchyard.", arn);
    if (!strncmp(arn, "arn:aws:sqs:", 12) && strlen(arn) > 5 && !strcmp(arn + strlen(arn) - 5, ".fifo") &&
        !sy_json_str(json_object_get(t, "SqsParameters"), "MessageGroupId"))
        return eb_validation(err, "Parameter(s) SqsParameters must be specified for target: %s.", id);
    (void)svc;
    return 0;
}

int eb_put_targets(eb_svc_t *svc, json_t *in, json_t **out, sy_err_t *err)
{
    const char *rule = eb_req_str(in, "Rule", err);
    if (!rule) return SY_E_INVALID;
    json_t *targets = json_object_get(in, "Targets");
    if (!json_is_array(targets) || !json_array_size(targets))
        return eb_validation(err, "1 validation error detected: Value null at 'targets' failed to satisfy "
                                  "constraint: Member must not be null");
    if (json_array_size(targets) > 10)
        return eb_validation(err, "1 validation error detected: Value at 'targets' failed to satisfy constraint: "
                                  "Member must have length less than or equal to 10");
    size_t i;
    json_t *t;
    json_array_foreach(targets, i, t) if (check_target(svc, t, err) < 0) return SY_E_INVALID;
    char *bus = eb_bus_name(in, "EventBusName");
    PGconn *c;
    int rc = store_eb_tx(svc->ctx, &c, err);
    if (rc == 0) {
        const char *p[2] = {bus, rule};
        json_t *row = rule_get(svc, c, bus, rule, err);
        json_t *ids = row ? store_eb_rows(c, err, "SELECT id FROM sy_eb_targets WHERE bus = $1 AND rule = $2 FOR UPDATE",
                                          2, p)
                          : NULL;
        if (!row) rc = rule_err(err);
        else if (!ids) rc = SY_E_DB;
        else {
            size_t n = json_array_size(ids);
            json_array_foreach(targets, i, t)
            {
                bool known = false;
                for (size_t k = 0; k < json_array_size(ids); k++)
                    if (!strcmp(sy_json_str(json_array_get(ids, k), "id"), sy_json_str(t, "Id"))) known = true;
                if (!known) n++;
            }
            if (n > EB_MAX_TARGETS)
                rc = sy_err_set(err, SY_E_LIMIT, 400, "LimitExceededException",
                                "The requested resource exceeds the maximum number allowed.");
        }
        json_array_foreach(targets, i, t)
        {
            if (rc < 0) break;
            char *spec = json_dumps(t, JSON_COMPACT | JSON_PRESERVE_ORDER);
            const char *q[5] = {bus, rule, sy_json_str(t, "Id"), sy_json_str(t, "Arn"), spec};
            rc = store_eb_cmd(c, err,
                              "INSERT INTO sy_eb_targets (bus, rule, id, arn, spec) VALUES ($1, $2, $3, $4, $5::jsonb) "
                              "ON CONFLICT (bus, rule, id) DO UPDATE SET arn = $4, spec = $5::jsonb",
                              5, q);
            free(spec);
        }
        if (rc >= 0) rc = store_eb_bump(c, err);
        rc = store_eb_end(svc->ctx, c, rc, err);
        json_decref(row);
        json_decref(ids);
    }
    free(bus);
    if (rc == 0) *out = json_pack("{s:i,s:[]}", "FailedEntryCount", 0, "FailedEntries");
    return rc;
}

int eb_remove_targets(eb_svc_t *svc, json_t *in, json_t **out, sy_err_t *err)
{
    const char *rule = eb_req_str(in, "Rule", err);
    if (!rule) return SY_E_INVALID;
    json_t *ids = json_object_get(in, "Ids");
    if (!json_is_array(ids) || !json_array_size(ids))
        return eb_validation(err, "1 validation error detected: Value null at 'ids' failed to satisfy constraint: "
                                  "Member must not be null");
    char *bus = eb_bus_name(in, "EventBusName");
    char *idj = sy_json_dumps(ids);
    PGconn *c;
    int rc = store_eb_tx(svc->ctx, &c, err);
    if (rc == 0) {
        json_t *row = rule_get(svc, c, bus, rule, err);
        if (!row) rc = rule_err(err);
        const char *p[3] = {bus, rule, idj};
        if (rc == 0)
            rc = store_eb_cmd(c, err,
                              "DELETE FROM sy_eb_targets WHERE bus = $1 AND rule = $2 AND id IN "
                              "(SELECT jsonb_array_elements_text($3::jsonb))",
                              3, p);
        if (rc >= 0) rc = store_eb_bump(c, err);
        rc = store_eb_end(svc->ctx, c, rc, err);
        json_decref(row);
    }
    free(idj);
    free(bus);
    if (rc == 0) *out = json_pack("{s:i,s:[]}", "FailedEntryCount", 0, "FailedEntries");
    return rc;
}

int eb_list_targets_by_rule(eb_svc_t *svc, json_t *in, json_t **out, sy_err_t *err)
{
    const char *rule = eb_req_str(in, "Rule", err);
    if (!rule) return SY_E_INVALID;
    char *bus = eb_bus_name(in, "EventBusName");
    json_t *row = rule_get(svc, NULL, bus, rule, err);
    int rc = row ? 0 : rule_err(err);
    const char *p[3] = {bus, rule, sy_json_str(in, "NextToken") ?: ""};
    json_t *rows = rc == 0 ? store_eb_q(svc->ctx, err,
                                        "SELECT id, spec::text AS spec FROM sy_eb_targets WHERE bus = $1 AND rule = $2 "
                                        "AND id > $3 ORDER BY id",
                                        3, p)
                           : NULL;
    if (rc == 0 && !rows) rc = SY_E_DB;
    if (rc == 0) {
        json_t *list = json_array();
        size_t i;
        json_t *r;
        json_array_foreach(rows, i, r) json_array_append_new(list, json_loads(sy_json_str(r, "spec"), 0, NULL));
        *out = json_pack("{s:o}", "Targets", list);
    }
    json_decref(rows);
    json_decref(row);
    free(bus);
    return rc;
}

int eb_list_rule_names_by_target(eb_svc_t *svc, json_t *in, json_t **out, sy_err_t *err)
{
    const char *arn = eb_req_str(in, "TargetArn", err);
    if (!arn) return SY_E_INVALID;
    char *bus = eb_bus_name(in, "EventBusName");
    const char *p[3] = {arn, bus, sy_json_str(in, "NextToken") ?: ""};
    json_t *rows = store_eb_q(svc->ctx, err,
                              "SELECT DISTINCT rule FROM sy_eb_targets WHERE arn = $1 AND bus = $2 AND rule > $3 "
                              "ORDER BY rule",
                              3, p);
    free(bus);
    if (!rows) return SY_E_DB;
    json_t *names = json_array();
    size_t i;
    json_t *r;
    json_array_foreach(rows, i, r) json_array_append_new(names, json_string(sy_json_str(r, "rule")));
    *out = json_pack("{s:o}", "RuleNames", names);
    json_decref(rows);
    return 0;
}

int eb_test_event_pattern(eb_svc_t *svc, json_t *in, json_t **out, sy_err_t *err)
{
    (void)svc;
    const char *pattern = eb_req_str(in, "EventPattern", err);
    if (!pattern) return SY_E_INVALID;
    const char *event = eb_req_str(in, "Event", err);
    if (!event) return SY_E_INVALID;
    json_t *ev = json_loads(event, 0, NULL);
    static const char *need[] = {"id", "account", "source", "time", "region", "detail-type", NULL};
    bool ok = json_is_object(ev);
    for (const char **k = need; ok && *k; k++) ok = json_object_get(ev, *k) != NULL;
    json_decref(ev);
    if (!ok) return eb_validation(err, "Parameter Event is not valid.");
    if (sy_pattern_validate(SY_PATTERN_EVENTBRIDGE, pattern, strlen(pattern), err) < 0) return SY_E_INVALID;
    sy_matcher_t *m = sy_matcher_new(SY_PATTERN_EVENTBRIDGE);
    int rc = sy_matcher_add(m, "p", pattern, strlen(pattern), err);
    int n = rc == 0 ? sy_matcher_match(m, event, strlen(event), NULL, NULL) : 0;
    sy_matcher_destroy(&m);
    if (rc < 0) return rc;
    *out = json_pack("{s:b}", "Result", n > 0);
    return 0;
}
