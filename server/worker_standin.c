/* server/worker_standin.c - TEMPORARY: a weak main() so the worker branch
 * links `switchyard worker ...` before server/main.c lands on main. The real
 * (strong) main in server/main.c overrides it; delete this file once merged. */
#include <stdio.h>
#include <string.h>

#include "worker/worker.h"

__attribute__((weak)) int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "worker") == 0) return sy_worker_main(argc - 1, argv + 1);
    fprintf(stderr, "usage: switchyard worker --broker ENDPOINT --function NAME=SPEC ...\n");
    return 2;
}
