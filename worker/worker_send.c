/* worker/worker_send.c - what the worker tells its brokers about work:
 * results (ACK/RELEASE), credit (free slots, each broker owning a fixed share),
 * EXTENDs from handlers; and the hand-off from slot threads to the main thread. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "worker/internal.h"

void wk_job_free(wk_job_t *j)
{
    if (!j) return;
    free(j->payload);
    free(j->result);
    free(j->error_type);
    free(j->error_message);
    free(j);
}

void wk_done_push(wk_worker_t *w, wk_job_t *j)
{
    pthread_mutex_lock(&w->done_mu);
    j->next = w->done;
    w->done = j;
    pthread_mutex_unlock(&w->done_mu);
    uint64_t one = 1;
    (void)!write(w->evfd, &one, sizeof one);
}

void wk_extend_push(wk_worker_t *w, const wk_job_t *j, int64_t ms)
{
    wk_extend_t *x = sy_calloc(1, sizeof *x);
    x->conn = j->conn;
    x->delivery_id = j->delivery_id;
    snprintf(x->lease_token, sizeof x->lease_token, "%s", j->lease_token);
    x->fn = j->fn;
    x->ms = ms;
    pthread_mutex_lock(&w->done_mu);
    x->next = w->extends;
    w->extends = x;
    pthread_mutex_unlock(&w->done_mu);
    uint64_t one = 1;
    (void)!write(w->evfd, &one, sizeof one);
}

/* ------------------------------------------------------------ sending */
int wk_conn_send(wk_conn_t *c, const Syw__Envelope *e, const void *body, size_t len)
{
    if (!c->sock) return -1;
    int rc = wk_wire_send(c->sock, NULL, 0, e, NULL, body, len, NULL);
    if (rc == 0) c->last_send = wk_mono_ms();
    return rc;
}

void wk_send_credit(wk_conn_t *c, wk_fn_t *fn, int amount)
{
    Syw__Credit cr = SYW__CREDIT__INIT;
    cr.function = fn->name;
    cr.amount = (uint32_t)amount;
    Syw__Envelope e = SYW__ENVELOPE__INIT;
    e.cmd_case = SYW__ENVELOPE__CMD_CREDIT;
    e.credit = &cr;
    wk_conn_send(c, &e, NULL, 0);
}

/* Settle a job towards its broker: ACK (ok/error) or RELEASE. credit is the
 * number of slots given back to that session with it. */
void wk_send_result(wk_conn_t *c, wk_job_t *j, int credit)
{
    Syw__Envelope e = SYW__ENVELOPE__INIT;
    if (j->outcome == WK_OUT_RELEASE) {
        Syw__Release r = SYW__RELEASE__INIT;
        r.delivery_id = j->delivery_id;
        r.lease_token = j->lease_token;
        r.function = j->fn->name;
        r.reason = "worker draining";
        r.credit = (uint32_t)credit;
        e.cmd_case = SYW__ENVELOPE__CMD_RELEASE;
        e.release = &r;
        wk_conn_send(c, &e, NULL, 0);
        return;
    }
    Syw__Ack a = SYW__ACK__INIT;
    a.delivery_id = j->delivery_id;
    a.lease_token = j->lease_token;
    a.function = j->fn->name;
    a.message_id = j->message_id;
    a.outcome = j->outcome == WK_OUT_OK ? SYW__OUTCOME__OUTCOME_OK : SYW__OUTCOME__OUTCOME_FN_ERROR;
    a.error_type = j->error_type ? j->error_type : "";
    a.error_message = j->error_message ? j->error_message : "";
    a.retryable = j->retryable;
    a.duration_ms = (uint32_t)(wk_mono_ms() - j->started_mono);
    a.credit = (uint32_t)credit;
    e.cmd_case = SYW__ENVELOPE__CMD_ACK;
    e.ack = &a;
    wk_conn_send(c, &e, j->result, j->result_len);
}

