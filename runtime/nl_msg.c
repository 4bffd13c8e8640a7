// SPDX-License-Identifier: MIT
/*
 * nf_tables messages for the operations of a transaction: tables, sets with
 * the user data nft reads back to print them, chains, rules, elements.
 *
 * The user data follows what nft 1.0.6 writes (its set key/data byte order
 * and "typeof" expressions), learnt from `nft --debug=mnl`: without it `nft
 * list` would print a set loaded through netlink differently.
 */
#include <arpa/inet.h>
#include <string.h>

#include <libmnl/libmnl.h>
#include <libnftnl/common.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

#include "nl.h"

/* nft's datatype ids (datatype.h) and expression types (expression.h). */
enum { DT_INTEGER = 4, DT_IPADDR = 7, DT_IP6ADDR = 8, DT_INET_PROTO = 12,
       DT_INET_SERVICE = 13, DT_MARK = 19, DT_BITS = 6 };
enum { EXPR_VERDICT = 1, EXPR_PAYLOAD = 7, EXPR_CONCAT = 13, EXPR_NUMGEN = 23 };
/* nft's protocol descriptions and header fields (proto.h). */
enum { DESC_UDP = 6, DESC_TCP = 8, DESC_SCTP = 10, DESC_IP = 12, DESC_IP6 = 13 };
enum { IP_SADDR = 11, IP_DADDR = 12, IP6_SADDR = 8, IP6_DADDR = 9, TH_DPORT = 2 };
/* byte orders in set user data */
enum { BO_INVALID = 0, BO_HOST = 1, BO_BIG = 2 };
/* set user data attributes (libnftnl udata.h) */
enum { UD_KEYBYTEORDER = 0, UD_DATABYTEORDER = 1, UD_KEY_TYPEOF = 3,
       UD_DATA_TYPEOF = 4, UD_DATA_INTERVAL = 6 };
#define UD_ELEM_FLAGS		1
#define UD_ELEM_INTERVAL_OPEN	1
#define UD_CHAIN_COMMENT	0
/* The mod the endpoint maps are declared with (render.c: "typeof numgen inc mod 2"). */
#define TYPEOF_NUMGEN_MOD	2

/* nftnl_udata is type, length, value: built by hand into a small buffer. */
struct ud {
	uint8_t b[256];
	size_t n;
};

static void ud_put(struct ud *u, uint8_t type, const void *v, uint8_t len)
{
	u->b[u->n++] = type;
	u->b[u->n++] = len;
	memcpy(u->b + u->n, v, len);
	u->n += len;
}

static void ud_u32(struct ud *u, uint8_t type, uint32_t v)
{
	ud_put(u, type, &v, 4);	/* host order, as nftnl_udata_put_u32 */
}

static size_t ud_nest(struct ud *u, uint8_t type)
{
	u->b[u->n++] = type;
	u->b[u->n++] = 0;
	return u->n;
}

static void ud_end(struct ud *u, size_t at)
{
	u->b[at - 1] = (uint8_t)(u->n - at);
}

static uint32_t dtype(enum rs_ftype t)
{
	switch (t) {
	case RS_F_IPV4:	 return DT_IPADDR;
	case RS_F_IPV6:	 return DT_IP6ADDR;
	case RS_F_PROTO: return DT_INET_PROTO;
	case RS_F_PORT:	 return DT_INET_SERVICE;
	case RS_F_U32:	 return DT_INTEGER;
	case RS_F_MARK:	 return DT_MARK;
	}
	return 0;
}

/* nft's concatenated type id: each field 6 bits, the first one highest. */
static uint32_t concat_type(const enum rs_ftype *f, int n)
{
	uint32_t id = 0;

	for (int i = 0; i < n; i++)
		id = id << DT_BITS | dtype(f[i]);
	return id;
}

/* A field's length as nft describes it: the value, not its register padding. */
static uint8_t field_size(enum rs_ftype t)
{
	switch (t) {
	case RS_F_IPV6:	 return 16;
	case RS_F_PROTO: return 1;
	case RS_F_PORT:	 return 2;
	case RS_F_IPV4:
	case RS_F_U32:
	case RS_F_MARK:	 break;
	}
	return 4;
}

