/* asl/jsonata/value.c — JSONata values: strings, arrays (with the sequence
 * flags), objects in insertion order with a hash index when large, deep
 * equality, conversion from and to jansson. */
#include "internal.h"

#include "../../core/core.h"

#include <math.h>
#include <string.h>

const jv JV_UNDEF = {.t = JT_UNDEF};
const jv JV_NULL = {.t = JT_NULL};
const jv JV_TRUE = {.t = JT_BOOL, .b = true};
const jv JV_FALSE = {.t = JT_BOOL, .b = false};

/* What one evaluation may build (api.c starts it): array items (one unit
 * each), string bytes (a unit per 4 bytes) and JSON nodes written out (4). An expression that doubles an array or a
 * string on every recursive call reaches gigabytes long before the depth or
 * time limit; past the budget the evaluation fails (jn_time_guard). */
static _Thread_local uint64_t budget_spent, budget_units;

void jv_budget_start(uint64_t units) {
    budget_spent = 0;
    budget_units = units;
}

bool jv_budget_over(void) { return budget_units && budget_spent > budget_units; }

static inline void spend(uint64_t units) { budget_spent += units; }

jv jv_str(const char *s, size_t len) {
    spend(len / 4 + 1); /* strings weigh 4x: copies of big strings are what costs */
    jn_str *p = sy_malloc(sizeof(jn_str) + len + 1);
    p->rc = 1;
    p->len = (uint32_t)len;
    if (len) memcpy(p->s, s, len);
    p->s[len] = 0;
    jv v = {.t = JT_STR};
    v.s = p;
    return v;
}

jv jv_cstr(const char *s) { return jv_str(s, strlen(s)); }

jv jv_str_take(char *s, size_t len) {
    jv v = jv_str(s, len);
    free(s);
    return v;
}

jv jv_str_immortal(const char *s, size_t len) {
    jv v = jv_str(s, len);
    v.s->rc = -1;
    return v;
}

jv jv_arr_new(size_t cap) {
    jn_arr *a = sy_calloc(1, sizeof *a);
    a->rc = 1;
    a->cap = cap;
    a->v = cap ? sy_malloc(cap * sizeof(jv)) : NULL;
    jv v = {.t = JT_ARR};
    v.a = a;
    return v;
}

jv jv_seq_new(size_t cap) {
    jv v = jv_arr_new(cap);
    v.a->flags |= JA_SEQ;
    return v;
}

static inline bool holds_fn(jv v) {
    return v.t == JT_FN || ((v.t == JT_ARR || v.t == JT_OBJ) && (v.a->flags & JA_HASFN));
}

void jv_arr_push(jv arr, jv take) {
    spend(1);
    jn_arr *a = arr.a;
    if (a->len == a->cap) {
        a->cap = a->cap ? a->cap * 2 : 4;
        a->v = sy_realloc(a->v, a->cap * sizeof(jv));
    }
    a->v[a->len++] = take;
    if (holds_fn(take)) a->flags |= JA_HASFN;
}

void jv_arr_push_ref(jv arr, jv v) { jv_arr_push(arr, jv_ref(v)); }

jv jv_obj_new(size_t cap) {
    jn_obj *o = sy_calloc(1, sizeof *o);
    o->rc = 1;
    o->cap = cap;
    if (cap) {
        o->k = sy_malloc(cap * sizeof(jn_str *));
        o->v = sy_malloc(cap * sizeof(jv));
    }
    jv v = {.t = JT_OBJ};
    v.o = o;
    return v;
}

static uint32_t hash_bytes(const char *s, size_t n) {
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) h = (h ^ (uint8_t)s[i]) * 16777619u;
    return h;
}

static void idx_insert(jn_obj *o, size_t i) {
    size_t m = o->idxcap - 1, h = hash_bytes(o->k[i]->s, o->k[i]->len) & m;
    while (o->idx[h]) h = (h + 1) & m;
    o->idx[h] = (uint32_t)i + 1;
}

