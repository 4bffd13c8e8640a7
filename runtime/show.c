// SPDX-License-Identifier: MIT
/*
 * svcc_runtime_show: what the kernel's table does, per service port, in
 * the manner of `ipvsadm -l -n`.  Everything comes from the kernel: the
 * table read back with its rules (svcc_runtime_read), the addresses from
 * its dispatch maps (vip and external addresses from the services map,
 * NodePorts from the nodeports map, those without endpoints from the
 * reject sets), the endpoints and their shares from svcc_trace of a new
 * connection through that very ruleset, the connections from conntrack.
 * The kernel keeps no names: a service port is named by its chain
 * (svc-NAMESPACE/NAME/PROTO/PORT); one without endpoints has no chain.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "internal.h"
#include "show.h"
#include "update.h"
#include "util.h"

enum addr_kind { AK_VIP, AK_EXTERNAL, AK_NODEPORT };
static const char *const kind_name[] = { "vip", "external", "nodeport" };

/* One address (or NodePort) by which a service port is reached. */
struct entry {
	const char *chain;	/* where the dispatch map sends it; NULL: no endpoints */
	const char *suffix;	/* the chain's name after its prefix: NS/NAME/PROTO/PORT */
	uint8_t family;		/* AF_INET, AF_INET6 */
	uint8_t proto;
	uint16_t port;
	uint8_t addr[16];
	bool any;		/* a NodePort on every local address */
	enum addr_kind kind;
};

struct ep {
	uint8_t addr[16];
	uint16_t port;
	double share;
	unsigned weight;
	unsigned long active, inactive;
	uint64_t packets, bytes;
};

struct eps {
	struct ep *v;
	size_t n, cap;
	enum svcc_trace_verdict verdict;	/* of a flow that reaches none */
	bool masquerade;
};

struct show {
	struct svcc_runtime *rt;
	const struct rs_ruleset *rs;
	const struct svcc_ruleset *srs;
	struct entry *e;
	size_t n, cap;
	struct show_conns conns;
	unsigned flags;
	FILE *out;
	size_t shown;
	int err;
};

/* ---- the addresses: the dispatch maps' elements ------------------------- */

static size_t field_off(const struct rs_set *s, size_t k)
{
	size_t off = 0;

	for (size_t i = 0; i < k; i++)
		off += (rs_field_len(s->key[i]) + 3) / 4 * 4;
	return off;
}

static int push(struct show *sh, const struct entry *x)
{
	if (VEC_RESERVE(sh->e, sh->n, sh->cap))
		return -1;
	sh->e[sh->n++] = *x;
	return 0;
}

static void name_chain(struct entry *x, const char *chain)
{
	const char *dash = chain ? strchr(chain, '-') : NULL;

	x->chain = chain;
	x->suffix = dash ? dash + 1 : NULL;
	x->kind = chain && strncmp(chain, "svc", 3) ? AK_EXTERNAL : AK_VIP;
}

/* addr . proto . port elements: the services map, the no-endpoints set */
static int take_dest_set(struct show *sh, const struct rs_set *s)
{
	size_t alen = s->family == RS_IPV6 ? 16 : 4;

	if (!s || s->nkey != 3 || s->interval)
		return 0;
	for (size_t i = 0; i < s->nelems; i++) {
		const struct rs_elem *el = rs_elem_at(s, i);
		struct entry x = { .family = alen == 16 ? AF_INET6 : AF_INET };
		uint16_t port;

		memcpy(x.addr, el->key, alen);
		x.proto = el->key[field_off(s, 1)];
		memcpy(&port, el->key + field_off(s, 2), 2);
		x.port = ntohs(port);
		name_chain(&x, s->verdict ? el->chain : NULL);
		if (push(sh, &x))
			return -1;
	}
	return 0;
}

/* proto . port elements: the nodeports map, its no-endpoints set; on
 * the addresses of set addrs, or (NULL) on every local address */
static int take_port_set(struct show *sh, const struct rs_set *s, const struct rs_set *addrs,
			 enum rs_family fam)
{
	size_t nav = addrs ? addrs->nelems : 1;

