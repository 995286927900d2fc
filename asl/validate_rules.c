/* Validation of Choice rules, Task resources and timeouts, Map settings. */
#include "asl/internal.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#define SVF "SCHEMA_VALIDATION_FAILED"

static const char *OPS[] = {
    "StringEquals", "StringLessThan", "StringGreaterThan", "StringLessThanEquals", "StringGreaterThanEquals",
    "StringMatches", "NumericEquals", "NumericLessThan", "NumericGreaterThan", "NumericLessThanEquals",
    "NumericGreaterThanEquals", "BooleanEquals", "TimestampEquals", "TimestampLessThan",
    "TimestampGreaterThan", "TimestampLessThanEquals", "TimestampGreaterThanEquals", NULL};
static const char *IS_OPS[] = {"IsNull", "IsPresent", "IsNumeric", "IsString", "IsBoolean", "IsTimestamp", NULL};

static bool op_known(const char *k, bool *is_path, bool *is_test)
{
    *is_path = *is_test = false;
    for (const char **o = IS_OPS; *o; o++)
        if (!strcmp(*o, k)) {
            *is_test = true;
            return true;
        }
    size_t kl = strlen(k);
    for (const char **o = OPS; *o; o++) {
        size_t ol = strlen(*o);
        if (!strcmp(*o, k))
            return true;
        if (kl == ol + 4 && !strncmp(*o, k, ol) && !strcmp(k + ol, "Path") && strcmp(*o, "StringMatches")) {
            *is_path = true;
            return true;
        }
    }
    return false;
}

static bool operand_ok(const char *op, const json_t *val)
{
    if (!strncmp(op, "String", 6))
        return json_is_string(val);
    if (!strncmp(op, "Numeric", 7))
        return json_is_number(val);
    if (!strncmp(op, "Boolean", 7))
        return json_is_boolean(val);
    if (!strncmp(op, "Timestamp", 9))
        return json_is_string(val) && asl_parse_timestamp(json_string_value(val), NULL);
    return false;
}

static void check_rule(asl_vctx_t *v, const json_t *r, bool top, bool jsonata, const char *loc)
{
    if (!json_is_object(r)) {
        asl_diag(v, SVF, loc, "A choice rule must be an object");
        return;
    }
    if (top && !json_is_string(json_object_get(r, "Next")))
        asl_diag(v, SVF, loc, "The field 'Next' is required in a choice rule");
    if (!top && json_object_get(r, "Next"))
        asl_diag(v, SVF, loc, "The field 'Next' is only allowed in a top-level choice rule");
    int ops = 0;
    const char *k;
    json_t *e;
    json_object_foreach((json_t *)r, k, e)
    {
        bool is_path, is_test;
        if (!strcmp(k, "Next") || !strcmp(k, "Comment") || !strcmp(k, "Assign") || !strcmp(k, "Output"))
            continue;
        if (!strcmp(k, "Variable")) {
            if (jsonata)
                asl_diag(v, SVF, loc, "The field 'Variable' is not supported when QueryLanguage is JSONata");
            continue;
        }
        ops++;
        if (!strcmp(k, "Condition")) {
            if (!jsonata)
                asl_diag(v, SVF, loc, "The field 'Condition' is only supported when QueryLanguage is JSONata");
        } else if (jsonata && (!strcmp(k, "And") || !strcmp(k, "Or") || !strcmp(k, "Not") ||
                               op_known(k, &is_path, &is_test))) {
            asl_diag(v, SVF, loc, "The field '%s' is not supported when QueryLanguage is JSONata", k);
        } else if (!strcmp(k, "And") || !strcmp(k, "Or")) {
            if (!json_is_array(e) || json_array_size(e) == 0)
                asl_diag(v, SVF, loc, "'%s' must be a non-empty array", k);
            size_t i;
            json_t *s;
            json_array_foreach(e, i, s) check_rule(v, s, false, jsonata, loc);
        } else if (!strcmp(k, "Not")) {
            check_rule(v, e, false, jsonata, loc);
        } else if (op_known(k, &is_path, &is_test)) {
            const char *var = asl_gets(r, "Variable");
            if (!var || !asl_jp_valid(var))
                asl_diag(v, SVF, loc, "The field 'Variable' must be a valid JSONPath");
            if (is_test ? !json_is_boolean(e)
                        : is_path ? !(json_is_string(e) && asl_jp_valid(json_string_value(e)))
                                  : !operand_ok(k, e))
                asl_diag(v, SVF, loc, "The value of '%s' has the wrong type", k);
        } else {
            asl_diag(v, SVF, loc, "Field '%s' is not supported in a choice rule", k);
        }
    }
    if (ops != 1)
        asl_diag(v, SVF, loc, "A choice rule needs exactly one comparison operator");
}

