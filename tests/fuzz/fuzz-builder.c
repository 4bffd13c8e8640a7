// SPDX-License-Identifier: MIT
/*
 * libFuzzer: the builder API driven by the input as a list of calls (add,
 * remove and fill services, cluster settings), each argument drawn from
 * the input: an index into a pool of good and bad values, or raw bytes.
 * Between calls, and at the end, svcc_compile.  Invariants: every call
 * returns 0 or -1; a compile fails exactly when it reported an error; a
 * compiled ruleset renders and diffs against the last one; the config is
 * written as text, or refused (EINVAL) for a name the language cannot say,
 * and the text compiles to the same bytes.
 */
#include <errno.h>
#include <stdio.h>

#include "svcc.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct in {
	const uint8_t *p;
	size_t n;
	char str[8][64];	/* raw strings from the input, live for one call */
	unsigned nstr;
};

static unsigned byte(struct in *in)
{
	if (!in->n)
		return 0;
	in->n--;
	return *in->p++;
}

static unsigned u16(struct in *in)
{
	return byte(in) | byte(in) << 8;
}

/* A string: mostly from a pool (so that calls can succeed), else raw bytes;
 * NULL only where a pool has it (a port's name may be NULL). */
static const char *pick(struct in *in, const char *const *pool, size_t npool)
{
	unsigned b = byte(in);

	if (b < 232)
		return pool[b % npool];
	{
		char *s = in->str[in->nstr++ % 8];
		size_t len = byte(in) % 63, i;

		for (i = 0; i < len && in->n; i++)
			s[i] = (char)byte(in);
		s[i] = '\0';
		return s;
	}
}

static const char *const names[] = {
	"default/web", "default/api", "kube-system/kube-dns", "web", "a", "ns/b-1.c_d",
	"default/web/x", "-bad", "x/", "/x", "Default/Web", "shop/cart",
};
static const char *const addrs[] = {
	"10.96.0.10", "10.96.0.11", "fd00:10:96::10", "10.244.1.5", "10.244.2.7",
	"fd00:10:244:1::5", "192.0.2.10", "0.0.0.0", "::", "127.0.0.1", "::1",
	"255.255.255.255", "224.0.0.5", "fe80::1", "169.254.3.4", "10.96.0.10/32",
	"10.244.1.5 ", "", "1.2.3", "::ffff:10.0.0.1", "10.244.3.9",
};
static const char *const cidrs[] = {
	"10.244.0.0/16", "fd00:10:244::/56", "10.96.0.0/12", "fd00:10:96::/112", "10.0.0.0/8",
	"0.0.0.0/0", "::/0", "10.244.0.0/33", "10.244.0.1/16", "10.244.0.0", "10.244.1.0/24",
	"192.168.0.0/16",
};
static const char *const pnames[] = { NULL, "http", "https", "dns", "metrics", "", "Bad Name", "a-" };

static void fill_ports(struct in *in, struct svcc_service *svc)
{
	struct svcc_port ports[8];
	size_t n = byte(in) % 9;
	static const enum svcc_proto protos[] = { SVCC_TCP, SVCC_UDP, SVCC_SCTP, 0, 1 };

	for (size_t i = 0; i < n; i++) {
		ports[i].name = pick(in, pnames, sizeof(pnames) / sizeof(*pnames));
		ports[i].port = (uint16_t)(byte(in) < 200 ? 80 + byte(in) % 8 : u16(in));
		ports[i].proto = protos[byte(in) % 5];
		ports[i].target_port = (uint16_t)(byte(in) < 128 ? 0 : u16(in));
	}
	int rc = svcc_service_set_ports(svc, n ? ports : NULL, n);

	FUZZ_ASSERT(rc == 0 || rc == -1);
}

