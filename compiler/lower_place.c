/* SPDX-License-Identifier: MIT */
/* Which endpoints each service port uses, and where their keys go. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lower.h"
#include "util.h"

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
	/* affinity holds on whichever path a client comes by */
	for (int gi = 0; gi < NGROUPS; gi++)
		sp->g[gi].affinity = svc->affinity_timeout != 0;
	for (int gi = 0; gi < NGROUPS; gi++)
		if (sp->g[gi].used && pick_endpoints(sp, gi))
			return -1;
	return 0;
}

int lw_collect(struct lowering *l)
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

int lw_place(struct lowering *l)
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

