/* asl/jsonata/refs.c — sy_jsonata_references: what an expression reads, from
 * the processed AST (no evaluation), for the ASL validator: free variables
 * (not bound by a lambda parameter or an earlier := in an enclosing block),
 * the fields read from $states, whether it binds $states, and whether it
 * reads the input document at the top level ($, $$ or a bare field name
 * outside any path step after the first, predicate or lambda body). */
#include "internal.h"

#include "../../core/core.h"

#include <string.h>


typedef struct scope {
    struct scope *up;
    const char **names;
    int n, cap;
} scope;

typedef struct {
    json_t *vars, *fields;
    bool assigns_states, top_input;
} R;

static bool bound(scope *s, const char *name) {
    for (; s; s = s->up)
        for (int i = 0; i < s->n; i++)
            if (strcmp(s->names[i], name) == 0) return true;
    return false;
}

static void bind(scope *s, const char *name) {
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 8;
        s->names = sy_realloc(s->names, s->cap * sizeof(char *));
    }
    s->names[s->n++] = name;
}

static void add_unique(json_t *arr, const char *v) {
    size_t i;
    json_t *x;
    json_array_foreach(arr, i, x) {
        if (strcmp(json_string_value(x), v) == 0) return;
    }
    json_array_append_new(arr, json_string(v));
}

static void walk(R *r, const jn_node *n, scope *s, bool top);

static void walk_group(R *r, const jn_group *g, scope *s, bool top) {
    if (!g) return;
    for (int i = 0; i < g->n; i++) {
        walk(r, g->keys[i], s, top);
        walk(r, g->vals[i], s, top);
    }
}

static void walk_stages(R *r, const jn_stage *st, int n, scope *s) {
    for (int i = 0; i < n; i++)
        if (st[i].expr) walk(r, st[i].expr, s, false);
}

static void var_read(R *r, const char *name, scope *s, bool top) {
    if (name[0] == 0 || strcmp(name, "$") == 0) {
        if (top) r->top_input = true;
        return;
    }
    if (!bound(s, name)) add_unique(r->vars, name);
}

static void walk(R *r, const jn_node *n, scope *s, bool top) {
    if (!n) return;
    switch (n->type) {
    case N_PATH:
        for (int i = 0; i < n->nitems; i++) {
            const jn_node *st = n->items[i];
            if (i == 1 && n->items[0]->type == N_VARIABLE && strcmp(n->items[0]->value, "states") == 0 &&
                st->type == N_NAME && !bound(s, "states"))
                add_unique(r->fields, st->value);
            walk(r, st, s, top && i == 0);
        }
        break;
    case N_NAME:
    case N_WILDCARD:
    case N_DESCENDANT:
    case N_PARENT:
        if (top) r->top_input = true;
        break;
    case N_VARIABLE: var_read(r, n->value, s, top); break;
    case N_BINARY:
    case N_APPLY:
        walk(r, n->lhs, s, top);
        walk(r, n->rhs, s, top);
        break;
    case N_BIND:
        walk(r, n->rhs, s, top);
        if (strcmp(n->lhs->value, "states") == 0) r->assigns_states = true;
        bind(s, n->lhs->value);
        break;
    case N_NEG: walk(r, n->lhs, s, top); break;
    case N_ARRAY:
    case N_FUNCTION:
    case N_PARTIAL:
        for (int i = 0; i < n->nitems; i++) walk(r, n->items[i], s, top);
        if (n->procedure) walk(r, n->procedure, s, top);
        break;
    case N_BLOCK: {
        scope in = {.up = s};
        for (int i = 0; i < n->nitems; i++) walk(r, n->items[i], &in, top);
        free(in.names);
        break;
    }
    case N_OBJECT: walk_group(r, n->obj, s, top); break;
    case N_CONDITION:
        walk(r, n->cond, s, top);
        walk(r, n->then, s, top);
        walk(r, n->els, s, top);
        break;
    case N_LAMBDA: {
        scope in = {.up = s};
        for (int i = 0; i < n->nparams; i++) bind(&in, n->params[i]);
        walk(r, n->body, &in, false);
        free(in.names);
        break;
    }
    case N_SORT:
        for (int i = 0; i < n->nterms; i++) walk(r, n->terms[i], s, false);
        break;
    case N_TRANSFORM:
        walk(r, n->pattern, s, false);
        walk(r, n->update, s, false);
        walk(r, n->del, s, false);
        break;
    default: break;
    }
    walk_stages(r, n->stages, n->nstages, s);
    walk_stages(r, n->preds, n->npreds, s);
    walk_group(r, n->group, s, false);
}

json_t *sy_jsonata_references(const sy_jsonata_t *expr) {
    R r = {.vars = json_array(), .fields = json_array()};
    scope root = {0};
    if (expr && expr->root) walk(&r, expr->root, &root, true);
    free(root.names);
    return json_pack("{s:o, s:o, s:b, s:b}", "variables", r.vars, "states_fields", r.fields, "assigns_states",
                     r.assigns_states, "top_level_input", r.top_input);
}
