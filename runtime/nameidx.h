/* SPDX-License-Identifier: MIT */
/*
 * A fixed-size string -> index map, so that the diff finds a set or chain by
 * name in O(1) whatever the ruleset's size.  The names are borrowed.
 */
#ifndef SVCC_NAMEIDX_H
#define SVCC_NAMEIDX_H

#include <stddef.h>

struct nameidx {
	const char **names;	/* NULL: empty slot */
	size_t *idx;
	size_t mask;
};

/* Room for @n names.  Returns 0, or -1 on ENOMEM. */
int nameidx_init(struct nameidx *ni, size_t n);
void nameidx_fini(struct nameidx *ni);
void nameidx_put(struct nameidx *ni, const char *name, size_t idx);
/* The index stored for @name, or (size_t)-1. */
size_t nameidx_get(const struct nameidx *ni, const char *name);

#endif
