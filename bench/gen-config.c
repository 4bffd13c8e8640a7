/* SPDX-License-Identifier: MIT */
/*
 * gen-config: synthetic cluster configs for svcc's benchmark.
 *
 *   gen-config [--kube-proxy | --iptables | --features] [--table NAME] [--pods A,B,...] N E [SEED]
 *
 * Default: a .svc config of N services x E endpoints.  With --kube-proxy: nft text shaped like
 * kube-proxy's nftables proxier for the *same* N x E services (the baseline named in issues 2/3);
 * with --iptables: kube-proxy's iptables proxier's rules for them, as iptables-restore input (see
 * gen_iptables).  With --pods: every service's endpoints are taken from this list of addresses (E at
 * most its length; service i starts at address i mod the length), so that real pods can answer
 * (bench/datapath.sh):
 *
 *   nat-prerouting/nat-output -> services: ip daddr . meta l4proto . th dport vmap @service-ips
 *   service-ips element          -> goto service-HASH-ns/name/proto/port        (one chain per service port)
 *   service chain                -> numgen inc mod E vmap { 0 : goto endpoint-..., ... }  (anonymous vmap)
 *   endpoint chain               -> ip saddr EP jump mark-for-masquerade; dnat ip to EP:PORT
 *
 * It is emitted in kube-proxy's own transaction order (base chains and hooks first, then per service:
 * chains, rules, map elements).  Differences from kube-proxy, all cost-neutral for the kernel: an `inet`
 * table (so the rule text says `dnat ip to`, as svcc's does), `numgen inc` instead of `numgen random`, no
 * nodeport/firewall/affinity machinery (the services here use none of it).
 *
 * Services: names "namespace/app-role-i", vips a permutation of 10.96.0.0/12 (unique for N up to ~1M),
 * one TCP port each, every 5th service also a UDP port, endpoints in 10.244.0.0/16 (distinct within a
 * service; they wrap around across services after ~65k endpoints, like pods backing several services).
 * With --features (.svc only): every 10th service also a NodePort (from 30000, while the range lasts),
 * every 20th an external IP (198.18.0.0/15), every 50th client-ip affinity: the machinery svcc adds for
 * them (maps nodeports and no-endpoint-nodeports, ext- chains, affinity maps and per-endpoint chains).
 * The output depends only on N, E, SEED and --features.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VIP_SPACE (1u << 20)		/* 10.96.0.0/12 */
#define VIP_LOW	  16u			/* keep 10.96.0.0 - 10.96.0.15 free (10.96.0.1/.10 are "system") */
#define VIP_N	  (VIP_SPACE - 2 * VIP_LOW)
#define POD_HOSTS (256u * 254u)		/* 10.244.X.1-254 */

static const char *const namespaces[] = {
	"default", "kube-system", "monitoring", "payments", "checkout", "search", "auth", "billing",
	"ingress", "logging", "data", "ml-serving", "frontend", "backend", "cache", "messaging",
};
static const char *const apps[] = {
	"cart", "orders", "users", "catalog", "inventory", "shipping", "email", "ads", "reviews", "ratings",
	"gateway", "profile", "session", "recommend", "pricing", "tax", "fraud", "ledger", "notify", "media",
};
static const char *const roles[] = { "api", "web", "worker", "grpc", "db", "redis", "svc", "metrics" };

