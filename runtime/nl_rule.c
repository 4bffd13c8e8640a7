// SPDX-License-Identifier: MIT
/*
 * Rules to netlink expressions, register for register what nft 1.0.6 emits
 * for the same rule text (see `nft --debug=netlink`), so that the kernel
 * holds, and `nft list` prints, the same thing whichever path loaded it.
 */
#include <errno.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/nf_tables.h>

#include "nl.h"

#define ICMP_PORT_UNREACH	3
#define ICMPV6_PORT_UNREACH	4
#define RTN_LOCAL		2	/* fib daddr type local (linux/rtnetlink.h) */

/*
 * nft puts a field that starts on a 16-byte boundary in a 16-byte register
 * (NFT_REG_1..4), any other in a 32-bit one; the two views alias.
 */
uint32_t nl_reg(unsigned int w)
{
	return w % 4 ? NFT_REG32_00 + w : NFT_REG_1 + w / 4;
}

static struct nftnl_expr *add(struct nftnl_rule *r, const char *name)
{
	struct nftnl_expr *e = nftnl_expr_alloc(name);

	if (e)
		nftnl_rule_add_expr(r, e);
	return e;
}

static int meta_load(struct nftnl_rule *r, uint32_t key, uint32_t dreg)
{
	struct nftnl_expr *e = add(r, "meta");

	if (!e)
		return -1;
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, dreg);
	return 0;
}

static int meta_set(struct nftnl_rule *r, uint32_t key, uint32_t sreg)
{
	struct nftnl_expr *e = add(r, "meta");

	if (!e)
		return -1;
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_SREG, sreg);
	return 0;
}

static int cmp(struct nftnl_rule *r, uint32_t op, const void *data, uint32_t len)
{
	struct nftnl_expr *e = add(r, "cmp");

	if (!e)
		return -1;
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, op);
	nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, data, len);
	return 0;
}

static int cmp_u8(struct nftnl_rule *r, uint8_t v)
{
	return cmp(r, NFT_CMP_EQ, &v, 1);
}

static int payload(struct nftnl_rule *r, uint32_t base, uint32_t off, uint32_t len, uint32_t dreg)
{
	struct nftnl_expr *e = add(r, "payload");

	if (!e)
		return -1;
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, dreg);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, base);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, off);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, len);
	return 0;
}

/* reg1 = (reg1 & mask) ^ xor.  A flag test carries no operation attribute. */
static int bitwise(struct nftnl_rule *r, uint32_t mask, uint32_t xor, bool with_op)
{
	struct nftnl_expr *e = add(r, "bitwise");

	if (!e)
		return -1;
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, NFT_REG_1);
	if (with_op)
		nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_OP, NFT_BITWISE_BOOL);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, 4);
	nftnl_expr_set(e, NFTNL_EXPR_BITWISE_MASK, &mask, 4);
	nftnl_expr_set(e, NFTNL_EXPR_BITWISE_XOR, &xor, 4);
	return 0;
}

static int lookup(struct nftnl_rule *r, const struct tx *tx, const char *set,
		  int dreg, bool inv)
{
	struct nftnl_expr *e = add(r, "lookup");
	uint32_t id = tx_set_id(tx, set);

	if (!e || !set)
		return -1;
	nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SREG, NFT_REG_1);
	if (dreg >= 0)
		nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_DREG, (uint32_t)dreg);
	nftnl_expr_set_str(e, NFTNL_EXPR_LOOKUP_SET, set);
	if (id)
		nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SET_ID, id);
	if (inv)
		nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_FLAGS, NFT_LOOKUP_F_INV);
	return 0;
}

static int masq(struct nftnl_rule *r, uint32_t flags)
{
	struct nftnl_expr *e = add(r, "masq");

	if (!e)
		return -1;
	if (flags)
		nftnl_expr_set_u32(e, NFTNL_EXPR_MASQ_FLAGS, flags);
	return 0;
}

static int reject(struct nftnl_rule *r, uint32_t type, uint8_t code)
{
	struct nftnl_expr *e = add(r, "reject");

	if (!e)
		return -1;
	nftnl_expr_set_u32(e, NFTNL_EXPR_REJECT_TYPE, type);
	nftnl_expr_set_u8(e, NFTNL_EXPR_REJECT_CODE, code);
	return 0;
}

