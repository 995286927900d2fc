/* core/pg.c - a small PostgreSQL connection pool */
#include "core/core.h"

#include <errno.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct sy_pg_pool {
    char *conninfo;
    PGconn **conns; /* free stack */
    int nfree, size, in_use;
    int acquire_timeout_ms; /* 0: wait forever */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    /* New connections are made one at a time, and for a moment after one
     * failed none is tried: while the database is away (a restart, a failover
     * in progress) the requests of a busy broker fail fast instead of each
     * opening a connection of its own to a server that is starting or to a
     * standby that will refuse it as read-only. */
    pthread_mutex_t connect_mu;
    int64_t down_until_us; /* under mu */
    /* sy_pg_pool_start: connections opened in parallel by a helper thread */
    pthread_t warm_thread;
    int warm_n;
    bool warm_started, warm_stop; /* warm_stop under mu */
};

#define POOL_DOWN_US 250000 /* after a failed connect: no other attempt for 250 ms */

static void prep_forget_pid(int pid);

/* An idle pooled connection whose server went away (restart, failover: the
 * old primary killed) has EOF waiting on its socket; libpq only notices on
 * the next statement, which would then fail. Read what is pending, without
 * waiting, so the pool reconnects first. */
static bool idle_alive(PGconn *c)
{
    for (int i = 0; i < 4 && PQstatus(c) == CONNECTION_OK; i++) {
        struct pollfd p = {.fd = PQsocket(c), .events = POLLIN};
        if (p.fd < 0 || poll(&p, 1, 0) <= 0) break;
        if (!PQconsumeInput(c)) break;
    }
    return PQstatus(c) == CONNECTION_OK;
}

static PGconn *connect_one(const char *conninfo)
{
    PGconn *c = PQconnectdb(conninfo);
    if (PQstatus(c) != CONNECTION_OK) {
        sy_log(SY_LOG_WARN, "pg", NULL, "could not connect", "error", PQerrorMessage(c));
        PQfinish(c);
        return NULL;
    }
    PGresult *r = PQexec(c, "SET synchronous_commit = on; SET application_name = 'switchyard'");
    PQclear(r);
    return c;
}

