/* lambda/store_fleet.c - the SQL of many brokers as one service
 * (schema/006_fleet.sql): the broker registry and synchronous calls handed
 * from one broker to another. Both tables are UNLOGGED (no WAL to flush). */
#include "lambda/fleet.h"

#include <stdlib.h>
#include <string.h>

static int fail(PGconn *c, PGresult *r, sy_err_t *err)
{
    int rc = sy_pg_error(c, r, err);
    PQclear(r);
    return rc < 0 ? rc : SY_E_DB;
}

static PGresult *exec(PGconn *c, const char *sql, int n, const char *const *p, const int *lens, const int *fmts,
                      int result_fmt)
{
    return PQexecParams(c, sql, n, NULL, p, lens, fmts, result_fmt);
}

/* Rows of (id, one-letter kind): ids and kinds (owned by the caller). */
static int id_kind_rows(PGresult *r, char ***ids, char **kinds, int *n)
{
    int k = PQntuples(r);
    *ids = sy_calloc((size_t)k + 1, sizeof **ids);
    *kinds = sy_calloc((size_t)k + 1, 1);
    for (int i = 0; i < k; i++) {
        (*ids)[i] = sy_strdup(PQgetvalue(r, i, 0));
        (*kinds)[i] = PQgetvalue(r, i, 1)[0];
    }
    *n = k;
    PQclear(r);
    return 0;
}

int lm_store_fleet_listen(PGconn *c, const char *channel, sy_err_t *err)
{
    char sql[128];
    snprintf(sql, sizeof sql, "LISTEN %s", channel); /* channel: sy_fleet_ + 32 hex */
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) return fail(c, r, err);
    PQclear(r);
    return 0;
}

int lm_store_fleet_heartbeat(PGconn *c, const char *id, const char *account, bool draining, const char *functions,
                             sy_err_t *err)
{
    const char *p[4] = {id, account, draining ? "t" : "f", functions};
    PGresult *r = exec(c,
                       "INSERT INTO sy_brokers (id, account, draining, functions) VALUES ($1, $2, $3, $4::jsonb) "
                       "ON CONFLICT (id) DO UPDATE SET heartbeat_at = now(), draining = EXCLUDED.draining, "
                       "functions = EXCLUDED.functions",
                       4, p, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) return fail(c, r, err);
    PQclear(r);
    return 0;
}

int lm_store_fleet_peers(PGconn *c, const char *account, int stale_ms, lm_peer_t **out, int *n, int *reserved_sum,
                         sy_err_t *err)
{
    char ms[16];
    snprintf(ms, sizeof ms, "%d", stale_ms);
    const char *p[2] = {account, ms};
    PGresult *r = exec(c,
                       "SELECT replace(id::text, '-', ''), functions::text, "
                       "(SELECT coalesce(sum(reserved), 0) FROM sy_functions WHERE account = $1) "
                       "FROM sy_brokers WHERE account = $1 AND NOT draining "
                       "AND heartbeat_at > now() - make_interval(secs => $2::int / 1000.0) ORDER BY id",
                       2, p, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) return fail(c, r, err);
    int k = PQntuples(r);
    lm_peer_t *v = sy_calloc((size_t)k + 1, sizeof *v);
    for (int i = 0; i < k; i++) {
        snprintf(v[i].id, sizeof v[i].id, "%s", PQgetvalue(r, i, 0));
        v[i].functions = json_loads(PQgetvalue(r, i, 1), 0, NULL);
        if (!v[i].functions) v[i].functions = json_object();
    }
    *reserved_sum = k ? atoi(PQgetvalue(r, 0, 2)) : 0;
    PQclear(r);
    *out = v;
    *n = k;
    return 0;
}

int lm_store_fleet_leave(PGconn *c, const char *id, sy_err_t *err)
{
    const char *p[1] = {id};
    PGresult *r = exec(c, "DELETE FROM sy_brokers WHERE id = $1", 1, p, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) return fail(c, r, err);
    PQclear(r);
    return 0;
}

int lm_store_fleet_gc(PGconn *c, sy_err_t *err)
{
    PGresult *r = PQexec(c, "DELETE FROM sy_brokers WHERE heartbeat_at < now() - interval '1 minute'");
    if (PQresultStatus(r) != PGRES_COMMAND_OK) return fail(c, r, err);
    PQclear(r);
    r = PQexec(c, "DELETE FROM sy_fleet_calls WHERE deadline_ms < "
                  "(extract(epoch FROM now()) * 1000)::bigint - 60000");
    if (PQresultStatus(r) != PGRES_COMMAND_OK) return fail(c, r, err);
    PQclear(r);
    return 0;
}

