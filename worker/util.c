/* worker/util.c - small helpers of worker/ (allocation, logging, clocks
 * and ids are core's: sy_malloc & co, sy_log, sy_now_ms, sy_uuid4). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "worker/internal.h"

/* core's monotonic clock in milliseconds */
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
