// SPDX-License-Identifier: MIT
/* Unit tests of tx_diff and rs_clone on rulesets built by hand. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "affinity.h"
#include "clone.h"
#include "tx.h"
#include "../unit/check.h"

/* A service-proxy shaped ruleset: n services, eps endpoints each. */
static struct rs_ruleset *build(int n, int eps, int extra_ep_of, uint32_t mark)
{
	struct rs_ruleset *rs = rs_new("svcc");
	struct rs_set *ips, *ep, *pods;
	struct rs_chain *c;
	struct rs_rule *r;
	char name[64];

	ips = rs_add_set(rs, "service-ips", RS_IPV4);
	ips->nkey = 3;
	ips->key[0] = RS_F_IPV4; ips->key[1] = RS_F_PROTO; ips->key[2] = RS_F_PORT;
	ips->verdict = true;
	rs_set_layout(ips);
	ep = rs_add_set(rs, "endpoints-0", RS_IPV4);
	ep->nkey = 1;
	ep->key[0] = RS_F_U32;
	ep->ndata = 2;
	ep->data[0] = RS_F_IPV4; ep->data[1] = RS_F_PORT;
	rs_set_layout(ep);
	pods = rs_add_set(rs, "pod-cidrs", RS_IPV4);
	pods->nkey = 1;
	pods->key[0] = RS_F_IPV4;
	pods->interval = true;
	rs_set_layout(pods);
	{
		struct rs_elem *e = rs_add_elem(pods);

		e->key[0] = 10; e->key[1] = 244; e->prefix = 16;
	}
	/* chains first: set pointers move as sets are added, chains do not */
	for (int i = 0; i < n; i++) {
		int k = i == extra_ep_of ? eps + 1 : eps;

		snprintf(name, sizeof(name), "svc-%d", i);
		c = rs_add_chain(rs, name);
		r = rs_add_rule(c);
		r->kind = RS_MARK_UNLESS_SADDR_IN;
		r->set = rs->sets[2].name;
		r->mark = mark;
		r = rs_add_rule(c);
		r->kind = RS_DNAT_NUMGEN;
		r->set = rs->sets[1].name;
		r->l4proto = IPPROTO_TCP;
		r->mod = (uint32_t)k;
		r->offset = (uint32_t)i << 8;
	}
	for (int i = 0; i < n; i++) {
		int k = i == extra_ep_of ? eps + 1 : eps;
		struct rs_elem *e = rs_add_elem(&rs->sets[0]);
		uint32_t vip = htonl(0x0a600000u + (uint32_t)i);
		uint16_t port = htons(80);

		memcpy(e->key, &vip, 4);
		e->key[4] = IPPROTO_TCP;
		memcpy(e->key + 8, &port, 2);
		e->chain = rs->chains[i].name;
		for (int j = 0; j < k; j++) {
			uint32_t key = ((uint32_t)i << 8) + (uint32_t)j;
			uint32_t addr = htonl(0x0af40000u + (uint32_t)(i * 16 + j));

			e = rs_add_elem(&rs->sets[1]);
			memcpy(e->key, &key, 4);
			memcpy(rs_elem_data(&rs->sets[1], e), &addr, 4);
			memcpy(rs_elem_data(&rs->sets[1], e) + 4, &port, 2);
		}
	}
	c = rs_add_chain(rs, "services");
	r = rs_add_rule(c);
	r->kind = RS_DISPATCH;
	r->set = rs->sets[0].name;
	c = rs_add_chain(rs, "nat-prerouting");
	c->hook = RS_HOOK_PREROUTING;
	c->nat = true;
	c->priority = -100;
	r = rs_add_rule(c);
	r->kind = RS_JUMP;
	r->target = rs->chains[rs->nchains - 2].name;
	if (rs_finish(rs)) {
		rs_free(rs);
		return NULL;
	}
	return rs;
}

static size_t count(const struct tx *tx, enum tx_kind k)
{
	size_t n = 0;

	for (size_t i = 0; i < tx->nops; i++)
		n += tx->ops[i].kind == k;
	return n;
}

