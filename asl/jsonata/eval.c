/* asl/jsonata/eval.c — the evaluator's dispatch (the reference's evaluate()),
 * operators, constructors, conditions, blocks, variables. Paths, tuples,
 * grouping and sorting are in eval_path.c; functions in apply.c. */
#include "internal.h"

#include "../../core/core.h"

#include <math.h>
#include <string.h>
#include <time.h>

int jn_path(jn_ctx *c, const jn_node *n, jv input, jn_env *env, jv *out);
int jn_filter(jn_ctx *c, const jn_node *pred, jv input, jn_env *env, jv *out);
int jn_group_eval(jn_ctx *c, const jn_group *g, jv input, jn_env *env, jv *out);
int jn_function_call(jn_ctx *c, const jn_node *n, jv input, jn_env *env, const jv *applyto, jv *out);
int jn_partial(jn_ctx *c, const jn_node *n, jv input, jn_env *env, jv *out);
int jn_apply_expr(jn_ctx *c, const jn_node *n, jv input, jn_env *env, jv *out);

int jn_fail(jn_ctx *c, const char *code, int position, const char *token) {
    if (c->failed) return -1;
    c->failed = true;
    snprintf(c->err.code, sizeof c->err.code, "%s", code);
    c->err.position = position;
    free(c->err.token);
    c->err.token = token ? sy_strdup(token) : NULL;
    return -1;
}

int jn_fail_v(jn_ctx *c, const char *code, jv value) {
    jn_fail(c, code, -1, NULL);
    jv_unref(c->err.value);
    c->err.value = jv_ref(value);
    return -1;
}

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int jn_fail_budget(jn_ctx *c) {
    jn_fail(c, "U1001", -1, NULL);
    if (!c->err.extra)
        c->err.extra = sy_strdup("Out of memory: the expression builds more arrays and strings than one evaluation may "
                                 "hold. Check for a recursive function that grows its arguments.");
    return -1;
}

bool jn_time_guard(jn_ctx *c) {
    if (jv_budget_over()) {
        jn_fail_budget(c);
        return false;
    }
    if (c->deadline_ms && ((++c->tick) & 1023) == 0 && now_ms() > c->deadline_ms) {
        jn_fail(c, "U1001", -1, NULL);
        c->err.extra = sy_strdup("Evaluation timeout. Check for infinite loop");
        return false;
    }
    return true;
}

/* the reference's fn.boolean */
bool jn_boolean(jv v, bool *undef) {
    if (undef) *undef = false;
    switch (v.t) {
    case JT_UNDEF:
        if (undef) *undef = true;
        return false;
    case JT_NULL: return false;
    case JT_BOOL: return v.b;
    case JT_NUM: return v.n != 0;
    case JT_STR: return v.s->len > 0;
    case JT_FN: return false;
    case JT_OBJ: return v.o->len > 0;
    case JT_ARR:
        if (v.a->len == 1) return jn_boolean(v.a->v[0], NULL);
        for (size_t i = 0; i < v.a->len; i++)
            if (jn_boolean(v.a->v[i], NULL)) return true;
        return false;
    }
    return false;
}

static bool is_numeric(jn_ctx *c, jv v, bool *err) {
    *err = false;
    if (v.t != JT_NUM || isnan(v.n)) return false;
    if (!isfinite(v.n)) {
        jn_fail_v(c, "D1001", v);
        *err = true;
        return false;
    }
    return true;
}

static int op_error(jn_ctx *c, const jn_node *n) {
    c->err.position = n->position;
    free(c->err.token);
    c->err.token = sy_strdup(n->value);
    return -1;
}

