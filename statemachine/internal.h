/* statemachine/internal.h - the Step Functions service, shared by the files
 * of this folder only: service.c (start/stop, seams, test_double.c) ->
 * api*.c (actions) -> executor*.c, express.c, machine_cache.c (engine) ->
 * store_sfn.c (the only SQL). The interpreter is asl/, used through
 * asl/asl.h only. */
#ifndef SY_STATEMACHINE_INTERNAL_H
#define SY_STATEMACHINE_INTERNAL_H

#include "core/core.h"
#include "asl/asl.h"
#include "queue/queue.h"
#include "statemachine/statemachine.h"

#include <pthread.h>

#define SFN_WORK_QUEUE "__sfn_work"
#define SFN_EXECUTORS 4

typedef struct sfn_defc sfn_defc_t; /* parsed-definition cache entry */
typedef struct sfn_waiter sfn_waiter_t; /* an express execution waiting for a function */
typedef struct sfn_mc sfn_mc_t;         /* a cached state machine (machine_cache.c) */
#define SFN_MC_BUCKETS 256

typedef struct {
    sy_ctx_t *ctx;
    pthread_t threads[SFN_EXECUTORS];
    int nthreads;
    volatile int stop;
    sy_sfn_invoke_fn invoker;
    void *invoker_udata;
    bool invoker_is_double; /* the test double is installed: setters leave it */
    sy_sfn_publish_fn publish;     /* sns:publish (NULL: unsupported) */
    sy_sfn_put_event_fn put_event; /* events:putEvents */
    pthread_mutex_t mu; /* guards defs and waiters */
    sfn_defc_t *defs;
    sfn_waiter_t *waiters;
    sfn_mc_t *mc[SFN_MC_BUCKETS]; /* guarded by mu */
} sfn_svc_t;

/* authz.c: the access check of one request; 0 when allowed */
int sfn_authorize(const sy_req_t *req, const json_t *in, sy_err_t *err);

sfn_svc_t *sfn_svc(const sy_ctx_t *ctx);
/* A parsed definition, cached for the process lifetime (borrowed). NULL when
 * the text does not parse. */
const sy_asl_def_t *sfn_def_get(sfn_svc_t *svc, const char *text);
double sfn_scale(const sy_ctx_t *ctx);
/* Integer member k of a work message or other JSON object; 0 when absent. */
int64_t sfn_int(const json_t *o, const char *k);
/* Install the built-in test invoker (test_double.c); service.c does when
 * the test_doubles setting names "sfn-invoker". */
void sfn_test_double_install(sfn_svc_t *svc);

/* ---- one run of the interpreter (durable or express) ---- */
typedef struct {
    sy_ctx_t *ctx;
    sfn_svc_t *svc;
    PGconn *c;            /* durable: the connection of the open transaction */
    bool in_tx;           /* durable: the transaction on c is open */
    bool express;
    const char *exec_arn;
    json_t *timers;       /* express: [{r, due}] */
    json_t *results;      /* express: task results delivered by the invoker */
    sfn_waiter_t *waiter; /* express */
    int64_t deadline_ms;  /* express: TimeoutSeconds (scaled) from the start; 0 none */
} sfn_run_t;

/* Durable: open the run's transaction on r->c (sy_pg_begin) unless it is
 * open already; EXPRESS: nothing to do. */
int sfn_tx_begin(sfn_run_t *r, sy_err_t *err);
/* Step until blocked; synchronous task results are fed back in. Durable
 * follow-up messages are written on r->c inside the transaction. */
int sfn_drive(sfn_run_t *r, sy_asl_exec_t *x, sy_err_t *err);
/* Dispatch one outstanding request of x (used after a redrive too). Returns
 * 1 when the task completed synchronously (*res or *error set), 0 when it
 * waits, <0 on a database error. */
int sfn_dispatch(sfn_run_t *r, const sy_asl_req_t *q, json_t **res, char **error, char **cause, sy_err_t *err);
/* Send a work message (durable, inside r's transaction). delay_ms is real time. */
int sfn_work_send(sfn_run_t *r, json_t *body, int64_t delay_ms, sy_err_t *err);
int sfn_work_send_c(sy_ctx_t *ctx, PGconn *c, json_t *body, int64_t delay_ms, sy_err_t *err);
/* Apply one work message body (see executor_loop.c) to its execution in
 * the open transaction on c; 0 also when it is stale (nothing changes). */
