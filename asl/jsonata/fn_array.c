/* asl/jsonata/fn_array.c — aggregation, array, object and higher-order
 * functions ($sum ... $distinct, $keys ... $type, $map/$filter/$single/
 * $reduce/$sift/$each, $sort with the stable merge sort). */
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

typedef int (*cmp_fn)(jn_ctx *c, jv a, jv b, void *ud);
int jn_msort(jn_ctx *c, jv arr, cmp_fn cmp, void *ud, jv *out);

F(jn_f_sum) {
    UNUSED;
    if (a[0].t == JT_UNDEF) {
        *out = JV_UNDEF;
        return 0;
    }
    double t = 0;
    for (size_t i = 0; i < a[0].a->len; i++) t += a[0].a->v[i].n;
    *out = jv_num(t);
    return 0;
}

F(jn_f_count) {
    UNUSED;
    *out = jv_num(a[0].t == JT_UNDEF ? 0 : (double)a[0].a->len);
    return 0;
}

static int minmax(jv arr, bool max, jv *out) {
    if (arr.t == JT_UNDEF || arr.a->len == 0) {
        *out = JV_UNDEF;
        return 0;
    }
    double r = max ? -INFINITY : INFINITY;
    for (size_t i = 0; i < arr.a->len; i++) {
        double v = arr.a->v[i].n;
        if (isnan(v)) {
            r = NAN;
            break;
        }
        if (max ? v > r : v < r) r = v;
    }
    *out = jv_num(r);
    return 0;
}

F(jn_f_max) {
    UNUSED;
    return minmax(a[0], true, out);
}
F(jn_f_min) {
    UNUSED;
    return minmax(a[0], false, out);
}

F(jn_f_average) {
    UNUSED;
    if (a[0].t == JT_UNDEF || a[0].a->len == 0) {
        *out = JV_UNDEF;
        return 0;
    }
    double t = 0;
    for (size_t i = 0; i < a[0].a->len; i++) t += a[0].a->v[i].n;
    *out = jv_num(t / (double)a[0].a->len);
    return 0;
}

F(jn_f_boolean) {
    UNUSED;
    bool u;
    bool b = jn_boolean(a[0], &u);
    *out = u ? JV_UNDEF : jv_bool(b);
    return 0;
}

F(jn_f_not) {
    UNUSED;
    bool u;
    bool b = jn_boolean(a[0], &u);
    *out = u ? JV_UNDEF : jv_bool(!b);
    return 0;
}

F(jn_f_exists) {
    UNUSED;
    *out = jv_bool(a[0].t != JT_UNDEF);
    return 0;
}

F(jn_f_append) {
    UNUSED;
    jv x = a[0], y = a[1];
    if (x.t == JT_UNDEF) {
        *out = jv_ref(y);
        return 0;
    }
    if (y.t == JT_UNDEF) {
        *out = jv_ref(x);
        return 0;
    }
    jv r = jv_seq_new(0);
    if (x.t == JT_ARR)
        for (size_t i = 0; i < x.a->len; i++) jv_arr_push_ref(r, x.a->v[i]);
    else
        jv_arr_push_ref(r, x);
    if (y.t == JT_ARR)
        for (size_t i = 0; i < y.a->len; i++) jv_arr_push_ref(r, y.a->v[i]);
    else
        jv_arr_push_ref(r, y);
    if (x.t == JT_ARR && !(x.a->flags & JA_SEQ)) r.a->flags &= ~(uint32_t)JA_SEQ;
    *out = r;
    return 0;
}

F(jn_f_reverse) {
    UNUSED;
    jv x = a[0];
    if (x.t == JT_UNDEF || x.a->len <= 1) {
        *out = jv_ref(x);
        return 0;
    }
    jv r = jv_arr_new(x.a->len);
    for (size_t i = x.a->len; i > 0; i--) jv_arr_push_ref(r, x.a->v[i - 1]);
    *out = r;
    return 0;
}

