/* asl/jsonata/internal.h — the JSONata evaluator's internals (asl/jsonata.h is
 * the contract). Values are 16-byte tagged structs: undefined, null, booleans
 * and numbers inline; strings, arrays, objects and functions on the heap with
 * a reference count (negative = immortal: AST constants and singletons that
 * several threads may read at once). Every function returning a jv returns a
 * new reference; arguments are borrowed unless the name says "take". */
#ifndef SY_ASL_JSONATA_INTERNAL_H
#define SY_ASL_JSONATA_INTERNAL_H

#include "../jsonata.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum { JT_UNDEF = 0, JT_NULL, JT_BOOL, JT_NUM, JT_STR, JT_ARR, JT_OBJ, JT_FN };

typedef struct jn_str jn_str;
typedef struct jn_arr jn_arr;
typedef struct jn_obj jn_obj;
typedef struct jn_fn jn_fn;
typedef struct jn_env jn_env;
typedef struct jn_node jn_node;
typedef struct jn_ctx jn_ctx;
typedef struct jn_sig jn_sig;

typedef struct {
    uint32_t t;
    union {
        double n;
        bool b;
        jn_str *s;
        jn_arr *a;
        jn_obj *o;
        jn_fn *f;
        int32_t *rc;
    };
} jv;

struct jn_str {
    int32_t rc;
    uint32_t len; /* bytes, UTF-8 (WTF-8 for lone surrogates) */
    char s[];     /* NUL-terminated */
};

/* array flags: the reference's sequence / keepSingleton / outerWrapper /
 * tupleStream / cons markers, plus "may hold a function" (cycle tracking) */
enum { JA_SEQ = 1, JA_KEEP = 2, JA_OUTER = 4, JA_TUPLE = 8, JA_CONS = 16, JA_HASFN = 32 };

struct jn_arr {
    int32_t rc;
    uint32_t flags;
    size_t len, cap;
    jv *v;
};

struct jn_obj {
    int32_t rc;
    uint32_t flags; /* JA_HASFN */
    size_t len, cap;
    jn_str **k;
    jv *v;
    uint32_t *idx; /* open-addressing index (len >= 12), idxcap slots, 0 = empty, else i+1 */
    size_t idxcap;
};

enum { FN_LAMBDA = 1, FN_NATIVE, FN_PARTIAL, FN_REGEX, FN_REGEX_NEXT, FN_TRANSFORM, FN_CHAIN };

typedef int (*jn_native_fn)(jn_ctx *c, jv *args, int nargs, jv input, jv *out);

typedef struct {
    const char *name;
    jn_native_fn fn;
    const char *sig; /* "<s-n?:s>" */
    int arity;       /* the reference implementation's declared parameters */
} jn_builtin;

struct jn_fn {
    int32_t rc;
    int kind;
    /* FN_LAMBDA */
    const jn_node *node;        /* lambda node (body, signature) or transform node */
    jn_env *env;                /* captured */
    jv input;                   /* captured context */
    const char *const *params;  /* parameter names (without $) */
    int nparams;
    bool own_params;
    bool thunk;
    /* FN_NATIVE */
    const jn_builtin *bi;
    const jn_sig *sig;
    /* FN_PARTIAL: target with holes */
    jv target;
    jv *bound;
    bool *hole;
    int nbound;
    /* FN_REGEX / FN_REGEX_NEXT */
    void *re;  /* pcre2_code, owned by the AST node */
    jn_str *subject;
    size_t offset; /* byte offset of next search */
    int re_position;
    const char *re_source;
};

/* ------------------------------------------------------------- values */
extern const jv JV_UNDEF, JV_NULL, JV_TRUE, JV_FALSE;
static inline bool jv_is_heap(jv v) { return v.t >= JT_STR; }
static inline jv jv_num(double n) { jv v = {.t = JT_NUM}; v.n = n; return v; }
static inline jv jv_bool(bool b) { return b ? JV_TRUE : JV_FALSE; }
static inline bool jv_undef(jv v) { return v.t == JT_UNDEF; }
static inline jv jv_ref(jv v) {
    if (v.t >= JT_STR && *v.rc >= 0) (*v.rc)++;
    return v;
}
void jv_free_heap(jv v);
static inline void jv_unref(jv v) {
    if (v.t >= JT_STR && *v.rc >= 0 && --(*v.rc) == 0) jv_free_heap(v);
}
static inline bool jv_is_arr(jv v) { return v.t == JT_ARR; }
static inline bool jv_is_seq(jv v) { return v.t == JT_ARR && (v.a->flags & JA_SEQ); }

