/* asl/asl.h - the one public header of asl/ (a library): the Amazon States
 * Language interpreter, in JSONPath and JSONata mode (per state), with
 * JSONPath, the intrinsic functions and JSONata (asl/jsonata.h). It touches
 * no database and no service: the Step Functions service (statemachine/)
 * drives it, EventBridge (bus/) uses its JSONPath.
 *
 * A definition is parsed and validated once (sy_asl_def_parse). An execution
 * is a resumable step machine: all of its state is plain JSON
 * (sy_asl_exec_save / sy_asl_exec_load), so the durable executor can
 * checkpoint it and resume it on any broker. sy_asl_exec_step runs in memory
 * until every runnable branch is blocked on something external, and hands out
 * requests (run a task, fire a timer). The caller answers each request with
 * sy_asl_exec_resume_* and steps again. History events (AWS's types, ids,
 * previousEventId and details) accumulate and can be read at any time.
 *
 * Ownership: a returned json_t * or char * named new/_message/_save is the
 * caller's to free; a const pointer is borrowed (valid as long as the object
 * it came from, or as said below). Thread safety: the entry points keep no
 * global state; a definition, once parsed, is read-only and may be shared by
 * any number of threads and executions; an execution must be used by one
 * thread at a time. Errors: constructors return NULL (invalid input), int
 * entry points -1; allocation failure aborts (core's sy_malloc). */
#ifndef SY_ASL_H
#define SY_ASL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Quotas of AWS that the interpreter enforces. */
#define SY_ASL_HISTORY_MAX 25000          /* events of one execution's history */
#define SY_ASL_DEFINITION_MAX 1048576     /* characters of a definition */

typedef struct sy_asl_def sy_asl_def_t;
typedef struct sy_asl_exec sy_asl_exec_t;

/* Validation options. */
enum {
    SY_ASL_VALIDATE_EXPRESS = 1 << 0,   /* EXPRESS type: no .sync / .waitForTaskToken / activities */
    SY_ASL_VALIDATE_RESOURCES = 1 << 1, /* reject Task resources Switchyard cannot run */
};

/* Validate a definition text the way ValidateStateMachineDefinition does.
 * Returns a new array of diagnostics {severity, code, message, location};
 * an empty array means valid. Never NULL. Every JSONata expression is
 * compiled (INVALID_JSONATA_EXPRESSION) and checked for the references
 * AWS refuses ($states.result / errorOutput where unavailable, the input at
 * the top level, assigning $states). */
json_t *sy_asl_validate(const char *json, size_t len, int flags);

/* Parse and validate a definition for execution. NULL on failure with
 * *diagnostics (if given) set to a new array as above. The definition keeps
 * its JSONata expressions compiled: evaluation never parses again. */
sy_asl_def_t *sy_asl_def_parse(const char *json, size_t len, int flags, json_t **diagnostics);
void sy_asl_def_destroy(sy_asl_def_t **self_p);
/* The validated definition as JSON (borrowed, read-only). */
const json_t *sy_asl_def_json(const sy_asl_def_t *def);
/* The definition's top-level TimeoutSeconds; 0 when none is given (or def
 * is NULL). */
int64_t sy_asl_def_timeout_s(const sy_asl_def_t *def);

/* "Invalid State Machine Definition: '<CODE>: <message> at <location>'" for
 * diagnostics; caller frees. */
char *sy_asl_diagnostics_message(const json_t *diagnostics);

typedef enum {
    SY_ASL_RUNNING = 0,
    SY_ASL_SUCCEEDED,
    SY_ASL_FAILED,
    SY_ASL_TIMED_OUT,
    SY_ASL_ABORTED,
} sy_asl_status_t;
/* AWS's ExecutionStatus name ("RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT",
 * "ABORTED"); static string, never NULL. */
const char *sy_asl_status_name(sy_asl_status_t s);

typedef enum {
    SY_ASL_REQ_TASK = 1, /* run resource with input; answer with resume_task */
    SY_ASL_REQ_TIMER,    /* answer with resume_timer at or after wake_at_ms */
} sy_asl_req_kind_t;

/* How a TASK request completes (the suffix of the Resource ARN). */
typedef enum {
    SY_ASL_PATTERN_REQUEST_RESPONSE = 0, /* answer with the call's result */
    SY_ASL_PATTERN_SYNC,                 /* ".sync": answer when the job (e.g. a child execution) ends */
    SY_ASL_PATTERN_WAIT_FOR_TOKEN,       /* ".waitForTaskToken": answer on SendTaskSuccess/Failure */
} sy_asl_pattern_t;

/* A Map with an ItemReader first issues a TASK request for the reader's
 * Resource and Parameters; answer it with the object's content (a JSON array
 * or its JSON text), or with an error (States.ItemReaderFailed).
 * An outstanding request. Borrowed: valid until the next call that changes
 * the execution (step, resume, abort, load, destroy). */
typedef struct {
    int64_t id;
    sy_asl_req_kind_t kind;
    const char *state_name;
    const char *resource;   /* TASK: as written in the definition */
    const json_t *input;    /* TASK: the effective parameters */
    int attempt;            /* TASK: 0 for the first try */
    int64_t timeout_s;      /* TASK: 0 = none given (AWS default 99999999) */
    int64_t heartbeat_s;    /* TASK: 0 = none */
    int64_t wake_at_ms;     /* TIMER: epoch ms */
    sy_asl_pattern_t pattern; /* TASK */
    const char *task_token; /* TASK with WAIT_FOR_TOKEN: the token also in $$.Task.Token */
} sy_asl_req_t;

