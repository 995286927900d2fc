/* worker/worker.h - the one public header of worker/: the broker-side pool
 * that pushes invocations to connected workers over ZeroMQ (protocol SYW01,
 * see docs/workers.md), and the worker process (`switchyard worker`). */
#ifndef SY_WORKER_H
#define SY_WORKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/core.h"

#define SY_WORKER_PROTOCOL "SYW01" /* signature frame: protocol name + version */

/* ------------------------------------------------------------ the pool */
typedef struct sy_pool sy_pool_t;

/* A leased message of a function's durable queue, produced by the lease
 * source. The pool sends DELIVER only after lease() returned it (i.e. after
 * the lease committed). Strings are copied; `payload` is taken: the pool
 * frees it with free() once sent (or dropped). */
typedef struct {
    char lease_token[128]; /* the authority: ACK/RELEASE/EXTEND name it */
    char message_id[64];
    uint32_t attempt;      /* 1 for the first delivery */
    int64_t deadline_ms;   /* absolute epoch ms; 0: now + opts.default_timeout_ms */
    char traceparent[64];  /* W3C, may be "" */
    void *payload;         /* malloc'd; ownership passes to the pool */
    size_t len;
    char request_id[40];   /* the invocation's id, "" : a new UUID */
    const char *config;    /* the function configuration the worker applies (see
                              SY_WORKER_ATTR_CONFIG), copied; NULL: none */
} sy_delivery_t;

/* DELIVER attributes the Lambda service sets (docs/workers.md): the
 * configuration of the function version being invoked (JSON: FunctionName,
 * Version, MemorySize, Timeout, Handler, Environment.Variables, RevisionId,
 * FunctionArn = the ARN the caller invoked). A worker applies it to the
 * invocation (runtime environment, C handler context, timeout). */
#define SY_WORKER_ATTR_CONFIG "sy-config"

/* Outcome of an ACK as reported to the lease source. */
typedef enum { SY_ACK_OK = 0, SY_ACK_FN_ERROR = 1 } sy_ack_outcome_t;

/* The durable-work hook (the queue engine implements it over PostgreSQL).
 * Every callback runs on the pool thread and must not block for long.
 * ack/release/extend return 0 when the token was valid (or the work was
 * queued, e.g. to group commit, without waiting for the answer), <0 when the
 * token is known to be stale (the pool counts it). They are called for every
 * ACK/RELEASE/EXTEND that carries a lease token, from any session, including
 * sessions opened after a broker restart: the token, not the session, is the
 * authority. */
typedef struct {
    /* Lease up to `max` messages of `function`; fill out[0..n) and return n
     * (0: nothing ready), or <0 on error (the pool retries on the next wake).
     * Called when the function has free credit, and after sy_pool_wake().
     * May be NULL for a source that pushes with sy_pool_offer() instead. */
    int (*lease)(void *u, const char *function, int max, sy_delivery_t *out);
    int (*ack)(void *u, const char *function, const char *lease_token, const char *message_id,
               sy_ack_outcome_t outcome, const char *error_type, const char *error_message,
               const void *result, size_t len);
    /* delay_ms 0: visible again at once (also used when a worker dies). */
    int (*release)(void *u, const char *function, const char *lease_token, int64_t delay_ms);
    int (*extend)(void *u, const char *function, const char *lease_token, int64_t extend_ms);
    void *u;
} sy_lease_source_t;

#define SY_POOL_BUSY_POLL_US_DEFAULT 200

