// SPDX-License-Identifier: MIT
/*
 * test-update: svcc_runtime_update against the kernel (run it as root in a
 * private network namespace: tests/runtime/kernel.sh does).
 *
 *   test-update [--services N] [--steps N] [--seed N] [--nft]  (--nft: SVCC_RT_VIA_NFT)
 *
 * From a generated config (nodeports, UDP, dual-stack, affinity, weights,
 * traffic policies, external and load-balancer addresses), apply_config,
 * then random changes each applied through svcc_runtime_update with the
 * names it touched: endpoints changed, services added and removed, ports and
 * vips changed, a vip moved from one service to another in two steps.
 * Checks:
 *  - every update compiles only the named services (whole applies, for a
 *    slot collision, are counted and must stay rare);
 *  - every 20 steps, the in-memory model equals a whole compile of the
 *    config (svcc_runtime_plan of it is empty);
 *  - taking another service's vip is refused and changes nothing;
 *  - an update making an endpoint another service's vip, or the other way
 *    round, is refused and changes nothing;
 *  - drift made with nft (a rule inserted, a chain flushed, an element and
 *    a chain added) is found by svcc_runtime_verify and, after a resync,
 *    repaired by the next update;
 *  - at the end, svcc_runtime_apply of the whole compile sends nothing,
 *    and the kernel's table lists as a fresh whole apply in another
 *    namespace does.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <sched.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "svcc.h"

#define MAXP 3
#define MAXE 8

struct ep {
	unsigned addr;		/* 10.244.x.y / fd00:10:244::x:y */
	unsigned weight, local, term;
};

struct svc {
	char name[64];
	int alive, anchor;
	unsigned vip;		/* 10.96.x.y (and fd00:10:96::x:y if v6) */
	int v6, aff, ext, lb, plocal;
	int np;
	struct { unsigned port, udp, nodeport; } p[MAXP];
	int ne;
	struct ep e[MAXE];
};

static struct svc *S;
static size_t nS, capS;
static unsigned next_vip = 1, next_nodeport = 30000, next_name;
static int failures;
static int no_aff6;	/* --nft: nft 1.0.6 cannot add IPv6 affinity update rules */

static void fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "FAIL: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	failures++;
}

static void rand_eps(struct svc *s)
{
	s->ne = rand() % 4 == 0 ? 0 : 1 + rand() % (MAXE - 1);
	for (int i = 0; i < s->ne; i++) {
		s->e[i].addr = 1 + (unsigned)rand() % 60000;
		for (int j = 0; j < i; j++)
			if (s->e[j].addr == s->e[i].addr)
				s->e[i].addr = 60001 + (unsigned)i;	/* unique */
		s->e[i].weight = rand() % 5 == 0 ? 1 + rand() % 3 : 0;
		s->e[i].local = rand() % 3 == 0;
		s->e[i].term = rand() % 10 == 0;
	}
}

/* A rolling update's step: the others keep their slots (runtime/slots.h). */
static void roll_eps(struct svc *s)
{
	int what = rand() % 3;

	if (s->ne == 0 || (what == 2 && s->ne < MAXE)) {
		s->e[s->ne].addr = 60010 + (unsigned)(rand() % 5000);
		s->e[s->ne].weight = 0;
		s->e[s->ne].local = s->e[s->ne].term = 0;
		for (int j = 0; j < s->ne; j++)
			if (s->e[j].addr == s->e[s->ne].addr)
				return;	/* taken: nothing this time */
		s->ne++;
	} else if (what == 1) {
		int i = rand() % s->ne;

		s->e[i] = s->e[s->ne - 1];
		s->ne--;
	} else {
		unsigned a = 65100 + (unsigned)(rand() % 400);

		for (int j = 0; j < s->ne; j++)
			if (s->e[j].addr == a)
				return;
		s->e[rand() % s->ne].addr = a;
	}
}

