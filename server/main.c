/* server/main.c - `switchyard serve|migrate|worker|config` */
#include "bus/bus.h"
#include "core/core.h"
#include "queue/queue.h"
#include "statemachine/statemachine.h"
#include "topic/topic.h"
#include "server/server.h"
#include "lambda/lambda.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Connect to the configured database, or start the embedded one. */
static char *database_conninfo(sy_config_t *cfg, bool *embedded)
{
    *embedded = false;
    if (cfg->database_url) return sy_strdup(cfg->database_url);
    char *conninfo = NULL;
    sy_err_t err;
    if (sy_pg_embed_start(cfg->data_dir, cfg->pg_bin, &conninfo, &err) < 0) {
        sy_log(SY_LOG_ERROR, "pg", NULL, "could not start embedded PostgreSQL", "error", err.message);
        return NULL;
    }
    *embedded = true;
    return conninfo;
}

static int migrate_on(PGconn *c, const char *schema_dir)
{
    sy_err_t err;
    if (!schema_dir) schema_dir = SY_SCHEMA_DIR;
    int n = sy_migrate(c, schema_dir, &err);
    if (n < 0) {
        sy_log(SY_LOG_ERROR, "migrate", NULL, "migration failed", "error", err.message);
        return -1;
    }
    char buf[16];
    snprintf(buf, sizeof buf, "%d", n);
    sy_log(SY_LOG_INFO, "migrate", NULL, "schema up to date", "applied", buf);
    return 0;
}

static int run_migrations(const char *conninfo, const char *schema_dir)
{
    PGconn *c = PQconnectdb(conninfo);
    if (PQstatus(c) != CONNECTION_OK) {
        sy_log(SY_LOG_ERROR, "migrate", NULL, "could not connect", "error", PQerrorMessage(c));
        PQfinish(c);
        return -1;
    }
    int rc = migrate_on(c, schema_dir);
    PQfinish(c);
    return rc;
}

/* serve: the pool's first connection runs the migrations and stays in the
 * pool (one connection made before the first request, not two). */
static int pool_migrate(sy_pg_pool_t *pool, const char *schema_dir)
{
    PGconn *c = sy_pg_acquire(pool);
    if (!c) {
        sy_log(SY_LOG_ERROR, "migrate", NULL, "could not connect");
        return -1;
    }
    int rc = migrate_on(c, schema_dir);
    sy_pg_release(pool, c);
    return rc;
}

static int cmd_migrate(int argc, char **argv)
{
    sy_config_t cfg;
    int rc = sy_config_load(&cfg, argc, argv);
    if (rc != 0) return rc < 0 ? 2 : 0;
    bool embedded;
    char *conninfo = database_conninfo(&cfg, &embedded);
    rc = conninfo && run_migrations(conninfo, cfg.schema_dir) == 0 ? 0 : 1;
    if (embedded) sy_pg_embed_stop(cfg.data_dir, cfg.pg_bin);
    free(conninfo);
    sy_config_free(&cfg);
    return rc;
}

/* The broker's CurveZMQ secret key: a bare Z85 line or czmq's
 * `secret-key = "..."`. Returns 0 and out (41 bytes), or -1. */
static int read_secret_key(const char *path, char out[41])
{
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    char line[512];
    int rc = -1;
    while (rc < 0 && fgets(line, sizeof line, f)) {
        char *p = strstr(line, "secret-key");
        if (p) {
            p = strchr(p, '"');
            if (!p) continue;
            p++;
        } else {
            p = line;
            while (*p == ' ' || *p == '\t') p++;
            if (*p == '#') continue;
        }
        if (strlen(p) >= 40 && (p[40] == '"' || p[40] == '\n' || p[40] == '\r' || p[40] == 0 || p[40] == ' ')) {
            memcpy(out, p, 40);
            out[40] = 0;
            rc = 0;
        }
    }
    fclose(f);
    return rc;
}

