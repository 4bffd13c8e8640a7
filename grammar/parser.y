/* SPDX-License-Identifier: MIT */
/*
 * The .svc grammar.  It builds the syntax tree and nothing else: what the
 * words mean is the resolve pass's business.  Every syntax error is
 * reported; recovery skips to the end of the statement or block.  A
 * complete block without a syntax error in it goes to the resolve pass at
 * once, whatever errors other blocks have.
 */
%define api.pure full
%define api.prefix {svccyy}
%define parse.error custom
%locations
%param {void *scanner}
%parse-param {struct parse_state *ps}

%code requires {
#include "parse_state.h"
}

%code {
#include <stdlib.h>
#include <string.h>
#include "diag.h"
#include "suggest.h"

int svccyylex(SVCCYYSTYPE *lval, SVCCYYLTYPE *lloc, void *scanner);

/*
 * A symbol's location is where its first token is: only one-token symbols'
 * locations are ever used, so the parser need not work out where the others
 * end.  An empty one takes the location of the symbol before it.
 */
#define YYLLOC_DEFAULT(cur, rhs, n) ((cur) = YYRHSLOC(rhs, (n) ? 1 : 0))

#define LOC(l) ps_loc(ps, l)

static void svccyyerror(SVCCYYLTYPE *l, void *scanner, struct parse_state *ps, const char *msg)
{
	(void)scanner;
	ps_syntax_error(ps, *l);
	diag_error(ps->ctx, LOC(*l), "%s", msg);
}

static void set_word(struct parse_state *ps, struct ast_word *w, char *text, SVCCYYLTYPE l)
{
	w->text = text;
	ps_set_loc(ps, l, &w->loc);
}

/* Nodes live in the arena: the parser frees nothing it drops. */
static struct ast_stmt *stmt_new(struct parse_state *ps, enum ast_stmt_kind kind, SVCCYYLTYPE l)
{
	struct ast_stmt *s = arena_alloc(&ps->arena, sizeof(*s));

	if (!s) {
		ps->nomem = true;
		return NULL;
	}
	/* field by field: zeroing the whole node at once is a slow "rep stos" */
	s->kind = kind;
	ps_set_loc(ps, l, &s->loc);
	s->arg = s->name = s->target = (struct ast_word){ 0 };
	s->args = NULL;
	s->nargs = s->args_cap = 0;
	s->next = NULL;
	return s;
}

static struct ast_block *block_new(struct parse_state *ps, enum ast_block_kind kind)
{
	struct ast_block *b = arena_alloc(&ps->arena, sizeof(*b));

	if (!b) {
		ps->nomem = true;
		return NULL;
	}
	*b = (struct ast_block){ .kind = kind };
	b->stmts_tail = &b->stmts;
	return b;
}

static void block_add(struct ast_block *b, struct ast_stmt *s)
{
	if (!b || !s)
		return;
	*b->stmts_tail = s;
	b->stmts_tail = &s->next;
	b->nstmts[s->kind]++;
}

static void file_add(struct parse_state *ps, struct ast_block *b, SVCCYYLTYPE kw)
{
	if (b)
		ps_set_loc(ps, kw, &b->loc);
	ps_block_done(ps, b, kw);
}

static void stmt_add_arg(struct parse_state *ps, struct ast_stmt *s, char *text, SVCCYYLTYPE l)
{
	if (!s || !text)
		return;
	if (s->nargs == s->args_cap) {
		size_t cap = s->args_cap ? 2 * s->args_cap : 4;
		struct ast_word *v = arena_alloc(&ps->arena, cap * sizeof(*v));

		if (!v) {
			ps->nomem = true;
			return;
		}
		if (s->nargs)
			memcpy(v, s->args, s->nargs * sizeof(*v));
		s->args = v;
		s->args_cap = cap;
	}
	set_word(ps, &s->args[s->nargs++], text, l);
}

static char *keyword_word(struct parse_state *ps, const char *kw)
{
	char *s = arena_strndup(&ps->arena, kw, strlen(kw));

	if (!s)
		ps->nomem = true;
	return s;
}
}

%union {
	char *str;
	struct ast_stmt *stmt;
	struct ast_block *block;
}

