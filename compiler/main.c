/* SPDX-License-Identifier: MIT */
/* The svcc command. */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "svcc.h"

enum { EXIT_CONFIG = 1, EXIT_USAGE = 2, EXIT_KERNEL = 3 };

static void usage(FILE *out)
{
	fputs("usage: svcc [--table NAME] COMMAND ...\n"
	      "\n"
	      "commands:\n"
	      "  compile FILE     print the nft transaction for FILE's services\n"
	      "  check FILE       check FILE; print errors, exit 1 if any\n"
	      "\n"
	      "options:\n"
	      "  -t, --table NAME nftables table (inet family) to own; default svcc\n"
	      "  -h, --help       this text\n"
	      "  -V, --version    the version\n", out);
}

/* Parse and compile FILE; on error print diagnostics and return NULL. */
static struct svcc_ruleset *build(struct svcc_ctx *ctx, const char *path, const char *table)
{
	struct svcc_options opts = { .table = table };
	struct svcc_config *cfg = NULL;
	struct svcc_ruleset *rs = NULL;

	if (svcc_parse_file(ctx, path, &cfg) == 0)
		svcc_compile(ctx, cfg, &opts, &rs);
	svcc_config_free(cfg);
	svcc_diag_print(ctx, stderr);
	return rs;
}

static int cmd_compile(struct svcc_ctx *ctx, int argc, char **argv, const char *table, bool print)
{
	struct svcc_ruleset *rs;
	int rc = 0;

	if (argc != 1) {
		usage(stderr);
		return EXIT_USAGE;
	}
	rs = build(ctx, argv[0], table);
	if (!rs)
		return EXIT_CONFIG;
	if (print && (svcc_ruleset_write(rs, stdout) || fflush(stdout))) {
		perror("svcc: stdout");
		rc = EXIT_CONFIG;
	}
	svcc_ruleset_free(rs);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "table", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 }
	};
	const char *table = "svcc";
	struct svcc_ctx *ctx;
	int c, rc;

	while ((c = getopt_long(argc, argv, "+t:hV", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			table = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("svcc %s\n", SVCC_VERSION);
			return 0;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	ctx = svcc_ctx_new();
	if (!ctx) {
		fputs("svcc: out of memory\n", stderr);
		return EXIT_CONFIG;
	}
	argc -= optind + 1;
	argv += optind + 1;
	if (!strcmp(argv[-1], "compile"))
		rc = cmd_compile(ctx, argc, argv, table, true);
	else if (!strcmp(argv[-1], "check"))
		rc = cmd_compile(ctx, argc, argv, table, false);
	else {
		fprintf(stderr, "svcc: unknown command '%s'\n", argv[-1]);
		usage(stderr);
		rc = EXIT_USAGE;
	}
	svcc_ctx_free(ctx);
	return rc;
}
