/* SPDX-License-Identifier: MIT */
/*
 * libsvcc: compile Kubernetes-style service descriptions into an nftables
 * ruleset, and keep the kernel in step with it.
 *
 * Conventions:
 *  - Handles are opaque.  Functions return 0 on success and -1 on failure;
 *    they write *out only on success.
 *  - Inputs are const and borrowed: the library copies what it keeps.
 *  - Diagnostics belong to a struct svcc_ctx and stay valid until the
 *    context is freed or svcc_ctx_clear() is called.
 *  - No global state.  A handle may be used by one thread at a time;
 *    distinct handles may be used from distinct threads concurrently.
 *    svcc_compile() of a big config runs part of its work on a thread of
 *    its own, joined before it returns (link with -pthread).
 *  - Out of memory is an error return (errno ENOMEM), never an abort.
 */
#ifndef SVCC_H
#define SVCC_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* What libsvcc.so exports: the library is built with -fvisibility=hidden. */
#if defined(__GNUC__)
#define SVCC_API __attribute__((visibility("default")))
#else
#define SVCC_API
#endif

#define SVCC_VERSION "0.1.0"
#define SVCC_VERSION_MAJOR 0
#define SVCC_VERSION_MINOR 1

/* The library's version at run time ("0.1.0"), which may be newer than the
 * SVCC_VERSION the program was compiled with.  A static string: never free it. */
SVCC_API const char *svcc_version(void);

/* ---- context and diagnostics ------------------------------------------ */

struct svcc_ctx;

enum svcc_severity { SVCC_ERROR, SVCC_WARNING, SVCC_NOTE };

/* One diagnostic.  file is NULL and line/column 0 when it has no location
 * (e.g. a check on a config built through the builder API). */
struct svcc_diag {
	enum svcc_severity severity;
	const char *file;
	int line;		/* 1-based */
	int column;		/* 1-based, first column of the span */
	int end_column;		/* last column of the span (>= column) */
	const char *message;
	const char *source_line; /* the text of that line, or NULL */
};

SVCC_API struct svcc_ctx *svcc_ctx_new(void);
SVCC_API void svcc_ctx_free(struct svcc_ctx *ctx);
SVCC_API void svcc_ctx_clear(struct svcc_ctx *ctx);
SVCC_API size_t svcc_diag_count(const struct svcc_ctx *ctx);
SVCC_API size_t svcc_error_count(const struct svcc_ctx *ctx);
SVCC_API const struct svcc_diag *svcc_diag_get(const struct svcc_ctx *ctx, size_t i);
/* Print every diagnostic like a compiler: "file:line:col: error: msg",
 * the source line, and a caret under the span. */
SVCC_API int svcc_diag_print(const struct svcc_ctx *ctx, FILE *out);
/* The same; color non-zero: in colour as gcc prints on a terminal (ANSI
 * SGR: the location bold, the severity and the caret under the span red
 * for errors, magenta for warnings, cyan for notes).  Whether out is a
 * terminal, and NO_COLOR, are the caller's business. */
SVCC_API int svcc_diag_print_color(const struct svcc_ctx *ctx, FILE *out, int color);

/* ---- configuration model ---------------------------------------------- */

struct svcc_config;
struct svcc_service;

/* Parse a .svc file or string.  Syntax errors are all reported to ctx;
 * on any error nothing is returned. */
SVCC_API int svcc_parse_file(struct svcc_ctx *ctx, const char *path, struct svcc_config **out);
SVCC_API int svcc_parse_string(struct svcc_ctx *ctx, const char *name, const char *text,
		      size_t len, struct svcc_config **out);

/*
 * Write cfg as canonical .svc text (what svcc fmt prints): the cluster
 * block, the masquerade block unless the policy is the default, then the
 * services by name; statements in a fixed order, each list sorted,
 * addresses as inet_ntop writes them, defaults left out, no comments.
 * Parsing the text gives back a config that compiles to the same bytes.
 * cfg and out stay the caller's.  Fails (-1) having written nothing with
 * EINVAL when cfg holds what the language cannot say (a name that is a
 * keyword, has a '-' at either end or characters other than letters,
 * digits, '-', '_', '.'; a NodePort on an unnamed port among several),
 * ENOMEM; after writing, with the stream's errno (EIO if none) when a
 * write fails.
 */
