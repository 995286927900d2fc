/* asl/jsonata.h — JSONata 2.x over jansson values: the contract between the
 * evaluator (asl/jsonata/) and its users (the ASL interpreter's JSONata mode,
 * the conformance runner, the fuzz target, bench/jsonata).
 *
 * Language level: JSONata 2.0.6, the version Step Functions names, with the
 * fixes of later releases kept where 2.0.6 crashes, hangs or answers wrongly
 * (../shared/reference/jsonata.md §1). An expression is compiled once and
 * evaluated many times; a compiled expression is immutable, so several threads
 * may evaluate it at once. Evaluation never re-parses.
 *
 * Values: JSON values as jansson holds them. JSONata's "undefined" is a NULL
 * json_t pointer (never JSON null). Numbers are IEEE doubles inside; a result
 * that is integral and within ±2^53 comes back as a json integer, any other as
 * a json real. */
#ifndef SY_ASL_JSONATA_H
#define SY_ASL_JSONATA_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct sy_jsonata sy_jsonata_t;

/* An error as jsonata-js reports it: code ("S0201", "T2001", "D3001", ...),
 * the character position in the expression (-1 when unknown), the token and
 * value when the code has them, and the message rendered from the code's
 * template (../shared/conformance/jsonata/error-messages.json). */
typedef struct {
    char code[8];
    int position;
    char *token;   /* NULL when none */
    char *message; /* NULL when no error */
    json_t *value; /* NULL when none */
} sy_jsonata_error_t;

void sy_jsonata_error_clear(sy_jsonata_error_t *err);

/* Compile `len` bytes of UTF-8 expression text. NULL and *err on a syntax
 * error (S0xxx). */
sy_jsonata_t *sy_jsonata_compile(const char *expr, size_t len, sy_jsonata_error_t *err);
void sy_jsonata_free(sy_jsonata_t **expr_p);
const char *sy_jsonata_source(const sy_jsonata_t *expr);

typedef struct {
    /* Step Functions' library: $partition, $range, $hash, $random([seed]),
     * $uuid, $parse are added (they shadow upstream's $random), $eval is
     * removed. Off for the upstream conformance suite. */
    bool step_functions;
    /* the value of $now()/$millis() for this evaluation; 0 = the clock */
    int64_t now_ms;
    /* guards (U1001 when passed); 0 = the defaults of the implementation */
    uint32_t max_depth;
    int64_t time_limit_ms;
} sy_jsonata_opts_t;

/* Evaluate against `input` (NULL = undefined: no input document) with the
 * variables of `bindings` (an object, name without '$' -> value; may be NULL).
 * Returns 0 and *out (a new reference, or NULL when the result is undefined),
 * or -1 and *err. `opts` may be NULL. */
int sy_jsonata_eval(const sy_jsonata_t *expr, const json_t *input, const json_t *bindings,
                    const sy_jsonata_opts_t *opts, json_t **out, sy_jsonata_error_t *err);

/* Added: sy_jsonata_eval that also says what the result was, since a JSON
 * pointer cannot tell "undefined" from "a function" (the ASL layer reports the
 * two differently). *kind is one of: */
enum { SY_JSONATA_VALUE = 0, SY_JSONATA_UNDEFINED = 1, SY_JSONATA_FUNCTION = 2 };
int sy_jsonata_eval_kind(const sy_jsonata_t *expr, const json_t *input, const json_t *bindings,
                         const sy_jsonata_opts_t *opts, json_t **out, int *kind, sy_jsonata_error_t *err);

/* Added: bindings converted once for several evaluations (every expression
 * of one state sees the same $states and variables), which saves converting
 * them on each call. The values are shared by the evaluations that use them:
 * use one sy_jsonata_bindings_t from one thread at a time. `bindings` is an
 * object (name without '$' -> value); it is copied. */
typedef struct sy_jsonata_bindings sy_jsonata_bindings_t;
sy_jsonata_bindings_t *sy_jsonata_bindings_new(const json_t *bindings);
void sy_jsonata_bindings_free(sy_jsonata_bindings_t **b);
int sy_jsonata_eval_prepared(const sy_jsonata_t *expr, const json_t *input, const sy_jsonata_bindings_t *bindings,
                             const sy_jsonata_opts_t *opts, json_t **out, int *kind, sy_jsonata_error_t *err);

/* What an expression refers to, for the ASL validator (computed from the AST,
 * no evaluation): an object
 *   {"variables": ["x", "states", ...],      free variables it reads
 *    "states_fields": ["input", "result"],    fields read from $states
 *    "assigns_states": bool,                  it binds $states with :=
 *    "top_level_input": bool}                 it reads $, $$ or a bare field
 *                                             name outside any path step,
 *                                             predicate or lambda body */
json_t *sy_jsonata_references(const sy_jsonata_t *expr);

#endif
