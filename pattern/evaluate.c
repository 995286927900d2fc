/* pattern/evaluate.c - run the flattened fields through their paths' automata,
 * collect condition hits, and check the candidate sub-rules with array
 * consistency and exists:false. */
#include <stdlib.h>
#include <string.h>

#include "pattern/internal.h"

#define NONE UINT32_MAX
#define BACKTRACK_BUDGET 100000

static void fresh_zero(uint32_t **p, uint32_t *cap, uint32_t need)
{
    free(*p);
    *p = sy_calloc(need ? need : 1, sizeof(uint32_t));
    if (cap) *cap = need ? need : 1;
}

void pat_scratch_prepare(const snapshot_t *s, scratch_t *sc)
{
    if (sc->gen == s->gen && sc->st_stamp) return;
    sc->gen = s->gen;
    sc->epoch = sc->tick = sc->ftick = 0;
    fresh_zero(&sc->st_stamp, &sc->capst, s->nfa.n);
    fresh_zero(&sc->cur, NULL, s->nfa.n);
    fresh_zero(&sc->nxt, NULL, s->nfa.n);
    fresh_zero(&sc->cond_stamp, &sc->capconds, s->nconds);
    fresh_zero(&sc->cond_head, NULL, s->nconds);
    fresh_zero(&sc->sub_stamp, &sc->capsubs, s->nsubs);
    fresh_zero(&sc->sub_count, NULL, s->nsubs);
    fresh_zero(&sc->rule_stamp, &sc->caprules, s->nrules);
    fresh_zero(&sc->group_stamp, &sc->capgroups, s->ngroups);
}

void pat_scratch_free(scratch_t *sc)
{
    if (!sc) return;
    free(sc->fields);
    free(sc->trails);
    free(sc->tstack);
    free(sc->buf);
    free(sc->path);
    free(sc->st_stamp);
    free(sc->cur);
    free(sc->nxt);
    free(sc->cond_stamp);
    free(sc->cond_head);
    free(sc->sub_stamp);
    free(sc->sub_count);
    free(sc->rule_stamp);
    free(sc->group_stamp);
    free(sc->hit_field);
    free(sc->hit_next);
    free(sc->cands);
    free(sc->chosen);
    free(sc);
}

/* ---------------------------------------------------------------- hits */
typedef struct {
    const snapshot_t *s;
    scratch_t *sc;
    sy_match_cb cb;
    void *u;
    int matched;
    uint32_t field;
    uint32_t ftick;  /* group stamp for this field */
    uint32_t tick;   /* state stamp of the current step */
} run_t;

static void hit(run_t *r, uint32_t cid)
{
    scratch_t *sc = r->sc;
    const snapshot_t *s = r->s;
    const cond_t *c0 = &s->conds[cid];
    if (c0->single) {
        /* one-condition sub-rule: nothing to combine, report at once */
        if (sc->rule_stamp[c0->rule] != sc->epoch) {
            sc->rule_stamp[c0->rule] = sc->epoch;
            r->matched++;
            if (r->cb) r->cb(s->rule_ids[c0->rule], r->u);
        }
        return;
    }
    if (sc->cond_stamp[cid] != sc->epoch) {
        sc->cond_stamp[cid] = sc->epoch;
        sc->cond_head[cid] = NONE;
        const cond_t *c = &s->conds[cid];
        if (c->required) {
            uint32_t sub = c->sub;
            if (sc->sub_stamp[sub] != sc->epoch) {
                sc->sub_stamp[sub] = sc->epoch;
                sc->sub_count[sub] = 0;
            }
            if (++sc->sub_count[sub] == s->subs[sub].nreq) {
                pat_grow((void **)&sc->cands, &sc->capcands, sc->ncands + 1, sizeof(uint32_t));
                sc->cands[sc->ncands++] = sub;
            }
        }
    } else if (sc->cond_head[cid] != NONE && sc->hit_field[sc->cond_head[cid]] == r->field) {
        return;
    }
    if (sc->nhits + 1 > sc->caphits) {
        uint32_t cap = sc->caphits;
        pat_grow((void **)&sc->hit_field, &cap, sc->nhits + 1, sizeof(uint32_t));
        sc->hit_next = sy_realloc(sc->hit_next, cap * sizeof(uint32_t));
        sc->caphits = cap;
    }
    sc->hit_field[sc->nhits] = r->field;
    sc->hit_next[sc->nhits] = sc->cond_head[cid];
    sc->cond_head[cid] = sc->nhits++;
}

static inline void fire(run_t *r, const uint32_t *o, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        if (o[i] & NFA_NEG) r->sc->group_stamp[o[i] & ~NFA_NEG] = r->ftick;
        else hit(r, o[i]);
    }
}

static inline void enter(run_t *r, uint32_t *set, uint32_t *n, uint32_t st)
{
    scratch_t *sc = r->sc;
    if (sc->st_stamp[st] == r->tick) return;
    sc->st_stamp[st] = r->tick;
    set[(*n)++] = st;
    const nfa_state_t *x = &r->s->nfa.st[st];
    if (x->npout) fire(r, x->pout, x->npout);
    for (uint32_t e = 0; e < x->neps; e++) enter(r, set, n, x->eps[e]);
}


