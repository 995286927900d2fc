/* asl/jsonata/parse.c — the JSONata Pratt parser (the reference's parser.js,
 * first stage): tokens (lex.c) to the raw tree that ast.c turns into path
 * steps. Errors leave through longjmp; every node is in the expression's
 * arena. */
#include "lex.h"

#include "../../core/core.h"

#include <math.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------- Pratt */
static int lbp_of(const tok *t) {
    if (t->type != T_OP) return 0;
    const char *id = t->id;
    static const struct { const char *op; int bp; } bps[] = {
        {".", 75}, {"[", 80}, {"{", 70}, {"(", 80}, {"@", 80}, {"#", 80}, {"?", 20}, {"+", 50}, {"-", 50},
        {"*", 60}, {"/", 60}, {"%", 60}, {"=", 40}, {"<", 40}, {">", 40}, {"^", 40}, {"!=", 40}, {"<=", 40},
        {">=", 40}, {"~>", 40}, {"and", 30}, {"or", 25}, {"in", 40}, {"&", 50}, {":=", 10}, {NULL, 0}};
    for (int i = 0; bps[i].op; i++)
        if (strcmp(bps[i].op, id) == 0) return bps[i].bp;
    return 0;
}

static bool known_op(const char *id) {
    /* operators with a symbol in the reference's table ('!' and '~' have none) */
    return id && strcmp(id, "!") != 0 && strcmp(id, "~") != 0;
}

static void advance(P *p, const char *id, bool infix) {
    if (id && p->t.id != id) {
        bool end = p->t.type == T_END;
        const char *tokv = p->t.type == T_OP ? p->t.id : p->t.s;
        size_t tl = tokv ? strlen(tokv) : 0;
        snprintf(p->e->code, sizeof p->e->code, "%s", end ? "S0203" : "S0202");
        p->e->position = p->t.position;
        if (end) p->e->token = sy_strdup("(end)");
        else if (tokv) p->e->token = sy_strndup(tokv, tl);
        p->e->value = jv_cstr(id);
        longjmp(p->jb, 1);
    }
    p->t = jn_lex(p, infix);
    if (p->t.type == T_END) p->t.position = (int)p->len;
    if (p->t.type == T_OP && !known_op(p->t.id))
        jn_perr(p, "S0204", p->t.position, p->t.id, strlen(p->t.id));
}

static jn_node *node(P *p, int type, const tok *t) {
    jn_node *n = jn_aalloc(p->a, sizeof *n);
    n->type = type;
    n->position = t ? t->position : 0;
    return n;
}

typedef struct {
    jn_node **v;
    int n, cap;
} nvec;

static void nv_push(P *p, nvec *v, jn_node *x) {
    if (v->n == v->cap) {
        int c = v->cap ? v->cap * 2 : 4;
        jn_node **nv = jn_aalloc(p->a, c * sizeof *nv);
        if (v->n) memcpy(nv, v->v, v->n * sizeof *nv);
        v->v = nv;
        v->cap = c;
    }
    v->v[v->n++] = x;
}

static jn_node *expression(P *p, int rbp);

static jn_group *object_pairs(P *p, int position) {
    jn_group *g = jn_aalloc(p->a, sizeof *g);
    g->position = position;
    nvec ks = {0}, vs = {0};
    if (p->t.id != (const char *)jn_intern_op("}", 1)) {
        for (;;) {
            nv_push(p, &ks, expression(p, 0));
            advance(p, jn_intern_op(":", 1), false);
            nv_push(p, &vs, expression(p, 0));
            if (p->t.id != jn_intern_op(",", 1)) break;
            advance(p, jn_intern_op(",", 1), false);
        }
    }
    advance(p, jn_intern_op("}", 1), true);
    g->keys = ks.v;
    g->vals = vs.v;
    g->n = ks.n;
    return g;
}

#define OP(s) jn_intern_op(s, sizeof(s) - 1)

