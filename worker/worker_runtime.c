/* worker/worker_runtime.c - AWS Lambda custom runtimes: each slot is one
 * execution environment = a `bootstrap` process (own process group) plus a
 * private loopback HTTP server (libmicrohttpd, thread per connection) that
 * implements the Runtime API 2018-06-01. Processes stay warm; a crashed or
 * timed-out one is killed and replaced on the next invocation. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <libgen.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "worker/internal.h"

#define MAX_PAYLOAD (6 * 1024 * 1024 + 100) /* RIE's limit */
#define API_PREFIX "/2018-06-01/runtime/"


struct wk_env {
    wk_fn_t *fn;
    int idx;
    struct MHD_Daemon *mhd;
    int port;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pid_t pid;
    unsigned gen;
    bool stopping, cancel, init_error;
    bool initialized;   /* this process has asked for work at least once */
    int64_t spawned_at; /* epoch ms */
    wk_job_t *job;
    bool handed, done;
    char **envp;
    wk_fncfg_t *cfg;    /* the configuration the running process was started with */
    wk_rid_box_t *box;  /* the request id its output lines are tagged with */
    unsigned proc_gen;  /* bumped at every spawn: connections accepted before it
                           belong to a process that is gone */
    char *init_error_type, *init_error_body; /* what /runtime/init/error reported */
};

typedef struct {
    char *data;
    size_t len, cap;
    bool too_big;
} upload_t;

void *wk_runtime_env_at(wk_fn_t *fn, int i)
{
    return &fn->envs[i];
}

/* ------------------------------------------------------------ HTTP */
static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *body)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
    MHD_add_response_header(r, "Content-Type", "application/json");
    enum MHD_Result rc = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return rc;
}

static enum MHD_Result reply_err(struct MHD_Connection *c, unsigned status, const char *type,
                                 const char *msg)
{
    char body[512];
    snprintf(body, sizeof body, "{\"errorMessage\":\"%s\",\"errorType\":\"%s\"}", msg, type);
    return reply(c, status, body);
}

/* A connection opened before the current process was started is a dead
 * process's (e.g. its /next, sent just before it was retired, read after):
 * it must not be handed an invocation or report for the new process. */
static bool stale_connection(wk_env_t *env, struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    const unsigned *gen = ci ? ci->socket_context : NULL;
    return gen && *gen != env->proc_gen;
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    (void)c;
    wk_env_t *env = cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        unsigned *gen = sy_malloc(sizeof *gen);
        pthread_mutex_lock(&env->mu);
        *gen = env->proc_gen;
        pthread_mutex_unlock(&env->mu);
        *socket_context = gen;
    } else if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
        free(*socket_context);
        *socket_context = NULL;
    }
}

static enum MHD_Result next(wk_env_t *env, struct MHD_Connection *c)
{
    pthread_mutex_lock(&env->mu);
    if (stale_connection(env, c)) {
        pthread_mutex_unlock(&env->mu);
        return reply_err(c, 500, "Runtime.Stopping", "this runtime process was replaced");
    }
    if (env->job && env->handed && !env->done) {
        pthread_mutex_unlock(&env->mu);
        return reply_err(c, 403, "InvalidStateTransition",
                         "next called before answering the current invocation");
    }
    unsigned gen = env->gen;
    /* long poll: runtimes must not time this out, and neither do we */
    while (!(env->job && !env->handed && !env->done) && !env->stopping && env->gen == gen)
        pthread_cond_wait(&env->cv, &env->mu);
    if (env->stopping || env->gen != gen || stale_connection(env, c)) {
        pthread_mutex_unlock(&env->mu);
        return reply_err(c, 500, "Runtime.Stopping", "execution environment shutting down");
    }
    wk_job_t *j = env->job;
    env->handed = true;
    env->initialized = true;
    /* As Lambda: the function timeout covers the invocation, not the init
     * phase of a cold start. */
    wk_job_start_clock(j, sy_now_ms());
    wk_rid_box_set(env->box, j->request_id);
    struct MHD_Response *r =
        MHD_create_response_from_buffer(j->len, j->payload, MHD_RESPMEM_MUST_COPY);
    char deadline[32], arn[256], trace[128];
    snprintf(deadline, sizeof deadline, "%lld", (long long)j->deadline_ms);
    if (j->cfg)
        snprintf(arn, sizeof arn, "%s", j->cfg->arn);
    else
        snprintf(arn, sizeof arn, "arn:aws:lambda:us-east-1:000000000000:function:%s", env->fn->name);
    MHD_add_response_header(r, "Content-Type", "application/json");
    MHD_add_response_header(r, "Lambda-Runtime-Aws-Request-Id", j->request_id);
    MHD_add_response_header(r, "Lambda-Runtime-Deadline-Ms", deadline);
    MHD_add_response_header(r, "Lambda-Runtime-Invoked-Function-Arn", arn);
    if (wk_xray_from_traceparent(j->traceparent, trace, sizeof trace))
        MHD_add_response_header(r, "Lambda-Runtime-Trace-Id", trace);
    pthread_mutex_unlock(&env->mu);
    enum MHD_Result rc = MHD_queue_response(c, 200, r);
    MHD_destroy_response(r);
    return rc;
}

