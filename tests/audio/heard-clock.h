/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * heard-clock.h - a recording of a sink's monitor that also says when each
 * recorded frame passed the sink, on CLOCK_MONOTONIC (the clock of
 * g_get_monotonic_time()): the judge of test-integration-latency.  The
 * recorders (heard-clock-pw.c, heard-clock-pulse.c) fill it from their
 * audio thread; it is read once they stopped.
 */
#ifndef VSND_TESTS_HEARD_CLOCK_H
#define VSND_TESTS_HEARD_CLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A run of recorded frames and when its first frame passed the sink (the
 * rest follow at the rate). */
typedef struct HcChunk {
    size_t first;            /* index into HcRecording.samples, in frames */
    uint32_t frames;
    int64_t heard_ns;        /* the server's time for the first frame */
    int64_t arrived_ns;      /* when the recorder got it */
} HcChunk;

/* S16 stereo, 48 kHz: what the tests' sinks hold. */
typedef struct HcRecording {
    int16_t *samples;
    size_t frames, frames_cap;
    HcChunk *chunks;
    size_t nchunks, chunks_cap;
    unsigned int dropped;    /* chunks that did not fit */
} HcRecording;

void hc_recording_init(HcRecording *r, size_t frames_cap);
void hc_recording_clear(HcRecording *r);
/* Append @frames frames; no allocation (audio threads).  Return: false
 * if it did not fit (counted in dropped). */
bool hc_recording_add(HcRecording *r, const int16_t *samples, uint32_t frames, int64_t heard_ns,
                      int64_t arrived_ns);

/* CLOCK_MONOTONIC in nanoseconds. */
int64_t hc_now_ns(void);

#endif /* VSND_TESTS_HEARD_CLOCK_H */
