/* SPDX-License-Identifier: MIT */
/*
 * The config as canonical .svc text (svcc_config_write, svcc fmt): the
 * cluster block, the masquerade block when it is not the default, then the
 * services by name; in each, statements in a fixed order and every list
 * sorted; addresses as inet_ntop writes them; defaults left out.  Parsing
 * the text gives back a config that compiles to the same bytes (the
 * output does not depend on the order of statements or lists).
 *
 * What the language cannot say (a name that is no word of it, a NodePort
 * on an unnamed port among several) is refused before anything is written.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>

#include "model.h"
#include "util.h"

enum word_ctx {
	W_WORD,		/* the grammar's word: WORD, all, from, non-pod */
	W_ATTR,		/* an endpoint attribute: a word, port or zone */
};

/* One word of the scanner, not a keyword where wc says (lang_word, valid.h). */
static bool is_word(const char *s, enum word_ctx wc)
{
	return s && lang_word(s, wc == W_ATTR);
}

/* What resolve takes as a service name (slash_ok) or a port name, written as one word. */
static bool is_name(const char *s, bool slash_ok)
{
	return is_word(s, W_WORD) && name_valid(s, slash_ok);
}

static bool is_port_name(const char *s)
{
	return is_name(s, false) && strlen(s) <= K8S_PORT_NAME_MAX;
}

/* A zone or node name, as resolve takes it, where wc says. */
static bool is_topo(const char *s, size_t max, enum word_ctx wc)
{
	return is_word(s, wc) && topo_name_valid(s, max);
}

static bool is_iface(const char *s)
{
	return !s || (is_word(s, W_WORD) && iface_name_valid(s));
}

static bool endpoint_writable(const struct endpoint *e)
{
	const struct ep_topo *t = e->topo;

	if (e->weight < 1 || e->weight > SVCC_MAX_WEIGHT)
		return false;
	for (size_t i = 0; i < e->nports; i++)
		if (!is_word(e->ports[i].name, W_ATTR) || !e->ports[i].port)
			return false;
	if (!t)
		return true;
	if ((t->zone && !is_topo(t->zone, TOPO_ZONE_MAX, W_ATTR)) ||
	    (t->node && !is_topo(t->node, TOPO_NODE_MAX, W_ATTR)))
		return false;
	for (size_t i = 0; i < t->nhint_zones; i++)
		if (!is_topo(t->hint_zones[i], TOPO_ZONE_MAX, W_ATTR))
			return false;
	for (size_t i = 0; i < t->nhint_nodes; i++)
		if (!is_topo(t->hint_nodes[i], TOPO_NODE_MAX, W_ATTR))
			return false;
	return true;
}

/*
 * nodeport [NAME] N finds its port by name, the last of that name, or
 * without one the only port: can this port's NodePort be said so?  (Of
 * two ports of one name, the text's order may be another, but such a
 * config never compiles, before or after.)
 */
static bool nodeport_writable(const struct svcc_service *svc, size_t i)
{
	const struct port *p = &svc->ports[i];

	if (!p->name)
		return svc->nports == 1;
	for (size_t j = i + 1; j < svc->nports; j++)
		if (svc->ports[j].name && !strcmp(svc->ports[j].name, p->name))
			return false;
	return true;
}

static bool port_writable(const struct svcc_service *svc, size_t i)
{
	const struct port *p = &svc->ports[i];

	if (!p->port || !strcmp(proto_name(p->proto), "?") || (p->name && !is_port_name(p->name)))
		return false;
	/* a target starting with a digit is read as a number */
	if (p->target_name ? !is_port_name(p->target_name) ||
			     (p->target_name[0] >= '0' && p->target_name[0] <= '9')
			   : !p->target)
		return false;
	return !p->nodeport || nodeport_writable(svc, i);
}

static bool service_writable(const struct svcc_service *svc)
{
	if (!is_name(svc->name, true) || svc->affinity_timeout > AFFINITY_TIMEOUT_MAX ||
	    svc->traffic_distribution > TD_SAME_NODE)
		return false;
	for (size_t i = 0; i < svc->nports; i++)
		if (!port_writable(svc, i))
			return false;
	for (size_t i = 0; i < svc->neps; i++)
		if (!endpoint_writable(&svc->eps[i]))
			return false;
	return true;
}

