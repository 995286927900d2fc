/* asl/jsonpath_parse.c - JSONPath parsing, AWS's subset: $, .name,
 * ['name'], [n], [a:b:c], [*], .*, .., unions [0,1] / ['a','b'] and filters
 * [?(@.x > 1)]; evaluation is in jsonpath.c. */
#include "asl/internal.h"

#include <ctype.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

void asl_jp_tree_free(jp_t *jp)
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
        seg_t *n = sy_malloc(sizeof(seg_t) * (size_t)jp->cap);
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

char *asl_jp_parse_quoted(const char **pp)
{
    const char *p = *pp;
    char q = *p++;
    size_t cap = strlen(p) + 1, n = 0;
    char *out = sy_malloc(cap);
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
        char *nm = asl_jp_parse_quoted(&p);
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
bool asl_jp_tree_parse(const char *path, jp_t *jp)
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
            asl_jp_tree_free(jp);
            memset(jp, 0, sizeof *jp);
            return false;
        }
    }
    return true;
}

bool asl_jp_tree_definite(const jp_t *jp)
{
    for (int i = 0; i < jp->n; i++)
        if (jp->segs[i].deep || (jp->segs[i].kind != S_NAME && jp->segs[i].kind != S_INDEX))
            return false;
    return true;
}

/* "$name..." refers to a variable (Assign); "$$" to the context object. */
bool asl_jp_is_var_ref(const char *path)
{
    return path[0] == '$' && (isalpha((unsigned char)path[1]) || path[1] == '_');
}

/* The path with its root ("$", "$$" or "$name") replaced by "$", or NULL. */
char *asl_jp_rooted(const char *path)
{
    if (!path || path[0] != '$')
        return NULL;
    if (path[1] == '$')
        return sy_strdup(path + 1);
    if (!asl_jp_is_var_ref(path))
        return sy_strdup(path);
    size_t n = 1;
    while (path[n] && path[n] != '.' && path[n] != '[') {
        if (!isalnum((unsigned char)path[n]) && path[n] != '_')
            return NULL;
        n++;
    }
    return sy_asprintf("$%s", path + n);
}

bool asl_jp_valid(const char *path)
{
    char *p = asl_jp_rooted(path);
    jp_t jp;
    bool ok = p && asl_jp_tree_parse(p, &jp);
    if (ok)
        asl_jp_tree_free(&jp);
    /* Script expressions ("$[(@.length-1)]") are valid JSONPath (Jayway
     * accepts them) though this engine does not evaluate them. */
    if (!ok && p && strstr(p, "[(") && strstr(p, ")]"))
        ok = true;
    free(p);
    return ok;
}

bool asl_jp_is_reference(const char *path)
{
    jp_t jp;
    char *rp = asl_jp_rooted(path);
    const char *p = rp;
    bool parsed = p && asl_jp_tree_parse(p, &jp);
    free(rp);
    if (!parsed)
        return false;
    bool d = asl_jp_tree_definite(&jp);
    asl_jp_tree_free(&jp);
    return d;
}
