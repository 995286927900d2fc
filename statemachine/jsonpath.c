/* JSONPath, AWS's subset: $, .name, ['name'], [n], [a:b:c], [*], .*, ..,
 * unions [0,1] / ['a','b'] and filters [?(@.x > 1)]. */
#include "statemachine/internal.h"

#include <ctype.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

typedef enum { S_NAME, S_INDEX, S_WILD, S_SLICE, S_NAMES, S_INDEXES, S_FILTER } seg_kind_t;

typedef struct {
    seg_kind_t kind;
    bool deep;
    char *name;             /* S_NAME, S_FILTER (expression text) */
    long a, b, c;           /* S_INDEX (a), S_SLICE */
    bool has_a, has_b;
    char **names;           /* S_NAMES */
    long *idx;              /* S_INDEXES */
    int n;
} seg_t;

typedef struct {
    seg_t *segs;
    int n, cap;
} jp_t;

static void jp_free(jp_t *jp)
{
    for (int i = 0; i < jp->n; i++) {
        seg_t *s = &jp->segs[i];
        free(s->name);
        for (int j = 0; s->names && j < s->n; j++)
            free(s->names[j]);
        free(s->names);
        free(s->idx);
    }
    free(jp->segs);
}

static seg_t *jp_add(jp_t *jp, seg_kind_t k, bool deep)
{
    if (jp->n == jp->cap) {
        jp->cap = jp->cap ? jp->cap * 2 : 8;
        seg_t *n = sfn_xmalloc(sizeof(seg_t) * (size_t)jp->cap);
        if (jp->segs)
            memcpy(n, jp->segs, sizeof(seg_t) * (size_t)jp->n);
        free(jp->segs);
        jp->segs = n;
    }
    seg_t *s = &jp->segs[jp->n++];
    memset(s, 0, sizeof *s);
    s->kind = k;
    s->deep = deep;
    return s;
}

static char *parse_quoted(const char **pp)
{
    const char *p = *pp;
    char q = *p++;
    size_t cap = strlen(p) + 1, n = 0;
    char *out = sfn_xmalloc(cap);
    while (*p && *p != q) {
        if (*p == '\\' && (p[1] == q || p[1] == '\\')) /* other backslashes are literal */
            p++;
        out[n++] = *p++;
    }
    out[n] = 0;
    if (*p != q) {
        free(out);
        return NULL;
    }
    *pp = p + 1;
    return out;
}

static bool parse_long(const char **pp, long *out)
{
    const char *p = *pp;
    while (*p == ' ')
        p++;
    char *end;
    if (!(isdigit((unsigned char)*p) || (*p == '-' && isdigit((unsigned char)p[1]))))
        return false;
    *out = strtol(p, &end, 10);
    while (*end == ' ')
        end++;
    *pp = end;
    return true;
}

static bool parse_filter(jp_t *jp, const char **pp, bool deep)
{
    const char *p = *pp + 2; /* after "[?" */
    if (*p != '(')
        return false;
    const char *start = p + 1;
    int depth = 0;
    char q = 0;
    for (; *p; p++) {
        if (q) {
            if (*p == '\\' && p[1])
                p++;
            else if (*p == q)
                q = 0;
            continue;
        }
        if (*p == '\'' || *p == '"')
            q = *p;
        else if (*p == '(')
            depth++;
        else if (*p == ')' && --depth == 0)
            break;
    }
    if (*p != ')' || p[1] != ']')
        return false;
    seg_t *s = jp_add(jp, S_FILTER, deep);
    s->name = strndup(start, (size_t)(p - start));
    *pp = p + 2;
    return true;
}

