/* asl/jsonata/fmt_iso.c — $toMillis without a picture: jsonata-js tests the
 * text against
 *   ^\d{4}(-[01]\d)?(-[0-3]\d)?(T[0-2]\d:[0-5]\d:[0-5]\d)?(\.\d+)?([+-][0-2]\d:?[0-5]\d|Z)?$
 * (D3110 when it fails) and hands it to Date.parse. What Date.parse makes of
 * that language is V8's: the ES date-time format first (date-only forms are
 * UTC, "+hhmm" accepted, 24:00 allowed, any number of fraction digits), and
 * when that stops early, V8's legacy date parser on the rest (so
 * "1493-12-26Z" is a UTC date, "7332-08.9" the 9th of August, "2018-13" and
 * "2018-01-01+05:00" NaN). A time without offset is local time there; here
 * it is UTC, the zone Step Functions runs in. */
#include "asl/jsonata/fmt_internal.h"

#include <math.h>
#include <string.h>

static bool dg(char c)
{
    return c >= '0' && c <= '9';
}

static bool rx_zone(const char *s)
{
    if (*s == '\0') return true;
    if (s[0] == 'Z') return s[1] == '\0';
    if ((s[0] == '+' || s[0] == '-') && s[1] >= '0' && s[1] <= '2' && dg(s[2])) {
        const char *p = s + 3;
        if (*p == ':' && p[1] >= '0' && p[1] <= '5' && dg(p[2]) && p[3] == '\0') return true;
        if (p[0] >= '0' && p[0] <= '5' && dg(p[1]) && p[2] == '\0') return true;
    }
    return false;
}

static bool rx_frac(const char *s)
{
    if (*s == '.' && dg(s[1])) {
        const char *p = s + 1;
        while (dg(*p)) p++;
        if (rx_zone(p)) return true;
    }
    return rx_zone(s);
}

static bool rx_time(const char *s)
{
    if (s[0] == 'T' && s[1] >= '0' && s[1] <= '2' && dg(s[2]) && s[3] == ':' && s[4] >= '0' && s[4] <= '5' &&
        dg(s[5]) && s[6] == ':' && s[7] >= '0' && s[7] <= '5' && dg(s[8]) && rx_frac(s + 9))
        return true;
    return rx_frac(s);
}

static bool rx_day(const char *s)
{
    if (s[0] == '-' && s[1] >= '0' && s[1] <= '3' && dg(s[2]) && rx_time(s + 3)) return true;
    return rx_time(s);
}

static bool iso_regex(const char *s)
{
    if (!dg(s[0]) || !dg(s[1]) || !dg(s[2]) || !dg(s[3])) return false;
    s += 4;
    if (s[0] == '-' && s[1] >= '0' && s[1] <= '1' && dg(s[2]) && rx_day(s + 3)) return true;
    return rx_day(s);
}

/* ------------------------------------------------------------ V8 */

enum { T_END, T_NUM, T_SYM, T_KW_T, T_KW_Z };
typedef struct {
    int type;
    int value;  /* number: first 9 significant digits; symbol: the char */
    int length; /* number: digits incl. leading zeros */
} tok_t;

typedef struct {
    const char *s;
    size_t i;
    tok_t next;
} scan_t;

static tok_t scan_one(scan_t *sc)
{
    tok_t t = {T_END, 0, 0};
    char c = sc->s[sc->i];
    if (!c) return t;
    if (dg(c)) {
        size_t st = sc->i;
        while (sc->s[sc->i] == '0') sc->i++;
        int n = 0, k = 0;
        while (dg(sc->s[sc->i])) {
            if (k < 9) n = n * 10 + (sc->s[sc->i] - '0');
            k++;
            sc->i++;
        }
        t.type = T_NUM, t.value = n, t.length = (int)(sc->i - st);
    } else if (c == 'T' || c == 'Z') {
        sc->i++;
        t.type = c == 'T' ? T_KW_T : T_KW_Z;
    } else {
        sc->i++;
        t.type = T_SYM, t.value = c;
    }
    return t;
}

static tok_t sc_next(scan_t *sc)
{
    tok_t t = sc->next;
    sc->next = scan_one(sc);
    return t;
}

static bool sc_skip(scan_t *sc, char c)
{
    if (sc->next.type == T_SYM && sc->next.value == c) {
        sc_next(sc);
        return true;
    }
    return false;
}

static bool fixed(const tok_t *t, int len)
{
    return t->type == T_NUM && t->length == len;
}

#define NONE (-2147483647)
typedef struct {
    int comp[3], n;
    bool iso;
} day_t;
typedef struct {
    int comp[4], n;
} time_t_;
typedef struct {
    int sign, hour, minute;
} tz_t;