/* POST .../invocation/{id}/response or /error */
static enum MHD_Result post_result(wk_env_t *env, struct MHD_Connection *c, const char *id,
                                   size_t id_len, bool is_error, upload_t *up)
{
    pthread_mutex_lock(&env->mu);
    wk_job_t *j = env->job;
    if (!j || strlen(j->request_id) != id_len || memcmp(j->request_id, id, id_len) != 0) {
        pthread_mutex_unlock(&env->mu);
        return reply_err(c, 400, "InvalidRequestID", "unknown request id");
    }
    if (!env->handed || env->done) {
        pthread_mutex_unlock(&env->mu);
        return reply_err(c, 403, "InvalidStateTransition", "invocation already answered");
    }
    if (up->too_big) {
        wk_job_set_error(j, "Function.ResponseSizeTooLarge", "response payload exceeds 6 MiB",
                         false);
    } else if (!is_error && MHD_lookup_connection_value(c, MHD_FOOTER_KIND, "Lambda-Runtime-Function-Error-Type")) {
        /* a streamed response (Lambda-Runtime-Function-Response-Mode: streaming)
         * that failed midway: the error is in the trailers, its body base64 */
        const char *type = MHD_lookup_connection_value(c, MHD_FOOTER_KIND, "Lambda-Runtime-Function-Error-Type");
        const char *b64 = MHD_lookup_connection_value(c, MHD_FOOTER_KIND, "Lambda-Runtime-Function-Error-Body");
        unsigned char *raw = NULL;
        size_t rawlen = 0;
        json_t *doc = NULL;
        if (b64 && sy_base64_decode(b64, strlen(b64), &raw, &rawlen) == 0) doc = json_loadb((char *)raw, rawlen, 0, NULL);
        const char *msg = json_string_value(json_object_get(doc, "errorMessage"));
        wk_job_set_error(j, type, msg ? msg : "", false);
        if (json_is_object(doc)) {
            free(j->result);
            j->result = sy_strndup((char *)raw, rawlen);
            j->result_len = rawlen;
        }
        json_decref(doc);
        free(raw);
    } else if (!is_error) {
        j->outcome = WK_OUT_OK;
        j->result = up->data ? up->data : sy_strdup("");
        j->result_len = up->len;
        up->data = NULL;
    } else {
        const char *htype =
            MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Lambda-Runtime-Function-Error-Type");
        json_t *doc = up->data ? json_loadb(up->data, up->len, 0, NULL) : NULL;
        const char *btype = doc ? json_string_value(json_object_get(doc, "errorType")) : NULL;
        const char *bmsg = doc ? json_string_value(json_object_get(doc, "errorMessage")) : NULL;
        const char *type = btype ? btype : htype ? htype : "Unhandled";
        wk_job_set_error(j, type, bmsg ? bmsg : "", false);
        if (doc && up->data) { /* keep the runtime's own error body */
            free(j->result);
            j->result = up->data;
            j->result_len = up->len;
            up->data = NULL;
        }
        json_decref(doc);
    }
    env->done = true;
    pthread_cond_broadcast(&env->cv);
    pthread_mutex_unlock(&env->mu);
    if (up->too_big) return reply_err(c, 413, "RequestEntityTooLarge", "payload too large");
    return reply(c, 202, "{\"status\":\"OK\"}");
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *data,
                              size_t *data_size, void **con_cls)
{
    (void)version;
    wk_env_t *env = cls;
    if (!*con_cls) {
        *con_cls = sy_calloc(1, sizeof(upload_t));
        return MHD_YES;
    }
    upload_t *up = *con_cls;
    if (*data_size) {
        if (up->len + *data_size > MAX_PAYLOAD) {
            up->too_big = true;
        } else {
            if (up->len + *data_size + 1 > up->cap) {
                up->cap = (up->len + *data_size + 1) * 2;
                up->data = sy_realloc(up->data, up->cap);
            }
            memcpy(up->data + up->len, data, *data_size);
            up->len += *data_size;
            up->data[up->len] = 0;
        }
        *data_size = 0;
        return MHD_YES;
    }
    if (strncmp(url, API_PREFIX, strlen(API_PREFIX)) != 0)
        return reply_err(c, 404, "NotFound", "no such route");
    const char *rest = url + strlen(API_PREFIX);
    if (strcmp(rest, "invocation/next") == 0 && strcmp(method, "GET") == 0) return next(env, c);
    if (strcmp(rest, "init/error") == 0 && strcmp(method, "POST") == 0) {
        pthread_mutex_lock(&env->mu);
        if (env->initialized || stale_connection(env, c)) {
            pthread_mutex_unlock(&env->mu);
            return reply_err(c, 403, "InvalidStateTransition", "init is over");
        }
        env->init_error = true;
        /* what the runtime says is what the caller sees (Runtime.HandlerNotFound,
         * Runtime.ImportModuleError, ...): the body's errorType, else the header */
        free(env->init_error_type);
        free(env->init_error_body);
        json_t *doc = up->data ? json_loadb(up->data, up->len, 0, NULL) : NULL;
        const char *btype = json_string_value(json_object_get(doc, "errorType"));
        const char *htype =
            MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Lambda-Runtime-Function-Error-Type");
        env->init_error_type = sy_strdup(btype && *btype ? btype : htype && *htype ? htype : "Runtime.Unknown");
        env->init_error_body = json_is_object(doc) ? sy_strndup(up->data, up->len) : NULL;
        json_decref(doc);
        pthread_cond_broadcast(&env->cv);
        pthread_mutex_unlock(&env->mu);
        sy_log(SY_LOG_ERROR, "runtime", NULL, "runtime init error", "function", env->fn->name, "body",
               up->data ? up->data : "");
        return reply(c, 202, "{\"status\":\"OK\"}");
    }
    if (strncmp(rest, "invocation/", 11) == 0 && strcmp(method, "POST") == 0) {
        const char *id = rest + 11;
        const char *slash = strchr(id, '/');
        if (slash && strcmp(slash, "/response") == 0)
            return post_result(env, c, id, (size_t)(slash - id), false, up);
        if (slash && strcmp(slash, "/error") == 0)
            return post_result(env, c, id, (size_t)(slash - id), true, up);
    }
    return reply_err(c, 404, "NotFound", "no such route");
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)c;
    (void)toe;
    upload_t *up = *con_cls;
    if (up) {
        free(up->data);
        free(up);
    }
    *con_cls = NULL;
}

