/* worker/internal.h - shared inside worker/ only: the SYW01 framing codec,
 * logging and small helpers used by the pool and the worker process. */
#ifndef SY_WORKER_INTERNAL_H
#define SY_WORKER_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <zmq.h>

#include "proto/worker.pb-c.h"
#include "worker/worker.h"

/* ---------------------------------------------------------------- helpers
 * Allocation (sy_malloc & co, aborting on failure), logging (sy_log),
 * clocks and ids (sy_now_ms, sy_mono_us, sy_uuid4) are core's. */
int64_t wk_mono_ms(void); /* monotonic */
uint32_t wk_rand32(void);
/* JSON-escape s into out (size n); truncates. */
void wk_json_escape(const char *s, size_t len, char *out, size_t n);

/* ------------------------------------------------------------------ wire */
enum {
    WK_WIRE_OK = 0,
    WK_WIRE_AGAIN = -1,    /* nothing to read / interrupted */
    WK_WIRE_VERSION = -2,  /* signature names another version of the protocol */
    WK_WIRE_BAD = -3,      /* not our protocol, or an undecodable/invalid envelope */
};

typedef struct {
    zmq_msg_t rid; /* ROUTER side: the peer's routing id */
    bool has_rid;
    char sig[16];  /* signature as received (NUL-terminated, truncated) */
    char user[41]; /* ROUTER side: ZAP User-Id (the Curve key, Z85), "" without */
    Syw__Envelope *env;
    zmq_msg_t body; /* first payload frame, if any */
    bool has_body;
} wk_frame_t;

/* Decode + validate one envelope (also the fuzz entry point). Returns
 * WK_WIRE_OK with *out set (free with syw__envelope__free_unpacked), or
 * WK_WIRE_VERSION / WK_WIRE_BAD. */
int wk_wire_decode(const void *sig, size_t sig_len, const void *env, size_t env_len,
                   Syw__Envelope **out);
/* Command name for logs ("HELLO", ...). */
const char *wk_cmd_name(int cmd_case);

/* Receive one whole message (non-blocking when flags has ZMQ_DONTWAIT). On
 * WK_WIRE_VERSION/BAD the routing id (router) is still in f->rid so the
 * caller can answer DISCONNECT. Always call wk_frame_close afterwards. */
int wk_wire_recv(void *sock, bool router, wk_frame_t *f, int flags);
void wk_frame_close(wk_frame_t *f);
static inline const void *wk_frame_body(wk_frame_t *f, size_t *len)
{
    if (!f->has_body) {
        *len = 0;
        return "";
    }
    *len = zmq_msg_size(&f->body);
    return zmq_msg_data(&f->body);
}

/* Send signature + envelope (+ payload). rid/rid_len: ROUTER destination or
 * NULL. body_msg, when not NULL, is sent zero-copy and closed; else body/len
 * (copied) when body != NULL. Returns 0 or -1 with errno (EHOSTUNREACH for a
 * gone peer on a ROUTER_MANDATORY socket). The signature is `sig` or the
 * protocol's own when NULL (tests send other versions). */
int wk_wire_send(void *sock, const void *rid, size_t rid_len, const Syw__Envelope *env,
                 zmq_msg_t *body_msg, const void *body, size_t len, const char *sig);

/* W3C traceparent 00-<32 hex>-<16 hex>-<2 hex> -> X-Ray trace header */
bool wk_xray_from_traceparent(const char *tp, char *out, size_t n);

/* Endpoint helpers */
bool wk_endpoint_is_loopback(const char *endpoint);

/* ------------------------------------------------------------- pool state
 * Everything below is owned by the pool thread, except the command queue
 * (cmd_mu) and the stats (atomics). */
#include <pthread.h>

typedef struct pool_inv pool_inv_t;
typedef struct pool_func pool_func_t;
typedef struct pool_session pool_session_t;

