/* Unit tests of the ASL interpreter: JSONPath, intrinsics, Choice, Retry/Catch, checkpoints. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "asl/asl.h"

static json_t *path(const char *p, const char *doc)
{
    json_t *d = json_loads(doc, JSON_DECODE_ANY, NULL), *out = NULL;
    char *err = NULL;
    int rc = sy_asl_path_eval(p, d, NULL, &out, &err);
    json_decref(d);
    free(err);
    return rc == 0 ? out : NULL;
}

static void expect_path(const char *p, const char *doc, const char *want)
{
    json_t *got = path(p, doc), *w = json_loads(want, JSON_DECODE_ANY, NULL);
    if (!json_equal(got, w)) {
        char *g = json_dumps(got, JSON_ENCODE_ANY);
        fail_msg("%s on %s: got %s, want %s", p, doc, g ? g : "(none)", want);
    }
    json_decref(got);
    json_decref(w);
}

static void test_jsonpath(void **state)
{
    (void)state;
    const char *doc = "{\"a\":{\"b\":[1,2,3,4]},\"items\":[{\"x\":1},{\"x\":5}],\"k y\":7}";
    expect_path("$.a.b[0]", doc, "1");
    expect_path("$.a.b[-1]", doc, "4");
    expect_path("$.a.b[1:3]", doc, "[2,3]");
    expect_path("$.a.b[:1]", doc, "[1]");
    expect_path("$.items[*].x", doc, "[1,5]");
    expect_path("$.items[?(@.x > 1)]", doc, "[{\"x\":5}]");
    expect_path("$..x", doc, "[1,5]");
    expect_path("$['k y']", doc, "7");
    expect_path("$.items[5:]", doc, "[]");
    assert_null(path("$.nope", doc));
    char *err = NULL;
    json_t *out = NULL, *d = json_loads(doc, 0, NULL);
    assert_int_equal(sy_asl_path_eval("$.no.such", d, NULL, &out, &err), -1);
    assert_string_equal(err, "Invalid path '$.no.such' : Missing property in path $['no']");
    free(err);
    assert_int_equal(sy_asl_path_eval("$.nope", d, NULL, &out, &err), -1);
    assert_string_equal(err, "Invalid path '$.nope' : No results for path: $['nope']");
    free(err);
    json_decref(d);
}

/* Run a one-state machine with no tasks and return its output. */
static json_t *run_pass(const char *def_text, const char *input, char **error)
{
    json_t *diags = NULL;
    sy_asl_def_t *def = sy_asl_def_parse(def_text, strlen(def_text), 0, &diags);
    if (!def) {
        char *m = sy_asl_diagnostics_message(diags);
        fail_msg("rejected: %s", m);
    }
    json_t *in = json_loads(input, JSON_DECODE_ANY, NULL);
    sy_asl_exec_t *x = sy_asl_exec_new(def, in, NULL, 1700000000000LL);
    const sy_asl_req_t *reqs;
    size_t n;
    sy_asl_status_t s = sy_asl_exec_step(x, &reqs, &n);
    json_t *out = s == SY_ASL_SUCCEEDED ? json_incref((json_t *)sy_asl_exec_output(x)) : NULL;
    if (error)
        *error = sy_asl_exec_error(x) ? strdup(sy_asl_exec_error(x)) : NULL;
    sy_asl_exec_destroy(&x);
    sy_asl_def_destroy(&def);
    json_decref(in);
    return out;
}

static void expect_intrinsic(const char *call, const char *input, const char *want)
{
    char def[1024];
    json_t *c = json_string(call);
    char *cs = json_dumps(c, JSON_ENCODE_ANY);
    snprintf(def, sizeof def,
             "{\"StartAt\":\"P\",\"States\":{\"P\":{\"Type\":\"Pass\",\"Parameters\":{\"r.$\":%s},\"End\":true}}}", cs);
    free(cs);
    json_decref(c);
    json_t *out = run_pass(def, input, NULL), *w = json_loads(want, JSON_DECODE_ANY, NULL);
    if (!out || !json_equal(json_object_get(out, "r"), w)) {
        char *g = json_dumps(out, JSON_ENCODE_ANY);
        fail_msg("%s: got %s, want %s", call, g ? g : "(failed)", want);
    }
    json_decref(out);
    json_decref(w);
}

static void test_intrinsics(void **state)
{
    (void)state;
    expect_intrinsic("States.Format('a={} b={}', $.a, $.b)", "{\"a\":\"x\",\"b\":{\"k\":1}}", "\"a=x b={k=1}\"");
    expect_intrinsic("States.Format('\\{} {}', 1)", "{}", "\"{} 1\"");
    expect_intrinsic("States.StringToJson('{\"a\": 1}')", "{}", "{\"a\":1}");
    expect_intrinsic("States.JsonToString($.v)", "{\"v\":{\"a\":[1,2.5]}}", "\"{\\\"a\\\":[1,2.5]}\"");
    expect_intrinsic("States.Array(1, 'two', $.v)", "{\"v\":null}", "[1,\"two\",null]");
    expect_intrinsic("States.ArrayPartition($.a, 2)", "{\"a\":[1,2,3]}", "[[1,2],[3]]");
    expect_intrinsic("States.ArrayContains($.a, 2)", "{\"a\":[1,2,3]}", "true");
    expect_intrinsic("States.ArrayRange(1, 9, 2)", "{}", "[1,3,5,7,9]");
    expect_intrinsic("States.ArrayGetItem($.a, 1)", "{\"a\":[1,2,3]}", "2");
    expect_intrinsic("States.ArrayLength($.a)", "{\"a\":[1,2,3]}", "3");
    expect_intrinsic("States.ArrayUnique($.a)", "{\"a\":[1,1,2]}", "[1,2]");
    expect_intrinsic("States.Base64Encode('Data to encode')", "{}", "\"RGF0YSB0byBlbmNvZGU=\"");
    expect_intrinsic("States.Base64Decode('RGF0YSB0byBlbmNvZGU=')", "{}", "\"Data to encode\"");
    expect_intrinsic("States.Hash('input data', 'SHA-1')", "{}", "\"aaff4a450a104cd177d28d18d74485e8cae074b7\"");
    expect_intrinsic("States.JsonMerge($.a, $.b, false)", "{\"a\":{\"x\":1,\"y\":1},\"b\":{\"y\":2}}", "{\"x\":1,\"y\":2}");
    expect_intrinsic("States.MathAdd(1.5, -1.51)", "{}", "0");
    expect_intrinsic("States.StringSplit('a,,b', ',')", "{}", "[\"a\",\"b\"]");
    expect_intrinsic("States.ArrayLength(States.StringSplit($.s, '-'))", "{\"s\":\"a-b-c\"}", "3");
    json_t *out = run_pass("{\"StartAt\":\"P\",\"States\":{\"P\":{\"Type\":\"Pass\",\"Parameters\":{\"r.$\":\"States.MathRandom(1, 5)\"},\"End\":true}}}", "{}", NULL);
    json_int_t r = json_integer_value(json_object_get(out, "r"));
    assert_true(r >= 1 && r < 5);
    json_decref(out);
    char *err = NULL;
    assert_null(run_pass("{\"StartAt\":\"P\",\"States\":{\"P\":{\"Type\":\"Pass\",\"Parameters\":{\"r.$\":\"States.ArrayGetItem($.a, 9)\"},\"End\":true}}}", "{\"a\":[1]}", &err));
    assert_string_equal(err, "States.Runtime");
    free(err);
}

