/* worker/worker_runtime_proc.c - what a custom runtime's process gets
 * besides the Runtime API: its environment (Lambda's variables and the
 * function's Environment.Variables, from the configuration the DELIVER
 * carried) and the thread that turns its stdout/stderr into log lines
 * tagged with the request id it is working on. */
#include <libgen.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "worker/internal.h"

extern char **environ;

/* The request id a process is working on, shared by its environment (which
 * sets it when /next hands an event out) and its log thread (which tags the
 * process's output lines with it). Either may go first: reference counted. */
struct wk_rid_box {
    int refs; /* under mu */
    pthread_mutex_t mu;
    char rid[40];
};

void wk_rid_box_unref(wk_rid_box_t *b)
{
    if (!b) return;
    pthread_mutex_lock(&b->mu);
    int left = --b->refs;
    pthread_mutex_unlock(&b->mu);
    if (left > 0) return;
    pthread_mutex_destroy(&b->mu);
    free(b);
}

void wk_rid_box_set(wk_rid_box_t *b, const char *rid)
{
    if (!b) return;
    pthread_mutex_lock(&b->mu);
    snprintf(b->rid, sizeof b->rid, "%s", rid ? rid : "");
    pthread_mutex_unlock(&b->mu);
}

typedef struct {
    int fd;
    char fn[160];
    pid_t pid;
    wk_rid_box_t *box;
} logpipe_t;

/* The runtime's stdout/stderr, one JSON log line per line. */
static void *log_thread(void *arg)
{
    logpipe_t *lp = arg;
    FILE *f = fdopen(lp->fd, "r");
    char line[2048], pid[16];
    snprintf(pid, sizeof pid, "%d", (int)lp->pid);
    while (f && fgets(line, sizeof line, f)) {
        size_t n = strlen(line);
        while (n && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = 0;
        char rid[40];
        pthread_mutex_lock(&lp->box->mu);
        memcpy(rid, lp->box->rid, sizeof rid);
        pthread_mutex_unlock(&lp->box->mu);
        sy_log(SY_LOG_INFO, "runtime", rid[0] ? rid : NULL, line, "function", lp->fn, "pid", pid);
    }
    if (f) fclose(f);
    wk_rid_box_unref(lp->box);
    free(lp);
    return NULL;
}

char **wk_runtime_envp(const wk_fn_t *fn, const wk_fncfg_t *cfg, int port)
{
    char *pathcopy = sy_strdup(fn->path);
    const char *root = dirname(pathcopy);
    const char *region = fn->w->cfg.region;
    int n = 0, cap = 32 + cfg->nvars;
    char **ours = sy_calloc((size_t)cap, sizeof *ours);
    /* Lambda's log stream: date/[version] + 32 hex, one per process */
    unsigned char raw[16];
    char hex[33], day[16];
    sy_random_bytes(raw, sizeof raw);
    sy_hex(raw, sizeof raw, hex);
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(day, sizeof day, "%Y/%m/%d", &tm);
#define ADD(...) ours[n++] = sy_asprintf(__VA_ARGS__)
    ADD("AWS_LAMBDA_RUNTIME_API=127.0.0.1:%d", port);
    ADD("_HANDLER=%s", cfg->handler);
    ADD("LAMBDA_TASK_ROOT=%s", root);
    ADD("LAMBDA_RUNTIME_DIR=%s", root);
    ADD("AWS_LAMBDA_FUNCTION_NAME=%s", cfg->name);
    ADD("AWS_LAMBDA_FUNCTION_VERSION=%s", cfg->version);
    ADD("AWS_LAMBDA_FUNCTION_MEMORY_SIZE=%d", cfg->memory_mb);
    ADD("AWS_LAMBDA_LOG_GROUP_NAME=/aws/lambda/%s", cfg->name);
    ADD("AWS_LAMBDA_LOG_STREAM_NAME=%s/[%s]%s", day, cfg->version, hex);
    ADD("AWS_LAMBDA_INITIALIZATION_TYPE=on-demand");
    ADD("AWS_REGION=%s", region);
    ADD("AWS_DEFAULT_REGION=%s", region);
    ADD("AWS_EXECUTION_ENV=AWS_Lambda_provided");
    ADD("TZ=:UTC");
#undef ADD
    /* the function's Environment.Variables (reserved names were dropped) */
    for (int i = 0; i < cfg->nvars; i++) ours[n++] = sy_strdup(cfg->vars[i]);
    free(pathcopy);
    size_t ne = 0;
    while (environ[ne]) ne++;
    char **envp = sy_calloc(ne + (size_t)n + 1, sizeof *envp);
    size_t k = 0;
    for (size_t i = 0; i < ne; i++) {
        bool shadowed = false;
        for (int m = 0; m < n; m++) {
            size_t kl = (size_t)(strchr(ours[m], '=') - ours[m]);
            if (strncmp(environ[i], ours[m], kl) == 0 && environ[i][kl] == '=') shadowed = true;
        }
        if (!shadowed) envp[k++] = sy_strdup(environ[i]);
    }
    for (int m = 0; m < n; m++) envp[k++] = ours[m];
    envp[k] = NULL;
    free(ours);
    return envp;
}

void wk_runtime_envp_free(char **envp)
{
    for (char **e = envp; e && *e; e++) free(*e);
    free(envp);
}

/* Start the log thread on fd (the process's stdout/stderr); returns the
 * box the environment sets the request id in (the caller's reference). */
wk_rid_box_t *wk_runtime_log_pipe(int fd, pid_t pid, const char *function)
{
    wk_rid_box_t *box = sy_calloc(1, sizeof *box);
    pthread_mutex_init(&box->mu, NULL);
    box->refs = 2; /* the environment + the log thread */
    logpipe_t *lp = sy_calloc(1, sizeof *lp);
    lp->fd = fd;
    lp->pid = pid;
    lp->box = box;
    snprintf(lp->fn, sizeof lp->fn, "%s", function);
    pthread_t t;
    if (pthread_create(&t, NULL, log_thread, lp) == 0) {
        pthread_detach(t);
    } else {
        close(fd);
        wk_rid_box_unref(box);
        free(lp);
    }
    return box;
}