	if (!s || s->nkey != 2)
		return 0;
	for (size_t i = 0; i < s->nelems; i++) {
		const struct rs_elem *el = rs_elem_at(s, i);

		for (size_t a = 0; a < nav; a++) {
			struct entry x = { .family = fam == RS_IPV6 ? AF_INET6 : AF_INET };
			uint16_t port;

			x.proto = el->key[0];
			memcpy(&port, el->key + field_off(s, 1), 2);
			x.port = ntohs(port);
			if (addrs)
				memcpy(x.addr, rs_elem_at(addrs, a)->key, fam == RS_IPV6 ? 16 : 4);
			x.any = !addrs;
			name_chain(&x, s->verdict ? el->chain : NULL);
			x.kind = AK_NODEPORT;
			if (push(sh, &x))
				return -1;
		}
	}
	return 0;
}

static int collect(struct show *sh)
{
	const struct rs_ruleset *rs = sh->rs;

	for (size_t i = 0; i < rs->nchains; i++) {
		for (size_t k = 0; k < rs->chains[i].nrules; k++) {
			const struct rs_rule *r = &rs->chains[i].rules[k];
			int ret = 0;

			if (r->kind == RS_DISPATCH || r->kind == RS_REJECT_IF_DEST_IN)
				ret = take_dest_set(sh, rs_set_find(rs, r->set));
			else if (r->kind == RS_NODEPORT_DISPATCH)
				ret = take_port_set(sh, rs_set_find(rs, r->set2),
						    r->set ? rs_set_find(rs, r->set) : NULL, r->family);
			else if (r->kind == RS_REJECT_IF_PORT_IN)
				ret = take_port_set(sh, rs_set_find(rs, r->set), NULL, r->family);
			if (ret)
				return -1;
		}
	}
	return 0;
}

/* Service ports together (by chain), vips first; those without a chain by address. */
static int entry_cmp(const void *pa, const void *pb)
{
	const struct entry *a = pa, *b = pb;
	int d;

	if (!a->suffix != !b->suffix)
		return a->suffix ? -1 : 1;
	if (a->suffix && (d = strcmp(a->suffix, b->suffix)))
		return d;
	if (a->family != b->family)
		return a->family - b->family;
	if (a->kind != b->kind)
		return (int)a->kind - (int)b->kind;
	if ((d = memcmp(a->addr, b->addr, 16)))
		return d;
	if (a->proto != b->proto)
		return a->proto - b->proto;
	return a->port - b->port;
}

static bool same_group(const struct entry *a, const struct entry *b)
{
	if (a->suffix && b->suffix)
		return !strcmp(a->suffix, b->suffix) && a->family == b->family;
	return !a->suffix && !b->suffix && !entry_cmp(a, b);
}

/* ---- text -------------------------------------------------------------- */

static const char *proto_name(uint8_t p)
{
	return p == IPPROTO_TCP ? "TCP" : p == IPPROTO_UDP ? "UDP" : p == IPPROTO_SCTP ? "SCTP" : "?";
}

static void addr_text(uint8_t family, const uint8_t *addr, char *buf, size_t len)
{
	if (!inet_ntop(family, addr, buf, (socklen_t)len))
		snprintf(buf, len, "?");
}

/* "10.96.0.10:80", "[fd00::10]:80", "*:30080" */
static void hostport(const struct entry *x, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	if (x->any) {
		snprintf(buf, len, "*:%u", x->port);
		return;
	}
	addr_text(x->family, x->addr, a, sizeof(a));
	snprintf(buf, len, x->family == AF_INET6 ? "[%s]:%u" : "%s:%u", a, x->port);
}

static void ep_text(uint8_t family, const struct ep *e, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	addr_text(family, e->addr, a, sizeof(a));
	snprintf(buf, len, family == AF_INET6 ? "[%s]:%u" : "%s:%u", a, e->port);
}

/* The service's name from its chain's: NS/NAME/PROTO/PORT -> NS/NAME. */
static void service_name(const struct entry *x, char *buf, size_t len)
{
	const char *s = x->suffix, *end;

	if (!s) {
		snprintf(buf, len, "-");
		return;
	}
	end = s + strlen(s);
	for (int slashes = 0; end > s && slashes < 2; )
		if (*--end == '/')
			slashes++;
	snprintf(buf, len, "%.*s", (int)(end > s ? end - s : (long)strlen(s)), s);
}

