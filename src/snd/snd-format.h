/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * snd-format.h - what the device knows about virtio-snd sample formats and
 * frame rates: sizes, rates in Hz, silence, and the software gain applied
 * to PCM data when a host driver has no volume of its own.  Pure functions.
 */
#ifndef VSND_SND_FORMAT_H
#define VSND_SND_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

/* Unity gain on the 0..65536 linear scale of audio.h set_volume(). */
#define SND_GAIN_UNITY 65536u

/* Physical bits per sample of VIRTIO_SND_PCM_FMT_@fmt, 0 if undefined. */
unsigned int snd_format_phys_bits(unsigned int fmt);
/* Frames per second of VIRTIO_SND_PCM_RATE_@rate, 0 if undefined. */
unsigned int snd_rate_hz(unsigned int rate);
/* Bytes per frame, 0 when a frame is not a whole number of bytes. */
unsigned int snd_frame_bytes(unsigned int fmt, unsigned int channels);
/* Bytes per second of a stream, 0 if undefined. */
uint64_t snd_bytes_per_second(unsigned int fmt, unsigned int rate, unsigned int channels);
/* Byte value whose repetition is silence in @fmt (0 for signed formats). */
uint8_t snd_format_silence_byte(unsigned int fmt);
/* Whether snd_gain_apply() can scale @fmt (otherwise only mute works). */
bool snd_gain_supported(unsigned int fmt);

/*
 * snd_gain_apply() - scale @len bytes of interleaved samples in place.
 * @gain: 0..SND_GAIN_UNITY; 0 (or @mute) writes silence.  Bytes after the
 * last whole sample are left alone.  Formats snd_gain_supported() rejects
 * are only silenced (mute / gain 0), never scaled.
 */
void snd_gain_apply(uint8_t *buf, size_t len, unsigned int fmt, uint32_t gain, bool mute);

/* Volume control steps (0..SND_VOLUME_STEPS) in 0.5 dB down to -63.5 dB,
 * step 0 is mute: linear gain on the 0..65536 scale. */
#define SND_VOLUME_STEPS 127u
#define SND_VOLUME_DB_MIN_CENTI (-6350)
#define SND_VOLUME_DB_STEP_CENTI 50
uint32_t snd_volume_to_gain(uint32_t step);



/* Standard channel positions (VIRTIO_SND_CHMAP_*) for 1..8 channels, NONE
 * beyond; fills @channels entries of @ret_positions (at most 18). */
void snd_chmap_standard(unsigned int channels, uint8_t *ret_positions);
#endif /* VSND_SND_FORMAT_H */