static sy_pg_pool_t *pool_alloc(const char *conninfo, int size)
{
    sy_pg_pool_t *p = sy_calloc(1, sizeof *p);
    p->conninfo = sy_strdup(conninfo);
    p->size = size;
    p->conns = sy_calloc((size_t)size, sizeof(PGconn *));
    pthread_mutex_init(&p->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* a wall clock that jumps does not cut waits */
    pthread_cond_init(&p->cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&p->connect_mu, NULL);
    return p;
}

/* connections are opened lazily; check one now so a bad URL fails fast */
static sy_pg_pool_t *pool_first(sy_pg_pool_t *p)
{
    PGconn *c = connect_one(p->conninfo);
    if (!c) {
        sy_pg_pool_destroy(&p);
        return NULL;
    }
    pthread_mutex_lock(&p->mu);
    if (p->nfree + p->in_use < p->size) {
        p->conns[p->nfree++] = c;
        c = NULL;
    }
    pthread_mutex_unlock(&p->mu);
    PQfinish(c); /* the warm thread filled the pool first */
    return p;
}

sy_pg_pool_t *sy_pg_pool_new(const char *conninfo, int size)
{
    return pool_first(pool_alloc(conninfo, size));
}

/* ------------------------------------------------ opening in parallel
 * A broker's start needs a few connections at once (the first requests,
 * the services' background loops), and each costs a backend's fork and
 * start-up on the server: made one after the other they add up. The warm
 * thread starts warm_n connections at once with libpq's non-blocking
 * connect while the caller opens the first one, and puts each into the free
 * stack as it is ready. A connection that fails is not retried here (the
 * pool's lazy path and its 250 ms back-off stay in charge of that). */
#define WARM_MAX 8

static bool warm_stopping(sy_pg_pool_t *p)
{
    pthread_mutex_lock(&p->mu);
    bool stop = p->warm_stop;
    pthread_mutex_unlock(&p->mu);
    return stop;
}

static void warm_offer(sy_pg_pool_t *p, PGconn *c)
{
    PQclear(PQexec(c, "SET synchronous_commit = on; SET application_name = 'switchyard'"));
    pthread_mutex_lock(&p->mu);
    bool take = !p->warm_stop && PQstatus(c) == CONNECTION_OK && p->nfree + p->in_use < p->size;
    if (take) {
        p->conns[p->nfree++] = c;
        pthread_cond_signal(&p->cv);
    }
    pthread_mutex_unlock(&p->mu);
    if (take) sy_metric_inc("switchyard_db_connections_warmed_total", NULL, 1);
    else PQfinish(c);
}

static void *warm_main(void *arg)
{
    sy_pg_pool_t *p = arg;
    PGconn *c[WARM_MAX];
    PostgresPollingStatusType st[WARM_MAX];
    int n = p->warm_n, pending = 0;
    for (int i = 0; i < n; i++) {
        c[i] = PQconnectStart(p->conninfo);
        st[i] = PGRES_POLLING_WRITING;
        if (!c[i] || PQstatus(c[i]) == CONNECTION_BAD) {
            PQfinish(c[i]);
            c[i] = NULL;
        } else {
            pending++;
        }
    }
    while (pending > 0 && !warm_stopping(p)) {
        struct pollfd fds[WARM_MAX];
        int idx[WARM_MAX], k = 0;
        for (int i = 0; i < n; i++) {
            if (!c[i]) continue;
            fds[k] = (struct pollfd){.fd = PQsocket(c[i]), .events = st[i] == PGRES_POLLING_READING ? POLLIN : POLLOUT};
            idx[k++] = i;
        }
        if (poll(fds, (nfds_t)k, 100) < 0 && errno != EINTR) break;
        for (int j = 0; j < k; j++) {
            int i = idx[j];
            if (!fds[j].revents) continue;
            st[i] = PQconnectPoll(c[i]);
            if (st[i] == PGRES_POLLING_OK) {
                warm_offer(p, c[i]);
            } else if (st[i] == PGRES_POLLING_FAILED) {
                PQfinish(c[i]);
            } else {
                continue;
            }
            c[i] = NULL;
            pending--;
        }
    }
    for (int i = 0; i < n; i++) PQfinish(c[i]); /* stopped with some still under way */
    return NULL;
}

sy_pg_pool_t *sy_pg_pool_start(const char *conninfo, int size, int warm)
{
    if (warm > size - 1) warm = size - 1;
    if (warm > WARM_MAX) warm = WARM_MAX;
    if (warm <= 0) return sy_pg_pool_new(conninfo, size);
    sy_pg_pool_t *p = pool_alloc(conninfo, size);
    p->warm_n = warm;
    pthread_attr_t a;
    pthread_attr_init(&a);
    pthread_attr_setstacksize(&a, 256 * 1024);
    p->warm_started = pthread_create(&p->warm_thread, &a, warm_main, p) == 0;
    pthread_attr_destroy(&a);
    return pool_first(p);
}

void sy_pg_pool_destroy(sy_pg_pool_t **self_p)
{
    if (!self_p || !*self_p) return;
    sy_pg_pool_t *p = *self_p;
    if (p->warm_started) {
        pthread_mutex_lock(&p->mu);
        p->warm_stop = true;
        pthread_mutex_unlock(&p->mu);
        pthread_join(p->warm_thread, NULL);
    }
    for (int i = 0; i < p->nfree; i++) {
        prep_forget_pid(PQbackendPID(p->conns[i]));
        PQfinish(p->conns[i]);
    }
    free(p->conns);
    free(p->conninfo);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->connect_mu);
    free(p);
    *self_p = NULL;
}

static bool pool_down(sy_pg_pool_t *p)
{
    pthread_mutex_lock(&p->mu);
    bool down = sy_mono_us() < p->down_until_us;
    pthread_mutex_unlock(&p->mu);
    return down;
}

