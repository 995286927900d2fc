/* pattern/scan.c - the small JSON reader used for patterns, plus the string and
 * number scanners shared with the event flattener. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pattern/internal.h"

#define PJ_MAX_DEPTH 128

/* Allocation failure aborts with a log line (core's sy_malloc family). */
void pat_grow_slow(void **p, uint32_t *cap, uint32_t need, size_t es)
{
    uint32_t c = *cap ? *cap : 4;
    while (c < need) c *= 2;
    *p = sy_realloc(*p, (size_t)c * es);
    *cap = c;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static long hex4(const char *p)
{
    long v = 0;
    for (int i = 0; i < 4; i++) {
        int h = hexval(p[i]);
        if (h < 0) return -1;
        v = v * 16 + h;
    }
    return v;
}

static size_t put_utf8(char *o, unsigned long cp)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xC0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

long pat_json_unescape(const char *in, size_t n, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)in[i];
        if (c < 0x20) return -1;
        if (c != '\\') {
            out[o++] = (char)c;
            continue;
        }
        if (++i >= n) return -1;
        switch (in[i]) {
        case '"': out[o++] = '"'; break;
        case '\\': out[o++] = '\\'; break;
        case '/': out[o++] = '/'; break;
        case 'b': out[o++] = '\b'; break;
        case 'f': out[o++] = '\f'; break;
        case 'n': out[o++] = '\n'; break;
        case 'r': out[o++] = '\r'; break;
        case 't': out[o++] = '\t'; break;
        case 'u': {
            if (n - i - 1 < 4) return -1;
            long cp = hex4(in + i + 1);
            if (cp < 0) return -1;
            i += 4;
            if (cp >= 0xD800 && cp < 0xDC00 && n - i - 1 >= 6 && in[i + 1] == '\\' &&
                in[i + 2] == 'u') {
                long lo = hex4(in + i + 3);
                if (lo >= 0xDC00 && lo < 0xE000) {
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    i += 6;
                }
            }
            /* \uXXXX is at most 6 input bytes for at most 4 output bytes */
            o += put_utf8(out + o, (unsigned long)cp);
            break;
        }
        default: return -1;
        }
    }
    return (long)o;
}

size_t pat_json_number_len(const char *s, size_t n)
{
    size_t i = 0;
    if (i < n && s[i] == '-') i++;
    if (i >= n) return 0;
    if (s[i] == '0') {
        i++;
    } else if (s[i] >= '1' && s[i] <= '9') {
        while (i < n && s[i] >= '0' && s[i] <= '9') i++;
    } else {
        return 0;
    }
    if (i < n && s[i] == '.') {
        i++;
        size_t d = i;
        while (i < n && s[i] >= '0' && s[i] <= '9') i++;
        if (i == d) return 0;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-')) i++;
        size_t d = i;
        while (i < n && s[i] >= '0' && s[i] <= '9') i++;
        if (i == d) return 0;
    }
    return i;
}

typedef struct {
    const char *s;
    size_t n, i;
    char *err;
    size_t errlen;
} pj_in_t;

static void skip_ws(pj_in_t *in)
{
    while (in->i < in->n) {
        char c = in->s[in->i];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
        in->i++;
    }
}

static pj_t *fail(pj_in_t *in, const char *what)
{
    if (in->err && !in->err[0]) snprintf(in->err, in->errlen, "%s at offset %zu", what, in->i);
    return NULL;
}

/* Read a string at in->i (on the opening quote). */
static char *read_str(pj_in_t *in, size_t *outlen)
{
    size_t start = ++in->i;
    while (in->i < in->n && in->s[in->i] != '"') {
        if (in->s[in->i] == '\\') in->i++;
        in->i++;
    }
    if (in->i >= in->n) return NULL;
    size_t raw = in->i - start;
    char *buf = sy_malloc(raw + 1);
    long l = pat_json_unescape(in->s + start, raw, buf);
    if (l < 0) {
        free(buf);
        return NULL;
    }
    buf[l] = 0;
    *outlen = (size_t)l;
    in->i++;
    return buf;
}

