/* asl/intrinsic_fns.c - the intrinsic functions (States.Format,
 * States.Array*, States.Hash, States.Math*, ...) and their table; the call
 * parser is intrinsics.c. */
#include "asl/internal.h"

#include <ctype.h>
#include <math.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

typedef asl_ix_t ix_t;
typedef asl_ix_arg_t arg_t;

static bool want(ix_t *x, const char *fn, arg_t *a, int n, int lo, int hi)
{
    if (n < lo || n > hi) {
        asl_ix_fail(x, "States.Runtime", "Function %s expects %d argument(s), but %d were given", fn, lo, n);
        return false;
    }
    (void)a;
    return true;
}

static int bad_type(ix_t *x, const char *fn, int i, const char *type)
{
    return asl_ix_fail(x, "States.Runtime", "Function %s: argument %d must be a %s", fn, i + 1, type);
}

static int f_format(ix_t *x, arg_t *a, int n, json_t **out)
{
    /* a string literal, or a path (e.g. a variable) holding a string */
    if (n < 1 || (!a[0].raw && !json_is_string(a[0].v)))
        return asl_ix_fail(x, "States.Runtime", "The first argument of States.Format must be a string literal");
    const char *t = a[0].raw ? a[0].raw : json_string_value(a[0].v);
    size_t cap = strlen(t) + 1, len = 0;
    char *s = sy_malloc(cap);
    int k = 1;
    for (const char *p = t; *p; p++) {
        const char *piece = NULL;
        char *tmp = NULL;
        char one[2] = {0, 0};
        if (*p == '\\' && p[1]) {
            one[0] = *++p;
            piece = one;
        } else if (p[0] == '{' && p[1] == '}') {
            if (k >= n) {
                free(s);
                return asl_ix_fail(x, "States.Runtime",
                            "Number of arguments in States.Format does not match the number of placeholders");
            }
            tmp = asl_format_java(a[k++].v);
            piece = tmp;
            p++;
        } else {
            one[0] = *p;
            piece = one;
        }
        size_t pl = strlen(piece);
        if (len + pl + 1 > cap) {
            cap = (len + pl + 1) * 2;
            char *ns = sy_malloc(cap);
            memcpy(ns, s, len);
            free(s);
            s = ns;
        }
        memcpy(s + len, piece, pl);
        len += pl;
        free(tmp);
    }
    s[len] = 0;
    if (k != n) {
        free(s);
        return asl_ix_fail(x, "States.Runtime",
                    "Number of arguments in States.Format does not match the number of placeholders");
    }
    *out = json_string(s);
    free(s);
    return 0;
}

static int f_string_to_json(ix_t *x, arg_t *a, int n, json_t **out)
{
    if (!want(x, "States.StringToJson", a, n, 1, 1))
        return -1;
    if (!json_is_string(a[0].v))
        return bad_type(x, "States.StringToJson", 0, "string");
    const char *s = json_string_value(a[0].v);
    const char *p = s;
    while (isspace((unsigned char)*p))
        p++;
    if (!*p) {
        *out = json_null();
        return 0;
    }
    *out = asl_loads_any(s, strlen(s));
    if (!*out)
        return asl_ix_fail(x, "States.Runtime", "Function States.StringToJson: invalid JSON string '%s'", s);
    if (json_is_real(*out) && json_real_value(*out) == 0.0 && strchr(s, '.') == NULL) {
        json_decref(*out);
        *out = json_integer(0);
    }
    return 0;
}

static int f_json_to_string(ix_t *x, arg_t *a, int n, json_t **out)
{
    if (!want(x, "States.JsonToString", a, n, 1, 1))
        return -1;
    char *s = asl_dumps(a[0].v);
    *out = json_string(s);
    free(s);
    return 0;
}

static int f_array(ix_t *x, arg_t *a, int n, json_t **out)
{
    (void)x;
    *out = json_array();
    for (int i = 0; i < n; i++)
        json_array_append(*out, a[i].v);
    return 0;
}

