/* asl/jsonata/ast.c — the reference parser's second stage (processAST):
 * '.' chains become path steps, predicates become stages, grouping and
 * order-by attach to steps, '@'/'#' mark tuple steps, '%' parent references
 * get their slots, tail calls become thunks. */
#include "internal.h"

#include "../../core/core.h"

#include <setjmp.h>
#include <stdio.h>
#include <string.h>

typedef struct {
    jn_arena *a;
    jn_err *e;
    jmp_buf *jb;
    int label, index;
} A;

static _Noreturn void aerr(A *s, const char *code, int position, const char *token) {
    snprintf(s->e->code, sizeof s->e->code, "%s", code);
    s->e->position = position;
    if (token) s->e->token = sy_strdup(token);
    longjmp(*s->jb, 1);
}

static void push_node(A *s, jn_node ***v, int *n, jn_node *x) {
    jn_node **nv = jn_aalloc(s->a, (*n + 1) * sizeof *nv);
    if (*n) memcpy(nv, *v, *n * sizeof *nv);
    nv[(*n)++] = x;
    *v = nv;
}

static void push_slot(A *s, jn_slot ***v, int *n, jn_slot *x) {
    jn_slot **nv = jn_aalloc(s->a, (*n + 1) * sizeof *nv);
    if (*n) memcpy(nv, *v, *n * sizeof *nv);
    nv[(*n)++] = x;
    *v = nv;
}

static void push_stage(A *s, jn_stage **v, int *n, jn_stage x) {
    jn_stage *nv = jn_aalloc(s->a, (*n + 1) * sizeof *nv);
    if (*n) memcpy(nv, *v, *n * sizeof *nv);
    nv[(*n)++] = x;
    *v = nv;
}

static jn_node *copy(A *s, const jn_node *n) {
    jn_node *r = jn_aalloc(s->a, sizeof *r);
    *r = *n;
    return r;
}

static const char *type_name(const jn_node *n) {
    switch (n->type) {
    case N_PATH: return "path";
    case N_BINARY: return "binary";
    case N_NEG:
    case N_ARRAY:
    case N_OBJECT: return "unary";
    case N_NAME: return "name";
    case N_STRING: return "string";
    case N_NUMBER: return "number";
    case N_VALUE: return "value";
    case N_WILDCARD: return "wildcard";
    case N_DESCENDANT: return "descendant";
    case N_PARENT: return "parent";
    case N_CONDITION: return "condition";
    case N_BLOCK: return "block";
    case N_BIND: return "bind";
    case N_REGEX: return "regex";
    case N_FUNCTION: return "function";
    case N_PARTIAL: return "partial";
    case N_VARIABLE: return "variable";
    case N_LAMBDA: return "lambda";
    case N_APPLY: return "apply";
    case N_SORT: return "sort";
    case N_TRANSFORM: return "transform";
    default: return "operator";
    }
}

static jn_slot *seek_parent(A *s, jn_node *node, jn_slot *slot) {
    switch (node->type) {
    case N_NAME:
    case N_WILDCARD:
        slot->level--;
        if (slot->level == 0) {
            if (node->ancestor) memcpy(slot->label, node->ancestor->label, sizeof slot->label);
            node->ancestor = slot;
            node->tuple = true;
        }
        break;
    case N_PARENT: slot->level++; break;
    case N_BLOCK:
        if (node->nitems > 0) {
            node->tuple = true;
            slot = seek_parent(s, node->items[node->nitems - 1], slot);
        }
        break;
    case N_PATH: {
        node->tuple = true;
        int index = node->nitems - 1;
        slot = seek_parent(s, node->items[index--], slot);
        while (slot->level > 0 && index >= 0) slot = seek_parent(s, node->items[index--], slot);
        break;
    }
    default: aerr(s, "S0217", node->position, type_name(node));
    }
    return slot;
}

static void push_ancestry(A *s, jn_node *result, jn_node *value) {
    if (!value) return;
    if (value->nseeking > 0 || value->type == N_PARENT) {
        jn_slot **slots = value->seeking;
        int n = value->nseeking;
        if (value->type == N_PARENT) push_slot(s, &slots, &n, value->slot);
        for (int i = 0; i < n; i++) push_slot(s, &result->seeking, &result->nseeking, slots[i]);
    }
}

