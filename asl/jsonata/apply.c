/* asl/jsonata/apply.c — environments, function invocation (signature
 * validation, lambdas with closures, the tail-call trampoline, natives),
 * partial application, '~>' and the transform operator. */
#include "internal.h"

#include "../../core/core.h"

#include <string.h>

/* ------------------------------------------------------------- environments */
jn_env *jn_env_new(jn_ctx *c, jn_env *parent) {
    (void)c;
    jn_env *e = sy_calloc(1, sizeof *e);
    e->rc = 1;
    e->parent = parent;
    if (parent) parent->rc++;
    return e;
}

void jn_env_release(jn_env *e) {
    while (e && --e->rc == 0) {
        for (int i = 0; i < e->n; i++) jv_unref(e->vals[i]);
        free(e->names);
        free(e->vals);
        jn_env *p = e->parent;
        free(e);
        e = p;
    }
}

void jn_env_bind(jn_ctx *c, jn_env *e, const char *name, jv take) {
    for (int i = 0; i < e->n; i++)
        if (strcmp(e->names[i], name) == 0) {
            jv_unref(e->vals[i]);
            e->vals[i] = take;
            goto reg;
        }
    if (e->n == e->cap) {
        e->cap = e->cap ? e->cap * 2 : 4;
        e->names = sy_realloc(e->names, e->cap * sizeof(char *));
        e->vals = sy_realloc(e->vals, e->cap * sizeof(jv));
    }
    e->names[e->n] = name;
    e->vals[e->n++] = take;
reg:
    /* a function bound here may capture this frame: keep the frame until the
     * evaluation ends, then break the cycle (jn_ctx_end) */
    if (!e->registered && jv_has_fn(take)) {
        e->registered = true;
        e->rc++;
        if (c->nreg == c->capreg) {
            c->capreg = c->capreg ? c->capreg * 2 : 16;
            c->reg = sy_realloc(c->reg, c->capreg * sizeof(jn_env *));
        }
        c->reg[c->nreg++] = e;
    }
}

jv jn_env_lookup(jn_ctx *c, jn_env *e, const char *name) {
    for (; e; e = e->parent)
        for (int i = 0; i < e->n; i++)
            if (strcmp(e->names[i], name) == 0) return e->vals[i];
    return jn_builtin_value(name, c->sfn);
}

/* ------------------------------------------------------------- invocation */
int jn_fn_arity(jv fn) {
    if (fn.t != JT_FN) return 0;
    switch (fn.f->kind) {
    case FN_LAMBDA: return fn.f->nparams;
    case FN_NATIVE: return fn.f->bi->arity;
    case FN_PARTIAL: {
        int n = 0;
        for (int i = 0; i < fn.f->nbound; i++) n += fn.f->hole[i];
        return n;
    }
    case FN_REGEX: return 2;
    case FN_CHAIN: return 1;
    case FN_TRANSFORM: return 1;
    default: return 0;
    }
}

static const jn_sig *transform_sig(void) {
    static jn_sig *s;
    static jn_arena *a;
    if (!s) {
        a = jn_arena_new();
        int off;
        char code[8];
        s = jn_sig_parse(a, "<(oa):o>", &off, code);
    }
    return s;
}

static int do_transform(jn_ctx *c, jn_fn *f, jv obj, jv *out);

