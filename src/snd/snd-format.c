/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * snd-format.c - software gain, volume curve and channel maps (see
 * snd-format.h).  All samples are little-endian, as virtio-snd streams are.
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include <glib.h>

#include "audio/pcm-format.h"
#include "snd/snd-format.h"
#include "snd/snd-proto.h"

uint64_t vsnd_bytes_per_second(unsigned int fmt, unsigned int rate, unsigned int channels)
{
    return (uint64_t)vsnd_pcm_format_bits(fmt) * channels * vsnd_pcm_rate_hz(rate) / 8;
}

bool vsnd_gain_supported(unsigned int fmt)
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

void vsnd_gain_apply(uint8_t *buf, size_t len, unsigned int fmt, uint32_t gain, bool mute)
{
    size_t i;

    if (mute || gain == 0) {
        vsnd_pcm_fill_silence(fmt, buf, len, 0);
        return;
    }
    if (gain >= SND_GAIN_UNITY || !vsnd_gain_supported(fmt)) {
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

uint32_t vsnd_volume_to_gain(uint32_t step)
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

void vsnd_chmap_standard(unsigned int channels, uint8_t *ret_positions)
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
