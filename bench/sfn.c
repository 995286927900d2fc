/* bench/sfn.c - Step Functions throughput over keep-alive HTTP (libcurl).
 * usage: bench-sfn URL [--clients C] [--seconds S]
 *  (a) 10-state Pass/Choice chain, EXPRESS, StartSyncExecution: executions/s,
 *      transitions/s, p50/p99 latency (one client, then C clients)
 *  (b) the same chain, STANDARD, StartExecution (durable: each execution's
 *      checkpoint and history committed before the reply), C clients
 *  (c) with --fn NAME: a 3-task workflow (Task -> Task -> Task, each the
 *      function NAME on real `switchyard worker` processes): EXPRESS via
 *      StartSyncExecution (C clients), and STANDARD (C clients start
 *      executions for S seconds; executions/s = completed / time until the
 *      last one finished)
 *  (d) a Map of 1,000 inline Pass items, MaxConcurrency 50: EXPRESS sync and
 *      STANDARD (start -> SUCCEEDED) wall time
 *  with --pg CONNINFO (the broker's database): PostgreSQL's commits and WAL
 *      syncs (fsyncs) per execution of (b) and (c), and the in-run peers:
 *      plain SQL through libpq with the same clients and durability,
 *      (b) one INSERT of the execution's final state per transaction, (c) a
 *      workflow that commits each step alone: 4 one-row INSERT transactions
 *      per execution (start, three task results)
 *  (p) STANDARD chain of 100 Pass states, StartExecution, C clients:
 *      executions/s, transitions/s (100 an execution), commits and WAL
 *      syncs per execution
 *  --only LETTERS: run only these cases (a b c d p, x = (c)'s EXPRESS half)
 * Last line: one JSON object of figures. */
#include <curl/curl.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *url;
static int clients = 8;
static const char *fn_name; /* (c): the function the workers run */
static double seconds = 5;
static const char *only = "abcdpx";
static int c_clients; /* --c-clients: (c)'s starting clients (default --clients) */
static const char *pg_conninfo; /* --pg: counters and the plain-SQL peers */ /* --only: the cases to run */
#define RUN(k) (strchr(only, k) != NULL)

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

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
    if (!r) fprintf(stderr, "%s failed: %ld %s\n", action, code, b.p ? b.p : curl_easy_strerror(rc));
    free(b.p);
    return r;
}

static char *chain_def(void)
{
    json_t *st = json_object();
    for (int i = 0; i < 10; i++) {
        char n[16], nx[16];
        snprintf(n, sizeof n, "S%d", i);
        snprintf(nx, sizeof nx, "S%d", i + 1);
        json_t *s;
        if (i % 2) {
            s = json_pack("{s:s,s:[{s:s,s:i,s:s}],s:s}", "Type", "Choice", "Choices", "Variable", "$.x",
                          "NumericGreaterThanEquals", 0, "Next", i == 9 ? "Done" : nx, "Default", "Done");
        } else {
            s = json_pack("{s:s,s:i,s:s}", "Type", "Pass", "Result", i, "ResultPath", "$.r");
            json_object_set_new(s, "Next", json_string(nx));
        }
        json_object_set_new(st, n, s);
    }
    json_object_set_new(st, "Done", json_pack("{s:s}", "Type", "Succeed"));
    json_t *d = json_pack("{s:s,s:o}", "StartAt", "S0", "States", st);
    char *t = json_dumps(d, JSON_COMPACT);
    json_decref(d);
    return t;
}

/* (p) PASS_N Pass states in a row (one transition each) */
#define PASS_N 100
static char *pass_def(void)
{
    json_t *st = json_object();
    for (int i = 0; i < PASS_N; i++) {
        char n[16], nx[16];
        snprintf(n, sizeof n, "P%d", i);
        snprintf(nx, sizeof nx, "P%d", i + 1);
        json_t *s = json_pack("{s:s,s:i,s:s}", "Type", "Pass", "Result", i, "ResultPath", "$.r");
        if (i + 1 < PASS_N) json_object_set_new(s, "Next", json_string(nx));
        else json_object_set_new(s, "End", json_true());
        json_object_set_new(st, n, s);
    }
    json_t *d = json_pack("{s:s,s:o}", "StartAt", "P0", "States", st);
    char *t = json_dumps(d, JSON_COMPACT);
    json_decref(d);
    return t;
}

