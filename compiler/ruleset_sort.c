/* SPDX-License-Identifier: MIT */
/*
 * The canonical order of a ruleset: elements by key, sets and chains by
 * name.  Most of rs_finish's work: a 10k-service config has ~230k elements
 * and ~20k chains, so the lowering makes most of them in order already, and
 * what is sorted goes through a radix sort of (64-bit key, index) pairs.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include "ruleset.h"
#include "ruleset_order.h"
#include "util.h"

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
		if (rs_elem_order(set, rs_elem_at(set, i - 1), rs_elem_at(set, i)) > 0)
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
	const struct rs_elem *first = rs_elem_at(set, 0);
	uint8_t diff[RS_KEY_MAX] = { 0 }, pdiff = 0;
	size_t n = 0;

	for (size_t i = 1; i < set->nelems; i++) {
		const struct rs_elem *e = rs_elem_at(set, i);

		for (size_t j = 0; j < set->key_len; j++)
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
	int d = rs_elem_order(set, rs_elem_at(set, x->idx), rs_elem_at(set, y->idx));

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
int rs_sort_elems(struct rs_set *set)
{
	size_t n = set->nelems, npos = 0;
	uint8_t pos[RS_KEY_MAX + 1];
	struct keyed *v;
	union rs_elem_buf tmp;

	if (elems_sorted(set))
		return 0;
	if (!(v = malloc(2 * n * sizeof(*v))))
		return -1;
	if (set->key[0] != RS_F_U32 && set->key[0] != RS_F_MARK)
		npos = varying_bytes(set, pos);
	for (size_t i = 0; i < n; i++)
		v[i] = (struct keyed){ elem_sort_key(set, rs_elem_at(set, i), pos, npos), (uint32_t)i };
	keyed_sort(v, v + n, n);
	if (npos > 8)
		sort_ties(set, v, n);
	permute(set->elems, set->stride, v, n, &tmp);
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

#define NAME_INSERTION_MAX 64

/* Sort v (indices into names) by the names from depth on, stably: eight bytes a level. */
static void sort_names_from(const char **names, struct keyed *v, struct keyed *tmp,
			    size_t n, size_t depth)
{
	for (size_t i = 0; i < n; i++)
		v[i].key = name_chunk(names[v[i].idx], depth);
	/* most groups below the first level are small: a radix pass costs them more */
	if (n <= NAME_INSERTION_MAX)
		keyed_insertion_sort(v, n);
	else
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
 * The name order of n items (of size bytes, each with a name at name_off),
 * those for which late() holds after the others: v[k].idx is the k-th
 * item's index.  Reads only the names (and what late() reads).  v: 2n
 * pairs, the caller's to free; NULL when out of memory.
 */
static struct keyed *name_order(const void *items, size_t n, size_t size, size_t name_off,
				bool (*late)(const void *item))
{
	const char *base = items;
	const char **names = malloc((n + 1) * sizeof(*names));
	struct keyed *v = malloc((2 * n + 1) * sizeof(*v));
	size_t nearly = 0, k = 0;

	if (!names || !v) {
		free(names);
		free(v);
		return NULL;
	}
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
	if (n > 1) {
		sort_names_from(names, v, v + n, nearly, 0);
		sort_names_from(names, v + nearly, v + n, n - nearly, 0);
	}
	free(names);
	return v;
}

/* Sort n items by name, those for which late() holds after the others.  0, or -1. */
static int sort_by_name(void *items, size_t n, size_t size, size_t name_off,
			bool (*late)(const void *item))
{
	struct keyed *v;
	char *tmp;

	if (n < 2)
		return 0;
	v = name_order(items, n, size, name_off, late);
	tmp = malloc(size);
	if (v && tmp)
		permute(items, size, v, n, tmp);
	free(v);
	free(tmp);
	return v && tmp ? 0 : -1;
}

int rs_sort_by_name(void *items, size_t n, size_t size, size_t name_off)
{
	return sort_by_name(items, n, size, name_off, NULL);
}

static bool is_base_chain(const void *c)
{
	return ((const struct rs_chain *)c)->hook != RS_HOOK_NONE;
}

int rs_sort_chains(struct rs_ruleset *rs)
{
	/* regular chains first, then base chains; each group by name */
	return sort_by_name(rs->chains, rs->nchains, sizeof(*rs->chains),
			    offsetof(struct rs_chain, name), is_base_chain);
}

struct keyed *rs_chain_order(const struct rs_ruleset *rs)
{
	return name_order(rs->chains, rs->nchains, sizeof(*rs->chains),
			  offsetof(struct rs_chain, name), is_base_chain);
}

void rs_apply_chain_order(struct rs_ruleset *rs, struct keyed *v)
{
	struct rs_chain tmp;

	permute(rs->chains, sizeof(*rs->chains), v, rs->nchains, &tmp);
}
