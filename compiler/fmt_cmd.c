/* SPDX-License-Identifier: MIT */
/*
 * svcc fmt [--check] FILE...: each file as svcc_config_write writes it.
 * Comments are dropped: the config keeps none, and the writer writes the
 * config (a '#' anywhere in a .svc file starts one, so finding them is
 * a memchr).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fmt_cmd.h"

/* All of f; NULL (said on stderr) on a read error or out of memory. */
static char *read_all(FILE *f, const char *name, size_t *len_out)
{
	size_t len = 0, cap = 0, n;
	char *text = NULL, *p;

	do {
		if (len == cap) {
			if (!(p = realloc(text, cap = cap ? 2 * cap : 65536))) {
				free(text);
				fputs("svcc: out of memory\n", stderr);
				return NULL;
			}
			text = p;
		}
		n = fread(text + len, 1, cap - len, f);
		len += n;
	} while (n);
	if (ferror(f)) {
		free(text);
		fprintf(stderr, "svcc: %s: read error\n", name);
		return NULL;
	}
	*len_out = len;
	return text;
}

/* Text to its canonical form, in *out (malloc'd); -1 with the reason said. */
static int canonical(struct svcc_ctx *ctx, const char *name, const char *text, size_t len,
		     int color, char **out, size_t *out_len)
{
	struct svcc_config *cfg = NULL;
	FILE *f;
	int rc = -1;

	if (svcc_parse_string(ctx, name, text, len, &cfg)) {
		svcc_diag_print_color(ctx, stderr, color);
		svcc_ctx_clear(ctx);
		return -1;
	}
	svcc_diag_print_color(ctx, stderr, color);	/* warnings */
	svcc_ctx_clear(ctx);
	*out = NULL;
	f = open_memstream(out, out_len);
	if (f && svcc_config_write(cfg, f) == 0)
		rc = 0;
	else
		fprintf(stderr, "svcc: %s: %s\n", name, strerror(errno));
	if (f && fclose(f) && !rc) {
		fprintf(stderr, "svcc: %s: %s\n", name, strerror(errno));
		rc = -1;
	}
	if (rc) {
		free(*out);
		*out = NULL;
	}
	svcc_config_free(cfg);
	return rc;
}

/* One file: 0, or 1 (bad config; with check, not in canonical form). */
static int fmt_file(struct svcc_ctx *ctx, const char *path, bool check, int color)
{
	bool std = !strcmp(path, "-");
	const char *name = std ? "<stdin>" : path;
	FILE *in = std ? stdin : fopen(path, "rb");
	char *text, *canon;
	size_t len, canon_len;
	int rc = 1;

	if (!in) {
		fprintf(stderr, "svcc: %s: %s\n", path, strerror(errno));
		return 1;
	}
	text = read_all(in, name, &len);
	if (!std)
		fclose(in);
	if (!text || canonical(ctx, name, text, len, color, &canon, &canon_len)) {
		free(text);
		return 1;
	}
	if (memchr(text, '#', len))
		fprintf(stderr, "svcc fmt: %s: comments dropped (the canonical form has none)\n", name);
	if (check) {
		rc = canon_len != len || memcmp(canon, text, len);
		if (rc)
			printf("%s\n", name);
	} else {
		rc = fwrite(canon, 1, canon_len, stdout) != canon_len;
		if (rc)
			perror("svcc: stdout");
	}
	free(canon);
	free(text);
	return rc;
}

int fmt_main(struct svcc_ctx *ctx, int argc, char **argv, int color)
{
	bool check = false, rest = false;
	int files = 0, rc = 0;

	for (int i = 1; i < argc; i++) {
		if (rest || argv[i][0] != '-' || !argv[i][1])
			files++;
		else if (!strcmp(argv[i], "--"))
			rest = true;
		else if (!strcmp(argv[i], "--check"))
			check = true;
		else {
			fprintf(stderr, "svcc: unknown option '%s' (fmt takes --check)\n", argv[i]);
			return 2;
		}
	}
	if (!files)
		return 2;
	rest = false;
	for (int i = 1; i < argc; i++) {
		if (!rest && !strcmp(argv[i], "--"))
			rest = true;
		else if (rest || argv[i][0] != '-' || !argv[i][1])
			rc |= fmt_file(ctx, argv[i], check, color);
	}
	if (fflush(stdout)) {
		perror("svcc: stdout");
		rc = 1;
	}
	return rc;
}
