/* bus/api_common.c - request decoding and AWS error shapes shared by the
 * api_*.c files: required strings, bus names, timestamps, ValidationException
 * and ResourceNotFoundException. */
#include "bus/internal.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

const char *eb_req_str(const json_t *in, const char *key, sy_err_t *err)
{
    const char *v = sy_json_str(in, key);
    if (!v || !*v)
        eb_validation(err,
                      "1 validation error detected: Value null at '%c%s' failed to satisfy constraint: Member must "
                      "not be null",
                      key[0] + ('a' - 'A'), key + 1);
    return v && *v ? v : NULL;
}

int eb_validation(sy_err_t *err, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return sy_err_set(err, SY_E_INVALID, 400, "ValidationException", "%s", msg);
}

int eb_not_found(sy_err_t *err, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return sy_err_set(err, SY_E_NOTFOUND, 400, "ResourceNotFoundException", "%s", msg);
}

char *eb_bus_name(const json_t *in, const char *key)
{
    const char *v = sy_json_str(in, key);
    if (!v || !*v) return sy_strdup("default");
    const char *p = strstr(v, ":event-bus/");
    return sy_strdup(p ? p + 11 : v);
}

double eb_secs(int64_t ms)
{
    return (double)ms / 1000.0;
}

int64_t eb_in_time_ms(const json_t *v)
{
    if (json_is_number(v)) return (int64_t)llround(json_number_value(v) * 1000.0);
    if (json_is_string(v)) return (int64_t)llround(strtod(json_string_value(v), NULL) * 1000.0);
    return -1;
}
