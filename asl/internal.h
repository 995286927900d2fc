/* asl/internal.h - the interpreter's internals, shared by the files of asl/
 * only. Other modules use asl/asl.h. Allocation (sy_malloc, sy_strdup,
 * sy_asprintf), UUIDs (sy_uuid4) and timestamps (sy_iso8601_ms) are core's. */
#ifndef SY_ASL_INTERNAL_H
#define SY_ASL_INTERNAL_H

#include "asl/asl.h"
#include "core/core.h"

#include <stdarg.h>
#include <stdio.h>

/* ---- JSON text (json_text.c) ---- */
char *asl_dumps(const json_t *v);            /* compact JSON text, caller frees */
size_t asl_dump_len(const json_t *v);        /* strlen(asl_dumps(v)) without building it */
char *asl_format_java(const json_t *v);      /* {k=v, k2=[1, 2]} as States.Format prints */
void asl_format_real(double d, char out[40]);
json_t *asl_loads_any(const char *s, size_t n); /* any JSON value or NULL */
bool asl_is_int(const json_t *v);            /* integer or integral real */
bool asl_parse_timestamp(const char *s, int64_t *epoch_ms); /* RFC 3339 with T and zone */

/* ---- JSONPath (jsonpath.c) ---- */
/* The context object handed to path evaluation carries the thread's
 * variables under this key; "$$" never shows it and "$name" reads it. */
#define ASL_VARS_KEY "$vars"
typedef enum { JP_OK = 0, JP_MISSING = 1, JP_SYNTAX = -1 } jp_rc_t;
/* Query doc. Definite paths give the value, indefinite ones (wildcards,
 * slices, filters, ..) an array of matches. On JP_MISSING *where is the
 * normalized path ($['a']['b']) up to the missing member (caller frees). */
jp_rc_t asl_jp_query(const char *path, const json_t *doc, json_t **out, char **where);
bool asl_jp_valid(const char *path);            /* syntax check ($ or $$ paths) */
bool asl_jp_is_reference(const char *path);     /* definite path: no *, .., [?], slices */
char *asl_jp_normalize(const char *path);       /* $['a']['b'] form, caller frees */
/* ResultPath: put value (stolen) at path in *doc (which may be replaced). */
int asl_jp_set(json_t **doc, const char *path, json_t *value, char **err);

/* ---- intrinsic functions: the call parser (intrinsics.c), the functions
 * and their table (intrinsic_fns.c) ---- */
