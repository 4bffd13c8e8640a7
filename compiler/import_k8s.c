/* SPDX-License-Identifier: MIT */
/*
 * svcc_import_k8s: Kubernetes Services and EndpointSlices, as kubectl prints
 * them (`kubectl get services,endpointslices -A -o json`, or -o yaml), as a
 * config, built through the model.
 *
 * The mapping follows what kube-proxy does with these objects rather than
 * what they ask for: endpoints and their target port numbers come from the
 * EndpointSlices; an endpoint is used when ready, and is a fallback when
 * serving and terminating; headless and ExternalName services are not
 * proxied.  What the language cannot say is a warning, never dropped
 * silently.  Only input that cannot be read as objects or Lists is an error.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <jansson.h>

#include "k8s_read.h"
#include "model.h"
#include "util.h"

#define SERVICE_NAME_LABEL "kubernetes.io/service-name"
#define IP_STRLEN (INET6_ADDRSTRLEN + 4)
#define DEFAULT_NAMESPACE "default"

/* ---- addresses ---------------------------------------------------------- */

struct ip {
	int fam;		/* AF_INET or AF_INET6 */
	int plen;		/* prefix length; -1: a plain address */
	unsigned char b[16];	/* IPv4 in the first 4, the rest 0: memcmp orders */
};

struct ips {
	struct ip *v;
	size_t n, cap;
};

static int fam_index(int fam)
{
	return fam == AF_INET6;
}

static const char *fam_name(int fam)
{
	return fam == AF_INET6 ? "IPv6" : "IPv4";
}

/* "ADDR", or "ADDR/LEN" when prefix: the model's parser. */
static int ip_parse(const char *s, bool prefix, struct ip *ip)
{
	struct cidr c = { 0 };
	bool plen_bad, host_bits;

	if (prefix ? !strchr(s, '/') || cidr_parse(s, &c, &plen_bad, &host_bits) :
		     addr_parse(s, &c.addr))
		return -1;
	memset(ip, 0, sizeof(*ip));
	ip->fam = c.addr.family == 4 ? AF_INET : AF_INET6;
	memcpy(ip->b, c.addr.bytes, sizeof(ip->b));
	ip->plen = prefix ? c.plen : -1;
	return 0;
}

/* Clear the bits past the prefix; true if any were set. */
static bool ip_mask(struct ip *ip)
{
	bool changed = false;

	for (int i = 0; i < 16; i++) {
		int keep = ip->plen - 8 * i;
		unsigned m = keep >= 8 ? 0xffu : keep <= 0 ? 0u : (0xffu << (8 - keep)) & 0xffu;

		if (ip->b[i] & ~m) {
			ip->b[i] &= (unsigned char)m;
			changed = true;
		}
	}
	return changed;
}

/* Kubernetes' own validation: ADDR_UNICAST if it takes ip as that. */
static enum addr_class ip_unusable(const struct ip *ip, enum addr_use use)
{
	return addr_unusable(ip->fam == AF_INET ? 4 : 6, ip->b, use);
}

/* IPv4 before IPv6, then by value: the canonical order. */
static int ip_cmp(const struct ip *a, const struct ip *b)
{
	int c;

	if (a->fam != b->fam)
		return a->fam == AF_INET ? -1 : 1;
	c = memcmp(a->b, b->b, sizeof(a->b));
	if (c)
		return c;
	return (a->plen > b->plen) - (a->plen < b->plen);
}

static const char *ip_str(const struct ip *ip, char buf[IP_STRLEN])
{
	if (!inet_ntop(ip->fam, ip->b, buf, INET6_ADDRSTRLEN))
		strcpy(buf, "?");
	if (ip->plen >= 0)
		sprintf(buf + strlen(buf), "/%d", ip->plen);
	return buf;
}

/* 0 added, 1 already there, -1 out of memory. */
static int ips_add(struct ips *l, const struct ip *ip)
{
	for (size_t i = 0; i < l->n; i++)
		if (!ip_cmp(&l->v[i], ip))
			return 1;
	if (VEC_RESERVE(l->v, l->n, l->cap))
		return -1;
	l->v[l->n++] = *ip;
	return 0;
}

/* ---- the model ---------------------------------------------------------- */

enum proto { TCP, UDP, SCTP, NPROTOS };
static const char *const proto_k8s[NPROTOS] = { "TCP", "UDP", "SCTP" };
static const char *const proto_svc[NPROTOS] = { "tcp", "udp", "sctp" };

/* A Service port, and how it is written once its endpoints are known. */
struct sport {
	const char *name;		/* "": unnamed */
	const char *target_name;	/* a named targetPort, or NULL */
	int port, target, nodeport;	/* target 0: named */
	enum proto proto;
	const char *out_name;		/* the name written; "": none */
	int out_target;			/* "-> N"; 0: none, or by name */
	const char *out_tname;		/* "-> NAME" */
	bool per_ep;			/* endpoints say "port NAME N" */
	char synth[16];			/* a name for an unnamed per-endpoint port */
};

enum { EP_FALLBACK = 1, EP_READY = 2 };

struct ep {
	struct ip ip;
	int state;			/* EP_* */
	bool local;
	const char *slice;		/* its slice's name: warnings, and order */
	const char *file;		/* its slice's file: warnings */
	const char *zone, *node;	/* where it is (valid names, or NULL) */
	json_t *for_zones, *for_nodes;	/* hints (the JSON lives until the end) */
	const int *num;			/* its slice's numbers (svc->nums) */
	size_t sidx, seq;		/* file order: ties */
};

struct svc {
	const char *ns, *name;		/* the JSON's: it lives until the end */
	const struct item *item;	/* where it was read */
	size_t seq;			/* input order: the first of duplicates wins */
	bool skip;			/* warned about: its slices are ignored quietly */
	const char *type;
	bool has_vip[2];
	struct ip vip[2];
	struct sport *ports;
	size_t nports;
	struct ips ext, lb, lb_proxy, ranges;	/* lb_proxy: ipMode Proxy */
	bool affinity;
	long timeout;			/* 0: none given */
	bool ext_local, int_local;
	const char *distribution;	/* traffic-distribution, or NULL */
	long hc_nodeport;		/* healthCheckNodePort, 0: none */
	int **nums;			/* per slice: its number for each port, 0: none */
	size_t nnums, nums_cap;
	struct ep *eps;
	size_t neps, eps_cap;
};

/* A clusterIP, and whose: no endpoint may be one. */
struct vip {
	struct ip ip;
	const struct svc *svc;
};

/* A Service or an EndpointSlice, and where it was read. */
struct item {
	json_t *obj;
	const char *file;
	char path[48];			/* "items[3]", "documents[1].items[3]", "" */
	bool service;
};

struct imp {
	struct svcc_ctx *ctx;
	int errnum;			/* the first error's errno */
	const char *node, *zone;
	const char *const *files;	/* "-": standard input */
	const struct svcc_import_buffer *bufs;	/* or these */
	size_t nfiles;
	struct k8s_docs docs;		/* every file's: the items point into them */
	struct item *items;		/* in input order */
	size_t nitems, items_cap;
	struct ips pod_cidrs, svc_cidrs, node_ips;
	/* --detect-local: pods told by their bridge, an interface prefix, this node's CIDRs */
	const char *pod_bridge, *pod_prefix;
	struct ips node_pod_cidrs;
	struct svc *svcs;
	size_t nsvcs, svcs_cap;
	struct vip *vips;		/* every service's clusterIPs, by ip_cmp */
	size_t nvips;
};

static void svc_free(struct svc *s)
{
	for (size_t i = 0; i < s->nnums; i++)
		free(s->nums[i]);
	free(s->nums);
	free(s->eps);
	free(s->ports);
	free(s->ext.v);
	free(s->lb.v);
	free(s->lb_proxy.v);
	free(s->ranges.v);
}

/* ---- diagnostics -------------------------------------------------------- */

/* What a warning is about: a file, and an object in it. */
struct where {
	const char *file;
	const char *ns, *name;		/* ns NULL: name alone, e.g. "items[3]" */
	char item[48];
};

static void warn(struct imp *im, const struct where *w, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void warn(struct imp *im, const struct where *w, const char *fmt, ...)
{
	struct loc loc = { .file = w->file };
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0) {
		msg = NULL;
		if (!im->errnum)
			im->errnum = ENOMEM;	/* a warning lost: the import fails */
	}
	va_end(ap);
	if (!msg)
		return;
	if (w->ns)
		diag_warning(im->ctx, loc, "%s/%s: %s", w->ns, w->name, msg);
	else if (*w->name)
		diag_warning(im->ctx, loc, "%s: %s", w->name, msg);
	else
		diag_warning(im->ctx, loc, "%s", msg);
	free(msg);
}

/* An error of file (NULL: none), at line:column when line > 0; errno errnum.  -1. */
static int fail_at(struct imp *im, int errnum, const char *file, int line, int column,
		   const char *fmt, ...) __attribute__((format(printf, 6, 7)));

