/* SPDX-License-Identifier: MIT */
/* Diagnostics: queued records with a location, printed at the end. */
#ifndef SVCC_DIAG_H
#define SVCC_DIAG_H

#include <stdbool.h>

#include "svcc.h"

/* A span in a source file.  file == NULL: no location. */
struct loc {
	const char *file;	/* owned by the source registry in the ctx */
	int line, first_col, last_col;
	const char *line_text;	/* start of the line in the in-memory source */
};

#define LOC_NONE ((struct loc){ 0 })

/*
 * Keep a copy of a source text in ctx, so that carets need no re-reading.
 * It ends with two NULs, at len and len + 1: the scanner reads it in place.
 */
char *diag_keep_source(struct svcc_ctx *ctx, const char *name, const char *text, size_t len,
		       const char **name_out);
/* The same without the copy: ctx takes text (malloc'd, len + 2 bytes), also on failure. */
char *diag_adopt_source(struct svcc_ctx *ctx, const char *name, char *text, size_t len,
			const char **name_out);
/* Append from's diagnostics to to's, and leave from empty. */
void diag_move(struct svcc_ctx *to, struct svcc_ctx *from);

void diag_report(struct svcc_ctx *ctx, enum svcc_severity sev, struct loc loc,
		 const char *fmt, ...) __attribute__((format(printf, 4, 5)));
#define diag_error(ctx, loc, ...) diag_report(ctx, SVCC_ERROR, loc, __VA_ARGS__)
#define diag_warning(ctx, loc, ...) diag_report(ctx, SVCC_WARNING, loc, __VA_ARGS__)

#endif
