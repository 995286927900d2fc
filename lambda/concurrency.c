/* lambda/concurrency.c - cluster-wide concurrency: ReservedConcurrentExecutions
 * and the account's concurrency hold across every broker. Each broker runs
 * invocations only through its own pool, so each gets a share: a function's
 * reservation R is split evenly over the live brokers whose workers host it
 * (R/n, the first R%n brokers by id one more), the account's unreserved
 * concurrency (account-concurrency less every reservation) over the live
 * brokers hosting any function. The registry (fleet.c) recomputes the split
 * every heartbeat, so shares follow brokers and workers coming and going
 * (that is the rebalancing). A broker that starts hosting a function counts
 * itself only after two heartbeats, by when every other broker has seen it
 * and shrunk its own share: the sum of the shares never exceeds the limit
 * while brokers join (except when two brokers start hosting a function
 * within the same heartbeat with nobody else hosting it: each sees itself
 * alone for up to one heartbeat). A broker that leaves is dropped by the others at once
 * when it drains, or 3 heartbeats after it died; what it still ran then may
 * briefly overlap the others' grown shares (bounded by what it ran).
 *
 * The cost on the synchronous path is none beyond the mutex already taken:
 * the share is read from memory; the database is touched once a heartbeat. */
#include "lambda/fleet.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    char name[LM_NAME_MAX + 1];
    int n;      /* brokers counted for the split */
    int rank;   /* this broker's place among them, by id */
    bool me;    /* this broker is counted */
} share_fn_t;

struct lm_shares {
    pthread_mutex_t mu;
    share_fn_t *fns;
    int nfns;
    share_fn_t all; /* brokers hosting any function: the account's split */
    int reserved_sum;
    bool known;     /* the registry was read at least once */
};

static lm_shares_t *shares(lm_svc_t *s)
{
    return s->shares;
}

static bool peer_hosts(const lm_peer_t *p, const char *name)
{
    json_t *f = json_object_get(p->functions, name);
    return f && json_integer_value(json_object_get(f, "w")) > 0;
}

static void split(share_fn_t *out, const char *me_hex, const lm_peer_t *peers, int npeers, const char *name,
                  bool me_hosts, bool me_aged)
{
    int others = 0, below = 0;
    for (int i = 0; i < npeers; i++) {
        if (strcmp(peers[i].id, me_hex) == 0) continue;
        bool h = name ? peer_hosts(&peers[i], name) : json_object_size(peers[i].functions) > 0;
        if (!h) continue;
        others++;
        if (strcmp(peers[i].id, me_hex) < 0) below++;
    }
    /* alone, nobody else can be using a share: the whole limit at once
     * (also before this broker's own row shows the function: a worker that
     * just connected is served without waiting for a heartbeat) */
    out->me = (me_hosts && me_aged) || others == 0;
    out->n = others + (out->me ? 1 : 0);
    out->rank = below;
}

void lm_conc_update(lm_svc_t *s, const char *me_hex, const lm_peer_t *peers, int npeers, int reserved_sum,
                    const char *const *hosted, const int64_t *hosted_since, int nhosted, int64_t settle_ms)
{
    lm_shares_t *sh = shares(s);
    if (!sh) return;
    int64_t now = sy_mono_us() / 1000;
    /* every function named anywhere */
    int cap = nhosted;
    for (int i = 0; i < npeers; i++) cap += (int)json_object_size(peers[i].functions);
    share_fn_t *v = sy_calloc((size_t)cap + 1, sizeof *v);
    int n = 0;
    bool any_aged = false;
    for (int k = 0; k < nhosted; k++) {
        bool aged = now - hosted_since[k] >= settle_ms;
        any_aged |= aged;
        snprintf(v[n].name, sizeof v[n].name, "%s", hosted[k]);
        split(&v[n], me_hex, peers, npeers, hosted[k], true, aged);
        n++;
    }
    for (int i = 0; i < npeers; i++) {
        const char *key;
        json_t *val;
        json_object_foreach(peers[i].functions, key, val) {
            bool seen = false;
            for (int k = 0; k < n && !seen; k++) seen = strcmp(v[k].name, key) == 0;
            if (seen || strlen(key) > LM_NAME_MAX) continue;
            snprintf(v[n].name, sizeof v[n].name, "%s", key);
            split(&v[n], me_hex, peers, npeers, key, false, false);
            n++;
        }
    }
    share_fn_t all;
    split(&all, me_hex, peers, npeers, NULL, nhosted > 0, any_aged);
    pthread_mutex_lock(&sh->mu);
    free(sh->fns);
    sh->fns = v;
    sh->nfns = n;
    sh->all = all;
    sh->reserved_sum = reserved_sum;
    sh->known = true;
    pthread_mutex_unlock(&sh->mu);
}

