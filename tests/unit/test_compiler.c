/* SPDX-License-Identifier: MIT */
/* Unit tests of the model, the builder API, lowering and the hash table. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "model.h"
#include "check.h"

static char *compile_text(const char *text)
{
	struct svcc_ctx *ctx = svcc_ctx_new();
	struct svcc_config *cfg = NULL;
	char *out = NULL;

	if (svcc_parse_string(ctx, "t.svc", text, strlen(text), &cfg) == 0)
		out = compiled_text(ctx, cfg);
	else
		svcc_diag_print(ctx, stderr);
	svcc_config_free(cfg);
	svcc_ctx_free(ctx);
	return out;
}

/* The builder makes the same ruleset as the text it stands for. */
static void test_builder_matches_text(void)
{
	static const char text[] =
		"cluster { pod-cidr 10.244.0.0/16; }\n"
		"service default/web { vip 10.96.0.10; port http 80/tcp -> 8080; port 53/udp;\n"
		"  endpoint 10.244.2.7; endpoint 10.244.1.5; }\n";
	struct svcc_port ports[] = {
		{ .name = "http", .port = 80, .proto = SVCC_TCP, .target_port = 8080 },
		{ .port = 53, .proto = SVCC_UDP },
	};
	struct svcc_endpoint eps[] = { { .addr = "10.244.1.5" }, { .addr = "10.244.2.7" } };
	struct svcc_ctx *ctx = svcc_ctx_new();
	struct svcc_config *cfg = svcc_config_new();
	struct svcc_service *svc;
	struct svcc_ruleset *rs = NULL;
	char *want = compile_text(text), *got = NULL;

	CHECK(svcc_config_add_pod_cidr(cfg, "10.244.0.0/16") == 0);
	CHECK(svcc_config_add_service(cfg, "default/web", &svc) == 0);
	CHECK(svcc_service_set_vip(svc, "10.96.0.10") == 0);
	CHECK(svcc_service_set_ports(svc, ports, 2) == 0);
	CHECK(svcc_service_set_endpoints(svc, eps, 2) == 0);
	CHECK(svcc_compile(ctx, cfg, NULL, &rs) == 0);
	if (rs)
		got = ruleset_text(rs);
	CHECK(want && got && strcmp(want, got) == 0);
	free(want);
	free(got);
	svcc_ruleset_free(rs);
	svcc_config_free(cfg);
	svcc_ctx_free(ctx);
}

/* Bad builder input fails with EINVAL and changes nothing. */
static void test_builder_rejects(void)
{
	struct svcc_config *cfg = svcc_config_new();
	struct svcc_service *svc, *again;
	struct svcc_endpoint bad[] = { { .addr = "10.244.1.5" }, { .addr = "not-an-address" } };
	struct svcc_endpoint good[] = { { .addr = "10.244.1.5" } };
	struct svcc_port zero = { .port = 0, .proto = SVCC_TCP };

	CHECK(svcc_config_add_pod_cidr(cfg, "10.244.0.0/33") == -1 && errno == EINVAL);
	CHECK(svcc_config_add_pod_cidr(cfg, "10.244.1.0/16") == -1);
	CHECK(svcc_config_add_node_ip(cfg, "192.168.1.1/24") == -1);
	CHECK(cfg->npod_cidrs == 0 && cfg->nnode_ips == 0);
	CHECK(svcc_config_add_service(cfg, "a/b", &svc) == 0);
	CHECK(svcc_config_add_service(cfg, "a/b", &again) == -1 && errno == EEXIST);
	CHECK(svcc_service_set_endpoints(svc, good, 1) == 0);
	CHECK(svcc_service_set_endpoints(svc, bad, 2) == -1 && svc->neps == 1);
	CHECK(svcc_service_set_ports(svc, &zero, 1) == -1 && svc->nports == 0);
	CHECK(svcc_config_find_service(cfg, "a/b") == svc);
	CHECK(svcc_config_remove_service(cfg, "a/b") == 0);
	CHECK(svcc_config_find_service(cfg, "a/b") == NULL);
	CHECK(svcc_config_service_count(cfg) == 0);
	svcc_config_free(cfg);
}

