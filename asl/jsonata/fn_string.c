/* asl/jsonata/fn_string.c — the string functions: $string, $substring,
 * $substringBefore/After, $uppercase/$lowercase, $length, $trim, $pad, $join,
 * base64 and URL encoding. Lengths and offsets count code points where the
 * reference iterates code points ($length, $substring, $pad). */
#include "internal.h"

#include "../../core/core.h"

#include <math.h>
#include <string.h>

#define F(name) int name(jn_ctx *c, jv *a, int n, jv input, jv *out)
#define UNUSED                                                                                                   \
    (void)c;                                                                                                     \
    (void)n;                                                                                                     \
    (void)input;                                                                                                 \
    (void)a

int jn_fn_string(jn_ctx *c, jv v, jv *out) {
    *out = JV_UNDEF;
    if (v.t == JT_UNDEF) return 0;
    if (v.t == JT_STR) {
        *out = jv_ref(v);
        return 0;
    }
    if (v.t == JT_FN) {
        *out = jv_str("", 0);
        return 0;
    }
    if (v.t == JT_NUM && !isfinite(v.n)) return jn_fail_v(c, "D3001", v);
    if (v.t == JT_ARR && (v.a->flags & JA_OUTER) && v.a->len) v = v.a->v[0];
    jn_buf b = {0};
    if (jn_stringify(c, v, false, &b) < 0) {
        free(b.p);
        return -1;
    }
    *out = jn_buf_to_str(&b);
    return 0;
}

F(jn_f_string) {
    UNUSED;
    if (a[0].t == JT_UNDEF) {
        *out = JV_UNDEF;
        return 0;
    }
    if (a[1].t == JT_BOOL && a[1].b && a[0].t != JT_STR && a[0].t != JT_FN) {
        if (a[0].t == JT_NUM && !isfinite(a[0].n)) return jn_fail_v(c, "D3001", a[0]);
        jv v = a[0];
        if (v.t == JT_ARR && (v.a->flags & JA_OUTER) && v.a->len) v = v.a->v[0];
        jn_buf b = {0};
        if (jn_stringify(c, v, true, &b) < 0) {
            free(b.p);
            return -1;
        }
        *out = jn_buf_to_str(&b);
        return 0;
    }
    return jn_fn_string(c, a[0], out);
}

/* JS Array.prototype.slice index normalisation */
static size_t js_index(double v, size_t len) {
    if (isnan(v)) return 0;
    v = trunc(v);
    if (v < 0) {
        v += (double)len;
        return v < 0 ? 0 : (size_t)v;
    }
    return v > (double)len ? len : (size_t)v;
}

static size_t cp_offset(const char *s, size_t len, size_t cp) {
    size_t i = 0;
    while (i < len && cp > 0) {
        i = jn_utf8_adv(s, len, i);
        cp--;
    }
    return i;
}

F(jn_f_substring) {
    UNUSED;
    jv str = a[0];
    *out = JV_UNDEF;
    if (str.t == JT_UNDEF) return 0;
    size_t L = jn_utf8_cplen(str.s->s, str.s->len);
    double start = a[1].n;
    if ((double)L + start < 0) start = 0;
    size_t s, e;
    if (a[2].t == JT_NUM) {
        double length = a[2].n;
        if (length <= 0) {
            *out = jv_str("", 0);
            return 0;
        }
        double end = start >= 0 ? start + length : (double)L + start + length;
        s = js_index(start, L);
        e = js_index(end, L);
    } else {
        s = js_index(start, L);
        e = L;
    }
    if (e < s) e = s;
    size_t bs = cp_offset(str.s->s, str.s->len, s), be = cp_offset(str.s->s, str.s->len, e);
    *out = jv_str(str.s->s + bs, be - bs);
    return 0;
}

static const char *find(const char *h, size_t hl, const char *nd, size_t nl) {
    if (nl == 0) return h;
    for (size_t i = 0; i + nl <= hl; i++)
        if (memcmp(h + i, nd, nl) == 0) return h + i;
    return NULL;
}

F(jn_f_substring_before) {
    UNUSED;
    *out = JV_UNDEF;
    if (a[0].t == JT_UNDEF) return 0;
    if (a[1].t != JT_STR) {
        *out = jv_ref(a[0]);
        return 0;
    }
    const char *p = find(a[0].s->s, a[0].s->len, a[1].s->s, a[1].s->len);
    *out = p ? jv_str(a[0].s->s, (size_t)(p - a[0].s->s)) : jv_ref(a[0]);
    return 0;
}

F(jn_f_substring_after) {
    UNUSED;
    *out = JV_UNDEF;
    if (a[0].t == JT_UNDEF) return 0;
    if (a[1].t != JT_STR) {
        *out = jv_ref(a[0]);
        return 0;
    }
    const char *p = find(a[0].s->s, a[0].s->len, a[1].s->s, a[1].s->len);
    if (!p) {
        *out = jv_ref(a[0]);
        return 0;
    }
    size_t off = (size_t)(p - a[0].s->s) + a[1].s->len;
    *out = jv_str(a[0].s->s + off, a[0].s->len - off);
    return 0;
}

