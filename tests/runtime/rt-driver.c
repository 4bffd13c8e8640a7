// SPDX-License-Identifier: MIT
/*
 * rt-driver: the runtime from the command line, for the kernel tests until
 * `svcc apply/diff/delete` exist.
 *
 *   rt-driver [--table T] [--nft] apply FILE.svc [-n] [-v]
 *   rt-driver [--table T] diff OLD.svc NEW.svc
 *   rt-driver [--table T] delete
 *   rt-driver [--table T] mnl FILE.svc     the full-load batch, libmnl dump
 *   rt-driver [--table T] mnl OLD NEW      the batch of OLD -> NEW, the same way
 *   rt-driver [--table T] inject FILE.svc  apply FILE's diff plus a final
 *                                          operation the kernel rejects
 *   rt-driver [--table T] [--nft] sequence FILE.svc [CMD FILE.svc]... [-v]
 *                                          apply each FILE in turn with one
 *                                          runtime (its model is the last
 *                                          ruleset applied, not a read-back),
 *                                          running the shell command CMD
 *                                          between two applies
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>

#include "internal.h"
#include "nl.h"
#include "tx.h"

static struct svcc_ruleset *load(struct svcc_ctx *ctx, const char *path, const char *table)
{
	struct svcc_options opts = { .table = table };
	struct svcc_config *cfg = NULL;
	struct svcc_ruleset *rs = NULL;

	if (svcc_parse_file(ctx, path, &cfg) == 0)
		svcc_compile(ctx, cfg, &opts, &rs);
	svcc_config_free(cfg);
	return rs;
}

/*
 * Every message of the transaction old -> rs (old NULL: the full load), as
 * libmnl prints them, to compare with `nft --debug=mnl`.
 */
static int dump_mnl(const struct rs_ruleset *old, const struct rs_ruleset *rs)
{
	struct tx *tx = tx_diff(old, rs);
	char *buf = calloc(1, NL_MSG_MAX);
	uint32_t seq = 0;
	int ret = 1;

	if (!tx || !buf)
		goto out;
	for (size_t i = 0; i < tx->nops; i++) {
		size_t pos = 0, len;

		do {
			len = nl_msg_op(buf, NL_MSG_MAX, tx, &tx->ops[i], &pos, ++seq);
			if (!len)
				goto out;
			mnl_nlmsg_fprintf(stdout, buf, len, sizeof(struct nfgenmsg));
			memset(buf, 0, len);
		} while (pos < tx->ops[i].nelems);
	}
	ret = 0;
out:
	free(buf);
	tx_free(tx);
	return ret;
}

/*
 * A transaction the kernel rejects at its very end: nothing of it may stay.
 * Runs the runtime's own pieces (read back, diff, batch) by hand.
 */
static int inject(const struct rs_ruleset *rs)
{
	struct rs_chain bogus = { .name = (char *)"svcc-no-such-chain" };
	struct rs_ruleset *old = NULL, *map = NULL;
	bool trusted;
	struct nl_result res;
	struct nl nl;
	struct tx *tx;
	uint32_t gen;
	int ret = 1;

	/* without trust: every chain and element, which the diff below compares */
	if (nl_open(&nl) || nl_read_table(&nl, rs->table, false, &old, &map, &trusted, &gen))
		return 1;
	rs_free(map);
	tx = tx_diff(old, rs);
	if (tx && tx->nops < tx->ops_cap) {
		struct tx_op *op = &tx->ops[tx->nops++];

		memset(op, 0, sizeof(*op));
		op->kind = TX_DEL_CHAIN;
		op->rs = rs;
		op->chain = &bogus;
		if (nl_send_tx(&nl, tx, &gen, &res) == 0) {
			fprintf(stderr, "inject: the kernel accepted the batch\n");
		} else if (res.op == op && res.err == ENOENT) {
			fprintf(stderr, "inject: rejected as expected: ");
			tx_render_op(tx, res.op, 0, 0, stderr);
			ret = 0;
		} else {
			fprintf(stderr, "inject: unexpected failure: %s\n", strerror(res.err));
		}
	}
	tx_free(tx);
	rs_free(old);
	nl_close(&nl);
	return ret;
}

static void print_stats(const struct svcc_runtime *rt)
{
	const struct svcc_apply_stats *s = svcc_runtime_stats(rt);

	fprintf(stderr, "added %lu, changed %lu, deleted %lu, %lu messages, %.3f ms\n",
		s->added, s->changed, s->deleted, s->messages, s->seconds * 1e3);
}

