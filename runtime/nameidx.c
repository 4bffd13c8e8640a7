// SPDX-License-Identifier: MIT
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nameidx.h"

/* Eight bytes a step: names are long ("svc-namespace/name/tcp/8080"), and many. */
static size_t hash(const char *s)
{
	size_t len = strlen(s);
	uint64_t h = 0x9e3779b97f4a7c15ull ^ len, w;

	for (; len >= 8; s += 8, len -= 8) {
		memcpy(&w, s, 8);
		h = (h ^ w) * 0xbf58476d1ce4e5b9ull;
		h ^= h >> 31;
	}
	for (w = 0; len; len--)
		w = w << 8 | (unsigned char)s[len - 1];
	h = (h ^ w) * 0x94d049bb133111ebull;
	return (size_t)(h ^ h >> 29);
}

int nameidx_init(struct nameidx *ni, size_t n)
{
	size_t sz = 16;

	while (sz < 2 * n)	/* load factor <= 1/2 */
		sz <<= 1;
	ni->names = calloc(sz, sizeof(*ni->names));
	ni->idx = malloc(sz * sizeof(*ni->idx));
	ni->mask = sz - 1;
	if (!ni->names || !ni->idx) {
		nameidx_fini(ni);
		return -1;
	}
	return 0;
}

void nameidx_fini(struct nameidx *ni)
{
	free(ni->names);
	free(ni->idx);
	ni->names = NULL;
	ni->idx = NULL;
}

void nameidx_put(struct nameidx *ni, const char *name, size_t idx)
{
	size_t i = hash(name) & ni->mask;

	while (ni->names[i] && strcmp(ni->names[i], name))
		i = (i + 1) & ni->mask;
	ni->names[i] = name;
	ni->idx[i] = idx;
}

size_t nameidx_get(const struct nameidx *ni, const char *name)
{
	size_t i = hash(name) & ni->mask;

	/* the same string, often: a view lends the desired ruleset's names */
	for (; ni->names[i]; i = (i + 1) & ni->mask)
		if (ni->names[i] == name || !strcmp(ni->names[i], name))
			return ni->idx[i];
	return (size_t)-1;
}
