/* tests/fuzz/fuzz_intrinsics.c - the Step Functions intrinsic functions
 * (asl/intrinsics.c, asl/intrinsic_fns.c): the parser that validation runs
 * on every "States.…" value of a definition (asl_intrinsic_valid, dry) and
 * the evaluator an execution runs over its input (asl_intrinsic_eval).
 * Input: the expression text (no NUL), evaluated over a fixed input with
 * every JSON kind (strings with separators, escapes and non-ASCII, numbers
 * near the limits, arrays, objects, JSON text, base64) and a context object.
 * Oracles besides ASan/UBSan: what evaluates also validates; a failure has
 * an error name (States.…) and a cause; a success has a value; evaluating
 * twice gives an equal value (but States.UUID and States.MathRandom).
 * Seeds: every "States.…" string of ../shared/conformance/asl* (written by
 * conformance_seeds.py into the build tree) plus corpus/fuzz_intrinsics/. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asl/internal.h"

static json_t *input, *ctx;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!input) {
        input = json_loads("{\"s\":\"a,b,,c\",\"sep\":\",\",\"n\":3,\"f\":2.5,\"neg\":-5,\"big\":1e300,"
                           "\"max\":9223372036854775807,\"arr\":[1,2,3,\"x\",{\"k\":1},[4,5],null,true],"
                           "\"empty\":[],\"o\":{\"a\":1,\"b\":[\"c\"]},\"j\":\"{\\\"a\\\":[1,2]}\","
                           "\"b64\":\"aGVsbG8gd29ybGQ=\",\"u\":\"caf\\u00e9 \\u20ac \\\"q\\\" \\\\ {}\","
                           "\"fmt\":\"x {} y {}\",\"algo\":\"SHA-256\",\"nested\":{\"deep\":{\"er\":[{\"x\":1}]}}}",
                           0, NULL);
        ctx = json_loads("{\"Execution\":{\"Id\":\"arn:aws:states:us-east-1:000000000000:execution:m:e\","
                         "\"Input\":{\"a\":1},\"Name\":\"e\"},\"State\":{\"Name\":\"S\",\"RetryCount\":0},"
                         "\"Map\":{\"Item\":{\"Index\":2,\"Value\":\"v\"}}}",
                         0, NULL);
        if (!input || !ctx) abort();
    }
    if (size > 4096 || memchr(data, 0, size)) return 0;
    char *s = malloc(size + 1);
    memcpy(s, data, size);
    s[size] = 0;
    char *verr = NULL;
    bool valid = asl_intrinsic_valid(s, &verr);
    if (!valid && (!verr || !*verr)) abort(); /* a refusal says why */
    free(verr);
    json_t *out = NULL, *again = NULL;
    char *name = NULL, *cause = NULL;
    int rc = asl_intrinsic_eval(s, "Parameters", input, ctx, &out, &name, &cause);
    if (rc == 0) {
        if (!out || name || cause) abort();
        if (!valid) abort(); /* it ran, so validation must accept it */
        char *n2 = NULL, *c2 = NULL;
        if (asl_intrinsic_eval(s, "Parameters", input, ctx, &again, &n2, &c2) != 0) abort();
        if (!strstr(s, "UUID") && !strstr(s, "Random") && !json_equal(out, again)) abort();
        free(n2);
        free(c2);
    } else {
        if (out || !name || strncmp(name, "States.", 7) != 0 || !cause) abort();
    }
    json_decref(out);
    json_decref(again);
    free(name);
    free(cause);
    free(s);
    return 0;
}
