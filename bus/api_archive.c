/* bus/api_archive.c - archives (CreateArchive, DescribeArchive,
 * ListArchives, UpdateArchive, DeleteArchive) and replays (StartReplay,
 * DescribeReplay, ListReplays, CancelReplay). Replays are run by the ticker
 * thread (eb_schedule.c). */
#include "bus/internal.h"

#include <stdlib.h>
#include <string.h>

static double ms_col(const json_t *row, const char *k)
{
    const char *v = sy_json_str(row, k);
    return v ? eb_secs(strtoll(v, NULL, 10)) : 0;
}

static json_t *archive_json(const json_t *row, bool full)
{
    json_t *o = json_pack("{s:s,s:s,s:s,s:I,s:I,s:I,s:f}", "ArchiveName", sy_json_str(row, "name"),
                          "EventSourceArn", sy_json_str(row, "bus_arn"), "State", sy_json_str(row, "state"),
                          "RetentionDays", (json_int_t)atoll(sy_json_str(row, "retention_days")), "SizeBytes",
                          (json_int_t)atoll(sy_json_str(row, "size") ?: "0"), "EventCount",
                          (json_int_t)atoll(sy_json_str(row, "count") ?: "0"), "CreationTime",
                          ms_col(row, "created_ms"));
    if (full) {
        json_object_set_new(o, "ArchiveArn", json_string(sy_json_str(row, "arn")));
        if (sy_json_str(row, "pattern")) json_object_set_new(o, "EventPattern", json_string(sy_json_str(row, "pattern")));
        if (sy_json_str(row, "description"))
            json_object_set_new(o, "Description", json_string(sy_json_str(row, "description")));
    }
    return o;
}

#define ARCHIVE_COLS                                                                                          \
    "a.name, a.arn, a.bus_arn, a.pattern, a.description, a.retention_days, a.state, a.created_ms, "          \
    "(SELECT count(*) FROM sy_eb_archive_events e WHERE e.archive = a.name) AS count, "                     \
    "(SELECT COALESCE(sum(length(e.event)), 0) FROM sy_eb_archive_events e WHERE e.archive = a.name) AS size"

static json_t *archive_get(eb_svc_t *svc, const char *name, sy_err_t *err)
{
    const char *p[1] = {name};
    json_t *rows = store_eb_q(svc->ctx, err, "SELECT " ARCHIVE_COLS " FROM sy_eb_archives a WHERE a.name = $1", 1, p);
    if (!rows) return NULL;
    json_t *row = json_array_size(rows) ? json_incref(json_array_get(rows, 0)) : NULL;
    json_decref(rows);
    if (!row) eb_not_found(err, "Archive %s does not exist.", name);
    return row;
}

static int nf(const sy_err_t *err)
{
    return !strcmp(err->code, "ResourceNotFoundException") ? SY_E_NOTFOUND : SY_E_DB;
}

int eb_create_archive(eb_svc_t *svc, json_t *in, json_t **out, sy_err_t *err)
{
    const char *name = eb_req_str(in, "ArchiveName", err);
    if (!name) return SY_E_INVALID;
    const char *src = eb_req_str(in, "EventSourceArn", err);
    if (!src) return SY_E_INVALID;
    const char *bp = strstr(src, ":event-bus/");
    if (!bp) return eb_validation(err, "Parameter EventSourceArn is not valid.");
    const char *bus = bp + 11;
    json_t *brow = store_eb_bus_get(svc->ctx, bus, err);
    if (!brow) return nf(err);
    json_decref(brow);
    const char *pattern = sy_json_str(in, "EventPattern");
    if (pattern && sy_pattern_validate(SY_PATTERN_EVENTBRIDGE, pattern, strlen(pattern), err) < 0) return SY_E_INVALID;
    int64_t days = 0;
    sy_json_int(in, "RetentionDays", &days);
    if (days < 0) return eb_validation(err, "RetentionDays must not be negative.");
    char *res = sy_asprintf("archive/%s", name);
    char *arn = sy_arn(svc->ctx, "events", res);
    char d[24], now[24];
    int64_t now_ms = sy_now_ms();
    snprintf(d, sizeof d, "%lld", (long long)days);
    snprintf(now, sizeof now, "%lld", (long long)now_ms);
    const char *p[8] = {name, arn, src, bus, pattern, sy_json_str(in, "Description"), d, now};
    PGconn *c;
    int rc = store_eb_tx(svc->ctx, &c, err);
    if (rc == 0) {
        rc = store_eb_cmd(c, err,
                          "INSERT INTO sy_eb_archives (name, arn, bus_arn, bus, pattern, description, retention_days, "
                          "state, created_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, 'ENABLED', $8) ON CONFLICT DO NOTHING",
                          8, p);
        if (rc == 0)
            rc = sy_err_set(err, SY_E_EXISTS, 400, "ResourceAlreadyExistsException", "Archive %s already exists.", name);
        if (rc > 0) rc = store_eb_bump(c, err);
        rc = store_eb_end(svc->ctx, c, rc, err);
    }
    if (rc == 0)
        *out = json_pack("{s:s,s:s,s:f}", "ArchiveArn", arn, "State", "ENABLED", "CreationTime", eb_secs(now_ms));
    free(res);
    free(arn);
    return rc;
}

