/* SPDX-License-Identifier: MIT */
/*
 * The resolve pass: read the words of the syntax tree into the typed model,
 * a block at a time as the parser finishes each.  Errors about one word (a
 * bad address, a port out of range) are found here; errors about the whole
 * (duplicates, families) in check.c.  Errors go to ctx as they are found,
 * in the order of the file; when there are any, the well-formed services
 * are checked too, so that all errors are reported at once.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>

#include "ast.h"
#include "model.h"
#include "suggest.h"
#include "util.h"

struct resolver {
	struct svcc_ctx *ctx;
	struct svcc_config *cfg;
	size_t *bad;		/* indices of the services with errors, ascending */
	size_t nbad, bad_cap;
	bool cluster_bad;	/* a cluster statement had an error */
	bool nomem;
	bool masq_seen;
};

static void nomem(struct resolver *r)
{
	r->nomem = true;
}

/* A plain address; what names the statement in messages. */
static bool read_addr(struct resolver *r, const struct ast_word *w, const char *what,
		      struct addr *out)
{
	if (!addr_parse(w->text, out))
		return true;	/* no address has a '/' */
	if (strchr(w->text, '/'))
		diag_error(r->ctx, w->loc, "%s takes an address, not a prefix: '%s'", what, w->text);
	else
		diag_error(r->ctx, w->loc, "invalid address '%s' in %s", w->text, what);
	return false;
}

/* A prefix or, without prefix_ok, a plain address (a full-length prefix). */
static bool read_cidr(struct resolver *r, const struct ast_word *w, const char *what,
		      bool prefix_ok, struct cidr *out)
{
	bool plen_bad, host_bits;

	if (!prefix_ok) {
		if (!read_addr(r, w, what, &out->addr))
			return false;
		out->plen = out->addr.family == 4 ? 32 : 128;
		out->loc = w->loc;
		return true;
	}
	if (cidr_parse(w->text, out, &plen_bad, &host_bits)) {
		if (plen_bad)
			diag_error(r->ctx, w->loc, "invalid prefix length %s in %s",
				   strchr(w->text, '/') + 1, what);
		else
			diag_error(r->ctx, w->loc, "invalid address '%s' in %s", w->text, what);
		return false;
	}
	if (host_bits) {
		diag_error(r->ctx, w->loc, "%s %s has bits set past its prefix length", what, w->text);
		return false;
	}
	out->loc = w->loc;
	return true;
}

/*
 * Addresses Kubernetes' own validation refuses as an endpoint or as a
 * service's address (what the statement is; noun: "an endpoint").
 */
static bool usable_addr(struct resolver *r, const struct ast_word *w, const char *what,
			const char *noun, const struct addr *a, enum addr_use use)
{
	enum addr_class c = addr_unusable(a->family, a->bytes, use);

	if (c == ADDR_UNICAST)
		return true;
	diag_error(r->ctx, w->loc, "%s %s is %s, which Kubernetes does not take as %s",
		   what, w->text, addr_class_name(c), noun);
	return false;
}

/* IANA_SVC_NAME: what Kubernetes takes as a port's name, or as a named target port. */
static bool port_name_fits(struct resolver *r, const struct ast_word *w, const char *what)
{
	size_t len = strlen(w->text);

	if (len <= K8S_PORT_NAME_MAX)
		return true;
	diag_error(r->ctx, w->loc, "%s '%s' is too long: Kubernetes takes at most %d characters "
		   "(IANA_SVC_NAME), and this one has %zu", what, w->text, K8S_PORT_NAME_MAX, len);
	return false;
}

static void add_cidr(struct resolver *r, struct cidr **v, size_t *n, size_t *cap,
		     const struct ast_word *w, const char *what, bool prefix_ok)
{
	struct cidr c;

	if (read_cidr(r, w, what, prefix_ok, &c) && cidr_list_add(v, n, cap, &c))
		nomem(r);
}

