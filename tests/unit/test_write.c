/* SPDX-License-Identifier: MIT */
/*
 * svcc_config_write: for every config in examples/ and tests/golden/ (run
 * from the source tree), the written text parses back to a config that
 * compiles to the same bytes, and writing that again gives the same text;
 * what the language cannot say is refused with EINVAL, nothing written.
 */
#include <errno.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

/* What fn writes to a stream, as a malloc'd string; *rc its return. */
static char *capture_config(const struct svcc_config *cfg, int *rc, size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);

	if (!f)
		abort();
	*rc = svcc_config_write(cfg, f);
	fclose(f);
	return buf;
}

/* parse(write(cfg)) compiles to cfg's bytes; write(parse(write(cfg))) is write(cfg) */
static void round_trip(const char *path)
{
	struct svcc_ctx *ctx = svcc_ctx_new();
	struct svcc_config *cfg = NULL, *again = NULL;
	char *want = NULL, *text = NULL, *got = NULL, *text2 = NULL;
	size_t len, len2;
	int rc;

	if (svcc_parse_file(ctx, path, &cfg) || !(want = compiled_text(ctx, cfg))) {
		svcc_diag_print(ctx, stderr);
		CHECKF(0, "%s: does not compile", path);
		goto out;
	}
	text = capture_config(cfg, &rc, &len);
	CHECKF(rc == 0, "%s: write failed: %s", path, strerror(errno));
	if (svcc_parse_string(ctx, "written", text, len, &again) || !(got = compiled_text(ctx, again))) {
		svcc_diag_print(ctx, stderr);
		CHECKF(0, "%s: the written text does not compile:\n%s", path, text);
		goto out;
	}
	CHECKF(!strcmp(want, got), "%s: the written text compiles to other bytes:\n%s", path, text);
	text2 = capture_config(again, &rc, &len2);
	CHECKF(rc == 0 && len == len2 && !memcmp(text, text2, len),
	      "%s: written twice differs:\n%s\n---\n%s", path, text, text2);
out:
	free(want);
	free(got);
	free(text);
	free(text2);
	svcc_config_free(cfg);
	svcc_config_free(again);
	svcc_ctx_free(ctx);
}

/* cfg cannot be written: EINVAL, and not a byte out */
static void refused(const struct svcc_config *cfg, const char *what)
{
	size_t len;
	int rc;
	char *text;

	errno = 0;
	text = capture_config(cfg, &rc, &len);
	CHECKF(rc == -1 && errno == EINVAL && len == 0, "%s: rc %d errno %d, wrote '%s'", what, rc,
	      errno, text);
	free(text);
}

static void unwritable(void)
{
	static const char *const bad_names[] = {
		"port", "vip", "web-", "-web", "a b", "ns/a/b", "/web", "ns/",
		"zone", "cluster", "web#1",
	};
	struct svcc_port two[] = { { .port = 80, .proto = SVCC_TCP }, { .port = 81, .proto = SVCC_TCP } };
	struct svcc_port bad_port[] = { { .name = "vip", .port = 80, .proto = SVCC_TCP } };
	struct svcc_config *cfg;
	struct svcc_service *svc;

	for (size_t i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++) {
		cfg = svcc_config_new();
		if (svcc_config_add_service(cfg, bad_names[i], &svc)) {
			svcc_config_free(cfg);	/* the builder refuses it already */
			continue;
		}
		refused(cfg, bad_names[i]);
		svcc_config_free(cfg);
	}
	/* a port name that is a keyword */
	cfg = svcc_config_new();
	CHECKF(!svcc_config_add_service(cfg, "web", &svc) && !svcc_service_set_ports(svc, bad_port, 1),
	      "builder");
	refused(cfg, "port named vip");
	svcc_config_free(cfg);
	/* a NodePort on an unnamed port among several: "nodeport N" cannot say which */
	cfg = svcc_config_new();
	CHECKF(!svcc_config_add_service(cfg, "web", &svc) && !svcc_service_set_ports(svc, two, 2) &&
	      !svcc_service_set_port_nodeport(svc, 1, 30080), "builder");
	refused(cfg, "nodeport on an unnamed port of two");
	svcc_config_free(cfg);
	/* a zone that is a keyword the cluster block does not take as a word */
	cfg = svcc_config_new();
	if (!svcc_config_set_zone(cfg, "service"))
		refused(cfg, "zone service");
	svcc_config_free(cfg);
	/* keywords the grammar takes as a word are fine: a service "all" */
	cfg = svcc_config_new();
	CHECKF(!svcc_config_add_service(cfg, "all", &svc) && !svcc_service_set_ports(svc, two, 2),
	      "builder");
	{
		int rc;
		size_t len;
		char *text = capture_config(cfg, &rc, &len);

		CHECKF(rc == 0 && !strcmp(text, "service all {\n    port 80/tcp;\n    port 81/tcp;\n}\n"),
		      "service all: '%s'", text);
		free(text);
	}
	svcc_config_free(cfg);
}

int main(void)
{
	glob_t g;

	if (glob("examples/*.svc", 0, NULL, &g) || glob("tests/golden/*.svc", GLOB_APPEND, NULL, &g)) {
		fprintf(stderr, "test_write: run from the source tree (no examples/*.svc)\n");
		return 1;
	}
	for (size_t i = 0; i < g.gl_pathc; i++)
		round_trip(g.gl_pathv[i]);
	CHECKF(g.gl_pathc >= 20, "only %zu configs", g.gl_pathc);
	globfree(&g);
	unwritable();
	return check_done("test_write");
}
