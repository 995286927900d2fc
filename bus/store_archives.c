/* bus/store_archives.c - the statements on archives (sy_eb_archives), the
 * archived events (sy_eb_archive_events, with the retention sweep) and
 * replays (sy_eb_replays, claimed and completed by the ticker). */
#include "bus/internal.h"

#define ARCHIVE_COLS                                                                                                   \
    "a.name, a.arn, a.bus_arn, a.pattern, a.description, a.retention_days, a.state, a.created_ms, "                    \
    "(SELECT count(*) FROM sy_eb_archive_events e WHERE e.archive = a.name) AS count, "                                \
    "(SELECT COALESCE(sum(length(e.event)), 0) FROM sy_eb_archive_events e WHERE e.archive = a.name) AS size"

#define REPLAY_COLS                                                                                                    \
    "name, arn, archive_arn, description, destination::text AS destination, start_ms, end_ms, state, reason, "         \
    "created_ms, ended_ms, last_ms"

/* ------------------------------------------------------------ archives */
int store_eb_archive_get(sy_ctx_t *ctx, const char *name, json_t **row, sy_err_t *err)
{
    const char *p[1] = {name};
    return store_eb_one(store_eb_q(ctx, err, "SELECT " ARCHIVE_COLS " FROM sy_eb_archives a WHERE a.name = $1", 1, p),
                        row);
}

int store_eb_archive_insert(PGconn *c, const eb_archive_in_t *a, sy_err_t *err)
{
    char d[24], now[24];
    const char *p[8] = {a->name,
                        a->arn,
                        a->bus_arn,
                        a->bus,
                        a->pattern,
                        a->description,
                        store_eb_i64(d, a->retention_days),
                        store_eb_i64(now, a->created_ms)};
    return store_eb_cmd(c, err,
                        "INSERT INTO sy_eb_archives (name, arn, bus_arn, bus, pattern, description, retention_days, "
                        "state, created_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, 'ENABLED', $8) ON CONFLICT DO NOTHING",
                        8, p);
}

json_t *store_eb_archive_list(sy_ctx_t *ctx, const char *prefix, const char *source_arn, const char *state,
                              const char *after, sy_err_t *err)
{
    const char *p[4] = {prefix, source_arn, state, after};
    return store_eb_q(ctx, err,
                      "SELECT " ARCHIVE_COLS " FROM sy_eb_archives a WHERE starts_with(a.name, $1) AND "
                      "($2 = '' OR a.bus_arn = $2) AND ($3 = '' OR a.state = $3) AND a.name > $4 ORDER BY a.name",
                      4, p);
}

int store_eb_archive_update(PGconn *c, const char *name, const char *pattern, const char *description,
                            int64_t retention_days, sy_err_t *err)
{
    char d[24];
    const char *p[4] = {name, pattern, description, store_eb_i64(d, retention_days)};
    return store_eb_cmd(c, err,
                        "UPDATE sy_eb_archives SET pattern = COALESCE($2, pattern), description = COALESCE($3, "
                        "description), retention_days = CASE WHEN $4::int >= 0 THEN $4::int ELSE retention_days END "
                        "WHERE name = $1",
                        4, p);
}

int store_eb_archive_delete(PGconn *c, const char *name, sy_err_t *err)
{
    const char *p[1] = {name};
    return store_eb_cmd(c, err,
                        "WITH e AS (DELETE FROM sy_eb_archive_events WHERE archive = $1) "
                        "DELETE FROM sy_eb_archives WHERE name = $1",
                        1, p);
}

/* ------------------------------------------------------------ archived events */
int store_eb_archive_write(PGconn *c, const char *archive, int64_t time_ms, const char *event, sy_err_t *err)
{
    char t[24];
    const char *p[3] = {archive, store_eb_i64(t, time_ms), event};
    int rc =
        store_eb_cmd(c, err, "INSERT INTO sy_eb_archive_events (archive, time_ms, event) VALUES ($1, $2, $3)", 3, p);
    return rc < 0 ? rc : 0;
}