/* "type a . b . c; flags interval": ranges of concatenations (pipapo) */
static bool is_concat_range(const struct rs_set *s)
{
	return s->interval && s->nkey > 1;
}

static bool host_order(enum rs_ftype t)
{
	return t == RS_F_U32 || t == RS_F_MARK;
}

static bool is_typeof(const struct rs_set *s)
{
	return s->nkey == 1 && s->key[0] == RS_F_U32;
}

/* The payload fields a typeof names: "ip saddr", "ip6 daddr", "tcp dport"... */
enum ud_field { UD_SADDR, UD_DADDR, UD_DPORT };

/* One typeof payload expression: nft's protocol description and field. */
static void ud_payload(struct ud *u, uint8_t type, enum ud_field f, bool ip6, uint8_t l4proto)
{
	size_t sub = ud_nest(u, type), d;
	uint32_t desc, field;

	if (f == UD_DPORT) {
		desc = l4proto == IPPROTO_UDP ? DESC_UDP : l4proto == IPPROTO_SCTP ? DESC_SCTP : DESC_TCP;
		field = TH_DPORT;	/* dport is field 2 of each */
	} else if (ip6) {
		desc = DESC_IP6;
		field = f == UD_SADDR ? IP6_SADDR : IP6_DADDR;
	} else {
		desc = DESC_IP;
		field = f == UD_SADDR ? IP_SADDR : IP_DADDR;
	}
	ud_u32(u, 0, EXPR_PAYLOAD);
	d = ud_nest(u, 1);
	ud_u32(u, 0, desc);
	ud_u32(u, 1, field);
	ud_end(u, d);
	ud_end(u, sub);
}

/*
 * "typeof a . b . c" as attribute @type: a concatenation of payload fields.
 * The address fields are ip6 ones if the set's first data field (else key
 * field) is an IPv6 address.
 */
static void ud_concat(struct ud *u, uint8_t type, const enum ud_field *f, int n,
		      const struct rs_set *s)
{
	bool ip6 = (s->ndata ? s->data[0] : s->key[0]) == RS_F_IPV6;
	size_t at = ud_nest(u, type), in;

	ud_u32(u, 0, EXPR_CONCAT);
	in = ud_nest(u, 1);
	for (int i = 0; i < n; i++)
		ud_payload(u, (uint8_t)i, f[i], ip6, s->l4proto);
	ud_end(u, in);
	ud_end(u, at);
}

/* "typeof numgen inc mod 2": the key of the endpoint and affinity-endpoints maps */
static void ud_numgen(struct ud *u)
{
	size_t at = ud_nest(u, UD_KEY_TYPEOF), in;

	ud_u32(u, 0, EXPR_NUMGEN);
	in = ud_nest(u, 1);
	ud_u32(u, 0, 0);			/* NFT_NG_INCREMENTAL */
	ud_u32(u, 1, TYPEOF_NUMGEN_MOD);
	ud_u32(u, 2, 0);			/* offset */
	ud_end(u, in);
	ud_end(u, at);
}

/* ": verdict" after a typeof key: a verdict expression with no attributes */
static void ud_verdict(struct ud *u)
{
	size_t at = ud_nest(u, UD_DATA_TYPEOF);

	ud_u32(u, 0, EXPR_VERDICT);
	ud_end(u, ud_nest(u, 1));
	ud_end(u, at);
}

static const enum ud_field client_dest[] = { UD_SADDR, UD_DADDR, UD_DPORT };
static const enum ud_field dest[] = { UD_DADDR, UD_DPORT };

