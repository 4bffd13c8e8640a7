// SPDX-License-Identifier: MIT
/*
 * Stale UDP conntrack cleanup (see conntrack.h).
 *
 * Which endpoints are stale: an endpoint map element that is unchanged
 * between the two rulesets (same key, same data) cannot name a removed
 * endpoint, so one merge walk per map keeps only the changed elements as
 * candidates; usually there are none and nothing is allocated.  Services
 * with client-ip affinity DNAT in per-endpoint chains ("dnat ip to
 * ADDR:PORT") instead: their rules count too, when the chain changed.
 * Candidates are sorted, and one pass over the new endpoint maps and
 * chains strikes those that are still used (an endpoint that moved to
 * another slot, map or chain).
 *
 * Which entries go: UDP, IPS_DST_NAT, reply source = a stale endpoint.  The
 * reply source is the address and port the DNAT chose, whatever the client
 * addressed (vip, NodePort, external ip), and a connection made to the pod
 * directly (not NATed) is left alone.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <libnetfilter_conntrack/libnetfilter_conntrack.h>

#include "conntrack.h"
#include "util.h"

struct tvec {
	struct ct_target *v;
	size_t n, cap;
};

static int tvec_push(struct tvec *t, const struct ct_target *x)
{
	if (VEC_RESERVE(t->v, t->n, t->cap))
		return -1;
	t->v[t->n++] = *x;
	return 0;
}

static int target_cmp(const void *a, const void *b)
{
	const struct ct_target *x = a, *y = b;
	int d = (int)x->family - (int)y->family;

	if (d)
		return d;
	if ((d = memcmp(x->addr, y->addr, sizeof(x->addr))))
		return d;
	/* network order: byte order is numeric order */
	return memcmp(&x->port, &y->port, sizeof(x->port));
}

static size_t addr_len(const struct rs_set *s)
{
	return s->data[0] == RS_F_IPV6 ? 16 : 4;
}

/*
 * A UDP endpoint map: data "address . port".  Read-back cannot decode the
 * protocol (l4proto 0), so the name, which lower.c derives from it, decides.
 */
static bool udp_endpoint_map(const struct rs_set *s)
{
	if (s->verdict || s->ndata != 2 || s->data[1] != RS_F_PORT ||
	    (s->data[0] != RS_F_IPV4 && s->data[0] != RS_F_IPV6) ||
	    s->data_len < addr_len(s) + 4)
		return false;
	if (s->l4proto)
		return s->l4proto == IPPROTO_UDP;
	return !strncmp(s->name, "endpoints-udp-", 14) ||
	       !strncmp(s->name, "endpoints6-udp-", 15);
}

static void elem_target(const struct rs_set *s, const struct rs_elem *e, struct ct_target *t)
{
	size_t n = addr_len(s);

	memset(t, 0, sizeof(*t));
	t->family = n == 16 ? AF_INET6 : AF_INET;
	memcpy(t->addr, rs_elem_data(s, e), n);
	memcpy(&t->port, rs_elem_data(s, e) + n, 2);
}

/* Same key and same endpoint: the element names no removed endpoint. */
static bool elem_same(const struct rs_set *s, const struct rs_elem *a, const struct rs_elem *b)
{
	return !rs_elem_cmp(s, a, b) &&
	       !memcmp(rs_elem_data(s, a), rs_elem_data(s, b), s->data_len);
}

/* "meta l4proto udp dnat ip to ADDR:PORT": an affinity service's endpoint */
static bool udp_dnat_to(const struct rs_rule *r)
{
	return r->kind == RS_DNAT_TO && r->l4proto == IPPROTO_UDP;
}

static void rule_target(const struct rs_rule *r, struct ct_target *t)
{
	memset(t, 0, sizeof(*t));
	t->family = r->family == RS_IPV6 ? AF_INET6 : AF_INET;
	memcpy(t->addr, r->addr, r->family == RS_IPV6 ? 16 : 4);
	t->port = htons(r->port);	/* rule ports are host order */
}

/*
 * The UDP endpoints oc DNATs to, unless new_rs has the chain unchanged.  A
 * model read back from the kernel has no rules (only fingerprints): there
 * this finds nothing.
 */
static int add_chain_candidates(struct tvec *cand, const struct rs_chain *oc,
				const struct rs_ruleset *new_rs)
{
	bool looked = false;

	for (size_t i = 0; i < oc->nrules; i++) {
		struct ct_target t;

		if (!udp_dnat_to(&oc->rules[i]))
			continue;
		if (!looked) {
			const struct rs_chain *nc = new_rs ? rs_chain_find(new_rs, oc->name) : NULL;

			looked = true;
			if (nc && oc->fingerprint && nc->fingerprint == oc->fingerprint)
				return 0;
		}
		rule_target(&oc->rules[i], &t);
		if (tvec_push(cand, &t))
			return -1;
	}
	return 0;
}