json_t *store_eb_archive_events(PGconn *c, const char *archive, const char *start_ms, const char *end_ms, sy_err_t *err)
{
    const char *p[3] = {archive, start_ms, end_ms};
    return store_eb_rows(c, err,
                         "SELECT event, time_ms FROM sy_eb_archive_events WHERE archive = $1 AND time_ms >= $2 "
                         "AND time_ms < $3 ORDER BY seq",
                         3, p);
}

void store_eb_archive_sweep(sy_ctx_t *ctx)
{
    PGconn *c = sy_pg_acquire(ctx->pool);
    if (!c) return;
    store_eb_cmd(c, NULL,
                 "DELETE FROM sy_eb_archive_events e USING sy_eb_archives a WHERE e.archive = a.name "
                 "AND a.retention_days > 0 AND e.time_ms < "
                 "(extract(epoch from now()) * 1000)::bigint - a.retention_days::bigint * 86400000",
                 0, NULL);
    sy_pg_release(ctx->pool, c);
}

/* ------------------------------------------------------------ replays */
int store_eb_replay_insert(PGconn *c, const eb_replay_in_t *r, sy_err_t *err)
{
    char s[24], e[24], now[24];
    const char *p[9] = {r->name,
                        r->arn,
                        r->archive,
                        r->archive_arn,
                        r->description,
                        r->destination,
                        store_eb_i64(s, r->start_ms),
                        store_eb_i64(e, r->end_ms),
                        store_eb_i64(now, r->created_ms)};
    return store_eb_cmd(c, err,
                        "INSERT INTO sy_eb_replays (name, arn, archive, archive_arn, description, destination, "
                        "start_ms, end_ms, state, created_ms) VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8, "
                        "'STARTING', $9) ON CONFLICT DO NOTHING",
                        9, p);
}

int store_eb_replay_get(sy_ctx_t *ctx, const char *name, json_t **row, sy_err_t *err)
{
    const char *p[1] = {name};
    return store_eb_one(store_eb_q(ctx, err, "SELECT " REPLAY_COLS " FROM sy_eb_replays WHERE name = $1", 1, p), row);
}

json_t *store_eb_replay_list(sy_ctx_t *ctx, const char *prefix, const char *archive_arn, const char *state,
                             const char *after, sy_err_t *err)
{
    const char *p[4] = {prefix, archive_arn, state, after};
    return store_eb_q(ctx, err,
                      "SELECT " REPLAY_COLS " FROM sy_eb_replays WHERE starts_with(name, $1) AND "
                      "($2 = '' OR archive_arn = $2) AND ($3 = '' OR state = $3) AND name > $4 ORDER BY name",
                      4, p);
}

int store_eb_replay_lock(PGconn *c, const char *name, json_t **row, sy_err_t *err)
{
    const char *p[1] = {name};
    return store_eb_one(store_eb_rows(c, err, "SELECT arn, state FROM sy_eb_replays WHERE name = $1 FOR UPDATE", 1, p),
                        row);
}

int store_eb_replay_cancel(PGconn *c, const char *name, sy_err_t *err)
{
    const char *p[1] = {name};
    return store_eb_cmd(c, err,
                        "UPDATE sy_eb_replays SET state = 'CANCELLED', reason = 'Cancelled by the user', "
                        "ended_ms = (extract(epoch from now()) * 1000)::bigint WHERE name = $1",
                        1, p);
}

int store_eb_replay_claim(PGconn *c, json_t **row, sy_err_t *err)
{
    return store_eb_one(store_eb_rows(c, err,
                                      "SELECT name, archive, destination::text AS destination, start_ms, end_ms "
                                      "FROM sy_eb_replays WHERE state = 'STARTING' LIMIT 1 FOR UPDATE SKIP LOCKED",
                                      0, NULL),
                        row);
}

int store_eb_replay_complete(PGconn *c, const char *name, int64_t now_ms, const char *last_ms, sy_err_t *err)
{
    char now[24];
    const char *q[3] = {name, store_eb_i64(now, now_ms), last_ms};
    return store_eb_cmd(c, err,
                        "UPDATE sy_eb_replays SET state = 'COMPLETED', began_ms = $2, ended_ms = $2, "
                        "last_ms = $3::bigint WHERE name = $1",
                        3, q);
}