static int set_udata(const struct rs_set *s, struct ud *u)
{
	bool map = s->verdict || s->ndata;

	u->n = 0;
	ud_u32(u, UD_KEYBYTEORDER, s->nkey > 1 ? BO_INVALID : host_order(s->key[0]) ? BO_HOST : BO_BIG);
	if (map)
		ud_u32(u, UD_DATABYTEORDER, s->verdict || s->ndata > 1 ? BO_INVALID :
		       host_order(s->data[0]) ? BO_HOST : BO_BIG);
	if (is_typeof(s)) {
		ud_numgen(u);
		if (s->verdict)
			ud_verdict(u);
		else if (s->ndata == 2)
			ud_concat(u, UD_DATA_TYPEOF, dest, 2, s);
		else if (s->ndata)
			return -1;
	} else if (s->dynamic) {
		/* typeof ip saddr . ip daddr . tcp dport : ip daddr . tcp dport */
		if (s->nkey != 3 || s->ndata != 2)
			return -1;
		ud_concat(u, UD_KEY_TYPEOF, client_dest, 3, s);
		ud_concat(u, UD_DATA_TYPEOF, dest, 2, s);
	} else {
		/* a "type a . b" key or data: a concatenation with no expressions */
		if (s->nkey > 1)
			ud_concat(u, UD_KEY_TYPEOF, NULL, 0, s);
		if (s->ndata > 1)
			ud_concat(u, UD_DATA_TYPEOF, NULL, 0, s);
	}
	if (map)
		ud_u32(u, UD_DATA_INTERVAL, 0);
	return 0;
}

static struct nlmsghdr *hdr(void *buf, uint16_t type, uint16_t flags, uint32_t seq)
{
	return nftnl_nlmsg_build_hdr(buf, type, NFPROTO_INET, flags, seq);
}

static size_t msg_table(void *buf, const struct tx *tx, const struct tx_op *op, uint32_t seq)
{
	struct nftnl_table *t = nftnl_table_alloc();
	struct nlmsghdr *nlh;

	if (!t)
		return 0;
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, tx->table);
	if (op->kind == TX_ADD_TABLE) {
		nftnl_table_set_u32(t, NFTNL_TABLE_FLAGS, tx->table_flags);
		nlh = hdr(buf, NFT_MSG_NEWTABLE, NLM_F_CREATE | (tx->table_new ? NLM_F_EXCL : 0), seq);
	} else {
		nlh = hdr(buf, NFT_MSG_DELTABLE, 0, seq);
	}
	nftnl_table_nlmsg_build_payload(nlh, t);
	nftnl_table_free(t);
	return nlh->nlmsg_len;
}

static size_t msg_set(void *buf, const struct tx *tx, const struct tx_op *op, uint32_t seq)
{
	const struct rs_set *s = op->set;
	struct nftnl_set *ns = nftnl_set_alloc();
	struct nlmsghdr *nlh;
	struct ud u;
	size_t len = 0;

	if (!ns)
		return 0;
	nftnl_set_set_str(ns, NFTNL_SET_TABLE, tx->table);
	nftnl_set_set_str(ns, NFTNL_SET_NAME, s->name);
	if (op->kind == TX_DEL_SET) {
		nlh = hdr(buf, NFT_MSG_DELSET, 0, seq);
		goto build;
	}
	nftnl_set_set_u32(ns, NFTNL_SET_FLAGS, (s->interval ? NFT_SET_INTERVAL : 0) |
			  (s->verdict || s->ndata ? NFT_SET_MAP : 0) |
			  (is_concat_range(s) ? NFT_SET_CONCAT : 0) |
			  (s->dynamic ? NFT_SET_TIMEOUT | NFT_SET_EVAL : 0));
	nftnl_set_set_u32(ns, NFTNL_SET_KEY_TYPE, concat_type(s->key, s->nkey));
	nftnl_set_set_u32(ns, NFTNL_SET_KEY_LEN, s->key_len);
	if (s->verdict) {
		nftnl_set_set_u32(ns, NFTNL_SET_DATA_TYPE, NFT_DATA_VERDICT);
		nftnl_set_set_u32(ns, NFTNL_SET_DATA_LEN, 0);
	} else if (s->ndata) {
		nftnl_set_set_u32(ns, NFTNL_SET_DATA_TYPE, concat_type(s->data, s->ndata));
		nftnl_set_set_u32(ns, NFTNL_SET_DATA_LEN, s->data_len);
	}
	nftnl_set_set_u32(ns, NFTNL_SET_ID, op->set_id);
	if (is_concat_range(s)) {
		/* the pipapo backend needs each field's length, unpadded */
		uint8_t flen[RS_MAX_FIELDS + 1] = { 0 };

		for (int i = 0; i < s->nkey; i++)
			flen[i] = field_size(s->key[i]);
		nftnl_set_set_data(ns, NFTNL_SET_DESC_CONCAT, flen, s->nkey);
	}
	if (s->dynamic) {
		/* "size N; flags dynamic,timeout; timeout Ts" (libnftnl: ms) */
		nftnl_set_set_u32(ns, NFTNL_SET_DESC_SIZE, s->size);
		nftnl_set_set_u64(ns, NFTNL_SET_TIMEOUT, (uint64_t)s->timeout * 1000);
	}
	if (set_udata(s, &u))
		goto out;
	nftnl_set_set_data(ns, NFTNL_SET_USERDATA, u.b, (uint32_t)u.n);
	nlh = hdr(buf, NFT_MSG_NEWSET, NLM_F_CREATE, seq);
build:
	nftnl_set_nlmsg_build_payload(nlh, ns);
	len = nlh->nlmsg_len;
out:
	nftnl_set_free(ns);
	return len;
}

