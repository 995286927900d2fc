/* tests/worker/test_worker_runtime.c - Lambda custom runtimes in the
 * worker: the tutorial bootstrap, cold starts, Runtime API error paths and
 * concurrency. */
#include "common.h"

static void test_runtime_bootstrap(void **state)
{
    (void)state;
    sy_pool_t *p = pool_steady();
    char spec[PATH_MAX + 128];
    snprintf(spec, sizeof spec, "shell=runtime:%s,timeout=1", g_bootstrap);
    const char *log = logfile("runtime");
    pid_t w = h_spawn_worker(log, "--broker", sy_pool_endpoint(p), "--function", spec, NULL);
    assert_true(h_wait_workers(p, 1, 10000));
    h_call_t c;
    assert_int_equal(h_invoke(p, "shell", "{\"n\":1}", 10000, &c), 0);
    assert_int_equal(c.status, SY_INVOKE_OK);
    assert_non_null(strstr(c.result, "\"echo\": {\"n\":1}"));
    assert_non_null(strstr(c.result, "\"function\": \"shell\""));
    char *pidp = strstr(c.result, "\"pid\": ");
    assert_non_null(pidp);
    int pid1 = atoi(pidp + 7);

    /* warm: the same process answers again */
    assert_int_equal(h_invoke(p, "shell", "{\"n\":2}", 10000, &c), 0);
    assert_int_equal(c.status, SY_INVOKE_OK);
    assert_int_equal(atoi(strstr(c.result, "\"pid\": ") + 7), pid1);

    /* timeout: the process is recycled */
    assert_int_equal(h_invoke(p, "shell", "{\"sleep\":1}", 10000, &c), 0);
    assert_int_equal(c.status, SY_INVOKE_FN_ERROR);
    assert_string_equal(c.error_type, "Sandbox.Timedout");
    assert_string_equal(c.error_message, "Task timed out after 1.00 seconds");
    assert_int_equal(h_invoke(p, "shell", "{\"n\":3}", 10000, &c), 0);
    assert_int_equal(c.status, SY_INVOKE_OK);
    int pid2 = atoi(strstr(c.result, "\"pid\": ") + 7);
    assert_int_not_equal(pid1, pid2);

    /* crash: Runtime.ExitError, then a new process */
    assert_int_equal(h_invoke(p, "shell", "{\"crash\":1}", 10000, &c), 0);
    assert_int_equal(c.status, SY_INVOKE_FN_ERROR);
    assert_string_equal(c.error_type, "Runtime.ExitError");
    assert_int_equal(h_invoke(p, "shell", "{\"n\":4}", 10000, &c), 0);
    assert_int_equal(c.status, SY_INVOKE_OK);
    int pid3 = atoi(strstr(c.result, "\"pid\": ") + 7);
    assert_int_not_equal(pid3, pid2);

    /* the caller's deadline comes first: the worker is told exactly that
     * deadline (no grace), so either the pool's TIMEOUT (+ CANCEL) or the
     * worker's own Sandbox.Timedout ends it; the process is killed and the
     * slot is usable again at once */
    int64_t t0 = h_now_ms();
    assert_int_equal(h_invoke(p, "shell", "{\"sleep\":1}", 400, &c), 0);
    assert_true(c.status == SY_INVOKE_TIMEOUT ||
                (c.status == SY_INVOKE_FN_ERROR && strcmp(c.error_type, "Sandbox.Timedout") == 0));
    assert_int_equal(h_invoke(p, "shell", "{\"n\":5}", 10000, &c), 0);
    assert_int_equal(c.status, SY_INVOKE_OK);
    assert_true(h_now_ms() - t0 < 900); /* did not wait for the 1 s function timeout */
    /* the worker is told the caller's deadline exactly (no grace): it times
     * the run out itself or the broker's CANCEL gets there first */
    assert_true(file_contains(log, "invocation cancelled by broker") ||
                file_contains(log, "invocation timed out, runtime recycled"));
    assert_int_not_equal(atoi(strstr(c.result, "\"pid\": ") + 7), pid3);
    h_kill(w);
    sy_pool_destroy(&p);
}

/* A cold start's init does not count against the function timeout; the
 * init phase has its own limit. */
