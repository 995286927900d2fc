/* asl/jsonata/fmt_parse.c — $toMillis: ISO 8601 timestamps (jsonata-js's
 * pattern, then Date.parse's reading of it) and timestamps read with an
 * XPath date/time picture. jsonata-js turns the picture into one anchored,
 * case-insensitive RegExp with a group per component; this file matches the
 * same language with a backtracking matcher that tries the alternatives in
 * the RegExp's order (so the groups split the text as JavaScript's would),
 * memoising positions already known to fail so no input takes exponential
 * time. Then the components are checked and defaulted as jsonata-js does
 * (fractional seconds beyond milliseconds are cut, as in 2.2.2). */
#include "asl/jsonata/fmt_internal.h"
#include "core/core.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ------------------------------------------------------------ matcher */

typedef enum { M_LIT, M_CLASS, M_DIGITS, M_WORDS, M_TZ } mkind_t;
enum { CL_LETTER = 1, CL_ROMAN, CL_DIGIT };

typedef struct {
    mkind_t kind;
    uint16_t *lit; /* M_LIT */
    size_t nlit;
    int cls;       /* M_CLASS */
    int width;     /* M_DIGITS: exact count, 0 = one or more */
    bool ordinal;  /* M_DIGITS */
    bool gmt;      /* M_TZ */
    bool has_sep;  /* M_TZ */
    uint16_t sep;
    const jn_dtpart_t *part; /* NULL for a literal */
    size_t cap_a, cap_b;
} matcher_t;

typedef struct {
    const uint16_t *s;
    size_t n;
    matcher_t *m;
    size_t nm;
    uint8_t *failed; /* (k, pos) known to fail */
} mctx_t;

static uint16_t lower(uint16_t c)
{
    return c >= 'A' && c <= 'Z' ? (uint16_t)(c + 32) : c;
}

static bool in_class(int cls, uint16_t c)
{
    c = lower(c);
    if (cls == CL_LETTER) return c >= 'a' && c <= 'z';
    if (cls == CL_ROMAN) return c && strchr("mdclxvi", c) && c < 128;
    return c >= '0' && c <= '9';
}

static bool lit_at(const mctx_t *x, size_t pos, const char *w)
{
    size_t k = 0;
    for (; w[k]; k++)
        if (pos + k >= x->n || lower(x->s[pos + k]) != (uint16_t)w[k]) return false;
    return true;
}

static size_t run(const mctx_t *x, size_t pos, int cls)
{
    size_t e = pos;
    while (e < x->n && in_class(cls, x->s[e])) e++;
    return e - pos;
}

static bool match_from(mctx_t *x, size_t k, size_t pos);

static bool cont(mctx_t *x, size_t k, size_t a, size_t b)
{
    x->m[k].cap_a = a, x->m[k].cap_b = b;
    return match_from(x, k + 1, b);
}

/* (?:word|...|and|[\-, ])+ tried as the RegExp engine does */
static bool words_iter(mctx_t *x, size_t k, size_t start, size_t pos, uint8_t *wfail)
{
    if (pos < x->n && !wfail[pos]) {
        for (size_t w = 0; jn_word_keys[w]; w++) {
            if (lit_at(x, pos, jn_word_keys[w]) && words_iter(x, k, start, pos + strlen(jn_word_keys[w]), wfail))
                return true;
        }
        if (lit_at(x, pos, "and") && words_iter(x, k, start, pos + 3, wfail)) return true;
        uint16_t c = x->s[pos];
        if ((c == '-' || c == ',' || c == ' ') && words_iter(x, k, start, pos + 1, wfail)) return true;
    }
    if (pos > start && cont(x, k, start, pos)) return true;
    if (pos < x->n) wfail[pos] = 1;
    return false;
}

