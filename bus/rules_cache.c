/* bus/rules_cache.c - the in-memory rules snapshot of a broker: every bus's
 * rules and archives compiled into one sy_matcher per bus. Rebuilt when the
 * rules version in sy_eb_meta moved (checked once per PutEvents batch), so
 * every broker sees rule changes committed by any other. */
#include "bus/internal.h"

#include <stdlib.h>
#include <string.h>

static void snap_free(eb_snap_t *s)
{
    if (!s) return;
    for (size_t i = 0; i < s->nrules; i++) {
        free(s->rules[i].bus);
        free(s->rules[i].name);
        free(s->rules[i].arn);
        free(s->rules[i].schedule);
        json_decref(s->rules[i].targets);
    }
    for (size_t i = 0; i < s->nbuses; i++) {
        free(s->buses[i].name);
        sy_matcher_destroy(&s->buses[i].m);
        json_decref(s->buses[i].all_archives);
    }
    for (size_t i = 0; i < s->narchives; i++) {
        free(s->archives[i].name);
        free(s->archives[i].bus);
    }
    free(s->rules);
    free(s->buses);
    free(s->archives);
    free(s);
}

static eb_busm_t *bus_of(eb_snap_t *s, const char *name)
{
    for (size_t i = 0; i < s->nbuses; i++)
        if (!strcmp(s->buses[i].name, name)) return &s->buses[i];
    return NULL;
}

const eb_busm_t *eb_snap_bus(const eb_snap_t *s, const char *name)
{
    return bus_of((eb_snap_t *)s, name);
}

const eb_rule_t *eb_snap_rule_by_arn(const eb_snap_t *s, const char *arn)
{
    for (size_t i = 0; i < s->nrules; i++)
        if (!strcmp(s->rules[i].arn, arn)) return &s->rules[i];
    return NULL;
}

static const char *col(const json_t *row, const char *k)
{
    return sy_json_str(row, k);
}

static eb_snap_t *snap_load(eb_svc_t *svc, PGconn *c, int64_t version, sy_err_t *err)
{
    (void)svc;
    json_t *buses, *rules, *archs;
    if (store_eb_snapshot_rows(c, &buses, &rules, &archs, err) < 0) return NULL;
    eb_snap_t *s = sy_calloc(1, sizeof *s);
    s->version = version;
    s->refs = 1;
    s->nbuses = json_array_size(buses);
    s->buses = sy_calloc(s->nbuses + 1, sizeof *s->buses);
    for (size_t i = 0; i < s->nbuses; i++) {
        s->buses[i].name = sy_strdup(col(json_array_get(buses, i), "name"));
        s->buses[i].m = sy_matcher_new(SY_PATTERN_EVENTBRIDGE);
        s->buses[i].all_archives = json_array();
    }
    s->nrules = json_array_size(rules);
    s->rules = sy_calloc(s->nrules + 1, sizeof *s->rules);
    for (size_t i = 0; i < s->nrules; i++) {
        json_t *row = json_array_get(rules, i);
        eb_rule_t *r = &s->rules[i];
        r->bus = sy_strdup(col(row, "bus"));
        r->name = sy_strdup(col(row, "name"));
        r->arn = sy_strdup(col(row, "arn"));
        r->schedule = col(row, "schedule") ? sy_strdup(col(row, "schedule")) : NULL;
        r->enabled = col(row, "state") && strncmp(col(row, "state"), "ENABLED", 7) == 0;
        r->targets = json_loads(col(row, "targets"), 0, NULL);
        if (!r->targets) r->targets = json_array();
        const char *pat = col(row, "pattern");
        eb_busm_t *b = bus_of(s, r->bus);
        if (b && r->enabled && pat) {
            char id[24];
            snprintf(id, sizeof id, "r%zu", i);
            sy_err_t e;
            if (sy_matcher_add(b->m, id, pat, strlen(pat), &e) < 0)
                sy_log(SY_LOG_WARN, "events", NULL, "stored rule pattern does not compile", "rule", r->arn,
                       "error", e.message);
        }
    }
    s->narchives = json_array_size(archs);
    s->archives = sy_calloc(s->narchives + 1, sizeof *s->archives);
    for (size_t i = 0; i < s->narchives; i++) {
        json_t *row = json_array_get(archs, i);
        s->archives[i].name = sy_strdup(col(row, "name"));
        s->archives[i].bus = sy_strdup(col(row, "bus"));
        eb_busm_t *b = bus_of(s, s->archives[i].bus);
        if (!b) continue;
        const char *pat = col(row, "pattern");
        if (!pat || !*pat) {
            json_array_append_new(b->all_archives, json_integer((json_int_t)i));
            continue;
        }
        char id[24];
        snprintf(id, sizeof id, "a%zu", i);
        if (sy_matcher_add(b->m, id, pat, strlen(pat), NULL) < 0)
            sy_log(SY_LOG_WARN, "events", NULL, "stored archive pattern does not compile", "archive",
                   s->archives[i].name);
    }
    json_decref(buses);
    json_decref(rules);
    json_decref(archs);
    return s;
}

eb_snap_t *eb_snap_get(eb_svc_t *svc, PGconn *c, sy_err_t *err)
{
    int64_t v = store_eb_version(c, err);
    if (v < 0) return NULL;
    pthread_mutex_lock(&svc->mu);
    eb_snap_t *s = svc->snap;
    if (s && s->version == v) {
        s->refs++;
        pthread_mutex_unlock(&svc->mu);
        return s;
    }
    pthread_mutex_unlock(&svc->mu);
    eb_snap_t *n = snap_load(svc, c, v, err);
    if (!n) return NULL;
    pthread_mutex_lock(&svc->mu);
    eb_snap_t *old = svc->snap;
    if (!old || old->version < v) {
        svc->snap = n;
        n->refs++; /* the service's reference */
        if (old && --old->refs == 0) snap_free(old);
    }
    pthread_mutex_unlock(&svc->mu);
    return n;
}

void eb_snap_release(eb_svc_t *svc, eb_snap_t *s)
{
    if (!s) return;
    pthread_mutex_lock(&svc->mu);
    bool last = --s->refs == 0;
    pthread_mutex_unlock(&svc->mu);
    if (last) snap_free(s);
}

void eb_snap_drop(eb_svc_t *svc)
{
    eb_snap_t *s = svc->snap;
    svc->snap = NULL;
    if (s && --s->refs == 0) snap_free(s);
}
