/* statemachine: the Amazon States Language interpreter (JSONPath mode).
 *
 * A definition is parsed and validated once (sy_sfn_def_parse). An execution
 * is a resumable step machine: all of its state is plain JSON
 * (sy_sfn_exec_save / sy_sfn_exec_load), so the durable executor can
 * checkpoint it and resume it on any broker. sy_sfn_exec_step runs in memory
 * until every runnable branch is blocked on something external, and hands out
 * requests (run a task, fire a timer). The caller answers each request with
 * sy_sfn_exec_resume_* and steps again. History events (AWS's types, ids,
 * previousEventId and details) accumulate and can be read at any time. */
#ifndef SY_STATEMACHINE_H
#define SY_STATEMACHINE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct sy_sfn_def sy_sfn_def_t;
typedef struct sy_sfn_exec sy_sfn_exec_t;

/* Validation options. */
enum {
    SY_SFN_VALIDATE_EXPRESS = 1 << 0,   /* EXPRESS type: no .sync / .waitForTaskToken / activities */
    SY_SFN_VALIDATE_RESOURCES = 1 << 1, /* reject Task resources Switchyard cannot run */
};

/* Validate a definition text the way ValidateStateMachineDefinition does.
 * Returns a new array of diagnostics {severity, code, message, location};
 * an empty array means valid. Never NULL. JSONata definitions are checked
 * structurally (they are valid definitions even though they cannot run yet). */
json_t *sy_sfn_validate(const char *json, size_t len, int flags);

/* Parse and validate a definition for execution. NULL on failure with
 * *diagnostics (if given) set to a new array as above. A JSONata definition
 * is rejected with code UNSUPPORTED_FEATURE ("jsonata mode not supported"). */
sy_sfn_def_t *sy_sfn_def_parse(const char *json, size_t len, int flags, json_t **diagnostics);
void sy_sfn_def_destroy(sy_sfn_def_t **self_p);
const json_t *sy_sfn_def_json(const sy_sfn_def_t *def);

/* "Invalid State Machine Definition: '<CODE>: <message> at <location>'" for
 * diagnostics; caller frees. */
char *sy_sfn_diagnostics_message(const json_t *diagnostics);

typedef enum {
    SY_SFN_RUNNING = 0,
    SY_SFN_SUCCEEDED,
    SY_SFN_FAILED,
    SY_SFN_TIMED_OUT,
    SY_SFN_ABORTED,
} sy_sfn_status_t;

typedef enum {
    SY_SFN_REQ_TASK = 1, /* run resource with input; answer with resume_task */
    SY_SFN_REQ_TIMER,    /* answer with resume_timer at or after wake_at_ms */
} sy_sfn_req_kind_t;

/* How a TASK request completes (the suffix of the Resource ARN). */
typedef enum {
    SY_SFN_PATTERN_REQUEST_RESPONSE = 0, /* answer with the call's result */
    SY_SFN_PATTERN_SYNC,                 /* ".sync": answer when the job (e.g. a child execution) ends */
    SY_SFN_PATTERN_WAIT_FOR_TOKEN,       /* ".waitForTaskToken": answer on SendTaskSuccess/Failure */
} sy_sfn_pattern_t;

/* A Map with an ItemReader first issues a TASK request for the reader's
 * Resource and Parameters; answer it with the object's content (a JSON array
 * or its JSON text), or with an error (States.ItemReaderFailed).
 * An outstanding request. Borrowed: valid until the next call that changes
 * the execution (step, resume, abort, load, destroy). */
typedef struct {
    int64_t id;
    sy_sfn_req_kind_t kind;
    const char *state_name;
    const char *resource;   /* TASK: as written in the definition */
    const json_t *input;    /* TASK: the effective parameters */
    int attempt;            /* TASK: 0 for the first try */
    int64_t timeout_s;      /* TASK: 0 = none given (AWS default 99999999) */
    int64_t heartbeat_s;    /* TASK: 0 = none */
    int64_t wake_at_ms;     /* TIMER: epoch ms */
    sy_sfn_pattern_t pattern; /* TASK */
    const char *task_token; /* TASK with WAIT_FOR_TOKEN: the token also in $$.Task.Token */
} sy_sfn_req_t;

