/* asl/jsonata/fmt_number.c — $formatNumber: the XPath F&O 3.1 format-number
 * picture as jsonata-js 2.2.2 implements it (its validation order, where the
 * last failing check names the error; its prefix/suffix split; grouping,
 * '%'/'‰' scaling, exponents; the decimal-format options object). All string
 * work is on UTF-16 units, as in JavaScript, so multi-character options and
 * astral characters behave as they do there. */
#include "asl/jsonata/fmt_internal.h"
#include "core/core.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    uint16_t *u;
    size_t n;
} us_t; /* an owned UTF-16 string */

static us_t us_from(const char *s)
{
    us_t r;
    r.n = jn_utf8_u16(s, strlen(s), &r.u);
    return r;
}

static us_t us_sub(const us_t *s, long a, long b) /* String.prototype.substring */
{
    long len = (long)s->n;
    a = a < 0 ? 0 : a > len ? len : a;
    b = b < 0 ? 0 : b > len ? len : b;
    if (a > b) {
        long t = a;
        a = b;
        b = t;
    }
    us_t r = {sy_malloc((size_t)(b - a + 1) * sizeof(uint16_t)), (size_t)(b - a)};
    if (b > a) memcpy(r.u, s->u + a, (size_t)(b - a) * sizeof(uint16_t));
    return r;
}

static us_t us_slice(const us_t *s, long a, long b)
{
    long len = (long)s->n;
    if (a < 0) a = len + a < 0 ? 0 : len + a;
    if (b < 0) b = len + b < 0 ? 0 : len + b;
    if (a > len) a = len;
    if (b > len) b = len;
    if (a > b) b = a;
    return us_sub(s, a, b);
}

static long us_index(const us_t *s, const us_t *sub, long from)
{
    long len = (long)s->n, m = (long)sub->n;
    if (from < 0) from = 0;
    if (from > len) from = len;
    for (long i = from; i + m <= len; i++)
        if (!m || !memcmp(s->u + i, sub->u, (size_t)m * sizeof(uint16_t))) return i;
    return -1;
}

static long us_last(const us_t *s, const us_t *sub)
{
    long len = (long)s->n, m = (long)sub->n;
    for (long i = len - m; i >= 0; i--)
        if (!m || !memcmp(s->u + i, sub->u, (size_t)m * sizeof(uint16_t))) return i;
    return -1;
}

/* a + b + c, freeing nothing */
static us_t us_cat3(const us_t *a, const us_t *b, const us_t *c)
{
    us_t r = {sy_malloc((a->n + b->n + c->n + 1) * sizeof(uint16_t)), a->n + b->n + c->n};
    if (a->n) memcpy(r.u, a->u, a->n * sizeof(uint16_t));
    if (b->n) memcpy(r.u + a->n, b->u, b->n * sizeof(uint16_t));
    if (c->n) memcpy(r.u + a->n + b->n, c->u, c->n * sizeof(uint16_t));
    return r;
}

static void us_set(us_t *dst, us_t v)
{
    free(dst->u);
    *dst = v;
}

/* s.charAt(i) === str */
static bool char_is(const us_t *s, long i, const us_t *str)
{
    if (i < 0 || i >= (long)s->n) return str->n == 0;
    return str->n == 1 && str->u[0] == s->u[i];
}

typedef struct {
    us_t dec, grp, exp, inf, nan, minus, pct, pml, zero, digit, pat;
    bool family; /* the zero-digit has a first unit */
    uint16_t zc;
} props_t;

static bool is_family(const props_t *p, uint16_t c)
{
    return p->family && (uint16_t)(c - p->zc) < 10;
}

static bool single(const us_t *s, uint16_t c)
{
    return s->n == 1 && s->u[0] == c;
}

static bool is_active(const props_t *p, uint16_t c)
{
    return is_family(p, c) || single(&p->dec, c) || single(&p->exp, c) || single(&p->grp, c) ||
           single(&p->digit, c) || single(&p->pat, c);
}

static size_t count_family(const props_t *p, const us_t *s, bool or_digit)
{
    size_t k = 0;
    for (size_t i = 0; i < s->n; i++)
        if (is_family(p, s->u[i]) || (or_digit && single(&p->digit, s->u[i]))) k++;
    return k;
}

