/* asl/jsonata/fmt_integer.c — XPath format-integer pictures as jsonata-js
 * reads them: decimal digit patterns (any Unicode digit family, optional '#'
 * digits, regular and irregular grouping, ';o' ordinals), roman numerals,
 * spreadsheet letters and English words; and their inverse for
 * $parseInteger; plus $formatBase. Grouping positions, padding and ordinal
 * suffixes count UTF-16 units, as JavaScript strings do. */
#include "asl/jsonata/fmt_internal.h"
#include "core/core.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const few[] = {"Zero", "One", "Two", "Three", "Four", "Five", "Six", "Seven", "Eight", "Nine", "Ten",
                                  "Eleven", "Twelve", "Thirteen", "Fourteen", "Fifteen", "Sixteen", "Seventeen",
                                  "Eighteen", "Nineteen"};
static const char *const ordinals[] = {"Zeroth", "First", "Second", "Third", "Fourth", "Fifth", "Sixth",
                                       "Seventh", "Eighth", "Ninth", "Tenth", "Eleventh", "Twelfth", "Thirteenth",
                                       "Fourteenth", "Fifteenth", "Sixteenth", "Seventeenth", "Eighteenth",
                                       "Nineteenth"};
static const char *const decades[] = {"Twenty", "Thirty", "Forty", "Fifty", "Sixty",
                                      "Seventy", "Eighty", "Ninety", "Hundred"};
static const char *const magnitudes[] = {"Thousand", "Million", "Billion", "Trillion"};

/* The lookup table of word values, in the key order of jsonata-js. */
static const struct {
    const char *w;
    double v;
} word_values[] = {
    {"zero", 0}, {"one", 1}, {"two", 2}, {"three", 3}, {"four", 4}, {"five", 5}, {"six", 6}, {"seven", 7},
    {"eight", 8}, {"nine", 9}, {"ten", 10}, {"eleven", 11}, {"twelve", 12}, {"thirteen", 13},
    {"fourteen", 14}, {"fifteen", 15}, {"sixteen", 16}, {"seventeen", 17}, {"eighteen", 18},
    {"nineteen", 19}, {"zeroth", 0}, {"first", 1}, {"second", 2}, {"third", 3}, {"fourth", 4},
    {"fifth", 5}, {"sixth", 6}, {"seventh", 7}, {"eighth", 8}, {"ninth", 9}, {"tenth", 10},
    {"eleventh", 11}, {"twelfth", 12}, {"thirteenth", 13}, {"fourteenth", 14}, {"fifteenth", 15},
    {"sixteenth", 16}, {"seventeenth", 17}, {"eighteenth", 18}, {"nineteenth", 19}, {"twenty", 20},
    {"twentieth", 20}, {"thirty", 30}, {"thirtieth", 30}, {"forty", 40}, {"fortieth", 40}, {"fifty", 50},
    {"fiftieth", 50}, {"sixty", 60}, {"sixtieth", 60}, {"seventy", 70}, {"seventieth", 70},
    {"eighty", 80}, {"eightieth", 80}, {"ninety", 90}, {"ninetieth", 90}, {"hundred", 100},
    {"hundreieth", 100}, {"hundredth", 100}, {"thousand", 1e3}, {"thousandth", 1e3}, {"million", 1e6},
    {"millionth", 1e6}, {"billion", 1e9}, {"billionth", 1e9}, {"trillion", 1e12}, {"trillionth", 1e12},
};
#define N_WORDS (sizeof word_values / sizeof word_values[0])

const char *const jn_word_keys[] = {
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
    "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "zeroth", "first",
    "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth", "eleventh",
    "twelfth", "thirteenth", "fourteenth", "fifteenth", "sixteenth", "seventeenth", "eighteenth",
    "nineteenth", "twenty", "twentieth", "thirty", "thirtieth", "forty", "fortieth", "fifty", "fiftieth",
    "sixty", "sixtieth", "seventy", "seventieth", "eighty", "eightieth", "ninety", "ninetieth", "hundred",
    "hundreieth", "hundredth", "thousand", "thousandth", "million", "millionth", "billion", "billionth",
    "trillion", "trillionth", NULL};

