/* asl/jsonpath.c - JSONPath evaluation: filters, queries,
 * ResultPath-style assignment, variable references; parsing is in
 * jsonpath_parse.c. */
#include "asl/internal.h"

#include <ctype.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* ---- filters ---- */
typedef struct {
    const char *p;
    const json_t *elem;
    const json_t *root;
} fx_t;

static void fx_ws(fx_t *x)
{
    while (*x->p == ' ')
        x->p++;
}

static bool filt_or(fx_t *x);

/* An operand: @path, $path or a literal. *v is new or NULL (missing). */
static bool fx_operand(fx_t *x, json_t **v)
{
    fx_ws(x);
    *v = NULL;
    const char *p = x->p;
    if (*p == '@' || *p == '$') {
        const json_t *base = *p == '@' ? x->elem : x->root;
        const char *start = p + 1;
        while (*p && !strchr(" =!<>&|)", *p))
            p++;
        char *sub = sy_asprintf("$%.*s", (int)(p - start), start);
        json_t *out = NULL;
        if (asl_jp_query(sub, base, &out, NULL) == JP_OK)
            *v = out;
        free(sub);
        x->p = p;
        return true;
    }
    if (*p == '\'' || *p == '"') {
        char *s = asl_jp_parse_quoted(&x->p);
        if (!s)
            return false;
        *v = json_string(s);
        free(s);
        return true;
    }
    const char *start = p;
    while (*p && !strchr(" =!<>&|)", *p))
        p++;
    json_t *lit = asl_loads_any(start, (size_t)(p - start));
    if (!lit)
        return false;
    *v = lit;
    x->p = p;
    return true;
}

static int fx_cmp(const json_t *a, const json_t *b, bool *ok)
{
    *ok = true;
    if (json_is_number(a) && json_is_number(b)) {
        double da = json_number_value(a), db = json_number_value(b);
        return da < db ? -1 : da > db;
    }
    if (json_is_string(a) && json_is_string(b))
        return strcmp(json_string_value(a), json_string_value(b));
    *ok = false;
    return 0;
}

static bool fx_apply(const char *op, json_t *a, json_t *b)
{
    if (!a || !b)
        return strcmp(op, "!=") == 0 && (a || b);
    bool ok;
    int c = fx_cmp(a, b, &ok);
    if (!strcmp(op, "=="))
        return ok ? c == 0 : json_equal(a, b);
    if (!strcmp(op, "!="))
        return ok ? c != 0 : !json_equal(a, b);
    if (!ok)
        return false;
    if (!strcmp(op, "<"))
        return c < 0;
    if (!strcmp(op, "<="))
        return c <= 0;
    if (!strcmp(op, ">"))
        return c > 0;
    return c >= 0;
}

static bool filt_cmp(fx_t *x)
{
    fx_ws(x);
    if (*x->p == '(') {
        x->p++;
        bool r = filt_or(x);
        fx_ws(x);
        if (*x->p == ')')
            x->p++;
        return r;
    }
    bool neg = false;
    if (*x->p == '!') {
        neg = true;
        x->p++;
    }
    json_t *a = NULL, *b = NULL;
    bool r = false;
    if (!fx_operand(x, &a))
        goto done;
    fx_ws(x);
    static const char *ops[] = {"==", "!=", "<=", ">=", "<", ">"};
    const char *op = NULL;
    for (size_t i = 0; i < sizeof ops / sizeof *ops; i++)
        if (!strncmp(x->p, ops[i], strlen(ops[i]))) {
            op = ops[i];
            break;
        }
    if (!op) {
        r = a != NULL && !json_is_false(a);
        goto done;
    }
    x->p += strlen(op);
    if (!fx_operand(x, &b))
        goto done;
    r = fx_apply(op, a, b);
done:
    json_decref(a);
    json_decref(b);
    return neg ? !r : r;
}

static bool filt_and(fx_t *x)
{
    bool r = filt_cmp(x);
    for (;;) {
        fx_ws(x);
        if (strncmp(x->p, "&&", 2))
            return r;
        x->p += 2;
        bool r2 = filt_cmp(x);
        r = r && r2;
    }
}

static bool filt_or(fx_t *x)
{
    bool r = filt_and(x);
    for (;;) {
        fx_ws(x);
        if (strncmp(x->p, "||", 2))
            return r;
        x->p += 2;
        bool r2 = filt_and(x);
        r = r || r2;
    }
}

/* ---- evaluation ---- */
static void add_children(const json_t *v, json_t *out)
{
    if (json_is_array(v)) {
        size_t i;
        json_t *e;
        json_array_foreach(v, i, e) json_array_append(out, e);
    } else if (json_is_object(v)) {
        const char *k;
        json_t *e;
        json_object_foreach((json_t *)v, k, e) json_array_append(out, e);
    }
}