static bool get_int(const json_t *v, long long *out)
{
    if (!asl_is_int(v))
        return false;
    *out = json_is_integer(v) ? json_integer_value(v) : (long long)json_real_value(v);
    return true;
}

static int f_array_partition(ix_t *x, arg_t *a, int n, json_t **out)
{
    long long size;
    if (!want(x, "States.ArrayPartition", a, n, 2, 2))
        return -1;
    if (!json_is_array(a[0].v))
        return bad_type(x, "States.ArrayPartition", 0, "array");
    if (!get_int(a[1].v, &size) || size <= 0)
        return asl_ix_fail(x, "States.Runtime", "Function States.ArrayPartition: chunk size must be a positive integer");
    *out = json_array();
    json_t *chunk = NULL;
    size_t i;
    json_t *e;
    json_array_foreach(a[0].v, i, e)
    {
        if (!chunk || json_array_size(chunk) == (size_t)size) {
            chunk = json_array();
            json_array_append_new(*out, chunk);
        }
        json_array_append(chunk, e);
    }
    return 0;
}

static int f_array_contains(ix_t *x, arg_t *a, int n, json_t **out)
{
    if (!want(x, "States.ArrayContains", a, n, 2, 2))
        return -1;
    if (!json_is_array(a[0].v))
        return bad_type(x, "States.ArrayContains", 0, "array");
    bool found = false;
    size_t i;
    json_t *e;
    json_array_foreach(a[0].v, i, e) if (json_equal(e, a[1].v)) found = true;
    *out = json_boolean(found);
    return 0;
}

static int f_array_range(ix_t *x, arg_t *a, int n, json_t **out)
{
    long long lo, hi, step;
    if (!want(x, "States.ArrayRange", a, n, 3, 3))
        return -1;
    if (!get_int(a[0].v, &lo) || !get_int(a[1].v, &hi) || !get_int(a[2].v, &step))
        return asl_ix_fail(x, "States.Runtime", "Function States.ArrayRange: arguments must be integers");
    if (step == 0)
        return asl_ix_fail(x, "States.Runtime", "Function States.ArrayRange: step cannot be zero");
    long long count = (hi - lo) / step + 1;
    if (count > 1000)
        return asl_ix_fail(x, "States.Runtime",
                    "Function States.ArrayRange: the result would exceed 1000 elements");
    *out = json_array();
    for (long long v = lo; step > 0 ? v <= hi : v >= hi; v += step)
        json_array_append_new(*out, json_integer(v));
    return 0;
}

static int f_array_get_item(ix_t *x, arg_t *a, int n, json_t **out)
{
    long long i;
    if (!want(x, "States.ArrayGetItem", a, n, 2, 2))
        return -1;
    if (!json_is_array(a[0].v))
        return bad_type(x, "States.ArrayGetItem", 0, "array");
    if (!get_int(a[1].v, &i) || i < 0 || (size_t)i >= json_array_size(a[0].v))
        return asl_ix_fail(x, "States.Runtime", "Function States.ArrayGetItem: index out of bounds");
    *out = json_incref(json_array_get(a[0].v, (size_t)i));
    return 0;
}

static int f_array_length(ix_t *x, arg_t *a, int n, json_t **out)
{
    if (!want(x, "States.ArrayLength", a, n, 1, 1))
        return -1;
    if (!json_is_array(a[0].v))
        return bad_type(x, "States.ArrayLength", 0, "array");
    *out = json_integer((json_int_t)json_array_size(a[0].v));
    return 0;
}

static int f_array_unique(ix_t *x, arg_t *a, int n, json_t **out)
{
    if (!want(x, "States.ArrayUnique", a, n, 1, 1))
        return -1;
    if (!json_is_array(a[0].v))
        return bad_type(x, "States.ArrayUnique", 0, "array");
    *out = json_array();
    size_t i, j;
    json_t *e, *f;
    json_array_foreach(a[0].v, i, e)
    {
        bool dup = false;
        json_array_foreach(*out, j, f) if (json_equal(e, f)) dup = true;
        if (!dup)
            json_array_append(*out, e);
    }
    return 0;
}

