// SPDX-License-Identifier: MIT
/*
 * Read svcc's table back from the kernel into a ruleset model: chains with
 * the fingerprint kept in their comment, sets with their elements.  The
 * rules are hashed per chain, not decoded: what the comment cannot show is
 * a rule inserted or deleted underneath (read_whole).  What cannot be
 * understood is made to compare unequal, so that the diff rewrites it: a
 * chain without a valid comment gets fingerprint 0, a set of an unknown
 * type, or with elements svcc would not make, a key length of 0.  The
 * elements of a dynamic set (the affinity maps: the packet path fills
 * them, by the million) are not read: only its type, size and timeout.
 * Nor are those of a set the set-fingerprints map vouches for (state.h):
 * the set is left unread, with its fingerprint, and the runtime reads it
 * only if the desired set differs.
 */
#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libmnl/libmnl.h>
#include <libnftnl/common.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include "nameidx.h"
#include "nl.h"
#include "rule_decode.h"
#include "state.h"
#include "util.h"

#define RB_BUF	65536	/* more than the kernel puts in one dump answer */

struct rb {
	struct rs_ruleset *rs;
	struct nameidx chains;		/* chain name -> index, for verdicts */
	struct kelem *kel;		/* interval set being read: raw elements */
	size_t nkel, kel_cap;
	size_t set;			/* index of the set being read */
	int err;
};

/* One kernel element of an interval set: a start or an end. */
struct kelem {
	uint8_t key[16];
	bool end;
};

static const char *attr_str(const struct nlattr *a)
{
	return mnl_attr_get_payload_len(a) ? mnl_attr_get_str(a) : "";
}

static uint32_t attr_be32(const struct nlattr *a)
{
	return mnl_attr_get_payload_len(a) == 4 ? ntohl(mnl_attr_get_u32(a)) : 0;
}

/* Does the answer buf[0, n) end request seq's answers (done, or an error)? */
static bool answers_end(const char *buf, ssize_t n, uint32_t seq)
{
	const struct nlmsghdr *nlh = (const struct nlmsghdr *)buf;
	int rest = (int)n;

	for (; mnl_nlmsg_ok(nlh, rest); nlh = mnl_nlmsg_next(nlh, &rest))
		if (nlh->nlmsg_seq == seq &&
		    (nlh->nlmsg_type == NLMSG_DONE || nlh->nlmsg_type == NLMSG_ERROR))
			return true;
	return false;
}

/*
 * Send a request and feed every answer to cb until the dump is done.
 * Answers to an earlier request, given up half-way, are skipped.  A dump
 * that fails half-way (NLM_F_DUMP_INTR: someone committed meanwhile, or a
 * callback's error) is read to its end: the kernel refuses a new dump on
 * a socket while one runs.
 */
static int talk(struct nl *nl, struct nlmsghdr *req, mnl_cb_t cb, void *data)
{
	char buf[RB_BUF];
	uint32_t seq = req->nlmsg_seq;
	ssize_t n;
	int ret, err;

	if (mnl_socket_sendto(nl->sk, req, req->nlmsg_len) < 0)
		return -1;
	do {
		n = mnl_socket_recvfrom(nl->sk, buf, sizeof(buf));
		if (n < 0)
			return -1;
		if ((size_t)n >= sizeof(struct nlmsghdr) &&
		    ((const struct nlmsghdr *)buf)->nlmsg_seq != seq) {
			ret = MNL_CB_OK;	/* not ours: a stale answer */
			continue;
		}
		ret = mnl_cb_run(buf, (size_t)n, seq, nl->portid, cb, data);
	} while (ret > MNL_CB_STOP);
	if (ret >= 0)
		return 0;
	err = errno;
	if ((req->nlmsg_flags & NLM_F_DUMP) == NLM_F_DUMP)
		while (!answers_end(buf, n, seq) &&
		       (n = mnl_socket_recvfrom(nl->sk, buf, sizeof(buf))) >= 0)
			;
	errno = err;
	return -1;
}

static struct nlmsghdr *request(struct nl *nl, char *buf, uint16_t cmd, uint16_t flags)
{
	return nftnl_nlmsg_build_hdr(buf, cmd, NFPROTO_INET, NLM_F_REQUEST | flags, ++nl->seq);
}

struct table_info {
	bool exists;
	uint32_t flags, owner;
};

static int table_cb(const struct nlmsghdr *nlh, void *data)
{
	struct table_info *t = data;
	const struct nlattr *a;

	t->exists = true;
	mnl_attr_for_each(a, nlh, sizeof(struct nfgenmsg))
		if (mnl_attr_get_type(a) == NFTA_TABLE_FLAGS)
			t->flags = attr_be32(a);
		else if (mnl_attr_get_type(a) == NFTA_TABLE_OWNER)
			t->owner = attr_be32(a);
	return MNL_CB_OK;
}

static const enum rs_hook hook_of[] = {
	[NF_INET_PRE_ROUTING] = RS_HOOK_PREROUTING, [NF_INET_LOCAL_IN] = RS_HOOK_INPUT,
	[NF_INET_FORWARD] = RS_HOOK_FORWARD, [NF_INET_LOCAL_OUT] = RS_HOOK_OUTPUT,
	[NF_INET_POST_ROUTING] = RS_HOOK_POSTROUTING,
};

/* "svcc:<16 hex digits>" in the comment user data, or 0. */
static uint64_t parse_fingerprint(const uint8_t *ud, size_t len)
{
	size_t i = 0;

	while (i + 2 <= len && i + 2 + ud[i + 1] <= len) {
		const char *v = (const char *)ud + i + 2;
		uint8_t l = ud[i + 1];
		char hex[17];
		char *end;
		uint64_t fp;

		if (ud[i] == 0 && l == 22 && !memcmp(v, "svcc:", 5) && v[21] == 0) {
			memcpy(hex, v + 5, 16);
			hex[16] = 0;
			if (strspn(hex, "0123456789abcdef") != 16)
				return 0;
			fp = strtoull(hex, &end, 16);
			return *end ? 0 : fp;
		}
		i += 2 + l;
	}
	return 0;
}