static bool parse_bracket_names(jp_t *jp, const char **pp, bool deep)
{
    const char *p = *pp + 1;
    char **names = NULL;
    int n = 0;
    for (;;) {
        while (*p == ' ')
            p++;
        if (*p != '\'' && *p != '"')
            goto fail;
        char *nm = parse_quoted(&p);
        if (!nm)
            goto fail;
        char **nn = realloc(names, sizeof(char *) * (size_t)(n + 1));
        if (!nn)
            abort();
        names = nn;
        names[n++] = nm;
        while (*p == ' ')
            p++;
        if (*p == ',') {
            p++;
            continue;
        }
        if (*p == ']')
            break;
        goto fail;
    }
    seg_t *s = jp_add(jp, n == 1 ? S_NAME : S_NAMES, deep);
    if (n == 1) {
        s->name = names[0];
        free(names);
    } else {
        s->names = names;
        s->n = n;
    }
    *pp = p + 1;
    return true;
fail:
    for (int i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return false;
}

static bool parse_bracket_numbers(jp_t *jp, const char **pp, bool deep)
{
    const char *p = *pp + 1;
    long v[3] = {0, 0, 1};
    bool has[3] = {false, false, false};
    int part = 0;
    long *list = NULL;
    int n = 0;
    for (;;) {
        long x;
        if (parse_long(&p, &x)) {
            v[part] = x;
            has[part] = true;
        }
        if (*p == ':' && part < 2 && n == 0) {
            part++;
            p++;
            continue;
        }
        if (*p == ',' && part == 0 && has[0]) {
            long *nl = realloc(list, sizeof(long) * (size_t)(n + 1));
            if (!nl)
                abort();
            list = nl;
            list[n++] = v[0];
            has[0] = false;
            p++;
            continue;
        }
        break;
    }
    if (*p != ']')
        goto fail;
    if (n > 0) {
        if (!has[0])
            goto fail;
        long *nl = realloc(list, sizeof(long) * (size_t)(n + 1));
        if (!nl)
            abort();
        list = nl;
        list[n++] = v[0];
        seg_t *s = jp_add(jp, S_INDEXES, deep);
        s->idx = list;
        s->n = n;
    } else if (part == 0) {
        if (!has[0])
            goto fail;
        jp_add(jp, S_INDEX, deep)->a = v[0];
    } else {
        if (part == 2 && has[2] && v[2] == 0)
            goto fail;
        seg_t *s = jp_add(jp, S_SLICE, deep);
        s->a = v[0];
        s->b = v[1];
        s->c = has[2] ? v[2] : 1;
        s->has_a = has[0];
        s->has_b = has[1];
    }
    *pp = p + 1;
    return true;
fail:
    free(list);
    return false;
}

static bool parse_bracket(jp_t *jp, const char **pp, bool deep)
{
    const char *p = *pp;
    const char *q = p + 1;
    while (*q == ' ')
        q++;
    if (*q == '*') {
        q++;
        while (*q == ' ')
            q++;
        if (*q != ']')
            return false;
        jp_add(jp, S_WILD, deep);
        *pp = q + 1;
        return true;
    }
    if (*q == '?')
        return parse_filter(jp, pp, deep);
    if (*q == '\'' || *q == '"')
        return parse_bracket_names(jp, pp, deep);
    return parse_bracket_numbers(jp, pp, deep);
}

static bool parse_dot_name(jp_t *jp, const char **pp, bool deep)
{
    const char *p = *pp;
    if (*p == '*') {
        jp_add(jp, S_WILD, deep);
        *pp = p + 1;
        return true;
    }
    const char *start = p;
    while (*p && *p != '.' && *p != '[')
        p++;
    if (p == start)
        return false;
    jp_add(jp, S_NAME, deep)->name = strndup(start, (size_t)(p - start));
    *pp = p;
    return true;
}

/* path must start with '$' (a single one: callers strip the context '$'). */
static bool jp_parse(const char *path, jp_t *jp)
{
    memset(jp, 0, sizeof *jp);
    const char *p = path;
    if (*p != '$')
        return false;
    p++;
    while (*p) {
        bool ok;
        if (p[0] == '.' && p[1] == '.') {
            p += 2;
            ok = *p == '[' ? parse_bracket(jp, &p, true) : parse_dot_name(jp, &p, true);
        } else if (*p == '.') {
            p++;
            ok = parse_dot_name(jp, &p, false);
        } else if (*p == '[') {
            ok = parse_bracket(jp, &p, false);
        } else {
            ok = false;
        }
        if (!ok) {
            jp_free(jp);
            memset(jp, 0, sizeof *jp);
            return false;
        }
    }
    return true;
}

static bool jp_definite(const jp_t *jp)
{
    for (int i = 0; i < jp->n; i++)
        if (jp->segs[i].deep || (jp->segs[i].kind != S_NAME && jp->segs[i].kind != S_INDEX))
            return false;
    return true;
}

/* "$name..." refers to a variable (Assign); "$$" to the context object. */
static bool is_var_ref(const char *path)
{
    return path[0] == '$' && (isalpha((unsigned char)path[1]) || path[1] == '_');
}

/* The path with its root ("$", "$$" or "$name") replaced by "$", or NULL. */
static char *rooted(const char *path)
{
    if (!path || path[0] != '$')
        return NULL;
    if (path[1] == '$')
        return sfn_xstrdup(path + 1);
    if (!is_var_ref(path))
        return sfn_xstrdup(path);
    size_t n = 1;
    while (path[n] && path[n] != '.' && path[n] != '[') {
        if (!isalnum((unsigned char)path[n]) && path[n] != '_')
            return NULL;
        n++;
    }
    return sfn_printf("$%s", path + n);
}

bool sfn_jp_valid(const char *path)
{
    char *p = rooted(path);
    jp_t jp;
    bool ok = p && jp_parse(p, &jp);
    if (ok)
        jp_free(&jp);
    /* Script expressions ("$[(@.length-1)]") are valid JSONPath (Jayway
     * accepts them) though this engine does not evaluate them. */
    if (!ok && p && strstr(p, "[(") && strstr(p, ")]"))
        ok = true;
    free(p);
    return ok;
}

bool sfn_jp_is_reference(const char *path)
{
    jp_t jp;
    char *rp = rooted(path);
    const char *p = rp;
    bool parsed = p && jp_parse(p, &jp);
    free(rp);
    if (!parsed)
        return false;
    bool d = jp_definite(&jp);
    jp_free(&jp);
    return d;
}

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
        char *sub = sfn_printf("$%.*s", (int)(p - start), start);
        json_t *out = NULL;
        if (sfn_jp_query(sub, base, &out, NULL) == JP_OK)
            *v = out;
        free(sub);
        x->p = p;
        return true;
    }
    if (*p == '\'' || *p == '"') {
        char *s = parse_quoted(&x->p);
        if (!s)
            return false;
        *v = json_string(s);
        free(s);
        return true;
    }
    const char *start = p;
    while (*p && !strchr(" =!<>&|)", *p))
        p++;
    json_t *lit = sfn_loads_any(start, (size_t)(p - start));
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
        *where = sfn_printf("%s['%s']", w, s->name);
    else
        *where = sfn_printf("%s[%ld]", w, s->a);
    free(w);
}

