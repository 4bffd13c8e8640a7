// SPDX-License-Identifier: MIT
/* Unit tests of tx_diff and rs_clone on rulesets built by hand. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clone.h"
#include "tx.h"

static int failures;

#define CHECK(cond) do { if (!(cond)) { failures++; \
	fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); } } while (0)

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
			memcpy(e->data, &addr, 4);
			memcpy(e->data + 4, &port, 2);
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
	CHECK(rs_set_find(c, "service-ips")->elems[0].chain ==
	      rs_chain_find(c, rs_set_find(a, "service-ips")->elems[0].chain)->name);
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
	memcpy(e->key, rs->sets[0].elems[0].key, 12);
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

int main(void)
{
	test_full_load_order();
	test_identical_is_empty();
	test_one_endpoint();
	test_services_gone();
	test_unknown_and_retyped();
	test_firewall();
	test_scale();
	if (failures)
		fprintf(stderr, "%d checks failed\n", failures);
	return failures ? 1 : 0;
}
