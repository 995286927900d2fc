/* pattern/internal.h - internals of the pattern compiler and matcher. */
#ifndef SY_PATTERN_INTERNAL_H
#define SY_PATTERN_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pattern/pattern.h"

/* Grow *p (element size es) so that it holds at least need elements. */
void pat_grow_slow(void **p, uint32_t *cap, uint32_t need, size_t es);
static inline void pat_grow(void **p, uint32_t *cap, uint32_t need, size_t es)
{
    if (need > *cap) pat_grow_slow(p, cap, need, es);
}

/* Equality of short byte strings without a call into libc. */
static inline bool pat_bytes_eq(const char *a, const char *b, size_t n)
{
    uint64_t x, y, u, v;
    if (n >= 8 && n <= 16) {
        __builtin_memcpy(&x, a, 8);
        __builtin_memcpy(&y, b, 8);
        __builtin_memcpy(&u, a + n - 8, 8);
        __builtin_memcpy(&v, b + n - 8, 8);
        return ((x ^ y) | (u ^ v)) == 0;
    }
    if (n >= 4 && n < 8) {
        uint32_t p, q, r, t;
        __builtin_memcpy(&p, a, 4);
        __builtin_memcpy(&q, b, 4);
        __builtin_memcpy(&r, a + n - 4, 4);
        __builtin_memcpy(&t, b + n - 4, 4);
        return ((p ^ q) | (r ^ t)) == 0;
    }
    if (n < 4) {
        for (size_t i = 0; i < n; i++)
            if (a[i] != b[i]) return false;
        return true;
    }
    return __builtin_memcmp(a, b, n) == 0;
}

#define BUS_HASH_INIT 2166136261u
/* Hash of one path segment (no dots), continued from h. */
static inline uint32_t pat_seg_hash(uint32_t h, const char *s, size_t n)
{
    const uint64_t K = 0x9E3779B97F4A7C15ull;
    uint64_t x = h, w;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __builtin_memcpy(&w, s + i, 8);
        x = (x ^ w) * K;
        x ^= x >> 29;
    }
    /* tail of 0-7 bytes with fixed-size loads (no call to memcpy) */
    size_t r = n - i;
    unsigned sh = 0;
    w = 0;
    if (r >= 4) {
        uint32_t t;
        __builtin_memcpy(&t, s + i, 4);
        w = t;
        i += 4;
        r -= 4;
        sh = 32;
    }
    if (r >= 2) {
        uint16_t t;
        __builtin_memcpy(&t, s + i, 2);
        w |= (uint64_t)t << sh;
        i += 2;
        r -= 2;
        sh += 16;
    }
    if (r) w |= (uint64_t)(uint8_t)s[i] << sh;
    x = (x ^ w ^ ((uint64_t)n << 56)) * K;
    return (uint32_t)(x ^ (x >> 32));
}

/* ------------------------------------------------------------ JSON tree
 * A small JSON parser for patterns: keeps number lexemes, unescapes
 * strings, and applies "last duplicate key wins" in objects. */
typedef enum { PJ_NULL, PJ_TRUE, PJ_FALSE, PJ_NUM, PJ_STR, PJ_ARR, PJ_OBJ } pj_type_t;
typedef struct pj pj_t;
struct pj {
    pj_type_t t;
    char *s;        /* PJ_STR: unescaped bytes (NUL-terminated); PJ_NUM: lexeme */
    size_t n;
    pj_t **kids;    /* PJ_ARR / PJ_OBJ values */
    char **keys;    /* PJ_OBJ keys (unescaped, NUL-terminated) */
    size_t *klens;
    size_t nk, cap;
};
pj_t *pj_parse(const char *s, size_t len, char *errbuf, size_t errlen);
void pj_free(pj_t *v);

/* Decode a JSON string body (between the quotes, escapes included) into
 * out (capacity >= n). Returns the decoded length or -1. */
long pat_json_unescape(const char *in, size_t n, char *out);
/* Length of a valid JSON number at s (0 if none). */
size_t pat_json_number_len(const char *s, size_t n);

/* ---------------------------------------------------------- numbers, IPs */
/* Order-preserving 64-bit key of a number lexeme; false when the number is
 * not exactly representable as a finite binary64 (Ruler's rule). */
