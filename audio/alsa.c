/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * alsa.c - ALSA driver module (alsa-lib, non-blocking, no threads).
 *
 * Theory of operation:
 *  - Any PCM name works: device=NAME (default "default") for every stream,
 *    or params->target per stream.  init() opens the device once to prove
 *    it exists (that is what "auto" relies on) and closes it again.
 *  - open() (PREPARE) opens the PCM with SND_PCM_NONBLOCK, RW interleaved,
 *    the exact format/channels/rate (plug devices convert), period and
 *    buffer sizes near the guest's.  The start threshold is the boundary:
 *    streams start only on start(); a playback start with nothing queued
 *    is deferred to the first write.  stop() pauses where the PCM can,
 *    else drops (queued audio is then lost: documented ALSA limit).
 *  - write()/read() move one period with snd_pcm_writei/readi through a
 *    bounce buffer (guest iovecs split frames at page boundaries), or
 *    answer -EAGAIN and watch the PCM's poll descriptors in the default
 *    GMainContext until a period fits, then call ready().  The descriptors
 *    are only watched while somebody waits, so an idle stream costs nothing.
 *  - Playback underruns are recovered silently (the guest's tx queue may run
 *    dry between periods); capture overruns are recovered and reported as
 *    error(-EPIPE).  A vanished device (-ENODEV, e.g. USB unplug) reports
 *    error(-ENODEV), read/write answer -ENODEV, and the PCM is re-opened
 *    every second; success reports error(0).
 *  - drain() polls snd_pcm_delay() every half period until it reaches 0
 *    and then calls ready() (snd_pcm_drain() would block or stop the PCM).
 *  - A PCM without a clock (null, a file PCM over null: every write is
 *    consumed and every read answered at once) would complete the guest's
 *    periods as fast as it sends them, and the guest's period clock would
 *    run away (Linux fails aplay and arecord with EIO).  Once a running PCM
 *    shows its whole buffer free (playback) or full (capture) right after
 *    a transfer, the stream is paced by the monotonic clock instead: at
 *    most two periods ahead of real time, moving at the stream rate; for
 *    playback that is also the latency reported and what drain() waits
 *    for.
 *  - latency = snd_pcm_delay() in bytes.  No stream volume: set_volume is
 *    absent, so the caller applies its own gain.
 *  - Events are delivered from an idle source of the stream (removed on
 *    close), never from inside a driver call.
 * Main thread only.
 */
#include "config.h"

#define G_LOG_DOMAIN "vsnd-audio"

#include <alsa/asoundlib.h>
#include <errno.h>
#include <glib-unix.h>
#include <string.h>

#include "audio.h"
#include "iov-util.h"
#include "pcm-format.h"

#define RETRY_MS 1000
#define MAX_PENDING 8

struct VsndAudioBackend {
    char *device;
    GList *streams;
    bool caps_valid[2];
    VsndPcmCaps caps[2];
};

typedef struct AlsaSource {
    GSource source;
    VsndAudioStream *s;
} AlsaSource;

struct VsndAudioStream {
    VsndAudioBackend *be;
    VsndDirection dir;
    char *device;
    snd_pcm_t *pcm;
    snd_pcm_format_t format;
    unsigned int channels, rate, frame_bytes;
    snd_pcm_uframes_t period_frames, buffer_frames;
    const VsndAudioStreamEvents *events;
    void *opaque;
    GSource *src;
    GPtrArray *tags;
    struct pollfd *pfds;
    int npfds;
    bool running;
    bool start_pending;
    bool need_ready;
    bool lost;
    bool can_pause;
    uint8_t *bounce;
    size_t bounce_len;
    guint retry_id;
    guint idle_id;
    guint drain_id;
    int pending[MAX_PENDING];
    int npending;
    /* pacing of a PCM without a clock (see the top) */
    bool unclocked;
    gint64 pace_t0;          /* us: when the paced clock (re)started, 0 stopped */
    uint64_t pace_frames;    /* frames written since pace_t0 */
    guint pace_id;           /* timer giving ready() once there is room */
};