int eb_describe_archive(eb_svc_t *svc, json_t *in, json_t **out, sy_err_t *err)
{
    const char *name = eb_req_str(in, "ArchiveName", err);
    if (!name) return SY_E_INVALID;
    json_t *row = archive_get(svc, name, err);
    if (!row) return nf(err);
    *out = archive_json(row, true);
    json_decref(row);
    return 0;
}

int eb_list_archives(eb_svc_t *svc, json_t *in, json_t **out, sy_err_t *err)
{
    const char *p[4] = {sy_json_str(in, "NamePrefix") ?: "", sy_json_str(in, "EventSourceArn") ?: "",
                        sy_json_str(in, "State") ?: "", sy_json_str(in, "NextToken") ?: ""};
    json_t *rows = store_eb_q(svc->ctx, err,
                              "SELECT " ARCHIVE_COLS " FROM sy_eb_archives a WHERE starts_with(a.name, $1) AND "
                              "($2 = '' OR a.bus_arn = $2) AND ($3 = '' OR a.state = $3) AND a.name > $4 ORDER BY a.name",
                              4, p);
    if (!rows) return SY_E_DB;
    json_t *list = json_array();
    size_t i;
    json_t *r;
    json_array_foreach(rows, i, r) json_array_append_new(list, archive_json(r, false));
    *out = json_pack("{s:o}", "Archives", list);
    json_decref(rows);
    return 0;
}

int eb_update_archive(eb_svc_t *svc, json_t *in, json_t **out, sy_err_t *err)
{
    const char *name = eb_req_str(in, "ArchiveName", err);
    if (!name) return SY_E_INVALID;
    const char *pattern = sy_json_str(in, "EventPattern");
    if (pattern && sy_pattern_validate(SY_PATTERN_EVENTBRIDGE, pattern, strlen(pattern), err) < 0) return SY_E_INVALID;
    int64_t days = -1;
    sy_json_int(in, "RetentionDays", &days);
    char d[24];
    snprintf(d, sizeof d, "%lld", (long long)days);
    const char *p[4] = {name, pattern, sy_json_str(in, "Description"), d};
    PGconn *c;
    int rc = store_eb_tx(svc->ctx, &c, err);
    if (rc == 0) {
        rc = store_eb_cmd(c, err,
                          "UPDATE sy_eb_archives SET pattern = COALESCE($2, pattern), description = COALESCE($3, "
                          "description), retention_days = CASE WHEN $4::int >= 0 THEN $4::int ELSE retention_days END "
                          "WHERE name = $1",
                          4, p);
        if (rc == 0) rc = eb_not_found(err, "Archive %s does not exist.", name);
        if (rc > 0) rc = store_eb_bump(c, err);
        rc = store_eb_end(svc->ctx, c, rc, err);
    }
    if (rc < 0) return rc;
    json_t *row = archive_get(svc, name, err);
    if (!row) return nf(err);
    *out = json_pack("{s:s,s:s,s:f}", "ArchiveArn", sy_json_str(row, "arn"), "State", sy_json_str(row, "state"),
                     "CreationTime", ms_col(row, "created_ms"));
    json_decref(row);
    return 0;
}

