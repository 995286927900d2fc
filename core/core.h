/* core/core.h - the one public header of core/: logging, errors, config,
 * buffers, JSON helpers, ids/ARNs, clocks, the PostgreSQL pool and group
 * commit, the HTTP front door and the AWS protocol codecs, SigV4, metrics. */
#ifndef SY_CORE_H
#define SY_CORE_H

#include <jansson.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* ------------------------------------------------------------------ errors */
enum {
    SY_OK = 0,
    SY_E_INVALID = -1,  /* bad input from the network */
    SY_E_NOTFOUND = -2,
    SY_E_EXISTS = -3,
    SY_E_DB = -4,       /* database error; sqlstate set */
    SY_E_LIMIT = -5,
    SY_E_INTERNAL = -6,
    SY_E_TIMEOUT = -7,
};

typedef struct {
    int status;          /* HTTP status to answer with */
    char code[96];       /* AWS error code, e.g. "InvalidParameterValue" */
    char query_code[96]; /* legacy query-protocol code when it differs (SQS) */
    char message[1024];
    char sqlstate[6];
    bool receiver;       /* fault is ours (Receiver) rather than the caller's */
} sy_err_t;

/* Fill *err (if not NULL) and return rc. fmt is printf-style. */
int sy_err_set(sy_err_t *err, int rc, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* Same, with a distinct legacy query-protocol code (SQS awsQueryCompatible). */
int sy_err_set2(sy_err_t *err, int rc, int status, const char *code, const char *query_code,
                const char *fmt, ...) __attribute__((format(printf, 6, 7)));
void sy_err_clear(sy_err_t *err);

/* -------------------------------------------------------------------- log */
enum { SY_LOG_DEBUG = 0, SY_LOG_INFO, SY_LOG_WARN, SY_LOG_ERROR };
extern int sy_log_level; /* set once at start */
int sy_log_level_parse(const char *s); /* -1 when unknown */
/* One JSON object per line on stderr. request_id may be NULL. Extra fields
 * are given as key/value string pairs terminated by NULL. */
void sy_log_write(int level, const char *component, const char *request_id, const char *msg, ...);
#define sy_log(level, component, request_id, ...)                                                  \
    do {                                                                                           \
        if ((level) >= sy_log_level) sy_log_write((level), (component), (request_id), __VA_ARGS__, \
                                                  (const char *)NULL);                             \
    } while (0)
/* Abort with a log line (allocation failure and programmer errors). */
_Noreturn void sy_panic(const char *what);
void *sy_malloc(size_t n);
void *sy_calloc(size_t n, size_t m);
void *sy_realloc(void *p, size_t n);
char *sy_strdup(const char *s);
char *sy_strndup(const char *s, size_t n);
char *sy_asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The directory of the first executable `program` on the process's PATH
 * (the operating system's search path, not a Switchyard setting), or NULL.
 * Caller frees. */
char *sy_path_find(const char *program);

/* ----------------------------------------------------------------- buffer */
typedef struct {
    char *data;
    size_t len, cap;
} sy_buf_t;
void sy_buf_init(sy_buf_t *b);
void sy_buf_free(sy_buf_t *b);
void sy_buf_reset(sy_buf_t *b);
void sy_buf_reserve(sy_buf_t *b, size_t extra);
void sy_buf_append(sy_buf_t *b, const void *p, size_t n);
void sy_buf_puts(sy_buf_t *b, const char *s);
void sy_buf_putc(sy_buf_t *b, char c);
void sy_buf_printf(sy_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sy_buf_xml_escape(sy_buf_t *b, const char *s, size_t n); /* &<>"' and \r */
void sy_buf_json_str(sy_buf_t *b, const char *s, size_t n);  /* "s", escaped as json_dumps does */
char *sy_buf_take(sy_buf_t *b); /* NUL-terminated, caller frees, buffer emptied */

/* ------------------------------------------------------------- clocks/ids */
int64_t sy_now_ms(void);       /* the broker's clock, epoch ms: the database's once anchored (core/ids.c) */
int64_t sy_now_us(void);       /* the broker's clock, epoch us */
int64_t sy_wall_us(void);      /* this machine's wall clock (plus the test clock's offset) */
void sy_clock_anchor(int64_t epoch_us, int64_t mono_us); /* the database said epoch_us at sy_mono_us() mono_us */
void sy_clock_test_file(const char *path); /* tests only: ms added to the wall clock, re-read while running */
int64_t sy_mono_us(void);      /* monotonic */
void sy_uuid4(char out[37]);   /* random v4 UUID, lower-case */
void sy_random_bytes(void *p, size_t n);
void sy_hex(const unsigned char *in, size_t n, char *out); /* out has 2n+1 */
void sy_md5_hex(const void *p, size_t n, char out[33]);
void sy_sha256_hex(const void *p, size_t n, char out[65]);
void sy_sha256(const void *p, size_t n, unsigned char out[32]);
/* base64 (standard alphabet, padded). decode returns -1 on bad input. */
char *sy_base64_encode(const void *p, size_t n);
int sy_base64_decode(const char *s, size_t slen, unsigned char **out, size_t *outlen);
/* ISO-8601 UTC with milliseconds: 2026-11-25T12:18:16.123Z */
void sy_iso8601_ms(int64_t epoch_ms, char out[32]);

/* ---------------------------------------------------------------- config */
typedef struct {
    char *listen;        /* host:port of the HTTP API */
    char *worker_listen; /* ZeroMQ endpoint for workers */
    char *data_dir;
    char *database_url;  /* NULL: embedded PostgreSQL */
    char *region;
    char *account_id;
    char *log_level;
    char *credentials;   /* file of "AKID SECRET" lines; NULL: accept any */
    char *policies;      /* JSON file of identities and their policies; NULL: no policies */
    char *worker_keys;   /* dir of allowed worker public keys (CurveZMQ) */
    char *public_url;    /* base URL used in QueueUrls; NULL: from Host header */
    char *worker_secret_key_file; /* broker CurveZMQ secret key; NULL: no Curve */
    int worker_insecure; /* 1: plain TCP for workers beyond loopback */
    int worker_busy_poll_us; /* pool busy polling for sync answers; 0 off */
    int db_pool_size;
    double time_scale;   /* test clock: >1 fast-forwards waits and timers */
    int queue_min_retention_s; /* smallest MessageRetentionPeriod (60; tests lower it) */
    int queue_sweep_ms;  /* retention / dedup sweep period */
    char *schema_dir;    /* migrations; NULL: SY_SCHEMA_DIR (compiled in) */
    char *pg_bin;        /* initdb/pg_ctl of the embedded PostgreSQL; NULL: search */
    char *test_doubles;  /* tests only: "bus-invoker,sfn-invoker"; NULL: none */
    int max_body_bytes;
    int console_write;   /* 1: the web console may call write actions (issue 16) */
    /* fleet (issue 11) */
    int probe_timeout_ms;    /* `switchyard probe`: how long to wait for the broker */
    double drain_delay_s;    /* SIGTERM: keep serving (readiness failing) this long first */
    double drain_timeout_s;  /* SIGTERM: exit within this long after the delay, or _exit(1) */
    int account_concurrency; /* cluster-wide concurrent invocations of the account (0: no limit) */
    int fleet_heartbeat_ms;  /* broker registry heartbeat; peers older than 3 of these are gone */
    int metrics_depth_cap;   /* queue depth gauges count at most this many messages per state */
    /* issue 14: bounds under faults and load */
    int db_acquire_timeout_ms; /* wait for a pool connection at most this long (0: forever) */
    int http_max_inflight;     /* requests served at once; beyond: the service's throttling error */
    int http_max_buffered_mb;  /* request bodies buffered at once */
    char *test_clock_file;     /* tests only: ms added to the wall clock, re-read while running */
} sy_config_t;

/* The config engine behind every table (the broker's below, the worker
 * process's in worker/): one row per setting drives parsing, validation,
 * --help and the README's table. Precedence: defaults < environment < flags.
 * A LIST setting is repeatable (--broker a --broker b; its environment
 * variable is comma-separated) and fills a sy_strlist_t; given as flags it
 * replaces what the environment said. A BOOL setting is an int: its flag
 * takes no value and sets it to 1 (--keygen); --flag=0|1 and its
 * environment variable take 0 or 1. */
typedef enum { SY_CFG_STR, SY_CFG_INT, SY_CFG_DBL, SY_CFG_LIST, SY_CFG_BOOL } sy_cfg_type_t;
typedef struct {
    char **v;
    int n;
} sy_strlist_t;
typedef struct {
    const char *flag, *env, *def, *help; /* env may be NULL: flag only */
    sy_cfg_type_t type;
    size_t off;       /* offsetof the field in the table's struct */
    double min, max;  /* INT and DBL bounds */
} sy_config_opt_t;
typedef struct {
    const char *name;  /* "serve", "worker": used in messages */
    const char *usage; /* first line of --help */
    const sy_config_opt_t *opts;
    size_t n;
} sy_config_table_t;
/* Fill cfg (zeroed by the caller) from defaults, environment, then argv.
 * 0; 1 after printing --help; -1 after printing the error. */
int sy_config_parse(const sy_config_table_t *t, void *cfg, int argc, char **argv);
/* Free what parse allocated (strings and lists); cfg stays zero-safe. */
void sy_config_release(const sy_config_table_t *t, void *cfg);
void sy_config_help(const sy_config_table_t *t, FILE *out);
void sy_config_markdown(const sy_config_table_t *t, FILE *out);
/* The broker's table (switchyard serve / migrate / config). */
extern const sy_config_table_t sy_config_serve;
/* Is name in the comma list `list` (e.g. cfg.test_doubles)? NULL list: no. */
bool sy_config_list_has(const char *list, const char *name);

/* Defaults < environment < argv flags. Returns 0, or prints the error and
 * returns -1; *consumed is set to the number of argv entries used. --help
 * prints the table and returns 1. */
int sy_config_load(sy_config_t *cfg, int argc, char **argv);
void sy_config_free(sy_config_t *cfg);
void sy_config_print_help(FILE *out);
void sy_config_print_markdown(FILE *out); /* the README's table */

/* ------------------------------------------------------------------ JSON */
/* Borrowed accessors that tolerate a NULL/ill-typed object. */
const char *sy_json_str(const json_t *obj, const char *key);  /* NULL if absent/not string */
bool sy_json_int(const json_t *obj, const char *key, int64_t *out); /* integer only */
char *sy_json_dumps(const json_t *v); /* compact, caller frees */

/* ------------------------------------------------------------------- ARNs */
typedef struct sy_ctx sy_ctx_t;
char *sy_arn(const sy_ctx_t *ctx, const char *service, const char *resource);
/* Split "arn:aws:SERVICE:REGION:ACCOUNT:RESOURCE". Returns 0 and pointers
 * into the caller's copy `buf` (modified), or -1. */
typedef struct {
    char *service, *region, *account, *resource;
} sy_arn_parts_t;
int sy_arn_parse(char *buf, sy_arn_parts_t *out);

/* ------------------------------------------------------------- PostgreSQL */
typedef struct sy_pg_pool sy_pg_pool_t;
sy_pg_pool_t *sy_pg_pool_new(const char *conninfo, int size);
/* As sy_pg_pool_new, and warm more connections (at most size - 1) opened
 * in parallel by a helper thread while this one opens the first. */
sy_pg_pool_t *sy_pg_pool_start(const char *conninfo, int size, int warm);
void sy_pg_pool_destroy(sy_pg_pool_t **self_p);
/* Borrow a connection (blocks until one is free); re-establishes a lost
 * connection. Never NULL unless the database is unreachable. */
PGconn *sy_pg_acquire(sy_pg_pool_t *pool);
void sy_pg_release(sy_pg_pool_t *pool, PGconn *conn);
int sy_pg_pool_in_use(sy_pg_pool_t *pool);
int sy_pg_pool_size(sy_pg_pool_t *pool);
/* sy_pg_acquire waits at most ms for a free connection, then returns NULL
 * (counted in switchyard_db_pool_timeouts_total); 0: waits forever. */
void sy_pg_pool_set_acquire_timeout(sy_pg_pool_t *pool, int ms);
const char *sy_pg_conninfo(sy_pg_pool_t *pool);
/* Run a statement with text params; returns the PGresult (caller clears) or
 * NULL with *err filled (SQLSTATE in err->sqlstate). */
PGresult *sy_pg_exec(PGconn *c, sy_err_t *err, const char *sql, int nparams, const char *const *params);
/* One autocommit statement on a pooled connection whose single cell is JSON
 * (e.g. SELECT json_build_object(...)); the parsed value, or NULL with *err
 * (503 `unavailable_code` when no connection can be had). */
json_t *sy_pg_json(sy_pg_pool_t *pool, sy_err_t *err, const char *unavailable_code, const char *sql, int nparams,
                   const char *const *params);
/* Same with a named prepared statement: prepared on first use on each
 * backend (tracked by backend pid, so a reconnect re-prepares). */
PGresult *sy_pg_exec_prepared(PGconn *c, sy_err_t *err, const char *name, const char *sql, int nparams,
                              const char *const *params);
/* Make sure `name` is prepared on c (e.g. before entering pipeline mode);
 * then PQsendQueryPrepared may be used. 0 or SY_E_DB. */
int sy_pg_prepare(PGconn *c, sy_err_t *err, const char *name, const char *sql, int nparams);
/* Map a failed result to sy_err_t (500 InternalFailure unless told). */
int sy_pg_error(PGconn *c, const PGresult *r, sy_err_t *err);
bool sy_pg_unavailable(const char *sqlstate); /* refused for now: 503, retryable (core/pg.c) */
bool sy_pg_retryable(const char *sqlstate); /* 40001, 40P01; 26000 (a prepared statement gone: reused backend pid) */

/* The one transaction helper (core/pg_tx.c). begin/commit: 0 or SY_E_DB
 * (err filled, SQLSTATE kept); after a failed commit the transaction is
 * gone. rollback: NULL-safe, a no-op outside a transaction.
 * send_begin / send_commit queue BEGIN / COMMIT on a connection in
 * pipeline mode (0, or SY_E_DB when it could not be queued). */
int sy_pg_begin(PGconn *c, sy_err_t *err);
int sy_pg_commit(PGconn *c, sy_err_t *err);
void sy_pg_rollback(PGconn *c);
int sy_pg_send_begin(PGconn *c);
int sy_pg_send_commit(PGconn *c);
/* Run fn(c, u, err) between BEGIN and COMMIT: fn returns 0 to commit, <0
 * to roll back (that status is returned, err as fn filled it). A
 * serialization failure or deadlock (40001, 40P01) anywhere in it rolls
 * back and re-runs the whole of fn, up to 6 times, with jittered back-off:
 * fn must therefore keep no effects outside the transaction until it
 * returns 0. sy_pg_tx borrows a connection from the pool for the call. */
typedef int (*sy_pg_tx_fn)(PGconn *c, void *u, sy_err_t *err);
int sy_pg_tx_on(PGconn *c, sy_pg_tx_fn fn, void *u, sy_err_t *err);
int sy_pg_tx(sy_pg_pool_t *pool, sy_pg_tx_fn fn, void *u, sy_err_t *err);
/* Work that must run last in the open transaction on c, just before COMMIT
 * (e.g. row locks a batch must take in one order, whatever the order its
 * parts were added in): sy_pg_commit runs c's hooks in registration order,
 * then commits; a hook returning <0 rolls back and sy_pg_commit returns
 * that. discard(u) (may be NULL) runs after the hook, or when the
 * transaction rolls back instead. Per thread, up to 8 a transaction: 0, or
 * SY_E_INTERNAL when full. Only for transactions ended by sy_pg_commit /
 * sy_pg_rollback (sy_pg_tx_on's included), not pipelined ones.
 * sy_pg_on_commit_arg: u of the hook fn registered on c, or NULL. */
int sy_pg_on_commit(PGconn *c, sy_pg_tx_fn fn, void (*discard)(void *u), void *u);
void *sy_pg_on_commit_arg(PGconn *c, sy_pg_tx_fn fn);
/* Sleep before retry `attempt` (0, 1, ...): 0.5-1 ms doubling to 32-64 ms,
 * for the few loops that retry by hand (e.g. batches re-run one by one). */
void sy_pg_retry_backoff(int attempt);

/* Group commit: many callers' small writes run in one transaction.
 * Jobs that share a `run` function are handed to it together (in submit
 * order) so it can write them with one multi-row statement: run(c, args, n,
 * rcs, errs) executes inside the open transaction and sets rcs[i] (0 or a
 * negative status, errs[i] filled) for every job. A job that reports an
 * error must not have written anything. If the transaction breaks (a
 * statement fails), it is rolled back and every job is re-run alone, so each
 * caller gets its own outcome. sy_gc_submit blocks until the transaction
 * holding the job has committed (or failed). */
typedef void (*sy_gc_run_fn)(PGconn *c, void **args, int n, int *rcs, sy_err_t *errs);
/* Called after commit with the same batch (e.g. to wake waiters). */
typedef void (*sy_gc_after_fn)(void **args, int n, const int *rcs);
typedef struct sy_gc sy_gc_t;
/* flags: SY_GC_ASYNC_COMMIT runs the writers with synchronous_commit off
 * (for writes whose loss in a crash is harmless, e.g. leases). */
#define SY_GC_ASYNC_COMMIT 1
sy_gc_t *sy_gc_new(const char *conninfo, int writers, int max_batch, int flags);
void sy_gc_destroy(sy_gc_t **self_p);
int sy_gc_submit(sy_gc_t *gc, sy_gc_run_fn run, sy_gc_after_fn after, void *arg, sy_err_t *err);
/* n jobs at once (one batch request); waits for all; rcs/errs per job. */
void sy_gc_submit_many(sy_gc_t *gc, sy_gc_run_fn run, sy_gc_after_fn after, void **args, int n, int *rcs,
                       sy_err_t *errs);

/* Migrations: apply schema/NNN_*.sql in order under an advisory lock,
 * recorded in sy_schema_migrations. Returns number applied or -1. */
int sy_migrate(PGconn *c, const char *schema_dir, sy_err_t *err);
/* Migrations of schema_dir not yet applied (readiness), or <0 with err. */
int sy_migrate_pending(PGconn *c, const char *schema_dir, sy_err_t *err);

/* --------------------------------------------------------------- metrics */
/* Counters are registered lazily by name+labels; cheap atomic increments. */
void sy_metric_inc(const char *name, const char *labels, double v);
void sy_metric_set(const char *name, const char *labels, double v); /* gauge */
void sy_metric_observe(const char *name, const char *labels, double seconds); /* histogram */
void sy_metrics_render(sy_buf_t *out); /* Prometheus text format */
/* A collector runs before every /metrics render (e.g. to publish gauges
 * owned by another module). Register at start-up; at most 8. */
void sy_metrics_add_collector(void (*fn)(void *u), void *u);
void sy_metrics_remove_collector(void (*fn)(void *u), void *u);

/* ------------------------------------------------------------------- HTTP */
typedef enum { SY_PROTO_QUERY = 1, SY_PROTO_JSON10, SY_PROTO_JSON11, SY_PROTO_REST } sy_proto_t;

/* Parsed form / query string: ordered list of decoded name=value pairs. */
typedef struct {
    char *name, *value;
    size_t value_len;
} sy_kv_t;
typedef struct {
    sy_kv_t *items;
    size_t n, cap;
} sy_form_t;
/* Parse application/x-www-form-urlencoded. Returns 0 or -1 on malformed
 * percent-escapes. Values may contain NUL bytes (value_len). */
int sy_form_parse(sy_form_t *f, const char *s, size_t n);
void sy_form_free(sy_form_t *f);
const char *sy_form_get(const sy_form_t *f, const char *name);
/* Rebuild an AWS query request as the JSON-protocol object the same action
 * takes, using the service's shape hints (see sy_query_shape_t). */
typedef struct sy_query_shape sy_query_shape_t;
struct sy_query_shape {
    const char *param;     /* JSON member name, e.g. "Attributes" */
    const char *prefix;    /* query prefix, e.g. "Attribute" */
    char kind;             /* 'm' map (N.Name/N.Value), 'l' list of scalars (N),
                              'L' list of structures (N.<member>), 'M' message attr
                              map (N.Name / N.Value.{DataType,StringValue,BinaryValue}),
                              't' tag map (N.Key/N.Value), 'e' SNS entry map
                              (entry.N.key/value) */
    const char *key_name;  /* map key member name ("Name", "Key", "key") */
    const char *val_name;  /* map value member name ("Value", "value") */
    const sy_query_shape_t *sub; /* for 'L': shapes of the structure's members */
    const char *ints;      /* for 'L': comma list of integer members ("DelaySeconds,") */
};
json_t *sy_query_to_json(const sy_form_t *f, const sy_query_shape_t *shapes, const char *int_params);

typedef struct sy_req sy_req_t;
typedef struct sy_resp sy_resp_t;
struct sy_req {
    const char *method, *path, *query; /* query: raw query string or "" */
    const char *host;                  /* Host header or "" */
    const char *body;
    size_t body_len;
    sy_proto_t proto;
    const char *service; /* "sqs", "sns", "events", "states", "lambda", ... */
    const char *action;  /* e.g. "SendMessage" */
    const sy_form_t *form; /* query protocol: the parsed parameters */
    json_t *json;          /* JSON protocols: the decoded body object */
    char request_id[37];
    const char *access_key; /* from the signature, or NULL */
    const sy_ctx_t *ctx;
    void *conn;            /* MHD connection, for header lookup */
};
const char *sy_req_header(const sy_req_t *req, const char *name);

struct sy_resp {
    int status;
    const char *content_type;
    sy_buf_t body;
    char *headers[8][2]; /* extra headers (owned) */
    int nheaders;
    bool close;          /* ask the client to close (shutting down) */
};
void sy_resp_header(sy_resp_t *r, const char *name, const char *value);
/* Encode an error in the shape of the request's protocol. `xmlns` for query. */
void sy_resp_error(sy_resp_t *r, const sy_req_t *req, const sy_err_t *err, const char *xmlns);
/* The service's throttling error ("sqs", "sns", "lambda", "events", "states"; else 503 SlowDown),
 * counted in switchyard_http_throttled_total{service} (core/http_limits.c). */
void sy_http_throttle_error(const char *service, sy_err_t *err);
/* A request over http-max-inflight / http-max-buffered-mb: its service's
 * throttling error (core/http_limits.c), the service found by
 * sy_http_route_of from the headers, path and query alone (core/http.c). */
void sy_http_throttled(sy_req_t *req, sy_resp_t *resp);
void sy_http_route_of(sy_req_t *req);
/* JSON success body (takes a reference to v). */
void sy_resp_json(sy_resp_t *r, const sy_req_t *req, json_t *v);
/* a 200 whose JSON body the caller writes into the returned buffer (an
 * error response after it replaces the body) */
sy_buf_t *sy_resp_json_body(sy_resp_t *r, const sy_req_t *req);

typedef void (*sy_handler_fn)(sy_req_t *req, sy_resp_t *resp, void *udata);
/* Routes. JSON: by X-Amz-Target prefix ("AmazonSQS."); the action is the rest.
 * Query: by form Version ("2012-11-05"); REST: by path prefix. */
void sy_http_route_target(const char *target_prefix, const char *service, sy_proto_t proto,
                          sy_handler_fn fn, void *udata);
void sy_http_route_query(const char *version, const char *service, sy_handler_fn fn, void *udata);
void sy_http_route_path(const char *path_prefix, const char *service, sy_handler_fn fn, void *udata);
/* Static files (the web console): GET/HEAD under path_prefix, answered
 * without SigV4 (a browser cannot sign a page load); the handler sets the
 * whole response. */
void sy_http_route_static(const char *path_prefix, sy_handler_fn fn, void *udata);
/* The web console's requests carry this header. Unless the broker runs with
 * --console-write=1 such a request may only read: List*, Get*, Describe*,
 * Validate*, TestEventPattern, Lambda GETs and the console's own endpoints
 * (service "console"). false: refused, with AWS's AccessDenied shape in resp. */
#define SY_CONSOLE_HEADER "X-Switchyard-Console"
bool sy_http_console_allows(const sy_req_t *req, sy_resp_t *resp);
/* GET of a path under path_prefix, answered without SigV4 even when
 * --credentials is set (documents anyone may fetch, e.g. the SNS signing
 * certificate at SigningCertURL). */
void sy_http_route_public(const char *path_prefix, const char *service, sy_handler_fn fn, void *udata);
/* An unauthenticated GET of exactly `path` (like /metrics), e.g. /keda/backlog. */
void sy_http_route_open(const char *path, const char *service, sy_handler_fn fn, void *udata);

/* Call a JSON-protocol action in process, through the same routes as the
 * wire (Step Functions' aws-sdk tasks): target e.g. "AmazonSQS.SendMessage",
 * in the request object (borrowed). Returns the HTTP status; *out is the
 * response object (an error object {"__type","message"} when >= 400). */
int sy_http_call_json(sy_ctx_t *ctx, const char *target, const json_t *in, json_t **out);

typedef struct sy_http sy_http_t;
sy_http_t *sy_http_new(sy_ctx_t *ctx, const char *listen, sy_err_t *err);
int sy_http_port(const sy_http_t *h);
void sy_http_destroy(sy_http_t **self_p); /* stops accepting, waits for in-flight */

/* SigV4: verify a request against the credentials table. 0 ok, else err. */
typedef struct sy_creds sy_creds_t;
sy_creds_t *sy_creds_load(const char *path, sy_err_t *err);
void sy_creds_destroy(sy_creds_t **self_p);
const char *sy_creds_secret(const sy_creds_t *c, const char *akid);
typedef struct {
    const char *method, *path, *query;
    const char *body;
    size_t body_len;
    /* header lookup, lower-case name -> value or NULL */
    const char *(*header)(void *u, const char *lname);
    void *u;
    int64_t now_s; /* wall clock for the skew check */
} sy_sigv4_req_t;
int sy_sigv4_verify(const sy_creds_t *creds, const sy_sigv4_req_t *r, const char **akid_out,
                    sy_err_t *err);
/* Permissive: just extract the access key id, region and service, if any. */
int sy_sigv4_parse_scope(const char *authorization, char *akid, size_t akid_n, char *region,
                         size_t region_n, char *service, size_t service_n);

/* ------------------------------------------------------- access policies */
/* AWS's JSON policy language (core/policy.c): one document, validated and
 * evaluated. Condition keys in `context` are lower-cased ("aws:sourceip"). */
typedef enum { SY_POLICY_NONE = 0, SY_POLICY_ALLOW, SY_POLICY_DENY } sy_policy_effect_t;
typedef struct {
    const char *action;            /* "sqs:SendMessage" */
    const char *resource;          /* an ARN, or "*" */
    const char *principal_arn;     /* the caller; NULL for a service */
    const char *principal_account;
    const char *principal_service; /* "sns.amazonaws.com" when a service calls */
    const json_t *context;         /* condition keys -> string or list of strings */
} sy_policy_req_t;
/* 0 valid; -1 and *why (caller frees). Resource policies need a Principal,
 * identity policies must not have one. */
int sy_policy_validate(const json_t *doc, bool resource_policy, char **why);
sy_policy_effect_t sy_policy_eval(const json_t *doc, bool resource_policy, const sy_policy_req_t *r);

/* Identities and decisions (core/authz.c). The file: {"Identities": [
 * {"AccessKeyId", "Arn", "Policies": [documents]}]}. */
typedef struct sy_authz sy_authz_t;
sy_authz_t *sy_authz_load(const char *path, const char *account_id, sy_err_t *err);
void sy_authz_destroy(sy_authz_t **self_p);
/* The whole decision as an object (decision "allowed" | "explicitDeny" |
 * "implicitDeny", because, principal, the context used...). `key` is an
 * access key id or a principal ARN; `context` may be NULL. */
json_t *sy_authz_decide(const sy_authz_t *a, const char *key, const char *action, const char *resource,
                        const json_t *resource_policy, json_t *context);
/* For a service: 0 allowed; -1 refused with *err in the service's shape
 * (SQS AccessDenied 403, SNS AuthorizationError 403, Lambda
 * AccessDeniedException 403, EventBridge/Step Functions AccessDeniedException
 * 400). Always 0 without policies or for in-process calls. */
int sy_authz_check(const sy_req_t *req, const char *action, const char *resource, const json_t *resource_policy,
                   sy_err_t *err);
/* ------------------------------------------------ probes (core/probe.c)
 * Loop heartbeats: a main loop registers once (name, how long without a turn
 * means it is stuck) and calls sy_beat(handle) every turn; GET /health/live
 * fails while one is stale, /metrics shows their ages. GET /health/ready:
 * database reachable, migrations applied, not draining. Process-wide (as the
 * metrics registry), so loops without a context can beat. */
int sy_beat_register(const char *loop, int64_t stale_ms); /* handle, <0 when full */
void sy_beat(int handle);
void sy_beat_stop(int handle); /* the loop ended on purpose: not checked any more */
void sy_probe_set_draining(bool on);
bool sy_probe_draining(void);
void sy_probe_ready(sy_ctx_t *ctx, sy_resp_t *resp); /* GET /health/ready */
void sy_probe_live(sy_resp_t *resp);                /* GET /health/live */
void sy_probe_metrics(void);                        /* loop ages into /metrics */
/* `switchyard probe ready|live [serve options]`: exit 0 healthy, 1 not
 * (one line on stderr), 2 usage. */
int sy_probe_main(int argc, char **argv);

/* ---------------------------------------------------------- process ctx */
/* The one process context: passed to every service, never global. */
struct sy_ctx {
    sy_config_t cfg;
    sy_pg_pool_t *pool;
    sy_gc_t *gc;
    sy_creds_t *creds;
    sy_authz_t *authz; /* NULL: every authenticated request is allowed */
    volatile int stopping;
    volatile int wired; /* sy_ctx_set_wired: every seam is set (server/wiring.c) */
    void *svc[8]; /* per-service engine state, indexed by SY_SVC_* */
};
/* Services start their background loops before server/wiring.c connects
 * them; a loop that may call through a seam waits for the wiring first (a
 * Step Functions task resumed in the first milliseconds after a restart
 * would otherwise find no function invoker). */
void sy_ctx_set_wired(sy_ctx_t *ctx);
void sy_ctx_wait_wired(const sy_ctx_t *ctx); /* returns early when stopping */
enum { SY_SVC_QUEUE = 0, SY_SVC_TOPIC, SY_SVC_BUS, SY_SVC_SFN, SY_SVC_WORKER };

#endif