/* "ip" / "ip6": the nfproto test nft adds before an address match. */
static int nfproto(struct nftnl_rule *r, enum rs_family f)
{
	if (meta_load(r, NFT_META_NFPROTO, NFT_REG_1))
		return -1;
	return cmp_u8(r, f == RS_IPV6 ? NFPROTO_IPV6 : NFPROTO_IPV4);
}

static uint32_t addr_len(enum rs_family f)
{
	return f == RS_IPV6 ? 16 : 4;
}

static uint32_t saddr_off(enum rs_family f)
{
	return f == RS_IPV6 ? 8 : 12;
}

static uint32_t daddr_off(enum rs_family f)
{
	return f == RS_IPV6 ? 24 : 16;
}

/* ip daddr . meta l4proto . th dport, into consecutive registers from reg 1 */
static int dest_tuple(struct nftnl_rule *r, enum rs_family f)
{
	unsigned int w = addr_len(f) / 4;

	if (nfproto(r, f) ||
	    payload(r, NFT_PAYLOAD_NETWORK_HEADER, daddr_off(f), addr_len(f), NFT_REG_1) ||
	    meta_load(r, NFT_META_L4PROTO, nl_reg(w)))
		return -1;
	return payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, nl_reg(w + 1));
}

/* meta mark set meta mark | mark */
static int mark_or(struct nftnl_rule *r, uint32_t mark)
{
	if (meta_load(r, NFT_META_MARK, NFT_REG_1) || bitwise(r, ~mark, mark, true))
		return -1;
	return meta_set(r, NFT_META_MARK, NFT_REG_1);
}

/* jump CHAIN, goto CHAIN, or (chain NULL) drop */
static int immediate(struct nftnl_rule *r, int verdict, const char *chain)
{
	struct nftnl_expr *e = add(r, "immediate");

	if (!e || (verdict != NF_DROP && !chain))
		return -1;
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, (uint32_t)verdict);
	if (chain)
		nftnl_expr_set_str(e, NFTNL_EXPR_IMM_CHAIN, chain);
	return 0;
}

/* meta l4proto . th dport, into registers 1 and 9 */
static int port_tuple(struct nftnl_rule *r)
{
	if (meta_load(r, NFT_META_L4PROTO, NFT_REG_1))
		return -1;
	return payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, nl_reg(1));
}

/* fib daddr type local */
static int fib_daddr_local(struct nftnl_rule *r)
{
	struct nftnl_expr *e = add(r, "fib");
	uint32_t local = RTN_LOCAL;

	if (!e)
		return -1;
	nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_DREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_RESULT, NFT_FIB_RESULT_ADDRTYPE);
	nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_FLAGS, NFTA_FIB_F_DADDR);
	return cmp(r, NFT_CMP_EQ, &local, 4);
}

/* [ip daddr @SET | meta nfproto F fib daddr type local] meta l4proto . th dport vmap @SET2 */
static int nodeport_dispatch(struct nftnl_rule *r, const struct tx *tx, const struct rs_rule *rule)
{
	enum rs_family f = rule->family;

	if (nfproto(r, f))
		return -1;
	if (rule->set) {
		if (payload(r, NFT_PAYLOAD_NETWORK_HEADER, daddr_off(f), addr_len(f), NFT_REG_1) ||
		    lookup(r, tx, rule->set, -1, false))
			return -1;
	} else if (fib_daddr_local(r)) {
		return -1;
	}
	if (port_tuple(r))
		return -1;
	return lookup(r, tx, rule->set2, NFT_REG_VERDICT, false);
}

/*
 * ip daddr . meta l4proto . th dport @SET
 * ip daddr . meta l4proto . th dport . ip saddr != @SET2 drop
 * SET2 is a concatenated interval set: for those nft converts the protocol
 * byte with a byteorder expression (len 1, size 2) that a plain lookup has not.
 */
static int firewall(struct nftnl_rule *r, const struct tx *tx, const struct rs_rule *rule)
{
	enum rs_family f = rule->family;
	unsigned int w = addr_len(f) / 4;
	struct nftnl_expr *e;

	if (dest_tuple(r, f) || lookup(r, tx, rule->set, -1, false) ||
	    payload(r, NFT_PAYLOAD_NETWORK_HEADER, daddr_off(f), addr_len(f), NFT_REG_1) ||
	    meta_load(r, NFT_META_L4PROTO, nl_reg(w)) || !(e = add(r, "byteorder")))
		return -1;
	nftnl_expr_set_u32(e, NFTNL_EXPR_BYTEORDER_SREG, nl_reg(w));
	nftnl_expr_set_u32(e, NFTNL_EXPR_BYTEORDER_DREG, nl_reg(w));
	nftnl_expr_set_u32(e, NFTNL_EXPR_BYTEORDER_OP, NFT_BYTEORDER_HTON);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BYTEORDER_LEN, 1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BYTEORDER_SIZE, 2);
	if (payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, nl_reg(w + 1)) ||
	    payload(r, NFT_PAYLOAD_NETWORK_HEADER, saddr_off(f), addr_len(f), nl_reg(w + 2)) ||
	    lookup(r, tx, rule->set2, -1, true))
		return -1;
	return immediate(r, NF_DROP, NULL);
}

