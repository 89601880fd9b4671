/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * snd-pcm-host.h - a stream's host stream from open to close
 * (snd-pcm-host.c), and what the host driver offers.
 */
#ifndef VSND_SND_PCM_HOST_H
#define VSND_SND_PCM_HOST_H

#include "snd/snd-pcm-stream.h"

/* Open @st's host stream with its parameters.  Return: 0, or -EIO (the
 * jack then says whether the host end is there). */
int vsnd_stream_open(SndPcmStream *st);
/* Close the host stream; playback drains first when the driver can. */
void vsnd_stream_close(SndPcmStream *st, bool drain);
/* Close a host stream now (also one that lingers). */
void vsnd_host_close(SndPcm *pcm, SndHostStream *hs);
/* Hand gain and mute to the host stream, or scale in software. */
void vsnd_stream_apply_gain(SndPcmStream *st);
/* What @st offers (PCM_INFO): the driver's capabilities within @sc. */
void vsnd_stream_caps(SndPcm *pcm, SndPcmStream *st, const VsndStreamConfig *sc);

#endif /* VSND_SND_PCM_HOST_H */
