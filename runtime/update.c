// SPDX-License-Identifier: MIT
/*
 * svcc_runtime_apply_config / svcc_runtime_update: apply a change to a few
 * named services at a cost that does not grow with the number of services.
 *
 * apply_config applies a config whole and keeps an index of it: who owns
 * each dispatch key (address . proto . port, proto . nodeport), what each
 * service adds to the per-family switches of the table's shape (a vip, a
 * nodeport, a firewall, affinity per protocol), and how many endpoint map
 * elements lead to each endpoint address (its hairpin element lives while
 * one does).  update compiles the named services alone (a "mini config":
 * the cluster settings and those services) into M, and diffs two small
 * rulesets over the model's set declarations:
 *
 *   OLD: the named services' chains in the model, their endpoint map and
 *        affinity-endpoints elements (the key ranges of their numgen rules),
 *        the elements of their dispatch keys, hairpin elements whose count
 *        drops to 0;
 *   NEW: M's service chains and those elements of M, hairpin elements
 *        whose count leaves 0.
 *
 * A hairpin shard (set hairpin-N, chain masq-hairpin-N, its element in
 * hairpin-shards) comes with its first pair, taken from M, and goes with
 * its last.
 *
 * tx_diff(OLD, NEW) orders the batch; on success the model is patched in
 * place.  What M cannot tell alone falls back to a whole apply: a change of
 * the cluster settings or of the table's shape (first or last vip of a
 * family, nodeport, firewall), a set M needs that the model lacks (other
 * than endpoint and affinity maps), and a slot the named services' groups
 * share or border with another service's (the whole compile resolves
 * those in name order).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "clone.h"
#include "lower.h"
#include "model.h"
#include "slots.h"
#include "state.h"
#include "update.h"

#define NONE ((size_t)-1)

/* A dispatch key, as check.c claims them; family 0: proto . nodeport. */
struct ukey {
	uint8_t family, proto;
	uint16_t port;
	uint8_t addr[16];
};

/* What a service adds to the switches of the table's shape. */
struct contrib {
	long vip[NFAMILIES], nodeport[NFAMILIES], firewall[NFAMILIES];
	long aff[NFAMILIES][NPROTO];
};

struct usvc {
	char *name;
	struct ukey *keys;
	size_t nkeys;
	struct contrib c;
	uint8_t vip[NFAMILIES][17];	/* family . address, as struct hp's keys */
};

/* Endpoint map elements (and affinity-endpoints elements) leading to an address. */
struct hp {
	uint8_t k[17];		/* family (FAM4/FAM6) . address */
	long n;
};

#define NLISTS 5	/* the cluster's address lists (cluster_lists) */

struct cluster {
	struct cidr *v[NLISTS];
	size_t n[NLISTS];
	unsigned masq;
	char *zone, *node_name;	/* topology: which endpoints every service takes */
	char *pod_bridge, *pod_iface_prefix;	/* how pods are told */
};

struct upd_index {
	struct htab by_name;	/* name -> usvc */
	struct htab keys;	/* ukey -> usvc */
	struct htab hairpin;	/* hp.k -> hp */
	struct htab vips;	/* hp.k -> hp: how many services have this vip */
	struct contrib total;
	struct cluster cl;
	/*
	 * The endpoint maps' counts (lw_shards) and elements, per family and
	 * protocol: the named services' compile uses the whole compile's
	 * counts, and a change that would make a whole compile choose others
	 * applies whole, so that an update's table is the whole compile's.
	 */
	uint16_t shards[NFAMILIES][NPROTO];
	size_t epkeys[NFAMILIES][NPROTO];
};

/* ---- the index --------------------------------------------------------- */

static void usvc_free(struct usvc *s)
{
	if (s) {
		free(s->name);
		free(s->keys);
		free(s);
	}
}

static void free_all(struct htab *t)
{
	for (size_t i = 0; i < t->cap; i++)
		if (t->slots[i].key)
			free(t->slots[i].value);
	htab_free(t);
}

void upd_index_free(struct upd_index *idx)
{
	if (!idx)
		return;
	htab_free(&idx->keys);
	for (size_t i = 0; i < idx->by_name.cap; i++)
		if (idx->by_name.slots[i].key)
			usvc_free(idx->by_name.slots[i].value);
	htab_free(&idx->by_name);
	free_all(&idx->hairpin);
	free_all(&idx->vips);
	for (int i = 0; i < NLISTS; i++)
		free(idx->cl.v[i]);
	free(idx->cl.zone);
	free(idx->cl.node_name);
	free(idx->cl.pod_bridge);
	free(idx->cl.pod_iface_prefix);
	free(idx);
}

static void cluster_lists(const struct svcc_config *cfg, const struct cidr **v, size_t *n)
{
	v[0] = cfg->pod_cidrs, n[0] = cfg->npod_cidrs;
	v[1] = cfg->service_cidrs, n[1] = cfg->nservice_cidrs;
	v[2] = cfg->node_ips, n[2] = cfg->nnode_ips;
	v[3] = cfg->masq_from, n[3] = cfg->nmasq_from;
	v[4] = cfg->node_pod_cidrs, n[4] = cfg->nnode_pod_cidrs;
}

