/* core/config.c - one declarative table drives parsing, validation, --help
 * and the README's table. Precedence: defaults < environment < flags. */
#include "core/core.h"

#include <stdlib.h>
#include <string.h>

typedef sy_config_opt_t copt_t;
#define CT_STR SY_CFG_STR
#define CT_INT SY_CFG_INT
#define CT_DBL SY_CFG_DBL

#define S(f) offsetof(sy_config_t, f)
static const copt_t opts[] = {
    {"listen", "SWITCHYARD_LISTEN", "127.0.0.1:4566", "HTTP API address (host:port)", CT_STR, S(listen), 0, 0},
    {"worker-listen", "SWITCHYARD_WORKER_LISTEN", "tcp://127.0.0.1:4567", "ZeroMQ endpoint workers connect to", CT_STR, S(worker_listen), 0, 0},
    {"data-dir", "SWITCHYARD_DATA_DIR", "./.switchyard", "data directory (embedded PostgreSQL lives in <data-dir>/pg)", CT_STR, S(data_dir), 0, 0},
    {"database-url", "SWITCHYARD_DATABASE_URL", NULL, "PostgreSQL conninfo/URL; unset: run an embedded PostgreSQL", CT_STR, S(database_url), 0, 0},
    {"region", "SWITCHYARD_REGION", "us-east-1", "region used in ARNs and URLs", CT_STR, S(region), 0, 0},
    {"account-id", "SWITCHYARD_ACCOUNT_ID", "000000000000", "account id used in ARNs and URLs", CT_STR, S(account_id), 0, 0},
    {"log-level", "SWITCHYARD_LOG_LEVEL", "info", "debug, info, warn or error", CT_STR, S(log_level), 0, 0},
    {"credentials", "SWITCHYARD_CREDENTIALS", NULL, "file of 'ACCESS_KEY_ID SECRET' lines; set: verify SigV4 on every request", CT_STR, S(credentials), 0, 0},
    {"policies", "SWITCHYARD_POLICIES", NULL, "JSON file of identities and their IAM policies (needs --credentials); set: evaluate access policies", CT_STR, S(policies), 0, 0},
    {"worker-keys", "SWITCHYARD_WORKER_KEYS", NULL, "directory of allowed worker CurveZMQ public keys", CT_STR, S(worker_keys), 0, 0},
    {"worker-secret-key-file", "SWITCHYARD_WORKER_SECRET_KEY_FILE", NULL, "broker CurveZMQ secret key file (bare Z85 line or czmq secret-key = \"...\"); set: workers must use Curve", CT_STR, S(worker_secret_key_file), 0, 0},
    {"worker-busy-poll-us", "SWITCHYARD_WORKER_BUSY_POLL_US", "200", "microseconds the worker pool keeps polling for a worker's answer before it sleeps (0: never poll)", CT_INT, S(worker_busy_poll_us), 0, 100000},
    {"worker-insecure", "SWITCHYARD_WORKER_INSECURE", "0", "1: allow plain TCP (no Curve) for workers on a non-loopback address", CT_INT, S(worker_insecure), 0, 1},
    {"public-url", "SWITCHYARD_PUBLIC_URL", NULL, "base URL for QueueUrls; unset: from the request's Host header", CT_STR, S(public_url), 0, 0},
    {"db-pool-size", "SWITCHYARD_DB_POOL_SIZE", "16", "PostgreSQL connections per broker", CT_INT, S(db_pool_size), 2, 512},
    {"time-scale", "SWITCHYARD_TIME_SCALE", "1", "test clock: >1 fast-forwards waits and timers", CT_DBL, S(time_scale), 1, 1e6},
    {"queue-min-retention-s", "SWITCHYARD_QUEUE_MIN_RETENTION_S", "60", "smallest MessageRetentionPeriod accepted (AWS: 60; lower only to test expiry)", CT_INT, S(queue_min_retention_s), 1, 60},
    {"queue-sweep-ms", "SWITCHYARD_QUEUE_SWEEP_MS", "10000", "milliseconds between sweeps of expired messages and FIFO deduplication ids", CT_INT, S(queue_sweep_ms), 100, 3600000},
    {"schema-dir", "SWITCHYARD_SCHEMA_DIR", NULL, "directory of the schema migrations (NNN_*.sql); unset: the source tree's schema/, compiled in", CT_STR, S(schema_dir), 0, 0},
    {"pg-bin", "SWITCHYARD_PG_BIN", NULL, "directory of initdb and pg_ctl for the embedded PostgreSQL; unset: the newest /usr/lib/postgresql/*/bin, then PATH", CT_STR, S(pg_bin), 0, 0},
    {"test-doubles", "SWITCHYARD_TEST_DOUBLES", NULL, "tests only: comma list of built-in doubles to wire instead of real services (bus-invoker, sfn-invoker)", CT_STR, S(test_doubles), 0, 0},
    {"max-body-bytes", "SWITCHYARD_MAX_BODY_BYTES", "3145728", "largest accepted request body", CT_INT, S(max_body_bytes), 65536, 1 << 30},
    {"console-write", "SWITCHYARD_CONSOLE_WRITE", "0", "1: the web console at /console/ may change things (send, publish, redrive, stop); 0: read-only", CT_INT, S(console_write), 0, 1},
    {"probe-timeout-ms", "SWITCHYARD_PROBE_TIMEOUT_MS", "2000", "switchyard probe ready or live: how long to wait for the broker's answer", CT_INT, S(probe_timeout_ms), 10, 600000},
    {"drain-delay-s", "SWITCHYARD_DRAIN_DELAY_S", "0", "on SIGTERM, keep serving this long with readiness failing (time for load balancers to notice) before refusing new requests", CT_DBL, S(drain_delay_s), 0, 3600},
    {"drain-timeout-s", "SWITCHYARD_DRAIN_TIMEOUT_S", "30", "on SIGTERM, after the delay: finish in-flight requests and stop within this long, else exit 1", CT_DBL, S(drain_timeout_s), 1, 3600},
    {"account-concurrency", "SWITCHYARD_ACCOUNT_CONCURRENCY", "1000", "concurrent Lambda invocations of the account across all brokers (unreserved functions share what reserved ones leave; 0: no limit)", CT_INT, S(account_concurrency), 0, 10000000},
    {"fleet-heartbeat-ms", "SWITCHYARD_FLEET_HEARTBEAT_MS", "1000", "the broker registry heartbeat (live brokers, their functions and shares); a broker silent for 3 of these is gone", CT_INT, S(fleet_heartbeat_ms), 50, 60000},
    {"metrics-depth-cap", "SWITCHYARD_METRICS_DEPTH_CAP", "100000", "queue and backlog gauges count at most this many messages per queue and state", CT_INT, S(metrics_depth_cap), 1, 100000000},
    /* issue 14: bounds under faults and load (docs/operations.md "Back-pressure and resource limits") */
    {"db-acquire-timeout-ms", "SWITCHYARD_DB_ACQUIRE_TIMEOUT_MS", "5000", "how long a request waits for a free PostgreSQL connection of the pool before it is answered 503 ServiceUnavailable (0: wait forever)", CT_INT, S(db_acquire_timeout_ms), 0, 3600000},
    {"http-max-inflight", "SWITCHYARD_HTTP_MAX_INFLIGHT", "1024", "requests a broker serves at once (long polls included); beyond it a request is refused at once with the service's throttling error", CT_INT, S(http_max_inflight), 1, 100000},
    {"http-max-buffered-mb", "SWITCHYARD_HTTP_MAX_BUFFERED_MB", "256", "MiB of request bodies buffered at once; a body that would pass it is not read and the request gets the service's throttling error", CT_INT, S(http_max_buffered_mb), 4, 1 << 20},
    {"test-clock-file", "SWITCHYARD_TEST_CLOCK_FILE", NULL, "tests only: a file holding milliseconds added to this broker's wall clock (re-read while running: a clock that jumps)", CT_STR, S(test_clock_file), 0, 0},
};
#undef S
const sy_config_table_t sy_config_serve = {"serve", "usage: switchyard serve|migrate|worker|config [options]", opts,
                                           sizeof opts / sizeof opts[0]};

