/* tests/fuzz/replay.c - the main() of a fuzz target in normal (gcc) builds:
 * runs LLVMFuzzerTestOneInput over every file of a seed corpus, then over a
 * fixed number of deterministic pseudo-random mutations of those seeds, so
 * `ctest -L fuzz` is a reproducible smoke run of each harness under ASan and
 * UBSan. The real coverage-guided fuzzers are built with -DSY_FUZZ=ON (see
 * docs/fuzzing.md).
 *
 *   <target>_replay CORPUS_DIR [ITERATIONS [SEED]]
 *   <target>_replay FILE...        (re-run given inputs, e.g. a crash file)
 *
 * With SY_FUZZ_SAVE=path every input is written there before it runs, so
 * after a crash the file holds the input that crashed. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct {
    uint8_t *data;
    size_t len;
} blob_t;

static uint64_t rng_state;
static uint64_t rnd(void)
{
    uint64_t x = rng_state; /* xorshift64* */
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    rng_state = x;
    return x * 0x2545F4914F6CDD1DULL;
}
static size_t rndn(size_t n)
{
    return n ? (size_t)(rnd() % n) : 0;
}

static const char *tokens[] = {
    "%", "%0", "%00", "%zz", "%25", "%2F", "+", "&", "=", "&&", "==", ".", ".1", ".1.", ".0.",
    ".100001.", ".99999999999999999999.", "Value.", "Name", "Entry.1.", "\\u0000", "\\ud800",
    "\\uDFFF", "\\\"", "1e999", "-0", "9223372036854775808", "[[[[[[[[", "{\"a\":", "\xff\xfe",
    "\xc3\x28", "AWS4-HMAC-SHA256 ", "Credential=", "SignedHeaders=", "Signature=", "X-Amz-",
    "/../", "//", "./", "aws4_request", ", ", ";", "\n", "\t", " ",
};

static const char *save_path; /* $SY_FUZZ_SAVE: last input, kept for a crash */

static void run(const uint8_t *p, size_t n)
{
    if (save_path) {
        FILE *fp = fopen(save_path, "wb");
        if (fp) {
            if (n) fwrite(p, 1, n, fp);
            fclose(fp);
        }
    }
    /* an exact-size heap copy, so ASan sees any read past the input */
    uint8_t *copy = malloc(n ? n : 1);
    if (n) memcpy(copy, p, n);
    LLVMFuzzerTestOneInput(copy, n);
    free(copy);
}

static void insert(blob_t *b, size_t at, const void *p, size_t n)
{
    b->data = realloc(b->data, b->len + n + 1);
    memmove(b->data + at + n, b->data + at, b->len - at);
    memcpy(b->data + at, p, n);
    b->len += n;
}

static void mutate(blob_t *b, const blob_t *seeds, size_t nseeds)
{
    int rounds = 1 + (int)rndn(6);
    for (int r = 0; r < rounds; r++) {
        size_t at = rndn(b->len + 1);
        switch (rndn(9)) {
        case 0: if (b->len) b->data[rndn(b->len)] ^= (uint8_t)(1u << rndn(8)); break;
        case 1: if (b->len) b->data[rndn(b->len)] = (uint8_t)rnd(); break;
        case 2: { uint8_t c = (uint8_t)rnd(); insert(b, at, &c, 1); break; }
        case 3: { /* delete a range */
            size_t n = rndn(b->len - (at < b->len ? at : b->len) + 1);
            if (at < b->len) {
                memmove(b->data + at, b->data + at + n, b->len - at - n);
                b->len -= n;
            }
            break;
        }
        case 4: { /* duplicate a range */
            if (!b->len) break;
            size_t from = rndn(b->len), n = 1 + rndn(b->len - from);
            uint8_t *tmp = malloc(n);
            memcpy(tmp, b->data + from, n);
            insert(b, at, tmp, n);
            free(tmp);
            break;
        }
        case 5: case 6: { const char *t = tokens[rndn(sizeof tokens / sizeof *tokens)];
            insert(b, at, t, strlen(t)); break; }
        case 7: { /* splice a piece of another seed */
            const blob_t *o = &seeds[rndn(nseeds)];
            if (!o->len) break;
            size_t from = rndn(o->len), n = 1 + rndn(o->len - from);
            insert(b, at, o->data + from, n);
            break;
        }
        case 8: if (at < b->len) b->len = at; break; /* truncate */
        }
    }
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int load(const char *path, blob_t *b)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) return -1;
    b->data = NULL;
    b->len = 0;
    uint8_t buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, fp)) > 0) insert(b, b->len, buf, n);
    fclose(fp);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR [ITERATIONS [SEED]] | FILE...\n", argv[0]);
        return 2;
    }
    save_path = getenv("SY_FUZZ_SAVE");
    struct stat st;
    if (stat(argv[1], &st) == 0 && !S_ISDIR(st.st_mode)) {
        for (int i = 1; i < argc; i++) {
            blob_t b;
            if (load(argv[i], &b) != 0) {
                perror(argv[i]);
                return 2;
            }
            run(b.data, b.len);
            free(b.data);
            printf("ran %s\n", argv[i]);
        }
        return 0;
    }
    long iters = argc > 2 ? atol(argv[2]) : 2000;
    rng_state = argc > 3 ? strtoull(argv[3], NULL, 0) : 0x5EEDC0FFEEULL;
    if (!rng_state) rng_state = 1;
    DIR *d = opendir(argv[1]);
    if (!d) {
        perror(argv[1]);
        return 2;
    }
    char **names = NULL;
    size_t nn = 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.') continue;
        names = realloc(names, (nn + 1) * sizeof *names);
        size_t l = strlen(argv[1]) + strlen(e->d_name) + 2;
        names[nn] = malloc(l);
        snprintf(names[nn], l, "%s/%s", argv[1], e->d_name);
        nn++;
    }
    closedir(d);
    if (!nn) {
        fprintf(stderr, "%s: empty corpus\n", argv[1]);
        return 2;
    }
    qsort(names, nn, sizeof *names, cmp_str); /* readdir order is not stable */
    blob_t *seeds = calloc(nn, sizeof *seeds);
    for (size_t i = 0; i < nn; i++) {
        if (load(names[i], &seeds[i]) != 0) {
            perror(names[i]);
            return 2;
        }
        run(seeds[i].data, seeds[i].len);
    }
    for (long i = 0; i < iters; i++) {
        const blob_t *s = &seeds[rndn(nn)];
        blob_t b = {malloc(s->len + 1), s->len};
        if (s->len) memcpy(b.data, s->data, s->len);
        mutate(&b, seeds, nn);
        run(b.data, b.len);
        free(b.data);
    }
    printf("%zu seeds, %ld mutations: ok\n", nn, iters);
    for (size_t i = 0; i < nn; i++) {
        free(seeds[i].data);
        free(names[i]);
    }
    free(seeds);
    free(names);
    return 0;
}
