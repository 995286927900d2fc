/* handlers.c - the food-delivery example's C functions (switchyard/handler.h).
 *
 * Each symbol is one function, hosted by `switchyard worker`:
 *   --function charge-payment=so:libfooddelivery.so:charge_payment
 *   --function notify-restaurant=so:libfooddelivery.so:notify_restaurant
 *   --function dispatch-courier=so:libfooddelivery.so:dispatch_courier
 *   --function refund-payment=so:libfooddelivery.so:refund_payment
 *   --function cancel-restaurant=so:libfooddelivery.so:cancel_restaurant
 *
 * They are stand-ins for a payment gateway, a restaurant's tablet and a
 * courier dispatcher, with two failure modes the state machine handles:
 *   - card "tok_flaky": the gateway times out on the first two attempts
 *     (PaymentGatewayTimeout; the state passes $$.State.RetryCount in as
 *     "attempt", so the handler is stateless); the Retry policy absorbs it;
 *   - address.zone "suburbs": no courier serves it (NoCourierAvailable);
 *     the Catch runs the compensation (refund ‖ cancel the kitchen ticket).
 * Thread-safe: no shared state.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <switchyard/handler.h>

/* Parse the event or fail the invocation. */
static json_t *parse(const sy_handler_ctx_t *ctx, const char *event, size_t len)
{
    json_error_t jerr;
    json_t *v = json_loadb(event, len, 0, &jerr);
    if (!json_is_object(v)) {
        json_decref(v);
        ctx->fail(ctx, "InvalidEvent", "event must be a JSON object");
        return NULL;
    }
    return v;
}

/* Respond with `out` (stolen) and return 0. */
static int reply(const sy_handler_ctx_t *ctx, json_t *in, json_t *out)
{
    char *s = json_dumps(out, JSON_COMPACT);
    if (s) ctx->respond(ctx, s, strlen(s));
    free(s);
    json_decref(out);
    json_decref(in);
    return 0;
}

static int failure(const sy_handler_ctx_t *ctx, json_t *in, const char *type, const char *msg)
{
    ctx->log(ctx, SY_HANDLER_LOG_WARN, msg);
    ctx->fail(ctx, type, msg);
    json_decref(in);
    return 1;
}

/* {"order": {...}, "attempt": $$.State.RetryCount} -> {"payment_id", "amount", "attempts"} */
int charge_payment(const sy_handler_ctx_t *ctx, const char *event, size_t len)
{
    json_t *in = parse(ctx, event, len);
    if (!in) return 1;
    json_t *order = json_object_get(in, "order");
    const char *id = json_string_value(json_object_get(order, "order_id"));
    const char *card = json_string_value(json_object_get(order, "card"));
    json_int_t attempt = json_integer_value(json_object_get(in, "attempt"));
    if (!id || !card) return failure(ctx, in, "InvalidEvent", "order_id and card are required");
    if (!strcmp(card, "tok_declined")) return failure(ctx, in, "PaymentDeclined", "card declined");
    if (!strcmp(card, "tok_flaky") && attempt < 2) {
        char msg[128];
        snprintf(msg, sizeof msg, "payment gateway timed out (attempt %lld)", (long long)attempt + 1);
        return failure(ctx, in, "PaymentGatewayTimeout", msg);
    }
    char pid[96];
    snprintf(pid, sizeof pid, "pay-%s", id);
    return reply(ctx, in,
                 json_pack("{s:s, s:O, s:I}", "payment_id", pid, "amount", json_object_get(order, "total"),
                           "attempts", attempt + 1));
}

/* the order -> {"ticket", "restaurant", "prep_minutes"} */
int notify_restaurant(const sy_handler_ctx_t *ctx, const char *event, size_t len)
{
    json_t *in = parse(ctx, event, len);
    if (!in) return 1;
    const char *id = json_string_value(json_object_get(in, "order_id"));
    const char *restaurant = json_string_value(json_object_get(in, "restaurant"));
    if (!id || !restaurant) return failure(ctx, in, "InvalidEvent", "order_id and restaurant are required");
    char ticket[96];
    snprintf(ticket, sizeof ticket, "kt-%s", id);
    return reply(ctx, in,
                 json_pack("{s:s, s:s, s:i}", "ticket", ticket, "restaurant", restaurant, "prep_minutes",
                           (int)(5 + 2 * json_array_size(json_object_get(in, "items")))));
}

/* {"order_id", "address"} -> {"courier", "eta_minutes"}, or NoCourierAvailable */
int dispatch_courier(const sy_handler_ctx_t *ctx, const char *event, size_t len)
{
    json_t *in = parse(ctx, event, len);
    if (!in) return 1;
    const char *zone = json_string_value(json_object_get(json_object_get(in, "address"), "zone"));
    if (!zone) return failure(ctx, in, "InvalidEvent", "address.zone is required");
    if (!strcmp(zone, "suburbs")) return failure(ctx, in, "NoCourierAvailable", "no courier serves zone suburbs");
    return reply(ctx, in, json_pack("{s:s, s:i}", "courier", "courier-7", "eta_minutes", 20));
}

/* {"order_id", "payment"} -> {"refund_id", "amount"} */
int refund_payment(const sy_handler_ctx_t *ctx, const char *event, size_t len)
{
    json_t *in = parse(ctx, event, len);
    if (!in) return 1;
    json_t *payment = json_object_get(in, "payment");
    const char *pid = json_string_value(json_object_get(payment, "payment_id"));
    if (!pid) return failure(ctx, in, "InvalidEvent", "payment.payment_id is required");
    char rid[112];
    snprintf(rid, sizeof rid, "rf-%s", pid);
    ctx->log(ctx, SY_HANDLER_LOG_INFO, "payment refunded");
    return reply(ctx, in, json_pack("{s:s, s:O}", "refund_id", rid, "amount", json_object_get(payment, "amount")));
}

/* {"order_id", "kitchen"} -> {"cancelled_ticket"} */
int cancel_restaurant(const sy_handler_ctx_t *ctx, const char *event, size_t len)
{
    json_t *in = parse(ctx, event, len);
    if (!in) return 1;
    const char *ticket = json_string_value(json_object_get(json_object_get(in, "kitchen"), "ticket"));
    if (!ticket) return failure(ctx, in, "InvalidEvent", "kitchen.ticket is required");
    ctx->log(ctx, SY_HANDLER_LOG_INFO, "kitchen ticket cancelled");
    return reply(ctx, in, json_pack("{s:s}", "cancelled_ticket", ticket));
}