/* ------------------------------------------------------------ words */

static void words_lookup(jn_sb_t *sb, double num, bool prev, bool ord)
{
    if (num <= 19) {
        if (prev) jn_sb_puts(sb, " and ");
        int i = (int)num;
        jn_sb_puts(sb, ord ? ordinals[i] : few[i]);
    } else if (num < 100) {
        int tens = (int)floor(num / 10), rem = (int)fmod(num, 10);
        if (prev) jn_sb_puts(sb, " and ");
        jn_sb_puts(sb, decades[tens - 2]);
        if (rem > 0) {
            jn_sb_putc(sb, '-');
            words_lookup(sb, rem, false, ord);
        } else if (ord) {
            sb->n--; /* "Twenty" -> "Twentieth" */
            jn_sb_puts(sb, "ieth");
        }
    } else if (num < 1000) {
        int hundreds = (int)floor(num / 100), rem = (int)fmod(num, 100);
        if (prev) jn_sb_puts(sb, ", ");
        jn_sb_puts(sb, few[hundreds]);
        jn_sb_puts(sb, " Hundred");
        if (rem > 0) words_lookup(sb, rem, true, ord);
        else if (ord) jn_sb_puts(sb, "th");
    } else {
        int mag = (int)floor(log10(num) / 3);
        if (mag > 4) mag = 4;
        double factor = pow(10, mag * 3);
        double mant = floor(num / factor);
        double rem = num - mant * factor;
        if (prev) jn_sb_puts(sb, ", ");
        words_lookup(sb, mant, false, false);
        jn_sb_putc(sb, ' ');
        jn_sb_puts(sb, magnitudes[mag - 1]);
        if (rem > 0) words_lookup(sb, rem, true, ord);
        else if (ord) jn_sb_puts(sb, "th");
    }
}

static double words_to_number(const uint32_t *s, size_t n)
{
    double segs[64];
    size_t ns = 1;
    segs[0] = 0;
    size_t start = 0, i = 0;
    double total_nan = 0;
    for (;;) {
        size_t seplen = 0;
        if (i < n) {
            if (s[i] == ',' && i + 1 < n && jn_is_js_space(s[i + 1])) seplen = 2;
            else if (jn_is_js_space(s[i]) && i + 4 < n && s[i + 1] == 'a' && s[i + 2] == 'n' && s[i + 3] == 'd' &&
                     jn_is_js_space(s[i + 4]))
                seplen = 5;
            else if (jn_is_js_space(s[i]) || s[i] == '\\' || s[i] == '-') seplen = 1;
            if (!seplen) {
                i++;
                continue;
            }
        }
        /* the part s[start..i) */
        double value = NAN;
        size_t len = i - start;
        for (size_t w = 0; w < N_WORDS; w++) {
            size_t wl = strlen(word_values[w].w);
            if (wl != len) continue;
            size_t k = 0;
            while (k < len && s[start + k] == (unsigned char)word_values[w].w[k]) k++;
            if (k == len) {
                value = word_values[w].v;
                break;
            }
        }
        if (value < 100) {
            double top = segs[--ns];
            if (top >= 1000) {
                segs[ns++] = top;
                top = 0;
            }
            if (ns < 64) segs[ns++] = top + value;
            else total_nan = NAN;
        } else {
            segs[ns - 1] = segs[ns - 1] * value;
        }
        if (i >= n) break;
        i += seplen;
        start = i;
    }
    double r = 0;
    for (size_t k = 0; k < ns; k++) r += segs[k];
    return r + total_nan;
}

/* ------------------------------------------------------------ analyse */

