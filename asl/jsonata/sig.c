/* asl/jsonata/sig.c — function signatures ("<s-n?:s>"): parsing, and the
 * reference's argument validation (a greedy backtracking match of the
 * argument type letters, context substitution for '-', singleton arrays for
 * 'a', typed arrays 'a<n>'; errors T0410, T0411, T0412). */
#include "internal.h"

#include "../../core/core.h"

#include <string.h>

#define MAXP 24

typedef struct {
    char type;     /* s n b l o a f j x ( */
    char cls[12];  /* accepted argument letters */
    char quant;    /* 0 one, '?' optional, '+' one or more */
    bool context;  /* '-' */
    char subtype[8];
} param;

struct jn_sig {
    int n;
    param p[MAXP];
};

jn_sig *jn_sig_parse(jn_arena *a, const char *sig, int *err_offset, char *err_code) {
    jn_sig *s = jn_aalloc(a, sizeof *s);
    size_t len = strlen(sig);
    param *prev = NULL;
    for (size_t pos = 1; pos < len; pos++) {
        char sym = sig[pos];
        if (sym == ':') break;
        param *p = s->n < MAXP ? &s->p[s->n] : NULL;
        switch (sym) {
        case 's':
        case 'n':
        case 'b':
        case 'l':
        case 'o':
            if (!p) break;
            p->type = sym;
            p->cls[0] = sym;
            p->cls[1] = 'm';
            prev = p;
            s->n++;
            break;
        case 'a':
        case 'x':
            if (!p) break;
            p->type = sym;
            strcpy(p->cls, "asnblfom");
            prev = p;
            s->n++;
            break;
        case 'f':
            if (!p) break;
            p->type = 'f';
            strcpy(p->cls, "f");
            prev = p;
            s->n++;
            break;
        case 'j':
            if (!p) break;
            p->type = 'j';
            strcpy(p->cls, "asnblom");
            prev = p;
            s->n++;
            break;
        case '-':
            if (prev) {
                prev->context = true;
                prev->quant = '?';
            }
            break;
        case '?':
        case '+':
            if (prev) prev->quant = sym;
            break;
        case '(': {
            size_t end = pos, depth = 1;
            while (end < len && depth) {
                end++;
                if (sig[end] == ')') depth--;
                else if (sig[end] == '(') depth++;
            }
            if (memchr(sig + pos + 1, '<', end - pos - 1)) {
                *err_offset = (int)pos;
                strcpy(err_code, "S0402");
                return NULL;
            }
            if (p) {
                p->type = '(';
                size_t k = 0;
                for (size_t i = pos + 1; i < end && k < 10; i++) p->cls[k++] = sig[i];
                p->cls[k++] = 'm';
                p->cls[k] = 0;
                prev = p;
                s->n++;
            }
            pos = end;
            break;
        }
        case '<': {
            if (!prev || (prev->type != 'a' && prev->type != 'f')) {
                *err_offset = (int)pos;
                strcpy(err_code, "S0401");
                return NULL;
            }
            size_t end = pos, depth = 1;
            while (end < len && depth) {
                end++;
                if (sig[end] == '>') depth--;
                else if (sig[end] == '<') depth++;
            }
            size_t n = end - pos - 1;
            if (n >= sizeof prev->subtype) n = sizeof prev->subtype - 1;
            memcpy(prev->subtype, sig + pos + 1, n);
            prev->subtype[n] = 0;
            pos = end;
            break;
        }
        default: break;
        }
    }
    return s;
}

static char symbol(jv v) {
    switch (v.t) {
    case JT_FN: return 'f';
    case JT_STR: return 's';
    case JT_NUM: return 'n';
    case JT_BOOL: return 'b';
    case JT_NULL: return 'l';
    case JT_ARR: return 'a';
    case JT_OBJ: return 'o';
    default: return 'm';
    }
}

/* greedy backtracking match of params [pi, pend) from si; anchored says the
 * whole string must be consumed; *end gets the matched length */
