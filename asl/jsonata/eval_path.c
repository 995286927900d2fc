/* asl/jsonata/eval_path.c — location paths (steps, flattening, singleton
 * arrays), tuple streams for '@', '#' and '%', predicates, grouping and
 * order-by (the reference's evaluatePath and friends). */
#include "internal.h"

#include "../../core/core.h"

#include <math.h>
#include <string.h>

int jn_filter(jn_ctx *c, const jn_node *pred, jv input, jn_env *env, jv *out);
int jn_group_eval(jn_ctx *c, const jn_group *g, jv input, jn_env *env, jv *out);
static int sort_expr(jn_ctx *c, const jn_node *n, jv input, jn_env *env, jv *out);

static jn_env *frame_from_tuple(jn_ctx *c, jn_env *env, jv tuple) {
    jn_env *f = jn_env_new(c, env);
    for (size_t i = 0; i < tuple.o->len; i++) jn_env_bind(c, f, tuple.o->k[i]->s, jv_ref(tuple.o->v[i]));
    return f;
}

static jv tuple_at(jv tuple) { return jv_obj_get(tuple, "@", 1); }

static int stages(jn_ctx *c, const jn_node *step, jv *res, jn_env *env) {
    for (int s = 0; s < step->nstages; s++) {
        const jn_stage *st = &step->stages[s];
        if (st->type == 0) {
            jv r;
            if (jn_filter(c, st->expr, *res, env, &r) < 0) return -1;
            jv_unref(*res);
            *res = r;
        } else if (res->t == JT_ARR) {
            for (size_t e = 0; e < res->a->len; e++)
                if (res->a->v[e].t == JT_OBJ) jv_obj_set(res->a->v[e], st->var, strlen(st->var), jv_num((double)e));
        }
    }
    return 0;
}

static int eval_step(jn_ctx *c, const jn_node *step, jv in, jn_env *env, bool last, jv *out) {
    if (step->type == N_SORT) {
        if (sort_expr(c, step, in, env, out) < 0) return -1;
        return stages(c, step, out, env);
    }
    jv result = jv_seq_new(in.a->len);
    for (size_t i = 0; i < in.a->len; i++) {
        jv r;
        if (jn_eval(c, step, in.a->v[i], env, &r) < 0) goto fail;
        for (int s = 0; s < step->nstages; s++) {
            jv r2;
            if (jn_filter(c, step->stages[s].expr, r, env, &r2) < 0) {
                jv_unref(r);
                goto fail;
            }
            jv_unref(r);
            r = r2;
        }
        if (r.t != JT_UNDEF) jv_arr_push(result, r);
    }
    if (last && result.a->len == 1 && result.a->v[0].t == JT_ARR && !(result.a->v[0].a->flags & JA_SEQ)) {
        *out = jv_ref(result.a->v[0]);
        jv_unref(result);
        return 0;
    }
    jv seq = jv_seq_new(result.a->len);
    for (size_t i = 0; i < result.a->len; i++) {
        jv r = result.a->v[i];
        if (r.t != JT_ARR || (r.a->flags & JA_CONS)) jv_arr_push_ref(seq, r);
        else
            for (size_t k = 0; k < r.a->len; k++) jv_arr_push_ref(seq, r.a->v[k]);
    }
    jv_unref(result);
    *out = seq;
    return 0;
fail:
    jv_unref(result);
    return -1;
}

static jv tuple_new(jv at) {
    jv t = jv_obj_new(2);
    jv_obj_set(t, "@", 1, jv_ref(at));
    return t;
}

static jv tuple_copy(jv t) {
    jv n = jv_obj_new(t.o->len + 2);
    for (size_t i = 0; i < t.o->len; i++) jv_obj_set_str(n, t.o->k[i], jv_ref(t.o->v[i]));
    return n;
}

