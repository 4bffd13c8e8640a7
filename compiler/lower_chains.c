/* SPDX-License-Identifier: MIT */
/* The chains: one per service port (and family), the ext- chains, the fixed ones. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lower.h"
#include "util.h"

struct rs_rule *lw_add_rule(struct rs_chain *c, enum rs_rule_kind kind, int fam,
				const char *set)
{
	struct rs_rule *r = rs_add_rule(c);

	if (r) {
		r->kind = kind;
		r->family = rs_fam(fam);
		r->set = set;
	}
	return r;
}

/*
 * A chain with room for exactly nrules rules: rs_add_rule starts at 4, and
 * most service port chains have 2 (1.4 MB less to fault in at 10k services).
 */
struct rs_chain *lw_add_chain(struct lowering *l, const char *name, size_t nrules)
{
	struct rs_chain *c = rs_add_chain(l->rs, name);

	if (!c)
		return NULL;
	if (!(c->rules = malloc(nrules * sizeof(*c->rules))))
		return NULL;
	c->cap = nrules;
	return c;
}

/* How many rules add_mark_rules adds. */
static size_t mark_rules(const struct lowering *l, int fam)
{
	const struct fam_sets *f = &l->fam[fam];

	if (l->cfg->masq & SVCC_MASQ_ALL)
		return 1;
	return lw_detects_pods(l, fam) + (f->masq_from >= 0);
}

/* The pods' interface, in a rule: its name, and whether it is a prefix. */
static void put_iface(const struct lowering *l, struct rs_rule *r)
{
	memcpy(r->addr, l->pod_iface, sizeof(r->addr));
	r->mod = l->pod_iface_prefix;
}

/* How many rules add_dnat adds. */
static size_t dnat_rules(const struct group *g)
{
	return g->affinity ? 2 : 1;
}

/*
 * Masquerade marks, per the policy, for traffic to a vip: one chain per
 * family, which the services chain jumps to for a destination in
 * cluster-ips, as kube-proxy marks on "daddr VIP" only.  Not in each
 * service port's chain: a rule there per service was ~20% of the kernel's
 * commit of a full load.
 */
static const char *mark_chain_name(int fam)
{
	return fam == FAM6 ? "mark-cluster-ips6" : "mark-cluster-ips";
}

static int add_mark_rules(struct lowering *l, struct rs_chain *c, int fam)
{
	const struct fam_sets *f = &l->fam[fam];
	struct rs_rule *r;

	if (l->cfg->masq & SVCC_MASQ_ALL) {
		if (!(r = lw_add_rule(c, RS_MARK, fam, NULL)))
			return -1;
		r->mark = RS_MARK_MASQ;
		return 0;
	}
	if (f->pod_cidrs >= 0) {
		if (!(r = lw_add_rule(c, RS_MARK_UNLESS_SADDR_IN, fam, lw_set_name(l, f->pod_cidrs))))
			return -1;
		r->mark = RS_MARK_MASQ;
	} else if (lw_detects_pods(l, fam)) {
		if (!(r = lw_add_rule(c, RS_MARK_UNLESS_IIF, fam, NULL)))
			return -1;
		r->mark = RS_MARK_MASQ;
		put_iface(l, r);
	}
	if (f->masq_from >= 0) {
		if (!(r = lw_add_rule(c, RS_MARK_IF_SADDR_IN, fam, lw_set_name(l, f->masq_from))))
			return -1;
		r->mark = RS_MARK_MASQ;
	}
	return 0;
}

uint16_t lw_target_port(const struct sport_port *p, const struct endpoint *e)
{
	for (size_t i = 0; p->name && i < e->nports; i++)
		if (!strcmp(e->ports[i].name, p->name))
			return e->ports[i].port;
	return p->target;
}

/* The endpoint map (set index) of a group. */
static int group_map(const struct lowering *l, const struct sport *sp, const struct group *g)
{
	return l->fam[sp->fam].shard[proto_idx(sp->port.proto)][g->shard];
}

static size_t data_len(int fam)
{
	return fam == FAM6 ? 20 : 8;	/* address . port */
}

/*
 * Endpoint map elements: keys B .. B+nkeys-1, endpoint i taking weight(i)
 * keys.  Rounds interleave the heavier endpoints (a, b, c, a, b, a, …), so
 * that numgen's round robin spreads them instead of sending bursts.
 *
 * Their data (address . port) is made here, while the group's endpoints
 * are in the cache, into l->elem_data; the elements themselves are made
 * once the group is placed (lw_add_endpoint_elems).
 */
