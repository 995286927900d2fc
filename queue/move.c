/* queue/move.c - StartMessageMoveTask and friends: redrive a dead-letter
 * queue back to its sources (or to a given queue), rate-limited; the
 * sweeper runs one step of every task each tick (SQL in store_move.c). */
#include "queue/internal.h"

#include <stdlib.h>
#include <string.h>

int move_start(sy_ctx_t *ctx, const sy_queue_t *src, const char *src_arn, const char *dest_arn, int rate,
               char *handle_out, sy_err_t *err)
{
    char handle[37];
    sy_uuid4(handle);
    int rc = store_move_insert(ctx, handle, src->id, src_arn, dest_arn, rate, err);
    if (rc == SY_E_EXISTS)
        rc = sy_err_set2(err, SY_E_INVALID, 400, "UnsupportedOperation", "AWS.SimpleQueueService.UnsupportedOperation",
                         "There is already a task running. Only one active task is allowed for a source queue arn at a given time.");
    else if (rc == 0)
        snprintf(handle_out, 64, "%s", handle);
    return rc;
}

int move_list(sy_ctx_t *ctx, const sy_queue_t *src, int max, json_t *out, sy_err_t *err)
{
    move_task_t *tasks;
    int n;
    if (store_move_list(ctx, src->id, max, &tasks, &n, err) < 0) return SY_E_DB;
    for (int i = 0; i < n; i++) {
        const move_task_t *mt = &tasks[i];
        json_t *t = json_object();
        if (strcmp(mt->status, "RUNNING") == 0) json_object_set_new(t, "TaskHandle", json_string(mt->handle));
        json_object_set_new(t, "Status", json_string(mt->status));
        json_object_set_new(t, "SourceArn", json_string(mt->source_arn));
        if (mt->dest_arn) json_object_set_new(t, "DestinationArn", json_string(mt->dest_arn));
        if (mt->rate) json_object_set_new(t, "MaxNumberOfMessagesPerSecond", json_integer(mt->rate));
        json_object_set_new(t, "ApproximateNumberOfMessagesMoved", json_integer(mt->moved));
        json_object_set_new(t, "ApproximateNumberOfMessagesToMove", json_integer(mt->to_move));
        if (mt->failure) json_object_set_new(t, "FailureReason", json_string(mt->failure));
        json_object_set_new(t, "StartedTimestamp", json_integer(mt->started_ms));
        json_array_append_new(out, t);
        move_task_clear(&tasks[i]);
    }
    free(tasks);
    return 0;
}

int move_cancel(sy_ctx_t *ctx, const char *handle, int64_t *moved, sy_err_t *err)
{
    int rc = store_move_cancel(ctx, handle, moved, err);
    if (rc == SY_E_NOTFOUND)
        rc = sy_err_set(err, SY_E_NOTFOUND, 400, "ResourceNotFoundException", "The task handle %s is not valid or the task is not running.", handle);
    return rc;
}

/* One tick, in one transaction: claim the running tasks, move each one's
 * budget; a failed step rolls the whole tick back. */
static int tick_tx(PGconn *c, void *u, sy_err_t *err)
{
    const sy_ctx_t *ctx = u;
    move_step_t *steps;
    int n;
    if (store_move_claim(c, &steps, &n, err) < 0) return SY_E_DB;
    int rc = 0;
    for (int i = 0; i < n; i++) {
        move_step_t *s = &steps[i];
        if (rc == 0 && s->budget >= 1) {
            char *dest_name = NULL;
            if (s->dest_arn) {
                const char *col = strrchr(s->dest_arn, ':');
                dest_name = sy_strdup(col ? col + 1 : s->dest_arn);
            }
            int64_t moved = 0;
            rc = store_move_step(c, ctx, s, dest_name, &moved, err);
            if (rc == 0 && moved > 0) {
                char m[24];
                snprintf(m, sizeof m, "%lld", (long long)moved);
                sy_log(SY_LOG_INFO, "queue", NULL, "message move task progress", "task", s->handle, "moved", m);
            }
            free(dest_name);
        }
        move_step_clear(s);
    }
    free(steps);
    return rc;
}

/* One step of every running task: move up to its budget for this tick. */
void move_tick(sy_ctx_t *ctx)
{
    sy_err_t err;
    sy_pg_tx(ctx->pool, tick_tx, ctx, &err);
}
