/* core/pg_tx.c - the one transaction helper: BEGIN / COMMIT / ROLLBACK and
 * the retry of a whole transaction on serialization failure or deadlock
 * (SQLSTATE 40001, 40P01) with jittered back-off. Every module's
 * transactions go through here (group commit and migrations included). */
#include "core/core.h"

#include <string.h>
#include <time.h>

#define TX_MAX_ATTEMPTS 6

static bool exec_cmd(PGconn *c, const char *sql, sy_err_t *err)
{
    PGresult *r = PQexec(c, sql);
    bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!ok) sy_pg_error(c, r, err);
    PQclear(r);
    return ok;
}

/* Work registered to run just before COMMIT (sy_pg_on_commit): per thread,
 * as a connection is used by one thread from BEGIN to COMMIT. */
#define TX_HOOKS 8
typedef struct {
    PGconn *c;
    sy_pg_tx_fn fn;
    void (*discard)(void *u);
    void *u;
} tx_hook_t;
static _Thread_local tx_hook_t tx_hooks[TX_HOOKS];
static _Thread_local int tx_nhooks;

/* Take c's hooks out of the table (in registration order); their number. */
static int hooks_take(PGconn *c, tx_hook_t *out)
{
    int n = 0, k = 0;
    for (int i = 0; i < tx_nhooks; i++) {
        if (tx_hooks[i].c == c) out[n++] = tx_hooks[i];
        else tx_hooks[k++] = tx_hooks[i];
    }
    tx_nhooks = k;
    return n;
}

static void hooks_discard(tx_hook_t *h, int n)
{
    for (int i = 0; i < n; i++)
        if (h[i].discard) h[i].discard(h[i].u);
}

int sy_pg_on_commit(PGconn *c, sy_pg_tx_fn fn, void (*discard)(void *u), void *u)
{
    if (tx_nhooks == TX_HOOKS) return SY_E_INTERNAL;
    tx_hooks[tx_nhooks++] = (tx_hook_t){c, fn, discard, u};
    return 0;
}

void *sy_pg_on_commit_arg(PGconn *c, sy_pg_tx_fn fn)
{
    for (int i = 0; i < tx_nhooks; i++)
        if (tx_hooks[i].c == c && tx_hooks[i].fn == fn) return tx_hooks[i].u;
    return NULL;
}

int sy_pg_begin(PGconn *c, sy_err_t *err)
{
    tx_hook_t h[TX_HOOKS];
    int n = hooks_take(c, h); /* left by a transaction that did not end here: not ours to run */
    if (n) sy_log(SY_LOG_ERROR, "core", NULL, "commit hooks of an unfinished transaction dropped");
    hooks_discard(h, n);
    return exec_cmd(c, "BEGIN", err) ? 0 : SY_E_DB;
}

int sy_pg_commit(PGconn *c, sy_err_t *err)
{
    tx_hook_t h[TX_HOOKS];
    int n = hooks_take(c, h), rc = 0, i = 0;
    for (; i < n && rc == 0; i++) {
        rc = h[i].fn(c, h[i].u, err);
        if (h[i].discard) h[i].discard(h[i].u);
    }
    hooks_discard(h + i, n - i);
    if (rc < 0) {
        sy_pg_rollback(c);
        return rc;
    }
    return exec_cmd(c, "COMMIT", err) ? 0 : SY_E_DB;
}

void sy_pg_rollback(PGconn *c)
{
    if (!c) return;
    tx_hook_t h[TX_HOOKS];
    hooks_discard(h, hooks_take(c, h));
    PGTransactionStatusType ts = PQtransactionStatus(c);
    if (ts != PQTRANS_INTRANS && ts != PQTRANS_INERROR) return;
    PQclear(PQexec(c, "ROLLBACK"));
}

int sy_pg_send_begin(PGconn *c)
{
    return PQsendQueryParams(c, "BEGIN", 0, NULL, NULL, NULL, NULL, 0) ? 0 : SY_E_DB;
}

int sy_pg_send_commit(PGconn *c)
{
    return PQsendQueryParams(c, "COMMIT", 0, NULL, NULL, NULL, NULL, 0) ? 0 : SY_E_DB;
}

void sy_pg_retry_backoff(int attempt)
{
    static _Thread_local unsigned seed;
    if (!seed) seed = (unsigned)sy_mono_us() | 1u;
    seed ^= seed << 13;
    seed ^= seed >> 17;
    seed ^= seed << 5;
    long base_us = 1000L << (attempt < 6 ? attempt : 6); /* 1, 2, 4 ... 64 ms */
    long us = base_us / 2 + (long)(seed % (unsigned)(base_us / 2 + 1));
    struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
    nanosleep(&ts, NULL);
}

int sy_pg_tx_on(PGconn *c, sy_pg_tx_fn fn, void *u, sy_err_t *err)
{
    for (int attempt = 0;; attempt++) {
        sy_err_t e;
        sy_err_clear(&e);
        int rc = sy_pg_begin(c, &e);
        if (rc == 0) {
            rc = fn(c, u, &e);
            if (rc == 0) rc = sy_pg_commit(c, &e);
        }
        if (rc < 0) sy_pg_rollback(c);
        if (rc < 0 && attempt + 1 < TX_MAX_ATTEMPTS && sy_pg_retryable(e.sqlstate)) {
            sy_metric_inc("switchyard_db_tx_retries_total", NULL, 1);
            sy_pg_retry_backoff(attempt);
            continue;
        }
        if (rc < 0 && err) *err = e;
        return rc;
    }
}

int sy_pg_tx(sy_pg_pool_t *pool, sy_pg_tx_fn fn, void *u, sy_err_t *err)
{
    PGconn *c = sy_pg_acquire(pool);
    if (!c) return sy_err_set(err, SY_E_DB, 503, "ServiceUnavailable", "database unavailable");
    int rc = sy_pg_tx_on(c, fn, u, err);
    sy_pg_release(pool, c);
    return rc;
}
