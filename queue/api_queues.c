/* queue/api_queues.c - queue lifecycle, attributes, tags, permissions */
#include "queue/internal.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static sy_ctx_t *CTX(const sy_req_t *r)
{
    return (sy_ctx_t *)r->ctx;
}

static int missing(sy_err_t *err, const char *p)
{
    return sy_err_set(err, SY_E_INVALID, 400, "MissingParameter", "The request must contain the parameter %s.", p);
}

static bool valid_name(const char *n, bool *fifo)
{
    size_t len = strlen(n);
    *fifo = len > 5 && strcmp(n + len - 5, ".fifo") == 0;
    size_t base = *fifo ? len - 5 : len;
    if (base == 0 || len > 80) return false;
    for (size_t i = 0; i < base; i++) {
        char c = n[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
            return false;
    }
    return true;
}

static json_t *url_out(const sy_req_t *req, const char *name)
{
    char url[512];
    return json_pack("{s:s}", "QueueUrl", queue_url(req, name, url, sizeof url));
}

int sqs_create_queue(const sy_req_t *req, json_t *in, json_t **out, sy_err_t *err)
{
    const char *name = sy_json_str(in, "QueueName");
    if (!name) return missing(err, "QueueName");
    bool fifo;
    if (!valid_name(name, &fifo))
        return sy_err_set(err, SY_E_INVALID, 400, "InvalidParameterValue",
                          "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length");
    json_t *given = json_object_get(in, "Attributes");
    if (given && !json_is_object(given))
        return sy_err_set(err, SY_E_INVALID, 400, "InvalidParameterValue", "Attributes must be a map");
    const char *fq = sy_json_str(given, "FifoQueue");
    if (fifo && (!fq || strcasecmp(fq, "true") != 0)) /* without FifoQueue it is a standard name, and '.' is not allowed */
        return sy_err_set(err, SY_E_INVALID, 400, "InvalidParameterValue",
                          "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length");
    if (fq && strcasecmp(fq, "true") == 0 && !fifo)
        return sy_err_set(err, SY_E_INVALID, 400, "InvalidParameterValue",
                          "The name of a FIFO queue can only include alphanumeric characters, hyphens, or underscores, must end with .fifo suffix and be 1 to 80 in length.");
    json_t *attrs = json_object();
    attrs_defaults(fifo, attrs);
    json_t *norm = json_object(); /* the given attributes, normalized */
    int rc = 0;
    if (given && ((rc = attrs_apply(queue_engine(req->ctx), fifo, true, given, norm, err)) < 0)) goto done;
    json_object_update(attrs, norm);
    json_t *tags = json_object_get(in, "tags");
    if (tags && !json_is_object(tags)) {
        rc = sy_err_set(err, SY_E_INVALID, 400, "InvalidParameterValue", "tags must be a map");
        goto done;
    }
    sy_queue_t q;
    bool created = false;
    sy_queue_t probe;
    probe.attrs = NULL;
    queue_from_row(&probe, 0, name, fifo, attrs);
    json_t *no_tags = json_object();
    rc = store_queue_create(CTX(req), name, fifo, attrs, tags ? tags : no_tags, probe.retention_s, false, &q,
                            &created, err);
    json_decref(no_tags);
    if (rc < 0) goto done;
    if (created) queue_changed(CTX(req), name); /* a broker may hold a deleted queue of that name */
    if (!created) { /* idempotent only when every given attribute matches */
        const char *k;
        json_t *v;
        json_object_foreach(norm, k, v) {
            const char *have = sy_json_str(q.attrs, k);
            if (!have || strcmp(have, json_string_value(v)) != 0) {
                rc = sy_err_set2(err, SY_E_EXISTS, 400, "QueueNameExists", "QueueAlreadyExists",
                                 "A queue already exists with the same name and a different value for attribute %s", k);
                break;
            }
        }
    }
    sy_queue_clear(&q);
    if (rc == 0) *out = url_out(req, name);
done:
    json_decref(attrs);
    json_decref(norm);
    return rc;
}

int sqs_get_queue_url(const sy_req_t *req, json_t *in, json_t **out, sy_err_t *err)
{
    const char *name = sy_json_str(in, "QueueName");
    if (!name) return missing(err, "QueueName");
    sy_queue_t q;
    int rc = queue_get(CTX(req), name, &q, err);
    if (rc < 0) return rc;
    sy_queue_clear(&q);
    *out = url_out(req, name);
    return 0;
}

int sqs_list_queues(const sy_req_t *req, json_t *in, json_t **out, sy_err_t *err)
{
    int64_t max = 1000;
    bool has_max;
    if (param_int(in, "MaxResults", &max, &has_max, err) < 0) return SY_E_INVALID;
    if (has_max && (max < 1 || max > 1000))
        return sy_err_set(err, SY_E_INVALID, 400, "InvalidParameterValue",
                          "Value %lld for parameter MaxResults is invalid. Reason: MaxResults must be an integer between 1 and 1000.",
                          (long long)max);
    const char *token = sy_json_str(in, "NextToken");
    char *after = NULL;
    if (token) {
        unsigned char *raw;
        size_t len;
        if (sy_base64_decode(token, strlen(token), &raw, &len) < 0 || strncmp((char *)raw, "sy:", 3) != 0) {
            if (token && len) free(raw);
            return sy_err_set(err, SY_E_INVALID, 400, "InvalidParameterValue", "Invalid NextToken value.");
        }
        after = sy_strdup((char *)raw + 3);
        free(raw);
    }
    json_t *names = json_array();
    int rc = store_queue_list(CTX(req), sy_json_str(in, "QueueNamePrefix"), after, (int)max + 1, names, err);
    free(after);
    if (rc < 0) {
        json_decref(names);
        return rc;
    }
    json_t *urls = json_array();
    size_t i;
    json_t *n;
    json_array_foreach(names, i, n) {
        if ((int64_t)i == max) break;
        char url[512];
        json_array_append_new(urls, json_string(queue_url(req, json_string_value(n), url, sizeof url)));
    }
    *out = json_object();
    if (json_array_size(urls)) json_object_set(*out, "QueueUrls", urls);
    if (has_max && (int64_t)json_array_size(names) > max) {
        char *raw = sy_asprintf("sy:%s", json_string_value(json_array_get(names, (size_t)max - 1)));
        char *tok = sy_base64_encode(raw, strlen(raw));
        json_object_set_new(*out, "NextToken", json_string(tok));
        free(raw);
        free(tok);
    }
    json_decref(urls);
    json_decref(names);
    return 0;
}

int sqs_delete_queue(const sy_req_t *req, json_t *in, json_t **out, sy_err_t *err)
{
    (void)in;
    (void)out;
    sy_queue_t q;
    int rc = resolve_queue(req, &q, err);
    if (rc < 0) return rc;
    rc = store_queue_delete(CTX(req), q.id, err);
    queue_changed(CTX(req), q.name);
    sy_queue_clear(&q);
    return rc;
}

static const char *const readonly_attrs[] = {"ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
                                             "ApproximateNumberOfMessagesDelayed", "CreatedTimestamp",
                                             "LastModifiedTimestamp", "QueueArn"};

int sqs_get_queue_attributes(const sy_req_t *req, json_t *in, json_t **out, sy_err_t *err)
{
    sy_queue_t q;
    int rc = resolve_queue(req, &q, err);
    if (rc < 0) return rc;
    json_t *names = json_object_get(in, "AttributeNames");
    json_t *all = json_deep_copy(q.attrs);
    int64_t counts[3] = {0, 0, 0};
    if ((rc = store_queue_counts(CTX(req), q.id, counts, err)) < 0) goto done;
    char buf[32];
    snprintf(buf, sizeof buf, "%lld", (long long)counts[0]);
    json_object_set_new(all, "ApproximateNumberOfMessages", json_string(buf));
    snprintf(buf, sizeof buf, "%lld", (long long)counts[1]);
    json_object_set_new(all, "ApproximateNumberOfMessagesNotVisible", json_string(buf));
    snprintf(buf, sizeof buf, "%lld", (long long)counts[2]);
    json_object_set_new(all, "ApproximateNumberOfMessagesDelayed", json_string(buf));
    snprintf(buf, sizeof buf, "%lld", (long long)q.created_s);
    json_object_set_new(all, "CreatedTimestamp", json_string(buf));
    snprintf(buf, sizeof buf, "%lld", (long long)q.modified_s);
    json_object_set_new(all, "LastModifiedTimestamp", json_string(buf));
    char *res = sy_asprintf("%s", q.name);
    char *arn = sy_arn(req->ctx, "sqs", res);
    json_object_set_new(all, "QueueArn", json_string(arn));
    free(res);
    free(arn);

    json_t *sel = json_object();
    size_t i;
    json_t *n;
    json_array_foreach(names, i, n) {
        const char *want = json_string_value(n);
        if (!want) continue;
        if (strcmp(want, "All") == 0) {
            json_object_update(sel, all);
            continue;
        }
        bool known = json_object_get(all, want) != NULL;
        for (size_t k = 0; !known && k < sizeof readonly_attrs / sizeof *readonly_attrs; k++)
            known = strcmp(readonly_attrs[k], want) == 0;
        const char *std[] = {"DelaySeconds", "MaximumMessageSize", "MessageRetentionPeriod", "Policy",
                             "ReceiveMessageWaitTimeSeconds", "RedrivePolicy", "RedriveAllowPolicy",
                             "VisibilityTimeout", "KmsMasterKeyId", "KmsDataKeyReusePeriodSeconds",
                             "SqsManagedSseEnabled", "FifoQueue", "ContentBasedDeduplication", "DeduplicationScope",
                             "FifoThroughputLimit"};
        for (size_t k = 0; !known && k < sizeof std / sizeof *std; k++) known = strcmp(std[k], want) == 0;
        if (!known) {
            rc = sy_err_set(err, SY_E_INVALID, 400, "InvalidAttributeName", "Unknown Attribute %s.", want);
            json_decref(sel);
            goto done;
        }
        json_t *v = json_object_get(all, want);
        if (v) json_object_set(sel, want, v);
    }
    *out = json_object();
    if (json_object_size(sel)) json_object_set(*out, "Attributes", sel);
    json_decref(sel);
done:
    json_decref(all);
    sy_queue_clear(&q);
    return rc;
}

int sqs_set_queue_attributes(const sy_req_t *req, json_t *in, json_t **out, sy_err_t *err)
{
    (void)out;
    json_t *given = json_object_get(in, "Attributes");
    if (!json_is_object(given)) return missing(err, "Attributes");
    sy_queue_t q;
    int rc = resolve_queue(req, &q, err);
    if (rc < 0) return rc;
    json_t *attrs = json_deep_copy(q.attrs);
    if ((rc = attrs_apply(queue_engine(req->ctx), q.fifo, false, given, attrs, err)) == 0) {
        sy_queue_t probe;
        queue_from_row(&probe, q.id, q.name, q.fifo, attrs);
        rc = store_queue_set_attrs(CTX(req), q.id, attrs, probe.retention_s, err);
        queue_changed(CTX(req), q.name);
    }
    json_decref(attrs);
    sy_queue_clear(&q);
    return rc;
}

int sqs_purge_queue(const sy_req_t *req, json_t *in, json_t **out, sy_err_t *err)
{
    (void)in;
    (void)out;
    sy_queue_t q;
    int rc = resolve_queue(req, &q, err);
    if (rc < 0) return rc;
    rc = store_queue_purge(CTX(req), q.id, err);
    sy_queue_clear(&q);
    return rc;
}

static int check_tags(json_t *tags, sy_err_t *err)
{
    if (!json_is_object(tags) || json_object_size(tags) == 0)
        return sy_err_set(err, SY_E_INVALID, 400, "MissingParameter", "The request must contain the parameter Tags.");
    const char *k;
    json_t *v;
    json_object_foreach(tags, k, v) {
        if (!json_is_string(v) || strlen(k) == 0 || strlen(k) > 128 || json_string_length(v) > 256)
            return sy_err_set(err, SY_E_INVALID, 400, "InvalidParameterValue", "Tag %s is invalid.", k);
    }
    return 0;
}

int sqs_tag_queue(const sy_req_t *req, json_t *in, json_t **out, sy_err_t *err)
{
    (void)out;
    json_t *tags = json_object_get(in, "Tags");
    if (!tags) tags = json_object_get(in, "tags");
    if (check_tags(tags, err) < 0) return SY_E_INVALID;
    sy_queue_t q;
    int rc = resolve_queue(req, &q, err);
    if (rc < 0) return rc;
    json_t *now = NULL;
    rc = store_queue_tags(CTX(req), q.id, tags, NULL, &now, err);
    if (rc == 0 && json_object_size(now) > 50) { /* AWS limit: undo by removing what we added */
        json_t *keys = json_array();
        const char *k;
        json_t *v;
        json_object_foreach(tags, k, v) json_array_append_new(keys, json_string(k));
        store_queue_tags(CTX(req), q.id, NULL, keys, NULL, err);
        json_decref(keys);
        rc = sy_err_set(err, SY_E_LIMIT, 400, "InvalidParameterValue", "Too many tags added for queue %s.", q.name);
    }
    json_decref(now);
    sy_queue_clear(&q);
    return rc;
}

int sqs_untag_queue(const sy_req_t *req, json_t *in, json_t **out, sy_err_t *err)
{
    (void)out;
    json_t *keys = json_object_get(in, "TagKeys");
    if (!json_is_array(keys) || json_array_size(keys) == 0) return missing(err, "TagKeys");
    sy_queue_t q;
    int rc = resolve_queue(req, &q, err);
    if (rc < 0) return rc;
    rc = store_queue_tags(CTX(req), q.id, NULL, keys, NULL, err);
    sy_queue_clear(&q);
    return rc;
}

int sqs_list_queue_tags(const sy_req_t *req, json_t *in, json_t **out, sy_err_t *err)
{
    (void)in;
    sy_queue_t q;
    int rc = resolve_queue(req, &q, err);
    if (rc < 0) return rc;
    json_t *tags = NULL;
    rc = store_queue_tags(CTX(req), q.id, NULL, NULL, &tags, err);
    sy_queue_clear(&q);
    if (rc < 0) return rc;
    *out = json_object();
    if (json_object_size(tags)) json_object_set(*out, "Tags", tags);
    json_decref(tags);
    return 0;
}

int sqs_add_permission(const sy_req_t *req, json_t *in, json_t **out, sy_err_t *err)
{
    (void)out;
    const char *label = sy_json_str(in, "Label");
    json_t *accounts = json_object_get(in, "AWSAccountIds"), *acts = json_object_get(in, "Actions");
    if (!label) return missing(err, "Label");
    if (!json_is_array(accounts) || !json_array_size(accounts)) return missing(err, "AWSAccountIds");
    if (!json_is_array(acts) || !json_array_size(acts)) return missing(err, "Actions");
    sy_queue_t q;
    int rc = resolve_queue(req, &q, err);
    if (rc < 0) return rc;
    /* the statement AWS writes: the accounts' roots may perform SQS:<action> on this queue */
    char *arn = sy_arn(req->ctx, "sqs", q.name);
    json_t *principals = json_array(), *actions = json_array();
    size_t i;
    json_t *v;
    json_array_foreach(accounts, i, v) if (json_is_string(v))
        json_array_append_new(principals, json_sprintf("arn:aws:iam::%s:root", json_string_value(v)));
    json_array_foreach(acts, i, v) if (json_is_string(v))
        json_array_append_new(actions, json_sprintf("SQS:%s", json_string_value(v)));
    json_t *stmt = json_pack("{s:s, s:s, s:{s:o}, s:o, s:s}", "Sid", label, "Effect", "Allow", "Principal", "AWS",
                             principals, "Action", actions, "Resource", arn);
    rc = store_queue_permissions(CTX(req), q.id, arn, label, stmt, err);
    if (rc == 0) queue_changed(CTX(req), q.name);
    json_decref(stmt);
    free(arn);
    sy_queue_clear(&q);
    return rc;
}

int sqs_remove_permission(const sy_req_t *req, json_t *in, json_t **out, sy_err_t *err)
{
    (void)out;
    const char *label = sy_json_str(in, "Label");
    if (!label) return missing(err, "Label");
    sy_queue_t q;
    int rc = resolve_queue(req, &q, err);
    if (rc < 0) return rc;
    char *arn = sy_arn(req->ctx, "sqs", q.name);
    rc = store_queue_permissions(CTX(req), q.id, arn, label, NULL, err);
    if (rc == 0) queue_changed(CTX(req), q.name);
    free(arn);
    sy_queue_clear(&q);
    return rc;
}

int sqs_list_dlq_sources(const sy_req_t *req, json_t *in, json_t **out, sy_err_t *err)
{
    (void)in;
    sy_queue_t q;
    int rc = resolve_queue(req, &q, err);
    if (rc < 0) return rc;
    char *arn = sy_arn(req->ctx, "sqs", q.name);
    json_t *names = json_array();
    rc = store_queue_dlq_sources(CTX(req), arn, names, err);
    free(arn);
    sy_queue_clear(&q);
    if (rc < 0) {
        json_decref(names);
        return rc;
    }
    json_t *urls = json_array();
    size_t i;
    json_t *n;
    json_array_foreach(names, i, n) {
        char url[512];
        json_array_append_new(urls, json_string(queue_url(req, json_string_value(n), url, sizeof url)));
    }
    *out = json_pack("{s:o}", "queueUrls", urls);
    json_decref(names);
    return 0;
}