static void rand_ports(struct svc *s)
{
	s->np = 1 + rand() % 2;
	for (int i = 0; i < s->np; i++) {
		s->p[i].port = 80 + (unsigned)i * 1000 + (unsigned)rand() % 3;
		s->p[i].udp = rand() % 4 == 0;
		s->p[i].nodeport = rand() % 6 == 0 ? next_nodeport++ : 0;
	}
}

static struct svc *new_svc(int anchor)
{
	struct svc *s;

	if (nS == capS) {
		capS = capS ? 2 * capS : 1024;
		S = realloc(S, capS * sizeof(*S));
	}
	s = &S[nS++];
	memset(s, 0, sizeof(*s));
	snprintf(s->name, sizeof(s->name), "ns%u/svc-%u", next_name % 7, next_name);
	next_name++;
	s->alive = 1;
	s->anchor = anchor;
	s->vip = next_vip++;
	s->v6 = rand() % 5 == 0;
	s->aff = rand() % 8 == 0 && !(s->v6 && no_aff6);
	s->ext = rand() % 10 == 0;
	s->lb = rand() % 10 == 0;
	s->plocal = rand() % 8 == 0 ? 1 + rand() % 2 : 0;
	rand_ports(s);
	rand_eps(s);
	return s;
}

static void put_svc(FILE *f, const struct svc *s)
{
	fprintf(f, "service %s {\n    vip 10.96.%u.%u;\n", s->name, s->vip >> 8, s->vip & 255);
	if (s->v6)
		fprintf(f, "    vip fd00:10:96::%x;\n", s->vip);
	for (int i = 0; i < s->np; i++) {
		fprintf(f, "    port p%d %u/%s -> %u;\n", i, s->p[i].port, s->p[i].udp ? "udp" : "tcp",
			s->p[i].port + 8000);
		if (s->p[i].nodeport)
			fprintf(f, "    nodeport p%d %u;\n", i, s->p[i].nodeport);
	}
	if (s->aff)
		fprintf(f, "    affinity client-ip timeout 600;\n");
	if (s->ext)
		fprintf(f, "    external-ip 192.0.%u.%u;\n", s->vip >> 8, s->vip & 255);
	if (s->lb)
		fprintf(f, "    load-balancer 198.51.%u.%u;\n    source-ranges 203.0.113.0/24;\n",
			s->vip >> 8, s->vip & 255);
	if (s->plocal)
		fprintf(f, "    traffic-policy %s local;\n", s->plocal == 1 ? "external" : "internal");
	for (int i = 0; i < s->ne; i++) {
		const struct ep *e = &s->e[i];

		fprintf(f, "    endpoint 10.244.%u.%u%s%s", e->addr >> 8, e->addr & 255,
			e->local ? " local" : "", e->term ? " terminating" : "");
		if (e->weight)
			fprintf(f, " weight %u", e->weight);
		fprintf(f, ";\n");
		if (s->v6)
			fprintf(f, "    endpoint fd00:10:244::%x%s;\n", e->addr, e->local ? " local" : "");
	}
	fprintf(f, "}\n");
}

static struct svcc_config *config(struct svcc_ctx *ctx)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	struct svcc_config *cfg;

	fprintf(f, "cluster {\n    pod-cidr 10.244.0.0/16;\n    pod-cidr fd00:10:244::/56;\n"
		   "    service-cidr 10.96.0.0/12;\n    service-cidr fd00:10:96::/112;\n"
		   "    node-ip 192.168.50.2;\n}\n");
	for (size_t i = 0; i < nS; i++)
		if (S[i].alive)
			put_svc(f, &S[i]);
	fclose(f);
	if (getenv("DUMP") && (f = fopen(getenv("DUMP"), "w"))) {	/* the last config */
		fwrite(text, 1, len, f);
		fclose(f);
	}
	if (svcc_parse_string(ctx, "gen", text, len, &cfg)) {
		svcc_diag_print(ctx, stderr);
		fprintf(stderr, "test-update: generated config does not parse\n");
		exit(1);
	}
	free(text);
	return cfg;
}

static struct svc *pick(void)
{
	for (;;) {
		struct svc *s = &S[(size_t)rand() % nS];

		if (s->alive && !s->anchor)
			return s;
	}
}