void asl_validate_choice(asl_vctx_t *v, const json_t *st, const char *loc)
{
    json_t *c = json_object_get(st, "Choices");
    if (!json_is_array(c) || json_array_size(c) == 0) {
        asl_diag(v, SVF, loc, "Choices must be a non-empty array");
        return;
    }
    json_t *ql = json_object_get(st, "QueryLanguage");
    bool jsonata = ql ? !strcmp(json_string_value(ql) ? json_string_value(ql) : "", "JSONata") : v->jsonata;
    size_t i;
    json_t *r;
    json_array_foreach(c, i, r)
    {
        char *l = sy_asprintf("%s/Choices[%zu]", loc, i);
        check_rule(v, r, true, jsonata, l);
        free(l);
    }
}

bool asl_resource_supported(const char *res)
{
    static const char *opt[] = {"arn:aws:states:::lambda:invoke", "arn:aws:states:::sqs:sendMessage",
                                "arn:aws:states:::sns:publish", "arn:aws:states:::events:putEvents",
                                "arn:aws:states:::states:startExecution",
                                "arn:aws:states:::states:startExecution.sync",
                                "arn:aws:states:::states:startExecution.sync:2", NULL};
    char *r = sy_strdup(res);
    size_t n = strlen(r);
    const char *wt = ".waitForTaskToken";
    if (n > strlen(wt) && !strcmp(r + n - strlen(wt), wt))
        r[n - strlen(wt)] = 0;
    bool ok = false;
    for (const char **o = opt; *o && !ok; o++)
        ok = !strcmp(r, *o);
    static const char *sdk[] = {"arn:aws:states:::aws-sdk:sqs:", "arn:aws:states:::aws-sdk:sns:",
                                "arn:aws:states:::aws-sdk:eventbridge:", "arn:aws:states:::aws-sdk:sfn:", NULL};
    for (const char **o = sdk; *o && !ok; o++)
        ok = !strncmp(r, *o, strlen(*o)) && strlen(r) > strlen(*o);
    if (!ok && !strncmp(r, "arn:aws:lambda:", 15)) {
        /* arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER] */
        char *parts[9] = {0};
        int np = 0;
        for (char *p = r, *c; np < 9; p = c + 1) {
            parts[np++] = p;
            c = strchr(p, ':');
            if (!c)
                break;
            *c = 0;
        }
        ok = (np == 7 || np == 8) && !strcmp(parts[5], "function") && *parts[3] && *parts[4] && *parts[6];
    }
    free(r);
    return ok;
}

static bool lambda_arn_ok(const char *res)
{
    if (strncmp(res, "arn:aws:lambda:", 15) != 0)
        return true;
    const char *fn = strstr(res, ":function:");
    if (!fn)
        return true;
    const char *q = strchr(fn + 10, ':');
    if (!q)
        return true;
    q++;
    if (!*q)
        return false;
    for (; *q; q++)
        if (!isalnum((unsigned char)*q) && *q != '-' && *q != '_' && *q != '$')
            return false;
    return true;
}

/* An ARN, a URI ("scheme:rest", as the spec allows) or a whole CloudFormation
 * "${name}" substitution left for deployment tools. */
static bool resource_form_ok(const char *res)
{
    if (!strncmp(res, "arn:", 4))
        return lambda_arn_ok(res);
    size_t n = strlen(res);
    if (n > 3 && res[0] == '$' && res[1] == '{' && res[n - 1] == '}' && !strchr(res + 2, '{'))
        return true;
    const char *p = res;
    if (!isalpha((unsigned char)*p))
        return false;
    while (isalnum((unsigned char)*p) || *p == '+' || *p == '.' || *p == '-')
        p++;
    return *p == ':' && p[1];
}