SVCC_API int svcc_config_write(const struct svcc_config *cfg, FILE *out);

/* Builder: make or update a configuration without text.  Addresses are
 * text ("10.96.0.10", "fd00::1", "10.244.0.0/16"); a malformed one fails
 * with errno EINVAL and changes nothing.  So does what Kubernetes' own
 * validation refuses: a vip that is unspecified, loopback, multicast or
 * broadcast; an endpoint that is any of these or link-local (unicast or
 * multicast), or the service's own vip; a namespace or service name over
 * 63 characters, a port name over 15.  An endpoint that is another
 * service's vip is an error of svcc_compile. */
SVCC_API struct svcc_config *svcc_config_new(void);
SVCC_API void svcc_config_free(struct svcc_config *cfg);
SVCC_API int svcc_config_add_pod_cidr(struct svcc_config *cfg, const char *cidr);
SVCC_API int svcc_config_add_service_cidr(struct svcc_config *cfg, const char *cidr);
SVCC_API int svcc_config_add_node_ip(struct svcc_config *cfg, const char *addr);

#define SVCC_MASQ_NON_POD 0x1u	/* sources outside every pod-cidr (default) */
#define SVCC_MASQ_ALL	  0x2u	/* every connection to a service */
SVCC_API int svcc_config_set_masquerade(struct svcc_config *cfg, unsigned flags);
SVCC_API int svcc_config_add_masquerade_from(struct svcc_config *cfg, const char *cidr);

/* Find a service by name ("namespace/name" or "name"), or NULL. */
SVCC_API struct svcc_service *svcc_config_find_service(struct svcc_config *cfg, const char *name);
/* Add an empty service; fails with EEXIST if the name is taken. */
SVCC_API int svcc_config_add_service(struct svcc_config *cfg, const char *name,
			    struct svcc_service **out);
SVCC_API int svcc_config_remove_service(struct svcc_config *cfg, const char *name);
SVCC_API size_t svcc_config_service_count(const struct svcc_config *cfg);

enum svcc_proto { SVCC_TCP = 6, SVCC_UDP = 17, SVCC_SCTP = 132 };

struct svcc_port {
	const char *name;	/* optional, may be NULL */
	uint16_t port;		/* service port, 1..65535 */
	enum svcc_proto proto;
	uint16_t target_port;	/* 0: same as port */
};

#define SVCC_EP_LOCAL	    0x1u	/* on this node */
#define SVCC_EP_TERMINATING 0x2u	/* used only when no ready endpoint remains */
#define SVCC_MAX_WEIGHT	    256

struct svcc_endpoint {
	const char *addr;
	unsigned flags;		/* SVCC_EP_* */
	unsigned weight;	/* 0 or 1: an equal share; N: N shares */
};

/* Set the service's vip of that address's family (a service may have one
 * IPv4 and one IPv6 vip: dual-stack). */
SVCC_API int svcc_service_set_vip(struct svcc_service *svc, const char *addr);
/* Replace the service's ports / endpoints with these (copied). */
SVCC_API int svcc_service_set_ports(struct svcc_service *svc, const struct svcc_port *ports, size_t n);
SVCC_API int svcc_service_set_endpoints(struct svcc_service *svc, const struct svcc_endpoint *eps, size_t n);

/* Health-check NodePort (Kubernetes' healthCheckNodePort, for a service
 * with traffic-policy external local): the node port on which a program of
 * the node's (an agent) answers the load balancers' health checks, 200
 * while the service has a local ready endpoint.  The ruleset leaves the
 * port alone: never DNATed, never refused.  0: none; > 65535: EINVAL.
 * That the service is external local is checked by svcc_compile. */
SVCC_API int svcc_service_set_health_check_nodeport(struct svcc_service *svc, unsigned port);
SVCC_API unsigned svcc_service_health_check_nodeport(const struct svcc_service *svc);
/* How many of the service's endpoints are local (on this node) and ready. */
SVCC_API size_t svcc_service_local_endpoints(const struct svcc_service *svc);
/* fn for each service with a health-check NodePort, in order: its name, the
 * port, its local ready endpoints.  A non-zero return of fn stops the walk
 * and is returned. */