static bool config_writable(const struct svcc_config *cfg)
{
	if ((cfg->zone && !is_topo(cfg->zone, TOPO_ZONE_MAX, W_WORD)) ||
	    (cfg->node_name && !is_topo(cfg->node_name, TOPO_NODE_MAX, W_WORD)) ||
	    !is_iface(cfg->pod_bridge) || !is_iface(cfg->pod_iface_prefix))
		return false;
	for (size_t i = 0; i < cfg->nservices; i++)
		if (!service_writable(cfg->services[i]))
			return false;
	return true;
}

/* ---- sorting ------------------------------------------------------------ */

/* Pointers to the items of an array, for sorting it without moving it; reused. */
struct order {
	const void **v;
};

static int by_pointee(const void *a, const void *b, void *cmp)
{
	return ((int (*)(const void *, const void *))cmp)(*(const void *const *)a,
							  *(const void *const *)b);
}

/* The n items of size bytes at base, in cmp's order (o has room: make_room). */
static const void **sorted(struct order *o, const void *base, size_t n, size_t size,
			   int (*cmp)(const void *, const void *))
{
	for (size_t i = 0; i < n; i++)
		o->v[i] = (const char *)base + i * size;
	qsort_r(o->v, n, sizeof(*o->v), by_pointee, (void *)cmp);
	return o->v;
}

static int cmp_cidr(const void *a, const void *b)
{
	const struct cidr *x = a, *y = b;
	int c = addr_cmp(&x->addr, &y->addr);

	return c ? c : (int)x->plen - (int)y->plen;
}

static int cmp_endpoint(const void *a, const void *b)
{
	return addr_cmp(&((const struct endpoint *)a)->addr, &((const struct endpoint *)b)->addr);
}

static int cmp_port(const void *a, const void *b)
{
	const struct port *x = a, *y = b;

	if (x->port != y->port)
		return (int)x->port - (int)y->port;
	return (int)x->proto - (int)y->proto;
}

static int cmp_ep_port(const void *a, const void *b)
{
	const struct ep_port *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c ? c : (int)x->port - (int)y->port;
}

/* items are char *: strings by strcmp */
static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* items are struct svcc_service *: by name */
static int cmp_service(const void *a, const void *b)
{
	return strcmp((*(struct svcc_service *const *)a)->name,
		      (*(struct svcc_service *const *)b)->name);
}

/* ---- writing ------------------------------------------------------------ */

struct writer {
	FILE *out;
	/* the services; a service's lists (and the cluster's); an endpoint's */
	struct order services, outer, inner;
};

#define MAX(a, b) ((a) > (b) ? (a) : (b))

/*
 * Room for the longest list of each kind, made before anything is written:
 * the writer allocates nothing after its first byte.  -1: out of memory.
 */
static int make_room(struct writer *w, const struct svcc_config *cfg)
{
	size_t outer = MAX(MAX(cfg->npod_cidrs, cfg->nservice_cidrs),
			   MAX(MAX(cfg->nnode_ips, cfg->nnode_pod_cidrs), cfg->nmasq_from));
	size_t inner = 0;

	for (size_t i = 0; i < cfg->nservices; i++) {
		const struct svcc_service *svc = cfg->services[i];

		outer = MAX(outer, MAX(MAX(svc->nports, svc->neps),
				       MAX(svc->nexternal_ips, svc->nlb_ips)));
		outer = MAX(outer, MAX(svc->nproxy_lb_ips, svc->nsource_ranges));
		for (size_t j = 0; j < svc->neps; j++) {
			const struct endpoint *e = &svc->eps[j];

			inner = MAX(inner, e->nports);
			if (e->topo)
				inner = MAX(inner, MAX(e->topo->nhint_zones, e->topo->nhint_nodes));
		}
	}
	w->services.v = malloc(MAX(cfg->nservices, 1) * sizeof(*w->services.v));
	w->outer.v = malloc(MAX(outer, 1) * sizeof(*w->outer.v));
	w->inner.v = malloc(MAX(inner, 1) * sizeof(*w->inner.v));
	return w->services.v && w->outer.v && w->inner.v ? 0 : -1;
}

/* A prefix as ADDR/LEN; with plain, a full-length one as ADDR. */
static void put_cidr(struct writer *w, const struct cidr *c, bool plain)
{
	char buf[INET6_ADDRSTRLEN];

	if (addr_format(&c->addr, buf, sizeof(buf)))
		strcpy(buf, "?");	/* family 4 or 6 always formats */
	if (plain)
		fputs(buf, w->out);
	else
		fprintf(w->out, "%s/%u", buf, c->plen);
}

