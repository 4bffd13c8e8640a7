/* SPDX-License-Identifier: MIT */
/*
 * Configs made of parts (one per file, as the agent reads a directory):
 * one config added into another, and what differs between two of them,
 * so that a change is applied service by service.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "svcc.h"
#include "util.h"

static bool str_eq(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

static bool cidr_eq(const struct cidr *a, const struct cidr *b)
{
	return a->plen == b->plen && !addr_cmp(&a->addr, &b->addr);
}

static bool cidrs_eq(const struct cidr *a, size_t na, const struct cidr *b, size_t nb)
{
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++)
		if (!cidr_eq(&a[i], &b[i]))
			return false;
	return true;
}

static bool words_eq(char *const *a, size_t na, char *const *b, size_t nb)
{
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++)
		if (strcmp(a[i], b[i]))
			return false;
	return true;
}

static bool topo_eq(const struct ep_topo *a, const struct ep_topo *b)
{
	if (!a || !b)
		return a == b;
	return str_eq(a->zone, b->zone) && str_eq(a->node, b->node) &&
	       words_eq(a->hint_zones, a->nhint_zones, b->hint_zones, b->nhint_zones) &&
	       words_eq(a->hint_nodes, a->nhint_nodes, b->hint_nodes, b->nhint_nodes);
}

static bool endpoint_eq(const struct endpoint *a, const struct endpoint *b)
{
	if (addr_cmp(&a->addr, &b->addr) || a->local != b->local ||
	    a->terminating != b->terminating || a->weight != b->weight || a->nports != b->nports ||
	    !topo_eq(a->topo, b->topo))
		return false;
	for (size_t i = 0; i < a->nports; i++)
		if (a->ports[i].port != b->ports[i].port || strcmp(a->ports[i].name, b->ports[i].name))
			return false;
	return true;
}

static bool port_eq(const struct port *a, const struct port *b)
{
	return a->port == b->port && a->proto == b->proto && a->target == b->target &&
	       a->nodeport == b->nodeport && str_eq(a->name, b->name) &&
	       str_eq(a->target_name, b->target_name);
}

/* Everything a service says, locations aside. */
static bool service_eq(const struct svcc_service *a, const struct svcc_service *b)
{
	for (int f = 0; f < NFAMILIES; f++)
		if (a->has_vip[f] != b->has_vip[f] ||
		    (a->has_vip[f] && addr_cmp(&a->vip[f], &b->vip[f])))
			return false;
	if (a->nports != b->nports || a->neps != b->neps ||
	    a->affinity_timeout != b->affinity_timeout || a->external_local != b->external_local ||
	    a->internal_local != b->internal_local ||
	    a->traffic_distribution != b->traffic_distribution || a->hc_nodeport != b->hc_nodeport ||
	    !cidrs_eq(a->external_ips, a->nexternal_ips, b->external_ips, b->nexternal_ips) ||
	    !cidrs_eq(a->lb_ips, a->nlb_ips, b->lb_ips, b->nlb_ips) ||
	    !cidrs_eq(a->proxy_lb_ips, a->nproxy_lb_ips, b->proxy_lb_ips, b->nproxy_lb_ips) ||
	    !cidrs_eq(a->source_ranges, a->nsource_ranges, b->source_ranges, b->nsource_ranges))
		return false;
	for (size_t i = 0; i < a->nports; i++)
		if (!port_eq(&a->ports[i], &b->ports[i]))
			return false;
	for (size_t i = 0; i < a->neps; i++)
		if (!endpoint_eq(&a->eps[i], &b->eps[i]))
			return false;
	return true;
}

int svcc_config_same_cluster(const struct svcc_config *a, const struct svcc_config *b)
{
	return a->masq == b->masq && str_eq(a->zone, b->zone) && str_eq(a->node_name, b->node_name) &&
	       str_eq(a->pod_bridge, b->pod_bridge) && str_eq(a->pod_iface_prefix, b->pod_iface_prefix) &&
	       cidrs_eq(a->pod_cidrs, a->npod_cidrs, b->pod_cidrs, b->npod_cidrs) &&
	       cidrs_eq(a->service_cidrs, a->nservice_cidrs, b->service_cidrs, b->nservice_cidrs) &&
	       cidrs_eq(a->node_ips, a->nnode_ips, b->node_ips, b->nnode_ips) &&
	       cidrs_eq(a->node_pod_cidrs, a->nnode_pod_cidrs, b->node_pod_cidrs, b->nnode_pod_cidrs) &&
	       cidrs_eq(a->masq_from, a->nmasq_from, b->masq_from, b->nmasq_from);
}

