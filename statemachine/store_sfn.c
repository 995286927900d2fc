/* statemachine/store_sfn.c - the only SQL of the Step Functions service. */
#include "statemachine/internal.h"

#include <stdlib.h>
#include <string.h>

static char *dupv(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? NULL : sy_strdup(PQgetvalue(r, row, col));
}

static json_t *jsonv(const PGresult *r, int row, int col)
{
    if (PQgetisnull(r, row, col)) return NULL;
    return json_loads(PQgetvalue(r, row, col), JSON_DECODE_ANY, NULL);
}

static int64_t intv(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? 0 : strtoll(PQgetvalue(r, row, col), NULL, 10);
}

/* Run on c, or on a pooled connection when c is NULL. */
static PGresult *run(sy_ctx_t *ctx, PGconn *c, sy_err_t *err, const char *sql, int n, const char *const *p)
{
    if (c) return sy_pg_exec(c, err, sql, n, p);
    PGconn *own = sy_pg_acquire(ctx->pool);
    if (!own) {
        sy_err_set(err, SY_E_DB, 500, "ServiceUnavailable", "database unavailable");
        return NULL;
    }
    PGresult *r = sy_pg_exec(own, err, sql, n, p);
    sy_pg_release(ctx->pool, own);
    return r;
}

/* The same with a prepared statement (name: "sy_sfn_..."): the hot path's
 * statements are parsed and planned once a connection. */
static PGresult *prun(sy_ctx_t *ctx, PGconn *c, sy_err_t *err, const char *name, const char *sql, int n,
                      const char *const *p)
{
    if (c) return sy_pg_exec_prepared(c, err, name, sql, n, p);
    PGconn *own = sy_pg_acquire(ctx->pool);
    if (!own) {
        sy_err_set(err, SY_E_DB, 500, "ServiceUnavailable", "database unavailable");
        return NULL;
    }
    PGresult *r = sy_pg_exec_prepared(own, err, name, sql, n, p);
    sy_pg_release(ctx->pool, own);
    return r;
}

static int prun_cmd(PGconn *c, sy_err_t *err, const char *name, const char *sql, int n, const char *const *p)
{
    PGresult *r = sy_pg_exec_prepared(c, err, name, sql, n, p);
    if (!r) return SY_E_DB;
    PQclear(r);
    return 0;
}

static int run_cmd(sy_ctx_t *ctx, PGconn *c, sy_err_t *err, const char *sql, int n, const char *const *p,
                   int64_t *affected)
{
    PGresult *r = run(ctx, c, err, sql, n, p);
    if (!r) return SY_E_DB;
    if (affected) *affected = strtoll(PQcmdTuples(r), NULL, 10);
    PQclear(r);
    return 0;
}

/* A nested start (StartExecution from a Task or another service) runs
 * under a savepoint of the caller's transaction, so that a name clash does
 * not break it. */
int store_savepoint(PGconn *c, sy_err_t *err)
{
    return store_savepoint_named(c, "sfn_start", err);
}

int store_savepoint_release(PGconn *c, sy_err_t *err)
{
    return store_savepoint_release_named(c, "sfn_start", err);
}

void store_savepoint_rollback(PGconn *c)
{
    store_savepoint_rollback_named(c, "sfn_start");
}

/* name: a constant identifier of this file's callers */
int store_savepoint_named(PGconn *c, const char *name, sy_err_t *err)
{
    char sql[64];
    snprintf(sql, sizeof sql, "SAVEPOINT %s", name);
    return run_cmd(NULL, c, err, sql, 0, NULL, NULL);
}

int store_savepoint_release_named(PGconn *c, const char *name, sy_err_t *err)
{
    char sql[64];
    snprintf(sql, sizeof sql, "RELEASE SAVEPOINT %s", name);
    return run_cmd(NULL, c, err, sql, 0, NULL, NULL);
}

void store_savepoint_rollback_named(PGconn *c, const char *name)
{
    char sql[64];
    snprintf(sql, sizeof sql, "ROLLBACK TO SAVEPOINT %s", name);
    run_cmd(NULL, c, NULL, sql, 0, NULL, NULL);
}

#define I64(buf, v) (snprintf(buf, sizeof buf, "%lld", (long long)(v)), buf)

