// SPDX-License-Identifier: MIT
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nameidx.h"
#include "util.h"

/* Names are long ("svc-namespace/name/tcp/8080"), and many. */
static size_t hash(const char *s)
{
	return (size_t)hash_words(s, strlen(s));
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
