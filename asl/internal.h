/* statemachine internals: shared between the files of this folder only. */
#ifndef SY_ASL_INTERNAL_H
#define SY_ASL_INTERNAL_H

#include "asl/asl.h"

#include <stdarg.h>
#include <stdio.h>

/* ---- small helpers (sfn_util.c) ---- */
void *sfn_xmalloc(size_t n);
char *sfn_xstrdup(const char *s);
char *sfn_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *sfn_dumps(const json_t *v);            /* compact JSON text, caller frees */
size_t sfn_dump_len(const json_t *v);        /* strlen(sfn_dumps(v)) without building it */
char *sfn_format_java(const json_t *v);      /* {k=v, k2=[1, 2]} as States.Format prints */
void sfn_format_real(double d, char out[40]);
json_t *sfn_loads_any(const char *s, size_t n); /* any JSON value or NULL */
bool sfn_is_int(const json_t *v);            /* integer or integral real */
bool sfn_parse_timestamp(const char *s, int64_t *epoch_ms); /* RFC 3339 with T and zone */
void sfn_format_time(int64_t ms, char out[40]);              /* 2024-01-01T00:00:00.000Z */
void sfn_uuid(char out[37]);                                 /* random v4 UUID */

/* ---- JSONPath (jsonpath.c) ---- */
/* The context object handed to path evaluation carries the thread's
 * variables under this key; "$$" never shows it and "$name" reads it. */
#define SFN_VARS_KEY "$vars"
typedef enum { JP_OK = 0, JP_MISSING = 1, JP_SYNTAX = -1 } jp_rc_t;
/* Query doc. Definite paths give the value, indefinite ones (wildcards,
 * slices, filters, ..) an array of matches. On JP_MISSING *where is the
 * normalized path ($['a']['b']) up to the missing member (caller frees). */
jp_rc_t sfn_jp_query(const char *path, const json_t *doc, json_t **out, char **where);
bool sfn_jp_valid(const char *path);            /* syntax check ($ or $$ paths) */
bool sfn_jp_is_reference(const char *path);     /* definite path: no *, .., [?], slices */
char *sfn_jp_normalize(const char *path);       /* $['a']['b'] form, caller frees */
/* ResultPath: put value (stolen) at path in *doc (which may be replaced). */
int sfn_jp_set(json_t **doc, const char *path, json_t *value, char **err);

/* ---- intrinsic functions (intrinsics.c) ---- */
bool sfn_is_intrinsic(const char *s);  /* starts with States. */
bool sfn_intrinsic_valid(const char *s, char **err);
/* Evaluate an intrinsic call. Returns 0 and *out, or -1 with *err_name and
 * *err_cause (new strings). */
int sfn_intrinsic_eval(const char *s, const char *field, const json_t *input, const json_t *ctx,
                       json_t **out, char **err_name, char **err_cause);

