/* tests/fuzz/fuzz_lambda.c - fuzz the parsers of issue 12. The first byte
 * picks the parser (mod 4), the rest is its input:
 *   0: a function reference (lm_ref_parse: name, name:qualifier, partial
 *      and full ARNs) and the qualifier / alias / version checks;
 *   1: RoutingConfig JSON (lm_routing_parse);
 *   2: Environment.Variables JSON (lm_env_vars_check);
 *   3: the function configuration a DELIVER carries (wk_fncfg_parse).
 * Seeds: corpus/fuzz_lambda/. Built with replay.c in normal builds (ctest
 * label fuzz), as a libFuzzer binary with -DSY_FUZZ=ON. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lambda/internal.h"
#include "worker/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    int which = data[0] % 4;
    char *s = malloc(size);
    memcpy(s, data + 1, size - 1);
    s[size - 1] = 0;
    if (which == 0) {
        char name[LM_NAME_MAX + 1], qual[LM_QUAL_MAX + 1];
        if (lm_ref_parse(s, name, qual) == 0) {
            /* what parses is a valid name and an empty or valid qualifier */
            if (!name[0] || strlen(name) > LM_NAME_MAX) abort();
            if (qual[0] && !lm_qualifier_valid(qual)) abort();
        }
        long v;
        if (lm_version_number(s, &v) && v < 1) abort();
        if (lm_alias_name_valid(s) && lm_version_number(s, NULL)) abort(); /* an alias is never a number */
    } else if (which == 1 || which == 2) {
        json_t *j = json_loads(s, JSON_DECODE_ANY, NULL);
        if (j) {
            char version[16], msg[1024];
            double w;
            const char *code;
            if (which == 1 && lm_routing_parse(j, version, &w, msg, sizeof msg) == 0 && version[0] &&
                !(w >= 0.0 && w <= 1.0))
                abort();
            if (which == 2) lm_env_vars_check(json_object_get(j, "Variables") ? json_object_get(j, "Variables") : j,
                                              &code, msg, sizeof msg);
            json_decref(j);
        }
    } else {
        wk_fn_t fn;
        memset(&fn, 0, sizeof fn);
        fn.name = "fuzzed:3";
        fn.handler = "function.handler";
        wk_fncfg_t *c = wk_fncfg_parse(&fn, s);
        if (c) {
            if (!c->name || !c->version || !c->arn || !c->handler || !c->env_key) abort();
            for (int i = 0; i < c->nvars; i++)
                if (!strchr(c->vars[i], '=') || wk_env_reserved(c->vars[i])) abort();
            (void)wk_fncfg_var(c, "GREETING");
            wk_fncfg_unref(c);
        }
    }
    free(s);
    return 0;
}