/* A chain as the kernel describes it: what the diff compares. */
struct kchain {
	const char *name, *table;
	struct rs_chain c;	/* fingerprint, hook, priority, nat; no name, no rules */
};

static void parse_chain(const struct nlmsghdr *nlh, struct kchain *k)
{
	const struct nlattr *a, *h;
	const char *type = NULL;
	uint32_t hooknum = UINT32_MAX, policy = NF_ACCEPT, flags = 0;
	int32_t prio = 0;
	uint64_t fp = 0;
	const char *name = NULL, *table = NULL;

	memset(k, 0, sizeof(*k));
	mnl_attr_for_each(a, nlh, sizeof(struct nfgenmsg)) {
		switch (mnl_attr_get_type(a)) {
		case NFTA_CHAIN_NAME:	name = attr_str(a); break;
		case NFTA_CHAIN_TABLE:	table = attr_str(a); break;
		case NFTA_CHAIN_TYPE:	type = attr_str(a); break;
		case NFTA_CHAIN_POLICY:	policy = attr_be32(a); break;
		case NFTA_CHAIN_FLAGS:	flags = attr_be32(a); break;
		case NFTA_CHAIN_USERDATA:
			fp = parse_fingerprint(mnl_attr_get_payload(a), mnl_attr_get_payload_len(a));
			break;
		case NFTA_CHAIN_HOOK:
			mnl_attr_for_each_nested(h, a) {
				if (mnl_attr_get_type(h) == NFTA_HOOK_HOOKNUM)
					hooknum = attr_be32(h);
				else if (mnl_attr_get_type(h) == NFTA_HOOK_PRIORITY)
					prio = (int32_t)attr_be32(h);
			}
			break;
		}
	}
	k->name = name;
	k->table = table;
	/* a policy or a flag svcc does not give: fingerprint 0 has it replaced */
	k->c.fingerprint = policy == NF_ACCEPT && !(flags & ~NFT_CHAIN_BASE) ? fp : 0;
	if (hooknum != UINT32_MAX) {
		/* a hook svcc does not use: fingerprint 0 has it replaced */
		k->c.hook = hooknum <= NF_INET_POST_ROUTING ? hook_of[hooknum] : RS_HOOK_PREROUTING;
		if (hooknum > NF_INET_POST_ROUTING)
			k->c.fingerprint = 0;
		k->c.priority = prio;
		k->c.nat = type && !strcmp(type, "nat");
	}
}

static int chain_cb(const struct nlmsghdr *nlh, void *data)
{
	struct rb *rb = data;
	struct kchain k;
	struct rs_chain *c;

	parse_chain(nlh, &k);
	if (!k.name || !k.table || strcmp(k.table, rb->rs->table))
		return MNL_CB_OK;
	if (!(c = rs_add_chain(rb->rs, k.name))) {
		rb->err = ENOMEM;
		return MNL_CB_ERROR;
	}
	c->fingerprint = k.c.fingerprint;
	c->hook = k.c.hook;
	c->priority = k.c.priority;
	c->nat = k.c.nat;
	return MNL_CB_OK;
}

static bool decode_type(uint32_t id, enum rs_ftype *f, uint8_t *n, int max)
{
	enum rs_ftype tmp[RS_MAX_FIELDS];
	int k = 0;

	do {
		if (k == max)
			return false;
		switch (id & 63) {
		case 7:	 tmp[k++] = RS_F_IPV4;	break;
		case 8:	 tmp[k++] = RS_F_IPV6;	break;
		case 12: tmp[k++] = RS_F_PROTO;	break;
		case 13: tmp[k++] = RS_F_PORT;	break;
		case 4:	 tmp[k++] = RS_F_U32;	break;
		case 19: tmp[k++] = RS_F_MARK;	break;
		default: return false;
		}
		id >>= 6;
	} while (id);
	for (int i = 0; i < k; i++)
		f[i] = tmp[k - 1 - i];
	*n = (uint8_t)k;
	return true;
}

static uint64_t attr_be64(const struct nlattr *a)
{
	return mnl_attr_get_payload_len(a) == 8 ? be64toh(mnl_attr_get_u64(a)) : 0;
}

/* NFTA_SET_DESC: the size a set was declared with, 0 if none */
static uint32_t desc_size(const struct nlattr *desc)
{
	const struct nlattr *a;

	mnl_attr_for_each_nested(a, desc)
		if (mnl_attr_get_type(a) == NFTA_SET_DESC_SIZE)
			return attr_be32(a);
	return 0;
}

/*
 * "flags dynamic,timeout" (the affinity maps): updated from the packet path,
 * both flags or neither, with a size.  The default timeout is whole
 * seconds, as svcc declares it; anything else is not svcc's.  The size of
 * another set is not svcc's business.
 */
static bool read_dynamic(struct rs_set *s, uint32_t flags, uint64_t timeout_ms, uint32_t size)
{
	uint32_t both = NFT_SET_EVAL | NFT_SET_TIMEOUT;

	s->dynamic = (flags & both) == both;
	if (!s->dynamic)
		return !(flags & both) && !timeout_ms;
	s->size = size;
	s->timeout = (uint32_t)(timeout_ms / 1000);
	return timeout_ms % 1000 == 0 && timeout_ms / 1000 <= UINT32_MAX;
}

