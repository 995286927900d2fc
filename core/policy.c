/* AWS's JSON policy language: validation and evaluation of one document.
 *
 * A document is kept as the client wrote it (jansson) and walked on every
 * evaluation; documents are small and the walk allocates nothing. Semantics
 * follow IAM's documented evaluation logic: a statement applies when its
 * principal (resource policies only), action, resource and every condition
 * match; any applicable Deny wins; otherwise any applicable Allow allows;
 * otherwise the document says nothing (implicit deny is the caller's rule,
 * core/authz.c). */
#include "core.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <math.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* ------------------------------------------------------------- wildcards */
/* '*' any run, '?' one character; `fold` compares ASCII case-insensitively. */
static bool glob(const char *p, const char *s, bool fold)
{
    const char *star = NULL, *resume = NULL;
    while (*s) {
        if (*p == '*') {
            star = p++;
            resume = s;
        } else if (*p == '?' || (fold ? tolower((unsigned char)*p) == tolower((unsigned char)*s) : *p == *s)) {
            p++;
            s++;
        } else if (star) {
            p = star + 1;
            s = ++resume;
        } else {
            return false;
        }
    }
    while (*p == '*') p++;
    return !*p;
}

/* ${aws:username}-style policy variables, and ${*} ${?} ${$} escapes. A
 * variable whose key is absent makes the value unmatchable (NULL). */
static char *substitute(const char *v, const json_t *ctx)
{
    if (!strstr(v, "${")) return sy_strdup(v);
    sy_buf_t b = {0};
    for (const char *p = v; *p;) {
        if (p[0] == '$' && p[1] == '{') {
            const char *end = strchr(p, '}');
            if (!end) {
                sy_buf_puts(&b, p);
                break;
            }
            char name[128];
            size_t n = (size_t)(end - p - 2);
            if (n >= sizeof name) n = sizeof name - 1;
            memcpy(name, p + 2, n);
            name[n] = 0;
            if (!strcmp(name, "*") || !strcmp(name, "?") || !strcmp(name, "$")) {
                sy_buf_puts(&b, name);
            } else {
                for (char *q = name; *q; q++) *q = (char)tolower((unsigned char)*q);
                const json_t *val = json_object_get(ctx, name);
                if (!json_is_string(val)) {
                    sy_buf_free(&b);
                    return NULL;
                }
                sy_buf_puts(&b, json_string_value(val));
            }
            p = end + 1;
        } else {
            sy_buf_append(&b, p, 1);
            p++;
        }
    }
    return sy_buf_take(&b);
}

/* A string or an array of strings: call f on each; true when any says true. */
typedef bool (*each_fn)(const char *pattern, const void *u);
static bool any_of(const json_t *v, each_fn f, const void *u)
{
    if (json_is_string(v)) return f(json_string_value(v), u);
    size_t i;
    const json_t *e;
    json_array_foreach(v, i, e) if (json_is_string(e) && f(json_string_value(e), u)) return true;
    return false;
}

static bool action_hit(const char *pattern, const void *u)
{
    return glob(pattern, u, true);
}

typedef struct {
    const char *resource;
    const json_t *ctx;
} res_u_t;

static bool resource_hit(const char *pattern, const void *u)
{
    const res_u_t *r = u;
    char *p = substitute(pattern, r->ctx);
    bool hit = p && glob(p, r->resource, false);
    free(p);
    return hit;
}

/* ------------------------------------------------------------- principals */
static bool principal_value_hit(const char *v, const void *u)
{
    const sy_policy_req_t *r = u;
    if (!strcmp(v, "*")) return true;
    if (!r->principal_arn) return false;
    if (!strcmp(v, r->principal_arn)) return true;
    /* "123456789012" or "arn:aws:iam::123456789012:root" name every principal of the account */
    const char *acct = r->principal_account ? r->principal_account : "";
    if (!strcmp(v, acct)) return true;
    char root[96];
    snprintf(root, sizeof root, "arn:aws:iam::%s:root", acct);
    return !strcmp(v, root);
}

static bool service_value_hit(const char *v, const void *u)
{
    const sy_policy_req_t *r = u;
    return r->principal_service && (!strcmp(v, "*") || !strcmp(v, r->principal_service));
}

