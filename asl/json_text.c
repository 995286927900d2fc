/* asl/json_text.c - JSON text as the States Language prints it (compact
 * dumps, States.Format's Java-style rendering, real numbers), lenient
 * parsing and RFC 3339 timestamps. Allocation, UUIDs and clocks are core's. */
#include "asl/internal.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char *p;
    size_t n, cap;
    bool count; /* only count the bytes (asl_dump_len) */
} sbuf_t;

static void sb_put(sbuf_t *b, const char *s, size_t n)
{
    if (b->count) {
        b->n += n;
        return;
    }
    if (b->n + n + 1 > b->cap) {
        size_t cap = (b->cap + n + 1) * 2;
        char *np = sy_malloc(cap);
        if (b->p)
            memcpy(np, b->p, b->n);
        free(b->p);
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
}

static void sb_puts(sbuf_t *b, const char *s)
{
    sb_put(b, s, strlen(s));
}

void asl_format_real(double d, char out[40])
{
    if (d == floor(d) && fabs(d) < 1e16) {
        snprintf(out, 40, "%.1f", d);
        return;
    }
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(out, 40, "%.*g", prec, d);
        if (strtod(out, NULL) == d)
            return;
    }
}

/* A JSON string literal, escaped as jansson's json_dumps does (UTF-8 kept,
 * "/" not escaped, other control characters as \u00XX). */
static void dump_chars(sbuf_t *b, const char *s, size_t n)
{
    sb_put(b, "\"", 1);
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        sb_put(b, s + run, i - run);
        run = i + 1;
        char esc[8];
        switch (c) {
        case '"': sb_put(b, "\\\"", 2); break;
        case '\\': sb_put(b, "\\\\", 2); break;
        case '\b': sb_put(b, "\\b", 2); break;
        case '\f': sb_put(b, "\\f", 2); break;
        case '\n': sb_put(b, "\\n", 2); break;
        case '\r': sb_put(b, "\\r", 2); break;
        case '\t': sb_put(b, "\\t", 2); break;
        default:
            snprintf(esc, sizeof esc, "\\u%04X", c);
            sb_put(b, esc, 6);
        }
    }
    sb_put(b, s + run, n - run);
    sb_put(b, "\"", 1);
}

static void dump_string(sbuf_t *b, const json_t *v)
{
    dump_chars(b, json_string_value(v), json_string_length(v));
}

/* java: Map.toString / List.toString style used by States.Format */
static void dump(sbuf_t *b, const json_t *v, bool java)
{
    char num[40];
    const char *k;
    json_t *e;
    size_t i;
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        sb_puts(b, "{");
        i = 0;
        json_object_foreach((json_t *)v, k, e)
        {
            if (i++)
                sb_puts(b, java ? ", " : ",");
            if (java) {
                sb_puts(b, k);
                sb_puts(b, "=");
            } else {
                dump_chars(b, k, strlen(k));
                sb_puts(b, ":");
            }
            dump(b, e, java);
        }
        sb_puts(b, "}");
        break;
    case JSON_ARRAY:
        sb_puts(b, "[");
        json_array_foreach(v, i, e)
        {
            if (i)
                sb_puts(b, java ? ", " : ",");
            dump(b, e, java);
        }
        sb_puts(b, "]");
        break;
    case JSON_STRING:
        if (java)
            sb_put(b, json_string_value(v), json_string_length(v));
        else
            dump_string(b, v);
        break;
    case JSON_INTEGER:
        snprintf(num, sizeof num, "%lld", (long long)json_integer_value(v));
        sb_puts(b, num);
        break;
    case JSON_REAL:
        asl_format_real(json_real_value(v), num);
        sb_puts(b, num);
        break;
    case JSON_TRUE:
        sb_puts(b, "true");
        break;
    case JSON_FALSE:
        sb_puts(b, "false");
        break;
    case JSON_NULL:
        sb_puts(b, "null");
        break;
    }
}

char *asl_dumps(const json_t *v)
{
    sbuf_t b = {0};
    dump(&b, v, false);
    return b.p ? b.p : sy_strdup("");
}

size_t asl_dump_len(const json_t *v)
{
    sbuf_t b = {.count = true};
    dump(&b, v, false);
    return b.n;
}

char *asl_format_java(const json_t *v)
{
    sbuf_t b = {0};
    dump(&b, v, true);
    return b.p ? b.p : sy_strdup("");
}

json_t *asl_loads_any(const char *s, size_t n)
{
    return json_loadb(s, n, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
}

bool asl_is_int(const json_t *v)
{
    if (json_is_integer(v))
        return true;
    if (json_is_real(v)) {
        double d = json_real_value(v);
        return d == floor(d) && fabs(d) < 9.2e18;
    }
    return false;
}

static int digits(const char **p, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)**p))
            return -1;
        v = v * 10 + (**p - '0');
        (*p)++;
    }
    return v;
}

static int64_t days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static bool leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

bool asl_parse_timestamp(const char *s, int64_t *epoch_ms)
{
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    const char *p = s;
    int y = digits(&p, 4);
    if (y < 0 || *p++ != '-')
        return false;
    int mo = digits(&p, 2);
    if (mo < 1 || mo > 12 || *p++ != '-')
        return false;
    int d = digits(&p, 2);
    int dim = mdays[mo - 1] + (mo == 2 && leap(y));
    if (d < 1 || d > dim || (*p != 'T' && *p != 't'))
        return false;
    p++;
    int h = digits(&p, 2);
    if (h < 0 || h > 23 || *p++ != ':')
        return false;
    int mi = digits(&p, 2);
    if (mi < 0 || mi > 59 || *p++ != ':')
        return false;
    int se = digits(&p, 2);
    if (se < 0 || se > 60)
        return false;
    int64_t ms = 0;
    if (*p == '.') {
        p++;
        int n = 0, scale = 100;
        while (isdigit((unsigned char)*p)) {
            if (n < 3)
                ms += (*p - '0') * scale;
            scale /= 10;
            n++;
            p++;
        }
        if (n == 0)
            return false;
    }
    int off = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p == '-' ? -1 : 1;
        p++;
        int oh = digits(&p, 2);
        if (oh < 0 || oh > 23 || *p++ != ':')
            return false;
        int om = digits(&p, 2);
        if (om < 0 || om > 59)
            return false;
        off = sign * (oh * 60 + om);
    } else {
        return false;
    }
    if (*p)
        return false;
    int64_t secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se - off * 60;
    if (epoch_ms)
        *epoch_ms = secs * 1000 + ms;
    return true;
}
