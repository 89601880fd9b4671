/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * wav.c - the built-in wav driver: record playback to WAV files, capture
 * from a WAV file or a test tone.  The headless-testing driver.
 *
 * Options (all optional):
 *   dir=DIR     playback files go to DIR/stream-<id>.wav (default: the
 *               current directory);
 *   path=FILE   playback file name instead; "%u" in it is replaced by the
 *               stream id (without "%u" only one playback stream may be
 *               open at a time);
 *   in=FILE     capture streams read this WAV file, looping; the stream's
 *               format, rate and channels must be the file's (nothing is
 *               converted: open() fails naming both), and query_caps offers
 *               exactly that;
 *   tone=HZ     capture streams produce a sine of HZ at half full scale
 *               (-6 dBFS), the same sample on every channel;
 *   clock=real|manual  as for the null driver.
 * Capture without in= or tone= produces silence.
 *
 * Playback: each write is appended to the stream's file at once (samples
 * converted losslessly where WAV needs it, see wav-format.h), and paced by
 * a virtual two-period buffer drained at the stream rate (VsndPaced), so a
 * guest plays in real time.  The header is rewritten after every second of
 * audio and on stop, close and fini, so a killed daemon leaves a readable
 * file holding at least all but the last second.  A stream re-opened with
 * the same parameters (RELEASE then PREPARE, e.g. xrun recovery) appends to
 * its file; different parameters start the file over.  WAV sizes are 32-bit:
 * audio beyond 4 GiB is dropped with a warning.
 *
 * Main thread only.
 */
#include "config.h"

#define G_LOG_DOMAIN "vsnd-audio"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <string.h>
#include <unistd.h>

/* Start-up errors reach the user: translated in the daemon's domain. */
#include <glib/gi18n-lib.h>

#include "builtin.h"
#include "iov-util.h"
#include "paced.h"
#include "pcm-format.h"
#include "wav-format.h"


#define WAV_MAX_FRAME 64 /* 8 channels x 8 bytes */

typedef struct WavOut {
    char *path;
    int fd;
    bool in_use;
    uint8_t format, rate, channels;
    WavLayout layout;
    uint64_t data_bytes;
    uint64_t since_update;
    bool full_warned;
} WavOut;

/* A parsed input file. */
typedef struct WavIn {
    GMappedFile *map;
    const uint8_t *data;
    size_t len;       /* whole frames only */
    uint8_t format, rate, channels;
} WavIn;

struct VsndAudioBackend {
    bool manual;
    char *dir;
    char *path;
    char *in_path;
    double tone;
    WavIn in_info;    /* kept mapped for query_caps */
    GHashTable *outs; /* path -> WavOut */
};

struct VsndAudioStream {
    VsndAudioBackend *be;
    VsndPaced paced;
    uint8_t format, channels;
    uint32_t rate_hz;
    unsigned int frame_bytes;
    WavOut *out;
    uint8_t carry[WAV_MAX_FRAME];
    size_t carry_len;
    uint8_t *buf;
    size_t buf_len;
    WavIn in;
    size_t in_pos;
    uint64_t tone_frame;
    uint64_t pos;
};

/* ---- helpers ---------------------------------------------------------- */

static void wav_in_clear(WavIn *in)
{
    if (in->map)
        g_mapped_file_unref(in->map);
    memset(in, 0, sizeof(*in));
}

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)get16(p) | (uint32_t)get16(p + 2) << 16;
}

