/* SPDX-License-Identifier: MIT */
/* Which endpoints each service port uses, and where their keys go. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lower.h"
#include "util.h"

static bool reached_from_outside(const struct svcc_service *svc, const struct port *p)
{
	return p->nodeport || svc->nexternal_ips || svc->nlb_ips;
}

/* addr_cmp's order, without the call: endpoints are sorted by it */
static int ep_order(const struct endpoint *a, const struct endpoint *b)
{
	if (a->addr.family != b->addr.family)
		return a->addr.family - b->addr.family;
	return memcmp(a->addr.bytes, b->addr.bytes, a->addr.family == 4 ? 4 : 16);
}

static int ep_ptr_cmp(const void *a, const void *b)
{
	return ep_order(*(const struct endpoint *const *)a, *(const struct endpoint *const *)b);
}

/* Endpoints mostly come in order already: insertion sort, unless there are many. */
static void sort_eps(const struct endpoint **v, size_t n)
{
	if (n > 32) {
		qsort(v, n, sizeof(*v), ep_ptr_cmp);
		return;
	}
	for (size_t i = 1; i < n; i++) {
		const struct endpoint *x = v[i];
		size_t j = i;

		for (; j > 0 && ep_order(v[j - 1], x) > 0; j--)
			v[j] = v[j - 1];
		v[j] = x;
	}
}

/* ---- topology (kube-proxy's topology.go) -------------------------------- */

enum topo_mode { TOPO_ALL, TOPO_NODE, TOPO_ZONE };

static bool has_name(char *const *v, size_t n, const char *name)
{
	for (size_t i = 0; name && i < n; i++)
		if (!strcmp(v[i], name))
			return true;
	return false;
}

/*
 * An endpoint's zone (node) hints contain name; *any: it has some.  Hints
 * are the ones given (hint-zone, hint-node), or, with traffic-distribution,
 * what the EndpointSlice controller would give: the endpoint's own zone
 * (prefer-same-zone, prefer-same-node), its own node (prefer-same-node;
 * a local endpoint's is this node).
 */
/* The hint traffic-distribution gives an endpoint: its own zone, or node. */
static const char *own_place(const struct svcc_config *cfg, const struct svcc_service *svc,
			     const struct endpoint *e, bool node)
{
	const struct ep_topo *t = e->topo;

	if (!svc->traffic_distribution)
		return NULL;
	if (!node)
		return t ? t->zone : NULL;
	if (svc->traffic_distribution != TD_SAME_NODE)
		return NULL;
	if (t && t->node)
		return t->node;
	return e->local ? cfg->node_name : NULL;	/* a local endpoint is on this node */
}

static bool hinted(const struct svcc_config *cfg, const struct svcc_service *svc,
		   const struct endpoint *e, bool node, const char *name, bool *any)
{
	const struct ep_topo *t = e->topo;
	const char *own;

	if (t && (node ? t->nhint_nodes : t->nhint_zones)) {
		*any = true;
		return node ? has_name(t->hint_nodes, t->nhint_nodes, name)
			    : has_name(t->hint_zones, t->nhint_zones, name);
	}
	own = own_place(cfg, svc, e, node);
	*any = own != NULL;
	return own && name && !strcmp(own, name);
}

/*
 * Which ready endpoints the cluster path uses: those hinted for this node,
 * when every ready endpoint has node hints and one names this node; else
 * those hinted for this zone, when every one has zone hints and one names
 * this zone; else all.
 */
static enum topo_mode topo_mode(const struct svcc_config *cfg, const struct svcc_service *svc,
				int fam)
{
	bool all_node = true, for_node = false, all_zone = true, for_zone = false, any, some = false;

	for (size_t i = 0; i < svc->neps; i++) {
		const struct endpoint *e = &svc->eps[i];

		if (addr_fam(&e->addr) != fam || e->terminating)
			continue;
		some = true;
		for_node |= hinted(cfg, svc, e, true, cfg->node_name, &any);
		all_node &= any;
		for_zone |= hinted(cfg, svc, e, false, cfg->zone, &any);
		all_zone &= any;
	}
	if (some && all_node && for_node)
		return TOPO_NODE;
	if (some && all_zone && for_zone)
		return TOPO_ZONE;
	return TOPO_ALL;
}

