/* SPDX-License-Identifier: MIT */
/* Client-ip session affinity. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lower.h"
#include "util.h"

/*
 * Client-ip affinity: a client that chose an endpoint lately goes there
 * again (the dynamic map affinity-P remembers client . destination ->
 * endpoint); else numgen picks one of the group's per-endpoint chains,
 * which remember the choice and DNAT.  The timeout counts from the
 * client's last new connection.
 */
int lw_add_affinity(struct lowering *l, const struct sport *sp, struct group *g,
			struct rs_chain *c)
{
	const struct fam_sets *f = &l->fam[sp->fam];
	const char *map = lw_set_name(l, f->affinity[proto_idx(sp->port.proto)]);
	const char *suffix = g == &sp->g[G_LOCAL] ? "/local" : "";
	struct rs_rule *r;
	uint32_t key = g->offset;

	/* a remembered client's entry is refreshed by each new connection,
	 * as kube-proxy's; should it expire in between, it names the
	 * group's first endpoint */
	if (!(r = lw_add_rule(c, RS_AFFINITY_REFRESH, sp->fam, map)))
		return -1;
	r->l4proto = sp->port.proto;
	r->timeout = sp->svc->affinity_timeout;
	put_addr(r->addr, &g->eps[0]->addr);
	r->port = lw_target_port(&sp->port, g->eps[0]);
	if (!(r = lw_add_rule(c, RS_AFFINITY_DNAT, sp->fam, map)))
		return -1;
	r->l4proto = sp->port.proto;
	if (!(r = lw_add_rule(c, RS_NUMGEN_VMAP, sp->fam, lw_set_name(l, f->affinity_endpoints))))
		return -1;
	r->mod = g->nkeys;
	r->offset = g->offset;
	if (g->emitted)
		return 0;
	g->emitted = true;
	for (size_t i = 0; i < g->neps; i++) {
		const struct endpoint *ep = g->eps[i];
		size_t len = lw_sport_name(l, sp, "aff", suffix);
		struct rs_chain *ec;

		/* "aff[6]-NAME/PROTO/PORT[/local]/I" */
		snprintf(l->name + len, 24, "/%zu", i);
		ec = lw_add_chain(l, l->name, 2);
		if (!ec || !(r = lw_add_rule(ec, RS_AFFINITY_UPDATE, sp->fam, map)))
			return -1;
		r->l4proto = sp->port.proto;
		r->timeout = sp->svc->affinity_timeout;
		put_addr(r->addr, &ep->addr);
		r->port = lw_target_port(&sp->port, ep);
		if (!(r = lw_add_rule(ec, RS_DNAT_TO, sp->fam, NULL)))
			return -1;
		r->l4proto = sp->port.proto;
		put_addr(r->addr, &ep->addr);
		r->port = lw_target_port(&sp->port, ep);
		for (uint16_t w = 0; w < ep->weight; w++) {
			struct rs_elem *e = lw_elem(l, f->affinity_endpoints);

			if (!e)
				return -1;
			memcpy(e->key, &key, 4);
			key++;
			e->chain = ec->name;
		}
	}
	return 0;
}

