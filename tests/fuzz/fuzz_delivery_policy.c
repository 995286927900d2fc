/* tests/fuzz/fuzz_delivery_policy.c - fuzz the SNS DeliveryPolicy parser
 * (topic/policy.c), which a client reaches through CreateTopic, Subscribe,
 * SetTopicAttributes and SetSubscriptionAttributes.
 *
 * Input: the first byte picks the shape (even: subscription, odd: topic);
 * the rest is the policy text. Oracles besides ASan/UBSan:
 *   - a refusal is InvalidParameter (400) with a message naming DeliveryPolicy;
 *   - an accepted policy gives a schedule inside its own bounds (every
 *     retry 0 or within [minDelayTarget, maxDelayTarget], none past
 *     numRetries, 3600 s in all at most);
 *   - the effective policy it yields (subscription and topic shapes) is
 *     itself accepted and resolves to the same schedule (a round trip).
 * With -DSY_FUZZ=ON (clang) this is a libFuzzer target; otherwise replay.c
 * drives it over tests/fuzz/corpus/fuzz_delivery_policy and mutations. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "topic/internal.h"

static void check(int cond, const char *what)
{
    if (!cond) {
        fprintf(stderr, "fuzz_delivery_policy: oracle failed: %s\n", what);
        abort();
    }
}

static void schedule_ok(const tp_policy_t *p)
{
    long total = 0;
    check(p->num_retries >= 0 && p->num_retries <= 100, "numRetries in range");
    for (int r = 1; r <= p->num_retries; r++) {
        int d = tp_policy_delay_s(p, r);
        check(d == 0 || (d >= p->min_delay && d <= p->max_delay), "delay within the targets");
        total += d;
    }
    check(tp_policy_delay_s(p, p->num_retries + 1) == -1, "no retry past numRetries");
    check(tp_policy_delay_s(p, 0) == -1, "no retry 0");
    check(total <= 3600, "3600 s in all");
}

static int same(const tp_policy_t *a, const tp_policy_t *b)
{
    return a->num_retries == b->num_retries && a->no_delay == b->no_delay && a->min_retries == b->min_retries &&
           a->max_retries == b->max_retries && a->min_delay == b->min_delay && a->max_delay == b->max_delay &&
           !strcmp(a->backoff, b->backoff) && a->max_per_s == b->max_per_s && !strcmp(a->content_type, b->content_type);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    bool topic = data[0] & 1;
    char *text = malloc(size);
    memcpy(text, data + 1, size - 1);
    text[size - 1] = 0;
    sy_err_t err;
    sy_err_clear(&err);
    int rc = tp_policy_check(text, topic, data[0] & 2, &err);
    if (rc < 0) {
        check(err.status == 400 && !strcmp(err.code, "InvalidParameter"), "InvalidParameter 400");
        check(strstr(err.message, "DeliveryPolicy") != NULL, "the message names DeliveryPolicy");
        free(text);
        return 0;
    }
    tp_policy_t p;
    tp_policy_resolve(topic ? text : NULL, topic ? NULL : text, &p);
    schedule_ok(&p);
    /* round trips through the effective policies */
    char *eff = topic ? tp_policy_effective_topic(text) : tp_policy_effective_sub(NULL, text);
    check(tp_policy_check(eff, topic, false, &err) == 0, "the effective policy is accepted");
    tp_policy_t q;
    tp_policy_resolve(topic ? eff : NULL, topic ? NULL : eff, &q);
    check(same(&p, &q), "the effective policy resolves to the same schedule");
    json_t *packed = tp_policy_pack(&p);
    tp_policy_t u;
    tp_policy_unpack(packed, &u);
    check(same(&p, &u), "pack/unpack");
    json_decref(packed);
    free(eff);
    free(text);
    return 0;
}
