/* asl/def.c - definitions: parse, validate, keep; their top-level fields. */
#include "asl/internal.h"

#include <stdlib.h>
#include <string.h>

static bool uses_jsonata(const json_t *v)
{
    if (json_is_object(v)) {
        const char *k;
        json_t *e;
        json_object_foreach((json_t *)v, k, e)
        {
            if (!strcmp(k, "QueryLanguage") && json_is_string(e) && !strcmp(json_string_value(e), "JSONata"))
                return true;
            if (uses_jsonata(e))
                return true;
        }
    } else if (json_is_array(v)) {
        size_t i;
        json_t *e;
        json_array_foreach(v, i, e) if (uses_jsonata(e)) return true;
    }
    return false;
}

sy_asl_def_t *sy_asl_def_parse(const char *text, size_t len, int flags, json_t **diagnostics)
{
    json_t *diags = sy_asl_validate(text, len, flags);
    json_t *root = NULL;
    if (json_array_size(diags) == 0) {
        root = json_loadb(text, len, 0, NULL);
        if (uses_jsonata(root)) {
            json_array_append_new(diags, json_pack("{s:s,s:s,s:s,s:s}", "severity", "ERROR", "code",
                                                   "UNSUPPORTED_FEATURE", "message",
                                                   "jsonata mode not supported", "location", "/"));
        }
    }
    if (json_array_size(diags) > 0) {
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
    d->root = root;
    d->text = sy_strndup(text, len);
    return d;
}

void sy_asl_def_destroy(sy_asl_def_t **self_p)
{
    if (!self_p || !*self_p)
        return;
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
