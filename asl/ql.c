/* asl/ql.c - JSONata mode plumbing: "{% ... %}" strings, the table of
 * compiled expressions a definition keeps, the $states bindings, template
 * evaluation and the States.QueryEvaluationError causes AWS writes. */
#include "asl/internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---- "{% ... %}" ---- */
static bool ws(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

bool asl_jx_is_expr(const json_t *v, const char **body, size_t *len)
{
    const char *s = json_string_value(v);
    if (!s)
        return false;
    size_t n = json_string_length(v);
    if (n < 4 || s[0] != '{' || s[1] != '%' || s[n - 2] != '%' || s[n - 1] != '}')
        return false;
    const char *b = s + 2, *e = s + n - 2;
    while (b < e && ws(*b))
        b++;
    while (e > b && ws(e[-1]))
        e--;
    if (body)
        *body = b;
    if (len)
        *len = (size_t)(e - b);
    return true;
}

bool asl_jx_malformed(const json_t *v)
{
    const char *s = json_string_value(v);
    if (!s)
        return false;
    size_t n = json_string_length(v);
    bool open = n >= 2 && s[0] == '{' && s[1] == '%';
    bool close = n >= 2 && s[n - 2] == '%' && s[n - 1] == '}';
    if (open != close || (open && n < 4))
        return true;
    if (!open)
        return false;
    /* AWS wants "{% " and " %}": whitespace right inside both markers */
    return !ws(s[2]) || !ws(s[n - 3]);
}

/* ---- the table of compiled expressions (keyed by string node) ---- */
static size_t slot_of(const json_t *k, size_t cap)
{
    uintptr_t h = (uintptr_t)k;
    h ^= h >> 17;
    h *= 0x9E3779B97F4A7C15ULL;
    return (size_t)(h >> 7) & (cap - 1);
}

static void exprs_put(asl_exprs_t *e, const json_t *k, sy_jsonata_t *v);

static void exprs_grow(asl_exprs_t *e)
{
    asl_exprs_t n = {.cap = e->cap ? e->cap * 2 : 64};
    n.keys = sy_calloc(n.cap, sizeof *n.keys);
    n.vals = sy_calloc(n.cap, sizeof *n.vals);
    for (size_t i = 0; i < e->cap; i++)
        if (e->keys[i])
            exprs_put(&n, e->keys[i], e->vals[i]);
    free(e->keys);
    free(e->vals);
    *e = n;
}

static void exprs_put(asl_exprs_t *e, const json_t *k, sy_jsonata_t *v)
{
    if ((e->n + 1) * 2 > e->cap)
        exprs_grow(e);
    size_t i = slot_of(k, e->cap);
    while (e->keys[i] && e->keys[i] != k)
        i = (i + 1) & (e->cap - 1);
    if (e->keys[i] == k) {
        sy_jsonata_free(&e->vals[i]);
    } else {
        e->keys[i] = k;
        e->n++;
    }
    e->vals[i] = v;
}

void asl_exprs_add(asl_exprs_t *e, const json_t *node, sy_jsonata_t *expr)
{
    exprs_put(e, node, expr);
}

const sy_jsonata_t *asl_exprs_get(const asl_exprs_t *e, const json_t *k)
{
    if (!e || !e->cap)
        return NULL;
    size_t i = slot_of(k, e->cap);
    while (e->keys[i]) {
        if (e->keys[i] == k)
            return e->vals[i];
        i = (i + 1) & (e->cap - 1);
    }
    return NULL;
}

void asl_exprs_free(asl_exprs_t *e)
{
    for (size_t i = 0; i < e->cap; i++)
        if (e->keys[i])
            sy_jsonata_free(&e->vals[i]);
    free(e->keys);
    free(e->vals);
    memset(e, 0, sizeof *e);
}

/* ---- run time ---- */
bool asl_jx_state(const asl_x_t *x, const json_t *st)
{
    const char *ql = asl_gets(st, "QueryLanguage");
    if (!ql)
        ql = asl_gets(x->def->root, "QueryLanguage");
    return ql && !strcmp(ql, "JSONata");
}

json_t *asl_jx_bind(const asl_x_t *x, const json_t *t, const json_t *input, const json_t *result,
                    const json_t *error_output, const json_t *map_item)
{
    json_t *vars = json_object_get(t, "vars");
    json_t *b = vars ? json_copy(vars) : json_object(); /* shallow: values are shared, never changed */
    json_t *ctx = asl_ctx(x, t);
    json_object_del(ctx, ASL_VARS_KEY);
    if (map_item)
        json_object_set(ctx, "Map", (json_t *)map_item);
    json_t *s = json_object();
    json_object_set(s, "input", (json_t *)input);
    json_object_set_new(s, "context", ctx);
    if (result)
        json_object_set(s, "result", (json_t *)result);
    if (error_output)
        json_object_set(s, "errorOutput", (json_t *)error_output);
    json_object_set_new(b, "states", s);
    return b;
}

static const char *type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "object";
    case JSON_ARRAY: return "array";
    case JSON_STRING: return "string";
    case JSON_INTEGER:
    case JSON_REAL: return "number";
    case JSON_TRUE:
    case JSON_FALSE: return "boolean";
    default: return "null";
    }
}