int lw_endpoint_data(struct lowering *l, const struct sport *sp, struct group *g,
		     const struct endpoint *const *eps)
{
	size_t len = data_len(sp->fam), need = l->nelem_data + g->nkeys * len;
	uint32_t made = 0;
	uint8_t *d;

	if (need > l->elem_data_cap) {
		size_t cap = 2 * need;

		if (!(d = realloc(l->elem_data, cap)))
			return -1;
		l->elem_data = d;
		l->elem_data_cap = cap;
	}
	g->data = l->nelem_data;
	if (!g->nkeys)	/* no endpoints: elem_data may still be NULL, and NULL + 0 is UB */
		return 0;
	d = l->elem_data + g->data;
	for (uint16_t round = 0; made < g->nkeys; round++) {
		for (size_t i = 0; i < g->neps; i++) {
			if (eps[i]->weight <= round)
				continue;
			memset(d, 0, len);
			put_port(d + put_addr(d, &eps[i]->addr),
				 lw_target_port(&sp->port, eps[i]));
			d += len;
			made++;
		}
	}
	l->nelem_data = need;
	return 0;
}

/*
 * The endpoint a group's first connection goes to.  numgen inc counts from
 * 0 in every rule, so were key B always the first endpoint, the first
 * connection of every quiet service would go to its first endpoint, and
 * over many services the first endpoints would take far more than their
 * share (56/33/11% of 3 pods' connections at 50k services in
 * bench/datapath).  Each group starts its round at a key its name hashes
 * to instead; the round stays exact.
 */
static uint32_t first_key(const struct group *g)
{
	return (uint32_t)((g->hash * 0x9e3779b97f4a7c15ULL) >> 32) % g->nkeys;
}

/*
 * g's elements, whole (the set's room is not zeroed), from the i-th of set:
 * keys offset .. offset + nkeys - 1, key offset + k taking the data of
 * round position (first_key + k) mod nkeys.  Returns the index after them.
 */
static size_t fill_endpoint_elems(const struct lowering *l, const struct sport *sp,
				  const struct group *g, const struct rs_set *set, size_t i)
{
	size_t len = data_len(sp->fam);
	const uint8_t *data = l->elem_data + g->data;
	uint32_t key = g->offset;	/* the last slot's keys end at 2^32: count, don't compare */
	uint32_t pos = g->nkeys ? first_key(g) : 0;

	for (uint32_t k = 0; k < g->nkeys; k++, key++, i++) {
		struct rs_elem *e = rs_elem_at(set, i);

		memset(e, 0, set->stride);
		memcpy(e->key, &key, 4);
		memcpy(rs_elem_data(set, e), data + (size_t)pos * len, len);
		if (++pos == g->nkeys)
			pos = 0;
	}
	return i;
}

/* Map map's elements: the groups placed[i .. j) are in offset order.  0 or -1. */
static int fill_map(struct lowering *l, int map, size_t i, size_t j)
{
	struct rs_set *set = &l->rs->sets[map];
	size_t n = 0, e;

	for (size_t k = i; k < j; k++)
		n += l->placed[k].g->emitted ? l->placed[k].g->nkeys : 0;
	if (!n || rs_reserve_elems(set, n))
		return n ? -1 : 0;
	e = set->nelems;
	set->nelems += n;
	for (size_t k = i; k < j; k++)
		if (l->placed[k].g->emitted)
			e = fill_endpoint_elems(l, l->placed[k].sp, l->placed[k].g, set, e);
	return 0;
}

/*
 * The endpoint map elements of every group a chain DNATs to.  A map's
 * groups take consecutive runs of its elements in offset order, so that
 * the map comes out sorted.  Each element is written once, in order: a
 * zeroed map filled in the sports' order wrote it twice, the second time
 * far from the first.
 */
int lw_add_endpoint_elems(struct lowering *l)
{
	for (size_t i = 0, j; i < l->nplaced; i = j) {
		int map = group_map(l, l->placed[i].sp, l->placed[i].g);

		for (j = i + 1;
		     j < l->nplaced && group_map(l, l->placed[j].sp, l->placed[j].g) == map; j++)
			;
		if (fill_map(l, map, i, j))
			return -1;
	}
	return 0;
}