static const uint32_t decimal_groups[] = {
    0x30,   0x0660, 0x06F0, 0x07C0, 0x0966, 0x09E6, 0x0A66, 0x0AE6, 0x0B66, 0x0BE6, 0x0C66, 0x0CE6, 0x0D66,
    0x0DE6, 0x0E50, 0x0ED0, 0x0F20, 0x1040, 0x1090, 0x17E0, 0x1810, 0x1946, 0x19D0, 0x1A80, 0x1A90, 0x1B50,
    0x1BB0, 0x1C40, 0x1C50, 0xA620, 0xA8D0, 0xA900, 0xA9D0, 0xA9F0, 0xAA50, 0xABF0, 0xFF10};

static int gcd(int a, int b)
{
    return b == 0 ? a : gcd(b, a % b);
}

int jn_intpic_analyse(const char *pic, size_t len, jn_intpic_t *f, sy_jsonata_error_t *err)
{
    memset(f, 0, sizeof *f);
    f->primary = JN_INT_DECIMAL;
    f->tcase = JN_CASE_LOWER;
    f->mandatory = -1;
    size_t plen = len;
    for (size_t i = len; i > 0; i--) {
        if (pic[i - 1] == ';') {
            plen = i - 1;
            if (i < len && pic[i] == 'o') f->ordinal = true;
            break;
        }
    }
    struct {
        const char *s;
        jn_int_kind_t k;
        jn_case_t c;
    } named[] = {{"A", JN_INT_LETTERS, JN_CASE_UPPER}, {"a", JN_INT_LETTERS, JN_CASE_LOWER},
                 {"I", JN_INT_ROMAN, JN_CASE_UPPER},   {"i", JN_INT_ROMAN, JN_CASE_LOWER},
                 {"W", JN_INT_WORDS, JN_CASE_UPPER},   {"Ww", JN_INT_WORDS, JN_CASE_TITLE},
                 {"w", JN_INT_WORDS, JN_CASE_LOWER}};
    for (size_t i = 0; i < sizeof named / sizeof named[0]; i++) {
        if (strlen(named[i].s) == plen && !memcmp(named[i].s, pic, plen)) {
            f->primary = named[i].k;
            f->tcase = named[i].c;
            return 0;
        }
    }
    uint32_t *cps;
    size_t n = jn_utf8_cps(pic, plen, &cps);
    uint32_t zero = 0;
    bool have_zero = false;
    int mandatory = 0, optional = 0, seppos = 0;
    f->seps = sy_malloc((n + 1) * sizeof *f->seps);
    for (size_t r = n; r > 0; r--) {
        uint32_t cp = cps[r - 1];
        bool digit = false;
        for (size_t g = 0; g < sizeof decimal_groups / sizeof decimal_groups[0]; g++) {
            uint32_t grp = decimal_groups[g];
            if (cp >= grp && cp <= grp + 9) {
                digit = true;
                mandatory++;
                seppos++;
                if (!have_zero) {
                    zero = grp;
                    have_zero = true;
                } else if (grp != zero) {
                    free(cps);
                    jn_intpic_free(f);
                    return jn_fmt_fail(err, "D3131", NULL);
                }
                break;
            }
        }
        if (digit) continue;
        if (cp == '#') {
            seppos++;
            optional++;
        } else {
            f->seps[f->nseps].position = seppos;
            f->seps[f->nseps].ch = cp;
            f->nseps++;
        }
    }
    free(cps);
    if (mandatory > 0) {
        f->primary = JN_INT_DECIMAL;
        f->zero = zero;
        f->mandatory = mandatory;
        f->optional = optional;
        int factor = 0;
        if (f->nseps > 0) {
            bool same = true;
            for (size_t i = 1; i < f->nseps; i++)
                if (f->seps[i].ch != f->seps[0].ch) same = false;
            if (same) {
                factor = f->seps[0].position;
                for (size_t i = 1; i < f->nseps; i++) factor = gcd(factor, f->seps[i].position);
                for (size_t k = 1; k <= f->nseps && factor > 0; k++) {
                    bool found = false;
                    for (size_t i = 0; i < f->nseps; i++)
                        if (f->seps[i].position == (int)k * factor) found = true;
                    if (!found) factor = 0;
                }
            }
        }
        if (factor > 0) {
            f->regular = true;
            f->reg_pos = factor;
            f->reg_ch = f->seps[0].ch;
        }
    } else {
        f->primary = JN_INT_SEQUENCE;
        f->token = sy_strndup(pic, plen);
    }
    return 0;
}

