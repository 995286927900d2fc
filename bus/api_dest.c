/* bus/api_dest.c - connections and API destinations: Create / Describe /
 * List / Update / Delete of both. Secrets are stored in the database as
 * given (AWS keeps them in Secrets Manager) and never returned. */
#include "bus/internal.h"

#include <stdlib.h>
#include <string.h>

static double ms(const json_t *row, const char *k)
{
    const char *v = sy_json_str(row, k);
    return v ? eb_secs(strtoll(v, NULL, 10)) : 0;
}

static int dup_or(int rc, sy_err_t *err, const char *what, const char *name)
{
    if (rc == 0) return sy_err_set(err, SY_E_EXISTS, 400, "ResourceAlreadyExistsException", "%s %s already exists.", what, name);
    return rc;
}

/* ------------------------------------------------------------ connections */
static json_t *public_auth(const char *type, const json_t *auth)
{
    json_t *o = json_object();
    if (!strcmp(type, "BASIC"))
        json_object_set_new(o, "BasicAuthParameters", json_pack("{s:s}", "Username",
                                                                 sy_json_str(json_object_get(auth, "BasicAuthParameters"), "Username") ?: ""));
    else if (!strcmp(type, "API_KEY"))
        json_object_set_new(o, "ApiKeyAuthParameters", json_pack("{s:s}", "ApiKeyName",
                                                                  sy_json_str(json_object_get(auth, "ApiKeyAuthParameters"), "ApiKeyName") ?: ""));
    return o;
}

static int check_auth(const char *type, const json_t *auth, sy_err_t *err)
{
    if (!type) return eb_validation(err, "AuthorizationType must be specified.");
    if (!strcmp(type, "BASIC")) {
        const json_t *b = json_object_get(auth, "BasicAuthParameters");
        if (!sy_json_str(b, "Username") || !sy_json_str(b, "Password"))
            return eb_validation(err, "BasicAuthParameters must have Username and Password.");
    } else if (!strcmp(type, "API_KEY")) {
        const json_t *b = json_object_get(auth, "ApiKeyAuthParameters");
        if (!sy_json_str(b, "ApiKeyName") || !sy_json_str(b, "ApiKeyValue"))
            return eb_validation(err, "ApiKeyAuthParameters must have ApiKeyName and ApiKeyValue.");
    } else if (!strcmp(type, "OAUTH_CLIENT_CREDENTIALS")) {
        return eb_validation(err, "OAUTH_CLIENT_CREDENTIALS connections are not supported by Switchyard yet.");
    } else
        return eb_validation(err, "AuthorizationType %s is not valid.", type);
    return 0;
}

typedef struct {
    const char *name, *arn, *description, *auth_type, *auth;
    int64_t ms; /* created or updated */
} connection_in_t;

static int insert_connection(PGconn *c, void *u, sy_err_t *err)
{
    const connection_in_t *k = u;
    int rc = store_eb_connection_insert(c, k->name, k->arn, k->description, k->auth_type, k->auth, k->ms, err);
    return rc == 0 ? dup_or(0, err, "Connection", k->name) : rc < 0 ? rc : 0;
}

static int update_connection(PGconn *c, void *u, sy_err_t *err)
{
    const connection_in_t *k = u;
    int rc = store_eb_connection_update(c, k->name, k->description, k->auth_type, k->auth, k->ms, err);
    return rc < 0 ? rc : 0;
}

static int delete_connection(PGconn *c, void *name, sy_err_t *err)
{
    int rc = store_eb_connection_delete(c, name, err);
    return rc < 0 ? rc : 0;
}

int eb_create_connection(eb_svc_t *svc, json_t *in, json_t **out, sy_err_t *err)
{
    const char *name = eb_req_str(in, "Name", err);
    if (!name) return SY_E_INVALID;
    const char *type = sy_json_str(in, "AuthorizationType");
    const json_t *auth = json_object_get(in, "AuthParameters");
    if (check_auth(type, auth, err) < 0) return SY_E_INVALID;
    char uuid[37];
    sy_uuid4(uuid);
    int64_t now_ms = sy_now_ms();
    char *res = sy_asprintf("connection/%s/%s", name, uuid);
    char *arn = sy_arn(svc->ctx, "events", res);
    char *aj = sy_json_dumps(auth);
    connection_in_t k = {name, arn, sy_json_str(in, "Description"), type, aj, now_ms};
    int rc = sy_pg_tx(svc->ctx->pool, insert_connection, &k, err);
    if (rc == 0)
        *out = json_pack("{s:s,s:s,s:f,s:f}", "ConnectionArn", arn, "ConnectionState", "AUTHORIZED", "CreationTime",
                         eb_secs(now_ms), "LastModifiedTime", eb_secs(now_ms));
    free(res);
    free(arn);
    free(aj);
    return rc;
}

