/* asl/def.c - definitions: parse, validate, keep; their top-level fields. */
#include "asl/internal.h"

#include <stdlib.h>
#include <string.h>

sy_asl_def_t *sy_asl_def_parse(const char *text, size_t len, int flags, json_t **diagnostics)
{
    asl_exprs_t exprs = {0};
    json_t *root = NULL;
    json_t *diags = asl_validate_parsed(text, len, flags, &root, &exprs);
    if (json_array_size(diags) > 0) {
        asl_exprs_free(&exprs);
        json_decref(root);
        if (diagnostics)
            *diagnostics = diags;
        else
            json_decref(diags);
        return NULL;
    }
    json_decref(diags);
    if (diagnostics)
        *diagnostics = NULL;
    sy_asl_def_t *d = sy_malloc(sizeof *d);
    d->root = root; /* read-only from here on: the compiled expressions are keyed by its nodes */
    d->text = sy_strndup(text, len);
    d->exprs = exprs;
    return d;
}

void sy_asl_def_destroy(sy_asl_def_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    asl_exprs_free(&(*self_p)->exprs);
    json_decref((*self_p)->root);
    free((*self_p)->text);
    free(*self_p);
    *self_p = NULL;
}

const json_t *sy_asl_def_json(const sy_asl_def_t *def)
{
    return def->root;
}

int64_t sy_asl_def_timeout_s(const sy_asl_def_t *def)
{
    json_t *v = def ? json_object_get(def->root, "TimeoutSeconds") : NULL;
    return json_is_integer(v) && json_integer_value(v) > 0 ? (int64_t)json_integer_value(v) : 0;
}

char *sy_asl_diagnostics_message(const json_t *diags)
{
    size_t n = json_array_size(diags);
    char *out = sy_strdup("Invalid State Machine Definition: '");
    for (size_t i = 0; i < n; i++) {
        const json_t *d = json_array_get(diags, i);
        const char *loc = asl_gets(d, "location");
        char *next = sy_asprintf("%s%s%s: %s%s%s", out, i ? ", " : "", asl_gets(d, "code"), asl_gets(d, "message"),
                                loc ? " at " : "", loc ? loc : "");
        free(out);
        out = next;
    }
    char *next = sy_asprintf("%s'", out);
    free(out);
    return next;
}
