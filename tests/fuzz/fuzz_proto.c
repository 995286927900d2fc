/* tests/fuzz/fuzz_proto.c - fuzz the SYW01 envelope decoder.
 * Input: 1 byte signature length n (mod 8), n bytes signature, the rest is
 * the envelope. With -DSY_FUZZ=ON this is a libFuzzer target; otherwise a
 * replay main() runs built-in seeds plus deterministic pseudo-random
 * mutations of them (ctest label fuzz). `fuzz_proto --write-seeds DIR`
 * writes the seeds as a libFuzzer corpus. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "worker/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    size_t n = data[0] % 8;
    if (n > size - 1) n = size - 1;
    const uint8_t *sig = data + 1, *env = data + 1 + n;
    size_t env_len = size - 1 - n;
    Syw__Envelope *e = NULL;
    int rc = wk_wire_decode(sig, n, env, env_len, &e);
    if (rc == WK_WIRE_OK) {
        if (!e) abort();
        /* what decodes must re-encode to exactly its packed size. (Decoding
         * the re-encoding is not asserted: protobuf-c 1.4.1 keeps unknown
         * fields numbered 0, e.g. tag bytes 80 00, and re-emits them in a
         * form it then refuses. The broker never re-encodes what it got.) */
        size_t len = syw__envelope__get_packed_size(e);
        uint8_t *buf = malloc(len ? len : 1);
        if (syw__envelope__pack(e, buf) != len) abort();
        if (!wk_cmd_name(e->cmd_case)) abort();
        free(buf);
        syw__envelope__free_unpacked(e, NULL);
    } else if (e) {
        abort(); /* no envelope may leak out of a failed decode */
    }
    return 0;
}

#ifndef SY_FUZZ_LIBFUZZER
/* ---------------------------------------------------------- replay */
typedef struct {
    uint8_t *data;
    size_t len;
} seed_t;

static seed_t seeds[32];
static int nseeds;

static void add_seed(const char *sig, const Syw__Envelope *e)
{
    size_t sl = strlen(sig), el = syw__envelope__get_packed_size(e);
    seed_t *s = &seeds[nseeds++];
    s->len = 1 + sl + el;
    s->data = malloc(s->len);
    s->data[0] = (uint8_t)sl;
    memcpy(s->data + 1, sig, sl);
    syw__envelope__pack(e, s->data + 1 + sl);
}

