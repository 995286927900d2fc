/* statemachine/api_executions.c - execution actions: start (durable or express),
 * describe, list, history, stop, redrive. */
#include "statemachine/internal_api.h"

#include <stdlib.h>
#include <string.h>

static double secs(int64_t ms)
{
    return (double)ms / 1000.0;
}

static int exec_missing(const char *arn, sy_err_t *err)
{
    return sy_err_set(err, SY_E_NOTFOUND, 400, "ExecutionDoesNotExist", "Execution Does Not Exist: '%s'", arn);
}

/* Validate the input; *parsed (optional) gets the value. */
static int check_input(const char *input, json_t **parsed, sy_err_t *err)
{
    if (strlen(input) > 262144)
        return sy_err_set(err, SY_E_INVALID, 400, "InvalidExecutionInput",
                          "Invalid State Machine Execution Input: 'input is larger than 262144 characters'");
    json_t *v = json_loads(input, JSON_DECODE_ANY, NULL);
    if (!v)
        return sy_err_set(err, SY_E_INVALID, 400, "InvalidExecutionInput",
                          "Invalid State Machine Execution Input: 'Unexpected character or end of input'");
    if (parsed) *parsed = v;
    else json_decref(v);
    return 0;
}

/* An EXPRESS execution, in memory, to its end. */
static int run_express(sfn_svc_t *svc, const sfn_machine_t *m, const sy_asl_def_t *def, const char *name,
                       const char *input, const json_t *in, json_t **out, sy_err_t *err)
{
    char uuid[37];
    sy_uuid4(uuid);
    if (!name) name = uuid;
    char *res = sy_asprintf("express:%s:%s:%s", m->name, name, uuid);
    char *arn = sy_arn(svc->ctx, "states", res);
    free(res);
    int64_t start = sy_now_ms();
    json_t *cx = sfn_context_new(arn, name, m->arn, m->name, m->role_arn, start, -1);
    sy_asl_exec_t *x = def && in ? sfn_express_run(svc, def, in, cx, arn, false, NULL, err) : NULL;
    json_decref(cx);
    int rc = 0;
    if (!x) rc = err && err->code[0] ? SY_E_INTERNAL : sy_err_set(err, SY_E_INTERNAL, 500, "InternalFailure", "could not run");
    if (rc == 0) {
        int64_t stop = sy_now_ms();
        sy_asl_status_t st = sy_asl_exec_status(x);
        *out = json_pack("{s:s,s:s,s:s,s:f,s:f,s:s,s:s,s:{s:b},s:{s:I,s:I}}", "executionArn", arn, "stateMachineArn",
                         m->arn, "name", name, "startDate", secs(start), "stopDate", secs(stop), "status",
                         st == SY_ASL_RUNNING ? "FAILED" : sy_asl_status_name(st), "input", input, "inputDetails",
                         "included", 1, "billingDetails", "billedMemoryUsedInMB", (json_int_t)64,
                         "billedDurationInMilliseconds", (json_int_t)((stop - start) < 100 ? 100 : stop - start));
        if (st == SY_ASL_SUCCEEDED) {
            char *o = sy_json_dumps(sy_asl_exec_output(x));
            json_object_set_new(*out, "output", json_string(o));
            json_object_set_new(*out, "outputDetails", json_pack("{s:b}", "included", 1));
            free(o);
        } else {
            if (sy_asl_exec_error(x)) json_object_set_new(*out, "error", json_string(sy_asl_exec_error(x)));
            if (sy_asl_exec_cause(x)) json_object_set_new(*out, "cause", json_string(sy_asl_exec_cause(x)));
        }
    }
    sy_asl_exec_destroy(&x);
    free(arn);
    return rc;
}

/* What both start actions check first: the machine, the name, the input. */
typedef struct {
    const char *sm, *name, *input;
    json_t *in_v;   /* the parsed input (owned) */
    sfn_mc_t *mc;   /* the cached machine (released by start_done) */
} start_req_t;

static int start_prelude(sfn_svc_t *svc, json_t *in, start_req_t *r, sy_err_t *err)
{
    memset(r, 0, sizeof *r);
    r->sm = sfn_req_str(in, "stateMachineArn", err);
    if (!r->sm) return SY_E_INVALID;
    r->name = sy_json_str(in, "name");
    r->input = sy_json_str(in, "input");
    if (!r->input) r->input = "{}";
    if (r->name && !sfn_name_ok(r->name))
        return sy_err_set(err, SY_E_INVALID, 400, "InvalidName", "Invalid Name: '%s'", r->name);
    int rc = check_input(r->input, &r->in_v, err);
    if (rc == 0) rc = sfn_arn_check(r->sm, ":stateMachine:", err);
    if (rc < 0) {
        json_decref(r->in_v);
        r->in_v = NULL;
        return rc;
    }
    rc = sfn_mc_get(svc, r->sm, &r->mc, err);
    if (rc < 0) {
        json_decref(r->in_v);
        r->in_v = NULL;
    }
    return rc;
}