static bool principal_hit(const json_t *p, const sy_policy_req_t *r)
{
    if (json_is_string(p)) return !strcmp(json_string_value(p), "*") ||
                                  (!r->principal_service && principal_value_hit(json_string_value(p), r));
    const json_t *aws = json_object_get(p, "AWS");
    if (aws && !r->principal_service && any_of(aws, principal_value_hit, r)) return true;
    const json_t *svc = json_object_get(p, "Service");
    return svc && any_of(svc, service_value_hit, r);
}

/* ------------------------------------------------------------- conditions */
typedef enum { OP_STR, OP_NUM, OP_DATE, OP_BOOL, OP_BIN, OP_IP, OP_ARN, OP_NULL } op_kind_t;
typedef enum { CMP_EQ, CMP_NE, CMP_LT, CMP_LE, CMP_GT, CMP_GE, CMP_LIKE, CMP_NOTLIKE, CMP_EQ_IC, CMP_NE_IC } cmp_t;
typedef struct {
    const char *name;
    op_kind_t kind;
    cmp_t cmp;
} op_t;

static const op_t ops[] = {
    {"StringEquals", OP_STR, CMP_EQ},          {"StringNotEquals", OP_STR, CMP_NE},
    {"StringEqualsIgnoreCase", OP_STR, CMP_EQ_IC}, {"StringNotEqualsIgnoreCase", OP_STR, CMP_NE_IC},
    {"StringLike", OP_STR, CMP_LIKE},          {"StringNotLike", OP_STR, CMP_NOTLIKE},
    {"NumericEquals", OP_NUM, CMP_EQ},         {"NumericNotEquals", OP_NUM, CMP_NE},
    {"NumericLessThan", OP_NUM, CMP_LT},       {"NumericLessThanEquals", OP_NUM, CMP_LE},
    {"NumericGreaterThan", OP_NUM, CMP_GT},    {"NumericGreaterThanEquals", OP_NUM, CMP_GE},
    {"DateEquals", OP_DATE, CMP_EQ},           {"DateNotEquals", OP_DATE, CMP_NE},
    {"DateLessThan", OP_DATE, CMP_LT},         {"DateLessThanEquals", OP_DATE, CMP_LE},
    {"DateGreaterThan", OP_DATE, CMP_GT},      {"DateGreaterThanEquals", OP_DATE, CMP_GE},
    {"Bool", OP_BOOL, CMP_EQ},                 {"BinaryEquals", OP_BIN, CMP_EQ},
    {"IpAddress", OP_IP, CMP_EQ},              {"NotIpAddress", OP_IP, CMP_NE},
    {"ArnEquals", OP_ARN, CMP_LIKE},           {"ArnNotEquals", OP_ARN, CMP_NOTLIKE},
    {"ArnLike", OP_ARN, CMP_LIKE},             {"ArnNotLike", OP_ARN, CMP_NOTLIKE},
    {"Null", OP_NULL, CMP_EQ},
};

typedef struct {
    const op_t *op;
    bool if_exists, for_all, for_any;
} op_spec_t;

static bool parse_op(const char *name, op_spec_t *out)
{
    memset(out, 0, sizeof *out);
    if (!strncmp(name, "ForAllValues:", 13)) {
        out->for_all = true;
        name += 13;
    } else if (!strncmp(name, "ForAnyValue:", 12)) {
        out->for_any = true;
        name += 12;
    }
    char base[64];
    snprintf(base, sizeof base, "%s", name);
    size_t n = strlen(base);
    if (n > 8 && !strcmp(base + n - 8, "IfExists")) {
        out->if_exists = true;
        base[n - 8] = 0;
    }
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        if (!strcmp(ops[i].name, base)) {
            out->op = &ops[i];
            return !(out->op->kind == OP_NULL && (out->if_exists || out->for_all || out->for_any));
        }
    return false;
}

static bool negated(cmp_t c)
{
    return c == CMP_NE || c == CMP_NOTLIKE || c == CMP_NE_IC;
}

static bool parse_num(const char *s, double *out)
{
    char *end;
    *out = strtod(s, &end);
    return *s && !*end && isfinite(*out);
}

/* ISO 8601 (a date, or a date-time with fraction and Z or an offset) or
 * epoch seconds, as seconds since the epoch. */