static char *expr_text(const json_t *node)
{
    const char *b;
    size_t n;
    if (asl_jx_is_expr(node, &b, &n))
        return sy_strndup(b, n);
    return asl_dumps(node);
}

static void qe_fault(asl_fault_t *f, const char *field, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void qe_fault(asl_fault_t *f, const char *field, const char *fmt, ...)
{
    asl_fault_clear(f);
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    f->cause = sy_malloc((size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(f->cause, (size_t)n + 1, fmt, ap);
    va_end(ap);
    f->error = sy_strdup("States.QueryEvaluationError");
    f->location = field ? sy_strdup(field) : NULL;
}

void asl_jx_type_fault(asl_fault_t *f, const json_t *node, const char *field, const char *want, const json_t *got)
{
    char *src = expr_text(node), *val = asl_dumps(got);
    qe_fault(f, field,
             "The JSONata expression '%s' specified for the field '%s' returned an unexpected result type. "
             "Expected '%s', but was '%s' for value: %s",
             src, field, want, type_name(got), val);
    free(src);
    free(val);
}

/* The bindings converted once per template (every expression of it sees the same ones). */
typedef struct {
    const json_t *bind;
    sy_jsonata_bindings_t *prep;
} jx_bind_t;

static int eval_expr(const asl_x_t *x, const json_t *node, const char *b, size_t len, jx_bind_t *jb,
                     const char *field, json_t **out, asl_fault_t *f)
{
    const sy_jsonata_t *ex = asl_exprs_get(&x->def->exprs, node);
    sy_jsonata_t *own = NULL;
    sy_jsonata_error_t err = {0};
    if (!ex) { /* not compiled with the definition (should not happen): compile now */
        own = sy_jsonata_compile(b, len, &err);
        if (!own) {
            qe_fault(f, field, "The JSONata expression '%.*s' specified for the field '%s' threw an error during "
                     "evaluation. %s: %s", (int)len, b, field, err.code, err.message ? err.message : "");
            sy_jsonata_error_clear(&err);
            return -1;
        }
        ex = own;
    }
    sy_jsonata_opts_t opts = {.step_functions = true, .now_ms = asl_now(x)};
    json_t *v = NULL;
    int kind = SY_JSONATA_VALUE;
    if (!jb->prep)
        jb->prep = sy_jsonata_bindings_new(jb->bind);
    int rc = sy_jsonata_eval_prepared(ex, NULL, jb->prep, &opts, &v, &kind, &err);
    if (rc == 0 && kind == SY_JSONATA_FUNCTION) {
        qe_fault(f, field, "The JSONata expression '%.*s' specified for the field '%s' returned an unsupported "
                 "result type.", (int)len, b, field);
        rc = -1;
    } else if (rc != 0) {
        qe_fault(f, field, "The JSONata expression '%.*s' specified for the field '%s' threw an error during "
                 "evaluation. %s: %s", (int)len, b, field, err.code, err.message ? err.message : "");
    } else if (!v) {
        qe_fault(f, field, "The JSONata expression '%.*s' specified for the field '%s' returned nothing (undefined).",
                 (int)len, b, field);
        rc = -1;
    }
    sy_jsonata_error_clear(&err);
    sy_jsonata_free(&own);
    *out = rc == 0 ? v : NULL;
    if (rc != 0)
        json_decref(v);
    return rc == 0 ? 0 : -1;
}

static int eval_tmpl(const asl_x_t *x, const json_t *tmpl, jx_bind_t *jb, const char *field, json_t **out,
                     asl_fault_t *f)
{
    const char *b;
    size_t len;
    *out = NULL;
    if (asl_jx_is_expr(tmpl, &b, &len))
        return eval_expr(x, tmpl, b, len, jb, field, out, f);
    if (json_is_object(tmpl)) {
        json_t *o = json_object();
        const char *k;
        json_t *e;
        json_object_foreach((json_t *)tmpl, k, e)
        {
            char *sub = sy_asprintf("%s/%s", field, k);
            json_t *v;
            int rc = eval_tmpl(x, e, jb, sub, &v, f);
            free(sub);
            if (rc != 0) {
                json_decref(o);
                return -1;
            }
            json_object_set_new(o, k, v);
        }
        *out = o;
        return 0;
    }
    if (json_is_array(tmpl)) {
        json_t *a = json_array();
        size_t i;
        json_t *e;
        json_array_foreach(tmpl, i, e)
        {
            char *sub = sy_asprintf("%s/%zu", field, i);
            json_t *v;
            int rc = eval_tmpl(x, e, jb, sub, &v, f);
            free(sub);
            if (rc != 0) {
                json_decref(a);
                return -1;
            }
            json_array_append_new(a, v);
        }
        *out = a;
        return 0;
    }
    *out = json_deep_copy(tmpl);
    return 0;
}

int asl_jx_eval(const asl_x_t *x, const json_t *tmpl, const json_t *bind, const char *field, json_t **out,
                asl_fault_t *f)
{
    jx_bind_t jb = {.bind = bind};
    int rc = eval_tmpl(x, tmpl, &jb, field, out, f);
    sy_jsonata_bindings_free(&jb.prep);
    return rc;
}

int asl_jx_int_field(asl_x_t *x, json_t *t, const json_t *st, const char *field, const json_t *bind, int64_t lo,
                     int64_t hi, bool real, double *out, bool *given, asl_fault_t *f)
{
    (void)t;
    const json_t *node = json_object_get(st, field);
    *given = node != NULL;
    if (!node)
        return 0;
    json_t *v = NULL;
    if (asl_jx_eval(x, node, bind, field, &v, f) != 0)
        return -1;
    bool ok = real ? json_is_number(v) : asl_is_int(v);
    if (!ok) {
        asl_jx_type_fault(f, node, field, real ? "number" : "integer", v);
        json_decref(v);
        return -1;
    }
    double d = json_number_value(v);
    if (d < (double)lo || d > (double)hi) {
        char *src = expr_text(node), *val = asl_dumps(v);
        qe_fault(f, field,
                 "The JSONata expression '%s' specified for the field '%s' returned a value out of range. "
                 "Expected a value between %lld and %lld, but was: %s",
                 src, field, (long long)lo, (long long)hi, val);
        free(src);
        free(val);
        json_decref(v);
        return -1;
    }
    *out = d;
    json_decref(v);
    return 0;
}

int asl_jx_arguments(asl_x_t *x, json_t *t, const json_t *st, const json_t *args, json_t **out, asl_fault_t *f)
{
    (void)st;
    const json_t *in = json_object_get(t, "input");
    if (!args) {
        *out = json_deep_copy(in);
        return 0;
    }
    json_t *bind = asl_jx_bind(x, t, in, NULL, NULL, NULL);
    int rc = asl_jx_eval(x, args, bind, "Arguments", out, f);
    json_decref(bind);
    return rc;
}
