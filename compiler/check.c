/* SPDX-License-Identifier: MIT */
/*
 * Semantic checks of a whole configuration, from text or from the builder.
 * Every problem is reported; lookups are hashed, so the pass is linear.
 */
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"

/* What the cluster dispatches on: address . proto . port, or proto . nodeport. */
struct key {
	uint8_t family, proto;
	uint16_t port;
	uint8_t addr[16];
};

/*
 * An open-addressing set of indices (+ 1; 0 is free), sized once for all
 * it will hold: at most half full, no growing, no failing.
 */
struct index_set {
	uint32_t *v;
	size_t mask;
};

/*
 * One service's endpoints by address: indices, and the service's stamp;
 * a slot with another stamp is free, so nothing is cleared between services.
 */
struct ep_set {
	uint32_t *idx, *stamp;
	size_t mask;
	uint32_t now;
};

struct checker {
	struct svcc_ctx *ctx;
	const struct svcc_config *cfg;
	struct index_set taken;		/* into keys and owners */
	struct key *keys;
	const struct svcc_service **owners;	/* who claimed keys[i] */
	size_t nkeys;
	struct ep_set seen;
	struct index_set vips;		/* into vip_owners, by address */
	const struct svcc_service **vip_owners;
	const struct addr **vip_addrs;
	size_t nvips;
	bool nomem;
};

static int index_set_init(struct index_set *t, size_t n)
{
	size_t cap = 16;

	while (cap < 2 * n)
		cap *= 2;
	t->v = calloc(cap, sizeof(*t->v));
	t->mask = cap - 1;
	return t->v ? 0 : -1;
}

/* Mix 64 bits well enough for linear probing (a stable, seedless finaliser). */
static uint64_t mix64(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	return h;
}

/* The tables' hash: seen only here, so it need not be FNV. */
static uint64_t bytes_hash(const uint8_t *p, size_t n)
{
	uint64_t h = n, w;

	for (; n >= 8; p += 8, n -= 8) {
		memcpy(&w, p, 8);
		h = mix64(h ^ w) * 0x9e3779b97f4a7c15ull;
	}
	for (w = 0; n; n--)
		w = w << 8 | *p++;
	return mix64(h ^ w);
}

static uint32_t *key_slot(const struct checker *k, const struct key *key)
{
	const struct index_set *t = &k->taken;

	for (size_t i = bytes_hash((const uint8_t *)key, sizeof(*key)) & t->mask;;
	     i = (i + 1) & t->mask)
		if (!t->v[i] || !memcmp(&k->keys[t->v[i] - 1], key, sizeof(*key)))
			return &t->v[i];
}

/* The vip slot for a: free, or the one that has a. */
static uint32_t *vip_slot(const struct checker *k, const struct addr *a)
{
	const struct index_set *t = &k->vips;

	for (size_t i = bytes_hash((const uint8_t *)a, sizeof(*a)) & t->mask;;
	     i = (i + 1) & t->mask)
		if (!t->v[i] || !memcmp(k->vip_addrs[t->v[i] - 1], a, sizeof(*a)))
			return &t->v[i];
}

/* Every service's vips, for endpoints that are one; the first service keeps a vip. */
static void index_vips(struct checker *k)
{
	for (size_t i = 0; i < k->cfg->nservices; i++) {
		const struct svcc_service *svc = k->cfg->services[i];

		for (int fam = FAM4; fam < NFAMILIES; fam++) {
			uint32_t *slot;

			if (!svc->has_vip[fam])
				continue;
			slot = vip_slot(k, &svc->vip[fam]);
			if (*slot)
				continue;
			k->vip_owners[k->nvips] = svc;
			k->vip_addrs[k->nvips] = &svc->vip[fam];
			*slot = (uint32_t)++k->nvips;
		}
	}
}

static void addr_text(const struct addr *a, char buf[64])
{
	if (addr_format(a, buf, 64))
		strcpy(buf, "?");
}

static bool has_any_vip(const struct svcc_service *svc)
{
	return svc->has_vip[FAM4] || svc->has_vip[FAM6];
}

/*
 * Names nftables or Kubernetes would refuse.  nftables' limit first: the
 * kernel refuses the whole batch.  Within Kubernetes' it cannot be reached
 * (valid.h), but names from text or code need not be within those.
 */