static PGconn *pool_connect(sy_pg_pool_t *p)
{
    if (pool_down(p)) return NULL;
    pthread_mutex_lock(&p->connect_mu);
    bool tried = !pool_down(p); /* another may have just failed */
    PGconn *c = tried ? connect_one(p->conninfo) : NULL;
    if (tried && !c) {
        sy_metric_inc("switchyard_db_connect_failures_total", NULL, 1);
        pthread_mutex_lock(&p->mu);
        p->down_until_us = sy_mono_us() + POOL_DOWN_US;
        pthread_mutex_unlock(&p->mu);
    }
    pthread_mutex_unlock(&p->connect_mu);
    return c;
}

/* The broker's clock follows the database's (core/ids.c): read it on the
 * first connection and then once a minute, midway through the round trip;
 * a slow round trip (over 20 ms) keeps the previous anchor. */
static _Atomic int64_t clock_read_mono_us;

static void clock_anchor(PGconn *c)
{
    int64_t last = clock_read_mono_us, now = sy_mono_us();
    if (last && now - last < 60 * 1000000LL) return;
    if (!atomic_compare_exchange_strong(&clock_read_mono_us, &last, now)) return; /* another thread does it */
    int64_t t0 = sy_mono_us();
    PGresult *r = PQexec(c, "SELECT (extract(epoch from clock_timestamp()) * 1000000)::bigint");
    int64_t t1 = sy_mono_us();
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 && (t1 - t0 < 20000 || !last))
        sy_clock_anchor(strtoll(PQgetvalue(r, 0, 0), NULL, 10), t0 + (t1 - t0) / 2);
    else if (PQresultStatus(r) != PGRES_TUPLES_OK)
        clock_read_mono_us = last; /* try again with the next connection */
    PQclear(r);
}

PGconn *sy_pg_acquire(sy_pg_pool_t *p)
{
    pthread_mutex_lock(&p->mu);
    if (p->nfree == 0 && p->in_use >= p->size && p->acquire_timeout_ms > 0) {
        struct timespec dl;
        clock_gettime(CLOCK_MONOTONIC, &dl);
        dl.tv_sec += p->acquire_timeout_ms / 1000;
        dl.tv_nsec += (long)(p->acquire_timeout_ms % 1000) * 1000000L;
        if (dl.tv_nsec >= 1000000000L) {
            dl.tv_sec++;
            dl.tv_nsec -= 1000000000L;
        }
        while (p->nfree == 0 && p->in_use >= p->size)
            if (pthread_cond_timedwait(&p->cv, &p->mu, &dl) == ETIMEDOUT) break;
        if (p->nfree == 0 && p->in_use >= p->size) { /* the pool stayed full */
            char ms[16];
            snprintf(ms, sizeof ms, "%d", p->acquire_timeout_ms);
            pthread_mutex_unlock(&p->mu);
            sy_metric_inc("switchyard_db_pool_timeouts_total", NULL, 1);
            sy_log(SY_LOG_WARN, "pg", NULL, "no free database connection", "waited_ms", ms);
            return NULL;
        }
    }
    while (p->nfree == 0 && p->in_use >= p->size) pthread_cond_wait(&p->cv, &p->mu);
    PGconn *c = p->nfree ? p->conns[--p->nfree] : NULL;
    p->in_use++;
    pthread_mutex_unlock(&p->mu);
    if (c && !idle_alive(c)) {
        sy_metric_inc("switchyard_db_reconnects_total", NULL, 1);
        prep_forget_pid(PQbackendPID(c));
        PQfinish(c);
        c = NULL;
    }
    /* a multi-host URL: libpq tries each host, e.g. the new primary */
    if (!c) c = pool_connect(p);
    if (c) clock_anchor(c);
    if (!c) {
        pthread_mutex_lock(&p->mu);
        p->in_use--;
        pthread_cond_signal(&p->cv);
        pthread_mutex_unlock(&p->mu);
    }
    return c;
}

