/* core/gc.c - group commit: concurrent callers' writes share transactions.
 * Writer threads each own a connection; a writer takes every pending job
 * (up to max_batch), runs them in one transaction, commits, and wakes the
 * callers. While one commit waits on fsync, new jobs pile up for the next.
 * A job its run reports failed commits nothing (run_batch).
 *
 * The first writer takes work at once; another writer joins only when a
 * batch is running and the oldest waiting job has waited JOIN_AGE_US (a
 * slow transaction or a slow fsync). Two writers alternating on a fast disk
 * halve the batches, and each commit costs PostgreSQL the same whatever it
 * carries: SendMessage from 32 clients went from 10,377 to 13,295 msgs/s
 * (PostgreSQL 64 -> 40 us a message) with one writer (docs/benchmarks.md). */
#include "core/core.h"

#include <stdlib.h>
#include <string.h>
#include <semaphore.h>
#include <unistd.h>

typedef struct job {
    sy_gc_run_fn run;
    sy_gc_after_fn after;
    void *arg;
    int rc;
    sy_err_t *err;
    sy_err_t local_err;
    bool done;
    int64_t enq_us; /* when it was queued (sy_mono_us) */
    sem_t *wake;    /* posted when done: each caller sleeps on its own */
    struct job *next;
} job_t;

struct sy_gc {
    char *conninfo;
    int nwriters, max_batch, flags;
    pthread_t *threads;
    pthread_mutex_t mu;
    pthread_cond_t work_cv;
    job_t *head, *tail;
    int busy;     /* writers running a batch */
    int sleepers; /* writers waiting with no deadline (nothing running) */
    bool stopping;
};

#define JOIN_AGE_US 4000

static bool exec_ok(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    return ok;
}

/* Run jobs[0..n) grouped by run function inside one transaction. */
static bool run_batch(PGconn *c, job_t **jobs, int n)
{
    if (n > 1 && sy_pg_begin(c, NULL) < 0) return false;
    void **args = sy_malloc(sizeof(void *) * (size_t)n);
    int *rcs = sy_malloc(sizeof(int) * (size_t)n);
    sy_err_t *errs = sy_calloc((size_t)n, sizeof(sy_err_t));
    bool ok = true;
    for (int i = 0; i < n && ok;) {
        int j = i;
        while (j < n && jobs[j]->run == jobs[i]->run) {
            args[j - i] = jobs[j]->arg;
            j++;
        }
        if (n == 1 && sy_pg_begin(c, NULL) < 0) {
            ok = false;
            break;
        }
        jobs[i]->run(c, args, j - i, rcs + i, errs + i);
        if (PQtransactionStatus(c) == PQTRANS_INERROR || PQstatus(c) != CONNECTION_OK) ok = false;
        i = j;
    }
    /* A job that failed must leave nothing behind, yet its run may have
     * written part of its work before failing without breaking the
     * transaction (e.g. a fan-out whose second send could not look up its
     * queue): its caller is told "failed" and retries, so a commit here
     * would write it twice. Alone, it is rolled back with its own answer;
     * in a batch, the batch is rolled back and every job run alone. */
    bool job_failed = false;
    for (int i = 0; ok && i < n; i++) job_failed |= rcs[i] < 0;
    if (ok && job_failed) {
        sy_pg_rollback(c);
        if (n == 1) {
            jobs[0]->rc = rcs[0];
            jobs[0]->local_err = errs[0];
            sy_metric_inc("switchyard_group_commit_job_rollbacks_total", NULL, 1);
        }
        free(args);
        free(rcs);
        free(errs);
        return n == 1 && PQstatus(c) == CONNECTION_OK;
    }
    if (ok) ok = sy_pg_commit(c, NULL) == 0;
    else if (PQstatus(c) == CONNECTION_OK) sy_pg_rollback(c);
    if (!ok && n == 1 && errs[0].code[0]) jobs[0]->local_err = errs[0];
    if (ok) {
        for (int i = 0; i < n; i++) {
            jobs[i]->rc = rcs[i];
            jobs[i]->local_err = errs[i];
        }
        for (int i = 0; i < n;) {
            int j = i;
            while (j < n && jobs[j]->after == jobs[i]->after) {
                args[j - i] = jobs[j]->arg;
                j++;
            }
            if (jobs[i]->after) jobs[i]->after(args, j - i, rcs + i);
            i = j;
        }
    }
    free(args);
    free(rcs);
    free(errs);
    return ok;
}