/* The whole compile of cfg; the model must equal it (the plan is empty). */
static void check_model(struct svcc_ctx *ctx, struct svcc_runtime *rt,
			const struct svcc_config *cfg, int step)
{
	struct svcc_ruleset *rs;
	FILE *devnull = fopen("/dev/null", "w");
	const struct svcc_apply_stats *st;

	if (svcc_compile(ctx, cfg, NULL, &rs) || svcc_runtime_plan(rt, rs, devnull)) {
		fail("step %d: compile/plan", step);
	} else {
		st = svcc_runtime_stats(rt);
		if (st->added || st->changed || st->deleted) {
			fail("step %d: the model differs from a whole compile (+%lu ~%lu -%lu)", step,
			     st->added, st->changed, st->deleted);
			svcc_runtime_plan(rt, rs, stderr);
		}
	}
	svcc_ruleset_free(rs);
	fclose(devnull);
}

static int update(struct svcc_ctx *ctx, struct svcc_runtime *rt, const char **names, size_t n,
		  size_t ncompiled, unsigned long *whole, int step, int check)
{
	struct svcc_config *cfg = config(ctx);
	const struct svcc_apply_stats *st;
	int ret = svcc_runtime_update(rt, cfg, names, n);

	st = svcc_runtime_stats(rt);
	if (ret) {
		svcc_config_free(cfg);
		return -1;
	}
	if (st->services_compiled != ncompiled) {
		(*whole)++;
		fprintf(stderr, "step %d: applied whole (%lu services compiled)\n", step,
			st->services_compiled);
	}
	if (check && step % 20 == 0)
		check_model(ctx, rt, cfg, step);
	svcc_config_free(cfg);
	return 0;
}

/* lower_place.c's placement of a group: FNV-1a of its name -> shard, slot */
static uint64_t fnv(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ull;
	}
	return h;
}

/*
 * Two services whose groups hash to the same shard and slot: the second in
 * name order sits in the next slot.  Removing the first must move it back
 * (a whole apply), adding it again must push it on: the model stays the
 * whole compile's.
 */
static int cmp_u64(const void *x, const void *y)
{
	uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;

	return (a > b) - (a < b);
}

static void collision(struct svcc_ctx *ctx, struct svcc_runtime *rt, unsigned long *whole)
{
	enum { N = 40000 };
	uint64_t *key = malloc(N * sizeof(*key));
	char chain[96];
	struct svc *a, *b;
	const char *names[2];
	size_t base = nS, i;
	unsigned long edits_whole = 0;

	for (i = 0; i < N; i++) {
		uint64_t h;

		snprintf(chain, sizeof(chain), "svc-col/c%05zu/tcp/80", i);
		h = fnv(chain);
		key[i] = ((h % 256) << 16 | ((h >> 32) % 65536)) << 32 | i;
	}
	qsort(key, N, sizeof(*key), cmp_u64);
	for (i = 1; i < N && key[i] >> 32 != key[i - 1] >> 32; i++)
		;
	if (i == N) {
		fail("no colliding names");
		free(key);
		return;
	}
	a = new_svc(0);
	snprintf(a->name, sizeof(a->name), "col/c%05u", (unsigned)key[i - 1]);
	b = new_svc(0);
	snprintf(b->name, sizeof(b->name), "col/c%05u", (unsigned)key[i]);
	free(key);
	if (strcmp(a->name, b->name) > 0) {
		struct svc t = *a;

		*a = *b;
		*b = t;
	}
	for (size_t k = base; k < nS; k++) {
		struct svc *s = &S[k];

		s->v6 = s->aff = s->ext = s->lb = s->plocal = 0;
		s->np = 1;
		s->p[0].port = 80, s->p[0].udp = 0, s->p[0].nodeport = 0;
		s->ne = 2;
		s->e[0] = (struct ep){ .addr = 61000 + (unsigned)k };
		s->e[1] = (struct ep){ .addr = 62000 + (unsigned)k };
	}
	names[0] = a->name, names[1] = b->name;
	if (update(ctx, rt, names, 2, 2, whole, 1000, 1))
		fail("collision: adding both");
	/* an endpoint of the first replaced, the second in the next slot: both
	 * stay where they are, so it is made alone (and the model checked) */
	a->e[1].addr = 63000;
	if (update(ctx, rt, names, 1, 1, &edits_whole, 1080, 1) || edits_whole)
		fail("collision: an endpoint edit beside the next slot's group applied whole");
	a->alive = 0;
	if (update(ctx, rt, names, 1, 0, whole, 1020, 1))
		fail("collision: removing the first");
	a->alive = 1;
	if (update(ctx, rt, names, 1, 1, whole, 1040, 1))
		fail("collision: adding it again");
	b->alive = 0;
	names[0] = b->name;
	if (update(ctx, rt, names, 1, 0, whole, 1060, 1))
		fail("collision: removing the second");
}

