/* lambda/store_versions.c - the SQL of versions and aliases
 * (schema/007_function_versions.sql). */
#include "lambda/internal.h"

#include <stdlib.h>
#include <string.h>

static int fn_not_found(sy_ctx_t *ctx, sy_err_t *err, const char *name, const char *qual)
{
    return sy_err_set(err, SY_E_NOTFOUND, 404, "ResourceNotFoundException",
                      "Function not found: arn:aws:lambda:%s:%s:function:%s%s%s", ctx->cfg.region,
                      ctx->cfg.account_id, name, qual ? ":" : "", qual ? qual : "");
}

#define VER_COLS                                                                                   \
    "name, version, config::text, description, "                                                  \
    "to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"+0000\"'), revision"

void lm_ver_clear(lm_ver_t *v)
{
    lm_row_clear(&v->row);
    free(v->description);
    memset(v, 0, sizeof *v);
}

static void ver_from(PGresult *r, int i, lm_ver_t *v)
{
    memset(v, 0, sizeof *v);
    v->row.reserved = -1;
    snprintf(v->row.name, sizeof v->row.name, "%s", PQgetvalue(r, i, 0));
    v->version = atoi(PQgetvalue(r, i, 1));
    v->row.config = json_loads(PQgetvalue(r, i, 2), 0, NULL);
    if (!v->row.config) v->row.config = json_object();
    v->description = sy_strdup(PQgetvalue(r, i, 3));
    snprintf(v->row.modified, sizeof v->row.modified, "%s", PQgetvalue(r, i, 4));
    snprintf(v->row.revision, sizeof v->row.revision, "%s", PQgetvalue(r, i, 5));
}

typedef struct {
    sy_ctx_t *ctx;
    const char *name, *description;
    int version;
    bool created;
} publish_t;

static int publish_tx(PGconn *c, void *u, sy_err_t *err)
{
    publish_t *p = u;
    const char *k[2] = {p->ctx->cfg.account_id, p->name};
    PGresult *r = sy_pg_exec(c, err,
                             "SELECT f.last_version, (SELECT v.version FROM sy_function_versions v "
                             " WHERE v.account = f.account AND v.name = f.name AND v.config = f.config "
                             " AND v.version = f.last_version) "
                             "FROM sy_functions f WHERE f.account = $1 AND f.name = $2 FOR UPDATE",
                             2, k);
    if (!r) return SY_E_DB;
    if (PQntuples(r) == 0) {
        PQclear(r);
        return fn_not_found(p->ctx, err, p->name, NULL);
    }
    if (!PQgetisnull(r, 0, 1)) { /* nothing changed since the last version: that one (as AWS) */
        p->version = atoi(PQgetvalue(r, 0, 1));
        PQclear(r);
        return 0;
    }
    PQclear(r);
    char rev[37];
    sy_uuid4(rev);
    const char *q[4] = {p->ctx->cfg.account_id, p->name, p->description ? p->description : "", rev};
    r = sy_pg_exec(c, err,
                   "WITH f AS (UPDATE sy_functions SET last_version = last_version + 1 "
                   " WHERE account = $1 AND name = $2 RETURNING account, name, last_version, config) "
                   "INSERT INTO sy_function_versions (account, name, version, config, description, revision) "
                   "SELECT account, name, last_version, config, $3, $4 FROM f RETURNING version",
                   4, q);
    if (!r) return SY_E_DB;
    p->version = PQntuples(r) ? atoi(PQgetvalue(r, 0, 0)) : 0;
    p->created = true;
    PQclear(r);
    return 0;
}

int lm_store_version_publish(sy_ctx_t *ctx, const char *name, const char *description, int *version,
                             sy_err_t *err)
{
    publish_t p = {.ctx = ctx, .name = name, .description = description};
    int rc = sy_pg_tx(ctx->pool, publish_tx, &p, err);
    if (rc < 0 && err && rc == SY_E_DB) {
        err->status = 500;
        snprintf(err->code, sizeof err->code, "ServiceException");
    }
    *version = p.version;
    return rc;
}

int lm_store_version_get(sy_ctx_t *ctx, const char *name, int version, lm_ver_t *out, sy_err_t *err)
{
    char v[16];
    snprintf(v, sizeof v, "%d", version);
    const char *p[3] = {ctx->cfg.account_id, name, v};
    PGresult *r = lm_store_run(ctx, err,
                      "SELECT " VER_COLS " FROM sy_function_versions WHERE account = $1 AND name = $2 AND version = $3",
                      3, p);
    if (!r) return SY_E_DB;
    int rc = 0;
    if (PQntuples(r) == 0) rc = fn_not_found(ctx, err, name, v);
    else ver_from(r, 0, out);
    PQclear(r);
    return rc;
}

