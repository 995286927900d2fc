/* core/config.c - one declarative table drives parsing, validation, --help
 * and the README's table. Precedence: defaults < environment < flags. */
#include "core/core.h"

#include <stdlib.h>
#include <string.h>

typedef enum { CT_STR, CT_INT, CT_DBL } ctype_t;
typedef struct {
    const char *flag, *env, *def, *help;
    ctype_t type;
    size_t off;
    double min, max;
} copt_t;

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
    {"worker-keys", "SWITCHYARD_WORKER_KEYS", NULL, "directory of allowed worker CurveZMQ public keys", CT_STR, S(worker_keys), 0, 0},
    {"worker-secret-key-file", "SWITCHYARD_WORKER_SECRET_KEY_FILE", NULL, "broker CurveZMQ secret key file (bare Z85 line or czmq secret-key = \"...\"); set: workers must use Curve", CT_STR, S(worker_secret_key_file), 0, 0},
    {"worker-busy-poll-us", "SWITCHYARD_WORKER_BUSY_POLL_US", "200", "microseconds the worker pool keeps polling for a worker's answer before it sleeps (0: never poll)", CT_INT, S(worker_busy_poll_us), 0, 100000},
    {"worker-insecure", "SWITCHYARD_WORKER_INSECURE", "0", "1: allow plain TCP (no Curve) for workers on a non-loopback address", CT_INT, S(worker_insecure), 0, 1},
    {"public-url", "SWITCHYARD_PUBLIC_URL", NULL, "base URL for QueueUrls; unset: from the request's Host header", CT_STR, S(public_url), 0, 0},
    {"db-pool-size", "SWITCHYARD_DB_POOL_SIZE", "16", "PostgreSQL connections per broker", CT_INT, S(db_pool_size), 2, 512},
    {"time-scale", "SWITCHYARD_TIME_SCALE", "1", "test clock: >1 fast-forwards waits and timers", CT_DBL, S(time_scale), 1, 1e6},
    {"max-body-bytes", "SWITCHYARD_MAX_BODY_BYTES", "3145728", "largest accepted request body", CT_INT, S(max_body_bytes), 65536, 1 << 30},
};
#undef S
#define NOPTS (sizeof opts / sizeof opts[0])

static int set_opt(sy_config_t *cfg, const copt_t *o, const char *v)
{
    char *base = (char *)cfg + o->off;
    if (o->type == CT_STR) {
        char **p = (char **)base;
        free(*p);
        *p = v ? sy_strdup(v) : NULL;
        return 0;
    }
    char *end = NULL;
    double d = strtod(v, &end);
    if (!end || *end || end == v || d < o->min || d > o->max) {
        fprintf(stderr, "switchyard: invalid value for --%s: '%s' (%g..%g)\n", o->flag, v, o->min, o->max);
        return -1;
    }
    if (o->type == CT_INT) {
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

int sy_config_load(sy_config_t *cfg, int argc, char **argv)
{
    memset(cfg, 0, sizeof *cfg);
    for (size_t i = 0; i < NOPTS; i++)
        if (opts[i].def && set_opt(cfg, &opts[i], opts[i].def) < 0) return -1;
    for (size_t i = 0; i < NOPTS; i++) {
        const char *e = getenv(opts[i].env);
        if (e && *e && set_opt(cfg, &opts[i], e) < 0) return -1;
    }
    for (int a = 0; a < argc; a++) {
        const char *arg = argv[a];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            sy_config_print_help(stdout);
            return 1;
        }
        if (strncmp(arg, "--", 2) != 0) {
            fprintf(stderr, "switchyard: unexpected argument '%s'\n", arg);
            return -1;
        }
        const char *name = arg + 2;
        const char *eq = strchr(name, '=');
        size_t nlen = eq ? (size_t)(eq - name) : strlen(name);
        const copt_t *o = NULL;
        for (size_t i = 0; i < NOPTS; i++)
            if (strlen(opts[i].flag) == nlen && strncmp(opts[i].flag, name, nlen) == 0) o = &opts[i];
        if (!o) {
            fprintf(stderr, "switchyard: unknown option '--%.*s' (see --help)\n", (int)nlen, name);
            return -1;
        }
        const char *v = eq ? eq + 1 : NULL;
        if (!v) {
            if (a + 1 >= argc) {
                fprintf(stderr, "switchyard: --%s needs a value\n", o->flag);
                return -1;
            }
            v = argv[++a];
        }
        if (set_opt(cfg, o, v) < 0) return -1;
    }
    int lvl = sy_log_level_parse(cfg->log_level);
    if (lvl < 0) {
        fprintf(stderr, "switchyard: invalid --log-level '%s'\n", cfg->log_level);
        return -1;
    }
    sy_log_level = lvl;
    return 0;
}

void sy_config_free(sy_config_t *cfg)
{
    for (size_t i = 0; i < NOPTS; i++)
        if (opts[i].type == CT_STR) {
            char **p = (char **)((char *)cfg + opts[i].off);
            free(*p);
            *p = NULL;
        }
}

void sy_config_print_help(FILE *out)
{
    fprintf(out, "usage: switchyard serve|migrate|worker|config [options]\n\noptions (flag / environment / default):\n");
    for (size_t i = 0; i < NOPTS; i++)
        fprintf(out, "  --%-16s %-28s %-22s %s\n", opts[i].flag, opts[i].env, opts[i].def ? opts[i].def : "(unset)",
                opts[i].help);
}

void sy_config_print_markdown(FILE *out)
{
    fprintf(out, "| flag | environment | default | meaning |\n|---|---|---|---|\n");
    for (size_t i = 0; i < NOPTS; i++)
        fprintf(out, "| `--%s` | `%s` | %s%s%s | %s |\n", opts[i].flag, opts[i].env, opts[i].def ? "`" : "",
                opts[i].def ? opts[i].def : "(unset)", opts[i].def ? "`" : "", opts[i].help);
}
