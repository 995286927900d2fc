/* lambda/fleet_internal.h - what fleet.c (the registry, the fleet thread,
 * the target side of a hand-over) and fleet_route.c (the origin side:
 * where a sync call goes, and what happens when the broker it went to does
 * not answer) share. Private to those two files. */
#ifndef SY_LAMBDA_FLEET_INTERNAL_H
#define SY_LAMBDA_FLEET_INTERNAL_H

#include "lambda/fleet.h"

typedef struct waiter {
    char id[37];
    sy_invoke_cb cb;
    void *u;
    int64_t deadline_ms; /* epoch */
    /* what a second attempt needs when the target broker is gone before it
     * ran the call (fleet.c: orphans) */
    char key[LM_NAME_MAX + 18], request_id[40], traceparent[64];
    void *payload;
    size_t len;
    int attempt;   /* 0: first hand-over */
    bool deferred; /* no row: waits for the next heartbeat to be tried again */
    struct waiter *next;
} waiter_t;


typedef struct outcome { /* a call this broker served, to write back */
    char id[37];
    int status;
    char *etype, *emsg;
    void *result;
    size_t len;
    struct outcome *next;
} outcome_t;

typedef struct {
    char name[LM_NAME_MAX + 1];
    int64_t since; /* mono ms: first heartbeat that saw it hosted here */
} hosted_t;

struct lm_fleet {
    lm_svc_t *s;
    char id[37], hex[33], channel[48];
    PGconn *c; /* the thread's own: LISTEN, claims, outcomes */
    pthread_t thread;
    bool started;
    int evfd;
    pthread_mutex_t mu; /* everything below */
    bool stop, draining;
    waiter_t *waiters;
    outcome_t *outbox;
    lm_peer_t *peers;
    int npeers;
    hosted_t *hosted;
    int nhosted;
};

void lm_fleet_waiter_free(waiter_t *w);
/* fleet_route.c, run by the fleet thread: */
void lm_fleet_answer(lm_fleet_t *fl, const char *id);   /* a served call's outcome is in: answer its caller */
void lm_fleet_deferred(lm_fleet_t *fl);                 /* after a heartbeat: try deferred calls again */
void lm_fleet_orphans(lm_fleet_t *fl);                  /* after a heartbeat: calls whose target is gone */
void lm_fleet_expire(lm_fleet_t *fl, bool all);         /* callers past their deadline (all: every one) */

#endif
