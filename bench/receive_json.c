/* bench/receive_json.c - the JSON 1.0 body of a ReceiveMessage response of
 * ten 256-byte messages, built the two ways queue/api_messages.c can:
 * a json_t tree dumped by jansson (what the JSON path did before, what the
 * query path still builds for its XML) and written straight into the body
 * (resp_message with a buffer). CPU per message of each, in one process.
 * Last line: one JSON object. usage: bench_receive_json [rounds] */
#include "core/core.h"
#include "queue/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double cpu_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* µs a message to build `rounds` responses of 10 messages, each way */
static void run(int rounds, json_t *sys_names, double *tree_us, double *direct_us, size_t *bytes)
{
    char body[257];
    for (int i = 0; i < 256; i++) body[i] = (char)('a' + i % 26);
    body[256] = 0;
    sy_queue_t q = {.id = 42};
    leased_t l = {.id = 123456, .receipt = "0b5e2f1c-4c47-4a7e-9a55-0d0c0c3b8a11", .body = body,
                  .md5_body = "d41d8cd98f00b204e9800998ecf8427e", .receive_count = 1,
                  .sent_ms = 1765000000000, .first_ms = 1765000000500, .sender_id = "AIDAEXAMPLE"};
    snprintf(l.uuid, sizeof l.uuid, "8f1d2c1e-0000-4000-8000-000000000000");
    size_t sum = 0;
    double t0 = cpu_s();
    for (int k = 0; k < rounds; k++) {
        json_t *msgs = json_array();
        for (int i = 0; i < 10; i++) {
            resp_msg_t o = {.obj = json_object()};
            resp_message(&o, &l, &q, sys_names, NULL);
            json_array_append_new(msgs, o.obj);
        }
        json_t *out = json_object();
        json_object_set(out, "Messages", msgs);
        json_decref(msgs);
        char *s = sy_json_dumps(out);
        sum += strlen(s);
        free(s);
        json_decref(out);
    }
    double t1 = cpu_s();
    sy_buf_t b;
    sy_buf_init(&b);
    for (int k = 0; k < rounds; k++) {
        sy_buf_reset(&b);
        sy_buf_puts(&b, "{\"Messages\":[");
        for (int i = 0; i < 10; i++) {
            if (i) sy_buf_putc(&b, ',');
            resp_msg_t o = {.b = &b};
            resp_message(&o, &l, &q, sys_names, NULL);
        }
        sy_buf_puts(&b, "]}");
        sum -= b.len; /* the same bytes both ways: sum ends at 0 */
    }
    double t2 = cpu_s();
    sy_buf_free(&b);
    *tree_us = (t1 - t0) / rounds / 10 * 1e6;
    *direct_us = (t2 - t1) / rounds / 10 * 1e6;
    *bytes = sum;
}

int main(int argc, char **argv)
{
    int rounds = argc > 1 ? atoi(argv[1]) : 200000;
    json_t *none = json_array(), *all = json_loads("[\"All\"]", 0, NULL);
    double t0, d0, t1, d1;
    size_t b0, b1;
    run(rounds, none, &t0, &d0, &b0);
    run(rounds, all, &t1, &d1, &b1);
    if (b0 || b1) {
        fprintf(stderr, "the two encodings differ in length\n");
        return 1;
    }
    printf("no attributes:  json_t + dump %.2f us a message, direct %.2f us\n", t0, d0);
    printf("All attributes: json_t + dump %.2f us a message, direct %.2f us\n", t1, d1);
    printf("{\"tree_us_per_msg\":%.3f,\"direct_us_per_msg\":%.3f,\"tree_all_attrs_us_per_msg\":%.3f,"
           "\"direct_all_attrs_us_per_msg\":%.3f,\"rounds\":%d}\n",
           t0, d0, t1, d1, rounds);
    json_decref(none);
    json_decref(all);
    return 0;
}
