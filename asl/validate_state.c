/* Per-state validation rules. */
#include "asl/internal.h"

#include <math.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#define SVF "SCHEMA_VALIDATION_FAILED"

static const char *COMMON[] = {"Type", "Comment", "QueryLanguage", "Assign", "Output", NULL};
static const char *PASS[] = {"Next", "End", "InputPath", "OutputPath", "Parameters", "ResultPath", "Result", NULL};
static const char *TASK[] = {"Next", "End", "InputPath", "OutputPath", "Parameters", "ResultSelector",
                             "ResultPath", "Retry", "Catch", "Resource", "TimeoutSeconds", "TimeoutSecondsPath",
                             "HeartbeatSeconds", "HeartbeatSecondsPath", "Credentials", "Arguments", NULL};
static const char *CHOICE[] = {"Choices", "Default", "InputPath", "OutputPath", NULL};
static const char *WAIT[] = {"Next", "End", "InputPath", "OutputPath", "Seconds", "Timestamp", "SecondsPath",
                             "TimestampPath", NULL};
static const char *SUCCEED[] = {"InputPath", "OutputPath", NULL};
static const char *FAIL[] = {"Error", "ErrorPath", "Cause", "CausePath", NULL};
static const char *PARALLEL[] = {"Next", "End", "InputPath", "OutputPath", "Parameters", "ResultSelector",
                                 "ResultPath", "Retry", "Catch", "Branches", "Arguments", NULL};
static const char *MAP[] = {"Next", "End", "InputPath", "OutputPath", "ItemsPath", "ItemSelector", "Parameters",
                            "ResultSelector", "ResultPath", "Retry", "Catch", "ItemProcessor", "Iterator",
                            "MaxConcurrency", "MaxConcurrencyPath", "ToleratedFailureCount",
                            "ToleratedFailureCountPath", "ToleratedFailurePercentage",
                            "ToleratedFailurePercentagePath", "ItemReader", "ItemBatcher", "ResultWriter", "Label",
                            "Items", NULL};
static const char *JSONPATH_ONLY[] = {"InputPath", "OutputPath", "Parameters", "ResultSelector", "ResultPath",
                                      "ItemsPath", "SecondsPath", "TimestampPath", "ErrorPath", "CausePath",
                                      "TimeoutSecondsPath", "HeartbeatSecondsPath", "MaxConcurrencyPath",
                                      "ToleratedFailureCountPath", "ToleratedFailurePercentagePath", NULL};

static bool in_list(const char **l, const char *k)
{
    for (; *l; l++)
        if (!strcmp(*l, k))
            return true;
    return false;
}

static bool is_jsonata_expr(const json_t *v)
{
    const char *s = json_string_value(v);
    size_t n = s ? strlen(s) : 0;
    return n >= 4 && !strncmp(s, "{%", 2) && !strcmp(s + n - 2, "%}");
}

static void check_path_field(asl_vctx_t *v, const json_t *st, const char *k, const char *loc, bool ref, bool nullable)
{
    json_t *p = json_object_get(st, k);
    if (!p)
        return;
    if (json_is_null(p)) {
        if (!nullable)
            asl_diag(v, SVF, loc, "The value for the field '%s' must not be null", k);
        return;
    }
    const char *s = json_string_value(p);
    bool var = s && s[0] == '$' && (isalpha((unsigned char)s[1]) || s[1] == '_');
    if (!s || !asl_jp_valid(s) || (ref && !asl_jp_is_reference(s)) ||
        (!strcmp(k, "ResultPath") && (s[1] == '$' || var))) /* ResultPath writes the document only */
        asl_diag(v, SVF, loc, "The value for the field '%s' must be a valid JSONPath", k);
}

static void check_template(asl_vctx_t *v, const json_t *t, const char *loc)
{
    if (json_is_array(t)) {
        size_t i;
        json_t *e;
        json_array_foreach(t, i, e) check_template(v, e, loc);
        return;
    }
    if (!json_is_object(t))
        return;
    const char *k;
    json_t *e;
    json_object_foreach((json_t *)t, k, e)
    {
        size_t kl = strlen(k);
        if (kl > 2 && !strcmp(k + kl - 2, ".$")) {
            char *base = strndup(k, kl - 2);
            if (json_object_get(t, base))
                asl_diag(v, SVF, loc, "The field '%s' appears twice (with and without '.$')", base);
            free(base);
            const char *s = json_string_value(e);
            char *err = NULL;
            bool ok = s && (asl_is_intrinsic(s) ? asl_intrinsic_valid(s, &err) : asl_jp_valid(s));
            if (!ok)
                asl_diag(v, SVF, loc,
                         "The value for the field '%s' must be a valid JSONPath or a valid intrinsic function call",
                         k);
            free(err);
        } else {
            check_template(v, e, loc);
        }
    }
}

