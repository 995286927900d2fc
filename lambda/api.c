/* lambda/api.c - the Lambda API (rest-json): routing, functions'
 * configuration, reserved concurrency and async invocation config. */
#include "lambda/internal.h"
#include "queue/queue.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static void error(sy_resp_t *resp, const sy_req_t *req, int status, const char *code, const char *msg)
{
    sy_err_t e;
    sy_err_set(&e, SY_E_INVALID, status, code, "%s", msg);
    sy_resp_error(resp, req, &e, NULL);
}

static void reply(sy_resp_t *resp, const sy_req_t *req, int status, json_t *v)
{
    sy_resp_json(resp, req, v);
    resp->status = status;
    json_decref(v);
}

/* Percent-decode one path segment into out. */
static void seg_decode(const char *p, size_t n, char *out, size_t outn)
{
    size_t o = 0;
    for (size_t i = 0; i < n && o + 1 < outn; i++) {
        if (p[i] == '%' && i + 2 < n + 0 && isxdigit((unsigned char)p[i + 1]) && isxdigit((unsigned char)p[i + 2])) {
            char h[3] = {p[i + 1], p[i + 2], 0};
            out[o++] = (char)strtol(h, NULL, 16);
            i += 2;
        } else {
            out[o++] = p[i];
        }
    }
    out[o] = 0;
}

/* Split "/VERSION/COLLECTION[/ID[/SUB[/SUB2]]]" (trailing slash tolerated). */
typedef struct {
    char version[16], coll[32], id[256], sub[64], sub2[64];
} path_t;

static void split_path(const char *path, path_t *p)
{
    memset(p, 0, sizeof *p);
    char *parts[5] = {p->version, p->coll, p->id, p->sub, p->sub2};
    size_t sizes[5] = {sizeof p->version, sizeof p->coll, sizeof p->id, sizeof p->sub, sizeof p->sub2};
    const char *s = path;
    for (int k = 0; k < 5 && *s; k++) {
        while (*s == '/') s++;
        const char *e = strchr(s, '/');
        size_t n = e ? (size_t)(e - s) : strlen(s);
        seg_decode(s, n, parts[k], sizes[k]);
        s += n;
    }
}

/* ------------------------------------------------------------ access */
/* The IAM action and resource of a request, for the access check
 * (core/authz.c; docs/security.md) made before it is routed below. */
static const char *iam_action(const char *m, const path_t *p)
{
    bool get = !strcmp(m, "GET"), put = !strcmp(m, "PUT"), post = !strcmp(m, "POST"), del = !strcmp(m, "DELETE");
    if (!strcmp(p->coll, "event-source-mappings"))
        return !p->id[0] ? (post ? "CreateEventSourceMapping" : "ListEventSourceMappings")
               : put     ? "UpdateEventSourceMapping"
               : del     ? "DeleteEventSourceMapping"
                         : "GetEventSourceMapping";
    if (!p->id[0]) return post ? "CreateFunction" : "ListFunctions";
    const char *sub = p->sub;
    if (!*sub) return del ? "DeleteFunction" : "GetFunction";
    if (!strcmp(sub, "invocations") || !strcmp(sub, "response-streaming-invocations")) return "InvokeFunction";
    if (!strcmp(sub, "configuration")) return put ? "UpdateFunctionConfiguration" : "GetFunctionConfiguration";
    if (!strcmp(sub, "code")) return "UpdateFunctionCode";
    if (!strcmp(sub, "concurrency")) return put ? "PutFunctionConcurrency" : del ? "DeleteFunctionConcurrency"
                                                                               : "GetFunctionConcurrency";
    if (!strcmp(sub, "event-invoke-config")) return put || post ? "PutFunctionEventInvokeConfig"
                                                     : del     ? "DeleteFunctionEventInvokeConfig"
                                                               : "GetFunctionEventInvokeConfig";
    if (!strcmp(sub, "versions")) return post ? "PublishVersion" : "ListVersionsByFunction";
    if (!strcmp(sub, "aliases")) return !p->sub2[0] ? (post ? "CreateAlias" : "ListAliases")
                                        : put       ? "UpdateAlias"
                                        : del       ? "DeleteAlias"
                                                    : "GetAlias";
    return get ? "GetFunction" : "UpdateFunctionConfiguration";
}

