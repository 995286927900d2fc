/* queue/console.c - the web console's queue endpoints (issue 16), reached
 * at /console/api/queue/... through server/wiring.c. Read-only: nothing here
 * leases, deletes or counts a receive. */
#include "queue/internal.h"

#include <stdlib.h>
#include <string.h>

#define STATS_MAX 100
#define PEEK_MAX 50

static int invalid(sy_err_t *err, const char *msg)
{
    return sy_err_set(err, SY_E_INVALID, 400, "ValidationException", "%s", msg);
}

/* {"QueueNames":[...]} (at most 100) -> {"Queues":{name:{Visible, InFlight,
 * Delayed, OldestAgeSeconds, Fifo, DeadLetterTargetArn, MaxReceiveCount}}} */
int sy_queue_console_stats(sy_ctx_t *ctx, const json_t *in, json_t **out, sy_err_t *err)
{
    json_t *names = json_object_get(in, "QueueNames");
    if (!json_is_array(names) || json_array_size(names) > STATS_MAX)
        return invalid(err, "QueueNames must be a list of at most 100 names");
    size_t i;
    json_t *v;
    json_array_foreach(names, i, v) if (!json_is_string(v)) return invalid(err, "QueueNames must hold strings");
    char *nj = sy_json_dumps(names);
    json_t *q = store_console_stats(ctx, nj, err);
    free(nj);
    if (!q) return SY_E_DB;
    *out = json_pack("{s:o}", "Queues", q);
    return 0;
}

/* {} -> {"Queues", "Messages", "InFlight", "OldestAgeSeconds"} over user queues */
int sy_queue_console_summary(sy_ctx_t *ctx, const json_t *in, json_t **out, sy_err_t *err)
{
    (void)in;
    *out = store_console_summary(ctx, err);
    return *out ? 0 : SY_E_DB;
}

/* {"QueueName", "MaxMessages"?} -> {"Messages":[...]} oldest first, bodies cut at 4 KiB */
int sy_queue_console_peek(sy_ctx_t *ctx, const json_t *in, json_t **out, sy_err_t *err)
{
    const char *name = sy_json_str(in, "QueueName");
    if (!name || !*name) return invalid(err, "QueueName is required");
    int64_t max = 10;
    if (json_object_get(in, "MaxMessages") && (!sy_json_int(in, "MaxMessages", &max) || max < 1 || max > PEEK_MAX))
        return invalid(err, "MaxMessages must be between 1 and 50");
    sy_queue_t q;
    int rc = queue_get(ctx, name, &q, err);
    if (rc < 0) return rc;
    json_t *msgs = store_console_peek(ctx, q.id, (int)max, err);
    sy_queue_clear(&q);
    if (!msgs) return SY_E_DB;
    *out = json_pack("{s:o}", "Messages", msgs);
    sy_metric_inc("switchyard_console_peeks_total", NULL, 1);
    return 0;
}
