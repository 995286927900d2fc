/* tests/worker/test_worker_protocol.c - the wire protocol driven by raw
 * ZeroMQ peers (leases, EXTEND/RELEASE, stale ACKs, credit) and worker
 * reconnection to a silent broker. */
#include "common.h"

/* ------------------------------------------------- raw protocol peers */
static void raw_send(void *s, const Syw__Envelope *e)
{
    uint8_t buf[1024];
    size_t n = syw__envelope__pack(e, buf);
    zmq_send(s, "SYW01", 5, ZMQ_SNDMORE);
    zmq_send(s, buf, n, 0);
}

/* Receive one message on a DEALER; skips HEARTBEATs unless any. Caller frees. */
static Syw__Envelope *raw_recv2(void *s, char *body, size_t *body_len, bool any)
{
    for (;;) {
        char sig[16];
        if (zmq_recv(s, sig, sizeof sig, 0) < 0) return NULL;
        uint8_t buf[4096];
        int n = zmq_recv(s, buf, sizeof buf, 0);
        int more = 0;
        size_t sz = sizeof more;
        zmq_getsockopt(s, ZMQ_RCVMORE, &more, &sz);
        size_t bl = 0;
        if (more) {
            static char scratch[4096];
            int r = zmq_recv(s, body ? body : scratch, 4096, 0);
            bl = r > 0 ? (size_t)r : 0;
        }
        if (body_len) *body_len = bl;
        Syw__Envelope *e = syw__envelope__unpack(NULL, (size_t)n, buf);
        assert_non_null(e);
        if (any || e->cmd_case != SYW__ENVELOPE__CMD_HEARTBEAT) return e;
        syw__envelope__free_unpacked(e, NULL);
    }
}

static Syw__Envelope *raw_recv(void *s, char *body, size_t *body_len)
{
    return raw_recv2(s, body, body_len, false);
}

/* Wait up to timeout_ms for a non-HEARTBEAT message, heartbeating meanwhile
 * as a live worker must. */
static Syw__Envelope *raw_wait(void *s, char *body, size_t *body_len, int timeout_ms)
{
    int64_t end = h_now_ms() + timeout_ms;
    zmq_pollitem_t it = {s, 0, ZMQ_POLLIN, 0};
    while (h_now_ms() < end) {
        if (zmq_poll(&it, 1, 50) == 1) {
            Syw__Envelope *e = raw_recv2(s, body, body_len, true);
            if (e && e->cmd_case != SYW__ENVELOPE__CMD_HEARTBEAT) return e;
            if (e) syw__envelope__free_unpacked(e, NULL);
        }
        Syw__Heartbeat hb = SYW__HEARTBEAT__INIT;
        Syw__Envelope e = SYW__ENVELOPE__INIT;
        e.cmd_case = SYW__ENVELOPE__CMD_HEARTBEAT;
        e.heartbeat = &hb;
        raw_send(s, &e);
    }
    return NULL;
}

/* The pool's side of leases, driven by a hand-written worker: EXTEND,
 * RELEASE with a delay, a stale ACK, and credit never exceeded. */
