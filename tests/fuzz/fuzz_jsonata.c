/* tests/fuzz/fuzz_jsonata.c - the JSONata parser and evaluator (asl/jsonata.h).
 * Input: expression text. It is compiled, then evaluated against a fixed
 * document (objects, arrays, numbers, strings with escapes and non-ASCII)
 * with tight guards, in the upstream library and in Step Functions' one.
 * Oracles besides ASan/UBSan: compiling twice agrees; every error carries a
 * code and a message; a result is valid JSON that round-trips through text;
 * sy_jsonata_references answers an object. Seeds: the expressions of the
 * reference suite (written by `jsonata_conformance --dump-seeds`). */
#include "asl/jsonata.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char *DOC = "{\"a\":1,\"b\":[1,2,{\"c\":\"x\"}],\"s\":\"caf\\u00e9 \\\"q\\\" \\ud83d\\ude00\","
                         "\"o\":{\"k\":[true,false,null],\"n\":-2.5e3},\"Account\":{\"Order\":[{\"Product\":"
                         "[{\"Price\":34.45,\"Quantity\":2},{\"Price\":21.67,\"Quantity\":1}]}]}}";

static void check_err(const sy_jsonata_error_t *e) {
    if (!e->code[0] || !e->message) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > 4096) return 0;
    const char *src = (const char *)data;
    sy_jsonata_error_t err = {.position = -1};
    sy_jsonata_t *x = sy_jsonata_compile(src, size, &err);
    sy_jsonata_error_t err2 = {.position = -1};
    sy_jsonata_t *y = sy_jsonata_compile(src, size, &err2);
    if ((x == NULL) != (y == NULL)) abort();
    sy_jsonata_free(&y);
    if (!x) {
        check_err(&err);
        if (strcmp(err.code, err2.code) != 0) abort();
        sy_jsonata_error_clear(&err);
        sy_jsonata_error_clear(&err2);
        return 0;
    }
    sy_jsonata_error_clear(&err2);
    json_t *refs = sy_jsonata_references(x);
    if (!json_is_object(refs)) abort();
    json_decref(refs);
    json_t *doc = json_loads(DOC, 0, NULL);
    json_t *bind = json_pack("{s:i,s:[s,s]}", "x", 7, "states", "p", "q");
    for (int mode = 0; mode < 2; mode++) {
        sy_jsonata_opts_t o = {.step_functions = mode == 1, .now_ms = 1700000000000, .max_depth = 400,
                               .time_limit_ms = 50};
        json_t *out = NULL;
        int kind = -1;
        int rc = sy_jsonata_eval_kind(x, mode ? NULL : doc, bind, &o, &out, &kind, &err);
        if (rc < 0) {
            check_err(&err);
            if (out) abort();
            sy_jsonata_error_clear(&err);
        } else if (kind == SY_JSONATA_VALUE) {
            char *txt = json_dumps(out, JSON_ENCODE_ANY);
            if (!txt) abort();
            json_t *back = json_loads(txt, JSON_DECODE_ANY, NULL);
            if (!back || !json_equal(back, out)) abort();
            json_decref(back);
            free(txt);
        } else if (out) {
            abort();
        }
        json_decref(out);
    }
    json_decref(bind);
    json_decref(doc);
    sy_jsonata_free(&x);
    return 0;
}
