/* statemachine/api_task.c - callbacks (SendTask*), map runs, TestState. */
#include "statemachine/internal_api.h"

#include <stdlib.h>
#include <string.h>

int sfn_api_task_success(sfn_svc_t *svc, json_t *in, json_t **out, sy_err_t *err)
{
    const char *tok = sfn_req_str(in, "taskToken", err), *output = sfn_req_str(in, "output", err);
    if (!tok || !output) return SY_E_INVALID;
    json_t *v = json_loads(output, JSON_DECODE_ANY, NULL);
    if (!v) return sy_err_set(err, SY_E_INVALID, 400, "InvalidOutput", "Invalid Output: '%s'", output);
    int rc = sfn_task_callback(svc, tok, 's', v, NULL, NULL, err);
    json_decref(v);
    if (rc == 0) *out = json_object();
    return rc;
}

int sfn_api_task_failure(sfn_svc_t *svc, json_t *in, json_t **out, sy_err_t *err)
{
    const char *tok = sfn_req_str(in, "taskToken", err);
    if (!tok) return SY_E_INVALID;
    int rc = sfn_task_callback(svc, tok, 'f', NULL, sy_json_str(in, "error"), sy_json_str(in, "cause"), err);
    if (rc == 0) *out = json_object();
    return rc;
}

int sfn_api_task_heartbeat(sfn_svc_t *svc, json_t *in, json_t **out, sy_err_t *err)
{
    const char *tok = sfn_req_str(in, "taskToken", err);
    if (!tok) return SY_E_INVALID;
    int rc = sfn_task_callback(svc, tok, 'h', NULL, NULL, NULL, err);
    if (rc == 0) *out = json_object();
    return rc;
}

/* Distributed Maps run their items inline (no child map runs). */
int sfn_api_describe_map_run(sfn_svc_t *svc, json_t *in, json_t **out, sy_err_t *err)
{
    (void)svc;
    (void)out;
    const char *arn = sfn_req_str(in, "mapRunArn", err);
    if (!arn) return SY_E_INVALID;
    return sy_err_set(err, SY_E_NOTFOUND, 400, "ResourceNotFound", "Resource not found: '%s'", arn);
}

int sfn_api_list_map_runs(sfn_svc_t *svc, json_t *in, json_t **out, sy_err_t *err)
{
    const char *arn = sfn_req_str(in, "executionArn", err);
    if (!arn) return SY_E_INVALID;
    sfn_execrow_t e;
    int rc = store_exec_get(svc->ctx, NULL, arn, false, &e, err);
    if (rc == SY_E_NOTFOUND)
        return sy_err_set(err, rc, 400, "ExecutionDoesNotExist", "Execution Does Not Exist: '%s'", arn);
    if (rc < 0) return rc;
    sfn_execrow_clear(&e);
    *out = json_pack("{s:[]}", "mapRuns");
    return 0;
}

/* Every Next/Default target named inside v. */
static void targets(const json_t *v, json_t *names)
{
    if (json_is_object(v)) {
        const char *k;
        json_t *e;
        json_object_foreach((json_t *)v, k, e)
        {
            if ((!strcmp(k, "Next") || !strcmp(k, "Default")) && json_is_string(e))
                json_object_set_new(names, json_string_value(e), json_true());
            else if (strcmp(k, "Iterator") && strcmp(k, "ItemProcessor") && strcmp(k, "Branches")) targets(e, names);
        }
    } else if (json_is_array(v)) {
        size_t i;
        json_t *e;
        json_array_foreach(v, i, e) targets(e, names);
    }
}

