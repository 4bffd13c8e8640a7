// SPDX-License-Identifier: MIT
/*
 * test-slots: stable endpoint slots (runtime/slots.h) against the kernel
 * (as root, in a private network namespace: tests/runtime/kernel.sh).
 *
 *   test-slots [--endpoints N]
 *
 * A rolling update of an N-endpoint service (weights 1 and 2) among a few
 * others: every endpoint is replaced in turn by a new one, through
 * svcc_runtime_update, through svcc_runtime_apply with one runtime, and
 * through one-shot applies (a runtime each, reading the table back).  After
 * every step the endpoint map read back from the kernel differs from the
 * step before in exactly the slots of the replaced endpoint, which now hold
 * the new one; svcc_runtime_verify of the whole compile finds the table
 * right.  Then endpoints removed and added keep every other slot too, and
 * a new runtime adopts the arranged table and rolls on through updates.
 * Last, the endpoint maps' count (lw_shards) follows the number of keys
 * through updates (shard_growth).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "ruleset.h"
#include "svcc.h"

#define MAXN 512

static int failures;
static unsigned addr[MAXN];	/* the endpoints: 10.244.(a >> 8).(a & 255) */
static size_t n;

static void fail(const char *what, int step)
{
	fprintf(stderr, "FAIL %s, step %d\n", what, step);
	failures++;
}

static void ep_text(unsigned a, char *buf, size_t len)
{
	snprintf(buf, len, "10.244.%u.%u", a >> 8, a & 255);
}

/* The next endpoint address: none ending in .0 or .255. */
static unsigned fresh(unsigned *next)
{
	while ((*next & 255) == 0 || (*next & 255) == 255)
		(*next)++;
	return (*next)++;
}

static struct svcc_config *config(void)
{
	struct svcc_config *cfg = svcc_config_new();
	struct svcc_endpoint eps[MAXN];
	char text[MAXN][32];
	struct svcc_port port = { .port = 80, .proto = SVCC_TCP, .target_port = 8080 };
	struct svcc_service *svc;

	if (!cfg || svcc_config_add_pod_cidr(cfg, "10.244.0.0/16"))
		exit(2);
	for (size_t i = 0; i < n; i++) {
		ep_text(addr[i], text[i], sizeof(text[i]));
		eps[i] = (struct svcc_endpoint){ .addr = text[i], .weight = i % 5 == 0 ? 2 : 1 };
	}
	if (svcc_config_add_service(cfg, "default/roll", &svc) ||
	    svcc_service_set_vip(svc, "10.96.0.10") || svcc_service_set_ports(svc, &port, 1) ||
	    svcc_service_set_endpoints(svc, eps, n))
		exit(2);
	/* neighbours in other slots of the maps */
	for (int k = 0; k < 5; k++) {
		char name[32], vip[32], ep[32];
		struct svcc_endpoint e = { .addr = ep };

		snprintf(name, sizeof(name), "default/other-%d", k);
		snprintf(vip, sizeof(vip), "10.96.1.%d", k + 1);
		snprintf(ep, sizeof(ep), "10.245.0.%d", k + 1);
		if (svcc_config_add_service(cfg, name, &svc) || svcc_service_set_vip(svc, vip) ||
		    svcc_service_set_ports(svc, &port, 1) || svcc_service_set_endpoints(svc, &e, 1))
			exit(2);
	}
	return cfg;
}

/* The data of the endpoint map slots of default/roll, read back: slot -> "addr . port". */
struct slots {
	uint32_t offset, mod;
	uint8_t data[MAXN * 2][20];
};

static int read_slots(struct svcc_runtime *rt, struct slots *out)
{
	struct svcc_ruleset *back = NULL;
	const struct rs_chain *c;
	const struct rs_set *s = NULL;
	int ret = -1;

	if (svcc_runtime_read(rt, &back, NULL) || !back ||
	    !(c = rs_chain_find(back->rs, "svc-default/roll/tcp/80")))
		goto out;
	for (size_t k = 0; k < c->nrules; k++)
		if (c->rules[k].kind == RS_DNAT_NUMGEN) {
			s = rs_set_find(back->rs, c->rules[k].set);
			out->offset = c->rules[k].offset;
			out->mod = c->rules[k].mod;
		}
	if (!s || out->mod > MAXN * 2)
		goto out;
	memset(out->data, 0, sizeof(out->data));
	for (size_t i = 0; i < s->nelems; i++) {
		const struct rs_elem *e = rs_elem_at(s, i);
		uint32_t key;

		memcpy(&key, e->key, 4);
		if (key >= out->offset && key - out->offset < out->mod)
			memcpy(out->data[key - out->offset], rs_elem_data(s, e), s->data_len);
	}
	ret = 0;
out:
	svcc_ruleset_free(back);
	return ret;
}

