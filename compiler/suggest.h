/* SPDX-License-Identifier: MIT */
/*
 * "did you mean ...?": the candidate nearest a misspelled word.  Header
 * only, so that the parser and the command (which sees no library
 * internals) share it.
 */
#ifndef SVCC_SUGGEST_H
#define SVCC_SUGGEST_H

#include <stddef.h>
#include <string.h>

/* Longer words are not misspellings of the language's keywords. */
#define SUGGEST_MAX 32

/*
 * Edits from a to b: insertions, deletions, substitutions, and swaps of two
 * neighbours ("endpiont"), each one edit (optimal string alignment).
 */
static inline size_t suggest_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	size_t d[SUGGEST_MAX + 1][SUGGEST_MAX + 1];

	if (la > SUGGEST_MAX || lb > SUGGEST_MAX)
		return (size_t)-1;
	for (size_t i = 0; i <= la; i++)
		d[i][0] = i;
	for (size_t j = 0; j <= lb; j++)
		d[0][j] = j;
	for (size_t i = 1; i <= la; i++)
		for (size_t j = 1; j <= lb; j++) {
			size_t best = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);

			if (d[i - 1][j] + 1 < best)
				best = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < best)
				best = d[i][j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
			    d[i - 2][j - 2] + 1 < best)
				best = d[i - 2][j - 2] + 1;
			d[i][j] = best;
		}
	return d[la][lb];
}

/*
 * The candidate nearest word, if near enough to be a slip of the fingers:
 * at most a third of the candidate's letters wrong (one for short ones),
 * and fewer edits than the word is long (not none).  The first of equals
 * wins.
 */
static inline const char *suggest(const char *word, const char *const *cand, size_t n)
{
	const char *best = NULL;
	size_t best_d = (size_t)-1;

	for (size_t i = 0; i < n; i++) {
		size_t d = suggest_distance(word, cand[i]), len = strlen(cand[i]);
		size_t limit = len / 3 ? len / 3 : 1;

		if (d > 0 && d <= limit && d < strlen(word) && d < best_d) {
			best = cand[i];
			best_d = d;
		}
	}
	return best;
}

#endif
