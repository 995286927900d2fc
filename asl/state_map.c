/* Map state (inline processing; distributed Maps with inline items run the
 * same way): one child thread per item, at most MaxConcurrency at once. */
#include "asl/internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

json_t *asl_child_scope(const json_t *t, const char *k1, int64_t idx);
void asl_drop_children(asl_x_t *x, json_t *t);

static int int_field(const json_t *st, const char *lit, const char *pathk, const json_t *in,
                     const json_t *ctx, bool real, double *out, asl_fault_t *f)
{
    json_t *v = json_object_get(st, lit);
    if (v) {
        *out = json_number_value(v);
        return 0;
    }
    const char *p = asl_gets(st, pathk);
    if (!p)
        return 0;
    if (asl_value_eval(p, pathk, in, ctx, &v, f) != 0)
        return -1;
    if (json_is_string(v)) { /* AWS also takes a number written as a string ("1") */
        json_t *num = asl_loads_any(json_string_value(v), strlen(json_string_value(v)));
        if (json_is_number(num)) {
            json_decref(v);
            v = num;
        } else {
            json_decref(num);
        }
    }
    if (real ? !json_is_number(v) : !asl_is_int(v)) {
        char *s = json_is_string(v) ? sy_strdup(json_string_value(v)) : asl_dumps(v);
        asl_fault_set(f, "States.Runtime", "The %s field refers to value \"%s\" which is not a valid %s: %s",
                      pathk, s, real ? "float" : "integer", p);
        free(s);
        json_decref(v);
        return -1;
    }
    *out = json_number_value(v);
    json_decref(v);
    return 0;
}

/* JSONata mode: the literal or expression of lit (bind set); JSONPath mode: lit or pathk. */
static int num_field(asl_x_t *x, json_t *t, const json_t *bind, const json_t *st, const char *lit,
                     const char *pathk, const json_t *in, const json_t *ctx, bool real, double hi, double *out,
                     asl_fault_t *f)
{
    if (!bind)
        return int_field(st, lit, pathk, in, ctx, real, out, f);
    bool given;
    return asl_jx_int_field(x, t, st, lit, bind, 0, (int64_t)hi, real, out, &given, f);
}

/* MaxConcurrency is read before MapStateStarted, the tolerated failures after. */
static int map_concurrency(asl_x_t *x, json_t *t, const json_t *bind, const json_t *st, const json_t *in,
                           const json_t *ctx, json_t *kids, asl_fault_t *f)
{
    double maxc = 0;
    if (num_field(x, t, bind, st, "MaxConcurrency", "MaxConcurrencyPath", in, ctx, false, 2147483647.0, &maxc, f) != 0)
        return -1;
    asl_seti(kids, "maxc", (int64_t)maxc);
    return 0;
}

static int map_limits(asl_x_t *x, json_t *t, const json_t *bind, const json_t *st, const json_t *in,
                      const json_t *ctx, json_t *kids, asl_fault_t *f)
{
    double tolc = -1, tolp = -1;
    if (num_field(x, t, bind, st, "ToleratedFailureCount", "ToleratedFailureCountPath", in, ctx, false, 2147483647.0,
                  &tolc, f) != 0 ||
        num_field(x, t, bind, st, "ToleratedFailurePercentage", "ToleratedFailurePercentagePath", in, ctx, true, 100.0,
                  &tolp, f) != 0)
        return -1;
    if (json_object_get(st, "ToleratedFailureCountPath") && tolc < 0) {
        asl_fault_set(f, "States.Runtime", "ToleratedFailureCount cannot be negative.");
        return -1;
    }
    if (json_object_get(st, "ToleratedFailurePercentagePath") && (tolp < 0 || tolp > 100)) {
        asl_fault_set(f, "States.Runtime", "ToleratedFailurePercentage must be between 0 and 100.");
        return -1;
    }
    json_object_set_new(kids, "tolc", json_real(tolc));
    json_object_set_new(kids, "tolp", json_real(tolp));
    return 0;
}