int svcc_config_each_changed_service(const struct svcc_config *old, const struct svcc_config *new_cfg,
				     int (*fn)(const char *name, void *arg), void *arg)
{
	int rc;

	for (size_t i = 0; i < new_cfg->nservices; i++) {
		const struct svcc_service *s = new_cfg->services[i];
		const struct svcc_service *o = old ? htab_get(&old->by_name, s->name,
							      strlen(s->name)) : NULL;

		if ((!o || !service_eq(o, s)) && (rc = fn(s->name, arg)))
			return rc;
	}
	for (size_t i = 0; old && i < old->nservices; i++) {
		const struct svcc_service *o = old->services[i];

		if (!htab_get(&new_cfg->by_name, o->name, strlen(o->name)) && (rc = fn(o->name, arg)))
			return rc;
	}
	return 0;
}

/* ---- adding one config into another ------------------------------------ */

static char *dup_or_null(const char *s, bool *fail)
{
	char *d = s ? strdup(s) : NULL;

	if (s && !d)
		*fail = true;
	return d;
}

static int copy_cidrs(struct cidr **to, size_t *n, size_t *cap, const struct cidr *from, size_t nfrom)
{
	*to = NULL;
	*n = *cap = 0;
	if (!nfrom)
		return 0;
	if (!(*to = malloc(nfrom * sizeof(**to))))
		return -1;
	memcpy(*to, from, nfrom * sizeof(**to));
	*n = *cap = nfrom;
	return 0;
}

static struct ep_topo *topo_copy(const struct ep_topo *t, bool *fail)
{
	struct ep_topo *c;

	if (!t)
		return NULL;
	if (!(c = calloc(1, sizeof(*c)))) {
		*fail = true;
		return NULL;
	}
	c->zone = dup_or_null(t->zone, fail);
	c->node = dup_or_null(t->node, fail);
	c->hint_zones = t->nhint_zones ? calloc(t->nhint_zones, sizeof(char *)) : NULL;
	c->hint_nodes = t->nhint_nodes ? calloc(t->nhint_nodes, sizeof(char *)) : NULL;
	if ((t->nhint_zones && !c->hint_zones) || (t->nhint_nodes && !c->hint_nodes)) {
		*fail = true;
		return c;
	}
	c->nhint_zones = t->nhint_zones;
	c->nhint_nodes = t->nhint_nodes;
	for (size_t i = 0; i < t->nhint_zones; i++)
		c->hint_zones[i] = dup_or_null(t->hint_zones[i], fail);
	for (size_t i = 0; i < t->nhint_nodes; i++)
		c->hint_nodes[i] = dup_or_null(t->hint_nodes[i], fail);
	return c;
}

/* s's ports, endpoints and lists into d, a service just added to a config
 * (on failure the caller removes d, which frees what was copied). */
static int service_copy(struct svcc_service *d, const struct svcc_service *s)
{
	bool fail = false;

	memcpy(d->has_vip, s->has_vip, sizeof(d->has_vip));
	memcpy(d->vip, s->vip, sizeof(d->vip));
	d->affinity_timeout = s->affinity_timeout;
	d->external_local = s->external_local;
	d->internal_local = s->internal_local;
	d->traffic_distribution = s->traffic_distribution;
	d->hc_nodeport = s->hc_nodeport;
	if (copy_cidrs(&d->external_ips, &d->nexternal_ips, &d->external_ips_cap, s->external_ips,
		       s->nexternal_ips) ||
	    copy_cidrs(&d->lb_ips, &d->nlb_ips, &d->lb_ips_cap, s->lb_ips, s->nlb_ips) ||
	    copy_cidrs(&d->proxy_lb_ips, &d->nproxy_lb_ips, &d->proxy_lb_ips_cap, s->proxy_lb_ips,
		       s->nproxy_lb_ips) ||
	    copy_cidrs(&d->source_ranges, &d->nsource_ranges, &d->source_ranges_cap,
		       s->source_ranges, s->nsource_ranges) ||
	    service_reserve(d, s->nports, s->neps))
		return -1;
	for (size_t i = 0; i < s->nports; i++)
		if (service_add_port(d, &s->ports[i]))
			return -1;
	for (size_t i = 0; i < s->neps; i++) {
		const struct endpoint *e = &s->eps[i];
		struct endpoint *c = &d->eps[d->neps];

		*c = *e;
		c->topo = NULL;
		c->ports = NULL;
		c->nports = 0;
		d->neps++;	/* counted now: freed with d whatever follows */
		c->topo = topo_copy(e->topo, &fail);
		if (e->nports && !(c->ports = calloc(e->nports, sizeof(*c->ports))))
			return -1;
		for (size_t j = 0; j < e->nports; j++) {
			c->ports[j].port = e->ports[j].port;
			c->ports[j].name = dup_or_null(e->ports[j].name, &fail);
			c->nports++;
		}
		if (fail)
			return -1;
	}
	return 0;
}

