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

/* The ruleset of cfg rendered, or NULL when it does not compile; *len its length. */
static char *compiled(const struct svcc_config *cfg, size_t *len)
{
	struct svcc_ctx *ctx = svcc_ctx_new();
	struct svcc_ruleset *rs = NULL;
	char *text = NULL;
	FILE *f;

	FUZZ_ASSERT(ctx);
	if (svcc_compile(ctx, cfg, NULL, &rs) == 0) {
		FUZZ_ASSERT((f = open_memstream(&text, len)));
		FUZZ_ASSERT(svcc_ruleset_write(rs, f) == 0);
		fclose(f);
		svcc_ruleset_free(rs);
	}
	svcc_ctx_free(ctx);
	return text;
}

static char *written(const struct svcc_config *cfg, size_t *len)
{
	char *text = NULL;
	FILE *f = open_memstream(&text, len);

	FUZZ_ASSERT(f && svcc_config_write(cfg, f) == 0);
	fclose(f);
	return text;
}

static void round_trip(const struct svcc_config *cfg)
{
	struct svcc_ctx *ctx = svcc_ctx_new();
	struct svcc_config *again = NULL;
	size_t len, len2, want_len, got_len;
	char *text = written(cfg, &len), *text2, *want = compiled(cfg, &want_len), *got;

	FUZZ_ASSERT(ctx && svcc_parse_string(ctx, "written.svc", text, len, &again) == 0);
	got = compiled(again, &got_len);
	FUZZ_ASSERT(!want == !got && (!want || (want_len == got_len && !memcmp(want, got, got_len))));
	text2 = written(again, &len2);
	FUZZ_ASSERT(len == len2 && !memcmp(text, text2, len));
	free(text);
	free(text2);
	free(want);
	free(got);
	svcc_config_free(again);
	svcc_ctx_free(ctx);
}

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
		round_trip(cfg);
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
