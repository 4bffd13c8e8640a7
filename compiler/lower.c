/* SPDX-License-Identifier: MIT */
/*
 * Lowering: a checked configuration to the canonical ruleset.
 *
 * The shape (README "Ruleset shape" tells why, with measurements):
 *   services chain:  [firewall] ip daddr . meta l4proto . th dport vmap @service-ips
 *                    [nodeports] fib daddr type local meta l4proto . th dport vmap @nodeports
 *   svc-NAME/PROTO/PORT, one chain per service port (and family) with endpoints:
 *                    mark for masquerade (per the masquerade policy), then
 *                    meta l4proto P dnat ip to numgen inc mod N offset B map @endpoints-P-S
 *   ext-NAME/PROTO/PORT, for traffic to external, load-balancer and node addresses:
 *                    mark for masquerade, goto svc-…
 *   endpoints-P-S:   one of ENDPOINT_SHARDS maps per protocol, keyed B+i -> endpoint . port
 *   no-endpoints:    what has no endpoint is rejected (reject-no-endpoints, reject-nodeports)
 *   masquerading:    marked packets, and hairpin (endpoint . endpoint pairs)
 * Service port -> (shard S, base B) depends only on the service port's own
 * name, so a change to one service never moves another's elements.
 * IPv6 objects carry a "6": svc6-…, ext6-…, service-ips6, endpoints6-…
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>

#include "model.h"
#include "ruleset.h"
#include "util.h"

/*
 * Kernel cost of adding a map element grows with the chains bound to the
 * map; sharding keeps (chains x elements) per map small.  KERNEL-SCALING.md
 * measured 100 and 1,000 shards as equally linear; 256 keeps a map at ~40
 * chains per 10k service ports while named-set lookup stays cheap.
 */
#define ENDPOINT_SHARDS 256
#define SLOTS_PER_SHARD 65536	/* B = slot << 16: 65,536 keys per service port */
#define AFFINITY_SIZE	1048576	/* clients remembered per affinity map */

/*
 * Endpoint maps are per protocol: nft 1.0.6 only adds a rule
 * "meta l4proto udp dnat … map @m" to an existing map declared with
 * "udp dport" data (with "th dport" it refuses: "conflicting protocols").
 */
enum { P_TCP, P_UDP, P_SCTP, NPROTO };
static const uint8_t protos[NPROTO] = { IPPROTO_TCP, IPPROTO_UDP, IPPROTO_SCTP };

/*
 * The endpoints a chain DNATs to, and where their map elements live.  A
 * service port has up to two groups: all of its endpoints (policy cluster)
 * and those on this node (traffic-policy local).
 */
struct group {
	const struct endpoint **eps;	/* in use, sorted by address */
	size_t neps;
	uint32_t nkeys;			/* endpoint map keys: the sum of weights */
	uint32_t shard, offset;
	bool used;			/* a chain DNATs to this group */
	bool affinity;			/* client-ip affinity: through per-endpoint chains */
	bool emitted;			/* its elements (and affinity chains) are made */
	const char *name;		/* what its placement is hashed from */
};

enum { G_CLUSTER, G_LOCAL, NGROUPS };

/* One service port of one family: chains, or no-endpoints elements. */
struct sport {
	const struct svcc_service *svc;
	const struct port *port;
	int fam;
	char *chain;			/* svc-NAME/PROTO/PORT */
	char *ext_chain;		/* ext-NAME/PROTO/PORT, if reached from outside */
	char *local_name;		/* svc-NAME/PROTO/PORT/local: the local group's */
	struct group g[NGROUPS];
	int internal, external;		/* the group the vip, and the outside, use */
};

/* Set indices (into rs->sets) of one family; -1 when absent. */
struct fam_sets {
	bool used, nodeports_used, firewall_used;
	int service_ips, no_endpoints, hairpin, pod_cidrs, masq_from;
	int nodeports, no_endpoint_nodeports, node_ips, firewall, firewall_allow;
	int shard[NPROTO][ENDPOINT_SHARDS];
	uint8_t *slots[NPROTO][ENDPOINT_SHARDS];	/* bitmap of taken slots */
	/* client-ip affinity: who chose what (per protocol), and the
	 * per-endpoint chains keyed like an endpoint map */
	int affinity[NPROTO], affinity_endpoints;
	uint8_t *affinity_slots;
	bool affinity_used[NPROTO];
};