static const char *choice_def =
    "{\"StartAt\":\"C\",\"States\":{\"C\":{\"Type\":\"Choice\",\"Choices\":["
    "{\"And\":[{\"Variable\":\"$.n\",\"NumericGreaterThan\":1},{\"Not\":{\"Variable\":\"$.s\",\"StringEquals\":\"no\"}}],\"Next\":\"A\"},"
    "{\"Variable\":\"$.t\",\"TimestampLessThanPath\":\"$.u\",\"Next\":\"B\"},"
    "{\"Variable\":\"$.m\",\"IsPresent\":false,\"Next\":\"D\"}],\"Default\":\"E\"},"
    "\"A\":{\"Type\":\"Pass\",\"Result\":\"A\",\"End\":true},\"B\":{\"Type\":\"Pass\",\"Result\":\"B\",\"End\":true},"
    "\"D\":{\"Type\":\"Pass\",\"Result\":\"D\",\"End\":true},\"E\":{\"Type\":\"Pass\",\"Result\":\"E\",\"End\":true}}}";

static void expect_choice(const char *input, const char *want)
{
    json_t *out = run_pass(choice_def, input, NULL);
    assert_non_null(out);
    assert_string_equal(json_string_value(out), want);
    json_decref(out);
}

static void test_choice(void **state)
{
    (void)state;
    expect_choice("{\"n\":2.0,\"s\":\"yes\",\"m\":1}", "A");
    expect_choice("{\"n\":2,\"s\":\"no\",\"t\":\"2020-01-01T00:00:00Z\",\"u\":\"2020-01-01T00:00:01+00:00\",\"m\":1}", "B");
    expect_choice("{\"n\":\"2\",\"t\":\"bad\",\"u\":\"2020-01-01T00:00:01Z\"}", "D");
    expect_choice("{\"n\":0,\"t\":\"2021-01-01T00:00:00Z\",\"u\":\"2020-01-01T00:00:01Z\",\"m\":1}", "E");
}

static const char *retry_def =
    "{\"StartAt\":\"T\",\"States\":{\"T\":{\"Type\":\"Task\",\"Resource\":\"arn:aws:states:::lambda:invoke\","
    "\"Parameters\":{\"n.$\":\"$$.State.RetryCount\"},"
    "\"Retry\":[{\"ErrorEquals\":[\"Boom\"],\"IntervalSeconds\":2,\"MaxAttempts\":2,\"BackoffRate\":3}],"
    "\"Catch\":[{\"ErrorEquals\":[\"States.ALL\"],\"ResultPath\":\"$.err\",\"Next\":\"P\"}],\"End\":true},"
    "\"P\":{\"Type\":\"Pass\",\"End\":true}}}";

static void test_retry_catch(void **state)
{
    (void)state;
    sy_asl_def_t *def = sy_asl_def_parse(retry_def, strlen(retry_def), SY_ASL_VALIDATE_RESOURCES, NULL);
    assert_non_null(def);
    json_t *in = json_pack("{s:i}", "k", 1);
    int64_t now = 1000000;
    sy_asl_exec_t *x = sy_asl_exec_new(def, in, NULL, now);
    const sy_asl_req_t *reqs;
    size_t n;
    int64_t expect_delay[] = {2000, 6000};
    for (int attempt = 0; attempt < 3; attempt++) {
        assert_int_equal(sy_asl_exec_step(x, &reqs, &n), SY_ASL_RUNNING);
        assert_int_equal(n, 1);
        assert_int_equal(reqs[0].kind, SY_ASL_REQ_TASK);
        assert_int_equal(json_integer_value(json_object_get(reqs[0].input, "n")), attempt);
        /* checkpoint and resume from the saved form */
        json_t *saved = sy_asl_exec_save(x);
        sy_asl_exec_destroy(&x);
        x = sy_asl_exec_load(def, saved);
        json_decref(saved);
        sy_asl_exec_pending(x, &reqs, &n);
        assert_int_equal(n, 1);
        assert_int_equal(sy_asl_exec_resume_task(x, reqs[0].id, NULL, "Boom", "bad"), 0);
        if (attempt < 2) {
            assert_int_equal(sy_asl_exec_step(x, &reqs, &n), SY_ASL_RUNNING);
            assert_int_equal(reqs[0].kind, SY_ASL_REQ_TIMER);
            assert_int_equal(reqs[0].wake_at_ms - now, expect_delay[attempt]);
            sy_asl_exec_resume_timer(x, reqs[0].id);
        }
    }
    assert_int_equal(sy_asl_exec_step(x, &reqs, &n), SY_ASL_SUCCEEDED);
    json_t *want = json_pack("{s:i,s:{s:s,s:s}}", "k", 1, "err", "Error", "Boom", "Cause", "bad");
    assert_true(json_equal(sy_asl_exec_output(x), want));
    json_decref(want);
    json_decref(in);
    sy_asl_exec_destroy(&x);
    sy_asl_def_destroy(&def);
}

