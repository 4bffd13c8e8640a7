/* SPDX-License-Identifier: MIT */
/* The context: queued diagnostics and the sources they point into. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "util.h"

struct source {
	char *name;
	char *text;
};

struct svcc_ctx {
	struct svcc_diag *diags;
	size_t ndiags, cap;
	size_t nerrors;
	struct source *sources;
	size_t nsources, sources_cap;
	bool oom;	/* a diagnostic was lost for want of memory */
};

struct svcc_ctx *svcc_ctx_new(void)
{
	return calloc(1, sizeof(struct svcc_ctx));
}

void svcc_ctx_clear(struct svcc_ctx *ctx)
{
	for (size_t i = 0; i < ctx->ndiags; i++) {
		free((char *)ctx->diags[i].message);
		free((char *)ctx->diags[i].source_line);
	}
	ctx->ndiags = 0;
	ctx->nerrors = 0;
	for (size_t i = 0; i < ctx->nsources; i++) {
		free(ctx->sources[i].name);
		free(ctx->sources[i].text);
	}
	ctx->nsources = 0;
	ctx->oom = false;
}

void svcc_ctx_free(struct svcc_ctx *ctx)
{
	if (!ctx)
		return;
	svcc_ctx_clear(ctx);
	free(ctx->diags);
	free(ctx->sources);
	free(ctx);
}

char *diag_adopt_source(struct svcc_ctx *ctx, const char *name, char *text, size_t len,
			const char **name_out)
{
	struct source *s;
	char *copy = strdup(name);

	if (!copy || VEC_RESERVE(ctx->sources, ctx->nsources, ctx->sources_cap)) {
		free(copy);
		free(text);
		return NULL;
	}
	s = &ctx->sources[ctx->nsources++];
	s->name = copy;
	s->text = text;
	/* the two NULs flex's yy_scan_buffer() wants at the end */
	s->text[len] = s->text[len + 1] = '\0';
	*name_out = s->name;
	return s->text;
}

char *diag_keep_source(struct svcc_ctx *ctx, const char *name, const char *text, size_t len,
		       const char **name_out)
{
	char *copy = malloc(len + 2);

	if (!copy)
		return NULL;
	memcpy(copy, text, len);
	return diag_adopt_source(ctx, name, copy, len, name_out);
}

static char *copy_line(const char *start)
{
	size_t n = strcspn(start, "\n");

	return strndup(start, n);
}

void diag_report(struct svcc_ctx *ctx, enum svcc_severity sev, struct loc loc,
		 const char *fmt, ...)
{
	struct svcc_diag *d;
	va_list ap;
	char *msg;
	int n;

	if (sev == SVCC_ERROR)
		ctx->nerrors++;	/* counted even if the record is lost */
	if (VEC_RESERVE(ctx->diags, ctx->ndiags, ctx->cap))
		goto oom;
	va_start(ap, fmt);
	n = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (n < 0)
		goto oom;
	d = &ctx->diags[ctx->ndiags];
	*d = (struct svcc_diag){
		.severity = sev,
		.file = loc.file,
		.line = loc.line,
		.column = loc.first_col,
		.end_column = loc.last_col < loc.first_col ? loc.first_col : loc.last_col,
		.message = msg,
		.source_line = loc.line_text ? copy_line(loc.line_text) : NULL,
	};
	ctx->ndiags++;
	if (loc.line_text && !d->source_line)
		ctx->oom = true;	/* the message stays, without its line: say so */
	return;
oom:
	ctx->oom = true;
}

void diag_move(struct svcc_ctx *to, struct svcc_ctx *from)
{
	size_t i;

	to->nerrors += from->nerrors;
	to->oom |= from->oom;
	for (i = 0; i < from->ndiags; i++) {
		if (VEC_RESERVE(to->diags, to->ndiags, to->cap)) {
			to->oom = true;
			break;
		}
		to->diags[to->ndiags++] = from->diags[i];
	}
	for (; i < from->ndiags; i++) {
		free((char *)from->diags[i].message);
		free((char *)from->diags[i].source_line);
	}
	from->ndiags = from->nerrors = 0;
	from->oom = false;
}

size_t svcc_diag_count(const struct svcc_ctx *ctx)
{
	return ctx->ndiags;
}

size_t svcc_error_count(const struct svcc_ctx *ctx)
{
	return ctx->nerrors;
}

const struct svcc_diag *svcc_diag_get(const struct svcc_ctx *ctx, size_t i)
{
	return i < ctx->ndiags ? &ctx->diags[i] : NULL;
}

static const char *severity_name(enum svcc_severity s)
{
	return s == SVCC_ERROR ? "error" : s == SVCC_WARNING ? "warning" : "note";
}

/* SGR sequences, as gcc colours its diagnostics (GCC_COLORS' defaults) */
#define SGR_LOCUS	"\033[01m"
#define SGR_RESET	"\033[m"

static const char *severity_sgr(enum svcc_severity s)
{
	return s == SVCC_ERROR ? "\033[01;31m" : s == SVCC_WARNING ? "\033[01;35m" : "\033[01;36m";
}

/* The source line, its span in the severity's colour when sgr is given. */
static void print_source(const struct svcc_diag *d, const char *sgr, FILE *out)
{
	int len = (int)strlen(d->source_line);
	int from = d->column - 1, to = d->end_column < len ? d->end_column : len;

	if (!sgr || from >= len) {
		fprintf(out, "%s\n", d->source_line);
		return;
	}
	fprintf(out, "%.*s%s%.*s%s%s\n", from, d->source_line, sgr, to - from, d->source_line + from,
		SGR_RESET, d->source_line + to);
}

int svcc_diag_print_color(const struct svcc_ctx *ctx, FILE *out, int color)
{
	for (size_t i = 0; i < ctx->ndiags; i++) {
		const struct svcc_diag *d = &ctx->diags[i];
		const char *sgr = color ? severity_sgr(d->severity) : NULL;

		if (color && d->file)
			fputs(SGR_LOCUS, out);
		if (d->file && d->line)
			fprintf(out, "%s:%d:%d:", d->file, d->line, d->column);
		else if (d->file)
			fprintf(out, "%s:", d->file);
		if (d->file)
			fputs(color ? SGR_RESET " " : " ", out);
		fprintf(out, "%s%s:%s %s\n", sgr ? sgr : "", severity_name(d->severity),
			sgr ? SGR_RESET : "", d->message);
		if (!d->source_line || d->column < 1)
			continue;
		print_source(d, sgr, out);
		/* keep tabs so that the caret lines up under the source */
		for (int c = 1; c < d->column && d->source_line[c - 1]; c++)
			fputc(d->source_line[c - 1] == '\t' ? '\t' : ' ', out);
		if (sgr)
			fputs(sgr, out);
		for (int c = d->column; c <= d->end_column; c++)
			fputc(c == d->column ? '^' : '~', out);
		fputs(sgr ? SGR_RESET "\n" : "\n", out);
	}
	if (ctx->oom)
		fprintf(out, "%serror:%s out of memory while reporting errors\n",
			color ? severity_sgr(SVCC_ERROR) : "", color ? SGR_RESET : "");
	return ferror(out) ? -1 : 0;
}

int svcc_diag_print(const struct svcc_ctx *ctx, FILE *out)
{
	return svcc_diag_print_color(ctx, out, 0);
}