/*
 * The table, one token a line, sorted: element order is the kernel's.
 * Numeric keys are left out: an endpoint map's slots are the kernel's
 * arrangement (runtime/slots.h), its endpoints and their counts compared.
 */
static char *listing_of(const char *table)
{
	/* without set-fingerprints' elements: the generation differs between
	 * namespaces, and an arranged endpoint map hashes otherwise */
	char cmd[256];
	FILE *p;

	snprintf(cmd, sizeof(cmd), "nft list table inet %s | tr ',{}' '\\n\\n\\n' | "
		 "sed 's/^[[:space:]]*//;s/[[:space:]]*$//' | grep -v '^$' | "
		 "grep -v '^0x[0-9a-f]* : 0x' | sed -E 's/^[0-9]+ : //' | LC_ALL=C sort", table);
	p = popen(cmd, "r");
	char *text = NULL;
	size_t len = 0, n;
	char buf[65536];
	FILE *m = open_memstream(&text, &len);

	while (p && (n = fread(buf, 1, sizeof(buf), p)) > 0)
		fwrite(buf, 1, n, m);
	if (p)
		pclose(p);
	fclose(m);
	return text;
}

static char *listing(void)
{
	return listing_of("svcc");
}

/*
 * Drift made underneath with nft, inside chains and sets svcc keeps: an
 * agent's resync reads the table, rules included, and its next update puts
 * it right; svcc_runtime_verify then finds nothing.
 */
static void drift(struct svcc_ctx *ctx, struct svcc_runtime *rt)
{
	struct svcc_config *cfg;
	struct svcc_ruleset *rs = NULL;
	struct svc *s = pick();
	const char *names[1] = { s->name };
	unsigned long whole = 0;
	int r;

	if (system("nft insert rule inet svcc nat-prerouting drop && "
		   "nft flush chain inet svcc masquerading && "
		   "nft add element inet svcc pod-cidrs '{ 192.0.2.0/24 }' && "
		   "nft add chain inet svcc intruder"))
		fail("drift: nft could not make it");
	cfg = config(ctx);
	if (svcc_compile(ctx, cfg, NULL, &rs) || (r = svcc_runtime_verify(rt, rs, stdout)) != 1)
		fail("drift: verify did not find it");
	svcc_ruleset_free(rs);
	svcc_config_free(cfg);
	if (svcc_runtime_resync(rt))
		fail("drift: resync");
	rand_eps(s);
	if (update(ctx, rt, names, 1, 1, &whole, 0, 0))
		fail("drift: the update after the resync");
	cfg = config(ctx);
	rs = NULL;
	if (svcc_compile(ctx, cfg, NULL, &rs) || (r = svcc_runtime_verify(rt, rs, stderr)) != 0)
		fail("drift: not repaired by the update after a resync");
	svcc_ruleset_free(rs);
	svcc_config_free(cfg);
	svcc_ctx_clear(ctx);
}

/* A config of its own, for cross(): a at 10.96.0.1, b at 10.96.0.2. */
static struct svcc_config *pair(const char *a_ep, const char *b_vip)
{
	struct svcc_config *cfg = svcc_config_new();
	struct svcc_service *a, *b;
	struct svcc_port p = { .port = 80, .proto = SVCC_TCP, .target_port = 8080 };
	struct svcc_endpoint ea = { .addr = a_ep }, eb = { .addr = "10.244.0.2" };

