/* asl/jsonata/fmt_datetime.c — $fromMillis: XPath F&O 3.1 format-dateTime
 * pictures as jsonata-js reads them ([Y0001], [MNn,3-3], [D1o], [FNn],
 * [W]/[w]/[X]/[x] ISO weeks, [h]/[P], [f001], [Z01:01t]/[z], [C]/[E], [[ and
 * ]] escapes, width modifiers), the time zone given as "+hhmm", and the
 * JavaScript Date arithmetic both $fromMillis and $toMillis rest on. */
#include "asl/jsonata/fmt_internal.h"
#include "core/core.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MS_DAY 86400000.0

const char *const jn_month_names[12] = {"January", "February", "March",     "April",   "May",      "June",
                                        "July",    "August",   "September", "October", "November", "December"};
const char *const jn_day_names[8] = {"", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"};

/* ------------------------------------------------------------ calendar */

static double days_from_civil(double y, int m, int d) /* m 1..12 */
{
    y -= m <= 2;
    double era = floor(y / 400);
    double yoe = y - era * 400;
    int mp = (m + 9) % 12;
    double doy = floor((153 * mp + 2) / 5) + d - 1;
    double doe = yoe * 365 + floor(yoe / 4) - floor(yoe / 100) + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(double z, double *y, int *m, int *d)
{
    z += 719468;
    double era = floor(z / 146097);
    double doe = z - era * 146097;
    double yoe = floor((doe - floor(doe / 1460) + floor(doe / 36524) - floor(doe / 146096)) / 365);
    double doy = doe - (365 * yoe + floor(yoe / 4) - floor(yoe / 100));
    double mp = floor((5 * doy + 2) / 153);
    *d = (int)(doy - floor((153 * mp + 2) / 5) + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

static double tint(double v)
{
    return isfinite(v) ? trunc(v) : v;
}

double jn_date_utc(double y, double mon0, double d, double h, double mi, double s, double ms)
{
    if (isnan(y)) return NAN;
    double yi = tint(y);
    if (yi >= 0 && yi <= 99) y = 1900 + yi;
    if (!isfinite(y) || !isfinite(mon0) || !isfinite(d) || !isfinite(h) || !isfinite(mi) || !isfinite(s) ||
        !isfinite(ms))
        return NAN;
    double yy = trunc(y), mm = trunc(mon0), dd = trunc(d);
    double ym = yy + floor(mm / 12);
    double mn = fmod(mm, 12);
    if (mn < 0) mn += 12;
    if (fabs(ym) > 400000) return NAN;
    double day = days_from_civil(ym, (int)mn + 1, 1) + dd - 1;
    double t = day * MS_DAY + (trunc(h) * 3600000.0 + trunc(mi) * 60000.0 + trunc(s) * 1000.0 + trunc(ms));
    if (!(fabs(t) <= 8.64e15)) return NAN;
    return trunc(t) + 0.0;
}

typedef struct {
    double year;
    int month, day, wday, hour, min, sec, ms; /* month 0..11, wday 0 = Sunday */
    double days;
} ymd_t;

static bool split_time(double t, ymd_t *o)
{
    if (!isfinite(t)) return false;
    o->days = floor(t / MS_DAY);
    double rest = t - o->days * MS_DAY;
    civil_from_days(o->days, &o->year, &o->month, &o->day);
    o->month--;
    o->wday = (int)fmod(fmod(o->days + 4, 7) + 7, 7);
    o->hour = (int)(rest / 3600000.0);
    o->min = (int)fmod(floor(rest / 60000.0), 60);
    o->sec = (int)fmod(floor(rest / 1000.0), 60);
    o->ms = (int)fmod(rest, 1000);
    return true;
}

/* ISO 8601: the first week contains the first Thursday (of a year or, as
 * F&O extends it, of a month); weeks start on Monday. */
static double start_of_first_week(double year, double month0)
{
    double jan1 = jn_date_utc(year, month0, 1, 0, 0, 0, 0);
    ymd_t o;
    if (!split_time(jan1, &o)) return NAN;
    int dow = o.wday == 0 ? 7 : o.wday;
    return dow > 4 ? jan1 + (8 - dow) * MS_DAY : jan1 - (dow - 1) * MS_DAY;
}

static double delta_weeks(double start, double end)
{
    return (end - start) / (MS_DAY * 7) + 1;
}

double jn_date_fragment(double t, uint32_t c)
{
    ymd_t o;
    if (!split_time(t, &o)) return NAN;
    switch (c) {
    case 'Y': return o.year;
    case 'M': return o.month + 1;
    case 'D': return o.day;
    case 'd': return (jn_date_utc(o.year, o.month, o.day, 0, 0, 0, 0) - jn_date_utc(o.year, 0, 1, 0, 0, 0, 0)) / MS_DAY + 1;
    case 'F': return o.wday == 0 ? 7 : o.wday;
    case 'W': {
        double s1 = start_of_first_week(o.year, 0);
        double today = jn_date_utc(o.year, o.month, o.day, 0, 0, 0, 0);
        double week = delta_weeks(s1, today);
        if (week > 52) {
            if (today >= start_of_first_week(o.year + 1, 0)) week = 1;
        } else if (week < 1) {
            week = delta_weeks(start_of_first_week(o.year - 1, 0), today);
        }
        return floor(week);
    }
    case 'w': {
        double s1 = start_of_first_week(o.year, o.month);
        double today = jn_date_utc(o.year, o.month, o.day, 0, 0, 0, 0);
        double week = delta_weeks(s1, today);
        if (week > 4) {
            double ny = o.month == 11 ? o.year + 1 : o.year, nm = o.month == 11 ? 0 : o.month + 1;
            if (today >= start_of_first_week(ny, nm)) week = 1;
        } else if (week < 1) {
            double py = o.month == 0 ? o.year - 1 : o.year, pm = o.month == 0 ? 11 : o.month - 1;
            week = delta_weeks(start_of_first_week(py, pm), today);
        }
        return floor(week);
    }
    case 'X': {
        double start = start_of_first_week(o.year, 0), end = start_of_first_week(o.year + 1, 0);
        return t < start ? o.year - 1 : t >= end ? o.year + 1 : o.year;
    }
    case 'x': {
        double start = start_of_first_week(o.year, o.month);
        double ny = o.month == 11 ? o.year + 1 : o.year, nm = o.month == 11 ? 0 : o.month + 1;
        double end = start_of_first_week(ny, nm);
        if (t < start) return (o.month == 0 ? 11 : o.month - 1) + 1;
        if (t >= end) return nm + 1;
        return o.month + 1;
    }
    case 'H': return o.hour;
    case 'h': return o.hour % 12 == 0 ? 12 : o.hour % 12;
    case 'P': return o.hour >= 12 ? 1 : 0;
    case 'm': return o.min;
    case 's': return o.sec;
    case 'f': return o.ms;
    default: return NAN;
    }
}

/* ------------------------------------------------------------ analyse */

static const char *default_pres(uint32_t c)
{
    switch (c) {
    case 'Y': case 'M': case 'D': case 'd': case 'W': case 'w': case 'X': case 'x': case 'H': case 'h': case 'f':
        return "1";
    case 'F': case 'P': case 'C': case 'E':
        return "n";
    case 'm': case 's':
        return "01";
    case 'Z': case 'z':
        return "01:01";
    default:
        return NULL;
    }
}

static void cps_to_sb(jn_sb_t *sb, const uint32_t *c, long a, long b)
{
    for (long i = a; i < b; i++) jn_sb_put_cp(sb, c[i]);
}

static void add_literal(jn_dtpic_t *d, const uint32_t *c, long start, long end)
{
    if (end <= start) return;
    jn_sb_t sb = {0};
    for (long i = start; i < end; i++) {
        jn_sb_put_cp(&sb, c[i]);
        if (c[i] == ']' && i + 1 < end && c[i + 1] == ']') i++;
    }
    jn_dtpart_t *p = &d->p[d->n++];
    memset(p, 0, sizeof *p);
    p->literal = true;
    p->text = jn_sb_take(&sb);
}

static double width_value(const uint32_t *c, long a, long b, bool *given)
{
    *given = !(b - a == 1 && c[a] == '*');
    if (!*given) return NAN;
    jn_sb_t sb = {0};
    cps_to_sb(&sb, c, a, b);
    char *s = jn_sb_take(&sb);
    double v = jn_js_parse_int(s);
    free(s);
    if (v > 100000) v = 100000; /* keeps a silly width from allocating gigabytes */
    return v;
}

static bool is_int_component(uint32_t c)
{
    return c && strchr("YMDdFWwXxHhmsf", (int)c) && c < 128;
}

int jn_dtpic_analyse(const char *pic, jn_dtpic_t *d, sy_jsonata_error_t *err)
{
    uint32_t *c;
    long n = (long)jn_utf8_cps(pic, strlen(pic), &c);
    d->p = sy_calloc((size_t)n + 2, sizeof *d->p);
    d->n = 0;
    long start = 0, pos = 0;
    while (pos < n) {
        if (c[pos] != '[') {
            pos++;
            continue;
        }
        if (pos + 1 < n && c[pos + 1] == '[') {
            add_literal(d, c, start, pos);
            add_literal(d, (const uint32_t[]){'['}, 0, 1);
            pos += 2;
            start = pos;
            continue;
        }
        add_literal(d, c, start, pos);
        start = pos;
        long close = -1;
        for (long i = start; i < n; i++)
            if (c[i] == ']') {
                close = i;
                break;
            }
        if (close == -1) {
            free(c);
            jn_dtpic_free(d);
            return jn_fmt_fail(err, "D3135", NULL);
        }
        pos = close;
        /* the marker without white space */
        uint32_t *m = sy_malloc((size_t)(close - start + 1) * sizeof *m);
        long ml = 0;
        for (long i = start + 1; i < close; i++)
            if (!jn_is_js_space(c[i])) m[ml++] = c[i];
        jn_dtpart_t *p = &d->p[d->n];
        memset(p, 0, sizeof *p);
        p->component = ml ? m[0] : 0;
        p->n = -1;
        long comma = -1;
        for (long i = ml - 1; i >= 0; i--)
            if (m[i] == ',') {
                comma = i;
                break;
            }
        long pa = 1, pb = ml; /* presentation modifier m[pa..pb) */
        if (comma != -1) {
            long dash = -1;
            for (long i = comma + 1; i < ml; i++)
                if (m[i] == '-') {
                    dash = i;
                    break;
                }
            p->has_width = true;
            p->wmin = width_value(m, comma + 1, dash == -1 ? ml : dash, &p->has_min);
            if (dash != -1) p->wmax = width_value(m, dash + 1, ml, &p->has_max);
            pa = 1, pb = comma;
            if (pb < pa) pa = pb, pb = 1; /* substring(1, 0) */
        }
        if (pb < pa) pb = pa;
        jn_sb_t sb = {0};
        long plen16 = 0;
        for (long i = pa; i < pb; i++) plen16 += m[i] >= 0x10000 ? 2 : 1;
        if (plen16 > 1 && m[pb - 1] < 128 && strchr("atco", (int)m[pb - 1])) {
            p->pres2 = (char)m[pb - 1];
            cps_to_sb(&sb, m, pa, pb - 1);
            p->pres1 = jn_sb_take(&sb);
        } else if (plen16 >= 1) {
            cps_to_sb(&sb, m, pa, pb);
            p->pres1 = jn_sb_take(&sb);
        } else {
            const char *dp = default_pres(p->component);
            p->pres1 = dp ? sy_strdup(dp) : NULL;
        }
        free(m);
        d->n++;
        if (!p->pres1) {
            jn_sb_t v = {0};
            if (p->component) jn_sb_put_cp(&v, p->component);
            char *cs = jn_sb_take(&v);
            free(c);
            jn_dtpic_free(d);
            int rc = jn_fmt_fail(err, "D3132", json_string(cs));
            free(cs);
            return rc;
        }
        if (p->pres1[0] == 'n') {
            p->has_names = true, p->names = JN_CASE_LOWER;
        } else if (p->pres1[0] == 'N') {
            p->has_names = true, p->names = p->pres1[1] == 'n' ? JN_CASE_TITLE : JN_CASE_UPPER;
        } else if (is_int_component(p->component)) {
            jn_sb_t ip = {0};
            jn_sb_puts(&ip, p->pres1);
            if (p->pres2) {
                jn_sb_putc(&ip, ';');
                jn_sb_putc(&ip, p->pres2);
            }
            char *ips = jn_sb_take(&ip);
            int rc = jn_intpic_analyse(ips, strlen(ips), &p->intf, err);
            free(ips);
            if (rc) {
                free(c);
                jn_dtpic_free(d);
                return -1;
            }
            p->has_int = true;
            if (p->has_min && p->intf.mandatory != -1 && p->intf.mandatory < p->wmin) p->intf.mandatory = (int)p->wmin;
            if (p->component == 'Y') {
                p->n = -1;
                if (p->has_max) {
                    p->n = p->wmax;
                    if (!isnan(p->wmax)) p->intf.mandatory = (int)p->wmax;
                } else if (p->intf.mandatory != -1 && p->intf.mandatory + p->intf.optional >= 2) {
                    p->n = p->intf.mandatory + p->intf.optional;
                }
            }
            /* an integer right after another one: the earlier one parses a fixed width */
            if (d->n >= 2 && d->p[d->n - 2].has_int) d->p[d->n - 2].intf.parse_width = d->p[d->n - 2].intf.mandatory;
        }
        if (p->component == 'Z' || p->component == 'z') {
            if (p->has_int) jn_intpic_free(&p->intf);
            if (jn_intpic_analyse(p->pres1, strlen(p->pres1), &p->intf, err)) {
                p->has_int = false;
                free(c);
                jn_dtpic_free(d);
                return -1;
            }
            p->has_int = true;
        }
        start = pos + 1;
        pos++;
    }
    add_literal(d, c, start, pos);
    free(c);
    return 0;
}

void jn_dtpic_free(jn_dtpic_t *d)
{
    for (size_t i = 0; i < d->n; i++) {
        free(d->p[i].text);
        free(d->p[i].pres1);
        if (d->p[i].has_int) jn_intpic_free(&d->p[i].intf);
    }
    free(d->p);
    d->p = NULL;
    d->n = 0;
}

/* ------------------------------------------------------------ format */

static void put_case(jn_sb_t *out, const char *s, jn_case_t c, bool has_max, double max)
{
    size_t n = strlen(s);
    if (has_max && (double)n > max) n = max > 0 ? (size_t)max : 0;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (c == JN_CASE_UPPER && ch >= 'a' && ch <= 'z') ch = (char)(ch - 32);
        if (c == JN_CASE_LOWER && ch >= 'A' && ch <= 'Z') ch = (char)(ch + 32);
        jn_sb_putc(out, ch);
    }
}

static int format_component(double t, const jn_dtpart_t *p, double oh, double om, jn_sb_t *out,
                            sy_jsonata_error_t *err)
{
    uint32_t c = p->component;
    double v = jn_date_fragment(t, c);
    if (c < 128 && c && strchr("YMDdFWwXxHhms", (int)c)) {
        if (c == 'Y' && p->n != -1) v = fmod(v, pow(10, p->n));
        if (p->has_names) {
            const char *name = "undefined";
            if (c == 'M' || c == 'x') {
                if (v >= 1 && v <= 12) name = jn_month_names[(int)v - 1];
            } else if (c == 'F') {
                if (v >= 1 && v <= 7) name = jn_day_names[(int)v];
            } else {
                jn_sb_t cs = {0};
                jn_sb_put_cp(&cs, c);
                char *s = jn_sb_take(&cs);
                int rc = jn_fmt_fail(err, "D3133", json_string(s));
                free(s);
                return rc;
            }
            put_case(out, name, p->names, p->has_max && !isnan(p->wmax), p->wmax);
            return 0;
        }
        return jn_intpic_format(v, &p->intf, out, err);
    }
    if (c == 'f') return jn_intpic_format(v, &p->intf, out, err);
    if (c == 'Z' || c == 'z') {
        double offset = oh * 100 + om;
        jn_sb_t s = {0};
        if (p->intf.regular) {
            if (jn_intpic_format(offset, &p->intf, &s, err)) return -1;
        } else {
            int digits = p->intf.mandatory;
            if (digits == 1 || digits == 2) {
                if (jn_intpic_format(oh, &p->intf, &s, err)) return -1;
                if (om != 0) {
                    char *mm = NULL;
                    jn_sb_putc(&s, ':');
                    if (jn_format_integer(om, "00", &mm, err)) {
                        jn_sb_free(&s);
                        return -1;
                    }
                    jn_sb_puts(&s, mm);
                    free(mm);
                }
            } else if (digits == 3 || digits == 4) {
                if (jn_intpic_format(offset, &p->intf, &s, err)) return -1;
            } else {
                jn_sb_free(&s);
                return jn_fmt_fail(err, "D3134", digits == -1 ? NULL : json_integer(digits));
            }
        }
        if (offset == 0 && p->pres2 == 't') {
            jn_sb_putc(out, 'Z');
        } else {
            if (c == 'z') jn_sb_puts(out, "GMT");
            if (offset >= 0) jn_sb_putc(out, '+');
            if (s.n) jn_sb_putn(out, s.p, s.n);
        }
        jn_sb_free(&s);
        return 0;
    }
    if (c == 'P') {
        put_case(out, v == 1 ? "pm" : "am", p->names == JN_CASE_UPPER ? JN_CASE_UPPER : (jn_case_t)-1,
                 false, 0);
        return 0;
    }
    jn_sb_puts(out, c == 'C' || c == 'E' ? "ISO" : "undefined");
    return 0;
}

int jn_from_millis(double ms, const char *picture, const char *tz, char **out, sy_jsonata_error_t *err)
{
    double oh = 0, om = 0;
    if (tz) {
        double off = jn_js_parse_int(tz);
        oh = floor(off / 100);
        om = fmod(off, 100);
    }
    jn_dtpic_t d;
    if (jn_dtpic_analyse(picture ? picture : "[Y0001]-[M01]-[D01]T[H01]:[m01]:[s01].[f001][Z01:01t]", &d, err))
        return -1;
    double t = ms + (60 * oh + om) * 60000;
    t = fabs(t) <= 8.64e15 ? trunc(t) + 0.0 : NAN;
    jn_sb_t sb = {0};
    for (size_t i = 0; i < d.n; i++) {
        if (d.p[i].literal) {
            jn_sb_puts(&sb, d.p[i].text);
        } else if (format_component(t, &d.p[i], oh, om, &sb, err)) {
            jn_sb_free(&sb);
            jn_dtpic_free(&d);
            return -1;
        }
    }
    jn_dtpic_free(&d);
    *out = jn_sb_take(&sb);
    return 0;
}
