/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * snd-pcm-host.c - a stream's host stream from open to close: PREPARE
 * opens it (vsnd_audio_open), RELEASE closes it, draining playback when
 * the driver can (the drained stream lingers, its events ignored, until
 * the driver says it is done or SND_PCM_LINGER_NS passed on the driver's
 * clock, an audio/clock.h timer).  Driver events go to the pump
 * (snd-pcm-pump.c).
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#define G_LOG_DOMAIN "vsnd-snd"
#include <glib.h>

#include "audio/pcm-format.h"
#include "snd/snd-format.h"
#include "snd/snd-pcm-host.h"
#include "snd/snd-pcm-host-end.h"
#include "snd/snd-pcm-pump.h"

/* How long a released playback stream may drain before it is closed. */
#define SND_PCM_LINGER_NS (2 * INT64_C(1000000000))

void vsnd_host_close(SndPcm *pcm, SndHostStream *hs)
{
    g_clear_pointer(&hs->linger, vsnd_timer_free);
    g_clear_handle_id(&hs->drained_id, g_source_remove);
    vsnd_audio_close(pcm->audio, hs->s);
    pcm->lingering = g_list_remove(pcm->lingering, hs);
    g_free(hs);
}

/* The drain took too long (closing frees the timer inside its callback,
 * which clock.c allows). */
static void linger_expired(void *opaque)
{
    SndHostStream *hs = opaque;

    vsnd_host_close(hs->pcm, hs);
}

static gboolean drained(gpointer data)
{
    SndHostStream *hs = data;

    hs->drained_id = 0;
    vsnd_host_close(hs->pcm, hs);
    return G_SOURCE_REMOVE;
}

static void on_ready(void *opaque)
{
    SndHostStream *hs = opaque;

    if (hs->st) {
        vsnd_stream_schedule_pump(hs->st);
    } else if (hs->linger && !hs->drained_id) {
        /* Drained: close from an idle callback, not inside the driver. */
        hs->drained_id = g_idle_add(drained, hs);
    }
}

static void on_error(void *opaque, int err)
{
    SndHostStream *hs = opaque;

    if (hs->st) {
        vsnd_stream_host_error(hs->st, err > 0 ? -err : err);
    }
}

static const VsndAudioStreamEvents host_events = {
    .ready = on_ready,
    .error = on_error,
};

void vsnd_stream_apply_gain(SndPcmStream *st)
{
    int r;

    if (!st->host) {
        return;
    }
    r = vsnd_audio_set_volume(st->pcm->audio, st->host->s, st->gain, st->mute);
    st->soft_gain = r == -ENOTSUP;
    if (r < 0 && r != -ENOTSUP) {
        g_warning("stream %u: cannot set host volume: %s", st->id, g_strerror(-r));
    }
}

int vsnd_stream_open(SndPcmStream *st)
{
    SndPcm *pcm = st->pcm;
    uint8_t positions[VIRTIO_SND_CHMAP_MAX_SIZE];
    g_autoptr(GError) error = NULL;
    VsndPcmParams p = {
        .direction = st->dir,
        .format = st->params.format,
        .rate = st->params.rate,
        .channels = st->params.channels,
        .period_bytes = st->params.period_bytes,
        .buffer_bytes = st->params.buffer_bytes,
        .positions = positions,
        .label = st->label,
        .target = st->target,
        .stream_id = st->id,
    };
    SndHostStream *hs = g_new0(SndHostStream, 1);

    vsnd_chmap_standard(st->params.channels, positions);
    hs->pcm = pcm;
    hs->st = st;
    st->host = hs; /* events during open find their stream */
    hs->id = st->id;
    hs->s = vsnd_audio_open(pcm->audio, &p, &host_events, hs, &error);
    if (!hs->s) {
        /* The previous host stream of this stream may still be draining
         * and hold what the new one needs (the wav driver's file): a new
         * PREPARE ends that drain, then the open is tried again. */
        for (GList *l = pcm->lingering; l; l = l->next) {
            SndHostStream *old = l->data;

            if (old->id == st->id) {
                vsnd_host_close(pcm, old);
                g_clear_error(&error);
                hs->s = vsnd_audio_open(pcm->audio, &p, &host_events, hs, &error);
                break;
            }
        }
    }
    if (!hs->s) {
        g_warning("stream %u: cannot open host stream: %s", st->id,
                  error ? error->message : "unknown error");
        st->host = NULL;
        g_free(hs);
        /* The host end may be gone: the jack says so. */
        vsnd_host_end_event(st, HOST_EV_OPEN_FAILED);
        return -EIO;
    }
    st->soft_gain = false;
    st->dry = false;
    st->xruns = 0;
    vsnd_host_end_event(st, HOST_EV_OPENED);
    if (st->mute || st->gain != SND_GAIN_UNITY) {
        vsnd_stream_apply_gain(st);
    }
    return 0;
}

