/* queue/authz.c - which resource an SQS action touches, and the access check
 * against the caller's identity policies and the queue's Policy attribute
 * (AddPermission statements included: they live in Policy, as on AWS). */
#include "queue/internal.h"

#include <stdlib.h>
#include <string.h>

int sqs_authorize(const sy_req_t *req, const json_t *in, sy_err_t *err)
{
    char action[96];
    snprintf(action, sizeof action, "sqs:%s", req->action);
    const char *direct = NULL; /* CreateQueue / GetQueueUrl name the queue */
    if (!strcmp(req->action, "ListQueues")) return sy_authz_check(req, action, "*", NULL, err);
    if (!strcmp(req->action, "CreateQueue") || !strcmp(req->action, "GetQueueUrl")) direct = sy_json_str(in, "QueueName");
    /* ListMessageMoveTasks / Start-/CancelMessageMoveTask name queues by ARN */
    const char *arn_param = sy_json_str(in, "SourceArn");
    char *name = direct ? sy_strdup(direct) : NULL;
    if (!name && !arn_param) {
        const char *url = sy_json_str(in, "QueueUrl");
        if (!url && req->proto == SY_PROTO_QUERY) url = sy_form_get(req->form, "QueueUrl");
        name = queue_name_from_url(url);
    }
    char *resource = NULL;
    if (name) resource = sy_arn(req->ctx, "sqs", name);
    else if (arn_param) {
        resource = sy_strdup(arn_param);
        char *buf = sy_strdup(arn_param);
        sy_arn_parts_t p;
        if (sy_arn_parse(buf, &p) == 0) name = sy_strdup(p.resource);
        free(buf);
    }
    if (!resource) resource = sy_strdup("*"); /* the action will fail on its own missing parameter */
    json_t *policy = NULL;
    if (name && !direct) {
        sy_queue_t q;
        sy_err_t ignore;
        if (queue_get((sy_ctx_t *)req->ctx, name, &q, &ignore) == 0) {
            const char *text = sy_json_str(q.attrs, "Policy");
            if (text && *text) policy = json_loads(text, 0, NULL);
            sy_queue_clear(&q);
        }
    }
    int rc = sy_authz_check(req, action, resource, policy, err);
    json_decref(policy);
    free(resource);
    free(name);
    return rc;
}