/* What Kubernetes' validation refuses, the builder refuses with EINVAL, changing nothing. */
static void test_builder_rejects_what_kubernetes_does(void)
{
	static const char *const bad_vips[] = {
		"0.0.0.0", "::", "127.0.0.1", "::1", "224.0.0.5", "ff02::1", "239.1.2.3",
		"ff05::1", "255.255.255.255", "::ffff:127.0.0.1",
	};
	static const char *const bad_eps[] = {
		"0.0.0.0", "::", "127.0.0.1", "::1", "169.254.3.4", "fe80::1", "224.0.0.5",
		"ff02::1", "239.1.2.3", "ff05::1", "255.255.255.255", "::ffff:169.254.0.1",
	};
	char ns64[80], name63[70], long_name[160];
	struct svcc_config *cfg = svcc_config_new();
	struct svcc_ctx *ctx = svcc_ctx_new();
	struct svcc_service *svc, *other, *x;
	struct svcc_endpoint good = { .addr = "10.244.1.5" }, ep;
	struct svcc_port p15 = { .name = "abcdefghijklmno", .port = 80, .proto = SVCC_TCP };
	struct svcc_port p16 = { .name = "abcdefghijklmnop", .port = 81, .proto = SVCC_TCP };
	struct svcc_ruleset *rs = NULL;

	memset(ns64, 'n', 64);
	ns64[64] = '\0';
	memset(name63, 'm', 63);
	name63[63] = '\0';
	CHECK(svcc_config_add_service(cfg, "default/web", &svc) == 0);
	CHECK(svcc_service_set_vip(svc, "10.96.0.10") == 0);
	CHECK(svcc_service_set_vip(svc, "fd00:10:96::10") == 0);
	CHECK(svcc_service_set_endpoints(svc, &good, 1) == 0);
	for (size_t i = 0; i < sizeof(bad_vips) / sizeof(*bad_vips); i++) {
		errno = 0;
		CHECK(svcc_service_set_vip(svc, bad_vips[i]) == -1 && errno == EINVAL);
	}
	for (size_t i = 0; i < sizeof(bad_eps) / sizeof(*bad_eps); i++) {
		ep = (struct svcc_endpoint){ .addr = bad_eps[i] };
		errno = 0;
		CHECK(svcc_service_set_endpoints(svc, &ep, 1) == -1 && errno == EINVAL);
	}
	/* the vip and its own endpoints */
	ep = (struct svcc_endpoint){ .addr = "10.96.0.10" };
	errno = 0;
	CHECK(svcc_service_set_endpoints(svc, &ep, 1) == -1 && errno == EINVAL);
	errno = 0;
	CHECK(svcc_service_set_vip(svc, "10.244.1.5") == -1 && errno == EINVAL);
	/* nothing changed */
	CHECK(svc->has_vip[FAM4] && svc->vip[FAM4].bytes[3] == 10 && svc->has_vip[FAM6]);
	CHECK(svc->neps == 1 && svc->eps[0].addr.bytes[3] == 5);
	/* link-local is no vip problem */
	CHECK(svcc_config_add_service(cfg, "default/ll", &x) == 0);
	CHECK(svcc_service_set_vip(x, "169.254.20.10") == 0);
	CHECK(svcc_config_remove_service(cfg, "default/ll") == 0);
	/* names: Kubernetes' limits */
	snprintf(long_name, sizeof(long_name), "%s/web", ns64);
	errno = 0;
	CHECK(svcc_config_add_service(cfg, long_name, &x) == -1 && errno == EINVAL);
	snprintf(long_name, sizeof(long_name), "default/%sm", name63);
	errno = 0;
	CHECK(svcc_config_add_service(cfg, long_name, &x) == -1 && errno == EINVAL);
	errno = 0;
	CHECK(svcc_config_add_service(cfg, ns64, &x) == -1 && errno == EINVAL);
	CHECK(svcc_config_service_count(cfg) == 1);
	snprintf(long_name, sizeof(long_name), "%s/%s", name63, name63);
	CHECK(svcc_config_add_service(cfg, long_name, &x) == 0);
	CHECK(svcc_config_remove_service(cfg, long_name) == 0);
	CHECK(svcc_service_set_ports(svc, &p15, 1) == 0);
	errno = 0;
	CHECK(svcc_service_set_ports(svc, &p16, 1) == -1 && errno == EINVAL);
	CHECK(svc->nports == 1 && svc->ports[0].port == 80);
	/* another service's vip as an endpoint: svcc_compile says so */
	CHECK(svcc_config_add_service(cfg, "default/api", &other) == 0);
	CHECK(svcc_service_set_vip(other, "10.96.0.11") == 0);
	CHECK(svcc_service_set_ports(other, &p15, 1) == 0);
	ep = (struct svcc_endpoint){ .addr = "10.96.0.11" };
	CHECK(svcc_service_set_endpoints(svc, &ep, 1) == 0);
	CHECK(svcc_compile(ctx, cfg, NULL, &rs) == -1 && rs == NULL);
	CHECK(svcc_error_count(ctx) == 1 && svcc_diag_get(ctx, 0)->file == NULL);
	CHECK(strstr(svcc_diag_get(ctx, 0)->message,
		     "endpoint 10.96.0.11 of service 'default/web' is the vip of service 'default/api'"));
	svcc_ctx_free(ctx);
	svcc_config_free(cfg);
}