/* Parse a WAV file whose samples a virtio format holds as they are. */
static gboolean wav_in_load(const char *path, WavIn *ret, GError **error)
{
    g_autoptr(GError) err = NULL;
    GMappedFile *map = g_mapped_file_new(path, FALSE, &err);
    const uint8_t *p, *end, *fmt = NULL, *data = NULL;
    size_t fmt_len = 0, data_len = 0;
    uint16_t tag, channels, bits, valid;
    uint32_t hz;
    int fmt_code = -1, rate;
    unsigned int frame;

    if (!map) {
        g_set_error(error, VSND_AUDIO_ERROR, VSND_AUDIO_ERROR_NOT_FOUND,
                    "wav driver: cannot read input file: %s", err->message);
        return FALSE;
    }
    /* An empty file maps to NULL: check the length before any arithmetic. */
    if (g_mapped_file_get_length(map) < 12)
        goto bad;
    p = (const uint8_t *)g_mapped_file_get_contents(map);
    end = p + g_mapped_file_get_length(map);
    if (memcmp(p, "RIFF", 4) || memcmp(p + 8, "WAVE", 4))
        goto bad;
    for (p += 12; end - p >= 8;) {
        uint32_t clen = get32(p + 4);
        size_t avail = (size_t)(end - p - 8);

        if (!memcmp(p, "fmt ", 4)) {
            if (clen > avail)
                goto bad;
            fmt = p + 8;
            fmt_len = clen;
        } else if (!memcmp(p, "data", 4)) {
            data = p + 8;
            /* 0 or oversized: a header never finalised; take the rest. */
            data_len = clen == 0 || clen > avail ? avail : clen;
            break;
        }
        if (clen > avail)
            goto bad;
        if ((size_t)clen + (clen & 1) >= avail)
            break; /* last chunk */
        p += 8 + clen + (clen & 1);
    }
    if (!fmt || fmt_len < 16 || !data)
        goto bad;
    tag = get16(fmt);
    channels = get16(fmt + 2);
    hz = get32(fmt + 4);
    bits = get16(fmt + 14);
    valid = bits;
    if (tag == WAV_TAG_EXTENSIBLE) {
        if (fmt_len < 40)
            goto bad;
        valid = get16(fmt + 18);
        tag = get16(fmt + 24);
    }
    if (valid == bits) {
        if (tag == WAV_TAG_PCM && bits == 8)
            fmt_code = VSND_PCM_FMT_U8;
        else if (tag == WAV_TAG_PCM && bits == 16)
            fmt_code = VSND_PCM_FMT_S16;
        else if (tag == WAV_TAG_PCM && bits == 24)
            fmt_code = VSND_PCM_FMT_S24_3;
        else if (tag == WAV_TAG_PCM && bits == 32)
            fmt_code = VSND_PCM_FMT_S32;
        else if (tag == WAV_TAG_FLOAT && bits == 32)
            fmt_code = VSND_PCM_FMT_FLOAT;
        else if (tag == WAV_TAG_FLOAT && bits == 64)
            fmt_code = VSND_PCM_FMT_FLOAT64;
        else if (tag == WAV_TAG_ALAW && bits == 8)
            fmt_code = VSND_PCM_FMT_A_LAW;
        else if (tag == WAV_TAG_MULAW && bits == 8)
            fmt_code = VSND_PCM_FMT_MU_LAW;
    }
    if (fmt_code < 0) {
        g_set_error(error, VSND_AUDIO_ERROR, VSND_AUDIO_ERROR_NOT_SUPPORTED,
                    "wav driver: %s: sample format (tag 0x%04x, %u bits, %u valid) has no "
                    "virtio-snd equivalent that needs no conversion", path, tag, bits, valid);
        g_mapped_file_unref(map);
        return FALSE;
    }
    rate = vsnd_pcm_rate_from_hz(hz);
    if (rate < 0 || channels < 1 || channels > 8) {
        g_set_error(error, VSND_AUDIO_ERROR, VSND_AUDIO_ERROR_NOT_SUPPORTED,
                    "wav driver: %s: %u Hz, %u channels is not a virtio-snd stream "
                    "(rates of the spec, 1..8 channels)", path, hz, channels);
        g_mapped_file_unref(map);
        return FALSE;
    }
    frame = vsnd_pcm_frame_bytes((unsigned int)fmt_code, channels);
    data_len -= data_len % frame;
    if (data_len == 0) {
        g_set_error(error, VSND_AUDIO_ERROR, VSND_AUDIO_ERROR_INVALID_DATA,
                    "wav driver: %s holds no audio", path);
        g_mapped_file_unref(map);
        return FALSE;
    }
    ret->map = map;
    ret->data = data;
    ret->len = data_len;
    ret->format = (uint8_t)fmt_code;
    ret->rate = (uint8_t)rate;
    ret->channels = (uint8_t)channels;
    return TRUE;

bad:
    g_set_error(error, VSND_AUDIO_ERROR, VSND_AUDIO_ERROR_INVALID_DATA,
                "wav driver: %s is not a WAV file (RIFF/WAVE with fmt and data chunks)", path);
    g_mapped_file_unref(map);
    return FALSE;
}