static bool topo_ok(const struct svcc_config *cfg, const struct svcc_service *svc,
		    const struct endpoint *e, enum topo_mode m)
{
	bool any;

	if (m == TOPO_NODE)
		return hinted(cfg, svc, e, true, cfg->node_name, &any);
	if (m == TOPO_ZONE)
		return hinted(cfg, svc, e, false, cfg->zone, &any);
	return true;
}

/*
 * The endpoints of a group: the ready ones, or, when none is ready, the
 * terminating ones (kube-proxy's fallback); only local ones for G_LOCAL.
 * An affinity group keeps them (in the pool, sized by lw_collect); the
 * others need them only for their elements' data, made here.
 */
static int pick_endpoints(struct lowering *l, struct sport *sp, int gi,
			  const struct endpoint ***pool)
{
	size_t len = sp->fam == FAM6 ? 16 : 4;
	const struct svcc_service *svc = sp->svc;
	struct group *g = &sp->g[gi];
	const struct endpoint **eps = g->affinity ? *pool : l->ep_scratch;
	bool any_ready = false;
	/* topology: the cluster path only, and ready endpoints only (not the fallback) */
	enum topo_mode mode = gi == G_CLUSTER ? topo_mode(l->cfg, svc, sp->fam) : TOPO_ALL;

	for (size_t i = 0; i < svc->neps; i++) {
		const struct endpoint *e = &svc->eps[i];

		sp->any_eps |= addr_fam(&e->addr) == sp->fam;
		if (addr_fam(&e->addr) == sp->fam && (gi != G_LOCAL || e->local) && !e->terminating)
			any_ready = true;
	}
	for (size_t i = 0; i < svc->neps; i++) {
		const struct endpoint *e = &svc->eps[i];

		if (addr_fam(&e->addr) != sp->fam || (gi == G_LOCAL && !e->local) ||
		    e->terminating == any_ready || (any_ready && !topo_ok(l->cfg, svc, e, mode)))
			continue;
		eps[g->neps++] = e;
		g->nkeys += e->weight;
		memcpy(l->ep_addrs[sp->fam] + len * l->nep_addrs[sp->fam]++, e->addr.bytes, len);
	}
	sort_eps(eps, g->neps);
	if (g->affinity) {
		g->eps = eps;
		*pool += g->neps;
		return 0;
	}
	return lw_endpoint_data(l, sp, g, eps);
}

/* Which groups the vip and the outside use, per the traffic policies. */
static int pick_groups(struct lowering *l, struct sport *sp, const struct endpoint ***pool)
{
	const struct svcc_service *svc = sp->svc;

	sp->internal = svc->internal_local ? G_LOCAL : G_CLUSTER;
	sp->external = svc->external_local ? G_LOCAL : G_CLUSTER;
	sp->g[sp->internal].used = true;
	if (sp->outside)
		sp->g[sp->external].used = true;
	/* affinity holds on whichever path a client comes by */
	for (int gi = 0; gi < NGROUPS; gi++)
		sp->g[gi].affinity = svc->affinity_timeout != 0;
	for (int gi = 0; gi < NGROUPS; gi++)
		if (sp->g[gi].used && pick_endpoints(l, sp, gi, pool))
			return -1;
	return 0;
}

/* The groups a service port of svc uses: the vip's, and maybe the outside's. */
static size_t groups_used(const struct svcc_service *svc, const struct port *p)
{
	return reached_from_outside(svc, p) && svc->external_local != svc->internal_local ? 2 : 1;
}

