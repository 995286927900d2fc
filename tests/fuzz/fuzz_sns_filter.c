/* tests/fuzz/fuzz_sns_filter.c - SNS filter policies as a subscriber sets
 * them (FilterPolicy + FilterPolicyScope, topic/api_subs.c) and as a
 * publish is matched against them (topic/fanout.c): the SNS kinds of the
 * pattern compiler with their limits (5 keys, 150 combinations), the
 * MessageAttributes envelope of topic/envelope.c (tp_attrs_envelope) and its
 * flattening into an event (pattern/sns_attrs.c).
 * Input: byte 0 picks the mode (mod 4), the rest is the policy, a NUL, and
 * the event:
 *   0: FilterPolicyScope=MessageBody, the event is the message body;
 *   1: MessageAttributes scope, the event is a flat JSON object that the
 *      harness turns into a client's MessageAttributes (String, Number,
 *      String.Array by value type) and publishes through tp_attrs_envelope;
 *      differential: the same object as a message body under the body scope
 *      matches the same way when the policy is valid in both scopes;
 *   2: MessageAttributes scope, the event is a client's MessageAttributes
 *      ({"n":{"DataType":..,"StringValue":..}}) through tp_attrs_envelope;
 *   3: MessageAttributes scope, the event is the {"n":{"Type","Value"}}
 *      envelope text itself (what sy_matcher_match takes).
 * Oracles besides ASan/UBSan: sy_pattern_validate and sy_matcher_add agree;
 * a refusal is InvalidParameter 400 "Invalid parameter: FilterPolicy: ..."
 * with a reason; the match count equals the callbacks; the event
 * pat_sns_attributes_event builds from valid JSON is a JSON object jansson
 * accepts, with one member per usable attribute.
 * Seeds: the SNS vectors (and the rest of aws-docs) of
 * ../shared/conformance/event-patterns, written by conformance_seeds.py into
 * the build tree, plus corpus/fuzz_sns_filter/ (regressions). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pattern/internal.h"
#include "topic/internal.h"
#include "fuzz_split.h"

static void cb(const char *id, void *u)
{
    (void)id;
    (*(int *)u)++;
}

static const char PREFIX[] = "Invalid parameter: FilterPolicy: ";

/* Validate + add in one kind; returns the matcher (NULL: refused). */
static sy_matcher_t *compile(sy_pattern_kind_t kind, const char *p, size_t n)
{
    sy_err_t e1 = {0}, e2 = {0};
    int v = sy_pattern_validate(kind, p, n, &e1);
    sy_matcher_t *m = sy_matcher_new(kind);
    int a = sy_matcher_add(m, "arn:aws:sns:us-east-1:000000000000:t:s1", p, n, &e2);
    if ((v == 0) != (a == 0)) abort();
    if (v != 0) {
        if (e1.status != 400 || strcmp(e1.code, "InvalidParameter") != 0 ||
            strncmp(e1.message, PREFIX, sizeof PREFIX - 1) != 0 || !e1.message[sizeof PREFIX - 1] ||
            strcmp(e1.message, e2.message) != 0)
            abort();
        sy_matcher_destroy(&m);
        return NULL;
    }
    return m;
}

static int match(sy_matcher_t *m, const char *ev, size_t n)
{
    int count = 0;
    int r = sy_matcher_match(m, ev, n, cb, &count);
    if (r >= 0 && r != count) abort();
    if (r > 1) abort(); /* one rule */
    return r;
}