struct lowering {
	const struct svcc_config *cfg;
	struct rs_ruleset *rs;
	struct sport *sports;
	size_t nsports;
	struct fam_sets fam[NFAMILIES];
};

static int proto_idx(uint8_t proto)
{
	return proto == IPPROTO_UDP ? P_UDP : proto == IPPROTO_SCTP ? P_SCTP : P_TCP;
}

static enum rs_family rs_fam(int fam)
{
	return fam == FAM6 ? RS_IPV6 : RS_IPV4;
}

static enum rs_ftype ip_ftype(int fam)
{
	return fam == FAM6 ? RS_F_IPV6 : RS_F_IPV4;
}

static const char *sfx(int fam)
{
	return fam == FAM6 ? "6" : "";
}

static size_t put_addr(uint8_t *p, const struct addr *a)
{
	size_t n = a->family == 6 ? 16 : 4;

	memcpy(p, a->bytes, n);
	return n;
}

static size_t put_proto(uint8_t *p, uint8_t proto)
{
	p[0] = proto;
	return 4;
}

static size_t put_port(uint8_t *p, uint16_t port)
{
	p[0] = (uint8_t)(port >> 8);
	p[1] = (uint8_t)port;
	return 4;
}

static int sport_cmp(const void *a, const void *b)
{
	return strcmp(((const struct sport *)a)->chain, ((const struct sport *)b)->chain);
}

static int ep_ptr_cmp(const void *a, const void *b)
{
	return addr_cmp(&(*(const struct endpoint *const *)a)->addr,
			&(*(const struct endpoint *const *)b)->addr);
}

static bool reached_from_outside(const struct svcc_service *svc, const struct port *p)
{
	return p->nodeport || svc->nexternal_ips || svc->nlb_ips;
}

/*
 * The endpoints of a group: the ready ones, or, when none is ready, the
 * terminating ones (kube-proxy's fallback); only local ones for G_LOCAL.
 */
static int pick_endpoints(struct sport *sp, int gi)
{
	const struct svcc_service *svc = sp->svc;
	struct group *g = &sp->g[gi];
	bool any_ready = false;

	for (size_t i = 0; i < svc->neps; i++) {
		const struct endpoint *e = &svc->eps[i];

		if (addr_fam(&e->addr) == sp->fam && (gi != G_LOCAL || e->local) && !e->terminating)
			any_ready = true;
	}
	g->eps = malloc((svc->neps ? svc->neps : 1) * sizeof(*g->eps));
	if (!g->eps)
		return -1;
	for (size_t i = 0; i < svc->neps; i++) {
		const struct endpoint *e = &svc->eps[i];

		if (addr_fam(&e->addr) != sp->fam || (gi == G_LOCAL && !e->local) ||
		    e->terminating == any_ready)
			continue;
		g->eps[g->neps++] = e;
		g->nkeys += e->weight;
	}
	qsort(g->eps, g->neps, sizeof(*g->eps), ep_ptr_cmp);
	return 0;
}

/* Which groups the vip and the outside use, per the traffic policies. */
static int pick_groups(struct sport *sp)
{
	const struct svcc_service *svc = sp->svc;

	sp->internal = svc->internal_local ? G_LOCAL : G_CLUSTER;
	sp->external = svc->external_local ? G_LOCAL : G_CLUSTER;
	sp->g[sp->internal].used = true;
	if (sp->ext_chain)
		sp->g[sp->external].used = true;
	sp->g[G_CLUSTER].name = sp->chain;
	sp->g[G_LOCAL].name = sp->local_name;
	sp->g[sp->internal].affinity = svc->affinity_timeout != 0;
	for (int gi = 0; gi < NGROUPS; gi++)
		if (sp->g[gi].used && pick_endpoints(sp, gi))
			return -1;
	return 0;
}

