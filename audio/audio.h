/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * audio.h - the only header a host audio driver includes.
 *
 * A driver is a versioned table of operations (VsndAudioDriver).  Optional
 * operations may be NULL; callers go through the vsnd_audio_*() wrappers in
 * registry.c, which answer -ENOTSUP for a missing one.  Drivers know nothing
 * of virtio: they see PCM parameters in the audio layer's own format, rate
 * and channel-position codes (pcm-format.h) and plain byte buffers.
 *
 * Threading: every operation is called on the daemon's main thread (the
 * thread running the default GMainContext).  A driver with its own threads
 * (pw_thread_loop, pa_threaded_mainloop) locks inside its operations and
 * reports back only through VsndAudioStreamEvents, which it must invoke on
 * the main thread (g_main_context_invoke() or an idle source does that).
 *
 * Data flow for one stream, all non-blocking:
 *   playback: the stream manager calls write() with one period; the driver
 *             copies it into its bounded buffer and returns the byte count,
 *             or -EAGAIN when full, and then calls events->ready() once room
 *             for at least one more period exists.
 *   capture:  read() fills one period or returns -EAGAIN, then ready() when a
 *             period is available.
 * get_latency() reports the bytes accepted but not yet played (playback) or
 * captured but not yet read (capture), including the host's own delay.
 */
#ifndef VSND_AUDIO_H
#define VSND_AUDIO_H

#include <errno.h>
#include <glib.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

G_BEGIN_DECLS

#define VSND_AUDIO_ABI_VERSION 1u

typedef enum {
    VSND_DIR_OUTPUT = 0, /* playback: guest -> host */
    VSND_DIR_INPUT = 1,  /* capture: host -> guest */
} VsndDirection;

/* Opaque, driver-private. */
typedef struct VsndAudioBackend VsndAudioBackend;
typedef struct VsndAudioStream VsndAudioStream;

/* What a driver can do in one direction (the device reports it to the guest). */
typedef struct VsndPcmCaps {
    uint64_t formats; /* bit i set == VSND_PCM_FMT_i supported */
    uint64_t rates;   /* bit i set == VSND_PCM_RATE_i supported */
    uint8_t channels_min;
    uint8_t channels_max;
} VsndPcmCaps;

/* Parameters of one stream; validated against the caps before open(). */
typedef struct VsndPcmParams {
    VsndDirection direction;
    uint8_t format;   /* VSND_PCM_FMT_* */
    uint8_t rate;     /* VSND_PCM_RATE_* */
    uint8_t channels; /* 1..8 */
    uint32_t period_bytes;
    uint32_t buffer_bytes;
    const uint8_t *positions; /* channels entries of VSND_CHMAP_*, or NULL */
    const char *label;        /* human label, e.g. "guest-1: playback 0" */
    const char *target;       /* host sink/source/device name, NULL = default */
    uint32_t stream_id;       /* for drivers that name files/nodes per stream */
} VsndPcmParams;

/* Called by a driver on the main thread. */
typedef struct VsndAudioStreamEvents {
    /* Room for (playback) or data of (capture) at least one period again. */
    void (*ready)(void *opaque);
    /* -EPIPE: xrun; -ENODEV/-ECONNRESET: host device or server gone;
     * 0: the host came back (stream usable again, jack reconnects). */
    void (*error)(void *opaque, int err);
} VsndAudioStreamEvents;

typedef struct VsndAudioDriver {
    uint32_t abi_version; /* VSND_AUDIO_ABI_VERSION */
    const char *name;        /* "null", "wav", "alsa", "pulse", "pipewire" */
    const char *description; /* N_("...") */

    /* @options: the key=value pairs after the driver name ("path=a.wav"). */
    VsndAudioBackend *(*init)(GHashTable *options, const char *vm_name, GError **error);
    void (*fini)(VsndAudioBackend *be);
    int (*query_caps)(VsndAudioBackend *be, VsndDirection dir, VsndPcmCaps *ret_caps);

    /* PREPARE opens, RELEASE closes (after drain for playback). */
    VsndAudioStream *(*open)(VsndAudioBackend *be, const VsndPcmParams *params,
                             const VsndAudioStreamEvents *events, void *opaque,
                             GError **error);
    void (*close)(VsndAudioStream *s);
    int (*start)(VsndAudioStream *s);
    int (*stop)(VsndAudioStream *s); /* pause; keeps queued audio */

    /* Non-blocking, at most one period: bytes taken/given, -EAGAIN, -errno. */
    ssize_t (*write)(VsndAudioStream *s, const struct iovec *iov, unsigned int iovcnt);
    ssize_t (*read)(VsndAudioStream *s, const struct iovec *iov, unsigned int iovcnt);

    /* Optional. */
    int (*drain)(VsndAudioStream *s);
    int (*get_latency)(VsndAudioStream *s, uint32_t *ret_bytes);
    /* volume: 0..65536 linear, 65536 = unity; applied per stream. */
    int (*set_volume)(VsndAudioStream *s, uint32_t volume, bool mute);
    /* Whether the host end (sink/source) is present: drives jack state. */
    bool (*is_connected)(VsndAudioBackend *be, VsndDirection dir, const char *target);

    /* Added by the audio branch (same ABI version, appended): the option
     * keys init() accepts, NULL-terminated; the registry rejects any other
     * key with a message listing these.  NULL: the driver takes none. */
    const char *const *option_keys;
} VsndAudioDriver;

/*
 * Errors a driver reports through GError.  Header-only, so loadable modules
 * need no symbol of the daemon; the quark string makes it one domain.
 */
typedef enum {
    VSND_AUDIO_ERROR_FAILED,
    VSND_AUDIO_ERROR_INVALID_ARGUMENT,
    VSND_AUDIO_ERROR_NOT_FOUND,
    VSND_AUDIO_ERROR_NOT_SUPPORTED,
    VSND_AUDIO_ERROR_CONNECTION_REFUSED,
    VSND_AUDIO_ERROR_BUSY,
    VSND_AUDIO_ERROR_INVALID_DATA,
    VSND_AUDIO_ERROR_PERMISSION_DENIED,
} VsndAudioError;

#define VSND_AUDIO_ERROR (vsnd_audio_error_quark())
static inline GQuark vsnd_audio_error_quark(void)
{
    return g_quark_from_static_string("vsnd-audio-error-quark");
}

static inline VsndAudioError vsnd_audio_error_from_errno(int err)
{
    switch (err) {
    case EINVAL:
        return VSND_AUDIO_ERROR_INVALID_ARGUMENT;
    case ENOENT:
    case ENODEV:
    case ENXIO:
        return VSND_AUDIO_ERROR_NOT_FOUND;
    case ENOTSUP:
        return VSND_AUDIO_ERROR_NOT_SUPPORTED;
    case ECONNREFUSED:
        return VSND_AUDIO_ERROR_CONNECTION_REFUSED;
    case EBUSY:
        return VSND_AUDIO_ERROR_BUSY;
    case EACCES:
    case EPERM:
        return VSND_AUDIO_ERROR_PERMISSION_DENIED;
    default:
        return VSND_AUDIO_ERROR_FAILED;
    }
}

/* A loadable driver module exports this symbol. */
#define VSND_AUDIO_MODULE_SYMBOL "vsnd_audio_driver_entry"
typedef const VsndAudioDriver *(*VsndAudioModuleEntry)(void);

G_END_DECLS

#endif /* VSND_AUDIO_H */