jv jv_str(const char *s, size_t len);
jv jv_cstr(const char *s);
jv jv_str_take(char *s, size_t len); /* adopts a sy_malloc'd buffer (copies, frees) */
jv jv_str_immortal(const char *s, size_t len);
jv jv_arr_new(size_t cap);
jv jv_seq_new(size_t cap);
void jv_arr_push(jv arr, jv take);
/* One evaluation's budget of array items and string bytes (16-byte units). */
#define JN_BUDGET_UNITS (16u << 20) /* 256 MiB of 16-byte units: a range of 1e7 (JSONata's limit) fits */
void jv_budget_start(uint64_t units);
bool jv_budget_over(void);
int jn_fail_budget(jn_ctx *c);
void jv_arr_push_ref(jv arr, jv v);
jv jv_obj_new(size_t cap);
jv jv_obj_get(jv obj, const char *key, size_t klen); /* borrowed; UNDEF when absent */
void jv_obj_set(jv obj, const char *key, size_t klen, jv take);
void jv_obj_set_str(jv obj, jn_str *key, jv take);
bool jv_obj_del(jv obj, const char *key, size_t klen);
jv jv_fn_new(int kind);
bool jv_deep_equal(jv a, jv b);
bool jv_has_fn(jv v);
jv jv_from_json(const json_t *j);
json_t *jv_to_json(jv v); /* NULL for undefined; functions become NULL inside */
jv jv_clone(jv v);        /* deep copy of arrays and objects */
/* append (the reference's fn.append): take both, returns new */
jv jv_append(jv a, jv b);
/* the sequence rules at the end of evaluate(): take v */
jv jv_seq_finish(jv v, bool keep_array);

/* numbers */
bool jn_num_to_js(double d, char *buf, size_t n);     /* Number.prototype.toString */
double jn_to_precision15(double d);
int jn_strtod_js(const char *s, size_t len, double *out); /* JSON number syntax */

/* strings (UTF-8 / UTF-16 helpers) */
bool jn_utf8_valid(const char *s, size_t len);
size_t jn_utf8_cplen(const char *s, size_t len);
size_t jn_utf8_u16len(const char *s, size_t len);
size_t jn_utf8_adv(const char *s, size_t len, size_t pos); /* next code point */
uint32_t jn_utf8_dec(const char *s, size_t len, size_t *pos);
size_t jn_utf8_enc(uint32_t cp, char *out);
size_t jn_u16_to_byte(const char *s, size_t len, size_t u16);
size_t jn_byte_to_u16(const char *s, size_t bytes);
int jn_u16_cmp(const char *a, size_t al, const char *b, size_t bl);

/* growable byte buffer */
typedef struct {
    char *p;
    size_t len, cap;
} jn_buf;
void jn_buf_put(jn_buf *b, const char *s, size_t n);
void jn_buf_putc(jn_buf *b, char c);
void jn_buf_puts(jn_buf *b, const char *s);
jv jn_buf_to_str(jn_buf *b); /* frees the buffer */

/* JSON text as the reference's $string prints it (numbers at 15 digits) */
int jn_stringify(jn_ctx *c, jv v, bool pretty, jn_buf *out);

/* ------------------------------------------------------------- AST */
typedef struct jn_slot {
    char label[16];
    int level;
    int index;
} jn_slot;

typedef struct {
    int type; /* 0 filter, 1 index */
    jn_node *expr;
    const char *var;
    int position;
} jn_stage;

typedef struct {
    jn_node **keys, **vals;
    int n;
    int position;
} jn_group;

enum {
    N_PATH = 1, N_BINARY, N_NEG, N_ARRAY, N_OBJECT, N_NAME, N_STRING, N_NUMBER, N_VALUE, N_WILDCARD,
    N_DESCENDANT, N_PARENT, N_CONDITION, N_BLOCK, N_BIND, N_REGEX, N_FUNCTION, N_PARTIAL, N_VARIABLE,
    N_LAMBDA, N_APPLY, N_SORT, N_TRANSFORM, N_HOLE, N_OPERATOR,
    /* raw parse forms, gone after processing */
    R_DOT, R_PRED, R_GROUP, R_ORDER, R_FOCUS, R_INDEX, R_COALESCE, R_DEFAULT
};

