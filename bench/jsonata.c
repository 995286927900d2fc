/* bench/jsonata.c - JSONata in Step Functions.
 * usage: bench-jsonata [URL] [--seconds S] [--clients C]
 *  (a) evaluations per CPU-second of typical Step Functions expressions,
 *      each compiled once and evaluated against $states bindings (in
 *      process, one thread)
 *  (b) the 10-state Pass/Choice chain of bench/sfn.c in the interpreter
 *      alone (sy_asl_exec_new .. step, history off): JSONPath and the same
 *      chain in JSONata (Output / Condition): transitions per CPU-second
 *  (c) with URL: both chains as EXPRESS state machines through
 *      StartSyncExecution, C clients for S seconds: transitions/s
 * Last line: one JSON object of figures. */
#include "asl/asl.h"
#include "asl/jsonata.h"

#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *url;
static int clients = 8;
static double seconds = 2;

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* CPU time of this thread: (a) and (b) run in one thread in process, so
 * their rates are per CPU-second (other processes on a shared machine do not
 * divide them, as in bench/jsonata_eval.c); (c) goes over HTTP: wall time. */
static int64_t cpu_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* ---- (a) expressions ---- */
static const struct {
    const char *name, *expr;
} EXPRS[] = {
    {"path", "$states.input.order.customer.name"},
    {"filter", "$states.input.order.items[price > 10].sku"},
    {"sum", "$sum($states.input.order.items.(price * qty))"},
    {"object", "{'id': $states.input.order.id, 'total': $states.input.order.total * 1.2, 'n': $count($states.input.order.items)}"},
    {"condition", "$states.input.order.total > 100 and $states.input.order.status = 'NEW'"},
    {"ternary", "$states.input.order.total > 100 ? 'big' : 'small'"},
    {"string", "$states.input.order.id & '-' & $uppercase($states.input.order.customer.name)"},
    {"map", "$map($states.input.order.items, function($i) { $i.sku & ':' & $string($i.qty) })"},
    {"merge", "$merge([$states.input.order, {'status': 'DONE', 'by': $states.context.State.Name}])"},
    {"variable", "$orderId & '/' & $string($attempt + 1)"},
    {"partition", "$partition($states.input.order.items, 2)"},
    {"sort", "$sort($states.input.order.items, function($a, $b) { $a.price > $b.price }).sku"},
};

static json_t *bindings(void)
{
    json_t *items = json_array();
    for (int i = 0; i < 8; i++) {
        char sku[16];
        snprintf(sku, sizeof sku, "SKU-%d", 100 + i);
        json_array_append_new(items, json_pack("{s:s,s:f,s:i}", "sku", sku, "price", 3.5 + 4.0 * i, "qty", 1 + i % 3));
    }
    json_t *order = json_pack("{s:s,s:s,s:f,s:{s:s,s:s},s:o}", "id", "o-1234", "status", "NEW", "total", 142.5,
                              "customer", "name", "Ada Lovelace", "phone", "+44 20 0000", "items", items);
    json_t *ctx = json_pack("{s:{s:s,s:s},s:{s:s,s:s}}", "Execution", "Id", "arn:aws:states:::execution:sm:e", "Name",
                            "e", "State", "Name", "Charge", "EnteredTime", "2026-12-07T00:00:00.000Z");
    return json_pack("{s:s,s:i,s:{s:{s:o},s:o}}", "orderId", "o-1234", "attempt", 2, "states", "input", "order",
                     order, "context", ctx);
}

static double bench_expr(const char *expr, const json_t *bind, int *errors)
{
    sy_jsonata_error_t err = {0};
    sy_jsonata_t *ex = sy_jsonata_compile(expr, strlen(expr), &err);
    if (!ex) {
        fprintf(stderr, "compile %s: %s\n", expr, err.message ? err.message : "?");
        sy_jsonata_error_clear(&err);
        (*errors)++;
        return 0;
    }
    sy_jsonata_opts_t o = {.step_functions = true};
    int64_t n = 0, c0 = cpu_us(), t0 = now_us(), end = t0 + (int64_t)(seconds * 1e6 / 4);
    while (now_us() < end) {
        for (int i = 0; i < 64; i++) {
            json_t *out = NULL;
            if (sy_jsonata_eval(ex, NULL, bind, &o, &out, &err) != 0) {
                fprintf(stderr, "eval %s: %s\n", expr, err.message ? err.message : "?");
                sy_jsonata_error_clear(&err);
                (*errors)++;
                sy_jsonata_free(&ex);
                return 0;
            }
            json_decref(out);
        }
        n += 64;
    }
    double el = (double)(cpu_us() - c0) / 1e6;
    sy_jsonata_free(&ex);
    return (double)n / el;
}