static void slice(const seg_t *s, const json_t *v, json_t *out)
{
    long len = (long)json_array_size(v);
    long step = s->c;
    long a, b;
    if (step > 0) {
        a = s->has_a ? s->a : 0;
        b = s->has_b ? s->b : len;
    } else {
        a = s->has_a ? s->a : len - 1;
        b = s->has_b ? s->b : -len - 1;
    }
    if (a < 0)
        a += len;
    if (b < 0)
        b += len;
    if (step > 0) {
        a = a < 0 ? 0 : a > len ? len : a;
        b = b < 0 ? 0 : b > len ? len : b;
        for (long i = a; i < b; i += step)
            json_array_append(out, json_array_get(v, (size_t)i));
    } else {
        a = a < -1 ? -1 : a >= len ? len - 1 : a;
        b = b < -1 ? -1 : b >= len ? len - 1 : b;
        for (long i = a; i > b; i += step)
            json_array_append(out, json_array_get(v, (size_t)i));
    }
}

static void apply_one(const seg_t *s, const json_t *v, const json_t *root, json_t *out)
{
    switch (s->kind) {
    case S_NAME: {
        json_t *c = json_is_object(v) ? json_object_get(v, s->name) : NULL;
        if (c)
            json_array_append(out, c);
        break;
    }
    case S_INDEX: {
        if (!json_is_array(v))
            break;
        long i = s->a < 0 ? s->a + (long)json_array_size(v) : s->a;
        if (i >= 0 && (size_t)i < json_array_size(v))
            json_array_append(out, json_array_get(v, (size_t)i));
        break;
    }
    case S_WILD:
        add_children(v, out);
        break;
    case S_SLICE:
        if (json_is_array(v))
            slice(s, v, out);
        break;
    case S_NAMES:
        for (int i = 0; json_is_object(v) && i < s->n; i++) {
            json_t *c = json_object_get(v, s->names[i]);
            if (c)
                json_array_append(out, c);
        }
        break;
    case S_INDEXES:
        for (int i = 0; json_is_array(v) && i < s->n; i++) {
            long k = s->idx[i] < 0 ? s->idx[i] + (long)json_array_size(v) : s->idx[i];
            if (k >= 0 && (size_t)k < json_array_size(v))
                json_array_append(out, json_array_get(v, (size_t)k));
        }
        break;
    case S_FILTER: {
        json_t *kids = json_array();
        add_children(v, kids);
        size_t i;
        json_t *e;
        json_array_foreach(kids, i, e)
        {
            fx_t x = {s->name, e, root};
            if (filt_or(&x))
                json_array_append(out, e);
        }
        json_decref(kids);
        break;
    }
    }
}

static void apply_deep(const seg_t *s, const json_t *v, const json_t *root, json_t *out)
{
    apply_one(s, v, root, out);
    json_t *kids = json_array();
    add_children(v, kids);
    size_t i;
    json_t *e;
    json_array_foreach(kids, i, e) apply_deep(s, e, root, out);
    json_decref(kids);
}

static void where_append(char **where, const seg_t *s)
{
    char *w = *where;
    if (s->kind == S_NAME)
        *where = sy_asprintf("%s['%s']", w, s->name);
    else
        *where = sy_asprintf("%s[%ld]", w, s->a);
    free(w);
}

jp_rc_t asl_jp_query(const char *path, const json_t *doc, json_t **out, char **where)
{
    jp_t jp;
    *out = NULL;
    if (where)
        *where = NULL;
    if (!path || !asl_jp_tree_parse(path, &jp))
        return JP_SYNTAX;
    bool definite = asl_jp_tree_definite(&jp);
    char *w = sy_strdup("$");
    json_t *cur = json_array();
    json_array_append(cur, (json_t *)doc);
    jp_rc_t rc = JP_OK;
    for (int i = 0; i < jp.n; i++) {
        json_t *next = json_array();
        size_t k;
        json_t *v;
        json_array_foreach(cur, k, v)
        {
            if (jp.segs[i].deep)
                apply_deep(&jp.segs[i], v, doc, next);
            else
                apply_one(&jp.segs[i], v, doc, next);
        }
        json_decref(cur);
        cur = next;
        if (definite) {
            where_append(&w, &jp.segs[i]);
            if (json_array_size(cur) == 0) {
                rc = JP_MISSING;
                break;
            }
        }
    }
    if (rc == JP_OK) {
        *out = definite ? json_incref(json_array_get(cur, 0)) : json_incref(cur);
    } else if (where) {
        *where = w;
        w = NULL;
    }
    free(w);
    json_decref(cur);
    asl_jp_tree_free(&jp);
    return rc;
}

