/* server/wiring.c - the composition root's seams between services:
 * EventBridge function targets invoke functions through worker/,
 * EventBridge state machine targets start executions through statemachine/,
 * and Lambda destinations naming an event bus put through bus/; EventBridge
 * targets and Lambda destinations naming an SNS topic publish through
 * topic/; Step Functions function tasks invoke through lambda/, whose reply
 * seam completes them. */
#include "bus/bus.h"
#include "statemachine/statemachine.h"
#include "server/server.h"
#include "topic/topic.h"
#include "lambda/lambda.h"
#include "queue/queue.h"

#include <stdlib.h>

static int bus_invokes_function(sy_ctx_t *ctx, PGconn *c, const sy_bus_invocation_t *inv, void *udata,
                                sy_err_t *err)
{
    (void)udata;
    return sy_lambda_invoke_async(ctx, c, inv->function, inv->payload, inv->payload_len, NULL, err);
}

static int bus_starts_execution(sy_ctx_t *ctx, PGconn *c, const char *state_machine_arn, const char *input,
                                const char *name, char **execution_arn_out, void *udata, sy_err_t *err)
{
    (void)udata;
    return sy_sfn_execution_start(ctx, c, state_machine_arn, name, input, execution_arn_out, err);
}

static int topic_invokes_function(sy_ctx_t *ctx, PGconn *c, const char *function, const char *payload, size_t len,
                                  void *udata, sy_err_t *err)
{
    (void)udata;
    return sy_lambda_invoke_async(ctx, c, function, payload, len, NULL, err);
}

static int function_puts_on_bus(sy_ctx_t *ctx, PGconn *c, const char *bus_arn, const char *source,
                                const char *detail_type, const char *detail_json, void *u, sy_err_t *err)
{
    (void)u;
    return sy_bus_put_event(ctx, c, bus_arn, source, detail_type, detail_json, NULL, err);
}

static int sfn_invokes_function(sy_ctx_t *ctx, PGconn *c, const sy_sfn_invocation_t *inv, void *udata,
                                sy_err_t *err)
{
    (void)udata;
    sy_lambda_task_t t = {.execution_arn = inv->execution_arn, .task_id = inv->task_id, .resource = inv->resource,
                          .function = inv->function, .payload = inv->payload, .timeout_s = inv->timeout_s,
                          .express = inv->express};
    return sy_lambda_invoke_for_task(ctx, c, &t, err);
}

static int function_replies_to_task(sy_ctx_t *ctx, PGconn *c, const char *execution_arn, int64_t task_id,
                                    const json_t *result, const char *error, const char *cause, void *udata,
                                    sy_err_t *err)
{
    (void)udata;
    return sy_sfn_task_complete(ctx, c, execution_arn, task_id, result, error, cause, err);
}

static int sfn_publishes(sy_ctx_t *ctx, PGconn *c, const char *topic_arn, const char *message, const char *subject,
                         json_t *msg_attrs, sy_err_t *err)
{
    return sy_topic_publish_tx(ctx, c, topic_arn, message, subject, msg_attrs, err);
}

static int publish_to_topic(sy_ctx_t *ctx, PGconn *c, const char *topic_arn, const char *message, void *u,
                            sy_err_t *err)
{
    (void)u;
    return sy_topic_publish_tx(ctx, c, topic_arn, message, NULL, NULL, err);
}

/* The web console's read-only endpoints (issue 16), each owned by the
 * service that has the data: POST /console/api/<name>. */
static void console_endpoints(sy_ctx_t *ctx)
{
    sy_server_console_add("queue/stats", sy_queue_console_stats);
    sy_server_console_add("queue/summary", sy_queue_console_summary);
    sy_server_console_add("queue/peek", sy_queue_console_peek);
    sy_server_console_add("topic/match", sy_topic_console_match);
    sy_server_console_add("topic/summary", sy_topic_console_summary);
    sy_server_console_add("topic/list", sy_topic_console_list);
    sy_server_console_add("bus/summary", sy_bus_console_summary);
    sy_server_console_add("sfn/summary", sy_sfn_console_summary);
    sy_server_console_add("lambda/workers", sy_lambda_console_workers);
    sy_server_console_add("lambda/summary", sy_lambda_console_summary);
    sy_server_console_start(ctx);
}

void sy_server_wire(sy_ctx_t *ctx)
{
    sy_topic_set_function_invoker(ctx, topic_invokes_function, NULL);
    sy_bus_set_topic_publisher(ctx, publish_to_topic, NULL);
    sy_bus_set_execution_starter(ctx, bus_starts_execution, NULL);
    sy_lambda_set_topic_sink(ctx, publish_to_topic, NULL);
    if (!sy_config_list_has(ctx->cfg.test_doubles, "bus-invoker"))
        sy_bus_set_function_invoker(ctx, bus_invokes_function, NULL);
    sy_lambda_set_bus_sink(ctx, function_puts_on_bus, NULL);
    sy_sfn_set_integrations(ctx, sfn_publishes, sy_bus_put_event);
    if (!sy_config_list_has(ctx->cfg.test_doubles, "sfn-invoker"))
        sy_sfn_set_function_invoker(ctx, sfn_invokes_function, NULL);
    sy_lambda_set_reply_sink(ctx, function_replies_to_task, NULL);
    console_endpoints(ctx);
}
