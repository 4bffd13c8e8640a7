// SPDX-License-Identifier: MIT
/*
 * One transaction, one batch: BEGIN (with the generation id the diff was
 * computed against), every object message, END, sent with one sendmsg().
 * Messages ask for no ACK: the kernel answers only errors, each with the
 * sequence number of the message it rejects, which maps back to the
 * operation.  nfnetlink handles the batch inside sendmsg(), so a GETGEN sent
 * after it is answered after every error: that reply ends the reading, and
 * tells the generation the batch produced.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <libmnl/libmnl.h>
#include <libnftnl/batch.h>
#include <libnftnl/common.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netlink.h>

#include "nl.h"

#define BATCH_PAGE	(256 * 1024)

/* Which operation, and which of its elements, each message carries. */
struct msgref {
	size_t op;
	size_t first, n;
};

int nl_open(struct nl *nl)
{
	int one = 1;

	nl->sk = mnl_socket_open(NETLINK_NETFILTER);
	if (!nl->sk)
		return -1;
	if (mnl_socket_bind(nl->sk, 0, MNL_SOCKET_AUTOPID) < 0) {
		mnl_socket_close(nl->sk);
		nl->sk = NULL;
		return -1;
	}
	/* errors name the bad attribute, and do not echo whole messages */
	mnl_socket_setsockopt(nl->sk, NETLINK_EXT_ACK, &one, sizeof(one));
	mnl_socket_setsockopt(nl->sk, NETLINK_CAP_ACK, &one, sizeof(one));
	nl->portid = mnl_socket_get_portid(nl->sk);
	nl->seq = 0;
	return 0;
}

void nl_close(struct nl *nl)
{
	if (nl->sk)
		mnl_socket_close(nl->sk);
	nl->sk = NULL;
}

static void put_getgen(struct nl *nl, void *buf, uint32_t *seq)
{
	*seq = ++nl->seq;
	nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETGEN, AF_UNSPEC, 0, *seq);
}

static int parse_gen(const struct nlmsghdr *nlh, uint32_t *genid)
{
	struct nlattr *a;

	mnl_attr_for_each(a, nlh, sizeof(struct nfgenmsg))
		if (mnl_attr_get_type(a) == NFTA_GEN_ID && mnl_attr_get_payload_len(a) == 4) {
			*genid = ntohl(mnl_attr_get_u32(a));
			return 0;
		}
	errno = EPROTO;
	return -1;
}

int nl_getgen(struct nl *nl, uint32_t *genid)
{
	char buf[NL_BUF] = { 0 };	/* no stale bytes in padding */
	struct nlmsghdr *nlh = (struct nlmsghdr *)buf;
	uint32_t seq;
	ssize_t n;

	put_getgen(nl, buf, &seq);
	if (mnl_socket_sendto(nl->sk, buf, nlh->nlmsg_len) < 0)
		return -1;
	for (;;) {
		n = mnl_socket_recvfrom(nl->sk, buf, sizeof(buf));
		if (n < 0)
			return -1;
		for (nlh = (struct nlmsghdr *)buf; mnl_nlmsg_ok(nlh, (int)n);
		     nlh = mnl_nlmsg_next(nlh, (int *)&n)) {
			if (nlh->nlmsg_seq != seq)
				continue;
			if (nlh->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);

				errno = e->error ? -e->error : EPROTO;
				return -1;
			}
			return parse_gen(nlh, genid);
		}
	}
}

static void put_begin(void *buf, uint32_t seq, const uint32_t *genid)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct nfgenmsg *g;

	nlh->nlmsg_type = NFNL_MSG_BATCH_BEGIN;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	nlh->nlmsg_seq = seq;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->nfgen_family = AF_UNSPEC;
	g->version = NFNETLINK_V0;
	g->res_id = htons(NFNL_SUBSYS_NFTABLES);
	if (genid)
		mnl_attr_put_u32(nlh, NFNL_BATCH_GENID, htonl(*genid));
}

