/* pattern/compile.c - build the immutable compiled form of a rule set: the
 * field-path table, one merged NFA per path, conditions, sub-rules. A new
 * snapshot replaces the old one atomically (copy-on-write); readers keep
 * the one they started with. */
#include <stdlib.h>
#include <string.h>

#include "pattern/internal.h"

static path_slot_t *slot_find(snapshot_t *s, uint32_t parent, const char *seg, size_t len,
                              uint32_t hash)
{
    uint32_t mask = s->nslots - 1;
    for (uint32_t i = hash & mask;; i = (i + 1) & mask) {
        path_slot_t *sl = &s->slots[i];
        if (!sl->seg || (sl->hash == hash && sl->parent == parent && sl->len == len &&
                         !memcmp(sl->seg, seg, len)))
            return sl;
    }
}

static void slots_grow(snapshot_t *s)
{
    uint32_t old = s->nslots;
    path_slot_t *os = s->slots;
    s->nslots = old ? old * 2 : 64;
    s->slots = sy_calloc(s->nslots, sizeof(*s->slots));
    for (uint32_t i = 0; i < old; i++)
        if (os[i].seg) *slot_find(s, os[i].parent, os[i].seg, os[i].len, os[i].hash) = os[i];
    free(os);
}

/* Register a dot-joined path segment by segment; returns the path index. */
static uint32_t path_get(snapshot_t *s, const char *p)
{
    uint32_t node = 0;
    size_t n = strlen(p);
    for (;;) {
        const char *dot = memchr(p, '.', n);
        size_t l = dot ? (size_t)(dot - p) : n;
        if ((s->nused + 1) * 2 > s->nslots) slots_grow(s);
        uint32_t h = pat_seg_hash(node, p, l);
        path_slot_t *sl = slot_find(s, node, p, l, h);
        if (!sl->seg) {
            sl->seg = sy_strndup(p, l);
            sl->len = (uint32_t)l;
            sl->hash = h;
            sl->parent = node;
            sl->node = ++s->nnodes;
            uint32_t cap = s->capnode_lens;
            pat_grow((void **)&s->node_lens, &s->capnode_lens, s->nnodes + 1, sizeof(uint64_t));
            memset(s->node_lens + cap, 0, (s->capnode_lens - cap) * sizeof(uint64_t));
            s->node_lens[node] |= 1ull << (l & 63);
            sl->path = -1;
            s->nused++;
        }
        node = sl->node;
        if (dot) {
            p += l + 1;
            n -= l + 1;
            continue;
        }
        if (sl->path < 0) {
            pat_grow((void **)&s->paths, &s->cappaths, s->npaths + 1, sizeof(*s->paths));
            path_t *pt = &s->paths[s->npaths];
            memset(pt, 0, sizeof(*pt));
            pt->fwd = nfa_new_state(&s->nfa, true);
            pt->rev = nfa_new_state(&s->nfa, true);
            sl->path = (int32_t)s->npaths++;
        }
        return (uint32_t)sl->path;
    }
}

static void note_vm(path_t *pt, const vm_t *vm)
{
    if (vm->k == VM_NUMKEY) pt->need_numkey = true;
    if (vm->k == VM_CIDR) pt->need_ip = true;
    if (vm->k == VM_SUFFIX || vm->k == VM_SUFFIX_EIC) pt->has_rev = true;
}

/* Exact values go to the field's exact table, everything else to its NFA. */
static void add_vm(snapshot_t *s, path_t *pt, const vm_t *vm, uint32_t out)
{
    note_vm(pt, vm);
    if (vm->k == VM_EXACT) {
        xtab_add(&pt->exact, vm->s, vm->n, out);
        return;
    }
    if (vm->k == VM_NUMKEY && vm->lo == vm->hi) {
        char key[9];
        key[0] = 1;
        for (int i = 0; i < 8; i++) key[1 + i] = (char)(uint8_t)(vm->lo >> (56 - 8 * i));
        xtab_add(&pt->exact, key, 9, out);
        return;
    }
    nfa_add_vm(&s->nfa, pt->fwd, pt->rev, vm, out);
}