static char *tasks_def(const char *fn)
{
    char *arn = NULL;
    if (asprintf(&arn, "arn:aws:lambda:us-east-1:000000000000:function:%s", fn) < 0) return NULL;
    json_t *d = json_pack("{s:s,s:{s:{s:s,s:s,s:s},s:{s:s,s:s,s:s},s:{s:s,s:s,s:b}}}", "StartAt", "T1", "States",
                          "T1", "Type", "Task", "Resource", arn, "Next", "T2",
                          "T2", "Type", "Task", "Resource", arn, "Next", "T3",
                          "T3", "Type", "Task", "Resource", arn, "End", 1);
    char *t = json_dumps(d, JSON_COMPACT);
    json_decref(d);
    free(arn);
    return t;
}

static char *map_def(void)
{
    return strdup("{\"StartAt\":\"M\",\"States\":{\"M\":{\"Type\":\"Map\",\"MaxConcurrency\":50,\"ItemsPath\":\"$.items\","
                  "\"ItemProcessor\":{\"ProcessorConfig\":{\"Mode\":\"INLINE\"},\"StartAt\":\"P\",\"States\":{\"P\":"
                  "{\"Type\":\"Pass\",\"End\":true}}},\"End\":true}}}");
}

static char *create(CURL *c, const char *name, const char *type, const char *def)
{
    json_t *b = json_pack("{s:s,s:s,s:s,s:s}", "name", name, "definition", def, "roleArn",
                          "arn:aws:iam::000000000000:role/bench", "type", type);
    json_t *r = call(c, "CreateStateMachine", b);
    json_decref(b);
    char *arn = r ? strdup(json_string_value(json_object_get(r, "stateMachineArn"))) : NULL;
    json_decref(r);
    return arn;
}

typedef struct {
    const char *sm;
    const char *action;
    int64_t deadline;
    int64_t n, errs;
    int64_t *lat;
    size_t nlat, cap;
    json_t *arns; /* StartExecution: the started executions */
} job_t;

static void *worker(void *arg)
{
    job_t *j = arg;
    CURL *c = curl_easy_init();
    json_t *b = json_pack("{s:s,s:s}", "stateMachineArn", j->sm, "input", "{\"x\":1}");
    while (now_us() < j->deadline) {
        int64_t t0 = now_us();
        json_t *r = call(c, j->action, b);
        int64_t dt = now_us() - t0;
        if (r && j->arns) json_array_append(j->arns, json_object_get(r, "executionArn"));
        if (!r || (json_object_get(r, "status") && strcmp(json_string_value(json_object_get(r, "status")), "SUCCEEDED"))) j->errs++;
        else j->n++;
        json_decref(r);
        if (j->nlat == j->cap) {
            j->cap = j->cap ? j->cap * 2 : 4096;
            j->lat = realloc(j->lat, j->cap * sizeof *j->lat);
        }
        j->lat[j->nlat++] = dt;
    }
    json_decref(b);
    curl_easy_cleanup(c);
    return NULL;
}

