/* tests/worker/test_worker_inline.c - C handlers run on the worker's loop
 * thread (worker/worker_inline.c), against real worker processes: fast
 * handlers run there; a slow one is taken over by the stand-by thread, so
 * heartbeats and other invocations go on; slow functions then go to the
 * slot threads; --inline-us 0 turns it off. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <limits.h>
#include <sys/stat.h>

#include "harness.h"
#include "common.h"

static long field(const char *json, const char *name)
{
    char key[64];
    snprintf(key, sizeof key, "\"%s\":", name);
    const char *p = strstr(json, key);
    assert_non_null(p);
    return strtol(p + strlen(key), NULL, 10);
}

/* one `slow` call; returns the thread it ran on (tid == pid: main thread) */
static bool ran_on_main(sy_pool_t *p, long sleep_ms)
{
    char ev[64];
    snprintf(ev, sizeof ev, "{\"sleep_ms\":%ld}", sleep_ms);
    h_call_t c;
    assert_int_equal(h_invoke(p, "slow", ev, 10000, &c), 0);
    assert_int_equal(c.status, SY_INVOKE_OK);
    return field(c.result, "tid") == field(c.result, "pid");
}

static void test_fast_handlers_run_on_the_loop_thread(void **state)
{
    (void)state;
    sy_pool_t *p = pool_steady();
    pid_t w = h_spawn_worker(logfile("inline-fast"), "--broker", sy_pool_endpoint(p),
                             "--concurrency", "4", "--inline-us", "50000", "--function",
                             so_spec("slow", ",timeout=5"), NULL);
    assert_true(h_wait_workers(p, 1, 10000));
    /* until a take-over the main thread leads the loop */
    for (int i = 0; i < 20; i++) assert_true(ran_on_main(p, 0));
    kill_and_forget(p, w);

    /* off: every run on a slot thread */
    w = h_spawn_worker(logfile("inline-off"), "--broker", sy_pool_endpoint(p), "--concurrency",
                       "4", "--inline-us", "0", "--function", so_spec("slow", ",timeout=5"), NULL);
    assert_true(h_wait_workers(p, 1, 10000));
    for (int i = 0; i < 20; i++) assert_false(ran_on_main(p, 0));
    h_kill(w);
    sy_pool_destroy(&p);
}

/* A handler that runs 1.2 s on the loop thread: the pool declares a worker
 * dead after 300 ms of silence (heartbeat 100 ms x 3), so the worker only
 * stays alive if the stand-by took the sockets over; and echo calls made
 * meanwhile are answered at once. */
static void test_slow_inline_handler_is_taken_over(void **state)
{
    (void)state;
    sy_pool_t *p = pool_fast(NULL);
    pid_t w = h_spawn_worker(logfile("inline-slow"), "--broker", sy_pool_endpoint(p),
                             "--concurrency", "4", "--inline-us", "50000", "--function",
                             so_spec("slow", ",timeout=5"), "--function", so_spec("echo", NULL),
                             NULL);
    assert_true(h_wait_workers(p, 1, 10000));
    assert_true(ran_on_main(p, 0));

    h_call_t slow;
    h_call_init(&slow);
    sy_invoke_opts_t o = {.deadline_ms = h_now_ms() + 10000};
    assert_int_equal(sy_pool_invoke_opts(p, "slow", "{\"sleep_ms\":1200}", 17, &o, h_call_cb, &slow),
                     0);
    h_sleep_ms(100); /* it runs, inline */
    int64_t worst = 0;
    for (int i = 0; i < 20; i++) {
        int64_t t0 = h_now_ms();
        h_call_t c;
        assert_int_equal(h_invoke(p, "echo", "{\"n\":1}", 5000, &c), 0);
        assert_int_equal(c.status, SY_INVOKE_OK);
        assert_string_equal(c.result, "{\"n\":1}");
        if (h_now_ms() - t0 > worst) worst = h_now_ms() - t0;
        h_sleep_ms(20);
    }
    h_call_wait(&slow);
    assert_int_equal(slow.status, SY_INVOKE_OK);
    /* it ran on the main thread, and the calls beside it were not held up
     * by it (generous bound for a loaded CI machine) */
    assert_int_equal(field(slow.result, "tid"), field(slow.result, "pid"));
    assert_true(worst < 500);
    sy_pool_stats_t st;
    sy_pool_stats(p, &st);
    assert_int_equal(st.expired_workers, 0);
    assert_int_equal(st.workers, 1);

    /* the function's average run time is now far above the inline budget
     * (5 ms): it runs on slot threads */
    assert_false(ran_on_main(p, 0));
    h_kill(w);
    sy_pool_destroy(&p);
}

/* SIGTERM while a handler runs inline past the drain deadline: the stand-by
 * leads the loop, RELEASEs it, and the process exits although the main
 * thread is still inside the handler. */
static void test_drain_with_inline_handler_stuck(void **state)
{
    (void)state;
    sy_pool_t *p = pool_fast(NULL);
    pid_t w = h_spawn_worker(logfile("inline-drain"), "--broker", sy_pool_endpoint(p),
                             "--concurrency", "2", "--inline-us", "50000", "--drain-timeout", "0.5",
                             "--function", so_spec("slow", ",timeout=30"), NULL);
    assert_true(h_wait_workers(p, 1, 10000));
    assert_true(ran_on_main(p, 0));
    h_call_t slow;
    h_call_init(&slow);
    sy_invoke_opts_t o = {.deadline_ms = h_now_ms() + 20000};
    assert_int_equal(
        sy_pool_invoke_opts(p, "slow", "{\"sleep_ms\":20000}", 18, &o, h_call_cb, &slow), 0);
    h_sleep_ms(300);
    int64_t t0 = h_now_ms();
    kill(w, SIGTERM);
    assert_int_equal(h_wait_exit(w, 10000), 0);
    assert_true(h_now_ms() - t0 < 5000);
    /* RELEASEd back to the pool, which finds no other worker for it */
    h_call_wait(&slow);
    assert_int_equal(slow.status, SY_INVOKE_NO_WORKER);
    sy_pool_stats_t st;
    sy_pool_stats(p, &st);
    assert_true(st.releases >= 1);
    sy_pool_destroy(&p);
}

int main(void)
{
    common_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fast_handlers_run_on_the_loop_thread),
        cmocka_unit_test(test_slow_inline_handler_is_taken_over),
        cmocka_unit_test(test_drain_with_inline_handler_stuck),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
