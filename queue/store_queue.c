/* queue/store_queue.c - SQL for queues */
#include "queue/internal.h"

#include <stdlib.h>
#include <string.h>

#define QCOLS "id, name, fifo, attrs::text, extract(epoch from created_at)::bigint, extract(epoch from modified_at)::bigint"

static int row_to_queue(PGresult *r, int row, sy_queue_t *q)
{
    json_t *attrs = json_loads(PQgetvalue(r, row, 3), 0, NULL);
    if (!attrs) attrs = json_object();
    queue_from_row(q, atoll(PQgetvalue(r, row, 0)), PQgetvalue(r, row, 1), PQgetvalue(r, row, 2)[0] == 't', attrs);
    q->created_s = atoll(PQgetvalue(r, row, 4));
    q->modified_s = atoll(PQgetvalue(r, row, 5));
    return 0;
}

PGresult *store_autocommit(sy_ctx_t *ctx, sy_err_t *err, const char *sql, int n, const char *const *p)
{
    PGconn *c = sy_pg_acquire(ctx->pool);
    if (!c) {
        sy_err_set(err, SY_E_DB, 503, "ServiceUnavailable", "database unavailable");
        return NULL;
    }
    PGresult *r = sy_pg_exec(c, err, sql, n, p);
    sy_pg_release(ctx->pool, c);
    return r;
}

int store_queue_create(sy_ctx_t *ctx, const char *name, bool fifo, json_t *attrs, json_t *tags, int retention_s,
                       bool internal, sy_queue_t *out, bool *created, sy_err_t *err)
{
    char *a = sy_json_dumps(attrs), *t = sy_json_dumps(tags);
    char ret[16];
    snprintf(ret, sizeof ret, "%d", retention_s);
    const char *p[7] = {ctx->cfg.account_id, name, fifo ? "t" : "f", a, t, ret, internal ? "t" : "f"};
    PGresult *r = NULL;
    /* A concurrent creator that commits while this INSERT waits makes it do
     * nothing, and the SELECT's snapshot (taken before) does not see the
     * row either: zero rows. The next statement's snapshot sees it. */
    for (int attempt = 0; attempt < 3; attempt++) {
        if (r) PQclear(r);
        r = store_autocommit(
            ctx, err,
            "WITH ins AS (INSERT INTO sy_queues (account, name, fifo, attrs, tags, retention_s, internal) "
            "VALUES ($1, $2, $3, $4::jsonb, $5::jsonb, $6, $7) ON CONFLICT (account, name) DO NOTHING "
            "RETURNING " QCOLS ") "
            "SELECT *, true FROM ins UNION ALL "
            "SELECT " QCOLS ", false FROM sy_queues WHERE account = $1 AND name = $2 "
            "AND NOT EXISTS (SELECT 1 FROM ins)",
            7, p);
        if (!r || PQntuples(r) == 1) break;
    }
    free(a);
    free(t);
    if (!r) return SY_E_DB;
    int rc = 0;
    if (PQntuples(r) != 1) {
        rc = sy_err_set(err, SY_E_DB, 500, "InternalFailure", "could not create queue");
    } else {
        row_to_queue(r, 0, out);
        *created = PQgetvalue(r, 0, 6)[0] == 't';
    }
    PQclear(r);
    return rc;
}

static int queue_row(PGresult *r, sy_queue_t *out, sy_err_t *err)
{
    if (!r) return SY_E_DB;
    int rc = 0;
    if (PQntuples(r) == 0) rc = err_nonexistent(err);
    else row_to_queue(r, 0, out);
    PQclear(r);
    return rc;
}

#define QGET "SELECT " QCOLS " FROM sy_queues WHERE account = $1 AND name = $2"

int store_queue_get(sy_ctx_t *ctx, const char *name, sy_queue_t *out, sy_err_t *err)
{
    const char *p[2] = {ctx->cfg.account_id, name};
    return queue_row(store_autocommit(ctx, err, QGET, 2, p), out, err);
}

int store_queue_get_on(PGconn *c, const char *account, const char *name, sy_queue_t *out, sy_err_t *err)
{
    const char *p[2] = {account, name};
    return queue_row(sy_pg_exec(c, err, QGET, 2, p), out, err);
}

int store_queue_delete(sy_ctx_t *ctx, int64_t id, sy_err_t *err)
{
    char ids[24];
    snprintf(ids, sizeof ids, "%lld", (long long)id);
    const char *p[1] = {ids};
    PGresult *r = store_autocommit(ctx, err,
                                   "WITH q AS (DELETE FROM sy_queues WHERE id = $1 RETURNING id), "
                                   "m AS (DELETE FROM sy_messages WHERE queue_id = $1), "
                                   "d AS (DELETE FROM sy_dedup WHERE queue_id = $1) "
                                   "SELECT count(*) FROM q",
                                   1, p);
    if (!r) return SY_E_DB;
    int rc = atoi(PQgetvalue(r, 0, 0)) == 1 ? 0 : err_nonexistent(err);
    PQclear(r);
    return rc;
}

