/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * snd-pcm-pump.h - moving a stream's messages to and from its host stream
 * (snd-pcm-pump.c): completion, the pump, the software clock while the
 * host end is gone, the xrun watch, host errors.  Both timers are
 * audio/clock.h's VsndTimer.
 */
#ifndef VSND_SND_PCM_PUMP_H
#define VSND_SND_PCM_PUMP_H

#include "snd/snd-pcm-stream.h"

/* Complete @msg (out of the FIFO) with @status and the latency. */
void vsnd_stream_complete(SndPcmStream *st, SndIoMsg *msg, uint32_t status);
/* Complete every pending message with @status, oldest first. */
void vsnd_stream_flush(SndPcmStream *st, uint32_t status);
/* Free every pending message without touching guest memory. */
void vsnd_stream_discard(SndPcmStream *st);
/* The stream's timers (software clock, dry watch), on the driver's clock
 * (real or the manual test clock, vsnd_audio_manual_clock()). */
void vsnd_stream_timers_new(SndPcmStream *st);
void vsnd_stream_timers_free(SndPcmStream *st);
/* The software clock: one message per period while the host end is gone,
 * at absolute nanosecond deadlines from its start. */
void vsnd_stream_clock_start(SndPcmStream *st);
void vsnd_stream_clock_stop(SndPcmStream *st);
/* The dry watch: a playback FIFO empty while running becomes an underrun
 * if no message comes before the host has played what it holds. */
void vsnd_stream_dry_arm(SndPcmStream *st);
void vsnd_stream_dry_stop(SndPcmStream *st);
/* Move data while the stream runs; schedule that from a driver event. */
void vsnd_stream_pump(SndPcmStream *st);
void vsnd_stream_schedule_pump(SndPcmStream *st);
/* The host stream reported @err: -EPIPE an xrun, 0 the host end is back,
 * anything else it is gone (the software clock takes over). */
void vsnd_stream_host_error(SndPcmStream *st, int err);

#endif /* VSND_SND_PCM_PUMP_H */
