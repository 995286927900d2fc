/* asl/intrinsics.c - intrinsic function calls (States.Format(...), ...):
 * parsed and evaluated in one pass over the call text; the functions
 * themselves are in intrinsic_fns.c. */
#include "asl/internal.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

typedef asl_ix_t ix_t;
typedef asl_ix_arg_t arg_t;

int asl_ix_fail(ix_t *x, const char *name, const char *fmt, ...)
{
    if (x->err_name)
        return -1;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    x->err_cause = sy_malloc((size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(x->err_cause, (size_t)n + 1, fmt, ap);
    va_end(ap);
    x->err_name = sy_strdup(name);
    return -1;
}

static void ws(ix_t *x)
{
    while (isspace((unsigned char)*x->p))
        x->p++;
}

static int parse_call(ix_t *x, json_t **out);

static int parse_string(ix_t *x, arg_t *a)
{
    const char *p = x->p + 1;
    size_t cap = strlen(p) + 1, n = 0, rn = 0;
    char *s = sy_malloc(cap), *raw = sy_malloc(cap);
    while (*p && *p != '\'') {
        if (*p == '\\') {
            if (!p[1] || !strchr("'{}\\", p[1])) { /* strchr finds the terminator too */
                free(s);
                free(raw);
                return asl_ix_fail(x, "States.Runtime", "invalid escape sequence in intrinsic string literal");
            }
            raw[rn++] = *p;
            p++;
        }
        raw[rn++] = *p;
        s[n++] = *p++;
    }
    s[n] = 0;
    raw[rn] = 0;
    if (*p != '\'') {
        free(s);
        free(raw);
        return asl_ix_fail(x, "States.Runtime", "unterminated string literal");
    }
    x->p = p + 1;
    a->v = json_string(s);
    a->raw = raw;
    free(s);
    return a->v ? 0 : asl_ix_fail(x, "States.Runtime", "invalid UTF-8 in string literal");
}

static int parse_path(ix_t *x, arg_t *a)
{
    const char *p = x->p;
    int depth = 0;
    char q = 0;
    for (; *p; p++) {
        if (q) {
            if (*p == q)
                q = 0;
            continue;
        }
        if (*p == '\'' || *p == '"')
            q = *p;
        else if (*p == '[' || *p == '(')
            depth++;
        else if ((*p == ']' || *p == ')') && depth > 0)
            depth--;
        else if ((*p == ',' || *p == ')') && depth == 0)
            break;
    }
    const char *end = p;
    while (end > x->p && isspace((unsigned char)end[-1]))
        end--;
    char *path = strndup(x->p, (size_t)(end - x->p));
    x->p = p;
    int rc = 0;
    if (!asl_jp_valid(path)) {
        rc = asl_ix_fail(x, "States.Runtime", "invalid path '%s' in intrinsic function", path);
    } else if (x->dry) {
        a->v = json_null();
    } else {
        char *err = NULL;
        if (sy_asl_path_eval(path, x->input, x->ctx, &a->v, &err) != 0) {
            char *in = asl_dumps(x->input);
            rc = asl_ix_fail(x, "States.Runtime",
                      "The JSONPath '%s' specified for the field '%s' could not be found in the input '%s'",
                      path, x->field ? x->field : "", in);
            free(in);
        }
        free(err);
    }
    free(path);
    return rc;
}

static int parse_literal(ix_t *x, arg_t *a)
{
    const char *p = x->p;
    while (*p && *p != ',' && *p != ')' && !isspace((unsigned char)*p))
        p++;
    a->v = asl_loads_any(x->p, (size_t)(p - x->p));
    if (!a->v || json_is_object(a->v) || json_is_array(a->v) || json_is_string(a->v)) {
        json_decref(a->v);
        a->v = NULL;
        return asl_ix_fail(x, "States.Runtime", "invalid argument '%.*s' in intrinsic function",
                    (int)(p - x->p), x->p);
    }
    x->p = p;
    return 0;
}

static int parse_arg(ix_t *x, arg_t *a)
{
    ws(x);
    if (*x->p == '\'')
        return parse_string(x, a);
    if (*x->p == '$')
        return parse_path(x, a);
    if (!strncmp(x->p, "States.", 7))
        return parse_call(x, &a->v);
    return parse_literal(x, a);
}

static void free_args(arg_t *args, int n)
{
    for (int i = 0; i < n; i++) {
        json_decref(args[i].v);
        free(args[i].raw);
    }
    free(args);
}

static int parse_call(ix_t *x, json_t **out)
{
    ws(x);
    const char *start = x->p;
    while (isalnum((unsigned char)*x->p) || *x->p == '.')
        x->p++;
    size_t len = (size_t)(x->p - start);
    asl_ix_fn_t fn = asl_ix_lookup(start, len);
    if (!fn)
        return asl_ix_fail(x, "States.Runtime", "unknown intrinsic function '%.*s'", (int)len, start);
    ws(x);
    if (*x->p != '(')
        return asl_ix_fail(x, "States.Runtime", "expected '(' after %.*s", (int)len, start);
    x->p++;
    arg_t *args = NULL;
    int n = 0, rc = 0;
    ws(x);
    while (*x->p != ')') {
        args = sy_realloc(args, sizeof(arg_t) * (size_t)(n + 1));
        memset(&args[n], 0, sizeof(arg_t));
        if (parse_arg(x, &args[n++]) != 0) {
            rc = -1;
            goto done;
        }
        ws(x);
        if (*x->p == ',') {
            x->p++;
            ws(x);
            if (*x->p == ')') {
                rc = asl_ix_fail(x, "States.Runtime", "missing argument");
                goto done;
            }
        } else if (*x->p != ')') {
            rc = asl_ix_fail(x, "States.Runtime", "expected ',' or ')' in intrinsic function");
            goto done;
        }
    }
    x->p++;
    if (x->dry) {
        *out = json_null();
        goto done;
    }
    rc = fn(x, args, n, out);
done:
    free_args(args, n);
    return rc;
}

bool asl_is_intrinsic(const char *s)
{
    return s && !strncmp(s, "States.", 7);
}

static int run(const char *s, const char *field, const json_t *input, const json_t *ctx, bool dry,
               json_t **out, char **err_name, char **err_cause)
{
    ix_t x = {.p = s, .input = input, .ctx = ctx, .dry = dry, .field = field};
    json_t *v = NULL;
    int rc = parse_call(&x, &v);
    if (rc == 0) {
        ws(&x);
        if (*x.p) {
            json_decref(v);
            v = NULL;
            rc = asl_ix_fail(&x, "States.Runtime", "unexpected text after intrinsic function");
        }
    }
    if (rc != 0) {
        *err_name = x.err_name;
        *err_cause = x.err_cause;
        return -1;
    }
    *out = v;
    return 0;
}

bool asl_intrinsic_valid(const char *s, char **err)
{
    json_t *v = NULL;
    char *name = NULL, *cause = NULL;
    int rc = run(s, NULL, NULL, NULL, true, &v, &name, &cause);
    json_decref(v);
    free(name);
    if (err)
        *err = cause;
    else
        free(cause);
    return rc == 0;
}

int asl_intrinsic_eval(const char *s, const char *field, const json_t *input, const json_t *ctx,
                       json_t **out, char **err_name, char **err_cause)
{
    *out = NULL;
    *err_name = *err_cause = NULL;
    return run(s, field, input, ctx, false, out, err_name, err_cause);
}
