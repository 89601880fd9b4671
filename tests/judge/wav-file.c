/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * wav-file.c - RIFF/WAVE reading and writing for the audio judge.  The
 * reader trusts nothing in the file: every size is checked against the
 * bytes present before it is used.
 */
#define G_LOG_DOMAIN "audio-judge"
#include "config.h"

#include <string.h>

#include "tests/judge/wav-file.h"

#define TAG_PCM 0x0001
#define TAG_FLOAT 0x0003
#define TAG_ALAW 0x0006
#define TAG_MULAW 0x0007
#define TAG_EXTENSIBLE 0xfffe

/* KSDATAFORMAT_SUBTYPE_PCM/_IEEE_FLOAT/_ALAW/_MULAW after their first two
 * bytes (the tag). */
static const guint8 guid_tail[14] = {
    0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71,
};

/* Every layout both ways: WAV's (tag or subformat, container, valid bits)
 * and ours.  A-law and mu-law data is stored as it is, 8 bits a sample, as
 * the daemon's wav driver writes it. */
static const struct {
    JudgeFormat fmt;
    guint16 tag, container, valid;
} layouts[] = {
    { JUDGE_FORMAT_U8, TAG_PCM, 8, 8 },
    { JUDGE_FORMAT_S16_LE, TAG_PCM, 16, 16 },
    { JUDGE_FORMAT_S24_3LE, TAG_PCM, 24, 24 },
    { JUDGE_FORMAT_S20_3LE, TAG_PCM, 24, 20 },
    { JUDGE_FORMAT_S18_3LE, TAG_PCM, 24, 18 },
    { JUDGE_FORMAT_S32_LE, TAG_PCM, 32, 32 },
    { JUDGE_FORMAT_S24_LE, TAG_PCM, 32, 24 },
    { JUDGE_FORMAT_S20_LE, TAG_PCM, 32, 20 },
    { JUDGE_FORMAT_FLOAT_LE, TAG_FLOAT, 32, 32 },
    { JUDGE_FORMAT_FLOAT64_LE, TAG_FLOAT, 64, 64 },
    { JUDGE_FORMAT_A_LAW, TAG_ALAW, 8, 8 },
    { JUDGE_FORMAT_MU_LAW, TAG_MULAW, 8, 8 },
};

static gboolean known_tag(guint16 tag)
{
    return tag == TAG_PCM || tag == TAG_FLOAT || tag == TAG_ALAW || tag == TAG_MULAW;
}

static const char *tag_kind(guint16 tag)
{
    switch (tag) {
    case TAG_FLOAT: return "float";
    case TAG_ALAW: return "A-law";
    case TAG_MULAW: return "mu-law";
    default: return "integer";
    }
}

G_DEFINE_QUARK(judge-wav-error-quark, judge_wav_error)

static guint16 get16(const guint8 *p)
{
    return (guint16)(p[0] | p[1] << 8);
}

static guint32 get32(const guint8 *p)
{
    return (guint32)get16(p) | (guint32)get16(p + 2) << 16;
}

static void put16(guint8 *p, guint v)
{
    p[0] = (guint8)v;
    p[1] = (guint8)(v >> 8);
}

static void put32(guint8 *p, guint32 v)
{
    put16(p, v & 0xffff);
    put16(p + 2, v >> 16);
}

/* A chunk id fit for a message, whatever bytes the file holds. */
static void chunk_name(const guint8 *id, char name[5])
{
    for (int i = 0; i < 4; i++)
        name[i] = g_ascii_isprint(id[i]) ? (char)id[i] : '?';
    name[4] = '\0';
}

/* Move each sample between the top (WAV) and the bottom (ALSA) of its
 * container: @up for writing; down sign-extends. */
static void shift_samples(guint8 *data, gsize samples, guint bytes, guint shift, gboolean up)
{
    guint bits = bytes * 8;

    for (gsize i = 0; i < samples; i++, data += bytes) {
        guint32 raw = 0;

        for (guint b = 0; b < bytes; b++)
            raw |= (guint32)data[b] << (8 * b);
        if (up) {
            raw <<= shift;
        } else {
            /* Put the container's sign bit on bit 31, then shift down
             * arithmetically; the bytes beyond the container are dropped. */
            gint32 v = (gint32)(raw << (32 - bits));

            raw = (guint32)(v >> (32 - bits + shift));
        }
        for (guint b = 0; b < bytes; b++)
            data[b] = (guint8)(raw >> (8 * b));
    }
}

