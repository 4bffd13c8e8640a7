/* SPDX-License-Identifier: MIT */
/* svcc_trace: the public face of trace_eval.c, and its text and JSON views. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "internal.h"
#include "trace.h"
#include "util.h"

struct svcc_trace {
	enum svcc_source from;
	char saddr[INET6_ADDRSTRLEN], daddr[INET6_ADDRSTRLEN];
	uint16_t dport;
	enum svcc_proto proto;
	struct svcc_trace_outcome *v;
	char (*addrs)[INET6_ADDRSTRLEN];
	size_t n;
	struct tr_outcome *raw;	/* owns the paths */
};

struct locals {
	uint8_t (*a)[16];
	size_t n, cap;
};

static int add_local(struct locals *l, const uint8_t *a, size_t len)
{
	if (VEC_RESERVE(l->a, l->n, l->cap))
		return -1;
	memset(l->a[l->n], 0, 16);
	memcpy(l->a[l->n++], a, len);
	return 0;
}

/* The node's addresses the ruleset names: its node-ips sets. */
static int ruleset_locals(const struct rs_ruleset *rs, enum rs_family fam, struct locals *l)
{
	const struct rs_set *s = rs_set_find(rs, fam == RS_IPV6 ? "node-ips6" : "node-ips");

	for (size_t i = 0; s && i < s->nelems; i++)
		if (add_local(l, rs_elem_at(s, i)->key, fam == RS_IPV6 ? 16 : 4))
			return -1;
	return 0;
}

/* The interface pods come in by, as the ruleset tells them ("" when it does not). */
static void pod_iif(const struct rs_ruleset *rs, char iif[17])
{
	for (size_t i = 0; i < rs->nchains; i++)
		for (size_t k = 0; k < rs->chains[i].nrules; k++) {
			const struct rs_rule *r = &rs->chains[i].rules[k];

			if (r->kind == RS_MARK_UNLESS_IIF || r->kind == RS_GOTO_IF_IIF) {
				memcpy(iif, r->addr, 16);
				iif[16] = 0;
				return;
			}
		}
	strcpy(iif, "pod0");
}

static int parse_addr(struct svcc_ctx *ctx, const char *what, const char *text, uint8_t *out,
		      enum rs_family *fam)
{
	if (text && inet_pton(AF_INET, text, out) == 1) {
		*fam = RS_IPV4;
		return 0;
	}
	if (text && inet_pton(AF_INET6, text, out) == 1) {
		*fam = RS_IPV6;
		return 0;
	}
	diag_error(ctx, LOC_NONE, "trace: invalid %s address '%s'", what, text ? text : "");
	errno = EINVAL;
	return -1;
}

static bool is_node_addr(const struct locals *l, const uint8_t *a)
{
	for (size_t i = 0; i < l->n; i++)
		if (!memcmp(l->a[i], a, 16))
			return true;
	return false;
}

/* The packet of flow f, the node's addresses in l, and where it comes from in *from. */
static int flow_pkt(struct svcc_ctx *ctx, const struct svcc_ruleset *rs,
		    const struct svcc_flow *f, struct tr_pkt *p, struct locals *l,
		    enum svcc_source *from)
{
	enum rs_family sfam;