/* ----------------------------------------------------------- process */
static void free_envp(wk_env_t *env)
{
    wk_runtime_envp_free(env->envp);
    env->envp = NULL;
}

/* Called with env->mu held. */
static int spawn(wk_env_t *env, wk_fncfg_t *cfg)
{
    free_envp(env);
    env->envp = wk_runtime_envp(env->fn, cfg, env->port);
    env->proc_gen++; /* under env->mu: connections accepted from now on are the new process's */
    wk_fncfg_unref(env->cfg);
    env->cfg = cfg;
    __atomic_add_fetch(&cfg->refs, 1, __ATOMIC_ACQ_REL);
    int out[2];
    if (pipe2(out, O_CLOEXEC) != 0) return -1;
    char *argv[] = {env->fn->path, NULL};
    char *pathcopy = sy_strdup(env->fn->path);
    char *root = dirname(pathcopy);
    pid_t pid = fork();
    if (pid == 0) {
        setsid();
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive the worker */
        dup2(out[1], 1);
        dup2(out[1], 2);
        close_range(3, ~0U, 0);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        signal(SIGPIPE, SIG_DFL);
        if (chdir(root) != 0) _exit(126);
        execve(argv[0], argv, env->envp);
        _exit(127);
    }
    free(pathcopy);
    close(out[1]);
    if (pid < 0) {
        close(out[0]);
        return -1;
    }
    env->pid = pid;
    env->initialized = false;
    env->spawned_at = sy_now_ms();
    wk_rid_box_unref(env->box);
    env->box = wk_runtime_log_pipe(out[0], pid, env->fn->name); /* worker_runtime_proc.c */
    char p[16];
    snprintf(p, sizeof p, "%d", (int)pid);
    sy_log(SY_LOG_INFO, "runtime", NULL, "runtime process started", "function", env->fn->name, "pid",
           p);
    return 0;
}