/* ---- endpoints: a trace through the ruleset ---------------------------- */

/* A source of the flow's family for each kind of client. */
static void pod_source(const struct rs_ruleset *rs, uint8_t family, char *buf, size_t len)
{
	const struct rs_set *s = rs_set_find(rs, family == AF_INET6 ? "pod-cidrs6" : "pod-cidrs");
	uint8_t a[16] = { 0 };

	if (s && s->nelems && !s->dynamic) {
		memcpy(a, rs_elem_at(s, 0)->key, family == AF_INET6 ? 16 : 4);
		a[family == AF_INET6 ? 15 : 3] |= 2;	/* an address inside its prefix */
		addr_text(family, a, buf, len);
	} else {
		snprintf(buf, len, family == AF_INET6 ? "fd00::2" : "10.0.0.2");
	}
}

static int trace_entry(struct show *sh, const struct entry *x, bool outside, struct eps *out)
{
	char saddr[INET6_ADDRSTRLEN], daddr[INET6_ADDRSTRLEN];
	const char *node_addr[1] = { daddr };
	struct svcc_flow f = { .proto = (enum svcc_proto)x->proto, .dport = x->port };
	struct svcc_trace *t;

	out->n = 0;
	out->verdict = SVCC_TRACE_ACCEPT;
	out->masquerade = false;
	if (outside)
		snprintf(saddr, sizeof(saddr), x->family == AF_INET6 ? "2001:db8::1" : "203.0.113.1");
	else
		pod_source(sh->rs, x->family, saddr, sizeof(saddr));
	if (x->any)	/* any local address: one made up, and said to be the node's */
		snprintf(daddr, sizeof(daddr), x->family == AF_INET6 ? "2001:db8::10" : "192.0.2.10");
	else
		addr_text(x->family, x->addr, daddr, sizeof(daddr));
	f.from = outside ? SVCC_FROM_OUTSIDE : SVCC_FROM_POD;
	f.saddr = saddr;
	f.daddr = daddr;
	if (x->any || x->kind == AK_NODEPORT) {
		f.node_addrs = node_addr;
		f.n_node_addrs = 1;
	}
	if (svcc_trace(sh->rt->ctx, sh->srs, &f, &t))
		return -1;
	for (size_t i = 0; i < svcc_trace_count(t); i++) {
		const struct svcc_trace_outcome *o = svcc_trace_get(t, i);
		struct ep e = { .share = o->share };

		if (o->verdict != SVCC_TRACE_DNAT) {
			if (out->verdict == SVCC_TRACE_ACCEPT || o->share > 0.5)
				out->verdict = o->verdict;
			continue;
		}
		out->masquerade |= o->masquerade != 0;
		if (inet_pton(x->family, o->addr, e.addr) != 1)
			continue;
		e.port = o->port;
		if (VEC_RESERVE(out->v, out->n, out->cap)) {
			svcc_trace_free(t);
			return -1;
		}
		out->v[out->n++] = e;
	}
	svcc_trace_free(t);
	return 0;
}

static double dabs(double x)
{
	return x < 0 ? -x : x;
}

/* Shares as the smallest whole weights: 1/3, 2/3 -> 1, 2. */
static void weights(struct eps *eps)
{
	for (unsigned m = 1; m <= 4096; m++) {
		bool whole = true;

		for (size_t i = 0; i < eps->n && whole; i++) {
			double w = eps->v[i].share * m;

			whole = dabs(w - (double)(unsigned)(w + 0.5)) < 1e-6 && w >= 0.5;
		}
		if (whole) {
			for (size_t i = 0; i < eps->n; i++)
				eps->v[i].weight = (unsigned)(eps->v[i].share * m + 0.5);
			return;
		}
	}
}

static bool same_eps(const struct eps *a, const struct eps *b)
{
	if (a->n != b->n || (!a->n && a->verdict != b->verdict))
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (memcmp(a->v[i].addr, b->v[i].addr, 16) || a->v[i].port != b->v[i].port ||
		    dabs(a->v[i].share - b->v[i].share) > 1e-9)
			return false;
	return true;
}

/* ---- connections ------------------------------------------------------- */

struct count_ctx {
	struct eps *eps;
	int err;
};