void jn_intpic_free(jn_intpic_t *f)
{
    free(f->seps);
    free(f->token);
    f->seps = NULL;
    f->token = NULL;
    f->nseps = 0;
}

/* ------------------------------------------------------------ format */

typedef struct {
    uint16_t *u;
    size_t n, cap;
} u16v_t;

static void u16_insert(u16v_t *v, size_t at, uint32_t cp)
{
    size_t k = cp >= 0x10000 ? 2 : 1;
    if (v->n + k > v->cap) {
        v->cap = (v->n + k) * 2 + 8;
        v->u = sy_realloc(v->u, v->cap * sizeof *v->u);
    }
    memmove(v->u + at + k, v->u + at, (v->n - at) * sizeof *v->u);
    if (k == 2) {
        cp -= 0x10000;
        v->u[at] = (uint16_t)(0xD800 + (cp >> 10));
        v->u[at + 1] = (uint16_t)(0xDC00 + (cp & 0x3FF));
    } else {
        v->u[at] = (uint16_t)cp;
    }
    v->n += k;
}

/* str.substr(0, pos) + sep + str.substr(pos) with JS's negative rules. */
static void substr_insert(u16v_t *v, long pos, uint32_t cp)
{
    long len = (long)v->n;
    if (pos >= 0) {
        u16_insert(v, (size_t)(pos > len ? len : pos), cp);
        return;
    }
    long start = len + pos < 0 ? 0 : len + pos; /* substr(pos): the tail from start */
    /* substr(0, negative) is empty: keep only the tail */
    memmove(v->u, v->u + start, (size_t)(len - start) * sizeof *v->u);
    v->n = (size_t)(len - start);
    u16_insert(v, 0, cp);
}

static int format_decimal(double value, const jn_intpic_t *f, jn_sb_t *out)
{
    char num[40];
    jn_js_number(value, num);
    u16v_t v = {0};
    size_t nl = strlen(num);
    int pad = f->mandatory - (int)nl;
    for (int i = 0; i < pad; i++) u16_insert(&v, v.n, '0');
    for (size_t i = 0; i < nl; i++) u16_insert(&v, v.n, (unsigned char)num[i]);
    if (f->zero != 0x30)
        for (size_t i = 0; i < v.n; i++) v.u[i] = (uint16_t)(v.u[i] + f->zero - 0x30);
    if (f->regular) {
        long n = ((long)v.n - 1) / f->reg_pos;
        for (long ii = n; ii > 0; ii--) substr_insert(&v, (long)v.n - ii * f->reg_pos, f->reg_ch);
    } else {
        for (size_t i = f->nseps; i > 0; i--) substr_insert(&v, (long)v.n - f->seps[i - 1].position, f->seps[i - 1].ch);
    }
    if (f->ordinal) {
        uint16_t last = v.n ? v.u[v.n - 1] : 0;
        const char *suffix = last == '1' ? "st" : last == '2' ? "nd" : last == '3' ? "rd" : "th";
        if (v.n > 1 && v.u[v.n - 2] == '1') suffix = "th";
        u16_insert(&v, v.n, (unsigned char)suffix[0]);
        u16_insert(&v, v.n, (unsigned char)suffix[1]);
    }
    jn_sb_put_u16(out, v.u, v.n);
    free(v.u);
    return 0;
}