static void test_full_load_order(void)
{
	struct rs_ruleset *rs = build(3, 2, -1, 0x4000);
	struct tx *tx = tx_diff(NULL, rs);
	static const enum tx_kind phase[] = { TX_ADD_TABLE, TX_ADD_SET, TX_ADD_CHAIN,
					      TX_ADD_RULE, TX_ADD_ELEMS };
	size_t p = 0, i = 0;

	CHECK(tx && tx->nops > 0);
	/* table, sets, chains, rules, elements, then the base chain and its rule */
	for (; i < tx->nops; i++) {
		const struct tx_op *op = &tx->ops[i];

		if (op->chain && op->chain->hook != RS_HOOK_NONE)
			break;
		while (p < 5 && op->kind != phase[p])
			p++;
		CHECK(p < 5);
	}
	CHECK(i + 2 == tx->nops);
	CHECK(tx->ops[i].kind == TX_ADD_CHAIN && tx->ops[i + 1].kind == TX_ADD_RULE);
	CHECK(count(tx, TX_ADD_SET) == 3);
	CHECK(tx->ops[1].set_id == 1);
	CHECK(tx_set_id(tx, "pod-cidrs") != 0);
	/* the interval set starts with nft's end element at 0 */
	for (i = 0; i < tx->nops; i++)
		if (tx->ops[i].kind == TX_ADD_ELEMS)
			CHECK(tx->ops[i].zero_end == tx->ops[i].set->interval);
	tx_free(tx);
	rs_free(rs);
}

static void test_identical_is_empty(void)
{
	struct rs_ruleset *a = build(50, 3, -1, 0x4000), *b = build(50, 3, -1, 0x4000);
	struct rs_ruleset *c = rs_clone(a);
	struct tx *tx = tx_diff(a, b), *tx2 = tx_diff(a, c);
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	CHECK(tx && tx_empty(tx));
	CHECK(tx2 && tx_empty(tx2));
	CHECK(tx_render(tx, f) == 0);
	fclose(f);
	CHECK(len == 0);
	/* the clone's names are its own */
	CHECK(c->chains[0].rules[0].set != a->chains[0].rules[0].set);
	CHECK(!strcmp(c->chains[0].rules[0].set, a->chains[0].rules[0].set));
	CHECK(rs_elem_at(rs_set_find(c, "service-ips"), 0)->chain ==
	      rs_chain_find(c, rs_elem_at(rs_set_find(a, "service-ips"), 0)->chain)->name);
	free(text);
	tx_free(tx);
	tx_free(tx2);
	rs_free(a);
	rs_free(b);
	rs_free(c);
}

/* One more endpoint of one service: its chain is rewritten, and that is all. */
static void test_one_endpoint(void)
{
	struct rs_ruleset *a = build(100, 3, -1, 0x4000), *b = build(100, 3, 42, 0x4000);
	struct tx *tx = tx_diff(a, b);
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	CHECK(tx != NULL);
	tx_render(tx, f);
	fclose(f);
	/* delete vmap elem, delete chain, add chain, 2 rules, add ep elem, add vmap elem */
	CHECK(tx->nops == 7);
	CHECK(count(tx, TX_DEL_CHAIN) == 1 && count(tx, TX_ADD_CHAIN) == 1);
	CHECK(count(tx, TX_DEL_ELEMS) == 1 && count(tx, TX_ADD_ELEMS) == 2);
	CHECK(tx->changed == 2 && tx->added == 1 && tx->deleted == 0);
	CHECK(strstr(text, "delete element inet svcc service-ips {\n\t10.96.0.42 . tcp . 80 : goto svc-42\n}\n"));
	CHECK(strstr(text, "delete chain inet svcc svc-42\n"));
	CHECK(strstr(text, "add rule inet svcc svc-42 meta l4proto tcp dnat ip to numgen inc mod 4 offset 10752 map @endpoints-0\n"));
	CHECK(!strstr(text, "svc-41") && !strstr(text, "flush"));
	/* and back */
	tx_free(tx);
	tx = tx_diff(b, a);
	CHECK(tx && count(tx, TX_DEL_ELEMS) == 2 && count(tx, TX_ADD_ELEMS) == 1 && tx->deleted == 1);
	free(text);
	tx_free(tx);
	rs_free(a);
	rs_free(b);
}

/*
 * Every chain rewritten (a new mark): more than the diff notes one by one.
 * Each goes with its service-ips element, out before and back after; the
 * endpoint elements stay.
 */
