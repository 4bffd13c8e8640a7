/* SPDX-License-Identifier: MIT */
/*
 * The builder calls for the whole language refuse what the text refuses,
 * with EINVAL, and then change nothing; the getters give back what was
 * set.  Only svcc.h: what an agent sees.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

/* call fails with EINVAL */
#define REFUSED(call) do { errno = 0; CHECK((call) == -1 && errno == EINVAL); } while (0)

static void test_cluster(void)
{
	struct svcc_config *cfg = svcc_config_new();
	char buf[SVCC_ADDR_TEXT_MAX], zone64[70], node254[260];

	memset(zone64, 'z', 64);
	zone64[64] = '\0';
	memset(node254, 'n', 254);
	node254[254] = '\0';

	CHECK(svcc_config_add_pod_cidr(cfg, "10.244.0.0/16") == 0);
	CHECK(svcc_config_add_pod_cidr(cfg, "fd00:10:244::/56") == 0);
	CHECK(svcc_config_add_node_ip(cfg, "192.168.50.2") == 0);
	CHECK(svcc_config_cidr_count(cfg, SVCC_POD_CIDRS) == 2);
	CHECK(streq(svcc_config_cidr(cfg, SVCC_POD_CIDRS, 1, buf), "fd00:10:244::/56"));
	CHECK(streq(svcc_config_cidr(cfg, SVCC_NODE_IPS, 0, buf), "192.168.50.2"));
	errno = 0;
	CHECK(!svcc_config_cidr(cfg, SVCC_POD_CIDRS, 2, buf) && errno == ERANGE);
	CHECK(svcc_config_cidr_count(cfg, (enum svcc_cidr_list)99) == 0);

	/* node-pod-cidr: a prefix without host bits */
	REFUSED(svcc_config_add_node_pod_cidr(cfg, "10.244.1.1/24"));
	REFUSED(svcc_config_add_node_pod_cidr(cfg, "10.244.1.0/33"));
	REFUSED(svcc_config_add_node_pod_cidr(cfg, NULL));
	CHECK(svcc_config_cidr_count(cfg, SVCC_NODE_POD_CIDRS) == 0);
	CHECK(svcc_config_add_node_pod_cidr(cfg, "10.244.1.0/24") == 0);
	/* pods are told apart one way */
	REFUSED(svcc_config_set_pod_bridge(cfg, "cni0"));
	REFUSED(svcc_config_set_pod_interface_prefix(cfg, "veth"));
	CHECK(!svcc_config_pod_bridge(cfg) && !svcc_config_pod_interface_prefix(cfg));

	cfg = (svcc_config_free(cfg), svcc_config_new());
	CHECK(svcc_config_set_pod_bridge(cfg, "cni0") == 0);
	REFUSED(svcc_config_set_pod_interface_prefix(cfg, "veth"));
	REFUSED(svcc_config_add_node_pod_cidr(cfg, "10.244.1.0/24"));
	/* interface names as the kernel takes them */
	REFUSED(svcc_config_set_pod_bridge(cfg, ""));
	REFUSED(svcc_config_set_pod_bridge(cfg, "a23456789012345x"));
	REFUSED(svcc_config_set_pod_bridge(cfg, "br/0"));
	REFUSED(svcc_config_set_pod_bridge(cfg, "br 0"));
	REFUSED(svcc_config_set_pod_bridge(cfg, "br*"));
	CHECK(streq(svcc_config_pod_bridge(cfg), "cni0"));
	CHECK(svcc_config_set_pod_bridge(cfg, "a23456789012345") == 0);
	CHECK(svcc_config_set_pod_bridge(cfg, NULL) == 0 && !svcc_config_pod_bridge(cfg));
	CHECK(svcc_config_set_pod_interface_prefix(cfg, "veth") == 0);
	CHECK(streq(svcc_config_pod_interface_prefix(cfg), "veth"));

	/* zone and node-name: letters, digits, '-', '_', '.'; 63 and 253 at most */
	CHECK(svcc_config_set_zone(cfg, "eu-west-1a") == 0);
	REFUSED(svcc_config_set_zone(cfg, zone64));
	REFUSED(svcc_config_set_zone(cfg, "a b"));
	REFUSED(svcc_config_set_zone(cfg, ""));
	CHECK(streq(svcc_config_zone(cfg), "eu-west-1a"));
	zone64[63] = '\0';
	CHECK(svcc_config_set_zone(cfg, zone64) == 0 && streq(svcc_config_zone(cfg), zone64));
	CHECK(svcc_config_set_node_name(cfg, "node-1.example") == 0);
	REFUSED(svcc_config_set_node_name(cfg, node254));
	REFUSED(svcc_config_set_node_name(cfg, "node:1"));
	CHECK(streq(svcc_config_node_name(cfg), "node-1.example"));
	node254[253] = '\0';
	CHECK(svcc_config_set_node_name(cfg, node254) == 0);
	CHECK(svcc_config_set_zone(cfg, NULL) == 0 && !svcc_config_zone(cfg));

	CHECK(svcc_config_masquerade(cfg) == SVCC_MASQ_NON_POD);
	CHECK(svcc_config_set_masquerade(cfg, SVCC_MASQ_ALL) == 0);
	CHECK(svcc_config_masquerade(cfg) == SVCC_MASQ_ALL);
	svcc_config_free(cfg);
}

