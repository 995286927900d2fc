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

/* The archive's row, or NULL with err (ResourceNotFoundException when there
 * is none). */
static json_t *archive_get(eb_svc_t *svc, const char *name, sy_err_t *err)
{
    json_t *row;
    if (store_eb_archive_get(svc->ctx, name, &row, err) == 0) eb_not_found(err, "Archive %s does not exist.", name);
    return row;
}

static int nf(const sy_err_t *err)
{
    return !strcmp(err->code, "ResourceNotFoundException") ? SY_E_NOTFOUND : SY_E_DB;
}

static int insert_archive(PGconn *c, void *u, sy_err_t *err)
{
    const eb_archive_in_t *a = u;
    int rc = store_eb_archive_insert(c, a, err);
    if (rc == 0)
        return sy_err_set(err, SY_E_EXISTS, 400, "ResourceAlreadyExistsException", "Archive %s already exists.",
                          a->name);
    return rc < 0 ? rc : store_eb_bump(c, err);
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
    json_t *brow;
    int rc = store_eb_bus_get(svc->ctx, bus, &brow, err);
    if (rc == 0) rc = eb_not_found(err, "Event bus %s does not exist.", bus);
    if (rc < 0) return rc;
    json_decref(brow);
    const char *pattern = sy_json_str(in, "EventPattern");
    if (pattern && sy_pattern_validate(SY_PATTERN_EVENTBRIDGE, pattern, strlen(pattern), err) < 0) return SY_E_INVALID;
    int64_t days = 0;
    sy_json_int(in, "RetentionDays", &days);
    if (days < 0) return eb_validation(err, "RetentionDays must not be negative.");
    char *res = sy_asprintf("archive/%s", name);
    char *arn = sy_arn(svc->ctx, "events", res);
    int64_t now_ms = sy_now_ms();
    eb_archive_in_t a = {.name = name, .arn = arn, .bus_arn = src, .bus = bus, .pattern = pattern,
                         .description = sy_json_str(in, "Description"), .retention_days = days, .created_ms = now_ms};
    rc = sy_pg_tx(svc->ctx->pool, insert_archive, &a, err);
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
    json_t *rows = store_eb_archive_list(svc->ctx, sy_json_str(in, "NamePrefix") ?: "",
                                         sy_json_str(in, "EventSourceArn") ?: "", sy_json_str(in, "State") ?: "",
                                         sy_json_str(in, "NextToken") ?: "", err);
    if (!rows) return SY_E_DB;
    json_t *list = json_array();
    size_t i;
    json_t *r;
    json_array_foreach(rows, i, r) json_array_append_new(list, archive_json(r, false));
    *out = json_pack("{s:o}", "Archives", list);
    json_decref(rows);
    return 0;
}

typedef struct {
    const char *name, *pattern, *description;
    int64_t retention_days; /* <0: unchanged */
} archive_edit_t;

static int update_archive(PGconn *c, void *u, sy_err_t *err)
{
    const archive_edit_t *a = u;
    int rc = store_eb_archive_update(c, a->name, a->pattern, a->description, a->retention_days, err);
    if (rc == 0) rc = eb_not_found(err, "Archive %s does not exist.", a->name);
    return rc < 0 ? rc : store_eb_bump(c, err);
}

int eb_update_archive(eb_svc_t *svc, json_t *in, json_t **out, sy_err_t *err)
{
    const char *name = eb_req_str(in, "ArchiveName", err);
    if (!name) return SY_E_INVALID;
    const char *pattern = sy_json_str(in, "EventPattern");
    if (pattern && sy_pattern_validate(SY_PATTERN_EVENTBRIDGE, pattern, strlen(pattern), err) < 0) return SY_E_INVALID;
    int64_t days = -1;
    sy_json_int(in, "RetentionDays", &days);
    archive_edit_t a = {.name = name, .pattern = pattern, .description = sy_json_str(in, "Description"),
                        .retention_days = days};
    int rc = sy_pg_tx(svc->ctx->pool, update_archive, &a, err);
    if (rc < 0) return rc;
    json_t *row = archive_get(svc, name, err);
    if (!row) return nf(err);
    *out = json_pack("{s:s,s:s,s:f}", "ArchiveArn", sy_json_str(row, "arn"), "State", sy_json_str(row, "state"),
                     "CreationTime", ms_col(row, "created_ms"));
    json_decref(row);
    return 0;
}