SVCC_API int svcc_config_each_health_check(const struct svcc_config *cfg,
					   int (*fn)(const char *service, unsigned port,
						     size_t local_endpoints, void *arg),
					   void *arg);

/*
 * The rest of the language, statement by statement.  Same rules as above:
 * bad input fails with errno EINVAL and changes nothing; what needs the
 * whole config (families, duplicates, ports taken twice) is svcc_compile's.
 */

/* cluster { node-pod-cidr CIDR; }: pods are told by this node's own pod
 * CIDRs.  cluster { pod-bridge IFNAME; } / { pod-interface-prefix PREFIX; }:
 * by the interface they come in by (1 to 15 bytes, no '/', '*', quote or
 * blank); NULL clears.  Pods are told apart one way at most: setting one
 * while another is set fails with EINVAL. */
SVCC_API int svcc_config_add_node_pod_cidr(struct svcc_config *cfg, const char *cidr);
SVCC_API int svcc_config_set_pod_bridge(struct svcc_config *cfg, const char *ifname);
SVCC_API int svcc_config_set_pod_interface_prefix(struct svcc_config *cfg, const char *prefix);
/* cluster { zone NAME; node-name NAME; }: this node's place, for topology
 * (letters, digits, '-', '_', '.'; a zone at most 63, a node 253); NULL clears. */
SVCC_API int svcc_config_set_zone(struct svcc_config *cfg, const char *zone);
SVCC_API int svcc_config_set_node_name(struct svcc_config *cfg, const char *name);

/* nodeport: the NodePort of the service's port i (in svcc_service_set_ports'
 * order), 1..65535; 0: none.  set_ports gives every port none. */
SVCC_API int svcc_service_set_port_nodeport(struct svcc_service *svc, size_t i, unsigned nodeport);
/* port ... -> NAME: port i targets the named port NAME (at most 15
 * characters), whose number each endpoint gives (add_endpoint_port). */
SVCC_API int svcc_service_set_port_target_name(struct svcc_service *svc, size_t i,
					       const char *name);

/* The service's lists of addresses, each replaced whole by svcc_service_set_addrs. */
enum svcc_addr_list {
	SVCC_EXTERNAL_IPS,		/* external-ip ADDR */
	SVCC_LOAD_BALANCERS,		/* load-balancer ADDR */
	SVCC_PROXY_LOAD_BALANCERS,	/* load-balancer ADDR proxy (ipMode Proxy) */
	SVCC_SOURCE_RANGES,		/* source-ranges CIDR, ...: prefixes */
};
SVCC_API int svcc_service_set_addrs(struct svcc_service *svc, enum svcc_addr_list which,
				    const char *const *addrs, size_t n);

/* affinity client-ip timeout SECONDS (1..86400); 0: affinity none. */
#define SVCC_AFFINITY_TIMEOUT_DEFAULT 10800	/* Kubernetes': three hours */
SVCC_API int svcc_service_set_affinity(struct svcc_service *svc, unsigned timeout);

/* traffic-policy external|internal local; a flag not set: cluster. */
#define SVCC_POLICY_EXTERNAL_LOCAL 0x1u
#define SVCC_POLICY_INTERNAL_LOCAL 0x2u
SVCC_API int svcc_service_set_traffic_policy(struct svcc_service *svc, unsigned flags);

/* traffic-distribution (prefer-close is PREFER_SAME_ZONE, its newer name). */
enum svcc_distribution {
	SVCC_DIST_NONE,
	SVCC_DIST_PREFER_SAME_ZONE,
	SVCC_DIST_PREFER_SAME_NODE,
};
SVCC_API int svcc_service_set_traffic_distribution(struct svcc_service *svc,
						   enum svcc_distribution d);

/* Endpoint i's attributes (in svcc_service_set_endpoints' order), which
 * set_endpoints leaves empty.  port NAME N: its target for the service port
 * NAME (N 1..65535).  zone, node: where it runs (NULL clears).  hint-zone,
 * hint-node: its EndpointSlice hints.  Names as svcc_config_set_zone's. */