static int set_opt(void *cfg, const copt_t *o, const char *v)
{
    char *base = (char *)cfg + o->off;
    if (o->type == SY_CFG_LIST) {
        sy_strlist_t *l = (sy_strlist_t *)base;
        l->v = sy_realloc(l->v, (size_t)(l->n + 1) * sizeof *l->v);
        l->v[l->n++] = sy_strdup(v);
        return 0;
    }
    if (o->type == CT_STR) {
        char **p = (char **)base;
        free(*p);
        *p = v ? sy_strdup(v) : NULL;
        return 0;
    }
    char *end = NULL;
    double d = strtod(v, &end);
    double lo = o->type == SY_CFG_BOOL ? 0 : o->min, hi = o->type == SY_CFG_BOOL ? 1 : o->max;
    if (!end || *end || end == v || d < lo || d > hi) {
        fprintf(stderr, "switchyard: invalid value for --%s: '%s' (%g..%g)\n", o->flag, v, lo, hi);
        return -1;
    }
    if (o->type == CT_INT || o->type == SY_CFG_BOOL) {
        if (d != (double)(int)d) {
            fprintf(stderr, "switchyard: --%s needs an integer\n", o->flag);
            return -1;
        }
        *(int *)base = (int)d;
    } else {
        *(double *)base = d;
    }
    return 0;
}

