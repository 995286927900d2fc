/* asl/jsonata/lex.c — the JSONata tokenizer (the reference's parser.js
 * tokenizer) and the arena that holds a compiled expression. */
#include "lex.h"

#include "../../core/core.h"

#include <math.h>
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

jv jn_arena_str(jn_arena *a, const char *s, size_t n) {
    jn_str *p = jn_aalloc(a, sizeof(jn_str) + n + 1);
    p->rc = -1;
    p->len = (uint32_t)n;
    memcpy(p->s, s, n);
    p->s[n] = 0;
    jv v = {.t = JT_STR};
    v.s = p;
    return v;
}

void jn_arena_keep_regex(jn_arena *a, void *re) {
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

_Noreturn void jn_perr(P *p, const char *code, int position, const char *token, size_t tlen) {
    snprintf(p->e->code, sizeof p->e->code, "%s", code);
    p->e->position = position;
    if (token) p->e->token = sy_strndup(token, tlen);
    longjmp(p->jb, 1);
}

static const char *const OPS1 = ".[]{}(),@#;:?+-*/%|=<>^&!~";

static bool is_op_char(char c) { return c && strchr(OPS1, c) != NULL; }
static bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v'; }

const char *jn_intern_op(const char *s, size_t n) {
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
                if (p->pos == start) jn_perr(p, "S0301", (int)p->pos, NULL, 0);
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
    jn_perr(p, "S0302", (int)p->pos, NULL, 0);
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

tok jn_lex(P *p, bool prefix) {
    const char *s = p->src;
    for (;;) {
        while (p->pos < p->len && is_ws(s[p->pos])) p->pos++;
        if (p->pos + 1 < p->len && s[p->pos] == '/' && s[p->pos + 1] == '*') {
            size_t cs = p->pos;
            p->pos += 2;
            for (;;) {
                if (p->pos + 1 >= p->len) jn_perr(p, "S0106", (int)cs, NULL, 0);
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
                return mk(p, T_OP, jn_intern_op(two[i], 2));
            }
    }
    if (is_op_char(c)) {
        p->pos++;
        return mk(p, T_OP, jn_intern_op(&c, 1));
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
                            jn_perr(p, "S0104", (int)p->pos, NULL, 0);
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
                    jn_perr(p, "S0103", (int)p->pos, &s[p->pos], c ? 1 : 0);
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
        jn_perr(p, "S0101", (int)p->pos, NULL, 0);
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
            if (!isfinite(d)) jn_perr(p, "S0102", (int)p->pos, s + p->pos, i - p->pos);
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
            jn_perr(p, "S0105", (int)p->pos, NULL, 0);
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
        return mk(p, T_OP, jn_intern_op(s + st, n));
    if (n == 4 && memcmp(s + st, "true", 4) == 0) { tok t = mk(p, T_VALUE, "(literal)"); t.lit = JV_TRUE; return t; }
    if (n == 5 && memcmp(s + st, "false", 5) == 0) { tok t = mk(p, T_VALUE, "(literal)"); t.lit = JV_FALSE; return t; }
    if (n == 4 && memcmp(s + st, "null", 4) == 0) { tok t = mk(p, T_VALUE, "(literal)"); t.lit = JV_NULL; return t; }
    if (n == 0) return mk(p, T_END, "(end)");
    tok t = mk(p, T_NAME, "(name)");
    t.s = jn_astrdup(p->a, s + st, n);
    t.slen = n;
    return t;
}