static json_t *batch_items(const asl_x_t *x, const json_t *bind, const json_t *st, json_t *items,
                           const json_t *in, const json_t *ctx, asl_fault_t *f)
{
    json_t *b = json_object_get(st, "ItemBatcher");
    if (!b)
        return items;
    double per = 0;
    if (int_field(b, "MaxItemsPerBatch", "MaxItemsPerBatchPath", in, ctx, false, &per, f) != 0) {
        json_decref(items);
        return NULL;
    }
    json_t *binput = NULL;
    const json_t *bi = json_object_get(b, "BatchInput");
    if (bi && (bind ? asl_jx_eval(x, bi, bind, "ItemBatcher/BatchInput", &binput, f)
                    : asl_payload_eval(bi, in, ctx, &binput, f)) != 0) {
        json_decref(items);
        return NULL;
    }
    json_t *out = json_array(), *cur = NULL;
    size_t i;
    json_t *e;
    json_array_foreach(items, i, e)
    {
        if (!cur || (per > 0 && json_array_size(json_object_get(cur, "Items")) >= (size_t)per)) {
            cur = json_object();
            if (binput)
                json_object_set(cur, "BatchInput", binput);
            json_object_set_new(cur, "Items", json_array());
            json_array_append_new(out, cur);
        }
        json_array_append(json_object_get(cur, "Items"), e);
    }
    json_decref(binput);
    json_decref(items);
    return out;
}

/* ItemReader: the caller answered the reader's TASK request with the object's
 * content (a JSON array, or its JSON text). Only InputType JSON is read here. */
static int reader_items(json_t *t, const json_t *reader, const json_t *in, const json_t *ctx, json_t **items,
                        asl_fault_t *f)
{
    const json_t *cfg = json_object_get(reader, "ReaderConfig");
    const char *type = asl_gets(cfg, "InputType");
    json_t *got = json_object_get(t, "reader_result");
    if (type && strcmp(type, "JSON") != 0) {
        asl_fault_set(f, "States.ItemReaderFailed", "ItemReader InputType %s is not supported", type);
        return -1;
    }
    *items = json_is_string(got) ? asl_loads_any(json_string_value(got), strlen(json_string_value(got)))
                                 : json_incref(got);
    if (!json_is_array(*items)) {
        json_decref(*items);
        *items = NULL;
        asl_fault_set(f, "States.ItemReaderFailed", "Attempting to map over non-iterable node.");
        return -1;
    }
    double max = 0;
    if (int_field(cfg, "MaxItems", "MaxItemsPath", in, ctx, false, &max, f) != 0) {
        json_decref(*items);
        *items = NULL;
        return -1;
    }
    while (max > 0 && json_array_size(*items) > (size_t)max)
        json_array_remove(*items, json_array_size(*items) - 1);
    return 0;
}

/* JSONata: Items (a literal array or an expression), or the state input. */
static int jx_items(asl_x_t *x, const json_t *bind, const json_t *st, const json_t *in, json_t **items,
                    asl_fault_t *f)
{
    const json_t *node = json_object_get(st, "Items");
    if (!node) {
        if (!json_is_array(in)) {
            char *s = asl_dumps(in);
            asl_fault_set(f, "States.QueryEvaluationError", "Map state input must be an array but was: %s", s);
            free(s);
            return -1;
        }
        *items = json_deep_copy(in);
        return 0;
    }
    if (asl_jx_eval(x, node, bind, "Items", items, f) != 0)
        return -1;
    if (!json_is_array(*items)) {
        asl_jx_type_fault(f, node, "Items", "array", *items);
        json_decref(*items);
        *items = NULL;
        return -1;
    }
    return 0;
}