static int authorize(const lm_svc_t *s, const sy_req_t *req, const path_t *p, sy_err_t *err)
{
    char action[96];
    snprintf(action, sizeof action, "lambda:%s", iam_action(req->method, p));
    char *resource = NULL;
    if (!strcmp(p->coll, "functions") && p->id[0]) {
        /* a name, name:qualifier, or an ARN; the qualifier query parameter names the version or alias */
        if (!strncmp(p->id, "arn:", 4)) resource = sy_strdup(p->id);
        else {
            char *res = sy_asprintf("function:%s", p->id);
            resource = sy_arn(s->ctx, "lambda", res);
            free(res);
        }
    } else if (!strcmp(p->coll, "event-source-mappings") && p->id[0]) {
        char *res = sy_asprintf("event-source-mapping:%s", p->id);
        resource = sy_arn(s->ctx, "lambda", res);
        free(res);
    }
    int rc = sy_authz_check(req, action, resource ? resource : "*", NULL, err);
    free(resource);
    return rc;
}

/* --------------------------------------------------------- configuration */
json_t *lm_function_config_json(const sy_ctx_t *ctx, const lm_row_t *r)
{
    char *arn = lm_function_arn(ctx, r->name);
    json_t *c = r->config;
    int64_t timeout = LM_DEFAULT_TIMEOUT_S, mem = 128;
    sy_json_int(c, "Timeout", &timeout);
    sy_json_int(c, "MemorySize", &mem);
    json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:I,s:I,s:s,s:s,s:s,s:s,s:I,s:s,s:s,s:s,s:s,s:s,s:[s]}", "FunctionName",
                          r->name, "FunctionArn", arn, "Runtime", sy_json_str(c, "Runtime") ? sy_json_str(c, "Runtime") : "provided.al2",
                          "Role", sy_json_str(c, "Role") ? sy_json_str(c, "Role") : "arn:aws:iam::000000000000:role/switchyard",
                          "Timeout", (json_int_t)timeout, "MemorySize", (json_int_t)mem, "Handler",
                          sy_json_str(c, "Handler") ? sy_json_str(c, "Handler") : "function.handler", "Description",
                          sy_json_str(c, "Description") ? sy_json_str(c, "Description") : "", "LastModified",
                          r->modified, "CodeSha256", "", "CodeSize", (json_int_t)0, "Version", "$LATEST", "RevisionId",
                          r->revision, "State", "Active", "LastUpdateStatus", "Successful", "PackageType", "Zip",
                          "Architectures", "x86_64");
    json_t *env = json_object_get(c, "Environment");
    if (json_is_object(env)) json_object_set(o, "Environment", env);
    free(arn);
    return o;
}

static int name_of(const path_t *p, char name[LM_NAME_MAX + 1], sy_resp_t *resp, const sy_req_t *req)
{
    if (lm_function_name(p->id, name) < 0) {
        error(resp, req, 400, "InvalidParameterValueException", "invalid function name");
        return -1;
    }
    return 0;
}

