// SPDX-License-Identifier: MIT
/*
 * svcc_runtime_read gives back exactly what was applied: for each FILE,
 * compile, apply (through netlink, or nft text with --nft), read the table
 * back and write both rulesets as text: they must be byte-identical, and
 * the runtime must not have changed (the same apply again sends nothing).  Then
 * a rule added underneath with nft is left out and counted as foreign.
 * Run in a private network namespace (tests/runtime/kernel.sh).
 * Usage: test-read [--nft] FILE...
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <svcc.h>

#include "../unit/check.h"

static int line_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * The ruleset as text, its "add set"/"add map" lines sorted: sets are
 * created in the order most used first, which the kernel does not keep.
 * Everything else (chains, rules in their order, elements) stays as it is.
 */
static char *text_of(const struct svcc_ruleset *rs, size_t *len)
{
	char *buf = ruleset_text(rs), *out = NULL, **sets = NULL, *line, *save;
	size_t n = 0, blen;
	FILE *f;

	if (!buf)
		return NULL;
	blen = strlen(buf);
	if (!(sets = calloc(blen + 1, sizeof(*sets))) || !(f = open_memstream(&out, len)))
		goto out;
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (!strncmp(line, "add set ", 8) || !strncmp(line, "add map ", 8))
			sets[n++] = line;
		else
			fprintf(f, "%s\n", line);
	}
	qsort(sets, n, sizeof(*sets), line_cmp);
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%s\n", sets[i]);
	fclose(f);
out:
	free(sets);
	free(buf);
	return out;
}

/* The first line where a and b differ, for the failure message. */
static void first_difference(const char *a, const char *b)
{
	size_t line = 1;

	for (; *a && *a == *b; a++, b++)
		line += *a == '\n';
	while (*a && a[-1] != '\n')
		a--;
	while (*b && b[-1] != '\n')
		b--;
	fprintf(stderr, "  line %zu:\n  applied: %.*s\n  read:    %.*s\n", line,
		(int)strcspn(a, "\n"), a, (int)strcspn(b, "\n"), b);
}

static int check_file(const char *path, unsigned flags)
{
	struct svcc_ctx *ctx = svcc_ctx_new();
	struct svcc_config *cfg = NULL;
	struct svcc_ruleset *rs = NULL, *back = NULL;
	struct svcc_runtime *rt = NULL;
	char *want = NULL, *got = NULL;
	size_t wlen, glen, foreign = 1;
	int ok = 0;

	if (!ctx || svcc_parse_file(ctx, path, &cfg) || svcc_compile(ctx, cfg, NULL, &rs) ||
	    svcc_runtime_new(ctx, "svcc", flags, &rt) ||
	    /* from an empty table: over the last file's, the runtime would keep
	     * its arrangement of a service's endpoints (runtime/slots.c) */
	    svcc_runtime_delete_table(rt) || svcc_runtime_apply(rt, rs) ||
	    svcc_runtime_read(rt, &back, &foreign)) {
		svcc_diag_print(ctx, stderr);
		fprintf(stderr, "FAIL %s: could not apply and read back\n", path);
		goto out;
	}
	if (!back || !(want = text_of(rs, &wlen)) || !(got = text_of(back, &glen))) {
		fprintf(stderr, "FAIL %s: nothing read back\n", path);
		goto out;
	}
	if (wlen != glen || memcmp(want, got, wlen)) {
		fprintf(stderr, "FAIL %s: the table read back differs from what was applied\n", path);
		first_difference(want, got);
		goto out;
	}
	if (foreign) {
		fprintf(stderr, "FAIL %s: %zu rules of svcc's own taken for foreign\n", path, foreign);
		goto out;
	}
	/* reading changed nothing of the runtime's: the same apply again is free */
	if (svcc_runtime_apply(rt, rs) || svcc_runtime_stats(rt)->messages ||
	    svcc_runtime_stats(rt)->sets_read) {
		fprintf(stderr, "FAIL %s: an apply after the read sent %lu messages, read %lu sets\n",
			path, svcc_runtime_stats(rt)->messages, svcc_runtime_stats(rt)->sets_read);
		goto out;
	}
	ok = 1;
out:
	free(want);
	free(got);
	svcc_ruleset_free(back);
	svcc_ruleset_free(rs);
	svcc_runtime_free(rt);
	svcc_config_free(cfg);
	svcc_ctx_free(ctx);
	return ok;
}

/* A rule of another program's in svcc's table: left out, counted. */
static int check_foreign(void)
{
	struct svcc_ctx *ctx = svcc_ctx_new();
	struct svcc_runtime *rt = NULL;
	struct svcc_ruleset *back = NULL;
	size_t foreign = 0;
	int ok = 0;

	if (system("nft add rule inet svcc services tcp dport 9 counter accept") != 0 ||
	    !ctx || svcc_runtime_new(ctx, "svcc", 0, &rt) ||
	    svcc_runtime_read(rt, &back, &foreign))
		fprintf(stderr, "FAIL foreign rule: could not add and read back\n");
	else if (foreign != 1)
		fprintf(stderr, "FAIL foreign rule: %zu counted, not 1\n", foreign);
	else
		ok = 1;
	svcc_ruleset_free(back);
	svcc_runtime_free(rt);
	svcc_ctx_free(ctx);
	return ok;
}

int main(int argc, char **argv)
{
	unsigned flags = 0;
	int pass = 0, fail = 0, i = 1;

	if (argc > 1 && !strcmp(argv[1], "--nft")) {
		flags = SVCC_RT_VIA_NFT;
		i++;
	}
	for (; i < argc; i++)
		check_file(argv[i], flags) ? pass++ : fail++;
	check_foreign() ? pass++ : fail++;
	printf("test-read%s: %d passed, %d failed\n", flags ? " --nft" : "", pass, fail);
	return fail ? 1 : 0;
}
