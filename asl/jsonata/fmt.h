/* asl/jsonata/fmt.h — JSONata's picture-string, number-formatting and
 * date/time functions as plain C functions, called by the evaluator
 * (internal header of asl/jsonata/).
 *
 * Every function returns 0 on success or -1 with *err filled (code and the
 * message rendered from error-messages.json's template, as jsonata-js does;
 * position -1). Strings are UTF-8 in and out; *out is allocated with core's
 * sy_malloc family and the caller frees it with free(). Where JSONata counts
 * string lengths (picture widths, padding) it counts UTF-16 units.
 *
 *   jn_format_number   $formatNumber(v, picture [, options]); `options` is the
 *                      decimal-format object (decimal-separator,
 *                      grouping-separator, exponent-separator, infinity, NaN,
 *                      minus-sign, percent, per-mille, zero-digit, digit,
 *                      pattern-separator), may be NULL.
 *   jn_format_integer  $formatInteger(v, picture)
 *   jn_parse_integer   $parseInteger(s, picture); *undefined set when the
 *                      result is undefined (then *out is untouched).
 *   jn_format_base     $formatBase(v [, radix]); radix NAN = 10.
 *   jn_from_millis     $fromMillis(ms [, picture [, timezone]]); picture NULL =
 *                      ISO 8601, timezone NULL = UTC.
 *   jn_to_millis       $toMillis(ts [, picture]); *undefined set when the
 *                      result is undefined (string does not match).
 */
#ifndef SY_ASL_JSONATA_FMT_H
#define SY_ASL_JSONATA_FMT_H

#include "asl/jsonata.h"

#include <jansson.h>
#include <stdbool.h>

int jn_format_number(double v, const char *picture, const json_t *options, char **out, sy_jsonata_error_t *err);
int jn_format_integer(double v, const char *picture, char **out, sy_jsonata_error_t *err);
int jn_parse_integer(const char *s, const char *picture, double *out, bool *undefined, sy_jsonata_error_t *err);
int jn_format_base(double v, double radix /* NAN = 10 */, char **out, sy_jsonata_error_t *err);
int jn_from_millis(double ms, const char *picture /* NULL = ISO 8601 */, const char *timezone /* NULL */, char **out, sy_jsonata_error_t *err);
int jn_to_millis(const char *ts, const char *picture /* NULL = ISO 8601 */, double *out, bool *undefined, sy_jsonata_error_t *err);

#endif
