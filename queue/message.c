/* queue/message.c - message validation, MD5s exactly as AWS computes them,
 * attribute filtering, receipt handles */
#include "queue/internal.h"

#include <arpa/inet.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* SQS allows #x9 | #xA | #xD | #x20-#xD7FF | #xE000-#xFFFD | #x10000-#x10FFFF */
int msg_validate_body(const char *s, size_t n, sy_err_t *err)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        unsigned c = p[i];
        unsigned cp;
        int len;
        if (c < 0x80) {
            cp = c;
            len = 1;
        } else if ((c & 0xe0) == 0xc0) {
            cp = c & 0x1f;
            len = 2;
        } else if ((c & 0xf0) == 0xe0) {
            cp = c & 0x0f;
            len = 3;
        } else if ((c & 0xf8) == 0xf0) {
            cp = c & 0x07;
            len = 4;
        } else {
            goto bad;
        }
        if (i + (size_t)len > n) goto bad;
        for (int k = 1; k < len; k++) {
            if ((p[i + k] & 0xc0) != 0x80) goto bad;
            cp = (cp << 6) | (p[i + k] & 0x3f);
        }
        bool ok = cp == 0x9 || cp == 0xa || cp == 0xd || (cp >= 0x20 && cp <= 0xd7ff) ||
                  (cp >= 0xe000 && cp <= 0xfffd) || (cp >= 0x10000 && cp <= 0x10ffff);
        if (!ok) goto bad;
        i += (size_t)len;
    }
    return 0;
bad:
    return sy_err_set(err, SY_E_INVALID, 400, "InvalidMessageContents",
                      "Invalid characters found. Valid unicode characters are #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF");
}

static bool valid_attr_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 256 || s[0] == '.' || s[n - 1] == '.') return false;
    if (strncasecmp(s, "AWS.", 4) == 0 || strncasecmp(s, "Amazon.", 7) == 0) return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                  c == '-' || c == '.';
        if (!ok || (c == '.' && s[i + 1] == '.')) return false;
    }
    return true;
}

static bool is_number(const char *s)
{
    char *end;
    if (!*s) return false;
    strtod(s, &end);
    return *end == 0 && strlen(s) <= 40;
}

/* Checks names, types and values; sums the size AWS counts. */
int msg_validate_attrs(json_t *attrs, size_t *size_out, sy_err_t *err)
{
    size_t size = 0;
    if (!attrs) goto done;
    if (!json_is_object(attrs))
        return sy_err_set(err, SY_E_INVALID, 400, "InvalidParameterValue", "MessageAttributes must be a map");
    if (json_object_size(attrs) > 10)
        return sy_err_set(err, SY_E_INVALID, 400, "InvalidParameterValue",
                          "Number of message attributes [%zu] exceeds the allowed maximum [10].", json_object_size(attrs));
    const char *name;
    json_t *v;
    json_object_foreach(attrs, name, v) {
        if (!valid_attr_name(name))
            return sy_err_set(err, SY_E_INVALID, 400, "InvalidParameterValue",
                              "Message attribute name '%s' is invalid.", name);
        const char *type = sy_json_str(v, "DataType");
        if (!type || !*type)
            return sy_err_set(err, SY_E_INVALID, 400, "InvalidParameterValue",
                              "The message attribute '%s' must contain non-empty message attribute type.", name);
        const char *sv = sy_json_str(v, "StringValue");
        const char *bv = sy_json_str(v, "BinaryValue");
        /* JSON requests may carry \u0000: lengths come from the JSON strings, not strlen */
        size_t svlen = sv ? json_string_length(json_object_get(v, "StringValue")) : 0;
        size_t bvlen = bv ? json_string_length(json_object_get(v, "BinaryValue")) : 0;
        if (strlen(type) != json_string_length(json_object_get(v, "DataType")))
            return sy_err_set(err, SY_E_INVALID, 400, "InvalidParameterValue",
                              "The type of message (user) attribute '%s' is invalid.", name);
        bool is_str = strncmp(type, "String", 6) == 0 && (type[6] == 0 || type[6] == '.');
        bool is_num = strncmp(type, "Number", 6) == 0 && (type[6] == 0 || type[6] == '.');
        bool is_bin = strncmp(type, "Binary", 6) == 0 && (type[6] == 0 || type[6] == '.');
        if ((!is_str && !is_num && !is_bin) || strlen(type) > 256)
            return sy_err_set(err, SY_E_INVALID, 400, "InvalidParameterValue",
                              "The type of message (user) attribute '%s' is invalid. You must use only the following supported type prefixes: Binary, Number, String.",
                              name);
        size += strlen(name) + strlen(type);
        if (is_bin) {
            unsigned char *raw;
            size_t rawlen;
            if (!bv || sv || bvlen != strlen(bv) || sy_base64_decode(bv, bvlen, &raw, &rawlen) < 0)
                return sy_err_set(err, SY_E_INVALID, 400, "InvalidParameterValue",
                                  "The message attribute '%s' with type 'Binary' must use field 'Binary'.", name);
            if (rawlen == 0) {
                free(raw);
                return sy_err_set(err, SY_E_INVALID, 400, "InvalidParameterValue",
                                  "The message attribute '%s' must contain non-empty message attribute value.", name);
            }
            size += rawlen;
            free(raw);
        } else {
            if (!sv || bv)
                return sy_err_set(err, SY_E_INVALID, 400, "InvalidParameterValue",
                                  "The message attribute '%s' with type '%s' must use field 'String'.", name,
                                  is_num ? "Number" : "String");
            if (!*sv)
                return sy_err_set(err, SY_E_INVALID, 400, "InvalidParameterValue",
                                  "The message attribute '%s' must contain non-empty message attribute value.", name);
            if (is_num && !is_number(sv))
                return sy_err_set(err, SY_E_INVALID, 400, "InvalidParameterValue",
                                  "Value %s for parameter MessageAttributes.%s is invalid. Reason: Could not parse a number.",
                                  sv, name);
            if (msg_validate_body(sv, svlen, err) < 0) return SY_E_INVALID;
            size += svlen;
        }
    }
done:
    if (size_out) *size_out = size;
    return 0;
}

