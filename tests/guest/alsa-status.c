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
    long long delay, avail, hw_ptr, buffer_size;
    int have; /* fields found: delay, avail, hw_ptr, buffer_size */
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
    else if (strcmp(key, "avail") == 0)
        s->avail = v, s->have |= 2;
    else if (strcmp(key, "hw_ptr") == 0)
        s->hw_ptr = v, s->have |= 4;
    else if (strcmp(key, "buffer_size") == 0)
        s->buffer_size = v, s->have |= 8;
}

/* The index of the completion of @trace that ends at @end_bytes, or -1. */
static long ending_at(const SgAlsaCompletion *trace, unsigned int n, uint64_t end_bytes)
{
    for (unsigned int k = 0; k < n; k++)
        if (trace[k].end_bytes == end_bytes)
            return (long)k;
    return -1;
}

/*
 * Linux's /proc status prints delay and avail from one snapshot
 * (snd_pcm_status64(), under the stream's lock), so runtime->delay is
 * delay - (buffer_size - avail); it prints hw_ptr (and appl_ptr) as they
 * are a moment later, and a completion's interrupt may set runtime->delay
 * between the snapshot's hw_ptr and its delay.  So the delay held is the
 * latency_bytes of the completion at the printed hw_ptr, or of one
 * before it (a completion came before the print) or after it (one came
 * inside the snapshot).  Up to two either way: the driver sets the delay
 * in its interrupt, for each completion, and moves hw_ptr later, once, in
 * a work item for all of them; one sample on 7.2 (pulse-on-pipewire in
 * CI) held a delay 143 frames off the completion at hw_ptr and was no
 * next-door one's.  appl_ptr is not used: the player's next write came
 * between snapshot and print once (CI, 7.2), one period off.
 */
static void judge_sample(const Sample *s, const SgAlsaCompletion *trace, unsigned int n,
                         unsigned int frame_bytes, GasDelays *out, GString *bad)
{
    if (!s->running || s->have != 15)
        return;
    out->running++;
    long k = ending_at(trace, n, (uint64_t)s->hw_ptr * frame_bytes);
    if (k < 0)
        return; /* before the first completion */
    out->judged++;
    long long held = s->delay - (s->buffer_size - s->avail);
    for (long j = MAX(k - 2, 0); j <= k + 2 && j < (long)n; j++)
        if (held == trace[j].latency_bytes / frame_bytes) {
            out->agree++;
            out->next += j != k;
            return;
        }
    if (bad->len < 400)
        g_string_append_printf(bad, "hw_ptr %lld: delay %lld - (buffer_size %lld - avail %lld) "
                                    "= %lld frames, the completion carried %u B = %u frames; ",
                               s->hw_ptr, s->delay, s->buffer_size, s->avail, held,
                               trace[k].latency_bytes, trace[k].latency_bytes / frame_bytes);
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