/* The share of `limit` this broker holds for name (NULL: the account's). */
static int share_of(lm_shares_t *sh, const char *name, int limit)
{
    if (!sh) return limit;
    pthread_mutex_lock(&sh->mu);
    share_fn_t f = {.n = 1, .rank = 0, .me = true}; /* unknown: alone */
    if (sh->known) {
        if (!name) {
            f = sh->all;
        } else {
            for (int i = 0; i < sh->nfns; i++)
                if (strcmp(sh->fns[i].name, name) == 0) {
                    f = sh->fns[i];
                    break;
                }
        }
    }
    pthread_mutex_unlock(&sh->mu);
    if (!f.me || f.n <= 0) return 0;
    return limit / f.n + (f.rank < limit % f.n ? 1 : 0);
}

int lm_conc_room(lm_svc_t *s, const lm_fn_t *f)
{
    if (f->reserved >= 0) {
        int room = share_of(shares(s), f->name, f->reserved) - f->sync_inflight - f->outstanding;
        return room > 0 ? room : 0;
    }
    int account = s->ctx->cfg.account_concurrency;
    if (account <= 0) return -1;
    lm_shares_t *sh = shares(s);
    int reserved_sum = 0;
    if (sh) {
        pthread_mutex_lock(&sh->mu);
        reserved_sum = sh->reserved_sum;
        pthread_mutex_unlock(&sh->mu);
    }
    int unreserved = account - reserved_sum;
    int used = 0;
    for (const lm_fn_t *g = s->fns; g; g = g->next)
        if (g->reserved < 0) used += g->sync_inflight + g->outstanding;
    int room = share_of(sh, NULL, unreserved > 0 ? unreserved : 0) - used;
    return room > 0 ? room : 0;
}

bool lm_conc_take(lm_svc_t *s, const char *name)
{
    bool ok = true;
    pthread_mutex_lock(&s->mu);
    for (lm_fn_t *f = s->fns; f; f = f->next)
        if (strcmp(f->name, name) == 0) {
            if (lm_conc_room(s, f) == 0)
                ok = false;
            else
                f->sync_inflight++;
        }
    pthread_mutex_unlock(&s->mu);
    if (!ok) sy_metric_inc("switchyard_lambda_throttles_total", NULL, 1);
    return ok;
}

void lm_conc_give(lm_svc_t *s, const char *name)
{
    pthread_mutex_lock(&s->mu);
    bool room_grew = false;
    for (lm_fn_t *f = s->fns; f; f = f->next)
        if (strcmp(f->name, name) == 0 && f->sync_inflight > 0) {
            f->sync_inflight--;
            /* only reserved concurrency is worth waking the dispatcher for
             * (a wake per sync invoke cost a database round trip each); the
             * account's room is seen on its next idle turn (<= 50 ms) */
            room_grew |= f->reserved >= 0;
        }
    if (room_grew) {
        s->kick = true;
        pthread_cond_signal(&s->wake);
    }
    pthread_mutex_unlock(&s->mu);
}

bool lm_conc_unsettled(lm_svc_t *s, const char *name)
{
    lm_shares_t *sh = shares(s);
    if (!sh) return false;
    bool reserved = false;
    pthread_mutex_lock(&s->mu);
    for (lm_fn_t *f = s->fns; f; f = f->next)
        if (strcmp(f->name, name) == 0) reserved = f->reserved >= 0;
    pthread_mutex_unlock(&s->mu);
    bool me = true;
    pthread_mutex_lock(&sh->mu);
    if (sh->known) {
        if (!reserved) me = sh->all.me;
        for (int i = 0; i < sh->nfns && reserved; i++)
            if (strcmp(sh->fns[i].name, name) == 0) me = sh->fns[i].me;
    }
    pthread_mutex_unlock(&sh->mu);
    return !me;
}

void lm_conc_init(lm_svc_t *s)
{
    lm_shares_t *sh = sy_calloc(1, sizeof *sh);
    pthread_mutex_init(&sh->mu, NULL);
    s->shares = sh;
}

void lm_conc_free(lm_svc_t *s)
{
    lm_shares_t *sh = s->shares;
    if (!sh) return;
    free(sh->fns);
    pthread_mutex_destroy(&sh->mu);
    free(sh);
    s->shares = NULL;
}
