/* SPDX-License-Identifier: MIT */
/* Drive the scanner and parser over one source; the memory of the tree. */
#include <stdlib.h>
#include <string.h>

#include "parse_state.h"
#include "parser.h"

#define YYSTYPE SVCCYYSTYPE
#define YYLTYPE SVCCYYLTYPE
#include "lexer.h"

#define ARENA_CHUNK	(64 * 1024)

void *arena_grow(struct arena *a, size_t size)
{
	size_t cap = size > ARENA_CHUNK ? size : ARENA_CHUNK;
	struct arena_chunk *c = malloc(sizeof(*c) + cap);

	if (!c)
		return NULL;
	c->next = a->chunks;
	a->chunks = c;
	a->p = c->data + size;
	a->end = c->data + cap;
	return c->data;
}

/* Everything allocated so far is dead: keep the newest chunk for what comes next. */
static void arena_reset(struct arena *a)
{
	struct arena_chunk *c = a->chunks;

	if (!c)
		return;
	while (c->next) {
		struct arena_chunk *old = c->next;

		c->next = old->next;
		free(old);
	}
	a->p = c->data;
}

static void arena_free(struct arena *a)
{
	while (a->chunks) {
		struct arena_chunk *next = a->chunks->next;

		free(a->chunks);
		a->chunks = next;
	}
	*a = (struct arena){ 0 };
}

/* Before the lines kept: count the lines back from the oldest one kept. */
size_t ps_line_far(const struct parse_state *ps, span s, size_t line, uint32_t *start)
{
	const char *nl;

	*start = ps_line_start(ps, line);
	while (span_off(s) < *start) {
		/* text[*start - 1] ends the line before: find where that one starts */
		nl = memrchr(ps->text, '\n', *start - 1);
		*start = nl ? (uint32_t)(nl + 1 - ps->text) : 0;
		line--;
	}
	return line;
}

/*
 * A block with a syntax error inside lost statements to the recovery, and
 * goes no further; the others are well formed, and are checked whatever
 * happened around them.
 */
void ps_block_done(struct parse_state *ps, struct ast_block *b, span kw)
{
	if (b && !ps->nomem && (!ps->nsyntax || ps->last_syntax < span_off(kw)))
		ps->fn(ps->fn_arg, b);
	/* The parser may hold a word it read ahead: that one lives on. */
	if (ps->last_token != WORD)
		arena_reset(&ps->arena);
}

/*
 * Scan and parse with the scanner made.  flex cannot report a failed
 * allocation: it jumps back here (YY_FATAL_ERROR in lexer.l), and what it
 * had allocated is freed.  2: out of memory, as bison says it.
 */
static int scan_parse(struct parse_state *ps, char *text, size_t len, yyscan_t scanner)
{
	int rc;

	if (setjmp(ps->flex_fail)) {
		for (size_t i = 0; i < sizeof(ps->flex_mem) / sizeof(ps->flex_mem[0]); i++)
			free(ps->flex_mem[i]);
		return 2;
	}
	/* in place: the buffer is the source and its two NULs */
	if (!svccyy_scan_buffer(text, len + 2, scanner)) {
		svccyylex_destroy(scanner);
		return 2;
	}
	rc = svccyyparse(scanner, ps);
	svccyylex_destroy(scanner);
	return rc;
}

int ast_parse(struct svcc_ctx *ctx, const char *file, char *text, size_t len,
	      ast_block_fn *fn, void *arg)
{
	struct parse_state ps = {
		.ctx = ctx,
		.file = file,
		.text = text,
		.fn = fn,
		.fn_arg = arg,
	};
	yyscan_t scanner;
	int rc;

	/* spans are 32 bits */
	if (len >= UINT32_MAX) {
		diag_error(ctx, LOC_NONE, "%s: source too big", file);
		return -1;
	}
	ps_new_line(&ps, text);
	if (svccyylex_init_extra(&ps, &scanner))
		goto nomem;
	rc = scan_parse(&ps, text, len, scanner);
	arena_free(&ps.arena);
	if (rc == 2 || ps.nomem)
		goto nomem;
	return rc != 0 || ps.nsyntax ? -1 : 0;
nomem:
	diag_error(ctx, LOC_NONE, "out of memory");
	return -2;
}
