// SPDX-License-Identifier: MIT
/*
 * libFuzzer: `svcc import-k8s` on two JSON documents (services, then
 * endpointslices, split at a "%%" line), through import_k8s_main as the
 * command calls it; the files are memfds.  Invariants: it exits 0 or 1;
 * when it succeeds, what it wrote parses without an error, and compiles
 * without one too under SVCC_FUZZ_STRICT=1 (tests/import/run.sh asks that
 * of the samples; fuzzed input still finds conflicts between objects that
 * import-k8s passes on).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "svcc.h"
#include "import_k8s.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A readable file holding len bytes at p: its /proc/self/fd path in path. */
static int memfile(const uint8_t *p, size_t len, char path[64])
{
	int fd = memfd_create("fuzz.json", 0);

	FUZZ_ASSERT(fd >= 0);
	while (len) {
		ssize_t w = write(fd, p, len);

		FUZZ_ASSERT(w > 0);
		p += w;
		len -= (size_t)w;
	}
	snprintf(path, 64, "/proc/self/fd/%d", fd);
	return fd;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *b;
	size_t alen, blen, outlen = 0;
	char pa[64], pb[64], *outbuf = NULL;
	int fa, fb, rc;
	FILE *null = fopen("/dev/null", "w"), *out;
	static int strict = -1;

	if (strict < 0)
		strict = getenv("SVCC_FUZZ_STRICT") && *getenv("SVCC_FUZZ_STRICT") == '1';

	fuzz_split(data, size, &alen, &b, &blen);
	fa = memfile(data, alen, pa);
	fb = memfile(b, blen, pb);
	out = open_memstream(&outbuf, &outlen);
	FUZZ_ASSERT(null && out);
	{
		char *argv[] = { "import-k8s", pa, pb, "--node", "node-a",
				 "--pod-cidr", "10.244.0.0/16", "--pod-cidr", "fd00:10:244::/56", NULL };

		rc = import_k8s_main((int)(sizeof(argv) / sizeof(*argv)) - 1, argv, out, null);
	}
	fclose(out);
	FUZZ_ASSERT(rc == 0 || rc == 1);
	if (rc == 0) {
		struct svcc_ctx *ctx = svcc_ctx_new();
		struct svcc_config *cfg = NULL;
		struct svcc_ruleset *rs = NULL;
		bool parsed = svcc_parse_string(ctx, "import.svc", outbuf, outlen, &cfg) == 0;
		bool compiled = parsed && svcc_compile(ctx, cfg, NULL, &rs) == 0;

		if (!compiled) {
			fprintf(stderr, "import-k8s wrote a config that does not %s:\n%s\n",
				parsed ? "compile" : "parse", outbuf);
			svcc_diag_print(ctx, stderr);
		}
		/*
		 * What it writes is always well-formed.  Conflicts between
		 * objects (two Services on one clusterIP and port) are not yet
		 * warned about and skipped by import-k8s: SVCC_FUZZ_STRICT=1
		 * asks for a clean compile too.
		 */
		FUZZ_ASSERT(parsed);
		FUZZ_ASSERT(compiled || !strict);
		svcc_ruleset_free(rs);
		svcc_config_free(cfg);
		svcc_ctx_free(ctx);
	}
	free(outbuf);
	close(fa);
	close(fb);
	fclose(null);
	return 0;
}