static int numeric(jn_ctx *c, const jn_node *n, jv l, jv r, jv *out) {
    bool e;
    const char *op = n->value;
    if (l.t != JT_UNDEF && !is_numeric(c, l, &e)) {
        if (!e) jn_fail_v(c, "T2001", l);
        return op_error(c, n);
    }
    if (r.t != JT_UNDEF && !is_numeric(c, r, &e)) {
        if (!e) jn_fail_v(c, "T2002", r);
        return op_error(c, n);
    }
    if (l.t == JT_UNDEF || r.t == JT_UNDEF) {
        *out = JV_UNDEF;
        return 0;
    }
    double a = l.n, b = r.n, x = 0;
    switch (op[0]) {
    case '+': x = a + b; break;
    case '-': x = a - b; break;
    case '*': x = a * b; break;
    case '/': x = a / b; break;
    case '%': x = fmod(a, b); break;
    }
    *out = jv_num(x);
    return 0;
}

static int comparison(jn_ctx *c, const jn_node *n, jv l, jv r, jv *out) {
    bool lc = l.t == JT_UNDEF || l.t == JT_STR || l.t == JT_NUM;
    bool rc = r.t == JT_UNDEF || r.t == JT_STR || r.t == JT_NUM;
    if (!lc || !rc) {
        jn_fail_v(c, "T2010", !(l.t == JT_STR || l.t == JT_NUM) ? l : r);
        return op_error(c, n);
    }
    if (l.t == JT_UNDEF || r.t == JT_UNDEF) {
        *out = JV_UNDEF;
        return 0;
    }
    if (l.t != r.t) {
        jn_fail_v(c, "T2009", l);
        c->err.value2 = jv_ref(r);
        return op_error(c, n);
    }
    int cmp;
    if (l.t == JT_NUM) cmp = l.n < r.n ? -1 : l.n > r.n ? 1 : (l.n == r.n ? 0 : 2);
    else cmp = jn_u16_cmp(l.s->s, l.s->len, r.s->s, r.s->len);
    const char *op = n->value;
    bool res;
    if (cmp == 2) res = false; /* NaN */
    else if (strcmp(op, "<") == 0) res = cmp < 0;
    else if (strcmp(op, "<=") == 0) res = cmp <= 0;
    else if (strcmp(op, ">") == 0) res = cmp > 0;
    else res = cmp >= 0;
    *out = jv_bool(res);
    return 0;
}

static bool strict_eq(jv a, jv b) {
    if (a.t != b.t) return false;
    if (a.t == JT_ARR || a.t == JT_OBJ || a.t == JT_FN) return a.rc == b.rc;
    return jv_deep_equal(a, b);
}