static jn_node *nud(P *p, tok t) {
    jn_node *n;
    switch (t.type) {
    case T_NAME:
        n = node(p, N_NAME, &t);
        n->value = t.s;
        n->lit = jn_arena_str(p->a, t.s, t.slen);
        return n;
    case T_VAR:
        n = node(p, N_VARIABLE, &t);
        n->value = t.s;
        return n;
    case T_STR:
        n = node(p, N_STRING, &t);
        n->value = t.s;
        n->lit = jn_arena_str(p->a, t.s, t.slen);
        return n;
    case T_NUM:
        n = node(p, N_NUMBER, &t);
        n->lit = jv_num(t.num);
        return n;
    case T_VALUE:
        n = node(p, N_VALUE, &t);
        n->lit = t.lit;
        return n;
    case T_REGEX: {
        n = node(p, N_REGEX, &t);
        n->value = t.s;
        n->re_flags = t.flags;
        char eb[128];
        if (jn_regex_compile(t.s, t.slen, t.flags, &n->re, eb, sizeof eb) != 0)
            jn_perr(p, "S0303", t.position, t.s, t.slen);
        jn_arena_keep_regex(p->a, n->re);
        return n;
    }
    case T_END: jn_perr(p, "S0207", t.position, "(end)", 5);
    default: break;
    }
    const char *id = t.id;
    if (id == OP("-")) {
        n = node(p, N_NEG, &t);
        n->value = id;
        n->lhs = expression(p, 70);
        return n;
    }
    if (id == OP("*")) return node(p, N_WILDCARD, &t);
    if (id == OP("**")) return node(p, N_DESCENDANT, &t);
    if (id == OP("%")) return node(p, N_PARENT, &t);
    if (id == OP("and") || id == OP("or") || id == OP("in")) {
        n = node(p, N_OPERATOR, &t);
        n->value = id;
        return n;
    }
    if (id == OP("(")) {
        nvec v = {0};
        while (p->t.id != OP(")")) {
            nv_push(p, &v, expression(p, 0));
            if (p->t.id != OP(";")) break;
            advance(p, OP(";"), false);
        }
        advance(p, OP(")"), true);
        n = node(p, N_BLOCK, &t);
        n->items = v.v;
        n->nitems = v.n;
        return n;
    }
    if (id == OP("[")) {
        nvec v = {0};
        if (p->t.id != OP("]")) {
            for (;;) {
                jn_node *item = expression(p, 0);
                if (p->t.id == OP("..")) {
                    jn_node *r = node(p, N_BINARY, &p->t);
                    r->value = OP("..");
                    r->lhs = item;
                    advance(p, OP(".."), false);
                    r->rhs = expression(p, 0);
                    item = r;
                }
                nv_push(p, &v, item);
                if (p->t.id != OP(",")) break;
                advance(p, OP(","), false);
            }
        }
        advance(p, OP("]"), true);
        n = node(p, N_ARRAY, &t);
        n->value = OP("[");
        n->items = v.v;
        n->nitems = v.n;
        return n;
    }
    if (id == OP("{")) {
        n = node(p, N_OBJECT, &t);
        n->value = OP("{");
        n->obj = object_pairs(p, t.position);
        return n;
    }
    if (id == OP("|")) {
        n = node(p, N_TRANSFORM, &t);
        n->pattern = expression(p, 0);
        advance(p, OP("|"), false);
        n->update = expression(p, 0);
        if (p->t.id == OP(",")) {
            advance(p, OP(","), false);
            n->del = expression(p, 0);
        }
        advance(p, OP("|"), false);
        return n;
    }
    jn_perr(p, "S0211", t.position, id, strlen(id));
}

