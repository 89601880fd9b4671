/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * pcm-format.h - PCM sample formats, frame rates and channel positions as
 * numbers, owned by the audio layer.
 *
 * Drivers know nothing of virtio, yet the device hands them parameters
 * without translating: the codes here are numerically virtio-snd's
 * (spec "PCM Stream Information": the formats, rates and channel-position
 * enumerations, VIRTIO 1.4 rates 12000 and 24000 included), and the sound
 * device checks at compile time that every one equals its VIRTIO_SND_*
 * counterpart (src/snd/snd-proto.h).  Helpers: how many bytes a sample
 * occupies in memory (its physical width), how many bits of it are
 * significant, whether it is signed, what its silence looks like, and how
 * many Hz a rate code is.  All multi-byte formats are little-endian.
 *
 * Header-only on purpose: the loadable driver modules use it too and must
 * not depend on symbols of the daemon.
 */
#ifndef VSND_AUDIO_PCM_FORMAT_H
#define VSND_AUDIO_PCM_FORMAT_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/* Sample formats (bit i of a format mask is code i). */
enum {
    VSND_PCM_FMT_IMA_ADPCM = 0,
    VSND_PCM_FMT_MU_LAW,
    VSND_PCM_FMT_A_LAW,
    VSND_PCM_FMT_S8,
    VSND_PCM_FMT_U8,
    VSND_PCM_FMT_S16,
    VSND_PCM_FMT_U16,
    VSND_PCM_FMT_S18_3,
    VSND_PCM_FMT_U18_3,
    VSND_PCM_FMT_S20_3,
    VSND_PCM_FMT_U20_3,
    VSND_PCM_FMT_S24_3,
    VSND_PCM_FMT_U24_3,
    VSND_PCM_FMT_S20,
    VSND_PCM_FMT_U20,
    VSND_PCM_FMT_S24,
    VSND_PCM_FMT_U24,
    VSND_PCM_FMT_S32,
    VSND_PCM_FMT_U32,
    VSND_PCM_FMT_FLOAT,
    VSND_PCM_FMT_FLOAT64,
    VSND_PCM_FMT_DSD_U8,
    VSND_PCM_FMT_DSD_U16,
    VSND_PCM_FMT_DSD_U32,
    VSND_PCM_FMT_IEC958_SUBFRAME,
    VSND_PCM_FMT_COUNT
};

/* Frame rates (bit i of a rate mask is code i). */
enum {
    VSND_PCM_RATE_5512 = 0,
    VSND_PCM_RATE_8000,
    VSND_PCM_RATE_11025,
    VSND_PCM_RATE_16000,
    VSND_PCM_RATE_22050,
    VSND_PCM_RATE_32000,
    VSND_PCM_RATE_44100,
    VSND_PCM_RATE_48000,
    VSND_PCM_RATE_64000,
    VSND_PCM_RATE_88200,
    VSND_PCM_RATE_96000,
    VSND_PCM_RATE_176400,
    VSND_PCM_RATE_192000,
    VSND_PCM_RATE_384000,
    VSND_PCM_RATE_12000,
    VSND_PCM_RATE_24000,
    VSND_PCM_RATE_COUNT
};

/* Channel positions of a channel map. */
enum {
    VSND_CHMAP_NONE = 0, /* undefined */
    VSND_CHMAP_NA,       /* silent */
    VSND_CHMAP_MONO,
    VSND_CHMAP_FL,
    VSND_CHMAP_FR,
    VSND_CHMAP_RL,
    VSND_CHMAP_RR,
    VSND_CHMAP_FC,
    VSND_CHMAP_LFE,
    VSND_CHMAP_SL,
    VSND_CHMAP_SR,
    VSND_CHMAP_RC,
    VSND_CHMAP_FLC,
    VSND_CHMAP_FRC,
    VSND_CHMAP_RLC,
    VSND_CHMAP_RRC,
    VSND_CHMAP_FLW,
    VSND_CHMAP_FRW,
    VSND_CHMAP_FLH,
    VSND_CHMAP_FCH,
    VSND_CHMAP_FRH,
    VSND_CHMAP_TC,
    VSND_CHMAP_TFL,
    VSND_CHMAP_TFR,
    VSND_CHMAP_TFC,
    VSND_CHMAP_TRL,
    VSND_CHMAP_TRR,
    VSND_CHMAP_TRC,
    VSND_CHMAP_TFLC,
    VSND_CHMAP_TFRC,
    VSND_CHMAP_TSL,
    VSND_CHMAP_TSR,
    VSND_CHMAP_LLFE,
    VSND_CHMAP_RLFE,
    VSND_CHMAP_BC,
    VSND_CHMAP_BLC,
    VSND_CHMAP_BRC,
    VSND_CHMAP_POS_COUNT
};