/*
 * A topology name (a zone or a node): what Kubernetes takes as a label
 * value (zone, at most 63) or a node name (at most 253): letters, digits,
 * '-', '_', '.'.
 */
static bool topo_name_ok(struct resolver *r, const struct ast_word *w, const char *what,
			 size_t max)
{
	if (!topo_name_valid(w->text, max)) {
		diag_error(r->ctx, w->loc, "invalid %s '%s': at most %zu letters, digits, '-', "
			   "'_', '.'", what, w->text, max);
		return false;
	}
	return true;
}

/* zone NAME; node-name NAME; once each */
static void set_topo_name(struct resolver *r, char **to, const struct ast_stmt *s,
			  const char *what, size_t max)
{
	if (*to) {
		diag_error(r->ctx, s->loc, "a second %s in the cluster block", what);
		return;
	}
	if (topo_name_ok(r, &s->arg, what, max) && !(*to = strdup(s->arg.text)))
		nomem(r);
}

/* An interface name (or prefix): what the kernel takes, 1 to 15 bytes, no '/' nor space. */
static void set_iface(struct resolver *r, char **to, const struct ast_stmt *s, const char *what)
{
	const char *t = s->arg.text;

	if (*to) {
		diag_error(r->ctx, s->loc, "a second %s in the cluster block", what);
		return;
	}
	if (!iface_name_valid(t)) {
		diag_error(r->ctx, s->arg.loc, "invalid %s '%s': an interface name of 1 to 15 "
			   "bytes, without '/', '*', quotes or blanks", what, t);
		return;
	}
	if (!(*to = strdup(t)))
		nomem(r);
}

static void resolve_cluster(struct resolver *r, const struct ast_block *b)
{
	struct svcc_config *cfg = r->cfg;
	size_t errors = svcc_error_count(r->ctx);

	for (const struct ast_stmt *s = b->stmts; s; s = s->next) {
		switch (s->kind) {
		case AST_POD_CIDR:
			add_cidr(r, &cfg->pod_cidrs, &cfg->npod_cidrs, &cfg->pod_cidrs_cap,
				 &s->arg, "pod-cidr", true);
			break;
		case AST_SERVICE_CIDR:
			add_cidr(r, &cfg->service_cidrs, &cfg->nservice_cidrs,
				 &cfg->service_cidrs_cap, &s->arg, "service-cidr", true);
			break;
		case AST_NODE_IP:
			add_cidr(r, &cfg->node_ips, &cfg->nnode_ips, &cfg->node_ips_cap,
				 &s->arg, "node-ip", false);
			break;
		case AST_ZONE:
			set_topo_name(r, &cfg->zone, s, "zone", TOPO_ZONE_MAX);
			break;
		case AST_NODE_POD_CIDR:
			add_cidr(r, &cfg->node_pod_cidrs, &cfg->nnode_pod_cidrs,
				 &cfg->node_pod_cidrs_cap, &s->arg, "node-pod-cidr", true);
			break;
		case AST_POD_BRIDGE:
			set_iface(r, &cfg->pod_bridge, s, "pod-bridge");
			break;
		case AST_POD_INTERFACE_PREFIX:
			set_iface(r, &cfg->pod_iface_prefix, s, "pod-interface-prefix");
			break;
		case AST_NODE_NAME:
			set_topo_name(r, &cfg->node_name, s, "node-name", TOPO_NODE_MAX);
			break;
		default:
			break;	/* the grammar allows no other statement here */
		}
	}
	if (!!cfg->pod_bridge + !!cfg->pod_iface_prefix + !!cfg->nnode_pod_cidrs > 1)
		diag_error(r->ctx, b->loc, "pods are told apart one way: node-pod-cidr, "
			   "pod-bridge or pod-interface-prefix, not more");
	r->cluster_bad |= svcc_error_count(r->ctx) != errors;
}