	if (!cfg || svcc_config_add_pod_cidr(cfg, "10.244.0.0/16") ||
	    svcc_config_add_service(cfg, "x/a", &a) || svcc_service_set_vip(a, "10.96.0.1") ||
	    svcc_service_set_ports(a, &p, 1) || svcc_service_set_endpoints(a, &ea, 1) ||
	    svcc_config_add_service(cfg, "x/b", &b) || svcc_service_set_vip(b, b_vip) ||
	    svcc_service_set_ports(b, &p, 1) || svcc_service_set_endpoints(b, &eb, 1))
		fail("pair: the builder refused %s / %s", a_ep, b_vip);
	return cfg;
}

/*
 * An update that makes an endpoint another service's vip, or a vip another
 * service's endpoint, is refused as a whole compile refuses it, and
 * changes nothing.
 */
static void cross(struct svcc_ctx *ctx)
{
	static const char *const a[] = { "x/a" }, *const b[] = { "x/b" };
	struct svcc_runtime *rt;
	struct svcc_config *cfg = pair("10.244.0.1", "10.96.0.2");
	char *before, *after;
	int r;

	if (svcc_runtime_new(ctx, "svcc_cross", 0, &rt) || svcc_runtime_apply_config(rt, cfg))
		fail("cross: first apply");
	svcc_config_free(cfg);
	before = listing_of("svcc_cross");
	cfg = pair("10.96.0.2", "10.96.0.2");	/* a's endpoint: b's vip */
	r = svcc_runtime_update(rt, cfg, a, 1);
	if (!r || !svcc_error_count(ctx) || !strstr(svcc_diag_get(ctx, 0)->message, "is the vip of"))
		fail("cross: an endpoint that is another service's vip was taken (%d)", r);
	svcc_config_free(cfg);
	svcc_ctx_clear(ctx);
	cfg = pair("10.244.0.1", "10.244.0.1");	/* b's vip: a's endpoint */
	r = svcc_runtime_update(rt, cfg, b, 1);
	if (!r || !svcc_error_count(ctx))
		fail("cross: a vip that is another service's endpoint was taken (%d)", r);
	svcc_config_free(cfg);
	svcc_ctx_clear(ctx);
	after = listing_of("svcc_cross");
	if (strcmp(before, after))
		fail("cross: a refused update changed the table");
	free(before);
	free(after);
	if (svcc_runtime_delete_table(rt))
		fail("cross: delete");
	svcc_runtime_free(rt);
}