static int tuple_step(jn_ctx *c, const jn_node *step, jv in, jv tb, jn_env *env, jv *out) {
    if (step->type == N_SORT) {
        jv res;
        if (tb.t != JT_UNDEF) {
            if (sort_expr(c, step, tb, env, &res) < 0) return -1;
        } else {
            jv sorted;
            if (sort_expr(c, step, in, env, &sorted) < 0) return -1;
            res = jv_seq_new(0);
            res.a->flags |= JA_TUPLE;
            size_t n = sorted.t == JT_ARR ? sorted.a->len : 0;
            for (size_t i = 0; i < n; i++) {
                jv t = tuple_new(sorted.a->v[i]);
                if (step->index) jv_obj_set(t, step->index, strlen(step->index), jv_num((double)i));
                jv_arr_push(res, t);
            }
            jv_unref(sorted);
        }
        if (stages(c, step, &res, env) < 0) {
            jv_unref(res);
            return -1;
        }
        *out = res;
        return 0;
    }
    jv res = jv_seq_new(0);
    res.a->flags |= JA_TUPLE;
    bool own_tb = false;
    if (tb.t == JT_UNDEF) {
        tb = jv_seq_new(in.a->len);
        for (size_t i = 0; i < in.a->len; i++) jv_arr_push(tb, tuple_new(in.a->v[i]));
        own_tb = true;
    }
    for (size_t e = 0; e < tb.a->len; e++) {
        jv t = tb.a->v[e];
        jn_env *senv = frame_from_tuple(c, env, t);
        jv r;
        int rc = jn_eval(c, step, tuple_at(t), senv, &r);
        jn_env_release(senv);
        if (rc < 0) goto fail;
        if (r.t == JT_UNDEF) continue;
        if (r.t != JT_ARR) {
            jv w = jv_arr_new(1);
            jv_arr_push(w, r);
            r = w;
        }
        for (size_t b = 0; b < r.a->len; b++) {
            jv nt = tuple_copy(t);
            if (r.a->flags & JA_TUPLE) {
                jv rt = r.a->v[b];
                for (size_t k = 0; k < rt.o->len; k++) jv_obj_set_str(nt, rt.o->k[k], jv_ref(rt.o->v[k]));
            } else {
                if (step->focus) {
                    jv_obj_set(nt, step->focus, strlen(step->focus), jv_ref(r.a->v[b]));
                    jv_obj_set(nt, "@", 1, jv_ref(tuple_at(t)));
                } else {
                    jv_obj_set(nt, "@", 1, jv_ref(r.a->v[b]));
                }
                if (step->index) jv_obj_set(nt, step->index, strlen(step->index), jv_num((double)b));
                if (step->ancestor)
                    jv_obj_set(nt, step->ancestor->label, strlen(step->ancestor->label), jv_ref(tuple_at(t)));
            }
            jv_arr_push(res, nt);
        }
        jv_unref(r);
    }
    if (own_tb) jv_unref(tb);
    if (stages(c, step, &res, env) < 0) {
        jv_unref(res);
        return -1;
    }
    *out = res;
    return 0;
fail:
    if (own_tb) jv_unref(tb);
    jv_unref(res);
    return -1;
}

