/* lambda/store.c - the SQL of the Lambda API: functions'
 * configuration and SQS event-source mappings (schema/002_functions.sql). */
#include "lambda/internal.h"

#include <stdlib.h>
#include <string.h>

/* One autocommit statement on a pooled connection; errors as Lambda says them. */
PGresult *lm_store_run(sy_ctx_t *ctx, sy_err_t *err, const char *sql, int n, const char *const *p)
{
    PGconn *c = sy_pg_acquire(ctx->pool);
    if (!c) {
        sy_err_set(err, SY_E_DB, 500, "ServiceException", "database unavailable");
        return NULL;
    }
    PGresult *r = sy_pg_exec(c, err, sql, n, p);
    sy_pg_release(ctx->pool, c);
    if (!r && err) {
        err->status = 500;
        snprintf(err->code, sizeof err->code, "ServiceException");
    }
    return r;
}

static int not_found(sy_err_t *err, const char *what, const char *name)
{
    return sy_err_set(err, SY_E_NOTFOUND, 404, "ResourceNotFoundException", "%s not found: %s", what, name);
}

void lm_row_clear(lm_row_t *r)
{
    json_decref(r->config);
    json_decref(r->event_config);
    memset(r, 0, sizeof *r);
}

#define FN_COLS                                                                                    \
    "name, config::text, coalesce(reserved, -1), event_config::text, "                            \
    "to_char(modified_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"+0000\"'), revision"

static void row_from(PGresult *r, int i, lm_row_t *out)
{
    memset(out, 0, sizeof *out);
    snprintf(out->name, sizeof out->name, "%s", PQgetvalue(r, i, 0));
    out->config = json_loads(PQgetvalue(r, i, 1), 0, NULL);
    if (!out->config) out->config = json_object();
    out->reserved = atoi(PQgetvalue(r, i, 2));
    out->event_config = PQgetisnull(r, i, 3) ? NULL : json_loads(PQgetvalue(r, i, 3), 0, NULL);
    snprintf(out->modified, sizeof out->modified, "%s", PQgetvalue(r, i, 4));
    snprintf(out->revision, sizeof out->revision, "%s", PQgetvalue(r, i, 5));
}

int lm_store_fn_create(sy_ctx_t *ctx, const char *name, json_t *config, bool if_absent, sy_err_t *err)
{
    char *cfg = sy_json_dumps(config);
    char rev[37];
    sy_uuid4(rev);
    const char *p[4] = {ctx->cfg.account_id, name, cfg, rev};
    PGresult *r = lm_store_run(ctx, err,
                      "INSERT INTO sy_functions (account, name, config, revision) VALUES ($1, $2, $3, $4) "
                      "ON CONFLICT DO NOTHING RETURNING 1",
                      4, p);
    free(cfg);
    if (!r) return SY_E_DB;
    int rc = 0;
    if (PQntuples(r) == 0 && !if_absent)
        rc = sy_err_set(err, SY_E_EXISTS, 409, "ResourceConflictException", "Function already exist: %s", name);
    PQclear(r);
    return rc;
}

int lm_store_fn_get(sy_ctx_t *ctx, const char *name, lm_row_t *out, sy_err_t *err)
{
    const char *p[2] = {ctx->cfg.account_id, name};
    PGresult *r = lm_store_run(ctx, err, "SELECT " FN_COLS " FROM sy_functions WHERE account = $1 AND name = $2", 2, p);
    if (!r) return SY_E_DB;
    int rc = 0;
    if (PQntuples(r) == 0) rc = not_found(err, "Function", name);
    else row_from(r, 0, out);
    PQclear(r);
    return rc;
}

int lm_store_fn_list(sy_ctx_t *ctx, lm_row_t **rows, int *n, sy_err_t *err)
{
    const char *p[1] = {ctx->cfg.account_id};
    PGresult *r = lm_store_run(ctx, err, "SELECT " FN_COLS " FROM sy_functions WHERE account = $1 ORDER BY name", 1, p);
    *rows = NULL;
    *n = 0;
    if (!r) return SY_E_DB;
    int k = PQntuples(r);
    *rows = sy_calloc((size_t)(k ? k : 1), sizeof **rows);
    for (int i = 0; i < k; i++) row_from(r, i, &(*rows)[i]);
    *n = k;
    PQclear(r);
    return 0;
}

