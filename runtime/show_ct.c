// SPDX-License-Identifier: MIT
/*
 * The connections conntrack holds that a DNAT sent to an endpoint, for
 * svcc show (show.h): what the client addressed (the original destination)
 * and where it went (the reply's source), TCP established or not, and the
 * packets and bytes both ways when conntrack accounting is on.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <libnetfilter_conntrack/libnetfilter_conntrack.h>
#include <libnetfilter_conntrack/libnetfilter_conntrack_tcp.h>

#include "conntrack.h"
#include "show.h"
#include "util.h"

static bool take_addr(const struct nf_conntrack *ct, int v4, int v6, uint8_t family,
		      uint8_t out[16])
{
	const void *a = nfct_get_attr(ct, family == AF_INET ? v4 : v6);

	if (!a)
		return false;
	memset(out, 0, 16);
	memcpy(out, a, family == AF_INET ? 4 : 16);
	return true;
}

static uint64_t counter(const struct nf_conntrack *ct, int attr)
{
	return nfct_attr_is_set(ct, attr) ? nfct_get_attr_u64(ct, attr) : 0;
}

static int conn_cb(struct nf_conntrack *ct, void *data)
{
	struct show_conns *c = data;
	struct show_conn x = { 0 };

	if (c->err)
		return NFCT_CB_CONTINUE;
	x.family = nfct_get_attr_u8(ct, ATTR_ORIG_L3PROTO);
	x.proto = nfct_get_attr_u8(ct, ATTR_ORIG_L4PROTO);
	if ((x.family != AF_INET && x.family != AF_INET6) ||
	    !take_addr(ct, ATTR_ORIG_IPV4_DST, ATTR_ORIG_IPV6_DST, x.family, x.daddr) ||
	    !take_addr(ct, ATTR_REPL_IPV4_SRC, ATTR_REPL_IPV6_SRC, x.family, x.ep) ||
	    !nfct_attr_is_set(ct, ATTR_ORIG_PORT_DST) || !nfct_attr_is_set(ct, ATTR_REPL_PORT_SRC))
		return NFCT_CB_CONTINUE;
	x.dport = ntohs(nfct_get_attr_u16(ct, ATTR_ORIG_PORT_DST));
	x.ep_port = ntohs(nfct_get_attr_u16(ct, ATTR_REPL_PORT_SRC));
	/* as ipvsadm counts: active is an established TCP connection */
	x.active = x.proto == IPPROTO_TCP && nfct_attr_is_set(ct, ATTR_TCP_STATE) &&
		   nfct_get_attr_u8(ct, ATTR_TCP_STATE) == TCP_CONNTRACK_ESTABLISHED;
	x.packets = counter(ct, ATTR_ORIG_COUNTER_PACKETS) + counter(ct, ATTR_REPL_COUNTER_PACKETS);
	x.bytes = counter(ct, ATTR_ORIG_COUNTER_BYTES) + counter(ct, ATTR_REPL_COUNTER_BYTES);
	c->counted |= nfct_attr_is_set(ct, ATTR_ORIG_COUNTER_PACKETS);
	if (VEC_RESERVE(c->v, c->n, c->cap)) {
		c->err = ENOMEM;
		return NFCT_CB_CONTINUE;
	}
	c->v[c->n++] = x;
	return NFCT_CB_CONTINUE;
}

/* By what the client addressed: family, protocol, port, address. */
static int by_dest(const void *pa, const void *pb)
{
	const struct show_conn *a = pa, *b = pb;

	if (a->family != b->family)
		return a->family - b->family;
	if (a->proto != b->proto)
		return a->proto - b->proto;
	if (a->dport != b->dport)
		return a->dport - b->dport;
	return memcmp(a->daddr, b->daddr, 16);
}

int show_conns_read(struct show_conns *c)
{
	struct nfct_handle *h = NULL;
	int err;

	memset(c, 0, sizeof(*c));
	err = ct_dump_dnat(&h, 0, conn_cb, c);
	if (!err)
		err = c->err;
	if (h)
		nfct_close(h);
	if (err) {
		show_conns_free(c);
		errno = err;
		return -1;
	}
	if (c->n > 1)	/* qsort wants a base, even for none */
		qsort(c->v, c->n, sizeof(*c->v), by_dest);
	return 0;
}

void show_conns_free(struct show_conns *c)
{
	free(c->v);
	memset(c, 0, sizeof(*c));
}

/* The connections made to this destination (daddr NULL: any address). */
void show_conns_count(const struct show_conns *c, uint8_t family, uint8_t proto,
		      const uint8_t *daddr, uint16_t dport,
		      void (*fn)(const struct show_conn *, void *), void *arg)
{
	struct show_conn key = { .family = family, .proto = proto, .dport = dport };
	size_t lo = 0, hi = c->n;

	/* the first entry of (family, proto, dport): addresses sort after it */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (by_dest(&c->v[mid], &key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo; i < c->n; i++) {
		const struct show_conn *x = &c->v[i];

		if (x->family != family || x->proto != proto || x->dport != dport)
			break;
		if (!daddr || !memcmp(x->daddr, daddr, 16))
			fn(x, arg);
	}
}
