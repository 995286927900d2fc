/* core/http.c - the HTTP front door: libmicrohttpd, one thread per
 * connection (long polls block their own thread only), routing by
 * X-Amz-Target, by the query protocol's Version/Action, or by path. */
#include "core/core.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define MAX_ROUTES 32

typedef struct {
    char kind; /* 't' target prefix, 'q' query version, 'p' path prefix, 's' static files */
    const char *key, *service;
    sy_proto_t proto;
    sy_handler_fn fn;
    void *udata;
} route_t;

static route_t routes[MAX_ROUTES]; /* filled at start-up, read-only after */
static int nroutes;
/* services start on more than one thread (server/main.c); the listener
 * starts after they are all joined, so readers need no lock */
static pthread_mutex_t routes_mu = PTHREAD_MUTEX_INITIALIZER;

static void add_route(char kind, const char *key, const char *service, sy_proto_t proto, sy_handler_fn fn,
                      void *udata)
{
    pthread_mutex_lock(&routes_mu);
    if (nroutes == MAX_ROUTES) sy_panic("too many routes");
    routes[nroutes++] = (route_t){kind, key, service, proto, fn, udata};
    pthread_mutex_unlock(&routes_mu);
}
void sy_http_route_target(const char *p, const char *service, sy_proto_t proto, sy_handler_fn fn, void *u)
{
    add_route('t', p, service, proto, fn, u);
}
void sy_http_route_query(const char *version, const char *service, sy_handler_fn fn, void *u)
{
    add_route('q', version, service, SY_PROTO_QUERY, fn, u);
}
void sy_http_route_path(const char *p, const char *service, sy_handler_fn fn, void *u)
{
    add_route('p', p, service, SY_PROTO_REST, fn, u);
}
void sy_http_route_static(const char *p, sy_handler_fn fn, void *u)
{
    add_route('s', p, "console", SY_PROTO_REST, fn, u);
}

void sy_http_route_public(const char *p, const char *service, sy_handler_fn fn, void *u)
{
    add_route('P', p, service, SY_PROTO_REST, fn, u);
}

void sy_http_route_open(const char *path, const char *service, sy_handler_fn fn, void *u)
{
    add_route('o', path, service, SY_PROTO_REST, fn, u);
}
static const route_t *find_open(const char *path)
{
    for (int i = 0; i < nroutes; i++)
        if (routes[i].kind == 'o' && strcmp(routes[i].key, path) == 0) return &routes[i];
    return NULL;
}

struct sy_http {
    sy_ctx_t *ctx;
    struct MHD_Daemon *d;
    int port;
    pthread_mutex_t mu;
    pthread_cond_t idle_cv;
    int inflight;  /* requests between their first byte and their completion */
    int64_t buffered; /* bytes of request bodies held (issue 14: http-max-buffered-mb) */
    bool draining; /* answers carry Connection: close */
};

typedef struct {
    sy_buf_t body;
    bool too_large, started;
    bool throttled; /* over http-max-inflight or http-max-buffered-mb: answered with the throttling error */
    int64_t start_us;
    char *raw_path, *raw_query; /* the request target as on the wire */
} conn_state_t;

/* Reserve n more bytes of body for st under http-max-buffered-mb; false:
 * over it, st is throttled (the caller drops what it held). */
static bool body_hold(sy_http_t *h, conn_state_t *st, size_t n)
{
    pthread_mutex_lock(&h->mu);
    bool ok = h->buffered + (int64_t)n <= (int64_t)h->ctx->cfg.http_max_buffered_mb << 20;
    if (ok) h->buffered += (int64_t)n;
    pthread_mutex_unlock(&h->mu);
    if (!ok) st->throttled = true;
    return ok;
}

/* Drop the body st holds (too large or throttled). */
static void body_unhold(sy_http_t *h, conn_state_t *st)
{
    pthread_mutex_lock(&h->mu);
    h->buffered -= (int64_t)st->body.len;
    pthread_mutex_unlock(&h->mu);
    sy_buf_free(&st->body);
}

/* MHD hands us the raw URI before it decodes anything: keep it. */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
    (void)conn;
    sy_http_t *h = cls;
    conn_state_t *st = sy_calloc(1, sizeof *st);
    if (h) {
        pthread_mutex_lock(&h->mu);
        st->throttled = ++h->inflight > h->ctx->cfg.http_max_inflight && h->ctx->cfg.http_max_inflight > 0;
        pthread_mutex_unlock(&h->mu);
    }
    st->start_us = sy_mono_us();
    const char *q = strchr(uri, '?');
    st->raw_path = q ? sy_strndup(uri, (size_t)(q - uri)) : sy_strdup(uri);
    st->raw_query = sy_strdup(q ? q + 1 : "");
    return st;
}

