/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuzz-wav-in.c - libFuzzer target: the wav driver's input file
 * (in=FILE, audio/wav.c): RIFF/WAVE chunks, the fmt chunk (PCM, float,
 * G.711, extensible), the data chunk (finalised or not, truncated).
 *
 * The input is the file.  The driver is set up with it on the manual
 * clock; when it accepts the file, a capture stream is opened with what
 * query_caps offers (exactly the file's format) and read for a few
 * periods across the loop point, in uneven pieces, and a stream with
 * other parameters must be refused.  The file lives in a memfd reached
 * through /proc/self/fd.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "audio/audio.h"
#include "audio/builtin.h"
#include "audio/clock.h"
#include "audio/pcm-format.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void quiet_log(const gchar *domain, GLogLevelFlags level, const gchar *msg, gpointer data)
{
    if (level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL)) {
        fprintf(stderr, "%s: %s\n", domain ? domain : "?", msg);
        abort();
    }
}

static void ev_ready(void *opaque)
{
}

static void ev_error(void *opaque, int err)
{
}

static const VsndAudioStreamEvents events = { ev_ready, ev_error };

static void check(bool ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz-wav-in: %s\n", what);
        abort();
    }
}

static int lowest_bit(uint64_t v)
{
    return v ? __builtin_ctzll(v) : -1;
}

/* Capture a few periods from the file; it loops, so this crosses its end. */
static void capture(const VsndAudioDriver *drv, VsndAudioBackend *be, const VsndPcmCaps *caps)
{
    VsndPcmParams p = { .direction = VSND_DIR_INPUT, .label = "fuzz" };
    g_autoptr(GError) error = NULL;
    VsndAudioStream *s;
    unsigned int frame;
    uint8_t *buf;

    p.format = (uint8_t)lowest_bit(caps->formats);
    p.rate = (uint8_t)lowest_bit(caps->rates);
    p.channels = caps->channels_min;
    frame = vsnd_pcm_frame_bytes(p.format, p.channels);
    check(caps->formats == (1ull << p.format) && caps->rates == (1ull << p.rate) &&
          caps->channels_min == caps->channels_max && frame > 0,
          "query_caps does not offer exactly the file's format");
    p.period_bytes = 97 * frame;
    p.buffer_bytes = 4 * p.period_bytes;
    s = drv->open(be, &p, &events, NULL, &error);
    check(s != NULL, "the file's own format is refused");
    check(drv->start(s) == 0, "start failed");
    buf = malloc(p.period_bytes);
    check(buf != NULL, "out of memory");
    for (unsigned int i = 0; i < 5; i++) {
        /* uneven pieces, like guest pages */
        size_t first = MIN((size_t)p.period_bytes, (size_t)(7 * i + 1));
        struct iovec iov[2] = { { buf, first }, { buf + first, p.period_bytes - first } };
        ssize_t r;

        vsnd_manual_clock_advance(INT64_C(1000000000) * 97 / vsnd_pcm_rate_hz(p.rate) + 1);
        r = drv->read(s, iov, 2);
        check(r == (ssize_t)p.period_bytes || r == -EAGAIN, "read returned nonsense");
    }
    free(buf);
    drv->close(s);

    /* other channels: nothing is converted, so open() must refuse */
    p.channels = p.channels == 8 ? 1 : p.channels + 1;
    p.period_bytes = vsnd_pcm_frame_bytes(p.format, p.channels) * 97;
    p.buffer_bytes = 4 * p.period_bytes;
    g_clear_error(&error);
    s = drv->open(be, &p, &events, NULL, &error);
    check(s == NULL && error != NULL, "a stream unlike the file is accepted");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int fd = -1;
    static char path[64];
    const VsndAudioDriver *drv = &vsnd_audio_wav_driver;
    g_autoptr(GHashTable) options = NULL;
    g_autoptr(GError) error = NULL;
    VsndAudioBackend *be;
    VsndPcmCaps caps;

    if (fd < 0) {
        if (!g_getenv("FUZZ_VERBOSE")) {
            g_log_set_default_handler(quiet_log, NULL);
        }
        g_log_set_always_fatal(G_LOG_FATAL_MASK | G_LOG_LEVEL_CRITICAL);
        fd = memfd_create("fuzz-wav-in", MFD_CLOEXEC);
        check(fd >= 0, "memfd_create");
        snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    }
    check(ftruncate(fd, 0) == 0 && pwrite(fd, data, size, 0) == (ssize_t)size, "memfd write");
    options = g_hash_table_new(g_str_hash, g_str_equal);
    g_hash_table_insert(options, "in", path);
    g_hash_table_insert(options, "clock", "manual");
    be = drv->init(options, "fuzz", &error);
    if (!be) {
        check(error != NULL, "refused without an error");
        return 0;
    }
    check(drv->query_caps(be, VSND_DIR_INPUT, &caps) == 0, "query_caps failed");
    capture(drv, be, &caps);
    drv->fini(be);
    return 0;
}
