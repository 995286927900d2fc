/* bus/internal.h - the EventBridge service, shared by the files of bus/
 * only (the matcher is the pattern/ library). */
#ifndef SY_BUS_INTERNAL_H
#define SY_BUS_INTERNAL_H

#include "bus/bus.h"
#include "asl/asl.h"
#include "pattern/pattern.h"
#include "core/core.h"
#include "queue/queue.h"

#include <pthread.h>

#define EB_DELIVER_QUEUE "__eb_deliver"
#define EB_DELIVERERS 2
#define EB_MAX_TARGETS 5
#define EB_MAX_HOPS 4

/* ---- the rules snapshot: everything PutEvents needs, immutable ---- */
typedef struct {
    char *bus, *name, *arn, *schedule;
    bool enabled;
    json_t *targets; /* array of Target objects as stored */
} eb_rule_t;

typedef struct {
    char *name;
    sy_matcher_t *m;   /* rules "r<idx>" and archives "a<idx>" */
    json_t *all_archives; /* indices of archives without a pattern */
} eb_busm_t;

typedef struct {
    char *name, *bus;
} eb_archive_t;

typedef struct eb_snap {
    int64_t version;
    int refs;
    size_t nrules, nbuses, narchives;
    eb_rule_t *rules;
    eb_busm_t *buses;
    eb_archive_t *archives;
} eb_snap_t;

typedef struct {
    sy_ctx_t *ctx;
    pthread_mutex_t mu; /* guards snap, rate limiter */
    eb_snap_t *snap;
    pthread_t threads[EB_DELIVERERS + 1];
    int nthreads;
    volatile int stop;
    sy_bus_invoke_fn invoker;
    void *invoker_udata;
    sy_bus_topic_fn publisher; /* SNS topic targets (set by the composition root) */
    void *publisher_udata;
    sy_bus_start_execution_fn starter; /* state machine targets (set by the composition root) */
    void *starter_udata;
    json_t *rate; /* api destination name -> next allowed time (us) */
} eb_svc_t;

/* service.c */
eb_svc_t *eb_svc(const sy_ctx_t *ctx);
/* authz.c: the access check of one request; 0 when allowed */
int eb_authorize(const sy_req_t *req, const json_t *in, sy_err_t *err);
double eb_scale(const sy_ctx_t *ctx); /* the time scale (> 0) */
/* test_double.c: install the test doubles cfg.test_doubles names
 * ("bus-invoker": the function invoker); tests only, never exported. */
void eb_test_doubles_install(eb_svc_t *svc);

/* ---- the rules cache (rules_cache.c) ----
 * The current snapshot (refreshed when the DB version moved; c: any
 * connection, may be inside a transaction). NULL on a database error. */
eb_snap_t *eb_snap_get(eb_svc_t *svc, PGconn *c, sy_err_t *err);
void eb_snap_release(eb_svc_t *svc, eb_snap_t *s);
const eb_busm_t *eb_snap_bus(const eb_snap_t *s, const char *name);
const eb_rule_t *eb_snap_rule_by_arn(const eb_snap_t *s, const char *arn);
void eb_snap_drop(eb_svc_t *svc); /* stopping: release the service's snapshot */

/* ---- routing (eb_route.c) ---- */
typedef struct {
    const char *bus;
    const json_t *event;        /* the envelope */
    const char *only_rule_arn;  /* schedules: this rule only */
    const json_t *filter_arns;  /* replays: these rules only (NULL: all) */
    bool archive;               /* write matching archives (not for replays) */
    int hops;
} eb_route_t;
/* Match and write every delivery inside the open transaction on c. Returns
 * the number of deliveries written, or <0 (database error: the
 * transaction is broken). */
int eb_route(eb_svc_t *svc, eb_snap_t *s, PGconn *c, const eb_route_t *r, sy_err_t *err);
/* Shape the input of one target (eb_transform.c). Returns a new string, or NULL with err. */
char *eb_target_input(const json_t *target, const json_t *event, const char *event_text, const char *rule_arn,
                      const char *rule_name, sy_err_t *err);
/* A new envelope. detail: borrowed object. */
json_t *eb_envelope(const sy_ctx_t *ctx, const char *id, const char *detail_type, const char *source,
                    int64_t time_ms, const json_t *resources, const json_t *detail);

/* ---- deliveries (eb_deliver.c) ---- */
int eb_deliver_start(eb_svc_t *svc, sy_err_t *err);
/* Send a delivery message inside the open transaction. */
int eb_delivery_enqueue(sy_ctx_t *ctx, PGconn *c, const json_t *msg, sy_err_t *err);
/* Deliver body to an API destination over HTTP (eb_http.c); 0, or <0 with
 * err->code "HttpError" (4xx: not retried), "RetryableHttpError", ... */
int eb_http_send(eb_svc_t *svc, const char *dest_arn, const json_t *target, const char *body, sy_err_t *err);

