/* core/pending.c - TEMPORARY weak fallbacks for pieces landing from other
 * branches (migrate, sigv4, metrics, embedded pg). Deleted at merge. */
#include "core/core.h"
#include <string.h>
__attribute__((weak)) sy_creds_t *sy_creds_load(const char *p, sy_err_t *e) { (void)p; sy_err_set(e, -1, 500, "x", "sigv4 not built"); return NULL; }
__attribute__((weak)) void sy_creds_destroy(sy_creds_t **p) { (void)p; }
__attribute__((weak)) int sy_sigv4_verify(const sy_creds_t *c, const sy_sigv4_req_t *r, const char **a, sy_err_t *e) { (void)c; (void)r; (void)a; return sy_err_set(e, -1, 403, "x", "sigv4 not built"); }
__attribute__((weak)) int sy_sigv4_parse_scope(const char *a, char *k, size_t kn, char *r, size_t rn, char *s, size_t sn) { (void)a; (void)k; (void)kn; (void)r; (void)rn; (void)s; (void)sn; return -1; }
__attribute__((weak)) void sy_metric_inc(const char *n, const char *l, double v) { (void)n; (void)l; (void)v; }
__attribute__((weak)) void sy_metric_set(const char *n, const char *l, double v) { (void)n; (void)l; (void)v; }
__attribute__((weak)) void sy_metric_observe(const char *n, const char *l, double v) { (void)n; (void)l; (void)v; }
__attribute__((weak)) void sy_metrics_render(sy_buf_t *b) { sy_buf_puts(b, "# metrics not built\n"); }