static bool match_from(mctx_t *x, size_t k, size_t pos)
{
    if (k == x->nm) return pos == x->n;
    uint8_t *memo = &x->failed[k * (x->n + 1) + pos];
    if (*memo) return false;
    matcher_t *m = &x->m[k];
    bool ok = false;
    switch (m->kind) {
    case M_LIT:
        ok = pos + m->nlit <= x->n;
        for (size_t i = 0; ok && i < m->nlit; i++) ok = lower(x->s[pos + i]) == lower(m->lit[i]);
        ok = ok && cont(x, k, pos, pos + m->nlit);
        break;
    case M_CLASS:
        for (size_t l = run(x, pos, m->cls); l >= 1 && !ok; l--) ok = cont(x, k, pos, pos + l);
        break;
    case M_DIGITS: {
        size_t r = run(x, pos, CL_DIGIT);
        size_t hi = m->width ? (r >= (size_t)m->width ? (size_t)m->width : 0) : r;
        size_t lo = m->width ? hi : 1;
        for (size_t l = hi; l >= lo && l >= 1 && !ok; l--) {
            if (!m->ordinal) {
                ok = cont(x, k, pos, pos + l);
            } else {
                size_t e = pos + l;
                if (lit_at(x, e, "th") || lit_at(x, e, "st") || lit_at(x, e, "nd") || lit_at(x, e, "rd"))
                    ok = cont(x, k, pos, e + 2);
            }
        }
        break;
    }
    case M_WORDS: {
        uint8_t *wfail = sy_calloc(x->n + 1, 1);
        ok = words_iter(x, k, pos, pos, wfail);
        free(wfail);
        break;
    }
    case M_TZ: {
        size_t p = pos;
        if (m->gmt) {
            if (!lit_at(x, p, "gmt")) break;
            p += 3;
        }
        if (p >= x->n || (x->s[p] != '+' && x->s[p] != '-')) break;
        p++;
        for (size_t l = run(x, p, CL_DIGIT); l >= 1 && !ok; l--) {
            if (!m->has_sep) {
                ok = cont(x, k, pos, p + l);
            } else if (p + l < x->n && x->s[p + l] == m->sep) {
                for (size_t l2 = run(x, p + l + 1, CL_DIGIT); l2 >= 1 && !ok; l2--)
                    ok = cont(x, k, pos, p + l + 1 + l2);
            }
        }
        break;
    }
    }
    if (!ok) *memo = 1;
    return ok;
}

/* ------------------------------------------------------------ components */

typedef struct {
    bool present, defined;
    double v;
} comp_t;

static int comp_index(uint32_t c)
{
    const char *order = "YXMxWwdDFPHhmsfZz";
    const char *p = c < 128 && c ? strchr(order, (int)c) : NULL;
    return p ? (int)(p - order) : -1;
}

/* C(ch) below names only letters of the order string; the clamp keeps an
 * optimizing compiler from seeing a -1 index (-Warray-bounds at -O2). */
static size_t comp_slot(uint32_t c)
{
    int i = comp_index(c);
    return i < 0 ? 0 : (size_t)i;
}

static double text_int(const uint16_t *u, size_t n)
{
    return jn_js_parse_int_u16(u, n);
}