int jn_path(jn_ctx *c, const jn_node *n, jv input, jn_env *env, jv *out) {
    jv in;
    if (input.t == JT_ARR && n->items[0]->type != N_VARIABLE) in = jv_ref(input);
    else {
        in = jv_seq_new(1);
        in.a->v[0] = jv_ref(input);
        in.a->len = 1;
    }
    jv res = JV_UNDEF, tb = JV_UNDEF;
    bool tuple = false;
    for (int i = 0; i < n->nitems; i++) {
        const jn_node *step = n->items[i];
        if (step->tuple) tuple = true;
        if (i == 0 && step->consarray) {
            jv r;
            if (jn_eval(c, step, in, env, &r) < 0) goto fail;
            jv_unref(res);
            res = r;
        } else if (tuple) {
            jv t;
            if (tuple_step(c, step, in, tb, env, &t) < 0) goto fail;
            jv_unref(tb);
            tb = t;
        } else {
            jv r;
            if (eval_step(c, step, in, env, i == n->nitems - 1, &r) < 0) goto fail;
            jv_unref(res);
            res = r;
        }
        if (!tuple && (res.t == JT_UNDEF || (res.t == JT_ARR && res.a->len == 0))) break;
        if (!step->focus) {
            jv_unref(in);
            in = jv_ref(res);
        }
        if (in.t != JT_ARR) {
            /* a consarray first step that collapsed; make it a sequence */
            jv s = jv_seq_new(1);
            jv_arr_push(s, in);
            in = s;
        }
    }
    if (tuple) {
        if (n->tuple) {
            jv_unref(res);
            res = jv_ref(tb);
        } else {
            jv_unref(res);
            res = jv_seq_new(tb.t == JT_ARR ? tb.a->len : 0);
            if (tb.t == JT_ARR)
                for (size_t i = 0; i < tb.a->len; i++) jv_arr_push_ref(res, tuple_at(tb.a->v[i]));
        }
    }
    if (n->keep_singleton && res.t == JT_ARR) {
        if ((res.a->flags & JA_CONS) && !(res.a->flags & JA_SEQ)) {
            jv s = jv_seq_new(1);
            jv_arr_push(s, res);
            res = s;
        }
        res.a->flags |= JA_KEEP;
    }
    if (n->group) {
        jv g;
        if (jn_group_eval(c, n->group, tuple ? tb : res, env, &g) < 0) goto fail;
        jv_unref(res);
        res = g;
    }
    jv_unref(in);
    jv_unref(tb);
    *out = res;
    return 0;
fail:
    jv_unref(in);
    jv_unref(tb);
    jv_unref(res);
    return -1;
}

static bool all_numbers(jv r) {
    if (r.t != JT_ARR) return false;
    for (size_t i = 0; i < r.a->len; i++)
        if (r.a->v[i].t != JT_NUM || isnan(r.a->v[i].n)) return false;
    return true;
}

int jn_filter(jn_ctx *c, const jn_node *pred, jv input, jn_env *env, jv *out) {
    jv results = jv_seq_new(0);
    bool tup = input.t == JT_ARR && (input.a->flags & JA_TUPLE);
    if (tup) results.a->flags |= JA_TUPLE;
    jv in;
    if (input.t != JT_ARR) {
        in = jv_seq_new(1);
        if (input.t != JT_UNDEF) jv_arr_push_ref(in, input);
    } else {
        in = jv_ref(input);
    }
    size_t len = in.a->len;
    if (pred->type == N_NUMBER) {
        double idx = floor(pred->lit.n);
        if (idx < 0) idx += (double)len;
        if (idx >= 0 && idx < (double)len) {
            jv item = in.a->v[(size_t)idx];
            if (item.t == JT_ARR) {
                jv_unref(results);
                results = jv_ref(item);
            } else {
                jv_arr_push_ref(results, item);
            }
        }
    } else {
        for (size_t i = 0; i < len; i++) {
            jv item = in.a->v[i], ctx = item;
            jn_env *e = env;
            if (tup) {
                ctx = tuple_at(item);
                e = frame_from_tuple(c, env, item);
            }
            jv r;
            int rc = jn_eval(c, pred, ctx, e, &r);
            if (tup) jn_env_release(e);
            if (rc < 0) {
                jv_unref(in);
                jv_unref(results);
                return -1;
            }
            if (r.t == JT_NUM && !isnan(r.n)) {
                double ii = floor(r.n);
                if (ii < 0) ii += (double)len;
                if (ii == (double)i) jv_arr_push_ref(results, item);
            } else if (all_numbers(r)) {
                for (size_t k = 0; k < r.a->len; k++) {
                    double ii = floor(r.a->v[k].n);
                    if (ii < 0) ii += (double)len;
                    if (ii == (double)i) jv_arr_push_ref(results, item);
                }
            } else if (jn_boolean(r, NULL)) {
                jv_arr_push_ref(results, item);
            }
            jv_unref(r);
        }
    }
    jv_unref(in);
    *out = results;
    return 0;
}