int sfn_api_test_state(sfn_svc_t *svc, json_t *in, json_t **out, sy_err_t *err)
{
    const char *deftext = sfn_req_str(in, "definition", err);
    if (!deftext) return SY_E_INVALID;
    const char *input = sy_json_str(in, "input") ? sy_json_str(in, "input") : "{}";
    const char *vtext = sy_json_str(in, "variables");
    json_t *vars = vtext ? json_loads(vtext, 0, NULL) : NULL;
    if (vtext && !json_is_object(vars)) {
        json_decref(vars);
        return sy_err_set(err, SY_E_INVALID, 400, "ValidationException",
                          "Invalid variables: the value must be a JSON object");
    }
    json_t *st = json_loads(deftext, 0, NULL), *iv = json_loads(input, JSON_DECODE_ANY, NULL);
    const char *name = sy_json_str(in, "stateName") ? sy_json_str(in, "stateName") : "TestState";
    if (json_is_object(json_object_get(st, "States")) && sy_json_str(in, "stateName")) {
        /* a whole state machine: test the named state, in the machine's query language */
        json_t *one = json_object_get(json_object_get(st, "States"), name);
        json_t *copy = json_is_object(one) ? json_deep_copy(one) : NULL;
        if (copy && !json_object_get(copy, "QueryLanguage") && json_object_get(st, "QueryLanguage"))
            json_object_set(copy, "QueryLanguage", json_object_get(st, "QueryLanguage"));
        json_decref(st);
        st = copy;
    }
    if (!json_is_object(st) || !iv) {
        json_decref(st);
        json_decref(iv);
        json_decref(vars);
        return sy_err_set(err, SY_E_INVALID, 400, "InvalidDefinition",
                          "Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: the state is not a JSON object'");
    }
    const char *ql = sy_json_str(st, "QueryLanguage");
    bool jsonata = ql && !strcmp(ql, "JSONata");
    json_t *states = json_object(), *names = json_object();
    targets(st, names);
    const char *k;
    json_t *v;
    json_object_foreach(names, k, v) json_object_set_new(states, k, json_pack("{s:s}", "Type", "Succeed"));
    json_object_set(states, name, st);
    json_t *sm = json_pack("{s:s,s:o}", "StartAt", name, "States", states);
    char *text = sy_json_dumps(sm);
    json_decref(sm);
    json_decref(names);
    int rc = sfn_check_definition(text, "EXPRESS", err);
    const sy_asl_def_t *def = rc == 0 ? sfn_def_get(svc, text) : NULL;
    sy_asl_exec_t *x = NULL;
    if (rc == 0 && def) {
        char *arn = sy_arn(svc->ctx, "states", "express:TestState:test:test");
        json_t *cx = sfn_context_new(arn, "test", "arn:aws:states:::stateMachine:TestState", "TestState",
                                     sy_json_str(in, "roleArn") ? sy_json_str(in, "roleArn") : "", sy_now_ms(), 0);
        x = sfn_express_run(svc, def, iv, cx, arn, true, vars, err);
        json_decref(cx);
        free(arn);
    }
    if (x) {
        json_t *o = json_object(), *insp = json_pack("{s:s}", "input", input);
        if (vtext) json_object_set_new(insp, "variables", json_string(vtext));
        const json_t *h = sy_asl_exec_history(x);
        size_t i;
        json_t *ev;
        const char *next = NULL;
        json_t *stout = NULL;
        json_array_foreach(h, i, ev)
        {
            const char *type = sy_json_str(ev, "type");
            json_t *d = json_object_get(ev, "stateEnteredEventDetails");
            if (d && strcmp(sy_json_str(d, "name"), name) != 0 && !next) next = sy_json_str(d, "name");
            json_t *x2 = json_object_get(ev, "stateExitedEventDetails");
            if (x2 && !strcmp(sy_json_str(x2, "name"), name)) stout = json_object_get(x2, "output");
            json_t *ts = json_object_get(ev, "taskSucceededEventDetails");
            if (!ts) ts = json_object_get(ev, "lambdaFunctionSucceededEventDetails");
            if (ts) json_object_set(insp, "result", json_object_get(ts, "output"));
            json_t *sc = json_object_get(ev, "taskScheduledEventDetails");
            if (sc) json_object_set(insp, jsonata ? "afterArguments" : "afterParameters", json_object_get(sc, "parameters"));
            (void)type;
        }
        sy_asl_status_t s = sy_asl_exec_status(x);
        if (next) json_object_set_new(o, "nextState", json_string(next));
        if (s == SY_ASL_SUCCEEDED || next) {
            json_object_set_new(o, "status", json_string(next && sy_json_str(st, "Type") && strcmp(sy_json_str(st, "Type"), "Choice") &&
                                                                 !json_object_get(st, "Next") ? "CAUGHT_ERROR" : "SUCCEEDED"));
            if (stout) json_object_set(o, "output", stout);
            else if (s == SY_ASL_SUCCEEDED) {
                char *os = sy_json_dumps(sy_asl_exec_output(x));
                json_object_set_new(o, "output", json_string(os));
                free(os);
            }
            if (stout && !jsonata) json_object_set(insp, "afterResultPath", stout);
        } else {
            json_object_set_new(o, "status", json_string("FAILED"));
            if (sy_asl_exec_error(x)) json_object_set_new(o, "error", json_string(sy_asl_exec_error(x)));
            if (sy_asl_exec_cause(x)) json_object_set_new(o, "cause", json_string(sy_asl_exec_cause(x)));
        }
        const char *lvl = sy_json_str(in, "inspectionLevel");
        if (lvl && strcmp(lvl, "INFO") != 0) json_object_set_new(o, "inspectionData", insp);
        else json_decref(insp);
        *out = o;
    } else if (rc == 0) {
        rc = SY_E_INTERNAL;
    }
    sy_asl_exec_destroy(&x);
    free(text);
    json_decref(st);
    json_decref(iv);
    json_decref(vars);
    return rc;
}