static json_t *connection_get(eb_svc_t *svc, const char *name, sy_err_t *err)
{
    json_t *row;
    if (store_eb_connection_get(svc->ctx, name, &row, err) == 0) eb_not_found(err, "Failed to describe the connection(s). Connection '%s' does not exist.", name);
    return row;
}

static json_t *connection_json(const json_t *row, bool full)
{
    json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:f,s:f,s:f}", "Name", sy_json_str(row, "name"), "ConnectionArn",
                          sy_json_str(row, "arn"), "ConnectionState", sy_json_str(row, "state"), "AuthorizationType",
                          sy_json_str(row, "auth_type"), "CreationTime", ms(row, "created_ms"), "LastModifiedTime",
                          ms(row, "updated_ms"), "LastAuthorizedTime", ms(row, "updated_ms"));
    if (full) {
        json_t *auth = json_loads(sy_json_str(row, "auth"), 0, NULL);
        json_object_set_new(o, "AuthParameters", public_auth(sy_json_str(row, "auth_type"), auth));
        json_decref(auth);
        if (sy_json_str(row, "description"))
            json_object_set_new(o, "Description", json_string(sy_json_str(row, "description")));
    }
    return o;
}

int eb_describe_connection(eb_svc_t *svc, json_t *in, json_t **out, sy_err_t *err)
{
    const char *name = eb_req_str(in, "Name", err);
    if (!name) return SY_E_INVALID;
    json_t *row = connection_get(svc, name, err);
    if (!row) return err->code[0] == 'R' ? SY_E_NOTFOUND : SY_E_DB;
    *out = connection_json(row, true);
    json_decref(row);
    return 0;
}

int eb_list_connections(eb_svc_t *svc, json_t *in, json_t **out, sy_err_t *err)
{
    json_t *rows =
        store_eb_connection_list(svc->ctx, sy_json_str(in, "NamePrefix") ?: "", sy_json_str(in, "NextToken") ?: "", err);
    if (!rows) return SY_E_DB;
    json_t *list = json_array();
    size_t i;
    json_t *r;
    json_array_foreach(rows, i, r) json_array_append_new(list, connection_json(r, false));
    *out = json_pack("{s:o}", "Connections", list);
    json_decref(rows);
    return 0;
}

int eb_update_connection(eb_svc_t *svc, json_t *in, json_t **out, sy_err_t *err)
{
    const char *name = eb_req_str(in, "Name", err);
    if (!name) return SY_E_INVALID;
    json_t *row = connection_get(svc, name, err);
    if (!row) return err->code[0] == 'R' ? SY_E_NOTFOUND : SY_E_DB;
    const char *type = sy_json_str(in, "AuthorizationType") ?: sy_json_str(row, "auth_type");
    const json_t *auth = json_object_get(in, "AuthParameters");
    int rc = auth ? check_auth(type, auth, err) : 0;
    char *aj = auth ? sy_json_dumps(auth) : NULL;
    int64_t now_ms = sy_now_ms();
    connection_in_t k = {name, NULL, sy_json_str(in, "Description"), type, aj, now_ms};
    if (rc == 0) rc = sy_pg_tx(svc->ctx->pool, update_connection, &k, err);
    if (rc == 0)
        *out = json_pack("{s:s,s:s,s:f,s:f}", "ConnectionArn", sy_json_str(row, "arn"), "ConnectionState",
                         "AUTHORIZED", "CreationTime", ms(row, "created_ms"), "LastModifiedTime", eb_secs(now_ms));
    free(aj);
    json_decref(row);
    return rc;
}

