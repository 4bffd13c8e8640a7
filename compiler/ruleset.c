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

struct rs_elem *rs_add_elems(struct rs_set *set, size_t n)
{
	struct rs_elem *e;

	if (rs_reserve_elems(set, n))
		return NULL;
	e = &set->elems[set->nelems];
	memset(e, 0, n * sizeof(*e));
	set->nelems += n;
	return e;
}

int rs_reserve_elems(struct rs_set *set, size_t n)
{
	struct rs_elem *v;

	if (set->nelems + n <= set->cap)
		return 0;
	if (!(v = realloc(set->elems, (set->nelems + n) * sizeof(*v))))
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

/* rs_elem_cmp's order (its sign), inlined: big-endian words compare as bytes do. */
static inline int elem_order(const struct rs_set *set, const struct rs_elem *a,
			     const struct rs_elem *b)
{
	uint32_t x, y;
	size_t i;

	if (set->key[0] == RS_F_U32 || set->key[0] == RS_F_MARK) {
		memcpy(&x, a->key, 4);
		memcpy(&y, b->key, 4);
		return (x > y) - (x < y);
	}
	for (i = 0; i + 4 <= set->key_len; i += 4) {
		memcpy(&x, a->key + i, 4);
		memcpy(&y, b->key + i, 4);
		if (x != y)
			return ntohl(x) > ntohl(y) ? 1 : -1;
	}
	if (i < set->key_len) {
		int d = memcmp(a->key + i, b->key + i, set->key_len - i);

		if (d)
			return d;
	}
	return set->interval ? (int)a->prefix - (int)b->prefix : 0;
}

/* ---- sorting ------------------------------------------------------------ */

/*
 * Sorting is most of rs_finish's work: a 10k-service config has ~230k
 * elements and ~20k chains.  What is sorted is an array of (64-bit key,
 * index) pairs (keyed_sort, a radix sort); the items then move once.
 */

/*
 * Move item v[k].idx to position k, for all k, in place: cycle by cycle,
 * each item moved once.  tmp holds one item.  Leaves v's indices changed.
 */
static void permute(void *items, size_t size, struct keyed *v, size_t n, void *tmp)
{
	char *base = items;

	for (size_t k = 0; k < n; k++) {
		size_t j = k;

		if (v[k].idx == k)
			continue;
		memcpy(tmp, base + k * size, size);
		for (;;) {
			size_t from = v[j].idx;

			v[j].idx = (uint32_t)j;	/* done */
			if (from == k) {
				memcpy(base + j * size, tmp, size);
				break;
			}
			memcpy(base + j * size, base + from * size, size);
			j = from;
		}
	}
}

/* ---- elements ---------------------------------------------------------- */

static bool elems_sorted(const struct rs_set *set)
{
	for (size_t i = 1; i < set->nelems; i++)
		if (elem_order(set, &set->elems[i - 1], &set->elems[i]) > 0)
			return false;
	return true;
}

#define PREFIX_POS RS_KEY_MAX	/* in a list of key byte positions: the prefix */

/*
 * The key byte positions (and PREFIX_POS) where elements differ, in
 * order: the others do not decide the order.  Returns their count.
 */
static size_t varying_bytes(const struct rs_set *set, uint8_t pos[RS_KEY_MAX + 1])
{
	const struct rs_elem *first = &set->elems[0];
	uint8_t diff[RS_KEY_MAX] = { 0 }, pdiff = 0;
	size_t n = 0;

	for (size_t i = 1; i < set->nelems; i++) {
		const struct rs_elem *e = &set->elems[i];

		for (size_t j = 0; j < RS_KEY_MAX; j++)
			diff[j] |= e->key[j] ^ first->key[j];
		pdiff |= e->prefix ^ first->prefix;
	}
	for (size_t j = 0; j < set->key_len; j++)
		if (diff[j])
			pos[n++] = (uint8_t)j;
	if (set->interval && pdiff)
		pos[n++] = PREFIX_POS;
	return n;
}

/* An element's sort key: its first eight varying bytes, big-endian. */
static uint64_t elem_sort_key(const struct rs_set *set, const struct rs_elem *e,
			      const uint8_t *pos, size_t npos)
{
	uint64_t k = 0;

	if (set->key[0] == RS_F_U32 || set->key[0] == RS_F_MARK) {
		uint32_t x;

		memcpy(&x, e->key, 4);
		return x;
	}
	for (size_t i = 0; i < npos && i < 8; i++)
		k = k << 8 | (pos[i] == PREFIX_POS ? e->prefix : e->key[pos[i]]);
	return k;
}

static int keyed_elem_cmp(const void *a, const void *b, void *arg)
{
	const struct keyed *x = a, *y = b;
	const struct rs_set *set = arg;
	int d = elem_order(set, &set->elems[x->idx], &set->elems[y->idx]);

	return d ? d : (x->idx > y->idx) - (x->idx < y->idx);	/* stable */
}

/* Items with equal sort keys (more than eight varying bytes): by the whole key. */
static void sort_ties(const struct rs_set *set, struct keyed *v, size_t n)
{
	for (size_t i = 0, j; i < n; i = j) {
		for (j = i + 1; j < n && v[j].key == v[i].key; j++)
			;
		if (j - i > 1)
			qsort_r(v + i, j - i, sizeof(*v), keyed_elem_cmp, (void *)set);
	}
}

/* Sort a set's elements into rs_elem_cmp order, stably.  0, or -1 (out of memory). */
static int sort_elems(struct rs_set *set)
{
	size_t n = set->nelems, npos = 0;
	uint8_t pos[RS_KEY_MAX + 1];
	struct keyed *v;
	struct rs_elem tmp;

	if (elems_sorted(set))
		return 0;
	if (!(v = malloc(2 * n * sizeof(*v))))
		return -1;
	if (set->key[0] != RS_F_U32 && set->key[0] != RS_F_MARK)
		npos = varying_bytes(set, pos);
	for (size_t i = 0; i < n; i++)
		v[i] = (struct keyed){ elem_sort_key(set, &set->elems[i], pos, npos), (uint32_t)i };
	keyed_sort(v, v + n, n);
	if (npos > 8)
		sort_ties(set, v, n);
	permute(set->elems, sizeof(*set->elems), v, n, &tmp);
	free(v);
	return 0;
}

/* ---- names ------------------------------------------------------------- */

/*
 * Eight bytes of a name from depth on, big-endian, zero past its end:
 * strcmp's order.  The name is known to be at least depth long.
 */
static uint64_t name_chunk(const char *s, size_t depth)
{
	uint64_t k = 0;

	s += depth;
	for (int i = 0; i < 8; i++) {
		k = k << 8 | (uint8_t)s[i];
		if (!s[i])
			return k << (8 * (7 - i));
	}
	return k;
}

/* Sort v (indices into names) by the names from depth on, stably: eight bytes a level. */
static void sort_names_from(const char **names, struct keyed *v, struct keyed *tmp,
			    size_t n, size_t depth)
{
	for (size_t i = 0; i < n; i++)
		v[i].key = name_chunk(names[v[i].idx], depth);
	keyed_sort(v, tmp, n);
	for (size_t i = 0, j; i < n; i = j) {
		for (j = i + 1; j < n && v[j].key == v[i].key; j++)
			;
		/* equal so far, and not ended (no NUL in the chunk): the next eight decide */
		if (j - i > 1 && (v[i].key & 0xff))
			sort_names_from(names, v + i, tmp, j - i, depth + 8);
	}
}

/*
 * Sort n items (of size bytes, each with a name at name_off) by name,
 * those for which late() holds after the others.  0, or -1.
 */
static int sort_by_name(void *items, size_t n, size_t size, size_t name_off,
			bool (*late)(const void *item))
{
	char *base = items, *tmp;
	const char **names;
	struct keyed *v;
	size_t nearly = 0, k = 0;
	int rc = -1;

	if (n < 2)
		return 0;
	names = malloc(n * sizeof(*names));
	v = malloc(2 * n * sizeof(*v));
	tmp = malloc(size);
	if (!names || !v || !tmp)
		goto out;
	for (size_t i = 0; i < n; i++) {
		names[i] = *(char *const *)(base + i * size + name_off);
		nearly += !late || !late(base + i * size);
	}
	/* the early ones, then the late ones, each in their first order */
	for (size_t i = 0; i < n; i++)
		if (!late || !late(base + i * size))
			v[k++].idx = (uint32_t)i;
	for (size_t i = 0; i < n; i++)
		if (late && late(base + i * size))
			v[k++].idx = (uint32_t)i;
	sort_names_from(names, v, v + n, nearly, 0);
	sort_names_from(names, v + nearly, v + n, n - nearly, 0);
	permute(items, size, v, n, tmp);
	rc = 0;
out:
	free(names);
	free(v);
	free(tmp);
	return rc;
}

int rs_sort_by_name(void *items, size_t n, size_t size, size_t name_off)
{
	return sort_by_name(items, n, size, name_off, NULL);
}

static bool is_base_chain(const void *c)
{
	return ((const struct rs_chain *)c)->hook != RS_HOOK_NONE;
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
		struct rs_elem *e = &set->elems[i];

		if (kept) {
			struct rs_elem *last = &set->elems[kept - 1];

			if (set->interval ? prefix_contains(set, last, e) : !elem_order(set, last, e))
				continue;
		}
		if (kept != i)
			set->elems[kept] = *e;
		kept++;
	}
	set->nelems = kept;
}

int rs_finish(struct rs_ruleset *rs)
{
	struct fp_ctx *fc = malloc(sizeof(*fc));

	if (!fc)
		return -1;
	/* in the order the chains were made: their rules lie in that order in memory */
	fp_init(fc);
	for (size_t i = 0; i < rs->nchains; i++)
		rs->chains[i].fingerprint = chain_fingerprint(fc, &rs->chains[i]);
	free(fc);
	if (sort_by_name(rs->sets, rs->nsets, sizeof(*rs->sets), offsetof(struct rs_set, name),
			 NULL))
		return -1;
	for (size_t i = 0; i < rs->nsets; i++)
		if (sort_elems(&rs->sets[i]))
			return -1;
	for (size_t i = 0; i < rs->nsets; i++)
		if (!rs->sets[i].ndata && !rs->sets[i].verdict)
			dedup_elems(&rs->sets[i]);
	/* regular chains first, then base chains; each group by name */
	return sort_by_name(rs->chains, rs->nchains, sizeof(*rs->chains),
			    offsetof(struct rs_chain, name), is_base_chain);
}
