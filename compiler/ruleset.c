/* SPDX-License-Identifier: MIT */
/* The ruleset model: construction helpers, canonical order, fingerprints. */
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include "ruleset.h"
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
	free(rs->sets);
	free(rs->chains);
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

	if (VEC_RESERVE(set->elems, set->nelems, set->cap))
		return NULL;
	e = &set->elems[set->nelems++];
	memset(e, 0, sizeof(*e));
	return e;
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

struct rs_rule *rs_add_rule(struct rs_chain *c)
{
	struct rs_rule *r;

	if (VEC_RESERVE(c->rules, c->nrules, c->cap))
		return NULL;
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

	return bsearch(&key, rs->sets, rs->nsets, sizeof(key), set_name_cmp);
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

struct rs_chain *rs_chain_find(const struct rs_ruleset *rs, const char *name)
{
	struct rs_chain key = { .name = (char *)name };
	struct rs_chain *c;

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

static int elem_qsort_cmp(const void *a, const void *b, void *set)
{
	return rs_elem_cmp(set, a, b);
}

/* Mix a rule's fields; strings by content, so the hash is the same in every run. */
static uint64_t mix(uint64_t h, const void *p, size_t n)
{
	return hash64(p, n) ^ (h * 0x9e3779b97f4a7c15ull);
}

static uint64_t mix_str(uint64_t h, const char *s)
{
	return s ? mix(h, s, strlen(s) + 1) : mix(h, "", 0);
}

static uint64_t chain_fingerprint(const struct rs_chain *c)
{
	uint64_t h = 0x5356434301ull;	/* bump to change every fingerprint */

	for (size_t i = 0; i < c->nrules; i++) {
		const struct rs_rule *r = &c->rules[i];
		const uint32_t f[] = { r->kind, r->family, r->l4proto, r->mod, r->offset, r->mark,
				       r->timeout, r->port };

		h = mix(h, f, sizeof(f));
		h = mix(h, r->addr, sizeof(r->addr));
		h = mix_str(h, r->set2);
		h = mix_str(h, r->set);
		h = mix_str(h, r->target);
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
		struct rs_elem *e = &set->elems[i];

		if (kept) {
			struct rs_elem *last = &set->elems[kept - 1];

			if (set->interval ? prefix_contains(set, last, e) : !rs_elem_cmp(set, last, e))
				continue;
		}
		set->elems[kept++] = *e;
	}
	set->nelems = kept;
}

int rs_finish(struct rs_ruleset *rs)
{
	if (rs->nsets)
		qsort(rs->sets, rs->nsets, sizeof(*rs->sets), set_name_cmp);
	for (size_t i = 0; i < rs->nsets; i++)
		if (rs->sets[i].nelems)
			qsort_r(rs->sets[i].elems, rs->sets[i].nelems, sizeof(struct rs_elem),
			elem_qsort_cmp, &rs->sets[i]);
	for (size_t i = 0; i < rs->nsets; i++)
		if (!rs->sets[i].ndata && !rs->sets[i].verdict)
			dedup_elems(&rs->sets[i]);
	if (rs->nchains)
		qsort(rs->chains, rs->nchains, sizeof(*rs->chains), chain_cmp);
	for (size_t i = 0; i < rs->nchains; i++)
		rs->chains[i].fingerprint = chain_fingerprint(&rs->chains[i]);
	return 0;
}