static bool pos_int(const json_t *x)
{
    return json_is_integer(x) && json_integer_value(x) > 0;
}

static bool nonneg_int(const json_t *x)
{
    return json_is_integer(x) && json_integer_value(x) >= 0;
}

static void check_error_equals(asl_vctx_t *v, const json_t *list, bool last, const char *loc)
{
    if (!json_is_array(list) || json_array_size(list) == 0) {
        asl_diag(v, SVF, loc, "ErrorEquals must be a non-empty array of strings");
        return;
    }
    size_t i;
    json_t *e;
    json_array_foreach(list, i, e)
    {
        if (!json_is_string(e)) {
            asl_diag(v, SVF, loc, "ErrorEquals must be a non-empty array of strings");
            return;
        }
        if (!strcmp(json_string_value(e), "States.ALL") && (json_array_size(list) != 1 || !last))
            asl_diag(v, SVF, loc, "States.ALL must appear alone in the last retrier or catcher");
    }
}

static void check_retry(asl_vctx_t *v, const json_t *retry, const char *loc)
{
    if (!json_is_array(retry)) {
        asl_diag(v, SVF, loc, "Retry must be an array");
        return;
    }
    size_t i, n = json_array_size(retry);
    json_t *r;
    json_array_foreach(retry, i, r)
    {
        const char *k;
        json_t *e;
        json_object_foreach(r, k, e)
        {
            if (strcmp(k, "ErrorEquals") && strcmp(k, "IntervalSeconds") && strcmp(k, "MaxAttempts") &&
                strcmp(k, "BackoffRate") && strcmp(k, "MaxDelaySeconds") && strcmp(k, "JitterStrategy") &&
                strcmp(k, "Comment"))
                asl_diag(v, SVF, loc, "Field '%s' is not supported in a retrier", k);
        }
        check_error_equals(v, json_object_get(r, "ErrorEquals"), i == n - 1, loc);
        json_t *x;
        if ((x = json_object_get(r, "IntervalSeconds")) && (!pos_int(x) || json_integer_value(x) > 99999999))
            asl_diag(v, SVF, loc, "IntervalSeconds must be a positive integer");
        if ((x = json_object_get(r, "MaxAttempts")) && (!nonneg_int(x) || json_integer_value(x) > 99999999))
            asl_diag(v, SVF, loc, "MaxAttempts must be a non-negative integer");
        if ((x = json_object_get(r, "BackoffRate")) && (!json_is_number(x) || json_number_value(x) < 1.0))
            asl_diag(v, SVF, loc, "BackoffRate: allowed minimum is 1");
        if ((x = json_object_get(r, "MaxDelaySeconds")) && !pos_int(x))
            asl_diag(v, SVF, loc, "MaxDelaySeconds must be a positive integer");
        if ((x = json_object_get(r, "JitterStrategy")) &&
            (!json_is_string(x) || (strcmp(json_string_value(x), "FULL") && strcmp(json_string_value(x), "NONE"))))
            asl_diag(v, SVF, loc, "JitterStrategy is not one of the allowed values [\"FULL\", \"NONE\"]");
    }
}

static void check_catch(asl_vctx_t *v, const json_t *c, const char *loc)
{
    if (!json_is_array(c)) {
        asl_diag(v, SVF, loc, "Catch must be an array");
        return;
    }
    size_t i, n = json_array_size(c);
    json_t *r;
    json_array_foreach(c, i, r)
    {
        const char *k;
        json_t *e;
        json_object_foreach(r, k, e)
        {
            if (strcmp(k, "ErrorEquals") && strcmp(k, "Next") && strcmp(k, "ResultPath") && strcmp(k, "Comment") &&
                strcmp(k, "Assign") && strcmp(k, "Output"))
                asl_diag(v, SVF, loc, "Field '%s' is not supported in a catcher", k);
        }
        check_error_equals(v, json_object_get(r, "ErrorEquals"), i == n - 1, loc);
        if (!json_is_string(json_object_get(r, "Next")))
            asl_diag(v, SVF, loc, "The field 'Next' is required in a catcher");
        check_path_field(v, r, "ResultPath", loc, true, true);
    }
}

