/* SPDX-License-Identifier: MIT */
/* The svcc command. */
#include <getopt.h>
#include <malloc.h>
#include <pthread.h>
#include <stdbool.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "svcc.h"
#include "import_k8s.h"
#include "agent.h"
#include "trace_cmd.h"
#include "fmt_cmd.h"
#include "suggest.h"

enum { EXIT_CONFIG = 1, EXIT_USAGE = 2, EXIT_KERNEL = 3 };

/* Diagnostics in colour (--color, main() decides) */
static int diag_color;

static int print_diags(const struct svcc_ctx *ctx)
{
	return svcc_diag_print_color(ctx, stderr, diag_color);
}

/* What "did you mean" chooses from: the commands, and every long option. */
static const char *const commands[] = {
	"compile", "check", "apply", "diff", "verify", "delete", "trace", "fmt", "help", "import-k8s",
	"show",
};
static const char *const long_options[] = {
	"--table", "--help", "--version", "--color", "--dry-run", "--verbose", "--via",
	"--from", "--to", "--from-pod", "--from-node", "--from-outside", "--iif", "--node-addr", "--json",
	"--check", "--stats",
};
#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* "unknown option '--tabel'; did you mean '--table'?" (what: "option", "command") */
static void say_unknown(const char *what, const char *arg, const char *const *cand, size_t n)
{
	char name[SUGGEST_MAX + 1];
	const char *near;

	/* --table=x: the name is what is misspelled */
	snprintf(name, sizeof(name), "%.*s", (int)strcspn(arg, "="), arg);
	near = suggest(name, cand, n);
	if (near)
		fprintf(stderr, "svcc: unknown %s '%s'; did you mean '%s'?\n", what, name, near);
	else
		fprintf(stderr, "svcc: unknown %s '%s'\n", what, arg);
}