struct tport {
	const char *name;
	unsigned port, target;
};
static const struct tport tcp_ports[] = {
	{ "http", 80, 8080 }, { "https", 443, 8443 }, { "grpc", 9090, 9090 }, { "http", 8080, 8080 },
	{ "postgres", 5432, 5432 }, { "redis", 6379, 6379 }, { "metrics", 9100, 9100 }, { "web", 3000, 3000 },
};
static const struct tport udp_ports[] = {
	{ "dns", 53, 5353 }, { "statsd", 8125, 8125 }, { "syslog", 514, 5514 }, { "quic", 443, 8443 },
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

struct svc {
	char ns[32], name[64];
	uint32_t vip;
	const struct tport *tcp, *udp;	/* udp may be NULL */
	uint32_t ep0;			/* first endpoint index into the pod host space (or --pods) */
};

#define MAX_PODS 16
static const char *pods[MAX_PODS];	/* --pods: the only endpoint addresses */
static unsigned npods;

static uint64_t mix(uint64_t x)		/* splitmix64 finaliser: a cheap good hash */
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static uint64_t gcd(uint64_t a, uint64_t b)
{
	while (b) {
		uint64_t t = a % b;
		a = b;
		b = t;
	}
	return a;
}

static uint64_t seed, seed_arg, vip_a, vip_b;	/* vip(i) = LOW + (a*i + b) mod VIP_N, a coprime to VIP_N */

static void make_svc(struct svc *s, unsigned long i, unsigned e)
{
	uint64_t h = mix(seed ^ (i * 0x100000001b3ull));
	snprintf(s->ns, sizeof s->ns, "%s", namespaces[h % NELEM(namespaces)]);
	snprintf(s->name, sizeof s->name, "%s-%s-%lu", apps[(h >> 8) % NELEM(apps)],
		 roles[(h >> 16) % NELEM(roles)], i);
	s->vip = (10u << 24 | 96u << 16) + VIP_LOW + (uint32_t)((vip_a * i + vip_b) % VIP_N);
	s->tcp = &tcp_ports[(h >> 24) % NELEM(tcp_ports)];
	s->udp = i % 5 == 4 ? &udp_ports[(h >> 32) % NELEM(udp_ports)] : NULL;
	s->ep0 = npods ? (uint32_t)(i % npods) : (uint32_t)(((uint64_t)i * e) % POD_HOSTS);
}

/* The j-th endpoint of a service: 10.244.X.Y, Y in 1..254. */
static void ep_addr(char *buf, size_t n, const struct svc *s, unsigned j)
{
	uint32_t k = (s->ep0 + j) % POD_HOSTS;
	if (npods) {
		snprintf(buf, n, "%s", pods[(s->ep0 + j) % npods]);
		return;
	}
	snprintf(buf, n, "10.244.%u.%u", k / 254, k % 254 + 1);
}

static void ip4(char *buf, size_t n, uint32_t a)
{
	snprintf(buf, n, "%u.%u.%u.%u", a >> 24, a >> 16 & 255, a >> 8 & 255, a & 255);
}

#define NODEPORTS (32767u - 30000u + 1u)

/* --features: a NodePort, an external IP, client-ip affinity, for some services. */
static void gen_features(const struct svc *s, unsigned long i)
{
	if (i % 10 == 3 && i / 10 < NODEPORTS)
		printf("    nodeport %s %lu;\n", s->tcp->name, 30000 + i / 10);
	if (i % 20 == 7)
		printf("    external-ip 198.%lu.%lu.%lu;\n", 18 + (i / 20) / 65536 % 2,
		       (i / 20) / 256 % 256, (i / 20) % 256);
	if (i % 50 == 11)
		printf("    affinity client-ip;\n");
}

static void gen_svc(unsigned long n, unsigned e, int features)
{
	char vip[16], ep[16];
	struct svc s;

	printf("# generated by bench/gen-config: %lu services x %u endpoints, seed %llu\n", n, e,
	       (unsigned long long)seed_arg);
	printf("cluster {\n    pod-cidr 10.244.0.0/16;\n    service-cidr 10.96.0.0/12;\n"
	       "    node-ip 192.168.50.2;\n}\n");
	for (unsigned long i = 0; i < n; i++) {
		make_svc(&s, i, e);
		ip4(vip, sizeof vip, s.vip);
		printf("\nservice %s/%s {\n    vip %s;\n    port %s %u/tcp -> %u;\n", s.ns, s.name, vip,
		       s.tcp->name, s.tcp->port, s.tcp->target);
		if (s.udp)
			printf("    port %s-udp %u/udp -> %u;\n", s.udp->name, s.udp->port, s.udp->target);
		if (features)
			gen_features(&s, i);
		for (unsigned j = 0; j < e; j++) {
			ep_addr(ep, sizeof ep, &s, j);
			printf("    endpoint %s;\n", ep);
		}
		printf("}\n");
	}
}

/* kube-proxy names chains "service-HASH-ns/name/proto/port" with HASH = base32(sha256(...))[:8]. */
static void chain_hash(char out[9], const char *a, const char *b)
{
	static const char b32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
	uint64_t h = 0xcbf29ce484222325ull;
	for (const char *p = a; *p; p++)
		h = (h ^ (unsigned char)*p) * 0x100000001b3ull;
	for (const char *p = b; *p; p++)
		h = (h ^ (unsigned char)*p) * 0x100000001b3ull;
	h = mix(h);
	for (int i = 0; i < 8; i++, h >>= 5)
		out[i] = b32[h & 31];
	out[8] = 0;
}

static void kp_port(const char *t, const struct svc *s, const char *vip, const struct tport *p,
		    const char *proto, const char *pname, unsigned e)
{
	char sid[160], hash[9], ep[16], ehash[9], eid[32];

	snprintf(sid, sizeof sid, "%s/%s/%s/%s", s->ns, s->name, proto, pname);
	chain_hash(hash, sid, "");
	/* endpoint chains first: the service chain's vmap refers to them */
	for (unsigned j = 0; j < e; j++) {
		ep_addr(ep, sizeof ep, s, j);
		snprintf(eid, sizeof eid, "__%s/%u", ep, p->target);
		chain_hash(ehash, sid, eid);
		printf("add chain inet %s endpoint-%s-%s%s\n", t, ehash, sid, eid);
		printf("add rule inet %s endpoint-%s-%s%s ip saddr %s jump mark-for-masquerade\n", t, ehash,
		       sid, eid, ep);
		printf("add rule inet %s endpoint-%s-%s%s meta l4proto %s dnat ip to %s:%u\n", t, ehash, sid,
		       eid, proto, ep, p->target);
	}
	printf("add chain inet %s service-%s-%s\n", t, hash, sid);
	printf("add rule inet %s service-%s-%s ip daddr %s %s dport %u ip saddr != 10.244.0.0/16 "
	       "jump mark-for-masquerade\n", t, hash, sid, vip, proto, p->port);
	if (e == 0) {
		printf("add element inet %s no-endpoint-services { %s . %s . %u : goto reject-chain }\n", t,
		       vip, proto, p->port);
		return;
	}
	printf("add rule inet %s service-%s-%s numgen inc mod %u vmap {", t, hash, sid, e);
	for (unsigned j = 0; j < e; j++) {
		ep_addr(ep, sizeof ep, s, j);
		snprintf(eid, sizeof eid, "__%s/%u", ep, p->target);
		chain_hash(ehash, sid, eid);
		printf("%s %u : goto endpoint-%s-%s%s", j ? "," : "", j, ehash, sid, eid);
	}
	printf(" }\n");
	printf("add element inet %s service-ips { %s . %s . %u : goto service-%s-%s }\n", t, vip, proto,
	       p->port, hash, sid);
}

static void gen_kube_proxy(const char *t, unsigned long n, unsigned e)
{
	char vip[16], pname[32];
	struct svc s;

	printf("# generated by bench/gen-config --kube-proxy: %lu services x %u endpoints, seed %llu\n",
	       n, e, (unsigned long long)seed_arg);
	/* replace any earlier table atomically, like svcc's output does */
	printf("add table inet %s\ndelete table inet %s\n", t, t);
	printf("add table inet %s { comment \"rules for kube-proxy\" ; }\n", t);
	/* kube-proxy's setup: base chains (with hooks) first, then helpers, sets and maps */
	printf("add chain inet %s filter-prerouting { type filter hook prerouting priority -110 ; }\n", t);
	printf("add chain inet %s filter-forward { type filter hook forward priority -110 ; }\n", t);
	printf("add chain inet %s filter-output { type filter hook output priority -110 ; }\n", t);
	printf("add chain inet %s nat-output { type nat hook output priority -100 ; }\n", t);
	printf("add chain inet %s nat-postrouting { type nat hook postrouting priority 100 ; }\n", t);
	printf("add chain inet %s nat-prerouting { type nat hook prerouting priority -100 ; }\n", t);
	printf("add chain inet %s mark-for-masquerade\nadd chain inet %s masquerading\n", t, t);
	printf("add chain inet %s services\nadd chain inet %s endpoints-check\n", t, t);
	printf("add chain inet %s reject-chain { comment \"helper for @no-endpoint-services\" ; }\n", t);
	printf("add set inet %s cluster-ips { type ipv4_addr ; comment \"Active ClusterIPs\" ; }\n", t);
	printf("add map inet %s no-endpoint-services { type ipv4_addr . inet_proto . inet_service : verdict ; }\n", t);
	printf("add map inet %s service-ips { type ipv4_addr . inet_proto . inet_service : verdict ; "
	       "comment \"ClusterIP, ExternalIP and LoadBalancer IP traffic\" ; }\n", t);
	printf("add rule inet %s mark-for-masquerade mark set mark or 0x4000\n", t);
	printf("add rule inet %s masquerading mark and 0x4000 == 0 return\n", t);
	printf("add rule inet %s masquerading mark set mark xor 0x4000\n", t);
	printf("add rule inet %s masquerading masquerade fully-random\n", t);
	printf("add rule inet %s reject-chain reject\n", t);
	printf("add rule inet %s endpoints-check ip daddr . meta l4proto . th dport vmap @no-endpoint-services\n", t);
	printf("add rule inet %s filter-forward ct state new jump endpoints-check\n", t);
	printf("add rule inet %s filter-output ct state new jump endpoints-check\n", t);
	printf("add rule inet %s services ip daddr . meta l4proto . th dport vmap @service-ips\n", t);
	printf("add rule inet %s nat-prerouting jump services\n", t);
	printf("add rule inet %s nat-output jump services\n", t);
	printf("add rule inet %s nat-postrouting jump masquerading\n", t);
	for (unsigned long i = 0; i < n; i++) {
		make_svc(&s, i, e);
		ip4(vip, sizeof vip, s.vip);
		printf("# %s/%s\n", s.ns, s.name);
		printf("add element inet %s cluster-ips { %s }\n", t, vip);
		kp_port(t, &s, vip, s.tcp, "tcp", s.tcp->name, e);
		if (s.udp) {
			snprintf(pname, sizeof pname, "%s-udp", s.udp->name);
			kp_port(t, &s, vip, s.udp, "udp", pname, e);
		}
	}
}

/*
 * --iptables: the rules kube-proxy's iptables proxier writes for the same services (ClusterIP only, a
 * cluster CIDR set), as iptables-restore input: the nat table's KUBE-SERVICES holds one rule per
 * service port, matched in order for every new connection; each jumps to KUBE-SVC-HASH (masquerade
 * mark for sources outside the pods, then one rule per endpoint with `-m statistic --mode random
 * --probability 1/(E-j)`, the last without), each endpoint to KUBE-SEP-HASH (mark hairpin, DNAT).
 * Chain names as kube-proxy's: a 16-character base32 hash of the service port (and endpoint).
 */
static void ipt_hash(char out[17], const char *a, const char *b)
{
	chain_hash(out, a, b);
	chain_hash(out + 8, b, a);
}

/* ipt_port: the declarations (decl) or the rules of one service port */
static void ipt_port(int decl, const struct svc *s, const char *vip, const struct tport *p,
		     const char *proto, const char *pname, unsigned e)
{
	char spn[160], hash[17], ep[16], eid[32], ehash[17];

	snprintf(spn, sizeof spn, "%s/%s:%s", s->ns, s->name, pname);
	ipt_hash(hash, spn, proto);
	if (decl)
		printf(":KUBE-SVC-%s - [0:0]\n", hash);
	else {
		printf("-A KUBE-SERVICES -d %s/32 -p %s -m comment --comment \"%s cluster IP\" -m %s --dport %u "
		       "-j KUBE-SVC-%s\n", vip, proto, spn, proto, p->port, hash);
		printf("-A KUBE-SVC-%s ! -s 10.244.0.0/16 -d %s/32 -p %s -m comment --comment \"%s cluster IP\" "
		       "-m %s --dport %u -j KUBE-MARK-MASQ\n", hash, vip, proto, spn, proto, p->port);
	}
	for (unsigned j = 0; j < e; j++) {
		ep_addr(ep, sizeof ep, s, j);
		snprintf(eid, sizeof eid, "%s:%u", ep, p->target);
		ipt_hash(ehash, spn, eid);
		if (decl) {
			printf(":KUBE-SEP-%s - [0:0]\n", ehash);
			continue;
		}
		printf("-A KUBE-SVC-%s -m comment --comment \"%s -> %s\"", hash, spn, eid);
		if (j + 1 < e)
			printf(" -m statistic --mode random --probability %.11f", 1.0 / (e - j));
		printf(" -j KUBE-SEP-%s\n", ehash);
		printf("-A KUBE-SEP-%s -s %s/32 -m comment --comment %s -j KUBE-MARK-MASQ\n", ehash, ep, spn);
		printf("-A KUBE-SEP-%s -p %s -m comment --comment %s -m %s -j DNAT --to-destination %s\n", ehash,
		       proto, spn, proto, eid);
	}
}

static void ipt_services(int decl, unsigned long n, unsigned e)
{
	char vip[16], pname[32];
	struct svc s;

	for (unsigned long i = 0; i < n; i++) {
		make_svc(&s, i, e);
		ip4(vip, sizeof vip, s.vip);
		ipt_port(decl, &s, vip, s.tcp, "tcp", s.tcp->name, e);
		if (s.udp) {
			snprintf(pname, sizeof pname, "%s-udp", s.udp->name);
			ipt_port(decl, &s, vip, s.udp, "udp", pname, e);
		}
	}
}

static void gen_iptables(unsigned long n, unsigned e)
{
	printf("# generated by bench/gen-config --iptables: %lu services x %u endpoints, seed %llu\n", n, e,
	       (unsigned long long)seed_arg);
	/* filter: kube-proxy's forwarding rules and (empty here) firewall and no-endpoint chains */
	printf("*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n"
	       ":KUBE-EXTERNAL-SERVICES - [0:0]\n:KUBE-FORWARD - [0:0]\n:KUBE-NODEPORTS - [0:0]\n"
	       ":KUBE-PROXY-FIREWALL - [0:0]\n:KUBE-SERVICES - [0:0]\n");
	printf("-A INPUT -m conntrack --ctstate NEW -m comment --comment \"kubernetes load balancer firewall\" -j KUBE-PROXY-FIREWALL\n"
	       "-A INPUT -m comment --comment \"kubernetes health check service ports\" -j KUBE-NODEPORTS\n"
	       "-A INPUT -m conntrack --ctstate NEW -m comment --comment \"kubernetes externally-visible service portals\" -j KUBE-EXTERNAL-SERVICES\n"
	       "-A FORWARD -m conntrack --ctstate NEW -m comment --comment \"kubernetes load balancer firewall\" -j KUBE-PROXY-FIREWALL\n"
	       "-A FORWARD -m comment --comment \"kubernetes forwarding rules\" -j KUBE-FORWARD\n"
	       "-A FORWARD -m conntrack --ctstate NEW -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES\n"
	       "-A FORWARD -m conntrack --ctstate NEW -m comment --comment \"kubernetes externally-visible service portals\" -j KUBE-EXTERNAL-SERVICES\n"
	       "-A OUTPUT -m conntrack --ctstate NEW -m comment --comment \"kubernetes load balancer firewall\" -j KUBE-PROXY-FIREWALL\n"
	       "-A OUTPUT -m conntrack --ctstate NEW -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES\n"
	       "-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP\n"
	       "-A KUBE-FORWARD -m comment --comment \"kubernetes forwarding rules\" -m mark --mark 0x4000/0x4000 -j ACCEPT\n"
	       "-A KUBE-FORWARD -m comment --comment \"kubernetes forwarding conntrack rule\" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n"
	       "COMMIT\n");
	printf("*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n"
	       ":KUBE-MARK-MASQ - [0:0]\n:KUBE-NODEPORTS - [0:0]\n:KUBE-POSTROUTING - [0:0]\n:KUBE-SERVICES - [0:0]\n");
	ipt_services(1, n, e);	/* iptables-restore wants every chain declared before the rules */
	printf("-A PREROUTING -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES\n"
	       "-A OUTPUT -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES\n"
	       "-A POSTROUTING -m comment --comment \"kubernetes postrouting rules\" -j KUBE-POSTROUTING\n"
	       "-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000\n"
	       "-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN\n"
	       "-A KUBE-POSTROUTING -j MARK --set-xmark 0x4000/0x0\n"
	       "-A KUBE-POSTROUTING -m comment --comment \"kubernetes service traffic requiring SNAT\" -j MASQUERADE --random-fully\n");
	ipt_services(0, n, e);
	printf("-A KUBE-SERVICES -m comment --comment \"kubernetes service nodeports; NOTE: this must be the last "
	       "rule in this chain\" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS\nCOMMIT\n");
}

static int usage(void)
{
	fprintf(stderr, "usage: gen-config [--kube-proxy | --iptables | --features] [--table NAME] [--pods A,B,...] "
		"SERVICES ENDPOINTS [SEED]\n");
	return 2;
}

static int num(const char *s, unsigned long max, unsigned long *out)
{
	char *end;
	*out = strtoul(s, &end, 10);
	return *s && !*end && *out <= max;
}

/* --pods A,B,...: split in place into pods[]; each an IPv4 address (it goes into 16-byte buffers) */
static int split_pods(char *list)
{
	for (char *a = strtok(list, ","); a; a = strtok(NULL, ",")) {
		if (npods == MAX_PODS || strlen(a) > 15 || strspn(a, "0123456789.") != strlen(a))
			return 0;
		pods[npods++] = a;
	}
	return npods > 0;
}

int main(int argc, char **argv)
{
	int kube_proxy = 0, iptables = 0, features = 0;
	const char *table = "kube-proxy";
	unsigned long n, e, sd = 1;
	int i = 1;

	for (; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
		if (!strcmp(argv[i], "--kube-proxy"))
			kube_proxy = 1;
		else if (!strcmp(argv[i], "--iptables"))
			iptables = 1;
		else if (!strcmp(argv[i], "--features"))
			features = 1;
		else if (!strcmp(argv[i], "--pods") && i + 1 < argc) {
			if (!split_pods(argv[++i]))
				return usage();
		}
		else if (!strcmp(argv[i], "--table") && i + 1 < argc)
			table = argv[++i];
		else
			return usage();
	}
	if (argc - i < 2 || argc - i > 3 || kube_proxy + iptables + features > 1 || !num(argv[i], VIP_N, &n) || !num(argv[i + 1], 10000, &e) ||
	    (argc - i == 3 && !num(argv[i + 2], ~0ul, &sd)) || (npods && e > npods))
		return usage();

	seed_arg = sd;
	seed = mix(sd);
	vip_b = mix(seed + 1) % VIP_N;
	for (vip_a = mix(seed + 2) % VIP_N | 1; gcd(vip_a, VIP_N) != 1; vip_a += 2)
		;
	if (kube_proxy)
		gen_kube_proxy(table, n, (unsigned)e);
	else if (iptables)
		gen_iptables(n, (unsigned)e);
	else
		gen_svc(n, (unsigned)e, features);
	if (fflush(stdout) || ferror(stdout)) {
		perror("gen-config: write");
		return 1;
	}
	return 0;
}