static int fail_at(struct imp *im, int errnum, const char *file, int line, int column,
		   const char *fmt, ...)
{
	struct loc loc = { .file = file, .line = line, .first_col = column, .last_col = column };
	va_list ap;
	char *msg;

	if (!im->errnum)
		im->errnum = errnum;
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	diag_error(im->ctx, loc, "%s", msg ? msg : "out of memory");
	free(msg);
	return -1;
}

#define fail(im, file, ...) fail_at(im, EBADMSG, file, 0, 0, __VA_ARGS__)

static int nomem(struct imp *im)
{
	return fail_at(im, ENOMEM, NULL, 0, 0, "out of memory");
}

/* ---- JSON helpers ------------------------------------------------------- */

/* The member, or NULL when absent or null (kubectl prints some empty lists as null). */
static json_t *member(json_t *obj, const char *key)
{
	json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;

	return json_is_null(v) ? NULL : v;
}

static bool get_int(json_t *v, long lo, long hi, long *out)
{
	json_int_t i;

	if (!json_is_integer(v))
		return false;
	i = json_integer_value(v);
	if (i < lo || i > hi)
		return false;
	*out = (long)i;
	return true;
}

/* A scalar as text, for messages. */
static const char *show(json_t *v, char buf[32])
{
	if (!v)
		return "missing";
	if (json_is_string(v))
		return json_string_value(v);
	if (json_is_integer(v))
		snprintf(buf, 32, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	else if (json_is_boolean(v))
		return json_is_true(v) ? "true" : "false";
	else if (json_is_array(v))
		return "(a list)";
	else if (json_is_object(v))
		return "(an object)";
	else
		return "(a number)";
	return buf;
}

static bool in_list(const char *const *list, const char *s)
{
	for (; *list; list++)
		if (!strcmp(*list, s))
			return true;
	return false;
}

/* Keys already reported for a slice's endpoints: once per slice, not per endpoint. */
struct seen {
	const char *v[16];
	size_t n;
};

static bool seen_first(struct seen *s, const char *key)
{
	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->v[i], key))
			return false;
	if (s->n < sizeof(s->v) / sizeof(s->v[0]))
		s->v[s->n++] = key;
	return true;
}

/*
 * Report every key of obj that is not in known: those the importer reads, and
 * those it knows to be irrelevant to a proxy.  A null value says nothing.
 */
static void check_keys(struct imp *im, const struct where *w, json_t *obj, const char *path,
		       const char *const *known, struct seen *seen)
{
	for (void *it = json_object_iter(obj); it; it = json_object_iter_next(obj, it)) {
		const char *key = json_object_iter_key(it);

		if (in_list(known, key) || json_is_null(json_object_iter_value(it)))
			continue;
		if (seen && !seen_first(seen, key))
			continue;
		warn(im, w, "%s%s%s is not supported (ignored)", path, *path ? "." : "", key);
	}
}

/* Every key a proxy needs or knows to be irrelevant; any other is reported. */
static const char *const item_keys[] = { "apiVersion", "kind", "metadata", "spec", "status", NULL };
static const char *const spec_keys[] = {
	"type", "clusterIP", "clusterIPs", "ports", "externalIPs", "loadBalancerSourceRanges",
	"sessionAffinity", "sessionAffinityConfig", "externalTrafficPolicy",
	"internalTrafficPolicy", "allocateLoadBalancerNodePorts", "externalName",
	"selector",			/* the EndpointSlices hold what it selects */
	"ipFamilies", "ipFamilyPolicy",	/* implied by clusterIPs */
	"publishNotReadyAddresses",	/* the slices' ready condition says it */
	"loadBalancerIP",		/* a request to the cloud: status says what it got */
	"loadBalancerClass",		/* which controller provisions the balancer */
	"healthCheckNodePort", "trafficDistribution",
	NULL
};
static const char *const port_keys[] = { "name", "protocol", "port", "targetPort", "nodePort", NULL };
static const char *const status_keys[] = { "loadBalancer", "conditions", NULL };
static const char *const lb_keys[] = { "ingress", NULL };
/* ports: the balancer's own per-port status */
static const char *const ingress_keys[] = { "ip", "hostname", "ipMode", "ports", NULL };
static const char *const affinity_keys[] = { "clientIP", NULL };
static const char *const client_ip_keys[] = { "timeoutSeconds", NULL };
static const char *const slice_keys[] = {
	"apiVersion", "kind", "metadata", "addressType", "endpoints", "ports", NULL
};
/* appProtocol: copied from the Service's port, reported there */
static const char *const slice_port_keys[] = { "name", "port", "protocol", "appProtocol", NULL };
static const char *const ep_keys[] = {
	"addresses", "conditions", "nodeName",
	"hostname", "targetRef",	/* DNS and bookkeeping */
	"zone", "hints",
	"deprecatedTopology",		/* zone says it: Kubernetes' own replacement */
	NULL
};
static const char *const hints_keys[] = { "forZones", "forNodes", NULL };
static const char *const cond_keys[] = { "ready", "serving", "terminating", NULL };

/* Words the .svc grammar reserves: a port of that name would not parse. */
static const char *const keywords[] = {
	"cluster", "masquerade", "service", "pod-cidr", "service-cidr", "node-ip", "vip",
	"port", "endpoint", "nodeport", "external-ip", "load-balancer", "source-ranges",
	"affinity", "traffic-policy", "traffic-distribution", "health-check-nodeport", "zone",
	"node-name", "node-pod-cidr", "pod-bridge", "pod-interface-prefix", "non-pod", "all",
	"from", NULL
};

/* A name the .svc language takes: letters, digits, - _ . and no - at the ends. */
static bool is_name(const char *s)
{
	size_t n = strlen(s);

	if (!n || s[0] == '-' || s[n - 1] == '-')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("-_.", s[i]))
			return false;
	return true;
}

/* A port name must not read as a number ("port 8080 80" would). */
static bool is_port_name(const char *s)
{
	bool letter = false;

	for (const char *p = s; *p; p++)
		letter |= isalpha((unsigned char)*p) != 0;
	return letter && is_name(s) && !in_list(keywords, s);
}

static int parse_proto(const char *s)
{
	for (int i = 0; i < NPROTOS; i++)
		if (!strcmp(s, proto_k8s[i]))
			return i;
	return -1;
}

/* ---- reading the files -------------------------------------------------- */

static int items_add(struct imp *im, json_t *obj, const char *file, const char *path,
		     bool service)
{
	struct item *it;

	if (VEC_RESERVE(im->items, im->nitems, im->items_cap))
		return nomem(im);
	it = &im->items[im->nitems++];
	*it = (struct item){ .obj = obj, .file = file, .service = service };
	snprintf(it->path, sizeof(it->path), "%s", path);
	return 0;
}

/* What a JSON value is, for messages. */
static const char *json_what(json_t *v)
{
	return json_is_array(v) ? "a list" : json_is_object(v) ? "an object" :
	       json_is_string(v) ? "a string" : "a scalar";
}

/*
 * One object, told apart by its kind; without one, by the List's
 * (ServiceList, EndpointSliceList), else by its fields: a Service has a
 * spec, an EndpointSlice endpoints or an addressType.  Other kinds (a Pod of
 * `kubectl get all`) are warned about and ignored.
 */
static int add_object(struct imp *im, json_t *obj, const char *file, const char *path,
		      const char *list_kind)
{
	const char *kind = json_string_value(member(obj, "kind"));
	const char *api = json_string_value(member(obj, "apiVersion"));
	const char *at = *path ? path : "the object";
	bool service;

	if (!json_is_object(obj))
		return fail(im, file, "%s: not an object", at);
	if (!kind && list_kind && !strcmp(list_kind, "ServiceList"))
		kind = "Service";
	if (!kind && list_kind && !strcmp(list_kind, "EndpointSliceList"))
		kind = "EndpointSlice";
	if (kind)
		service = !strcmp(kind, "Service");
	else if (member(obj, "spec"))
		service = true;
	else if (member(obj, "endpoints") || member(obj, "addressType"))
		service = false;
	else {
		struct where w = { .file = file, .name = path };

		warn(im, &w, "no kind, and neither a Service's spec nor an EndpointSlice's endpoints "
		     "(ignored)");
		return 0;
	}
	if (kind && !service && strcmp(kind, "EndpointSlice")) {
		struct where w = { .file = file, .name = path };

		warn(im, &w, "kind %s: neither a Service nor an EndpointSlice (ignored)", kind);
		return 0;
	}
	if (api && strcmp(api, service ? "v1" : "discovery.k8s.io/v1"))
		return fail(im, file, "%s: apiVersion %s, expected %s", at, api,
			    service ? "v1" : "discovery.k8s.io/v1");
	return items_add(im, obj, file, path, service);
}

/*
 * A document: one object, or a List of them (kind List or any KindList, or
 * no kind and items).  "items": null is an empty List, as the API server
 * gives an empty namespace.
 */
