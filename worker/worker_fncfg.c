/* worker/worker_fncfg.c - the function configuration a DELIVER carries
 * (SY_WORKER_ATTR_CONFIG, set by the Lambda service: name, version, memory,
 * timeout, handler, Environment.Variables, the invoked ARN) as the worker
 * applies it: the runtime process's environment, the C handler's context,
 * the timeout. Parsed on the main thread when the text changes (one cached
 * parse per function), shared with slot threads by reference count. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "worker/internal.h"

/* The variables Lambda sets itself; a function's Environment.Variables
 * never replace them (the Lambda API refuses them on CreateFunction). */
static const char *const RESERVED[] = {
    "_HANDLER", "_X_AMZN_TRACE_ID", "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_INITIALIZATION_TYPE", "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
    "AWS_LAMBDA_RUNTIME_API", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR", NULL};

bool wk_env_reserved(const char *name)
{
    for (int i = 0; RESERVED[i]; i++)
        if (strcmp(RESERVED[i], name) == 0) return true;
    return false;
}

void wk_fncfg_unref(wk_fncfg_t *c)
{
    if (!c || __atomic_sub_fetch(&c->refs, 1, __ATOMIC_ACQ_REL) > 0) return;
    free(c->text);
    free(c->name);
    free(c->version);
    free(c->arn);
    free(c->handler);
    free(c->env_key);
    for (int i = 0; i < c->nvars; i++) free(c->vars[i]);
    free(c->vars);
    free(c);
}

static wk_fncfg_t *ref(wk_fncfg_t *c)
{
    if (c) __atomic_add_fetch(&c->refs, 1, __ATOMIC_ACQ_REL);
    return c;
}

/* "orders:3" hosts version 3 of orders: name "orders", version "3". */
static void split_name(const char *fn_name, char **name, char **version)
{
    const char *colon = strchr(fn_name, ':');
    *name = colon ? sy_strndup(fn_name, (size_t)(colon - fn_name)) : sy_strdup(fn_name);
    *version = sy_strdup(colon && colon[1] ? colon + 1 : "$LATEST");
}

static void env_key(wk_fncfg_t *c)
{
    /* what a runtime process's environment depends on: a change retires it */
    json_t *vars = json_array();
    for (int i = 0; i < c->nvars; i++) json_array_append_new(vars, json_string(c->vars[i]));
    json_t *k = json_pack("{s:s,s:s,s:i,s:s,s:o}", "n", c->name, "v", c->version, "m", c->memory_mb, "h",
                          c->handler, "e", vars);
    char *s = k ? json_dumps(k, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    c->env_key = s ? sy_strdup(s) : sy_strdup("");
    free(s);
    json_decref(k);
}

static wk_fncfg_t *defaults(const wk_fn_t *fn)
{
    wk_fncfg_t *c = sy_calloc(1, sizeof *c);
    c->refs = 1;
    split_name(fn->name, &c->name, &c->version);
    c->memory_mb = 128;
    c->handler = sy_strdup(fn->handler ? fn->handler : "function.handler");
    const char *region = fn->w && fn->w->cfg.region ? fn->w->cfg.region : "us-east-1";
    c->arn = strcmp(c->version, "$LATEST") == 0
                 ? sy_asprintf("arn:aws:lambda:%s:000000000000:function:%s", region, c->name)
                 : sy_asprintf("arn:aws:lambda:%s:000000000000:function:%s:%s", region, c->name, c->version);
    return c;
}

/* Parse text over the defaults; NULL when it is not a JSON object. */
wk_fncfg_t *wk_fncfg_parse(const wk_fn_t *fn, const char *text)
{
    json_t *doc = json_loads(text, 0, NULL);
    if (!json_is_object(doc)) {
        json_decref(doc);
        return NULL;
    }
    wk_fncfg_t *c = defaults(fn);
    c->text = sy_strdup(text);
    const char *s;
#define STR(key, field)                                                                            \
    if ((s = json_string_value(json_object_get(doc, key))) && *s && strlen(s) < 1024) {           \
        free(c->field);                                                                            \
        c->field = sy_strdup(s);                                                                   \
    }
    STR("FunctionName", name);
    STR("Version", version);
    STR("FunctionArn", arn);
    STR("Handler", handler);
#undef STR
    json_t *v = json_object_get(doc, "MemorySize");
    if (json_is_integer(v) && json_integer_value(v) >= 128 && json_integer_value(v) <= 10240)
        c->memory_mb = (int)json_integer_value(v);
    v = json_object_get(doc, "Timeout");
    if (json_is_integer(v) && json_integer_value(v) > 0 && json_integer_value(v) <= 86400)
        c->timeout_ms = (int64_t)json_integer_value(v) * 1000;
    json_t *vars = json_object_get(json_object_get(doc, "Environment"), "Variables");
    if (json_is_object(vars)) {
        c->vars = sy_calloc(json_object_size(vars) + 1, sizeof *c->vars);
        const char *k;
        json_t *val;
        json_object_foreach(vars, k, val)
        {
            const char *sv = json_string_value(val);
            if (!sv || !*k || strchr(k, '=') || wk_env_reserved(k)) continue;
            c->vars[c->nvars++] = sy_asprintf("%s=%s", k, sv);
        }
    }
    json_decref(doc);
    env_key(c);
    return c;
}

/* Main thread: the configuration for a DELIVER of fn (text: the attribute
 * or NULL). Returns a reference. */
wk_fncfg_t *wk_fncfg_for(wk_fn_t *fn, const char *text)
{
    if (!text || !*text) {
        if (!fn->cfg_default) {
            fn->cfg_default = defaults(fn);
            env_key(fn->cfg_default);
        }
        return ref(fn->cfg_default);
    }
    if (fn->cfg_cache && strcmp(fn->cfg_cache->text, text) == 0) return ref(fn->cfg_cache);
    wk_fncfg_t *c = wk_fncfg_parse(fn, text);
    if (!c) {
        sy_log(SY_LOG_WARN, "worker", NULL, "unreadable function configuration ignored", "function", fn->name);
        return wk_fncfg_for(fn, NULL);
    }
    wk_fncfg_unref(fn->cfg_cache);
    fn->cfg_cache = c;
    return ref(c);
}

void wk_fncfg_release_fn(wk_fn_t *fn)
{
    wk_fncfg_unref(fn->cfg_cache);
    wk_fncfg_unref(fn->cfg_default);
    fn->cfg_cache = fn->cfg_default = NULL;
}

const char *wk_fncfg_var(const wk_fncfg_t *c, const char *name)
{
    if (!c || !name) return NULL;
    size_t n = strlen(name);
    for (int i = 0; i < c->nvars; i++)
        if (strncmp(c->vars[i], name, n) == 0 && c->vars[i][n] == '=') return c->vars[i] + n + 1;
    return NULL;
}
