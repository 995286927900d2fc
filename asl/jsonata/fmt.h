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
 *
 * Behaviour is jsonata-js 2.2.2's, checked case by case against it
 * (tests/conformance/jsonata_fmt_diff), including its quirks (the last
 * failing picture check names the error, [Y]-[d] with a time is D3136, a
 * "-hh:mm" $toMillis zone read as -hh + mm, a "-0530" $fromMillis zone as
 * -06:30). Where it has no answer or
 * cannot be followed:
 *   - a lone surrogate that JavaScript would put in a result is U+FFFD;
 *   - $toMillis of a date-time without offset is UTC (JavaScript: local);
 *   - a number that jsonata-js returns as NaN ($parseInteger of text that is
 *     no number, $toMillis of a date Date.parse rejects) comes back as NaN:
 *     the caller decides what a NaN result is;
 *   - $formatNumber of Infinity/NaN gives the infinity/NaN options (jsonata-js
 *     loops); more than 100 fraction digits work (JavaScript: RangeError);
 *   - roman numerals from 1e7 and words/letters of infinity fail with D1011
 *     (jsonata-js overflows its stack or loops);
 *   - width modifiers above 100000 count as 100000;
 *   - letters ('a'/'A') read back above 2^53 may differ in the last bit
 *     (V8's Math.pow is not correctly rounded there);
 *   - option values that are not strings are ignored (jsonata-js throws a
 *     TypeError).
 */
#ifndef SY_ASL_JSONATA_FMT_H
#define SY_ASL_JSONATA_FMT_H

#include "asl/jsonata.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

int jn_format_number(double v, const char *picture, const json_t *options, char **out, sy_jsonata_error_t *err);
int jn_format_integer(double v, const char *picture, char **out, sy_jsonata_error_t *err);
int jn_parse_integer(const char *s, const char *picture, double *out, bool *undefined, sy_jsonata_error_t *err);
int jn_format_base(double v, double radix /* NAN = 10 */, char **out, sy_jsonata_error_t *err);
int jn_from_millis(double ms, const char *picture /* NULL = ISO 8601 */, const char *timezone /* NULL */, char **out, sy_jsonata_error_t *err);
int jn_to_millis(const char *ts, const char *picture /* NULL = ISO 8601 */, double *out, bool *undefined, sy_jsonata_error_t *err);

/* Addition to the six above: $toMillis with the evaluation's fixed $now()
 * (sy_jsonata_opts_t.now_ms), which fills the components a picture leaves
 * out before the first one it gives (a time-only picture means today).
 * jn_to_millis is this with the clock. */
int jn_to_millis_at(const char *ts, const char *picture, int64_t now_ms, double *out, bool *undefined, sy_jsonata_error_t *err);

#endif