static int add_document(struct imp *im, json_t *doc, const char *file, const char *prefix)
{
	const char *kind = json_string_value(member(doc, "kind"));
	size_t klen = kind ? strlen(kind) : 0;
	json_t *items, *it;
	char path[48];
	size_t i;

	if (!json_is_object(doc))
		return fail(im, file, "%s%snot a Kubernetes object or List (%s)", prefix,
			    *prefix ? ": " : "", json_what(doc));
	if (kind ? klen < 4 || strcmp(kind + klen - 4, "List") :
		   !json_object_get(doc, "items"))
		return add_object(im, doc, file, prefix, NULL);
	items = member(doc, "items");
	if (items && !json_is_array(items))
		return fail(im, file, "%s%sitems: expected a list, not %s", prefix,
			    *prefix ? "." : "", json_what(items));
	json_array_foreach(items, i, it) {
		snprintf(path, sizeof(path), "%s%sitems[%zu]", prefix, *prefix ? "." : "", i);
		if (add_object(im, it, file, path, kind))
			return -1;
	}
	return 0;
}

/* Every input's documents, and their Services and EndpointSlices in input order. */
static int load(struct imp *im)
{
	for (size_t f = 0; f < im->nfiles; f++) {
		const char *path = im->bufs ? im->bufs[f].name : im->files[f], *file;
		struct k8s_read_error e;
		size_t first = im->docs.n;
		char prefix[32] = "";
		int rc;

		if (!path)
			path = "<buffer>";
		/* the name as diagnostics keep it: the ctx's own copy */
		if (!diag_keep_source(im->ctx, im->bufs || strcmp(path, "-") ? path : "<stdin>", "",
				      0, &file))
			return nomem(im);
		if (im->bufs)
			rc = k8s_read_buffer(im->bufs[f].data, im->bufs[f].len, &im->docs, &e);
		else
			rc = k8s_read_file(path, &im->docs, &e);
		if (rc)
			return fail_at(im, errno, file, e.line, e.column, "%s", e.text);
		for (size_t d = first; d < im->docs.n; d++) {
			if (im->docs.n - first > 1)
				snprintf(prefix, sizeof(prefix), "documents[%zu]", d - first);
			if (add_document(im, im->docs.v[d], file, prefix))
				return -1;
		}
	}
	return 0;
}

/*
 * metadata.namespace and .name into w; false: warned, skip the item.  A
 * service's are within Kubernetes' limits (those of valid.h).
 */
static bool object_name(struct imp *im, const struct item *it, bool service, struct where *w)
{
	json_t *meta = member(it->obj, "metadata");
	const char *ns = json_string_value(member(meta, "namespace"));
	const char *name = json_string_value(member(meta, "name"));

	w->file = it->file;
	w->ns = NULL;
	snprintf(w->item, sizeof(w->item), "%s", it->path);
	w->name = w->item;
	if (!name || !is_name(name)) {
		warn(im, w, "metadata.name %s (skipped)", name ? "is not a valid name" : "is missing");
		return false;
	}
	if (ns && !is_name(ns)) {
		warn(im, w, "metadata.namespace is not a valid name (skipped)");
		return false;
	}
	w->ns = ns ? ns : DEFAULT_NAMESPACE;
	w->name = name;
	if (service && strlen(w->ns) > K8S_LABEL_MAX) {
		warn(im, w, "metadata.namespace is too long: %s, at most %d characters, and this "
		     "one has %zu (skipped)", K8S_NAMESPACE_RULE, K8S_LABEL_MAX, strlen(w->ns));
		return false;
	}
	if (service && strlen(name) > K8S_LABEL_MAX) {
		warn(im, w, "metadata.name is too long: %s, at most %d characters, and this one "
		     "has %zu (skipped)", K8S_SERVICE_NAME_RULE, K8S_LABEL_MAX, strlen(name));
		return false;
	}
	return true;
}

/* A port's name or a named targetPort: an IANA_SVC_NAME.  false: warned. */
static bool port_name_fits(struct imp *im, const struct where *w, const char *at,
			   const char *what, const char *name, const char *then)
{
	if (strlen(name) <= K8S_PORT_NAME_MAX)
		return true;
	warn(im, w, "%s.%s '%s' is too long: an IANA_SVC_NAME is at most %d characters (%s)",
	     at, what, name, K8S_PORT_NAME_MAX, then);
	return false;
}

/* ---- Services ----------------------------------------------------------- */

/* clusterIPs (or clusterIP): one vip per family.  1: skip the service. */
static int parse_vips(struct imp *im, struct svc *s, const struct where *w, json_t *spec)
{
	json_t *list = member(spec, "clusterIPs"), *v;
	bool one = !list;
	char at[64], buf[32];
	struct ip ip;
	size_t i;

	if (one)
		list = member(spec, "clusterIP");
	if (list && !one && !json_is_array(list)) {
		warn(im, w, "spec.clusterIPs: expected a list (skipped)");
		return 1;
	}
	for (i = 0; list && i < (one ? 1 : json_array_size(list)); i++) {
		const char *text;

		v = one ? list : json_array_get(list, i);
		text = json_string_value(v);
		if (one)
			snprintf(at, sizeof(at), "spec.clusterIP");
		else
			snprintf(at, sizeof(at), "spec.clusterIPs[%zu]", i);
		if (text && !strcmp(text, "None")) {
			warn(im, w, "headless (clusterIP None): kube-proxy does not proxy it (skipped)");
			return 1;
		}
		if (text && !*text)
			continue;
		if (!text || ip_parse(text, false, &ip)) {
			warn(im, w, "%s: invalid address '%s' (ignored)", at, show(v, buf));
			continue;
		}
		if (ip_unusable(&ip, USE_SERVICE) != ADDR_UNICAST) {
			warn(im, w, "%s: %s is %s, which Kubernetes does not take as a clusterIP "
			     "(skipped)", at, text, addr_class_name(ip_unusable(&ip, USE_SERVICE)));
			return 1;
		}
		if (s->has_vip[fam_index(ip.fam)]) {
			warn(im, w, "%s: a second %s address (ignored)", at, fam_name(ip.fam));
			continue;
		}
		s->vip[fam_index(ip.fam)] = ip;
		s->has_vip[fam_index(ip.fam)] = true;
	}
	if (!s->has_vip[0] && !s->has_vip[1]) {
		warn(im, w, "no clusterIP (skipped)");
		return 1;
	}
	return 0;
}

/* The type, and whether the service is one kube-proxy proxies.  1: skip it. */
static int parse_type(struct imp *im, struct svc *s, const struct where *w, json_t *spec)
{
	json_t *t = member(spec, "type");
	char buf[32];

	if (!json_is_object(spec)) {
		warn(im, w, "no spec (skipped)");
		return 1;
	}
	s->type = t ? json_string_value(t) : "ClusterIP";
	if (!s->type) {
		warn(im, w, "spec.type %s is not supported (skipped)", show(t, buf));
		return 1;
	}
	if (!strcmp(s->type, "ExternalName")) {
		warn(im, w, "type ExternalName: a DNS alias, kube-proxy does not proxy it (skipped)");
		return 1;
	}
	if (strcmp(s->type, "ClusterIP") && strcmp(s->type, "NodePort") &&
	    strcmp(s->type, "LoadBalancer")) {
		warn(im, w, "type %s is not supported (skipped)", s->type);
		return 1;
	}
	return parse_vips(im, s, w, spec);
}

static bool is_lb(const struct svc *s)
{
	return !strcmp(s->type, "LoadBalancer");
}

static bool has_nodeports(const struct svc *s)
{
	return is_lb(s) || !strcmp(s->type, "NodePort");
}

/* targetPort: a number, or the name of a container port.  1: skip the port (warned). */
static int parse_target(struct imp *im, struct sport *sp, const struct where *w,
			const char *at, json_t *v)
{
	const char *name = json_string_value(v);
	char buf[32];
	long n;

	sp->target = sp->port;
	if (!v)
		return 0;
	if (get_int(v, 1, 65535, &n))
		sp->target = (int)n;
	else if (name && is_port_name(name) && isdigit((unsigned char)name[0])) {
		/* "-> 8abc" reads as a number: taking the service port instead
		 * would send the traffic elsewhere */
		warn(im, w, "%s.targetPort '%s': a port name starting with a digit cannot be "
		     "written in the .svc language (port skipped)", at, name);
		return 1;
	} else if (name && is_port_name(name)) {
		if (port_name_fits(im, w, at, "targetPort", name, "ignored")) {
			sp->target = 0;
			sp->target_name = name;
		}
	} else
		warn(im, w, "%s.targetPort: '%s' is neither a port number nor a port name (ignored)",
		     at, show(v, buf));
	return 0;
}

/*
 * A port whose name, or protocol and port, an earlier port of the service
 * has: Kubernetes refuses such a Service, and the config could not say
 * which is meant (its NodePort is given by name).  true: skip it (warned).
 */
static bool port_repeats(struct imp *im, const struct svc *s, const struct where *w, size_t i,
			 const struct sport *sp)
{
	for (size_t k = 0; k < s->nports; k++) {
		const struct sport *o = &s->ports[k];

		if ((*sp->name && !strcmp(o->name, sp->name)) ||
		    (o->port == sp->port && o->proto == sp->proto)) {
			warn(im, w, "spec.ports[%zu] repeats the name or the port and protocol of an "
			     "earlier port (port skipped)", i);
			return true;
		}
	}
	return false;
}