static void add_kid(pj_t *v, pj_t *k, char *key, size_t klen)
{
    if (v->t == PJ_OBJ) {
        for (size_t j = 0; j < v->nk; j++) {
            if (v->klens[j] == klen && memcmp(v->keys[j], key, klen) == 0) {
                pj_free(v->kids[j]); /* last duplicate key wins */
                v->kids[j] = k;
                free(key);
                return;
            }
        }
    }
    if (v->nk == v->cap) {
        v->cap = v->cap ? v->cap * 2 : 4;
        v->kids = sy_realloc(v->kids, v->cap * sizeof(*v->kids));
        if (v->t == PJ_OBJ) {
            v->keys = sy_realloc(v->keys, v->cap * sizeof(*v->keys));
            v->klens = sy_realloc(v->klens, v->cap * sizeof(*v->klens));
        }
    }
    v->kids[v->nk] = k;
    if (v->t == PJ_OBJ) {
        v->keys[v->nk] = key;
        v->klens[v->nk] = klen;
    }
    v->nk++;
}

static pj_t *parse_value(pj_in_t *in, int depth)
{
    if (depth > PJ_MAX_DEPTH) return fail(in, "nesting too deep");
    skip_ws(in);
    if (in->i >= in->n) return fail(in, "unexpected end of input");
    char c = in->s[in->i];
    pj_t *v = sy_calloc(1, sizeof(*v));
    if (c == '"') {
        v->t = PJ_STR;
        v->s = read_str(in, &v->n);
        if (!v->s) goto bad;
        return v;
    }
    if (c == '{' || c == '[') {
        v->t = c == '{' ? PJ_OBJ : PJ_ARR;
        char close = c == '{' ? '}' : ']';
        in->i++;
        skip_ws(in);
        if (in->i < in->n && in->s[in->i] == close) {
            in->i++;
            return v;
        }
        for (;;) {
            char *key = NULL;
            size_t klen = 0;
            skip_ws(in);
            if (v->t == PJ_OBJ) {
                if (in->i >= in->n || in->s[in->i] != '"') goto bad;
                key = read_str(in, &klen);
                if (!key) goto bad;
                skip_ws(in);
                if (in->i >= in->n || in->s[in->i] != ':') {
                    free(key);
                    goto bad;
                }
                in->i++;
            }
            pj_t *k = parse_value(in, depth + 1);
            if (!k) {
                free(key);
                goto bad;
            }
            add_kid(v, k, key, klen);
            skip_ws(in);
            if (in->i >= in->n) goto bad;
            if (in->s[in->i] == ',') {
                in->i++;
                continue;
            }
            if (in->s[in->i] == close) {
                in->i++;
                return v;
            }
            goto bad;
        }
    }
    if (c == '-' || (c >= '0' && c <= '9')) {
        size_t l = pat_json_number_len(in->s + in->i, in->n - in->i);
        if (!l) goto bad;
        v->t = PJ_NUM;
        v->s = sy_strndup(in->s + in->i, l);
        v->n = l;
        in->i += l;
        return v;
    }
    static const struct {
        const char *w;
        pj_type_t t;
    } lits[] = {{"true", PJ_TRUE}, {"false", PJ_FALSE}, {"null", PJ_NULL}};
    for (size_t j = 0; j < 3; j++) {
        size_t l = strlen(lits[j].w);
        if (in->n - in->i >= l && memcmp(in->s + in->i, lits[j].w, l) == 0) {
            v->t = lits[j].t;
            in->i += l;
            return v;
        }
    }
bad:
    pj_free(v);
    return fail(in, "malformed JSON");
}

pj_t *pj_parse(const char *s, size_t len, char *errbuf, size_t errlen)
{
    pj_in_t in = {s, len, 0, errbuf, errlen};
    if (errbuf && errlen) errbuf[0] = 0;
    pj_t *v = parse_value(&in, 0);
    if (!v) return NULL;
    skip_ws(&in);
    if (in.i != in.n) {
        pj_free(v);
        return fail(&in, "trailing characters");
    }
    return v;
}

void pj_free(pj_t *v)
{
    if (!v) return;
    for (size_t j = 0; j < v->nk; j++) {
        pj_free(v->kids[j]);
        if (v->keys) free(v->keys[j]);
    }
    free(v->kids);
    free(v->keys);
    free(v->klens);
    free(v->s);
    free(v);
}
