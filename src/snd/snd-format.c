/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * snd-format.c - sample format tables and software gain (see snd-format.h).
 *
 * Sizes follow the spec's table "supported PCM sample formats" (width /
 * physical width); rates follow "supported PCM frame rates" including the
 * VIRTIO 1.4 codes 14 (12000 Hz) and 15 (24000 Hz).  All samples are
 * little-endian, as virtio-snd streams are.
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include <glib.h>

#include "snd/snd-format.h"
#include "snd/snd-proto.h"

static const uint8_t phys_bits[VSND_PCM_FMT_COUNT] = {
    [VIRTIO_SND_PCM_FMT_IMA_ADPCM] = 4,  [VIRTIO_SND_PCM_FMT_MU_LAW] = 8,
    [VIRTIO_SND_PCM_FMT_A_LAW] = 8,      [VIRTIO_SND_PCM_FMT_S8] = 8,
    [VIRTIO_SND_PCM_FMT_U8] = 8,         [VIRTIO_SND_PCM_FMT_S16] = 16,
    [VIRTIO_SND_PCM_FMT_U16] = 16,       [VIRTIO_SND_PCM_FMT_S18_3] = 24,
    [VIRTIO_SND_PCM_FMT_U18_3] = 24,     [VIRTIO_SND_PCM_FMT_S20_3] = 24,
    [VIRTIO_SND_PCM_FMT_U20_3] = 24,     [VIRTIO_SND_PCM_FMT_S24_3] = 24,
    [VIRTIO_SND_PCM_FMT_U24_3] = 24,     [VIRTIO_SND_PCM_FMT_S20] = 32,
    [VIRTIO_SND_PCM_FMT_U20] = 32,       [VIRTIO_SND_PCM_FMT_S24] = 32,
    [VIRTIO_SND_PCM_FMT_U24] = 32,       [VIRTIO_SND_PCM_FMT_S32] = 32,
    [VIRTIO_SND_PCM_FMT_U32] = 32,       [VIRTIO_SND_PCM_FMT_FLOAT] = 32,
    [VIRTIO_SND_PCM_FMT_FLOAT64] = 64,   [VIRTIO_SND_PCM_FMT_DSD_U8] = 8,
    [VIRTIO_SND_PCM_FMT_DSD_U16] = 16,   [VIRTIO_SND_PCM_FMT_DSD_U32] = 32,
    [VIRTIO_SND_PCM_FMT_IEC958_SUBFRAME] = 32,
};

static const uint32_t rate_hz[VSND_PCM_RATE_COUNT] = {
    5512, 8000, 11025, 16000, 22050, 32000, 44100, 48000,
    64000, 88200, 96000, 176400, 192000, 384000, 12000, 24000,
};

unsigned int snd_format_phys_bits(unsigned int fmt)
{
    return fmt < G_N_ELEMENTS(phys_bits) ? phys_bits[fmt] : 0;
}

unsigned int snd_rate_hz(unsigned int rate)
{
    return rate < G_N_ELEMENTS(rate_hz) ? rate_hz[rate] : 0;
}

unsigned int snd_frame_bytes(unsigned int fmt, unsigned int channels)
{
    unsigned int bits = snd_format_phys_bits(fmt) * channels;

    return bits % 8 ? 0 : bits / 8;
}

uint64_t snd_bytes_per_second(unsigned int fmt, unsigned int rate, unsigned int channels)
{
    return (uint64_t)snd_format_phys_bits(fmt) * channels * snd_rate_hz(rate) / 8;
}

uint8_t snd_format_silence_byte(unsigned int fmt)
{
    switch (fmt) {
    case VIRTIO_SND_PCM_FMT_MU_LAW:
        return 0xff;
    case VIRTIO_SND_PCM_FMT_A_LAW:
        return 0xd5;
    case VIRTIO_SND_PCM_FMT_DSD_U8:
    case VIRTIO_SND_PCM_FMT_DSD_U16:
    case VIRTIO_SND_PCM_FMT_DSD_U32:
        return 0x69;
    default:
        return 0;
    }
}

/* Unsigned formats: silence is the mid value, i.e. only the top byte of
 * each little-endian sample is 0x80.  Fill @len bytes of @fmt silence. */
