/* core/ids.c - clocks, random ids, hashes, base64, timestamps */
#include "core/core.h"

#include <stdbool.h>
#include <stdio.h>
#include <openssl/evp.h>
#include <errno.h>
#include <sys/random.h>
#include <string.h>
#include <time.h>

/* The broker's clock (issue 14). Before it has spoken to PostgreSQL it is
 * the wall clock; from then on it is the database's clock read at an
 * anchor and carried forward by CLOCK_MONOTONIC, re-anchored once a minute
 * (core/pg.c). So every broker of a cluster tells the same time, and a
 * broker whose own wall clock jumps (NTP step, an operator, a VM resumed)
 * neither fires a timer early or twice nor holds one back: schedules, SQS
 * delays, Wait states and leases are all judged against this clock or
 * against the database's now(). A test clock file (--test-clock-file)
 * adds its milliseconds to the wall clock to make it jump in tests. */
static _Atomic int64_t anchor_offset_us; /* database epoch us minus monotonic us */
static _Atomic bool anchored;
static const char *test_clock_file;
static _Atomic int64_t test_offset_us, test_read_mono_us;

void sy_clock_test_file(const char *path)
{
    test_clock_file = path;
}

static int64_t raw_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t sy_wall_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t us = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
    if (test_clock_file) {
        int64_t m = raw_mono_us();
        if (m - test_read_mono_us > 50000) { /* re-read at most every 50 ms */
            FILE *f = fopen(test_clock_file, "r");
            long long ms = 0;
            if (f) {
                if (fscanf(f, "%lld", &ms) != 1) ms = 0;
                fclose(f);
            }
            test_offset_us = (int64_t)ms * 1000;
            test_read_mono_us = m;
        }
        us += test_offset_us;
    }
    return us;
}

void sy_clock_anchor(int64_t epoch_us, int64_t mono_us)
{
    anchor_offset_us = epoch_us - mono_us;
    anchored = true;
}

int64_t sy_now_us(void)
{
    if (!anchored) return sy_wall_us();
    return raw_mono_us() + anchor_offset_us;
}
int64_t sy_now_ms(void)
{
    return sy_now_us() / 1000;
}
int64_t sy_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* The kernel's CSPRNG (getrandom(2)), not OpenSSL's: the first RAND_bytes
 * initialises all of OpenSSL (its configuration file, providers, DRBGs),
 * which a broker's start paid for its first UUID (MiBs of RSS, some ms). */
void sy_random_bytes(void *p, size_t n)
{
    unsigned char *b = p;
    while (n > 0) {
        ssize_t got = getrandom(b, n, 0);
        if (got < 0) {
            if (errno == EINTR) continue;
            sy_panic("getrandom failed");
        }
        b += got;
        n -= (size_t)got;
    }
}

void sy_hex(const unsigned char *in, size_t n, char *out)
{
    static const char d[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = d[in[i] >> 4];
        out[2 * i + 1] = d[in[i] & 15];
    }
    out[2 * n] = 0;
}

void sy_uuid4(char out[37])
{
    unsigned char r[16];
    sy_random_bytes(r, sizeof r);
    r[6] = (r[6] & 0x0f) | 0x40;
    r[8] = (r[8] & 0x3f) | 0x80;
    char h[33];
    sy_hex(r, 16, h);
    snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", h, h + 8, h + 12, h + 16, h + 20);
}

static void digest(const EVP_MD *md, const void *p, size_t n, unsigned char *out)
{
    unsigned int len = 0;
    if (EVP_Digest(p, n, out, &len, md, NULL) != 1) sy_panic("EVP_Digest failed");
}
void sy_md5_hex(const void *p, size_t n, char out[33])
{
    unsigned char d[16];
    digest(EVP_md5(), p, n, d);
    sy_hex(d, 16, out);
}
void sy_sha256(const void *p, size_t n, unsigned char out[32])
{
    digest(EVP_sha256(), p, n, out);
}
void sy_sha256_hex(const void *p, size_t n, char out[65])
{
    unsigned char d[32];
    sy_sha256(p, n, d);
    sy_hex(d, 32, out);
}

char *sy_base64_encode(const void *p, size_t n)
{
    char *out = sy_malloc(4 * ((n + 2) / 3) + 1);
    EVP_EncodeBlock((unsigned char *)out, p, (int)n);
    return out;
}

static int b64val(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

int sy_base64_decode(const char *s, size_t slen, unsigned char **out, size_t *outlen)
{
    *out = NULL;
    *outlen = 0;
    if (slen % 4 != 0) return -1;
    unsigned char *d = sy_malloc(slen / 4 * 3 + 1);
    size_t o = 0;
    for (size_t i = 0; i < slen; i += 4) {
        int v[4];
        int pad = 0;
        for (int k = 0; k < 4; k++) {
            unsigned char c = (unsigned char)s[i + k];
            if (c == '=' && i + 4 == slen && k >= 2) {
                v[k] = 0;
                pad++;
            } else if (pad) {
                goto bad;
            } else if ((v[k] = b64val(c)) < 0) {
                goto bad;
            }
        }
        unsigned int w = ((unsigned)v[0] << 18) | ((unsigned)v[1] << 12) | ((unsigned)v[2] << 6) | (unsigned)v[3];
        d[o++] = (unsigned char)(w >> 16);
        if (pad < 2) d[o++] = (unsigned char)(w >> 8);
        if (pad < 1) d[o++] = (unsigned char)w;
    }
    d[o] = 0;
    *out = d;
    *outlen = o;
    return 0;
bad:
    free(d);
    return -1;
}

void sy_iso8601_ms(int64_t epoch_ms, char out[32])
{
    time_t s = (time_t)(epoch_ms / 1000);
    struct tm tm;
    gmtime_r(&s, &tm);
    char base[24];
    strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, 32, "%s.%03dZ", base, (int)(epoch_ms % 1000));
}
