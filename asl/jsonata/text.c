/* asl/jsonata/text.c — numbers and JSON text as JavaScript prints them:
 * Number.prototype.toString (shortest round trip, JS exponent rules),
 * toPrecision(15), and JSON.stringify with the reference's $string replacer. */
#include "internal.h"

#include "../../core/core.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* shortest digits that round-trip: digits in d (no dot), returns the decimal
 * exponent e such that value = 0.d * 10^(e) ... we return n = e10 + 1 */
static int shortest(double v, char *d, int *ndig) {
    char tmp[40];
    for (int p = 1; p <= 17; p++) {
        snprintf(tmp, sizeof tmp, "%.*e", p - 1, v);
        if (strtod(tmp, NULL) == v || p == 17) {
            int k = 0;
            char *q = tmp;
            for (; *q && *q != 'e'; q++)
                if (*q >= '0' && *q <= '9') d[k++] = *q;
            d[k] = 0;
            /* strip trailing zeros */
            while (k > 1 && d[k - 1] == '0') d[--k] = 0;
            *ndig = k;
            return atoi(q + 1) + 1;
        }
    }
    return 0;
}

bool jn_num_to_js(double v, char *buf, size_t n) {
    if (isnan(v)) { snprintf(buf, n, "NaN"); return false; }
    if (isinf(v)) { snprintf(buf, n, v < 0 ? "-Infinity" : "Infinity"); return false; }
    if (v == 0) { snprintf(buf, n, "0"); return true; }
    char d[40], out[64];
    int k, pos = 0;
    if (v < 0) { out[pos++] = '-'; v = -v; }
    int e = shortest(v, d, &k);
    if (k <= e && e <= 21) {
        memcpy(out + pos, d, k);
        pos += k;
        for (int i = 0; i < e - k; i++) out[pos++] = '0';
    } else if (0 < e && e <= 21) {
        memcpy(out + pos, d, e);
        pos += e;
        out[pos++] = '.';
        memcpy(out + pos, d + e, k - e);
        pos += k - e;
    } else if (-6 < e && e <= 0) {
        out[pos++] = '0';
        out[pos++] = '.';
        for (int i = 0; i < -e; i++) out[pos++] = '0';
        memcpy(out + pos, d, k);
        pos += k;
    } else {
        out[pos++] = d[0];
        if (k > 1) {
            out[pos++] = '.';
            memcpy(out + pos, d + 1, k - 1);
            pos += k - 1;
        }
        pos += snprintf(out + pos, sizeof out - pos, "e%c%d", e - 1 >= 0 ? '+' : '-', abs(e - 1));
    }
    out[pos] = 0;
    snprintf(buf, n, "%s", out);
    return true;
}

double jn_to_precision15(double d) {
    char tmp[40];
    snprintf(tmp, sizeof tmp, "%.14e", d);
    return strtod(tmp, NULL);
}

static void put_json_string(jn_buf *b, const char *s, size_t len) {
    jn_buf_putc(b, '"');
    size_t start = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        const char *esc = NULL;
        char tmp[8];
        if (c == '"') esc = "\\\"";
        else if (c == '\\') esc = "\\\\";
        else if (c == '\n') esc = "\\n";
        else if (c == '\r') esc = "\\r";
        else if (c == '\t') esc = "\\t";
        else if (c == '\b') esc = "\\b";
        else if (c == '\f') esc = "\\f";
        else if (c < 0x20) {
            snprintf(tmp, sizeof tmp, "\\u%04x", c);
            esc = tmp;
        } else if (c == 0xED && i + 2 < len && ((unsigned char)s[i + 1] & 0xE0) == 0xA0) {
            /* a lone surrogate (WTF-8) */
            size_t p = i;
            uint32_t cp = jn_utf8_dec(s, len, &p);
            snprintf(tmp, sizeof tmp, "\\u%04x", cp);
            jn_buf_put(b, s + start, i - start);
            jn_buf_puts(b, tmp);
            i = p - 1;
            start = p;
            continue;
        }
        if (esc) {
            jn_buf_put(b, s + start, i - start);
            jn_buf_puts(b, esc);
            start = i + 1;
        }
    }
    jn_buf_put(b, s + start, len - start);
    jn_buf_putc(b, '"');
}

