/* statemachine/machine_cache.c - state machines by ARN for the EXPRESS hot
 * path (StartSyncExecution): the row and its parsed definition, kept for
 * SFN_MC_TTL_MS and dropped at once on a local Update/DeleteStateMachine.
 * Another broker's update is seen within the TTL (AWS's UpdateStateMachine
 * is eventually consistent too). Entries are reference counted: a request
 * holds one while it runs, a refresh swaps in a new entry. */
#include "statemachine/internal.h"

#include <stdlib.h>
#include <string.h>

#define SFN_MC_TTL_MS 1000

struct sfn_mc {
    sfn_machine_t m;
    const sy_asl_def_t *def;
    int64_t loaded_ms;
    int refs; /* guarded by svc->mu */
    sfn_mc_t *next;
};

static uint64_t hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static void unref_locked(sfn_mc_t *e)
{
    if (--e->refs > 0) return;
    sfn_machine_clear(&e->m);
    free(e);
}

/* Unlink the entry for arn (caller holds svc->mu). */
static void unlink_locked(sfn_svc_t *svc, const char *arn)
{
    sfn_mc_t **p = &svc->mc[hash(arn) % SFN_MC_BUCKETS];
    for (; *p; p = &(*p)->next)
        if (strcmp((*p)->m.arn, arn) == 0) {
            sfn_mc_t *e = *p;
            *p = e->next;
            unref_locked(e);
            return;
        }
}

int sfn_mc_get(sfn_svc_t *svc, const char *arn, sfn_mc_t **out, sy_err_t *err)
{
    int64_t now = sy_now_ms();
    size_t b = hash(arn) % SFN_MC_BUCKETS;
    pthread_mutex_lock(&svc->mu);
    for (sfn_mc_t *e = svc->mc[b]; e; e = e->next)
        if (strcmp(e->m.arn, arn) == 0 && now - e->loaded_ms < SFN_MC_TTL_MS) {
            e->refs++;
            pthread_mutex_unlock(&svc->mu);
            *out = e;
            return 0;
        }
    pthread_mutex_unlock(&svc->mu);
    sfn_mc_t *e = sy_calloc(1, sizeof *e);
    int rc = store_machine_get(svc->ctx, NULL, arn, &e->m, err);
    if (rc == SY_E_NOTFOUND)
        rc = sy_err_set(err, rc, 400, "StateMachineDoesNotExist", "State Machine Does Not Exist: '%s'", arn);
    if (rc < 0) {
        free(e);
        return rc;
    }
    e->def = sfn_def_get(svc, e->m.definition);
    e->loaded_ms = now;
    e->refs = 2; /* the cache's and the caller's */
    pthread_mutex_lock(&svc->mu);
    unlink_locked(svc, arn);
    e->next = svc->mc[b];
    svc->mc[b] = e;
    pthread_mutex_unlock(&svc->mu);
    *out = e;
    return 0;
}

const sfn_machine_t *sfn_mc_machine(const sfn_mc_t *e)
{
    return &e->m;
}

const sy_asl_def_t *sfn_mc_def(const sfn_mc_t *e)
{
    return e->def;
}

void sfn_mc_release(sfn_svc_t *svc, sfn_mc_t **e_p)
{
    if (!e_p || !*e_p) return;
    pthread_mutex_lock(&svc->mu);
    unref_locked(*e_p);
    pthread_mutex_unlock(&svc->mu);
    *e_p = NULL;
}

void sfn_mc_forget(sfn_svc_t *svc, const char *arn)
{
    pthread_mutex_lock(&svc->mu);
    unlink_locked(svc, arn);
    pthread_mutex_unlock(&svc->mu);
}

void sfn_mc_free(sfn_svc_t *svc)
{
    for (size_t b = 0; b < SFN_MC_BUCKETS; b++)
        while (svc->mc[b]) {
            sfn_mc_t *e = svc->mc[b];
            svc->mc[b] = e->next;
            unref_locked(e);
        }
}