static void put_addr(struct writer *w, const struct addr *a)
{
	struct cidr c = { .addr = *a };

	put_cidr(w, &c, true);
}

/* "    KW ADDR;" for each of a list, sorted */
static void put_cidr_list(struct writer *w, const char *kw, const struct cidr *v, size_t n,
			  bool plain, const char *suffix)
{
	const void **s = sorted(&w->outer, v, n, sizeof(*v), cmp_cidr);

	for (size_t i = 0; i < n; i++) {
		fprintf(w->out, "    %s ", kw);
		put_cidr(w, s[i], plain);
		fprintf(w->out, "%s;\n", suffix);
	}
}

/* cluster { ... }, when anything is in it */
static bool put_cluster(struct writer *w, const struct svcc_config *cfg)
{
	if (!cfg->zone && !cfg->node_name && !cfg->npod_cidrs && !cfg->nservice_cidrs &&
	    !cfg->nnode_ips && !cfg->nnode_pod_cidrs && !cfg->pod_bridge && !cfg->pod_iface_prefix)
		return false;
	fputs("cluster {\n", w->out);
	if (cfg->zone)
		fprintf(w->out, "    zone %s;\n", cfg->zone);
	if (cfg->node_name)
		fprintf(w->out, "    node-name %s;\n", cfg->node_name);
	put_cidr_list(w, "pod-cidr", cfg->pod_cidrs, cfg->npod_cidrs, false, "");
	put_cidr_list(w, "service-cidr", cfg->service_cidrs, cfg->nservice_cidrs, false, "");
	put_cidr_list(w, "node-ip", cfg->node_ips, cfg->nnode_ips, true, "");
	put_cidr_list(w, "node-pod-cidr", cfg->node_pod_cidrs, cfg->nnode_pod_cidrs, false, "");
	if (cfg->pod_bridge)
		fprintf(w->out, "    pod-bridge %s;\n", cfg->pod_bridge);
	if (cfg->pod_iface_prefix)
		fprintf(w->out, "    pod-interface-prefix %s;\n", cfg->pod_iface_prefix);
	fputs("}\n", w->out);
	return true;
}

/* Without a masquerade block the policy is non-pod alone. */
static bool masq_default(const struct svcc_config *cfg)
{
	return (cfg->masq & (SVCC_MASQ_NON_POD | SVCC_MASQ_ALL)) == SVCC_MASQ_NON_POD &&
	       !cfg->nmasq_from;
}

static void put_masquerade(struct writer *w, const struct svcc_config *cfg)
{
	fputs("masquerade {\n", w->out);
	if (cfg->masq & SVCC_MASQ_NON_POD)
		fputs("    non-pod;\n", w->out);
	if (cfg->masq & SVCC_MASQ_ALL)
		fputs("    all;\n", w->out);
	put_cidr_list(w, "from", cfg->masq_from, cfg->nmasq_from, false, "");
	fputs("}\n", w->out);
}

static void put_ports(struct writer *w, const struct svcc_service *svc)
{
	const void **s = sorted(&w->outer, svc->ports, svc->nports, sizeof(*svc->ports), cmp_port);

	for (size_t i = 0; i < svc->nports; i++) {
		const struct port *p = s[i];

		fprintf(w->out, "    port %s%s%u/%s", p->name ? p->name : "", p->name ? " " : "",
			p->port, proto_name(p->proto));
		if (p->target_name)
			fprintf(w->out, " -> %s", p->target_name);
		else if (p->target != p->port)
			fprintf(w->out, " -> %u", p->target);
		fputs(";\n", w->out);
	}
	for (size_t i = 0; i < svc->nports; i++) {
		const struct port *p = s[i];

		if (p->nodeport)
			fprintf(w->out, "    nodeport %s%s%u;\n", p->name ? p->name : "",
				p->name ? " " : "", p->nodeport);
	}
}

static void put_names(struct writer *w, const char *kw, char *const *v, size_t n)
{
	const void **s = sorted(&w->inner, v, n, sizeof(*v), cmp_str);

	for (size_t i = 0; i < n; i++)
		fprintf(w->out, " %s %s", kw, *(char *const *)s[i]);
}