void vsnd_stream_close(SndPcmStream *st, bool drain)
{
    SndPcm *pcm = st->pcm;
    SndHostStream *hs = st->host;
    bool lost = vsnd_host_end_lost(st);

    g_clear_handle_id(&st->pump_id, g_source_remove);
    vsnd_stream_clock_stop(st);
    vsnd_stream_dry_stop(st);
    vsnd_host_end_event(st, HOST_EV_CLOSED);
    if (!hs) {
        return;
    }
    if (st->xruns) {
        g_message("stream %u: %u xruns while it was prepared", st->id, st->xruns);
    }
    st->host = NULL;
    hs->st = NULL;
    if (drain && st->dir == VSND_DIR_OUTPUT && !lost &&
        vsnd_audio_drain(pcm->audio, hs->s) == -EINPROGRESS) {
        /* No timer (no file descriptor left): closed now, the tail cut. */
        hs->linger = vsnd_timer_new(vsnd_audio_manual_clock(pcm->audio), linger_expired, hs);
        if (hs->linger) {
            vsnd_timer_arm(hs->linger, vsnd_timer_now(hs->linger) + SND_PCM_LINGER_NS);
            pcm->lingering = g_list_prepend(pcm->lingering, hs);
            return;
        }
    }
    vsnd_host_close(pcm, hs);
}

void vsnd_stream_caps(SndPcm *pcm, SndPcmStream *st, const VsndStreamConfig *sc)
{
    const uint64_t fmt_mask = (1ull << VSND_PCM_FMT_COUNT) - 1;
    const uint64_t rate_mask = (1ull << VSND_PCM_RATE_COUNT) - 1;
    VsndPcmCaps caps = { 0 };
    unsigned int cmin, cmax;
    int r;

    r = vsnd_audio_query_caps(pcm->audio, st->dir, &caps);
    if (r < 0 || !(caps.formats & fmt_mask) || !(caps.rates & rate_mask)) {
        g_warning("stream %u: host driver reports no usable capabilities (%s); "
                  "offering S16 48 kHz, opening will fail", st->id,
                  r < 0 ? g_strerror(-r) : "empty");
        caps.formats = 1ull << VIRTIO_SND_PCM_FMT_S16;
        caps.rates = 1ull << VIRTIO_SND_PCM_RATE_48000;
        caps.channels_min = 1;
        caps.channels_max = 2;
    }
    st->formats = caps.formats & fmt_mask;
    st->rates = caps.rates & rate_mask;
    if (sc && sc->formats) {
        if (st->formats & sc->formats) {
            st->formats &= sc->formats;
        } else {
            g_warning("stream %u: none of the configured formats is supported by the host "
                      "driver; offering the driver's", st->id);
        }
    }
    if (sc && sc->rates) {
        if (st->rates & sc->rates) {
            st->rates &= sc->rates;
        } else {
            g_warning("stream %u: none of the configured rates is supported by the host "
                      "driver; offering the driver's", st->id);
        }
    }
    cmin = MAX(1u, caps.channels_min);
    cmax = MIN((unsigned int)MAX(caps.channels_max, 1), VIRTIO_SND_CHMAP_MAX_SIZE);
    if (sc) {
        unsigned int want_min = MAX(cmin, (unsigned int)sc->channels_min);
        unsigned int want_max = MIN(cmax, (unsigned int)sc->channels_max);

        if (want_min <= want_max) {
            cmin = want_min;
            cmax = want_max;
        } else {
            g_warning("stream %u: configured channels %u..%u not supported by the host "
                      "driver (%u..%u)", st->id, sc->channels_min, sc->channels_max, cmin,
                      cmax);
        }
    } else {
        cmax = MIN(cmax, 2u);
    }
    if (cmin > cmax) {
        cmax = cmin;
    }
    st->channels_min = (uint8_t)cmin;
    st->channels_max = (uint8_t)cmax;
}
