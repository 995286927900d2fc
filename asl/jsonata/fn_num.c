/* asl/jsonata/fn_num.c — numeric functions ($number, $round half-even in the
 * decimal string form, $power ...), the picture-string and date/time family
 * (through fmt.h), $now/$millis, and the Step Functions additions
 * ($partition, $range, $hash, $random([seed]), $uuid, $parse). */
#include "internal.h"

#include "../../core/core.h"
#include "fmt.h"

#include <math.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#define F(name) int name(jn_ctx *c, jv *a, int n, jv input, jv *out)
#define UNUSED                                                                                                   \
    (void)c;                                                                                                     \
    (void)n;                                                                                                     \
    (void)input;                                                                                                 \
    (void)a

F(jn_f_number) {
    UNUSED;
    jv v = a[0];
    *out = JV_UNDEF;
    switch (v.t) {
    case JT_UNDEF: return 0;
    case JT_NUM: *out = v; return 0;
    case JT_BOOL: *out = jv_num(v.b ? 1 : 0); return 0;
    case JT_STR: {
        const char *s = v.s->s;
        size_t l = v.s->len;
        /* -?[0-9]+(\.[0-9]+)?([Ee][-+]?[0-9]+)? (leading zeros allowed) */
        size_t i = 0;
        if (i < l && s[i] == '-') i++;
        size_t d0 = i;
        while (i < l && s[i] >= '0' && s[i] <= '9') i++;
        bool ok = i > d0;
        if (ok && i < l && s[i] == '.') {
            size_t f0 = ++i;
            while (i < l && s[i] >= '0' && s[i] <= '9') i++;
            ok = i > f0;
        }
        if (ok && i < l && (s[i] == 'e' || s[i] == 'E')) {
            i++;
            if (i < l && (s[i] == '+' || s[i] == '-')) i++;
            size_t e0 = i;
            while (i < l && s[i] >= '0' && s[i] <= '9') i++;
            ok = i > e0;
        }
        if (ok && i == l) {
            double d = strtod(s, NULL);
            if (isfinite(d)) {
                *out = jv_num(d);
                return 0;
            }
        }
        if (l > 2 && s[0] == '0') {
            int base = (s[1] == 'x' || s[1] == 'X') ? 16 : (s[1] == 'o' || s[1] == 'O') ? 8 : (s[1] == 'b' || s[1] == 'B') ? 2 : 0;
            if (base) {
                double r = 0;
                bool good = true;
                for (size_t k = 2; k < l; k++) {
                    int dv = -1;
                    char ch = s[k];
                    if (ch >= '0' && ch <= '9') dv = ch - '0';
                    else if (ch >= 'a' && ch <= 'f') dv = ch - 'a' + 10;
                    else if (ch >= 'A' && ch <= 'F') dv = ch - 'A' + 10;
                    if (dv < 0 || dv >= base) {
                        good = false;
                        break;
                    }
                    r = r * base + dv;
                }
                if (good) {
                    *out = jv_num(r);
                    return 0;
                }
            }
        }
        break;
    }
    default: break;
    }
    jn_fail_v(c, "D3030", v);
    c->err.index = 1;
    return -1;
}

F(jn_f_abs) {
    UNUSED;
    *out = a[0].t == JT_UNDEF ? JV_UNDEF : jv_num(fabs(a[0].n));
    return 0;
}
F(jn_f_floor) {
    UNUSED;
    *out = a[0].t == JT_UNDEF ? JV_UNDEF : jv_num(floor(a[0].n));
    return 0;
}
F(jn_f_ceil) {
    UNUSED;
    *out = a[0].t == JT_UNDEF ? JV_UNDEF : jv_num(ceil(a[0].n));
    return 0;
}

/* shift the decimal point in the JS string form: +(digits + "e" + (exp + k)) */
static double shift(double v, double k) {
    char buf[64], tmp[96];
    jn_num_to_js(v, buf, sizeof buf);
    char *e = strchr(buf, 'e');
    double ex = k;
    if (e) {
        ex = atof(e + 1) + k;
        *e = 0;
    }
    snprintf(tmp, sizeof tmp, "%se%.0f", buf, ex);
    return strtod(tmp, NULL);
}

F(jn_f_round) {
    UNUSED;
    *out = JV_UNDEF;
    if (a[0].t == JT_UNDEF) return 0;
    double arg = a[0].n;
    double prec = a[1].t == JT_NUM ? a[1].n : 0;
    if (prec) arg = shift(arg, prec);
    double r = floor(arg + 0.5); /* Math.round */
    double diff = r - arg;
    if (fabs(diff) == 0.5 && fabs(fmod(r, 2)) == 1) r -= 1;
    if (prec) r = shift(r, -prec);
    if (r == 0) r = 0;
    *out = jv_num(r);
    return 0;
}

F(jn_f_sqrt) {
    UNUSED;
    *out = JV_UNDEF;
    if (a[0].t == JT_UNDEF) return 0;
    if (a[0].n < 0) {
        jn_fail_v(c, "D3060", a[0]);
        c->err.index = 1;
        return -1;
    }
    *out = jv_num(sqrt(a[0].n));
    return 0;
}

