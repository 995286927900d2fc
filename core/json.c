/* core/json.c - jansson helpers and ARNs */
#include "core/core.h"

#include <string.h>

const char *sy_json_str(const json_t *obj, const char *key)
{
    json_t *v = obj ? json_object_get(obj, key) : NULL;
    return json_is_string(v) ? json_string_value(v) : NULL;
}

bool sy_json_int(const json_t *obj, const char *key, int64_t *out)
{
    json_t *v = obj ? json_object_get(obj, key) : NULL;
    if (!json_is_integer(v)) return false;
    *out = json_integer_value(v);
    return true;
}

char *sy_json_dumps(const json_t *v)
{
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    if (!s) sy_panic("json_dumps failed");
    return s;
}

char *sy_arn(const sy_ctx_t *ctx, const char *service, const char *resource)
{
    return sy_asprintf("arn:aws:%s:%s:%s:%s", service, ctx->cfg.region, ctx->cfg.account_id, resource);
}

int sy_arn_parse(char *buf, sy_arn_parts_t *out)
{
    if (strncmp(buf, "arn:", 4) != 0) return -1;
    char *p = buf + 4;
    char *f[5];
    for (int i = 0; i < 4; i++) {
        char *c = strchr(p, ':');
        if (!c) return -1;
        *c = 0;
        f[i] = p;
        p = c + 1;
    }
    f[4] = p;
    out->service = f[1];
    out->region = f[2];
    out->account = f[3];
    out->resource = f[4];
    return 0;
}
