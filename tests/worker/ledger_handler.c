/* tests/worker/ledger_handler.c - a C handler that writes down every run:
 * one line per invocation (its request id and the event, newlines
 * flattened) appended to the file named by SY_LEDGER in the worker's
 * environment, with one write(2) on an O_APPEND descriptor so lines from
 * concurrent slots and workers never mix. The fleet tests count from it
 * what ran, and how often. {"sleep_ms": N} in the event sleeps first. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "switchyard/handler.h"

int ledger(const sy_handler_ctx_t *ctx, const char *event, size_t len)
{
    const char *sl = strstr(event, "\"sleep_ms\"");
    if (sl && (sl = strchr(sl, ':'))) usleep((useconds_t)atoi(sl + 1) * 1000);
    const char *path = getenv("SY_LEDGER");
    if (path) {
        size_t n = strlen(ctx->request_id) + len + 3;
        char *line = malloc(n);
        if (!line) return 1;
        int k = snprintf(line, n, "%s ", ctx->request_id);
        for (size_t i = 0; i < len; i++) line[k++] = event[i] == '\n' || event[i] == '\r' ? ' ' : event[i];
        line[k++] = '\n';
        int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0 || write(fd, line, (size_t)k) != k) {
            free(line);
            if (fd >= 0) close(fd);
            ctx->fail(ctx, "LedgerError", "could not write the ledger");
            return 1;
        }
        close(fd);
        free(line);
    }
    ctx->respond(ctx, event, len);
    return 0;
}