/* Connect, trying for about a second: jobs held while the database is
 * away would block their callers, so after that they fail with 503. Bounded
 * by time, not attempts: with a multi-host URL one attempt may connect to
 * each host in turn (a standby is tried, then refused as read-only). */
static PGconn *writer_connect(sy_gc_t *gc)
{
    int64_t end = sy_mono_us() + 1000000;
    for (int attempt = 0; (attempt == 0 || sy_mono_us() < end) && !gc->stopping; attempt++) {
        PGconn *c = PQconnectdb(gc->conninfo);
        if (PQstatus(c) == CONNECTION_OK) {
            if (gc->flags & SY_GC_ASYNC_COMMIT) exec_ok(c, "SET synchronous_commit = off");
            return c;
        }
        if (attempt == 0) sy_log(SY_LOG_WARN, "gc", NULL, "writer could not connect", "error", PQerrorMessage(c));
        PQfinish(c);
        usleep(100000);
    }
    return NULL;
}

static void *writer_main(void *u)
{
    sy_gc_t *gc = u;
    PGconn *c = NULL; /* connected on the first batch */
    job_t **batch = sy_malloc(sizeof(job_t *) * (size_t)gc->max_batch);
    pthread_mutex_lock(&gc->mu);
    for (;;) {
        if (!gc->head && gc->stopping) break;
        if (gc->head && (gc->busy == 0 || gc->stopping || sy_mono_us() - gc->head->enq_us >= JOIN_AGE_US)) {
            /* take it */
        } else if (gc->busy > 0) {
            /* another writer is at work: join if its batch runs long */
            int64_t wait_us = gc->head ? gc->head->enq_us + JOIN_AGE_US - sy_mono_us() : JOIN_AGE_US;
            struct timespec ts;
            clock_gettime(CLOCK_MONOTONIC, &ts);
            int64_t ns = ts.tv_nsec + (wait_us > 0 ? wait_us : 0) * 1000;
            ts.tv_sec += ns / 1000000000;
            ts.tv_nsec = ns % 1000000000;
            pthread_cond_timedwait(&gc->work_cv, &gc->mu, &ts);
            continue;
        } else {
            gc->sleepers++;
            pthread_cond_wait(&gc->work_cv, &gc->mu);
            gc->sleepers--;
            continue;
        }
        gc->busy++;
        if (gc->sleepers > 0) pthread_cond_signal(&gc->work_cv); /* an idle writer watches this batch's age */
        int n = 0;
        while (gc->head && n < gc->max_batch) {
            batch[n++] = gc->head;
            gc->head = gc->head->next;
        }
        if (!gc->head) gc->tail = NULL;
        pthread_mutex_unlock(&gc->mu);

        if (!c || PQstatus(c) != CONNECTION_OK) {
            if (c) PQfinish(c);
            c = writer_connect(gc);
        }
        bool ok = c && run_batch(c, batch, n);
        if (!ok && c) {
            /* isolate: every job alone gets its own outcome */
            for (int i = 0; i < n; i++) {
                if (PQstatus(c) != CONNECTION_OK) {
                    PQfinish(c);
                    c = writer_connect(gc);
                }
                if (!c || !run_batch(c, &batch[i], 1)) {
                    if (batch[i]->local_err.code[0] == 0)
                        sy_err_set(&batch[i]->local_err, SY_E_DB, 500, "InternalFailure", "could not commit write");
                    batch[i]->rc = SY_E_DB;
                }
            }
        } else if (!ok) {
            for (int i = 0; i < n; i++) {
                batch[i]->rc = sy_err_set(&batch[i]->local_err, SY_E_DB, 503, "ServiceUnavailable",
                                          "database unavailable");
            }
        }
        sy_metric_inc("switchyard_group_commit_batches_total", NULL, 1);
        sy_metric_inc("switchyard_group_commit_jobs_total", NULL, (double)n);
        for (int i = 0; i < n; i++) {
            sem_t *w = batch[i]->wake; /* the job may be gone once posted */
            __atomic_store_n(&batch[i]->done, true, __ATOMIC_RELEASE);
            sem_post(w);
        }
        pthread_mutex_lock(&gc->mu);
        gc->busy--;
    }
    pthread_mutex_unlock(&gc->mu);
    free(batch);
    if (c) PQfinish(c);
    return NULL;
}

