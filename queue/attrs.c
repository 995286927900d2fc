/* queue/attrs.c - queue attributes: defaults, validation, application */
#include "queue/internal.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct {
    const char *name;
    long min, max;
    const char *def;  /* standard queues */
    char kind;        /* 'i' integer, 'b' boolean, 's' string, 'j' json, 'e' enum */
    bool fifo_only;
    const char *enums;
} attr_def_t;

static const attr_def_t defs[] = {
    {"DelaySeconds", 0, 900, "0", 'i', false, NULL},
    {"MaximumMessageSize", 1024, SQS_MAX_MESSAGE_SIZE, "1048576", 'i', false, NULL},
    {"MessageRetentionPeriod", 60, 1209600, "345600", 'i', false, NULL},
    {"ReceiveMessageWaitTimeSeconds", 0, 20, "0", 'i', false, NULL},
    {"VisibilityTimeout", 0, 43200, "30", 'i', false, NULL},
    {"RedrivePolicy", 0, 0, NULL, 'j', false, NULL},
    {"RedriveAllowPolicy", 0, 0, NULL, 'j', false, NULL},
    {"Policy", 0, 0, NULL, 'j', false, NULL},
    {"KmsMasterKeyId", 0, 0, NULL, 's', false, NULL},
    {"KmsDataKeyReusePeriodSeconds", 60, 86400, NULL, 'i', false, NULL},
    {"SqsManagedSseEnabled", 0, 0, "true", 'b', false, NULL},
    {"FifoQueue", 0, 0, NULL, 'b', true, NULL},
    {"ContentBasedDeduplication", 0, 0, "false", 'b', true, NULL},
    {"DeduplicationScope", 0, 0, "queue", 'e', true, "messageGroup,queue"},
    {"FifoThroughputLimit", 0, 0, "perQueue", 'e', true, "perQueue,perMessageGroupId"},
};
#define NDEFS (sizeof defs / sizeof defs[0])

static const attr_def_t *find_def(const char *name)
{
    for (size_t i = 0; i < NDEFS; i++)
        if (strcmp(defs[i].name, name) == 0) return &defs[i];
    return NULL;
}

int attrs_defaults(bool fifo, json_t *out)
{
    for (size_t i = 0; i < NDEFS; i++) {
        if (defs[i].fifo_only && !fifo) continue;
        if (defs[i].def) json_object_set_new(out, defs[i].name, json_string(defs[i].def));
    }
    if (fifo) json_object_set_new(out, "FifoQueue", json_string("true"));
    return 0;
}

static int bad_value(sy_err_t *err, const char *name, const char *v)
{
    return sy_err_set(err, SY_E_INVALID, 400, "InvalidAttributeValue",
                      "Invalid value for the parameter %s. Reason: '%s' is not valid.", name, v);
}

static bool in_enum(const char *list, const char *v)
{
    size_t n = strlen(v);
    for (const char *p = list; p;) {
        const char *c = strchr(p, ',');
        size_t l = c ? (size_t)(c - p) : strlen(p);
        if (l == n && strncmp(p, v, n) == 0) return true;
        p = c ? c + 1 : NULL;
    }
    return false;
}

