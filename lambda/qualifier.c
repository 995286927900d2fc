/* lambda/qualifier.c - the parsers of function references a client can
 * send: a name, "name:qualifier", a partial ARN ("123456789012:function:
 * name[:qualifier]") or a full ARN ("arn:aws:lambda:region:account:
 * function:name[:qualifier]"); version and alias names; an alias's
 * RoutingConfig. No state, no database (tests/fuzz/fuzz_lambda.c). */
#include "lambda/internal.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static bool name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

bool lm_version_number(const char *q, long *out)
{
    if (!q || !*q || strlen(q) > 10) return false;
    for (const char *p = q; *p; p++)
        if (*p < '0' || *p > '9') return false;
    errno = 0;
    long v = strtol(q, NULL, 10);
    if (errno || v < 1 || v > 2147483647L) return false;
    if (out) *out = v;
    return true;
}

/* AWS: (?!^[0-9]+$)([a-zA-Z0-9-_]+), 1..128 */
bool lm_alias_name_valid(const char *n)
{
    size_t len = n ? strlen(n) : 0;
    if (len == 0 || len > LM_QUAL_MAX) return false;
    bool digits = true;
    for (size_t i = 0; i < len; i++) {
        if (!name_char(n[i])) return false;
        if (n[i] < '0' || n[i] > '9') digits = false;
    }
    return !digits;
}

/* AWS: (|[a-zA-Z0-9$_-]+), 1..128: $LATEST, a version number or an alias */
bool lm_qualifier_valid(const char *q)
{
    if (!q || !*q) return false;
    if (strcmp(q, "$LATEST") == 0) return true;
    return lm_version_number(q, NULL) || lm_alias_name_valid(q);
}

int lm_ref_parse(const char *in, char name[LM_NAME_MAX + 1], char qual[LM_QUAL_MAX + 1])
{
    name[0] = qual[0] = 0;
    if (!in || !*in || strlen(in) > 256) return -1;
    const char *p = in;
    const char *f = strstr(in, ":function:");
    if (strncmp(in, "arn:", 4) == 0) {
        /* arn:PARTITION:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER] */
        if (!f || strncmp(in, "arn:aws", 7) != 0) return -1;
        const char *svc = strchr(in + 4, ':');
        if (!svc || strncmp(svc, ":lambda:", 8) != 0) return -1;
        p = f + 10;
    } else if (f) {
        /* ACCOUNT:function:NAME[:QUALIFIER], the account 12 digits */
        if (f - in != 12) return -1;
        for (const char *c = in; c < f; c++)
            if (*c < '0' || *c > '9') return -1;
        p = f + 10;
    }
    const char *colon = strchr(p, ':');
    size_t n = colon ? (size_t)(colon - p) : strlen(p);
    if (n == 0 || n > LM_NAME_MAX) return -1;
    for (size_t i = 0; i < n; i++)
        if (!name_char(p[i])) return -1;
    memcpy(name, p, n);
    name[n] = 0;
    if (colon) {
        const char *q = colon + 1;
        if (strlen(q) > LM_QUAL_MAX || !lm_qualifier_valid(q)) return -1;
        strcpy(qual, q);
    }
    return 0;
}

/* {"AdditionalVersionWeights": {"N": weight}}: at most one version, weight
 * in [0, 1]. *version "" when the map is empty or absent. */
int lm_routing_parse(const json_t *rc, char version[16], double *weight, char *msg, size_t n)
{
    version[0] = 0;
    *weight = 0;
    if (!rc || json_is_null(rc)) return 0;
    if (!json_is_object(rc)) {
        snprintf(msg, n, "RoutingConfig must be an object");
        return -1;
    }
    const json_t *w = json_object_get(rc, "AdditionalVersionWeights");
    if (!w || json_is_null(w)) return 0;
    if (!json_is_object(w)) {
        snprintf(msg, n, "AdditionalVersionWeights must be a map");
        return -1;
    }
    if (json_object_size(w) > 1) {
        snprintf(msg, n, "Number of items in AdditionalVersionWeights cannot be greater than 1");
        return -1;
    }
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)w, k, v)
    {
        if (!lm_version_number(k, NULL)) {
            snprintf(msg, n, "1 validation error detected: Value '%.32s' at 'routingConfig.additionalVersionWeights' "
                             "failed to satisfy constraint: Map keys must satisfy constraint: [Member must "
                             "satisfy regular expression pattern: [0-9]+]", k);
            return -1;
        }
        double d = json_is_number(v) ? json_number_value(v) : -1;
        if (!(d >= 0.0 && d <= 1.0) || isnan(d)) {
            snprintf(msg, n, "1 validation error detected: Value at 'routingConfig.additionalVersionWeights' "
                             "failed to satisfy constraint: Map value must be between 0.0 and 1.0");
            return -1;
        }
        snprintf(version, 16, "%s", k);
        *weight = d;
    }
    return 0;
}

/* Environment.Variables as AWS checks them on CreateFunction /
 * UpdateFunctionConfiguration: keys [a-zA-Z][a-zA-Z0-9_]*, string values,
 * no reserved key, at most 4 KB in all. 0, or -1 with msg (and *code). */
int lm_env_vars_check(const json_t *vars, const char **code, char *msg, size_t n)
{
    static const char *const reserved[] = {
        "_HANDLER", "_X_AMZN_TRACE_ID", "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_EXECUTION_ENV",
        "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION",
        "AWS_LAMBDA_INITIALIZATION_TYPE", "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME",
        "AWS_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
        "AWS_LAMBDA_RUNTIME_API", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR", NULL};
    *code = "InvalidParameterValueException";
    if (!vars) return 0;
    if (!json_is_object(vars)) {
        snprintf(msg, n, "Environment.Variables must be a map");
        return -1;
    }
    size_t total = 0;
    char used[512] = "";
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)vars, k, v)
    {
        size_t kl = strlen(k);
        /* AWS documents [a-zA-Z]([a-zA-Z0-9_])+ but takes one-letter names too */
        bool ok = kl >= 1 && ((k[0] >= 'a' && k[0] <= 'z') || (k[0] >= 'A' && k[0] <= 'Z'));
        for (size_t i = 1; ok && i < kl; i++) ok = name_char(k[i]) && k[i] != '-';
        if (!ok || !json_is_string(v)) {
            *code = "ValidationException";
            snprintf(msg, n,
                     "1 validation error detected: Value at 'environment.variables' failed to satisfy constraint: "
                     "Map keys must satisfy constraint: [Member must satisfy regular expression pattern: "
                     "[a-zA-Z]([a-zA-Z0-9_])+]");
            return -1;
        }
        for (int i = 0; reserved[i]; i++)
            if (strcmp(reserved[i], k) == 0 && strlen(used) + kl + 3 < sizeof used) {
                if (used[0]) strcat(used, ", ");
                strcat(used, k);
            }
        total += kl + json_string_length(v);
    }
    if (used[0]) {
        snprintf(msg, n,
                 "Lambda was unable to configure your environment variables because the environment variables "
                 "you have provided contains reserved keys that are currently not supported for modification. "
                 "Reserved keys used in this request: %s", used);
        return -1;
    }
    if (total > 4096) {
        snprintf(msg, n,
                 "Lambda was unable to configure your environment variables because the environment variables "
                 "you have provided exceeded the 4KB limit. String measured: %zu", total);
        return -1;
    }
    return 0;
}