/*
 * Room for the sports, the affinity groups' endpoints, the endpoint
 * addresses, and a name.  Only what is touched costs: the big blocks are
 * fresh pages, sized for both families.
 */
static int size_collect(struct lowering *l)
{
	const struct svcc_config *cfg = l->cfg;
	size_t n = 0, eps = 0, kept = 0, most = 0, name = 0;

	for (size_t i = 0; i < cfg->nservices; i++) {
		const struct svcc_service *svc = cfg->services[i];
		size_t len = strlen(svc->name);

		name = len > name ? len : name;
		most = svc->neps > most ? svc->neps : most;
		for (size_t j = 0; j < svc->nports; j++) {
			size_t k = NFAMILIES * groups_used(svc, &svc->ports[j]) * svc->neps;

			n += NFAMILIES;
			eps += k;
			kept += svc->affinity_timeout ? k : 0;
		}
	}
	/* "svc6-" NAME "/sctp/65535" "/local" "/I" */
	l->name_size = name + sizeof("svc6-/sctp/65535/local") + 24;
	l->name = malloc(l->name_size);
	l->sports = calloc(n ? n : 1, sizeof(*l->sports));
	l->ep_pool = malloc((kept ? kept : 1) * sizeof(*l->ep_pool));
	l->ep_scratch = malloc((most ? most : 1) * sizeof(*l->ep_scratch));
	l->ep_addrs[FAM4] = malloc(eps * 4 + 1);
	l->ep_addrs[FAM6] = malloc(eps * 16 + 1);
	return l->name && l->sports && l->ep_pool && l->ep_scratch && l->ep_addrs[FAM4] &&
	       l->ep_addrs[FAM6] ? 0 : -1;
}

/* The decimal digits of n at the end of buf[8]: the first. */
static char *put_digits(char buf[8], unsigned int n)
{
	char *d = buf + 8;

	do
		*--d = (char)('0' + n % 10);
	while (n /= 10);
	return d;
}

size_t lw_sport_name(struct lowering *l, const struct sport *sp, const char *kind,
		     const char *suffix)
{
	const char *pn = proto_name(sp->port.proto);
	char digits[8], *d = put_digits(digits, sp->port.port), *p = l->name;

	/* by hand: asprintf was a fifth of collecting */
	p = mempcpy(p, kind, 3);
	if (sp->fam == FAM6)
		*p++ = '6';
	*p++ = '-';
	p = mempcpy(p, sp->svc->name, strlen(sp->svc->name));
	*p++ = '/';
	p = mempcpy(p, pn, strlen(pn));
	*p++ = '/';
	p = mempcpy(p, d, (size_t)(digits + sizeof(digits) - d));
	p = stpcpy(p, suffix);
	return (size_t)(p - l->name);
}

static size_t ndigits(size_t n)
{
	size_t d = 1;

	while (n >= 10) {
		n /= 10;
		d++;
	}
	return d;
}

/*
 * The length of the longest chain name lw_sport_name() makes for svc: the
 * svc-, ext- and aff- chains of its ports in each family.  An aff- chain's
 * index is below its group's endpoint count, at most the family's.  With
 * kind and suffix, which one ("svc6", "/sctp/65535/local/12"), for messages.
 */
