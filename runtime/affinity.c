// SPDX-License-Identifier: MIT
/*
 * Stale client-ip affinity entries (see affinity.h).
 *
 * The affinity maps are shared: "affinity-tcp" remembers the clients of
 * every affinity service on TCP, keyed by client . destination.  So an
 * endpoint that left one service may still serve another, and whether an
 * entry is stale depends on its destination: the entry is stale if its
 * destination leads to no lookup in its map whose service still chooses
 * its endpoint.  The runtime follows the new ruleset as the packet path
 * does: a dispatch map ("ip daddr . meta l4proto . th dport vmap @SET",
 * or the NodePort one without the address) gives a chain; its gotos
 * lead on; a chain with "dnat ... map @affinity-P" is an affinity service
 * (a group), and the aff- chains its "numgen ... vmap" picks hold the
 * endpoints it chooses ("update @affinity-P { ... : ADDR . PORT }").
 *
 * Doing that for every entry of every map after every apply would be
 * costly, so: an old chain that the new ruleset has unchanged (same
 * fingerprint) has the same rules, and only the update rules of chains
 * gone or changed can stand for a lost endpoint.  Usually there is none
 * and nothing else is done.  Otherwise the groups of both rulesets are
 * compared: the endpoints some group lost are the suspects, and only the
 * maps holding them are dumped.  An entry whose endpoint no update rule
 * names is stale; one whose endpoint is no suspect is not; a suspect's
 * destination is followed.  A model read back from the kernel has no
 * rules: then every map is dumped and every destination followed.  Only
 * the stale entries are kept from a dump: a map may remember a million
 * clients.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>

#include "affinity.h"
#include "state.h"
#include "util.h"
#include "nl.h"
#include "tx.h"

#define FORGET_TRIES	3

static int target_cmp(const void *a, const void *b)
{
	const struct aff_target *x = a, *y = b;
	int d = strcmp(x->map, y->map);

	return d ? d : memcmp(x->data, y->data, sizeof(x->data));
}

/* The element data "update @MAP { ... : ADDR . PORT }" writes. */
static void rule_target(const struct rs_rule *r, struct aff_target *t)
{
	size_t alen = r->family == RS_IPV6 ? 16 : 4;
	uint16_t port = htons(r->port);	/* rule ports are host order */

	memset(t, 0, sizeof(*t));
	t->map = r->set;
	memcpy(t->data, r->addr, alen);
	memcpy(t->data + alen, &port, 2);
}

static bool is_update(const struct rs_rule *r)
{
	return r->kind == RS_AFFINITY_UPDATE && r->set;
}

struct tvec {
	struct aff_target *v;
	size_t n, cap;
};

static int tvec_push(struct tvec *t, const struct aff_target *x)
{
	if (VEC_RESERVE(t->v, t->n, t->cap))
		return -1;
	t->v[t->n++] = *x;
	return 0;
}

/* Sorted, without repeats. */
static void tvec_sort(struct tvec *t)
{
	size_t n = 0;

	if (t->n < 2)
		return;
	qsort(t->v, t->n, sizeof(t->v[0]), target_cmp);
	for (size_t i = 0; i < t->n; i++)
		if (!n || target_cmp(&t->v[n - 1], &t->v[i]))
			t->v[n++] = t->v[i];
	t->n = n;
}

/* The endpoints the update rules of chain c (may be NULL) write, into t. */
static int push_chain_targets(const struct rs_chain *c, struct tvec *t)
{
	for (size_t k = 0; c && k < c->nrules; k++) {
		struct aff_target x;

		if (!is_update(&c->rules[k]))
			continue;
		rule_target(&c->rules[k], &x);
		if (tvec_push(t, &x))
			return -1;
	}
	return 0;
}

/* Every target of rs. */
static int all_targets(const struct rs_ruleset *rs, struct tvec *t)
{
	for (size_t i = 0; i < rs->nchains; i++)
		if (push_chain_targets(&rs->chains[i], t))
			return -1;
	tvec_sort(t);
	return 0;
}

static bool has_dynamic(const struct rs_ruleset *rs)
{
	for (size_t i = 0; i < rs->nsets; i++)
		if (rs->sets[i].dynamic)
			return true;
	return false;
}