enum svcc_hint { SVCC_HINT_ZONE, SVCC_HINT_NODE };
SVCC_API int svcc_service_add_endpoint_port(struct svcc_service *svc, size_t i, const char *name,
					    unsigned port);
SVCC_API int svcc_service_set_endpoint_zone(struct svcc_service *svc, size_t i, const char *zone);
SVCC_API int svcc_service_set_endpoint_node(struct svcc_service *svc, size_t i, const char *node);
SVCC_API int svcc_service_add_endpoint_hint(struct svcc_service *svc, size_t i, enum svcc_hint kind,
					    const char *name);

/* ---- reading a configuration back ------------------------------------- */

/*
 * Getters: what a config holds, parsed or built, in the order it was given.
 * Strings returned as const char * belong to the config: they stay valid
 * until the service (or, for cluster settings, the config) is changed,
 * removed or freed; NULL means not set.  Addresses are written as text
 * into the caller's buffer buf of SVCC_ADDR_TEXT_MAX bytes, which is
 * returned (prefixes as "ADDR/LEN", addresses plain).  An index out of
 * range gives NULL (or 0) with errno ERANGE.
 */
#define SVCC_ADDR_TEXT_MAX 50	/* INET6_ADDRSTRLEN + "/128" */

/* The config's lists of prefixes and addresses. */
enum svcc_cidr_list {
	SVCC_POD_CIDRS,			/* cluster { pod-cidr } */
	SVCC_SERVICE_CIDRS,		/* cluster { service-cidr } */
	SVCC_NODE_IPS,			/* cluster { node-ip }: addresses */
	SVCC_NODE_POD_CIDRS,		/* cluster { node-pod-cidr } */
	SVCC_MASQUERADE_FROM,		/* masquerade { from } */
};
SVCC_API size_t svcc_config_cidr_count(const struct svcc_config *cfg, enum svcc_cidr_list which);
SVCC_API const char *svcc_config_cidr(const struct svcc_config *cfg, enum svcc_cidr_list which,
				      size_t i, char *buf);
SVCC_API unsigned svcc_config_masquerade(const struct svcc_config *cfg);	/* SVCC_MASQ_* */
SVCC_API const char *svcc_config_pod_bridge(const struct svcc_config *cfg);
SVCC_API const char *svcc_config_pod_interface_prefix(const struct svcc_config *cfg);
SVCC_API const char *svcc_config_zone(const struct svcc_config *cfg);
SVCC_API const char *svcc_config_node_name(const struct svcc_config *cfg);

/* Service i, in the order they were added (or parsed); removing one moves
 * the later ones down. */
SVCC_API const struct svcc_service *svcc_config_service_at(const struct svcc_config *cfg, size_t i);
SVCC_API const char *svcc_service_name(const struct svcc_service *svc);
/* The vip of family 4 or 6, or NULL (errno ENOENT) when it has none. */
SVCC_API const char *svcc_service_vip(const struct svcc_service *svc, int family, char *buf);

SVCC_API size_t svcc_service_port_count(const struct svcc_service *svc);
/* Port i as svcc_service_set_ports takes it: out->name belongs to the
 * service; out->target_port is the number (the port's own when none was
 * given), 0 with a named target. */
SVCC_API int svcc_service_port(const struct svcc_service *svc, size_t i, struct svcc_port *out);
SVCC_API const char *svcc_service_port_target_name(const struct svcc_service *svc, size_t i);
SVCC_API unsigned svcc_service_port_nodeport(const struct svcc_service *svc, size_t i);

SVCC_API size_t svcc_service_addr_count(const struct svcc_service *svc, enum svcc_addr_list which);
SVCC_API const char *svcc_service_addr(const struct svcc_service *svc, enum svcc_addr_list which,
				       size_t i, char *buf);
SVCC_API unsigned svcc_service_affinity(const struct svcc_service *svc);	/* timeout; 0: none */
SVCC_API unsigned svcc_service_traffic_policy(const struct svcc_service *svc);	/* SVCC_POLICY_* */
SVCC_API enum svcc_distribution svcc_service_traffic_distribution(const struct svcc_service *svc);

