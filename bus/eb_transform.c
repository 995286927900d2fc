/* bus/eb_transform.c - a target's input: the event, Input (constant JSON),
 * InputPath (JSONPath) or InputTransformer (InputPathsMap + InputTemplate). */
#include "bus/internal.h"

#include <stdlib.h>
#include <string.h>

static bool name_char(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_' ||
           ch == '-' || ch == '.';
}

/* JSON-escape s (without the quotes) into b. */
static void put_escaped(sy_buf_t *b, const char *s)
{
    json_t *j = json_string(s);
    if (!j) { /* not UTF-8: drop it */
        return;
    }
    char *d = json_dumps(j, JSON_ENCODE_ANY);
    json_decref(j);
    size_t n = strlen(d);
    if (n >= 2) sy_buf_append(b, d + 1, n - 2);
    free(d);
}

static void put_value(sy_buf_t *b, const json_t *v, bool json_mode, bool quoted)
{
    if (json_is_string(v)) {
        if (!json_mode) sy_buf_puts(b, json_string_value(v));
        else if (quoted) put_escaped(b, json_string_value(v));
        else {
            sy_buf_putc(b, '"');
            put_escaped(b, json_string_value(v));
            sy_buf_putc(b, '"');
        }
        return;
    }
    char *d = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
    if (!d) return;
    if (json_mode && quoted) put_escaped(b, d);
    else sy_buf_puts(b, d);
    free(d);
}

char *sy_bus_template_render(const char *t, size_t len, const json_t *vars)
{
    sy_buf_t b;
    sy_buf_init(&b);
    size_t i = 0;
    while (i < len && (t[i] == ' ' || t[i] == '\n' || t[i] == '\t' || t[i] == '\r')) i++;
    bool json_mode = i < len && (t[i] == '{' || t[i] == '[' || t[i] == '"');
    bool in_str = false;
    for (i = 0; i < len; i++) {
        char ch = t[i];
        if (ch == '<') {
            size_t j = i + 1;
            while (j < len && j - i <= 256 && name_char(t[j])) j++;
            if (j < len && t[j] == '>' && j > i + 1) {
                char name[260];
                memcpy(name, t + i + 1, j - i - 1);
                name[j - i - 1] = 0;
                const json_t *v = json_object_get(vars, name);
                if (v) {
                    put_value(&b, v, json_mode, in_str);
                    i = j;
                    continue;
                }
            }
        }
        if (json_mode && ch == '\\' && in_str && i + 1 < len) {
            sy_buf_putc(&b, ch);
            sy_buf_putc(&b, t[++i]);
            continue;
        }
        if (json_mode && ch == '"') in_str = !in_str;
        sy_buf_putc(&b, ch);
    }
    return sy_buf_take(&b);
}

static int bad(sy_err_t *err, const char *what)
{
    return sy_err_set(err, SY_E_INVALID, 400, "InvalidInput", "%s", what);
}

char *eb_target_input(const json_t *target, const json_t *event, const char *event_text, const char *rule_arn,
                      const char *rule_name, sy_err_t *err)
{
    const char *input = sy_json_str(target, "Input");
    if (input) return sy_strdup(input);
    const char *path = sy_json_str(target, "InputPath");
    if (path) {
        json_t *out = NULL;
        char *e = NULL;
        if (sy_asl_path_eval(path, event, NULL, &out, &e) < 0) {
            bad(err, e ? e : "InputPath does not match the event");
            free(e);
            return NULL;
        }
        char *d = json_dumps(out, JSON_ENCODE_ANY | JSON_COMPACT);
        json_decref(out);
        return d;
    }
    const json_t *it = json_object_get(target, "InputTransformer");
    if (!json_is_object(it)) return sy_strdup(event_text);
    json_t *vars = json_object();
    const json_t *map = json_object_get(it, "InputPathsMap");
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)map, k, v)
    {
        if (!json_is_string(v)) continue;
        json_t *out = NULL;
        char *e = NULL;
        if (sy_asl_path_eval(json_string_value(v), event, NULL, &out, &e) == 0) json_object_set_new(vars, k, out);
        else json_object_set_new(vars, k, json_null()); /* a path the event lacks: null */
        free(e);
    }
    json_object_set_new(vars, "aws.events.rule-arn", json_string(rule_arn ? rule_arn : ""));
    json_object_set_new(vars, "aws.events.rule-name", json_string(rule_name ? rule_name : ""));
    json_object_set_new(vars, "aws.events.event", json_deep_copy(event));
    json_object_set_new(vars, "aws.events.event.json", json_deep_copy(event));
    const char *tm = sy_json_str(event, "time");
    json_object_set_new(vars, "aws.events.event.ingestion-time", json_string(tm ? tm : ""));
    const char *tmpl = sy_json_str(it, "InputTemplate");
    char *r = tmpl ? sy_bus_template_render(tmpl, strlen(tmpl), vars) : sy_strdup(event_text);
    json_decref(vars);
    return r;
}