static void check_name(struct checker *k, const struct svcc_service *svc)
{
	char kind[8], suffix[64], name[64];
	size_t len = lw_longest_chain(svc, NULL, NULL), max;
	const char *why;

	if (len <= NFT_NAME_MAX && !service_name_too_long(svc->name, &len, &max))
		return;
	/* the caret shows it whole: its start is enough to say which */
	snprintf(name, sizeof(name), strlen(svc->name) > 48 ? "%.40s..." : "%s", svc->name);
	if (len > NFT_NAME_MAX) {
		lw_longest_chain(svc, kind, suffix);
		diag_error(k->ctx, svc->loc, "service name '%s' is too long for nftables: chain "
			   "%s-NAME%s would be %zu bytes, and a name is at most %d (NFT_NAME_MAXLEN)",
			   name, kind, suffix, len, NFT_NAME_MAX);
		return;
	}
	why = service_name_too_long(svc->name, &len, &max);
	diag_error(k->ctx, svc->loc, "service name '%s' is too long: %s, at most %zu "
		   "characters, and this one has %zu", name, why, max, len);
}

static void check_vips(struct checker *k, const struct svcc_service *svc)
{
	const struct svcc_config *cfg = k->cfg;
	char a[64];

	if (!has_any_vip(svc)) {
		diag_error(k->ctx, svc->loc, "service '%s' has no vip", svc->name);
		return;
	}
	for (int fam = FAM4; fam < NFAMILIES && cfg->nservice_cidrs; fam++) {
		bool inside = false;

		if (!svc->has_vip[fam])
			continue;
		for (size_t i = 0; i < cfg->nservice_cidrs && !inside; i++)
			inside = cidr_contains(&cfg->service_cidrs[i], &svc->vip[fam]);
		if (inside)
			continue;
		addr_text(&svc->vip[fam], a);
		diag_error(k->ctx, svc->vip_loc[fam],
			   "vip %s of service '%s' is outside every service-cidr", a, svc->name);
	}
}

/* Claim a dispatch key for svc; report the service that has it already. */
static void claim(struct checker *k, const struct svcc_service *svc, const struct addr *addr,
		  const struct port *p, bool nodeport, struct loc loc)
{
	struct key *key = &k->keys[k->nkeys];
	const struct svcc_service *other;
	uint32_t *slot;
	char a[64];

	memset(key, 0, sizeof(*key));
	key->proto = p->proto;
	key->port = nodeport ? p->nodeport : p->port;
	if (addr) {
		key->family = addr->family;
		memcpy(key->addr, addr->bytes, 16);
	}
	slot = key_slot(k, key);
	other = *slot ? k->owners[*slot - 1] : NULL;
	if (!other) {
		k->owners[k->nkeys] = svc;
		*slot = (uint32_t)++k->nkeys;
	} else if (nodeport) {
		diag_error(k->ctx, loc, "nodeport %u/%s of service '%s' is taken by service '%s'",
			   p->nodeport, proto_name(p->proto), svc->name, other->name);
	} else if (other != svc) {
		addr_text(addr, a);
		diag_error(k->ctx, loc, "%s port %u/%s of service '%s' is taken by service '%s'",
			   a, p->port, proto_name(p->proto), svc->name, other->name);
	} else {
		addr_text(addr, a);
		diag_error(k->ctx, loc, "%s port %u/%s is given twice in service '%s'",
			   a, p->port, proto_name(p->proto), svc->name);
	}
}

/* Addresses outside the vips that the service answers on. */
static void claim_addrs(struct checker *k, const struct svcc_service *svc, const struct port *p,
			const struct cidr *v, size_t n, const char *what)
{
	for (size_t i = 0; i < n; i++) {
		char a[64];

		if (!svc->has_vip[addr_fam(&v[i].addr)]) {
			addr_text(&v[i].addr, a);
			diag_error(k->ctx, v[i].loc, "%s %s is IPv%d but service '%s' has no IPv%d vip",
				   what, a, v[i].addr.family, svc->name, v[i].addr.family);
			continue;
		}
		claim(k, svc, &v[i].addr, p, false, v[i].loc);
	}
}

