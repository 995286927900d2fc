/* bus/bus.h - the one public header of bus/: the EventBridge service
 * (AWSEvents.*, JSON 1.1): buses, rules, targets, PutEvents, deliveries,
 * schedules, archives and replays, API destinations. */
#ifndef SY_BUS_H
#define SY_BUS_H

#include <stddef.h>

#include "core/core.h"

/* Register the routes and start the delivery and schedule threads
 * (ctx->svc[SY_SVC_BUS]). With "bus-invoker" in ctx->cfg.test_doubles
 * (tests only) a built-in test double is the function invoker. */
int sy_bus_start(sy_ctx_t *ctx, sy_err_t *err);
void sy_bus_stop(sy_ctx_t *ctx);

/* The function-target seam. A rule target whose Arn is a function
 * (arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]) is delivered
 * through the internal delivery queue like every non-SQS target; the
 * delivery thread calls the invoker inside its open transaction on `c` (the
 * delivery message is deleted in the same transaction), so an invoker that
 * enqueues the invocation durably (sy_queue_tx_send on c) commits with it
 * or not at all. Return 0 once the invocation is accepted (asynchronous, as
 * AWS invokes with InvocationType=Event), or <0 with err->code /
 * err->message: the delivery is retried with the target's RetryPolicy and
 * then goes to its DeadLetterConfig queue with that ERROR_CODE. */
typedef struct {
    const char *function;  /* the target Arn (a qualifier kept) */
    const char *payload;   /* the event or the transformed input (JSON text) */
    size_t payload_len;
    const char *rule_arn;
    const char *target_id;
    const char *event_id;
    int attempt;           /* 0 on the first try */
} sy_bus_invocation_t;
typedef int (*sy_bus_invoke_fn)(sy_ctx_t *ctx, PGconn *c, const sy_bus_invocation_t *inv, void *udata,
                                sy_err_t *err);
/* Set the invoker (NULL: function targets fail with ERROR_CODE
 * "Lambda.ServiceException" and are retried, then dead-lettered). */
void sy_bus_set_function_invoker(sy_ctx_t *ctx, sy_bus_invoke_fn fn, void *udata);
/* The topic-target seam. A rule target whose Arn is an SNS topic is
 * delivered through the internal delivery queue; the delivery thread calls
 * the publisher inside its open transaction on c (the event or transformed
 * input is the message). 0, or <0 with err: retried, then dead-lettered.
 * Unset: such targets fail with ERROR_CODE "SNS.ServiceUnavailable". */
typedef int (*sy_bus_topic_fn)(sy_ctx_t *ctx, PGconn *c, const char *topic_arn, const char *message, void *udata,
                               sy_err_t *err);
void sy_bus_set_topic_publisher(sy_ctx_t *ctx, sy_bus_topic_fn fn, void *udata);
/* The state-machine-target seam. A rule target whose Arn is a state machine
 * (arn:aws:states:REGION:ACCOUNT:stateMachine:NAME) is delivered through the
 * internal delivery queue; the delivery thread calls the starter inside its
 * open transaction on c (the delivery message is deleted in the same
 * transaction), so the execution and its first step commit with the
 * delivery or not at all. input: the event or the transformed input (JSON
 * text); name: NULL for a generated execution name; *execution_arn_out (if
 * execution_arn_out is not NULL) receives the new execution's ARN, which the
 * caller frees. Return 0, or <0 with err->code / err->message: the delivery
 * is retried with the target's RetryPolicy and then goes to its
 * DeadLetterConfig queue with ERROR_CODE "StepFunctions.<code>"; an error
 * with err->sqlstate set means the transaction broke, and the delivery is
 * tried again when its lease expires. Unset: such targets fail with
 * ERROR_CODE "StepFunctions.ServiceUnavailable" and are retried, then
 * dead-lettered. */
typedef int (*sy_bus_start_execution_fn)(sy_ctx_t *ctx, PGconn *c, const char *state_machine_arn, const char *input,
                                         const char *name, char **execution_arn_out, void *udata, sy_err_t *err);
void sy_bus_set_execution_starter(sy_ctx_t *ctx, sy_bus_start_execution_fn fn, void *udata);
/* Put one event on `bus` (a name or an event-bus ARN) inside the caller's
 * open transaction on c: matched and routed like PutEvents, committed with
 * the caller. Used for Lambda destinations naming a bus. */
int sy_bus_put_event(sy_ctx_t *ctx, PGconn *c, const char *bus, const char *source, const char *detail_type,
                     const char *detail_json, char event_id_out[37], sy_err_t *err); /* event_id_out may be NULL */

/* InputTransformer's InputTemplate rendering (AWS's rules: a template that
 * starts with '{', '[' or '"' is JSON: a string value in an unquoted
 * placeholder is written as a JSON string, inside quotes it is escaped
 * without quotes; any other template gets values as raw text).
 * vars: {"name": value} (borrowed); a name absent from vars leaves the
 * placeholder as written. Returns the rendered text (caller frees). */
char *sy_bus_template_render(const char *tmpl, size_t len, const json_t *vars);


/* The web console's read-only endpoint (bus/console.c; issue 16), added in
 * server/wiring.c. summary: {} -> {EventBuses, Rules, Targets, Archives,
 * ReplaysRunning}. */
int sy_bus_console_summary(sy_ctx_t *ctx, const json_t *in, json_t **out, sy_err_t *err);
#endif
