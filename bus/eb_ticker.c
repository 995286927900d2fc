/* bus/eb_ticker.c - the ticker thread of a broker: due schedule rows are
 * claimed with FOR UPDATE SKIP LOCKED, the rule's "Scheduled Event" is
 * routed and the row moved to its next tick in the same transaction, so
 * each tick fires exactly once across brokers. The ticker also runs
 * replays (claimed the same way) and sweeps archives past their
 * retention. */
#include "bus/internal.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
    eb_svc_t *svc;
    int done; /* ticks fired, or replays run */
} tick_t;

static int fire_due_tx(PGconn *c, void *u, sy_err_t *err)
{
    tick_t *t = u;
    eb_svc_t *svc = t->svc;
    sy_ctx_t *ctx = svc->ctx;
    t->done = 0;
    int64_t now_ms = sy_now_ms();
    json_t *rows = store_eb_schedules_due(c, now_ms, err);
    eb_snap_t *s = rows && json_array_size(rows) ? eb_snap_get(svc, c, err) : NULL;
    int rc = 0;
    if (!rows || (json_array_size(rows) && !s)) {
        rc = SY_E_DB;
        goto done;
    }
    size_t i;
    json_t *row;
    int fired = 0;
    json_array_foreach(rows, i, row)
    {
        const char *arn = sy_json_str(row, "rule_arn"), *expr = sy_json_str(row, "expr");
        int64_t due = strtoll(sy_json_str(row, "next_ms"), NULL, 10);
        const eb_rule_t *rule = eb_snap_rule_by_arn(s, arn);
        if (rule && rule->enabled) {
            char id[37];
            sy_uuid4(id);
            json_t *res = json_pack("[s]", arn);
            json_t *detail = json_object();
            json_t *ev = eb_envelope(ctx, id, "Scheduled Event", "aws.events", due, res, detail);
            eb_route_t r = {.bus = rule->bus, .event = ev, .only_rule_arn = arn};
            rc = eb_route(svc, s, c, &r, err);
            json_decref(ev);
            json_decref(res);
            json_decref(detail);
            if (rc < 0) goto done;
            fired++;
        }
        int64_t next = eb_schedule_next(expr, due, eb_scale(ctx));
        while (next >= 0 && next <= now_ms) next = eb_schedule_next(expr, next, eb_scale(ctx)); /* no catch-up */
        rc = store_eb_schedule_move(c, arn, next < 0 ? INT64_MAX : next, err);
        if (rc < 0) goto done;
    }
    rc = 0;
    t->done = fired;
done:
    if (s) eb_snap_release(svc, s);
    json_decref(rows);
    return rc;
}

/* Fire the due ticks. The number fired, or <0. */
static int fire_due(eb_svc_t *svc, sy_err_t *err)
{
    tick_t t = {.svc = svc};
    int rc = sy_pg_tx(svc->ctx->pool, fire_due_tx, &t, err);
    if (rc < 0) return rc;
    if (t.done) sy_metric_inc("switchyard_events_scheduled_total", NULL, t.done);
    return t.done;
}

/* Run one STARTING replay to the end in one transaction. */
static int run_replay_tx(PGconn *c, void *u, sy_err_t *err)
{
    tick_t *t = u;
    eb_svc_t *svc = t->svc;
    t->done = 0;
    json_t *row;
    int rc = store_eb_replay_claim(c, &row, err);
    if (rc <= 0) return rc; /* none STARTING, or a database error */
    const char *p[3] = {sy_json_str(row, "archive"), sy_json_str(row, "start_ms"), sy_json_str(row, "end_ms")};
    json_t *events = store_eb_archive_events(c, p[0], p[1], p[2], err), *dest = NULL;
    eb_snap_t *s = events ? eb_snap_get(svc, c, err) : NULL;
    if (!s) {
        rc = SY_E_DB;
        goto done;
    }
    dest = json_loads(sy_json_str(row, "destination"), 0, NULL);
    const char *bus_arn = sy_json_str(dest, "Arn");
    const char *bus = bus_arn && strstr(bus_arn, ":event-bus/") ? strstr(bus_arn, ":event-bus/") + 11 : "default";
    size_t i;
    json_t *e;
    const char *last = NULL;
    json_array_foreach(events, i, e)
    {
        json_t *ev = json_loads(sy_json_str(e, "event"), JSON_PRESERVE_ORDER, NULL);
        if (!json_is_object(ev)) {
            json_decref(ev);
            continue;
        }
        json_object_set_new(ev, "replay-name", json_string(sy_json_str(row, "name")));
        eb_route_t r = {.bus = bus, .event = ev, .filter_arns = json_object_get(dest, "FilterArns")};
        rc = eb_route(svc, s, c, &r, err);
        json_decref(ev);
        if (rc < 0) goto done;
        last = sy_json_str(e, "time_ms");
    }
    rc = store_eb_replay_complete(c, sy_json_str(row, "name"), sy_now_ms(), last, err);
    if (rc >= 0) {
        rc = 0;
        t->done = 1;
    }
done:
    if (s) eb_snap_release(svc, s);
    json_decref(row);
    json_decref(events);
    json_decref(dest);
    return rc;
}

/* 1 when a replay ran, 0 when none was waiting, or <0. */
static int run_replay(eb_svc_t *svc, sy_err_t *err)
{
    tick_t t = {.svc = svc};
    int rc = sy_pg_tx(svc->ctx->pool, run_replay_tx, &t, err);
    return rc < 0 ? rc : t.done;
}

static void *ticker_main(void *arg)
{
    eb_svc_t *svc = arg;
    sy_ctx_t *ctx = svc->ctx;
    int64_t last_sweep = 0;
    sy_ctx_wait_wired(ctx);
    while (!svc->stop && !ctx->stopping) {
        sy_err_t err;
        sy_err_clear(&err);
        int a = fire_due(svc, &err);
        sy_err_clear(&err);
        int b = run_replay(svc, &err);
        if (sy_now_ms() - last_sweep > 60000) { /* archive retention */
            last_sweep = sy_now_ms();
            store_eb_archive_sweep(ctx);
        }
        if (a <= 0 && b <= 0) {
            struct timespec ts = {0, 100 * 1000000L};
            nanosleep(&ts, NULL);
        }
    }
    return NULL;
}

int eb_ticker_start(eb_svc_t *svc, sy_err_t *err)
{
    if (pthread_create(&svc->threads[svc->nthreads], NULL, ticker_main, svc) != 0)
        return sy_err_set(err, SY_E_INTERNAL, 500, "InternalException", "could not start schedule thread");
    svc->nthreads++;
    return 0;
}