static void test_many_chains_rewritten(void)
{
	struct rs_ruleset *a = build(100, 3, -1, 0x4000), *b = build(100, 3, 7, 0x8000);
	struct tx *tx = tx_diff(a, b);
	size_t del = 0, add = 0;

	CHECK(tx != NULL);
	CHECK(count(tx, TX_DEL_CHAIN) == 100 && count(tx, TX_ADD_CHAIN) == 100);
	for (size_t i = 0; i < tx->nops; i++) {
		const struct tx_op *op = &tx->ops[i];

		if (op->kind == TX_DEL_ELEMS && !strcmp(op->set->name, "service-ips"))
			del += op->nelems;
		if (op->kind == TX_ADD_ELEMS && !strcmp(op->set->name, "service-ips"))
			add += op->nelems;
		if ((op->kind == TX_DEL_ELEMS || op->kind == TX_ADD_ELEMS) &&
		    !strcmp(op->set->name, "endpoints-0"))
			CHECK(op->kind == TX_ADD_ELEMS && op->nelems == 1);	/* svc-7's fourth */
	}
	CHECK(del == 100 && add == 100);
	tx_free(tx);
	rs_free(a);
	rs_free(b);
}

/* Deletions come before additions, references before what they refer to. */
static void test_services_gone(void)
{
	struct rs_ruleset *a = build(10, 2, -1, 0x4000), *b = build(4, 2, -1, 0x4000);
	struct tx *tx = tx_diff(a, b);
	size_t last_del_elems = 0, first_del_chain = (size_t)-1;

	CHECK(tx != NULL);
	CHECK(count(tx, TX_DEL_CHAIN) == 6 && count(tx, TX_ADD_CHAIN) == 0);
	for (size_t i = 0; i < tx->nops; i++) {
		if (tx->ops[i].kind == TX_DEL_ELEMS)
			last_del_elems = i;
		if (tx->ops[i].kind == TX_DEL_CHAIN && first_del_chain == (size_t)-1)
			first_del_chain = i;
	}
	CHECK(last_del_elems < first_del_chain);
	CHECK(tx->deleted == 6 + 6 + 12);
	tx_free(tx);
	rs_free(a);
	rs_free(b);
}

/* A chain read back without a fingerprint is rewritten; a set whose type
 * changed is re-created and the chains using it re-bound. */
static void test_unknown_and_retyped(void)
{
	struct rs_ruleset *a = build(3, 1, -1, 0x4000), *b = build(3, 1, -1, 0x4000);
	struct rs_set *s;
	struct tx *tx;

	a->chains[0].fingerprint = 0;
	tx = tx_diff(a, b);
	CHECK(tx && count(tx, TX_DEL_CHAIN) == 1 && count(tx, TX_ADD_CHAIN) == 1);
	tx_free(tx);
	a->chains[0].fingerprint = b->chains[0].fingerprint;

	s = rs_set_find(a, "pod-cidrs");
	s->interval = false;	/* as if the kernel's set had another type */
	tx = tx_diff(a, b);
	CHECK(tx && count(tx, TX_DEL_SET) == 1 && count(tx, TX_ADD_SET) == 1);
	/* every service chain matches on pod-cidrs: flushed and refilled */
	CHECK(count(tx, TX_FLUSH_CHAIN) == 3 && count(tx, TX_ADD_RULE) == 6);
	CHECK(count(tx, TX_DEL_CHAIN) == 0);
	tx_free(tx);
	rs_free(a);
	rs_free(b);
}

/*
 * The load-balancer shapes: a firewall rule naming two sets (the second a
 * range of concatenations), and an ext chain that goes to the svc chain.
 */
static struct rs_ruleset *build_firewall(uint8_t allow_prefix, int svc_mod)
{
	struct rs_ruleset *rs = rs_new("svcc");
	struct rs_set *fw, *allow;
	struct rs_elem *e;
	struct rs_chain *c;
	struct rs_rule *r;

	fw = rs_add_set(rs, "firewall", RS_IPV4);
	fw->nkey = 3;
	fw->key[0] = RS_F_IPV4; fw->key[1] = RS_F_PROTO; fw->key[2] = RS_F_PORT;
	rs_set_layout(fw);
	e = rs_add_elem(fw);
	e->key[0] = 198; e->key[1] = 51; e->key[2] = 100; e->key[3] = 7;
	e->key[4] = IPPROTO_TCP; e->key[9] = 80;
	allow = rs_add_set(rs, "firewall-allow", RS_IPV4);
	allow->nkey = 4;
	allow->key[0] = RS_F_IPV4; allow->key[1] = RS_F_PROTO;
	allow->key[2] = RS_F_PORT; allow->key[3] = RS_F_IPV4;
	allow->interval = true;
	rs_set_layout(allow);
	e = rs_add_elem(allow);
	memcpy(e->key, rs_elem_at(&rs->sets[0], 0)->key, 12);
	e->key[12] = 10;
	e->prefix = allow_prefix;
	c = rs_add_chain(rs, "svc-0");
	r = rs_add_rule(c);
	r->kind = RS_MARK;
	r->mark = 0x4000;
	r->mod = (uint32_t)svc_mod;	/* a stand-in for a changed svc chain */
	c = rs_add_chain(rs, "ext-0");
	r = rs_add_rule(c);
	r->kind = RS_GOTO;
	r->target = rs->chains[0].name;
	c = rs_add_chain(rs, "services");
	r = rs_add_rule(c);
	r->kind = RS_FIREWALL;
	r->set = rs->sets[0].name;
	r->set2 = rs->sets[1].name;
	if (rs_finish(rs)) {
		rs_free(rs);
		return NULL;
	}
	return rs;
}

