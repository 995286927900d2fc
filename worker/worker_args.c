/* worker/worker_args.c - `switchyard worker` settings: one declarative
 * table (core's config engine: defaults < environment < flags) drives
 * parsing, validation and --help; then the functions' NAME=SPEC. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "worker/internal.h"

#define W(f) offsetof(wk_config_t, f)
static const sy_config_opt_t settings[] = {
    {"broker", "SWITCHYARD_WORKER_BROKER", NULL, "broker worker endpoint, tcp://HOST:4567 (repeatable; one session per broker; the variable is a comma list)", SY_CFG_LIST, W(brokers), 0, 0},
    {"function", NULL, NULL, "NAME=SPEC[,timeout=S][,concurrency=N][,handler=H][,init_timeout=S]: a hosted function (repeatable)", SY_CFG_LIST, W(functions), 0, 0},
    {"concurrency", "SWITCHYARD_WORKER_CONCURRENCY", "1", "default concurrent invocations per function", SY_CFG_INT, W(concurrency), 1, 4096},
    {"timeout", "SWITCHYARD_WORKER_TIMEOUT", "3", "default function timeout in seconds", SY_CFG_DBL, W(timeout_s), 0, 86400},
    {"worker-id", "SWITCHYARD_WORKER_ID", NULL, "stable worker id reported in HELLO; unset: hostname-pid", SY_CFG_STR, W(worker_id), 0, 0},
    {"drain-timeout", "SWITCHYARD_WORKER_DRAIN_TIMEOUT", "30", "on SIGTERM, seconds in-flight work may take", SY_CFG_DBL, W(drain_timeout_s), 0, 86400},
    {"inline-us", "SWITCHYARD_WORKER_INLINE_US", "10000", "run fast C handlers on the socket thread; a stand-by thread takes the sockets over after this many microseconds (0: off)", SY_CFG_INT, W(inline_us), 0, 2147483647},
    {"reconnect-ms", "SWITCHYARD_WORKER_RECONNECT_MS", "1000", "first reconnect back-off in ms (at least 10), doubling to 32 s", SY_CFG_INT, W(reconnect_ms), 0, 2147483647},
    {"broker-key", "SWITCHYARD_BROKER_KEY", NULL, "the broker's CurveZMQ public key (Z85)", SY_CFG_STR, W(broker_key), 0, 0},
    {"public-key", "SWITCHYARD_WORKER_PUBLIC_KEY", NULL, "this worker's CurveZMQ public key (Z85)", SY_CFG_STR, W(public_key), 0, 0},
    {"secret-key", "SWITCHYARD_WORKER_SECRET_KEY", NULL, "this worker's CurveZMQ secret key (Z85)", SY_CFG_STR, W(secret_key), 0, 0},
    {"log-level", "SWITCHYARD_WORKER_LOG_LEVEL", "info", "debug, info, warn or error", SY_CFG_STR, W(log_level), 0, 0},
    {"region", "AWS_REGION", "us-east-1", "AWS_REGION given to runtime processes", SY_CFG_STR, W(region), 0, 0},
    {"broker-resolve-s", "SWITCHYARD_WORKER_BROKER_RESOLVE_S", "10", "look every --broker name up again this often, joining new addresses and leaving gone ones (0: at start only)", SY_CFG_DBL, W(broker_resolve_s), 0, 86400},
    {"broker-hosts-file", "SWITCHYARD_WORKER_BROKER_HOSTS_FILE", NULL, "hosts(5)-style file (ADDRESS[:PORT] NAME...) consulted before DNS for --broker names, re-read at every lookup", SY_CFG_STR, W(broker_hosts_file), 0, 0},
    {"keygen", NULL, NULL, "print a new CurveZMQ key pair (czmq certificate lines) and exit", SY_CFG_BOOL, W(keygen), 0, 1},
};
#undef W
const sy_config_table_t wk_config_table = {
    "worker",
    "usage: switchyard worker --broker tcp://HOST:4567 [--broker ...] --function NAME=SPEC ...\n"
    "  SPEC is so:/path/lib.so:symbol   (C handler, see switchyard/handler.h)\n"
    "       or runtime:/path/bootstrap   (AWS Lambda custom runtime)",
    settings, sizeof settings / sizeof settings[0]};

static int usage_error(const char *fmt, const char *arg)
{
    char msg[512];
    snprintf(msg, sizeof msg, fmt, arg);
    sy_log(SY_LOG_ERROR, "worker", NULL, msg);
    sy_config_help(&wk_config_table, stderr);
    return 2;
}

static int parse_function(wk_worker_t *w, const char *arg, int def_conc, double def_timeout)
{
    const char *eq = strchr(arg, '=');
    if (!eq || eq == arg) return usage_error("bad --function %s: expected NAME=SPEC", arg);
    wk_fn_t *fn = &w->fns[w->nfns];
    memset(fn, 0, sizeof *fn);
    fn->name = sy_strndup(arg, (size_t)(eq - arg));
    fn->w = w;
    w->nfns++; /* from here on worker_free() owns what fn holds, on every path */
    char *spec = sy_strdup(eq + 1);
    char *opts = strchr(spec, ',');
    if (opts) *opts++ = 0;
    fn->concurrency = def_conc;
    double timeout = def_timeout;
    while (opts && *opts) {
        char *next = strchr(opts, ',');
        if (next) *next++ = 0;
        if (strncmp(opts, "timeout=", 8) == 0)
            timeout = atof(opts + 8);
        else if (strncmp(opts, "concurrency=", 12) == 0)
            fn->concurrency = atoi(opts + 12);
        else if (strncmp(opts, "init_timeout=", 13) == 0)
            fn->init_timeout_ms = (int64_t)(atof(opts + 13) * 1000.0 + 0.5);
        else if (strncmp(opts, "handler=", 8) == 0)
            fn->handler = sy_strdup(opts + 8);
        else {
            free(spec);
            return usage_error("unknown function option %s", opts);
        }
        opts = next;
    }
    int rc = 0;
    if (strncmp(spec, "so:", 3) == 0) {
        char *colon = strrchr(spec + 3, ':');
        if (!colon || colon == spec + 3 || !colon[1]) {
            rc = usage_error("bad spec %s: expected so:/path/lib.so:symbol", spec);
        } else {
            fn->kind = WK_FN_SO;
            fn->path = sy_strndup(spec + 3, (size_t)(colon - (spec + 3)));
            fn->symbol = sy_strdup(colon + 1);
        }
    } else if (strncmp(spec, "runtime:", 8) == 0 && spec[8]) {
        fn->kind = WK_FN_RUNTIME;
        fn->path = sy_strdup(spec + 8);
    } else {
        rc = usage_error("bad spec %s: expected so:PATH:SYMBOL or runtime:PATH", spec);
    }
    free(spec);
    if (rc) return rc;
    if (fn->concurrency < 1 || fn->concurrency > 4096)
        return usage_error("bad concurrency for %s", fn->name);
    if (!(timeout > 0) || timeout > 86400) return usage_error("bad timeout for %s", fn->name);
    fn->timeout_ms = (int64_t)(timeout * 1000.0 + 0.5);
    if (!fn->handler) fn->handler = sy_strdup("function.handler");
    if (fn->init_timeout_ms <= 0) fn->init_timeout_ms = 10000; /* Lambda's init limit */
    for (int i = 0; i < w->nfns - 1; i++)
        if (strcmp(w->fns[i].name, fn->name) == 0)
            return usage_error("function %s given twice", fn->name);
    return 0;
}

