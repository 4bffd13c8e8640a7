/* SPDX-License-Identifier: MIT */
/* Stable endpoint slots: the kernel's arrangement of a service's endpoints kept (slots.c). */
#ifndef SVCC_SLOTS_H
#define SVCC_SLOTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ruleset.h"

/* A ruleset as wanted, its endpoint maps arranged as the kernel has them. */
struct aligned {
	const struct rs_ruleset *rs;	/* want itself, or copy */
	struct rs_ruleset copy;		/* want, with sets of its own */
	struct rs_set *sets;		/* copy's sets: want's, some with their own elements */
	bool *owned;			/* sets[i].elems is this copy's */
	size_t moved;			/* ranges arranged otherwise than compiled */
};

/*
 * want with each endpoint range (offset .. offset+mod-1 of an endpoint
 * map, as want's "dnat ... numgen inc mod MOD offset OFFSET map @SET"
 * rules name them) arranged as in old: endpoints old has in a slot of the
 * range and want still has stay in it; the others take the free slots in
 * want's order.  want is not changed; out->rs is want itself when nothing
 * moves.  old NULL: nothing to keep.  0, or -1 with errno ENOMEM.
 */
int slots_align(const struct rs_ruleset *old, const struct rs_ruleset *want, struct aligned *out);
void slots_aligned_free(struct aligned *a);

/*
 * One range, in place: want (nwant elements of s's layout, sorted, the
 * range dense) arranged after old (nold elements, sorted).  *changed if
 * any element's data moved.  0, or -1 with errno ENOMEM.
 */
int slots_align_range(const struct rs_set *s, const void *old, size_t nold, void *want,
		      size_t nwant, uint32_t offset, uint32_t mod, bool *changed);

#endif