/* ------------------------------------------------------------ machines */
void sfn_machine_clear(sfn_machine_t *m)
{
    free(m->arn);
    free(m->name);
    free(m->type);
    free(m->definition);
    free(m->role_arn);
    json_decref(m->extra);
    json_decref(m->tags);
    memset(m, 0, sizeof *m);
}

int store_machine_insert(sy_ctx_t *ctx, const sfn_machine_t *m, bool *existed, sy_err_t *err)
{
    char cm[24];
    char *extra = sy_json_dumps(m->extra), *tags = sy_json_dumps(m->tags);
    const char *p[] = {m->arn, m->name, m->type, m->definition, m->role_arn, extra, tags, I64(cm, m->created_ms)};
    int64_t n = 0;
    int rc = run_cmd(ctx, NULL, err,
                     "INSERT INTO sy_sfn_machines (arn, name, type, definition, role_arn, extra, tags, created_ms) "
                     "VALUES ($1,$2,$3,$4,$5,$6::jsonb,$7::jsonb,$8) ON CONFLICT (arn) DO NOTHING",
                     8, p, &n);
    free(extra);
    free(tags);
    if (rc == 0) *existed = n == 0;
    return rc;
}

int store_machine_get(sy_ctx_t *ctx, PGconn *c, const char *arn, sfn_machine_t *m, sy_err_t *err)
{
    const char *p[] = {arn};
    PGresult *r = prun(ctx, c, err, "sy_sfn_machine_get",
                       "SELECT arn, name, type, definition, role_arn, extra, tags, created_ms, updated_ms "
                       "FROM sy_sfn_machines WHERE arn = $1", 1, p);
    if (!r) return SY_E_DB;
    memset(m, 0, sizeof *m);
    int rc = SY_E_NOTFOUND;
    if (PQntuples(r) == 1) {
        m->arn = dupv(r, 0, 0);
        m->name = dupv(r, 0, 1);
        m->type = dupv(r, 0, 2);
        m->definition = dupv(r, 0, 3);
        m->role_arn = dupv(r, 0, 4);
        m->extra = jsonv(r, 0, 5);
        m->tags = jsonv(r, 0, 6);
        m->created_ms = intv(r, 0, 7);
        m->updated_ms = intv(r, 0, 8);
        rc = 0;
    }
    PQclear(r);
    return rc;
}

int store_machine_update(sy_ctx_t *ctx, const char *arn, const char *definition, const char *role_arn,
                         json_t *extra, int64_t now_ms, sy_err_t *err)
{
    char nb[24];
    char *ex = extra ? sy_json_dumps(extra) : NULL;
    const char *p[] = {arn, definition, role_arn, ex, I64(nb, now_ms)};
    int64_t n = 0;
    int rc = run_cmd(ctx, NULL, err,
                     "UPDATE sy_sfn_machines SET definition = COALESCE($2, definition), "
                     "role_arn = COALESCE($3, role_arn), extra = extra || COALESCE($4::jsonb, '{}'), "
                     "updated_ms = $5 WHERE arn = $1", 5, p, &n);
    free(ex);
    if (rc == 0 && n == 0) rc = SY_E_NOTFOUND;
    return rc;
}

int store_machine_delete(sy_ctx_t *ctx, const char *arn, sy_err_t *err)
{
    const char *p[] = {arn};
    return run_cmd(ctx, NULL, err, "DELETE FROM sy_sfn_machines WHERE arn = $1", 1, p, NULL);
}

int store_machine_list(sy_ctx_t *ctx, int64_t after, int max, json_t **rows, sy_err_t *err)
{
    char ab[24], mb[24];
    const char *p[] = {I64(ab, after), I64(mb, max)};
    PGresult *r = run(ctx, NULL, err,
                      "SELECT arn, name, type, created_ms FROM sy_sfn_machines ORDER BY name, arn "
                      "OFFSET $1 LIMIT $2", 2, p);
    if (!r) return SY_E_DB;
    *rows = json_array();
    for (int i = 0; i < PQntuples(r); i++)
        json_array_append_new(*rows, json_pack("{s:s,s:s,s:s,s:f}", "stateMachineArn", PQgetvalue(r, i, 0),
                                               "name", PQgetvalue(r, i, 1), "type", PQgetvalue(r, i, 2),
                                               "creationDate", (double)intv(r, i, 3) / 1000.0));
    PQclear(r);
    return 0;
}