%token CLUSTER "cluster" MASQUERADE "masquerade" SERVICE "service"
%token POD_CIDR "pod-cidr" SERVICE_CIDR "service-cidr" NODE_IP "node-ip"
%token NON_POD "non-pod" ALL "all" FROM "from"
%token VIP "vip" PORT "port" ENDPOINT "endpoint"
%token NODEPORT "nodeport" EXTERNAL_IP "external-ip" LOAD_BALANCER "load-balancer"
%token SOURCE_RANGES "source-ranges" AFFINITY "affinity" TRAFFIC_POLICY "traffic-policy"
%token HEALTH_CHECK_NODEPORT "health-check-nodeport" TRAFFIC_DISTRIBUTION "traffic-distribution"
%token ZONE "zone" NODE_NAME "node-name" NODE_POD_CIDR "node-pod-cidr" POD_BRIDGE "pod-bridge"
%token POD_INTERFACE_PREFIX "pod-interface-prefix"
%token ARROW "->"
%token <str> WORD "word"
%token BAD_CHAR "invalid character" NOMEM "out of memory"

%type <str> word
%type <stmt> cluster_stmt masq_stmt service_stmt port_stmt endpoint_stmt word_list_stmt comma_list
%type <str> attr_word
%type <block> cluster_body masq_body service_body

%%

/* file: { block } */
file		: %empty
		| file block
		;

block		: CLUSTER '{' cluster_body '}'		{ file_add(ps, $3, @1); }
		| MASQUERADE '{' masq_body '}'		{ file_add(ps, $3, @1); }
		| SERVICE word '{' service_body '}'	{
				if ($4)
					set_word(ps, &$4->name, $2, @2);
				file_add(ps, $4, @1);
			}
		| error '}'				{ yyerrok; }
		;

/* cluster { pod-cidr C; service-cidr C; node-ip A; } */
cluster_body	: %empty		{ $$ = block_new(ps, AST_CLUSTER); }
		| cluster_body cluster_stmt { $$ = $1; block_add($$, $2); }
		| cluster_body error ';' { $$ = $1; yyerrok; }
		| cluster_body error	{ $$ = $1; }	/* a missing ';' before '}' */
		;

cluster_stmt	: POD_CIDR word ';'	{ $$ = stmt_new(ps, AST_POD_CIDR, @1); if ($$) set_word(ps, &$$->arg, $2, @2); }
		| SERVICE_CIDR word ';'	{ $$ = stmt_new(ps, AST_SERVICE_CIDR, @1); if ($$) set_word(ps, &$$->arg, $2, @2); }
		| NODE_IP word ';'	{ $$ = stmt_new(ps, AST_NODE_IP, @1); if ($$) set_word(ps, &$$->arg, $2, @2); }
		| ZONE word ';'		{ $$ = stmt_new(ps, AST_ZONE, @1); if ($$) set_word(ps, &$$->arg, $2, @2); }
		| NODE_NAME word ';'	{ $$ = stmt_new(ps, AST_NODE_NAME, @1); if ($$) set_word(ps, &$$->arg, $2, @2); }
		| NODE_POD_CIDR word ';' { $$ = stmt_new(ps, AST_NODE_POD_CIDR, @1); if ($$) set_word(ps, &$$->arg, $2, @2); }
		| POD_BRIDGE word ';'	{ $$ = stmt_new(ps, AST_POD_BRIDGE, @1); if ($$) set_word(ps, &$$->arg, $2, @2); }
		| POD_INTERFACE_PREFIX word ';' {
				$$ = stmt_new(ps, AST_POD_INTERFACE_PREFIX, @1);
				if ($$)
					set_word(ps, &$$->arg, $2, @2);
			}
		;

/* masquerade { non-pod; all; from C; } */
masq_body	: %empty		{ $$ = block_new(ps, AST_MASQUERADE); }
		| masq_body masq_stmt	{ $$ = $1; block_add($$, $2); }
		| masq_body error ';'	{ $$ = $1; yyerrok; }
		| masq_body error	{ $$ = $1; }	/* a missing ';' before '}' */
		;

masq_stmt	: NON_POD ';'		{ $$ = stmt_new(ps, AST_MASQ_NON_POD, @1); }
		| ALL ';'		{ $$ = stmt_new(ps, AST_MASQ_ALL, @1); }
		| FROM word ';'		{ $$ = stmt_new(ps, AST_MASQ_FROM, @1); if ($$) set_word(ps, &$$->arg, $2, @2); }
		;

/* service NAME { vip A; port ...; endpoint A; } */
service_body	: %empty		{ $$ = block_new(ps, AST_SERVICE); }
		| service_body service_stmt { $$ = $1; block_add($$, $2); }
		| service_body error ';' { $$ = $1; yyerrok; }
		| service_body error	{ $$ = $1; }	/* a missing ';' before '}' */
		;

