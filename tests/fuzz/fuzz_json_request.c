/* tests/fuzz/fuzz_json_request.c - the JSON-protocol request decoder: the
 * body is loaded exactly as core/http.c does (json_loadb with
 * JSON_REJECT_DUPLICATES; an empty body is {}; not an object -> 400), then
 * walked the way SQS / EventBridge / Step Functions action handlers walk it:
 * sy_json_str / sy_json_int on known members, maps of message attributes
 * (base64 binary values), batch entries, nested JSON documents carried in
 * strings (RedrivePolicy, Detail, input) and ARNs. Oracle: anything that
 * decodes must survive sy_json_dumps -> json_loads and compare equal. */
#include "core/core.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static size_t walk(const json_t *v, int depth)
{
    size_t n = 1;
    if (depth > 64) return n;
    const char *k;
    json_t *c;
    size_t i;
    if (json_is_object(v)) {
        json_object_foreach((json_t *)v, k, c) n += strlen(k) + walk(c, depth + 1);
    } else if (json_is_array(v)) {
        json_array_foreach(v, i, c) n += walk(c, depth + 1);
    } else if (json_is_string(v)) {
        n += json_string_length(v);
    }
    return n;
}

static void arn(const char *s)
{
    if (!s) return;
    char *buf = sy_strdup(s);
    sy_arn_parts_t p;
    if (sy_arn_parse(buf, &p) == 0) {
        if (!p.service || !p.region || !p.account || !p.resource) abort();
        /* the resource is the whole tail of the input: nothing lost or moved */
        size_t off = (size_t)(p.resource - buf);
        if (off > strlen(s) || strcmp(p.resource, s + off) != 0) abort();
    }
    free(buf);
}

/* A JSON document inside a string member (RedrivePolicy, Detail, input). */
static void nested(const char *s, size_t flags)
{
    if (!s) return;
    json_error_t e;
    json_t *doc = json_loads(s, flags, &e);
    if (doc) {
        walk(doc, 0);
        arn(sy_json_str(doc, "deadLetterTargetArn"));
        json_decref(doc);
    }
}

static void message_attributes(const json_t *m)
{
    const char *name;
    json_t *a;
    if (!json_is_object(m)) return;
    json_object_foreach((json_t *)m, name, a) {
        const char *type = sy_json_str(a, "DataType");
        const char *sv = sy_json_str(a, "StringValue");
        const char *bv = sy_json_str(a, "BinaryValue");
        if (type && sv) {
            char md5[33];
            sy_md5_hex(sv, strlen(sv), md5);
        }
        if (bv) {
            unsigned char *out = NULL;
            size_t outlen = 0;
            if (sy_base64_decode(bv, strlen(bv), &out, &outlen) == 0) {
                if (outlen > strlen(bv)) abort();
                char *again = sy_base64_encode(out, outlen);
                free(again);
                free(out);
            }
        }
    }
}

static void entry(const json_t *e)
{
    int64_t x;
    sy_json_str(e, "Id");
    sy_json_str(e, "MessageBody");
    sy_json_str(e, "ReceiptHandle");
    sy_json_int(e, "DelaySeconds", &x);
    sy_json_int(e, "VisibilityTimeout", &x);
    message_attributes(json_object_get(e, "MessageAttributes"));
    message_attributes(json_object_get(e, "MessageSystemAttributes"));
    nested(sy_json_str(e, "Detail"), 0);
    arn(sy_json_str(e, "EventBusName"));
    json_t *res = json_object_get(e, "Resources");
    size_t i;
    json_t *r;
    json_array_foreach(res, i, r) arn(json_string_value(r));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_error_t jerr;
    json_t *req = size ? json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &jerr) : json_object();
    if (!json_is_object(req)) { /* the HTTP layer answers 400 SerializationException */
        json_decref(req);
        return 0;
    }
    int64_t x;
    const char *url = sy_json_str(req, "QueueUrl");
    if (url) {
        const char *slash = strrchr(url, '/');
        (void)(slash ? slash + 1 : url);
    }
    sy_json_str(req, "QueueName");
    sy_json_int(req, "MaxNumberOfMessages", &x);
    sy_json_int(req, "WaitTimeSeconds", &x);
    entry(req);
    json_t *attrs = json_object_get(req, "Attributes");
    if (json_is_object(attrs)) nested(sy_json_str(attrs, "RedrivePolicy"), 0);
    json_t *entries = json_object_get(req, "Entries");
    size_t i;
    json_t *e;
    json_array_foreach(entries, i, e) entry(e);
    arn(sy_json_str(req, "stateMachineArn"));
    arn(sy_json_str(req, "executionArn"));
    nested(sy_json_str(req, "input"), JSON_DECODE_ANY);
    walk(req, 0);

    /* round trip: what we decoded we can encode, and it decodes the same */
    char *text = sy_json_dumps(req);
    json_t *again = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
    if (!again || !json_equal(req, again)) abort();
    json_decref(again);
    free(text);
    json_decref(req);
    return 0;
}
