/* bus/api_events.c - PutEvents: validate the entries, build the envelopes,
 * then one group-commit job per call: the events of many concurrent calls
 * are matched and their deliveries written in one transaction (one rules
 * version check per batch); the call returns after the commit. */
#include "bus/internal.h"

#include <stdlib.h>
#include <string.h>

#define EB_MAX_ENTRIES 10
#define EB_MAX_REQUEST 262144

typedef struct {
    eb_svc_t *svc;
    size_t n;
    json_t *events[EB_MAX_ENTRIES]; /* NULL: entry already failed */
    char *bus[EB_MAX_ENTRIES];
    bool missing_bus[EB_MAX_ENTRIES];
} put_job_t;

static void put_run(PGconn *c, void **args, int n, int *rcs, sy_err_t *errs)
{
    put_job_t *first = args[0];
    eb_svc_t *svc = first->svc;
    eb_snap_t *s = eb_snap_get(svc, c, &errs[0]);
    if (!s) {
        for (int i = 0; i < n; i++) {
            rcs[i] = SY_E_DB;
            if (i) errs[i] = errs[0];
        }
        return;
    }
    int broken = 0;
    for (int i = 0; i < n; i++) {
        put_job_t *j = args[i];
        rcs[i] = 0;
        if (broken) {
            rcs[i] = broken;
            continue;
        }
        for (size_t k = 0; k < j->n; k++) {
            if (!j->events[k]) continue;
            if (!eb_snap_bus(s, j->bus[k])) {
                j->missing_bus[k] = true;
                continue;
            }
            eb_route_t r = {.bus = j->bus[k], .event = j->events[k], .archive = true};
            int rc = eb_route(svc, s, c, &r, &errs[i]);
            if (rc < 0) {
                rcs[i] = broken = rc;
                break;
            }
        }
    }
    eb_snap_release(svc, s);
}

static json_t *entry_error(const char *code, const char *msg)
{
    return json_pack("{s:s,s:s}", "ErrorCode", code, "ErrorMessage", msg);
}

int eb_put_events(eb_svc_t *svc, json_t *in, json_t **out, sy_err_t *err)
{
    sy_ctx_t *ctx = svc->ctx;
    json_t *entries = json_object_get(in, "Entries");
    if (!json_is_array(entries) || !json_array_size(entries))
        return eb_validation(err, "1 validation error detected: Value null at 'entries' failed to satisfy "
                                  "constraint: Member must not be null");
    if (json_array_size(entries) > EB_MAX_ENTRIES)
        return eb_validation(err, "1 validation error detected: Value '[...]' at 'entries' failed to satisfy "
                                  "constraint: Member must have length less than or equal to 10");
    size_t total = 0, i;
    json_t *e;
    json_array_foreach(entries, i, e)
    {
        static const char *k[] = {"Source", "DetailType", "Detail", NULL};
        for (const char **p = k; *p; p++) total += sy_json_str(e, *p) ? strlen(sy_json_str(e, *p)) : 0;
        json_t *res = json_object_get(e, "Resources");
        for (size_t r = 0; r < json_array_size(res); r++)
            total += json_string_length(json_array_get(res, r));
    }
    if (total > EB_MAX_REQUEST) return eb_validation(err, "Total size of the entries in the request is over the limit.");
    put_job_t job = {.svc = svc, .n = json_array_size(entries)};
    json_t *results = json_array();
    int failed = 0;
    int64_t now = sy_now_ms();
    json_array_foreach(entries, i, e)
    {
        const char *source = sy_json_str(e, "Source"), *dt = sy_json_str(e, "DetailType");
        const char *detail = sy_json_str(e, "Detail");
        json_t *res = json_object_get(e, "Resources");
        json_t *d = detail ? json_loads(detail, 0, NULL) : NULL;
        job.bus[i] = eb_bus_name(e, "EventBusName");
        json_t *r = NULL;
        if (!source || !*source) r = entry_error("InvalidArgument", "Parameter Source is not valid. Reason: Source is a required argument.");
        else if (!dt || !*dt)
            r = entry_error("InvalidArgument", "Parameter DetailType is not valid. Reason: DetailType is a required argument.");
        else if (!detail) r = entry_error("InvalidArgument", "Parameter Detail is not valid. Reason: Detail is a required argument.");
        else if (!json_is_object(d)) r = entry_error("MalformedDetail", "Detail is malformed.");
        else if (res && !json_is_array(res))
            r = entry_error("InvalidArgument", "Parameter Resources is not valid.");
        if (r) {
            failed++;
            json_array_append_new(results, r);
            json_decref(d);
            continue;
        }
        char id[37];
        sy_uuid4(id);
        int64_t t = eb_in_time_ms(json_object_get(e, "Time"));
        job.events[i] = eb_envelope(ctx, id, dt, source, t >= 0 ? t : now, res, d);
        json_decref(d);
        json_array_append_new(results, json_pack("{s:s}", "EventId", id));
    }
    int rc = 0;
    if (failed < (int)job.n) rc = sy_gc_submit(ctx->gc, put_run, NULL, &job, err);
    if (rc == 0) {
        for (i = 0; i < job.n; i++)
            if (job.missing_bus[i]) {
                char msg[512];
                snprintf(msg, sizeof msg, "Event bus %s does not exist.", job.bus[i]);
                json_array_set_new(results, i, entry_error("NotFoundException", msg));
                failed++;
            }
        *out = json_pack("{s:i,s:O}", "FailedEntryCount", failed, "Entries", results);
        sy_metric_inc("switchyard_events_put_total", NULL, (double)(job.n - (size_t)failed));
    }
    for (i = 0; i < job.n; i++) {
        json_decref(job.events[i]);
        free(job.bus[i]);
    }
    json_decref(results);
    return rc;
}
