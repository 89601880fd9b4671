/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bench-stats.h - small statistics for the benchmark: percentiles of a
 * sample set and a least-squares line (drift).
 *
 * Samples are plain GArrays of double; nothing here allocates beyond a
 * sorted copy.  Single-threaded.
 */
#ifndef VSND_BENCH_STATS_H
#define VSND_BENCH_STATS_H

#include <glib.h>
#include <stdbool.h>

typedef struct BsSummary {
    unsigned int n;
    double min, median, mean, p90, p99, max;
} BsSummary;

/* A new empty sample set (GArray of double). */
GArray *bs_new(void);
static inline void bs_add(GArray *v, double x) { g_array_append_val(v, x); }

/*
 * bs_summarize() - order statistics of @v (left unchanged).
 * Return: the summary; n == 0 and all fields 0 for an empty set.
 */
BsSummary bs_summarize(const GArray *v);

/* Same over the absolute values of @v. */
BsSummary bs_summarize_abs(const GArray *v);

/* The @p-th percentile (0..100, nearest rank) of @v. */
double bs_percentile(const GArray *v, double p);

/*
 * bs_linfit() - least-squares line y = a + b x over @n points.
 * Return: false when fewer than 2 points or all x equal.
 */
bool bs_linfit(const double *x, const double *y, size_t n, double *a, double *b);

#endif /* VSND_BENCH_STATS_H */
