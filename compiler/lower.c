/* SPDX-License-Identifier: MIT */
/*
 * Lowering: a checked configuration to the canonical ruleset.
 *
 * The shape (README "Ruleset shape" tells why, with measurements):
 *   services chain:  ip daddr . meta l4proto . th dport vmap @service-ips
 *   svc-NAME/PROTO/PORT chain, one per service port with endpoints:
 *                    mark for masquerade (per the masquerade policy), then
 *                    meta l4proto P dnat ip to numgen inc mod N offset B map @endpoints-S
 *   endpoints-S:     one of ENDPOINT_SHARDS maps keyed B+i -> endpoint i's address . port
 *   no-endpoints:    vip . proto . port of service ports without endpoints: rejected
 *   masquerading:    marked packets, and hairpin (endpoint . endpoint pairs)
 * Service port -> (shard S, base B) depends only on the service port's own
 * name, so a change to one service never moves another's elements.
 */
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
#define SLOTS_PER_SHARD 65536	/* B = slot << 16: 65,536 endpoints per service port */

enum { V4, V6, NFAM };

/* One service port: what becomes a chain, or a no-endpoints element. */
struct sport {
	const struct svcc_service *svc;
	const struct port *port;
	char *chain;
	uint32_t shard, offset;
};

/*
 * Endpoint maps are per protocol: nft 1.0.6 only adds a rule
 * "meta l4proto udp dnat … map @m" to an existing map declared with
 * "udp dport" data (with "th dport" it refuses: "conflicting protocols").
 */
enum { P_TCP, P_UDP, P_SCTP, NPROTO };

/* Set indices (into rs->sets) of one family; -1 when absent. */
struct fam_sets {
	bool used;
	int service_ips, no_endpoints, hairpin, pod_cidrs, masq_from;
	int shard[NPROTO][ENDPOINT_SHARDS];
	uint8_t *slots[NPROTO][ENDPOINT_SHARDS];	/* bitmap of taken slots */
};

static int proto_idx(uint8_t proto)
{
	return proto == IPPROTO_UDP ? P_UDP : proto == IPPROTO_SCTP ? P_SCTP : P_TCP;
}

struct lowering {
	const struct svcc_config *cfg;
	struct rs_ruleset *rs;
	struct sport *sports;
	size_t nsports;
	struct fam_sets fam[NFAM];
};

static int fam_of(const struct addr *a)
{
	return a->family == 6 ? V6 : V4;
}

static enum rs_ftype ip_ftype(int fam)
{
	return fam == V6 ? RS_F_IPV6 : RS_F_IPV4;
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

static int collect_sports(struct lowering *l)
{
	const struct svcc_config *cfg = l->cfg;
	size_t n = 0;

	for (size_t i = 0; i < cfg->nservices; i++)
		n += cfg->services[i]->nports;
	l->sports = calloc(n ? n : 1, sizeof(*l->sports));
	if (!l->sports)
		return -1;
	for (size_t i = 0; i < cfg->nservices; i++) {
		const struct svcc_service *svc = cfg->services[i];

		l->fam[fam_of(&svc->vip)].used = true;
		for (size_t j = 0; j < svc->nports; j++) {
			struct sport *sp = &l->sports[l->nsports];

			sp->svc = svc;
			sp->port = &svc->ports[j];
			if (asprintf(&sp->chain, "svc-%s/%s/%u", svc->name,
				     proto_name(sp->port->proto), sp->port->port) < 0)
				return -1;
			l->nsports++;
		}
	}
	qsort(l->sports, l->nsports, sizeof(*l->sports), sport_cmp);
	return 0;
}

/*
 * Place each service port with endpoints in a shard and slot derived from
 * its chain name; a taken slot (a rare hash collision) goes to the next free
 * one, in name order, so that the result does not depend on input order.
 */
static int place_sports(struct lowering *l)
{
	for (size_t i = 0; i < l->nsports; i++) {
		struct sport *sp = &l->sports[i];
		struct fam_sets *f = &l->fam[fam_of(&sp->svc->vip)];
		uint64_t h;
		uint32_t slot;

		if (!sp->svc->neps)
			continue;
		h = hash64(sp->chain, strlen(sp->chain));
		sp->shard = (uint32_t)(h % ENDPOINT_SHARDS);
		slot = (uint32_t)(h >> 32) % SLOTS_PER_SHARD;
		uint8_t **bitmap = &f->slots[proto_idx(sp->port->proto)][sp->shard];

		if (!*bitmap && !(*bitmap = calloc(SLOTS_PER_SHARD / 8, 1)))
			return -1;
		uint8_t *bits = *bitmap;

		/* There are at most as many service ports as slots in all shards. */
		while (bits[slot / 8] & (1u << (slot % 8)))
			slot = (slot + 1) % SLOTS_PER_SHARD;
		bits[slot / 8] |= (uint8_t)(1u << (slot % 8));
		sp->offset = slot << 16;
	}
	return 0;
}

static int add_set(struct lowering *l, int fam, const char *base, enum rs_ftype k0,
		   enum rs_ftype k1, enum rs_ftype k2, int nkey)
{
	char name[64];
	struct rs_set *set;