static void resolve_ancestry(A *s, jn_node *path) {
    int index = path->nitems - 1;
    jn_node *last = path->items[index];
    jn_slot **slots = last->seeking;
    int n = last->nseeking;
    if (last->type == N_PARENT) push_slot(s, &slots, &n, last->slot);
    for (int is = 0; is < n; is++) {
        jn_slot *slot = slots[is];
        index = path->nitems - 2;
        while (slot->level > 0) {
            if (index < 0) {
                push_slot(s, &path->seeking, &path->nseeking, slot);
                break;
            }
            jn_node *step = path->items[index--];
            while (index >= 0 && step->focus && path->items[index]->focus) step = path->items[index--];
            slot = seek_parent(s, step, slot);
        }
    }
}

static jn_node *tail_call(A *s, jn_node *e) {
    if (e->type == N_FUNCTION && e->npreds == 0) {
        jn_node *t = jn_aalloc(s->a, sizeof *t);
        t->type = N_LAMBDA;
        t->thunk = true;
        t->position = e->position;
        t->body = e;
        return t;
    }
    if (e->type == N_CONDITION) {
        e->then = tail_call(s, e->then);
        if (e->els) e->els = tail_call(s, e->els);
        return e;
    }
    if (e->type == N_BLOCK && e->nitems > 0) e->items[e->nitems - 1] = tail_call(s, e->items[e->nitems - 1]);
    return e;
}

static bool is_op(const jn_node *n, const char *op) { return n->value && strcmp(n->value, op) == 0; }

static jn_node *process(A *s, jn_node *expr);

static jn_group *process_pairs(A *s, jn_group *g, jn_node *anc) {
    jn_group *r = jn_aalloc(s->a, sizeof *r);
    r->n = g->n;
    r->position = g->position;
    r->keys = jn_aalloc(s->a, (g->n + 1) * sizeof(jn_node *));
    r->vals = jn_aalloc(s->a, (g->n + 1) * sizeof(jn_node *));
    for (int i = 0; i < g->n; i++) {
        r->keys[i] = process(s, g->keys[i]);
        if (anc) push_ancestry(s, anc, r->keys[i]);
        r->vals[i] = process(s, g->vals[i]);
        if (anc) push_ancestry(s, anc, r->vals[i]);
    }
    return r;
}