static int delete_archive(PGconn *c, void *name, sy_err_t *err)
{
    int rc = store_eb_archive_delete(c, name, err);
    if (rc == 0) rc = eb_not_found(err, "Archive %s does not exist.", (const char *)name);
    return rc < 0 ? rc : store_eb_bump(c, err);
}

int eb_delete_archive(eb_svc_t *svc, json_t *in, json_t **out, sy_err_t *err)
{
    (void)out;
    const char *name = eb_req_str(in, "ArchiveName", err);
    if (!name) return SY_E_INVALID;
    return sy_pg_tx(svc->ctx->pool, delete_archive, (void *)name, err);
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

static int insert_replay(PGconn *c, void *u, sy_err_t *err)
{
    const eb_replay_in_t *r = u;
    int rc = store_eb_replay_insert(c, r, err);
    if (rc == 0)
        rc = sy_err_set(err, SY_E_EXISTS, 400, "ResourceAlreadyExistsException", "Replay %s already exists.",
                        r->name);
    return rc < 0 ? rc : 0;
}

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
    char *dj = sy_json_dumps(dest);
    int64_t now_ms = sy_now_ms();
    eb_replay_in_t r = {.name = name, .arn = arn, .archive = ap + 9, .archive_arn = src,
                        .description = sy_json_str(in, "Description"), .destination = dj, .start_ms = start,
                        .end_ms = end, .created_ms = now_ms};
    if (rc == 0) rc = sy_pg_tx(svc->ctx->pool, insert_replay, &r, err);
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
    json_t *row;
    int rc = store_eb_replay_get(svc->ctx, name, &row, err);
    if (rc == 0) rc = eb_not_found(err, "Replay %s does not exist.", name);
    if (rc < 0) return rc;
    *out = replay_json(row, true);
    json_decref(row);
    return 0;
}

int eb_list_replays(eb_svc_t *svc, json_t *in, json_t **out, sy_err_t *err)
{
    json_t *rows = store_eb_replay_list(svc->ctx, sy_json_str(in, "NamePrefix") ?: "",
                                        sy_json_str(in, "EventSourceArn") ?: "", sy_json_str(in, "State") ?: "",
                                        sy_json_str(in, "NextToken") ?: "", err);
    if (!rows) return SY_E_DB;
    json_t *list = json_array();
    size_t i;
    json_t *r;
    json_array_foreach(rows, i, r) json_array_append_new(list, replay_json(r, false));
    *out = json_pack("{s:o}", "Replays", list);
    json_decref(rows);
    return 0;
}

typedef struct {
    const char *name;
    char *arn; /* out: the replay's ARN */
} replay_cancel_t;

static int cancel_replay(PGconn *c, void *u, sy_err_t *err)
{
    replay_cancel_t *r = u;
    json_t *row;
    int rc = store_eb_replay_lock(c, r->name, &row, err);
    if (rc == 0) rc = eb_not_found(err, "Replay %s does not exist.", r->name);
    if (rc < 0) return rc;
    const char *st = sy_json_str(row, "state");
    if (strcmp(st, "STARTING") && strcmp(st, "RUNNING"))
        rc = sy_err_set(err, SY_E_INVALID, 400, "IllegalStatusException",
                        "Replay %s is not in a valid state for this operation.", r->name);
    else rc = store_eb_replay_cancel(c, r->name, err);
    if (rc >= 0) {
        free(r->arn);
        r->arn = sy_strdup(sy_json_str(row, "arn"));
    }
    json_decref(row);
    return rc < 0 ? rc : 0;
}

int eb_cancel_replay(eb_svc_t *svc, json_t *in, json_t **out, sy_err_t *err)
{
    const char *name = eb_req_str(in, "ReplayName", err);
    if (!name) return SY_E_INVALID;
    replay_cancel_t r = {.name = name};
    int rc = sy_pg_tx(svc->ctx->pool, cancel_replay, &r, err);
    if (rc == 0) *out = json_pack("{s:s,s:s}", "ReplayArn", r.arn, "State", "CANCELLING");
    free(r.arn);
    return rc;
}