/* the value of one matched component (jsonata-js's parse functions) */
static void parse_component(const matcher_t *m, const uint16_t *s, comp_t *comps)
{
    const jn_dtpart_t *p = m->part;
    int ci = comp_index(p->component);
    const uint16_t *t = s + m->cap_a;
    size_t n = m->cap_b - m->cap_a;
    double v = NAN;
    bool defined = true;
    if (m->kind == M_TZ) {
        if (p->component == 'z') t += 3, n -= 3;
        double oh = 0, om = 0;
        if (m->has_sep) {
            size_t at = 0;
            while (at < n && t[at] != m->sep) at++;
            oh = text_int(t, at);
            om = text_int(t + at + 1, n - at - 1);
        } else if (n - 1 <= 2) {
            oh = text_int(t, n);
        } else {
            oh = text_int(t, 3);
            om = text_int(t + 3, n - 3);
        }
        v = oh * 60 + om;
    } else if (p->has_int || p->component == 'f') {
        jn_sb_t sb = {0};
        jn_sb_put_u16(&sb, t, n);
        if (p->component == 'f') {
            /* 2.2.2: parseFloat('0.' + the first three digits) * 1000 */
            char f[8] = "0.";
            for (size_t i = 0; i < 3 && i < n; i++) f[2 + i] = (char)t[i];
            v = strtod(f, NULL) * 1000;
        } else {
            v = jn_intpic_value(sb.p ? sb.p : "", sb.n, &p->intf);
        }
        jn_sb_free(&sb);
    } else {
        /* a name: looked up exactly as written (the match itself ignores case) */
        jn_sb_t sb = {0};
        jn_sb_put_u16(&sb, t, n);
        const char *w = sb.p ? sb.p : "";
        defined = false;
        if (p->component == 'M' || p->component == 'x' || p->component == 'F') {
            bool months = p->component != 'F';
            for (int i = months ? 0 : 1; i < (months ? 12 : 8); i++) {
                const char *name = months ? jn_month_names[i] : jn_day_names[i];
                size_t nl = strlen(name);
                if (p->has_width && p->has_max && p->wmax > 0 && p->wmax < (double)nl) nl = (size_t)p->wmax;
                if (strlen(w) == nl && !strncmp(w, name, nl)) {
                    v = months ? i + 1 : i, defined = true;
                    break;
                }
            }
        } else if (p->component == 'P') {
            if (!strcmp(w, "am") || !strcmp(w, "AM")) v = 0, defined = true;
            if (!strcmp(w, "pm") || !strcmp(w, "PM")) v = 1, defined = true;
        }
        jn_sb_free(&sb);
    }
    if (ci < 0) return;
    comps[ci].present = true;
    comps[ci].defined = defined;
    comps[ci].v = v;
}

static bool truthy(const comp_t *c)
{
    return c->defined && c->v != 0 && !isnan(c->v);
}

static int build_matchers(const jn_dtpic_t *d, matcher_t *m, sy_jsonata_error_t *err)
{
    for (size_t i = 0; i < d->n; i++) {
        const jn_dtpart_t *p = &d->p[i];
        matcher_t *x = &m[i];
        memset(x, 0, sizeof *x);
        x->part = p->literal ? NULL : p;
        if (p->literal) {
            x->kind = M_LIT;
            x->nlit = jn_utf8_u16(p->text, strlen(p->text), &x->lit);
        } else if (p->component == 'Z' || p->component == 'z') {
            x->kind = M_TZ;
            x->gmt = p->component == 'z';
            if (p->intf.regular && p->intf.reg_ch < 0x10000) x->has_sep = true, x->sep = (uint16_t)p->intf.reg_ch;
        } else if (p->component == 'f') {
            x->kind = M_DIGITS; /* 2.2.2: [0-9]+ whatever the presentation */
        } else if (p->has_int) {
            switch (p->intf.primary) {
            case JN_INT_LETTERS: x->kind = M_CLASS, x->cls = CL_LETTER; break;
            case JN_INT_ROMAN: x->kind = M_CLASS, x->cls = CL_ROMAN; break;
            case JN_INT_WORDS: x->kind = M_WORDS; break;
            case JN_INT_DECIMAL:
                x->kind = M_DIGITS;
                x->width = p->intf.parse_width > 0 ? p->intf.parse_width : 0;
                x->ordinal = p->intf.ordinal;
                break;
            case JN_INT_SEQUENCE:
                return jn_fmt_fail(err, "D3130", json_string(p->intf.token ? p->intf.token : ""));
            }
        } else if (p->component == 'M' || p->component == 'x' || p->component == 'F' || p->component == 'P') {
            x->kind = M_CLASS, x->cls = CL_LETTER;
        } else {
            jn_sb_t cs = {0};
            if (p->component) jn_sb_put_cp(&cs, p->component);
            char *s = jn_sb_take(&cs);
            int rc = jn_fmt_fail(err, "D3133", json_string(s));
            free(s);
            return rc;
        }
    }
    return 0;
}