static bool parse_date(const char *s, double *out)
{
    if (parse_num(s, out)) return true;
    struct tm tm = {0};
    int y, mo, d, h = 0, mi = 0, sec = 0, n = 0;
    if (sscanf(s, "%4d-%2d-%2d%n", &y, &mo, &d, &n) != 3 || n != 10) return false;
    const char *p = s + 10;
    double frac = 0;
    int off = 0;
    if (*p == 'T') {
        if (sscanf(p, "T%2d:%2d:%2d%n", &h, &mi, &sec, &n) != 3) return false;
        p += n;
        if (*p == '.') {
            char *end;
            frac = strtod(p, &end);
            p = end;
        }
        if (*p == 'Z') p++;
        else if (*p == '+' || *p == '-') {
            int oh, om;
            if (sscanf(p + 1, "%2d:%2d%n", &oh, &om, &n) != 2) return false;
            off = (oh * 60 + om) * 60 * (*p == '+' ? 1 : -1);
            p += 1 + n;
        }
    }
    if (*p || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) return false;
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    *out = (double)timegm(&tm) - off + frac;
    return true;
}

static bool parse_cidr(const char *s, int *af, unsigned char addr[16], int *bits)
{
    char buf[64];
    snprintf(buf, sizeof buf, "%s", s);
    char *slash = strchr(buf, '/');
    if (slash) *slash++ = 0;
    *af = strchr(buf, ':') ? AF_INET6 : AF_INET;
    if (inet_pton(*af, buf, addr) != 1) return false;
    int max = *af == AF_INET ? 32 : 128;
    *bits = slash ? atoi(slash) : max;
    return *bits >= 0 && *bits <= max;
}

static bool ip_in(const char *pattern, const char *ip)
{
    int af1, af2, bits, b2;
    unsigned char net[16], a[16];
    if (!parse_cidr(pattern, &af1, net, &bits) || !parse_cidr(ip, &af2, a, &b2) || af1 != af2) return false;
    for (int i = 0; i < bits; i++) {
        int byte = i / 8, bit = 7 - i % 8;
        if (((net[byte] >> bit) & 1) != ((a[byte] >> bit) & 1)) return false;
    }
    return true;
}

/* One request value against one policy value, without negation. */
static bool value_match(const op_t *op, const char *pv, const char *rv)
{
    double a, b;
    switch (op->kind) {
    case OP_STR:
        if (op->cmp == CMP_LIKE || op->cmp == CMP_NOTLIKE) return glob(pv, rv, false);
        if (op->cmp == CMP_EQ_IC || op->cmp == CMP_NE_IC) return !strcasecmp(pv, rv);
        return !strcmp(pv, rv);
    case OP_ARN:
        return glob(pv, rv, false);
    case OP_BOOL:
        return !strcasecmp(pv, rv);
    case OP_BIN:
        return !strcmp(pv, rv);
    case OP_IP:
        return ip_in(pv, rv);
    case OP_NUM:
    case OP_DATE:
        if (op->kind == OP_NUM ? !(parse_num(rv, &a) && parse_num(pv, &b)) : !(parse_date(rv, &a) && parse_date(pv, &b)))
            return false;
        switch (op->cmp) {
        case CMP_EQ: case CMP_NE: return a == b;
        case CMP_LT: return a < b;
        case CMP_LE: return a <= b;
        case CMP_GT: return a > b;
        case CMP_GE: return a >= b;
        default: return false;
        }
    case OP_NULL:
        return false;
    }
    return false;
}

static bool scalar_text(const json_t *v, char *buf, size_t n, const char **out)
{
    if (json_is_string(v)) *out = json_string_value(v);
    else if (json_is_true(v)) *out = "true";
    else if (json_is_false(v)) *out = "false";
    else if (json_is_integer(v)) snprintf(buf, n, "%lld", (long long)json_integer_value(v)), *out = buf;
    else if (json_is_real(v)) snprintf(buf, n, "%.17g", json_real_value(v)), *out = buf;
    else return false;
    return true;
}

/* Does one request value match any of the policy values (positive sense)? */
static bool one_value(const op_t *op, const json_t *pvals, const char *rv, const json_t *ctx)
{
    size_t i, n = json_is_array(pvals) ? json_array_size(pvals) : 1;
    for (i = 0; i < n; i++) {
        const json_t *pv = json_is_array(pvals) ? json_array_get(pvals, i) : pvals;
        char buf[64];
        const char *s;
        if (!scalar_text(pv, buf, sizeof buf, &s)) continue;
        char *sub = op->kind == OP_STR || op->kind == OP_ARN ? substitute(s, ctx) : sy_strdup(s);
        bool hit = sub && value_match(op, sub, rv);
        free(sub);
        if (hit) return true;
    }
    return false;
}