static uint32_t to_upper(uint32_t c) {
    if (c >= 'a' && c <= 'z') return c - 32;
    if (c < 0x80) return c;
    if ((c >= 0xE0 && c <= 0xFE && c != 0xF7)) return c - 32;
    if (c == 0xFF) return 0x178;
    if (c == 0xB5) return 0x39C;
    if (c >= 0x100 && c <= 0x17F && c != 0x130 && c != 0x131 && c != 0x138 && c != 0x149) {
        if ((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E)) return (c & 1) ? c : c - 1;
        return (c & 1) ? c - 1 : c;
    }
    if (c >= 0x3B1 && c <= 0x3C9 && c != 0x3C2) return c - 32;
    if (c == 0x3C2) return 0x3A3;
    if (c >= 0x3AC && c <= 0x3AF) return c == 0x3AC ? 0x386 : c - 37;
    if (c >= 0x430 && c <= 0x44F) return c - 32;
    if (c >= 0x450 && c <= 0x45F) return c - 80;
    return c;
}

static uint32_t to_lower(uint32_t c) {
    if (c >= 'A' && c <= 'Z') return c + 32;
    if (c < 0x80) return c;
    if (c >= 0xC0 && c <= 0xDE && c != 0xD7) return c + 32;
    if (c == 0x178) return 0xFF;
    if (c >= 0x100 && c <= 0x17F && c != 0x130 && c != 0x131 && c != 0x138 && c != 0x149) {
        if ((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E)) return (c & 1) ? c + 1 : c;
        return (c & 1) ? c : c + 1;
    }
    if (c >= 0x391 && c <= 0x3A9 && c != 0x3A2) return c + 32;
    if (c >= 0x410 && c <= 0x42F) return c + 32;
    if (c >= 0x400 && c <= 0x40F) return c + 80;
    return c;
}

static int casemap(jv s, bool upper, jv *out) {
    if (s.t == JT_UNDEF) {
        *out = JV_UNDEF;
        return 0;
    }
    jn_buf b = {0};
    size_t i = 0;
    while (i < s.s->len) {
        uint32_t cp = jn_utf8_dec(s.s->s, s.s->len, &i);
        char u[4];
        if (upper && cp == 0xDF) {
            jn_buf_puts(&b, "SS");
            continue;
        }
        if (!upper && cp == 0x130) {
            jn_buf_puts(&b, "i\xCC\x87");
            continue;
        }
        uint32_t m = upper ? to_upper(cp) : to_lower(cp);
        jn_buf_put(&b, u, jn_utf8_enc(m, u));
    }
    *out = jn_buf_to_str(&b);
    return 0;
}

F(jn_f_uppercase) {
    UNUSED;
    return casemap(a[0], true, out);
}
F(jn_f_lowercase) {
    UNUSED;
    return casemap(a[0], false, out);
}

F(jn_f_length) {
    UNUSED;
    *out = a[0].t == JT_UNDEF ? JV_UNDEF : jv_num((double)jn_utf8_cplen(a[0].s->s, a[0].s->len));
    return 0;
}

F(jn_f_trim) {
    UNUSED;
    *out = JV_UNDEF;
    if (a[0].t == JT_UNDEF) return 0;
    jn_buf b = {0};
    const char *s = a[0].s->s;
    size_t len = a[0].s->len;
    for (size_t i = 0; i < len;) {
        if (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
            while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')) i++;
            jn_buf_putc(&b, ' ');
        } else {
            jn_buf_putc(&b, s[i++]);
        }
    }
    const char *p = b.p ? b.p : "";
    size_t l = b.len, st = 0;
    if (l && p[0] == ' ') st = 1;
    if (l > st && p[l - 1] == ' ') l--;
    *out = jv_str(p + st, l - st);
    free(b.p);
    return 0;
}

F(jn_f_pad) {
    UNUSED;
    *out = JV_UNDEF;
    jv str = a[0];
    if (str.t == JT_UNDEF) return 0;
    const char *ch = " ";
    size_t chl = 1;
    if (a[2].t == JT_STR && a[2].s->len > 0) {
        ch = a[2].s->s;
        chl = a[2].s->len;
    }
    double width = trunc(a[1].n);
    double padlen = fabs(width) - (double)jn_utf8_cplen(str.s->s, str.s->len);
    if (!(padlen > 0)) {
        *out = jv_ref(str);
        return 0;
    }
    if (padlen > 1e7) return jn_fail_v(c, "D2014", jv_num(padlen));
    jn_buf pad = {0};
    size_t chcp = jn_utf8_cplen(ch, chl), got = 0;
    while (got < (size_t)padlen) {
        if (got + chcp <= (size_t)padlen) {
            jn_buf_put(&pad, ch, chl);
            got += chcp;
        } else {
            size_t off = cp_offset(ch, chl, (size_t)padlen - got);
            jn_buf_put(&pad, ch, off);
            got = (size_t)padlen;
        }
    }
    jn_buf b = {0};
    if (width > 0) {
        jn_buf_put(&b, str.s->s, str.s->len);
        jn_buf_put(&b, pad.p, pad.len);
    } else {
        jn_buf_put(&b, pad.p, pad.len);
        jn_buf_put(&b, str.s->s, str.s->len);
    }
    free(pad.p);
    *out = jn_buf_to_str(&b);
    return 0;
}

