/* tests/fuzz/fuzz_sigv4.c - SigV4: Authorization header / presigned query
 * parsing and verification over a random request, plus the permissive
 * scope parser.
 *
 * Input: lines METHOD \n PATH \n QUERY \n AUTHORIZATION \n X-AMZ-DATE \n
 * HOST \n "name: value" of one more header \n, then the body (the rest,
 * any bytes). A missing line is an absent header. The clock is pinned at
 * 2026-11-25T12:18:16Z so that seeds signed at that time verify and the
 * fuzzer can reach the canonicalization and compare code. */
#include "core/core.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static sy_creds_t *creds;

static void init_creds(void)
{
    char path[] = "/tmp/sy_fuzz_creds_XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) abort();
    static const char text[] = "# fuzz keys\nAKIDSWITCHYARD01 wJalrXUtnFEMI/K7MDENG+bPxRfiCYzwitchyard\n"
                               "AKIDEXAMPLE wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY\n";
    if (write(fd, text, sizeof text - 1) != (ssize_t)(sizeof text - 1)) abort();
    close(fd);
    sy_err_t err;
    creds = sy_creds_load(path, &err);
    unlink(path);
    if (!creds) abort();
}

typedef struct {
    char *f[7];
} fields_t;

static const char *hdr(void *u, const char *lname)
{
    const fields_t *x = u;
    if (strcmp(lname, "authorization") == 0) return x->f[3];
    if (strcmp(lname, "x-amz-date") == 0) return x->f[4];
    if (strcmp(lname, "host") == 0) return x->f[5];
    if (x->f[6]) {
        const char *colon = strchr(x->f[6], ':');
        if (colon && (size_t)(colon - x->f[6]) == strlen(lname) &&
            strncasecmp(x->f[6], lname, strlen(lname)) == 0)
            return colon + 1;
    }
    return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!creds) init_creds();
    fields_t x = {{0}};
    size_t pos = 0;
    for (int i = 0; i < 7 && pos <= size; i++) {
        const uint8_t *nl = memchr(data + pos, '\n', size - pos);
        if (!nl) break;
        size_t n = (size_t)(nl - (data + pos));
        x.f[i] = sy_strndup((const char *)data + pos, n); /* a NUL inside just truncates */
        pos += n + 1;
    }
    sy_sigv4_req_t r = {
        .method = x.f[0] ? x.f[0] : "GET",
        .path = x.f[1],
        .query = x.f[2] ? x.f[2] : "",
        .body = (const char *)data + pos,
        .body_len = size - pos,
        .header = hdr,
        .u = &x,
        .now_s = 1795609096,
    };
    sy_err_t err;
    memset(&err, 0, sizeof err);
    const char *akid = NULL;
    int rc = sy_sigv4_verify(creds, &r, &akid, &err);
    if (rc == 0) {
        /* only keys in the table can ever verify */
        if (!akid || !sy_creds_secret(creds, akid)) abort();
    } else {
        if (rc >= 0 || akid || !err.code[0] || !err.message[0] || (err.status != 400 && err.status != 403))
            abort();
    }
    static int verbose = -1;
    if (verbose < 0) verbose = getenv("SY_FUZZ_VERBOSE") != NULL;
    if (verbose) fprintf(stderr, "verify: %s %s\n", rc ? err.code : "OK", rc ? err.message : akid);
    char a[64], reg[64], svc[64];
    if (x.f[3] && sy_sigv4_parse_scope(x.f[3], a, sizeof a, reg, sizeof reg, svc, sizeof svc) == 0) {
        if (!a[0] || !reg[0] || !svc[0] || strchr(a, '/') || strchr(reg, '/') || strchr(svc, '/')) abort();
    }
    for (int i = 0; i < 7; i++) free(x.f[i]);
    return 0;
}
