/* pattern/pattern.c - compile a pattern (or filter policy) into its DNF: a list
 * of sub-rules, each a conjunction of field conditions on dot-joined paths.
 * `$or` is distributed here. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pattern/internal.h"

#define EB_MAX_COMBINATIONS 1000
#define SNS_MAX_COMBINATIONS 150
#define SNS_MAX_KEYS 5
/* hard cap (SNS policies: 256 KB); EventBridge's 2048/4096-character quota
 * belongs to the API layer */
#define BUS_PATTERN_MAX_BYTES (256 * 1024)

static const char *const OPERATORS[] = {"prefix", "suffix", "equals-ignore-case", "wildcard",
                                        "anything-but", "numeric", "cidr", "exists"};

static void cond_free(cond_ir_t *c)
{
    for (uint32_t i = 0; i < c->npos; i++) pat_vm_free(&c->pos[i]);
    free(c->pos);
    for (uint32_t g = 0; g < c->ngroups; g++) {
        for (uint32_t i = 0; i < c->nneg[g]; i++) pat_vm_free(&c->neg[g][i]);
        free(c->neg[g]);
    }
    free(c->neg);
    free(c->nneg);
    free(c->path);
}

static vm_t *vms_dup(const vm_t *src, uint32_t n)
{
    vm_t *d = sy_malloc((n ? n : 1) * sizeof(*d));
    for (uint32_t i = 0; i < n; i++) {
        d[i] = src[i];
        if (src[i].s) d[i].s = sy_strndup(src[i].s, src[i].n);
    }
    return d;
}

static void cond_dup(cond_ir_t *d, const cond_ir_t *s)
{
    memset(d, 0, sizeof(*d));
    d->path = sy_strndup(s->path, strlen(s->path));
    d->pos = vms_dup(s->pos, s->npos);
    d->npos = d->cappos = s->npos;
    d->absent_ok = s->absent_ok;
    d->ngroups = d->capgroups = s->ngroups;
    d->neg = sy_malloc((s->ngroups ? s->ngroups : 1) * sizeof(*d->neg));
    d->nneg = sy_malloc((s->ngroups ? s->ngroups : 1) * sizeof(*d->nneg));
    for (uint32_t g = 0; g < s->ngroups; g++) {
        d->neg[g] = vms_dup(s->neg[g], s->nneg[g]);
        d->nneg[g] = s->nneg[g];
    }
}

static void sub_free(subrule_ir_t *s)
{
    for (uint32_t i = 0; i < s->n; i++) cond_free(&s->conds[i]);
    free(s->conds);
    s->conds = NULL;
    s->n = s->cap = 0;
}

static void sub_dup(subrule_ir_t *d, const subrule_ir_t *s)
{
    memset(d, 0, sizeof(*d));
    pat_grow((void **)&d->conds, &d->cap, s->n, sizeof(*d->conds));
    for (uint32_t i = 0; i < s->n; i++) cond_dup(&d->conds[i], &s->conds[i]);
    d->n = s->n;
}

void pat_rule_ir_free(rule_ir_t *r)
{
    if (!r) return;
    for (uint32_t i = 0; i < r->n; i++) sub_free(&r->subs[i]);
    free(r->subs);
    memset(r, 0, sizeof(*r));
}

typedef struct {
    sy_pattern_kind_t kind;
    char *msg;
    size_t msglen;
    uint32_t limit;
} ctx_t;

static bool is_or_operator(const pj_t *v)
{
    if (v->t != PJ_ARR || v->nk < 2) return false;
    for (size_t i = 0; i < v->nk; i++) {
        const pj_t *k = v->kids[i];
        if (k->t != PJ_OBJ) return false;
        for (size_t j = 0; j < k->nk; j++)
            for (size_t o = 0; o < sizeof(OPERATORS) / sizeof(*OPERATORS); o++)
                if (!strcmp(k->keys[j], OPERATORS[o])) return false;
    }
    return true;
}

