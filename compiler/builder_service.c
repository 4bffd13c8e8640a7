/* SPDX-License-Identifier: MIT */
/*
 * The builder API for what a service says beyond vip, ports and endpoints:
 * NodePorts and named targets, its other addresses, affinity, policies,
 * and its endpoints' attributes.  The checks are resolve.c's (valid.h):
 * what text may not say, code may not either.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "util.h"

_Static_assert((int)SVCC_DIST_PREFER_SAME_ZONE == (int)TD_SAME_ZONE &&
	       (int)SVCC_DIST_PREFER_SAME_NODE == (int)TD_SAME_NODE,
	       "svcc_distribution is the model's TD_*");

static int einval(void)
{
	errno = EINVAL;
	return -1;
}

/* A port name, or a named target port: an IANA_SVC_NAME, as resolve.c takes it. */
static bool port_name_ok(const char *name)
{
	return name && name_valid(name, false) && lang_word(name, false) &&
	       strlen(name) <= K8S_PORT_NAME_MAX;
}

int svcc_service_set_port_nodeport(struct svcc_service *svc, size_t i, unsigned nodeport)
{
	if (i >= svc->nports || nodeport > 65535)
		return einval();
	svc->ports[i].nodeport = (uint16_t)nodeport;
	svc->ports[i].nodeport_loc = LOC_NONE;
	return 0;
}

int svcc_service_set_port_target_name(struct svcc_service *svc, size_t i, const char *name)
{
	char *copy;

	/* a target starting with a digit is a number in the language */
	if (i >= svc->nports || !port_name_ok(name) || isdigit((unsigned char)name[0]))
		return einval();
	if (!(copy = strdup(name)))
		return -1;
	free(svc->ports[i].target_name);
	svc->ports[i].target_name = copy;
	svc->ports[i].target = 0;
	return 0;
}

/* One address of a list: a plain, usable service address, or a prefix. */
static bool read_addr(const char *text, bool prefix, struct cidr *out)
{
	bool plen_bad, host_bits;

	if (!text || cidr_parse(text, out, &plen_bad, &host_bits) || host_bits)
		return false;
	if (prefix)
		return true;
	return !strchr(text, '/') &&
	       addr_unusable(out->addr.family, out->addr.bytes, USE_SERVICE) == ADDR_UNICAST;
}

int svcc_service_set_addrs(struct svcc_service *svc, enum svcc_addr_list which,
			   const char *const *addrs, size_t n)
{
	struct cidr **v, *nv = NULL;
	size_t *nn, *cap;

	switch (which) {
	case SVCC_EXTERNAL_IPS:
		v = &svc->external_ips, nn = &svc->nexternal_ips, cap = &svc->external_ips_cap;
		break;
	case SVCC_LOAD_BALANCERS:
		v = &svc->lb_ips, nn = &svc->nlb_ips, cap = &svc->lb_ips_cap;
		break;
	case SVCC_PROXY_LOAD_BALANCERS:
		v = &svc->proxy_lb_ips, nn = &svc->nproxy_lb_ips, cap = &svc->proxy_lb_ips_cap;
		break;
	case SVCC_SOURCE_RANGES:
		v = &svc->source_ranges, nn = &svc->nsource_ranges, cap = &svc->source_ranges_cap;
		break;
	default:
		return einval();
	}
	if (n && !addrs)
		return einval();
	if (n && !(nv = calloc(n, sizeof(*nv))))
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (!read_addr(addrs[i], which == SVCC_SOURCE_RANGES, &nv[i])) {
			free(nv);
			return einval();
		}
	}
	free(*v);
	*v = nv;
	*nn = *cap = n;
	if (which == SVCC_SOURCE_RANGES)
		svc->source_ranges_loc = LOC_NONE;
	return 0;
}

int svcc_service_set_affinity(struct svcc_service *svc, unsigned timeout)
{
	if (timeout > AFFINITY_TIMEOUT_MAX)
		return einval();
	svc->affinity_timeout = timeout;
	svc->affinity_loc = LOC_NONE;
	return 0;
}