/* Slots that differ between a and b, over the shorter range. */
static size_t changed_slots(const struct slots *a, const struct slots *b)
{
	size_t d = 0, m = a->mod < b->mod ? a->mod : b->mod;

	for (size_t i = 0; i < m; i++)
		d += memcmp(a->data[i], b->data[i], sizeof(a->data[i])) != 0;
	return d + (a->mod > b->mod ? a->mod - b->mod : b->mod - a->mod);
}

/*
 * svcc_runtime_verify of the whole compile, by a runtime of its own: verify
 * reads the table back into its runtime, whose next update then applies
 * whole (svcc.h), which would hide the update path from the test.
 */
static int verify_whole(struct svcc_ctx *ctx, struct svcc_config *cfg)
{
	struct svcc_ruleset *rs = NULL;
	struct svcc_runtime *own = NULL;
	FILE *null = fopen("/dev/null", "w");
	int r = -1;

	if (null && !svcc_compile(ctx, cfg, NULL, &rs) && !svcc_runtime_new(ctx, "svcc", 0, &own))
		r = svcc_runtime_verify(own, rs, null);
	if (null)
		fclose(null);
	svcc_runtime_free(own);
	svcc_ruleset_free(rs);
	return r;
}

static int apply_whole(struct svcc_ctx *ctx, struct svcc_runtime *rt, struct svcc_config *cfg)
{
	struct svcc_ruleset *rs = NULL;
	int r = -1;

	if (!svcc_compile(ctx, cfg, NULL, &rs))
		r = svcc_runtime_apply(rt, rs);
	svcc_ruleset_free(rs);
	return r;
}

enum path { UPDATE, APPLY, ONE_SHOT };
static const char *const path_name[] = { "svcc_runtime_update", "svcc_runtime_apply",
					 "one-shot apply" };

