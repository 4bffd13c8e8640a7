/* SPDX-License-Identifier: MIT */
/*
 * Stale UDP conntrack cleanup.  A UDP "connection" lives as long as its
 * client keeps sending, and its DNAT was decided by its first packet: a
 * client that sends from a fixed port (a DNS resolver) keeps going to an
 * endpoint after the endpoint left every service.  After a ruleset change,
 * delete the conntrack entries that still DNAT to a UDP endpoint that no
 * endpoint map holds any more, as kube-proxy does.
 *
 *	struct ct_stale *s;
 *	unsigned long n;
 *
 *	if (!ct_stale_udp(old, new_rs, &s)) {
 *		ct_flush_stale(s, &n);
 *		ct_stale_free(s);
 *	}
 */
#ifndef SVCC_CONNTRACK_H
#define SVCC_CONNTRACK_H

#include <stddef.h>
#include <stdint.h>

#include "ruleset.h"

/* One UDP endpoint: address and target port, as the endpoint maps hold them. */
struct ct_target {
	uint8_t addr[16];	/* network order; IPv4 in the first 4 bytes, rest 0 */
	uint16_t port;		/* network order */
	uint8_t family;		/* AF_INET or AF_INET6 */
};

struct ct_stale {
	struct ct_target *v;	/* sorted, no repeats */
	size_t n;
};

/*
 * The UDP endpoints old DNATs to that new_rs does not: those in old's UDP
 * endpoint maps ("endpoints[6]-udp-N") and, for client-ip affinity, in its
 * per-endpoint "dnat ip to ADDR:PORT" rules, absent from all of new_rs's.
 * old NULL: no table before (nothing is stale); new_rs NULL: the table goes
 * away (everything is).  Rules are seen only in a compiled (or cloned)
 * ruleset: a model read back from the kernel yields its maps' endpoints
 * only.  Cost: linear in the maps and rules, plus a sort of the endpoints
 * whose elements or chains changed.  Returns 0 and a struct to free with
 * ct_stale_free() (n may be 0), or -1 with errno ENOMEM.
 */
int ct_stale_udp(const struct rs_ruleset *old, const struct rs_ruleset *new_rs,
		 struct ct_stale **out);

/*
 * In the current network namespace, delete the UDP conntrack entries that
 * were destination-NATed (IPS_DST_NAT) to one of s's endpoints, i.e. whose
 * reply tuple comes from it; nothing else.  One dump, then one delete per
 * match.  s NULL or empty: nothing to do, no netlink at all.  *deleted
 * (may be NULL) counts the entries deleted, also on error.  Returns 0, or
 * -1 with errno: the first error of the dump or of a delete (an entry that
 * vanished meanwhile is not one); EPROTONOSUPPORT / EOPNOTSUPP when the
 * kernel has no conntrack netlink (nf_conntrack_netlink), EPERM without
 * CAP_NET_ADMIN.
 */
int ct_flush_stale(const struct ct_stale *s, unsigned long *deleted);

void ct_stale_free(struct ct_stale *s);

struct nfct_handle;
struct nf_conntrack;

/*
 * Dump the current network namespace's destination-NATed conntrack entries
 * (of family AF_INET or AF_INET6; 0: both) to fn, which returns an
 * NFCT_CB_* value (NFCT_CB_STOLEN keeps the entry).  The kernel filters by
 * status where it can; fn sees IPS_DST_NAT entries only either way.  *hp:
 * the handle, left open for more queries (the caller closes it, also on
 * error, if not NULL).  Returns 0 or an errno value: EPROTONOSUPPORT /
 * EOPNOTSUPP without conntrack netlink, EPERM without CAP_NET_ADMIN.
 */
int ct_dump_dnat(struct nfct_handle **hp, uint8_t family,
		 int (*fn)(struct nf_conntrack *ct, void *arg), void *arg);

#endif