static int set_cb(const struct nlmsghdr *nlh, void *data)
{
	struct rb *rb = data;
	const struct nlattr *a;
	const char *name = NULL, *table = NULL;
	uint32_t flags = 0, ktype = 0, klen = 0, dtype = 0, dlen = 0, size = 0;
	uint64_t timeout = 0;
	struct rs_set *s;
	bool ok;

	mnl_attr_for_each(a, nlh, sizeof(struct nfgenmsg)) {
		switch (mnl_attr_get_type(a)) {
		case NFTA_SET_NAME:	name = attr_str(a); break;
		case NFTA_SET_TABLE:	table = attr_str(a); break;
		case NFTA_SET_FLAGS:	flags = attr_be32(a); break;
		case NFTA_SET_KEY_TYPE:	ktype = attr_be32(a); break;
		case NFTA_SET_KEY_LEN:	klen = attr_be32(a); break;
		case NFTA_SET_DATA_TYPE: dtype = attr_be32(a); break;
		case NFTA_SET_DATA_LEN:	dlen = attr_be32(a); break;
		case NFTA_SET_TIMEOUT:	timeout = attr_be64(a); break;
		case NFTA_SET_DESC:	size = desc_size(a); break;
		}
	}
	if (!name || !table || strcmp(table, rb->rs->table) || (flags & NFT_SET_ANONYMOUS))
		return MNL_CB_OK;
	if (!(s = rs_add_set(rb->rs, name, RS_IPV4))) {
		rb->err = ENOMEM;
		return MNL_CB_ERROR;
	}
	s->interval = flags & NFT_SET_INTERVAL;
	s->verdict = (flags & NFT_SET_MAP) && dtype == NFT_DATA_VERDICT;
	ok = read_dynamic(s, flags, timeout, size) &&
	     decode_type(ktype, s->key, &s->nkey, RS_MAX_FIELDS);
	if (ok && (flags & NFT_SET_MAP) && !s->verdict)
		ok = decode_type(dtype, s->data, &s->ndata, 2);
	if (ok) {
		rs_set_layout(s);
		/* ranges of concatenations are the pipapo kind, flagged so */
		ok = s->key_len == klen && s->data_len == (s->verdict ? 0 : dlen) &&
		     !(flags & NFT_SET_CONCAT) == !(s->interval && s->nkey > 1);
	}
	for (int i = 0; i < s->nkey; i++)
		if (s->key[i] == RS_F_IPV6)
			s->family = RS_IPV6;
	for (int i = 0; i < s->ndata; i++)
		if (s->data[i] == RS_F_IPV6)
			s->family = RS_IPV6;
	if (!ok) {
		s->key_len = 0;	/* not svcc's: never equal, so replaced */
		s->nkey = 0;
	}
	return MNL_CB_OK;
}

static int push_kelem(struct rb *rb, const uint8_t *key, size_t len, bool end)
{
	struct kelem *k;

	if (rb->nkel == rb->kel_cap) {
		size_t cap = rb->kel_cap ? 2 * rb->kel_cap : 64;
		struct kelem *p = realloc(rb->kel, cap * sizeof(*p));

		if (!p)
			return -1;
		rb->kel = p;
		rb->kel_cap = cap;
	}
	k = &rb->kel[rb->nkel++];
	memset(k->key, 0, sizeof(k->key));
	memcpy(k->key, key, len);
	k->end = end;
	return 0;
}

static const struct nlattr *nested_value(const struct nlattr *a, uint16_t type)
{
	const struct nlattr *v;

	mnl_attr_for_each_nested(v, a)
		if (mnl_attr_get_type(v) == type)
			return v;
	return NULL;
}

/* A set not as svcc makes it: never equal to svcc's, so the diff replaces it. */
static void foreign(struct rs_set *s)
{
	s->key_len = 0;
	s->nkey = 0;
	s->nelems = 0;
}

/*
 * Prefix length of the inclusive range [first, last], or -1 if it is no
 * prefix: equal on the prefix, first all zeros and last all ones after it.
 */
static int last_prefix(const uint8_t *first, const uint8_t *last, size_t len)
{
	size_t b = 0;

	while (b < 8 * len && !((first[b / 8] ^ last[b / 8]) & (0x80u >> (b % 8))))
		b++;
	for (size_t i = b; i < 8 * len; i++) {
		unsigned int m = 0x80u >> (i % 8);

		if ((first[i / 8] & m) || !(last[i / 8] & m))
			return -1;
	}
	return (int)b;
}

/*
 * An element of a concatenated range: its start and its last key, equal
 * but for the last field, which spans a prefix.
 */
static int concat_range(struct rs_set *s, const struct nlattr *key, const struct nlattr *key_end)
{
	size_t flen = rs_field_len(s->key[s->nkey - 1]), off = s->key_len - flen;
	const uint8_t *first = mnl_attr_get_payload(key), *last;
	struct rs_elem *e;
	int p = -1;

	if (key_end && mnl_attr_get_payload_len(key_end) == s->key_len) {
		last = mnl_attr_get_payload(key_end);
		if (!memcmp(first, last, off))
			p = last_prefix(first + off, last + off, flen);
	}
	if (p < 0) {
		foreign(s);
		return 0;
	}
	if (!(e = rs_add_elem(s)))
		return -1;
	memcpy(e->key, first, s->key_len);
	e->prefix = (uint8_t)p;
	return 0;
}