typedef struct {
    us_t sub, prefix, suffix, active, mantissa, exponent, integer, fraction;
    bool has_exp;
    /* analysis */
    long *igroups, *fgroups;
    size_t nig, nfg;
    long regular, min_int, scaling, min_frac, max_frac, min_exp;
} part_t;

static void part_free(part_t *q)
{
    free(q->sub.u), free(q->prefix.u), free(q->suffix.u), free(q->active.u), free(q->mantissa.u);
    free(q->exponent.u), free(q->integer.u), free(q->fraction.u), free(q->igroups), free(q->fgroups);
}

static void split_parts(const props_t *p, part_t *q)
{
    const us_t *s = &q->sub;
    long pre = 0, suf = (long)s->n;
    bool found = false;
    for (long i = 0; i < (long)s->n && !found; i++)
        if (is_active(p, s->u[i]) && !single(&p->exp, s->u[i])) pre = i, found = true;
    found = false;
    for (long i = (long)s->n - 1; i >= 0 && !found; i--)
        if (is_active(p, s->u[i]) && !single(&p->exp, s->u[i])) suf = i + 1, found = true;
    q->prefix = us_sub(s, 0, pre);
    q->suffix = us_sub(s, suf, (long)s->n);
    q->active = us_sub(s, (long)q->prefix.n, (long)(s->n - q->suffix.n));
    long ep = us_index(s, &p->exp, (long)q->prefix.n);
    if (ep == -1 || ep > (long)(s->n - q->suffix.n)) {
        q->mantissa = us_sub(&q->active, 0, (long)q->active.n);
        q->has_exp = false;
    } else {
        q->mantissa = us_sub(&q->active, 0, ep);
        q->exponent = us_sub(&q->active, ep + 1, (long)q->active.n);
        q->has_exp = true;
    }
    long dp = us_index(&q->mantissa, &p->dec, 0);
    if (dp == -1) {
        q->integer = us_sub(&q->mantissa, 0, (long)q->mantissa.n);
        q->fraction = us_sub(&q->suffix, 0, (long)q->suffix.n);
    } else {
        q->integer = us_sub(&q->mantissa, 0, dp);
        q->fraction = us_sub(&q->mantissa, dp + 1, (long)q->mantissa.n);
    }
}

static const char *validate(const props_t *p, const part_t *q)
{
    const char *e = NULL;
    const us_t *s = &q->sub;
    long dp = us_index(s, &p->dec, 0);
    if (dp != us_last(s, &p->dec)) e = "D3081";
    if (us_index(s, &p->pct, 0) != us_last(s, &p->pct)) e = "D3082";
    if (us_index(s, &p->pml, 0) != us_last(s, &p->pml)) e = "D3083";
    if (us_index(s, &p->pct, 0) != -1 && us_index(s, &p->pml, 0) != -1) e = "D3084";
    if (count_family(p, &q->mantissa, true) == 0) e = "D3085";
    for (size_t i = 0; i < q->active.n; i++)
        if (!is_active(p, q->active.u[i])) e = "D3086";
    if (dp != -1) {
        if (char_is(s, dp - 1, &p->grp) || char_is(s, dp + 1, &p->grp)) e = "D3087";
    } else if (char_is(&q->integer, (long)q->integer.n - 1, &p->grp)) {
        e = "D3088";
    }
    us_t gg = us_cat3(&p->grp, &p->grp, &(us_t){NULL, 0});
    if (us_index(s, &gg, 0) != -1) e = "D3089";
    free(gg.u);
    long od = us_index(&q->integer, &p->digit, 0);
    if (od != -1) {
        us_t head = us_sub(&q->integer, 0, od);
        if (count_family(p, &head, false) > 0) e = "D3090";
        free(head.u);
    }
    od = us_last(&q->fraction, &p->digit);
    if (od != -1) {
        us_t tail = us_sub(&q->fraction, od, (long)q->fraction.n);
        if (count_family(p, &tail, false) > 0) e = "D3091";
        free(tail.u);
    }
    if (q->has_exp && q->exponent.n > 0 && (us_index(s, &p->pct, 0) != -1 || us_index(s, &p->pml, 0) != -1))
        e = "D3092";
    if (q->has_exp && (q->exponent.n == 0 || count_family(p, &q->exponent, false) != q->exponent.n)) e = "D3093";
    return e;
}

