/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * pcm-format.h - virtio-snd PCM format and rate codes as numbers.
 *
 * Tiny, header-only helpers shared by the drivers and the device: how many
 * bytes a sample of VIRTIO_SND_PCM_FMT_* occupies in memory (its physical
 * width), how many bits of it are significant, whether it is signed, what
 * its silence looks like, and how many Hz a VIRTIO_SND_PCM_RATE_* is
 * (virtio spec, "PCM Stream Information": formats and rates enumerations).
 * All multi-byte formats are little-endian, as virtio is.
 *
 * The codes Debian 12's <linux/virtio_snd.h> lacks (the VIRTIO 1.4 rates
 * 12000 and 24000) and the code counts come from src/snd/snd-proto.h, the
 * one header that defines what the system header is missing.
 *
 * Header-only on purpose: the loadable driver modules use it too and must
 * not depend on symbols of the daemon.
 */
#ifndef VSND_AUDIO_PCM_FORMAT_H
#define VSND_AUDIO_PCM_FORMAT_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "snd/snd-proto.h"

/* Every rate bit the spec defines. */
#define VSND_PCM_RATES_ALL ((UINT64_C(1) << VSND_PCM_RATE_COUNT) - 1)

#define VSND_PCM_FMT_BIT(f) (UINT64_C(1) << (f))

/**
 * vsnd_pcm_rate_hz() - frame rate of a VIRTIO_SND_PCM_RATE_* code.
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

/* The VIRTIO_SND_PCM_RATE_* code of @hz.  Return: the code, or -1. */
static inline int vsnd_pcm_rate_from_hz(uint32_t hz)
{
    for (unsigned int r = 0; r < VSND_PCM_RATE_COUNT; r++) {
        if (vsnd_pcm_rate_hz(r) == hz)
            return (int)r;
    }
    return -1;
}

/* The spec's name of a VIRTIO_SND_PCM_FMT_* code ("S16"), or "?". */
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
 * @fmt: a VIRTIO_SND_PCM_FMT_* code; any value is accepted.
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
 * @fmt: a VIRTIO_SND_PCM_FMT_* code.
 *
 * E.g. 24 for VIRTIO_SND_PCM_FMT_S24 (24 bits, low-aligned in 32).
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
 * @fmt: a VIRTIO_SND_PCM_FMT_* code.
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
 * @fmt: a VIRTIO_SND_PCM_FMT_* code.
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
 * @fmt: a VIRTIO_SND_PCM_FMT_* code.
 *
 * Context: any thread.
 * Return: true for U8, U16, U18_3, U20_3, U24_3, U20, U24, U32.
 */
static inline bool vsnd_pcm_format_is_unsigned(unsigned int fmt)
{
    switch (fmt) {
    case VIRTIO_SND_PCM_FMT_U8:
    case VIRTIO_SND_PCM_FMT_U16:
    case VIRTIO_SND_PCM_FMT_U18_3:
    case VIRTIO_SND_PCM_FMT_U20_3:
    case VIRTIO_SND_PCM_FMT_U24_3:
    case VIRTIO_SND_PCM_FMT_U20:
    case VIRTIO_SND_PCM_FMT_U24:
    case VIRTIO_SND_PCM_FMT_U32:
        return true;
    default:
        return false;
    }
}

/**
 * vsnd_pcm_fill_silence() - write silence in a format.
 * @fmt: a VIRTIO_SND_PCM_FMT_* code.
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

    if (fmt == VIRTIO_SND_PCM_FMT_MU_LAW) {
        memset(buf, 0xff, len);
        return;
    }
    if (fmt == VIRTIO_SND_PCM_FMT_A_LAW) {
        memset(buf, 0xd5, len);
        return;
    }
    if (fmt == VIRTIO_SND_PCM_FMT_DSD_U8 || fmt == VIRTIO_SND_PCM_FMT_DSD_U16 ||
        fmt == VIRTIO_SND_PCM_FMT_DSD_U32) {
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