/* ---- G.711 encoders for the tone (ITU-T G.191 reference algorithms) ----- */

static uint8_t linear_to_alaw(int16_t pcm)
{
    int ix = pcm < 0 ? (~pcm) >> 4 : pcm >> 4;

    if (ix > 15) {
        int exp = 1;
        while (ix > 16 + 15) {
            ix >>= 1;
            exp++;
        }
        ix -= 16;
        ix += exp << 4;
    }
    if (pcm >= 0)
        ix |= 0x80;
    return (uint8_t)(ix ^ 0x55);
}

static uint8_t linear_to_ulaw(int16_t pcm)
{
    int s = pcm, sign = 0, exp = 7;

    if (s < 0) {
        s = -s;
        sign = 0x80;
    }
    s = MIN(s, 32635) + 0x84;
    for (int mask = 0x4000; !(s & mask) && exp > 0; mask >>= 1)
        exp--;
    return (uint8_t)~(sign | exp << 4 | ((s >> (exp + 3)) & 0x0f));
}

/* One sample of amplitude @x (-1..1) in @fmt at @p. */
static void encode_sample(unsigned int fmt, double x, uint8_t *p)
{
    unsigned int bytes = vsnd_pcm_format_bytes(fmt);
    unsigned int valid = vsnd_pcm_format_valid_bits(fmt);

    if (fmt == VSND_PCM_FMT_FLOAT) {
        float f = (float)x;
        uint32_t u;
        memcpy(&u, &f, 4);
        wav_put32(p, u);
    } else if (fmt == VSND_PCM_FMT_FLOAT64) {
        uint64_t u;
        memcpy(&u, &x, 8);
        wav_put32(p, (uint32_t)u);
        wav_put32(p + 4, (uint32_t)(u >> 32));
    } else if (fmt == VSND_PCM_FMT_A_LAW) {
        *p = linear_to_alaw((int16_t)lrint(x * 32767.0));
    } else if (fmt == VSND_PCM_FMT_MU_LAW) {
        *p = linear_to_ulaw((int16_t)lrint(x * 32767.0));
    } else {
        int64_t v = llrint(x * (double)((INT64_C(1) << (valid - 1)) - 1));
        uint64_t u = (uint64_t)v;
        if (vsnd_pcm_format_is_unsigned(fmt))
            u += UINT64_C(1) << (valid - 1);
        for (unsigned int i = 0; i < bytes; i++)
            p[i] = (uint8_t)(u >> (8 * i));
    }
}

static bool tone_format(unsigned int fmt)
{
    WavLayout l;
    return wav_layout_for(fmt, 1, 48000, &l);
}

/* ---- output files ------------------------------------------------------- */

static void out_update_header(WavOut *o)
{
    uint8_t h[WAV_HEADER_MAX];
    size_t n = wav_header(&o->layout, o->data_bytes, h);

    if (o->fd >= 0 && pwrite(o->fd, h, n, 0) != (ssize_t)n)
        g_warning("wav driver: cannot update the header of %s: %s", o->path, g_strerror(errno));
    o->since_update = 0;
}

static void out_free(gpointer data)
{
    WavOut *o = data;

    if (o->fd >= 0) {
        out_update_header(o);
        close(o->fd);
    }
    g_free(o->path);
    g_free(o);
}