static void fill_silence(uint8_t *buf, size_t len, unsigned int fmt)
{
    unsigned int bytes = snd_format_phys_bits(fmt) / 8;
    unsigned int top = bytes;

    switch (fmt) {
    case VIRTIO_SND_PCM_FMT_U8:
    case VIRTIO_SND_PCM_FMT_U16:
    case VIRTIO_SND_PCM_FMT_U24_3:
    case VIRTIO_SND_PCM_FMT_U32:
        top = bytes - 1;
        break;
    case VIRTIO_SND_PCM_FMT_U18_3: /* 18 valid bits in 24: bit 17 */
        top = 2;
        break;
    case VIRTIO_SND_PCM_FMT_U20_3:
    case VIRTIO_SND_PCM_FMT_U20: /* bit 19 */
        top = 2;
        break;
    case VIRTIO_SND_PCM_FMT_U24: /* bit 23 */
        top = 2;
        break;
    default:
        memset(buf, snd_format_silence_byte(fmt), len);
        return;
    }
    memset(buf, 0, len);
    for (size_t i = top; bytes && i < len; i += bytes) {
        switch (fmt) {
        case VIRTIO_SND_PCM_FMT_U18_3:
            buf[i] = 0x02;
            break;
        case VIRTIO_SND_PCM_FMT_U20_3:
        case VIRTIO_SND_PCM_FMT_U20:
            buf[i] = 0x08;
            break;
        default:
            buf[i] = 0x80;
            break;
        }
    }
}

bool snd_gain_supported(unsigned int fmt)
{
    switch (fmt) {
    case VIRTIO_SND_PCM_FMT_S8:
    case VIRTIO_SND_PCM_FMT_U8:
    case VIRTIO_SND_PCM_FMT_S16:
    case VIRTIO_SND_PCM_FMT_U16:
    case VIRTIO_SND_PCM_FMT_S24_3:
    case VIRTIO_SND_PCM_FMT_S24:
    case VIRTIO_SND_PCM_FMT_S32:
    case VIRTIO_SND_PCM_FMT_U32:
    case VIRTIO_SND_PCM_FMT_FLOAT:
    case VIRTIO_SND_PCM_FMT_FLOAT64:
        return true;
    default:
        return false;
    }
}

static int64_t scale(int64_t v, uint32_t gain)
{
    return (v * (int64_t)gain) / (int64_t)SND_GAIN_UNITY;
}

void snd_gain_apply(uint8_t *buf, size_t len, unsigned int fmt, uint32_t gain, bool mute)
{
    size_t i;

    if (mute || gain == 0) {
        fill_silence(buf, len, fmt);
        return;
    }
    if (gain >= SND_GAIN_UNITY || !snd_gain_supported(fmt)) {
        return;
    }
    switch (fmt) {
    case VIRTIO_SND_PCM_FMT_S8:
        for (i = 0; i < len; i++) {
            buf[i] = (uint8_t)(int8_t)scale((int8_t)buf[i], gain);
        }
        break;
    case VIRTIO_SND_PCM_FMT_U8:
        for (i = 0; i < len; i++) {
            buf[i] = (uint8_t)(scale((int)buf[i] - 128, gain) + 128);
        }
        break;
    case VIRTIO_SND_PCM_FMT_S16:
    case VIRTIO_SND_PCM_FMT_U16:
        for (i = 0; i + 2 <= len; i += 2) {
            int32_t v = (int16_t)(uint16_t)(buf[i] | buf[i + 1] << 8);
            if (fmt == VIRTIO_SND_PCM_FMT_U16) {
                v = (int32_t)(uint16_t)v - 32768;
            }
            v = (int32_t)scale(v, gain);
            if (fmt == VIRTIO_SND_PCM_FMT_U16) {
                v += 32768;
            }
            buf[i] = (uint8_t)v;
            buf[i + 1] = (uint8_t)(v >> 8);
        }
        break;
    case VIRTIO_SND_PCM_FMT_S24_3:
        for (i = 0; i + 3 <= len; i += 3) {
            uint32_t u = buf[i] | buf[i + 1] << 8 | (uint32_t)buf[i + 2] << 16;
            int32_t v = (int32_t)(u << 8) >> 8;
            v = (int32_t)scale(v, gain);
            buf[i] = (uint8_t)v;
            buf[i + 1] = (uint8_t)(v >> 8);
            buf[i + 2] = (uint8_t)(v >> 16);
        }
        break;
    case VIRTIO_SND_PCM_FMT_S24:
    case VIRTIO_SND_PCM_FMT_S32:
    case VIRTIO_SND_PCM_FMT_U32:
        for (i = 0; i + 4 <= len; i += 4) {
            uint32_t u = buf[i] | buf[i + 1] << 8 | (uint32_t)buf[i + 2] << 16 |
                         (uint32_t)buf[i + 3] << 24;
            int64_t v;
            if (fmt == VIRTIO_SND_PCM_FMT_S24) {
                v = (int32_t)(u << 8) >> 8;
            } else if (fmt == VIRTIO_SND_PCM_FMT_U32) {
                v = (int64_t)u - 2147483648LL;
            } else {
                v = (int32_t)u;
            }
            v = scale(v, gain);
            if (fmt == VIRTIO_SND_PCM_FMT_U32) {
                v += 2147483648LL;
            }
            u = (uint32_t)v;
            if (fmt == VIRTIO_SND_PCM_FMT_S24) {
                u &= 0xffffffu;
            }
            buf[i] = (uint8_t)u;
            buf[i + 1] = (uint8_t)(u >> 8);
            buf[i + 2] = (uint8_t)(u >> 16);
            buf[i + 3] = (uint8_t)(u >> 24);
        }
        break;
    case VIRTIO_SND_PCM_FMT_FLOAT:
        for (i = 0; i + 4 <= len; i += 4) {
            float f;
            uint32_t u;
            memcpy(&u, buf + i, 4);
            u = GUINT32_FROM_LE(u);
            memcpy(&f, &u, 4);
            f = (float)((double)f * gain / SND_GAIN_UNITY);
            memcpy(&u, &f, 4);
            u = GUINT32_TO_LE(u);
            memcpy(buf + i, &u, 4);
        }
        break;
    case VIRTIO_SND_PCM_FMT_FLOAT64:
        for (i = 0; i + 8 <= len; i += 8) {
            double d;
            uint64_t u;
            memcpy(&u, buf + i, 8);
            u = GUINT64_FROM_LE(u);
            memcpy(&d, &u, 8);
            d = d * gain / SND_GAIN_UNITY;
            memcpy(&u, &d, 8);
            u = GUINT64_TO_LE(u);
            memcpy(buf + i, &u, 8);
        }
        break;
    default:
        break;
    }
}

