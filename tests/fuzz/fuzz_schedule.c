/* tests/fuzz/fuzz_schedule.c - EventBridge schedule expressions
 * (bus/eb_schedule.c: rate() and AWS's 6-field cron()), which a client
 * reaches through PutRule's ScheduleExpression and the ticker evaluates.
 * Input: the expression text (no NUL). Oracles besides ASan/UBSan:
 *   - a refusal is ValidationException 400 "Parameter ScheduleExpression is
 *     not valid."; an accepted expression starts with rate( or cron(;
 *   - eb_schedule_next agrees with eb_schedule_parse (-1 exactly when
 *     refused, or for a cron that never fires again);
 *   - a rate's next tick is from + n * unit (scale 1) and shrinks with the
 *     test clock's scale; a cron's next tick is a whole minute after `from`,
 *     and the tick after it is later still (no firing twice);
 *   - evaluating twice gives the same tick (no hidden state).
 * Seeds: corpus/fuzz_schedule/ (AWS's documented examples; the conformance
 * corpus has no schedule expressions). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 512 || memchr(data, 0, size)) return 0;
    char *e = malloc(size + 1);
    memcpy(e, data, size);
    e[size] = 0;
    sy_err_t err = {0};
    int rc = eb_schedule_parse(e, &err);
    /* 2026-12-07T03:41:17.250Z and 2099-12-31T23:59:30Z: mid-minute, near a year end */
    static const int64_t FROM[] = {1796614877250LL, 4102444770000LL};
    if (rc != 0) {
        if (err.status != 400 || strcmp(err.code, "ValidationException") != 0 ||
            strcmp(err.message, "Parameter ScheduleExpression is not valid.") != 0)
            abort();
        for (size_t i = 0; i < 2; i++)
            if (eb_schedule_next(e, FROM[i], 1.0) != -1) abort();
        free(e);
        return 0;
    }
    bool rate = !strncmp(e, "rate(", 5);
    if (!rate && strncmp(e, "cron(", 5) != 0) abort();
    for (size_t i = 0; i < 2; i++) {
        int64_t from = FROM[i], n = eb_schedule_next(e, from, 1.0);
        if (n != eb_schedule_next(e, from, 1.0)) abort();
        if (rate) {
            int64_t d = n - from;
            if (d <= 0 || (d % 60000) != 0) abort();
            int64_t fast = eb_schedule_next(e, from, 60.0);
            if (fast - from != d / 60) abort();
            continue;
        }
        if (n == -1) continue; /* no firing within the 8 years searched */
        if (n <= from || n % 60000 != 0 || n - from > 8LL * 366 * 86400000) abort();
        int64_t again = eb_schedule_next(e, n, 1.0);
        if (again != -1 && again <= n) abort();
        /* asking from just before the tick finds that tick again */
        if (eb_schedule_next(e, n - 1000, 1.0) != n) abort();
    }
    free(e);
    return 0;
}