/* Mark the candidates t names as still used. */
static void strike(const struct tvec *cand, bool *used, const struct ct_target *t)
{
	const struct ct_target *hit = bsearch(t, cand->v, cand->n, sizeof(*t), target_cmp);

	if (hit)
		used[hit - cand->v] = true;
}

/*
 * old's elements of s that ns (new's map of that name, or NULL) does not
 * hold unchanged.  Both are sorted by key; were they not, a match would be
 * missed and the element kept as a candidate, which only costs time.
 */
static int add_candidates(struct tvec *cand, const struct rs_set *s, const struct rs_set *ns)
{
	size_t j = 0;

	if (ns && (!udp_endpoint_map(ns) || ns->key_len != s->key_len ||
		   ns->nkey != s->nkey || ns->key[0] != s->key[0] ||
		   ns->data[0] != s->data[0] || ns->interval != s->interval))
		ns = NULL;
	if (ns && ns->elems == s->elems && ns->nelems == s->nelems)
		return 0;	/* lent the new set's elements (runtime.c's view): the same */
	for (size_t i = 0; i < s->nelems; i++) {
		const struct rs_elem *e = rs_elem_at(s, i);
		struct ct_target t;

		/* the same key and data layout: checked above */
		while (ns && j < ns->nelems && rs_elem_cmp(s, rs_elem_at(ns, j), e) < 0)
			j++;
		if (ns && j < ns->nelems && elem_same(s, e, rs_elem_at(ns, j)))
			continue;
		elem_target(s, e, &t);
		if (tvec_push(cand, &t))
			return -1;
	}
	return 0;
}

int ct_stale_udp(const struct rs_ruleset *old, const struct rs_ruleset *new_rs,
		 struct ct_stale **out)
{
	struct tvec cand = { 0 };
	struct ct_stale *s;
	bool *used = NULL;
	size_t n = 0;

	for (size_t i = 0; old && i < old->nsets; i++) {
		const struct rs_set *os = &old->sets[i];

		if (udp_endpoint_map(os) &&
		    add_candidates(&cand, os, new_rs ? rs_set_find(new_rs, os->name) : NULL))
			goto oom;
	}
	for (size_t i = 0; old && i < old->nchains; i++)
		if (add_chain_candidates(&cand, &old->chains[i], new_rs))
			goto oom;
	if (cand.n) {
		qsort(cand.v, cand.n, sizeof(cand.v[0]), target_cmp);
		for (size_t i = 0; i < cand.n; i++)
			if (!n || target_cmp(&cand.v[n - 1], &cand.v[i]))
				cand.v[n++] = cand.v[i];
		cand.n = n;
		if (!(used = calloc(cand.n, sizeof(*used))))
			goto oom;
	}
	for (size_t i = 0; cand.n && new_rs && i < new_rs->nsets; i++) {
		const struct rs_set *ns = &new_rs->sets[i];

		if (!udp_endpoint_map(ns))
			continue;
		for (size_t k = 0; k < ns->nelems; k++) {
			struct ct_target t;

			elem_target(ns, rs_elem_at(ns, k), &t);
			strike(&cand, used, &t);
		}
	}
	for (size_t i = 0; cand.n && new_rs && i < new_rs->nchains; i++) {
		const struct rs_chain *nc = &new_rs->chains[i];

		for (size_t k = 0; k < nc->nrules; k++) {
			struct ct_target t;

			if (!udp_dnat_to(&nc->rules[k]))
				continue;
			rule_target(&nc->rules[k], &t);
			strike(&cand, used, &t);
		}
	}
	n = 0;
	for (size_t i = 0; i < cand.n; i++)
		if (!used[i])
			cand.v[n++] = cand.v[i];
	free(used);
	used = NULL;
	if (!(s = malloc(sizeof(*s))))
		goto oom;
	s->v = cand.v;
	s->n = n;
	*out = s;
	return 0;
oom:
	free(used);
	free(cand.v);
	errno = ENOMEM;
	return -1;
}

/* ct_dump_dnat's callback: the caller's, for the DNATed entries only. */
struct dnat_cb {
	int (*fn)(struct nf_conntrack *ct, void *arg);
	void *arg;
};

static int dnat_cb(enum nf_conntrack_msg_type type, struct nf_conntrack *ct, void *data)
{
	const struct dnat_cb *c = data;

	(void)type;
	/* a kernel without the status filter sends every entry */
	if (!nfct_attr_is_set(ct, ATTR_STATUS) ||
	    !(nfct_get_attr_u32(ct, ATTR_STATUS) & IPS_DST_NAT))
		return NFCT_CB_CONTINUE;
	return c->fn(ct, c->arg);
}