/* spec.ports[i] into sp; 1: skipped (warned). */
static int parse_port(struct imp *im, struct svc *s, const struct where *w, size_t i,
		      json_t *p, size_t nports, struct sport *sp)
{
	json_t *name = member(p, "name"), *proto = member(p, "protocol");
	json_t *nodeport = member(p, "nodePort");
	char at[64], buf[32];
	long n;
	int pr = TCP;

	snprintf(at, sizeof(at), "spec.ports[%zu]", i);
	if (!json_is_object(p)) {
		warn(im, w, "%s: expected an object (port skipped)", at);
		return 1;
	}
	check_keys(im, w, p, at, port_keys, NULL);
	sp->name = name ? json_string_value(name) : "";
	if (!sp->name || (*sp->name && !is_port_name(sp->name))) {
		warn(im, w, "%s.name '%s' is not a name the .svc language takes (port skipped)",
		     at, show(name, buf));
		return 1;
	}
	if (!port_name_fits(im, w, at, "name", sp->name, "port skipped"))
		return 1;
	if (!*sp->name && nports > 1) {
		warn(im, w, "%s: a port of a service with several ports needs a name (port skipped)", at);
		return 1;
	}
	if (proto && (!json_is_string(proto) || (pr = parse_proto(json_string_value(proto))) < 0)) {
		warn(im, w, "%s.protocol %s is not supported (port skipped)", at, show(proto, buf));
		return 1;
	}
	sp->proto = (enum proto)pr;
	if (!get_int(member(p, "port"), 1, 65535, &n)) {
		warn(im, w, "%s.port: expected a number from 1 to 65535 (port skipped)", at);
		return 1;
	}
	sp->port = (int)n;
	if (parse_target(im, sp, w, at, member(p, "targetPort")))
		return 1;
	if (!nodeport)
		return 0;
	if (!get_int(nodeport, 0, 65535, &n))
		warn(im, w, "%s.nodePort: expected a number from 1 to 65535 (ignored)", at);
	else if (n && !has_nodeports(s))
		warn(im, w, "%s.nodePort on a service of type %s (ignored)", at, s->type);
	else
		sp->nodeport = (int)n;
	return 0;
}

static int parse_ports(struct imp *im, struct svc *s, const struct where *w, json_t *spec)
{
	json_t *ports = member(spec, "ports"), *p;
	size_t i, n;

	if (ports && !json_is_array(ports)) {
		warn(im, w, "spec.ports: expected a list (ignored)");
		return 0;
	}
	n = json_array_size(ports);
	s->ports = calloc(n ? n : 1, sizeof(*s->ports));
	if (!s->ports)
		return nomem(im);
	json_array_foreach(ports, i, p)
		if (!parse_port(im, s, w, i, p, n, &s->ports[s->nports]) &&
		    !port_repeats(im, s, w, i, &s->ports[s->nports]))
			s->nports++;
	return 0;
}

/* text without blanks around it, into buf[IP_STRLEN]; false if it cannot fit. */
static bool trim_copy(const char *text, char *buf)
{
	size_t n;

	while (isspace((unsigned char)*text))
		text++;
	n = strlen(text);
	while (n && isspace((unsigned char)text[n - 1]))
		n--;
	if (n >= IP_STRLEN)
		return false;
	memcpy(buf, text, n);
	buf[n] = '\0';
	return true;
}

/* One address or CIDR at `at` into l, if of a family the service has. */
static int add_addr(struct imp *im, struct svc *s, const struct where *w, const char *at,
		    json_t *v, bool prefix, struct ips *l)
{
	const char *text = json_string_value(v);
	char trimmed[IP_STRLEN], buf[IP_STRLEN], sbuf[32];
	struct ip ip;
	int rc;

	/* kube-proxy trims source ranges: "10.0.0.0/8 " works there */
	if (!text || !trim_copy(text, trimmed) || ip_parse(trimmed, prefix, &ip)) {
		warn(im, w, "%s: invalid %s '%s' (ignored)", at, prefix ? "CIDR" : "address",
		     show(v, sbuf));
		return 0;
	}
	if (!s->has_vip[fam_index(ip.fam)]) {
		warn(im, w, "%s: %s is %s, the service has no %s clusterIP (ignored)", at,
		     trimmed, fam_name(ip.fam), fam_name(ip.fam));
		return 0;
	}
	if (!prefix && ip_unusable(&ip, USE_SERVICE) != ADDR_UNICAST) {
		warn(im, w, "%s: %s is %s, which Kubernetes does not take as a service address "
		     "(ignored)", at, trimmed, addr_class_name(ip_unusable(&ip, USE_SERVICE)));
		return 0;
	}
	if (prefix && ip_mask(&ip))
		warn(im, w, "%s: %s has bits set past the prefix (%s is used)", at, trimmed,
		     ip_str(&ip, buf));
	rc = ips_add(l, &ip);
	if (rc < 0)
		return nomem(im);
	if (rc > 0)
		warn(im, w, "%s: %s is listed twice (ignored)", at, trimmed);
	return 0;
}

static int parse_addr_list(struct imp *im, struct svc *s, const struct where *w,
			   json_t *list, const char *path, bool prefix, struct ips *l)
{
	char at[64];
	json_t *v;
	size_t i;

	if (list && !json_is_array(list)) {
		warn(im, w, "%s: expected a list (ignored)", path);
		return 0;
	}
	json_array_foreach(list, i, v) {
		snprintf(at, sizeof(at), "%s[%zu]", path, i);
		if (add_addr(im, s, w, at, v, prefix, l))
			return -1;
	}
	return 0;
}

/* sessionAffinity ClientIP, and its timeout when given. */
static void parse_affinity(struct imp *im, struct svc *s, const struct where *w, json_t *spec)
{
	json_t *a = member(spec, "sessionAffinity"), *cfg = member(spec, "sessionAffinityConfig");
	json_t *cip = member(cfg, "clientIP"), *t = member(cip, "timeoutSeconds");
	const char *v = json_string_value(a);
	char buf[32];

	if (!a || (v && !strcmp(v, "None"))) {
		if (cfg)
			warn(im, w, "spec.sessionAffinityConfig without sessionAffinity ClientIP (ignored)");
		return;
	}
	if (!v || strcmp(v, "ClientIP")) {
		warn(im, w, "spec.sessionAffinity %s is not supported (ignored)", show(a, buf));
		return;
	}
	s->affinity = true;
	check_keys(im, w, cfg, "spec.sessionAffinityConfig", affinity_keys, NULL);
	check_keys(im, w, cip, "spec.sessionAffinityConfig.clientIP", client_ip_keys, NULL);
	if (t && !get_int(t, 1, 86400, &s->timeout))
		warn(im, w, "spec.sessionAffinityConfig.clientIP.timeoutSeconds: expected 1 to 86400 "
		     "(the default is used)");
}

/* trafficDistribution: PreferClose (PreferSameZone, its new name) or PreferSameNode */
static void parse_distribution(struct imp *im, struct svc *s, const struct where *w, json_t *v)
{
	const char *t = json_string_value(v);
	char buf[32];

	if (!v)
		return;
	if (t && !strcmp(t, "PreferClose"))
		s->distribution = "prefer-close";
	else if (t && !strcmp(t, "PreferSameZone"))
		s->distribution = "prefer-same-zone";
	else if (t && !strcmp(t, "PreferSameNode"))
		s->distribution = "prefer-same-node";
	else
		warn(im, w, "spec.trafficDistribution %s is not supported (ignored)", show(v, buf));
}

/* healthCheckNodePort: only with externalTrafficPolicy Local, as the API server gives it */
static void parse_hc_nodeport(struct imp *im, struct svc *s, const struct where *w, json_t *v)
{
	char buf[32];

	if (!v)
		return;
	if (!get_int(v, 1, 65535, &s->hc_nodeport))
		warn(im, w, "spec.healthCheckNodePort: expected a number from 1 to 65535, not %s "
		     "(ignored)", show(v, buf));
	else if (!s->ext_local)
		warn(im, w, "spec.healthCheckNodePort without externalTrafficPolicy Local (ignored)");
	else
		return;
	s->hc_nodeport = 0;
}

/* externalTrafficPolicy / internalTrafficPolicy: Cluster (nothing to say) or Local. */
static void parse_policy(struct imp *im, const struct where *w, json_t *spec, const char *key,
			 bool *local)
{
	json_t *v = member(spec, key);
	const char *s = json_string_value(v);
	char buf[32];

	if (!v || (s && !strcmp(s, "Cluster")))
		return;
	if (s && !strcmp(s, "Local"))
		*local = true;
	else
		warn(im, w, "spec.%s %s is not supported (ignored)", key, show(v, buf));
}

