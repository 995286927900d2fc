/* queue/sweeper.c - background upkeep: retention expiry, FIFO dedup window,
 * message-move tasks. Safe with many brokers: every step is one statement
 * or claims its rows with SKIP LOCKED (the SQL: store_message.c,
 * store_move.c). */
#include "queue/internal.h"

#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

/* one bounded step of a sweep pass (store_sweep); true when the pass ended */
static bool sweep_retention(sy_ctx_t *ctx, int64_t *cursor)
{
    int64_t expired = 0;
    sy_err_t err;
    int rc = store_sweep(ctx, cursor, &expired, &err);
    if (rc < 0) return true;
    if (expired <= 0) return rc == 1;
    char count[24];
    snprintf(count, sizeof count, "%lld", (long long)expired);
    sy_log(SY_LOG_INFO, "queue", NULL, "expired messages removed", "count", count);
    sy_metric_inc("switchyard_sqs_messages_expired_total", NULL, (double)expired);
    return rc == 1;
}

static void *sweeper_main(void *u)
{
    queue_engine_t *e = u;
    int64_t last = 0, last_dedup = 0, cursor = 0;
    bool pass_open = false;
    while (!e->stop) {
        int64_t now = sy_mono_us();
        /* a pass of a deep table goes on a second later (at most 20 ms of
         * work a step), a new pass every sweep_ms */
        int64_t every = (int64_t)(pass_open && e->sweep_ms > 1000 ? 1000 : e->sweep_ms) * 1000;
        if (now - last >= every) {
            pass_open = !sweep_retention(e->ctx, &cursor);
            last = now;
        }
        if (now - last_dedup >= (int64_t)e->sweep_ms * 1000) {
            sy_err_t err;
            store_sweep_dedup(e->ctx, &err);
            last_dedup = now;
        }
        move_tick(e->ctx);
        struct timespec ts = {0, 200 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return NULL;
}

int sweeper_start(queue_engine_t *e)
{
    return pthread_create(&e->sweeper, NULL, sweeper_main, e);
}