static char *out_path(VsndAudioBackend *be, uint32_t stream_id)
{
    g_autofree char *id = g_strdup_printf("%u", stream_id);

    if (be->path) {
        g_auto(GStrv) parts = g_strsplit(be->path, "%u", -1);
        return g_strjoinv(id, parts);
    }
    {
        g_autofree char *base = g_strdup_printf("stream-%u.wav", stream_id);
        return g_build_filename(be->dir ? be->dir : ".", base, NULL);
    }
}

static WavOut *out_open(VsndAudioBackend *be, const VsndPcmParams *params, GError **error)
{
    g_autofree char *path = out_path(be, params->stream_id);
    WavOut *o = g_hash_table_lookup(be->outs, path);
    uint8_t h[WAV_HEADER_MAX];
    WavLayout layout;
    size_t n;

    if (!wav_layout_for(params->format, params->channels, vsnd_pcm_rate_hz(params->rate),
                        &layout)) {
        g_set_error(error, VSND_AUDIO_ERROR, VSND_AUDIO_ERROR_NOT_SUPPORTED,
                    "wav driver: WAV cannot hold format %s with %u channels",
                    vsnd_pcm_format_name(params->format), params->channels);
        return NULL;
    }
    if (o && o->in_use) {
        g_set_error(error, VSND_AUDIO_ERROR, VSND_AUDIO_ERROR_BUSY,
                    "wav driver: %s is already being written by another stream "
                    "(put %%u in path= for one file per stream)", path);
        return NULL;
    }
    if (o && o->format == params->format && o->rate == params->rate &&
        o->channels == params->channels) {
        o->in_use = true; /* same stream again: keep appending */
        return o;
    }
    if (o)
        g_hash_table_remove(be->outs, path);

    o = g_new0(WavOut, 1);
    o->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (o->fd < 0) {
        g_set_error(error, VSND_AUDIO_ERROR, vsnd_audio_error_from_errno(errno),
                    "wav driver: cannot create %s: %s", path, g_strerror(errno));
        g_free(o);
        return NULL;
    }
    o->path = g_strdup(path);
    o->format = params->format;
    o->rate = params->rate;
    o->channels = params->channels;
    o->layout = layout;
    n = wav_header(&layout, 0, h);
    if (write(o->fd, h, n) != (ssize_t)n) {
        g_set_error(error, VSND_AUDIO_ERROR, vsnd_audio_error_from_errno(errno),
                    "wav driver: cannot write %s: %s", path, g_strerror(errno));
        out_free(o);
        return NULL;
    }
    o->in_use = true;
    g_hash_table_insert(be->outs, o->path, o);
    g_debug("wav driver: recording stream %u to %s", params->stream_id, o->path);
    return o;
}

/* Convert whole samples in place to their WAV form. */
static void to_wav(const WavLayout *l, uint8_t *p, size_t len)
{
    unsigned int bytes = l->container / 8;
    uint32_t top = UINT32_C(1) << (l->valid - 1);

    if (!l->flip && !l->shift)
        return;
    for (size_t i = 0; i + bytes <= len; i += bytes) {
        uint32_t u = 0;
        for (unsigned int b = 0; b < bytes; b++)
            u |= (uint32_t)p[i + b] << (8 * b);
        if (l->flip)
            u ^= top;
        u <<= l->shift;
        for (unsigned int b = 0; b < bytes; b++)
            p[i + b] = (uint8_t)(u >> (8 * b));
    }
}

static int out_append(VsndAudioStream *s, const uint8_t *p, size_t len)
{
    WavOut *o = s->out;
    uint64_t room = UINT32_MAX - o->layout.header_len - o->data_bytes;
    size_t done = 0;

    if (len > room) {
        if (!o->full_warned)
            g_warning("wav driver: %s reached the 4 GiB WAV limit; dropping audio", o->path);
        o->full_warned = true;
        len = (size_t)room - (size_t)room % s->frame_bytes;
    }
    while (done < len) {
        ssize_t w = pwrite(o->fd, p + done, len - done,
                           (off_t)(o->layout.header_len + o->data_bytes + done));
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -(w < 0 ? errno : EIO);
        done += (size_t)w;
    }
    o->data_bytes += len;
    o->since_update += len;
    if (o->since_update >= (uint64_t)s->rate_hz * s->frame_bytes)
        out_update_header(o);
    return 0;
}

