/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * latency-log.c - see latency-log.h.
 */
#include "config.h"

#include <glib.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "latency-log.h"

unsigned int ll_completions(const char *log, uint32_t sid, bool tx, SgAlsaCompletion *trace,
                            unsigned int cap)
{
    g_auto(GStrv) lines = g_strsplit(log ? log : "", "\n", -1);
    uint64_t end = 0;
    unsigned int n = 0;

    for (char **l = lines; *l; l++) {
        const char *p = strstr(*l, "stream ");
        unsigned int id, st, lat;
        char dir[3];
        int64_t t;
        size_t bytes;

        for (; p; p = strstr(p + 1, "stream ")) {
            if (sscanf(p, "stream %u: %2s completed at %" SCNd64 " us: %zu B, status 0x%x, "
                       "latency_bytes %u", &id, dir, &t, &bytes, &st, &lat) == 6)
                break;
        }
        if (!p || id != sid || strcmp(dir, tx ? "tx" : "rx") != 0)
            continue;
        end += bytes;
        if (n < cap)
            trace[n] = (SgAlsaCompletion){.t_us = t, .t_lo_us = t, .latency_bytes = lat,
                                          .end_bytes = end};
        n++;
    }
    return n;
}

char *ll_pipewire_report(const char *log)
{
    g_auto(GStrv) lines = g_strsplit(log ? log : "", "\n", -1);
    int64_t dmin = G_MAXINT64, dmax = G_MININT64;
    uint64_t qmin = G_MAXUINT64, qmax = 0, bmax = 0, rmin = G_MAXUINT64, rmax = 0;
    int64_t cmin = G_MAXINT64, cmax = G_MININT64;
    unsigned int n = 0, num = 0, denom = 0;

    for (char **l = lines; *l; l++) {
        const char *p = strstr(*l, "pipewire: stream ");
        uint64_t lat, ring, queued, buffered;
        int64_t now, delay, left;
        unsigned int sid, rn, rd;

        if (!p || sscanf(p, "pipewire: stream %u latency %" SCNu64 " B: ring %" SCNu64
                         " B, pw_time now %" SCNd64 " delay %" SCNd64 " x %u/%u s queued %"
                         SCNu64 " buffered %" SCNu64 ", cycle left %" SCNd64, &sid, &lat,
                         &ring, &now, &delay, &rn, &rd, &queued, &buffered, &left) != 10)
            continue;
        n++;
        dmin = MIN(dmin, delay);
        dmax = MAX(dmax, delay);
        qmin = MIN(qmin, queued);
        qmax = MAX(qmax, queued);
        cmin = MIN(cmin, left);
        cmax = MAX(cmax, left);
        bmax = MAX(bmax, buffered);
        rmin = MIN(rmin, ring);
        rmax = MAX(rmax, ring);
        num = rn;
        denom = rd;
    }
    if (!n)
        return g_strdup("pw_stream_get_time_n: nothing logged");
    return g_strdup_printf("pw_stream_get_time_n over %u completions: delay %" G_GINT64_FORMAT
                           "..%" G_GINT64_FORMAT " x %u/%u s, queued %" G_GUINT64_FORMAT "..%"
                           G_GUINT64_FORMAT " frames, buffered <= %" G_GUINT64_FORMAT
                           " frames; the daemon's ring %" G_GUINT64_FORMAT "..%" G_GUINT64_FORMAT
                           " B, the rest of the cycle %.1f..%.1f ms",
                           n, dmin, dmax, num, denom, qmin, qmax, bmax, rmin, rmax, cmin / 1e6,
                           cmax / 1e6);
}