static int map_items(asl_x_t *x, json_t *t, const json_t *bind, const json_t *st, const json_t *in,
                     const json_t *ctx, json_t **items, asl_fault_t *f)
{
    const char *ip = asl_gets(st, "ItemsPath");
    *items = NULL;
    json_t *reader = json_object_get(st, "ItemReader");
    if (reader)
        return reader_items(t, reader, in, ctx, items, f);
    if (bind) {
        if (jx_items(x, bind, st, in, items, f) != 0)
            return -1;
        *items = batch_items(x, bind, st, *items, in, ctx, f);
        return *items ? 0 : -1;
    }
    if (asl_value_eval(ip ? ip : "$", "ItemsPath", in, ctx, items, f) != 0)
        return -1;
    if (!json_is_array(*items)) {
        char *s = asl_dumps(*items);
        asl_fault_set(f, "States.Runtime", "Invalid path '%s': The value \"%s\" is not an array",
                      ip ? ip : "$", s);
        free(s);
        json_decref(*items);
        *items = NULL;
        return -1;
    }
    *items = batch_items(x, NULL, st, *items, in, ctx, f);
    return *items ? 0 : -1;
}

static json_t *iter_details(const json_t *t, int64_t i)
{
    json_t *d = json_object();
    json_object_set_new(d, "index", json_integer(i));
    json_object_set_new(d, "name", json_string(asl_gets(t, "state")));
    return d;
}

static int start_iteration(asl_x_t *x, json_t *t, json_t *kids, int64_t i, asl_fault_t *f)
{
    const json_t *st = asl_state_def(x, t);
    json_t *item = json_array_get(json_object_get(kids, "items"), (size_t)i);
    json_t *sel = json_object_get(st, "ItemSelector");
    if (!sel)
        sel = json_object_get(st, "Parameters");
    json_t *input;
    if (sel && asl_jx_state(x, st)) {
        json_t *m = json_pack("{s:{s:I,s:O}}", "Item", "Index", (json_int_t)i, "Value", item);
        json_t *bind = asl_jx_bind(x, t, json_object_get(kids, "eff"), NULL, NULL, m);
        int rc = asl_jx_eval(x, sel, bind, "ItemSelector", &input, f);
        json_decref(bind);
        json_decref(m);
        if (rc != 0)
            return -1;
    } else if (sel) {
        json_t *ctx = asl_ctx(x, t);
        json_t *m = json_pack("{s:{s:I,s:O}}", "Item", "Index", (json_int_t)i, "Value", item);
        json_object_set_new(ctx, "Map", m);
        int rc = asl_payload_eval(sel, json_object_get(kids, "eff"), ctx, &input, f);
        json_decref(ctx);
        if (rc != 0)
            return -1;
    } else {
        input = json_deep_copy(item);
    }
    if (!json_is_true(json_object_get(t, "distributed"))) /* a map run has its own history */
        asl_emit(x, t, "MapIterationStarted", "mapIterationStartedEventDetails", iter_details(t, i));
    const char *k = json_object_get(st, "ItemProcessor") ? "ItemProcessor" : "Iterator";
    asl_thread_new(x, asl_geti(t, "id"), i, asl_child_scope(t, k, -1), input);
    asl_seti(kids, "running", asl_geti(kids, "running") + 1);
    return 0;
}

static void launch(asl_x_t *x, json_t *t)
{
    json_t *kids = json_object_get(t, "kids");
    int64_t n = (int64_t)json_array_size(json_object_get(kids, "items"));
    int64_t maxc = asl_geti(kids, "maxc");
    while (asl_geti(kids, "next") < n && (maxc <= 0 || asl_geti(kids, "running") < maxc)) {
        int64_t i = asl_geti(kids, "next");
        asl_seti(kids, "next", i + 1);
        asl_fault_t f = {0};
        if (start_iteration(x, t, kids, i, &f) != 0) {
            asl_drop_children(x, t);
            json_object_del(t, "kids");
            asl_state_fault(x, t, &f);
            asl_fault_clear(&f);
            return;
        }
    }
}