sy_gc_t *sy_gc_new(const char *conninfo, int writers, int max_batch, int flags)
{
    sy_gc_t *gc = sy_calloc(1, sizeof *gc);
    gc->flags = flags;
    gc->conninfo = sy_strdup(conninfo);
    gc->nwriters = writers;
    gc->max_batch = max_batch;
    pthread_mutex_init(&gc->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&gc->work_cv, &ca);
    pthread_condattr_destroy(&ca);
    gc->threads = sy_calloc((size_t)writers, sizeof(pthread_t));
    for (int i = 0; i < writers; i++) pthread_create(&gc->threads[i], NULL, writer_main, gc);
    return gc;
}

void sy_gc_destroy(sy_gc_t **self_p)
{
    if (!self_p || !*self_p) return;
    sy_gc_t *gc = *self_p;
    pthread_mutex_lock(&gc->mu);
    gc->stopping = true;
    pthread_cond_broadcast(&gc->work_cv);
    pthread_mutex_unlock(&gc->mu);
    for (int i = 0; i < gc->nwriters; i++) pthread_join(gc->threads[i], NULL);
    free(gc->threads);
    free(gc->conninfo);
    pthread_mutex_destroy(&gc->mu);
    pthread_cond_destroy(&gc->work_cv);
    free(gc);
    *self_p = NULL;
}

void sy_gc_submit_many(sy_gc_t *gc, sy_gc_run_fn run, sy_gc_after_fn after, void **args, int n, int *rcs,
                       sy_err_t *errs)
{
    job_t *jobs = sy_calloc((size_t)n, sizeof *jobs);
    sem_t wake;
    sem_init(&wake, 0, 0);
    pthread_mutex_lock(&gc->mu);
    if (gc->stopping) {
        pthread_mutex_unlock(&gc->mu);
        for (int i = 0; i < n; i++)
            rcs[i] = sy_err_set(&errs[i], SY_E_INTERNAL, 503, "ServiceUnavailable", "broker is shutting down");
        free(jobs);
        sem_destroy(&wake);
        return;
    }
    for (int i = 0; i < n; i++) {
        jobs[i] = (job_t){.run = run, .after = after, .arg = args[i], .wake = &wake, .enq_us = sy_mono_us()};
        if (gc->tail) gc->tail->next = &jobs[i];
        else gc->head = &jobs[i];
        gc->tail = &jobs[i];
    }
    if (gc->busy == 0) pthread_cond_signal(&gc->work_cv); /* else the busy writer takes it next */
    pthread_mutex_unlock(&gc->mu);
    for (int i = 0; i < n; i++)
        while (sem_wait(&wake) != 0) {
        }
    sem_destroy(&wake);
    for (int i = 0; i < n; i++) {
        rcs[i] = jobs[i].rc;
        if (jobs[i].rc < 0) errs[i] = jobs[i].local_err;
    }
    free(jobs);
}

int sy_gc_submit(sy_gc_t *gc, sy_gc_run_fn run, sy_gc_after_fn after, void *arg, sy_err_t *err)
{
    sem_t wake;
    sem_init(&wake, 0, 0);
    job_t j = {.run = run, .after = after, .arg = arg, .err = err, .wake = &wake, .enq_us = sy_mono_us()};
    pthread_mutex_lock(&gc->mu);
    if (gc->stopping) {
        pthread_mutex_unlock(&gc->mu);
        sem_destroy(&wake);
        return sy_err_set(err, SY_E_INTERNAL, 503, "ServiceUnavailable", "broker is shutting down");
    }
    if (gc->tail) gc->tail->next = &j;
    else gc->head = &j;
    gc->tail = &j;
    if (gc->busy == 0) pthread_cond_signal(&gc->work_cv); /* else the busy writer takes it next */
    pthread_mutex_unlock(&gc->mu);
    while (sem_wait(&wake) != 0) {
    }
    sem_destroy(&wake);
    if (j.rc < 0 && err) *err = j.local_err;
    return j.rc;
}