static void test_firewall(void)
{
	struct rs_ruleset *a = build_firewall(8, 1), *b = build_firewall(16, 1);
	struct rs_ruleset *c = rs_clone(a), *d = build_firewall(8, 2);
	struct tx *tx = tx_diff(NULL, a);
	struct rs_set *s;

	CHECK(a && b && c && d && tx);
	/* a range of concatenations gets no end element at 0 */
	for (size_t i = 0; tx && i < tx->nops; i++)
		if (tx->ops[i].kind == TX_ADD_ELEMS)
			CHECK(!tx->ops[i].zero_end);
	tx_free(tx);
	/* the clone's second set name is its own */
	s = rs_set_find(c, "firewall-allow");
	CHECK(rs_chain_find(c, "services")->rules[0].set2 == s->name);
	tx = tx_diff(a, c);
	CHECK(tx && tx_empty(tx));
	tx_free(tx);
	/* another source range: one element out, one in, nothing else */
	tx = tx_diff(a, b);
	CHECK(tx && tx->nops == 2 && count(tx, TX_DEL_ELEMS) == 1 && count(tx, TX_ADD_ELEMS) == 1);
	tx_free(tx);
	/* the second set re-created: the rule naming it is re-bound */
	s = rs_set_find(a, "firewall-allow");
	s->interval = false;
	tx = tx_diff(a, b);
	CHECK(tx && count(tx, TX_DEL_SET) == 1 && count(tx, TX_FLUSH_CHAIN) == 1);
	CHECK(tx && tx->ops[0].kind == TX_FLUSH_CHAIN && !strcmp(tx->ops[0].chain->name, "services"));
	tx_free(tx);
	s->interval = true;
	/* the goto target re-created: the chain going to it is re-bound */
	tx = tx_diff(a, d);
	CHECK(tx && count(tx, TX_DEL_CHAIN) == 1 && count(tx, TX_FLUSH_CHAIN) == 1);
	CHECK(tx && tx->ops[0].kind == TX_FLUSH_CHAIN && !strcmp(tx->ops[0].chain->name, "ext-0"));
	tx_free(tx);
	rs_free(a);
	rs_free(b);
	rs_free(c);
	rs_free(d);
}

/* An affinity service: vip 10.96.0.<vip>, tcp 80 -> endpoints 10.244.1.<eps[i]>:8080. */
struct aff_svc {
	uint8_t vip;
	const uint8_t *eps;
	int neps;
	uint16_t nodeport;	/* 0: none */
};

static struct rs_set *add_verdict_map(struct rs_ruleset *rs, const char *name, int nkey,
				      const enum rs_ftype *key)
{
	struct rs_set *m = rs_add_set(rs, name, RS_IPV4);

	m->nkey = (uint8_t)nkey;
	memcpy(m->key, key, (size_t)nkey * sizeof(*key));
	m->verdict = true;
	rs_set_layout(m);
	return m;
}

/* One service's chains: an aff- chain per endpoint, its svc- chain, and the
 * ext- chain NodePorts go to.  Sets are looked up by index: 0 affinity-endpoints,
 * 1 affinity-tcp, 2 service-ips, 3 nodeports. */