/* Is oc gone from new_rs, or changed?  Unknown (no fingerprint) counts as changed. */
static bool chain_changed(const struct rs_chain *oc, const struct rs_ruleset *new_rs)
{
	const struct rs_chain *nc = rs_chain_find(new_rs, oc->name);

	return !nc || !oc->fingerprint || nc->fingerprint != oc->fingerprint;
}

static bool has_kind(const struct rs_chain *c, enum rs_rule_kind kind)
{
	for (size_t k = 0; k < c->nrules; k++)
		if (c->rules[k].kind == kind)
			return true;
	return false;
}

/* Has old a chain with an update rule that new_rs has not unchanged? */
static bool update_chain_changed(const struct rs_ruleset *old, const struct rs_ruleset *new_rs)
{
	for (size_t i = 0; i < old->nchains; i++)
		if (has_kind(&old->chains[i], RS_AFFINITY_UPDATE) &&
		    chain_changed(&old->chains[i], new_rs))
			return true;
	return false;
}

static bool any_chain_changed(const struct rs_ruleset *old, const struct rs_ruleset *new_rs)
{
	for (size_t i = 0; i < old->nchains; i++)
		if (chain_changed(&old->chains[i], new_rs))
			return true;
	return false;
}

/* ---- the affinity services of a ruleset ---------------------------------- */

/* A chain that looks clients up in an affinity map, and the endpoints it chooses. */
struct group {
	const struct rs_chain *chain;
	struct aff_target *t;	/* sorted */
	size_t nt;
};

struct aff_model {
	const struct rs_ruleset *rs;
	struct group *g;		/* sorted by chain name */
	size_t ng, gcap;
	struct aff_target *all;		/* every update rule's endpoint, sorted */
	size_t nall;
	const struct rs_set **dispatch;	/* the maps destinations are looked up in */
	size_t ndispatch;
};

#define GOTO_DEPTH	4	/* dispatch -> ext- -> svc-: two steps suffice */

static uint32_t u32_key(const struct rs_elem *e)
{
	uint32_t v;

	memcpy(&v, e->key, 4);	/* numgen keys are host order */
	return v;
}

/* The first element of a numgen-keyed map whose key is not below k. */
static size_t lower_bound_u32(const struct rs_set *s, uint32_t k)
{
	size_t lo = 0, hi = s->nelems;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (u32_key(rs_elem_at(s, mid)) < k)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The endpoints the update rules of chain name write. */
static int chain_targets(const struct rs_ruleset *rs, const char *name, struct tvec *t)
{
	return push_chain_targets(name ? rs_chain_find(rs, name) : NULL, t);
}

/*
 * "numgen inc mod N offset B vmap @SET": the chains of keys B .. B+N-1
 * (modulo 2^32: the keys are sorted, the range may wrap).
 */
static int vmap_targets(const struct rs_ruleset *rs, const struct rs_rule *r, struct tvec *t)
{
	const struct rs_set *v = rs_set_find(rs, r->set);
	size_t n, start;

	if (!v || !v->verdict || v->nkey != 1 || v->key[0] != RS_F_U32 || !v->nelems)
		return 0;
	n = v->nelems;
	start = lower_bound_u32(v, r->offset);
	for (size_t k = 0; k < n; k++) {
		const struct rs_elem *e = rs_elem_at(v, (start + k) % n);

		if (u32_key(e) - r->offset >= r->mod)
			break;
		if (chain_targets(rs, e->chain, t))
			return -1;
	}
	return 0;
}

static int add_group(struct aff_model *m, const struct rs_chain *c)
{
	struct tvec t = { 0 };
	struct group *p;

	for (size_t k = 0; k < c->nrules; k++)
		if (c->rules[k].kind == RS_NUMGEN_VMAP && c->rules[k].set &&
		    vmap_targets(m->rs, &c->rules[k], &t))
			goto oom;
	tvec_sort(&t);
	if (m->ng == m->gcap) {
		size_t cap = m->gcap ? 2 * m->gcap : 16;

		if (!(p = realloc(m->g, cap * sizeof(*p))))
			goto oom;
		m->g = p;
		m->gcap = cap;
	}
	m->g[m->ng++] = (struct group){ .chain = c, .t = t.v, .nt = t.n };
	return 0;
oom:
	free(t.v);
	return -1;
}

/* Add s to a short list of sets, once. */
static int set_list_add(const struct rs_set ***v, size_t *n, const struct rs_set *s)
{
	const struct rs_set **p;

	for (size_t i = 0; i < *n; i++)
		if ((*v)[i] == s)
			return 0;
	if (!(p = realloc(*v, (*n + 1) * sizeof(*p))))
		return -1;
	*v = p;
	(*v)[(*n)++] = s;
	return 0;
}

static int add_dispatch(struct aff_model *m, const char *name)
{
	const struct rs_set *s = name ? rs_set_find(m->rs, name) : NULL;

	if (!s || !s->verdict)
		return 0;
	return set_list_add(&m->dispatch, &m->ndispatch, s);
}

static int group_sort_cmp(const void *a, const void *b)
{
	return strcmp(((const struct group *)a)->chain->name, ((const struct group *)b)->chain->name);
}

static void model_free(struct aff_model *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->ng; i++)
		free(m->g[i].t);
	free(m->g);
	free(m->all);
	free(m->dispatch);
	free(m);
}

