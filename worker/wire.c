/* worker/wire.c - SYW01 framing: signature frame, protobuf-c envelope, raw
 * payload frames. The payload is never copied into the protobuf. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "worker/internal.h"

#define SIG_LEN 5 /* "SYW01" */
#define MAX_ENVELOPE (64 * 1024)

const char *wk_cmd_name(int c)
{
    static const char *names[] = {"NONE",    "HELLO",   "WELCOME", "CREDIT",    "DELIVER",
                                  "ACK",     "RELEASE", "EXTEND",  "CANCEL",    "HEARTBEAT",
                                  "DRAINING", "GOODBYE", "DISCONNECT"};
    return c >= 0 && c <= 12 ? names[c] : "UNKNOWN";
}

static bool nonempty(const char *s)
{
    return s && *s;
}

/* Semantic checks the generated decoder cannot make. */
static int validate(const Syw__Envelope *e)
{
    switch (e->cmd_case) {
    case SYW__ENVELOPE__CMD_HELLO:
        if (!e->hello || !nonempty(e->hello->worker_id)) return WK_WIRE_BAD;
        for (size_t i = 0; i < e->hello->n_functions; i++) {
            const Syw__FunctionSpec *f = e->hello->functions[i];
            if (!f || !nonempty(f->name) || strlen(f->name) > 140 || f->max_concurrency == 0)
                return WK_WIRE_BAD;
        }
        return e->hello->n_functions > 0 && e->hello->n_functions <= 1024 ? WK_WIRE_OK : WK_WIRE_BAD;
    case SYW__ENVELOPE__CMD_WELCOME:
        return e->welcome && e->welcome->heartbeat_ivl_ms > 0 && e->welcome->liveness > 0
                   ? WK_WIRE_OK
                   : WK_WIRE_BAD;
    case SYW__ENVELOPE__CMD_CREDIT:
        return e->credit && nonempty(e->credit->function) ? WK_WIRE_OK : WK_WIRE_BAD;
    case SYW__ENVELOPE__CMD_DELIVER:
        return e->deliver && e->deliver->delivery_id && nonempty(e->deliver->function)
                   ? WK_WIRE_OK
                   : WK_WIRE_BAD;
    case SYW__ENVELOPE__CMD_ACK:
        if (!e->ack) return WK_WIRE_BAD;
        return e->ack->delivery_id || nonempty(e->ack->lease_token) ? WK_WIRE_OK : WK_WIRE_BAD;
    case SYW__ENVELOPE__CMD_RELEASE:
        if (!e->release) return WK_WIRE_BAD;
        return e->release->delivery_id || nonempty(e->release->lease_token) ? WK_WIRE_OK
                                                                            : WK_WIRE_BAD;
    case SYW__ENVELOPE__CMD_EXTEND:
        return e->extend && (e->extend->delivery_id || nonempty(e->extend->lease_token))
                   ? WK_WIRE_OK
                   : WK_WIRE_BAD;
    case SYW__ENVELOPE__CMD_CANCEL:
        return e->cancel && e->cancel->delivery_id ? WK_WIRE_OK : WK_WIRE_BAD;
    case SYW__ENVELOPE__CMD_HEARTBEAT:
    case SYW__ENVELOPE__CMD_DRAINING:
    case SYW__ENVELOPE__CMD_GOODBYE:
    case SYW__ENVELOPE__CMD_DISCONNECT:
        return WK_WIRE_OK;
    default:
        return WK_WIRE_BAD;
    }
}

int wk_wire_decode(const void *sig, size_t sig_len, const void *env, size_t env_len,
                   Syw__Envelope **out)
{
    *out = NULL;
    if (sig_len != SIG_LEN || memcmp(sig, SY_WORKER_PROTOCOL, SIG_LEN) != 0) {
        /* Same protocol name, other version: refuse clearly. */
        if (sig_len >= 3 && memcmp(sig, "SYW", 3) == 0) return WK_WIRE_VERSION;
        return WK_WIRE_BAD;
    }
    if (env_len > MAX_ENVELOPE) return WK_WIRE_BAD;
    Syw__Envelope *e = syw__envelope__unpack(NULL, env_len, env);
    if (!e) return WK_WIRE_BAD;
    if (validate(e) != WK_WIRE_OK) {
        syw__envelope__free_unpacked(e, NULL);
        return WK_WIRE_BAD;
    }
    *out = e;
    return WK_WIRE_OK;
}