/* The lengths of dst's lists before, to put them back on failure. */
struct lists_mark {
	size_t pod, svc, node, node_pod, masq_from;
};

static int add_cidrs(struct cidr **v, size_t *n, size_t *cap, const struct cidr *from, size_t nfrom)
{
	for (size_t i = 0; i < nfrom; i++) {
		bool have = false;

		for (size_t j = 0; j < *n && !have; j++)
			have = cidr_eq(&(*v)[j], &from[i]);
		if (!have && cidr_list_add(v, n, cap, &from[i]))
			return -1;
	}
	return 0;
}

static bool masq_given(const struct svcc_config *c)
{
	return c->masq != SVCC_MASQ_NON_POD || c->nmasq_from;
}

/* A word both set differently: the parts disagree. */
static bool word_clash(const char *a, const char *b)
{
	return a && b && strcmp(a, b);
}

static int take_word(char **to, const char *from, char **added)
{
	*added = NULL;
	if (!from || *to)
		return 0;
	if (!(*to = strdup(from)))
		return -1;
	*added = *to;
	return 0;
}

int svcc_config_add_from(struct svcc_config *dst, const struct svcc_config *src)
{
	struct lists_mark m = { dst->npod_cidrs, dst->nservice_cidrs, dst->nnode_ips,
				dst->nnode_pod_cidrs, dst->nmasq_from };
	char *added[4] = { 0 };
	size_t nsvc = dst->nservices;
	unsigned masq = dst->masq;
	int err = ENOMEM;

	for (size_t i = 0; i < src->nservices; i++)
		if (htab_get(&dst->by_name, src->services[i]->name, strlen(src->services[i]->name))) {
			errno = EEXIST;
			return -1;
		}
	if (word_clash(dst->zone, src->zone) || word_clash(dst->node_name, src->node_name) ||
	    word_clash(dst->pod_bridge, src->pod_bridge) ||
	    word_clash(dst->pod_iface_prefix, src->pod_iface_prefix) ||
	    (masq_given(dst) && masq_given(src))) {
		errno = EINVAL;
		return -1;
	}
	if (add_cidrs(&dst->pod_cidrs, &dst->npod_cidrs, &dst->pod_cidrs_cap, src->pod_cidrs,
		      src->npod_cidrs) ||
	    add_cidrs(&dst->service_cidrs, &dst->nservice_cidrs, &dst->service_cidrs_cap,
		      src->service_cidrs, src->nservice_cidrs) ||
	    add_cidrs(&dst->node_ips, &dst->nnode_ips, &dst->node_ips_cap, src->node_ips,
		      src->nnode_ips) ||
	    add_cidrs(&dst->node_pod_cidrs, &dst->nnode_pod_cidrs, &dst->node_pod_cidrs_cap,
		      src->node_pod_cidrs, src->nnode_pod_cidrs) ||
	    add_cidrs(&dst->masq_from, &dst->nmasq_from, &dst->masq_from_cap, src->masq_from,
		      src->nmasq_from) ||
	    take_word(&dst->zone, src->zone, &added[0]) ||
	    take_word(&dst->node_name, src->node_name, &added[1]) ||
	    take_word(&dst->pod_bridge, src->pod_bridge, &added[2]) ||
	    take_word(&dst->pod_iface_prefix, src->pod_iface_prefix, &added[3]))
		goto undo;
	if (masq_given(src))
		dst->masq = src->masq;
	for (size_t i = 0; i < src->nservices; i++) {
		const struct svcc_service *s = src->services[i];
		struct svcc_service *d = config_add_service(dst, s->name, s->loc);

		if (!d)
			goto undo;
		if (service_copy(d, s)) {
			svcc_config_remove_service(dst, s->name);
			goto undo;
		}
	}
	return 0;
undo:
	while (dst->nservices > nsvc)
		svcc_config_remove_service(dst, dst->services[dst->nservices - 1]->name);
	dst->npod_cidrs = m.pod;
	dst->nservice_cidrs = m.svc;
	dst->nnode_ips = m.node;
	dst->nnode_pod_cidrs = m.node_pod;
	dst->nmasq_from = m.masq_from;
	dst->masq = masq;
	if (added[0] && dst->zone == added[0])
		free(dst->zone), dst->zone = NULL;
	if (added[1] && dst->node_name == added[1])
		free(dst->node_name), dst->node_name = NULL;
	if (added[2] && dst->pod_bridge == added[2])
		free(dst->pod_bridge), dst->pod_bridge = NULL;
	if (added[3] && dst->pod_iface_prefix == added[3])
		free(dst->pod_iface_prefix), dst->pod_iface_prefix = NULL;
	errno = err;
	return -1;
}