int svcc_service_set_traffic_policy(struct svcc_service *svc, unsigned flags)
{
	if (flags & ~(SVCC_POLICY_EXTERNAL_LOCAL | SVCC_POLICY_INTERNAL_LOCAL))
		return einval();
	svc->external_local = flags & SVCC_POLICY_EXTERNAL_LOCAL;
	svc->internal_local = flags & SVCC_POLICY_INTERNAL_LOCAL;
	svc->policy_loc = LOC_NONE;
	return 0;
}

int svcc_service_set_traffic_distribution(struct svcc_service *svc, enum svcc_distribution d)
{
	if (d != SVCC_DIST_NONE && d != SVCC_DIST_PREFER_SAME_ZONE && d != SVCC_DIST_PREFER_SAME_NODE)
		return einval();
	svc->traffic_distribution = (uint8_t)d;
	return 0;
}

int svcc_service_add_endpoint_port(struct svcc_service *svc, size_t i, const char *name,
				   unsigned port)
{
	struct endpoint *e = i < svc->neps ? &svc->eps[i] : NULL;
	struct ep_port *v;
	char *copy;

	/* as resolve.c, any word: one that names no port is svcc_compile's error */
	if (!e || !name || !lang_word(name, true) || !port || port > 65535)
		return einval();
	if (!(copy = strdup(name)))
		return -1;
	if (!(v = realloc(e->ports, (e->nports + 1) * sizeof(*v)))) {
		free(copy);
		return -1;
	}
	e->ports = v;
	v[e->nports++] = (struct ep_port){ .name = copy, .port = (uint16_t)port };
	return 0;
}

/* Endpoint i's topology, made when first needed; NULL (errno set) when it cannot be. */
static struct ep_topo *topo_of(struct svcc_service *svc, size_t i, const char *name, size_t max)
{
	struct endpoint *e = i < svc->neps ? &svc->eps[i] : NULL;

	if (!e || (name && (!topo_name_valid(name, max) || !lang_word(name, true)))) {
		errno = EINVAL;
		return NULL;
	}
	if (!e->topo)
		e->topo = calloc(1, sizeof(*e->topo));
	return e->topo;
}

static int set_place(struct svcc_service *svc, size_t i, const char *name, size_t max, bool node)
{
	struct ep_topo *t = topo_of(svc, i, name, max);
	char *copy = NULL;

	if (!t || (name && !(copy = strdup(name))))
		return -1;
	free(node ? t->node : t->zone);
	*(node ? &t->node : &t->zone) = copy;
	return 0;
}

int svcc_service_set_endpoint_zone(struct svcc_service *svc, size_t i, const char *zone)
{
	return set_place(svc, i, zone, TOPO_ZONE_MAX, false);
}

int svcc_service_set_endpoint_node(struct svcc_service *svc, size_t i, const char *node)
{
	return set_place(svc, i, node, TOPO_NODE_MAX, true);
}

int svcc_service_add_endpoint_hint(struct svcc_service *svc, size_t i, enum svcc_hint kind,
				   const char *name)
{
	bool node = kind == SVCC_HINT_NODE;
	struct ep_topo *t;
	char **v, *copy;

	if ((kind != SVCC_HINT_ZONE && !node) || !name)
		return einval();
	if (!(t = topo_of(svc, i, name, node ? TOPO_NODE_MAX : TOPO_ZONE_MAX)))
		return -1;
	if (!(copy = strdup(name)))
		return -1;
	v = realloc(node ? t->hint_nodes : t->hint_zones,
		    ((node ? t->nhint_nodes : t->nhint_zones) + 1) * sizeof(*v));
	if (!v) {
		free(copy);
		return -1;
	}
	if (node) {
		t->hint_nodes = v;
		v[t->nhint_nodes++] = copy;
	} else {
		t->hint_zones = v;
		v[t->nhint_zones++] = copy;
	}
	return 0;
}
