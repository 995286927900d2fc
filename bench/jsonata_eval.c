/* bench/jsonata_eval.c — evaluator micro-benchmark (asl/jsonata.h): typical
 * Step Functions expressions, compiled once, evaluated with $states bound
 * (an order of 50 lines) and no input document, as the ASL layer calls them.
 * One line per expression (evaluations/s), then one JSON object.
 * Times are CPU time of the process (the shared machine's load does not count).
 *   bench_jsonata_eval [milliseconds-per-expression [prepared]]   (bench/jsonata_eval.sh)
 * "prepared" converts the bindings once (sy_jsonata_bindings_new) instead of
 * on every call. */
#include "asl/jsonata.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* CPU time of the process: the shared machine's load does not inflate it */
static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static const char *EXPRS[][2] = {
    {"literal", "1"},
    {"field", "$states.input.order.id"},
    {"arith", "$states.input.order.total * 1.2 + 5"},
    {"object", "{'id': $states.input.order.id, 'n': $count($states.input.order.lines), 'ok': true}"},
    {"filter_sum", "$sum($states.input.order.lines[qty > 2].(qty * price))"},
    {"map_lambda", "$map($states.input.order.lines, function($l){ $l.sku & '-' & $string($l.qty) })"},
    {"condition", "$states.input.order.total > 100 ? 'big' : 'small'"},
    {"string_fns", "$uppercase($substring($states.input.order.customer, 0, 5)) & $join(['a','b','c'], ',')"},
    {"sort_group", "$states.input.order.lines^(>price){sku: qty}"},
    {"regex", "$replace($states.input.order.customer, /[aeiou]/, '*')"},
    {"block_vars", "($t := $states.input.order.total; $d := $t > 50 ? 0.1 : 0; $round($t * (1 - $d), 2))"},
};

int main(int argc, char **argv) {
    double ms = argc > 1 ? atof(argv[1]) : 300;
    json_t *lines = json_array();
    for (int i = 0; i < 50; i++)
        json_array_append_new(lines, json_pack("{s:s,s:i,s:f}", "sku", i % 2 ? "AB-1" : "CD-2", "qty", i % 7,
                                               "price", 1.5 + i));
    json_t *bind = json_pack("{s:{s:{s:{s:s,s:f,s:s,s:o}},s:{s:s}}}", "states", "input", "order", "id", "o-123",
                             "total", 123.45, "customer", "Jane Doe-Example", "lines", lines, "context", "Execution",
                             "x");
    double total_rate = 0;
    int n = (int)(sizeof EXPRS / sizeof EXPRS[0]);
    sy_jsonata_opts_t o = {.step_functions = true};
    bool prepared = argc > 2 && strcmp(argv[2], "prepared") == 0;
    sy_jsonata_bindings_t *pb = sy_jsonata_bindings_new(bind);
    for (int e = 0; e < n; e++) {
        sy_jsonata_error_t err = {.position = -1};
        sy_jsonata_t *x = sy_jsonata_compile(EXPRS[e][1], strlen(EXPRS[e][1]), &err);
        if (!x) {
            fprintf(stderr, "%s: %s\n", EXPRS[e][0], err.message);
            return 1;
        }
        long iters = 0;
        double t0 = now_s(), t1;
        do {
            for (int k = 0; k < 100; k++) {
                json_t *out = NULL;
                int rc = prepared ? sy_jsonata_eval_prepared(x, NULL, pb, &o, &out, NULL, &err)
                                  : sy_jsonata_eval(x, NULL, bind, &o, &out, &err);
                if (rc != 0) {
                    fprintf(stderr, "%s: %s\n", EXPRS[e][0], err.message);
                    return 1;
                }
                json_decref(out);
            }
            iters += 100;
            t1 = now_s();
        } while ((t1 - t0) * 1000 < ms);
        double rate = iters / (t1 - t0);
        total_rate += rate;
        printf("%-12s %10.0f evals/s  %s\n", EXPRS[e][0], rate, EXPRS[e][1]);
        sy_jsonata_free(&x);
    }
    printf("{\"bench\":\"jsonata_eval\",\"bindings\":\"%s\",\"expressions\":%d,\"mean_evals_per_s\":%.0f}\n",
           prepared ? "prepared" : "json", n, total_rate / n);
    sy_jsonata_bindings_free(&pb);
    json_decref(bind);
    return 0;
}