F(jn_f_shuffle) {
    UNUSED;
    jv x = a[0];
    if (x.t == JT_UNDEF || x.a->len <= 1) {
        *out = jv_ref(x);
        return 0;
    }
    jv r = jv_arr_new(x.a->len);
    for (size_t i = 0; i < x.a->len; i++) jv_arr_push_ref(r, x.a->v[i]);
    for (size_t i = r.a->len - 1; i > 0; i--) {
        uint64_t rnd;
        sy_random_bytes(&rnd, sizeof rnd);
        size_t j = (size_t)(rnd % (i + 1));
        jv t = r.a->v[i];
        r.a->v[i] = r.a->v[j];
        r.a->v[j] = t;
    }
    *out = r;
    return 0;
}

F(jn_f_distinct) {
    UNUSED;
    jv x = a[0];
    if (x.t != JT_ARR || x.a->len <= 1) {
        *out = jv_ref(x);
        return 0;
    }
    jv r = (x.a->flags & JA_SEQ) ? jv_seq_new(x.a->len) : jv_arr_new(x.a->len);
    for (size_t i = 0; i < x.a->len; i++) {
        bool dup = false;
        for (size_t j = 0; j < r.a->len && !dup; j++) dup = jv_deep_equal(x.a->v[i], r.a->v[j]);
        if (!dup) jv_arr_push_ref(r, x.a->v[i]);
    }
    *out = r;
    return 0;
}

F(jn_f_zip) {
    UNUSED;
    size_t len = (size_t)-1;
    if (n == 0) len = 0;
    for (int i = 0; i < n; i++) {
        size_t l = a[i].t == JT_ARR ? a[i].a->len : 0;
        if (l < len) len = l;
    }
    jv r = jv_arr_new(len);
    for (size_t k = 0; k < len; k++) {
        jv t = jv_arr_new(n);
        for (int i = 0; i < n; i++) jv_arr_push_ref(t, a[i].a->v[k]);
        jv_arr_push(r, t);
    }
    *out = r;
    return 0;
}

static void keys_into(jv v, jv seen) {
    if (v.t == JT_ARR) {
        for (size_t i = 0; i < v.a->len; i++) keys_into(v.a->v[i], seen);
    } else if (v.t == JT_OBJ) {
        for (size_t i = 0; i < v.o->len; i++) jv_obj_set_str(seen, v.o->k[i], JV_TRUE);
    }
}

F(jn_f_keys) {
    UNUSED;
    jv seen = jv_obj_new(4);
    if (a[0].t == JT_ARR) {
        for (size_t i = 0; i < a[0].a->len; i++)
            if (a[0].a->v[i].t == JT_OBJ) keys_into(a[0].a->v[i], seen);
    } else {
        keys_into(a[0].t == JT_OBJ ? a[0] : JV_UNDEF, seen);
    }
    jv r = jv_seq_new(seen.o->len);
    for (size_t i = 0; i < seen.o->len; i++) {
        jv k = {.t = JT_STR};
        k.s = seen.o->k[i];
        jv_arr_push_ref(r, k);
    }
    jv_unref(seen);
    *out = r;
    return 0;
}

F(jn_f_lookup) {
    UNUSED;
    *out = a[1].t == JT_STR ? jn_lookup(a[0], a[1].s->s, a[1].s->len) : JV_UNDEF;
    return 0;
}

static void spread_into(jv v, jv r) {
    if (v.t == JT_ARR) {
        for (size_t i = 0; i < v.a->len; i++) spread_into(v.a->v[i], r);
    } else if (v.t == JT_OBJ) {
        for (size_t i = 0; i < v.o->len; i++) {
            jv o = jv_obj_new(1);
            jv_obj_set_str(o, v.o->k[i], jv_ref(v.o->v[i]));
            jv_arr_push(r, o);
        }
    } else if (v.t != JT_UNDEF) {
        jv_arr_push_ref(r, v);
    }
}