static const uint32_t hooknum[] = {
	[RS_HOOK_PREROUTING] = NF_INET_PRE_ROUTING, [RS_HOOK_INPUT] = NF_INET_LOCAL_IN,
	[RS_HOOK_FORWARD] = NF_INET_FORWARD, [RS_HOOK_OUTPUT] = NF_INET_LOCAL_OUT,
	[RS_HOOK_POSTROUTING] = NF_INET_POST_ROUTING,
};

/*
 * Built by hand: nft 1.0.6 puts the chain type and policy before the hook
 * nest, which libnftnl's builder orders differently.
 */
static size_t msg_chain(void *buf, const struct tx *tx, const struct tx_op *op, uint32_t seq)
{
	const struct rs_chain *c = op->chain;
	struct nlmsghdr *nlh;
	struct nlattr *nest;
	char comment[32];
	struct ud u = { .n = 0 };

	switch (op->kind) {
	case TX_DEL_CHAIN:
		nlh = hdr(buf, NFT_MSG_DELCHAIN, 0, seq);
		break;
	case TX_FLUSH_CHAIN:
		/* a rule deletion without handle flushes the chain */
		nlh = hdr(buf, NFT_MSG_DELRULE, 0, seq);
		mnl_attr_put_strz(nlh, NFTA_RULE_TABLE, tx->table);
		mnl_attr_put_strz(nlh, NFTA_RULE_CHAIN, c->name);
		return nlh->nlmsg_len;
	default:
		nlh = hdr(buf, NFT_MSG_NEWCHAIN, NLM_F_CREATE, seq);
		break;
	}
	mnl_attr_put_strz(nlh, NFTA_CHAIN_TABLE, tx->table);
	mnl_attr_put_strz(nlh, NFTA_CHAIN_NAME, c->name);
	if (op->kind != TX_ADD_CHAIN)
		return nlh->nlmsg_len;
	if (c->hook != RS_HOOK_NONE) {
		mnl_attr_put_strz(nlh, NFTA_CHAIN_TYPE, c->nat ? "nat" : "filter");
		mnl_attr_put_u32(nlh, NFTA_CHAIN_POLICY, htonl(NF_ACCEPT));
		nest = mnl_attr_nest_start(nlh, NFTA_CHAIN_HOOK);
		mnl_attr_put_u32(nlh, NFTA_HOOK_HOOKNUM, htonl(hooknum[c->hook]));
		mnl_attr_put_u32(nlh, NFTA_HOOK_PRIORITY, htonl((uint32_t)c->priority));
		mnl_attr_nest_end(nlh, nest);
	}
	rs_chain_comment(c, comment);
	ud_put(&u, UD_CHAIN_COMMENT, comment, (uint8_t)(strlen(comment) + 1));
	mnl_attr_put(nlh, NFTA_CHAIN_USERDATA, u.n, u.b);
	return nlh->nlmsg_len;
}