static bool alsa_format_of(unsigned int fmt, snd_pcm_format_t *ret)
{
    static const snd_pcm_format_t map[VSND_PCM_FMT_COUNT] = {
        SND_PCM_FORMAT_IMA_ADPCM, SND_PCM_FORMAT_MU_LAW, SND_PCM_FORMAT_A_LAW,
        SND_PCM_FORMAT_S8, SND_PCM_FORMAT_U8, SND_PCM_FORMAT_S16_LE, SND_PCM_FORMAT_U16_LE,
        SND_PCM_FORMAT_S18_3LE, SND_PCM_FORMAT_U18_3LE, SND_PCM_FORMAT_S20_3LE,
        SND_PCM_FORMAT_U20_3LE, SND_PCM_FORMAT_S24_3LE, SND_PCM_FORMAT_U24_3LE,
        SND_PCM_FORMAT_S20_LE, SND_PCM_FORMAT_U20_LE, SND_PCM_FORMAT_S24_LE,
        SND_PCM_FORMAT_U24_LE, SND_PCM_FORMAT_S32_LE, SND_PCM_FORMAT_U32_LE,
        SND_PCM_FORMAT_FLOAT_LE, SND_PCM_FORMAT_FLOAT64_LE, SND_PCM_FORMAT_DSD_U8,
        SND_PCM_FORMAT_DSD_U16_LE, SND_PCM_FORMAT_DSD_U32_LE,
        SND_PCM_FORMAT_IEC958_SUBFRAME_LE,
    };

    if (fmt >= VSND_PCM_FMT_COUNT || vsnd_pcm_format_bytes(fmt) == 0)
        return false;
    *ret = map[fmt];
    return true;
}

static snd_pcm_stream_t alsa_dir(VsndDirection dir)
{
    return dir == VSND_DIR_OUTPUT ? SND_PCM_STREAM_PLAYBACK : SND_PCM_STREAM_CAPTURE;
}

/* ---- deferred events ---------------------------------------------------- */

/* One error per dispatch; the callback may close @s, so nothing of it is
 * touched afterwards (close removes this source if more were pending). */
static gboolean deliver_events(gpointer data)
{
    VsndAudioStream *s = data;
    bool more;
    int err;

    if (s->npending == 0) {
        s->idle_id = 0;
        return G_SOURCE_REMOVE;
    }
    err = s->pending[0];
    memmove(s->pending, s->pending + 1, sizeof(int) * (size_t)--s->npending);
    more = s->npending > 0;
    if (!more)
        s->idle_id = 0;
    if (s->events->error)
        s->events->error(s->opaque, err);
    return more ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
}

static void post_error(VsndAudioStream *s, int err)
{
    if (s->npending == MAX_PENDING)
        memmove(s->pending, s->pending + 1, sizeof(int) * (size_t)--s->npending);
    s->pending[s->npending++] = err;
    if (!s->idle_id)
        s->idle_id = g_idle_add(deliver_events, s);
}

/* ---- poll descriptors in the main loop ---------------------------------- */

static void watch(VsndAudioStream *s, bool on)
{
    if (!s->src)
        return;
    for (int i = 0; i < s->npfds; i++)
        g_source_modify_unix_fd(s->src, g_ptr_array_index(s->tags, i),
                                on ? (GIOCondition)s->pfds[i].events : 0);
}

static void stream_lost(VsndAudioStream *s);
static int handle_error(VsndAudioStream *s, int err);

static gboolean alsa_source_dispatch(GSource *source, GSourceFunc cb, gpointer data)
{
    VsndAudioStream *s = ((AlsaSource *)source)->s;
    unsigned short revents = 0;
    snd_pcm_sframes_t avail;

    for (int i = 0; i < s->npfds; i++)
        s->pfds[i].revents = (short)g_source_query_unix_fd(source, g_ptr_array_index(s->tags, i));
    if (snd_pcm_poll_descriptors_revents(s->pcm, s->pfds, (unsigned int)s->npfds, &revents) < 0)
        revents = POLLERR;
    avail = snd_pcm_avail_update(s->pcm);
    if (avail == -ENODEV || snd_pcm_state(s->pcm) == SND_PCM_STATE_DISCONNECTED) {
        stream_lost(s);
        return G_SOURCE_CONTINUE;
    }
    if (avail < 0) {
        if (handle_error(s, (int)avail) < 0)
            return G_SOURCE_CONTINUE; /* lost: the source is gone already */
        avail = snd_pcm_avail_update(s->pcm);
    }
    if (avail >= (snd_pcm_sframes_t)s->period_frames && s->need_ready) {
        s->need_ready = false;
        watch(s, false);
        if (s->events->ready)
            s->events->ready(s->opaque);
    } else if (!s->need_ready) {
        watch(s, false);
    }
    return G_SOURCE_CONTINUE;
}

