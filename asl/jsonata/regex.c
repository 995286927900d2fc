/* asl/jsonata/regex.c — regular expressions through PCRE2 with JavaScript's
 * semantics as far as the options reach (see ../shared/reference/jsonata.md
 * §7.5), the matcher protocol ({match, start, end, groups, next}) with
 * UTF-16 offsets, and the functions that consume it: $match, $contains,
 * $replace, $split. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "internal.h"

#include "../../core/core.h"

#include <math.h>
#include <pcre2.h>
#include <string.h>

int jn_regex_compile(const char *pat, size_t len, int flags, void **re, char *errbuf, size_t errlen) {
    uint32_t opt = PCRE2_UTF | PCRE2_ALT_BSUX | PCRE2_MATCH_UNSET_BACKREF | PCRE2_ALLOW_EMPTY_CLASS;
    if (flags & 1) opt |= PCRE2_CASELESS;
    if (flags & 2) opt |= PCRE2_MULTILINE;
    else opt |= PCRE2_DOLLAR_ENDONLY;
    pcre2_compile_context *cc = pcre2_compile_context_create(NULL);
    pcre2_set_compile_extra_options(cc, PCRE2_EXTRA_ALT_BSUX);
    int ec;
    PCRE2_SIZE eo;
    pcre2_code *code = pcre2_compile((PCRE2_SPTR)pat, len, opt, &ec, &eo, cc);
    pcre2_compile_context_free(cc);
    if (!code) {
        pcre2_get_error_message(ec, (PCRE2_UCHAR *)errbuf, errlen);
        return -1;
    }
    *re = code;
    return 0;
}

void jn_regex_free(void *re) { pcre2_code_free(re); }

/* one match at byte offset `from`; UNDEF when none */
static int exec_at(jn_ctx *c, jn_fn *f, jn_str *subject, size_t from, jv *out) {
    (void)c;
    *out = JV_UNDEF;
    pcre2_code *re = f->re;
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
    int rc = pcre2_match(re, (PCRE2_SPTR)subject->s, subject->len, from, 0, md, NULL);
    if (rc < 0) {
        pcre2_match_data_free(md);
        return 0;
    }
    PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
    uint32_t ngroups = 0;
    pcre2_pattern_info(re, PCRE2_INFO_CAPTURECOUNT, &ngroups);
    size_t s = ov[0], e = ov[1];
    jv m = jv_obj_new(5);
    jv_obj_set(m, "match", 5, jv_str(subject->s + s, e - s));
    size_t us = jn_byte_to_u16(subject->s, s);
    jv_obj_set(m, "start", 5, jv_num((double)us));
    jv_obj_set(m, "end", 3, jv_num((double)(us + jn_utf8_u16len(subject->s + s, e - s))));
    jv groups = jv_arr_new(ngroups);
    for (uint32_t g = 1; g <= ngroups; g++) {
        if ((int)g < rc && ov[2 * g] != PCRE2_UNSET)
            jv_arr_push(groups, jv_str(subject->s + ov[2 * g], ov[2 * g + 1] - ov[2 * g]));
        else
            jv_arr_push(groups, JV_UNDEF);
    }
    jv_obj_set(m, "groups", 6, groups);
    jv next = jv_fn_new(FN_REGEX_NEXT);
    next.f->re = re;
    next.f->subject = subject;
    subject->rc >= 0 ? subject->rc++ : 0;
    next.f->offset = e;
    next.f->re_position = f->re_position;
    next.f->re_source = f->re_source;
    jv_obj_set(m, "next", 4, next);
    pcre2_match_data_free(md);
    *out = m;
    return 0;
}

