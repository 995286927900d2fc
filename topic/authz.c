/* topic/authz.c - the resource an SNS action touches, and the access check
 * against the caller's identity policies and the topic's Policy attribute. */
#include "topic/internal.h"

#include <stdlib.h>
#include <string.h>

/* A subscription ARN is its topic's ARN plus ":<id>". */
static char *topic_of_subscription(const char *sub_arn)
{
    char *t = sy_strdup(sub_arn);
    char *colon = strrchr(t, ':');
    if (colon) *colon = 0;
    return t;
}

int tp_authorize(sy_ctx_t *ctx, const sy_req_t *req, const json_t *in, sy_err_t *err)
{
    char action[96];
    snprintf(action, sizeof action, "sns:%s", req->action ? req->action : "");
    const char *a = req->action ? req->action : "";
    char *resource = NULL;
    if (!strcmp(a, "CreateTopic") && sy_json_str(in, "Name")) resource = sy_arn(ctx, "sns", sy_json_str(in, "Name"));
    else if (sy_json_str(in, "TopicArn")) resource = sy_strdup(sy_json_str(in, "TopicArn"));
    else if (sy_json_str(in, "SubscriptionArn")) resource = topic_of_subscription(sy_json_str(in, "SubscriptionArn"));
    else if (sy_json_str(in, "ResourceArn")) resource = sy_strdup(sy_json_str(in, "ResourceArn"));
    else resource = sy_strdup("*");
    json_t *policy = NULL;
    char *name = strcmp(a, "CreateTopic") ? tp_topic_name(resource) : NULL;
    if (name) {
        const char *p[1] = {name};
        json_t *rows = NULL;
        sy_err_t ignore;
        if (tp_db(ctx, &ignore, TP_Q_TOPIC_GET, p, &rows) == 0) {
            json_t *attrs = json_loads(sy_json_str(json_array_get(rows, 0), "attrs") ? sy_json_str(json_array_get(rows, 0), "attrs") : "{}", 0, NULL);
            const char *text = sy_json_str(attrs, "Policy");
            if (text && *text) policy = json_loads(text, 0, NULL);
            json_decref(attrs);
        }
        json_decref(rows);
        free(name);
    }
    int rc = sy_authz_check(req, action, resource, policy, err);
    json_decref(policy);
    free(resource);
    return rc;
}
