/* lambda/internal.h - shared inside lambda/ only: the function service,
 * its config cache, the dispatcher and the settle queue. */
#ifndef SY_LAMBDA_INTERNAL_H
#define SY_LAMBDA_INTERNAL_H

#include "core/core.h"
#include "lambda/lambda.h"
#include "worker/worker.h"
#include "queue/queue.h"

#define LM_QUEUE_PREFIX "__fn_"        /* internal queue of a function's async invocations */
#define LM_NAME_MAX 64
#define LM_DEFAULT_TIMEOUT_S 3
#define LM_DEFAULT_RETRIES 2
#define LM_DEFAULT_MAX_AGE_S 21600
#define LM_ATTR_REPLY "sy-reply"       /* message attribute: {"e": execution arn, "t": task id} */
#define LM_ATTR_REQUEST "sy-request-id"
#define LM_ATTR_QUALIFIER "sy-qualifier" /* the version or alias an async invocation named */
#define LM_QUAL_MAX 128
/* A synchronous caller waits this much longer than the function's Timeout:
 * the worker enforces the Timeout from when the runtime gets the event (a
 * cold start's init does not count, as on Lambda); this covers the init. */
#define LM_INIT_ALLOWANCE_MS 10000

/* A function's settings as the hot paths need them (cached, 1 s TTL). */
typedef struct lm_fn {
    char name[LM_NAME_MAX + 1];
    int timeout_s;
    int reserved;          /* ReservedConcurrentExecutions, -1: none */
    int max_retries;       /* async: 0..2 */
    int max_age_s;         /* async: MaximumEventAgeInSeconds */
    char *on_success, *on_failure; /* destination ARNs or NULL */
    int64_t loaded_ms;     /* monotonic ms of the last load; 0: never */
    bool queue_ok;         /* internal queue ensured */
    int sync_inflight;     /* synchronous invocations running through this broker */
    int outstanding;       /* durable deliveries offered to the pool, not yet settled */
    int capacity;          /* summed concurrency of the workers hosting it (dispatcher) */
    char *blob;            /* $LATEST's configuration for workers (versions.c); copies: NULL */
    uint64_t gen;          /* bumped by lm_fn_invalidate */
    struct lm_fn *next;
} lm_fn_t;

/* A leased batch or async message handed to the pool, by lease token.
 * Tokens are self-describing, so a restarted broker can settle them from
 * the database: "A." + the receipt handle of an async invocation's
 * message; "E." + mapping id + "." + the batch's shared receipt token. */
typedef struct lm_lease {
    char token[128];
    char function[LM_NAME_MAX + 1];
    char kind;             /* 'A' async invocation, 'E' event-source mapping batch */
    char *queue;           /* queue the receipts belong to */
    int n;
    char **receipts;       /* n */
    char **message_ids;    /* n */
    int attempt;           /* 'A': receive count */
    char *payload;         /* 'A': the event (for destination records) */
    char *reply_exec;      /* 'A': the task's execution to report to (the reply seam) */
    int64_t reply_task;
    char *request_id;
    char *qualifier;       /* the version or alias invoked, NULL: none */
    char version[16];      /* the version that ran ("" : unknown) */
    bool report_failures;  /* 'E': ReportBatchItemFailures */
    char esm[37];          /* 'E': the mapping */
    char shared[33];       /* 'E': the receipt token every message of the batch is leased under */
    struct lm_lease *next;
} lm_lease_t;
void lm_lease_free(lm_lease_t *l);
/* dispatch.c: the context of a leased async invocation, from its message */
lm_lease_t *lm_lease_of_message(const char *function, const char *queue, const sy_msg_out_t *m);

/* What a worker's ACK/RELEASE/EXTEND asks of the store, done off the pool
 * thread by the settle threads. */
typedef struct lm_job {
    char kind;             /* 'a' ack, 'r' release, 'x' extend, 'e' expired (event age) */
    char function[LM_NAME_MAX + 1];
    char token[128];
    lm_lease_t *lease;     /* taken from the map, may be NULL (unknown token) */
    bool ok;
    char *error_type, *error_message;
    char *result;          /* ack body, NUL-terminated */
    size_t result_len;
    int64_t ms;            /* release delay / extend */
    struct lm_job *next;
} lm_job_t;
void lm_job_free(lm_job_t *j);

