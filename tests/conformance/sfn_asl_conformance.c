/* ASL conformance runner.
 *   sfn_asl_conformance exec DIR MIN_PASS_PCT      -- execution corpus
 *   sfn_asl_conformance validate DIR MIN_INVALID_PCT -- validator corpus
 *   sfn_asl_conformance results DIR RESULTS.json MIN_PASS_PCT
 *       -- outcomes recorded through the real API by sfn_asl_api.py
 * Prints "N passed, N failed, N skipped", failures grouped by feature and
 * every skip with its reason; exits 1 below the threshold. */
#include "sfn_runner.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#define SLEEP_MS 60000

typedef struct {
    json_t *c;
    json_t *hist; /* history accumulated across checkpoint reloads */
    int64_t now;
    char skip[256];
} run_t;

static const char *behaviour_of(const json_t *lambdas, const char *fn)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)lambdas, k, v)
    {
        const char *name = strstr(k, ":function:");
        name = name ? name + 10 : k;
        const char *fname = strstr(fn, ":function:");
        fname = fname ? fname + 10 : fn;
        if (!strcmp(k, fn) || !strncmp(fname, name, strlen(name)))
            return json_string_value(json_object_get(v, "behaviour"));
    }
    return NULL;
}

static json_t *invoke_wrap(json_t *payload)
{
    return json_pack("{s:s,s:o,s:{},s:{},s:i}", "ExecutedVersion", "$LATEST", "Payload", payload,
                     "SdkHttpMetadata", "SdkResponseMetadata", "StatusCode", 200);
}

static int stand_in_run(run_t *r, const sy_asl_req_t *q, bool invoke, const char *fn, const json_t *event,
                        json_t **out, char **err, char **cause);

/* Run one stand-in Lambda. Returns 0 with *out, or 1 with error/cause. */
static int stand_in(run_t *r, const sy_asl_req_t *q, json_t **out, char **err, char **cause)
{
    bool invoke = !strcmp(q->resource, "arn:aws:states:::lambda:invoke");
    const char *fn = invoke ? json_string_value(json_object_get(q->input, "FunctionName")) : q->resource;
    const json_t *event = invoke ? json_object_get(q->input, "Payload") : q->input;
    json_t *parsed = NULL;
    /* lambda:invoke sends a string Payload as the raw request body; no
     * Payload (or null) is an empty event. */
    if (invoke && json_is_string(event))
        event = parsed = json_loads(json_string_value(event), JSON_DECODE_ANY, NULL);
    if (invoke && (!event || json_is_null(event)))
        event = parsed = json_object();
    int rc = stand_in_run(r, q, invoke, fn, event, out, err, cause);
    json_decref(parsed);
    return rc;
}

static int stand_in_run(run_t *r, const sy_asl_req_t *q, bool invoke, const char *fn, const json_t *event,
                        json_t **out, char **err, char **cause)
{
    const char *b = fn ? behaviour_of(json_object_get(r->c, "lambdas"), fn) : NULL;
    *out = NULL;
    *err = *cause = NULL;
    if (!b) {
        if (invoke) {
            *err = strdup("Lambda.ResourceNotFoundException");
            if (asprintf(cause, "Function not found: arn:aws:lambda:us-east-1:111111111111:function:%s:$LATEST "
                                "(Service: AWSLambda; Status Code: 404; Error Code: ResourceNotFoundException; "
                                "Request ID: 00000000-0000-0000-0000-000000000000; Proxy: null)", fn ? fn : "") < 0)
                abort();
            return 1;
        }
        snprintf(r->skip, sizeof r->skip, "no stand-in for resource %s", q->resource);
        return -1;
    }
    json_t *res = NULL;
    if (!strncmp(b, "identity", 8)) {
        res = event ? json_deep_copy(event) : json_object();
    } else if (!strncmp(b, "constant", 8)) {
        res = json_pack("{s:s}", "Return", "HelloWorld");
    } else if (!strncmp(b, "returns the bytes", 17)) {
        res = json_string("HelloWorld!");
    } else if (!strncmp(b, "returns a 257 KiB", 17)) {
        char *s = malloc(257 * 1024 + 1);
        memset(s, 'a', 257 * 1024);
        s[257 * 1024] = 0;
        res = json_string(s);
        free(s);
    } else if (!strncmp(b, "sleeps 60", 9)) {
        if (q->timeout_s > 0 && q->timeout_s < 60) {
            r->now += q->timeout_s * 1000;
            *err = strdup("States.Timeout");
            return 1;
        }
        r->now += SLEEP_MS;
        res = event ? json_deep_copy(event) : json_object();
    } else if (strstr(b, "CustomException") || strstr(b, "Exception")) {
        const char *type = strstr(b, "CustomException") ? "CustomException" : "Exception";
        *err = strdup(type);
        json_t *c = json_pack("{s:s,s:s,s:s,s:[s]}", "errorMessage",
                              !strcmp(type, "Exception") ? "Some exception was raised." : "", "errorType", type,
                              "requestId", "00000000-0000-0000-0000-000000000000", "stackTrace",
                              "  File \"/var/task/handler.py\", line 2, in handler\n");
        *cause = json_dumps(c, JSON_COMPACT);
        json_decref(c);
        return 1;
    } else {
        snprintf(r->skip, sizeof r->skip, "unknown stand-in behaviour");
        return -1;
    }
    *out = invoke ? invoke_wrap(res) : res;
    const char *log = invoke ? json_string_value(json_object_get(q->input, "LogType")) : NULL;
    if (log && !strcmp(log, "Tail"))
        json_object_set_new(*out, "LogResult", json_string("U1RBUlQgUmVxdWVzdElkOiAwMDAw"));
    return 0;
}