int jn_intpic_format(double value, const jn_intpic_t *f, jn_sb_t *out, sy_jsonata_error_t *err)
{
    bool negative = value < 0;
    value = fabs(value);
    jn_sb_t s = {0};
    switch (f->primary) {
    case JN_INT_LETTERS: {
        if (isinf(value)) return jn_fmt_fail(err, "D1011", NULL);
        char buf[256];
        size_t k = sizeof buf;
        while (value > 0 && k > 0) {
            buf[--k] = (char)((int)fmod(value - 1, 26) + (f->tcase == JN_CASE_UPPER ? 'A' : 'a'));
            value = floor((value - 1) / 26);
        }
        jn_sb_putn(&s, buf + k, sizeof buf - k);
        break;
    }
    case JN_INT_ROMAN: {
        static const struct {
            int v;
            const char *s;
        } rn[] = {{1000, "m"}, {900, "cm"}, {500, "d"}, {400, "cd"}, {100, "c"}, {90, "xc"}, {50, "l"},
                  {40, "xl"},  {10, "x"},   {9, "ix"},  {5, "v"},    {4, "iv"},  {1, "i"}};
        if (value >= 1e7) return jn_fmt_fail(err, "D1011", NULL); /* jsonata-js overflows its stack */
        for (size_t i = 0; i < sizeof rn / sizeof rn[0]; i++)
            while (value >= rn[i].v) {
                jn_sb_puts(&s, rn[i].s);
                value -= rn[i].v;
            }
        if (f->tcase == JN_CASE_UPPER)
            for (size_t i = 0; i < s.n; i++) s.p[i] = (char)(s.p[i] - 'a' + 'A');
        break;
    }
    case JN_INT_WORDS:
        if (!isfinite(value)) return jn_fmt_fail(err, "D1011", NULL);
        words_lookup(&s, value, false, f->ordinal);
        for (size_t i = 0; i < s.n; i++) {
            if (f->tcase == JN_CASE_UPPER && s.p[i] >= 'a' && s.p[i] <= 'z') s.p[i] = (char)(s.p[i] - 32);
            if (f->tcase == JN_CASE_LOWER && s.p[i] >= 'A' && s.p[i] <= 'Z') s.p[i] = (char)(s.p[i] + 32);
        }
        break;
    case JN_INT_DECIMAL:
        format_decimal(value, f, &s);
        break;
    case JN_INT_SEQUENCE:
        return jn_fmt_fail(err, "D3130", json_string(f->token ? f->token : ""));
    }
    if (negative) jn_sb_putc(out, '-');
    if (s.n) jn_sb_putn(out, s.p, s.n);
    jn_sb_free(&s);
    return 0;
}

/* ------------------------------------------------------------ parse */

double jn_intpic_value(const char *s, size_t len, const jn_intpic_t *f)
{
    uint16_t *u;
    size_t n = jn_utf8_u16(s, len, &u);
    double r = NAN;
    switch (f->primary) {
    case JN_INT_LETTERS: {
        int a = f->tcase == JN_CASE_UPPER ? 'A' : 'a';
        r = 0;
        for (size_t i = 0; i < n; i++) r += ((double)u[n - i - 1] - a + 1) * pow(26, (double)i);
        break;
    }
    case JN_INT_ROMAN: {
        double dec = 0, max = 1;
        for (size_t i = n; i > 0; i--) {
            uint16_t c = u[i - 1];
            if (f->tcase != JN_CASE_UPPER && c >= 'a' && c <= 'z') c = (uint16_t)(c - 32);
            double v = c == 'M' ? 1000 : c == 'D' ? 500 : c == 'C' ? 100 : c == 'L' ? 50 : c == 'X' ? 10 : c == 'V' ? 5 : c == 'I' ? 1 : NAN;
            if (isnan(v)) {
                dec = NAN;
                break;
            }
            if (v < max) {
                dec -= v;
            } else {
                max = v;
                dec += v;
            }
        }
        r = dec;
        break;
    }
    case JN_INT_WORDS: {
        uint32_t *cps;
        size_t m = jn_utf8_cps(s, len, &cps);
        for (size_t i = 0; i < m; i++)
            if (cps[i] >= 'A' && cps[i] <= 'Z') cps[i] += 32;
        r = words_to_number(cps, m);
        free(cps);
        break;
    }
    case JN_INT_DECIMAL: {
        size_t m = n;
        if (f->ordinal) m = m >= 2 ? m - 2 : 0;
        uint16_t *d = sy_malloc((m + 1) * sizeof *d);
        size_t k = 0;
        for (size_t i = 0; i < m; i++) {
            bool sep = false;
            if (f->regular) {
                sep = u[i] == ',';
            } else {
                for (size_t j = 0; j < f->nseps && !sep; j++) {
                    uint32_t c = f->seps[j].ch;
                    if (c < 0x10000) sep = u[i] == c;
                    else if (i + 1 < m && u[i] == 0xD800 + ((c - 0x10000) >> 10) &&
                             u[i + 1] == 0xDC00 + ((c - 0x10000) & 0x3FF)) {
                        sep = true;
                        i++;
                    }
                }
            }
            if (!sep) d[k++] = u[i];
        }
        bool bad = false;
        if (f->zero != 0x30)
            for (size_t i = 0; i < k; i++) {
                long c = (long)d[i] - (long)f->zero + 0x30;
                if (c < 0) bad = true; /* jsonata-js: a RangeError from String.fromCodePoint */
                d[i] = (uint16_t)c;
            }
        r = bad ? NAN : jn_js_parse_int_u16(d, k);
        free(d);
        break;
    }
    case JN_INT_SEQUENCE:
        break;
    }
    free(u);
    return r;
}