size_t lw_longest_chain(const struct svcc_service *svc, char kind[8], char suffix[64])
{
	size_t longest = 0, neps[NFAMILIES] = { 0 }, at_port = 0;
	bool local = svc->internal_local || svc->external_local;
	int at_fam = FAM4;

	for (size_t i = 0; i < svc->neps; i++)
		neps[addr_fam(&svc->eps[i].addr)]++;
	for (int fam = FAM4; fam < NFAMILIES; fam++) {
		/* "svc" and "ext" are as long as "aff"; then "[6]-NAME" */
		size_t base = 3 + (fam == FAM6) + 1 + strlen(svc->name);

		if (!svc->has_vip[fam])
			continue;
		if (svc->affinity_timeout && neps[fam])
			base += (local ? 6 : 0) + 1 + ndigits(neps[fam] - 1);
		for (size_t j = 0; j < svc->nports; j++) {
			const struct port *p = &svc->ports[j];
			size_t len = base + 1 + strlen(proto_name(p->proto)) + 1 + ndigits(p->port);

			if (len > longest) {
				longest = len;
				at_fam = fam;
				at_port = j;
			}
		}
	}
	if (longest && kind) {
		const struct port *p = &svc->ports[at_port];
		bool aff = svc->affinity_timeout && neps[at_fam];

		snprintf(kind, 8, "%s%s", aff ? "aff" : "svc", at_fam == FAM6 ? "6" : "");
		if (aff)
			snprintf(suffix, 64, "/%s/%u%s/%zu", proto_name(p->proto), p->port,
				 local ? "/local" : "", neps[at_fam] - 1);
		else
			snprintf(suffix, 64, "/%s/%u", proto_name(p->proto), p->port);
	}
	return longest;
}

static bool to_place(const struct group *g)
{
	return g->used && g->neps;
}

/*
 * FNV-1a of the names of the groups to place: the chain's, and the
 * chain's + "/local".  A tenth of lowering: a multiply per byte, one
 * after another.
 */
static void hash_names(struct lowering *l, struct sport *sp)
{
	struct group *g = sp->g;

	if (to_place(&g[G_CLUSTER]) || to_place(&g[G_LOCAL]))
		g[G_CLUSTER].hash = hash64(l->name, lw_sport_name(l, sp, "svc", ""));
	if (to_place(&g[G_LOCAL]))
		g[G_LOCAL].hash = hash64_more(g[G_CLUSTER].hash, "/local", 6);
}

static int collect_sport(struct lowering *l, const struct svcc_service *svc,
			  const struct port *p, int fam, const struct endpoint ***pool)
{
	struct sport *sp = &l->sports[l->nsports++];

	sp->svc = svc;
	sp->port = (struct sport_port){ .name = p->name, .port = p->port, .target = p->target,
					.nodeport = p->nodeport, .proto = p->proto };
	sp->vip = svc->vip[fam];
	sp->fam = (uint8_t)fam;
	sp->outside = reached_from_outside(svc, p);
	if (p->nodeport)
		l->fam[fam].nodeports_used = true;
	if (svc->nsource_ranges && svc->nlb_ips)
		l->fam[fam].firewall_used = true;
	if (svc->affinity_timeout)
		l->fam[fam].affinity_used[proto_idx(p->proto)] = true;
	l->fam[fam].ndispatch += 1 + svc->nexternal_ips + svc->nlb_ips;
	if (pick_groups(l, sp, pool))
		return -1;
	hash_names(l, sp);
	return 0;
}

int lw_collect(struct lowering *l)
{
	const struct svcc_config *cfg = l->cfg;
	const struct endpoint **pool;

	if (size_collect(l))
		return -1;
	pool = l->ep_pool;
	for (size_t i = 0; i < cfg->nservices; i++) {
		const struct svcc_service *svc = cfg->services[i];

		for (int fam = FAM4; fam < NFAMILIES; fam++) {
			if (!svc->has_vip[fam])
				continue;
			l->fam[fam].used = true;
			for (size_t j = 0; j < svc->nports; j++)
				if (collect_sport(l, svc, &svc->ports[j], fam, &pool))
					return -1;
		}
	}
	return 0;
}

/* ---- placement ----------------------------------------------------------- */

/*
 * Each endpoint group wants the slot its name hashes to, in a shard its
 * name hashes to.  Where two groups of a map want the same slot (a hash
 * collision), the map's groups take slots in name order, a taken slot
 * going to the next free one, so that the result does not depend on input
 * order.  Where none collide, each group gets the slot it wants in any
 * order: only the few maps with a collision need the name order.
 */

/* Map numbers, per family: the endpoint maps, then the affinity-endpoints map. */
#define AFFINITY_MAP (NPROTO * MAX_ENDPOINT_SHARDS)