/* context: {"Execution": {"Id","Name","RoleArn","StartTime","RedriveCount"}, "StateMachine": {"Id","Name"}},
 * (borrowed, copied); missing members get defaults. "RedriveCount": null
 * leaves it out of $$.Execution, as for EXPRESS executions. now_ms is the start time. */
sy_sfn_exec_t *sy_sfn_exec_new(const sy_sfn_def_t *def, const json_t *input, const json_t *context,
                               int64_t now_ms);
void sy_sfn_exec_destroy(sy_sfn_exec_t **self_p);

/* The clock the interpreter uses for timers and $$.State.EnteredTime. */
void sy_sfn_exec_set_now(sy_sfn_exec_t *exec, int64_t now_ms);

/* Run until blocked or finished. reqs and n receive the requests issued by this call
 * (borrowed). Returns the status. */
sy_sfn_status_t sy_sfn_exec_step(sy_sfn_exec_t *exec, const sy_sfn_req_t **reqs, size_t *n);
/* All outstanding requests (after a load, re-issue these). */
void sy_sfn_exec_pending(const sy_sfn_exec_t *exec, const sy_sfn_req_t **reqs, size_t *n);

/* Answer a request. Task: result (borrowed) on success, or error/cause on
 * failure ("States.Timeout" and "States.HeartbeatTimeout" give TimedOut
 * events). Returns 0, or -1 when the id is not outstanding. Call step next. */
int sy_sfn_exec_resume_task(sy_sfn_exec_t *exec, int64_t req_id, const json_t *result,
                            const char *error, const char *cause);
int sy_sfn_exec_resume_timer(sy_sfn_exec_t *exec, int64_t req_id);
/* .waitForTaskToken: the integration call itself succeeded (output borrowed,
 * may be NULL); records TaskSubmitted and keeps waiting for the token.
 * Returns 0, or -1 when the id is not an outstanding token request. */
int sy_sfn_exec_task_submitted(sy_sfn_exec_t *exec, int64_t req_id, const json_t *output);
/* The outstanding request waiting for token, or -1: SendTaskSuccess /
 * SendTaskFailure / SendTaskHeartbeat map a token to the request to resume. */
int64_t sy_sfn_exec_token_request(const sy_sfn_exec_t *exec, const char *token);
/* StopExecution: ABORTED, pending requests dropped. */
void sy_sfn_exec_abort(sy_sfn_exec_t *exec, const char *error, const char *cause);
/* The state machine's TimeoutSeconds elapsed: TIMED_OUT. */
void sy_sfn_exec_timeout(sy_sfn_exec_t *exec);

sy_sfn_status_t sy_sfn_exec_status(const sy_sfn_exec_t *exec);
const json_t *sy_sfn_exec_output(const sy_sfn_exec_t *exec);  /* SUCCEEDED only */
const char *sy_sfn_exec_error(const sy_sfn_exec_t *exec);     /* NULL when none */
const char *sy_sfn_exec_cause(const sy_sfn_exec_t *exec);     /* NULL when none */
/* History events so far ({id, previousEventId, type, timestamp, <x>EventDetails}),
 * borrowed. Events produced since new/load only: the durable executor appends
 * them to its own table and may call sy_sfn_exec_history_clear. */
const json_t *sy_sfn_exec_history(const sy_sfn_exec_t *exec);
void sy_sfn_exec_history_clear(sy_sfn_exec_t *exec);
/* Stop (false) or resume recording history events (on by default). Event
 * ids still advance; EXPRESS executions that nobody reads the history of
 * skip building the events' details (JSON text of every input and output). */
void sy_sfn_exec_set_history(sy_sfn_exec_t *x, bool on);

/* Checkpoint: a new JSON value holding the whole execution state (not the
 * history). load returns NULL when the value does not fit the definition. */
json_t *sy_sfn_exec_save(const sy_sfn_exec_t *exec);
sy_sfn_exec_t *sy_sfn_exec_load(const sy_sfn_def_t *def, const json_t *saved);

/* JSONPath and intrinsics, exposed for tests and for other modules. */
/* Evaluate path against doc ($) and ctx ($$). *out is new. Returns 0, or -1
 * with *err (new string) set to AWS's explanation. */
int sy_sfn_path_eval(const char *path, const json_t *doc, const json_t *ctx, json_t **out, char **err);


/* ==================================================================
 * The Step Functions service: durable executor, express runner and the
 * AWSStepFunctions.* API (api_*.c, executor*.c, express.c, store_sfn.c).
 * ================================================================== */
