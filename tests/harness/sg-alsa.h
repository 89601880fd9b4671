/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sg-alsa.h - what a Linux >= 6.7 guest's ALSA core and aplay/arecord do
 * with the virtio-snd messages of one stream, on top of SgGuest.
 *
 * Tests that only count completions miss what a real guest sees, so this
 * keeps the guest's books the way Linux does (sound/virtio/virtio_pcm_msg.c
 * and virtio_pcm_ops.c, measured with real guests in issue 16):
 *
 *  - the driver's hw_ptr is a byte offset MODULO buffer_bytes, advanced by
 *    one period per tx completion (capture: used length - 8);
 *  - the completions available at one time are one interrupt: ALSA's
 *    period-elapsed work runs once for all of them and sees only the
 *    pointer's new position, so ALSA's hw_ptr moves by (new - old) modulo
 *    the buffer (BATCH: no jiffies check, except ALSA's "double
 *    acknowledged interrupt" rule: no move after more than half a buffer
 *    time counts as a whole buffer);
 *  - playback: a period is queued (ack) once the application has written
 *    it whole, into the message of its buffer slot; the application
 *    writes while avail (buffer - (appl - hw)) holds a period; START once
 *    a buffer is written (aplay's start threshold) or the file ended; the
 *    last period is padded with silence like aplay's;
 *  - capture: START queues every period; a slot is re-queued once the
 *    application has read it;
 *  - the application sleeps in wait_for_avail() for at most max(100 ms,
 *    1.1 buffer times): no progress for that long is
 *    "write error: Input/output error" (or read error), like aplay's;
 *  - a failed queueing (ring full) is -EIO too ("failed to send I/O
 *    message").
 *
 * Single-threaded; no kick with MSG_POLLING (SgGuest decides).
 */
#ifndef VSND_TESTS_SG_ALSA_H
#define VSND_TESTS_SG_ALSA_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "snd-guest.h"

/* One completion as the guest saw it (SgAlsaParams.trace). */
typedef struct SgAlsaCompletion {
    gint64 t_us;              /* g_get_monotonic_time() when the guest took it */
    gint64 t_lo_us;           /* ...and when it last found none: the device
                               * completed it in between */
    uint32_t latency_bytes;
    uint64_t end_bytes;       /* the stream position after its period */
} SgAlsaCompletion;

typedef struct SgAlsaParams {
    uint32_t sid;
    uint32_t period_bytes;
    uint32_t buffer_bytes;    /* a whole number of periods */
    uint8_t channels, format, rate;  /* VIRTIO_SND_PCM_* codes */
    uint32_t frame_bytes;
    uint32_t rate_hz;
    /* between STOP and RELEASE at the end (Linux: aplay's drain ends with
     * STOP, its close sends RELEASE; 2 to 115 ms measured in guests) */
    uint32_t release_delay_ms;
    /* if set, the first @trace_cap completions are noted here */
    SgAlsaCompletion *trace;
    unsigned int trace_cap;
} SgAlsaParams;

typedef struct SgAlsaStats {
    unsigned int completions;
    unsigned int interrupts;      /* batches of completions */
    unsigned int lost_buffers;    /* interrupts that moved hw_ptr by 0 mod buffer */
    uint64_t hw_bytes;            /* ALSA's hw_ptr at the end */
    uint32_t latency_last;        /* latency_bytes of the last completion */
    uint32_t latency_max;
    uint64_t latency_sum;         /* over completions while running */
    double seconds;               /* START to the end */
    unsigned int traced;          /* entries of SgAlsaParams.trace filled */
} SgAlsaStats;

/* Play @len bytes through stream @p->sid: SET_PARAMS .. RELEASE.
 * Return: false with @error (the aplay-like message) on failure. */
bool sg_alsa_play(SgGuest *sg, const SgAlsaParams *p, const void *data, size_t len,
                  SgAlsaStats *stats, GError **error);
/* Record @len bytes (a whole number of periods) into @buf. */
bool sg_alsa_record(SgGuest *sg, const SgAlsaParams *p, void *buf, size_t len,
                    SgAlsaStats *stats, GError **error);

#endif /* VSND_TESTS_SG_ALSA_H */