/* Validate the settable configuration members of body into patch. */
static int config_patch(const json_t *body, json_t *patch, sy_resp_t *resp, const sy_req_t *req)
{
    int64_t v;
    if (json_object_get(body, "Timeout")) {
        if (!sy_json_int(body, "Timeout", &v) || v < 1 || v > 900) {
            error(resp, req, 400, "InvalidParameterValueException", "Timeout must be between 1 and 900 seconds");
            return -1;
        }
        json_object_set_new(patch, "Timeout", json_integer(v));
    }
    if (json_object_get(body, "MemorySize")) {
        if (!sy_json_int(body, "MemorySize", &v) || v < 128 || v > 10240) {
            error(resp, req, 400, "InvalidParameterValueException", "MemorySize must be between 128 and 10240");
            return -1;
        }
        json_object_set_new(patch, "MemorySize", json_integer(v));
    }
    const char *keys[] = {"Runtime", "Role", "Handler", "Description"};
    for (size_t i = 0; i < 4; i++)
        if (sy_json_str(body, keys[i])) json_object_set_new(patch, keys[i], json_string(sy_json_str(body, keys[i])));
    json_t *env = json_object_get(body, "Environment");
    if (env) {
        json_t *vars = json_object_get(env, "Variables");
        if (!json_is_object(env) || (vars && !json_is_object(vars))) {
            error(resp, req, 400, "InvalidParameterValueException", "Environment.Variables must be a map");
            return -1;
        }
        const char *code;
        char msg[1024];
        if (lm_env_vars_check(vars, &code, msg, sizeof msg) < 0) { /* qualifier.c: AWS's rules */
            error(resp, req, 400, code, msg);
            return -1;
        }
        json_object_set_new(patch, "Environment", json_pack("{s:O}", "Variables", vars ? vars : json_object()));
    }
    return 0;
}

static void get_function(lm_svc_t *s, sy_req_t *req, sy_resp_t *resp, const char *name, bool full)
{
    lm_row_t row;
    sy_err_t err;
    if (lm_store_fn_get(s->ctx, name, &row, &err) < 0) {
        lm_fn_t f;
        /* announced by a worker but never created: created now */
        if (err.status != 404 || lm_fn_lookup(s, name, &f, &err) < 0 || lm_store_fn_get(s->ctx, name, &row, &err) < 0)
            return sy_resp_error(resp, req, &err, NULL);
    }
    json_t *cfg = lm_function_config_json(s->ctx, &row);
    if (!full) {
        lm_row_clear(&row); /* was leaked by every GetFunctionConfiguration/Update* answer */
        return reply(resp, req, 200, cfg);
    }
    json_t *o = json_pack("{s:o,s:{s:s,s:s}}", "Configuration", cfg, "Code", "RepositoryType", "S3", "Location", "");
    if (row.reserved >= 0)
        json_object_set_new(o, "Concurrency", json_pack("{s:i}", "ReservedConcurrentExecutions", row.reserved));
    lm_row_clear(&row);
    reply(resp, req, 200, o);
}

static void create_function(lm_svc_t *s, sy_req_t *req, sy_resp_t *resp)
{
    char name[LM_NAME_MAX + 1];
    const char *n = sy_json_str(req->json, "FunctionName");
    if (!n || lm_function_name(n, name) < 0)
        return error(resp, req, 400, "InvalidParameterValueException", "FunctionName is missing or invalid");
    json_t *cfg = json_pack("{s:i,s:i}", "Timeout", LM_DEFAULT_TIMEOUT_S, "MemorySize", 128);
    if (config_patch(req->json, cfg, resp, req) < 0) {
        json_decref(cfg);
        return;
    }
    sy_err_t err;
    int rc = lm_store_fn_create(s->ctx, name, cfg, false, &err);
    json_decref(cfg);
    if (rc == 0) rc = lm_ensure_queue(s, name, &err);
    if (rc < 0) return sy_resp_error(resp, req, &err, NULL);
    lm_fn_invalidate(s, name);
    lm_row_t row;
    if (lm_store_fn_get(s->ctx, name, &row, &err) < 0) return sy_resp_error(resp, req, &err, NULL);
    json_t *o = lm_function_config_json(s->ctx, &row);
    int version = 0; /* Publish: true publishes version 1 at once */
    if (json_is_true(json_object_get(req->json, "Publish")) &&
        lm_store_version_publish(s->ctx, name, NULL, &version, &err) == 0) {
        char v[16];
        snprintf(v, sizeof v, "%d", version);
        json_object_set_new(o, "Version", json_string(v));
        char *qarn = sy_asprintf("%s:%s", sy_json_str(o, "FunctionArn"), v);
        json_object_set_new(o, "FunctionArn", json_string(qarn));
        free(qarn);
    }
    reply(resp, req, 201, o);
    lm_row_clear(&row);
}

