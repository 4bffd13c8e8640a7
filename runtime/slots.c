// SPDX-License-Identifier: MIT
/*
 * Stable endpoint slots (slots.h).
 *
 * A service port's endpoints fill the slots offset .. offset+mod-1 of its
 * endpoint map, in sorted order when compiled.  Replacing one endpoint by
 * another would move every endpoint after it one slot on: a rolling update
 * of a 1,000-endpoint service would rewrite about 500 elements per pod.
 * So the runtime keeps the kernel's arrangement: an endpoint that stays
 * keeps its slot (each of its slots, for a weight above 1), and the
 * endpoints that come take the slots left free, in sorted order.  The
 * shares do not change: the same endpoints hold the same number of slots.
 * Replacing one endpoint then changes one element; removing one moves the
 * last slot's endpoint into its slot (the range is one shorter); adding one
 * takes the new last slot.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "slots.h"
#include "util.h"

static uint32_t key_of(const struct rs_elem *e)
{
	uint32_t k;

	memcpy(&k, e->key, 4);	/* numgen keys are host order */
	return k;
}

static const struct rs_elem *at(const void *v, size_t stride, size_t i)
{
	return (const struct rs_elem *)((const char *)v + i * stride);
}

/* The first element of v (sorted by key) whose key is >= k. */
static size_t lower_bound(const void *v, size_t n, size_t stride, uint32_t k)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (key_of(at(v, stride, mid)) < k)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

struct sorter {
	const uint8_t *data;	/* mod entries of dlen bytes */
	size_t dlen;
};

static int data_cmp(const void *a, const void *b, void *arg)
{
	const struct sorter *s = arg;
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	int d = memcmp(s->data + x * s->dlen, s->data + y * s->dlen, s->dlen);

	return d ? d : (x > y) - (x < y);	/* equal data: canonical order */
}

/* Find an unused entry of the sorted index whose data is d; its index in data, or -1. */
static long take(const struct sorter *s, const uint32_t *idx, bool *used, uint32_t n,
		 const uint8_t *d)
{
	uint32_t lo = 0, hi = n;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (memcmp(s->data + idx[mid] * s->dlen, d, s->dlen) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < n && !memcmp(s->data + idx[lo] * s->dlen, d, s->dlen); lo++)
		if (!used[idx[lo]]) {
			used[idx[lo]] = true;
			return idx[lo];
		}
	return -1;
}

int slots_align_range(const struct rs_set *s, const void *old, size_t nold, void *want,
		      size_t nwant, uint32_t offset, uint32_t mod, bool *changed)
{
	size_t stride = s->stride, dlen = s->data_len, o, w;
	uint8_t *data = NULL, *result = NULL;
	uint32_t *idx = NULL;
	bool *used = NULL, *filled = NULL;
	struct sorter so;
	uint32_t next = 0;
	int ret = -1;

	*changed = false;
	o = lower_bound(old, nold, stride, offset);
	w = lower_bound(want, nwant, stride, offset);
	/* the range must be whole in want: mod elements, keys offset.. */
	if (w + mod > nwant || key_of(at(want, stride, w)) != offset ||
	    key_of(at(want, stride, w + mod - 1)) != offset + mod - 1)
		return 0;
	/* nothing of it in the kernel yet, or nothing moved: canonical */
	if (o == nold || key_of(at(old, stride, o)) >= offset + mod)
		return 0;
	if (!(data = malloc((size_t)mod * dlen)) || !(result = malloc((size_t)mod * dlen)) ||
	    !(idx = malloc(mod * sizeof(*idx))) || !(used = calloc(mod, sizeof(*used))) ||
	    !(filled = calloc(mod, sizeof(*filled))))
		goto out;
	for (uint32_t i = 0; i < mod; i++) {
		memcpy(data + i * dlen, rs_elem_data(s, at(want, stride, w + i)), dlen);
		idx[i] = i;
	}
	so = (struct sorter){ .data = data, .dlen = dlen };
	qsort_r(idx, mod, sizeof(*idx), data_cmp, &so);
	/* an endpoint the kernel has in a slot of the range, and still wanted, stays there */
	for (; o < nold; o++) {
		const struct rs_elem *e = at(old, stride, o);
		uint32_t k = key_of(e);
		long i;

		if (k >= offset + mod)
			break;
		if ((i = take(&so, idx, used, mod, rs_elem_data(s, e))) < 0)
			continue;
		memcpy(result + (k - offset) * dlen, data + i * dlen, dlen);
		filled[k - offset] = true;
	}
	/* the others take the free slots, in the compiled (sorted) order */
	for (uint32_t i = 0; i < mod; i++) {
		if (used[i])
			continue;
		while (filled[next])
			next++;
		memcpy(result + next * dlen, data + i * dlen, dlen);
		filled[next] = true;
	}
	if (memcmp(result, data, (size_t)mod * dlen)) {
		for (uint32_t i = 0; i < mod; i++)
			memcpy(rs_elem_data(s, at(want, stride, w + i)), result + i * dlen, dlen);
		*changed = true;
	}
	ret = 0;
out:
	if (ret)
		errno = ENOMEM;
	free(data);
	free(result);
	free(idx);
	free(used);
	free(filled);
	return ret;
}

