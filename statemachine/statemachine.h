/* statemachine/statemachine.h - the one public header of statemachine/:
 * the Step Functions service: durable executor, express runner and the
 * AWSStepFunctions.* API (service.c, api*.c, executor*.c, express.c,
 * machine_cache.c, store_sfn.c). The States Language itself is interpreted
 * by asl/. */
#ifndef SY_STATEMACHINE_H
#define SY_STATEMACHINE_H

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
/* Set the invoker (NULL: function tasks fail with Lambda.ServiceException).
 * Call after sy_sfn_start. When the broker's test_doubles setting names
 * "sfn-invoker", sy_sfn_start installs a built-in test invoker and this call
 * leaves it in place. */
void sy_sfn_set_function_invoker(sy_ctx_t *ctx, sy_sfn_invoke_fn fn, void *udata);
/* Report a function task's outcome: result (borrowed; the function's
 * output) on success, or error + cause on failure. c: an open transaction to
 * join or NULL. With c the outcome is applied to the execution inside that
 * transaction, just before it commits (checkpoint, history, next dispatch
 * commit with it; the outcomes of one transaction in execution ARN order;
 * under a savepoint, falling back to a work message), so c's transaction
 * must end with sy_pg_commit / sy_pg_rollback (or sy_pg_tx_on) and be able
 * to wait for the execution's row lock. Reporting twice is harmless:
 * the second report finds the task no longer outstanding and is dropped. */
int sy_sfn_task_complete(sy_ctx_t *ctx, PGconn *c, const char *execution_arn, int64_t task_id,
                         const json_t *result, const char *error, const char *cause, sy_err_t *err);
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


/* The web console's read-only endpoint (statemachine/console.c; issue 16),
 * added in server/wiring.c. summary: {"StateMachineArn"?} ->
 * {StateMachines, Executions: {STATUS: count}}. */
int sy_sfn_console_summary(sy_ctx_t *ctx, const json_t *in, json_t **out, sy_err_t *err);
#endif
