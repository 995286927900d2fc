/* tests/fuzz/fuzz_runtime_api.c - the worker's Runtime API server
 * (worker/worker_runtime.c), the HTTP a custom runtime's bootstrap process
 * talks to: routing, the upload buffer, /invocation/next, the
 * /response and /error reports (error bodies, headers, the trailers of a
 * streamed response that failed), /init/error.
 * The harness compiles worker_runtime.c into itself (its handlers are
 * static) and starts the real server with wk_runtime_init (a function whose
 * bootstrap is never spawned); each input is sent as raw bytes to it over a
 * loopback TCP connection, with an invocation in place as a slot thread
 * would leave it.
 * Input: byte 0: bit 0 the invocation was already handed out (after
 * /next), bit 1 the process has initialised; the rest is the HTTP request
 * (or several, pipelined) - request id 8476a536-e9f4-11e8-9739-2dfe598c3fcd.
 * Oracles besides ASan/UBSan: every answer is an HTTP status line; an
 * invocation is settled only by a POST .../<that id>/response or /error and
 * then has an outcome (a result, or an error type); an init error is taken
 * only before the process initialised; /next never hands out an answered
 * invocation; nothing blocks (a long-polling /next is woken by the
 * harness, as a retired process is).
 * Seeds: corpus/fuzz_runtime_api/ (requests as aws-lambda-ric and the
 * Runtime Interface Emulator send them; the conformance corpus has none). */
#include "worker/worker_runtime.c"

#include <arpa/inet.h>
#include <poll.h>
#include <sys/socket.h>

#define RID "8476a536-e9f4-11e8-9739-2dfe598c3fcd"

static wk_fn_t *fn;
static wk_env_t *env;

static void setup(void)
{
    sy_log_level = SY_LOG_ERROR + 1; /* the init-error log line on every input is noise */
    fn = sy_calloc(1, sizeof *fn);
    fn->name = sy_strdup("fuzz");
    fn->path = sy_strdup("/bin/true"); /* checked executable; never spawned here */
    fn->concurrency = 1;
    fn->init_timeout_ms = 10000;
    fn->timeout_ms = 3000;
    pthread_mutex_init(&fn->mu, NULL);
    pthread_cond_init(&fn->cv, NULL);
    if (wk_runtime_init(fn) != 0) abort();
    env = wk_runtime_env_at(fn, 0);
}

static int dial(void)
{
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)env->port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof a) != 0) abort();
    return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!fn) setup();
    if (size < 1 || size > 1 << 16) return 0;
    wk_job_t *j = sy_calloc(1, sizeof *j);
    snprintf(j->request_id, sizeof j->request_id, "%s", RID);
    j->payload = sy_strdup("{\"k\":\"v\"}");
    j->len = strlen(j->payload);
    j->fn = fn;
    j->deadline_ms = sy_now_ms() + 60000;
    snprintf(j->traceparent, sizeof j->traceparent, "%s",
             "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
    pthread_mutex_lock(&env->mu);
    env->job = j;
    env->handed = data[0] & 1;
    env->initialized = (data[0] & 2) != 0;
    bool was_initialized = env->initialized;
    env->done = env->cancel = env->init_error = false;
    pthread_mutex_unlock(&env->mu);

    int s = dial();
    const char *p = (const char *)data + 1;
    size_t left = size - 1;
    while (left) {
        ssize_t w = send(s, p, left, MSG_NOSIGNAL);
        if (w <= 0) break; /* the server closed early (a malformed request) */
        p += w;
        left -= (size_t)w;
    }
    shutdown(s, SHUT_WR);
    char buf[8192], head[16] = {0};
    size_t got = 0;
    int idle = 0;
    for (;;) {
        struct pollfd pf = {.fd = s, .events = POLLIN};
        int r = poll(&pf, 1, 50);
        if (r == 0) {
            /* a /next long-polling for an invocation that never comes: wake
             * it as a retired process's is woken */
            pthread_mutex_lock(&env->mu);
            env->gen++;
            pthread_cond_broadcast(&env->cv);
            pthread_mutex_unlock(&env->mu);
            if (++idle > 200) abort(); /* 10 s without an answer: the server hangs */
            continue;
        }
        ssize_t n = recv(s, buf, sizeof buf, 0);
        if (n <= 0) break;
        if (got < sizeof head - 1) memcpy(head + got, buf, (size_t)n < sizeof head - 1 - got ? (size_t)n : sizeof head - 1 - got);
        got += (size_t)n;
    }
    close(s);
    if (got && strncmp(head, "HTTP/1.", 7) != 0) abort(); /* an answer is HTTP */

    pthread_mutex_lock(&env->mu);
    if (env->done) {
        /* settled: only by a POST naming this request id */
        if (!memmem(data + 1, size - 1, RID, strlen(RID))) abort();
        if (j->outcome == WK_OUT_OK) {
            if (!j->result) abort();
        } else if (!j->error_type) {
            abort();
        }
    }
    if (env->init_error && was_initialized) abort(); /* init is over once /next was asked */
    env->job = NULL;
    free(env->init_error_type);
    free(env->init_error_body);
    env->init_error_type = env->init_error_body = NULL;
    env->init_error = false;
    pthread_mutex_unlock(&env->mu);
    free(j->payload);
    free(j->result);
    free(j->error_type);
    free(j->error_message);
    free(j);
    return 0;
}