static GSourceFuncs alsa_source_funcs = {
    .dispatch = alsa_source_dispatch,
};

static void source_detach(VsndAudioStream *s)
{
    if (s->src) {
        g_source_destroy(s->src);
        g_source_unref(s->src);
        s->src = NULL;
    }
    if (s->tags)
        g_ptr_array_free(s->tags, TRUE);
    s->tags = NULL;
    g_free(s->pfds);
    s->pfds = NULL;
    s->npfds = 0;
}

static int source_attach(VsndAudioStream *s)
{
    int n = snd_pcm_poll_descriptors_count(s->pcm);

    if (n < 0)
        return n;
    s->pfds = g_new0(struct pollfd, (size_t)MAX(n, 1));
    n = snd_pcm_poll_descriptors(s->pcm, s->pfds, (unsigned int)n);
    if (n < 0)
        return n;
    s->npfds = n;
    s->src = g_source_new(&alsa_source_funcs, sizeof(AlsaSource));
    ((AlsaSource *)s->src)->s = s;
    g_source_set_name(s->src, "vsnd-alsa");
    s->tags = g_ptr_array_new();
    for (int i = 0; i < n; i++)
        g_ptr_array_add(s->tags, g_source_add_unix_fd(s->src, s->pfds[i].fd, 0));
    g_source_attach(s->src, NULL);
    return 0;
}

/* ---- PCM set-up --------------------------------------------------------- */

static int pcm_setup(VsndAudioStream *s, GError **error)
{
    snd_pcm_hw_params_t *hw;
    snd_pcm_sw_params_t *sw;
    snd_pcm_uframes_t boundary;
    unsigned int rate = s->rate;
    int r;

    r = snd_pcm_open(&s->pcm, s->device, alsa_dir(s->dir), SND_PCM_NONBLOCK);
    if (r < 0) {
        g_set_error(error, VSND_AUDIO_ERROR, vsnd_audio_error_from_errno(-r),
                    "alsa: cannot open PCM \"%s\" for %s: %s", s->device,
                    s->dir == VSND_DIR_OUTPUT ? "playback" : "capture", snd_strerror(r));
        s->pcm = NULL;
        return r;
    }
    snd_pcm_hw_params_alloca(&hw);
    snd_pcm_sw_params_alloca(&sw);
    if ((r = snd_pcm_hw_params_any(s->pcm, hw)) < 0 ||
        (r = snd_pcm_hw_params_set_access(s->pcm, hw, SND_PCM_ACCESS_RW_INTERLEAVED)) < 0 ||
        (r = snd_pcm_hw_params_set_format(s->pcm, hw, s->format)) < 0 ||
        (r = snd_pcm_hw_params_set_channels(s->pcm, hw, s->channels)) < 0 ||
        (r = snd_pcm_hw_params_set_rate(s->pcm, hw, rate, 0)) < 0 ||
        (r = snd_pcm_hw_params_set_period_size_near(s->pcm, hw, &s->period_frames, NULL)) < 0 ||
        (r = snd_pcm_hw_params_set_buffer_size_near(s->pcm, hw, &s->buffer_frames)) < 0 ||
        (r = snd_pcm_hw_params(s->pcm, hw)) < 0) {
        g_set_error(error, VSND_AUDIO_ERROR, VSND_AUDIO_ERROR_NOT_SUPPORTED,
                    "alsa: PCM \"%s\" does not take %s, %u channels, %u Hz: %s", s->device,
                    snd_pcm_format_name(s->format), s->channels, s->rate, snd_strerror(r));
        goto fail;
    }
    s->can_pause = snd_pcm_hw_params_can_pause(hw);
    snd_pcm_hw_params_get_period_size(hw, &s->period_frames, NULL);
    snd_pcm_hw_params_get_buffer_size(hw, &s->buffer_frames);
    if ((r = snd_pcm_sw_params_current(s->pcm, sw)) < 0 ||
        (r = snd_pcm_sw_params_get_boundary(sw, &boundary)) < 0 ||
        (r = snd_pcm_sw_params_set_start_threshold(s->pcm, sw, boundary)) < 0 ||
        (r = snd_pcm_sw_params_set_avail_min(s->pcm, sw, s->period_frames)) < 0 ||
        (r = snd_pcm_sw_params(s->pcm, sw)) < 0) {
        g_set_error(error, VSND_AUDIO_ERROR, VSND_AUDIO_ERROR_FAILED,
                    "alsa: cannot set software parameters of \"%s\": %s", s->device,
                    snd_strerror(r));
        goto fail;
    }
    if ((r = source_attach(s)) < 0) {
        g_set_error(error, VSND_AUDIO_ERROR, VSND_AUDIO_ERROR_FAILED,
                    "alsa: no poll descriptors for \"%s\": %s", s->device, snd_strerror(r));
        goto fail;
    }
    return 0;

fail:
    source_detach(s);
    snd_pcm_close(s->pcm);
    s->pcm = NULL;
    return r < 0 ? r : -EINVAL;
}

