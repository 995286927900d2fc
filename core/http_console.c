/* core/http_console.c - the web console's read-only gate: a request that
 * carries the console's header may only read unless the broker runs with
 * --console-write=1. The gate sits in the router, after the action is known
 * and before any handler runs, so a refused request changes nothing. */
#include "core/core.h"

#include <string.h>

static bool has_prefix(const char *s, const char *p)
{
    return strncmp(s, p, strlen(p)) == 0;
}

/* Actions that only read, by AWS's naming (and the two that test input). */
static bool action_reads(const char *a)
{
    static const char *const prefixes[] = {"List", "Get", "Describe", "Validate"};
    for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++)
        if (has_prefix(a, prefixes[i])) return true;
    return strcmp(a, "TestEventPattern") == 0;
}

bool sy_http_console_allows(const sy_req_t *req, sy_resp_t *resp)
{
    if (!sy_req_header(req, SY_CONSOLE_HEADER)) return true;
    if (req->ctx && req->ctx->cfg.console_write) return true;
    if (req->service && strcmp(req->service, "console") == 0) return true; /* its endpoints only read */
    bool reads = req->proto == SY_PROTO_REST ? strcmp(req->method, "GET") == 0
                                             : req->action && action_reads(req->action);
    if (reads) return true;
    sy_metric_inc("switchyard_console_refused_total", NULL, 1);
    sy_err_t err;
    sy_err_set2(&err, SY_E_INVALID, 403, "AccessDeniedException", "AccessDenied",
                "the console is read-only: start the broker with --console-write=1 to allow %s",
                req->action ? req->action : req->method);
    const char *xmlns = req->service && strcmp(req->service, "sns") == 0 ? "http://sns.amazonaws.com/doc/2010-03-31/"
                                                                          : "http://queue.amazonaws.com/doc/2012-11-05/";
    sy_resp_error(resp, req, &err, xmlns);
    return false;
}
