/* tests/fuzz/fuzz_jsonata_fmt.c - the picture-string parsers of
 * asl/jsonata/fmt.h: $formatNumber (with an options object), $formatInteger,
 * $parseInteger, $formatBase, $fromMillis (with a timezone), $toMillis (ISO
 * and with a picture).
 *
 * Input: four NUL-separated fields: a number (strtod text), a picture, a
 * string (the $parseInteger/$toMillis text, the timezone, or the options
 * JSON) and a second number (radix). Every function runs on the same fields.
 * Oracles besides ASan/UBSan: a result is valid UTF-8; an error has a D-code
 * and a message; what $formatInteger writes, $parseInteger reads back
 * without error; what $fromMillis writes, $toMillis reads without crashing. */
#include "asl/jsonata/fmt.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void check(int rc, char **out, sy_jsonata_error_t *err)
{
    if (rc == 0) {
        if (out) {
            if (!*out) abort();
            json_t *j = json_string(*out); /* NULL when not valid UTF-8 */
            if (!j) abort();
            json_decref(j);
        }
    } else {
        if (rc != -1 || err->code[0] != 'D' || !err->message || !err->message[0]) abort();
    }
    free(err->message);
    free(err->token);
    json_decref(err->value);
    memset(err, 0, sizeof *err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096) return 0;
    char *buf = malloc(size + 4);
    memcpy(buf, data, size);
    memset(buf + size, 0, 4);
    const char *f[4] = {"", "", "", ""};
    size_t nf = 0, at = 0;
    for (size_t i = 0; i <= size && nf < 4; i++)
        if (buf[i] == '\0') {
            f[nf++] = buf + at;
            at = i + 1;
        }
    double v = strtod(f[0], NULL), radix = f[3][0] ? strtod(f[3], NULL) : NAN;
    if (isnan(v)) v = 0;
    const char *pic = f[1], *str = f[2];
    sy_jsonata_error_t err = {0};
    char *out = NULL;
    double d;
    bool undef;

    json_t *opts = json_loads(str, JSON_DECODE_ANY, NULL);
    check(jn_format_number(v, pic, json_is_object(opts) ? opts : NULL, &out, &err), &out, &err);
    free(out), out = NULL;
    json_decref(opts);

    int rc = jn_format_integer(v, pic, &out, &err);
    check(rc, &out, &err);
    if (rc == 0) {
        if (jn_parse_integer(out, pic, &d, &undef, &err) != 0) abort();
        check(0, NULL, &err);
    }
    free(out), out = NULL;

    check(jn_parse_integer(str, pic, &d, &undef, &err), NULL, &err);
    check(jn_format_base(v, radix, &out, &err), &out, &err);
    free(out), out = NULL;

    rc = jn_from_millis(v, pic[0] ? pic : NULL, str[0] ? str : NULL, &out, &err);
    check(rc, &out, &err);
    if (rc == 0) check(jn_to_millis_at(out, pic[0] ? pic : NULL, 1521801216617, &d, &undef, &err), NULL, &err);
    free(out), out = NULL;

    check(jn_to_millis_at(str, pic, 1521801216617, &d, &undef, &err), NULL, &err);
    check(jn_to_millis_at(str, NULL, 0, &d, &undef, &err), NULL, &err);
    free(buf);
    return 0;
}