static int check_redrive(const queue_engine_t *e, bool fifo, const char *v, sy_err_t *err)
{
    json_error_t je;
    json_t *j = json_loads(v, 0, &je);
    int rc = 0;
    if (!json_is_object(j)) {
        rc = sy_err_set(err, SY_E_INVALID, 400, "InvalidAttributeValue",
                        "Invalid value for the parameter RedrivePolicy. Reason: Redrive policy is not a valid JSON map.");
        goto done;
    }
    const char *arn = sy_json_str(j, "deadLetterTargetArn");
    json_t *mrc = json_object_get(j, "maxReceiveCount");
    long count = json_is_integer(mrc) ? (long)json_integer_value(mrc) : json_is_string(mrc) ? strtol(json_string_value(mrc), NULL, 10) : -1;
    if (!arn || strncmp(arn, "arn:aws:sqs:", 12) != 0) {
        rc = sy_err_set(err, SY_E_INVALID, 400, "InvalidAttributeValue",
                        "Value %s for parameter RedrivePolicy is invalid. Reason: Invalid value for deadLetterTargetArn.", v);
        goto done;
    }
    if (count < 1 || count > 1000) {
        rc = sy_err_set(err, SY_E_INVALID, 400, "InvalidAttributeValue",
                        "Value %s for parameter RedrivePolicy is invalid. Reason: Invalid value for maxReceiveCount: %ld, valid values are from 1 to 1000 both inclusive.",
                        v, count);
        goto done;
    }
    bool dlq_fifo = strlen(arn) > 5 && strcmp(arn + strlen(arn) - 5, ".fifo") == 0;
    if (dlq_fifo != fifo) { /* AWS answers this one with InvalidParameterValue */
        rc = sy_err_set(err, SY_E_INVALID, 400, "InvalidParameterValue",
                        "Value %s for parameter RedrivePolicy is invalid. Reason: Dead-letter queue must be same type of queue as the source.", v);
        goto done;
    }
    char *name = sy_queue_name_from_arn(e->ctx, arn);
    sy_queue_t dlq;
    sy_err_t ignored;
    if (!name || queue_get(e->ctx, name, &dlq, &ignored) < 0)
        rc = sy_err_set(err, SY_E_INVALID, 400, "InvalidParameterValue",
                        "Value %s for parameter RedrivePolicy is invalid. Reason: Dead letter target does not exist.", v);
    else
        sy_queue_clear(&dlq);
    free(name);
done:
    json_decref(j);
    return rc;
}

static int check_allow(const char *v, sy_err_t *err)
{
    json_t *j = json_loads(v, 0, NULL);
    int rc = 0;
    const char *perm = sy_json_str(j, "redrivePermission");
    json_t *src = json_object_get(j, "sourceQueueArns");
    if (!json_is_object(j) || !perm || !in_enum("allowAll,denyAll,byQueue", perm) ||
        (strcmp(perm, "byQueue") == 0 && (!json_is_array(src) || json_array_size(src) == 0 || json_array_size(src) > 10)) ||
        (strcmp(perm, "byQueue") != 0 && src))
        rc = sy_err_set(err, SY_E_INVALID, 400, "InvalidAttributeValue",
                        "Value %s for parameter RedriveAllowPolicy is invalid.", v);
    json_decref(j);
    return rc;
}