int eb_delete_connection(eb_svc_t *svc, json_t *in, json_t **out, sy_err_t *err)
{
    const char *name = eb_req_str(in, "Name", err);
    if (!name) return SY_E_INVALID;
    json_t *row = connection_get(svc, name, err);
    if (!row) return err->code[0] == 'R' ? SY_E_NOTFOUND : SY_E_DB;
    int rc = sy_pg_tx(svc->ctx->pool, delete_connection, (void *)name, err);
    if (rc == 0)
        *out = json_pack("{s:s,s:s,s:f,s:f}", "ConnectionArn", sy_json_str(row, "arn"), "ConnectionState", "DELETING",
                         "CreationTime", ms(row, "created_ms"), "LastModifiedTime", ms(row, "updated_ms"));
    json_decref(row);
    return rc;
}

/* ------------------------------------------------------------ destinations */
static const char *METHODS[] = {"POST", "GET", "HEAD", "OPTIONS", "PUT", "PATCH", "DELETE", NULL};

static int check_dest(const json_t *in, bool create, sy_err_t *err)
{
    const char *m = sy_json_str(in, "HttpMethod"), *ep = sy_json_str(in, "InvocationEndpoint");
    if (create && (!m || !ep || !sy_json_str(in, "ConnectionArn")))
        return eb_validation(err, "ConnectionArn, InvocationEndpoint and HttpMethod must be specified.");
    if (m) {
        bool ok = false;
        for (const char **p = METHODS; *p; p++) ok |= !strcmp(*p, m);
        if (!ok) return eb_validation(err, "HttpMethod %s is not valid.", m);
    }
    if (ep && strncmp(ep, "https://", 8) && strncmp(ep, "http://", 7))
        return eb_validation(err, "InvocationEndpoint %s is not valid.", ep);
    int64_t r;
    if (sy_json_int(in, "InvocationRateLimitPerSecond", &r) && (r < 1 || r > 300))
        return eb_validation(err, "InvocationRateLimitPerSecond must be between 1 and 300.");
    return 0;
}

static json_t *dest_get(eb_svc_t *svc, const char *name, sy_err_t *err)
{
    json_t *row;
    if (store_eb_dest_get(svc->ctx, name, &row, err) == 0) eb_not_found(err, "Failed to describe the api-destination(s). An api-destination '%s' does not exist.", name);
    return row;
}

static json_t *dest_json(const json_t *row)
{
    json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:I,s:f,s:f}", "Name", sy_json_str(row, "name"),
                          "ApiDestinationArn", sy_json_str(row, "arn"), "ApiDestinationState", "ACTIVE", "ConnectionArn",
                          sy_json_str(row, "connection_arn"), "InvocationEndpoint", sy_json_str(row, "endpoint"),
                          "HttpMethod", sy_json_str(row, "method"), "InvocationRateLimitPerSecond",
                          (json_int_t)atoll(sy_json_str(row, "rate")), "CreationTime", ms(row, "created_ms"),
                          "LastModifiedTime", ms(row, "updated_ms"));
    if (sy_json_str(row, "description")) json_object_set_new(o, "Description", json_string(sy_json_str(row, "description")));
    return o;
}

static int insert_dest(PGconn *c, void *u, sy_err_t *err)
{
    const eb_dest_in_t *d = u;
    int rc = store_eb_dest_insert(c, d, err);
    return rc == 0 ? dup_or(0, err, "Api destination", d->name) : rc < 0 ? rc : 0;
}

static int update_dest(PGconn *c, void *u, sy_err_t *err)
{
    int rc = store_eb_dest_update(c, u, err);
    return rc < 0 ? rc : 0;
}

static int delete_dest(PGconn *c, void *name, sy_err_t *err)
{
    int rc = store_eb_dest_delete(c, name, err);
    if (rc == 0)
        rc = eb_not_found(err, "Failed to delete the api-destination(s). An api-destination '%s' does not exist.",
                          (const char *)name);
    return rc < 0 ? rc : 0;
}

