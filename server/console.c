/* server/console.c - the web console at /console/ (issue 16): the files of
 * console/ compiled into the binary (gen/console_assets.c, made at build time
 * by scripts/embed-console.cmake), served with their content types, an ETag
 * and no-cache revalidation; /console/config.json tells the page whether
 * requests must be signed and whether write actions are allowed; and
 * /console/api/<name>, the console's own read-only endpoints, each owned by
 * the service that has the data and registered from server/wiring.c. */
#include "server/server.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct {
    const char *path;
    const unsigned char *data;
    size_t len;
    const char *etag;
} sy_console_asset_t;
extern const sy_console_asset_t sy_console_assets[];

#define MAX_ENDPOINTS 32
static struct {
    const char *name;
    sy_console_fn fn;
} endpoints[MAX_ENDPOINTS]; /* filled at start-up, read-only after */
static int nendpoints;

void sy_server_console_add(const char *name, sy_console_fn fn)
{
    if (nendpoints == MAX_ENDPOINTS) sy_panic("too many console endpoints");
    endpoints[nendpoints].name = name;
    endpoints[nendpoints].fn = fn;
    nendpoints++;
}

static const char *content_type(const char *path)
{
    static const char *const types[][2] = {
        {".html", "text/html; charset=utf-8"}, {".js", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},   {".svg", "image/svg+xml"},
        {".png", "image/png"},                 {".json", "application/json"},
        {".ico", "image/x-icon"},              {".txt", "text/plain; charset=utf-8"},
    };
    const char *dot = strrchr(path, '.');
    for (size_t i = 0; dot && i < sizeof types / sizeof types[0]; i++)
        if (strcmp(dot, types[i][0]) == 0) return types[i][1];
    return "application/octet-stream";
}

static void security_headers(sy_resp_t *resp)
{
    sy_resp_header(resp, "X-Content-Type-Options", "nosniff");
    sy_resp_header(resp, "X-Frame-Options", "DENY");
    sy_resp_header(resp, "Referrer-Policy", "no-referrer");
    sy_resp_header(resp, "Content-Security-Policy",
                   "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
                   "connect-src 'self'; frame-ancestors 'none'");
}

static void not_found(sy_resp_t *resp)
{
    resp->status = 404;
    resp->content_type = "text/plain; charset=utf-8";
    sy_buf_reset(&resp->body);
    sy_buf_puts(&resp->body, "not found\n");
    sy_metric_inc("switchyard_console_requests_total", "kind=\"not_found\"", 1);
}

static void config_json(const sy_req_t *req, sy_resp_t *resp)
{
    const sy_ctx_t *ctx = req->ctx;
    json_t *o = json_pack("{s:b,s:b,s:s,s:s}", "write", ctx->cfg.console_write != 0, "signed", ctx->creds != NULL,
                          "region", ctx->cfg.region, "account", ctx->cfg.account_id);
    char *s = sy_json_dumps(o);
    json_decref(o);
    resp->status = 200;
    resp->content_type = "application/json";
    sy_buf_puts(&resp->body, s);
    free(s);
    sy_resp_header(resp, "Cache-Control", "no-store");
}

/* GET/HEAD /console..., unauthenticated: the files are public, the data is not. */
static void serve_static(sy_req_t *req, sy_resp_t *resp, void *udata)
{
    (void)udata;
    const char *p = req->path;
    if (strcmp(p, "/console") == 0) { /* the page's relative URLs need the slash */
        resp->status = 301;
        resp->content_type = "text/plain; charset=utf-8";
        sy_resp_header(resp, "Location", "/console/");
        return;
    }
    if (strncmp(p, "/console/", 9) != 0) return not_found(resp);
    const char *rel = p[9] ? p + 9 : "index.html";
    if (strcmp(rel, "config.json") == 0) return config_json(req, resp);
    const sy_console_asset_t *a = NULL;
    for (const sy_console_asset_t *it = sy_console_assets; it->path; it++)
        if (strcmp(it->path, rel) == 0) a = it; /* exact names only: no "..", no listing */
    if (!a) return not_found(resp);
    security_headers(resp);
    sy_resp_header(resp, "ETag", a->etag);
    sy_resp_header(resp, "Cache-Control", "no-cache"); /* revalidate: a new binary may bring new files */
    resp->content_type = content_type(a->path);
    const char *inm = sy_req_header(req, "If-None-Match");
    if (inm && strstr(inm, a->etag)) {
        resp->status = 304;
        sy_metric_inc("switchyard_console_requests_total", "kind=\"not_modified\"", 1);
        return;
    }
    resp->status = 200;
    sy_buf_append(&resp->body, a->data, a->len);
    sy_metric_inc("switchyard_console_requests_total", "kind=\"file\"", 1);
}

/* POST /console/api/<name>: a JSON object in, a JSON object out; signed like
 * every API call when credentials are configured; errors in the REST shape. */
static void serve_api(sy_req_t *req, sy_resp_t *resp, void *udata)
{
    sy_ctx_t *ctx = udata;
    sy_err_t err;
    const char *name = req->path + strlen("/console/api/");
    req->action = "Console";
    sy_console_fn fn = NULL;
    for (int i = 0; i < nendpoints; i++)
        if (strcmp(endpoints[i].name, name) == 0) fn = endpoints[i].fn;
    if (!fn) {
        sy_err_set(&err, SY_E_NOTFOUND, 404, "ResourceNotFoundException", "no console endpoint %s", name);
        return sy_resp_error(resp, req, &err, NULL);
    }
    if (strcmp(req->method, "POST") != 0) {
        sy_err_set(&err, SY_E_INVALID, 405, "MethodNotAllowedException", "console endpoints take POST");
        return sy_resp_error(resp, req, &err, NULL);
    }
    json_error_t jerr;
    json_t *in = req->body_len ? json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr) : json_object();
    if (!json_is_object(in)) {
        json_decref(in);
        sy_err_set(&err, SY_E_INVALID, 400, "ValidationException", "request body is not a JSON object");
        return sy_resp_error(resp, req, &err, NULL);
    }
    json_t *out = NULL;
    memset(&err, 0, sizeof err);
    int rc = fn(ctx, in, &out, &err);
    json_decref(in);
    if (rc < 0) {
        json_decref(out);
        if (!err.code[0]) sy_err_set(&err, rc, 500, "ServiceException", "console endpoint failed");
        sy_metric_inc("switchyard_console_requests_total", "kind=\"api_error\"", 1);
        return sy_resp_error(resp, req, &err, NULL);
    }
    sy_metric_inc("switchyard_console_requests_total", "kind=\"api\"", 1);
    if (!out) out = json_object();
    sy_resp_json(resp, req, out);
    json_decref(out);
}

void sy_server_console_start(sy_ctx_t *ctx)
{
    sy_http_route_static("/console", serve_static, NULL);
    sy_http_route_path("/console/api/", "console", serve_api, ctx);
}