/* ---- the chains ---- */
static char *chain_def(bool jsonata)
{
    json_t *st = json_object();
    for (int i = 0; i < 10; i++) {
        char n[16], nx[16], out[96];
        snprintf(n, sizeof n, "S%d", i);
        snprintf(nx, sizeof nx, "S%d", i + 1);
        json_t *s;
        if (i % 2 && jsonata) {
            s = json_pack("{s:s,s:[{s:s,s:s}],s:s}", "Type", "Choice", "Choices", "Condition",
                          "{% $states.input.x >= 0 %}", "Next", i == 9 ? "Done" : nx, "Default", "Done");
        } else if (i % 2) {
            s = json_pack("{s:s,s:[{s:s,s:i,s:s}],s:s}", "Type", "Choice", "Choices", "Variable", "$.x",
                          "NumericGreaterThanEquals", 0, "Next", i == 9 ? "Done" : nx, "Default", "Done");
        } else if (jsonata) {
            snprintf(out, sizeof out, "{%% $merge([$states.input, {'r': %d}]) %%}", i);
            s = json_pack("{s:s,s:s,s:s}", "Type", "Pass", "Output", out, "Next", nx);
        } else {
            s = json_pack("{s:s,s:i,s:s,s:s}", "Type", "Pass", "Result", i, "ResultPath", "$.r", "Next", nx);
        }
        json_object_set_new(st, n, s);
    }
    json_object_set_new(st, "Done", json_pack("{s:s}", "Type", "Succeed"));
    json_t *d = json_pack("{s:s,s:o}", "StartAt", "S0", "States", st);
    if (jsonata)
        json_object_set_new(d, "QueryLanguage", json_string("JSONata"));
    char *t = json_dumps(d, JSON_COMPACT);
    json_decref(d);
    return t;
}

static double chain_inproc(const char *def_text, int *errors)
{
    json_t *diags = NULL;
    sy_asl_def_t *def = sy_asl_def_parse(def_text, strlen(def_text), 0, &diags);
    if (!def) {
        fprintf(stderr, "definition rejected: %s\n", json_dumps(diags, 0));
        (*errors)++;
        return 0;
    }
    json_t *in = json_pack("{s:i}", "x", 1);
    int64_t n = 0, c0 = cpu_us(), t0 = now_us(), end = t0 + (int64_t)(seconds * 1e6 / 2);
    while (now_us() < end) {
        for (int i = 0; i < 16; i++) {
            sy_asl_exec_t *x = sy_asl_exec_new(def, in, NULL, 0);
            sy_asl_exec_set_history(x, false);
            if (sy_asl_exec_step(x, NULL, NULL) != SY_ASL_SUCCEEDED)
                (*errors)++;
            sy_asl_exec_destroy(&x);
        }
        n += 16;
    }
    double el = (double)(cpu_us() - c0) / 1e6;
    json_decref(in);
    json_decref(diags);
    sy_asl_def_destroy(&def);
    return (double)n * 10 / el; /* 10 states entered per execution */
}

/* ---- (c) through the API ---- */
typedef struct {
    char *p;
    size_t n;
} buf_t;

static size_t wr(char *d, size_t s, size_t n, void *u)
{
    buf_t *b = u;
    b->p = realloc(b->p, b->n + s * n + 1);
    memcpy(b->p + b->n, d, s * n);
    b->n += s * n;
    b->p[b->n] = 0;
    return s * n;
}

static json_t *call(CURL *c, const char *action, json_t *body)
{
    char tgt[128];
    snprintf(tgt, sizeof tgt, "X-Amz-Target: AWSStepFunctions.%s", action);
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/x-amz-json-1.0");
    h = curl_slist_append(h, tgt);
    char *s = json_dumps(body, JSON_COMPACT);
    buf_t b = {0};
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, s);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, wr);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    CURLcode rc = curl_easy_perform(c);
    long code = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    curl_slist_free_all(h);
    free(s);
    json_t *r = rc == CURLE_OK && code == 200 && b.p ? json_loads(b.p, 0, NULL) : NULL;
    if (!r)
        fprintf(stderr, "%s failed: %ld %s\n", action, code, b.p ? b.p : curl_easy_strerror(rc));
    free(b.p);
    return r;
}

typedef struct {
    const char *sm;
    int64_t deadline, n, errs;
} job_t;

static void *client(void *arg)
{
    job_t *j = arg;
    CURL *c = curl_easy_init();
    json_t *b = json_pack("{s:s,s:s}", "stateMachineArn", j->sm, "input", "{\"x\":1}");
    while (now_us() < j->deadline) {
        json_t *r = call(c, "StartSyncExecution", b);
        const char *st = r ? json_string_value(json_object_get(r, "status")) : NULL;
        if (st && !strcmp(st, "SUCCEEDED"))
            j->n++;
        else
            j->errs++;
        json_decref(r);
    }
    json_decref(b);
    curl_easy_cleanup(c);
    return NULL;
}

