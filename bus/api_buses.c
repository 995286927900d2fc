/* bus/api_buses.c - event buses (CreateEventBus, DeleteEventBus,
 * DescribeEventBus, ListEventBuses), permissions (PutPermission,
 * RemovePermission) and tags (TagResource, UntagResource,
 * ListTagsForResource) of buses and rules. */
#include "bus/internal.h"

#include <stdlib.h>
#include <string.h>

static bool bus_name_ok(const char *n)
{
    size_t l = strlen(n);
    if (l < 1 || l > 256) return false;
    for (const char *p = n; *p; p++)
        if (!strchr("/.-_", *p) && !((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')))
            return false;
    return true;
}

static json_t *tags_to_list(const char *tags_text)
{
    json_t *t = json_loads(tags_text ? tags_text : "{}", 0, NULL), *out = json_array();
    const char *k;
    json_t *v;
    json_object_foreach(t, k, v) json_array_append_new(out, json_pack("{s:s,s:O}", "Key", k, "Value", v));
    json_decref(t);
    return out;
}

static json_t *tags_from_list(const json_t *list)
{
    json_t *o = json_object();
    size_t i;
    json_t *e;
    json_array_foreach(list, i, e)
    {
        const char *k = sy_json_str(e, "Key"), *v = sy_json_str(e, "Value");
        if (k) json_object_set_new(o, k, json_string(v ? v : ""));
    }
    return o;
}

/* ------------------------------------------------------------ buses */
int eb_create_event_bus(eb_svc_t *svc, json_t *in, json_t **out, sy_err_t *err)
{
    const char *name = eb_req_str(in, "Name", err);
    if (!name) return SY_E_INVALID;
    if (!bus_name_ok(name) || strchr(name, '/'))
        return eb_validation(err, "Event bus name %s is not valid.", name);
    if (!strcmp(name, "default"))
        return sy_err_set(err, SY_E_EXISTS, 400, "ResourceAlreadyExistsException", "Event bus default already exists.");
    char *res = sy_asprintf("event-bus/%s", name);
    char *arn = sy_arn(svc->ctx, "events", res);
    json_t *tags = tags_from_list(json_object_get(in, "Tags"));
    char *tt = sy_json_dumps(tags), now[24];
    snprintf(now, sizeof now, "%lld", (long long)sy_now_ms());
    const char *p[5] = {name, arn, sy_json_str(in, "Description"), tt, now};
    PGconn *c;
    int rc = store_eb_tx(svc->ctx, &c, err);
    if (rc == 0) {
        rc = store_eb_cmd(c, err,
                          "INSERT INTO sy_eb_buses (name, arn, description, tags, created_ms) VALUES "
                          "($1, $2, $3, $4::jsonb, $5) ON CONFLICT DO NOTHING",
                          5, p);
        if (rc == 0) rc = sy_err_set(err, SY_E_EXISTS, 400, "ResourceAlreadyExistsException",
                                     "Event bus %s already exists.", name);
        if (rc > 0) rc = store_eb_bump(c, err);
        rc = store_eb_end(svc->ctx, c, rc, err);
    }
    if (rc == 0) *out = json_pack("{s:s}", "EventBusArn", arn);
    free(res);
    free(arn);
    free(tt);
    json_decref(tags);
    return rc;
}

int eb_delete_event_bus(eb_svc_t *svc, json_t *in, json_t **out, sy_err_t *err)
{
    (void)out;
    const char *name = eb_req_str(in, "Name", err);
    if (!name) return SY_E_INVALID;
    if (!strcmp(name, "default")) return eb_validation(err, "Cannot delete event bus default.");
    const char *p[1] = {name};
    PGconn *c;
    int rc = store_eb_tx(svc->ctx, &c, err);
    if (rc < 0) return rc;
    rc = store_eb_cmd(c, err,
                      "WITH r AS (DELETE FROM sy_eb_rules WHERE bus = $1 RETURNING arn), "
                      "s AS (DELETE FROM sy_eb_schedules WHERE rule_arn IN (SELECT arn FROM r)), "
                      "t AS (DELETE FROM sy_eb_targets WHERE bus = $1) "
                      "DELETE FROM sy_eb_buses WHERE name = $1",
                      1, p);
    if (rc >= 0) rc = store_eb_bump(c, err);
    return store_eb_end(svc->ctx, c, rc, err);
}

static json_t *policy_doc(const char *policy_text)
{
    json_t *pol = json_loads(policy_text ? policy_text : "{}", 0, NULL);
    if (!json_object_size(pol)) {
        json_decref(pol);
        return NULL;
    }
    json_t *st = json_array();
    const char *k;
    json_t *v;
    json_object_foreach(pol, k, v) json_array_append(st, v);
    json_decref(pol);
    return json_pack("{s:s,s:o}", "Version", "2012-10-17", "Statement", st);
}

static void bus_fields(json_t *o, const json_t *row, bool full)
{
    json_object_set_new(o, "Name", json_string(sy_json_str(row, "name")));
    json_object_set_new(o, "Arn", json_string(sy_json_str(row, "arn")));
    json_t *doc = policy_doc(sy_json_str(row, "policy"));
    if (doc) {
        char *d = sy_json_dumps(doc);
        json_object_set_new(o, "Policy", json_string(d));
        free(d);
        json_decref(doc);
    }
    if (full && sy_json_str(row, "description"))
        json_object_set_new(o, "Description", json_string(sy_json_str(row, "description")));
    if (full && sy_json_str(row, "created_ms")) {
        double t = eb_secs(strtoll(sy_json_str(row, "created_ms"), NULL, 10));
        json_object_set_new(o, "CreationTime", json_real(t));
        json_object_set_new(o, "LastModifiedTime", json_real(t));
    }
}

int eb_describe_event_bus(eb_svc_t *svc, json_t *in, json_t **out, sy_err_t *err)
{
    char *name = eb_bus_name(in, "Name");
    json_t *row = store_eb_bus_get(svc->ctx, name, err);
    free(name);
    if (!row) return err->code[0] && !strcmp(err->code, "ResourceNotFoundException") ? SY_E_NOTFOUND : SY_E_DB;
    *out = json_object();
    bus_fields(*out, row, true);
    json_decref(row);
    return 0;
}

/* NextToken: the last name of the previous page. */
static int limit_of(const json_t *in)
{
    int64_t l = 100;
    if (!sy_json_int(in, "Limit", &l) || l < 1 || l > 100) l = 100;
    return (int)l;
}

int eb_list_event_buses(eb_svc_t *svc, json_t *in, json_t **out, sy_err_t *err)
{
    char lim[16];
    int limit = limit_of(in);
    snprintf(lim, sizeof lim, "%d", limit + 1);
    const char *p[3] = {sy_json_str(in, "NamePrefix") ? sy_json_str(in, "NamePrefix") : "",
                        sy_json_str(in, "NextToken") ? sy_json_str(in, "NextToken") : "", lim};
    json_t *rows = store_eb_q(svc->ctx, err,
                              "SELECT name, arn, policy::text AS policy, description, created_ms FROM sy_eb_buses "
                              "WHERE starts_with(name, $1) AND name > $2 ORDER BY name LIMIT $3::int",
                              3, p);
    if (!rows) return SY_E_DB;
    json_t *list = json_array();
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row)
    {
        if ((int)i == limit) break;
        json_t *o = json_object();
        bus_fields(o, row, true);
        json_array_append_new(list, o);
    }
    *out = json_pack("{s:o}", "EventBuses", list);
    if ((int)json_array_size(rows) > limit)
        json_object_set_new(*out, "NextToken", json_string(sy_json_str(json_array_get(rows, limit - 1), "name")));
    json_decref(rows);
    return 0;
}

/* ------------------------------------------------------------ permissions */
int eb_put_permission(eb_svc_t *svc, json_t *in, json_t **out, sy_err_t *err)
{
    (void)out;
    char *bus = eb_bus_name(in, "EventBusName");
    json_t *pol = json_object_get(in, "Policy");
    json_t *stmts = json_object();
    int rc = 0;
    if (json_is_string(pol)) { /* a whole policy document replaces the statements */
        json_t *doc = json_loads(json_string_value(pol), 0, NULL);
        json_t *st = json_object_get(doc, "Statement");
        if (!json_is_array(st)) rc = eb_validation(err, "Policy is not valid.");
        size_t i;
        json_t *s;
        json_array_foreach(st, i, s)
        {
            const char *sid = sy_json_str(s, "Sid");
            char buf[24];
            snprintf(buf, sizeof buf, "s%zu", i);
            json_object_set(stmts, sid ? sid : buf, s);
        }
        json_decref(doc);
    } else {
        const char *sid = eb_req_str(in, "StatementId", err), *principal = sy_json_str(in, "Principal");
        const char *action = sy_json_str(in, "Action");
        if (!sid) rc = SY_E_INVALID;
        else if (!principal || !action) rc = eb_validation(err, "Principal and Action are required.");
        else {
            char *bus_arn = sy_asprintf("arn:aws:events:%s:%s:event-bus/%s", svc->ctx->cfg.region,
                                        svc->ctx->cfg.account_id, bus);
            json_t *s = json_pack("{s:s,s:s,s:{s:s},s:s,s:s}", "Sid", sid, "Effect", "Allow", "Principal", "AWS",
                                  !strcmp(principal, "*") ? "*" : principal, "Action", action, "Resource", bus_arn);
            if (json_object_get(in, "Condition")) json_object_set(s, "Condition", json_object_get(in, "Condition"));
            json_object_set_new(stmts, sid, s);
            free(bus_arn);
        }
    }
    if (rc == 0) {
        char *st = sy_json_dumps(stmts);
        const char *p[3] = {bus, st, json_is_string(pol) ? "1" : "0"};
        PGconn *c;
        rc = store_eb_tx(svc->ctx, &c, err);
        if (rc == 0) {
            rc = store_eb_cmd(c, err,
                              "UPDATE sy_eb_buses SET policy = CASE WHEN $3 = '1' THEN $2::jsonb "
                              "ELSE policy || $2::jsonb END WHERE name = $1",
                              3, p);
            if (rc == 0) rc = eb_not_found(err, "Event bus %s does not exist.", bus);
            rc = store_eb_end(svc->ctx, c, rc < 0 ? rc : 0, err);
        }
        free(st);
    }
    json_decref(stmts);
    free(bus);
    return rc;
}

int eb_remove_permission(eb_svc_t *svc, json_t *in, json_t **out, sy_err_t *err)
{
    (void)out;
    char *bus = eb_bus_name(in, "EventBusName");
    bool all = json_is_true(json_object_get(in, "RemoveAllPermissions"));
    const char *sid = sy_json_str(in, "StatementId");
    int rc = 0;
    if (!all && !sid) rc = eb_validation(err, "StatementId is required.");
    if (rc == 0) {
        const char *p[3] = {bus, sid ? sid : "", all ? "1" : "0"};
        PGconn *c;
        rc = store_eb_tx(svc->ctx, &c, err);
        if (rc == 0) {
            rc = store_eb_cmd(c, err,
                              "UPDATE sy_eb_buses SET policy = CASE WHEN $3 = '1' THEN '{}'::jsonb "
                              "ELSE policy - $2 END WHERE name = $1 AND ($3 = '1' OR policy ? $2)",
                              3, p);
            if (rc == 0)
                rc = all ? eb_not_found(err, "Event bus %s does not exist.", bus)
                         : eb_not_found(err, "Statement with the provided id does not exist.");
            rc = store_eb_end(svc->ctx, c, rc < 0 ? rc : 0, err);
        }
    }
    free(bus);
    return rc;
}

/* ------------------------------------------------------------ tags */
/* Which table holds the resource; 'b' bus, 'r' rule, 0 unknown. */
static char tag_kind(const char *arn)
{
    if (strstr(arn, ":event-bus/")) return 'b';
    if (strstr(arn, ":rule/")) return 'r';
    return 0;
}

static int tags_edit(eb_svc_t *svc, const char *arn, json_t *add, json_t *remove, json_t **tags_out, sy_err_t *err)
{
    char k = tag_kind(arn);
    if (!k) return eb_not_found(err, "Resource %s does not exist.", arn);
    char *a = sy_json_dumps(add ? add : json_object()), *r = sy_json_dumps(remove ? remove : json_array());
    const char *p[3] = {arn, a, r};
    const char *q = k == 'b' ? "UPDATE sy_eb_buses SET tags = (tags || $2::jsonb) - ARRAY(SELECT "
                               "jsonb_array_elements_text($3::jsonb)) WHERE arn = $1 RETURNING tags::text AS tags"
                             : "UPDATE sy_eb_rules SET tags = (tags || $2::jsonb) - ARRAY(SELECT "
                               "jsonb_array_elements_text($3::jsonb)) WHERE arn = $1 RETURNING tags::text AS tags";
    json_t *rows = store_eb_q(svc->ctx, err, q, 3, p);
    free(a);
    free(r);
    if (!rows) return SY_E_DB;
    int rc = 0;
    if (!json_array_size(rows)) rc = eb_not_found(err, "Resource %s does not exist.", arn);
    else if (tags_out) *tags_out = tags_to_list(sy_json_str(json_array_get(rows, 0), "tags"));
    json_decref(rows);
    return rc;
}

int eb_tag_resource(eb_svc_t *svc, json_t *in, json_t **out, sy_err_t *err)
{
    (void)out;
    const char *arn = eb_req_str(in, "ResourceARN", err);
    if (!arn) return SY_E_INVALID;
    json_t *add = tags_from_list(json_object_get(in, "Tags"));
    int rc = tags_edit(svc, arn, add, NULL, NULL, err);
    json_decref(add);
    return rc;
}

int eb_untag_resource(eb_svc_t *svc, json_t *in, json_t **out, sy_err_t *err)
{
    (void)out;
    const char *arn = eb_req_str(in, "ResourceARN", err);
    if (!arn) return SY_E_INVALID;
    json_t *keys = json_object_get(in, "TagKeys");
    return tags_edit(svc, arn, NULL, json_is_array(keys) ? keys : NULL, NULL, err);
}

int eb_list_tags_for_resource(eb_svc_t *svc, json_t *in, json_t **out, sy_err_t *err)
{
    const char *arn = eb_req_str(in, "ResourceARN", err);
    if (!arn) return SY_E_INVALID;
    json_t *tags = NULL;
    int rc = tags_edit(svc, arn, NULL, NULL, &tags, err);
    if (rc == 0) *out = json_pack("{s:o}", "Tags", tags);
    return rc;
}