static void test_validate(void **state)
{
    (void)state;
    const char *bad[] = {
        "{}",
        "{\"StartAt\":\"A\",\"States\":{\"A\":{\"Type\":\"Pass\"}}}",
        "{\"StartAt\":\"A\",\"States\":{\"A\":{\"Type\":\"Pass\",\"End\":true},\"B\":{\"Type\":\"Pass\",\"End\":true}}}",
        "{\"StartAt\":\"A\",\"States\":{\"A\":{\"Type\":\"Choice\",\"Choices\":[]}}}",
        "{\"StartAt\":\"A\",\"States\":{\"A\":{\"Type\":\"Task\",\"Resource\":\"arn:aws:states:::dynamodb:putItem\",\"End\":true}}}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        json_t *d = sy_asl_validate(bad[i], strlen(bad[i]), SY_ASL_VALIDATE_RESOURCES);
        assert_true(json_array_size(d) > 0);
        json_decref(d);
    }
}


/* Variables: Assign after the state's I/O, old values seen by the state's own
 * paths, inner scopes read outer variables without changing them. */
static void test_variables(void **state)
{
    (void)state;
    const char *def =
        "{\"StartAt\":\"S0\",\"States\":{"
        "\"S0\":{\"Type\":\"Pass\",\"Result\":{\"q\":\"why\"},\"Assign\":{\"question.$\":\"$.q\",\"answer\":42,\"items\":[1,2]},\"Next\":\"S1\"},"
        "\"S1\":{\"Type\":\"Pass\",\"InputPath\":\"$answer\",\"OutputPath\":\"$answer\",\"Assign\":{\"answer\":\"x\"},\"Next\":\"M\"},"
        "\"M\":{\"Type\":\"Map\",\"ItemsPath\":\"$items\",\"ItemProcessor\":{\"StartAt\":\"I\",\"States\":{"
        "\"I\":{\"Type\":\"Pass\",\"Assign\":{\"own\":\"inner\"},\"Parameters\":{\"a.$\":\"$answer\",\"f.$\":\"States.Format('{}!', $question)\"},\"End\":true}}},"
        "\"Next\":\"F\"},"
        "\"F\":{\"Type\":\"Pass\",\"Parameters\":{\"m.$\":\"$\",\"q.$\":\"$question\",\"ctx.$\":\"$$.State.Name\"},\"End\":true}}}";
    json_t *out = run_pass(def, "{}", NULL);
    assert_non_null(out);
    json_t *want = json_loads("{\"m\":[{\"a\":\"x\",\"f\":\"why!\"},{\"a\":\"x\",\"f\":\"why!\"}],\"q\":\"why\",\"ctx\":\"F\"}", 0, NULL);
    if (!json_equal(out, want)) {
        char *g = json_dumps(out, 0);
        fail_msg("variables: got %s", g);
    }
    json_decref(want);
    json_decref(out);
    /* $$ does not show variables */
    out = run_pass("{\"StartAt\":\"A\",\"States\":{\"A\":{\"Type\":\"Pass\",\"Assign\":{\"v\":1},\"Next\":\"B\"},"
                   "\"B\":{\"Type\":\"Pass\",\"Parameters\":{\"c.$\":\"$$\"},\"End\":true}}}", "{}", NULL);
    assert_non_null(out);
    assert_null(json_object_get(json_object_get(out, "c"), "$vars"));
    assert_non_null(json_object_get(json_object_get(out, "c"), "Execution"));
    json_decref(out);
    char *err = NULL;
    assert_null(run_pass("{\"StartAt\":\"A\",\"States\":{\"A\":{\"Type\":\"Pass\",\"InputPath\":\"$nope\",\"End\":true}}}", "{}", &err));
    assert_string_equal(err, "States.Runtime");
    free(err);
    /* ResultPath cannot write a variable */
    const char *bad = "{\"StartAt\":\"A\",\"States\":{\"A\":{\"Type\":\"Pass\",\"ResultPath\":\"$v\",\"End\":true}}}";
    json_t *d = sy_asl_validate(bad, strlen(bad), 0);
    assert_true(json_array_size(d) > 0);
    json_decref(d);
}

/* .waitForTaskToken: a token per attempt in $$.Task.Token and on the request;
 * TaskSubmitted; resumed through the token; the pattern of .sync resources. */
static void test_task_token(void **state)
{
    (void)state;
    const char *text =
        "{\"StartAt\":\"T\",\"States\":{\"T\":{\"Type\":\"Task\",\"Resource\":\"arn:aws:states:::sqs:sendMessage.waitForTaskToken\","
        "\"HeartbeatSeconds\":30,\"TimeoutSeconds\":60,\"Parameters\":{\"MessageBody\":{\"TaskToken.$\":\"$$.Task.Token\"}},\"Next\":\"J\"},"
        "\"J\":{\"Type\":\"Task\",\"Resource\":\"arn:aws:states:::states:startExecution.sync:2\",\"End\":true}}}";
    sy_asl_def_t *def = sy_asl_def_parse(text, strlen(text), 0, NULL);
    assert_non_null(def);
    json_t *in = json_object();
    sy_asl_exec_t *x = sy_asl_exec_new(def, in, NULL, 1700000000000LL);
    const sy_asl_req_t *reqs;
    size_t n;
    assert_int_equal(sy_asl_exec_step(x, &reqs, &n), SY_ASL_RUNNING);
    assert_int_equal(n, 1);
    assert_int_equal(reqs[0].pattern, SY_ASL_PATTERN_WAIT_FOR_TOKEN);
    assert_int_equal(reqs[0].heartbeat_s, 30);
    assert_non_null(reqs[0].task_token);
    const char *in_body = json_string_value(json_object_get(json_object_get(reqs[0].input, "MessageBody"), "TaskToken"));
    assert_string_equal(in_body, reqs[0].task_token);
    char *token = strdup(reqs[0].task_token);
    int64_t id = reqs[0].id;
    json_t *sent = json_pack("{s:s}", "MessageId", "m1");
    assert_int_equal(sy_asl_exec_task_submitted(x, id, sent), 0);
    assert_int_equal(sy_asl_exec_task_submitted(x, id, sent), -1);
    json_decref(sent);
    const json_t *h = sy_asl_exec_history(x);
    assert_string_equal(json_string_value(json_object_get(json_array_get(h, json_array_size(h) - 1), "type")),
                        "TaskSubmitted");
    /* survives a checkpoint */
    json_t *saved = sy_asl_exec_save(x);
    sy_asl_exec_destroy(&x);
    x = sy_asl_exec_load(def, saved);
    json_decref(saved);
    assert_int_equal(sy_asl_exec_token_request(x, token), id);
    assert_int_equal(sy_asl_exec_token_request(x, "no-such-token"), -1);
    json_t *result = json_pack("{s:i}", "ok", 1);
    assert_int_equal(sy_asl_exec_resume_task(x, sy_asl_exec_token_request(x, token), result, NULL, NULL), 0);
    json_decref(result);
    assert_int_equal(sy_asl_exec_step(x, &reqs, &n), SY_ASL_RUNNING);
    assert_int_equal(n, 1);
    assert_int_equal(reqs[0].pattern, SY_ASL_PATTERN_SYNC);
    assert_null(reqs[0].task_token);
    assert_int_equal(sy_asl_exec_token_request(x, token), -1);
    assert_int_equal(sy_asl_exec_resume_task(x, reqs[0].id, NULL, "States.TaskFailed", "child failed"), 0);
    assert_int_equal(sy_asl_exec_step(x, &reqs, &n), SY_ASL_FAILED);
    free(token);
    sy_asl_exec_destroy(&x);
    sy_asl_def_destroy(&def);
    json_decref(in);
}