typedef struct lm_esm lm_esm_t;

typedef struct {
    sy_ctx_t *ctx;
    sy_pool_t *pool;
    sy_lease_source_t src;
    pthread_mutex_t mu;    /* everything below */
    pthread_cond_t wake;   /* dispatcher */
    pthread_cond_t settle_cv;
    lm_fn_t *fns;
    lm_esm_t *esms;
    int64_t esms_loaded_ms;
    lm_lease_t *leases[1024];
    lm_job_t *jobs, *jobs_tail;
    int njobs;
    bool kick;             /* work may be ready */
    bool stop;
    bool settle_stop;      /* set once the pool is gone */
    pthread_t dispatcher, settlers[2];
    bool threads_up;
    sy_lambda_bus_sink_fn bus_sink;
    void *bus_sink_u;
    sy_lambda_topic_sink_fn topic_sink;
    void *topic_sink_u;
    sy_lambda_reply_fn reply_sink;
    void *reply_sink_u;
    struct lm_vcache *vcache; /* versions.c: versions and aliases (under mu) */
    struct lm_fleet *fleet;     /* fleet.c: the broker registry, calls between brokers */
    struct lm_shares *shares;   /* concurrency.c: this broker's shares */
    struct lm_backlog *backlog; /* backlog.c */
} lm_svc_t;

lm_svc_t *lm_svc(sy_ctx_t *ctx);
/* store_console.c: counts for the web console's overview, NULL on error */
json_t *lm_store_console_summary(sy_ctx_t *ctx, sy_err_t *err);

/* service.c */
/* Normalise a name or function ARN (qualifier dropped) into out. -1 if invalid. */
int lm_function_name(const char *in, char out[LM_NAME_MAX + 1]);
char *lm_function_arn(const sy_ctx_t *ctx, const char *name);
char *lm_queue_name(const char *function);
/* Look a function up (cache, then the database; a function a worker hosts
 * but nobody created is created with defaults). Copies the settings into
 * *out (strings borrowed from the cache are NOT copied: on_success and
 * on_failure are set NULL; use lm_fn_destinations). SY_E_NOTFOUND if it
 * does not exist. */
int lm_fn_lookup(lm_svc_t *s, const char *name, lm_fn_t *out, sy_err_t *err);
void lm_fn_destinations(lm_svc_t *s, const char *name, char **on_success, char **on_failure);
void lm_fn_invalidate(lm_svc_t *s, const char *name);
bool lm_pool_hosts(lm_svc_t *s, const char *name);
int lm_ensure_queue(lm_svc_t *s, const char *name, sy_err_t *err);
/* Report a task's outcome through the reply seam (c: the open settle
 * transaction, or NULL). No seam set yet: with c SY_E_INTERNAL (the
 * settle does not happen, the message returns with its visibility), with
 * c NULL 0 (dropped with a warning). */
int lm_reply(lm_svc_t *s, PGconn *c, const char *execution_arn, int64_t task_id, const json_t *result,
             const char *error, const char *cause, sy_err_t *err);
double lm_scale(const lm_svc_t *s);

