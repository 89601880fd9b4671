/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-snd-fake-audio.c - scriptable stand-in for audio/registry.c in the
 * sound device's unit tests (see test-snd-fake.h).
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "test-snd-fake.h"
#include "snd/snd-proto.h"

VsndAudio *fake_audio_new(void)
{
    VsndAudio *a = g_new0(VsndAudio, 1);

    for (int d = 0; d < 2; d++) {
        a->caps[d].formats = (1ull << VIRTIO_SND_PCM_FMT_S16) | (1ull << VIRTIO_SND_PCM_FMT_S32) |
                             (1ull << VIRTIO_SND_PCM_FMT_FLOAT);
        a->caps[d].rates = (1ull << VIRTIO_SND_PCM_RATE_44100) |
                           (1ull << VIRTIO_SND_PCM_RATE_48000);
        a->caps[d].channels_min = 1;
        a->caps[d].channels_max = 8;
    }
    a->has_volume = true;
    a->connected = true;
    a->latency = 100;
    a->default_room = 2048;
    a->default_readable = 0;
    a->streams = g_ptr_array_new();
    return a;
}

static void stream_free(gpointer p)
{
    VsndAudioStream *s = p;

    g_byte_array_unref(s->written);
    g_free(s);
}

void fake_audio_free(VsndAudio *a)
{
    if (!a) {
        return;
    }
    g_ptr_array_set_free_func(a->streams, stream_free);
    g_ptr_array_unref(a->streams);
    g_free(a);
}

VsndAudioStream *fake_audio_last(VsndAudio *a)
{
    return a->streams->len ? g_ptr_array_index(a->streams, a->streams->len - 1) : NULL;
}

void fake_stream_give_room(VsndAudioStream *s, size_t bytes)
{
    s->room += bytes;
    s->events->ready(s->opaque);
}

void fake_stream_give_data(VsndAudioStream *s, size_t bytes)
{
    s->readable += bytes;
    s->events->ready(s->opaque);
}

void fake_stream_error(VsndAudioStream *s, int err)
{
    s->events->error(s->opaque, err);
}

/* ---- registry.h, as the device sees it ---- */

int vsnd_audio_query_caps(VsndAudio *a, VsndDirection dir, VsndPcmCaps *ret_caps)
{
    if (a->query_ret < 0) {
        return a->query_ret;
    }
    *ret_caps = a->caps[dir == VSND_DIR_INPUT];
    return 0;
}

VsndAudioStream *vsnd_audio_open(VsndAudio *a, const VsndPcmParams *params,
                                 const VsndAudioStreamEvents *events, void *opaque,
                                 GError **error)
{
    VsndAudioStream *s;

    if (a->fail_open) {
        g_set_error_literal(error, G_FILE_ERROR, G_FILE_ERROR_IO, "fake open failure");
        return NULL;
    }
    s = g_new0(VsndAudioStream, 1);
    s->audio = a;
    s->params = *params;
    if (params->positions) {
        memcpy(s->positions, params->positions, MIN(params->channels, sizeof(s->positions)));
        s->params.positions = s->positions;
    }
    s->params.label = NULL;
    s->params.target = NULL;
    s->events = events;
    s->opaque = opaque;
    s->written = g_byte_array_new();
    s->room = a->default_room;
    s->readable = a->default_readable;
    s->volume = 65536;
    g_ptr_array_add(a->streams, s);
    a->opens++;
    return s;
}

void vsnd_audio_close(VsndAudio *a, VsndAudioStream *s)
{
    g_assert(!s->closed);
    s->closed = true;
    a->closes++;
}

int vsnd_audio_start(VsndAudio *a, VsndAudioStream *s)
{
    g_assert(!s->closed);
    if (a->fail_start) {
        return -EIO;
    }
    s->started = true;
    s->starts++;
    return 0;
}

