/* core/util.c - allocation, errors, logging, buffers */
#include "core/core.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int sy_log_level = SY_LOG_INFO;
static const char *level_names[] = {"debug", "info", "warn", "error"};

int sy_log_level_parse(const char *s)
{
    for (int i = 0; i < 4; i++)
        if (s && strcmp(s, level_names[i]) == 0) return i;
    return -1;
}

static void json_escape_to(sy_buf_t *b, const char *s)
{
    json_t *j = json_string(s ? s : "");
    if (!j) j = json_string("(invalid utf-8)");
    char *d = json_dumps(j, JSON_ENCODE_ANY);
    sy_buf_puts(b, d);
    free(d);
    json_decref(j);
}

void sy_log_write(int level, const char *component, const char *request_id, const char *msg, ...)
{
    if (level < 0 || level > 3) level = SY_LOG_ERROR;
    char ts[32];
    sy_iso8601_ms(sy_now_ms(), ts);
    sy_buf_t b;
    sy_buf_init(&b);
    sy_buf_printf(&b, "{\"ts\":\"%s\",\"level\":\"%s\",\"component\":", ts, level_names[level]);
    json_escape_to(&b, component);
    sy_buf_puts(&b, ",\"msg\":");
    json_escape_to(&b, msg);
    if (request_id) {
        sy_buf_puts(&b, ",\"request_id\":");
        json_escape_to(&b, request_id);
    }
    va_list ap;
    va_start(ap, msg);
    for (;;) {
        const char *k = va_arg(ap, const char *);
        if (!k) break;
        const char *v = va_arg(ap, const char *);
        sy_buf_putc(&b, ',');
        json_escape_to(&b, k);
        sy_buf_putc(&b, ':');
        json_escape_to(&b, v);
    }
    va_end(ap);
    sy_buf_puts(&b, "}\n");
    fwrite(b.data, 1, b.len, stderr);
    sy_buf_free(&b);
}

_Noreturn void sy_panic(const char *what)
{
    fprintf(stderr, "{\"level\":\"error\",\"component\":\"core\",\"msg\":\"fatal: %s\"}\n", what);
    abort();
}

void *sy_malloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) sy_panic("out of memory");
    return p;
}
void *sy_calloc(size_t n, size_t m)
{
    void *p = calloc(n ? n : 1, m ? m : 1);
    if (!p) sy_panic("out of memory");
    return p;
}
void *sy_realloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q) sy_panic("out of memory");
    return q;
}
char *sy_strdup(const char *s)
{
    return sy_strndup(s, strlen(s));
}
char *sy_strndup(const char *s, size_t n)
{
    char *d = sy_malloc(n + 1);
    memcpy(d, s, n);
    d[n] = 0;
    return d;
}
char *sy_asprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    if (vasprintf(&s, fmt, ap) < 0) sy_panic("out of memory");
    va_end(ap);
    return s;
}

/* ------------------------------------------------------------- errors */
static int err_vset(sy_err_t *err, int rc, int status, const char *code, const char *qcode,
                    const char *fmt, va_list ap)
{
    if (!err) return rc;
    memset(err, 0, sizeof *err);
    err->status = status;
    snprintf(err->code, sizeof err->code, "%s", code);
    snprintf(err->query_code, sizeof err->query_code, "%s", qcode ? qcode : code);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    err->receiver = status >= 500;
    return rc;
}
int sy_err_set(sy_err_t *err, int rc, int status, const char *code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    err_vset(err, rc, status, code, NULL, fmt, ap);
    va_end(ap);
    return rc;
}
int sy_err_set2(sy_err_t *err, int rc, int status, const char *code, const char *query_code,
                const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    err_vset(err, rc, status, code, query_code, fmt, ap);
    va_end(ap);
    return rc;
}
void sy_err_clear(sy_err_t *err)
{
    if (err) memset(err, 0, sizeof *err);
}

