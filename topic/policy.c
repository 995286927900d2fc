/* topic/policy.c - DeliveryPolicy of topics and HTTP(S) subscriptions, as
 * AWS writes it: validation (with SNS's InvalidParameter messages), the
 * effective policy of a subscription (AWS's defaults < the topic's
 * "http" defaults < the subscription's own, unless the topic sets
 * disableSubscriptionOverrides), and the retry schedule it implies.
 *
 * The schedule after a failed attempt: retry r (1..numRetries) waits
 *   0 s                      for r <= numNoDelayRetries,
 *   minDelayTarget           for the next numMinDelayRetries,
 *   the backoff curve        for the nb retries of the backoff phase,
 *   maxDelayTarget           for the last numMaxDelayRetries;
 * in the backoff phase retry k of nb waits min + (max - min) * g(k / nb),
 * g(f) = f (linear), f^2 (arithmetic), f^3 (geometric),
 * (2^(10 f) - 1) / 1023 (exponential), rounded to whole seconds. AWS does
 * not publish its curves (only their shapes); these start at min and end
 * at max as AWS's do, without jitter. */
#include "topic/internal.h"

#include <math.h>
#include <strings.h>
#include <stdlib.h>
#include <string.h>

#define MAX_RETRIES 100
#define MAX_DELAY_S 3600
#define MAX_TOTAL_S 3600

static const char *BACKOFFS[] = {"linear", "arithmetic", "geometric", "exponential", NULL};
static const char *CONTENT_TYPES[] = {"text/plain", "application/json", "application/xml", NULL};

void tp_policy_default(tp_policy_t *p)
{
    memset(p, 0, sizeof *p);
    p->num_retries = 3;
    p->min_delay = p->max_delay = 20;
    snprintf(p->backoff, sizeof p->backoff, "linear");
    snprintf(p->content_type, sizeof p->content_type, "text/plain; charset=UTF-8");
}

/* ------------------------------------------------------------ validation */
typedef struct {
    sy_err_t *err;
    const char *prefix; /* "Attributes Reason: " or "" */
} ck_t;

static int bad(const ck_t *ck, const char *path, const char *what)
{
    return tp_invalid(ck->err, "%sDeliveryPolicy: %s %s", ck->prefix, path, what);
}

/* An integer member (absent: def, *present false). */
static int int_member(const ck_t *ck, const json_t *o, const char *obj_path, const char *name, int *out,
                      bool *present)
{
    json_t *v = json_object_get(o, name);
    *present = v != NULL;
    if (!v) return 0;
    char path[160];
    snprintf(path, sizeof path, "%s.%s", obj_path, name);
    if (!json_is_integer(v)) return bad(ck, path, "must be an integer");
    json_int_t x = json_integer_value(v);
    if (x < 0) return bad(ck, path, "must be greater than or equal to 0");
    if (x > 1000000) return bad(ck, path, "is too large");
    *out = (int)x;
    return 0;
}

static bool in_list(const char *const *list, const char *v, size_t n)
{
    for (; *list; list++)
        if (strlen(*list) == n && strncmp(*list, v, n) == 0) return true;
    return false;
}

/* The whole-second delay before retry r (1-based) of p, or -1 past the end. */
int tp_policy_delay_s(const tp_policy_t *p, int r)
{
    if (r < 1 || r > p->num_retries) return -1;
    if (r <= p->no_delay) return 0;
    r -= p->no_delay;
    if (r <= p->min_retries) return p->min_delay;
    r -= p->min_retries;
    int nb = p->num_retries - p->no_delay - p->min_retries - p->max_retries;
    if (r > nb) return p->max_delay;
    double f = (double)r / nb, g;
    if (!strcmp(p->backoff, "arithmetic"))
        g = f * f;
    else if (!strcmp(p->backoff, "geometric"))
        g = f * f * f;
    else if (!strcmp(p->backoff, "exponential"))
        g = (pow(2.0, 10.0 * f) - 1.0) / 1023.0;
    else
        g = f;
    long d = lround(p->min_delay + (p->max_delay - p->min_delay) * g);
    if (d < p->min_delay) d = p->min_delay;
    if (d > p->max_delay) d = p->max_delay;
    return (int)d;
}

