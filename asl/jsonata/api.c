/* asl/jsonata/api.c — asl/jsonata.h: compile, evaluate (values converted at
 * the boundary, guards, the cycle breaking of closures' frames), errors
 * rendered from the reference's templates. */
#include "internal.h"

#include "../../core/core.h"

#include <math.h>
#include <string.h>
#include <time.h>


extern const struct {
    const char *code, *text;
} jn_error_templates[];

void sy_jsonata_error_clear(sy_jsonata_error_t *err) {
    if (!err) return;
    free(err->token);
    free(err->message);
    json_decref(err->value);
    memset(err, 0, sizeof *err);
    err->position = -1;
}

static void json_text(jn_buf *b, jv v) {
    if (v.t == JT_UNDEF) {
        jn_buf_puts(b, "undefined");
        return;
    }
    if (v.t == JT_NUM && !isfinite(v.n)) {
        jn_buf_puts(b, "null");
        return;
    }
    if (v.t == JT_NUM) {
        char num[64];
        jn_num_to_js(v.n, num, sizeof num);
        jn_buf_puts(b, num);
        return;
    }
    jn_stringify(NULL, v, false, b);
}

static char *render(const jn_err *e) {
    const char *tpl = NULL;
    for (int i = 0; jn_error_templates[i].code; i++)
        if (strcmp(jn_error_templates[i].code, e->code) == 0) tpl = jn_error_templates[i].text;
    if (e->extra_name && e->extra_name[0] == '!') return sy_strdup(e->extra); /* pre-rendered (fmt.h) */
    if (!tpl) return sy_strdup(e->extra ? e->extra : e->code);
    jn_buf b = {0};
    for (const char *p = tpl; *p;) {
        bool raw = strncmp(p, "{{{", 3) == 0;
        if (raw || strncmp(p, "{{", 2) == 0) {
            const char *st = p + (raw ? 3 : 2);
            const char *en = strstr(st, raw ? "}}}" : "}}");
            if (!en) {
                jn_buf_puts(&b, p);
                break;
            }
            char field[32];
            snprintf(field, sizeof field, "%.*s", (int)(en - st), st);
            if (strcmp(field, "token") == 0) {
                if (!e->token) jn_buf_puts(&b, "undefined");
                else if (raw) jn_buf_puts(&b, e->token);
                else {
                    jv t = jv_cstr(e->token);
                    json_text(&b, t);
                    jv_unref(t);
                }
            } else if (strcmp(field, "value") == 0) {
                if (raw && e->value.t == JT_STR) jn_buf_put(&b, e->value.s->s, e->value.s->len);
                else json_text(&b, e->value);
            } else if (strcmp(field, "value2") == 0 || strcmp(field, "exp") == 0) {
                json_text(&b, e->value2);
            } else if (strcmp(field, "index") == 0) {
                char n[16];
                snprintf(n, sizeof n, "%d", e->index);
                jn_buf_puts(&b, n);
            } else if (strcmp(field, "type") == 0) {
                if (e->type) {
                    if (!raw) jn_buf_putc(&b, '"');
                    jn_buf_puts(&b, e->type);
                    if (!raw) jn_buf_putc(&b, '"');
                } else {
                    jn_buf_puts(&b, "undefined");
                }
            } else if (e->extra && (strcmp(field, "message") == 0 || strcmp(field, "functionName") == 0)) {
                jn_buf_puts(&b, e->extra);
            } else {
                jn_buf_puts(&b, "undefined");
            }
            p = en + (raw ? 3 : 2);
        } else {
            jn_buf_putc(&b, *p++);
        }
    }
    char *r = b.p ? b.p : sy_strdup("");
    return r;
}

static void export_err(jn_err *e, sy_jsonata_error_t *out) {
    if (!out) return;
    sy_jsonata_error_clear(out);
    snprintf(out->code, sizeof out->code, "%s", e->code);
    out->position = e->position;
    out->token = e->token ? sy_strdup(e->token) : NULL;
    out->message = render(e);
    out->value = e->value.t == JT_UNDEF ? NULL : jv_to_json(e->value);
}

static void err_free(jn_err *e) {
    free(e->token);
    jv_unref(e->value);
    jv_unref(e->value2);
    free(e->extra_name);
    free(e->extra);
    free(e->type);
    memset(e, 0, sizeof *e);
}

sy_jsonata_t *sy_jsonata_compile(const char *expr, size_t len, sy_jsonata_error_t *err) {
    sy_jsonata_t *x = sy_calloc(1, sizeof *x);
    x->a = jn_arena_new();
    x->src = sy_strndup(expr, len);
    jn_err e = {.position = -1};
    if (!jn_utf8_valid(expr, len) || memchr(expr, 0, len)) {
        snprintf(e.code, sizeof e.code, "S0201");
        e.position = 0;
        e.token = sy_strdup("(invalid UTF-8)");
        export_err(&e, err);
        err_free(&e);
        sy_jsonata_free(&x);
        return NULL;
    }
    x->root = jn_parse(x->a, x->src, len, &e);
    if (!x->root) {
        export_err(&e, err);
        err_free(&e);
        sy_jsonata_free(&x);
        return NULL;
    }
    return x;
}

