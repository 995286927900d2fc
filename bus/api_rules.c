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
    json_t *row;
    int rc = store_eb_bus_get(svc->ctx, bus, &row, err);
    if (rc == 0) return eb_not_found(err, "Event bus %s does not exist.", bus);
    json_decref(row);
    return rc < 0 ? rc : 0;
}

/* The rule's row (c: inside that transaction, NULL: on a pool connection),
 * or NULL with err (ResourceNotFoundException when there is none). */
static json_t *rule_get(eb_svc_t *svc, PGconn *c, const char *bus, const char *name, sy_err_t *err)
{
    json_t *row;
    if (store_eb_rule_get(svc->ctx, c, bus, name, &row, err) == 0)
        eb_not_found(err, "Rule %s does not exist on EventBus %s.", name, bus);
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

typedef struct {
    eb_rule_in_t rule;
    int64_t next_ms; /* the first tick of a schedule */
} rule_put_t;

static int put_rule_tx(PGconn *c, void *u, sy_err_t *err)
{
    const rule_put_t *r = u;
    int rc = store_eb_rule_put(c, &r->rule, err);
    if (rc >= 0) rc = store_eb_schedule_put(c, r->rule.arn, r->rule.schedule, r->next_ms, err);
    return rc < 0 ? rc : store_eb_bump(c, err);
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
    if (rc == 0) {
        json_t *tags = json_object();
        size_t i;
        json_t *t;
        json_array_foreach(json_object_get(in, "Tags"), i, t) if (sy_json_str(t, "Key"))
            json_object_set_new(tags, sy_json_str(t, "Key"), json_string(sy_json_str(t, "Value") ?: ""));
        char *tt = sy_json_dumps(tags);
        rule_put_t r = {.rule = {.bus = bus, .name = name, .arn = arn, .pattern = pattern, .schedule = sched,
                                 .state = state, .description = sy_json_str(in, "Description"), .tags = tt,
                                 .created_ms = sy_now_ms()},
                        .next_ms = sched ? eb_schedule_next(sched, sy_now_ms(), eb_scale(ctx)) : 0};
        rc = sy_pg_tx(ctx->pool, put_rule_tx, &r, err);
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
    int rc = bus_exists(svc, bus, err);
    json_t *rows = rc == 0 ? store_eb_rule_list(svc->ctx, bus, sy_json_str(in, "NamePrefix") ?: "",
                                                sy_json_str(in, "NextToken") ?: "", (int)limit + 1, err)
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

typedef struct {
    eb_svc_t *svc;
    const char *bus, *name, *state;
    bool force;
} rule_edit_t;

static int delete_rule(PGconn *c, void *u, sy_err_t *err)
{
    const rule_edit_t *d = u;
    json_t *row = rule_get(d->svc, c, d->bus, d->name, err);
    int rc;
    if (!row) rc = rule_err(err) == SY_E_NOTFOUND ? 0 : SY_E_DB; /* AWS: deleting a missing rule succeeds */
    else if (strcmp(sy_json_str(row, "ntargets"), "0") && !d->force)
        rc = eb_validation(err, "Rule can't be deleted since it has targets.");
    else {
        rc = store_eb_rule_delete(c, d->bus, d->name, sy_json_str(row, "arn"), err);
        if (rc >= 0) rc = store_eb_bump(c, err);
    }
    json_decref(row);
    return rc < 0 ? rc : 0;
}

int eb_delete_rule(eb_svc_t *svc, json_t *in, json_t **out, sy_err_t *err)
{
    (void)out;
    const char *name = eb_req_str(in, "Name", err);
    if (!name) return SY_E_INVALID;
    char *bus = eb_bus_name(in, "EventBusName");
    rule_edit_t d = {.svc = svc, .bus = bus, .name = name, .force = json_is_true(json_object_get(in, "Force"))};
    int rc = sy_pg_tx(svc->ctx->pool, delete_rule, &d, err);
    free(bus);
    return rc;
}

static int set_state_tx(PGconn *c, void *u, sy_err_t *err)
{
    const rule_edit_t *e = u;
    int rc = store_eb_rule_set_state(c, e->bus, e->name, e->state, err);
    if (rc == 0) rc = eb_not_found(err, "Rule %s does not exist on EventBus %s.", e->name, e->bus);
    return rc < 0 ? rc : store_eb_bump(c, err);
}

static int set_state(eb_svc_t *svc, json_t *in, const char *state, sy_err_t *err)
{
    const char *name = eb_req_str(in, "Name", err);
    if (!name) return SY_E_INVALID;
    char *bus = eb_bus_name(in, "EventBusName");
    rule_edit_t e = {.svc = svc, .bus = bus, .name = name, .state = state};
    int rc = sy_pg_tx(svc->ctx->pool, set_state_tx, &e, err);
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

typedef struct {
    eb_svc_t *svc;
    const char *bus, *rule;
    json_t *targets; /* put: the Target objects */
    const char *ids; /* remove: a JSON array of target ids */
} targets_edit_t;

static int put_targets_tx(PGconn *c, void *u, sy_err_t *err)
{
    const targets_edit_t *e = u;
    int rc = 0;
    json_t *row = rule_get(e->svc, c, e->bus, e->rule, err);
    json_t *ids = row ? store_eb_target_ids_lock(c, e->bus, e->rule, err) : NULL;
    size_t i;
    json_t *t;
    if (!row) rc = rule_err(err);
    else if (!ids) rc = SY_E_DB;
    else {
        size_t n = json_array_size(ids);
        json_array_foreach(e->targets, i, t)
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
    json_array_foreach(e->targets, i, t)
    {
        if (rc < 0) break;
        char *spec = json_dumps(t, JSON_COMPACT | JSON_PRESERVE_ORDER);
        rc = store_eb_target_put(c, e->bus, e->rule, sy_json_str(t, "Id"), sy_json_str(t, "Arn"), spec, err);
        free(spec);
    }
    if (rc >= 0) rc = store_eb_bump(c, err);
    json_decref(row);
    json_decref(ids);
    return rc;
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
    targets_edit_t e = {.svc = svc, .bus = bus, .rule = rule, .targets = targets};
    int rc = sy_pg_tx(svc->ctx->pool, put_targets_tx, &e, err);
    free(bus);
    if (rc == 0) *out = json_pack("{s:i,s:[]}", "FailedEntryCount", 0, "FailedEntries");
    return rc;
}

static int remove_targets_tx(PGconn *c, void *u, sy_err_t *err)
{
    const targets_edit_t *e = u;
    json_t *row = rule_get(e->svc, c, e->bus, e->rule, err);
    int rc = row ? 0 : rule_err(err);
    if (rc == 0) rc = store_eb_targets_delete(c, e->bus, e->rule, e->ids, err);
    if (rc >= 0) rc = store_eb_bump(c, err);
    json_decref(row);
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
    targets_edit_t e = {.svc = svc, .bus = bus, .rule = rule, .ids = idj};
    int rc = sy_pg_tx(svc->ctx->pool, remove_targets_tx, &e, err);
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
    json_t *rows = rc == 0 ? store_eb_target_list(svc->ctx, bus, rule, sy_json_str(in, "NextToken") ?: "", err) : NULL;
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
    json_t *rows = store_eb_rules_by_target(svc->ctx, arn, bus, sy_json_str(in, "NextToken") ?: "", err);
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