static void copy_key(char dst[41], const char *src)
{
    snprintf(dst, 41, "%s", src ? src : "");
}

/* 0, 1 (--help or --keygen done: exit 0) or 2 (usage error, logged). */
int wk_args_parse(wk_worker_t *w, int argc, char **argv)
{
    wk_config_t *cfg = &w->cfg;
    int rc = sy_config_parse(&wk_config_table, cfg, argc - 1, argv + 1);
    if (rc < 0) {
        sy_config_help(&wk_config_table, stderr);
        return 2;
    }
    if (rc > 0) return 1;
    if (cfg->keygen) {
        char pub[41], sec[41];
        if (zmq_curve_keypair(pub, sec) != 0) return usage_error("curve unavailable%s", "");
        printf("public-key = \"%s\"\nsecret-key = \"%s\"\n", pub, sec);
        return 1;
    }
    int lvl = sy_log_level_parse(cfg->log_level);
    if (lvl < 0) return usage_error("bad --log-level %s", cfg->log_level);
    sy_log_level = lvl;
    w->drain_timeout_ms = (int64_t)(cfg->drain_timeout_s * 1000);
    w->reconnect_min_ms = cfg->reconnect_ms < 10 ? 10 : cfg->reconnect_ms;
    w->inl.us = cfg->inline_us;
    if (cfg->worker_id) {
        snprintf(w->worker_id, sizeof w->worker_id, "%s", cfg->worker_id);
    } else {
        char host[64] = "worker";
        gethostname(host, sizeof host - 1);
        snprintf(w->worker_id, sizeof w->worker_id, "%s-%d", host, (int)getpid());
    }
    copy_key(w->broker_key, cfg->broker_key);
    copy_key(w->public_key, cfg->public_key);
    copy_key(w->secret_key, cfg->secret_key);
    w->fns = sy_calloc((size_t)cfg->functions.n, sizeof *w->fns);
    for (int i = 0; i < cfg->functions.n; i++) {
        rc = parse_function(w, cfg->functions.v[i], cfg->concurrency, cfg->timeout_s);
        if (rc) return rc;
    }
    if (cfg->brokers.n == 0) return usage_error("at least one --broker is required%s", "");
    if (w->nfns == 0) return usage_error("at least one --function is required%s", "");
    bool curve = w->broker_key[0] || w->public_key[0] || w->secret_key[0];
    if (curve && (strlen(w->broker_key) != 40 || strlen(w->public_key) != 40 ||
                  strlen(w->secret_key) != 40))
        return usage_error("curve needs --broker-key, --public-key and --secret-key (40-char Z85)%s",
                           "");
    for (int i = 0; i < cfg->brokers.n; i++)
        if (!curve && !wk_endpoint_is_loopback(cfg->brokers.v[i]))
            sy_log(SY_LOG_WARN, "worker", NULL, "plain TCP to a non-loopback broker (no curve keys)",
                   "broker", cfg->brokers.v[i]);
    return 0;
}
