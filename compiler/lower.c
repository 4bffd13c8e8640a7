/* SPDX-License-Identifier: MIT */
/*
 * Lowering: a checked configuration to the canonical ruleset.
 *
 * The shape (README "Ruleset shape" tells why, with measurements):
 *   services chain:  [firewall] [ip daddr @cluster-ips jump mark-cluster-ips]
 *                    ip daddr . meta l4proto . th dport vmap @service-ips
 *                    [nodeports] fib daddr type local meta l4proto . th dport vmap @nodeports
 *   mark-cluster-ips: mark for masquerade, per the masquerade policy (once,
 *                    not in every service port's chain)
 *   svc-NAME/PROTO/PORT, one chain per service port (and family) with endpoints:
 *                    meta l4proto P dnat ip to numgen inc mod N offset B map @endpoints-P-S
 *   ext-NAME/PROTO/PORT, for traffic to external, load-balancer and node addresses:
 *                    mark for masquerade, goto svc-…
 *   endpoints-P-S:   one of 64 or more maps per protocol (lw_shards), keyed B+i -> endpoint . port
 *   no-endpoints:    what has no endpoint is rejected (reject-no-endpoints, reject-nodeports)
 *   cluster-ips:     every vip: traffic to one that no DNAT took (a port the
 *                    service lacks) is rejected, and traffic to an address of a
 *                    service-cidr no service has is dropped (cluster-ips-check)
 *   masquerading:    marked packets, and hairpin: ip daddr & 0.0.0.255 vmap
 *                    @hairpin-shards to masq-hairpin-N, which masquerades the
 *                    endpoint . endpoint pairs of set hairpin-N
 * Service port -> (shard S, base B) depends only on the service port's own
 * name and the protocol's map count, so a change to one service never moves
 * another's elements unless the count changes (lw_shards: a step at 23k,
 * 94k, 374k, 1.5M keys of a protocol).
 * IPv6 objects carry a "6": svc6-…, ext6-…, service-ips6, endpoints6-…
 */
#include <stdlib.h>

#include "lower.h"
#include "ruleset_order.h"

static void lowering_free(struct lowering *l)
{
	lw_free_hairpin(l);	/* first: a thread may still read ep_addrs */
	free(l->sports);
	free(l->name);
	free(l->ep_pool);
	free(l->ep_scratch);
	free(l->ep_addrs[FAM4]);
	free(l->ep_addrs[FAM6]);
	free(l->elem_data);
	free(l->placed);
	for (int fam = FAM4; fam < NFAMILIES; fam++)
		for (int p = 0; p < NPROTO; p++) {
			free(l->fam[fam].shard[p]);
			free(l->fam[fam].shard_used[p]);
		}
}

/*
 * Room for every chain at once: doubling copied 0.5 MB at 10k services.
 * At most: a service port's chain and ext- chain, an affinity group's
 * per-endpoint chains, the hairpin and the fixed chains.
 */
static int reserve_chains(struct lowering *l)
{
	struct rs_ruleset *rs = l->rs;
	size_t n = rs->nchains + NFAMILIES * HAIRPIN_SHARDS + 16;
	struct rs_chain *v;

	for (size_t i = 0; i < l->nsports; i++) {
		const struct sport *sp = &l->sports[i];

		n += sp->any_eps ? 1 + sp->outside : 0;
		for (int gi = 0; gi < NGROUPS; gi++)
			n += sp->g[gi].affinity ? sp->g[gi].neps : 0;
	}
	if (n <= rs->chains_cap)
		return 0;
	if (!(v = realloc(rs->chains, n * sizeof(*v))))
		return -1;
	rs->chains = v;
	rs->chains_cap = n;
	return 0;
}

/* rs_finish, told which sets the lowering made in order: the endpoint maps and hairpin sets. */
static int finish(struct lowering *l)
{
	bool *in_order = calloc(l->rs->nsets + 1, sizeof(*in_order));
	int rc;

	if (!in_order)
		return -1;
	for (int fam = FAM4; fam < NFAMILIES; fam++) {
		const struct fam_sets *f = &l->fam[fam];

		if (!f->used)
			continue;
		for (int p = 0; p < NPROTO; p++)
			for (uint32_t s = 0; s < f->nshards[p]; s++)
				if (f->shard[p][s] >= 0)
					in_order[f->shard[p][s]] = true;
		for (int s = 0; s < HAIRPIN_SHARDS; s++)
			if (f->hairpin[s] >= 0)
				in_order[f->hairpin[s]] = true;
	}
	rc = rs_finish_known(l->rs, in_order);
	free(in_order);
	return rc;
}

int lower(const struct svcc_config *cfg, const char *table, const uint16_t (*shards)[3],
	  struct rs_ruleset **out)
{
	struct lowering l = { .cfg = cfg, .shards_wanted = shards, .rs = rs_new(table) };
	int rc = -1;

	if (cfg->pod_bridge || cfg->pod_iface_prefix) {
		strncpy((char *)l.pod_iface, cfg->pod_bridge ? cfg->pod_bridge : cfg->pod_iface_prefix,
			sizeof(l.pod_iface) - 1);
		l.pod_iface_prefix = !cfg->pod_bridge;
	}
	if (!l.rs || lw_collect(&l))
		goto done;
	lw_start_hairpin(&l);	/* needs only what lw_collect made */
	if (lw_place(&l))
		goto done;
	for (int fam = FAM4; fam < NFAMILIES; fam++) {
		struct fam_sets *f = &l.fam[fam];

		if (!f->used)
			continue;
		if (lw_add_fam_sets(&l, fam) ||
		    (f->pod_cidrs >= 0 && cfg->nnode_pod_cidrs &&
		     lw_add_cidrs(&l, f->pod_cidrs, fam, cfg->node_pod_cidrs, cfg->nnode_pod_cidrs)) ||
		    (f->pod_cidrs >= 0 && !cfg->nnode_pod_cidrs &&
		     lw_add_cidrs(&l, f->pod_cidrs, fam, cfg->pod_cidrs, cfg->npod_cidrs)) ||
		    (f->service_cidrs >= 0 &&
		     lw_add_cidrs(&l, f->service_cidrs, fam, cfg->service_cidrs,
				  cfg->nservice_cidrs)) ||
		    (f->masq_from >= 0 &&
		     lw_add_cidrs(&l, f->masq_from, fam, cfg->masq_from, cfg->nmasq_from)) ||
		    (f->node_ips >= 0 &&
		     lw_add_cidrs(&l, f->node_ips, fam, cfg->node_ips, cfg->nnode_ips)))
			goto done;
	}
	if (reserve_chains(&l))
		goto done;
	for (size_t i = 0; i < l.nsports; i++)
		if (lw_lower_sport(&l, &l.sports[i]))
			goto done;
	if (lw_add_endpoint_elems(&l) || lw_add_hairpin(&l) || lw_add_fixed_chains(&l) ||
	    finish(&l))
		goto done;
	for (int fam = FAM4; fam < NFAMILIES; fam++)
		for (int p = 0; p < NPROTO; p++)
			l.rs->ep_shards[fam][p] = (uint16_t)l.fam[fam].nshards[p];
	*out = l.rs;
	l.rs = NULL;
	rc = 0;
done:
	rs_free(l.rs);
	lowering_free(&l);
	return rc;
}