static jn_node *process_binary(A *s, jn_node *expr) {
    jn_node *result;
    const char *op = expr->value;
    if (is_op(expr, ".")) {
        jn_node *lstep = process(s, expr->lhs);
        if (lstep->type == N_PATH) result = lstep;
        else {
            result = jn_aalloc(s->a, sizeof *result);
            result->type = N_PATH;
            result->position = lstep->position;
            push_node(s, &result->items, &result->nitems, lstep);
        }
        if (lstep->type == N_PARENT) {
            result->seeking = NULL;
            result->nseeking = 0;
            push_slot(s, &result->seeking, &result->nseeking, lstep->slot);
        }
        jn_node *rest = process(s, expr->rhs);
        if (rest->type == N_PATH) {
            for (int i = 0; i < rest->nitems; i++) push_node(s, &result->items, &result->nitems, rest->items[i]);
        } else {
            if (rest->npreds) {
                rest->stages = rest->preds;
                rest->nstages = rest->npreds;
                rest->preds = NULL;
                rest->npreds = 0;
            }
            push_node(s, &result->items, &result->nitems, rest);
        }
        for (int i = 0; i < result->nitems; i++) {
            jn_node *st = result->items[i];
            if (st->type == N_NUMBER || st->type == N_VALUE) {
                snprintf(s->e->code, sizeof s->e->code, "S0213");
                s->e->position = st->position;
                s->e->value = jv_ref(st->lit);
                longjmp(*s->jb, 1);
            }
            if (st->type == N_STRING) st->type = N_NAME;
        }
        for (int i = 0; i < result->nitems; i++)
            if (result->items[i]->keep_array) result->keep_singleton = true;
        jn_node *first = result->items[0];
        if (first->type == N_ARRAY) first->consarray = true;
        jn_node *last = result->items[result->nitems - 1];
        if (last->type == N_ARRAY) last->consarray = true;
        resolve_ancestry(s, result);
        return result;
    }
    if (is_op(expr, "[")) {
        result = process(s, expr->lhs);
        jn_node *step = result;
        bool stages = false;
        if (result->type == N_PATH) {
            step = result->items[result->nitems - 1];
            stages = true;
        }
        if (step->group) aerr(s, "S0209", expr->position, NULL);
        jn_node *pred = process(s, expr->rhs);
        if (pred->nseeking) {
            for (int i = 0; i < pred->nseeking; i++) {
                jn_slot *slot = pred->seeking[i];
                if (slot->level == 1) seek_parent(s, step, slot);
                else slot->level--;
            }
            push_ancestry(s, step, pred);
        }
        jn_stage st = {.type = 0, .expr = pred, .position = expr->position};
        if (stages) push_stage(s, &step->stages, &step->nstages, st);
        else push_stage(s, &step->preds, &step->npreds, st);
        return result;
    }
    if (is_op(expr, "{")) {
        result = process(s, expr->lhs);
        if (result->group) aerr(s, "S0210", expr->position, NULL);
        result->group = process_pairs(s, expr->obj, NULL);
        result->group->position = expr->position;
        return result;
    }
    if (is_op(expr, "^")) {
        result = process(s, expr->lhs);
        if (result->type != N_PATH) {
            jn_node *p = jn_aalloc(s->a, sizeof *p);
            p->type = N_PATH;
            p->position = result->position;
            push_node(s, &p->items, &p->nitems, result);
            result = p;
        }
        jn_node *sort = jn_aalloc(s->a, sizeof *sort);
        sort->type = N_SORT;
        sort->position = expr->position;
        sort->nterms = expr->nterms;
        sort->desc = expr->desc;
        sort->terms = jn_aalloc(s->a, (expr->nterms + 1) * sizeof(jn_node *));
        for (int i = 0; i < expr->nterms; i++) {
            sort->terms[i] = process(s, expr->terms[i]);
            push_ancestry(s, sort, sort->terms[i]);
        }
        push_node(s, &result->items, &result->nitems, sort);
        resolve_ancestry(s, result);
        return result;
    }
    if (is_op(expr, ":=")) {
        result = copy(s, expr);
        result->type = N_BIND;
        result->seeking = NULL;
        result->nseeking = 0;
        result->lhs = process(s, expr->lhs);
        result->rhs = process(s, expr->rhs);
        push_ancestry(s, result, result->rhs);
        return result;
    }
    if (is_op(expr, "@")) {
        result = process(s, expr->lhs);
        jn_node *step = result;
        if (result->type == N_PATH) step = result->items[result->nitems - 1];
        if (step->nstages || step->npreds) aerr(s, "S0215", expr->position, NULL);
        if (step->type == N_SORT) aerr(s, "S0216", expr->position, NULL);
        if (expr->keep_array) step->keep_array = true;
        step->focus = expr->rhs->value;
        step->tuple = true;
        return result;
    }
    if (is_op(expr, "#")) {
        result = process(s, expr->lhs);
        jn_node *step = result;
        if (result->type == N_PATH) step = result->items[result->nitems - 1];
        else {
            jn_node *p = jn_aalloc(s->a, sizeof *p);
            p->type = N_PATH;
            p->position = result->position;
            push_node(s, &p->items, &p->nitems, result);
            result = p;
            if (step->npreds) {
                step->stages = step->preds;
                step->nstages = step->npreds;
                step->preds = NULL;
                step->npreds = 0;
            }
        }
        if (step->nstages == 0) step->index = expr->rhs->value;
        else {
            jn_stage st = {.type = 1, .var = expr->rhs->value, .position = expr->position};
            push_stage(s, &step->stages, &step->nstages, st);
        }
        step->tuple = true;
        return result;
    }
    if (is_op(expr, "~>")) {
        result = copy(s, expr);
        result->type = N_APPLY;
        result->lhs = process(s, expr->lhs);
        result->rhs = process(s, expr->rhs);
        result->keep_array = result->lhs->keep_array || result->rhs->keep_array;
        return result;
    }
    (void)op;
    result = copy(s, expr);
    result->seeking = NULL;
    result->nseeking = 0;
    result->lhs = process(s, expr->lhs);
    result->rhs = process(s, expr->rhs);
    push_ancestry(s, result, result->lhs);
    push_ancestry(s, result, result->rhs);
    return result;
}

