/* SPDX-License-Identifier: MIT */
/*
 * svcc_import_k8s as an agent calls it (svcc.h only): the sample cluster's
 * config compiles to the same ruleset as its reviewed .svc; warnings are
 * diagnostics with the file, the object and the JSON path; from memory,
 * YAML streams and empty Lists; errors and their errno.  Run from the
 * source tree (tests/run.sh does).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

static char *written(const struct svcc_config *cfg)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	CHECK(svcc_config_write(cfg, f) == 0);
	fclose(f);
	return text;
}

/* Is there a warning of file whose message is msg? */
static int has_warning(const struct svcc_ctx *ctx, const char *file, const char *msg)
{
	for (size_t i = 0; i < svcc_diag_count(ctx); i++) {
		const struct svcc_diag *d = svcc_diag_get(ctx, i);

		if (d->severity == SVCC_WARNING && streq(d->file, file) && streq(d->message, msg))
			return 1;
	}
	return 0;
}

/* The sample, from its two files: the same ruleset as examples/k8s/cluster.svc. */
static void test_sample(void)
{
	const char *files[] = { "examples/k8s/services.json", "examples/k8s/endpointslices.json" };
	struct svcc_import_options opts = { .node_name = "node-a" };
	struct svcc_ctx *ctx = svcc_ctx_new();
	struct svcc_config *cfg = NULL, *golden = NULL;
	char *a, *b;

	CHECK(svcc_import_k8s(ctx, files, 2, &opts, &cfg) == 0 && cfg);
	if (!cfg)
		goto out;
	CHECK(svcc_diag_count(ctx) == 8 && svcc_error_count(ctx) == 0);
	CHECK(has_warning(ctx, files[0], "data/cassandra: headless (clusterIP None): kube-proxy "
			  "does not proxy it (skipped)"));
	CHECK(has_warning(ctx, files[0], "ingress-nginx/ingress-nginx-controller: "
			  "spec.ports[1].appProtocol is not supported (ignored)"));
	CHECK(has_warning(ctx, files[1], "shop/promo-2k4m1: no service shop/promo (skipped)"));
	CHECK(svcc_config_service_count(cfg) == 14);
	CHECK(svcc_config_find_service(cfg, "shop/api") != NULL);
	CHECK(svcc_config_find_service(cfg, "data/cassandra") == NULL);
	svcc_ctx_clear(ctx);
	CHECK(svcc_parse_file(ctx, "examples/k8s/cluster.svc", &golden) == 0);
	a = compiled_text(NULL, cfg);
	b = golden ? compiled_text(NULL, golden) : NULL;
	CHECK(a && b && !strcmp(a, b));
	free(a);
	free(b);
	/* what svcc import-k8s prints after its two comment lines */
	a = written(cfg);
	b = golden ? written(golden) : NULL;
	CHECK(a && b && !strcmp(a, b));
	free(a);
	free(b);
out:
	svcc_config_free(golden);
	svcc_config_free(cfg);
	svcc_ctx_free(ctx);
}

static const char stream[] =
	"# kubectl get service,endpointslice -o yaml, one at a time\n"
	"apiVersion: v1\n"
	"kind: Service\n"
	"metadata: {name: web, namespace: shop}\n"
	"spec:\n"
	"  clusterIP: 10.96.0.20\n"
	"  ports:\n"
	"  - {name: http, port: 80, protocol: TCP, targetPort: 8080}\n"
	"  sessionAffinity: ClientIP\n"
	"  publishNotReadyAddresses: true\n"
	"  foo: bar\n"
	"---\n"
	"apiVersion: discovery.k8s.io/v1\n"
	"kind: EndpointSlice\n"
	"metadata:\n"
	"  name: web-x1\n"
	"  namespace: shop\n"
	"  labels: {kubernetes.io/service-name: web}\n"
	"addressType: IPv4\n"
	"ports: [{name: http, port: 8080, protocol: TCP}]\n"
	"endpoints:\n"
	"- addresses: [\"10.244.1.5\"]\n"
	"  conditions: {ready: true}\n"
	"  nodeName: node-a\n"
	"- addresses: [\"10.244.2.5\"]\n"
	"  conditions: {ready: false, serving: true, terminating: true}\n"
	"---\n";

static const char stream_svc[] =
	"cluster {\n"
	"    node-name node-a;\n"
	"    pod-cidr 10.244.0.0/16;\n"
	"}\n"
	"\n"
	"service shop/web {\n"
	"    vip 10.96.0.20;\n"
	"    port http 80/tcp -> 8080;\n"
	"    affinity client-ip;\n"
	"    endpoint 10.244.1.5 local node node-a;\n"
	"    endpoint 10.244.2.5 terminating;\n"
	"}\n";

