/* SPDX-License-Identifier: MIT */
/* Linear probing with backward-shift deletion: no tombstones. */
#include <stdlib.h>
#include <string.h>

#include "htab.h"
#include "util.h"

void htab_free(struct htab *t)
{
	free(t->slots);
	*t = (struct htab){ 0 };
}

static struct htab_slot *find(const struct htab *t, const void *key, size_t len, uint64_t h)
{
	size_t mask = t->cap - 1;

	for (size_t i = h & mask;; i = (i + 1) & mask) {
		struct htab_slot *s = &t->slots[i];

		if (!s->key)
			return s;
		if (s->hash == h && s->len == len && !memcmp(s->key, key, len))
			return s;
	}
}

void *htab_get(const struct htab *t, const void *key, size_t len)
{
	if (!t->cap)
		return NULL;
	return find(t, key, len, hash_words(key, len))->value;
}

static int grow(struct htab *t)
{
	size_t ncap = t->cap ? t->cap * 2 : 64;
	struct htab_slot *old = t->slots;
	size_t ocap = t->cap;

	t->slots = calloc(ncap, sizeof(*t->slots));
	if (!t->slots) {
		t->slots = old;
		return -1;
	}
	t->cap = ncap;
	for (size_t i = 0; i < ocap; i++)
		if (old[i].key)
			*find(t, old[i].key, old[i].len, old[i].hash) = old[i];
	free(old);
	return 0;
}

void *htab_put(struct htab *t, const void *key, size_t len, void *value, int *err)
{
	uint64_t h = hash_words(key, len);
	struct htab_slot *s;

	if ((t->n + 1) * 4 > t->cap * 3 && grow(t)) {
		*err = -1;
		return NULL;
	}
	s = find(t, key, len, h);
	if (s->key)
		return s->value;
	*s = (struct htab_slot){ .key = key, .len = len, .hash = h, .value = value };
	t->n++;
	return NULL;
}

int htab_del(struct htab *t, const void *key, size_t len)
{
	size_t mask = t->cap - 1, i, j;
	struct htab_slot *s;

	if (!t->cap)
		return -1;
	s = find(t, key, len, hash_words(key, len));
	if (!s->key)
		return -1;
	i = (size_t)(s - t->slots);
	/* Shift later members of the probe run back over the hole. */
	for (j = (i + 1) & mask; t->slots[j].key; j = (j + 1) & mask) {
		size_t home = t->slots[j].hash & mask;

		if (((j - home) & mask) >= ((j - i) & mask)) {
			t->slots[i] = t->slots[j];
			i = j;
		}
	}
	t->slots[i] = (struct htab_slot){ 0 };
	t->n--;
	return 0;
}
