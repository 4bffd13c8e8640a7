/* SPDX-License-Identifier: MIT */
/* What the scanner and the parser share while one source is read. */
#ifndef SVCC_PARSE_STATE_H
#define SVCC_PARSE_STATE_H

#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ast.h"

/*
 * Bison's locations: a span of the source, its offset in the low 32 bits
 * and its length in the high ones.  One word, because the parser copies one
 * for every token and reduction, the first time just after the scanner
 * wrote it (two halves written apart would stall that read).  ps_set_loc()
 * makes it a diagnostic location when a node is made.
 */
typedef uint64_t span;
#define SVCCYYLTYPE span
#define SVCCYYLTYPE_IS_DECLARED 1

static inline span span_make(size_t off, size_t len)
{
	return (uint64_t)len << 32 | (uint32_t)off;
}

static inline uint32_t span_off(span s)
{
	return (uint32_t)s;
}

static inline uint32_t span_len(span s)
{
	return (uint32_t)(s >> 32);
}

/*
 * A bump allocator for the tree: nodes and words of one block are dropped
 * together once the block is resolved, so the tree never grows with the file.
 */
struct arena_chunk {
	struct arena_chunk *next;
	_Alignas(max_align_t) char data[];
};

struct arena {
	struct arena_chunk *chunks;	/* newest first */
	char *p, *end;			/* free space in the newest chunk */
};

/* Nodes are made soon after their tokens are read: they need only the last lines. */
#define LINES_KEPT 1024

struct parse_state {
	struct svcc_ctx *ctx;
	const char *file;	/* name, owned by ctx */
	const char *text;	/* the source, owned by ctx */
	uint32_t lines[LINES_KEPT];	/* where the last lines start: line n at [(n - 1) % LINES_KEPT] */
	size_t nlines;		/* lines the scanner has seen */
	size_t cursor;		/* the line ps_line() found last, from 0 */
	int last_token;		/* what the scanner returned last */
	span eof_at;		/* where end of file is, when a ';' match took the last break */
	size_t nsyntax;		/* syntax errors so far */
	uint32_t last_syntax;	/* where the last one is: blocks before it are clean */
	ast_block_fn *fn;
	void *fn_arg;
	struct arena arena;
	bool nomem;
	/*
	 * flex exits the process when it cannot allocate (YY_FATAL_ERROR):
	 * its few blocks are tracked here instead, and such a failure jumps
	 * to flex_fail, which frees them (lexer.l, parse.c).
	 */
	void *flex_mem[4];
	jmp_buf flex_fail;
};

static inline uint32_t ps_line_start(const struct parse_state *ps, size_t line)
{
	return ps->lines[line % LINES_KEPT];
}

size_t ps_line_far(const struct parse_state *ps, span s, size_t line, uint32_t *start);

/*
 * The line of a span, from 0, and where it starts.  Nodes are made in the
 * order of the text, going back at most over the statement or block being
 * reduced: walking the lines from the last one found costs no more than
 * the text does.  Beyond the lines kept, ps_line_far() reads the text back.
 */
static inline size_t ps_line(struct parse_state *ps, span s, uint32_t *start)
{
	uint32_t off = span_off(s);
	size_t oldest = ps->nlines > LINES_KEPT ? ps->nlines - LINES_KEPT : 0;
	size_t i = ps->cursor < oldest ? oldest : ps->cursor;

	while (i > oldest && off < ps_line_start(ps, i))
		i--;
	if (off < ps_line_start(ps, i))
		return ps_line_far(ps, s, i, start);
	while (i + 1 < ps->nlines && off >= ps_line_start(ps, i + 1))
		i++;
	ps->cursor = i;
	*start = ps_line_start(ps, i);
	return i;
}

/*
 * A span within one line as a diagnostic location, written field by field:
 * a copy of a whole one just built would wait for those writes.
 */
static inline void ps_set_loc(struct parse_state *ps, span s, struct loc *out)
{
	uint32_t start;
	size_t line = ps_line(ps, s, &start);

	out->file = ps->file;
	out->line = (int)line + 1;
	out->first_col = (int)(span_off(s) - start) + 1;
	out->last_col = (int)(span_off(s) + span_len(s) - start);
	out->line_text = ps->text + start;
}

static inline struct loc ps_loc(struct parse_state *ps, span s)
{
	struct loc l;

	ps_set_loc(ps, s, &l);
	return l;
}

/* A line starts at p: just past a newline, or at the start. */
static inline void ps_new_line(struct parse_state *ps, const char *p)
{
	ps->lines[ps->nlines++ % LINES_KEPT] = (uint32_t)(p - ps->text);
}

/* A new chunk, with size bytes of it taken. */
void *arena_grow(struct arena *a, size_t size);

/* Inline: the parser makes a node or a word for most tokens. */
static inline void *arena_alloc(struct arena *a, size_t size)
{
	void *p = a->p;

	size = (size + _Alignof(max_align_t) - 1) & ~(_Alignof(max_align_t) - 1);
	if ((size_t)(a->end - a->p) < size)
		return arena_grow(a, size);
	a->p += size;
	return p;
}

/* ast.h words are the scanner's copies */
static inline char *arena_strndup(struct arena *a, const char *s, size_t len)
{
	char *t = arena_alloc(a, len + 1);

	if (t) {
		memcpy(t, s, len);
		t[len] = '\0';
	}
	return t;
}

/* parser.y: one complete block, to fn if no syntax error is inside it (kw: its keyword) */
void ps_block_done(struct parse_state *ps, struct ast_block *b, span kw);

/* A syntax error at s: it keeps the block around it from the resolve pass. */
static inline void ps_syntax_error(struct parse_state *ps, span s)
{
	ps->nsyntax++;
	ps->last_syntax = span_off(s);
}

#endif
