/* SPDX-License-Identifier: MIT */
/* The ruleset model: construction helpers, canonical order (sorts in ruleset_sort.c), fingerprints. */
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include "ruleset.h"
#include "ruleset_order.h"
#include "util.h"

struct rs_ruleset *rs_new(const char *table)
{
	struct rs_ruleset *rs = calloc(1, sizeof(*rs));

	if (!rs)
		return NULL;
	rs->table = strdup(table);
	if (!rs->table) {
		free(rs);
		return NULL;
	}
	return rs;
}

void rs_free(struct rs_ruleset *rs)
{
	if (!rs)
		return;
	for (size_t i = 0; i < rs->nsets; i++) {
		free(rs->sets[i].name);
		free(rs->sets[i].elems);
	}
	for (size_t i = 0; i < rs->nchains; i++) {
		free(rs->chains[i].name);
		free(rs->chains[i].rules);
	}
	for (size_t i = 0; i < rs->nkept_names; i++)
		free(rs->kept_names[i]);
	free(rs->kept_names);
	free(rs->sets);
	free(rs->chains);
	free(rs->create_order);
	free(rs->table);
	free(rs);
}

struct rs_set *rs_add_set(struct rs_ruleset *rs, const char *name, enum rs_family family)
{
	struct rs_set *set;

	if (VEC_RESERVE(rs->sets, rs->nsets, rs->sets_cap))
		return NULL;
	set = &rs->sets[rs->nsets];
	*set = (struct rs_set){ .family = family, .name = strdup(name) };
	if (!set->name)
		return NULL;
	rs->nsets++;
	return set;
}

struct rs_elem *rs_add_elem(struct rs_set *set)
{
	struct rs_elem *e;

	if (set->nelems == set->cap && vec_grow(&set->elems, &set->cap, set->stride))
		return NULL;
	e = rs_elem_at(set, set->nelems++);
	memset(e, 0, set->stride);
	return e;
}

struct rs_elem *rs_add_elems(struct rs_set *set, size_t n)
{
	struct rs_elem *e;

	if (rs_reserve_elems(set, n))
		return NULL;
	e = rs_elem_at(set, set->nelems);
	memset(e, 0, n * set->stride);
	set->nelems += n;
	return e;
}

int rs_reserve_elems(struct rs_set *set, size_t n)
{
	void *v;

	if (set->nelems + n <= set->cap)
		return 0;
	if (!(v = realloc(set->elems, (set->nelems + n) * set->stride)))
		return -1;
	set->elems = v;
	set->cap = set->nelems + n;
	return 0;
}

struct rs_chain *rs_add_chain(struct rs_ruleset *rs, const char *name)
{
	struct rs_chain *c;

	if (VEC_RESERVE(rs->chains, rs->nchains, rs->chains_cap))
		return NULL;
	c = &rs->chains[rs->nchains];
	*c = (struct rs_chain){ .name = strdup(name) };
	if (!c->name)
		return NULL;
	rs->nchains++;
	return c;
}

const char *rs_keep_name(struct rs_ruleset *rs, const char *name)
{
	char *copy;

	if (VEC_RESERVE(rs->kept_names, rs->nkept_names, rs->kept_names_cap) ||
	    !(copy = strdup(name)))
		return NULL;
	rs->kept_names[rs->nkept_names++] = copy;
	return copy;
}

struct rs_rule *rs_add_rule(struct rs_chain *c)
{
	struct rs_rule *r;

	/* most chains have two rules, and there are tens of thousands: start at 4 */
	if (c->nrules == c->cap) {
		size_t cap = c->cap ? 2 * c->cap : 4;

		if (!(r = realloc(c->rules, cap * sizeof(*r))))
			return NULL;
		c->rules = r;
		c->cap = cap;
	}
	r = &c->rules[c->nrules++];
	memset(r, 0, sizeof(*r));
	return r;
}

