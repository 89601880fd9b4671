/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * snd-pcm-host-end.h - the host end of a stream (snd-pcm-host-end.c): its
 * state table, its one writer, the jack that follows it.
 */
#ifndef VSND_SND_PCM_HOST_END_H
#define VSND_SND_PCM_HOST_END_H

#include "snd/snd-pcm-stream.h"

/* What happens to a stream's host end (SndHostEndState in
 * snd-pcm-stream.h says where it can be). */
typedef enum {
    HOST_EV_OPENED,         /* vsnd_audio_open() succeeded */
    HOST_EV_OPEN_FAILED,    /* it failed */
    HOST_EV_STARTED,        /* vsnd_audio_start() succeeded (or -ENOTSUP) */
    HOST_EV_START_FAILED,   /* it failed */
    HOST_EV_STOPPED,        /* vsnd_audio_stop() of a started stream */
    HOST_EV_LOST,           /* the driver's error(): host end gone */
    HOST_EV_BACK,           /* the driver's error(0): it is back */
    HOST_EV_CLOSED,         /* the host stream is closed (or lingers) */
    HOST_EV_RESET,          /* power-on: the jack follows the driver */
    HOST_EV_RESTORE_FAILED, /* a restored open stream has no host stream */
    HOST_EV_COUNT
} SndHostEndEvent;

/* Where @ev leads from @from.  Return: false when the table refuses it. */
bool vsnd_host_end_next(unsigned int from, unsigned int ev, SndHostEndState *ret_to);
const char *vsnd_host_end_state_name(unsigned int s);
const char *vsnd_host_end_event_name(unsigned int ev);

/* The one writer of @st's host end: @ev as the table says, then the jack
 * by the event's rule, with the device told when the jack changes.
 * Return: false, nothing changed, when the table refuses @ev (a
 * programming error: logged as critical). */
bool vsnd_host_end_event(SndPcmStream *st, unsigned int ev);

/* The driver reported the host end gone (or it was never opened): data
 * goes nowhere, the software clock paces the stream. */
bool vsnd_host_end_lost(const SndPcmStream *st);
/* vsnd_audio_start() succeeded and no stop followed (gone or not). */
bool vsnd_host_end_started(const SndPcmStream *st);

/* Start @st's open host stream and record the result.  Return: the
 * driver's (-ENOTSUP counts as started: the driver needs no start). */
int vsnd_host_end_start(SndPcmStream *st);
/* Stop @st's host stream when it was started.  Return: the driver's, or
 * 0 when there was nothing to stop. */
int vsnd_host_end_stop(SndPcmStream *st);

#endif /* VSND_SND_PCM_HOST_END_H */
