/* SPDX-License-Identifier: MIT */
/*
 * Semantic checks of a whole configuration, from text or from the builder.
 * Every problem is reported; lookups are hashed, so the pass is linear.
 */
#include <stdlib.h>
#include <string.h>

#include "model.h"

/* What the cluster dispatches on: address . proto . port, or proto . nodeport. */
struct key {
	uint8_t family, proto;
	uint16_t port;
	uint8_t addr[16];
};

struct checker {
	struct svcc_ctx *ctx;
	const struct svcc_config *cfg;
	struct htab taken;		/* key -> service */
	struct key *keys;		/* storage for taken's keys */
	size_t nkeys;
	bool nomem;
};

static void addr_text(const struct addr *a, char buf[64])
{
	if (addr_format(a, buf, 64))
		strcpy(buf, "?");
}

static bool has_any_vip(const struct svcc_service *svc)
{
	return svc->has_vip[FAM4] || svc->has_vip[FAM6];
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
	struct svcc_service *other;
	int err = 0;
	char a[64];

	memset(key, 0, sizeof(*key));
	key->proto = p->proto;
	key->port = nodeport ? p->nodeport : p->port;
	if (addr) {
		key->family = addr->family;
		memcpy(key->addr, addr->bytes, 16);
	}
	other = htab_put(&k->taken, key, sizeof(*key), (void *)svc, &err);
	if (err) {
		k->nomem = true;
	} else if (!other) {
		k->nkeys++;
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

static void check_endpoints(struct checker *k, const struct svcc_service *svc)
{
	struct htab seen = { 0 };
	char a[64];

	unsigned long keys[NFAMILIES] = { 0 };

	for (size_t i = 0; i < svc->neps; i++)
		keys[addr_fam(&svc->eps[i].addr)] += svc->eps[i].weight;
	/* each endpoint takes 'weight' keys of the service port's 65,536 */
	if (keys[FAM4] > 65536 || keys[FAM6] > 65536)
		diag_error(k->ctx, svc->loc, "service '%s' has too many endpoints: their weights "
			   "add up to %lu, at most 65536", svc->name,
			   keys[FAM4] > keys[FAM6] ? keys[FAM4] : keys[FAM6]);
	for (size_t i = 0; i < svc->neps; i++) {
		const struct endpoint *e = &svc->eps[i];
		int err = 0;

		if (has_any_vip(svc) && !svc->has_vip[addr_fam(&e->addr)]) {
			addr_text(&e->addr, a);
			diag_error(k->ctx, e->loc, "endpoint %s is IPv%d but service '%s' has no IPv%d vip",
				   a, e->addr.family, svc->name, e->addr.family);
		}
		if (htab_put(&seen, &e->addr, sizeof(e->addr), (void *)e, &err)) {
			addr_text(&e->addr, a);
			diag_error(k->ctx, e->loc, "duplicate endpoint %s in service '%s'", a, svc->name);
		}
		if (err)
			k->nomem = true;
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
	htab_free(&seen);
}

static void check_extras(struct checker *k, const struct svcc_service *svc)
{
	if (svc->nsource_ranges && !svc->nlb_ips)
		diag_warning(k->ctx, svc->source_ranges_loc, "source-ranges of service '%s' apply "
			     "to load-balancer addresses, and it has none", svc->name);
}

int check_config(struct svcc_ctx *ctx, const struct svcc_config *cfg)
{
	struct checker k = { .ctx = ctx, .cfg = cfg };
	size_t errors = svcc_error_count(ctx), nkeys = 0;

	for (size_t i = 0; i < cfg->nservices; i++) {
		const struct svcc_service *svc = cfg->services[i];

		nkeys += svc->nports * (NFAMILIES + 1 + svc->nexternal_ips + svc->nlb_ips);
	}
	k.keys = malloc((nkeys ? nkeys : 1) * sizeof(*k.keys));
	if (!k.keys) {
		diag_error(ctx, LOC_NONE, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < cfg->nservices; i++) {
		const struct svcc_service *svc = cfg->services[i];

		check_vips(&k, svc);
		check_ports(&k, svc);
		check_endpoints(&k, svc);
		check_extras(&k, svc);
	}
	if (k.nomem)
		diag_error(ctx, LOC_NONE, "out of memory");
	htab_free(&k.taken);
	free(k.keys);
	return svcc_error_count(ctx) == errors ? 0 : -1;
}
