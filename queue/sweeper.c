/* queue/sweeper.c - background upkeep: retention expiry, FIFO dedup window,
 * message-move tasks. Safe with many brokers: every step is one statement
 * or claims its rows with SKIP LOCKED. */
#include "queue/internal.h"

#include <stdlib.h>
#include <time.h>

static void sweep_retention(sy_ctx_t *ctx)
{
    PGconn *c = sy_pg_acquire(ctx->pool);
    if (!c) return;
    sy_err_t err;
    PGresult *r = sy_pg_exec(c, &err,
                             "DELETE FROM sy_messages m USING sy_queues q WHERE m.queue_id = q.id "
                             "AND m.sent_at < now() - make_interval(secs => q.retention_s)",
                             0, NULL);
    if (r && atoll(PQcmdTuples(r)) > 0) {
        sy_log(SY_LOG_INFO, "queue", NULL, "expired messages removed", "count", PQcmdTuples(r));
        sy_metric_inc("switchyard_sqs_messages_expired_total", NULL, atof(PQcmdTuples(r)));
    }
    PQclear(r);
    r = sy_pg_exec(c, &err, "DELETE FROM sy_dedup WHERE expires_at < now()", 0, NULL);
    PQclear(r);
    /* sends that raced a DeleteQueue on another broker (cached settings) */
    r = sy_pg_exec(c, &err,
                   "DELETE FROM sy_messages m WHERE NOT EXISTS (SELECT 1 FROM sy_queues q WHERE q.id = m.queue_id)",
                   0, NULL);
    PQclear(r);
    sy_pg_release(ctx->pool, c);
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