static int binary(jn_ctx *c, const jn_node *n, jv input, jn_env *env, jv *out) {
    jv l = JV_UNDEF, r = JV_UNDEF;
    if (jn_eval(c, n->lhs, input, env, &l) < 0) return -1;
    const char *op = n->value;
    if (strcmp(op, "and") == 0 || strcmp(op, "or") == 0) {
        bool lb = jn_boolean(l, NULL);
        jv_unref(l);
        bool isand = op[0] == 'a';
        if (isand ? !lb : lb) {
            *out = jv_bool(lb);
            return 0;
        }
        if (jn_eval(c, n->rhs, input, env, &r) < 0) return op_error(c, n);
        bool rb = jn_boolean(r, NULL);
        jv_unref(r);
        *out = jv_bool(rb);
        return 0;
    }
    if (jn_eval(c, n->rhs, input, env, &r) < 0) {
        jv_unref(l);
        return -1;
    }
    int rc = 0;
    switch (op[0]) {
    case '+':
    case '-':
    case '*':
    case '/':
    case '%': rc = numeric(c, n, l, r, out); break;
    case '=': *out = (l.t == JT_UNDEF || r.t == JT_UNDEF) ? JV_FALSE : jv_bool(jv_deep_equal(l, r)); break;
    case '!':
        if (op[1] == '=') {
            *out = (l.t == JT_UNDEF || r.t == JT_UNDEF) ? JV_FALSE : jv_bool(!jv_deep_equal(l, r));
            break;
        }
        rc = jn_fail(c, "S0204", n->position, op);
        break;
    case '<':
    case '>': rc = comparison(c, n, l, r, out); break;
    case '&': {
        jn_buf b = {0};
        jv ls = JV_UNDEF, rs = JV_UNDEF;
        if (l.t != JT_UNDEF && jn_fn_string(c, l, &ls) < 0) { rc = op_error(c, n); break; }
        if (r.t != JT_UNDEF && jn_fn_string(c, r, &rs) < 0) { jv_unref(ls); rc = op_error(c, n); break; }
        if (ls.t == JT_STR) jn_buf_put(&b, ls.s->s, ls.s->len);
        if (rs.t == JT_STR) jn_buf_put(&b, rs.s->s, rs.s->len);
        jv_unref(ls);
        jv_unref(rs);
        *out = jn_buf_to_str(&b);
        break;
    }
    case '.': { /* '..' range */
        if (l.t != JT_UNDEF && (l.t != JT_NUM || l.n != floor(l.n) || !isfinite(l.n))) {
            jn_fail_v(c, "T2003", l);
            rc = op_error(c, n);
            break;
        }
        if (r.t != JT_UNDEF && (r.t != JT_NUM || r.n != floor(r.n) || !isfinite(r.n))) {
            jn_fail_v(c, "T2004", r);
            rc = op_error(c, n);
            break;
        }
        if (l.t == JT_UNDEF || r.t == JT_UNDEF || l.n > r.n) {
            *out = JV_UNDEF;
            break;
        }
        double size = r.n - l.n + 1;
        if (size > 1e7) {
            jn_fail_v(c, "D2014", jv_num(size));
            rc = op_error(c, n);
            break;
        }
        jv a = jv_seq_new((size_t)size);
        for (size_t i = 0; i < (size_t)size; i++) a.a->v[i] = jv_num(l.n + (double)i);
        a.a->len = (size_t)size;
        *out = a;
        break;
    }
    case 'i': { /* in */
        bool found = false;
        if (l.t != JT_UNDEF && r.t != JT_UNDEF) {
            if (r.t == JT_ARR) {
                for (size_t i = 0; i < r.a->len && !found; i++) found = strict_eq(r.a->v[i], l);
            } else {
                found = strict_eq(r, l);
            }
        }
        *out = jv_bool(found);
        break;
    }
    default: rc = jn_fail(c, "S0204", n->position, op);
    }
    jv_unref(l);
    jv_unref(r);
    return rc;
}

jv jn_lookup(jv input, const char *k, size_t klen) {
    if (input.t == JT_OBJ) return jv_ref(jv_obj_get(input, k, klen));
    if (input.t != JT_ARR) return JV_UNDEF;
    jv res = jv_seq_new(input.a->len);
    for (size_t i = 0; i < input.a->len; i++) {
        jv r = jn_lookup(input.a->v[i], k, klen);
        if (r.t == JT_ARR) {
            for (size_t j = 0; j < r.a->len; j++) jv_arr_push_ref(res, r.a->v[j]);
            jv_unref(r);
        } else if (r.t != JT_UNDEF) {
            jv_arr_push(res, r);
        }
    }
    return res;
}

static int array_cons(jn_ctx *c, const jn_node *n, jv input, jn_env *env, jv *out) {
    jv res = jv_arr_new(n->nitems);
    for (int i = 0; i < n->nitems; i++) {
        const jn_node *item = n->items[i];
        jv v;
        if (jn_eval(c, item, input, env, &v) < 0) {
            jv_unref(res);
            return -1;
        }
        if (v.t == JT_UNDEF) continue;
        if (item->type == N_ARRAY) {
            jv_arr_push(res, v);
        } else if (v.t == JT_ARR) {
            for (size_t k = 0; k < v.a->len && !jv_budget_over(); k++) jv_arr_push_ref(res, v.a->v[k]);
            jv_unref(v);
            if (jv_budget_over()) {
                jv_unref(res);
                return jn_fail_budget(c);
            }
        } else {
            jv_arr_push(res, v);
        }
    }
    if (n->consarray) res.a->flags |= JA_CONS;
    *out = res;
    return 0;
}

