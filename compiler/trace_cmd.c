/* SPDX-License-Identifier: MIT */
/* svcc trace's arguments. */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trace_cmd.h"

/* ADDR:PORT[/PROTO], IPv6 as [ADDR]:PORT[/PROTO]; the protocol tcp unless given. */
static int parse_to(const char *s, struct trace_args *a)
{
	const char *colon, *addr_end, *slash;
	char *end;
	unsigned long port;

	if (*s == '[') {
		addr_end = strchr(s, ']');
		if (!addr_end || addr_end[1] != ':')
			return -1;
		colon = addr_end + 1;
		s++;
	} else {
		colon = strrchr(s, ':');
		if (!colon)
			return -1;
		addr_end = colon;
	}
	if ((size_t)(addr_end - s) >= sizeof(a->daddr))
		return -1;
	memcpy(a->daddr, s, (size_t)(addr_end - s));
	a->daddr[addr_end - s] = 0;
	port = strtoul(colon + 1, &end, 10);
	if (end == colon + 1 || port == 0 || port > 65535)
		return -1;
	a->flow.dport = (uint16_t)port;
	a->flow.proto = SVCC_TCP;
	slash = end;
	if (!*slash)
		return 0;
	if (*slash != '/')
		return -1;
	if (!strcmp(slash + 1, "tcp"))
		a->flow.proto = SVCC_TCP;
	else if (!strcmp(slash + 1, "udp"))
		a->flow.proto = SVCC_UDP;
	else if (!strcmp(slash + 1, "sctp"))
		a->flow.proto = SVCC_SCTP;
	else
		return -1;
	return 0;
}

int trace_parse_args(int argc, char **argv, struct trace_args *a)
{
	static const struct option opts[] = {
		{ "from", required_argument, NULL, 'f' },
		{ "to", required_argument, NULL, 't' },
		{ "from-pod", no_argument, NULL, 'P' },
		{ "from-node", no_argument, NULL, 'N' },
		{ "from-outside", no_argument, NULL, 'O' },
		{ "iif", required_argument, NULL, 'i' },
		{ "node-addr", required_argument, NULL, 'a' },
		{ "json", no_argument, NULL, 'j' },
		{ 0 }
	};
	bool to = false;
	int c;

	memset(a, 0, sizeof(*a));
	a->flow.from = SVCC_FROM_GUESS;
	a->flow.node_addrs = a->node_addrs;
	optind = 0;	/* argv[0] is the command: getopt starts after it */
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			a->flow.saddr = optarg;
			break;
		case 't':
			if (parse_to(optarg, a)) {
				fprintf(stderr, "svcc: trace: --to takes ADDR:PORT[/tcp|udp|sctp] "
					"([ADDR]:PORT for IPv6), not '%s'\n", optarg);
				return -1;
			}
			to = true;
			break;
		case 'P':
			a->flow.from = SVCC_FROM_POD;
			break;
		case 'N':
			a->flow.from = SVCC_FROM_NODE;
			break;
		case 'O':
			a->flow.from = SVCC_FROM_OUTSIDE;
			break;
		case 'i':
			a->flow.iifname = optarg;
			break;
		case 'a':
			if (a->flow.n_node_addrs == TRACE_MAX_NODE_ADDRS) {
				fprintf(stderr, "svcc: trace: at most %d --node-addr\n",
					TRACE_MAX_NODE_ADDRS);
				return -1;
			}
			a->node_addrs[a->flow.n_node_addrs++] = optarg;
			break;
		case 'j':
			a->flags |= SVCC_TRACE_JSON;
			break;
		default:
			fprintf(stderr, "svcc: trace: unknown option or missing value: '%s'\n",
				argv[optind - 1]);
			return -1;
		}
	}
	if (optind != argc - 1 || !a->flow.saddr || !to) {
		fputs("svcc: trace needs FILE, --from SRC and --to ADDR:PORT[/PROTO]\n", stderr);
		return -1;
	}
	a->file = argv[optind];
	a->flow.daddr = a->daddr;
	return 0;
}
