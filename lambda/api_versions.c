/* lambda/api_versions.c - versions and aliases in the Lambda API:
 * PublishVersion, ListVersionsByFunction, GetFunction /
 * GetFunctionConfiguration / DeleteFunction with a Qualifier, CreateAlias,
 * GetAlias, ListAliases, UpdateAlias (RoutingConfig), DeleteAlias; and the
 * qualifier of a request (?Qualifier= or name:qualifier in the path). */
#include "lambda/internal.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static void error(sy_resp_t *resp, const sy_req_t *req, int status, const char *code, const char *msg)
{
    sy_err_t e;
    sy_err_set(&e, SY_E_INVALID, status, code, "%s", msg);
    sy_resp_error(resp, req, &e, NULL);
}

static json_t *jstr_take(char *str)
{
    json_t *j = json_string(str);
    free(str);
    return j;
}

static void reply(sy_resp_t *resp, const sy_req_t *req, int status, json_t *v)
{
    sy_resp_json(resp, req, v);
    resp->status = status;
    json_decref(v);
}

/* The function segment of the path (/VERSION/functions/ID/...), decoded. */
static void path_function(const char *path, char *out, size_t n)
{
    out[0] = 0;
    const char *p = strstr(path ? path : "", "/functions/");
    if (!p) return;
    p += 11;
    size_t o = 0;
    for (; *p && *p != '/' && o + 1 < n; p++) {
        if (p[0] == '%' && isxdigit((unsigned char)p[1]) && isxdigit((unsigned char)p[2])) {
            char h[3] = {p[1], p[2], 0};
            out[o++] = (char)strtol(h, NULL, 16);
            p += 2;
        } else {
            out[o++] = *p;
        }
    }
    out[o] = 0;
}

static const char *query_param(const sy_req_t *req, sy_form_t *f, const char *name)
{
    memset(f, 0, sizeof *f);
    if (!req->query || !*req->query || sy_form_parse(f, req->query, strlen(req->query)) < 0) return NULL;
    return sy_form_get(f, name);
}

int lm_req_qualifier(sy_req_t *req, sy_resp_t *resp, char qual[LM_QUAL_MAX + 1])
{
    qual[0] = 0;
    char id[300], name[LM_NAME_MAX + 1], inpath[LM_QUAL_MAX + 1];
    path_function(req->path, id, sizeof id);
    if (lm_ref_parse(id, name, inpath) < 0) {
        error(resp, req, 400, "InvalidParameterValueException", "invalid function name or qualifier");
        return -1;
    }
    sy_form_t f;
    const char *q = query_param(req, &f, "Qualifier");
    int rc = 0;
    if (q && !lm_qualifier_valid(q)) {
        char msg[300];
        snprintf(msg, sizeof msg,
                 "1 validation error detected: Value '%.128s' at 'qualifier' failed to satisfy constraint: Member "
                 "must satisfy regular expression pattern: (|[a-zA-Z0-9$_-]+)", q);
        error(resp, req, 400, "ValidationException", msg);
        rc = -1;
    } else if (q && inpath[0] && strcmp(q, inpath) != 0) {
        error(resp, req, 400, "InvalidParameterValueException",
              "The derived qualifier from the function name does not match the specified qualifier.");
        rc = -1;
    } else {
        snprintf(qual, LM_QUAL_MAX + 1, "%s", q ? q : inpath);
    }
    sy_form_free(&f);
    return rc;
}

/* ------------------------------------------------------------------ versions */
static json_t *version_json(const sy_ctx_t *ctx, const lm_ver_t *v, const char *qualifier)
{
    json_t *o = lm_function_config_json(ctx, &v->row);
    char num[16];
    snprintf(num, sizeof num, "%d", v->version);
    char *arn = lm_function_arn(ctx, v->row.name);
    json_object_set_new(o, "FunctionArn", jstr_take(sy_asprintf("%s:%s", arn, qualifier ? qualifier : num)));
    free(arn);
    json_object_set_new(o, "Version", json_string(num));
    if (v->description && *v->description) json_object_set_new(o, "Description", json_string(v->description));
    return o;
}

