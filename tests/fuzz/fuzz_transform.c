/* tests/fuzz/fuzz_transform.c - the InputTransformer template renderer
 * (sy_bus_template_render). Input: the template; variables of every JSON
 * kind (strings with quotes, backslashes and non-ASCII, numbers, objects,
 * arrays, null) are substituted. Oracles: with no variables the output is
 * the template itself; a template that is a JSON object whose placeholders
 * are all unquoted values renders to valid JSON. */
#include "bus/bus.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 1 << 16 || memchr(data, 0, size)) return 0;
    const char *t = (const char *)data;
    json_t *none = json_object();
    char *same = sy_bus_template_render(t, size, none);
    if (strlen(same) != size || memcmp(same, t, size) != 0) abort();
    free(same);
    json_decref(none);
    json_t *vars = json_pack("{s:s,s:s,s:i,s:f,s:{s:[i,s]},s:[],s:n,s:b,s:s}", "s", "he said \"hi\" \\ ok",
                             "u", "caf\xc3\xa9 \xe2\x82\xac", "n", 42, "f", 1.5, "o", "k", 1, "v", "a",
                             "nil", "b", 1, "aws.events.rule-name", "r");
    char *out = sy_bus_template_render(t, size, vars);
    if (!out) abort();
    /* {"k": <o>} style: a JSON object template with unquoted placeholders stays JSON */
    json_t *tj = json_loadb(t, size, 0, NULL);
    if (json_is_object(tj)) {
        json_t *oj = json_loads(out, 0, NULL);
        if (!oj) abort();
        json_decref(oj);
    }
    json_decref(tj);
    free(out);
    json_decref(vars);
    return 0;
}