static char *join(const char *prefix, const char *key, size_t klen)
{
    size_t pl = prefix ? strlen(prefix) : 0;
    char *p = sy_malloc(pl + klen + 2);
    if (pl) memcpy(p, prefix, pl);
    if (pl) p[pl++] = '.';
    memcpy(p + pl, key, klen);
    p[pl + klen] = 0;
    return p;
}

static int walk(ctx_t *cx, const pj_t *obj, const char *prefix, rule_ir_t *d, int depth);

static int walk_or(ctx_t *cx, const pj_t *alts, const char *prefix, rule_ir_t *d, int depth)
{
    rule_ir_t out = {0};
    int rc = 0;
    for (size_t a = 0; a < alts->nk; a++) {
        rule_ir_t copy = {0};
        pat_grow((void **)&copy.subs, &copy.cap, d->n, sizeof(*copy.subs));
        for (uint32_t i = 0; i < d->n; i++) sub_dup(&copy.subs[i], &d->subs[i]);
        copy.n = d->n;
        rc = walk(cx, alts->kids[a], prefix, &copy, depth + 1);
        if (rc == 0 && out.n + copy.n > cx->limit) {
            snprintf(cx->msg, cx->msglen, "The total number of $or combinations exceeds %u",
                     cx->limit);
            rc = SY_E_INVALID;
        }
        if (rc) {
            pat_rule_ir_free(&copy);
            goto done;
        }
        pat_grow((void **)&out.subs, &out.cap, out.n + copy.n, sizeof(*out.subs));
        memcpy(out.subs + out.n, copy.subs, copy.n * sizeof(*copy.subs));
        out.n += copy.n;
        free(copy.subs);
    }
done:
    if (rc) {
        pat_rule_ir_free(&out);
        return rc;
    }
    pat_rule_ir_free(d);
    *d = out;
    return 0;
}

static int walk(ctx_t *cx, const pj_t *obj, const char *prefix, rule_ir_t *d, int depth)
{
    if (obj->t != PJ_OBJ) {
        snprintf(cx->msg, cx->msglen, "Filter is not an object");
        return SY_E_INVALID;
    }
    if (obj->nk == 0) {
        snprintf(cx->msg, cx->msglen, "Empty objects are not allowed");
        return SY_E_INVALID;
    }
    for (size_t i = 0; i < obj->nk; i++) {
        const pj_t *v = obj->kids[i];
        const char *key = obj->keys[i];
        int rc = 0;
        if (!strcmp(key, "$or") && is_or_operator(v)) {
            rc = walk_or(cx, v, prefix, d, depth);
        } else if (v->t == PJ_OBJ) {
            if (cx->kind == SY_PATTERN_SNS_ATTRIBUTES) {
                snprintf(cx->msg, cx->msglen, "\"%s\" must be an array: nested policies are not supported with MessageAttributes scope", key);
                return SY_E_INVALID;
            }
            char *p = join(prefix, key, obj->klens[i]);
            rc = walk(cx, v, p, d, depth + 1);
            free(p);
        } else if (v->t == PJ_ARR) {
            cond_ir_t c = {0};
            rc = pat_pattern_values(cx->kind, v, &c, cx->msg, cx->msglen);
            if (rc) {
                cond_free(&c);
                return rc;
            }
            c.path = join(prefix, key, obj->klens[i]);
            for (uint32_t s = 0; s < d->n; s++) {
                subrule_ir_t *sr = &d->subs[s];
                /* Ruler keeps one entry per path in a sub-rule: the later one wins */
                uint32_t at = sr->n;
                for (uint32_t k = 0; k < sr->n; k++)
                    if (!strcmp(sr->conds[k].path, c.path)) at = k;
                if (at < sr->n) cond_free(&sr->conds[at]);
                else pat_grow((void **)&sr->conds, &sr->cap, ++sr->n, sizeof(*sr->conds));
                if (s + 1 == d->n) sr->conds[at] = c;
                else cond_dup(&sr->conds[at], &c);
            }
            if (d->n == 0) cond_free(&c);
        } else {
            snprintf(cx->msg, cx->msglen, "\"%s\" must be an object or an array", key);
            return SY_E_INVALID;
        }
        if (rc) return rc;
    }
    return 0;
}