/* "meta l4proto P dnat ip to numgen inc mod N offset B map @endpoints-…" and its elements */
static int add_dnat(struct lowering *l, const struct sport *sp, struct group *g,
		    struct rs_chain *c)
{
	struct rs_rule *r;

	if (g->affinity)
		return lw_add_affinity(l, sp, g, c);
	if (!(r = lw_add_rule(c, RS_DNAT_NUMGEN, sp->fam, lw_set_name(l, group_map(l, sp, g)))))
		return -1;
	r->l4proto = sp->port.proto;
	r->mod = g->nkeys;
	r->offset = g->offset;
	g->emitted = true;	/* its elements: lw_add_endpoint_elems */
	return 0;
}

/* What the outside reaches: external, load-balancer and node addresses. */
static int add_outside(struct lowering *l, const struct sport *sp, const char *chain)
{
	const struct svcc_service *svc = sp->svc;
	const struct fam_sets *f = &l->fam[sp->fam];
	int idx = chain ? f->service_ips : f->no_endpoints;

	for (size_t i = 0; i < svc->nexternal_ips; i++)
		if (addr_fam(&svc->external_ips[i].addr) == sp->fam &&
		    lw_add_dispatch(l, idx, &svc->external_ips[i].addr, &sp->port, chain))
			return -1;
	for (size_t i = 0; i < svc->nlb_ips; i++) {
		const struct addr *lb = &svc->lb_ips[i].addr;

		if (addr_fam(lb) != sp->fam)
			continue;
		if (lw_add_dispatch(l, idx, lb, &sp->port, chain))
			return -1;
		if (!svc->nsource_ranges)
			continue;
		/* only these sources may use the load-balancer address */
		if (lw_add_dispatch(l, f->firewall, lb, &sp->port, NULL))
			return -1;
		for (size_t j = 0; j < svc->nsource_ranges; j++) {
			const struct cidr *r = &svc->source_ranges[j];
			struct rs_elem *e;
			size_t off;

			if (addr_fam(&r->addr) != sp->fam)
				continue;
			if (!(e = lw_elem(l, f->firewall_allow)))
				return -1;
			off = put_addr(e->key, lb);
			off += put_proto(e->key + off, sp->port.proto);
			off += put_port(e->key + off, sp->port.port);
			put_addr(e->key + off, &r->addr);
			e->prefix = r->plen;
		}
	}
	if (sp->port.nodeport &&
	    lw_add_nodeport(l, chain ? f->nodeports : f->no_endpoint_nodeports, &sp->port, chain))
		return -1;
	return 0;
}

static int add_drop(struct rs_chain *c, int fam)
{
	return lw_add_rule(c, RS_DROP, fam, NULL) ? 0 : -1;
}

/*
 * The ext- chain: what the outside reaches (node, external and
 * load-balancer addresses).  Policy cluster: masquerade, then the vip's
 * path.  Policy local: the client's address is kept, only local endpoints
 * serve, none means drop; pods reaching these addresses take the vip's path.
 */
static int lower_ext_chain(struct lowering *l, struct sport *sp, const char *svc_chain)
{
	/* svc_chain is the vip's path, for the traffic that takes it */
	const struct fam_sets *f = &l->fam[sp->fam];
	struct group *g = &sp->g[sp->external];
	bool mark = sp->external == G_CLUSTER, go_svc = svc_chain && lw_detects_pods(l, sp->fam);
	bool go_to = sp->external == G_CLUSTER && sp->internal == G_CLUSTER && svc_chain;
	struct rs_chain *c;
	const char *name;
	struct rs_rule *r;

	lw_sport_name(l, sp, "ext", "");
	c = lw_add_chain(l, l->name, (mark || go_svc) + (go_to || !g->neps ? 1 : dnat_rules(g)));
	if (!c)
		return -1;
	name = c->name;	/* c moves when affinity adds chains */
	if (mark) {
		if (!(r = lw_add_rule(c, RS_MARK, sp->fam, NULL)))
			return -1;
		r->mark = RS_MARK_MASQ;
	} else if (go_svc && f->pod_cidrs >= 0) {
		if (!(r = lw_add_rule(c, RS_GOTO_IF_SADDR_IN, sp->fam, lw_set_name(l, f->pod_cidrs))))
			return -1;
		r->target = svc_chain;
	} else if (go_svc) {
		if (!(r = lw_add_rule(c, RS_GOTO_IF_IIF, sp->fam, NULL)))
			return -1;
		r->target = svc_chain;
		put_iface(l, r);
	}
	if (go_to) {
		if (!(r = lw_add_rule(c, RS_GOTO, sp->fam, NULL)))
			return -1;
		r->target = svc_chain;
	} else if (g->neps) {
		if (add_dnat(l, sp, g, c))
			return -1;
	} else if (add_drop(c, sp->fam)) {
		return -1;
	}
	return add_outside(l, sp, name);
}

