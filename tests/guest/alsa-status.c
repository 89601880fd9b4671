/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * alsa-status.c - see alsa-status.h.
 */
#include "config.h"

#include <glib.h>
#include <stdio.h>
#include <string.h>

#include "alsa-status.h"

typedef struct Sample {
    bool running;
    long long delay, hw_ptr, appl_ptr;
    int have; /* fields found: delay, hw_ptr, appl_ptr */
} Sample;

static void sample_line(Sample *s, const char *line)
{
    char key[32];
    long long v;

    if (g_str_has_prefix(line, "state:")) {
        s->running = strstr(line, "RUNNING") || strstr(line, "DRAINING");
        return;
    }
    if (sscanf(line, "%31[a-z_] : %lld", key, &v) != 2)
        return;
    if (strcmp(key, "delay") == 0)
        s->delay = v, s->have |= 1;
    else if (strcmp(key, "hw_ptr") == 0)
        s->hw_ptr = v, s->have |= 2;
    else if (strcmp(key, "appl_ptr") == 0)
        s->appl_ptr = v, s->have |= 4;
}

/* The index of the completion of @trace that ends at @end_bytes, or -1. */
static long ending_at(const SgAlsaCompletion *trace, unsigned int n, uint64_t end_bytes)
{
    for (unsigned int k = 0; k < n; k++)
        if (trace[k].end_bytes == end_bytes)
            return (long)k;
    return -1;
}

static void judge_sample(const Sample *s, const SgAlsaCompletion *trace, unsigned int n,
                         unsigned int frame_bytes, GasDelays *out, GString *bad)
{
    if (!s->running || s->have != 7)
        return;
    out->running++;
    long k = ending_at(trace, n, (uint64_t)s->hw_ptr * frame_bytes);
    if (k < 0)
        return; /* before the first completion */
    const SgAlsaCompletion *c = &trace[k];
    out->judged++;
    long long held = s->delay - (s->appl_ptr - s->hw_ptr);
    long long want = c->latency_bytes / frame_bytes;
    if (held == want) {
        out->agree++;
        return;
    }
    /* Linux reads hw_ptr (under the stream's own lock) before
     * runtime->delay, which the next completion sets meanwhile from its
     * interrupt: seen once (7.2), the delay of the completion after */
    if ((unsigned long)k + 1 < n && held == trace[k + 1].latency_bytes / frame_bytes) {
        out->agree++;
        out->next++;
        return;
    }
    if (bad->len < 400)
        g_string_append_printf(bad, "hw_ptr %lld: delay %lld - (appl_ptr %lld - hw_ptr) = %lld "
                                    "frames, the completion carried %u B = %lld frames; ",
                               s->hw_ptr, s->delay, s->appl_ptr, held, c->latency_bytes, want);
}

char *gas_check_delays(const char *dump, const SgAlsaCompletion *trace, unsigned int n,
                       unsigned int frame_bytes, GasDelays *out)
{
    g_auto(GStrv) lines = g_strsplit(dump ? dump : "", "\n", -1);
    g_autoptr(GString) bad = g_string_new(NULL);
    Sample s = {0};
    bool in_sample = false;

    memset(out, 0, sizeof(*out));
    for (char **l = lines;; l++) {
        if (!*l || g_str_has_prefix(*l, "@@status")) {
            if (in_sample)
                judge_sample(&s, trace, n, frame_bytes, out, bad);
            if (!*l)
                break;
            memset(&s, 0, sizeof(s));
            in_sample = true;
            out->samples++;
            continue;
        }
        sample_line(&s, *l);
    }
    return bad->len ? g_strdup(bad->str) : NULL;
}