static void idx_rebuild(jn_obj *o) {
    free(o->idx);
    o->idx = NULL;
    o->idxcap = 0;
    if (o->len < 12) return;
    size_t c = 32;
    while (c < o->len * 2) c *= 2;
    o->idxcap = c;
    o->idx = sy_calloc(c, sizeof(uint32_t));
    for (size_t i = 0; i < o->len; i++) idx_insert(o, i);
}

static long obj_find(const jn_obj *o, const char *key, size_t klen) {
    if (o->idx) {
        size_t m = o->idxcap - 1, h = hash_bytes(key, klen) & m;
        while (o->idx[h]) {
            size_t i = o->idx[h] - 1;
            if (o->k[i]->len == klen && memcmp(o->k[i]->s, key, klen) == 0) return (long)i;
            h = (h + 1) & m;
        }
        return -1;
    }
    for (size_t i = 0; i < o->len; i++)
        if (o->k[i]->len == klen && memcmp(o->k[i]->s, key, klen) == 0) return (long)i;
    return -1;
}

jv jv_obj_get(jv obj, const char *key, size_t klen) {
    long i = obj_find(obj.o, key, klen);
    return i < 0 ? JV_UNDEF : obj.o->v[i];
}

void jv_obj_set_str(jv obj, jn_str *key, jv take) {
    jn_obj *o = obj.o;
    long i = obj_find(o, key->s, key->len);
    if (holds_fn(take)) o->flags |= JA_HASFN;
    if (i >= 0) {
        jv_unref(o->v[i]);
        o->v[i] = take;
        return;
    }
    if (o->len == o->cap) {
        o->cap = o->cap ? o->cap * 2 : 4;
        o->k = sy_realloc(o->k, o->cap * sizeof(jn_str *));
        o->v = sy_realloc(o->v, o->cap * sizeof(jv));
    }
    if (key->rc >= 0) key->rc++;
    o->k[o->len] = key;
    o->v[o->len] = take;
    o->len++;
    if (o->idx && o->len * 2 <= o->idxcap) idx_insert(o, o->len - 1);
    else if (o->len >= 12) idx_rebuild(o);
}

void jv_obj_set(jv obj, const char *key, size_t klen, jv take) {
    long i = obj_find(obj.o, key, klen);
    if (i >= 0) {
        if (holds_fn(take)) obj.o->flags |= JA_HASFN;
        jv_unref(obj.o->v[i]);
        obj.o->v[i] = take;
        return;
    }
    jv k = jv_str(key, klen);
    jv_obj_set_str(obj, k.s, take);
    jv_unref(k);
}

bool jv_obj_del(jv obj, const char *key, size_t klen) {
    jn_obj *o = obj.o;
    long i = obj_find(o, key, klen);
    if (i < 0) return false;
    jv kk = {.t = JT_STR};
    kk.s = o->k[i];
    jv_unref(kk);
    jv_unref(o->v[i]);
    memmove(o->k + i, o->k + i + 1, (o->len - i - 1) * sizeof(jn_str *));
    memmove(o->v + i, o->v + i + 1, (o->len - i - 1) * sizeof(jv));
    o->len--;
    idx_rebuild(o);
    return true;
}

jv jv_fn_new(int kind) {
    jn_fn *f = sy_calloc(1, sizeof *f);
    f->rc = 1;
    f->kind = kind;
    jv v = {.t = JT_FN};
    v.f = f;
    return v;
}

void jv_free_heap(jv v) {
    switch (v.t) {
    case JT_STR: free(v.s); break;
    case JT_ARR:
        for (size_t i = 0; i < v.a->len; i++) jv_unref(v.a->v[i]);
        free(v.a->v);
        free(v.a);
        break;
    case JT_OBJ:
        for (size_t i = 0; i < v.o->len; i++) {
            jv k = {.t = JT_STR};
            k.s = v.o->k[i];
            jv_unref(k);
            jv_unref(v.o->v[i]);
        }
        free(v.o->k);
        free(v.o->v);
        free(v.o->idx);
        free(v.o);
        break;
    case JT_FN: {
        jn_fn *f = v.f;
        if (f->env) jn_env_release(f->env);
        jv_unref(f->input);
        jv_unref(f->target);
        for (int i = 0; i < f->nbound; i++) jv_unref(f->bound[i]);
        free(f->bound);
        free(f->hole);
        if (f->own_params) free((void *)f->params);
        if (f->subject) {
            jv s = {.t = JT_STR};
            s.s = f->subject;
            jv_unref(s);
        }
        free(f);
        break;
    }
    default: break;
    }
}