int sfn_apply_in_tx(sfn_svc_t *svc, PGconn *c, const json_t *b, sy_err_t *err);
/* > 0 while this thread is inside a function invoker (executor_tasks.c): an
 * outcome reported synchronously from there (the test double does) belongs
 * to an execution whose checkpoint is not written yet, so it goes as a work
 * message instead of being applied inline. */
extern _Thread_local int sfn_invoker_depth;
/* Deliver a function result to an express execution waiting in this process. */
bool sfn_express_deliver(sfn_svc_t *svc, const char *exec_arn, int64_t req, const json_t *res,
                         const char *error, const char *cause);

/* The context object of an execution. */
json_t *sfn_context_new(const char *exec_arn, const char *exec_name, const char *sm_arn, const char *sm_name,
                        const char *role_arn, int64_t start_ms, int redrive_count);

/* ---- executor (executor.c) ---- */
int sfn_arm_exec_timeout(sfn_run_t *r, const sy_asl_def_t *def, int redrive_count, sy_err_t *err);
int sfn_executor_start(sfn_svc_t *svc, sy_err_t *err);
void sfn_defs_free(sfn_svc_t *svc);
void sfn_executor_stop(sfn_svc_t *svc);
/* Persist the outcome of a step: history, checkpoint or final status, and the
 * parent's notification for nested .sync; on r->c inside the transaction. */
int sfn_persist(sfn_run_t *r, sy_asl_exec_t *x, const json_t *parent, sy_err_t *err);
typedef struct sfn_execrow sfn_execrow_t;
/* row (may be NULL): the execution's row, for the nested .sync parent's notification */
int sfn_persist_ex(sfn_run_t *r, sy_asl_exec_t *x, const sfn_execrow_t *row, sy_err_t *err);
json_t *sfn_function_result(const char *resource, const json_t *out);
/* express: wait for a timer or a function result; 1 resumed, 0 nothing to wait for, <0 error */
int sfn_express_block(sfn_run_t *r, sy_asl_exec_t *x, sy_err_t *err);

/* ---- operations (executor_ops.c) ---- */
int sfn_stop_execution(sfn_svc_t *svc, const char *arn, const char *error, const char *cause, int64_t *stop_ms,
                       sy_err_t *err);
int sfn_redrive_execution(sfn_svc_t *svc, const char *arn, int64_t *redrive_ms, sy_err_t *err);
int sfn_task_callback(sfn_svc_t *svc, const char *token, char kind, const json_t *output, const char *error,
                      const char *cause, sy_err_t *err);

/* ---- express (express.c) ---- */
/* Run an execution in memory to the end; history: record the events (TestState);
 * vars (may be NULL): the workflow variables it starts with (TestState). */
sy_asl_exec_t *sfn_express_run(sfn_svc_t *svc, const sy_asl_def_t *def, const json_t *input,
                               const json_t *context, const char *exec_arn, bool history, const json_t *vars,
                               sy_err_t *err);

/* ---- starting executions (shared by the API and nested startExecution) ---- */
typedef struct {
    const char *sm_arn;
    const char *name;   /* NULL: a UUID */
    const char *input;  /* JSON text; NULL: "{}" */
    const json_t *parent; /* nested .sync: {"e","r","m"} */
} sfn_start_t;
/* Start a STANDARD execution durably. c: an open transaction to join, or
 * NULL for a transaction of its own. *arn_out new, *start_ms set. */
int sfn_start_standard(sfn_svc_t *svc, PGconn *c, const sfn_start_t *s, char **arn_out, int64_t *start_ms,
                       sy_err_t *err);

/* ---- state machines by ARN, cached (machine_cache.c) ---- */
typedef struct sfn_machine sfn_machine_t;
/* A reference to the machine (StateMachineDoesNotExist when unknown); release it.
 * The caller has checked that arn is a state machine ARN. */
int sfn_mc_get(sfn_svc_t *svc, const char *arn, sfn_mc_t **out, sy_err_t *err);
const sfn_machine_t *sfn_mc_machine(const sfn_mc_t *e);
const sy_asl_def_t *sfn_mc_def(const sfn_mc_t *e); /* NULL when the definition does not parse */
void sfn_mc_release(sfn_svc_t *svc, sfn_mc_t **e_p);
void sfn_mc_forget(sfn_svc_t *svc, const char *arn); /* after a local update or delete */
void sfn_mc_free(sfn_svc_t *svc);

