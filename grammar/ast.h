/* SPDX-License-Identifier: MIT */
/*
 * The syntax tree of a .svc file: blocks of statements, every node with its
 * source location.  It says what was written, not whether it means anything:
 * words stay text until the resolve pass (compiler/resolve.c) reads them.
 * The parser hands over one block at a time: a big file never has its whole
 * tree in memory.
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
	AST_LOAD_BALANCER,	/* load-balancer ADDR [proxy];	 arg, args */
	AST_SOURCE_RANGES,	/* source-ranges CIDR, ...;	 args */
	AST_HEALTH_CHECK_NODEPORT, /* health-check-nodeport PORT;	 arg */
	AST_TRAFFIC_DISTRIBUTION, /* traffic-distribution WORD;	 args */
	AST_ZONE,		/* zone NAME; (cluster)		 arg */
	AST_NODE_NAME,		/* node-name NAME; (cluster)	 arg */
	AST_NODE_POD_CIDR,	/* node-pod-cidr CIDR; (cluster) arg */
	AST_POD_BRIDGE,		/* pod-bridge IFNAME; (cluster)	 arg */
	AST_POD_INTERFACE_PREFIX, /* pod-interface-prefix PREFIX;	 arg */
	AST_AFFINITY,		/* affinity WORD...;		 args */
	AST_TRAFFIC_POLICY,	/* traffic-policy WORD WORD;	 args */
	AST_NKINDS
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
	size_t nstmts[AST_NKINDS];	/* by kind: lets resolve size its arrays */
};

/* Takes a complete block; the block and its words die when it returns. */
typedef void ast_block_fn(void *arg, const struct ast_block *b);

/*
 * parse.c: text to tree; every syntax error goes to ctx.  0, -1 (syntax
 * errors) or -2 (out of memory, reported).  text is
 * a source kept by ctx (diag_keep_source): NULs at len and len + 1 and none
 * before.  The scanner writes into it while it runs, and leaves it as it was.
 * Blocks go to fn in order, but for those with a syntax error inside.
 */
int ast_parse(struct svcc_ctx *ctx, const char *file, char *text, size_t len,
	      ast_block_fn *fn, void *arg);

#endif