/* ItemReader: the reader's resource is a TASK request; its answer (JSON text
 * or an array) gives the items, cut to MaxItems. */
static void test_item_reader(void **state)
{
    (void)state;
    const char *text =
        "{\"StartAt\":\"M\",\"States\":{\"M\":{\"Type\":\"Map\",\"ItemReader\":{\"Resource\":\"arn:aws:states:::s3:getObject\","
        "\"ReaderConfig\":{\"InputType\":\"JSON\",\"MaxItems\":2},\"Parameters\":{\"Bucket.$\":\"$.b\",\"Key\":\"k.json\"}},"
        "\"ItemProcessor\":{\"ProcessorConfig\":{\"Mode\":\"DISTRIBUTED\",\"ExecutionType\":\"STANDARD\"},"
        "\"StartAt\":\"P\",\"States\":{\"P\":{\"Type\":\"Pass\",\"End\":true}}},\"End\":true}}}";
    sy_asl_def_t *def = sy_asl_def_parse(text, strlen(text), 0, NULL);
    assert_non_null(def);
    json_t *in = json_pack("{s:s}", "b", "bucket");
    sy_asl_exec_t *x = sy_asl_exec_new(def, in, NULL, 1700000000000LL);
    const sy_asl_req_t *reqs;
    size_t n;
    assert_int_equal(sy_asl_exec_step(x, &reqs, &n), SY_ASL_RUNNING);
    assert_int_equal(n, 1);
    assert_string_equal(reqs[0].resource, "arn:aws:states:::s3:getObject");
    assert_string_equal(json_string_value(json_object_get(reqs[0].input, "Bucket")), "bucket");
    json_t *body = json_string("[{\"a\":1},{\"a\":2},{\"a\":3}]");
    assert_int_equal(sy_asl_exec_resume_task(x, reqs[0].id, body, NULL, NULL), 0);
    json_decref(body);
    assert_int_equal(sy_asl_exec_step(x, &reqs, &n), SY_ASL_SUCCEEDED);
    json_t *want = json_loads("[{\"a\":1},{\"a\":2}]", 0, NULL);
    assert_true(json_equal(sy_asl_exec_output(x), want));
    json_decref(want);
    sy_asl_exec_destroy(&x);
    sy_asl_def_destroy(&def);
    json_decref(in);
}

/* The diagnostics of a definition as "CODE@location" lines. */
static char *diag_codes(const char *text)
{
    json_t *d = sy_asl_validate(text, strlen(text), 0);
    char *out = strdup("");
    size_t i;
    json_t *e;
    json_array_foreach(d, i, e)
    {
        const char *loc = json_string_value(json_object_get(e, "location"));
        char *n = NULL;
        if (asprintf(&n, "%s%s@%s;", out, json_string_value(json_object_get(e, "code")), loc ? loc : "") < 0)
            abort();
        free(out);
        out = n;
    }
    json_decref(d);
    return out;
}

static void expect_diags(const char *text, const char *want)
{
    char *got = diag_codes(text);
    if (strcmp(got, want))
        fail_msg("%s: got %s, want %s", text, got, want);
    free(got);
}

#define JA(states) "{\"QueryLanguage\":\"JSONata\",\"StartAt\":\"P\",\"States\":{" states "}}"