static bool more(void *sock)
{
    int m = 0;
    size_t sz = sizeof m;
    zmq_getsockopt(sock, ZMQ_RCVMORE, &m, &sz);
    return m != 0;
}

/* Read and drop the rest of a multipart message. */
static void drain_rest(void *sock)
{
    while (more(sock)) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        zmq_msg_recv(&m, sock, 0);
        zmq_msg_close(&m);
    }
}

int wk_wire_recv(void *sock, bool router, wk_frame_t *f, int flags)
{
    memset(f, 0, sizeof *f);
    zmq_msg_t m;
    if (router) {
        zmq_msg_init(&f->rid);
        if (zmq_msg_recv(&f->rid, sock, flags) < 0) {
            zmq_msg_close(&f->rid);
            return WK_WIRE_AGAIN;
        }
        f->has_rid = true;
        if (!more(sock)) return WK_WIRE_BAD;
        flags = 0; /* the rest of a message is already here */
    }
    zmq_msg_init(&m);
    if (zmq_msg_recv(&m, sock, flags) < 0) {
        zmq_msg_close(&m);
        return router ? WK_WIRE_BAD : WK_WIRE_AGAIN;
    }
    if (router) { /* the peer's Curve key as the ZAP handler named it; the routing id frame has no metadata */
        const char *user = zmq_msg_gets(&m, "User-Id");
        if (user) snprintf(f->user, sizeof f->user, "%s", user);
    }
    size_t sl = zmq_msg_size(&m);
    size_t cl = sl < sizeof f->sig - 1 ? sl : sizeof f->sig - 1;
    memcpy(f->sig, zmq_msg_data(&m), cl);
    f->sig[cl] = 0;
    zmq_msg_t e;
    zmq_msg_init(&e);
    int rc;
    if (!more(sock)) {
        rc = wk_wire_decode(zmq_msg_data(&m), sl, "", 0, &f->env);
        if (rc == WK_WIRE_OK) { /* an empty envelope is never valid */
            syw__envelope__free_unpacked(f->env, NULL);
            f->env = NULL;
            rc = WK_WIRE_BAD;
        }
    } else {
        zmq_msg_recv(&e, sock, 0);
        rc = wk_wire_decode(zmq_msg_data(&m), sl, zmq_msg_data(&e), zmq_msg_size(&e), &f->env);
        if (more(sock)) {
            zmq_msg_init(&f->body);
            zmq_msg_recv(&f->body, sock, 0);
            f->has_body = true;
        }
    }
    zmq_msg_close(&e);
    zmq_msg_close(&m);
    drain_rest(sock);
    return rc;
}

void wk_frame_close(wk_frame_t *f)
{
    if (f->has_rid) zmq_msg_close(&f->rid);
    if (f->has_body) zmq_msg_close(&f->body);
    if (f->env) syw__envelope__free_unpacked(f->env, NULL);
    memset(f, 0, sizeof *f);
}

int wk_wire_send(void *sock, const void *rid, size_t rid_len, const Syw__Envelope *env,
                 zmq_msg_t *body_msg, const void *body, size_t len, const char *sig)
{
    uint8_t stackbuf[512];
    size_t n = syw__envelope__get_packed_size(env);
    uint8_t *buf = n <= sizeof stackbuf ? stackbuf : sy_malloc(n);
    syw__envelope__pack(env, buf);
    bool has_body = body_msg || body;
    int rc = 0;
    if (!sig) sig = SY_WORKER_PROTOCOL;
    if (rid && zmq_send(sock, rid, rid_len, ZMQ_SNDMORE) < 0) {
        rc = -1;
        goto done;
    }
    /* With a routing id accepted, the remaining frames cannot fail with
     * EHOSTUNREACH: ROUTER checks the peer on the first frame only. */
    if (zmq_send(sock, sig, strlen(sig), ZMQ_SNDMORE) < 0 ||
        zmq_send(sock, buf, n, has_body ? ZMQ_SNDMORE : 0) < 0) {
        rc = -1;
        goto done;
    }
    if (body_msg) {
        if (zmq_msg_send(body_msg, sock, 0) < 0) rc = -1;
    } else if (body) {
        if (zmq_send(sock, body, len, 0) < 0) rc = -1;
    }
done:
    if (body_msg) zmq_msg_close(body_msg);
    if (buf != stackbuf) free(buf);
    return rc;
}
