/* asl/validate_vars.c - the scope rule of workflow variables (both query
 * languages): a Parallel branch or a Map's item processor is an inner scope;
 * it reads the variables of the scopes around it but cannot assign a name
 * that one of them assigns (AWS: "Variable names must be unique in outer and
 * inner scopes"). Sibling branches and iterations are isolated, so they may
 * share names. A catcher's Assign on a Parallel or Map belongs to the scope of
 * that state. A distributed Map's processor runs as child executions that do
 * not see the outer variables at all, so it starts a fresh set of names. */
#include "asl/internal.h"

#include <stdlib.h>
#include <string.h>

/* "x.$" (a JSONPath Assign key) names the variable "x". */
static char *var_name(const char *key)
{
    size_t n = strlen(key);
    if (n > 2 && !strcmp(key + n - 2, ".$"))
        n -= 2;
    char *s = sy_malloc(n + 1);
    memcpy(s, key, n);
    s[n] = 0;
    return s;
}

typedef void (*assign_fn)(asl_vctx_t *v, const char *name, const char *loc, json_t *arg);

/* Every Assign of a state that runs in the state's own scope: the state's,
 * its choice rules', its catchers'. */
static void each_assign(asl_vctx_t *v, const json_t *st, const char *sloc, assign_fn fn, json_t *arg)
{
    struct {
        const char *list; /* NULL: the state itself */
    } holders[] = {{NULL}, {"Choices"}, {"Catch"}};
    for (size_t h = 0; h < sizeof holders / sizeof *holders; h++) {
        const json_t *arr = holders[h].list ? json_object_get(st, holders[h].list) : NULL;
        size_t n = holders[h].list ? (json_is_array(arr) ? json_array_size(arr) : 0) : 1;
        for (size_t i = 0; i < n; i++) {
            const json_t *holder = holders[h].list ? json_array_get(arr, i) : st;
            const json_t *a = json_object_get(holder, "Assign");
            if (!json_is_object(a))
                continue;
            char *aloc = holders[h].list ? sy_asprintf("%s/%s/%zu/Assign", sloc, holders[h].list, i)
                                         : sy_asprintf("%s/Assign", sloc);
            const char *k;
            json_t *e;
            json_object_foreach((json_t *)a, k, e)
            {
                char *name = var_name(k);
                fn(v, name, aloc, arg);
                free(name);
            }
            free(aloc);
        }
    }
}

static void collect(asl_vctx_t *v, const char *name, const char *loc, json_t *names)
{
    (void)v;
    (void)loc;
    json_object_set_new(names, name, json_true());
}

static void check_outer(asl_vctx_t *v, const char *name, const char *loc, json_t *outer)
{
    if (json_object_get(outer, name))
        asl_diag(v, "SCHEMA_VALIDATION_FAILED", loc,
                 "The variable '%s' is assigned in an outer scope and cannot be assigned in a nested scope "
                 "(Parallel branch or Map item processor)", name);
}

static bool distributed(const json_t *proc)
{
    const char *mode = asl_gets(json_object_get(proc, "ProcessorConfig"), "Mode");
    return mode && !strcmp(mode, "DISTRIBUTED");
}

static void add_target(json_t *out, const char *next)
{
    if (next)
        json_array_append_new(out, json_string(next));
}

static json_t *successors(const json_t *st)
{
    json_t *out = json_array();
    add_target(out, asl_gets(st, "Next"));
    add_target(out, asl_gets(st, "Default"));
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(st, "Choices"), i, e) add_target(out, asl_gets(e, "Next"));
    json_array_foreach(json_object_get(st, "Catch"), i, e) add_target(out, asl_gets(e, "Next"));
    return out;
}

/* before[S]: the names that may hold a value when S is entered - those of
 * the enclosing scopes plus every Assign of a state that can run before S
 * (a fixed point over the transitions, loops included). A state's own
 * Assign, and its catchers', run after its inner scopes have ended. */
static json_t *names_before(asl_vctx_t *v, const json_t *states, const char *start, const json_t *outer)
{
    json_t *before = json_object();
    const char *name;
    json_t *st;
    json_object_foreach((json_t *)states, name, st) json_object_set_new(before, name, json_object());
    json_t *work = json_array(), *visited = json_object();
    if (start && json_object_get(before, start)) {
        json_object_update(json_object_get(before, start), (json_t *)outer);
        json_array_append_new(work, json_string(start));
        json_object_set_new(visited, start, json_true());
    }
    while (json_array_size(work) > 0) {
        char *n = sy_strdup(json_string_value(json_array_get(work, json_array_size(work) - 1)));
        json_array_remove(work, json_array_size(work) - 1);
        st = json_object_get((json_t *)states, n);
        json_t *after = json_copy(json_object_get(before, n));
        each_assign(v, st, "", collect, after);
        json_t *next = successors(st);
        size_t i;
        json_t *e;
        json_array_foreach(next, i, e)
        {
            json_t *b = json_object_get(before, json_string_value(e));
            if (!b)
                continue;
            size_t had = json_object_size(b);
            json_object_update(b, after);
            if (json_object_size(b) != had || !json_object_get(visited, json_string_value(e))) {
                json_object_set_new(visited, json_string_value(e), json_true());
                json_array_append(work, e);
            }
        }
        json_decref(next);
        json_decref(after);
        free(n);
    }
    json_decref(work);
    json_decref(visited);
    return before;
}

/* outer: the names of the enclosing scopes that exist when this scope starts. */
static void check_scope(asl_vctx_t *v, const json_t *scope, const json_t *outer, const char *loc)
{
    const json_t *states = json_object_get(scope, "States");
    if (!json_is_object(states))
        return;
    const char *name;
    json_t *st;
    if (json_object_size(outer) > 0) {
        json_object_foreach((json_t *)states, name, st)
        {
            char *sloc = sy_asprintf("%s/States/%s", loc, name);
            each_assign(v, st, sloc, check_outer, (json_t *)outer);
            free(sloc);
        }
    }
    json_t *before = names_before(v, states, asl_gets(scope, "StartAt"), outer);
    json_object_foreach((json_t *)states, name, st)
    {
        const json_t *pk = json_object_get(st, "ItemProcessor") ? json_object_get(st, "ItemProcessor")
                                                                 : json_object_get(st, "Iterator");
        if (!json_is_array(json_object_get(st, "Branches")) && !json_is_object(pk))
            continue;
        json_t *mine = json_copy(json_object_get(before, name));
        json_object_update(mine, (json_t *)outer);
        char *sloc = sy_asprintf("%s/States/%s", loc, name);
        size_t i;
        json_t *b;
        json_array_foreach(json_object_get(st, "Branches"), i, b)
        {
            char *bloc = sy_asprintf("%s/Branches/%zu", sloc, i);
            check_scope(v, b, mine, bloc);
            free(bloc);
        }
        if (json_is_object(pk)) {
            char *ploc = sy_asprintf("%s/%s", sloc, json_object_get(st, "ItemProcessor") ? "ItemProcessor" : "Iterator");
            json_t *fresh = json_object();
            check_scope(v, pk, distributed(pk) ? fresh : mine, ploc);
            json_decref(fresh);
            free(ploc);
        }
        free(sloc);
        json_decref(mine);
    }
    json_decref(before);
}

void asl_validate_var_scopes(asl_vctx_t *v, const json_t *root)
{
    json_t *none = json_object();
    check_scope(v, root, none, "");
    json_decref(none);
}