static int elem_one(struct rb *rb, struct rs_set *s, const struct nlattr *el)
{
	const struct nlattr *a, *key = NULL, *key_end = NULL, *data = NULL, *verdict = NULL;
	uint32_t flags = 0;
	struct rs_elem *e;

	mnl_attr_for_each_nested(a, el) {
		switch (mnl_attr_get_type(a)) {
		case NFTA_SET_ELEM_KEY:	  key = nested_value(a, NFTA_DATA_VALUE); break;
		case NFTA_SET_ELEM_KEY_END: key_end = nested_value(a, NFTA_DATA_VALUE); break;
		case NFTA_SET_ELEM_FLAGS: flags = attr_be32(a); break;
		case NFTA_SET_ELEM_DATA:
			data = nested_value(a, NFTA_DATA_VALUE);
			verdict = nested_value(a, NFTA_DATA_VERDICT);
			break;
		}
	}
	if (!key || mnl_attr_get_payload_len(key) != s->key_len)
		return 0;
	if (s->interval && s->nkey > 1)
		return concat_range(s, key, key_end);
	if (s->interval)
		return push_kelem(rb, mnl_attr_get_payload(key), s->key_len,
				  flags & NFT_SET_ELEM_INTERVAL_END);
	if (!(e = rs_add_elem(s)))
		return -1;
	memcpy(e->key, mnl_attr_get_payload(key), s->key_len);
	if (data && mnl_attr_get_payload_len(data) == s->data_len)
		memcpy(rs_elem_data(s, e), mnl_attr_get_payload(data), s->data_len);
	if (verdict) {
		const struct nlattr *ch = nested_value(verdict, NFTA_VERDICT_CHAIN);
		size_t i = ch ? nameidx_get(&rb->chains, attr_str(ch)) : (size_t)-1;

		/* point at the ruleset's own copy of the name: its chain's, or,
		 * with the chains unread, one kept for it */
		if (i != (size_t)-1)
			e->chain = rb->rs->chains[i].name;
		else if (ch && rb->rs->chains_unread && !(e->chain = rs_keep_name(rb->rs, attr_str(ch))))
			return -1;
	}
	return 0;
}

static int elem_cb(const struct nlmsghdr *nlh, void *data)
{
	struct rb *rb = data;
	struct rs_set *s = &rb->rs->sets[rb->set];
	const struct nlattr *a, *el;

	mnl_attr_for_each(a, nlh, sizeof(struct nfgenmsg)) {
		if (mnl_attr_get_type(a) != NFTA_SET_ELEM_LIST_ELEMENTS)
			continue;
		mnl_attr_for_each_nested(el, a) {
			if (elem_one(rb, s, el)) {
				rb->err = ENOMEM;
				return MNL_CB_ERROR;
			}
		}
	}
	return MNL_CB_OK;
}

static int kelem_cmp(const void *pa, const void *pb)
{
	const struct kelem *a = pa, *b = pb;
	int d = memcmp(a->key, b->key, sizeof(a->key));

	return d ? d : (int)b->end - (int)a->end;	/* an end before a start */
}

/*
 * Prefix length of [start, end), or -1 if it is no prefix.  end NULL: open
 * to the top of the space, as nft leaves a prefix whose end would wrap.
 */
static int range_prefix(const uint8_t *start, const uint8_t *end, size_t len)
{
	uint8_t size[16];
	int borrow = 0, bits = -1, ones = 0;

	/* size = end - start, modulo the space (end 0 when open) */
	for (size_t i = len; i-- > 0;) {
		int v = (end ? end[i] : 0) - start[i] - borrow;

		borrow = v < 0;
		size[i] = (uint8_t)(v + (borrow ? 256 : 0));
	}
	for (size_t i = 0; i < len; i++)
		for (int b = 7; b >= 0; b--)
			if (size[i] >> b & 1) {
				ones++;
				bits = (int)((len - 1 - i) * 8) + b;
			}
	if (ones == 0)
		return end ? -1 : 0;	/* open from 0: the whole space */
	if (ones != 1)
		return -1;
	for (int b = 0; b < bits; b++)	/* aligned to its size */
		if (start[len - 1 - b / 8] >> (b % 8) & 1)
			return -1;
	return (int)(len * 8) - bits;
}

/* Rebuild prefixes from the start/end elements of an interval set. */
static int intervals(struct rb *rb, struct rs_set *s)
{
	const struct kelem *start = NULL;
	struct rs_elem *e;
	int p;

	if (rb->nkel > 1)
		qsort(rb->kel, rb->nkel, sizeof(*rb->kel), kelem_cmp);
	for (size_t i = 0; i <= rb->nkel; i++) {
		const struct kelem *k = i < rb->nkel ? &rb->kel[i] : NULL;

		if (k && k->end && !start)
			continue;	/* nft's end element at 0 */
		if (k && !k->end && !start) {
			start = k;
			continue;
		}
		if (!start)
			break;
		/* a start closed by k, or open to the top */
		p = range_prefix(start->key, k && k->end ? k->key : NULL, s->key_len);
		if (p < 0) {
			foreign(s);	/* not a prefix: replace the set */
			return 0;
		}
		if (!(e = rs_add_elem(s)))
			return -1;
		memcpy(e->key, start->key, s->key_len);
		e->prefix = (uint8_t)p;
		start = k && !k->end ? k : NULL;
	}
	return 0;
}

static int read_elems(struct nl *nl, struct rb *rb, size_t i)
{
	char buf[NL_BUF] = { 0 };	/* no stale bytes in padding */
	struct rs_set *s = &rb->rs->sets[i];
	struct nlmsghdr *nlh;

	/* a dynamic set's elements are the packet path's, and may be many */
	if (!s->key_len || s->dynamic)
		return 0;
	rb->set = i;
	rb->nkel = 0;
	nlh = request(nl, buf, NFT_MSG_GETSETELEM, NLM_F_DUMP);
	mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_TABLE, rb->rs->table);
	mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_SET, s->name);
	if (talk(nl, nlh, elem_cb, rb))
		return -1;
	if (s->interval && s->nkey == 1 && intervals(rb, s))
		return -1;
	s = &rb->rs->sets[i];
	if (rs_sort_elems(s))
		return -1;
	s->fingerprint = st_set_hash(s);
	s->unread = false;
	return 0;
}