static void put_lv(EVP_MD_CTX *c, const void *p, uint32_t n)
{
    uint32_t be = htonl(n);
    EVP_DigestUpdate(c, &be, 4);
    EVP_DigestUpdate(c, p, n);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void msg_md5_attrs(json_t *attrs, char out[33])
{
    out[0] = 0;
    size_t n = attrs ? json_object_size(attrs) : 0;
    if (n == 0) return;
    const char **names = sy_malloc(n * sizeof *names);
    size_t i = 0;
    const char *k;
    json_t *v;
    json_object_foreach(attrs, k, v) names[i++] = k;
    qsort(names, n, sizeof *names, cmp_str);
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    EVP_DigestInit_ex(c, EVP_md5(), NULL);
    for (i = 0; i < n; i++) {
        json_t *a = json_object_get(attrs, names[i]);
        const char *type = sy_json_str(a, "DataType");
        const char *sv = sy_json_str(a, "StringValue");
        const char *bv = sy_json_str(a, "BinaryValue");
        put_lv(c, names[i], (uint32_t)strlen(names[i]));
        put_lv(c, type ? type : "", (uint32_t)strlen(type ? type : ""));
        if (bv) {
            unsigned char t = 2, *raw = NULL;
            size_t rawlen = 0;
            EVP_DigestUpdate(c, &t, 1);
            if (sy_base64_decode(bv, strlen(bv), &raw, &rawlen) < 0) rawlen = 0;
            put_lv(c, raw ? raw : (unsigned char *)"", (uint32_t)rawlen);
            free(raw);
        } else {
            unsigned char t = 1;
            EVP_DigestUpdate(c, &t, 1);
            put_lv(c, sv ? sv : "", (uint32_t)strlen(sv ? sv : ""));
        }
    }
    unsigned char d[16];
    unsigned int dl;
    EVP_DigestFinal_ex(c, d, &dl);
    EVP_MD_CTX_free(c);
    free(names);
    sy_hex(d, 16, out);
}

/* Keep the attributes asked for: "All", ".*", exact names, "prefix.*". */
json_t *msg_filter_attrs(json_t *attrs, json_t *names)
{
    if (!attrs || !json_is_array(names) || json_array_size(names) == 0) return NULL;
    json_t *out = json_object();
    size_t i;
    json_t *n;
    json_array_foreach(names, i, n) {
        const char *want = json_string_value(n);
        if (!want) continue;
        size_t wl = strlen(want);
        const char *k;
        json_t *v;
        json_object_foreach(attrs, k, v) {
            bool hit = strcmp(want, "All") == 0 || strcmp(want, ".*") == 0 || strcmp(want, k) == 0 ||
                       (wl >= 2 && strcmp(want + wl - 2, ".*") == 0 && strncmp(k, want, wl - 1) == 0);
            if (hit) json_object_set(out, k, v);
        }
    }
    if (json_object_size(out) == 0) {
        json_decref(out);
        return NULL;
    }
    return out;
}

char *receipt_encode(int64_t qid, int64_t mid, const char *token)
{
    char *raw = sy_asprintf("sy1:%lld:%lld:%s", (long long)qid, (long long)mid, token);
    char *b = sy_base64_encode(raw, strlen(raw));
    free(raw);
    return b;
}

int receipt_decode(const char *handle, int64_t *qid, int64_t *mid, char *token, size_t tn)
{
    unsigned char *raw = NULL;
    size_t len = 0;
    if (!handle || strlen(handle) > 1024 || sy_base64_decode(handle, strlen(handle), &raw, &len) < 0) return -1;
    long long q, m;
    char tok[64];
    int ok = sscanf((char *)raw, "sy1:%lld:%lld:%63[0-9a-f-]", &q, &m, tok) == 3 && strlen((char *)raw) == len;
    free(raw);
    if (!ok || q <= 0 || m <= 0 || strlen(tok) + 1 > tn) return -1;
    *qid = q;
    *mid = m;
    snprintf(token, tn, "%s", tok);
    return 0;
}
