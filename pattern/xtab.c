/* pattern/xtab.c - per-field table of exact values: the deterministic shortcut
 * of a field's automaton (Ruler's ShortcutTransition, Quamina's singleton
 * fast path, generalised to many values): one probe instead of a walk. */
#include <stdlib.h>
#include <string.h>

#include "pattern/internal.h"

static void xtab_grow(xtab_t *t)
{
    uint32_t old = t->cap;
    xent_t *oe = t->e;
    t->cap = old ? old * 2 : 8;
    t->e = sy_calloc(t->cap, sizeof(*t->e));
    for (uint32_t i = 0; i < old; i++) {
        if (!oe[i].nouts) continue;
        uint32_t j = oe[i].hash & (t->cap - 1);
        while (t->e[j].nouts) j = (j + 1) & (t->cap - 1);
        t->e[j] = oe[i];
    }
    free(oe);
}

static inline bool same(const xent_t *e, uint32_t h, const char *k, size_t n)
{
    return e->hash == h && e->len == n && pat_bytes_eq(xent_key(e), k, n);
}

void xtab_add(xtab_t *t, const char *k, size_t n, uint32_t out)
{
    if ((t->n + 1) * 2 > t->cap) xtab_grow(t);
    uint32_t h = xtab_hash(k, n);
    uint32_t j = h & (t->cap - 1);
    while (t->e[j].nouts && !same(&t->e[j], h, k, n)) j = (j + 1) & (t->cap - 1);
    xent_t *e = &t->e[j];
    if (!e->nouts) {
        e->len = (uint32_t)n;
        e->hash = h;
        if (n <= XTAB_INLINE) memcpy(e->inl, k, n);
        else e->key = sy_strndup(k, n);
        e->out0 = out;
        e->nouts = 1;
        t->n++;
        return;
    }
    const uint32_t *o = xent_outs(e);
    for (uint32_t i = 0; i < e->nouts; i++)
        if (o[i] == out) return;
    if (e->nouts == 1) {
        pat_grow((void **)&e->outs, &e->capouts, 2, sizeof(uint32_t));
        e->outs[0] = e->out0;
    }
    pat_grow((void **)&e->outs, &e->capouts, e->nouts + 1, sizeof(uint32_t));
    e->outs[e->nouts++] = out;
}

const xent_t *xtab_get_slow(const xtab_t *t, const char *k, size_t n, uint32_t h)
{
    for (uint32_t j = h & (t->cap - 1); t->e[j].nouts; j = (j + 1) & (t->cap - 1))
        if (same(&t->e[j], h, k, n)) return &t->e[j];
    return NULL;
}

void xtab_free(xtab_t *t)
{
    for (uint32_t i = 0; i < t->cap; i++) {
        free(t->e[i].key);
        free(t->e[i].outs);
    }
    free(t->e);
    memset(t, 0, sizeof(*t));
}

void xtab_seal(xtab_t *t)
{
    t->single = NULL;
    if (t->n != 1) return;
    for (uint32_t i = 0; i < t->cap; i++)
        if (t->e[i].nouts) t->single = &t->e[i];
}
