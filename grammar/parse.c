/* SPDX-License-Identifier: MIT */
/* Drive the scanner and parser over one source; own the tree. */
#include <stdlib.h>
#include <string.h>

#include "parse_state.h"
#include "parser.h"
#include "util.h"

#define YYSTYPE SVCCYYSTYPE
#define YYLTYPE SVCCYYLTYPE
#include "lexer.h"

struct loc ps_loc(const struct parse_state *ps, int line, int first_col, int last_col)
{
	return (struct loc){
		.file = ps->file,
		.line = line,
		.first_col = first_col,
		.last_col = last_col,
		.line_text = line >= 1 && (size_t)line <= ps->nlines ? ps->lines[line - 1] : NULL,
	};
}

static int index_lines(struct parse_state *ps)
{
	size_t cap = 0;
	const char *p = ps->text;

	for (;;) {
		if (VEC_RESERVE(ps->lines, ps->nlines, cap))
			return -1;
		ps->lines[ps->nlines++] = p;
		p = strchr(p, '\n');
		if (!p)
			return 0;
		p++;
	}
}

void ast_stmt_free(struct ast_stmt *s)
{
	while (s) {
		struct ast_stmt *next = s->next;

		free(s->arg.text);
		free(s->name.text);
		free(s->target.text);
		for (size_t i = 0; i < s->nargs; i++)
			free(s->args[i].text);
		free(s->args);
		free(s);
		s = next;
	}
}

void ast_block_free(struct ast_block *b)
{
	while (b) {
		struct ast_block *next = b->next;

		ast_stmt_free(b->stmts);
		free(b->name.text);
		free(b);
		b = next;
	}
}

void ast_free(struct ast_file *file)
{
	if (!file)
		return;
	ast_block_free(file->blocks);
	free(file);
}

int ast_parse(struct svcc_ctx *ctx, const char *name, const char *text, size_t len,
	      struct ast_file **out)
{
	struct parse_state ps = { .ctx = ctx, .line = 1, .col = 1 };
	size_t errors = svcc_error_count(ctx);
	yyscan_t scanner;
	YY_BUFFER_STATE buf;
	int rc;

	if (memchr(text, '\0', len)) {
		diag_error(ctx, LOC_NONE, "%s: source contains a NUL byte", name);
		return -1;
	}
	ps.text = diag_keep_source(ctx, name, text, len, &ps.file);
	ps.ast = calloc(1, sizeof(*ps.ast));
	if (!ps.text || !ps.ast || index_lines(&ps))
		goto nomem;
	ps.ast->blocks_tail = &ps.ast->blocks;
	if (svccyylex_init_extra(&ps, &scanner))
		goto nomem;
	buf = svccyy_scan_bytes(ps.text, (int)len, scanner);
	rc = svccyyparse(scanner, &ps);
	svccyy_delete_buffer(buf, scanner);
	svccyylex_destroy(scanner);
	free(ps.lines);
	if (rc == 2 || ps.nomem) {
		ast_free(ps.ast);
		diag_error(ctx, LOC_NONE, "out of memory");
		return -1;
	}
	if (rc != 0 || svcc_error_count(ctx) != errors) {
		ast_free(ps.ast);
		return -1;
	}
	*out = ps.ast;
	return 0;
nomem:
	free(ps.lines);
	free(ps.ast);
	diag_error(ctx, LOC_NONE, "out of memory");
	return -1;
}