/* FILE [CMD FILE]...: one runtime applies them all, in turn. */
static int sequence(struct svcc_ctx *ctx, const char *table, unsigned flags,
		    char **args, int n, bool verbose)
{
	struct svcc_runtime *rt = NULL;
	int ret = 1;

	if (svcc_runtime_new(ctx, table, flags, &rt))
		return 1;
	for (int i = 0; i < n; i += 2) {
		struct svcc_ruleset *rs;
		int r;

		if (i && system(args[i - 1]) != 0) {
			fprintf(stderr, "sequence: '%s' failed\n", args[i - 1]);
			goto out;
		}
		if (!(rs = load(ctx, args[i], table)))
			goto out;
		r = svcc_runtime_apply(rt, rs);
		svcc_ruleset_free(rs);
		if (r) {
			ret = 3;
			goto out;
		}
		if (verbose)
			print_stats(rt);
	}
	ret = 0;
out:
	svcc_runtime_free(rt);
	return ret;
}

int main(int argc, char **argv)
{
	const char *table = NULL;
	unsigned flags = 0;
	struct svcc_ctx *ctx = svcc_ctx_new();
	struct svcc_runtime *rt = NULL;
	struct svcc_ruleset *a = NULL, *b = NULL;
	int i = 1, ret = 1;

	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--table") && i + 1 < argc)
			table = argv[++i];
		else if (!strcmp(argv[i], "--nft"))
			flags |= SVCC_RT_VIA_NFT;
		else
			goto usage;
	}
	if (i >= argc)
		goto usage;
	if (!strcmp(argv[i], "apply") && i + 1 < argc) {
		bool dry = false, verbose = false;

		for (int k = i + 2; k < argc; k++) {
			dry |= !strcmp(argv[k], "-n");
			verbose |= !strcmp(argv[k], "-v");
		}
		if (!(a = load(ctx, argv[i + 1], table)))
			goto out;
		if (svcc_runtime_new(ctx, table, flags, &rt))
			goto out;
		if (dry ? svcc_runtime_plan(rt, a, stdout) : svcc_runtime_apply(rt, a)) {
			ret = 3;
			goto out;
		}
		if (verbose)
			print_stats(rt);
		ret = 0;
	} else if (!strcmp(argv[i], "sequence") && i + 1 < argc) {
		int n = argc - i - 1;
		bool verbose = !strcmp(argv[argc - 1], "-v");

		n -= verbose;
		if (n % 2 == 0)
			goto usage;
		ret = sequence(ctx, table, flags, argv + i + 1, n, verbose);
	} else if (!strcmp(argv[i], "diff") && i + 2 < argc) {
		struct tx *tx;

		if (!(a = load(ctx, argv[i + 1], table)) || !(b = load(ctx, argv[i + 2], table)))
			goto out;
		if (!(tx = tx_diff(a->rs, b->rs)))
			goto out;
		ret = tx_render(tx, stdout) ? 1 : 0;
		tx_free(tx);
	} else if (!strcmp(argv[i], "delete")) {
		if (svcc_runtime_new(ctx, table, flags, &rt))
			goto out;
		ret = svcc_runtime_delete_table(rt) ? 3 : 0;
	} else if (!strcmp(argv[i], "mnl") && i + 1 < argc) {
		if (!(a = load(ctx, argv[i + 1], table)))
			goto out;
		if (i + 2 < argc && !(b = load(ctx, argv[i + 2], table)))
			goto out;
		ret = b ? dump_mnl(a->rs, b->rs) : dump_mnl(NULL, a->rs);
	} else if (!strcmp(argv[i], "inject") && i + 1 < argc) {
		if (!(a = load(ctx, argv[i + 1], table)))
			goto out;
		ret = inject(a->rs);
	} else {
		goto usage;
	}
out:
	svcc_diag_print(ctx, stderr);
	svcc_runtime_free(rt);
	svcc_ruleset_free(a);
	svcc_ruleset_free(b);
	svcc_ctx_free(ctx);
	return ret;
usage:
	fprintf(stderr, "usage: rt-driver [--table T] [--nft] apply FILE [-n] [-v] | diff OLD NEW | delete | "
		"mnl [OLD] FILE | inject FILE | sequence FILE [CMD FILE]... [-v]\n");
	svcc_ctx_free(ctx);
	return 2;
}
