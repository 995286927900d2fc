/* Data flow: payload templates (Parameters, ResultSelector, ItemSelector),
 * InputPath, ResultPath, OutputPath. */
#include "asl/internal.h"

#include <stdlib.h>
#include <string.h>

void asl_fault_set(asl_fault_t *f, const char *error, const char *fmt, ...)
{
    asl_fault_clear(f);
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    f->cause = sy_malloc((size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(f->cause, (size_t)n + 1, fmt, ap);
    va_end(ap);
    f->error = sy_strdup(error);
}

void asl_fault_clear(asl_fault_t *f)
{
    free(f->error);
    free(f->cause);
    free(f->location);
    f->error = f->cause = f->location = NULL;
}

int asl_value_eval(const char *expr, const char *field, const json_t *input, const json_t *ctx,
                   json_t **out, asl_fault_t *f)
{
    *out = NULL;
    if (asl_is_intrinsic(expr)) {
        char *name = NULL, *cause = NULL;
        if (asl_intrinsic_eval(expr, field, input, ctx, out, &name, &cause) == 0)
            return 0;
        asl_fault_set(f, name, "%s", cause);
        free(name);
        free(cause);
        return -1;
    }
    char *err = NULL;
    if (sy_asl_path_eval(expr, input, ctx, out, &err) == 0)
        return 0;
    free(err);
    char *in = asl_dumps(input);
    asl_fault_set(f, "States.Runtime",
                  "The JSONPath '%s' specified for the field '%s' could not be found in the input '%s'",
                  expr, field, in);
    free(in);
    return -1;
}

int asl_payload_eval(const json_t *tmpl, const json_t *input, const json_t *ctx, json_t **out,
                     asl_fault_t *f)
{
    *out = NULL;
    if (json_is_array(tmpl)) {
        json_t *arr = json_array();
        size_t i;
        json_t *e;
        json_array_foreach(tmpl, i, e)
        {
            json_t *v;
            if (asl_payload_eval(e, input, ctx, &v, f) != 0) {
                json_decref(arr);
                return -1;
            }
            json_array_append_new(arr, v);
        }
        *out = arr;
        return 0;
    }
    if (!json_is_object(tmpl)) {
        *out = json_deep_copy(tmpl);
        return 0;
    }
    json_t *obj = json_object();
    const char *k;
    json_t *e;
    json_object_foreach((json_t *)tmpl, k, e)
    {
        size_t kl = strlen(k);
        json_t *v = NULL;
        int rc;
        if (kl > 2 && !strcmp(k + kl - 2, ".$") && json_is_string(e)) {
            rc = asl_value_eval(json_string_value(e), k, input, ctx, &v, f);
            if (rc == 0) {
                char *name = strndup(k, kl - 2);
                json_object_set_new(obj, name, v);
                free(name);
            }
        } else {
            rc = asl_payload_eval(e, input, ctx, &v, f);
            if (rc == 0)
                json_object_set_new(obj, k, v);
        }
        if (rc != 0) {
            json_decref(obj);
            return -1;
        }
    }
    *out = obj;
    return 0;
}

int asl_path_select(const json_t *state, const char *field, const json_t *input,
                    const json_t *ctx, json_t **out, asl_fault_t *f)
{
    json_t *p = json_object_get(state, field);
    *out = NULL;
    if (!p) {
        *out = json_deep_copy(input);
        return 0;
    }
    if (json_is_null(p)) {
        *out = json_object();
        return 0;
    }
    char *err = NULL;
    if (sy_asl_path_eval(json_string_value(p), input, ctx, out, &err) == 0)
        return 0;
    asl_fault_set(f, "States.Runtime", "%s", err);
    free(err);
    return -1;
}

int asl_result_path(const json_t *state, const json_t *raw_input, json_t *result, json_t **out,
                    asl_fault_t *f)
{
    json_t *p = json_object_get(state, "ResultPath");
    *out = NULL;
    if (!p) {
        *out = result;
        return 0;
    }
    if (json_is_null(p)) {
        json_decref(result);
        *out = json_deep_copy(raw_input);
        return 0;
    }
    const char *path = json_string_value(p);
    json_t *doc = json_deep_copy(raw_input);
    if (strcmp(path, "$") != 0 && !json_is_object(doc)) {
        json_decref(doc);
        doc = json_object();
    }
    char *err = NULL;
    if (asl_jp_set(&doc, path, result, &err) != 0) {
        asl_fault_set(f, "States.Runtime", "%s", err);
        free(err);
        json_decref(doc);
        return -1;
    }
    *out = doc;
    return 0;
}