const char *sy_req_header(const sy_req_t *req, const char *name)
{
    if (!req->conn) return NULL;
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

void sy_resp_header(sy_resp_t *r, const char *name, const char *value)
{
    if (r->nheaders == 8) return;
    r->headers[r->nheaders][0] = sy_strdup(name);
    r->headers[r->nheaders][1] = sy_strdup(value);
    r->nheaders++;
}

static const char *json_ctype(sy_proto_t p)
{
    return p == SY_PROTO_JSON11 ? "application/x-amz-json-1.1"
           : p == SY_PROTO_REST ? "application/json"
                                : "application/x-amz-json-1.0";
}

void sy_resp_json(sy_resp_t *r, const sy_req_t *req, json_t *v)
{
    r->status = 200;
    r->content_type = json_ctype(req->proto);
    sy_buf_reset(&r->body);
    char *s = sy_json_dumps(v);
    sy_buf_puts(&r->body, s);
    free(s);
}

sy_buf_t *sy_resp_json_body(sy_resp_t *r, const sy_req_t *req)
{
    r->status = 200;
    r->content_type = json_ctype(req->proto);
    sy_buf_reset(&r->body);
    return &r->body;
}

void sy_resp_error(sy_resp_t *r, const sy_req_t *req, const sy_err_t *err, const char *xmlns)
{
    r->status = err->status ? err->status : 400;
    sy_buf_reset(&r->body);
    const char *qcode = err->query_code[0] ? err->query_code : err->code;
    if (req->proto == SY_PROTO_QUERY) {
        r->content_type = "text/xml";
        sy_buf_printf(&r->body, "<?xml version=\"1.0\"?><ErrorResponse xmlns=\"%s\"><Error><Type>%s</Type><Code>",
                      xmlns ? xmlns : "", err->receiver ? "Receiver" : "Sender");
        sy_buf_xml_escape(&r->body, qcode, strlen(qcode));
        sy_buf_puts(&r->body, "</Code><Message>");
        sy_buf_xml_escape(&r->body, err->message, strlen(err->message));
        sy_buf_printf(&r->body, "</Message><Detail/></Error><RequestId>%s</RequestId></ErrorResponse>",
                      req->request_id);
        return;
    }
    r->content_type = json_ctype(req->proto);
    json_t *o = json_object();
    if (req->proto == SY_PROTO_REST) {
        json_object_set_new(o, "Type", json_string(err->receiver ? "Service" : "User"));
        json_object_set_new(o, "message", json_string(err->message));
        sy_resp_header(r, "x-amzn-errortype", err->code);
    } else {
        json_object_set_new(o, "__type", json_string(err->code));
        json_object_set_new(o, "message", json_string(err->message));
        if (strcmp(qcode, err->code) != 0 || strcmp(req->service ? req->service : "", "sqs") == 0) {
            char *h = sy_asprintf("%s;%s", qcode, err->receiver ? "Receiver" : "Sender");
            sy_resp_header(r, "x-amzn-query-error", h);
            free(h);
        }
    }
    char *s = sy_json_dumps(o);
    sy_buf_puts(&r->body, s);
    free(s);
    json_decref(o);
}

static bool starts_with(const char *s, const char *p)
{
    return s && strncmp(s, p, strlen(p)) == 0;
}

static const route_t *find_route(char kind, const char *key, const char **rest)
{
    const route_t *best = NULL;
    size_t best_len = 0;
    for (int i = 0; i < nroutes; i++) {
        if (routes[i].kind != kind) continue;
        size_t l = strlen(routes[i].key);
        bool hit = kind == 'q' ? strcmp(key, routes[i].key) == 0 : strncmp(key, routes[i].key, l) == 0;
        if (hit && l >= best_len) {
            best = &routes[i];
            best_len = l;
        }
    }
    if (best && rest) *rest = key + (best->kind == 't' ? best_len : 0);
    return best;
}

/* Query protocol without Version: use the credential scope's service. */
static const route_t *query_route_by_scope(const char *auth)
{
    char akid[128], region[64], service[64];
    if (!auth || sy_sigv4_parse_scope(auth, akid, sizeof akid, region, sizeof region, service, sizeof service) < 0)
        service[0] = 0;
    for (int i = 0; i < nroutes; i++)
        if (routes[i].kind == 'q' && (!service[0] || strcmp(routes[i].service, service) == 0)) return &routes[i];
    return NULL;
}

static void health(sy_ctx_t *ctx, sy_resp_t *resp)
{
    PGconn *c = ctx->pool ? sy_pg_acquire(ctx->pool) : NULL;
    bool ok = false;
    if (c) {
        PGresult *r = PQexec(c, "SELECT 1");
        ok = PQresultStatus(r) == PGRES_TUPLES_OK;
        PQclear(r);
        sy_pg_release(ctx->pool, c);
    }
    resp->status = ok ? 200 : 503;
    resp->content_type = "application/json";
    sy_buf_puts(&resp->body, ok ? "{\"status\":\"ok\"}" : "{\"status\":\"database unavailable\"}");
}

static void metrics(sy_ctx_t *ctx, sy_resp_t *resp)
{
    if (ctx->pool) {
        sy_metric_set("switchyard_db_pool_in_use", NULL, sy_pg_pool_in_use(ctx->pool));
        sy_metric_set("switchyard_db_pool_size", NULL, sy_pg_pool_size(ctx->pool));
    }
    sy_probe_metrics(); /* switchyard_loop_heartbeat_age_seconds */
    resp->status = 200;
    resp->content_type = "text/plain; version=0.0.4";
    sy_metrics_render(&resp->body);
}

static void not_routed(sy_req_t *req, sy_resp_t *resp, const char *target)
{
    sy_err_t err;
    if (target) {
        req->proto = SY_PROTO_JSON10;
        sy_err_set(&err, SY_E_INVALID, 400, "UnknownOperationException", "unknown operation %s", target);
    } else if (req->proto == SY_PROTO_QUERY) {
        sy_err_set(&err, SY_E_INVALID, 400, "InvalidAction", "the action %s is not valid for this endpoint",
                   req->action ? req->action : "(none)");
    } else {
        req->proto = SY_PROTO_REST;
        sy_err_set(&err, SY_E_NOTFOUND, 404, "UnknownOperationException", "no route for %s %s", req->method,
                   req->path);
    }
    const char *v = req->form ? sy_form_get(req->form, "Version") : NULL;
    sy_resp_error(resp, req, &err, v && strcmp(v, "2010-03-31") == 0 ? "http://sns.amazonaws.com/doc/2010-03-31/"
                                                                     : "http://queue.amazonaws.com/doc/2012-11-05/");
}

/* The route a request would take, from what is known without its body
 * (X-Amz-Target, the path, the query string's Version, the credential
 * scope): core/http_limits.c answers a throttled request in its shape. */
void sy_http_route_of(sy_req_t *req)
{
    const char *target = sy_req_header(req, "X-Amz-Target");
    const route_t *rt = target ? find_route('t', target, NULL) : find_route('p', req->path, NULL);
    if (!rt) {
        const char *v = strstr(req->query, "Version=");
        char ver[16] = "";
        if (v) snprintf(ver, sizeof ver, "%.10s", v + 8);
        rt = ver[0] ? find_route('q', ver, NULL) : NULL;
        if (!rt) rt = query_route_by_scope(sy_req_header(req, "Authorization"));
    }
    req->service = rt ? rt->service : NULL;
    req->proto = rt ? rt->proto : SY_PROTO_REST;
}

/* Decode the request into proto/service/action and call its handler. */
static void route(sy_ctx_t *ctx, sy_req_t *req, sy_resp_t *resp, conn_state_t *st, sy_form_t *formp)
{
    const char *target = sy_req_header(req, "X-Amz-Target");
    const char *ctype = sy_req_header(req, "Content-Type");
    sy_form_t *form = formp;
    const route_t *rt = NULL;
    sy_err_t err;

    if (st->too_large) {
        req->proto = target ? SY_PROTO_JSON10 : starts_with(ctype, "application/x-www-form-urlencoded") ? SY_PROTO_QUERY
                                                                                                       : SY_PROTO_REST;
        sy_err_set(&err, SY_E_LIMIT, 413, "RequestEntityTooLarge", "request body is larger than %d bytes",
                   ctx->cfg.max_body_bytes);
        sy_resp_error(resp, req, &err, "");
        return;
    }
    if (target) {
        const char *action = NULL;
        rt = find_route('t', target, &action);
        if (!rt) return not_routed(req, resp, target);
        req->proto = rt->proto;
        req->service = rt->service;
        req->action = action;
        json_error_t jerr;
        /* SQS: a \u0000 in a message is the action's InvalidMessageContents, not a
         * SerializationException (queue/message.c validates with JSON string lengths) */
        size_t jflags = JSON_REJECT_DUPLICATES | (strcmp(rt->service, "sqs") == 0 ? JSON_ALLOW_NUL : 0);
        req->json = req->body_len ? json_loadb(req->body, req->body_len, jflags, &jerr)
                                  : json_object();
        if (!json_is_object(req->json)) {
            sy_err_set(&err, SY_E_INVALID, 400, "SerializationException", "request body is not a JSON object");
            sy_resp_error(resp, req, &err, NULL);
            return;
        }
    } else if (starts_with(ctype, "application/x-www-form-urlencoded") ||
               (req->query[0] && strstr(req->query, "Action="))) {
        req->proto = SY_PROTO_QUERY;
        sy_buf_t all;
        sy_buf_init(&all);
        sy_buf_puts(&all, req->query);
        if (req->body_len && starts_with(ctype, "application/x-www-form-urlencoded")) {
            if (all.len) sy_buf_putc(&all, '&');
            sy_buf_append(&all, req->body, req->body_len);
        }
        int rc = sy_form_parse(form, all.data ? all.data : "", all.len);
        sy_buf_free(&all);
        if (rc < 0) {
            sy_err_set(&err, SY_E_INVALID, 400, "MalformedQueryString", "could not decode the form body");
            sy_resp_error(resp, req, &err, "");
            return;
        }
        req->form = form;
        req->action = sy_form_get(form, "Action");
        const char *version = sy_form_get(form, "Version");
        rt = version ? find_route('q', version, NULL) : query_route_by_scope(sy_req_header(req, "Authorization"));
        if (!rt || !req->action) {
            not_routed(req, resp, NULL);
            return;
        }
        req->service = rt->service;
    } else {
        rt = find_route('p', req->path, NULL);
        if (!rt) return not_routed(req, resp, NULL);
        req->proto = SY_PROTO_REST;
        req->service = rt->service;
    }
    if (!sy_http_console_allows(req, resp)) return;
    rt->fn(req, resp, rt->udata);
}

int sy_http_call_json(sy_ctx_t *ctx, const char *target, const json_t *in, json_t **out)
{
    *out = NULL;
    const char *action = NULL;
    const route_t *rt = find_route('t', target, &action);
    sy_req_t req = {.method = "POST", .path = "/", .query = "", .host = ctx->cfg.listen, .body = "", .ctx = ctx};
    sy_resp_t resp = {.status = 200};
    sy_buf_init(&resp.body);
    sy_uuid4(req.request_id);
    if (!rt) {
        *out = json_pack("{s:s,s:s}", "__type", "UnknownOperationException", "message", "unknown operation");
        return 400;
    }
    req.proto = rt->proto;
    req.service = rt->service;
    req.action = action;
    req.json = json_deep_copy(in ? in : json_object());
    if (!json_is_object(req.json)) {
        json_decref(req.json);
        req.json = json_object();
    }
    rt->fn(&req, &resp, rt->udata);
    for (int i = 0; i < resp.nheaders; i++) {
        free(resp.headers[i][0]);
        free(resp.headers[i][1]);
    }
    *out = resp.body.len ? json_loadb(resp.body.data, resp.body.len, 0, NULL) : json_object();
    if (!*out) *out = json_object();
    json_decref(req.json);
    sy_buf_free(&resp.body);
    return resp.status;
}

static const char *lookup_lc(void *u, const char *lname)
{
    return MHD_lookup_connection_value(u, MHD_HEADER_KIND, lname);
}

static bool authorize(sy_ctx_t *ctx, sy_req_t *req, sy_resp_t *resp)
{
    if (!ctx->creds) return true;
    sy_sigv4_req_t sr = {.method = req->method, .path = req->path, .query = req->query, .body = req->body,
                         .body_len = req->body_len, .header = lookup_lc, .u = req->conn,
                         .now_s = sy_now_ms() / 1000};
    sy_err_t err;
    const char *akid = NULL;
    if (sy_sigv4_verify(ctx->creds, &sr, &akid, &err) == 0) {
        req->access_key = akid;
        return true;
    }
    const char *target = sy_req_header(req, "X-Amz-Target");
    req->proto = target ? SY_PROTO_JSON10 : req->path && strncmp(req->path, "/20", 3) == 0 ? SY_PROTO_REST
                                                                                          : SY_PROTO_QUERY;
    const char *ctype = sy_req_header(req, "Content-Type");
    bool sns = strstr(req->query, "Version=2010-03-31") ||
               (ctype && strstr(ctype, "form-urlencoded") && req->body_len && memmem(req->body, req->body_len, "Version=2010-03-31", 18));
    sy_resp_error(resp, req, &err, sns ? "http://sns.amazonaws.com/doc/2010-03-31/" : "http://queue.amazonaws.com/doc/2012-11-05/");
    return false;
}

static enum MHD_Result queue_response(struct MHD_Connection *conn, sy_req_t *req, sy_resp_t *resp)
{
    size_t len = resp->body.len;
    char *body = sy_buf_take(&resp->body);
    struct MHD_Response *r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    MHD_add_response_header(r, "Content-Type", resp->content_type ? resp->content_type : "text/plain");
    MHD_add_response_header(r, "x-amzn-RequestId", req->request_id);
    if (resp->close) MHD_add_response_header(r, "Connection", "close");
    for (int i = 0; i < resp->nheaders; i++) {
        MHD_add_response_header(r, resp->headers[i][0], resp->headers[i][1]);
        free(resp->headers[i][0]);
        free(resp->headers[i][1]);
    }
    enum MHD_Result ret = MHD_queue_response(conn, (unsigned)resp->status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    (void)version;
    sy_http_t *h = cls;
    conn_state_t *st = *con_cls;
    if (!st) { /* not expected: the URI callback always runs first */
        st = on_uri(h, url, conn);
        *con_cls = st;
    }
    if (!st->started) {
        st->started = true;
        return MHD_YES;
    }
    if (*upload_data_size) {
        if (!st->too_large && st->body.len + *upload_data_size > (size_t)h->ctx->cfg.max_body_bytes) {
            st->too_large = true;
            body_unhold(h, st);
        }
        if (!st->too_large && !st->throttled && !body_hold(h, st, *upload_data_size)) body_unhold(h, st);
        if (!st->too_large && !st->throttled) sy_buf_append(&st->body, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return MHD_YES;
    }
    sy_req_t req = {.method = method, .path = st->raw_path, .conn = conn, .ctx = h->ctx,
                    .body = st->body.data ? st->body.data : "", .body_len = st->body.len};
    sy_uuid4(req.request_id);
    const char *host = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Host");
    req.host = host ? host : "";
    req.query = st->raw_query;

    sy_form_t form = {0};
    const route_t *pub = NULL;
    sy_resp_t resp = {.status = 200, .close = h->draining};
    sy_buf_init(&resp.body);
    const route_t *st_rt = NULL;
    if (strcmp(method, "GET") == 0 && strcmp(req.path, "/health") == 0) {
        health(h->ctx, &resp);
    } else if ((strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0) &&
               (st_rt = find_route('s', req.path, NULL)) != NULL && !find_route('p', req.path, NULL)) {
        req.proto = SY_PROTO_REST;
        req.service = st_rt->service;
        st_rt->fn(&req, &resp, st_rt->udata);
    } else if (strcmp(method, "GET") == 0 && strcmp(req.path, "/metrics") == 0) {
        metrics(h->ctx, &resp);
    } else if (strcmp(method, "GET") == 0 && (pub = find_route('P', req.path, NULL))) {
        req.proto = SY_PROTO_REST; /* public documents (the SNS signing certificate): no SigV4 */
        req.service = pub->service;
        pub->fn(&req, &resp, pub->udata);
    } else if (strcmp(method, "GET") == 0 && strcmp(req.path, "/health/ready") == 0) {
        sy_probe_ready(h->ctx, &resp); /* core/probe.c */
    } else if (strcmp(method, "GET") == 0 && strcmp(req.path, "/health/live") == 0) {
        sy_probe_live(&resp);
    } else if (strcmp(method, "GET") == 0 && find_open(req.path)) {
        const route_t *o = find_open(req.path); /* unauthenticated GETs: /keda/backlog */
        req.service = o->service;
        o->fn(&req, &resp, o->udata);
    } else if (st->throttled) {
        sy_http_throttled(&req, &resp); /* before the signature: shedding load costs nothing */
    } else if (authorize(h->ctx, &req, &resp)) {
        route(h->ctx, &req, &resp, st, &form);
    }
    enum MHD_Result ret = queue_response(conn, &req, &resp);
    double secs = (double)(sy_mono_us() - st->start_us) / 1e6;
    char labels[256];
    snprintf(labels, sizeof labels, "service=\"%s\",action=\"%s\",status=\"%d\"", req.service ? req.service : "none",
             req.action && strlen(req.action) < 64 && strspn(req.action, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789") == strlen(req.action) ? req.action : "other",
             resp.status);
    sy_metric_inc("switchyard_http_requests_total", labels, 1);
    sy_metric_observe("switchyard_http_request_seconds", NULL, secs);
    if (resp.status >= 500)
        sy_log(SY_LOG_WARN, "http", req.request_id, "request failed", "action", req.action ? req.action : "");
    json_decref(req.json);
    sy_form_free(&form);
    sy_buf_free(&resp.body);
    return ret;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode t)
{
    (void)conn;
    (void)t;
    sy_http_t *h = cls;
    conn_state_t *st = *con_cls;
    if (st) {
        pthread_mutex_lock(&h->mu);
        if (--h->inflight == 0) pthread_cond_broadcast(&h->idle_cv);
        h->buffered -= (int64_t)st->body.len;
        pthread_mutex_unlock(&h->mu);
        sy_buf_free(&st->body);
        free(st->raw_path);
        free(st->raw_query);
        free(st);
    }
    *con_cls = NULL;
}

static int parse_listen(const char *listen, char *host, size_t hn, int *port)
{
    const char *c = strrchr(listen, ':');
    if (!c) return -1;
    snprintf(host, hn, "%.*s", (int)(c - listen), listen);
    char *end;
    long p = strtol(c + 1, &end, 10);
    if (*end || p < 0 || p > 65535) return -1;
    *port = (int)p;
    return 0;
}

sy_http_t *sy_http_new(sy_ctx_t *ctx, const char *listen, sy_err_t *err)
{
    char host[256];
    int port;
    if (parse_listen(listen, host, sizeof host, &port) < 0) {
        sy_err_set(err, SY_E_INVALID, 0, "config", "invalid listen address '%s'", listen);
        return NULL;
    }
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, strcmp(host, "localhost") == 0 ? "127.0.0.1" : host, &sa.sin_addr) != 1) {
        sy_err_set(err, SY_E_INVALID, 0, "config", "listen host must be an IPv4 address: '%s'", host);
        return NULL;
    }
    sy_http_t *h = sy_calloc(1, sizeof *h);
    h->ctx = ctx;
    pthread_mutex_init(&h->mu, NULL);
    pthread_cond_init(&h->idle_cv, NULL);
    h->d = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG |
                                MHD_USE_POLL,
                            (uint16_t)port, NULL, NULL, on_request, h, MHD_OPTION_SOCK_ADDR, &sa,
                            MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
                            MHD_OPTION_URI_LOG_CALLBACK, on_uri, h, MHD_OPTION_CONNECTION_TIMEOUT,
                            (unsigned)120, MHD_OPTION_CONNECTION_LIMIT, (unsigned)4096,
                            MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned)1, MHD_OPTION_END);
    if (!h->d) {
        sy_err_set(err, SY_E_INTERNAL, 0, "listen", "could not listen on %s", listen);
        pthread_mutex_destroy(&h->mu);
        pthread_cond_destroy(&h->idle_cv);
        free(h);
        return NULL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);
    h->port = info ? info->port : port;
    return h;
}

int sy_http_port(const sy_http_t *h)
{
    return h->port;
}

void sy_http_destroy(sy_http_t **self_p)
{
    if (!self_p || !*self_p) return;
    sy_http_t *h = *self_p;
    MHD_socket ls = MHD_quiesce_daemon(h->d); /* stop accepting new connections */
    if (ls != MHD_INVALID_SOCKET) close(ls);        /* refuse, don't leave them in the backlog */
    /* let requests already under way finish (bounded), then close */
    pthread_mutex_lock(&h->mu);
    h->draining = true;
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 30;
    while (h->inflight > 0)
        if (pthread_cond_timedwait(&h->idle_cv, &h->mu, &until) != 0) break;
    if (h->inflight > 0) sy_log(SY_LOG_WARN, "http", NULL, "closing with requests still in flight");
    pthread_mutex_unlock(&h->mu);
    MHD_stop_daemon(h->d);
    pthread_mutex_destroy(&h->mu);
    pthread_cond_destroy(&h->idle_cv);
    free(h);
    *self_p = NULL;
}
