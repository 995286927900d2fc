/* worker/resolve.c - every broker a --broker name resolves to: a DNS name
 * (a Kubernetes headless Service) becomes one session per address. A
 * resolver thread looks the names up again every --broker-resolve-s
 * seconds; the loop thread applies the result: new addresses get a session,
 * gone ones are left once the invocations they delivered have settled
 * (their results still go to them; results with no session left go to any
 * other broker: the lease token is the authority). Slots are shared evenly
 * over the sessions; a share that shrinks is given back as invocations
 * finish (credit cannot be taken back), one that grows is granted at once.
 *
 * --broker-hosts-file FILE is consulted before DNS: hosts(5) lines
 * `ADDRESS[:PORT] NAME...`, re-read at every lookup (tests and single-host
 * fleets whose brokers share an address but not a port). */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include "worker/internal.h"

typedef struct {
    char **v;
    int n;
} eplist_t;

static void eplist_add(eplist_t *l, const char *ep)
{
    for (int i = 0; i < l->n; i++)
        if (strcmp(l->v[i], ep) == 0) return;
    l->v = sy_realloc(l->v, (size_t)(l->n + 1) * sizeof *l->v);
    l->v[l->n++] = sy_strdup(ep);
}

static void eplist_free(eplist_t *l)
{
    for (int i = 0; i < l->n; i++) free(l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

/* tcp://HOST:PORT -> host, port. 0, or -1 when it is not a tcp endpoint
 * with a host name (kept as it is). */
int wk_endpoint_split(const char *ep, char *host, size_t hn, char *port, size_t pn)
{
    if (strncmp(ep, "tcp://", 6) != 0) return -1;
    const char *h = ep + 6, *colon;
    if (*h == '[') {
        const char *close = strchr(h, ']');
        if (!close || close[1] != ':') return -1;
        snprintf(host, hn, "%.*s", (int)(close - h - 1), h + 1);
        colon = close + 1;
    } else {
        colon = strrchr(h, ':');
        if (!colon || colon == h) return -1;
        snprintf(host, hn, "%.*s", (int)(colon - h), h);
    }
    snprintf(port, pn, "%s", colon + 1);
    if (!*port || strspn(port, "0123456789") != strlen(port)) return -1;
    return 0;
}

static void add_addr(eplist_t *out, int family, const char *addr, const char *port)
{
    char ep[300];
    if (family == AF_INET6)
        snprintf(ep, sizeof ep, "tcp://[%s]:%s", addr, port);
    else
        snprintf(ep, sizeof ep, "tcp://%s:%s", addr, port);
    eplist_add(out, ep);
}

/* The hosts file: lines `ADDRESS[:PORT] NAME...`. Returns how many matched. */
static int hosts_lookup(const char *file, const char *host, const char *port, eplist_t *out)
{
    FILE *f = file ? fopen(file, "r") : NULL;
    if (!f) return 0;
    int found = 0;
    char line[1024];
    while (fgets(line, sizeof line, f)) {
        char *hash = strchr(line, '#');
        if (hash) *hash = 0;
        char *save = NULL, *addr = strtok_r(line, " \t\r\n", &save);
        if (!addr) continue;
        for (char *name; (name = strtok_r(NULL, " \t\r\n", &save));) {
            if (strcasecmp(name, host) != 0) continue;
            char a[256], p[16];
            snprintf(a, sizeof a, "%s", addr);
            snprintf(p, sizeof p, "%s", port);
            char *c = strchr(a, ':');
            if (c && !strchr(c + 1, ':')) { /* IPv4:PORT (an IPv6 address has several colons) */
                *c = 0;
                snprintf(p, sizeof p, "%s", c + 1);
            }
            add_addr(out, strchr(a, ':') ? AF_INET6 : AF_INET, a, p);
            found++;
        }
    }
    fclose(f);
    return found;
}

/* Resolve one --broker entry. 0 (out filled, maybe with the entry itself
 * when it needs no lookup) or -1 (lookup failed: keep what we had). */
int wk_resolve_endpoint(const char *ep, const char *hosts_file, eplist_t *out);
int wk_resolve_endpoint(const char *ep, const char *hosts_file, eplist_t *out)
{
    char host[256], port[16];
    if (wk_endpoint_split(ep, host, sizeof host, port, sizeof port) < 0 || strcmp(host, "*") == 0) {
        eplist_add(out, ep);
        return 0;
    }
    if (hosts_lookup(hosts_file, host, port, out) > 0) return 0;
    struct in6_addr a6;
    struct in_addr a4;
    if (inet_pton(AF_INET, host, &a4) == 1 || inet_pton(AF_INET6, host, &a6) == 1) {
        add_addr(out, strchr(host, ':') ? AF_INET6 : AF_INET, host, port);
        return 0;
    }
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res = NULL;
    int rc = getaddrinfo(host, port, &hints, &res);
    if (rc != 0) return -1;
    int n0 = out->n;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        char a[INET6_ADDRSTRLEN];
        const void *src = ai->ai_family == AF_INET6 ? (const void *)&((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr
                                                     : (const void *)&((struct sockaddr_in *)ai->ai_addr)->sin_addr;
        if ((ai->ai_family == AF_INET || ai->ai_family == AF_INET6) && inet_ntop(ai->ai_family, src, a, sizeof a))
            add_addr(out, ai->ai_family, a, port);
    }
    freeaddrinfo(res);
    return out->n > n0 ? 0 : -1;
}

/* ------------------------------------------------------ resolver thread */
struct wk_resolver {
    pthread_t thread;
    bool started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop;
    unsigned gen, applied; /* results published / taken by the loop */
    eplist_t result;       /* the union over every --broker entry */
    bool complete;         /* every entry resolved (a failed one keeps its sessions) */
    int64_t every_ms;
};

static void resolve_all(wk_worker_t *w, eplist_t *out, bool *complete)
{
    *complete = true;
    for (int i = 0; i < w->cfg.brokers.n; i++)
        if (wk_resolve_endpoint(w->cfg.brokers.v[i], w->cfg.broker_hosts_file, out) < 0) {
            *complete = false;
            sy_log(SY_LOG_WARN, "worker", NULL, "could not resolve broker", "broker", w->cfg.brokers.v[i]);
        }
}

static void *resolver_main(void *arg)
{
    wk_worker_t *w = arg;
    wk_resolver_t *r = w->resolver;
    pthread_mutex_lock(&r->mu);
    while (!r->stop) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += r->every_ms / 1000;
        until.tv_nsec += (r->every_ms % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        while (!r->stop && pthread_cond_timedwait(&r->cv, &r->mu, &until) != ETIMEDOUT) {
        }
        if (r->stop) break;
        pthread_mutex_unlock(&r->mu);
        eplist_t l = {0};
        bool complete;
        resolve_all(w, &l, &complete);
        pthread_mutex_lock(&r->mu);
        eplist_free(&r->result);
        r->result = l;
        r->complete = complete;
        r->gen++;
    }
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

/* ------------------------------------------------------ slot shares */
static bool conn_used(const wk_conn_t *c)
{
    return c->endpoint && !c->retired;
}

/* What a session holds of function f: granted + free + running. */
static int held(const wk_conn_t *c, int f)
{
    return c->granted[f] + c->free_slots[f] + c->running[f];
}

/* Even shares over the sessions that are not leaving (in slot order). */
static void targets(wk_worker_t *w)
{
    int n = 0;
    for (int i = 0; i < w->nconns; i++) n += conn_used(&w->conns[i]) && !w->conns[i].gone;
    for (int f = 0; f < w->nfns; f++) {
        int conc = w->fns[f].concurrency, k = 0;
        for (int i = 0; i < w->nconns; i++) {
            wk_conn_t *c = &w->conns[i];
            if (!conn_used(c) || c->gone) {
                if (c->target) c->target[f] = 0;
                continue;
            }
            c->target[f] = conc / n + (k < conc % n ? 1 : 0);
            k++;
        }
    }
}

/* Move free slots from sessions above their share to those below it (or
 * into the spare pool until one is), then grant what is free. */
void wk_rebalance(wk_worker_t *w)
{
    for (int f = 0; f < w->nfns; f++) {
        for (int i = 0; i < w->nconns; i++) {
            wk_conn_t *c = &w->conns[i];
            if (!c->target) continue;
            int excess = held(c, f) - c->target[f];
            int take = excess < c->free_slots[f] ? excess : c->free_slots[f];
            if (take > 0) {
                c->free_slots[f] -= take;
                w->spare[f] += take;
            }
        }
        for (int i = 0; i < w->nconns && w->spare[f] > 0; i++) {
            wk_conn_t *c = &w->conns[i];
            if (!conn_used(c) || c->gone) continue;
            int deficit = c->target[f] - held(c, f);
            int give = deficit < w->spare[f] ? deficit : w->spare[f];
            if (give > 0) {
                c->free_slots[f] += give;
                w->spare[f] -= give;
            }
        }
    }
    wk_grant_free(w);
}

/* A slot of job j's function came free. Returns the credit to send with
 * the job's result (1: the slot goes straight back to that session). */
int wk_slot_return(wk_worker_t *w, wk_job_t *j)
{
    int f = (int)(j->fn - w->fns);
    wk_conn_t *c = &w->conns[j->conn];
    if (c->running[f] > 0) c->running[f]--;
    bool active = c->state == 2;
    if (active && !w->draining && !c->gone && held(c, f) < c->target[f]) {
        c->granted[f]++;
        return 1;
    }
    if (!c->gone && held(c, f) < c->target[f]) {
        c->free_slots[f]++;
        return 0;
    }
    w->spare[f]++;
    wk_rebalance(w);
    return 0;
}

void wk_slot_taken(wk_worker_t *w, wk_job_t *j)
{
    w->conns[j->conn].running[(int)(j->fn - w->fns)]++;
}

static void conn_init(wk_worker_t *w, wk_conn_t *c, const char *ep)
{
    free(c->endpoint);
    free(c->granted);
    free(c->free_slots);
    free(c->running);
    free(c->target);
    memset(c, 0, sizeof *c);
    c->endpoint = sy_strdup(ep);
    c->granted = sy_calloc((size_t)w->nfns, sizeof(int));
    c->free_slots = sy_calloc((size_t)w->nfns, sizeof(int));
    c->running = sy_calloc((size_t)w->nfns, sizeof(int));
    c->target = sy_calloc((size_t)w->nfns, sizeof(int));
    c->backoff_ms = w->reconnect_min_ms;
}

static void join(wk_worker_t *w, const char *ep)
{
    int slot = -1;
    for (int i = 0; i < w->nconns; i++)
        if (w->conns[i].retired) {
            slot = i;
            break;
        }
    if (slot < 0) {
        if (w->nconns >= WK_MAX_CONNS) {
            sy_log(SY_LOG_WARN, "worker", NULL, "too many brokers, ignoring one", "broker", ep);
            return;
        }
        slot = w->nconns++;
    }
    wk_conn_t *c = &w->conns[slot];
    conn_init(w, c, ep);
    sy_log(SY_LOG_INFO, "worker", NULL, "broker joined", "broker", ep);
    if (w->zctx && !w->draining) wk_conn_open(w, c);
    else c->reconnect_at = w->draining ? INT64_MAX : 0;
}

/* A session that is leaving and holds nothing any more is closed. */
static void retire_idle(wk_worker_t *w)
{
    for (int i = 0; i < w->nconns; i++) {
        wk_conn_t *c = &w->conns[i];
        if (!c->gone || c->retired || c->outbox) continue;
        int busy = 0;
        for (int f = 0; f < w->nfns; f++) busy += c->running[f];
        if (busy) continue;
        for (int f = 0; f < w->nfns; f++) {
            w->spare[f] += c->free_slots[f] + c->granted[f];
            c->free_slots[f] = c->granted[f] = 0;
        }
        if (c->state == 2) wk_send_simple(c, SYW__ENVELOPE__CMD_GOODBYE);
        wk_conn_close(c);
        c->state = 0;
        c->retired = true;
        c->reconnect_at = INT64_MAX;
        sy_log(SY_LOG_INFO, "worker", NULL, "broker left", "broker", c->endpoint);
        wk_rebalance(w);
    }
}

/* Results kept for a session that is down go to any live broker. */
static void reroute_outboxes(wk_worker_t *w)
{
    wk_conn_t *to = NULL;
    for (int i = 0; i < w->nconns && !to; i++) to = wk_active_conn(w, i);
    if (!to) return;
    for (int i = 0; i < w->nconns; i++) {
        wk_conn_t *c = &w->conns[i];
        if (c->state == 2 || !c->outbox) continue;
        if (!c->gone && !w->draining) continue; /* it may come back: its own broker first */
        while (c->outbox) {
            wk_job_t *j = c->outbox;
            c->outbox = j->next;
            wk_send_result(to, j, 0);
            wk_job_free(j);
        }
        c->outbox_tail = NULL;
    }
}

static void apply(wk_worker_t *w, const eplist_t *l, bool complete)
{
    bool changed = false;
    for (int k = 0; k < l->n; k++) {
        bool have = false;
        for (int i = 0; i < w->nconns && !have; i++) {
            wk_conn_t *c = &w->conns[i];
            if (conn_used(c) && strcmp(c->endpoint, l->v[k]) == 0) {
                have = true;
                if (c->gone) { /* came back before it left */
                    c->gone = false;
                    changed = true;
                }
            }
        }
        if (!have) {
            join(w, l->v[k]);
            changed = true;
        }
    }
    if (complete && l->n > 0) { /* a failed lookup drops nobody */
        for (int i = 0; i < w->nconns; i++) {
            wk_conn_t *c = &w->conns[i];
            if (!conn_used(c) || c->gone) continue;
            bool found = false;
            for (int k = 0; k < l->n && !found; k++) found = strcmp(c->endpoint, l->v[k]) == 0;
            if (!found) {
                c->gone = true;
                changed = true;
                sy_log(SY_LOG_INFO, "worker", NULL, "broker no longer resolved, leaving it", "broker", c->endpoint);
            }
        }
    }
    if (changed) {
        targets(w);
        wk_rebalance(w);
    }
}

/* Start-up: resolve synchronously, make the sessions (opened later by
 * worker_run), start the thread. 0 or -1 (no broker at all yet is fine:
 * the thread keeps looking). */
int wk_resolve_init(wk_worker_t *w)
{
    w->conns = sy_calloc(WK_MAX_CONNS, sizeof *w->conns);
    w->spare = sy_calloc((size_t)w->nfns + 1, sizeof(int));
    for (int f = 0; f < w->nfns; f++) w->spare[f] = w->fns[f].concurrency;
    eplist_t l = {0};
    bool complete;
    resolve_all(w, &l, &complete);
    apply(w, &l, complete);
    eplist_free(&l);
    wk_resolver_t *r = sy_calloc(1, sizeof *r);
    w->resolver = r;
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, NULL);
    r->every_ms = (int64_t)(w->cfg.broker_resolve_s * 1000.0);
    if (r->every_ms > 0) r->started = pthread_create(&r->thread, NULL, resolver_main, w) == 0;
    return 0;
}

/* Loop thread, every turn: take a new lookup result, close sessions that
 * left, send stranded results. */
void wk_resolve_tick(wk_worker_t *w)
{
    wk_resolver_t *r = w->resolver;
    if (r && r->started) {
        eplist_t l = {0};
        bool complete = false, fresh = false;
        pthread_mutex_lock(&r->mu);
        if (r->gen != r->applied) {
            r->applied = r->gen;
            l = r->result;
            r->result = (eplist_t){0};
            complete = r->complete;
            fresh = true;
        }
        pthread_mutex_unlock(&r->mu);
        if (fresh) apply(w, &l, complete);
        eplist_free(&l);
    }
    retire_idle(w);
    reroute_outboxes(w);
}

void wk_resolve_stop(wk_worker_t *w)
{
    wk_resolver_t *r = w->resolver;
    if (!r) return;
    if (r->started) {
        pthread_mutex_lock(&r->mu);
        r->stop = true;
        pthread_cond_signal(&r->cv);
        pthread_mutex_unlock(&r->mu);
        pthread_join(r->thread, NULL);
    }
    eplist_free(&r->result);
    pthread_mutex_destroy(&r->mu);
    pthread_cond_destroy(&r->cv);
    free(r);
    w->resolver = NULL;
}
