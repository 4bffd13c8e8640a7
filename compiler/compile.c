/* SPDX-License-Identifier: MIT */
/* The public compile pipeline: text -> tree -> model -> checks -> ruleset. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "internal.h"
#include "model.h"

/*
 * The scanner stops at a NUL (its end of buffer): the first one is an error
 * at its line and column.  text is the source kept by ctx, file its name.
 */
static bool has_nul(struct svcc_ctx *ctx, const char *file, const char *text, size_t len)
{
	const char *nul = memchr(text, '\0', len), *line = text, *nl;
	int n = 1;

	if (!nul)
		return false;
	while ((nl = memchr(line, '\n', (size_t)(nul - line)))) {
		line = nl + 1;
		n++;
	}
	diag_error(ctx, ((struct loc){ .file = file, .line = n, .line_text = line,
				       .first_col = (int)(nul - line) + 1,
				       .last_col = (int)(nul - line) + 1 }),
		   "a NUL byte in the source");
	return true;
}

int svcc_parse_string(struct svcc_ctx *ctx, const char *name, const char *text, size_t len,
		      struct svcc_config **out)
{
	const char *file;
	char *kept;

	kept = diag_keep_source(ctx, name, text, len, &file);
	if (!kept) {
		diag_error(ctx, LOC_NONE, "out of memory");
		return -1;
	}
	if (has_nul(ctx, file, kept, len))
		return -1;
	return resolve(ctx, file, kept, len, out);
}

/* All of f, with two bytes to spare after it (diag_adopt_source).  NULL: out of memory. */
static char *read_all(FILE *f, size_t *len_out)
{
	struct stat st;
	size_t len = 0, cap = 65536, n;
	char *text, *p;

	/* A regular file fits at once: its bytes and two spare (the last fread() finds the end in them). */
	if (fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0)
		cap = (size_t)st.st_size + 2;
	text = malloc(cap);
	if (!text)
		return NULL;
	while ((n = fread(text + len, 1, cap - 1 - len, f))) {
		len += n;
		if (cap - len < 2) {
			p = realloc(text, cap *= 2);
			if (!p) {
				free(text);
				return NULL;
			}
			text = p;
		}
	}
	*len_out = len;
	return text;
}

int svcc_parse_file(struct svcc_ctx *ctx, const char *path, struct svcc_config **out)
{
	FILE *f = fopen(path, "rb");
	const char *file;
	char *text, *kept;
	size_t len;

	if (!f) {
		diag_error(ctx, LOC_NONE, "%s: %s", path, strerror(errno));
		return -1;
	}
	text = read_all(f, &len);
	if (!text) {
		fclose(f);
		diag_error(ctx, LOC_NONE, "%s: out of memory", path);
		return -1;
	}
	if (ferror(f)) {
		diag_error(ctx, LOC_NONE, "%s: read error", path);
		free(text);
		fclose(f);
		return -1;
	}
	fclose(f);
	/* ctx keeps the buffer as it is: no copy of a big file */
	kept = diag_adopt_source(ctx, path, text, len, &file);
	if (!kept) {
		diag_error(ctx, LOC_NONE, "out of memory");
		return -1;
	}
	if (has_nul(ctx, file, kept, len))
		return -1;
	return resolve(ctx, file, kept, len, out);
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
	if (!rs || lower(cfg, table, NULL, &rs->rs)) {
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
