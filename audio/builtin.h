/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * builtin.h - the drivers linked into the daemon (registry.c's table).
 */
#ifndef VSND_AUDIO_BUILTIN_H
#define VSND_AUDIO_BUILTIN_H

#include "audio.h"

extern const VsndAudioDriver vsnd_audio_null_driver;
extern const VsndAudioDriver vsnd_audio_wav_driver;

#endif /* VSND_AUDIO_BUILTIN_H */