static bool match(const jn_sig *s, const char *sym, int n, int pi, int pend, int si, bool anchored, int *st,
                  int *ln, int *end) {
    if (pi == pend) {
        if (anchored && si != n) return false;
        *end = si;
        return true;
    }
    const param *p = &s->p[pi];
    int max = 0;
    while (si + max < n && strchr(p->cls, sym[si + max]) && (p->quant == '+' || max < 1)) max++;
    int min = (p->quant == '?') ? 0 : 1;
    for (int k = max; k >= min; k--) {
        st[pi] = si;
        ln[pi] = k;
        if (match(s, sym, n, pi + 1, pend, si + k, anchored, st, ln, end)) return true;
    }
    return false;
}

static const char *plural(const char *sub) {
    switch (sub[0]) {
    case 'a': return "arrays";
    case 'b': return "booleans";
    case 'f': return "functions";
    case 'n': return "numbers";
    case 'o': return "objects";
    case 's': return "strings";
    }
    return "undefined";
}

int jn_sig_validate(jn_ctx *c, const jn_sig *sig, jv *args, int nargs, jv context, jv **out, int *nout) {
    char sym[64];
    int n = nargs < 63 ? nargs : 63;
    for (int i = 0; i < n; i++) sym[i] = symbol(args[i]);
    sym[n] = 0;
    int st[MAXP], ln[MAXP], end;
    if (!match(sig, sym, n, 0, sig->n, 0, true, st, ln, &end)) {
        int good = 0;
        for (int i = 0; i < sig->n; i++) {
            int st2[MAXP], ln2[MAXP], e2;
            if (!match(sig, sym, n, 0, i + 1, 0, false, st2, ln2, &e2)) break;
            good = e2;
        }
        jn_fail_v(c, "T0410", good < nargs ? args[good] : JV_UNDEF);
        c->err.index = good + 1;
        return -1;
    }
    jv *res = sy_calloc((size_t)nargs + sig->n + 1, sizeof(jv));
    int k = 0, ai = 0;
    for (int i = 0; i < sig->n; i++) {
        const param *p = &sig->p[i];
        if (ln[i] == 0) {
            if (p->context) {
                char cs = symbol(context);
                if (strchr(p->cls, cs)) res[k++] = jv_ref(context);
                else {
                    for (int j = 0; j < k; j++) jv_unref(res[j]);
                    free(res);
                    jn_fail_v(c, "T0411", context);
                    c->err.index = ai + 1;
                    return -1;
                }
            } else {
                res[k++] = ai < nargs ? jv_ref(args[ai]) : JV_UNDEF;
                ai++;
            }
            continue;
        }
        for (int m = 0; m < ln[i]; m++) {
            jv arg = ai < nargs ? args[ai] : JV_UNDEF;
            char single = sym[st[i] + m];
            if (p->type == 'a') {
                if (single == 'm') {
                    res[k++] = JV_UNDEF;
                } else {
                    bool ok = true;
                    if (p->subtype[0]) {
                        if (single != 'a' && !(ln[i] == 1 && strlen(p->subtype) == 1 && p->subtype[0] == single))
                            ok = false;
                        else if (single == 'a' && arg.a->len > 0) {
                            char it = symbol(arg.a->v[0]);
                            if (it != p->subtype[0]) ok = false;
                            else
                                for (size_t q = 0; q < arg.a->len; q++)
                                    if (symbol(arg.a->v[q]) != it) ok = false;
                        }
                    }
                    if (!ok) {
                        for (int j = 0; j < k; j++) jv_unref(res[j]);
                        free(res);
                        jn_fail_v(c, "T0412", arg);
                        c->err.index = ai + 1;
                        free(c->err.type);
                        c->err.type = sy_strdup(plural(p->subtype));
                        return -1;
                    }
                    if (single != 'a') {
                        jv w = jv_arr_new(1);
                        jv_arr_push_ref(w, arg);
                        res[k++] = w;
                    } else {
                        res[k++] = jv_ref(arg);
                    }
                }
            } else {
                res[k++] = jv_ref(arg);
            }
            ai++;
        }
    }
    *out = res;
    *nout = k;
    return 0;
}
