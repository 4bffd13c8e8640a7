/* SPDX-License-Identifier: MIT */
/*
 * The public API covers the language, both ways: every .svc of examples/
 * and tests/golden/ is parsed, read back through the getters only, built
 * again through the builder only, and both configs compile to the same
 * bytes and read back the same.  Only svcc.h: what an agent can do.
 * Each statement of the language must be met in some file, so that a
 * getter or builder call left out cannot pass unseen.
 */
#include <errno.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

static void fail(const char *file, const char *what)
{
	fprintf(stderr, "%s: %s (errno %d: %s)\n", file, what, errno, strerror(errno));
	failures++;
}

/* Which statements the files used, counted by the walk of the parsed configs. */
enum seen {
	S_POD_CIDR, S_SERVICE_CIDR, S_NODE_IP, S_NODE_POD_CIDR, S_MASQ_FROM, S_MASQ_NOT_DEFAULT,
	S_POD_BRIDGE, S_POD_IFACE_PREFIX, S_ZONE, S_NODE_NAME, S_VIP4, S_VIP6, S_PORT_NAME,
	S_TARGET, S_TARGET_NAME, S_NODEPORT, S_UDP, S_SCTP, S_EXTERNAL_IP, S_LB, S_PROXY_LB,
	S_SOURCE_RANGES, S_AFFINITY, S_EXTERNAL_LOCAL, S_INTERNAL_LOCAL, S_DIST_ZONE, S_DIST_NODE,
	S_HC_NODEPORT, S_EP_LOCAL, S_EP_TERMINATING, S_EP_WEIGHT, S_EP_PORT, S_EP_ZONE, S_EP_NODE,
	S_EP_HINT_ZONE, S_EP_HINT_NODE, NSEEN
};
static const char *const seen_names[NSEEN] = {
	"pod-cidr", "service-cidr", "node-ip", "node-pod-cidr", "masquerade from",
	"a masquerade block", "pod-bridge", "pod-interface-prefix", "zone", "node-name",
	"an IPv4 vip", "an IPv6 vip", "a port name", "a target port", "a named target port",
	"nodeport", "a UDP port", "an SCTP port", "external-ip", "load-balancer",
	"load-balancer proxy", "source-ranges", "affinity", "traffic-policy external local",
	"traffic-policy internal local", "traffic-distribution prefer-same-zone",
	"traffic-distribution prefer-same-node", "health-check-nodeport", "endpoint local",
	"endpoint terminating", "endpoint weight", "endpoint port", "endpoint zone",
	"endpoint node", "endpoint hint-zone", "endpoint hint-node",
};
static unsigned long seen[NSEEN];

/*
 * The config as text, through the getters: two configs that read back the
 * same print the same (the health-check NodePort and the like are not in
 * the ruleset, so the rulesets alone would not tell).
 */