/* ---- driver operations ------------------------------------------------ */

static VsndAudioBackend *wav_init(GHashTable *options, const char *vm_name, GError **error)
{
    const char *clock = g_hash_table_lookup(options, "clock");
    const char *tone = g_hash_table_lookup(options, "tone");
    g_autofree VsndAudioBackend *be = g_new0(VsndAudioBackend, 1);

    if (clock && strcmp(clock, "real") != 0 && strcmp(clock, "manual") != 0) {
        g_set_error(error, VSND_AUDIO_ERROR, VSND_AUDIO_ERROR_INVALID_ARGUMENT,
                    _("wav driver: clock must be \"real\" or \"manual\", not \"%s\""), clock);
        return NULL;
    }
    if (g_hash_table_contains(options, "dir") && g_hash_table_contains(options, "path")) {
        g_set_error(error, VSND_AUDIO_ERROR, VSND_AUDIO_ERROR_INVALID_ARGUMENT,
                    _("wav driver: give dir= or path=, not both"));
        return NULL;
    }
    if (tone && g_hash_table_contains(options, "in")) {
        g_set_error(error, VSND_AUDIO_ERROR, VSND_AUDIO_ERROR_INVALID_ARGUMENT,
                    _("wav driver: give in= or tone=, not both"));
        return NULL;
    }
    if (tone) {
        char *end = NULL;
        be->tone = g_ascii_strtod(tone, &end);
        if (!end || *end || !(be->tone > 0.0 && be->tone <= 192000.0)) {
            g_set_error(error, VSND_AUDIO_ERROR, VSND_AUDIO_ERROR_INVALID_ARGUMENT,
                        _("wav driver: tone=\"%s\" is not a frequency in Hz (0 < f <= 192000)"),
                        tone);
            return NULL;
        }
    }
    be->in_path = g_strdup(g_hash_table_lookup(options, "in"));
    if (be->in_path && !wav_in_load(be->in_path, &be->in_info, error)) {
        g_free(be->in_path);
        return NULL;
    }
    if (g_hash_table_contains(options, "dir") &&
        !g_file_test(g_hash_table_lookup(options, "dir"), G_FILE_TEST_IS_DIR)) {
        g_set_error(error, VSND_AUDIO_ERROR, VSND_AUDIO_ERROR_NOT_FOUND,
                    _("wav driver: dir=%s is not a directory"),
                    (const char *)g_hash_table_lookup(options, "dir"));
        wav_in_clear(&be->in_info);
        g_free(be->in_path);
        return NULL;
    }
    be->manual = clock && strcmp(clock, "manual") == 0;
    be->dir = g_strdup(g_hash_table_lookup(options, "dir"));
    be->path = g_strdup(g_hash_table_lookup(options, "path"));
    be->outs = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, out_free);
    return g_steal_pointer(&be);
}

static void wav_fini(VsndAudioBackend *be)
{
    g_hash_table_destroy(be->outs);
    wav_in_clear(&be->in_info);
    g_free(be->dir);
    g_free(be->path);
    g_free(be->in_path);
    g_free(be);
}

static int wav_query_caps(VsndAudioBackend *be, VsndDirection dir, VsndPcmCaps *ret_caps)
{
    uint64_t formats = 0;

    ret_caps->rates = VSND_PCM_RATES_ALL;
    ret_caps->channels_min = 1;
    ret_caps->channels_max = 8;
    if (dir == VSND_DIR_INPUT && be->in_path) {
        ret_caps->formats = VSND_PCM_FMT_BIT(be->in_info.format);
        ret_caps->rates = UINT64_C(1) << be->in_info.rate;
        ret_caps->channels_min = ret_caps->channels_max = be->in_info.channels;
        return 0;
    }
    for (unsigned int f = 0; f < VSND_PCM_FMT_COUNT; f++) {
        bool ok = dir == VSND_DIR_INPUT && be->tone == 0.0 ? vsnd_pcm_format_bytes(f) != 0
                                                           : tone_format(f);
        if (ok)
            formats |= VSND_PCM_FMT_BIT(f);
    }
    ret_caps->formats = formats;
    return 0;
}

