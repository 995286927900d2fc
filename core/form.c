/* core/form.c - application/x-www-form-urlencoded parsing, and rebuilding an
 * AWS query-protocol request as the object its JSON-protocol twin carries. */
#include "core/core.h"

#include <stdlib.h>
#include <string.h>

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Decode s[0..n) into a new NUL-terminated string; -1 on a bad escape. */
static int pct_decode(const char *s, size_t n, char **out, size_t *outlen)
{
    char *d = sy_malloc(n + 1);
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '+') {
            d[o++] = ' ';
        } else if (s[i] == '%') {
            if (i + 2 >= n) goto bad;
            int h = hexval(s[i + 1]), l = hexval(s[i + 2]);
            if (h < 0 || l < 0) goto bad;
            d[o++] = (char)(h * 16 + l);
            i += 2;
        } else {
            d[o++] = s[i];
        }
    }
    d[o] = 0;
    *out = d;
    *outlen = o;
    return 0;
bad:
    free(d);
    return -1;
}

static void form_add(sy_form_t *f, char *name, char *value, size_t vlen)
{
    if (f->n == f->cap) {
        f->cap = f->cap ? f->cap * 2 : 16;
        f->items = sy_realloc(f->items, f->cap * sizeof *f->items);
    }
    f->items[f->n].name = name;
    f->items[f->n].value = value;
    f->items[f->n].value_len = vlen;
    f->n++;
}

int sy_form_parse(sy_form_t *f, const char *s, size_t n)
{
    memset(f, 0, sizeof *f);
    size_t i = 0;
    while (i < n) {
        size_t j = i;
        while (j < n && s[j] != '&') j++;
        if (j > i) {
            const char *eq = memchr(s + i, '=', j - i);
            size_t klen = eq ? (size_t)(eq - (s + i)) : j - i;
            char *k = NULL, *v = NULL;
            size_t kl = 0, vl = 0;
            if (pct_decode(s + i, klen, &k, &kl) < 0) goto bad;
            if (eq) {
                if (pct_decode(eq + 1, (size_t)(s + j - eq - 1), &v, &vl) < 0) {
                    free(k);
                    goto bad;
                }
            } else {
                v = sy_strdup("");
            }
            if (strlen(k) != kl) { /* NUL in a name: never legal */
                free(k);
                free(v);
                goto bad;
            }
            form_add(f, k, v, vl);
        }
        i = j + 1;
    }
    return 0;
bad:
    sy_form_free(f);
    return -1;
}

void sy_form_free(sy_form_t *f)
{
    for (size_t i = 0; i < f->n; i++) {
        free(f->items[i].name);
        free(f->items[i].value);
    }
    free(f->items);
    memset(f, 0, sizeof *f);
}

const char *sy_form_get(const sy_form_t *f, const char *name)
{
    for (size_t i = f->n; i-- > 0;)
        if (strcmp(f->items[i].name, name) == 0) return f->items[i].value;
    return NULL;
}

/* ------------------------------------------------- query -> JSON object */
static bool in_list(const char *list, const char *name)
{
    if (!list) return false;
    size_t n = strlen(name);
    for (const char *p = list; *p;) {
        const char *c = strchr(p, ',');
        size_t l = c ? (size_t)(c - p) : strlen(p);
        if (l == n && strncmp(p, name, n) == 0) return true;
        if (!c) break;
        p = c + 1;
    }
    return false;
}

static json_t *scalar(const char *name, const char *v, size_t vlen, const char *ints)
{
    if (in_list(ints, name)) {
        char *end = NULL;
        long long x = strtoll(v, &end, 10);
        if (end && *end == 0 && end != v) return json_integer(x);
    }
    return json_stringn(v, vlen); /* NULL on invalid UTF-8 */
}

/* Does `name` start with "<prefix>.<N>" ? Sets idx and rest (after the
 * optional following dot; "" when the name ends at N). */
static bool indexed(const char *name, const char *prefix, long *idx, const char **rest)
{
    size_t pl = strlen(prefix);
    if (strncmp(name, prefix, pl) != 0 || name[pl] != '.') return false;
    const char *p = name + pl + 1;
    if (*p < '1' || *p > '9') return false;
    char *end = NULL;
    long n = strtol(p, &end, 10);
    if (n <= 0 || n > 100000) return false;
    if (*end == 0) {
        *rest = "";
    } else if (*end == '.') {
        *rest = end + 1;
    } else {
        return false;
    }
    *idx = n;
    return true;
}

static int cmp_long(const void *a, const void *b)
{
    long x = *(const long *)a, y = *(const long *)b;
    return x < y ? -1 : x > y;
}

/* Collect the distinct indexes used with this prefix, sorted. */
static size_t indexes(const sy_form_t *f, const char *prefix, long **out)
{
    long *ix = NULL;
    size_t n = 0;
    for (size_t i = 0; i < f->n; i++) {
        long k;
        const char *rest;
        if (!indexed(f->items[i].name, prefix, &k, &rest)) continue;
        bool seen = false;
        for (size_t j = 0; j < n; j++) seen |= ix[j] == k;
        if (seen) continue;
        ix = sy_realloc(ix, (n + 1) * sizeof *ix);
        ix[n++] = k;
    }
    if (n > 1) qsort(ix, n, sizeof *ix, cmp_long); /* ix is NULL when n == 0 */
    *out = ix;
    return n;
}