int eb_delete_archive(eb_svc_t *svc, json_t *in, json_t **out, sy_err_t *err)
{
    (void)out;
    const char *name = eb_req_str(in, "ArchiveName", err);
    if (!name) return SY_E_INVALID;
    const char *p[1] = {name};
    PGconn *c;
    int rc = store_eb_tx(svc->ctx, &c, err);
    if (rc == 0) {
        rc = store_eb_cmd(c, err,
                          "WITH e AS (DELETE FROM sy_eb_archive_events WHERE archive = $1) "
                          "DELETE FROM sy_eb_archives WHERE name = $1",
                          1, p);
        if (rc == 0) rc = eb_not_found(err, "Archive %s does not exist.", name);
        if (rc > 0) rc = store_eb_bump(c, err);
        rc = store_eb_end(svc->ctx, c, rc, err);
    }
    return rc;
}

/* ------------------------------------------------------------ replays */
static json_t *replay_json(const json_t *row, bool full)
{
    json_t *o = json_pack("{s:s,s:s,s:s,s:f,s:f,s:f}", "ReplayName", sy_json_str(row, "name"), "EventSourceArn",
                          sy_json_str(row, "archive_arn"), "State", sy_json_str(row, "state"), "EventStartTime",
                          ms_col(row, "start_ms"), "EventEndTime", ms_col(row, "end_ms"), "ReplayStartTime",
                          ms_col(row, "created_ms"));
    if (sy_json_str(row, "reason")) json_object_set_new(o, "StateReason", json_string(sy_json_str(row, "reason")));
    if (sy_json_str(row, "last_ms")) json_object_set_new(o, "EventLastReplayedTime", json_real(ms_col(row, "last_ms")));
    if (sy_json_str(row, "ended_ms")) json_object_set_new(o, "ReplayEndTime", json_real(ms_col(row, "ended_ms")));
    if (full) {
        json_object_set_new(o, "ReplayArn", json_string(sy_json_str(row, "arn")));
        json_object_set_new(o, "Destination", json_loads(sy_json_str(row, "destination"), 0, NULL));
        if (sy_json_str(row, "description"))
            json_object_set_new(o, "Description", json_string(sy_json_str(row, "description")));
    }
    return o;
}

#define REPLAY_COLS                                                                                            \
    "name, arn, archive_arn, description, destination::text AS destination, start_ms, end_ms, state, reason, "   \
    "created_ms, ended_ms, last_ms"

int eb_start_replay(eb_svc_t *svc, json_t *in, json_t **out, sy_err_t *err)
{
    const char *name = eb_req_str(in, "ReplayName", err);
    if (!name) return SY_E_INVALID;
    const char *src = eb_req_str(in, "EventSourceArn", err);
    if (!src) return SY_E_INVALID;
    const json_t *dest = json_object_get(in, "Destination");
    if (!sy_json_str(dest, "Arn")) return eb_validation(err, "Parameter Destination.Arn is not valid.");
    int64_t start = eb_in_time_ms(json_object_get(in, "EventStartTime"));
    int64_t end = eb_in_time_ms(json_object_get(in, "EventEndTime"));
    if (start < 0 || end < 0) return eb_validation(err, "EventStartTime and EventEndTime are required.");
    if (end <= start) return eb_validation(err, "Parameter EventEndTime is not valid. Reason: EventStartTime must be before EventEndTime.");
    const char *ap = strstr(src, ":archive/");
    if (!ap) return eb_validation(err, "Parameter EventSourceArn is not valid.");
    json_t *arow = archive_get(svc, ap + 9, err);
    if (!arow) return nf(err);
    int rc = 0;
    if (strcmp(sy_json_str(arow, "bus_arn"), sy_json_str(dest, "Arn")))
        rc = eb_validation(err, "Parameter Destination.Arn is not valid. Reason: Cross event bus replay is not permitted.");
    char *res = sy_asprintf("replay/%s", name);
    char *arn = sy_arn(svc->ctx, "events", res);
    char *dj = sy_json_dumps(dest), s[24], e[24], now[24];
    int64_t now_ms = sy_now_ms();
    snprintf(s, sizeof s, "%lld", (long long)start);
    snprintf(e, sizeof e, "%lld", (long long)end);
    snprintf(now, sizeof now, "%lld", (long long)now_ms);
    const char *p[9] = {name, arn, ap + 9, src, sy_json_str(in, "Description"), dj, s, e, now};
    PGconn *c = NULL;
    if (rc == 0) rc = store_eb_tx(svc->ctx, &c, err);
    if (rc == 0) {
        rc = store_eb_cmd(c, err,
                          "INSERT INTO sy_eb_replays (name, arn, archive, archive_arn, description, destination, "
                          "start_ms, end_ms, state, created_ms) VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8, "
                          "'STARTING', $9) ON CONFLICT DO NOTHING",
                          9, p);
        if (rc == 0)
            rc = sy_err_set(err, SY_E_EXISTS, 400, "ResourceAlreadyExistsException", "Replay %s already exists.", name);
        rc = store_eb_end(svc->ctx, c, rc < 0 ? rc : 0, err);
    }
    if (rc == 0)
        *out = json_pack("{s:s,s:s,s:f}", "ReplayArn", arn, "State", "STARTING", "ReplayStartTime", eb_secs(now_ms));
    json_decref(arow);
    free(res);
    free(arn);
    free(dj);
    return rc;
}

