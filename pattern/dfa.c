/* pattern/dfa.c - subset construction of a field's NFA into a DFA (Quamina's
 * nfa2Dfa idea), done once per snapshot when the result stays small, so a
 * value with wildcards/ignore-case/ranges costs one table step per byte. */
#include <stdlib.h>
#include <string.h>

#include "pattern/internal.h"

#define NONE UINT32_MAX
#define DFA_MAX_WORK (8u << 20) /* transition visits; beyond this the NFA runs */

typedef struct {
    uint32_t *v;
    uint32_t n;
    uint32_t hash;
} set_t;

typedef struct {
    set_t *sets;
    uint32_t nsets, capsets;
    uint32_t *tab; /* open addressing: dfa id + 1 */
    uint32_t ntab;
} builder_t;

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static void closure_add(const nfa_t *a, uint32_t s, uint32_t **v, uint32_t *n, uint32_t *cap,
                        uint8_t *seen)
{
    if (seen[s]) return;
    seen[s] = 1;
    pat_grow((void **)v, cap, *n + 1, sizeof(uint32_t));
    (*v)[(*n)++] = s;
    for (uint32_t e = 0; e < a->st[s].neps; e++) closure_add(a, a->st[s].eps[e], v, n, cap, seen);
}

static uint32_t set_hash(const uint32_t *v, uint32_t n)
{
    return pat_seg_hash(BUS_HASH_INIT, (const char *)v, n * sizeof(uint32_t));
}

/* id of the set (sorted), adding it when new; *added tells which */
static uint32_t intern(builder_t *b, uint32_t *v, uint32_t n, bool *added)
{
    uint32_t h = set_hash(v, n);
    uint32_t mask = b->ntab - 1;
    uint32_t i = h & mask;
    for (; b->tab[i]; i = (i + 1) & mask) {
        set_t *s = &b->sets[b->tab[i] - 1];
        if (s->hash == h && s->n == n && !memcmp(s->v, v, n * sizeof(uint32_t))) {
            *added = false;
            free(v);
            return b->tab[i] - 1;
        }
    }
    pat_grow((void **)&b->sets, &b->capsets, b->nsets + 1, sizeof(set_t));
    b->sets[b->nsets] = (set_t){v, n, h};
    b->tab[i] = ++b->nsets;
    *added = true;
    return b->nsets - 1;
}

static void outs_union(const nfa_t *a, const set_t *s, bool entry, uint32_t **o, uint32_t *n,
                       uint32_t *cap)
{
    uint32_t first = *n; /* dedupe within this state's outputs only */
    for (uint32_t k = 0; k < s->n; k++) {
        const nfa_state_t *x = &a->st[s->v[k]];
        const uint32_t *src = entry ? x->pout : x->out;
        uint32_t cnt = entry ? x->npout : x->nout;
        for (uint32_t j = 0; j < cnt; j++) {
            bool dup = false;
            for (uint32_t q = first; q < *n && !dup; q++) dup = (*o)[q] == src[j];
            if (dup) continue;
            pat_grow((void **)o, cap, *n + 1, sizeof(uint32_t));
            (*o)[(*n)++] = src[j];
        }
    }
}

bool dfa_build(const nfa_t *a, uint32_t root, dfa_t *d, uint32_t max_states)
{
    builder_t b = {0};
    bool ok = true;
    uint8_t *seen = sy_calloc(a->n, 1);
    b.ntab = 1;
    while (b.ntab < max_states * 2) b.ntab *= 2;
    b.tab = sy_calloc(b.ntab, sizeof(uint32_t));
    memset(d, 0, sizeof(*d));
    uint32_t *v = NULL, n = 0, cap = 0;
    closure_add(a, root, &v, &n, &cap, seen);
    for (uint32_t k = 0; k < n; k++) seen[v[k]] = 0;
    qsort(v, n, sizeof(uint32_t), cmp_u32);
    bool added;
    intern(&b, v, n, &added);
    uint32_t capnext = 0;
    uint64_t work = 0; /* bound the construction time too, not only the size */
    for (uint32_t cur = 0; cur < b.nsets; cur++) {
        pat_grow((void **)&d->next, &capnext, (cur + 1) * 256, sizeof(uint32_t));
        for (unsigned c = 0; c < 256; c++) {
            const set_t *s = &b.sets[cur];
            uint32_t *t = NULL, tn = 0, tcap = 0;
            for (uint32_t k = 0; k < s->n; k++) {
                const nfa_state_t *x = &a->st[s->v[k]];
                work += x->ntr + 1;
                for (uint32_t j = 0; j < x->ntr; j++)
                    if (c >= x->tr[j].lo && c <= x->tr[j].hi)
                        closure_add(a, x->tr[j].to, &t, &tn, &tcap, seen);
            }
            if (!tn) {
                d->next[cur * 256 + c] = NONE;
                free(t);
                continue;
            }
            for (uint32_t k = 0; k < tn; k++) seen[t[k]] = 0;
            qsort(t, tn, sizeof(uint32_t), cmp_u32);
            uint32_t id = intern(&b, t, tn, &added);
            d->next[cur * 256 + c] = id;
            if (b.nsets > max_states || work > DFA_MAX_WORK) {
                ok = false;
                goto done;
            }
        }
    }
    d->n = b.nsets;
    d->pout_off = sy_calloc(d->n + 1, sizeof(uint32_t));
    d->out_off = sy_calloc(d->n + 1, sizeof(uint32_t));
    uint32_t capp = 0, capo = 0;
    for (uint32_t k = 0; k < d->n; k++) {
        d->pout_off[k] = d->npout;
        outs_union(a, &b.sets[k], true, &d->pout, &d->npout, &capp);
        d->out_off[k] = d->nout;
        outs_union(a, &b.sets[k], false, &d->out, &d->nout, &capo);
    }
    d->pout_off[d->n] = d->npout;
    d->out_off[d->n] = d->nout;
done:
    for (uint32_t k = 0; k < b.nsets; k++) free(b.sets[k].v);
    free(b.sets);
    free(b.tab);
    free(seen);
    if (!ok) dfa_free(d);
    return ok;
}

void dfa_free(dfa_t *d)
{
    free(d->next);
    free(d->pout_off);
    free(d->out_off);
    free(d->pout);
    free(d->out);
    memset(d, 0, sizeof(*d));
}
