/* SPDX-License-Identifier: MIT */
/*
 * lib-change: the cost of one endpoint change through libsvcc, with the applied model kept in
 * memory (the way an agent linking the library works).  Run it in an empty network namespace:
 *
 *   unshare -n bench/lib-change [--iter N] [--table T] [--service NAME] [--plan] FILE.svc
 *   bench/lib-change --compile-only N FILE.svc     (no kernel: N compiles, for `perf record`)
 *
 * Parses FILE (svcc_parse_file), compiles it, creates a runtime and applies it in full.  Then, N
 * times (default 20), changes the first endpoint of service NAME (default: the middle one, index
 * nservices / 2) through the builder API
 * (svcc_config_find_service + svcc_service_set_endpoints), alternating between 10.244.255.254 and
 * its original address, and times separately
 *   (i)  svcc_compile of the updated config (check + lower of the whole config), and
 *   (ii) svcc_runtime_apply (diff against the in-memory model + netlink batch + ACKs + model update);
 * then N no-op applies (the same ruleset again), a few read-backs (svcc_runtime_resync) and a
 * final check that the kernel's table matches the last ruleset (the plan is empty after a resync).
 * Then the incremental path: svcc_runtime_apply_config once, and N changes each applied with
 * svcc_runtime_update(rt, cfg, &NAME, 1) (check, lower and diff of that service only); the model
 * and, after a resync, the kernel are checked against a whole compile of the final config.
 *
 * --plan prints the first two changes' transactions (nft commands) on stderr.
 * Output: "key value..." lines on stdout (times in ms: median min max), for bench/run.sh.
 * The builder API has no getter for endpoints, so the service's name and endpoints are
 * read from FILE's text (as written by bench/gen-config: "service NAME {" ... "endpoint ADDR;").
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "svcc.h"
#include "timing.h"

/* "key median min max" of v[0..n) (sorts v) */
static void report(const char *key, double *v, int n)
{
	double m = median(v, n);

	printf("%s %.3f %.3f %.3f\n", key, m, v[0], v[n - 1]);
}

static void die(struct svcc_ctx *ctx, const char *what)
{
	fprintf(stderr, "lib-change: %s failed%s%s\n", what, errno ? ": " : "",
		errno ? strerror(errno) : "");
	if (ctx)
		svcc_diag_print(ctx, stderr);
	exit(1);
}

#define MAX_EPS 1024
struct target {
	char name[256];
	char *eps[MAX_EPS];
	size_t neps;
};

/* Service NAME of FILE, or the middle one (0-based index nservices / 2, as bench/run.sh's one-shot
 * change test): its name and endpoints. */
static void find_target(const char *path, const char *name, size_t nservices, struct target *t)
{
	FILE *f = fopen(path, "r");
	char *line = NULL, word[256];
	size_t cap = 0, idx = 0, want = nservices / 2;
	int in = 0;

	if (!f)
		die(NULL, path);
	while (getline(&line, &cap, f) > 0) {
		if (!strncmp(line, "service ", 8) && sscanf(line + 8, "%255s {", word) == 1) {
			if (in)
				break;
			if (name ? !strcmp(word, name) : idx++ == want) {
				in = 1;
				snprintf(t->name, sizeof(t->name), "%s", word);
			}
		} else if (in && sscanf(line, " endpoint %255[^; ]", word) == 1 && t->neps < MAX_EPS) {
			t->eps[t->neps++] = strdup(word);
		}
	}
	free(line);
	fclose(f);
	if (!in || !t->neps) {
		fprintf(stderr, "lib-change: no service %s with endpoints in %s\n", name ? name : "(middle)",
			path);
		exit(1);
	}
}

static struct svcc_ruleset *compile(struct svcc_ctx *ctx, const struct svcc_config *cfg,
				    const char *table)
{
	struct svcc_options opts = { .table = table };
	struct svcc_ruleset *rs;

	if (svcc_compile(ctx, cfg, &opts, &rs))
		die(ctx, "svcc_compile");
	return rs;
}

