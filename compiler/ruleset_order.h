/* SPDX-License-Identifier: MIT */
/* rs_elem_cmp's order inlined, for the loops over every element (sort, dedup). */
#ifndef SVCC_RULESET_ORDER_H
#define SVCC_RULESET_ORDER_H

#include <string.h>
#include <arpa/inet.h>

#include "ruleset.h"

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