static void start_done(sfn_svc_t *svc, start_req_t *r)
{
    if (r->mc) sfn_mc_release(svc, &r->mc);
    json_decref(r->in_v);
    r->in_v = NULL;
}

int sfn_api_start_execution(sfn_svc_t *svc, json_t *in, json_t **out, sy_err_t *err)
{
    start_req_t q;
    int rc = start_prelude(svc, in, &q, err);
    if (rc < 0) return rc;
    const sfn_machine_t *m = sfn_mc_machine(q.mc);
    if (!strcmp(m->type, "EXPRESS")) {
        json_t *o = NULL;
        rc = run_express(svc, m, sfn_mc_def(q.mc), q.name, q.input, q.in_v, &o, err);
        if (rc == 0) *out = json_pack("{s:O,s:O}", "executionArn", json_object_get(o, "executionArn"), "startDate",
                                      json_object_get(o, "startDate"));
        json_decref(o);
        start_done(svc, &q);
        return rc;
    }
    start_done(svc, &q);
    sfn_start_t s = {.sm_arn = q.sm, .name = q.name, .input = q.input};
    char *arn = NULL;
    int64_t start = 0;
    rc = sfn_start_standard(svc, NULL, &s, &arn, &start, err);
    if (rc == 0) *out = json_pack("{s:s,s:f}", "executionArn", arn, "startDate", secs(start));
    free(arn);
    return rc;
}

int sfn_api_start_sync(sfn_svc_t *svc, json_t *in, json_t **out, sy_err_t *err)
{
    start_req_t q;
    int rc = start_prelude(svc, in, &q, err);
    if (rc < 0) return rc;
    const sfn_machine_t *m = sfn_mc_machine(q.mc);
    if (strcmp(m->type, "EXPRESS") != 0)
        rc = sy_err_set(err, SY_E_INVALID, 400, "StateMachineTypeNotSupported",
                        "This operation is not supported by this type of state machine");
    else rc = run_express(svc, m, sfn_mc_def(q.mc), q.name, q.input, q.in_v, out, err);
    start_done(svc, &q);
    return rc;
}

static int load_exec(sfn_svc_t *svc, json_t *in, sfn_execrow_t *e, sy_err_t *err)
{
    const char *arn = sfn_req_str(in, "executionArn", err);
    if (!arn) return SY_E_INVALID;
    int rc = sfn_arn_check(arn, ":execution:", err);
    if (rc < 0) return rc;
    rc = store_exec_get(svc->ctx, NULL, arn, false, e, err);
    if (rc == SY_E_NOTFOUND) return exec_missing(arn, err);
    return rc;
}

int sfn_api_describe_execution(sfn_svc_t *svc, json_t *in, json_t **out, sy_err_t *err)
{
    sfn_execrow_t e;
    int rc = load_exec(svc, in, &e, err);
    if (rc < 0) return rc;
    json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:f,s:s,s:{s:b},s:i}", "executionArn", e.arn, "stateMachineArn",
                          e.machine_arn, "name", e.name, "status", e.status, "startDate", secs(e.start_ms), "input",
                          e.input, "inputDetails", "included", 1, "redriveCount", e.redrive_count);
    if (e.stop_ms) json_object_set_new(o, "stopDate", json_real(secs(e.stop_ms)));
    if (e.output) {
        json_object_set_new(o, "output", json_string(e.output));
        json_object_set_new(o, "outputDetails", json_pack("{s:b}", "included", 1));
    }
    if (e.error) json_object_set_new(o, "error", json_string(e.error));
    if (e.cause) json_object_set_new(o, "cause", json_string(e.cause));
    if (e.redrive_ms) json_object_set_new(o, "redriveDate", json_real(secs(e.redrive_ms)));
    bool redrivable = e.state && (!strcmp(e.status, "FAILED") || !strcmp(e.status, "TIMED_OUT") || !strcmp(e.status, "ABORTED"));
    json_object_set_new(o, "redriveStatus", json_string(redrivable ? "REDRIVABLE" : "NOT_REDRIVABLE"));
    if (!redrivable && strcmp(e.status, "RUNNING"))
        json_object_set_new(o, "redriveStatusReason",
                            json_string(!strcmp(e.status, "SUCCEEDED") ? "Execution is SUCCEEDED and cannot be redriven"
                                                                       : "Execution cannot be redriven"));
    *out = o;
    sfn_execrow_clear(&e);
    return 0;
}

int sfn_api_describe_sm_for_execution(sfn_svc_t *svc, json_t *in, json_t **out, sy_err_t *err)
{
    sfn_execrow_t e;
    int rc = load_exec(svc, in, &e, err);
    if (rc < 0) return rc;
    sfn_machine_t m;
    rc = store_machine_get(svc->ctx, NULL, e.machine_arn, &m, err);
    if (rc == 0) {
        *out = sfn_machine_json(&m);
        json_object_set_new(*out, "definition", json_string(e.definition));
        json_object_set_new(*out, "roleArn", json_string(e.role_arn));
        json_object_set_new(*out, "updateDate", json_real(secs(m.updated_ms ? m.updated_ms : m.created_ms)));
        json_object_del(*out, "status");
        json_object_del(*out, "type");
        json_object_del(*out, "creationDate");
        sfn_machine_clear(&m);
    } else if (rc == SY_E_NOTFOUND) { /* the machine is gone: answer from the execution */
        rc = 0;
        *out = json_pack("{s:s,s:s,s:s,s:s,s:f}", "stateMachineArn", e.machine_arn, "name", "", "definition",
                         e.definition, "roleArn", e.role_arn, "updateDate", secs(e.start_ms));
    }
    sfn_execrow_clear(&e);
    return rc;
}