/* A config with one service default/web: vip, two ports, two endpoints. */
static struct svcc_config *web_config(struct svcc_service **svc)
{
	struct svcc_config *cfg = svcc_config_new();
	struct svcc_port ports[] = {
		{ .name = "http", .port = 80, .proto = SVCC_TCP, .target_port = 8080 },
		{ .name = "dns", .port = 53, .proto = SVCC_UDP },
	};
	struct svcc_endpoint eps[] = { { .addr = "10.244.1.5" }, { .addr = "10.244.2.7" } };

	CHECK(svcc_config_add_pod_cidr(cfg, "10.244.0.0/16") == 0);
	CHECK(svcc_config_add_service(cfg, "default/web", svc) == 0);
	CHECK(svcc_service_set_vip(*svc, "10.96.0.10") == 0);
	CHECK(svcc_service_set_ports(*svc, ports, 2) == 0);
	CHECK(svcc_service_set_endpoints(*svc, eps, 2) == 0);
	return cfg;
}

static void test_names(void)
{
	struct svcc_config *cfg = svcc_config_new();
	struct svcc_service *svc;
	struct svcc_port bad = { .name = "a b", .port = 80, .proto = SVCC_TCP };

	/* as the language takes them: [namespace/]name of letters, digits, '-', '_', '.' */
	REFUSED(svcc_config_add_service(cfg, "default/web/x", &svc));
	REFUSED(svcc_config_add_service(cfg, "/web", &svc));
	REFUSED(svcc_config_add_service(cfg, "default/", &svc));
	REFUSED(svcc_config_add_service(cfg, "de fault/web", &svc));
	CHECK(svcc_config_service_count(cfg) == 0);
	CHECK(svcc_config_add_service(cfg, "web", &svc) == 0);
	REFUSED(svcc_service_set_ports(svc, &bad, 1));
	CHECK(svcc_service_port_count(svc) == 0);
	errno = 0;
	CHECK(!svcc_config_service_at(cfg, 1) && errno == ERANGE);
	CHECK(svcc_config_service_at(cfg, 0) == svc && streq(svcc_service_name(svc), "web"));
	svcc_config_free(cfg);
}

static void test_ports(void)
{
	struct svcc_service *svc;
	struct svcc_config *cfg = web_config(&svc);
	struct svcc_port p;

	CHECK(svcc_service_set_port_nodeport(svc, 0, 30080) == 0);
	REFUSED(svcc_service_set_port_nodeport(svc, 2, 30081));
	REFUSED(svcc_service_set_port_nodeport(svc, 0, 65536));
	CHECK(svcc_service_port_nodeport(svc, 0) == 30080 && svcc_service_port_nodeport(svc, 1) == 0);
	errno = 0;
	CHECK(svcc_service_port_nodeport(svc, 2) == 0 && errno == ERANGE);

	/* a named target: an IANA_SVC_NAME not starting with a digit (that is a number) */
	REFUSED(svcc_service_set_port_target_name(svc, 0, NULL));
	REFUSED(svcc_service_set_port_target_name(svc, 0, "8080"));
	REFUSED(svcc_service_set_port_target_name(svc, 0, "web-server-port1"));
	REFUSED(svcc_service_set_port_target_name(svc, 0, "a/b"));
	REFUSED(svcc_service_set_port_target_name(svc, 2, "web"));
	CHECK(!svcc_service_port_target_name(svc, 0));
	CHECK(svcc_service_port(svc, 0, &p) == 0 && p.target_port == 8080 && p.port == 80);
	CHECK(svcc_service_set_port_target_name(svc, 0, "web") == 0);
	CHECK(streq(svcc_service_port_target_name(svc, 0), "web"));
	CHECK(svcc_service_port(svc, 0, &p) == 0 && p.target_port == 0 && streq(p.name, "http"));
	/* an unset target is the port's own */
	CHECK(svcc_service_port(svc, 1, &p) == 0 && p.target_port == 53 && p.proto == SVCC_UDP);
	CHECK(svcc_service_port(svc, 2, &p) == -1 && errno == ERANGE);
	svcc_config_free(cfg);
}