static jv reduce_tuples(jv ts) {
    if (ts.t != JT_ARR) return jv_ref(ts);
    jv r = tuple_copy(ts.a->v[0]);
    for (size_t i = 1; i < ts.a->len; i++) {
        jv t = ts.a->v[i];
        for (size_t k = 0; k < t.o->len; k++) {
            jv cur = jv_ref(jv_obj_get(r, t.o->k[k]->s, t.o->k[k]->len));
            jv_obj_set_str(r, t.o->k[k], jv_append(cur, jv_ref(t.o->v[k])));
        }
    }
    return r;
}

int jn_group_eval(jn_ctx *c, const jn_group *g, jv input, jn_env *env, jv *out) {
    bool reduce = input.t == JT_ARR && (input.a->flags & JA_TUPLE);
    jv in;
    if (input.t != JT_ARR) {
        in = jv_seq_new(1);
        in.a->v[0] = jv_ref(input);
        in.a->len = 1;
    } else if (input.a->len == 0 && !reduce) {
        in = jv_seq_new(1);
        in.a->v[0] = JV_UNDEF;
        in.a->len = 1;
    } else {
        in = jv_ref(input);
    }
    jv groups = jv_obj_new(4); /* key -> [data, exprIndex] as a 2-array */
    jv result = JV_UNDEF;
    for (size_t i = 0; i < in.a->len; i++) {
        jv item = in.a->v[i];
        jn_env *e = reduce ? frame_from_tuple(c, env, item) : env;
        for (int p = 0; p < g->n; p++) {
            jv key;
            int rc = jn_eval(c, g->keys[p], reduce ? tuple_at(item) : item, e, &key);
            if (rc < 0) {
                if (reduce) jn_env_release(e);
                goto fail;
            }
            if (key.t != JT_STR && key.t != JT_UNDEF) {
                jn_fail_v(c, "T1003", key);
                c->err.position = g->position;
                jv_unref(key);
                if (reduce) jn_env_release(e);
                goto fail;
            }
            if (key.t == JT_STR) {
                jv ent = jv_obj_get(groups, key.s->s, key.s->len);
                if (ent.t != JT_UNDEF) {
                    if ((int)ent.a->v[1].n != p) {
                        jn_fail_v(c, "D1009", key);
                        c->err.position = g->position;
                        jv_unref(key);
                        if (reduce) jn_env_release(e);
                        goto fail;
                    }
                    ent.a->v[0] = jv_append(ent.a->v[0], jv_ref(item));
                } else {
                    jv ne = jv_arr_new(2);
                    jv_arr_push_ref(ne, item);
                    jv_arr_push(ne, jv_num(p));
                    jv_obj_set_str(groups, key.s, ne);
                }
            }
            jv_unref(key);
        }
        if (reduce) jn_env_release(e);
    }
    result = jv_obj_new(groups.o->len);
    for (size_t k = 0; k < groups.o->len; k++) {
        jv ent = groups.o->v[k];
        jv ctx = ent.a->v[0];
        jn_env *e = env;
        jv tuple = JV_UNDEF;
        if (reduce) {
            tuple = reduce_tuples(ctx);
            ctx = jv_ref(tuple_at(tuple));
            jv_obj_del(tuple, "@", 1);
            e = frame_from_tuple(c, env, tuple);
        } else {
            ctx = jv_ref(ctx);
        }
        jv v;
        int rc = jn_eval(c, g->vals[(int)ent.a->v[1].n], ctx, e, &v);
        jv_unref(ctx);
        if (reduce) {
            jn_env_release(e);
            jv_unref(tuple);
        }
        if (rc < 0) goto fail;
        if (v.t != JT_UNDEF) jv_obj_set_str(result, groups.o->k[k], v);
    }
    jv_unref(groups);
    jv_unref(in);
    *out = result;
    return 0;
fail:
    jv_unref(groups);
    jv_unref(in);
    jv_unref(result);
    return -1;
}

/* ------------------------------------------------------------- sorting */
typedef int (*cmp_fn)(jn_ctx *c, jv a, jv b, void *ud); /* 1 = swap, 0 = keep, -1 = error */