struct pool_inv {
    uint64_t id; /* delivery_id */
    pool_func_t *pf;
    bool sync;
    sy_invoke_cb cb;
    void *u;
    char request_id[37];
    int64_t deadline_ms;   /* epoch */
    int64_t no_worker_at;  /* epoch: give up when nobody hosts the function */
    void *payload;         /* owned */
    size_t len;
    char lease_token[128], message_id[64], traceparent[64];
    uint32_t attempt;
    pool_session_t *session; /* set while in flight */
    pool_inv_t *next;
};

struct pool_func {
    char *name;
    pool_inv_t *pending, *pending_tail; /* waiting for credit (sync and leased) */
    bool lease_wanted;     /* sy_pool_wake, or the last lease came back full */
    int64_t lease_next_ms; /* mono: next periodic lease poll / retry */
    int credit;            /* gauge, summed over sessions (read under cmd_mu) */
    pool_func_t *next;
};

typedef struct {
    pool_func_t *pf;
    int credit;
    int max_concurrency;
    int inflight;
} pool_sfunc_t;

#define POOL_RECENT_ERRORS 5
typedef struct { /* written on the pool thread under cmd_mu, read under it */
    char node[64], version[32];
    int64_t connected_ms; /* epoch */
    uint64_t acks, errors, cold_starts;
    struct {
        int64_t at_ms;
        char function[64], type[64], message[160];
    } recent[POOL_RECENT_ERRORS]; /* ring, newest at (nrecent - 1) % N */
    uint64_t nrecent;
} pool_session_info_t;

struct pool_session {
    uint8_t rid[256];
    size_t rid_len;
    char worker_id[128];
    char session_id[37];
    int64_t last_recv, last_send; /* mono ms */
    uint64_t lru;                 /* dispatch stamp: lower is less recently used */
    bool draining;
    pool_sfunc_t *funcs;
    size_t nfuncs;
    pool_session_t *next;
    pool_session_info_t info; /* what the web console shows (pool_console.c) */
};

typedef struct pool_cmd {
    int kind; /* 1 invoke, 2 wake, 3 offer (leased deliveries in inv, a list) */
    pool_inv_t *inv;
    char *function;
    struct pool_cmd *next;
} pool_cmd_t;

struct sy_pool {
    void *zctx, *router, *zap;
    int evfd;
    pthread_t thread;
    bool started;
    sy_pool_opts_t opts;
    sy_lease_source_t lease;
    bool has_lease;
    char endpoint[256];
    char public_key[41];
    bool curve;
    uint8_t (*allowed)[32];
    char **allowed_fns; /* per allowed key: "a, b*" function patterns, NULL = any */
    size_t nallowed;
    int port;
    pool_session_t *sessions;
    pool_func_t *funcs;
    pool_inv_t *inflight; /* list */
    int sync_inflight;    /* synchronous invocations among them */
    uint64_t next_id, lru_clock;
    pthread_mutex_t cmd_mu;
    pool_cmd_t *cmds, *cmds_tail;
    int stop; /* atomic: POOL_STOPPING */
    sy_pool_stats_t stats; /* atomics */
    sy_pool_stats_t published; /* last sy_pool_metrics_publish (metrics_mu) */
    pthread_mutex_t metrics_mu;
};

#define POOL_STOPPING(p) __atomic_load_n(&(p)->stop, __ATOMIC_ACQUIRE)
#define POOL_STAT_ADD(p, field, v) __atomic_add_fetch(&(p)->stats.field, (v), __ATOMIC_RELAXED)
#define POOL_STAT_SET(p, field, v) __atomic_store_n(&(p)->stats.field, (v), __ATOMIC_RELAXED)

/* pool_session.c */
void pool_handle_message(sy_pool_t *p, wk_frame_t *f, int rc);
void pool_session_kill(sy_pool_t *p, pool_session_t *s, const char *why);
int pool_send(sy_pool_t *p, pool_session_t *s, const Syw__Envelope *env, zmq_msg_t *body_msg,
              const void *body, size_t len);