bool pat_num_key(const char *lex, size_t n, uint64_t *key);
uint64_t pat_double_key(double d);
/* IP address text to bytes: 4 for IPv4, 16 for IPv6, 0 if not an address. */
int pat_ip_parse(const char *s, size_t n, uint8_t out[16]);

/* ------------------------------------------------------------ pattern IR */
typedef enum {
    VM_EXACT,      /* bytes: quoted string, number lexeme or literal */
    VM_NUMKEY,     /* numeric range over keys [lo, hi] */
    VM_PREFIX,     /* bytes: '"' + prefix */
    VM_SUFFIX,     /* bytes: suffix + '"' (matched on the reversed value) */
    VM_EIC,        /* equals-ignore-case: s = unquoted operand */
    VM_PREFIX_EIC,
    VM_SUFFIX_EIC,
    VM_WILDCARD,   /* s = unquoted operand with escapes */
    VM_CIDR,       /* ip range, width 4 or 16 */
    VM_EXISTS_TRUE,
} vm_kind_t;

typedef struct {
    vm_kind_t k;
    char *s;
    size_t n;
    uint64_t lo, hi;          /* VM_NUMKEY */
    uint8_t ip_lo[16], ip_hi[16];
    int ip_w;                 /* VM_CIDR: 4 or 16 */
} vm_t;

/* One field condition of a sub-rule: OR of positive matchers, anything-but
 * groups, and optionally "absent" (exists:false). */
typedef struct {
    char *path;
    vm_t *pos;
    uint32_t npos, cappos;
    vm_t **neg;               /* anything-but groups: each a list of inner matchers */
    uint32_t *nneg;
    uint32_t ngroups, capgroups;
    bool absent_ok;
} cond_ir_t;

typedef struct {
    cond_ir_t *conds;
    uint32_t n, cap;
} subrule_ir_t;

typedef struct {
    subrule_ir_t *subs;
    uint32_t n, cap;
} rule_ir_t;

/* Compile a pattern into its DNF ($or expanded). Returns 0 or SY_E_INVALID
 * with reason (AWS's wording, without the "Event pattern is not valid"
 * preamble) in msg. */
int pat_pattern_compile(sy_pattern_kind_t kind, const char *pattern, size_t len, rule_ir_t *out,
                        char *msg, size_t msglen);
void pat_rule_ir_free(rule_ir_t *r);
/* Same, with the error in AWS's shape. */
int pat_pattern_compile_err(sy_pattern_kind_t kind, const char *pattern, size_t len, rule_ir_t *out,
                            sy_err_t *err);
/* Parse operators of one value array into c (used by pattern.c). */
int pat_pattern_values(sy_pattern_kind_t kind, const pj_t *arr, cond_ir_t *c, char *msg,
                       size_t msglen);
void pat_vm_free(vm_t *v);

/* ------------------------------------------------------------------- NFA
 * Byte NFA with range transitions, epsilon moves, end-of-input outputs and
 * on-entry (prefix) outputs. Outputs are uint32: bit 31 set = an
 * anything-but group id, else a condition id. */
#define NFA_NEG 0x80000000u
typedef struct {
    uint8_t lo, hi;
    uint32_t to;
} nfa_tr_t;

typedef struct {
    uint32_t *dense;  /* 256 entries when deterministic and wide; UINT32_MAX = none */
    nfa_tr_t *tr;
    uint32_t ntr, neps, npout, nout;
    uint32_t *pout;   /* fire on entry */
    uint32_t *out;    /* fire at end of input */
    uint32_t *eps;
    uint32_t captr, capeps, cappout, capout;
    bool share;       /* part of the shared trie */
} nfa_state_t;

typedef struct {
    nfa_state_t *st;
    uint32_t n, cap;
} nfa_t;

uint32_t nfa_new_state(nfa_t *a, bool share);
void nfa_free(nfa_t *a);
/* Add a matcher (already lowered to bytes) rooted at root. */
void nfa_add_vm(nfa_t *a, uint32_t fwd_root, uint32_t rev_root, const vm_t *vm, uint32_t out);
void nfa_freeze(nfa_t *a);

