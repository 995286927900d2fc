/* tests/fuzz/fuzz_split.h - the input layout of the pattern fuzzers: a mode
 * byte, then a pattern and an event separated by the first NUL (no NUL:
 * split in the middle). */
#ifndef SY_TESTS_FUZZ_SPLIT_H
#define SY_TESTS_FUZZ_SPLIT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct {
    const char *pattern, *event;
    size_t plen, elen;
} fuzz_split_t;

/* size >= 1 */
static inline fuzz_split_t fuzz_split(const uint8_t *data, size_t size)
{
    const char *rest = (const char *)data + 1;
    size_t n = size - 1;
    const char *nul = memchr(rest, 0, n);
    size_t plen = nul ? (size_t)(nul - rest) : n / 2;
    fuzz_split_t s = {rest, rest + plen + (nul ? 1 : 0), plen, n - plen - (nul ? 1 : 0)};
    return s;
}

#endif