/* rs's groups, dispatch maps and endpoints. */
static struct aff_model *model_new(const struct rs_ruleset *rs)
{
	struct aff_model *m = calloc(1, sizeof(*m));
	struct tvec all = { 0 };
	int ret;

	if (!m)
		return NULL;
	m->rs = rs;
	for (size_t i = 0; i < rs->nchains; i++) {
		const struct rs_chain *c = &rs->chains[i];

		if (has_kind(c, RS_AFFINITY_DNAT) && add_group(m, c))
			goto oom;
		for (size_t k = 0; k < c->nrules; k++) {
			const struct rs_rule *r = &c->rules[k];

			if ((r->kind == RS_DISPATCH && add_dispatch(m, r->set)) ||
			    (r->kind == RS_NODEPORT_DISPATCH && add_dispatch(m, r->set2)))
				goto oom;
		}
	}
	if (m->ng > 1)
		qsort(m->g, m->ng, sizeof(*m->g), group_sort_cmp);
	ret = all_targets(rs, &all);
	m->all = all.v;
	m->nall = all.n;
	if (ret)
		goto oom;
	return m;
oom:
	model_free(m);
	return NULL;
}

static int group_cmp(const void *key, const void *g)
{
	return strcmp(key, ((const struct group *)g)->chain->name);
}

static const struct group *find_group(const struct aff_model *m, const char *chain)
{
	return m->ng ? bsearch(chain, m->g, m->ng, sizeof(*m->g), group_cmp) : NULL;
}

static bool has_target(const struct aff_target *v, size_t n, const struct aff_target *t)
{
	return n && bsearch(t, v, n, sizeof(*t), target_cmp);
}

/* Does chain name, or a chain it goes to, choose endpoint t in t's map? */
static bool leads_to(const struct aff_model *m, const char *name, const struct aff_target *t,
		     int depth)
{
	const struct group *g = find_group(m, name);
	const struct rs_chain *c;

	if (g && has_target(g->t, g->nt, t))
		return true;
	if (depth == GOTO_DEPTH || !(c = rs_chain_find(m->rs, name)))
		return false;
	for (size_t k = 0; k < c->nrules; k++)
		if (c->rules[k].target && leads_to(m, c->rules[k].target, t, depth + 1))
			return true;
	return false;
}