int ct_dump_dnat(struct nfct_handle **hp, uint8_t family,
		 int (*fn)(struct nf_conntrack *ct, void *arg), void *arg)
{
	struct nfct_filter_dump_mark dnat = { .val = IPS_DST_NAT, .mask = IPS_DST_NAT };
	struct dnat_cb c = { fn, arg };
	struct nfct_filter_dump *filter;
	int err = 0;

	if (!(*hp = nfct_open(CONNTRACK, 0)))
		return errno ? errno : EPROTONOSUPPORT;
	if (!(filter = nfct_filter_dump_create()))
		return ENOMEM;
	nfct_filter_dump_set_attr(filter, NFCT_FILTER_DUMP_STATUS, &dnat);
	if (family)
		nfct_filter_dump_set_attr_u8(filter, NFCT_FILTER_DUMP_L3NUM, family);
	if (nfct_callback_register(*hp, NFCT_T_ALL, dnat_cb, &c)) {
		err = errno ? errno : ENOMEM;
	} else {
		errno = 0;
		if (nfct_query(*hp, NFCT_Q_DUMP_FILTER, filter))
			err = errno ? errno : EIO;
		nfct_callback_unregister(*hp);
	}
	nfct_filter_dump_destroy(filter);
	return err;
}

void ct_stale_free(struct ct_stale *s)
{
	if (!s)
		return;
	free(s->v);
	free(s);
}

/* What the dump callback sees and collects. */
struct dump {
	const struct ct_stale *s;
	struct nf_conntrack **match;
	size_t n, cap;
	int err;
};

static bool ct_stale_hit(const struct ct_stale *s, const struct nf_conntrack *ct)
{
	struct ct_target t = { 0 };
	const void *a;

	if (!nfct_attr_is_set(ct, ATTR_ORIG_L4PROTO) ||
	    nfct_get_attr_u8(ct, ATTR_ORIG_L4PROTO) != IPPROTO_UDP ||
	    !nfct_attr_is_set(ct, ATTR_REPL_PORT_SRC))
		return false;
	t.family = nfct_get_attr_u8(ct, ATTR_REPL_L3PROTO);
	if (t.family == AF_INET && (a = nfct_get_attr(ct, ATTR_REPL_IPV4_SRC)))
		memcpy(t.addr, a, 4);
	else if (t.family == AF_INET6 && (a = nfct_get_attr(ct, ATTR_REPL_IPV6_SRC)))
		memcpy(t.addr, a, 16);
	else
		return false;
	t.port = nfct_get_attr_u16(ct, ATTR_REPL_PORT_SRC);	/* network order */
	return bsearch(&t, s->v, s->n, sizeof(t), target_cmp) != NULL;
}

static int dump_cb(struct nf_conntrack *ct, void *data)
{
	struct dump *d = data;

	if (!ct_stale_hit(d->s, ct))
		return NFCT_CB_CONTINUE;
	if (VEC_RESERVE(d->match, d->n, d->cap)) {
		d->err = ENOMEM;
		return NFCT_CB_FAILURE;
	}
	/* keep the entry itself: it is what the delete sends back */
	d->match[d->n++] = ct;
	return NFCT_CB_STOLEN;
}

int ct_flush_stale(const struct ct_stale *s, unsigned long *deleted)
{
	struct dump d = { .s = s };
	struct nfct_handle *h = NULL;
	unsigned long n = 0;
	int err;

	if (deleted)
		*deleted = 0;
	if (!s || !s->n)
		return 0;
	/* s is sorted by family first: one family, the kernel sends only it */
	err = ct_dump_dnat(&h, s->v[0].family == s->v[s->n - 1].family ? s->v[0].family : 0,
			   dump_cb, &d);
	if (err && d.err)
		err = d.err;
	if (err)
		goto out;
	/*
	 * The dump is over, so the same handle can send the deletes.  Each
	 * names the entry by its tuple, zone and id; one that expired or was
	 * deleted meanwhile answers ENOENT, which is no error.
	 */
	for (size_t i = 0; i < d.n; i++) {
		errno = 0;
		if (!nfct_query(h, NFCT_Q_DESTROY, d.match[i]))
			n++;
		else if (errno != ENOENT && !err)
			err = errno ? errno : EIO;
	}
out:
	for (size_t i = 0; i < d.n; i++)
		nfct_destroy(d.match[i]);
	free(d.match);
	if (h)
		nfct_close(h);
	if (deleted)
		*deleted = n;
	if (err) {
		errno = err;
		return -1;
	}
	return 0;
}