static void make_seeds(void)
{
    Syw__Envelope e = SYW__ENVELOPE__INIT;
    Syw__FunctionSpec fs = SYW__FUNCTION_SPEC__INIT, *fsp = &fs;
    fs.name = "orders";
    fs.max_concurrency = 4;
    Syw__Hello h = SYW__HELLO__INIT;
    h.worker_id = "w1";
    h.n_functions = 1;
    h.functions = &fsp;
    e.cmd_case = SYW__ENVELOPE__CMD_HELLO;
    e.hello = &h;
    add_seed("SYW01", &e);
    add_seed("SYW02", &e);
    Syw__Welcome w = SYW__WELCOME__INIT;
    w.heartbeat_ivl_ms = 1000;
    w.liveness = 3;
    w.session_id = "s";
    e.cmd_case = SYW__ENVELOPE__CMD_WELCOME;
    e.welcome = &w;
    add_seed("SYW01", &e);
    Syw__Credit c = SYW__CREDIT__INIT;
    c.function = "orders";
    c.amount = 8;
    e.cmd_case = SYW__ENVELOPE__CMD_CREDIT;
    e.credit = &c;
    add_seed("SYW01", &e);
    Syw__Deliver d = SYW__DELIVER__INIT;
    Syw__Deliver__AttributesEntry at = SYW__DELIVER__ATTRIBUTES_ENTRY__INIT, *atp = &at;
    at.key = "k";
    at.value = "v";
    d.delivery_id = 7;
    d.lease_token = "tok";
    d.message_id = "m";
    d.function = "orders";
    d.attempt = 2;
    d.deadline_ms = 1764000000000;
    d.traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    d.n_attributes = 1;
    d.attributes = &atp;
    e.cmd_case = SYW__ENVELOPE__CMD_DELIVER;
    e.deliver = &d;
    add_seed("SYW01", &e);
    Syw__Ack a = SYW__ACK__INIT;
    a.delivery_id = 7;
    a.lease_token = "tok";
    a.outcome = SYW__OUTCOME__OUTCOME_FN_ERROR;
    a.error_type = "Sandbox.Timedout";
    a.credit = 1;
    e.cmd_case = SYW__ENVELOPE__CMD_ACK;
    e.ack = &a;
    add_seed("SYW01", &e);
    Syw__Release r = SYW__RELEASE__INIT;
    r.delivery_id = 7;
    r.delay_ms = 100;
    e.cmd_case = SYW__ENVELOPE__CMD_RELEASE;
    e.release = &r;
    add_seed("SYW01", &e);
    Syw__Extend x = SYW__EXTEND__INIT;
    x.lease_token = "tok";
    x.extend_ms = 1000;
    e.cmd_case = SYW__ENVELOPE__CMD_EXTEND;
    e.extend = &x;
    add_seed("SYW01", &e);
    Syw__Cancel cn = SYW__CANCEL__INIT;
    cn.delivery_id = 9;
    e.cmd_case = SYW__ENVELOPE__CMD_CANCEL;
    e.cancel = &cn;
    add_seed("SYW01", &e);
    Syw__Heartbeat hb = SYW__HEARTBEAT__INIT;
    e.cmd_case = SYW__ENVELOPE__CMD_HEARTBEAT;
    e.heartbeat = &hb;
    add_seed("SYW01", &e);
    Syw__Draining dr = SYW__DRAINING__INIT;
    dr.deadline_ms = 5;
    e.cmd_case = SYW__ENVELOPE__CMD_DRAINING;
    e.draining = &dr;
    add_seed("SYW01", &e);
    Syw__Goodbye gb = SYW__GOODBYE__INIT;
    e.cmd_case = SYW__ENVELOPE__CMD_GOODBYE;
    e.goodbye = &gb;
    add_seed("SYW01", &e);
    Syw__Disconnect dc = SYW__DISCONNECT__INIT;
    dc.reason = SYW__DISCONNECT_REASON__DISCONNECT_VERSION_MISMATCH;
    dc.message = "x";
    e.cmd_case = SYW__ENVELOPE__CMD_DISCONNECT;
    e.disconnect = &dc;
    add_seed("SYW01", &e);
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

int main(int argc, char **argv)
{
    make_seeds();
    if (argc == 3 && strcmp(argv[1], "--write-seeds") == 0) {
        for (int i = 0; i < nseeds; i++) {
            char path[4096];
            snprintf(path, sizeof path, "%s/seed-%02d", argv[2], i);
            FILE *f = fopen(path, "wb");
            if (!f) return 1;
            fwrite(seeds[i].data, 1, seeds[i].len, f);
            fclose(f);
        }
        return 0;
    }
    long iters = argc > 1 ? atol(argv[1]) : 200000;
    int ok_seeds = 0;
    for (int i = 0; i < nseeds; i++) {
        Syw__Envelope *e = NULL;
        size_t sl = seeds[i].data[0];
        int rc = wk_wire_decode(seeds[i].data + 1, sl, seeds[i].data + 1 + sl,
                                seeds[i].len - 1 - sl, &e);
        if (rc == WK_WIRE_OK) ok_seeds++;
        if (e) syw__envelope__free_unpacked(e, NULL);
        LLVMFuzzerTestOneInput(seeds[i].data, seeds[i].len);
    }
    /* every seed but the SYW02 one decodes: the replay starts from valid input */
    if (ok_seeds != nseeds - 1) {
        fprintf(stderr, "seed check failed: %d of %d decoded\n", ok_seeds, nseeds);
        return 1;
    }
    uint8_t buf[512];
    for (long it = 0; it < iters; it++) {
        seed_t *s = &seeds[next_rand() % (uint64_t)nseeds];
        size_t len = s->len < sizeof buf ? s->len : sizeof buf;
        memcpy(buf, s->data, len);
        int muts = 1 + (int)(next_rand() % 4);
        for (int m = 0; m < muts; m++) {
            uint64_t r = next_rand();
            switch (r % 5) {
            case 0: /* bit flip */
                if (len) buf[(r >> 8) % len] ^= (uint8_t)(1u << ((r >> 32) % 8));
                break;
            case 1: /* random byte */
                if (len) buf[(r >> 8) % len] = (uint8_t)(r >> 40);
                break;
            case 2: /* truncate */
                if (len) len = (r >> 8) % len;
                break;
            case 3: /* insert */
                if (len < sizeof buf) {
                    size_t at = len ? (r >> 8) % len : 0;
                    memmove(buf + at + 1, buf + at, len - at);
                    buf[at] = (uint8_t)(r >> 40);
                    len++;
                }
                break;
            default: /* boundary value */
                if (len) buf[(r >> 8) % len] = (r >> 40) & 1 ? 0xff : 0x80;
            }
        }
        LLVMFuzzerTestOneInput(buf, len);
    }
    printf("fuzz_proto replay: %d seeds, %ld mutations, no crash\n", nseeds, iters);
    for (int i = 0; i < nseeds; i++) free(seeds[i].data);
    return 0;
}
#endif
