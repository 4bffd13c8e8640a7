/* SPDX-License-Identifier: MIT */
/* What the libFuzzer harnesses share: splitting an input, failing loudly. */
#ifndef SVCC_FUZZ_H
#define SVCC_FUZZ_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Two documents in one input: the separator is a line "%%" (no .svc or
 * JSON text has one outside a comment or string that spans lines). */
#define FUZZ_SEP "\n%%\n"

static inline void fuzz_split(const uint8_t *data, size_t size, size_t *alen,
			      const uint8_t **b, size_t *blen)
{
	const uint8_t *p = memmem(data, size, FUZZ_SEP, sizeof(FUZZ_SEP) - 1);

	if (!p) {
		*alen = size;
		*b = data + size;
		*blen = 0;
		return;
	}
	*alen = (size_t)(p - data);
	*b = p + sizeof(FUZZ_SEP) - 1;
	*blen = size - *alen - (sizeof(FUZZ_SEP) - 1);
}

/* A broken invariant: abort, so that libFuzzer keeps the input. */
#define FUZZ_ASSERT(cond) do { if (!(cond)) { \
	fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond); \
	abort(); } } while (0)

#endif