static void count_one(const struct show_conn *c, void *arg)
{
	struct count_ctx *cc = arg;
	struct eps *eps = cc->eps;
	struct ep *e = NULL;

	for (size_t i = 0; i < eps->n && !e; i++)
		if (!memcmp(eps->v[i].addr, c->ep, 16) && eps->v[i].port == c->ep_port)
			e = &eps->v[i];
	if (!e) {	/* an endpoint the service no longer has: weight 0 */
		if (VEC_RESERVE(eps->v, eps->n, eps->cap)) {
			cc->err = ENOMEM;
			return;
		}
		e = &eps->v[eps->n++];
		memset(e, 0, sizeof(*e));
		memcpy(e->addr, c->ep, 16);
		e->port = c->ep_port;
	}
	if (c->active)
		e->active++;
	else
		e->inactive++;
	e->packets += c->packets;
	e->bytes += c->bytes;
}

/* ---- output ------------------------------------------------------------ */

static void json_str(FILE *out, const char *s)
{
	fputc('"', out);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(out, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fprintf(out, "\\u%04x", *s);
		else
			fputc(*s, out);
	}
	fputc('"', out);
}

static const char *verdict_name(enum svcc_trace_verdict v)
{
	switch (v) {
	case SVCC_TRACE_RESET: return "refused (tcp reset)";
	case SVCC_TRACE_UNREACHABLE: return "refused (icmp port unreachable)";
	case SVCC_TRACE_DROP: return "dropped";
	case SVCC_TRACE_ACCEPT: return "left alone";
	default: return "dnat";
	}
}

static void write_eps_json(struct show *sh, const struct entry *g, const struct eps *eps)
{
	char buf[INET6_ADDRSTRLEN + 8];

	fprintf(sh->out, "[");
	for (size_t i = 0; i < eps->n; i++) {
		const struct ep *e = &eps->v[i];

		addr_text(g->family, e->addr, buf, sizeof(buf));
		fprintf(sh->out, "%s{\"address\":\"%s\",\"port\":%u,\"weight\":%u,\"share\":%.6g,"
			"\"active\":%lu,\"inactive\":%lu", i ? "," : "", buf, e->port, e->weight,
			e->share, e->active, e->inactive);
		if (sh->flags & SVCC_SHOW_STATS)
			fprintf(sh->out, ",\"packets\":%" PRIu64 ",\"bytes\":%" PRIu64, e->packets,
				e->bytes);
		fputc('}', sh->out);
	}
	fprintf(sh->out, "]");
}

static void write_json(struct show *sh, const struct entry *g, size_t n, const struct eps *eps,
		       const struct eps *outside)
{
	char name[256], buf[INET6_ADDRSTRLEN + 8];

	service_name(g, name, sizeof(name));
	fprintf(sh->out, "%s{\"service\":", sh->shown ? "," : "");
	json_str(sh->out, name);
	fprintf(sh->out, ",\"protocol\":\"%s\",\"family\":%d,\"addresses\":[",
		g->proto == IPPROTO_TCP ? "tcp" : g->proto == IPPROTO_UDP ? "udp" : "sctp",
		g->family == AF_INET6 ? 6 : 4);
	for (size_t i = 0; i < n; i++) {
		if (g[i].any)
			snprintf(buf, sizeof(buf), "*");
		else
			addr_text(g[i].family, g[i].addr, buf, sizeof(buf));
		fprintf(sh->out, "%s{\"address\":\"%s\",\"port\":%u,\"kind\":\"%s\"", i ? "," : "",
			buf, g[i].port, kind_name[g[i].kind]);
		if (outside[i].n != (size_t)-1) {
			fprintf(sh->out, ",\"from_outside\":");
			if (outside[i].n)
				write_eps_json(sh, g, &outside[i]);
			else
				fprintf(sh->out, "\"%s\"", verdict_name(outside[i].verdict));
		}
		fputc('}', sh->out);
	}
	fprintf(sh->out, "],\"endpoints\":");
	write_eps_json(sh, g, eps);
	if (!eps->n)
		fprintf(sh->out, ",\"verdict\":\"%s\"", verdict_name(eps->verdict));
	fputc('}', sh->out);
}

