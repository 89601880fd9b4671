/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * snd-pcm-stream.h - the PCM stream manager's insides: one stream, one open
 * host stream, the manager.  Shared by the manager's files only (snd-pcm.c
 * lists them); everything else sees snd-pcm.h.
 */
#ifndef VSND_SND_PCM_STREAM_H
#define VSND_SND_PCM_STREAM_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "audio/clock.h"
#include "snd/snd-pcm.h"

typedef struct SndPcmStream SndPcmStream;

/* The host end of a stream (snd-pcm-host-end.c has the table that says
 * what each state means and which events move it). */
typedef enum {
    HOST_END_CLOSED,       /* no host stream */
    HOST_END_OPEN,         /* open, not started */
    HOST_END_STARTED,      /* vsnd_audio_start() succeeded, no stop since */
    HOST_END_LOST,         /* the driver reported it gone; software clock */
    HOST_END_LOST_STARTED, /* gone while started: a stop is still owed */
    HOST_END_MISSING,      /* restored open, but no host stream could open */
    HOST_END_COUNT
} SndHostEndState;

typedef struct SndHostEnd {
    SndHostEndState state;
    bool connected; /* the jack (the guest's view) */
} SndHostEnd;

/* One open host stream; the events' opaque.  @st is NULL while a released
 * playback stream drains (lingers). */
typedef struct SndHostStream {
    SndPcm *pcm;
    SndPcmStream *st;
    VsndAudioStream *s;
    VsndTimer *linger;   /* while it drains: closes it at the time limit */
    guint drained_id;    /* drained: closes it from the main loop */
    uint32_t id; /* the stream it was opened for */
} SndHostStream;

struct SndPcmStream {
    SndPcm *pcm;
    uint32_t id;
    VsndDirection dir;
    uint32_t nid;
    uint64_t formats;
    uint64_t rates;
    uint8_t channels_min;
    uint8_t channels_max;
    const char *target;
    char *label;

    SndPcmState state;
    bool has_params;
    SndPcmParams params;
    SndHostStream *host;
    GQueue fifo;           /* SndIoMsg, oldest first */
    /* const: vsnd_host_end_event() is its one writer, a write anywhere
     * else does not compile. */
    const SndHostEnd host_end;
    uint32_t gain;
    bool mute;
    bool soft_gain;        /* driver has no volume: scale the data here */
    GByteArray *carry;     /* playback taken over from messages at a queue
                            * stop; played before the FIFO */
    guint pump_id;
    /* Timers on the clock of the audio driver (vsnd_audio_manual_clock();
     * snd-pcm-pump.c says what they do). */
    VsndTimer *clock;      /* software clock while the host end is lost */
    int64_t clock_t0;      /* ns: when the software clock started */
    uint64_t clock_periods; /* periods it accounted since clock_t0 */
    VsndTimer *dry_watch;  /* playback FIFO empty while running */
    bool dry;              /* underrun reported, until the next message */
    uint32_t xruns;        /* since the host stream was opened */
};

struct SndPcm {
    const VsndDeviceConfig *cfg;
    VsndAudio *audio;
    const SndPcmHost *host;
    void *opaque;
    uint32_t n;
    SndPcmStream *streams;
    GList *lingering; /* SndHostStream */
    bool polling;
};

/* The one parameter check (SET_PARAMS and a restore; snd-pcm.c).  Return:
 * a VIRTIO_SND_S_* status; *@ret_why names a refusal. */
uint32_t vsnd_pcm_params_verdict(const SndPcmStream *st, const SndPcmParams *p,
                                 const char **ret_why);

#endif /* VSND_SND_PCM_STREAM_H */