int main(int argc, char **argv)
{
	size_t nservices = 2000, steps = 200;
	unsigned seed = 1, flags = 0;
	struct svcc_ctx *ctx = svcc_ctx_new();
	struct svcc_runtime *rt;
	struct svcc_config *cfg;
	struct svcc_ruleset *rs;
	unsigned long whole = 0;
	const char *names[2];
	char *before, *after;

	for (int i = 1; i < argc; i += 2) {
		if (!strcmp(argv[i], "--nft"))
			flags = SVCC_RT_VIA_NFT, no_aff6 = 1, i--;
		else if (i + 1 == argc)
			break;
		else if (!strcmp(argv[i], "--services"))
			nservices = strtoul(argv[i + 1], NULL, 10);
		else if (!strcmp(argv[i], "--steps"))
			steps = strtoul(argv[i + 1], NULL, 10);
		else if (!strcmp(argv[i], "--seed"))
			seed = (unsigned)strtoul(argv[i + 1], NULL, 10);
	}
	srand(seed);
	/* anchors keep the table's shape: both families, nodeports, firewall */
	for (int i = 0; i < 2; i++) {
		struct svc *s = new_svc(1);

		s->v6 = s->lb = 1;
		s->p[0].nodeport = next_nodeport++;
	}
	while (nS < nservices)
		new_svc(0);
	cfg = config(ctx);
	if (svcc_runtime_new(ctx, NULL, flags, &rt) || svcc_runtime_apply_config(rt, cfg)) {
		svcc_diag_print(ctx, stderr);
		return 1;
	}
	if (svcc_runtime_stats(rt)->services_compiled != nservices)
		fail("apply_config compiled %lu services", svcc_runtime_stats(rt)->services_compiled);
	svcc_config_free(cfg);

	for (size_t step = 1; step <= steps; step++) {
		int op = rand() % 6;
		struct svc *s = pick(), *t;
		size_t n = 1, ncomp = 1;

		names[0] = s->name;
		switch (op) {
		case 0:
			rand_eps(s);
			break;
		case 1:
			roll_eps(s);	/* one endpoint replaced, dropped or added */
			break;
		case 2:
			s = new_svc(0);
			names[0] = s->name;
			break;
		case 3:
			s->alive = 0;
			ncomp = 0;
			break;
		case 4:
			rand_ports(s);
			break;
		case 5: {
			/* move s's vip to t: refused while s holds it, then in two steps */
			t = pick();
			if (t == s)
				break;
			t->vip = s->vip;
			t->np = s->np;
			for (int i = 0; i < s->np; i++) {
				t->p[i] = s->p[i];
				t->p[i].nodeport = 0;
			}
			names[0] = t->name;
			before = listing();
			svcc_ctx_clear(ctx);
			if (!update(ctx, rt, names, 1, 1, &whole, (int)step, 0))
				fail("step %zu: %s took the vip of %s", step, t->name, s->name);
			else if (!strstr(svcc_diag_get(ctx, 0)->message, "is taken by service"))
				fail("step %zu: refused with '%s'", step, svcc_diag_get(ctx, 0)->message);
			after = listing();
			if (strcmp(before, after))
				fail("step %zu: a refused update changed the table", step);
			free(before);
			free(after);
			svcc_ctx_clear(ctx);
			s->vip = next_vip++;
			names[0] = s->name;
			if (update(ctx, rt, names, 1, 1, &whole, (int)step, 0))
				fail("step %zu: moving %s's vip away", step, s->name);
			names[0] = t->name;
			break;
		}
		}
		if (getenv("VERBOSE"))
			fprintf(stderr, "step %zu: op %d %s\n", step, op, names[0]);
		if (update(ctx, rt, names, n, ncomp, &whole, (int)step, 1)) {
			svcc_diag_print(ctx, stderr);
			fail("step %zu (op %d): update failed", step, op);
		}
		svcc_ctx_clear(ctx);
	}
	collision(ctx, rt, &whole);
	drift(ctx, rt);
	cross(ctx);
	if (whole > steps / 10 + 4)	/* + the collision phase's */
		fail("%lu of %zu updates applied whole", whole, steps);
	printf("test-update: %zu steps, %lu applied whole\n", steps, whole);

	/* the model is exact: the whole compile sends nothing */
	cfg = config(ctx);
	if (svcc_compile(ctx, cfg, NULL, &rs) || svcc_runtime_apply(rt, rs))
		fail("final whole apply");
	else if (svcc_runtime_stats(rt)->messages)
		fail("final whole apply sent %lu messages", svcc_runtime_stats(rt)->messages);
	before = listing();
	svcc_runtime_free(rt);
	/* a fresh whole apply in another namespace lists the same */
	if (unshare(CLONE_NEWNET) || svcc_runtime_new(ctx, NULL, 0, &rt) ||
	    svcc_runtime_apply(rt, rs)) {
		fail("fresh whole apply");
		svcc_diag_print(ctx, stderr);
	} else {
		after = listing();
		if (strcmp(before, after))
			fail("the table differs from a fresh whole apply");
		else if (strlen(before) < 1000)
			fail("the table lists almost nothing");
		free(after);
		svcc_runtime_free(rt);
	}
	free(before);
	svcc_ruleset_free(rs);
	svcc_config_free(cfg);
	svcc_ctx_free(ctx);
	free(S);
	printf("test-update: %s\n", failures ? "FAILED" : "ok");
	return failures ? 1 : 0;
}
