/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-snd-fake-audio.c - the scriptable host audio driver "fake" of the
 * sound device's unit tests (see test-snd-fake.h): a VsndAudioDriver the
 * tests register with audio/registry.c, which calls it after its own checks
 * as it calls null or wav.  Streams stay in the backend after close() so a
 * test can still read what they were given; fini() frees them.
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "test-snd-fake.h"
#include "audio/pcm-format.h"

/* The backend fake_init() made last: vsnd_audio_new() hands the test only
 * the registry's handle, fake_audio_new() hands it this. */
static FakeAudio *last_init;

static VsndAudioBackend *fake_init(GHashTable *options, const char *vm_name, GError **error)
{
    const char *clock = g_hash_table_lookup(options, "clock");
    FakeAudio *a;

    /* The fake has no clock of its own; the option is the device's (see
     * vsnd_audio_manual_clock()). */
    if (clock && strcmp(clock, "real") != 0 && strcmp(clock, "manual") != 0) {
        g_set_error(error, VSND_AUDIO_ERROR, VSND_AUDIO_ERROR_INVALID_ARGUMENT,
                    "fake driver: clock must be \"real\" or \"manual\", not \"%s\"", clock);
        return NULL;
    }
    a = g_new0(FakeAudio, 1);

    for (int d = 0; d < 2; d++) {
        a->caps[d].formats = VSND_PCM_FMT_BIT(VSND_PCM_FMT_S16) |
                             VSND_PCM_FMT_BIT(VSND_PCM_FMT_S32) |
                             VSND_PCM_FMT_BIT(VSND_PCM_FMT_FLOAT);
        a->caps[d].rates = (UINT64_C(1) << VSND_PCM_RATE_44100) |
                           (UINT64_C(1) << VSND_PCM_RATE_48000);
        a->caps[d].channels_min = 1;
        a->caps[d].channels_max = 8;
    }
    a->has_volume = true;
    a->connected = true;
    a->latency = 100;
    a->default_room = 2048;
    a->default_readable = 0;
    a->streams = g_ptr_array_new();
    last_init = a;
    return a;
}

static void stream_free(gpointer p)
{
    VsndAudioStream *s = p;

    g_byte_array_unref(s->written);
    g_free(s);
}

static void fake_fini(VsndAudioBackend *a)
{
    g_ptr_array_set_free_func(a->streams, stream_free);
    g_ptr_array_unref(a->streams);
    if (last_init == a) {
        last_init = NULL;
    }
    g_free(a);
}

VsndAudio *fake_audio_new_clocked(const char *clock, FakeAudio **ret_fake)
{
    static gsize registered;
    g_autoptr(GError) err = NULL;
    g_autofree char *spec = g_strdup_printf("fake,clock=%s", clock);
    VsndAudio *audio;

    if (g_once_init_enter(&registered)) {
        g_assert_true(vsnd_audio_register_driver(&fake_audio_driver, &err));
        g_once_init_leave(&registered, 1);
    }
    audio = vsnd_audio_new(spec, "test-vm", &err);
    g_assert_no_error(err);
    g_assert_cmpint(vsnd_audio_manual_clock(audio), ==, strcmp(clock, "manual") == 0);
    g_assert_cmpstr(vsnd_audio_name(audio), ==, "fake");
    *ret_fake = g_steal_pointer(&last_init);
    return audio;
}

VsndAudio *fake_audio_new(FakeAudio **ret_fake)
{
    return fake_audio_new_clocked("manual", ret_fake);
}

VsndAudioStream *fake_audio_last(FakeAudio *a)
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

/* ---- the driver's operations ---- */

static int fake_query_caps(VsndAudioBackend *a, VsndDirection dir, VsndPcmCaps *ret_caps)
{
    if (a->query_ret < 0) {
        return a->query_ret;
    }
    *ret_caps = a->caps[dir == VSND_DIR_INPUT];
    return 0;
}

static VsndAudioStream *fake_open(VsndAudioBackend *a, const VsndPcmParams *params,
                                  const VsndAudioStreamEvents *events, void *opaque,
                                  GError **error)
{
    VsndAudioStream *s;

    if (a->fail_open) {
        g_set_error_literal(error, G_FILE_ERROR, G_FILE_ERROR_IO, "fake open failure");
        return NULL;
    }
    s = g_new0(VsndAudioStream, 1);
    s->fake = a;
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

static void fake_close(VsndAudioStream *s)
{
    g_assert(!s->closed);
    s->closed = true;
    s->fake->closes++;
}

static int fake_start(VsndAudioStream *s)
{
    g_assert(!s->closed);
    if (s->fake->fail_start) {
        return -EIO;
    }
    s->started = true;
    s->starts++;
    return 0;
}

static int fake_stop(VsndAudioStream *s)
{
    g_assert(!s->closed);
    s->started = false;
    s->stops++;
    return 0;
}

static int fake_drain(VsndAudioStream *s)
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

static ssize_t fake_write(VsndAudioStream *s, const struct iovec *iov, unsigned int iovcnt)
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

static ssize_t fake_read(VsndAudioStream *s, const struct iovec *iov, unsigned int iovcnt)
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

static int fake_get_latency(VsndAudioStream *s, uint32_t *ret_bytes)
{
    *ret_bytes = s->fake->latency;
    return 0;
}

/* has_volume off answers as a driver without set_volume() does. */
static int fake_set_volume(VsndAudioStream *s, uint32_t volume, bool mute)
{
    s->volume_calls++;
    if (!s->fake->has_volume) {
        return -ENOTSUP;
    }
    s->volume = volume;
    s->mute = mute;
    return 0;
}

static bool fake_is_connected(VsndAudioBackend *a, VsndDirection dir, const char *target)
{
    return a->connected;
}

static const char *const fake_keys[] = { "clock", NULL };

const VsndAudioDriver fake_audio_driver = {
    .abi_version = VSND_AUDIO_ABI_VERSION,
    .name = "fake",
    .description = "Scriptable test driver of the sound device's unit tests",
    .init = fake_init,
    .fini = fake_fini,
    .query_caps = fake_query_caps,
    .open = fake_open,
    .close = fake_close,
    .start = fake_start,
    .stop = fake_stop,
    .write = fake_write,
    .read = fake_read,
    .drain = fake_drain,
    .get_latency = fake_get_latency,
    .set_volume = fake_set_volume,
    .is_connected = fake_is_connected,
    .option_keys = fake_keys,
};

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