static const char *status_name(sy_asl_status_t s)
{
    static const char *n[] = {"RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"};
    return n[s];
}

static json_t *context_for(const json_t *c)
{
    json_t *ctx = json_pack("{s:{s:s,s:s,s:s},s:{s:s,s:s}}", "Execution", "Id",
                            "arn:aws:states:us-east-1:111111111111:execution:sm-name:exec-name", "Name", "exec-name",
                            "RoleArn", "arn:aws:iam::111111111111:role/snf_role_arn", "StateMachine", "Id",
                            "arn:aws:states:us-east-1:111111111111:stateMachine:sm-name", "Name", "sm-name");
    const char *type = json_string_value(json_object_get(c, "state_machine_type"));
    if (type && !strcmp(type, "EXPRESS"))
        json_object_set_new(json_object_get(ctx, "Execution"), "RedriveCount", json_null());
    return ctx;
}

/* Drive one execution to the end. Returns the exec or NULL (skip set). */
static sy_asl_exec_t *drive(run_t *r, const sy_asl_def_t *def)
{
    json_t *ctx = context_for(r->c);
    r->now = 1700000000000LL;
    sy_asl_exec_t *x = sy_asl_exec_new(def, json_object_get(r->c, "input"), ctx, r->now);
    json_decref(ctx);
    for (int guard = 0; guard < 100000; guard++) {
        const sy_asl_req_t *reqs;
        size_t n;
        if (sy_asl_exec_step(x, &reqs, &n) != SY_ASL_RUNNING) {
            json_array_extend(r->hist, (json_t *)sy_asl_exec_history(x));
            return x;
        }
        /* checkpoint round trip at every wait, as the durable executor would */
        json_array_extend(r->hist, (json_t *)sy_asl_exec_history(x));
        json_t *saved = sy_asl_exec_save(x);
        sy_asl_exec_destroy(&x);
        x = sy_asl_exec_load(def, saved);
        json_decref(saved);
        sy_asl_exec_pending(x, &reqs, &n);
        if (n == 0) {
            snprintf(r->skip, sizeof r->skip, "execution blocked with no requests");
            break;
        }
        int64_t id = reqs[0].id;
        const sy_asl_req_t *q = &reqs[0];
        for (size_t i = 1; i < n; i++)
            if (reqs[i].kind == SY_ASL_REQ_TASK && q->kind == SY_ASL_REQ_TIMER)
                q = &reqs[i];
            else if (reqs[i].kind == SY_ASL_REQ_TIMER && q->kind == SY_ASL_REQ_TIMER &&
                     reqs[i].wake_at_ms < q->wake_at_ms)
                q = &reqs[i];
        id = q->id;
        if (q->kind == SY_ASL_REQ_TIMER) {
            if (q->wake_at_ms > r->now)
                r->now = q->wake_at_ms;
            sy_asl_exec_set_now(x, r->now);
            sy_asl_exec_resume_timer(x, id);
            continue;
        }
        json_t *out;
        char *err, *cause;
        int rc = stand_in(r, q, &out, &err, &cause);
        if (rc < 0)
            break;
        sy_asl_exec_set_now(x, r->now);
        sy_asl_exec_resume_task(x, id, out, err, cause);
        json_decref(out);
        free(err);
        free(cause);
    }
    if (!r->skip[0])
        snprintf(r->skip, sizeof r->skip, "too many steps");
    sy_asl_exec_destroy(&x);
    return NULL;
}