SVCC_API size_t svcc_service_endpoint_count(const struct svcc_service *svc);
/* Endpoint i as svcc_service_set_endpoints takes it: out->addr is buf;
 * out->weight is at least 1. */
SVCC_API int svcc_service_endpoint(const struct svcc_service *svc, size_t i,
				   struct svcc_endpoint *out, char *buf);
SVCC_API size_t svcc_service_endpoint_port_count(const struct svcc_service *svc, size_t i);
/* Endpoint i's port j: its name (the service port's), the number in *port. */
SVCC_API const char *svcc_service_endpoint_port(const struct svcc_service *svc, size_t i, size_t j,
						unsigned *port);
SVCC_API const char *svcc_service_endpoint_zone(const struct svcc_service *svc, size_t i);
SVCC_API const char *svcc_service_endpoint_node(const struct svcc_service *svc, size_t i);
SVCC_API size_t svcc_service_endpoint_hint_count(const struct svcc_service *svc, size_t i,
						 enum svcc_hint kind);
SVCC_API const char *svcc_service_endpoint_hint(const struct svcc_service *svc, size_t i,
						enum svcc_hint kind, size_t j);

/*
 * A config in parts (one per file, as `svcc agent` reads a directory).
 * svcc_config_add_from: copy src's services and cluster settings into dst.
 * Lists are joined (an entry dst has already is not repeated); zone,
 * node-name, pod-bridge and pod-interface-prefix are taken where dst has
 * none.  A service name dst has already fails with EEXIST, the same word
 * set differently or a masquerade policy other than the default in both
 * with EINVAL, changing
 * nothing.  The copies keep src's locations, which point into the context
 * src was parsed in: keep it while dst's diagnostics may name them.
 */
SVCC_API int svcc_config_add_from(struct svcc_config *dst, const struct svcc_config *src);
/* dst joined from parts (add_from): replace the services part old brought
 * (NULL: none, a new part) by new_cfg's (NULL: none, the part removed), at
 * a cost that grows with the two parts (a service removed: a move of the
 * ones after it in dst).  A service of both keeps its
 * place in dst; one new_cfg adds comes last.  old and new_cfg must have the
 * same cluster and masquerade settings (svcc_config_same_cluster; a part
 * without services or settings for NULL), else EINVAL: a change of them is
 * a new join.  A service dst has from another part fails with EEXIST;
 * ENOMEM; on failure dst is unchanged.  Locations as add_from's. */
SVCC_API int svcc_config_replace_from(struct svcc_config *dst, const struct svcc_config *old,
				      const struct svcc_config *new_cfg);
/* 1 when a and b have the same cluster and masquerade settings, else 0. */
SVCC_API int svcc_config_same_cluster(const struct svcc_config *a, const struct svcc_config *b);
/* fn for each service that differs between old (NULL: none) and new_cfg:
 * new_cfg's added or changed ones in its order, then old's removed ones;
 * the name is valid during the call.  A non-zero return of fn stops the
 * walk and is returned.  The names are what svcc_runtime_update takes. */
SVCC_API int svcc_config_each_changed_service(const struct svcc_config *old,
					      const struct svcc_config *new_cfg,
					      int (*fn)(const char *name, void *arg), void *arg);

/* The endpoints of all the services (a metric for an agent). */
SVCC_API size_t svcc_config_endpoint_count(const struct svcc_config *cfg);

/* ---- compiling --------------------------------------------------------- */

struct svcc_ruleset;

struct svcc_options {
	const char *table;	/* NULL: "svcc" */
};

/* Check cfg (every error goes to ctx) and lower it to a ruleset. */
SVCC_API int svcc_compile(struct svcc_ctx *ctx, const struct svcc_config *cfg,
		 const struct svcc_options *opts, struct svcc_ruleset **out);
SVCC_API void svcc_ruleset_free(struct svcc_ruleset *rs);
/* The ruleset as one nft transaction replacing any earlier table of its name. */
SVCC_API int svcc_ruleset_write(const struct svcc_ruleset *rs, FILE *out);

/* The transaction from old (NULL: no table yet) to new_rs, as nft commands
 * that `nft -f` applies on top of old; nothing when they are equal. */
