/* core/zz_prelude_tmp.c - TEMPORARY stand-ins for core utilities that the
 * lead is landing on main (util.c). Only what sigv4.c/metrics.c use, so this
 * branch builds and tests on its own. Delete this file when main is merged. */
#include "core/core.h"

#include <stdlib.h>
#include <string.h>

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
char *sy_strndup(const char *s, size_t n)
{
    char *d = sy_malloc(n + 1);
    memcpy(d, s, n);
    d[n] = 0;
    return d;
}
char *sy_strdup(const char *s)
{
    return sy_strndup(s, strlen(s));
}
int sy_err_set(sy_err_t *err, int rc, int status, const char *code, const char *fmt, ...)
{
    if (!err) return rc;
    memset(err, 0, sizeof *err);
    err->status = status;
    snprintf(err->code, sizeof err->code, "%s", code);
    snprintf(err->query_code, sizeof err->query_code, "%s", code);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    err->receiver = status >= 500;
    return rc;
}
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
    if (n >= 0) {
        sy_buf_reserve(b, (size_t)n);
        vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap2);
        b->len += (size_t)n;
    }
    va_end(ap2);
}