/* Called with env->mu held. */
static void kill_env(wk_env_t *env)
{
    if (env->pid > 0) {
        kill(-env->pid, SIGKILL);
        kill(env->pid, SIGKILL);
        waitpid(env->pid, NULL, 0);
    }
    env->pid = 0;
    env->gen++;
    pthread_cond_broadcast(&env->cv);
}

static void run_env(wk_env_t *env, wk_job_t *j)
{
    pthread_mutex_lock(&env->mu);
    if (env->pid > 0 && j->cfg && env->cfg && strcmp(env->cfg->env_key, j->cfg->env_key) != 0) {
        /* as Lambda: a configuration change retires the environments
         * started with the old one; new invocations get a new process */
        sy_log(SY_LOG_INFO, "runtime", j->request_id, "runtime process retired: configuration changed",
               "function", env->fn->name);
        kill_env(env);
    }
    if (env->pid <= 0) j->cold_start = true;
    if (env->pid <= 0 && (!j->cfg || spawn(env, j->cfg) != 0)) {
        wk_job_set_error(j, "Runtime.InvalidEntrypoint", "could not start the runtime", false);
        pthread_mutex_unlock(&env->mu);
        return;
    }
    env->job = j;
    env->handed = env->done = env->cancel = env->init_error = false;
    pthread_cond_broadcast(&env->cv);
    while (!env->done) {
        int status;
        if (env->stopping || env->cancel) {
            kill_env(env);
            wk_job_set_error(j, "Runtime.Cancelled", "invocation cancelled", true);
            break;
        }
        if (env->init_error) {
            kill_env(env);
            const char *type = env->init_error_type ? env->init_error_type : "Runtime.Unknown";
            if (env->init_error_body) { /* the runtime's own error body, as Lambda returns it */
                json_t *doc = json_loads(env->init_error_body, 0, NULL);
                const char *msg = json_string_value(json_object_get(doc, "errorMessage"));
                wk_job_set_error(j, type, msg ? msg : "", false);
                json_decref(doc);
                free(j->result);
                j->result = env->init_error_body;
                j->result_len = strlen(env->init_error_body);
                env->init_error_body = NULL;
            } else {
                wk_job_set_error(j, type, "the runtime failed to initialise", false);
            }
            break;
        }
        int64_t now = sy_now_ms();
        if (!env->handed && !env->initialized &&
            now >= env->spawned_at + env->fn->init_timeout_ms) {
            char msg[160];
            snprintf(msg, sizeof msg,
                     "the runtime did not ask for work within %.2f seconds of starting",
                     (double)env->fn->init_timeout_ms / 1000.0);
            kill_env(env);
            wk_job_set_error(j, "Runtime.InitError", msg, true);
            break;
        }
        /* during a cold start's init only the caller's deadline applies (init
         * does not eat the function timeout; its own limit is init_timeout) */
        int64_t limit = j->deadline_ms;
        if (!env->handed && !env->initialized)
            limit = j->caller_deadline_ms ? j->caller_deadline_ms : INT64_MAX;
        if (now >= limit) {
            kill_env(env);
            wk_job_set_timeout(j);
            sy_log(SY_LOG_WARN, "runtime", j->request_id, "invocation timed out, runtime recycled",
                   "function", env->fn->name);
            break;
        }
        pid_t r = waitpid(env->pid, &status, WNOHANG);
        if (r == env->pid) {
            env->pid = 0;
            env->gen++;
            pthread_cond_broadcast(&env->cv);
            char msg[256];
            if (WIFSIGNALED(status))
                snprintf(msg, sizeof msg, "RequestId: %s Error: Runtime exited with signal: %d",
                         j->request_id, WTERMSIG(status));
            else
                snprintf(msg, sizeof msg,
                         "RequestId: %s Error: Runtime exited with error: exit status %d",
                         j->request_id, WEXITSTATUS(status));
            wk_job_set_error(j, "Runtime.ExitError", msg, true);
            sy_log(SY_LOG_WARN, "runtime", j->request_id, "runtime process exited", "function",
                   env->fn->name);
            break;
        }
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        int64_t wait_ms = limit - sy_now_ms();
        if (wait_ms > 20) wait_ms = 20;
        if (wait_ms < 1) wait_ms = 1;
        ts.tv_nsec += wait_ms * 1000000;
        if (ts.tv_nsec >= 1000000000) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&env->cv, &env->mu, &ts);
    }
    env->job = NULL;
    pthread_mutex_unlock(&env->mu);
}