static void fill_endpoints(struct in *in, struct svcc_service *svc)
{
	struct svcc_endpoint eps[16];
	size_t n = byte(in) % 17;

	for (size_t i = 0; i < n; i++) {
		eps[i].addr = pick(in, addrs, sizeof(addrs) / sizeof(*addrs));
		eps[i].flags = byte(in) % 8;	/* one unknown bit too */
		eps[i].weight = byte(in) < 192 ? 0 : u16(in) % 300;
	}
	int rc = svcc_service_set_endpoints(svc, n ? eps : NULL, n);

	FUZZ_ASSERT(rc == 0 || rc == -1);
}

/* Compile; on success render it, and diff it from the previous one. */
static void compile(struct svcc_config *cfg, struct svcc_ruleset **prev, FILE *null)
{
	struct svcc_ctx *ctx = svcc_ctx_new();
	struct svcc_ruleset *rs = NULL;

	FUZZ_ASSERT(ctx);
	if (svcc_compile(ctx, cfg, NULL, &rs) == 0) {
		FUZZ_ASSERT(rs && svcc_error_count(ctx) == 0);
		FUZZ_ASSERT(svcc_ruleset_write(rs, null) == 0);
		FUZZ_ASSERT(svcc_ruleset_diff(*prev, rs, null) == 0);
		svcc_ruleset_free(*prev);
		*prev = rs;
	} else {
		FUZZ_ASSERT(svcc_error_count(ctx) > 0);
	}
	svcc_diag_print(ctx, null);
	svcc_ctx_free(ctx);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct in in = { .p = data, .n = size };
	struct svcc_config *cfg = svcc_config_new();
	struct svcc_ruleset *prev = NULL;
	struct svcc_service *svc;
	FILE *null = fopen("/dev/null", "w");
	unsigned ncalls = 0;

	FUZZ_ASSERT(cfg && null);
	while (in.n && ncalls++ < 256) {
		const char *name;
		int rc = 0;

		switch (byte(&in) % 12) {
		case 0:
			rc = svcc_config_add_pod_cidr(cfg, pick(&in, cidrs, sizeof(cidrs) / sizeof(*cidrs)));
			break;
		case 1:
			rc = svcc_config_add_service_cidr(cfg, pick(&in, cidrs, sizeof(cidrs) / sizeof(*cidrs)));
			break;
		case 2:
			rc = svcc_config_add_node_ip(cfg, pick(&in, addrs, sizeof(addrs) / sizeof(*addrs)));
			break;
		case 3:
			rc = svcc_config_set_masquerade(cfg, byte(&in) % 8);
			break;
		case 4:
			rc = svcc_config_add_masquerade_from(cfg, pick(&in, cidrs, sizeof(cidrs) / sizeof(*cidrs)));
			break;
		case 5:
			rc = svcc_config_add_service(cfg, pick(&in, names, sizeof(names) / sizeof(*names)), &svc);
			break;
		case 6:
			rc = svcc_config_remove_service(cfg, pick(&in, names, sizeof(names) / sizeof(*names)));
			break;
		case 7: case 8: case 9:
			/* by name each time: a removed service's handle is gone */
			name = pick(&in, names, sizeof(names) / sizeof(*names));
			if (!(svc = svcc_config_find_service(cfg, name)))
				break;
			switch (byte(&in) % 4) {
			case 0:
				rc = svcc_service_set_vip(svc, pick(&in, addrs, sizeof(addrs) / sizeof(*addrs)));
				break;
			case 1:
				fill_ports(&in, svc);
				break;
			default:
				fill_endpoints(&in, svc);
				break;
			}
			break;
		case 10:
			compile(cfg, &prev, null);
			break;
		case 11:
			(void)svcc_config_service_count(cfg);
			break;
		}
		FUZZ_ASSERT(rc == 0 || rc == -1);
	}
	compile(cfg, &prev, null);
	fuzz_round_trip(cfg, 1);
	svcc_ruleset_free(prev);
	svcc_config_free(cfg);
	fclose(null);
	return 0;
}
