/* bus/eb_schedule.c - schedule expressions: rate() and AWS's 6-field
 * cron() (validation and the next tick); the ticker that fires them is
 * eb_ticker.c. */
#include "bus/internal.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ------------------------------------------------------------ rate() */
static int64_t rate_ms(const char *e)
{
    if (strncmp(e, "rate(", 5) != 0) return -1;
    const char *p = e + 5;
    char *end;
    if (!isdigit((unsigned char)*p)) return -1; /* strtol would take " 5" and "+5" */
    long n = strtol(p, &end, 10);
    if (end == p || n <= 0 || *end != ' ') return -1;
    p = end + 1;
    static const struct {
        const char *one, *many;
        int64_t ms;
    } u[] = {{"minute", "minutes", 60000}, {"hour", "hours", 3600000}, {"day", "days", 86400000}};
    for (size_t i = 0; i < 3; i++) {
        const char *w = n == 1 ? u[i].one : u[i].many;
        size_t l = strlen(w);
        /* periods over 2^53 ms (~285,000 years) are refused: the product
         * would overflow, and the test clock's scaling goes through a double */
        if (!strncmp(p, w, l) && p[l] == ')' && p[l + 1] == 0)
            return n <= (1LL << 53) / u[i].ms ? n * u[i].ms : -1;
    }
    return -1;
}

/* ------------------------------------------------------------ cron() */
typedef struct {
    uint64_t min, hour, dom, mon, year_bits[4]; /* years 1970..2225 */
    uint8_t dow;         /* bit d: Sunday=0 */
    bool dom_any, dow_any;
    bool dom_last;       /* L */
    int dom_last_off;    /* L-n */
    int dom_w;           /* nW (0: none) */
    bool dom_lw;         /* LW */
    int dow_last;        /* nL: last <day n> of month (1..7), 0: none */
    int dow_nth_day, dow_nth; /* d#n */
} cron_t;

/* NULL-terminated: atom() walks them until the end */
static const char *MON[] = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC", NULL};
static const char *DOW[] = {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT", NULL};

static int atom(const char *s, size_t n, const char **names, int base, int *out)
{
    if (n == 3 && names) {
        for (int i = 0; names[i]; i++)
            if (!strncasecmp(s, names[i], 3)) {
                *out = i + base;
                return 0;
            }
        return -1;
    }
    if (n == 0 || n > 4) return -1;
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i])) return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

/* A list of a, a-b, a/s, a-b/s, "*" and "*" with a step into bits (value - lo). */
static int field_bits(const char *f, int lo, int hi, const char **names, int nbase, uint64_t *bits, int nwords)
{
    memset(bits, 0, sizeof(uint64_t) * (size_t)nwords);
    const char *p = f;
    while (*p) {
        size_t n = strcspn(p, ",");
        char part[32];
        if (n == 0 || n >= sizeof part) return -1;
        memcpy(part, p, n);
        part[n] = 0;
        int a = lo, b = hi, step = 1;
        char *slash = strchr(part, '/');
        if (slash) {
            *slash = 0;
            if (atom(slash + 1, strlen(slash + 1), NULL, 0, &step) < 0 || step < 1) return -1;
        }
        if (!strcmp(part, "*")) {
        } else {
            char *dash = strchr(part, '-');
            if (dash) {
                *dash = 0;
                if (atom(part, strlen(part), names, nbase, &a) < 0 ||
                    atom(dash + 1, strlen(dash + 1), names, nbase, &b) < 0)
                    return -1;
            } else {
                if (atom(part, strlen(part), names, nbase, &a) < 0) return -1;
                if (!slash) b = a;
            }
        }
        if (a < lo || b > hi || a > b) return -1;
        for (int v = a; v <= b; v += step) bits[(v - lo) / 64] |= 1ULL << ((v - lo) % 64);
        p += n;
        if (*p == ',') p++;
    }
    return 0;
}