typedef struct {
    int heartbeat_ivl_ms;      /* dictated to workers in WELCOME; default 1000 */
    int liveness;              /* missed intervals before a peer is dead; default 3 */
    int max_credit;            /* cap per session and function; default 1024 */
    int64_t default_timeout_ms; /* lease deadline when sy_delivery_t has none; default 900000 */
    const sy_lease_source_t *lease; /* NULL: synchronous invocations only */
    /* Security. curve_secret_key (Z85, 40 chars) enables CurveZMQ; with
     * keys_dir also a ZAP allow-list of the worker public keys found there
     * (files holding a bare Z85 key line or a czmq `public-key = "..."` line).
     * Without curve, plain TCP may only bind a loopback address unless
     * insecure is set. */
    const char *curve_secret_key;
    const char *keys_dir;
    bool insecure;
    /* Busy polling: while a synchronous invocation is in flight, the pool
     * thread keeps polling (yielding the CPU between polls) for this many
     * microseconds after its last event before it blocks, so the worker's
     * answer does not have to wake an idle CPU. 0: default (200); < 0: off. */
    int busy_poll_us;
} sy_pool_opts_t;

/* Result of a synchronous invocation, passed to the callback. */
typedef enum {
    SY_INVOKE_OK = 0,          /* result = the function's response payload */
    SY_INVOKE_FN_ERROR,        /* error_type/error_message set; result = error body JSON */
    SY_INVOKE_TIMEOUT,         /* deadline passed before a result came back */
    SY_INVOKE_NO_WORKER,       /* no worker hosts the function */
    SY_INVOKE_TOO_MANY,        /* workers exist, but no credit before the deadline */
    SY_INVOKE_WORKER_LOST,     /* the worker died or left with the invocation */
    SY_INVOKE_SHUTDOWN,        /* the pool is being destroyed */
} sy_invoke_status_t;

typedef struct {
    sy_invoke_status_t status;
    const char *error_type;    /* FN_ERROR: e.g. "Sandbox.Timedout", "Runtime.ExitError" */
    const char *error_message;
    const void *result;        /* borrowed for the duration of the callback */
    size_t len;
    const char *request_id;
} sy_invoke_result_t;

/* Called exactly once per successful sy_pool_invoke, on the pool thread. */
typedef void (*sy_invoke_cb)(const sy_invoke_result_t *res, void *u);

typedef struct {
    uint64_t workers;          /* sessions alive */
    uint64_t credit;           /* free credit summed over sessions and functions */
    uint64_t inflight;         /* delivered, not yet settled */
    uint64_t pending;          /* sync invocations waiting for credit */
    uint64_t deliveries;       /* DELIVERs sent */
    uint64_t acks;             /* ACKs received (ok + error) */
    uint64_t fn_errors;        /* ACKs with a function error */
    uint64_t releases;
    uint64_t extends;
    uint64_t stale_acks;       /* the lease source rejected the token */
    uint64_t expired_workers;  /* sessions declared dead by heartbeat or EHOSTUNREACH */
    uint64_t refused;          /* DISCONNECTs for version/protocol errors */
    uint64_t timeouts;         /* sync invocations that hit their deadline */
} sy_pool_stats_t;

/* Bind a ROUTER on endpoint (e.g. "tcp://127.0.0.1:*") and start the pool
 * thread. NULL on failure with *err set. */
sy_pool_t *sy_pool_new(const char *endpoint, const sy_pool_opts_t *opts, sy_err_t *err);
/* Sends DISCONNECT(shutdown) to workers, fails pending invocations with
 * SY_INVOKE_SHUTDOWN, stops the thread. NULL-safe, nulls *self_p. In-flight
 * leases are left to their visibility timeout (or a later ACK). */
void sy_pool_destroy(sy_pool_t **self_p);
/* Wait until no invocation is in flight on a worker (their ACKs came back
 * and were settled), or until deadline_ms (epoch). A draining broker calls
 * it after it stopped offering work, before sy_pool_destroy, so that work
 * its workers finish is not lost with it and run again after its
 * visibility timeout. Returns how many are still in flight. */
int sy_pool_quiesce(sy_pool_t *self, int64_t deadline_ms);
int sy_pool_port(const sy_pool_t *self);               /* bound TCP port, or -1 */
const char *sy_pool_endpoint(const sy_pool_t *self);   /* the resolved endpoint */
/* Z85 public key workers must use as --broker-key (curve only), else NULL. */
const char *sy_pool_public_key(const sy_pool_t *self);

