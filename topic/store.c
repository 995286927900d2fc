/* topic/store.c - the only SQL of topic/: the named statements, savepoints,
 * rows (transactions are core's sy_pg_tx) */
#include "topic/internal.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    const char *name, *sql;
    int nparams;
} Q[TP_Q_COUNT] = {
    [TP_Q_TOPIC_BUMP] = {"sy_tp_topic_bump", "UPDATE sy_topics SET version = version + 1 WHERE name = $1", 1},
    [TP_Q_TOPIC_LOCK] = {"sy_tp_topic_lock",
                         "SELECT arn, coalesce(attrs->>'SignatureVersion', '1') AS sigver, attrs->>'DeliveryPolicy' AS "
                         "dpolicy FROM sy_topics WHERE name = $1 FOR UPDATE",
                         1},
    [TP_Q_SUB_FIND] = {"sy_tp_sub_find",
                       "SELECT arn, confirmed::text AS confirmed FROM sy_topic_subs WHERE topic = $1 AND protocol = $2 "
                       "AND endpoint = $3",
                       3},
    [TP_Q_SUB_INSERT] =
        {"sy_tp_sub_insert",
         "INSERT INTO sy_topic_subs (arn, topic, protocol, endpoint, attrs, confirmed, token, created_ms) "
         "VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
         8},
    [TP_Q_SUB_CONFIRM] = {"sy_tp_sub_confirm",
                          "UPDATE sy_topic_subs SET confirmed = true WHERE topic = $1 AND token = $2 RETURNING arn", 2},
    [TP_Q_SUB_DELETE] = {"sy_tp_sub_delete",
                         "DELETE FROM sy_topic_subs WHERE arn = $1 RETURNING topic, protocol, endpoint, attrs::text AS "
                         "attrs, confirmed::text AS confirmed",
                         1},
    [TP_Q_SUB_PAGE] = {"sy_tp_sub_page",
                       "SELECT s.arn, s.protocol, s.endpoint, s.confirmed::text AS confirmed, t.arn AS topic_arn FROM "
                       "sy_topic_subs s JOIN sy_topics t ON t.name = s.topic WHERE $2::text IS NULL OR s.topic = $2 "
                       "ORDER BY s.created_ms, s.arn OFFSET $1::bigint LIMIT 101",
                       2},
    [TP_Q_TOPIC_EXISTS] = {"sy_tp_topic_exists", "SELECT name FROM sy_topics WHERE name = $1", 1},
    [TP_Q_SUB_GET] = {"sy_tp_sub_get",
                      "SELECT s.arn, s.topic, s.protocol, s.endpoint, s.attrs::text AS attrs, s.confirmed::text AS "
                      "confirmed, t.arn AS topic_arn, t.attrs->>'DeliveryPolicy' AS topic_dp FROM sy_topic_subs s JOIN "
                      "sy_topics t ON t.name = s.topic WHERE s.arn = $1",
                      1},
    [TP_Q_SUB_SET_ATTRS] = {"sy_tp_sub_set_attrs", "UPDATE sy_topic_subs SET attrs = $2 WHERE arn = $1", 2},
    [TP_Q_TOPIC_INSERT] = {"sy_tp_topic_insert",
                           "INSERT INTO sy_topics (name, arn, attrs, tags, created_ms) VALUES ($1, $2, $3, $4, $5) ON "
                           "CONFLICT (name) DO NOTHING RETURNING name",
                           5},
    [TP_Q_TOPIC_DELETE] = {"sy_tp_topic_delete", "DELETE FROM sy_topics WHERE name = $1", 1},
    [TP_Q_TOPIC_PAGE] = {"sy_tp_topic_page", "SELECT name, arn FROM sy_topics WHERE name > $1 ORDER BY name LIMIT 101",
                         1},
    [TP_Q_TOPIC_GET] =
        {"sy_tp_topic_get",
         "SELECT t.arn, t.attrs::text AS attrs, (SELECT count(*) FROM sy_topic_subs s WHERE s.topic = "
         "t.name AND s.confirmed)::text AS c, (SELECT count(*) FROM sy_topic_subs s WHERE s.topic = t.name"
         " AND NOT s.confirmed)::text AS p FROM sy_topics t WHERE t.name = $1",
         1},
    [TP_Q_TOPIC_SET_ATTR] =
        {"sy_tp_topic_set_attr",
         "UPDATE sy_topics SET attrs = attrs || jsonb_build_object($2::text, $3::text), version = version + 1 "
         "WHERE name = $1 RETURNING name",
         3},
    [TP_Q_TOPIC_TAGS] = {"sy_tp_topic_tags", "SELECT tags::text AS tags FROM sy_topics WHERE name = $1", 1},
    [TP_Q_SUBS_OF_TOPIC] = {"sy_tp_subs_of_topic",
                            "SELECT arn, protocol, endpoint, attrs::text AS attrs, confirmed::text AS confirmed FROM "
                            "sy_topic_subs WHERE topic = $1 ORDER BY created_ms, arn",
                            1},
    [TP_Q_TOPIC_VERSION] =
        {"sy_tp_topic_version",
         "SELECT version::text AS version, coalesce(attrs->>'ContentBasedDeduplication', 'false') AS cbd, "
         "coalesce(attrs->>'SignatureVersion', '1') AS sigver, attrs->>'DeliveryPolicy' AS dpolicy "
         "FROM sy_topics WHERE name = $1 FOR SHARE",
         1},
    [TP_Q_TOPIC_TAG] = {"sy_tp_topic_tag",
                        "UPDATE sy_topics SET tags = tags || $2::jsonb WHERE name = $1 RETURNING (SELECT count(*) FROM "
                        "jsonb_object_keys(tags || $2::jsonb))::text AS n",
                        2},
    [TP_Q_TOPIC_UNTAG] =
        {"sy_tp_topic_untag",
         "UPDATE sy_topics SET tags = tags - ARRAY(SELECT jsonb_array_elements_text($2::jsonb)) WHERE name"
         " = $1 RETURNING name",
         2},
    [TP_Q_SIGNING_GET] = {"sy_tp_signing_get", "SELECT key_pem, cert_pem FROM sy_topic_signing WHERE id = 1", 0},
    [TP_Q_SIGNING_INSERT] = {"sy_tp_signing_insert",
                             "INSERT INTO sy_topic_signing (id, key_pem, cert_pem, created_ms) VALUES (1, $1, $2, $3) "
                             "ON CONFLICT (id) DO NOTHING",
                             3},
    [TP_Q_TOMB_INSERT] = {"sy_tp_tomb_insert",
                          "INSERT INTO sy_topic_sub_tombstones (token, topic, arn, protocol, endpoint, attrs, "
                          "created_ms) VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7)",
                          7},
    [TP_Q_TOMB_TAKE] = {"sy_tp_tomb_take",
                        "DELETE FROM sy_topic_sub_tombstones WHERE topic = $1 AND token = $2 RETURNING arn, protocol, "
                        "endpoint, attrs::text AS attrs",
                        2},
    [TP_Q_SUB_RESTORE] = {"sy_tp_sub_restore",
                          "INSERT INTO sy_topic_subs (arn, topic, protocol, endpoint, attrs, confirmed, token, "
                          "created_ms) VALUES ($1, $2, $3, $4, $5::jsonb, true, $6, $7) ON CONFLICT DO NOTHING "
                          "RETURNING arn",
                          7},
    [TP_Q_TOPIC_RAW] = {"sy_tp_topic_raw",
                        "SELECT attrs::text AS attrs, tags::text AS tags FROM sy_topics WHERE name = $1", 1},
};