void asl_validate_task(asl_vctx_t *v, const json_t *st, const char *loc)
{
    json_t *rj = json_object_get(st, "Resource");
    const char *res = json_string_value(rj);
    char *rl = sy_asprintf("%s/Resource", loc);
    if (json_is_object(rj) && !(v->flags & SY_ASL_VALIDATE_RESOURCES)) {
        /* {"Fn::GetAtt": ...} / {"Ref": ...}: a CloudFormation template, resolved at deploy time */
    } else if (!res) {
        asl_diag(v, SVF, loc, "The field 'Resource' is required");
    } else if (!resource_form_ok(res) || (strncmp(res, "arn:", 4) && (v->flags & SY_ASL_VALIDATE_RESOURCES))) {
        asl_diag(v, SVF, rl, "The resource provided %s is not recognized", res);
    } else if ((v->flags & SY_ASL_VALIDATE_RESOURCES) && !asl_resource_supported(res)) {
        asl_diag(v, SVF, rl, "The resource provided %s is not recognized. The value is not a valid resource ARN, "
                 "or the resource is not available in this region.", res);
    }
    if (res && (v->flags & SY_ASL_VALIDATE_EXPRESS)) {
        if (strstr(res, ".sync"))
            asl_diag(v, SVF, rl, "Express state machine does not support '.sync' service integration");
        else if (strstr(res, ".waitForTaskToken"))
            asl_diag(v, SVF, rl, "Express state machine does not support '.waitForTaskToken' service integration ");
        else if (strstr(res, ":activity:"))
            asl_diag(v, SVF, rl, "Express state machine does not support Activity ARN");
    }
    free(rl);
    json_t *to = json_object_get(st, "TimeoutSeconds"), *hb = json_object_get(st, "HeartbeatSeconds");
    if (to && json_object_get(st, "TimeoutSecondsPath"))
        asl_diag(v, SVF, loc, "may have only one of [\"TimeoutSeconds\", \"TimeoutSecondsPath\"]");
    if (hb && json_object_get(st, "HeartbeatSecondsPath"))
        asl_diag(v, SVF, loc, "may have only one of [\"HeartbeatSeconds\", \"HeartbeatSecondsPath\"]");
    bool expr_to = json_is_string(to), expr_hb = json_is_string(hb);
    if (to && !expr_to && (!json_is_integer(to) || json_integer_value(to) <= 0 || json_integer_value(to) > 99999999))
        asl_diag(v, SVF, loc, "TimeoutSeconds must be a positive integer");
    if (hb && !expr_hb && (!json_is_integer(hb) || json_integer_value(hb) <= 0 || json_integer_value(hb) > 99999999))
        asl_diag(v, SVF, loc, "HeartbeatSeconds must be a positive integer");
    if (json_is_integer(to) && json_is_integer(hb) && json_integer_value(hb) >= json_integer_value(to))
        asl_diag(v, SVF, loc, "HeartbeatSeconds must be smaller than TimeoutSeconds");
    /* In JSONPath mode Credentials is a payload template; a JSONata state must name RoleArn. */
    json_t *cred = json_object_get(st, "Credentials");
    if (cred && (!json_is_object(cred) ||
                 (v->state_jsonata && !json_object_get(cred, "RoleArn") && !json_object_get(cred, "RoleArn.$")))) {
        char *cl = sy_asprintf("%s/Credentials", loc);
        asl_diag(v, SVF, cl, "The field 'RoleArn' is required but was missing");
        free(cl);
    }
}

static void check_label(asl_vctx_t *v, const json_t *label, const char *loc)
{
    const char *s = json_string_value(label);
    if (!s || !*s) {
        asl_diag(v, SVF, loc, "Label cannot be empty");
        return;
    }
    size_t chars = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p & 0xC0) != 0x80)
            chars++;
        if (*p < 0x20 || *p == 0x7f || strchr(" <>{}[]?*\"#%\\^|~`$&,;:/", *p)) {
            asl_diag(v, SVF, loc, "Label contains invalid character: '%c'", *p);
            return;
        }
        if (*p == 0xC2 && p[1] >= 0x80 && p[1] <= 0x9f) {
            asl_diag(v, SVF, loc, "Label contains invalid character");
            return;
        }
    }
    if (chars > 40)
        asl_diag(v, SVF, loc, "Label cannot exceed 40 characters");
}