void asl_validate_choice(asl_vctx_t *v, const json_t *st, const char *loc);
void asl_validate_task(asl_vctx_t *v, const json_t *st, const char *loc);
void asl_validate_map(asl_vctx_t *v, const json_t *st, const char *loc);

static const char **fields_for(const char *type)
{
    static const struct {
        const char *t;
        const char **f;
    } tab[] = {{"Pass", PASS},       {"Task", TASK}, {"Choice", CHOICE},     {"Wait", WAIT},
               {"Succeed", SUCCEED}, {"Fail", FAIL}, {"Parallel", PARALLEL}, {"Map", MAP}};
    for (size_t i = 0; i < sizeof tab / sizeof *tab; i++)
        if (!strcmp(type, tab[i].t))
            return tab[i].f;
    return NULL;
}

static void check_fields(asl_vctx_t *v, const json_t *st, const char **allowed, bool jsonata, const char *loc)
{
    const char *k;
    json_t *e;
    json_object_foreach((json_t *)st, k, e)
    {
        if (in_list(COMMON, k) || in_list(allowed, k)) {
            if (jsonata && in_list(JSONPATH_ONLY, k))
                asl_diag(v, SVF, loc, "The field '%s' is not supported when QueryLanguage is JSONata", k);
            continue;
        }
        asl_diag(v, SVF, loc, "Field '%s' is not supported", k);
    }
    if (!jsonata && json_object_get(st, "Output"))
        asl_diag(v, SVF, loc, "The field 'Output' is only supported when QueryLanguage is JSONata");
    if (!jsonata && json_object_get(st, "Arguments"))
        asl_diag(v, SVF, loc, "The field 'Arguments' is only supported when QueryLanguage is JSONata");
}

static void check_next_end(asl_vctx_t *v, const char *type, const json_t *st, const char *loc)
{
    bool flow = !strcmp(type, "Choice") || !strcmp(type, "Succeed") || !strcmp(type, "Fail");
    json_t *next = json_object_get(st, "Next"), *end = json_object_get(st, "End");
    if (flow) {
        if (next || end)
            asl_diag(v, SVF, loc, "Field '%s' is not supported", next ? "Next" : "End");
        return;
    }
    if (end && !json_is_boolean(end))
        asl_diag(v, SVF, loc, "The field 'End' must be a boolean");
    bool is_end = json_is_true(end);
    if (next && is_end)
        asl_diag(v, SVF, loc, "Only one of 'Next' or 'End' may be given");
    else if (!next && !is_end)
        asl_diag(v, SVF, loc, "Either 'Next' or 'End' is required");
    if (next && !json_is_string(next))
        asl_diag(v, SVF, loc, "The field 'Next' must be a string");
}

static void check_wait(asl_vctx_t *v, const json_t *st, bool jsonata, const char *loc)
{
    static const char *k[] = {"Seconds", "Timestamp", "SecondsPath", "TimestampPath"};
    int n = 0;
    for (int i = 0; i < 4; i++)
        n += json_object_get(st, k[i]) != NULL;
    if (n != 1)
        asl_diag(v, SVF, loc, "A Wait state needs exactly one of Seconds, Timestamp, SecondsPath, TimestampPath");
    json_t *s = json_object_get(st, "Seconds");
    if (s && !(jsonata && is_jsonata_expr(s)) && !nonneg_int(s))
        asl_diag(v, SVF, loc, "Seconds must be a non-negative integer");
    json_t *ts = json_object_get(st, "Timestamp");
    if (ts && !(jsonata && is_jsonata_expr(ts)) &&
        (!json_is_string(ts) || !asl_parse_timestamp(json_string_value(ts), NULL))) {
        char *l = sy_asprintf("%s/Timestamp", loc);
        asl_diag(v, SVF, l, "String does not match RFC3339 timestamp");
        free(l);
    }
    check_path_field(v, st, "SecondsPath", loc, true, false);
    check_path_field(v, st, "TimestampPath", loc, true, false);
}

