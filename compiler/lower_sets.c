/* SPDX-License-Identifier: MIT */
/* The sets and maps of the table, and their elements. */
#include <pthread.h>
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
	f->node_ips = f->firewall = f->firewall_allow = f->service_cidrs = -1;
	f->service_ips = add_fam_set(l, fam, "service-ips", false, true, 3, ip, RS_F_PROTO, RS_F_PORT);
	f->no_endpoints = add_fam_set(l, fam, "no-endpoints", false, false, 3, ip, RS_F_PROTO, RS_F_PORT);
	f->hairpin_shards = add_fam_set(l, fam, "hairpin-shards", false, true, 1, ip);
	f->cluster_ips = add_fam_set(l, fam, "cluster-ips", false, false, 1, ip);
	if (f->service_ips < 0 || f->no_endpoints < 0 || f->hairpin_shards < 0 ||
	    f->cluster_ips < 0 ||
	    rs_reserve_elems(&l->rs->sets[f->service_ips], f->ndispatch))
		return -1;
	for (int i = 0; i < HAIRPIN_SHARDS; i++)
		f->hairpin[i] = -1;
	/* pods told by their interface instead: no set */
	if ((cfg->masq & SVCC_MASQ_NON_POD) && !l->pod_iface[0] &&
	    (f->pod_cidrs = add_fam_set(l, fam, "pod-cidrs", true, false, 1, ip)) < 0)
		return -1;
	if (has_family(cfg->service_cidrs, cfg->nservice_cidrs, fam) &&
	    (f->service_cidrs = add_fam_set(l, fam, "service-cidrs", true, false, 1, ip)) < 0)
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
		for (uint32_t s = 0; s < f->nshards[p]; s++) {
			enum rs_ftype key = RS_F_U32;
			struct rs_set *set;
			char name[40];

			f->shard[p][s] = -1;
			if (!f->shard_used[p][s])
				continue;
			snprintf(name, sizeof(name), "endpoints%s-%s-%u", sfx(fam),
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
int lw_add_dispatch(struct lowering *l, int idx, const struct addr *a,
		    const struct sport_port *p, const char *chain)
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
int lw_add_nodeport(struct lowering *l, int idx, const struct sport_port *p, const char *chain)
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
	if (!(c = lw_add_chain(l, chain, 1)) ||
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
 * Move the n addresses into shard order (by their last byte), in place:
 * one American flag pass.  start[s] is shard s's first address, start[s + 1]
 * its end.  In place: a copy of 100k addresses was a fault per 4 KiB.
 */
static void bucket_addrs(uint8_t *addrs, size_t n, size_t len,
			 size_t start[HAIRPIN_SHARDS + 1])
{
	size_t next[HAIRPIN_SHARDS] = { 0 }, sum = 0;
	uint8_t tmp[16];

	for (size_t i = 0; i < n; i++)
		next[addrs[i * len + len - 1]]++;
	for (int s = 0; s < HAIRPIN_SHARDS; s++) {
		size_t k = next[s];

		start[s] = next[s] = sum;
		sum += k;
	}
	start[HAIRPIN_SHARDS] = n;
	for (int s = 0; s < HAIRPIN_SHARDS; s++)
		while (next[s] < start[s + 1]) {
			uint8_t *a = addrs + next[s] * len, *b;
			unsigned int t = a[len - 1];

			if (t == (unsigned int)s) {
				next[s]++;
				continue;
			}
			b = addrs + next[t]++ * len;
			memcpy(tmp, b, len);
			memcpy(b, a, len);
			memcpy(a, tmp, len);
		}
}

/*
 * v: the n addresses at addrs in byte order.  An IPv6 address is sorted by
 * its low eight bytes, then, stably, by its high eight.
 */
static void sort_addrs(const uint8_t *addrs, struct keyed *v, size_t n, size_t len)
{
	for (size_t i = 0; i < n; i++)
		v[i] = (struct keyed){ len == 16 ? load_be64(addrs + i * len + 8)
						 : load_be32(addrs + i * len), (uint32_t)i };
	keyed_sort(v, v + n, n);
	if (len != 16)
		return;
	for (size_t i = 0; i < n; i++)
		v[i].key = load_be64(addrs + v[i].idx * len);
	keyed_sort(v, v + n, n);
}

/* Sorted v: how many different addresses. */
static size_t count_unique(const uint8_t *addrs, const struct keyed *v, size_t n, size_t len)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		k += !i || memcmp(addrs + v[i - 1].idx * len, addrs + v[i].idx * len, len);
	return k;
}

/* Shard s's pairs, n addresses at addrs sorted by v, each once; 0 or -1. */
static int make_shard_elems(struct hairpin_elems *h, unsigned int s, const uint8_t *addrs,
			    const struct keyed *v, size_t n, size_t len)
{
	size_t k = count_unique(addrs, v, n, len);
	size_t stride = RS_ELEM_SIZE(2 * len, 0);	/* the shard set's: key ADDR . ADDR */
	char *p = calloc(k, stride);

	if (!p)
		return -1;
	h->elems[s] = p;
	h->n[s] = k;
	for (size_t i = 0; i < n; i++) {
		const uint8_t *a = addrs + v[i].idx * len;
		struct rs_elem *e = (struct rs_elem *)p;

		if (i && !memcmp(addrs + v[i - 1].idx * len, a, len))
			continue;
		memcpy(e->key, a, len);
		memcpy(e->key + len, a, len);
		p += stride;
	}
	return 0;
}

/*
 * The hairpin pairs of one family, each address once and in order: the
 * shard sets come out sorted and free of repeats, rs_finish's work done.
 * The shards are sorted one by one: a sort of all addresses at once
 * needed 32 bytes of scratch per address.  Touches only h and addrs.
 */
static int make_hairpin_elems(struct hairpin_elems *h, uint8_t *addrs, size_t n, size_t len)
{
	size_t start[HAIRPIN_SHARDS + 1], most = 0;
	struct keyed *v;
	int rc = 0;

	bucket_addrs(addrs, n, len, start);
	for (int s = 0; s < HAIRPIN_SHARDS; s++)
		if (start[s + 1] - start[s] > most)
			most = start[s + 1] - start[s];
	if (!(v = malloc((2 * most + 1) * sizeof(*v))))
		return -1;
	for (unsigned int s = 0; s < HAIRPIN_SHARDS && !rc; s++) {
		size_t m = start[s + 1] - start[s];
		const uint8_t *a = addrs + start[s] * len;

		if (!m)
			continue;
		sort_addrs(a, v, m, len);
		rc = make_shard_elems(h, s, a, v, m, len);
	}
	free(v);
	return rc;
}

static void *hairpin_worker(void *arg)
{
	struct hairpin_job *job = arg;

	job->rc = 0;
	for (int fam = FAM4; fam < NFAMILIES; fam++)
		if (job->used[fam] && make_hairpin_elems(&job->h[fam], job->addrs[fam],
							 job->n[fam], addr_len(fam)))
			job->rc = -1;
	return NULL;
}

/*
 * Below this many endpoint addresses a thread costs more than it saves
 * (runtime/update.c lowers a few services at a time).
 */
#define HAIRPIN_THREAD_MIN 16384

/*
 * The hairpin elements need only the endpoint addresses: with many, they
 * are made by a second thread while this one places and lowers the
 * service ports.  At 10k services x 10 endpoints they took 3.5 ms here;
 * beside this thread, they cost it ~1.5 (the threads' page faults wait
 * for each other: 2 threads faulting 8 MB each take as long as one
 * faulting 16 MB on the 2-vCPU VM measured).
 */
void lw_start_hairpin(struct lowering *l)
{
	struct hairpin_job *job = &l->hairpin;

	for (int fam = FAM4; fam < NFAMILIES; fam++) {
		job->used[fam] = l->fam[fam].used;
		job->addrs[fam] = l->ep_addrs[fam];
		job->n[fam] = l->nep_addrs[fam];
	}
	job->started = job->n[FAM4] + job->n[FAM6] >= HAIRPIN_THREAD_MIN &&
		       !pthread_create(&job->thread, NULL, hairpin_worker, job);
}

/* Wait for the hairpin elements, or make them here.  0 or -1. */
static int join_hairpin(struct lowering *l)
{
	struct hairpin_job *job = &l->hairpin;

	if (!job->started)
		hairpin_worker(job);
	else if (pthread_join(job->thread, NULL))
		job->rc = -1;
	job->started = false;
	return job->rc;
}

/* Elements no set took: on error paths. */
void lw_free_hairpin(struct lowering *l)
{
	if (l->hairpin.started)
		join_hairpin(l);
	for (int fam = FAM4; fam < NFAMILIES; fam++)
		for (int s = 0; s < HAIRPIN_SHARDS; s++)
			free(l->hairpin.h[fam].elems[s]);
}

/* The made elements go to their shard sets, in shard order (hairpin-shards comes out sorted). */
static int add_hairpin_fam(struct lowering *l, int fam)
{
	struct hairpin_elems *h = &l->hairpin.h[fam];

	for (unsigned int s = 0; s < HAIRPIN_SHARDS; s++) {
		struct rs_set *set;
		int idx;

		if (!h->n[s])
			continue;
		if ((idx = hairpin_shard(l, fam, s)) < 0)
			return -1;
		set = &l->rs->sets[idx];
		if (set->stride != RS_ELEM_SIZE(2 * addr_len(fam), 0))
			return -1;	/* made for another layout: cannot be */
		free(set->elems);
		set->elems = h->elems[s];
		set->nelems = set->cap = h->n[s];
		h->elems[s] = NULL;
		h->n[s] = 0;
	}
	return 0;
}

int lw_add_hairpin(struct lowering *l)
{
	if (join_hairpin(l))
		return -1;
	for (int fam = FAM4; fam < NFAMILIES; fam++)
		if (l->fam[fam].used && add_hairpin_fam(l, fam))
			return -1;
	return 0;
}