/* The element of dispatch map d with key, if any. */
static const struct rs_elem *dispatch_find(const struct rs_set *d, const struct rs_elem *key)
{
	size_t lo = 0, hi = d->nelems;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct rs_elem *e = rs_elem_at(d, mid);
		int c = rs_elem_cmp(d, e, key);

		if (!c)
			return e;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/*
 * The key dispatch map d would look e's destination up with: "daddr .
 * proto . dport", or "proto . dport" (NodePorts, whatever the local
 * address).  False if d is neither kind, or of the other family.
 */
static bool dispatch_key(const struct rs_set *d, const struct rs_set *map, const struct rs_elem *e,
			 union rs_elem_buf *buf)
{
	size_t alen = map->key[0] == RS_F_IPV6 ? 16 : 4;
	struct rs_elem *key = &buf->e;

	memset(buf, 0, sizeof(*buf));
	if (d->nkey == 3 && d->key[0] == map->key[0] && d->key[1] == RS_F_PROTO &&
	    d->key[2] == RS_F_PORT) {
		memcpy(key->key, e->key + alen, alen);
		key->key[alen] = map->l4proto;
		memcpy(key->key + alen + 4, e->key + 2 * alen, 2);
		return true;
	}
	if (d->nkey == 2 && d->key[0] == RS_F_PROTO && d->key[1] == RS_F_PORT) {
		key->key[0] = map->l4proto;
		memcpy(key->key + 4, e->key + 2 * alen, 2);
		return true;
	}
	return false;
}

/* Does e's destination lead to a service that chooses endpoint t? */
static bool destination_keeps(const struct aff_model *m, const struct rs_set *map,
			      const struct rs_elem *e, const struct aff_target *t)
{
	if (!map->l4proto || map->nkey != 3)
		return true;	/* no way to tell: keep it */
	for (size_t i = 0; i < m->ndispatch; i++) {
		const struct rs_set *d = m->dispatch[i];
		const struct rs_elem *hit;
		union rs_elem_buf key;

		if (dispatch_key(d, map, e, &key) && (hit = dispatch_find(d, &key.e)) &&
		    hit->chain && leads_to(m, hit->chain, t, 0))
			return true;
	}
	return false;
}

/* ---- what to look into ---------------------------------------------------- */

static int add_map(struct aff_check *c, const struct rs_set *s)
{
	if (!s || !s->dynamic)
		return 0;	/* gone: its entries went with it */
	return set_list_add(&c->maps, &c->nmaps, s);
}

/*
 * The endpoints each group of old chose and the group of that name in new
 * does not, in the maps new still has (named by new's strings: the check
 * outlives old).
 */
static int lost_endpoints(const struct aff_model *old, const struct aff_model *new_m,
			  struct tvec *lost)
{
	for (size_t i = 0; i < old->ng; i++) {
		const struct group *og = &old->g[i];
		const struct group *ng = find_group(new_m, og->chain->name);

		for (size_t k = 0; k < og->nt; k++) {
			const struct rs_set *s = rs_set_find(new_m->rs, og->t[k].map);
			struct aff_target t = og->t[k];

			if (!s || !s->dynamic || (ng && has_target(ng->t, ng->nt, &t)))
				continue;
			t.map = s->name;
			if (tvec_push(lost, &t))
				return -1;
		}
	}
	tvec_sort(lost);
	return 0;
}

/* old has its rules: compare its groups with new's. */
static int check_models(struct aff_check *c, const struct rs_ruleset *old)
{
	struct aff_model *om = model_new(old);
	struct tvec lost = { 0 };
	int ret = -1;

	if (!om || lost_endpoints(om, c->m, &lost))
		goto out;
	for (size_t i = 0; i < lost.n; i++)
		if (add_map(c, rs_set_find(c->m->rs, lost.v[i].map)))
			goto out;
	ret = 0;
out:
	c->suspects = lost.v;
	c->nsuspects = lost.n;
	model_free(om);
	return ret;
}

static int all_maps(struct aff_check *c)
{
	const struct rs_ruleset *rs = c->m->rs;

	c->all_suspect = true;
	for (size_t i = 0; i < rs->nsets; i++)
		if (add_map(c, &rs->sets[i]))
			return -1;
	return 0;
}

int aff_check_new(const struct rs_ruleset *old, bool old_rules,
		  const struct rs_ruleset *new_rs, struct aff_check **out)
{
	struct aff_check *c = calloc(1, sizeof(*c));

	if (!c)
		goto oom;
	if (!old || !has_dynamic(old))
		goto done;	/* no affinity map remembers anyone */
	/* the common case: no chain that could stand for an endpoint changed */
	if (old_rules ? !update_chain_changed(old, new_rs) : !any_chain_changed(old, new_rs))
		goto done;
	if (!(c->m = model_new(new_rs)))
		goto oom;
	if (old_rules ? check_models(c, old) : all_maps(c))
		goto oom;
done:
	*out = c;
	return 0;
oom:
	aff_check_free(c);
	errno = ENOMEM;
	return -1;
}

bool aff_is_stale(const struct aff_check *c, const struct rs_set *map, const struct rs_elem *e)
{
	struct aff_target t = { .map = map->name };

	if (!c->m)
		return false;
	memcpy(t.data, rs_elem_data(map, e), map->data_len);
	if (!has_target(c->m->all, c->m->nall, &t))
		return true;	/* no service chooses it */
	if (!c->all_suspect && !has_target(c->suspects, c->nsuspects, &t))
		return false;	/* no service lost it */
	return !destination_keeps(c->m, map, e, &t);
}

void aff_check_free(struct aff_check *c)
{
	if (!c)
		return;
	model_free(c->m);
	free(c->maps);
	free(c->suspects);
	free(c);
}

/* The stale elements of every map, map after map, each packed as its map's. */
struct stale {
	const struct aff_check *c;
	unsigned char *v;
	size_t n;		/* elements */
	size_t len, cap;	/* bytes */
	size_t *first;		/* per map: the byte offset of its first element in v */
};

static int keep_stale(const struct rs_set *map, const struct rs_elem *e, void *arg)
{
	struct stale *st = arg;

	if (!aff_is_stale(st->c, map, e))
		return 0;
	if (st->len + map->stride > st->cap) {
		size_t cap = st->cap ? 2 * st->cap : 64 * RS_ELEM_MAX;
		unsigned char *p = realloc(st->v, cap);

		if (!p) {
			errno = ENOMEM;
			return -1;
		}
		st->v = p;
		st->cap = cap;
	}
	rs_elem_copy(map, (struct rs_elem *)(st->v + st->len), e);
	st->len += map->stride;
	st->n++;
	return 0;
}

static int dump_stale(struct nl *nl, struct stale *st)
{
	const struct aff_check *c = st->c;

	st->n = st->len = 0;
	for (size_t i = 0; i < c->nmaps; i++) {
		st->first[i] = st->len;
		if (nl_dump_elems(nl, c->m->rs->table, c->maps[i], keep_stale, st))
			return -1;
	}
	st->first[c->nmaps] = st->len;
	return 0;
}

/* One "delete element" per map that has stale elements. */
static struct tx *delete_tx(const struct stale *st)
{
	const struct aff_check *c = st->c;
	struct tx *tx = tx_new(c->m->rs->table);

	for (size_t i = 0; tx && i < c->nmaps; i++) {
		if (tx_add_del_elems(tx, c->m->rs, c->maps[i], st->v + st->first[i],
				     (st->first[i + 1] - st->first[i]) / c->maps[i]->stride)) {
			tx_free(tx);
			tx = NULL;
		}
	}
	if (!tx)
		errno = ENOMEM;
	return tx;
}

/* One round: dump, delete.  1: an entry vanished meanwhile, try again. */
static int forget_once(struct nl *nl, struct stale *st, uint32_t *genid, unsigned long *deleted,
		       const struct rs_ruleset *kmap, struct rs_ruleset **kmap_next)
{
	struct rs_ruleset *next = NULL;
	struct nl_result res;
	struct tx *tx;
	int ret = -1;

	if (dump_stale(nl, st))
		return -1;
	if (!st->n)
		return 0;
	if (!(tx = delete_tx(st)) || st_append_genid(tx, kmap, *genid, &next)) {
		tx_free(tx);
		return -1;
	}
	if (nl_send_tx(nl, tx, genid, &res) == 0) {
		*genid = res.genid;
		*deleted = st->n;
		*kmap_next = next;
		next = NULL;
		ret = 0;
	} else if (res.err == ENOENT && res.op) {
		ret = 1;
	}
	tx_free(tx);
	rs_free(next);
	return ret;
}

int aff_forget_stale(struct nl *nl, const struct aff_check *c, uint32_t *genid,
		     unsigned long *deleted, const struct rs_ruleset *kmap,
		     struct rs_ruleset **kmap_next)
{
	struct stale st = { .c = c };
	int ret = 0, err = 0;

	*deleted = 0;
	*kmap_next = NULL;
	if (!c || !c->nmaps)
		return 0;
	if (!(st.first = calloc(c->nmaps + 1, sizeof(*st.first)))) {
		errno = ENOMEM;
		return -1;
	}
	for (int i = 0; i < FORGET_TRIES; i++) {
		errno = 0;
		ret = forget_once(nl, &st, genid, deleted, kmap, kmap_next);
		err = errno;
		if (ret <= 0)
			break;
		err = ENOENT;
	}
	free(st.v);
	free(st.first);
	if (ret) {
		errno = err ? err : EIO;
		return -1;
	}
	return 0;
}