int store_machine_tags(sy_ctx_t *ctx, const char *arn, json_t *add, json_t *remove, json_t **tags_out,
                       sy_err_t *err)
{
    char *a = sy_json_dumps(add ? add : json_object()), *d = sy_json_dumps(remove ? remove : json_array());
    const char *p[] = {arn, a, d};
    PGresult *r = run(ctx, NULL, err,
                      "UPDATE sy_sfn_machines SET tags = (tags || $2::jsonb) - "
                      "ARRAY(SELECT jsonb_array_elements_text($3::jsonb)) WHERE arn = $1 RETURNING tags",
                      3, p);
    free(a);
    free(d);
    if (!r) return SY_E_DB;
    int rc = PQntuples(r) == 1 ? 0 : SY_E_NOTFOUND;
    if (rc == 0 && tags_out) *tags_out = jsonv(r, 0, 0);
    PQclear(r);
    return rc;
}

/* ---------------------------------------------------------- executions */
void sfn_execrow_clear(sfn_execrow_t *e)
{
    char **s[] = {&e->arn, &e->machine_arn, &e->name, &e->type, &e->status, &e->input, &e->output,
                  &e->error, &e->cause, &e->definition, &e->role_arn};
    for (size_t i = 0; i < sizeof s / sizeof *s; i++) free(*s[i]);
    json_decref(e->state);
    json_decref(e->parent);
    memset(e, 0, sizeof *e);
}

#define EXEC_COLS "arn, machine_arn, name, type, status, input, output, error, cause, definition, role_arn, " \
                  "state, parent, start_ms, stop_ms, redrive_count, redrive_ms"

int store_exec_get(sy_ctx_t *ctx, PGconn *c, const char *arn, bool for_update, sfn_execrow_t *e, sy_err_t *err)
{
    const char *p[] = {arn};
    PGresult *r = for_update ? prun(ctx, c, err, "sy_sfn_exec_lock",
                                    "SELECT " EXEC_COLS " FROM sy_sfn_executions WHERE arn = $1 FOR UPDATE", 1, p)
                             : prun(ctx, c, err, "sy_sfn_exec_get",
                                    "SELECT " EXEC_COLS " FROM sy_sfn_executions WHERE arn = $1", 1, p);
    if (!r) return SY_E_DB;
    memset(e, 0, sizeof *e);
    int rc = SY_E_NOTFOUND;
    if (PQntuples(r) == 1) {
        char **s[] = {&e->arn, &e->machine_arn, &e->name, &e->type, &e->status, &e->input, &e->output,
                      &e->error, &e->cause, &e->definition, &e->role_arn};
        for (int i = 0; i < 11; i++) *s[i] = dupv(r, 0, i);
        e->state = jsonv(r, 0, 11);
        e->parent = jsonv(r, 0, 12);
        e->start_ms = intv(r, 0, 13);
        e->stop_ms = intv(r, 0, 14);
        e->redrive_count = (int)intv(r, 0, 15);
        e->redrive_ms = intv(r, 0, 16);
        rc = 0;
    }
    PQclear(r);
    return rc;
}

/* One statement: the execution row and its history, or nothing when the
 * ARN is taken. */
int store_exec_insert(PGconn *c, const sfn_execrow_t *e, const json_t *history, bool *existed, sy_err_t *err)
{
    char sb[24], tb[24];
    char *st = e->state ? sy_json_dumps(e->state) : NULL, *pa = e->parent ? sy_json_dumps(e->parent) : NULL;
    char *h = sy_json_dumps(history);
    const char *p[] = {e->arn, e->machine_arn, e->name, e->type, e->status, e->input, e->output, e->error,
                       e->cause, e->definition, e->role_arn, st, pa, I64(sb, e->start_ms),
                       e->stop_ms ? I64(tb, e->stop_ms) : NULL, h};
    PGresult *r = sy_pg_exec_prepared(c, err, "sy_sfn_exec_insert",
                             "WITH x AS (INSERT INTO sy_sfn_executions (arn, machine_arn, name, type, status, input, "
                             "output, error, cause, definition, role_arn, state, parent, start_ms, stop_ms) "
                             "VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12::jsonb,$13::jsonb,$14,$15) "
                             "ON CONFLICT (arn) DO NOTHING RETURNING arn) "
                             "INSERT INTO sy_sfn_history (exec_arn, id, event) "
                             "SELECT x.arn, (ev->>'id')::bigint, ev FROM x, jsonb_array_elements($16::jsonb) ev",
                             16, p);
    free(st);
    free(pa);
    free(h);
    if (!r) return SY_E_DB;
    *existed = strtoll(PQcmdTuples(r), NULL, 10) == 0;
    PQclear(r);
    return 0;
}