static void pcm_close(VsndAudioStream *s)
{
    source_detach(s);
    if (s->pcm) {
        snd_pcm_drop(s->pcm);
        snd_pcm_close(s->pcm);
        s->pcm = NULL;
    }
}

static gboolean retry_open(gpointer data)
{
    VsndAudioStream *s = data;
    g_autoptr(GError) err = NULL;

    if (pcm_setup(s, &err) < 0)
        return G_SOURCE_CONTINUE;
    s->retry_id = 0;
    s->lost = false;
    s->start_pending = s->running;
    if (s->running && s->dir == VSND_DIR_INPUT) {
        snd_pcm_start(s->pcm);
        s->start_pending = false;
    }
    g_message("alsa: PCM \"%s\" is back", s->device);
    post_error(s, 0);
    if (s->need_ready)
        watch(s, true);
    return G_SOURCE_REMOVE;
}

static void stream_lost(VsndAudioStream *s)
{
    if (s->lost)
        return;
    g_message("alsa: PCM \"%s\" disappeared", s->device);
    s->lost = true;
    pcm_close(s);
    post_error(s, -ENODEV);
    s->retry_id = g_timeout_add(RETRY_MS, retry_open, s);
}

/* Common error handling of data-path calls. Return: -errno to give back. */
static int handle_error(VsndAudioStream *s, int err)
{
    if (err == -ENODEV || err == -ENOTTY || err == -EBADFD) {
        stream_lost(s);
        return -ENODEV;
    }
    if (err == -EAGAIN)
        return -EAGAIN;
    if (snd_pcm_recover(s->pcm, err, 1 /* silent */) == 0) {
        if (s->dir == VSND_DIR_INPUT) {
            post_error(s, -EPIPE);
            if (s->running)
                snd_pcm_start(s->pcm);
        } else if (s->running) {
            s->start_pending = true;
        }
        return 0;
    }
    /* Not even prepare works (e.g. a plugin lost its server): gone. */
    stream_lost(s);
    return -ENODEV;
}

/* ---- pacing of a PCM without a clock --------------------------------------- */

/* Frames the paced clock has played since it started. */
static uint64_t paced_played(const VsndAudioStream *s)
{
    if (!s->pace_t0)
        return 0;
    return (uint64_t)(g_get_monotonic_time() - s->pace_t0) * s->rate / G_USEC_PER_SEC;
}

/* Frames written and not yet played by the paced clock. */
static uint64_t paced_fill(const VsndAudioStream *s)
{
    uint64_t played = paced_played(s);

    return s->pace_frames > played ? s->pace_frames - played : 0;
}

