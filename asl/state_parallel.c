/* Parallel state: one child thread per branch; output in branch order. */
#include "asl/internal.h"

#include <stdlib.h>
#include <string.h>

json_t *asl_child_scope(const json_t *t, const char *k1, int64_t idx)
{
    json_t *scope = json_deep_copy(json_object_get(t, "scope"));
    json_array_append_new(scope, json_string("States"));
    json_array_append_new(scope, json_string(asl_gets(t, "state")));
    json_array_append_new(scope, json_string(k1));
    if (idx >= 0)
        json_array_append_new(scope, json_integer(idx));
    return scope;
}

void asl_run_parallel(asl_x_t *x, json_t *t)
{
    const json_t *st = asl_state_def(x, t);
    json_t *ctx = asl_ctx(x, t), *eff = NULL;
    asl_fault_t f = {0};
    if (asl_effective_input(x, t, st, ctx, &eff, &f) != 0) {
        json_decref(ctx);
        asl_state_fault(x, t, &f);
        asl_fault_clear(&f);
        return;
    }
    json_decref(ctx);
    asl_emit(x, t, "ParallelStateStarted", NULL, NULL);
    json_t *branches = json_object_get(st, "Branches");
    size_t n = json_array_size(branches);
    json_t *kids = json_object();
    json_t *results = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(results, json_null());
    json_object_set_new(kids, "results", results);
    asl_seti(kids, "pending", (int64_t)n);
    json_object_set_new(t, "kids", kids);
    asl_sets(t, "phase", "wait_kids");
    for (size_t i = 0; i < n; i++)
        asl_thread_new(x, asl_geti(t, "id"), (int64_t)i, asl_child_scope(t, "Branches", (int64_t)i),
                       json_deep_copy(eff));
    json_decref(eff);
}

void asl_drop_children(asl_x_t *x, json_t *t)
{
    json_t *threads = json_object_get(x->st, "threads");
    const char *k;
    json_t *c, *tmp;
    int64_t id = asl_geti(t, "id");
    json_object_foreach_safe(threads, tmp, k, c)
    {
        if (asl_geti(c, "parent") == id)
            asl_thread_drop(x, asl_geti(c, "id"));
    }
}

void asl_parallel_child_done(asl_x_t *x, json_t *t, json_t *child)
{
    json_t *kids = json_object_get(t, "kids");
    if (!kids)
        return;
    asl_seti(t, "prev", asl_geti(child, "prev"));
    if (strcmp(asl_gets(child, "status"), "ok") != 0) {
        const char *err = asl_gets(child, "error") ? asl_gets(child, "error") : "";
        asl_task_aborted(x, t, child);
        asl_drop_children(x, t);
        json_object_del(t, "kids");
        asl_sets(t, "phase", "run");
        /* A retried Parallel starts again without a ParallelStateFailed event. */
        if (asl_try_retry(x, t, asl_state_def(x, t), err))
            return;
        asl_emit(x, t, "ParallelStateFailed", NULL, NULL);
        asl_state_error(x, t, err, asl_gets(child, "cause"));
        return;
    }
    json_array_set(json_object_get(kids, "results"), (size_t)asl_geti(child, "index"),
                   json_object_get(child, "output"));
    int64_t pending = asl_geti(kids, "pending") - 1;
    asl_seti(kids, "pending", pending);
    if (pending > 0)
        return;
    json_t *results = json_incref(json_object_get(kids, "results"));
    json_object_del(t, "kids");
    /* AWS chains ParallelStateExited to the same event as ParallelStateSucceeded. */
    int64_t prev = asl_geti(t, "prev");
    asl_emit(x, t, "ParallelStateSucceeded", NULL, NULL);
    asl_seti(t, "prev", prev);
    asl_sets(t, "phase", "run");
    json_object_set_new(t, "finishing", json_true()); /* Output / Assign: the state ran */
    asl_finish_result(x, t, results);
}