static void dump(const struct svcc_config *cfg, FILE *f, unsigned long *count)
{
	static const char *const lists[] = { "pod-cidr", "service-cidr", "node-ip",
					     "node-pod-cidr", "masquerade-from" };
	static const char *const addrs[] = { "external-ip", "lb", "lb-proxy", "source-range" };
	static const enum seen list_seen[] = { S_POD_CIDR, S_SERVICE_CIDR, S_NODE_IP,
					       S_NODE_POD_CIDR, S_MASQ_FROM };
	static const enum seen addr_seen[] = { S_EXTERNAL_IP, S_LB, S_PROXY_LB, S_SOURCE_RANGES };
	char buf[SVCC_ADDR_TEXT_MAX];
	unsigned long dummy[NSEEN] = { 0 };
	const char *s;

	if (!count)
		count = dummy;
	for (int l = SVCC_POD_CIDRS; l <= SVCC_MASQUERADE_FROM; l++)
		for (size_t i = 0; i < svcc_config_cidr_count(cfg, l); i++) {
			s = svcc_config_cidr(cfg, l, i, buf);
			fprintf(f, "%s %s\n", lists[l], s ? s : "(null)");
			count[list_seen[l]]++;
		}
	fprintf(f, "masquerade %#x\n", svcc_config_masquerade(cfg));
	count[S_MASQ_NOT_DEFAULT] += svcc_config_masquerade(cfg) != SVCC_MASQ_NON_POD;
	if ((s = svcc_config_pod_bridge(cfg)) && ++count[S_POD_BRIDGE])
		fprintf(f, "pod-bridge %s\n", s);
	if ((s = svcc_config_pod_interface_prefix(cfg)) && ++count[S_POD_IFACE_PREFIX])
		fprintf(f, "pod-interface-prefix %s\n", s);
	if ((s = svcc_config_zone(cfg)) && ++count[S_ZONE])
		fprintf(f, "zone %s\n", s);
	if ((s = svcc_config_node_name(cfg)) && ++count[S_NODE_NAME])
		fprintf(f, "node-name %s\n", s);
	for (size_t k = 0; k < svcc_config_service_count(cfg); k++) {
		const struct svcc_service *svc = svcc_config_service_at(cfg, k);
		unsigned policy = svcc_service_traffic_policy(svc);
		enum svcc_distribution d = svcc_service_traffic_distribution(svc);

		fprintf(f, "service %s\n", svcc_service_name(svc));
		if ((s = svcc_service_vip(svc, 4, buf)) && ++count[S_VIP4])
			fprintf(f, " vip %s\n", s);
		if ((s = svcc_service_vip(svc, 6, buf)) && ++count[S_VIP6])
			fprintf(f, " vip %s\n", s);
		for (size_t i = 0; i < svcc_service_port_count(svc); i++) {
			struct svcc_port p = { 0 };
			const char *tn = svcc_service_port_target_name(svc, i);
			unsigned np = svcc_service_port_nodeport(svc, i);

			svcc_service_port(svc, i, &p);
			fprintf(f, " port %s %u/%d -> %u %s nodeport %u\n", p.name ? p.name : "-",
				p.port, p.proto, p.target_port, tn ? tn : "-", np);
			count[S_PORT_NAME] += p.name != NULL;
			count[S_TARGET] += p.target_port && p.target_port != p.port;
			count[S_TARGET_NAME] += tn != NULL;
			count[S_NODEPORT] += np != 0;
			count[S_UDP] += p.proto == SVCC_UDP;
			count[S_SCTP] += p.proto == SVCC_SCTP;
		}
		for (int l = SVCC_EXTERNAL_IPS; l <= SVCC_SOURCE_RANGES; l++)
			for (size_t i = 0; i < svcc_service_addr_count(svc, l); i++) {
				s = svcc_service_addr(svc, l, i, buf);
				fprintf(f, " %s %s\n", addrs[l], s ? s : "(null)");
				count[addr_seen[l]]++;
			}
		fprintf(f, " affinity %u policy %#x distribution %d health-check %u\n",
			svcc_service_affinity(svc), policy, d,
			svcc_service_health_check_nodeport(svc));
		count[S_AFFINITY] += svcc_service_affinity(svc) != 0;
		count[S_EXTERNAL_LOCAL] += !!(policy & SVCC_POLICY_EXTERNAL_LOCAL);
		count[S_INTERNAL_LOCAL] += !!(policy & SVCC_POLICY_INTERNAL_LOCAL);
		count[S_DIST_ZONE] += d == SVCC_DIST_PREFER_SAME_ZONE;
		count[S_DIST_NODE] += d == SVCC_DIST_PREFER_SAME_NODE;
		count[S_HC_NODEPORT] += svcc_service_health_check_nodeport(svc) != 0;
		for (size_t i = 0; i < svcc_service_endpoint_count(svc); i++) {
			struct svcc_endpoint e = { 0 };
			unsigned port;

			svcc_service_endpoint(svc, i, &e, buf);
			fprintf(f, " endpoint %s flags %#x weight %u", e.addr, e.flags, e.weight);
			count[S_EP_LOCAL] += !!(e.flags & SVCC_EP_LOCAL);
			count[S_EP_TERMINATING] += !!(e.flags & SVCC_EP_TERMINATING);
			count[S_EP_WEIGHT] += e.weight != 1;
			for (size_t j = 0; j < svcc_service_endpoint_port_count(svc, i); j++) {
				s = svcc_service_endpoint_port(svc, i, j, &port);
				fprintf(f, " port %s %u", s, port);
				count[S_EP_PORT]++;
			}
			if ((s = svcc_service_endpoint_zone(svc, i)) && ++count[S_EP_ZONE])
				fprintf(f, " zone %s", s);
			if ((s = svcc_service_endpoint_node(svc, i)) && ++count[S_EP_NODE])
				fprintf(f, " node %s", s);
			for (size_t j = 0; j < svcc_service_endpoint_hint_count(svc, i, SVCC_HINT_ZONE);
			     j++, count[S_EP_HINT_ZONE]++)
				fprintf(f, " hint-zone %s",
					svcc_service_endpoint_hint(svc, i, SVCC_HINT_ZONE, j));
			for (size_t j = 0; j < svcc_service_endpoint_hint_count(svc, i, SVCC_HINT_NODE);
			     j++, count[S_EP_HINT_NODE]++)
				fprintf(f, " hint-node %s",
					svcc_service_endpoint_hint(svc, i, SVCC_HINT_NODE, j));
			fputc('\n', f);
		}
	}
}

static char *dump_text(const struct svcc_config *cfg, unsigned long *count)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	dump(cfg, f, count);
	fclose(f);
	return buf;
}

