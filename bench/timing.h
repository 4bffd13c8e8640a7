/* SPDX-License-Identifier: MIT */
/* What the library benchmarks share: a monotonic clock and the median. */
#ifndef SVCC_BENCH_TIMING_H
#define SVCC_BENCH_TIMING_H

#include <stdlib.h>
#include <time.h>

/* Milliseconds of CLOCK_MONOTONIC. */
static inline double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static inline int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* The median of v[0..n), n > 0; sorts v (so v[0] and v[n - 1] are min and max). */
static inline double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

#endif