/* Every rate bit the spec defines. */
#define VSND_PCM_RATES_ALL ((UINT64_C(1) << VSND_PCM_RATE_COUNT) - 1)

#define VSND_PCM_FMT_BIT(f) (UINT64_C(1) << (f))

/**
 * vsnd_pcm_rate_hz() - frame rate of a VSND_PCM_RATE_* code.
 * @rate: the code; any value is accepted.
 *
 * Context: any thread.
 * Return: Hz, or 0 for an undefined code.
 */
static inline uint32_t vsnd_pcm_rate_hz(unsigned int rate)
{
    static const uint32_t hz[VSND_PCM_RATE_COUNT] = {
        5512, 8000, 11025, 16000, 22050, 32000, 44100, 48000,
        64000, 88200, 96000, 176400, 192000, 384000, 12000, 24000,
    };
    return rate < VSND_PCM_RATE_COUNT ? hz[rate] : 0;
}

/* The VSND_PCM_RATE_* code of @hz.  Return: the code, or -1. */
static inline int vsnd_pcm_rate_from_hz(uint32_t hz)
{
    for (unsigned int r = 0; r < VSND_PCM_RATE_COUNT; r++) {
        if (vsnd_pcm_rate_hz(r) == hz)
            return (int)r;
    }
    return -1;
}

/* The spec's name of a VSND_PCM_FMT_* code ("S16"), or "?". */
static inline const char *vsnd_pcm_format_name(unsigned int fmt)
{
    static const char *const names[VSND_PCM_FMT_COUNT] = {
        "IMA_ADPCM", "MU_LAW", "A_LAW", "S8", "U8", "S16", "U16", "S18_3", "U18_3",
        "S20_3", "U20_3", "S24_3", "U24_3", "S20", "U20", "S24", "U24", "S32", "U32",
        "FLOAT", "FLOAT64", "DSD_U8", "DSD_U16", "DSD_U32", "IEC958_SUBFRAME",
    };
    return fmt < VSND_PCM_FMT_COUNT ? names[fmt] : "?";
}

/**
 * vsnd_pcm_format_bits() - physical width of one sample, in bits.
 * @fmt: a VSND_PCM_FMT_* code; any value is accepted.
 *
 * IMA ADPCM is 4 bits, so a frame of it is not a whole number of bytes for
 * an odd channel count; callers needing bytes use vsnd_pcm_format_bytes().
 * Context: any thread.
 * Return: 4..64, or 0 for an undefined code.
 */
static inline unsigned int vsnd_pcm_format_bits(unsigned int fmt)
{
    static const uint8_t phys[VSND_PCM_FMT_COUNT] = {
        4, 8, 8, 8, 8, 16, 16, 24, 24, 24, 24, 24, 24,
        32, 32, 32, 32, 32, 32, 32, 64, 8, 16, 32, 32,
    };
    return fmt < VSND_PCM_FMT_COUNT ? phys[fmt] : 0;
}

/**
 * vsnd_pcm_format_valid_bits() - significant bits of one sample.
 * @fmt: a VSND_PCM_FMT_* code.
 *
 * E.g. 24 for VSND_PCM_FMT_S24 (24 bits, low-aligned in 32).
 * Context: any thread.
 * Return: bits, or 0 for an undefined code.
 */