static void publish_version(lm_svc_t *s, sy_req_t *req, sy_resp_t *resp, const char *name)
{
    sy_err_t err;
    const char *rev = sy_json_str(req->json, "RevisionId");
    if (rev) { /* "only publish if the function is still at this revision" */
        lm_row_t row;
        if (lm_store_fn_get(s->ctx, name, &row, &err) < 0) return sy_resp_error(resp, req, &err, NULL);
        bool same = strcmp(row.revision, rev) == 0;
        lm_row_clear(&row);
        if (!same)
            return error(resp, req, 412, "PreconditionFailedException",
                         "The Revision Id provided does not match the latest Revision Id. Call the GetFunction/"
                         "GetAlias API to retrieve the latest Revision Id");
    }
    int version = 0;
    if (lm_store_version_publish(s->ctx, name, sy_json_str(req->json, "Description"), &version, &err) < 0)
        return sy_resp_error(resp, req, &err, NULL);
    lm_ver_t v;
    if (lm_store_version_get(s->ctx, name, version, &v, &err) < 0) return sy_resp_error(resp, req, &err, NULL);
    reply(resp, req, 201, version_json(s->ctx, &v, NULL));
    lm_ver_clear(&v);
}

static void list_versions(lm_svc_t *s, sy_req_t *req, sy_resp_t *resp, const char *name)
{
    sy_err_t err;
    lm_row_t row;
    if (lm_store_fn_get(s->ctx, name, &row, &err) < 0) return sy_resp_error(resp, req, &err, NULL);
    json_t *arr = json_array();
    json_array_append_new(arr, lm_function_config_json(s->ctx, &row));
    lm_row_clear(&row);
    lm_ver_t *vs;
    int n;
    if (lm_store_version_list(s->ctx, name, &vs, &n, &err) < 0) {
        json_decref(arr);
        return sy_resp_error(resp, req, &err, NULL);
    }
    for (int i = 0; i < n; i++) {
        json_array_append_new(arr, version_json(s->ctx, &vs[i], NULL));
        lm_ver_clear(&vs[i]);
    }
    free(vs);
    reply(resp, req, 200, json_pack("{s:o}", "Versions", arr));
}

/* GetFunction / GetFunctionConfiguration of a version or an alias (its
 * main version; the ARN keeps the alias, as AWS answers). */
static void get_qualified(lm_svc_t *s, sy_req_t *req, sy_resp_t *resp, const char *name, const char *qual, bool full)
{
    sy_err_t err;
    char version[16];
    if (lm_version_number(qual, NULL)) {
        snprintf(version, sizeof version, "%s", qual);
    } else {
        lm_alias_t a;
        if (lm_store_alias_get(s->ctx, name, qual, &a, &err) < 0) {
            /* Lambda answers an unknown qualifier as an unknown function */
            error(resp, req, 404, "ResourceNotFoundException", err.message);
            return;
        }
        snprintf(version, sizeof version, "%s", a.version);
        lm_alias_clear(&a);
    }
    json_t *cfg;
    if (strcmp(version, "$LATEST") == 0) {
        lm_row_t row;
        if (lm_store_fn_get(s->ctx, name, &row, &err) < 0) return sy_resp_error(resp, req, &err, NULL);
        cfg = lm_function_config_json(s->ctx, &row);
        char *arn = lm_function_arn(s->ctx, name);
        json_object_set_new(cfg, "FunctionArn", jstr_take(sy_asprintf("%s:%s", arn, qual)));
        free(arn);
        lm_row_clear(&row);
    } else {
        lm_ver_t v;
        if (lm_store_version_get(s->ctx, name, atoi(version), &v, &err) < 0)
            return sy_resp_error(resp, req, &err, NULL);
        cfg = version_json(s->ctx, &v, qual);
        lm_ver_clear(&v);
    }
    if (!full) return reply(resp, req, 200, cfg);
    reply(resp, req, 200,
          json_pack("{s:o,s:{s:s,s:s}}", "Configuration", cfg, "Code", "RepositoryType", "S3", "Location", ""));
}

static void delete_version(lm_svc_t *s, sy_req_t *req, sy_resp_t *resp, const char *name, const char *qual)
{
    long n;
    if (strcmp(qual, "$LATEST") == 0)
        return error(resp, req, 400, "InvalidParameterValueException",
                     "$LATEST version cannot be deleted without deleting the function.");
    if (!lm_version_number(qual, &n))
        return error(resp, req, 400, "InvalidParameterValueException",
                     "Deletion of aliases is not supported with DeleteFunction; use DeleteAlias.");
    sy_err_t err;
    lm_row_t row;
    if (lm_store_fn_get(s->ctx, name, &row, &err) < 0) return sy_resp_error(resp, req, &err, NULL);
    lm_row_clear(&row);
    if (lm_store_version_delete(s->ctx, name, (int)n, &err) < 0) return sy_resp_error(resp, req, &err, NULL);
    lm_versions_invalidate(s, name);
    resp->status = 204;
}