static int parse_picture(const char *ts, const char *picture, double now, double *out, bool *undefined,
                         sy_jsonata_error_t *err)
{
    jn_dtpic_t d;
    if (jn_dtpic_analyse(picture, &d, err)) return -1;
    matcher_t *m = sy_calloc(d.n + 1, sizeof *m);
    int rc = build_matchers(&d, m, err);
    mctx_t x = {0};
    uint16_t *s = NULL;
    if (rc) goto done;
    x.n = jn_utf8_u16(ts, strlen(ts), &s);
    x.s = s;
    x.m = m;
    x.nm = d.n;
    x.failed = sy_calloc((d.n + 1) * (x.n + 1), 1);
    *undefined = true;
    if (!match_from(&x, 0, 0)) goto done;
    comp_t comps[17];
    memset(comps, 0, sizeof comps);
    bool any = false;
    for (size_t i = 0; i < d.n; i++)
        if (m[i].part) {
            parse_component(&m[i], s, comps);
            any = true;
        }
    if (!any) goto done;
    *undefined = false;
#define C(ch) comps[comp_slot(ch)]
    int mask = 0;
    for (const char *q = "YXMxWwdD"; *q; q++) mask = (mask << 1) | truthy(&C(*q));
#define IS_TYPE(t) (!(~(t) & mask) && ((t) & mask))
    bool dateA = IS_TYPE(161), dateB = !dateA && IS_TYPE(130), dateC = IS_TYPE(84), dateD = !dateC && IS_TYPE(72);
    mask = 0;
    for (const char *q = "PHhmsf"; *q; q++) mask = (mask << 1) | truthy(&C(*q));
    bool timeA = IS_TYPE(23), timeB = !timeA && IS_TYPE(47);
    const char *dc = dateB ? "YD" : dateC ? "XxwF" : dateD ? "XWF" : "YMD";
    const char *tc = timeB ? "Phmsf" : "Hmsf";
    bool started = false, ended = false;
    for (int half = 0; half < 2; half++)
        for (const char *q = half ? tc : dc; *q; q++) {
            comp_t *c = &C(*q);
            if (!c->defined) {
                if (started) {
                    c->v = strchr("MDd", *q) ? 1 : 0;
                    ended = true;
                } else {
                    c->v = *q == 'P' ? -1 : jn_date_fragment(now, (uint32_t)*q);
                }
                c->defined = true;
            } else {
                started = true;
                if (ended) {
                    rc = jn_fmt_fail(err, "D3136", NULL);
                    goto done;
                }
            }
        }
    double M = C('M').defined && C('M').v > 0 ? C('M').v - 1 : 0, D = C('D').v, H = C('H').v;
    if (dateB) {
        double derived = jn_date_utc(C('Y').v, 0, 1, 0, 0, 0, 0) + (C('d').v - 1) * 86400000.0;
        M = jn_date_fragment(derived, 'M') - 1;
        D = jn_date_fragment(derived, 'D');
    }
    if (dateC || dateD) {
        rc = jn_fmt_fail(err, "D3136", NULL);
        goto done;
    }
    if (timeB) {
        H = C('h').v == 12 ? 0 : C('h').v;
        if (C('P').v == 1) H += 12;
    }
    double ms = jn_date_utc(C('Y').defined ? C('Y').v : NAN, M, C('D').defined || dateB ? D : NAN,
                            C('H').defined || timeB ? H : NAN, C('m').defined ? C('m').v : NAN,
                            C('s').defined ? C('s').v : NAN, C('f').defined ? C('f').v : NAN);
    double z = truthy(&C('Z')) ? C('Z').v : truthy(&C('z')) ? C('z').v : 0;
    if (z) ms -= z * 60 * 1000;
    *out = ms;
#undef IS_TYPE
#undef C
done:
    for (size_t i = 0; i < d.n; i++) free(m[i].lit);
    free(m);
    free(s);
    free(x.failed);
    jn_dtpic_free(&d);
    return rc;
}

int jn_to_millis_at(const char *ts, const char *picture, int64_t now_ms, double *out, bool *undefined,
                    sy_jsonata_error_t *err)
{
    *undefined = false;
    if (!picture) {
        if (!jn_iso_to_millis(ts, out)) return jn_fmt_fail(err, "D3110", json_string(ts));
        return 0;
    }
    return parse_picture(ts, picture, (double)now_ms, out, undefined, err);
}

int jn_to_millis(const char *ts, const char *picture, double *out, bool *undefined, sy_jsonata_error_t *err)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    return jn_to_millis_at(ts, picture, (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000, out, undefined, err);
}
