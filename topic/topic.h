/* topic/topic.h - the one public header of topic/: SNS (query protocol)
 * topics, subscriptions and the fan-out of a publish. */
#ifndef SY_TOPIC_H
#define SY_TOPIC_H
#include "core/core.h"

/* Register the SNS routes (Version=2010-03-31) and start the HTTP(S)
 * delivery thread (ctx->svc[SY_SVC_TOPIC]). Needs queue/ and the lambda
 * service started first. */
int sy_topic_start(sy_ctx_t *ctx, sy_err_t *err);
void sy_topic_stop(sy_ctx_t *ctx);

/* Publish one message to topic_arn inside the caller's open transaction
 * on c: every matching subscription's delivery is written on c and commits
 * with the caller (EventBridge SNS targets, Lambda destinations).
 * subject and msg_attrs ({"name":{"DataType","StringValue"|"BinaryValue"}},
 * borrowed) may be NULL. For a FIFO topic the group is "default" unless
 * given through the API. 0, or <0 with err in SNS's terms (NotFound 404). */
int sy_topic_publish_tx(sy_ctx_t *ctx, PGconn *c, const char *topic_arn, const char *message, const char *subject,
                        json_t *msg_attrs, sy_err_t *err);

/* The function-subscription seam. A subscription with Protocol "lambda"
 * hands the notification record (the Lambda SNS event, JSON text) to the
 * invoker inside the publish's open transaction on c, so an invoker that
 * enqueues the invocation durably commits with the publish or not at all.
 * 0 once accepted (asynchronous, as SNS invokes with InvocationType=Event),
 * or <0 with err: logged and dropped for that subscription (a database
 * error, SY_E_DB, fails the publish). Unset: such subscriptions are skipped
 * with a warning. Set before the first publish (server/wiring.c). */
typedef int (*sy_topic_invoke_fn)(sy_ctx_t *ctx, PGconn *c, const char *function, const char *payload, size_t len,
                                  void *udata, sy_err_t *err);
void sy_topic_set_function_invoker(sy_ctx_t *ctx, sy_topic_invoke_fn fn, void *udata);

/* The web console's read-only endpoints (topic/console.c; issue 16), added in
 * server/wiring.c. match: {"TopicArn","Message","MessageAttributes"?} ->
 * {"Subscriptions":[{SubscriptionArn, Protocol, Endpoint, FilterPolicy,
 * FilterPolicyScope, Confirmed, Matches, Reason}]}, nothing published;
 * summary: {} -> {Topics, Subscriptions, PendingConfirmation}. */
int sy_topic_console_match(sy_ctx_t *ctx, const json_t *in, json_t **out, sy_err_t *err);
int sy_topic_console_summary(sy_ctx_t *ctx, const json_t *in, json_t **out, sy_err_t *err);
/* list: {"Prefix"?, "NextToken"?, "MaxResults"?} -> {"Topics":[{Name, TopicArn,
 * Subscriptions}], "NextToken"?} (ListTopics has no name filter) */
int sy_topic_console_list(sy_ctx_t *ctx, const json_t *in, json_t **out, sy_err_t *err);
#endif
