// SPDX-License-Identifier: MIT
/*
 * ct-driver: drives runtime/conntrack.c for tests/kernel/conntrack.sh.
 *
 *   ct-driver stale OLD.svc|- NEW.svc|-   the stale UDP endpoints, one
 *                                        "stale ADDR PORT" line each ("-": no
 *                                        ruleset); also checks that a model
 *                                        read back from the kernel (no
 *                                        l4proto) gives the same answer
 *   ct-driver flush OLD.svc|- NEW.svc|-   the same lines, then deletes their
 *                                        conntrack entries in this netns and
 *                                        prints "deleted N"
 *   ct-driver list                       every UDP/TCP conntrack entry in
 *                                        this netns, one per line:
 *       PROTO ID DNAT SRC SPORT DST DPORT REPLY_SRC REPLY_SPORT
 *
 * Exit status: 0, 1 on error (message on stderr), 2 on usage errors.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libnetfilter_conntrack/libnetfilter_conntrack.h>

#include "conntrack.h"
#include "internal.h"

static struct svcc_ruleset *compile(struct svcc_ctx *ctx, const char *path)
{
	struct svcc_config *cfg = NULL;
	struct svcc_ruleset *rs = NULL;

	if (!strcmp(path, "-"))
		return NULL;
	if (svcc_parse_file(ctx, path, &cfg) || svcc_compile(ctx, cfg, NULL, &rs)) {
		svcc_diag_print(ctx, stderr);
		svcc_config_free(cfg);
		exit(1);
	}
	svcc_config_free(cfg);
	return rs;
}

static const char *ntop(int family, const void *a, char *buf)
{
	return inet_ntop(family, a, buf, INET6_ADDRSTRLEN) ? buf : "?";
}

static int stale(struct svcc_ruleset *old, struct svcc_ruleset *new_rs, struct ct_stale **out)
{
	struct ct_stale *s, *rb;
	int ret = 0;

	if (ct_stale_udp(old ? old->rs : NULL, new_rs ? new_rs->rs : NULL, &s)) {
		perror("ct-driver: ct_stale_udp");
		return -1;
	}
	for (size_t i = 0; i < s->n; i++) {
		char buf[INET6_ADDRSTRLEN];

		printf("stale %s %u\n", ntop(s->v[i].family, s->v[i].addr, buf),
		       ntohs(s->v[i].port));
	}
	/* what a runtime that read the table back holds: no l4proto */
	for (size_t i = 0; old && i < old->rs->nsets; i++)
		old->rs->sets[i].l4proto = 0;
	if (ct_stale_udp(old ? old->rs : NULL, new_rs ? new_rs->rs : NULL, &rb)) {
		perror("ct-driver: ct_stale_udp");
		ct_stale_free(s);
		return -1;
	}
	if (rb->n != s->n || (s->n && memcmp(rb->v, s->v, s->n * sizeof(s->v[0])))) {
		fprintf(stderr, "ct-driver: a read-back old ruleset gives %zu stale, "
			"the compiled one %zu\n", rb->n, s->n);
		ret = -1;
	}
	ct_stale_free(rb);
	if (ret)
		ct_stale_free(s);
	else
		*out = s;
	return ret;
}

static int list_cb(enum nf_conntrack_msg_type type, struct nf_conntrack *ct, void *data)
{
	uint8_t proto = nfct_get_attr_u8(ct, ATTR_ORIG_L4PROTO);
	int fam = nfct_get_attr_u8(ct, ATTR_ORIG_L3PROTO);
	char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN], c[INET6_ADDRSTRLEN];
	bool v6 = fam == AF_INET6;

	(void)type;
	(void)data;
	if (proto != IPPROTO_UDP && proto != IPPROTO_TCP)
		return NFCT_CB_CONTINUE;
	printf("%s %u %d %s %u %s %u %s %u\n", proto == IPPROTO_UDP ? "udp" : "tcp",
	       nfct_get_attr_u32(ct, ATTR_ID),
	       !!(nfct_get_attr_u32(ct, ATTR_STATUS) & IPS_DST_NAT),
	       ntop(fam, nfct_get_attr(ct, v6 ? ATTR_ORIG_IPV6_SRC : ATTR_ORIG_IPV4_SRC), a),
	       ntohs(nfct_get_attr_u16(ct, ATTR_ORIG_PORT_SRC)),
	       ntop(fam, nfct_get_attr(ct, v6 ? ATTR_ORIG_IPV6_DST : ATTR_ORIG_IPV4_DST), b),
	       ntohs(nfct_get_attr_u16(ct, ATTR_ORIG_PORT_DST)),
	       ntop(fam, nfct_get_attr(ct, v6 ? ATTR_REPL_IPV6_SRC : ATTR_REPL_IPV4_SRC), c),
	       ntohs(nfct_get_attr_u16(ct, ATTR_REPL_PORT_SRC)));
	return NFCT_CB_CONTINUE;
}

static int list(void)
{
	struct nfct_handle *h = nfct_open(CONNTRACK, 0);
	uint32_t family = AF_UNSPEC;
	int ret = 0;

	if (!h) {
		perror("ct-driver: nfct_open");
		return -1;
	}
	nfct_callback_register(h, NFCT_T_ALL, list_cb, NULL);
	if (nfct_query(h, NFCT_Q_DUMP, &family)) {
		perror("ct-driver: conntrack dump");
		ret = -1;
	}
	nfct_close(h);
	return ret;
}

int main(int argc, char **argv)
{
	struct svcc_ruleset *old, *new_rs;
	struct svcc_ctx *ctx;
	struct ct_stale *s = NULL;
	unsigned long n;
	int ret = 0;

	if (argc == 2 && !strcmp(argv[1], "list"))
		return list() ? 1 : 0;
	if (argc != 4 || (strcmp(argv[1], "stale") && strcmp(argv[1], "flush"))) {
		fprintf(stderr, "usage: ct-driver stale|flush OLD.svc|- NEW.svc|-\n"
				"       ct-driver list\n");
		return 2;
	}
	if (!(ctx = svcc_ctx_new()))
		return 1;
	old = compile(ctx, argv[2]);
	new_rs = compile(ctx, argv[3]);
	if (stale(old, new_rs, &s))
		ret = 1;
	else if (!strcmp(argv[1], "flush")) {
		if (ct_flush_stale(s, &n)) {
			fprintf(stderr, "ct-driver: conntrack cleanup: %s (%lu deleted)\n",
				strerror(errno), n);
			ret = 1;
		} else {
			printf("deleted %lu\n", n);
		}
	}
	ct_stale_free(s);
	svcc_ruleset_free(old);
	svcc_ruleset_free(new_rs);
	svcc_ctx_free(ctx);
	return ret;
}
