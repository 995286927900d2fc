/* pattern/nfa.c - the per-field byte automaton: a shared trie for exact values
 * and prefixes, fresh nondeterministic branches for wildcards, ignore-case
 * alternatives and numeric/IP ranges (order-preserving fixed-width keys). */
#include <locale.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <wctype.h>

#include "pattern/internal.h"

uint32_t nfa_new_state(nfa_t *a, bool share)
{
    pat_grow((void **)&a->st, &a->cap, a->n + 1, sizeof(*a->st));
    nfa_state_t *s = &a->st[a->n];
    memset(s, 0, sizeof(*s));
    s->share = share;
    return a->n++;
}

void nfa_free(nfa_t *a)
{
    for (uint32_t i = 0; i < a->n; i++) {
        nfa_state_t *s = &a->st[i];
        free(s->tr);
        free(s->eps);
        free(s->out);
        free(s->pout);
        free(s->dense);
    }
    free(a->st);
    memset(a, 0, sizeof(*a));
}

static void add_tr(nfa_t *a, uint32_t from, uint8_t lo, uint8_t hi, uint32_t to)
{
    nfa_state_t *s = &a->st[from];
    pat_grow((void **)&s->tr, &s->captr, s->ntr + 1, sizeof(*s->tr));
    s->tr[s->ntr++] = (nfa_tr_t){lo, hi, to};
}

static void add_u32(uint32_t **arr, uint32_t *n, uint32_t *cap, uint32_t v)
{
    for (uint32_t i = 0; i < *n; i++)
        if ((*arr)[i] == v) return;
    pat_grow((void **)arr, cap, *n + 1, sizeof(**arr));
    (*arr)[(*n)++] = v;
}

/* Follow or extend the shared trie. */
static uint32_t shared(nfa_t *a, uint32_t s, const uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t next = UINT32_MAX;
        nfa_state_t *st = &a->st[s];
        for (uint32_t t = 0; t < st->ntr; t++) {
            nfa_tr_t *tr = &st->tr[t];
            if (tr->lo == b[i] && tr->hi == b[i] && a->st[tr->to].share) {
                next = tr->to;
                break;
            }
        }
        if (next == UINT32_MAX) {
            next = nfa_new_state(a, true);
            add_tr(a, s, b[i], b[i], next);
        }
        s = next;
    }
    return s;
}

static uint32_t fresh(nfa_t *a, uint32_t s, const uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t next = nfa_new_state(a, false);
        add_tr(a, s, b[i], b[i], next);
        s = next;
    }
    return s;
}

/* ------------------------------------------------------------ case folding */
static locale_t utf8_loc;
static pthread_once_t loc_once = PTHREAD_ONCE_INIT;
static void loc_init(void)
{
    utf8_loc = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
}

static size_t utf8_dec(const uint8_t *s, size_t n, uint32_t *cp)
{
    uint8_t c = s[0];
    size_t l = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (l == 0 || l > n) {
        *cp = 0xFFFFFFFF; /* raw byte */
        return 1;
    }
    uint32_t v = l == 1 ? c : l == 2 ? (c & 0x1Fu) : l == 3 ? (c & 0x0Fu) : (c & 0x07u);
    for (size_t i = 1; i < l; i++) {
        if ((s[i] & 0xC0) != 0x80) {
            *cp = 0xFFFFFFFF;
            return 1;
        }
        v = (v << 6) | (s[i] & 0x3Fu);
    }
    *cp = v;
    return l;
}

static size_t utf8_enc(uint32_t cp, uint8_t *o)
{
    if (cp < 0x80) { o[0] = (uint8_t)cp; return 1; }
    if (cp < 0x800) { o[0] = (uint8_t)(0xC0 | (cp >> 6)); o[1] = (uint8_t)(0x80 | (cp & 0x3F)); return 2; }
    if (cp < 0x10000) {
        o[0] = (uint8_t)(0xE0 | (cp >> 12)); o[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (uint8_t)(0x80 | (cp & 0x3F)); return 3;
    }
    o[0] = (uint8_t)(0xF0 | (cp >> 18)); o[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F)); o[3] = (uint8_t)(0x80 | (cp & 0x3F)); return 4;
}

typedef struct {
    uint8_t b[8];
    size_t n;
} alt_t;

/* Ruler: each code point matches itself, its lower-case and its upper-case
 * form (full upper-casing for sharp s: "SS"). */
