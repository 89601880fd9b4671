/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * snd-info.h - jacks and channel maps of the device (spec: Jack Control
 * Messages, Channel Map Control Messages).
 *
 * By default there is one jack and one channel map per stream: jack/chmap i
 * belongs to stream i % streams and shares its function group (hda_fn_nid).
 * A jack's connected state follows its stream's host end (vsnd_pcm_connected).
 * Main thread only.
 */
#ifndef VSND_SND_INFO_H
#define VSND_SND_INFO_H

#include "snd/snd-pcm.h"

typedef struct SndInfo SndInfo;

/* HDA pin default configuration fields (HDA 7.3.3.31). */
#define SND_HDA_DEFCONF(port, loc, dev, conn, color, misc, assoc, seq) \
    (((uint32_t)(port) << 30) | ((uint32_t)(loc) << 24) | ((uint32_t)(dev) << 20) | \
     ((uint32_t)(conn) << 16) | ((uint32_t)(color) << 12) | ((uint32_t)(misc) << 8) | \
     ((uint32_t)(assoc) << 4) | (uint32_t)(seq))
#define SND_HDA_DEV_LINE_OUT 0x0
#define SND_HDA_DEV_SPEAKER 0x1
#define SND_HDA_DEV_MIC_IN 0xa
#define SND_HDA_DEV_LINE_IN 0x8

/* @cfg and @pcm borrowed. */
SndInfo *vsnd_info_new(const VsndDeviceConfig *cfg, SndPcm *pcm);
void vsnd_info_free(SndInfo *info);
uint32_t vsnd_info_jacks(const SndInfo *info);
uint32_t vsnd_info_chmaps(const SndInfo *info);
/* Stream that jack @jack (< jacks) belongs to. */
uint32_t vsnd_info_jack_stream(const SndInfo *info, uint32_t jack);
void vsnd_info_jack(const SndInfo *info, uint32_t jack, struct virtio_snd_jack_info *ret);
/* JACK_REMAP for a valid @jack; Return: a VIRTIO_SND_S_* status. */
uint32_t vsnd_info_jack_remap(SndInfo *info, uint32_t jack, uint32_t association,
                             uint32_t sequence);
/* Current remap (association, sequence) of @jack (< jacks). */
void vsnd_info_jack_get_remap(const SndInfo *info, uint32_t jack, uint32_t *ret_association,
                             uint32_t *ret_sequence);
void vsnd_info_chmap(const SndInfo *info, uint32_t chmap, struct virtio_snd_chmap_info *ret);
/* Back to power-on (remaps forgotten). */
void vsnd_info_reset(SndInfo *info);

#endif /* VSND_SND_INFO_H */
