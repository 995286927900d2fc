/* tests/unit/test_metrics.c - counters, gauges, histograms and their
 * Prometheus text rendering; concurrent increments are not lost. The
 * registry is process-wide, so each test uses its own metric names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/core.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static char *render(void)
{
    sy_buf_t b;
    sy_buf_init(&b);
    sy_metrics_render(&b);
    char *s = b.data ? b.data : sy_strdup("");
    return s;
}

static void assert_has(const char *text, const char *needle)
{
    if (!strstr(text, needle)) fail_msg("missing in /metrics output: %s\n---\n%s", needle, text);
}

static void assert_lacks(const char *text, const char *needle)
{
    if (strstr(text, needle)) fail_msg("unexpected in /metrics output: %s", needle);
}

static void test_counter(void **state)
{
    (void)state;
    sy_metric_inc("t_requests_total", "service=\"sqs\",code=\"200\"", 1);
    sy_metric_inc("t_requests_total", "service=\"sqs\",code=\"200\"", 2);
    sy_metric_inc("t_requests_total", "service=\"sns\",code=\"400\"", 1);
    sy_metric_inc("t_requests_total", "service=\"sns\",code=\"400\"", -5); /* ignored */
    sy_metric_inc("t_plain_total", NULL, 0.5);
    sy_metric_inc("t_plain_total", "", 0.25);
    char *s = render();
    assert_has(s, "# HELP t_requests_total ");
    assert_has(s, "# TYPE t_requests_total counter\n");
    assert_has(s, "\nt_requests_total{service=\"sqs\",code=\"200\"} 3\n");
    assert_has(s, "\nt_requests_total{service=\"sns\",code=\"400\"} 1\n");
    assert_has(s, "# TYPE t_plain_total counter\nt_plain_total 0.75\n");
    /* one HELP/TYPE per family, series of a family kept together and sorted */
    const char *a = strstr(s, "# TYPE t_requests_total");
    assert_null(strstr(a + 1, "# TYPE t_requests_total"));
    const char *sns = strstr(s, "t_requests_total{service=\"sns\"");
    const char *sqs = strstr(s, "t_requests_total{service=\"sqs\"");
    assert_true(a < sns && sns < sqs);
    free(s);
}

static void test_gauge(void **state)
{
    (void)state;
    sy_metric_set("t_queue_depth", "queue=\"orders\"", 42);
    sy_metric_set("t_queue_depth", "queue=\"orders\"", 7);
    sy_metric_set("t_temperature", NULL, -1.5);
    sy_metric_set("t_ratio", NULL, 0.1);
    char *s = render();
    assert_has(s, "# TYPE t_queue_depth gauge\nt_queue_depth{queue=\"orders\"} 7\n");
    assert_has(s, "\nt_temperature -1.5\n");
    assert_has(s, "\nt_ratio 0.1\n");
    free(s);
}

static void test_histogram(void **state)
{
    (void)state;
    const char *l = "action=\"SendMessage\"";
    sy_metric_observe("t_latency_seconds", l, 0.0001); /* first bucket */
    sy_metric_observe("t_latency_seconds", l, 0.0005); /* le is inclusive */
    sy_metric_observe("t_latency_seconds", l, 0.003);
    sy_metric_observe("t_latency_seconds", l, 1);
    sy_metric_observe("t_latency_seconds", l, 99); /* +Inf only */
    sy_metric_observe("t_latency_seconds", NULL, 0.02);
    char *s = render();
    assert_has(s, "# TYPE t_latency_seconds histogram\n");
    assert_has(s, "t_latency_seconds_bucket{action=\"SendMessage\",le=\"0.0005\"} 2\n");
    assert_has(s, "t_latency_seconds_bucket{action=\"SendMessage\",le=\"0.001\"} 2\n");
    assert_has(s, "t_latency_seconds_bucket{action=\"SendMessage\",le=\"0.0025\"} 2\n");
    assert_has(s, "t_latency_seconds_bucket{action=\"SendMessage\",le=\"0.005\"} 3\n");
    assert_has(s, "t_latency_seconds_bucket{action=\"SendMessage\",le=\"0.5\"} 3\n");
    assert_has(s, "t_latency_seconds_bucket{action=\"SendMessage\",le=\"1\"} 4\n");
    assert_has(s, "t_latency_seconds_bucket{action=\"SendMessage\",le=\"10\"} 4\n");
    assert_has(s, "t_latency_seconds_bucket{action=\"SendMessage\",le=\"+Inf\"} 5\n");
    assert_has(s, "t_latency_seconds_sum{action=\"SendMessage\"} 100.0036\n");
    assert_has(s, "t_latency_seconds_count{action=\"SendMessage\"} 5\n");
    assert_has(s, "t_latency_seconds_bucket{le=\"0.01\"} 0\n");
    assert_has(s, "t_latency_seconds_bucket{le=\"0.025\"} 1\n");
    assert_has(s, "t_latency_seconds_count 1\n");
    assert_has(s, "t_latency_seconds_sum 0.02\n");
    free(s);
}