/* store.c: the only SQL of the Lambda API */
typedef struct {
    char name[LM_NAME_MAX + 1];
    json_t *config;        /* owned */
    int reserved;          /* -1: none */
    json_t *event_config;  /* owned or NULL */
    char modified[40];     /* Lambda's LastModified format */
    char revision[37];
} lm_row_t;
void lm_row_clear(lm_row_t *r);
int lm_store_fn_create(sy_ctx_t *ctx, const char *name, json_t *config, bool if_absent, sy_err_t *err);
int lm_store_fn_get(sy_ctx_t *ctx, const char *name, lm_row_t *out, sy_err_t *err);
int lm_store_fn_list(sy_ctx_t *ctx, lm_row_t **rows, int *n, sy_err_t *err);
int lm_store_fn_update(sy_ctx_t *ctx, const char *name, json_t *config_patch, sy_err_t *err);
int lm_store_fn_delete(sy_ctx_t *ctx, const char *name, sy_err_t *err);
int lm_store_fn_set_reserved(sy_ctx_t *ctx, const char *name, int reserved, sy_err_t *err);
int lm_store_fn_set_event_config(sy_ctx_t *ctx, const char *name, json_t *cfg, sy_err_t *err);
/* event-source mappings: rows as the API's JSON shape pieces */
typedef struct {
    char uuid[37];
    char function[LM_NAME_MAX + 1];
    char *source_arn;
    int batch_size, window_s, max_concurrency; /* max_concurrency 0: none */
    bool enabled, report_failures;
    char modified[40];
    int64_t modified_s;
    char qualifier[LM_QUAL_MAX + 1]; /* the version or alias it invokes, "" : none */
} lm_esm_row_t;
void lm_esm_row_clear(lm_esm_row_t *r);
int lm_store_esm_create(sy_ctx_t *ctx, lm_esm_row_t *r, sy_err_t *err);
int lm_store_esm_get(sy_ctx_t *ctx, const char *uuid, lm_esm_row_t *out, sy_err_t *err);
/* function/source NULL: any */
int lm_store_esm_list(sy_ctx_t *ctx, const char *function, const char *source, lm_esm_row_t **rows, int *n,
                      sy_err_t *err);
int lm_store_esm_update(sy_ctx_t *ctx, const lm_esm_row_t *r, sy_err_t *err);
int lm_store_esm_delete(sy_ctx_t *ctx, const char *uuid, sy_err_t *err);

/* qualifier.c: parsers of what clients send (fuzzed: tests/fuzz/fuzz_lambda.c) */
/* A name, name:qualifier, partial or full ARN -> name and qualifier ("" none). 0 or -1. */
int lm_ref_parse(const char *in, char name[LM_NAME_MAX + 1], char qual[LM_QUAL_MAX + 1]);
bool lm_qualifier_valid(const char *q);
bool lm_alias_name_valid(const char *n);
bool lm_version_number(const char *q, long *out);
int lm_routing_parse(const json_t *rc, char version[16], double *weight, char *msg, size_t n);
int lm_env_vars_check(const json_t *vars, const char **code, char *msg, size_t n);

/* store_versions.c */
typedef struct {
    lm_row_t row;          /* name, config, modified (= created), revision */
    int version;
    char *description;
} lm_ver_t;
void lm_ver_clear(lm_ver_t *v);
typedef struct {
    char name[LM_NAME_MAX + 1];
    char alias[LM_QUAL_MAX + 1];
    char version[16];
    char *description;
    json_t *routing;       /* owned or NULL */
    char revision[37];
} lm_alias_t;
void lm_alias_clear(lm_alias_t *a);
int lm_store_version_publish(sy_ctx_t *ctx, const char *name, const char *description, int *version, sy_err_t *err);
int lm_store_version_get(sy_ctx_t *ctx, const char *name, int version, lm_ver_t *out, sy_err_t *err);
int lm_store_version_list(sy_ctx_t *ctx, const char *name, lm_ver_t **out, int *n, sy_err_t *err);
int lm_store_version_delete(sy_ctx_t *ctx, const char *name, int version, sy_err_t *err);
int lm_store_alias_create(sy_ctx_t *ctx, const lm_alias_t *a, const char *extra_version, sy_err_t *err);
int lm_store_alias_get(sy_ctx_t *ctx, const char *name, const char *alias, lm_alias_t *out, sy_err_t *err);
int lm_store_alias_list(sy_ctx_t *ctx, const char *name, const char *version, lm_alias_t **out, int *n,
                        sy_err_t *err);
int lm_store_alias_update(sy_ctx_t *ctx, const lm_alias_t *a, const char *extra_version, const char *revision,
                          sy_err_t *err);
int lm_store_alias_delete(sy_ctx_t *ctx, const char *name, const char *alias, sy_err_t *err);

/* store.c: one autocommit statement (pooled connection; ServiceException 500 on failure) */
PGresult *lm_store_run(sy_ctx_t *ctx, sy_err_t *err, const char *sql, int n, const char *const *p);

