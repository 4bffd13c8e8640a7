/* SPDX-License-Identifier: MIT */
/*
 * The getters of the public API: a config read back, parsed or built, in
 * the order it was given; each is the inverse of a builder call, so that a
 * config walked through these and rebuilt through those compiles to the
 * same bytes (tests/unit/test_api_roundtrip.c).
 */
#include <stdio.h>
#include <string.h>

#include "model.h"
#include "util.h"

/* NULL (or 0), errno ERANGE: an index past the end. */
static bool in_range(size_t i, size_t n)
{
	if (i < n)
		return true;
	errno = ERANGE;
	return false;
}

/* An address as text, with "/LEN" when it is a prefix. */
static const char *cidr_text(const struct cidr *c, bool prefix, char *buf)
{
	size_t len;

	if (addr_format(&c->addr, buf, SVCC_ADDR_TEXT_MAX))
		return NULL;
	len = strlen(buf);
	if (prefix)
		snprintf(buf + len, SVCC_ADDR_TEXT_MAX - len, "/%u", c->plen);
	return buf;
}

static const struct cidr *config_list(const struct svcc_config *cfg, enum svcc_cidr_list which,
				      size_t *n)
{
	switch (which) {
	case SVCC_POD_CIDRS:
		*n = cfg->npod_cidrs;
		return cfg->pod_cidrs;
	case SVCC_SERVICE_CIDRS:
		*n = cfg->nservice_cidrs;
		return cfg->service_cidrs;
	case SVCC_NODE_IPS:
		*n = cfg->nnode_ips;
		return cfg->node_ips;
	case SVCC_NODE_POD_CIDRS:
		*n = cfg->nnode_pod_cidrs;
		return cfg->node_pod_cidrs;
	case SVCC_MASQUERADE_FROM:
		*n = cfg->nmasq_from;
		return cfg->masq_from;
	}
	*n = 0;
	return NULL;
}

size_t svcc_config_cidr_count(const struct svcc_config *cfg, enum svcc_cidr_list which)
{
	size_t n;

	config_list(cfg, which, &n);
	return n;
}

const char *svcc_config_cidr(const struct svcc_config *cfg, enum svcc_cidr_list which, size_t i,
			     char *buf)
{
	size_t n;
	const struct cidr *v = config_list(cfg, which, &n);

	return in_range(i, n) ? cidr_text(&v[i], which != SVCC_NODE_IPS, buf) : NULL;
}

unsigned svcc_config_masquerade(const struct svcc_config *cfg)
{
	return cfg->masq;
}

const char *svcc_config_pod_bridge(const struct svcc_config *cfg)
{
	return cfg->pod_bridge;
}

const char *svcc_config_pod_interface_prefix(const struct svcc_config *cfg)
{
	return cfg->pod_iface_prefix;
}

const char *svcc_config_zone(const struct svcc_config *cfg)
{
	return cfg->zone;
}

const char *svcc_config_node_name(const struct svcc_config *cfg)
{
	return cfg->node_name;
}

const struct svcc_service *svcc_config_service_at(const struct svcc_config *cfg, size_t i)
{
	return in_range(i, cfg->nservices) ? cfg->services[i] : NULL;
}

const char *svcc_service_name(const struct svcc_service *svc)
{
	return svc->name;
}

const char *svcc_service_vip(const struct svcc_service *svc, int family, char *buf)
{
	int fam = family == 6 ? FAM6 : FAM4;

	if ((family != 4 && family != 6) || !svc->has_vip[fam]) {
		errno = ENOENT;
		return NULL;
	}
	return addr_format(&svc->vip[fam], buf, SVCC_ADDR_TEXT_MAX) ? NULL : buf;
}

size_t svcc_service_port_count(const struct svcc_service *svc)
{
	return svc->nports;
}

int svcc_service_port(const struct svcc_service *svc, size_t i, struct svcc_port *out)
{
	const struct port *p;

	if (!in_range(i, svc->nports))
		return -1;
	p = &svc->ports[i];
	*out = (struct svcc_port){
		.name = p->name,
		.port = p->port,
		.proto = (enum svcc_proto)p->proto,
		.target_port = p->target,
	};
	return 0;
}

const char *svcc_service_port_target_name(const struct svcc_service *svc, size_t i)
{
	return in_range(i, svc->nports) ? svc->ports[i].target_name : NULL;
}

unsigned svcc_service_port_nodeport(const struct svcc_service *svc, size_t i)
{
	return in_range(i, svc->nports) ? svc->ports[i].nodeport : 0;
}

