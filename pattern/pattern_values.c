/* pattern/pattern_values.c - the value matchers of one field: exact values and
 * every operator object, validated with AWS's messages. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pattern/internal.h"

#define WILDCARD_MAX_STARS 5 /* AWS: "Rule is too complex" above this */

static int bad(char *msg, size_t msglen, const char *fmt, const char *arg)
{
    snprintf(msg, msglen, fmt, arg ? arg : "");
    return SY_E_INVALID;
}

static vm_t *push_vm(vm_t **arr, uint32_t *n, uint32_t *cap)
{
    pat_grow((void **)arr, cap, *n + 1, sizeof(vm_t));
    vm_t *v = &(*arr)[(*n)++];
    memset(v, 0, sizeof(*v));
    return v;
}

static void set_bytes(vm_t *v, vm_kind_t k, const char *pre, const char *s, size_t n,
                      const char *post)
{
    size_t a = strlen(pre), b = strlen(post);
    v->k = k;
    v->s = sy_malloc(a + n + b + 1);
    memcpy(v->s, pre, a);
    memcpy(v->s + a, s, n);
    memcpy(v->s + a + n, post, b);
    v->n = a + n + b;
    v->s[v->n] = 0;
}

/* A literal value (string, number, true/false/null) as exact matcher(s). */
static void add_exact(vm_t **arr, uint32_t *n, uint32_t *cap, const pj_t *e)
{
    uint64_t key;
    switch (e->t) {
    case PJ_STR: set_bytes(push_vm(arr, n, cap), VM_EXACT, "\"", e->s, e->n, "\""); break;
    case PJ_NUM:
        set_bytes(push_vm(arr, n, cap), VM_EXACT, "", e->s, e->n, "");
        if (pat_num_key(e->s, e->n, &key)) {
            vm_t *v = push_vm(arr, n, cap);
            v->k = VM_NUMKEY;
            v->lo = v->hi = key;
        }
        break;
    case PJ_TRUE: set_bytes(push_vm(arr, n, cap), VM_EXACT, "", "true", 4, ""); break;
    case PJ_FALSE: set_bytes(push_vm(arr, n, cap), VM_EXACT, "", "false", 5, ""); break;
    case PJ_NULL: set_bytes(push_vm(arr, n, cap), VM_EXACT, "", "null", 4, ""); break;
    default: break;
    }
}

static int check_wildcard(const pj_t *v, char *msg, size_t msglen)
{
    int stars = 0;
    char pos[32];
    for (size_t i = 0; i < v->n; i++) {
        if (v->s[i] == '\\') {
            if (i + 1 >= v->n || (v->s[i + 1] != '*' && v->s[i + 1] != '\\')) {
                snprintf(pos, sizeof(pos), "%zu", i + 1);
                return bad(msg, msglen, "Invalid escape character at pos %s", pos);
            }
            i++;
            continue;
        }
        if (v->s[i] == '*') {
            if (i + 1 < v->n && v->s[i + 1] == '*') {
                snprintf(pos, sizeof(pos), "%zu", i + 1);
                return bad(msg, msglen, "Consecutive wildcard characters at pos %s", pos);
            }
            stars++;
        }
    }
    if (stars > WILDCARD_MAX_STARS)
        return bad(msg, msglen,
                   "Rule is too complex - try using fewer wildcard characters or fewer repeating "
                   "character sequences after a wildcard character%s",
                   NULL);
    return 0;
}

/* prefix / suffix: a string, or {"equals-ignore-case": string} */
static int op_affix(const pj_t *v, bool suffix, vm_t **arr, uint32_t *n, uint32_t *cap, char *msg,
                    size_t msglen)
{
    const char *name = suffix ? "suffix" : "prefix";
    if (v->t == PJ_STR) {
        if (suffix)
            set_bytes(push_vm(arr, n, cap), VM_SUFFIX, "", v->s, v->n, "\"");
        else
            set_bytes(push_vm(arr, n, cap), VM_PREFIX, "\"", v->s, v->n, "");
        return 0;
    }
    if (v->t == PJ_OBJ && v->nk == 1 && strcmp(v->keys[0], "equals-ignore-case") == 0 &&
        v->kids[0]->t == PJ_STR) {
        set_bytes(push_vm(arr, n, cap), suffix ? VM_SUFFIX_EIC : VM_PREFIX_EIC, "", v->kids[0]->s,
                  v->kids[0]->n, "");
        return 0;
    }
    return bad(msg, msglen, "%s match pattern must be a string", name);
}