/* versions.c: what an invocation of name[:qualifier] runs */
typedef struct {
    char name[LM_NAME_MAX + 1];
    char qualifier[LM_QUAL_MAX + 1]; /* as invoked, "" : none */
    char version[16];                /* executed: "$LATEST" or "N" */
    char pool_key[LM_NAME_MAX + 18]; /* name, or "name:N" when a worker hosts that version */
    int timeout_s;
    char *config;                    /* SY_WORKER_ATTR_CONFIG for the worker (owned) */
} lm_target_t;
/* Resolve a qualifier ("" / "$LATEST", a version, an alias with its
 * weighted routing). SY_E_NOTFOUND: ResourceNotFoundException. */
int lm_target_resolve(lm_svc_t *s, const char *name, const char *qualifier, lm_target_t *t, sy_err_t *err);
void lm_target_clear(lm_target_t *t);
/* $LATEST's configuration as workers get it (service.c's cache keeps it). */
char *lm_config_blob(const sy_ctx_t *ctx, const char *name, const json_t *config, const char *version,
                     const char *qualifier, const char *revision);
void lm_versions_invalidate(lm_svc_t *s, const char *name);
void lm_versions_free(lm_svc_t *s);
/* A durable invocation of name[:qualifier] (request_id NULL: a new one). */
int lm_invoke_async_ex(lm_svc_t *s, PGconn *c, const char *name, const char *qualifier, const void *payload,
                       size_t len, const sy_lambda_reply_t *reply_to, const char *request_id, sy_err_t *err);
/* Fill a leased async invocation's delivery: its request id and the
 * configuration of what it names (l->qualifier); *pool_key: where to offer it. */
void lm_delivery_target(lm_svc_t *s, lm_lease_t *l, sy_delivery_t *d, char *pool_key, size_t n, int *timeout_s);

/* api_versions.c: PublishVersion, ListVersionsByFunction, aliases, qualified
 * GetFunction*, DeleteFunction with a Qualifier, InvokeWithResponseStream.
 * true when it answered. */
bool lm_api_versions(lm_svc_t *s, sy_req_t *req, sy_resp_t *resp, const char *name, const char *id,
                     const char *sub, const char *sub2);
/* The qualifier of a request: ?Qualifier= or the one in the path's
 * function name; "" none. -1 (answered) when invalid or contradictory. */
int lm_req_qualifier(sy_req_t *req, sy_resp_t *resp, char qual[LM_QUAL_MAX + 1]);
/* invoke_stream.c: InvokeWithResponseStream (the response as an AWS event stream) */
void lm_api_invoke_stream(lm_svc_t *s, sy_req_t *req, sy_resp_t *resp, const char *name);
/* Append one event-stream message (string headers, payload) to out. */
void lm_eventstream_message(sy_buf_t *out, const char *const *headers, int nheaders, const void *payload, size_t len);

/* api.c / invoke.c / api_esm.c */
void lm_api_handle(sy_req_t *req, sy_resp_t *resp, void *udata);
void lm_api_invoke(lm_svc_t *s, sy_req_t *req, sy_resp_t *resp, const char *name);
void lm_api_esm(lm_svc_t *s, sy_req_t *req, sy_resp_t *resp, const char *uuid);
json_t *lm_function_config_json(const sy_ctx_t *ctx, const lm_row_t *r);

/* dispatch.c */
int lm_dispatch_start(lm_svc_t *s, sy_err_t *err); /* dispatcher + settle threads */
void lm_dispatch_stop(lm_svc_t *s);   /* the dispatcher: no more offers */
void lm_settle_stop(lm_svc_t *s);     /* after the pool is gone: settle what is left, join */
void lm_esms_reload(lm_svc_t *s);     /* a mapping changed on this broker */
void lm_dispatch_kick(lm_svc_t *s);
extern const sy_lease_source_t lm_lease_source_proto; /* callbacks; .u set by the caller */

/* settle.c */
void lm_settle_push(lm_svc_t *s, lm_job_t *j);
void *lm_settle_main(void *arg);
/* Write an invocation record to a destination ARN inside c. */
int lm_destination_send(lm_svc_t *s, PGconn *c, const char *arn, const char *function, bool success,
                        const char *request_id, int attempts, const char *condition, const char *payload,
                        const char *response, bool fn_error, const char *qualifier, const char *version,
                        sy_err_t *err);
/* The request id of a leased async invocation (the Invoke's, else its message id). */
#define LM_LEASE_RID(l) ((l)->request_id ? (l)->request_id : (l)->message_ids[0])

#endif
