/* topic/store.c - the only SQL helpers of topic/: transactions and rows */
#include "topic/internal.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

int tp_cmd(PGconn *c, sy_err_t *err, const char *sql, int n, const char *const *p, int *affected)
{
    PGresult *r = sy_pg_exec(c, err, sql, n, p);
    if (!r) return SY_E_DB;
    if (affected) *affected = atoi(PQcmdTuples(r));
    PQclear(r);
    return 0;
}

json_t *tp_rows(PGconn *c, sy_err_t *err, const char *sql, int n, const char *const *p)
{
    PGresult *r = sy_pg_exec(c, err, sql, n, p);
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

int tp_tx_begin(sy_ctx_t *ctx, PGconn **c, sy_err_t *err)
{
    *c = sy_pg_acquire(ctx->pool);
    if (!*c) return sy_err_set(err, SY_E_DB, 500, "InternalError", "database unavailable");
    int rc = tp_cmd(*c, err, "BEGIN", 0, NULL, NULL);
    if (rc < 0) {
        sy_pg_release(ctx->pool, *c);
        *c = NULL;
    }
    return rc;
}

int tp_tx_end(sy_ctx_t *ctx, PGconn *c, int rc, sy_err_t *err)
{
    if (!c) return rc;
    if (rc >= 0) {
        int r2 = tp_cmd(c, err, "COMMIT", 0, NULL, NULL);
        if (r2 < 0) rc = r2;
    } else {
        tp_cmd(c, NULL, "ROLLBACK", 0, NULL, NULL);
    }
    sy_pg_release(ctx->pool, c);
    return rc;
}

/* One statement in its own transaction (autocommit). */
int tp_db(sy_ctx_t *ctx, sy_err_t *err, const char *sql, int n, const char *const *p, json_t **rows)
{
    PGconn *c = sy_pg_acquire(ctx->pool);
    if (!c) return sy_err_set(err, SY_E_DB, 500, "InternalError", "database unavailable");
    json_t *r = tp_rows(c, err, sql, n, p);
    sy_pg_release(ctx->pool, c);
    if (!r) return SY_E_DB;
    if (rows) *rows = r;
    else json_decref(r);
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