static int condition(jn_ctx *c, const jn_node *n, jv input, jn_env *env, jv *out) {
    jv cond;
    if (jn_eval(c, n->cond, input, env, &cond) < 0) return -1;
    bool b = jn_boolean(cond, NULL);
    jv_unref(cond);
    if (b) return jn_eval(c, n->then, input, env, out);
    if (n->els) return jn_eval(c, n->els, input, env, out);
    *out = JV_UNDEF;
    return 0;
}

static int block(jn_ctx *c, const jn_node *n, jv input, jn_env *env, jv *out) {
    jn_env *frame = jn_env_new(c, env);
    jv res = JV_UNDEF;
    for (int i = 0; i < n->nitems; i++) {
        jv_unref(res);
        res = JV_UNDEF;
        if (jn_eval(c, n->items[i], input, frame, &res) < 0) {
            jn_env_release(frame);
            return -1;
        }
    }
    jn_env_release(frame);
    *out = res;
    return 0;
}

static int variable(jn_ctx *c, const jn_node *n, jv input, jn_env *env, jv *out) {
    if (n->value[0] == 0) {
        if (input.t == JT_ARR && (input.a->flags & JA_OUTER)) *out = jv_ref(input.a->v[0]);
        else *out = jv_ref(input);
        return 0;
    }
    *out = jv_ref(jn_env_lookup(c, env, n->value));
    return 0;
}

static int lambda(jn_ctx *c, const jn_node *n, jv input, jn_env *env, jv *out) {
    (void)c;
    jv f = jv_fn_new(FN_LAMBDA);
    f.f->node = n;
    f.f->env = env;
    env->rc++;
    f.f->input = jv_ref(input);
    f.f->params = n->params;
    f.f->nparams = n->nparams;
    f.f->sig = n->sig;
    f.f->thunk = n->thunk;
    *out = f;
    return 0;
}

static int wildcard(jv input, jv *out) {
    jv res = jv_seq_new(0);
    if (input.t == JT_ARR && (input.a->flags & JA_OUTER) && input.a->len > 0) input = input.a->v[0];
    if (input.t == JT_OBJ || input.t == JT_ARR) {
        size_t len = input.t == JT_OBJ ? input.o->len : input.a->len;
        for (size_t i = 0; i < len; i++) {
            jv v = input.t == JT_OBJ ? input.o->v[i] : input.a->v[i];
            if (v.t == JT_ARR) {
                /* flatten fully */
                jv stack[64];
                size_t pos[64];
                int sp = 0;
                stack[0] = v;
                pos[0] = 0;
                while (sp >= 0) {
                    if (pos[sp] >= stack[sp].a->len) {
                        sp--;
                        continue;
                    }
                    jv x = stack[sp].a->v[pos[sp]++];
                    if (x.t == JT_ARR && sp < 63) {
                        sp++;
                        stack[sp] = x;
                        pos[sp] = 0;
                    } else {
                        jv_arr_push_ref(res, x);
                    }
                }
            } else {
                jv_arr_push_ref(res, v);
            }
        }
    }
    *out = res;
    return 0;
}

static void descend(jv v, jv res) {
    if (v.t != JT_ARR) jv_arr_push_ref(res, v);
    if (v.t == JT_ARR) {
        for (size_t i = 0; i < v.a->len; i++) descend(v.a->v[i], res);
    } else if (v.t == JT_OBJ) {
        for (size_t i = 0; i < v.o->len; i++) descend(v.o->v[i], res);
    }
}

static int descendants(jv input, jv *out) {
    if (input.t == JT_UNDEF) {
        *out = JV_UNDEF;
        return 0;
    }
    jv res = jv_seq_new(0);
    descend(input, res);
    if (res.a->len == 1) {
        *out = jv_ref(res.a->v[0]);
        jv_unref(res);
    } else {
        *out = res;
    }
    return 0;
}

static int transform(jn_ctx *c, const jn_node *n, jn_env *env, jv *out) {
    jv f = jv_fn_new(FN_TRANSFORM);
    f.f->node = n;
    f.f->env = env;
    env->rc++;
    *out = f;
    (void)c;
    return 0;
}