int jn_regex_call(jn_ctx *c, jn_fn *f, jv *args, int nargs, jv *out) {
    *out = JV_UNDEF;
    if (f->kind == FN_REGEX) {
        if (nargs < 1 || args[0].t != JT_STR) return 0;
        size_t from = 0;
        if (nargs > 1 && args[1].t == JT_NUM) from = jn_u16_to_byte(args[0].s->s, args[0].s->len, (size_t)args[1].n);
        return exec_at(c, f, args[0].s, from, out);
    }
    /* next() */
    if (f->offset >= f->subject->len) return 0;
    jv m;
    exec_at(c, f, f->subject, f->offset, &m);
    if (m.t == JT_OBJ) {
        jv s = jv_obj_get(m, "match", 5);
        if (s.t == JT_STR && s.s->len == 0) {
            jv_unref(m);
            jv src = jv_cstr(f->re_source ? f->re_source : "");
            jn_fail_v(c, "D1004", src);
            jv_unref(src);
            c->err.position = f->re_position;
            return -1;
        }
    }
    *out = m;
    return 0;
}

static int check_match(jn_ctx *c, jv m) {
    if (m.t == JT_UNDEF || m.t == JT_NULL) return 0;
    if (m.t == JT_BOOL && !m.b) return 0;
    bool ok = false;
    if (m.t == JT_OBJ) {
        ok = jv_obj_get(m, "start", 5).t == JT_NUM || jv_obj_get(m, "groups", 6).t == JT_ARR ||
             jv_obj_get(m, "next", 4).t == JT_FN;
    }
    if (!ok) return jn_fail(c, "T1010", -1, NULL);
    return 0;
}

int jn_match_first(jn_ctx *c, jv matcher, jv str, jv *out) {
    if (jn_apply(c, matcher, &str, 1, JV_UNDEF, NULL, out) < 0) return -1;
    if (check_match(c, *out) < 0) {
        jv_unref(*out);
        *out = JV_UNDEF;
        return -1;
    }
    if (out->t != JT_OBJ) {
        jv_unref(*out);
        *out = JV_UNDEF;
    }
    return 0;
}

int jn_match_next(jn_ctx *c, jv m, jv *out) {
    jv next = jv_obj_get(m, "next", 4);
    *out = JV_UNDEF;
    if (next.t != JT_FN) return 0;
    if (jn_apply(c, next, NULL, 0, JV_UNDEF, NULL, out) < 0) return -1;
    if (check_match(c, *out) < 0) {
        jv_unref(*out);
        *out = JV_UNDEF;
        return -1;
    }
    if (out->t != JT_OBJ) {
        jv_unref(*out);
        *out = JV_UNDEF;
    }
    return 0;
}

static double mnum(jv m, const char *k) {
    jv v = jv_obj_get(m, k, strlen(k));
    return v.t == JT_NUM ? v.n : 0;
}

static jv mstr(jv m, const char *k) { return jv_obj_get(m, k, strlen(k)); }

int jn_f_match(jn_ctx *c, jv *a, int n, jv input, jv *out) {
    (void)n;
    (void)input;
    jv str = a[0], re = a[1], limit = a[2];
    *out = JV_UNDEF;
    if (str.t == JT_UNDEF) return 0;
    if (limit.t == JT_NUM && limit.n < 0) {
        jn_fail_v(c, "D3040", limit);
        c->err.index = 3;
        return -1;
    }
    jv res = jv_seq_new(0);
    if (limit.t == JT_UNDEF || limit.n > 0) {
        double count = 0;
        jv m;
        if (jn_match_first(c, re, str, &m) < 0) goto fail;
        while (m.t != JT_UNDEF && (limit.t == JT_UNDEF || count < limit.n)) {
            jv o = jv_obj_new(3);
            jv_obj_set(o, "match", 5, jv_ref(mstr(m, "match")));
            jv_obj_set(o, "index", 5, jv_ref(mstr(m, "start")));
            jv_obj_set(o, "groups", 6, jv_ref(mstr(m, "groups")));
            jv_arr_push(res, o);
            jv nx;
            int rc = jn_match_next(c, m, &nx);
            jv_unref(m);
            if (rc < 0) goto fail;
            m = nx;
            count++;
        }
        jv_unref(m);
    }
    *out = res;
    return 0;
fail:
    jv_unref(res);
    return -1;
}

