/* SPDX-License-Identifier: MIT */
/* The public compile pipeline: text -> tree -> model -> checks -> ruleset. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ast.h"
#include "internal.h"
#include "model.h"

int svcc_parse_string(struct svcc_ctx *ctx, const char *name, const char *text, size_t len,
		      struct svcc_config **out)
{
	struct ast_file *ast;
	int rc;

	if (ast_parse(ctx, name, text, len, &ast))
		return -1;
	rc = resolve(ctx, ast, out);
	ast_free(ast);
	return rc;
}

int svcc_parse_file(struct svcc_ctx *ctx, const char *path, struct svcc_config **out)
{
	FILE *f = fopen(path, "rb");
	char *text = NULL;
	size_t len = 0, cap = 0, n;
	int rc;

	if (!f) {
		diag_error(ctx, LOC_NONE, "%s: %s", path, strerror(errno));
		return -1;
	}
	do {
		if (cap - len < 65536) {
			char *p = realloc(text, cap = cap * 2 + 65536);

			if (!p) {
				free(text);
				fclose(f);
				diag_error(ctx, LOC_NONE, "%s: out of memory", path);
				return -1;
			}
			text = p;
		}
		n = fread(text + len, 1, cap - len, f);
		len += n;
	} while (n);
	if (ferror(f)) {
		diag_error(ctx, LOC_NONE, "%s: read error", path);
		free(text);
		fclose(f);
		return -1;
	}
	fclose(f);
	rc = svcc_parse_string(ctx, path, text, len, out);
	free(text);
	return rc;
}

/* nft names: what its scanner takes as one word */
static bool valid_table_name(const char *s)
{
	if (!*s || strlen(s) > 255 || !((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')))
		return false;
	return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") == strlen(s);
}

int svcc_compile(struct svcc_ctx *ctx, const struct svcc_config *cfg,
		 const struct svcc_options *opts, struct svcc_ruleset **out)
{
	const char *table = opts && opts->table ? opts->table : "svcc";
	struct svcc_ruleset *rs;

	if (!valid_table_name(table)) {
		diag_error(ctx, LOC_NONE, "invalid table name '%s'", table);
		return -1;
	}
	if (check_config(ctx, cfg))
		return -1;
	rs = calloc(1, sizeof(*rs));
	if (!rs || lower(cfg, table, &rs->rs)) {
		free(rs);
		diag_error(ctx, LOC_NONE, "out of memory");
		return -1;
	}
	*out = rs;
	return 0;
}

void svcc_ruleset_free(struct svcc_ruleset *rs)
{
	if (!rs)
		return;
	rs_free(rs->rs);
	free(rs);
}

int svcc_ruleset_write(const struct svcc_ruleset *rs, FILE *out)
{
	return rs_render(rs->rs, out);
}