static bool day_add(day_t *d, int v)
{
    if (d->n >= 3) return false;
    d->comp[d->n++] = v;
    return true;
}

static bool time_add(time_t_ *t, int v)
{
    if (t->n >= 4) return false;
    t->comp[t->n++] = v;
    return true;
}

static bool time_add_final(time_t_ *t, int v)
{
    if (!time_add(t, v)) return false;
    while (t->n < 4) t->comp[t->n++] = 0;
    return true;
}

static bool between(int v, int lo, int hi)
{
    return v >= lo && v <= hi;
}

static bool time_expecting(const time_t_ *t, int v)
{
    return (t->n == 1 && between(v, 0, 59)) || (t->n == 2 && between(v, 0, 59)) || (t->n == 3 && between(v, 0, 999));
}

static int read_ms(tok_t t)
{
    int n = t.value, len = t.length;
    if (len == 1) n *= 100;
    else if (len == 2) n *= 10;
    else if (len > 3) {
        if (len > 9) len = 9;
        int f = 1;
        do {
            f *= 10;
            len--;
        } while (len > 3);
        n /= f;
    }
    return n;
}

static void tz_set(tz_t *z, int hours)
{
    z->sign = hours < 0 ? -1 : 1;
    z->hour = hours < 0 ? -hours : hours;
    z->minute = 0;
}

/* ES date-time format; returns the first token it leaves to the legacy
 * parser (T_END when it parsed everything), or -1 for invalid. */
static int es5(scan_t *sc, day_t *d, time_t_ *t, tz_t *z, tok_t *left)
{
    if (!fixed(&sc->next, 4)) {
        *left = sc_next(sc);
        return 0;
    }
    day_add(d, sc_next(sc).value);
    if (sc_skip(sc, '-')) {
        if (!fixed(&sc->next, 2) || !between(sc->next.value, 1, 12)) {
            *left = sc_next(sc);
            return 0;
        }
        day_add(d, sc_next(sc).value);
        if (sc_skip(sc, '-')) {
            if (!fixed(&sc->next, 2) || !between(sc->next.value, 1, 31)) {
                *left = sc_next(sc);
                return 0;
            }
            day_add(d, sc_next(sc).value);
        }
    }
    if (sc->next.type != T_KW_T) {
        if (sc->next.type != T_END) {
            *left = sc_next(sc);
            return 0;
        }
    } else {
        sc_next(sc);
        if (!fixed(&sc->next, 2) || !between(sc->next.value, 0, 24)) return -1;
        bool h24 = sc->next.value == 24;
        time_add(t, sc_next(sc).value);
        if (!sc_skip(sc, ':')) return -1;
        if (!fixed(&sc->next, 2) || !between(sc->next.value, 0, 59) || (h24 && sc->next.value > 0)) return -1;
        time_add(t, sc_next(sc).value);
        if (sc_skip(sc, ':')) {
            if (!fixed(&sc->next, 2) || !between(sc->next.value, 0, 59) || (h24 && sc->next.value > 0)) return -1;
            time_add(t, sc_next(sc).value);
            if (sc_skip(sc, '.')) {
                if (sc->next.type != T_NUM || (h24 && sc->next.value > 0)) return -1;
                time_add(t, read_ms(sc_next(sc)));
            }
        }
        if (sc->next.type == T_KW_Z) {
            sc_next(sc);
            tz_set(z, 0);
        } else if (sc->next.type == T_SYM && (sc->next.value == '+' || sc->next.value == '-')) {
            z->sign = sc_next(sc).value == '+' ? 1 : -1;
            if (fixed(&sc->next, 4)) {
                int hm = sc_next(sc).value;
                if (!between(hm / 100, 0, 23) || !between(hm % 100, 0, 59)) return -1;
                z->hour = hm / 100, z->minute = hm % 100;
            } else {
                if (!fixed(&sc->next, 2) || !between(sc->next.value, 0, 23)) return -1;
                z->hour = sc_next(sc).value;
                if (!sc_skip(sc, ':')) return -1;
                if (!fixed(&sc->next, 2) || !between(sc->next.value, 0, 59)) return -1;
                z->minute = sc_next(sc).value;
            }
        }
        if (sc->next.type != T_END) return -1;
    }
    if (z->sign == NONE && t->n == 0) tz_set(z, 0);
    d->iso = true;
    left->type = T_END;
    return 0;
}