static bool key_match(const op_spec_t *sp, const char *key, const json_t *pvals, const json_t *ctx)
{
    char lk[128];
    snprintf(lk, sizeof lk, "%s", key);
    for (char *q = lk; *q; q++) *q = (char)tolower((unsigned char)*q);
    const json_t *rv = json_object_get(ctx, lk);
    if (sp->op->kind == OP_NULL) {
        char buf[8];
        const char *want;
        if (!scalar_text(json_is_array(pvals) ? json_array_get(pvals, 0) : pvals, buf, sizeof buf, &want)) return false;
        bool absent = rv == NULL;
        return !strcasecmp(want, "true") ? absent : !absent;
    }
    if (!rv) return sp->if_exists || sp->for_all || negated(sp->op->cmp);
    /* request values: one scalar or a multivalued key */
    size_t n = json_is_array(rv) ? json_array_size(rv) : 1;
    bool all = true, any = false;
    for (size_t i = 0; i < n; i++) {
        const json_t *v = json_is_array(rv) ? json_array_get(rv, i) : rv;
        char buf[64];
        const char *s;
        if (!scalar_text(v, buf, sizeof buf, &s)) continue;
        bool hit = one_value(sp->op, pvals, s, ctx);
        if (negated(sp->op->cmp)) hit = !hit;
        all = all && hit;
        any = any || hit;
    }
    if (sp->for_all) return all;
    return any;
}

static bool conditions_hold(const json_t *cond, const json_t *ctx)
{
    const char *opname;
    const json_t *block;
    json_object_foreach((json_t *)cond, opname, block) {
        op_spec_t sp;
        if (!parse_op(opname, &sp)) return false;
        const char *key;
        const json_t *vals;
        json_object_foreach((json_t *)block, key, vals) if (!key_match(&sp, key, vals, ctx)) return false;
    }
    return true;
}

/* ------------------------------------------------------------- validation */
static bool strings_or_string(const json_t *v)
{
    if (json_is_string(v)) return true;
    if (!json_is_array(v) || !json_array_size(v)) return false;
    size_t i;
    const json_t *e;
    json_array_foreach(v, i, e) if (!json_is_string(e)) return false;
    return true;
}

static int why(char **out, const char *fmt, const char *arg)
{
    if (out) *out = sy_asprintf(fmt, arg ? arg : "");
    return -1;
}

static int validate_statement(const json_t *st, bool resource_policy, char **out)
{
    if (!json_is_object(st)) return why(out, "Statement must be an object%s", NULL);
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)st, k, v) {
        if (strcmp(k, "Sid") && strcmp(k, "Effect") && strcmp(k, "Principal") && strcmp(k, "NotPrincipal") &&
            strcmp(k, "Action") && strcmp(k, "NotAction") && strcmp(k, "Resource") && strcmp(k, "NotResource") &&
            strcmp(k, "Condition"))
            return why(out, "Unknown field %s", k);
    }
    const char *eff = sy_json_str(st, "Effect");
    if (!eff || (strcmp(eff, "Allow") && strcmp(eff, "Deny"))) return why(out, "Effect must be Allow or Deny%s", NULL);
    const json_t *a = json_object_get(st, "Action"), *na = json_object_get(st, "NotAction");
    if (!a == !na) return why(out, "Statement needs exactly one of Action and NotAction%s", NULL);
    if (!strings_or_string(a ? a : na)) return why(out, "Action must be a string or a list of strings%s", NULL);
    const json_t *r = json_object_get(st, "Resource"), *nr = json_object_get(st, "NotResource");
    if (r && nr) return why(out, "Statement has both Resource and NotResource%s", NULL);
    if (!r && !nr && !resource_policy) return why(out, "Policy statement must contain resources.%s", NULL);
    if ((r || nr) && !strings_or_string(r ? r : nr)) return why(out, "Resource must be a string or a list of strings%s", NULL);
    const json_t *p = json_object_get(st, "Principal"), *np = json_object_get(st, "NotPrincipal");
    if (!resource_policy && (p || np)) return why(out, "Policy document should not specify a principal.%s", NULL);
    if (resource_policy && !p == !np) return why(out, "Statement needs exactly one of Principal and NotPrincipal%s", NULL);
    const json_t *pp = p ? p : np;
    if (pp && !(json_is_string(pp) && !strcmp(json_string_value(pp), "*")) && !json_is_object(pp))
        return why(out, "Principal must be \"*\" or an object%s", NULL);
    if (json_is_object(pp)) {
        json_object_foreach((json_t *)pp, k, v) {
            if (strcmp(k, "AWS") && strcmp(k, "Service") && strcmp(k, "Federated") && strcmp(k, "CanonicalUser"))
                return why(out, "Unknown principal type %s", k);
            if (!strings_or_string(v)) return why(out, "Principal %s must be a string or a list of strings", k);
        }
    }
    const json_t *c = json_object_get(st, "Condition");
    if (c) {
        if (!json_is_object(c)) return why(out, "Condition must be an object%s", NULL);
        json_object_foreach((json_t *)c, k, v) {
            op_spec_t sp;
            if (!parse_op(k, &sp)) return why(out, "Unknown condition operator %s", k);
            if (!json_is_object(v) || !json_object_size(v)) return why(out, "Condition %s must be a non-empty object", k);
            const char *ck;
            const json_t *cv;
            json_object_foreach((json_t *)v, ck, cv) {
                if (json_is_object(cv) || json_is_null(cv) || (json_is_array(cv) && !json_array_size(cv)))
                    return why(out, "Condition key %s needs a value or a list of values", ck);
            }
        }
    }
    return 0;
}

