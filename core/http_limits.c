/* core/http_limits.c - how each service spells "slow down" (issue 14).
 * core/http.c refuses a request over http-max-inflight or
 * http-max-buffered-mb before reading its body; the answer is the error
 * the service's clients know as a throttle and retry with back-off
 * (botocore: 429, SQS's RequestThrottled 403, ThrottlingException 400). */
#include "core/core.h"

#include <string.h>

void sy_http_throttle_error(const char *service, sy_err_t *err)
{
    const char *s = service ? service : "";
    if (strcmp(s, "sqs") == 0)
        sy_err_set(err, SY_E_LIMIT, 403, "RequestThrottled", "Request is throttled.");
    else if (strcmp(s, "sns") == 0)
        sy_err_set(err, SY_E_LIMIT, 429, "Throttled", "Rate exceeded");
    else if (strcmp(s, "lambda") == 0)
        sy_err_set(err, SY_E_LIMIT, 429, "TooManyRequestsException", "Rate Exceeded.");
    else if (strcmp(s, "events") == 0 || strcmp(s, "states") == 0)
        sy_err_set(err, SY_E_LIMIT, 400, "ThrottlingException", "Rate exceeded");
    else
        sy_err_set(err, SY_E_LIMIT, 503, "SlowDown", "the broker is busy, retry the request");
    char labels[64];
    snprintf(labels, sizeof labels, "service=\"%s\"", s[0] && strlen(s) < 32 ? s : "none");
    sy_metric_inc("switchyard_http_throttled_total", labels, 1);
}

void sy_http_throttled(sy_req_t *req, sy_resp_t *resp)
{
    sy_http_route_of(req);
    sy_err_t err;
    sy_http_throttle_error(req->service, &err);
    bool sns = req->service && strcmp(req->service, "sns") == 0;
    sy_resp_error(resp, req, &err, sns ? "http://sns.amazonaws.com/doc/2010-03-31/"
                                       : "http://queue.amazonaws.com/doc/2012-11-05/");
}
