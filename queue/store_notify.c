/* queue/store_notify.c - SQL of the wake-ups between brokers: LISTEN on
 * the listener's connection, the coalesced NOTIFY on the notifier's */
#include "queue/internal.h"

PGconn *store_listen_connect(const char *conninfo)
{
    PGconn *c = PQconnectdb(conninfo);
    if (PQstatus(c) != CONNECTION_OK) {
        PQfinish(c);
        return NULL;
    }
    PGresult *r = PQexec(c, "LISTEN sy_queue");
    bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    if (!ok) {
        PQfinish(c);
        return NULL;
    }
    return c;
}

PGconn *store_notify_connect(const char *conninfo)
{
    PGconn *c = PQconnectdb(conninfo);
    PGresult *r = PQexec(c, "SET synchronous_commit = off");
    PQclear(r);
    return c;
}

void store_queue_changed(sy_ctx_t *ctx, const char *name)
{
    char *payload = sy_asprintf("s:%s", name);
    const char *p[1] = {payload};
    sy_err_t err;
    PGresult *r = store_autocommit(ctx, &err, "SELECT pg_notify('sy_queue', $1)", 1, p);
    if (!r)
        sy_log(SY_LOG_WARN, "queue", NULL, "could not tell the other brokers of a queue change", "queue", name,
               "error", err.message);
    PQclear(r);
    free(payload);
}

void store_notify(PGconn *c, const int64_t *ids, int n, bool all)
{
    sy_buf_t sql;
    sy_buf_init(&sql);
    sy_buf_puts(&sql, "SELECT ");
    if (all) sy_buf_puts(&sql, "pg_notify('sy_queue', '*')");
    for (int i = 0; i < n; i++)
        sy_buf_printf(&sql, "%spg_notify('sy_queue', '%lld')", i || all ? ", " : "", (long long)ids[i]);
    PGresult *r = PQexec(c, sql.data);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        sy_log(SY_LOG_WARN, "queue", NULL, "notify failed", "error", PQresultErrorMessage(r));
    PQclear(r);
    sy_buf_free(&sql);
}
