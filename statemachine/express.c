/* statemachine/express.c - EXPRESS executions run in memory: timers sleep,
 * function results come back through sfn_express_deliver. */
#include "statemachine/internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SFN_EXPRESS_MAX_S 300 /* an EXPRESS execution lasts at most five minutes */

struct sfn_waiter {
    char *arn;
    pthread_cond_t cv;
    json_t *results; /* [{r, res | err, cause}] */
    sfn_waiter_t *next;
};

bool sfn_express_deliver(sfn_svc_t *svc, const char *exec_arn, int64_t req, const json_t *res, const char *error,
                         const char *cause)
{
    bool found = false;
    pthread_mutex_lock(&svc->mu);
    for (sfn_waiter_t *w = svc->waiters; w; w = w->next) {
        if (strcmp(w->arn, exec_arn) != 0) continue;
        json_t *o = json_pack("{s:I}", "r", (json_int_t)req);
        if (error) {
            json_object_set_new(o, "err", json_string(error));
            if (cause) json_object_set_new(o, "cause", json_string(cause));
        } else {
            json_object_set_new(o, "res", res ? json_deep_copy(res) : json_null());
        }
        json_array_append_new(w->results, o);
        pthread_cond_signal(&w->cv);
        found = true;
        break;
    }
    pthread_mutex_unlock(&svc->mu);
    return found;
}

static const sy_asl_req_t *pending(sy_asl_exec_t *x, int64_t id, size_t *n_out)
{
    const sy_asl_req_t *reqs;
    size_t n;
    sy_asl_exec_pending(x, &reqs, &n);
    if (n_out) *n_out = n;
    for (size_t i = 0; i < n; i++)
        if (reqs[i].id == id) return &reqs[i];
    return NULL;
}

int sfn_express_block(sfn_run_t *r, sy_asl_exec_t *x, sy_err_t *err)
{
    (void)err;
    sfn_svc_t *svc = r->svc;
    pthread_mutex_lock(&svc->mu);
    for (;;) {
        if (json_array_size(r->waiter->results)) {
            json_t *o = json_incref(json_array_get(r->waiter->results, 0));
            json_array_remove(r->waiter->results, 0);
            pthread_mutex_unlock(&svc->mu);
            const sy_asl_req_t *q = pending(x, sfn_int(o, "r"), NULL);
            if (q && q->kind == SY_ASL_REQ_TASK) {
                const char *e = sy_json_str(o, "err");
                json_t *res = e ? NULL : sfn_function_result(q->resource, json_object_get(o, "res"));
                sy_asl_exec_resume_task(x, q->id, res, e, sy_json_str(o, "cause"));
                json_decref(res);
            }
            json_decref(o);
            return 1;
        }
        size_t n;
        pending(x, -1, &n);
        if (n == 0) {
            pthread_mutex_unlock(&svc->mu);
            return 0;
        }
        int64_t now = sy_now_ms(), best = -1;
        size_t bi = 0, i;
        json_t *t;
        json_array_foreach(r->timers, i, t) if (best < 0 || sfn_int(t, "due") < best)
        {
            best = sfn_int(t, "due");
            bi = i;
        }
        if (best >= 0 && best <= now) {
            int64_t id = sfn_int(json_array_get(r->timers, bi), "r");
            json_array_remove(r->timers, bi);
            pthread_mutex_unlock(&svc->mu);
            sy_asl_exec_resume_timer(x, id);
            return 1;
        }
        if (r->deadline_ms > 0 && now >= r->deadline_ms) { /* TimeoutSeconds or the 5-minute limit */
            pthread_mutex_unlock(&svc->mu);
            sy_asl_exec_timeout(x);
            return 0;
        }
        if (svc->stop || r->ctx->stopping) {
            pthread_mutex_unlock(&svc->mu);
            sy_asl_exec_abort(x, "States.Runtime", "the broker is shutting down");
            return 0;
        }
        int64_t until = best >= 0 ? best : now + 1000;
        if (until > now + 1000) until = now + 1000;
        if (r->deadline_ms > 0 && until > r->deadline_ms) until = r->deadline_ms;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        int64_t ns = (int64_t)ts.tv_nsec + (until - now) * 1000000LL;
        ts.tv_sec += (time_t)(ns / 1000000000LL);
        ts.tv_nsec = (long)(ns % 1000000000LL);
        pthread_cond_timedwait(&r->waiter->cv, &svc->mu, &ts);
    }
}

sy_asl_exec_t *sfn_express_run(sfn_svc_t *svc, const sy_asl_def_t *def, const json_t *input, const json_t *context,
                               const char *exec_arn, bool history, const json_t *vars, sy_err_t *err)
{
    int64_t start = sy_now_ms();
    sy_asl_exec_t *x = sy_asl_exec_new(def, input, context, start);
    if (!x) {
        sy_err_set(err, SY_E_INTERNAL, 500, "InternalFailure", "could not start the execution");
        return NULL;
    }
    if (vars) sy_asl_exec_set_variables(x, vars);
    if (!history) sy_asl_exec_set_history(x, false);
    sfn_waiter_t w = {.arn = (char *)exec_arn, .results = json_array()};
    pthread_cond_init(&w.cv, NULL);
    pthread_mutex_lock(&svc->mu);
    w.next = svc->waiters;
    svc->waiters = &w;
    pthread_mutex_unlock(&svc->mu);
    sfn_run_t r = {.ctx = svc->ctx, .svc = svc, .express = true, .exec_arn = exec_arn, .timers = json_array(),
                   .waiter = &w};
    int64_t to = sy_asl_def_timeout_s(def);
    if (to <= 0 || to > SFN_EXPRESS_MAX_S) to = SFN_EXPRESS_MAX_S;
    r.deadline_ms = start + (int64_t)((double)to * 1000.0 / sfn_scale(svc->ctx));
    sfn_drive(&r, x, err);
    pthread_mutex_lock(&svc->mu);
    for (sfn_waiter_t **p = &svc->waiters; *p; p = &(*p)->next)
        if (*p == &w) {
            *p = w.next;
            break;
        }
    pthread_mutex_unlock(&svc->mu);
    pthread_cond_destroy(&w.cv);
    json_decref(w.results);
    json_decref(r.timers);
    sy_metric_inc("switchyard_sfn_executions_started_total", "type=\"EXPRESS\"", 1);
    return x;
}