static bool str_same(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

static bool cluster_same(const struct cluster *cl, const struct svcc_config *cfg)
{
	const struct cidr *v[NLISTS];
	size_t n[NLISTS];

	cluster_lists(cfg, v, n);
	if (cl->masq != cfg->masq || !str_same(cl->zone, cfg->zone) ||
	    !str_same(cl->node_name, cfg->node_name) || !str_same(cl->pod_bridge, cfg->pod_bridge) ||
	    !str_same(cl->pod_iface_prefix, cfg->pod_iface_prefix))
		return false;
	for (int i = 0; i < NLISTS; i++) {
		if (n[i] != cl->n[i])
			return false;
		for (size_t j = 0; j < n[i]; j++)
			if (v[i][j].plen != cl->v[i][j].plen ||
			    addr_cmp(&v[i][j].addr, &cl->v[i][j].addr))
				return false;
	}
	return true;
}

static int cluster_keep(struct cluster *cl, const struct svcc_config *cfg)
{
	const struct cidr *v[NLISTS];

	cluster_lists(cfg, v, cl->n);
	cl->masq = cfg->masq;
	if ((cfg->zone && !(cl->zone = strdup(cfg->zone))) ||
	    (cfg->node_name && !(cl->node_name = strdup(cfg->node_name))) ||
	    (cfg->pod_bridge && !(cl->pod_bridge = strdup(cfg->pod_bridge))) ||
	    (cfg->pod_iface_prefix && !(cl->pod_iface_prefix = strdup(cfg->pod_iface_prefix))))
		return -1;
	for (int i = 0; i < NLISTS; i++) {
		if (!(cl->v[i] = malloc((cl->n[i] ? cl->n[i] : 1) * sizeof(*v[i]))))
			return -1;
		if (cl->n[i])
			memcpy(cl->v[i], v[i], cl->n[i] * sizeof(*v[i]));
	}
	return 0;
}

/* An address as struct hp keys it: family (FAM4/FAM6) . address. */
static void addr_key(const struct addr *a, uint8_t key[17])
{
	key[0] = a->family == 6 ? FAM6 : FAM4;
	memcpy(key + 1, a->bytes, a->family == 6 ? 16 : 4);
	memset(key + 1 + (a->family == 6 ? 16 : 4), 0, a->family == 6 ? 0 : 12);
}

/* Add sign to the count of key in t (made at 0).  0, or -1 (ENOMEM). */
static int hp_add(struct htab *t, const uint8_t key[17], long sign)
{
	struct hp *h = htab_get(t, key, 17);
	int err = 0;

	if (!h) {
		if (!(h = calloc(1, sizeof(*h))))
			return -1;
		memcpy(h->k, key, 17);
		htab_put(t, h->k, 17, h, &err);
		if (err) {
			free(h);
			return -1;
		}
	}
	h->n += sign;
	return 0;
}

/* How many of t's count key has (0 if none). */
static long hp_get(const struct htab *t, const uint8_t key[17])
{
	const struct hp *h = htab_get(t, key, 17);

	return h ? h->n : 0;
}

static void put_key(struct usvc *s, const struct addr *a, const struct port *p, bool nodeport)
{
	struct ukey *k = &s->keys[s->nkeys++];

	memset(k, 0, sizeof(*k));
	k->proto = p->proto;
	k->port = nodeport ? p->nodeport : p->port;
	if (a) {
		k->family = a->family;
		memcpy(k->addr, a->bytes, 16);
	}
}

/* The keys a (checked) service claims and what it adds to the shape. */
static struct usvc *usvc_new(const struct svcc_service *svc)
{
	struct usvc *s = calloc(1, sizeof(*s));
	size_t n = svc->nports * (NFAMILIES + 1 + svc->nexternal_ips + svc->nlb_ips) + 1;

	if (!s || !(s->name = strdup(svc->name)) ||
	    !(s->keys = malloc((n ? n : 1) * sizeof(*s->keys)))) {
		usvc_free(s);
		return NULL;
	}
	for (size_t i = 0; i < svc->nports; i++) {
		const struct port *p = &svc->ports[i];

		for (int fam = FAM4; fam < NFAMILIES; fam++) {
			if (!svc->has_vip[fam])
				continue;
			put_key(s, &svc->vip[fam], p, false);
			s->c.nodeport[fam] += p->nodeport != 0;
			s->c.firewall[fam] += svc->nsource_ranges && svc->nlb_ips;
			s->c.aff[fam][proto_idx(p->proto)] += svc->affinity_timeout != 0;
		}
		for (size_t j = 0; j < svc->nexternal_ips; j++)
			put_key(s, &svc->external_ips[j].addr, p, false);
		for (size_t j = 0; j < svc->nlb_ips; j++)
			put_key(s, &svc->lb_ips[j].addr, p, false);
		if (p->nodeport)
			put_key(s, NULL, p, true);
	}
	if (svc->hc_nodeport) {	/* a node port no other service may take */
		struct port hc = { .proto = IPPROTO_TCP, .nodeport = svc->hc_nodeport };

		put_key(s, NULL, &hc, true);
	}
	for (int fam = FAM4; fam < NFAMILIES; fam++) {
		s->c.vip[fam] = svc->has_vip[fam];
		if (svc->has_vip[fam])
			addr_key(&svc->vip[fam], s->vip[fam]);
	}
	return s;
}

static void contrib_add(struct contrib *t, const struct contrib *c, long sign)
{
	for (int f = 0; f < NFAMILIES; f++) {
		t->vip[f] += sign * c->vip[f];
		t->nodeport[f] += sign * c->nodeport[f];
		t->firewall[f] += sign * c->firewall[f];
		for (int p = 0; p < NPROTO; p++)
			t->aff[f][p] += sign * c->aff[f][p];
	}
}

static void index_del(struct upd_index *idx, struct usvc *s)
{
	for (size_t i = 0; i < s->nkeys; i++)
		if (htab_get(&idx->keys, &s->keys[i], sizeof(s->keys[i])) == s)
			htab_del(&idx->keys, &s->keys[i], sizeof(s->keys[i]));
	htab_del(&idx->by_name, s->name, strlen(s->name));
	for (int fam = FAM4; fam < NFAMILIES; fam++)
		if (s->c.vip[fam])
			hp_add(&idx->vips, s->vip[fam], -1);	/* there: cannot fail */
	contrib_add(&idx->total, &s->c, -1);
	usvc_free(s);
}

/* 0; -1: out of memory, s is the index's; 1: out of memory, s is not */
static int index_put(struct upd_index *idx, struct usvc *s)
{
	int err = 0;

	htab_put(&idx->by_name, s->name, strlen(s->name), s, &err);
	if (err)
		return 1;
	for (size_t i = 0; i < s->nkeys && !err; i++)
		htab_put(&idx->keys, &s->keys[i], sizeof(s->keys[i]), s, &err);
	for (int fam = FAM4; fam < NFAMILIES && !err; fam++)
		if (s->c.vip[fam] && hp_add(&idx->vips, s->vip[fam], 1))
			err = ENOMEM;
	contrib_add(&idx->total, &s->c, 1);
	return err ? -1 : 0;
}

/* ---- endpoint addresses behind elements (hairpin counts) --------------- */

enum kind { K_FIXED, K_EPMAP, K_AFFEP, K_AFFMAP, K_DISPATCH, K_HAIRPIN };

static bool is(const char *name, const char *base)
{
	size_t n = strlen(base);

	return !strncmp(name, base, n) && (!name[n] || !strcmp(name + n, "6"));
}

static bool digits(const char **p)
{
	const char *s = *p;

	while (**p >= '0' && **p <= '9')
		(*p)++;
	return *p > s;
}

/* "hairpin-N" or "hairpin6-N": a hairpin shard */
static bool hairpin_shard(const char *name)
{
	const char *p = !strncmp(name, "hairpin-", 8) ? name + 8 :
			!strncmp(name, "hairpin6-", 9) ? name + 9 : NULL;

	return p && digits(&p) && !*p;
}

static enum kind set_kind(const struct rs_set *s)
{
	if (s->dynamic)
		return K_AFFMAP;
	if (!strncmp(s->name, "endpoints-", 10) || !strncmp(s->name, "endpoints6-", 11))
		return K_EPMAP;
	if (is(s->name, "affinity-endpoints"))
		return K_AFFEP;
	if (hairpin_shard(s->name))
		return K_HAIRPIN;
	if (is(s->name, "service-ips") || is(s->name, "no-endpoints") ||
	    is(s->name, "nodeports") || is(s->name, "no-endpoint-nodeports") ||
	    is(s->name, "firewall") || is(s->name, "firewall-allow") || is(s->name, "cluster-ips"))
		return K_DISPATCH;
	return K_FIXED;
}

/* The i-th of elements packed stride bytes apart (a set's copies, not a set). */
static struct rs_elem *elem_in(const void *v, size_t stride, size_t i)
{
	return (struct rs_elem *)((const char *)v + i * stride);
}

/* FAM4 or FAM6: the family of set s */
static int fam_of(const struct rs_set *s)
{
	return s->family == RS_IPV6 ? FAM6 : FAM4;
}

/* The hairpin key of an endpoint element: from its data, or its chain's dnat. */
static bool elem_target(const struct rs_ruleset *rs, const struct rs_set *s, enum kind k,
			const struct rs_elem *e, uint8_t out[17])
{
	size_t alen = s->family == RS_IPV6 ? 16 : 4;
	const uint8_t *a = rs_elem_data(s, e);

	if (k == K_AFFEP) {
		const struct rs_chain *c = e->chain ? rs_chain_find(rs, e->chain) : NULL;

		a = NULL;
		for (size_t i = 0; c && i < c->nrules; i++)
			if (c->rules[i].kind == RS_DNAT_TO)
				a = c->rules[i].addr;
		if (!a)
			return false;
	}
	memset(out, 0, 17);
	out[0] = (uint8_t)fam_of(s);
	memcpy(out + 1, a, alen);
	return true;
}

/* Count elems (n of set s of rs, packed as s's) into t by their address, sign each. */
static int hp_count(struct htab *t, const struct rs_ruleset *rs, const struct rs_set *s,
		    const void *elems, size_t n, long sign)
{
	enum kind k = set_kind(s);

	if (k != K_EPMAP && k != K_AFFEP)
		return 0;
	for (size_t i = 0; i < n; i++) {
		uint8_t key[17];

		if (elem_target(rs, s, k, elem_in(elems, s->stride, i), key) &&
		    hp_add(t, key, sign))
			return -1;
	}
	return 0;
}

/* The endpoint maps' counts and elements of a whole compile. */
static void index_keys(struct upd_index *idx, const struct rs_ruleset *rs)
{
	memcpy(idx->shards, rs->ep_shards, sizeof(idx->shards));
	memset(idx->epkeys, 0, sizeof(idx->epkeys));
	for (size_t i = 0; i < rs->nsets; i++)
		if (set_kind(&rs->sets[i]) == K_EPMAP)
			idx->epkeys[fam_of(&rs->sets[i])][proto_idx(rs->sets[i].l4proto)] +=
				rs->sets[i].nelems;
}

static int index_new(const struct svcc_config *cfg, const struct rs_ruleset *model,
		     struct upd_index **out)
{
	struct upd_index *idx = calloc(1, sizeof(*idx));

	if (!idx || cluster_keep(&idx->cl, cfg))
		goto fail;
	for (size_t i = 0; i < cfg->nservices; i++) {
		struct usvc *s = usvc_new(cfg->services[i]);

		if (!s)
			goto fail;
		if (index_put(idx, s)) {
			if (!htab_get(&idx->by_name, s->name, strlen(s->name)))
				usvc_free(s);
			goto fail;
		}
	}
	for (size_t i = 0; i < model->nsets; i++) {
		const struct rs_set *s = &model->sets[i];

		if (hp_count(&idx->hairpin, model, s, s->elems, s->nelems, 1))
			goto fail;
	}
	*out = idx;
	return 0;
fail:
	upd_index_free(idx);
	return -1;
}

/* ---- whole applies ----------------------------------------------------- */

int svcc_runtime_apply_config(struct svcc_runtime *rt, const struct svcc_config *cfg)
{
	struct svcc_options opts = { .table = rt->table };
	struct svcc_ruleset *rs;
	double t0 = rt_now();
	int ret;

	upd_index_free(rt->idx);
	rt->idx = NULL;
	if (svcc_compile(rt->ctx, cfg, &opts, &rs)) {
		memset(&rt->stats, 0, sizeof(rt->stats));
		return -1;
	}
	ret = svcc_runtime_apply(rt, rs);
	if (!ret && rt->model && !rt->model_rules) {
		/*
		 * nothing sent, the model read back: it equals rs, take its
		 * rules, in the kernel's arrangement of the endpoint slots (the
		 * sets the read-back left unread are as rs has them)
		 */
		struct rs_ruleset *copy = NULL;
		struct aligned al;

		if (!slots_align(rt->model, rs->rs, &al)) {
			copy = rs_clone(al.rs);
			slots_aligned_free(&al);
		}
		if (copy) {
			rs_free(rt->model);
			rt->model = copy;
			rt->model_rules = true;
		}
	}
	/* without an index, the next update applies whole */
	if (!ret && rt->model && rt->model_rules && !rt->stale &&
	    index_new(cfg, rt->model, &rt->idx))
		rt->idx = NULL;
	if (rt->idx)
		index_keys(rt->idx, rs->rs);
	rt->stats.services_compiled = cfg->nservices;
	rt->stats.seconds = rt_now() - t0;
	svcc_ruleset_free(rs);
	return ret;
}

/* ---- the update -------------------------------------------------------- */

/* Elements of one set, packed as the set's. */
struct elems {
	void *v;
	size_t n, cap;
	size_t stride;		/* the set's */
};

/* A group's slot in an endpoint or affinity-endpoints map. */
struct slot {
	const char *set;
	uint32_t slot;
};

struct upd {
	struct svcc_runtime *rt;
	const struct svcc_config *cfg;
	struct upd_index *idx;
	struct rs_ruleset *model, *m;	/* the model, and M */
	const char **names;		/* named, no repeats */
	size_t nnames;
	struct svcc_config mini;
	struct usvc **recs;		/* the named services' new records, by name */
	struct rs_chain *ochains;	/* OLD's chains: copies of the model's */
	size_t nochains, ochains_cap;
	struct elems *olds, *news;	/* per model set (nmsets, before the patch) */
	size_t nmsets;
	struct elems *mnews;		/* per M set not in the model */
	bool *gone;			/* per model set: no longer needed */
	struct slot *oslots, *nslots;
	size_t noslots, nnslots, oslots_cap, nslots_cap;
	struct htab hp;			/* hairpin count deltas */
	size_t epkeys[NFAMILIES][NPROTO];	/* the index's endpoint map elements, after */
	struct rs_ruleset old, new_rs;	/* OLD and NEW */
	void **grave;			/* what the model let go, freed at the end */
	size_t ngrave, grave_cap;
	/* made before the send, for the patch after it */
	struct rs_chain *nc;		/* NEW's chains, the model's to be */
	struct rs_chain *chains_v;	/* the model's chain list, when it changes */
	struct rs_set *sets_v;		/* its set list (name NULL: the model's set) */
};

static int push_elem(struct elems *es, const struct rs_elem *e)
{
	if (es->n == es->cap) {
		size_t cap = es->cap ? 2 * es->cap : 8;
		void *v = realloc(es->v, cap * es->stride);

		if (!v)
			return -1;
		es->v = v;
		es->cap = cap;
	}
	memcpy(elem_in(es->v, es->stride, es->n++), e, es->stride);
	return 0;
}

/* First element of s not less than e (rs_elem_cmp order). */
static size_t lower_bound(const struct rs_set *s, const struct rs_elem *e)
{
	size_t lo = 0, hi = s->nelems;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (rs_elem_cmp(s, rs_elem_at(s, mid), e) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static bool has_key_u32(const struct rs_set *s, uint32_t key)
{
	union rs_elem_buf e = { 0 };
	size_t i;

	memcpy(e.e.key, &key, 4);
	i = lower_bound(s, &e.e);
	return i < s->nelems && !rs_elem_cmp(s, rs_elem_at(s, i), &e.e);
}

static size_t set_idx(const struct rs_ruleset *rs, const char *name)
{
	const struct rs_set *s = rs_set_find(rs, name);

	return s ? (size_t)(s - rs->sets) : NONE;
}

static bool is_named(const struct upd *u, const char *name)
{
	for (size_t i = 0; i < u->nnames; i++)
		if (!strcmp(u->names[i], name))
			return true;
	return false;
}

/* The regular chains (sorted by name) end where the base chains start. */
static size_t nregular(const struct rs_ruleset *rs)
{
	size_t n = rs->nchains;

	while (n && rs->chains[n - 1].hook != RS_HOOK_NONE)
		n--;
	return n;
}

/* "DIGITS" (svc-, ext-) or "DIGITS[/local]/DIGITS" (aff-) */

static bool chain_rest_ok(const char *rest, bool aff)
{
	if (!digits(&rest))
		return false;
	if (!aff)
		return !*rest;
	if (!strncmp(rest, "/local", 6))
		rest += 6;
	return *rest++ == '/' && digits(&rest) && !*rest;
}

static int push_ochain(struct upd *u, const struct rs_chain *c)
{
	if (u->nochains == u->ochains_cap) {
		size_t cap = u->ochains_cap ? 2 * u->ochains_cap : 16;
		struct rs_chain *v = realloc(u->ochains, cap * sizeof(*v));

		if (!v)
			return -1;
		u->ochains = v;
		u->ochains_cap = cap;
	}
	u->ochains[u->nochains++] = *c;
	return 0;
}

static int chain_name_cmp(const void *a, const void *b)
{
	return strcmp(((const struct rs_chain *)a)->name, ((const struct rs_chain *)b)->name);
}

/* The named service's chains in the model: binary search of each prefix. */
static int old_chains(struct upd *u, const char *name)
{
	static const char *const kinds[] = { "svc", "svc6", "ext", "ext6", "aff", "aff6" };
	static const uint8_t protos[] = { IPPROTO_TCP, IPPROTO_UDP, IPPROTO_SCTP };
	const struct rs_ruleset *m = u->model;
	size_t nreg = nregular(m);

	for (size_t k = 0; k < 6; k++)
		for (size_t p = 0; p < 3; p++) {
			char *prefix;
			size_t lo = 0, hi = nreg, len;

			if (asprintf(&prefix, "%s-%s/%s/", kinds[k], name, proto_name(protos[p])) < 0)
				return -1;
			len = strlen(prefix);
			while (lo < hi) {
				size_t mid = lo + (hi - lo) / 2;

				if (strcmp(m->chains[mid].name, prefix) < 0)
					lo = mid + 1;
				else
					hi = mid;
			}
			for (; lo < nreg && !strncmp(m->chains[lo].name, prefix, len); lo++)
				if (chain_rest_ok(m->chains[lo].name + len, k >= 4) &&
				    push_ochain(u, &m->chains[lo])) {
					free(prefix);
					return -1;
				}
			free(prefix);
		}
	return 0;
}

static int push_slot(struct slot **v, size_t *n, size_t *cap, const char *set, uint32_t slot)
{
	for (size_t i = 0; i < *n; i++)
		if ((*v)[i].slot == slot && !strcmp((*v)[i].set, set))
			return 0;
	if (*n == *cap) {
		size_t c = *cap ? 2 * *cap : 8;
		struct slot *p = realloc(*v, c * sizeof(*p));

		if (!p)
			return -1;
		*v = p;
		*cap = c;
	}
	(*v)[(*n)++] = (struct slot){ set, slot };
	return 0;
}

static bool numgen_rule(const struct rs_rule *r)
{
	return r->kind == RS_DNAT_NUMGEN || r->kind == RS_NUMGEN_VMAP;
}

/* OLD's endpoint elements: the key range of each numgen rule of its chains. */
static int old_ranges(struct upd *u)
{
	for (size_t i = 0; i < u->nochains; i++) {
		const struct rs_chain *c = &u->ochains[i];

		for (size_t k = 0; k < c->nrules; k++) {
			const struct rs_rule *r = &c->rules[k];
			size_t si = numgen_rule(r) ? set_idx(u->model, r->set) : NONE;
			const struct rs_set *s;
			union rs_elem_buf e = { 0 };
			size_t j;

			if (si == NONE)
				continue;
			s = &u->model->sets[si];
			if (push_slot(&u->oslots, &u->noslots, &u->oslots_cap, s->name,
				      r->offset >> 16))
				return -1;
			memcpy(e.e.key, &r->offset, 4);
			for (j = lower_bound(s, &e.e); j < s->nelems; j++) {
				const struct rs_elem *x = rs_elem_at(s, j);
				uint32_t key;

				memcpy(&key, x->key, 4);
				if ((uint64_t)key >= (uint64_t)r->offset + r->mod)
					break;
				if (push_elem(&u->olds[si], x))
					return -1;
			}
		}
	}
	return 0;
}

/* OLD's dispatch elements: those of the keys the index holds for the service. */
static int old_dispatch(struct upd *u, const struct usvc *s)
{
	static const char *const by_addr[] = { "service-ips", "no-endpoints", "firewall",
					       "firewall-allow" };
	static const char *const by_port[] = { "nodeports", "no-endpoint-nodeports" };

	for (size_t i = 0; i < s->nkeys; i++) {
		const struct ukey *k = &s->keys[i];
		const char *const *sets = k->family ? by_addr : by_port;
		size_t nsets = k->family ? 4 : 2;

		for (size_t j = 0; j < nsets * 2; j++) {
			bool v6 = j % 2;
			char name[40];
			union rs_elem_buf e = { 0 };
			size_t si, off = 0, a;
			const struct rs_set *set;

			if (k->family && v6 != (k->family == 6))
				continue;
			snprintf(name, sizeof(name), "%s%s", sets[j / 2], v6 ? "6" : "");
			if ((si = set_idx(u->model, name)) == NONE)
				continue;
			set = &u->model->sets[si];
			if (k->family) {
				memcpy(e.e.key, k->addr, k->family == 6 ? 16 : 4);
				off = k->family == 6 ? 16 : 4;
			}
			off += put_proto(e.e.key + off, k->proto);
			off += put_port(e.e.key + off, k->port);
			/* firewall-allow: every source range of the key */
			for (a = lower_bound(set, &e.e); a < set->nelems; a++) {
				const struct rs_elem *x = rs_elem_at(set, a);

				if (memcmp(x->key, e.e.key, off))
					break;
				if (push_elem(&u->olds[si], x))
					return -1;
			}
		}
	}
	/* cluster-ips: its vips (no other service has them: shared_vip) */
	for (int fam = FAM4; fam < NFAMILIES; fam++) {
		union rs_elem_buf e = { 0 };
		size_t si, a;

		if (!s->c.vip[fam] ||
		    (si = set_idx(u->model, fam == FAM6 ? "cluster-ips6" : "cluster-ips")) == NONE)
			continue;
		memcpy(e.e.key, s->vip[fam] + 1, fam == FAM6 ? 16 : 4);
		a = lower_bound(&u->model->sets[si], &e.e);
		if (a < u->model->sets[si].nelems &&
		    !memcmp(rs_elem_at(&u->model->sets[si], a)->key, e.e.key, fam == FAM6 ? 16 : 4) &&
		    push_elem(&u->olds[si], rs_elem_at(&u->model->sets[si], a)))
			return -1;
	}
	return 0;
}

static int elem_sort_cmp(const void *a, const void *b, void *set)
{
	return rs_elem_cmp(set, a, b);
}

static void sort_unique(const struct rs_set *s, struct elems *es)
{
	size_t kept = 0;

	if (es->n < 2)
		return;
	qsort_r(es->v, es->n, es->stride, elem_sort_cmp, (void *)s);
	for (size_t i = 0; i < es->n; i++) {
		const struct rs_elem *e = elem_in(es->v, es->stride, i);

		if (kept && !rs_elem_cmp(s, elem_in(es->v, es->stride, kept - 1), e))
			continue;
		if (kept++ != i)
			memcpy(elem_in(es->v, es->stride, kept - 1), e, es->stride);
	}
	es->n = kept;
}

static bool svc_chain_name(const char *name)
{
	return !strncmp(name, "svc-", 4) || !strncmp(name, "svc6-", 5) ||
	       !strncmp(name, "ext-", 4) || !strncmp(name, "ext6-", 5) ||
	       !strncmp(name, "aff-", 4) || !strncmp(name, "aff6-", 5);
}

static bool same_type(const struct rs_set *a, const struct rs_set *b)
{
	return a->nkey == b->nkey && a->ndata == b->ndata && a->family == b->family &&
	       !memcmp(a->key, b->key, a->nkey * sizeof(a->key[0])) &&
	       !memcmp(a->data, b->data, a->ndata * sizeof(a->data[0])) &&
	       a->verdict == b->verdict && a->interval == b->interval &&
	       a->dynamic == b->dynamic && a->timeout == b->timeout && a->size == b->size;
}

/* Is the slot's first key in the model's set, for a group OLD does not hold? */
static bool taken(const struct upd *u, const struct rs_set *s, uint32_t slot)
{
	slot %= SLOTS_PER_SHARD;
	if (!has_key_u32(s, slot << 16))
		return false;
	for (size_t i = 0; i < u->noslots; i++)
		if (u->oslots[i].slot == slot && !strcmp(u->oslots[i].set, s->name))
			return false;
	return true;
}

static int slot_cmp(const void *a, const void *b)
{
	const struct slot *x = a, *y = b;
	int c = strcmp(x->set, y->set);

	return c ? c : (x->slot > y->slot) - (x->slot < y->slot);
}

/* Do the named services' groups keep their slots (an endpoint edit)? */
static bool same_slots(struct upd *u)
{
	if (u->noslots != u->nnslots)
		return false;
	if (!u->noslots)	/* and maybe NULL: no qsort */
		return true;
	qsort(u->oslots, u->noslots, sizeof(*u->oslots), slot_cmp);
	qsort(u->nslots, u->nnslots, sizeof(*u->nslots), slot_cmp);
	for (size_t i = 0; i < u->noslots; i++)
		if (slot_cmp(&u->oslots[i], &u->nslots[i]))
			return false;
	return true;
}

/*
 * Slots are placed by name hash, a taken one moving on to the next free
 * one in name order: the incremental placement is the whole one when no
 * touched slot is taken by, or borders on, another service's group.  Or
 * when the named services' groups are where they were: the groups and
 * their names are the whole compile's, so its placement has not moved
 * (an endpoint edit of a service whose neighbour took the next slot went
 * whole, 2 edits in 1,000 at 10k services in bench/agent.sh).
 */
static bool slots_ok(struct upd *u)
{
	if (same_slots(u))
		return true;
	for (size_t i = 0; i < u->nnslots; i++) {
		const struct slot *ns = &u->nslots[i];
		const struct rs_set *s = rs_set_find(u->model, ns->set);

		if (s && (taken(u, s, ns->slot) || taken(u, s, ns->slot + 1) ||
			  taken(u, s, ns->slot + SLOTS_PER_SHARD - 1)))
			return false;
		for (size_t j = 0; j < u->nnslots; j++)
			if (!strcmp(u->nslots[j].set, ns->set) &&
			    (u->nslots[j].slot + 1) % SLOTS_PER_SHARD == ns->slot)
				return false;
	}
	for (size_t i = 0; i < u->noslots; i++) {
		const struct slot *os = &u->oslots[i];
		const struct rs_set *s = rs_set_find(u->model, os->set);

		if (taken(u, s, os->slot + 1) || taken(u, s, os->slot + SLOTS_PER_SHARD - 1))
			return false;
	}
	return true;
}

/* The element of vmap set s that leads to chain, or NULL. */
static const struct rs_elem *vmap_elem(const struct rs_set *s, const char *chain)
{
	for (size_t i = 0; s && i < s->nelems; i++) {
		const struct rs_elem *e = rs_elem_at(s, i);

		if (e->chain && !strcmp(e->chain, chain))
			return e;
	}
	return NULL;
}

/*
 * A hairpin shard the model lacks: M made it (its set, chain
 * masq-hairpin-N, the hairpin-shards element to it); NEW takes the three.
 * Returns the index of M's set, or NONE when M has not got it.
 */
static size_t new_shard(struct upd *u, const char *name, int fam, int *err)
{
	char vmap[24], chain[32];
	size_t mi = set_idx(u->m, name), vi, vm;
	const struct rs_elem *e;

	if (mi == NONE || u->mnews[mi].n)
		return mi;	/* not M's, or taken already */
	snprintf(vmap, sizeof(vmap), "hairpin-shards%s", fam == FAM6 ? "6" : "");
	snprintf(chain, sizeof(chain), "masq-%s", name);
	vi = set_idx(u->model, vmap);
	vm = set_idx(u->m, vmap);
	if (vi == NONE || vm == NONE || !(e = vmap_elem(&u->m->sets[vm], chain)))
		return NONE;
	*err = push_elem(&u->news[vi], e);
	return mi;
}

/* A hairpin shard left empty goes: its chain, and the element to it. */
static int gone_shard(struct upd *u, size_t si, int fam)
{
	const struct rs_set *s = &u->model->sets[si];
	char vmap[24], chain[32];
	const struct rs_chain *c;
	const struct rs_elem *e;
	size_t vi;

	snprintf(vmap, sizeof(vmap), "hairpin-shards%s", fam == FAM6 ? "6" : "");
	snprintf(chain, sizeof(chain), "masq-%s", s->name);
	if ((vi = set_idx(u->model, vmap)) == NONE || !(c = rs_chain_find(u->model, chain)) ||
	    !(e = vmap_elem(&u->model->sets[vi], chain)))
		return 1;
	u->gone[si] = true;
	if (push_ochain(u, c) || push_elem(&u->olds[vi], e))
		return -1;
	qsort(u->ochains, u->nochains, sizeof(*u->ochains), chain_name_cmp);
	return 0;
}

/*
 * Hairpin elements whose count leaves or reaches 0, in their shard (the
 * address's last byte: lower_sets.c), which comes or goes with them.
 */
static int hairpin_elems(struct upd *u)
{
	for (size_t i = 0; i < u->hp.cap; i++) {
		const struct hp *d = u->hp.slots[i].value;
		const struct hp *cur;
		long before;
		char name[24];
		union rs_elem_buf e = { 0 };
		size_t si, alen;
		int fam, err = 0;

		if (!u->hp.slots[i].key || !d->n)
			continue;
		cur = htab_get(&u->idx->hairpin, d->k, 17);
		before = cur ? cur->n : 0;
		if ((before > 0) == (before + d->n > 0))
			continue;
		fam = d->k[0];
		alen = fam == FAM6 ? 16 : 4;
		snprintf(name, sizeof(name), "hairpin%s-%u", fam == FAM6 ? "6" : "", d->k[alen]);
		memcpy(e.e.key, d->k + 1, alen);
		memcpy(e.e.key + alen, d->k + 1, alen);
		if ((si = set_idx(u->model, name)) == NONE) {
			size_t mi = before > 0 ? NONE : new_shard(u, name, fam, &err);

			if (mi == NONE)
				return 1;	/* cannot be: apply whole */
			if (err || push_elem(&u->mnews[mi], &e.e))
				return -1;
			continue;
		}
		if (push_elem(before > 0 ? &u->olds[si] : &u->news[si], &e.e))
			return -1;
	}
	for (size_t si = 0; si < u->model->nsets; si++) {
		const struct rs_set *s = &u->model->sets[si];
		int r;

		if (set_kind(s) == K_HAIRPIN && u->olds[si].n &&
		    u->olds[si].n >= s->nelems && !u->news[si].n &&
		    (r = gone_shard(u, si, fam_of(s))))
			return r;
	}
	return 0;
}

/* masq-hairpin-N of a shard this update makes */
static bool new_shard_chain(const struct upd *u, const char *name)
{
	size_t mi;

	if (strncmp(name, "masq-", 5) || !hairpin_shard(name + 5))
		return false;
	mi = set_idx(u->m, name + 5);
	return mi != NONE && u->mnews[mi].n && set_idx(u->model, name + 5) == NONE;
}

/*
 * Gather OLD and NEW.  Returns 0, 1 when the update must apply whole, or
 * -1 with errno.
 */
/*
 * The kernel's endpoint slots kept (slots.h): each of M's endpoint ranges
 * arranged after the model's elements of the named services' old ranges.
 */
static int keep_slots(struct upd *u)
{
	for (size_t i = 0; i < u->m->nchains; i++) {
		const struct rs_chain *c = &u->m->chains[i];

		if (c->hook != RS_HOOK_NONE || !svc_chain_name(c->name))
			continue;
		for (size_t k = 0; k < c->nrules; k++) {
			const struct rs_rule *r = &c->rules[k];
			size_t si;
			bool changed;

			if (r->kind != RS_DNAT_NUMGEN || !r->mod || (si = set_idx(u->model, r->set)) == NONE ||
			    set_kind(&u->model->sets[si]) != K_EPMAP)
				continue;
			if (slots_align_range(&u->model->sets[si], u->olds[si].v, u->olds[si].n,
					      u->news[si].v, u->news[si].n, r->offset, r->mod, &changed))
				return -1;
		}
	}
	return 0;
}

static int plan(struct upd *u)
{
	struct rs_ruleset *model = u->model, *m = u->m;
	struct contrib after = u->idx->total;
	size_t nm = 0, mi = 0, ni = 0;
	int r;

	for (size_t i = 0; i < u->nnames; i++) {
		const struct usvc *s = htab_get(&u->idx->by_name, u->names[i], strlen(u->names[i]));

		if (s) {
			contrib_add(&after, &s->c, -1);
			if (old_chains(u, s->name) || old_dispatch(u, s))
				return -1;
		}
		if (u->recs[i])
			contrib_add(&after, &u->recs[i]->c, 1);
	}
	/* the table's shape changes: apply whole */
	for (int f = 0; f < NFAMILIES; f++)
		if ((after.vip[f] > 0) != (u->idx->total.vip[f] > 0) ||
		    (after.nodeport[f] > 0) != (u->idx->total.nodeport[f] > 0) ||
		    (after.firewall[f] > 0) != (u->idx->total.firewall[f] > 0))
			return 1;
	if (u->nochains)
		qsort(u->ochains, u->nochains, sizeof(*u->ochains), chain_name_cmp);
	if (old_ranges(u))
		return -1;
	/* NEW: M's service chains' slots, and its elements */
	for (size_t i = 0; i < m->nchains; i++) {
		const struct rs_chain *c = &m->chains[i];

		if (c->hook != RS_HOOK_NONE || !svc_chain_name(c->name))
			continue;
		for (size_t k = 0; k < c->nrules; k++)
			if (numgen_rule(&c->rules[k]) &&
			    push_slot(&u->nslots, &u->nnslots, &u->nslots_cap, c->rules[k].set,
				      c->rules[k].offset >> 16))
				return -1;
	}
	if (!slots_ok(u))
		return 1;
	for (size_t i = 0; i < m->nsets; i++) {
		const struct rs_set *s = &m->sets[i];
		size_t si = set_idx(model, s->name);
		enum kind k = set_kind(s);

		if (si != NONE && !same_type(s, &model->sets[si]))
			return 1;
		if (si == NONE && k != K_EPMAP && k != K_AFFEP && k != K_AFFMAP && k != K_HAIRPIN)
			return 1;	/* a set of the table's shape */
		if (k == K_EPMAP || k == K_AFFEP || k == K_DISPATCH) {
			struct elems *es = si != NONE ? &u->news[si] : &u->mnews[i];

			/* es is packed as the model's set: of the same type */
			for (size_t j = 0; j < s->nelems; j++)
				if (push_elem(es, rs_elem_at(s, j)))
					return -1;
		}
		if (hp_count(&u->hp, m, s, s->elems, s->nelems, 1))
			return -1;
	}
	memcpy(u->epkeys, u->idx->epkeys, sizeof(u->epkeys));
	for (size_t i = 0; i < m->nsets; i++)
		if (set_kind(&m->sets[i]) == K_EPMAP)
			u->epkeys[fam_of(&m->sets[i])][proto_idx(m->sets[i].l4proto)] +=
				m->sets[i].nelems;
	for (size_t si = 0; si < model->nsets; si++) {
		const struct rs_set *s = &model->sets[si];
		enum kind k = set_kind(s);

		sort_unique(s, &u->olds[si]);
		if (k == K_EPMAP)
			u->epkeys[fam_of(s)][proto_idx(s->l4proto)] -= u->olds[si].n;
		if (hp_count(&u->hp, model, s, u->olds[si].v, u->olds[si].n, -1))
			return -1;
		/* endpoint maps exist while they hold a group */
		if ((k == K_EPMAP || k == K_AFFEP) && u->olds[si].n &&
		    s->nelems - u->olds[si].n + u->news[si].n == 0)
			u->gone[si] = true;
		if (k == K_AFFMAP) {
			u->gone[si] = after.aff[fam_of(s)][proto_idx(s->l4proto)] == 0;
		}
	}
	/* a whole compile would choose other endpoint map counts: apply whole */
	for (int f = 0; f < NFAMILIES; f++)
		for (int p = 0; p < NPROTO; p++)
			if (lw_shards(u->epkeys[f][p]) != u->idx->shards[f][p])
				return 1;
	if ((r = hairpin_elems(u)))
		return r;
	for (size_t si = 0; si < model->nsets; si++) {
		sort_unique(&model->sets[si], &u->olds[si]);
		sort_unique(&model->sets[si], &u->news[si]);
	}
	if (keep_slots(u))
		return -1;

	/* OLD: every model set; NEW: those still needed and M's new ones, by name */
	u->old = (struct rs_ruleset){ .table = model->table, .nsets = model->nsets,
				      .chains = u->ochains, .nchains = u->nochains };
	if (!(u->old.sets = malloc((model->nsets + 1) * sizeof(*u->old.sets))) ||
	    !(u->new_rs.sets = malloc((model->nsets + m->nsets + 1) * sizeof(*u->new_rs.sets))) ||
	    !(u->new_rs.chains = malloc((m->nchains + 1) * sizeof(*u->new_rs.chains))))
		return -1;
	u->new_rs.table = model->table;
	for (size_t si = 0; si < model->nsets; si++) {
		u->old.sets[si] = model->sets[si];
		u->old.sets[si].elems = u->olds[si].v;
		u->old.sets[si].nelems = u->olds[si].n;
	}
	while (mi < model->nsets || ni < m->nsets) {
		bool take_m;

		if (ni < m->nsets && set_idx(model, m->sets[ni].name) != NONE) {
			ni++;
			continue;
		}
		take_m = mi < model->nsets &&
			 (ni == m->nsets || strcmp(model->sets[mi].name, m->sets[ni].name) < 0);
		if (take_m) {
			if (!u->gone[mi]) {
				u->new_rs.sets[nm] = model->sets[mi];
				u->new_rs.sets[nm].elems = u->news[mi].v;
				u->new_rs.sets[nm++].nelems = u->news[mi].n;
			}
			mi++;
		} else {
			u->new_rs.sets[nm] = m->sets[ni];
			u->new_rs.sets[nm].elems = u->mnews[ni].v;
			u->new_rs.sets[nm++].nelems = u->mnews[ni].n;
			ni++;
		}
	}
	u->new_rs.nsets = nm;
	for (size_t i = 0; i < m->nchains; i++)
		if (m->chains[i].hook == RS_HOOK_NONE && (svc_chain_name(m->chains[i].name) ||
							  new_shard_chain(u, m->chains[i].name)))
			u->new_rs.chains[u->new_rs.nchains++] = m->chains[i];
	return 0;
}

/* ---- patching the model ------------------------------------------------ */

/*
 * Once the kernel took the batch, patching the model cannot fail: every
 * allocation is made before the send (prepare), the patch only moves.
 */

static const char *model_chain(const struct rs_ruleset *model, const char *name)
{
	const struct rs_chain *c = name ? rs_chain_find(model, name) : NULL;

	return c ? c->name : NULL;
}

static const char *model_set(const struct rs_ruleset *model, const char *name)
{
	const struct rs_set *s = name ? rs_set_find(model, name) : NULL;

	return s ? s->name : NULL;
}

static bool chains_same_names(const struct upd *u)
{
	const struct rs_ruleset *o = &u->old, *n = &u->new_rs;

	if (o->nchains != n->nchains)
		return false;
	for (size_t i = 0; i < o->nchains; i++)
		if (strcmp(o->chains[i].name, n->chains[i].name))
			return false;
	return true;
}

static int prepare(struct upd *u)
{
	struct rs_ruleset *model = u->model;
	const struct rs_ruleset *n = &u->new_rs;
	size_t ngone = 0;

	/* NEW's chains as the model will own them: name and rules copied */
	if (!(u->nc = calloc(n->nchains + 1, sizeof(*u->nc))))
		return -1;
	for (size_t i = 0; i < n->nchains; i++) {
		const struct rs_chain *src = &n->chains[i];

		u->nc[i] = *src;
		u->nc[i].cap = src->nrules;
		u->nc[i].name = strdup(src->name);
		u->nc[i].rules = malloc((src->nrules + 1) * sizeof(*src->rules));
		if (!u->nc[i].name || !u->nc[i].rules)
			return -1;
		if (src->nrules)
			memcpy(u->nc[i].rules, src->rules, src->nrules * sizeof(*src->rules));
	}
	if (!chains_same_names(u) &&
	    !(u->chains_v = malloc((model->nchains + n->nchains + 1) * sizeof(*u->chains_v))))
		return -1;
	/* the set list, with names for M's new sets */
	if (!(u->sets_v = calloc(n->nsets + 1, sizeof(*u->sets_v))))
		return -1;
	for (size_t i = 0; i < n->nsets; i++) {
		const struct rs_set *ns = &n->sets[i];
		const struct rs_set *ms = rs_set_find(model, ns->name);

		if (ms)
			continue;	/* taken when patching: it may grow before */
		u->sets_v[i] = *ns;
		u->sets_v[i].name = NULL;	/* ns's until copied: upd_fini frees it */
		u->sets_v[i].elems = NULL;
		u->sets_v[i].nelems = u->sets_v[i].cap = 0;
		if (ns->nelems && !(u->sets_v[i].elems = malloc(ns->nelems * ns->stride)))
			return -1;
		u->sets_v[i].cap = ns->nelems;
		if (!(u->sets_v[i].name = strdup(ns->name)))
			return -1;
	}
	/* room in the sets that grow: reallocating keeps what they hold */
	for (size_t si = 0; si < model->nsets; si++) {
		struct rs_set *s = &model->sets[si];
		size_t need = s->nelems + u->news[si].n;

		ngone += u->gone[si];
		if (!u->gone[si] && need > s->cap) {
			void *v = realloc(s->elems, (need + need / 2) * s->stride);

			if (!v)
				return -1;
			s->elems = v;
			s->cap = need + need / 2;
		}
	}
	/* what the model lets go of: OLD's chains and the gone sets */
	u->grave_cap = 2 * (u->old.nchains + ngone) + 1;
	return (u->grave = malloc(u->grave_cap * sizeof(*u->grave))) ? 0 : -1;
}

static void bury(struct upd *u, void *p)
{
	u->grave[u->ngrave++] = p;	/* room made by prepare */
}

/* Elements of one set: the model's less OLD's, plus NEW's (room made). */
static void patch_elems(struct upd *u, struct rs_set *s, const struct elems *o,
			const struct elems *ne)
{
	for (size_t i = 0; i < o->n; i++) {
		const struct rs_elem *oe = elem_in(o->v, o->stride, i);
		size_t j = lower_bound(s, oe);

		if (j < s->nelems && !rs_elem_cmp(s, rs_elem_at(s, j), oe)) {
			memmove(rs_elem_at(s, j), rs_elem_at(s, j + 1), (s->nelems - j - 1) * s->stride);
			s->nelems--;
		}
	}
	for (size_t i = 0; i < ne->n; i++) {
		const struct rs_elem *e = elem_in(ne->v, ne->stride, i);
		size_t j = lower_bound(s, e);

		memmove(rs_elem_at(s, j + 1), rs_elem_at(s, j), (s->nelems - j) * s->stride);
		rs_elem_copy(s, rs_elem_at(s, j), e);
		rs_elem_at(s, j)->chain = model_chain(u->model, e->chain);
		s->nelems++;
	}
}

/* Take a prepared chain in place of model chain c (whose name stays). */
static void take_chain(struct rs_chain *dst, struct rs_chain *nc, char *name)
{
	if (name) {
		free(nc->name);
		nc->name = name;
	}
	*dst = *nc;
	nc->name = NULL;
	nc->rules = NULL;
}

/* The model's chains: OLD's buried or replaced, NEW's in name order. */
static void patch_chains(struct upd *u)
{
	struct rs_ruleset *model = u->model;
	const struct rs_ruleset *o = &u->old;
	size_t nn = u->new_rs.nchains, nreg = nregular(model);
	struct rs_chain *v = u->chains_v;
	size_t a = 0, b = 0, k = 0, oi = 0;

	if (!v) {
		/* the usual change: the same chains, other rules */
		for (size_t i = 0; i < nn; i++) {
			struct rs_chain *c = rs_chain_find(model, u->nc[i].name);

			bury(u, c->rules);
			take_chain(c, &u->nc[i], c->name);
		}
		return;
	}
	/* merge the model's regular chains (less OLD's) with NEW's */
	while (a < nreg || b < nn) {
		int c;

		if (a < nreg && oi < o->nchains && !strcmp(model->chains[a].name, o->chains[oi].name)) {
			/* OLD's: buried, unless NEW has it (then its name is kept) */
			struct rs_chain *oc = &model->chains[a++];

			oi++;
			bury(u, oc->rules);
			while (b < nn && strcmp(u->nc[b].name, oc->name) < 0)
				take_chain(&v[k++], &u->nc[b++], NULL);
			if (b < nn && !strcmp(u->nc[b].name, oc->name))
				take_chain(&v[k++], &u->nc[b++], oc->name);
			else
				bury(u, oc->name);
			continue;
		}
		c = a == nreg ? 1 : b == nn ? -1 : strcmp(model->chains[a].name, u->nc[b].name);
		if (c < 0)
			v[k++] = model->chains[a++];
		else
			take_chain(&v[k++], &u->nc[b++], NULL);
	}
	for (; a < model->nchains; a++)
		v[k++] = model->chains[a];
	free(model->chains);
	model->chains = v;
	model->nchains = model->chains_cap = k;
	u->chains_v = NULL;
}

/* The model's set list: gone ones buried, M's new ones added, by name. */
static void patch_sets(struct upd *u)
{
	struct rs_ruleset *model = u->model;

	for (size_t i = 0; i < u->new_rs.nsets; i++)
		if (!u->sets_v[i].name)
			u->sets_v[i] = *rs_set_find(model, u->new_rs.sets[i].name);
	for (size_t i = 0; i < model->nsets; i++)
		if (u->gone[i]) {
			bury(u, model->sets[i].name);
			bury(u, model->sets[i].elems);
		}
	free(model->sets);
	model->sets = u->sets_v;
	model->nsets = model->sets_cap = u->new_rs.nsets;
	u->sets_v = NULL;
}

static void patch_model(struct upd *u)
{
	struct rs_ruleset *model = u->model;

	/* chains first: elements name them */
	patch_chains(u);
	for (size_t si = 0; si < model->nsets; si++)
		if (!u->gone[si] && (u->olds[si].n || u->news[si].n))
			patch_elems(u, &model->sets[si], &u->olds[si], &u->news[si]);
	patch_sets(u);
	for (size_t i = 0; i < u->m->nsets; i++) {
		/* M's new sets: their elements */
		struct elems none = { 0 };

		if (u->mnews[i].n)
			patch_elems(u, rs_set_find(model, u->m->sets[i].name), &none, &u->mnews[i]);
	}
	/* what NEW's rules name: the model's strings */
	for (size_t i = 0; i < u->new_rs.nchains; i++) {
		struct rs_chain *c = rs_chain_find(model, u->new_rs.chains[i].name);

		for (size_t k = 0; k < c->nrules; k++) {
			struct rs_rule *r = &c->rules[k];

			r->set = model_set(model, r->set);
			r->set2 = model_set(model, r->set2);
			r->target = model_chain(model, r->target);
		}
	}
}

/* ---- svcc_runtime_update ----------------------------------------------- */

static void upd_fini(struct upd *u)
{
	size_t nm = u->nmsets;

	for (size_t i = 0; u->olds && i < nm; i++)
		free(u->olds[i].v);
	for (size_t i = 0; u->news && i < nm; i++)
		free(u->news[i].v);
	for (size_t i = 0; u->mnews && u->m && i < u->m->nsets; i++)
		free(u->mnews[i].v);
	free(u->olds);
	free(u->news);
	free(u->mnews);
	free(u->gone);
	free(u->ochains);
	free(u->oslots);
	free(u->nslots);
	free_all(&u->hp);
	free(u->old.sets);
	free(u->new_rs.sets);
	free(u->new_rs.chains);
	for (size_t i = 0; u->nc && i < u->new_rs.nchains; i++) {
		free(u->nc[i].name);
		free(u->nc[i].rules);
	}
	free(u->nc);
	free(u->chains_v);
	for (size_t i = 0; u->sets_v && i < u->new_rs.nsets; i++) {
		free(u->sets_v[i].name);	/* not sent: M's new sets only */
		free(u->sets_v[i].elems);
	}
	free(u->sets_v);
	for (size_t i = 0; i < u->ngrave; i++)
		free(u->grave[i]);
	free(u->grave);
	for (size_t i = 0; u->recs && i < u->nnames; i++)
		usvc_free(u->recs[i]);
	free(u->recs);
	free(u->names);
	free(u->mini.services);
	rs_free(u->m);
}

/* Where the config says the key (its port, or nodeport): as check.c points. */
static struct loc key_loc(const struct upd *u, const char *name, const struct ukey *k)
{
	const struct svcc_service *svc = htab_get(&u->cfg->by_name, name, strlen(name));

	for (size_t i = 0; svc && i < svc->nports; i++) {
		const struct port *p = &svc->ports[i];

		if (p->proto == k->proto && (k->family ? p->port : p->nodeport) == k->port)
			return k->family ? p->loc : p->nodeport_loc;
	}
	return svc ? svc->loc : LOC_NONE;
}

/* Named keys another service holds: reported as check.c does, located. */
static void check_keys(struct upd *u)
{
	for (size_t i = 0; i < u->nnames; i++) {
		const struct usvc *s = u->recs[i];

		for (size_t j = 0; s && j < s->nkeys; j++) {
			const struct ukey *k = &s->keys[j];
			const struct usvc *other = htab_get(&u->idx->keys, k, sizeof(*k));
			struct addr a = { .family = k->family };
			char text[64];

			if (!other || is_named(u, other->name))
				continue;
			if (!k->family) {
				diag_error(u->rt->ctx, key_loc(u, s->name, k),
					   "nodeport %u/%s of service '%s' is taken by service "
					   "'%s'", k->port, proto_name(k->proto), s->name, other->name);
				continue;
			}
			memcpy(a.bytes, k->addr, 16);
			if (addr_format(&a, text, sizeof(text)))
				strcpy(text, "?");
			diag_error(u->rt->ctx, key_loc(u, s->name, k),
				   "%s port %u/%s of service '%s' is taken by service '%s'", text,
				   k->port, proto_name(k->proto), s->name, other->name);
		}
	}
}

/* Build the mini config and the named services' records. 0, or -1 (ENOMEM). */
static int upd_init(struct upd *u, const char *const *names, size_t n)
{
	const struct svcc_config *cfg = u->cfg;

	u->names = malloc((n + 1) * sizeof(*u->names));
	u->recs = calloc(n + 1, sizeof(*u->recs));
	u->mini.services = malloc((n + 1) * sizeof(*u->mini.services));
	if (!u->names || !u->recs || !u->mini.services)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (!is_named(u, names[i]))
			u->names[u->nnames++] = names[i];
	u->mini.pod_cidrs = cfg->pod_cidrs, u->mini.npod_cidrs = cfg->npod_cidrs;
	u->mini.service_cidrs = cfg->service_cidrs, u->mini.nservice_cidrs = cfg->nservice_cidrs;
	u->mini.node_ips = cfg->node_ips, u->mini.nnode_ips = cfg->nnode_ips;
	u->mini.masq = cfg->masq;
	u->mini.masq_from = cfg->masq_from, u->mini.nmasq_from = cfg->nmasq_from;
	for (size_t i = 0; i < u->nnames; i++) {
		struct svcc_service *svc = htab_get(&cfg->by_name, u->names[i], strlen(u->names[i]));

		if (!svc)
			continue;	/* removed */
		u->mini.services[u->mini.nservices++] = svc;
		if (!(u->recs[i] = usvc_new(svc)))
			return -1;
	}
	return 0;
}

static int apply_whole(struct svcc_runtime *rt, const struct svcc_config *cfg, double t0)
{
	int ret = svcc_runtime_apply_config(rt, cfg);

	rt->stats.seconds = rt_now() - t0;
	return ret;
}

/* The index after a successful send: the named services' new records. */
static int commit_index(struct upd *u)
{
	struct upd_index *idx = u->idx;

	memcpy(idx->epkeys, u->epkeys, sizeof(idx->epkeys));
	for (size_t i = 0; i < u->nnames; i++) {
		struct usvc *s = htab_get(&idx->by_name, u->names[i], strlen(u->names[i]));

		if (s)
			index_del(idx, s);
	}
	for (size_t i = 0; i < u->nnames; i++) {
		int r = u->recs[i] ? index_put(idx, u->recs[i]) : 0;

		if (r <= 0)
			u->recs[i] = NULL;	/* the index's now */
		if (r)
			return -1;
	}
	for (size_t i = 0; i < u->hp.cap; i++) {
		struct hp *d = u->hp.slots[i].value, *cur;
		int err = 0;

		if (!u->hp.slots[i].key || !d->n)
			continue;
		if (!(cur = htab_get(&idx->hairpin, d->k, 17))) {
			if (!(cur = calloc(1, sizeof(*cur))))
				return -1;
			memcpy(cur->k, d->k, 17);
			htab_put(&idx->hairpin, cur->k, 17, cur, &err);
			if (err) {
				free(cur);
				return -1;
			}
		}
		cur->n += d->n;
		if (!cur->n) {
			htab_del(&idx->hairpin, cur->k, 17);
			free(cur);
		}
	}
	return 0;
}

/*
 * A vip that another service has too (on other ports): its cluster-ips
 * element is shared, which the update's element sums do not follow.  Rare:
 * applied whole.
 */
static bool shared_vip(const struct upd *u)
{
	for (size_t i = 0; i < u->nnames; i++) {
		const struct usvc *old = htab_get(&u->idx->by_name, u->names[i], strlen(u->names[i]));
		const struct svcc_service *svc = htab_get(&u->cfg->by_name, u->names[i],
							  strlen(u->names[i]));

		for (int fam = FAM4; fam < NFAMILIES; fam++) {
			uint8_t key[17];

			if (old && old->c.vip[fam] && hp_get(&u->idx->vips, old->vip[fam]) > 1)
				return true;
			if (!svc || !svc->has_vip[fam])
				continue;
			addr_key(&svc->vip[fam], key);
			if (hp_get(&u->idx->vips, key) -
			    (old && old->c.vip[fam] && !memcmp(old->vip[fam], key, 17)) > 0)
				return true;
		}
	}
	return false;
}

/*
 * A named service's endpoint that is a vip in the table, or its vip an
 * endpoint address there: an error of check.c's (an endpoint may not be a
 * service's vip), unless the address is the named services' own, being
 * replaced.  The whole config tells which: it is applied whole.
 */
static bool crosses_addresses(const struct upd *u)
{
	for (size_t i = 0; i < u->mini.nservices; i++) {
		const struct svcc_service *svc = u->mini.services[i];
		uint8_t key[17];

		for (int fam = FAM4; fam < NFAMILIES; fam++) {
			if (!svc->has_vip[fam])
				continue;
			addr_key(&svc->vip[fam], key);
			if (hp_get(&u->idx->hairpin, key) > 0)
				return true;
		}
		for (size_t j = 0; j < svc->neps; j++) {
			addr_key(&svc->eps[j].addr, key);
			if (hp_get(&u->idx->vips, key) > 0)
				return true;
		}
	}
	return false;
}

int svcc_runtime_update(struct svcc_runtime *rt, const struct svcc_config *cfg,
			const char *const *names, size_t n)
{
	double t0 = rt_now();
	struct upd u = { .rt = rt, .cfg = cfg, .idx = rt->idx, .model = rt->model };
	size_t errors = svcc_error_count(rt->ctx);
	struct nl_result res = { 0 };
	struct rs_ruleset *next = NULL;
	struct tx *tx = NULL;
	int ret = -1, r;

	memset(&rt->stats, 0, sizeof(rt->stats));
	if (!rt->idx || rt->stale || !rt->model || !rt->model_rules ||
	    strcmp(rt->model->table, rt->table) || !cluster_same(&rt->idx->cl, cfg))
		return apply_whole(rt, cfg, t0);
	if (upd_init(&u, names, n))
		goto oom;
	/* the named services' own checks, and the keys they claim from others */
	if (check_config(rt->ctx, &u.mini))
		goto out;
	check_keys(&u);
	if (svcc_error_count(rt->ctx) != errors)
		goto out;
	if (crosses_addresses(&u) || shared_vip(&u)) {
		upd_fini(&u);
		return apply_whole(rt, cfg, t0);
	}
	rt->stats.services_compiled = u.mini.nservices;
	if (lower(&u.mini, rt->table, u.idx->shards, &u.m))
		goto oom;
	u.nmsets = u.model->nsets;
	if (!(u.olds = calloc(u.model->nsets + 1, sizeof(*u.olds))) ||
	    !(u.news = calloc(u.model->nsets + 1, sizeof(*u.news))) ||
	    !(u.gone = calloc(u.model->nsets + 1, sizeof(*u.gone))) ||
	    !(u.mnews = calloc(u.m->nsets + 1, sizeof(*u.mnews))))
		goto oom;
	for (size_t i = 0; i < u.model->nsets; i++)
		u.olds[i].stride = u.news[i].stride = u.model->sets[i].stride;
	for (size_t i = 0; i < u.m->nsets; i++)
		u.mnews[i].stride = u.m->sets[i].stride;
	r = plan(&u);
	if (r > 0) {
		upd_fini(&u);
		return apply_whole(rt, cfg, t0);
	}
	if (r < 0 || !(tx = tx_diff(&u.old, &u.new_rs)))
		goto oom;
	rt_set_stats(rt, tx);
	/* the model has every set's fingerprint: it was applied */
	if (prepare(&u) ||
	    (!tx_empty(tx) && st_append(tx, rt->model, rt->fpmap, rt->fpmap_true, rt->genid, &next)))
		goto oom;
	if (!tx_empty(tx)) {
		r = rt_send_tx(rt, tx, &res);
		if (r) {
			int err = errno;

			if (r == -1 && (err == ERESTART || (res.op && !res.unsent))) {
				/* changed underneath, or refused: the whole apply re-reads */
				tx_free(tx);
				rs_free(next);
				upd_fini(&u);
				rt->stale = true;
				return apply_whole(rt, cfg, t0);
			}
			if (r == -1)
				rt_report_nl(rt, tx, &res, err, SVCC_ERROR, "");
			rt->stale = true;
			goto out;
		}
	}
	/* the kernel took it: the patch cannot fail */
	patch_model(&u);
	if (next) {
		st_stamp(rt->model, next);
		rt_keep_fpmap(rt, next);
		next = NULL;
	}
	if (commit_index(&u)) {
		/* the model is right, the index not: the next update applies whole */
		upd_index_free(rt->idx);
		rt->idx = NULL;
	}
	if (!tx_empty(tx)) {
		rt_flush_stale_udp(rt, &u.old, rt->model);
		rt_forget_stale_affinity(rt, &u.old, true, rt->model);
	}
	ret = 0;
	goto out;
oom:
	rt_report_errno(rt, "update", ENOMEM);
out:
	tx_free(tx);
	rs_free(next);
	upd_fini(&u);
	rt->stats.seconds = rt_now() - t0;
	return ret;
}