static const char *memmem_s(const char *h, size_t hl, const char *n, size_t nl) {
    if (nl == 0) return h;
    if (nl > hl) return NULL;
    for (size_t i = 0; i + nl <= hl; i++)
        if (h[i] == n[0] && memcmp(h + i, n, nl) == 0) return h + i;
    return NULL;
}

int jn_f_contains(jn_ctx *c, jv *a, int n, jv input, jv *out) {
    (void)n;
    (void)input;
    *out = JV_UNDEF;
    if (a[0].t == JT_UNDEF || a[1].t == JT_UNDEF) return 0;
    if (a[1].t == JT_STR) {
        *out = jv_bool(memmem_s(a[0].s->s, a[0].s->len, a[1].s->s, a[1].s->len) != NULL);
        return 0;
    }
    jv m;
    if (jn_match_first(c, a[1], a[0], &m) < 0) return -1;
    *out = jv_bool(m.t != JT_UNDEF);
    jv_unref(m);
    return 0;
}

static void subst(jn_buf *b, jv repl, jv m) {
    const char *r = repl.s->s;
    size_t rl = repl.s->len, pos = 0;
    jv groups = mstr(m, "groups");
    size_t ng = groups.t == JT_ARR ? groups.a->len : 0;
    const char *d;
    while (pos < rl && (d = memchr(r + pos, '$', rl - pos)) != NULL) {
        size_t idx = (size_t)(d - r);
        jn_buf_put(b, r + pos, idx - pos);
        pos = idx + 1;
        char dv = pos < rl ? r[pos] : 0;
        if (dv == '$') {
            jn_buf_putc(b, '$');
            pos++;
        } else if (dv == '0') {
            jv mm = mstr(m, "match");
            if (mm.t == JT_STR) jn_buf_put(b, mm.s->s, mm.s->len);
            pos++;
        } else {
            int maxd = ng == 0 ? 1 : (int)floor(log10((double)ng)) + 1;
            int k = 0;
            long gi = 0;
            while (k < maxd && pos + k < rl && r[pos + k] >= '0' && r[pos + k] <= '9') gi = gi * 10 + (r[pos + k++] - '0');
            if (maxd > 1 && gi > (long)ng && k > 1) {
                gi /= 10;
                k--;
            }
            if (k > 0) {
                if (ng > 0 && gi >= 1 && (size_t)gi <= ng) {
                    jv g = groups.a->v[gi - 1];
                    if (g.t == JT_STR) jn_buf_put(b, g.s->s, g.s->len);
                }
                pos += k;
            } else {
                jn_buf_putc(b, '$');
            }
        }
    }
    if (pos < rl) jn_buf_put(b, r + pos, rl - pos);
}