/* The one classification the checker, the builder and import-k8s share. */
static void test_addr_classify(void)
{
	static const struct { const char *a; enum addr_class c; } v[] = {
		{ "0.0.0.0", ADDR_UNSPECIFIED }, { "0.0.0.1", ADDR_UNICAST },
		{ "126.255.255.255", ADDR_UNICAST }, { "127.0.0.0", ADDR_LOOPBACK },
		{ "127.255.255.255", ADDR_LOOPBACK }, { "128.0.0.0", ADDR_UNICAST },
		{ "169.253.255.255", ADDR_UNICAST }, { "169.254.0.0", ADDR_LINK_LOCAL },
		{ "169.254.255.255", ADDR_LINK_LOCAL }, { "169.255.0.0", ADDR_UNICAST },
		{ "223.255.255.255", ADDR_UNICAST }, { "224.0.0.0", ADDR_LL_MULTICAST },
		{ "224.0.0.255", ADDR_LL_MULTICAST }, { "224.0.1.0", ADDR_MULTICAST },
		{ "239.255.255.255", ADDR_MULTICAST }, { "240.0.0.1", ADDR_UNICAST },
		{ "255.255.255.254", ADDR_UNICAST }, { "255.255.255.255", ADDR_BROADCAST },
		{ "::", ADDR_UNSPECIFIED }, { "::1", ADDR_LOOPBACK }, { "::2", ADDR_UNICAST },
		{ "fe7f:ffff::1", ADDR_UNICAST }, { "fe80::", ADDR_LINK_LOCAL },
		{ "febf:ffff::1", ADDR_LINK_LOCAL }, { "fec0::1", ADDR_UNICAST },
		{ "ff02::1", ADDR_LL_MULTICAST }, { "ff02:ffff::1", ADDR_LL_MULTICAST },
		{ "ff01::1", ADDR_MULTICAST }, { "ff0e::1", ADDR_MULTICAST },
		{ "feff::1", ADDR_UNICAST }, { "fd00::1", ADDR_UNICAST },
		{ "::ffff:0.0.0.0", ADDR_UNSPECIFIED }, { "::ffff:127.1.2.3", ADDR_LOOPBACK },
		{ "::ffff:10.0.0.1", ADDR_UNICAST }, { "::127.0.0.1", ADDR_UNICAST },
	};
	struct addr a;

	for (size_t i = 0; i < sizeof(v) / sizeof(*v); i++) {
		CHECK(addr_parse(v[i].a, &a) == 0);
		if (addr_classify(a.family, a.bytes) != v[i].c)
			fprintf(stderr, "%s: class %d, want %d\n", v[i].a,
				addr_classify(a.family, a.bytes), v[i].c);
		CHECK(addr_classify(a.family, a.bytes) == v[i].c);
	}
	CHECK(addr_parse("169.254.1.1", &a) == 0);
	CHECK(addr_unusable(a.family, a.bytes, USE_SERVICE) == ADDR_UNICAST);
	CHECK(addr_unusable(a.family, a.bytes, USE_ENDPOINT) == ADDR_LINK_LOCAL);
}

/* Errors of well-formed blocks beside a syntax error; a NUL byte with its place. */
static void test_errors_beside_syntax_error(void)
{
	static const char text[] =
		"service a { vip 10.96.0.1 port 80; }\n"
		"service b { vip 10.96.0.2; port 70000/udp; }\n"
		"service c { vip 10.96.0.3; port 80; port 80; }\n";
	static const char nul[] = "cluster {\n  pod-cidr 10.0.0.0/8;\0 }\n";
	struct svcc_ctx *ctx = svcc_ctx_new();
	struct svcc_config *cfg = NULL;
	const struct svcc_diag *d;

	CHECK(svcc_parse_string(ctx, "t.svc", text, strlen(text), &cfg) == -1 && !cfg);
	CHECK(svcc_error_count(ctx) == 3);
	CHECK((d = svcc_diag_get(ctx, 0)) && d->line == 1 && strstr(d->message, "unexpected 'port'"));
	CHECK((d = svcc_diag_get(ctx, 1)) && d->line == 2 && strstr(d->message, "70000"));
	CHECK((d = svcc_diag_get(ctx, 2)) && d->line == 3 && strstr(d->message, "duplicate port"));
	svcc_ctx_clear(ctx);
	CHECK(svcc_parse_string(ctx, "n.svc", nul, sizeof(nul) - 1, &cfg) == -1 && !cfg);
	CHECK(svcc_error_count(ctx) == 1);
	CHECK((d = svcc_diag_get(ctx, 0)) && d->line == 2 && d->column == 23 &&
	      !strcmp(d->message, "a NUL byte in the source"));
	svcc_ctx_free(ctx);
}