int store_queue_list(sy_ctx_t *ctx, const char *prefix, const char *after, int max, json_t *names, sy_err_t *err)
{
    char lim[16];
    snprintf(lim, sizeof lim, "%d", max);
    const char *p[4] = {ctx->cfg.account_id, prefix ? prefix : "", after ? after : "", lim};
    PGresult *r = store_autocommit(ctx, err,
                                   "SELECT name FROM sy_queues WHERE account = $1 AND NOT internal "
                                   "AND left(name, length($2)) = $2 AND name > $3 ORDER BY name LIMIT $4",
                                   4, p);
    if (!r) return SY_E_DB;
    for (int i = 0; i < PQntuples(r); i++) json_array_append_new(names, json_string(PQgetvalue(r, i, 0)));
    PQclear(r);
    return 0;
}

int store_queue_set_attrs(sy_ctx_t *ctx, int64_t id, json_t *attrs, int retention_s, sy_err_t *err)
{
    char ids[24], ret[16];
    snprintf(ids, sizeof ids, "%lld", (long long)id);
    snprintf(ret, sizeof ret, "%d", retention_s);
    char *a = sy_json_dumps(attrs);
    const char *p[3] = {ids, a, ret};
    PGresult *r = store_autocommit(
        ctx, err, "UPDATE sy_queues SET attrs = $2::jsonb, retention_s = $3, modified_at = now() WHERE id = $1", 3, p);
    free(a);
    if (!r) return SY_E_DB;
    int rc = atoi(PQcmdTuples(r)) == 1 ? 0 : err_nonexistent(err);
    PQclear(r);
    return rc;
}

int store_queue_counts(sy_ctx_t *ctx, int64_t id, int64_t counts[3], sy_err_t *err)
{
    char ids[24];
    snprintf(ids, sizeof ids, "%lld", (long long)id);
    const char *p[1] = {ids};
    PGresult *r = store_autocommit(ctx, err,
                                   "SELECT count(*) FILTER (WHERE visible_at <= now()), "
                                   "count(*) FILTER (WHERE visible_at > now() AND receive_count > 0), "
                                   "count(*) FILTER (WHERE visible_at > now() AND receive_count = 0) "
                                   "FROM sy_messages WHERE queue_id = $1",
                                   1, p);
    if (!r) return SY_E_DB;
    for (int i = 0; i < 3; i++) counts[i] = atoll(PQgetvalue(r, 0, i));
    PQclear(r);
    return 0;
}

int store_queue_purge(sy_ctx_t *ctx, int64_t id, sy_err_t *err)
{
    char ids[24];
    snprintf(ids, sizeof ids, "%lld", (long long)id);
    const char *p[1] = {ids};
    PGresult *r =
        store_autocommit(ctx, err,
                         "WITH q AS (UPDATE sy_queues SET purged_at = now() WHERE id = $1 "
                         "AND (purged_at IS NULL OR purged_at < now() - interval '60 seconds') RETURNING id), "
                         "m AS (DELETE FROM sy_messages WHERE queue_id = $1 AND EXISTS (SELECT 1 FROM q) "
                         "AND sent_at <= now()) "
                         "SELECT count(*) FROM q",
                         1, p);
    if (!r) return SY_E_DB;
    int rc = 0;
    if (atoi(PQgetvalue(r, 0, 0)) == 0)
        rc = sy_err_set2(err, SY_E_LIMIT, 403, "PurgeQueueInProgress", "AWS.SimpleQueueService.PurgeQueueInProgress",
                         "Only one PurgeQueue operation on the queue is allowed every 60 seconds.");
    PQclear(r);
    return rc;
}

int store_queue_tags(sy_ctx_t *ctx, int64_t id, json_t *set, json_t *remove, json_t **out, sy_err_t *err)
{
    char ids[24];
    snprintf(ids, sizeof ids, "%lld", (long long)id);
    char *s = sy_json_dumps(set ? set : json_object()), *d = NULL;
    json_t *empty = json_array();
    d = sy_json_dumps(remove ? remove : empty);
    json_decref(empty);
    const char *p[3] = {ids, s, d};
    PGresult *r = store_autocommit(
        ctx, err,
        "UPDATE sy_queues SET tags = (tags || $2::jsonb) - ARRAY(SELECT jsonb_array_elements_text($3::jsonb)) "
        "WHERE id = $1 RETURNING tags::text",
        3, p);
    free(s);
    free(d);
    if (!r) return SY_E_DB;
    int rc = 0;
    if (PQntuples(r) == 0) rc = err_nonexistent(err);
    else if (out) *out = json_loads(PQgetvalue(r, 0, 0), 0, NULL);
    PQclear(r);
    return rc;
}