/* reject with icmp(v6) port-unreachable: what bare "reject" is after an ip/ip6 match */
static int reject_port_unreach(struct nftnl_rule *r, enum rs_family f)
{
	return reject(r, NFT_REJECT_ICMP_UNREACH,
		      f == RS_IPV6 ? ICMPV6_PORT_UNREACH : ICMP_PORT_UNREACH);
}

/* meta l4proto tcp reject with tcp reset */
static int reject_tcp_reset(struct nftnl_rule *r)
{
	if (meta_load(r, NFT_META_L4PROTO, NFT_REG_1) || cmp_u8(r, IPPROTO_TCP))
		return -1;
	return reject(r, NFT_REJECT_TCP_RST, 0);
}

/* meta l4proto PROTO */
static int l4proto_is(struct nftnl_rule *r, uint8_t l4proto)
{
	if (meta_load(r, NFT_META_L4PROTO, NFT_REG_1))
		return -1;
	return cmp_u8(r, l4proto);
}

/* numgen inc mod MOD offset OFFSET, into reg 1 */
static int numgen(struct nftnl_rule *r, const struct rs_rule *rule)
{
	struct nftnl_expr *e = add(r, "numgen");

	if (!e)
		return -1;
	nftnl_expr_set_u32(e, NFTNL_EXPR_NG_DREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_NG_MODULUS, rule->mod);
	nftnl_expr_set_u32(e, NFTNL_EXPR_NG_TYPE, NFT_NG_INCREMENTAL);
	nftnl_expr_set_u32(e, NFTNL_EXPR_NG_OFFSET, rule->offset);
	return 0;
}

/*
 * dnat to the address in reg 1 and the port in proto_reg.  nft says
 * "proto specified" (flags) only when the port is a constant.
 */
static int dnat(struct nftnl_rule *r, enum rs_family f, uint32_t proto_reg, uint32_t flags)
{
	struct nftnl_expr *e = add(r, "nat");

	if (!e)
		return -1;
	nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_TYPE, NFT_NAT_DNAT);
	nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_FAMILY, f == RS_IPV6 ? NFPROTO_IPV6 : NFPROTO_IPV4);
	nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_ADDR_MIN, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_PROTO_MIN, proto_reg);
	if (flags)
		nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_FLAGS, flags);
	return 0;
}

/* A constant into a data register. */
static int imm_data(struct nftnl_rule *r, uint32_t dreg, const void *data, uint32_t len)
{
	struct nftnl_expr *e = add(r, "immediate");

	if (!e)
		return -1;
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, dreg);
	nftnl_expr_set(e, NFTNL_EXPR_IMM_DATA, data, len);
	return 0;
}

/* ADDR and PORT (network order, unpadded) from 32-bit word w on. */
static int imm_endpoint(struct nftnl_rule *r, const struct rs_rule *rule, unsigned int w,
			uint32_t port_reg)
{
	uint16_t port = htons(rule->port);

	if (imm_data(r, nl_reg(w), rule->addr, addr_len(rule->family)))
		return -1;
	return imm_data(r, port_reg, &port, 2);
}

static int dnat_numgen(struct nftnl_rule *r, const struct tx *tx, const struct rs_rule *rule)
{
	if (l4proto_is(r, rule->l4proto) || numgen(r, rule) ||
	    lookup(r, tx, rule->set, NFT_REG_1, false))
		return -1;
	return dnat(r, rule->family, nl_reg(addr_len(rule->family) / 4), 0);
}

/* ip saddr . ip daddr . th dport, into consecutive registers from reg 1 */
static int client_dest_loads(struct nftnl_rule *r, enum rs_family f)
{
	unsigned int w = addr_len(f) / 4;

	if (payload(r, NFT_PAYLOAD_NETWORK_HEADER, saddr_off(f), addr_len(f), NFT_REG_1) ||
	    payload(r, NFT_PAYLOAD_NETWORK_HEADER, daddr_off(f), addr_len(f), nl_reg(w)))
		return -1;
	return payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, nl_reg(2 * w));
}