static int check_retry(const ck_t *ck, const json_t *o, const char *path, tp_policy_t *p)
{
    if (!json_is_object(o)) return bad(ck, path, "must be a JSON object");
    static const char *const req[] = {"minDelayTarget", "maxDelayTarget", "numRetries"};
    int *req_out[] = {&p->min_delay, &p->max_delay, &p->num_retries};
    bool present;
    char sub[160];
    for (int i = 0; i < 3; i++) {
        if (int_member(ck, o, path, req[i], req_out[i], &present) < 0) return SY_E_INVALID;
        snprintf(sub, sizeof sub, "%s.%s", path, req[i]);
        if (!present) return bad(ck, sub, "must be specified");
    }
    if (int_member(ck, o, path, "numNoDelayRetries", &p->no_delay, &present) < 0 ||
        int_member(ck, o, path, "numMinDelayRetries", &p->min_retries, &present) < 0 ||
        int_member(ck, o, path, "numMaxDelayRetries", &p->max_retries, &present) < 0)
        return SY_E_INVALID;
    json_t *bf = json_object_get(o, "backoffFunction");
    if (bf) {
        snprintf(sub, sizeof sub, "%s.backoffFunction", path);
        if (!json_is_string(bf) || !in_list(BACKOFFS, json_string_value(bf), json_string_length(bf)))
            return bad(ck, sub, "must be one of linear, arithmetic, geometric, exponential");
        snprintf(p->backoff, sizeof p->backoff, "%s", json_string_value(bf));
    }
    snprintf(sub, sizeof sub, "%s.minDelayTarget", path);
    if (p->min_delay < 1) return bad(ck, sub, "must be greater than or equal to 1");
    snprintf(sub, sizeof sub, "%s.maxDelayTarget", path);
    if (p->max_delay > MAX_DELAY_S) return bad(ck, sub, "must be less than or equal to 3600");
    if (p->max_delay < p->min_delay) return bad(ck, sub, "must be greater than or equal to minDelayTarget");
    snprintf(sub, sizeof sub, "%s.numRetries", path);
    if (p->num_retries > MAX_RETRIES) return bad(ck, sub, "must be less than or equal to 100");
    if ((long)p->no_delay + p->min_retries + p->max_retries > p->num_retries)
        return bad(ck, sub,
                   "must be greater than or equal to total of numMinDelayRetries, numNoDelayRetries and "
                   "numMaxDelayRetries");
    long total = 0;
    for (int r = 1; r <= p->num_retries; r++) total += tp_policy_delay_s(p, r);
    if (total > MAX_TOTAL_S) return bad(ck, path, "total retry time must be less than or equal to 3600 seconds");
    return 0;
}

static int check_throttle(const ck_t *ck, const json_t *o, const char *path, tp_policy_t *p)
{
    if (!o || json_is_null(o)) return 0;
    if (!json_is_object(o)) return bad(ck, path, "must be a JSON object");
    bool present;
    if (int_member(ck, o, path, "maxReceivesPerSecond", &p->max_per_s, &present) < 0) return SY_E_INVALID;
    char sub[160];
    snprintf(sub, sizeof sub, "%s.maxReceivesPerSecond", path);
    if (present && p->max_per_s < 1) return bad(ck, sub, "must be greater than or equal to 1");
    return 0;
}

static int check_request(const ck_t *ck, const json_t *o, const char *path, tp_policy_t *p)
{
    if (!o || json_is_null(o)) return 0;
    if (!json_is_object(o)) return bad(ck, path, "must be a JSON object");
    json_t *ct = json_object_get(o, "headerContentType");
    if (!ct) return 0;
    char sub[160];
    snprintf(sub, sizeof sub, "%s.headerContentType", path);
    const char *v = json_string_value(ct);
    size_t n = v ? strcspn(v, ";") : 0;
    if (!v || !in_list(CONTENT_TYPES, v, n) || strlen(v) >= sizeof p->content_type)
        return bad(ck, sub, "must be one of text/plain, application/json, application/xml (with an optional charset)");
    if (v[n]) { /* "; charset=..." */
        const char *cs = v + n + 1;
        while (*cs == ' ') cs++;
        if (strncasecmp(cs, "charset=", 8) != 0 || !cs[8])
            return bad(ck, sub, "must be one of text/plain, application/json, application/xml (with an optional charset)");
    }
    snprintf(p->content_type, sizeof p->content_type, "%s", v);
    return 0;
}