static void test_raw_lease_protocol(void **state)
{
    (void)state;
    static h_table_t t;
    h_table_init(&t);
    sy_lease_source_t src = h_table_source(&t);
    sy_pool_t *p = pool_fast(&src);
    void *ctx = zmq_ctx_new();
    void *d = zmq_socket(ctx, ZMQ_DEALER);
    int linger = 0, tmo = 5000;
    zmq_setsockopt(d, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(d, ZMQ_RCVTIMEO, &tmo, sizeof tmo);
    assert_int_equal(zmq_connect(d, sy_pool_endpoint(p)), 0);
    Syw__FunctionSpec fs = SYW__FUNCTION_SPEC__INIT, *fsp = &fs;
    fs.name = "f";
    fs.max_concurrency = 1;
    Syw__Hello h = SYW__HELLO__INIT;
    h.worker_id = "raw";
    h.n_functions = 1;
    h.functions = &fsp;
    Syw__Envelope e = SYW__ENVELOPE__INIT;
    e.cmd_case = SYW__ENVELOPE__CMD_HELLO;
    e.hello = &h;
    raw_send(d, &e);
    Syw__Envelope *got = raw_recv(d, NULL, NULL);
    assert_int_equal(got->cmd_case, SYW__ENVELOPE__CMD_WELCOME);
    assert_int_equal(got->welcome->heartbeat_ivl_ms, 100);
    assert_int_equal(got->welcome->liveness, 3);
    syw__envelope__free_unpacked(got, NULL);

    h_table_add(&t, "m-1", "{\"one\":1}");
    h_table_add(&t, "m-2", "{\"two\":2}");
    Syw__Credit cr = SYW__CREDIT__INIT;
    cr.function = "f";
    cr.amount = 1;
    e.cmd_case = SYW__ENVELOPE__CMD_CREDIT;
    e.credit = &cr;
    raw_send(d, &e);
    char body[4096];
    size_t bl;
    got = raw_recv(d, body, &bl);
    assert_int_equal(got->cmd_case, SYW__ENVELOPE__CMD_DELIVER);
    assert_string_equal(got->deliver->message_id, "m-1");
    assert_int_equal(got->deliver->attempt, 1);
    assert_true(got->deliver->deadline_ms > h_now_ms());
    assert_int_equal(bl, 9);
    assert_memory_equal(body, "{\"one\":1}", 9);
    char tok1[128];
    snprintf(tok1, sizeof tok1, "%s", got->deliver->lease_token);
    uint64_t did = got->deliver->delivery_id;
    syw__envelope__free_unpacked(got, NULL);
    /* credit 1: the second message must not come */
    zmq_pollitem_t it = {d, 0, ZMQ_POLLIN, 0};
    int64_t until = h_now_ms() + 400;
    while (h_now_ms() < until) {
        if (zmq_poll(&it, 1, 50) == 1) {
            got = raw_recv2(d, NULL, NULL, true);
            assert_non_null(got);
            assert_int_not_equal(got->cmd_case, SYW__ENVELOPE__CMD_DELIVER);
            syw__envelope__free_unpacked(got, NULL);
        }
        Syw__Heartbeat hb = SYW__HEARTBEAT__INIT;
        e.cmd_case = SYW__ENVELOPE__CMD_HEARTBEAT;
        e.heartbeat = &hb;
        raw_send(d, &e);
    }
    Syw__Extend x = SYW__EXTEND__INIT;
    x.delivery_id = did;
    x.lease_token = tok1;
    x.function = "f";
    x.extend_ms = 1000;
    e.cmd_case = SYW__ENVELOPE__CMD_EXTEND;
    e.extend = &x;
    raw_send(d, &e);
    /* give it back for 300 ms, with the slot */
    Syw__Release r = SYW__RELEASE__INIT;
    r.delivery_id = did;
    r.lease_token = tok1;
    r.function = "f";
    r.delay_ms = 300;
    r.credit = 1;
    e.cmd_case = SYW__ENVELOPE__CMD_RELEASE;
    e.release = &r;
    raw_send(d, &e);
    int64_t released_at = h_now_ms();
    got = raw_wait(d, NULL, NULL, 3000); /* m-2 now (m-1 is delayed) */
    assert_non_null(got);
    assert_int_equal(got->cmd_case, SYW__ENVELOPE__CMD_DELIVER);
    assert_string_equal(got->deliver->message_id, "m-2");
    char tok2[128];
    snprintf(tok2, sizeof tok2, "%s", got->deliver->lease_token);
    did = got->deliver->delivery_id;
    syw__envelope__free_unpacked(got, NULL);
    Syw__Ack a = SYW__ACK__INIT;
    a.delivery_id = did;
    a.lease_token = tok2;
    a.function = "f";
    a.credit = 1;
    e.cmd_case = SYW__ENVELOPE__CMD_ACK;
    e.ack = &a;
    raw_send(d, &e);
    /* m-1 again, after its delay (found by the periodic lease poll) */
    got = raw_wait(d, NULL, NULL, 3000);
    assert_non_null(got);
    assert_int_equal(got->cmd_case, SYW__ENVELOPE__CMD_DELIVER);
    assert_string_equal(got->deliver->message_id, "m-1");
    assert_int_equal(got->deliver->attempt, 2);
    assert_true(h_now_ms() - released_at >= 250);
    assert_string_not_equal(got->deliver->lease_token, tok1);
    char tok3[128];
    snprintf(tok3, sizeof tok3, "%s", got->deliver->lease_token);
    syw__envelope__free_unpacked(got, NULL);
    /* an ACK with the old token is stale, refused by the lease source */
    a.delivery_id = 999999;
    a.lease_token = tok1;
    a.credit = 0;
    raw_send(d, &e);
    h_sleep_ms(200);
    sy_pool_stats_t st;
    sy_pool_stats(p, &st);
    assert_int_equal(st.stale_acks, 1);
    assert_int_equal(st.extends, 1);
    pthread_mutex_lock(&t.mu);
    assert_int_equal(t.m[0].state, 1); /* still leased under the new token */
    assert_int_equal(t.m[1].state, 2);
    assert_int_equal(t.extends, 1);
    assert_int_equal(t.releases, 1);
    pthread_mutex_unlock(&t.mu);
    /* a connection the broker has no session for (as after a restart)
     * settles a valid token, then is told to say HELLO */
    void *d2 = zmq_socket(ctx, ZMQ_DEALER);
    zmq_setsockopt(d2, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(d2, ZMQ_RCVTIMEO, &tmo, sizeof tmo);
    assert_int_equal(zmq_connect(d2, sy_pool_endpoint(p)), 0);
    a.delivery_id = 12345;
    a.lease_token = tok3;
    a.outcome = SYW__OUTCOME__OUTCOME_OK;
    raw_send(d2, &e);
    got = raw_recv(d2, NULL, NULL);
    assert_non_null(got);
    assert_int_equal(got->cmd_case, SYW__ENVELOPE__CMD_DISCONNECT);
    assert_int_equal(got->disconnect->reason, SYW__DISCONNECT_REASON__DISCONNECT_UNKNOWN_SESSION);
    syw__envelope__free_unpacked(got, NULL);
    pthread_mutex_lock(&t.mu);
    assert_int_equal(t.m[0].state, 2);
    assert_int_equal(t.acks, 2);
    pthread_mutex_unlock(&t.mu);
    zmq_close(d2);
    zmq_close(d);
    zmq_ctx_term(ctx);
    sy_pool_destroy(&p);
}

/* A broker that goes silent (no DISCONNECT): the worker notices after
 * ivl x liveness and says HELLO again from a fresh socket. */
static void test_worker_reconnects_silent_broker(void **state)
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
    pid_t w = h_spawn_worker(logfile("silent"), "--broker", ep, "--reconnect-ms", "100",
                             "--function", so_spec("echo", NULL), NULL);
    char rid1[256], rid2[256], buf[1024];
    int l1 = zmq_recv(r, rid1, sizeof rid1, 0);
    assert_true(l1 > 0);
    int more = 1;
    while (more) {
        zmq_recv(r, buf, sizeof buf, 0);
        sz = sizeof more;
        zmq_getsockopt(r, ZMQ_RCVMORE, &more, &sz);
    }
    Syw__Welcome wl = SYW__WELCOME__INIT;
    wl.heartbeat_ivl_ms = 100;
    wl.liveness = 3;
    Syw__Envelope e = SYW__ENVELOPE__INIT;
    e.cmd_case = SYW__ENVELOPE__CMD_WELCOME;
    e.welcome = &wl;
    uint8_t pb[256];
    size_t n = syw__envelope__pack(&e, pb);
    zmq_send(r, rid1, (size_t)l1, ZMQ_SNDMORE);
    zmq_send(r, "SYW01", 5, ZMQ_SNDMORE);
    zmq_send(r, pb, n, 0);
    int64_t t0 = h_now_ms();
    /* now silence: read until a HELLO from another routing id */
    bool rehello = false;
    while (!rehello && h_now_ms() - t0 < 8000) {
        int l2 = zmq_recv(r, rid2, sizeof rid2, 0);
        if (l2 < 0) break;
        zmq_recv(r, buf, sizeof buf, 0); /* signature */
        int el = zmq_recv(r, buf, sizeof buf, 0);
        Syw__Envelope *got = syw__envelope__unpack(NULL, (size_t)el, (uint8_t *)buf);
        more = 1;
        while (more) {
            sz = sizeof more;
            zmq_getsockopt(r, ZMQ_RCVMORE, &more, &sz);
            if (more) zmq_recv(r, buf, sizeof buf, 0);
        }
        if (got && got->cmd_case == SYW__ENVELOPE__CMD_HELLO) {
            rehello = true;
            assert_false(l2 == l1 && memcmp(rid1, rid2, (size_t)l1) == 0); /* fresh socket */
        }
        if (got) syw__envelope__free_unpacked(got, NULL);
    }
    assert_true(rehello);
    int64_t took = h_now_ms() - t0;
    assert_true(took >= 250 && took < 3000); /* after 3 x 100 ms of silence + back-off */
    h_kill(w);
    zmq_close(r);
    zmq_ctx_term(ctx);
}

int main(void)
{
    common_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_raw_lease_protocol),
        cmocka_unit_test(test_worker_reconnects_silent_broker),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