static void resolve_masquerade(struct resolver *r, const struct ast_block *b)
{
	struct svcc_config *cfg = r->cfg;

	/* A masquerade block replaces the default: it lists all there is. */
	if (!r->masq_seen)
		cfg->masq = 0;
	r->masq_seen = true;
	for (const struct ast_stmt *s = b->stmts; s; s = s->next) {
		if (s->kind == AST_MASQ_NON_POD)
			cfg->masq |= SVCC_MASQ_NON_POD;
		else if (s->kind == AST_MASQ_ALL)
			cfg->masq |= SVCC_MASQ_ALL;
		else if (s->kind == AST_MASQ_FROM)
			add_cidr(r, &cfg->masq_from, &cfg->nmasq_from, &cfg->masq_from_cap,
				 &s->arg, "masquerade from", true);
	}
}

static bool read_number(const char *s, size_t len, long *out)
{
	long n = 0;

	if (!len || len > 6)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (!isdigit((unsigned char)s[i]))
			return false;
		n = n * 10 + (s[i] - '0');
	}
	*out = n;
	return true;
}

static bool read_port_number(struct resolver *r, const struct ast_word *w, const char *s,
			     size_t len, const char *what, uint16_t *out)
{
	long n;

	if (!read_number(s, len, &n)) {
		diag_error(r->ctx, w->loc, "invalid %s '%.*s': expected a number", what, (int)len, s);
		return false;
	}
	if (n < 1 || n > 65535) {
		diag_error(r->ctx, w->loc, "%s %ld out of range 1-65535", what, n);
		return false;
	}
	*out = (uint16_t)n;
	return true;
}

/* port [NAME] PORT[/PROTO] [-> TARGET] */
static void resolve_port(struct resolver *r, struct svcc_service *svc, const struct ast_stmt *s)
{
	const char *text = s->arg.text, *slash = strchr(text, '/');
	size_t len = slash ? (size_t)(slash - text) : strlen(text);
	struct port p = { .proto = IPPROTO_TCP, .name = s->name.text, .loc = s->loc };
	bool ok = read_port_number(r, &s->arg, text, len, "port", &p.port);

	if (slash) {
		if (!strcmp(slash + 1, "tcp"))
			p.proto = IPPROTO_TCP;
		else if (!strcmp(slash + 1, "udp"))
			p.proto = IPPROTO_UDP;
		else if (!strcmp(slash + 1, "sctp"))
			p.proto = IPPROTO_SCTP;
		else {
			static const char *const protos[] = { "tcp", "udp", "sctp" };
			const char *near = suggest(slash + 1, protos, 3);

			if (near)
				diag_error(r->ctx, s->arg.loc, "unknown protocol '%s'; did you mean '%s'?",
					   slash + 1, near);
			else
				diag_error(r->ctx, s->arg.loc,
					   "unknown protocol '%s': expected tcp, udp or sctp", slash + 1);
			ok = false;
		}
	}
	if (p.name && !name_valid(p.name, false)) {
		diag_error(r->ctx, s->name.loc, "invalid port name '%s'", p.name);
		ok = false;
	} else if (p.name && !port_name_fits(r, &s->name, "port name")) {
		ok = false;
	}
	p.target = p.port;
	if (s->target.text && !isdigit((unsigned char)s->target.text[0])) {
		/* a named target: each endpoint gives its number */
		if (!name_valid(s->target.text, false)) {
			diag_error(r->ctx, s->target.loc, "invalid target port '%s'", s->target.text);
			ok = false;
		} else if (!port_name_fits(r, &s->target, "target port name")) {
			ok = false;
		}
		p.target = 0;
		p.target_name = s->target.text;
	} else if (s->target.text &&
		   !read_port_number(r, &s->target, s->target.text, strlen(s->target.text),
				     "target port", &p.target))
		ok = false;
	if (ok && service_add_port(svc, &p))
		nomem(r);
}

