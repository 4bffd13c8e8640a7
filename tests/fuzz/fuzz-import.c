// SPDX-License-Identifier: MIT
/*
 * libFuzzer: svcc_import_k8s_buffers on two inputs (split at a "%%" line),
 * each JSON or YAML, as an agent calls it.  Invariants: it succeeds or
 * fails with EBADMSG (never another errno but ENOMEM, never an error
 * diagnostic on success); what it builds, svcc_config_write writes (the
 * importer makes nothing the language cannot say), and the text parses
 * without an error, and compiles without one too under SVCC_FUZZ_STRICT=1
 * (tests/import/run.sh asks that of the samples; fuzzed input still finds
 * conflicts between objects that import-k8s passes on).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>

#include "svcc.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const pods[] = { "10.244.0.0/16", "fd00:10:244::/56" };
	static const struct svcc_import_options opts = { .node_name = "node-a", .pod_cidrs = pods,
							 .npod_cidrs = 2 };
	struct svcc_import_buffer bufs[2] = { { "a", (const char *)data, 0 }, { "b", NULL, 0 } };
	struct svcc_ctx *ctx = svcc_ctx_new();
	struct svcc_config *cfg = NULL, *back = NULL;
	struct svcc_ruleset *rs = NULL;
	const uint8_t *b;
	char *text = NULL;
	size_t len = 0;
	static int strict = -1;
	bool parsed, compiled;
	FILE *f;

	if (strict < 0)
		strict = getenv("SVCC_FUZZ_STRICT") && *getenv("SVCC_FUZZ_STRICT") == '1';
	FUZZ_ASSERT(ctx);
	fuzz_split(data, size, &bufs[0].len, &b, &bufs[1].len);
	bufs[1].data = (const char *)b;
	if (svcc_import_k8s_buffers(ctx, bufs, 2, &opts, &cfg)) {
		FUZZ_ASSERT(errno == EBADMSG || errno == ENOMEM);
		FUZZ_ASSERT(svcc_error_count(ctx) > 0);
		svcc_ctx_free(ctx);
		return 0;
	}
	FUZZ_ASSERT(svcc_error_count(ctx) == 0);
	f = open_memstream(&text, &len);
	FUZZ_ASSERT(f);
	FUZZ_ASSERT(svcc_config_write(cfg, f) == 0);
	fclose(f);
	svcc_ctx_clear(ctx);
	parsed = svcc_parse_string(ctx, "import.svc", text, len, &back) == 0;
	compiled = parsed && svcc_compile(ctx, back, NULL, &rs) == 0;
	if (!compiled) {
		fprintf(stderr, "import wrote a config that does not %s:\n%s\n",
			parsed ? "compile" : "parse", text);
		svcc_diag_print(ctx, stderr);
	}
	FUZZ_ASSERT(parsed);
	FUZZ_ASSERT(compiled || !strict);
	svcc_ruleset_free(rs);
	svcc_config_free(back);
	svcc_config_free(cfg);
	svcc_ctx_free(ctx);
	free(text);
	return 0;
}
