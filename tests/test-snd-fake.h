/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-snd-fake.h - a scriptable host audio driver for the sound device's
 * unit tests, and helpers to build a VsndDeviceConfig.
 *
 * The fake is an ordinary VsndAudioDriver ("fake", test-snd-fake-audio.c)
 * registered with the real registry (vsnd_audio_register_driver()), so the
 * device calls it through audio/registry.c's checks as it calls any driver.
 * Its backend and streams are the structs below: tests turn their knobs and
 * read what the driver was asked to do.  Main thread (the device's) only.
 * Test code: set-up failures abort.
 */
#ifndef VSND_TEST_SND_FAKE_H
#define VSND_TEST_SND_FAKE_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "snd/snd-config.h"
#include "audio/registry.h"

/* The driver's backend: one per vsnd_audio_new("fake", ...). */
typedef struct VsndAudioBackend FakeAudio;

/* The driver's table (name "fake", option clock=real|manual: the clock of
 * the device's timers, vsnd_audio_manual_clock()). */
extern const VsndAudioDriver fake_audio_driver;

struct VsndAudioStream {
    FakeAudio *fake;
    VsndPcmParams params;
    uint8_t positions[18];
    const VsndAudioStreamEvents *events;
    void *opaque;
    bool closed;
    bool started;
    unsigned int starts, stops, drains;
    GByteArray *written;  /* everything write() accepted */
    size_t room;          /* bytes write() still accepts before -EAGAIN */
    size_t readable;      /* bytes read() still gives before -EAGAIN */
    uint8_t next_byte;    /* read() produces next_byte, next_byte + 1, ... */
    ssize_t fail;         /* if non-zero, write()/read() return it */
    int drain_ret;        /* drain() of a started stream */
    size_t played;        /* bytes of written drained while started */
    size_t dropped;       /* bytes of written a drain of a stopped stream dropped */
    unsigned int volume_calls;
    uint32_t volume;
    bool mute;
};

struct VsndAudioBackend {
    VsndPcmCaps caps[2];
    int query_ret;        /* query_caps() result */
    bool has_volume;      /* set_volume() implemented */
    bool connected;
    bool fail_open;
    bool fail_start;
    uint32_t latency;
    size_t default_room;
    size_t default_readable;
    unsigned int opens, closes;
    GPtrArray *streams;   /* every stream opened, in order; freed by fini() */
};

/* The fake driver through the registry, as the daemon opens a driver
 * (vsnd_audio_new("fake,clock=manual"), registering it on first use);
 * *ret_fake is its backend: S16/S32/FLOAT, 44.1 and 48 kHz, 1..8 channels,
 * room for 2 periods of 1 KiB.  vsnd_audio_free() frees both, streams
 * included.  The device's timers (software clock, dry watch, drain limit)
 * run on the manual clock: tests move them with vsnd_manual_clock_advance().
 * fake_audio_new_clocked("real", ...): on CLOCK_MONOTONIC instead. */
VsndAudio *fake_audio_new(FakeAudio **ret_fake);
VsndAudio *fake_audio_new_clocked(const char *clock, FakeAudio **ret_fake);
/* Last stream opened (NULL if none). */
VsndAudioStream *fake_audio_last(FakeAudio *fake);
/* The driver found room / data again: set it and call events->ready(). */
void fake_stream_give_room(VsndAudioStream *s, size_t bytes);
void fake_stream_give_data(VsndAudioStream *s, size_t bytes);
void fake_stream_error(VsndAudioStream *s, int err);

/* Config with @streams streams (even play, odd capture), one jack and chmap
 * per stream, controls on/off. */
VsndDeviceConfig *fake_config_new(guint streams, gboolean controls);
void fake_config_free(VsndDeviceConfig *cfg);

/* Run the default main context until idle (at most @max iterations). */
void fake_iterate(unsigned int max);

#endif /* VSND_TEST_SND_FAKE_H */