static int set_name_cmp(const void *a, const void *b)
{
	return strcmp(((const struct rs_set *)a)->name, ((const struct rs_set *)b)->name);
}

/*
 * Take the set-fingerprints map out of the sets (sorted by name) into a
 * ruleset of its own, *map, with its elements: the diff must not see it.
 */
static int take_map(struct nl *nl, struct rb *rb, struct rs_ruleset **map)
{
	struct rs_ruleset *rs = rb->rs;
	struct rs_set key = { .name = ST_MAP_NAME }, *s;
	size_t i;

	s = rs->nsets ? bsearch(&key, rs->sets, rs->nsets, sizeof(key), set_name_cmp) : NULL;
	if (!s)
		return 0;
	i = (size_t)(s - rs->sets);
	if (read_elems(nl, rb, i) || !(*map = rs_new(rs->table)) ||
	    VEC_RESERVE((*map)->sets, (*map)->nsets, (*map)->sets_cap))
		return -1;
	(*map)->sets[(*map)->nsets++] = *s;
	memmove(s, s + 1, (rs->nsets - i - 1) * sizeof(*s));
	rs->nsets--;
	return 0;
}

/* Every chain of the table into rb->rs (empty until now), and its index. */
static int read_chains(struct nl *nl, struct rb *rb)
{
	char buf[NL_BUF] = { 0 };	/* no stale bytes in padding */
	struct nlmsghdr *nlh = request(nl, buf, NFT_MSG_GETCHAIN, NLM_F_DUMP);

	mnl_attr_put_strz(nlh, NFTA_CHAIN_TABLE, rb->rs->table);
	if (talk(nl, nlh, chain_cb, rb) || nameidx_init(&rb->chains, rb->rs->nchains))
		return -1;
	for (size_t i = 0; i < rb->rs->nchains; i++)
		nameidx_put(&rb->chains, rb->rs->chains[i].name, i);
	rb->rs->chains_unread = false;
	return 0;
}

static int rule_cb(const struct nlmsghdr *nlh, void *data)
{
	struct rb *rb = data;
	const struct nlattr *a;
	const char *table = NULL, *chain = NULL;
	size_t i;

	mnl_attr_for_each(a, nlh, sizeof(struct nfgenmsg)) {
		if (mnl_attr_get_type(a) == NFTA_RULE_TABLE)
			table = attr_str(a);
		else if (mnl_attr_get_type(a) == NFTA_RULE_CHAIN)
			chain = attr_str(a);
	}
	if (!table || !chain || strcmp(table, rb->rs->table))
		return MNL_CB_OK;
	i = nameidx_get(&rb->chains, chain);
	if (i != (size_t)-1)
		rb->rs->chains[i].rules_hash = nl_rules_more(rb->rs->chains[i].rules_hash,
							     nl_rule_msg_hash(nlh));
	return MNL_CB_OK;
}

/*
 * Every rule of the table, hashed into its chain's rules_hash (rule_hash.c):
 * what lets the runtime find a rule inserted or deleted underneath, which
 * the chain's comment does not show.  After read_chains.
 */
static int read_rules(struct nl *nl, struct rb *rb)
{
	char buf[NL_BUF] = { 0 };	/* no stale bytes in padding */
	struct nlmsghdr *nlh = request(nl, buf, NFT_MSG_GETRULE, NLM_F_DUMP);

	mnl_attr_put_strz(nlh, NFTA_RULE_TABLE, rb->rs->table);
	return talk(nl, nlh, rule_cb, rb);
}

struct decode_job {
	struct rb *rb;
	struct rule_decoder dec;
	size_t foreign;
	int err;
};

static int decode_cb(const struct nlmsghdr *nlh, void *data)
{
	struct decode_job *j = data;
	struct rs_ruleset *rs = j->rb->rs;
	const struct nlattr *a;
	const char *table = NULL, *chain = NULL;
	struct rs_rule rule, *slot;
	size_t i;
	int r;

	mnl_attr_for_each(a, nlh, sizeof(struct nfgenmsg)) {
		if (mnl_attr_get_type(a) == NFTA_RULE_TABLE)
			table = attr_str(a);
		else if (mnl_attr_get_type(a) == NFTA_RULE_CHAIN)
			chain = attr_str(a);
	}
	if (!table || !chain || strcmp(table, rs->table) || j->err)
		return MNL_CB_OK;	/* after an error: drain the dump */
	i = nameidx_get(&j->rb->chains, chain);
	r = i == (size_t)-1 ? 1 : rule_decode(&j->dec, nlh, rs, &rule);
	if (r > 0)
		j->foreign++;
	else if (r < 0 || !(slot = rs_add_rule(&rs->chains[i])))
		j->err = errno ? errno : ENOMEM;
	else
		*slot = rule;
	return MNL_CB_OK;
}

/*
 * The protocol an endpoint or affinity map is typed with ("typeof numgen
 * inc mod 2 : ip daddr . tcp dport"): the kernel keeps only its data
 * lengths; the rules that use the map say it.
 */
static void endpoint_map_protocols(struct rs_ruleset *rs)
{
	for (size_t i = 0; i < rs->nchains; i++) {
		for (size_t k = 0; k < rs->chains[i].nrules; k++) {
			const struct rs_rule *r = &rs->chains[i].rules[k];
			struct rs_set *s;

			if (r->kind != RS_DNAT_NUMGEN && r->kind != RS_AFFINITY_DNAT &&
			    r->kind != RS_AFFINITY_UPDATE && r->kind != RS_AFFINITY_REFRESH)
				continue;
			if ((s = rs_set_find(rs, r->set)) && !s->l4proto)
				s->l4proto = r->l4proto;
		}
	}
}