static int apply_inner(jn_ctx *c, jv proc, jv *args, int nargs, jv input, jn_env *env, jv *out) {
    *out = JV_UNDEF;
    if (proc.t != JT_FN) return jn_fail(c, "T1006", -1, NULL);
    jn_fn *f = proc.f;
    const jn_sig *sig = f->kind == FN_TRANSFORM ? transform_sig() : f->sig;
    jv *va = args;
    int nva = nargs;
    bool own = false;
    if (sig) {
        if (jn_sig_validate(c, sig, args, nargs, input, &va, &nva) < 0) return -1;
        own = true;
    }
    int rc = 0;
    switch (f->kind) {
    case FN_LAMBDA: {
        jn_env *e = jn_env_new(c, f->env);
        for (int i = 0; i < f->nparams; i++) jn_env_bind(c, e, f->params[i], i < nva ? jv_ref(va[i]) : JV_UNDEF);
        rc = jn_eval(c, f->thunk ? f->node : f->node->body, f->input, e, out);
        jn_env_release(e);
        break;
    }
    case FN_NATIVE: {
        /* natives read up to their arity; pad with undefined */
        jv pad[8];
        jv *a = va;
        if (nva < f->bi->arity && f->bi->arity <= 8) {
            for (int i = 0; i < f->bi->arity; i++) pad[i] = i < nva ? va[i] : JV_UNDEF;
            a = pad;
        }
        rc = f->bi->fn(c, a, nva > f->bi->arity ? nva : f->bi->arity, input, out);
        break;
    }
    case FN_PARTIAL: {
        jv *full = sy_calloc((size_t)f->nbound + 1, sizeof(jv));
        int k = 0;
        for (int i = 0; i < f->nbound; i++) full[i] = f->hole[i] ? (k < nva ? va[k++] : JV_UNDEF) : f->bound[i];
        rc = jn_apply(c, f->target, full, f->nbound, input, env, out);
        free(full);
        break;
    }
    case FN_CHAIN: {
        jv mid;
        rc = jn_apply(c, f->target, va, nva, input, env, &mid);
        if (rc == 0) {
            rc = jn_apply(c, f->bound[0], &mid, 1, input, env, out);
            jv_unref(mid);
        }
        break;
    }
    case FN_REGEX:
    case FN_REGEX_NEXT: rc = jn_regex_call(c, f, va, nva, out); break;
    case FN_TRANSFORM: rc = do_transform(c, f, nva > 0 ? va[0] : JV_UNDEF, out); break;
    default: rc = jn_fail(c, "T1006", -1, NULL);
    }
    if (own) {
        for (int i = 0; i < nva; i++) jv_unref(va[i]);
        free(va);
    }
    return rc;
}

static const char *proc_name(const jn_node *p) {
    if (p->type == N_PATH && p->nitems > 0) return p->items[0]->value;
    if (p->type == N_LAMBDA || p->type == N_BLOCK || p->type == N_CONDITION) return NULL;
    if (p->type == N_STRING) return p->lit.s->s;
    if (p->type == N_NUMBER) {
        static _Thread_local char num[40];
        jn_num_to_js(p->lit.n, num, sizeof num);
        return num;
    }
    return p->value;
}

int jn_apply(jn_ctx *c, jv fn, jv *args, int nargs, jv input, jn_env *env, jv *out) {
    jv r;
    if (apply_inner(c, fn, args, nargs, input, env, &r) < 0) return -1;
    while (r.t == JT_FN && r.f->kind == FN_LAMBDA && r.f->thunk) {
        const jn_node *call = r.f->node->body;
        jv next;
        if (jn_eval(c, call->procedure, r.f->input, r.f->env, &next) < 0) {
            jv_unref(r);
            return -1;
        }
        jv *a = sy_calloc((size_t)call->nitems + 1, sizeof(jv));
        int rc = 0;
        for (int i = 0; i < call->nitems && rc == 0; i++) rc = jn_eval(c, call->items[i], r.f->input, r.f->env, &a[i]);
        jv r2 = JV_UNDEF;
        if (rc == 0) rc = apply_inner(c, next, a, call->nitems, input, env, &r2);
        if (rc < 0) {
            if (c->err.position < 0) c->err.position = call->position;
            if (!c->err.token && proc_name(call->procedure)) c->err.token = sy_strdup(proc_name(call->procedure));
        }
        for (int i = 0; i < call->nitems; i++) jv_unref(a[i]);
        free(a);
        jv_unref(next);
        jv_unref(r);
        if (rc < 0) return -1;
        r = r2;
    }
    *out = r;
    return 0;
}