/* ---- store (store_sfn.c): the only SQL ---- */
struct sfn_machine {
    char *arn, *name, *type, *definition, *role_arn;
    json_t *extra, *tags;
    int64_t created_ms, updated_ms;
};
void sfn_machine_clear(sfn_machine_t *m);
int store_machine_insert(sy_ctx_t *ctx, const sfn_machine_t *m, bool *existed, sy_err_t *err);
int store_machine_get(sy_ctx_t *ctx, PGconn *c, const char *arn, sfn_machine_t *m, sy_err_t *err);
int store_machine_update(sy_ctx_t *ctx, const char *arn, const char *definition, const char *role_arn,
                         json_t *extra, int64_t now_ms, sy_err_t *err);
int store_machine_delete(sy_ctx_t *ctx, const char *arn, sy_err_t *err);
int store_machine_list(sy_ctx_t *ctx, int64_t after, int max, json_t **rows, sy_err_t *err);
int store_machine_tags(sy_ctx_t *ctx, const char *arn, json_t *add, json_t *remove, json_t **tags_out,
                       sy_err_t *err);

struct sfn_execrow {
    char *arn, *machine_arn, *name, *type, *status, *input, *output, *error, *cause, *definition, *role_arn;
    json_t *state, *parent;
    int64_t start_ms, stop_ms, redrive_ms;
    int redrive_count;
};
void sfn_execrow_clear(sfn_execrow_t *e);
int store_exec_get(sy_ctx_t *ctx, PGconn *c, const char *arn, bool for_update, sfn_execrow_t *e, sy_err_t *err);
/* Insert a new execution with its first history; *existed when the ARN was
 * taken (nothing written). */
int store_exec_insert(PGconn *c, const sfn_execrow_t *e, const json_t *history, bool *existed, sy_err_t *err);
int store_exec_update(PGconn *c, const char *arn, const char *status, const json_t *state, const char *output,
                      const char *error, const char *cause, int64_t stop_ms, const json_t *history, sy_err_t *err);
int store_exec_redrive(PGconn *c, const char *arn, int64_t now_ms, sy_err_t *err);
int store_exec_list(sy_ctx_t *ctx, const char *sm_arn, const char *status, int64_t before_seq, int max,
                    json_t **rows, sy_err_t *err);
int store_history_page(sy_ctx_t *ctx, const char *arn, bool reverse, int64_t after, int max, json_t **events,
                       sy_err_t *err);
int64_t store_history_max(PGconn *c, const char *arn, sy_err_t *err);
int store_task_insert(PGconn *c, const char *token, const char *exec_arn, int64_t req, int64_t hb_s,
                      int64_t now_ms, sy_err_t *err);
typedef struct {
    char exec_arn[512];
    int64_t req, hb_s, last_hb_ms;
    bool done;
} sfn_taskrow_t;
/* 0 found, SY_E_NOTFOUND when the token is unknown. */
int store_task_get(PGconn *c, const char *token, bool for_update, sfn_taskrow_t *t, sy_err_t *err);
int store_task_find(PGconn *c, const char *exec_arn, int64_t req, sfn_taskrow_t *t, sy_err_t *err);
int store_task_heartbeat(PGconn *c, const char *token, int64_t now_ms, sy_err_t *err);
int store_task_done(PGconn *c, const char *token, sy_err_t *err);
int store_tasks_done_exec(PGconn *c, const char *exec_arn, sy_err_t *err);
/* The savepoint of a nested start inside the caller's transaction on c. */
int store_savepoint(PGconn *c, sy_err_t *err);
int store_savepoint_release(PGconn *c, sy_err_t *err);
void store_savepoint_rollback(PGconn *c);
/* The same with a savepoint name of the caller's (a constant identifier). */
int store_savepoint_named(PGconn *c, const char *name, sy_err_t *err);
int store_savepoint_release_named(PGconn *c, const char *name, sy_err_t *err);
void store_savepoint_rollback_named(PGconn *c, const char *name);

/* store_console.c: counts for the web console, NULL on error */
json_t *sfn_store_console_summary(sy_ctx_t *ctx, const char *machine_arn, sy_err_t *err);
#endif