/* ... after the family test, as nft emits it the first time */
static int client_dest(struct nftnl_rule *r, enum rs_family f)
{
	return nfproto(r, f) || client_dest_loads(r, f) ? -1 : 0;
}

/*
 * meta l4proto P dnat ip to ip saddr . ip daddr . P dport map @SET: the
 * endpoint remembered for this client and destination, if any.  nft lists
 * it without the "meta l4proto P", but sends it.
 */
static int affinity_dnat(struct nftnl_rule *r, const struct tx *tx, const struct rs_rule *rule)
{
	if (l4proto_is(r, rule->l4proto) || client_dest(r, rule->family) ||
	    lookup(r, tx, rule->set, NFT_REG_1, false))
		return -1;
	return dnat(r, rule->family, nl_reg(addr_len(rule->family) / 4), 0);
}

/*
 * Where the data of "update @SET { key : data }" goes: nft puts it in the
 * first 16-byte register after the key.  For IPv6 (a 36-byte key, 20 bytes
 * of data) that would run past the last register, and nft 1.0.6 aborts on
 * the rule; the data then starts in the word right after the key, which the
 * kernel takes and nft lists as the same rule.
 */
static unsigned int update_data_word(enum rs_family f)
{
	unsigned int w = addr_len(f) / 4, key = 2 * w + 1, data = w + 1;
	unsigned int aligned = (key + 3) / 4 * 4;

	return aligned + data <= NFT_REG32_COUNT ? aligned : key;
}

/* update @SET { <key in reg 1..> timeout Ts : ADDR . PORT } */
static int update_elem(struct nftnl_rule *r, const struct tx *tx, const struct rs_rule *rule)
{
	unsigned int dw = update_data_word(rule->family);
	uint32_t id = tx_set_id(tx, rule->set);
	struct nftnl_expr *e;

	if (imm_endpoint(r, rule, dw, nl_reg(dw + addr_len(rule->family) / 4)) ||
	    !(e = add(r, "dynset")))
		return -1;
	nftnl_expr_set_u32(e, NFTNL_EXPR_DYNSET_SREG_KEY, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_DYNSET_SREG_DATA, nl_reg(dw));
	nftnl_expr_set_u32(e, NFTNL_EXPR_DYNSET_OP, NFT_DYNSET_OP_UPDATE);
	nftnl_expr_set_u64(e, NFTNL_EXPR_DYNSET_TIMEOUT, (uint64_t)rule->timeout * 1000);
	nftnl_expr_set_str(e, NFTNL_EXPR_DYNSET_SET_NAME, rule->set);
	if (id)
		nftnl_expr_set_u32(e, NFTNL_EXPR_DYNSET_SET_ID, id);
	return 0;
}

/*
 * meta l4proto P update @SET { ip saddr . ip daddr . P dport timeout Ts : ADDR . PORT }:
 * remember this client's endpoint, with the service's timeout.
 */
static int affinity_update(struct nftnl_rule *r, const struct tx *tx, const struct rs_rule *rule)
{
	if (!rule->set || l4proto_is(r, rule->l4proto) || client_dest(r, rule->family))
		return -1;
	return update_elem(r, tx, rule);
}

/*
 * meta l4proto P ip saddr . ip daddr . P dport @SET update @SET { ... }:
 * a remembered client's entry starts its timeout again.  The kernel's
 * update of an element that exists only refreshes it, keeping its data;
 * the lookup makes sure it exists, so ADDR . PORT (one of the group's
 * endpoints) is written only if the entry expires between the two.  The
 * key is loaded again after the lookup, as nft does.
 */
static int affinity_refresh(struct nftnl_rule *r, const struct tx *tx, const struct rs_rule *rule)
{
	enum rs_family f = rule->family;

	if (!rule->set || l4proto_is(r, rule->l4proto) || client_dest(r, f) ||
	    lookup(r, tx, rule->set, -1, false) || client_dest_loads(r, f))
		return -1;
	return update_elem(r, tx, rule);
}

/* meta l4proto P dnat ip to ADDR:PORT */
static int dnat_to(struct nftnl_rule *r, const struct rs_rule *rule)
{
	if (l4proto_is(r, rule->l4proto) || imm_endpoint(r, rule, 0, NFT_REG_2))
		return -1;
	return dnat(r, rule->family, NFT_REG_2, NF_NAT_RANGE_PROTO_SPECIFIED);
}