int store_exec_update(PGconn *c, const char *arn, const char *status, const json_t *state, const char *output,
                      const char *error, const char *cause, int64_t stop_ms, const json_t *history, sy_err_t *err)
{
    char tb[24];
    char *st = state ? sy_json_dumps(state) : NULL, *h = sy_json_dumps(history);
    const char *p[] = {arn, status, st, output, error, cause, stop_ms ? I64(tb, stop_ms) : NULL, h};
    int rc = prun_cmd(c, err, "sy_sfn_exec_update",
                      "WITH h AS (INSERT INTO sy_sfn_history (exec_arn, id, event) "
                      "SELECT $1, (ev->>'id')::bigint, ev FROM jsonb_array_elements($8::jsonb) ev) "
                      "UPDATE sy_sfn_executions SET status = $2, state = COALESCE($3::jsonb, state), "
                      "output = $4, error = $5, cause = $6, stop_ms = $7 WHERE arn = $1",
                      8, p);
    free(st);
    free(h);
    return rc;
}

int store_exec_redrive(PGconn *c, const char *arn, int64_t now_ms, sy_err_t *err)
{
    char nb[24];
    const char *p[] = {arn, I64(nb, now_ms)};
    return run_cmd(NULL, c, err,
                   "UPDATE sy_sfn_executions SET status = 'RUNNING', output = NULL, error = NULL, cause = NULL, "
                   "stop_ms = NULL, redrive_count = redrive_count + 1, redrive_ms = $2 WHERE arn = $1",
                   2, p, NULL);
}

int store_exec_list(sy_ctx_t *ctx, const char *sm_arn, const char *status, int64_t before_seq, int max,
                    json_t **rows, sy_err_t *err)
{
    char bb[24], mb[24];
    const char *p[] = {sm_arn, status, before_seq > 0 ? I64(bb, before_seq) : NULL, I64(mb, max)};
    PGresult *r = run(ctx, NULL, err,
                      "SELECT arn, machine_arn, name, status, start_ms, stop_ms, redrive_count, seq "
                      "FROM sy_sfn_executions WHERE machine_arn = $1 AND ($2::text IS NULL OR status = $2) "
                      "AND ($3::bigint IS NULL OR seq < $3) ORDER BY seq DESC LIMIT $4",
                      4, p);
    if (!r) return SY_E_DB;
    *rows = json_array();
    for (int i = 0; i < PQntuples(r); i++) {
        json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:f,s:I,s:I}", "executionArn", PQgetvalue(r, i, 0),
                              "stateMachineArn", PQgetvalue(r, i, 1), "name", PQgetvalue(r, i, 2), "status",
                              PQgetvalue(r, i, 3), "startDate", (double)intv(r, i, 4) / 1000.0, "redriveCount",
                              (json_int_t)intv(r, i, 6), "seq", (json_int_t)intv(r, i, 7));
        if (!PQgetisnull(r, i, 5)) json_object_set_new(o, "stopDate", json_real((double)intv(r, i, 5) / 1000.0));
        json_array_append_new(*rows, o);
    }
    PQclear(r);
    return 0;
}

int store_history_page(sy_ctx_t *ctx, const char *arn, bool reverse, int64_t after, int max, json_t **events,
                       sy_err_t *err)
{
    char ab[24], mb[24];
    const char *p[] = {arn, after > 0 ? I64(ab, after) : NULL, I64(mb, max)};
    PGresult *r = run(ctx, NULL, err,
                      reverse ? "SELECT event FROM sy_sfn_history WHERE exec_arn = $1 AND ($2::bigint IS NULL OR id < $2) "
                                "ORDER BY id DESC LIMIT $3"
                              : "SELECT event FROM sy_sfn_history WHERE exec_arn = $1 AND ($2::bigint IS NULL OR id > $2) "
                                "ORDER BY id LIMIT $3",
                      3, p);
    if (!r) return SY_E_DB;
    *events = json_array();
    for (int i = 0; i < PQntuples(r); i++) {
        json_t *e = jsonv(r, i, 0);
        if (e) json_array_append_new(*events, e);
    }
    PQclear(r);
    return 0;
}

