/* SPDX-License-Identifier: MIT */
/* The ruleset model as nft text: one flat command per object. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "ruleset.h"

static const char *family_kw(enum rs_family f)
{
	return f == RS_IPV6 ? "ip6" : "ip";
}

static const char *nfproto(enum rs_family f)
{
	return f == RS_IPV6 ? "ipv6" : "ipv4";
}

static const char *ftype_name(enum rs_ftype t)
{
	switch (t) {
	case RS_F_IPV4:	 return "ipv4_addr";
	case RS_F_IPV6:	 return "ipv6_addr";
	case RS_F_PROTO: return "inet_proto";
	case RS_F_PORT:	 return "inet_service";
	case RS_F_U32:	 return "integer";
	case RS_F_MARK:	 return "mark";
	}
	return "?";
}

static const char *proto_name(uint8_t p)
{
	switch (p) {
	case IPPROTO_TCP:  return "tcp";
	case IPPROTO_UDP:  return "udp";
	case IPPROTO_SCTP: return "sctp";
	}
	return NULL;
}

const char *rs_hook_name(enum rs_hook h)
{
	switch (h) {
	case RS_HOOK_PREROUTING:  return "prerouting";
	case RS_HOOK_INPUT:	  return "input";
	case RS_HOOK_FORWARD:	  return "forward";
	case RS_HOOK_OUTPUT:	  return "output";
	case RS_HOOK_POSTROUTING: return "postrouting";
	case RS_HOOK_NONE:	  break;
	}
	return "?";
}

static int ok(FILE *out)
{
	return ferror(out) ? -1 : 0;
}

int rs_render_set_decl(const struct rs_ruleset *rs, const struct rs_set *set, FILE *out)
{
	bool map = set->verdict || set->ndata;

	fprintf(out, "add %s inet %s %s { ", map ? "map" : "set", rs->table, set->name);
	if (set->nkey == 1 && set->key[0] == RS_F_U32) {
		/* Keyed by what numgen yields: only typeof names it. */
		if (set->verdict)
			fputs("typeof numgen inc mod 2 : verdict; }\n", out);
		else
			fprintf(out, "typeof numgen inc mod 2 : %s daddr . %s dport; }\n",
				family_kw(set->family), proto_name(set->l4proto));
		return ok(out);
	}
	if (set->dynamic) {
		const char *ip = family_kw(set->family), *p = proto_name(set->l4proto);

		fprintf(out, "typeof %s saddr . %s daddr . %s dport : %s daddr . %s dport; "
			"size %u; flags dynamic,timeout; timeout %us; }\n",
			ip, ip, p, ip, p, set->size, set->timeout);
		return ok(out);
	}
	fputs("type ", out);
	for (int i = 0; i < set->nkey; i++)
		fprintf(out, "%s%s", i ? " . " : "", ftype_name(set->key[i]));
	if (set->verdict)
		fputs(" : verdict", out);
	for (int i = 0; i < set->ndata; i++)
		fprintf(out, "%s%s", i ? " . " : " : ", ftype_name(set->data[i]));
	fputs("; ", out);
	if (set->interval)
		fputs("flags interval; ", out);
	fputs("}\n", out);
	return ok(out);
}

void rs_chain_comment(const struct rs_chain *c, char buf[32])
{
	snprintf(buf, 32, "svcc:%016" PRIx64, c->fingerprint);
}

int rs_render_chain_decl(const struct rs_ruleset *rs, const struct rs_chain *c, FILE *out)
{
	char comment[32];

	rs_chain_comment(c, comment);
	fprintf(out, "add chain inet %s %s { ", rs->table, c->name);
	if (c->hook != RS_HOOK_NONE)
		fprintf(out, "type %s hook %s priority %d; policy accept; ",
			c->nat ? "nat" : "filter", rs_hook_name(c->hook), c->priority);
	fprintf(out, "comment \"%s\"; }\n", comment);
	return ok(out);
}

static void render_field(enum rs_ftype t, const uint8_t *p, FILE *out);