/* AddPermission / RemovePermission edit the queue's Policy attribute, as on
 * AWS: a statement whose Sid is the label. `stmt` NULL removes it. The row is
 * locked so concurrent edits do not lose each other's statements. */
typedef struct {
    int64_t id;
    const char *label;
    json_t *stmt;
    const char *queue_arn;
} perm_tx_t;

static int perm_tx(PGconn *c, void *u, sy_err_t *err)
{
    perm_tx_t *t = u;
    char ids[24];
    snprintf(ids, sizeof ids, "%lld", (long long)t->id);
    const char *p1[1] = {ids};
    PGresult *r = sy_pg_exec(c, err, "SELECT attrs->>'Policy' FROM sy_queues WHERE id = $1 FOR UPDATE", 1, p1);
    if (!r) return SY_E_DB;
    if (PQntuples(r) == 0) {
        PQclear(r);
        return sy_err_set(err, SY_E_NOTFOUND, 400, "AWS.SimpleQueueService.NonExistentQueue",
                          "The specified queue does not exist.");
    }
    json_t *pol = PQgetisnull(r, 0, 0) ? NULL : json_loads(PQgetvalue(r, 0, 0), 0, NULL);
    PQclear(r);
    if (!json_is_object(pol)) {
        json_decref(pol);
        pol = json_pack("{s:s, s:s+, s:[]}", "Version", "2012-10-17", "Id", t->queue_arn, "/SQSDefaultPolicy",
                        "Statement");
    }
    if (!pol) return sy_err_set(err, SY_E_INVALID, 500, "InternalError", "could not build the queue policy");
    json_t *st = json_object_get(pol, "Statement");
    if (json_is_object(st)) {
        st = json_pack("[O]", st);
        json_object_set_new(pol, "Statement", st);
    } else if (!json_is_array(st)) {
        st = json_array();
        json_object_set_new(pol, "Statement", st);
    }
    size_t i, found = (size_t)-1;
    json_t *e;
    json_array_foreach(st, i, e) if (sy_json_str(e, "Sid") && !strcmp(sy_json_str(e, "Sid"), t->label)) found = i;
    int rc = 0;
    if (t->stmt && found != (size_t)-1)
        rc = sy_err_set(err, SY_E_INVALID, 400, "InvalidParameterValue",
                        "Value %s for parameter Label is invalid. Reason: Already exists.", t->label);
    else if (!t->stmt && found == (size_t)-1)
        rc = sy_err_set(err, SY_E_INVALID, 400, "InvalidParameterValue",
                        "Value %s for parameter Label is invalid. Reason: can't find label on existing policy.",
                        t->label);
    if (rc == 0) {
        if (t->stmt) json_array_append(st, t->stmt);
        else json_array_remove(st, found);
        char *text = json_array_size(st) ? sy_json_dumps(pol) : NULL;
        const char *p2[2] = {ids, text};
        r = text ? sy_pg_exec(c, err,
                              "UPDATE sy_queues SET attrs = attrs || jsonb_build_object('Policy', $2::text), "
                              "modified_at = now() WHERE id = $1",
                              2, p2)
                 : sy_pg_exec(c, err, "UPDATE sy_queues SET attrs = attrs - 'Policy', modified_at = now() WHERE id = $1",
                              1, p2);
        free(text);
        if (!r) rc = SY_E_DB;
        PQclear(r);
    }
    json_decref(pol);
    return rc;
}

int store_queue_permissions(sy_ctx_t *ctx, int64_t id, const char *queue_arn, const char *label, json_t *stmt,
                            sy_err_t *err)
{
    perm_tx_t t = {id, label, stmt, queue_arn};
    return sy_pg_tx(ctx->pool, perm_tx, &t, err);
}

int store_queue_dlq_sources(sy_ctx_t *ctx, const char *dlq_arn, json_t *names, sy_err_t *err)
{
    const char *p[2] = {ctx->cfg.account_id, dlq_arn};
    PGresult *r = store_autocommit(ctx, err,
                                   "SELECT name FROM sy_queues WHERE account = $1 AND attrs ? 'RedrivePolicy' "
                                   "AND (attrs->>'RedrivePolicy')::jsonb->>'deadLetterTargetArn' = $2 ORDER BY name",
                                   2, p);
    if (!r) return SY_E_DB;
    for (int i = 0; i < PQntuples(r); i++) json_array_append_new(names, json_string(PQgetvalue(r, i, 0)));
    PQclear(r);
    return 0;
}
