/* Choice rules: comparison operators, Is* tests, And/Or/Not. A type
 * mismatch makes a comparison false; a missing Variable is a runtime error
 * except for the Is* tests. */
#include "asl/internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef enum { T_STRING, T_NUMERIC, T_BOOLEAN, T_TIMESTAMP } ctype_t;
typedef enum { C_EQ, C_LT, C_GT, C_LE, C_GE } cop_t;

static const struct {
    const char *name;
    ctype_t type;
    cop_t op;
} CMP[] = {
    {"StringEquals", T_STRING, C_EQ},         {"StringLessThan", T_STRING, C_LT},
    {"StringGreaterThan", T_STRING, C_GT},    {"StringLessThanEquals", T_STRING, C_LE},
    {"StringGreaterThanEquals", T_STRING, C_GE}, {"NumericEquals", T_NUMERIC, C_EQ},
    {"NumericLessThan", T_NUMERIC, C_LT},     {"NumericGreaterThan", T_NUMERIC, C_GT},
    {"NumericLessThanEquals", T_NUMERIC, C_LE}, {"NumericGreaterThanEquals", T_NUMERIC, C_GE},
    {"BooleanEquals", T_BOOLEAN, C_EQ},       {"TimestampEquals", T_TIMESTAMP, C_EQ},
    {"TimestampLessThan", T_TIMESTAMP, C_LT}, {"TimestampGreaterThan", T_TIMESTAMP, C_GT},
    {"TimestampLessThanEquals", T_TIMESTAMP, C_LE},
    {"TimestampGreaterThanEquals", T_TIMESTAMP, C_GE},
};

static bool apply(cop_t op, int c)
{
    switch (op) {
    case C_EQ:
        return c == 0;
    case C_LT:
        return c < 0;
    case C_GT:
        return c > 0;
    case C_LE:
        return c <= 0;
    case C_GE:
        return c >= 0;
    }
    return false;
}

static bool compare(ctype_t t, cop_t op, const json_t *a, const json_t *b)
{
    switch (t) {
    case T_STRING:
        if (!json_is_string(a) || !json_is_string(b))
            return false;
        return apply(op, strcmp(json_string_value(a), json_string_value(b)));
    case T_NUMERIC: {
        if (!json_is_number(a) || !json_is_number(b))
            return false;
        double x = json_number_value(a), y = json_number_value(b);
        if (json_is_integer(a) && json_is_integer(b)) {
            json_int_t i = json_integer_value(a), j = json_integer_value(b);
            return apply(op, i < j ? -1 : i > j);
        }
        return apply(op, x < y ? -1 : x > y);
    }
    case T_BOOLEAN:
        if (!json_is_boolean(a) || !json_is_boolean(b))
            return false;
        return apply(op, json_is_true(a) == json_is_true(b) ? 0 : 1);
    case T_TIMESTAMP: {
        int64_t x, y;
        if (!json_is_string(a) || !json_is_string(b) ||
            !asl_parse_timestamp(json_string_value(a), &x) ||
            !asl_parse_timestamp(json_string_value(b), &y))
            return false;
        return apply(op, x < y ? -1 : x > y);
    }
    }
    return false;
}

/* '*' matches any run, '\*' a literal star, '\\' a backslash. */
static bool wildcard(const char *p, const char *s)
{
    for (; *p; p++) {
        if (*p == '*') {
            for (const char *t = s;; t++) {
                if (wildcard(p + 1, t))
                    return true;
                if (!*t)
                    return false;
            }
        }
        char c = *p;
        if (c == '\\' && p[1])
            c = *++p;
        if (*s != c)
            return false;
        s++;
    }
    return *s == 0;
}

static bool is_test(const char *k, const json_t *v, bool present)
{
    if (!strcmp(k, "IsPresent"))
        return present;
    if (!present)
        return false;
    if (!strcmp(k, "IsNull"))
        return json_is_null(v);
    if (!strcmp(k, "IsNumeric"))
        return json_is_number(v);
    if (!strcmp(k, "IsString"))
        return json_is_string(v);
    if (!strcmp(k, "IsBoolean"))
        return json_is_boolean(v);
    if (!strcmp(k, "IsTimestamp"))
        return json_is_string(v) && asl_parse_timestamp(json_string_value(v), NULL);
    return false;
}