int eb_create_api_destination(eb_svc_t *svc, json_t *in, json_t **out, sy_err_t *err)
{
    const char *name = eb_req_str(in, "Name", err);
    if (!name) return SY_E_INVALID;
    if (check_dest(in, true, err) < 0) return SY_E_INVALID;
    const char *carn = sy_json_str(in, "ConnectionArn");
    int rc = store_eb_connection_exists(svc->ctx, carn, err);
    if (rc == 0) rc = eb_not_found(err, "Connection '%s' does not exist.", carn);
    if (rc < 0) return rc;
    char uuid[37];
    sy_uuid4(uuid);
    int64_t now_ms = sy_now_ms(), r = 300;
    sy_json_int(in, "InvocationRateLimitPerSecond", &r);
    char *res = sy_asprintf("api-destination/%s/%s", name, uuid);
    char *arn = sy_arn(svc->ctx, "events", res);
    eb_dest_in_t d = {.name = name, .arn = arn, .description = sy_json_str(in, "Description"), .connection_arn = carn,
                      .endpoint = sy_json_str(in, "InvocationEndpoint"), .method = sy_json_str(in, "HttpMethod"),
                      .rate = r, .created_ms = now_ms};
    rc = sy_pg_tx(svc->ctx->pool, insert_dest, &d, err);
    if (rc == 0)
        *out = json_pack("{s:s,s:s,s:f,s:f}", "ApiDestinationArn", arn, "ApiDestinationState", "ACTIVE",
                         "CreationTime", eb_secs(now_ms), "LastModifiedTime", eb_secs(now_ms));
    free(res);
    free(arn);
    return rc;
}

int eb_describe_api_destination(eb_svc_t *svc, json_t *in, json_t **out, sy_err_t *err)
{
    const char *name = eb_req_str(in, "Name", err);
    if (!name) return SY_E_INVALID;
    json_t *row = dest_get(svc, name, err);
    if (!row) return err->code[0] == 'R' ? SY_E_NOTFOUND : SY_E_DB;
    *out = dest_json(row);
    json_decref(row);
    return 0;
}

int eb_list_api_destinations(eb_svc_t *svc, json_t *in, json_t **out, sy_err_t *err)
{
    json_t *rows = store_eb_dest_list(svc->ctx, sy_json_str(in, "NamePrefix") ?: "",
                                      sy_json_str(in, "ConnectionArn") ?: "", sy_json_str(in, "NextToken") ?: "", err);
    if (!rows) return SY_E_DB;
    json_t *list = json_array();
    size_t i;
    json_t *r;
    json_array_foreach(rows, i, r) json_array_append_new(list, dest_json(r));
    *out = json_pack("{s:o}", "ApiDestinations", list);
    json_decref(rows);
    return 0;
}

int eb_update_api_destination(eb_svc_t *svc, json_t *in, json_t **out, sy_err_t *err)
{
    const char *name = eb_req_str(in, "Name", err);
    if (!name) return SY_E_INVALID;
    if (check_dest(in, false, err) < 0) return SY_E_INVALID;
    json_t *row = dest_get(svc, name, err);
    if (!row) return err->code[0] == 'R' ? SY_E_NOTFOUND : SY_E_DB;
    int64_t r = -1, now_ms = sy_now_ms();
    sy_json_int(in, "InvocationRateLimitPerSecond", &r);
    eb_dest_in_t d = {.name = name, .description = sy_json_str(in, "Description"),
                      .connection_arn = sy_json_str(in, "ConnectionArn"),
                      .endpoint = sy_json_str(in, "InvocationEndpoint"), .method = sy_json_str(in, "HttpMethod"),
                      .rate = r, .updated_ms = now_ms};
    int rc = sy_pg_tx(svc->ctx->pool, update_dest, &d, err);
    if (rc == 0)
        *out = json_pack("{s:s,s:s,s:f,s:f}", "ApiDestinationArn", sy_json_str(row, "arn"), "ApiDestinationState",
                         "ACTIVE", "CreationTime", ms(row, "created_ms"), "LastModifiedTime", eb_secs(now_ms));
    json_decref(row);
    return rc;
}

int eb_delete_api_destination(eb_svc_t *svc, json_t *in, json_t **out, sy_err_t *err)
{
    (void)out;
    const char *name = eb_req_str(in, "Name", err);
    if (!name) return SY_E_INVALID;
    return sy_pg_tx(svc->ctx->pool, delete_dest, (void *)name, err);
}