F(jn_f_spread) {
    UNUSED;
    if (a[0].t != JT_ARR && a[0].t != JT_OBJ) {
        *out = jv_ref(a[0]);
        return 0;
    }
    jv r = jv_seq_new(0);
    spread_into(a[0], r);
    *out = r;
    return 0;
}

F(jn_f_merge) {
    UNUSED;
    if (a[0].t == JT_UNDEF) {
        *out = JV_UNDEF;
        return 0;
    }
    jv r = jv_obj_new(4);
    for (size_t i = 0; i < a[0].a->len; i++) {
        jv o = a[0].a->v[i];
        if (o.t != JT_OBJ) continue;
        for (size_t k = 0; k < o.o->len; k++) jv_obj_set_str(r, o.o->k[k], jv_ref(o.o->v[k]));
    }
    *out = r;
    return 0;
}

F(jn_f_error) {
    UNUSED;
    jn_fail(c, "D3137", -1, NULL);
    c->err.extra_name = sy_strdup("message");
    c->err.extra = sy_strdup(a[0].t == JT_STR && a[0].s->len ? a[0].s->s : "$error() function evaluated");
    *out = JV_UNDEF;
    return -1;
}

F(jn_f_assert) {
    UNUSED;
    *out = JV_UNDEF;
    if (a[0].t == JT_BOOL && a[0].b) return 0;
    jn_fail(c, "D3141", -1, NULL);
    c->err.extra_name = sy_strdup("message");
    c->err.extra = sy_strdup(a[1].t == JT_STR && a[1].s->len ? a[1].s->s : "$assert() statement failed");
    return -1;
}

F(jn_f_type) {
    UNUSED;
    static const char *const names[] = {NULL, "null", "boolean", "number", "string", "array", "object", "function"};
    *out = a[0].t == JT_UNDEF ? JV_UNDEF : jv_cstr(names[a[0].t]);
    return 0;
}

/* ------------------------------------------------------------- higher order */
F(jn_f_map) {
    UNUSED;
    *out = JV_UNDEF;
    if (a[0].t == JT_UNDEF) return 0;
    jv r = jv_seq_new(a[0].a->len);
    for (size_t i = 0; i < a[0].a->len; i++) {
        jv v;
        if (jn_call_hof(c, a[1], a[0].a->v[i], jv_num((double)i), a[0], &v) < 0) {
            jv_unref(r);
            return -1;
        }
        if (v.t != JT_UNDEF) jv_arr_push(r, v);
    }
    *out = r;
    return 0;
}

F(jn_f_filter) {
    UNUSED;
    *out = JV_UNDEF;
    if (a[0].t == JT_UNDEF) return 0;
    jv r = jv_seq_new(0);
    for (size_t i = 0; i < a[0].a->len; i++) {
        jv v;
        if (jn_call_hof(c, a[1], a[0].a->v[i], jv_num((double)i), a[0], &v) < 0) {
            jv_unref(r);
            return -1;
        }
        if (jn_boolean(v, NULL)) jv_arr_push_ref(r, a[0].a->v[i]);
        jv_unref(v);
    }
    *out = r;
    return 0;
}

F(jn_f_single) {
    UNUSED;
    *out = JV_UNDEF;
    if (a[0].t == JT_UNDEF) return 0;
    bool found = false;
    jv res = JV_UNDEF;
    for (size_t i = 0; i < a[0].a->len; i++) {
        bool pos = true;
        if (a[1].t != JT_UNDEF) {
            jv v;
            if (jn_call_hof(c, a[1], a[0].a->v[i], jv_num((double)i), a[0], &v) < 0) {
                jv_unref(res);
                return -1;
            }
            pos = jn_boolean(v, NULL);
            jv_unref(v);
        }
        if (pos) {
            if (found) {
                jv_unref(res);
                jn_fail(c, "D3138", -1, NULL);
                c->err.index = (int)i;
                return -1;
            }
            res = jv_ref(a[0].a->v[i]);
            found = true;
        }
    }
    if (!found) return jn_fail(c, "D3139", -1, NULL);
    *out = res;
    return 0;
}