static int collect_sports(struct lowering *l)
{
	const struct svcc_config *cfg = l->cfg;
	size_t n = 0;

	for (size_t i = 0; i < cfg->nservices; i++)
		n += cfg->services[i]->nports * NFAMILIES;
	l->sports = calloc(n ? n : 1, sizeof(*l->sports));
	if (!l->sports)
		return -1;
	for (size_t i = 0; i < cfg->nservices; i++) {
		const struct svcc_service *svc = cfg->services[i];

		for (int fam = FAM4; fam < NFAMILIES; fam++) {
			if (!svc->has_vip[fam])
				continue;
			l->fam[fam].used = true;
			for (size_t j = 0; j < svc->nports; j++) {
				struct sport *sp = &l->sports[l->nsports++];
				const struct port *p = &svc->ports[j];

				sp->svc = svc;
				sp->port = p;
				sp->fam = fam;
				if (asprintf(&sp->chain, "svc%s-%s/%s/%u", sfx(fam), svc->name,
					     proto_name(p->proto), p->port) < 0) {
					sp->chain = NULL;
					return -1;
				}
				if (reached_from_outside(svc, p) &&
				    asprintf(&sp->ext_chain, "ext%s-%s/%s/%u", sfx(fam), svc->name,
					     proto_name(p->proto), p->port) < 0) {
					sp->ext_chain = NULL;
					return -1;
				}
				if (asprintf(&sp->local_name, "%s/local", sp->chain) < 0) {
					sp->local_name = NULL;
					return -1;
				}
				if (p->nodeport)
					l->fam[fam].nodeports_used = true;
				if (svc->nsource_ranges && svc->nlb_ips)
					l->fam[fam].firewall_used = true;
				if (pick_groups(sp))
					return -1;
				if (svc->affinity_timeout)
					l->fam[fam].affinity_used[proto_idx(p->proto)] = true;
			}
		}
	}
	qsort(l->sports, l->nsports, sizeof(*l->sports), sport_cmp);
	return 0;
}

/*
 * Place each endpoint group in a shard and slot derived from its name; a
 * taken slot (a rare hash collision) goes to the next free one, in name
 * order, so that the result does not depend on input order.
 */
static int place_group(struct lowering *l, const struct sport *sp, struct group *g)
{
	struct fam_sets *f = &l->fam[sp->fam];
	uint8_t **bitmap, *bits;
	uint64_t h = hash64(g->name, strlen(g->name));
	uint32_t slot = (uint32_t)(h >> 32) % SLOTS_PER_SHARD;

	g->shard = (uint32_t)(h % ENDPOINT_SHARDS);
	/* affinity groups are keys of the one affinity-endpoints map */
	bitmap = g->affinity ? &f->affinity_slots
			     : &f->slots[proto_idx(sp->port->proto)][g->shard];
	if (!*bitmap && !(*bitmap = calloc(SLOTS_PER_SHARD / 8, 1)))
		return -1;
	bits = *bitmap;
	/* There are at most as many groups as slots in all shards. */
	while (bits[slot / 8] & (1u << (slot % 8)))
		slot = (slot + 1) % SLOTS_PER_SHARD;
	bits[slot / 8] |= (uint8_t)(1u << (slot % 8));
	g->offset = slot << 16;
	return 0;
}

static int place_sports(struct lowering *l)
{
	/* sports are in chain name order, and a local group sorts with its chain */
	for (size_t i = 0; i < l->nsports; i++)
		for (int gi = 0; gi < NGROUPS; gi++) {
			struct group *g = &l->sports[i].g[gi];

			if (g->used && g->neps && place_group(l, &l->sports[i], g))
				return -1;
		}
	return 0;
}

static int add_set(struct lowering *l, const char *name, enum rs_family family,
		   const enum rs_ftype *key, int nkey)
{
	struct rs_set *set = rs_add_set(l->rs, name, family);

	if (!set)
		return -1;
	memcpy(set->key, key, nkey * sizeof(*key));
	set->nkey = (uint8_t)nkey;
	rs_set_layout(set);
	return (int)(l->rs->nsets - 1);
}

/* A set named BASE (+ "6" for IPv6) keyed by the given fields. */
static int add_fam_set(struct lowering *l, int fam, const char *base, bool interval,
		       bool verdict, int nkey, ...)
{
	enum rs_ftype key[RS_MAX_FIELDS];
	char name[64];
	va_list ap;
	int idx;

	va_start(ap, nkey);
	for (int i = 0; i < nkey; i++)
		key[i] = (enum rs_ftype)va_arg(ap, int);
	va_end(ap);
	snprintf(name, sizeof(name), "%s%s", base, sfx(fam));
	idx = add_set(l, name, rs_fam(fam), key, nkey);
	if (idx >= 0) {
		l->rs->sets[idx].interval = interval;
		l->rs->sets[idx].verdict = verdict;
	}
	return idx;
}