int sy_policy_validate(const json_t *doc, bool resource_policy, char **out)
{
    if (out) *out = NULL;
    if (!json_is_object(doc)) return why(out, "Policy document must be a JSON object%s", NULL);
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)doc, k, v) {
        if (strcmp(k, "Version") && strcmp(k, "Id") && strcmp(k, "Statement")) return why(out, "Unknown field %s", k);
    }
    const char *ver = sy_json_str(doc, "Version");
    if (json_object_get(doc, "Version") && (!ver || (strcmp(ver, "2012-10-17") && strcmp(ver, "2008-10-17"))))
        return why(out, "The policy must contain a valid version string%s", NULL);
    const json_t *st = json_object_get(doc, "Statement");
    /* a resource policy may be empty (SQS keeps {"Statement": []} and it allows nothing) */
    if (!st || (!json_is_object(st) && !json_is_array(st)) ||
        (json_is_array(st) && !json_array_size(st) && !resource_policy))
        return why(out, "Policy document must contain at least one Statement%s", NULL);
    if (json_is_object(st)) return validate_statement(st, resource_policy, out);
    size_t i;
    const json_t *e;
    json_array_foreach(st, i, e) if (validate_statement(e, resource_policy, out) < 0) return -1;
    return 0;
}

/* ------------------------------------------------------------- evaluation */
static bool statement_applies(const json_t *st, bool resource_policy, const sy_policy_req_t *r)
{
    if (resource_policy) {
        const json_t *p = json_object_get(st, "Principal"), *np = json_object_get(st, "NotPrincipal");
        if (p && !principal_hit(p, r)) return false;
        if (np && principal_hit(np, r)) return false;
    }
    const json_t *a = json_object_get(st, "Action"), *na = json_object_get(st, "NotAction");
    if (a && !any_of(a, action_hit, r->action)) return false;
    if (na && any_of(na, action_hit, r->action)) return false;
    res_u_t ru = {r->resource, r->context};
    const json_t *res = json_object_get(st, "Resource"), *nres = json_object_get(st, "NotResource");
    if (res && !any_of(res, resource_hit, &ru)) return false;
    if (nres && any_of(nres, resource_hit, &ru)) return false;
    const json_t *c = json_object_get(st, "Condition");
    return !c || conditions_hold(c, r->context);
}

sy_policy_effect_t sy_policy_eval(const json_t *doc, bool resource_policy, const sy_policy_req_t *r)
{
    const json_t *st = json_object_get(doc, "Statement");
    size_t n = json_is_array(st) ? json_array_size(st) : st ? 1 : 0;
    bool allow = false;
    for (size_t i = 0; i < n; i++) {
        const json_t *s = json_is_array(st) ? json_array_get(st, i) : st;
        if (!json_is_object(s) || !statement_applies(s, resource_policy, r)) continue;
        const char *eff = sy_json_str(s, "Effect");
        if (eff && !strcmp(eff, "Deny")) return SY_POLICY_DENY;
        if (eff && !strcmp(eff, "Allow")) allow = true;
    }
    return allow ? SY_POLICY_ALLOW : SY_POLICY_NONE;
}