/* Validate every attribute of `in` (name -> string) and copy it to attrs. */
int attrs_apply(const queue_engine_t *e, bool fifo, bool creating, json_t *in, json_t *attrs, sy_err_t *err)
{
    const char *name;
    json_t *val;
    json_object_foreach(in, name, val) {
        const attr_def_t *d = find_def(name);
        if (!d || (d->fifo_only && !fifo))
            return sy_err_set(err, SY_E_INVALID, 400, "InvalidAttributeName", "Unknown Attribute %s.", name);
        char num[32];
        const char *v;
        if (json_is_string(val)) {
            v = json_string_value(val);
        } else if (json_is_integer(val)) {
            snprintf(num, sizeof num, "%lld", (long long)json_integer_value(val));
            v = num;
        } else if (json_is_boolean(val)) {
            v = json_is_true(val) ? "true" : "false";
        } else {
            return bad_value(err, name, "(not a string)");
        }
        if (strcmp(name, "FifoQueue") == 0 && !creating)
            return sy_err_set(err, SY_E_INVALID, 400, "InvalidAttributeName",
                              "Attribute FifoQueue can only be set at queue creation.");
        switch (d->kind) {
        case 'i': {
            char *end;
            long x = strtol(v, &end, 10);
            long lo = d->min;
            if (strcmp(name, "MessageRetentionPeriod") == 0) lo = e->min_retention_s;
            if (!*v || *end || x < lo || x > d->max)
                return sy_err_set(err, SY_E_INVALID, 400, "InvalidAttributeValue",
                                  "Invalid value for the parameter %s.", name);
            snprintf(num, sizeof num, "%ld", x);
            v = num;
            break;
        }
        case 'b':
            if (strcasecmp(v, "true") != 0 && strcasecmp(v, "false") != 0) return bad_value(err, name, v);
            v = strcasecmp(v, "true") == 0 ? "true" : "false";
            if (strcmp(name, "FifoQueue") == 0 && (v[0] == 't') != fifo)
                return sy_err_set(err, SY_E_INVALID, 400, "InvalidParameterValue",
                                  "The name of a FIFO queue can only include alphanumeric characters, hyphens, or underscores, must end with .fifo suffix and be 1 to 80 in length.");
            break;
        case 'e':
            if (!in_enum(d->enums, v)) return bad_value(err, name, v);
            break;
        case 'j':
            if (*v && strcmp(name, "RedrivePolicy") == 0 && check_redrive(e, fifo, v, err) < 0) return SY_E_INVALID;
            if (*v && strcmp(name, "RedriveAllowPolicy") == 0 && check_allow(v, err) < 0) return SY_E_INVALID;
            if (*v && strcmp(name, "Policy") == 0) {
                json_t *p = json_loads(v, 0, NULL);
                char *why = NULL;
                bool ok = sy_policy_validate(p, true, &why) == 0;
                json_decref(p);
                if (!ok) {
                    sy_err_set(err, SY_E_INVALID, 400, "InvalidAttributeValue",
                               "Invalid value for the parameter Policy. Reason: %s.", why ? why : "not a JSON object");
                    free(why);
                    return SY_E_INVALID;
                }
            }
            break;
        default:
            break;
        }
        if (d->kind == 'j' && !*v) json_object_del(attrs, name); /* "" removes a policy */
        else json_object_set_new(attrs, name, json_string(v));
    }
    return 0;
}

static int attr_int(json_t *attrs, const char *name, int def)
{
    const char *v = sy_json_str(attrs, name);
    return v ? atoi(v) : def;
}

int queue_from_row(sy_queue_t *q, int64_t id, const char *name, bool fifo, json_t *attrs)
{
    memset(q, 0, sizeof *q);
    q->id = id;
    snprintf(q->name, sizeof q->name, "%s", name);
    q->fifo = fifo;
    q->attrs = attrs;
    q->delay_s = attr_int(attrs, "DelaySeconds", 0);
    q->max_size = attr_int(attrs, "MaximumMessageSize", SQS_MAX_MESSAGE_SIZE);
    q->retention_s = attr_int(attrs, "MessageRetentionPeriod", 345600);
    q->wait_s = attr_int(attrs, "ReceiveMessageWaitTimeSeconds", 0);
    q->visibility_s = attr_int(attrs, "VisibilityTimeout", 30);
    const char *cbd = sy_json_str(attrs, "ContentBasedDeduplication");
    q->content_dedup = cbd && strcmp(cbd, "true") == 0;
    const char *scope = sy_json_str(attrs, "DeduplicationScope");
    q->dedup_per_group = scope && strcmp(scope, "messageGroup") == 0;
    const char *rp = sy_json_str(attrs, "RedrivePolicy");
    if (rp && *rp) {
        json_t *j = json_loads(rp, 0, NULL);
        const char *arn = sy_json_str(j, "deadLetterTargetArn");
        json_t *mrc = json_object_get(j, "maxReceiveCount");
        q->max_receive = json_is_integer(mrc) ? (int)json_integer_value(mrc)
                         : json_is_string(mrc) ? atoi(json_string_value(mrc)) : 0;
        const char *c = arn ? strrchr(arn, ':') : NULL;
        if (c) snprintf(q->dlq_name, sizeof q->dlq_name, "%s", c + 1);
        json_decref(j);
    }
    return 0;
}

void sy_queue_clear(sy_queue_t *q)
{
    json_decref(q->attrs);
    q->attrs = NULL;
}