static int op_numeric(sy_pattern_kind_t kind, const pj_t *v, vm_t **arr, uint32_t *n,
                      uint32_t *cap, char *msg, size_t msglen)
{
    if (v->t != PJ_ARR) return bad(msg, msglen, "Value of numeric must be an array.", NULL);
    if (v->nk == 0) return bad(msg, msglen, "Empty numeric expression%s", NULL);
    double lo = -INFINITY, hi = INFINITY;
    bool lo_open = false, hi_open = false, has_lo = false, has_hi = false, eq = false;
    for (size_t i = 0; i < v->nk; i += 2) {
        const pj_t *op = v->kids[i];
        if (op->t != PJ_STR) return bad(msg, msglen, "Invalid member in numeric match: %s", "");
        const char *o = op->s;
        bool is_lo = !strcmp(o, ">") || !strcmp(o, ">="), is_hi = !strcmp(o, "<") || !strcmp(o, "<=");
        bool is_eq = !strcmp(o, "=");
        if (!is_lo && !is_hi && !is_eq)
            return bad(msg, msglen, "Unrecognized numeric range operator: %s", o);
        if (eq || (is_eq && i > 0) || has_hi)
            return bad(msg, msglen, "Too many elements in numeric expression%s", NULL);
        if (is_lo && has_lo) return bad(msg, msglen, "Bad numeric range operator: %s", o);
        if (i + 1 >= v->nk || v->kids[i + 1]->t != PJ_NUM) {
            if (is_eq) return bad(msg, msglen, "Value of equals must be numeric%s", NULL);
            return bad(msg, msglen, "Value of %s must be numeric", o);
        }
        const pj_t *num = v->kids[i + 1];
        uint64_t key;
        if (!pat_num_key(num->s, num->n, &key))
            return bad(msg, msglen, "Cannot compare number %s", num->s);
        double d = strtod(num->s, NULL);
        if (kind != SY_PATTERN_EVENTBRIDGE && (d > 1e9 || d < -1e9))
            return bad(msg, msglen, "Numeric value %s is outside the supported range", num->s);
        if (is_eq) {
            eq = true;
            lo = hi = d;
        } else if (is_lo) {
            has_lo = true;
            lo = d;
            lo_open = o[1] == 0;
        } else {
            has_hi = true;
            hi = d;
            hi_open = o[1] == 0;
        }
    }
    if (has_lo && has_hi && !(lo < hi)) return bad(msg, msglen, "Bottom must be less than top%s", NULL);
    vm_t *m = push_vm(arr, n, cap);
    m->k = VM_NUMKEY;
    m->lo = has_lo || eq ? pat_double_key(lo) : pat_double_key(-1.7976931348623157e308);
    m->hi = has_hi || eq ? pat_double_key(hi) : pat_double_key(1.7976931348623157e308);
    if (lo_open) m->lo++;
    if (hi_open) m->hi--;
    return 0;
}