void sy_pg_release(sy_pg_pool_t *p, PGconn *c)
{
    if (!c) return;
    if (PQstatus(c) == CONNECTION_OK) sy_pg_rollback(c); /* a no-op when idle */
    pthread_mutex_lock(&p->mu);
    p->in_use--;
    if (PQstatus(c) == CONNECTION_OK && p->nfree < p->size) {
        p->conns[p->nfree++] = c;
        c = NULL;
    }
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
    if (c) {
        prep_forget_pid(PQbackendPID(c)); /* its pid may come back as another backend */
        PQfinish(c);
    }
}

int sy_pg_pool_in_use(sy_pg_pool_t *p)
{
    pthread_mutex_lock(&p->mu);
    int n = p->in_use;
    pthread_mutex_unlock(&p->mu);
    return n;
}
void sy_pg_pool_set_acquire_timeout(sy_pg_pool_t *p, int ms)
{
    pthread_mutex_lock(&p->mu);
    p->acquire_timeout_ms = ms > 0 ? ms : 0;
    pthread_mutex_unlock(&p->mu);
}
int sy_pg_pool_size(sy_pg_pool_t *p)
{
    return p->size;
}
const char *sy_pg_conninfo(sy_pg_pool_t *p)
{
    return p->conninfo;
}

bool sy_pg_retryable(const char *sqlstate)
{
    return sqlstate && (strcmp(sqlstate, "40001") == 0 || strcmp(sqlstate, "40P01") == 0 ||
                        strcmp(sqlstate, "26000") == 0); /* see sy_pg_error */
}

/* SQLSTATEs where nothing was written and a retry may succeed: query
 * canceled (statement_timeout, lock_timeout 55P03), class 53 (disk full,
 * out of memory, too many connections), class 08 (connection lost), class
 * 57P (the server shutting down or restarting). */
bool sy_pg_unavailable(const char *sqlstate)
{
    if (!sqlstate) return false;
    return strcmp(sqlstate, "57014") == 0 || strcmp(sqlstate, "55P03") == 0 || strncmp(sqlstate, "53", 2) == 0 ||
           strncmp(sqlstate, "08", 2) == 0 || strncmp(sqlstate, "57P", 3) == 0;
}

int sy_pg_error(PGconn *c, const PGresult *r, sy_err_t *err)
{
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    const char *msg = r ? PQresultErrorMessage(r) : PQerrorMessage(c);
    sy_log(SY_LOG_ERROR, "pg", NULL, "statement failed", "sqlstate", state ? state : "", "error", msg ? msg : "");
    sy_metric_inc("switchyard_db_errors_total", NULL, 1);
    if (sy_pg_unavailable(state)) /* the database refused for now (timeout, disk or memory full, gone): retry */
        sy_err_set(err, SY_E_DB, 503, "ServiceUnavailable", "database unavailable, retry the request");
    else
        sy_err_set(err, SY_E_DB, 500, "InternalFailure", "database error");
    if (err && state) snprintf(err->sqlstate, sizeof err->sqlstate, "%s", state);
    /* 26000: a statement we prepared is not there: this backend has the pid of
     * one that did (pids are reused; a reconnected connection, a new primary).
     * Forget the pid's statements: the retry prepares them again. */
    if (state && strcmp(state, "26000") == 0 && c) prep_forget_pid(PQbackendPID(c));
    return SY_E_DB;
}

PGresult *sy_pg_exec(PGconn *c, sy_err_t *err, const char *sql, int nparams, const char *const *params)
{
    for (int attempt = 0;; attempt++) {
        PGresult *r = PQexecParams(c, sql, nparams, NULL, params, NULL, NULL, 0);
        ExecStatusType st = PQresultStatus(r);
        if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) return r;
        const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
        /* a lone statement outside a transaction may be retried on conflict */
        if (attempt < 5 && sy_pg_retryable(state) && PQtransactionStatus(c) == PQTRANS_IDLE) {
            PQclear(r);
            usleep((useconds_t)(1000 * (1 + attempt) + (rand() % 1000)));
            continue;
        }
        sy_pg_error(c, r, err);
        PQclear(r);
        return NULL;
    }
}

/* ------------------------------------------------- prepared statements
 * Which statements each backend has prepared: a process-wide set keyed by
 * "<backend pid>/<name>" (a reconnected connection has a new pid). Like the
 * metrics registry it is process-wide state, guarded by its own lock. */