/* JSONata definitions: what AWS refuses, with its codes and locations. */
static void test_jsonata_validate(void **state)
{
    (void)state;
    expect_diags(JA("\"P\":{\"Type\":\"Pass\",\"Output\":{\"v\":\"{% $states.input.a %}\"},\"End\":true}"), "");
    expect_diags(JA("\"P\":{\"Type\":\"Pass\",\"Output\":{\"v\":\"{% 1 + %}\"},\"End\":true}"),
                 "INVALID_JSONATA_EXPRESSION@/States/P/Output/v;");
    expect_diags(JA("\"P\":{\"Type\":\"Pass\",\"Output\":\"{% total %}\",\"End\":true}"),
                 "UNSUPPORTED_JSONATA_EXPRESSION@/States/P/Output;");
    expect_diags(JA("\"P\":{\"Type\":\"Pass\",\"Output\":\"{% $states.result %}\",\"End\":true}"),
                 "SCHEMA_VALIDATION_FAILED@/States/P/Output;");
    expect_diags(JA("\"P\":{\"Type\":\"Pass\",\"Assign\":{\"states\":1},\"End\":true}"),
                 "SCHEMA_VALIDATION_FAILED@/States/P/Assign;");
    expect_diags(JA("\"P\":{\"Type\":\"Pass\",\"Output\":\"{% 1\",\"End\":true}"),
                 "SCHEMA_VALIDATION_FAILED@/States/P/Output;");
    expect_diags(JA("\"P\":{\"Type\":\"Pass\",\"Parameters\":{},\"End\":true}"), "SCHEMA_VALIDATION_FAILED@/States/P;");
    expect_diags(JA("\"P\":{\"Type\":\"Choice\",\"Choices\":[{\"Variable\":\"$.a\",\"IsNull\":true,\"Next\":\"E\"}],"
                    "\"Default\":\"E\"},\"E\":{\"Type\":\"Succeed\"}"),
                 "SCHEMA_VALIDATION_FAILED@/States/P/Choices/0;SCHEMA_VALIDATION_FAILED@/States/P/Choices[0];"
                 "SCHEMA_VALIDATION_FAILED@/States/P/Choices[0];"); /* no Condition; Variable; IsNull */
    /* $states.result in a Task's Output, errorOutput in a catcher's; not the other way round */
    expect_diags(JA("\"P\":{\"Type\":\"Task\",\"Resource\":\"arn:aws:states:::lambda:invoke\",\"Output\":"
                    "\"{% $states.result %}\",\"Catch\":[{\"ErrorEquals\":[\"States.ALL\"],\"Next\":\"E\",\"Output\":"
                    "\"{% $states.errorOutput %}\"}],\"End\":true},\"E\":{\"Type\":\"Succeed\"}"), "");
    expect_diags(JA("\"P\":{\"Type\":\"Task\",\"Resource\":\"arn:aws:states:::lambda:invoke\",\"Arguments\":"
                    "\"{% $states.result %}\",\"Catch\":[{\"ErrorEquals\":[\"States.ALL\"],\"Next\":\"E\",\"Output\":"
                    "\"{% $states.result %}\"}],\"End\":true},\"E\":{\"Type\":\"Succeed\"}"),
                 "SCHEMA_VALIDATION_FAILED@/States/P/Arguments;SCHEMA_VALIDATION_FAILED@/States/P/Catch/0/Output;");
    /* JSONata fields in a JSONPath state */
    expect_diags("{\"StartAt\":\"P\",\"States\":{\"P\":{\"Type\":\"Pass\",\"Output\":1,\"End\":true}}}",
                 "SCHEMA_VALIDATION_FAILED@/States/P;");
    /* a JSONata state in a JSONPath machine runs */
    char *err = NULL;
    json_t *out = run_pass("{\"StartAt\":\"P\",\"States\":{\"P\":{\"Type\":\"Pass\",\"QueryLanguage\":\"JSONata\","
                           "\"Output\":\"{% $states.input.a + 1 %}\",\"End\":true}}}", "{\"a\":1}", &err);
    assert_non_null(out);
    assert_int_equal(json_integer_value(out), 2);
    json_decref(out);
}

/* Assign and Output side by side from the variables as the state was
 * entered; Choice Condition; $states.context. */
static void test_jsonata_data_flow(void **state)
{
    (void)state;
    const char *def = JA("\"P\":{\"Type\":\"Pass\",\"Assign\":{\"x\":1},\"Next\":\"Q\"},"
                         "\"Q\":{\"Type\":\"Pass\",\"Assign\":{\"x\":\"{% $x + 1 %}\",\"y\":\"{% $x %}\"},"
                         "\"Output\":{\"x\":\"{% $x %}\",\"in\":\"{% $states.input.v %}\","
                         "\"name\":\"{% $states.context.State.Name %}\"},\"Next\":\"C\"},"
                         "\"C\":{\"Type\":\"Choice\",\"Choices\":[{\"Condition\":\"{% $x = 2 and $y = 1 %}\","
                         "\"Next\":\"E\",\"Output\":{\"seen\":\"{% $states.input %}\",\"y\":\"{% $y %}\"}}],"
                         "\"Default\":\"F\"},\"E\":{\"Type\":\"Succeed\"},\"F\":{\"Type\":\"Fail\",\"Error\":\"No\"}");
    char *err = NULL;
    json_t *out = run_pass(def, "{\"v\":[1,2]}", &err);
    json_t *want = json_loads("{\"seen\":{\"x\":1,\"in\":[1,2],\"name\":\"Q\"},\"y\":1}", 0, NULL);
    if (!json_equal(out, want))
        fail_msg("got %s (%s)", out ? json_dumps(out, 0) : "nothing", err ? err : "");
    json_decref(out);
    json_decref(want);
    free(err);
}

/* A Task: Arguments and TimeoutSeconds as expressions, $states.result in
 * Output; an evaluation error is an EvaluationFailed event, retried, then
 * caught with $states.errorOutput. */