static void put_endpoint(struct writer *w, const struct endpoint *e)
{
	const struct ep_topo *t = e->topo;
	const void **s;

	fputs("    endpoint ", w->out);
	put_addr(w, &e->addr);
	if (e->local)
		fputs(" local", w->out);
	if (e->terminating)
		fputs(" terminating", w->out);
	if (e->weight != 1)
		fprintf(w->out, " weight %u", e->weight);
	if (t && t->zone)
		fprintf(w->out, " zone %s", t->zone);
	if (t && t->node)
		fprintf(w->out, " node %s", t->node);
	if (t) {
		put_names(w, "hint-zone", t->hint_zones, t->nhint_zones);
		put_names(w, "hint-node", t->hint_nodes, t->nhint_nodes);
	}
	s = sorted(&w->inner, e->ports, e->nports, sizeof(*e->ports), cmp_ep_port);
	for (size_t i = 0; i < e->nports; i++) {
		const struct ep_port *p = s[i];

		fprintf(w->out, " port %s %u", p->name, p->port);
	}
	fputs(";\n", w->out);
}

static void put_service(struct writer *w, const struct svcc_service *svc)
{
	const void **s;

	fprintf(w->out, "service %s {\n", svc->name);
	for (int fam = FAM4; fam < NFAMILIES; fam++)
		if (svc->has_vip[fam]) {
			fputs("    vip ", w->out);
			put_addr(w, &svc->vip[fam]);
			fputs(";\n", w->out);
		}
	put_ports(w, svc);
	put_cidr_list(w, "external-ip", svc->external_ips, svc->nexternal_ips, true, "");
	put_cidr_list(w, "load-balancer", svc->lb_ips, svc->nlb_ips, true, "");
	put_cidr_list(w, "load-balancer", svc->proxy_lb_ips, svc->nproxy_lb_ips, true, " proxy");
	s = sorted(&w->outer, svc->source_ranges, svc->nsource_ranges, sizeof(*svc->source_ranges),
		   cmp_cidr);
	for (size_t i = 0; i < svc->nsource_ranges; i++) {
		fputs(i ? ", " : "    source-ranges ", w->out);
		put_cidr(w, s[i], false);
	}
	if (svc->nsource_ranges)
		fputs(";\n", w->out);
	if (svc->affinity_timeout == SVCC_AFFINITY_TIMEOUT_DEFAULT)
		fputs("    affinity client-ip;\n", w->out);
	else if (svc->affinity_timeout)
		fprintf(w->out, "    affinity client-ip timeout %u;\n", svc->affinity_timeout);
	if (svc->external_local)
		fputs("    traffic-policy external local;\n", w->out);
	if (svc->internal_local)
		fputs("    traffic-policy internal local;\n", w->out);
	if (svc->hc_nodeport)
		fprintf(w->out, "    health-check-nodeport %u;\n", svc->hc_nodeport);
	if (svc->traffic_distribution)
		fprintf(w->out, "    traffic-distribution %s;\n",
			svc->traffic_distribution == TD_SAME_NODE ? "prefer-same-node"
								  : "prefer-same-zone");
	s = sorted(&w->outer, svc->eps, svc->neps, sizeof(*svc->eps), cmp_endpoint);
	for (size_t i = 0; i < svc->neps; i++)
		put_endpoint(w, s[i]);
	fputs("}\n", w->out);
}

int svcc_config_write(const struct svcc_config *cfg, FILE *out)
{
	struct writer w = { .out = out };
	const void **s;
	bool blocks;
	int rc = -1;

	if (!cfg || !out || !config_writable(cfg)) {
		errno = EINVAL;
		return -1;
	}
	if (make_room(&w, cfg)) {
		errno = ENOMEM;
		goto out;
	}
	blocks = put_cluster(&w, cfg);
	if (!masq_default(cfg)) {
		if (blocks)
			fputc('\n', out);
		put_masquerade(&w, cfg);
		blocks = true;
	}
	s = sorted(&w.services, cfg->services, cfg->nservices, sizeof(*cfg->services), cmp_service);
	for (size_t i = 0; i < cfg->nservices; i++) {
		if (blocks || i)
			fputc('\n', out);
		put_service(&w, *(struct svcc_service *const *)s[i]);
	}
	if (fflush(out))
		goto out;	/* errno: fflush's */
	if (ferror(out)) {
		errno = EIO;
		goto out;
	}
	rc = 0;
out:
	free(w.services.v);
	free(w.outer.v);
	free(w.inner.v);
	return rc;
}