static int case_alts(const uint8_t *s, size_t n, size_t *used, alt_t alts[3])
{
    uint32_t cp;
    *used = utf8_dec(s, n, &cp);
    int k = 0;
    memcpy(alts[0].b, s, *used);
    alts[0].n = *used;
    k = 1;
    if (cp == 0xFFFFFFFF) return k;
    pthread_once(&loc_once, loc_init);
    uint32_t lc = cp, uc = cp;
    if (cp < 0x80) {
        if (cp >= 'A' && cp <= 'Z') lc = cp + 32;
        if (cp >= 'a' && cp <= 'z') uc = cp - 32;
    } else if (utf8_loc) {
        lc = (uint32_t)towlower_l((wint_t)cp, utf8_loc);
        uc = (uint32_t)towupper_l((wint_t)cp, utf8_loc);
    }
    alt_t x = {{0}, 0};
    if (cp == 0xDF) {
        memcpy(x.b, "SS", 2);
        x.n = 2;
    } else {
        x.n = utf8_enc(uc, x.b);
    }
    alt_t l = {{0}, 0};
    l.n = utf8_enc(lc, l.b);
    alt_t cand[2] = {l, x};
    for (int c = 0; c < 2; c++) {
        bool dup = false;
        for (int j = 0; j < k; j++)
            if (alts[j].n == cand[c].n && !memcmp(alts[j].b, cand[c].b, cand[c].n)) dup = true;
        if (!dup) alts[k++] = cand[c];
    }
    return k;
}

static void rev_bytes(uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n / 2; i++) {
        uint8_t t = b[i];
        b[i] = b[n - 1 - i];
        b[n - 1 - i] = t;
    }
}

/* Alternatives for every code point of s, chained from state st. When
 * reverse, code points are taken last-first and their bytes reversed. */
static uint32_t ic_chain(nfa_t *a, uint32_t st, const uint8_t *s, size_t n, bool reverse)
{
    /* split into code points first */
    size_t *starts = sy_malloc((n + 1) * sizeof(*starts));
    size_t ncp = 0, i = 0;
    while (i < n) {
        uint32_t cp;
        starts[ncp++] = i;
        i += utf8_dec(s + i, n - i, &cp);
    }
    starts[ncp] = n;
    for (size_t k = 0; k < ncp; k++) {
        size_t c = reverse ? ncp - 1 - k : k;
        alt_t alts[3];
        size_t used;
        int na = case_alts(s + starts[c], starts[c + 1] - starts[c], &used, alts);
        if (na == 1 && a->st[st].share) {
            if (reverse) rev_bytes(alts[0].b, alts[0].n);
            st = shared(a, st, alts[0].b, alts[0].n);
            continue;
        }
        uint32_t join = nfa_new_state(a, false);
        for (int j = 0; j < na; j++) {
            if (reverse) rev_bytes(alts[j].b, alts[j].n);
            uint32_t x = alts[j].n > 1 ? fresh(a, st, alts[j].b, alts[j].n - 1) : st;
            add_tr(a, x, alts[j].b[alts[j].n - 1], alts[j].b[alts[j].n - 1], join);
        }
        st = join;
    }
    free(starts);
    return st;
}

/* ------------------------------------------------------------------ ranges */
static void range(nfa_t *a, uint32_t s, int d, int w, const uint8_t *lo, const uint8_t *hi,
                  bool lt, bool ht, uint32_t out)
{
    if (d == w) {
        nfa_state_t *st = &a->st[s];
        add_u32(&st->out, &st->nout, &st->capout, out);
        return;
    }
    uint8_t x = lt ? lo[d] : 0, z = ht ? hi[d] : 255;
    if (x == z) {
        uint32_t t = nfa_new_state(a, false);
        add_tr(a, s, x, x, t);
        range(a, t, d + 1, w, lo, hi, lt, ht, out);
        return;
    }
    unsigned start = x, end = z;
    if (lt) {
        uint32_t t = nfa_new_state(a, false);
        add_tr(a, s, x, x, t);
        range(a, t, d + 1, w, lo, hi, true, false, out);
        start = x + 1u;
    }
    if (ht) {
        uint32_t t = nfa_new_state(a, false);
        add_tr(a, s, z, z, t);
        range(a, t, d + 1, w, lo, hi, false, true, out);
        end = z - 1u;
    }
    if (start <= end) {
        uint32_t t = nfa_new_state(a, false);
        add_tr(a, s, (uint8_t)start, (uint8_t)end, t);
        range(a, t, d + 1, w, lo, hi, false, false, out);
    }
}

static void be64(uint64_t v, uint8_t *o)
{
    for (int i = 7; i >= 0; i--) {
        o[i] = (uint8_t)v;
        v >>= 8;
    }
}

