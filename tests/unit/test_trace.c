/* SPDX-License-Identifier: MIT */
/*
 * svcc_trace through the public API: the outcomes' fields, shares that sum
 * to one, the node's addresses from the flow, a malformed flow refused with
 * EINVAL and its reason in the context.  Only svcc.h: what an agent sees.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

static const char config[] =
	"cluster { pod-cidr 10.244.0.0/16; }\n"
	"service default/web {\n"
	"    vip 10.96.0.10;\n"
	"    port 80 -> 8080;\n"
	"    nodeport 30080;\n"
	"    endpoint 10.244.1.5;\n"
	"    endpoint 10.244.1.6 weight 3;\n"
	"}\n"
	"service default/empty { vip 10.96.0.11; port 80/udp; }\n";

static struct svcc_trace *trace(struct svcc_ctx *ctx, const struct svcc_ruleset *rs,
				const struct svcc_flow *f)
{
	struct svcc_trace *t = NULL;

	return svcc_trace(ctx, rs, f, &t) == 0 ? t : NULL;
}

static void test_shares(struct svcc_ctx *ctx, const struct svcc_ruleset *rs)
{
	struct svcc_flow f = { .from = SVCC_FROM_OUTSIDE, .saddr = "192.0.2.1",
			       .daddr = "10.96.0.10", .dport = 80, .proto = SVCC_TCP };
	struct svcc_trace *t = trace(ctx, rs, &f);
	const struct svcc_trace_outcome *o;

	CHECK(t && svcc_trace_count(t) == 2);
	if (!t || svcc_trace_count(t) != 2)
		return;
	o = svcc_trace_get(t, 0);
	CHECK(o->verdict == SVCC_TRACE_DNAT && !strcmp(o->addr, "10.244.1.5") && o->port == 8080);
	CHECK(o->share > 0.2499 && o->share < 0.2501 && o->masquerade && !o->local);
	CHECK(strstr(o->path, "prerouting: nat-prerouting > services > mark-cluster-ips > svc-default/web/tcp/80") == o->path);
	o = svcc_trace_get(t, 1);
	CHECK(o->verdict == SVCC_TRACE_DNAT && !strcmp(o->addr, "10.244.1.6"));
	CHECK(o->share > 0.7499 && o->share < 0.7501);
	CHECK(svcc_trace_get(t, 2) == NULL);
	svcc_trace_free(t);
}

static void test_node_addrs(struct svcc_ctx *ctx, const struct svcc_ruleset *rs)
{
	const char *node[] = { "192.168.50.9" };
	struct svcc_flow f = { .from = SVCC_FROM_OUTSIDE, .saddr = "192.0.2.1",
			       .daddr = "192.168.50.9", .dport = 30080, .proto = SVCC_TCP };
	struct svcc_trace *t;

	/* without node-ip, the NodePort is on the node's every address: none known */
	t = trace(ctx, rs, &f);
	CHECK(t && svcc_trace_count(t) == 1 && svcc_trace_get(t, 0)->verdict == SVCC_TRACE_ACCEPT);
	svcc_trace_free(t);
	f.node_addrs = node;
	f.n_node_addrs = 1;
	t = trace(ctx, rs, &f);
	CHECK(t && svcc_trace_count(t) == 2 && svcc_trace_get(t, 0)->verdict == SVCC_TRACE_DNAT);
	svcc_trace_free(t);
	/* another port of the node's own: delivered to it */
	f.dport = 22;
	t = trace(ctx, rs, &f);
	CHECK(t && svcc_trace_count(t) == 1 && svcc_trace_get(t, 0)->verdict == SVCC_TRACE_ACCEPT &&
	      svcc_trace_get(t, 0)->local);
	svcc_trace_free(t);
}

static void test_refusals(struct svcc_ctx *ctx, const struct svcc_ruleset *rs)
{
	struct svcc_flow f = { .from = SVCC_FROM_NODE, .saddr = "10.244.1.1",
			       .daddr = "10.96.0.11", .dport = 80, .proto = SVCC_UDP };
	struct svcc_trace *t = trace(ctx, rs, &f);

	CHECK(t && svcc_trace_count(t) == 1 &&
	      svcc_trace_get(t, 0)->verdict == SVCC_TRACE_UNREACHABLE &&
	      !strncmp(svcc_trace_get(t, 0)->path, "output: nat-output > services > mark-cluster-ips | filter-output", 64));
	svcc_trace_free(t);
	f.proto = SVCC_TCP;
	t = trace(ctx, rs, &f);	/* a port the vip lacks */
	CHECK(t && svcc_trace_count(t) == 1 && svcc_trace_get(t, 0)->verdict == SVCC_TRACE_RESET);
	svcc_trace_free(t);
}

static void test_bad_flows(struct svcc_ctx *ctx, const struct svcc_ruleset *rs)
{
	struct svcc_flow f = { .from = SVCC_FROM_POD, .saddr = "fd00::1", .daddr = "10.96.0.10",
			       .dport = 80, .proto = SVCC_TCP };
	struct svcc_trace *t = (struct svcc_trace *)&f;	/* must stay as it is */

	svcc_ctx_clear(ctx);
	errno = 0;
	CHECK(svcc_trace(ctx, rs, &f, &t) == -1 && errno == EINVAL && t == (struct svcc_trace *)&f);
	CHECK(svcc_error_count(ctx) == 1 && strstr(svcc_diag_get(ctx, 0)->message, "families"));
	f.saddr = "not-an-address";
	errno = 0;
	CHECK(svcc_trace(ctx, rs, &f, &t) == -1 && errno == EINVAL);
	f.saddr = "10.244.1.5";
	f.proto = (enum svcc_proto)1;
	errno = 0;
	CHECK(svcc_trace(ctx, rs, &f, &t) == -1 && errno == EINVAL);
	f.proto = SVCC_TCP;
	f.iifname = "a-name-over-15-bytes";
	errno = 0;
	CHECK(svcc_trace(ctx, rs, &f, &t) == -1 && errno == EINVAL);
	svcc_ctx_clear(ctx);
}

int main(void)
{
	struct svcc_ctx *ctx = svcc_ctx_new();
	struct svcc_config *cfg = NULL;
	struct svcc_ruleset *rs = NULL;

	if (!ctx || svcc_parse_string(ctx, "t.svc", config, sizeof(config) - 1, &cfg) ||
	    svcc_compile(ctx, cfg, NULL, &rs)) {
		svcc_diag_print(ctx, stderr);
		return 1;
	}
	test_shares(ctx, rs);
	test_node_addrs(ctx, rs);
	test_refusals(ctx, rs);
	test_bad_flows(ctx, rs);
	svcc_ruleset_free(rs);
	svcc_config_free(cfg);
	svcc_ctx_free(ctx);
	return check_done("test_trace");
}