/* SNS: product of value-array sizes per sub-rule, summed over sub-rules. */
static int sns_limits(const pj_t *root, const rule_ir_t *r, char *msg, size_t msglen)
{
    size_t keys = 0;
    for (size_t i = 0; i < root->nk; i++)
        if (strcmp(root->keys[i], "$or") != 0) keys++;
    unsigned long total = 0;
    for (uint32_t s = 0; s < r->n; s++) {
        unsigned long prod = 1;
        if (r->subs[s].n > keys) keys = r->subs[s].n;
        for (uint32_t c = 0; c < r->subs[s].n; c++) {
            const cond_ir_t *cd = &r->subs[s].conds[c];
            unsigned long vals = cd->npos + cd->ngroups + (cd->absent_ok ? 1 : 0);
            prod *= vals ? vals : 1;
            if (prod > SNS_MAX_COMBINATIONS) break;
        }
        total += prod;
    }
    if (keys > SNS_MAX_KEYS) {
        snprintf(msg, msglen, "Filter policy can not have more than %d keys", SNS_MAX_KEYS);
        return SY_E_INVALID;
    }
    if (total > SNS_MAX_COMBINATIONS) {
        snprintf(msg, msglen, "Filter policy is too complex");
        return SY_E_INVALID;
    }
    return 0;
}

int pat_pattern_compile(sy_pattern_kind_t kind, const char *pattern, size_t len, rule_ir_t *out,
                        char *msg, size_t msglen)
{
    char perr[128];
    int rc = 0;
    memset(out, 0, sizeof(*out));
    if (len > BUS_PATTERN_MAX_BYTES) {
        snprintf(msg, msglen, "Filter is longer than %d bytes", BUS_PATTERN_MAX_BYTES);
        return SY_E_INVALID;
    }
    pj_t *root = pj_parse(pattern, len, perr, sizeof(perr));
    if (!root) {
        snprintf(msg, msglen, "Filter is not valid JSON: %s", perr);
        return SY_E_INVALID;
    }
    if (root->t != PJ_OBJ) {
        snprintf(msg, msglen, "Filter is not an object");
        rc = SY_E_INVALID;
        goto done;
    }
    ctx_t cx = {kind, msg, msglen,
                kind == SY_PATTERN_EVENTBRIDGE ? EB_MAX_COMBINATIONS : SNS_MAX_COMBINATIONS};
    pat_grow((void **)&out->subs, &out->cap, 1, sizeof(*out->subs));
    memset(&out->subs[0], 0, sizeof(out->subs[0]));
    out->n = 1;
    rc = walk(&cx, root, NULL, out, 0);
    if (rc == 0 && kind != SY_PATTERN_EVENTBRIDGE) rc = sns_limits(root, out, msg, msglen);
done:
    if (rc) pat_rule_ir_free(out);
    pj_free(root);
    return rc;
}

static int set_err(sy_pattern_kind_t kind, sy_err_t *err, const char *reason)
{
    if (kind == SY_PATTERN_EVENTBRIDGE)
        return sy_err_set(err, SY_E_INVALID, 400, "InvalidEventPatternException",
                          "Event pattern is not valid. Reason: %s", reason);
    return sy_err_set(err, SY_E_INVALID, 400, "InvalidParameter",
                      "Invalid parameter: FilterPolicy: %s", reason);
}

int pat_pattern_compile_err(sy_pattern_kind_t kind, const char *pattern, size_t len, rule_ir_t *out,
                            sy_err_t *err)
{
    char msg[512];
    if (!pattern) return set_err(kind, err, "Filter is empty");
    int rc = pat_pattern_compile(kind, pattern, len, out, msg, sizeof(msg));
    if (rc) return set_err(kind, err, msg);
    return 0;
}

int sy_pattern_validate(sy_pattern_kind_t kind, const char *pattern, size_t len, sy_err_t *err)
{
    rule_ir_t r;
    int rc = pat_pattern_compile_err(kind, pattern, len, &r, err);
    if (rc == 0) pat_rule_ir_free(&r);
    return rc;
}