/* ct KEY & BITS != 0 ("ct status dnat", "ct state new"), or == 0 ("ct status ! dnat") */
static int ct_bits(struct nftnl_rule *r, uint32_t key, uint32_t bits, bool set)
{
	struct nftnl_expr *e = add(r, "ct");
	uint32_t zero = 0;

	if (!e)
		return -1;
	nftnl_expr_set_u32(e, NFTNL_EXPR_CT_KEY, key);
	nftnl_expr_set_u32(e, NFTNL_EXPR_CT_DREG, NFT_REG_1);
	if (bitwise(r, bits, 0, false))
		return -1;
	return cmp(r, set ? NFT_CMP_NEQ : NFT_CMP_EQ, &zero, 4);
}

static int ct_dnat(struct nftnl_rule *r)
{
	return ct_bits(r, NFT_CT_STATUS, IPS_DST_NAT, true);
}

/* ct status dnat ip daddr & 0.0.0.255 vmap @SET (ip6 daddr & ::ff) */
static int hairpin_dispatch(struct nftnl_rule *r, const struct tx *tx, const struct rs_rule *rule)
{
	enum rs_family f = rule->family;
	uint32_t len = addr_len(f);
	uint8_t mask[16] = { 0 }, zero[16] = { 0 };
	struct nftnl_expr *e;

	mask[len - 1] = 0xff;
	if (ct_dnat(r) || nfproto(r, f) ||
	    payload(r, NFT_PAYLOAD_NETWORK_HEADER, daddr_off(f), len, NFT_REG_1) ||
	    !(e = add(r, "bitwise")))
		return -1;
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_OP, NFT_BITWISE_BOOL);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, len);
	nftnl_expr_set(e, NFTNL_EXPR_BITWISE_MASK, mask, len);
	nftnl_expr_set(e, NFTNL_EXPR_BITWISE_XOR, zero, len);
	return lookup(r, tx, rule->set, NFT_REG_VERDICT, false);
}

/* ct status dnat ip saddr . ip daddr @SET masquerade */
static int masq_hairpin(struct nftnl_rule *r, const struct tx *tx, const struct rs_rule *rule)
{
	enum rs_family f = rule->family;

	if (ct_dnat(r) || nfproto(r, f) ||
	    payload(r, NFT_PAYLOAD_NETWORK_HEADER, saddr_off(f), addr_len(f), NFT_REG_1) ||
	    payload(r, NFT_PAYLOAD_NETWORK_HEADER, daddr_off(f), addr_len(f),
		    nl_reg(addr_len(f) / 4)) ||
	    lookup(r, tx, rule->set, -1, false))
		return -1;
	return masq(r, 0);
}