/* ---- replacing one part's services with another's ---------------------- */

/* d takes s's contents; s the old ones, to be freed with it.  The names are
 * equal, and d keeps its own: the name index borrows it. */
static void swap_contents(struct svcc_service *d, struct svcc_service *s)
{
	struct svcc_service t = *d;

	*d = *s;
	d->name = t.name;
	t.name = s->name;
	*s = t;
}

static bool has(const struct svcc_config *cfg, const char *name)
{
	return htab_get(&cfg->by_name, name, strlen(name)) != NULL;
}

int svcc_config_replace_from(struct svcc_config *dst, const struct svcc_config *old,
			     const struct svcc_config *new_cfg)
{
	const struct svcc_config empty = { .masq = SVCC_MASQ_NON_POD };
	const struct svcc_config *o = old ? old : &empty, *n = new_cfg ? new_cfg : &empty;
	struct svcc_config *tmp;
	size_t nsvc = dst->nservices;

	if (!svcc_config_same_cluster(o, n)) {
		errno = EINVAL;
		return -1;
	}
	for (size_t i = 0; i < n->nservices; i++)
		if (has(dst, n->services[i]->name) && !has(o, n->services[i]->name)) {
			errno = EEXIST;
			return -1;
		}
	/* the copies first, in a config of their own: dst is touched only once
	 * nothing can fail but the new names' slots, which are undone */
	if (!(tmp = svcc_config_new()))
		return -1;
	for (size_t i = 0; i < n->nservices; i++) {
		const struct svcc_service *s = n->services[i];
		struct svcc_service *c = config_add_service(tmp, s->name, s->loc);

		if (!c || service_copy(c, s))
			goto undo;
	}
	for (size_t i = 0; i < n->nservices; i++)
		if (!has(dst, n->services[i]->name) &&
		    !config_add_service(dst, n->services[i]->name, n->services[i]->loc))
			goto undo;
	for (size_t i = 0; i < n->nservices; i++)
		swap_contents(htab_get(&dst->by_name, tmp->services[i]->name,
				       strlen(tmp->services[i]->name)), tmp->services[i]);
	for (size_t i = 0; i < o->nservices; i++)
		if (!has(n, o->services[i]->name) && has(dst, o->services[i]->name))
			svcc_config_remove_service(dst, o->services[i]->name);
	svcc_config_free(tmp);
	return 0;
undo:
	while (dst->nservices > nsvc)
		svcc_config_remove_service(dst, dst->services[dst->nservices - 1]->name);
	svcc_config_free(tmp);
	errno = ENOMEM;
	return -1;
}

size_t svcc_config_endpoint_count(const struct svcc_config *cfg)
{
	size_t n = 0;

	for (size_t i = 0; i < cfg->nservices; i++)
		n += cfg->services[i]->neps;
	return n;
}