static int f_base64_encode(ix_t *x, arg_t *a, int n, json_t **out)
{
    if (!want(x, "States.Base64Encode", a, n, 1, 1))
        return -1;
    if (!json_is_string(a[0].v))
        return bad_type(x, "States.Base64Encode", 0, "string");
    size_t len = json_string_length(a[0].v);
    if (len > 10000)
        return asl_ix_fail(x, "States.Runtime", "Function States.Base64Encode: input exceeds 10000 characters");
    unsigned char *buf = sy_malloc(4 * ((len + 2) / 3) + 1);
    EVP_EncodeBlock(buf, (const unsigned char *)json_string_value(a[0].v), (int)len);
    *out = json_string((char *)buf);
    free(buf);
    return 0;
}

static int f_base64_decode(ix_t *x, arg_t *a, int n, json_t **out)
{
    if (!want(x, "States.Base64Decode", a, n, 1, 1))
        return -1;
    if (!json_is_string(a[0].v))
        return bad_type(x, "States.Base64Decode", 0, "string");
    const char *s = json_string_value(a[0].v);
    size_t len = strlen(s);
    if (len % 4 != 0)
        return asl_ix_fail(x, "States.Runtime", "Function States.Base64Decode: invalid base64 input");
    unsigned char *buf = sy_malloc(len / 4 * 3 + 1);
    int m = EVP_DecodeBlock(buf, (const unsigned char *)s, (int)len);
    if (m < 0) {
        free(buf);
        return asl_ix_fail(x, "States.Runtime", "Function States.Base64Decode: invalid base64 input");
    }
    while (len > 0 && s[len - 1] == '=') {
        len--;
        m--;
    }
    *out = json_stringn((char *)buf, (size_t)m);
    free(buf);
    if (!*out)
        return asl_ix_fail(x, "States.Runtime", "Function States.Base64Decode: result is not UTF-8");
    return 0;
}

static int f_hash(ix_t *x, arg_t *a, int n, json_t **out)
{
    static const struct {
        const char *name, *evp;
    } algs[] = {{"MD5", "MD5"}, {"SHA-1", "SHA1"}, {"SHA-256", "SHA256"}, {"SHA-384", "SHA384"},
                {"SHA-512", "SHA512"}};
    if (!want(x, "States.Hash", a, n, 2, 2))
        return -1;
    if (!json_is_string(a[1].v))
        return bad_type(x, "States.Hash", 1, "string");
    const EVP_MD *md = NULL;
    for (size_t i = 0; i < sizeof algs / sizeof *algs; i++)
        if (!strcmp(json_string_value(a[1].v), algs[i].name))
            md = EVP_get_digestbyname(algs[i].evp);
    if (!md)
        return asl_ix_fail(x, "States.Runtime",
                    "Function States.Hash: the hashing algorithm must be one of MD5, SHA-1, SHA-256, SHA-384, SHA-512");
    char *data = json_is_string(a[0].v) ? sy_strdup(json_string_value(a[0].v)) : asl_dumps(a[0].v);
    unsigned char dig[EVP_MAX_MD_SIZE];
    unsigned int dl = 0;
    EVP_Digest(data, strlen(data), dig, &dl, md, NULL);
    free(data);
    char hex[2 * EVP_MAX_MD_SIZE + 1];
    for (unsigned int i = 0; i < dl; i++)
        snprintf(hex + 2 * i, 3, "%02x", dig[i]);
    *out = json_string(hex);
    return 0;
}

static int f_json_merge(ix_t *x, arg_t *a, int n, json_t **out)
{
    if (!want(x, "States.JsonMerge", a, n, 3, 3))
        return -1;
    if (!json_is_object(a[0].v) || !json_is_object(a[1].v))
        return asl_ix_fail(x, "States.Runtime", "Function States.JsonMerge: the first two arguments must be objects");
    if (!json_is_false(a[2].v))
        return asl_ix_fail(x, "States.Runtime", "Function States.JsonMerge: deep merging is not supported");
    *out = json_copy(a[0].v);
    json_object_update(*out, a[1].v);
    return 0;
}