static void list_clear(void *cfg, const copt_t *o)
{
    sy_strlist_t *l = (sy_strlist_t *)((char *)cfg + o->off);
    for (int k = 0; k < l->n; k++) free(l->v[k]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

int sy_config_parse(const sy_config_table_t *t, void *cfg, int argc, char **argv)
{
    const copt_t *o_all = t->opts;
    const size_t NOPTS = t->n;
    const copt_t *flagged_lists[8]; /* LISTs given as flags so far: they drop the environment's */
    size_t nflagged = 0;
    for (size_t i = 0; i < NOPTS; i++)
        if (o_all[i].def && set_opt(cfg, &o_all[i], o_all[i].def) < 0) return -1;
    for (size_t i = 0; i < NOPTS; i++) {
        const char *e = o_all[i].env ? getenv(o_all[i].env) : NULL;
        if (!e || !*e) continue;
        if (o_all[i].type == SY_CFG_LIST) { /* comma-separated */
            char *copy = sy_strdup(e), *save = NULL;
            for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
                set_opt(cfg, &o_all[i], tok);
            free(copy);
        } else if (set_opt(cfg, &o_all[i], e) < 0) {
            return -1;
        }
    }
    for (int a = 0; a < argc; a++) {
        const char *arg = argv[a];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            sy_config_help(t, stdout);
            return 1;
        }
        if (strncmp(arg, "--", 2) != 0) {
            fprintf(stderr, "switchyard %s: unexpected argument '%s'\n", t->name, arg);
            return -1;
        }
        const char *name = arg + 2;
        const char *eq = strchr(name, '=');
        size_t nlen = eq ? (size_t)(eq - name) : strlen(name);
        const copt_t *o = NULL;
        for (size_t i = 0; i < NOPTS; i++)
            if (strlen(o_all[i].flag) == nlen && strncmp(o_all[i].flag, name, nlen) == 0) o = &o_all[i];
        if (!o) {
            fprintf(stderr, "switchyard %s: unknown option '--%.*s' (see --help)\n", t->name, (int)nlen, name);
            return -1;
        }
        const char *v = eq ? eq + 1 : NULL;
        if (!v && o->type == SY_CFG_BOOL) v = "1";
        if (o->type == SY_CFG_LIST) {
            bool seen = false;
            for (size_t k = 0; k < nflagged; k++) seen = seen || flagged_lists[k] == o;
            if (!seen && nflagged < sizeof flagged_lists / sizeof flagged_lists[0]) {
                list_clear(cfg, o);
                flagged_lists[nflagged++] = o;
            }
        }
        if (!v) {
            if (a + 1 >= argc) {
                fprintf(stderr, "switchyard %s: --%s needs a value\n", t->name, o->flag);
                return -1;
            }
            v = argv[++a];
        }
        if (set_opt(cfg, o, v) < 0) return -1;
    }
    return 0;
}

int sy_config_load(sy_config_t *cfg, int argc, char **argv)
{
    memset(cfg, 0, sizeof *cfg);
    int rc = sy_config_parse(&sy_config_serve, cfg, argc, argv);
    if (rc != 0) return rc;
    int lvl = sy_log_level_parse(cfg->log_level);
    if (lvl < 0) {
        fprintf(stderr, "switchyard: invalid --log-level '%s'\n", cfg->log_level);
        return -1;
    }
    sy_log_level = lvl;
    if (cfg->test_clock_file) sy_clock_test_file(cfg->test_clock_file); /* issue 14 */
    return 0;
}

void sy_config_release(const sy_config_table_t *t, void *cfg)
{
    for (size_t i = 0; i < t->n; i++) {
        char *base = (char *)cfg + t->opts[i].off;
        if (t->opts[i].type == SY_CFG_STR) {
            free(*(char **)base);
            *(char **)base = NULL;
        } else if (t->opts[i].type == SY_CFG_LIST) {
            list_clear(cfg, &t->opts[i]);
        }
    }
}

void sy_config_free(sy_config_t *cfg)
{
    sy_config_release(&sy_config_serve, cfg);
}

void sy_config_help(const sy_config_table_t *t, FILE *out)
{
    fprintf(out, "%s\n\noptions (flag / environment / default):\n", t->usage);
    for (size_t i = 0; i < t->n; i++)
        fprintf(out, "  --%-16s %-28s %-22s %s\n", t->opts[i].flag, t->opts[i].env ? t->opts[i].env : "",
                t->opts[i].def ? t->opts[i].def : "(unset)", t->opts[i].help);
}

void sy_config_markdown(const sy_config_table_t *t, FILE *out)
{
    fprintf(out, "| flag | environment | default | meaning |\n|---|---|---|---|\n");
    for (size_t i = 0; i < t->n; i++) {
        const copt_t *o = &t->opts[i];
        fprintf(out, "| `--%s` | %s%s%s | %s%s%s | %s |\n", o->flag, o->env ? "`" : "", o->env ? o->env : "",
                o->env ? "`" : "", o->def ? "`" : "", o->def ? o->def : "(unset)", o->def ? "`" : "", o->help);
    }
}

void sy_config_print_help(FILE *out)
{
    sy_config_help(&sy_config_serve, out);
}

void sy_config_print_markdown(FILE *out)
{
    sy_config_markdown(&sy_config_serve, out);
}

bool sy_config_list_has(const char *list, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = list; p && *p;) {
        const char *e = strchr(p, ',');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        if (l == n && strncmp(p, name, n) == 0) return true;
        p = e ? e + 1 : NULL;
    }
    return false;
}