/* The clock stops with the stream and goes on from what it held. */
static void pace_stop(VsndAudioStream *s)
{
    s->pace_frames = paced_fill(s);
    s->pace_t0 = 0;
}

static void pace_start(VsndAudioStream *s)
{
    if (s->unclocked && !s->pace_t0)
        s->pace_t0 = g_get_monotonic_time();
}

static gboolean pace_ready(gpointer data)
{
    VsndAudioStream *s = data;

    s->pace_id = 0;
    if (s->need_ready) {
        s->need_ready = false;
        if (s->events->ready)
            s->events->ready(s->opaque);
    }
    return G_SOURCE_REMOVE;
}

/* May @frames more be written now?  Else ready() comes when they may. */
static bool pace_allows(VsndAudioStream *s, snd_pcm_uframes_t frames)
{
    uint64_t room = 2 * (uint64_t)s->period_frames, fill;

    if (!s->unclocked || !s->pace_t0)
        return true;
    fill = paced_fill(s);
    if (fill + frames <= MAX(room, frames))
        return true;
    s->need_ready = true;
    if (!s->pace_id)
        s->pace_id = g_timeout_add(MAX((unsigned int)((fill + frames - room) * 1000 / s->rate), 1u),
                                   pace_ready, s);
    return false;
}

/* After a transfer of @frames: a running PCM whose buffer is all free
 * (playback) or all full (capture) again has no clock; from now on the
 * stream is paced. */
static void pace_account(VsndAudioStream *s, snd_pcm_uframes_t frames)
{
    if (!s->unclocked && s->running && snd_pcm_state(s->pcm) == SND_PCM_STATE_RUNNING &&
        snd_pcm_avail_update(s->pcm) >= (snd_pcm_sframes_t)s->buffer_frames) {
        g_debug("alsa: PCM \"%s\" has no clock: pacing it at %u Hz", s->device, s->rate);
        s->unclocked = true;
        s->pace_frames = 0;
        pace_start(s);
    }
    if (s->unclocked)
        s->pace_frames += frames;
}

/* ---- driver operations ---------------------------------------------------- */

/* alsa-lib prints its errors to stderr; route them to the debug log (the
 * driver reports what matters itself). */
static void alsa_lib_error(const char *file, int line, const char *function, int err,
                           const char *fmt, ...) G_GNUC_PRINTF(5, 6);

static void alsa_lib_error(const char *file, int line, const char *function, int err,
                           const char *fmt, ...)
{
    g_autofree char *msg = NULL;
    va_list ap;

    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_debug("alsa-lib: %s: %s%s%s", function, msg, err ? ": " : "", err ? snd_strerror(err) : "");
}

static VsndAudioBackend *alsa_init(GHashTable *options, const char *vm_name, GError **error)
{
    const char *device = g_hash_table_lookup(options, "device");
    snd_pcm_t *pcm = NULL;
    VsndAudioBackend *be;
    int r;

    if (!device)
        device = "default";
    snd_lib_error_set_handler(alsa_lib_error);
    r = snd_pcm_open(&pcm, device, SND_PCM_STREAM_PLAYBACK, SND_PCM_NONBLOCK);
    if (r < 0) {
        g_set_error(error, VSND_AUDIO_ERROR, vsnd_audio_error_from_errno(-r),
                    "alsa: cannot open PCM \"%s\": %s", device, snd_strerror(r));
        return NULL;
    }
    snd_pcm_close(pcm);
    be = g_new0(VsndAudioBackend, 1);
    be->device = g_strdup(device);
    return be;
}

static void alsa_fini(VsndAudioBackend *be)
{
    g_free(be->device);
    g_free(be);
}