static jn_node *process(A *s, jn_node *expr) {
    jn_node *result;
    switch (expr->type) {
    case N_BINARY: result = process_binary(s, expr); break;
    case N_ARRAY:
        result = copy(s, expr);
        result->items = jn_aalloc(s->a, (expr->nitems + 1) * sizeof(jn_node *));
        for (int i = 0; i < expr->nitems; i++) {
            result->items[i] = process(s, expr->items[i]);
            push_ancestry(s, result, result->items[i]);
        }
        break;
    case N_OBJECT:
        result = copy(s, expr);
        result->obj = process_pairs(s, expr->obj, result);
        break;
    case N_NEG:
        result = copy(s, expr);
        result->lhs = process(s, expr->lhs);
        if (result->lhs->type == N_NUMBER) {
            result = result->lhs;
            result->lit.n = -result->lit.n;
        } else {
            push_ancestry(s, result, result->lhs);
        }
        break;
    case N_FUNCTION:
    case N_PARTIAL:
        result = copy(s, expr);
        result->items = jn_aalloc(s->a, (expr->nitems + 1) * sizeof(jn_node *));
        for (int i = 0; i < expr->nitems; i++) {
            result->items[i] = process(s, expr->items[i]);
            push_ancestry(s, result, result->items[i]);
        }
        result->procedure = process(s, expr->procedure);
        break;
    case N_LAMBDA: {
        result = copy(s, expr);
        jn_node *body = process(s, expr->body);
        result->body = tail_call(s, body);
        break;
    }
    case N_CONDITION:
        result = copy(s, expr);
        result->cond = process(s, expr->cond);
        push_ancestry(s, result, result->cond);
        result->then = process(s, expr->then);
        push_ancestry(s, result, result->then);
        if (expr->els) {
            result->els = process(s, expr->els);
            push_ancestry(s, result, result->els);
        }
        break;
    case N_TRANSFORM:
        result = copy(s, expr);
        result->pattern = process(s, expr->pattern);
        result->update = process(s, expr->update);
        if (expr->del) result->del = process(s, expr->del);
        break;
    case N_BLOCK:
        result = copy(s, expr);
        result->items = jn_aalloc(s->a, (expr->nitems + 1) * sizeof(jn_node *));
        for (int i = 0; i < expr->nitems; i++) {
            jn_node *part = process(s, expr->items[i]);
            push_ancestry(s, result, part);
            if (part->consarray || (part->type == N_PATH && part->items[0]->consarray)) result->consarray = true;
            result->items[i] = part;
        }
        break;
    case N_NAME:
        result = jn_aalloc(s->a, sizeof *result);
        result->type = N_PATH;
        result->position = expr->position;
        push_node(s, &result->items, &result->nitems, expr);
        if (expr->keep_array) result->keep_singleton = true;
        break;
    case N_PARENT: {
        result = copy(s, expr);
        jn_slot *slot = jn_aalloc(s->a, sizeof *slot);
        snprintf(slot->label, sizeof slot->label, "!%d", s->label++);
        slot->level = 1;
        slot->index = s->index++;
        result->slot = slot;
        break;
    }
    case N_STRING:
    case N_NUMBER:
    case N_VALUE:
    case N_WILDCARD:
    case N_DESCENDANT:
    case N_VARIABLE:
    case N_REGEX:
    case N_HOLE: result = expr; break;
    case N_OPERATOR:
        expr->type = N_NAME;
        {
            jn_node *nm = copy(s, expr);
            size_t l = strlen(expr->value);
            jn_str *p = jn_aalloc(s->a, sizeof(jn_str) + l + 1);
            p->rc = -1;
            p->len = (uint32_t)l;
            memcpy(p->s, expr->value, l);
            nm->lit.t = JT_STR;
            nm->lit.s = p;
            result = process(s, nm);
        }
        break;
    default: aerr(s, "S0206", expr->position, expr->value);
    }
    if (expr->keep_array) result->keep_array = true;
    return result;
}

jn_node *jn_process(jn_arena *a, jn_node *raw, jn_err *e, jmp_buf *jb) {
    A s = {.a = a, .e = e, .jb = jb};
    jn_node *r = process(&s, raw);
    if (r->type == N_PARENT || r->nseeking > 0) aerr(&s, "S0217", r->position, type_name(r));
    return r;
}
