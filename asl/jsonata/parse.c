/* asl/jsonata/parse.c — the JSONata tokenizer and Pratt parser (the
 * reference's parser.js, first stage): source text to the raw tree that
 * ast.c turns into path steps. Errors leave through longjmp; every node is
 * in the expression's arena. */
#include "internal.h"

#include "../../core/core.h"

#include <math.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------- arena */
struct jn_arena {
    struct chunk {
        struct chunk *next;
        size_t used, cap;
        _Alignas(16) char mem[];
    } *head;
    void **extra; /* regexes to free */
    size_t nextra;
};

jn_arena *jn_arena_new(void) { return sy_calloc(1, sizeof(jn_arena)); }

void *jn_aalloc(jn_arena *a, size_t n) {
    n = (n + 15) & ~(size_t)15;
    if (!a->head || a->head->used + n > a->head->cap) {
        size_t cap = n > 8192 ? n : 8192;
        struct chunk *c = sy_malloc(sizeof(struct chunk) + cap);
        c->next = a->head;
        c->used = 0;
        c->cap = cap;
        a->head = c;
    }
    void *p = a->head->mem + a->head->used;
    a->head->used += n;
    memset(p, 0, n);
    return p;
}

char *jn_astrdup(jn_arena *a, const char *s, size_t n) {
    char *p = jn_aalloc(a, n + 1);
    memcpy(p, s, n);
    p[n] = 0;
    return p;
}

static jv arena_str(jn_arena *a, const char *s, size_t n) {
    jn_str *p = jn_aalloc(a, sizeof(jn_str) + n + 1);
    p->rc = -1;
    p->len = (uint32_t)n;
    memcpy(p->s, s, n);
    p->s[n] = 0;
    jv v = {.t = JT_STR};
    v.s = p;
    return v;
}

static void arena_keep_regex(jn_arena *a, void *re) {
    a->extra = sy_realloc(a->extra, (a->nextra + 1) * sizeof(void *));
    a->extra[a->nextra++] = re;
}

void jn_arena_free(jn_arena *a) {
    if (!a) return;
    for (size_t i = 0; i < a->nextra; i++) jn_regex_free(a->extra[i]);
    free(a->extra);
    struct chunk *c = a->head;
    while (c) {
        struct chunk *n = c->next;
        free(c);
        c = n;
    }
    free(a);
}

/* ------------------------------------------------------------- lexer */
enum { T_END, T_NAME, T_VAR, T_OP, T_STR, T_NUM, T_VALUE, T_REGEX };

typedef struct {
    int type;
    const char *id; /* operator text or "(name)" ... */
    char *s;        /* name / variable / string / regex source */
    size_t slen;
    double num;
    jv lit;
    int flags;
    int position;
} tok;

typedef struct {
    jn_arena *a;
    const char *src;
    size_t len, pos;
    tok t; /* current */
    jn_err *e;
    jmp_buf jb;
    int depth;
} P;

static _Noreturn void perr(P *p, const char *code, int position, const char *token, size_t tlen) {
    snprintf(p->e->code, sizeof p->e->code, "%s", code);
    p->e->position = position;
    if (token) p->e->token = sy_strndup(token, tlen);
    longjmp(p->jb, 1);
}

static const char *const OPS1 = ".[]{}(),@#;:?+-*/%|=<>^&!~";

static bool is_op_char(char c) { return c && strchr(OPS1, c) != NULL; }
static bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v'; }

static const char *intern_op(const char *s, size_t n) {
    static const char *const all[] = {".", "[", "]", "{", "}", "(", ")", ",", "@", "#", ";", ":", "?", "+", "-", "*",
                                      "/", "%", "|", "=", "<", ">", "^", "&", "!", "~", "..", ":=", "!=", ">=",
                                      "<=", "**", "~>", "and", "or", "in", NULL};
    for (int i = 0; all[i]; i++)
        if (strlen(all[i]) == n && memcmp(all[i], s, n) == 0) return all[i];
    return NULL;
}

static tok mk(P *p, int type, const char *id) {
    tok t = {0};
    t.type = type;
    t.id = id;
    t.position = (int)p->pos;
    return t;
}

