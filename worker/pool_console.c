/* worker/pool_console.c - what the web console shows of connected workers
 * (issue 16): per session its worker id, node, software version, functions
 * with slots in use, acks, function errors (the last few kept), and cold
 * starts as workers report them in ACK.cold_start. */
#include "worker/internal.h"

#include <string.h>

void pool_session_note_hello(sy_pool_t *p, pool_session_t *s, const Syw__Hello *h)
{
    (void)p; /* s is not linked yet: nobody else sees it */
    snprintf(s->info.node, sizeof s->info.node, "%s", h->node ? h->node : "");
    snprintf(s->info.version, sizeof s->info.version, "%s", h->version ? h->version : "");
    s->info.connected_ms = sy_now_ms();
}

void pool_session_note_ack(sy_pool_t *p, pool_session_t *s, const Syw__Ack *a)
{
    pthread_mutex_lock(&p->cmd_mu);
    s->info.acks++;
    if (a->cold_start) s->info.cold_starts++;
    if (a->outcome != SYW__OUTCOME__OUTCOME_OK) {
        s->info.errors++;
        size_t k = s->info.nrecent++ % POOL_RECENT_ERRORS;
        s->info.recent[k].at_ms = sy_now_ms();
        snprintf(s->info.recent[k].function, sizeof s->info.recent[k].function, "%s", a->function ? a->function : "");
        snprintf(s->info.recent[k].type, sizeof s->info.recent[k].type, "%s",
                 a->error_type && *a->error_type ? a->error_type : "Unhandled");
        snprintf(s->info.recent[k].message, sizeof s->info.recent[k].message, "%s",
                 a->error_message ? a->error_message : "");
    }
    pthread_mutex_unlock(&p->cmd_mu);
}

static json_t *session_json(const pool_session_t *s, int64_t now_mono)
{
    json_t *fns = json_array(), *errs = json_array();
    for (size_t i = 0; i < s->nfuncs; i++)
        json_array_append_new(fns, json_pack("{s:s,s:i,s:i,s:i}", "Name", s->funcs[i].pf->name, "MaxConcurrency",
                                             s->funcs[i].max_concurrency, "InUse", s->funcs[i].inflight,
                                             "FreeCredit", s->funcs[i].credit));
    uint64_t n = s->info.nrecent < POOL_RECENT_ERRORS ? s->info.nrecent : POOL_RECENT_ERRORS;
    for (uint64_t j = 0; j < n; j++) { /* newest first */
        size_t k = (size_t)((s->info.nrecent - 1 - j) % POOL_RECENT_ERRORS);
        json_array_append_new(errs, json_pack("{s:I,s:s,s:s,s:s}", "At", (json_int_t)s->info.recent[k].at_ms,
                                              "Function", s->info.recent[k].function, "ErrorType",
                                              s->info.recent[k].type, "ErrorMessage", s->info.recent[k].message));
    }
    return json_pack("{s:s,s:s,s:s,s:s,s:I,s:I,s:b,s:o,s:I,s:I,s:I,s:o}", "WorkerId", s->worker_id, "SessionId",
                     s->session_id, "Node", s->info.node, "Version", s->info.version, "ConnectedAt",
                     (json_int_t)s->info.connected_ms, "LastSeenMsAgo", (json_int_t)(now_mono - s->last_recv),
                     "Draining", s->draining, "Functions", fns, "Acks", (json_int_t)s->info.acks, "Errors",
                     (json_int_t)s->info.errors, "ColdStarts", (json_int_t)s->info.cold_starts, "RecentErrors",
                     errs);
}

json_t *sy_pool_workers_json(sy_pool_t *p)
{
    json_t *arr = json_array();
    int64_t now = wk_mono_ms();
    pthread_mutex_lock(&p->cmd_mu); /* sessions, their functions and counters change under it */
    for (pool_session_t *s = p->sessions; s; s = s->next) json_array_append_new(arr, session_json(s, now));
    pthread_mutex_unlock(&p->cmd_mu);
    return arr;
}