static inline unsigned int vsnd_pcm_format_valid_bits(unsigned int fmt)
{
    static const uint8_t valid[VSND_PCM_FMT_COUNT] = {
        4, 8, 8, 8, 8, 16, 16, 18, 18, 20, 20, 24, 24,
        20, 20, 24, 24, 32, 32, 32, 64, 8, 16, 32, 32,
    };
    return fmt < VSND_PCM_FMT_COUNT ? valid[fmt] : 0;
}

/**
 * vsnd_pcm_format_bytes() - bytes one sample occupies in memory.
 * @fmt: a VSND_PCM_FMT_* code.
 *
 * Context: any thread.
 * Return: 1..8, or 0 for an undefined code and for IMA ADPCM.
 */
static inline unsigned int vsnd_pcm_format_bytes(unsigned int fmt)
{
    unsigned int bits = vsnd_pcm_format_bits(fmt);
    return bits % 8 ? 0 : bits / 8;
}

/**
 * vsnd_pcm_frame_bytes() - bytes of one frame (one sample per channel).
 * @fmt: a VSND_PCM_FMT_* code.
 * @channels: channel count.
 *
 * Context: any thread.
 * Return: bytes, or 0 if @fmt has no whole-byte samples.
 */
static inline unsigned int vsnd_pcm_frame_bytes(unsigned int fmt, unsigned int channels)
{
    return vsnd_pcm_format_bytes(fmt) * channels;
}

/**
 * vsnd_pcm_format_is_unsigned() - whether silence is the mid-scale value.
 * @fmt: a VSND_PCM_FMT_* code.
 *
 * Context: any thread.
 * Return: true for U8, U16, U18_3, U20_3, U24_3, U20, U24, U32.
 */
static inline bool vsnd_pcm_format_is_unsigned(unsigned int fmt)
{
    switch (fmt) {
    case VSND_PCM_FMT_U8:
    case VSND_PCM_FMT_U16:
    case VSND_PCM_FMT_U18_3:
    case VSND_PCM_FMT_U20_3:
    case VSND_PCM_FMT_U24_3:
    case VSND_PCM_FMT_U20:
    case VSND_PCM_FMT_U24:
    case VSND_PCM_FMT_U32:
        return true;
    default:
        return false;
    }
}

/**
 * vsnd_pcm_fill_silence() - write silence in a format.
 * @fmt: a VSND_PCM_FMT_* code.
 * @buf: destination.
 * @len: bytes; a trailing partial sample is filled with its first bytes.
 * @phase: byte offset of @buf within the stream, so that a buffer starting
 *         inside a sample still gets the right bytes.
 *
 * Signed and float formats are all-zero; unsigned ones carry the mid-scale
 * value (e.g. 0x80 for U8, 0x8000 for U16, 0x800000 for U24 in 32 bits);
 * mu-law silence is 0xff, A-law 0xd5; DSD idles on the 0x69 pattern.
 * Context: any thread.
 */
static inline void vsnd_pcm_fill_silence(unsigned int fmt, void *buf, size_t len, size_t phase)
{
    uint8_t *p = buf;
    unsigned int bytes = vsnd_pcm_format_bytes(fmt);
    uint8_t sample[8] = { 0 };

    if (fmt == VSND_PCM_FMT_MU_LAW) {
        memset(buf, 0xff, len);
        return;
    }
    if (fmt == VSND_PCM_FMT_A_LAW) {
        memset(buf, 0xd5, len);
        return;
    }
    if (fmt == VSND_PCM_FMT_DSD_U8 || fmt == VSND_PCM_FMT_DSD_U16 ||
        fmt == VSND_PCM_FMT_DSD_U32) {
        memset(buf, 0x69, len);
        return;
    }
    if (!vsnd_pcm_format_is_unsigned(fmt) || bytes == 0) {
        memset(buf, 0, len);
        return;
    }
    /* Mid-scale: the top valid bit set, low-aligned in the container. */
    {
        unsigned int top = vsnd_pcm_format_valid_bits(fmt) - 1;
        sample[top / 8] = (uint8_t)(1u << (top % 8));
    }
    for (size_t i = 0; i < len; i++)
        p[i] = sample[(phase + i) % bytes];
}

#endif /* VSND_AUDIO_PCM_FORMAT_H */