int jn_f_replace(jn_ctx *c, jv *a, int n, jv input, jv *out) {
    (void)n;
    (void)input;
    jv str = a[0], pat = a[1], repl = a[2], limit = a[3];
    *out = JV_UNDEF;
    if (str.t == JT_UNDEF) return 0;
    if (pat.t == JT_STR && pat.s->len == 0) {
        jn_fail_v(c, "D3010", pat);
        c->err.index = 2;
        return -1;
    }
    if (limit.t == JT_NUM && limit.n < 0) {
        jn_fail_v(c, "D3011", limit);
        c->err.index = 4;
        return -1;
    }
    if (!(limit.t == JT_UNDEF || limit.n > 0)) {
        *out = jv_ref(str);
        return 0;
    }
    jn_buf b = {0};
    double count = 0;
    const char *s = str.s->s;
    size_t len = str.s->len, pos = 0;
    if (pat.t == JT_STR) {
        const char *hit;
        while ((hit = memmem_s(s + pos, len - pos, pat.s->s, pat.s->len)) != NULL &&
               (limit.t == JT_UNDEF || count < limit.n)) {
            size_t idx = (size_t)(hit - s);
            jn_buf_put(&b, s + pos, idx - pos);
            if (repl.t == JT_STR) jn_buf_put(&b, repl.s->s, repl.s->len);
            pos = idx + pat.s->len;
            count++;
        }
        jn_buf_put(&b, s + pos, len - pos);
        *out = jn_buf_to_str(&b);
        return 0;
    }
    jv m;
    if (jn_match_first(c, pat, str, &m) < 0) return -1;
    if (m.t == JT_UNDEF) {
        *out = jv_ref(str);
        return 0;
    }
    while (m.t != JT_UNDEF && (limit.t == JT_UNDEF || count < limit.n)) {
        size_t st = jn_u16_to_byte(s, len, (size_t)mnum(m, "start"));
        if (st < pos) st = pos;
        jn_buf_put(&b, s + pos, st - pos);
        if (repl.t == JT_STR) {
            subst(&b, repl, m);
        } else {
            jv r;
            if (jn_apply(c, repl, &m, 1, JV_UNDEF, NULL, &r) < 0) goto fail;
            if (r.t != JT_STR) {
                jn_fail_v(c, "D3012", r);
                jv_unref(r);
                goto fail;
            }
            jn_buf_put(&b, r.s->s, r.s->len);
            jv_unref(r);
        }
        jv mm = mstr(m, "match");
        pos = st + (mm.t == JT_STR ? mm.s->len : 0);
        count++;
        jv nx;
        int rc = jn_match_next(c, m, &nx);
        jv_unref(m);
        m = nx;
        if (rc < 0) goto fail;
    }
    jv_unref(m);
    if (pos < len) jn_buf_put(&b, s + pos, len - pos);
    *out = jn_buf_to_str(&b);
    return 0;
fail:
    jv_unref(m);
    free(b.p);
    return -1;
}

int jn_f_split(jn_ctx *c, jv *a, int n, jv input, jv *out) {
    (void)n;
    (void)input;
    jv str = a[0], sep = a[1], limit = a[2];
    *out = JV_UNDEF;
    if (str.t == JT_UNDEF) return 0;
    if (limit.t == JT_NUM && limit.n < 0) {
        jn_fail_v(c, "D3020", limit);
        c->err.index = 3;
        return -1;
    }
    jv res = jv_arr_new(0);
    double lim = limit.t == JT_NUM ? floor(limit.n) : INFINITY;
    const char *s = str.s->s;
    size_t len = str.s->len;
    if (!(lim > 0)) {
        *out = res;
        return 0;
    }
    if (sep.t == JT_STR) {
        if (sep.s->len == 0) {
            for (size_t i = 0; i < len && (double)res.a->len < lim;) {
                size_t j = jn_utf8_adv(s, len, i);
                jv_arr_push(res, jv_str(s + i, j - i));
                i = j;
            }
        } else {
            size_t pos = 0;
            const char *hit;
            while ((double)res.a->len < lim) {
                hit = memmem_s(s + pos, len - pos, sep.s->s, sep.s->len);
                if (!hit) {
                    jv_arr_push(res, jv_str(s + pos, len - pos));
                    break;
                }
                jv_arr_push(res, jv_str(s + pos, (size_t)(hit - s) - pos));
                pos = (size_t)(hit - s) + sep.s->len;
            }
        }
        *out = res;
        return 0;
    }
    jv m;
    if (jn_match_first(c, sep, str, &m) < 0) {
        jv_unref(res);
        return -1;
    }
    if (m.t == JT_UNDEF) {
        jv_arr_push_ref(res, str);
        *out = res;
        return 0;
    }
    size_t start = 0;
    double count = 0;
    while (m.t != JT_UNDEF && count < lim) {
        size_t ms = jn_u16_to_byte(s, len, (size_t)mnum(m, "start"));
        if (ms < start) ms = start;
        jv_arr_push(res, jv_str(s + start, ms - start));
        start = jn_u16_to_byte(s, len, (size_t)mnum(m, "end"));
        jv nx;
        int rc = jn_match_next(c, m, &nx);
        jv_unref(m);
        m = nx;
        if (rc < 0) {
            jv_unref(res);
            return -1;
        }
        count++;
    }
    jv_unref(m);
    if (count < lim) jv_arr_push(res, jv_str(s + (start < len ? start : len), start < len ? len - start : 0));
    *out = res;
    return 0;
}