void sy_jsonata_free(sy_jsonata_t **p) {
    if (!p || !*p) return;
    jn_arena_free((*p)->a);
    free((*p)->src);
    free(*p);
    *p = NULL;
}

const char *sy_jsonata_source(const sy_jsonata_t *x) { return x ? x->src : NULL; }

static int64_t mono_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct sy_jsonata_bindings {
    jv obj;
};

sy_jsonata_bindings_t *sy_jsonata_bindings_new(const json_t *bindings) {
    sy_jsonata_bindings_t *b = sy_calloc(1, sizeof *b);
    b->obj = json_is_object(bindings) ? jv_from_json(bindings) : jv_obj_new(0);
    return b;
}

void sy_jsonata_bindings_free(sy_jsonata_bindings_t **b) {
    if (!b || !*b) return;
    jv_unref((*b)->obj);
    free(*b);
    *b = NULL;
}

static int eval_common(const sy_jsonata_t *expr, const json_t *input, const json_t *bindings, jv prepared,
                       const sy_jsonata_opts_t *opts, json_t **out, int *kind, sy_jsonata_error_t *err) {
    static const sy_jsonata_opts_t defaults = {0};
    if (!opts) opts = &defaults;
    *out = NULL;
    if (kind) *kind = SY_JSONATA_UNDEFINED;
    jn_ctx c = {0};
    c.opts = opts;
    c.err.position = -1;
    c.max_depth = opts->max_depth ? opts->max_depth : 2000;
    jv_budget_start(JN_BUDGET_UNITS);
    c.deadline_ms = mono_ms() + (opts->time_limit_ms > 0 ? opts->time_limit_ms : 10000);
    char here;
    c.stack_base = &here;
    c.now_ms = (double)(opts->now_ms ? opts->now_ms : sy_now_ms());
    c.sfn = opts->step_functions;
    jn_env *root = jn_env_new(&c, NULL);
    if (prepared.t == JT_OBJ)
        for (size_t i = 0; i < prepared.o->len; i++) jn_env_bind(&c, root, prepared.o->k[i]->s, jv_ref(prepared.o->v[i]));
    if (bindings && json_is_object(bindings)) {
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)bindings, k, v) {
            jn_env_bind(&c, root, k, jv_from_json(v));
        }
    }
    jv in = jv_from_json(input);
    jn_env_bind(&c, root, "$", jv_ref(in));
    if (in.t == JT_ARR) {
        jv w = jv_seq_new(1);
        jv_arr_push(w, in);
        w.a->flags |= JA_OUTER;
        in = w;
    }
    jv res = JV_UNDEF;
    int rc = jn_eval(&c, expr->root, in, root, &res);
    if (rc == 0) {
        if (res.t == JT_FN) {
            if (kind) *kind = SY_JSONATA_FUNCTION;
        } else if (res.t != JT_UNDEF) {
            if (res.t == JT_NUM && !isfinite(res.n)) {
                jn_fail_v(&c, "D1001", res);
                rc = -1;
            } else {
                *out = jv_to_json(res);
                if (kind) *kind = SY_JSONATA_VALUE;
                if (jv_budget_over()) { /* shared parts met many times: too big once written out */
                    json_decref(*out);
                    *out = NULL;
                    if (kind) *kind = SY_JSONATA_UNDEFINED;
                    jn_fail_budget(&c);
                    rc = -1;
                }
            }
        }
    }
    if (rc < 0) export_err(&c.err, err);
    jv_budget_start(0); /* off until the next evaluation: compiles on this thread (the lexer builds strings) never see it */
    jv_unref(res);
    jv_unref(in);
    /* break closure cycles: frames that hold functions lose their bindings */
    for (size_t i = 0; i < c.nreg; i++) {
        jn_env *e = c.reg[i];
        for (int k = 0; k < e->n; k++) {
            jv v = e->vals[k];
            e->vals[k] = JV_UNDEF;
            jv_unref(v);
        }
    }
    for (size_t i = 0; i < c.nreg; i++) jn_env_release(c.reg[i]);
    free(c.reg);
    jn_env_release(root);
    err_free(&c.err);
    return rc;
}

int sy_jsonata_eval_kind(const sy_jsonata_t *expr, const json_t *input, const json_t *bindings,
                         const sy_jsonata_opts_t *opts, json_t **out, int *kind, sy_jsonata_error_t *err) {
    return eval_common(expr, input, bindings, JV_UNDEF, opts, out, kind, err);
}

int sy_jsonata_eval_prepared(const sy_jsonata_t *expr, const json_t *input, const sy_jsonata_bindings_t *bindings,
                             const sy_jsonata_opts_t *opts, json_t **out, int *kind, sy_jsonata_error_t *err) {
    return eval_common(expr, input, NULL, bindings ? bindings->obj : JV_UNDEF, opts, out, kind, err);
}

int sy_jsonata_eval(const sy_jsonata_t *expr, const json_t *input, const json_t *bindings,
                    const sy_jsonata_opts_t *opts, json_t **out, sy_jsonata_error_t *err) {
    return eval_common(expr, input, bindings, JV_UNDEF, opts, out, NULL, err);
}
