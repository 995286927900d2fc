/* Fuzz targets for the ASL parser/validator and JSONPath. With -DSY_FUZZ=ON
 * (clang) this is a libFuzzer binary; otherwise main() replays the seeds
 * given on the command line plus pseudo-random mutations of them. */
#include "asl/asl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *d = sy_asl_validate((const char *)data, size, SY_ASL_VALIDATE_RESOURCES);
    json_decref(d);
    sy_asl_def_t *def = sy_asl_def_parse((const char *)data, size, 0, NULL);
    sy_asl_def_destroy(&def);
    char *p = malloc(size + 2);
    p[0] = '$';
    memcpy(p + 1, data, size);
    p[size + 1] = 0;
    json_t *doc = json_pack("{s:[i,{s:s}],s:{s:i}}", "a", 1, "b", "c", "x", "y", 2), *out = NULL;
    char *err = NULL;
    sy_asl_path_eval(p, doc, doc, &out, &err);
    json_decref(out);
    free(err);
    json_decref(doc);
    free(p);
    return 0;
}

#ifndef SY_FUZZ_LIBFUZZER
int main(int argc, char **argv)
{
    unsigned seed = 12345;
    int runs = 0;
    for (int i = 1; i < argc; i++) {
        FILE *f = fopen(argv[i], "rb");
        if (!f)
            continue;
        char buf[65536];
        size_t n = fread(buf, 1, sizeof buf, f);
        fclose(f);
        LLVMFuzzerTestOneInput((const uint8_t *)buf, n);
        runs++;
        for (int m = 0; m < 200 && n > 0; m++) {
            char mut[65536];
            memcpy(mut, buf, n);
            size_t len = n;
            for (int k = 0; k < 4; k++) {
                seed = seed * 1103515245u + 12345u;
                size_t pos = (seed >> 8) % len;
                int op = (int)((seed >> 4) % 3);
                if (op == 0)
                    mut[pos] = (char)(seed >> 16);
                else if (op == 1 && len > 1)
                    len = pos + 1;
                else
                    mut[pos] = "{}[]\":,$.*?@'()"[(seed >> 12) % 15];
            }
            LLVMFuzzerTestOneInput((const uint8_t *)mut, len);
            runs++;
        }
    }
    printf("fuzz replay: %d inputs\n", runs);
    return runs > 0 ? 0 : 1;
}
#endif
