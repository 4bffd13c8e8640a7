// SPDX-License-Identifier: MIT
/*
 * Rules read back into svcc's model (the inverse of nl_rule.c), so that
 * what the kernel really holds can be traced and shown.
 *
 * Not a parser of every expression the kernel knows: the fields a rule of
 * svcc's could carry are picked from its expressions (sets, chain, numgen,
 * marks, endpoint, timeout, interface, family), then kinds are tried until
 * one, built as nl_rule.c would build it, hashes like the kernel's rule
 * (rule_hash.c).  So a decoded rule is exactly the kernel's, or the rule is
 * not svcc's.  The kind that matched a shape of expressions is tried first
 * for the next rule of that shape: a table has a few dozen shapes.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <libmnl/libmnl.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

#include "nl.h"
#include "rule_decode.h"
#include "util.h"

#define NKINDS	(RS_JUMP_IF_NEW_NO_DNAT + 1)

struct fields {
	struct rs_rule r;	/* what was found; names not yet kept */
	const char *sets[2];
	size_t nsets;
	uint64_t shape;		/* hash of the expression names in order */
};

static uint64_t shape_more(uint64_t h, const char *name)
{
	for (; *name; name++)
		h = (h ^ (uint8_t)*name) * FNV64_PRIME;
	return (h ^ ',') * FNV64_PRIME;
}

static const void *data_of(const struct nftnl_expr *e, uint16_t attr, uint32_t *len)
{
	*len = 0;
	return nftnl_expr_is_set(e, attr) ? nftnl_expr_get(e, attr, len) : NULL;
}

struct walk {
	struct fields *f;
	uint32_t last_meta;	/* key of the last meta load, 0 after a compare */
	bool have_family, have_addr, have_mark;
};

static void take_family(struct walk *w, enum rs_family fam)
{
	if (!w->have_family) {
		w->f->r.family = fam;
		w->have_family = true;
	}
}

static void take_cmp(struct walk *w, const struct nftnl_expr *e)
{
	struct rs_rule *r = &w->f->r;
	uint32_t len;
	const uint8_t *d = data_of(e, NFTNL_EXPR_CMP_DATA, &len);

	if (!d)
		return;
	switch (w->last_meta) {
	case NFT_META_L4PROTO:
		if (len == 1 && !r->l4proto)	/* the first: a reject's tcp test comes later */
			r->l4proto = *d;
		break;
	case NFT_META_NFPROTO:
		if (len == 1)
			take_family(w, *d == NFPROTO_IPV6 ? RS_IPV6 : RS_IPV4);
		break;
	case NFT_META_IIFNAME:
		memset(r->addr, 0, sizeof(r->addr));
		memcpy(r->addr, d, len < 16 ? len : 16);
		r->mod = len < 16;	/* a prefix: "veth*" */
		break;
	case NFT_META_MARK:
		if (len == 4 && !w->have_mark) {
			memcpy(&r->mark, d, 4);
			w->have_mark = true;
		}
		break;
	}
	w->last_meta = 0;
}

static void take_immediate(struct walk *w, const struct nftnl_expr *e)
{
	struct rs_rule *r = &w->f->r;
	uint32_t len;
	const uint8_t *d;

	if (nftnl_expr_is_set(e, NFTNL_EXPR_IMM_CHAIN)) {
		r->target = nftnl_expr_get_str(e, NFTNL_EXPR_IMM_CHAIN);
		return;
	}
	d = data_of(e, NFTNL_EXPR_IMM_DATA, &len);
	if (!d)
		return;
	if ((len == 4 || len == 16) && !w->have_addr) {
		memcpy(r->addr, d, len);
		take_family(w, len == 16 ? RS_IPV6 : RS_IPV4);
		w->have_addr = true;
	} else if (len == 2) {
		uint16_t port;

		memcpy(&port, d, 2);
		r->port = ntohs(port);
	}
}

static int take_expr(struct nftnl_expr *e, void *data)
{
	struct walk *w = data;
	struct fields *f = w->f;
	const char *name = nftnl_expr_get_str(e, NFTNL_EXPR_NAME);
	uint32_t len;
	const void *d;

	if (!name)
		return 0;
	f->shape = shape_more(f->shape, name);
	if (!strcmp(name, "meta")) {
		if (nftnl_expr_is_set(e, NFTNL_EXPR_META_DREG))
			w->last_meta = nftnl_expr_get_u32(e, NFTNL_EXPR_META_KEY);
	} else if (!strcmp(name, "cmp")) {
		take_cmp(w, e);
	} else if (!strcmp(name, "payload")) {
		if (nftnl_expr_get_u32(e, NFTNL_EXPR_PAYLOAD_BASE) == NFT_PAYLOAD_NETWORK_HEADER &&
		    nftnl_expr_get_u32(e, NFTNL_EXPR_PAYLOAD_LEN) == 16)
			take_family(w, RS_IPV6);
	} else if (!strcmp(name, "bitwise")) {
		/* meta mark set meta mark | M: the xor is M; a test: the mask */
		d = data_of(e, NFTNL_EXPR_BITWISE_XOR, &len);
		if (w->last_meta == NFT_META_MARK && d && len == 4 && !w->have_mark) {
			memcpy(&f->r.mark, d, 4);
			w->have_mark = f->r.mark != 0;
		}
	} else if (!strcmp(name, "lookup") || !strcmp(name, "dynset")) {
		const char *set = nftnl_expr_get_str(e, name[0] == 'l' ? NFTNL_EXPR_LOOKUP_SET
								     : NFTNL_EXPR_DYNSET_SET_NAME);

		if (name[0] == 'd')
			f->r.timeout = (uint32_t)(nftnl_expr_get_u64(e, NFTNL_EXPR_DYNSET_TIMEOUT) / 1000);
		if (set && f->nsets < 2 && !(f->nsets == 1 && !strcmp(f->sets[0], set)))
			f->sets[f->nsets++] = set;
	} else if (!strcmp(name, "numgen")) {
		f->r.mod = nftnl_expr_get_u32(e, NFTNL_EXPR_NG_MODULUS);
		f->r.offset = nftnl_expr_get_u32(e, NFTNL_EXPR_NG_OFFSET);
	} else if (!strcmp(name, "immediate")) {
		take_immediate(w, e);
	} else if (!strcmp(name, "nat")) {
		take_family(w, nftnl_expr_get_u32(e, NFTNL_EXPR_NAT_FAMILY) == NFPROTO_IPV6 ?
				       RS_IPV6 : RS_IPV4);
	}
	return 0;
}