struct jn_node {
    int type;
    int position;
    const char *value; /* operator, name, variable name */
    jv lit;            /* literal value (immortal) */
    jn_node *lhs, *rhs;
    jn_node **items; /* steps / expressions / arguments */
    int nitems;
    jn_node *procedure;
    jn_node *cond, *then, *els;
    jn_node *pattern, *update, *del;
    jn_group *obj;   /* object constructor (N_OBJECT) or raw group rhs */
    jn_group *group; /* grouping on a step / path */
    jn_stage *stages;
    int nstages;
    jn_stage *preds;
    int npreds;
    /* lambda */
    const char **params;
    int nparams;
    jn_sig *sig;
    jn_node *body;
    bool thunk;
    /* sort */
    jn_node **terms;
    bool *desc;
    int nterms;
    /* flags */
    bool keep_array, keep_singleton, consarray, tuple;
    const char *focus, *index;
    jn_slot *slot, *ancestor;
    jn_slot **seeking;
    int nseeking;
    /* regex */
    void *re;
    int re_flags;
};

typedef struct jn_arena jn_arena;
void *jn_aalloc(jn_arena *a, size_t n);
char *jn_astrdup(jn_arena *a, const char *s, size_t n);
jn_arena *jn_arena_new(void);
void jn_arena_free(jn_arena *a);

typedef struct {
    char code[8];
    int position;
    char *token;
    jv value, value2;
    char *extra_name, *extra; /* {{{message}}} / {{{functionName}}} / {{type}} / {{index}} */
    int index;
    char *type;
} jn_err;

struct sy_jsonata {
    jn_arena *a;
    jn_node *root;
    char *src;
};

/* parse + process: returns root node, or NULL with e set */
jn_node *jn_parse(jn_arena *a, const char *src, size_t len, jn_err *e);

/* ------------------------------------------------------------- signatures */
jn_sig *jn_sig_parse(jn_arena *a, const char *sig, int *err_offset, char *err_code);
/* validate args; on success *out (length *nout) is a new array of references */
int jn_sig_validate(jn_ctx *c, const jn_sig *sig, jv *args, int nargs, jv context, jv **out, int *nout);

/* ------------------------------------------------------------- evaluation */
struct jn_env {
    int32_t rc;
    bool registered;
    jn_env *parent;
    int n, cap;
    const char **names;
    jv *vals;
};

struct jn_ctx {
    const sy_jsonata_opts_t *opts;
    jn_err err;
    bool failed;
    uint32_t depth, max_depth;
    const char *stack_base; /* address of a local at entry: the C stack guard */
    int64_t deadline_ms;
    uint32_t tick;
    double now_ms;
    bool sfn;
    jn_env **reg;
    size_t nreg, capreg;
    uint64_t rng[2];
    bool rng_seeded;
};

jn_env *jn_env_new(jn_ctx *c, jn_env *parent);
void jn_env_release(jn_env *e);
void jn_env_bind(jn_ctx *c, jn_env *e, const char *name, jv take);
jv jn_env_lookup(jn_ctx *c, jn_env *e, const char *name); /* borrowed; builtins last */

int jn_eval(jn_ctx *c, const jn_node *n, jv input, jn_env *env, jv *out);
int jn_apply(jn_ctx *c, jv fn, jv *args, int nargs, jv input, jn_env *env, jv *out);
int jn_fn_arity(jv fn);
/* call fn with (value, index, array) cut to its arity (the reference's hofFuncArgs) */
int jn_call_hof(jn_ctx *c, jv fn, jv a1, jv a2, jv a3, jv *out);
bool jn_boolean(jv v, bool *undef);
jv jn_lookup(jv input, const char *k, size_t klen); /* the reference's fn.lookup */
int jn_fail(jn_ctx *c, const char *code, int position, const char *token);
int jn_fail_v(jn_ctx *c, const char *code, jv value);
bool jn_time_guard(jn_ctx *c);

/* builtins */
const jn_builtin *jn_builtin_find(const char *name, bool sfn);
jv jn_builtin_value(const char *name, bool sfn); /* immortal function value or UNDEF */
int jn_fn_string(jn_ctx *c, jv v, jv *out); /* $string(v) */
int jn_regex_compile(const char *pat, size_t len, int flags, void **re, char *errbuf, size_t errlen);
void jn_regex_free(void *re);
/* the matcher protocol: calls the matcher fn, returns the match object (or UNDEF) */
int jn_match_first(jn_ctx *c, jv matcher, jv str, jv *out);
int jn_match_next(jn_ctx *c, jv match, jv *out);
int jn_regex_call(jn_ctx *c, jn_fn *f, jv *args, int nargs, jv *out);
int jn_sort(jn_ctx *c, jv arr, jv fn, const jn_node *sortnode, jn_env *env, jv *out);

#define JN_FAILED(c) ((c)->failed)

#endif