static void test_jsonata_task(void **state)
{
    (void)state;
    const char *text = JA("\"P\":{\"Type\":\"Task\",\"Resource\":\"arn:aws:lambda:us-east-1:1:function:f\","
                          "\"Arguments\":{\"n\":\"{% $states.input.n * 2 %}\"},\"TimeoutSeconds\":\"{% 3 + 4 %}\","
                          "\"Output\":{\"r\":\"{% $states.result.v %}\"},"
                          "\"Retry\":[{\"ErrorEquals\":[\"States.QueryEvaluationError\"],\"MaxAttempts\":1}],"
                          "\"Catch\":[{\"ErrorEquals\":[\"States.ALL\"],\"Next\":\"E\","
                          "\"Output\":{\"e\":\"{% $states.errorOutput.Error %}\",\"in\":\"{% $states.input %}\"}}],"
                          "\"End\":true},\"E\":{\"Type\":\"Succeed\"}");
    sy_asl_def_t *def = sy_asl_def_parse(text, strlen(text), 0, NULL);
    assert_non_null(def);
    json_t *in = json_pack("{s:i}", "n", 21);
    sy_asl_exec_t *x = sy_asl_exec_new(def, in, NULL, 1000);
    const sy_asl_req_t *reqs;
    size_t n;
    assert_int_equal(sy_asl_exec_step(x, &reqs, &n), SY_ASL_RUNNING);
    assert_int_equal(n, 1);
    assert_int_equal(reqs[0].timeout_s, 7);
    assert_int_equal(json_integer_value(json_object_get(reqs[0].input, "n")), 42);
    /* the result has no "v": Output is undefined -> States.QueryEvaluationError, retried once */
    json_t *res = json_pack("{s:i}", "w", 1);
    assert_int_equal(sy_asl_exec_resume_task(x, reqs[0].id, res, NULL, NULL), 0);
    assert_int_equal(sy_asl_exec_step(x, &reqs, &n), SY_ASL_RUNNING);
    assert_int_equal(reqs[0].kind, SY_ASL_REQ_TIMER);
    sy_asl_exec_resume_timer(x, reqs[0].id);
    assert_int_equal(sy_asl_exec_step(x, &reqs, &n), SY_ASL_RUNNING);
    assert_int_equal(reqs[0].kind, SY_ASL_REQ_TASK);
    assert_int_equal(sy_asl_exec_resume_task(x, reqs[0].id, res, NULL, NULL), 0);
    assert_int_equal(sy_asl_exec_step(x, &reqs, &n), SY_ASL_SUCCEEDED);
    json_t *want = json_pack("{s:s,s:{s:i}}", "e", "States.QueryEvaluationError", "in", "n", 21);
    assert_true(json_equal(sy_asl_exec_output(x), want));
    json_decref(want);
    int evals = 0;
    size_t i;
    json_t *ev;
    json_array_foreach(sy_asl_exec_history(x), i, ev)
    {
        if (strcmp(json_string_value(json_object_get(ev, "type")), "EvaluationFailed"))
            continue;
        json_t *d = json_object_get(ev, "evaluationFailedEventDetails");
        assert_string_equal(json_string_value(json_object_get(d, "location")), "Output/r");
        assert_string_equal(json_string_value(json_object_get(d, "cause")),
                            "An error occurred while executing the state 'P' (entered at the event id #2). The "
                            "JSONata expression '$states.result.v' specified for the field 'Output/r' returned "
                            "nothing (undefined).");
        evals++;
    }
    assert_int_equal(evals, 2);
    json_decref(res);
    json_decref(in);
    sy_asl_exec_destroy(&x);
    sy_asl_def_destroy(&def);
    /* a JSONata error in a Pass fails the execution with the evaluator's code and message */
    char *err = NULL;
    assert_null(run_pass(JA("\"P\":{\"Type\":\"Pass\",\"Output\":\"{% 'a' + 1 %}\",\"End\":true}"), "{}", &err));
    assert_string_equal(err, "States.QueryEvaluationError");
    free(err);
}

/* History on: event 2 has previousEventId 0 (as AWS records it), then the
 * chain; payload text escapes as jansson does. History off: same output and
 * no events (EXPRESS). */
static void test_history_switch(void **state)
{
    (void)state;
    const char *text = "{\"StartAt\":\"A\",\"States\":{\"A\":{\"Type\":\"Pass\",\"Next\":\"B\"},"
                       "\"B\":{\"Type\":\"Pass\",\"End\":true}}}";
    sy_asl_def_t *def = sy_asl_def_parse(text, strlen(text), 0, NULL);
    assert_non_null(def);
    json_t *in = json_pack("{s:s}", "s", "q\"\\/\n\x01\xc3\xa9");
    for (int on = 1; on >= 0; on--) {
        sy_asl_exec_t *x = sy_asl_exec_new(def, in, NULL, 1700000000000LL);
        sy_asl_exec_set_history(x, on);
        assert_int_equal(sy_asl_exec_step(x, NULL, NULL), SY_ASL_SUCCEEDED);
        assert_true(json_equal(sy_asl_exec_output(x), in));
        const json_t *h = sy_asl_exec_history(x);
        if (on) {
            assert_int_equal(json_array_size(h), 6);
            json_int_t want[] = {0, 0, 2, 3, 4, 5};
            for (size_t i = 0; i < 6; i++)
                assert_int_equal(json_integer_value(json_object_get(json_array_get(h, i), "previousEventId")), want[i]);
            const char *shown = json_string_value(
                json_object_get(json_object_get(json_array_get(h, 1), "stateEnteredEventDetails"), "input"));
            char *j = json_dumps(in, JSON_COMPACT);
            assert_string_equal(shown, j);
            free(j);
        } else {
            assert_int_equal(json_array_size(h), 0);
        }
        sy_asl_exec_destroy(&x);
    }
    json_decref(in);
    sy_asl_def_destroy(&def);
}

/* AWS's quota: a STANDARD execution's history holds 25,000 events; one that
 * needs more fails with States.Runtime. A loop of 4 events an iteration. */
static void test_history_quota(void **state)
{
    (void)state;
    for (int limit = 5000; limit <= 7000; limit += 2000) {
        char text[640];
        snprintf(text, sizeof text,
                 "{\"StartAt\":\"Loop\",\"States\":{"
                 "\"Loop\":{\"Type\":\"Pass\",\"Parameters\":{\"i.$\":\"States.MathAdd($.i, 1)\"},\"Next\":\"Check\"},"
                 "\"Check\":{\"Type\":\"Choice\",\"Choices\":[{\"Variable\":\"$.i\",\"NumericLessThan\":%d,"
                 "\"Next\":\"Loop\"}],\"Default\":\"Done\"},\"Done\":{\"Type\":\"Succeed\"}}}",
                 limit);
        sy_asl_def_t *def = sy_asl_def_parse(text, strlen(text), 0, NULL);
        assert_non_null(def);
        json_t *in = json_pack("{s:i}", "i", 0);
        sy_asl_exec_t *x = sy_asl_exec_new(def, in, NULL, 1700000000000LL);
        sy_asl_status_t st = sy_asl_exec_step(x, NULL, NULL);
        const json_t *h = sy_asl_exec_history(x);
        if (limit == 5000) { /* started + 4 a loop + Succeed entered/exited + succeeded */
            assert_int_equal(st, SY_ASL_SUCCEEDED);
            assert_int_equal(json_array_size(h), 1 + 4 * 5000 + 2 + 1);
        } else { /* 28,000 would be needed */
            assert_int_equal(st, SY_ASL_FAILED);
            assert_string_equal(sy_asl_exec_error(x), "States.Runtime");
            assert_non_null(strstr(sy_asl_exec_cause(x), "25000"));
            const json_t *last = json_array_get(h, json_array_size(h) - 1);
            assert_string_equal(json_string_value(json_object_get(last, "type")), "ExecutionFailed");
            assert_true(json_array_size(h) <= SY_ASL_HISTORY_MAX + 3);
            assert_true(json_array_size(h) > SY_ASL_HISTORY_MAX);
        }
        json_decref(in);
        sy_asl_exec_destroy(&x);
        sy_asl_def_destroy(&def);
    }
}