int lm_store_fleet_call_put(PGconn *c, const lm_call_t *call, const char *target_hex, sy_err_t *err)
{
    char deadline[24], chan[64];
    snprintf(deadline, sizeof deadline, "%lld", (long long)call->deadline_ms);
    snprintf(chan, sizeof chan, "sy_fleet_%s", target_hex);
    const char *p[9] = {call->id, call->origin, target_hex, call->function, deadline,
                        call->request_id[0] ? call->request_id : NULL, call->traceparent[0] ? call->traceparent : NULL,
                        call->payload, chan};
    int lens[9] = {0, 0, 0, 0, 0, 0, 0, (int)call->len, 0};
    int fmts[9] = {0, 0, 0, 0, 0, 0, 0, 1, 0};
    PGresult *r = exec(c,
                       "WITH i AS (INSERT INTO sy_fleet_calls (id, origin, target, function, deadline_ms, "
                       "request_id, traceparent, payload) VALUES ($1, $2::uuid, $3::uuid, $4, $5, $6, $7, $8) "
                       "RETURNING id) SELECT pg_notify($9, 'R ' || id::text) FROM i",
                       9, p, lens, fmts, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) return fail(c, r, err);
    PQclear(r);
    return 0;
}

int lm_store_fleet_call_claim(PGconn *c, const char *id, const char *me_hex, lm_call_t *out, sy_err_t *err)
{
    const char *p[2] = {id, me_hex};
    PGresult *r = exec(c,
                       "UPDATE sy_fleet_calls SET state = 'running' WHERE id = $1 AND target = $2::uuid "
                       "AND state = 'new' RETURNING replace(origin::text, '-', ''), function, deadline_ms::text, "
                       "coalesce(request_id, ''), coalesce(traceparent, ''), payload",
                       2, p, NULL, NULL, 1);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) return fail(c, r, err);
    if (PQntuples(r) == 0) {
        PQclear(r);
        return SY_E_NOTFOUND; /* another claim, or gone */
    }
    memset(out, 0, sizeof *out);
    snprintf(out->id, sizeof out->id, "%s", id);
    snprintf(out->origin, sizeof out->origin, "%.*s", PQgetlength(r, 0, 0), PQgetvalue(r, 0, 0));
    snprintf(out->function, sizeof out->function, "%.*s", PQgetlength(r, 0, 1), PQgetvalue(r, 0, 1));
    char dl[24];
    snprintf(dl, sizeof dl, "%.*s", PQgetlength(r, 0, 2), PQgetvalue(r, 0, 2));
    out->deadline_ms = atoll(dl);
    snprintf(out->request_id, sizeof out->request_id, "%.*s", PQgetlength(r, 0, 3), PQgetvalue(r, 0, 3));
    snprintf(out->traceparent, sizeof out->traceparent, "%.*s", PQgetlength(r, 0, 4), PQgetvalue(r, 0, 4));
    out->len = (size_t)PQgetlength(r, 0, 5);
    out->payload = sy_malloc(out->len + 1);
    memcpy(out->payload, PQgetvalue(r, 0, 5), out->len);
    out->payload[out->len] = 0;
    PQclear(r);
    return 0;
}

/* Calls this broker should have heard of but did not (a notification lost
 * to a reconnect): ids of calls targeted at it still new, and of its own
 * calls done. */
int lm_store_fleet_call_missed(PGconn *c, const char *me_hex, char ***ids, char **kinds, int *n, sy_err_t *err)
{
    const char *p[1] = {me_hex};
    PGresult *r = exec(c,
                       "SELECT id::text, 'R' FROM sy_fleet_calls WHERE target = $1::uuid AND state = 'new' "
                       "UNION ALL SELECT id::text, 'D' FROM sy_fleet_calls WHERE origin = $1::uuid AND state = 'done'",
                       1, p, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) return fail(c, r, err);
    return id_kind_rows(r, ids, kinds, n);
}