F(jn_f_join) {
    UNUSED;
    *out = JV_UNDEF;
    if (a[0].t == JT_UNDEF) return 0;
    jn_buf b = {0};
    for (size_t i = 0; i < a[0].a->len; i++) {
        if (i && a[1].t == JT_STR) jn_buf_put(&b, a[1].s->s, a[1].s->len);
        jv s = a[0].a->v[i];
        if (s.t == JT_STR) jn_buf_put(&b, s.s->s, s.s->len);
    }
    *out = jn_buf_to_str(&b);
    return 0;
}

F(jn_f_base64encode) {
    UNUSED;
    *out = JV_UNDEF;
    if (a[0].t == JT_UNDEF) return 0;
    char *e = sy_base64_encode(a[0].s->s, a[0].s->len);
    *out = jv_cstr(e);
    free(e);
    return 0;
}

F(jn_f_base64decode) {
    UNUSED;
    *out = JV_UNDEF;
    if (a[0].t == JT_UNDEF) return 0;
    unsigned char *d = NULL;
    size_t dl = 0;
    if (sy_base64_decode(a[0].s->s, a[0].s->len, &d, &dl) != 0) {
        *out = jv_str("", 0);
        return 0;
    }
    *out = jv_str((const char *)d, dl);
    free(d);
    return 0;
}

static int url_fail(jn_ctx *c, jv v, const char *fname) {
    jn_fail_v(c, "D3140", v);
    c->err.extra_name = sy_strdup("functionName");
    c->err.extra = sy_strdup(fname);
    return -1;
}

static int encode(jn_ctx *c, jv s, const char *keep, const char *fname, jv *out) {
    *out = JV_UNDEF;
    if (s.t == JT_UNDEF) return 0;
    jn_buf b = {0};
    const unsigned char *p = (const unsigned char *)s.s->s;
    for (size_t i = 0; i < s.s->len; i++) {
        unsigned char ch = p[i];
        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || (ch && strchr(keep, ch))) {
            jn_buf_putc(&b, (char)ch);
            continue;
        }
        if (ch == 0xED && i + 1 < s.s->len && (p[i + 1] & 0xE0) == 0xA0) {
            free(b.p);
            return url_fail(c, s, fname);
        }
        char hex[4];
        snprintf(hex, sizeof hex, "%%%02X", ch);
        jn_buf_puts(&b, hex);
    }
    *out = jn_buf_to_str(&b);
    return 0;
}

F(jn_f_encode_url_component) {
    UNUSED;
    return encode(c, a[0], "-_.!~*'()", "encodeUrlComponent", out);
}
F(jn_f_encode_url) {
    UNUSED;
    return encode(c, a[0], "-_.!~*'();/?:@&=+$,#", "encodeUrl", out);
}

static int hexv(char ch) {
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
    return -1;
}

static int decode(jn_ctx *c, jv s, const char *reserved, const char *fname, jv *out) {
    *out = JV_UNDEF;
    if (s.t == JT_UNDEF) return 0;
    jn_buf b = {0};
    const char *p = s.s->s;
    size_t len = s.s->len;
    for (size_t i = 0; i < len;) {
        if (p[i] != '%') {
            jn_buf_putc(&b, p[i++]);
            continue;
        }
        /* one UTF-8 sequence of %XX escapes */
        unsigned char bytes[4];
        size_t start = i;
        int h1, h2;
        if (i + 2 >= len || (h1 = hexv(p[i + 1])) < 0 || (h2 = hexv(p[i + 2])) < 0) goto bad;
        bytes[0] = (unsigned char)(h1 * 16 + h2);
        i += 3;
        int need = bytes[0] < 0x80 ? 0 : (bytes[0] & 0xE0) == 0xC0 ? 1 : (bytes[0] & 0xF0) == 0xE0 ? 2 : (bytes[0] & 0xF8) == 0xF0 ? 3 : -1;
        if (need < 0) goto bad;
        for (int k = 1; k <= need; k++) {
            if (i + 2 >= len || p[i] != '%' || (h1 = hexv(p[i + 1])) < 0 || (h2 = hexv(p[i + 2])) < 0) goto bad;
            bytes[k] = (unsigned char)(h1 * 16 + h2);
            if ((bytes[k] & 0xC0) != 0x80) goto bad;
            i += 3;
        }
        if (need == 0 && bytes[0] && strchr(reserved, bytes[0])) jn_buf_put(&b, p + start, 3);
        else jn_buf_put(&b, (const char *)bytes, (size_t)need + 1);
    }
    *out = jn_buf_to_str(&b);
    return 0;
bad:
    free(b.p);
    return url_fail(c, s, fname);
}

F(jn_f_decode_url_component) {
    UNUSED;
    return decode(c, a[0], "", "decodeUrlComponent", out);
}
F(jn_f_decode_url) {
    UNUSED;
    return decode(c, a[0], ";/?:@&=+$,#", "decodeUrl", out);
}
