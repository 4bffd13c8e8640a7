/* SPDX-License-Identifier: MIT */
/* Small helpers every part uses: growable arrays, hashing. */
#ifndef SVCC_UTIL_H
#define SVCC_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <errno.h>

/*
 * Make room for one more item in a growable array (ptr, n, cap).
 * Evaluates to 0, or -1 with errno ENOMEM.
 */
#define VEC_RESERVE(ptr, n, cap) \
	((n) < (cap) ? 0 : vec_grow((void **)&(ptr), &(cap), sizeof(*(ptr))))

static inline int vec_grow(void **ptr, size_t *cap, size_t size)
{
	size_t ncap = *cap ? *cap * 2 : 8;
	void *p = realloc(*ptr, ncap * size);

	if (!p) {
		errno = ENOMEM;
		return -1;
	}
	*ptr = p;
	*cap = ncap;
	return 0;
}

/* FNV-1a, 64 bits: stable across runs and machines (it names things). */
static inline uint64_t hash64(const void *data, size_t len)
{
	const unsigned char *p = data;
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

#endif