static void test_runtime_cold_start(void **state)
{
    (void)state;
    sy_pool_t *p = pool_steady();
    char spec[PATH_MAX + 128], spec2[PATH_MAX + 128];
    snprintf(spec, sizeof spec, "slowinit=runtime:%s,timeout=1", g_bootstrap);
    snprintf(spec2, sizeof spec2, "stuckinit=runtime:%s,timeout=1,init_timeout=0.5", g_bootstrap);
    setenv("SLOW_INIT", "1.5", 1);
    pid_t w = h_spawn_worker(logfile("coldstart"), "--broker", sy_pool_endpoint(p), "--function",
                             spec, "--function", spec2, NULL);
    unsetenv("SLOW_INIT");
    assert_true(h_wait_workers(p, 1, 10000));
    h_call_t c;
    assert_int_equal(h_invoke(p, "slowinit", "{\"n\":1}", 10000, &c), 0);
    assert_int_equal(c.status, SY_INVOKE_OK); /* 1.5 s init, 1 s timeout: fine */
    assert_int_equal(h_invoke(p, "stuckinit", "{\"n\":1}", 10000, &c), 0);
    assert_int_equal(c.status, SY_INVOKE_FN_ERROR);
    assert_string_equal(c.error_type, "Runtime.InitError");
    assert_string_equal(c.error_message,
                        "the runtime did not ask for work within 0.50 seconds of starting");
    h_kill(w);
    sy_pool_destroy(&p);
}

/* Runtime API error paths, headers, and one process per slot. */
static void test_runtime_errors_and_concurrency(void **state)
{
    (void)state;
    sy_pool_t *p = pool_steady();
    char err_bootstrap[PATH_MAX + 64], spec1[PATH_MAX + 128], spec2[PATH_MAX + 128];
    snprintf(err_bootstrap, sizeof err_bootstrap, "%s", g_bootstrap);
    char *slash = strrchr(err_bootstrap, '/');
    *slash = 0;
    strcat(err_bootstrap, "-errors/bootstrap");
    snprintf(spec1, sizeof spec1, "shellerr=runtime:%s,timeout=5,handler=my.handler",
             err_bootstrap);
    snprintf(spec2, sizeof spec2, "shell=runtime:%s,timeout=5,concurrency=2", g_bootstrap);
    pid_t w = h_spawn_worker(logfile("runtime_err"), "--broker", sy_pool_endpoint(p), "--function",
                             spec1, "--function", spec2, NULL);
    assert_true(h_wait_workers(p, 1, 10000));
    h_call_t c;
    int64_t before = h_now_ms();
    assert_int_equal(h_invoke(p, "shellerr", "{\"x\":1}", 10000, &c), 0);
    assert_int_equal(c.status, SY_INVOKE_FN_ERROR);
    assert_string_equal(c.error_type, "Custom.Failure");
    assert_non_null(strstr(c.error_message, "next-again=403 bad-id=400"));
    assert_non_null(
        strstr(c.error_message, "arn=arn:aws:lambda:us-east-1:000000000000:function:shellerr"));
    assert_non_null(strstr(c.error_message, "handler=my.handler event=7"));
    long long deadline = atoll(strstr(c.error_message, "deadline=") + 9);
    assert_true(deadline >= before + 4000 && deadline <= h_now_ms() + 5000);
    assert_non_null(strstr(c.result, "\"errorType\":\"Custom.Failure\""));

    /* concurrency 2: two warm processes serve two invocations at once */
    static h_call_t c1, c2;
    h_call_init(&c1);
    h_call_init(&c2);
    const char *ev = "{\"nap\":1}";
    int64_t t0 = h_now_ms();
    /* first a cold start of both */
    assert_int_equal(sy_pool_invoke(p, "shell", ev, strlen(ev), t0 + 10000, h_call_cb, &c1), 0);
    assert_int_equal(sy_pool_invoke(p, "shell", ev, strlen(ev), t0 + 10000, h_call_cb, &c2), 0);
    h_call_wait(&c1);
    h_call_wait(&c2);
    h_call_init(&c1);
    h_call_init(&c2);
    t0 = h_now_ms();
    assert_int_equal(sy_pool_invoke(p, "shell", ev, strlen(ev), t0 + 10000, h_call_cb, &c1), 0);
    assert_int_equal(sy_pool_invoke(p, "shell", ev, strlen(ev), t0 + 10000, h_call_cb, &c2), 0);
    h_call_wait(&c1);
    h_call_wait(&c2);
    int64_t took = h_now_ms() - t0;
    assert_int_equal(c1.status, SY_INVOKE_OK);
    assert_int_equal(c2.status, SY_INVOKE_OK);
    assert_int_not_equal(atoi(strstr(c1.result, "\"pid\": ") + 7),
                         atoi(strstr(c2.result, "\"pid\": ") + 7));
    assert_true(took < 1800); /* 2 x 1 s ran side by side (in turn: >= 2 s) */
    h_kill(w);
    sy_pool_destroy(&p);
}

int main(void)
{
    common_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_runtime_bootstrap),
        cmocka_unit_test(test_runtime_cold_start),
        cmocka_unit_test(test_runtime_errors_and_concurrency),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