int lm_store_fleet_call_done(PGconn *c, const char *id, int status, const char *etype, const char *emsg,
                             const void *result, size_t len, sy_err_t *err)
{
    char st[16];
    snprintf(st, sizeof st, "%d", status);
    const char *p[5] = {id, st, etype, emsg, result ? result : ""};
    int lens[5] = {0, 0, 0, 0, (int)len};
    int fmts[5] = {0, 0, 0, 0, 1};
    PGresult *r = exec(c,
                       "WITH u AS (UPDATE sy_fleet_calls SET state = 'done', status = $2, error_type = $3, "
                       "error_message = $4, result = $5, payload = ''::bytea WHERE id = $1 RETURNING origin) "
                       "SELECT pg_notify('sy_fleet_' || replace(origin::text, '-', ''), 'D ' || $1) FROM u",
                       5, p, lens, fmts, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) return fail(c, r, err);
    PQclear(r);
    return 0;
}

int lm_store_fleet_call_take(PGconn *c, const char *id, int *status, char **etype, char **emsg, char **result,
                             size_t *len, sy_err_t *err)
{
    const char *p[1] = {id};
    PGresult *r = exec(c,
                       "DELETE FROM sy_fleet_calls WHERE id = $1 AND state = 'done' "
                       "RETURNING status::text, error_type, error_message, coalesce(result, ''::bytea)",
                       1, p, NULL, NULL, 1);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) return fail(c, r, err);
    if (PQntuples(r) == 0) {
        PQclear(r);
        return SY_E_NOTFOUND;
    }
    char st[16];
    snprintf(st, sizeof st, "%.*s", PQgetlength(r, 0, 0), PQgetvalue(r, 0, 0));
    *status = atoi(st);
    *etype = PQgetisnull(r, 0, 1) ? NULL : sy_strndup(PQgetvalue(r, 0, 1), (size_t)PQgetlength(r, 0, 1));
    *emsg = PQgetisnull(r, 0, 2) ? NULL : sy_strndup(PQgetvalue(r, 0, 2), (size_t)PQgetlength(r, 0, 2));
    *len = (size_t)PQgetlength(r, 0, 3);
    *result = sy_malloc(*len + 1);
    memcpy(*result, PQgetvalue(r, 0, 3), *len);
    (*result)[*len] = 0;
    PQclear(r);
    return 0;
}

int lm_store_fleet_call_drop(PGconn *c, const char *id, sy_err_t *err)
{
    const char *p[1] = {id};
    PGresult *r = exec(c, "DELETE FROM sy_fleet_calls WHERE id = $1", 1, p, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) return fail(c, r, err);
    PQclear(r);
    return 0;
}

/* This broker's calls whose target is gone: its row in the registry is
 * missing or silent for stale_ms (killed), or it drains and has not
 * claimed the call yet. Such rows are deleted and returned with the state
 * they had: 'n' (never claimed: the function did not run, the caller may
 * send it elsewhere) or 'r' (claimed by a broker that died: outcome
 * unknown). A row the target claims or answers meanwhile is left alone
 * (the DELETE re-checks the state it read). targets: the broker each was
 * handed to (32 hex digits). */
int lm_store_fleet_call_orphans(PGconn *c, const char *me_hex, int stale_ms, char ***ids, char **states,
                                char ***targets, int *n, sy_err_t *err)
{
    char ms[16];
    snprintf(ms, sizeof ms, "%d", stale_ms);
    const char *p[2] = {me_hex, ms};
    PGresult *r = exec(c,
                       "WITH o AS (SELECT c.id, c.state, "
                       "b.id IS NULL OR b.heartbeat_at < now() - $2::int * interval '1 millisecond' AS dead, "
                       "coalesce(b.draining, false) AS draining "
                       "FROM sy_fleet_calls c LEFT JOIN sy_brokers b ON b.id = c.target "
                       "WHERE c.origin = $1::uuid AND c.state IN ('new', 'running')) "
                       "DELETE FROM sy_fleet_calls d USING o WHERE d.id = o.id AND d.state = o.state "
                       "AND (o.dead OR (o.draining AND o.state = 'new')) "
                       "RETURNING d.id::text, left(o.state, 1), replace(d.target::text, '-', '')",
                       2, p, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) return fail(c, r, err);
    int k = PQntuples(r);
    *targets = sy_calloc((size_t)k + 1, sizeof **targets);
    for (int i = 0; i < k; i++) (*targets)[i] = sy_strdup(PQgetvalue(r, i, 2));
    return id_kind_rows(r, ids, states, n); /* 'n'ew or 'r'unning */
}
