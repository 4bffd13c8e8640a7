/* SPDX-License-Identifier: MIT */
/* svcc trace's command line (the command uses only the public API). */
#ifndef SVCC_TRACE_CMD_H
#define SVCC_TRACE_CMD_H

#include "svcc.h"

#define TRACE_MAX_NODE_ADDRS 16

struct trace_args {
	const char *file;
	struct svcc_flow flow;
	unsigned flags;		/* SVCC_TRACE_JSON */
	char daddr[64];		/* --to's address, without brackets */
	const char *node_addrs[TRACE_MAX_NODE_ADDRS];
};

/*
 * argv[0] is "trace": FILE --from SRC --to ADDR:PORT[/PROTO]
 * [--from-pod|--from-node|--from-outside] [--iif NAME] [--node-addr ADDR]...
 * [--json].  0, or -1 with the reason on stderr.
 */
int trace_parse_args(int argc, char **argv, struct trace_args *a);

#endif
