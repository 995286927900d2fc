/* asl/jsonata/fmt_placeholder.c — PLACEHOLDER until branch jsonata-fmt's
 * asl/jsonata/fmt_*.c are merged (then this file is deleted): the six fmt.h
 * functions fail with D3130 "not supported". */
#include "fmt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int nope(sy_jsonata_error_t *err) {
    memset(err, 0, sizeof *err);
    snprintf(err->code, sizeof err->code, "D3130");
    err->position = -1;
    err->message = strdup("Formatting or parsing with a picture string is not supported by this build");
    return -1;
}

int jn_format_number(double v, const char *picture, const json_t *options, char **out, sy_jsonata_error_t *err) {
    (void)v; (void)picture; (void)options; (void)out;
    return nope(err);
}
int jn_format_integer(double v, const char *picture, char **out, sy_jsonata_error_t *err) {
    (void)v; (void)picture; (void)out;
    return nope(err);
}
int jn_parse_integer(const char *s, const char *picture, double *out, bool *undefined, sy_jsonata_error_t *err) {
    (void)s; (void)picture; (void)out; (void)undefined;
    return nope(err);
}
int jn_format_base(double v, double radix, char **out, sy_jsonata_error_t *err) {
    (void)v; (void)radix; (void)out;
    return nope(err);
}
int jn_from_millis(double ms, const char *picture, const char *timezone, char **out, sy_jsonata_error_t *err) {
    (void)ms; (void)picture; (void)timezone; (void)out;
    return nope(err);
}
int jn_to_millis(const char *ts, const char *picture, double *out, bool *undefined, sy_jsonata_error_t *err) {
    (void)ts; (void)picture; (void)out; (void)undefined;
    return nope(err);
}