static int cron_parse(const char *e, cron_t *c)
{
    memset(c, 0, sizeof *c);
    if (strncmp(e, "cron(", 5) != 0) return -1;
    size_t len = strlen(e);
    if (len < 7 || e[len - 1] != ')') return -1;
    char buf[256];
    if (len - 6 >= sizeof buf) return -1;
    memcpy(buf, e + 5, len - 6);
    buf[len - 6] = 0;
    char *f[6];
    int nf = 0;
    char *save = NULL;
    for (char *t = strtok_r(buf, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
        if (nf == 6) return -1;
        f[nf++] = t;
    }
    if (nf != 6) return -1;
    if (field_bits(f[0], 0, 59, NULL, 0, &c->min, 1) < 0) return -1;
    if (field_bits(f[1], 0, 23, NULL, 0, &c->hour, 1) < 0) return -1;
    if (field_bits(f[3], 1, 12, MON, 1, &c->mon, 1) < 0) return -1;
    if (field_bits(f[5], 1970, 2199, NULL, 0, c->year_bits, 4) < 0) return -1;
    c->dom_any = !strcmp(f[2], "?");
    c->dow_any = !strcmp(f[4], "?");
    if (c->dom_any == c->dow_any) return -1; /* exactly one of them must be '?' */
    if (!c->dom_any) {
        const char *d = f[2];
        if (!strcmp(d, "L")) c->dom_last = true;
        else if (!strncmp(d, "L-", 2)) {
            c->dom_last = true;
            if (atom(d + 2, strlen(d + 2), NULL, 0, &c->dom_last_off) < 0 || c->dom_last_off > 30) return -1;
        } else if (!strcmp(d, "LW")) c->dom_lw = true;
        else if (strlen(d) >= 2 && d[strlen(d) - 1] == 'W') {
            if (atom(d, strlen(d) - 1, NULL, 0, &c->dom_w) < 0 || c->dom_w < 1 || c->dom_w > 31) return -1;
        } else if (field_bits(d, 1, 31, NULL, 0, &c->dom, 1) < 0) return -1;
    }
    if (!c->dow_any) {
        const char *d = f[4];
        const char *hash = strchr(d, '#');
        size_t l = strlen(d);
        int v;
        if (hash) {
            if (atom(d, (size_t)(hash - d), DOW, 1, &v) < 0 || v < 1 || v > 7) return -1;
            if (atom(hash + 1, strlen(hash + 1), NULL, 0, &c->dow_nth) < 0 || c->dow_nth < 1 || c->dow_nth > 5)
                return -1;
            c->dow_nth_day = v;
        } else if (l >= 2 && d[l - 1] == 'L') {
            if (atom(d, l - 1, DOW, 1, &v) < 0 || v < 1 || v > 7) return -1;
            c->dow_last = v;
        } else if (!strcmp(d, "L")) {
            c->dow_last = 7; /* L alone in day-of-week: Saturday */
        } else {
            uint64_t bits;
            if (field_bits(d, 1, 7, DOW, 1, &bits, 1) < 0) return -1;
            c->dow = (uint8_t)bits; /* bit 0 = 1 = SUN */
        }
    }
    return 0;
}

static int days_in_month(int y, int m) /* m 1..12 */
{
    static const int d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) return 29;
    return d[m - 1];
}

static int weekday(int y, int m, int d) /* 0 = Sunday */
{
    struct tm t = {.tm_year = y - 1900, .tm_mon = m - 1, .tm_mday = d, .tm_hour = 12};
    time_t s = timegm(&t);
    struct tm o;
    gmtime_r(&s, &o);
    return o.tm_wday;
}

static int nearest_weekday(int y, int m, int d)
{
    int n = days_in_month(y, m);
    if (d > n) d = n;
    int w = weekday(y, m, d);
    if (w == 6) return d == 1 ? 3 : d - 1;       /* Saturday: Friday, or Monday the 3rd */
    if (w == 0) return d == n ? d - 2 : d + 1;   /* Sunday: Monday, or Friday */
    return d;
}

static bool day_ok(const cron_t *c, int y, int m, int d)
{
    if (!(c->mon >> (m - 1) & 1)) return false;
    if (y < 1970 || y > 2199 || !(c->year_bits[(y - 1970) / 64] >> ((y - 1970) % 64) & 1)) return false;
    int n = days_in_month(y, m);
    if (!c->dom_any) {
        if (c->dom_last) return d == n - c->dom_last_off;
        if (c->dom_lw) return d == nearest_weekday(y, m, n);
        if (c->dom_w) return d == nearest_weekday(y, m, c->dom_w);
        return c->dom >> (d - 1) & 1;
    }
    int w = weekday(y, m, d);
    if (c->dow_last) return w == c->dow_last - 1 && d + 7 > n;
    if (c->dow_nth) return w == c->dow_nth_day - 1 && (d - 1) / 7 + 1 == c->dow_nth;
    return c->dow >> w & 1;
}

static int64_t cron_next(const cron_t *c, int64_t from_ms)
{
    time_t s = (time_t)(from_ms / 1000) / 60 * 60 + 60; /* the next whole minute */
    struct tm t;
    gmtime_r(&s, &t);
    for (int days = 0; days < 366 * 8; days++) {
        int y = t.tm_year + 1900, m = t.tm_mon + 1, d = t.tm_mday;
        if (day_ok(c, y, m, d)) {
            for (int h = t.tm_hour; h < 24; h++) {
                if (!(c->hour >> h & 1)) continue;
                for (int mi = h == t.tm_hour ? t.tm_min : 0; mi < 60; mi++)
                    if (c->min >> mi & 1) {
                        struct tm o = {.tm_year = t.tm_year, .tm_mon = t.tm_mon, .tm_mday = d, .tm_hour = h, .tm_min = mi};
                        return (int64_t)timegm(&o) * 1000;
                    }
            }
        }
        struct tm nx = {.tm_year = t.tm_year, .tm_mon = t.tm_mon, .tm_mday = t.tm_mday + 1};
        time_t ns = timegm(&nx);
        gmtime_r(&ns, &t);
    }
    return -1;
}

int eb_schedule_parse(const char *expr, sy_err_t *err)
{
    cron_t c;
    if (rate_ms(expr) > 0) return 0;
    if (cron_parse(expr, &c) == 0) return 0;
    return sy_err_set(err, SY_E_INVALID, 400, "ValidationException", "Parameter ScheduleExpression is not valid.");
}

int64_t eb_schedule_next(const char *expr, int64_t from_ms, double scale)
{
    int64_t r = rate_ms(expr);
    if (r > 0) return from_ms + (int64_t)((double)r / (scale > 0 ? scale : 1.0));
    cron_t c;
    if (cron_parse(expr, &c) < 0) return -1;
    return cron_next(&c, from_ms);
}