static int rule_eval(const json_t *r, const json_t *input, const json_t *ctx, bool *out,
                     asl_fault_t *f);

static int eval_list(const json_t *list, bool is_and, const json_t *input, const json_t *ctx,
                     bool *out, asl_fault_t *f)
{
    size_t i;
    json_t *e;
    *out = is_and;
    json_array_foreach(list, i, e)
    {
        bool b;
        if (rule_eval(e, input, ctx, &b, f) != 0)
            return -1;
        if (b != is_and) {
            *out = b;
            return 0;
        }
    }
    return 0;
}

static int missing(asl_fault_t *f, const char *path, const char *err)
{
    (void)path;
    asl_fault_set(f, "States.Runtime", "%s", err);
    return -1;
}

static int comparison(const json_t *r, const char *k, const json_t *operand, const json_t *input,
                      const json_t *ctx, bool *out, asl_fault_t *f)
{
    const char *var = json_string_value(json_object_get(r, "Variable"));
    json_t *v = NULL;
    char *err = NULL;
    bool present = var && sy_asl_path_eval(var, input, ctx, &v, &err) == 0;
    int rc = 0;
    if (!strncmp(k, "Is", 2)) {
        bool want = json_is_true(operand);
        *out = is_test(k, v, present) == want;
        goto done;
    }
    if (!present) {
        rc = missing(f, var, err ? err : "missing Variable");
        goto done;
    }
    size_t kl = strlen(k);
    bool path = kl > 4 && !strcmp(k + kl - 4, "Path");
    json_t *rhs = NULL;
    if (path) {
        char *err2 = NULL;
        if (sy_asl_path_eval(json_string_value(operand), input, ctx, &rhs, &err2) != 0) {
            rc = missing(f, json_string_value(operand), err2);
            free(err2);
            goto done;
        }
    } else {
        rhs = json_incref((json_t *)operand);
    }
    *out = false;
    if (!strncmp(k, "StringMatches", 13)) {
        *out = json_is_string(v) && json_is_string(rhs) &&
               wildcard(json_string_value(rhs), json_string_value(v));
    } else {
        for (size_t i = 0; i < sizeof CMP / sizeof *CMP; i++)
            if (strlen(CMP[i].name) == (path ? kl - 4 : kl) && !strncmp(k, CMP[i].name, strlen(CMP[i].name)))
                *out = compare(CMP[i].type, CMP[i].op, v, rhs);
    }
    json_decref(rhs);
done:
    free(err);
    json_decref(v);
    return rc;
}

static int rule_eval(const json_t *r, const json_t *input, const json_t *ctx, bool *out,
                     asl_fault_t *f)
{
    json_t *x;
    if ((x = json_object_get(r, "And")))
        return eval_list(x, true, input, ctx, out, f);
    if ((x = json_object_get(r, "Or")))
        return eval_list(x, false, input, ctx, out, f);
    if ((x = json_object_get(r, "Not"))) {
        if (rule_eval(x, input, ctx, out, f) != 0)
            return -1;
        *out = !*out;
        return 0;
    }
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)r, k, v)
    {
        if (!strcmp(k, "Variable") || !strcmp(k, "Next") || !strcmp(k, "Comment") ||
            !strcmp(k, "Assign") || !strcmp(k, "Output"))
            continue;
        return comparison(r, k, v, input, ctx, out, f);
    }
    *out = false;
    return 0;
}

int asl_choice_eval(const json_t *state, const json_t *input, const json_t *ctx, const char **next,
                    const json_t **assign, asl_fault_t *f)
{
    size_t i;
    json_t *r;
    *next = NULL;
    *assign = NULL;
    json_array_foreach(json_object_get(state, "Choices"), i, r)
    {
        bool m;
        if (rule_eval(r, input, ctx, &m, f) != 0)
            return -1;
        if (m) {
            *next = json_string_value(json_object_get(r, "Next"));
            *assign = json_object_get(r, "Assign");
            return 0;
        }
    }
    *next = json_string_value(json_object_get(state, "Default"));
    *assign = json_object_get(state, "Assign"); /* the state's Assign goes with Default */
    return 0;
}