static void add_aff_svc(struct rs_ruleset *rs, int i, const struct aff_svc *sv)
{
	const char *aff[8], *svc;
	struct rs_chain *c;
	struct rs_rule *r;
	struct rs_elem *e;
	char name[64];

	for (int j = 0; j < sv->neps; j++) {
		uint8_t addr[4] = { 10, 244, 1, sv->eps[j] };

		snprintf(name, sizeof(name), "aff-s%d/tcp/80/%d", i, j);
		c = rs_add_chain(rs, name);
		aff[j] = c->name;
		r = rs_add_rule(c);
		r->kind = RS_AFFINITY_UPDATE;
		r->set = rs->sets[1].name;
		r->l4proto = IPPROTO_TCP;
		r->timeout = 600;
		memcpy(r->addr, addr, 4);
		r->port = 8080;
		r = rs_add_rule(c);
		r->kind = RS_DNAT_TO;
		r->l4proto = IPPROTO_TCP;
		memcpy(r->addr, addr, 4);
		r->port = 8080;
	}
	snprintf(name, sizeof(name), "svc-s%d/tcp/80", i);
	c = rs_add_chain(rs, name);
	svc = c->name;
	r = rs_add_rule(c);
	r->kind = RS_AFFINITY_DNAT;
	r->set = rs->sets[1].name;
	r->l4proto = IPPROTO_TCP;
	r = rs_add_rule(c);
	r->kind = RS_NUMGEN_VMAP;
	r->set = rs->sets[0].name;
	r->mod = (uint32_t)sv->neps;
	r->offset = (uint32_t)i << 8;
	for (int j = 0; j < sv->neps; j++) {
		uint32_t key = ((uint32_t)i << 8) + (uint32_t)j;

		e = rs_add_elem(&rs->sets[0]);
		memcpy(e->key, &key, 4);
		e->chain = aff[j];
	}
	e = rs_add_elem(&rs->sets[2]);
	e->key[0] = 10; e->key[1] = 96; e->key[3] = sv->vip;
	e->key[4] = IPPROTO_TCP;
	e->key[9] = 80;
	e->chain = svc;
	if (!sv->nodeport)
		return;
	snprintf(name, sizeof(name), "ext-s%d/tcp/80", i);
	c = rs_add_chain(rs, name);
	r = rs_add_rule(c);
	r->kind = RS_MARK;
	r->mark = 0x4000;
	r = rs_add_rule(c);
	r->kind = RS_GOTO;
	r->target = svc;
	e = rs_add_elem(&rs->sets[3]);
	e->key[0] = IPPROTO_TCP;
	e->key[4] = (uint8_t)(sv->nodeport >> 8);
	e->key[5] = (uint8_t)sv->nodeport;
	e->chain = c->name;
}

/*
 * Client-ip affinity services: each looks the client up in the shared
 * dynamic map affinity-tcp, else picks one of its aff- chains, which
 * remembers ("update @affinity-tcp { ... : EP }") and DNATs.
 */
static struct rs_ruleset *build_aff(const struct aff_svc *svcs, int n, uint32_t map_timeout)
{
	static const enum rs_ftype ngkey[] = { RS_F_U32 };
	static const enum rs_ftype dest[] = { RS_F_IPV4, RS_F_PROTO, RS_F_PORT };
	struct rs_ruleset *rs = rs_new("svcc");
	struct rs_set *aff;
	struct rs_chain *c;
	struct rs_rule *r;

	add_verdict_map(rs, "affinity-endpoints", 1, ngkey);
	aff = rs_add_set(rs, "affinity-tcp", RS_IPV4);
	aff->nkey = 3;
	aff->key[0] = RS_F_IPV4; aff->key[1] = RS_F_IPV4; aff->key[2] = RS_F_PORT;
	aff->ndata = 2;
	aff->data[0] = RS_F_IPV4; aff->data[1] = RS_F_PORT;
	aff->l4proto = IPPROTO_TCP;
	aff->dynamic = true;
	aff->timeout = map_timeout;
	aff->size = 1048576;
	rs_set_layout(aff);
	add_verdict_map(rs, "service-ips", 3, dest);
	add_verdict_map(rs, "nodeports", 2, dest + 1);
	for (int i = 0; i < n; i++)
		add_aff_svc(rs, i, &svcs[i]);
	c = rs_add_chain(rs, "services");
	r = rs_add_rule(c);
	r->kind = RS_DISPATCH;
	r->set = rs->sets[2].name;
	r = rs_add_rule(c);
	r->kind = RS_NODEPORT_DISPATCH;
	r->set2 = rs->sets[3].name;
	if (rs_finish(rs)) {
		rs_free(rs);
		return NULL;
	}
	return rs;
}

/* One affinity service, vip 10.96.0.10, on endpoints 10.244.1.<eps[i]>. */
static struct rs_ruleset *build_affinity(const uint8_t *eps, int n, uint32_t map_timeout)
{
	struct aff_svc sv = { .vip = 10, .eps = eps, .neps = n };

	return build_aff(&sv, 1, map_timeout);
}

#define AFF_KEY_LEN 12	/* affinity-tcp: key ipv4 . ipv4 . port, then data ipv4 . port */

/* An element of affinity-tcp: client 192.168.0.<client> of vip 10.96.0.<vip>:80
 * on endpoint 10.244.1.<ep>:8080 */