static long *group_positions(const props_t *p, const part_t *q, const us_t *part, bool to_left, size_t *n)
{
    long *pos = sy_malloc((part->n + q->integer.n + 1) * sizeof *pos);
    *n = 0;
    long gp = us_index(part, &p->grp, 0);
    while (gp != -1) {
        us_t side = to_left ? us_sub(part, 0, gp) : us_sub(part, gp, (long)part->n);
        pos[(*n)++] = (long)count_family(p, &side, true);
        free(side.u);
        gp = us_index(&q->integer, &p->grp, gp + 1); /* jsonata-js searches the integer part here */
    }
    return pos;
}

static long lgcd(long a, long b)
{
    return b == 0 ? a : lgcd(b, a % b);
}

static void analyse(const props_t *p, part_t *q)
{
    q->igroups = group_positions(p, q, &q->integer, false, &q->nig);
    q->regular = 0;
    if (q->nig) {
        long f = q->igroups[0];
        for (size_t i = 1; i < q->nig; i++) f = lgcd(f, q->igroups[i]);
        q->regular = f;
        for (size_t k = 1; k <= q->nig; k++) {
            bool found = false;
            for (size_t i = 0; i < q->nig; i++)
                if (q->igroups[i] == (long)k * f) found = true;
            if (!found) q->regular = 0;
        }
    }
    q->fgroups = group_positions(p, q, &q->fraction, true, &q->nfg);
    q->min_int = (long)count_family(p, &q->integer, false);
    q->scaling = q->min_int;
    q->min_frac = (long)count_family(p, &q->fraction, false);
    q->max_frac = (long)count_family(p, &q->fraction, true);
    if (q->min_int == 0 && q->max_frac == 0) {
        if (q->has_exp) q->min_frac = q->max_frac = 1;
        else q->min_int = 1;
    }
    if (q->has_exp && q->min_int == 0 && us_index(&q->integer, &p->digit, 0) != -1) q->min_int = 1;
    if (q->min_int == 0 && q->min_frac == 0) q->min_frac = 1;
    q->min_exp = q->has_exp ? (long)count_family(p, &q->exponent, false) : 0;
}

/* Number.prototype.toFixed(dp) of x >= 0 (ties away from zero, JS text
 * above 1e21). */
static void to_fixed(double x, long dp, jn_sb_t *sb)
{
    if (x >= 1e21 || !isfinite(x)) {
        char b[40];
        jn_js_number(x, b);
        jn_sb_puts(sb, b);
        return;
    }
    int e;
    double m = frexp(x, &e);
    bool tie = false;
    if (x > 0) {
        uint64_t mant = (uint64_t)ldexp(m, 53);
        int low = e - 53 + __builtin_ctzll(mant);
        tie = low == -(dp + 1);
    }
    size_t at = sb->n;
    int len = snprintf(NULL, 0, "%.*f", (int)(tie ? dp + 1 : dp), x);
    char *buf = sy_malloc((size_t)len + 1);
    snprintf(buf, (size_t)len + 1, "%.*f", (int)(tie ? dp + 1 : dp), x);
    if (tie) {
        buf[--len] = '\0'; /* the exact "...5" cut, then one unit up */
        if (len > 0 && buf[len - 1] == '.') buf[--len] = '\0';
        int i = len - 1;
        for (; i >= 0; i--) {
            if (buf[i] == '.') continue;
            if (buf[i] == '9') {
                buf[i] = '0';
            } else {
                buf[i]++;
                break;
            }
        }
        if (i < 0) jn_sb_putc(sb, '1');
    }
    jn_sb_puts(sb, buf);
    (void)at;
    free(buf);
}

/* makeString: |v|.toFixed(dp) with the digits of the zero-digit family. */
static us_t make_string(const props_t *p, double v, long dp)
{
    jn_sb_t sb = {0};
    to_fixed(fabs(v), dp, &sb);
    us_t r = {sy_malloc((sb.n + 1) * sizeof(uint16_t)), 0};
    bool map = !(p->zero.n == 1 && p->zero.u[0] == '0');
    for (size_t i = 0; i < sb.n; i++) {
        char c = sb.p[i];
        if (map && c >= '0' && c <= '9') {
            if (p->family) r.u[r.n++] = (uint16_t)(p->zc + (c - '0'));
        } else {
            r.u[r.n++] = (uint16_t)(unsigned char)c;
        }
    }
    jn_sb_free(&sb);
    return r;
}