static void check_fail(asl_vctx_t *v, const json_t *st, const char *loc)
{
    if (json_object_get(st, "Error") && json_object_get(st, "ErrorPath"))
        asl_diag(v, SVF, loc, "may have only one of [\"Error\", \"ErrorPath\"]");
    if (json_object_get(st, "Cause") && json_object_get(st, "CausePath"))
        asl_diag(v, SVF, loc, "may have only one of [\"Cause\", \"CausePath\"]");
    static const char *paths[] = {"ErrorPath", "CausePath"};
    for (int i = 0; i < 2; i++) {
        const char *p = asl_gets(st, paths[i]);
        if (json_object_get(st, paths[i]) &&
            (!p || !(asl_is_intrinsic(p) ? asl_intrinsic_valid(p, NULL) : asl_jp_valid(p))))
            asl_diag(v, SVF, loc, "The value for the field '%s' must be a valid JSONPath or intrinsic", paths[i]);
    }
}

static void check_parallel(asl_vctx_t *v, const json_t *st, const char *loc)
{
    json_t *b = json_object_get(st, "Branches");
    char *l = sy_asprintf("%s/Branches", loc);
    if (!json_is_array(b) || json_array_size(b) == 0) {
        asl_diag(v, SVF, l, "Value cannot be empty");
    } else {
        size_t i;
        json_t *e;
        json_array_foreach(b, i, e)
        {
            char *bl = sy_asprintf("%s[%zu]", l, i);
            asl_validate_scope(v, e, bl);
            free(bl);
        }
    }
    free(l);
}

void asl_validate_state(asl_vctx_t *v, const char *name, const json_t *st, const char *loc)
{
    (void)name;
    if (!json_is_object(st)) {
        asl_diag(v, SVF, loc, "A state must be an object");
        return;
    }
    const char *type = asl_gets(st, "Type");
    const char **allowed = type ? fields_for(type) : NULL;
    if (!allowed) {
        char *l = sy_asprintf("%s/Type", loc);
        asl_diag(v, SVF, l, "The field 'Type' should have one of these values: [Task, Wait, Pass, Succeed, Fail, Choice, Parallel, Map]");
        free(l);
        return;
    }
    json_t *ql = json_object_get(st, "QueryLanguage");
    if (ql && v->jsonata && !v->ql_free && json_is_string(ql) && !strcmp(json_string_value(ql), "JSONPath"))
        asl_diag(v, SVF, loc, "'QueryLanguage' can not be 'JSONPath' if set to 'JSONata' for whole state machine");
    bool jsonata = ql ? (json_is_string(ql) && !strcmp(json_string_value(ql), "JSONata")) : v->jsonata;
    v->state_jsonata = jsonata;
    check_fields(v, st, allowed, jsonata, loc);
    check_next_end(v, type, st, loc);
    if (jsonata) {
        asl_validate_jsonata_state(v, type, st, loc);
    } else {
        asl_validate_jsonpath_state(v, type, st, loc);
        check_path_field(v, st, "InputPath", loc, false, true);
        check_path_field(v, st, "OutputPath", loc, false, true);
        check_path_field(v, st, "ResultPath", loc, true, true);
        check_path_field(v, st, "ItemsPath", loc, true, false);
        check_template(v, json_object_get(st, "Parameters"), loc);
        check_template(v, json_object_get(st, "ResultSelector"), loc);
        check_template(v, json_object_get(st, "ItemSelector"), loc);
        check_template(v, json_object_get(st, "Credentials"), loc);
    }
    if (json_object_get(st, "Retry"))
        check_retry(v, json_object_get(st, "Retry"), loc);
    if (json_object_get(st, "Catch"))
        check_catch(v, json_object_get(st, "Catch"), loc);
    if (!strcmp(type, "Wait"))
        check_wait(v, st, jsonata, loc);
    else if (!strcmp(type, "Fail"))
        check_fail(v, st, loc);
    else if (!strcmp(type, "Parallel"))
        check_parallel(v, st, loc);
    else if (!strcmp(type, "Choice"))
        asl_validate_choice(v, st, loc);
    else if (!strcmp(type, "Task"))
        asl_validate_task(v, st, loc);
    else if (!strcmp(type, "Map"))
        asl_validate_map(v, st, loc);
}