/* ---- data flow (payload.c) ---- */
/* Evaluation error: AWS's error name and cause (new strings). */
typedef struct {
    char *error;
    char *cause;
} sfn_fault_t;
void sfn_fault_set(sfn_fault_t *f, const char *error, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void sfn_fault_clear(sfn_fault_t *f);
/* A path or intrinsic used as a value: "$.x", "$$.x", "States.X(...)". */
int sfn_value_eval(const char *expr, const char *field, const json_t *input, const json_t *ctx,
                   json_t **out, sfn_fault_t *f);
int sfn_payload_eval(const json_t *tmpl, const json_t *input, const json_t *ctx, json_t **out,
                     sfn_fault_t *f);
/* InputPath / OutputPath ("" when absent, NULL when JSON null). */
int sfn_path_select(const json_t *state, const char *field, const json_t *input,
                    const json_t *ctx, json_t **out, sfn_fault_t *f);
int sfn_result_path(const json_t *state, const json_t *raw_input, json_t *result, json_t **out,
                    sfn_fault_t *f);

/* ---- Choice (choice.c) ---- */
/* Returns the Next of the matching rule, the Default, or NULL (no match);
 * -1 on a runtime fault. */
int sfn_choice_eval(const json_t *state, const json_t *input, const json_t *ctx, const char **next,
                    const json_t **assign, sfn_fault_t *f);

/* ---- errors (retry.c) ---- */
bool sfn_error_matches(const json_t *error_equals, const char *error);

/* ---- validation (validate.c, validate_state.c) ---- */
typedef struct {
    json_t *diags; /* array */
    int flags;
    bool jsonata;  /* top-level QueryLanguage JSONata */
    bool state_jsonata; /* the state being checked is in JSONata mode */
    bool ql_free;  /* inside a distributed Map processor: QueryLanguage may switch */
    json_t *names; /* every state name seen so far (unique across the machine) */
} sfn_vctx_t;
void sfn_diag(sfn_vctx_t *v, const char *code, const char *loc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void sfn_validate_scope(sfn_vctx_t *v, const json_t *scope, const char *loc);
void sfn_validate_state(sfn_vctx_t *v, const char *name, const json_t *st, const char *loc);
bool sfn_resource_supported(const char *res);


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
bool sfn_jp_tree_parse(const char *path, jp_t *jp);
void sfn_jp_tree_free(jp_t *jp);
bool sfn_jp_tree_definite(const jp_t *jp);
bool sfn_jp_is_var_ref(const char *path);
char *sfn_jp_rooted(const char *path);
char *sfn_jp_parse_quoted(const char **pp); /* a quoted name; advances *pp */

#endif

/* ---- definitions (def.c) ---- */
struct sy_asl_def {
    json_t *root;   /* the validated definition */
    char *text;
};

/* ---- execution core (exec.c) ----
 * Every thread of control (the execution, a Parallel branch, a Map
 * iteration) is a JSON object in st.threads, so the whole execution state is
 * plain data. Thread fields: id, parent, index, scope (array of keys from the
 * definition root to the object holding States), state, input, phase, prev
 * (last event id), entered, attempt, retries, item, eff, req, kids, status. */
#define SFN_MAX_PAYLOAD 262144

struct sy_asl_exec {
    const sy_asl_def_t *def;
    json_t *st;        /* checkpointed state */
    json_t *history;   /* events since new/load */
    sy_asl_req_t *reqs;
    size_t nreqs, capreqs;
    json_t *issued;    /* request ids issued during the current step */
    bool quiet;        /* history off: sfn_emit drops the events */
};
typedef struct sy_asl_exec sfn_x_t;

int64_t sfn_geti(const json_t *o, const char *k);
void sfn_seti(json_t *o, const char *k, int64_t v);
const char *sfn_gets(const json_t *o, const char *k);
void sfn_sets(json_t *o, const char *k, const char *v);

const json_t *sfn_state_def(const sfn_x_t *x, const json_t *t);   /* the current state's object */
const json_t *sfn_scope_def(const sfn_x_t *x, const json_t *scope); /* object with StartAt/States */
json_t *sfn_ctx(const sfn_x_t *x, const json_t *t);                /* new context object */
int64_t sfn_now(const sfn_x_t *x);
/* Append an event to the thread's chain; details stolen (may be NULL). */
int64_t sfn_emit(sfn_x_t *x, json_t *t, const char *type, const char *dkey, json_t *details);
json_t *sfn_payload_text(const json_t *v); /* new JSON string holding v's JSON text */
/* Requests */
int64_t sfn_request_task(sfn_x_t *x, json_t *t, const char *resource, const json_t *input);
int64_t sfn_request_timer(sfn_x_t *x, json_t *t, int64_t wake_at_ms);
sy_asl_pattern_t sfn_task_pattern(const char *resource);
/* Thread lifecycle */
json_t *sfn_thread_new(sfn_x_t *x, int64_t parent, int64_t index, json_t *scope, json_t *input);
json_t *sfn_thread_get(const sfn_x_t *x, int64_t id);
void sfn_thread_drop(sfn_x_t *x, int64_t id); /* and its descendants */
/* Finish the current state with output (stolen): Exited event, then Next or End. */
void sfn_state_done(sfn_x_t *x, json_t *t, json_t *output);
void sfn_finish_output(sfn_x_t *x, json_t *t, const json_t *st, json_t *result, json_t *ctx);
void sfn_state_done_next(sfn_x_t *x, json_t *t, json_t *output, const char *next);
int sfn_effective_input(sfn_x_t *x, json_t *t, const json_t *st, const json_t *ctx, json_t **eff,
                        sfn_fault_t *f);
/* Evaluate an Assign template against doc ($) with the variables from
 * before the state; applied when the state exits. */
int sfn_assign(sfn_x_t *x, json_t *t, const json_t *assign, const json_t *doc, const json_t *ctx, sfn_fault_t *f);
/* Runtime fault in the current state (States.Runtime etc., never caught). */
void sfn_state_fault(sfn_x_t *x, json_t *t, const sfn_fault_t *f);
/* Error of a Task/Parallel/Map: Retry, then Catch, then the thread fails. */
void sfn_state_error(sfn_x_t *x, json_t *t, const char *error, const char *cause);
/* Schedule a retry when a retrier matches and has attempts left. */
bool sfn_try_retry(sfn_x_t *x, json_t *t, const json_t *st, const char *error);
/* End the thread as failed (Fail state, unhandled error). */
void sfn_thread_fail(sfn_x_t *x, json_t *t, const char *error, const char *cause);
/* Called when a child thread ends. */
void sfn_child_done(sfn_x_t *x, json_t *parent, json_t *child);
/* Post-processing shared by Task/Parallel/Map: ResultSelector, ResultPath, OutputPath. */
void sfn_finish_result(sfn_x_t *x, json_t *t, json_t *result);

void sfn_reqs_rebuild(sfn_x_t *x, bool only_issued);
json_t *sfn_thread_by_req(const sfn_x_t *x, int64_t req_id);

/* ---- per-state entry points (state_*.c) ---- */
void sfn_run_pass(sfn_x_t *x, json_t *t);
void sfn_run_wait(sfn_x_t *x, json_t *t);
void sfn_run_choice(sfn_x_t *x, json_t *t);
void sfn_run_succeed(sfn_x_t *x, json_t *t);
void sfn_run_fail(sfn_x_t *x, json_t *t);
void sfn_run_task(sfn_x_t *x, json_t *t);
void sfn_task_result(sfn_x_t *x, json_t *t);   /* phase "task_done" */
json_t *sfn_task_details(const char *res);     /* {resource, resourceType} of an integration */
void sfn_run_parallel(sfn_x_t *x, json_t *t);
void sfn_run_map(sfn_x_t *x, json_t *t);
void sfn_map_child_done(sfn_x_t *x, json_t *t, json_t *child);
void sfn_parallel_child_done(sfn_x_t *x, json_t *t, json_t *child);
const char *sfn_state_event_prefix(const char *type); /* "Task", "Pass", ... */
