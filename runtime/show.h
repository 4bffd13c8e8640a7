/* SPDX-License-Identifier: MIT */
/* svcc show: what the kernel's table does per service port (show.c), and the
 * connections conntrack holds for it (show_ct.c). */
#ifndef SVCC_SHOW_H
#define SVCC_SHOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One DNATed connection: what the client addressed, where it went. */
struct show_conn {
	uint8_t family;		/* AF_INET, AF_INET6 */
	uint8_t proto;
	uint16_t dport, ep_port;	/* host order */
	uint8_t daddr[16], ep[16];	/* IPv4 in the first 4 bytes, the rest 0 */
	bool active;		/* TCP established */
	uint64_t packets, bytes;	/* both ways; 0 without conntrack accounting */
};

struct show_conns {
	struct show_conn *v;	/* sorted by family, protocol, port, address */
	size_t n, cap;
	bool counted;		/* some entry had counters: accounting is on */
	int err;
};

int show_conns_read(struct show_conns *c);
void show_conns_free(struct show_conns *c);
void show_conns_count(const struct show_conns *c, uint8_t family, uint8_t proto,
		      const uint8_t *daddr, uint16_t dport,
		      void (*fn)(const struct show_conn *, void *), void *arg);

#endif