/* The extended ack: the kernel's message and the bad attribute's offset. */
static void parse_extack(const struct nlmsghdr *nlh, struct nl_result *res, uint32_t *off)
{
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
	const char *p = (const char *)(e + 1), *end = (const char *)nlh + nlh->nlmsg_len;
	const struct nlattr *a;

	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return;
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
		p += e->msg.nlmsg_len - sizeof(struct nlmsghdr);
	for (a = (const struct nlattr *)p; mnl_attr_ok(a, (int)(end - (const char *)a));
	     a = mnl_attr_next(a)) {
		if (mnl_attr_get_type(a) == NLMSGERR_ATTR_MSG)
			snprintf(res->kmsg, sizeof(res->kmsg), "%.*s",
				 (int)mnl_attr_get_payload_len(a), (const char *)mnl_attr_get_payload(a));
		else if (mnl_attr_get_type(a) == NLMSGERR_ATTR_OFFS && mnl_attr_get_payload_len(a) == 4)
			*off = mnl_attr_get_u32(a);
	}
}

/* Read errors until the GETGEN reply; keep the first failure by sequence. */
static int read_acks(struct nl *nl, uint32_t base, uint32_t gen_seq, struct nl_result *res,
		     uint32_t *bad_seq, uint32_t *bad_off)
{
	char buf[NL_BUF] = { 0 };	/* no stale bytes in padding */
	struct nlmsghdr *nlh;
	ssize_t n;

	bool draining = false;

	*bad_seq = 0;
	for (;;) {
		n = recv(mnl_socket_get_fd(nl->sk), buf, sizeof(buf), draining ? MSG_DONTWAIT : 0);
		if (n < 0 && errno == ENOBUFS && !res->lost) {
			/*
			 * Answers did not fit the receive buffer and were dropped,
			 * the GETGEN reply perhaps among them.  The batch was
			 * handled inside sendmsg, so all that came is queued: read
			 * it (the first errors, in order), then ask again.
			 */
			res->lost = draining = true;
			continue;
		}
		if (n < 0 && draining && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			draining = false;
			put_getgen(nl, buf, &gen_seq);
			if (mnl_socket_sendto(nl->sk, buf, ((struct nlmsghdr *)buf)->nlmsg_len) < 0)
				return -1;
			memset(buf, 0, sizeof(buf));
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		for (nlh = (struct nlmsghdr *)buf; mnl_nlmsg_ok(nlh, (int)n);
		     nlh = mnl_nlmsg_next(nlh, (int *)&n)) {
			if (nlh->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);

				if (!e->error)
					continue;
				if (nlh->nlmsg_seq == gen_seq)
					return res->err ? 0 : (errno = -e->error, -1);
				if (nlh->nlmsg_seq < base || nlh->nlmsg_seq > gen_seq)
					continue;	/* not ours: a stale answer */
				if (!res->err || nlh->nlmsg_seq < *bad_seq) {
					uint32_t off = 0;

					res->err = -e->error;
					*bad_seq = nlh->nlmsg_seq;
					res->kmsg[0] = 0;
					parse_extack(nlh, res, &off);
					*bad_off = off;
				}
			} else if (nlh->nlmsg_seq == gen_seq) {
				return parse_gen(nlh, &res->genid);
			}
		}
	}
}

/* Grow the socket's send buffer to the batch: the kernel takes it whole. */
static void fit_sndbuf(struct nl *nl, size_t len)
{
	int fd = mnl_socket_get_fd(nl->sk), cur = 0, want;
	socklen_t sl = sizeof(cur);

	if (len > (size_t)(1 << 30))
		return;
	want = (int)len + 65536;
	if (getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &cur, &sl) == 0 && cur >= want)
		return;
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &want, sizeof(want)))
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &want, sizeof(want));
}

static int send_batch(struct nl *nl, struct nftnl_batch *b)
{
	static const struct sockaddr_nl snl = { .nl_family = AF_NETLINK };
	int iovlen = nftnl_batch_iovec_len(b);
	struct iovec *iov = calloc((size_t)iovlen, sizeof(*iov));
	struct msghdr msg = { .msg_name = (void *)&snl, .msg_namelen = sizeof(snl) };
	size_t total = 0;
	ssize_t sent;

	if (!iov)
		return -1;
	nftnl_batch_iovec(b, iov, (uint32_t)iovlen);
	for (int i = 0; i < iovlen; i++)
		total += iov[i].iov_len;
	fit_sndbuf(nl, total);
	msg.msg_iov = iov;
	msg.msg_iovlen = (size_t)iovlen;
	sent = sendmsg(mnl_socket_get_fd(nl->sk), &msg, 0);
	free(iov);
	if (sent < 0)
		return -1;
	if ((size_t)sent != total) {
		errno = EMSGSIZE;
		return -1;
	}
	return 0;
}