static bool has_family(const struct cidr *v, size_t n, int fam)
{
	for (size_t i = 0; i < n; i++)
		if (addr_fam(&v[i].addr) == fam)
			return true;
	return false;
}

static int add_fam_sets(struct lowering *l, int fam)
{
	struct fam_sets *f = &l->fam[fam];
	const struct svcc_config *cfg = l->cfg;
	enum rs_ftype ip = ip_ftype(fam);

	f->pod_cidrs = f->masq_from = f->nodeports = f->no_endpoint_nodeports = -1;
	f->node_ips = f->firewall = f->firewall_allow = -1;
	f->service_ips = add_fam_set(l, fam, "service-ips", false, true, 3, ip, RS_F_PROTO, RS_F_PORT);
	f->no_endpoints = add_fam_set(l, fam, "no-endpoints", false, false, 3, ip, RS_F_PROTO, RS_F_PORT);
	f->hairpin = add_fam_set(l, fam, "hairpin", false, false, 2, ip, ip);
	if (f->service_ips < 0 || f->no_endpoints < 0 || f->hairpin < 0)
		return -1;
	if ((cfg->masq & SVCC_MASQ_NON_POD) &&
	    (f->pod_cidrs = add_fam_set(l, fam, "pod-cidrs", true, false, 1, ip)) < 0)
		return -1;
	if (has_family(cfg->masq_from, cfg->nmasq_from, fam) &&
	    (f->masq_from = add_fam_set(l, fam, "masquerade-from", true, false, 1, ip)) < 0)
		return -1;
	if (f->nodeports_used) {
		f->nodeports = add_fam_set(l, fam, "nodeports", false, true, 2, RS_F_PROTO, RS_F_PORT);
		f->no_endpoint_nodeports = add_fam_set(l, fam, "no-endpoint-nodeports", false, false,
						       2, RS_F_PROTO, RS_F_PORT);
		if (f->nodeports < 0 || f->no_endpoint_nodeports < 0)
			return -1;
		if (has_family(cfg->node_ips, cfg->nnode_ips, fam) &&
		    (f->node_ips = add_fam_set(l, fam, "node-ips", false, false, 1, ip)) < 0)
			return -1;
	}
	if (f->firewall_used) {
		f->firewall = add_fam_set(l, fam, "firewall", false, false, 3, ip, RS_F_PROTO, RS_F_PORT);
		f->firewall_allow = add_fam_set(l, fam, "firewall-allow", true, false, 4, ip,
						RS_F_PROTO, RS_F_PORT, ip);
		if (f->firewall < 0 || f->firewall_allow < 0)
			return -1;
	}
	if (f->affinity_slots) {
		enum rs_ftype key = RS_F_U32;

		if ((f->affinity_endpoints = add_set(l, fam == FAM6 ? "affinity-endpoints6" :
						    "affinity-endpoints", rs_fam(fam), &key, 1)) < 0)
			return -1;
		l->rs->sets[f->affinity_endpoints].verdict = true;
	}
	for (int p = 0; p < NPROTO; p++) {
		char name[40];
		struct rs_set *set;

		if (!f->affinity_used[p])
			continue;
		snprintf(name, sizeof(name), "affinity%s-%s", sfx(fam), proto_name(protos[p]));
		f->affinity[p] = add_fam_set(l, FAM4, name, false, false, 3, ip, ip, RS_F_PORT);
		if (f->affinity[p] < 0)
			return -1;
		set = &l->rs->sets[f->affinity[p]];
		set->family = rs_fam(fam);
		set->l4proto = protos[p];
		set->dynamic = true;
		set->timeout = 10800;
		set->size = AFFINITY_SIZE;
		set->data[0] = ip;
		set->data[1] = RS_F_PORT;
		set->ndata = 2;
		rs_set_layout(set);
	}
	for (int p = 0; p < NPROTO; p++)
		for (int s = 0; s < ENDPOINT_SHARDS; s++) {
			enum rs_ftype key = RS_F_U32;
			struct rs_set *set;
			char name[40];

			f->shard[p][s] = -1;
			if (!f->slots[p][s])
				continue;
			snprintf(name, sizeof(name), "endpoints%s-%s-%d", sfx(fam),
				 proto_name(protos[p]), s);
			f->shard[p][s] = add_set(l, name, rs_fam(fam), &key, 1);
			if (f->shard[p][s] < 0)
				return -1;
			set = &l->rs->sets[f->shard[p][s]];
			set->l4proto = protos[p];
			set->data[0] = ip;
			set->data[1] = RS_F_PORT;
			set->ndata = 2;
			rs_set_layout(set);
		}
	return 0;
}