static void list_functions(lm_svc_t *s, sy_req_t *req, sy_resp_t *resp)
{
    lm_row_t *rows;
    int n;
    sy_err_t err;
    if (lm_store_fn_list(s->ctx, &rows, &n, &err) < 0) return sy_resp_error(resp, req, &err, NULL);
    json_t *arr = json_array();
    for (int i = 0; i < n; i++) {
        json_array_append_new(arr, lm_function_config_json(s->ctx, &rows[i]));
        lm_row_clear(&rows[i]);
    }
    free(rows);
    reply(resp, req, 200, json_pack("{s:o}", "Functions", arr));
}

static void update_config(lm_svc_t *s, sy_req_t *req, sy_resp_t *resp, const char *name, bool code)
{
    json_t *patch = json_object();
    sy_err_t err;
    if (!code && config_patch(req->json, patch, resp, req) < 0) {
        json_decref(patch);
        return;
    }
    int rc = lm_store_fn_update(s->ctx, name, patch, &err); /* code: accepted and ignored */
    json_decref(patch);
    if (rc < 0) return sy_resp_error(resp, req, &err, NULL);
    lm_fn_invalidate(s, name);
    get_function(s, req, resp, name, false);
}

static void concurrency(lm_svc_t *s, sy_req_t *req, sy_resp_t *resp, const char *name)
{
    sy_err_t err;
    if (strcmp(req->method, "PUT") == 0) {
        int64_t v;
        if (!sy_json_int(req->json, "ReservedConcurrentExecutions", &v) || v < 0 || v > 100000)
            return error(resp, req, 400, "InvalidParameterValueException", "ReservedConcurrentExecutions must be >= 0");
        if (lm_store_fn_set_reserved(s->ctx, name, (int)v, &err) < 0) return sy_resp_error(resp, req, &err, NULL);
        lm_fn_invalidate(s, name);
        return reply(resp, req, 200, json_pack("{s:I}", "ReservedConcurrentExecutions", (json_int_t)v));
    }
    if (strcmp(req->method, "DELETE") == 0) {
        if (lm_store_fn_set_reserved(s->ctx, name, -1, &err) < 0) return sy_resp_error(resp, req, &err, NULL);
        lm_fn_invalidate(s, name);
        resp->status = 204;
        return;
    }
    lm_row_t row;
    if (lm_store_fn_get(s->ctx, name, &row, &err) < 0) return sy_resp_error(resp, req, &err, NULL);
    json_t *o = row.reserved >= 0 ? json_pack("{s:i}", "ReservedConcurrentExecutions", row.reserved) : json_object();
    lm_row_clear(&row);
    reply(resp, req, 200, o);
}

/* OnSuccess/OnFailure: a queue, a function or an event bus of this account. */
static int check_destination(lm_svc_t *s, const json_t *dc, const char *which, sy_resp_t *resp, const sy_req_t *req)
{
    const json_t *d = json_object_get(dc, which);
    if (!d) return 0;
    const char *arn = sy_json_str(d, "Destination");
    if (!arn || !*arn) return 0;
    char buf[256];
    snprintf(buf, sizeof buf, "%s", arn);
    sy_arn_parts_t p;
    char msg[512];
    if (sy_arn_parse(buf, &p) < 0) {
        snprintf(msg, sizeof msg, "The destination ARN %s is invalid.", arn);
    } else if (strcmp(p.service, "sqs") == 0) {
        char *q = sy_queue_name_from_arn(s->ctx, arn);
        free(q);
        if (q) return 0;
        snprintf(msg, sizeof msg, "The destination ARN %s is not a queue of this account.", arn);
    } else if (strcmp(p.service, "lambda") == 0) {
        char n[LM_NAME_MAX + 1];
        if (lm_function_name(arn, n) == 0) return 0;
        snprintf(msg, sizeof msg, "The destination ARN %s is not a function ARN.", arn);
    } else if (strcmp(p.service, "events") == 0) {
        return 0;
    } else if (strcmp(p.service, "sns") == 0) {
        return 0;
    } else {
        snprintf(msg, sizeof msg, "The destination ARN %s is not supported.", arn);
    }
    error(resp, req, 400, "InvalidParameterValueException", msg);
    return -1;
}

