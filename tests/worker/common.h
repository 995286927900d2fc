/* tests/worker/common.h - shared by the ZeroMQ worker test files: scratch
 * dir, test handler paths, a fast pool, worker specs. */
#ifndef SY_TEST_WORKER_COMMON_H
#define SY_TEST_WORKER_COMMON_H
/* tests/worker/test_worker_zmq.c - the broker pool and real worker processes
 * over real ZeroMQ sockets: sync invoke, errors, timeouts, credit, worker
 * death, broker restart, version mismatch, Curve allow-list, drain. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <limits.h>
#include <sys/stat.h>
#include <zmq.h>

#include "harness.h"
#include "proto/worker.pb-c.h"

static char g_dir[512];     /* scratch dir for logs and keys */
static char g_handler[512]; /* the test .so */
static char g_bootstrap[PATH_MAX + 64];

__attribute__((unused)) static const char *logfile(const char *name)
{
    static char path[8][600];
    static int k;
    char *p = path[k++ % 8];
    snprintf(p, 600, "%s/%s.log", g_dir, name);
    unlink(p);
    return p;
}

__attribute__((unused)) static sy_pool_t *pool_fast(const sy_lease_source_t *lease)
{
    sy_pool_opts_t o = {.heartbeat_ivl_ms = 100, .liveness = 3, .lease = lease};
    sy_err_t err;
    sy_pool_t *p = sy_pool_new("tcp://127.0.0.1:*", &o, &err);
    assert_non_null(p);
    assert_true(sy_pool_port(p) > 0);
    return p;
}

/* For tests that do not exercise liveness: on a loaded machine (CI runs
 * the fault suite beside these) a 300 ms stall of the pool thread makes the
 * worker reset its connection, and an invocation in flight is lost. */
__attribute__((unused)) static sy_pool_t *pool_steady(void)
{
    sy_pool_opts_t o = {.heartbeat_ivl_ms = 500, .liveness = 4};
    sy_err_t err;
    sy_pool_t *p = sy_pool_new("tcp://127.0.0.1:*", &o, &err);
    assert_non_null(p);
    assert_true(sy_pool_port(p) > 0);
    return p;
}

/* SIGKILL a worker and wait until the pool has dropped its session. */
__attribute__((unused)) static void kill_and_forget(sy_pool_t *p, pid_t w)
{
    h_kill(w);
    assert_true(h_wait_workers(p, 0, 10000));
}

__attribute__((unused)) static const char *so_spec(const char *sym, const char *opts)
{
    static char buf[8][700];
    static int k;
    char *b = buf[k++ % 8];
    snprintf(b, 700, "%s=so:%s:%s%s", sym, g_handler, sym, opts ? opts : "");
    return b;
}

__attribute__((unused)) static bool file_contains(const char *path, const char *needle)
{
    FILE *f = fopen(path, "r");
    if (!f) return false;
    static char buf[1 << 20];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = 0;
    fclose(f);
    return strstr(buf, needle) != NULL;
}


/* Fill the paths from the environment (call first in main). */
__attribute__((unused)) static void common_init(void)
{
    const char *build = h_env("SY_BUILD_DIR", ".");
    snprintf(g_dir, sizeof g_dir, "%s/test-worker", build);
    mkdir(g_dir, 0755);
    snprintf(g_handler, sizeof g_handler, "%s", h_env("SY_TEST_HANDLER", ""));
    char src[PATH_MAX];
    if (!realpath(h_env("SY_SOURCE_DIR", "."), src)) snprintf(src, sizeof src, ".");
    snprintf(g_bootstrap, sizeof g_bootstrap, "%s/tests/worker/runtime/bootstrap", src);
}
#endif
