/* lambda/invoke_stream.c - InvokeWithResponseStream: the invocation runs
 * as a RequestResponse one (the runtime may post its response streamed,
 * as streamifyResponse does: chunked, with errors in trailers); the answer
 * is sent as AWS's event stream (application/vnd.amazon.eventstream): one
 * PayloadChunk with the whole response, then InvokeComplete (ErrorCode /
 * ErrorDetails on a function error). The response is buffered, not sent
 * while the function writes it (docs/compatibility.md). */
#include "lambda/internal.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static uint32_t crc32_ieee(uint32_t crc, const void *p, size_t n)
{
    static uint32_t table[256];
    static int ready; /* benign race: every thread computes the same table */
    if (!__atomic_load_n(&ready, __ATOMIC_ACQUIRE)) {
        for (uint32_t i = 0; i < 256; i++) {
            uint32_t c = i;
            for (int k = 0; k < 8; k++) c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            table[i] = c;
        }
        __atomic_store_n(&ready, 1, __ATOMIC_RELEASE);
    }
    const unsigned char *b = p;
    crc = ~crc;
    for (size_t i = 0; i < n; i++) crc = table[(crc ^ b[i]) & 0xff] ^ (crc >> 8);
    return ~crc;
}

static void be32(unsigned char *o, uint32_t v)
{
    o[0] = (unsigned char)(v >> 24);
    o[1] = (unsigned char)(v >> 16);
    o[2] = (unsigned char)(v >> 8);
    o[3] = (unsigned char)v;
}

/* headers: name, value pairs (string type 7) */
void lm_eventstream_message(sy_buf_t *out, const char *const *headers, int nheaders, const void *payload, size_t len)
{
    sy_buf_t h;
    sy_buf_init(&h);
    for (int i = 0; i < nheaders; i++) {
        const char *name = headers[2 * i], *value = headers[2 * i + 1];
        size_t nl = strlen(name), vl = strlen(value);
        unsigned char t[3] = {(unsigned char)nl, 7, 0};
        sy_buf_append(&h, t, 1);
        sy_buf_append(&h, name, nl);
        t[0] = 7;
        t[1] = (unsigned char)(vl >> 8);
        t[2] = (unsigned char)vl;
        sy_buf_append(&h, t, 3);
        sy_buf_append(&h, value, vl);
    }
    size_t start = out->len;
    unsigned char prelude[12];
    be32(prelude, (uint32_t)(12 + h.len + len + 4));
    be32(prelude + 4, (uint32_t)h.len);
    be32(prelude + 8, crc32_ieee(0, prelude, 8));
    sy_buf_append(out, prelude, 12);
    sy_buf_append(out, h.data, h.len);
    if (len) sy_buf_append(out, payload, len);
    unsigned char crc[4];
    be32(crc, crc32_ieee(0, out->data + start, out->len - start));
    sy_buf_append(out, crc, 4);
    sy_buf_free(&h);
}

static const char *resp_header(const sy_resp_t *r, const char *name)
{
    for (int i = 0; i < r->nheaders; i++)
        if (strcasecmp(r->headers[i][0], name) == 0) return r->headers[i][1];
    return NULL;
}

void lm_api_invoke_stream(lm_svc_t *s, sy_req_t *req, sy_resp_t *resp, const char *name)
{
    const char *type = sy_req_header(req, "X-Amz-Invocation-Type");
    if (type && *type && strcasecmp(type, "RequestResponse") != 0 && strcasecmp(type, "DryRun") != 0) {
        sy_err_t e;
        sy_err_set(&e, SY_E_INVALID, 400, "InvalidParameterValueException",
                   "InvocationType must be RequestResponse or DryRun");
        return sy_resp_error(resp, req, &e, NULL);
    }
    lm_api_invoke(s, req, resp, name);
    if (resp->status != 200) return; /* errors and DryRun: as Invoke answers them */
    const char *ferr = resp_header(resp, "X-Amz-Function-Error");
    sy_buf_t es;
    sy_buf_init(&es);
    const char *chunk[] = {":event-type", "PayloadChunk", ":content-type", "application/octet-stream",
                           ":message-type", "event"};
    const char *done[] = {":event-type", "InvokeComplete", ":content-type", "application/json", ":message-type",
                          "event"};
    char *complete;
    if (ferr) {
        json_t *body = json_loadb(resp->body.data, resp->body.len, 0, NULL);
        const char *etype = sy_json_str(body, "errorType");
        char *details = sy_strndup(resp->body.data, resp->body.len);
        json_t *c = json_pack("{s:s,s:s,s:s}", "ErrorCode", etype ? etype : ferr, "ErrorDetails", details,
                              "LogResult", "");
        complete = sy_json_dumps(c);
        json_decref(c);
        json_decref(body);
        free(details);
    } else {
        if (resp->body.len) lm_eventstream_message(&es, chunk, 3, resp->body.data, resp->body.len);
        complete = sy_strdup("{}");
    }
    lm_eventstream_message(&es, done, 3, complete, strlen(complete));
    free(complete);
    sy_buf_reset(&resp->body);
    sy_buf_append(&resp->body, es.data, es.len);
    sy_buf_free(&es);
    resp->content_type = "application/vnd.amazon.eventstream";
}