static void test_addrs(void)
{
	struct svcc_service *svc;
	struct svcc_config *cfg = web_config(&svc);
	const char *good[] = { "192.0.2.10", "169.254.20.10" };
	const char *prefix[] = { "192.0.2.0/24" };
	const char *loop[] = { "192.0.2.11", "127.0.0.1" };
	const char *mcast[] = { "ff05::1" };
	const char *ranges[] = { "203.0.113.0/24", "10.0.0.8" };
	const char *host_bits[] = { "203.0.113.1/24" };
	char buf[SVCC_ADDR_TEXT_MAX];

	for (int l = SVCC_EXTERNAL_IPS; l <= SVCC_PROXY_LOAD_BALANCERS; l++) {
		CHECK(svcc_service_set_addrs(svc, l, good, 2) == 0);
		REFUSED(svcc_service_set_addrs(svc, l, prefix, 1));
		REFUSED(svcc_service_set_addrs(svc, l, loop, 2));
		REFUSED(svcc_service_set_addrs(svc, l, mcast, 1));
		REFUSED(svcc_service_set_addrs(svc, l, NULL, 1));
		CHECK(svcc_service_addr_count(svc, l) == 2);
		CHECK(streq(svcc_service_addr(svc, l, 1, buf), "169.254.20.10"));
		errno = 0;
		CHECK(!svcc_service_addr(svc, l, 2, buf) && errno == ERANGE);
	}
	CHECK(svcc_service_set_addrs(svc, SVCC_PROXY_LOAD_BALANCERS, NULL, 0) == 0);
	CHECK(svcc_service_addr_count(svc, SVCC_PROXY_LOAD_BALANCERS) == 0);
	CHECK(svcc_service_set_addrs(svc, SVCC_SOURCE_RANGES, ranges, 2) == 0);
	REFUSED(svcc_service_set_addrs(svc, SVCC_SOURCE_RANGES, host_bits, 1));
	REFUSED(svcc_service_set_addrs(svc, (enum svcc_addr_list)99, ranges, 1));
	CHECK(svcc_service_addr_count(svc, SVCC_SOURCE_RANGES) == 2);
	CHECK(streq(svcc_service_addr(svc, SVCC_SOURCE_RANGES, 0, buf), "203.0.113.0/24"));
	CHECK(streq(svcc_service_addr(svc, SVCC_SOURCE_RANGES, 1, buf), "10.0.0.8/32"));
	svcc_config_free(cfg);
}

static void test_policies(void)
{
	struct svcc_service *svc;
	struct svcc_config *cfg = web_config(&svc);

	CHECK(svcc_service_affinity(svc) == 0);
	CHECK(svcc_service_set_affinity(svc, SVCC_AFFINITY_TIMEOUT_DEFAULT) == 0);
	REFUSED(svcc_service_set_affinity(svc, 86401));
	CHECK(svcc_service_affinity(svc) == 10800);
	CHECK(svcc_service_set_affinity(svc, 86400) == 0 && svcc_service_affinity(svc) == 86400);

	CHECK(svcc_service_set_traffic_policy(svc, SVCC_POLICY_EXTERNAL_LOCAL) == 0);
	REFUSED(svcc_service_set_traffic_policy(svc, 0x4));
	CHECK(svcc_service_traffic_policy(svc) == SVCC_POLICY_EXTERNAL_LOCAL);
	CHECK(svcc_service_set_traffic_policy(svc, SVCC_POLICY_EXTERNAL_LOCAL |
					      SVCC_POLICY_INTERNAL_LOCAL) == 0);
	CHECK(svcc_service_traffic_policy(svc) == (SVCC_POLICY_EXTERNAL_LOCAL |
						   SVCC_POLICY_INTERNAL_LOCAL));

	CHECK(svcc_service_set_traffic_distribution(svc, SVCC_DIST_PREFER_SAME_NODE) == 0);
	REFUSED(svcc_service_set_traffic_distribution(svc, (enum svcc_distribution)3));
	CHECK(svcc_service_traffic_distribution(svc) == SVCC_DIST_PREFER_SAME_NODE);
	svcc_config_free(cfg);
}