SVCC_API int svcc_ruleset_diff(const struct svcc_ruleset *old, const struct svcc_ruleset *new_rs,
		      FILE *out);

/* ---- trace: where a new connection goes, without a kernel --------------- */

/* Where the packet comes from: a pod (in by its interface), the node
 * itself (the output hook), or another machine (in by the node's uplink).
 * SVCC_FROM_GUESS: by the source address: the node when it is one of the
 * node's addresses (below), a pod when it is in a pod-cidr, else outside. */
enum svcc_source { SVCC_FROM_POD, SVCC_FROM_NODE, SVCC_FROM_OUTSIDE, SVCC_FROM_GUESS };

struct svcc_flow {
	enum svcc_source from;
	const char *saddr;	/* source address */
	const char *daddr;	/* destination address, of saddr's family */
	uint16_t dport;
	enum svcc_proto proto;
	/* The interface it comes in by (for rulesets that tell pods by it);
	 * NULL: from a pod, the one the ruleset names; from outside, "eth0". */
	const char *iifname;
	/* The node's own addresses, besides the ruleset's node-ips and, from
	 * the node, saddr: where the input hook and "fib daddr type local" see
	 * a packet for the node. */
	const char *const *node_addrs;
	size_t n_node_addrs;
};

enum svcc_trace_verdict {
	SVCC_TRACE_DNAT,	/* to an endpoint (addr, port) */
	SVCC_TRACE_ACCEPT,	/* left alone: to daddr, dport unchanged */
	SVCC_TRACE_RESET,	/* refused with a TCP reset */
	SVCC_TRACE_UNREACHABLE,	/* refused with ICMP port unreachable */
	SVCC_TRACE_DROP,
};

/* One way a new connection goes; owned by its trace. */
struct svcc_trace_outcome {
	enum svcc_trace_verdict verdict;
	double share;		/* of new connections: 0 < share <= 1 */
	const char *addr;	/* where it goes: the endpoint, else daddr */
	uint16_t port;
	int masquerade;		/* its source rewritten to the node's address */
	int local;		/* delivered to the node itself (the input hook) */
	/* the base chains and the chains they led to, per hook:
	 * "prerouting: nat-prerouting > services > svc-..; forward: ..." */
	const char *path;
};

struct svcc_trace;

/*
 * Take the first packet of a new connection through rs as the kernel would
 * (every hook in order, sets and maps looked up, marks, numgen shares), in
 * user space.  Outcomes with the same verdict, destination, masquerade and
 * path are one, their shares summed; they come sorted.  A malformed flow
 * fails with EINVAL, its reason in ctx.  A client of an affinity service is
 * taken as new: no remembered endpoint.
 */
SVCC_API int svcc_trace(struct svcc_ctx *ctx, const struct svcc_ruleset *rs,
			const struct svcc_flow *flow, struct svcc_trace **out);
SVCC_API void svcc_trace_free(struct svcc_trace *t);
SVCC_API size_t svcc_trace_count(const struct svcc_trace *t);
SVCC_API const struct svcc_trace_outcome *svcc_trace_get(const struct svcc_trace *t, size_t i);
/* The trace for people (one line per outcome, its path under it), or with
 * SVCC_TRACE_JSON as one JSON object. */
#define SVCC_TRACE_JSON 0x1u
SVCC_API int svcc_trace_write(const struct svcc_trace *t, unsigned flags, FILE *out);

/* ---- Kubernetes import ------------------------------------------------- */

/*
 * What the Kubernetes objects do not say: this node's place, the cluster's
 * networks, and how pods are told apart (kube-proxy's --detect-local-mode:
 * by pod_cidrs, the default; or by at most one of pod_bridge,
 * pod_interface_prefix, node_pod_cidrs).  Arrays of n strings; NULL and 0
 * for none.  All borrowed.
 */
struct svcc_import_options {
	const char *node_name;		/* its endpoints are local; its hints are taken */
	const char *zone;		/* topology.kubernetes.io/zone */
	const char *const *pod_cidrs;
	size_t npod_cidrs;
	const char *const *service_cidrs;
	size_t nservice_cidrs;
	const char *const *node_ips;
	size_t nnode_ips;
	const char *pod_bridge;
	const char *pod_interface_prefix;
	const char *const *node_pod_cidrs;
	size_t nnode_pod_cidrs;
};