/* ------------------------------------------------------------ API */

int jn_format_integer(double v, const char *picture, char **out, sy_jsonata_error_t *err)
{
    jn_intpic_t f;
    if (jn_intpic_analyse(picture, strlen(picture), &f, err)) return -1;
    jn_sb_t sb = {0};
    int rc = jn_intpic_format(floor(v), &f, &sb, err);
    jn_intpic_free(&f);
    if (rc) {
        jn_sb_free(&sb);
        return -1;
    }
    *out = jn_sb_take(&sb);
    return 0;
}

int jn_parse_integer(const char *s, const char *picture, double *out, bool *undefined, sy_jsonata_error_t *err)
{
    jn_intpic_t f;
    *undefined = false;
    if (jn_intpic_analyse(picture, strlen(picture), &f, err)) return -1;
    if (f.primary == JN_INT_SEQUENCE) {
        int rc = jn_fmt_fail(err, "D3130", json_string(f.token));
        jn_intpic_free(&f);
        return rc;
    }
    *out = jn_intpic_value(s, strlen(s), &f);
    jn_intpic_free(&f);
    return 0;
}

/* Number.prototype.toString(radix) of an integral |v| as V8 writes it
 * (DoubleToRadixCString): digits beyond a double's precision are written as
 * zeros after dividing in floating point. Reversed into buf. */
static size_t radix_digits(double v, int radix, char *buf)
{
    static const char dig[] = "0123456789abcdefghijklmnopqrstuvwxyz";
    size_t k = 0;
    double integer = floor(v);
    while (integer / radix >= 9007199254740992.0) { /* Double(integer / radix).Exponent() > 0 */
        integer /= radix;
        buf[k++] = '0';
    }
    do {
        double rem = fmod(integer, radix);
        buf[k++] = dig[(int)rem];
        integer = (integer - rem) / radix;
    } while (integer > 0);
    return k;
}

int jn_format_base(double v, double radix, char **out, sy_jsonata_error_t *err)
{
    v = jn_js_round(v, 0);
    radix = isnan(radix) ? 10 : jn_js_round(radix, 0);
    if (!(radix >= 2 && radix <= 36)) return jn_fmt_fail(err, "D3100", jn_num_value(radix));
    if (radix == 10 || !isfinite(v)) {
        char b[40];
        jn_js_number(v, b);
        *out = sy_strdup(b);
        return 0;
    }
    char buf[1400];
    size_t k = radix_digits(fabs(v), (int)radix, buf);
    jn_sb_t sb = {0};
    if (v < 0) jn_sb_putc(&sb, '-');
    while (k > 0) jn_sb_putc(&sb, buf[--k]);
    *out = jn_sb_take(&sb);
    return 0;
}
