/* SPDX-License-Identifier: MIT */
/*
 * The syntax tree of a .svc file: blocks of statements, every node with its
 * source location.  It says what was written, not whether it means anything:
 * words stay text until the resolve pass (compiler/resolve.c) reads them.
 */
#ifndef SVCC_AST_H
#define SVCC_AST_H

#include "diag.h"

struct ast_word {
	char *text;		/* NULL: absent (an optional part not written) */
	struct loc loc;
};

enum ast_stmt_kind {
	AST_POD_CIDR,		/* pod-cidr CIDR;		 arg */
	AST_SERVICE_CIDR,	/* service-cidr CIDR;		 arg */
	AST_NODE_IP,		/* node-ip ADDR;		 arg */
	AST_MASQ_NON_POD,	/* non-pod;			 */
	AST_MASQ_ALL,		/* all;				 */
	AST_MASQ_FROM,		/* from CIDR;			 arg */
	AST_VIP,		/* vip ADDR;			 arg */
	AST_PORT,		/* port [NAME] PORT[/PROTO] [-> TARGET]; name, arg, target */
	AST_ENDPOINT,		/* endpoint ADDR [ATTR...];	 arg, args */
	AST_NODEPORT,		/* nodeport [PORTNAME] PORT;	 name, arg */
	AST_EXTERNAL_IP,	/* external-ip ADDR;		 arg */
	AST_LOAD_BALANCER,	/* load-balancer ADDR;		 arg */
	AST_SOURCE_RANGES,	/* source-ranges CIDR, ...;	 args */
	AST_AFFINITY,		/* affinity WORD...;		 args */
	AST_TRAFFIC_POLICY,	/* traffic-policy WORD WORD;	 args */
};

struct ast_stmt {
	enum ast_stmt_kind kind;
	struct loc loc;		/* the keyword */
	struct ast_word arg;
	struct ast_word name;	/* AST_PORT, AST_NODEPORT */
	struct ast_word target;	/* AST_PORT only */
	struct ast_word *args;	/* the words after the keyword (after arg, for AST_ENDPOINT) */
	size_t nargs, args_cap;
	struct ast_stmt *next;
};

enum ast_block_kind { AST_CLUSTER, AST_MASQUERADE, AST_SERVICE };

struct ast_block {
	enum ast_block_kind kind;
	struct loc loc;		/* the keyword */
	struct ast_word name;	/* AST_SERVICE only */
	struct ast_stmt *stmts, **stmts_tail;
	struct ast_block *next;
};

struct ast_file {
	struct ast_block *blocks, **blocks_tail;
};

/* parse.c: text to tree; every syntax error goes to ctx.  0 or -1. */
int ast_parse(struct svcc_ctx *ctx, const char *name, const char *text, size_t len,
	      struct ast_file **out);
void ast_free(struct ast_file *file);

#endif
