/* bench/invoke.c - pool dispatch throughput and latency of the in-process
 * path: sy_pool_invoke -> ZeroMQ -> a real worker process running a trivial
 * echo C handler -> ACK -> callback. No HTTP. Prints one JSON object on its
 * last line. Usage: bench_invoke [seconds-per-phase]
 * SY_BENCH_BUSY_POLL_US=-1 turns the pool's busy polling off (A/B). */
#include <stdatomic.h>

#include "../tests/worker/harness.h"

typedef struct {
    sy_pool_t *pool;
    atomic_long done, errors;
    long target;
    int64_t *lat_us; /* per completed call */
    atomic_long nlat;
    long cap;
    int64_t stop_at_us;
} run_t;

typedef struct {
    run_t *r;
    int64_t t0;
} slot_t;

static int64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static const char EVENT[] = "{\"order\":42,\"items\":[\"pizza\"]}";

static void issue(slot_t *s);

static void cb(const sy_invoke_result_t *res, void *u)
{
    slot_t *s = u;
    run_t *r = s->r;
    int64_t now = mono_us();
    if (res->status != SY_INVOKE_OK) atomic_fetch_add(&r->errors, 1);
    long i = atomic_fetch_add(&r->nlat, 1);
    if (i < r->cap) r->lat_us[i] = now - s->t0;
    atomic_fetch_add(&r->done, 1);
    if (now < r->stop_at_us) issue(s);
}

static void issue(slot_t *s)
{
    s->t0 = mono_us();
    if (sy_pool_invoke(s->r->pool, "echo", EVENT, sizeof EVENT - 1, h_now_ms() + 10000, cb, s) != 0)
        atomic_fetch_add(&s->r->errors, 1);
}

static int cmp64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* window outstanding invocations for `secs`; returns inv/s, fills p50/p99 */
static double phase(sy_pool_t *pool, int window, double secs, double *p50, double *p99)
{
    run_t r;
    memset(&r, 0, sizeof r);
    r.pool = pool;
    r.cap = 4000000;
    r.lat_us = malloc(sizeof(int64_t) * (size_t)r.cap);
    slot_t *slots = calloc((size_t)window, sizeof *slots);
    int64_t start = mono_us();
    r.stop_at_us = start + (int64_t)(secs * 1e6);
    for (int i = 0; i < window; i++) {
        slots[i].r = &r;
        issue(&slots[i]);
    }
    while (mono_us() < r.stop_at_us) h_sleep_ms(5);
    /* wait for the stragglers */
    long last = -1;
    while (atomic_load(&r.done) != last) {
        last = atomic_load(&r.done);
        h_sleep_ms(50);
    }
    double elapsed = (double)(mono_us() - start) / 1e6;
    long n = atomic_load(&r.nlat);
    if (n > r.cap) n = r.cap;
    qsort(r.lat_us, (size_t)n, sizeof(int64_t), cmp64);
    *p50 = n ? (double)r.lat_us[n / 2] : 0;
    *p99 = n ? (double)r.lat_us[(long)((double)n * 0.99)] : 0;
    double rate = (double)atomic_load(&r.done) / elapsed;
    if (atomic_load(&r.errors)) fprintf(stderr, "errors: %ld\n", atomic_load(&r.errors));
    free(r.lat_us);
    free(slots);
    return rate;
}

int main(int argc, char **argv)
{
    double secs = argc > 1 ? atof(argv[1]) : 3.0;
    const char *handler = h_env("SY_TEST_HANDLER", "tests/worker/sy_test_handler.so");
    char spec[1024];
    snprintf(spec, sizeof spec, "echo=so:%s:echo,timeout=10", handler);
    char json[2048];
    size_t o = 0;
    o += (size_t)snprintf(json + o, sizeof json - o, "{\"bench\":\"invoke\"");
    for (int workers = 1; workers <= 2; workers++) {
        sy_pool_opts_t opts = {0};
        /* SY_BENCH_BUSY_POLL_US: the pool's busy-poll budget (-1 off) */
        opts.busy_poll_us = atoi(h_env("SY_BENCH_BUSY_POLL_US", "0"));
        sy_err_t err;
        sy_pool_t *pool = sy_pool_new("tcp://127.0.0.1:*", &opts, &err);
        if (!pool) {
            fprintf(stderr, "pool: %s\n", err.message);
            return 1;
        }
        pid_t pids[2];
        for (int i = 0; i < workers; i++)
            pids[i] = h_spawn_worker("bench-worker.log", "--broker", sy_pool_endpoint(pool),
                                     "--concurrency", "64", "--inline-us", h_env("SY_BENCH_INLINE_US", "10000"), "--log-level", h_env("SY_BENCH_WORKER_LOG", "warn"), "--function",
                                     spec, NULL);
        if (!h_wait_workers(pool, (uint64_t)workers, 10000)) {
            fprintf(stderr, "workers did not register\n");
            return 1;
        }
        while (sy_pool_function_credit(pool, "echo") < 64 * workers) h_sleep_ms(10);
        double p50, p99, lp50, lp99;
        phase(pool, 1, 0.3, &p50, &p99); /* warm-up */
        double lat_rate = phase(pool, 1, secs, &lp50, &lp99);
        double rate = phase(pool, 128, secs, &p50, &p99);
        fprintf(stderr,
                "workers=%d  sequential: %.0f inv/s p50=%.0fus p99=%.0fus | window 128: %.0f "
                "inv/s p50=%.0fus p99=%.0fus\n",
                workers, lat_rate, lp50, lp99, rate, p50, p99);
        o += (size_t)snprintf(json + o, sizeof json - o,
                              ",\"w%d_throughput_per_s\":%.0f,\"w%d_window128_p50_us\":%.0f,"
                              "\"w%d_window128_p99_us\":%.0f,\"w%d_seq_p50_us\":%.0f,"
                              "\"w%d_seq_p99_us\":%.0f,\"w%d_seq_per_s\":%.0f",
                              workers, rate, workers, p50, workers, p99, workers, lp50, workers,
                              lp99, workers, lat_rate);
        for (int i = 0; i < workers; i++) h_kill(pids[i]);
        sy_pool_destroy(&pool);
    }
    snprintf(json + o, sizeof json - o, "}");
    printf("%s\n", json);
    return 0;
}