/*
 * Services and EndpointSlices as kubectl and the API server give them, as a
 * config: what kube-proxy would make of them.  Each file ("-": standard
 * input) is JSON or YAML (a stream of documents too); each document a
 * single object, a List of any kind (List, ServiceList, EndpointSliceList,
 * or none; "items": null is empty), Services and EndpointSlices mixed in
 * any order and over any number of files.  What the language cannot say is
 * left out with an SVCC_WARNING in ctx (file: the file's name, "<stdin>"
 * for "-"; message: "NAMESPACE/NAME: JSON.path: what"), never silently.
 * Fails, with SVCC_ERROR diagnostics, on input that cannot be read as such
 * objects (errno EBADMSG; an unreadable file: its errno), on bad options
 * (EINVAL, nothing read) and out of memory (ENOMEM).  opts may be NULL.
 * *out is the caller's (svcc_config_free).  The first call installs in
 * jansson an allocator hook that calls the one before it (a program's own
 * too), to tell out of memory from bad input.
 */
SVCC_API int svcc_import_k8s(struct svcc_ctx *ctx, const char *const *files, size_t n,
			     const struct svcc_import_options *opts, struct svcc_config **out);

/* The same from memory (an agent's watch cache): name is what diagnostics call it. */
struct svcc_import_buffer {
	const char *name;
	const char *data;	/* JSON or YAML, len bytes (no NUL needed) */
	size_t len;
};
SVCC_API int svcc_import_k8s_buffers(struct svcc_ctx *ctx, const struct svcc_import_buffer *bufs,
				     size_t n, const struct svcc_import_options *opts,
				     struct svcc_config **out);

/* ---- runtime: the kernel ------------------------------------------------ */

struct svcc_runtime;

struct svcc_apply_stats {
	unsigned long added;	/* objects (sets, chains, rules, elements) added */
	unsigned long changed;	/* chains rewritten */
	unsigned long deleted;	/* objects deleted */
	unsigned long messages;	/* netlink messages sent in the batch */
	unsigned long conntrack_deleted; /* stale UDP conntrack entries deleted */
	unsigned long affinity_deleted;	/* remembered affinity clients of removed
					 * endpoints forgotten */
	double seconds;		/* wall time of the apply */
	unsigned long services_compiled; /* services the last apply compiled */
	unsigned long sets_read;	/* sets whose elements were read back for it
					 * (since the last apply); the others the
					 * table's set-fingerprints map vouched for */
	unsigned long chains_read;	/* chains read back for it, likewise */
};

#define SVCC_RT_VIA_NFT 0x1u	/* send transactions as nft text through libnftables */
#define SVCC_RT_ONE_SHOT 0x2u	/* one apply, then free: keep no copy of what was
				 * applied (another apply reads the table back) */
/* Own the table while the runtime lives (NFT_TABLE_F_OWNER, Linux 5.12):
 * no other process can change or delete it (the kernel answers EPERM);
 * and keep it when the runtime goes (NFT_TABLE_F_PERSIST, 6.9), for the
 * next runtime asking to own it to adopt.  Taken at the first apply, where
 * the kernel has the flags (without them, or through SVCC_RT_VIA_NFT, the
 * table is not owned: a warning); a table that exists unowned and not
 * persistent is replaced by an owned one in that apply's one batch. */
#define SVCC_RT_OWNER 0x4u

/* A runtime keeps one table in the kernel in step with the rulesets given
 * to it.  It reads the table back on creation. */
SVCC_API int svcc_runtime_new(struct svcc_ctx *ctx, const char *table, unsigned flags,
		     struct svcc_runtime **out);
SVCC_API void svcc_runtime_free(struct svcc_runtime *rt);
/* Make the kernel match rs in one atomic transaction holding only the
 * difference.  On error the kernel is unchanged, and so is the runtime's
 * idea of it. */
SVCC_API int svcc_runtime_apply(struct svcc_runtime *rt, const struct svcc_ruleset *rs);
/* Check, compile and apply cfg whole (svcc_compile + svcc_runtime_apply), and
 * keep what later svcc_runtime_update calls need. */