service_stmt	: VIP word ';'		{ $$ = stmt_new(ps, AST_VIP, @1); if ($$) set_word(ps, &$$->arg, $2, @2); }
		| endpoint_stmt ';'	{ $$ = $1; }
		| port_stmt ';'		{ $$ = $1; }
		| NODEPORT word ';'	{ $$ = stmt_new(ps, AST_NODEPORT, @1); if ($$) set_word(ps, &$$->arg, $2, @2); }
		| NODEPORT word word ';' {
				$$ = stmt_new(ps, AST_NODEPORT, @1);
				if ($$) {
					set_word(ps, &$$->name, $2, @2);
					set_word(ps, &$$->arg, $3, @3);
				}
			}
		| EXTERNAL_IP word ';'	{ $$ = stmt_new(ps, AST_EXTERNAL_IP, @1); if ($$) set_word(ps, &$$->arg, $2, @2); }
		| LOAD_BALANCER word ';' { $$ = stmt_new(ps, AST_LOAD_BALANCER, @1); if ($$) set_word(ps, &$$->arg, $2, @2); }
		| LOAD_BALANCER word word ';' {	/* load-balancer ADDR proxy; */
				$$ = stmt_new(ps, AST_LOAD_BALANCER, @1);
				if ($$) {
					set_word(ps, &$$->arg, $2, @2);
					stmt_add_arg(ps, $$, $3, @3);
				}
			}
		| SOURCE_RANGES comma_list ';' { $$ = $2; if ($$) ps_set_loc(ps, @1, &$$->loc); }
		| HEALTH_CHECK_NODEPORT word ';' {
				$$ = stmt_new(ps, AST_HEALTH_CHECK_NODEPORT, @1);
				if ($$)
					set_word(ps, &$$->arg, $2, @2);
			}
		| word_list_stmt ';'	{ $$ = $1; }
		;

/* endpoint ADDR [local] [terminating] [weight N] [port NAME N]... */
endpoint_stmt	: ENDPOINT word		{ $$ = stmt_new(ps, AST_ENDPOINT, @1); if ($$) set_word(ps, &$$->arg, $2, @2); }
		| endpoint_stmt attr_word { $$ = $1; stmt_add_arg(ps, $$, $2, @2); }
		;

attr_word	: word			{ $$ = $1; }
		| PORT			{ $$ = keyword_word(ps, "port"); }
		| ZONE			{ $$ = keyword_word(ps, "zone"); }
		;

/* affinity client-ip [timeout N]; traffic-policy external|internal local|cluster; ("cluster" a keyword) */
word_list_stmt	: AFFINITY		{ $$ = stmt_new(ps, AST_AFFINITY, @1); }
		| TRAFFIC_POLICY	{ $$ = stmt_new(ps, AST_TRAFFIC_POLICY, @1); }
		| TRAFFIC_DISTRIBUTION	{ $$ = stmt_new(ps, AST_TRAFFIC_DISTRIBUTION, @1); }
		| word_list_stmt word	{ $$ = $1; stmt_add_arg(ps, $$, $2, @2); }
		| word_list_stmt CLUSTER { $$ = $1; stmt_add_arg(ps, $$, keyword_word(ps, "cluster"), @2); }
		;

/* CIDR, CIDR, ... */
comma_list	: word			{ $$ = stmt_new(ps, AST_SOURCE_RANGES, @1); stmt_add_arg(ps, $$, $1, @1); }
		| comma_list ',' word	{ $$ = $1; stmt_add_arg(ps, $$, $3, @3); }
		;

/* port [NAME] PORT[/PROTO] [-> TARGET] */
port_stmt	: PORT word		{ $$ = stmt_new(ps, AST_PORT, @1); if ($$) set_word(ps, &$$->arg, $2, @2); }
		| PORT word word	{
				$$ = stmt_new(ps, AST_PORT, @1);
				if ($$) {
					set_word(ps, &$$->name, $2, @2);
					set_word(ps, &$$->arg, $3, @3);
				}
			}
		| port_stmt ARROW word	{
				$$ = $1;
				if ($$ && !$$->target.text)
					set_word(ps, &$$->target, $3, @3);
				else if ($$) {
					ps_syntax_error(ps, @2);
					diag_error(ps->ctx, LOC(@2), "a port has one target");
				}
			}
		;