uint32_t snd_volume_to_gain(uint32_t step)
{
    double db;

    if (step == 0) {
        return 0;
    }
    if (step >= SND_VOLUME_STEPS) {
        return SND_GAIN_UNITY;
    }
    db = (SND_VOLUME_DB_MIN_CENTI + (double)step * SND_VOLUME_DB_STEP_CENTI) / 100.0;
    return (uint32_t)lround(pow(10.0, db / 20.0) * SND_GAIN_UNITY);
}

void snd_chmap_standard(unsigned int channels, uint8_t *ret_positions)
{
    static const uint8_t order[8] = {
        VIRTIO_SND_CHMAP_FL, VIRTIO_SND_CHMAP_FR, VIRTIO_SND_CHMAP_RL, VIRTIO_SND_CHMAP_RR,
        VIRTIO_SND_CHMAP_FC, VIRTIO_SND_CHMAP_LFE, VIRTIO_SND_CHMAP_SL, VIRTIO_SND_CHMAP_SR,
    };
    static const uint8_t three[3] = { VIRTIO_SND_CHMAP_FL, VIRTIO_SND_CHMAP_FR,
                                      VIRTIO_SND_CHMAP_FC };
    static const uint8_t seven[7] = { VIRTIO_SND_CHMAP_FL, VIRTIO_SND_CHMAP_FR,
                                      VIRTIO_SND_CHMAP_RL, VIRTIO_SND_CHMAP_RR,
                                      VIRTIO_SND_CHMAP_FC, VIRTIO_SND_CHMAP_LFE,
                                      VIRTIO_SND_CHMAP_RC };

    if (channels > VIRTIO_SND_CHMAP_MAX_SIZE) {
        channels = VIRTIO_SND_CHMAP_MAX_SIZE;
    }
    for (unsigned int i = 0; i < channels; i++) {
        if (channels == 1) {
            ret_positions[i] = VIRTIO_SND_CHMAP_MONO;
        } else if (channels == 3) {
            ret_positions[i] = three[i];
        } else if (channels == 7) {
            ret_positions[i] = seven[i];
        } else {
            ret_positions[i] = i < G_N_ELEMENTS(order) ? order[i] : VIRTIO_SND_CHMAP_NONE;
        }
    }
}
