/* tests/worker/test_worker_zmq.c - the broker pool and real worker processes
 * over real ZeroMQ sockets: sync invoke, errors, timeouts, credit, worker
 * death, broker restart, version mismatch, Curve allow-list, drain. */
#include "common.h"

/* ------------------------------------------------------------- tests */
static void test_sync_invoke_error_timeout(void **state)
{
    (void)state;
    sy_pool_t *p = pool_steady();
    const char *ep = sy_pool_endpoint(p);
    pid_t w = h_spawn_worker(logfile("sync"), "--broker", ep, "--reconnect-ms", "100",
                             "--function", so_spec("echo", NULL), "--function",
                             so_spec("fail", NULL), "--function", so_spec("slow", ",timeout=0.3"),
                             "--function", so_spec("ctxinfo", ",timeout=5"), NULL);
    assert_true(w > 0);
    assert_true(h_wait_workers(p, 1, 10000));
    h_call_t c;
    assert_int_equal(h_invoke(p, "echo", "{\"hello\":\"world\"}", 5000, &c), 0);
    assert_int_equal(c.status, SY_INVOKE_OK);
    assert_string_equal(c.result, "{\"hello\":\"world\"}");

    assert_int_equal(h_invoke(p, "fail", "{}", 5000, &c), 0);
    assert_int_equal(c.status, SY_INVOKE_FN_ERROR);
    assert_string_equal(c.error_type, "ValidationError");
    assert_string_equal(c.error_message, "the order has no items");
    assert_non_null(strstr(c.result, "\"errorType\":\"ValidationError\""));

    assert_int_equal(h_invoke(p, "slow", "{\"sleep_ms\":1500}", 5000, &c), 0);
    assert_int_equal(c.status, SY_INVOKE_FN_ERROR);
    assert_string_equal(c.error_type, "Sandbox.Timedout");
    assert_string_equal(c.error_message, "Task timed out after 0.30 seconds");

    /* the timed-out C handler keeps its slot until it returns: then the
     * function is usable again */
    assert_int_equal(h_invoke(p, "slow", "{\"sleep_ms\":10}", 5000, &c), 0);
    assert_int_equal(c.status, SY_INVOKE_OK);

    /* request id and traceparent reach the handler's context */
    h_call_init(&c);
    sy_invoke_opts_t io = {.deadline_ms = h_now_ms() + 5000, .request_id = "req-123",
                           .traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"};
    assert_int_equal(sy_pool_invoke_opts(p, "ctxinfo", "{}", 2, &io, h_call_cb, &c), 0);
    h_call_wait(&c);
    assert_int_equal(c.status, SY_INVOKE_OK);
    assert_string_equal(c.result,
                        "{\"abi\":2,\"request_id\":\"req-123\",\"function\":\"ctxinfo\","
                        "\"arn\":\"arn:aws:lambda:us-east-1:000000000000:function:ctxinfo\","
                        "\"trace_id\":\"Root=1-0af76519-16cd43dd8448eb211c80319c;"
                        "Parent=b7ad6b7169203331;Sampled=1\",\"attempt\":1,\"remaining_ok\":true}");

    /* nobody hosts it */
    assert_int_equal(h_invoke(p, "nope", "{}", 3000, &c), 0);
    assert_int_equal(c.status, SY_INVOKE_NO_WORKER);

    sy_pool_stats_t st;
    sy_pool_stats(p, &st);
    assert_true(st.deliveries >= 4);
    assert_true(st.fn_errors >= 2);
    /* the same figures on /metrics */
    sy_pool_metrics_publish(p);
    sy_buf_t b;
    sy_buf_init(&b);
    sy_metrics_render(&b);
    char want[128];
    snprintf(want, sizeof want, "switchyard_worker_deliveries_total %llu",
             (unsigned long long)st.deliveries);
    assert_non_null(strstr(b.data, want));
    assert_non_null(strstr(b.data, "switchyard_worker_sessions 1"));
    assert_non_null(strstr(b.data, "# TYPE switchyard_worker_acks_total counter"));
    sy_buf_free(&b);
    h_kill(w);
    sy_pool_destroy(&p);
    assert_null(p);
}

/* Concurrency exhausted until the deadline -> TOO_MANY; a deadline passing
 * in flight -> TIMEOUT (and the slot comes back when the handler ends). */
static void test_too_many_and_deadline(void **state)
{
    (void)state;
    sy_pool_t *p = pool_steady();
    pid_t w = h_spawn_worker(logfile("toomany"), "--broker", sy_pool_endpoint(p), "--function",
                             so_spec("slow", ",timeout=10"), NULL);
    assert_true(h_wait_workers(p, 1, 10000));
    for (int i = 0; i < 200 && sy_pool_function_credit(p, "slow") < 1; i++) h_sleep_ms(10);
    static h_call_t busy;
    h_call_init(&busy);
    const char *ev = "{\"sleep_ms\":1000}";
    assert_int_equal(sy_pool_invoke(p, "slow", ev, strlen(ev), h_now_ms() + 5000, h_call_cb, &busy),
                     0);
    h_call_t c;
    int64_t t0 = h_now_ms();
    assert_int_equal(h_invoke(p, "slow", "{\"sleep_ms\":1}", 300, &c), 0);
    assert_int_equal(c.status, SY_INVOKE_TOO_MANY);
    assert_string_equal(c.error_type, "TooManyRequestsException");
    int64_t waited = h_now_ms() - t0;
    assert_true(waited >= 280 && waited < 1000); /* it waited for credit, until the deadline */
    h_call_wait(&busy);
    assert_int_equal(busy.status, SY_INVOKE_OK);

    t0 = h_now_ms();
    assert_int_equal(h_invoke(p, "slow", "{\"sleep_ms\":800}", 300, &c), 0);
    /* Two clocks watch the same deadline: the broker's (TIMEOUT, counted)
     * and the worker's, which is told the caller's deadline and reports
     * Sandbox.Timedout itself. On a loaded machine either may speak first;
     * both are the answer "timed out", and nothing waits for the handler. */
    bool broker_first = c.status == SY_INVOKE_TIMEOUT;
    if (!broker_first) {
        assert_int_equal(c.status, SY_INVOKE_FN_ERROR);
        assert_string_equal(c.error_type, "Sandbox.Timedout");
    }
    assert_true(h_now_ms() - t0 < 700);
    sy_pool_stats_t st;
    sy_pool_stats(p, &st);
    assert_int_equal(st.timeouts, broker_first ? 1 : 0);
    /* the worker gets its slot back once the handler returns */
    assert_int_equal(h_invoke(p, "slow", "{\"sleep_ms\":1}", 5000, &c), 0);
    assert_int_equal(c.status, SY_INVOKE_OK);
    h_kill(w);
    sy_pool_destroy(&p);
}



static void fn_info_cb(const sy_pool_function_info_t *info, void *u)
{
    static char name[64];
    snprintf(name, sizeof name, "%s", info->name);
    *(sy_pool_function_info_t *)u = *info;
    ((sy_pool_function_info_t *)u)->name = name;
}

typedef struct {
    h_call_t calls[8];
} many_t;

static void test_credit_two_workers(void **state)
{
    (void)state;
    sy_pool_t *p = pool_steady();
    pid_t w1 = h_spawn_worker(logfile("credit1"), "--broker", sy_pool_endpoint(p), "--concurrency",
                              "1", "--function", so_spec("slow", ",timeout=10"), NULL);
    pid_t w2 = h_spawn_worker(logfile("credit2"), "--broker", sy_pool_endpoint(p), "--concurrency",
                              "1", "--function", so_spec("slow", ",timeout=10"), NULL);
    assert_true(h_wait_workers(p, 2, 10000));
    /* both grant their credit */
    for (int i = 0; i < 200 && sy_pool_function_credit(p, "slow") < 2; i++) h_sleep_ms(10);
    assert_int_equal(sy_pool_function_credit(p, "slow"), 2);
    static many_t m;
    for (int i = 0; i < 6; i++) {
        h_call_init(&m.calls[i]);
        const char *ev = "{\"sleep_ms\":200}";
        assert_int_equal(sy_pool_invoke(p, "slow", ev, strlen(ev), h_now_ms() + 10000, h_call_cb,
                                        &m.calls[i]),
                         0);
    }
    long long s[6], e[6];
    int pids[6];
    for (int i = 0; i < 6; i++) {
        h_call_wait(&m.calls[i]);
        assert_int_equal(m.calls[i].status, SY_INVOKE_OK);
        const char *r = m.calls[i].result;
        pids[i] = atoi(strstr(r, "\"pid\":") + 6);
        s[i] = atoll(strstr(r, "\"start_us\":") + 11);
        e[i] = atoll(strstr(r, "\"end_us\":") + 9);
    }
    /* never more than 2 at once, and never 2 in one worker */
    int maxc = 0;
    for (int i = 0; i < 6; i++) {
        int c = 0;
        for (int j = 0; j < 6; j++)
            if (s[j] <= s[i] && e[j] > s[i]) c++;
        if (c > maxc) maxc = c;
        for (int j = 0; j < 6; j++)
            if (j != i && pids[j] == pids[i]) assert_false(s[j] < e[i] && s[i] < e[j]);
    }
    assert_true(maxc <= 2);
    assert_int_equal(maxc, 2); /* and both were used: LRU spreads the work */
    /* what the Lambda API can list (once the last ACK's credit is counted) */
    for (int i = 0; i < 100 && sy_pool_function_credit(p, "slow") < 2; i++) h_sleep_ms(10);
    sy_pool_function_info_t seen = {0};
    sy_pool_functions(p, fn_info_cb, &seen);
    assert_string_equal(seen.name, "slow");
    assert_int_equal(seen.workers, 2);
    assert_int_equal(seen.concurrency, 2);
    assert_int_equal(seen.credit, 2);
    int on_w1 = 0;
    for (int i = 0; i < 6; i++) on_w1 += pids[i] == w1;
    assert_true(on_w1 >= 2 && on_w1 <= 4);
    h_kill(w1);
    h_kill(w2);
    sy_pool_destroy(&p);
}

static void test_kill9_redelivers(void **state)
{
    (void)state;
    static h_table_t t;
    h_table_init(&t);
    sy_lease_source_t src = h_table_source(&t);
    sy_pool_t *p = pool_fast(&src);
    pid_t a = h_spawn_worker(logfile("kill_a"), "--broker", sy_pool_endpoint(p), "--function",
                             so_spec("slow", ",timeout=20"), NULL);
    assert_true(h_wait_workers(p, 1, 10000));
    h_table_add(&t, "m-1", "{\"sleep_ms\":5000}");
    sy_pool_wake(p, "slow");
    /* delivered to a */
    sy_pool_stats_t st;
    for (int i = 0; i < 500; i++) {
        sy_pool_stats(p, &st);
        if (st.inflight == 1) break;
        h_sleep_ms(10);
    }
    assert_int_equal(st.inflight, 1);
    pid_t b = h_spawn_worker(logfile("kill_b"), "--broker", sy_pool_endpoint(p), "--function",
                             so_spec("slow", ",timeout=20"), NULL);
    assert_true(h_wait_workers(p, 2, 10000));
    int64_t t0 = h_now_ms();
    kill(a, SIGKILL);
    waitpid(a, NULL, 0);
    /* released at once on expiry (3 x 100 ms), redelivered to b, acked */
    assert_true(h_wait_state(&t, 0, 2, 15000));
    int64_t took = h_now_ms() - t0;
    pthread_mutex_lock(&t.mu);
    assert_int_equal(t.releases, 1);
    assert_int_equal(t.m[0].attempts, 2);
    assert_int_equal(atoi(strstr(t.m[0].result, "\"pid\":") + 6), b);
    assert_non_null(strstr(t.m[0].result, "\"attempt\":2"));
    pthread_mutex_unlock(&t.mu);
    assert_true(took < 5000 + 3000); /* not a visibility timeout: right after expiry */
    sy_pool_stats(p, &st);
    assert_int_equal(st.expired_workers, 1);
    assert_int_equal(st.workers, 1);
    h_kill(b);
    sy_pool_destroy(&p);
}

/* A sync invocation on a worker that dies fails at once with WORKER_LOST;
 * the same worker id reconnecting replaces its old session right away. */
static void test_worker_lost_sync(void **state)
{
    (void)state;
    sy_pool_t *p = pool_fast(NULL);
    pid_t a = h_spawn_worker(logfile("lost_a"), "--broker", sy_pool_endpoint(p), "--worker-id",
                             "pod-1", "--function", so_spec("slow", ",timeout=20"), NULL);
    assert_true(h_wait_workers(p, 1, 10000));
    h_call_t c;
    h_call_init(&c);
    const char *ev = "{\"sleep_ms\":5000}";
    assert_int_equal(sy_pool_invoke(p, "slow", ev, strlen(ev), h_now_ms() + 20000, h_call_cb, &c),
                     0);
    sy_pool_stats_t st;
    for (int i = 0; i < 500; i++) {
        sy_pool_stats(p, &st);
        if (st.inflight == 1) break;
        h_sleep_ms(10);
    }
    int64_t t0 = h_now_ms();
    kill(a, SIGKILL);
    waitpid(a, NULL, 0);
    h_call_wait(&c);
    assert_int_equal(c.status, SY_INVOKE_WORKER_LOST);
    assert_true(h_now_ms() - t0 < 2000);
    h_call_init(&c);
    sy_pool_destroy(&p);

    /* same worker id, twice in a row: the second session replaces the first
     * at once (slow heartbeats here: expiry would take 3 s) */
    sy_pool_opts_t o = {.heartbeat_ivl_ms = 1000, .liveness = 3};
    sy_err_t err;
    p = sy_pool_new("tcp://127.0.0.1:*", &o, &err);
    assert_non_null(p);
    pid_t b = h_spawn_worker(logfile("lost_b"), "--broker", sy_pool_endpoint(p), "--worker-id",
                             "pod-1", "--function", so_spec("slow", ",timeout=20"), NULL);
    assert_true(h_wait_workers(p, 1, 10000));
    kill(b, SIGKILL);
    waitpid(b, NULL, 0);
    const char *log2 = logfile("lost_b2");
    pid_t b2 = h_spawn_worker(log2, "--broker", sy_pool_endpoint(p), "--worker-id", "pod-1",
                              "--function", so_spec("slow", ",timeout=20"), NULL);
    int64_t end = h_now_ms() + 2500;
    while (!file_contains(log2, "registered with broker") && h_now_ms() < end) h_sleep_ms(10);
    assert_true(file_contains(log2, "registered with broker"));
    h_sleep_ms(30);
    sy_pool_stats(p, &st);
    assert_int_equal(st.workers, 1);
    assert_int_equal(st.expired_workers, 0);
    assert_int_equal(h_invoke(p, "slow", "{\"sleep_ms\":1}", 5000, &c), 0);
    assert_int_equal(c.status, SY_INVOKE_OK);
    h_kill(b2);
    sy_pool_destroy(&p);
}

static void test_broker_restart_ack(void **state)
{
    (void)state;
    static h_table_t t;
    h_table_init(&t);
    sy_lease_source_t src = h_table_source(&t);
    sy_pool_t *p = pool_fast(&src);
    char ep[256];
    snprintf(ep, sizeof ep, "%s", sy_pool_endpoint(p));
    pid_t w = h_spawn_worker(logfile("restart"), "--broker", ep, "--reconnect-ms", "100",
                             "--function", so_spec("slow", ",timeout=20"), NULL);
    assert_true(h_wait_workers(p, 1, 10000));
    h_table_add(&t, "m-1", "{\"sleep_ms\":1500}");
    sy_pool_wake(p, "slow");
    sy_pool_stats_t st;
    for (int i = 0; i < 500; i++) {
        sy_pool_stats(p, &st);
        if (st.inflight == 1) break;
        h_sleep_ms(10);
    }
    assert_int_equal(st.inflight, 1);
    sy_pool_destroy(&p); /* the broker goes away mid-invocation */
    h_sleep_ms(200);
    sy_pool_opts_t o = {.heartbeat_ivl_ms = 100, .liveness = 3, .lease = &src};
    sy_err_t err;
    p = sy_pool_new(ep, &o, &err); /* a new broker, same endpoint, same lease table */
    assert_non_null(p);
    assert_true(h_wait_state(&t, 0, 2, 10000)); /* the ACK from a new session is accepted */
    pthread_mutex_lock(&t.mu);
    assert_int_equal(t.acks, 1);
    assert_int_equal(t.stale, 0);
    assert_int_equal(t.m[0].attempts, 1);
    pthread_mutex_unlock(&t.mu);
    assert_true(h_wait_workers(p, 1, 10000)); /* and the worker registered again */
    /* a stale token is refused */
    h_call_t c;
    assert_int_equal(h_invoke(p, "slow", "{\"sleep_ms\":1}", 5000, &c), 0);
    assert_int_equal(c.status, SY_INVOKE_OK);
    h_kill(w);
    sy_pool_destroy(&p);
}

/* A handler's ctx->extend reaches the lease source as EXTEND, before the ACK. */
static void test_handler_extends_lease(void **state)
{
    (void)state;
    static h_table_t t;
    h_table_init(&t);
    sy_lease_source_t src = h_table_source(&t);
    sy_pool_t *p = pool_fast(&src);
    pid_t w = h_spawn_worker(logfile("extend"), "--broker", sy_pool_endpoint(p), "--function",
                             so_spec("extender", NULL), NULL);
    assert_true(h_wait_workers(p, 1, 10000));
    h_table_add(&t, "m-1", "{\"x\":1}");
    sy_pool_wake(p, "extender");
    assert_true(h_wait_state(&t, 0, 2, 10000));
    pthread_mutex_lock(&t.mu);
    assert_int_equal(t.extends, 1);
    assert_int_equal(t.stale, 0);
    assert_string_equal(t.m[0].result, "{\"x\":1}");
    pthread_mutex_unlock(&t.mu);
    sy_pool_stats_t st;
    sy_pool_stats(p, &st);
    assert_int_equal(st.extends, 1);
    h_kill(w);
    sy_pool_destroy(&p);
}

/* Leased elsewhere, offered to the pool: delivered within credit, settled
 * through the lease source; an offer nobody can take before its deadline is
 * given back. */
static void test_offer_leased(void **state)
{
    (void)state;
    static h_table_t t;
    h_table_init(&t);
    sy_lease_source_t src = h_table_source(&t);
    src.lease = NULL; /* this source only pushes */
    sy_pool_t *p = pool_fast(&src);
    for (int i = 0; i < 5; i++) {
        char id[16], body[32];
        snprintf(id, sizeof id, "m-%d", i);
        snprintf(body, sizeof body, "{\"sleep_ms\":50,\"i\":%d}", i);
        h_table_add(&t, id, body);
    }
    sy_delivery_t out[8];
    memset(out, 0, sizeof out);
    int n = h_lease(&t, "slow", 8, out);
    assert_int_equal(n, 5);
    assert_int_equal(sy_pool_offer(p, "slow", out, n), 0);
    for (int i = 0; i < n; i++) assert_null(out[i].payload); /* taken */
    pid_t w = h_spawn_worker(logfile("offer"), "--broker", sy_pool_endpoint(p), "--concurrency",
                             "2", "--function", so_spec("slow", ",timeout=10"), NULL);
    for (int i = 0; i < 5; i++) assert_true(h_wait_state(&t, i, 2, 10000));
    pthread_mutex_lock(&t.mu);
    assert_int_equal(t.acks, 5);
    assert_non_null(strstr(t.m[3].result, "\"attempt\":1"));
    pthread_mutex_unlock(&t.mu);
    /* a function nobody hosts: given back at its deadline */
    h_table_add(&t, "m-x", "{}");
    memset(out, 0, sizeof out);
    assert_int_equal(h_lease(&t, "nobody", 8, out), 1);
    out[0].deadline_ms = h_now_ms() + 200;
    assert_int_equal(sy_pool_offer(p, "nobody", out, 1), 0);
    assert_true(h_wait_state(&t, 5, 0, 3000));
    pthread_mutex_lock(&t.mu);
    assert_int_equal(t.releases, 1);
    pthread_mutex_unlock(&t.mu);
    h_kill(w);
    sy_pool_destroy(&p);
}

/* A raw DEALER speaking another version is refused with a clear reason. */
static void test_version_mismatch_broker(void **state)
{
    (void)state;
    sy_pool_t *p = pool_fast(NULL);
    void *ctx = zmq_ctx_new();
    void *d = zmq_socket(ctx, ZMQ_DEALER);
    int linger = 0, tmo = 5000;
    zmq_setsockopt(d, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(d, ZMQ_RCVTIMEO, &tmo, sizeof tmo);
    assert_int_equal(zmq_connect(d, sy_pool_endpoint(p)), 0);
    Syw__FunctionSpec fs = SYW__FUNCTION_SPEC__INIT;
    fs.name = "f";
    fs.max_concurrency = 1;
    Syw__FunctionSpec *fsp = &fs;
    Syw__Hello h = SYW__HELLO__INIT;
    h.worker_id = "old";
    h.n_functions = 1;
    h.functions = &fsp;
    Syw__Envelope e = SYW__ENVELOPE__INIT;
    e.cmd_case = SYW__ENVELOPE__CMD_HELLO;
    e.hello = &h;
    uint8_t buf[256];
    size_t n = syw__envelope__pack(&e, buf);
    zmq_send(d, "SYW02", 5, ZMQ_SNDMORE);
    zmq_send(d, buf, n, 0);
    char sig[16] = "";
    assert_int_equal(zmq_recv(d, sig, sizeof sig, 0), 5);
    assert_memory_equal(sig, "SYW01", 5);
    int more = 0;
    size_t sz = sizeof more;
    zmq_getsockopt(d, ZMQ_RCVMORE, &more, &sz);
    assert_true(more);
    int r = zmq_recv(d, buf, sizeof buf, 0);
    assert_true(r > 0);
    Syw__Envelope *got = syw__envelope__unpack(NULL, (size_t)r, buf);
    assert_non_null(got);
    assert_int_equal(got->cmd_case, SYW__ENVELOPE__CMD_DISCONNECT);
    assert_int_equal(got->disconnect->reason, SYW__DISCONNECT_REASON__DISCONNECT_VERSION_MISMATCH);
    assert_non_null(strstr(got->disconnect->message, "protocol version mismatch"));
    assert_non_null(strstr(got->disconnect->message, "SYW02"));
    syw__envelope__free_unpacked(got, NULL);
    sy_pool_stats_t st;
    sy_pool_stats(p, &st);
    assert_int_equal(st.workers, 0);
    assert_int_equal(st.refused, 1);
    zmq_close(d);
    zmq_ctx_term(ctx);
    sy_pool_destroy(&p);
}

/* A broker speaking another version: the worker exits 3 with a clear log. */
static void test_version_mismatch_worker(void **state)
{
    (void)state;
    void *ctx = zmq_ctx_new();
    void *r = zmq_socket(ctx, ZMQ_ROUTER);
    int linger = 0, tmo = 10000;
    zmq_setsockopt(r, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(r, ZMQ_RCVTIMEO, &tmo, sizeof tmo);
    assert_int_equal(zmq_bind(r, "tcp://127.0.0.1:*"), 0);
    char ep[256];
    size_t sz = sizeof ep;
    zmq_getsockopt(r, ZMQ_LAST_ENDPOINT, ep, &sz);
    const char *log = logfile("version_worker");
    pid_t w = h_spawn_worker(log, "--broker", ep, "--function", so_spec("echo", NULL), NULL);
    char rid[256];
    int rl = zmq_recv(r, rid, sizeof rid, 0);
    assert_true(rl > 0);
    char junk[1024];
    int more = 1;
    while (more) {
        zmq_recv(r, junk, sizeof junk, 0);
        sz = sizeof more;
        zmq_getsockopt(r, ZMQ_RCVMORE, &more, &sz);
    }
    Syw__Welcome wl = SYW__WELCOME__INIT;
    wl.heartbeat_ivl_ms = 1000;
    wl.liveness = 3;
    Syw__Envelope e = SYW__ENVELOPE__INIT;
    e.cmd_case = SYW__ENVELOPE__CMD_WELCOME;
    e.welcome = &wl;
    uint8_t buf[256];
    size_t n = syw__envelope__pack(&e, buf);
    zmq_send(r, rid, (size_t)rl, ZMQ_SNDMORE);
    zmq_send(r, "SYW99", 5, ZMQ_SNDMORE);
    zmq_send(r, buf, n, 0);
    assert_int_equal(h_wait_exit(w, 10000), 3);
    assert_true(file_contains(log, "protocol version mismatch: worker speaks SYW01, broker sent SYW99"));
    zmq_close(r);
    zmq_ctx_term(ctx);
}

static void write_key(const char *dir, const char *name, const char *pub)
{
    char path[700];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "# worker certificate\nmetadata\ncurve\n    public-key = \"%s\"\n", pub);
    fclose(f);
}

static void test_curve_allow_list(void **state)
{
    (void)state;
    /* plain TCP on a non-loopback address is refused */
    sy_err_t err;
    sy_pool_t *bad = sy_pool_new("tcp://0.0.0.0:*", NULL, &err);
    assert_null(bad);
    assert_non_null(strstr(err.message, "refusing plain TCP"));

    char spub[41], ssec[41], apub[41], asec[41], bpub[41], bsec[41];
    assert_int_equal(zmq_curve_keypair(spub, ssec), 0);
    assert_int_equal(zmq_curve_keypair(apub, asec), 0);
    assert_int_equal(zmq_curve_keypair(bpub, bsec), 0);
    char kdir[600];
    snprintf(kdir, sizeof kdir, "%s/keys", g_dir);
    mkdir(kdir, 0755);
    write_key(kdir, "worker-a.key", apub);
    sy_pool_opts_t o = {.heartbeat_ivl_ms = 100, .liveness = 3, .curve_secret_key = ssec,
                        .keys_dir = kdir};
    sy_pool_t *p = sy_pool_new("tcp://127.0.0.1:*", &o, &err);
    assert_non_null(p);
    assert_string_equal(sy_pool_public_key(p), spub);
    const char *blog = logfile("curve_b");
    pid_t b = h_spawn_worker(blog, "--broker", sy_pool_endpoint(p), "--broker-key",
                             spub, "--public-key", bpub, "--secret-key", bsec, "--function",
                             so_spec("echo", NULL), NULL);
    for (int64_t end = h_now_ms() + 20000; !file_contains(blog, "broker refused this worker's key") && h_now_ms() < end;)
        h_sleep_ms(50);
    assert_true(file_contains(blog, "broker refused this worker's key"));
    sy_pool_stats_t st;
    sy_pool_stats(p, &st);
    assert_int_equal(st.workers, 0); /* unknown key: refused by ZAP */
    pid_t a = h_spawn_worker(logfile("curve_a"), "--broker", sy_pool_endpoint(p), "--broker-key",
                             spub, "--public-key", apub, "--secret-key", asec, "--function",
                             so_spec("echo", NULL), NULL);
    assert_true(h_wait_workers(p, 1, 10000));
    h_call_t c;
    assert_int_equal(h_invoke(p, "echo", "\"secret\"", 5000, &c), 0);
    assert_int_equal(c.status, SY_INVOKE_OK);
    assert_string_equal(c.result, "\"secret\"");
    h_sleep_ms(300);
    sy_pool_stats(p, &st);
    assert_int_equal(st.workers, 1); /* still only a */
    h_kill(a);
    h_kill(b);

    /* a key limited to some functions: announcing another one is refused
     * (UNAUTHORIZED, the worker stops); the allowed one is served */
    char cpub[41], csec[41];
    assert_int_equal(zmq_curve_keypair(cpub, csec), 0);
    char cpath[700];
    snprintf(cpath, sizeof cpath, "%s/worker-c.key", kdir);
    FILE *kf = fopen(cpath, "w");
    assert_non_null(kf);
    fprintf(kf, "%s\nfunctions = ec*, nothing-else\n", cpub);
    fclose(kf);
    sy_pool_destroy(&p);
    p = sy_pool_new("tcp://127.0.0.1:*", &o, &err);
    assert_non_null(p);
    const char *clog = logfile("curve_c_refused");
    pid_t c1 = h_spawn_worker(clog, "--broker", sy_pool_endpoint(p), "--broker-key", spub, "--public-key", cpub,
                              "--secret-key", csec, "--function", so_spec("echo", NULL), "--function",
                              so_spec("slow", NULL), NULL);
    for (int64_t end = h_now_ms() + 20000; !file_contains(clog, "may not host function slow") && h_now_ms() < end;)
        h_sleep_ms(50);
    assert_true(file_contains(clog, "may not host function slow"));
    sy_pool_stats(p, &st);
    assert_int_equal(st.workers, 0);
    pid_t c2 = h_spawn_worker(logfile("curve_c_allowed"), "--broker", sy_pool_endpoint(p), "--broker-key", spub,
                              "--public-key", cpub, "--secret-key", csec, "--function", so_spec("echo", NULL), NULL);
    assert_true(h_wait_workers(p, 1, 10000));
    assert_int_equal(h_invoke(p, "echo", "\"limited\"", 5000, &c), 0);
    assert_int_equal(c.status, SY_INVOKE_OK);
    h_kill(c1);
    h_kill(c2);
    sy_pool_destroy(&p);
}

static void test_sigterm_drains(void **state)
{
    (void)state;
    sy_pool_t *p = pool_fast(NULL);
    pid_t w = h_spawn_worker(logfile("drain"), "--broker", sy_pool_endpoint(p), "--function",
                             so_spec("slow", ",timeout=10"), NULL);
    assert_true(h_wait_workers(p, 1, 10000));
    h_call_t c;
    h_call_init(&c);
    const char *ev = "{\"sleep_ms\":700}";
    assert_int_equal(sy_pool_invoke(p, "slow", ev, strlen(ev), h_now_ms() + 10000, h_call_cb, &c),
                     0);
    sy_pool_stats_t st;
    for (int i = 0; i < 500; i++) {
        sy_pool_stats(p, &st);
        if (st.inflight == 1) break;
        h_sleep_ms(10);
    }
    kill(w, SIGTERM);
    h_sleep_ms(100);
    /* no new work while draining */
    assert_int_equal(sy_pool_function_credit(p, "slow"), 0);
    h_call_wait(&c);
    assert_int_equal(c.status, SY_INVOKE_OK); /* in-flight work finished */
    assert_int_equal(h_wait_exit(w, 10000), 0);
    assert_true(h_wait_workers(p, 0, 2000)); /* GOODBYE, not expiry */
    sy_pool_stats(p, &st);
    assert_int_equal(st.expired_workers, 0);
    sy_pool_destroy(&p);
}


/* One worker, two brokers: a session with each, the slots split between them. */
static void test_two_brokers(void **state)
{
    (void)state;
    sy_pool_t *a = pool_fast(NULL), *b = pool_fast(NULL);
    pid_t w = h_spawn_worker(logfile("two_brokers"), "--broker", sy_pool_endpoint(a), "--broker",
                             sy_pool_endpoint(b), "--concurrency", "2", "--function",
                             so_spec("echo", NULL), NULL);
    assert_true(h_wait_workers(a, 1, 10000));
    assert_true(h_wait_workers(b, 1, 10000));
    for (int i = 0; i < 200; i++) {
        if (sy_pool_function_credit(a, "echo") + sy_pool_function_credit(b, "echo") == 2) break;
        h_sleep_ms(10);
    }
    assert_int_equal(sy_pool_function_credit(a, "echo"), 1);
    assert_int_equal(sy_pool_function_credit(b, "echo"), 1);
    h_call_t c;
    assert_int_equal(h_invoke(a, "echo", "\"a\"", 5000, &c), 0);
    assert_string_equal(c.result, "\"a\"");
    assert_int_equal(h_invoke(b, "echo", "\"b\"", 5000, &c), 0);
    assert_string_equal(c.result, "\"b\"");
    h_kill(w);
    sy_pool_destroy(&a);
    sy_pool_destroy(&b);
}

/* SIGTERM with a short drain timeout: what cannot finish is RELEASEd at once
 * and runs again elsewhere; the worker still exits 0. */
static void test_drain_releases_unfinished(void **state)
{
    (void)state;
    static h_table_t t;
    h_table_init(&t);
    sy_lease_source_t src = h_table_source(&t);
    sy_pool_t *p = pool_fast(&src);
    pid_t a = h_spawn_worker(logfile("drain_a"), "--broker", sy_pool_endpoint(p),
                             "--drain-timeout", "0.3", "--function",
                             so_spec("slow", ",timeout=20"), NULL);
    assert_true(h_wait_workers(p, 1, 10000));
    h_table_add(&t, "m-1", "{\"sleep_ms\":4000}");
    sy_pool_wake(p, "slow");
    sy_pool_stats_t st;
    for (int i = 0; i < 500; i++) {
        sy_pool_stats(p, &st);
        if (st.inflight == 1) break;
        h_sleep_ms(10);
    }
    assert_int_equal(st.inflight, 1);
    int64_t t0 = h_now_ms();
    kill(a, SIGTERM);
    assert_int_equal(h_wait_exit(a, 5000), 0);
    assert_true(h_now_ms() - t0 < 2500);
    pthread_mutex_lock(&t.mu);
    assert_int_equal(t.releases, 1);
    assert_int_equal(t.m[0].state, 0);
    pthread_mutex_unlock(&t.mu);
    pid_t b = h_spawn_worker(logfile("drain_b"), "--broker", sy_pool_endpoint(p), "--function",
                             so_spec("slow", ",timeout=20"), NULL);
    assert_true(h_wait_state(&t, 0, 2, 15000));
    pthread_mutex_lock(&t.mu);
    assert_int_equal(t.m[0].attempts, 2);
    assert_int_equal(atoi(strstr(t.m[0].result, "\"pid\":") + 6), b);
    pthread_mutex_unlock(&t.mu);
    sy_pool_stats(p, &st);
    assert_int_equal(st.expired_workers, 0);
    h_kill(b);
    sy_pool_destroy(&p);
}

/* Start-up errors are usage errors (exit 2) with a clear log line. */
static void test_worker_cli_errors(void **state)
{
    (void)state;
    const char *log = logfile("cli");
    pid_t w = h_spawn_worker(log, "--function", so_spec("echo", NULL), NULL);
    assert_int_equal(h_wait_exit(w, 10000), 2);
    assert_true(file_contains(log, "at least one --broker is required"));
    w = h_spawn_worker(log, "--broker", "tcp://127.0.0.1:1", "--function", "f=lisp:/x", NULL);
    assert_int_equal(h_wait_exit(w, 10000), 2);
    assert_true(file_contains(log, "bad spec lisp:/x"));
    w = h_spawn_worker(log, "--broker", "tcp://127.0.0.1:1", "--function",
                       "f=so:/nonexistent/lib.so:f", NULL);
    assert_int_equal(h_wait_exit(w, 10000), 2);
    assert_true(file_contains(log, "could not load handler"));
    w = h_spawn_worker(log, "--broker", "tcp://127.0.0.1:1", "--function",
                       so_spec("no_such_symbol", NULL), NULL);
    assert_int_equal(h_wait_exit(w, 10000), 2);
    assert_true(file_contains(log, "handler symbol not found"));
    char notexec[700];
    snprintf(notexec, sizeof notexec, "f=runtime:%s/not-executable", g_dir);
    FILE *ne = fopen(notexec + 10, "w");
    assert_non_null(ne);
    fclose(ne);
    chmod(notexec + 10, 0644);
    w = h_spawn_worker(log, "--broker", "tcp://127.0.0.1:1", "--function", notexec, NULL);
    assert_int_equal(h_wait_exit(w, 10000), 2);
    assert_true(file_contains(log, "bootstrap is not executable"));
    w = h_spawn_worker(log, "--broker", "tcp://127.0.0.1:1", "--broker-key", "short", "--function",
                       so_spec("echo", NULL), NULL);
    assert_int_equal(h_wait_exit(w, 10000), 2);
    assert_true(file_contains(log, "curve needs --broker-key, --public-key and --secret-key"));
    w = h_spawn_worker(log, "--keygen", NULL);
    assert_int_equal(h_wait_exit(w, 10000), 0);
}

int main(void)
{
    common_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sync_invoke_error_timeout),
        cmocka_unit_test(test_too_many_and_deadline),
        cmocka_unit_test(test_credit_two_workers),
        cmocka_unit_test(test_kill9_redelivers),
        cmocka_unit_test(test_worker_lost_sync),
        cmocka_unit_test(test_broker_restart_ack),
        cmocka_unit_test(test_handler_extends_lease),
        cmocka_unit_test(test_offer_leased),
        cmocka_unit_test(test_version_mismatch_broker),
        cmocka_unit_test(test_version_mismatch_worker),
        cmocka_unit_test(test_curve_allow_list),
        cmocka_unit_test(test_sigterm_drains),
        cmocka_unit_test(test_two_brokers),
        cmocka_unit_test(test_drain_releases_unfinished),
        cmocka_unit_test(test_worker_cli_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
