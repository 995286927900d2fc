/* asl/jsonata/fmt_util.c — helpers of the picture-string functions: a byte
 * string builder, UTF-8 <-> code points / UTF-16 units, JavaScript's number
 * text, Math.round, $round and parseInt, and the error messages of the codes
 * these functions raise (templates of error-messages.json). */
#include "asl/jsonata/fmt_internal.h"
#include "core/core.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ builder */

static void sb_grow(jn_sb_t *sb, size_t more)
{
    if (sb->n + more + 1 <= sb->cap) return;
    size_t cap = sb->cap ? sb->cap : 32;
    while (cap < sb->n + more + 1) cap *= 2;
    sb->p = sy_realloc(sb->p, cap);
    sb->cap = cap;
}

void jn_sb_putn(jn_sb_t *sb, const char *s, size_t n)
{
    sb_grow(sb, n);
    if (n) memcpy(sb->p + sb->n, s, n);
    sb->n += n;
    sb->p[sb->n] = '\0';
}

void jn_sb_puts(jn_sb_t *sb, const char *s)
{
    jn_sb_putn(sb, s, strlen(s));
}

void jn_sb_putc(jn_sb_t *sb, char c)
{
    jn_sb_putn(sb, &c, 1);
}

void jn_sb_put_cp(jn_sb_t *sb, uint32_t cp)
{
    char b[4];
    if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) cp = 0xFFFD;
    if (cp < 0x80) {
        b[0] = (char)cp;
        jn_sb_putn(sb, b, 1);
    } else if (cp < 0x800) {
        b[0] = (char)(0xC0 | (cp >> 6));
        b[1] = (char)(0x80 | (cp & 0x3F));
        jn_sb_putn(sb, b, 2);
    } else if (cp < 0x10000) {
        b[0] = (char)(0xE0 | (cp >> 12));
        b[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        b[2] = (char)(0x80 | (cp & 0x3F));
        jn_sb_putn(sb, b, 3);
    } else {
        b[0] = (char)(0xF0 | (cp >> 18));
        b[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        b[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        b[3] = (char)(0x80 | (cp & 0x3F));
        jn_sb_putn(sb, b, 4);
    }
}

char *jn_sb_take(jn_sb_t *sb)
{
    char *p = sb->p ? sb->p : sy_strdup("");
    sb->p = NULL;
    sb->n = sb->cap = 0;
    return p;
}

void jn_sb_free(jn_sb_t *sb)
{
    free(sb->p);
    sb->p = NULL;
    sb->n = sb->cap = 0;
}

/* ------------------------------------------------------------ Unicode */

/* One code point from s[*i..len); bad or truncated sequences give U+FFFD
 * and consume one byte. */
static uint32_t utf8_next(const unsigned char *s, size_t len, size_t *i)
{
    unsigned c = s[*i];
    size_t need;
    uint32_t cp, min;
    if (c < 0x80) {
        (*i)++;
        return c;
    } else if ((c & 0xE0) == 0xC0) {
        need = 1, cp = c & 0x1F, min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
        need = 2, cp = c & 0x0F, min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
        need = 3, cp = c & 0x07, min = 0x10000;
    } else {
        (*i)++;
        return 0xFFFD;
    }
    if (*i + need >= len) {
        (*i)++;
        return 0xFFFD;
    }
    for (size_t k = 1; k <= need; k++) {
        unsigned d = s[*i + k];
        if ((d & 0xC0) != 0x80) {
            (*i)++;
            return 0xFFFD;
        }
        cp = (cp << 6) | (d & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
        (*i)++;
        return 0xFFFD;
    }
    *i += need + 1;
    return cp;
}

size_t jn_utf8_cps(const char *s, size_t len, uint32_t **out)
{
    uint32_t *a = sy_malloc((len + 1) * sizeof *a);
    size_t n = 0, i = 0;
    while (i < len) a[n++] = utf8_next((const unsigned char *)s, len, &i);
    *out = a;
    return n;
}

size_t jn_utf8_u16(const char *s, size_t len, uint16_t **out)
{
    uint16_t *a = sy_malloc((2 * len + 1) * sizeof *a);
    size_t n = 0, i = 0;
    while (i < len) {
        uint32_t cp = utf8_next((const unsigned char *)s, len, &i);
        if (cp >= 0x10000) {
            cp -= 0x10000;
            a[n++] = (uint16_t)(0xD800 + (cp >> 10));
            a[n++] = (uint16_t)(0xDC00 + (cp & 0x3FF));
        } else {
            a[n++] = (uint16_t)cp;
        }
    }
    *out = a;
    return n;
}

void jn_sb_put_u16(jn_sb_t *sb, const uint16_t *u, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t c = u[i];
        if (c >= 0xD800 && c <= 0xDBFF && i + 1 < n && u[i + 1] >= 0xDC00 && u[i + 1] <= 0xDFFF) {
            c = 0x10000 + ((c - 0xD800) << 10) + (u[i + 1] - 0xDC00u);
            i++;
        }
        jn_sb_put_cp(sb, c);
    }
}

bool jn_is_js_space(uint32_t c)
{
    return c == 0x09 || c == 0x0A || c == 0x0B || c == 0x0C || c == 0x0D || c == 0x20 || c == 0xA0 ||
           c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F ||
           c == 0x205F || c == 0x3000 || c == 0xFEFF;
}

/* ------------------------------------------------------------ numbers */

/* Shortest round-trip digits of a finite v != 0: digits (no dot, no
 * trailing zeros) and n, with |v| = 0.d1d2... * 10^n. */
static void shortest(double v, char digits[24], int *n)
{
    char buf[40];
    /* When 15 significant digits round-trip, they are the shortest form once
     * trailing zeros go (any shorter decimal that round-trips lies within half
     * a unit of the 15th digit, so rounding to 15 digits gives it). Else the
     * shortest has 16 or 17 digits, and the correctly rounded one of that
     * length is the closest, which is JavaScript's choice. Subnormals have
     * less precision: every length is tried. */
    for (int p = fabs(v) < 2.2250738585072014e-308 ? 1 : 15; p <= 17; p++) {
        snprintf(buf, sizeof buf, "%.*e", p - 1, fabs(v));
        if (strtod(buf, NULL) == fabs(v)) break;
    }
    size_t k = 0;
    const char *q = buf;
    for (; *q && *q != 'e'; q++)
        if (*q >= '0' && *q <= '9') digits[k++] = *q;
    while (k > 1 && digits[k - 1] == '0') k--;
    digits[k] = '\0';
    *n = atoi(q + 1) + 1;
}

void jn_js_number(double v, char out[40])
{
    if (isnan(v)) {
        strcpy(out, "NaN");
        return;
    }
    if (isinf(v)) {
        strcpy(out, v < 0 ? "-Infinity" : "Infinity");
        return;
    }
    if (v == 0) {
        strcpy(out, "0");
        return;
    }
    if (v == floor(v) && fabs(v) < 9007199254740992.0) { /* integers: their digits */
        snprintf(out, 40, "%.0f", v);
        return;
    }
    char d[24];
    int n;
    shortest(v, d, &n);
    int k = (int)strlen(d);
    char *o = out;
    if (v < 0) *o++ = '-';
    if (k <= n && n <= 21) {
        memcpy(o, d, (size_t)k);
        o += k;
        for (int i = 0; i < n - k; i++) *o++ = '0';
    } else if (0 < n && n <= 21) {
        memcpy(o, d, (size_t)n);
        o += n;
        *o++ = '.';
        memcpy(o, d + n, (size_t)(k - n));
        o += k - n;
    } else if (-6 < n && n <= 0) {
        *o++ = '0';
        *o++ = '.';
        for (int i = 0; i < -n; i++) *o++ = '0';
        memcpy(o, d, (size_t)k);
        o += k;
    } else {
        *o++ = d[0];
        if (k > 1) {
            *o++ = '.';
            memcpy(o, d + 1, (size_t)(k - 1));
            o += k - 1;
        }
        o += sprintf(o, "e%c%d", n - 1 >= 0 ? '+' : '-', abs(n - 1));
    }
    *o = '\0';
}

double jn_js_math_round(double x)
{
    if (!isfinite(x) || x == floor(x)) return x;
    double r = floor(x);
    if (x - r >= 0.5) r += 1;
    return r;
}

/* +(mantissa + 'e' + (exp + shift)) of x's JS text. */
static double shift_decimal(double x, int shift)
{
    if (!isfinite(x)) return NAN;
    char s[40], buf[80];
    jn_js_number(x, s);
    char *e = strchr(s, 'e');
    long ex = 0;
    if (e) {
        *e = '\0';
        ex = strtol(e + 1, NULL, 10);
    }
    snprintf(buf, sizeof buf, "%se%ld", s, ex + shift);
    return strtod(buf, NULL);
}

double jn_js_round(double x, int precision)
{
    if (precision) x = shift_decimal(x, precision);
    double r = jn_js_math_round(x);
    double diff = r - x;
    if (fabs(diff) == 0.5 && fabs(fmod(r, 2)) == 1) r -= 1;
    if (precision) r = shift_decimal(r, -precision);
    if (r == 0) r = 0; /* no -0 */
    return r;
}

double jn_js_parse_int_u16(const uint16_t *u, size_t n)
{
    size_t i = 0;
    while (i < n && jn_is_js_space(u[i])) i++;
    int sign = 1;
    if (i < n && (u[i] == '+' || u[i] == '-')) {
        if (u[i] == '-') sign = -1;
        i++;
    }
    int radix = 10;
    if (i + 1 < n && u[i] == '0' && (u[i + 1] == 'x' || u[i + 1] == 'X')) {
        radix = 16;
        i += 2;
    }
    char buf[400];
    size_t k = 0;
    double acc = 0;
    bool any = false;
    if (radix == 10)
        while (i < n && u[i] == '0') i++, any = true;
    for (; i < n; i++) {
        int d;
        uint16_t c = u[i];
        if (c >= '0' && c <= '9') d = c - '0';
        else if (radix == 16 && c >= 'a' && c <= 'f') d = c - 'a' + 10;
        else if (radix == 16 && c >= 'A' && c <= 'F') d = c - 'A' + 10;
        else break;
        any = true;
        if (radix == 16) acc = acc * 16 + d;
        else if (k < sizeof buf - 8) buf[k++] = (char)c;
        else acc += 1; /* counts the digits past the buffer */
    }
    if (!any) return NAN;
    if (radix == 10) {
        double extra = acc;
        buf[k] = '\0';
        if (extra > 0) snprintf(buf + k, 8, "e%d", (int)extra);
        acc = strtod(buf, NULL);
    }
    return sign * acc;
}

double jn_js_parse_int(const char *s)
{
    uint16_t *u;
    size_t n = jn_utf8_u16(s, strlen(s), &u);
    double v = jn_js_parse_int_u16(u, n);
    free(u);
    return v;
}

/* ------------------------------------------------------------ errors */

/* the message templates: the evaluator's table (errors_table.c), generated
 * from the reference's error-messages.json */
extern const struct {
    const char *code, *text;
} jn_error_templates[];

json_t *jn_num_value(double v)
{
    if (isfinite(v) && v == floor(v) && fabs(v) <= 9007199254740992.0) return json_integer((json_int_t)v);
    return json_real(v);
}

/* JSON.stringify of a message value ("undefined" when there is none). */
static void put_json(jn_sb_t *sb, const json_t *v)
{
    if (!v) {
        jn_sb_puts(sb, "undefined");
    } else if (json_is_real(v) || json_is_integer(v)) {
        char b[40];
        jn_js_number(json_number_value(v), b);
        jn_sb_puts(sb, isfinite(json_number_value(v)) ? b : "null");
    } else {
        char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
        if (s) jn_sb_puts(sb, s);
        free(s);
    }
}

int jn_fmt_fail(sy_jsonata_error_t *err, const char *code, json_t *value)
{
    if (!err) {
        json_decref(value);
        return -1;
    }
    snprintf(err->code, sizeof err->code, "%s", code);
    err->position = -1;
    err->token = NULL;
    err->value = value;
    const char *t = NULL;
    for (size_t i = 0; jn_error_templates[i].code; i++)
        if (!strcmp(jn_error_templates[i].code, code)) t = jn_error_templates[i].text;
    jn_sb_t sb = {0};
    if (!t) t = code;
    for (const char *p = t; *p;) {
        if (!strncmp(p, "{{value}}", 9)) {
            put_json(&sb, value);
            p += 9;
        } else {
            jn_sb_putc(&sb, *p++);
        }
    }
    err->message = jn_sb_take(&sb);
    return -1;
}
