/* tests/fuzz/fuzz_policy.c - the policy language a client reaches through a
 * queue's or a topic's Policy attribute: JSON decode, validation as a
 * resource policy and as an identity policy, and evaluation of every valid
 * document against a few requests (wildcards, conditions, principals).
 *
 * Input: the policy document (any bytes). */
#include "core/core.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *doc = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL);
    if (!doc) return 0;
    static const char *actions[] = {"sqs:SendMessage", "SNS:Publish", "events:PutEvents", ""};
    static const char *resources[] = {"arn:aws:sqs:us-east-1:000000000000:orders", "*", "arn:aws:sns:r:1:t:sub"};
    json_t *ctx = json_pack("{s:s, s:s, s:s, s:[s,s], s:s, s:s}", "aws:sourceip", "127.0.0.1", "aws:securetransport",
                            "false", "aws:currenttime", "2026-12-07T01:00:00Z", "aws:tagkeys", "team", "env",
                            "aws:username", "alice", "aws:sourcearn", "arn:aws:sns:us-east-1:000000000000:orders");
    for (int resource = 0; resource < 2; resource++) {
        char *why = NULL;
        if (sy_policy_validate(doc, resource, &why) == 0) {
            for (size_t a = 0; a < sizeof actions / sizeof *actions; a++)
                for (size_t r = 0; r < sizeof resources / sizeof *resources; r++) {
                    sy_policy_req_t q = {.action = actions[a], .resource = resources[r],
                                         .principal_arn = "arn:aws:iam::000000000000:user/alice",
                                         .principal_account = "000000000000",
                                         .principal_service = a == 1 ? "sns.amazonaws.com" : NULL, .context = ctx};
                    sy_policy_effect_t e = sy_policy_eval(doc, resource, &q);
                    if (e != SY_POLICY_NONE && e != SY_POLICY_ALLOW && e != SY_POLICY_DENY) abort();
                }
        } else if (!why) {
            abort(); /* a refusal always says why */
        }
        free(why);
    }
    json_decref(ctx);
    json_decref(doc);
    return 0;
}