static json_t *event_config_json(const sy_ctx_t *ctx, const lm_row_t *row)
{
    char *arn = lm_function_arn(ctx, row->name);
    char *qarn = sy_asprintf("%s:$LATEST", arn);
    json_t *ec = row->event_config;
    json_t *dc = json_object_get(ec, "DestinationConfig");
    dc = dc ? json_incref(dc) : json_pack("{s:{},s:{}}", "OnSuccess", "OnFailure");
    json_t *o = json_pack("{s:s,s:I,s:o}", "FunctionArn", qarn, "LastModified", (json_int_t)(sy_now_ms() / 1000),
                          "DestinationConfig", dc);
    int64_t v;
    if (sy_json_int(ec, "MaximumRetryAttempts", &v)) json_object_set_new(o, "MaximumRetryAttempts", json_integer(v));
    if (sy_json_int(ec, "MaximumEventAgeInSeconds", &v))
        json_object_set_new(o, "MaximumEventAgeInSeconds", json_integer(v));
    free(qarn);
    free(arn);
    return o;
}

static void event_invoke_config(lm_svc_t *s, sy_req_t *req, sy_resp_t *resp, const char *name)
{
    sy_err_t err;
    lm_row_t row;
    if (lm_store_fn_get(s->ctx, name, &row, &err) < 0) return sy_resp_error(resp, req, &err, NULL);
    if (strcmp(req->method, "GET") == 0) {
        if (!row.event_config) {
            lm_row_clear(&row);
            return error(resp, req, 404, "ResourceNotFoundException", "The function has no event invoke config");
        }
        reply(resp, req, 200, event_config_json(s->ctx, &row));
        return lm_row_clear(&row);
    }
    if (strcmp(req->method, "DELETE") == 0) {
        lm_row_clear(&row);
        if (lm_store_fn_set_event_config(s->ctx, name, NULL, &err) < 0) return sy_resp_error(resp, req, &err, NULL);
        lm_fn_invalidate(s, name);
        resp->status = 204;
        return;
    }
    /* PUT replaces, POST (Update) merges */
    json_t *ec = strcmp(req->method, "POST") == 0 && row.event_config ? json_deep_copy(row.event_config) : json_object();
    lm_row_clear(&row);
    int64_t v;
    if (json_object_get(req->json, "MaximumRetryAttempts")) {
        if (!sy_json_int(req->json, "MaximumRetryAttempts", &v) || v < 0 || v > 2) {
            json_decref(ec);
            return error(resp, req, 400, "InvalidParameterValueException", "MaximumRetryAttempts must be between 0 and 2");
        }
        json_object_set_new(ec, "MaximumRetryAttempts", json_integer(v));
    }
    if (json_object_get(req->json, "MaximumEventAgeInSeconds")) {
        if (!sy_json_int(req->json, "MaximumEventAgeInSeconds", &v) || v < 60 || v > 21600) {
            json_decref(ec);
            return error(resp, req, 400, "InvalidParameterValueException",
                         "MaximumEventAgeInSeconds must be between 60 and 21600");
        }
        json_object_set_new(ec, "MaximumEventAgeInSeconds", json_integer(v));
    }
    json_t *dc = json_object_get(req->json, "DestinationConfig");
    if (dc) {
        if (check_destination(s, dc, "OnSuccess", resp, req) < 0 || check_destination(s, dc, "OnFailure", resp, req) < 0) {
            json_decref(ec);
            return;
        }
        json_object_set(ec, "DestinationConfig", dc);
    }
    int rc = lm_store_fn_set_event_config(s->ctx, name, ec, &err);
    json_decref(ec);
    if (rc < 0) return sy_resp_error(resp, req, &err, NULL);
    lm_fn_invalidate(s, name);
    if (lm_store_fn_get(s->ctx, name, &row, &err) < 0) return sy_resp_error(resp, req, &err, NULL);
    reply(resp, req, 200, event_config_json(s->ctx, &row));
    lm_row_clear(&row);
}

