/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * snd-format.h - the software gain the device applies to PCM data when a
 * host driver has no volume of its own, the volume control's dB curve, and
 * standard channel maps.  Sample sizes, rates in Hz and silence come from
 * audio/pcm-format.h (shared with the drivers).  Pure functions.
 */
#ifndef VSND_SND_FORMAT_H
#define VSND_SND_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

/* Unity gain on the 0..65536 linear scale of audio.h set_volume(). */
#define SND_GAIN_UNITY 65536u

/* Bytes per second of a stream, 0 if undefined. */
uint64_t vsnd_bytes_per_second(unsigned int fmt, unsigned int rate, unsigned int channels);
/* Whether vsnd_gain_apply() can scale @fmt (otherwise only mute works). */
bool vsnd_gain_supported(unsigned int fmt);

/*
 * vsnd_gain_apply() - scale @len bytes of interleaved samples in place.
 * @gain: 0..SND_GAIN_UNITY; 0 (or @mute) writes silence.  Bytes after the
 * last whole sample are left alone.  Formats vsnd_gain_supported() rejects
 * are only silenced (mute / gain 0), never scaled.
 */
void vsnd_gain_apply(uint8_t *buf, size_t len, unsigned int fmt, uint32_t gain, bool mute);

/* Volume control steps (0..SND_VOLUME_STEPS) in 0.5 dB down to -63.5 dB,
 * step 0 is mute: linear gain on the 0..65536 scale. */
#define SND_VOLUME_STEPS 127u
#define SND_VOLUME_DB_MIN_CENTI (-6350)
#define SND_VOLUME_DB_STEP_CENTI 50
uint32_t vsnd_volume_to_gain(uint32_t step);



/* Standard channel positions (VIRTIO_SND_CHMAP_*) for 1..8 channels, NONE
 * beyond; fills @channels entries of @ret_positions (at most 18). */
void vsnd_chmap_standard(unsigned int channels, uint8_t *ret_positions);
#endif /* VSND_SND_FORMAT_H */
