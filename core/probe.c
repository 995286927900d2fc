/* core/probe.c - what Kubernetes' probes ask a broker, and the client side
 * of `switchyard probe ready|live` (an exec probe: the image needs no curl).
 *
 *   GET /health/ready  200 when the database answers, every migration of the
 *                      schema directory is applied and the broker is not
 *                      draining; else 503 with the reason.
 *   GET /health/live   200 when every registered main loop turned within its
 *                      staleness bound; else 503 naming the stale loop.
 *
 * Loop heartbeats are process-wide, by design (as the metrics registry is):
 * a loop registers once and stores the monotonic time at every turn, one
 * relaxed atomic store, from threads that have no context in hand (the
 * worker pool). The draining flag is process-wide for the same reason. */
#include "core/core.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_LOOPS 32

typedef struct {
    char name[48];
    int64_t stale_ms;
    _Atomic int64_t last_ms; /* monotonic; 0: stopped (not checked) */
} loop_t;

static loop_t loops[MAX_LOOPS];
static _Atomic int nloops;
static pthread_mutex_t reg_mu = PTHREAD_MUTEX_INITIALIZER;
static _Atomic int draining;

static int64_t mono_ms(void)
{
    return sy_mono_us() / 1000;
}

int sy_beat_register(const char *loop, int64_t stale_ms)
{
    pthread_mutex_lock(&reg_mu);
    int n = atomic_load(&nloops), h = -1;
    for (int i = 0; i < n && h < 0; i++)
        if (strcmp(loops[i].name, loop) == 0 && atomic_load(&loops[i].last_ms) == 0) h = i; /* restarted */
    if (h < 0 && n < MAX_LOOPS) {
        h = n;
        snprintf(loops[h].name, sizeof loops[h].name, "%s", loop);
        atomic_store(&nloops, n + 1);
    }
    if (h >= 0) {
        loops[h].stale_ms = stale_ms > 0 ? stale_ms : 30000;
        atomic_store(&loops[h].last_ms, mono_ms());
    }
    pthread_mutex_unlock(&reg_mu);
    return h;
}

void sy_beat(int h)
{
    if (h >= 0 && h < MAX_LOOPS) atomic_store_explicit(&loops[h].last_ms, mono_ms(), memory_order_relaxed);
}

void sy_beat_stop(int h)
{
    if (h >= 0 && h < MAX_LOOPS) atomic_store(&loops[h].last_ms, 0);
}

void sy_probe_set_draining(bool on)
{
    atomic_store(&draining, on ? 1 : 0);
}

bool sy_probe_draining(void)
{
    return atomic_load(&draining) != 0;
}

/* The oldest heartbeat relative to its bound; fills why when stale. */
static bool loops_fresh(char *why, size_t n)
{
    int64_t now = mono_ms();
    int k = atomic_load(&nloops);
    for (int i = 0; i < k; i++) {
        int64_t last = atomic_load(&loops[i].last_ms);
        if (last == 0) continue;
        char labels[96];
        snprintf(labels, sizeof labels, "loop=\"%s\"", loops[i].name);
        sy_metric_set("switchyard_loop_heartbeat_age_seconds", labels, (double)(now - last) / 1000.0);
        if (now - last > loops[i].stale_ms) {
            snprintf(why, n, "loop %s made no progress for %lld ms", loops[i].name, (long long)(now - last));
            return false;
        }
    }
    return true;
}

void sy_probe_metrics(void)
{
    char why[160];
    (void)loops_fresh(why, sizeof why);
}

static void answer(sy_resp_t *resp, bool ok, const char *why)
{
    resp->status = ok ? 200 : 503;
    resp->content_type = "application/json";
    json_t *o = json_pack("{s:s}", "status", ok ? "ok" : why);
    char *s = sy_json_dumps(o);
    sy_buf_puts(&resp->body, s);
    free(s);
    json_decref(o);
}

void sy_probe_live(sy_resp_t *resp)
{
    char why[160] = "";
    answer(resp, loops_fresh(why, sizeof why), why);
}

void sy_probe_ready(sy_ctx_t *ctx, sy_resp_t *resp)
{
    if (sy_probe_draining() || ctx->stopping) return answer(resp, false, "draining");
    PGconn *c = ctx->pool ? sy_pg_acquire(ctx->pool) : NULL;
    if (!c) return answer(resp, false, "database unavailable");
    char why[200] = "";
    PGresult *r = PQexec(c, "SELECT 1");
    bool ok = PQresultStatus(r) == PGRES_TUPLES_OK;
    PQclear(r);
    if (!ok) snprintf(why, sizeof why, "database unavailable");
    if (ok) {
        sy_err_t err;
        int pending = sy_migrate_pending(c, ctx->cfg.schema_dir ? ctx->cfg.schema_dir : SY_SCHEMA_DIR, &err);
        if (pending != 0) {
            ok = false;
            if (pending < 0)
                snprintf(why, sizeof why, "could not check migrations: %.120s", err.message);
            else
                snprintf(why, sizeof why, "%d migration(s) not applied", pending);
        }
    }
    sy_pg_release(ctx->pool, c);
    answer(resp, ok, why);
}