/* A DFA built from a field's NFA when small enough: next[state * 256 + byte]
 * (UINT32_MAX = dead), outputs on entry (prefix) and at end of input. */
typedef struct {
    uint32_t *next;
    uint32_t n;
    uint32_t *pout_off, *out_off; /* n + 1 offsets */
    uint32_t *pout, *out;
    uint32_t npout, nout;
} dfa_t;

#define DFA_MAX_STATES 2048
bool dfa_build(const nfa_t *a, uint32_t root, dfa_t *d, uint32_t max_states);
void dfa_free(dfa_t *d);

/* --------------------------------------------------------------- matcher */
typedef struct {
    uint32_t path, sub, rule;
    bool required, absent_ok;
    bool single;      /* the sub-rule's only condition: a hit is a match */
} cond_t;

typedef struct {
    uint32_t rule, cond_off, ncond, nreq;
} sub_t;

/* The field-path layer: a trie of path segments kept in one hash table,
 * keyed by (parent node, segment). Node 0 is the root. */
typedef struct {
    char *seg;
    uint32_t len, hash;
    uint32_t parent, node;
    int32_t path;     /* -1: only a prefix of used paths */
} path_slot_t;

/* exact values of one field: value bytes (or 0x01 + 8-byte number key) ->
 * outputs. Short keys and a single output live inside the entry, so a probe
 * touches one cache line. */
#define XTAB_INLINE 16
typedef struct {
    uint32_t hash, len, nouts, out0;  /* nouts == 0: empty slot */
    char inl[XTAB_INLINE];
    char *key;                        /* len > XTAB_INLINE */
    uint32_t *outs;                   /* nouts > 1 */
    uint32_t capouts;
} xent_t;

typedef struct {
    xent_t *e;
    uint32_t n, cap;
    const xent_t *single;  /* the only entry, when n == 1 (no hashing needed) */
} xtab_t;

static inline const char *xent_key(const xent_t *e)
{
    return e->len <= XTAB_INLINE ? e->inl : e->key;
}

static inline const uint32_t *xent_outs(const xent_t *e)
{
    return e->nouts == 1 ? &e->out0 : e->outs;
}

void xtab_add(xtab_t *t, const char *k, size_t n, uint32_t out);
const xent_t *xtab_get_slow(const xtab_t *t, const char *k, size_t n, uint32_t h);
static inline uint32_t xtab_hash(const char *k, size_t n)
{
    return pat_seg_hash(BUS_HASH_INIT, k, n);
}
/* Bring the first probe slot into cache ahead of the lookup. */
static inline void xtab_prefetch(const xtab_t *t, uint32_t h)
{
    if (t->n > 1) __builtin_prefetch(&t->e[h & (t->cap - 1)]);
}
static inline const xent_t *xtab_get_h(const xtab_t *t, const char *k, size_t n, uint32_t h)
{
    if (t->single)
        return t->single->len == n && pat_bytes_eq(xent_key(t->single), k, n) ? t->single
                                                                                    : NULL;
    return t->n ? xtab_get_slow(t, k, n, h) : NULL;
}
static inline const xent_t *xtab_get(const xtab_t *t, const char *k, size_t n)
{
    return t->n > 1 ? xtab_get_h(t, k, n, xtab_hash(k, n)) : xtab_get_h(t, k, n, 0);
}
/* Call once the table is complete. */
void xtab_seal(xtab_t *t);
void xtab_free(xtab_t *t);

typedef struct {
    uint32_t fwd, rev;          /* NFA roots */
    xtab_t exact;               /* exact values: the automaton's deterministic shortcut */
    dfa_t dfwd, drev;           /* DFAs of fwd/rev when built (n > 0) */
    bool has_rev, need_numkey, need_ip, fwd_live;
    uint32_t *groups;           /* anything-but group ids on this path */
    uint32_t ngroups, capgroups;
    uint32_t *exists_true;      /* cond ids */
    uint32_t nexists, capexists;
} path_t;

