/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * wav-growth.h - when did the wav driver's files of two daemons (the two
 * sides of a migration, the two lives of a restarted back-end) last and
 * first grow, and what samples do they hold so far.
 *
 * A thread polls the files' sizes every 2 ms: the time from the first
 * daemon's last write to the second's first is the gap the listener hears.
 */
#ifndef VSND_TESTS_GUEST_WAV_GROWTH_H
#define VSND_TESTS_GUEST_WAV_GROWTH_H

#include <glib.h>

typedef struct {
    char *paths[2];        /* the first and the second daemon's stream-0.wav */
    gint64 last_grow[2];   /* monotonic µs of the latest size change */
    gint64 first_grow[2];  /* of the first size change after start (a file
                            * appearing holds only the header: not counted) */
    gint64 max_stall[2];   /* longest µs without a change, between changes */
    goffset size[2];
    gint stop;
    GThread *thread;
} WavGrowth;

/* Start watching @first and @second (copied). */
void wav_growth_start(WavGrowth *g, const char *first, const char *second);
/* Stop the thread; the figures stay readable. */
void wav_growth_stop(WavGrowth *g);
void wav_growth_clear(WavGrowth *g);
/* The gap between the first file's last and the second's first growth
 * (ms), or -1 when the second never grew. */
gint64 wav_growth_gap_ms(const WavGrowth *g);

/*
 * wav_samples_so_far() - the samples of a wav driver's file as far as they
 * were written: the driver rewrites the header's sizes only once a second,
 * and a daemon that migrated away or was killed never closes its stream.
 * Whole frames of @frame_bytes; empty when there is no file.
 */
GBytes *wav_samples_so_far(const char *path, gsize frame_bytes);

#endif /* VSND_TESTS_GUEST_WAV_GROWTH_H */