/* ------------------------------------------------------ the probe client */
/* GET path on host:port (a wildcard listen address means loopback), at most
 * timeout_ms in all. Returns the HTTP status (<0: no answer) and the body's
 * "status" text in why. */
static int get(const char *host, int port, const char *path, int timeout_ms, char *why, size_t whyn)
{
    char portstr[16];
    snprintf(portstr, sizeof portstr, "%d", port);
    if (!*host || strcmp(host, "0.0.0.0") == 0 || strcmp(host, "*") == 0) host = "127.0.0.1";
    if (strcmp(host, "::") == 0 || strcmp(host, "[::]") == 0) host = "::1";
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res = NULL;
    if (getaddrinfo(host, portstr, &hints, &res) != 0) {
        snprintf(why, whyn, "cannot resolve %.100s", host);
        return -1;
    }
    int fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int64_t deadline = mono_ms() + timeout_ms;
    int status = -1;
    if (fd < 0 || (connect(fd, res->ai_addr, res->ai_addrlen) < 0 && errno != EINPROGRESS)) {
        snprintf(why, whyn, "cannot connect to %.100s:%d: %s", host, port, strerror(errno));
        goto done;
    }
    struct pollfd p = {fd, POLLOUT, 0};
    if (poll(&p, 1, timeout_ms) != 1) {
        snprintf(why, whyn, "no connection to %.100s:%d within %d ms", host, port, timeout_ms);
        goto done;
    }
    int soerr = 0;
    socklen_t sl = sizeof soerr;
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
    if (soerr) {
        snprintf(why, whyn, "cannot connect to %.100s:%d: %s", host, port, strerror(soerr));
        goto done;
    }
    char req[256];
    int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: %s:%d\r\nConnection: close\r\n\r\n", path, host, port);
    if (send(fd, req, (size_t)n, MSG_NOSIGNAL) != n) {
        snprintf(why, whyn, "cannot send to %.100s:%d", host, port);
        goto done;
    }
    char buf[4096];
    size_t got = 0;
    for (;;) {
        int left = (int)(deadline - mono_ms());
        p = (struct pollfd){fd, POLLIN, 0};
        if (left <= 0 || poll(&p, 1, left) != 1) {
            snprintf(why, whyn, "no answer from %.100s:%d within %d ms", host, port, timeout_ms);
            goto done;
        }
        ssize_t r = recv(fd, buf + got, sizeof buf - 1 - got, 0);
        if (r < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        if (r <= 0) break;
        got += (size_t)r;
        if (got == sizeof buf - 1) break;
    }
    buf[got] = 0;
    if (sscanf(buf, "HTTP/1.%*d %d", &status) != 1) {
        snprintf(why, whyn, "not an HTTP answer from %.100s:%d", host, port);
        status = -1;
        goto done;
    }
    const char *body = strstr(buf, "\r\n\r\n");
    json_t *o = body ? json_loads(body + 4, 0, NULL) : NULL;
    const char *st = o ? json_string_value(json_object_get(o, "status")) : NULL;
    snprintf(why, whyn, "%s", st ? st : "no status in the answer");
    json_decref(o);
done:
    if (fd >= 0) close(fd);
    freeaddrinfo(res);
    return status;
}

int sy_probe_main(int argc, char **argv)
{
    const char *what = argc > 1 ? argv[1] : "";
    if (strcmp(what, "ready") != 0 && strcmp(what, "live") != 0) {
        fprintf(stderr, "usage: switchyard probe ready|live [serve options]\n");
        return 2;
    }
    sy_config_t cfg;
    int rc = sy_config_load(&cfg, argc - 2, argv + 2); /* argv: probe ready|live [options] */
    if (rc != 0) return rc < 0 ? 2 : 0;
    char host[256] = "";
    int port = 0;
    const char *colon = strrchr(cfg.listen, ':');
    if (colon) {
        snprintf(host, sizeof host, "%.*s", (int)(colon - cfg.listen), cfg.listen);
        port = atoi(colon + 1);
    }
    char why[512] = "";
    int status = port > 0 ? get(host, port, strcmp(what, "ready") == 0 ? "/health/ready" : "/health/live",
                                cfg.probe_timeout_ms, why, sizeof why)
                          : -1;
    if (port <= 0) snprintf(why, sizeof why, "no port in --listen %.100s", cfg.listen);
    sy_config_free(&cfg);
    if (status == 200) {
        fprintf(stderr, "%s: ok\n", what);
        return 0;
    }
    if (status > 0)
        fprintf(stderr, "%s: not ok (HTTP %d): %s\n", what, status, why);
    else
        fprintf(stderr, "%s: not ok: %s\n", what, why);
    return 1;
}
