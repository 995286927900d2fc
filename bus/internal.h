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
double eb_scale(const sy_ctx_t *ctx); /* the time scale (> 0) */

/* The current snapshot (refreshed when the DB version moved; c: any
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
/* Shape the input of one target. Returns a new string, or NULL with err. */
char *eb_target_input(const json_t *target, const json_t *event, const char *event_text, const char *rule_arn,
                      const char *rule_name, sy_err_t *err);
/* A new envelope. detail: borrowed object. */
json_t *eb_envelope(const sy_ctx_t *ctx, const char *id, const char *detail_type, const char *source,
                    int64_t time_ms, const json_t *resources, const json_t *detail);

/* test_double.c: install the doubles cfg.test_doubles names ("bus-invoker":
 * a function invoker for tests); nothing when it names none of bus/'s. */
void eb_test_doubles_install(eb_svc_t *svc);

/* ---- deliveries (eb_deliver.c) ---- */
int eb_deliver_start(eb_svc_t *svc, sy_err_t *err);
/* Send a delivery message inside the open transaction. */
int eb_delivery_enqueue(sy_ctx_t *ctx, PGconn *c, const json_t *msg, sy_err_t *err);
int eb_http_send(eb_svc_t *svc, const char *dest_arn, const json_t *target, const char *body, sy_err_t *err);

/* ---- schedules (eb_schedule.c) ---- */
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

/* ---- store (store_eb.c): the only SQL ---- */
/* Run sql; rows as an array of objects {column: string|null} (new). */
json_t *store_eb_rows(PGconn *c, sy_err_t *err, const char *sql, int n, const char *const *p);
/* Same on a pool connection. */
json_t *store_eb_q(sy_ctx_t *ctx, sy_err_t *err, const char *sql, int n, const char *const *p);
/* Rows changed by a command, or <0. */
int store_eb_cmd(PGconn *c, sy_err_t *err, const char *sql, int n, const char *const *p);
int store_eb_bump(PGconn *c, sy_err_t *err); /* rules version += 1 */
int64_t store_eb_version(PGconn *c, sy_err_t *err);
int store_eb_tx(sy_ctx_t *ctx, PGconn **c, sy_err_t *err); /* acquire + BEGIN */
int store_eb_end(sy_ctx_t *ctx, PGconn *c, int rc, sy_err_t *err); /* COMMIT or ROLLBACK + release */

int store_eb_ensure_default(sy_ctx_t *ctx, sy_err_t *err);
json_t *store_eb_bus_get(sy_ctx_t *ctx, const char *name, sy_err_t *err); /* NULL + NOTFOUND rc in err */
int store_eb_archive_write(PGconn *c, const char *archive, int64_t time_ms, const char *event, sy_err_t *err);

#endif