/* ------------------------------------------------------------------- aliases */
static json_t *alias_json(const sy_ctx_t *ctx, const lm_alias_t *a)
{
    char *arn = lm_function_arn(ctx, a->name);
    json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:s}", "AliasArn", "", "Name", a->alias, "FunctionVersion", a->version,
                          "Description", a->description ? a->description : "", "RevisionId", a->revision);
    json_object_set_new(o, "AliasArn", jstr_take(sy_asprintf("%s:%s", arn, a->alias)));
    free(arn);
    if (a->routing) json_object_set(o, "RoutingConfig", a->routing);
    return o;
}

/* Validate FunctionVersion + RoutingConfig of a (body already merged in);
 * extra: the additional version. -1 when answered. */
static int alias_check(sy_req_t *req, sy_resp_t *resp, lm_alias_t *a, char extra[16])
{
    extra[0] = 0;
    if (strcmp(a->version, "$LATEST") != 0 && !lm_version_number(a->version, NULL)) {
        char msg[256];
        snprintf(msg, sizeof msg,
                 "1 validation error detected: Value '%.64s' at 'functionVersion' failed to satisfy constraint: "
                 "Member must satisfy regular expression pattern: (\\$LATEST|[0-9]+)", a->version);
        error(resp, req, 400, "ValidationException", msg);
        return -1;
    }
    double w;
    char msg[512];
    if (lm_routing_parse(a->routing, extra, &w, msg, sizeof msg) < 0) {
        error(resp, req, 400, strncmp(msg, "1 validation", 12) == 0 ? "ValidationException" : "InvalidParameterValueException",
              msg);
        return -1;
    }
    if (extra[0] && strcmp(a->version, "$LATEST") == 0) {
        error(resp, req, 400, "InvalidParameterValueException",
              "$LATEST is not supported for an alias pointing to more than 1 version");
        return -1;
    }
    if (extra[0] && strcmp(extra, a->version) == 0) {
        snprintf(msg, sizeof msg,
                 "Invalid function version %s. Function version %s is already included in routing configuration.",
                 extra, extra);
        error(resp, req, 400, "InvalidParameterValueException", msg);
        return -1;
    }
    return 0;
}

static void create_alias(lm_svc_t *s, sy_req_t *req, sy_resp_t *resp, const char *name)
{
    lm_alias_t a;
    memset(&a, 0, sizeof a);
    snprintf(a.name, sizeof a.name, "%s", name);
    const char *an = sy_json_str(req->json, "Name"), *fv = sy_json_str(req->json, "FunctionVersion");
    if (!an || !lm_alias_name_valid(an)) {
        char msg[300];
        snprintf(msg, sizeof msg,
                 "1 validation error detected: Value '%.128s' at 'name' failed to satisfy constraint: Member must "
                 "satisfy regular expression pattern: (?!^[0-9]+$)([a-zA-Z0-9-_]+)", an ? an : "null");
        return error(resp, req, 400, "ValidationException", msg);
    }
    if (!fv) return error(resp, req, 400, "ValidationException", "FunctionVersion is required");
    snprintf(a.alias, sizeof a.alias, "%s", an);
    snprintf(a.version, sizeof a.version, "%.15s", fv);
    a.description = sy_strdup(sy_json_str(req->json, "Description") ? sy_json_str(req->json, "Description") : "");
    json_t *rc = json_object_get(req->json, "RoutingConfig");
    a.routing = rc && !json_is_null(rc) ? json_incref(rc) : NULL;
    char extra[16];
    sy_err_t err;
    if (alias_check(req, resp, &a, extra) == 0) {
        if (lm_store_alias_create(s->ctx, &a, extra, &err) < 0) {
            sy_resp_error(resp, req, &err, NULL);
        } else {
            lm_alias_t got;
            if (lm_store_alias_get(s->ctx, name, an, &got, &err) < 0) sy_resp_error(resp, req, &err, NULL);
            else {
                reply(resp, req, 201, alias_json(s->ctx, &got));
                lm_alias_clear(&got);
            }
        }
    }
    lm_versions_invalidate(s, name);
    lm_alias_clear(&a);
}