static union rs_elem_buf aff_elem_to(uint8_t client, uint8_t vip, uint8_t ep)
{
	const uint8_t key[] = { 192, 168, 0, client, 10, 96, 0, vip, 0, 80 };
	const uint8_t data[] = { 10, 244, 1, ep, 0x1f, 0x90 };
	union rs_elem_buf b = { 0 };

	memcpy(b.e.key, key, sizeof(key));
	memcpy(b.e.key + AFF_KEY_LEN, data, sizeof(data));
	return b;
}

static union rs_elem_buf aff_elem(uint8_t client, uint8_t ep)
{
	return aff_elem_to(client, 10, ep);
}

/* ... of NodePort 192.168.50.1:<port> */
static union rs_elem_buf aff_elem_np(uint8_t client, uint16_t port, uint8_t ep)
{
	union rs_elem_buf b = aff_elem_to(client, 0, ep);

	b.e.key[4] = 192; b.e.key[5] = 168; b.e.key[6] = 50; b.e.key[7] = 1;
	b.e.key[8] = (uint8_t)(port >> 8);
	b.e.key[9] = (uint8_t)port;
	return b;
}

/*
 * The packet path's elements of a dynamic set are never diffed; its
 * timeout or size changed re-creates it, with every chain naming it.
 */
static void test_dynamic_set(void)
{
	static const uint8_t eps[] = { 5, 6 };
	struct rs_ruleset *a = build_affinity(eps, 2, 10800), *b = build_affinity(eps, 2, 10800);
	struct rs_ruleset *c = build_affinity(eps, 2, 3600);
	struct rs_set *dyn = rs_set_find(a, "affinity-tcp");
	union rs_elem_buf on5 = aff_elem(1, 5), on6 = aff_elem(2, 6);
	struct tx *tx;

	CHECK(a && b && c && dyn && dyn->key_len == AFF_KEY_LEN);
	/* remembered clients, as if read back */
	rs_elem_copy(dyn, rs_add_elem(dyn), &on5.e);
	rs_elem_copy(dyn, rs_add_elem(dyn), &on6.e);
	tx = tx_diff(a, b);
	CHECK(tx && tx_empty(tx));
	tx_free(tx);
	tx = tx_diff(b, a);
	CHECK(tx && tx_empty(tx));
	tx_free(tx);
	/* a fresh load declares the set, with no element */
	tx = tx_diff(NULL, a);
	CHECK(tx && count(tx, TX_ADD_SET) == 4 && count(tx, TX_ADD_ELEMS) == 2);
	for (size_t i = 0; tx && i < tx->nops; i++)
		CHECK(tx->ops[i].kind != TX_ADD_ELEMS || tx->ops[i].set != dyn);
	tx_free(tx);
	/* another timeout: re-created; the 3 chains naming it flushed and refilled */
	tx = tx_diff(a, c);
	CHECK(tx && count(tx, TX_DEL_SET) == 1 && count(tx, TX_ADD_SET) == 1);
	CHECK(tx && count(tx, TX_FLUSH_CHAIN) == 3 && count(tx, TX_ADD_RULE) == 6);
	CHECK(tx && count(tx, TX_DEL_ELEMS) == 0 && count(tx, TX_ADD_ELEMS) == 0);
	CHECK(tx && count(tx, TX_DEL_CHAIN) == 0);
	tx_free(tx);
	rs_set_find(c, "affinity-tcp")->timeout = 10800;
	rs_set_find(c, "affinity-tcp")->size = 65536;
	tx = tx_diff(a, c);
	CHECK(tx && count(tx, TX_DEL_SET) == 1 && count(tx, TX_ADD_SET) == 1);
	tx_free(tx);
	rs_free(a);
	rs_free(b);
	rs_free(c);
}

/*
 * The last affinity service goes: its chains die with the maps they look
 * into.  A set a rule still uses cannot be deleted (EBUSY), and sets go
 * before chains: those chains are flushed first, their rules known or not.
 */
static void test_dying_set_users(void)
{
	static const uint8_t eps[] = { 5, 6 };
	struct rs_ruleset *a = build_affinity(eps, 2, 10800), *b = rs_new("svcc");
	struct tx *tx;
	size_t last_flush = 0, first_del_set = (size_t)-1;

	CHECK(a && b && rs_finish(b) == 0);
	tx = tx_diff(a, b);
	CHECK(tx && count(tx, TX_DEL_SET) == 4 && count(tx, TX_DEL_CHAIN) == 4);
	/* the aff- chains use affinity-tcp, svc- both maps, services the dispatch maps */
	CHECK(tx && count(tx, TX_FLUSH_CHAIN) == 4);
	for (size_t i = 0; tx && i < tx->nops; i++) {
		if (tx->ops[i].kind == TX_FLUSH_CHAIN)
			last_flush = i;
		if (tx->ops[i].kind == TX_DEL_SET && first_del_set == (size_t)-1)
			first_del_set = i;
	}
	CHECK(last_flush < first_del_set);
	tx_free(tx);
	rs_free(a);
	rs_free(b);
}

