/* Definition validation: top level, scopes, transitions, reachability.
 * Diagnostics follow ValidateStateMachineDefinition: {severity, code,
 * message, location}. Per-state rules are in validate_state.c. */
#include "asl/internal.h"

#include <stdlib.h>
#include <string.h>

void asl_diag(asl_vctx_t *v, const char *code, const char *loc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *msg = sy_malloc((size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(msg, (size_t)n + 1, fmt, ap);
    va_end(ap);
    json_t *d = json_object();
    json_object_set_new(d, "severity", json_string("ERROR"));
    json_object_set_new(d, "code", json_string(code));
    json_object_set_new(d, "message", json_string(msg));
    if (loc)
        json_object_set_new(d, "location", json_string(loc));
    json_array_append_new(v->diags, d);
    free(msg);
}

static const char *transition_fields[] = {"Next", "Default"};

static void add_target(json_t *targets, const char *name)
{
    if (name)
        json_array_append_new(targets, json_string(name));
}

/* The names a state can transition to. */
static json_t *targets_of(const json_t *st)
{
    json_t *t = json_array();
    for (size_t i = 0; i < 2; i++)
        add_target(t, asl_gets(st, transition_fields[i]));
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(st, "Choices"), i, e) add_target(t, asl_gets(e, "Next"));
    json_array_foreach(json_object_get(st, "Catch"), i, e) add_target(t, asl_gets(e, "Next"));
    return t;
}

static bool is_terminal(const json_t *st)
{
    const char *type = asl_gets(st, "Type");
    return json_is_true(json_object_get(st, "End")) ||
           (type && (!strcmp(type, "Succeed") || !strcmp(type, "Fail")));
}

static void check_graph(asl_vctx_t *v, const json_t *states, const char *start, const char *loc)
{
    const char *name;
    json_t *st;
    json_object_foreach((json_t *)states, name, st)
    {
        json_t *tg = targets_of(st);
        size_t i;
        json_t *e;
        json_array_foreach(tg, i, e)
        {
            if (!json_object_get(states, json_string_value(e)))
                asl_diag(v, "SCHEMA_VALIDATION_FAILED", loc, "Missing 'Next' target: %s at /States/%s",
                         json_string_value(e), name);
        }
        json_decref(tg);
    }
    /* reachability */
    json_t *seen = json_object(), *work = json_array();
    bool terminal = false;
    if (json_object_get(states, start))
        json_array_append_new(work, json_string(start));
    while (json_array_size(work) > 0) {
        char *n = sy_strdup(json_string_value(json_array_get(work, json_array_size(work) - 1)));
        json_array_remove(work, json_array_size(work) - 1);
        json_t *s = json_object_get(states, n);
        if (s && !json_object_get(seen, n)) {
            json_object_set_new(seen, n, json_true());
            terminal = terminal || is_terminal(s);
            json_t *tg = targets_of(s);
            json_array_extend(work, tg);
            json_decref(tg);
        }
        free(n);
    }
    json_object_foreach((json_t *)states, name, st)
    {
        if (!json_object_get(seen, name))
            asl_diag(v, "SCHEMA_VALIDATION_FAILED", loc, "State '%s' is not reachable", name);
    }
    if (!terminal && json_object_size(seen) > 0)
        asl_diag(v, "SCHEMA_VALIDATION_FAILED", loc, "No terminal state found in the state machine");
    json_decref(seen);
    json_decref(work);
}

void asl_validate_scope(asl_vctx_t *v, const json_t *scope, const char *loc)
{
    if (!json_is_object(scope)) {
        asl_diag(v, "SCHEMA_VALIDATION_FAILED", loc, "Expected an object");
        return;
    }
    json_t *states = json_object_get(scope, "States");
    json_t *start = json_object_get(scope, "StartAt");
    if (!states || !start) {
        const char *m = !states && !start ? "[States, StartAt]" : !states ? "[States]" : "[StartAt]";
        asl_diag(v, "SCHEMA_VALIDATION_FAILED", *loc ? loc : "/", "These fields are required: %s", m);
        return;
    }
    const char *k;
    json_t *e;
    json_object_foreach((json_t *)scope, k, e)
    {
        if (strcmp(k, "States") && strcmp(k, "StartAt") && strcmp(k, "Comment") && strcmp(k, "Version") &&
            strcmp(k, "TimeoutSeconds") && strcmp(k, "QueryLanguage") && strcmp(k, "ProcessorConfig"))
            asl_diag(v, "SCHEMA_VALIDATION_FAILED", *loc ? loc : "/", "Field '%s' is not supported", k);
    }
    if (!json_is_object(states) || json_object_size(states) == 0 || !json_is_string(start)) {
        asl_diag(v, "SCHEMA_VALIDATION_FAILED", *loc ? loc : "/", "'States' must be a non-empty object and 'StartAt' a string");
        return;
    }
    if (!json_object_get(states, json_string_value(start)))
        asl_diag(v, "SCHEMA_VALIDATION_FAILED", *loc ? loc : "/", "Missing 'Next' target: %s at %s/StartAt",
                 json_string_value(start), loc);
    const char *name;
    json_t *st;
    json_object_foreach(states, name, st)
    {
        char *sloc = sy_asprintf("%s/States/%s", loc, name);
        if (strlen(name) > 80)
            asl_diag(v, "SCHEMA_VALIDATION_FAILED", sloc, "State name cannot be longer than 80 characters");
        if (v->names && json_object_get(v->names, name))
            asl_diag(v, "SCHEMA_VALIDATION_FAILED", sloc, "State name '%s' is not unique in the state machine", name);
        else if (v->names)
            json_object_set_new(v->names, name, json_true());
        asl_validate_state(v, name, st, sloc);
        free(sloc);
    }
    check_graph(v, states, json_string_value(start), *loc ? loc : "/");
}

static json_t *parse_error(const char *text, size_t len)
{
    json_t *diags = json_array();
    json_error_t e;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &e);
    if (!root) {
        json_array_append_new(diags, json_pack("{s:s,s:s,s:s,s:s}", "severity", "ERROR", "code",
                                               "INVALID_JSON_DESCRIPTION", "message", e.text, "location",
                                               "/"));
    } else if (!json_is_object(root)) {
        json_array_append_new(diags, json_pack("{s:s,s:s,s:s}", "severity", "ERROR", "code",
                                               "SCHEMA_VALIDATION_FAILED", "message",
                                               "Definition must be a valid JSON object"));
    }
    json_decref(root);
    return diags;
}