static int op_cidr(const pj_t *v, vm_t **arr, uint32_t *n, uint32_t *cap, char *msg, size_t msglen)
{
    if (v->t != PJ_STR) return bad(msg, msglen, "prefix match pattern must be a string%s", NULL);
    const char *slash = memchr(v->s, '/', v->n);
    if (!slash || memchr(slash + 1, '/', v->n - (size_t)(slash + 1 - v->s)))
        return bad(msg, msglen, "Malformed CIDR, one '/' required%s", NULL);
    const char *b = slash + 1;
    size_t blen = v->n - (size_t)(b - v->s);
    if (blen == 0 || blen > 3 || strspn(b, "0123456789") != blen)
        return bad(msg, msglen, "Malformed CIDR, mask bits must be an integer%s", NULL);
    int bits = atoi(b);
    uint8_t ip[16];
    char addr[64];
    size_t alen = (size_t)(slash - v->s);
    snprintf(addr, sizeof(addr), "%.*s", (int)(alen < 60 ? alen : 60), v->s);
    int w = pat_ip_parse(v->s, alen, ip);
    if (!w) {
        if (strspn(addr, "0123456789.") == strlen(addr))
            return bad(msg, msglen, "Invalid IP address: %s", addr);
        return bad(msg, msglen, "Nonstandard IP address: %s", addr);
    }
    if (w == 4 && bits >= 32) return bad(msg, msglen, "IPv4 mask bits must be < 32%s", NULL);
    if (w == 16 && bits >= 128) return bad(msg, msglen, "IPv6 mask bits must be < 128%s", NULL);
    vm_t *m = push_vm(arr, n, cap);
    m->k = VM_CIDR;
    m->ip_w = w;
    for (int i = 0; i < w; i++) {
        int keep = bits - i * 8;
        uint8_t mask = keep >= 8 ? 0xFF : keep <= 0 ? 0 : (uint8_t)(0xFF << (8 - keep));
        m->ip_lo[i] = ip[i] & mask;
        m->ip_hi[i] = (uint8_t)(ip[i] | (uint8_t)~mask);
    }
    return 0;
}

/* anything-but: a value, a list, or {prefix|suffix|equals-ignore-case|wildcard: ...} */
static int op_anything_but(const pj_t *v, cond_ir_t *c, char *msg, size_t msglen)
{
    pat_grow((void **)&c->neg, &c->capgroups, c->ngroups + 1, sizeof(*c->neg));
    uint32_t capn = c->capgroups;
    c->nneg = sy_realloc(c->nneg, capn * sizeof(*c->nneg));
    vm_t **arr = &c->neg[c->ngroups];
    uint32_t *n = &c->nneg[c->ngroups];
    uint32_t cap = 0;
    *arr = NULL;
    *n = 0;
    c->ngroups++;
    if (v->t == PJ_STR || v->t == PJ_NUM) {
        add_exact(arr, n, &cap, v);
        return 0;
    }
    if (v->t == PJ_ARR) {
        bool strs = false, nums = false;
        for (size_t i = 0; i < v->nk; i++) {
            pj_type_t t = v->kids[i]->t;
            if (t == PJ_STR) strs = true;
            else if (t == PJ_NUM) nums = true;
            else return bad(msg, msglen, "Inside anything but list, start|null|boolean is not supported.%s", NULL);
        }
        if (v->nk == 0 || (strs && nums))
            return bad(msg, msglen, "Inside anything but list, either all values are number or string, mixed type is not supported%s", NULL);
        for (size_t i = 0; i < v->nk; i++) add_exact(arr, n, &cap, v->kids[i]);
        return 0;
    }
    if (v->t != PJ_OBJ || v->nk != 1)
        return bad(msg, msglen, "Value of anything-but must be an array or single string/number value.%s", NULL);
    const char *op = v->keys[0];
    const pj_t *x = v->kids[0];
    bool affix = !strcmp(op, "prefix") || !strcmp(op, "suffix");
    bool eic = !strcmp(op, "equals-ignore-case"), wild = !strcmp(op, "wildcard");
    if (!affix && !eic && !wild) return bad(msg, msglen, "Unsupported anything-but pattern: %s", op);
    size_t cnt = x->t == PJ_ARR ? x->nk : 1;
    if (x->t == PJ_OBJ && affix)
        return bad(msg, msglen, "Value of anything-but must be an array or single string/number value.%s", NULL);
    if (x->t == PJ_ARR && cnt == 0) return bad(msg, msglen, "Empty arrays are not allowed%s", NULL);
    for (size_t i = 0; i < cnt; i++) {
        const pj_t *e = x->t == PJ_ARR ? x->kids[i] : x;
        if (e->t != PJ_STR) {
            if (affix) return bad(msg, msglen, "prefix/suffix match pattern must be a string%s", NULL);
            if (eic) return bad(msg, msglen, "Inside anything-but/equals-ignore-case list, number|start|null|boolean is not supported.%s", NULL);
            return bad(msg, msglen, "wildcard match pattern must be a string%s", NULL);
        }
        if (affix && e->n == 0) return bad(msg, msglen, "Null prefix/suffix not allowed%s", NULL);
        if (!strcmp(op, "prefix")) set_bytes(push_vm(arr, n, &cap), VM_PREFIX, "\"", e->s, e->n, "");
        else if (!strcmp(op, "suffix")) set_bytes(push_vm(arr, n, &cap), VM_SUFFIX, "", e->s, e->n, "\"");
        else if (eic) set_bytes(push_vm(arr, n, &cap), VM_EIC, "", e->s, e->n, "");
        else {
            int rc = check_wildcard(e, msg, msglen);
            if (rc) return rc;
            set_bytes(push_vm(arr, n, &cap), VM_WILDCARD, "", e->s, e->n, "");
        }
    }
    return 0;
}