/* ---- schedules (eb_schedule.c: expressions, eb_ticker.c: the ticker) ---- */
/* 0 when the expression is valid (rate() or AWS's 6-field cron()). */
int eb_schedule_parse(const char *expr, sy_err_t *err);
/* The first tick strictly after from_ms (epoch ms). rate(): scaled by the
 * time scale; cron(): on the wall clock (UTC). -1 when none. */
int64_t eb_schedule_next(const char *expr, int64_t from_ms, double scale);
int eb_ticker_start(eb_svc_t *svc, sy_err_t *err);

/* ---- the router (api.c) and the helpers of the api_*.c files (api_common.c) ---- */
void eb_api_handle(sy_req_t *req, sy_resp_t *resp, void *udata);
const char *eb_req_str(const json_t *in, const char *key, sy_err_t *err);
int eb_validation(sy_err_t *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int eb_not_found(sy_err_t *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The bus name of EventBusName (a name or an ARN; NULL: "default"). New string. */
char *eb_bus_name(const json_t *in, const char *key);
double eb_secs(int64_t ms);
int64_t eb_in_time_ms(const json_t *v); /* a JSON timestamp (epoch seconds) or -1 */

/* ---- the store (store*.c): the only SQL of bus/ ----
 * Functions on a PGconn run inside the caller's transaction; functions on
 * a ctx run on a pool connection of their own. A row is an object
 * {column: string|null}; lists are arrays of rows (new references, NULL
 * with err on a database error). Row counts and "found" (1/0) are >= 0,
 * errors < 0. */
/* store_eb.c: shared by the store files */
json_t *store_eb_rows(PGconn *c, sy_err_t *err, const char *sql, int n, const char *const *p);
json_t *store_eb_q(sy_ctx_t *ctx, sy_err_t *err, const char *sql, int n, const char *const *p);
int store_eb_cmd(PGconn *c, sy_err_t *err, const char *sql, int n, const char *const *p); /* rows changed */
int store_eb_one(json_t *rows, json_t **row); /* takes rows: 1 with *row (new), 0 none, <0 when rows is NULL */
const char *store_eb_i64(char buf[24], int64_t v); /* a bigint parameter */
int store_eb_bump(PGconn *c, sy_err_t *err); /* rules version += 1: every rule, target, archive change */
int64_t store_eb_version(PGconn *c, sy_err_t *err);

/* store_buses.c */
int store_eb_ensure_default(sy_ctx_t *ctx, sy_err_t *err);
int store_eb_bus_get(sy_ctx_t *ctx, const char *name, json_t **row, sy_err_t *err);
int store_eb_bus_insert(PGconn *c, const char *name, const char *arn, const char *description, const char *tags,
                        int64_t created_ms, sy_err_t *err); /* 0: it exists */
int store_eb_bus_delete(PGconn *c, const char *name, sy_err_t *err); /* with its rules, schedules, targets */
json_t *store_eb_bus_list(sy_ctx_t *ctx, const char *prefix, const char *after, int max_rows, sy_err_t *err);
int store_eb_bus_policy_put(PGconn *c, const char *bus, const char *statements, bool replace, sy_err_t *err);
int store_eb_bus_policy_remove(PGconn *c, const char *bus, const char *sid, bool all, sy_err_t *err);
/* Add the tags of add (an object) and drop the keys of remove (an array)
 * on the bus or rule arn; its tags after the change (0 or 1 row). */
json_t *store_eb_tags_edit(sy_ctx_t *ctx, bool of_rule, const char *arn, const char *add, const char *remove,
                           sy_err_t *err);

/* store_rules.c */
typedef struct {
    const char *bus, *name, *arn, *pattern, *schedule, *state, *description;
    const char *tags; /* a JSON object */
    int64_t created_ms;
} eb_rule_in_t;
/* c may be NULL (a pool connection); the row has ntargets. */
int store_eb_rule_get(sy_ctx_t *ctx, PGconn *c, const char *bus, const char *name, json_t **row, sy_err_t *err);
int store_eb_rule_put(PGconn *c, const eb_rule_in_t *r, sy_err_t *err); /* insert, or update an existing rule */
json_t *store_eb_rule_list(sy_ctx_t *ctx, const char *bus, const char *prefix, const char *after, int max_rows,
                           sy_err_t *err);
int store_eb_rule_delete(PGconn *c, const char *bus, const char *name, const char *arn, sy_err_t *err);
int store_eb_rule_set_state(PGconn *c, const char *bus, const char *name, const char *state, sy_err_t *err);
json_t *store_eb_target_ids_lock(PGconn *c, const char *bus, const char *rule, sy_err_t *err); /* FOR UPDATE */
int store_eb_target_put(PGconn *c, const char *bus, const char *rule, const char *id, const char *arn,
                        const char *spec, sy_err_t *err);
int store_eb_targets_delete(PGconn *c, const char *bus, const char *rule, const char *ids, sy_err_t *err);
json_t *store_eb_target_list(sy_ctx_t *ctx, const char *bus, const char *rule, const char *after, sy_err_t *err);
json_t *store_eb_rules_by_target(sy_ctx_t *ctx, const char *target_arn, const char *bus, const char *after,
                                 sy_err_t *err);
/* What a rules snapshot is built from: the buses, the rules with their
 * targets, the enabled archives. 0, or <0 with all three NULL. */
int store_eb_snapshot_rows(PGconn *c, json_t **buses, json_t **rules, json_t **archives, sy_err_t *err);

/* store_schedule.c */
/* The rule's timer: expr NULL deletes it; an unchanged expr keeps its next tick. */
int store_eb_schedule_put(PGconn *c, const char *rule_arn, const char *expr, int64_t next_ms, sy_err_t *err);
json_t *store_eb_schedules_due(PGconn *c, int64_t now_ms, sy_err_t *err); /* claimed: SKIP LOCKED */
int store_eb_schedule_move(PGconn *c, const char *rule_arn, int64_t next_ms, sy_err_t *err);

/* store_archives.c */
typedef struct {
    const char *name, *arn, *bus_arn, *bus, *pattern, *description;
    int64_t retention_days, created_ms;
} eb_archive_in_t;
typedef struct {
    const char *name, *arn, *archive, *archive_arn, *description;
    const char *destination; /* a JSON object */
    int64_t start_ms, end_ms, created_ms;
} eb_replay_in_t;
int store_eb_archive_get(sy_ctx_t *ctx, const char *name, json_t **row, sy_err_t *err);
int store_eb_archive_insert(PGconn *c, const eb_archive_in_t *a, sy_err_t *err); /* 0: it exists */
json_t *store_eb_archive_list(sy_ctx_t *ctx, const char *prefix, const char *source_arn, const char *state,
                              const char *after, sy_err_t *err);
int store_eb_archive_update(PGconn *c, const char *name, const char *pattern, const char *description,
                            int64_t retention_days, sy_err_t *err); /* NULL, <0: unchanged */
int store_eb_archive_delete(PGconn *c, const char *name, sy_err_t *err); /* with its events */
int store_eb_archive_write(PGconn *c, const char *archive, int64_t time_ms, const char *event, sy_err_t *err);
json_t *store_eb_archive_events(PGconn *c, const char *archive, const char *start_ms, const char *end_ms,
                                sy_err_t *err);
void store_eb_archive_sweep(sy_ctx_t *ctx); /* events past their archive's retention */
int store_eb_replay_insert(PGconn *c, const eb_replay_in_t *r, sy_err_t *err); /* 0: it exists */
int store_eb_replay_get(sy_ctx_t *ctx, const char *name, json_t **row, sy_err_t *err);
json_t *store_eb_replay_list(sy_ctx_t *ctx, const char *prefix, const char *archive_arn, const char *state,
                             const char *after, sy_err_t *err);
int store_eb_replay_lock(PGconn *c, const char *name, json_t **row, sy_err_t *err); /* FOR UPDATE */
int store_eb_replay_cancel(PGconn *c, const char *name, sy_err_t *err);
int store_eb_replay_claim(PGconn *c, json_t **row, sy_err_t *err); /* a STARTING replay, SKIP LOCKED */
int store_eb_replay_complete(PGconn *c, const char *name, int64_t now_ms, const char *last_ms, sy_err_t *err);

/* store_dests.c */
typedef struct {
    const char *name, *arn, *description, *connection_arn, *endpoint, *method;
    int64_t rate; /* update: <= 0 unchanged */
    int64_t created_ms, updated_ms;
} eb_dest_in_t;
int store_eb_connection_insert(PGconn *c, const char *name, const char *arn, const char *description,
                               const char *auth_type, const char *auth, int64_t created_ms, sy_err_t *err);
int store_eb_connection_get(sy_ctx_t *ctx, const char *name, json_t **row, sy_err_t *err);
int store_eb_connection_exists(sy_ctx_t *ctx, const char *arn, sy_err_t *err); /* 1/0 */
json_t *store_eb_connection_list(sy_ctx_t *ctx, const char *prefix, const char *after, sy_err_t *err);
int store_eb_connection_update(PGconn *c, const char *name, const char *description, const char *auth_type,
                               const char *auth, int64_t updated_ms, sy_err_t *err);
int store_eb_connection_delete(PGconn *c, const char *name, sy_err_t *err);
int store_eb_dest_insert(PGconn *c, const eb_dest_in_t *d, sy_err_t *err); /* 0: it exists */
int store_eb_dest_get(sy_ctx_t *ctx, const char *name, json_t **row, sy_err_t *err);
json_t *store_eb_dest_list(sy_ctx_t *ctx, const char *prefix, const char *connection_arn, const char *after,
                           sy_err_t *err);
int store_eb_dest_update(PGconn *c, const eb_dest_in_t *d, sy_err_t *err); /* NULL fields: unchanged */
int store_eb_dest_delete(PGconn *c, const char *name, sy_err_t *err);
/* A destination by ARN with its connection's auth_type and auth. */
int store_eb_dest_for_delivery(sy_ctx_t *ctx, const char *arn, json_t **row, sy_err_t *err);

/* store_console.c: counts for the web console's overview, NULL on error */
json_t *eb_store_console_summary(sy_ctx_t *ctx, sy_err_t *err);
#endif