static us_t repeat(const us_t *s, long n)
{
    us_t r = {sy_malloc(((size_t)(n > 0 ? n : 0) * s->n + 1) * sizeof(uint16_t)), 0};
    for (long i = 0; i < n && s->n; i++) {
        memcpy(r.u + r.n, s->u, s->n * sizeof(uint16_t));
        r.n += s->n;
    }
    return r;
}

static us_t insert_at(const us_t *s, long at, const us_t *what) /* slice(0,at) + what + slice(at) */
{
    us_t a = us_slice(s, 0, at), b = us_slice(s, at, (long)s->n);
    us_t r = us_cat3(&a, what, &b);
    free(a.u), free(b.u);
    return r;
}

static const char *const prop_names[] = {"decimal-separator", "grouping-separator", "exponent-separator",
                                         "infinity", "NaN", "minus-sign", "percent", "per-mille",
                                         "zero-digit", "digit", "pattern-separator"};
static const char *const prop_defaults[] = {".", ",", "e", "Infinity", "NaN", "-", "%", "\xe2\x80\xb0", "0", "#", ";"};

static void props_load(props_t *p, const json_t *options)
{
    us_t *slot[] = {&p->dec, &p->grp, &p->exp, &p->inf, &p->nan, &p->minus, &p->pct, &p->pml, &p->zero, &p->digit, &p->pat};
    for (size_t i = 0; i < 11; i++) {
        const json_t *o = json_is_object(options) ? json_object_get(options, prop_names[i]) : NULL;
        *slot[i] = us_from(json_is_string(o) ? json_string_value(o) : prop_defaults[i]);
    }
    p->family = p->zero.n > 0;
    p->zc = p->family ? p->zero.u[0] : 0;
}

static void props_free(props_t *p)
{
    us_t *slot[] = {&p->dec, &p->grp, &p->exp, &p->inf, &p->nan, &p->minus, &p->pct, &p->pml, &p->zero, &p->digit, &p->pat};
    for (size_t i = 0; i < 11; i++) free(slot[i]->u);
}

static us_t format_with(const props_t *p, const part_t *pic, double value)
{
    double adj = value;
    if (us_index(&pic->sub, &p->pct, 0) != -1) adj = value * 100;
    else if (us_index(&pic->sub, &p->pml, 0) != -1) adj = value * 1000;
    double mant = adj;
    long exponent = 0;
    bool has_exponent = pic->min_exp != 0;
    if (has_exponent && mant != 0 && isfinite(mant)) {
        double maxm = pow(10, (double)pic->scaling), minm = pow(10, (double)(pic->scaling - 1));
        while (fabs(mant) < minm) mant *= 10, exponent--;
        while (fabs(mant) > maxm) mant /= 10, exponent++;
    }
    double rounded = jn_js_round(mant, (int)pic->max_frac);
    us_t sv = make_string(p, rounded, pic->max_frac);
    us_t dot = {(uint16_t[]){'.'}, 1};
    long dpos = us_index(&sv, &dot, 0);
    if (dpos == -1) {
        us_set(&sv, us_cat3(&sv, &p->dec, &(us_t){NULL, 0}));
    } else {
        us_t a = us_sub(&sv, 0, dpos), b = us_sub(&sv, dpos + 1, (long)sv.n);
        us_set(&sv, us_cat3(&a, &p->dec, &b));
        free(a.u), free(b.u);
    }
    while (sv.n > 0 && char_is(&sv, 0, &p->zero)) us_set(&sv, us_sub(&sv, 1, (long)sv.n));
    while (sv.n > 0 && char_is(&sv, (long)sv.n - 1, &p->zero)) us_set(&sv, us_sub(&sv, 0, (long)sv.n - 1));
    dpos = us_index(&sv, &p->dec, 0);
    long pad_left = pic->min_int - dpos, pad_right = pic->min_frac - ((long)sv.n - dpos - 1);
    us_t zl = repeat(&p->zero, pad_left), zr = repeat(&p->zero, pad_right);
    us_set(&sv, us_cat3(&zl, &sv, &zr));
    free(zl.u), free(zr.u);
    dpos = us_index(&sv, &p->dec, 0);
    if (pic->regular > 0) {
        long groups = (long)floor((double)(dpos - 1) / (double)pic->regular);
        for (long g = 1; g <= groups; g++) us_set(&sv, insert_at(&sv, dpos - g * pic->regular, &p->grp));
    } else {
        for (size_t i = 0; i < pic->nig; i++) {
            us_set(&sv, insert_at(&sv, dpos - pic->igroups[i], &p->grp));
            dpos++;
        }
    }
    dpos = us_index(&sv, &p->dec, 0);
    for (size_t i = 0; i < pic->nfg; i++) us_set(&sv, insert_at(&sv, pic->fgroups[i] + dpos + 1, &p->grp));
    dpos = us_index(&sv, &p->dec, 0);
    if (us_index(&pic->sub, &p->dec, 0) == -1 || dpos == (long)sv.n - 1) us_set(&sv, us_sub(&sv, 0, (long)sv.n - 1));
    if (has_exponent) {
        us_t se = make_string(p, (double)exponent, 0);
        long pl = pic->min_exp - (long)se.n;
        if (pl > 0) {
            us_t z = repeat(&p->zero, pl);
            us_set(&se, us_cat3(&z, &se, &(us_t){NULL, 0}));
            free(z.u);
        }
        us_t sign = exponent < 0 ? p->minus : (us_t){NULL, 0};
        us_t t = us_cat3(&sv, &p->exp, &sign);
        us_set(&sv, us_cat3(&t, &se, &(us_t){NULL, 0}));
        free(t.u), free(se.u);
    }
    us_set(&sv, us_cat3(&pic->prefix, &sv, &pic->suffix));
    return sv;
}