static void test_refused(void **state)
{
    (void)state;
    sy_metric_inc("t_kind_total", NULL, 1);
    sy_metric_set("t_kind_total", NULL, 100);     /* type conflict: ignored */
    sy_metric_observe("t_kind_total", "a=\"b\"", 1); /* also for a new series */
    sy_metric_inc("9bad", NULL, 1);
    sy_metric_inc("bad-name", NULL, 1);
    sy_metric_inc("", NULL, 1);
    sy_metric_inc("t_nl_total", "a=\"x\"\nevil 1", 1);
    sy_metric_inc("t_nan_total", NULL, NAN);
    char *s = render();
    assert_has(s, "\nt_kind_total 1\n");
    assert_lacks(s, "t_kind_total 100");
    assert_lacks(s, "t_kind_total_bucket");
    assert_lacks(s, "t_kind_total{a=");
    assert_lacks(s, "9bad");
    assert_lacks(s, "bad-name");
    assert_lacks(s, "evil");
    assert_lacks(s, "NaN");
    /* every line is a comment or "name[{labels}] value" */
    for (char *line = strtok(s, "\n"); line; line = strtok(NULL, "\n")) {
        if (line[0] == '#') {
            assert_true(strncmp(line, "# HELP ", 7) == 0 || strncmp(line, "# TYPE ", 7) == 0);
            continue;
        }
        char *sp = strrchr(line, ' ');
        assert_non_null(sp);
        char *end;
        strtod(sp + 1, &end);
        if (*end && strcmp(sp + 1, "+Inf") != 0) fail_msg("bad value in line: %s", line);
    }
    free(s);
}

#define NTHREADS 4
#define NITER 20000

static void *hammer(void *arg)
{
    (void)arg;
    for (int i = 0; i < NITER; i++) {
        sy_metric_inc("t_hammer_total", NULL, 1);
        char l[32];
        snprintf(l, sizeof l, "k=\"%d\"", i % 50); /* registration races too */
        sy_metric_inc("t_hammer_labeled_total", l, 1);
        sy_metric_observe("t_hammer_seconds", NULL, 0.001);
    }
    return NULL;
}

static void test_concurrent(void **state)
{
    (void)state;
    pthread_t th[NTHREADS];
    for (int i = 0; i < NTHREADS; i++) assert_int_equal(pthread_create(&th[i], NULL, hammer, NULL), 0);
    for (int i = 0; i < NTHREADS; i++) pthread_join(th[i], NULL);
    char *s = render();
    char want[128];
    snprintf(want, sizeof want, "\nt_hammer_total %d\n", NTHREADS * NITER);
    assert_has(s, want);
    snprintf(want, sizeof want, "\nt_hammer_seconds_count %d\n", NTHREADS * NITER);
    assert_has(s, want);
    for (int k = 0; k < 50; k++) {
        snprintf(want, sizeof want, "\nt_hammer_labeled_total{k=\"%d\"} %d\n", k, NTHREADS * NITER / 50);
        assert_has(s, want);
    }
    /* exactly 50 labeled series: no duplicate registration under the race */
    int n = 0;
    for (const char *p = s; (p = strstr(p, "\nt_hammer_labeled_total{")); p++) n++;
    assert_int_equal(n, 50);
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counter),   cmocka_unit_test(test_gauge),
        cmocka_unit_test(test_histogram), cmocka_unit_test(test_refused),
        cmocka_unit_test(test_concurrent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