static void wildcard(nfa_t *a, uint32_t root, const vm_t *vm, uint32_t out)
{
    uint32_t s = shared(a, root, (const uint8_t *)"\"", 1);
    bool share = true;
    for (size_t i = 0; i < vm->n; i++) {
        uint8_t c = (uint8_t)vm->s[i];
        if (c == '*') {
            uint32_t l = nfa_new_state(a, false);
            add_tr(a, l, 0, 255, l);
            nfa_state_t *st = &a->st[s];
            add_u32(&st->eps, &st->neps, &st->capeps, l);
            s = l;
            share = false;
            continue;
        }
        if (c == '\\' && i + 1 < vm->n) c = (uint8_t)vm->s[++i];
        s = share ? shared(a, s, &c, 1) : fresh(a, s, &c, 1);
    }
    s = share ? shared(a, s, (const uint8_t *)"\"", 1) : fresh(a, s, (const uint8_t *)"\"", 1);
    add_u32(&a->st[s].out, &a->st[s].nout, &a->st[s].capout, out);
}

void nfa_add_vm(nfa_t *a, uint32_t fwd, uint32_t rev, const vm_t *vm, uint32_t out)
{
    const uint8_t *b = (const uint8_t *)vm->s;
    uint32_t s;
    uint8_t k1[8], k2[8];
    switch (vm->k) {
    case VM_EXACT:
        s = shared(a, fwd, b, vm->n);
        add_u32(&a->st[s].out, &a->st[s].nout, &a->st[s].capout, out);
        break;
    case VM_PREFIX:
        s = shared(a, fwd, b, vm->n);
        add_u32(&a->st[s].pout, &a->st[s].npout, &a->st[s].cappout, out);
        break;
    case VM_SUFFIX: {
        uint8_t *r = sy_malloc(vm->n + 1);
        memcpy(r, b, vm->n);
        rev_bytes(r, vm->n);
        s = shared(a, rev, r, vm->n);
        free(r);
        add_u32(&a->st[s].pout, &a->st[s].npout, &a->st[s].cappout, out);
        break;
    }
    case VM_EIC:
        s = shared(a, fwd, (const uint8_t *)"\"", 1);
        s = ic_chain(a, s, b, vm->n, false);
        s = a->st[s].share ? shared(a, s, (const uint8_t *)"\"", 1)
                           : fresh(a, s, (const uint8_t *)"\"", 1);
        add_u32(&a->st[s].out, &a->st[s].nout, &a->st[s].capout, out);
        break;
    case VM_PREFIX_EIC:
        s = shared(a, fwd, (const uint8_t *)"\"", 1);
        s = ic_chain(a, s, b, vm->n, false);
        add_u32(&a->st[s].pout, &a->st[s].npout, &a->st[s].cappout, out);
        break;
    case VM_SUFFIX_EIC:
        s = shared(a, rev, (const uint8_t *)"\"", 1);
        s = ic_chain(a, s, b, vm->n, true);
        add_u32(&a->st[s].pout, &a->st[s].npout, &a->st[s].cappout, out);
        break;
    case VM_WILDCARD: wildcard(a, fwd, vm, out); break;
    case VM_NUMKEY:
        s = shared(a, fwd, (const uint8_t *)"\x01", 1);
        be64(vm->lo, k1);
        be64(vm->hi, k2);
        if (vm->lo == vm->hi) {
            s = shared(a, s, k1, 8);
            add_u32(&a->st[s].out, &a->st[s].nout, &a->st[s].capout, out);
        } else if (vm->lo < vm->hi) {
            range(a, s, 0, 8, k1, k2, true, true, out);
        }
        break;
    case VM_CIDR:
        s = shared(a, fwd, (const uint8_t *)(vm->ip_w == 4 ? "\x02" : "\x03"), 1);
        range(a, s, 0, vm->ip_w, vm->ip_lo, vm->ip_hi, true, true, out);
        break;
    case VM_EXISTS_TRUE: break;
    }
}

static int tr_cmp(const void *x, const void *y)
{
    const nfa_tr_t *a = x, *b = y;
    return (int)a->lo - (int)b->lo;
}

void nfa_freeze(nfa_t *a)
{
    for (uint32_t i = 0; i < a->n; i++) {
        nfa_state_t *s = &a->st[i];
        if (s->ntr > 1) qsort(s->tr, s->ntr, sizeof(*s->tr), tr_cmp);
        bool det = true;
        for (uint32_t t = 1; t < s->ntr; t++)
            if (s->tr[t].lo <= s->tr[t - 1].hi) det = false;
        free(s->dense);
        s->dense = NULL;
        if (det && s->ntr > 4) {
            s->dense = sy_malloc(256 * sizeof(uint32_t));
            memset(s->dense, 0xFF, 256 * sizeof(uint32_t));
            for (uint32_t t = 0; t < s->ntr; t++)
                for (unsigned c = s->tr[t].lo; c <= s->tr[t].hi; c++) s->dense[c] = s->tr[t].to;
        }
    }
}