static double v8_parse(const char *s)
{
    scan_t sc = {s, 0, {0, 0, 0}};
    sc.next = scan_one(&sc);
    day_t d = {{0}, 0, false};
    time_t_ t = {{0}, 0};
    tz_t z = {NONE, NONE, NONE};
    tok_t tok;
    if (es5(&sc, &d, &t, &z, &tok) < 0) return NAN;
    bool has_num = d.n > 0;
    for (; tok.type != T_END; tok = sc_next(&sc)) {
        if (tok.type == T_NUM) {
            has_num = true;
            int n = tok.value;
            if (sc_skip(&sc, ':')) {
                if (sc_skip(&sc, ':')) {
                    if (t.n) return NAN;
                    time_add(&t, n);
                    time_add(&t, 0);
                } else {
                    if (!time_add(&t, n)) return NAN;
                    if (sc.next.type == T_SYM && sc.next.value == '.') sc_next(&sc);
                }
            } else if (sc_skip(&sc, '.') && time_expecting(&t, n)) {
                time_add(&t, n);
                if (sc.next.type != T_NUM) return NAN;
                time_add_final(&t, read_ms(sc_next(&sc)));
            } else if (z.hour != NONE && z.minute == NONE && between(n, 0, 59)) {
                z.minute = n;
            } else if (time_expecting(&t, n)) {
                time_add_final(&t, n);
                int p = sc.next.type;
                if (p != T_END && p != T_KW_Z && !(p == T_SYM && (sc.next.value == '+' || sc.next.value == '-')))
                    return NAN;
            } else {
                if (!day_add(&d, n)) return NAN;
                sc_skip(&sc, '-');
            }
        } else if (tok.type == T_KW_Z || tok.type == T_KW_T) {
            if (tok.type == T_KW_Z && has_num) tz_set(&z, 0);
            else if (tok.type == T_KW_T && has_num) return NAN; /* a garbage word after a number */
            else if (has_num) return NAN;
        } else if (tok.type == T_SYM && (tok.value == '+' || tok.value == '-') &&
                   ((z.sign != NONE && z.hour == 0 && z.minute == 0) || t.n)) {
            z.sign = tok.value == '+' ? 1 : -1;
            int n = 0, len = 0;
            if (sc.next.type == T_NUM) {
                tok_t nt = sc_next(&sc);
                len = nt.length, n = nt.value;
            }
            has_num = true;
            if (sc.next.type == T_SYM && sc.next.value == ':') {
                z.hour = n, z.minute = NONE;
            } else if (len == 1 || len == 2) {
                z.hour = n, z.minute = 0;
            } else if (len == 3 || len == 4) {
                z.hour = n / 100, z.minute = n % 100;
            } else {
                return NAN;
            }
        } else if (tok.type == T_SYM && (tok.value == '+' || tok.value == '-' || tok.value == ')') && has_num) {
            return NAN;
        }
    }
    /* DayComposer::Write */
    if (d.n < 1) return NAN;
    while (d.n < 3) d.comp[d.n++] = 1;
    int year, month, day;
    if (d.iso || !between(d.comp[0], 1, 31)) {
        year = d.comp[0], month = d.comp[1], day = d.comp[2];
    } else {
        month = d.comp[0], day = d.comp[1], year = d.comp[2];
    }
    if (!d.iso) {
        if (between(year, 0, 49)) year += 2000;
        else if (between(year, 50, 99)) year += 1900;
    }
    if (!between(month, 1, 12) || !between(day, 1, 31)) return NAN;
    /* TimeComposer::Write */
    while (t.n < 4) t.comp[t.n++] = 0;
    int h = t.comp[0], mi = t.comp[1], se = t.comp[2], ms = t.comp[3];
    if (!between(h, 0, 23) || !between(mi, 0, 59) || !between(se, 0, 59) || !between(ms, 0, 999))
        if (h != 24 || mi || se || ms) return NAN;
    /* TimeZoneComposer::Write; no offset = local time, taken as UTC */
    double off = 0;
    if (z.sign != NONE) {
        int zh = z.hour == NONE ? 0 : z.hour, zm = z.minute == NONE ? 0 : z.minute;
        off = z.sign * (zh * 3600.0 + zm * 60.0) * 1000;
    }
    /* MakeDay with the year as is (no two-digit-year rule here) */
    double t0 = jn_date_utc((double)year + 400, month - 1, day, h, mi, se, ms);
    if (isnan(t0)) return NAN;
    double r = t0 - 12622780800000.0 - off;
    return fabs(r) <= 8.64e15 ? r : NAN;
}

bool jn_iso_to_millis(const char *s, double *out)
{
    if (!iso_regex(s)) return false;
    *out = v8_parse(s);
    return true;
}