static const struct cidr *service_list(const struct svcc_service *svc, enum svcc_addr_list which,
				       size_t *n)
{
	switch (which) {
	case SVCC_EXTERNAL_IPS:
		*n = svc->nexternal_ips;
		return svc->external_ips;
	case SVCC_LOAD_BALANCERS:
		*n = svc->nlb_ips;
		return svc->lb_ips;
	case SVCC_PROXY_LOAD_BALANCERS:
		*n = svc->nproxy_lb_ips;
		return svc->proxy_lb_ips;
	case SVCC_SOURCE_RANGES:
		*n = svc->nsource_ranges;
		return svc->source_ranges;
	}
	*n = 0;
	return NULL;
}

size_t svcc_service_addr_count(const struct svcc_service *svc, enum svcc_addr_list which)
{
	size_t n;

	service_list(svc, which, &n);
	return n;
}

const char *svcc_service_addr(const struct svcc_service *svc, enum svcc_addr_list which, size_t i,
			      char *buf)
{
	size_t n;
	const struct cidr *v = service_list(svc, which, &n);

	return in_range(i, n) ? cidr_text(&v[i], which == SVCC_SOURCE_RANGES, buf) : NULL;
}

unsigned svcc_service_affinity(const struct svcc_service *svc)
{
	return svc->affinity_timeout;
}

unsigned svcc_service_traffic_policy(const struct svcc_service *svc)
{
	return (svc->external_local ? SVCC_POLICY_EXTERNAL_LOCAL : 0) |
	       (svc->internal_local ? SVCC_POLICY_INTERNAL_LOCAL : 0);
}

enum svcc_distribution svcc_service_traffic_distribution(const struct svcc_service *svc)
{
	return (enum svcc_distribution)svc->traffic_distribution;
}

size_t svcc_service_endpoint_count(const struct svcc_service *svc)
{
	return svc->neps;
}

static const struct endpoint *endpoint_at(const struct svcc_service *svc, size_t i)
{
	return in_range(i, svc->neps) ? &svc->eps[i] : NULL;
}

int svcc_service_endpoint(const struct svcc_service *svc, size_t i, struct svcc_endpoint *out,
			  char *buf)
{
	const struct endpoint *e = endpoint_at(svc, i);

	if (!e || addr_format(&e->addr, buf, SVCC_ADDR_TEXT_MAX))
		return -1;
	*out = (struct svcc_endpoint){
		.addr = buf,
		.flags = (e->local ? SVCC_EP_LOCAL : 0) | (e->terminating ? SVCC_EP_TERMINATING : 0),
		.weight = e->weight,
	};
	return 0;
}

size_t svcc_service_endpoint_port_count(const struct svcc_service *svc, size_t i)
{
	const struct endpoint *e = endpoint_at(svc, i);

	return e ? e->nports : 0;
}

const char *svcc_service_endpoint_port(const struct svcc_service *svc, size_t i, size_t j,
				       unsigned *port)
{
	const struct endpoint *e = endpoint_at(svc, i);

	if (!e || !in_range(j, e->nports))
		return NULL;
	*port = e->ports[j].port;
	return e->ports[j].name;
}

const char *svcc_service_endpoint_zone(const struct svcc_service *svc, size_t i)
{
	const struct endpoint *e = endpoint_at(svc, i);

	return e && e->topo ? e->topo->zone : NULL;
}

const char *svcc_service_endpoint_node(const struct svcc_service *svc, size_t i)
{
	const struct endpoint *e = endpoint_at(svc, i);

	return e && e->topo ? e->topo->node : NULL;
}

size_t svcc_service_endpoint_hint_count(const struct svcc_service *svc, size_t i,
					enum svcc_hint kind)
{
	const struct endpoint *e = endpoint_at(svc, i);

	if (!e || !e->topo)
		return 0;
	return kind == SVCC_HINT_NODE ? e->topo->nhint_nodes
	       : kind == SVCC_HINT_ZONE ? e->topo->nhint_zones : 0;
}

const char *svcc_service_endpoint_hint(const struct svcc_service *svc, size_t i,
				       enum svcc_hint kind, size_t j)
{
	const struct endpoint *e = endpoint_at(svc, i);

	if (!e || !in_range(j, svcc_service_endpoint_hint_count(svc, i, kind)))
		return NULL;
	return kind == SVCC_HINT_NODE ? e->topo->hint_nodes[j] : e->topo->hint_zones[j];
}