static void check_ports(struct checker *k, const struct svcc_service *svc)
{
	if (!svc->nports)
		diag_error(k->ctx, svc->loc, "service '%s' has no ports", svc->name);
	for (size_t i = 0; i < svc->nports; i++) {
		const struct port *p = &svc->ports[i];

		bool dup = false;

		/* Services have a handful of ports: pairs are cheap. */
		for (size_t j = 0; j < i; j++) {
			const struct port *q = &svc->ports[j];

			if (p->port == q->port && p->proto == q->proto) {
				diag_error(k->ctx, p->loc, "duplicate port %u/%s in service '%s'",
					   p->port, proto_name(p->proto), svc->name);
				dup = true;
			} else if (p->name && q->name && !strcmp(p->name, q->name)) {
				diag_error(k->ctx, p->loc, "duplicate port name '%s' in service '%s'",
					   p->name, svc->name);
			}
		}
		if (dup)
			continue;
		for (int fam = FAM4; fam < NFAMILIES; fam++)
			if (svc->has_vip[fam])
				claim(k, svc, &svc->vip[fam], p, false, p->loc);
		claim_addrs(k, svc, p, svc->external_ips, svc->nexternal_ips, "external-ip");
		claim_addrs(k, svc, p, svc->lb_ips, svc->nlb_ips, "load-balancer");
		if (p->nodeport)
			claim(k, svc, NULL, p, true, p->nodeport_loc);
	}
	/* the health checks' port is a node port too (HTTP: TCP) */
	if (svc->hc_nodeport) {
		struct port hc = { .proto = IPPROTO_TCP, .nodeport = svc->hc_nodeport };

		claim(k, svc, NULL, &hc, true, svc->hc_nodeport_loc);
	}
}

static const struct port *port_named(const struct svcc_service *svc, const char *name)
{
	for (size_t i = 0; i < svc->nports; i++)
		if (svc->ports[i].name && !strcmp(svc->ports[i].name, name))
			return &svc->ports[i];
	return NULL;
}

static bool endpoint_has_port(const struct endpoint *e, const char *name)
{
	for (size_t i = 0; i < e->nports; i++)
		if (!strcmp(e->ports[i].name, name))
			return true;
	return false;
}

/* Has an earlier endpoint of svc the address of endpoint i?  Remembers i. */
static bool seen_before(struct ep_set *t, const struct svcc_service *svc, size_t i)
{
	const struct addr *a = &svc->eps[i].addr;

	for (size_t j = bytes_hash((const uint8_t *)a, sizeof(*a)) & t->mask;;
	     j = (j + 1) & t->mask) {
		if (t->stamp[j] != t->now) {
			t->stamp[j] = t->now;
			t->idx[j] = (uint32_t)i;
			return false;
		}
		if (!memcmp(&svc->eps[t->idx[j]].addr, a, sizeof(*a)))
			return true;
	}
}

/* A new, empty ep_set with room for n endpoints; -1 when out of memory. */
static int seen_reset(struct ep_set *t, size_t n)
{
	size_t cap = 16;

	/* a new stamp frees every slot; a stamp wrapped to 0 needs clean ones */
	if (t->idx && 2 * n <= t->mask + 1 && ++t->now)
		return 0;
	while (cap < 2 * n)
		cap *= 2;
	free(t->idx);
	free(t->stamp);
	t->idx = malloc(cap * sizeof(*t->idx));
	t->stamp = calloc(cap, sizeof(*t->stamp));
	if (!t->idx || !t->stamp) {
		free(t->idx);
		free(t->stamp);
		*t = (struct ep_set){ 0 };
		return -1;
	}
	t->mask = cap - 1;
	t->now = 1;
	return 0;
}