static void indent(jn_buf *b, int level) {
    jn_buf_putc(b, '\n');
    for (int i = 0; i < level; i++) jn_buf_puts(b, "  ");
}

static _Thread_local bool stringify_ok;

static void stringify(jv v, bool pretty, int level, jn_buf *b) {
    char num[64];
    switch (v.t) {
    case JT_NULL: jn_buf_puts(b, "null"); break;
    case JT_BOOL: jn_buf_puts(b, v.b ? "true" : "false"); break;
    case JT_NUM: {
        double d = v.n;
        if (!isfinite(d)) {
            stringify_ok = false;
            jn_buf_puts(b, "null");
            break;
        }
        if (d != floor(d)) d = jn_to_precision15(d);
        jn_num_to_js(d, num, sizeof num);
        jn_buf_puts(b, num);
        break;
    }
    case JT_STR: put_json_string(b, v.s->s, v.s->len); break;
    case JT_FN: jn_buf_puts(b, "\"\""); break;
    case JT_ARR:
        jn_buf_putc(b, '[');
        for (size_t i = 0; i < v.a->len; i++) {
            if (i) jn_buf_putc(b, ',');
            if (pretty) indent(b, level + 1);
            if (v.a->v[i].t == JT_UNDEF) jn_buf_puts(b, "null");
            else stringify(v.a->v[i], pretty, level + 1, b);
        }
        if (pretty && v.a->len) indent(b, level);
        jn_buf_putc(b, ']');
        break;
    case JT_OBJ: {
        jn_buf_putc(b, '{');
        bool first = true;
        for (size_t i = 0; i < v.o->len; i++) {
            if (v.o->v[i].t == JT_UNDEF) continue;
            if (!first) jn_buf_putc(b, ',');
            first = false;
            if (pretty) indent(b, level + 1);
            put_json_string(b, v.o->k[i]->s, v.o->k[i]->len);
            jn_buf_putc(b, ':');
            if (pretty) jn_buf_putc(b, ' ');
            stringify(v.o->v[i], pretty, level + 1, b);
        }
        if (pretty && !first) indent(b, level);
        jn_buf_putc(b, '}');
        break;
    }
    default: break;
    }
}

int jn_stringify(jn_ctx *c, jv v, bool pretty, jn_buf *out) {
    stringify_ok = true;
    stringify(v, pretty, 0, out);
    if (!stringify_ok && c) {
        jn_fail_v(c, "D1001", jv_num(INFINITY));
        return -1;
    }
    return 0;
}

/* JSON number syntax, whole string */
int jn_strtod_js(const char *s, size_t len, double *out) {
    size_t i = 0;
    if (i < len && s[i] == '-') i++;
    if (i >= len) return -1;
    if (s[i] == '0') i++;
    else if (s[i] >= '1' && s[i] <= '9') while (i < len && s[i] >= '0' && s[i] <= '9') i++;
    else return -1;
    if (i < len && s[i] == '.') {
        i++;
        if (i >= len || s[i] < '0' || s[i] > '9') return -1;
        while (i < len && s[i] >= '0' && s[i] <= '9') i++;
    }
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < len && (s[i] == '+' || s[i] == '-')) i++;
        if (i >= len || s[i] < '0' || s[i] > '9') return -1;
        while (i < len && s[i] >= '0' && s[i] <= '9') i++;
    }
    if (i != len) return -1;
    char *tmp = sy_strndup(s, len);
    *out = strtod(tmp, NULL);
    free(tmp);
    return 0;
}
