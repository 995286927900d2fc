/* bus/eb_http.c - API destination deliveries with libcurl: the
 * connection's authorization (basic, API key), the target's
 * HttpParameters, the destination's invocation rate limit (per broker). */
#include "bus/internal.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static size_t sink(char *p, size_t s, size_t n, void *u)
{
    (void)p;
    (void)u;
    return s * n;
}

/* Wait for the destination's next slot (token spacing, at most 2 s). */
static void rate_wait(eb_svc_t *svc, const char *name, int rate)
{
    if (rate <= 0) return;
    int64_t gap = 1000000 / rate, now = sy_mono_us(), at;
    pthread_mutex_lock(&svc->mu);
    json_t *v = json_object_get(svc->rate, name);
    at = v ? json_integer_value(v) : now;
    if (at < now) at = now;
    json_object_set_new(svc->rate, name, json_integer(at + gap));
    pthread_mutex_unlock(&svc->mu);
    int64_t wait = at - now;
    if (wait > 2000000) wait = 2000000;
    if (wait > 0) {
        struct timespec ts = {wait / 1000000, (wait % 1000000) * 1000};
        nanosleep(&ts, NULL);
    }
}

static char *url_with(const char *endpoint, const json_t *hp, CURL *cu)
{
    sy_buf_t b;
    sy_buf_init(&b);
    const json_t *pv = json_object_get(hp, "PathParameterValues");
    size_t k = 0;
    for (const char *p = endpoint; *p; p++) {
        if (*p == '*' && k < json_array_size(pv)) sy_buf_puts(&b, json_string_value(json_array_get(pv, k++)) ?: "");
        else sy_buf_putc(&b, *p);
    }
    const json_t *qs = json_object_get(hp, "QueryStringParameters");
    const char *key;
    json_t *v;
    bool first = !strchr(endpoint, '?');
    json_object_foreach((json_t *)qs, key, v)
    {
        if (!json_is_string(v)) continue;
        char *ek = curl_easy_escape(cu, key, 0), *ev = curl_easy_escape(cu, json_string_value(v), 0);
        sy_buf_printf(&b, "%c%s=%s", first ? '?' : '&', ek, ev);
        first = false;
        curl_free(ek);
        curl_free(ev);
    }
    return sy_buf_take(&b);
}

int eb_http_send(eb_svc_t *svc, const char *dest_arn, const json_t *target, const char *body, sy_err_t *err)
{
    sy_ctx_t *ctx = svc->ctx;
    json_t *d;
    int found = store_eb_dest_for_delivery(ctx, dest_arn, &d, err);
    if (found < 0) return found;
    if (!found)
        return sy_err_set(err, SY_E_NOTFOUND, 404, "ApiDestination.NotFound", "API destination %s does not exist",
                          dest_arn);
    rate_wait(svc, sy_json_str(d, "name"), atoi(sy_json_str(d, "rate") ?: "0"));
    CURL *cu = curl_easy_init();
    if (!cu) sy_panic("curl_easy_init");
    const json_t *hp = json_object_get(target, "HttpParameters");
    char *url = url_with(sy_json_str(d, "endpoint"), hp, cu);
    struct curl_slist *hdr = curl_slist_append(NULL, "Content-Type: application/json; charset=utf-8");
    const char *key;
    json_t *v;
    json_object_foreach(json_object_get(hp, "HeaderParameters"), key, v)
    {
        if (!json_is_string(v)) continue;
        char *h = sy_asprintf("%s: %s", key, json_string_value(v));
        hdr = curl_slist_append(hdr, h);
        free(h);
    }
    json_t *auth = sy_json_str(d, "auth") ? json_loads(sy_json_str(d, "auth"), 0, NULL) : NULL;
    const char *type = sy_json_str(d, "auth_type");
    if (type && !strcmp(type, "BASIC")) {
        const json_t *ba = json_object_get(auth, "BasicAuthParameters");
        char *up = sy_asprintf("%s:%s", sy_json_str(ba, "Username") ?: "", sy_json_str(ba, "Password") ?: "");
        char *b64 = sy_base64_encode(up, strlen(up));
        char *h = sy_asprintf("Authorization: Basic %s", b64);
        hdr = curl_slist_append(hdr, h);
        free(h);
        free(b64);
        free(up);
    } else if (type && !strcmp(type, "API_KEY")) {
        const json_t *ak = json_object_get(auth, "ApiKeyAuthParameters");
        char *h = sy_asprintf("%s: %s", sy_json_str(ak, "ApiKeyName") ?: "x-api-key", sy_json_str(ak, "ApiKeyValue") ?: "");
        hdr = curl_slist_append(hdr, h);
        free(h);
    }
    const char *method = sy_json_str(d, "method") ?: "POST";
    curl_easy_setopt(cu, CURLOPT_URL, url);
    curl_easy_setopt(cu, CURLOPT_CUSTOMREQUEST, method);
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
        curl_easy_setopt(cu, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(cu, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    }
    curl_easy_setopt(cu, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(cu, CURLOPT_TIMEOUT, 5L);
    curl_easy_setopt(cu, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(cu, CURLOPT_WRITEFUNCTION, sink);
    CURLcode cc = curl_easy_perform(cu);
    long status = 0;
    curl_easy_getinfo(cu, CURLINFO_RESPONSE_CODE, &status);
    int rc = 0;
    if (cc != CURLE_OK) rc = sy_err_set(err, SY_E_TIMEOUT, 500, "SDK_CLIENT_ERROR", "%s", curl_easy_strerror(cc));
    else if (status >= 300)
        rc = sy_err_set(err, SY_E_INVALID, 500, status >= 500 || status == 429 ? "RetryableHttpError" : "HttpError",
                        "Unable to invoke ApiDestination endpoint: API destination endpoint returned HTTP status "
                        "code %ld.",
                        status);
    sy_metric_inc("switchyard_events_http_requests_total", NULL, 1);
    curl_slist_free_all(hdr);
    curl_easy_cleanup(cu);
    free(url);
    json_decref(auth);
    json_decref(d);
    return rc;
}