void asl_validate_map(asl_vctx_t *v, const json_t *st, const char *loc)
{
    json_t *proc = json_object_get(st, "ItemProcessor");
    json_t *iter = json_object_get(st, "Iterator");
    if (!proc && !iter) {
        asl_diag(v, SVF, loc, "The field 'ItemProcessor' is required");
    } else {
        char *l = sy_asprintf("%s/%s", loc, proc ? "ItemProcessor" : "Iterator");
        json_t *pc = json_object_get(proc ? proc : iter, "ProcessorConfig");
        const char *mode = asl_gets(pc, "Mode");
        /* a distributed Map's processor runs as child executions, which may
         * choose their own query language */
        bool saved = v->ql_free;
        if (mode && !strcmp(mode, "DISTRIBUTED"))
            v->ql_free = true;
        asl_validate_scope(v, proc ? proc : iter, l);
        v->ql_free = saved;
        if (pc && mode && strcmp(mode, "INLINE") && strcmp(mode, "DISTRIBUTED"))
            asl_diag(v, SVF, l, "ProcessorConfig.Mode must be INLINE or DISTRIBUTED");
        bool distributed = mode && !strcmp(mode, "DISTRIBUTED");
        /* without a ProcessorConfig the mode follows from these fields */
        if (pc && !distributed && (json_object_get(st, "ItemReader") || json_object_get(st, "ResultWriter") ||
                             json_object_get(st, "Label") || json_object_get(st, "ItemBatcher")))
            asl_diag(v, SVF, loc, "ItemReader, ItemBatcher, ResultWriter and Label need a DISTRIBUTED Map");
        free(l);
    }
    if (json_object_get(st, "Items") && json_object_get(st, "ItemsPath"))
        asl_diag(v, SVF, loc, "Items and ItemsPath are mutually exclusive");
    if (json_object_get(st, "ItemSelector") && json_object_get(st, "Parameters"))
        asl_diag(v, SVF, loc, "ItemSelector and Parameters are mutually exclusive");
    if (proc && iter)
        asl_diag(v, SVF, loc, "ItemProcessor and Iterator are mutually exclusive");
    static const char *const PAIRS[][2] = {{"MaxConcurrency", "MaxConcurrencyPath"},
                                           {"ToleratedFailureCount", "ToleratedFailureCountPath"},
                                           {"ToleratedFailurePercentage", "ToleratedFailurePercentagePath"}};
    for (size_t i = 0; i < sizeof PAIRS / sizeof *PAIRS; i++)
        if (json_object_get(st, PAIRS[i][0]) && json_object_get(st, PAIRS[i][1]))
            asl_diag(v, SVF, loc, "may have only one of [\"%s\", \"%s\"]", PAIRS[i][0], PAIRS[i][1]);
    json_t *x;
    if ((x = json_object_get(st, "MaxConcurrency")) && !json_is_string(x) &&
        (!json_is_integer(x) || json_integer_value(x) < 0))
        asl_diag(v, SVF, loc, "MaxConcurrency must be a non-negative integer");
    if ((x = json_object_get(st, "ToleratedFailureCount")) && !json_is_string(x) &&
        (!json_is_integer(x) || json_integer_value(x) < 0))
        asl_diag(v, SVF, loc, "ToleratedFailureCount must be a non-negative integer");
    if ((x = json_object_get(st, "ToleratedFailurePercentage")) && !json_is_string(x) &&
        (!json_is_number(x) || json_number_value(x) < 0 || json_number_value(x) > 100))
        asl_diag(v, SVF, loc, "ToleratedFailurePercentage must be between 0 and 100");
    if ((x = json_object_get(st, "Label")))
        check_label(v, x, loc);
    json_t *b = json_object_get(st, "ItemBatcher");
    if (b) {
        if (!json_is_object(b))
            asl_diag(v, SVF, loc, "ItemBatcher must be an object");
        else if (json_object_get(b, "MaxItemsPerBatch") && json_object_get(b, "MaxItemsPerBatchPath"))
            asl_diag(v, SVF, loc, "may have only one of [\"MaxItemsPerBatch\", \"MaxItemsPerBatchPath\"]");
        else if (json_object_get(b, "MaxInputBytesPerBatch") && json_object_get(b, "MaxInputBytesPerBatchPath"))
            asl_diag(v, SVF, loc, "may have only one of [\"MaxInputBytesPerBatch\", \"MaxInputBytesPerBatchPath\"]");
    }
}