/* Chains and elements of one service port of one family. */
int lw_lower_sport(struct lowering *l, struct sport *sp)
{
	const struct fam_sets *f = &l->fam[sp->fam];
	struct group *g = &sp->g[sp->internal];
	const char *svc_chain = NULL;
	struct rs_chain *c;
	struct rs_elem *e;

	/* the vip, once per port: rs_finish drops the repeats */
	if (!(e = lw_elem(l, f->cluster_ips)))
		return -1;
	put_addr(e->key, &sp->vip);
	if (!sp->any_eps) {
		/* nothing anywhere: refused, as kube-proxy does */
		return lw_add_dispatch(l, f->no_endpoints, &sp->vip, &sp->port, NULL) ||
		       add_outside(l, sp, NULL) ? -1 : 0;
	}
	lw_sport_name(l, sp, "svc", "");
	if (!(c = lw_add_chain(l, l->name, g->neps ? dnat_rules(g) : 1)))
		return -1;
	svc_chain = c->name;
	/* endpoints, but none for this policy: dropped, as kube-proxy does */
	if (g->neps ? add_dnat(l, sp, g, c) : add_drop(c, sp->fam))
		return -1;
	if (lw_add_dispatch(l, f->service_ips, &sp->vip, &sp->port, svc_chain))
		return -1;
	return sp->outside ? lower_ext_chain(l, sp, svc_chain) : 0;
}

/* The fixed chains are added last: look for them from the end. */
static struct rs_chain *fixed_chain(struct lowering *l, const char *name)
{
	for (size_t i = l->rs->nchains; i-- > 0;)
		if (!strcmp(l->rs->chains[i].name, name))
			return &l->rs->chains[i];
	return NULL;
}

static struct rs_rule *add_rule_to(struct lowering *l, const char *chain, enum rs_rule_kind kind,
				   int fam, int set)
{
	struct rs_chain *c = fixed_chain(l, chain);

	return c ? lw_add_rule(c, kind, fam, set >= 0 ? lw_set_name(l, set) : NULL) : NULL;
}

/*
 * A base chain and its jump to target.  A nat hook sees a connection's
 * first packet only; a filter hook sees every packet, so its jump is for
 * a new connection (as kube-proxy's) that no DNAT took: the checks look
 * for a vip, NodePort or service without endpoints that nothing DNATed,
 * and a DNATed packet is addressed to its endpoint.  So their set lookups
 * (cluster-ips is as big as the services) stay off established traffic
 * and off every connection to a service.
 */
static int add_base_chain(struct lowering *l, const char *name, enum rs_hook hook, bool nat,
			  int prio, const char *target)
{
	struct rs_chain *to = fixed_chain(l, target), *c;
	struct rs_rule *r;

	if (!to)
		return -1;
	target = to->name;	/* the ruleset owns what rules point at */
	if (!(c = rs_add_chain(l->rs, name)))
		return -1;
	c->hook = hook;
	c->nat = nat;
	c->priority = prio;
	if (!(r = rs_add_rule(c)))
		return -1;
	r->kind = nat ? RS_JUMP : RS_JUMP_IF_NEW_NO_DNAT;
	r->target = target;
	return 0;
}

/*
 * A second jump from a filter base chain, as the first.
 * Traffic that reaches filter-forward or filter-output still addressed to
 * a vip was taken by no DNAT (a port the service lacks): cluster-ips-check
 * refuses it, as kube-proxy does.
 */
static int add_jump(struct lowering *l, const char *chain, const char *target)
{
	struct rs_chain *c = fixed_chain(l, chain), *to = fixed_chain(l, target);
	struct rs_rule *r;

	if (!c || !to || !(r = rs_add_rule(c)))
		return -1;
	r->kind = RS_JUMP_IF_NEW_NO_DNAT;
	r->target = to->name;
	return 0;
}

