/* SPDX-License-Identifier: MIT */
/*
 * Semantic checks of a whole configuration, from text or from the builder.
 * Every problem is reported; lookups are hashed, so the pass is linear.
 */
#include <stdlib.h>
#include <string.h>

#include "model.h"

/* The identity of a service port in the cluster: vip . proto . port. */
struct vpp_key {
	uint8_t family, proto;
	uint16_t port;
	uint8_t addr[16];
};

struct checker {
	struct svcc_ctx *ctx;
	const struct svcc_config *cfg;
	struct htab vpps;		/* vpp_key -> service */
	struct vpp_key *keys;		/* storage for vpps' keys */
	size_t nkeys;
	bool nomem;
};

static void addr_text(const struct addr *a, char buf[64])
{
	if (addr_format(a, buf, 64))
		strcpy(buf, "?");
}

static void check_vip(struct checker *k, const struct svcc_service *svc)
{
	const struct svcc_config *cfg = k->cfg;
	char a[64];

	if (!svc->has_vip) {
		diag_error(k->ctx, svc->loc, "service '%s' has no vip", svc->name);
		return;
	}
	if (!cfg->nservice_cidrs)
		return;
	for (size_t i = 0; i < cfg->nservice_cidrs; i++)
		if (cidr_contains(&cfg->service_cidrs[i], &svc->vip))
			return;
	addr_text(&svc->vip, a);
	diag_error(k->ctx, svc->vip_loc, "vip %s of service '%s' is outside every service-cidr",
		   a, svc->name);
}

static void check_ports(struct checker *k, const struct svcc_service *svc)
{
	if (!svc->nports)
		diag_error(k->ctx, svc->loc, "service '%s' has no ports", svc->name);
	for (size_t i = 0; i < svc->nports; i++) {
		const struct port *p = &svc->ports[i];

		/* Services have a handful of ports: pairs are cheap. */
		for (size_t j = 0; j < i; j++) {
			const struct port *q = &svc->ports[j];

			if (p->port == q->port && p->proto == q->proto)
				diag_error(k->ctx, p->loc, "duplicate port %u/%s in service '%s'",
					   p->port, proto_name(p->proto), svc->name);
			else if (p->name && q->name && !strcmp(p->name, q->name))
				diag_error(k->ctx, p->loc, "duplicate port name '%s' in service '%s'",
					   p->name, svc->name);
		}
		if (!svc->has_vip)
			continue;
		struct vpp_key *key = &k->keys[k->nkeys];
		struct svcc_service *other;
		int err = 0;

		memset(key, 0, sizeof(*key));
		key->family = svc->vip.family;
		key->proto = p->proto;
		key->port = p->port;
		memcpy(key->addr, svc->vip.bytes, 16);
		other = htab_put(&k->vpps, key, sizeof(*key), (void *)svc, &err);
		if (err)
			k->nomem = true;
		else if (!other)
			k->nkeys++;
		else if (other != svc) {
			char a[64];

			addr_text(&svc->vip, a);
			diag_error(k->ctx, p->loc, "%s port %u/%s of service '%s' is taken by service '%s'",
				   a, p->port, proto_name(p->proto), svc->name, other->name);
		}
	}
}

static void check_endpoints(struct checker *k, const struct svcc_service *svc)
{
	struct htab seen = { 0 };
	char a[64];

	if (svc->neps > 65535)
		diag_error(k->ctx, svc->loc, "service '%s' has %zu endpoints; at most 65535",
			   svc->name, svc->neps);
	for (size_t i = 0; i < svc->neps; i++) {
		const struct endpoint *e = &svc->eps[i];
		int err = 0;

		if (svc->has_vip && e->addr.family != svc->vip.family) {
			addr_text(&e->addr, a);
			diag_error(k->ctx, e->loc, "endpoint %s is IPv%d but service '%s' has an IPv%d vip",
				   a, e->addr.family, svc->name, svc->vip.family);
		}
		if (htab_put(&seen, &e->addr, sizeof(e->addr), (void *)e, &err)) {
			addr_text(&e->addr, a);
			diag_error(k->ctx, e->loc, "duplicate endpoint %s in service '%s'", a, svc->name);
		}
		if (err)
			k->nomem = true;
	}
	htab_free(&seen);
}

int check_config(struct svcc_ctx *ctx, const struct svcc_config *cfg)
{
	struct checker k = { .ctx = ctx, .cfg = cfg };
	size_t errors = svcc_error_count(ctx), nports = 0;

	for (size_t i = 0; i < cfg->nservices; i++)
		nports += cfg->services[i]->nports;
	k.keys = malloc((nports ? nports : 1) * sizeof(*k.keys));
	if (!k.keys) {
		diag_error(ctx, LOC_NONE, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < cfg->nservices; i++) {
		const struct svcc_service *svc = cfg->services[i];

		check_vip(&k, svc);
		check_ports(&k, svc);
		check_endpoints(&k, svc);
	}
	if (k.nomem)
		diag_error(ctx, LOC_NONE, "out of memory");
	htab_free(&k.vpps);
	free(k.keys);
	return svcc_error_count(ctx) == errors ? 0 : -1;
}
