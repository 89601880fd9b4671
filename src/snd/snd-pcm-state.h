/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * snd-pcm-state.h - a PCM stream's one state machine (snd-pcm-state.c):
 * the spec's states and commands plus the device's own.
 */
#ifndef VSND_SND_PCM_STATE_H
#define VSND_SND_PCM_STATE_H

#include "snd/snd-pcm-stream.h"

/*
 * The stream's one state machine.  Beyond the guest's states and commands
 * (spec), the device has one state of its own and three events of its own:
 * PAUSED is RUNNING with its ring stopped (GET_VRING_BASE: the host stream
 * stopped, the guest still believes it runs, so a snapshot saves RUNNING);
 * QUEUE_STOP and QUEUE_START pause and resume a running stream with its
 * ring; RESET is the device reset (and the start of a restore).  A PAUSED
 * stream takes the guest's commands as STOPPED does.  Host loss is no state
 * here: the guest's stream runs on (on the software clock); the host end
 * has its own table and writer (snd-pcm-host-end.h), not closed exactly
 * in the states vsnd_pcm_state_open() names.
 */
#define STATE_PAUSED SND_PCM_STATE_MAX
G_STATIC_ASSERT(SND_PCM_STATE_INIT == 0); /* a new stream, zeroed, is at power-on */
#define STATE_COUNT (SND_PCM_STATE_MAX + 1)

enum {
    EV_QUEUE_STOP = SND_PCM_CMD_MAX, /* the stream's ring stopped */
    EV_QUEUE_START,                  /* it started again */
    EV_RESET,                        /* back to power-on */
    EV_COUNT
};

/* A transition table's cell: @table holds @n_states rows of @n_events
 * next states, negative where refused.  Return: the next state, or
 * negative when refused or out of range (this table and the host end's). */
int vsnd_table_next(const int8_t *table, unsigned int n_states, unsigned int n_events,
                    unsigned int from, unsigned int ev);
/* Where event @ev (a SndPcmCmd or EV_*) leads from @from.  Return: false
 * when the table refuses it. */
bool vsnd_pcm_next_state(unsigned int from, unsigned int ev, SndPcmState *ret_to);
/* A host stream is open in @s (messages are taken). */
bool vsnd_pcm_state_open(SndPcmState s);
/* What the guest believes @s is (a snapshot saves it). */
SndPcmState vsnd_pcm_state_guest(SndPcmState s);
/* The spec's state @s behaves as (vsnd_pcm_state()). */
SndPcmState vsnd_pcm_state_shown(SndPcmState s);
/* The one writer of a stream's state: @ev, as the table says.  Return:
 * false, nothing changed, when the table refuses it. */
bool vsnd_stream_event(SndPcmStream *st, unsigned int ev);
/* Take @st to @target by the table's shortest path of events.  Return:
 * false, nothing changed, when none leads there. */
bool vsnd_stream_walk(SndPcmStream *st, SndPcmState target);
/* Tell the device whether a running stream wants its queues polled. */
void vsnd_pcm_update_polling(SndPcm *pcm);

#endif /* VSND_SND_PCM_STATE_H */