static size_t msg_rule(void *buf, const struct tx *tx, const struct tx_op *op, uint32_t seq)
{
	struct nftnl_rule *r = nftnl_rule_alloc();
	struct nlmsghdr *nlh;
	size_t len = 0;

	if (!r)
		return 0;
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, tx->table);
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, op->chain->name);
	if (!nl_rule_exprs(r, tx, op->rule)) {
		nlh = hdr(buf, NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND, seq);
		nftnl_rule_nlmsg_build_payload(nlh, r);
		len = nlh->nlmsg_len;
	}
	nftnl_rule_free(r);
	return len;
}

/* Worst case of one model element: an interval's two kernel elements (a
 * concatenated range's one element with two keys is smaller). */
#define ELEM_ROOM	(2 * (4 + 8 + 8 + RS_KEY_MAX + 12 + 8 + NFT_CHAIN_MAXNAMELEN + 12 + 16))

/* nft numbers the elements of a message from 1 (the kernel ignores it). */
static void put_kelem(struct nlmsghdr *nlh, uint16_t *nr, const struct rs_set *s,
		      const uint8_t *key, const uint8_t *key_end, const struct rs_elem *e,
		      bool end, bool open, bool with_data)
{
	struct nlattr *el = mnl_attr_nest_start(nlh, ++*nr), *n, *v;
	struct ud u = { .n = 0 };

	if (end)
		mnl_attr_put_u32(nlh, NFTA_SET_ELEM_FLAGS, htonl(NFT_SET_ELEM_INTERVAL_END));
	n = mnl_attr_nest_start(nlh, NFTA_SET_ELEM_KEY);
	mnl_attr_put(nlh, NFTA_DATA_VALUE, s->key_len, key);
	mnl_attr_nest_end(nlh, n);
	if (key_end) {
		n = mnl_attr_nest_start(nlh, NFTA_SET_ELEM_KEY_END);
		mnl_attr_put(nlh, NFTA_DATA_VALUE, s->key_len, key_end);
		mnl_attr_nest_end(nlh, n);
	}
	if (with_data && s->verdict && e->chain) {
		n = mnl_attr_nest_start(nlh, NFTA_SET_ELEM_DATA);
		v = mnl_attr_nest_start(nlh, NFTA_DATA_VERDICT);
		mnl_attr_put_u32(nlh, NFTA_VERDICT_CODE, htonl((uint32_t)NFT_GOTO));
		mnl_attr_put_strz(nlh, NFTA_VERDICT_CHAIN, e->chain);
		mnl_attr_nest_end(nlh, v);
		mnl_attr_nest_end(nlh, n);
	} else if (with_data && s->ndata) {
		n = mnl_attr_nest_start(nlh, NFTA_SET_ELEM_DATA);
		mnl_attr_put(nlh, NFTA_DATA_VALUE, s->data_len, rs_elem_data(s, e));
		mnl_attr_nest_end(nlh, n);
	}
	if (open) {
		uint32_t f = UD_ELEM_INTERVAL_OPEN;

		ud_put(&u, UD_ELEM_FLAGS, &f, 4);
		mnl_attr_put(nlh, NFTA_SET_ELEM_USERDATA, u.n, u.b);
	}
	mnl_attr_nest_end(nlh, el);
}

/* The first address after a prefix; false if it wraps (an open interval). */
static bool prefix_end(const struct rs_set *s, const struct rs_elem *e, uint8_t *end)
{
	size_t len = rs_field_len(s->key[0]);
	int bit = e->prefix - 1;	/* last bit of the prefix, from the top */

	memcpy(end, e->key, s->key_len);
	if (e->prefix == 0)
		return false;
	for (int i = bit / 8; i >= 0 && (size_t)i < len; i--) {
		unsigned int add = i == bit / 8 ? 0x80u >> (bit % 8) : 1;
		unsigned int v = end[i] + add;

		end[i] = (uint8_t)v;
		if (v < 0x100)
			return true;
	}
	return false;
}