	memset(p, 0, sizeof(*p));
	if (parse_addr(ctx, "source", f->saddr, p->saddr, &sfam) ||
	    parse_addr(ctx, "destination", f->daddr, p->daddr, &p->fam))
		return -1;
	if (sfam != p->fam) {
		diag_error(ctx, LOC_NONE, "trace: source %s and destination %s are of different families",
			   f->saddr, f->daddr);
		errno = EINVAL;
		return -1;
	}
	if (f->proto != SVCC_TCP && f->proto != SVCC_UDP && f->proto != SVCC_SCTP) {
		diag_error(ctx, LOC_NONE, "trace: protocol %d is not tcp, udp or sctp", (int)f->proto);
		errno = EINVAL;
		return -1;
	}
	if (f->from != SVCC_FROM_POD && f->from != SVCC_FROM_NODE && f->from != SVCC_FROM_OUTSIDE &&
	    f->from != SVCC_FROM_GUESS) {
		diag_error(ctx, LOC_NONE, "trace: unknown source kind %d", (int)f->from);
		errno = EINVAL;
		return -1;
	}
	if (f->iifname && strlen(f->iifname) > 15) {
		diag_error(ctx, LOC_NONE, "trace: interface name '%s' is longer than 15 bytes",
			   f->iifname);
		errno = EINVAL;
		return -1;
	}
	p->proto = (uint8_t)f->proto;
	p->dport = f->dport;
	for (size_t i = 0; i < f->n_node_addrs; i++) {
		uint8_t a[16];
		enum rs_family fam;

		if (parse_addr(ctx, "node", f->node_addrs[i], a, &fam))
			return -1;
		if (fam == p->fam && add_local(l, a, 16))
			return -1;
	}
	if (ruleset_locals(rs->rs, p->fam, l))
		return -1;
	*from = f->from;
	if (*from == SVCC_FROM_GUESS)
		*from = is_node_addr(l, p->saddr) ? SVCC_FROM_NODE
			: tr_addr_in_set(rs->rs, p->fam == RS_IPV6 ? "pod-cidrs6" : "pod-cidrs",
					 p->fam, p->saddr) ? SVCC_FROM_POD : SVCC_FROM_OUTSIDE;
	if (*from == SVCC_FROM_NODE)
		p->iif[0] = 0;	/* sent by the node: no input interface */
	else if (f->iifname)
		strcpy(p->iif, f->iifname);
	else if (*from == SVCC_FROM_POD)
		pod_iif(rs->rs, p->iif);
	else
		strcpy(p->iif, "eth0");
	if (*from == SVCC_FROM_NODE && add_local(l, p->saddr, 16))
		return -1;
	return 0;
}

int svcc_trace(struct svcc_ctx *ctx, const struct svcc_ruleset *rs, const struct svcc_flow *flow,
	       struct svcc_trace **out)
{
	struct locals l = { 0 };
	struct tr_env env = { .rs = rs->rs };
	struct svcc_trace *t = NULL;
	struct tr_pkt p;
	int af;

	if (flow_pkt(ctx, rs, flow, &p, &l, &env.from))
		goto fail;
	env.local = (const uint8_t(*)[16])l.a;
	env.nlocal = l.n;
	if (!(t = calloc(1, sizeof(*t))))
		goto nomem;
	if (tr_eval(&env, &p, &t->raw, &t->n)) {
		if (errno == ENOMEM)
			goto nomem;
		diag_error(ctx, LOC_NONE, "trace: the ruleset holds what the trace cannot follow: %s",
			   strerror(errno));
		goto fail;
	}
	t->v = calloc(t->n ? t->n : 1, sizeof(*t->v));
	t->addrs = calloc(t->n ? t->n : 1, sizeof(*t->addrs));
	if (!t->v || !t->addrs)
		goto nomem;
	af = p.fam == RS_IPV6 ? AF_INET6 : AF_INET;
	for (size_t i = 0; i < t->n; i++) {
		const struct tr_outcome *o = &t->raw[i];

		inet_ntop(af, o->pkt.daddr, t->addrs[i], sizeof(t->addrs[i]));
		t->v[i] = (struct svcc_trace_outcome){
			.verdict = o->verdict, .share = o->share, .addr = t->addrs[i],
			.port = o->pkt.dport, .masquerade = o->pkt.masq, .local = o->local,
			.path = o->path,
		};
	}
	t->from = env.from;
	inet_ntop(af, p.saddr, t->saddr, sizeof(t->saddr));
	inet_ntop(af, p.daddr, t->daddr, sizeof(t->daddr));
	t->dport = flow->dport;
	t->proto = flow->proto;
	free(l.a);
	*out = t;
	return 0;
nomem:
	diag_error(ctx, LOC_NONE, "out of memory");
	errno = ENOMEM;
fail:
	free(l.a);
	svcc_trace_free(t);
	return -1;
}

void svcc_trace_free(struct svcc_trace *t)
{
	if (!t)
		return;
	tr_outcomes_free(t->raw, t->n);
	free(t->v);
	free(t->addrs);
	free(t);
}

size_t svcc_trace_count(const struct svcc_trace *t)
{
	return t->n;
}

const struct svcc_trace_outcome *svcc_trace_get(const struct svcc_trace *t, size_t i)
{
	return i < t->n ? &t->v[i] : NULL;
}

/* ---- views ------------------------------------------------------------------- */

static const char *proto_name(enum svcc_proto p)
{
	return p == SVCC_UDP ? "udp" : p == SVCC_SCTP ? "sctp" : "tcp";
}

static const char *from_name(enum svcc_source s)
{
	return s == SVCC_FROM_NODE ? "node" : s == SVCC_FROM_OUTSIDE ? "outside" : "pod";
}