static void new_tick(run_t *r)
{
    scratch_t *sc = r->sc;
    if (++sc->tick == 0) {
        memset(sc->st_stamp, 0, sc->capst * sizeof(uint32_t));
        sc->tick = 1;
    }
    r->tick = sc->tick;
}

/* Run bytes (forward, or backward when rev) from root. */
static void run_nfa(run_t *r, uint32_t root, const uint8_t *b, size_t n, bool rev)
{
    scratch_t *sc = r->sc;
    const nfa_state_t *st = r->s->nfa.st;
    uint32_t *cur = sc->cur, *nxt = sc->nxt, ncur = 0, nnxt;
    new_tick(r);
    enter(r, cur, &ncur, root);
    for (size_t i = 0; i < n && ncur; i++) {
        uint8_t c = rev ? b[n - 1 - i] : b[i];
        if (ncur == 1) {
            /* fast path: one live state, deterministic step */
            const nfa_state_t *x = &st[cur[0]];
            uint32_t to = NONE;
            bool multi = false;
            if (x->dense) {
                to = x->dense[c];
            } else {
                for (uint32_t t = 0; t < x->ntr; t++) {
                    const nfa_tr_t *tr = &x->tr[t];
                    if (c < tr->lo) break;
                    if (c <= tr->hi) {
                        if (to != NONE) {
                            multi = true;
                            break;
                        }
                        to = tr->to;
                    }
                }
            }
            if (!multi) {
                if (to == NONE) {
                    ncur = 0;
                    break;
                }
                const nfa_state_t *y = &st[to];
                if (!y->neps) {
                    cur[0] = to;
                    if (y->npout) fire(r, y->pout, y->npout);
                    continue;
                }
            }
        }
        new_tick(r);
        nnxt = 0;
        for (uint32_t k = 0; k < ncur; k++) {
            const nfa_state_t *x = &st[cur[k]];
            if (x->dense) {
                uint32_t to = x->dense[c];
                if (to != NONE) enter(r, nxt, &nnxt, to);
                continue;
            }
            for (uint32_t t = 0; t < x->ntr; t++) {
                const nfa_tr_t *tr = &x->tr[t];
                if (c < tr->lo) break;
                if (c <= tr->hi) enter(r, nxt, &nnxt, tr->to);
            }
        }
        uint32_t *tmp = cur;
        cur = nxt;
        nxt = tmp;
        ncur = nnxt;
    }
    for (uint32_t k = 0; k < ncur; k++)
        if (st[cur[k]].nout) fire(r, st[cur[k]].out, st[cur[k]].nout);
}

static void run_dfa(run_t *r, const dfa_t *d, const uint8_t *b, size_t n, bool rev)
{
    uint32_t st = 0;
    const uint32_t *next = d->next;
    if (d->pout_off[1] > d->pout_off[0]) fire(r, d->pout + d->pout_off[0], d->pout_off[1] - d->pout_off[0]);
    for (size_t i = 0; i < n; i++) {
        uint8_t c = rev ? b[n - 1 - i] : b[i];
        st = next[(size_t)st * 256 + c];
        if (st == NONE) return;
        uint32_t a = d->pout_off[st], z = d->pout_off[st + 1];
        if (z > a) fire(r, d->pout + a, z - a);
    }
    uint32_t a = d->out_off[st], z = d->out_off[st + 1];
    if (z > a) fire(r, d->out + a, z - a);
}

static inline void run_fwd(run_t *r, const path_t *p, const uint8_t *b, size_t n)
{
    if (p->dfwd.n) run_dfa(r, &p->dfwd, b, n, false);
    else run_nfa(r, p->fwd, b, n, false);
}

static void be(uint64_t v, uint8_t *o, int w)
{
    for (int i = w - 1; i >= 0; i--) {
        o[i] = (uint8_t)v;
        v >>= 8;
    }
}