static void check_endpoints(struct checker *k, const struct svcc_service *svc)
{
	char a[64];

	unsigned long keys[NFAMILIES] = { 0 };

	for (size_t i = 0; i < svc->neps; i++)
		keys[addr_fam(&svc->eps[i].addr)] += svc->eps[i].weight;
	/* each endpoint takes 'weight' keys of the service port's 65,536 */
	if (keys[FAM4] > 65536 || keys[FAM6] > 65536)
		diag_error(k->ctx, svc->loc, "service '%s' has too many endpoints: their weights "
			   "add up to %lu, at most 65536", svc->name,
			   keys[FAM4] > keys[FAM6] ? keys[FAM4] : keys[FAM6]);
	if (seen_reset(&k->seen, svc->neps)) {
		k->nomem = true;
		return;
	}
	for (size_t i = 0; i < svc->neps; i++) {
		const struct endpoint *e = &svc->eps[i];

		if (has_any_vip(svc) && !svc->has_vip[addr_fam(&e->addr)]) {
			addr_text(&e->addr, a);
			diag_error(k->ctx, e->loc, "endpoint %s is IPv%d but service '%s' has no IPv%d vip",
				   a, e->addr.family, svc->name, e->addr.family);
		}
		if (k->nvips) {
			uint32_t *slot = vip_slot(k, &e->addr);

			if (*slot) {
				const struct svcc_service *owner = k->vip_owners[*slot - 1];

				addr_text(&e->addr, a);
				diag_error(k->ctx, e->loc, "endpoint %s of service '%s' is the vip of "
					   "service '%s'", a, svc->name, owner->name);
			}
		}
		if (seen_before(&k->seen, svc, i)) {
			addr_text(&e->addr, a);
			diag_error(k->ctx, e->loc, "duplicate endpoint %s in service '%s'", a, svc->name);
		}
		for (size_t j = 0; j < e->nports; j++)
			if (!port_named(svc, e->ports[j].name))
				diag_error(k->ctx, e->loc, "service '%s' has no port named '%s'",
					   svc->name, e->ports[j].name);
		for (size_t j = 0; j < svc->nports; j++) {
			const struct port *p = &svc->ports[j];

			if (p->target_name && (!p->name || !endpoint_has_port(e, p->name))) {
				addr_text(&e->addr, a);
				diag_error(k->ctx, e->loc, "endpoint %s needs 'port %s N': port %u/%s "
					   "of service '%s' targets the named port '%s'", a,
					   p->name ? p->name : "?", p->port, proto_name(p->proto),
					   svc->name, p->target_name);
			}
		}
	}
}

static void check_extras(struct checker *k, const struct svcc_service *svc)
{
	if (svc->hc_nodeport && !svc->external_local)
		diag_error(k->ctx, svc->hc_nodeport_loc, "health-check-nodeport of service '%s' "
			   "needs traffic-policy external local (only then do load balancers ask "
			   "nodes for local endpoints)", svc->name);
	if (svc->nsource_ranges && !svc->nlb_ips && !svc->nproxy_lb_ips)
		diag_warning(k->ctx, svc->source_ranges_loc, "source-ranges of service '%s' apply "
			     "to load-balancer addresses, and it has none", svc->name);
}

int check_config(struct svcc_ctx *ctx, const struct svcc_config *cfg)
{
	struct checker k = { .ctx = ctx, .cfg = cfg };
	size_t errors = svcc_error_count(ctx), nkeys = 0;

	for (size_t i = 0; i < cfg->nservices; i++) {
		const struct svcc_service *svc = cfg->services[i];

		nkeys += svc->nports * (NFAMILIES + 1 + svc->nexternal_ips + svc->nlb_ips) + 1;
	}
	k.keys = malloc((nkeys ? nkeys : 1) * sizeof(*k.keys));
	k.owners = malloc((nkeys ? nkeys : 1) * sizeof(*k.owners));
	k.vip_owners = malloc((2 * cfg->nservices + 1) * sizeof(*k.vip_owners));
	k.vip_addrs = malloc((2 * cfg->nservices + 1) * sizeof(*k.vip_addrs));
	if (!k.keys || !k.owners || !k.vip_owners || !k.vip_addrs ||
	    index_set_init(&k.taken, nkeys) || index_set_init(&k.vips, 2 * cfg->nservices)) {
		k.nomem = true;
		goto out;
	}
	index_vips(&k);
	for (size_t i = 0; i < cfg->nservices; i++) {
		const struct svcc_service *svc = cfg->services[i];

		check_name(&k, svc);
		check_vips(&k, svc);
		check_ports(&k, svc);
		check_endpoints(&k, svc);
		check_extras(&k, svc);
	}
out:
	if (k.nomem)
		diag_error(ctx, LOC_NONE, "out of memory");
	free(k.taken.v);
	free(k.vips.v);
	free(k.vip_owners);
	free(k.vip_addrs);
	free(k.seen.idx);
	free(k.seen.stamp);
	free(k.keys);
	free(k.owners);
	return svcc_error_count(ctx) == errors ? 0 : -1;
}