static int update_one(sy_ctx_t *ctx, const char *sql, const char *name, const char *v, sy_err_t *err)
{
    char rev[37];
    sy_uuid4(rev);
    const char *p[4] = {ctx->cfg.account_id, name, v, rev};
    PGresult *r = lm_store_run(ctx, err, sql, 4, p);
    if (!r) return SY_E_DB;
    int rc = PQntuples(r) == 0 ? not_found(err, "Function", name) : 0;
    PQclear(r);
    return rc;
}

int lm_store_fn_update(sy_ctx_t *ctx, const char *name, json_t *patch, sy_err_t *err)
{
    char *v = sy_json_dumps(patch);
    int rc = update_one(ctx,
                        "UPDATE sy_functions SET config = config || $3::jsonb, revision = $4, modified_at = now() "
                        "WHERE account = $1 AND name = $2 RETURNING 1",
                        name, v, err);
    free(v);
    return rc;
}

int lm_store_fn_delete(sy_ctx_t *ctx, const char *name, sy_err_t *err)
{
    const char *p[2] = {ctx->cfg.account_id, name};
    PGresult *r = lm_store_run(ctx, err,
                      "WITH f AS (DELETE FROM sy_functions WHERE account = $1 AND name = $2 RETURNING 1), "
                      "m AS (DELETE FROM sy_event_source_mappings WHERE account = $1 AND function_name = $2) "
                      "SELECT count(*) FROM f",
                      2, p);
    if (!r) return SY_E_DB;
    int rc = atoi(PQgetvalue(r, 0, 0)) == 0 ? not_found(err, "Function", name) : 0;
    PQclear(r);
    return rc;
}

int lm_store_fn_set_reserved(sy_ctx_t *ctx, const char *name, int reserved, sy_err_t *err)
{
    char v[16];
    snprintf(v, sizeof v, "%d", reserved);
    return update_one(ctx,
                      "UPDATE sy_functions SET reserved = nullif($3::int, -1), revision = $4 "
                      "WHERE account = $1 AND name = $2 RETURNING 1",
                      name, v, err);
}

int lm_store_fn_set_event_config(sy_ctx_t *ctx, const char *name, json_t *cfg, sy_err_t *err)
{
    char *v = cfg ? sy_json_dumps(cfg) : NULL;
    int rc = update_one(ctx,
                        "UPDATE sy_functions SET event_config = $3::jsonb, revision = $4 "
                        "WHERE account = $1 AND name = $2 RETURNING 1",
                        name, v, err);
    free(v);
    return rc;
}

/* ------------------------------------------------- event-source mappings */
void lm_esm_row_clear(lm_esm_row_t *r)
{
    free(r->source_arn);
    memset(r, 0, sizeof *r);
}

#define ESM_COLS                                                                                   \
    "uuid, function_name, source_arn, batch_size, window_s, coalesce(max_concurrency, 0), enabled, " \
    "response_types ? 'ReportBatchItemFailures', "                                                 \
    "to_char(modified_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"+0000\"'), "           \
    "extract(epoch from modified_at)::bigint, coalesce(qualifier, '')"

static void esm_from(PGresult *r, int i, lm_esm_row_t *o)
{
    memset(o, 0, sizeof *o);
    snprintf(o->uuid, sizeof o->uuid, "%s", PQgetvalue(r, i, 0));
    snprintf(o->function, sizeof o->function, "%s", PQgetvalue(r, i, 1));
    o->source_arn = sy_strdup(PQgetvalue(r, i, 2));
    o->batch_size = atoi(PQgetvalue(r, i, 3));
    o->window_s = atoi(PQgetvalue(r, i, 4));
    o->max_concurrency = atoi(PQgetvalue(r, i, 5));
    o->enabled = PQgetvalue(r, i, 6)[0] == 't';
    o->report_failures = PQgetvalue(r, i, 7)[0] == 't';
    snprintf(o->modified, sizeof o->modified, "%s", PQgetvalue(r, i, 8));
    o->modified_s = atoll(PQgetvalue(r, i, 9));
    snprintf(o->qualifier, sizeof o->qualifier, "%s", PQgetvalue(r, i, 10));
}

static void esm_params(const lm_esm_row_t *r, char b[4][16])
{
    snprintf(b[0], 16, "%d", r->batch_size);
    snprintf(b[1], 16, "%d", r->window_s);
    snprintf(b[2], 16, "%d", r->max_concurrency);
    snprintf(b[3], 16, "%s", r->enabled ? "t" : "f");
}

