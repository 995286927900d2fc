/* queue/api_move.c - StartMessageMoveTask, ListMessageMoveTasks,
 * CancelMessageMoveTask */
#include "queue/internal.h"

#include <stdlib.h>
#include <string.h>

static int queue_by_arn(const sy_req_t *req, const char *arn, const char *param, sy_queue_t *q, sy_err_t *err)
{
    char *name = arn ? sy_queue_name_from_arn(req->ctx, arn) : NULL;
    if (!name)
        return sy_err_set(err, SY_E_INVALID, 400, "InvalidParameterValue", "Value %s for parameter %s is invalid.",
                          arn ? arn : "(missing)", param);
    int rc = queue_get((sy_ctx_t *)req->ctx, name, q, err);
    free(name);
    if (rc == SY_E_NOTFOUND)
        rc = sy_err_set(err, SY_E_NOTFOUND, 400, "ResourceNotFoundException", "The resource that you specified for the %s parameter doesn't exist.", param);
    return rc;
}

int sqs_start_move_task(const sy_req_t *req, json_t *in, json_t **out, sy_err_t *err)
{
    const char *src_arn = sy_json_str(in, "SourceArn"), *dest_arn = sy_json_str(in, "DestinationArn");
    int64_t rate = 0;
    bool has_rate;
    if (param_int(in, "MaxNumberOfMessagesPerSecond", &rate, &has_rate, err) < 0) return SY_E_INVALID;
    if (has_rate && (rate < 1 || rate > 500))
        return sy_err_set(err, SY_E_INVALID, 400, "InvalidParameterValue",
                          "Value %lld for parameter MaxNumberOfMessagesPerSecond is invalid. Reason: must be between 1 and 500.",
                          (long long)rate);
    sy_queue_t src, dst;
    int rc = queue_by_arn(req, src_arn, "SourceArn", &src, err);
    if (rc < 0) return rc;
    if (dest_arn && (rc = queue_by_arn(req, dest_arn, "DestinationArn", &dst, err)) < 0) goto done;
    if (dest_arn) sy_queue_clear(&dst);
    json_t *sources = json_array();
    rc = store_queue_dlq_sources((sy_ctx_t *)req->ctx, src_arn, sources, err);
    bool is_dlq = json_array_size(sources) > 0;
    json_decref(sources);
    if (rc < 0) goto done;
    if (!is_dlq) {
        rc = sy_err_set(err, SY_E_INVALID, 400, "InvalidParameterValue",
                        "Source queue must be configured as a Dead Letter Queue.");
        goto done;
    }
    char handle[64];
    if ((rc = move_start((sy_ctx_t *)req->ctx, &src, src_arn, dest_arn, has_rate ? (int)rate : 0, handle, err)) == 0)
        *out = json_pack("{s:s}", "TaskHandle", handle);
done:
    sy_queue_clear(&src);
    return rc;
}

int sqs_list_move_tasks(const sy_req_t *req, json_t *in, json_t **out, sy_err_t *err)
{
    int64_t max = 1;
    bool has;
    if (param_int(in, "MaxResults", &max, &has, err) < 0) return SY_E_INVALID;
    if (has && (max < 1 || max > 10))
        return sy_err_set(err, SY_E_INVALID, 400, "InvalidParameterValue", "Value %lld for parameter MaxResults is invalid.",
                          (long long)max);
    sy_queue_t src;
    int rc = queue_by_arn(req, sy_json_str(in, "SourceArn"), "SourceArn", &src, err);
    if (rc < 0) return rc;
    json_t *res = json_array();
    rc = move_list((sy_ctx_t *)req->ctx, &src, (int)max, res, err);
    sy_queue_clear(&src);
    if (rc < 0) {
        json_decref(res);
        return rc;
    }
    *out = json_pack("{s:o}", "Results", res);
    return 0;
}

int sqs_cancel_move_task(const sy_req_t *req, json_t *in, json_t **out, sy_err_t *err)
{
    const char *h = sy_json_str(in, "TaskHandle");
    if (!h)
        return sy_err_set(err, SY_E_INVALID, 400, "MissingParameter", "The request must contain the parameter TaskHandle.");
    int64_t moved = 0;
    int rc = move_cancel((sy_ctx_t *)req->ctx, h, &moved, err);
    if (rc == 0) *out = json_pack("{s:I}", "ApproximateNumberOfMessagesMoved", (json_int_t)moved);
    return rc;
}