jp_rc_t sfn_jp_query(const char *path, const json_t *doc, json_t **out, char **where)
{
    jp_t jp;
    *out = NULL;
    if (where)
        *where = NULL;
    if (!path || !jp_parse(path, &jp))
        return JP_SYNTAX;
    bool definite = jp_definite(&jp);
    char *w = sfn_xstrdup("$");
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
    jp_free(&jp);
    return rc;
}

char *sfn_jp_normalize(const char *path)
{
    jp_t jp;
    if (!jp_parse(path, &jp))
        return sfn_xstrdup(path);
    char *w = sfn_xstrdup("$");
    for (int i = 0; i < jp.n; i++)
        if (jp.segs[i].kind == S_NAME || jp.segs[i].kind == S_INDEX)
            where_append(&w, &jp.segs[i]);
    jp_free(&jp);
    return w;
}

int sfn_jp_set(json_t **doc, const char *path, json_t *value, char **err)
{
    jp_t jp;
    *err = NULL;
    if (!jp_parse(path, &jp) || !jp_definite(&jp)) {
        *err = sfn_printf("Invalid path '%s'", path);
        json_decref(value);
        return -1;
    }
    if (jp.n == 0) {
        json_decref(*doc);
        *doc = value;
        jp_free(&jp);
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
            char *where = sfn_jp_normalize(path);
            *err = sfn_printf("Invalid path '%s' : Missing property in path %s", path, where);
            free(where);
            rc = -1;
            break;
        }
    }
    json_decref(value);
    jp_free(&jp);
    return rc;
}


static int var_eval(const char *path, const json_t *ctx, json_t **out, char **err)
{
    size_t n = 1;
    while (path[n] && path[n] != '.' && path[n] != '[')
        n++;
    char *name = strndup(path + 1, n - 1);
    const json_t *v = json_object_get(json_object_get(ctx, SFN_VARS_KEY), name);
    if (!v) {
        *err = sfn_printf("Invalid path '%s' : variable '%s' is not defined", path, name);
        free(name);
        return -1;
    }
    free(name);
    char *rest = sfn_printf("$%s", path + n);
    char *where = NULL;
    jp_rc_t rc = sfn_jp_query(rest, v, out, &where);
    if (rc != JP_OK)
        *err = rc == JP_SYNTAX ? sfn_printf("invalid path '%s'", path)
                               : sfn_printf("Invalid path '%s' : No results for path: %s", path, where);
    free(where);
    free(rest);
    return rc == JP_OK ? 0 : -1;
}

int sy_sfn_path_eval(const char *path, const json_t *doc, const json_t *ctx, json_t **out, char **err)
{
    *out = NULL;
    *err = NULL;
    if (!path || path[0] != '$') {
        *err = sfn_printf("invalid path '%s'", path ? path : "");
        return -1;
    }
    if (is_var_ref(path))
        return var_eval(path, ctx, out, err);
    bool context = path[1] == '$';
    char *where = NULL;
    jp_rc_t rc = sfn_jp_query(context ? path + 1 : path, context ? ctx : doc, out, &where);
    if (rc == JP_OK) {
        if (context && json_is_object(*out) && json_object_get(*out, SFN_VARS_KEY)) {
            json_t *c = json_deep_copy(*out); /* variables are not part of $$ */
            json_object_del(c, SFN_VARS_KEY);
            json_decref(*out);
            *out = c;
        }
        return 0;
    }
    if (rc == JP_SYNTAX)
        *err = sfn_printf("invalid path '%s'", path);
    else {
        char *full = sfn_jp_normalize(context ? path + 1 : path);
        if (!strcmp(full, where))
            *err = sfn_printf("Invalid path '%s' : No results for path: %s", path, where);
        else
            *err = sfn_printf("Invalid path '%s' : Missing property in path %s", path, where);
        free(full);
    }
    free(where);
    return -1;
}
