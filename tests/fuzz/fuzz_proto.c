/* tests/fuzz/fuzz_proto.c - fuzz the SYW01 envelope decoder (worker/wire.c).
 * Input: 1 byte signature length n (mod 8), n bytes signature, the rest is
 * the envelope. Seeds: corpus/fuzz_proto/ (one valid message per command,
 * plus a HELLO with signature SYW02). Built with replay.c in normal builds
 * (ctest label fuzz), as a libFuzzer binary with -DSY_FUZZ=ON. */
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