typedef struct {
    json_t *v;
    char *raw; /* string literal as written (escapes kept), for Format */
} asl_ix_arg_t;
typedef struct {
    const char *p;
    const json_t *input, *ctx;
    bool dry; /* validate only: paths are not evaluated */
    const char *field;
    char *err_name, *err_cause;
} asl_ix_t;
/* Record the first error of the call (name and printf cause); returns -1. */
int asl_ix_fail(asl_ix_t *x, const char *name, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
typedef int (*asl_ix_fn_t)(asl_ix_t *x, asl_ix_arg_t *a, int n, json_t **out);
/* The function named by name[0..len), or NULL. */
asl_ix_fn_t asl_ix_lookup(const char *name, size_t len);
bool asl_is_intrinsic(const char *s);  /* starts with States. */
bool asl_intrinsic_valid(const char *s, char **err);
/* Evaluate an intrinsic call. Returns 0 and *out, or -1 with *err_name and
 * *err_cause (new strings). */
int asl_intrinsic_eval(const char *s, const char *field, const json_t *input, const json_t *ctx,
                       json_t **out, char **err_name, char **err_cause);

/* ---- data flow (payload.c) ---- */
/* Evaluation error: AWS's error name and cause (new strings). */
typedef struct {
    char *error;
    char *cause;
    char *location; /* JSONata mode: the field ("Output/result"), NULL when none */
} asl_fault_t;
void asl_fault_set(asl_fault_t *f, const char *error, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void asl_fault_clear(asl_fault_t *f);
/* A path or intrinsic used as a value: "$.x", "$$.x", "States.X(...)". */
int asl_value_eval(const char *expr, const char *field, const json_t *input, const json_t *ctx,
                   json_t **out, asl_fault_t *f);
int asl_payload_eval(const json_t *tmpl, const json_t *input, const json_t *ctx, json_t **out,
                     asl_fault_t *f);
/* InputPath / OutputPath ("" when absent, NULL when JSON null). */
int asl_path_select(const json_t *state, const char *field, const json_t *input,
                    const json_t *ctx, json_t **out, asl_fault_t *f);
int asl_result_path(const json_t *state, const json_t *raw_input, json_t *result, json_t **out,
                    asl_fault_t *f);

/* ---- Choice (choice.c) ---- */
/* Returns the Next of the matching rule, the Default, or NULL (no match);
 * -1 on a runtime fault. */
int asl_choice_eval(const json_t *state, const json_t *input, const json_t *ctx, const char **next,
                    const json_t **assign, asl_fault_t *f);

/* ---- errors (run.c) ---- */
bool asl_error_matches(const json_t *error_equals, const char *error);

/* ---- JSONata mode: compiled expressions (ql.c) ----
 * Every "{% ... %}" string of a JSONata-mode state is compiled once, when the
 * definition is validated, and kept in a table keyed by the address of its
 * string node in the definition (which is read-only from then on). */
#include "asl/jsonata.h"
typedef struct {
    const json_t **keys;
    sy_jsonata_t **vals;
    size_t cap, n;
} asl_exprs_t;
void asl_exprs_free(asl_exprs_t *e);
const sy_jsonata_t *asl_exprs_get(const asl_exprs_t *e, const json_t *node);
void asl_exprs_add(asl_exprs_t *e, const json_t *node, sy_jsonata_t *expr); /* takes expr */
/* The expression text of a "{% ... %}" string (trimmed), or false. */
bool asl_jx_is_expr(const json_t *v, const char **body, size_t *len);
/* A string that opens with "{%" or closes with "%}" but is not an expression. */
bool asl_jx_malformed(const json_t *v);

/* ---- validation (validate.c, validate_state.c) ---- */
typedef struct {
    json_t *diags; /* array */
    asl_exprs_t *keep; /* compiled expressions go here (def_parse) or are freed (NULL) */
    int flags;
    bool jsonata;  /* top-level QueryLanguage JSONata */
    bool state_jsonata; /* the state being checked is in JSONata mode */
    bool ql_free;  /* inside a distributed Map processor: QueryLanguage may switch */
    json_t *names; /* every state name seen so far (unique across the machine) */
} asl_vctx_t;
void asl_diag(asl_vctx_t *v, const char *code, const char *loc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void asl_validate_scope(asl_vctx_t *v, const json_t *scope, const char *loc);
/* Validate a parsed definition (root from the text; keep may be NULL). */
json_t *asl_validate_root(const json_t *root, int flags, asl_exprs_t *keep);
/* Parse text (syntax diagnostics as sy_asl_validate) and validate it; *root_out new (NULL on a syntax error). */
json_t *asl_validate_parsed(const char *text, size_t len, int flags, json_t **root_out, asl_exprs_t *keep);
/* JSONata checks of one JSONata-mode state (validate_jsonata.c): compile
 * every expression, the $states rules, top-level references. */
void asl_validate_jsonata_state(asl_vctx_t *v, const char *type, const json_t *st, const char *loc);
/* A JSONPath-mode state must not carry JSONata-only fields. */
void asl_validate_jsonpath_state(asl_vctx_t *v, const char *type, const json_t *st, const char *loc);
void asl_validate_state(asl_vctx_t *v, const char *name, const json_t *st, const char *loc);
/* Workflow variables (validate_vars.c): an inner scope (Parallel branch,
 * inline Map processor) must not assign a name an outer scope assigns. */
void asl_validate_var_scopes(asl_vctx_t *v, const json_t *root);
bool asl_resource_supported(const char *res);


/* ---- JSONPath parse tree (jsonpath_parse.c, used by jsonpath.c) ---- */
typedef enum { S_NAME, S_INDEX, S_WILD, S_SLICE, S_NAMES, S_INDEXES, S_FILTER } seg_kind_t;

typedef struct {
    seg_kind_t kind;
    bool deep;
    char *name;             /* S_NAME, S_FILTER (expression text) */
    long a, b, c;           /* S_INDEX (a), S_SLICE */
    bool has_a, has_b;
    char **names;           /* S_NAMES */
    long *idx;              /* S_INDEXES */
    int n;
} seg_t;

typedef struct {
    seg_t *segs;
    int n, cap;
} jp_t;
bool asl_jp_tree_parse(const char *path, jp_t *jp);
void asl_jp_tree_free(jp_t *jp);
bool asl_jp_tree_definite(const jp_t *jp);
bool asl_jp_is_var_ref(const char *path);
char *asl_jp_rooted(const char *path);
char *asl_jp_parse_quoted(const char **pp); /* a quoted name; advances *pp */


/* ---- definitions (def.c) ---- */
struct sy_asl_def {
    json_t *root;   /* the validated definition */
    char *text;
    asl_exprs_t exprs; /* compiled JSONata expressions */
};

/* ---- execution core (run.c, execution.c) ----
 * Every thread of control (the execution, a Parallel branch, a Map
 * iteration) is a JSON object in st.threads, so the whole execution state is
 * plain data. Thread fields: id, parent, index, scope (array of keys from the
 * definition root to the object holding States), state, input, phase, prev
 * (last event id), entered, attempt, retries, item, eff, req, kids, status. */
#define ASL_MAX_PAYLOAD 262144

struct sy_asl_exec {
    const sy_asl_def_t *def;
    json_t *st;        /* checkpointed state */
    json_t *history;   /* events since new/load */
    sy_asl_req_t *reqs;
    size_t nreqs, capreqs;
    json_t *issued;    /* request ids issued during the current step */
    bool quiet;        /* history off: asl_emit drops the events */
};
typedef struct sy_asl_exec asl_x_t;

int64_t asl_geti(const json_t *o, const char *k);
void asl_seti(json_t *o, const char *k, int64_t v);
const char *asl_gets(const json_t *o, const char *k);
void asl_sets(json_t *o, const char *k, const char *v);

const json_t *asl_state_def(const asl_x_t *x, const json_t *t);   /* the current state's object */
const json_t *asl_scope_def(const asl_x_t *x, const json_t *scope); /* object with StartAt/States */
json_t *asl_ctx(const asl_x_t *x, const json_t *t);                /* new context object */
int64_t asl_now(const asl_x_t *x);
/* Append an event to the thread's chain; details stolen (may be NULL). */
int64_t asl_emit(asl_x_t *x, json_t *t, const char *type, const char *dkey, json_t *details);
json_t *asl_payload_text(const json_t *v); /* new JSON string holding v's JSON text */
/* Requests */
int64_t asl_request_task(asl_x_t *x, json_t *t, const char *resource, const json_t *input);
int64_t asl_request_timer(asl_x_t *x, json_t *t, int64_t wake_at_ms);
sy_asl_pattern_t asl_task_pattern(const char *resource);
/* Thread lifecycle */
json_t *asl_thread_new(asl_x_t *x, int64_t parent, int64_t index, json_t *scope, json_t *input);
json_t *asl_thread_get(const asl_x_t *x, int64_t id);
void asl_thread_drop(asl_x_t *x, int64_t id); /* and its descendants */
/* Finish the current state with output (stolen): Exited event, then Next or End. */
void asl_state_done(asl_x_t *x, json_t *t, json_t *output);
void asl_finish_output(asl_x_t *x, json_t *t, const json_t *st, json_t *result, json_t *ctx);
void asl_state_done_next(asl_x_t *x, json_t *t, json_t *output, const char *next);
int asl_effective_input(asl_x_t *x, json_t *t, const json_t *st, const json_t *ctx, json_t **eff,
                        asl_fault_t *f);
/* Evaluate an Assign template against doc ($) with the variables from
 * before the state; applied when the state exits. */
int asl_assign(asl_x_t *x, json_t *t, const json_t *assign, const json_t *doc, const json_t *ctx, asl_fault_t *f);
/* Workflow variables (vars.c). The values an Assign produced (vals), checked
 * before they are kept: not a name of an outer scope (States.Runtime), the
 * size quotas (States.DataLimitExceeded). */
#define ASL_VAR_MAX 262144            /* one variable; one Assign altogether */
#define ASL_VARS_MAX (10 * 1024 * 1024) /* all the variables a thread holds */
int asl_vars_check(json_t *t, const json_t *vals, asl_fault_t *f);
/* A Parallel branch or inline Map iteration starts with a copy of the
 * parent's variables, whose names it cannot assign. */
void asl_vars_inherit(json_t *child, const json_t *parent);
/* Runtime fault in the current state (States.Runtime etc., never caught;
 * States.QueryEvaluationError: an EvaluationFailed event, then Retry/Catch
 * of a Task, Map or Parallel state). */
void asl_state_fault(asl_x_t *x, json_t *t, const asl_fault_t *f);
/* The same without Retry/Catch (a catcher's own Output / Assign failed). */
void asl_state_fault_final(asl_x_t *x, json_t *t, const asl_fault_t *f);
/* Error of a Task/Parallel/Map: Retry, then Catch, then the thread fails. */
void asl_state_error(asl_x_t *x, json_t *t, const char *error, const char *cause);
/* Schedule a retry when a retrier matches and has attempts left. */
bool asl_try_retry(asl_x_t *x, json_t *t, const json_t *st, const char *error);
/* End the thread as failed (Fail state, unhandled error). */
void asl_thread_fail(asl_x_t *x, json_t *t, const char *error, const char *cause);
/* Called when a child thread ends. */
void asl_child_done(asl_x_t *x, json_t *parent, json_t *child);
/* A branch or iteration failed in a Task state: AWS records TaskStateAborted
 * (chained to the child's last event, the parent's chain unchanged). */
void asl_task_aborted(asl_x_t *x, json_t *t, const json_t *child);
/* Post-processing shared by Task/Parallel/Map: ResultSelector, ResultPath, OutputPath. */
void asl_finish_result(asl_x_t *x, json_t *t, json_t *result);

void asl_reqs_rebuild(asl_x_t *x, bool only_issued);
json_t *asl_thread_by_req(const asl_x_t *x, int64_t req_id);

/* ---- JSONata mode at run time (ql.c, ql_states.c) ---- */
/* The state runs in JSONata mode (its QueryLanguage, or the machine's). */
bool asl_jx_state(const asl_x_t *x, const json_t *st);
/* The variables of expressions: the thread's workflow variables plus
 * $states {input, context, result, errorOutput} (result / errorOutput /
 * map_item may be NULL). New object. */
json_t *asl_jx_bind(const asl_x_t *x, const json_t *t, const json_t *input, const json_t *result,
                    const json_t *error_output, const json_t *map_item);
/* Evaluate a template (any JSON value; "{% %}" strings at any depth) for
 * field (the location, "Output"). 0 and *out (new), or -1 with f set to
 * States.QueryEvaluationError and its location. */
int asl_jx_eval(const asl_x_t *x, const json_t *tmpl, const json_t *bind, const char *field, json_t **out,
                asl_fault_t *f);
/* A value of the wrong type for its field: "returned an unexpected result type" */
void asl_jx_type_fault(asl_fault_t *f, const json_t *node, const char *field, const char *want, const json_t *got);
/* Assign (all values from the variables before the state) then Output
 * (default dflt), the state ends. result (borrowed, may be NULL) is
 * $states.result; dflt is stolen. */
void asl_jx_finish(asl_x_t *x, json_t *t, const json_t *st, const json_t *result, json_t *dflt);
/* JSONata Arguments (default: the raw input). */
int asl_jx_arguments(asl_x_t *x, json_t *t, const json_t *st, const json_t *args, json_t **out, asl_fault_t *f);
/* An integer field given as a literal or an expression, checked against [lo, hi]. */
int asl_jx_int_field(asl_x_t *x, json_t *t, const json_t *st, const char *field, const json_t *bind, int64_t lo,
                     int64_t hi, bool real, double *out, bool *given, asl_fault_t *f);
/* A catcher matched in a JSONata state: Output / Assign with $states.errorOutput. */
void asl_jx_catch(asl_x_t *x, json_t *t, const json_t *catcher, json_t *error_output);
void asl_jx_run_pass(asl_x_t *x, json_t *t);
void asl_jx_run_wait(asl_x_t *x, json_t *t);
void asl_jx_run_choice(asl_x_t *x, json_t *t);
void asl_jx_run_succeed(asl_x_t *x, json_t *t);
void asl_jx_run_fail(asl_x_t *x, json_t *t);

/* ---- per-state entry points (state_*.c) ---- */
void asl_run_pass(asl_x_t *x, json_t *t);
void asl_run_wait(asl_x_t *x, json_t *t);
void asl_run_choice(asl_x_t *x, json_t *t);
void asl_run_succeed(asl_x_t *x, json_t *t);
void asl_run_fail(asl_x_t *x, json_t *t);
void asl_run_task(asl_x_t *x, json_t *t);
void asl_task_result(asl_x_t *x, json_t *t);   /* phase "task_done" */
json_t *asl_task_details(const char *res);     /* {resource, resourceType} of an integration */
void asl_run_parallel(asl_x_t *x, json_t *t);
void asl_run_map(asl_x_t *x, json_t *t);
void asl_map_child_done(asl_x_t *x, json_t *t, json_t *child);
void asl_parallel_child_done(asl_x_t *x, json_t *t, json_t *child);
const char *asl_state_event_prefix(const char *type); /* "Task", "Pass", ... */

#endif