/* ------------------------------------------------------------- buffers */
void sy_buf_init(sy_buf_t *b)
{
    b->data = NULL;
    b->len = b->cap = 0;
}
void sy_buf_free(sy_buf_t *b)
{
    free(b->data);
    sy_buf_init(b);
}
void sy_buf_reset(sy_buf_t *b)
{
    b->len = 0;
    if (b->data) b->data[0] = 0;
}
void sy_buf_reserve(sy_buf_t *b, size_t extra)
{
    if (b->len + extra + 1 <= b->cap) return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra + 1) cap *= 2;
    b->data = sy_realloc(b->data, cap);
    b->cap = cap;
}
void sy_buf_append(sy_buf_t *b, const void *p, size_t n)
{
    sy_buf_reserve(b, n);
    if (n) memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = 0;
}
void sy_buf_puts(sy_buf_t *b, const char *s)
{
    sy_buf_append(b, s, strlen(s));
}
void sy_buf_putc(sy_buf_t *b, char c)
{
    sy_buf_append(b, &c, 1);
}
void sy_buf_printf(sy_buf_t *b, const char *fmt, ...)
{
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        va_end(ap2);
        return;
    }
    sy_buf_reserve(b, (size_t)n);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap2);
    va_end(ap2);
    b->len += (size_t)n;
}
void sy_buf_xml_escape(sy_buf_t *b, const char *s, size_t n)
{
    sy_buf_reserve(b, n);
    size_t start = 0;
    for (size_t i = 0; i < n; i++) {
        const char *rep = NULL;
        switch (s[i]) {
        case '&': rep = "&amp;"; break;
        case '<': rep = "&lt;"; break;
        case '>': rep = "&gt;"; break;
        case '"': rep = "&quot;"; break;
        case '\'': rep = "&apos;"; break;
        case '\r': rep = "&#xD;"; break;
        default: break;
        }
        if (rep) {
            sy_buf_append(b, s + start, i - start);
            sy_buf_puts(b, rep);
            start = i + 1;
        }
    }
    sy_buf_append(b, s + start, n - start);
}
/* A JSON string as jansson's json_dumps writes it (no JSON_ENSURE_ASCII,
 * no JSON_ESCAPE_SLASH): '"', '\\' and control characters escaped, the
 * rest copied; `s` is valid UTF-8 (tests/unit/test_receive_json.c compares the
 * two byte for byte). */
void sy_buf_json_str(sy_buf_t *b, const char *s, size_t n)
{
    sy_buf_reserve(b, n + 2);
    sy_buf_putc(b, '"');
    size_t start = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\') continue;
        sy_buf_append(b, s + start, i - start);
        start = i + 1;
        char seq[8];
        const char *rep = seq;
        switch (c) {
        case '"': rep = "\\\""; break;
        case '\\': rep = "\\\\"; break;
        case '\b': rep = "\\b"; break;
        case '\f': rep = "\\f"; break;
        case '\n': rep = "\\n"; break;
        case '\r': rep = "\\r"; break;
        case '\t': rep = "\\t"; break;
        default: snprintf(seq, sizeof seq, "\\u%04X", c); break;
        }
        sy_buf_puts(b, rep);
    }
    sy_buf_append(b, s + start, n - start);
    sy_buf_putc(b, '"');
}

char *sy_buf_take(sy_buf_t *b)
{
    if (!b->data) return sy_strdup("");
    char *d = b->data;
    sy_buf_init(b);
    return d;
}

char *sy_path_find(const char *program)
{
    const char *path = getenv("PATH");
    if (!path) return NULL;
    char *dup = sy_strdup(path), *save = NULL, *found = NULL;
    for (char *d = strtok_r(dup, ":", &save); d && !found; d = strtok_r(NULL, ":", &save)) {
        char *probe = sy_asprintf("%s/%s", d, program);
        if (access(probe, X_OK) == 0) found = sy_strdup(d);
        free(probe);
    }
    free(dup);
    return found;
}

void sy_ctx_set_wired(sy_ctx_t *ctx)
{
    __atomic_store_n(&ctx->wired, 1, __ATOMIC_RELEASE);
}

void sy_ctx_wait_wired(const sy_ctx_t *ctx)
{
    while (!__atomic_load_n(&ctx->wired, __ATOMIC_ACQUIRE) && !ctx->stopping) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
}