static int add_family_rules(struct lowering *l, int fam)
{
	const struct fam_sets *f = &l->fam[fam];
	struct rs_rule *r;

	if (f->firewall >= 0) {
		if (!(r = add_rule_to(l, "services", RS_FIREWALL, fam, f->firewall)))
			return -1;
		r->set2 = lw_set_name(l, f->firewall_allow);
	}
	if (mark_rules(l, fam)) {
		struct rs_chain *mark = fixed_chain(l, mark_chain_name(fam));

		if (!mark || !(r = add_rule_to(l, "services", RS_JUMP_IF_DADDR_IN, fam, f->cluster_ips)))
			return -1;
		r->target = mark->name;
		if (add_mark_rules(l, mark, fam))
			return -1;
	}
	if (!add_rule_to(l, "services", RS_DISPATCH, fam, f->service_ips))
		return -1;
	if (f->nodeports >= 0) {
		if (!(r = add_rule_to(l, "services", RS_NODEPORT_DISPATCH, fam, f->node_ips)))
			return -1;
		r->set2 = lw_set_name(l, f->nodeports);
		if (!add_rule_to(l, "reject-nodeports", RS_REJECT_TCP_IF_PORT_IN, fam,
				 f->no_endpoint_nodeports) ||
		    !add_rule_to(l, "reject-nodeports", RS_REJECT_IF_PORT_IN, fam,
				 f->no_endpoint_nodeports))
			return -1;
	}
	if (!add_rule_to(l, "masquerading", RS_HAIRPIN_DISPATCH, fam, f->hairpin_shards) ||
	    !add_rule_to(l, "reject-no-endpoints", RS_REJECT_TCP_IF_DEST_IN, fam, f->no_endpoints) ||
	    !add_rule_to(l, "reject-no-endpoints", RS_REJECT_IF_DEST_IN, fam, f->no_endpoints) ||
	    !add_rule_to(l, "cluster-ips-check", RS_REJECT_TCP_IF_DADDR_IN, fam, f->cluster_ips) ||
	    !add_rule_to(l, "cluster-ips-check", RS_REJECT_IF_DADDR_IN, fam, f->cluster_ips))
		return -1;
	if (f->service_cidrs >= 0 &&
	    !add_rule_to(l, "cluster-ips-check", RS_DROP_IF_DADDR_IN, fam, f->service_cidrs))
		return -1;
	return 0;
}

int lw_add_fixed_chains(struct lowering *l)
{
	bool nodeports = l->fam[FAM4].nodeports_used || l->fam[FAM6].nodeports_used;
	struct rs_rule *r;

	if (!rs_add_chain(l->rs, "services") || !rs_add_chain(l->rs, "masquerading") ||
	    !rs_add_chain(l->rs, "reject-no-endpoints") || !rs_add_chain(l->rs, "cluster-ips-check") ||
	    (nodeports && !rs_add_chain(l->rs, "reject-nodeports")))
		return -1;
	if (!(r = add_rule_to(l, "masquerading", RS_MASQ_MARKED, FAM4, -1)))
		return -1;
	r->mark = RS_MARK_MASQ;
	for (int fam = FAM4; fam < NFAMILIES; fam++)
		if (l->fam[fam].used && mark_rules(l, fam) && !rs_add_chain(l->rs, mark_chain_name(fam)))
			return -1;
	for (int fam = FAM4; fam < NFAMILIES; fam++)
		if (l->fam[fam].used && add_family_rules(l, fam))
			return -1;
	/* nft 1.0.6 refuses "priority dstnat" on output: -100 is the same. */
	if (add_base_chain(l, "nat-prerouting", RS_HOOK_PREROUTING, true, -100, "services") ||
	    add_base_chain(l, "nat-output", RS_HOOK_OUTPUT, true, -100, "services") ||
	    add_base_chain(l, "nat-postrouting", RS_HOOK_POSTROUTING, true, 100, "masquerading") ||
	    add_base_chain(l, "filter-forward", RS_HOOK_FORWARD, false, 0, "reject-no-endpoints") ||
	    add_jump(l, "filter-forward", "cluster-ips-check") ||
	    add_base_chain(l, "filter-output", RS_HOOK_OUTPUT, false, 0, "reject-no-endpoints") ||
	    add_jump(l, "filter-output", "cluster-ips-check") ||
	    (nodeports &&
	     add_base_chain(l, "filter-input", RS_HOOK_INPUT, false, 0, "reject-nodeports")))
		return -1;
	return 0;
}