SVCC_API int svcc_runtime_apply_config(struct svcc_runtime *rt, const struct svcc_config *cfg);
/* Apply cfg after changes to the named services only (updated, added or
 * removed since this runtime's last apply_config or update): only they are
 * checked, compiled and diffed, so the cost does not grow with the number of
 * services.  When the change reaches beyond them (cluster settings, a first
 * NodePort/firewall/IPv6 service, a slot collision, no apply_config before),
 * it applies cfg whole instead.  Same guarantees as svcc_runtime_apply. */
SVCC_API int svcc_runtime_update(struct svcc_runtime *rt, const struct svcc_config *cfg,
				 const char *const *names, size_t n);
/* Print the transaction apply would send, as nft commands, without sending it. */
SVCC_API int svcc_runtime_plan(struct svcc_runtime *rt, const struct svcc_ruleset *rs, FILE *out);
/* Read the table back from the kernel (after drift, or to be sure). */
SVCC_API int svcc_runtime_resync(struct svcc_runtime *rt);
/* Read the whole table back, rules included (nothing taken on trust), and
 * compare it with rs: 0 when the kernel holds exactly rs; 1 when not, with
 * the differences written to out as a diff of nft commands ("- " what the
 * kernel has that rs has not, "+ " what it lacks: what an apply would
 * send); -1 on error.  Changes nothing in the kernel; the runtime then
 * holds the table as read back, so its next svcc_runtime_update applies
 * whole (svcc_runtime_read leaves the runtime alone).  The elements of
 * dynamic sets (the affinity maps, filled by the packet path) are not
 * compared. */
SVCC_API int svcc_runtime_verify(struct svcc_runtime *rt, const struct svcc_ruleset *rs, FILE *out);
/* The table as the kernel holds it, read back whole, rules included, as a
 * ruleset (for svcc_trace, svcc_ruleset_write): *out NULL when there is no
 * table.  A rule svcc would not make (another program's) is left out and
 * counted in *foreign (may be NULL).  The runtime's own state is unchanged;
 * free *out with svcc_ruleset_free. */
SVCC_API int svcc_runtime_read(struct svcc_runtime *rt, struct svcc_ruleset **out,
			       size_t *foreign);
/*
 * What the kernel's table does, per service port, as `ipvsadm -l -n` shows
 * it, written to out: the port's addresses (vip, external or load-balancer,
 * NodePort), its endpoints with their weights (from the shares a new
 * connection gets, traced through the table read back), and per endpoint
 * the connections conntrack holds DNATed to it through those addresses:
 * active (TCP established) and inactive (the rest).  Where a client
 * outside is treated otherwise (a local traffic policy, source ranges),
 * that is said per address.  filter: NULL (all), a service ("ns/name" or
 * "name") or "ADDR:PORT[/PROTO]" ("[v6]:PORT").  SVCC_SHOW_JSON: one JSON
 * object; SVCC_SHOW_STATS: the packets and bytes of those connections
 * (conntrack accounting, net.netfilter.nf_conntrack_acct=1; the ruleset
 * keeps no counters, which would cost every packet).  0; 1 when the
 * filter matched nothing; -1 with errno (EINVAL: a malformed filter;
 * ENOENT: no table), the reason in the runtime's ctx.
 */
#define SVCC_SHOW_JSON	0x1u
#define SVCC_SHOW_STATS	0x2u
SVCC_API int svcc_runtime_show(struct svcc_runtime *rt, const char *filter, unsigned flags,
			       FILE *out);
/* Remove the table from the kernel. */
SVCC_API int svcc_runtime_delete_table(struct svcc_runtime *rt);
SVCC_API const struct svcc_apply_stats *svcc_runtime_stats(const struct svcc_runtime *rt);
/* The netlink port id of the process owning the table (NFT_TABLE_F_OWNER;
 * SVCC_RT_OWNER), as last read or applied: 0 when no one owns it. */
SVCC_API uint32_t svcc_runtime_owner(const struct svcc_runtime *rt);

#ifdef __cplusplus
}
#endif

#endif