static bool read_number_word(struct resolver *r, const struct ast_word *w, const char *what,
			     long min, long max, long *out)
{
	if (!read_number(w->text, strlen(w->text), out)) {
		diag_error(r->ctx, w->loc, "invalid %s '%s': expected a number", what, w->text);
		return false;
	}
	if (*out < min || *out > max) {
		diag_error(r->ctx, w->loc, "%s %ld out of range %ld-%ld", what, *out, min, max);
		return false;
	}
	return true;
}

static bool is_topo_attr(const char *a)
{
	return !strcmp(a, "zone") || !strcmp(a, "node") || !strcmp(a, "hint-zone") ||
	       !strcmp(a, "hint-node");
}

static bool push_name(char ***v, size_t *n, const char *name)
{
	char **p = realloc(*v, (*n + 1) * sizeof(*p));

	if (!p)
		return false;
	*v = p;
	return (p[*n] = strdup(name)) && ++*n;
}

/* zone Z, node N (once each), hint-zone Z, hint-node N (repeatable) */
static bool add_topo(struct resolver *r, struct endpoint *e, const char *attr,
		     const struct ast_word *w)
{
	bool zone = !strcmp(attr, "zone") || !strcmp(attr, "hint-zone");
	struct ep_topo *t = e->topo;
	char **one = NULL;

	if (!topo_name_ok(r, w, attr, zone ? TOPO_ZONE_MAX : TOPO_NODE_MAX))
		return false;
	if (!t && !(t = e->topo = calloc(1, sizeof(*t)))) {
		nomem(r);
		return false;
	}
	if (!strcmp(attr, "zone"))
		one = &t->zone;
	else if (!strcmp(attr, "node"))
		one = &t->node;
	if (one && *one) {
		diag_error(r->ctx, w->loc, "a second %s for endpoint", attr);
		return false;
	}
	if (one ? !(*one = strdup(w->text))
		: zone ? !push_name(&t->hint_zones, &t->nhint_zones, w->text)
		       : !push_name(&t->hint_nodes, &t->nhint_nodes, w->text)) {
		nomem(r);
		return false;
	}
	return true;
}

/*
 * endpoint ADDR [local] [terminating] [weight N] [port NAME N]...
 * Made in place in the service's array, which has room for all of them.
 */
static void resolve_endpoint(struct resolver *r, struct svcc_service *svc, const struct ast_stmt *s)
{
	struct endpoint *e = service_endpoint_slot(svc);
	bool ok;
	long n;

	if (!e) {
		nomem(r);
		return;
	}
	*e = (struct endpoint){ .loc = s->arg.loc, .weight = 1 };
	ok = read_addr(r, &s->arg, "endpoint", &e->addr) &&
	     usable_addr(r, &s->arg, "endpoint", "an endpoint", &e->addr, USE_ENDPOINT);
	for (size_t i = 0; i < s->nargs; i++) {
		const struct ast_word *w = &s->args[i];

		if (!strcmp(w->text, "local")) {
			e->local = true;
		} else if (!strcmp(w->text, "terminating")) {
			e->terminating = true;
		} else if (!strcmp(w->text, "weight") && i + 1 < s->nargs) {
			ok &= read_number_word(r, &s->args[++i], "weight", 1, SVCC_MAX_WEIGHT, &n);
			e->weight = (uint16_t)n;
		} else if (!strcmp(w->text, "port") && i + 2 < s->nargs) {
			struct ep_port *v = realloc(e->ports, (e->nports + 1) * sizeof(*v));

			if (!v) {
				nomem(r);
				break;
			}
			e->ports = v;
			v[e->nports].name = strdup(s->args[i + 1].text);
			if (!v[e->nports].name) {
				nomem(r);
				break;
			}
			ok &= read_number_word(r, &s->args[i + 2], "endpoint port", 1, 65535, &n);
			v[e->nports++].port = (uint16_t)n;
			i += 2;
		} else if (is_topo_attr(w->text) && i + 1 < s->nargs) {
			ok &= add_topo(r, e, w->text, &s->args[++i]);
		} else {
			static const char *const attrs[] = { "local", "terminating", "weight", "port",
							     "zone", "node", "hint-zone", "hint-node" };
			const char *near = suggest(w->text, attrs, sizeof(attrs) / sizeof(attrs[0]));

			if (near) {
				diag_error(r->ctx, w->loc, "unknown endpoint attribute '%s'; did you mean "
					   "'%s'?", w->text, near);
				/* the words it would take are its, not attributes */
				i += !strcmp(near, "port") ? 2 : strcmp(near, "local") &&
								 strcmp(near, "terminating");
			} else
				diag_error(r->ctx, w->loc, "unknown endpoint attribute '%s': expected "
					   "local, terminating, weight N, port NAME N, zone Z, node N, "
					   "hint-zone Z or hint-node N", w->text);
			ok = false;
		}
	}
	if (ok && !r->nomem)
		svc->neps++;
	else
		endpoint_free(e);
}