static int alsa_query_caps(VsndAudioBackend *be, VsndDirection dir, VsndPcmCaps *ret_caps)
{
    snd_pcm_hw_params_t *hw;
    snd_pcm_t *pcm;
    unsigned int cmin = 0, cmax = 0;
    VsndPcmCaps caps = { 0 };
    int r;

    if (be->caps_valid[dir]) {
        *ret_caps = be->caps[dir];
        return 0;
    }
    r = snd_pcm_open(&pcm, be->device, alsa_dir(dir), SND_PCM_NONBLOCK);
    if (r < 0)
        return r;
    snd_pcm_hw_params_alloca(&hw);
    r = snd_pcm_hw_params_any(pcm, hw);
    if (r >= 0)
        snd_pcm_hw_params_set_access(pcm, hw, SND_PCM_ACCESS_RW_INTERLEAVED);
    for (unsigned int f = 0; r >= 0 && f < VSND_PCM_FMT_COUNT; f++) {
        snd_pcm_format_t af;
        if (alsa_format_of(f, &af) && snd_pcm_hw_params_test_format(pcm, hw, af) == 0)
            caps.formats |= VSND_PCM_FMT_BIT(f);
    }
    for (unsigned int i = 0; r >= 0 && i < VSND_PCM_RATE_COUNT; i++) {
        if (snd_pcm_hw_params_test_rate(pcm, hw, vsnd_pcm_rate_hz(i), 0) == 0)
            caps.rates |= UINT64_C(1) << i;
    }
    if (r >= 0) {
        snd_pcm_hw_params_get_channels_min(hw, &cmin);
        snd_pcm_hw_params_get_channels_max(hw, &cmax);
    }
    snd_pcm_close(pcm);
    if (r < 0)
        return r;
    caps.channels_min = (uint8_t)CLAMP(cmin, 1u, 8u);
    caps.channels_max = (uint8_t)CLAMP(cmax, caps.channels_min, 8u);
    be->caps[dir] = caps;
    be->caps_valid[dir] = true;
    *ret_caps = caps;
    return 0;
}

static VsndAudioStream *alsa_open(VsndAudioBackend *be, const VsndPcmParams *params,
                                  const VsndAudioStreamEvents *events, void *opaque,
                                  GError **error)
{
    VsndAudioStream *s;

    s = g_new0(VsndAudioStream, 1);
    s->be = be;
    s->dir = params->direction;
    s->device = g_strdup(params->target ? params->target : be->device);
    s->channels = params->channels;
    s->rate = vsnd_pcm_rate_hz(params->rate);
    s->frame_bytes = vsnd_pcm_frame_bytes(params->format, params->channels);
    s->events = events;
    s->opaque = opaque;
    if (!alsa_format_of(params->format, &s->format) || s->frame_bytes == 0) {
        g_set_error(error, VSND_AUDIO_ERROR, VSND_AUDIO_ERROR_NOT_SUPPORTED,
                    "alsa: format %u is not supported", params->format);
        goto fail;
    }
    s->period_frames = params->period_bytes / s->frame_bytes;
    s->buffer_frames = MAX(params->buffer_bytes / s->frame_bytes, 2 * s->period_frames);
    if (pcm_setup(s, error) < 0)
        goto fail;
    be->streams = g_list_prepend(be->streams, s);
    return s;

fail:
    g_free(s->device);
    g_free(s);
    return NULL;
}

static void alsa_close(VsndAudioStream *s)
{
    s->be->streams = g_list_remove(s->be->streams, s);
    if (s->retry_id)
        g_source_remove(s->retry_id);
    if (s->idle_id)
        g_source_remove(s->idle_id);
    if (s->drain_id)
        g_source_remove(s->drain_id);
    if (s->pace_id)
        g_source_remove(s->pace_id);
    pcm_close(s);
    g_free(s->bounce);
    g_free(s->device);
    g_free(s);
}

static int alsa_start(VsndAudioStream *s)
{
    snd_pcm_state_t st;
    int r = 0;

    s->running = true;
    pace_start(s);
    if (s->lost)
        return 0; /* starts when the device is back */
    st = snd_pcm_state(s->pcm);
    if (st == SND_PCM_STATE_PAUSED) {
        r = snd_pcm_pause(s->pcm, 0);
    } else if (st == SND_PCM_STATE_PREPARED) {
        snd_pcm_sframes_t avail = snd_pcm_avail_update(s->pcm);
        if (s->dir == VSND_DIR_OUTPUT && avail >= (snd_pcm_sframes_t)s->buffer_frames)
            s->start_pending = true; /* nothing queued yet */
        else
            r = snd_pcm_start(s->pcm);
    }
    return r < 0 ? handle_error(s, r) : 0;
}

