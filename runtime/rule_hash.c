// SPDX-License-Identifier: MIT
/*
 * Rules compared without a model of them.  The chain comment's fingerprint
 * says what svcc wrote, not what the chain holds now: a rule inserted with
 * `nft insert rule`, or a `nft flush chain`, leaves the comment as it was.
 * So, when the read-back cannot prove that nobody changed the table, the
 * kernel's rules are read (one dump for the table) and hashed per chain,
 * and the desired chain's rules are built into the very netlink messages
 * the batch would send and hashed the same way.  A chain whose hashes
 * differ gets fingerprint 0: the diff rewrites it.
 *
 * The hash is of the expressions as netlink attributes, one expression
 * after another, each one's attributes in any order (the kernel dumps some
 * in its own), with what the kernel fills in itself taken out (normalise).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include <libmnl/libmnl.h>
#include <libnftnl/rule.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include "nl.h"
#include "util.h"

#define RULES_SEED	0x5356434352554c45ull	/* a chain read with no rule */

static uint64_t mix(uint64_t h, uint64_t v)
{
	h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
	return h * FNV64_PRIME;
}

/*
 * Does this payload hold nested attributes, exactly?  Both sides answer
 * alike for the same bytes, so a value taken for a nest by chance costs
 * nothing; a real nest is hashed attribute by attribute, without the flag
 * bits the kernel sets in nest headers and libnftnl does not, and without
 * the alignment padding.
 */
static bool is_nest(const uint8_t *p, size_t len)
{
	size_t off = 0;

	if (len < sizeof(struct nlattr))
		return false;
	while (off + sizeof(struct nlattr) <= len) {
		const struct nlattr *a = (const struct nlattr *)(p + off);

		if (a->nla_len < sizeof(struct nlattr) || off + a->nla_len > len)
			return false;
		off += MNL_ALIGN(a->nla_len);
	}
	return off == len || off == MNL_ALIGN(len);
}

static uint64_t value_hash(const uint8_t *p, size_t len, int depth)
{
	uint64_t h = 0x6e657374;

	if (depth > 4 || !is_nest(p, len))
		return hash64(p, len);
	for (size_t off = 0; off + sizeof(struct nlattr) <= len;) {
		const struct nlattr *a = (const struct nlattr *)(p + off);

		h = mix(h, mix(a->nla_type & NLA_TYPE_MASK,
			       value_hash(p + off + sizeof(*a), a->nla_len - sizeof(*a), depth + 1)));
		off += MNL_ALIGN(a->nla_len);
	}
	return h;
}

#define EXPR_ATTRS	16	/* more than any expression svcc uses has */

static uint32_t u32_of(const struct nlattr *a)
{
	return a && mnl_attr_get_payload_len(a) == 4 ? ntohl(mnl_attr_get_u32(a)) : 0;
}

/*
 * What the kernel fills in, or leaves out, when it dumps an expression:
 * taken out of both sides, so that only what was asked for is compared.
 * A lookup's or dynset's flags 0; a bitwise's operation when it is the mask-and-xor
 * one; a TCP reset's ICMP code; a nat's range ends, which default to the
 * starts, and the flags the registers given imply.
 */
static void normalise(const char *name, const struct nlattr **at, uint32_t *extra)
{
	if (!strcmp(name, "lookup") && at[NFTA_LOOKUP_FLAGS] && !u32_of(at[NFTA_LOOKUP_FLAGS])) {
		at[NFTA_LOOKUP_FLAGS] = NULL;
	} else if (!strcmp(name, "dynset") && at[NFTA_DYNSET_FLAGS] &&
		   !u32_of(at[NFTA_DYNSET_FLAGS])) {
		at[NFTA_DYNSET_FLAGS] = NULL;
	} else if (!strcmp(name, "bitwise") && at[NFTA_BITWISE_OP] &&
		   u32_of(at[NFTA_BITWISE_OP]) == NFT_BITWISE_BOOL) {
		at[NFTA_BITWISE_OP] = NULL;
	} else if (!strcmp(name, "reject") && u32_of(at[NFTA_REJECT_TYPE]) == NFT_REJECT_TCP_RST) {
		at[NFTA_REJECT_ICMP_CODE] = NULL;
	} else if (!strcmp(name, "nat")) {
		uint32_t flags = u32_of(at[NFTA_NAT_FLAGS]);

		if (at[NFTA_NAT_REG_ADDR_MIN])
			flags |= NF_NAT_RANGE_MAP_IPS;
		if (at[NFTA_NAT_REG_PROTO_MIN])
			flags |= NF_NAT_RANGE_PROTO_SPECIFIED;
		if (at[NFTA_NAT_REG_ADDR_MAX] &&
		    u32_of(at[NFTA_NAT_REG_ADDR_MAX]) == u32_of(at[NFTA_NAT_REG_ADDR_MIN]))
			at[NFTA_NAT_REG_ADDR_MAX] = NULL;
		if (at[NFTA_NAT_REG_PROTO_MAX] &&
		    u32_of(at[NFTA_NAT_REG_PROTO_MAX]) == u32_of(at[NFTA_NAT_REG_PROTO_MIN]))
			at[NFTA_NAT_REG_PROTO_MAX] = NULL;
		at[NFTA_NAT_FLAGS] = NULL;
		*extra = flags;
	}
}