int lm_store_version_list(sy_ctx_t *ctx, const char *name, lm_ver_t **out, int *n, sy_err_t *err)
{
    const char *p[2] = {ctx->cfg.account_id, name};
    PGresult *r = lm_store_run(ctx, err,
                      "SELECT " VER_COLS " FROM sy_function_versions WHERE account = $1 AND name = $2 ORDER BY version",
                      2, p);
    *out = NULL;
    *n = 0;
    if (!r) return SY_E_DB;
    int k = PQntuples(r);
    *out = sy_calloc((size_t)(k ? k : 1), sizeof **out);
    for (int i = 0; i < k; i++) ver_from(r, i, &(*out)[i]);
    *n = k;
    PQclear(r);
    return 0;
}

int lm_store_version_delete(sy_ctx_t *ctx, const char *name, int version, sy_err_t *err)
{
    char v[16];
    snprintf(v, sizeof v, "%d", version);
    const char *p[3] = {ctx->cfg.account_id, name, v};
    PGresult *r = lm_store_run(ctx, err,
                      "WITH a AS (SELECT alias FROM sy_function_aliases WHERE account = $1 AND name = $2 "
                      " AND (version = $3 OR routing->'AdditionalVersionWeights' ? $3) LIMIT 1), "
                      "d AS (DELETE FROM sy_function_versions WHERE account = $1 AND name = $2 AND version = $3::int "
                      " AND NOT EXISTS (SELECT 1 FROM a) RETURNING 1) "
                      "SELECT (SELECT alias FROM a), (SELECT count(*) FROM d)",
                      3, p);
    if (!r) return SY_E_DB;
    int rc = 0;
    if (!PQgetisnull(r, 0, 0))
        rc = sy_err_set(err, SY_E_EXISTS, 409, "ResourceConflictException",
                        "Unable to delete version because the following aliases reference it: [%s]",
                        PQgetvalue(r, 0, 0));
    /* deleting a version that does not exist succeeds on AWS as well */
    PQclear(r);
    return rc;
}

/* ------------------------------------------------------------------ aliases */
#define ALIAS_COLS "name, alias, version, description, routing::text, revision"

void lm_alias_clear(lm_alias_t *a)
{
    free(a->description);
    json_decref(a->routing);
    memset(a, 0, sizeof *a);
}

static void alias_from(PGresult *r, int i, lm_alias_t *a)
{
    memset(a, 0, sizeof *a);
    snprintf(a->name, sizeof a->name, "%s", PQgetvalue(r, i, 0));
    snprintf(a->alias, sizeof a->alias, "%s", PQgetvalue(r, i, 1));
    snprintf(a->version, sizeof a->version, "%s", PQgetvalue(r, i, 2));
    a->description = sy_strdup(PQgetvalue(r, i, 3));
    a->routing = PQgetisnull(r, i, 4) ? NULL : json_loads(PQgetvalue(r, i, 4), 0, NULL);
    snprintf(a->revision, sizeof a->revision, "%s", PQgetvalue(r, i, 5));
}

static int alias_not_found(sy_ctx_t *ctx, sy_err_t *err, const char *name, const char *alias)
{
    return sy_err_set(err, SY_E_NOTFOUND, 404, "ResourceNotFoundException",
                      "Alias not found: arn:aws:lambda:%s:%s:function:%s:%s", ctx->cfg.region, ctx->cfg.account_id,
                      name, alias);
}

/* The versions an alias names must exist: "$LATEST" or a published one. */
static int versions_exist(sy_ctx_t *ctx, const lm_alias_t *a, const char *extra, sy_err_t *err)
{
    const char *vs[2] = {a->version, extra};
    for (int i = 0; i < 2; i++) {
        if (!vs[i] || !*vs[i] || strcmp(vs[i], "$LATEST") == 0) continue;
        long n;
        if (!lm_version_number(vs[i], &n))
            return sy_err_set(err, SY_E_INVALID, 400, "InvalidParameterValueException", "Invalid version: %s", vs[i]);
        lm_ver_t v;
        int rc = lm_store_version_get(ctx, a->name, (int)n, &v, err);
        if (rc < 0) return rc;
        lm_ver_clear(&v);
    }
    return 0;
}

