/* SPDX-License-Identifier: MIT */
/* Small helpers every part uses: growable arrays, hashing. */
#ifndef SVCC_UTIL_H
#define SVCC_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
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

#define FNV64_OFFSET 0xcbf29ce484222325ull
#define FNV64_PRIME  0x100000001b3ull

/* FNV-1a on from h, the hash of what came before: hash64(a . b) = hash64_more(hash64(a), b). */
static inline uint64_t hash64_more(uint64_t h, const void *data, size_t len)
{
	const unsigned char *p = data;

	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= FNV64_PRIME;
	}
	return h;
}

/* FNV-1a, 64 bits: stable across runs and machines (it names things). */
static inline uint64_t hash64(const void *data, size_t len)
{
	return hash64_more(FNV64_OFFSET, data, len);
}

/*
 * Eight bytes a step, then mixed so that the low bits depend on all of
 * them: for hash tables and the runtime's sums of hashes, where hash64's
 * byte-by-byte loop is too slow.  Not for what names things (hash64).
 */
static inline uint64_t hash_words(const void *data, size_t len)
{
	const unsigned char *p = data;
	uint64_t h = 0x9e3779b97f4a7c15ull ^ len, w;

	for (; len >= 8; p += 8, len -= 8) {
		memcpy(&w, p, 8);
		h = (h ^ w) * 0xbf58476d1ce4e5b9ull;
		h ^= h >> 31;
	}
	for (w = 0; len; len--)
		w = w << 8 | p[len - 1];
	h = (h ^ w) * 0x94d049bb133111ebull;
	return h ^ h >> 29;
}

/*
 * Sorting by a 64-bit key: an array of (key, index) pairs is sorted, and
 * the caller then visits or moves its items once, by index.
 */
struct keyed {
	uint64_t key;
	uint32_t idx;
};

/* Stable, by key; for a few items. */
static inline void keyed_insertion_sort(struct keyed *v, size_t n)
{
	for (size_t i = 1; i < n; i++) {
		struct keyed x = v[i];
		size_t j = i;

		for (; j > 0 && v[j - 1].key > x.key; j--)
			v[j] = v[j - 1];
		v[j] = x;
	}
}

/*
 * Stable LSD radix sort by key, a byte a pass; a byte that all keys share
 * costs no pass.  tmp has room for n pairs.
 */
static inline void keyed_sort(struct keyed *v, struct keyed *tmp, size_t n)
{
	uint32_t count[8][256];
	struct keyed *src = v, *dst = tmp, *t;
	uint64_t any = 0, all = ~0ull, differ;
	int bytes[8], nbytes = 0;

	if (n <= 16) {
		keyed_insertion_sort(v, n);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		any |= v[i].key;
		all &= v[i].key;
	}
	differ = any ^ all;
	for (int b = 0; b < 8; b++)
		if ((differ >> (8 * b)) & 0xff) {
			memset(count[nbytes], 0, sizeof(count[nbytes]));
			bytes[nbytes++] = b;
		}
	for (size_t i = 0; i < n; i++)
		for (int j = 0; j < nbytes; j++)
			count[j][(v[i].key >> (8 * bytes[j])) & 0xff]++;
	for (int j = 0; j < nbytes; j++) {
		uint32_t *c = count[j], sum = 0;
		int shift = 8 * bytes[j];

		for (int d = 0; d < 256; d++) {
			uint32_t k = c[d];

			c[d] = sum;
			sum += k;
		}
		for (size_t i = 0; i < n; i++)
			dst[c[(src[i].key >> shift) & 0xff]++] = src[i];
		t = src, src = dst, dst = t;
	}
	if (src != v)
		memcpy(v, src, n * sizeof(*v));
}

/* Big-endian loads: byte strings compare as these numbers do. */
static inline uint64_t load_be64(const uint8_t *p)
{
	uint64_t x = 0;

	for (int i = 0; i < 8; i++)
		x = x << 8 | p[i];
	return x;
}

static inline uint32_t load_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

#endif