/* status.loadBalancer.ingress[i]: an ip that kube-proxy intercepts. */
static int parse_ingress(struct imp *im, struct svc *s, const struct where *w, size_t i,
			 json_t *ing)
{
	const char *mode = json_string_value(member(ing, "ipMode"));
	const char *host = json_string_value(member(ing, "hostname"));
	json_t *ip = member(ing, "ip");
	char at[64];

	snprintf(at, sizeof(at), "status.loadBalancer.ingress[%zu]", i);
	check_keys(im, w, ing, at, ingress_keys, NULL);
	if (!ip) {
		warn(im, w, "%s: a hostname (%s) and no ip: nothing to proxy (ignored)", at,
		     host ? host : "none");
		return 0;
	}
	/* ipMode Proxy: the balancer does not hand over the ip; kube-proxy leaves it alone */
	if (mode && !strcmp(mode, "Proxy"))
		return add_addr(im, s, w, at, ip, false, &s->lb_proxy);
	if (mode && strcmp(mode, "VIP")) {
		warn(im, w, "%s.ipMode %s: neither VIP nor Proxy (ignored)", at, mode);
		return 0;
	}
	return add_addr(im, s, w, at, ip, false, &s->lb);
}

static int parse_status(struct imp *im, struct svc *s, const struct where *w, json_t *status)
{
	json_t *lb = member(status, "loadBalancer"), *ingress = member(lb, "ingress"), *ing;
	size_t i;

	check_keys(im, w, status, "status", status_keys, NULL);
	check_keys(im, w, lb, "status.loadBalancer", lb_keys, NULL);
	if (ingress && !json_is_array(ingress)) {
		warn(im, w, "status.loadBalancer.ingress: expected a list (ignored)");
		return 0;
	}
	if (json_array_size(ingress) && !is_lb(s)) {
		warn(im, w, "status.loadBalancer.ingress on a service of type %s (ignored)", s->type);
		return 0;
	}
	json_array_foreach(ingress, i, ing)
		if (parse_ingress(im, s, w, i, ing))
			return -1;
	return 0;
}

static int parse_ranges(struct imp *im, struct svc *s, const struct where *w, json_t *spec)
{
	json_t *r = member(spec, "loadBalancerSourceRanges");

	if (json_array_size(r) && !is_lb(s)) {
		warn(im, w, "spec.loadBalancerSourceRanges on a service of type %s (ignored)", s->type);
		return 0;
	}
	return parse_addr_list(im, s, w, r, "spec.loadBalancerSourceRanges", true, &s->ranges);
}

/* Everything after type and vips.  1: skip the service; -1: out of memory. */
static int parse_service_body(struct imp *im, struct svc *s, const struct where *w,
			      json_t *item, json_t *spec)
{
	json_t *alloc = member(spec, "allocateLoadBalancerNodePorts");

	check_keys(im, w, item, "", item_keys, NULL);
	check_keys(im, w, spec, "spec", spec_keys, NULL);
	if (parse_ports(im, s, w, spec))
		return -1;
	if (!s->nports) {
		warn(im, w, "no usable port (skipped)");
		return 1;
	}
	if (parse_addr_list(im, s, w, member(spec, "externalIPs"), "spec.externalIPs", false,
			    &s->ext) ||
	    parse_ranges(im, s, w, spec))
		return -1;
	parse_affinity(im, s, w, spec);
	parse_policy(im, w, spec, "externalTrafficPolicy", &s->ext_local);
	parse_policy(im, w, spec, "internalTrafficPolicy", &s->int_local);
	parse_hc_nodeport(im, s, w, member(spec, "healthCheckNodePort"));
	parse_distribution(im, s, w, member(spec, "trafficDistribution"));
	if (json_is_false(alloc))
		warn(im, w, "spec.allocateLoadBalancerNodePorts=false is not supported (ignored)");
	return parse_status(im, s, w, member(item, "status"));
}

static int svcs_add(struct imp *im, struct svc *s)
{
	if (VEC_RESERVE(im->svcs, im->nsvcs, im->svcs_cap)) {
		svc_free(s);
		return nomem(im);
	}
	im->svcs[im->nsvcs++] = *s;
	return 0;
}

static int parse_service(struct imp *im, const struct item *it, size_t idx)
{
	struct svc s = { .seq = idx, .item = it };
	struct where w;
	json_t *item = it->obj, *spec = member(item, "spec");
	int rc;

	if (!object_name(im, it, true, &w))
		return 0;
	s.ns = w.ns;
	s.name = w.name;
	rc = parse_type(im, &s, &w, spec);
	if (!rc)
		rc = parse_service_body(im, &s, &w, item, spec);
	if (rc < 0) {
		svc_free(&s);
		return -1;
	}
	if (rc > 0) {
		/* kept by name so that its slices need no second warning */
		svc_free(&s);
		s = (struct svc){ .ns = w.ns, .name = w.name, .item = it, .seq = idx, .skip = true };
	}
	return svcs_add(im, &s);
}

static int svc_cmp(const void *a, const void *b)
{
	const struct svc *x = a, *y = b;
	int c = strcmp(x->ns, y->ns);

	if (!c)
		c = strcmp(x->name, y->name);
	return c ? c : (x->seq > y->seq) - (x->seq < y->seq);
}

/* Sort by namespace/name; of two of the same name the first read stays. */
static void sort_services(struct imp *im)
{
	size_t k = 0;

	if (im->nsvcs > 1)
		qsort(im->svcs, im->nsvcs, sizeof(*im->svcs), svc_cmp);
	for (size_t i = 0; i < im->nsvcs; i++) {
		struct svc *s = &im->svcs[i];

		if (k && !strcmp(s->ns, im->svcs[k - 1].ns) && !strcmp(s->name, im->svcs[k - 1].name)) {
			struct where w = { .file = s->item->file, .ns = s->ns, .name = s->name };

			warn(im, &w, "listed twice: %s is ignored", *s->item->path ? s->item->path :
			     "this one");
			svc_free(s);
			continue;
		}
		im->svcs[k++] = *s;
	}
	im->nsvcs = k;
}

static int vip_cmp(const void *a, const void *b)
{
	return ip_cmp(&((const struct vip *)a)->ip, &((const struct vip *)b)->ip);
}

/* By address, then by service (the services are sorted by name). */
static int vip_owner_cmp(const void *a, const void *b)
{
	const struct vip *x = a, *y = b;
	int c = vip_cmp(x, y);

	return c ? c : (x->svc > y->svc) - (x->svc < y->svc);
}

static void put_vips(struct imp *im)
{
	im->nvips = 0;
	for (size_t i = 0; i < im->nsvcs; i++)
		for (int f = 0; f < 2 && !im->svcs[i].skip; f++)
			if (im->svcs[i].has_vip[f])
				im->vips[im->nvips++] = (struct vip){ im->svcs[i].vip[f], &im->svcs[i] };
	if (im->nvips > 1)
		qsort(im->vips, im->nvips, sizeof(*im->vips), vip_owner_cmp);
}

/*
 * The clusterIPs of the services kept, sorted for endpoint_addr().  The
 * API server never gives one clusterIP to two services: a dump that does
 * is stale or made by hand, and the first service by name keeps it; the
 * other is skipped (svcc would refuse the address twice).
 */
static int index_vips(struct imp *im)
{
	bool dropped = false;

	im->vips = malloc((2 * im->nsvcs + 1) * sizeof(*im->vips));
	if (!im->vips)
		return nomem(im);
	put_vips(im);
	for (size_t i = 0; i < im->nsvcs; i++) {
		struct svc *s = &im->svcs[i];

		for (int f = 0; f < 2 && !s->skip; f++) {
			struct vip key = { .ip = s->vip[f] };
			const struct vip *v = im->vips;
			size_t n = im->nvips;

			if (!s->has_vip[f])
				continue;
			/* the first of its address: a lower bound */
			while (n > 0) {
				size_t half = n / 2;

				if (vip_cmp(&v[half], &key) < 0) {
					v += half + 1;
					n -= half + 1;
				} else {
					n = half;
				}
			}
			for (; v < im->vips + im->nvips && !vip_cmp(v, &key) && v->svc < s; v++) {
				struct where w = { .file = s->item->file, .ns = s->ns, .name = s->name };
				char text[IP_STRLEN];

				if (v->svc->skip)
					continue;
				warn(im, &w, "spec.clusterIPs: %s is also the clusterIP of service %s/%s "
				     "(skipped)", ip_str(&s->vip[f], text), v->svc->ns, v->svc->name);
				s->skip = dropped = true;
				break;
			}
		}
	}
	if (dropped)
		put_vips(im);
	return 0;
}

static int parse_services(struct imp *im)
{
	for (size_t i = 0; i < im->nitems; i++)
		if (im->items[i].service && parse_service(im, &im->items[i], i))
			return -1;
	sort_services(im);
	return index_vips(im);
}

static struct svc *find_service(struct imp *im, const char *ns, const char *name)
{
	struct svc key = { .ns = ns, .name = name };
	size_t lo = 0, hi = im->nsvcs;

	/* bsearch with svc_cmp would compare seq too */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(key.ns, im->svcs[mid].ns);