F(jn_f_reduce) {
    UNUSED;
    *out = JV_UNDEF;
    jv seq = a[0], fn = a[1], init = a[2];
    if (seq.t == JT_UNDEF) return 0;
    int ar = jn_fn_arity(fn);
    if (ar < 2) {
        jn_fail(c, "D3050", -1, NULL);
        c->err.index = 1;
        return -1;
    }
    jv res;
    size_t idx;
    if (init.t == JT_UNDEF && seq.a->len > 0) {
        res = jv_ref(seq.a->v[0]);
        idx = 1;
    } else {
        res = jv_ref(init);
        idx = 0;
    }
    for (; idx < seq.a->len; idx++) {
        jv args[4] = {res, seq.a->v[idx], jv_num((double)idx), seq};
        int na = ar >= 4 ? 4 : ar >= 3 ? 3 : 2;
        jv r;
        int rc = jn_apply(c, fn, args, na, JV_UNDEF, NULL, &r);
        jv_unref(res);
        if (rc < 0) return -1;
        res = r;
    }
    *out = res;
    return 0;
}

F(jn_f_sift) {
    UNUSED;
    *out = JV_UNDEF;
    jv o = a[0];
    if (o.t != JT_OBJ) return 0;
    jv r = jv_obj_new(o.o->len);
    for (size_t i = 0; i < o.o->len; i++) {
        jv k = {.t = JT_STR};
        k.s = o.o->k[i];
        jv v;
        if (jn_call_hof(c, a[1], o.o->v[i], k, o, &v) < 0) {
            jv_unref(r);
            return -1;
        }
        if (jn_boolean(v, NULL)) jv_obj_set_str(r, o.o->k[i], jv_ref(o.o->v[i]));
        jv_unref(v);
    }
    if (r.o->len == 0) {
        jv_unref(r);
        r = JV_UNDEF;
    }
    *out = r;
    return 0;
}

F(jn_f_each) {
    UNUSED;
    jv o = a[0];
    jv r = jv_seq_new(0);
    if (o.t == JT_OBJ) {
        for (size_t i = 0; i < o.o->len; i++) {
            jv k = {.t = JT_STR};
            k.s = o.o->k[i];
            jv v;
            if (jn_call_hof(c, a[1], o.o->v[i], k, o, &v) < 0) {
                jv_unref(r);
                return -1;
            }
            if (v.t != JT_UNDEF) jv_arr_push(r, v);
        }
    }
    *out = r;
    return 0;
}

static int default_cmp(jn_ctx *c, jv x, jv y, void *ud) {
    (void)c;
    (void)ud;
    if (x.t == JT_NUM) return x.n > y.n;
    return jn_u16_cmp(x.s->s, x.s->len, y.s->s, y.s->len) > 0;
}

static int fn_cmp(jn_ctx *c, jv x, jv y, void *ud) {
    jv fn = *(jv *)ud;
    jv args[2] = {x, y}, r;
    if (jn_apply(c, fn, args, 2, JV_UNDEF, NULL, &r) < 0) return -1;
    bool b = jn_boolean(r, NULL);
    jv_unref(r);
    return b;
}

F(jn_f_sort) {
    UNUSED;
    jv arr = a[0];
    *out = JV_UNDEF;
    if (arr.t == JT_UNDEF) return 0;
    if (arr.a->len <= 1) {
        *out = jv_ref(arr);
        return 0;
    }
    if (a[1].t == JT_UNDEF) {
        bool nums = true, strs = true;
        for (size_t i = 0; i < arr.a->len; i++) {
            if (arr.a->v[i].t != JT_NUM) nums = false;
            if (arr.a->v[i].t != JT_STR) strs = false;
        }
        if (!nums && !strs) {
            jn_fail(c, "D3070", -1, NULL);
            c->err.index = 1;
            return -1;
        }
        return jn_msort(c, arr, default_cmp, NULL, out);
    }
    jv fn = a[1];
    return jn_msort(c, arr, fn_cmp, &fn, out);
}