/* nodeport [PORTNAME] PORT: attached to its service port once all ports are known */
static void resolve_nodeport(struct resolver *r, struct svcc_service *svc, const struct ast_stmt *s)
{
	struct port *p = NULL;
	long n;

	if (!read_number_word(r, &s->arg, "nodeport", 1, 65535, &n))
		return;
	for (size_t i = 0; i < svc->nports; i++) {
		if (s->name.text ? svc->ports[i].name && !strcmp(svc->ports[i].name, s->name.text)
				 : svc->nports == 1)
			p = &svc->ports[i];
	}
	if (!p) {
		if (s->name.text)
			diag_error(r->ctx, s->name.loc, "service '%s' has no port named '%s'",
				   svc->name, s->name.text);
		else
			diag_error(r->ctx, s->loc, "service '%s' has %zu ports: name the one this "
				   "nodeport is for", svc->name, svc->nports);
		return;
	}
	if (p->nodeport) {
		diag_error(r->ctx, s->arg.loc, "port %u/%s of service '%s' has a nodeport already",
			   p->port, proto_name(p->proto), svc->name);
		return;
	}
	p->nodeport = (uint16_t)n;
	p->nodeport_loc = s->arg.loc;
}

static void resolve_affinity(struct resolver *r, struct svcc_service *svc, const struct ast_stmt *s)
{
	long n = 10800;	/* Kubernetes' default: three hours */

	if (s->nargs == 1 && !strcmp(s->args[0].text, "none")) {
		svc->affinity_timeout = 0;
		return;
	}
	if (!s->nargs || strcmp(s->args[0].text, "client-ip") ||
	    (s->nargs != 1 && (s->nargs != 3 || strcmp(s->args[1].text, "timeout")))) {
		diag_error(r->ctx, s->loc, "expected 'affinity client-ip [timeout SECONDS]' or 'affinity none'");
		return;
	}
	if (s->nargs == 3 &&
	    !read_number_word(r, &s->args[2], "affinity timeout", 1, AFFINITY_TIMEOUT_MAX, &n))
		return;
	svc->affinity_timeout = (uint32_t)n;
	svc->affinity_loc = s->loc;
}

static void resolve_policy(struct resolver *r, struct svcc_service *svc, const struct ast_stmt *s)
{
	bool local;

	if (s->nargs != 2 || (strcmp(s->args[0].text, "external") && strcmp(s->args[0].text, "internal")) ||
	    (strcmp(s->args[1].text, "local") && strcmp(s->args[1].text, "cluster"))) {
		diag_error(r->ctx, s->loc, "expected 'traffic-policy external|internal local|cluster'");
		return;
	}
	local = !strcmp(s->args[1].text, "local");
	if (!strcmp(s->args[0].text, "external"))
		svc->external_local = local;
	else
		svc->internal_local = local;
	svc->policy_loc = s->loc;
}