static void write_text(struct show *sh, const struct entry *g, size_t n, const struct eps *eps,
		       const struct eps *outside)
{
	bool stats = sh->flags & SVCC_SHOW_STATS;
	char name[256], hp[INET6_ADDRSTRLEN + 16];

	service_name(g, name, sizeof(name));
	for (size_t i = 0; i < n; i++) {
		hostport(&g[i], hp, sizeof(hp));
		if (i == 0)
			fprintf(sh->out, "%-4s %-30s %s%s%s\n", proto_name(g->proto), hp, name,
				g->kind == AK_VIP ? "" : " ", g->kind == AK_VIP ? "" : kind_name[g->kind]);
		else
			fprintf(sh->out, "     %-30s %s\n", hp, kind_name[g[i].kind]);
	}
	for (size_t i = 0; i < eps->n; i++) {
		const struct ep *e = &eps->v[i];

		ep_text(g->family, e, hp, sizeof(hp));
		fprintf(sh->out, "  -> %-30s %-6u %-10lu %lu", hp, e->weight, e->active, e->inactive);
		if (stats)
			fprintf(sh->out, " %-10" PRIu64 " %" PRIu64, e->packets, e->bytes);
		fputc('\n', sh->out);
	}
	if (!eps->n)
		fprintf(sh->out, "  -> %s\n", verdict_name(eps->verdict));
	for (size_t i = 0; i < n; i++) {
		if (outside[i].n == (size_t)-1)
			continue;
		hostport(&g[i], hp, sizeof(hp));
		fprintf(sh->out, "     from outside to %s:", hp);
		for (size_t k = 0; k < outside[i].n; k++) {
			char ep[INET6_ADDRSTRLEN + 16];

			ep_text(g->family, &outside[i].v[k], ep, sizeof(ep));
			fprintf(sh->out, " %s %.0f%%", ep, outside[i].v[k].share * 100);
		}
		if (!outside[i].n)
			fprintf(sh->out, " %s", verdict_name(outside[i].verdict));
		fputc('\n', sh->out);
	}
}

/* ---- the filter -------------------------------------------------------- */

struct filter {
	const char *name;	/* a service: "ns/name" or "name" */
	uint8_t family, proto;	/* proto 0: any */
	uint8_t addr[16];
	uint16_t port;
};

static int filter_parse(const char *text, struct filter *f)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *colon, *slash, *p = text;
	unsigned long port;
	char *end;

	memset(f, 0, sizeof(*f));
	if (!text)
		return 0;
	slash = strrchr(text, '/');
	colon = strrchr(text, ':');
	if (!colon || (slash && slash < colon)) {
		f->name = text;		/* no port: a service's name */
		return 0;
	}
	if (*p == '[') {
		const char *close = strchr(p, ']');

		if (!close || close + 1 != colon || (size_t)(close - p - 1) >= sizeof(host))
			return -1;
		snprintf(host, sizeof(host), "%.*s", (int)(close - p - 1), p + 1);
	} else {
		if ((size_t)(colon - p) >= sizeof(host))
			return -1;
		snprintf(host, sizeof(host), "%.*s", (int)(colon - p), p);
	}
	f->family = strchr(host, ':') ? AF_INET6 : AF_INET;
	if (inet_pton(f->family, host, f->addr) != 1)
		return -1;
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (errno || end == colon + 1 || port == 0 || port > 65535 || (*end && *end != '/'))
		return -1;
	f->port = (uint16_t)port;
	if (*end == '/') {
		if (!strcmp(end + 1, "tcp"))
			f->proto = IPPROTO_TCP;
		else if (!strcmp(end + 1, "udp"))
			f->proto = IPPROTO_UDP;
		else if (!strcmp(end + 1, "sctp"))
			f->proto = IPPROTO_SCTP;
		else
			return -1;
	}
	return 0;
}

static bool filter_match(const struct filter *f, const struct entry *g, size_t n)
{
	char name[256];

	if (f->name) {
		const char *slash;

		service_name(g, name, sizeof(name));
		slash = strchr(name, '/');
		return !strcmp(name, f->name) || (slash && !strcmp(slash + 1, f->name));
	}
	if (!f->port)
		return true;
	for (size_t i = 0; i < n; i++)
		if (g[i].family == f->family && g[i].port == f->port &&
		    (!f->proto || g[i].proto == f->proto) &&
		    (g[i].any || !memcmp(g[i].addr, f->addr, 16)))
			return true;
	return false;
}