/* Room for n addresses as text, and pointers to them (set_addrs, set_endpoints). */
struct texts {
	char (*buf)[SVCC_ADDR_TEXT_MAX];
	const char **ptr;
};

static int texts_new(struct texts *t, size_t n)
{
	t->buf = calloc(n ? n : 1, sizeof(*t->buf));
	t->ptr = calloc(n ? n : 1, sizeof(*t->ptr));
	return t->buf && t->ptr ? 0 : -1;
}

static void texts_free(struct texts *t)
{
	free(t->buf);
	free(t->ptr);
}

#define TRY(call) do { if (call) { fail(file, #call); goto out; } } while (0)

typedef int (*add_cidr_fn)(struct svcc_config *, const char *);

static int rebuild_endpoints(const char *file, const struct svcc_service *from,
			     struct svcc_service *svc)
{
	size_t n = svcc_service_endpoint_count(from);
	struct svcc_endpoint *eps = calloc(n ? n : 1, sizeof(*eps));
	struct texts t;
	int rc = -1;

	if (texts_new(&t, n) || !eps) {
		fail(file, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		TRY(svcc_service_endpoint(from, i, &eps[i], t.buf[i]));
	TRY(svcc_service_set_endpoints(svc, eps, n));
	for (size_t i = 0; i < n; i++) {
		const char *s;
		unsigned port;

		for (size_t j = 0; j < svcc_service_endpoint_port_count(from, i); j++) {
			s = svcc_service_endpoint_port(from, i, j, &port);
			TRY(svcc_service_add_endpoint_port(svc, i, s, port));
		}
		if ((s = svcc_service_endpoint_zone(from, i)))
			TRY(svcc_service_set_endpoint_zone(svc, i, s));
		if ((s = svcc_service_endpoint_node(from, i)))
			TRY(svcc_service_set_endpoint_node(svc, i, s));
		for (enum svcc_hint h = SVCC_HINT_ZONE; h <= SVCC_HINT_NODE; h++)
			for (size_t j = 0; j < svcc_service_endpoint_hint_count(from, i, h); j++)
				TRY(svcc_service_add_endpoint_hint(svc, i, h,
						svcc_service_endpoint_hint(from, i, h, j)));
	}
	rc = 0;
out:
	texts_free(&t);
	free(eps);
	return rc;
}

static int rebuild_service(const char *file, const struct svcc_service *from,
			   struct svcc_config *cfg)
{
	size_t nports = svcc_service_port_count(from);
	struct svcc_port *ports = calloc(nports ? nports : 1, sizeof(*ports));
	struct svcc_service *svc;
	char buf[SVCC_ADDR_TEXT_MAX];
	struct texts t = { 0 };
	int rc = -1;

	if (!ports) {
		fail(file, "out of memory");
		goto out;
	}
	TRY(svcc_config_add_service(cfg, svcc_service_name(from), &svc));
	for (int fam = 4; fam <= 6; fam += 2)
		if (svcc_service_vip(from, fam, buf))
			TRY(svcc_service_set_vip(svc, buf));
	for (size_t i = 0; i < nports; i++)
		TRY(svcc_service_port(from, i, &ports[i]));
	TRY(svcc_service_set_ports(svc, ports, nports));
	for (size_t i = 0; i < nports; i++) {
		const char *tn = svcc_service_port_target_name(from, i);

		TRY(svcc_service_set_port_nodeport(svc, i, svcc_service_port_nodeport(from, i)));
		if (tn)
			TRY(svcc_service_set_port_target_name(svc, i, tn));
	}
	for (int l = SVCC_EXTERNAL_IPS; l <= SVCC_SOURCE_RANGES; l++) {
		size_t n = svcc_service_addr_count(from, l);

		texts_free(&t);
		if (texts_new(&t, n)) {
			fail(file, "out of memory");
			goto out;
		}
		for (size_t i = 0; i < n; i++)
			TRY(!(t.ptr[i] = svcc_service_addr(from, l, i, t.buf[i])));
		TRY(svcc_service_set_addrs(svc, l, t.ptr, n));
	}
	TRY(svcc_service_set_affinity(svc, svcc_service_affinity(from)));
	TRY(svcc_service_set_traffic_policy(svc, svcc_service_traffic_policy(from)));
	TRY(svcc_service_set_traffic_distribution(svc, svcc_service_traffic_distribution(from)));
	TRY(svcc_service_set_health_check_nodeport(svc, svcc_service_health_check_nodeport(from)));
	rc = rebuild_endpoints(file, from, svc);
out:
	texts_free(&t);
	free(ports);
	return rc;
}

static struct svcc_config *rebuild(const char *file, const struct svcc_config *from)
{
	static const add_cidr_fn add[] = {
		[SVCC_POD_CIDRS] = svcc_config_add_pod_cidr,
		[SVCC_SERVICE_CIDRS] = svcc_config_add_service_cidr,
		[SVCC_NODE_IPS] = svcc_config_add_node_ip,
		[SVCC_NODE_POD_CIDRS] = svcc_config_add_node_pod_cidr,
		[SVCC_MASQUERADE_FROM] = svcc_config_add_masquerade_from,
	};
	struct svcc_config *cfg = svcc_config_new();
	char buf[SVCC_ADDR_TEXT_MAX];

	if (!cfg) {
		fail(file, "out of memory");
		return NULL;
	}
	for (int l = SVCC_POD_CIDRS; l <= SVCC_MASQUERADE_FROM; l++)
		for (size_t i = 0; i < svcc_config_cidr_count(from, l); i++)
			TRY(!svcc_config_cidr(from, l, i, buf) || add[l](cfg, buf));
	TRY(svcc_config_set_masquerade(cfg, svcc_config_masquerade(from)));
	TRY(svcc_config_set_pod_bridge(cfg, svcc_config_pod_bridge(from)));
	TRY(svcc_config_set_pod_interface_prefix(cfg, svcc_config_pod_interface_prefix(from)));
	TRY(svcc_config_set_zone(cfg, svcc_config_zone(from)));
	TRY(svcc_config_set_node_name(cfg, svcc_config_node_name(from)));
	for (size_t k = 0; k < svcc_config_service_count(from); k++)
		if (rebuild_service(file, svcc_config_service_at(from, k), cfg))
			goto out;
	return cfg;
out:
	svcc_config_free(cfg);
	return NULL;
}

/* The ruleset of cfg as text, or NULL with the diagnostics printed. */
static char *compile(const char *file, struct svcc_ctx *ctx, const struct svcc_config *cfg)
{
	char *text = compiled_text(ctx, cfg);

	if (!text)
		fail(file, "does not compile to text");
	return text;
}

/* 1: the file round-trips; 0: it does not parse or compile (skipped); -1: failed. */
static int round_trip(const char *file)
{
	struct svcc_ctx *ctx = svcc_ctx_new();
	struct svcc_config *parsed = NULL, *built = NULL;
	char *want = NULL, *got = NULL, *dump_want = NULL, *dump_got = NULL;
	struct svcc_ruleset *rs = NULL;
	int rc = -1;

	if (!ctx || svcc_parse_file(ctx, file, &parsed) || svcc_compile(ctx, parsed, NULL, &rs)) {
		rc = ctx ? 0 : -1;
		goto out;
	}
	svcc_ruleset_free(rs);
	svcc_ctx_clear(ctx);
	dump_want = dump_text(parsed, seen);
	if (!(built = rebuild(file, parsed)))
		goto out;
	dump_got = dump_text(built, NULL);
	want = compile(file, ctx, parsed);
	got = compile(file, ctx, built);
	if (!want || !got || !dump_want || !dump_got)
		goto out;
	if (strcmp(dump_want, dump_got)) {
		fprintf(stderr, "%s: reads back differently when rebuilt:\n--- parsed\n%s--- rebuilt\n%s",
			file, dump_want, dump_got);
		failures++;
		goto out;
	}
	if (strcmp(want, got)) {
		fprintf(stderr, "%s: the rebuilt config's ruleset differs\n", file);
		failures++;
		goto out;
	}
	rc = 1;
out:
	free(want);
	free(got);
	free(dump_want);
	free(dump_got);
	svcc_config_free(parsed);
	svcc_config_free(built);
	svcc_ctx_free(ctx);
	return rc;
}

int main(void)
{
	static const char *const patterns[] = { "examples/*.svc", "examples/*/*.svc",
						"tests/golden/*.svc" };
	size_t passed = 0, skipped = 0;
	glob_t g;

	for (size_t p = 0; p < sizeof(patterns) / sizeof(*patterns); p++) {
		if (glob(patterns[p], 0, NULL, &g)) {
			fprintf(stderr, "no %s (run from the source tree)\n", patterns[p]);
			failures++;
			continue;
		}
		for (size_t i = 0; i < g.gl_pathc; i++) {
			int r = round_trip(g.gl_pathv[i]);

			passed += r == 1;
			if (!r) {
				fprintf(stderr, "%s: does not parse or compile: skipped\n", g.gl_pathv[i]);
				skipped++;
			}
		}
		globfree(&g);
	}
	for (int s = 0; s < NSEEN; s++)
		if (!seen[s]) {
			fprintf(stderr, "no file has %s: its calls went untested\n", seen_names[s]);
			failures++;
		}
	printf("api round trip: %zu configs, %zu skipped, %d failures\n", passed, skipped, failures);
	return failures || !passed ? 1 : 0;
}