static int start_functions(sy_ctx_t *ctx, sy_err_t *err)
{
    char key[41];
    sy_pool_opts_t o = {0};
    if (ctx->cfg.worker_secret_key_file) {
        if (read_secret_key(ctx->cfg.worker_secret_key_file, key) < 0)
            return sy_err_set(err, SY_E_INVALID, 500, "ConfigError", "could not read a Z85 secret key from %s",
                              ctx->cfg.worker_secret_key_file);
        o.curve_secret_key = key;
        o.keys_dir = ctx->cfg.worker_keys;
    }
    o.insecure = ctx->cfg.worker_insecure != 0;
    o.busy_poll_us = ctx->cfg.worker_busy_poll_us > 0 ? ctx->cfg.worker_busy_poll_us : -1;
    return sy_lambda_start(ctx, ctx->cfg.worker_listen, &o, err);
}

/* After the queue service (the others keep internal queues in it), the
 * services start side by side: each start waits mostly on the database
 * (Lambda's opens the fleet registry's own connection and heartbeats; the
 * others ensure their internal queues and rows), so one after the other
 * their round trips add up. All are joined before the seams are wired and
 * the listener opens: readiness still means every service started. */
static int start_sfn(sy_ctx_t *ctx, sy_err_t *err)
{
    return sy_sfn_start(ctx, err);
}
static int start_topic(sy_ctx_t *ctx, sy_err_t *err)
{
    return sy_topic_start(ctx, err);
}
static int start_bus(sy_ctx_t *ctx, sy_err_t *err)
{
    return sy_bus_start(ctx, err);
}

typedef struct {
    const char *component;
    int (*start)(sy_ctx_t *ctx, sy_err_t *err);
    sy_ctx_t *ctx;
    pthread_t thread;
    bool started;
    int rc;
    sy_err_t err;
} service_start_t;

static void *service_start_main(void *u)
{
    service_start_t *s = u;
    s->rc = s->start(s->ctx, &s->err);
    return NULL;
}

/* Joins every started thread; 0 when all services started. */
static int services_join(service_start_t *s, int n)
{
    int rc = 0;
    for (int i = 0; i < n; i++) {
        if (!s[i].started) continue;
        pthread_join(s[i].thread, NULL);
        s[i].started = false;
        if (s[i].rc < 0) {
            sy_log(SY_LOG_ERROR, s[i].component, NULL, "could not start", "error", s[i].err.message);
            rc = -1;
        }
    }
    return rc;
}

static int services_start(sy_ctx_t *ctx, service_start_t *s, int n)
{
    for (int i = 0; i < n; i++) {
        s[i].ctx = ctx;
        s[i].started = pthread_create(&s[i].thread, NULL, service_start_main, &s[i]) == 0;
        if (!s[i].started) {
            sy_log(SY_LOG_ERROR, s[i].component, NULL, "could not start", "error", "pthread_create");
            services_join(s, n);
            return -1;
        }
    }
    return services_join(s, n);
}

static int wait_for_signal(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    int sig = 0;
    sigwait(&set, &sig);
    return sig;
}