/* Does old hold the range exactly as want has it (the usual case)? */
static bool range_same(const struct rs_set *os, const struct rs_set *ws, uint32_t offset,
		       uint32_t mod)
{
	size_t o = lower_bound(os->elems, os->nelems, os->stride, offset);
	size_t w = lower_bound(ws->elems, ws->nelems, ws->stride, offset);

	if (o + mod > os->nelems || w + mod > ws->nelems)
		return false;
	if (o + mod < os->nelems && key_of(at(os->elems, os->stride, o + mod)) < offset + mod)
		return false;
	for (uint32_t i = 0; i < mod; i++) {
		const struct rs_elem *a = at(os->elems, os->stride, o + i);
		const struct rs_elem *b = at(ws->elems, ws->stride, w + i);

		if (key_of(a) != key_of(b) || memcmp(rs_elem_data(os, a), rs_elem_data(ws, b), ws->data_len))
			return false;
	}
	return true;
}

static bool is_epmap_rule(const struct rs_rule *r)
{
	return r->kind == RS_DNAT_NUMGEN && r->set && r->mod;
}

int slots_align(const struct rs_ruleset *old, const struct rs_ruleset *want, struct aligned *out)
{
	memset(out, 0, sizeof(*out));
	out->rs = want;
	if (!old || !old->nsets || !want->nsets)
		return 0;
	for (size_t i = 0; i < want->nchains; i++) {
		const struct rs_chain *c = &want->chains[i];

		for (size_t k = 0; k < c->nrules; k++) {
			const struct rs_rule *r = &c->rules[k];
			const struct rs_set *os, *ws;
			size_t si;
			bool changed;

			if (!is_epmap_rule(r) || !(os = rs_set_find(old, r->set)) || os->unread ||
			    !(ws = rs_set_find(out->rs, r->set)) || ws->stride != os->stride ||
			    ws->data_len != os->data_len || ws->key_len != 4)
				continue;
			if (range_same(os, ws, r->offset, r->mod))
				continue;
			si = (size_t)(ws - out->rs->sets);
			/* a private copy of the set's elements before the first change */
			if (!out->sets || !out->owned[si]) {
				void *copy;

				if (!out->sets) {
					if (!(out->sets = malloc((want->nsets + 1) * sizeof(*out->sets))) ||
					    !(out->owned = calloc(want->nsets + 1, sizeof(*out->owned))))
						goto oom;
					memcpy(out->sets, want->sets, want->nsets * sizeof(*out->sets));
					out->copy = *want;
					out->copy.sets = out->sets;
					out->copy.sets_cap = want->nsets;
					out->rs = &out->copy;
				}
				if (!(copy = malloc(ws->nelems * ws->stride + 1)))
					goto oom;
				memcpy(copy, ws->elems, ws->nelems * ws->stride);
				out->sets[si].elems = copy;
				out->sets[si].cap = ws->nelems;
				out->owned[si] = true;
				ws = &out->sets[si];
			}
			if (slots_align_range(ws, os->elems, os->nelems, out->sets[si].elems,
					      ws->nelems, r->offset, r->mod, &changed))
				goto oom;
			out->moved += changed;
		}
	}
	return 0;
oom:
	slots_aligned_free(out);
	errno = ENOMEM;
	return -1;
}

void slots_aligned_free(struct aligned *a)
{
	if (a->sets)
		for (size_t i = 0; i < a->copy.nsets; i++)
			if (a->owned[i])
				free(a->sets[i].elems);
	free(a->sets);
	free(a->owned);
	memset(a, 0, sizeof(*a));
}