/* A slot whose process is warm takes work first: one without a process
 * (a cold start) only when no warm one waits (wk_queue_push broadcasts to
 * runtime slots). */
static wk_job_t *pop_prefer_warm(wk_env_t *env)
{
    wk_fn_t *fn = env->fn;
    pthread_mutex_lock(&env->mu);
    bool warm = env->pid > 0;
    pthread_mutex_unlock(&env->mu);
    pthread_mutex_lock(&fn->mu);
    if (warm) fn->warm_idle++;
    while (!fn->stopping && !(fn->q_head && (warm || fn->warm_idle == 0)))
        pthread_cond_wait(&fn->cv, &fn->mu);
    if (warm) fn->warm_idle--;
    wk_job_t *j = NULL;
    if (!fn->stopping) {
        j = fn->q_head;
        fn->q_head = j->next;
        if (!fn->q_head) fn->q_tail = NULL;
        j->next = NULL;
    }
    if (warm || fn->q_head) pthread_cond_broadcast(&fn->cv); /* others re-check */
    pthread_mutex_unlock(&fn->mu);
    return j;
}

void *wk_runtime_slot(void *arg)
{
    wk_env_t *env = arg;
    wk_job_t *j;
    while ((j = pop_prefer_warm(env))) {
        run_env(env, j);
        wk_done_push(env->fn->w, j);
    }
    return NULL;
}

void wk_runtime_cancel(wk_fn_t *fn, const wk_job_t *j)
{
    for (int i = 0; i < fn->concurrency; i++) {
        wk_env_t *env = &fn->envs[i];
        pthread_mutex_lock(&env->mu);
        if (env->job == j) {
            env->cancel = true;
            pthread_cond_broadcast(&env->cv);
        }
        pthread_mutex_unlock(&env->mu);
    }
}

int wk_runtime_init(wk_fn_t *fn)
{
    if (access(fn->path, X_OK) != 0) {
        sy_log(SY_LOG_ERROR, "worker", NULL, "bootstrap is not executable", "function", fn->name,
               "path", fn->path);
        return -1;
    }
    fn->envs = sy_calloc((size_t)fn->concurrency, sizeof *fn->envs);
    for (int i = 0; i < fn->concurrency; i++) {
        wk_env_t *env = &fn->envs[i];
        env->fn = fn;
        env->idx = i;
        pthread_mutex_init(&env->mu, NULL);
        pthread_cond_init(&env->cv, NULL);
        struct sockaddr_in sa;
        memset(&sa, 0, sizeof sa);
        sa.sin_family = AF_INET;
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK); /* never beyond loopback */
        env->mhd = MHD_start_daemon(
            MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, 0, NULL, NULL, handle,
            env, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa, MHD_OPTION_NOTIFY_COMPLETED,
            completed, env, MHD_OPTION_NOTIFY_CONNECTION, on_connection, env,
            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)0, MHD_OPTION_END);
        if (!env->mhd) {
            sy_log(SY_LOG_ERROR, "worker", NULL, "could not start the Runtime API server",
                   "function", fn->name);
            return -1;
        }
        env->port = MHD_get_daemon_info(env->mhd, MHD_DAEMON_INFO_BIND_PORT)->port;
    }
    return 0;
}

void wk_runtime_stop(wk_fn_t *fn)
{
    for (int i = 0; fn->envs && i < fn->concurrency; i++) {
        wk_env_t *env = &fn->envs[i];
        pthread_mutex_lock(&env->mu);
        env->stopping = true;
        kill_env(env);
        pthread_mutex_unlock(&env->mu);
    }
}

void wk_runtime_free(wk_fn_t *fn)
{
    for (int i = 0; fn->envs && i < fn->concurrency; i++) {
        wk_env_t *env = &fn->envs[i];
        if (env->mhd) MHD_stop_daemon(env->mhd);
        free_envp(env);
        wk_rid_box_unref(env->box);
        wk_fncfg_unref(env->cfg);
        free(env->init_error_type);
        free(env->init_error_body);
        pthread_cond_destroy(&env->cv);
        pthread_mutex_destroy(&env->mu);
    }
    free(fn->envs);
    fn->envs = NULL;
}