static jn_node *led(P *p, tok t, jn_node *left) {
    const char *id = t.id;
    jn_node *n = node(p, N_BINARY, &t);
    n->value = id;
    if (id == OP("(")) {
        n->type = N_FUNCTION;
        n->procedure = left;
        nvec args = {0};
        if (p->t.id != OP(")")) {
            for (;;) {
                if (p->t.type == T_OP && p->t.id == OP("?")) {
                    n->type = N_PARTIAL;
                    nv_push(p, &args, node(p, N_HOLE, &p->t));
                    advance(p, OP("?"), false);
                } else {
                    nv_push(p, &args, expression(p, 0));
                }
                if (p->t.id != OP(",")) break;
                advance(p, OP(","), false);
            }
        }
        advance(p, OP(")"), true);
        n->items = args.v;
        n->nitems = args.n;
        if (left->type == N_NAME && (strcmp(left->value, "function") == 0 || strcmp(left->value, "\xCE\xBB") == 0)) {
            for (int i = 0; i < args.n; i++) {
                if (args.v[i]->type != N_VARIABLE) {
                    snprintf(p->e->code, sizeof p->e->code, "S0208");
                    p->e->position = args.v[i]->position;
                    p->e->value = jv_num(i + 1);
                    if (args.v[i]->value) p->e->token = sy_strdup(args.v[i]->value);
                    longjmp(p->jb, 1);
                }
            }
            n->type = N_LAMBDA;
            n->nparams = args.n;
            n->params = jn_aalloc(p->a, (args.n + 1) * sizeof(char *));
            for (int i = 0; i < args.n; i++) n->params[i] = args.v[i]->value;
            if (p->t.id == OP("<")) {
                int sigpos = p->t.position;
                int depth = 1;
                char sig[512];
                size_t sl = 1;
                sig[0] = '<';
                while (depth > 0 && p->t.id != OP("{") && p->t.type != T_END) {
                    advance(p, NULL, false);
                    if (p->t.id == OP(">")) depth--;
                    else if (p->t.id == OP("<")) depth++;
                    const char *piece = p->t.type == T_OP ? p->t.id : p->t.s;
                    size_t pl = piece ? (p->t.type == T_OP ? strlen(piece) : p->t.slen) : 0;
                    if (sl + pl >= sizeof sig) jn_perr(p, "S0402", sigpos, NULL, 0);
                    memcpy(sig + sl, piece ? piece : "", pl);
                    sl += pl;
                }
                char *sigs = jn_astrdup(p->a, sig, sl);
                advance(p, OP(">"), false);
                int off = 0;
                char code[8] = "";
                n->sig = jn_sig_parse(p->a, sigs, &off, code);
                if (!n->sig) jn_perr(p, code, sigpos + off, NULL, 0);
            }
            advance(p, OP("{"), false);
            n->body = expression(p, 0);
            advance(p, OP("}"), false);
        }
        return n;
    }
    if (id == OP("[")) {
        if (p->t.id == OP("]")) {
            jn_node *step = left;
            while (step && step->type == N_BINARY && step->value == OP("[")) step = step->lhs;
            step->keep_array = true;
            advance(p, OP("]"), false);
            return left;
        }
        n->lhs = left;
        n->rhs = expression(p, 0);
        advance(p, OP("]"), true);
        return n;
    }
    if (id == OP("^")) {
        advance(p, OP("("), false);
        nvec terms = {0};
        bool *desc = NULL;
        int dcap = 0;
        for (;;) {
            bool d = false;
            if (p->t.id == OP("<")) advance(p, OP("<"), false);
            else if (p->t.id == OP(">")) {
                d = true;
                advance(p, OP(">"), false);
            }
            if (terms.n == dcap) {
                int nc = dcap ? dcap * 2 : 4;
                bool *nd = jn_aalloc(p->a, nc * sizeof(bool));
                if (dcap) memcpy(nd, desc, dcap * sizeof(bool));
                desc = nd;
                dcap = nc;
            }
            desc[terms.n] = d;
            nv_push(p, &terms, expression(p, 0));
            if (p->t.id != OP(",")) break;
            advance(p, OP(","), false);
        }
        advance(p, OP(")"), false);
        n->lhs = left;
        n->terms = terms.v;
        n->nterms = terms.n;
        n->desc = desc;
        return n;
    }
    if (id == OP("{")) {
        n->lhs = left;
        n->obj = object_pairs(p, t.position);
        return n;
    }
    if (id == OP(":=")) {
        if (left->type != N_VARIABLE) {
            char num[40];
            const char *tv = left->value;
            if (left->type == N_NUMBER) {
                jn_num_to_js(left->lit.n, num, sizeof num);
                tv = num;
            }
            jn_perr(p, "S0212", left->position, tv, tv ? strlen(tv) : 0);
        }
        n->lhs = left;
        n->rhs = expression(p, 9);
        return n;
    }
    if (id == OP("@") || id == OP("#")) {
        n->lhs = left;
        n->rhs = expression(p, 80);
        if (n->rhs->type != N_VARIABLE) jn_perr(p, "S0214", n->rhs->position, id, 1);
        return n;
    }
    if (id == OP("?")) {
        n->type = N_CONDITION;
        n->cond = left;
        n->then = expression(p, 0);
        if (p->t.id == OP(":")) {
            advance(p, OP(":"), false);
            n->els = expression(p, 0);
        }
        return n;
    }
    if (lbp_of(&t) == 0) jn_perr(p, "S0201", t.position, id ? id : "", id ? strlen(id) : 0);
    n->lhs = left;
    n->rhs = expression(p, lbp_of(&t));
    return n;
}

static jn_node *expression(P *p, int rbp) {
    if (++p->depth > 400) jn_perr(p, "U1001", p->t.position, NULL, 0);
    tok t = p->t;
    advance(p, NULL, true);
    jn_node *left = nud(p, t);
    while (rbp < lbp_of(&p->t)) {
        t = p->t;
        advance(p, NULL, false);
        left = led(p, t, left);
    }
    p->depth--;
    return left;
}

jn_node *jn_process(jn_arena *a, jn_node *raw, jn_err *e, jmp_buf *jb);

jn_node *jn_parse(jn_arena *a, const char *src, size_t len, jn_err *e) {
    P *p = sy_calloc(1, sizeof *p);
    p->a = a;
    p->src = src;
    p->len = len;
    p->e = e;
    jn_node *root = NULL;
    if (setjmp(p->jb) == 0) {
        advance(p, NULL, false);
        root = expression(p, 0);
        if (p->t.type != T_END) {
            const char *tv = p->t.type == T_OP ? p->t.id : p->t.s;
            jn_perr(p, "S0201", p->t.position, tv, tv ? strlen(tv) : 0);
        }
        root = jn_process(a, root, e, &p->jb);
    } else {
        root = NULL;
    }
    free(p);
    return root;
}