static void rolling(enum path p, unsigned *next_addr)
{
	struct svcc_ctx *ctx = svcc_ctx_new();
	struct svcc_runtime *rt = NULL;
	struct svcc_config *cfg = config();
	static struct slots before, after;
	const char *name = "default/roll";
	unsigned long ops = 0, msgs = 0;

	system("nft delete table inet svcc 2> /dev/null");
	if (svcc_runtime_new(ctx, "svcc", 0, &rt) || svcc_runtime_apply_config(rt, cfg) ||
	    read_slots(rt, &before)) {
		svcc_diag_print(ctx, stderr);
		fail("first apply", -1);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		int r;

		addr[i] = fresh(next_addr);	/* endpoint i replaced */
		svcc_config_free(cfg);
		cfg = config();
		if (p == ONE_SHOT) {
			svcc_runtime_free(rt);
			rt = NULL;
			if (svcc_runtime_new(ctx, "svcc", SVCC_RT_ONE_SHOT, &rt)) {
				fail("runtime", (int)i);
				break;
			}
		}
		r = p == UPDATE ? svcc_runtime_update(rt, cfg, &name, 1) : apply_whole(ctx, rt, cfg);
		if (r) {
			svcc_diag_print(ctx, stderr);
			fail(path_name[p], (int)i);
			break;
		}
		ops += svcc_runtime_stats(rt)->added + svcc_runtime_stats(rt)->deleted;
		msgs += svcc_runtime_stats(rt)->messages;
		if (p == ONE_SHOT) {	/* read back through a runtime of its own */
			svcc_runtime_free(rt);
			if (svcc_runtime_new(ctx, "svcc", 0, &rt)) {
				fail("runtime", (int)i);
				break;
			}
		}
		if (read_slots(rt, &after)) {
			fail("read back", (int)i);
			break;
		}
		/* a weight-2 endpoint holds two slots */
		if (changed_slots(&before, &after) != (i % 5 == 0 ? 2u : 1u) || after.mod != before.mod) {
			fprintf(stderr, "  %zu slots changed\n", changed_slots(&before, &after));
			fail("only the replaced endpoint's slots change", (int)i);
		}
		if (verify_whole(ctx, cfg) != 0)
			fail("verify of the whole compile", (int)i);
		before = after;
	}
	/* one endpoint removed, then one added: the others keep their slots */
	for (int step = 0; step < 2 && !failures; step++) {
		size_t kept;

		if (step == 0)
			n--;
		else
			addr[n++] = fresh(next_addr);
		svcc_config_free(cfg);
		cfg = config();
		if ((p == UPDATE ? svcc_runtime_update(rt, cfg, &name, 1) : apply_whole(ctx, rt, cfg)) ||
		    read_slots(rt, &after)) {
			fail(step ? "add" : "remove", -1);
			break;
		}
		kept = changed_slots(&before, &after);
		/* removing: the last slot goes, its endpoint fills the hole (2);
		 * adding: one new slot (1) */
		if (kept != (step ? 1u : 2u)) {
			fprintf(stderr, "  %zu slots changed\n", kept);
			fail(step ? "an endpoint added takes one new slot" :
				    "an endpoint removed: the last slot's endpoint fills its hole", -1);
		}
		if (verify_whole(ctx, cfg) != 0)
			fail("verify after remove/add", -1);
		before = after;
	}
	/*
	 * A new runtime adopts the arranged table (svcc_runtime_apply_config
	 * sends nothing, and takes its model from the read-back), then rolls
	 * on through svcc_runtime_update.
	 */
	addr[0] = fresh(next_addr);	/* the lowest slot now holds the highest address */
	svcc_config_free(cfg);
	cfg = config();
	if (!failures && ((p == UPDATE ? svcc_runtime_update(rt, cfg, &name, 1) : apply_whole(ctx, rt, cfg)) ||
			  read_slots(rt, &before)))
		fail("an arrangement other than the compiled one", -1);
	svcc_runtime_free(rt);
	rt = NULL;
	if (!failures && (svcc_runtime_new(ctx, "svcc", 0, &rt) || svcc_runtime_apply_config(rt, cfg) ||
			  svcc_runtime_stats(rt)->messages))
		fail("a new runtime's apply_config of the arranged table sends nothing", -1);
	for (size_t i = 1; i < 4 && !failures; i++) {
		addr[i] = fresh(next_addr);
		svcc_config_free(cfg);
		cfg = config();
		if (svcc_runtime_update(rt, cfg, &name, 1) || read_slots(rt, &after)) {
			fail("update after adoption", (int)i);
			break;
		}
		if (changed_slots(&before, &after) != (i % 5 == 0 ? 2u : 1u))
			fail("after adoption, only the replaced endpoint's slots change", (int)i);
		if (verify_whole(ctx, cfg) != 0)
			fail("verify after adoption", (int)i);
		before = after;
	}
	printf("%s: rolling update of %zu endpoints: %lu objects added or deleted, %lu messages\n",
	       path_name[p], n, ops, msgs);
out:
	svcc_runtime_free(rt);
	svcc_config_free(cfg);
	svcc_ctx_free(ctx);
}

/* ---- the endpoint maps' count follows the keys (lw_shards) ---------------- */

#define GROW_SERVICES 100

/* GROW_SERVICES services of eps[i] endpoints each: 10.244.0.1 and on. */
static struct svcc_config *grow_config(const size_t *eps)
{
	static struct svcc_endpoint e[1024];
	static char text[1024][32];
	struct svcc_port port = { .port = 80, .proto = SVCC_TCP, .target_port = 8080 };
	struct svcc_config *cfg = svcc_config_new();
	struct svcc_service *svc;
	unsigned next = 1;

	for (size_t i = 0; i < 1024; i++) {
		ep_text(fresh(&next), text[i], sizeof(text[i]));
		e[i] = (struct svcc_endpoint){ .addr = text[i], .weight = 1 };
	}
	if (!cfg || svcc_config_add_pod_cidr(cfg, "10.244.0.0/16"))
		exit(2);
	for (int i = 0; i < GROW_SERVICES; i++) {
		char name[32], vip[32];

		snprintf(name, sizeof(name), "default/grow-%d", i);
		snprintf(vip, sizeof(vip), "10.96.2.%d", i + 1);
		if (svcc_config_add_service(cfg, name, &svc) || svcc_service_set_vip(svc, vip) ||
		    svcc_service_set_ports(svc, &port, 1) || svcc_service_set_endpoints(svc, e, eps[i]))
			exit(2);
	}
	return cfg;
}

