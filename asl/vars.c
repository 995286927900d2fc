/* asl/vars.c - workflow variables at run time: what an Assign may keep.
 * - Scope: a Parallel branch or Map iteration reads the variables of the
 *   scopes around it (a copy taken when it starts; the names are kept in the
 *   thread's "outer") and cannot assign one of them (validation refuses such a
 *   definition; this guards definitions stored before that check). A
 *   distributed Map's iterations are child executions: they start with no
 *   variables (asl_thread_new).
 * - Size (AWS quotas): one variable at most 256 KiB, the values of one Assign
 *   together at most 256 KiB, all the variables a thread holds (its own and
 *   the outer ones) at most 10 MiB; sizes are the JSON text in UTF-8 bytes.
 *   Exceeding them is States.DataLimitExceeded, a terminal error (States.ALL
 *   does not catch it), as for payloads. The running total is cached on the
 *   thread ("vars_bytes") so an Assign does not re-measure every variable. */
#include "asl/internal.h"

#include <stdlib.h>
#include <string.h>

static size_t held_bytes(json_t *t)
{
    json_t *c = json_object_get(t, "vars_bytes");
    if (json_is_integer(c))
        return (size_t)json_integer_value(c);
    size_t n = 0;
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(t, "vars"), k, v) n += asl_dump_len(v);
    asl_seti(t, "vars_bytes", (int64_t)n);
    return n;
}

int asl_vars_check(json_t *t, const json_t *vals, asl_fault_t *f)
{
    const json_t *outer = json_object_get(t, "outer"), *vars = json_object_get(t, "vars");
    const char *state = asl_gets(t, "state");
    size_t sum = 0, replaced = 0;
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)vals, k, v)
    {
        if (outer && json_object_get(outer, k)) {
            asl_fault_set(f, "States.Runtime",
                          "The variable '%s' belongs to an outer scope and cannot be assigned in a Parallel "
                          "branch or Map iteration.", k);
            return -1;
        }
        size_t n = asl_dump_len(v);
        if (n > ASL_VAR_MAX) {
            asl_fault_set(f, "States.DataLimitExceeded",
                          "The state '%s' assigned the variable '%s' a value of %zu bytes, exceeding the "
                          "maximum of %d bytes for one variable.", state, k, n, ASL_VAR_MAX);
            return -1;
        }
        sum += n;
        json_t *old = json_object_get(vars, k);
        if (old)
            replaced += asl_dump_len(old);
    }
    if (sum > ASL_VAR_MAX) {
        asl_fault_set(f, "States.DataLimitExceeded",
                      "The state '%s' assigned variables of %zu bytes together, exceeding the maximum of %d "
                      "bytes for one Assign.", state, sum, ASL_VAR_MAX);
        return -1;
    }
    size_t total = held_bytes(t) - replaced + sum;
    if (total > ASL_VARS_MAX) {
        asl_fault_set(f, "States.DataLimitExceeded",
                      "The state '%s' would bring the variables of the execution to %zu bytes, exceeding the "
                      "maximum of %d bytes.", state, total, ASL_VARS_MAX);
        return -1;
    }
    asl_seti(t, "assigned_bytes", (int64_t)total);
    return 0;
}

void asl_vars_inherit(json_t *child, const json_t *parent)
{
    json_t *vars = json_object_get(parent, "vars");
    if (!vars)
        return;
    json_object_set_new(child, "vars", json_deep_copy(vars));
    json_t *outer = json_object();
    const char *k;
    json_t *v;
    json_object_foreach(vars, k, v) json_object_set_new(outer, k, json_true());
    json_object_set_new(child, "outer", outer);
    json_t *bytes = json_object_get(parent, "vars_bytes");
    if (json_is_integer(bytes))
        json_object_set(child, "vars_bytes", bytes);
}
