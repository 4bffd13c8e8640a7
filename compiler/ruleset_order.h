/* SPDX-License-Identifier: MIT */
/* rs_elem_cmp's order inlined, for the loops over every element (sort, dedup). */
#ifndef SVCC_RULESET_ORDER_H
#define SVCC_RULESET_ORDER_H

#include <string.h>
#include <arpa/inet.h>

#include "ruleset.h"
#include "util.h"

/*
 * ruleset_sort.c: rs_sort_chains in two steps.  rs_chain_order reads only
 * the chains' names and hooks, so that a second thread may take it while
 * this one computes fingerprints: v[k].idx is the k-th chain in canonical
 * order (2 * nchains pairs; NULL when out of memory).
 * rs_apply_chain_order moves the chains there (v's indices change).
 */
struct keyed *rs_chain_order(const struct rs_ruleset *rs);
void rs_apply_chain_order(struct rs_ruleset *rs, struct keyed *v);

/*
 * ruleset.c: rs_finish, told which sets (by their index now) have their
 * elements sorted and free of repeats already, as the lowering makes the
 * big ones: checking costs a pass over them.  in_order may be NULL.
 */
int rs_finish_known(struct rs_ruleset *rs, const bool *in_order);

/* rs_elem_cmp's order (its sign), inlined: big-endian words compare as bytes do. */
static inline int rs_elem_order(const struct rs_set *set, const struct rs_elem *a,
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

#endif
