/* SPDX-License-Identifier: MIT */
/* svcc fmt: the canonical form of .svc files (the command uses only the public API). */
#ifndef SVCC_FMT_CMD_H
#define SVCC_FMT_CMD_H

#include "svcc.h"

/*
 * argv[0] is "fmt": [--check] FILE... (- is standard input).  Prints each
 * file's canonical form (svcc_config_write) on stdout; with --check prints
 * nothing but the names of the files not already in it.  Comments are
 * dropped, and a file that has any is said so on stderr.  Diagnostics in
 * colour when color.  Returns the exit status: 0, 1 (a bad config, or with
 * --check a file not in canonical form), 2 (bad usage).
 */
int fmt_main(struct svcc_ctx *ctx, int argc, char **argv, int color);

#endif