static int cmp(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* Run n clients for `seconds`; returns executions/s; p50/p99 in ms. With
 * arns, the started executions' ARNs are appended to it. */
static double run_ex(const char *sm, const char *action, int n, double *p50, double *p99, int64_t *errs,
                     json_t *arns)
{
    job_t *js = calloc((size_t)n, sizeof *js);
    pthread_t *th = calloc((size_t)n, sizeof *th);
    int64_t t0 = now_us();
    for (int i = 0; i < n; i++) {
        js[i] = (job_t){.sm = sm, .action = action, .deadline = t0 + (int64_t)(seconds * 1e6),
                        .arns = arns ? json_array() : NULL};
        pthread_create(&th[i], NULL, worker, &js[i]);
    }
    int64_t total = 0, all_n = 0;
    *errs = 0;
    for (int i = 0; i < n; i++) {
        pthread_join(th[i], NULL);
        total += js[i].n;
        *errs += js[i].errs;
        all_n += (int64_t)js[i].nlat;
        if (arns) {
            json_array_extend(arns, js[i].arns);
            json_decref(js[i].arns);
        }
    }
    double el = (double)(now_us() - t0) / 1e6;
    int64_t *lat = malloc((size_t)(all_n ? all_n : 1) * sizeof *lat), k = 0;
    for (int i = 0; i < n; i++) {
        memcpy(lat + k, js[i].lat, js[i].nlat * sizeof *lat);
        k += (int64_t)js[i].nlat;
        free(js[i].lat);
    }
    qsort(lat, (size_t)k, sizeof *lat, cmp);
    *p50 = k ? (double)lat[k / 2] / 1000.0 : 0;
    *p99 = k ? (double)lat[(k * 99) / 100] / 1000.0 : 0;
    free(lat);
    free(js);
    free(th);
    return (double)total / el;
}

static double run(const char *sm, const char *action, int n, double *p50, double *p99, int64_t *errs)
{
    return run_ex(sm, action, n, p50, p99, errs, NULL);
}

/* (c) STANDARD: start for `seconds`, then wait until every execution ended.
 * Returns completed executions per second of (last end - first start). */
static double tasks_standard(CURL *c, const char *sm, int64_t *ok_out, int64_t *bad_out, double *p50_start)
{
    double p99;
    int64_t errs;
    json_t *arns = json_array();
    int64_t t0 = now_us();
    run_ex(sm, "StartExecution", c_clients > 0 ? c_clients : clients, p50_start, &p99, &errs, arns);
    int64_t ok = 0, bad = errs;
    size_t i;
    json_t *a;
    json_array_foreach(arns, i, a) {
        json_t *q = json_pack("{s:O}", "executionArn", a);
        for (int k = 0; k < 6000; k++) {
            json_t *d = call(c, "DescribeExecution", q);
            const char *st = d ? json_string_value(json_object_get(d, "status")) : "FAILED";
            bool done = strcmp(st, "RUNNING") != 0, good = !strcmp(st, "SUCCEEDED");
            json_decref(d);
            if (done) {
                if (good) ok++;
                else bad++;
                break;
            }
            usleep(5000);
        }
        json_decref(q);
    }
    double el = (double)(now_us() - t0) / 1e6;
    json_decref(arns);
    *ok_out = ok;
    *bad_out = bad;
    return (double)ok / el;
}

/* ---------------------------------------------- PostgreSQL's own counters */
typedef struct {
    double commits, syncs, wal_bytes;
} pgstat_t;

static pgstat_t pg_counters(void)
{
    pgstat_t st = {0, 0};
    if (!pg_conninfo) return st;
    usleep(600 * 1000); /* backends report their counters at most every 500 ms when idle */
    PGconn *c = PQconnectdb(pg_conninfo);
    PGresult *r = PQexec(c, "SELECT (SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()),"
                            " (SELECT wal_sync FROM pg_stat_wal), (SELECT wal_bytes FROM pg_stat_wal)");
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1) {
        st.commits = atof(PQgetvalue(r, 0, 0));
        st.syncs = atof(PQgetvalue(r, 0, 1));
        st.wal_bytes = atof(PQgetvalue(r, 0, 2));
    }
    PQclear(r);
    PQfinish(c);
    return st;
}

/* ------------------------------------------------------ plain-SQL peers */
typedef struct {
    int steps; /* transactions per execution */
    int64_t deadline, n;
    int id;
} peer_t;

static void *peer_worker(void *arg)
{
    peer_t *p = arg;
    PGconn *c = PQconnectdb(pg_conninfo);
    PQclear(PQexec(c, "SET synchronous_commit = on"));
    const char *state = "{\"x\":1,\"r\":8,\"history\":[\"S0\",\"S1\",\"S2\",\"S3\",\"S4\",\"S5\",\"S6\",\"S7\",\"S8\",\"S9\"]}";
    char key[64];
    int64_t seq = 0;
    while (now_us() < p->deadline) {
        snprintf(key, sizeof key, "%d-%lld", p->id, (long long)seq++);
        bool ok = true;
        for (int s = 0; s < p->steps && ok; s++) {
            char step[16];
            snprintf(step, sizeof step, "%d", s);
            const char *params[] = {key, step, state};
            PGresult *r = PQexecParams(c, "INSERT INTO bench_peer_steps (exec, step, state) VALUES ($1, $2::int, $3::jsonb)",
                                       3, NULL, params, NULL, NULL, 0);
            ok = PQresultStatus(r) == PGRES_COMMAND_OK;
            if (!ok) fprintf(stderr, "peer: %s", PQerrorMessage(c));
            PQclear(r);
        }
        if (ok) p->n++;
    }
    PQfinish(c);
    return NULL;
}