F(jn_f_power) {
    UNUSED;
    *out = JV_UNDEF;
    if (a[0].t == JT_UNDEF) return 0;
    double r = pow(a[0].n, a[1].n);
    if (!isfinite(r)) {
        jn_fail_v(c, "D3061", a[0]);
        c->err.value2 = jv_ref(a[1]);
        c->err.index = 1;
        return -1;
    }
    *out = jv_num(r);
    return 0;
}

F(jn_f_random) {
    UNUSED;
    uint64_t r;
    sy_random_bytes(&r, sizeof r);
    *out = jv_num((double)(r >> 11) / 9007199254740992.0);
    return 0;
}

/* Step Functions' $random([seed]): java.util.Random's nextDouble for a seed
 * (the one claim on record, unverified), otherwise Math.random. */
F(jn_f_sfn_random) {
    UNUSED;
    if (a[0].t != JT_NUM) return jn_f_random(c, a, n, input, out);
    uint64_t seed = ((uint64_t)(int64_t)floor(a[0].n) ^ 0x5DEECE66DULL) & ((1ULL << 48) - 1);
    uint64_t hi, lo;
    seed = (seed * 0x5DEECE66DULL + 0xBULL) & ((1ULL << 48) - 1);
    hi = seed >> (48 - 26);
    seed = (seed * 0x5DEECE66DULL + 0xBULL) & ((1ULL << 48) - 1);
    lo = seed >> (48 - 27);
    *out = jv_num((double)((hi << 27) + lo) * (1.0 / (double)(1ULL << 53)));
    return 0;
}

/* ------------------------------------------------------------- fmt.h family */
static int fmt_err(jn_ctx *c, sy_jsonata_error_t *e) {
    jn_fail(c, e->code[0] ? e->code : "D3130", -1, NULL);
    if (e->message) {
        c->err.extra_name = sy_strdup("!message");
        c->err.extra = sy_strdup(e->message);
    }
    if (e->value) {
        jv v = jv_from_json(e->value);
        jv_unref(c->err.value);
        c->err.value = v;
    }
    sy_jsonata_error_clear(e);
    return -1;
}

static int str_result(jn_ctx *c, int rc, char *s, sy_jsonata_error_t *e, jv *out) {
    if (rc < 0) {
        free(s);
        return fmt_err(c, e);
    }
    *out = s ? jv_cstr(s) : JV_UNDEF;
    free(s);
    return 0;
}

F(jn_f_format_number) {
    UNUSED;
    *out = JV_UNDEF;
    /* an undefined picture (a path to nothing) gives undefined, not a NULL read */
    if (a[0].t == JT_UNDEF || a[1].t != JT_STR) return 0;
    sy_jsonata_error_t e = {.position = -1};
    json_t *opts = a[2].t == JT_OBJ ? jv_to_json(a[2]) : NULL;
    char *s = NULL;
    int rc = jn_format_number(a[0].n, a[1].s->s, opts, &s, &e);
    json_decref(opts);
    return str_result(c, rc, s, &e, out);
}

F(jn_f_format_integer) {
    UNUSED;
    *out = JV_UNDEF;
    /* an undefined picture (a path to nothing) gives undefined, not a NULL read */
    if (a[0].t == JT_UNDEF || a[1].t != JT_STR) return 0;
    sy_jsonata_error_t e = {.position = -1};
    char *s = NULL;
    int rc = jn_format_integer(a[0].n, a[1].s->s, &s, &e); /* before reading s: argument order is unspecified */
    return str_result(c, rc, s, &e, out);
}

F(jn_f_format_base) {
    UNUSED;
    *out = JV_UNDEF;
    if (a[0].t == JT_UNDEF) return 0;
    sy_jsonata_error_t e = {.position = -1};
    char *s = NULL;
    int rc = jn_format_base(a[0].n, a[1].t == JT_NUM ? a[1].n : NAN, &s, &e);
    return str_result(c, rc, s, &e, out);
}

F(jn_f_parse_integer) {
    UNUSED;
    *out = JV_UNDEF;
    /* an undefined picture (a path to nothing) gives undefined, not a NULL read */
    if (a[0].t == JT_UNDEF || a[1].t != JT_STR) return 0;
    sy_jsonata_error_t e = {.position = -1};
    double d = 0;
    bool undef = false;
    if (jn_parse_integer(a[0].s->s, a[1].s->s, &d, &undef, &e) < 0) return fmt_err(c, &e);
    if (!undef) *out = jv_num(d);
    return 0;
}

F(jn_f_from_millis) {
    UNUSED;
    *out = JV_UNDEF;
    if (a[0].t == JT_UNDEF) return 0;
    sy_jsonata_error_t e = {.position = -1};
    char *s = NULL;
    int rc = jn_from_millis(a[0].n, a[1].t == JT_STR ? a[1].s->s : NULL, a[2].t == JT_STR ? a[2].s->s : NULL, &s, &e);
    return str_result(c, rc, s, &e, out);
}