static int push_ref(struct msgref **refs, size_t *n, size_t *cap, struct msgref r)
{
	if (*n == *cap) {
		size_t c = *cap ? 2 * *cap : 256;
		struct msgref *p = realloc(*refs, c * sizeof(*p));

		if (!p)
			return -1;
		*refs = p;
		*cap = c;
	}
	(*refs)[(*n)++] = r;
	return 0;
}

/* The failing element of a message, from the offset the kernel reported. */
static void locate_elem(const struct tx *tx, const struct msgref *ref, uint32_t seq,
			uint32_t off, struct nl_result *res)
{
	const struct tx_op *op = &tx->ops[ref->op];
	char *buf;
	size_t pos = ref->first, end;

	res->first = ref->first;
	res->n = ref->n;
	if (!off || (op->kind != TX_ADD_ELEMS && op->kind != TX_DEL_ELEMS))
		return;
	if (!(buf = malloc(NL_MSG_MAX)))
		return;
	/* the builders are deterministic: rebuild it one element at a time */
	for (end = ref->first; end < ref->first + ref->n; end++) {
		struct tx_op one = *op;
		size_t p = pos;
		size_t len;

		one.nelems = end + 1;
		len = nl_msg_op(buf, NL_MSG_MAX, tx, &one, &p, seq);
		if (len && off < len) {
			res->first = end;
			res->n = 1;
			break;
		}
	}
	free(buf);
}

int nl_send_tx(struct nl *nl, const struct tx *tx, const uint32_t *genid,
	       struct nl_result *res)
{
	struct nftnl_batch *b = nftnl_batch_alloc(BATCH_PAGE, NL_MSG_MAX);
	char *scratch = calloc(1, NL_MSG_MAX);
	struct msgref *refs = NULL;
	size_t nrefs = 0, cap = 0;
	uint32_t base, seq, gen_seq, bad_seq = 0, bad_off = 0;
	char gbuf[64] = { 0 };
	int ret = -1;

	memset(res, 0, sizeof(*res));
	if (!b || !scratch)
		goto out;
	base = seq = ++nl->seq;
	put_begin(nftnl_batch_buffer(b), seq, genid);
	if (nftnl_batch_update(b))
		goto out;
	for (size_t i = 0; i < tx->nops; i++) {
		const struct tx_op *op = &tx->ops[i];
		size_t pos = 0;

		do {
			size_t first = pos, len;

			/*
			 * Built in a zeroed scratch buffer: the builders leave
			 * attribute padding as they find it, and no stale heap
			 * byte should reach the kernel.
			 */
			len = nl_msg_op(scratch, NL_MSG_MAX, tx, op, &pos, ++seq);
			if (!len) {
				/* a rule kind not linearised (EOPNOTSUPP), out of memory, or a bad model */
				res->err = errno == EOPNOTSUPP || errno == ENOMEM ? errno : EINVAL;
				res->op = op;
				res->first = first;
				res->n = 1;
				res->unsent = true;
				errno = res->err;
				goto out;
			}
			memcpy(nftnl_batch_buffer(b), scratch, len);
			memset(scratch, 0, len);
			if (push_ref(&refs, &nrefs, &cap,
				     (struct msgref){ .op = i, .first = first, .n = pos - first }) ||
			    nftnl_batch_update(b))
				goto out;
		} while (pos < op->nelems);
	}
	nftnl_batch_end(nftnl_batch_buffer(b), ++seq);
	if (nftnl_batch_update(b))
		goto out;
	nl->seq = seq;
	res->messages = nrefs + 2;
	if (send_batch(nl, b))
		goto out;
	put_getgen(nl, gbuf, &gen_seq);
	if (mnl_socket_sendto(nl->sk, gbuf, ((struct nlmsghdr *)gbuf)->nlmsg_len) < 0 ||
	    read_acks(nl, base, gen_seq, res, &bad_seq, &bad_off))
		goto out;
	if (res->lost && !res->err) {
		/* no error came through, yet some answer was lost: say so, and let the caller read back */
		res->err = ENOBUFS;
		errno = ENOBUFS;
		goto out;
	}
	if (res->err) {
		if (bad_seq > base && bad_seq - base - 1 < nrefs) {
			const struct msgref *r = &refs[bad_seq - base - 1];

			res->op = &tx->ops[r->op];
			locate_elem(tx, r, bad_seq, bad_off, res);
		}
		errno = res->err;
		goto out;
	}
	ret = 0;
out:
	free(scratch);
	free(refs);
	if (b)
		nftnl_batch_free(b);
	return ret;
}