static void match_field(run_t *r, const field_t *f)
{
    const path_t *p = &r->s->paths[f->path];
    const uint8_t *v = (const uint8_t *)f->v;
    uint8_t key[17];
    r->ftick = ++r->sc->ftick;
    if (r->ftick == 0) {
        memset(r->sc->group_stamp, 0, r->sc->capgroups * sizeof(uint32_t));
        r->ftick = r->sc->ftick = 1;
    }
    const xent_t *e = xtab_get_h(&p->exact, f->v, f->vlen, f->vhash);
    if (e) fire(r, xent_outs(e), e->nouts);
    if (p->fwd_live) run_fwd(r, p, v, f->vlen);
    if (f->type == FV_NUM && p->need_numkey) {
        uint64_t k;
        if (pat_num_key(f->v, f->vlen, &k)) {
            key[0] = 1;
            be(k, key + 1, 8);
            e = xtab_get(&p->exact, (const char *)key, 9);
            if (e) fire(r, xent_outs(e), e->nouts);
            if (p->fwd_live) run_fwd(r, p, key, 9);
        }
    }
    if (f->type == FV_STR && p->need_ip) {
        int w = pat_ip_parse(f->v + 1, f->vlen - 2, key + 1);
        if (w) {
            key[0] = w == 4 ? 2 : 3;
            run_fwd(r, p, key, (size_t)w + 1);
        }
    }
    if (f->type == FV_STR && p->has_rev) {
        if (p->drev.n) run_dfa(r, &p->drev, v, f->vlen, true);
        else run_nfa(r, p->rev, v, f->vlen, true);
    }
    for (uint32_t g = 0; g < p->ngroups; g++)
        if (r->sc->group_stamp[p->groups[g]] != r->ftick) hit(r, r->s->group_cond[p->groups[g]]);
    for (uint32_t x = 0; x < p->nexists; x++) hit(r, p->exists_true[x]);
}

/* --------------------------------------------------- sub-rule checking */
static bool compatible(const scratch_t *sc, const field_t *a, const field_t *b)
{
    uint32_t n = a->trail_len < b->trail_len ? a->trail_len : b->trail_len;
    if (n == 0) return true; /* not both inside arrays */
    const trail_t *x = sc->trails + a->trail_off, *y = sc->trails + b->trail_off;
    for (uint32_t i = 0; i < n; i++) {
        if (x[i].arr != y[i].arr) return true;
        if (x[i].idx != y[i].idx) return false;
    }
    return true;
}

static bool compatible_all(const scratch_t *sc, const uint32_t *chosen, uint32_t n, uint32_t f)
{
    for (uint32_t i = 0; i < n; i++)
        if (chosen[i] != NONE && !compatible(sc, &sc->fields[chosen[i]], &sc->fields[f]))
            return false;
    return true;
}

/* No leaf at path that is compatible with the chosen fields. */
static bool absent(const scratch_t *sc, uint32_t path, const uint32_t *chosen, uint32_t n)
{
    uint32_t lo = 0, hi = sc->nfields;
    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;
        if (sc->fields[mid].path < path) lo = mid + 1;
        else hi = mid;
    }
    for (uint32_t f = lo; f < sc->nfields && sc->fields[f].path == path; f++)
        if (compatible_all(sc, chosen, n, f)) return false;
    return true;
}

static bool assign(const snapshot_t *s, scratch_t *sc, const sub_t *sub, uint32_t k)
{
    if (k == sub->ncond) return true;
    if (sc->budget == 0) return false;
    sc->budget--;
    uint32_t cid = sub->cond_off + k;
    const cond_t *c = &s->conds[cid];
    if (sc->cond_stamp[cid] == sc->epoch) {
        for (uint32_t h = sc->cond_head[cid]; h != NONE; h = sc->hit_next[h]) {
            uint32_t f = sc->hit_field[h];
            if (!compatible_all(sc, sc->chosen, k, f)) continue;
            sc->chosen[k] = f;
            if (assign(s, sc, sub, k + 1)) return true;
        }
    }
    if (c->absent_ok && absent(sc, c->path, sc->chosen, k)) {
        sc->chosen[k] = NONE;
        return assign(s, sc, sub, k + 1);
    }
    return false;
}

static bool check_sub(const snapshot_t *s, scratch_t *sc, uint32_t sid)
{
    const sub_t *sub = &s->subs[sid];
    pat_grow((void **)&sc->chosen, &sc->capchosen, sub->ncond + 1, sizeof(uint32_t));
    sc->budget = BACKTRACK_BUDGET;
    return assign(s, sc, sub, 0);
}

static int report(const snapshot_t *s, scratch_t *sc, uint32_t sid, sy_match_cb cb, void *u)
{
    uint32_t rule = s->subs[sid].rule;
    if (sc->rule_stamp[rule] == sc->epoch) return 0;
    if (!check_sub(s, sc, sid)) return 0;
    sc->rule_stamp[rule] = sc->epoch;
    if (cb) cb(s->rule_ids[rule], u);
    return 1;
}

int pat_match_fields(const snapshot_t *s, scratch_t *sc, sy_match_cb cb, void *u)
{
    if (++sc->epoch == 0) {
        sc->gen = 0; /* force a reset of every stamp array */
        pat_scratch_prepare(s, sc);
        sc->epoch = 1;
    }
    sc->nhits = sc->ncands = 0;
    run_t r = {s, sc, cb, u, 0, 0, 0, 0};
    for (uint32_t i = 0; i < sc->nfields; i++) {
        r.field = i;
        match_field(&r, &sc->fields[i]);
    }
    int matched = r.matched;
    for (uint32_t i = 0; i < sc->ncands; i++) matched += report(s, sc, sc->cands[i], cb, u);
    for (uint32_t i = 0; i < s->nalways; i++) matched += report(s, sc, s->always[i], cb, u);
    return matched;
}