static void usage(FILE *out)
{
	fputs("usage: svcc [OPTION]... COMMAND [ARG]...   (options may come before or after the command)\n"
	      "\n"
	      "commands:\n"
	      "  compile FILE     print the nft transaction for FILE's services\n"
	      "  check FILE       check FILE; print errors, exit 1 if any\n"
	      "  apply [-n] [-v] [--via=nft|netlink] FILE\n"
	      "                   make the kernel's table match FILE in one atomic,\n"
	      "                   incremental transaction; -n (--dry-run) prints it instead,\n"
	      "                   -v tells what changed and how long it took\n"
	      "  diff OLD NEW     the transaction from OLD's ruleset to NEW's, as nft commands\n"
	      "  verify [FILE]    read the whole table back, rules included, and compare it\n"
	      "                   with FILE's ruleset: exit 0 when identical, 1 with the\n"
	      "                   differences (- the kernel's, + FILE's) when not; changes nothing\n"
	      "  delete           remove the table\n"
	      "  show [SERVICE | ADDR:PORT[/PROTO]] [--json] [--stats]\n"
	      "                   what the kernel's table does, as ipvsadm -l -n shows it: each\n"
	      "                   service port's addresses, its endpoints with their weights, and\n"
	      "                   the connections conntrack holds to each (active: TCP\n"
	      "                   established; inactive: the rest); --stats adds their packets\n"
	      "                   and bytes (conntrack accounting)\n"
	      "  trace FILE --from SRC --to ADDR:PORT[/PROTO] [--from-pod|--from-node|--from-outside]\n"
	      "        [--iif NAME] [--node-addr ADDR]... [--json]\n"
	      "                   where a new connection goes through FILE's ruleset, worked out\n"
	      "                   without a kernel: the endpoints with their shares, masquerade,\n"
	      "                   refused or dropped, and the chains it passes\n"
	      "  fmt [--check] FILE...\n"
	      "                   print each FILE in canonical form (comments dropped); --check\n"
	      "                   prints only the names of those not in it, and exits 1 if any\n"
	      "  help [COMMAND]   this text (so do -h and COMMAND --help)\n"
	      "  (FILE - or, for verify, none: the config is read from standard input)\n"
	      "  agent [--min-sync-period D] [--sync-period D] [--healthz-address ADDR:PORT]\n"
	      "        [--metrics-address ADDR:PORT] [--cleanup] [--no-owner]\n"
	      "        [--k8s FILE... [--node NAME]] [PATH...]\n"
	      "                   keep the table in step with PATH (a .svc file, or a directory\n"
	      "                   of them) and the --k8s files as they change; health,\n"
	      "                   metrics; see README\n"
	      "  import-k8s FILE... [--node NAME] [--pod-cidr CIDR]...\n"
	      "                   the .svc config for Kubernetes Services and EndpointSlices\n"
	      "                   (kubectl's JSON or YAML: objects, Lists, YAML streams)\n"
	      "\n"
	      "options:\n"
	      "  -t, --table NAME nftables table (inet family) to own; default svcc\n"
	      "  --color[=WHEN]   diagnostics in colour: auto (on a terminal, unless\n"
	      "                   NO_COLOR is set; the default), always (no WHEN) or never\n"
	      "  -h, --help       this text\n"
	      "  -V, --version    the version\n"
	      "\n"
	      "exit status: 0 ok, 1 bad config, 2 bad usage, 3 the kernel refused\n", out);
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/*
 * Parse and compile FILE; on error print diagnostics and return NULL.
 * keep: where to leave the config, for the caller to free; NULL: freed here.
 */
/* "-": the config is read from standard input, named <stdin> in diagnostics. */
static int parse_path(struct svcc_ctx *ctx, const char *path, struct svcc_config **cfg)
{
	char *text = NULL;
	size_t len = 0, cap = 0, n;
	int ret;

	if (strcmp(path, "-"))
		return svcc_parse_file(ctx, path, cfg);
	do {
		if (len == cap) {
			char *p = realloc(text, cap = cap ? 2 * cap : 65536);

			if (!p) {
				free(text);
				fputs("svcc: out of memory\n", stderr);
				return -1;
			}
			text = p;
		}
		n = fread(text + len, 1, cap - len, stdin);
		len += n;
	} while (n);
	if (ferror(stdin)) {
		free(text);
		fputs("svcc: <stdin>: read error\n", stderr);
		return -1;
	}
	ret = svcc_parse_string(ctx, "<stdin>", text ? text : "", len, cfg);
	free(text);
	return ret;
}

static struct svcc_ruleset *build(struct svcc_ctx *ctx, const char *path, const char *table,
				  struct svcc_config **keep)
{
	struct svcc_options opts = { .table = table };
	struct svcc_config *cfg = NULL;
	struct svcc_ruleset *rs = NULL;

	if (parse_path(ctx, path, &cfg) == 0)
		svcc_compile(ctx, cfg, &opts, &rs);
	if (keep && rs)
		*keep = cfg;
	else
		svcc_config_free(cfg);
	print_diags(ctx);
	svcc_ctx_clear(ctx);	/* printed: a second build or the runtime starts afresh */
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
	rs = build(ctx, argv[0], table, NULL);
	if (!rs)
		return EXIT_CONFIG;
	if (print && (svcc_ruleset_write(rs, stdout) || fflush(stdout))) {
		perror("svcc: stdout");
		rc = EXIT_CONFIG;
	}
	svcc_ruleset_free(rs);
	return rc;
}

static int cmd_diff(struct svcc_ctx *ctx, int argc, char **argv, const char *table)
{
	struct svcc_ruleset *old = NULL, *new_rs = NULL;
	int rc = EXIT_CONFIG;

	if (argc != 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if ((old = build(ctx, argv[0], table, NULL)) && (new_rs = build(ctx, argv[1], table, NULL))) {
		if (svcc_ruleset_diff(old, new_rs, stdout) == 0 && fflush(stdout) == 0)
			rc = 0;
		else
			perror("svcc: diff");
	}
	svcc_ruleset_free(old);
	svcc_ruleset_free(new_rs);
	return rc;
}

/* The runtime failed: its reasons are in ctx. */
static int kernel_error(struct svcc_ctx *ctx)
{
	print_diags(ctx);
	return EXIT_KERNEL;
}

/*
 * The runtime reads the kernel's table back when it is made: that needs no
 * config, so it runs on a thread of its own while the config is parsed and
 * compiled (1.6 ms at 10k services).  Reading changes nothing in the
 * kernel, so a bad config still leaves it as it was.
 */
struct reader {
	struct svcc_ctx *ctx;	/* the runtime's own: the threads share none */
	const char *table;
	unsigned flags;
	struct svcc_runtime *rt;
	int rc;
	double ms;
};

static void *read_kernel(void *arg)
{
	struct reader *r = arg;
	double t0 = now_ms();

	r->rc = svcc_runtime_new(r->ctx, r->table, r->flags, &r->rt);
	r->ms = now_ms() - t0;
	return NULL;
}

static int cmd_apply(struct svcc_ctx *ctx, int argc, char **argv, const char *table)
{
	static const struct option opts[] = {
		{ "dry-run", no_argument, NULL, 'n' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "via", required_argument, NULL, 'w' },
		{ 0 }
	};
	bool dry = false, verbose = false, threaded;
	unsigned flags = 0;
	struct svcc_ruleset *rs;
	struct svcc_runtime *rt;
	const struct svcc_apply_stats *st;
	struct svcc_config *cfg = NULL;
	struct reader rd = { .table = table };
	pthread_t reading;
	double t0, t1;
	int c, rc;

	optind = 0;	/* argv[0] is the command: getopt starts after it */
	opterr = 0;	/* say_unknown(): with a suggestion */
	while ((c = getopt_long(argc, argv, "nv", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			dry = true;
			break;
		case 'v':
			verbose = true;
			break;
		case 'w':
			if (!strcmp(optarg, "nft"))
				flags |= SVCC_RT_VIA_NFT;
			else if (strcmp(optarg, "netlink")) {
				fprintf(stderr, "svcc: --via takes nft or netlink\n");
				return EXIT_USAGE;
			}
			break;
		default:
			if (optopt && optopt != 'w')
				fprintf(stderr, "svcc: unknown option '-%c'\n", optopt);
			else if (optopt == 'w')
				fputs("svcc: --via takes nft or netlink\n", stderr);
			else
				say_unknown("option", argv[optind - 1], long_options, NELEM(long_options));
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind != argc - 1) {
		usage(stderr);
		return EXIT_USAGE;
	}
	/* one shot: the process ends after this apply */
	rd.flags = flags | SVCC_RT_ONE_SHOT;
	if (!(rd.ctx = svcc_ctx_new())) {
		fprintf(stderr, "svcc: out of memory\n");
		return EXIT_KERNEL;
	}
	threaded = !pthread_create(&reading, NULL, read_kernel, &rd);
	t0 = now_ms();
	rs = build(ctx, argv[optind], table, &cfg);
	t1 = now_ms();
	if (threaded)
		pthread_join(reading, NULL);
	else if (rs)
		read_kernel(&rd);
	rt = rd.rt;
	if (!rs) {
		svcc_runtime_free(rt);
		svcc_ctx_free(rd.ctx);
		return EXIT_CONFIG;	/* nothing was sent */
	}
	if (rd.rc) {
		svcc_ruleset_free(rs);
		svcc_config_free(cfg);
		rc = kernel_error(rd.ctx);
		svcc_ctx_free(rd.ctx);
		return rc;
	}
	rc = dry ? svcc_runtime_plan(rt, rs, stdout) : svcc_runtime_apply(rt, rs);
	if (rc)
		rc = kernel_error(rd.ctx);
	else
		print_diags(rd.ctx);	/* warnings */
	if (!rc && verbose && !dry) {
		st = svcc_runtime_stats(rt);
		fprintf(stderr, "apply: %lu added, %lu changed, %lu deleted, %lu messages, %.1f ms",
			st->added, st->changed, st->deleted, st->messages, st->seconds * 1e3);
		if (st->conntrack_deleted)
			fprintf(stderr, ", %lu stale UDP conntrack entries deleted", st->conntrack_deleted);
		if (st->affinity_deleted)
			fprintf(stderr, ", %lu affinity clients of removed endpoints forgotten",
				st->affinity_deleted);
		fprintf(stderr, " (before it: parse and compile %.1f ms, read-back %.1f ms alongside; "
			"%lu sets, %lu chains read)\n", t1 - t0, rd.ms, st->sets_read,
			st->chains_read);
	}
	/* these first: closing the socket waits for the kernel to free what the
	 * batch replaced (an RCU grace period from the commit), which they overlap */
	svcc_ruleset_free(rs);
	svcc_config_free(cfg);
#ifdef __GLIBC__
	malloc_trim(0);	/* and the pages go back now, not after it at exit */
#endif
	svcc_runtime_free(rt);
	svcc_ctx_free(rd.ctx);
	return rc;
}

static int cmd_verify(struct svcc_ctx *ctx, int argc, char **argv, const char *table)
{
	struct svcc_ruleset *rs;
	struct svcc_runtime *rt;
	const char *path = argc ? argv[0] : "-";
	int rc;

	if (argc > 1) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!(rs = build(ctx, path, table, NULL)))
		return EXIT_CONFIG;
	if (svcc_runtime_new(ctx, table, SVCC_RT_ONE_SHOT, &rt)) {
		svcc_ruleset_free(rs);
		return kernel_error(ctx);
	}
	rc = svcc_runtime_verify(rt, rs, stdout);
	if (rc < 0) {
		rc = kernel_error(ctx);
	} else {
		print_diags(ctx);
		fprintf(stderr, rc ? "verify: table inet %s differs from %s\n"
				   : "verify: table inet %s is exactly %s\n", table,
			strcmp(path, "-") ? path : "<stdin>");
		if (svcc_runtime_owner(rt))
			fprintf(stderr, "verify: table inet %s is owned by another process (netlink "
				"port %u; an svcc agent?): only it may change the table\n", table,
				svcc_runtime_owner(rt));
	}
	svcc_ruleset_free(rs);
	svcc_runtime_free(rt);
	return rc;
}

/* svcc show [SERVICE | ADDR:PORT[/PROTO]] [--json] [--stats]: from the kernel. */
static int cmd_show(struct svcc_ctx *ctx, int argc, char **argv, const char *table)
{
	const char *filter = NULL;
	struct svcc_runtime *rt;
	unsigned flags = 0;
	int rc;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json")) {
			flags |= SVCC_SHOW_JSON;
		} else if (!strcmp(argv[i], "--stats")) {
			flags |= SVCC_SHOW_STATS;
		} else if (argv[i][0] == '-' && argv[i][1]) {
			say_unknown("option", argv[i], long_options, NELEM(long_options));
			return EXIT_USAGE;
		} else if (!filter) {
			filter = argv[i];
		} else {
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (svcc_runtime_new(ctx, table, SVCC_RT_ONE_SHOT, &rt))
		return kernel_error(ctx);
	rc = svcc_runtime_show(rt, filter, flags, stdout);
	if (rc < 0) {
		rc = errno == EINVAL ? (print_diags(ctx), EXIT_USAGE) : kernel_error(ctx);
	} else if (rc) {
		print_diags(ctx);
		fprintf(stderr, "show: no service port in table inet %s matches '%s'\n", table, filter);
	}
	svcc_runtime_free(rt);
	return rc;
}

/* svcc trace: where a new connection goes through FILE's ruleset, no kernel. */
static int cmd_trace(struct svcc_ctx *ctx, int argc, char **argv, const char *table)
{
	struct trace_args a;
	struct svcc_ruleset *rs;
	struct svcc_trace *t;
	int rc = 0;

	if (trace_parse_args(argc, argv, &a)) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!(rs = build(ctx, a.file, table, NULL)))
		return EXIT_CONFIG;
	if (svcc_trace(ctx, rs, &a.flow, &t)) {
		print_diags(ctx);
		svcc_ruleset_free(rs);
		return EXIT_USAGE;
	}
	if (svcc_trace_write(t, a.flags, stdout) || fflush(stdout)) {
		perror("svcc: stdout");
		rc = EXIT_CONFIG;
	}
	svcc_trace_free(t);
	svcc_ruleset_free(rs);
	return rc;
}

/* svcc fmt [--check] FILE... (fmt_cmd.c) */
static int cmd_fmt(struct svcc_ctx *ctx, int argc, char **argv)
{
	int rc = fmt_main(ctx, argc, argv, diag_color);

	if (rc == EXIT_USAGE)
		usage(stderr);
	return rc;
}

static int cmd_delete(struct svcc_ctx *ctx, int argc, const char *table)
{
	struct svcc_runtime *rt;
	int rc = 0;

	if (argc != 0) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (svcc_runtime_new(ctx, table, 0, &rt))
		return kernel_error(ctx);
	if (svcc_runtime_delete_table(rt))
		rc = kernel_error(ctx);
	svcc_runtime_free(rt);
	return rc;
}

/*
 * The global options stand anywhere, before "--", as GNU tools take them:
 * -t/--table NAME (--table=NAME, -tNAME), --color[=WHEN], -h/--help,
 * -V/--version are taken
 * out of argv; the command and its own arguments and options remain, in
 * order.  After import-k8s, whose options are its own, nothing is taken.
 * "--" is kept for apply's and fmt's option parsers, dropped for the others.
 * *unknown: an option no one takes (apply's own parser judges its own).
 * Returns 0, or -1 when --table lacks its value.
 */
static int take_global_options(int *argc, char **argv, const char **table, const char **color,
			       bool *help, bool *version, const char **unknown)
{
	const char *cmd = NULL;
	bool rest = false;
	int w = 1;

	for (int i = 1; i < *argc; i++) {
		const char *a = argv[i];

		if (rest || (cmd && !strcmp(cmd, "import-k8s")) || a[0] != '-' || !a[1]) {
			if (!cmd)
				cmd = a;
			argv[w++] = argv[i];
		} else if (!strcmp(a, "--")) {
			rest = true;
			if (cmd && (!strcmp(cmd, "apply") || !strcmp(cmd, "fmt")))
				argv[w++] = argv[i];
		} else if (!strcmp(a, "-t") || !strcmp(a, "--table")) {
			if (++i == *argc)
				return -1;
			*table = argv[i];
		} else if (!strncmp(a, "--table=", 8)) {
			*table = a + 8;
		} else if (!strncmp(a, "-t", 2)) {
			*table = a + 2;
		} else if (!strcmp(a, "--color")) {
			*color = "always";
		} else if (!strncmp(a, "--color=", 8)) {
			*color = a + 8;
		} else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			*help = true;
		} else if (!strcmp(a, "-V") || !strcmp(a, "--version")) {
			*version = true;
		} else {
			if (!*unknown)
				*unknown = a;
			argv[w++] = argv[i];	/* the command's own, or unknown */
		}
	}
	argv[w] = NULL;
	*argc = w;
	/* only apply has options of its own (import-k8s's were left alone) */
	if (*unknown && cmd && (!strcmp(cmd, "apply") || !strcmp(cmd, "trace") ||
				    !strcmp(cmd, "fmt") || !strcmp(cmd, "show")))
		*unknown = NULL;
	if (*unknown && cmd && !strcmp(cmd, "agent"))
		*unknown = NULL;	/* svcc agent parses its own */
	return 0;
}

int main(int argc, char **argv)
{
	const char *table = "svcc", *unknown = NULL, *color = "auto", *no_color = getenv("NO_COLOR");
	bool help = false, version = false;
	struct svcc_ctx *ctx;
	int rc;

	if (take_global_options(&argc, argv, &table, &color, &help, &version, &unknown)) {
		fputs("svcc: --table needs a name\n", stderr);
		usage(stderr);
		return EXIT_USAGE;
	}
	/* no-color.org: NO_COLOR (not empty) turns off the default, not an explicit --color */
	if (!strcmp(color, "always"))
		diag_color = 1;
	else if (!strcmp(color, "auto"))
		diag_color = isatty(STDERR_FILENO) && !(no_color && *no_color);
	else if (strcmp(color, "never")) {
		fputs("svcc: --color takes auto, always or never\n", stderr);
		return EXIT_USAGE;
	}
	if (help || (argc >= 2 && !strcmp(argv[1], "help"))) {
		usage(stdout);	/* one text for every command */
		return 0;
	}
	if (version) {
		printf("svcc %s\n", SVCC_VERSION);
		return 0;
	}
	if (unknown || argc < 2) {
		if (unknown)
			say_unknown("option", unknown, long_options, NELEM(long_options));
		usage(stderr);
		return EXIT_USAGE;
	}
	argc -= 1;
	argv += 1;
	ctx = svcc_ctx_new();
	if (!ctx) {
		fputs("svcc: out of memory\n", stderr);
		return EXIT_CONFIG;
	}
	if (!strcmp(argv[0], "compile"))
		rc = cmd_compile(ctx, argc - 1, argv + 1, table, true);
	else if (!strcmp(argv[0], "check"))
		rc = cmd_compile(ctx, argc - 1, argv + 1, table, false);
	else if (!strcmp(argv[0], "diff"))
		rc = cmd_diff(ctx, argc - 1, argv + 1, table);
	else if (!strcmp(argv[0], "apply"))
		rc = cmd_apply(ctx, argc, argv, table);
	else if (!strcmp(argv[0], "verify"))
		rc = cmd_verify(ctx, argc - 1, argv + 1, table);
	else if (!strcmp(argv[0], "fmt"))
		rc = cmd_fmt(ctx, argc, argv);
	else if (!strcmp(argv[0], "trace"))
		rc = cmd_trace(ctx, argc, argv, table);
	else if (!strcmp(argv[0], "show"))
		rc = cmd_show(ctx, argc, argv, table);
	else if (!strcmp(argv[0], "delete"))
		rc = cmd_delete(ctx, argc - 1, table);
	else if (!strcmp(argv[0], "agent"))
		rc = agent_main(argc, argv, table, diag_color);
	else if (!strcmp(argv[0], "import-k8s"))
		rc = import_k8s_main(argc, argv, stdout, stderr);
	else {
		say_unknown("command", argv[0], commands, NELEM(commands));
		usage(stderr);
		rc = EXIT_USAGE;
	}
	svcc_ctx_free(ctx);
	return rc;
}