static int alsa_stop(VsndAudioStream *s)
{
    int r = 0;

    s->running = false;
    s->start_pending = false;
    pace_stop(s);
    if (s->lost)
        return 0;
    if (snd_pcm_state(s->pcm) == SND_PCM_STATE_RUNNING) {
        if (s->can_pause) {
            r = snd_pcm_pause(s->pcm, 1);
        } else {
            snd_pcm_drop(s->pcm);
            r = snd_pcm_prepare(s->pcm);
        }
    }
    return r < 0 ? handle_error(s, r) : 0;
}

static uint8_t *bounce(VsndAudioStream *s, size_t len)
{
    if (s->bounce_len < len) {
        g_free(s->bounce);
        s->bounce = g_malloc(len);
        s->bounce_len = len;
    }
    return s->bounce;
}

static snd_pcm_sframes_t avail_or_error(VsndAudioStream *s)
{
    snd_pcm_sframes_t avail = snd_pcm_avail_update(s->pcm);

    if (avail < 0) {
        int r = handle_error(s, (int)avail);
        if (r < 0)
            return r;
        avail = s->lost ? -ENODEV : snd_pcm_avail_update(s->pcm);
    }
    return avail;
}

/*
 * What read and write check first: the direction, a size that can ever
 * fit, a present device and room (or data) for all @frames now; otherwise
 * ask for ready() once there is.  Return: 0, -EAGAIN or -errno.
 */
static int io_ready(VsndAudioStream *s, VsndDirection dir, snd_pcm_uframes_t frames)
{
    snd_pcm_sframes_t avail;

    if (s->dir != dir)
        return -EBADF;
    if (frames == 0 || frames > s->buffer_frames)
        return -EINVAL; /* less than a frame, or would never fit the buffer */
    if (s->lost)
        return -ENODEV;
    if (!pace_allows(s, frames))
        return -EAGAIN;
    avail = avail_or_error(s);
    if (avail < 0)
        return (int)avail;
    if ((snd_pcm_uframes_t)avail < frames) {
        s->need_ready = true;
        watch(s, true);
        return -EAGAIN;
    }
    return 0;
}

static ssize_t alsa_write(VsndAudioStream *s, const struct iovec *iov, unsigned int iovcnt)
{
    size_t len = vsnd_iov_size(iov, iovcnt);
    snd_pcm_uframes_t frames = len / s->frame_bytes;
    snd_pcm_sframes_t w;
    uint8_t *buf;
    int r = io_ready(s, VSND_DIR_OUTPUT, frames);

    if (r < 0)
        return r;
    buf = bounce(s, len);
    vsnd_iov_to_buf(iov, iovcnt, 0, buf, len);
    w = snd_pcm_writei(s->pcm, buf, frames);
    if (w < 0) {
        r = handle_error(s, (int)w);
        if (r < 0)
            return r;
        w = snd_pcm_writei(s->pcm, buf, frames);
        if (w < 0)
            return w == -EAGAIN ? -EAGAIN : -EIO;
    }
    if (s->start_pending && s->running) {
        s->start_pending = false;
        if (snd_pcm_state(s->pcm) == SND_PCM_STATE_PREPARED)
            snd_pcm_start(s->pcm);
    }
    pace_account(s, (snd_pcm_uframes_t)w);
    /* A trailing partial frame cannot be played; it is consumed. */
    return (snd_pcm_uframes_t)w == frames ? (ssize_t)len : (ssize_t)((size_t)w * s->frame_bytes);
}

