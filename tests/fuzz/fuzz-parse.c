// SPDX-License-Identifier: MIT
/*
 * libFuzzer: .svc text through the public API, as `svcc compile` takes it:
 * parse, check and compile, render the ruleset and the diagnostics.
 * Invariants: a call fails exactly when it reported an error, and a
 * compiled ruleset renders.  A parsed config is written (svcc_config_write)
 * without fail, and its text parses back to a config that compiles to the
 * same bytes (or fails to compile as well), and is written the same again.
 */
#include <errno.h>
#include <stdio.h>

#include "svcc.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct svcc_ctx *ctx = svcc_ctx_new();
	struct svcc_config *cfg = NULL;
	struct svcc_ruleset *rs = NULL;
	FILE *null = fopen("/dev/null", "w");

	FUZZ_ASSERT(ctx && null);
	if (svcc_parse_string(ctx, "fuzz.svc", (const char *)data, size, &cfg) == 0) {
		FUZZ_ASSERT(cfg && svcc_error_count(ctx) == 0);
		if (svcc_compile(ctx, cfg, NULL, &rs) == 0) {
			FUZZ_ASSERT(rs && svcc_error_count(ctx) == 0);
			FUZZ_ASSERT(svcc_ruleset_write(rs, null) == 0);
			svcc_ruleset_free(rs);
		} else {
			FUZZ_ASSERT(svcc_error_count(ctx) > 0);
		}
		fuzz_round_trip(cfg, 0);
		svcc_config_free(cfg);
	} else {
		FUZZ_ASSERT(svcc_error_count(ctx) > 0);
	}
	/* the caret lines index into the source: render them all */
	for (size_t i = 0; i < svcc_diag_count(ctx); i++)
		FUZZ_ASSERT(svcc_diag_get(ctx, i)->message);
	svcc_diag_print(ctx, null);
	fclose(null);
	svcc_ctx_free(ctx);
	return 0;
}