/* executions/s of `clients` connections each committing `steps` one-row
 * INSERT transactions per execution (autocommit, synchronous_commit on) */
static double peer_run(int steps, pgstat_t *d)
{
    PGconn *c = PQconnectdb(pg_conninfo);
    PQclear(PQexec(c, "CREATE TABLE IF NOT EXISTS bench_peer_steps (id bigserial PRIMARY KEY, exec text NOT NULL, "
                      "step int NOT NULL, state jsonb NOT NULL); TRUNCATE bench_peer_steps"));
    pgstat_t before = pg_counters();
    peer_t *ps = calloc((size_t)clients, sizeof *ps);
    pthread_t *th = calloc((size_t)clients, sizeof *th);
    int64_t t0 = now_us();
    for (int i = 0; i < clients; i++) {
        ps[i] = (peer_t){.steps = steps, .deadline = t0 + (int64_t)(seconds * 1e6), .id = i};
        pthread_create(&th[i], NULL, peer_worker, &ps[i]);
    }
    int64_t total = 0;
    for (int i = 0; i < clients; i++) {
        pthread_join(th[i], NULL);
        total += ps[i].n;
    }
    double el = (double)(now_us() - t0) / 1e6;
    pgstat_t after = pg_counters();
    d->commits = total ? (after.commits - before.commits) / (double)total : 0;
    d->syncs = total ? (after.syncs - before.syncs) / (double)total : 0;
    PQclear(PQexec(c, "DROP TABLE bench_peer_steps"));
    PQfinish(c);
    free(ps);
    free(th);
    return (double)total / el;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench-sfn URL [--clients C] [--seconds S]\n");
        return 2;
    }
    url = argv[1];
    for (int i = 2; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--clients")) clients = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--seconds")) seconds = atof(argv[i + 1]);
        else if (!strcmp(argv[i], "--fn")) fn_name = argv[i + 1];
        else if (!strcmp(argv[i], "--only")) only = argv[i + 1];
        else if (!strcmp(argv[i], "--pg")) pg_conninfo = argv[i + 1];
        else if (!strcmp(argv[i], "--c-clients")) c_clients = atoi(argv[i + 1]);
    }
    curl_global_init(CURL_GLOBAL_ALL);
    CURL *c = curl_easy_init();
    char *chain = chain_def(), *map = map_def();
    char *ex = create(c, "bench-chain-express", "EXPRESS", chain), *std = create(c, "bench-chain-standard", "STANDARD", chain);
    char *mex = create(c, "bench-map-express", "EXPRESS", map), *mstd = create(c, "bench-map-standard", "STANDARD", map);
    if (!ex || !std || !mex || !mstd) return 1;
    const int T = 10; /* states entered per chain execution (S0..S9; Done is not reached when x >= 0) */
    double p50_1, p99_1, p50, p99, sp50, sp99;
    int64_t e1, e2, e3;
    double a1 = 0, a = 0, b = 0;
    p50_1 = p99_1 = p50 = p99 = sp50 = sp99 = 0;
    e1 = e2 = e3 = 0;
    if (RUN('a')) {
        a1 = run(ex, "StartSyncExecution", 1, &p50_1, &p99_1, &e1);
        a = run(ex, "StartSyncExecution", clients, &p50, &p99, &e2);
    }
    pgstat_t bd = {0, 0}, cd = {0, 0}, pb = {0, 0}, pc = {0, 0};
    double peer_b = 0, peer_c = 0;
    if (RUN('b')) {
        pgstat_t s0 = pg_counters();
        b = run(std, "StartExecution", clients, &sp50, &sp99, &e3);
        pgstat_t s1 = pg_counters();
        double n = b * seconds;
        if (n > 0) bd = (pgstat_t){(s1.commits - s0.commits) / n, (s1.syncs - s0.syncs) / n};
        if (pg_conninfo) peer_b = peer_run(1, &pb);
    }
    /* (p) STANDARD chain of PASS_N Pass states */
    double pexec = 0, pp50 = 0, pp99 = 0;
    int64_t perr = 0;
    pgstat_t pd = {0, 0};
    if (RUN('p')) {
        char *pdef = pass_def(), *pstd = create(c, "bench-pass-standard", "STANDARD", pdef);
        free(pdef);
        if (!pstd) return 1;
        pgstat_t s0 = pg_counters();
        pexec = run(pstd, "StartExecution", clients, &pp50, &pp99, &perr);
        pgstat_t s1 = pg_counters();
        double n = pexec * seconds;
        if (n > 0)
            pd = (pgstat_t){(s1.commits - s0.commits) / n, (s1.syncs - s0.syncs) / n, (s1.wal_bytes - s0.wal_bytes) / n};
        fprintf(stderr, "(p) standard %d Pass states, %d clients: %.0f exec/s = %.0f transitions/s (p50 %.2f ms, "
                        "%.2f commits, %.2f WAL syncs, %.1f KB of WAL an execution, errors %lld)\n", PASS_N, clients,
                pexec, pexec * PASS_N, pp50, pd.commits, pd.syncs, pd.wal_bytes / 1024, (long long)perr);
        free(pstd);
    }
    fprintf(stderr, "(a) express 1 client: %.0f exec/s p50 %.2f ms p99 %.2f ms\n", a1, p50_1, p99_1);
    fprintf(stderr, "(a) express %d clients: %.0f exec/s = %.0f transitions/s\n", clients, a, a * T);
    fprintf(stderr, "(b) standard %d clients: %.0f exec/s = %.0f transitions/s (p50 %.2f ms)\n", clients, b, b * T, sp50);
    if (pg_conninfo && RUN('b'))
        fprintf(stderr, "(b) per execution %.2f commits, %.2f WAL syncs; peer (1 INSERT a transaction): %.0f exec/s, "
                        "%.2f commits, %.2f syncs\n", bd.commits, bd.syncs, peer_b, pb.commits, pb.syncs);
    /* (c) three function tasks on real workers */
    double cx = 0, cx50 = 0, cx99 = 0, cs = 0, cs50 = 0;
    int64_t cxe = 0, csok = 0, csbad = 0;
    if (fn_name && RUN('c')) {
        char *td = tasks_def(fn_name);
        char *tex = create(c, "bench-tasks-express", "EXPRESS", td), *tstd = create(c, "bench-tasks-standard", "STANDARD", td);
        free(td);
        if (!tex || !tstd) return 1;
        if (RUN('x')) cx = run(tex, "StartSyncExecution", clients, &cx50, &cx99, &cxe);
        fprintf(stderr, "(c) 3 tasks express %d clients: %.0f exec/s p50 %.2f ms p99 %.2f ms errors %lld\n", clients, cx,
                cx50, cx99, (long long)cxe);
        pgstat_t s0 = pg_counters();
        cs = tasks_standard(c, tstd, &csok, &csbad, &cs50);
        pgstat_t s1 = pg_counters();
        if (csok > 0) cd = (pgstat_t){(s1.commits - s0.commits) / (double)csok, (s1.syncs - s0.syncs) / (double)csok};
        if (pg_conninfo) {
            peer_c = peer_run(4, &pc);
            fprintf(stderr, "(c) per execution %.2f commits, %.2f WAL syncs; peer (4 one-row transactions an "
                            "execution): %.0f exec/s, %.2f commits, %.2f syncs\n", cd.commits, cd.syncs, peer_c,
                    pc.commits, pc.syncs);
        }
        fprintf(stderr, "(c) 3 tasks standard %d clients: %.0f exec/s completed (%lld ok, %lld not), start p50 %.2f ms\n",
                c_clients > 0 ? c_clients : clients, cs, (long long)csok, (long long)csbad, cs50);
        free(tex);
        free(tstd);
    }
    /* (d) Map of 1,000 items */
    double dmx = 0, dms = 0;
    bool dmx_ok = false, dms_ok = false;
    char *in = NULL;
    if (RUN('d')) {
        json_t *items = json_array();
        for (int i = 0; i < 1000; i++) json_array_append_new(items, json_pack("{s:i}", "i", i));
        json_t *inobj = json_pack("{s:o}", "items", items);
        in = json_dumps(inobj, JSON_COMPACT);
        json_decref(inobj);
        json_t *bb = json_pack("{s:s,s:s}", "stateMachineArn", mex, "input", in);
        int64_t t0 = now_us();
        json_t *r = call(c, "StartSyncExecution", bb);
        dmx = (double)(now_us() - t0) / 1e6;
        dmx_ok = r && !strcmp(json_string_value(json_object_get(r, "status")), "SUCCEEDED");
        json_decref(r);
        json_decref(bb);
        bb = json_pack("{s:s,s:s}", "stateMachineArn", mstd, "input", in);
        t0 = now_us();
        r = call(c, "StartExecution", bb);
        if (r) {
            json_t *q = json_pack("{s:O}", "executionArn", json_object_get(r, "executionArn"));
            for (int i = 0; i < 2000; i++) {
                json_t *d = call(c, "DescribeExecution", q);
                const char *st = d ? json_string_value(json_object_get(d, "status")) : "FAILED";
                dms_ok = !strcmp(st, "SUCCEEDED");
                bool done = strcmp(st, "RUNNING") != 0;
                json_decref(d);
                if (done) break;
                usleep(2000);
            }
            json_decref(q);
        }
        dms = (double)(now_us() - t0) / 1e6;
        json_decref(r);
        json_decref(bb);
        fprintf(stderr, "(d) map 1000 items: express %.3f s, standard %.3f s\n", dmx, dms);
    }
    json_t *out = json_pack("{s:i,s:{s:f,s:f,s:f,s:f,s:f,s:f,s:I},s:{s:f,s:f,s:f,s:I},s:{s:f,s:b,s:f,s:b}}",
                            "clients", clients,
                            "a_express_chain", "executions_per_s", a, "transitions_per_s", a * T, "single_client_executions_per_s", a1,
                            "p50_ms", p50_1, "p99_ms", p99_1, "p50_ms_loaded", p50, "errors", (json_int_t)(e1 + e2),
                            "b_standard_chain", "executions_per_s", b, "transitions_per_s", b * T, "p50_ms", sp50,
                            "errors", (json_int_t)e3,
                            "d_map_1000", "express_s", dmx, "express_ok", dmx_ok, "standard_s", dms, "standard_ok", dms_ok);
    if (fn_name && RUN('c'))
        json_object_set_new(out, "c_tasks3", json_pack("{s:f,s:f,s:f,s:I,s:f,s:I,s:I}", "express_executions_per_s", cx,
                                                       "express_p50_ms", cx50, "express_p99_ms", cx99, "express_errors",
                                                       (json_int_t)cxe, "standard_executions_per_s", cs, "standard_ok",
                                                       (json_int_t)csok, "standard_not_ok", (json_int_t)csbad));
    if (RUN('p'))
        json_object_set_new(out, "p_standard_pass100", json_pack("{s:f,s:f,s:f,s:f,s:f,s:f,s:I}", "executions_per_s", pexec,
                                                                  "transitions_per_s", pexec * PASS_N, "p50_ms", pp50,
                                                                  "commits_per_execution", pd.commits,
                                                                  "wal_syncs_per_execution", pd.syncs, "wal_kb_per_execution",
                                                                  pd.wal_bytes / 1024, "errors",
                                                                  (json_int_t)perr));
    if (pg_conninfo) {
        json_t *pe = json_object();
        if (RUN('b'))
            json_object_set_new(pe, "b", json_pack("{s:f,s:f,s:f,s:f,s:f,s:f,s:f}", "standard_commits_per_execution",
                                                   bd.commits, "standard_wal_syncs_per_execution", bd.syncs,
                                                   "peer_executions_per_s", peer_b, "peer_commits_per_execution",
                                                   pb.commits, "peer_wal_syncs_per_execution", pb.syncs,
                                                   "standard_to_peer", peer_b > 0 ? b / peer_b : 0,
                                                   "express_to_standard", b > 0 ? a / b : 0));
        if (fn_name && RUN('c'))
            json_object_set_new(pe, "c", json_pack("{s:f,s:f,s:f,s:f,s:f,s:f}", "standard_commits_per_execution",
                                                   cd.commits, "standard_wal_syncs_per_execution", cd.syncs,
                                                   "peer_executions_per_s", peer_c, "peer_commits_per_execution",
                                                   pc.commits, "peer_wal_syncs_per_execution", pc.syncs,
                                                   "standard_to_peer", peer_c > 0 ? cs / peer_c : 0));
        json_object_set_new(out, "peers", pe);
    }
    char *o = json_dumps(out, JSON_COMPACT);
    printf("%s\n", o);
    free(o);
    json_decref(out);
    free(in);
    free(chain);
    free(map);
    free(ex);
    free(std);
    free(mex);
    free(mstd);
    curl_easy_cleanup(c);
    curl_global_cleanup();
    return 0;
}