typedef struct snapshot {
    nfa_t nfa;
    path_t *paths;
    uint32_t npaths, cappaths;
    path_slot_t *slots;         /* open addressing, power of two */
    uint32_t nslots, nused, nnodes;
    uint64_t *node_lens;        /* per node: bit (len & 63) set for each child segment */
    uint32_t capnode_lens;
    cond_t *conds;
    uint32_t nconds, capconds;
    uint32_t *group_cond;
    uint32_t ngroups, capgroups;
    sub_t *subs;
    uint32_t nsubs, capsubs;
    uint32_t *always;           /* subs without required conditions */
    uint32_t nalways, capalways;
    char **rule_ids;
    uint32_t nrules;
    uint64_t gen;
} snapshot_t;

typedef struct {
    const rule_ir_t *ir;
    const char *id;
} rule_src_t;

/* dfa_limit: largest DFA built per field (0: always run the NFA). */
snapshot_t *pat_snapshot_build(const rule_src_t *rules, uint32_t n, uint64_t gen,
                               uint32_t dfa_limit);
void pat_snapshot_free(snapshot_t *s);
/* Find segment seg under node parent; NULL when no pattern uses it. */
static inline const path_slot_t *pat_path_child(const snapshot_t *s, uint32_t parent,
                                                const char *seg, size_t len);

static inline const path_slot_t *pat_path_child(const snapshot_t *s, uint32_t parent,
                                                const char *seg, size_t len)
{
    if (!((s->node_lens[parent] >> (len & 63)) & 1)) return NULL;
    uint32_t h = pat_seg_hash(parent, seg, len), mask = s->nslots - 1;
    for (uint32_t i = h & mask;; i = (i + 1) & mask) {
        const path_slot_t *sl = &s->slots[i];
        if (!sl->seg) return NULL;
        if (sl->hash == h && sl->parent == parent && sl->len == len &&
            pat_bytes_eq(sl->seg, seg, len))
            return sl;
    }
}

/* SNS MessageAttributes {"n":{"Type":..,"Value":..}} as a flat JSON event
 * (caller frees), or NULL when the attributes are not a JSON object. */
char *pat_sns_attributes_event(const char *json, size_t len, size_t *outlen);

/* ------------------------------------------------------------- flattener */
enum { FV_STR, FV_NUM, FV_TRUE, FV_FALSE, FV_NULL };
typedef struct {
    uint32_t path;
    uint32_t type;
    const char *v;      /* STR: quoted bytes; NUM: lexeme; others literal */
    uint32_t vlen;
    uint32_t trail_off, trail_len;
    uint32_t vhash;     /* hash of v for the exact table (prefetched while parsing) */
} field_t;

typedef struct {
    uint32_t arr, idx;
} trail_t;

typedef struct scratch {
    uint64_t gen;       /* snapshot the stamp arrays are sized for */
    bool busy;
    field_t *fields;
    uint32_t nfields, capfields;
    trail_t *trails;
    uint32_t ntrails, captrails;
    trail_t *tstack;
    uint32_t ntstack, captstack;
    char *buf;          /* unescaped strings */
    uint32_t nbuf, capbuf;
    char *path;         /* current path */
    uint32_t npath, cappath;
    uint32_t arrays;
    /* matching */
    uint32_t epoch, tick, ftick;
    uint32_t *st_stamp, *cur, *nxt;
    uint32_t ncur, nnxt, capst;
    uint32_t *cond_stamp, *cond_head;
    uint32_t *sub_stamp, *sub_count;
    uint32_t *rule_stamp, *group_stamp;
    uint32_t capconds, capsubs, caprules, capgroups;
    uint32_t *hit_field, *hit_next;
    uint32_t nhits, caphits;
    uint32_t *cands;
    uint32_t ncands, capcands;
    uint32_t *chosen;
    uint32_t capchosen;
    uint32_t budget;
} scratch_t;

/* Flatten event (a JSON object) into sc->fields, sorted by path. */
int pat_flatten(const snapshot_t *s, scratch_t *sc, const char *json, size_t len);
/* Run matching over the flattened fields; returns matches. */
int pat_match_fields(const snapshot_t *s, scratch_t *sc, sy_match_cb cb, void *u);
void pat_scratch_prepare(const snapshot_t *s, scratch_t *sc);
void pat_scratch_free(scratch_t *sc);

#endif
