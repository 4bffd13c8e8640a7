/* SPDX-License-Identifier: MIT */
/* Unit tests of the model, the builder API, lowering and the hash table. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "model.h"

static int failures;

#define CHECK(cond) do { \
	if (!(cond)) { \
		fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond); \
		failures++; \
	} \
} while (0)

static char *render(const struct svcc_ruleset *rs)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	svcc_ruleset_write(rs, f);
	fclose(f);
	return buf;
}

static char *compile_text(const char *text)
{
	struct svcc_ctx *ctx = svcc_ctx_new();
	struct svcc_config *cfg = NULL;
	struct svcc_ruleset *rs = NULL;
	char *out = NULL;

	if (svcc_parse_string(ctx, "t.svc", text, strlen(text), &cfg) == 0 &&
	    svcc_compile(ctx, cfg, NULL, &rs) == 0)
		out = render(rs);
	svcc_diag_print(ctx, stderr);
	svcc_ruleset_free(rs);
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
		got = render(rs);
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

int main(void)
{
	test_builder_matches_text();
	test_builder_rejects();
	test_check_without_location();
	test_placement_is_stable();
	test_htab();
	test_cidr();
	if (failures)
		fprintf(stderr, "%d check(s) failed\n", failures);
	return failures ? 1 : 0;
}