static bool member_known(const char *k, const char *const *list)
{
    for (; *list; list++)
        if (!strcmp(*list, k)) return true;
    return false;
}

/* The subscription shape: {"healthyRetryPolicy", "throttlePolicy",
 * "requestPolicy", "sicklyRetryPolicy", "guaranteed"}. */
static int check_sub(const ck_t *ck, const json_t *j, tp_policy_t *p)
{
    static const char *const known[] = {"healthyRetryPolicy", "throttlePolicy", "requestPolicy",
                                        "sicklyRetryPolicy",  "guaranteed",     NULL};
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)j, k, v)
    {
        if (!member_known(k, known)) return bad(ck, k, "is not a delivery policy attribute");
    }
    json_t *h = json_object_get(j, "healthyRetryPolicy");
    if (h && !json_is_null(h) && check_retry(ck, h, "healthyRetryPolicy", p) < 0) return SY_E_INVALID;
    if (check_throttle(ck, json_object_get(j, "throttlePolicy"), "throttlePolicy", p) < 0) return SY_E_INVALID;
    return check_request(ck, json_object_get(j, "requestPolicy"), "requestPolicy", p);
}

/* The topic shape: {"http": {"defaultHealthyRetryPolicy", "defaultThrottlePolicy",
 * "defaultRequestPolicy", "disableSubscriptionOverrides", "defaultSicklyRetryPolicy"}}
 * (other protocols' sections are accepted and have no effect). */
static int check_topic(const ck_t *ck, const json_t *j, tp_policy_t *p, bool *no_overrides)
{
    json_t *http = json_object_get(j, "http");
    if (!http) return 0;
    if (!json_is_object(http)) return bad(ck, "http", "must be a JSON object");
    static const char *const known[] = {"defaultHealthyRetryPolicy", "defaultThrottlePolicy",
                                        "defaultRequestPolicy",      "disableSubscriptionOverrides",
                                        "defaultSicklyRetryPolicy",  NULL};
    const char *k;
    json_t *v;
    json_object_foreach(http, k, v)
    {
        if (!member_known(k, known)) {
            char path[160];
            snprintf(path, sizeof path, "http.%s", k);
            return bad(ck, path, "is not a delivery policy attribute");
        }
    }
    json_t *h = json_object_get(http, "defaultHealthyRetryPolicy");
    if (h && !json_is_null(h) && check_retry(ck, h, "http.defaultHealthyRetryPolicy", p) < 0) return SY_E_INVALID;
    if (check_throttle(ck, json_object_get(http, "defaultThrottlePolicy"), "http.defaultThrottlePolicy", p) < 0 ||
        check_request(ck, json_object_get(http, "defaultRequestPolicy"), "http.defaultRequestPolicy", p) < 0)
        return SY_E_INVALID;
    json_t *d = json_object_get(http, "disableSubscriptionOverrides");
    if (d && !json_is_boolean(d)) return bad(ck, "http.disableSubscriptionOverrides", "must be true or false");
    if (no_overrides) *no_overrides = json_is_true(d);
    return 0;
}

int tp_policy_check(const char *text, bool topic, bool in_attributes, sy_err_t *err)
{
    ck_t ck = {err, in_attributes ? "Attributes Reason: " : ""};
    if (!text) return bad(&ck, "", "is missing");
    json_t *j = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
    int rc = 0;
    tp_policy_t p;
    tp_policy_default(&p);
    if (!json_is_object(j))
        rc = tp_invalid(err, "%sDeliveryPolicy: failed to parse JSON", ck.prefix);
    else
        rc = topic ? check_topic(&ck, j, &p, NULL) : check_sub(&ck, j, &p);
    json_decref(j);
    return rc;
}