typedef struct {
    guint16 tag, channels, block, bits, valid;
    guint16 kind; /* the tag, or the subformat's */
    guint32 rate, mask;
} FmtChunk;

static gboolean parse_fmt(const guint8 *b, guint32 size, JudgeWav *w, GError **error)
{
    FmtChunk f = {
        .tag = get16(b), .channels = get16(b + 2), .rate = get32(b + 4),
        .block = get16(b + 12), .bits = get16(b + 14),
    };
    guint container;

    if (f.channels == 0 || f.rate == 0 || f.bits == 0) {
        g_set_error(error, JUDGE_WAV_ERROR, JUDGE_WAV_ERROR_INVALID,
                    "fmt chunk says %u channels, %u Hz, %u bits", f.channels, f.rate, f.bits);
        return FALSE;
    }
    f.valid = f.bits;
    if (f.tag == TAG_EXTENSIBLE) {
        guint16 sub;

        if (size < 40 || get16(b + 16) < 22) {
            g_set_error(error, JUDGE_WAV_ERROR, JUDGE_WAV_ERROR_INVALID,
                        "extensible fmt chunk too short (%u bytes)", size);
            return FALSE;
        }
        /* Some writers leave wValidBitsPerSample 0: all bits count. */
        f.valid = get16(b + 18) ? get16(b + 18) : f.bits;
        f.mask = get32(b + 20);
        sub = get16(b + 24);
        if (memcmp(b + 26, guid_tail, sizeof(guid_tail)) != 0 || !known_tag(sub)) {
            g_set_error(error, JUDGE_WAV_ERROR, JUDGE_WAV_ERROR_UNSUPPORTED,
                        "extensible subformat is not PCM, IEEE float, A-law or mu-law");
            return FALSE;
        }
        f.kind = sub;
    } else if (known_tag(f.tag)) {
        /* A-law and mu-law headers have a cbSize (18 bytes); 16 will do. */
        f.kind = f.tag;
    } else {
        g_set_error(error, JUDGE_WAV_ERROR, JUDGE_WAV_ERROR_UNSUPPORTED,
                    "format tag 0x%04x", f.tag);
        return FALSE;
    }
    /* A plain PCM header may say 20 bits in 3-byte containers. */
    container = (f.bits + 7u) / 8u * 8u;
    if (f.valid > container || f.block != (guint)f.channels * container / 8) {
        g_set_error(error, JUDGE_WAV_ERROR, JUDGE_WAV_ERROR_INVALID,
                    "%u valid bits, %u-bit containers, %u channels and block align %u "
                    "do not fit", f.valid, container, f.channels, f.block);
        return FALSE;
    }
    for (guint i = 0; i < G_N_ELEMENTS(layouts); i++) {
        if (layouts[i].container == container && layouts[i].valid == f.valid &&
            layouts[i].tag == f.kind) {
            w->format = layouts[i].fmt;
            w->channels = f.channels;
            w->rate = f.rate;
            w->tag = f.tag;
            w->container_bits = (guint16)container;
            w->valid_bits = f.valid;
            w->channel_mask = f.mask;
            return TRUE;
        }
    }
    g_set_error(error, JUDGE_WAV_ERROR, JUDGE_WAV_ERROR_UNSUPPORTED,
                "%u-bit %s samples in %u-bit containers", f.valid, tag_kind(f.kind), container);
    return FALSE;
}

/*
 * The usable data size.  0 is trusted only when the RIFF size was finished
 * and accounts for chunks after this one; the wav driver killed mid-stream
 * leaves both sizes covering the header alone.
 */
static guint64 data_size(guint32 size, guint64 riff_end, guint64 body, guint64 len,
                         gboolean *unknown)
{
    guint64 avail = len - body;

    *unknown = (size == 0xffffffffu || size > avail ||
                (size == 0 && avail > 0 && !(riff_end == len && riff_end > body)));
    return *unknown ? avail : size;
}