static bool check(run_t *r, sy_asl_exec_t *x, char *why, size_t wl)
{
    return cmp_outcome(r->c, status_name(sy_asl_exec_status(x)), sy_asl_exec_output(x), sy_asl_exec_error(x),
                       sy_asl_exec_cause(x), r->hist, why, wl);
}

static void record_failure(json_t *fails, const json_t *c, const char *name, const char *why)
{
    const char *feat = cmp_feature_of(c);
    json_t *arr = json_object_get(fails, feat);
    if (!arr) {
        arr = json_array();
        json_object_set_new(fails, feat, arr);
    }
    char *line = NULL;
    if (asprintf(&line, "%s: %s", name, why) < 0)
        abort();
    json_array_append_new(arr, json_string(line));
    free(line);
}

/* api mode: the outcome the real-API driver recorded for this case. */
static int api_outcome(run_t *r, const json_t *res, char *why, size_t wl)
{
    if (!res) {
        snprintf(r->skip, sizeof r->skip, "no result from the API driver");
        return 2;
    }
    const char *skip = json_string_value(json_object_get(res, "skip"));
    if (skip) {
        snprintf(r->skip, sizeof r->skip, "%s", skip);
        return 2;
    }
    const char *broken = json_string_value(json_object_get(res, "api_error"));
    if (broken) {
        snprintf(why, wl, "API: %.700s", broken);
        return 1;
    }
    const json_t *hist = json_object_get(res, "history");
    json_t *ignored = NULL;
    if (!hist) /* EXPRESS: no stored history, as in AWS */
        hist = ignored = json_object_get(r->c, "history") ? json_deep_copy(json_object_get(r->c, "history")) : NULL;
    bool ok = cmp_outcome(r->c, json_string_value(json_object_get(res, "status")), json_object_get(res, "output"),
                          json_string_value(json_object_get(res, "error")),
                          json_string_value(json_object_get(res, "cause")), hist, why, wl);
    json_decref(ignored);
    return ok ? 0 : 1;
}

static int run_case(const char *path, json_t *fails, json_t *skips, const json_t *results)
{
    json_t *c = json_load_file(path, 0, NULL);
    const char *name = strrchr(path, '/') + 1;
    if (!c)
        return 0;
    run_t r = {.c = c, .hist = json_array()};
    int res = 2;
    json_t *def_j = json_object_get(c, "definition");
    char *def_s = json_dumps(def_j, JSON_COMPACT);
    if (!strcmp(json_string_value(json_object_get(json_object_get(c, "expected"), "status")), "ABORTED")) {
        snprintf(r.skip, sizeof r.skip, "outcome comes from a StopExecution call by the test");
    } else if (results) {
        char why[800] = "";
        res = api_outcome(&r, json_object_get(results, name), why, sizeof why);
        if (res == 1)
            record_failure(fails, c, name, why);
    } else {
        json_t *diags = NULL;
        sy_asl_def_t *def = sy_asl_def_parse(def_s, strlen(def_s), 0, &diags);
        char why[800] = "";
        if (!def) {
            char *m = sy_asl_diagnostics_message(diags);
            snprintf(why, sizeof why, "definition rejected: %.500s", m);
            free(m);
            res = 1;
        } else {
            sy_asl_exec_t *x = drive(&r, def);
            if (x) {
                res = check(&r, x, why, sizeof why) ? 0 : 1;
                sy_asl_exec_destroy(&x);
            }
            sy_asl_def_destroy(&def);
        }
        json_decref(diags);
        if (res == 1)
            record_failure(fails, c, name, why);
    }
    if (res == 2)
        json_array_append_new(skips, json_pack("[s,s]", name, r.skip));
    free(def_s);
    json_decref(r.hist);
    json_decref(c);
    return res;
}

static json_t *list_dir(const char *dir)
{
    json_t *files = json_array();
    DIR *d = opendir(dir);
    struct dirent *de;
    while (d && (de = readdir(d))) {
        size_t l = strlen(de->d_name);
        if (l > 5 && !strcmp(de->d_name + l - 5, ".json")) {
            char *p = NULL;
            if (asprintf(&p, "%s/%s", dir, de->d_name) < 0)
                abort();
            json_array_append_new(files, json_string(p));
            free(p);
        }
    }
    if (d)
        closedir(d);
    return files;
}