F(jn_f_to_millis) {
    UNUSED;
    *out = JV_UNDEF;
    if (a[0].t == JT_UNDEF) return 0;
    sy_jsonata_error_t e = {.position = -1};
    double d = 0;
    bool undef = false;
    if (jn_to_millis_at(a[0].s->s, a[1].t == JT_STR ? a[1].s->s : NULL, c->now_ms, &d, &undef, &e) < 0)
        return fmt_err(c, &e);
    if (!undef) *out = jv_num(d);
    return 0;
}

F(jn_f_now) {
    UNUSED;
    sy_jsonata_error_t e = {.position = -1};
    char *s = NULL;
    int rc = jn_from_millis(c->now_ms, a[0].t == JT_STR ? a[0].s->s : NULL, a[1].t == JT_STR ? a[1].s->s : NULL, &s, &e);
    return str_result(c, rc, s, &e, out);
}

F(jn_f_millis) {
    UNUSED;
    *out = jv_num(c->now_ms);
    return 0;
}

F(jn_f_clone) {
    UNUSED;
    *out = a[0].t == JT_UNDEF ? JV_UNDEF : jv_clone(a[0]);
    return 0;
}

/* ------------------------------------------------------------- Step Functions */
F(jn_f_partition) {
    UNUSED;
    *out = JV_UNDEF;
    if (a[0].t == JT_UNDEF) return 0;
    double size = floor(a[1].n);
    if (!(size >= 1)) {
        jn_fail_v(c, "D3020", a[1]);
        c->err.index = 2;
        return -1;
    }
    jv r = jv_arr_new(0);
    jv arr = a[0];
    for (size_t i = 0; i < arr.a->len; i += (size_t)size) {
        jv chunk = jv_arr_new((size_t)size);
        for (size_t k = i; k < arr.a->len && k < i + (size_t)size; k++) jv_arr_push_ref(chunk, arr.a->v[k]);
        jv_arr_push(r, chunk);
    }
    *out = r;
    return 0;
}

F(jn_f_range) {
    UNUSED;
    *out = JV_UNDEF;
    if (a[0].t == JT_UNDEF || a[1].t == JT_UNDEF) return 0;
    double start = floor(a[0].n), end = floor(a[1].n), step = a[2].t == JT_NUM ? floor(a[2].n) : 1;
    if (step == 0) {
        jn_fail_v(c, "D3020", a[2]);
        c->err.index = 3;
        return -1;
    }
    jv r = jv_seq_new(0);
    for (double v = start; step > 0 ? v <= end : v >= end; v += step) {
        if (r.a->len >= 10000000) {
            jv_unref(r);
            return jn_fail_v(c, "D2014", jv_num(1e7));
        }
        jv_arr_push(r, jv_num(v));
    }
    *out = r;
    return 0;
}

F(jn_f_hash) {
    UNUSED;
    *out = JV_UNDEF;
    if (a[0].t == JT_UNDEF) return 0;
    const char *alg = a[1].t == JT_STR ? a[1].s->s : "SHA-256";
    const EVP_MD *md = strcmp(alg, "MD5") == 0       ? EVP_md5()
                       : strcmp(alg, "SHA-1") == 0   ? EVP_sha1()
                       : strcmp(alg, "SHA-256") == 0 ? EVP_sha256()
                       : strcmp(alg, "SHA-384") == 0 ? EVP_sha384()
                       : strcmp(alg, "SHA-512") == 0 ? EVP_sha512()
                                                     : NULL;
    if (!md) {
        jn_fail_v(c, "D3137", a[1]);
        c->err.extra_name = sy_strdup("message");
        c->err.extra = sy_asprintf("Invalid hash algorithm: %s (one of MD5, SHA-1, SHA-256, SHA-384, SHA-512)", alg);
        return -1;
    }
    unsigned char h[EVP_MAX_MD_SIZE];
    unsigned int hl = 0;
    EVP_Digest(a[0].s->s, a[0].s->len, h, &hl, md, NULL);
    char hex[2 * EVP_MAX_MD_SIZE + 1];
    for (unsigned i = 0; i < hl; i++) snprintf(hex + 2 * i, 3, "%02x", h[i]);
    *out = jv_str(hex, 2 * hl);
    return 0;
}

F(jn_f_uuid) {
    UNUSED;
    char u[37];
    sy_uuid4(u);
    *out = jv_cstr(u);
    return 0;
}

F(jn_f_parse) {
    UNUSED;
    *out = JV_UNDEF;
    if (a[0].t == JT_UNDEF) return 0;
    json_error_t je;
    json_t *j = json_loadb(a[0].s->s, a[0].s->len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
    if (!j) {
        jn_fail_v(c, "D3137", a[0]);
        c->err.extra_name = sy_strdup("message");
        c->err.extra = sy_asprintf("Unable to parse JSON: %s", je.text);
        return -1;
    }
    *out = jv_from_json(j);
    json_decref(j);
    return 0;
}