static void add_cond(snapshot_t *s, const cond_ir_t *c, uint32_t sub, bool required)
{
    uint32_t pid = path_get(s, c->path);
    path_t *pt = &s->paths[pid];
    pat_grow((void **)&s->conds, &s->capconds, s->nconds + 1, sizeof(*s->conds));
    uint32_t cid = s->nconds++;
    s->conds[cid] = (cond_t){pid, sub, s->subs[sub].rule, required, c->absent_ok,
                             required && s->subs[sub].ncond == 1};
    for (uint32_t i = 0; i < c->npos; i++) {
        const vm_t *vm = &c->pos[i];
        if (vm->k == VM_EXISTS_TRUE) {
            pat_grow((void **)&pt->exists_true, &pt->capexists, pt->nexists + 1, sizeof(uint32_t));
            pt->exists_true[pt->nexists++] = cid;
            continue;
        }
        add_vm(s, pt, vm, cid);
    }
    for (uint32_t g = 0; g < c->ngroups; g++) {
        pat_grow((void **)&s->group_cond, &s->capgroups, s->ngroups + 1, sizeof(uint32_t));
        uint32_t gid = s->ngroups++;
        s->group_cond[gid] = cid;
        pat_grow((void **)&pt->groups, &pt->capgroups, pt->ngroups + 1, sizeof(uint32_t));
        pt->groups[pt->ngroups++] = gid;
        for (uint32_t i = 0; i < c->nneg[g]; i++) {
            add_vm(s, pt, &c->neg[g][i], gid | NFA_NEG);
        }
    }
}

snapshot_t *pat_snapshot_build(const rule_src_t *rules, uint32_t n, uint64_t gen,
                               uint32_t dfa_limit)
{
    snapshot_t *s = sy_calloc(1, sizeof(*s));
    s->gen = gen;
    slots_grow(s);
    pat_grow((void **)&s->node_lens, &s->capnode_lens, 1, sizeof(uint64_t));
    memset(s->node_lens, 0, s->capnode_lens * sizeof(uint64_t));
    s->rule_ids = sy_calloc(n ? n : 1, sizeof(char *));
    s->nrules = n;
    for (uint32_t r = 0; r < n; r++) {
        s->rule_ids[r] = sy_strndup(rules[r].id, strlen(rules[r].id));
        const rule_ir_t *ir = rules[r].ir;
        for (uint32_t k = 0; k < ir->n; k++) {
            const subrule_ir_t *sr = &ir->subs[k];
            pat_grow((void **)&s->subs, &s->capsubs, s->nsubs + 1, sizeof(*s->subs));
            uint32_t sid = s->nsubs++;
            sub_t *sub = &s->subs[sid];
            sub->rule = r;
            sub->cond_off = s->nconds;
            sub->ncond = sr->n;
            sub->nreq = 0;
            /* required conditions first, then those that may be satisfied by absence */
            for (int pass = 0; pass < 2; pass++)
                for (uint32_t c = 0; c < sr->n; c++) {
                    bool req = !sr->conds[c].absent_ok;
                    if (req != (pass == 0)) continue;
                    add_cond(s, &sr->conds[c], sid, req);
                    if (req) s->subs[sid].nreq++;
                }
            if (s->subs[sid].nreq == 0) {
                pat_grow((void **)&s->always, &s->capalways, s->nalways + 1, sizeof(uint32_t));
                s->always[s->nalways++] = sid;
            }
        }
    }
    nfa_freeze(&s->nfa);
    for (uint32_t i = 0; i < s->npaths; i++) {
        const nfa_state_t *root = &s->nfa.st[s->paths[i].fwd];
        s->paths[i].fwd_live = root->ntr || root->neps || root->nout || root->npout;
        xtab_seal(&s->paths[i].exact);
        if (!dfa_limit) continue;
        if (s->paths[i].fwd_live) dfa_build(&s->nfa, s->paths[i].fwd, &s->paths[i].dfwd, dfa_limit);
        if (s->paths[i].has_rev) dfa_build(&s->nfa, s->paths[i].rev, &s->paths[i].drev, dfa_limit);
    }
    return s;
}

void pat_snapshot_free(snapshot_t *s)
{
    if (!s) return;
    nfa_free(&s->nfa);
    for (uint32_t i = 0; i < s->npaths; i++) {
        free(s->paths[i].groups);
        free(s->paths[i].exists_true);
        xtab_free(&s->paths[i].exact);
        dfa_free(&s->paths[i].dfwd);
        dfa_free(&s->paths[i].drev);
    }
    free(s->paths);
    for (uint32_t i = 0; i < s->nslots; i++) free(s->slots[i].seg);
    free(s->slots);
    free(s->node_lens);
    free(s->conds);
    free(s->group_cond);
    free(s->subs);
    free(s->always);
    for (uint32_t i = 0; i < s->nrules; i++) free(s->rule_ids[i]);
    free(s->rule_ids);
    free(s);
}