/* Checks on a builder-made config report without a location. */
static void test_check_without_location(void)
{
	struct svcc_ctx *ctx = svcc_ctx_new();
	struct svcc_config *cfg = svcc_config_new();
	struct svcc_service *a, *b;
	struct svcc_port p = { .port = 80, .proto = SVCC_TCP };
	struct svcc_ruleset *rs = NULL;

	svcc_config_add_service(cfg, "a", &a);
	svcc_config_add_service(cfg, "b", &b);
	svcc_service_set_vip(a, "10.96.0.1");
	svcc_service_set_vip(b, "10.96.0.1");
	svcc_service_set_ports(a, &p, 1);
	svcc_service_set_ports(b, &p, 1);
	CHECK(svcc_compile(ctx, cfg, NULL, &rs) == -1 && rs == NULL);
	CHECK(svcc_error_count(ctx) == 1);
	CHECK(svcc_diag_get(ctx, 0)->file == NULL);
	CHECK(strstr(svcc_diag_get(ctx, 0)->message, "taken by service 'a'") != NULL);
	svcc_config_free(cfg);
	svcc_ctx_free(ctx);
}

/* A service's shard and offset depend on its own name only. */
static void test_placement_is_stable(void)
{
	struct svcc_ctx *ctx = svcc_ctx_new();
	struct svcc_config *cfg = svcc_config_new();
	struct svcc_port p = { .port = 80, .proto = SVCC_TCP };
	struct svcc_endpoint ep = { .addr = "10.244.0.1" };
	struct svcc_service *svc;
	struct svcc_ruleset *one = NULL, *many = NULL;
	char name[32], vip[32];

	svcc_config_add_service(cfg, "default/web", &svc);
	svcc_service_set_vip(svc, "10.96.0.10");
	svcc_service_set_ports(svc, &p, 1);
	svcc_service_set_endpoints(svc, &ep, 1);
	CHECK(svcc_compile(ctx, cfg, NULL, &one) == 0);
	for (int i = 0; i < 2000; i++) {
		snprintf(name, sizeof(name), "ns/s%d", i);
		snprintf(vip, sizeof(vip), "10.97.%d.%d", i / 250, i % 250 + 1);
		svcc_config_add_service(cfg, name, &svc);
		svcc_service_set_vip(svc, vip);
		svcc_service_set_ports(svc, &p, 1);
		svcc_service_set_endpoints(svc, &ep, 1);
	}
	CHECK(svcc_compile(ctx, cfg, NULL, &many) == 0);
	if (one && many) {
		const char *chain = "svc-default/web/tcp/80";
		struct rs_chain *a = rs_chain_find(one->rs, chain), *b = rs_chain_find(many->rs, chain);

		CHECK(a && b);
		if (a && b) {
			CHECK(a->fingerprint == b->fingerprint);
			CHECK(a->rules[a->nrules - 1].offset == b->rules[b->nrules - 1].offset);
			CHECK(strcmp(a->rules[a->nrules - 1].set, b->rules[b->nrules - 1].set) == 0);
		}
		/* 2,001 service ports, each with its own offset in its shard */
		struct htab seen = { 0 };
		char (*keys)[80] = calloc(many->rs->nchains, sizeof(*keys));
		size_t n = 0;
		int err = 0, dups = 0;

		for (size_t i = 0; i < many->rs->nchains; i++) {
			const struct rs_chain *c = &many->rs->chains[i];
			const struct rs_rule *r = c->nrules ? &c->rules[c->nrules - 1] : NULL;

			if (!r || r->kind != RS_DNAT_NUMGEN)
				continue;
			snprintf(keys[n], 80, "%s/%u", r->set, r->offset);
			if (htab_put(&seen, keys[n], strlen(keys[n]), keys[n], &err))
				dups++;
			n++;
		}
		CHECK(n == 2001 && dups == 0 && err == 0);
		htab_free(&seen);
		free(keys);
	}
	svcc_ruleset_free(one);
	svcc_ruleset_free(many);
	svcc_config_free(cfg);
	svcc_ctx_free(ctx);
}

