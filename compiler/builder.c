/* SPDX-License-Identifier: MIT */
/* The public builder API: the model made from code instead of text. */
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "util.h"

struct svcc_config *svcc_config_new(void)
{
	struct svcc_config *cfg = calloc(1, sizeof(*cfg));

	if (cfg)
		cfg->masq = SVCC_MASQ_NON_POD;
	return cfg;
}

static void free_endpoints(struct endpoint *eps, size_t n)
{
	for (size_t i = 0; i < n; i++)
		endpoint_free(&eps[i]);
	free(eps);
}

static void free_ports(struct port *ports, size_t n)
{
	for (size_t i = 0; i < n; i++)
		port_free(&ports[i]);
	free(ports);
}

static void service_free(struct svcc_service *svc)
{
	free_ports(svc->ports, svc->nports);
	free_endpoints(svc->eps, svc->neps);
	free(svc->external_ips);
	free(svc->lb_ips);
	free(svc->proxy_lb_ips);
	free(svc->source_ranges);
	free(svc->name);
	free(svc);
}

void svcc_config_free(struct svcc_config *cfg)
{
	if (!cfg)
		return;
	for (size_t i = 0; i < cfg->nservices; i++)
		service_free(cfg->services[i]);
	free(cfg->services);
	htab_free(&cfg->by_name);
	free(cfg->pod_cidrs);
	free(cfg->service_cidrs);
	free(cfg->node_ips);
	free(cfg->masq_from);
	free(cfg->zone);
	free(cfg->node_pod_cidrs);
	free(cfg->pod_bridge);
	free(cfg->pod_iface_prefix);
	free(cfg->node_name);
	free(cfg);
}

/* A prefix from the builder must be exact: no host bits. */
static int add_cidr(struct cidr **v, size_t *n, size_t *cap, const char *text, bool prefix)
{
	struct cidr c;
	bool plen_bad, host_bits;

	if (!text || cidr_parse(text, &c, &plen_bad, &host_bits) || host_bits ||
	    (!prefix && strchr(text, '/'))) {
		errno = EINVAL;
		return -1;
	}
	return cidr_list_add(v, n, cap, &c);
}

int svcc_config_add_pod_cidr(struct svcc_config *cfg, const char *cidr)
{
	return add_cidr(&cfg->pod_cidrs, &cfg->npod_cidrs, &cfg->pod_cidrs_cap, cidr, true);
}

int svcc_config_add_service_cidr(struct svcc_config *cfg, const char *cidr)
{
	return add_cidr(&cfg->service_cidrs, &cfg->nservice_cidrs, &cfg->service_cidrs_cap, cidr, true);
}

int svcc_config_add_node_ip(struct svcc_config *cfg, const char *addr)
{
	return add_cidr(&cfg->node_ips, &cfg->nnode_ips, &cfg->node_ips_cap, addr, false);
}

int svcc_config_set_masquerade(struct svcc_config *cfg, unsigned flags)
{
	if (flags & ~(SVCC_MASQ_NON_POD | SVCC_MASQ_ALL)) {
		errno = EINVAL;
		return -1;
	}
	cfg->masq = flags;
	return 0;
}

int svcc_config_add_masquerade_from(struct svcc_config *cfg, const char *cidr)
{
	return add_cidr(&cfg->masq_from, &cfg->nmasq_from, &cfg->masq_from_cap, cidr, true);
}

/* Pods are told apart one way at most: node-pod-cidr, pod-bridge or pod-interface-prefix. */
int svcc_config_add_node_pod_cidr(struct svcc_config *cfg, const char *cidr)
{
	if (cfg->pod_bridge || cfg->pod_iface_prefix) {
		errno = EINVAL;
		return -1;
	}
	return add_cidr(&cfg->node_pod_cidrs, &cfg->nnode_pod_cidrs, &cfg->node_pod_cidrs_cap,
			cidr, true);
}

/* Replace *to with a copy of name (NULL: none). */
static int set_word(char **to, const char *name)
{
	char *copy = NULL;

	if (name && !(copy = strdup(name)))
		return -1;
	free(*to);
	*to = copy;
	return 0;
}

static int set_iface(struct svcc_config *cfg, char **to, const char *other, const char *name)
{
	if (name && (!iface_name_valid(name) || !lang_word(name, false) || other ||
		     cfg->nnode_pod_cidrs)) {
		errno = EINVAL;
		return -1;
	}
	return set_word(to, name);
}

int svcc_config_set_pod_bridge(struct svcc_config *cfg, const char *ifname)
{
	return set_iface(cfg, &cfg->pod_bridge, cfg->pod_iface_prefix, ifname);
}

int svcc_config_set_pod_interface_prefix(struct svcc_config *cfg, const char *prefix)
{
	return set_iface(cfg, &cfg->pod_iface_prefix, cfg->pod_bridge, prefix);
}

static int set_topo(char **to, const char *name, size_t max)
{
	if (name && (!topo_name_valid(name, max) || !lang_word(name, false))) {
		errno = EINVAL;
		return -1;
	}
	return set_word(to, name);
}

int svcc_config_set_zone(struct svcc_config *cfg, const char *zone)
{
	return set_topo(&cfg->zone, zone, TOPO_ZONE_MAX);
}

int svcc_config_set_node_name(struct svcc_config *cfg, const char *name)
{
	return set_topo(&cfg->node_name, name, TOPO_NODE_MAX);
}

struct svcc_service *svcc_config_find_service(struct svcc_config *cfg, const char *name)
{
	return htab_get(&cfg->by_name, name, strlen(name));
}