static void test_endpoints(void)
{
	struct svcc_service *svc;
	struct svcc_config *cfg = web_config(&svc);
	struct svcc_endpoint e, one = { .addr = "fd00:10:244:1::5", .flags = SVCC_EP_LOCAL,
					.weight = 3 };
	char buf[SVCC_ADDR_TEXT_MAX], node254[260];
	unsigned port = 0;

	memset(node254, 'n', 254);
	node254[254] = '\0';
	CHECK(svcc_service_add_endpoint_port(svc, 1, "http", 9100) == 0);
	REFUSED(svcc_service_add_endpoint_port(svc, 2, "http", 9100));
	REFUSED(svcc_service_add_endpoint_port(svc, 1, "http", 0));
	REFUSED(svcc_service_add_endpoint_port(svc, 1, "http", 65536));
	REFUSED(svcc_service_add_endpoint_port(svc, 1, NULL, 9100));
	REFUSED(svcc_service_add_endpoint_port(svc, 1, "web server", 9100));
	CHECK(svcc_service_endpoint_port_count(svc, 0) == 0);
	CHECK(svcc_service_endpoint_port_count(svc, 1) == 1);
	CHECK(streq(svcc_service_endpoint_port(svc, 1, 0, &port), "http") && port == 9100);
	errno = 0;
	CHECK(!svcc_service_endpoint_port(svc, 1, 1, &port) && errno == ERANGE);

	CHECK(svcc_service_set_endpoint_zone(svc, 0, "zone-a") == 0);
	REFUSED(svcc_service_set_endpoint_zone(svc, 0, "zone a"));
	REFUSED(svcc_service_set_endpoint_zone(svc, 2, "zone-a"));
	CHECK(streq(svcc_service_endpoint_zone(svc, 0), "zone-a"));
	CHECK(svcc_service_set_endpoint_node(svc, 0, "node-1") == 0);
	REFUSED(svcc_service_set_endpoint_node(svc, 0, node254));
	CHECK(streq(svcc_service_endpoint_node(svc, 0), "node-1"));
	CHECK(!svcc_service_endpoint_node(svc, 1) && !svcc_service_endpoint_zone(svc, 1));

	CHECK(svcc_service_add_endpoint_hint(svc, 1, SVCC_HINT_ZONE, "zone-a") == 0);
	CHECK(svcc_service_add_endpoint_hint(svc, 1, SVCC_HINT_ZONE, "zone-b") == 0);
	CHECK(svcc_service_add_endpoint_hint(svc, 1, SVCC_HINT_NODE, "node-2") == 0);
	REFUSED(svcc_service_add_endpoint_hint(svc, 1, (enum svcc_hint)2, "zone-c"));
	REFUSED(svcc_service_add_endpoint_hint(svc, 1, SVCC_HINT_ZONE, "zone/c"));
	REFUSED(svcc_service_add_endpoint_hint(svc, 1, SVCC_HINT_NODE, NULL));
	REFUSED(svcc_service_add_endpoint_hint(svc, 5, SVCC_HINT_NODE, "node-2"));
	CHECK(svcc_service_endpoint_hint_count(svc, 1, SVCC_HINT_ZONE) == 2);
	CHECK(svcc_service_endpoint_hint_count(svc, 1, SVCC_HINT_NODE) == 1);
	CHECK(streq(svcc_service_endpoint_hint(svc, 1, SVCC_HINT_ZONE, 1), "zone-b"));
	CHECK(streq(svcc_service_endpoint_hint(svc, 1, SVCC_HINT_NODE, 0), "node-2"));
	CHECK(!svcc_service_endpoint_hint(svc, 1, SVCC_HINT_NODE, 1));

	CHECK(svcc_service_endpoint(svc, 1, &e, buf) == 0 && streq(e.addr, "10.244.2.7") &&
	      e.addr == buf && e.flags == 0 && e.weight == 1);
	CHECK(svcc_service_endpoint(svc, 2, &e, buf) == -1 && errno == ERANGE);
	/* set_endpoints starts them afresh */
	CHECK(svcc_service_set_vip(svc, "fd00:10:96::10") == 0);
	CHECK(svcc_service_set_endpoints(svc, &one, 1) == 0);
	CHECK(svcc_service_endpoint_count(svc) == 1);
	CHECK(svcc_service_endpoint_port_count(svc, 0) == 0 && !svcc_service_endpoint_zone(svc, 0));
	CHECK(svcc_service_endpoint_hint_count(svc, 0, SVCC_HINT_ZONE) == 0);
	CHECK(svcc_service_endpoint(svc, 0, &e, buf) == 0 && streq(e.addr, "fd00:10:244:1::5") &&
	      e.flags == SVCC_EP_LOCAL && e.weight == 3);
	CHECK(streq(svcc_service_vip(svc, 6, buf), "fd00:10:96::10"));
	CHECK(streq(svcc_service_vip(svc, 4, buf), "10.96.0.10"));
	errno = 0;
	CHECK(!svcc_service_vip(svc, 5, buf) && errno == ENOENT);
	svcc_config_free(cfg);
}

