/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * snd-info.c - jack and channel map information (see snd-info.h).
 *
 * Jack pin defaults follow HDA 7.3.3.31 so that Linux names them
 * (Linux sound/virtio/virtio_jack.c): playback -> "Line Out" (rear, green, 1/8"),
 * capture -> "Mic" (front, pink, 1/8").  The default association is the
 * function group + 1, the sequence 0.  Every jack offers
 * VIRTIO_SND_JACK_F_REMAP; a remap replaces association and sequence in
 * the reported pin default.  Pin capabilities (HDA 7.3.4.9): presence
 * detect plus output or input capable.
 */
#include "config.h"

#include <string.h>

#define G_LOG_DOMAIN "vsnd-snd"
#include <glib.h>

#include "snd/snd-format.h"
#include "snd/snd-info.h"

#define HDA_PINCAP_PRESENCE_DETECT (1u << 2)
#define HDA_PINCAP_OUTPUT (1u << 4)
#define HDA_PINCAP_INPUT (1u << 5)

typedef struct SndJack {
    uint32_t stream;
    uint32_t association;
    uint32_t sequence;
} SndJack;

struct SndInfo {
    SndPcm *pcm;
    uint32_t njacks;
    uint32_t nchmaps;
    SndJack *jacks;
};

SndInfo *vsnd_info_new(const VsndDeviceConfig *cfg, SndPcm *pcm)
{
    SndInfo *info = g_new0(SndInfo, 1);
    uint32_t streams = vsnd_pcm_count(pcm);

    info->pcm = pcm;
    info->njacks = streams ? cfg->jacks : 0;
    info->nchmaps = streams ? cfg->chmaps : 0;
    info->jacks = g_new0(SndJack, info->njacks ? info->njacks : 1);
    for (uint32_t i = 0; i < info->njacks; i++) {
        info->jacks[i].stream = i % streams;
    }
    vsnd_info_reset(info);
    return info;
}

void vsnd_info_free(SndInfo *info)
{
    if (!info) {
        return;
    }
    g_free(info->jacks);
    g_free(info);
}

void vsnd_info_reset(SndInfo *info)
{
    for (uint32_t i = 0; i < info->njacks; i++) {
        SndJack *j = &info->jacks[i];

        j->association = (vsnd_pcm_nid(info->pcm, j->stream) + 1) & 0xf;
        j->sequence = 0;
    }
}

uint32_t vsnd_info_jacks(const SndInfo *info)
{
    return info->njacks;
}

uint32_t vsnd_info_chmaps(const SndInfo *info)
{
    return info->nchmaps;
}

uint32_t vsnd_info_jack_stream(const SndInfo *info, uint32_t jack)
{
    g_assert(jack < info->njacks);
    return info->jacks[jack].stream;
}

void vsnd_info_jack(const SndInfo *info, uint32_t jack, struct virtio_snd_jack_info *ret)
{
    const SndJack *j;
    bool out;
    uint32_t defconf;

    g_assert(jack < info->njacks);
    j = &info->jacks[jack];
    out = vsnd_pcm_direction(info->pcm, j->stream) == VSND_DIR_OUTPUT;
    if (out) {
        /* jack, external rear, line out, 1/8", green */
        defconf = SND_HDA_DEFCONF(0, 0x01, SND_HDA_DEV_LINE_OUT, 0x1, 0x4, 0, j->association,
                                  j->sequence);
    } else {
        /* jack, external front, mic in, 1/8", pink */
        defconf = SND_HDA_DEFCONF(0, 0x02, SND_HDA_DEV_MIC_IN, 0x1, 0x9, 0, j->association,
                                  j->sequence);
    }
    memset(ret, 0, sizeof(*ret));
    ret->hdr.hda_fn_nid = GUINT32_TO_LE(vsnd_pcm_nid(info->pcm, j->stream));
    ret->features = GUINT32_TO_LE(1u << VIRTIO_SND_JACK_F_REMAP);
    ret->hda_reg_defconf = GUINT32_TO_LE(defconf);
    ret->hda_reg_caps = GUINT32_TO_LE(HDA_PINCAP_PRESENCE_DETECT |
                                      (out ? HDA_PINCAP_OUTPUT : HDA_PINCAP_INPUT));
    ret->connected = vsnd_pcm_connected(info->pcm, j->stream) ? 1 : 0;
}

uint32_t vsnd_info_jack_remap(SndInfo *info, uint32_t jack, uint32_t association,
                             uint32_t sequence)
{
    g_assert(jack < info->njacks);
    /* HDA: association and sequence are 4-bit fields. */
    if (association > 0xf || sequence > 0xf) {
        return VIRTIO_SND_S_BAD_MSG;
    }
    info->jacks[jack].association = association;
    info->jacks[jack].sequence = sequence;
    return VIRTIO_SND_S_OK;
}

void vsnd_info_jack_get_remap(const SndInfo *info, uint32_t jack, uint32_t *ret_association,
                             uint32_t *ret_sequence)
{
    g_assert(jack < info->njacks);
    *ret_association = info->jacks[jack].association;
    *ret_sequence = info->jacks[jack].sequence;
}

void vsnd_info_chmap(const SndInfo *info, uint32_t chmap, struct virtio_snd_chmap_info *ret)
{
    uint32_t stream;
    uint8_t channels;

    g_assert(chmap < info->nchmaps);
    stream = chmap % vsnd_pcm_count(info->pcm);
    channels = vsnd_pcm_channels_max(info->pcm, stream);
    memset(ret, 0, sizeof(*ret));
    ret->hdr.hda_fn_nid = GUINT32_TO_LE(vsnd_pcm_nid(info->pcm, stream));
    ret->direction = vsnd_pcm_direction(info->pcm, stream) == VSND_DIR_OUTPUT ?
                         VIRTIO_SND_D_OUTPUT : VIRTIO_SND_D_INPUT;
    ret->channels = MIN(channels, VIRTIO_SND_CHMAP_MAX_SIZE);
    vsnd_chmap_standard(ret->channels, ret->positions);
}