int main(int argc, char **argv)
{
	const char *table = NULL, *path = NULL, *name = NULL;
	int iter = 20, compile_only = 0, plan = 0;
	struct svcc_ctx *ctx = svcc_ctx_new();
	struct svcc_config *cfg;
	struct svcc_ruleset *rs;
	struct svcc_runtime *rt;
	const struct svcc_apply_stats *st;
	struct svcc_service *svc;
	static struct svcc_endpoint eps[MAX_EPS];	/* flags, weight 0 */
	struct target t = { 0 };
	double t0, *tc, *ta, *tn, tr[5];
	unsigned long msg_min = (unsigned long)-1, msg_max = 0, obj_max = 0;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--iter") && i + 1 < argc)
			iter = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--compile-only") && i + 1 < argc)
			iter = atoi(argv[++i]), compile_only = 1;
		else if (!strcmp(argv[i], "--service") && i + 1 < argc)
			name = argv[++i];
		else if (!strcmp(argv[i], "--plan"))
			plan = 1;
		else if (!strcmp(argv[i], "--table") && i + 1 < argc)
			table = argv[++i];
		else if (!path && argv[i][0] != '-')
			path = argv[i];
		else
			path = NULL, i = argc;
	}
	if (!path || iter < 1 || !ctx) {
		fprintf(stderr, "usage: unshare -n lib-change [--iter N] [--table T] [--service NAME] [--plan] FILE.svc\n"
				"       lib-change --compile-only N FILE.svc\n");
		return 2;
	}
	if (!(tc = calloc((size_t)iter, sizeof(double))) ||
	    !(ta = calloc((size_t)iter, sizeof(double))) ||
	    !(tn = calloc((size_t)iter, sizeof(double))))
		die(NULL, "calloc");

	t0 = now_ms();
	if (svcc_parse_file(ctx, path, &cfg))
		die(ctx, "svcc_parse_file");
	printf("parse %.3f\n", now_ms() - t0);
	printf("services %zu\n", svcc_config_service_count(cfg));
	find_target(path, name, svcc_config_service_count(cfg), &t);
	if (!(svc = svcc_config_find_service(cfg, t.name)))
		die(NULL, "svcc_config_find_service");
	printf("target %s %zu\n", t.name, t.neps);
	for (size_t i = 0; i < t.neps; i++)
		eps[i].addr = t.eps[i];

	t0 = now_ms();
	rs = compile(ctx, cfg, table);
	printf("compile-full %.3f\n", now_ms() - t0);

	if (compile_only) {	/* for perf: the change's compile, again and again */
		for (int i = 0; i < iter; i++) {
			eps[0].addr = i % 2 ? t.eps[0] : "10.244.255.254";
			if (svcc_service_set_endpoints(svc, eps, t.neps))
				die(NULL, "svcc_service_set_endpoints");
			t0 = now_ms();
			svcc_ruleset_free(rs);
			rs = compile(ctx, cfg, table);
			tc[i] = now_ms() - t0;
		}
		report("compile", tc, iter);
		goto out_cfg;
	}

	t0 = now_ms();
	if (svcc_runtime_new(ctx, table, 0, &rt))
		die(ctx, "svcc_runtime_new");
	printf("runtime-new %.3f\n", now_ms() - t0);
	t0 = now_ms();
	if (svcc_runtime_apply(rt, rs))
		die(ctx, "svcc_runtime_apply (full)");
	st = svcc_runtime_stats(rt);
	printf("apply-full %.3f %lu %lu %lu %lu\n", now_ms() - t0, st->added, st->changed, st->deleted,
	       st->messages);

	/* one endpoint of one service changed, and changed back, and ... */
	for (int i = 0; i < iter; i++) {
		struct svcc_ruleset *next;

		eps[0].addr = i % 2 ? t.eps[0] : "10.244.255.254";
		if (svcc_service_set_endpoints(svc, eps, t.neps))
			die(NULL, "svcc_service_set_endpoints");
		t0 = now_ms();
		next = compile(ctx, cfg, table);
		tc[i] = now_ms() - t0;
		if (plan && i < 2 && svcc_runtime_plan(rt, next, stderr))
			die(ctx, "svcc_runtime_plan");
		t0 = now_ms();
		if (svcc_runtime_apply(rt, next))
			die(ctx, "svcc_runtime_apply (change)");
		ta[i] = now_ms() - t0;
		st = svcc_runtime_stats(rt);
		if (st->messages < msg_min)
			msg_min = st->messages;
		if (st->messages > msg_max)
			msg_max = st->messages;
		if (st->added + st->changed + st->deleted > obj_max)
			obj_max = st->added + st->changed + st->deleted;
		if (i == 0)
			printf("change-stats %lu %lu %lu %lu\n", st->added, st->changed, st->deleted,
			       st->messages);
		svcc_ruleset_free(rs);
		rs = next;
	}
	report("change-compile", tc, iter);
	report("change-apply", ta, iter);
	printf("change-messages %lu %lu\n", msg_min, msg_max);
	printf("change-objects-max %lu\n", obj_max);
	for (int i = 0; i < iter; i++)
		tc[i] += ta[i];	/* per iteration, not the sum of medians */
	report("change-total", tc, iter);

	/* the same ruleset again: nothing to send */
	for (int i = 0; i < iter; i++) {
		t0 = now_ms();
		if (svcc_runtime_apply(rt, rs))
			die(ctx, "svcc_runtime_apply (no-op)");
		tn[i] = now_ms() - t0;
		st = svcc_runtime_stats(rt);
		if (st->messages || st->added || st->changed || st->deleted) {
			fprintf(stderr, "lib-change: no-op apply sent %lu messages\n", st->messages);
			return 1;
		}
	}
	report("noop-apply", tn, iter);

	/* read the whole table back (what a resync, or a one-shot `svcc apply`, pays) */
	for (int i = 0; i < 5; i++) {
		t0 = now_ms();
		if (svcc_runtime_resync(rt))
			die(ctx, "svcc_runtime_resync");
		tr[i] = now_ms() - t0;
	}
	report("resync", tr, 5);
	/* and the kernel holds exactly the last ruleset */
	{
		FILE *devnull = fopen("/dev/null", "w");

		if (!devnull || svcc_runtime_plan(rt, rs, devnull))
			die(ctx, "svcc_runtime_plan");
		fclose(devnull);
		st = svcc_runtime_stats(rt);
		printf("verify %s\n", st->added + st->changed + st->deleted ? "MISMATCH" : "ok");
	}

	/*
	 * The incremental path: apply_config once, then per change
	 * svcc_service_set_endpoints + svcc_runtime_update(rt, cfg, &name, 1)
	 * (check + lower + diff of that one service, batch, model patched).
	 */
	{
		const char *names[1] = { t.name };
		unsigned long whole = 0, umsg_min = (unsigned long)-1, umsg_max = 0;
		FILE *devnull;

		t0 = now_ms();
		if (svcc_runtime_apply_config(rt, cfg))
			die(ctx, "svcc_runtime_apply_config");
		printf("apply-config %.3f\n", now_ms() - t0);
		for (int i = 0; i < iter; i++) {
			eps[0].addr = i % 2 ? t.eps[0] : "10.244.255.254";
			if (svcc_service_set_endpoints(svc, eps, t.neps))
				die(NULL, "svcc_service_set_endpoints");
			t0 = now_ms();
			if (svcc_runtime_update(rt, cfg, names, 1))
				die(ctx, "svcc_runtime_update");
			tc[i] = now_ms() - t0;
			st = svcc_runtime_stats(rt);
			whole += st->services_compiled != 1;
			if (st->messages < umsg_min)
				umsg_min = st->messages;
			if (st->messages > umsg_max)
				umsg_max = st->messages;
			if (i == 0)
				printf("update-stats %lu %lu %lu %lu\n", st->added, st->changed,
				       st->deleted, st->messages);
		}
		report("update", tc, iter);
		printf("update-messages %lu %lu\n", umsg_min, umsg_max);
		printf("update-whole %lu\n", whole);
		/* the model (and, after a resync, the kernel) is the whole compile's */
		svcc_ruleset_free(rs);
		rs = compile(ctx, cfg, table);
		if (!(devnull = fopen("/dev/null", "w")) || svcc_runtime_plan(rt, rs, devnull))
			die(ctx, "svcc_runtime_plan");
		st = svcc_runtime_stats(rt);
		printf("update-verify-model %s\n", st->added + st->changed + st->deleted ? "MISMATCH" : "ok");
		if (svcc_runtime_resync(rt) || svcc_runtime_plan(rt, rs, devnull))
			die(ctx, "svcc_runtime_plan");
		fclose(devnull);
		st = svcc_runtime_stats(rt);
		printf("update-verify %s\n", st->added + st->changed + st->deleted ? "MISMATCH" : "ok");
	}
	svcc_runtime_free(rt);
out_cfg:
	svcc_ruleset_free(rs);
	svcc_config_free(cfg);
	svcc_ctx_free(ctx);
	for (size_t i = 0; i < t.neps; i++)
		free(t.eps[i]);
	free(tc);
	free(ta);
	free(tn);
	return 0;
}