static void test_matches_text(void)
{
	static const char text[] =
		"cluster { pod-cidr 10.244.0.0/16; pod-bridge cni0; zone zone-a; }\n"
		"service default/web {\n"
		"    vip 10.96.0.10;\n"
		"    port http 80 -> web;\n"
		"    port dns 53/udp;\n"
		"    nodeport http 30080;\n"
		"    external-ip 192.0.2.10;\n"
		"    load-balancer 198.51.100.7;\n"
		"    load-balancer 198.51.100.8 proxy;\n"
		"    source-ranges 203.0.113.0/24;\n"
		"    affinity client-ip timeout 600;\n"
		"    traffic-policy external local;\n"
		"    traffic-distribution prefer-close;\n"
		"    endpoint 10.244.1.5 port http 8080 zone zone-a;\n"
		"    endpoint 10.244.2.7 local weight 2 port http 8081 zone zone-b;\n"
		"}\n";
	const char *ext[] = { "192.0.2.10" }, *lb[] = { "198.51.100.7" },
		   *proxy[] = { "198.51.100.8" }, *src[] = { "203.0.113.0/24" };
	struct svcc_ctx *ctx = svcc_ctx_new();
	struct svcc_config *parsed = NULL, *cfg;
	struct svcc_endpoint eps[] = { { .addr = "10.244.1.5" },
				       { .addr = "10.244.2.7", .flags = SVCC_EP_LOCAL, .weight = 2 } };
	struct svcc_service *svc;
	char *want, *got;

	CHECK(svcc_parse_string(ctx, "t.svc", text, strlen(text), &parsed) == 0);
	cfg = web_config(&svc);
	CHECK(svcc_config_set_pod_bridge(cfg, "cni0") == 0);
	CHECK(svcc_config_set_zone(cfg, "zone-a") == 0);
	CHECK(svcc_service_set_port_target_name(svc, 0, "web") == 0);
	CHECK(svcc_service_set_port_nodeport(svc, 0, 30080) == 0);
	CHECK(svcc_service_set_addrs(svc, SVCC_EXTERNAL_IPS, ext, 1) == 0);
	CHECK(svcc_service_set_addrs(svc, SVCC_LOAD_BALANCERS, lb, 1) == 0);
	CHECK(svcc_service_set_addrs(svc, SVCC_PROXY_LOAD_BALANCERS, proxy, 1) == 0);
	CHECK(svcc_service_set_addrs(svc, SVCC_SOURCE_RANGES, src, 1) == 0);
	CHECK(svcc_service_set_affinity(svc, 600) == 0);
	CHECK(svcc_service_set_traffic_policy(svc, SVCC_POLICY_EXTERNAL_LOCAL) == 0);
	CHECK(svcc_service_set_traffic_distribution(svc, SVCC_DIST_PREFER_SAME_ZONE) == 0);
	CHECK(svcc_service_set_endpoints(svc, eps, 2) == 0);
	CHECK(svcc_service_add_endpoint_port(svc, 0, "http", 8080) == 0);
	CHECK(svcc_service_add_endpoint_port(svc, 1, "http", 8081) == 0);
	CHECK(svcc_service_set_endpoint_zone(svc, 0, "zone-a") == 0);
	CHECK(svcc_service_set_endpoint_zone(svc, 1, "zone-b") == 0);
	want = parsed ? compiled_text(NULL, parsed) : NULL;
	got = compiled_text(NULL, cfg);
	CHECK(want && got && !strcmp(want, got));
	free(want);
	free(got);
	svcc_config_free(parsed);
	svcc_config_free(cfg);
	svcc_ctx_free(ctx);
}