JudgeWav *judge_wav_parse(const void *bytes, gsize len, GError **error)
{
    const guint8 *p = bytes;
    g_autoptr(JudgeWav) w = g_new0(JudgeWav, 1);
    gboolean have_fmt = FALSE;
    guint64 pos = 12, riff_end;

    w->format = JUDGE_FORMAT_INVALID;
    if (len < 12 || memcmp(p, "RIFF", 4) != 0 || memcmp(p + 8, "WAVE", 4) != 0) {
        g_set_error(error, JUDGE_WAV_ERROR, JUDGE_WAV_ERROR_INVALID, "not a RIFF/WAVE file");
        return NULL;
    }
    riff_end = (guint64)get32(p + 4) + 8;

    while (pos + 8 <= len) {
        const guint8 *id = p + pos;
        guint32 size = get32(p + pos + 4);
        guint64 body = pos + 8;
        char name[5];

        if (memcmp(id, "data", 4) == 0) {
            gsize frame, n;

            if (!have_fmt)
                break;
            frame = (gsize)judge_format_bytes(w->format) * w->channels;
            n = (gsize)data_size(size, riff_end, body, len, &w->size_unknown);
            /* A writer killed mid-frame leaves a partial one: dropped. */
            w->data_len = n - n % frame;
            w->data = g_memdup2(p + body, w->data_len ? w->data_len : 1);
            if (w->valid_bits < w->container_bits && w->format != JUDGE_FORMAT_U8)
                shift_samples(w->data, w->data_len / (w->container_bits / 8),
                              w->container_bits / 8, w->container_bits - w->valid_bits, FALSE);
            return g_steal_pointer(&w);
        }
        chunk_name(id, name);
        if (body + size > len) {
            g_set_error(error, JUDGE_WAV_ERROR, JUDGE_WAV_ERROR_INVALID,
                        "'%s' chunk of %u bytes runs past the end of the file", name, size);
            return NULL;
        }
        if (memcmp(id, "fmt ", 4) == 0) {
            if (have_fmt) {
                g_set_error(error, JUDGE_WAV_ERROR, JUDGE_WAV_ERROR_INVALID, "second fmt chunk");
                return NULL;
            }
            if (size < 16) {
                g_set_error(error, JUDGE_WAV_ERROR, JUDGE_WAV_ERROR_INVALID,
                            "fmt chunk too short (%u bytes)", size);
                return NULL;
            }
            if (!parse_fmt(p + body, size, w, error))
                return NULL;
            have_fmt = TRUE;
        }
        pos = body + size + (size & 1);
    }
    g_set_error(error, JUDGE_WAV_ERROR, JUDGE_WAV_ERROR_INVALID,
                have_fmt ? "no data chunk" : "no fmt chunk before the data");
    return NULL;
}

JudgeWav *judge_wav_load(const char *path, GError **error)
{
    g_autofree char *contents = NULL;
    gsize len;
    JudgeWav *w;

    if (!g_file_get_contents(path, &contents, &len, error))
        return NULL;
    w = judge_wav_parse(contents, len, error);
    if (!w)
        g_prefix_error(error, "%s: ", path);
    return w;
}

void judge_wav_free(JudgeWav *w)
{
    if (w) {
        g_free(w->data);
        g_free(w);
    }
}

JudgeSignal *judge_wav_signal(const JudgeWav *w)
{
    return judge_signal_new(w->format, w->channels, w->rate, w->data, w->data_len);
}

guint8 *judge_wav_build(JudgeFormat fmt, guint channels, guint rate, const void *data,
                        gsize len, JudgeWavFlags flags, gsize *out_len, GError **error)
{
    guint bytes = judge_format_bytes(fmt), block = bytes * channels, fmt_len, tag = 0;
    gboolean ext;
    guint16 valid = 0;
    gsize header, total;
    guint8 *file, *h;

    for (guint i = 0; i < G_N_ELEMENTS(layouts); i++) {
        if (layouts[i].fmt == fmt) {
            valid = layouts[i].valid;
            tag = layouts[i].tag;
        }
    }
    if (!valid || channels == 0 || channels > 0xffff || rate == 0 || block > 0xffff) {
        g_set_error(error, JUDGE_WAV_ERROR, JUDGE_WAV_ERROR_UNSUPPORTED,
                    "WAV cannot hold %u channels of %s at %u Hz", channels,
                    judge_format_name(fmt) ? judge_format_name(fmt) : "(invalid)", rate);
        return NULL;
    }
    len -= len % block;
    /* Narrow samples and many channels need the extensible form. */
    ext = (flags & JUDGE_WAV_EXTENSIBLE) || valid != bytes * 8 || channels > 2;
    /* As the daemon's wav driver (audio/wav-format.h) writes them: non-PCM
     * tags have a cbSize, and they and extensible files a fact chunk. */
    fmt_len = ext ? 40 : tag != TAG_PCM ? 18 : 16;
    /* RIFF header, fmt, a fact chunk where non-PCM data wants one, data. */
    header = 12 + 8 + fmt_len + (ext || tag != TAG_PCM ? 12 : 0) + 8;
    if (len > G_MAXUINT32 - header - 1) {
        g_set_error(error, JUDGE_WAV_ERROR, JUDGE_WAV_ERROR_UNSUPPORTED,
                    "%" G_GSIZE_FORMAT " bytes of data do not fit a RIFF file", len);
        return NULL;
    }
    total = header + len + (len & 1);
    file = g_malloc0(total);
    h = file;

    memcpy(h, "RIFF", 4);
    put32(h + 4, flags & JUDGE_WAV_STREAM ? 0xffffffffu : (guint32)(total - 8));
    memcpy(h + 8, "WAVE", 4);
    h += 12;
    memcpy(h, "fmt ", 4);
    put32(h + 4, fmt_len);
    put16(h + 8, ext ? TAG_EXTENSIBLE : tag);
    put16(h + 10, channels);
    put32(h + 12, rate);
    put32(h + 16, rate * block);
    put16(h + 20, block);
    put16(h + 22, bytes * 8);
    if (fmt_len > 16)
        put16(h + 24, fmt_len - 18);
    if (ext) {
        put16(h + 26, valid);
        put32(h + 28, 0); /* no speaker positions: channels are just numbered */
        put16(h + 32, tag);
        memcpy(h + 34, guid_tail, sizeof(guid_tail));
    }
    h += 8 + fmt_len;
    if (ext || tag != TAG_PCM) {
        memcpy(h, "fact", 4);
        put32(h + 4, 4);
        put32(h + 8, flags & JUDGE_WAV_STREAM ? 0 : (guint32)(len / block));
        h += 12;
    }
    memcpy(h, "data", 4);
    put32(h + 4, flags & JUDGE_WAV_STREAM ? 0xffffffffu : (guint32)len);
    h += 8;
    memcpy(h, data, len);
    if (valid != bytes * 8)
        shift_samples(h, len / bytes, bytes, bytes * 8 - valid, TRUE);
    *out_len = total;
    return file;
}