void pool_send_disconnect(sy_pool_t *p, const void *rid, size_t rid_len, int reason,
                          const char *msg);
/* pool_dispatch.c */
pool_func_t *pool_func_get(sy_pool_t *p, const char *name);
pool_inv_t *pool_inv_from_delivery(sy_pool_t *p, pool_func_t *pf, sy_delivery_t *d, int64_t wall);
void pool_dispatch(sy_pool_t *p, pool_func_t *pf);
void pool_inv_finish(sy_pool_t *p, pool_inv_t *inv, const sy_invoke_result_t *res);
void pool_inflight_remove(sy_pool_t *p, pool_inv_t *inv);
/* pool_console.c: what the web console shows of a session */
void pool_session_note_hello(sy_pool_t *p, pool_session_t *s, const Syw__Hello *h);
void pool_session_note_ack(sy_pool_t *p, pool_session_t *s, const Syw__Ack *a);
pool_inv_t *pool_inflight_find(sy_pool_t *p, uint64_t id);
void pool_pending_push(pool_func_t *pf, pool_inv_t *inv, bool front);
void pool_timers(sy_pool_t *p);
/* pool_auth.c */
/* May the worker whose Curve key is `user` (Z85, the ZAP User-Id) host
 * `function`? Always true without an allow-list. */
bool pool_auth_may_host(const sy_pool_t *p, const char *user, const char *function);
int pool_auth_load(sy_pool_t *p, const char *dir, sy_err_t *err);
void pool_auth_handle(sy_pool_t *p);

/* ------------------------------------------------------- worker process */
#include <sys/types.h>

enum { WK_FN_SO = 1, WK_FN_RUNTIME = 2 };
enum { WK_OUT_OK = 0, WK_OUT_ERROR = 1, WK_OUT_RELEASE = 2 };

typedef struct wk_fn wk_fn_t;
typedef struct wk_worker wk_worker_t;

typedef struct wk_job {
    uint64_t delivery_id;
    int conn;       /* broker connection it came from */
    unsigned conn_gen; /* ... and its session (delivery ids are per session) */
    wk_fn_t *fn;
    char lease_token[128], message_id[64], request_id[40], traceparent[64];
    uint32_t attempt;
    int64_t deadline_ms; /* effective, epoch: min(DELIVER deadline, start + timeout) */
    bool fn_deadline;    /* the function timeout (not the caller's deadline) bounds it */
    double timeout_s;    /* for "Task timed out after N.NN seconds" */
    int64_t caller_deadline_ms; /* DELIVER's absolute deadline, 0: none */
    void *payload;
    size_t len;
    int64_t started_mono;
    /* result, written by the slot thread */
    int outcome;
    char *error_type, *error_message;
    void *result;
    size_t result_len;
    bool retryable;
    /* main thread only */
    bool reported; /* settled towards the broker already (timeout, drain) */
    bool cancelled;
    struct wk_job *next;  /* queue / done list / outbox */
    struct wk_job *inext; /* main thread: in-flight list */
} wk_job_t;

typedef struct wk_env wk_env_t;

struct wk_fn {
    char *name;
    int kind;
    char *path, *symbol, *handler;
    int concurrency;
    int64_t timeout_ms;
    int64_t init_timeout_ms; /* runtimes: spawn -> first /next */
    void *dl;
    void *handler_fn;
    wk_worker_t *w;
    /* job queue to the slot threads */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    wk_job_t *q_head, *q_tail;
    bool stopping;
    pthread_t *threads;
    int nthreads;
    wk_env_t *envs; /* runtime: one per slot */
    /* main thread accounting */
    int running;    /* handed to slots, including timed-out ones still running */
    int64_t avg_run_us; /* C handlers: moving average of run times (atomic) */
};