static int run_exec(const char *dir, double min_pct, const json_t *results)
{
    json_t *files = list_dir(dir), *fails = json_object(), *skips = json_array();
    int counts[3] = {0, 0, 0};
    size_t i;
    json_t *f;
    json_array_foreach(files, i, f) counts[run_case(json_string_value(f), fails, skips, results)]++;
    const char *k;
    json_t *arr;
    json_object_foreach(fails, k, arr)
    {
        printf("FAILED [%s] %zu\n", k, json_array_size(arr));
        size_t j;
        json_t *e;
        json_array_foreach(arr, j, e) printf("  %s\n", json_string_value(e));
    }
    json_array_foreach(skips, i, f) printf("SKIP %s: %s\n", json_string_value(json_array_get(f, 0)),
                                           json_string_value(json_array_get(f, 1)));
    double pct = counts[0] + counts[1] ? 100.0 * counts[0] / (counts[0] + counts[1]) : 0;
    printf("%d passed, %d failed, %d skipped (%.1f%% of run cases pass; threshold %.1f%%)\n", counts[0], counts[1],
           counts[2], pct, min_pct);
    json_decref(files);
    json_decref(fails);
    json_decref(skips);
    return pct >= min_pct ? 0 : 1;
}

static int run_validate(const char *dir, double min_valid_pct, double min_invalid_pct)
{
    int ok[2] = {0, 0}, total[2] = {0, 0};
    static const char *sub[] = {"valid", "invalid"};
    for (int v = 0; v < 2; v++) {
        char *p = NULL;
        if (asprintf(&p, "%s/%s", dir, sub[v]) < 0)
            abort();
        json_t *files = list_dir(p);
        free(p);
        size_t i;
        json_t *f;
        json_array_foreach(files, i, f)
        {
            json_t *c = json_load_file(json_string_value(f), 0, NULL);
            const char *text = json_string_value(json_object_get(c, "definition_text"));
            json_t *exp = json_object_get(c, "expected");
            if (!text || (v == 1 && json_object_get(exp, "valid") && !json_is_false(json_object_get(exp, "valid")))) {
                json_decref(c);
                continue;
            }
            int flags = 0;
            const char *name = strrchr(json_string_value(f), '/') + 1;
            if (strstr(name, "express") || strstr(name, "EXPRESS"))
                flags |= SY_ASL_VALIDATE_EXPRESS;
            json_t *d = sy_asl_validate(text, strlen(text), flags);
            bool valid = json_array_size(d) == 0;
            total[v]++;
            if (valid == (v == 0))
                ok[v]++;
            else
                printf("%s %s: %s\n", v == 0 ? "WRONGLY-REJECTED" : "WRONGLY-ACCEPTED", name,
                       valid ? "" : json_string_value(json_object_get(json_array_get(d, 0), "message")));
            json_decref(d);
            json_decref(c);
        }
        json_decref(files);
    }
    double vp = total[0] ? 100.0 * ok[0] / total[0] : 0, ip = total[1] ? 100.0 * ok[1] / total[1] : 0;
    printf("valid accepted: %d/%d (%.1f%%; threshold %.1f%%); invalid rejected: %d/%d (%.1f%%; threshold %.1f%%)\n",
           ok[0], total[0], vp, min_valid_pct, ok[1], total[1], ip, min_invalid_pct);
    return vp >= min_valid_pct && ip >= min_invalid_pct ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: %s exec|validate DIR MIN_PCT\n", argv[0]);
        return 2;
    }
    if (!strcmp(argv[1], "exec"))
        return run_exec(argv[2], atof(argv[3]), NULL);
    if (!strcmp(argv[1], "results") && argc > 4) {
        /* results DIR RESULTS.json MIN_PCT: outcomes recorded through the real API (sfn_asl_api.py) */
        json_error_t je;
        json_t *results = json_load_file(argv[3], 0, &je);
        if (!results) {
            fprintf(stderr, "could not read %s: %s\n", argv[3], je.text);
            return 2;
        }
        int rc = run_exec(argv[2], atof(argv[4]), results);
        json_decref(results);
        return rc;
    }
    return run_validate(argv[2], atof(argv[3]), argc > 4 ? atof(argv[4]) : 0);
}