/* Synchronous, in-memory invocation (Lambda RequestResponse; not durable).
 * The payload is copied. Goes to the least-recently-used worker with credit;
 * waits for credit up to deadline_ms (absolute epoch ms), then SY_INVOKE_TOO_MANY;
 * when no worker hosts the function it gives up after min(deadline, 1 s) with
 * SY_INVOKE_NO_WORKER. The worker gets the same deadline (no grace: what
 * the handler is told is what is enforced) and the function timeout
 * applies there too. Returns 0 (cb will be called exactly once)
 * or <0 (cb never called). Thread-safe. */
int sy_pool_invoke(sy_pool_t *self, const char *function, const void *payload, size_t len,
                   int64_t deadline_ms, sy_invoke_cb cb, void *u);
/* The same with options: the request id (e.g. the Lambda API's
 * x-amzn-RequestId; at most 36 chars, NULL: a new UUID) and a W3C
 * traceparent handed to the handler (runtimes see it as Lambda-Runtime-Trace-Id). */
typedef struct {
    int64_t deadline_ms;     /* absolute epoch ms */
    const char *request_id;  /* NULL: generated */
    const char *traceparent; /* NULL: none */
    const char *config;      /* NULL: none; else sent as SY_WORKER_ATTR_CONFIG (copied) */
} sy_invoke_opts_t;
int sy_pool_invoke_opts(sy_pool_t *self, const char *function, const void *payload, size_t len,
                        const sy_invoke_opts_t *opts, sy_invoke_cb cb, void *u);
/* Push already-leased messages (the alternative to the lease() callback for
 * a lease source that leases on its own thread, e.g. on LISTEN/NOTIFY, sized
 * by sy_pool_function_credit). They wait in the pool until a worker has
 * credit; ack/release/extend still go through opts->lease. Takes each
 * d[i].payload. Thread-safe. Returns 0 or <0. */
int sy_pool_offer(sy_pool_t *self, const char *function, sy_delivery_t *d, int n);
/* New durable work for function: call the lease source again. Thread-safe. */
void sy_pool_wake(sy_pool_t *self, const char *function);
/* Counters for /metrics. Thread-safe snapshot. */
void sy_pool_stats(sy_pool_t *self, sy_pool_stats_t *out);
/* Publish the stats into core's metrics registry (switchyard_worker_*;
 * gauges, and counters advanced by what happened since the last call).
 * Call it from the /metrics handler before sy_metrics_render. */
void sy_pool_metrics_publish(sy_pool_t *self);
/* The functions live workers host (for the Lambda API): called once per
 * function with the number of sessions hosting it, their summed declared
 * concurrency and the free credit. Thread-safe; fn must not call the pool. */
typedef struct {
    const char *name;
    int workers;
    int concurrency;
    int credit;
} sy_pool_function_info_t;
void sy_pool_functions(sy_pool_t *self, void (*fn)(const sy_pool_function_info_t *info, void *u),
                       void *u);
/* The connected workers for the web console (issue 16): a JSON array of
 * {WorkerId, SessionId, Node, Version, ConnectedAt, LastSeenMsAgo, Draining,
 * Functions:[{Name, MaxConcurrency, InUse, FreeCredit}], Acks, Errors,
 * ColdStarts, RecentErrors:[{At, Function, ErrorType, ErrorMessage}]}
 * (caller decrefs). Thread-safe. */
json_t *sy_pool_workers_json(sy_pool_t *self);
/* Free credit currently offered for one function (summed over workers). */
int sy_pool_function_credit(sy_pool_t *self, const char *function);


/* ----------------------------------------------------- the worker process */
/* `switchyard worker ...` (argv[0] is "worker"). Returns the exit status:
 * 0 after a clean drain, 2 on usage errors, 3 on a protocol version mismatch. */
int sy_worker_main(int argc, char **argv);

#endif