/* traffic-distribution prefer-same-zone|prefer-close|prefer-same-node (Kubernetes' names) */
static void resolve_distribution(struct resolver *r, struct svcc_service *svc,
				 const struct ast_stmt *s)
{
	const char *v = s->nargs == 1 ? s->args[0].text : "";

	if (!strcmp(v, "prefer-same-zone") || !strcmp(v, "prefer-close"))
		svc->traffic_distribution = TD_SAME_ZONE;
	else if (!strcmp(v, "prefer-same-node"))
		svc->traffic_distribution = TD_SAME_NODE;
	else
		diag_error(r->ctx, s->loc, "expected 'traffic-distribution prefer-same-zone|"
			   "prefer-close|prefer-same-node'");
}

/* An address the service answers on besides its vips. */
static void add_addr(struct resolver *r, struct cidr **v, size_t *n, size_t *cap,
		     const struct ast_word *w, const char *what, const char *noun)
{
	struct cidr c;

	if (read_cidr(r, w, what, false, &c) &&
	    usable_addr(r, w, what, noun, &c.addr, USE_SERVICE) && cidr_list_add(v, n, cap, &c))
		nomem(r);
}

static void resolve_service_stmts(struct resolver *r, const struct ast_block *b)
{
	struct svcc_service *svc, *first;

	if (!name_valid(b->name.text, true)) {
		diag_error(r->ctx, b->name.loc,
			   "invalid service name '%s': expected [namespace/]name of letters, digits, '-', '_', '.'",
			   b->name.text);
		return;
	}
	svc = config_new_service(r->cfg, b->name.text, b->name.loc, &first);
	if (first) {
		diag_error(r->ctx, b->name.loc, "duplicate service '%s'", b->name.text);
		if (first->loc.file)
			diag_report(r->ctx, SVCC_NOTE, first->loc, "first defined here");
		return;
	}
	if (!svc || service_reserve(svc, b->nstmts[AST_PORT], b->nstmts[AST_ENDPOINT])) {
		nomem(r);
		return;
	}
	for (const struct ast_stmt *s = b->stmts; s; s = s->next) {
		struct cidr c;

		int fam;

		switch (s->kind) {
		case AST_VIP:
			if (!read_cidr(r, &s->arg, "vip", false, &c) ||
			    !usable_addr(r, &s->arg, "vip", "a vip", &c.addr, USE_SERVICE))
				break;
			fam = addr_fam(&c.addr);
			if (svc->has_vip[fam]) {
				diag_error(r->ctx, s->arg.loc, "service '%s' has an IPv%d vip already",
					   svc->name, c.addr.family);
				break;
			}
			svc->has_vip[fam] = true;
			svc->vip[fam] = c.addr;
			svc->vip_loc[fam] = s->arg.loc;
			break;
		case AST_PORT:
			resolve_port(r, svc, s);
			break;
		case AST_ENDPOINT:
			resolve_endpoint(r, svc, s);
			break;
		case AST_EXTERNAL_IP:
			add_addr(r, &svc->external_ips, &svc->nexternal_ips, &svc->external_ips_cap,
				 &s->arg, "external-ip", "an external IP");
			break;
		case AST_LOAD_BALANCER:
			if (s->nargs && strcmp(s->args[0].text, "proxy")) {
				diag_error(r->ctx, s->args[0].loc, "unknown load-balancer mode '%s': "
					   "expected proxy", s->args[0].text);
			} else if (s->nargs) {
				add_addr(r, &svc->proxy_lb_ips, &svc->nproxy_lb_ips,
					 &svc->proxy_lb_ips_cap, &s->arg, "load-balancer",
					 "a load-balancer address");
			} else {
				add_addr(r, &svc->lb_ips, &svc->nlb_ips, &svc->lb_ips_cap, &s->arg,
					 "load-balancer", "a load-balancer address");
			}
			break;
		case AST_SOURCE_RANGES:
			svc->source_ranges_loc = s->loc;
			for (size_t i = 0; i < s->nargs; i++)
				add_cidr(r, &svc->source_ranges, &svc->nsource_ranges,
					 &svc->source_ranges_cap, &s->args[i], "source-ranges", true);
			break;
		case AST_AFFINITY:
			resolve_affinity(r, svc, s);
			break;
		case AST_HEALTH_CHECK_NODEPORT: {
			long n;

			if (svc->hc_nodeport)
				diag_error(r->ctx, s->loc, "a second health-check-nodeport in service '%s'",
					   svc->name);
			else if (read_number_word(r, &s->arg, "health-check-nodeport", 1, 65535, &n)) {
				svc->hc_nodeport = (uint16_t)n;
				svc->hc_nodeport_loc = s->arg.loc;
			}
			break;
		}
		case AST_TRAFFIC_POLICY:
			resolve_policy(r, svc, s);
			break;
		case AST_TRAFFIC_DISTRIBUTION:
			resolve_distribution(r, svc, s);
			break;
		default:
			break;
		}
	}
	/* nodeports name ports that may come after them */
	if (!b->nstmts[AST_NODEPORT])
		return;
	for (const struct ast_stmt *s = b->stmts; s; s = s->next)
		if (s->kind == AST_NODEPORT)
			resolve_nodeport(r, svc, s);
}

