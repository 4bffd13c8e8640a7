/* SPDX-License-Identifier: MIT */
/*
 * The typed configuration model: what the user asked for, checked or not.
 * The resolve pass fills it from the syntax tree; the builder API fills it
 * from code.  Locations are LOC_NONE for what the builder made.
 */
#ifndef SVCC_MODEL_H
#define SVCC_MODEL_H

#include <stdbool.h>
#include <stdint.h>

#include "diag.h"
#include "htab.h"
#include "valid.h"

struct addr {
	uint8_t family;		/* 4 or 6 */
	uint8_t bytes[16];	/* network order; IPv4 uses the first 4 */
};

struct cidr {
	struct addr addr;
	uint8_t plen;
	struct loc loc;
};

struct port {
	char *name;		/* NULL: unnamed */
	uint16_t port;
	uint8_t proto;		/* IPPROTO_TCP, _UDP, _SCTP */
	uint16_t target;	/* 0 with target_name: each endpoint says */
	char *target_name;	/* a named target port, or NULL */
	uint16_t nodeport;	/* 0: none */
	struct loc loc, nodeport_loc;
};

/* An endpoint's own target for the service port of that name. */
struct ep_port {
	char *name;
	uint16_t port;
};

/* The flags fill the hole after addr: a big file has many endpoints. */
/*
 * Where an endpoint is, and its topology hints (an EndpointSlice's
 * hints.forZones and hints.forNodes); only endpoints that say any have one.
 */
struct ep_topo {
	char *zone, *node;
	char **hint_zones, **hint_nodes;
	size_t nhint_zones, nhint_nodes;
};

struct endpoint {
	struct addr addr;
	struct ep_topo *topo;	/* NULL: nothing said */
	bool local;		/* on this node */
	bool terminating;	/* used only when no ready endpoint remains */
	uint16_t weight;	/* share of new connections; 1 by default */
	struct loc loc;
	struct ep_port *ports;
	size_t nports;
};

/* Which of a service's two vips: one per family. */
enum { FAM4, FAM6, NFAMILIES };

struct svcc_service {
	char *name;
	struct loc loc;
	bool has_vip[NFAMILIES];
	struct addr vip[NFAMILIES];
	struct loc vip_loc[NFAMILIES];
	struct port *ports;
	size_t nports, ports_cap;
	struct endpoint *eps;
	size_t neps, eps_cap;
	struct cidr *external_ips;	/* external-ip: full-length prefixes */
	size_t nexternal_ips, external_ips_cap;
	struct cidr *lb_ips;		/* load-balancer */
	size_t nlb_ips, lb_ips_cap;
	/* load-balancer ADDR proxy (ipMode Proxy): the balancer proxies to the
	 * NodePorts itself; the node leaves the address alone */
	struct cidr *proxy_lb_ips;
	size_t nproxy_lb_ips, proxy_lb_ips_cap;
	struct cidr *source_ranges;	/* who may use the load-balancer addresses */
	size_t nsource_ranges, source_ranges_cap;
	struct loc source_ranges_loc;
	uint32_t affinity_timeout;	/* affinity client-ip: seconds; 0: none */
	struct loc affinity_loc;
	bool external_local, internal_local;	/* traffic-policy */
	uint8_t traffic_distribution;		/* TD_* */
	/* health-check-nodeport: where the node's agent answers the load
	 * balancer's health checks (external local only); 0: none */
	uint16_t hc_nodeport;
	struct loc hc_nodeport_loc;
	struct loc policy_loc;
};

static inline int addr_fam(const struct addr *a)
{
	return a->family == 6 ? FAM6 : FAM4;
}

struct svcc_config {
	struct cidr *pod_cidrs;
	size_t npod_cidrs, pod_cidrs_cap;
	struct cidr *service_cidrs;
	size_t nservice_cidrs, service_cidrs_cap;
	struct cidr *node_ips;	/* plen is the full length */
	size_t nnode_ips, node_ips_cap;
	unsigned masq;		/* SVCC_MASQ_* */
	char *zone, *node_name;	/* this node's topology zone and name, or NULL */
	/*
	 * How pods are told from everything else (kube-proxy's
	 * --detect-local-mode): by pod-cidr (the default), by this node's own
	 * pod CIDRs, or by the interface packets come in by: the pods' bridge,
	 * or a name prefix of their interfaces.  One way at most.
	 */
	struct cidr *node_pod_cidrs;
	size_t nnode_pod_cidrs, node_pod_cidrs_cap;
	char *pod_bridge, *pod_iface_prefix;
	struct cidr *masq_from;
	size_t nmasq_from, masq_from_cap;
	struct svcc_service **services;	/* in order of definition */
	size_t nservices, services_cap;
	struct htab by_name;	/* name -> service */
};

/* traffic-distribution: which endpoints' hints a service takes from their place */
enum { TD_NONE, TD_SAME_ZONE, TD_SAME_NODE };

/* model.c */
int addr_parse(const char *text, struct addr *out);
/* "A/N" or, with allow_plain, "A" (a host prefix).  Sets *plen_bad when the
 * prefix length is out of range, *host_bits when bits are set past it. */
int cidr_parse(const char *text, struct cidr *out, bool *plen_bad, bool *host_bits);
int addr_cmp(const struct addr *a, const struct addr *b);
bool cidr_contains(const struct cidr *c, const struct addr *a);
int addr_format(const struct addr *a, char *buf, size_t len);
const char *proto_name(uint8_t proto);

struct svcc_service *config_add_service(struct svcc_config *cfg, const char *name, struct loc loc);
/* The same, and a name in use: NULL with *taken the service that has it. */
struct svcc_service *config_new_service(struct svcc_config *cfg, const char *name, struct loc loc,
				       struct svcc_service **taken);
int service_add_port(struct svcc_service *svc, const struct port *p);	/* copies name */
int service_add_endpoint(struct svcc_service *svc, const struct endpoint *e);	/* takes e->ports */
/* Exactly the room a parsed service needs, before its ports and endpoints are added. */
int service_reserve(struct svcc_service *svc, size_t nports, size_t neps);
/* Room for one more endpoint, counted once the caller has filled it (neps++). */
struct endpoint *service_endpoint_slot(struct svcc_service *svc);
void endpoint_free(struct endpoint *e);
void ep_topo_free(struct ep_topo *t);
void port_free(struct port *p);
int cidr_list_add(struct cidr **v, size_t *n, size_t *cap, const struct cidr *c);

/* resolve.c: source text (kept by ctx: diag_keep_source) to model, through
 * the syntax tree a block at a time; every error goes to ctx.  0 or -1. */
int resolve(struct svcc_ctx *ctx, const char *file, char *text, size_t len,
	    struct svcc_config **out);

/* check.c: the meaning of the whole; every error goes to ctx. 0 or -1. */
int check_config(struct svcc_ctx *ctx, const struct svcc_config *cfg);

/* lower_place.c: the length of the longest chain name the lowering makes for
 * svc; with kind and suffix (may be NULL), which chain it is. */
size_t lw_longest_chain(const struct svcc_service *svc, char kind[8], char suffix[64]);

/*
 * lower.c: checked model to ruleset.  shards (may be NULL): the endpoint
 * maps' count per family and protocol (TCP, UDP, SCTP) to use, 0 where the
 * lowering is to choose; what was used is in the ruleset's ep_shards.
 */
struct rs_ruleset;
int lower(const struct svcc_config *cfg, const char *table, const uint16_t (*shards)[3],
	  struct rs_ruleset **out);

#endif
