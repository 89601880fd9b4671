/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * snd-kctl.h - control elements (spec: Control Elements; VIRTIO_SND_F_CTLS).
 *
 * Per stream the device offers a volume (INTEGER, 0..127 in 0.5 dB steps
 * with a dB-scale TLV, 0 = mute) and a switch (BOOLEAN, 1 = sound on, ALSA's
 * "Switch" convention, role MUTE).  Playback streams are "PCM Playback
 * Volume/Switch", capture streams "Capture Volume/Switch"; the ALSA index is
 * the stream's function group, so (name, index) is unique.  Values go to the
 * host driver (set_volume) or to the device's software gain, through
 * vsnd_pcm_set_gain().  Changes raise CTL_NOTIFY through @notify.
 * Main thread only.
 */
#ifndef VSND_SND_KCTL_H
#define VSND_SND_KCTL_H

#include "snd/snd-pcm.h"

typedef struct SndKctl SndKctl;
typedef void (*SndKctlNotify)(void *opaque, uint32_t control_id, uint32_t mask);

#define SND_KCTL_MAX_ELEMS 256u

/* @pcm borrowed.  Elements for every stream of @pcm. */
SndKctl *vsnd_kctl_new(SndPcm *pcm, SndKctlNotify notify, void *opaque);
void vsnd_kctl_free(SndKctl *kctl);
uint32_t vsnd_kctl_count(const SndKctl *kctl);
/* Add an ENUMERATED element (not bound to a stream): id or -errno. */
int vsnd_kctl_add_enum(SndKctl *kctl, const char *name, const char *const *items,
                      uint32_t nitems);

/* Each returns a VIRTIO_SND_S_* status; @id must be < count. */
/* One CTL_INFO entry laid out for the driver's @size (snd-proto.h). */
void vsnd_kctl_info(const SndKctl *kctl, uint32_t id, uint8_t *entry, size_t size);
uint32_t vsnd_kctl_enum_items(const SndKctl *kctl, uint32_t id, uint8_t *out, size_t cap,
                             size_t *ret_len);
uint32_t vsnd_kctl_read(const SndKctl *kctl, uint32_t id, uint8_t *out, size_t cap,
                       size_t *ret_len);
uint32_t vsnd_kctl_write(SndKctl *kctl, uint32_t id, const uint8_t *value, size_t len);
uint32_t vsnd_kctl_tlv_read(const SndKctl *kctl, uint32_t id, uint8_t *out, size_t cap,
                           size_t *ret_len);
uint32_t vsnd_kctl_tlv_write(SndKctl *kctl, uint32_t id, uint32_t code, const uint8_t *tlv,
                            size_t len);
/* Back to power-on values; the host volume follows. */
void vsnd_kctl_reset(SndKctl *kctl);

/*
 * Migration (snd-migrate.c).  vsnd_kctl_values() copies up to @max members
 * of control @id (< count) into @out and returns the member count;
 * vsnd_kctl_values_valid() checks untrusted values (id, count, range, step);
 * vsnd_kctl_restore_values() sets values already checked, applies volume and
 * mute to the stream and sends no notification.  Main thread.
 */
uint32_t vsnd_kctl_values(const SndKctl *kctl, uint32_t id, int64_t *out, uint32_t max);
bool vsnd_kctl_values_valid(const SndKctl *kctl, uint32_t id, const int64_t *values, uint32_t n);
void vsnd_kctl_restore_values(SndKctl *kctl, uint32_t id, const int64_t *values, uint32_t n);

#endif /* VSND_SND_KCTL_H */