static uint64_t expr_hash(const struct nlattr *elem)
{
	const struct nlattr *a, *name = NULL, *data = NULL, *at[EXPR_ATTRS] = { 0 };
	const char *n;
	uint32_t extra = 0;
	uint64_t h, sum = 0;

	mnl_attr_for_each_nested(a, elem) {
		if (mnl_attr_get_type(a) == NFTA_EXPR_NAME)
			name = a;
		else if (mnl_attr_get_type(a) == NFTA_EXPR_DATA)
			data = a;
	}
	if (!name)
		return 1;
	n = mnl_attr_get_payload_len(name) ? mnl_attr_get_str(name) : "";
	h = hash64(n, strlen(n));
	if (data) {
		mnl_attr_for_each_nested(a, data) {
			uint16_t t = mnl_attr_get_type(a);

			if (t < EXPR_ATTRS)
				at[t] = a;
			else	/* none svcc makes: compared as it is */
				sum += mix(t, value_hash(mnl_attr_get_payload(a),
							 mnl_attr_get_payload_len(a), 0));
		}
	}
	normalise(n, at, &extra);
	/* a sum: the order of an expression's attributes is the dumper's */
	for (uint16_t t = 0; t < EXPR_ATTRS; t++)
		if (at[t])
			sum += mix(t, value_hash(mnl_attr_get_payload(at[t]),
						 mnl_attr_get_payload_len(at[t]), 0));
	return mix(mix(h, sum), extra);
}

/* One rule's expressions and user data. */
static uint64_t rule_hash(const struct nlattr *exprs, const struct nlattr *udata)
{
	const struct nlattr *e;
	uint64_t h = FNV64_OFFSET;

	if (exprs)
		mnl_attr_for_each_nested(e, exprs)
			h = mix(h, expr_hash(e));
	if (udata)
		h = mix(h, hash64(mnl_attr_get_payload(udata), mnl_attr_get_payload_len(udata)));
	return h;
}

uint64_t nl_rule_msg_hash(const struct nlmsghdr *nlh)
{
	const struct nlattr *a, *exprs = NULL, *udata = NULL;

	mnl_attr_for_each(a, nlh, sizeof(struct nfgenmsg)) {
		if (mnl_attr_get_type(a) == NFTA_RULE_EXPRESSIONS)
			exprs = a;
		else if (mnl_attr_get_type(a) == NFTA_RULE_USERDATA)
			udata = a;
	}
	return rule_hash(exprs, udata);
}

uint64_t nl_rules_begin(void)
{
	return RULES_SEED;
}

uint64_t nl_rules_more(uint64_t chain, uint64_t rule)
{
	return mix(chain, rule);
}

int nl_rule_hash(const struct tx *tx, const struct rs_rule *rule, void *buf, uint64_t *out)
{
	struct nftnl_rule *r = nftnl_rule_alloc();
	struct nlmsghdr *nlh;

	errno = ENOMEM;
	if (!r || nl_rule_exprs(r, tx, rule)) {
		nftnl_rule_free(r);
		return -1;
	}
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_NEWRULE, NFPROTO_INET, 0, 0);
	nftnl_rule_nlmsg_build_payload(nlh, r);
	nftnl_rule_free(r);
	*out = nl_rule_msg_hash(nlh);
	return 0;
}