#define PREP_SLOTS 4096
static struct prep {
    struct prep *next;
    int pid;
    char *name;
} *prepared[PREP_SLOTS];
static pthread_mutex_t prep_mu = PTHREAD_MUTEX_INITIALIZER;

static unsigned prep_hash(int pid, const char *name)
{
    unsigned h = 2166136261u ^ (unsigned)pid;
    while (*name) h = (h ^ (unsigned char)*name++) * 16777619u;
    return h % PREP_SLOTS;
}

static bool prep_known(int pid, const char *name)
{
    bool hit = false;
    pthread_mutex_lock(&prep_mu);
    for (struct prep *p = prepared[prep_hash(pid, name)]; p && !hit; p = p->next)
        hit = p->pid == pid && strcmp(p->name, name) == 0;
    pthread_mutex_unlock(&prep_mu);
    return hit;
}

static void prep_forget_pid(int pid)
{
    if (pid <= 0) return;
    pthread_mutex_lock(&prep_mu);
    for (int h = 0; h < PREP_SLOTS; h++)
        for (struct prep **pp = &prepared[h]; *pp;) {
            struct prep *p = *pp;
            if (p->pid == pid) {
                *pp = p->next;
                free(p->name);
                free(p);
            } else {
                pp = &p->next;
            }
        }
    pthread_mutex_unlock(&prep_mu);
}

static void prep_remember(int pid, const char *name)
{
    struct prep *p = sy_malloc(sizeof *p);
    p->pid = pid;
    p->name = sy_strdup(name);
    pthread_mutex_lock(&prep_mu);
    unsigned h = prep_hash(pid, name);
    p->next = prepared[h];
    prepared[h] = p;
    pthread_mutex_unlock(&prep_mu);
}

int sy_pg_prepare(PGconn *c, sy_err_t *err, const char *name, const char *sql, int nparams)
{
    int pid = PQbackendPID(c);
    if (prep_known(pid, name)) return 0;
    PGresult *r = PQprepare(c, name, sql, nparams, NULL);
    const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    bool ok = PQresultStatus(r) == PGRES_COMMAND_OK || (state && strcmp(state, "42P05") == 0);
    if (!ok) sy_pg_error(c, r, err);
    PQclear(r);
    if (!ok) return SY_E_DB;
    prep_remember(pid, name);
    return 0;
}

PGresult *sy_pg_exec_prepared(PGconn *c, sy_err_t *err, const char *name, const char *sql, int nparams,
                              const char *const *params)
{
    for (int attempt = 0;; attempt++) {
        if (sy_pg_prepare(c, err, name, sql, nparams) < 0) return NULL;
        PGresult *r = PQexecPrepared(c, name, nparams, params, NULL, NULL, 0);
        ExecStatusType st = PQresultStatus(r);
        if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) return r;
        const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
        /* not prepared on this backend after all (sy_pg_error): outside a
         * transaction prepare and run it again; inside, the caller's
         * transaction is retried (sy_pg_retryable) */
        if (attempt == 0 && state && strcmp(state, "26000") == 0 && PQtransactionStatus(c) == PQTRANS_IDLE) {
            prep_forget_pid(PQbackendPID(c));
            PQclear(r);
            continue;
        }
        sy_pg_error(c, r, err);
        PQclear(r);
        return NULL;
    }
}

json_t *sy_pg_json(sy_pg_pool_t *pool, sy_err_t *err, const char *unavailable_code, const char *sql, int nparams,
                   const char *const *params)
{
    PGconn *c = sy_pg_acquire(pool);
    if (!c) {
        sy_err_set(err, SY_E_DB, 503, unavailable_code, "database unavailable");
        return NULL;
    }
    PGresult *r = sy_pg_exec(c, err, sql, nparams, params);
    sy_pg_release(pool, c);
    if (!r) return NULL;
    json_t *v = PQntuples(r) && !PQgetisnull(r, 0, 0) ? json_loads(PQgetvalue(r, 0, 0), 0, NULL) : NULL;
    PQclear(r);
    return v;
}
