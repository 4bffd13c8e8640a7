/* SPDX-License-Identifier: MIT */
/*
 * agent-edit: one edit of a watched config, timed to the kernel's commit (bench/agent.sh).
 *
 *   agent-edit [--comm NAME] [--timeout-ms T] SRC DST
 *
 * Listens to this network namespace's nftables events, then rename(SRC, DST), and prints the
 * microseconds from the rename to the first new generation (NFT_MSG_NEWGEN: a transaction
 * committed) whose committing process is called NAME (default "svcc": the agent; another
 * program's commits are not counted), then those the rename() call itself took (the writer's
 * filesystem: ext4 flushes a file renamed over another, which can take milliseconds).  Exit 1
 * (and "timeout") when none comes within T ms (default 10000), 2 on a usage or system error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct want {
	const char *comm;
	int seen;
};

static int gen_attr(const struct nlattr *a, void *data)
{
	const char **name = data;

	if (mnl_attr_get_type(a) == NFTA_GEN_PROC_NAME && !mnl_attr_validate(a, MNL_TYPE_NUL_STRING))
		*name = mnl_attr_get_str(a);
	return MNL_CB_OK;
}

static int event(const struct nlmsghdr *nlh, void *data)
{
	struct want *w = data;
	const char *name = NULL;

	if (NFNL_SUBSYS_ID(nlh->nlmsg_type) != NFNL_SUBSYS_NFTABLES ||
	    NFNL_MSG_TYPE(nlh->nlmsg_type) != NFT_MSG_NEWGEN)
		return MNL_CB_OK;
	mnl_attr_parse(nlh, sizeof(struct nfgenmsg), gen_attr, &name);
	if (name && !strcmp(name, w->comm))
		w->seen = 1;
	return MNL_CB_OK;
}

int main(int argc, char **argv)
{
	struct want w = { .comm = "svcc" };
	char buf[MNL_SOCKET_BUFFER_SIZE * 4];
	double timeout = 10, t0, t1;
	struct mnl_socket *nl;
	int i = 1, grp = NFNLGRP_NFTABLES, rcvbuf = 8 << 20;

	for (; i + 1 < argc && argv[i][0] == '-'; i += 2) {
		if (!strcmp(argv[i], "--comm"))
			w.comm = argv[i + 1];
		else if (!strcmp(argv[i], "--timeout-ms"))
			timeout = atof(argv[i + 1]) / 1e3;
		else
			break;
	}
	if (argc - i != 2) {
		fputs("usage: agent-edit [--comm NAME] [--timeout-ms T] SRC DST\n", stderr);
		return 2;
	}
	nl = mnl_socket_open(NETLINK_NETFILTER);
	if (!nl || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0 ||
	    mnl_socket_setsockopt(nl, NETLINK_ADD_MEMBERSHIP, &grp, sizeof(grp)) < 0) {
		perror("agent-edit: netlink");
		return 2;
	}
	/* events come in bursts (one per object of a transaction): room for them */
	mnl_socket_setsockopt(nl, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf));
	t0 = now();
	if (rename(argv[i], argv[i + 1])) {
		fprintf(stderr, "agent-edit: rename %s %s: %s\n", argv[i], argv[i + 1], strerror(errno));
		return 2;
	}
	t1 = now();
	while (!w.seen) {
		struct pollfd p = { .fd = mnl_socket_get_fd(nl), .events = POLLIN };
		double left = t0 + timeout - now();
		ssize_t n;

		if (left <= 0 || poll(&p, 1, (int)(left * 1e3) + 1) == 0) {
			puts("timeout");
			return 1;
		}
		n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
		if (n < 0 && errno == ENOBUFS)
			continue;	/* some events lost: the commit's own comes last */
		if (n < 0) {
			perror("agent-edit: recv");
			return 2;
		}
		mnl_cb_run(buf, (size_t)n, 0, 0, event, &w);
	}
	printf("%.0f %.0f\n", (now() - t0) * 1e6, (t1 - t0) * 1e6);
	mnl_socket_close(nl);
	return 0;
}
