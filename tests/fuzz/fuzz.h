/* SPDX-License-Identifier: MIT */
/* What the libFuzzer harnesses share: splitting an input, failing loudly. */
#ifndef SVCC_FUZZ_H
#define SVCC_FUZZ_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "svcc.h"

/* Two documents in one input: the separator is a line "%%" (no .svc or
 * JSON text has one outside a comment or string that spans lines). */
#define FUZZ_SEP "\n%%\n"

static inline void fuzz_split(const uint8_t *data, size_t size, size_t *alen,
			      const uint8_t **b, size_t *blen)
{
	const uint8_t *p = memmem(data, size, FUZZ_SEP, sizeof(FUZZ_SEP) - 1);

	if (!p) {
		*alen = size;
		*b = data + size;
		*blen = 0;
		return;
	}
	*alen = (size_t)(p - data);
	*b = p + sizeof(FUZZ_SEP) - 1;
	*blen = size - *alen - (sizeof(FUZZ_SEP) - 1);
}

/* A broken invariant: abort, so that libFuzzer keeps the input. */
#define FUZZ_ASSERT(cond) do { if (!(cond)) { \
	fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond); \
	abort(); } } while (0)

/* The ruleset of cfg rendered, or NULL when it does not compile; *len its length. */
static inline char *fuzz_compiled(const struct svcc_config *cfg, size_t *len)
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

/* cfg as text; NULL when refused (EINVAL, and nothing written), if may_refuse. */
static inline char *fuzz_written(const struct svcc_config *cfg, size_t *len, int may_refuse)
{
	char *text = NULL;
	FILE *f = open_memstream(&text, len);
	int rc;

	FUZZ_ASSERT(f);
	rc = svcc_config_write(cfg, f);
	FUZZ_ASSERT(rc == 0 || (may_refuse && rc == -1 && errno == EINVAL));
	fclose(f);
	if (rc == 0)
		return text;
	FUZZ_ASSERT(*len == 0);
	free(text);
	return NULL;
}

/*
 * cfg is written (svcc_config_write): always, when the parser made it
 * (!may_refuse); else it may be refused (EINVAL, nothing written).  The
 * text parses back to a config that compiles to the same bytes (or fails to
 * compile as well), and is written the same again.
 */
static inline void fuzz_round_trip(const struct svcc_config *cfg, int may_refuse)
{
	struct svcc_ctx *ctx;
	struct svcc_config *again = NULL;
	size_t len, len2, want_len, got_len;
	char *text = fuzz_written(cfg, &len, may_refuse), *text2, *want, *got;

	if (!text)
		return;
	ctx = svcc_ctx_new();
	want = fuzz_compiled(cfg, &want_len);
	FUZZ_ASSERT(ctx && svcc_parse_string(ctx, "written.svc", text, len, &again) == 0);
	got = fuzz_compiled(again, &got_len);
	FUZZ_ASSERT(!want == !got && (!want || (want_len == got_len && !memcmp(want, got, got_len))));
	text2 = fuzz_written(again, &len2, 0);
	FUZZ_ASSERT(len == len2 && !memcmp(text, text2, len));
	free(text);
	free(text2);
	free(want);
	free(got);
	svcc_config_free(again);
	svcc_ctx_free(ctx);
}

#endif
