/* tests/worker/harness.h - helpers shared by the worker tests and the bench:
 * spawn real worker processes, invoke synchronously and wait, an in-memory
 * lease table implementing sy_lease_source_t. */
#ifndef SY_TEST_WORKER_HARNESS_H
#define SY_TEST_WORKER_HARNESS_H

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "worker/worker.h"

extern char **environ;

static inline int64_t h_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline void h_sleep_ms(int ms)
{
    usleep((useconds_t)ms * 1000);
}

static inline const char *h_env(const char *name, const char *def)
{
    const char *v = getenv(name);
    return v && *v ? v : def;
}

/* Spawn `switchyard worker ARGS...` (NULL-terminated), stderr to logfile. */
static inline pid_t h_spawn_worker(const char *logfile, ...)
{
    const char *bin = h_env("SY_BINARY", "./switchyard");
    char *argv[64];
    int n = 0;
    argv[n++] = (char *)bin;
    argv[n++] = "worker";
    va_list ap;
    va_start(ap, logfile);
    const char *a;
    while ((a = va_arg(ap, const char *)) && n < 63) argv[n++] = (char *)a;
    va_end(ap);
    argv[n] = NULL;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 2, logfile, O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    pid_t pid = -1;
    if (posix_spawn(&pid, bin, &fa, NULL, argv, environ) != 0) pid = -1;
    posix_spawn_file_actions_destroy(&fa);
    return pid;
}

/* Wait for a child; returns its exit status or -1 (signal) / -2 (timeout). */
static inline int h_wait_exit(pid_t pid, int timeout_ms)
{
    int64_t end = h_now_ms() + timeout_ms;
    while (h_now_ms() < end) {
        int st;
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid) return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
        h_sleep_ms(10);
    }
    return -2;
}

static inline void h_kill(pid_t pid)
{
    if (pid > 0) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
    }
}

/* Poll until the pool has `n` workers (or timeout). */
static inline bool h_wait_workers(sy_pool_t *p, uint64_t n, int timeout_ms)
{
    int64_t end = h_now_ms() + timeout_ms;
    sy_pool_stats_t st;
    do {
        sy_pool_stats(p, &st);
        if (st.workers == n) return true;
        h_sleep_ms(10);
    } while (h_now_ms() < end);
    return false;
}

/* ---------------------------------------------------- sync invocation */
typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool done;
    sy_invoke_status_t status;
    char error_type[128], error_message[256];
    char result[4096];
    size_t len;
} h_call_t;

static inline void h_call_cb(const sy_invoke_result_t *r, void *u)
{
    h_call_t *c = u;
    pthread_mutex_lock(&c->mu);
    c->status = r->status;
    snprintf(c->error_type, sizeof c->error_type, "%s", r->error_type ? r->error_type : "");
    snprintf(c->error_message, sizeof c->error_message, "%s",
             r->error_message ? r->error_message : "");
    c->len = r->len < sizeof c->result - 1 ? r->len : sizeof c->result - 1;
    if (c->len) memcpy(c->result, r->result, c->len);
    c->result[c->len] = 0;
    c->done = true;
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
}

static inline void h_call_init(h_call_t *c)
{
    memset(c, 0, sizeof *c);
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, NULL);
}

static inline void h_call_wait(h_call_t *c)
{
    pthread_mutex_lock(&c->mu);
    while (!c->done) pthread_cond_wait(&c->cv, &c->mu);
    pthread_mutex_unlock(&c->mu);
}

/* Invoke and wait for the callback. */
static inline int h_invoke(sy_pool_t *p, const char *fn, const char *payload, int deadline_ms,
                           h_call_t *c)
{
    h_call_init(c);
    int rc = sy_pool_invoke(p, fn, payload, strlen(payload), h_now_ms() + deadline_ms, h_call_cb, c);
    if (rc == 0) h_call_wait(c);
    return rc;
}

/* ------------------------------------------------- in-memory lease table */
typedef struct {
    char message_id[32];
    char body[256];
    char token[64];
    int state; /* 0 ready, 1 leased, 2 acked */
    int attempts;
    int64_t visible_at;
    char result[512];
    int outcome;
} h_msg_t;