/* A model as read back: chains with fingerprints and no rules. */
static struct rs_ruleset *strip_rules(struct rs_ruleset *rs)
{
	for (size_t i = 0; i < rs->nchains; i++) {
		free(rs->chains[i].rules);
		rs->chains[i].rules = NULL;
		rs->chains[i].nrules = rs->chains[i].cap = 0;
	}
	return rs;
}

/* Which affinity maps are looked into after an apply, and what is stale there. */
static void test_affinity_stale(void)
{
	static const uint8_t ab[] = { 5, 6 }, ba[] = { 6, 5 }, a_only[] = { 5 }, abc[] = { 5, 6, 7 };
	struct rs_ruleset *old = build_affinity(ab, 2, 10800);
	struct rs_ruleset *same = build_affinity(ab, 2, 10800), *moved = build_affinity(ba, 2, 10800);
	struct rs_ruleset *fewer = build_affinity(a_only, 1, 10800);
	struct rs_ruleset *more = build_affinity(abc, 3, 10800);
	struct rs_ruleset *readback = strip_rules(rs_clone(old));
	union rs_elem_buf on5 = aff_elem(1, 5), on6 = aff_elem(2, 6), on9 = aff_elem(3, 9);
	struct aff_check *c = NULL;

	CHECK(old && same && moved && fewer && more && readback);
	/* a new table, nothing changed, an endpoint more or moved: nothing looked into */
	CHECK(aff_check_new(NULL, true, old, &c) == 0 && c && c->nmaps == 0 && !c->m);
	aff_check_free(c);
	CHECK(aff_check_new(old, true, same, &c) == 0 && c && c->nmaps == 0 && !c->m);
	aff_check_free(c);
	CHECK(aff_check_new(old, true, more, &c) == 0 && c && c->nmaps == 0);
	aff_check_free(c);
	CHECK(aff_check_new(old, true, moved, &c) == 0 && c && c->nmaps == 0);
	aff_check_free(c);
	/* 10.244.1.6 removed: its clients are stale, the others not */
	CHECK(aff_check_new(old, true, fewer, &c) == 0 && c && c->nmaps == 1);
	if (c && c->nmaps == 1) {
		CHECK(!strcmp(c->maps[0]->name, "affinity-tcp") && c->nsuspects == 1);
		CHECK(aff_is_stale(c, c->maps[0], &on6.e) && !aff_is_stale(c, c->maps[0], &on5.e));
		CHECK(aff_is_stale(c, c->maps[0], &on9.e));	/* nobody's endpoint */
	}
	aff_check_free(c);
	/* read back: no rules; every affinity map, but only if a chain changed */
	CHECK(aff_check_new(readback, false, same, &c) == 0 && c && c->nmaps == 0);
	aff_check_free(c);
	CHECK(aff_check_new(readback, false, fewer, &c) == 0 && c && c->nmaps == 1 && c->all_suspect);
	if (c && c->nmaps == 1)
		CHECK(aff_is_stale(c, c->maps[0], &on6.e) && !aff_is_stale(c, c->maps[0], &on5.e));
	aff_check_free(c);
	CHECK(aff_check_new(readback, false, more, &c) == 0 && c && c->nmaps == 1);
	if (c && c->nmaps == 1)
		CHECK(!aff_is_stale(c, c->maps[0], &on6.e) && !aff_is_stale(c, c->maps[0], &on5.e));
	aff_check_free(c);
	/* nothing to look into: nothing sent (no netlink socket needed) */
	CHECK(aff_check_new(old, true, same, &c) == 0);
	{
		uint32_t gen = 7;
		unsigned long n = 1;
		struct rs_ruleset *map = NULL;

		CHECK(aff_forget_stale(NULL, c, &gen, &n, NULL, &map) == 0 && !map && n == 0 && gen == 7);
	}
	aff_check_free(c);
	rs_free(old);
	rs_free(same);
	rs_free(moved);
	rs_free(fewer);
	rs_free(more);
	rs_free(readback);
}

/*
 * The affinity map is shared: an endpoint one service lost may still serve
 * another.  Whose entry it is, its destination tells: the vip, or a
 * NodePort on any address.
 */