gboolean judge_wav_save(const char *path, JudgeFormat fmt, guint channels, guint rate,
                        const void *data, gsize len, JudgeWavFlags flags, GError **error)
{
    gsize size;
    g_autofree guint8 *file = judge_wav_build(fmt, channels, rate, data, len, flags, &size,
                                              error);

    return file && g_file_set_contents(path, (const char *)file, (gssize)size, error);
}

gboolean judge_wav_save_tone(const char *path, const JudgeToneSpec *t, gsize frames,
                             JudgeWavFlags flags, GError **error)
{
    gsize len;
    g_autofree guint8 *pcm = judge_tone_new(t, frames, &len);

    return judge_wav_save(path, t->format, t->channels, t->rate, pcm, len, flags, error);
}

/* What is judged of two files of the same layout. */
typedef gboolean (*PairJudge)(const JudgeWav *a, const JudgeWav *b, gpointer out);

/* Load both files and run @judge on them: FALSE if either is unreadable
 * or they differ in layout, else what @judge returns. */
static gboolean judge_pair(const char *path_a, const char *path_b, PairJudge judge, gpointer out,
                           GError **error)
{
    g_autoptr(JudgeWav) a = judge_wav_load(path_a, error);
    g_autoptr(JudgeWav) b = a ? judge_wav_load(path_b, error) : NULL;

    if (!b)
        return FALSE;
    if (a->format != b->format || a->channels != b->channels || a->rate != b->rate) {
        g_set_error(error, JUDGE_WAV_ERROR, JUDGE_WAV_ERROR_MISMATCH,
                    "%s is %s %u ch %u Hz, %s is %s %u ch %u Hz", path_a,
                    judge_format_name(a->format), a->channels, a->rate, path_b,
                    judge_format_name(b->format), b->channels, b->rate);
        return FALSE;
    }
    return judge(a, b, out);
}

static gboolean compare_pair(const JudgeWav *a, const JudgeWav *b, gpointer out)
{
    judge_compare_bytes(a->data, a->data_len, b->data, b->data_len, out);
    return TRUE;
}

static gboolean find_pair(const JudgeWav *a, const JudgeWav *b, gpointer out)
{
    return judge_find(a->format, a->channels, a->data, a->data_len, b->data, b->data_len, out);
}

gboolean judge_wav_compare(const char *path_a, const char *path_b, JudgeCompare *out,
                           GError **error)
{
    memset(out, 0, sizeof(*out));
    return judge_pair(path_a, path_b, compare_pair, out, error);
}

gboolean judge_wav_find(const char *path_a, const char *path_b, JudgeFind *out,
                        GError **error)
{
    memset(out, 0, sizeof(*out));
    return judge_pair(path_a, path_b, find_pair, out, error);
}
