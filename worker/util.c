/* worker/util.c - small helpers of worker/: allocation, clocks and ids
 * (core's, aborting on failure), and JSON log lines in core's format and
 * level (sy_log_level) that take their extra fields as a NULL-terminated
 * list. */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "worker/internal.h"

void *wk_malloc(size_t n)
{
    return sy_malloc(n ? n : 1);
}

void *wk_calloc(size_t n, size_t m)
{
    return sy_calloc(n ? n : 1, m ? m : 1);
}

void *wk_realloc(void *p, size_t n)
{
    return sy_realloc(p, n ? n : 1);
}

char *wk_strndup(const char *s, size_t n)
{
    return sy_strndup(s, n);
}

char *wk_strdup(const char *s)
{
    return sy_strdup(s);
}

char *wk_strdup_printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *p = NULL;
    if (vasprintf(&p, fmt, ap) < 0) sy_panic("out of memory");
    va_end(ap);
    return p;
}

/* clocks and ids: core's (core/ids.c) */
int64_t wk_now_ms(void)
{
    return sy_now_ms();
}

int64_t wk_mono_us(void)
{
    return sy_mono_us();
}

int64_t wk_mono_ms(void)
{
    return sy_mono_us() / 1000;
}

uint32_t wk_rand32(void)
{
    uint32_t v;
    sy_random_bytes(&v, sizeof v);
    return v;
}

void wk_uuid4(char out[37])
{
    sy_uuid4(out);
}

void wk_json_escape(const char *s, size_t len, char *out, size_t n)
{
    size_t o = 0;
    for (size_t i = 0; i < len && o + 7 < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            out[o++] = '\\';
            out[o++] = (char)c;
        } else if (c == '\n') {
            out[o++] = '\\';
            out[o++] = 'n';
        } else if (c < 0x20) {
            o += (size_t)snprintf(out + o, n - o, "\\u%04x", c);
        } else {
            out[o++] = (char)c;
        }
    }
    out[o] = 0;
}

static const char *level_name(int level)
{
    static const char *names[] = {"debug", "info", "warn", "error"};
    return level >= 0 && level <= 3 ? names[level] : "info";
}

static void log_v(int level, const char *component, const char *request_id, const char *msg,
                  va_list ap)
{
    char line[4096], esc[1024];
    size_t o = 0;
    char ts[32];
    struct timespec now;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
    wk_json_escape(msg, strlen(msg), esc, sizeof esc);
    o += (size_t)snprintf(line + o, sizeof line - o,
                          "{\"ts\":\"%s.%03ldZ\",\"level\":\"%s\",\"component\":\"%s\",\"msg\":\"%s\"",
                          ts, now.tv_nsec / 1000000, level_name(level), component, esc);
    if (request_id && *request_id && o < sizeof line) {
        wk_json_escape(request_id, strlen(request_id), esc, sizeof esc);
        o += (size_t)snprintf(line + o, sizeof line - o, ",\"request_id\":\"%s\"", esc);
    }
    for (;;) {
        const char *k = va_arg(ap, const char *);
        if (!k) break;
        const char *v = va_arg(ap, const char *);
        if (!v) v = "";
        char kesc[128];
        wk_json_escape(k, strlen(k), kesc, sizeof kesc);
        wk_json_escape(v, strlen(v), esc, sizeof esc);
        if (o < sizeof line)
            o += (size_t)snprintf(line + o, sizeof line - o, ",\"%s\":\"%s\"", kesc, esc);
    }
    if (o > sizeof line - 3) o = sizeof line - 3;
    line[o++] = '}';
    line[o++] = '\n';
    (void)!write(STDERR_FILENO, line, o); /* one write: lines never interleave */
}

void wk_log(int level, const char *component, const char *request_id, const char *msg, ...)
{
    if (level < sy_log_level) return;
    va_list ap;
    va_start(ap, msg);
    log_v(level, component, request_id, msg, ap);
    va_end(ap);
}

static void log_plain(int level, const char *component, const char *request_id, const char *msg,
                      ...)
{
    va_list ap;
    va_start(ap, msg);
    log_v(level, component, request_id, msg, ap);
    va_end(ap);
}

void wk_logf(int level, const char *component, const char *request_id, const char *fmt, ...)
{
    if (level < sy_log_level) return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    log_plain(level, component, request_id, msg, (const char *)NULL);
}

bool wk_endpoint_is_loopback(const char *ep)
{
    if (strncmp(ep, "ipc://", 6) == 0 || strncmp(ep, "inproc://", 9) == 0) return true;
    if (strncmp(ep, "tcp://", 6) != 0) return false;
    const char *h = ep + 6;
    if (strncmp(h, "127.", 4) == 0) return true;
    if (strncmp(h, "localhost:", 10) == 0) return true;
    if (strncmp(h, "[::1]:", 6) == 0) return true;
    return false;
}

bool wk_xray_from_traceparent(const char *tp, char *out, size_t n)
{
    if (!tp || strlen(tp) != 55 || tp[2] != '-' || tp[35] != '-' || tp[52] != '-') return false;
    int flags = (int)strtol(tp + 53, NULL, 16);
    snprintf(out, n, "Root=1-%.8s-%.24s;Parent=%.16s;Sampled=%d", tp + 3, tp + 11, tp + 36,
             flags & 1);
    return true;
}
