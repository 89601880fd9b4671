/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bench-stats.c - order statistics and a least-squares fit.
 */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench-stats.h"

GArray *bs_new(void)
{
    return g_array_new(FALSE, FALSE, sizeof(double));
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double rank(const double *s, unsigned int n, double p)
{
    if (n == 0)
        return 0;
    double r = ceil(p / 100.0 * n);
    unsigned int i = r < 1 ? 0 : (unsigned int)r - 1;
    return s[MIN(i, n - 1)];
}

static BsSummary summarize(const GArray *v, bool absolute)
{
    BsSummary s = { 0 };
    if (!v || v->len == 0)
        return s;
    unsigned int n = v->len;
    double *c = g_new(double, n);
    double sum = 0;
    for (unsigned int i = 0; i < n; i++) {
        double x = g_array_index(v, double, i);
        c[i] = absolute ? fabs(x) : x;
        sum += c[i];
    }
    qsort(c, n, sizeof(double), cmp_double);
    s.n = n;
    s.min = c[0];
    s.max = c[n - 1];
    s.mean = sum / n;
    s.median = rank(c, n, 50);
    s.p90 = rank(c, n, 90);
    s.p99 = rank(c, n, 99);
    g_free(c);
    return s;
}

BsSummary bs_summarize(const GArray *v)
{
    return summarize(v, false);
}

BsSummary bs_summarize_abs(const GArray *v)
{
    return summarize(v, true);
}

double bs_percentile(const GArray *v, double p)
{
    if (!v || v->len == 0)
        return 0;
    double *c = g_memdup2(v->data, sizeof(double) * v->len);
    qsort(c, v->len, sizeof(double), cmp_double);
    double r = rank(c, v->len, p);
    g_free(c);
    return r;
}

bool bs_linfit(const double *x, const double *y, size_t n, double *a, double *b)
{
    if (n < 2)
        return false;
    double mx = 0, my = 0;
    for (size_t i = 0; i < n; i++) {
        mx += x[i];
        my += y[i];
    }
    mx /= (double)n;
    my /= (double)n;
    double sxx = 0, sxy = 0;
    for (size_t i = 0; i < n; i++) {
        sxx += (x[i] - mx) * (x[i] - mx);
        sxy += (x[i] - mx) * (y[i] - my);
    }
    if (sxx == 0)
        return false;
    *b = sxy / sxx;
    *a = my - *b * mx;
    return true;
}