static int parses(const char *fmt, const char *word)
{
	struct svcc_ctx *ctx = svcc_ctx_new();
	struct svcc_config *cfg = NULL;
	char text[512];
	int ok;

	snprintf(text, sizeof(text), fmt, word);
	ok = svcc_parse_string(ctx, "t.svc", text, strlen(text), &cfg) == 0;
	svcc_config_free(cfg);
	svcc_ctx_free(ctx);
	return ok;
}

/* Does the builder take word where text takes it?  1 or 0, for each place. */
static void check_word(const char *w)
{
	struct svcc_config *cfg = svcc_config_new();
	struct svcc_service *svc, *s2;
	struct svcc_port p = { .name = w, .port = 80, .proto = SVCC_TCP };
	struct svcc_port plain = { .port = 80, .proto = SVCC_TCP };
	struct svcc_endpoint e = { .addr = "10.244.0.1" };
	int built, text;

	CHECK(svcc_config_add_service(cfg, "s", &svc) == 0 && svcc_service_set_vip(svc, "10.96.0.1") == 0);
	CHECK(svcc_service_set_endpoints(svc, &e, 1) == 0);
#define SAME(call, fmt) do { \
		built = (call) == 0; \
		text = parses(fmt, w); \
		if (built != text) { \
			fprintf(stderr, "'%s': builder %s, text %s: %s\n", w, built ? "takes" : "refuses", \
				text ? "takes" : "refuses", fmt); \
			failures++; \
		} \
	} while (0)
	SAME(svcc_config_add_service(cfg, w, &s2), "service %s { vip 10.96.0.2; port 80; }");
	SAME(svcc_config_set_zone(cfg, w), "cluster { zone %s; }");
	SAME(svcc_config_set_node_name(cfg, w), "cluster { node-name %s; }");
	SAME(svcc_config_set_pod_bridge(cfg, w), "cluster { pod-bridge %s; }");
	/* a port named after a keyword is built (svcc_config_write refuses it): text only ⇒ built */
	if (parses("service s { vip 10.96.0.2; port %s 80; }", w) &&
	    svcc_service_set_ports(svc, &p, 1)) {
		fprintf(stderr, "'%s': the builder refuses a port name text takes\n", w);
		failures++;
	}
	CHECK(svcc_service_set_ports(svc, &plain, 1) == 0);
	if (!(*w >= '0' && *w <= '9'))	/* in text, a target number */
		SAME(svcc_service_set_port_target_name(svc, 0, w),
		     "service s { vip 10.96.0.2; port 80 -> %s; }");
	SAME(svcc_service_set_endpoint_zone(svc, 0, w),
	     "service s { vip 10.96.0.2; port 80; endpoint 10.244.0.1 zone %s; }");
	SAME(svcc_service_add_endpoint_hint(svc, 0, SVCC_HINT_NODE, w),
	     "service s { vip 10.96.0.2; port 80; endpoint 10.244.0.1 hint-node %s; }");
	SAME(svcc_service_add_endpoint_port(svc, 0, w, 8080),
	     "service s { vip 10.96.0.2; port 80; endpoint 10.244.0.1 port %s 8080; }");
#undef SAME
	svcc_config_free(cfg);
}

/*
 * What the builder takes, text can say (svcc_config_write must be able to
 * write it), and the other way round: every keyword of grammar/lexer.l,
 * and words of every shape, in every place a name goes.
 */
static void test_words(void)
{
	static const char *const words[] = { "web", "a-b", "-a", "a-", "a:b", "a#b", "x.y", "a b",
					     "a/b", "8080", "_x", "é" };
	FILE *f = fopen("grammar/lexer.l", "r");
	char line[256], kw[64];
	size_t nkw = 0;

	CHECK(f != NULL);
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "\"%63[a-z-]\"{dashes}", kw) == 1) {
			check_word(kw);
			nkw++;
		}
	if (f)
		fclose(f);
	CHECK(nkw >= 25);	/* the keywords were found */
	for (size_t i = 0; i < sizeof(words) / sizeof(*words); i++)
		check_word(words[i]);
}

int main(void)
{
	test_words();
	test_cluster();
	test_names();
	test_ports();
	test_addrs();
	test_policies();
	test_endpoints();
	test_matches_text();
	return check_done("test_api_builder");
}
