/* SPDX-License-Identifier: MIT */
/*
 * What the unit tests share: the failure count, CHECK, and a config's
 * ruleset as text (the tests compare rulesets by their bytes).  Each test
 * is one program, so the count can be a static of the header.
 */
#ifndef SVCC_TEST_CHECK_H
#define SVCC_TEST_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <svcc.h>

static int failures;

/* cond, else "file:line: " and the printf-style message, one more failure */
#define CHECKF(cond, ...) do { \
	if (!(cond)) { \
		fprintf(stderr, "%s:%d: ", __FILE__, __LINE__); \
		fprintf(stderr, __VA_ARGS__); \
		fputc('\n', stderr); \
		failures++; \
	} \
} while (0)

#define CHECK(cond) CHECKF(cond, "CHECK(%s) failed", #cond)

/* NULL equals nothing, not even NULL */
static inline int streq(const char *a, const char *b)
{
	return a && b && !strcmp(a, b);
}

/* rs as nft text (malloc'd), or NULL if it cannot be written. */
static inline char *ruleset_text(const struct svcc_ruleset *rs)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	if (svcc_ruleset_write(rs, f)) {
		fclose(f);
		free(buf);
		return NULL;
	}
	fclose(f);
	return buf;
}

/*
 * What cfg compiles to, as text (malloc'd), or NULL with ctx's diagnostics
 * printed.  ctx NULL: a context of its own.
 */
static inline char *compiled_text(struct svcc_ctx *ctx, const struct svcc_config *cfg)
{
	struct svcc_ctx *own = ctx ? NULL : svcc_ctx_new();
	struct svcc_ruleset *rs = NULL;
	char *text = NULL;

	if (!ctx && !(ctx = own))
		return NULL;
	if (svcc_compile(ctx, cfg, NULL, &rs) == 0)
		text = ruleset_text(rs);
	else
		svcc_diag_print(ctx, stderr);
	svcc_ruleset_free(rs);
	svcc_ctx_free(own);
	return text;
}

/* main's exit status: 0, or 1 with the number of failures on stderr */
static inline int check_done(const char *test)
{
	if (failures)
		fprintf(stderr, "%s: %d failures\n", test, failures);
	return failures != 0;
}

#endif
