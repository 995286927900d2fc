/* asl/jsonata/fmt_internal.h — what the fmt_*.c files share (string builder,
 * UTF-8/UTF-16 helpers, JS number text, error rendering, the integer picture
 * of XPath format-integer). Only the fmt_*.c files include it; the evaluator
 * uses fmt.h. */
#ifndef SY_ASL_JSONATA_FMT_INTERNAL_H
#define SY_ASL_JSONATA_FMT_INTERNAL_H

#include "asl/jsonata/fmt.h"

#include <stddef.h>
#include <stdint.h>

/* ---- growable byte string (fmt_util.c) ---- */
typedef struct {
    char *p;
    size_t n, cap;
} jn_sb_t;
void jn_sb_putn(jn_sb_t *sb, const char *s, size_t n);
void jn_sb_puts(jn_sb_t *sb, const char *s);
void jn_sb_putc(jn_sb_t *sb, char c);
void jn_sb_put_cp(jn_sb_t *sb, uint32_t cp); /* UTF-8; a surrogate becomes U+FFFD */
char *jn_sb_take(jn_sb_t *sb);              /* NUL-terminated, never NULL; resets sb */
void jn_sb_free(jn_sb_t *sb);

/* ---- Unicode ---- */
/* Decode UTF-8 into code points (bad bytes become U+FFFD); *out is
 * sy_malloc'ed (free it), the count is returned. */
size_t jn_utf8_cps(const char *s, size_t len, uint32_t **out);
/* Decode UTF-8 into UTF-16 code units, as a JS string holds it. */
size_t jn_utf8_u16(const char *s, size_t len, uint16_t **out);
/* UTF-16 units back to UTF-8 (a lone surrogate becomes U+FFFD). */
void jn_sb_put_u16(jn_sb_t *sb, const uint16_t *u, size_t n);
bool jn_is_js_space(uint32_t cp); /* JS RegExp \s */

/* ---- JS numbers ---- */
/* Number.prototype.toString() (radix 10): shortest round trip, JS layout. */
void jn_js_number(double v, char out[40]);
/* JSONata's $round(x, precision): decimal shift in the string form,
 * round half to even, -0 becomes 0. */
double jn_js_round(double x, int precision);
/* Math.round: nearest integer, ties toward +infinity. */
double jn_js_math_round(double x);
/* parseInt(s, 10) over UTF-16 units: NaN when no digits. */
double jn_js_parse_int_u16(const uint16_t *u, size_t n);
double jn_js_parse_int(const char *s);

/* ---- errors ---- */
/* Fill *err with code, value (stolen; may be NULL) and the message rendered
 * from error-messages.json's template for the code; returns -1. */
int jn_fmt_fail(sy_jsonata_error_t *err, const char *code, json_t *value);
/* A JSON number value as JSONata shows it in a message. */
json_t *jn_num_value(double v);

/* ---- integer pictures (fmt_integer.c), XPath format-integer ---- */
typedef enum { JN_INT_DECIMAL, JN_INT_LETTERS, JN_INT_ROMAN, JN_INT_WORDS, JN_INT_SEQUENCE } jn_int_kind_t;
typedef enum { JN_CASE_LOWER, JN_CASE_UPPER, JN_CASE_TITLE } jn_case_t;
typedef struct {
    int position; /* digits to its right */
    uint32_t ch;
} jn_gsep_t;
typedef struct {
    jn_int_kind_t primary;
    jn_case_t tcase;
    bool ordinal;
    uint32_t zero;     /* decimal: first code point of the digit family */
    int mandatory;     /* decimal: mandatory digits; -1 when not decimal */
    int optional;      /* decimal: '#' count */
    bool regular;      /* grouping repeats every reg_pos digits with reg_ch */
    int reg_pos;
    uint32_t reg_ch;
    jn_gsep_t *seps;   /* irregular separators, rightmost first */
    size_t nseps;
    int parse_width;   /* date parsing: exact digit count, 0 = any */
    char *token;       /* sequence: the primary format (UTF-8) */
} jn_intpic_t;

/* analyseIntegerPicture; -1 with D3131 for mixed digit families. */
int jn_intpic_analyse(const char *pic, size_t len, jn_intpic_t *f, sy_jsonata_error_t *err);
void jn_intpic_free(jn_intpic_t *f);
/* _formatInteger of an integral value; D3130 for a sequence. */
int jn_intpic_format(double value, const jn_intpic_t *f, jn_sb_t *out, sy_jsonata_error_t *err);
/* The inverse: the value of text already matched (parseInteger's parse). */
double jn_intpic_value(const char *s, size_t len, const jn_intpic_t *f);
/* The words of 'w' pictures, in jsonata-js's key order, NULL-terminated. */
extern const char *const jn_word_keys[];

/* ---- date/time pictures (fmt_datetime.c), XPath format-dateTime ---- */
/* Date.UTC(y, mon0, d, h, mi, s, ms) with JavaScript's rules (two-digit
 * years are 19xx, fields truncated, overflow carried, NaN when invalid). */
double jn_date_utc(double y, double mon0, double d, double h, double mi, double s, double ms);
/* A component of the UTC time value t (Y M D d F W w X x H h m s f; P is
 * 0 for am, 1 for pm); NaN for an invalid time. */
double jn_date_fragment(double t, uint32_t component);

typedef struct {
    bool literal;
    char *text;          /* literal text (UTF-8) */
    uint32_t component;  /* 0 when the marker is empty */
    char *pres1;         /* first presentation modifier (UTF-8) */
    char pres2;          /* 'a' 't' 'c' 'o' or 0 */
    bool has_width;
    bool has_min, has_max; /* width parts given (not '*') */
    double wmin, wmax;   /* parseInt of them, maybe NaN */
    jn_case_t names;
    bool has_names;
    bool has_int;
    jn_intpic_t intf;
    double n;            /* Y: digits kept, -1 = all */
} jn_dtpart_t;

typedef struct {
    jn_dtpart_t *p;
    size_t n;
} jn_dtpic_t;

int jn_dtpic_analyse(const char *pic, jn_dtpic_t *out, sy_jsonata_error_t *err);
void jn_dtpic_free(jn_dtpic_t *d);
extern const char *const jn_month_names[12];
/* $toMillis's ISO 8601 reading (fmt_iso.c): false when the text fails
 * jsonata-js's pattern (D3110), else *out (NaN when Date.parse says so). */
bool jn_iso_to_millis(const char *s, double *out);
extern const char *const jn_day_names[8]; /* [1] Monday .. [7] Sunday */

#endif