json_t *sy_asl_validate(const char *text, size_t len, int flags)
{
    json_t *diags = parse_error(text, len);
    if (json_array_size(diags) > 0)
        return diags;
    json_decref(diags);
    json_t *root = json_loadb(text, len, 0, NULL);
    diags = asl_validate_root(root, flags, NULL);
    json_decref(root);
    return diags;
}

json_t *asl_validate_parsed(const char *text, size_t len, int flags, json_t **root_out, asl_exprs_t *keep)
{
    json_t *diags = parse_error(text, len);
    *root_out = NULL;
    if (json_array_size(diags) > 0)
        return diags;
    json_decref(diags);
    *root_out = json_loadb(text, len, 0, NULL);
    return asl_validate_root(*root_out, flags, keep);
}

json_t *asl_validate_root(const json_t *root, int flags, asl_exprs_t *keep)
{
    json_t *diags = json_array();
    asl_vctx_t v = {.diags = diags, .flags = flags, .names = json_object(), .keep = keep};
    json_t *ql = json_object_get(root, "QueryLanguage");
    if (ql && (!json_is_string(ql) || (strcmp(json_string_value(ql), "JSONata") &&
                                       strcmp(json_string_value(ql), "JSONPath"))))
        asl_diag(&v, "SCHEMA_VALIDATION_FAILED", "/QueryLanguage",
                 "The field 'QueryLanguage' should have one of these values: [JSONPath, JSONata]");
    v.jsonata = ql && json_is_string(ql) && !strcmp(json_string_value(ql), "JSONata");
    json_t *to = json_object_get(root, "TimeoutSeconds");
    if (to && (!json_is_integer(to) || json_integer_value(to) <= 0))
        asl_diag(&v, "SCHEMA_VALIDATION_FAILED", "/TimeoutSeconds", "TimeoutSeconds must be a positive integer");
    json_t *ver = json_object_get(root, "Version");
    if (ver && !json_is_string(ver))
        asl_diag(&v, "SCHEMA_VALIDATION_FAILED", "/Version", "Version must be a string");
    asl_validate_scope(&v, root, "");
    asl_validate_var_scopes(&v, root);
    json_decref(v.names);
    return diags;
}