int nl_read_rules(struct nl *nl, struct rs_ruleset *rs, size_t *foreign)
{
	char buf[NL_BUF] = { 0 };
	struct rb rb = { .rs = rs };
	struct decode_job j = { .rb = &rb };
	struct nlmsghdr *nlh;
	int ret = -1;

	if (rs->chains_unread) {
		if (read_chains(nl, &rb))
			goto out;
	} else if (nameidx_init(&rb.chains, rs->nchains)) {
		return -1;
	} else {
		for (size_t i = 0; i < rs->nchains; i++)
			nameidx_put(&rb.chains, rs->chains[i].name, i);
	}
	for (size_t i = 0; i < rs->nchains; i++)
		rs->chains[i].nrules = 0;
	rule_decoder_init(&j.dec);
	nlh = request(nl, buf, NFT_MSG_GETRULE, NLM_F_DUMP);
	mnl_attr_put_strz(nlh, NFTA_RULE_TABLE, rs->table);
	ret = talk(nl, nlh, decode_cb, &j);
	rule_decoder_free(&j.dec);
	if (!ret && j.err) {
		errno = j.err;
		ret = -1;
	}
	*foreign = j.foreign;
	if (!ret)
		endpoint_map_protocols(rs);
out:
	nameidx_fini(&rb.chains);
	return ret;
}

/* Would reading the elements of s, unread, need the chains (its verdicts name them)? */
static bool needs_chains(const struct rs_set *s)
{
	return s->verdict && s->key_len && !s->dynamic;
}

/*
 * The sets of a table the set-fingerprints map vouches for (st_map_vouches:
 * nobody changed anything since svcc's last batch): those it names keep
 * their fingerprint, unread; the others are read, with the chains first if
 * their verdicts name them.  read_whole reads a table nothing vouches for.
 */
static int read_trusted_elems(struct nl *nl, struct rb *rb, const struct rs_ruleset *map)
{
	for (size_t i = 0; i < rb->rs->nsets; i++) {
		struct rs_set *s = &rb->rs->sets[i];

		if (s->key_len && !s->dynamic &&
		    st_map_get(map, s->name, &s->fingerprint)) {
			s->unread = true;
			continue;
		}
		if (rb->rs->chains_unread && needs_chains(s) && read_chains(nl, rb))
			return -1;
		if (read_elems(nl, rb, i))
			return -1;
	}
	return 0;
}

/*
 * The rules of chains [first, last), one dump each.  The kernel restarts a
 * whole-table rule dump at the table's first chain for every 32 KB answer,
 * so that dump is quadratic in the chains; a dump per chain is a request
 * and an answer more per chain, but linear.
 */
static int read_chain_rules(struct nl *nl, struct rb *rb, size_t first, size_t last)
{
	char buf[NL_BUF] = { 0 };	/* no stale bytes in padding */

	for (size_t i = first; i < last; i++) {
		struct nlmsghdr *nlh = request(nl, buf, NFT_MSG_GETRULE, NLM_F_DUMP);

		mnl_attr_put_strz(nlh, NFTA_RULE_TABLE, rb->rs->table);
		mnl_attr_put_strz(nlh, NFTA_RULE_CHAIN, rb->rs->chains[i].name);
		if (talk(nl, nlh, rule_cb, rb))
			return -1;
	}
	return 0;
}

/*
 * A whole read (nothing vouches for the table) on two sockets and threads:
 * the work is mostly the kernel's, done in the reading thread, so on two
 * cores the halves overlap.  Both threads take work items in turn from one
 * counter: first the rules (one whole-table dump, or, with many chains,
 * batches of per-chain dumps), then the sets, one each.  A set or a batch
 * of chains is written by one thread alone; the chains array and its index
 * do not change meanwhile (the chains are read before).
 */
#define RULES_PER_CHAIN_MIN	20000	/* chains: from here a dump per chain is faster */
#define RULES_BATCH		512	/* chains per work item */

struct read_pool {
	struct rs_ruleset *rs;
	size_t rule_items, items;	/* items: rule_items, then one per set */
	bool per_chain;
	atomic_size_t next;
	atomic_bool failed;
};

struct reader {
	struct read_pool *pool;
	struct nl *nl, own;
	struct rb rb;			/* shares rs and the chain index; own scratch */
	pthread_t thread;
	int ret, err;
};

static int take_item(struct reader *r, size_t i)
{
	struct read_pool *p = r->pool;
	size_t last = (i + 1) * RULES_BATCH;

	if (i >= p->rule_items)
		return read_elems(r->nl, &r->rb, i - p->rule_items);
	if (!p->per_chain)
		return read_rules(r->nl, &r->rb);
	return read_chain_rules(r->nl, &r->rb, i * RULES_BATCH,
				last < p->rs->nchains ? last : p->rs->nchains);
}

static void *read_items(void *arg)
{
	struct reader *r = arg;
	struct read_pool *p = r->pool;
	size_t i;

	while (!atomic_load(&p->failed) && (i = atomic_fetch_add(&p->next, 1)) < p->items) {
		if (take_item(r, i)) {
			r->ret = -1;
			r->err = r->rb.err ? r->rb.err : errno;
			atomic_store(&p->failed, true);
		}
	}
	return NULL;
}