int svcc_config_add_service(struct svcc_config *cfg, const char *name, struct svcc_service **out)
{
	struct svcc_service *svc;
	size_t len, max;

	if (!name || !name_valid(name, true) || !lang_word(name, false) ||
	    service_name_too_long(name, &len, &max)) {
		errno = EINVAL;
		return -1;
	}
	svc = config_add_service(cfg, name, LOC_NONE);
	if (!svc)
		return -1;
	*out = svc;
	return 0;
}

int svcc_config_remove_service(struct svcc_config *cfg, const char *name)
{
	struct svcc_service *svc = svcc_config_find_service(cfg, name);

	if (!svc) {
		errno = ENOENT;
		return -1;
	}
	htab_del(&cfg->by_name, svc->name, strlen(svc->name));
	for (size_t i = 0; i < cfg->nservices; i++) {
		if (cfg->services[i] != svc)
			continue;
		memmove(&cfg->services[i], &cfg->services[i + 1],
			(cfg->nservices - i - 1) * sizeof(*cfg->services));
		cfg->nservices--;
		break;
	}
	service_free(svc);
	return 0;
}

size_t svcc_config_service_count(const struct svcc_config *cfg)
{
	return cfg->nservices;
}

/* Is a one of svc's endpoints? */
static bool is_endpoint(const struct svcc_service *svc, const struct addr *a)
{
	for (size_t i = 0; i < svc->neps; i++)
		if (!addr_cmp(&svc->eps[i].addr, a))
			return true;
	return false;
}

int svcc_service_set_vip(struct svcc_service *svc, const char *text)
{
	struct addr a;

	if (!text || addr_parse(text, &a) ||
	    addr_unusable(a.family, a.bytes, USE_SERVICE) != ADDR_UNICAST || is_endpoint(svc, &a)) {
		errno = EINVAL;
		return -1;
	}
	svc->vip[addr_fam(&a)] = a;
	svc->has_vip[addr_fam(&a)] = true;
	svc->vip_loc[addr_fam(&a)] = LOC_NONE;
	return 0;
}

static bool valid_proto(enum svcc_proto p)
{
	return p == SVCC_TCP || p == SVCC_UDP || p == SVCC_SCTP;
}

int svcc_service_set_ports(struct svcc_service *svc, const struct svcc_port *ports, size_t n)
{
	struct svcc_service tmp = { 0 };

	for (size_t i = 0; i < n; i++) {
		struct port p = {
			.name = (char *)ports[i].name,
			.port = ports[i].port,
			.proto = (uint8_t)ports[i].proto,
			.target = ports[i].target_port ? ports[i].target_port : ports[i].port,
		};

		if (!p.port || !valid_proto(ports[i].proto) ||
		    (p.name && (!name_valid(p.name, false) || strlen(p.name) > K8S_PORT_NAME_MAX))) {
			errno = EINVAL;
			goto fail;
		}
		if (service_add_port(&tmp, &p))
			goto fail;
	}
	free_ports(svc->ports, svc->nports);
	svc->ports = tmp.ports;
	svc->nports = tmp.nports;
	svc->ports_cap = tmp.ports_cap;
	return 0;
fail:
	free_ports(tmp.ports, tmp.nports);
	return -1;
}

int svcc_service_set_endpoints(struct svcc_service *svc, const struct svcc_endpoint *eps, size_t n)
{
	struct endpoint *v = n ? calloc(n, sizeof(*v)) : NULL;

	if (n && !v)
		return -1;
	for (size_t i = 0; i < n; i++) {
		const struct addr *a = &v[i].addr;

		if (!eps[i].addr || addr_parse(eps[i].addr, &v[i].addr) ||
		    addr_unusable(a->family, a->bytes, USE_ENDPOINT) != ADDR_UNICAST ||
		    (svc->has_vip[addr_fam(a)] && !addr_cmp(&svc->vip[addr_fam(a)], a)) ||
		    eps[i].weight > SVCC_MAX_WEIGHT ||
		    (eps[i].flags & ~(SVCC_EP_LOCAL | SVCC_EP_TERMINATING))) {
			free(v);
			errno = EINVAL;
			return -1;
		}
		v[i].local = eps[i].flags & SVCC_EP_LOCAL;
		v[i].terminating = eps[i].flags & SVCC_EP_TERMINATING;
		v[i].weight = (uint16_t)(eps[i].weight ? eps[i].weight : 1);
	}
	free_endpoints(svc->eps, svc->neps);
	svc->eps = v;
	svc->neps = svc->eps_cap = n;
	return 0;
}

int svcc_service_set_health_check_nodeport(struct svcc_service *svc, unsigned port)
{
	if (port > 65535) {
		errno = EINVAL;
		return -1;
	}
	svc->hc_nodeport = (uint16_t)port;
	svc->hc_nodeport_loc = (struct loc){ 0 };
	return 0;
}

unsigned svcc_service_health_check_nodeport(const struct svcc_service *svc)
{
	return svc->hc_nodeport;
}

size_t svcc_service_local_endpoints(const struct svcc_service *svc)
{
	size_t n = 0;

	for (size_t i = 0; i < svc->neps; i++)
		n += svc->eps[i].local && !svc->eps[i].terminating;
	return n;
}

int svcc_config_each_health_check(const struct svcc_config *cfg,
				  int (*fn)(const char *service, unsigned port,
					    size_t local_endpoints, void *arg),
				  void *arg)
{
	for (size_t i = 0; i < cfg->nservices; i++) {
		const struct svcc_service *svc = cfg->services[i];
		int r;

		if (svc->hc_nodeport &&
		    (r = fn(svc->name, svc->hc_nodeport, svcc_service_local_endpoints(svc), arg)))
			return r;
	}
	return 0;
}
