/* worker/worker_args.c - `switchyard worker` command line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "worker/internal.h"

static const char USAGE[] =
    "usage: switchyard worker --broker tcp://HOST:4567 [--broker ...] --function NAME=SPEC ...\n"
    "  --broker ENDPOINT        broker worker endpoint (repeatable)\n"
    "  --function NAME=SPEC[,timeout=S][,concurrency=N][,handler=H][,init_timeout=S]\n"
    "                           (repeatable)\n"
    "        SPEC is so:/path/lib.so:symbol   (C handler, see switchyard/handler.h)\n"
    "             or runtime:/path/bootstrap   (AWS Lambda custom runtime)\n"
    "  --concurrency N          default concurrent invocations per function (1)\n"
    "  --timeout S              default function timeout in seconds (3)\n"
    "  --worker-id ID           stable worker id (default: hostname-pid)\n"
    "  --drain-timeout S        on SIGTERM, wait this long for in-flight work (30)\n"
    "  --inline-us US           run fast C handlers on the socket thread; a stand-by\n"
    "                           thread takes the sockets over after US (10000; 0 off)\n"
    "  --reconnect-ms MS        first reconnect back-off, doubling to 32 s (1000)\n"
    "  --broker-key Z85         broker's Curve public key (env SWITCHYARD_BROKER_KEY)\n"
    "  --public-key Z85         this worker's Curve public key (env SWITCHYARD_WORKER_PUBLIC_KEY)\n"
    "  --secret-key Z85         this worker's Curve secret key (env SWITCHYARD_WORKER_SECRET_KEY)\n"
    "  --log-level LEVEL        debug, info, warn, error (info)\n"
    "  --keygen                 print a new Curve key pair and exit\n";

static int usage_error(const char *fmt, const char *arg)
{
    char msg[512];
    snprintf(msg, sizeof msg, fmt, arg);
    sy_log(SY_LOG_ERROR, "worker", NULL, msg);
    fputs(USAGE, stderr);
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

int wk_args_parse(wk_worker_t *w, int argc, char **argv)
{
    int conc = 1;
    double timeout = 3.0;
    /* global options first: --concurrency/--timeout apply to every function */
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--concurrency") == 0 && i + 1 < argc) conc = atoi(argv[++i]);
        else if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc) timeout = atof(argv[++i]);
    }
    if (conc < 1) return usage_error("bad --concurrency %s", "");
    w->fns = sy_calloc((size_t)argc, sizeof *w->fns);
    w->conns = sy_calloc((size_t)argc, sizeof *w->conns);
    w->drain_timeout_ms = 30000;
    w->reconnect_min_ms = 1000;
    w->inl.us = 10000;
    char host[64] = "worker";
    gethostname(host, sizeof host - 1);
    snprintf(w->worker_id, sizeof w->worker_id, "%s-%d", host, (int)getpid());
    copy_key(w->broker_key, getenv("SWITCHYARD_BROKER_KEY"));
    copy_key(w->public_key, getenv("SWITCHYARD_WORKER_PUBLIC_KEY"));
    copy_key(w->secret_key, getenv("SWITCHYARD_WORKER_SECRET_KEY"));
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(USAGE, stdout);
            return 1;
        }
        if (strcmp(a, "--keygen") == 0) {
            char pub[41], sec[41];
            if (zmq_curve_keypair(pub, sec) != 0) return usage_error("curve unavailable%s", "");
            printf("public-key = \"%s\"\nsecret-key = \"%s\"\n", pub, sec);
            return 1;
        }
        if (!v) return usage_error("missing value for %s", a);
        i++;
        int rc = 0;
        if (strcmp(a, "--broker") == 0) {
            if (w->nconns >= 16) return usage_error("at most 16 --broker (got more: %s)", v);
            w->conns[w->nconns++].endpoint = sy_strdup(v);
        } else if (strcmp(a, "--function") == 0) {
            rc = parse_function(w, v, conc, timeout);
        } else if (strcmp(a, "--concurrency") == 0 || strcmp(a, "--timeout") == 0) {
            /* taken above */
        } else if (strcmp(a, "--worker-id") == 0) {
            snprintf(w->worker_id, sizeof w->worker_id, "%s", v);
        } else if (strcmp(a, "--drain-timeout") == 0) {
            w->drain_timeout_ms = (int64_t)(atof(v) * 1000);
        } else if (strcmp(a, "--inline-us") == 0) {
            w->inl.us = atoll(v);
            if (w->inl.us < 0) return usage_error("bad --inline-us %s", v);
        } else if (strcmp(a, "--reconnect-ms") == 0) {
            w->reconnect_min_ms = atoll(v);
            if (w->reconnect_min_ms < 10) w->reconnect_min_ms = 10;
        } else if (strcmp(a, "--broker-key") == 0) {
            copy_key(w->broker_key, v);
        } else if (strcmp(a, "--public-key") == 0) {
            copy_key(w->public_key, v);
        } else if (strcmp(a, "--secret-key") == 0) {
            copy_key(w->secret_key, v);
        } else if (strcmp(a, "--log-level") == 0) {
            int lvl = sy_log_level_parse(v);
            if (lvl < 0) return usage_error("bad --log-level %s", v);
            sy_log_level = lvl;
        } else {
            return usage_error("unknown option %s", a);
        }
        if (rc) return rc;
    }
    if (w->nconns == 0) return usage_error("at least one --broker is required%s", "");
    if (w->nfns == 0) return usage_error("at least one --function is required%s", "");
    bool curve = w->broker_key[0] || w->public_key[0] || w->secret_key[0];
    if (curve && (strlen(w->broker_key) != 40 || strlen(w->public_key) != 40 ||
                  strlen(w->secret_key) != 40))
        return usage_error("curve needs --broker-key, --public-key and --secret-key (40-char Z85)%s",
                           "");
    for (int i = 0; i < w->nconns; i++)
        if (!curve && !wk_endpoint_is_loopback(w->conns[i].endpoint))
            sy_log(SY_LOG_WARN, "worker", NULL, "plain TCP to a non-loopback broker (no curve keys)",
                   "broker", w->conns[i].endpoint);
    return 0;
}