static void delete_function(lm_svc_t *s, sy_req_t *req, sy_resp_t *resp, const char *name)
{
    sy_err_t err;
    if (lm_store_fn_delete(s->ctx, name, &err) < 0) return sy_resp_error(resp, req, &err, NULL);
    lm_fn_invalidate(s, name);
    lm_versions_invalidate(s, name);
    lm_esms_reload(s);
    resp->status = 204;
}

/* ----------------------------------------------------------------- routes */
void lm_api_handle(sy_req_t *req, sy_resp_t *resp, void *udata)
{
    lm_svc_t *s = udata;
    path_t p;
    split_path(req->path, &p);
    const char *m = req->method;
    char name[LM_NAME_MAX + 1];
    if (!req->json) {
        json_error_t jerr;
        req->json = req->body_len ? json_loadb(req->body, req->body_len, 0, &jerr) : json_object();
        bool invoke = strcmp(p.sub, "invocations") == 0;
        if (!req->json && !invoke) return error(resp, req, 400, "InvalidRequestContentException", "could not parse the request body as JSON");
        if (!req->json) req->json = json_object();
    }
    sy_err_t aerr;
    if (s->ctx->authz && authorize(s, req, &p, &aerr) < 0)
        return error(resp, req, aerr.status, aerr.code, aerr.message);
    if (strcmp(p.coll, "event-source-mappings") == 0) {
        req->action = !p.id[0] ? (strcmp(m, "POST") == 0 ? "CreateEventSourceMapping" : "ListEventSourceMappings")
                      : strcmp(m, "PUT") == 0    ? "UpdateEventSourceMapping"
                      : strcmp(m, "DELETE") == 0 ? "DeleteEventSourceMapping"
                                                 : "GetEventSourceMapping";
        return lm_api_esm(s, req, resp, p.id[0] ? p.id : NULL);
    }
    if (strcmp(p.coll, "functions") != 0) return error(resp, req, 404, "UnknownOperationException", "unknown operation");
    if (!p.id[0]) {
        if (strcmp(m, "POST") == 0) {
            req->action = "CreateFunction";
            return create_function(s, req, resp);
        }
        req->action = "ListFunctions";
        return list_functions(s, req, resp);
    }
    if (name_of(&p, name, resp, req) < 0) return;
    if (lm_api_versions(s, req, resp, name, p.id, p.sub, p.sub2)) return; /* versions, aliases, qualifiers */
    if (!p.sub[0]) {
        if (strcmp(m, "DELETE") == 0) {
            req->action = "DeleteFunction";
            return delete_function(s, req, resp, name);
        }
        req->action = "GetFunction";
        return get_function(s, req, resp, name, true);
    }
    if (strcmp(p.sub, "invocations") == 0 && strcmp(m, "POST") == 0) {
        req->action = "Invoke";
        return lm_api_invoke(s, req, resp, name);
    }
    if (strcmp(p.sub, "configuration") == 0) {
        req->action = strcmp(m, "PUT") == 0 ? "UpdateFunctionConfiguration" : "GetFunctionConfiguration";
        if (strcmp(m, "PUT") == 0) return update_config(s, req, resp, name, false);
        return get_function(s, req, resp, name, false);
    }
    if (strcmp(p.sub, "code") == 0 && strcmp(m, "PUT") == 0) {
        req->action = "UpdateFunctionCode";
        return update_config(s, req, resp, name, true);
    }
    if (strcmp(p.sub, "concurrency") == 0) {
        req->action = strcmp(m, "PUT") == 0 ? "PutFunctionConcurrency"
                      : strcmp(m, "DELETE") == 0 ? "DeleteFunctionConcurrency"
                                                 : "GetFunctionConcurrency";
        return concurrency(s, req, resp, name);
    }
    if (strcmp(p.sub, "event-invoke-config") == 0 && !p.sub2[0]) {
        req->action = "PutFunctionEventInvokeConfig";
        return event_invoke_config(s, req, resp, name);
    }
    error(resp, req, 404, "UnknownOperationException", "this Lambda operation is not supported by Switchyard");
}