bool jv_has_fn(jv v) { return holds_fn(v); }

bool jv_deep_equal(jv a, jv b) {
    if (a.t != b.t) return false;
    switch (a.t) {
    case JT_UNDEF:
    case JT_NULL: return true;
    case JT_BOOL: return a.b == b.b;
    case JT_NUM: return a.n == b.n;
    case JT_STR: return a.s->len == b.s->len && memcmp(a.s->s, b.s->s, a.s->len) == 0;
    case JT_ARR:
        if (a.a->len != b.a->len) return false;
        for (size_t i = 0; i < a.a->len; i++)
            if (!jv_deep_equal(a.a->v[i], b.a->v[i])) return false;
        return true;
    case JT_OBJ:
        if (a.o->len != b.o->len) return false;
        for (size_t i = 0; i < a.o->len; i++) {
            jv o = jv_obj_get(b, a.o->k[i]->s, a.o->k[i]->len);
            if (o.t == JT_UNDEF || !jv_deep_equal(a.o->v[i], o)) return false;
        }
        return true;
    case JT_FN: return a.f == b.f;
    }
    return false;
}

jv jv_from_json(const json_t *j) {
    if (!j) return JV_UNDEF;
    switch (json_typeof(j)) {
    case JSON_NULL: return JV_NULL;
    case JSON_TRUE: return JV_TRUE;
    case JSON_FALSE: return JV_FALSE;
    case JSON_INTEGER: return jv_num((double)json_integer_value(j));
    case JSON_REAL: return jv_num(json_real_value(j));
    case JSON_STRING: return jv_str(json_string_value(j), json_string_length(j));
    case JSON_ARRAY: {
        size_t n = json_array_size(j);
        jv a = jv_arr_new(n);
        for (size_t i = 0; i < n; i++) jv_arr_push(a, jv_from_json(json_array_get(j, i)));
        return a;
    }
    case JSON_OBJECT: {
        jv o = jv_obj_new(json_object_size(j));
        const char *k;
        json_t *val;
        size_t klen;
        void *tmp;
        json_object_keylen_foreach_safe((json_t *)j, tmp, k, klen, val) jv_obj_set(o, k, klen, jv_from_json(val));
        return o;
    }
    }
    return JV_UNDEF;
}

/* strict UTF-8 check (no surrogates, no overlongs) */
bool jn_utf8_valid(const char *str, size_t len) {
    const unsigned char *s = (const unsigned char *)str;
    for (size_t i = 0; i < len;) {
        unsigned char c = s[i];
        if (c < 0x80) { i++; continue; }
        size_t n;
        uint32_t cp;
        if (c >= 0xC2 && c <= 0xDF) { n = 1; cp = c & 0x1F; }
        else if (c >= 0xE0 && c <= 0xEF) { n = 2; cp = c & 0x0F; }
        else if (c >= 0xF0 && c <= 0xF4) { n = 3; cp = c & 0x07; }
        else return false;
        if (i + n >= len) return false;
        for (size_t k = 1; k <= n; k++) {
            if ((s[i + k] & 0xC0) != 0x80) return false;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10FFFF)) || (cp >= 0xD800 && cp < 0xE000))
            return false;
        i += n + 1;
    }
    return true;
}