/* context: {"Execution": {"Id","Name","RoleArn","StartTime","RedriveCount"}, "StateMachine": {"Id","Name"}},
 * (borrowed, copied); missing members get defaults. "RedriveCount": null
 * leaves it out of $$.Execution, as for EXPRESS executions. now_ms is the start time.
 * NULL when def or input is NULL. */
sy_asl_exec_t *sy_asl_exec_new(const sy_asl_def_t *def, const json_t *input, const json_t *context,
                               int64_t now_ms);
void sy_asl_exec_destroy(sy_asl_exec_t **self_p);
/* Workflow variables (an object, borrowed and copied) the execution starts
 * with, before its first step: TestState's `variables`. */
void sy_asl_exec_set_variables(sy_asl_exec_t *exec, const json_t *vars);

/* The clock the interpreter uses for timers and $$.State.EnteredTime. */
void sy_asl_exec_set_now(sy_asl_exec_t *exec, int64_t now_ms);

/* Run until blocked or finished. reqs and n receive the requests issued by this call
 * (borrowed). Returns the status. */
sy_asl_status_t sy_asl_exec_step(sy_asl_exec_t *exec, const sy_asl_req_t **reqs, size_t *n);
/* All outstanding requests (after a load, re-issue these). */
void sy_asl_exec_pending(const sy_asl_exec_t *exec, const sy_asl_req_t **reqs, size_t *n);

/* Answer a request. Task: result (borrowed) on success, or error/cause on
 * failure ("States.Timeout" and "States.HeartbeatTimeout" give TimedOut
 * events). Returns 0, or -1 when the id is not outstanding. Call step next. */
int sy_asl_exec_resume_task(sy_asl_exec_t *exec, int64_t req_id, const json_t *result,
                            const char *error, const char *cause);
int sy_asl_exec_resume_timer(sy_asl_exec_t *exec, int64_t req_id);
/* .waitForTaskToken: the integration call itself succeeded (output borrowed,
 * may be NULL); records TaskSubmitted and keeps waiting for the token.
 * Returns 0, or -1 when the id is not an outstanding token request. */
int sy_asl_exec_task_submitted(sy_asl_exec_t *exec, int64_t req_id, const json_t *output);
/* The outstanding request waiting for token, or -1: SendTaskSuccess /
 * SendTaskFailure / SendTaskHeartbeat map a token to the request to resume. */
int64_t sy_asl_exec_token_request(const sy_asl_exec_t *exec, const char *token);
/* StopExecution: ABORTED, pending requests dropped. */
void sy_asl_exec_abort(sy_asl_exec_t *exec, const char *error, const char *cause);
/* The state machine's TimeoutSeconds elapsed: TIMED_OUT. */
void sy_asl_exec_timeout(sy_asl_exec_t *exec);

sy_asl_status_t sy_asl_exec_status(const sy_asl_exec_t *exec);
const json_t *sy_asl_exec_output(const sy_asl_exec_t *exec);  /* SUCCEEDED only */
const char *sy_asl_exec_error(const sy_asl_exec_t *exec);     /* NULL when none */
const char *sy_asl_exec_cause(const sy_asl_exec_t *exec);     /* NULL when none */
/* History events so far ({id, previousEventId, type, timestamp, <x>EventDetails}),
 * borrowed. Events produced since new/load only: the durable executor appends
 * them to its own table and may call sy_asl_exec_history_clear. */
const json_t *sy_asl_exec_history(const sy_asl_exec_t *exec);
void sy_asl_exec_history_clear(sy_asl_exec_t *exec);
/* Stop (false) or resume recording history events (on by default). Event
 * ids still advance; EXPRESS executions that nobody reads the history of
 * skip building the events' details (JSON text of every input and output). */
void sy_asl_exec_set_history(sy_asl_exec_t *x, bool on);

/* Checkpoint: a new JSON value holding the whole execution state (not the
 * history). load returns NULL when the value does not fit the definition. */
json_t *sy_asl_exec_save(const sy_asl_exec_t *exec);
sy_asl_exec_t *sy_asl_exec_load(const sy_asl_def_t *def, const json_t *saved);
/* RedriveExecution: load the checkpoint `saved` (borrowed) of an execution
 * that ended FAILED, TIMED_OUT or ABORTED as RUNNING again, from where it
 * stopped. Event ids continue at next_event_id (one past the last event
 * already recorded), $$.Execution.RedriveCount becomes redrive_count, the
 * clock is set to now_ms and an ExecutionRedriven event is recorded. Then
 * re-issue sy_asl_exec_pending's requests (tasks run again, timers may fire
 * at once) and step. NULL when def is NULL or saved does not fit it. */
sy_asl_exec_t *sy_asl_exec_redrive(const sy_asl_def_t *def, const json_t *saved, int64_t next_event_id,
                                   int redrive_count, int64_t now_ms);

/* JSONPath and intrinsics, exposed for tests and for other modules. */
/* Evaluate path against doc ($) and ctx ($$). *out is new. Returns 0, or -1
 * with *err (new string) set to AWS's explanation. */
int sy_asl_path_eval(const char *path, const json_t *doc, const json_t *ctx, json_t **out, char **err);

#endif