static void test_htab(void)
{
	struct htab t = { 0 };
	static int keys[5000];
	int err = 0;

	for (int i = 0; i < 5000; i++) {
		keys[i] = i * 7919;
		CHECK(htab_put(&t, &keys[i], sizeof(int), &keys[i], &err) == NULL);
	}
	CHECK(t.n == 5000 && err == 0);
	for (int i = 0; i < 5000; i += 2)
		CHECK(htab_del(&t, &keys[i], sizeof(int)) == 0);
	for (int i = 0; i < 5000; i++)
		CHECK((htab_get(&t, &keys[i], sizeof(int)) != NULL) == (i % 2 == 1));
	CHECK(t.n == 2500);
	htab_free(&t);
}

static void test_cidr(void)
{
	struct cidr c;
	struct addr a;
	bool plen_bad, host_bits;

	CHECK(cidr_parse("10.244.0.0/16", &c, &plen_bad, &host_bits) == 0 && c.plen == 16);
	CHECK(addr_parse("10.244.255.1", &a) == 0 && cidr_contains(&c, &a));
	CHECK(addr_parse("10.245.0.1", &a) == 0 && !cidr_contains(&c, &a));
	CHECK(cidr_parse("fd00::/8", &c, &plen_bad, &host_bits) == 0 && c.addr.family == 6);
	CHECK(cidr_parse("fd00::/129", &c, &plen_bad, &host_bits) == -1 && plen_bad);
	CHECK(cidr_parse("10.0.0.1/8", &c, &plen_bad, &host_bits) == 0 && host_bits);
	CHECK(cidr_parse("10.0.0.0/", &c, &plen_bad, &host_bits) == -1 && plen_bad);
	CHECK(cidr_parse("10.0.0/8", &c, &plen_bad, &host_bits) == -1 && !plen_bad);
}

static int count_hc(const char *service, unsigned port, size_t local, void *arg)
{
	char *out = arg;
	size_t n = strlen(out);

	snprintf(out + n, 256 - n, "%s:%u:%zu ", service, port, local);
	return 0;
}

/* health-check-nodeport, read back through the API an agent serves it with. */
static void test_health_check_api(void)
{
	static const char text[] =
		"service default/a { vip 10.96.0.10; port 80; traffic-policy external local;\n"
		"    health-check-nodeport 30999; endpoint 10.244.1.5 local;\n"
		"    endpoint 10.244.1.6 local terminating; endpoint 10.244.2.5; }\n"
		"service default/b { vip 10.96.0.11; port 80; endpoint 10.244.1.7 local; }\n";
	struct svcc_ctx *ctx = svcc_ctx_new();
	struct svcc_config *cfg = NULL;
	struct svcc_service *a, *b;
	char seen[256] = "";

	CHECK(svcc_parse_string(ctx, "t.svc", text, sizeof(text) - 1, &cfg) == 0);
	if (!cfg)
		goto out;
	a = svcc_config_find_service(cfg, "default/a");
	b = svcc_config_find_service(cfg, "default/b");
	CHECK(a && svcc_service_health_check_nodeport(a) == 30999);
	CHECK(a && svcc_service_local_endpoints(a) == 1);	/* ready and local only */
	CHECK(b && svcc_service_health_check_nodeport(b) == 0);
	CHECK(svcc_config_each_health_check(cfg, count_hc, seen) == 0);
	CHECK(!strcmp(seen, "default/a:30999:1 "));
	errno = 0;
	CHECK(b && svcc_service_set_health_check_nodeport(b, 70000) == -1 && errno == EINVAL);
	CHECK(b && svcc_service_health_check_nodeport(b) == 0);
	CHECK(b && svcc_service_set_health_check_nodeport(b, 30998) == 0 &&
	      svcc_service_health_check_nodeport(b) == 30998);
out:
	svcc_config_free(cfg);
	svcc_ctx_free(ctx);
}

int main(void)
{
	test_builder_matches_text();
	test_builder_rejects();
	test_builder_rejects_what_kubernetes_does();
	test_addr_classify();
	test_errors_beside_syntax_error();
	test_check_without_location();
	test_placement_is_stable();
	test_htab();
	test_cidr();
	test_health_check_api();
	return check_done("test_compiler");
}
