/* lambda/fleet.h - inside lambda/ only: many brokers as one service
 * (issue 11). fleet.c runs the broker registry (a heartbeat row per broker
 * in sy_brokers naming the functions its workers host) and hands synchronous
 * invocations to a broker whose workers host the function (sy_fleet_calls +
 * LISTEN/NOTIFY); concurrency.c splits reserved and account concurrency
 * into per-broker shares from that registry; backlog.c serves the backlog
 * gauges and GET /keda/backlog. */
#ifndef SY_LAMBDA_FLEET_H
#define SY_LAMBDA_FLEET_H

#include "lambda/internal.h"

typedef struct lm_fleet lm_fleet_t;
typedef struct lm_backlog lm_backlog_t;

/* A live broker as the registry shows it. */
typedef struct {
    char id[33];        /* uuid without dashes: also its channel sy_fleet_<id> */
    json_t *functions;  /* {"fn": {"w": sessions, "c": credit, "r": room (-1 none), "s": sync, "o": async}} */
} lm_peer_t;

/* A synchronous call handed between brokers. */
typedef struct {
    char id[37];        /* uuid, chosen by the origin */
    char origin[33];    /* hex */
    char function[LM_NAME_MAX + 1];
    int64_t deadline_ms;
    char request_id[40];
    char traceparent[64];
    char *payload;      /* owned */
    size_t len;
} lm_call_t;

/* store_fleet.c */
int lm_store_fleet_listen(PGconn *c, const char *channel, sy_err_t *err);
int lm_store_fleet_heartbeat(PGconn *c, const char *id, const char *account, bool draining, const char *functions,
                             sy_err_t *err);
int lm_store_fleet_peers(PGconn *c, const char *account, int stale_ms, lm_peer_t **out, int *n, int *reserved_sum,
                         sy_err_t *err);
int lm_store_fleet_leave(PGconn *c, const char *id, sy_err_t *err);
int lm_store_fleet_gc(PGconn *c, sy_err_t *err);
int lm_store_fleet_call_put(PGconn *c, const lm_call_t *call, const char *target_hex, sy_err_t *err);
int lm_store_fleet_call_claim(PGconn *c, const char *id, const char *me_hex, lm_call_t *out, sy_err_t *err);
int lm_store_fleet_call_missed(PGconn *c, const char *me_hex, char ***ids, char **kinds, int *n, sy_err_t *err);
int lm_store_fleet_call_done(PGconn *c, const char *id, int status, const char *etype, const char *emsg,
                             const void *result, size_t len, sy_err_t *err);
int lm_store_fleet_call_take(PGconn *c, const char *id, int *status, char **etype, char **emsg, char **result,
                             size_t *len, sy_err_t *err);
int lm_store_fleet_call_drop(PGconn *c, const char *id, sy_err_t *err);
int lm_store_fleet_call_orphans(PGconn *c, const char *me_hex, int stale_ms, char ***ids, char **states,
                                char ***targets, int *n, sy_err_t *err);

/* fleet.c */
int lm_fleet_start(lm_svc_t *s, sy_err_t *err);
void lm_fleet_draining(lm_svc_t *s);  /* stop taking calls from other brokers, leave the registry */
void lm_fleet_stop(lm_svc_t *s);      /* after the pool is gone */
/* A synchronous invocation wherever a worker hosts the function: through
 * this broker's pool when its workers host it and its share has room, else
 * handed to the broker the registry shows best placed. 0: cb will be called
 * once (on the pool or the fleet thread); LM_SYNC_THROTTLED: no room
 * anywhere (cb not called); <0: error (cb not called). */
#define LM_SYNC_THROTTLED 1
int lm_sync_invoke(lm_svc_t *s, const char *name, const void *payload, size_t len, const sy_invoke_opts_t *o,
                   sy_invoke_cb cb, void *u);
/* The same through this broker's pool only (a call handed over by another). */
int lm_sync_invoke_local(lm_svc_t *s, const char *name, const void *payload, size_t len, const sy_invoke_opts_t *o,
                         sy_invoke_cb cb, void *u);
/* Does any live broker's worker host the function (creating it on lookup)? */
bool lm_fleet_hosts(lm_svc_t *s, const char *name);
/* Sync invocations running across the fleet for name (registry, <= 1 heartbeat old). */
int lm_fleet_sync_running(lm_svc_t *s, const char *name);

/* concurrency.c: with s->mu held */
/* Room for one more invocation of f on this broker (sync or async): its
 * share of f's reserved concurrency, or of the account's unreserved
 * concurrency, less what runs here. -1: no limit. */
int lm_conc_room(lm_svc_t *s, const lm_fn_t *f);
/* Take / give back a synchronous slot (take: false when there is no room). */
bool lm_conc_take(lm_svc_t *s, const char *name);
void lm_conc_give(lm_svc_t *s, const char *name);
/* True when this broker holds no share for name only because of where the
 * fleet stands right now: other brokers host it and this one does not, or
 * started hosting it less than two heartbeats ago (its share is 0 until the
 * others have shrunk theirs). A sync call throttled then is retried after
 * the next heartbeat instead of answered 429 (fleet.c: defer). */
bool lm_conc_unsettled(lm_svc_t *s, const char *name);
/* fleet.c -> concurrency.c: the registry changed. peers (not including
 * this broker) are borrowed for the call. */
typedef struct lm_shares lm_shares_t;
void lm_conc_update(lm_svc_t *s, const char *me_hex, const lm_peer_t *peers, int npeers, int reserved_sum,
                    const char *const *hosted, const int64_t *hosted_since, int nhosted, int64_t settle_ms);
void lm_conc_init(lm_svc_t *s);
void lm_conc_free(lm_svc_t *s);

/* backlog.c */
void lm_backlog_start(lm_svc_t *s);
void lm_backlog_stop(lm_svc_t *s);

#endif