int eb_describe_replay(eb_svc_t *svc, json_t *in, json_t **out, sy_err_t *err)
{
    const char *name = eb_req_str(in, "ReplayName", err);
    if (!name) return SY_E_INVALID;
    const char *p[1] = {name};
    json_t *rows = store_eb_q(svc->ctx, err, "SELECT " REPLAY_COLS " FROM sy_eb_replays WHERE name = $1", 1, p);
    if (!rows) return SY_E_DB;
    int rc = 0;
    if (!json_array_size(rows)) rc = eb_not_found(err, "Replay %s does not exist.", name);
    else *out = replay_json(json_array_get(rows, 0), true);
    json_decref(rows);
    return rc;
}

int eb_list_replays(eb_svc_t *svc, json_t *in, json_t **out, sy_err_t *err)
{
    const char *p[4] = {sy_json_str(in, "NamePrefix") ?: "", sy_json_str(in, "EventSourceArn") ?: "",
                        sy_json_str(in, "State") ?: "", sy_json_str(in, "NextToken") ?: ""};
    json_t *rows = store_eb_q(svc->ctx, err,
                              "SELECT " REPLAY_COLS " FROM sy_eb_replays WHERE starts_with(name, $1) AND "
                              "($2 = '' OR archive_arn = $2) AND ($3 = '' OR state = $3) AND name > $4 ORDER BY name",
                              4, p);
    if (!rows) return SY_E_DB;
    json_t *list = json_array();
    size_t i;
    json_t *r;
    json_array_foreach(rows, i, r) json_array_append_new(list, replay_json(r, false));
    *out = json_pack("{s:o}", "Replays", list);
    json_decref(rows);
    return 0;
}

int eb_cancel_replay(eb_svc_t *svc, json_t *in, json_t **out, sy_err_t *err)
{
    const char *name = eb_req_str(in, "ReplayName", err);
    if (!name) return SY_E_INVALID;
    const char *p[1] = {name};
    PGconn *c;
    int rc = store_eb_tx(svc->ctx, &c, err);
    if (rc < 0) return rc;
    json_t *rows = store_eb_rows(c, err, "SELECT arn, state FROM sy_eb_replays WHERE name = $1 FOR UPDATE", 1, p);
    if (!rows) rc = SY_E_DB;
    else if (!json_array_size(rows)) rc = eb_not_found(err, "Replay %s does not exist.", name);
    else {
        const char *st = sy_json_str(json_array_get(rows, 0), "state");
        if (strcmp(st, "STARTING") && strcmp(st, "RUNNING"))
            rc = sy_err_set(err, SY_E_INVALID, 400, "IllegalStatusException", "Replay %s is not in a valid state for "
                                                                              "this operation.", name);
        else rc = store_eb_cmd(c, err,
                               "UPDATE sy_eb_replays SET state = 'CANCELLED', reason = 'Cancelled by the user', "
                               "ended_ms = (extract(epoch from now()) * 1000)::bigint WHERE name = $1",
                               1, p);
    }
    if (rc >= 0)
        *out = json_pack("{s:s,s:s}", "ReplayArn", sy_json_str(json_array_get(rows, 0), "arn"), "State", "CANCELLING");
    rc = store_eb_end(svc->ctx, c, rc < 0 ? rc : 0, err);
    json_decref(rows);
    return rc;
}