static const char *verdict_name(enum svcc_trace_verdict v)
{
	switch (v) {
	case SVCC_TRACE_DNAT:	     return "dnat";
	case SVCC_TRACE_ACCEPT:	     return "accept";
	case SVCC_TRACE_RESET:	     return "reset";
	case SVCC_TRACE_UNREACHABLE: return "unreachable";
	case SVCC_TRACE_DROP:	     return "drop";
	}
	return "?";
}

/* ADDR:PORT, IPv6 in brackets */
static void put_dest(const char *addr, unsigned port, FILE *out)
{
	fprintf(out, strchr(addr, ':') ? "[%s]:%u" : "%s:%u", addr, port);
}

/* "50%", "33.3%" */
static void put_share(double share, FILE *out)
{
	double pc = share * 100, whole = (double)(long)(pc + 0.5);

	if (pc - whole < 1e-6 && whole - pc < 1e-6)
		fprintf(out, "%.0f%%", pc);
	else
		fprintf(out, "%.1f%%", pc);
}

static void write_text(const struct svcc_trace *t, FILE *out)
{
	fprintf(out, "from %s %s to ", from_name(t->from), t->saddr);
	put_dest(t->daddr, t->dport, out);
	fprintf(out, "/%s:\n", proto_name(t->proto));
	for (size_t i = 0; i < t->n; i++) {
		const struct svcc_trace_outcome *o = &t->v[i];
		const char *p;

		fputs("  ", out);
		switch (o->verdict) {
		case SVCC_TRACE_DNAT:
			put_dest(o->addr, o->port, out);
			fputc(' ', out);
			put_share(o->share, out);
			break;
		case SVCC_TRACE_ACCEPT:
			fputs("left alone ", out);
			put_share(o->share, out);
			fputs(": to ", out);
			put_dest(o->addr, o->port, out);
			break;
		case SVCC_TRACE_RESET:
			fputs("rejected ", out);
			put_share(o->share, out);
			fputs(": tcp reset", out);
			break;
		case SVCC_TRACE_UNREACHABLE:
			fputs("rejected ", out);
			put_share(o->share, out);
			fputs(": icmp port unreachable", out);
			break;
		case SVCC_TRACE_DROP:
			fputs("dropped ", out);
			put_share(o->share, out);
			break;
		}
		if (o->verdict == SVCC_TRACE_DNAT || o->verdict == SVCC_TRACE_ACCEPT)
			fprintf(out, "%s%s", o->masquerade ? ", masqueraded" : "",
				o->local ? ", to the node itself" : "");
		fputc('\n', out);
		/* the path one hook a line */
		for (p = o->path; *p;) {
			size_t n = strcspn(p, ";");

			fprintf(out, "      %.*s\n", (int)n, p);
			p += n;
			p += strspn(p, "; ");
		}
	}
}

static void write_json(const struct svcc_trace *t, FILE *out)
{
	fprintf(out, "{\"from\": \"%s\", \"saddr\": \"%s\", \"daddr\": \"%s\", \"dport\": %u, "
		"\"proto\": \"%s\", \"outcomes\": [", from_name(t->from), t->saddr, t->daddr,
		t->dport, proto_name(t->proto));
	for (size_t i = 0; i < t->n; i++) {
		const struct svcc_trace_outcome *o = &t->v[i];

		fprintf(out, "%s\n  {\"verdict\": \"%s\", \"share\": %.6g, \"addr\": \"%s\", "
			"\"port\": %u, \"masquerade\": %s, \"local\": %s, \"path\": [",
			i ? "," : "", verdict_name(o->verdict), o->share, o->addr, o->port,
			o->masquerade ? "true" : "false", o->local ? "true" : "false");
		/* chain names are words of [a-z0-9/._-]: nothing to escape */
		for (const char *p = o->path; *p;) {
			size_t n = strcspn(p, ";");

			fprintf(out, "%s\"%.*s\"", p == o->path ? "" : ", ", (int)n, p);
			p += n;
			p += strspn(p, "; ");
		}
		fputs("]}", out);
	}
	fputs(t->n ? "\n]}\n" : "]}\n", out);
}

int svcc_trace_write(const struct svcc_trace *t, unsigned flags, FILE *out)
{
	if (flags & SVCC_TRACE_JSON)
		write_json(t, out);
	else
		write_text(t, out);
	return ferror(out) ? -1 : 0;
}