int64_t store_history_max(PGconn *c, const char *arn, sy_err_t *err)
{
    const char *p[] = {arn};
    PGresult *r = sy_pg_exec(c, err, "SELECT COALESCE(max(id), 0) FROM sy_sfn_history WHERE exec_arn = $1", 1, p);
    if (!r) return SY_E_DB;
    int64_t v = intv(r, 0, 0);
    PQclear(r);
    return v;
}

/* ---------------------------------------------------------------- tasks */
int store_task_insert(PGconn *c, const char *token, const char *exec_arn, int64_t req, int64_t hb_s,
                      int64_t now_ms, sy_err_t *err)
{
    char rb[24], hb[24], nb[24];
    const char *p[] = {token, exec_arn, I64(rb, req), I64(hb, hb_s), I64(nb, now_ms)};
    return run_cmd(NULL, c, err,
                   "INSERT INTO sy_sfn_tasks (token, exec_arn, req_id, heartbeat_s, last_hb_ms) "
                   "VALUES ($1,$2,$3,$4,$5)", 5, p, NULL);
}

static int task_row(PGresult *r, sfn_taskrow_t *t)
{
    int rc = SY_E_NOTFOUND;
    if (PQntuples(r) == 1) {
        snprintf(t->exec_arn, sizeof t->exec_arn, "%s", PQgetvalue(r, 0, 0));
        t->req = intv(r, 0, 1);
        t->hb_s = intv(r, 0, 2);
        t->last_hb_ms = intv(r, 0, 3);
        t->done = PQgetvalue(r, 0, 4)[0] == 't';
        rc = 0;
    }
    PQclear(r);
    return rc;
}

int store_task_get(PGconn *c, const char *token, bool for_update, sfn_taskrow_t *t, sy_err_t *err)
{
    const char *p[] = {token};
    PGresult *r = sy_pg_exec(c, err,
                             for_update ? "SELECT exec_arn, req_id, heartbeat_s, last_hb_ms, done FROM sy_sfn_tasks "
                                          "WHERE token = $1 FOR UPDATE"
                                        : "SELECT exec_arn, req_id, heartbeat_s, last_hb_ms, done FROM sy_sfn_tasks "
                                          "WHERE token = $1",
                             1, p);
    if (!r) return SY_E_DB;
    return task_row(r, t);
}

int store_task_find(PGconn *c, const char *exec_arn, int64_t req, sfn_taskrow_t *t, sy_err_t *err)
{
    char rb[24];
    const char *p[] = {exec_arn, I64(rb, req)};
    PGresult *r = sy_pg_exec(c, err,
                             "SELECT exec_arn, req_id, heartbeat_s, last_hb_ms, done FROM sy_sfn_tasks "
                             "WHERE exec_arn = $1 AND req_id = $2 AND NOT done LIMIT 1", 2, p);
    if (!r) return SY_E_DB;
    return task_row(r, t);
}

int store_task_heartbeat(PGconn *c, const char *token, int64_t now_ms, sy_err_t *err)
{
    char nb[24];
    const char *p[] = {token, I64(nb, now_ms)};
    return run_cmd(NULL, c, err, "UPDATE sy_sfn_tasks SET last_hb_ms = $2 WHERE token = $1", 2, p, NULL);
}

int store_task_done(PGconn *c, const char *token, sy_err_t *err)
{
    const char *p[] = {token};
    return run_cmd(NULL, c, err, "UPDATE sy_sfn_tasks SET done = true WHERE token = $1", 1, p, NULL);
}

int store_tasks_done_exec(PGconn *c, const char *exec_arn, sy_err_t *err)
{
    const char *p[] = {exec_arn};
    return prun_cmd(c, err, "sy_sfn_tasks_done_exec", "UPDATE sy_sfn_tasks SET done = true WHERE exec_arn = $1 AND NOT done",
                    1, p);
}
