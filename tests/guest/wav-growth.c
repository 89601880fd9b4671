/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * wav-growth.c - watch two daemons' wav files grow (see wav-growth.h).
 */
#include "config.h"

#include "wav-growth.h"

#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>

static goffset file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? st.st_size : 0;
}

static gpointer growth_main(gpointer data)
{
    WavGrowth *g = data;
    while (!g_atomic_int_get(&g->stop)) {
        gint64 now = g_get_monotonic_time();
        for (int i = 0; i < 2; i++) {
            goffset s = file_size(g->paths[i]);
            /* a file appearing holds the header the driver writes when the
             * stream opens: audio is what comes after it */
            bool appeared = g->size[i] == 0;
            if (s != g->size[i]) {
                g->size[i] = s;
                if (appeared)
                    continue;
                if (g->last_grow[i])
                    g->max_stall[i] = MAX(g->max_stall[i], now - g->last_grow[i]);
                g->last_grow[i] = now;
                if (!g->first_grow[i])
                    g->first_grow[i] = now;
            }
        }
        g_usleep(2000);
    }
    return NULL;
}

void wav_growth_start(WavGrowth *g, const char *first, const char *second)
{
    memset(g, 0, sizeof *g);
    g->paths[0] = g_strdup(first);
    g->paths[1] = g_strdup(second);
    for (int i = 0; i < 2; i++)
        g->size[i] = file_size(g->paths[i]);
    g->thread = g_thread_new("wav-growth", growth_main, g);
}

void wav_growth_stop(WavGrowth *g)
{
    if (!g->thread)
        return;
    g_atomic_int_set(&g->stop, 1);
    g_thread_join(g->thread);
    g->thread = NULL;
}

void wav_growth_clear(WavGrowth *g)
{
    wav_growth_stop(g);
    g_clear_pointer(&g->paths[0], g_free);
    g_clear_pointer(&g->paths[1], g_free);
}

gint64 wav_growth_gap_ms(const WavGrowth *g)
{
    if (!g->first_grow[1])
        return -1;
    return (g->first_grow[1] - g->last_grow[0]) / 1000;
}

GBytes *wav_samples_so_far(const char *path, gsize frame_bytes)
{
    g_autofree char *text = NULL;
    gsize len = 0;
    if (!g_file_get_contents(path, &text, &len, NULL))
        return g_bytes_new(NULL, 0);
    for (gsize i = 12; i + 8 <= len && i < 256; i++)
        if (!memcmp(text + i, "data", 4)) {
            gsize n = (len - i - 8) / frame_bytes * frame_bytes;
            return g_bytes_new(text + i + 8, n);
        }
    return g_bytes_new(NULL, 0);
}
