/* bus/eb_route.c - route one event: match it against its bus's rules and
 * write one delivery per matched target inside the caller's transaction
 * (SQS targets straight into their queue, the others through the internal
 * delivery queue), plus one row per matching archive. */
#include "bus/internal.h"

#include <stdlib.h>
#include <string.h>

json_t *eb_envelope(const sy_ctx_t *ctx, const char *id, const char *detail_type, const char *source,
                    int64_t time_ms, const json_t *resources, const json_t *detail)
{
    char iso[32];
    sy_iso8601_ms(time_ms - time_ms % 1000, iso);
    /* AWS's "time" has whole seconds: 2026-11-25T12:18:16Z */
    char *dot = strchr(iso, '.');
    if (dot) {
        dot[0] = 'Z';
        dot[1] = 0;
    }
    /* "o" steals: the caller's values get a reference, the defaults are new
     * (with "O" a default array leaked once per event without Resources) */
    json_t *res = resources ? json_incref((json_t *)resources) : json_array();
    json_t *det = detail ? json_incref((json_t *)detail) : json_object();
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:o,s:o}", "version", "0", "id", id, "detail-type", detail_type,
                     "source", source, "account", ctx->cfg.account_id, "time", iso, "region", ctx->cfg.region,
                     "resources", res, "detail", det);
}

typedef struct {
    size_t *idx;
    size_t n, cap;
} hits_t;

static void on_match(const char *rule_id, void *u)
{
    hits_t *h = u;
    if (h->n == h->cap) {
        h->cap = h->cap ? h->cap * 2 : 16;
        h->idx = sy_realloc(h->idx, h->cap * sizeof *h->idx);
    }
    /* rules are "r<idx>", archives "a<idx>": archives are stored with the top bit set */
    size_t i = strtoull(rule_id + 1, NULL, 10);
    h->idx[h->n++] = rule_id[0] == 'a' ? (i | ((size_t)1 << 62)) : i;
}

static bool in_filter(const json_t *filter, const char *arn)
{
    if (!filter || !json_array_size(filter)) return true;
    size_t i;
    json_t *v;
    json_array_foreach(filter, i, v) if (json_is_string(v) && !strcmp(json_string_value(v), arn)) return true;
    return false;
}

static bool is_sqs(const char *arn)
{
    return strncmp(arn, "arn:aws:sqs:", 12) == 0;
}

/* A delivery message for the internal queue. */
static json_t *delivery_msg(const eb_rule_t *rule, const json_t *target, const char *body, const json_t *event,
                            int hops)
{
    json_t *t = json_object();
    static const char *keep[] = {"Id", "Arn", "RetryPolicy", "DeadLetterConfig", "SqsParameters",
                                 "HttpParameters", "RoleArn", NULL};
    for (const char **k = keep; *k; k++) {
        json_t *v = json_object_get(target, *k);
        if (v) json_object_set(t, *k, v);
    }
    return json_pack("{s:s,s:o,s:s,s:s,s:I,s:i,s:s}", "b", body, "t", t, "ra", rule->arn, "eid",
                     sy_json_str(event, "id") ? sy_json_str(event, "id") : "", "t0", (json_int_t)sy_now_ms(), "h",
                     hops, "rn", rule->name);
}

static int deliver_one(eb_svc_t *svc, PGconn *c, const eb_rule_t *rule, const json_t *target, const json_t *event,
                       const char *event_text, int hops, sy_err_t *err)
{
    sy_ctx_t *ctx = svc->ctx;
    const char *arn = sy_json_str(target, "Arn");
    if (!arn) return 0;
    sy_err_t e;
    sy_err_clear(&e);
    char *body = eb_target_input(target, event, event_text, rule->arn, rule->name, &e);
    if (!body) {
        sy_log(SY_LOG_WARN, "events", NULL, "could not shape target input", "rule", rule->arn, "error", e.message);
        return 0;
    }
    int rc = 0;
    bool queued = false;
    if (is_sqs(arn)) {
        char *q = sy_queue_name_from_arn(ctx, arn);
        if (q) {
            const char *gid = sy_json_str(json_object_get(target, "SqsParameters"), "MessageGroupId");
            sy_msg_in_t m = {.body = body, .body_len = strlen(body), .delay_s = -1, .group_id = gid,
                             .dedup_id = gid ? sy_json_str(event, "id") : NULL};
            rc = sy_queue_tx_send(ctx, c, q, &m, NULL, &e);
            free(q);
            if (rc == 0) queued = true;
            else if (rc == SY_E_DB || e.sqlstate[0]) {
                *err = e;
                free(body);
                return rc;
            }
            rc = 0; /* a missing queue or a refused message: the delivery thread retries, then dead-letters */
        }
    }
    if (!queued) {
        json_t *m = delivery_msg(rule, target, body, event, hops);
        rc = eb_delivery_enqueue(ctx, c, m, err);
        json_decref(m);
    }
    free(body);
    return rc < 0 ? rc : 1;
}

int eb_route(eb_svc_t *svc, eb_snap_t *s, PGconn *c, const eb_route_t *r, sy_err_t *err)
{
    eb_busm_t *b = (eb_busm_t *)eb_snap_bus(s, r->bus);
    if (!b) return 0;
    char *text = json_dumps(r->event, JSON_COMPACT | JSON_PRESERVE_ORDER);
    hits_t h = {0};
    if (r->only_rule_arn) {
        for (size_t i = 0; i < s->nrules; i++)
            if (!strcmp(s->rules[i].arn, r->only_rule_arn)) on_match("r0", &h), h.idx[h.n - 1] = i;
    } else {
        sy_matcher_match(b->m, text, strlen(text), on_match, &h);
    }
    int written = 0, rc = 0;
    for (size_t k = 0; k < h.n && rc >= 0; k++) {
        size_t i = h.idx[k];
        if (i & ((size_t)1 << 62)) {
            i &= ~((size_t)1 << 62);
            if (r->archive && i < s->narchives) {
                int64_t t = sy_now_ms();
                rc = store_eb_archive_write(c, s->archives[i].name, t, text, err);
            }
            continue;
        }
        if (i >= s->nrules) continue;
        const eb_rule_t *rule = &s->rules[i];
        if (!in_filter(r->filter_arns, rule->arn)) continue;
        size_t ti;
        json_t *t;
        json_array_foreach(rule->targets, ti, t)
        {
            rc = deliver_one(svc, c, rule, t, r->event, text, r->hops, err);
            if (rc < 0) break;
            written += rc;
        }
    }
    if (rc >= 0 && r->archive) {
        size_t ai;
        json_t *a;
        json_array_foreach(b->all_archives, ai, a)
        {
            size_t i = (size_t)json_integer_value(a);
            if (i < s->narchives) rc = store_eb_archive_write(c, s->archives[i].name, sy_now_ms(), text, err);
            if (rc < 0) break;
        }
    }
    free(h.idx);
    free(text);
    return rc < 0 ? rc : written;
}