char *asl_jp_normalize(const char *path)
{
    jp_t jp;
    if (!asl_jp_tree_parse(path, &jp))
        return sy_strdup(path);
    char *w = sy_strdup("$");
    for (int i = 0; i < jp.n; i++)
        if (jp.segs[i].kind == S_NAME || jp.segs[i].kind == S_INDEX)
            where_append(&w, &jp.segs[i]);
    asl_jp_tree_free(&jp);
    return w;
}

int asl_jp_set(json_t **doc, const char *path, json_t *value, char **err)
{
    jp_t jp;
    *err = NULL;
    if (!asl_jp_tree_parse(path, &jp) || !asl_jp_tree_definite(&jp)) {
        *err = sy_asprintf("Invalid path '%s'", path);
        json_decref(value);
        return -1;
    }
    if (jp.n == 0) {
        json_decref(*doc);
        *doc = value;
        asl_jp_tree_free(&jp);
        return 0;
    }
    json_t *cur = *doc;
    int rc = 0;
    for (int i = 0; i < jp.n; i++) {
        seg_t *s = &jp.segs[i];
        bool last = i == jp.n - 1;
        if (s->kind == S_NAME && json_is_object(cur)) {
            if (last) {
                json_object_set_new(cur, s->name, value);
                value = NULL;
                break;
            }
            json_t *c = json_object_get(cur, s->name);
            if (!c || !(json_is_object(c) || json_is_array(c))) {
                c = json_object();
                json_object_set_new(cur, s->name, c);
            }
            cur = c;
        } else if (s->kind == S_INDEX && json_is_array(cur) && s->a >= 0 &&
                   (size_t)s->a < json_array_size(cur)) {
            if (last) {
                json_array_set_new(cur, (size_t)s->a, value);
                value = NULL;
                break;
            }
            cur = json_array_get(cur, (size_t)s->a);
        } else {
            char *where = asl_jp_normalize(path);
            *err = sy_asprintf("Invalid path '%s' : Missing property in path %s", path, where);
            free(where);
            rc = -1;
            break;
        }
    }
    json_decref(value);
    asl_jp_tree_free(&jp);
    return rc;
}


static int var_eval(const char *path, const json_t *ctx, json_t **out, char **err)
{
    size_t n = 1;
    while (path[n] && path[n] != '.' && path[n] != '[')
        n++;
    char *name = strndup(path + 1, n - 1);
    const json_t *v = json_object_get(json_object_get(ctx, ASL_VARS_KEY), name);
    if (!v) {
        *err = sy_asprintf("Invalid path '%s' : variable '%s' is not defined", path, name);
        free(name);
        return -1;
    }
    free(name);
    char *rest = sy_asprintf("$%s", path + n);
    char *where = NULL;
    jp_rc_t rc = asl_jp_query(rest, v, out, &where);
    if (rc != JP_OK)
        *err = rc == JP_SYNTAX ? sy_asprintf("invalid path '%s'", path)
                               : sy_asprintf("Invalid path '%s' : No results for path: %s", path, where);
    free(where);
    free(rest);
    return rc == JP_OK ? 0 : -1;
}

int sy_asl_path_eval(const char *path, const json_t *doc, const json_t *ctx, json_t **out, char **err)
{
    *out = NULL;
    *err = NULL;
    if (!path || path[0] != '$') {
        *err = sy_asprintf("invalid path '%s'", path ? path : "");
        return -1;
    }
    if (asl_jp_is_var_ref(path))
        return var_eval(path, ctx, out, err);
    bool context = path[1] == '$';
    char *where = NULL;
    jp_rc_t rc = asl_jp_query(context ? path + 1 : path, context ? ctx : doc, out, &where);
    if (rc == JP_OK) {
        if (context && json_is_object(*out) && json_object_get(*out, ASL_VARS_KEY)) {
            json_t *c = json_deep_copy(*out); /* variables are not part of $$ */
            json_object_del(c, ASL_VARS_KEY);
            json_decref(*out);
            *out = c;
        }
        return 0;
    }
    if (rc == JP_SYNTAX)
        *err = sy_asprintf("invalid path '%s'", path);
    else {
        char *full = asl_jp_normalize(context ? path + 1 : path);
        if (!strcmp(full, where))
            *err = sy_asprintf("Invalid path '%s' : No results for path: %s", path, where);
        else
            *err = sy_asprintf("Invalid path '%s' : Missing property in path %s", path, where);
        free(full);
    }
    free(where);
    return -1;
}