wk_conn_t *wk_active_conn(wk_worker_t *w, int idx)
{
    return idx >= 0 && idx < w->nconns && w->conns[idx].state == 2 ? &w->conns[idx] : NULL;
}

/* Each broker owns a fixed share of every function's slots (concurrency
 * split evenly over the --broker list), so no broker can sit on credit
 * another one needs; a broker that is away leaves its share unused. Free
 * slots of an active session are granted to it as credit. */
void wk_grant_free(wk_worker_t *w)
{
    if (w->draining) return;
    for (int i = 0; i < w->nconns; i++) {
        wk_conn_t *c = wk_active_conn(w, i);
        for (int f = 0; c && f < w->nfns; f++) {
            if (c->free_slots[f] <= 0) continue;
            int amount = c->free_slots[f];
            c->granted[f] += amount;
            c->free_slots[f] = 0;
            wk_send_credit(c, &w->fns[f], amount);
        }
    }
}

/* A job is done (or given up): report it unless already reported. */
void wk_settle(wk_worker_t *w, wk_job_t *j, bool slot_free)
{
    wk_conn_t *c = wk_active_conn(w, j->conn);
    int credit = 0;
    if (slot_free) {
        j->fn->running--;
        credit = wk_slot_return(w, j); /* resolve.c: shares move between brokers */
    }
    if (j->reported || j->cancelled) {
        if (credit) wk_send_credit(c, j->fn, credit);
        wk_job_free(j);
        return;
    }
    j->reported = true;
    if (c) {
        wk_send_result(c, j, credit);
        wk_job_free(j);
    } else {
        /* no session right now: keep it for the next WELCOME */
        wk_conn_t *oc = &w->conns[j->conn];
        j->next = NULL;
        if (oc->outbox_tail)
            oc->outbox_tail->next = j;
        else
            oc->outbox = j;
        oc->outbox_tail = j;
    }
}

void wk_inflight_remove(wk_worker_t *w, wk_job_t *j)
{
    for (wk_job_t **pp = &w->inflight; *pp; pp = &(*pp)->inext)
        if (*pp == j) {
            *pp = j->inext;
            j->inext = NULL;
            return;
        }
}

void wk_take_done(wk_worker_t *w)
{
    uint64_t v;
    (void)!read(w->evfd, &v, sizeof v);
    pthread_mutex_lock(&w->done_mu);
    wk_job_t *j = w->done;
    w->done = NULL;
    wk_extend_t *x = w->extends;
    w->extends = NULL;
    pthread_mutex_unlock(&w->done_mu);
    while (x) { /* before the results: an EXTEND after its ACK would be stale */
        wk_extend_t *n = x->next;
        wk_conn_t *c = wk_active_conn(w, x->conn);
        if (c) {
            Syw__Extend m = SYW__EXTEND__INIT;
            m.delivery_id = x->delivery_id;
            m.lease_token = x->lease_token;
            m.function = x->fn->name;
            m.extend_ms = (uint32_t)(x->ms > UINT32_MAX ? UINT32_MAX : x->ms);
            Syw__Envelope e = SYW__ENVELOPE__INIT;
            e.cmd_case = SYW__ENVELOPE__CMD_EXTEND;
            e.extend = &m;
            wk_conn_send(c, &e, NULL, 0);
        }
        free(x);
        x = n;
    }
    while (j) {
        wk_job_t *n = j->next;
        wk_inflight_remove(w, j);
        wk_settle(w, j, true);
        j = n;
    }
}

/* ------------------------------------------------------- connections */
void wk_send_simple(wk_conn_t *c, int cmd)
{
    Syw__Envelope e = SYW__ENVELOPE__INIT;
    Syw__Heartbeat hb = SYW__HEARTBEAT__INIT;
    Syw__Goodbye gb = SYW__GOODBYE__INIT;
    e.cmd_case = cmd;
    if (cmd == SYW__ENVELOPE__CMD_HEARTBEAT) e.heartbeat = &hb;
    else e.goodbye = &gb;
    wk_conn_send(c, &e, NULL, 0);
}