static void test_affinity_shared(void)
{
	static const uint8_t ab[] = { 5, 6 }, a[] = { 5 }, bc[] = { 6, 7 };
	const struct aff_svc before[] = { { 10, ab, 2, 30080 }, { 11, bc, 2, 0 } };
	const struct aff_svc after[] = { { 10, a, 1, 30080 }, { 11, bc, 2, 0 } };
	struct rs_ruleset *old = build_aff(before, 2, 10800), *new_rs = build_aff(after, 2, 10800);
	struct rs_ruleset *readback = strip_rules(rs_clone(old));
	union rs_elem_buf s0_on5 = aff_elem_to(1, 10, 5), s0_on6 = aff_elem_to(2, 10, 6);
	union rs_elem_buf s1_on6 = aff_elem_to(3, 11, 6), s1_on7 = aff_elem_to(4, 11, 7);
	union rs_elem_buf np_on6 = aff_elem_np(5, 30080, 6), np_on5 = aff_elem_np(6, 30080, 5);
	union rs_elem_buf gone_on6 = aff_elem_to(7, 12, 6), np_other = aff_elem_np(8, 30081, 6);
	struct rs_ruleset *olds[] = { old, readback };

	CHECK(old && new_rs && readback);
	for (int k = 0; k < 2; k++) {
		struct aff_check *c = NULL;
		const struct rs_set *m;

		CHECK(aff_check_new(olds[k], k == 0, new_rs, &c) == 0 && c && c->nmaps == 1);
		if (!c || c->nmaps != 1) {
			aff_check_free(c);
			continue;
		}
		m = c->maps[0];
		CHECK(aff_is_stale(c, m, &s0_on6.e));	/* s0 lost 6 */
		CHECK(!aff_is_stale(c, m, &s0_on5.e));
		CHECK(!aff_is_stale(c, m, &s1_on6.e));	/* s1 still has 6 */
		CHECK(!aff_is_stale(c, m, &s1_on7.e));
		CHECK(aff_is_stale(c, m, &np_on6.e));	/* s0's NodePort: goto svc-s0 */
		CHECK(!aff_is_stale(c, m, &np_on5.e));
		CHECK(aff_is_stale(c, m, &gone_on6.e));	/* no such destination */
		CHECK(aff_is_stale(c, m, &np_other.e));
		aff_check_free(c);
	}
	rs_free(old);
	rs_free(new_rs);
	rs_free(readback);
}

/* 10,000 services: one endpoint more is a handful of operations, quickly. */
static void test_scale(void)
{
	struct rs_ruleset *a = build(10000, 10, -1, 0x4000), *b = build(10000, 10, 5000, 0x4000);
	struct timespec t0, t1;
	struct tx *tx;
	double ms;

	CHECK(a && b);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	tx = tx_diff(a, b);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	CHECK(tx && tx->nops == 7);
	printf("diff of 10,000 services x 10 endpoints, one endpoint added: %zu ops, %.2f ms\n",
	       tx ? tx->nops : 0, ms);
	tx_free(tx);
	rs_free(a);
	rs_free(b);
}

/* Elements are packed: the big sets' take 24 bytes, not RS_ELEM_MAX. */
static void test_elem_stride(void)
{
	struct rs_ruleset *rs = build(2, 3, -1, 0x4000);

	CHECK(rs);
	if (!rs)
		return;
	CHECK(rs_set_find(rs, "service-ips")->stride == 24);	/* 12 bytes of key, a chain */
	CHECK(rs_set_find(rs, "endpoints-0")->stride == 24);	/* 4 of key, 8 of data */
	CHECK(rs_set_find(rs, "pod-cidrs")->stride == 16);
	CHECK(sizeof(union rs_elem_buf) >= RS_ELEM_MAX);
	/* the second endpoint element: its own key and data, a stride on */
	CHECK(rs_elem_at(rs_set_find(rs, "endpoints-0"), 1)->key[0] == 1 &&
	      rs_elem_data(rs_set_find(rs, "endpoints-0"),
			   rs_elem_at(rs_set_find(rs, "endpoints-0"), 1))[3] == 1);
	rs_free(rs);
}

int main(void)
{
	test_elem_stride();
	test_full_load_order();
	test_identical_is_empty();
	test_many_chains_rewritten();
	test_one_endpoint();
	test_services_gone();
	test_unknown_and_retyped();
	test_firewall();
	test_dynamic_set();
	test_dying_set_users();
	test_affinity_stale();
	test_affinity_shared();
	test_scale();
	return check_done("test-diff");
}