static int cmd_serve(int argc, char **argv)
{
    sy_ctx_t ctx;
    memset(&ctx, 0, sizeof ctx);
    int rc = sy_config_load(&ctx.cfg, argc, argv);
    if (rc != 0) return rc < 0 ? 2 : 0;
    /* signals are taken by sigwait in this thread only */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    int status = 1;
    sy_err_t err;
    sy_http_t *http = NULL;
    bool embedded = false, queue_up = false;
    char *conninfo = database_conninfo(&ctx.cfg, &embedded);
    if (!conninfo) goto done;
    /* the first connection migrates; two more open meanwhile, for the
     * services' first loops and the first requests (core/pg.c) */
    ctx.pool = sy_pg_pool_start(conninfo, ctx.cfg.db_pool_size, 2);
    if (!ctx.pool) {
        sy_log(SY_LOG_ERROR, "pg", NULL, "could not connect to the database");
        goto done;
    }
    if (pool_migrate(ctx.pool, ctx.cfg.schema_dir) < 0) goto done;
    sy_pg_pool_set_acquire_timeout(ctx.pool, ctx.cfg.db_acquire_timeout_ms); /* issue 14 */
    if (ctx.cfg.credentials) {
        ctx.creds = sy_creds_load(ctx.cfg.credentials, &err);
        if (!ctx.creds) {
            sy_log(SY_LOG_ERROR, "auth", NULL, "could not load credentials", "error", err.message);
            goto done;
        }
    }
    if (ctx.cfg.policies) {
        if (!ctx.cfg.credentials) {
            sy_log(SY_LOG_ERROR, "auth", NULL, "--policies needs --credentials (policies apply to signed requests)");
            goto done;
        }
        ctx.authz = sy_authz_load(ctx.cfg.policies, ctx.cfg.account_id, &err);
        if (!ctx.authz) {
            sy_log(SY_LOG_ERROR, "auth", NULL, "could not load policies", "error", err.message);
            goto done;
        }
    }
    ctx.gc = sy_gc_new(conninfo, 2, 256, 0);
    if (sy_queue_start(&ctx, &err) < 0) {
        sy_log(SY_LOG_ERROR, "queue", NULL, "could not start", "error", err.message);
        goto done;
    }
    queue_up = true;
    service_start_t starts[] = {{.component = "lambda", .start = start_functions},
                                {.component = "sfn", .start = start_sfn},
                                {.component = "sns", .start = start_topic},
                                {.component = "events", .start = start_bus}};
    if (services_start(&ctx, starts, (int)(sizeof starts / sizeof starts[0])) < 0) goto done;
    sy_server_wire(&ctx);
    sy_ctx_set_wired(&ctx);
    http = sy_http_new(&ctx, ctx.cfg.listen, &err);
    if (!http) {
        sy_log(SY_LOG_ERROR, "http", NULL, err.message);
        goto done;
    }
    char where[64];
    snprintf(where, sizeof where, "%d", sy_http_port(http));
    sy_log(SY_LOG_INFO, "server", NULL, "listening", "listen", ctx.cfg.listen, "port", where, "database",
           embedded ? "embedded" : "external");
    int sig = wait_for_signal();
    sy_log(SY_LOG_INFO, "server", NULL, "shutting down", "signal", sig == SIGINT ? "SIGINT" : "SIGTERM");
    sy_server_drain_begin(&ctx); /* readiness fails; serve on for --drain-delay-s; bounded */
    ctx.stopping = 1;
    status = 0;
done:
    ctx.stopping = 1;
    if (queue_up) sy_queue_wake_all(&ctx); /* long polls return now */
    sy_http_destroy(&http);                /* stop accepting, finish in-flight */
    sy_bus_stop(&ctx);
    sy_topic_stop(&ctx);
    sy_lambda_stop(&ctx);
    sy_sfn_stop(&ctx);
    if (queue_up) sy_queue_stop(&ctx);
    sy_gc_destroy(&ctx.gc);
    sy_pg_pool_destroy(&ctx.pool);
    sy_creds_destroy(&ctx.creds);
    sy_authz_destroy(&ctx.authz);
    if (embedded) sy_pg_embed_stop(ctx.cfg.data_dir, ctx.cfg.pg_bin);
    free(conninfo);
    sy_config_free(&ctx.cfg);
    sy_server_drain_end();
    if (status == 0) sy_log(SY_LOG_INFO, "server", NULL, "stopped");
    return status;
}

int main(int argc, char **argv)
{
    const char *cmd = argc > 1 ? argv[1] : "serve";
    if (argc > 1 && argv[1][0] == '-') cmd = "serve";
    int shift = (argc > 1 && argv[1][0] != '-') ? 2 : 1;
    if (strcmp(cmd, "serve") == 0) return cmd_serve(argc - shift, argv + shift);
    if (strcmp(cmd, "migrate") == 0) return cmd_migrate(argc - shift, argv + shift);
    if (strcmp(cmd, "worker") == 0) return sy_worker_main(argc - 1, argv + 1);
    if (strcmp(cmd, "policy") == 0) return sy_policy_main(argc - 2, argv + 2);
    if (strcmp(cmd, "probe") == 0) return sy_probe_main(argc - 1, argv + 1); /* core/probe.c */
    if (strcmp(cmd, "config") == 0) {
        sy_config_print_markdown(stdout);
        return 0;
    }
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0) {
        sy_config_print_help(stdout);
        return 0;
    }
    fprintf(stderr, "switchyard: unknown command '%s' (serve, migrate, worker, probe, policy, config)\n", cmd);
    return 2;
}