int jn_format_number(double v, const char *picture, const json_t *options, char **out, sy_jsonata_error_t *err)
{
    props_t p;
    props_load(&p, options);
    us_t pic = us_from(picture);
    /* picture.split(pattern-separator) */
    part_t parts[3];
    memset(parts, 0, sizeof parts);
    size_t np = 0;
    const char *code = NULL;
    if (p.pat.n == 0) {
        if (pic.n > 2) code = "D3080";
        else
            for (size_t i = 0; i < pic.n; i++) parts[np++].sub = us_sub(&pic, (long)i, (long)i + 1);
        if (pic.n == 0) parts[np++].sub = us_sub(&pic, 0, 0);
    } else {
        long from = 0;
        for (;;) {
            long at = us_index(&pic, &p.pat, from);
            if (np == 2) {
                code = "D3080";
                break;
            }
            parts[np++].sub = us_sub(&pic, from, at == -1 ? (long)pic.n : at);
            if (at == -1) break;
            from = at + (long)p.pat.n;
        }
    }
    free(pic.u);
    for (size_t i = 0; i < np && !code; i++) split_parts(&p, &parts[i]);
    for (size_t i = 0; i < np && !code; i++) {
        const char *e = validate(&p, &parts[i]);
        if (e) code = e;
    }
    int rc = 0;
    if (code) {
        rc = jn_fmt_fail(err, code, NULL);
    } else if (!isfinite(v)) {
        /* jsonata-js loops or prints garbage here; F&O's infinity/NaN texts */
        jn_sb_t sb = {0};
        if (v < 0) jn_sb_put_u16(&sb, p.minus.u, p.minus.n);
        if (isnan(v)) jn_sb_put_u16(&sb, p.nan.u, p.nan.n);
        else jn_sb_put_u16(&sb, p.inf.u, p.inf.n);
        *out = jn_sb_take(&sb);
    } else {
        for (size_t i = 0; i < np; i++) analyse(&p, &parts[i]);
        part_t neg;
        const part_t *use = &parts[0];
        if (!(v >= 0)) {
            if (np == 2) {
                use = &parts[1];
            } else {
                neg = parts[0];
                neg.prefix = us_cat3(&p.minus, &parts[0].prefix, &(us_t){NULL, 0});
                use = &neg;
            }
        }
        us_t r = format_with(&p, use, v);
        if (use == &neg) free(neg.prefix.u);
        jn_sb_t sb = {0};
        jn_sb_put_u16(&sb, r.u, r.n);
        free(r.u);
        *out = jn_sb_take(&sb);
    }
    for (size_t i = 0; i < np; i++) part_free(&parts[i]);
    props_free(&p);
    return rc;
}
