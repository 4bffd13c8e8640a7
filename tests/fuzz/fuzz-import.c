// SPDX-License-Identifier: MIT
/*
 * libFuzzer: `svcc import-k8s` on two JSON documents (services, then
 * endpointslices, split at a "%%" line), through import_k8s_main as the
 * command calls it; the files are memfds.  Invariant: when the import
 * succeeds, what it wrote parses and compiles without an error (as
 * tests/import/run.sh asks of the samples).
 */
#include <errno.h>
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
		int ok = svcc_parse_string(ctx, "import.svc", outbuf, outlen, &cfg) == 0 &&
			 svcc_compile(ctx, cfg, NULL, &rs) == 0;

		if (!ok) {
			fprintf(stderr, "import-k8s wrote a config that does not compile:\n%s\n", outbuf);
			svcc_diag_print(ctx, stderr);
		}
		FUZZ_ASSERT(ok);
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