int lm_store_esm_create(sy_ctx_t *ctx, lm_esm_row_t *r, sy_err_t *err)
{
    char b[4][16];
    esm_params(r, b);
    const char *p[10] = {r->uuid, ctx->cfg.account_id, r->function, r->source_arn, b[0], b[1], b[2], b[3],
                         r->report_failures ? "[\"ReportBatchItemFailures\"]" : "[]", r->qualifier};
    PGresult *res = lm_store_run(ctx, err,
                        "INSERT INTO sy_event_source_mappings (uuid, account, function_name, source_arn, batch_size, "
                        "window_s, max_concurrency, enabled, response_types, qualifier) "
                        "VALUES ($1, $2, $3, $4, $5, $6, nullif($7::int, 0), $8, $9::jsonb, nullif($10, '')) "
                        "RETURNING " ESM_COLS,
                        10, p);
    if (!res) return SY_E_DB;
    lm_esm_row_t tmp;
    esm_from(res, 0, &tmp);
    snprintf(r->modified, sizeof r->modified, "%s", tmp.modified);
    r->modified_s = tmp.modified_s;
    lm_esm_row_clear(&tmp);
    PQclear(res);
    return 0;
}

int lm_store_esm_get(sy_ctx_t *ctx, const char *uuid, lm_esm_row_t *out, sy_err_t *err)
{
    if (strlen(uuid) != 36 || strspn(uuid, "0123456789abcdefABCDEF-") != 36)
        return not_found(err, "The resource you requested does not exist. Event source mapping", uuid);
    const char *p[2] = {uuid, ctx->cfg.account_id};
    PGresult *r = lm_store_run(ctx, err, "SELECT " ESM_COLS " FROM sy_event_source_mappings WHERE uuid = $1 AND account = $2",
                      2, p);
    if (!r) return SY_E_DB;
    int rc = 0;
    if (PQntuples(r) == 0) rc = not_found(err, "The resource you requested does not exist. Event source mapping", uuid);
    else esm_from(r, 0, out);
    PQclear(r);
    return rc;
}

int lm_store_esm_list(sy_ctx_t *ctx, const char *function, const char *source, lm_esm_row_t **rows, int *n,
                      sy_err_t *err)
{
    const char *p[3] = {ctx->cfg.account_id, function, source};
    PGresult *r = lm_store_run(ctx, err,
                      "SELECT " ESM_COLS " FROM sy_event_source_mappings WHERE account = $1 "
                      "AND ($2::text IS NULL OR function_name = $2) AND ($3::text IS NULL OR source_arn = $3) "
                      "ORDER BY uuid",
                      3, p);
    *rows = NULL;
    *n = 0;
    if (!r) return SY_E_DB;
    int k = PQntuples(r);
    *rows = sy_calloc((size_t)(k ? k : 1), sizeof **rows);
    for (int i = 0; i < k; i++) esm_from(r, i, &(*rows)[i]);
    *n = k;
    PQclear(r);
    return 0;
}

int lm_store_esm_update(sy_ctx_t *ctx, const lm_esm_row_t *r, sy_err_t *err)
{
    char b[4][16];
    esm_params(r, b);
    const char *p[9] = {r->uuid, ctx->cfg.account_id, r->function, b[0], b[1], b[2], b[3],
                        r->report_failures ? "[\"ReportBatchItemFailures\"]" : "[]", r->qualifier};
    PGresult *res = lm_store_run(ctx, err,
                        "UPDATE sy_event_source_mappings SET function_name = $3, batch_size = $4, window_s = $5, "
                        "max_concurrency = nullif($6::int, 0), enabled = $7, response_types = $8::jsonb, "
                        "qualifier = nullif($9, ''), modified_at = now() WHERE uuid = $1 AND account = $2 RETURNING 1",
                        9, p);
    if (!res) return SY_E_DB;
    int rc = PQntuples(res) == 0 ? not_found(err, "Event source mapping", r->uuid) : 0;
    PQclear(res);
    return rc;
}

int lm_store_esm_delete(sy_ctx_t *ctx, const char *uuid, sy_err_t *err)
{
    const char *p[2] = {uuid, ctx->cfg.account_id};
    PGresult *r = lm_store_run(ctx, err, "DELETE FROM sy_event_source_mappings WHERE uuid = $1 AND account = $2 RETURNING 1",
                      2, p);
    if (!r) return SY_E_DB;
    int rc = PQntuples(r) == 0 ? not_found(err, "Event source mapping", uuid) : 0;
    PQclear(r);
    return rc;
}
