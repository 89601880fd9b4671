/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * heard-clock.c - see heard-clock.h.
 */
#include "config.h"

#include <glib.h>
#include <string.h>
#include <time.h>

#include "heard-clock.h"

#define HC_CHANNELS 2

void hc_recording_init(HcRecording *r, size_t frames_cap)
{
    memset(r, 0, sizeof(*r));
    r->frames_cap = frames_cap;
    r->samples = g_new0(int16_t, frames_cap * HC_CHANNELS);
    /* a chunk per graph cycle: no quantum is below 32 frames */
    r->chunks_cap = frames_cap / 32 + 64;
    r->chunks = g_new0(HcChunk, r->chunks_cap);
}

void hc_recording_clear(HcRecording *r)
{
    g_free(r->samples);
    g_free(r->chunks);
    memset(r, 0, sizeof(*r));
}

bool hc_recording_add(HcRecording *r, const int16_t *samples, uint32_t frames, int64_t heard_ns,
                      int64_t arrived_ns)
{
    if (frames == 0)
        return true;
    if (r->nchunks == r->chunks_cap || r->frames_cap - r->frames < frames) {
        r->dropped++;
        return false;
    }
    r->chunks[r->nchunks++] = (HcChunk){
        .first = r->frames, .frames = frames, .heard_ns = heard_ns, .arrived_ns = arrived_ns,
    };
    memcpy(r->samples + r->frames * HC_CHANNELS, samples, (size_t)frames * HC_CHANNELS * 2);
    /* read by other threads while recording (progress only) */
    __atomic_store_n(&r->frames, r->frames + frames, __ATOMIC_RELEASE);
    return true;
}

int64_t hc_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}