static ssize_t alsa_read(VsndAudioStream *s, const struct iovec *iov, unsigned int iovcnt)
{
    size_t len = vsnd_iov_size(iov, iovcnt);
    snd_pcm_uframes_t frames = len / s->frame_bytes;
    snd_pcm_sframes_t r = io_ready(s, VSND_DIR_INPUT, frames);
    uint8_t *buf;

    if (r < 0)
        return r;
    buf = bounce(s, len);
    /* Not every PCM writes what it returns: the null plugin leaves the
     * buffer as it was, which would hand the guest our heap.  Silence
     * first, so such frames are silence. */
    snd_pcm_format_set_silence(s->format, buf, (unsigned int)(frames * s->channels));
    r = snd_pcm_readi(s->pcm, buf, frames);
    if (r < 0)
        return handle_error(s, (int)r) < 0 ? -ENODEV : -EAGAIN;
    pace_account(s, (snd_pcm_uframes_t)r);
    vsnd_buf_to_iov(iov, iovcnt, 0, buf, (size_t)r * s->frame_bytes);
    return (ssize_t)((size_t)r * s->frame_bytes);
}

/* Frames written and not yet played: the PCM's delay, or the paced
 * clock's for a PCM without a clock.  Return: 0 or -errno. */
static int pcm_delay(VsndAudioStream *s, snd_pcm_sframes_t *delay)
{
    int r = snd_pcm_delay(s->pcm, delay);

    if (r == 0 && s->unclocked)
        *delay = (snd_pcm_sframes_t)MIN(paced_fill(s), (uint64_t)G_MAXINT32);
    return r;
}

/* Drain without blocking: poll the delay every half period until the
 * device has played everything, then ready(). */
static gboolean drain_poll(gpointer data)
{
    VsndAudioStream *s = data;
    snd_pcm_sframes_t delay = 0;

    if (!s->lost && snd_pcm_state(s->pcm) == SND_PCM_STATE_RUNNING &&
        pcm_delay(s, &delay) == 0 && delay > 0)
        return G_SOURCE_CONTINUE;
    s->drain_id = 0;
    if (s->events->ready)
        s->events->ready(s->opaque);
    return G_SOURCE_REMOVE;
}

static int alsa_drain(VsndAudioStream *s)
{
    snd_pcm_sframes_t delay = 0;

    if (s->dir != VSND_DIR_OUTPUT || s->lost || !s->running)
        return 0;
    if (s->start_pending && snd_pcm_avail_update(s->pcm) < (snd_pcm_sframes_t)s->buffer_frames) {
        s->start_pending = false;
        snd_pcm_start(s->pcm);
    }
    if (snd_pcm_state(s->pcm) != SND_PCM_STATE_RUNNING || pcm_delay(s, &delay) < 0 ||
        delay <= 0)
        return 0;
    if (!s->drain_id)
        s->drain_id = g_timeout_add(MAX(1000u * (unsigned int)s->period_frames / s->rate / 2, 1u),
                                    drain_poll, s);
    return -EINPROGRESS;
}

static int alsa_get_latency(VsndAudioStream *s, uint32_t *ret_bytes)
{
    snd_pcm_sframes_t delay = 0;

    if (s->lost || pcm_delay(s, &delay) < 0 || delay < 0)
        delay = 0;
    *ret_bytes = (uint32_t)MIN((uint64_t)delay * s->frame_bytes, UINT32_MAX);
    return 0;
}

static bool alsa_is_connected(VsndAudioBackend *be, VsndDirection dir, const char *target)
{
    const char *dev = target ? target : be->device;

    for (GList *l = be->streams; l; l = l->next) {
        VsndAudioStream *s = l->data;
        if (s->lost && strcmp(s->device, dev) == 0)
            return false;
    }
    return true;
}

static const char *const alsa_keys[] = { "device", NULL };

static const VsndAudioDriver alsa_driver = {
    .abi_version = VSND_AUDIO_ABI_VERSION,
    .name = "alsa",
    .description = "ALSA PCM device (any name: hw:, plughw:, dmix, plugins)",
    .init = alsa_init,
    .fini = alsa_fini,
    .query_caps = alsa_query_caps,
    .open = alsa_open,
    .close = alsa_close,
    .start = alsa_start,
    .stop = alsa_stop,
    .write = alsa_write,
    .read = alsa_read,
    .drain = alsa_drain,
    .get_latency = alsa_get_latency,
    .is_connected = alsa_is_connected,
    .option_keys = alsa_keys,
};

const VsndAudioDriver *vsnd_audio_driver_entry(void);

const VsndAudioDriver *vsnd_audio_driver_entry(void)
{
    return &alsa_driver;
}
