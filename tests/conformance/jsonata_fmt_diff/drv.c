/* tests/conformance/jsonata_fmt_diff/drv.c - reads one task a line (JSON:
 * {"f": N|I|P|B|F|T, "v": number, "p": picture, "s": string, "o": options,
 * "r": radix, "now": ms}) and writes what asl/jsonata/fmt.h answers, one JSON
 * line each ({"r": value} | {"u": true} for undefined | {"e": code}), for
 * diff.py to compare with jsonata-js (ref.js). */
#include "asl/jsonata/fmt.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void)
{
    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, stdin) > 0) {
        json_t *t = json_loads(line, 0, NULL);
        if (!t) {
            puts("{\"bad\":1}");
            continue;
        }
        const char *f = json_string_value(json_object_get(t, "f"));
        double v = json_number_value(json_object_get(t, "v"));
        const char *p = json_string_value(json_object_get(t, "p"));
        const char *s = json_string_value(json_object_get(t, "s"));
        json_t *o = json_object_get(t, "o");
        if (json_is_null(o)) o = NULL;
        json_t *rj = json_object_get(t, "r");
        double r = json_is_number(rj) ? json_number_value(rj) : NAN;
        int64_t now = (int64_t)json_number_value(json_object_get(t, "now"));
        sy_jsonata_error_t err = {0};
        char *out = NULL;
        double d = 0;
        bool u = false, isnum = false;
        int rc = 0;
        switch (f ? f[0] : 0) {
        case 'N': rc = jn_format_number(v, p, o, &out, &err); break;
        case 'I': rc = jn_format_integer(v, p, &out, &err); break;
        case 'P': rc = jn_parse_integer(s, p, &d, &u, &err), isnum = true; break;
        case 'B': rc = jn_format_base(v, r, &out, &err); break;
        case 'F': rc = jn_from_millis(v, p, s, &out, &err); break;
        case 'T': rc = jn_to_millis_at(s, p, now, &d, &u, &err), isnum = true; break;
        default: rc = -1; snprintf(err.code, sizeof err.code, "?"); break;
        }
        json_t *res = json_object();
        if (rc) json_object_set_new(res, "e", json_string(err.code));
        else if (u) json_object_set_new(res, "u", json_true());
        else if (isnum) json_object_set_new(res, "r", isnan(d) ? json_string("NaN") : json_real(d));
        else json_object_set_new(res, "r", json_string(out));
        char *js = json_dumps(res, JSON_COMPACT | JSON_ENSURE_ASCII);
        puts(js);
        free(js);
        json_decref(res);
        free(out);
        free(err.message);
        free(err.token);
        json_decref(err.value);
        json_decref(t);
    }
    free(line);
    return 0;
}
