/* SPDX-License-Identifier: MIT */
/*
 * rolling: a rolling update of one big service inside a big config, through
 * libsvcc: every step replaces one endpoint by a new one (stable endpoint
 * slots, runtime/slots.h).  Run it in an empty network namespace:
 *
 *   unshare -n bench/rolling [--endpoints E] [--steps N] [--one-shot M] FILE.svc
 *
 * Parses FILE (e.g. bench/gen-config 10000 10), adds service bench/roll with
 * E endpoints (default 1000), applies it all with svcc_runtime_apply_config,
 * then N steps (default 100) through svcc_runtime_update(rt, cfg, &name, 1),
 * then M steps (default 10) the way `svcc apply` does them: a one-shot
 * runtime each (SVCC_RT_ONE_SHOT), a whole compile, svcc_runtime_apply.
 * Prints per path the objects added and deleted per step (endpoint map
 * elements, and the replaced address's hairpin element), netlink messages
 * per step and the time per step (median, max), as "key value..." lines.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "svcc.h"
#include "timing.h"

static void die(struct svcc_ctx *ctx, const char *what)
{
	svcc_diag_print(ctx, stderr);
	fprintf(stderr, "rolling: %s failed\n", what);
	exit(1);
}

/* Endpoint k: 10.250.x.y, none ending in .0 or .255. */
static void ep_addr(unsigned k, char *buf, size_t len)
{
	unsigned v = k + k / 254 * 2 + 1;

	snprintf(buf, len, "10.250.%u.%u", v / 256, v % 256);
}

struct roll {
	size_t n;
	unsigned *id;		/* endpoint i is ep_addr(id[i]) */
	char (*text)[32];
	struct svcc_endpoint *eps;
	unsigned next;
};

static void set_eps(struct svcc_ctx *ctx, struct svcc_config *cfg, struct roll *r)
{
	struct svcc_service *svc = svcc_config_find_service(cfg, "bench/roll");

	for (size_t i = 0; i < r->n; i++) {
		ep_addr(r->id[i], r->text[i], sizeof(r->text[i]));
		r->eps[i] = (struct svcc_endpoint){ .addr = r->text[i] };
	}
	if (!svc || svcc_service_set_endpoints(svc, r->eps, r->n))
		die(ctx, "svcc_service_set_endpoints");
}

static void report(const char *path, int steps, unsigned long objects, unsigned long msgs,
		   double *ms)
{
	double max = 0;

	for (int i = 0; i < steps; i++)
		max = ms[i] > max ? ms[i] : max;
	printf("%s steps %d objects_per_step %.2f messages_per_step %.2f ms_median %.3f ms_max %.3f\n",
	       path, steps, (double)objects / steps, (double)msgs / steps, median(ms, steps), max);
}

int main(int argc, char **argv)
{
	struct svcc_ctx *ctx = svcc_ctx_new();
	struct svcc_config *cfg = NULL;
	struct svcc_service *svc;
	struct svcc_runtime *rt = NULL;
	struct svcc_port port = { .port = 80, .proto = SVCC_TCP, .target_port = 8080 };
	const char *file = NULL, *name = "bench/roll";
	int steps = 100, one_shot = 10;
	unsigned long objects = 0, msgs = 0;
	struct roll r = { .n = 1000 };
	double *ms;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--endpoints") && i + 1 < argc)
			r.n = strtoul(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--steps") && i + 1 < argc)
			steps = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--one-shot") && i + 1 < argc)
			one_shot = atoi(argv[++i]);
		else
			file = argv[i];
	}
	if (!file || r.n < 2 || r.n > 60000 || steps < 1 || one_shot < 0) {
		fprintf(stderr, "usage: rolling [--endpoints E] [--steps N] [--one-shot M] FILE.svc\n");
		return 2;
	}
	r.id = calloc(r.n, sizeof(*r.id));
	r.text = calloc(r.n, sizeof(*r.text));
	r.eps = calloc(r.n, sizeof(*r.eps));
	ms = calloc((size_t)(steps > one_shot ? steps : one_shot) + 1, sizeof(*ms));
	if (!ctx || !r.id || !r.text || !r.eps || !ms)
		return 1;
	for (size_t i = 0; i < r.n; i++)
		r.id[i] = r.next++;
	if (svcc_parse_file(ctx, file, &cfg))
		die(ctx, "parse");
	if (svcc_config_add_service(cfg, name, &svc) || svcc_service_set_vip(svc, "10.99.255.1") ||
	    svcc_service_set_ports(svc, &port, 1))
		die(ctx, "add service");
	set_eps(ctx, cfg, &r);
	if (svcc_runtime_new(ctx, "svcc", 0, &rt) || svcc_runtime_apply_config(rt, cfg))
		die(ctx, "first apply");

	for (int s = 0; s < steps; s++) {
		double t0;

		r.id[(size_t)s % r.n] = r.next++;
		set_eps(ctx, cfg, &r);
		t0 = now_ms();
		if (svcc_runtime_update(rt, cfg, &name, 1))
			die(ctx, "svcc_runtime_update");
		ms[s] = now_ms() - t0;
		objects += svcc_runtime_stats(rt)->added + svcc_runtime_stats(rt)->deleted +
			   svcc_runtime_stats(rt)->changed;
		msgs += svcc_runtime_stats(rt)->messages;
	}
	report("update", steps, objects, msgs, ms);
	svcc_runtime_free(rt);

	objects = msgs = 0;
	for (int s = 0; s < one_shot; s++) {
		struct svcc_ruleset *rs = NULL;
		double t0;

		r.id[(size_t)(steps + s) % r.n] = r.next++;
		set_eps(ctx, cfg, &r);
		t0 = now_ms();	/* what svcc apply does after parsing */
		if (svcc_runtime_new(ctx, "svcc", SVCC_RT_ONE_SHOT, &rt) ||
		    svcc_compile(ctx, cfg, NULL, &rs) || svcc_runtime_apply(rt, rs))
			die(ctx, "one-shot apply");
		ms[s] = now_ms() - t0;
		objects += svcc_runtime_stats(rt)->added + svcc_runtime_stats(rt)->deleted +
			   svcc_runtime_stats(rt)->changed;
		msgs += svcc_runtime_stats(rt)->messages;
		svcc_ruleset_free(rs);
		svcc_runtime_free(rt);
	}
	if (one_shot)
		report("one-shot", one_shot, objects, msgs, ms);
	svcc_config_free(cfg);
	svcc_ctx_free(ctx);
	free(r.id);
	free(r.text);
	free(r.eps);
	free(ms);
	return 0;
}