int sfn_api_list_executions(sfn_svc_t *svc, json_t *in, json_t **out, sy_err_t *err)
{
    const char *sm = sfn_req_str(in, "stateMachineArn", err);
    if (!sm) return SY_E_INVALID;
    sfn_machine_t m;
    int rc = sfn_machine_load(svc, sm, &m, err);
    if (rc < 0) return rc;
    sfn_machine_clear(&m);
    int64_t max = 100, before = 0;
    sy_json_int(in, "maxResults", &max);
    if (max <= 0 || max > 1000) max = 100;
    if (sy_json_str(in, "nextToken")) before = strtoll(sy_json_str(in, "nextToken"), NULL, 10);
    json_t *rows = NULL;
    rc = store_exec_list(svc->ctx, sm, sy_json_str(in, "statusFilter"), before, (int)max + 1, &rows, err);
    if (rc < 0) return rc;
    *out = json_object();
    if (json_array_size(rows) > (size_t)max) {
        json_array_remove(rows, (size_t)max);
        char nt[24];
        snprintf(nt, sizeof nt, "%lld", (long long)json_integer_value(json_object_get(json_array_get(rows, (size_t)max - 1), "seq")));
        json_object_set_new(*out, "nextToken", json_string(nt));
    }
    size_t i;
    json_t *r;
    json_array_foreach(rows, i, r) json_object_del(r, "seq");
    json_object_set_new(*out, "executions", rows);
    return 0;
}

static void strip_data(json_t *ev)
{
    const char *k;
    json_t *d;
    json_object_foreach(ev, k, d)
    {
        if (!json_is_object(d)) continue;
        json_object_del(d, "input");
        json_object_del(d, "output");
        json_object_del(d, "parameters");
    }
}

int sfn_api_history(sfn_svc_t *svc, json_t *in, json_t **out, sy_err_t *err)
{
    sfn_execrow_t e;
    int rc = load_exec(svc, in, &e, err);
    if (rc < 0) return rc;
    int64_t max = 100, after = 0;
    sy_json_int(in, "maxResults", &max);
    if (max <= 0 || max > 1000) max = 100;
    if (sy_json_str(in, "nextToken")) after = strtoll(sy_json_str(in, "nextToken"), NULL, 10);
    bool reverse = json_is_true(json_object_get(in, "reverseOrder"));
    json_t *inc = json_object_get(in, "includeExecutionData");
    bool data = !inc || json_is_true(inc);
    json_t *events = NULL;
    rc = store_history_page(svc->ctx, e.arn, reverse, after, (int)max + 1, &events, err);
    sfn_execrow_clear(&e);
    if (rc < 0) return rc;
    *out = json_object();
    if (json_array_size(events) > (size_t)max) {
        json_array_remove(events, (size_t)max);
        char nt[24];
        snprintf(nt, sizeof nt, "%lld", (long long)json_integer_value(json_object_get(json_array_get(events, (size_t)max - 1), "id")));
        json_object_set_new(*out, "nextToken", json_string(nt));
    }
    size_t i;
    json_t *ev;
    json_array_foreach(events, i, ev)
    {
        json_t *ts = json_object_get(ev, "timestamp");
        json_object_set_new(ev, "timestamp", json_real(json_number_value(ts) / 1000.0));
        if (!data) strip_data(ev);
    }
    json_object_set_new(*out, "events", events);
    return 0;
}

int sfn_api_stop_execution(sfn_svc_t *svc, json_t *in, json_t **out, sy_err_t *err)
{
    const char *arn = sfn_req_str(in, "executionArn", err);
    if (!arn) return SY_E_INVALID;
    int rc = sfn_arn_check(arn, ":execution:", err);
    int64_t stop = 0;
    if (rc == 0) rc = sfn_stop_execution(svc, arn, sy_json_str(in, "error"), sy_json_str(in, "cause"), &stop, err);
    if (rc == 0) *out = json_pack("{s:f}", "stopDate", secs(stop));
    return rc;
}

int sfn_api_redrive(sfn_svc_t *svc, json_t *in, json_t **out, sy_err_t *err)
{
    const char *arn = sfn_req_str(in, "executionArn", err);
    if (!arn) return SY_E_INVALID;
    int rc = sfn_arn_check(arn, ":execution:", err);
    int64_t when = 0;
    if (rc == 0) rc = sfn_redrive_execution(svc, arn, &when, err);
    if (rc == 0) *out = json_pack("{s:f}", "redriveDate", secs(when));
    return rc;
}