int jn_call_hof(jn_ctx *c, jv fn, jv a1, jv a2, jv a3, jv *out) {
    jv args[3] = {a1, a2, a3};
    int ar = jn_fn_arity(fn);
    int n = 1;
    if (ar >= 2) n = 2;
    if (ar >= 3) n = 3;
    return jn_apply(c, fn, args, n, JV_UNDEF, NULL, out);
}

static bool forgot_dollar(jn_ctx *c, const jn_node *proc, jn_env *env) {
    if (proc->type != N_PATH || proc->items[0]->type != N_NAME) return false;
    return jn_env_lookup(c, env, proc->items[0]->value).t != JT_UNDEF;
}

int jn_function_call(jn_ctx *c, const jn_node *n, jv input, jn_env *env, const jv *applyto, jv *out) {
    jv proc;
    if (jn_eval(c, n->procedure, input, env, &proc) < 0) return -1;
    if (proc.t == JT_UNDEF && forgot_dollar(c, n->procedure, env))
        return jn_fail(c, "T1005", n->position, n->procedure->items[0]->value);
    int na = n->nitems + (applyto ? 1 : 0);
    jv *args = sy_calloc((size_t)na + 1, sizeof(jv));
    int k = 0, rc = 0;
    if (applyto) args[k++] = jv_ref(*applyto);
    for (int i = 0; i < n->nitems && rc == 0; i++) rc = jn_eval(c, n->items[i], input, env, &args[k++]);
    if (rc == 0) {
        rc = jn_apply(c, proc, args, na, input, env, out);
        if (rc < 0) {
            if (c->err.position < 0) c->err.position = n->position;
            const char *pn = proc_name(n->procedure);
            if (!c->err.token && pn) c->err.token = sy_strdup(pn);
        }
    }
    for (int i = 0; i < na; i++) jv_unref(args[i]);
    free(args);
    jv_unref(proc);
    return rc;
}

int jn_partial(jn_ctx *c, const jn_node *n, jv input, jn_env *env, jv *out) {
    jv *args = sy_calloc((size_t)n->nitems + 1, sizeof(jv));
    bool *hole = sy_calloc((size_t)n->nitems + 1, sizeof(bool));
    int rc = 0;
    for (int i = 0; i < n->nitems && rc == 0; i++) {
        if (n->items[i]->type == N_HOLE) hole[i] = true;
        else rc = jn_eval(c, n->items[i], input, env, &args[i]);
    }
    jv proc = JV_UNDEF;
    if (rc == 0) rc = jn_eval(c, n->procedure, input, env, &proc);
    if (rc == 0 && proc.t == JT_UNDEF && forgot_dollar(c, n->procedure, env))
        rc = jn_fail(c, "T1007", n->position, n->procedure->items[0]->value);
    if (rc == 0 && proc.t != JT_FN) rc = jn_fail(c, "T1008", n->position, proc_name(n->procedure));
    if (rc == 0 && proc.f->kind == FN_LAMBDA && !proc.f->thunk) {
        jn_fn *pf = proc.f;
        jn_env *e = jn_env_new(c, pf->env);
        const char **params = sy_calloc((size_t)pf->nparams + 1, sizeof(char *));
        int np = 0;
        for (int i = 0; i < pf->nparams; i++) {
            if (i < n->nitems && hole[i]) params[np++] = pf->params[i];
            else jn_env_bind(c, e, pf->params[i], i < n->nitems ? jv_ref(args[i]) : JV_UNDEF);
        }
        jv f = jv_fn_new(FN_LAMBDA);
        f.f->node = pf->node;
        f.f->env = e;
        f.f->input = jv_ref(pf->input);
        f.f->params = params;
        f.f->nparams = np;
        f.f->own_params = true;
        *out = f;
    } else if (rc == 0) {
        jv f = jv_fn_new(FN_PARTIAL);
        f.f->target = jv_ref(proc);
        f.f->bound = args;
        f.f->hole = hole;
        f.f->nbound = n->nitems;
        args = NULL;
        hole = NULL;
        *out = f;
    }
    if (args)
        for (int i = 0; i < n->nitems; i++) jv_unref(args[i]);
    free(args);
    free(hole);
    jv_unref(proc);
    return rc;
}