/* invalid sequences (lone surrogates kept as WTF-8, raw bytes) become U+FFFD */
static json_t *json_string_sanitized(const char *s, size_t len) {
    if (jn_utf8_valid(s, len)) return json_stringn_nocheck(s, len);
    jn_buf b = {0};
    for (size_t i = 0; i < len;) {
        size_t j = jn_utf8_adv(s, len, i);
        if (jn_utf8_valid(s + i, j - i)) jn_buf_put(&b, s + i, j - i);
        else jn_buf_puts(&b, "\xEF\xBF\xBD");
        i = j;
    }
    json_t *r = json_stringn_nocheck(b.p ? b.p : "", b.len);
    free(b.p);
    return r;
}

json_t *jv_to_json(jv v) {
    spend(4); /* a jansson node is ~64 bytes */
    if (jv_budget_over()) return NULL; /* a shared value met many times: the caller checks jv_budget_over() */
    switch (v.t) {
    case JT_NULL: return json_null();
    case JT_BOOL: return json_boolean(v.b);
    case JT_NUM:
        if (v.n == floor(v.n) && fabs(v.n) <= 9007199254740992.0) {
            if (v.n == 0 && signbit(v.n)) return json_integer(0);
            return json_integer((json_int_t)v.n);
        }
        return json_real(v.n);
    case JT_STR: return json_string_sanitized(v.s->s, v.s->len);
    case JT_ARR: {
        json_t *a = json_array();
        for (size_t i = 0; i < v.a->len; i++) {
            json_t *x = jv_to_json(v.a->v[i]);
            json_array_append_new(a, x ? x : json_null());
        }
        return a;
    }
    case JT_OBJ: {
        json_t *o = json_object();
        for (size_t i = 0; i < v.o->len; i++) {
            json_t *x = jv_to_json(v.o->v[i]);
            if (!x) continue;
            if (jn_utf8_valid(v.o->k[i]->s, v.o->k[i]->len)) json_object_setn_new_nocheck(o, v.o->k[i]->s, v.o->k[i]->len, x);
            else {
                json_t *k = json_string_sanitized(v.o->k[i]->s, v.o->k[i]->len);
                json_object_set_new_nocheck(o, json_string_value(k), x);
                json_decref(k);
            }
        }
        return o;
    }
    default: return NULL;
    }
}

jv jv_clone(jv v) {
    if (v.t == JT_ARR) {
        jv a = jv_arr_new(v.a->len);
        for (size_t i = 0; i < v.a->len; i++) jv_arr_push(a, jv_clone(v.a->v[i]));
        return a;
    }
    if (v.t == JT_OBJ) {
        jv o = jv_obj_new(v.o->len);
        for (size_t i = 0; i < v.o->len; i++) jv_obj_set_str(o, v.o->k[i], jv_clone(v.o->v[i]));
        return o;
    }
    return jv_ref(v);
}

/* the reference's fn.append(arg1, arg2) */
jv jv_append(jv a, jv b) {
    if (b.t == JT_UNDEF) return a;
    if (a.t == JT_UNDEF) return b;
    jv r;
    if (a.t == JT_ARR && a.a->rc == 1 && (a.a->flags & JA_SEQ)) {
        r = a;
    } else if (a.t == JT_ARR) {
        r = jv_seq_new(a.a->len + 1);
        for (size_t i = 0; i < a.a->len; i++) jv_arr_push_ref(r, a.a->v[i]);
        jv_unref(a);
    } else {
        r = jv_seq_new(2);
        jv_arr_push(r, a);
    }
    if (b.t == JT_ARR) {
        for (size_t i = 0; i < b.a->len; i++) jv_arr_push_ref(r, b.a->v[i]);
        jv_unref(b);
    } else {
        jv_arr_push(r, b);
    }
    return r;
}

jv jv_seq_finish(jv v, bool keep_array) {
    if (v.t != JT_ARR || !(v.a->flags & JA_SEQ) || (v.a->flags & JA_TUPLE)) return v;
    if (keep_array) v.a->flags |= JA_KEEP;
    if (v.a->len == 0) {
        jv_unref(v);
        return JV_UNDEF;
    }
    if (v.a->len == 1 && !(v.a->flags & JA_KEEP)) {
        jv r = jv_ref(v.a->v[0]);
        jv_unref(v);
        return r;
    }
    return v;
}

