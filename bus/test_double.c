/* bus/test_double.c - the function-target test double ("bus-invoker" in
 * SWITCHYARD_TEST_DOUBLES, cfg.test_doubles), installed by sy_bus_start in
 * place of the real invoker: a function whose name contains "fail" fails
 * with "Lambda.ServiceException"; any other function NAME has its payload
 * sent to the SQS queue "NAME-calls" (if it exists) inside the delivery
 * transaction. */
#include "bus/internal.h"

#include <stdlib.h>
#include <string.h>

static int test_invoker(sy_ctx_t *ctx, PGconn *c, const sy_bus_invocation_t *inv, void *udata, sy_err_t *err)
{
    (void)udata;
    const char *fn = strstr(inv->function, ":function:");
    fn = fn ? fn + 10 : inv->function;
    char name[160];
    snprintf(name, sizeof name, "%.*s", (int)strcspn(fn, ":"), fn);
    if (strstr(name, "fail"))
        return sy_err_set(err, SY_E_INTERNAL, 500, "Lambda.ServiceException", "test function %s failed", name);
    char *q = sy_asprintf("%s-calls", name);
    sy_msg_in_t m = {.body = inv->payload, .body_len = inv->payload_len, .delay_s = -1};
    sy_err_t e;
    sy_err_clear(&e);
    int rc = sy_queue_tx_send(ctx, c, q, &m, NULL, &e);
    free(q);
    if (rc < 0 && e.sqlstate[0]) {
        *err = e;
        return rc;
    }
    return 0;
}

void eb_test_doubles_install(eb_svc_t *svc)
{
    if (!sy_config_list_has(svc->ctx->cfg.test_doubles, "bus-invoker")) return;
    svc->invoker = test_invoker;
    svc->invoker_udata = NULL;
    sy_log(SY_LOG_WARN, "events", NULL, "test function invoker enabled");
}