/* ------------------------------------------------------------ resolution */
void tp_policy_resolve(const char *topic_dp, const char *sub_dp, tp_policy_t *p)
{
    tp_policy_default(p);
    sy_err_t ignored;
    ck_t ck = {&ignored, ""};
    bool no_overrides = false;
    json_t *t = topic_dp ? json_loads(topic_dp, 0, NULL) : NULL;
    tp_policy_t tp = *p;
    if (json_is_object(t) && check_topic(&ck, t, &tp, &no_overrides) == 0) *p = tp;
    json_decref(t);
    if (no_overrides || !sub_dp) return;
    json_t *s = json_loads(sub_dp, 0, NULL);
    tp_policy_t sp = *p;
    if (json_is_object(s) && check_sub(&ck, s, &sp) == 0) *p = sp;
    json_decref(s);
}

static json_t *retry_json(const tp_policy_t *p)
{
    return json_pack("{s:i,s:i,s:i,s:i,s:i,s:i,s:s}", "minDelayTarget", p->min_delay, "maxDelayTarget", p->max_delay,
                     "numRetries", p->num_retries, "numMaxDelayRetries", p->max_retries, "numNoDelayRetries",
                     p->no_delay, "numMinDelayRetries", p->min_retries, "backoffFunction", p->backoff);
}

char *tp_policy_effective_sub(const char *topic_dp, const char *sub_dp)
{
    tp_policy_t p;
    tp_policy_resolve(topic_dp, sub_dp, &p);
    json_t *o = json_pack("{s:o,s:n,s:n,s:b}", "healthyRetryPolicy", retry_json(&p), "sicklyRetryPolicy",
                          "throttlePolicy", "guaranteed", 0);
    if (p.max_per_s) json_object_set_new(o, "throttlePolicy", json_pack("{s:i}", "maxReceivesPerSecond", p.max_per_s));
    json_object_set_new(o, "requestPolicy", json_pack("{s:s}", "headerContentType", p.content_type));
    char *s = sy_json_dumps(o);
    json_decref(o);
    return s;
}

char *tp_policy_effective_topic(const char *topic_dp)
{
    tp_policy_t p;
    tp_policy_default(&p);
    sy_err_t ignored;
    ck_t ck = {&ignored, ""};
    bool no_overrides = false;
    json_t *t = topic_dp ? json_loads(topic_dp, 0, NULL) : NULL;
    tp_policy_t tp = p;
    if (json_is_object(t) && check_topic(&ck, t, &tp, &no_overrides) == 0) p = tp;
    json_decref(t);
    json_t *http = json_pack("{s:o,s:b,s:{s:s}}", "defaultHealthyRetryPolicy", retry_json(&p),
                             "disableSubscriptionOverrides", no_overrides, "defaultRequestPolicy",
                             "headerContentType", p.content_type);
    if (p.max_per_s)
        json_object_set_new(http, "defaultThrottlePolicy", json_pack("{s:i}", "maxReceivesPerSecond", p.max_per_s));
    json_t *o = json_pack("{s:o}", "http", http);
    char *s = sy_json_dumps(o);
    json_decref(o);
    return s;
}

/* The compact form carried by a delivery (the internal queue's message). */
json_t *tp_policy_pack(const tp_policy_t *p)
{
    return json_pack("[i,i,i,i,i,i,s,i,s]", p->num_retries, p->no_delay, p->min_retries, p->max_retries, p->min_delay,
                     p->max_delay, p->backoff, p->max_per_s, p->content_type);
}

void tp_policy_unpack(const json_t *j, tp_policy_t *p)
{
    tp_policy_default(p);
    const char *bf = NULL, *ct = NULL;
    tp_policy_t q = *p;
    if (json_unpack((json_t *)j, "[i,i,i,i,i,i,s,i,s]", &q.num_retries, &q.no_delay, &q.min_retries, &q.max_retries,
                    &q.min_delay, &q.max_delay, &bf, &q.max_per_s, &ct) != 0)
        return; /* an older record: AWS's defaults */
    snprintf(q.backoff, sizeof q.backoff, "%s", bf);
    snprintf(q.content_type, sizeof q.content_type, "%s", ct);
    *p = q;
}