/* What fanout.c does with a publish's MessageAttributes. */
static int match_client_attrs(sy_matcher_t *m, const json_t *attrs)
{
    json_t *env = tp_attrs_envelope(attrs);
    char *ej = json_dumps(env, JSON_COMPACT);
    int r = match(m, ej, strlen(ej));
    /* the flat event built from the envelope is JSON, one member per attribute */
    size_t n = 0;
    char *flat = pat_sns_attributes_event(ej, strlen(ej), &n);
    if (!flat || strlen(flat) != n) abort();
    json_error_t je;
    json_t *fj = json_loadb(flat, n, 0, &je);
    if (!json_is_object(fj)) abort();
    free(flat);
    json_decref(fj);
    free(ej);
    json_decref(env);
    return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 1 << 16) return 0;
    int mode = data[0] % 4;
    fuzz_split_t sp = fuzz_split(data, size);
    const char *rest = sp.pattern, *ev = sp.event;
    size_t plen = sp.plen, elen = sp.elen;
    char *p = malloc(plen + 1);
    memcpy(p, rest, plen);
    p[plen] = 0;
    json_error_t je;
    if (mode == 0) {
        sy_matcher_t *m = compile(SY_PATTERN_SNS_BODY, p, plen);
        if (m) match(m, ev, elen);
        sy_matcher_destroy(&m);
    } else if (mode == 3) {
        sy_matcher_t *m = compile(SY_PATTERN_SNS_ATTRIBUTES, p, plen);
        if (m) match(m, ev, elen);
        sy_matcher_destroy(&m);
        size_t on = 0;
        char *flat = pat_sns_attributes_event(ev, elen, &on);
        json_t *in = json_loadb(ev, elen, 0, &je);
        if (flat) {
            if (strlen(flat) != on) abort();
            json_t *fj = json_loadb(flat, on, 0, &je);
            if (json_is_object(in) && !json_is_object(fj)) abort(); /* valid in, valid out */
            json_decref(fj);
        } else if (json_is_object(in)) {
            abort(); /* an object is always usable */
        }
        json_decref(in);
        free(flat);
    } else {
        sy_matcher_t *m = compile(SY_PATTERN_SNS_ATTRIBUTES, p, plen);
        json_t *in = json_loadb(ev, elen, JSON_REJECT_DUPLICATES, &je);
        if (mode == 2) {
            if (m && json_is_object(in)) match_client_attrs(m, in);
        } else if (json_is_object(in)) { /* mode 1 */
            json_t *attrs = json_object(), *body = json_object();
            const char *k;
            json_t *v;
            bool ok = true;
            json_object_foreach(in, k, v) {
                const char *type = NULL;
                char *val = NULL;
                if (json_is_string(v)) {
                    type = "String";
                    val = strdup(json_string_value(v));
                } else if (json_is_number(v)) {
                    type = "Number";
                    val = json_dumps(v, JSON_ENCODE_ANY);
                } else if (json_is_array(v)) {
                    for (size_t i = 0; i < json_array_size(v); i++) {
                        json_t *x = json_array_get(v, i);
                        if (json_is_object(x) || json_is_array(x)) ok = false;
                    }
                    type = "String.Array";
                    val = json_dumps(v, JSON_COMPACT);
                } else {
                    ok = false; /* SNS has no boolean or null attribute */
                    continue;
                }
                if (!val || strlen(val) == 0 || memchr(k, '.', strlen(k)) || !*k) ok = false;
                json_object_set_new(attrs, k, json_pack("{s:s,s:s}", "DataType", type, "StringValue", val ? val : ""));
                /* the body carries the value as the attribute will present it */
                json_object_set_new(body, k, json_is_number(v) ? json_loads(val, JSON_DECODE_ANY, NULL)
                                                               : json_deep_copy(v));
                free(val);
            }
            if (m) {
                int ra = match_client_attrs(m, attrs);
                sy_matcher_t *mb = ok ? compile(SY_PATTERN_SNS_BODY, p, plen) : NULL;
                if (mb) {
                    char *bt = json_dumps(body, JSON_COMPACT);
                    int rb = match(mb, bt, strlen(bt));
                    if (ra != rb) {
                        fprintf(stderr, "scopes disagree: attributes %d body %d\npolicy %s\nbody %s\n", ra, rb, p, bt);
                        abort();
                    }
                    free(bt);
                    sy_matcher_destroy(&mb);
                }
            }
            json_decref(attrs);
            json_decref(body);
        }
        json_decref(in);
        sy_matcher_destroy(&m);
    }
    free(p);
    return 0;
}