static bool hashes_as(const struct rs_rule *r, uint64_t want, void *buf)
{
	static const struct tx no_tx;	/* no set created alongside */
	uint64_t h;

	return nl_rule_hash(&no_tx, r, buf, &h) == 0 && h == want;
}

/* The sets in the order found; with one, also as the second alone (a
 * NodePort dispatch by "fib daddr type local" has only its vmap). */
static bool try_kind(struct fields *f, enum rs_rule_kind kind, uint64_t want, void *buf)
{
	f->r.kind = kind;
	f->r.set = f->nsets > 0 ? f->sets[0] : NULL;
	f->r.set2 = f->nsets > 1 ? f->sets[1] : NULL;
	if (hashes_as(&f->r, want, buf))
		return true;
	if (f->nsets != 1)
		return false;
	f->r.set = NULL;
	f->r.set2 = f->sets[0];
	return hashes_as(&f->r, want, buf);
}

/* The mark of a kind that does not test for it is 0 (RS_MASQ_MARKED's is the test). */
static bool kind_fits(const struct fields *f, enum rs_rule_kind k)
{
	switch (k) {
	case RS_JUMP: case RS_GOTO: case RS_GOTO_IF_SADDR_IN: case RS_GOTO_IF_IIF:
	case RS_JUMP_IF_DADDR_IN: case RS_JUMP_IF_NEW_NO_DNAT:
		return f->r.target != NULL;
	default:
		return true;
	}
}

void rule_decoder_init(struct rule_decoder *d)
{
	memset(d, 0, sizeof(*d));
}

void rule_decoder_free(struct rule_decoder *d)
{
	free(d->buf);
	d->buf = NULL;
}

static int remembered(const struct rule_decoder *d, uint64_t shape)
{
	size_t i = shape % RULE_DECODER_SHAPES;

	return d->shapes[i].shape == shape ? d->shapes[i].kind_plus1 - 1 : -1;
}

static void remember(struct rule_decoder *d, uint64_t shape, int kind)
{
	size_t i = shape % RULE_DECODER_SHAPES;

	d->shapes[i].shape = shape;
	d->shapes[i].kind_plus1 = kind + 1;
}

/* Names in the rule point into r; keep them in rs. */
static int keep_names(struct rs_ruleset *rs, struct rs_rule *out)
{
	const char **names[] = { &out->set, &out->set2, &out->target };

	for (size_t i = 0; i < 3; i++)
		if (*names[i] && !(*names[i] = rs_keep_name(rs, *names[i])))
			return -1;
	return 0;
}

int rule_decode(struct rule_decoder *d, const struct nlmsghdr *nlh, struct rs_ruleset *rs,
		struct rs_rule *out)
{
	struct nftnl_rule *r = nftnl_rule_alloc();
	struct fields f = { .shape = FNV64_OFFSET };
	struct walk w = { .f = &f };
	uint64_t want = nl_rule_msg_hash(nlh);
	int known, ret = 1;

	if (!r || (!d->buf && !(d->buf = malloc(NL_MSG_MAX)))) {
		nftnl_rule_free(r);
		errno = ENOMEM;
		return -1;
	}
	if (nftnl_rule_nlmsg_parse(nlh, r) < 0) {
		nftnl_rule_free(r);
		return 1;	/* not a rule libnftnl understands: not svcc's */
	}
	nftnl_expr_foreach(r, take_expr, &w);
	known = remembered(d, f.shape);
	if (known >= 0 && try_kind(&f, (enum rs_rule_kind)known, want, d->buf)) {
		ret = 0;
	} else {
		for (int k = 0; k < NKINDS && ret; k++)
			if (k != known && kind_fits(&f, (enum rs_rule_kind)k) &&
			    try_kind(&f, (enum rs_rule_kind)k, want, d->buf)) {
				remember(d, f.shape, k);
				ret = 0;
			}
	}
	if (!ret) {
		*out = f.r;
		if (keep_names(rs, out))
			ret = -1;
	}
	nftnl_rule_free(r);
	return ret;
}