typedef struct {
    char *endpoint;
    void *sock;
    void *mon;           /* PAIR receiving the socket's handshake-failure events */
    bool auth_logged;
    int state; /* 0 down, 1 hello sent, 2 active */
    unsigned gen; /* sessions welcomed so far */
    int64_t last_recv, last_send, reconnect_at, backoff_ms, hello_at;
    int ivl_ms, liveness;
    int *granted;    /* per function: credit this session holds */
    int *free_slots; /* per function: this broker's share, neither granted nor running */
    char session_id[37];
    wk_job_t *outbox, *outbox_tail; /* results waiting for a session */
    int *running;    /* per function: delivered by this session, not settled (resolve.c) */
    int *target;     /* per function: this session's share of the slots */
    bool gone;       /* no longer resolved: closed once what it delivered settled */
    bool retired;    /* slot free for another broker */
} wk_conn_t;
#define WK_MAX_CONNS 30 /* sessions (brokers) at once */

/* Inline runs of C handlers on the loop thread (worker_inline.c). */
typedef struct {
    int64_t us;          /* --inline-us: longest inline run before the stand-by takes over; 0 off */
    pthread_mutex_t mu;  /* guards the flags below; hand-overs of the loop go through it */
    bool mu_ready;
    bool standby;        /* the other thread waits, ready to take over */
    bool running;        /* a handler runs inline */
    bool taken;          /* ... and the stand-by took the loop meanwhile */
    bool over;           /* the loop ended */
    bool ticking;        /* the stand-by's timerfd runs */
    int64_t started_us;  /* mono: this turn's inline runs began */
    int tfd, exitfd;     /* the stand-by's tick; eventfd: the loop ended */
    wk_job_t *jobs, *jobs_tail; /* picked to run inline at the end of this turn */
    uint64_t ran, handed_over; /* counters (atomics) */
} wk_inline_t;

/* The worker process's settings (worker_args.c: wk_config_table). */
typedef struct {
    sy_strlist_t brokers, functions;
    int concurrency;
    double timeout_s;
    char *worker_id;        /* NULL: hostname-pid */
    double drain_timeout_s;
    int inline_us;
    int reconnect_ms;
    char *broker_key, *public_key, *secret_key;
    char *log_level;
    char *region;           /* AWS_REGION of runtime processes */
    int keygen;
    double broker_resolve_s; /* look --broker names up again this often (0: at start only) */
    char *broker_hosts_file; /* hosts(5) lines consulted before DNS */
} wk_config_t;
extern const sy_config_table_t wk_config_table;

struct wk_worker {
    wk_config_t cfg;
    char worker_id[128];
    wk_fn_t *fns;
    int nfns;
    wk_conn_t *conns;
    int nconns;
    void *zctx;
    int evfd, sigfd;
    pthread_mutex_t done_mu;
    wk_job_t *done; /* finished by slot threads */
    struct wk_extend *extends; /* EXTEND requests from slot threads (done_mu) */
    wk_job_t *inflight; /* main thread: jobs handed to slots */
    bool draining;
    int64_t drain_deadline;
    int64_t drain_timeout_ms;
    int64_t reconnect_min_ms;
    char broker_key[41], public_key[41], secret_key[41];
    int exit_code;
    wk_inline_t inl;
    pthread_t standby_thread;
    bool standby_started;
    int *spare;                       /* per function: slots no session holds (resolve.c) */
    struct wk_resolver *resolver;
};
typedef struct wk_resolver wk_resolver_t;

typedef struct wk_extend {
    int conn;
    uint64_t delivery_id;
    char lease_token[128];
    wk_fn_t *fn;
    int64_t ms;
    struct wk_extend *next;
} wk_extend_t;