static void scan_regex(P *p, tok *t) {
    size_t start = p->pos;
    int depth = 0;
    while (p->pos < p->len) {
        char c = p->src[p->pos];
        if (c == '/' && depth == 0) {
            size_t bs = 0;
            while (p->pos >= bs + 1 && p->src[p->pos - (bs + 1)] == '\\') bs++;
            if (bs % 2 == 0) {
                if (p->pos == start) perr(p, "S0301", (int)p->pos, NULL, 0);
                t->s = jn_astrdup(p->a, p->src + start, p->pos - start);
                t->slen = p->pos - start;
                p->pos++;
                int flags = 0;
                while (p->pos < p->len && (p->src[p->pos] == 'i' || p->src[p->pos] == 'm')) {
                    flags |= p->src[p->pos] == 'i' ? 1 : 2;
                    p->pos++;
                }
                t->flags = flags;
                return;
            }
        }
        bool esc = p->pos > 0 && p->src[p->pos - 1] == '\\';
        if ((c == '(' || c == '[' || c == '{') && !esc) depth++;
        if ((c == ')' || c == ']' || c == '}') && !esc) depth--;
        p->pos++;
    }
    perr(p, "S0302", (int)p->pos, NULL, 0);
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static tok lex(P *p, bool prefix) {
    const char *s = p->src;
    for (;;) {
        while (p->pos < p->len && is_ws(s[p->pos])) p->pos++;
        if (p->pos + 1 < p->len && s[p->pos] == '/' && s[p->pos + 1] == '*') {
            size_t cs = p->pos;
            p->pos += 2;
            for (;;) {
                if (p->pos + 1 >= p->len) perr(p, "S0106", (int)cs, NULL, 0);
                if (s[p->pos] == '*' && s[p->pos + 1] == '/') break;
                p->pos++;
            }
            p->pos += 2;
            continue;
        }
        break;
    }
    if (p->pos >= p->len) return mk(p, T_END, "(end)");
    char c = s[p->pos];
    if (!prefix && c == '/') {
        p->pos++;
        tok t = mk(p, T_REGEX, "(regex)");
        scan_regex(p, &t);
        t.position = (int)p->pos;
        return t;
    }
    if (p->pos + 1 < p->len) {
        static const char *const two[] = {"..", ":=", "!=", ">=", "<=", "**", "~>", NULL};
        for (int i = 0; two[i]; i++)
            if (s[p->pos] == two[i][0] && s[p->pos + 1] == two[i][1]) {
                p->pos += 2;
                return mk(p, T_OP, two[i]);
            }
    }
    if (is_op_char(c)) {
        p->pos++;
        return mk(p, T_OP, intern_op(&c, 1));
    }
    if (c == '"' || c == '\'') {
        char q = c;
        p->pos++;
        jn_buf b = {0};
        while (p->pos < p->len) {
            c = s[p->pos];
            if (c == '\\') {
                p->pos++;
                c = p->pos < p->len ? s[p->pos] : 0;
                const char *m = strchr("\"\\/bfnrt", c);
                if (c && m) {
                    static const char rep[] = "\"\\/\b\f\n\r\t";
                    jn_buf_putc(&b, rep[m - "\"\\/bfnrt"]);
                } else if (c == 'u') {
                    uint32_t cp = 0;
                    for (int k = 1; k <= 4; k++) {
                        int h = p->pos + k < p->len ? hexval(s[p->pos + k]) : -1;
                        if (h < 0) {
                            free(b.p);
                            perr(p, "S0104", (int)p->pos, NULL, 0);
                        }
                        cp = cp * 16 + (uint32_t)h;
                    }
                    p->pos += 4;
                    /* a following \uDC00.. combines with a high surrogate */
                    if (cp >= 0xD800 && cp < 0xDC00 && p->pos + 6 < p->len + 0 && s[p->pos + 1] == '\\' &&
                        s[p->pos + 2] == 'u') {
                        uint32_t lo = 0;
                        bool ok = true;
                        for (int k = 3; k <= 6; k++) {
                            int h = hexval(s[p->pos + k]);
                            if (h < 0) { ok = false; break; }
                            lo = lo * 16 + (uint32_t)h;
                        }
                        if (ok && lo >= 0xDC00 && lo < 0xE000) {
                            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                            p->pos += 6;
                        }
                    }
                    char u[4];
                    jn_buf_put(&b, u, jn_utf8_enc(cp, u));
                } else {
                    free(b.p);
                    perr(p, "S0103", (int)p->pos, &s[p->pos], c ? 1 : 0);
                }
            } else if (c == q) {
                p->pos++;
                tok t = mk(p, T_STR, "(literal)");
                t.s = jn_astrdup(p->a, b.p ? b.p : "", b.len);
                t.slen = b.len;
                free(b.p);
                return t;
            } else {
                jn_buf_putc(&b, c);
            }
            p->pos++;
        }
        free(b.p);
        perr(p, "S0101", (int)p->pos, NULL, 0);
    }
    /* numbers: -?(0|[1-9][0-9]*)(\.[0-9]+)?([Ee][-+]?[0-9]+)? */
    {
        size_t i = p->pos;
        if (i < p->len && s[i] == '-') i++;
        if (i < p->len && s[i] >= '0' && s[i] <= '9') {
            if (s[i] == '0') i++;
            else while (i < p->len && s[i] >= '0' && s[i] <= '9') i++;
            if (i + 1 < p->len && s[i] == '.' && s[i + 1] >= '0' && s[i + 1] <= '9') {
                i++;
                while (i < p->len && s[i] >= '0' && s[i] <= '9') i++;
            }
            if (i < p->len && (s[i] == 'e' || s[i] == 'E')) {
                size_t j = i + 1;
                if (j < p->len && (s[j] == '+' || s[j] == '-')) j++;
                if (j < p->len && s[j] >= '0' && s[j] <= '9') {
                    while (j < p->len && s[j] >= '0' && s[j] <= '9') j++;
                    i = j;
                }
            }
            char *tmp = sy_strndup(s + p->pos, i - p->pos);
            double d = strtod(tmp, NULL);
            free(tmp);
            if (!isfinite(d)) perr(p, "S0102", (int)p->pos, s + p->pos, i - p->pos);
            p->pos = i;
            tok t = mk(p, T_NUM, "(literal)");
            t.num = d;
            return t;
        }
    }
    if (c == '`') {
        p->pos++;
        const char *end = memchr(s + p->pos, '`', p->len - p->pos);
        if (!end) {
            p->pos = p->len;
            perr(p, "S0105", (int)p->pos, NULL, 0);
        }
        size_t st = p->pos;
        p->pos = (size_t)(end - s) + 1;
        tok t = mk(p, T_NAME, "(name)");
        t.s = jn_astrdup(p->a, s + st, (size_t)(end - s) - st);
        t.slen = (size_t)(end - s) - st;
        return t;
    }
    size_t i = p->pos;
    while (i < p->len && !is_ws(s[i]) && !is_op_char(s[i])) i++;
    if (s[p->pos] == '$') {
        size_t st = p->pos + 1;
        p->pos = i;
        tok t = mk(p, T_VAR, "(name)");
        t.s = jn_astrdup(p->a, s + st, i - st);
        t.slen = i - st;
        return t;
    }
    size_t st = p->pos;
    p->pos = i;
    size_t n = i - st;
    if ((n == 2 && memcmp(s + st, "or", 2) == 0) || (n == 2 && memcmp(s + st, "in", 2) == 0) ||
        (n == 3 && memcmp(s + st, "and", 3) == 0))
        return mk(p, T_OP, intern_op(s + st, n));
    if (n == 4 && memcmp(s + st, "true", 4) == 0) { tok t = mk(p, T_VALUE, "(literal)"); t.lit = JV_TRUE; return t; }
    if (n == 5 && memcmp(s + st, "false", 5) == 0) { tok t = mk(p, T_VALUE, "(literal)"); t.lit = JV_FALSE; return t; }
    if (n == 4 && memcmp(s + st, "null", 4) == 0) { tok t = mk(p, T_VALUE, "(literal)"); t.lit = JV_NULL; return t; }
    if (n == 0) return mk(p, T_END, "(end)");
    tok t = mk(p, T_NAME, "(name)");
    t.s = jn_astrdup(p->a, s + st, n);
    t.slen = n;
    return t;
}

/* ------------------------------------------------------------- Pratt */
static int lbp_of(const tok *t) {
    if (t->type != T_OP) return 0;
    const char *id = t->id;
    static const struct { const char *op; int bp; } bps[] = {
        {".", 75}, {"[", 80}, {"{", 70}, {"(", 80}, {"@", 80}, {"#", 80}, {"?", 20}, {"+", 50}, {"-", 50},
        {"*", 60}, {"/", 60}, {"%", 60}, {"=", 40}, {"<", 40}, {">", 40}, {"^", 40}, {"!=", 40}, {"<=", 40},
        {">=", 40}, {"~>", 40}, {"and", 30}, {"or", 25}, {"in", 40}, {"&", 50}, {":=", 10}, {NULL, 0}};
    for (int i = 0; bps[i].op; i++)
        if (bps[i].op == id) return bps[i].bp;
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
    p->t = lex(p, infix);
    if (p->t.type == T_END) p->t.position = (int)p->len;
    if (p->t.type == T_OP && !known_op(p->t.id))
        perr(p, "S0204", p->t.position, p->t.id, strlen(p->t.id));
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
    if (p->t.id != (const char *)intern_op("}", 1)) {
        for (;;) {
            nv_push(p, &ks, expression(p, 0));
            advance(p, intern_op(":", 1), false);
            nv_push(p, &vs, expression(p, 0));
            if (p->t.id != intern_op(",", 1)) break;
            advance(p, intern_op(",", 1), false);
        }
    }
    advance(p, intern_op("}", 1), true);
    g->keys = ks.v;
    g->vals = vs.v;
    g->n = ks.n;
    return g;
}

#define OP(s) intern_op(s, sizeof(s) - 1)

static jn_node *nud(P *p, tok t) {
    jn_node *n;
    switch (t.type) {
    case T_NAME:
        n = node(p, N_NAME, &t);
        n->value = t.s;
        n->lit = arena_str(p->a, t.s, t.slen);
        return n;
    case T_VAR:
        n = node(p, N_VARIABLE, &t);
        n->value = t.s;
        return n;
    case T_STR:
        n = node(p, N_STRING, &t);
        n->value = t.s;
        n->lit = arena_str(p->a, t.s, t.slen);
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
            perr(p, "S0303", t.position, t.s, t.slen);
        arena_keep_regex(p->a, n->re);
        return n;
    }
    case T_END: perr(p, "S0207", t.position, "(end)", 5);
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
    perr(p, "S0211", t.position, id, strlen(id));
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
                    if (sl + pl >= sizeof sig) perr(p, "S0402", sigpos, NULL, 0);
                    memcpy(sig + sl, piece ? piece : "", pl);
                    sl += pl;
                }
                char *sigs = jn_astrdup(p->a, sig, sl);
                advance(p, OP(">"), false);
                int off = 0;
                char code[8] = "";
                n->sig = jn_sig_parse(p->a, sigs, &off, code);
                if (!n->sig) perr(p, code, sigpos + off, NULL, 0);
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
            perr(p, "S0212", left->position, tv, tv ? strlen(tv) : 0);
        }
        n->lhs = left;
        n->rhs = expression(p, 9);
        return n;
    }
    if (id == OP("@") || id == OP("#")) {
        n->lhs = left;
        n->rhs = expression(p, 80);
        if (n->rhs->type != N_VARIABLE) perr(p, "S0214", n->rhs->position, id, 1);
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
    if (lbp_of(&t) == 0) perr(p, "S0201", t.position, id ? id : "", id ? strlen(id) : 0);
    n->lhs = left;
    n->rhs = expression(p, lbp_of(&t));
    return n;
}

static jn_node *expression(P *p, int rbp) {
    if (++p->depth > 400) perr(p, "U1001", p->t.position, NULL, 0);
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
            perr(p, "S0201", p->t.position, tv, tv ? strlen(tv) : 0);
        }
        root = jn_process(a, root, e, &p->jb);
    } else {
        root = NULL;
    }
    free(p);
    return root;
}
