/* SPDX-License-Identifier: MIT */
/* The sets and maps of the table, and their elements. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lower.h"
#include "util.h"

const uint8_t lw_protos[NPROTO] = { IPPROTO_TCP, IPPROTO_UDP, IPPROTO_SCTP };

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

int lw_add_fam_sets(struct lowering *l, int fam)
{
	struct fam_sets *f = &l->fam[fam];
	const struct svcc_config *cfg = l->cfg;
	enum rs_ftype ip = ip_ftype(fam);

	f->pod_cidrs = f->masq_from = f->nodeports = f->no_endpoint_nodeports = -1;
	f->node_ips = f->firewall = f->firewall_allow = -1;
	f->service_ips = add_fam_set(l, fam, "service-ips", false, true, 3, ip, RS_F_PROTO, RS_F_PORT);
	f->no_endpoints = add_fam_set(l, fam, "no-endpoints", false, false, 3, ip, RS_F_PROTO, RS_F_PORT);
	f->hairpin_shards = add_fam_set(l, fam, "hairpin-shards", false, true, 1, ip);
	if (f->service_ips < 0 || f->no_endpoints < 0 || f->hairpin_shards < 0 ||
	    rs_reserve_elems(&l->rs->sets[f->service_ips], f->ndispatch))
		return -1;
	for (int i = 0; i < HAIRPIN_SHARDS; i++)
		f->hairpin[i] = -1;
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
	if (f->affinity_placed) {
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
		snprintf(name, sizeof(name), "affinity%s-%s", sfx(fam), proto_name(lw_protos[p]));
		f->affinity[p] = add_fam_set(l, FAM4, name, false, false, 3, ip, ip, RS_F_PORT);
		if (f->affinity[p] < 0)
			return -1;
		set = &l->rs->sets[f->affinity[p]];
		set->family = rs_fam(fam);
		set->l4proto = lw_protos[p];
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
			if (!f->shard_used[p][s])
				continue;
			snprintf(name, sizeof(name), "endpoints%s-%s-%d", sfx(fam),
				 proto_name(lw_protos[p]), s);
			f->shard[p][s] = add_set(l, name, rs_fam(fam), &key, 1);
			if (f->shard[p][s] < 0)
				return -1;
			set = &l->rs->sets[f->shard[p][s]];
			set->l4proto = lw_protos[p];
			set->data[0] = ip;
			set->data[1] = RS_F_PORT;
			set->ndata = 2;
			rs_set_layout(set);
		}
	return 0;
}

const char *lw_set_name(struct lowering *l, int idx)
{
	return l->rs->sets[idx].name;
}

struct rs_elem *lw_elem(struct lowering *l, int set)
{
	return rs_add_elem(&l->rs->sets[set]);
}

int lw_add_cidrs(struct lowering *l, int idx, int fam, const struct cidr *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct rs_elem *e;

		if (addr_fam(&v[i].addr) != fam)
			continue;
		if (!(e = lw_elem(l, idx)))
			return -1;
		put_addr(e->key, &v[i].addr);
		e->prefix = v[i].plen;
	}
	return 0;
}

/* An element "ADDR . PROTO . PORT" [: goto CHAIN] in set idx. */
int lw_add_dispatch(struct lowering *l, int idx, const struct addr *a, const struct port *p,
			const char *chain)
{
	struct rs_elem *e = lw_elem(l, idx);
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
int lw_add_nodeport(struct lowering *l, int idx, const struct port *p, const char *chain)
{
	struct rs_elem *e = lw_elem(l, idx);

	if (!e)
		return -1;
	put_port(e->key + put_proto(e->key, p->proto), p->nodeport);
	e->chain = chain;
	return 0;
}

/*
 * Hairpin shard N of family fam: set hairpin-N, chain masq-hairpin-N that
 * masquerades its pairs, and the element that leads there.  Made for the
 * first address ending in N.  Returns the set's index, or -1.
 */
static int hairpin_shard(struct lowering *l, int fam, unsigned int n)
{
	struct fam_sets *f = &l->fam[fam];
	enum rs_ftype ip = ip_ftype(fam);
	struct rs_chain *c;
	struct rs_elem *e;
	char name[32], chain[40];
	int idx;

	if (f->hairpin[n] >= 0)
		return f->hairpin[n];
	snprintf(name, sizeof(name), "hairpin%s-%u", sfx(fam), n);
	snprintf(chain, sizeof(chain), "masq-%s", name);
	/* named already: no family suffix at the end */
	if ((idx = add_fam_set(l, FAM4, name, false, false, 2, ip, ip)) < 0)
		return -1;
	l->rs->sets[idx].family = rs_fam(fam);
	if (!(c = rs_add_chain(l->rs, chain)) ||
	    !lw_add_rule(c, RS_MASQ_HAIRPIN, fam, lw_set_name(l, idx)) ||
	    !(e = lw_elem(l, f->hairpin_shards)))
		return -1;
	e->key[(fam == FAM6 ? 16 : 4) - 1] = (uint8_t)n;
	e->chain = c->name;
	return f->hairpin[n] = idx;
}

static size_t addr_len(int fam)
{
	return fam == FAM6 ? 16 : 4;
}

/*
 * v: the addresses in byte order.  An IPv6 address is sorted by its low
 * eight bytes, then, stably, by its high eight.
 */
static void sort_addrs(const uint8_t *addrs, struct keyed *v, size_t n, int fam)
{
	size_t len = addr_len(fam);

	for (size_t i = 0; i < n; i++)
		v[i] = (struct keyed){ fam == FAM6 ? load_be64(addrs + i * len + 8)
						   : load_be32(addrs + i * len), (uint32_t)i };
	keyed_sort(v, v + n, n);
	if (fam != FAM6)
		return;
	for (size_t i = 0; i < n; i++)
		v[i].key = load_be64(addrs + v[i].idx * len);
	keyed_sort(v, v + n, n);
}

/* Drop repeated addresses from sorted v; count each shard's.  The count left. */
static size_t unique_addrs(const uint8_t *addrs, struct keyed *v, size_t n, int fam,
			   size_t count[HAIRPIN_SHARDS])
{
	size_t len = addr_len(fam), kept = 0;

	for (size_t i = 0; i < n; i++) {
		const uint8_t *a = addrs + v[i].idx * len;

		if (kept && !memcmp(addrs + v[kept - 1].idx * len, a, len))
			continue;
		count[a[len - 1]]++;
		v[kept++] = v[i];
	}
	return kept;
}

/*
 * The hairpin pairs of one family, each address once and in order: the
 * shard sets come out sorted and free of repeats, rs_finish's work done.
 */
static int add_hairpin_fam(struct lowering *l, int fam)
{
	size_t n = l->nep_addrs[fam], len = addr_len(fam), count[HAIRPIN_SHARDS] = { 0 };
	const uint8_t *addrs = l->ep_addrs[fam];
	struct rs_elem *next[HAIRPIN_SHARDS];
	struct keyed *v = malloc((2 * n + 1) * sizeof(*v));

	if (!v)
		return -1;
	sort_addrs(addrs, v, n, fam);
	n = unique_addrs(addrs, v, n, fam, count);
	/* shards in order: the hairpin-shards map comes out sorted too */
	for (unsigned int s = 0; s < HAIRPIN_SHARDS; s++) {
		int idx;

		if (!count[s])
			continue;
		if ((idx = hairpin_shard(l, fam, s)) < 0 ||
		    !(next[s] = rs_add_elems(&l->rs->sets[idx], count[s]))) {
			free(v);
			return -1;
		}
	}
	for (size_t i = 0; i < n; i++) {
		const uint8_t *a = addrs + v[i].idx * len;
		struct rs_elem *e = next[a[len - 1]]++;

		memcpy(e->key, a, len);
		memcpy(e->key + len, a, len);
	}
	free(v);
	return 0;
}

int lw_add_hairpin(struct lowering *l)
{
	for (int fam = FAM4; fam < NFAMILIES; fam++)
		if (l->fam[fam].used && add_hairpin_fam(l, fam))
			return -1;
	return 0;
}