static int op_object(sy_pattern_kind_t kind, const pj_t *e, cond_ir_t *c, char *msg, size_t msglen)
{
    if (e->nk == 0) return bad(msg, msglen, "Empty objects are not allowed%s", NULL);
    if (e->nk > 1) return bad(msg, msglen, "Only one key allowed in match expression%s", NULL);
    const char *op = e->keys[0];
    const pj_t *v = e->kids[0];
    if (!strcmp(op, "prefix")) return op_affix(v, false, &c->pos, &c->npos, &c->cappos, msg, msglen);
    if (!strcmp(op, "suffix")) return op_affix(v, true, &c->pos, &c->npos, &c->cappos, msg, msglen);
    if (!strcmp(op, "equals-ignore-case")) {
        if (v->t != PJ_STR) return bad(msg, msglen, "equals-ignore-case match pattern must be a string%s", NULL);
        set_bytes(push_vm(&c->pos, &c->npos, &c->cappos), VM_EIC, "", v->s, v->n, "");
        return 0;
    }
    if (!strcmp(op, "wildcard") && kind == SY_PATTERN_EVENTBRIDGE) {
        if (v->t != PJ_STR) return bad(msg, msglen, "wildcard match pattern must be a string%s", NULL);
        int rc = check_wildcard(v, msg, msglen);
        if (rc) return rc;
        set_bytes(push_vm(&c->pos, &c->npos, &c->cappos), VM_WILDCARD, "", v->s, v->n, "");
        return 0;
    }
    if (!strcmp(op, "anything-but")) return op_anything_but(v, c, msg, msglen);
    if (!strcmp(op, "numeric")) return op_numeric(kind, v, &c->pos, &c->npos, &c->cappos, msg, msglen);
    if (!strcmp(op, "cidr")) return op_cidr(v, &c->pos, &c->npos, &c->cappos, msg, msglen);
    if (!strcmp(op, "exists")) {
        if (v->t == PJ_TRUE) push_vm(&c->pos, &c->npos, &c->cappos)->k = VM_EXISTS_TRUE;
        else if (v->t == PJ_FALSE) c->absent_ok = true;
        else return bad(msg, msglen, "exists match pattern must be either true or false.%s", NULL);
        return 0;
    }
    return bad(msg, msglen, "Unrecognized match type %s", op);
}

int pat_pattern_values(sy_pattern_kind_t kind, const pj_t *arr, cond_ir_t *c, char *msg,
                       size_t msglen)
{
    if (arr->nk == 0) return bad(msg, msglen, "Empty arrays are not allowed%s", NULL);
    for (size_t i = 0; i < arr->nk; i++) {
        const pj_t *e = arr->kids[i];
        if (e->t == PJ_OBJ) {
            int rc = op_object(kind, e, c, msg, msglen);
            if (rc) return rc;
        } else if (e->t == PJ_ARR) {
            return bad(msg, msglen, "Match value must be String, number, true, false, or null%s", NULL);
        } else {
            add_exact(&c->pos, &c->npos, &c->cappos, e);
        }
    }
    return 0;
}

void pat_vm_free(vm_t *v)
{
    free(v->s);
}