		if (!c)
			c = strcmp(key.name, im->svcs[mid].name);
		if (!c)
			return &im->svcs[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

/* ---- EndpointSlices ----------------------------------------------------- */

struct slice {
	struct where w;
	struct svc *svc;
	size_t idx;
	int fam;
	int *num;			/* this slice's numbers for the service's ports */
	struct seen ep_seen, cond_seen;
	bool said_addresses;
};

static void port_label(const struct sport *sp, char buf[32])
{
	if (*sp->name)
		snprintf(buf, 32, "'%s'", sp->name);
	else
		snprintf(buf, 32, "%d/%s", sp->port, proto_k8s[sp->proto]);
}

/* ports[i]: the number of the service port of that name and protocol. */
static void slice_port(struct imp *im, struct slice *c, size_t i, json_t *p)
{
	json_t *proto = member(p, "protocol");
	const char *name = json_string_value(member(p, "name"));
	struct svc *s = c->svc;
	char at[64], buf[32];
	int pr = TCP;
	long n;
	size_t j;

	snprintf(at, sizeof(at), "ports[%zu]", i);
	if (!json_is_object(p)) {
		warn(im, &c->w, "%s: expected an object (ignored)", at);
		return;
	}
	check_keys(im, &c->w, p, at, slice_port_keys, NULL);
	/* kube-proxy skips these too */
	if (!name || !get_int(member(p, "port"), 1, 65535, &n)) {
		warn(im, &c->w, "%s: no %s: kube-proxy ignores such a port (ignored)", at,
		     name ? "port number" : "name");
		return;
	}
	if (proto && (!json_is_string(proto) || (pr = parse_proto(json_string_value(proto))) < 0)) {
		warn(im, &c->w, "%s.protocol %s is not supported (ignored)", at, show(proto, buf));
		return;
	}
	for (j = 0; j < s->nports; j++)
		if (!strcmp(s->ports[j].name, name) && (int)s->ports[j].proto == pr)
			break;
	if (j == s->nports)
		warn(im, &c->w, "%s: no port '%s' %s in service %s/%s (ignored)", at, name,
		     proto_k8s[pr], s->ns, s->name);
	else if (c->num[j])
		warn(im, &c->w, "%s: port '%s' %s listed twice (ignored)", at, name, proto_k8s[pr]);
	else
		c->num[j] = (int)n;
}

static int slice_ports(struct imp *im, struct slice *c, json_t *ports)
{
	struct svc *s = c->svc;
	json_t *p;
	size_t i;

	c->num = calloc(s->nports, sizeof(*c->num));
	if (!c->num || VEC_RESERVE(s->nums, s->nnums, s->nums_cap)) {
		free(c->num);
		return nomem(im);
	}
	s->nums[s->nnums++] = c->num;
	if (ports && !json_is_array(ports)) {
		warn(im, &c->w, "ports: expected a list (ignored)");
		return 0;
	}
	json_array_foreach(ports, i, p)
		slice_port(im, c, i, p);
	return 0;
}

static bool get_bool(struct imp *im, struct slice *c, json_t *cond, const char *key, bool def)
{
	json_t *v = member(cond, key);

	if (!v)
		return def;
	if (json_is_boolean(v))
		return json_is_true(v);
	if (seen_first(&c->cond_seen, key))
		warn(im, &c->w, "endpoints[].conditions.%s: expected true or false (ignored)", key);
	return def;
}

/* kube-proxy: ready is used; else serving and terminating is a fallback; else nothing. */
static int endpoint_state(struct imp *im, struct slice *c, json_t *cond)
{
	bool ready = get_bool(im, c, cond, "ready", true);
	bool serving = get_bool(im, c, cond, "serving", true);
	bool terminating = get_bool(im, c, cond, "terminating", false);

	check_keys(im, &c->w, cond, "endpoints[].conditions", cond_keys, &c->cond_seen);
	if (ready)
		return EP_READY;
	return serving && terminating ? EP_FALLBACK : 0;
}

/* The first address, as kube-proxy takes it; false: warned, skip the endpoint. */
static bool endpoint_addr(struct imp *im, struct slice *c, const char *at, json_t *e,
			  struct ip *ip)
{
	json_t *addrs = member(e, "addresses");
	const char *text = json_string_value(json_array_get(addrs, 0));
	const struct vip *vip;

	if (!text) {
		warn(im, &c->w, "%s: no addresses (skipped)", at);
		return false;
	}
	if (json_array_size(addrs) > 1 && !c->said_addresses) {
		warn(im, &c->w, "endpoints[].addresses: only the first is used, as kube-proxy does");
		c->said_addresses = true;
	}
	if (ip_parse(text, false, ip)) {
		warn(im, &c->w, "%s: invalid address '%s' (skipped)", at, text);
		return false;
	}
	if (ip->fam != c->fam) {
		warn(im, &c->w, "%s: %s is not an %s address (skipped)", at, text, fam_name(c->fam));
		return false;
	}
	if (ip_unusable(ip, USE_ENDPOINT) != ADDR_UNICAST) {
		warn(im, &c->w, "%s: %s is %s, which Kubernetes does not take as an endpoint "
		     "(skipped)", at, text, addr_class_name(ip_unusable(ip, USE_ENDPOINT)));
		return false;
	}
	vip = bsearch(&(struct vip){ .ip = *ip }, im->vips, im->nvips, sizeof(*im->vips), vip_cmp);
	if (vip) {
		warn(im, &c->w, "%s: %s is the clusterIP of service %s/%s (skipped)", at, text,
		     vip->svc->ns, vip->svc->name);
		return false;
	}
	return true;
}

/*
 * A zone (label value, at most 63) or node name (at most 253) the .svc
 * language takes as a word: no '-' at the ends, not a keyword (found by
 * fuzz-import: a zone "eu-westa1-" made a config that did not parse).
 */
static bool topo_name(const char *t, bool zone)
{
	size_t len = t ? strlen(t) : 0;

	return len && len <= (zone ? 63u : 253u) && is_name(t) && !in_list(keywords, t);
}

/* hints.forZones / forNodes: a list of {name}; the names emit_endpoint writes. */
static json_t *hint_list(struct imp *im, struct slice *c, const char *at, json_t *hints,
			 const char *key, bool zone)
{
	json_t *l = member(hints, key), *h;
	size_t i;

	if (!l)
		return NULL;
	if (!json_is_array(l)) {
		warn(im, &c->w, "%s.hints.%s: expected a list (ignored)", at, key);
		return NULL;
	}
	json_array_foreach(l, i, h)
		if (!topo_name(json_string_value(member(h, "name")), zone))
			warn(im, &c->w, "%s.hints.%s[%zu]: not a %s name svcc takes (ignored)", at, key,
			     i, zone ? "zone" : "node");
	return l;
}

/* zone, nodeName and hints: what topology-aware routing chooses by */
static void slice_topology(struct imp *im, struct slice *c, const char *at, json_t *e,
			   struct ep *ep)
{
	const char *zone = json_string_value(member(e, "zone"));
	const char *node = json_string_value(member(e, "nodeName"));
	json_t *hints = member(e, "hints");

	ep->zone = topo_name(zone, true) ? zone : NULL;
	ep->node = topo_name(node, false) ? node : NULL;
	if (zone && !ep->zone)
		warn(im, &c->w, "%s.zone: '%s' is not a zone name svcc takes (ignored)", at, zone);
	if (!hints)
		return;
	check_keys(im, &c->w, hints, "endpoints[].hints", hints_keys, NULL);
	ep->for_zones = hint_list(im, c, at, hints, "forZones", true);
	ep->for_nodes = hint_list(im, c, at, hints, "forNodes", false);
}

static int slice_endpoint(struct imp *im, struct slice *c, size_t i, json_t *e)
{
	const char *node = json_string_value(member(e, "nodeName"));
	struct svc *s = c->svc;
	struct ep ep = { .slice = c->w.name, .file = c->w.file, .num = c->num, .sidx = c->idx,
			 .seq = i };
	char at[64];

	snprintf(at, sizeof(at), "endpoints[%zu]", i);
	if (!json_is_object(e)) {
		warn(im, &c->w, "%s: expected an object (skipped)", at);
		return 0;
	}
	check_keys(im, &c->w, e, "endpoints[]", ep_keys, &c->ep_seen);
	if (!endpoint_addr(im, c, at, e, &ep.ip))
		return 0;
	ep.state = endpoint_state(im, c, member(e, "conditions"));
	if (!ep.state)
		return 0;	/* neither ready nor a fallback: normal, nothing to say */
	ep.local = im->node && node && !strcmp(node, im->node);
	slice_topology(im, c, at, e, &ep);
	if (VEC_RESERVE(s->eps, s->neps, s->eps_cap))
		return nomem(im);
	s->eps[s->neps++] = ep;
	return 0;
}

/* addressType: the family; 0 when the slice is skipped (warned). */
static int slice_family(struct imp *im, struct slice *c, json_t *item)
{
	json_t *t = member(item, "addressType");
	const char *type = json_string_value(t);
	char buf[32];
	int fam;

	if (type && !strcmp(type, "IPv4"))
		fam = AF_INET;
	else if (type && !strcmp(type, "IPv6"))
		fam = AF_INET6;
	else {
		warn(im, &c->w, "addressType %s is not supported (skipped)", t ? show(t, buf) : "missing");
		return 0;
	}
	/* kube-proxy proxies a family only for a service with a clusterIP of it */
	if (!c->svc->has_vip[fam_index(fam)]) {
		warn(im, &c->w, "%s endpoints, and service %s/%s has no %s clusterIP (skipped)",
		     type, c->svc->ns, c->svc->name, type);
		return 0;
	}
	return fam;
}

static int parse_slice(struct imp *im, const struct item *it, size_t idx)
{
	struct slice c = { .idx = idx };
	json_t *item = it->obj;
	json_t *labels = member(member(item, "metadata"), "labels"), *eps, *e;
	const char *svc_name = json_string_value(member(labels, SERVICE_NAME_LABEL));
	size_t i;

	if (!object_name(im, it, false, &c.w))
		return 0;
	if (!svc_name || !*svc_name) {
		warn(im, &c.w, "no label " SERVICE_NAME_LABEL " (skipped)");
		return 0;
	}
	c.svc = find_service(im, c.w.ns, svc_name);
	if (!c.svc) {
		warn(im, &c.w, "no service %s/%s (skipped)", c.w.ns, svc_name);
		return 0;
	}
	if (c.svc->skip)
		return 0;	/* the service's own warning said why */
	check_keys(im, &c.w, item, "", slice_keys, NULL);
	c.fam = slice_family(im, &c, item);
	if (!c.fam)
		return 0;
	if (slice_ports(im, &c, member(item, "ports")))
		return -1;
	eps = member(item, "endpoints");
	if (eps && !json_is_array(eps)) {
		warn(im, &c.w, "endpoints: expected a list (ignored)");
		return 0;
	}
	json_array_foreach(eps, i, e)
		if (slice_endpoint(im, &c, i, e))
			return -1;
	return 0;
}

static int parse_slices(struct imp *im)
{
	for (size_t i = 0; i < im->nitems; i++)
		if (!im->items[i].service && parse_slice(im, &im->items[i], i))
			return -1;
	return 0;
}

/* ---- from slices to endpoints ------------------------------------------- */

static int ep_cmp(const void *a, const void *b)
{
	const struct ep *x = a, *y = b;
	int c = ip_cmp(&x->ip, &y->ip);

	if (!c)
		c = strcmp(x->slice, y->slice);
	if (!c)
		c = (x->sidx > y->sidx) - (x->sidx < y->sidx);
	return c ? c : (x->seq > y->seq) - (x->seq < y->seq);
}

static bool same_numbers(const struct svc *s, const int *a, const int *b)
{
	return a == b || !memcmp(a, b, s->nports * sizeof(*a));
}

/*
 * An address in several slices is one endpoint: the best condition of any,
 * local if any says so, the port numbers of the first with that condition.
 */
static void merge_endpoints(struct imp *im, struct svc *s)
{
	size_t i = 0, j, k = 0;

	if (s->neps > 1)	/* qsort wants a non-NULL base even for nothing */
		qsort(s->eps, s->neps, sizeof(*s->eps), ep_cmp);
	for (; i < s->neps; i = j) {
		size_t best = i;
		bool local = false;

		for (j = i; j < s->neps && !ip_cmp(&s->eps[j].ip, &s->eps[i].ip); j++) {
			if (s->eps[j].state > s->eps[best].state)
				best = j;
			local |= s->eps[j].local;
		}
		for (size_t m = i; m < j; m++) {
			if (!same_numbers(s, s->eps[m].num, s->eps[best].num)) {
				struct where w = { .file = s->eps[best].file, .ns = s->ns,
						   .name = s->eps[best].slice };
				char buf[IP_STRLEN];

				warn(im, &w, "endpoint %s is also in slice %s with other port numbers "
				     "(these are used)", ip_str(&s->eps[best].ip, buf), s->eps[m].slice);
				break;
			}
		}
		s->eps[k] = s->eps[best];
		s->eps[k++].local = local;
	}
	s->neps = k;
}

/* A .svc endpoint takes every port of its service: one that lacks some is left out. */
static void drop_partial_endpoints(struct imp *im, struct svc *s)
{
	size_t k = 0;

	for (size_t i = 0; i < s->neps; i++) {
		struct ep *ep = &s->eps[i];
		size_t p;

		for (p = 0; p < s->nports && ep->num[p]; p++)
			;
		if (p < s->nports) {
			struct where w = { .file = ep->file, .ns = s->ns, .name = ep->slice };
			char buf[IP_STRLEN], label[32];

			port_label(&s->ports[p], label);
			warn(im, &w, "endpoint %s has no port %s of service %s/%s (skipped: a .svc "
			     "endpoint takes every port of its service)", ip_str(&ep->ip, buf), label,
			     s->ns, s->name);
			continue;
		}
		s->eps[k++] = *ep;
	}
	s->neps = k;
}

/*
 * kube-proxy sends to the number the slices give, not to the Service's
 * targetPort.  One number for all endpoints: "-> N".  Several (a named
 * targetPort resolved per pod): "-> NAME" and each endpoint says its number.
 */
static void decide_target(struct svc *s, size_t i)
{
	struct sport *sp = &s->ports[i];
	int first = 0;
	bool differ = false;

	for (size_t e = 0; e < s->neps; e++) {
		int n = s->eps[e].num[i];

		differ |= first && n != first;
		first = first ? first : n;
	}
	/* no endpoint: what the slices say, for the record */
	for (size_t m = 0; !s->neps && m < s->nnums; m++) {
		int n = s->nums[m][i];

		differ |= first && n && n != first;
		first = first ? first : n;
	}
	sp->out_name = sp->name;
	if (differ) {
		snprintf(sp->synth, sizeof(sp->synth), "%s-%d", proto_svc[sp->proto], sp->port);
		sp->out_tname = sp->target_name ? sp->target_name : *sp->name ? sp->name : sp->synth;
		if (!*sp->name)		/* an endpoint can only name a named port */
			sp->out_name = sp->out_tname;
		sp->per_ep = s->neps > 0;
	} else if (first)
		sp->out_target = first;
	else if (sp->target_name)
		sp->out_tname = sp->target_name;
	else
		sp->out_target = sp->target;
	if (sp->out_target == sp->port)
		sp->out_target = 0;
}

static void finish(struct imp *im)
{
	for (size_t i = 0; i < im->nsvcs; i++) {
		struct svc *s = &im->svcs[i];

		if (s->skip)
			continue;
		merge_endpoints(im, s);
		drop_partial_endpoints(im, s);
		for (size_t p = 0; p < s->nports; p++)
			decide_target(s, p);
	}
}

/* ---- the config, through the model -------------------------------------- */

static void to_addr(const struct ip *ip, struct addr *a)
{
	*a = (struct addr){ .family = ip->fam == AF_INET ? 4 : 6 };
	memcpy(a->bytes, ip->b, sizeof(a->bytes));
}

/* l into a cidr list: prefixes, or addresses (full length) */
static int put_ips(const struct ips *l, struct cidr **v, size_t *n, size_t *cap)
{
	for (size_t i = 0; i < l->n; i++) {
		struct cidr c = { .plen = (uint8_t)l->v[i].plen };

		to_addr(&l->v[i], &c.addr);
		if (l->v[i].plen < 0)
			c.plen = c.addr.family == 4 ? 32 : 128;
		if (cidr_list_add(v, n, cap, &c))
			return -1;
	}
	return 0;
}

static int put_cluster(struct imp *im, struct svcc_config *cfg)
{
	if ((im->zone && !(cfg->zone = strdup(im->zone))) ||
	    (im->node && !(cfg->node_name = strdup(im->node))) ||
	    (im->pod_bridge && !(cfg->pod_bridge = strdup(im->pod_bridge))) ||
	    (im->pod_prefix && !(cfg->pod_iface_prefix = strdup(im->pod_prefix))))
		return -1;
	return put_ips(&im->pod_cidrs, &cfg->pod_cidrs, &cfg->npod_cidrs, &cfg->pod_cidrs_cap) ||
	       put_ips(&im->svc_cidrs, &cfg->service_cidrs, &cfg->nservice_cidrs,
		       &cfg->service_cidrs_cap) ||
	       put_ips(&im->node_ips, &cfg->node_ips, &cfg->nnode_ips, &cfg->node_ips_cap) ||
	       put_ips(&im->node_pod_cidrs, &cfg->node_pod_cidrs, &cfg->nnode_pod_cidrs,
		       &cfg->node_pod_cidrs_cap) ? -1 : 0;
}

static const uint8_t ipproto[NPROTOS] = { IPPROTO_TCP, IPPROTO_UDP, IPPROTO_SCTP };

static int put_ports(struct svcc_service *svc, const struct svc *s)
{
	for (size_t i = 0; i < s->nports; i++) {
		const struct sport *sp = &s->ports[i];
		struct port p = {
			.name = *sp->out_name ? (char *)sp->out_name : NULL,
			.port = (uint16_t)sp->port,
			.proto = ipproto[sp->proto],
			.target = (uint16_t)(sp->out_target ? sp->out_target :
					     sp->out_tname ? 0 : sp->port),
			.target_name = (char *)sp->out_tname,
			.nodeport = (uint16_t)sp->nodeport,
		};

		if (service_add_port(svc, &p))
			return -1;
	}
	return 0;
}

/* hints.forZones / forNodes: the names topo_name takes (the others were warned about) */
static int put_hints(json_t *list, bool zone, char ***v, size_t *n)
{
	json_t *h;
	size_t i;

	json_array_foreach(list, i, h) {
		const char *name = json_string_value(member(h, "name"));
		char **p;

		if (!topo_name(name, zone))
			continue;
		p = realloc(*v, (*n + 1) * sizeof(**v));
		if (!p)
			return -1;
		*v = p;
		if (!(p[*n] = strdup(name)))
			return -1;
		(*n)++;
	}
	return 0;
}

static int put_topo(const struct ep *ep, struct endpoint *e)
{
	struct ep_topo *t;

	if (!ep->zone && !ep->node && !json_array_size(ep->for_zones) &&
	    !json_array_size(ep->for_nodes))
		return 0;
	t = e->topo = calloc(1, sizeof(*t));
	if (!t || (ep->zone && !(t->zone = strdup(ep->zone))) ||
	    (ep->node && !(t->node = strdup(ep->node))) ||
	    put_hints(ep->for_zones, true, &t->hint_zones, &t->nhint_zones) ||
	    put_hints(ep->for_nodes, false, &t->hint_nodes, &t->nhint_nodes))
		return -1;
	if (!t->zone && !t->node && !t->nhint_zones && !t->nhint_nodes) {
		ep_topo_free(t);	/* only names svcc does not take */
		e->topo = NULL;
	}
	return 0;
}

static int put_endpoint(struct svcc_service *svc, const struct svc *s, const struct ep *ep)
{
	struct endpoint e = { .local = ep->local, .terminating = ep->state == EP_FALLBACK,
			      .weight = 1 };

	to_addr(&ep->ip, &e.addr);
	if (put_topo(ep, &e))
		goto fail;
	for (size_t i = 0; i < s->nports; i++) {
		struct ep_port *p;

		if (!s->ports[i].per_ep)
			continue;
		p = realloc(e.ports, (e.nports + 1) * sizeof(*p));
		if (!p)
			goto fail;
		e.ports = p;
		p[e.nports].port = (uint16_t)ep->num[i];
		if (!(p[e.nports].name = strdup(s->ports[i].out_name)))
			goto fail;
		e.nports++;
	}
	if (!service_add_endpoint(svc, &e))
		return 0;
fail:
	endpoint_free(&e);
	return -1;
}

static int put_service(struct svcc_config *cfg, const struct svc *s)
{
	struct svcc_service *svc;
	char *name;

	if (asprintf(&name, "%s/%s", s->ns, s->name) < 0)
		return -1;
	svc = config_add_service(cfg, name, LOC_NONE);
	free(name);
	if (!svc)
		return -1;
	for (int f = 0; f < 2; f++) {
		svc->has_vip[f] = s->has_vip[f];
		if (s->has_vip[f])
			to_addr(&s->vip[f], &svc->vip[f]);
	}
	svc->affinity_timeout = s->affinity ? (uint32_t)(s->timeout ? s->timeout : 10800) : 0;
	svc->external_local = s->ext_local;
	svc->internal_local = s->int_local;
	svc->hc_nodeport = (uint16_t)s->hc_nodeport;
	svc->traffic_distribution = !s->distribution ? TD_NONE :
				    !strcmp(s->distribution, "prefer-same-node") ? TD_SAME_NODE :
				    TD_SAME_ZONE;
	if (put_ports(svc, s) ||
	    put_ips(&s->ext, &svc->external_ips, &svc->nexternal_ips, &svc->external_ips_cap) ||
	    put_ips(&s->lb, &svc->lb_ips, &svc->nlb_ips, &svc->lb_ips_cap) ||
	    put_ips(&s->lb_proxy, &svc->proxy_lb_ips, &svc->nproxy_lb_ips, &svc->proxy_lb_ips_cap) ||
	    put_ips(&s->ranges, &svc->source_ranges, &svc->nsource_ranges, &svc->source_ranges_cap))
		return -1;
	for (size_t i = 0; i < s->neps; i++)
		if (put_endpoint(svc, s, &s->eps[i]))
			return -1;
	return 0;
}

static struct svcc_config *build(struct imp *im)
{
	struct svcc_config *cfg = svcc_config_new();

	if (!cfg || put_cluster(im, cfg))
		goto fail;
	for (size_t i = 0; i < im->nsvcs; i++)
		if (!im->svcs[i].skip && put_service(cfg, &im->svcs[i]))
			goto fail;
	return cfg;
fail:
	svcc_config_free(cfg);
	nomem(im);
	return NULL;
}

/* ---- options ------------------------------------------------------------- */

/* An interface name the kernel and the .svc language take: 1 to 15 bytes of a name. */
static bool iface_name(const char *t)
{
	return strlen(t) <= 15 && is_name(t) && !in_list(keywords, t);
}

/* "option pod-cidr: invalid CIDR '10.244.0.0'": the names are the language's */
static int bad_option(struct imp *im, const char *what, const char *kind, const char *arg)
{
	return fail_at(im, EINVAL, NULL, 0, 0, "option %s: invalid %s '%s'", what, kind,
		       arg ? arg : "(null)");
}

/* n addresses or prefixes into l, as the option `what` */
static int option_addrs(struct imp *im, const char *what, const char *const *v, size_t n,
			bool prefix, struct ips *l)
{
	for (size_t i = 0; i < n; i++) {
		struct ip ip;

		if (!v[i] || ip_parse(v[i], prefix, &ip))
			return bad_option(im, what, prefix ? "CIDR" : "address",
					  v[i]);
		if (prefix && ip_mask(&ip))
			return fail_at(im, EINVAL, NULL, 0, 0, "option %s: %s has bits set past the "
				       "prefix", what, v[i]);
		if (ips_add(l, &ip) < 0)
			return nomem(im);
	}
	return 0;
}

static int options(struct imp *im, const struct svcc_import_options *o)
{
	if (!o)
		return 0;
	if (o->node_name && !is_name(o->node_name))
		return bad_option(im, "node-name", "node name", o->node_name);
	if (o->zone && !topo_name(o->zone, true))
		return bad_option(im, "zone", "zone name", o->zone);
	if (o->pod_bridge && !iface_name(o->pod_bridge))
		return bad_option(im, "pod-bridge", "interface name", o->pod_bridge);
	if (o->pod_interface_prefix && !iface_name(o->pod_interface_prefix))
		return bad_option(im, "pod-interface-prefix", "interface name",
				  o->pod_interface_prefix);
	if (!!o->pod_bridge + !!o->pod_interface_prefix + !!o->nnode_pod_cidrs > 1)
		return fail_at(im, EINVAL, NULL, 0, 0, "options: pods are told apart one way at "
			       "most: pod-bridge, pod-interface-prefix or node-pod-cidr");
	im->node = o->node_name;
	im->zone = o->zone;
	im->pod_bridge = o->pod_bridge;
	im->pod_prefix = o->pod_interface_prefix;
	return option_addrs(im, "pod-cidr", o->pod_cidrs, o->npod_cidrs, true, &im->pod_cidrs) ||
	       option_addrs(im, "service-cidr", o->service_cidrs, o->nservice_cidrs, true,
			    &im->svc_cidrs) ||
	       option_addrs(im, "node-ip", o->node_ips, o->nnode_ips, false, &im->node_ips) ||
	       option_addrs(im, "node-pod-cidr", o->node_pod_cidrs, o->nnode_pod_cidrs, true,
			    &im->node_pod_cidrs) ? -1 : 0;
}

/* ---- the API ------------------------------------------------------------- */

static void imp_free(struct imp *im)
{
	for (size_t i = 0; i < im->nsvcs; i++)
		svc_free(&im->svcs[i]);
	free(im->svcs);
	free(im->vips);
	free(im->pod_cidrs.v);
	free(im->svc_cidrs.v);
	free(im->node_ips.v);
	free(im->node_pod_cidrs.v);
	free(im->items);
	k8s_docs_free(&im->docs);
}

static int import(struct imp *im, const struct svcc_import_options *opts, struct svcc_config **out)
{
	struct svcc_config *cfg = NULL;

	if (!options(im, opts) && !load(im) && !parse_services(im) && !parse_slices(im)) {
		finish(im);
		cfg = build(im);
	}
	if (cfg && im->errnum) {	/* a warning lost for want of memory */
		svcc_config_free(cfg);
		cfg = NULL;
		nomem(im);
	}
	imp_free(im);
	if (!cfg) {
		errno = im->errnum ? im->errnum : ENOMEM;
		return -1;
	}
	*out = cfg;
	return 0;
}

int svcc_import_k8s(struct svcc_ctx *ctx, const char *const *files, size_t n,
		    const struct svcc_import_options *opts, struct svcc_config **out)
{
	struct imp im = { .ctx = ctx, .files = files, .nfiles = n };

	return import(&im, opts, out);
}

int svcc_import_k8s_buffers(struct svcc_ctx *ctx, const struct svcc_import_buffer *bufs, size_t n,
			    const struct svcc_import_options *opts, struct svcc_config **out)
{
	struct imp im = { .ctx = ctx, .bufs = bufs, .nfiles = n };

	return import(&im, opts, out);
}
