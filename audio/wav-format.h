/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * wav-format.h - RIFF/WAVE headers for the wav driver (and its tests).
 *
 * What WAV represents exactly, per virtio-snd format:
 *  - U8, S16, S24_3, S32: WAVE_FORMAT_PCM as is (8-bit WAV is unsigned,
 *    wider WAV is signed);  FLOAT, FLOAT64: WAVE_FORMAT_IEEE_FLOAT;
 *    A_LAW, MU_LAW: WAVE_FORMAT_ALAW / _MULAW.
 *  - the other integer formats are written losslessly converted: S8 and
 *    U16/U24_3/U32 flip the sign bit; S18_3/S20_3 (low-aligned in 3 bytes)
 *    and S20/S24 (low-aligned in 4 bytes), and their unsigned twins, are
 *    shifted to the top of the container and described by
 *    WAVE_FORMAT_EXTENSIBLE with wValidBitsPerSample = 18/20/24.
 *  - not representable: IMA ADPCM (block format), DSD, IEC958 subframes.
 * EXTENSIBLE is also used for more than two channels (channel mask 0:
 * no speaker assignment).  Non-PCM tags carry a "fact" chunk.
 * Header-only.
 */
#ifndef VSND_AUDIO_WAV_FORMAT_H
#define VSND_AUDIO_WAV_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "pcm-format.h"

#define WAV_TAG_PCM 0x0001
#define WAV_TAG_FLOAT 0x0003
#define WAV_TAG_ALAW 0x0006
#define WAV_TAG_MULAW 0x0007
#define WAV_TAG_EXTENSIBLE 0xfffe

#define WAV_HEADER_MAX 80

/* How one virtio format lands in a WAV file. */
typedef struct WavLayout {
    uint16_t tag;         /* WAV_TAG_*, the subformat when extensible */
    bool extensible;
    uint16_t channels;
    uint32_t rate_hz;
    uint16_t container;   /* bits per sample in the file */
    uint16_t valid;       /* significant bits */
    bool flip;            /* toggle the top valid bit on the way */
    unsigned int shift;   /* left shift inside the container */
    size_t header_len;    /* bytes before the sample data */
} WavLayout;

/**
 * wav_layout_for() - how to store a virtio format in WAV.
 * Return: false if WAV cannot represent @fmt.
 */
static inline bool wav_layout_for(unsigned int fmt, unsigned int channels, uint32_t rate_hz,
                                  WavLayout *ret)
{
    WavLayout l = { .channels = (uint16_t)channels, .rate_hz = rate_hz };
    unsigned int bytes = vsnd_pcm_format_bytes(fmt);

    switch (fmt) {
    case VSND_PCM_FMT_FLOAT:
    case VSND_PCM_FMT_FLOAT64:
        l.tag = WAV_TAG_FLOAT;
        break;
    case VSND_PCM_FMT_A_LAW:
        l.tag = WAV_TAG_ALAW;
        break;
    case VSND_PCM_FMT_MU_LAW:
        l.tag = WAV_TAG_MULAW;
        break;
    case VSND_PCM_FMT_S8: case VSND_PCM_FMT_U8:
    case VSND_PCM_FMT_S16: case VSND_PCM_FMT_U16:
    case VSND_PCM_FMT_S18_3: case VSND_PCM_FMT_U18_3:
    case VSND_PCM_FMT_S20_3: case VSND_PCM_FMT_U20_3:
    case VSND_PCM_FMT_S24_3: case VSND_PCM_FMT_U24_3:
    case VSND_PCM_FMT_S20: case VSND_PCM_FMT_U20:
    case VSND_PCM_FMT_S24: case VSND_PCM_FMT_U24:
    case VSND_PCM_FMT_S32: case VSND_PCM_FMT_U32:
        l.tag = WAV_TAG_PCM;
        /* WAV: 8-bit unsigned, wider signed. */
        l.flip = vsnd_pcm_format_is_unsigned(fmt) != (bytes == 1);
        break;
    default:
        return false;
    }
    if (channels < 1 || channels > 8 || rate_hz == 0)
        return false;
    l.container = (uint16_t)(bytes * 8);
    l.valid = (uint16_t)vsnd_pcm_format_valid_bits(fmt);
    l.shift = l.container - l.valid;
    l.extensible = l.valid != l.container || channels > 2;
    l.header_len = 12 + 8 + (l.extensible ? 40 : l.tag == WAV_TAG_PCM ? 16 : 18) +
                   (l.extensible || l.tag != WAV_TAG_PCM ? 12 : 0) + 8;
    *ret = l;
    return true;
}

static inline void wav_put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static inline void wav_put32(uint8_t *p, uint32_t v)
{
    wav_put16(p, (uint16_t)v);
    wav_put16(p + 2, (uint16_t)(v >> 16));
}

/**
 * wav_header() - the header for @data_bytes of sample data.
 * @h: at least WAV_HEADER_MAX bytes.
 * Return: the header length (== l->header_len).
 */
static inline size_t wav_header(const WavLayout *l, uint64_t data_bytes, uint8_t *h)
{
    static const uint8_t guid_tail[14] = {
        0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71,
    };
    uint32_t block = (uint32_t)l->channels * (l->container / 8);
    uint32_t data = data_bytes > UINT32_MAX - l->header_len ?
                    (uint32_t)(UINT32_MAX - l->header_len) : (uint32_t)data_bytes;
    size_t fmt_len = l->extensible ? 40 : l->tag == WAV_TAG_PCM ? 16 : 18;
    uint8_t *p = h;

    memcpy(p, "RIFF", 4);
    wav_put32(p + 4, (uint32_t)(l->header_len - 8 + data));
    memcpy(p + 8, "WAVE", 4);
    p += 12;
    memcpy(p, "fmt ", 4);
    wav_put32(p + 4, (uint32_t)fmt_len);
    wav_put16(p + 8, l->extensible ? WAV_TAG_EXTENSIBLE : l->tag);
    wav_put16(p + 10, l->channels);
    wav_put32(p + 12, l->rate_hz);
    wav_put32(p + 16, l->rate_hz * block);
    wav_put16(p + 20, (uint16_t)block);
    wav_put16(p + 22, l->container);
    if (fmt_len > 16)
        wav_put16(p + 24, (uint16_t)(fmt_len - 18));
    if (l->extensible) {
        wav_put16(p + 26, l->valid);
        wav_put32(p + 28, 0); /* dwChannelMask: no speaker assignment */
        wav_put16(p + 32, l->tag);
        memcpy(p + 34, guid_tail, sizeof(guid_tail));
    }
    p += 8 + fmt_len;
    if (l->extensible || l->tag != WAV_TAG_PCM) {
        memcpy(p, "fact", 4);
        wav_put32(p + 4, 4);
        wav_put32(p + 8, block ? data / block : 0);
        p += 12;
    }
    memcpy(p, "data", 4);
    wav_put32(p + 4, data);
    p += 8;
    return (size_t)(p - h);
}

#endif /* VSND_AUDIO_WAV_FORMAT_H */