/* The map and slot g wants, as placed's key: (family, map) << 32 | offset. */
static struct placed want_slot(const struct lowering *l, struct sport *sp, struct group *g)
{
	uint64_t h = g->hash;
	uint32_t slot = (uint32_t)(h >> 32) % SLOTS_PER_SHARD, map;
	int p = proto_idx(sp->port.proto);

	g->shard = (uint32_t)(h % l->fam[sp->fam].nshards[p]);
	/* affinity groups are keys of the one affinity-endpoints map */
	map = g->affinity ? AFFINITY_MAP : (uint32_t)p * MAX_ENDPOINT_SHARDS + g->shard;
	g->offset = slot << 16;
	return (struct placed){
		.key = (uint64_t)(sp->fam * (AFFINITY_MAP + 1) + map) << 32 | g->offset,
		.sp = sp,
		.g = g,
	};
}

/* The placed groups by (family, map, offset). */
static int sort_placed(struct lowering *l)
{
	size_t n = l->nplaced;
	struct keyed *v = malloc((2 * n + 1) * sizeof(*v));
	struct placed *sorted = malloc((n + 1) * sizeof(*sorted));

	if (!v || !sorted) {
		free(v);
		free(sorted);
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		v[i] = (struct keyed){ l->placed[i].key, (uint32_t)i };
	keyed_sort(v, v + n, n);
	for (size_t i = 0; i < n; i++)
		sorted[i] = l->placed[v[i].idx];
	free(v);
	free(l->placed);
	l->placed = sorted;
	return 0;
}

/* A group of a map with a collision, in the order it takes its slot. */
struct contender {
	const char *chain;	/* its service port's chain, then G_CLUSTER before G_LOCAL */
	struct placed *pl;
};

/* The n groups of one map take their slots in name order; 0 or -1. */
static int settle_map(struct lowering *l, struct placed *v, size_t n)
{
	struct contender *c = malloc(n * sizeof(*c));
	uint8_t *taken = calloc(SLOTS_PER_SHARD / 8, 1);
	char *names = malloc(n * l->name_size);	/* few: maps with a collision are rare */
	size_t k = 0;
	int rc = -1;

	if (!c || !taken || !names)
		goto out;
	for (int gi = 0; gi < NGROUPS; gi++)
		for (size_t i = 0; i < n; i++)
			if (v[i].g == &v[i].sp->g[gi]) {
				char *name = names + k * l->name_size;

				lw_sport_name(l, v[i].sp, "svc", "");
				strcpy(name, l->name);
				c[k++] = (struct contender){ name, &v[i] };
			}
	if (rs_sort_by_name(c, n, sizeof(*c), offsetof(struct contender, chain)))
		goto out;
	for (size_t i = 0; i < n; i++) {
		struct group *g = c[i].pl->g;
		uint32_t slot = g->offset >> 16;

		/* There are at most as many groups as slots in all shards. */
		while (taken[slot / 8] & (1u << (slot % 8)))
			slot = (slot + 1) % SLOTS_PER_SHARD;
		taken[slot / 8] |= (uint8_t)(1u << (slot % 8));
		g->offset = slot << 16;
		c[i].pl->key = (c[i].pl->key >> 32) << 32 | g->offset;
	}
	rc = 0;
out:
	free(c);
	free(taken);
	free(names);
	return rc;
}

/* Settle the maps where two groups want one slot; *moved if any. */
static int settle_collisions(struct lowering *l, bool *moved)
{
	for (size_t i = 0, j; i < l->nplaced; i = j) {
		uint64_t map = l->placed[i].key >> 32;
		bool collision = false;

		for (j = i + 1; j < l->nplaced && l->placed[j].key >> 32 == map; j++)
			collision |= l->placed[j].key == l->placed[j - 1].key;
		if (collision && settle_map(l, l->placed + i, j - i))
			return -1;
		*moved |= collision;
	}
	return 0;
}

/*
 * How many endpoint maps for a protocol's keys.  A map named by D rules
 * (one binding each) and holding E elements costs the kernel's commit a
 * walk of its D bindings per element added and per rule bound
 * (KERNEL-SCALING fact 2); each of those rules also finds its map by name,
 * walking the table's sets up to it (fact 3).  Over S maps that is about
 * keys*D/S*b + D*S/2*a, least at S = sqrt(2*keys*b/a).  With the rules
 * bound map by map (rs_rule_order) a binding walk stays in the cache:
 * b/a = 0.175 measured here, so S = sqrt(0.35*keys), rounded to a power of
 * two: 64 maps up to 23k keys, 128 to 94k, 256 to 374k (the bench's 10k
 * services x 10 endpoints have 100k TCP keys), 512 to 1.5M.  At 1M
 * endpoints 512 maps and 1,024 both took 8.5 s, 256 took 10.5 s; at 10k
 * services 320 maps in all took 0.75 s against 0.80 s for 768 (medians).
 */
uint32_t lw_shards(size_t keys)
{
	uint32_t s = MIN_ENDPOINT_SHARDS;

	while (s < MAX_ENDPOINT_SHARDS && 2.0 * s * s < 0.35 * (double)keys)
		s *= 2;
	return s;
}

/* Each family's and protocol's endpoint map count: wanted, or by its keys. */
static int choose_shards(struct lowering *l)
{
	size_t keys[NFAMILIES][NPROTO] = { { 0 } };

	for (size_t i = 0; i < l->nsports; i++) {
		const struct sport *sp = &l->sports[i];

		for (int gi = 0; gi < NGROUPS; gi++)
			if (to_place(&sp->g[gi]) && !sp->g[gi].affinity)
				keys[sp->fam][proto_idx(sp->port.proto)] += sp->g[gi].nkeys;
	}
	for (int fam = FAM4; fam < NFAMILIES; fam++)
		for (int p = 0; p < NPROTO; p++) {
			struct fam_sets *f = &l->fam[fam];
			uint32_t want = l->shards_wanted ? l->shards_wanted[fam][p] : 0;

			f->nshards[p] = want ? want : lw_shards(keys[fam][p]);
			if (!(f->shard[p] = malloc(f->nshards[p] * sizeof(*f->shard[p]))) ||
			    !(f->shard_used[p] = calloc(f->nshards[p], sizeof(*f->shard_used[p]))))
				return -1;
		}
	return 0;
}

int lw_place(struct lowering *l)
{
	size_t n = 0, kept = 0;
	bool moved = false;

	if (choose_shards(l))
		return -1;
	for (size_t i = 0; i < l->nsports; i++)
		for (int gi = 0; gi < NGROUPS; gi++)
			n += to_place(&l->sports[i].g[gi]);
	if (!(l->placed = malloc((n + 1) * sizeof(*l->placed))))
		return -1;
	for (size_t i = 0; i < l->nsports; i++) {
		struct sport *sp = &l->sports[i];

		for (int gi = 0; gi < NGROUPS; gi++)
			if (to_place(&sp->g[gi]))
				l->placed[l->nplaced++] = want_slot(l, sp, &sp->g[gi]);
	}
	if (sort_placed(l) || settle_collisions(l, &moved) || (moved && sort_placed(l)))
		return -1;
	/* what the sets need to know; placed keeps the endpoint-map groups */
	for (size_t i = 0; i < l->nplaced; i++) {
		const struct placed *pl = &l->placed[i];
		struct fam_sets *f = &l->fam[pl->sp->fam];

		if (pl->g->affinity) {
			f->affinity_placed = true;
			continue;
		}
		f->shard_used[proto_idx(pl->sp->port.proto)][pl->g->shard] = true;
		l->placed[kept++] = *pl;
	}
	l->nplaced = kept;
	return 0;
}