static PGresult *run(PGconn *c, sy_err_t *err, tp_q_t q, const char *const *p)
{
    return sy_pg_exec_prepared(c, err, Q[q].name, Q[q].sql, Q[q].nparams, p);
}

static int plain(PGconn *c, sy_err_t *err, const char *sql)
{
    PGresult *r = sy_pg_exec(c, err, sql, 0, NULL);
    if (!r) return SY_E_DB;
    PQclear(r);
    return 0;
}

int tp_savepoint(PGconn *c, tp_sp_t op, sy_err_t *err)
{
    return plain(c, err,
                 op == TP_SP_SET       ? "SAVEPOINT sy_tp"
                 : op == TP_SP_RELEASE ? "RELEASE SAVEPOINT sy_tp"
                                       : "ROLLBACK TO SAVEPOINT sy_tp");
}

int tp_cmd(PGconn *c, sy_err_t *err, tp_q_t q, const char *const *p, int *affected)
{
    PGresult *r = run(c, err, q, p);
    if (!r) return SY_E_DB;
    if (affected) *affected = atoi(PQcmdTuples(r));
    PQclear(r);
    return 0;
}

json_t *tp_rows(PGconn *c, sy_err_t *err, tp_q_t q, const char *const *p)
{
    PGresult *r = run(c, err, q, p);
    if (!r) return NULL;
    json_t *rows = json_array();
    for (int i = 0; i < PQntuples(r); i++) {
        json_t *o = json_object();
        for (int k = 0; k < PQnfields(r); k++)
            json_object_set_new(o, PQfname(r, k),
                                PQgetisnull(r, i, k) ? json_null() : json_string(PQgetvalue(r, i, k)));
        json_array_append_new(rows, o);
    }
    PQclear(r);
    return rows;
}

/* One statement in its own transaction (autocommit). */
int tp_db(sy_ctx_t *ctx, sy_err_t *err, tp_q_t q, const char *const *p, json_t **rows)
{
    PGconn *c = sy_pg_acquire(ctx->pool);
    if (!c) return sy_err_set(err, SY_E_DB, 500, "InternalError", "database unavailable");
    json_t *r = tp_rows(c, err, q, p);
    sy_pg_release(ctx->pool, c);
    if (!r) return SY_E_DB;
    if (rows)
        *rows = r;
    else
        json_decref(r);
    return 0;
}

int tp_invalid(sy_err_t *err, const char *fmt, ...)
{
    char msg[900];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return sy_err_set(err, SY_E_INVALID, 400, "InvalidParameter", "Invalid parameter: %s", msg);
}

int tp_notfound(sy_err_t *err, const char *what)
{
    return sy_err_set(err, SY_E_NOTFOUND, 404, "NotFound", "%s does not exist", what);
}

char *tp_topic_name(const char *arn)
{
    if (!arn || strncmp(arn, "arn:aws:sns:", 12) != 0) return NULL;
    char *buf = sy_strdup(arn);
    sy_arn_parts_t p;
    char *name = NULL;
    if (sy_arn_parse(buf, &p) == 0 && p.resource && *p.resource && !strchr(p.resource, ':'))
        name = sy_strdup(p.resource);
    free(buf);
    return name;
}