int jn_eval(jn_ctx *c, const jn_node *n, jv input, jn_env *env, jv *out) {
    *out = JV_UNDEF;
    char here;
    if (++c->depth > c->max_depth || (c->stack_base && c->stack_base - &here > (3 << 20))) {
        c->depth--;
        jn_fail(c, "U1001", n->position, NULL);
        c->err.extra = sy_strdup("Stack overflow error: Check for non-terminating recursive function.  Consider rewriting as tail-recursive.");
        return -1;
    }
    if (!jn_time_guard(c)) {
        c->depth--;
        return -1;
    }
    int rc = 0;
    jv res = JV_UNDEF;
    switch (n->type) {
    case N_PATH: rc = jn_path(c, n, input, env, &res); break;
    case N_BINARY: rc = binary(c, n, input, env, &res); break;
    case N_NEG: {
        jv v;
        rc = jn_eval(c, n->lhs, input, env, &v);
        if (rc < 0) break;
        bool e;
        if (v.t == JT_UNDEF) res = JV_UNDEF;
        else if (is_numeric(c, v, &e)) res = jv_num(-v.n);
        else {
            if (!e) {
                jn_fail_v(c, "D1002", v);
                c->err.position = n->position;
                c->err.token = sy_strdup("-");
            }
            rc = -1;
        }
        jv_unref(v);
        break;
    }
    case N_ARRAY: rc = array_cons(c, n, input, env, &res); break;
    case N_OBJECT: rc = jn_group_eval(c, n->obj, input, env, &res); break;
    case N_NAME: res = jn_lookup(input, n->lit.s->s, n->lit.s->len); break;
    case N_STRING:
    case N_NUMBER:
    case N_VALUE: res = n->lit; break;
    case N_WILDCARD: rc = wildcard(input, &res); break;
    case N_DESCENDANT: rc = descendants(input, &res); break;
    case N_PARENT: res = jv_ref(jn_env_lookup(c, env, n->slot->label)); break;
    case N_CONDITION: rc = condition(c, n, input, env, &res); break;
    case N_BLOCK: rc = block(c, n, input, env, &res); break;
    case N_BIND: {
        jv v;
        rc = jn_eval(c, n->rhs, input, env, &v);
        if (rc < 0) break;
        jn_env_bind(c, env, n->lhs->value, jv_ref(v));
        res = v;
        break;
    }
    case N_REGEX: {
        jv f = jv_fn_new(FN_REGEX);
        f.f->re = n->re;
        f.f->re_position = n->position;
        f.f->re_source = n->value;
        res = f;
        break;
    }
    case N_FUNCTION: rc = jn_function_call(c, n, input, env, NULL, &res); break;
    case N_PARTIAL: rc = jn_partial(c, n, input, env, &res); break;
    case N_VARIABLE: rc = variable(c, n, input, env, &res); break;
    case N_LAMBDA: rc = lambda(c, n, input, env, &res); break;
    case N_APPLY: rc = jn_apply_expr(c, n, input, env, &res); break;
    case N_TRANSFORM: rc = transform(c, n, env, &res); break;
    default: rc = jn_fail(c, "S0206", n->position, n->value);
    }
    if (rc < 0) {
        jv_unref(res);
        c->depth--;
        return -1;
    }
    for (int i = 0; i < n->npreds; i++) {
        jv r2;
        if (jn_filter(c, n->preds[i].expr, res, env, &r2) < 0) {
            jv_unref(res);
            c->depth--;
            return -1;
        }
        jv_unref(res);
        res = r2;
    }
    if (n->type != N_PATH && n->group) {
        jv r2;
        if (jn_group_eval(c, n->group, res, env, &r2) < 0) {
            jv_unref(res);
            c->depth--;
            return -1;
        }
        jv_unref(res);
        res = r2;
    }
    *out = jv_seq_finish(res, n->keep_array);
    c->depth--;
    return 0;
}
