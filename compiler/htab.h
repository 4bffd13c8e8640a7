/* SPDX-License-Identifier: MIT */
/* An open-addressing hash table from byte-string keys to pointers. */
#ifndef SVCC_HTAB_H
#define SVCC_HTAB_H

#include <stddef.h>
#include <stdint.h>

struct htab_slot {
	const void *key;	/* borrowed: must outlive the entry */
	size_t len;
	uint64_t hash;
	void *value;
};

struct htab {
	struct htab_slot *slots;
	size_t n, cap;		/* cap is 0 or a power of two */
};

void htab_free(struct htab *t);
void *htab_get(const struct htab *t, const void *key, size_t len);
/* Insert; if the key is present, return its value and change nothing.
 * Returns NULL when inserted; sets *err on out of memory. */
void *htab_put(struct htab *t, const void *key, size_t len, void *value, int *err);
int htab_del(struct htab *t, const void *key, size_t len);

#endif