static long long java_round(double d)
{
    return (long long)floor(d + 0.5);
}

static int f_math_random(ix_t *x, arg_t *a, int n, json_t **out)
{
    if (!want(x, "States.MathRandom", a, n, 2, 3))
        return -1;
    if (!json_is_number(a[0].v) || !json_is_number(a[1].v) || (n == 3 && !json_is_number(a[2].v)))
        return asl_ix_fail(x, "States.Runtime", "Function States.MathRandom: arguments must be numbers");
    long long lo = java_round(json_number_value(a[0].v)), hi = java_round(json_number_value(a[1].v));
    if (hi <= lo)
        return asl_ix_fail(x, "States.Runtime", "Function States.MathRandom: end must be greater than start");
    unsigned long long r;
    if (n == 3) {
        unsigned long long z = (unsigned long long)java_round(json_number_value(a[2].v)) + 0x9E3779B97F4A7C15ULL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
        r = z ^ (z >> 31);
    } else {
        r = ((unsigned long long)rand() << 32) ^ (unsigned long long)rand() ^ (unsigned long long)clock();
    }
    *out = json_integer((json_int_t)(lo + (long long)(r % (unsigned long long)(hi - lo))));
    return 0;
}

static int f_math_add(ix_t *x, arg_t *a, int n, json_t **out)
{
    if (!want(x, "States.MathAdd", a, n, 2, 2))
        return -1;
    if (!json_is_number(a[0].v) || !json_is_number(a[1].v))
        return asl_ix_fail(x, "States.Runtime", "Function States.MathAdd: arguments must be numbers");
    *out = json_integer(java_round(json_number_value(a[0].v)) + java_round(json_number_value(a[1].v)));
    return 0;
}

static int f_string_split(ix_t *x, arg_t *a, int n, json_t **out)
{
    if (!want(x, "States.StringSplit", a, n, 2, 2))
        return -1;
    if (!json_is_string(a[0].v) || !json_is_string(a[1].v))
        return asl_ix_fail(x, "States.Runtime", "Function States.StringSplit: arguments must be strings");
    const char *s = json_string_value(a[0].v), *d = json_string_value(a[1].v);
    *out = json_array();
    const char *p = s;
    while (*p) {
        size_t k = strcspn(p, d);
        if (k > 0) {
            json_t *piece = json_stringn(p, k);
            json_array_append_new(*out, piece ? piece : json_string(""));
        }
        p += k;
        if (*p)
            p++;
    }
    return 0;
}

static int f_uuid(ix_t *x, arg_t *a, int n, json_t **out)
{
    if (!want(x, "States.UUID", a, n, 0, 0))
        return -1;
    char s[37];
    sy_uuid4(s);
    *out = json_string(s);
    return 0;
}

static const struct {
    const char *name;
    asl_ix_fn_t fn;
} FNS[] = {
    {"States.Format", f_format},
    {"States.StringToJson", f_string_to_json},
    {"States.JsonToString", f_json_to_string},
    {"States.Array", f_array},
    {"States.ArrayPartition", f_array_partition},
    {"States.ArrayContains", f_array_contains},
    {"States.ArrayRange", f_array_range},
    {"States.ArrayGetItem", f_array_get_item},
    {"States.ArrayLength", f_array_length},
    {"States.ArrayUnique", f_array_unique},
    {"States.Base64Encode", f_base64_encode},
    {"States.Base64Decode", f_base64_decode},
    {"States.Hash", f_hash},
    {"States.JsonMerge", f_json_merge},
    {"States.MathRandom", f_math_random},
    {"States.MathAdd", f_math_add},
    {"States.StringSplit", f_string_split},
    {"States.UUID", f_uuid},
};

asl_ix_fn_t asl_ix_lookup(const char *name, size_t len)
{
    for (size_t i = 0; i < sizeof FNS / sizeof *FNS; i++)
        if (strlen(FNS[i].name) == len && !strncmp(FNS[i].name, name, len))
            return FNS[i].fn;
    return NULL;
}