wk_fn_t *wk_fn_find(wk_worker_t *w, const char *name);
/* worker_send.c */
int wk_conn_send(wk_conn_t *c, const Syw__Envelope *e, const void *body, size_t len);
void wk_send_credit(wk_conn_t *c, wk_fn_t *fn, int amount);
void wk_send_result(wk_conn_t *c, wk_job_t *j, int credit);
void wk_send_simple(wk_conn_t *c, int cmd); /* HEARTBEAT or GOODBYE */
wk_conn_t *wk_active_conn(wk_worker_t *w, int idx);
void wk_grant_free(wk_worker_t *w);
void wk_settle(wk_worker_t *w, wk_job_t *j, bool slot_free);
void wk_inflight_remove(wk_worker_t *w, wk_job_t *j);
void wk_take_done(wk_worker_t *w);
/* worker_conn.c */
void wk_conn_open(wk_worker_t *w, wk_conn_t *c);
void wk_conn_reset(wk_worker_t *w, wk_conn_t *c, bool fast);
void wk_conn_close(wk_conn_t *c); /* at exit */
void wk_conn_monitor(wk_conn_t *c); /* read handshake-failure events */
int wk_on_message(wk_worker_t *w, int ci); /* 0, or 3: fatal version mismatch */
void wk_extend_push(wk_worker_t *w, const wk_job_t *j, int64_t ms);
/* argv[0] is "worker". 0; 1: --help or --keygen done (exit 0); 2: usage error. */
int wk_args_parse(wk_worker_t *w, int argc, char **argv);
void wk_job_free(wk_job_t *j);
void wk_job_set_error(wk_job_t *j, const char *type, const char *msg, bool retryable);
void wk_job_set_timeout(wk_job_t *j);
/* (Re)start the job's clock at now: deadline = min(now + timeout, caller's). */
void wk_job_start_clock(wk_job_t *j, int64_t now);
/* slot threads hand finished jobs to the main thread */
void wk_done_push(wk_worker_t *w, wk_job_t *j);
wk_job_t *wk_queue_pop(wk_fn_t *fn);
void wk_queue_push(wk_fn_t *fn, wk_job_t *j); /* to the slot threads */
/* resolve.c: one session per address every --broker resolves to */
int wk_resolve_init(wk_worker_t *w);   /* sessions for the first lookup; the resolver thread */
void wk_resolve_tick(wk_worker_t *w);  /* loop thread: apply lookups, retire gone sessions */
void wk_resolve_stop(wk_worker_t *w);
void wk_rebalance(wk_worker_t *w);
int wk_slot_return(wk_worker_t *w, wk_job_t *j); /* credit to send with j's result */
int wk_endpoint_split(const char *ep, char *host, size_t hn, char *port, size_t pn);
/* worker_exec.c */
int wk_exec_start(wk_fn_t *fn);  /* load the .so / prepare envs, start slot threads */
void wk_exec_run(wk_fn_t *fn, wk_job_t *j); /* run a C handler's job on this thread */
void wk_exec_stop(wk_fn_t *fn);  /* stop threads, kill runtime processes */
/* worker_inline.c */
int wk_inline_init(wk_worker_t *w);
/* on DELIVER: keep j to run inline at the end of this loop turn? */
bool wk_inline_take(wk_worker_t *w, wk_job_t *j);
/* run the kept job; 0: still the leader, 1: the stand-by took the loop */
int wk_inline_run(wk_worker_t *w);
/* wait as the stand-by; true: took the loop over, false: the loop ended */
bool wk_inline_standby(wk_worker_t *w);
/* the loop ended; true when the other thread is still inside a handler */
bool wk_inline_end(wk_worker_t *w);
void wk_inline_free(wk_worker_t *w);
/* worker_runtime.c */
int wk_runtime_init(wk_fn_t *fn);
void *wk_runtime_slot(void *arg);
void wk_runtime_stop(wk_fn_t *fn); /* kill processes, wake slots */
void wk_runtime_free(wk_fn_t *fn); /* after the slot threads joined */
void *wk_runtime_env_at(wk_fn_t *fn, int i);
void wk_runtime_cancel(wk_fn_t *fn, const wk_job_t *j);

#endif