/* ------------------------------------------------------------- buffers */
void jn_buf_put(jn_buf *b, const char *s, size_t n) {
    spend(n / 4);
    if (jv_budget_over()) return; /* the evaluation fails at its next step (jn_time_guard): nothing of it escapes */
    if (b->len + n + 1 > b->cap) {
        size_t c = b->cap ? b->cap * 2 : 64;
        while (c < b->len + n + 1) c *= 2;
        b->p = sy_realloc(b->p, c);
        b->cap = c;
    }
    if (n) memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = 0;
}
void jn_buf_putc(jn_buf *b, char c) { jn_buf_put(b, &c, 1); }
void jn_buf_puts(jn_buf *b, const char *s) { jn_buf_put(b, s, strlen(s)); }
jv jn_buf_to_str(jn_buf *b) {
    jv v = jv_str(b->p ? b->p : "", b->len);
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
    return v;
}

/* ------------------------------------------------------------- UTF-8 */
uint32_t jn_utf8_dec(const char *s, size_t len, size_t *pos) {
    const unsigned char *u = (const unsigned char *)s;
    size_t i = *pos;
    uint32_t c = u[i];
    int n = 0;
    if (c >= 0xF0) { n = 3; c &= 0x07; }
    else if (c >= 0xE0) { n = 2; c &= 0x0F; }
    else if (c >= 0xC0) { n = 1; c &= 0x1F; }
    if (i + n >= len) n = (int)(len - 1 - i);
    for (int k = 1; k <= n; k++) c = (c << 6) | (u[i + k] & 0x3F);
    *pos = i + 1 + n;
    return c;
}

size_t jn_utf8_adv(const char *s, size_t len, size_t pos) {
    size_t p = pos;
    jn_utf8_dec(s, len, &p);
    return p;
}

size_t jn_utf8_enc(uint32_t cp, char *o) {
    if (cp < 0x80) { o[0] = (char)cp; return 1; }
    if (cp < 0x800) { o[0] = (char)(0xC0 | (cp >> 6)); o[1] = (char)(0x80 | (cp & 0x3F)); return 2; }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

size_t jn_utf8_cplen(const char *s, size_t len) {
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80) n++;
    return n;
}

size_t jn_utf8_u16len(const char *s, size_t len) {
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c & 0xC0) != 0x80) n += c >= 0xF0 ? 2 : 1;
    }
    return n;
}

size_t jn_byte_to_u16(const char *s, size_t bytes) { return jn_utf8_u16len(s, bytes); }

size_t jn_u16_to_byte(const char *s, size_t len, size_t u16) {
    size_t i = 0, n = 0;
    while (i < len && n < u16) {
        unsigned char c = (unsigned char)s[i];
        n += c >= 0xF0 ? 2 : 1;
        i = jn_utf8_adv(s, len, i);
    }
    return i;
}

/* compare as JS does (UTF-16 code units) */
int jn_u16_cmp(const char *a, size_t al, const char *b, size_t bl) {
    size_t i = 0, j = 0;
    while (i < al && j < bl) {
        uint32_t x = jn_utf8_dec(a, al, &i), y = jn_utf8_dec(b, bl, &j);
        if (x == y) continue;
        /* map to the first UTF-16 unit */
        uint32_t ux = x >= 0x10000 ? 0xD800 + ((x - 0x10000) >> 10) : x;
        uint32_t uy = y >= 0x10000 ? 0xD800 + ((y - 0x10000) >> 10) : y;
        if (ux != uy) return ux < uy ? -1 : 1;
        uint32_t lx = x >= 0x10000 ? 0xDC00 + ((x - 0x10000) & 0x3FF) : 0;
        uint32_t ly = y >= 0x10000 ? 0xDC00 + ((y - 0x10000) & 0x3FF) : 0;
        return lx < ly ? -1 : 1;
    }
    if (i < al) return 1;
    if (j < bl) return -1;
    return 0;
}