int rs_render_rule(const struct rs_rule *r, FILE *out)
{
	const char *ip = family_kw(r->family);

	switch (r->kind) {
	case RS_JUMP:
		fprintf(out, "jump %s", r->target);
		break;
	case RS_DISPATCH:
		fprintf(out, "%s daddr . meta l4proto . th dport vmap @%s", ip, r->set);
		break;
	case RS_MARK_UNLESS_SADDR_IN:
		fprintf(out, "%s saddr != @%s meta mark set meta mark | 0x%x", ip, r->set, r->mark);
		break;
	case RS_MARK_IF_SADDR_IN:
		fprintf(out, "%s saddr @%s meta mark set meta mark | 0x%x", ip, r->set, r->mark);
		break;
	case RS_MARK:
		fprintf(out, "meta mark set meta mark | 0x%x", r->mark);
		break;
	case RS_DNAT_NUMGEN:
		fprintf(out, "meta l4proto %s dnat %s to numgen inc mod %" PRIu32
			" offset %" PRIu32 " map @%s",
			proto_name(r->l4proto), ip, r->mod, r->offset, r->set);
		break;
	case RS_REJECT_TCP_IF_DEST_IN:
		fprintf(out, "%s daddr . meta l4proto . th dport @%s meta l4proto tcp reject with tcp reset",
			ip, r->set);
		break;
	case RS_REJECT_IF_DEST_IN:
		fprintf(out, "%s daddr . meta l4proto . th dport @%s reject", ip, r->set);
		break;
	case RS_MASQ_MARKED:
		fprintf(out, "meta mark & 0x%x == 0x%x meta mark set meta mark & 0x%x masquerade fully-random",
			r->mark, r->mark, ~r->mark);
		break;
	case RS_MASQ_HAIRPIN:
		fprintf(out, "ct status dnat %s saddr . %s daddr @%s masquerade", ip, ip, r->set);
		break;
	case RS_HAIRPIN_DISPATCH:
		fprintf(out, "ct status dnat %s daddr & %s vmap @%s", ip,
			r->family == RS_IPV6 ? "::ff" : "0.0.0.255", r->set);
		break;
	case RS_GOTO:
		fprintf(out, "goto %s", r->target);
		break;
	case RS_DROP:
		fputs("drop", out);
		break;
	case RS_REJECT_TCP_IF_DADDR_IN:
		fprintf(out, "%s daddr @%s meta l4proto tcp reject with tcp reset", ip, r->set);
		break;
	case RS_REJECT_IF_DADDR_IN:
		fprintf(out, "%s daddr @%s reject", ip, r->set);
		break;
	case RS_DROP_IF_DADDR_IN:
		fprintf(out, "%s daddr @%s drop", ip, r->set);
		break;
	case RS_MARK_UNLESS_IIF:
		fprintf(out, "iifname != \"%.16s%s\" meta mark set meta mark | 0x%x",
			(const char *)r->addr, r->mod ? "*" : "", r->mark);
		break;
	case RS_GOTO_IF_IIF:
		fprintf(out, "iifname \"%.16s%s\" goto %s", (const char *)r->addr,
			r->mod ? "*" : "", r->target);
		break;
	case RS_GOTO_IF_SADDR_IN:
		fprintf(out, "%s saddr @%s goto %s", ip, r->set, r->target);
		break;
	case RS_JUMP_IF_DADDR_IN:
		fprintf(out, "%s daddr @%s jump %s", ip, r->set, r->target);
		break;
	case RS_JUMP_IF_NEW_NO_DNAT:
		fprintf(out, "ct state new ct status ! dnat jump %s", r->target);
		break;
	case RS_AFFINITY_DNAT:
		fprintf(out, "meta l4proto %s dnat %s to %s saddr . %s daddr . %s dport map @%s",
			proto_name(r->l4proto), ip, ip, ip, proto_name(r->l4proto), r->set);
		break;
	case RS_NUMGEN_VMAP:
		fprintf(out, "numgen inc mod %" PRIu32 " offset %" PRIu32 " vmap @%s",
			r->mod, r->offset, r->set);
		break;
	case RS_AFFINITY_REFRESH:
	case RS_AFFINITY_UPDATE:
		fprintf(out, "meta l4proto %s ", proto_name(r->l4proto));
		if (r->kind == RS_AFFINITY_REFRESH)
			fprintf(out, "%s saddr . %s daddr . %s dport @%s ", ip, ip,
				proto_name(r->l4proto), r->set);
		fprintf(out, "update @%s { %s saddr . %s daddr . %s dport timeout %" PRIu32 "s : ",
			r->set, ip, ip, proto_name(r->l4proto), r->timeout);
		render_field(r->family == RS_IPV6 ? RS_F_IPV6 : RS_F_IPV4, r->addr, out);
		fprintf(out, " . %u }", r->port);
		break;
	case RS_DNAT_TO:
		fprintf(out, "meta l4proto %s dnat %s to ", proto_name(r->l4proto), ip);
		if (r->family == RS_IPV6)
			fputc('[', out);
		render_field(r->family == RS_IPV6 ? RS_F_IPV6 : RS_F_IPV4, r->addr, out);
		fprintf(out, "%s:%u", r->family == RS_IPV6 ? "]" : "", r->port);
		break;
	case RS_NODEPORT_DISPATCH:
		if (r->set)
			fprintf(out, "%s daddr @%s ", ip, r->set);
		else
			fprintf(out, "meta nfproto %s fib daddr type local ", nfproto(r->family));
		fprintf(out, "meta l4proto . th dport vmap @%s", r->set2);
		break;
	case RS_REJECT_TCP_IF_PORT_IN:
		fprintf(out, "meta nfproto %s meta l4proto . th dport @%s meta l4proto tcp reject with tcp reset",
			nfproto(r->family), r->set);
		break;
	case RS_REJECT_IF_PORT_IN:
		fprintf(out, "meta nfproto %s meta l4proto . th dport @%s reject", nfproto(r->family), r->set);
		break;
	case RS_FIREWALL:
		fprintf(out, "%s daddr . meta l4proto . th dport @%s %s daddr . meta l4proto . th dport . %s saddr != @%s drop",
			ip, r->set, ip, ip, r->set2);
		break;
	}
	return ok(out);
}

