/* SPDX-License-Identifier: MIT */
/* The configuration model: addresses, prefixes, and the containers. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "model.h"
#include "util.h"

/*
 * The usual dotted quad, which is most of a big file's words: four numbers
 * 0-255 without leading zeros.  inet_pton takes exactly these the same way;
 * anything else is left to it.
 */
static bool dotted_quad(const char *s, struct addr *out)
{
	uint32_t v = 0;

	for (int i = 0; i < 4; i++) {
		const char *start;
		unsigned n = 0;

		if (i && *s++ != '.')
			return false;
		for (start = s; *s >= '0' && *s <= '9' && s - start < 3; s++)
			n = n * 10 + (unsigned)(*s - '0');
		if (s == start || n > 255 || (*start == '0' && s - start > 1))
			return false;
		v = v << 8 | n;
	}
	if (*s)
		return false;
	/* the four bytes in one store: *out is read whole soon after */
	*out = (struct addr){ .family = 4 };
	v = htonl(v);
	memcpy(out->bytes, &v, sizeof(v));
	return true;
}

int addr_parse(const char *text, struct addr *out)
{
	struct addr a = { 0 };

	if (dotted_quad(text, out))
		return 0;
	if (inet_pton(AF_INET, text, a.bytes) == 1)
		a.family = 4;
	else if (inet_pton(AF_INET6, text, a.bytes) == 1)
		a.family = 6;
	else
		return -1;
	*out = a;
	return 0;
}

int addr_cmp(const struct addr *a, const struct addr *b)
{
	if (a->family != b->family)
		return a->family - b->family;
	return memcmp(a->bytes, b->bytes, a->family == 4 ? 4 : 16);
}

int addr_format(const struct addr *a, char *buf, size_t len)
{
	return inet_ntop(a->family == 4 ? AF_INET : AF_INET6, a->bytes, buf, (socklen_t)len)
		? 0 : -1;
}

static int addr_bits(const struct addr *a)
{
	return a->family == 4 ? 32 : 128;
}

/* Do a and b agree on their first n bits? */
static bool same_prefix(const uint8_t *a, const uint8_t *b, int n)
{
	if (memcmp(a, b, n / 8))
		return false;
	if (n % 8) {
		uint8_t m = (uint8_t)(0xff << (8 - n % 8));

		return (a[n / 8] & m) == (b[n / 8] & m);
	}
	return true;
}

int cidr_parse(const char *text, struct cidr *out, bool *plen_bad, bool *host_bits)
{
	const char *slash = strchr(text, '/');
	char host[INET6_ADDRSTRLEN];
	struct cidr c = { 0 };
	char *end;
	long n;

	*plen_bad = *host_bits = false;
	if (!slash) {
		if (addr_parse(text, &c.addr))
			return -1;
		c.plen = (uint8_t)addr_bits(&c.addr);
		*out = c;
		return 0;
	}
	if ((size_t)(slash - text) >= sizeof(host))
		return -1;
	memcpy(host, text, slash - text);
	host[slash - text] = '\0';
	if (addr_parse(host, &c.addr))
		return -1;
	n = strtol(slash + 1, &end, 10);
	if (!slash[1] || *end || n < 0 || n > addr_bits(&c.addr)) {
		*plen_bad = true;
		return -1;
	}
	c.plen = (uint8_t)n;
	/* host bits: the address differs from itself masked to the prefix */
	for (int bit = c.plen; bit < addr_bits(&c.addr); bit++)
		if (c.addr.bytes[bit / 8] & (0x80 >> (bit % 8)))
			*host_bits = true;
	*out = c;
	return 0;
}

bool cidr_contains(const struct cidr *c, const struct addr *a)
{
	return c->addr.family == a->family && same_prefix(c->addr.bytes, a->bytes, c->plen);
}

/* ::ffff:a.b.c.d is a.b.c.d to the kernel's IPv4 and to Kubernetes (Go's To4) */
static const uint8_t v4_mapped[12] = { [10] = 0xff, [11] = 0xff };

enum addr_class addr_classify(int family, const uint8_t *b)
{
	static const uint8_t zero[16];