static const char *set_name(struct lowering *l, int idx)
{
	return l->rs->sets[idx].name;
}

static struct rs_elem *elem(struct lowering *l, int set)
{
	return rs_add_elem(&l->rs->sets[set]);
}

static int add_cidrs(struct lowering *l, int idx, int fam, const struct cidr *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct rs_elem *e;

		if (addr_fam(&v[i].addr) != fam)
			continue;
		if (!(e = elem(l, idx)))
			return -1;
		put_addr(e->key, &v[i].addr);
		e->prefix = v[i].plen;
	}
	return 0;
}

static struct rs_rule *add_rule(struct rs_chain *c, enum rs_rule_kind kind, int fam,
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

/* Masquerade marks, per the policy, at the head of a service port's chain. */
static int add_mark_rules(struct lowering *l, struct rs_chain *c, int fam)
{
	const struct fam_sets *f = &l->fam[fam];
	struct rs_rule *r;

	if (l->cfg->masq & SVCC_MASQ_ALL) {
		if (!(r = add_rule(c, RS_MARK, fam, NULL)))
			return -1;
		r->mark = RS_MARK_MASQ;
		return 0;
	}
	if (f->pod_cidrs >= 0) {
		if (!(r = add_rule(c, RS_MARK_UNLESS_SADDR_IN, fam, set_name(l, f->pod_cidrs))))
			return -1;
		r->mark = RS_MARK_MASQ;
	}
	if (f->masq_from >= 0) {
		if (!(r = add_rule(c, RS_MARK_IF_SADDR_IN, fam, set_name(l, f->masq_from))))
			return -1;
		r->mark = RS_MARK_MASQ;
	}
	return 0;
}

/* An element "ADDR . PROTO . PORT" [: goto CHAIN] in set idx. */
static int add_dispatch(struct lowering *l, int idx, const struct addr *a, const struct port *p,
			const char *chain)
{
	struct rs_elem *e = elem(l, idx);
	size_t off;

	if (!e)
		return -1;
	off = put_addr(e->key, a);
	off += put_proto(e->key + off, p->proto);
	put_port(e->key + off, p->port);
	e->chain = chain;
	return 0;
}

/* An element "PROTO . NODEPORT" [: goto CHAIN] in set idx. */
static int add_nodeport(struct lowering *l, int idx, const struct port *p, const char *chain)
{
	struct rs_elem *e = elem(l, idx);

	if (!e)
		return -1;
	put_port(e->key + put_proto(e->key, p->proto), p->nodeport);
	e->chain = chain;
	return 0;
}

static uint16_t target_port(const struct port *p, const struct endpoint *e)
{
	for (size_t i = 0; p->name && i < e->nports; i++)
		if (!strcmp(e->ports[i].name, p->name))
			return e->ports[i].port;
	return p->target;
}

/*
 * Endpoint map elements: keys B .. B+nkeys-1, endpoint i taking weight(i)
 * keys.  Rounds interleave the heavier endpoints (a, b, c, a, b, a, …), so
 * that numgen's round robin spreads them instead of sending bursts.
 */
static int add_endpoint_elems(struct lowering *l, const struct sport *sp, const struct group *g,
			      int idx)
{
	uint32_t key = g->offset;	/* the last slot's keys end at 2^32: count, don't compare */

	for (uint16_t round = 0; key - g->offset < g->nkeys; round++) {
		for (size_t i = 0; i < g->neps; i++) {
			struct rs_elem *e;

			if (g->eps[i]->weight <= round)
				continue;
			if (!(e = elem(l, idx)))
				return -1;
			memcpy(e->key, &key, 4);
			key++;
			put_port(e->data + put_addr(e->data, &g->eps[i]->addr),
				 target_port(sp->port, g->eps[i]));
		}
	}
	return 0;
}

/*
 * Client-ip affinity: a client that chose an endpoint lately goes there
 * again (the dynamic map affinity-P remembers client . destination ->
 * endpoint); else numgen picks one of the group's per-endpoint chains,
 * which remember the choice and DNAT.  The timeout counts from the choice.
 */
static int add_affinity(struct lowering *l, const struct sport *sp, struct group *g,
			struct rs_chain *c)
{
	const struct fam_sets *f = &l->fam[sp->fam];
	const char *map = set_name(l, f->affinity[proto_idx(sp->port->proto)]);
	const char *base = g->name + strcspn(g->name, "-");	/* "-NAME/PROTO/PORT[/local]" */
	struct rs_rule *r;
	uint32_t key = g->offset;

	if (!(r = add_rule(c, RS_AFFINITY_DNAT, sp->fam, map)))
		return -1;
	r->l4proto = sp->port->proto;
	if (!(r = add_rule(c, RS_NUMGEN_VMAP, sp->fam, set_name(l, f->affinity_endpoints))))
		return -1;
	r->mod = g->nkeys;
	r->offset = g->offset;
	if (g->emitted)
		return 0;
	g->emitted = true;
	for (size_t i = 0; i < g->neps; i++) {
		const struct endpoint *ep = g->eps[i];
		struct rs_chain *ec;
		char *name;

		if (asprintf(&name, "aff%s%s/%zu", sfx(sp->fam), base, i) < 0)
			return -1;
		ec = rs_add_chain(l->rs, name);
		free(name);
		if (!ec || !(r = add_rule(ec, RS_AFFINITY_UPDATE, sp->fam, map)))
			return -1;
		r->l4proto = sp->port->proto;
		r->timeout = sp->svc->affinity_timeout;
		put_addr(r->addr, &ep->addr);
		r->port = target_port(sp->port, ep);
		if (!(r = add_rule(ec, RS_DNAT_TO, sp->fam, NULL)))
			return -1;
		r->l4proto = sp->port->proto;
		put_addr(r->addr, &ep->addr);
		r->port = target_port(sp->port, ep);
		for (uint16_t w = 0; w < ep->weight; w++) {
			struct rs_elem *e = elem(l, f->affinity_endpoints);

			if (!e)
				return -1;
			memcpy(e->key, &key, 4);
			key++;
			e->chain = ec->name;
		}
	}
	return 0;
}

/* "meta l4proto P dnat ip to numgen inc mod N offset B map @endpoints-…" and its elements */
static int add_dnat(struct lowering *l, const struct sport *sp, struct group *g,
		    struct rs_chain *c)
{
	int shard = l->fam[sp->fam].shard[proto_idx(sp->port->proto)][g->shard];
	struct rs_rule *r;

	if (g->affinity)
		return add_affinity(l, sp, g, c);
	if (!(r = add_rule(c, RS_DNAT_NUMGEN, sp->fam, set_name(l, shard))))
		return -1;
	r->l4proto = sp->port->proto;
	r->mod = g->nkeys;
	r->offset = g->offset;
	if (g->emitted)
		return 0;
	g->emitted = true;
	return add_endpoint_elems(l, sp, g, shard);
}

/* What the outside reaches: external, load-balancer and node addresses. */
static int add_outside(struct lowering *l, const struct sport *sp, const char *chain)
{
	const struct svcc_service *svc = sp->svc;
	const struct fam_sets *f = &l->fam[sp->fam];
	int idx = chain ? f->service_ips : f->no_endpoints;

	for (size_t i = 0; i < svc->nexternal_ips; i++)
		if (addr_fam(&svc->external_ips[i].addr) == sp->fam &&
		    add_dispatch(l, idx, &svc->external_ips[i].addr, sp->port, chain))
			return -1;
	for (size_t i = 0; i < svc->nlb_ips; i++) {
		const struct addr *lb = &svc->lb_ips[i].addr;

		if (addr_fam(lb) != sp->fam)
			continue;
		if (add_dispatch(l, idx, lb, sp->port, chain))
			return -1;
		if (!svc->nsource_ranges)
			continue;
		/* only these sources may use the load-balancer address */
		if (add_dispatch(l, f->firewall, lb, sp->port, NULL))
			return -1;
		for (size_t j = 0; j < svc->nsource_ranges; j++) {
			const struct cidr *r = &svc->source_ranges[j];
			struct rs_elem *e;
			size_t off;

			if (addr_fam(&r->addr) != sp->fam)
				continue;
			if (!(e = elem(l, f->firewall_allow)))
				return -1;
			off = put_addr(e->key, lb);
			off += put_proto(e->key + off, sp->port->proto);
			off += put_port(e->key + off, sp->port->port);
			put_addr(e->key + off, &r->addr);
			e->prefix = r->plen;
		}
	}
	if (sp->port->nodeport &&
	    add_nodeport(l, chain ? f->nodeports : f->no_endpoint_nodeports, sp->port, chain))
		return -1;
	return 0;
}

static int add_drop(struct rs_chain *c, int fam)
{
	return add_rule(c, RS_DROP, fam, NULL) ? 0 : -1;
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
	struct rs_chain *c = rs_add_chain(l->rs, sp->ext_chain);
	const char *name;
	struct rs_rule *r;

	if (!c)
		return -1;
	name = c->name;	/* c moves when affinity adds chains */
	if (sp->external == G_CLUSTER) {
		if (!(r = add_rule(c, RS_MARK, sp->fam, NULL)))
			return -1;
		r->mark = RS_MARK_MASQ;
	} else if (svc_chain && f->pod_cidrs >= 0) {
		if (!(r = add_rule(c, RS_GOTO_IF_SADDR_IN, sp->fam, set_name(l, f->pod_cidrs))))
			return -1;
		r->target = svc_chain;
	}
	if (sp->external == G_CLUSTER && sp->internal == G_CLUSTER && svc_chain) {
		if (!(r = add_rule(c, RS_GOTO, sp->fam, NULL)))
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
static int lower_sport(struct lowering *l, struct sport *sp)
{
	const struct fam_sets *f = &l->fam[sp->fam];
	struct group *g = &sp->g[sp->internal];
	const char *svc_chain = NULL;
	struct rs_chain *c;
	bool any = false;

	for (size_t i = 0; i < sp->svc->neps; i++)
		any |= addr_fam(&sp->svc->eps[i].addr) == sp->fam;
	if (!any) {
		/* nothing anywhere: refused, as kube-proxy does */
		return add_dispatch(l, f->no_endpoints, &sp->svc->vip[sp->fam], sp->port, NULL) ||
		       add_outside(l, sp, NULL) ? -1 : 0;
	}
	if (!(c = rs_add_chain(l->rs, sp->chain)))
		return -1;
	svc_chain = c->name;
	/* endpoints, but none for this policy: dropped, as kube-proxy does */
	if (g->neps ? add_mark_rules(l, c, sp->fam) || add_dnat(l, sp, g, c)
		    : add_drop(c, sp->fam))
		return -1;
	if (add_dispatch(l, f->service_ips, &sp->svc->vip[sp->fam], sp->port, svc_chain))
		return -1;
	return sp->ext_chain ? lower_ext_chain(l, sp, svc_chain) : 0;
}

static int add_hairpin(struct lowering *l)
{
	for (size_t i = 0; i < l->nsports; i++) {
		const struct sport *sp = &l->sports[i];

		for (int gi = 0; gi < NGROUPS; gi++) {
			const struct group *g = &sp->g[gi];

			for (size_t j = 0; j < g->neps; j++) {
				struct rs_elem *e = elem(l, l->fam[sp->fam].hairpin);

				if (!e)
					return -1;
				put_addr(e->key + put_addr(e->key, &g->eps[j]->addr), &g->eps[j]->addr);
			}
		}
	}
	return 0;
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

	return c ? add_rule(c, kind, fam, set >= 0 ? set_name(l, set) : NULL) : NULL;
}

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
	r->kind = RS_JUMP;
	r->target = target;
	return 0;
}

static int add_family_rules(struct lowering *l, int fam)
{
	const struct fam_sets *f = &l->fam[fam];
	struct rs_rule *r;

	if (f->firewall >= 0) {
		if (!(r = add_rule_to(l, "services", RS_FIREWALL, fam, f->firewall)))
			return -1;
		r->set2 = set_name(l, f->firewall_allow);
	}
	if (!add_rule_to(l, "services", RS_DISPATCH, fam, f->service_ips))
		return -1;
	if (f->nodeports >= 0) {
		if (!(r = add_rule_to(l, "services", RS_NODEPORT_DISPATCH, fam, f->node_ips)))
			return -1;
		r->set2 = set_name(l, f->nodeports);
		if (!add_rule_to(l, "reject-nodeports", RS_REJECT_TCP_IF_PORT_IN, fam,
				 f->no_endpoint_nodeports) ||
		    !add_rule_to(l, "reject-nodeports", RS_REJECT_IF_PORT_IN, fam,
				 f->no_endpoint_nodeports))
			return -1;
	}
	if (!add_rule_to(l, "masquerading", RS_MASQ_HAIRPIN, fam, f->hairpin) ||
	    !add_rule_to(l, "reject-no-endpoints", RS_REJECT_TCP_IF_DEST_IN, fam, f->no_endpoints) ||
	    !add_rule_to(l, "reject-no-endpoints", RS_REJECT_IF_DEST_IN, fam, f->no_endpoints))
		return -1;
	return 0;
}

static int add_fixed_chains(struct lowering *l)
{
	bool nodeports = l->fam[FAM4].nodeports_used || l->fam[FAM6].nodeports_used;
	struct rs_rule *r;

	if (!rs_add_chain(l->rs, "services") || !rs_add_chain(l->rs, "masquerading") ||
	    !rs_add_chain(l->rs, "reject-no-endpoints") ||
	    (nodeports && !rs_add_chain(l->rs, "reject-nodeports")))
		return -1;
	if (!(r = add_rule_to(l, "masquerading", RS_MASQ_MARKED, FAM4, -1)))
		return -1;
	r->mark = RS_MARK_MASQ;
	for (int fam = FAM4; fam < NFAMILIES; fam++)
		if (l->fam[fam].used && add_family_rules(l, fam))
			return -1;
	/* nft 1.0.6 refuses "priority dstnat" on output: -100 is the same. */
	if (add_base_chain(l, "nat-prerouting", RS_HOOK_PREROUTING, true, -100, "services") ||
	    add_base_chain(l, "nat-output", RS_HOOK_OUTPUT, true, -100, "services") ||
	    add_base_chain(l, "nat-postrouting", RS_HOOK_POSTROUTING, true, 100, "masquerading") ||
	    add_base_chain(l, "filter-forward", RS_HOOK_FORWARD, false, 0, "reject-no-endpoints") ||
	    add_base_chain(l, "filter-output", RS_HOOK_OUTPUT, false, 0, "reject-no-endpoints") ||
	    (nodeports &&
	     add_base_chain(l, "filter-input", RS_HOOK_INPUT, false, 0, "reject-nodeports")))
		return -1;
	return 0;
}

static void lowering_free(struct lowering *l)
{
	for (size_t i = 0; i < l->nsports; i++) {
		free(l->sports[i].chain);
		free(l->sports[i].ext_chain);
		free(l->sports[i].local_name);
		for (int gi = 0; gi < NGROUPS; gi++)
			free(l->sports[i].g[gi].eps);
	}
	free(l->sports);
	for (int fam = FAM4; fam < NFAMILIES; fam++) {
		free(l->fam[fam].affinity_slots);
		for (int p = 0; p < NPROTO; p++)
			for (int s = 0; s < ENDPOINT_SHARDS; s++)
				free(l->fam[fam].slots[p][s]);
	}
}

int lower(const struct svcc_config *cfg, const char *table, struct rs_ruleset **out)
{
	struct lowering l = { .cfg = cfg, .rs = rs_new(table) };
	int rc = -1;

	if (!l.rs || collect_sports(&l) || place_sports(&l))
		goto done;
	for (int fam = FAM4; fam < NFAMILIES; fam++) {
		struct fam_sets *f = &l.fam[fam];

		if (!f->used)
			continue;
		if (add_fam_sets(&l, fam) ||
		    (f->pod_cidrs >= 0 &&
		     add_cidrs(&l, f->pod_cidrs, fam, cfg->pod_cidrs, cfg->npod_cidrs)) ||
		    (f->masq_from >= 0 &&
		     add_cidrs(&l, f->masq_from, fam, cfg->masq_from, cfg->nmasq_from)) ||
		    (f->node_ips >= 0 &&
		     add_cidrs(&l, f->node_ips, fam, cfg->node_ips, cfg->nnode_ips)))
			goto done;
	}
	for (size_t i = 0; i < l.nsports; i++)
		if (lower_sport(&l, &l.sports[i]))
			goto done;
	if (add_hairpin(&l) || add_fixed_chains(&l) || rs_finish(l.rs))
		goto done;
	*out = l.rs;
	l.rs = NULL;
	rc = 0;
done:
	rs_free(l.rs);
	lowering_free(&l);
	return rc;
}