static int msort(jn_ctx *c, jv *v, jv *tmp, size_t n, cmp_fn cmp, void *ud) {
    if (n <= 1) return 0;
    size_t mid = n / 2;
    if (msort(c, v, tmp, mid, cmp, ud) < 0 || msort(c, v + mid, tmp, n - mid, cmp, ud) < 0) return -1;
    size_t i = 0, j = mid, k = 0;
    while (i < mid && j < n) {
        int r = cmp(c, v[i], v[j], ud);
        if (r < 0) return -1;
        if (r) tmp[k++] = v[j++];
        else tmp[k++] = v[i++];
    }
    while (i < mid) tmp[k++] = v[i++];
    while (j < n) tmp[k++] = v[j++];
    memcpy(v, tmp, n * sizeof(jv));
    return 0;
}

int jn_msort(jn_ctx *c, jv arr, cmp_fn cmp, void *ud, jv *out) {
    jv r = jv_arr_new(arr.a->len);
    for (size_t i = 0; i < arr.a->len; i++) jv_arr_push_ref(r, arr.a->v[i]);
    jv *tmp = sy_malloc((arr.a->len + 1) * sizeof(jv));
    int rc = msort(c, r.a->v, tmp, r.a->len, cmp, ud);
    free(tmp);
    if (rc < 0) {
        jv_unref(r);
        return -1;
    }
    *out = r;
    return 0;
}

typedef struct {
    const jn_node *n;
    jn_env *env;
    bool tuple;
} sortctx;

static int term_cmp(jn_ctx *c, jv a, jv b, void *ud) {
    sortctx *s = ud;
    int comp = 0;
    for (int t = 0; comp == 0 && t < s->n->nterms; t++) {
        const jn_node *term = s->n->terms[t];
        jv aa, bb;
        jn_env *e = s->env;
        if (s->tuple) e = frame_from_tuple(c, s->env, a);
        int rc = jn_eval(c, term, s->tuple ? tuple_at(a) : a, e, &aa);
        if (s->tuple) jn_env_release(e);
        if (rc < 0) return -1;
        e = s->env;
        if (s->tuple) e = frame_from_tuple(c, s->env, b);
        rc = jn_eval(c, term, s->tuple ? tuple_at(b) : b, e, &bb);
        if (s->tuple) jn_env_release(e);
        if (rc < 0) {
            jv_unref(aa);
            return -1;
        }
        if (aa.t == JT_UNDEF) {
            comp = bb.t == JT_UNDEF ? 0 : 1;
            jv_unref(bb);
            continue;
        }
        if (bb.t == JT_UNDEF) {
            comp = -1;
            jv_unref(aa);
            continue;
        }
        if (!(aa.t == JT_STR || aa.t == JT_NUM) || !(bb.t == JT_STR || bb.t == JT_NUM)) {
            jn_fail_v(c, "T2008", !(aa.t == JT_STR || aa.t == JT_NUM) ? aa : bb);
            c->err.position = s->n->position;
            jv_unref(aa);
            jv_unref(bb);
            return -1;
        }
        if (aa.t != bb.t) {
            jn_fail_v(c, "T2007", aa);
            c->err.value2 = jv_ref(bb);
            c->err.position = s->n->position;
            jv_unref(aa);
            jv_unref(bb);
            return -1;
        }
        int d;
        if (aa.t == JT_NUM) d = aa.n == bb.n ? 0 : aa.n < bb.n ? -1 : 1;
        else d = jn_u16_cmp(aa.s->s, aa.s->len, bb.s->s, bb.s->len);
        jv_unref(aa);
        jv_unref(bb);
        if (d == 0) continue;
        comp = d;
        if (s->n->desc[t]) comp = -comp;
    }
    return comp == 1;
}

static int sort_expr(jn_ctx *c, const jn_node *n, jv input, jn_env *env, jv *out) {
    sortctx s = {.n = n, .env = env, .tuple = input.t == JT_ARR && (input.a->flags & JA_TUPLE)};
    if (input.t != JT_ARR) {
        *out = jv_ref(input);
        return 0;
    }
    if (input.a->len <= 1) {
        *out = jv_ref(input);
        return 0;
    }
    return jn_msort(c, input, term_cmp, &s, out);
}