static double chain_api(CURL *c, const char *name, const char *def, int64_t *errs)
{
    json_t *b = json_pack("{s:s,s:s,s:s,s:s}", "name", name, "definition", def, "roleArn",
                          "arn:aws:iam::000000000000:role/bench", "type", "EXPRESS");
    json_t *r = call(c, "CreateStateMachine", b);
    json_decref(b);
    if (!r) {
        (*errs)++;
        return 0;
    }
    const char *sm = json_string_value(json_object_get(r, "stateMachineArn"));
    job_t *js = calloc((size_t)clients, sizeof *js);
    pthread_t *th = calloc((size_t)clients, sizeof *th);
    int64_t t0 = now_us(), total = 0;
    for (int i = 0; i < clients; i++) {
        js[i] = (job_t){.sm = sm, .deadline = t0 + (int64_t)(seconds * 1e6)};
        pthread_create(&th[i], NULL, client, &js[i]);
    }
    for (int i = 0; i < clients; i++) {
        pthread_join(th[i], NULL);
        total += js[i].n;
        *errs += js[i].errs;
    }
    double el = (double)(now_us() - t0) / 1e6;
    free(js);
    free(th);
    json_decref(r);
    return (double)total * 10 / el;
}

int main(int argc, char **argv)
{
    int i = 1;
    if (argc > 1 && strncmp(argv[1], "--", 2) != 0)
        url = argv[i++];
    for (; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--clients"))
            clients = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--seconds"))
            seconds = atof(argv[i + 1]);
    }
    int errors = 0;
    json_t *bind = bindings(), *per = json_object();
    double total = 0;
    size_t nexpr = sizeof EXPRS / sizeof *EXPRS;
    for (size_t k = 0; k < nexpr; k++) {
        double r = bench_expr(EXPRS[k].expr, bind, &errors);
        printf("(a) %-10s %12.0f evaluations/CPU-s  %s\n", EXPRS[k].name, r, EXPRS[k].expr);
        json_object_set_new(per, EXPRS[k].name, json_integer((json_int_t)r));
        total += r > 0 ? 1.0 / r : 0;
    }
    double mean = total > 0 ? (double)nexpr / total : 0; /* harmonic mean: evaluations/s of the mix */
    printf("(a) mix        %12.0f evaluations/CPU-s (harmonic mean)\n", mean);
    char *jp = chain_def(false), *ja = chain_def(true);
    double b_jp = chain_inproc(jp, &errors), b_ja = chain_inproc(ja, &errors);
    printf("(b) in-process chain: JSONPath %.0f transitions/CPU-s, JSONata %.0f transitions/CPU-s\n", b_jp, b_ja);
    json_t *fig = json_pack("{s:s,s:{s:i,s:o},s:{s:i,s:i}}", "bench", "jsonata", "a_expressions", "mix_evaluations_per_s",
                            (json_int_t)mean, "per_expression", per, "b_interpreter_chain",
                            "jsonpath_transitions_per_s", (json_int_t)b_jp, "jsonata_transitions_per_s",
                            (json_int_t)b_ja);
    if (url) {
        curl_global_init(CURL_GLOBAL_ALL);
        CURL *c = curl_easy_init();
        int64_t errs = 0;
        char name[64];
        snprintf(name, sizeof name, "bench-chain-jsonpath-%lld", (long long)(now_us() % 1000000));
        double c_jp = chain_api(c, name, jp, &errs);
        snprintf(name, sizeof name, "bench-chain-jsonata-%lld", (long long)(now_us() % 1000000));
        double c_ja = chain_api(c, name, ja, &errs);
        printf("(c) EXPRESS chain via StartSyncExecution, %d clients: JSONPath %.0f transitions/s, JSONata %.0f "
               "transitions/s (%lld errors)\n", clients, c_jp, c_ja, (long long)errs);
        json_object_set_new(fig, "c_express_chain",
                            json_pack("{s:i,s:i,s:i,s:I}", "clients", clients, "jsonpath_transitions_per_s",
                                      (json_int_t)c_jp, "jsonata_transitions_per_s", (json_int_t)c_ja, "errors",
                                      (json_int_t)errs));
        errors += (int)errs;
        curl_easy_cleanup(c);
        curl_global_cleanup();
    }
    json_object_set_new(fig, "errors", json_integer(errors));
    char *s = json_dumps(fig, JSON_COMPACT);
    printf("%s\n", s);
    free(s);
    free(jp);
    free(ja);
    json_decref(fig);
    json_decref(bind);
    return errors ? 1 : 0;
}