#include "core/core.h"

/* Register the routes and start the executor threads (ctx->svc[SY_SVC_SFN]). */
int sy_sfn_start(sy_ctx_t *ctx, sy_err_t *err);
void sy_sfn_stop(sy_ctx_t *ctx);

/* The function-task seam. A Task whose resource is a function
 * (arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER], or
 * arn:aws:states:::lambda:invoke[.waitForTaskToken] with FunctionName) is
 * handed to the invoker. For a STANDARD execution the invoker is called inside
 * the executor's open transaction on `c`, so it can enqueue the invocation
 * durably (sy_queue_tx_send): the enqueue commits with the checkpoint or not
 * at all. For an EXPRESS execution c is NULL and `express` is true. The
 * invoker returns 0 once the invocation is accepted (the result comes later
 * through sy_sfn_task_complete), or <0 with err->code / err->message, which
 * fail the task with that error name and cause. */
typedef struct {
    const char *execution_arn; /* report the result to this execution... */
    int64_t task_id;           /* ...and this task (request id) */
    const char *resource;      /* as written in the definition */
    const char *function;      /* function name or ARN (a qualifier kept) */
    const json_t *payload;     /* the event to pass to the function */
    int64_t timeout_s;         /* TimeoutSeconds of the state, 0 if none */
    int attempt;               /* 0 on the first try */
    bool express;
} sy_sfn_invocation_t;
typedef int (*sy_sfn_invoke_fn)(sy_ctx_t *ctx, PGconn *c, const sy_sfn_invocation_t *inv, void *udata,
                                sy_err_t *err);
/* Set the invoker (NULL: function tasks fail with Lambda.ServiceException). */
void sy_sfn_set_function_invoker(sy_ctx_t *ctx, sy_sfn_invoke_fn fn, void *udata);
/* Report a function task's outcome: result (borrowed; the function's
 * output) on success, or error + cause on failure. c: an open transaction to
 * join (the message commits with it) or NULL. Reporting twice is harmless:
 * the second report finds the task no longer outstanding and is dropped. */
int sy_sfn_task_complete(sy_ctx_t *ctx, PGconn *c, const char *execution_arn, int64_t task_id,
                         const json_t *result, const char *error, const char *cause, sy_err_t *err);
/* The built-in test invoker (enabled by SWITCHYARD_SFN_TEST_INVOKER=1):
 * functions named *identity return their input, *raise* fail with
 * {"errorType"} from the payload or "TestError", *sleep* answer after
 * payload.seconds (durable: a delayed message), anything else identity. */
int sy_sfn_test_invoker(sy_ctx_t *ctx, PGconn *c, const sy_sfn_invocation_t *inv, void *udata, sy_err_t *err);

/* Start an execution of the STANDARD state machine sm_arn for another
 * service (an EventBridge rule target, ...). name NULL: a UUID; input: JSON
 * text (NULL: "{}"). c: an open transaction to join (the execution and its
 * first step commit with it; a name clash does not break it), or NULL for a
 * transaction of its own. *arn_out (if given) receives the new execution
 * ARN. Errors as StartExecution's (StateMachineDoesNotExist,
 * InvalidExecutionInput, ExecutionAlreadyExists, ...); EXPRESS machines
 * answer ValidationException (not supported through this entry point yet). */
int sy_sfn_execution_start(sy_ctx_t *ctx, PGconn *c, const char *sm_arn, const char *name, const char *input,
                           char **arn_out, sy_err_t *err);

/* Integrations with services outside statemachine/, set by the composition
 * root (server/wiring.c). Both run inside the executor's open transaction on
 * c, so the publish commits with the checkpoint (exactly once). */
typedef int (*sy_sfn_publish_fn)(sy_ctx_t *ctx, PGconn *c, const char *topic_arn, const char *message,
                                 const char *subject, json_t *msg_attrs, sy_err_t *err);
typedef int (*sy_sfn_put_event_fn)(sy_ctx_t *ctx, PGconn *c, const char *bus, const char *source,
                                   const char *detail_type, const char *detail_json, char event_id[37], sy_err_t *err);
void sy_sfn_set_integrations(sy_ctx_t *ctx, sy_sfn_publish_fn publish, sy_sfn_put_event_fn put_event);

#endif