	snprintf(name, sizeof(name), "%s%s", base, fam == V6 ? "6" : "");
	set = rs_add_set(l->rs, name, fam == V6 ? RS_IPV6 : RS_IPV4);
	if (!set)
		return -1;
	set->key[0] = k0;
	set->key[1] = k1;
	set->key[2] = k2;
	set->nkey = (uint8_t)nkey;
	rs_set_layout(set);
	return (int)(l->rs->nsets - 1);
}

static int add_fam_sets(struct lowering *l, int fam)
{
	struct fam_sets *f = &l->fam[fam];
	const struct svcc_config *cfg = l->cfg;
	enum rs_ftype ip = ip_ftype(fam);
	struct rs_set *set;

	f->service_ips = add_set(l, fam, "service-ips", ip, RS_F_PROTO, RS_F_PORT, 3);
	if (f->service_ips < 0)
		return -1;
	l->rs->sets[f->service_ips].verdict = true;
	f->no_endpoints = add_set(l, fam, "no-endpoints", ip, RS_F_PROTO, RS_F_PORT, 3);
	f->hairpin = add_set(l, fam, "hairpin", ip, ip, 0, 2);
	f->pod_cidrs = f->masq_from = -1;
	if (f->no_endpoints < 0 || f->hairpin < 0)
		return -1;
	if (cfg->masq & SVCC_MASQ_NON_POD) {
		f->pod_cidrs = add_set(l, fam, "pod-cidrs", ip, 0, 0, 1);
		if (f->pod_cidrs < 0)
			return -1;
		l->rs->sets[f->pod_cidrs].interval = true;
	}
	for (size_t i = 0; i < cfg->nmasq_from; i++) {
		if (fam_of(&cfg->masq_from[i].addr) != fam)
			continue;
		f->masq_from = add_set(l, fam, "masquerade-from", ip, 0, 0, 1);
		if (f->masq_from < 0)
			return -1;
		l->rs->sets[f->masq_from].interval = true;
		break;
	}
	for (int p = 0; p < NPROTO; p++)
	for (int s = 0; s < ENDPOINT_SHARDS; s++) {
		static const uint8_t protos[NPROTO] = { IPPROTO_TCP, IPPROTO_UDP, IPPROTO_SCTP };
		char base[40];

		f->shard[p][s] = -1;
		if (!f->slots[p][s])
			continue;
		snprintf(base, sizeof(base), "endpoints%s-%s-%d", fam == V6 ? "6" : "",
			 proto_name(protos[p]), s);
		f->shard[p][s] = add_set(l, V4, base, RS_F_U32, 0, 0, 1);
		if (f->shard[p][s] < 0)
			return -1;
		set = &l->rs->sets[f->shard[p][s]];
		set->family = fam == V6 ? RS_IPV6 : RS_IPV4;
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

static int add_cidrs(struct lowering *l, int idx, int fam, const struct cidr *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct rs_elem *e;

		if (fam_of(&v[i].addr) != fam)
			continue;
		e = rs_add_elem(&l->rs->sets[idx]);
		if (!e)
			return -1;
		put_addr(e->key, &v[i].addr);
		e->prefix = v[i].plen;
	}
	return 0;
}

/* Masquerade marks, per the policy, at the head of a service port's chain. */
static int add_mark_rules(struct lowering *l, struct rs_chain *c, int fam)
{
	const struct fam_sets *f = &l->fam[fam];
	struct rs_rule *r;

	if (l->cfg->masq & SVCC_MASQ_ALL) {
		if (!(r = rs_add_rule(c)))
			return -1;
		r->kind = RS_MARK;
		r->mark = RS_MARK_MASQ;
		return 0;
	}
	if (f->pod_cidrs >= 0) {
		if (!(r = rs_add_rule(c)))
			return -1;
		r->kind = RS_MARK_UNLESS_SADDR_IN;
		r->set = set_name(l, f->pod_cidrs);
		r->mark = RS_MARK_MASQ;
		r->family = fam == V6 ? RS_IPV6 : RS_IPV4;
	}
	if (f->masq_from >= 0) {
		if (!(r = rs_add_rule(c)))
			return -1;
		r->kind = RS_MARK_IF_SADDR_IN;
		r->set = set_name(l, f->masq_from);
		r->mark = RS_MARK_MASQ;
		r->family = fam == V6 ? RS_IPV6 : RS_IPV4;
	}
	return 0;
}

static int addr_ptr_cmp(const void *a, const void *b)
{
	return addr_cmp(&(*(const struct endpoint *const *)a)->addr,
			&(*(const struct endpoint *const *)b)->addr);
}

/* Chain, dispatch element and endpoint elements of one service port. */
static int lower_sport(struct lowering *l, const struct sport *sp)
{
	const struct svcc_service *svc = sp->svc;
	int fam = fam_of(&svc->vip);
	const struct fam_sets *f = &l->fam[fam];
	const struct endpoint **eps;
	struct rs_chain *c;
	struct rs_rule *r;
	struct rs_elem *e;
	size_t off;

	if (!svc->neps) {
		if (!(e = rs_add_elem(&l->rs->sets[f->no_endpoints])))
			return -1;
		off = put_addr(e->key, &svc->vip);
		off += put_proto(e->key + off, sp->port->proto);
		put_port(e->key + off, sp->port->port);
		return 0;
	}
	if (!(c = rs_add_chain(l->rs, sp->chain)) || add_mark_rules(l, c, fam))
		return -1;
	if (!(r = rs_add_rule(c)))
		return -1;
	r->kind = RS_DNAT_NUMGEN;
	r->family = fam == V6 ? RS_IPV6 : RS_IPV4;
	r->l4proto = sp->port->proto;
	r->mod = (uint32_t)svc->neps;
	r->offset = sp->offset;
	r->set = set_name(l, f->shard[proto_idx(sp->port->proto)][sp->shard]);

	if (!(e = rs_add_elem(&l->rs->sets[f->service_ips])))
		return -1;
	off = put_addr(e->key, &svc->vip);
	off += put_proto(e->key + off, sp->port->proto);
	put_port(e->key + off, sp->port->port);
	e->chain = c->name;

	/* Endpoint i is the i-th address in order: input order does not matter. */
	eps = malloc(svc->neps * sizeof(*eps));
	if (!eps)
		return -1;
	for (size_t i = 0; i < svc->neps; i++)
		eps[i] = &svc->eps[i];
	qsort(eps, svc->neps, sizeof(*eps), addr_ptr_cmp);
	for (size_t i = 0; i < svc->neps; i++) {
		uint32_t key = sp->offset + (uint32_t)i;

		if (!(e = rs_add_elem(&l->rs->sets[f->shard[proto_idx(sp->port->proto)][sp->shard]])))
			break;
		memcpy(e->key, &key, 4);
		off = put_addr(e->data, &eps[i]->addr);
		put_port(e->data + off, sp->port->target);
	}
	free(eps);
	return e ? 0 : -1;
}

static int add_hairpin(struct lowering *l)
{
	for (size_t i = 0; i < l->cfg->nservices; i++) {
		const struct svcc_service *svc = l->cfg->services[i];
		struct rs_set *set = &l->rs->sets[l->fam[fam_of(&svc->vip)].hairpin];

		for (size_t j = 0; j < svc->neps; j++) {
			struct rs_elem *e = rs_add_elem(set);
			size_t off;

			if (!e)
				return -1;
			off = put_addr(e->key, &svc->eps[j].addr);
			put_addr(e->key + off, &svc->eps[j].addr);
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
	struct rs_rule *r;

	if (!c || !(r = rs_add_rule(c)))
		return NULL;
	r->kind = kind;
	r->family = fam == V6 ? RS_IPV6 : RS_IPV4;
	r->set = set >= 0 ? set_name(l, set) : NULL;
	return r;
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

static int add_fixed_chains(struct lowering *l)
{
	struct rs_rule *r;

	if (!rs_add_chain(l->rs, "services") || !rs_add_chain(l->rs, "masquerading") ||
	    !rs_add_chain(l->rs, "reject-no-endpoints"))
		return -1;
	r = add_rule_to(l, "masquerading", RS_MASQ_MARKED, V4, -1);
	if (!r)
		return -1;
	r->mark = RS_MARK_MASQ;
	for (int fam = V4; fam < NFAM; fam++) {
		const struct fam_sets *f = &l->fam[fam];

		if (!f->used)
			continue;
		if (!add_rule_to(l, "services", RS_DISPATCH, fam, f->service_ips) ||
		    !add_rule_to(l, "masquerading", RS_MASQ_HAIRPIN, fam, f->hairpin) ||
		    !add_rule_to(l, "reject-no-endpoints", RS_REJECT_TCP_IF_DEST_IN, fam, f->no_endpoints) ||
		    !add_rule_to(l, "reject-no-endpoints", RS_REJECT_IF_DEST_IN, fam, f->no_endpoints))
			return -1;
	}
	/* nft 1.0.6 refuses "priority dstnat" on output: -100 is the same. */
	if (add_base_chain(l, "nat-prerouting", RS_HOOK_PREROUTING, true, -100, "services") ||
	    add_base_chain(l, "nat-output", RS_HOOK_OUTPUT, true, -100, "services") ||
	    add_base_chain(l, "nat-postrouting", RS_HOOK_POSTROUTING, true, 100, "masquerading") ||
	    add_base_chain(l, "filter-forward", RS_HOOK_FORWARD, false, 0, "reject-no-endpoints") ||
	    add_base_chain(l, "filter-output", RS_HOOK_OUTPUT, false, 0, "reject-no-endpoints"))
		return -1;
	return 0;
}

static void lowering_free(struct lowering *l)
{
	for (size_t i = 0; i < l->nsports; i++)
		free(l->sports[i].chain);
	free(l->sports);
	for (int fam = V4; fam < NFAM; fam++)
		for (int p = 0; p < NPROTO; p++)
			for (int s = 0; s < ENDPOINT_SHARDS; s++)
				free(l->fam[fam].slots[p][s]);
}

int lower(const struct svcc_config *cfg, const char *table, struct rs_ruleset **out)
{
	struct lowering l = { .cfg = cfg, .rs = rs_new(table) };
	int rc = -1;

	if (!l.rs || collect_sports(&l) || place_sports(&l))
		goto done;
	for (int fam = V4; fam < NFAM; fam++) {
		struct fam_sets *f = &l.fam[fam];

		if (!f->used)
			continue;
		if (add_fam_sets(&l, fam))
			goto done;
		if (f->pod_cidrs >= 0 &&
		    add_cidrs(&l, f->pod_cidrs, fam, cfg->pod_cidrs, cfg->npod_cidrs))
			goto done;
		if (f->masq_from >= 0 &&
		    add_cidrs(&l, f->masq_from, fam, cfg->masq_from, cfg->nmasq_from))
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