static VsndAudioStream *wav_open(VsndAudioBackend *be, const VsndPcmParams *params,
                                 const VsndAudioStreamEvents *events, void *opaque,
                                 GError **error)
{
    g_autofree VsndAudioStream *s = g_new0(VsndAudioStream, 1);

    s->be = be;
    s->format = params->format;
    s->channels = params->channels;
    s->rate_hz = vsnd_pcm_rate_hz(params->rate);
    s->frame_bytes = vsnd_pcm_frame_bytes(params->format, params->channels);
    if (s->frame_bytes == 0 || s->frame_bytes > WAV_MAX_FRAME || s->rate_hz == 0) {
        g_set_error(error, VSND_AUDIO_ERROR, VSND_AUDIO_ERROR_NOT_SUPPORTED,
                    "wav driver: unsupported format %s, %u channels",
                    vsnd_pcm_format_name(params->format), params->channels);
        return NULL;
    }
    if (params->direction == VSND_DIR_OUTPUT) {
        s->out = out_open(be, params, error);
        if (!s->out)
            return NULL;
    } else if (be->in_path) {
        if (!wav_in_load(be->in_path, &s->in, error))
            return NULL;
        if (s->in.format != params->format || s->in.rate != params->rate ||
            s->in.channels != params->channels) {
            g_set_error(error, VSND_AUDIO_ERROR, VSND_AUDIO_ERROR_NOT_SUPPORTED,
                        "wav driver: capture stream wants %s, %u Hz, %u channels but %s holds "
                        "%s, %u Hz, %u channels (nothing is converted)",
                        vsnd_pcm_format_name(params->format), s->rate_hz, params->channels,
                        be->in_path, vsnd_pcm_format_name(s->in.format), vsnd_pcm_rate_hz(s->in.rate),
                        s->in.channels);
            wav_in_clear(&s->in);
            return NULL;
        }
    } else if (be->tone > 0.0 && !tone_format(params->format)) {
        g_set_error(error, VSND_AUDIO_ERROR, VSND_AUDIO_ERROR_NOT_SUPPORTED,
                    "wav driver: no tone in format %s", vsnd_pcm_format_name(params->format));
        return NULL;
    }
    if (vsnd_paced_init(&s->paced, be->manual, params, events, opaque) < 0) {
        g_set_error(error, VSND_AUDIO_ERROR, VSND_AUDIO_ERROR_NOT_SUPPORTED,
                    "wav driver: unsupported stream parameters");
        if (s->out)
            s->out->in_use = false;
        wav_in_clear(&s->in);
        return NULL;
    }
    return g_steal_pointer(&s);
}

static void wav_close(VsndAudioStream *s)
{
    if (s->out) {
        out_update_header(s->out);
        s->out->in_use = false;
    }
    vsnd_paced_clear(&s->paced);
    wav_in_clear(&s->in);
    g_free(s->buf);
    g_free(s);
}

static int wav_start(VsndAudioStream *s)
{
    vsnd_paced_start(&s->paced);
    return 0;
}

static int wav_stop(VsndAudioStream *s)
{
    vsnd_paced_stop(&s->paced);
    if (s->out)
        out_update_header(s->out);
    return 0;
}

static uint8_t *stream_buf(VsndAudioStream *s, size_t len)
{
    if (s->buf_len < len) {
        g_free(s->buf);
        s->buf = g_malloc(len);
        s->buf_len = len;
    }
    return s->buf;
}