/* The TCP endpoint maps a whole compile of cfg chooses; 0 if it fails. */
static unsigned whole_shards(struct svcc_ctx *ctx, const struct svcc_config *cfg)
{
	struct svcc_ruleset *rs = NULL;
	unsigned s = 0;

	if (!svcc_compile(ctx, cfg, NULL, &rs))
		s = rs->rs->ep_shards[0][0];
	svcc_ruleset_free(rs);
	return s;
}

/*
 * 100 services of 936 endpoints (93,600 keys: 128 maps), one more endpoint
 * each for 30 of them (93,630: a whole compile chooses 256), one fewer for
 * one, then back.  An update that changes the count applies whole; one that
 * does not compiles its service alone; the table is always the whole
 * compile's.
 */
static void shard_growth(void)
{
	static const struct { int svc; long delta; size_t compiled; unsigned shards; } steps[] = {
		{ -1, 1, GROW_SERVICES, 256 },	/* 30 services gain one: whole */
		{ 40, -1, 1, 256 },		/* 93,629: still 256, alone */
		{ -1, -1, GROW_SERVICES, 128 },	/* 30 lose one (93,598): whole */
		{ 40, 1, 1, 128 },		/* 93,599, alone */
	};
	struct svcc_ctx *ctx = svcc_ctx_new();
	struct svcc_runtime *rt = NULL;
	struct svcc_config *cfg;
	size_t eps[GROW_SERVICES];

	for (int i = 0; i < GROW_SERVICES; i++)
		eps[i] = 936;
	cfg = grow_config(eps);
	if (!ctx || svcc_runtime_new(ctx, "svcc", 0, &rt) || svcc_runtime_delete_table(rt) ||
	    svcc_runtime_apply_config(rt, cfg) || whole_shards(ctx, cfg) != 128) {
		svcc_diag_print(ctx, stderr);
		fail("shard growth: the first apply, 128 maps", 0);
		goto out;
	}
	for (int k = 0; k < (int)(sizeof(steps) / sizeof(steps[0])); k++) {
		const char *names[30];
		char buf[30][32];
		size_t nn = 0;

		for (int i = 0; i < GROW_SERVICES; i++)
			if (steps[k].svc == i || (steps[k].svc < 0 && i < 30)) {
				eps[i] += (size_t)steps[k].delta;
				snprintf(buf[nn], sizeof(buf[nn]), "default/grow-%d", i);
				names[nn] = buf[nn];
				nn++;
			}
		svcc_config_free(cfg);
		cfg = grow_config(eps);
		if (whole_shards(ctx, cfg) != steps[k].shards)
			fail("shard growth: the whole compile's map count", k);
		if (svcc_runtime_update(rt, cfg, names, nn)) {
			svcc_diag_print(ctx, stderr);
			fail("shard growth: update", k);
			break;
		}
		if (svcc_runtime_stats(rt)->services_compiled != steps[k].compiled)
			fail("shard growth: services compiled", k);
		if (verify_whole(ctx, cfg) != 0)
			fail("shard growth: the table is not the whole compile's", k);
	}
out:
	svcc_config_free(cfg);
	if (rt)
		svcc_runtime_delete_table(rt);
	svcc_runtime_free(rt);
	svcc_ctx_free(ctx);
}

int main(int argc, char **argv)
{
	size_t want = 40;
	unsigned next_addr = 256 + 1;

	if (argc == 3 && !strcmp(argv[1], "--endpoints"))
		want = strtoul(argv[2], NULL, 10);
	if (want < 2 || want > MAXN - 1) {
		fprintf(stderr, "usage: test-slots [--endpoints 2..%d]\n", MAXN - 1);
		return 2;
	}
	for (enum path p = UPDATE; p <= ONE_SHOT; p++) {
		n = want;
		for (size_t i = 0; i < n; i++)
			addr[i] = fresh(&next_addr);
		rolling(p, &next_addr);
	}
	shard_growth();
	printf("test-slots: %s\n", failures ? "FAILED" : "ok");
	return failures ? 1 : 0;
}