/* The last key of a concatenated range: the last field's prefix filled with ones. */
static void prefix_last(const struct rs_set *s, const struct rs_elem *e, uint8_t *last)
{
	size_t len = rs_field_len(s->key[s->nkey - 1]);
	uint8_t *f = last + s->key_len - len;

	memcpy(last, e->key, s->key_len);
	for (size_t b = e->prefix; b < 8 * len; b++)
		f[b / 8] |= (uint8_t)(0x80u >> (b % 8));
}

static void put_elem(struct nlmsghdr *nlh, uint16_t *nr, const struct rs_set *s,
		     const struct rs_elem *e, bool add)
{
	uint8_t end[RS_KEY_MAX];
	bool closed;

	if (!s->interval) {
		put_kelem(nlh, nr, s, e->key, NULL, e, false, false, add);
		return;
	}
	if (is_concat_range(s)) {
		/* one kernel element with both ends, the last one included */
		prefix_last(s, e, end);
		put_kelem(nlh, nr, s, e->key, end, e, false, false, add);
		return;
	}
	closed = prefix_end(s, e, end);
	put_kelem(nlh, nr, s, e->key, NULL, e, false, !closed && add, add);
	if (closed)
		put_kelem(nlh, nr, s, end, NULL, e, true, false, add);
}

static size_t msg_elems(void *buf, size_t room, const struct tx *tx, const struct tx_op *op,
			size_t *pos, uint32_t seq)
{
	const struct rs_set *s = op->set;
	bool add = op->kind == TX_ADD_ELEMS;
	struct nlmsghdr *nlh;
	struct nlattr *list;
	uint8_t zero[RS_KEY_MAX] = { 0 };
	size_t i = *pos;
	uint16_t nr = 0;

	if (room < 512 + ELEM_ROOM)
		return 0;
	nlh = hdr(buf, add ? NFT_MSG_NEWSETELEM : NFT_MSG_DELSETELEM,
		  add ? NLM_F_CREATE : 0, seq);
	mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_TABLE, tx->table);
	mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_SET, s->name);
	if (add && tx_set_id(tx, s->name))
		mnl_attr_put_u32(nlh, NFTA_SET_ELEM_LIST_SET_ID, htonl(tx_set_id(tx, s->name)));
	list = mnl_attr_nest_start(nlh, NFTA_SET_ELEM_LIST_ELEMENTS);
	/* nft opens an empty interval set with an end element at 0 */
	if (op->zero_end && i == 0)
		put_kelem(nlh, &nr, s, zero, NULL, NULL, true, false, false);
	while (i < op->nelems && nlh->nlmsg_len + ELEM_ROOM <= room) {
		put_elem(nlh, &nr, s, tx->elems[op->elem_first + i], add);
		i++;
	}
	mnl_attr_nest_end(nlh, list);
	*pos = i;
	return nlh->nlmsg_len;
}

size_t nl_msg_op(void *buf, size_t room, const struct tx *tx, const struct tx_op *op,
		 size_t *pos, uint32_t seq)
{
	if (room < 4096 && op->kind != TX_ADD_ELEMS && op->kind != TX_DEL_ELEMS)
		return 0;
	switch (op->kind) {
	case TX_ADD_TABLE:
	case TX_DEL_TABLE:
		return msg_table(buf, tx, op, seq);
	case TX_ADD_SET:
	case TX_DEL_SET:
		return msg_set(buf, tx, op, seq);
	case TX_ADD_CHAIN:
	case TX_DEL_CHAIN:
	case TX_FLUSH_CHAIN:
		return msg_chain(buf, tx, op, seq);
	case TX_ADD_RULE:
		return msg_rule(buf, tx, op, seq);
	case TX_ADD_ELEMS:
	case TX_DEL_ELEMS:
		return msg_elems(buf, room, tx, op, pos, seq);
	}
	return 0;
}