static void update_alias(lm_svc_t *s, sy_req_t *req, sy_resp_t *resp, const char *name, const char *alias)
{
    lm_alias_t a;
    sy_err_t err;
    if (lm_store_alias_get(s->ctx, name, alias, &a, &err) < 0) return sy_resp_error(resp, req, &err, NULL);
    const char *fv = sy_json_str(req->json, "FunctionVersion"), *d = sy_json_str(req->json, "Description");
    if (fv) snprintf(a.version, sizeof a.version, "%.15s", fv);
    if (d) {
        free(a.description);
        a.description = sy_strdup(d);
    }
    json_t *rc = json_object_get(req->json, "RoutingConfig");
    if (rc) {
        json_decref(a.routing);
        json_t *w = json_object_get(rc, "AdditionalVersionWeights");
        /* an empty map (or null) removes the routing */
        a.routing = json_is_null(rc) || (json_is_object(w) && json_object_size(w) == 0) ? NULL : json_incref(rc);
    }
    char extra[16];
    if (alias_check(req, resp, &a, extra) == 0) {
        if (lm_store_alias_update(s->ctx, &a, extra, sy_json_str(req->json, "RevisionId"), &err) < 0) {
            sy_resp_error(resp, req, &err, NULL);
        } else {
            lm_alias_t got;
            if (lm_store_alias_get(s->ctx, name, alias, &got, &err) < 0) sy_resp_error(resp, req, &err, NULL);
            else {
                reply(resp, req, 200, alias_json(s->ctx, &got));
                lm_alias_clear(&got);
            }
        }
    }
    lm_versions_invalidate(s, name);
    lm_alias_clear(&a);
}

static void aliases(lm_svc_t *s, sy_req_t *req, sy_resp_t *resp, const char *name, const char *alias)
{
    sy_err_t err;
    const char *m = req->method;
    if (!alias[0] && strcmp(m, "POST") == 0) {
        req->action = "CreateAlias";
        return create_alias(s, req, resp, name);
    }
    if (!alias[0]) {
        req->action = "ListAliases";
        lm_row_t row;
        if (lm_store_fn_get(s->ctx, name, &row, &err) < 0) return sy_resp_error(resp, req, &err, NULL);
        lm_row_clear(&row);
        sy_form_t f;
        const char *fv = query_param(req, &f, "FunctionVersion");
        lm_alias_t *as;
        int n;
        int rc = lm_store_alias_list(s->ctx, name, fv, &as, &n, &err);
        sy_form_free(&f);
        if (rc < 0) return sy_resp_error(resp, req, &err, NULL);
        json_t *arr = json_array();
        for (int i = 0; i < n; i++) {
            json_array_append_new(arr, alias_json(s->ctx, &as[i]));
            lm_alias_clear(&as[i]);
        }
        free(as);
        return reply(resp, req, 200, json_pack("{s:o}", "Aliases", arr));
    }
    if (strcmp(m, "PUT") == 0) {
        req->action = "UpdateAlias";
        return update_alias(s, req, resp, name, alias);
    }
    if (strcmp(m, "DELETE") == 0) {
        req->action = "DeleteAlias";
        if (lm_store_alias_delete(s->ctx, name, alias, &err) < 0) return sy_resp_error(resp, req, &err, NULL);
        lm_versions_invalidate(s, name);
        resp->status = 204;
        return;
    }
    req->action = "GetAlias";
    lm_alias_t a;
    if (lm_store_alias_get(s->ctx, name, alias, &a, &err) < 0) return sy_resp_error(resp, req, &err, NULL);
    reply(resp, req, 200, alias_json(s->ctx, &a));
    lm_alias_clear(&a);
}

/* ------------------------------------------------------------------- routes */
bool lm_api_versions(lm_svc_t *s, sy_req_t *req, sy_resp_t *resp, const char *name, const char *id,
                     const char *sub, const char *sub2)
{
    (void)id;
    const char *m = req->method;
    if (strcmp(sub, "versions") == 0) {
        if (strcmp(m, "POST") == 0) {
            req->action = "PublishVersion";
            publish_version(s, req, resp, name);
        } else {
            req->action = "ListVersionsByFunction";
            list_versions(s, req, resp, name);
        }
        return true;
    }
    if (strcmp(sub, "aliases") == 0) {
        aliases(s, req, resp, name, sub2);
        return true;
    }
    if (strcmp(sub, "response-streaming-invocations") == 0 && strcmp(m, "POST") == 0) {
        req->action = "InvokeWithResponseStream";
        lm_api_invoke_stream(s, req, resp, name);
        return true;
    }
    bool cfg = strcmp(sub, "configuration") == 0 && strcmp(m, "GET") == 0;
    bool fn = !sub[0] && (strcmp(m, "GET") == 0 || strcmp(m, "DELETE") == 0);
    if (!cfg && !fn) return false;
    char qual[LM_QUAL_MAX + 1];
    if (lm_req_qualifier(req, resp, qual) < 0) return true;
    if (!qual[0]) return false;
    if (fn && strcmp(m, "DELETE") == 0) {
        req->action = "DeleteFunction";
        delete_version(s, req, resp, name, qual);
        return true;
    }
    if (strcmp(qual, "$LATEST") == 0) return false;
    req->action = cfg ? "GetFunctionConfiguration" : "GetFunction";
    get_qualified(s, req, resp, name, qual, fn);
    return true;
}