/* From memory: a YAML stream, and an empty List beside it. */
static void test_buffers(void)
{
	static const char empty[] = "{\"apiVersion\": \"v1\", \"kind\": \"List\", \"items\": null}";
	const char *pods[] = { "10.244.0.0/16" };
	struct svcc_import_options opts = { .node_name = "node-a", .pod_cidrs = pods,
					    .npod_cidrs = 1 };
	struct svcc_import_buffer bufs[] = {
		{ "watch-cache", stream, sizeof(stream) - 1 },
		{ "empty", empty, sizeof(empty) - 1 },
	};
	struct svcc_ctx *ctx = svcc_ctx_new();
	struct svcc_config *cfg = NULL;
	char *text;

	CHECK(svcc_import_k8s_buffers(ctx, bufs, 2, &opts, &cfg) == 0 && cfg);
	if (!cfg)
		goto out;
	CHECK(svcc_diag_count(ctx) == 1);
	CHECK(has_warning(ctx, "watch-cache", "shop/web: spec.foo is not supported (ignored)"));
	text = written(cfg);
	CHECK(streq(text, stream_svc));
	if (!streq(text, stream_svc))
		fprintf(stderr, "got:\n%s", text ? text : "(null)");
	free(text);
out:
	svcc_config_free(cfg);
	svcc_ctx_free(ctx);
}

/* One failure: -1, that errno, *out untouched, an error diagnostic at file:line:col. */
static void refused(const struct svcc_import_buffer *buf, const char *const *file,
		    const struct svcc_import_options *opts, int err, const char *where,
		    int line, int col, const char *msg)
{
	struct svcc_ctx *ctx = svcc_ctx_new();
	struct svcc_config *cfg = (struct svcc_config *)&cfg;	/* must stay */
	const struct svcc_diag *d;
	int r;

	errno = 0;
	r = buf ? svcc_import_k8s_buffers(ctx, buf, 1, opts, &cfg) :
		  svcc_import_k8s(ctx, file, 1, opts, &cfg);
	CHECK(r == -1 && errno == err);
	CHECK(cfg == (struct svcc_config *)&cfg);
	CHECK(svcc_error_count(ctx) == 1);
	d = svcc_diag_get(ctx, svcc_diag_count(ctx) - 1);
	CHECK(d && d->severity == SVCC_ERROR && streq(d->message, msg));
	CHECK(d && (where ? streq(d->file, where) : !d->file) && d->line == line &&
	      d->column == col);
	if (d && (!streq(d->message, msg) || d->line != line || d->column != col))
		fprintf(stderr, "got: %s:%d:%d: %s\n", d->file ? d->file : "-", d->line, d->column,
			d->message);
	svcc_ctx_free(ctx);
}

static void test_errors(void)
{
	static const char bad[] = "kind: Service\nspec: {ports: [}\n";
	static const char dup[] = "{\"kind\": \"Service\", \"kind\": \"Service\"}";
	static const char pod[] = "kind: List\nitems:\n- 42\n";
	struct svcc_import_buffer b = { "b.yaml", bad, sizeof(bad) - 1 };
	const char *missing[] = { "tests/import/no-such-file.json" };
	const char *cidrs[] = { "10.96.0.1/12" };
	struct svcc_import_options opts = { .service_cidrs = cidrs, .nservice_cidrs = 1 };
	struct svcc_import_options bridges = { .pod_bridge = "cni0",
					       .pod_interface_prefix = "veth" };

	refused(&b, NULL, NULL, EBADMSG, "b.yaml", 2, 16,
		"while parsing a flow node: did not find expected node content");
	b = (struct svcc_import_buffer){ "d.json", dup, sizeof(dup) - 1 };
	refused(&b, NULL, NULL, EBADMSG, "d.json", 1, 26, "duplicate object key near '\"kind\"'");
	b = (struct svcc_import_buffer){ "p.yaml", pod, sizeof(pod) - 1 };
	refused(&b, NULL, NULL, EBADMSG, "p.yaml", 0, 0, "items[0]: not an object");
	refused(NULL, missing, NULL, ENOENT, missing[0], 0, 0, "No such file or directory");
	refused(NULL, missing, &opts, EINVAL, NULL, 0, 0,
		"option service-cidr: 10.96.0.1/12 has bits set past the prefix");
	refused(NULL, missing, &bridges, EINVAL, NULL, 0, 0, "options: pods are told apart one "
		"way at most: pod-bridge, pod-interface-prefix or node-pod-cidr");
}

int main(void)
{
	test_sample();
	test_buffers();
	test_errors();
	return check_done("test_import");
}