typedef struct {
    pthread_mutex_t mu;
    h_msg_t m[64];
    int n;
    int seq;
    int leases, acks, releases, extends, stale;
} h_table_t;

static inline int h_lease(void *u, const char *function, int max, sy_delivery_t *out)
{
    (void)function;
    h_table_t *t = u;
    int n = 0;
    int64_t now = h_now_ms();
    pthread_mutex_lock(&t->mu);
    for (int i = 0; i < t->n && n < max; i++) {
        h_msg_t *m = &t->m[i];
        if (m->state != 0 || m->visible_at > now) continue;
        m->state = 1;
        m->attempts++;
        snprintf(m->token, sizeof m->token, "tok-%d-%d", i, ++t->seq);
        sy_delivery_t *d = &out[n++];
        snprintf(d->lease_token, sizeof d->lease_token, "%s", m->token);
        snprintf(d->message_id, sizeof d->message_id, "%s", m->message_id);
        d->attempt = (uint32_t)m->attempts;
        d->len = strlen(m->body);
        d->payload = malloc(d->len);
        memcpy(d->payload, m->body, d->len);
        t->leases++;
    }
    pthread_mutex_unlock(&t->mu);
    return n;
}

static inline h_msg_t *h_find(h_table_t *t, const char *token)
{
    for (int i = 0; i < t->n; i++)
        if (t->m[i].state == 1 && strcmp(t->m[i].token, token) == 0) return &t->m[i];
    return NULL;
}

static inline int h_ack(void *u, const char *function, const char *token, const char *message_id,
                        sy_ack_outcome_t outcome, const char *et, const char *em,
                        const void *result, size_t len)
{
    (void)function, (void)message_id, (void)et, (void)em;
    h_table_t *t = u;
    pthread_mutex_lock(&t->mu);
    h_msg_t *m = h_find(t, token);
    int rc = -1;
    if (m) {
        m->state = 2;
        m->outcome = (int)outcome;
        size_t n = len < sizeof m->result - 1 ? len : sizeof m->result - 1;
        memcpy(m->result, result, n);
        m->result[n] = 0;
        t->acks++;
        rc = 0;
    } else {
        t->stale++;
    }
    pthread_mutex_unlock(&t->mu);
    return rc;
}

static inline int h_release(void *u, const char *function, const char *token, int64_t delay_ms)
{
    (void)function;
    h_table_t *t = u;
    pthread_mutex_lock(&t->mu);
    h_msg_t *m = h_find(t, token);
    int rc = -1;
    if (m) {
        m->state = 0;
        m->visible_at = h_now_ms() + delay_ms;
        t->releases++;
        rc = 0;
    } else {
        t->stale++;
    }
    pthread_mutex_unlock(&t->mu);
    return rc;
}

static inline int h_extend(void *u, const char *function, const char *token, int64_t ms)
{
    (void)function, (void)ms;
    h_table_t *t = u;
    pthread_mutex_lock(&t->mu);
    int rc = h_find(t, token) ? 0 : -1;
    t->extends++;
    pthread_mutex_unlock(&t->mu);
    return rc;
}

static inline void h_table_init(h_table_t *t)
{
    memset(t, 0, sizeof *t);
    pthread_mutex_init(&t->mu, NULL);
}

static inline void h_table_add(h_table_t *t, const char *id, const char *body)
{
    pthread_mutex_lock(&t->mu);
    h_msg_t *m = &t->m[t->n++];
    snprintf(m->message_id, sizeof m->message_id, "%s", id);
    snprintf(m->body, sizeof m->body, "%s", body);
    pthread_mutex_unlock(&t->mu);
}

static inline sy_lease_source_t h_table_source(h_table_t *t)
{
    sy_lease_source_t s = {h_lease, h_ack, h_release, h_extend, t};
    return s;
}

/* Wait until message i reaches state (2 acked) */
static inline bool h_wait_state(h_table_t *t, int i, int state, int timeout_ms)
{
    int64_t end = h_now_ms() + timeout_ms;
    do {
        pthread_mutex_lock(&t->mu);
        int s = t->m[i].state;
        pthread_mutex_unlock(&t->mu);
        if (s == state) return true;
        h_sleep_ms(10);
    } while (h_now_ms() < end);
    return false;
}

#endif