/* Run def (validated as sy_asl_def_parse does) with the given variables
 * already set (TestState's `variables`); returns the status, error/cause copied. */
static sy_asl_status_t run_vars(const char *def_text, const char *input, const char *vars, char **error,
                                char **cause)
{
    json_t *diags = NULL;
    sy_asl_def_t *def = sy_asl_def_parse(def_text, strlen(def_text), 0, &diags);
    if (!def)
        fail_msg("rejected: %s", sy_asl_diagnostics_message(diags));
    json_t *in = json_loads(input, JSON_DECODE_ANY, NULL);
    sy_asl_exec_t *x = sy_asl_exec_new(def, in, NULL, 1700000000000LL);
    sy_asl_exec_set_history(x, false); /* the size tests would write ~20 MiB of events */
    if (vars) {
        json_t *v = json_loads(vars, 0, NULL);
        sy_asl_exec_set_variables(x, v);
        json_decref(v);
    }
    const sy_asl_req_t *reqs;
    size_t n;
    sy_asl_status_t s = sy_asl_exec_step(x, &reqs, &n);
    *error = sy_asl_exec_error(x) ? strdup(sy_asl_exec_error(x)) : NULL;
    *cause = sy_asl_exec_cause(x) ? strdup(sy_asl_exec_cause(x)) : NULL;
    sy_asl_exec_destroy(&x);
    sy_asl_def_destroy(&def);
    json_decref(in);
    return s;
}

#define SP(states) "{\"StartAt\":\"A\",\"States\":{" states "}}"
#define MAPOF(name, mode, inner) \
    "\"" name "\":{\"Type\":\"Map\",\"ItemsPath\":\"$.items\",\"ItemProcessor\":{\"ProcessorConfig\":{\"Mode\":\"" mode \
    "\",\"ExecutionType\":\"STANDARD\"},\"StartAt\":\"I\",\"States\":{" inner "}}"

/* Scopes: an inner scope cannot assign a name that may exist around it when
 * it starts (validation, flow-sensitive); sibling branches are isolated; a
 * catcher's Assign runs after the branches; a distributed Map's processor is
 * a scope of its own. */
static void test_variable_scopes(void **state)
{
    (void)state;
    /* Map and Parallel inner scopes assigning an outer name */
    expect_diags(SP("\"A\":{\"Type\":\"Pass\",\"Assign\":{\"x\":1},\"Next\":\"M\"}," MAPOF("M", "INLINE",
                    "\"I\":{\"Type\":\"Pass\",\"Assign\":{\"x.$\":\"$\"},\"End\":true}") ",\"End\":true}"),
                 "SCHEMA_VALIDATION_FAILED@/States/M/ItemProcessor/States/I/Assign;");
    expect_diags(SP("\"A\":{\"Type\":\"Pass\",\"Assign\":{\"x\":1},\"Next\":\"P\"},\"P\":{\"Type\":\"Parallel\","
                    "\"Branches\":[{\"StartAt\":\"B\",\"States\":{\"B\":{\"Type\":\"Pass\",\"End\":true}}},"
                    "{\"StartAt\":\"C\",\"States\":{\"C\":{\"Type\":\"Choice\",\"Choices\":[{\"Variable\":\"$.a\","
                    "\"IsPresent\":true,\"Next\":\"D\",\"Assign\":{\"x\":2}}],\"Default\":\"D\"},"
                    "\"D\":{\"Type\":\"Succeed\"}}}],\"End\":true}"),
                 "SCHEMA_VALIDATION_FAILED@/States/P/Branches/1/States/C/Choices/0/Assign;");
    /* two levels down: the middle scope's name */
    expect_diags(SP(MAPOF("A", "INLINE", "\"I\":{\"Type\":\"Pass\",\"Assign\":{\"m\":1},\"Next\":\"N\"},"
                    "\"N\":{\"Type\":\"Parallel\",\"Branches\":[{\"StartAt\":\"B\",\"States\":{\"B\":{\"Type\":\"Pass\","
                    "\"Assign\":{\"m\":2},\"End\":true}}}],\"End\":true}") ",\"End\":true}"),
                 "SCHEMA_VALIDATION_FAILED@/States/A/ItemProcessor/States/N/Branches/0/States/B/Assign;");
    /* accepted: siblings, the state's own catcher (runs after), a later state, a distributed processor */
    expect_diags(SP("\"A\":{\"Type\":\"Parallel\",\"Branches\":[{\"StartAt\":\"B\",\"States\":{\"B\":{\"Type\":\"Pass\","
                    "\"Assign\":{\"x\":1},\"End\":true}}},{\"StartAt\":\"C\",\"States\":{\"C\":{\"Type\":\"Pass\","
                    "\"Assign\":{\"x\":2},\"End\":true}}}],\"Assign\":{\"x\":3},\"Catch\":[{\"ErrorEquals\":"
                    "[\"States.ALL\"],\"Assign\":{\"x\":4},\"Next\":\"L\"}],\"Next\":\"L\"},"
                    "\"L\":{\"Type\":\"Pass\",\"Assign\":{\"x\":5},\"End\":true}"),
                 "");
    expect_diags(SP("\"A\":{\"Type\":\"Pass\",\"Assign\":{\"x\":1},\"Next\":\"M\"}," MAPOF("M", "DISTRIBUTED",
                    "\"I\":{\"Type\":\"Pass\",\"Assign\":{\"x\":2},\"End\":true}") ",\"End\":true}"),
                 "");
    /* ...but a loop back makes the later assignment exist before the Map */
    expect_diags(SP(MAPOF("A", "INLINE", "\"I\":{\"Type\":\"Pass\",\"Assign\":{\"x\":2},\"End\":true}") ",\"Next\":\"L\"},"
                    "\"L\":{\"Type\":\"Pass\",\"Assign\":{\"x\":5},\"Next\":\"C\"},\"C\":{\"Type\":\"Choice\","
                    "\"Choices\":[{\"Variable\":\"$x\",\"NumericEquals\":5,\"Next\":\"E\"}],\"Default\":\"A\"},"
                    "\"E\":{\"Type\":\"Succeed\"}"),
                 "SCHEMA_VALIDATION_FAILED@/States/A/ItemProcessor/States/I/Assign;");

    char *err = NULL, *cause = NULL;
    /* branch assignments do not leak out of a Parallel */
    assert_int_equal(run_vars(SP("\"A\":{\"Type\":\"Parallel\",\"Branches\":[{\"StartAt\":\"B\",\"States\":{\"B\":"
                                 "{\"Type\":\"Pass\",\"Assign\":{\"inner\":1},\"End\":true}}}],\"Next\":\"R\"},"
                                 "\"R\":{\"Type\":\"Pass\",\"InputPath\":\"$inner\",\"End\":true}"),
                             "{}", NULL, &err, &cause),
                     SY_ASL_FAILED);
    assert_string_equal(err, "States.Runtime");
    free(err);
    free(cause);
    /* an inline iteration reads the outer variable, a distributed one does not see it */
    const char *reads = SP("\"A\":{\"Type\":\"Pass\",\"Assign\":{\"x\":7},\"Next\":\"M\"}," MAPOF("M", "%s",
                           "\"I\":{\"Type\":\"Pass\",\"Parameters\":{\"v.$\":\"$x\"},\"End\":true}") ",\"End\":true}");
    char def[2048];
    snprintf(def, sizeof def, reads, "INLINE");
    json_t *out = run_pass(def, "{\"items\":[1]}", NULL);
    assert_non_null(out);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(out, 0), "v")), 7);
    json_decref(out);
    snprintf(def, sizeof def, reads, "DISTRIBUTED");
    assert_int_equal(run_vars(def, "{\"items\":[1]}", NULL, &err, &cause), SY_ASL_FAILED);
    assert_string_equal(err, "States.Runtime");
    assert_non_null(strstr(cause, "'$x'"));
    free(err);
    free(cause);
    /* at run time (TestState's variables are outer to every scope): States.Runtime */
    assert_int_equal(run_vars(SP(MAPOF("A", "INLINE", "\"I\":{\"Type\":\"Pass\",\"Assign\":{\"x\":2},\"End\":true}")
                                 ",\"End\":true}"),
                             "{\"items\":[1]}", "{\"x\":1}", &err, &cause),
                     SY_ASL_FAILED);
    assert_string_equal(err, "States.Runtime");
    assert_non_null(strstr(cause, "'x' belongs to an outer scope"));
    free(err);
    free(cause);
}