int jn_apply_expr(jn_ctx *c, const jn_node *n, jv input, jn_env *env, jv *out) {
    jv lhs;
    if (jn_eval(c, n->lhs, input, env, &lhs) < 0) return -1;
    int rc;
    if (n->rhs->type == N_FUNCTION) {
        rc = jn_function_call(c, n->rhs, input, env, &lhs, out);
        jv_unref(lhs);
        return rc;
    }
    jv func;
    if (jn_eval(c, n->rhs, input, env, &func) < 0) {
        jv_unref(lhs);
        return -1;
    }
    if (func.t != JT_FN) {
        jn_fail_v(c, "T2006", func);
        c->err.position = n->position;
        jv_unref(lhs);
        jv_unref(func);
        return -1;
    }
    if (lhs.t == JT_FN) {
        jv f = jv_fn_new(FN_CHAIN);
        f.f->target = lhs;
        f.f->bound = sy_calloc(1, sizeof(jv));
        f.f->bound[0] = func;
        f.f->nbound = 1;
        *out = f;
        return 0;
    }
    rc = jn_apply(c, func, &lhs, 1, JV_UNDEF, env, out);
    jv_unref(lhs);
    jv_unref(func);
    return rc;
}

static bool all_strings(jv a) {
    for (size_t i = 0; i < a.a->len; i++)
        if (a.a->v[i].t != JT_STR) return false;
    return true;
}

static int do_transform(jn_ctx *c, jn_fn *f, jv obj, jv *out) {
    const jn_node *n = f->node;
    if (obj.t == JT_UNDEF) {
        *out = JV_UNDEF;
        return 0;
    }
    jv result = jv_clone(obj);
    jv matches;
    if (jn_eval(c, n->pattern, result, f->env, &matches) < 0) goto fail0;
    if (matches.t != JT_UNDEF) {
        if (matches.t != JT_ARR) {
            jv w = jv_arr_new(1);
            jv_arr_push(w, matches);
            matches = w;
        }
        for (size_t i = 0; i < matches.a->len; i++) {
            jv m = matches.a->v[i];
            jv upd;
            if (jn_eval(c, n->update, m, f->env, &upd) < 0) goto fail;
            if (upd.t != JT_UNDEF) {
                if (upd.t != JT_OBJ) {
                    jn_fail_v(c, "T2011", upd);
                    c->err.position = n->update->position;
                    jv_unref(upd);
                    goto fail;
                }
                if (m.t == JT_OBJ)
                    for (size_t k = 0; k < upd.o->len; k++) jv_obj_set_str(m, upd.o->k[k], jv_ref(upd.o->v[k]));
                jv_unref(upd);
            }
            if (n->del) {
                jv del;
                if (jn_eval(c, n->del, m, f->env, &del) < 0) goto fail;
                if (del.t != JT_UNDEF) {
                    jv val = del;
                    jv arr = del;
                    if (del.t != JT_ARR) {
                        arr = jv_arr_new(1);
                        jv_arr_push_ref(arr, del);
                    } else {
                        jv_ref(arr);
                    }
                    if (!all_strings(arr)) {
                        jn_fail_v(c, "T2012", val);
                        c->err.position = n->del->position;
                        jv_unref(arr);
                        jv_unref(del);
                        goto fail;
                    }
                    for (size_t k = 0; k < arr.a->len; k++)
                        if (m.t == JT_OBJ) jv_obj_del(m, arr.a->v[k].s->s, arr.a->v[k].s->len);
                    jv_unref(arr);
                    jv_unref(del);
                }
            }
        }
        jv_unref(matches);
    }
    *out = result;
    return 0;
fail:
    jv_unref(matches);
fail0:
    jv_unref(result);
    return -1;
}
