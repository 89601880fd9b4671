/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * badabi.c - a driver module built against a future driver ABI, so the
 * registry test can check that such a module is refused.
 */
#include "config.h"

#include "audio/audio.h"

const VsndAudioDriver *vsnd_audio_driver_entry(void);

static const VsndAudioDriver badabi_driver = {
    .abi_version = VSND_AUDIO_ABI_VERSION + 1000,
    .name = "pulse",
};

const VsndAudioDriver *vsnd_audio_driver_entry(void)
{
    return &badabi_driver;
}