static void render_field(enum rs_ftype t, const uint8_t *p, FILE *out)
{
	char buf[INET6_ADDRSTRLEN];
	uint32_t u;
	uint16_t port;

	switch (t) {
	case RS_F_IPV4:
		fputs(inet_ntop(AF_INET, p, buf, sizeof(buf)), out);
		break;
	case RS_F_IPV6:
		fputs(inet_ntop(AF_INET6, p, buf, sizeof(buf)), out);
		break;
	case RS_F_PROTO:
		fputs(proto_name(p[0]) ? proto_name(p[0]) : "?", out);
		break;
	case RS_F_PORT:
		memcpy(&port, p, 2);
		fprintf(out, "%u", ntohs(port));
		break;
	case RS_F_U32:
		memcpy(&u, p, 4);
		fprintf(out, "%" PRIu32, u);
		break;
	case RS_F_MARK:
		memcpy(&u, p, 4);
		fprintf(out, "0x%08" PRIx32, u);
		break;
	}
}

int rs_render_elem(const struct rs_set *set, const struct rs_elem *e, FILE *out)
{
	size_t off = 0;

	for (int i = 0; i < set->nkey; i++) {
		if (i)
			fputs(" . ", out);
		render_field(set->key[i], e->key + off, out);
		off += rs_field_len(set->key[i]);
	}
	if (set->interval && e->prefix != 8 * rs_field_len(set->key[set->nkey - 1]))
		fprintf(out, "/%u", e->prefix);
	if (set->verdict)
		fprintf(out, " : goto %s", e->chain);
	off = 0;
	for (int i = 0; i < set->ndata; i++) {
		fputs(i ? " . " : " : ", out);
		render_field(set->data[i], rs_elem_data(set, e) + off, out);
		off += rs_field_len(set->data[i]);
	}
	return ok(out);
}

int rs_render_elems(const struct rs_ruleset *rs, const struct rs_set *set, const char *verb,
		    const struct rs_elem *const *elems, size_t n, FILE *out)
{
	if (!n)
		return 0;
	fprintf(out, "%s element inet %s %s {", verb, rs->table, set->name);
	for (size_t i = 0; i < n; i++) {
		fputs(i ? ",\n\t" : "\n\t", out);
		rs_render_elem(set, elems[i], out);
	}
	fputs("\n}\n", out);
	return ok(out);
}

static int render_all_elems(const struct rs_ruleset *rs, const struct rs_set *set, FILE *out)
{
	if (!set->nelems)
		return 0;
	fprintf(out, "add element inet %s %s {", rs->table, set->name);
	for (size_t i = 0; i < set->nelems; i++) {
		fputs(i ? ",\n\t" : "\n\t", out);
		rs_render_elem(set, rs_elem_at(set, i), out);
	}
	fputs("\n}\n", out);
	return ok(out);
}

static void render_rules(const struct rs_ruleset *rs, const struct rs_chain *c, FILE *out)
{
	for (size_t i = 0; i < c->nrules; i++) {
		fprintf(out, "add rule inet %s %s ", rs->table, c->name);
		rs_render_rule(&c->rules[i], out);
		fputc('\n', out);
	}
}

/*
 * The order is the kernel's cheapest (../shared/KERNEL-SCALING.md): empty
 * sets, chains, rules (rs_rule_order), elements, and the base chains last,
 * so that loop and binding validation walk the finished graph once.
 */
int rs_render(const struct rs_ruleset *rs, FILE *out)
{
	size_t *order, n;

	fprintf(out, "# generated by svcc; one transaction replacing table inet %s\n", rs->table);
	fprintf(out, "add table inet %s\ndelete table inet %s\nadd table inet %s\n",
		rs->table, rs->table, rs->table);
	for (size_t i = 0; i < rs->nsets; i++)
		rs_render_set_decl(rs, rs_set_to_create(rs, i), out);
	for (size_t i = 0; i < rs->nchains; i++)
		if (rs->chains[i].hook == RS_HOOK_NONE)
			rs_render_chain_decl(rs, &rs->chains[i], out);
	if (!(order = rs_rule_order(rs, NULL, NULL, &n)))
		return -1;
	for (size_t j = 0; j < n; j++)
		render_rules(rs, &rs->chains[order[j]], out);
	free(order);
	for (size_t i = 0; i < rs->nsets; i++)
		render_all_elems(rs, &rs->sets[i], out);
	for (size_t i = 0; i < rs->nchains; i++) {
		if (rs->chains[i].hook == RS_HOOK_NONE)
			continue;
		rs_render_chain_decl(rs, &rs->chains[i], out);
		render_rules(rs, &rs->chains[i], out);
	}
	return ok(out);
}