static int read_whole(struct nl *nl, struct rb *rb)
{
	struct rs_ruleset *rs = rb->rs;
	struct read_pool pool = { .rs = rs };
	struct reader self = { .pool = &pool, .nl = nl, .rb = *rb }, help;
	bool threaded;

	pool.per_chain = rs->nchains >= RULES_PER_CHAIN_MIN;
	pool.rule_items = pool.per_chain ? (rs->nchains + RULES_BATCH - 1) / RULES_BATCH : 1;
	pool.items = pool.rule_items + rs->nsets;
	atomic_init(&pool.next, 0);
	atomic_init(&pool.failed, false);
	for (size_t i = 0; i < rs->nchains; i++)
		rs->chains[i].rules_hash = nl_rules_begin();
	self.rb.kel = NULL;		/* scratch of each reader's own */
	self.rb.nkel = self.rb.kel_cap = 0;
	help = self;
	help.nl = &help.own;
	threaded = !nl_open(&help.own);
	if (threaded && pthread_create(&help.thread, NULL, read_items, &help)) {
		nl_close(&help.own);
		threaded = false;
	}
	/* with no socket or thread to spare, this one reads it all */
	read_items(&self);
	if (threaded) {
		pthread_join(help.thread, NULL);
		nl_close(&help.own);
	}
	free(self.rb.kel);
	free(help.rb.kel);
	if (self.ret || help.ret) {
		rb->err = self.ret ? self.err : help.err;
		return -1;
	}
	return 0;
}

int nl_read_chains(struct nl *nl, struct rs_ruleset *rs)
{
	struct rb rb = { .rs = rs };
	int ret;

	for (size_t i = 0; i < rs->nchains; i++) {
		free(rs->chains[i].name);
		free(rs->chains[i].rules);
	}
	rs->nchains = 0;
	ret = read_chains(nl, &rb) || rs_sort_chains(rs) ? -1 : 0;
	if (ret && rb.err)
		errno = rb.err;
	nameidx_fini(&rb.chains);
	return ret;
}

/* Ask for chains names[first, last), one request each, in one send. */
static int ask_chains(struct nl *nl, const char *table, const char *const *names,
		      size_t first, size_t last, uint32_t base)
{
	char *buf = calloc(last - first, NL_BUF / 16), *p = buf;	/* no stale bytes */
	int ret;

	if (!buf)
		return -1;
	for (size_t i = first; i < last; i++) {
		struct nlmsghdr *nlh = nftnl_nlmsg_build_hdr(p, NFT_MSG_GETCHAIN, NFPROTO_INET,
							     NLM_F_REQUEST, base + (uint32_t)(i - first));

		mnl_attr_put_strz(nlh, NFTA_CHAIN_TABLE, table);
		mnl_attr_put_strz(nlh, NFTA_CHAIN_NAME, names[i]);
		p += NLMSG_ALIGN(nlh->nlmsg_len);
	}
	ret = mnl_socket_sendto(nl->sk, buf, (size_t)(p - buf)) < 0 ? -1 : 0;
	free(buf);
	return ret;
}

/* The answers to ask_chains: a chain, or ENOENT. */
static int answers(struct nl *nl, struct nl_chain *out, size_t first, size_t n, uint32_t base)
{
	char buf[RB_BUF];
	size_t got = 0;

	while (got < n) {
		ssize_t len = mnl_socket_recvfrom(nl->sk, buf, sizeof(buf));
		const struct nlmsghdr *nlh = (const struct nlmsghdr *)buf;
		int rest = (int)len;

		if (len < 0)
			return -1;
		for (; mnl_nlmsg_ok(nlh, rest); nlh = mnl_nlmsg_next(nlh, &rest)) {
			uint32_t k = nlh->nlmsg_seq - base;
			struct kchain kc;

			if (k >= n || nlh->nlmsg_pid != nl->portid)
				continue;	/* not an answer to these */
			if (nlh->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);

				if (e->error && e->error != -ENOENT) {
					errno = -e->error;
					return -1;
				}
				if (e->error)
					got++;	/* no such chain (an error 0 would be an ACK) */
				continue;
			}
			parse_chain(nlh, &kc);
			out[first + k].exists = true;
			out[first + k].c = kc.c;
			got++;
		}
	}
	return 0;
}

int nl_get_chains(struct nl *nl, const char *table, const char *const *names, size_t n,
		  struct nl_chain *out)
{
	/* a few at a time: the answers must fit the socket's receive buffer */
	for (size_t first = 0; first < n; first += 64) {
		size_t last = first + 64 < n ? first + 64 : n;
		uint32_t base = nl->seq + 1;

		nl->seq += (uint32_t)(last - first);
		memset(out + first, 0, (last - first) * sizeof(*out));
		if (ask_chains(nl, table, names, first, last, base) ||
		    answers(nl, out, first, last - first, base))
			return -1;
	}
	return 0;
}

/*
 * With the chains unread, a verdict map's elements keep copies of the
 * names they point at: reading 12k chains to learn names the elements
 * carry anyway cost ~8 ms when a service came or went.
 */
int nl_read_elems(struct nl *nl, struct rs_ruleset *rs, const size_t *which, size_t n)
{
	struct rb rb = { .rs = rs };
	int ret = -1;

	if (nameidx_init(&rb.chains, rs->nchains))
		return -1;
	for (size_t i = 0; i < rs->nchains; i++)
		nameidx_put(&rb.chains, rs->chains[i].name, i);
	for (size_t k = 0; k < n; k++) {
		rs->sets[which[k]].unread = false;
		if (read_elems(nl, &rb, which[k]))
			goto out;
	}
	ret = 0;
out:
	if (ret && rb.err)
		errno = rb.err;
	nameidx_fini(&rb.chains);
	free(rb.kel);
	return ret;
}

static int read_once(struct nl *nl, const char *table, uint32_t genid, bool trust,
		     struct rs_ruleset **out, struct rs_ruleset **map, bool *trusted)
{
	char buf[NL_BUF] = { 0 };	/* no stale bytes in padding */
	struct rb rb = { 0 };
	struct nlmsghdr *nlh;
	struct table_info t = { 0 };