int nl_rule_exprs(struct nftnl_rule *r, const struct tx *tx, const struct rs_rule *rule)
{
	enum rs_family f = rule->family;
	uint32_t v;

	switch (rule->kind) {
	case RS_JUMP:
		return immediate(r, NFT_JUMP, rule->target);
	case RS_JUMP_IF_NEW_NO_DNAT:
		if (ct_bits(r, NFT_CT_STATE, NF_CT_STATE_BIT(IP_CT_NEW), true) ||
		    ct_bits(r, NFT_CT_STATUS, IPS_DST_NAT, false))
			return -1;
		return immediate(r, NFT_JUMP, rule->target);
	case RS_GOTO:
		return immediate(r, NFT_GOTO, rule->target);
	case RS_DROP:
		return immediate(r, NF_DROP, NULL);
	case RS_GOTO_IF_SADDR_IN:
	case RS_JUMP_IF_DADDR_IN:
		v = rule->kind == RS_GOTO_IF_SADDR_IN ? saddr_off(f) : daddr_off(f);
		if (nfproto(r, f) ||
		    payload(r, NFT_PAYLOAD_NETWORK_HEADER, v, addr_len(f), NFT_REG_1) ||
		    lookup(r, tx, rule->set, -1, false))
			return -1;
		return immediate(r, rule->kind == RS_GOTO_IF_SADDR_IN ? NFT_GOTO : NFT_JUMP,
				 rule->target);
	case RS_DISPATCH:
		if (dest_tuple(r, f))
			return -1;
		return lookup(r, tx, rule->set, NFT_REG_VERDICT, false);
	case RS_NODEPORT_DISPATCH:
		return nodeport_dispatch(r, tx, rule);
	case RS_MARK_UNLESS_SADDR_IN:
	case RS_MARK_IF_SADDR_IN:
		if (nfproto(r, f) ||
		    payload(r, NFT_PAYLOAD_NETWORK_HEADER, saddr_off(f), addr_len(f), NFT_REG_1) ||
		    lookup(r, tx, rule->set, -1, rule->kind == RS_MARK_UNLESS_SADDR_IN))
			return -1;
		return mark_or(r, rule->mark);
	case RS_MARK:
		return mark_or(r, rule->mark);
	case RS_DNAT_NUMGEN:
		return dnat_numgen(r, tx, rule);
	case RS_REJECT_TCP_IF_DEST_IN:
		if (dest_tuple(r, f) || lookup(r, tx, rule->set, -1, false))
			return -1;
		return reject_tcp_reset(r);
	case RS_REJECT_IF_DEST_IN:
		if (dest_tuple(r, f) || lookup(r, tx, rule->set, -1, false))
			return -1;
		return reject_port_unreach(r, f);
	case RS_REJECT_TCP_IF_DADDR_IN:
	case RS_REJECT_IF_DADDR_IN:
	case RS_DROP_IF_DADDR_IN:
		if (nfproto(r, f) ||
		    payload(r, NFT_PAYLOAD_NETWORK_HEADER, daddr_off(f), addr_len(f), NFT_REG_1) ||
		    lookup(r, tx, rule->set, -1, false))
			return -1;
		if (rule->kind == RS_REJECT_TCP_IF_DADDR_IN)
			return reject_tcp_reset(r);
		if (rule->kind == RS_REJECT_IF_DADDR_IN)
			return reject_port_unreach(r, f);
		return immediate(r, NF_DROP, NULL);
	case RS_MARK_UNLESS_IIF:
	case RS_GOTO_IF_IIF:
		/* the whole name NUL-padded to 16 bytes, or a prefix's bytes alone */
		v = rule->mod ? (uint32_t)strnlen((const char *)rule->addr, 16) : 16;
		if (meta_load(r, NFT_META_IIFNAME, NFT_REG_1) ||
		    cmp(r, rule->kind == RS_GOTO_IF_IIF ? NFT_CMP_EQ : NFT_CMP_NEQ, rule->addr, v))
			return -1;
		if (rule->kind == RS_GOTO_IF_IIF)
			return immediate(r, NFT_GOTO, rule->target);
		return mark_or(r, rule->mark);
	case RS_REJECT_TCP_IF_PORT_IN:
		if (nfproto(r, f) || port_tuple(r) || lookup(r, tx, rule->set, -1, false))
			return -1;
		return reject_tcp_reset(r);
	case RS_REJECT_IF_PORT_IN:
		if (nfproto(r, f) || port_tuple(r) || lookup(r, tx, rule->set, -1, false))
			return -1;
		return reject_port_unreach(r, f);
	case RS_FIREWALL:
		return firewall(r, tx, rule);
	case RS_MASQ_MARKED:
		v = rule->mark;
		if (meta_load(r, NFT_META_MARK, NFT_REG_1) || bitwise(r, v, 0, true) ||
		    cmp(r, NFT_CMP_EQ, &v, 4) ||
		    meta_load(r, NFT_META_MARK, NFT_REG_1) || bitwise(r, ~v, 0, true) ||
		    meta_set(r, NFT_META_MARK, NFT_REG_1))
			return -1;
		return masq(r, NF_NAT_RANGE_PROTO_RANDOM_FULLY);
	case RS_MASQ_HAIRPIN:
		return masq_hairpin(r, tx, rule);
	case RS_HAIRPIN_DISPATCH:
		return hairpin_dispatch(r, tx, rule);
	case RS_AFFINITY_DNAT:
		return affinity_dnat(r, tx, rule);
	case RS_NUMGEN_VMAP:
		if (numgen(r, rule))
			return -1;
		return lookup(r, tx, rule->set, NFT_REG_VERDICT, false);
	case RS_AFFINITY_UPDATE:
		return affinity_update(r, tx, rule);
	case RS_AFFINITY_REFRESH:
		return affinity_refresh(r, tx, rule);
	case RS_DNAT_TO:
		return dnat_to(r, rule);
	}
	errno = EOPNOTSUPP;	/* a kind this runtime does not know */
	return -1;
}
