/* Parallel state: one child thread per branch; output in branch order. */
#include "asl/internal.h"

#include <stdlib.h>
#include <string.h>

json_t *sfn_child_scope(const json_t *t, const char *k1, int64_t idx)
{
    json_t *scope = json_deep_copy(json_object_get(t, "scope"));
    json_array_append_new(scope, json_string("States"));
    json_array_append_new(scope, json_string(sfn_gets(t, "state")));
    json_array_append_new(scope, json_string(k1));
    if (idx >= 0)
        json_array_append_new(scope, json_integer(idx));
    return scope;
}

void sfn_run_parallel(sfn_x_t *x, json_t *t)
{
    const json_t *st = sfn_state_def(x, t);
    json_t *ctx = sfn_ctx(x, t), *eff = NULL;
    sfn_fault_t f = {0};
    if (sfn_effective_input(x, t, st, ctx, &eff, &f) != 0) {
        json_decref(ctx);
        sfn_state_fault(x, t, &f);
        sfn_fault_clear(&f);
        return;
    }
    json_decref(ctx);
    sfn_emit(x, t, "ParallelStateStarted", NULL, NULL);
    json_t *branches = json_object_get(st, "Branches");
    size_t n = json_array_size(branches);
    json_t *kids = json_object();
    json_t *results = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(results, json_null());
    json_object_set_new(kids, "results", results);
    sfn_seti(kids, "pending", (int64_t)n);
    json_object_set_new(t, "kids", kids);
    sfn_sets(t, "phase", "wait_kids");
    for (size_t i = 0; i < n; i++)
        sfn_thread_new(x, sfn_geti(t, "id"), (int64_t)i, sfn_child_scope(t, "Branches", (int64_t)i),
                       json_deep_copy(eff));
    json_decref(eff);
}

void sfn_drop_children(sfn_x_t *x, json_t *t)
{
    json_t *threads = json_object_get(x->st, "threads");
    const char *k;
    json_t *c, *tmp;
    int64_t id = sfn_geti(t, "id");
    json_object_foreach_safe(threads, tmp, k, c)
    {
        if (sfn_geti(c, "parent") == id)
            sfn_thread_drop(x, sfn_geti(c, "id"));
    }
}

void sfn_parallel_child_done(sfn_x_t *x, json_t *t, json_t *child)
{
    json_t *kids = json_object_get(t, "kids");
    if (!kids)
        return;
    sfn_seti(t, "prev", sfn_geti(child, "prev"));
    if (strcmp(sfn_gets(child, "status"), "ok") != 0) {
        const char *err = sfn_gets(child, "error") ? sfn_gets(child, "error") : "";
        sfn_drop_children(x, t);
        json_object_del(t, "kids");
        sfn_sets(t, "phase", "run");
        /* A retried Parallel starts again without a ParallelStateFailed event. */
        if (sfn_try_retry(x, t, sfn_state_def(x, t), err))
            return;
        sfn_emit(x, t, "ParallelStateFailed", NULL, NULL);
        sfn_state_error(x, t, err, sfn_gets(child, "cause"));
        return;
    }
    json_array_set(json_object_get(kids, "results"), (size_t)sfn_geti(child, "index"),
                   json_object_get(child, "output"));
    int64_t pending = sfn_geti(kids, "pending") - 1;
    sfn_seti(kids, "pending", pending);
    if (pending > 0)
        return;
    json_t *results = json_incref(json_object_get(kids, "results"));
    json_object_del(t, "kids");
    /* AWS chains ParallelStateExited to the same event as ParallelStateSucceeded. */
    int64_t prev = sfn_geti(t, "prev");
    sfn_emit(x, t, "ParallelStateSucceeded", NULL, NULL);
    sfn_seti(t, "prev", prev);
    sfn_sets(t, "phase", "run");
    sfn_finish_result(x, t, results);
}