/* A service with errors is left out of the checks: they could only add more. */
static void resolve_service(struct resolver *r, const struct ast_block *b)
{
	size_t errors = svcc_error_count(r->ctx), n = r->cfg->nservices;

	resolve_service_stmts(r, b);
	if (svcc_error_count(r->ctx) == errors || r->cfg->nservices == n)
		return;
	if (VEC_RESERVE(r->bad, r->nbad, r->bad_cap))
		nomem(r);
	else
		r->bad[r->nbad++] = n;
}

/*
 * There were errors: the checks of the services read without any, to
 * report theirs too.  A vip outside the service-cidrs that were read may
 * be inside one that was not: that check waits for a clean cluster block.
 */
static void check_well_formed(struct resolver *r, bool syntax_errors)
{
	const struct svcc_config *cfg = r->cfg;
	struct svcc_config view = *cfg;
	size_t b = 0;

	view.services = malloc((cfg->nservices + 1) * sizeof(*view.services));
	if (!view.services) {
		nomem(r);
		return;
	}
	view.nservices = 0;
	for (size_t i = 0; i < cfg->nservices; i++) {
		if (b < r->nbad && r->bad[b] == i)
			b++;
		else
			view.services[view.nservices++] = cfg->services[i];
	}
	if (syntax_errors || r->cluster_bad)
		view.nservice_cidrs = 0;
	check_config(r->ctx, &view);
	free(view.services);
}

/* An ast_block_fn: blocks come in the order of the file. */
static void resolve_block(void *arg, const struct ast_block *b)
{
	struct resolver *r = arg;

	if (b->kind == AST_CLUSTER)
		resolve_cluster(r, b);
	else if (b->kind == AST_MASQUERADE)
		resolve_masquerade(r, b);
	else
		resolve_service(r, b);
}

int resolve(struct svcc_ctx *ctx, const char *file, char *text, size_t len,
	    struct svcc_config **out)
{
	struct resolver r = { .ctx = ctx, .cfg = svcc_config_new() };
	size_t errors = svcc_error_count(ctx);
	int rc = -1, parsed;

	if (!r.cfg) {
		diag_error(ctx, LOC_NONE, "out of memory");
		return -1;
	}
	parsed = ast_parse(ctx, file, text, len, resolve_block, &r);
	if (parsed == -2)
		goto out;
	if (!r.nomem && svcc_error_count(ctx) == errors) {
		*out = r.cfg;
		r.cfg = NULL;
		rc = 0;
		goto out;
	}
	if (!r.nomem)
		check_well_formed(&r, parsed != 0);
	if (r.nomem)
		diag_error(ctx, LOC_NONE, "out of memory");
out:
	svcc_config_free(r.cfg);
	free(r.bad);
	return rc;
}
