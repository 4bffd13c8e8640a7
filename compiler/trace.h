/* SPDX-License-Identifier: MIT */
/*
 * trace_eval.c: the first packet of a new connection through a compiled
 * ruleset model, as the kernel would take it, in user space.  trace.c
 * wraps it in the public svcc_trace API.
 */
#ifndef SVCC_TRACE_H
#define SVCC_TRACE_H

#include <stdbool.h>
#include <stdint.h>

#include "svcc.h"
#include "ruleset.h"

/* The packet as the rules see it; addresses in network order (IPv4: 4 bytes). */
struct tr_pkt {
	enum rs_family fam;
	uint8_t saddr[16], daddr[16];
	uint8_t proto;
	uint16_t dport;		/* host order */
	uint32_t mark;
	bool dnat;		/* ct status dnat */
	bool masq;		/* masqueraded in postrouting */
	char iif[17];		/* iifname; "" for a packet the node sends */
};

/* What the kernel knows beyond the packet: the node's own addresses. */
struct tr_env {
	const struct rs_ruleset *rs;
	enum svcc_source from;
	const uint8_t (*local)[16];	/* addresses of the packet's family */
	size_t nlocal;
};

struct tr_outcome {
	enum svcc_trace_verdict verdict;
	double share;
	struct tr_pkt pkt;	/* as it leaves the last hook */
	bool local;		/* delivered to the node (the input hook) */
	char *path;		/* "prerouting: a > b; forward: c" (malloc'd) */
};

/* Is addr (of family fam) in the named set of rs (an interval set: by prefix)? */
bool tr_addr_in_set(const struct rs_ruleset *rs, const char *set, enum rs_family fam,
		    const uint8_t *addr);

/* Every way the packet can go, merged and sorted; 0, or -1 (ENOMEM). */
int tr_eval(const struct tr_env *env, const struct tr_pkt *pkt, struct tr_outcome **out,
	    size_t *n);
void tr_outcomes_free(struct tr_outcome *v, size_t n);

#endif
