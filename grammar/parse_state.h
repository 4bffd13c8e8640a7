/* SPDX-License-Identifier: MIT */
/* What the scanner and the parser share while one source is read. */
#ifndef SVCC_PARSE_STATE_H
#define SVCC_PARSE_STATE_H

#include <stddef.h>
#include <string.h>

#include "ast.h"

struct parse_state {
	struct svcc_ctx *ctx;
	const char *file;	/* name, owned by ctx */
	const char *text;	/* the source, owned by ctx */
	const char **lines;	/* start of each line: lines[n - 1] is line n */
	size_t nlines;
	int line, col;		/* scanner position */
	struct ast_file *ast;
	bool nomem;
};

/* A bison location as a diagnostic location. */
struct loc ps_loc(const struct parse_state *ps, int line, int first_col, int last_col);

#endif