static void map_succeeded(asl_x_t *x, json_t *t)
{
    json_t *kids = json_object_get(t, "kids");
    json_t *results = json_incref(json_object_get(kids, "results"));
    /* MapStateSucceeded follows the last MapIterationSucceeded; MapStateExited
     * is chained to the same event as MapStateSucceeded. A distributed Map's
     * MapStateExited is chained to MapRunStarted (as AWS records it since late
     * 2024; recordings up to mid 2024 chain it to MapRunSucceeded). */
    if (json_object_get(kids, "last_done"))
        asl_seti(t, "prev", asl_geti(kids, "last_done"));
    json_object_del(t, "kids");
    int64_t exited_prev = -1;
    if (json_is_true(json_object_get(t, "distributed"))) {
        exited_prev = asl_geti(t, "prev"); /* children of a map run emit nothing: MapRunStarted */
        asl_emit(x, t, "MapRunSucceeded", NULL, NULL);
    }
    int64_t prev = asl_geti(t, "prev");
    asl_emit(x, t, "MapStateSucceeded", NULL, NULL);
    asl_seti(t, "prev", exited_prev >= 0 ? exited_prev : prev);
    json_object_del(t, "distributed");
    asl_sets(t, "phase", "run");
    json_object_set_new(t, "finishing", json_true()); /* Output / Assign: the state ran */
    asl_finish_result(x, t, results);
}

/* arn:aws:states:<region>:<account>:mapRun:<state machine>/<label or state>:<uuid> */
static char *map_run_arn(const asl_x_t *x, const json_t *t, const json_t *st)
{
    const char *sm = asl_gets(json_object_get(json_object_get(x->st, "ctx"), "StateMachine"), "Id");
    const char *label = asl_gets(st, "Label");
    char uuid[37];
    sy_uuid4(uuid);
    const char *p = sm ? strstr(sm, ":stateMachine:") : NULL;
    if (!p)
        return sy_asprintf("%s/%s:%s", sm ? sm : "", label ? label : asl_gets(t, "state"), uuid);
    return sy_asprintf("%.*s:mapRun:%s/%s:%s", (int)(p - sm), sm, p + 14, label ? label : asl_gets(t, "state"), uuid);
}

void asl_run_map(asl_x_t *x, json_t *t)
{
    const json_t *st = asl_state_def(x, t);
    json_t *ctx = asl_ctx(x, t), *in = NULL, *items = NULL;
    asl_fault_t f = {0};
    const json_t *reader = json_object_get(st, "ItemReader");
    json_t *bind = asl_jx_state(x, st) ? asl_jx_bind(x, t, json_object_get(t, "input"), NULL, NULL, NULL) : NULL;
    if (reader && !json_object_get(t, "reader_result")) {
        /* fetch the items first: a TASK request for the reader's resource */
        json_t *params = NULL;
        const json_t *args = json_object_get(reader, "Parameters") ? json_object_get(reader, "Parameters")
                                                                   : json_object_get(reader, "Arguments");
        if (asl_path_select(st, "InputPath", json_object_get(t, "input"), ctx, &in, &f) != 0 ||
            (bind ? asl_jx_eval(x, args, bind, "ItemReader/Arguments", &params, &f)
                  : asl_payload_eval(args, in, ctx, &params, &f)) != 0) {
            json_decref(bind);
            json_decref(in);
            json_decref(ctx);
            asl_state_fault(x, t, &f);
            asl_fault_clear(&f);
            return;
        }
        json_decref(bind);
        asl_request_task(x, t, asl_gets(reader, "Resource"), params);
        asl_sets(t, "phase", "wait_reader");
        json_decref(params);
        json_decref(in);
        json_decref(ctx);
        return;
    }
    json_t *kids = json_object();
    if (asl_path_select(st, "InputPath", json_object_get(t, "input"), ctx, &in, &f) != 0 ||
        map_items(x, t, bind, st, in, ctx, &items, &f) != 0 ||
        map_concurrency(x, t, bind, st, in, ctx, kids, &f) != 0) {
        json_decref(bind);
        json_decref(items);
        json_decref(kids);
        json_decref(in);
        json_decref(ctx);
        asl_state_fault(x, t, &f);
        asl_fault_clear(&f);
        return;
    }
    size_t n = json_array_size(items);
    asl_emit(x, t, "MapStateStarted", "mapStateStartedEventDetails", json_pack("{s:I}", "length", (json_int_t)n));
    int lrc = map_limits(x, t, bind, st, in, ctx, kids, &f);
    json_decref(bind);
    if (lrc != 0) {
        json_decref(kids);
        json_decref(in);
        json_decref(items);
        json_decref(ctx);
        asl_state_fault(x, t, &f);
        asl_fault_clear(&f);
        return;
    }
    json_decref(ctx);
    json_object_del(t, "reader_result");
    const json_t *proc = json_object_get(st, "ItemProcessor");
    const char *mode = asl_gets(json_object_get(proc ? proc : json_object_get(st, "Iterator"), "ProcessorConfig"), "Mode");
    if (mode && !strcmp(mode, "DISTRIBUTED")) {
        json_object_set_new(t, "distributed", json_true());
        char *arn = map_run_arn(x, t, st);
        asl_emit(x, t, "MapRunStarted", "mapRunStartedEventDetails", json_pack("{s:s}", "mapRunArn", arn));
        free(arn);
    }
    json_t *results = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(results, json_null());
    json_object_set_new(kids, "results", results);
    json_object_set_new(kids, "items", items);
    json_object_set_new(kids, "eff", in);
    asl_seti(kids, "pending", (int64_t)n);
    json_object_set_new(t, "kids", kids);
    asl_sets(t, "phase", "wait_kids");
    if (n == 0) {
        map_succeeded(x, t);
        return;
    }
    launch(x, t);
}