void rs_set_layout(struct rs_set *set)
{
	set->key_len = 0;
	for (int i = 0; i < set->nkey; i++)
		set->key_len += rs_field_len(set->key[i]);
	set->data_len = 0;
	for (int i = 0; i < set->ndata; i++)
		set->data_len += rs_field_len(set->data[i]);
	set->stride = RS_ELEM_SIZE(set->key_len, set->data_len);
}

size_t rs_field_len(enum rs_ftype t)
{
	return t == RS_F_IPV6 ? 16 : 4;
}

/* Sets and chains are few (hundreds to tens of thousands): bsearch once sorted. */
static int set_name_cmp(const void *a, const void *b)
{
	return strcmp(((const struct rs_set *)a)->name, ((const struct rs_set *)b)->name);
}

struct rs_set *rs_set_find(const struct rs_ruleset *rs, const char *name)
{
	struct rs_set key = { .name = (char *)name };

	if (!rs->nsets || !name)	/* bsearch wants a base, even for none */
		return NULL;
	return bsearch(&key, rs->sets, rs->nsets, sizeof(key), set_name_cmp);
}

struct order_key {
	size_t key, idx;
};

static int order_key_cmp(const void *a, const void *b)
{
	const struct order_key *x = a, *y = b;

	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

size_t *rs_rule_order(const struct rs_ruleset *rs, bool (*want)(const void *arg, size_t i),
		      const void *arg, size_t *n)
{
	struct order_key *v = malloc((rs->nchains + 1) * sizeof(*v));
	size_t *out = NULL, m = 0;

	if (!v)
		goto out;
	for (size_t i = 0; i < rs->nchains; i++) {
		const struct rs_chain *c = &rs->chains[i];
		size_t key = rs->nsets;

		if (c->hook != RS_HOOK_NONE || (want && !want(arg, i)))
			continue;
		for (size_t k = 0; k < c->nrules; k++) {
			const struct rs_set *s;

			if (!c->rules[k].set)
				continue;
			if ((s = rs_set_find(rs, c->rules[k].set)))
				key = (size_t)(s - rs->sets);
			break;
		}
		v[m++] = (struct order_key){ key, i };
	}
	qsort(v, m, sizeof(*v), order_key_cmp);
	if (!(out = malloc((m + 1) * sizeof(*out))))
		goto out;
	for (size_t j = 0; j < m; j++)
		out[j] = v[j].idx;
	*n = m;
out:
	free(v);
	return out;
}

/* Regular chains first, then base chains; each group by name. */
static int chain_cmp(const void *a, const void *b)
{
	const struct rs_chain *x = a, *y = b;
	bool bx = x->hook != RS_HOOK_NONE, by = y->hook != RS_HOOK_NONE;

	if (bx != by)
		return bx - by;
	return strcmp(x->name, y->name);
}

static bool name_eq(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

bool rs_rule_eq(const struct rs_rule *a, const struct rs_rule *b)
{
	return a->kind == b->kind && a->family == b->family &&
	       name_eq(a->set, b->set) && name_eq(a->set2, b->set2) &&
	       name_eq(a->target, b->target) &&
	       a->l4proto == b->l4proto && a->mod == b->mod &&
	       a->offset == b->offset && a->mark == b->mark &&
	       a->timeout == b->timeout && a->port == b->port &&
	       !memcmp(a->addr, b->addr, sizeof(a->addr));
}

struct rs_chain *rs_chain_find(const struct rs_ruleset *rs, const char *name)
{
	struct rs_chain key = { .name = (char *)name };
	struct rs_chain *c;

	if (!rs->nchains || !name)
		return NULL;
	c = bsearch(&key, rs->chains, rs->nchains, sizeof(key), chain_cmp);
	if (c)
		return c;
	/* maybe a base chain */
	key.hook = RS_HOOK_PREROUTING;
	return bsearch(&key, rs->chains, rs->nchains, sizeof(key), chain_cmp);
}

/*
 * Keys are in network order, so memcmp orders them numerically; only the
 * numgen key (host order, alone in its set) needs a number comparison.
 */
int rs_elem_cmp(const struct rs_set *set, const struct rs_elem *a, const struct rs_elem *b)
{
	int d;

	if (set->key[0] == RS_F_U32 || set->key[0] == RS_F_MARK) {
		uint32_t x, y;

		memcpy(&x, a->key, 4);
		memcpy(&y, b->key, 4);
		return (x > y) - (x < y);
	}
	d = memcmp(a->key, b->key, set->key_len);
	if (d || !set->interval)
		return d;
	return (int)a->prefix - (int)b->prefix;
}

/* ---- fingerprints ------------------------------------------------------ */

/*
 * The fingerprint mixes hash64 (FNV-1a) of every field: byte by byte, one
 * multiply each.  Rules are mostly zero bytes, and a run of k zeros is
 * one multiply by FNV64_PRIME^k; strings repeat (set names): their hashes
 * are remembered by address.  The results are hash64's, bit for bit: they
 * are kept in kernels.
 */
#define FP_MAX_LEN 32			/* the longest field hashed: eight 32-bit words */
#define FP_CACHE 1024

struct fp_ctx {
	uint64_t pow[FP_MAX_LEN + 1];	/* FNV64_PRIME^k */
	const char *str[FP_CACHE];
	uint64_t str_hash[FP_CACHE];
};

static void fp_init(struct fp_ctx *fc)
{
	fc->pow[0] = 1;
	for (int k = 1; k <= FP_MAX_LEN; k++)
		fc->pow[k] = fc->pow[k - 1] * FNV64_PRIME;
	memset(fc->str, 0, sizeof(fc->str));
}

/* hash64(p, n), n <= FP_MAX_LEN */
static uint64_t fp_hash(const struct fp_ctx *fc, const void *p, size_t n)
{
	const uint8_t *b = p;
	uint64_t h = FNV64_OFFSET;
	size_t zeros = 0;

	for (size_t i = 0; i < n; i++) {
		if (!b[i]) {
			zeros++;
			continue;
		}
		h = (h * fc->pow[zeros] ^ b[i]) * FNV64_PRIME;
		zeros = 0;
	}
	return h * fc->pow[zeros];
}

/* hash64 of a string with its NUL, or of nothing for NULL */
static uint64_t fp_str(struct fp_ctx *fc, const char *s)
{
	size_t slot = (size_t)(((uintptr_t)s * 0x9e3779b97f4a7c15ull) >> 32) % FP_CACHE;

	if (!s)
		return FNV64_OFFSET;
	if (fc->str[slot] != s) {
		fc->str[slot] = s;
		fc->str_hash[slot] = hash64(s, strlen(s) + 1);
	}
	return fc->str_hash[slot];
}

/* Mix a field's hash into h; strings by content, so the hash is the same in every run. */
static uint64_t mix(uint64_t h, uint64_t field_hash)
{
	return field_hash ^ (h * 0x9e3779b97f4a7c15ull);
}

static uint64_t chain_fingerprint(struct fp_ctx *fc, const struct rs_chain *c)
{
	uint64_t h = 0x5356434301ull;	/* bump to change every fingerprint */

	for (size_t i = 0; i < c->nrules; i++) {
		const struct rs_rule *r = &c->rules[i];
		const uint32_t f[] = { r->kind, r->family, r->l4proto, r->mod, r->offset, r->mark,
				       r->timeout, r->port };

		h = mix(h, fp_hash(fc, f, sizeof(f)));
		h = mix(h, fp_hash(fc, r->addr, sizeof(r->addr)));
		h = mix(h, fp_str(fc, r->set2));
		h = mix(h, fp_str(fc, r->set));
		h = mix(h, fp_str(fc, r->target));
	}
	return h ? h : 1;	/* 0 means "unknown" to the runtime */
}

/* Does a contain b?  Equal in all fields but the last, a prefix of it there. */
static bool prefix_contains(const struct rs_set *set, const struct rs_elem *a,
			    const struct rs_elem *b)
{
	size_t off = set->key_len - rs_field_len(set->key[set->nkey - 1]);
	const uint8_t *x = a->key + off, *y = b->key + off;	/* the last fields */
	int bits = a->prefix;

	if (b->prefix < bits || memcmp(a->key, b->key, off) || memcmp(x, y, bits / 8))
		return false;
	if (bits % 8) {
		uint8_t m = (uint8_t)(0xff << (8 - bits % 8));

		return (x[bits / 8] & m) == (y[bits / 8] & m);
	}
	return true;
}

/* Sorted elements: drop repeats, and prefixes covered by an earlier one. */
static void dedup_elems(struct rs_set *set)
{
	size_t kept = 0;

	for (size_t i = 0; i < set->nelems; i++) {
		struct rs_elem *e = rs_elem_at(set, i);

		if (kept) {
			struct rs_elem *last = rs_elem_at(set, kept - 1);

			if (set->interval ? prefix_contains(set, last, e) : !rs_elem_order(set, last, e))
				continue;
		}
		if (kept != i)
			rs_elem_copy(set, rs_elem_at(set, kept), e);
		kept++;
	}
	set->nelems = kept;
}

/* Creation order: by the number of rules naming the set, most first, then by name. */
static int by_refs(const void *a, const void *b, void *refs)
{
	const size_t x = *(const size_t *)a, y = *(const size_t *)b;
	const uint32_t *r = refs;

	return r[x] != r[y] ? (r[x] < r[y]) - (r[x] > r[y]) : (x > y) - (x < y);
}

/*
 * The sets by their name strings' addresses (rules point at the very
 * strings): open addressing, a NULL name is a free slot.  Made before the
 * sets are sorted: it gives their first indices.
 */
struct set_slot {
	const char *name;
	size_t idx;
};

struct set_index {
	struct set_slot *slot;
	size_t mask;
};

static size_t ptr_hash(const void *p, size_t mask)
{
	uint64_t h = (uint64_t)(uintptr_t)p * 0x9e3779b97f4a7c15ull;

	return (size_t)(h ^ h >> 29) & mask;
}

static int set_index_init(struct set_index *t, const struct rs_ruleset *rs)
{
	size_t cap = 16;

	while (cap < 2 * rs->nsets)
		cap *= 2;
	if (!(t->slot = calloc(cap, sizeof(*t->slot))))
		return -1;
	t->mask = cap - 1;
	for (size_t i = 0; i < rs->nsets; i++) {
		size_t k = ptr_hash(rs->sets[i].name, t->mask);

		while (t->slot[k].name)
			k = (k + 1) & t->mask;
		t->slot[k] = (struct set_slot){ rs->sets[i].name, i };
	}
	return 0;
}

/*
 * The first index of the set named name: by the string's address, else by
 * name (sets not in name order yet: a walk, for strings the ruleset does
 * not own, which the lowering never makes).  -1: none.
 */
static size_t set_index(const struct set_index *t, const struct rs_ruleset *rs,
			const char *name)
{
	for (size_t k = ptr_hash(name, t->mask); t->slot[k].name; k = (k + 1) & t->mask)
		if (t->slot[k].name == name)
			return t->slot[k].idx;
	for (size_t i = 0; i < rs->nsets; i++)
		if (!strcmp(rs->sets[i].name, name))
			return i;
	return (size_t)-1;
}

/* Chain fingerprints, and how many rules name each set (refs, by the sets' first index). */
static int fingerprint_chains(struct rs_ruleset *rs, const struct set_index *t, uint32_t *refs)
{
	struct fp_ctx *fc = malloc(sizeof(*fc));

	if (!fc)
		return -1;
	/* in the order the chains were made: their rules lie in that order in memory */
	fp_init(fc);
	for (size_t i = 0; i < rs->nchains; i++) {
		const struct rs_chain *c = &rs->chains[i];

		rs->chains[i].fingerprint = chain_fingerprint(fc, c);
		for (size_t k = 0; k < c->nrules; k++) {
			const char *names[2] = { c->rules[k].set, c->rules[k].set2 };

			for (int j = 0; j < 2; j++) {
				size_t idx = names[j] ? set_index(t, rs, names[j]) : (size_t)-1;

				if (idx != (size_t)-1)
					refs[idx]++;
			}
		}
	}
	free(fc);
	return 0;
}

/* Sort and dedup each set's elements, but those in order already. */
static int finish_elems(struct rs_ruleset *rs, const bool *in_order)
{
	for (size_t i = 0; i < rs->nsets; i++) {
		if (in_order && in_order[i])
			continue;
		if (rs_sort_elems(&rs->sets[i]))
			return -1;
		if (!rs->sets[i].ndata && !rs->sets[i].verdict)
			dedup_elems(&rs->sets[i]);
	}
	return 0;
}

/* The sets by name; refs, by first index, follow them. */
static int sort_sets(struct rs_ruleset *rs, const struct set_index *t, uint32_t *refs)
{
	uint32_t *moved = malloc((rs->nsets + 1) * sizeof(*moved));

	if (!moved ||
	    rs_sort_by_name(rs->sets, rs->nsets, sizeof(*rs->sets), offsetof(struct rs_set, name))) {
		free(moved);
		return -1;
	}
	for (size_t i = 0; i < rs->nsets; i++)
		moved[i] = refs[set_index(t, rs, rs->sets[i].name)];
	memcpy(refs, moved, rs->nsets * sizeof(*refs));
	free(moved);
	return 0;
}

/* Creation order: by the number of rules naming the set, most first, then by name. */
static int set_create_order(struct rs_ruleset *rs, uint32_t *refs)
{
	free(rs->create_order);
	if (!(rs->create_order = malloc((rs->nsets + 1) * sizeof(*rs->create_order))))
		return -1;
	for (size_t i = 0; i < rs->nsets; i++)
		rs->create_order[i] = i;
	if (rs->nsets > 1)
		qsort_r(rs->create_order, rs->nsets, sizeof(*rs->create_order), by_refs, refs);
	return 0;
}

/* The chains' canonical order, maybe made by a second thread. */
struct chain_order {
	const struct rs_ruleset *rs;
	struct keyed *v;
	pthread_t thread;
	bool threaded;
};

static void *chain_order_worker(void *arg)
{
	struct chain_order *o = arg;

	o->v = rs_chain_order(o->rs);
	return NULL;
}

/*
 * Below this many chains a thread costs more than it saves.  At 12k chains
 * the order takes 1.1 ms, the fingerprints and the sets about as long.
 */
#define CHAIN_ORDER_THREAD_MIN 4096

static void chain_order_start(struct chain_order *o, const struct rs_ruleset *rs)
{
	*o = (struct chain_order){ .rs = rs };
	o->threaded = rs->nchains >= CHAIN_ORDER_THREAD_MIN &&
		      !pthread_create(&o->thread, NULL, chain_order_worker, o);
}

/* Wait for the order (or make it), and put the chains in it.  0 or -1. */
static int chain_order_finish(struct chain_order *o, struct rs_ruleset *rs, bool ok)
{
	if (o->threaded)
		pthread_join(o->thread, NULL);
	else if (ok)
		o->v = rs_chain_order(rs);
	if (ok && o->v)
		rs_apply_chain_order(rs, o->v);
	free(o->v);
	return ok && o->v ? 0 : -1;
}

int rs_finish_known(struct rs_ruleset *rs, const bool *in_order)
{
	uint32_t *refs = calloc(rs->nsets + 1, sizeof(*refs));
	struct set_index t = { 0 };
	struct chain_order o;
	bool ok;

	/* the chains' order needs only their names: it is made meanwhile */
	chain_order_start(&o, rs);
	ok = refs && !set_index_init(&t, rs) && !fingerprint_chains(rs, &t, refs) &&
	     !finish_elems(rs, in_order) && !sort_sets(rs, &t, refs);
	ok = !chain_order_finish(&o, rs, ok) && ok && !set_create_order(rs, refs);
	free(t.slot);
	free(refs);
	return ok ? 0 : -1;
}

int rs_finish(struct rs_ruleset *rs)
{
	return rs_finish_known(rs, NULL);
}