	*out = *map = NULL;
	*trusted = false;
	nlh = request(nl, buf, NFT_MSG_GETTABLE, NLM_F_ACK);
	mnl_attr_put_strz(nlh, NFTA_TABLE_NAME, table);
	if (talk(nl, nlh, table_cb, &t))
		return errno == ENOENT ? 0 : -1;
	if (!t.exists)
		return 0;
	if (!(rb.rs = rs_new(table)))
		return -1;
	/* who owns the table is no drift: kept apart */
	rb.rs->table_flags = t.flags & ~(NL_TABLE_F_OWNER | NL_TABLE_F_PERSIST);
	rb.rs->owner_flags = t.flags & (NL_TABLE_F_OWNER | NL_TABLE_F_PERSIST);
	rb.rs->owner = t.owner;
	rb.rs->chains_unread = true;
	nlh = request(nl, buf, NFT_MSG_GETSET, NLM_F_DUMP);
	mnl_attr_put_strz(nlh, NFTA_SET_TABLE, table);
	if (talk(nl, nlh, set_cb, &rb))
		goto fail;
	/* canonical order, as rs_finish gives; chain names stay where they are */
	if (rb.rs->nsets > 1)
		qsort(rb.rs->sets, rb.rs->nsets, sizeof(*rb.rs->sets), set_name_cmp);
	if (take_map(nl, &rb, map))
		goto fail;
	/* the chains too, unless the map vouches for them (runtime.c asks for some) */
	*trusted = trust && st_map_vouches(*map, genid);
	if (!*trusted) {
		if (read_chains(nl, &rb) || read_whole(nl, &rb))
			goto fail;
	} else if (read_trusted_elems(nl, &rb, *map)) {
		goto fail;
	}
	if (rs_sort_chains(rb.rs))
		goto fail;
	nameidx_fini(&rb.chains);
	free(rb.kel);
	*out = rb.rs;
	return 0;
fail:
	if (rb.err)
		errno = rb.err;
	nameidx_fini(&rb.chains);
	free(rb.kel);
	rs_free(rb.rs);
	rs_free(*map);
	*map = NULL;
	return -1;
}

struct elem_dump {
	const struct rs_set *s;
	nl_elem_cb cb;
	void *arg;
	int err;
};

/* One element of a dump: its key and data, laid out as the set's elements are. */
static int dump_one(struct elem_dump *d, const struct nlattr *el)
{
	const struct nlattr *a, *key = NULL, *val = NULL;
	union rs_elem_buf e;

	mnl_attr_for_each_nested(a, el) {
		if (mnl_attr_get_type(a) == NFTA_SET_ELEM_KEY)
			key = nested_value(a, NFTA_DATA_VALUE);
		else if (mnl_attr_get_type(a) == NFTA_SET_ELEM_DATA)
			val = nested_value(a, NFTA_DATA_VALUE);
	}
	if (!key || mnl_attr_get_payload_len(key) != d->s->key_len)
		return 0;	/* not of this set's type: nothing svcc could name */
	memset(&e, 0, sizeof(e));
	memcpy(e.e.key, mnl_attr_get_payload(key), d->s->key_len);
	if (val && mnl_attr_get_payload_len(val) == d->s->data_len)
		memcpy(rs_elem_data(d->s, &e.e), mnl_attr_get_payload(val), d->s->data_len);
	return d->cb(d->s, &e.e, d->arg);
}

static int dump_cb(const struct nlmsghdr *nlh, void *data)
{
	struct elem_dump *d = data;
	const struct nlattr *a, *el;

	mnl_attr_for_each(a, nlh, sizeof(struct nfgenmsg)) {
		if (mnl_attr_get_type(a) != NFTA_SET_ELEM_LIST_ELEMENTS)
			continue;
		mnl_attr_for_each_nested(el, a) {
			/* keep reading after a failure: the dump must be drained */
			errno = 0;
			if (!d->err && dump_one(d, el))
				d->err = errno ? errno : ENOMEM;
		}
	}
	return MNL_CB_OK;
}

int nl_dump_elems(struct nl *nl, const char *table, const struct rs_set *s,
		  nl_elem_cb cb, void *arg)
{
	char buf[NL_BUF] = { 0 };	/* no stale bytes in padding */
	struct elem_dump d = { .s = s, .cb = cb, .arg = arg };
	struct nlmsghdr *nlh;

	if (s->interval || s->key_len > RS_KEY_MAX || s->data_len > RS_DATA_MAX) {
		errno = EINVAL;
		return -1;
	}
	nlh = request(nl, buf, NFT_MSG_GETSETELEM, NLM_F_DUMP);
	mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_TABLE, table);
	mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_SET, s->name);
	if (talk(nl, nlh, dump_cb, &d))
		return -1;
	if (d.err) {
		errno = d.err;
		return -1;
	}
	return 0;
}

int nl_read_table(struct nl *nl, const char *table, bool trust, struct rs_ruleset **out,
		  struct rs_ruleset **map, bool *trusted, uint32_t *genid)
{
	uint32_t before, after;

	/* the same generation before and after: nobody changed it meanwhile */
	for (int tries = 0; tries < 3; tries++) {
		struct rs_ruleset *rs, *m;

		if (nl_getgen(nl, &before))
			return -1;
		if (read_once(nl, table, before, trust, &rs, &m, trusted)) {
			int err = errno;

			/*
			 * A set or chain listed gone when asked for, a dump
			 * interrupted: someone committed meanwhile.  Read again.
			 */
			if (nl_getgen(nl, &after) == 0 && after != before)
				continue;
			errno = err;
			return -1;
		}
		if (nl_getgen(nl, &after)) {
			rs_free(rs);
			rs_free(m);
			return -1;
		}
		if (before == after) {
			*out = rs;
			*map = m;
			*genid = after;
			return 0;
		}
		rs_free(rs);
		rs_free(m);
	}
	errno = EAGAIN;
	return -1;
}
