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
typedef struct {
    const char *name, *arn, *description, *tags;
    int64_t created_ms;
} new_bus_t;

static int insert_bus(PGconn *c, void *u, sy_err_t *err)
{
    const new_bus_t *b = u;
    int rc = store_eb_bus_insert(c, b->name, b->arn, b->description, b->tags, b->created_ms, err);
    if (rc == 0)
        return sy_err_set(err, SY_E_EXISTS, 400, "ResourceAlreadyExistsException", "Event bus %s already exists.",
                          b->name);
    return rc < 0 ? rc : store_eb_bump(c, err);
}

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
    char *tt = sy_json_dumps(tags);
    new_bus_t b = {name, arn, sy_json_str(in, "Description"), tt, sy_now_ms()};
    int rc = sy_pg_tx(svc->ctx->pool, insert_bus, &b, err);
    if (rc == 0) *out = json_pack("{s:s}", "EventBusArn", arn);
    free(res);
    free(arn);
    free(tt);
    json_decref(tags);
    return rc;
}

static int delete_bus(PGconn *c, void *name, sy_err_t *err)
{
    int rc = store_eb_bus_delete(c, name, err);
    return rc < 0 ? rc : store_eb_bump(c, err);
}

int eb_delete_event_bus(eb_svc_t *svc, json_t *in, json_t **out, sy_err_t *err)
{
    (void)out;
    const char *name = eb_req_str(in, "Name", err);
    if (!name) return SY_E_INVALID;
    if (!strcmp(name, "default")) return eb_validation(err, "Cannot delete event bus default.");
    return sy_pg_tx(svc->ctx->pool, delete_bus, (void *)name, err);
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
    json_t *row;
    int rc = store_eb_bus_get(svc->ctx, name, &row, err);
    if (rc == 0) rc = eb_not_found(err, "Event bus %s does not exist.", name);
    free(name);
    if (rc < 0) return rc;
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
    int limit = limit_of(in);
    json_t *rows = store_eb_bus_list(svc->ctx, sy_json_str(in, "NamePrefix") ? sy_json_str(in, "NamePrefix") : "",
                                     sy_json_str(in, "NextToken") ? sy_json_str(in, "NextToken") : "", limit + 1, err);
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
typedef struct {
    const char *bus, *statements, *sid;
    bool all; /* put: the statements replace the policy; remove: every statement */
} policy_edit_t;

static int put_policy(PGconn *c, void *u, sy_err_t *err)
{
    const policy_edit_t *e = u;
    int rc = store_eb_bus_policy_put(c, e->bus, e->statements, e->all, err);
    if (rc == 0) rc = eb_not_found(err, "Event bus %s does not exist.", e->bus);
    return rc < 0 ? rc : 0;
}

static int remove_policy(PGconn *c, void *u, sy_err_t *err)
{
    const policy_edit_t *e = u;
    int rc = store_eb_bus_policy_remove(c, e->bus, e->sid, e->all, err);
    if (rc == 0)
        rc = e->all ? eb_not_found(err, "Event bus %s does not exist.", e->bus)
                    : eb_not_found(err, "Statement with the provided id does not exist.");
    return rc < 0 ? rc : 0;
}

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
        policy_edit_t e = {.bus = bus, .statements = st, .all = json_is_string(pol)};
        rc = sy_pg_tx(svc->ctx->pool, put_policy, &e, err);
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
        policy_edit_t e = {.bus = bus, .sid = sid, .all = all};
        rc = sy_pg_tx(svc->ctx->pool, remove_policy, &e, err);
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
    json_t *rows = store_eb_tags_edit(svc->ctx, k == 'r', arn, a, r, err);
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