static ssize_t wav_write(VsndAudioStream *s, const struct iovec *iov, unsigned int iovcnt)
{
    size_t len = vsnd_iov_size(iov, iovcnt);
    size_t total, whole;
    uint8_t *buf;
    int r;

    if (!s->out)
        return -EBADF;
    r = vsnd_paced_room(&s->paced, len);
    if (r < 0)
        return r;
    /* Gather carry + new bytes, write whole frames, carry the rest. */
    total = s->carry_len + len;
    buf = stream_buf(s, total);
    memcpy(buf, s->carry, s->carry_len);
    vsnd_iov_to_buf(iov, iovcnt, 0, buf + s->carry_len, len);
    whole = total - total % s->frame_bytes;
    to_wav(&s->out->layout, buf, whole);
    r = out_append(s, buf, whole);
    if (r < 0) {
        g_warning("wav driver: cannot write %s: %s", s->out->path, g_strerror(-r));
        return r;
    }
    s->carry_len = total - whole;
    memcpy(s->carry, buf + whole, s->carry_len);
    vsnd_paced_commit(&s->paced, len);
    return (ssize_t)len;
}

static void fill_capture(VsndAudioStream *s, uint8_t *p, size_t len)
{
    VsndAudioBackend *be = s->be;

    if (s->in.map) {
        size_t done = 0;
        while (done < len) {
            size_t n = MIN(len - done, s->in.len - s->in_pos);
            memcpy(p + done, s->in.data + s->in_pos, n);
            done += n;
            s->in_pos = (s->in_pos + n) % s->in.len;
        }
    } else if (be->tone > 0.0) {
        unsigned int sb = vsnd_pcm_format_bytes(s->format);
        /* Whole frames are generated; a partial frame request gets its
         * leading bytes (the stream position keeps frames aligned). */
        uint8_t frame[WAV_MAX_FRAME];
        size_t off = s->pos % s->frame_bytes;

        for (size_t done = 0; done < len;) {
            double x = 0.5 * sin(2.0 * G_PI * be->tone * (double)(s->tone_frame % s->rate_hz) /
                                 (double)s->rate_hz);
            size_t n;
            for (unsigned int c = 0; c < s->channels; c++)
                encode_sample(s->format, x, frame + c * sb);
            n = MIN(len - done, s->frame_bytes - off);
            memcpy(p + done, frame + off, n);
            done += n;
            if (off + n == s->frame_bytes)
                s->tone_frame++;
            off = 0;
        }
    } else {
        vsnd_pcm_fill_silence(s->format, p, len, s->pos);
    }
    s->pos += len;
}

static ssize_t wav_read(VsndAudioStream *s, const struct iovec *iov, unsigned int iovcnt)
{
    size_t len = vsnd_iov_size(iov, iovcnt);
    int r;

    if (s->out)
        return -EBADF;
    r = vsnd_paced_take(&s->paced, len);
    if (r < 0)
        return r;
    for (unsigned int i = 0; i < iovcnt; i++)
        fill_capture(s, iov[i].iov_base, iov[i].iov_len);
    return (ssize_t)len;
}

static int wav_drain(VsndAudioStream *s)
{
    return s->out ? vsnd_paced_drain(&s->paced) : 0;
}

static int wav_get_latency(VsndAudioStream *s, uint32_t *ret_bytes)
{
    *ret_bytes = vsnd_paced_latency(&s->paced);
    return 0;
}

static const char *const wav_keys[] = { "dir", "path", "in", "tone", "clock", NULL };

const VsndAudioDriver vsnd_audio_wav_driver = {
    .abi_version = VSND_AUDIO_ABI_VERSION,
    .name = "wav",
    .description = "WAV files: records playback, plays a file or a tone into capture",
    .init = wav_init,
    .fini = wav_fini,
    .query_caps = wav_query_caps,
    .open = wav_open,
    .close = wav_close,
    .start = wav_start,
    .stop = wav_stop,
    .write = wav_write,
    .read = wav_read,
    .drain = wav_drain,
    .get_latency = wav_get_latency,
    .option_keys = wav_keys,
};