	if (family == 6 && !memcmp(b, v4_mapped, 12))
		return addr_classify(4, b + 12);
	if (family == 4) {
		if (!memcmp(b, zero, 4))
			return ADDR_UNSPECIFIED;
		if (b[0] == 127)
			return ADDR_LOOPBACK;
		if (b[0] == 169 && b[1] == 254)
			return ADDR_LINK_LOCAL;
		if (b[0] == 224 && b[1] == 0 && b[2] == 0)
			return ADDR_LL_MULTICAST;
		if ((b[0] & 0xf0) == 224)
			return ADDR_MULTICAST;
		if (b[0] == 255 && b[1] == 255 && b[2] == 255 && b[3] == 255)
			return ADDR_BROADCAST;
		return ADDR_UNICAST;
	}
	if (!memcmp(b, zero, 16))
		return ADDR_UNSPECIFIED;
	if (!memcmp(b, zero, 15) && b[15] == 1)
		return ADDR_LOOPBACK;
	if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80)
		return ADDR_LINK_LOCAL;
	if (b[0] == 0xff && b[1] == 0x02)
		return ADDR_LL_MULTICAST;
	if (b[0] == 0xff)
		return ADDR_MULTICAST;
	return ADDR_UNICAST;
}

enum addr_class addr_unusable(int family, const uint8_t *bytes, enum addr_use use)
{
	enum addr_class c = addr_classify(family, bytes);

	/* a vip or an external address on a link-local network is Kubernetes' business */
	if (use == USE_SERVICE && c == ADDR_LINK_LOCAL)
		return ADDR_UNICAST;
	return c;
}

const char *addr_class_name(enum addr_class c)
{
	switch (c) {
	case ADDR_UNICAST:	return "a unicast address";
	case ADDR_UNSPECIFIED:	return "an unspecified address";
	case ADDR_LOOPBACK:	return "a loopback address";
	case ADDR_LINK_LOCAL:	return "a link-local address";
	case ADDR_LL_MULTICAST:	return "a link-local multicast address";
	case ADDR_MULTICAST:	return "a multicast address";
	case ADDR_BROADCAST:	return "the broadcast address";
	}
	return "?";
}

/*
 * Within Kubernetes' limits, no chain named after a service can pass
 * nftables': "aff6-" NS "/" NAME "/sctp/65535/local/65535".
 */
_Static_assert(5 + K8S_LABEL_MAX + 1 + K8S_LABEL_MAX + 11 + 12 <= NFT_NAME_MAX,
	       "a Kubernetes service name makes a chain name nftables rejects");

const char *service_name_too_long(const char *name, size_t *len, size_t *max)
{
	const char *slash = strchr(name, '/');

	*max = K8S_LABEL_MAX;
	if (slash && (*len = (size_t)(slash - name)) > K8S_LABEL_MAX)
		return K8S_NAMESPACE_RULE;
	*len = strlen(slash ? slash + 1 : name);
	if (*len > K8S_LABEL_MAX)
		return K8S_SERVICE_NAME_RULE;
	return NULL;
}

/* What isalnum() takes in any locale, without a call for each character. */
static bool ascii_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool name_valid(const char *s, bool slash_ok)
{
	const char *slash = strchr(s, '/');

	if (slash && (!slash_ok || strchr(slash + 1, '/') || slash == s || !slash[1]))
		return false;
	if (!*s)
		return false;
	for (; *s; s++)
		if (!ascii_alnum(*s) && !isalnum((unsigned char)*s) && *s != '-' && *s != '_' &&
		    *s != '.' && *s != '/')
			return false;
	return true;
}

/* grammar/lexer.l's keywords but those the grammar's word takes (all, from, non-pod) */
static const char *const keywords[] = {
	"cluster", "masquerade", "service", "pod-cidr", "service-cidr", "node-ip", "vip", "port",
	"endpoint", "nodeport", "external-ip", "load-balancer", "source-ranges", "affinity",
	"traffic-policy", "health-check-nodeport", "traffic-distribution", "zone", "node-name",
	"node-pod-cidr", "pod-bridge", "pod-interface-prefix",
};