static bool tolerated(const json_t *kids)
{
    double failed = (double)asl_geti(kids, "failed");
    double total = (double)json_array_size(json_object_get(kids, "items"));
    double tolc = json_real_value(json_object_get(kids, "tolc"));
    double tolp = json_real_value(json_object_get(kids, "tolp"));
    if (tolc >= 0 && failed <= tolc)
        return true;
    if (tolp >= 0 && total > 0 && failed * 100.0 / total <= tolp)
        return true;
    return false;
}

void asl_map_child_done(asl_x_t *x, json_t *t, json_t *child)
{
    json_t *kids = json_object_get(t, "kids");
    if (!kids)
        return;
    int64_t i = asl_geti(child, "index");
    bool ok = !strcmp(asl_gets(child, "status"), "ok");
    int64_t last = asl_geti(child, "prev");
    asl_emit(x, child, ok ? "MapIterationSucceeded" : "MapIterationFailed",
             ok ? "mapIterationSucceededEventDetails" : "mapIterationFailedEventDetails", iter_details(t, i));
    /* The next MapIterationStarted and a MapStateFailed follow the finished
     * iteration's last state event; MapStateSucceeded the last MapIterationSucceeded. */
    asl_seti(t, "prev", last);
    if (ok)
        asl_seti(kids, "last_done", asl_geti(child, "prev"));
    asl_seti(kids, "running", asl_geti(kids, "running") - 1);
    if (ok) {
        json_array_set(json_object_get(kids, "results"), (size_t)i, json_object_get(child, "output"));
    } else {
        asl_seti(kids, "failed", asl_geti(kids, "failed") + 1);
        if (!tolerated(kids)) {
            asl_task_aborted(x, t, child);
            bool had_tolerance = json_real_value(json_object_get(kids, "tolc")) >= 0 ||
                                 json_real_value(json_object_get(kids, "tolp")) >= 0;
            const char *err = had_tolerance ? "States.ExceedToleratedFailureThreshold"
                              : asl_gets(child, "error") ? asl_gets(child, "error") : "";
            const char *cause = had_tolerance ? "The specified tolerated failure threshold was exceeded"
                                              : asl_gets(child, "cause");
            asl_drop_children(x, t);
            json_object_del(t, "kids");
            bool distributed = json_is_true(json_object_get(t, "distributed"));
            json_object_del(t, "distributed");
            asl_sets(t, "phase", "run");
            /* A retried Map starts again without a MapStateFailed event. */
            if (!distributed && asl_try_retry(x, t, asl_state_def(x, t), err))
                return;
            if (distributed)
                asl_emit(x, t, "MapRunFailed", NULL, NULL);
            asl_emit(x, t, "MapStateFailed", NULL, NULL);
            asl_state_error(x, t, err, cause);
            return;
        }
    }
    int64_t pending = asl_geti(kids, "pending") - 1;
    asl_seti(kids, "pending", pending);
    if (pending == 0) {
        map_succeeded(x, t);
        return;
    }
    launch(x, t);
}