int vsnd_audio_stop(VsndAudio *a, VsndAudioStream *s)
{
    g_assert(!s->closed);
    s->started = false;
    s->stops++;
    return 0;
}

int vsnd_audio_drain(VsndAudio *a, VsndAudioStream *s)
{
    g_assert(!s->closed);
    s->drains++;
    /* Like every real driver: a stopped (paused) stream drops what it
     * holds and has nothing to drain. */
    if (!s->started) {
        s->dropped += s->written->len - MIN(s->played, s->written->len);
        s->played = s->written->len;
        return 0;
    }
    s->played = s->written->len;
    return s->drain_ret;
}

ssize_t vsnd_audio_write(VsndAudio *a, VsndAudioStream *s, const struct iovec *iov,
                         unsigned int iovcnt)
{
    size_t n = 0;

    g_assert(!s->closed);
    g_assert(s->params.direction == VSND_DIR_OUTPUT);
    if (s->fail) {
        return s->fail;
    }
    if (s->room == 0) {
        return -EAGAIN;
    }
    for (unsigned int i = 0; i < iovcnt && s->room; i++) {
        size_t l = MIN(iov[i].iov_len, s->room);

        g_byte_array_append(s->written, iov[i].iov_base, (guint)l);
        s->room -= l;
        n += l;
    }
    return (ssize_t)n;
}

ssize_t vsnd_audio_read(VsndAudio *a, VsndAudioStream *s, const struct iovec *iov,
                        unsigned int iovcnt)
{
    size_t n = 0;

    g_assert(!s->closed);
    g_assert(s->params.direction == VSND_DIR_INPUT);
    if (s->fail) {
        return s->fail;
    }
    if (s->readable == 0) {
        return -EAGAIN;
    }
    for (unsigned int i = 0; i < iovcnt && s->readable; i++) {
        size_t l = MIN(iov[i].iov_len, s->readable);
        uint8_t *p = iov[i].iov_base;

        for (size_t k = 0; k < l; k++) {
            p[k] = s->next_byte++;
        }
        s->readable -= l;
        n += l;
    }
    return (ssize_t)n;
}

int vsnd_audio_get_latency(VsndAudio *a, VsndAudioStream *s, uint32_t *ret_bytes)
{
    *ret_bytes = a->latency;
    return 0;
}

int vsnd_audio_set_volume(VsndAudio *a, VsndAudioStream *s, uint32_t volume, bool mute)
{
    s->volume_calls++;
    if (!a->has_volume) {
        return -ENOTSUP;
    }
    s->volume = volume;
    s->mute = mute;
    return 0;
}

bool vsnd_audio_is_connected(VsndAudio *a, VsndDirection dir, const char *target)
{
    return a->connected;
}

/* ---- config ---- */

VsndDeviceConfig *fake_config_new(guint streams, gboolean controls)
{
    VsndDeviceConfig *cfg = g_new0(VsndDeviceConfig, 1);

    cfg->streams = streams;
    cfg->jacks = streams;
    cfg->chmaps = streams;
    cfg->controls = controls;
    cfg->name = g_strdup("test-vm");
    cfg->stream = g_new0(VsndStreamConfig, streams ? streams : 1);
    for (guint i = 0; i < streams; i++) {
        cfg->stream[i].direction = i % 2 ? VSND_DIR_INPUT : VSND_DIR_OUTPUT;
        cfg->stream[i].channels_min = 1;
        cfg->stream[i].channels_max = 2;
    }
    return cfg;
}

void fake_config_free(VsndDeviceConfig *cfg)
{
    if (!cfg) {
        return;
    }
    for (guint i = 0; i < cfg->streams; i++) {
        g_free(cfg->stream[i].target);
    }
    g_free(cfg->stream);
    g_free(cfg->name);
    g_free(cfg);
}

void fake_iterate(unsigned int max)
{
    for (unsigned int i = 0; i < max && g_main_context_iteration(NULL, FALSE); i++) {
    }
}