/* Size quotas: 256 KiB a variable and an Assign, 10 MiB held. */
static void test_variable_sizes(void **state)
{
    (void)state;
    size_t big = 250 * 1024; /* JSON text: 250 KiB - 2 quotes + 2 */
    char *s = malloc(big + 32);
    memset(s, 'a', big - 2);
    s[big - 2] = 0;
    json_t *in = json_pack("{s:s}", "s", s);
    char *input = json_dumps(in, 0);
    json_decref(in);
    free(s);
    char *err = NULL, *cause = NULL;
    /* one variable over 256 KiB (JSONata: twice the string) */
    assert_int_equal(run_vars(JA("\"P\":{\"Type\":\"Pass\",\"Assign\":{\"v\":\"{% $states.input.s & $states.input.s %}\"},"
                                 "\"End\":true}"), input, NULL, &err, &cause),
                     SY_ASL_FAILED);
    assert_string_equal(err, "States.DataLimitExceeded");
    assert_non_null(strstr(cause, "for one variable"));
    free(err);
    free(cause);
    /* two of 250 KiB in one Assign; not caught by States.ALL */
    assert_int_equal(run_vars(SP("\"A\":{\"Type\":\"Pass\",\"Assign\":{\"a.$\":\"$.s\",\"b.$\":\"$.s\"},\"End\":true}"),
                              input, NULL, &err, &cause),
                     SY_ASL_FAILED);
    assert_string_equal(err, "States.DataLimitExceeded");
    assert_non_null(strstr(cause, "for one Assign"));
    free(err);
    free(cause);
    /* 40 states of 250 KiB each fit in 10 MiB (reassigning one does not count twice); 41 do not */
    for (int n = 40; n <= 41; n++) {
        size_t cap = 64 * 1024, len = 0;
        char *d = malloc(cap);
        len += (size_t)snprintf(d + len, cap - len, "{\"StartAt\":\"S0\",\"States\":{");
        for (int i = 0; i < n; i++)
            len += (size_t)snprintf(d + len, cap - len, "\"S%d\":{\"Type\":\"Pass\",\"Assign\":{\"v%d.$\":\"$.s\"},"
                                    "\"Next\":\"S%d\"},", i, i, i + 1);
        len += (size_t)snprintf(d + len, cap - len, "\"S%d\":{\"Type\":\"Pass\",\"Assign\":{\"v0.$\":\"$.s\"},"
                                "\"End\":true}}}", n);
        sy_asl_status_t st = run_vars(d, input, NULL, &err, &cause);
        if (n == 40) {
            if (st != SY_ASL_SUCCEEDED)
                fail_msg("40 variables: %s %s", err ? err : "", cause ? cause : "");
        } else {
            assert_int_equal(st, SY_ASL_FAILED);
            assert_string_equal(err, "States.DataLimitExceeded");
            assert_non_null(strstr(cause, "'S40'"));
        }
        free(err);
        free(cause);
        free(d);
    }
    free(input);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_jsonpath),     cmocka_unit_test(test_intrinsics), cmocka_unit_test(test_choice),
        cmocka_unit_test(test_retry_catch), cmocka_unit_test(test_validate), cmocka_unit_test(test_variables),
        cmocka_unit_test(test_task_token), cmocka_unit_test(test_item_reader), cmocka_unit_test(test_jsonata_validate),
        cmocka_unit_test(test_jsonata_data_flow), cmocka_unit_test(test_jsonata_task),
        cmocka_unit_test(test_history_switch), cmocka_unit_test(test_history_quota),
        cmocka_unit_test(test_variable_scopes), cmocka_unit_test(test_variable_sizes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