/* ---- one service port --------------------------------------------------- */

static int show_group(struct show *sh, const struct entry *g, size_t n)
{
	struct eps eps = { 0 }, *outside = calloc(n, sizeof(*outside));
	struct count_ctx cc = { .eps = &eps };
	int ret = -1;

	if (!outside)
		return -1;
	if (trace_entry(sh, g, g->kind != AK_VIP, &eps))
		goto out;
	weights(&eps);
	/* what a client outside meets where it differs (a local policy, ranges) */
	for (size_t i = 0; i < n; i++) {
		if (trace_entry(sh, &g[i], true, &outside[i]))
			goto out;
		if (same_eps(&outside[i], &eps))
			outside[i].n = (size_t)-1;	/* nothing to say */
	}
	for (size_t i = 0; i < n; i++)
		show_conns_count(&sh->conns, g[i].family, g[i].proto, g[i].any ? NULL : g[i].addr,
				 g[i].port, count_one, &cc);
	if (cc.err)
		goto out;
	if (sh->flags & SVCC_SHOW_JSON)
		write_json(sh, g, n, &eps, outside);
	else
		write_text(sh, g, n, &eps, outside);
	sh->shown++;
	ret = 0;
out:
	for (size_t i = 0; i < n; i++)
		if (outside[i].n != (size_t)-1 || outside[i].v)
			free(outside[i].v);
	free(outside);
	free(eps.v);
	return ret;
}

int svcc_runtime_show(struct svcc_runtime *rt, const char *filter_text, unsigned flags, FILE *out)
{
	struct show sh = { .rt = rt, .flags = flags, .out = out };
	struct svcc_ruleset *srs = NULL;
	struct filter f;
	int ret = -1;

	if (filter_parse(filter_text, &f)) {
		diag_error(rt->ctx, LOC_NONE, "show: '%s' is neither a service nor ADDR:PORT[/PROTO]",
			   filter_text);
		errno = EINVAL;
		return -1;
	}
	if (svcc_runtime_read(rt, &srs, NULL))
		return -1;
	if (!srs) {
		diag_error(rt->ctx, LOC_NONE, "show: table inet %s does not exist", rt->table);
		errno = ENOENT;
		return -1;
	}
	sh.srs = srs;
	sh.rs = srs->rs;
	if (collect(&sh) || show_conns_read(&sh.conns)) {
		rt_report_errno(rt, "show", errno ? errno : ENOMEM);
		goto out;
	}
	if (sh.n > 1)
		qsort(sh.e, sh.n, sizeof(*sh.e), entry_cmp);
	if (flags & SVCC_SHOW_JSON)
		fprintf(out, "{\"table\":\"%s\",\"services\":[", rt->table);
	else
		fprintf(out, "Prot Address:Port%*sService\n  -> Endpoint:Port%*sWeight ActiveConn "
			"InActConn%s\n", 17, "", 16, "", flags & SVCC_SHOW_STATS ? " Packets    Bytes" : "");
	for (size_t i = 0, j; i < sh.n; i = j) {
		for (j = i + 1; j < sh.n && same_group(&sh.e[i], &sh.e[j]); j++)
			;
		if (filter_match(&f, &sh.e[i], j - i) && show_group(&sh, &sh.e[i], j - i)) {
			rt_report_errno(rt, "show", errno ? errno : ENOMEM);
			goto out;
		}
	}
	if (flags & SVCC_SHOW_JSON) {
		fprintf(out, "]");
		if (flags & SVCC_SHOW_STATS)
			fprintf(out, ",\"accounting\":%s", sh.conns.counted || !sh.conns.n ? "true" : "false");
		fprintf(out, "}\n");
	} else if ((flags & SVCC_SHOW_STATS) && sh.conns.n && !sh.conns.counted) {
		fprintf(out, "(no packet or byte counts: conntrack accounting is off; "
			"sysctl net.netfilter.nf_conntrack_acct=1 turns it on)\n");
	}
	ret = (filter_text && !sh.shown) ? 1 : 0;
out:
	show_conns_free(&sh.conns);
	free(sh.e);
	svcc_ruleset_free(srs);
	return ret;
}