/* The sub-form of entries "<prefix>.<k>.<rest>" with names reduced to rest. */
static void subform(const sy_form_t *f, const char *prefix, long k, sy_form_t *sub)
{
    memset(sub, 0, sizeof *sub);
    for (size_t i = 0; i < f->n; i++) {
        long idx;
        const char *rest;
        if (!indexed(f->items[i].name, prefix, &idx, &rest) || idx != k) continue;
        form_add(sub, sy_strdup(rest), sy_strndup(f->items[i].value, f->items[i].value_len),
                 f->items[i].value_len);
    }
}

static const sy_kv_t *sub_get(const sy_form_t *f, const char *name)
{
    for (size_t i = f->n; i-- > 0;)
        if (strcmp(f->items[i].name, name) == 0) return &f->items[i];
    return NULL;
}

static int put_str(json_t *obj, const char *key, const sy_kv_t *kv)
{
    if (!kv) return 0;
    json_t *s = json_stringn(kv->value, kv->value_len);
    if (!s) return -1;
    json_object_set_new(obj, key, s);
    return 0;
}

static json_t *shape_value(const sy_form_t *f, const sy_query_shape_t *sh)
{
    long *ix = NULL;
    size_t n = indexes(f, sh->prefix, &ix);
    bool is_list = sh->kind == 'l' || sh->kind == 'L';
    json_t *out = is_list ? json_array() : json_object();
    for (size_t i = 0; i < n; i++) {
        sy_form_t sub;
        subform(f, sh->prefix, ix[i], &sub);
        json_t *v = NULL;
        const sy_kv_t *kv;
        switch (sh->kind) {
        case 'l':
            kv = sub_get(&sub, "");
            if (kv) v = json_stringn(kv->value, kv->value_len);
            if (v) json_array_append_new(out, v);
            else if (kv) goto bad_sub;
            break;
        case 'L':
            v = sy_query_to_json(&sub, sh->sub, sh->ints);
            if (!v) goto bad_sub;
            json_array_append_new(out, v);
            break;
        case 'M': {
            const sy_kv_t *name = sub_get(&sub, "Name");
            if (!name) break;
            v = json_object();
            if (put_str(v, "DataType", sub_get(&sub, "Value.DataType")) < 0 ||
                put_str(v, "StringValue", sub_get(&sub, "Value.StringValue")) < 0 ||
                put_str(v, "BinaryValue", sub_get(&sub, "Value.BinaryValue")) < 0) {
                json_decref(v);
                goto bad_sub;
            }
            json_t *nm = json_stringn(name->value, name->value_len);
            if (!nm || strlen(name->value) != name->value_len) {
                json_decref(nm);
                json_decref(v);
                goto bad_sub;
            }
            json_decref(nm);
            json_object_setn_new(out, name->value, name->value_len, v);
            break;
        }
        default: { /* 'm', 't', 'e': key/value maps */
            const sy_kv_t *k = sub_get(&sub, sh->key_name ? sh->key_name : "Name");
            const sy_kv_t *val = sub_get(&sub, sh->val_name ? sh->val_name : "Value");
            if (!k) break;
            if (strlen(k->value) != k->value_len) goto bad_sub;
            json_t *s = val ? json_stringn(val->value, val->value_len) : json_string("");
            if (!s) goto bad_sub;
            json_object_setn_new(out, k->value, k->value_len, s);
            break;
        }
        }
        sy_form_free(&sub);
        continue;
    bad_sub:
        sy_form_free(&sub);
        free(ix);
        json_decref(out);
        return NULL;
    }
    free(ix);
    return out;
}

json_t *sy_query_to_json(const sy_form_t *f, const sy_query_shape_t *shapes, const char *ints)
{
    json_t *obj = json_object();
    for (size_t i = 0; i < f->n; i++) {
        const sy_kv_t *kv = &f->items[i];
        if (strcmp(kv->name, "Action") == 0 || strcmp(kv->name, "Version") == 0) continue;
        bool shaped = false;
        for (const sy_query_shape_t *sh = shapes; sh && sh->param; sh++) {
            long k;
            const char *rest;
            if (indexed(kv->name, sh->prefix, &k, &rest)) shaped = true;
        }
        if (shaped) continue;
        json_t *v = scalar(kv->name, kv->value, kv->value_len, ints);
        if (!v) goto bad;
        json_object_set_new(obj, kv->name, v);
    }
    for (const sy_query_shape_t *sh = shapes; sh && sh->param; sh++) {
        long *ix = NULL;
        size_t n = indexes(f, sh->prefix, &ix);
        free(ix);
        if (n == 0) continue;
        json_t *v = shape_value(f, sh);
        if (!v) goto bad;
        json_object_set_new(obj, sh->param, v);
    }
    return obj;
bad:
    json_decref(obj);
    return NULL;
}