bool lang_word(const char *s, bool attr)
{
	size_t len = strlen(s);

	if (!len || s[0] == '-' || s[len - 1] == '-' ||
	    strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.:/-") != len)
		return false;
	for (size_t i = 0; i < sizeof(keywords) / sizeof(*keywords); i++)
		if (!strcmp(s, keywords[i]))
			return attr && (!strcmp(s, "port") || !strcmp(s, "zone"));
	return true;
}

bool topo_name_valid(const char *s, size_t max)
{
	size_t len = strlen(s);

	return len && len <= max &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") == len;
}

bool iface_name_valid(const char *s)
{
	size_t len = strlen(s);

	return len && len <= IFNAME_MAX && !strpbrk(s, "/ \t*\"");
}

const char *proto_name(uint8_t proto)
{
	switch (proto) {
	case IPPROTO_TCP:  return "tcp";
	case IPPROTO_UDP:  return "udp";
	case IPPROTO_SCTP: return "sctp";
	}
	return "?";
}

int cidr_list_add(struct cidr **v, size_t *n, size_t *cap, const struct cidr *c)
{
	if (VEC_RESERVE(*v, *n, *cap))
		return -1;
	(*v)[(*n)++] = *c;
	return 0;
}

struct svcc_service *config_new_service(struct svcc_config *cfg, const char *name, struct loc loc,
				       struct svcc_service **taken)
{
	struct svcc_service *svc;
	int err = 0;

	*taken = NULL;
	if (VEC_RESERVE(cfg->services, cfg->nservices, cfg->services_cap))
		return NULL;
	svc = calloc(1, sizeof(*svc));
	if (!svc || !(svc->name = strdup(name))) {
		free(svc);
		return NULL;
	}
	svc->loc = loc;
	*taken = htab_put(&cfg->by_name, svc->name, strlen(svc->name), svc, &err);
	if (*taken || err) {
		free(svc->name);
		free(svc);
		if (!err)
			errno = EEXIST;
		return NULL;
	}
	cfg->services[cfg->nservices++] = svc;
	return svc;
}

struct svcc_service *config_add_service(struct svcc_config *cfg, const char *name, struct loc loc)
{
	struct svcc_service *taken;

	return config_new_service(cfg, name, loc, &taken);
}

void port_free(struct port *p)
{
	free(p->name);
	free(p->target_name);
}

int service_add_port(struct svcc_service *svc, const struct port *p)
{
	struct port copy = *p;

	copy.name = p->name ? strdup(p->name) : NULL;
	copy.target_name = p->target_name ? strdup(p->target_name) : NULL;
	if ((p->name && !copy.name) || (p->target_name && !copy.target_name) ||
	    VEC_RESERVE(svc->ports, svc->nports, svc->ports_cap)) {
		port_free(&copy);
		return -1;
	}
	svc->ports[svc->nports++] = copy;
	return 0;
}

void ep_topo_free(struct ep_topo *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->nhint_zones; i++)
		free(t->hint_zones[i]);
	for (size_t i = 0; i < t->nhint_nodes; i++)
		free(t->hint_nodes[i]);
	free(t->hint_zones);
	free(t->hint_nodes);
	free(t->zone);
	free(t->node);
	free(t);
}

void endpoint_free(struct endpoint *e)
{
	for (size_t i = 0; i < e->nports; i++)
		free(e->ports[i].name);
	free(e->ports);
	ep_topo_free(e->topo);
}

static int reserve_exact(void **v, size_t *cap, size_t n, size_t size)
{
	void *p;

	if (n <= *cap)
		return 0;
	p = realloc(*v, n * size);
	if (!p)
		return -1;
	*v = p;
	*cap = n;
	return 0;
}

/* Room for exactly what a parsed service will hold: no growing, no slack. */
int service_reserve(struct svcc_service *svc, size_t nports, size_t neps)
{
	return reserve_exact((void **)&svc->ports, &svc->ports_cap, nports, sizeof(*svc->ports)) ||
	       reserve_exact((void **)&svc->eps, &svc->eps_cap, neps, sizeof(*svc->eps));
}

struct endpoint *service_endpoint_slot(struct svcc_service *svc)
{
	if (VEC_RESERVE(svc->eps, svc->neps, svc->eps_cap))
		return NULL;
	return &svc->eps[svc->neps];
}

int service_add_endpoint(struct svcc_service *svc, const struct endpoint *e)
{
	if (VEC_RESERVE(svc->eps, svc->neps, svc->eps_cap))
		return -1;
	svc->eps[svc->neps++] = *e;
	return 0;
}
