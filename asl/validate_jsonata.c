/* asl/validate_jsonata.c - definition checks of JSONata mode: every
 * "{% ... %}" string is compiled (a syntax error is
 * INVALID_JSONATA_EXPRESSION, as AWS reports it, with the parser's message
 * and the field's location), $states.result / $states.errorOutput only where
 * they exist, no top-level reference to an input document (there is none),
 * no assignment to "states"; and the JSONata-only fields in a JSONPath state. */
#include "asl/internal.h"

#include <stdlib.h>
#include <string.h>

#define SVF "SCHEMA_VALIDATION_FAILED"

typedef struct {
    bool result;       /* $states.result is available */
    bool error_output; /* $states.errorOutput is available */
} avail_t;

static bool has_str(const json_t *arr, const char *s)
{
    size_t i;
    json_t *e;
    json_array_foreach(arr, i, e) if (json_is_string(e) && !strcmp(json_string_value(e), s)) return true;
    return false;
}

static void check_expr(asl_vctx_t *v, const json_t *node, avail_t av, const char *loc)
{
    if (asl_jx_malformed(node)) {
        asl_diag(v, SVF, loc, "JSONata expressions must be of the form '{%% expression %%}'");
        return;
    }
    const char *b;
    size_t n;
    if (!asl_jx_is_expr(node, &b, &n))
        return;
    sy_jsonata_error_t err = {0};
    sy_jsonata_t *ex = sy_jsonata_compile(b, n, &err);
    if (!ex) {
        asl_diag(v, "INVALID_JSONATA_EXPRESSION", loc, "%s", err.message ? err.message : "Invalid expression");
        sy_jsonata_error_clear(&err);
        return;
    }
    json_t *refs = sy_jsonata_references(ex);
    json_t *fields = json_object_get(refs, "states_fields");
    if (has_str(fields, "result") && !av.result)
        asl_diag(v, SVF, loc, "The JSONata expression '%.*s' references $states.result, which is only available in "
                 "the Output and Assign fields of Task, Map and Parallel states", (int)n, b);
    if (has_str(fields, "errorOutput") && !av.error_output)
        asl_diag(v, SVF, loc, "The JSONata expression '%.*s' references $states.errorOutput, which is only available "
                 "in the Output and Assign fields of a Catcher", (int)n, b);
    if (json_is_true(json_object_get(refs, "assigns_states")))
        asl_diag(v, SVF, loc, "The JSONata expression '%.*s' assigns the reserved variable 'states'", (int)n, b);
    if (json_is_true(json_object_get(refs, "top_level_input")))
        asl_diag(v, "UNSUPPORTED_JSONATA_EXPRESSION", loc,
                 "The JSONata expression '%.*s' references the input at the top level, which is not supported. "
                 "Use $states.input", (int)n, b);
    json_decref(refs);
    if (v->keep)
        asl_exprs_add(v->keep, node, ex);
    else
        sy_jsonata_free(&ex);
}

/* Every string at any depth of a template. */
static void walk(asl_vctx_t *v, const json_t *val, avail_t av, const char *loc)
{
    if (json_is_object(val)) {
        const char *k;
        json_t *e;
        json_object_foreach((json_t *)val, k, e)
        {
            char *l = sy_asprintf("%s/%s", loc, k);
            walk(v, e, av, l);
            free(l);
        }
    } else if (json_is_array(val)) {
        size_t i;
        json_t *e;
        json_array_foreach(val, i, e)
        {
            char *l = sy_asprintf("%s/%zu", loc, i);
            walk(v, e, av, l);
            free(l);
        }
    } else {
        check_expr(v, val, av, loc);
    }
}

static void check_assign_names(asl_vctx_t *v, const json_t *assign, const char *loc)
{
    if (!assign)
        return;
    if (!json_is_object(assign)) {
        asl_diag(v, SVF, loc, "The field 'Assign' must be an object");
        return;
    }
    if (json_object_get(assign, "states"))
        asl_diag(v, SVF, loc, "The variable name 'states' is reserved and cannot be assigned");
}

/* Output and Assign of a holder (the state, a choice rule, a catcher). */
static void output_assign(asl_vctx_t *v, const json_t *holder, avail_t av, const char *loc)
{
    static const char *keys[] = {"Output", "Assign"};
    for (int i = 0; i < 2; i++) {
        const json_t *e = json_object_get(holder, keys[i]);
        if (!e)
            continue;
        char *l = sy_asprintf("%s/%s", loc, keys[i]);
        walk(v, e, av, l);
        if (i == 1)
            check_assign_names(v, e, l);
        free(l);
    }
}

static bool skipped(const char *k)
{
    static const char *const SKIP[] = {"Type", "Comment", "QueryLanguage", "Next", "End", "Resource", "Branches",
                                       "ItemProcessor", "Iterator", "Default", "Retry", "Choices", "Catch",
                                       "Output", "Assign", "Label", NULL};
    for (const char *const *s = SKIP; *s; s++)
        if (!strcmp(*s, k))
            return true;
    return false;
}

void asl_validate_jsonata_state(asl_vctx_t *v, const char *type, const json_t *st, const char *loc)
{
    bool has_result = !strcmp(type, "Task") || !strcmp(type, "Map") || !strcmp(type, "Parallel");
    avail_t none = {false, false};
    const char *k;
    json_t *e;
    json_object_foreach((json_t *)st, k, e)
    {
        if (skipped(k))
            continue;
        char *l = sy_asprintf("%s/%s", loc, k);
        walk(v, e, none, l);
        free(l);
    }
    output_assign(v, st, (avail_t){has_result, false}, loc);
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(st, "Choices"), i, r)
    {
        char *l = sy_asprintf("%s/Choices/%zu", loc, i);
        const json_t *c = json_object_get(r, "Condition");
        if (c) {
            char *cl = sy_asprintf("%s/Condition", l);
            walk(v, c, none, cl);
            if (!json_is_boolean(c) && !asl_jx_is_expr(c, NULL, NULL))
                asl_diag(v, SVF, cl, "The field 'Condition' must be a boolean or a JSONata expression");
            free(cl);
        } else {
            asl_diag(v, SVF, l, "The field 'Condition' is required when QueryLanguage is JSONata");
        }
        output_assign(v, r, none, l);
        free(l);
    }
    json_array_foreach(json_object_get(st, "Catch"), i, r)
    {
        char *l = sy_asprintf("%s/Catch/%zu", loc, i);
        output_assign(v, r, (avail_t){false, true}, l);
        if (json_object_get(r, "ResultPath"))
            asl_diag(v, SVF, l, "The field 'ResultPath' is not supported when QueryLanguage is JSONata");
        free(l);
    }
}

void asl_validate_jsonpath_state(asl_vctx_t *v, const char *type, const json_t *st, const char *loc)
{
    if (!strcmp(type, "Map") && json_object_get(st, "Items"))
        asl_diag(v, SVF, loc, "The field 'Items' is only supported when QueryLanguage is JSONata");
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(st, "Catch"), i, r)
    {
        if (json_object_get(r, "Output")) {
            char *l = sy_asprintf("%s/Catch/%zu", loc, i);
            asl_diag(v, SVF, l, "The field 'Output' is only supported when QueryLanguage is JSONata");
            free(l);
        }
    }
}
