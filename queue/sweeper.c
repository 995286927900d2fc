/* queue/sweeper.c - background upkeep: retention expiry, FIFO dedup window,
 * message-move tasks. Safe with many brokers: every step is one statement
 * or claims its rows with SKIP LOCKED (the SQL: store_message.c,
 * store_move.c). */
#include "queue/internal.h"

#include <stdlib.h>
#include <time.h>

static void sweep_retention(sy_ctx_t *ctx)
{
    int64_t expired;
    sy_err_t err;
    if (store_sweep(ctx, &expired, &err) < 0 || expired <= 0) return;
    char count[24];
    snprintf(count, sizeof count, "%lld", (long long)expired);
    sy_log(SY_LOG_INFO, "queue", NULL, "expired messages removed", "count", count);
    sy_metric_inc("switchyard_sqs_messages_expired_total", NULL, (double)expired);
}

static void *sweeper_main(void *u)
{
    queue_engine_t *e = u;
    int64_t last = 0;
    while (!e->stop) {
        int64_t now = sy_mono_us();
        if (now - last >= (int64_t)e->sweep_ms * 1000) {
            sweep_retention(e->ctx);
            last = now;
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
