/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * null.c - the built-in null driver: a clocked device with no sound.
 *
 * Playback bytes are accepted into a two-period virtual buffer and dropped;
 * the buffer drains at the stream's real rate (VsndPaced), so the guest is
 * paced exactly as by a sound card and latency_bytes is what is "queued".
 * Capture produces silence of the stream's format (mid-scale for unsigned
 * formats, 0xff for mu-law, ...) at the real rate.  No timer runs while no
 * stream is started.
 *
 * Options: clock=real (default) | manual.  "manual" runs every stream on
 * the test clock of audio/clock.h (vsnd_manual_clock_advance()).
 *
 * Every whole-byte format, every rate of the spec and 1..8 channels are
 * offered: nothing is interpreted.  Main thread only.
 */
#include "config.h"

#define G_LOG_DOMAIN "vsnd-audio"

#include <errno.h>
#include <string.h>

/* Start-up errors reach the user: translated in the daemon's domain. */
#include <glib/gi18n-lib.h>

#include "builtin.h"
#include "iov-util.h"
#include "paced.h"
#include "pcm-format.h"


struct VsndAudioBackend {
    bool manual;
};

struct VsndAudioStream {
    VsndPaced paced;
    uint8_t format;
    uint64_t pos; /* capture byte position, for multi-byte silence */
};

static VsndAudioBackend *null_init(GHashTable *options, const char *vm_name, GError **error)
{
    const char *clock = g_hash_table_lookup(options, "clock");
    VsndAudioBackend *be;

    if (clock && strcmp(clock, "real") != 0 && strcmp(clock, "manual") != 0) {
        g_set_error(error, VSND_AUDIO_ERROR, VSND_AUDIO_ERROR_INVALID_ARGUMENT,
                    _("null driver: clock must be \"real\" or \"manual\", not \"%s\""), clock);
        return NULL;
    }
    be = g_new0(VsndAudioBackend, 1);
    be->manual = clock && strcmp(clock, "manual") == 0;
    return be;
}

static void null_fini(VsndAudioBackend *be)
{
    g_free(be);
}

static int null_query_caps(VsndAudioBackend *be, VsndDirection dir, VsndPcmCaps *ret_caps)
{
    uint64_t formats = 0;

    for (unsigned int f = 0; f < VSND_PCM_FMT_COUNT; f++) {
        if (vsnd_pcm_format_bytes(f))
            formats |= VSND_PCM_FMT_BIT(f);
    }
    ret_caps->formats = formats;
    ret_caps->rates = VSND_PCM_RATES_ALL;
    ret_caps->channels_min = 1;
    ret_caps->channels_max = 8;
    return 0;
}

static VsndAudioStream *null_open(VsndAudioBackend *be, const VsndPcmParams *params,
                                  const VsndAudioStreamEvents *events, void *opaque,
                                  GError **error)
{
    VsndAudioStream *s = g_new0(VsndAudioStream, 1);

    if (vsnd_paced_init(&s->paced, be->manual, params, events, opaque) < 0) {
        g_set_error(error, VSND_AUDIO_ERROR, VSND_AUDIO_ERROR_NOT_SUPPORTED,
                    "null driver: unsupported format %u / rate %u", params->format,
                    params->rate);
        g_free(s);
        return NULL;
    }
    s->format = params->format;
    return s;
}

static void null_close(VsndAudioStream *s)
{
    vsnd_paced_clear(&s->paced);
    g_free(s);
}

static int null_start(VsndAudioStream *s)
{
    vsnd_paced_start(&s->paced);
    return 0;
}

static int null_stop(VsndAudioStream *s)
{
    vsnd_paced_stop(&s->paced);
    return 0;
}

static ssize_t null_write(VsndAudioStream *s, const struct iovec *iov, unsigned int iovcnt)
{
    size_t len = vsnd_iov_size(iov, iovcnt);
    int r;

    if (s->paced.dir != VSND_DIR_OUTPUT)
        return -EBADF;
    r = vsnd_paced_room(&s->paced, len);
    if (r < 0)
        return r;
    vsnd_paced_commit(&s->paced, len);
    return (ssize_t)len;
}

static ssize_t null_read(VsndAudioStream *s, const struct iovec *iov, unsigned int iovcnt)
{
    size_t len = vsnd_iov_size(iov, iovcnt);
    int r;

    if (s->paced.dir != VSND_DIR_INPUT)
        return -EBADF;
    r = vsnd_paced_take(&s->paced, len);
    if (r < 0)
        return r;
    for (unsigned int i = 0; i < iovcnt; i++) {
        vsnd_pcm_fill_silence(s->format, iov[i].iov_base, iov[i].iov_len, s->pos);
        s->pos += iov[i].iov_len;
    }
    return (ssize_t)len;
}

static int null_drain(VsndAudioStream *s)
{
    return s->paced.dir == VSND_DIR_OUTPUT ? vsnd_paced_drain(&s->paced) : 0;
}

static int null_get_latency(VsndAudioStream *s, uint32_t *ret_bytes)
{
    *ret_bytes = vsnd_paced_latency(&s->paced);
    return 0;
}

static const char *const null_keys[] = { "clock", NULL };

const VsndAudioDriver vsnd_audio_null_driver = {
    .abi_version = VSND_AUDIO_ABI_VERSION,
    .name = "null",
    .description = "No sound: plays into nothing and records silence, in real time",
    .init = null_init,
    .fini = null_fini,
    .query_caps = null_query_caps,
    .open = null_open,
    .close = null_close,
    .start = null_start,
    .stop = null_stop,
    .write = null_write,
    .read = null_read,
    .drain = null_drain,
    .get_latency = null_get_latency,
    .option_keys = null_keys,
};
