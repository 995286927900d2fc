/* pattern/num.c - number keys (Ruler's exact round-trip rule and the
 * order-preserving binary64 transform) and IP address parsing for cidr. */
#include <arpa/inet.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pattern/internal.h"

typedef struct {
    bool neg;
    char d[24]; /* significant digits, no leading/trailing zeros */
    int nd;     /* > 17 means "too many" */
    long exp;   /* value = 0.d * 10^exp */
} dec_t;

/* Normalise a decimal lexeme; false when malformed. */
static bool dec_norm(const char *s, size_t n, dec_t *out)
{
    size_t i = 0;
    long dexp = 0, e = 0;
    bool seen_nz = false;
    memset(out, 0, sizeof(*out));
    if (i < n && (s[i] == '-' || s[i] == '+')) out->neg = s[i++] == '-';
    int total = 0, trailing_zeros = 0;
    bool frac = false;
    for (; i < n; i++) {
        char c = s[i];
        if (c == '.') {
            if (frac) return false;
            frac = true;
            continue;
        }
        if (c < '0' || c > '9') break;
        if (!seen_nz && c == '0') {
            if (frac) dexp--;
            continue;
        }
        seen_nz = true;
        if (!frac) dexp++;
        if (c == '0') {
            trailing_zeros++;
            continue;
        }
        /* flush pending zeros */
        while (trailing_zeros > 0) {
            if (total < 20) out->d[total] = '0';
            total++;
            trailing_zeros--;
        }
        if (total < 20) out->d[total] = c;
        total++;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        bool eneg = false;
        if (i < n && (s[i] == '+' || s[i] == '-')) eneg = s[i++] == '-';
        if (i >= n) return false;
        for (; i < n && s[i] >= '0' && s[i] <= '9'; i++)
            if (e < 100000) e = e * 10 + (s[i] - '0');
        if (eneg) e = -e;
    }
    if (i != n) return false;
    out->nd = total > 20 ? 20 : total;
    if (total > 17) out->nd = 99;
    out->exp = total ? dexp + e : 0;
    if (out->nd <= 20) out->d[out->nd < 20 ? out->nd : 19] = 0;
    return true;
}

uint64_t pat_double_key(double d)
{
    uint64_t bits;
    if (d == 0) d = 0; /* -0 == 0 */
    memcpy(&bits, &d, 8);
    if (bits >> 63) return ~bits;
    return bits | (1ull << 63);
}

bool pat_num_key(const char *lex, size_t n, uint64_t *key)
{
    dec_t a, b;
    char buf[64];
    if (!dec_norm(lex, n, &a)) return false;
    if (a.nd == 0) {
        *key = pat_double_key(0.0);
        return true;
    }
    if (a.nd > 17 || a.exp > 400 || a.exp < -400) return false;
    snprintf(buf, sizeof(buf), "%s0.%se%ld", a.neg ? "-" : "", a.d, a.exp);
    double d = strtod(buf, NULL);
    if (!isfinite(d) || d == 0) return false;
    if (a.nd > 15 || fabs(d) < DBL_MIN) {
        /* Ruler: BigDecimal.valueOf(d) (shortest repr) must equal the lexeme */
        int p;
        for (p = 0; p < 17; p++) {
            snprintf(buf, sizeof(buf), "%.*e", p, d);
            if (strtod(buf, NULL) == d) break;
        }
        if (!dec_norm(buf, strlen(buf), &b)) return false;
        if (b.nd != a.nd || b.exp != a.exp || memcmp(a.d, b.d, (size_t)a.nd) != 0) return false;
    }
    *key = pat_double_key(d);
    return true;
}

int pat_ip_parse(const char *s, size_t n, uint8_t out[16])
{
    char buf[64];
    if (n == 0 || n >= sizeof(buf)) return 0;
    memcpy(buf, s, n);
    buf[n] = 0;
    if (memchr(buf, ':', n)) return inet_pton(AF_INET6, buf, out) == 1 ? 16 : 0;
    return inet_pton(AF_INET, buf, out) == 1 ? 4 : 0;
}