int lm_store_alias_create(sy_ctx_t *ctx, const lm_alias_t *a, const char *extra_version, sy_err_t *err)
{
    int rc = versions_exist(ctx, a, extra_version, err);
    if (rc < 0) return rc;
    char *routing = a->routing ? sy_json_dumps(a->routing) : NULL;
    char rev[37];
    sy_uuid4(rev);
    const char *p[7] = {ctx->cfg.account_id, a->name, a->alias, a->version, a->description ? a->description : "",
                        routing, rev};
    PGresult *r = lm_store_run(ctx, err,
                      "INSERT INTO sy_function_aliases (account, name, alias, version, description, routing, revision) "
                      "SELECT $1, $2, $3, $4, $5, $6::jsonb, $7 WHERE EXISTS (SELECT 1 FROM sy_functions "
                      " WHERE account = $1 AND name = $2) ON CONFLICT DO NOTHING RETURNING 1",
                      7, p);
    free(routing);
    if (!r) return SY_E_DB;
    int got = PQntuples(r);
    PQclear(r);
    if (got) return 0;
    lm_row_t row;
    rc = lm_store_fn_get(ctx, a->name, &row, err);
    if (rc < 0) return fn_not_found(ctx, err, a->name, NULL);
    lm_row_clear(&row);
    return sy_err_set(err, SY_E_EXISTS, 409, "ResourceConflictException",
                      "Alias already exists: arn:aws:lambda:%s:%s:function:%s:%s", ctx->cfg.region,
                      ctx->cfg.account_id, a->name, a->alias);
}

int lm_store_alias_get(sy_ctx_t *ctx, const char *name, const char *alias, lm_alias_t *out, sy_err_t *err)
{
    const char *p[3] = {ctx->cfg.account_id, name, alias};
    PGresult *r = lm_store_run(ctx, err,
                      "SELECT " ALIAS_COLS " FROM sy_function_aliases WHERE account = $1 AND name = $2 AND alias = $3",
                      3, p);
    if (!r) return SY_E_DB;
    int rc = 0;
    if (PQntuples(r) == 0) rc = alias_not_found(ctx, err, name, alias);
    else alias_from(r, 0, out);
    PQclear(r);
    return rc;
}

int lm_store_alias_list(sy_ctx_t *ctx, const char *name, const char *version, lm_alias_t **out, int *n,
                        sy_err_t *err)
{
    const char *p[3] = {ctx->cfg.account_id, name, version};
    PGresult *r = lm_store_run(ctx, err,
                      "SELECT " ALIAS_COLS " FROM sy_function_aliases WHERE account = $1 AND name = $2 "
                      "AND ($3::text IS NULL OR version = $3) ORDER BY alias",
                      3, p);
    *out = NULL;
    *n = 0;
    if (!r) return SY_E_DB;
    int k = PQntuples(r);
    *out = sy_calloc((size_t)(k ? k : 1), sizeof **out);
    for (int i = 0; i < k; i++) alias_from(r, i, &(*out)[i]);
    *n = k;
    PQclear(r);
    return 0;
}

/* a: the alias as it should be (name, alias, version, description, routing).
 * revision: the caller's RevisionId or NULL. */
int lm_store_alias_update(sy_ctx_t *ctx, const lm_alias_t *a, const char *extra_version, const char *revision,
                          sy_err_t *err)
{
    int rc = versions_exist(ctx, a, extra_version, err);
    if (rc < 0) return rc;
    char *routing = a->routing ? sy_json_dumps(a->routing) : NULL;
    char rev[37];
    sy_uuid4(rev);
    const char *p[8] = {ctx->cfg.account_id, a->name, a->alias, a->version, a->description ? a->description : "",
                        routing, rev, revision};
    PGresult *r = lm_store_run(ctx, err,
                      "UPDATE sy_function_aliases SET version = $4, description = $5, routing = $6::jsonb, "
                      "revision = $7 WHERE account = $1 AND name = $2 AND alias = $3 "
                      "AND ($8::uuid IS NULL OR revision = $8::uuid) RETURNING 1",
                      8, p);
    free(routing);
    if (!r) return SY_E_DB;
    int got = PQntuples(r);
    PQclear(r);
    if (got) return 0;
    lm_alias_t cur;
    rc = lm_store_alias_get(ctx, a->name, a->alias, &cur, err);
    if (rc < 0) return rc;
    lm_alias_clear(&cur);
    return sy_err_set(err, SY_E_EXISTS, 412, "PreconditionFailedException",
                      "The Revision Id provided does not match the latest Revision Id. Call the GetAlias API to "
                      "retrieve the latest Revision Id");
}

int lm_store_alias_delete(sy_ctx_t *ctx, const char *name, const char *alias, sy_err_t *err)
{
    const char *p[3] = {ctx->cfg.account_id, name, alias};
    PGresult *r = lm_store_run(ctx, err, "DELETE FROM sy_function_aliases WHERE account = $1 AND name = $2 AND alias = $3",
                      3, p);
    if (!r) return SY_E_DB;
    PQclear(r); /* deleting an alias that does not exist succeeds on AWS as well */
    return 0;
}
