/* statemachine/test_double.c - the built-in function invoker for tests,
 * installed by sy_sfn_start when the broker's test_doubles setting
 * (SWITCHYARD_TEST_DOUBLES) names "sfn-invoker"; it then stays in place of
 * whatever invoker server/wiring.c sets. Functions named *raise* fail with
 * {"errorType"} from the payload (default TestError), *sleep* answer after
 * payload.seconds (durable: a delayed work message), anything else returns
 * its payload (identity). */
#include "statemachine/internal.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static int test_invoker(sy_ctx_t *ctx, PGconn *c, const sy_sfn_invocation_t *inv, void *udata, sy_err_t *err)
{
    (void)udata;
    const char *colon = strrchr(inv->function, ':');
    const char *name = strstr(inv->function, ":function:") ? strstr(inv->function, ":function:") + 10
                                                              : (colon ? colon + 1 : inv->function);
    if (strstr(name, "raise")) {
        const char *t = sy_json_str(inv->payload, "errorType");
        const char *m = sy_json_str(inv->payload, "errorMessage");
        char *cause = sy_asprintf("{\"errorMessage\":\"%s\",\"errorType\":\"%s\"}", m ? m : "raised",
                                  t ? t : "TestError");
        int rc = sy_sfn_task_complete(ctx, c, inv->execution_arn, inv->task_id, NULL, t ? t : "TestError", cause, err);
        free(cause);
        return rc;
    }
    if (strstr(name, "sleep")) {
        json_t *sv = json_object_get(inv->payload, "seconds");
        double s = json_is_number(sv) ? json_number_value(sv) : 1.0;
        if (inv->express) {
            struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
            nanosleep(&ts, NULL);
            return sy_sfn_task_complete(ctx, NULL, inv->execution_arn, inv->task_id, inv->payload, NULL, NULL, err);
        }
        json_t *b = json_pack("{s:s,s:s,s:I,s:s,s:O}", "k", "task", "e", inv->execution_arn, "r",
                              (json_int_t)inv->task_id, "src", "fn", "res", (json_t *)inv->payload);
        int rc = sfn_work_send_c(ctx, c, b, (int64_t)(s * 1000.0), err);
        json_decref(b);
        return rc;
    }
    return sy_sfn_task_complete(ctx, c, inv->execution_arn, inv->task_id, inv->payload, NULL, NULL, err);
}

void sfn_test_double_install(sfn_svc_t *svc)
{
    pthread_mutex_lock(&svc->mu);
    svc->invoker = test_invoker;
    svc->invoker_udata = NULL;
    svc->invoker_is_double = true;
    pthread_mutex_unlock(&svc->mu);
    sy_log(SY_LOG_WARN, "sfn", NULL, "test function invoker enabled");
}