/* Keywords are fine as names ("port all 80;"). */
word		: WORD			{ $$ = $1; }
		| ALL			{ $$ = keyword_word(ps, "all"); }
		| FROM			{ $$ = keyword_word(ps, "from"); }
		| NON_POD		{ $$ = keyword_word(ps, "non-pod"); }
		;

%%

/*
 * A word where a keyword of a statement or block was expected, close to
 * one of those: "unknown statement 'endpiont'; did you mean 'endpoint'?".
 * Returns whether it was said.
 */
static bool suggest_keyword(struct parse_state *ps, SVCCYYLTYPE l,
			    const yysymbol_kind_t *expected, int n, struct loc at)
{
	const char *kw[32];
	const char *best;
	char word[SUGGEST_MAX + 1];
	bool top = false;
	size_t nkw = 0;

	if (span_len(l) > SUGGEST_MAX)
		return false;
	memcpy(word, ps->text + span_off(l), span_len(l));
	word[span_len(l)] = '\0';
	for (int i = 0; i < n && nkw < sizeof(kw) / sizeof(kw[0]); i++) {
		const char *name = yysymbol_name(expected[i]);

		/* keywords are the names of lower-case letters and '-' */
		if (expected[i] == YYSYMBOL_WORD || strspn(name, "abcdefghijklmnopqrstuvwxyz-") != strlen(name))
			continue;
		top |= expected[i] == YYSYMBOL_CLUSTER;
		kw[nkw++] = name;
	}
	if (!(best = suggest(word, kw, nkw)))
		return false;
	diag_error(ps->ctx, at, "unknown %s '%s'; did you mean '%s'?", top ? "block" : "statement", word,
		   best);
	return true;
}

/*
 * "unexpected 'weight', expecting vip, port, endpoint or '}'": the token as
 * written, and the keywords that are only names here folded into "a word".
 */
static int yyreport_syntax_error(const yypcontext_t *yyctx, void *scanner,
				 struct parse_state *ps)
{
	enum { MAX = 12 };
	yysymbol_kind_t expected[MAX], got = yypcontext_token(yyctx);
	const SVCCYYLTYPE *l = yypcontext_location(yyctx);
	struct loc at = LOC(*l);
	char *msg = NULL, *more;
	bool word_ok = false;
	int n = yypcontext_expected_tokens(yyctx, expected, MAX);

	(void)scanner;
	if (got == YYSYMBOL_YYEOF)
		more = strdup("unexpected end of file");
	else if (span_len(*l))
		more = strndup(ps->text + span_off(*l), span_len(*l));
	else
		more = strdup(yysymbol_name(got));
	if (!more)
		goto nomem;
	if (got == YYSYMBOL_YYEOF)
		msg = more, more = NULL;
	else if (asprintf(&msg, "unexpected '%s'", more) < 0)
		msg = NULL;
	free(more);
	for (int i = 0; i < n; i++)
		if (expected[i] == YYSYMBOL_WORD)
			word_ok = true;
	for (int i = 0, shown = 0; msg && i < n; i++) {
		yysymbol_kind_t k = expected[i];
		const char *name = yysymbol_name(k);
		int left = 0;

		if (word_ok && (k == YYSYMBOL_ALL || k == YYSYMBOL_FROM ||
				k == YYSYMBOL_NON_POD || k == YYSYMBOL_CLUSTER))
			continue;
		if (k == YYSYMBOL_WORD)
			name = "a word";
		for (int j = i + 1; j < n; j++)
			if (!(word_ok && (expected[j] == YYSYMBOL_ALL || expected[j] == YYSYMBOL_FROM ||
					  expected[j] == YYSYMBOL_NON_POD || expected[j] == YYSYMBOL_CLUSTER)))
				left++;
		if (asprintf(&more, "%s%s%s", msg,
			     !shown ? ", expecting " : left ? ", " : " or ", name) < 0) {
			free(msg);
			goto nomem;
		}
		free(msg);
		msg = more;
		shown++;
	}
	if (!msg)
		goto nomem;
	ps_syntax_error(ps, *l);
	if (got == YYSYMBOL_WORD && suggest_keyword(ps, *l, expected, n, at)) {
		free(msg);
		return 0;
	}
	diag_error(ps->ctx, at, "%s", msg);
	free(msg);
	return 0;
nomem:
	/*
	 * The error stands without its message: its block must not be
	 * resolved.  Not YYENOMEM: bison 3.8 tests for 2, and would go on.
	 */
	ps_syntax_error(ps, *l);
	ps->nomem = true;
	return 0;
}

