/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * snd-pcm-state.c - a PCM stream's one state machine: the transition
 * table, what each state is, the one writer of a stream's state.
 *
 * Each stream follows the spec's command lifecycle (spec "PCM Command
 * Lifecycle") through the single table below; a command the table refuses
 * gets BAD_MSG and changes nothing.  Beyond the spec's list, RELEASE of an
 * idle stream (no host stream open) is an accepted no-op, because Linux
 * sends it after every stop and after a device reset (Linux sound/virtio/
 * virtio_pcm_ops.c: virtsnd_pcm_hw_free(), virtsnd_pcm_prepare() after
 * a restore).  Parameters survive RELEASE: xrun recovery is
 * RELEASE -> PREPARE without SET_PARAMS.  The device's own state and
 * events (snd-pcm-state.h) are in the same table.  Whether the host end is
 * there and started is the other table (snd-pcm-host-end.c).
 */
#include "config.h"

#include <string.h>

#define G_LOG_DOMAIN "vsnd-snd"
#include <glib.h>

#include "snd/snd-pcm-state.h"

#define R (-1)
/* The transition table: next state, or R (refused -> BAD_MSG).  The ring
 * events leave every state but RUNNING and PAUSED as it is. */
static const int8_t transitions[STATE_COUNT][EV_COUNT] = {
    [SND_PCM_STATE_INIT] = {
        [SND_PCM_CMD_SET_PARAMS] = SND_PCM_STATE_PARAMS,
        [SND_PCM_CMD_PREPARE] = R,
        [SND_PCM_CMD_RELEASE] = SND_PCM_STATE_INIT, /* idle: no-op */
        [SND_PCM_CMD_START] = R,
        [SND_PCM_CMD_STOP] = R,
        [EV_QUEUE_STOP] = SND_PCM_STATE_INIT,
        [EV_QUEUE_START] = SND_PCM_STATE_INIT,
        [EV_RESET] = SND_PCM_STATE_INIT,
    },
    [SND_PCM_STATE_PARAMS] = {
        [SND_PCM_CMD_SET_PARAMS] = SND_PCM_STATE_PARAMS,
        [SND_PCM_CMD_PREPARE] = SND_PCM_STATE_PREPARED,
        [SND_PCM_CMD_RELEASE] = SND_PCM_STATE_PARAMS, /* idle: no-op */
        [SND_PCM_CMD_START] = R,
        [SND_PCM_CMD_STOP] = R,
        [EV_QUEUE_STOP] = SND_PCM_STATE_PARAMS,
        [EV_QUEUE_START] = SND_PCM_STATE_PARAMS,
        [EV_RESET] = SND_PCM_STATE_INIT,
    },
    [SND_PCM_STATE_PREPARED] = {
        [SND_PCM_CMD_SET_PARAMS] = SND_PCM_STATE_PARAMS,
        [SND_PCM_CMD_PREPARE] = SND_PCM_STATE_PREPARED,
        [SND_PCM_CMD_RELEASE] = SND_PCM_STATE_RELEASED,
        [SND_PCM_CMD_START] = SND_PCM_STATE_RUNNING,
        [SND_PCM_CMD_STOP] = R,
        [EV_QUEUE_STOP] = SND_PCM_STATE_PREPARED,
        [EV_QUEUE_START] = SND_PCM_STATE_PREPARED,
        [EV_RESET] = SND_PCM_STATE_INIT,
    },
    [SND_PCM_STATE_RUNNING] = {
        [SND_PCM_CMD_SET_PARAMS] = R,
        [SND_PCM_CMD_PREPARE] = R,
        [SND_PCM_CMD_RELEASE] = R,
        [SND_PCM_CMD_START] = R,
        [SND_PCM_CMD_STOP] = SND_PCM_STATE_STOPPED,
        [EV_QUEUE_STOP] = STATE_PAUSED,
        [EV_QUEUE_START] = SND_PCM_STATE_RUNNING,
        [EV_RESET] = SND_PCM_STATE_INIT,
    },
    [SND_PCM_STATE_STOPPED] = {
        [SND_PCM_CMD_SET_PARAMS] = R,
        [SND_PCM_CMD_PREPARE] = R,
        [SND_PCM_CMD_RELEASE] = SND_PCM_STATE_RELEASED,
        [SND_PCM_CMD_START] = SND_PCM_STATE_RUNNING,
        [SND_PCM_CMD_STOP] = R,
        [EV_QUEUE_STOP] = SND_PCM_STATE_STOPPED,
        [EV_QUEUE_START] = SND_PCM_STATE_STOPPED,
        [EV_RESET] = SND_PCM_STATE_INIT,
    },
    [SND_PCM_STATE_RELEASED] = {
        [SND_PCM_CMD_SET_PARAMS] = SND_PCM_STATE_PARAMS,
        [SND_PCM_CMD_PREPARE] = SND_PCM_STATE_PREPARED,
        [SND_PCM_CMD_RELEASE] = SND_PCM_STATE_RELEASED, /* idle: no-op */
        [SND_PCM_CMD_START] = R,
        [SND_PCM_CMD_STOP] = R,
        [EV_QUEUE_STOP] = SND_PCM_STATE_RELEASED,
        [EV_QUEUE_START] = SND_PCM_STATE_RELEASED,
        [EV_RESET] = SND_PCM_STATE_INIT,
    },
    [STATE_PAUSED] = {
        [SND_PCM_CMD_SET_PARAMS] = R,
        [SND_PCM_CMD_PREPARE] = R,
        [SND_PCM_CMD_RELEASE] = SND_PCM_STATE_RELEASED,
        [SND_PCM_CMD_START] = SND_PCM_STATE_RUNNING,
        [SND_PCM_CMD_STOP] = R,
        [EV_QUEUE_STOP] = STATE_PAUSED,
        [EV_QUEUE_START] = SND_PCM_STATE_RUNNING,
        [EV_RESET] = SND_PCM_STATE_INIT,
    },
};
#undef R

/* What each state is to the guest, to the device's callers, and to the
 * host stream. */
static const struct {
    const char *name;
    SndPcmState guest;  /* saved in a snapshot: what the guest believes */
    SndPcmState shown;  /* vsnd_pcm_state(): the spec's state it behaves as */
    bool open;          /* a host stream is open (messages are taken) */
} states[STATE_COUNT] = {
    [SND_PCM_STATE_INIT] = { "init", SND_PCM_STATE_INIT, SND_PCM_STATE_INIT, false },
    [SND_PCM_STATE_PARAMS] = { "params", SND_PCM_STATE_PARAMS, SND_PCM_STATE_PARAMS, false },
    [SND_PCM_STATE_PREPARED] = { "prepared", SND_PCM_STATE_PREPARED, SND_PCM_STATE_PREPARED,
                                 true },
    [SND_PCM_STATE_RUNNING] = { "running", SND_PCM_STATE_RUNNING, SND_PCM_STATE_RUNNING, true },
    [SND_PCM_STATE_STOPPED] = { "stopped", SND_PCM_STATE_STOPPED, SND_PCM_STATE_STOPPED, true },
    [SND_PCM_STATE_RELEASED] = { "released", SND_PCM_STATE_RELEASED, SND_PCM_STATE_RELEASED,
                                 false },
    [STATE_PAUSED] = { "paused by its queue", SND_PCM_STATE_RUNNING, SND_PCM_STATE_STOPPED,
                       true },
};

int vsnd_table_next(const int8_t *table, unsigned int n_states, unsigned int n_events,
                    unsigned int from, unsigned int ev)
{
    return from < n_states && ev < n_events ? table[from * n_events + ev] : -1;
}

bool vsnd_pcm_next_state(unsigned int from, unsigned int ev, SndPcmState *ret_to)
{
    int to = vsnd_table_next(&transitions[0][0], STATE_COUNT, EV_COUNT, from, ev);

    if (to < 0) {
        return false;
    }
    if (ret_to) {
        *ret_to = (SndPcmState)to;
    }
    return true;
}

bool vsnd_pcm_transition(SndPcmState from, SndPcmCmd cmd, SndPcmState *ret_to)
{
    /* the guest's part of the table */
    if ((unsigned int)from >= SND_PCM_STATE_MAX || (unsigned int)cmd >= SND_PCM_CMD_MAX) {
        return false;
    }
    return vsnd_pcm_next_state(from, cmd, ret_to);
}

const char *vsnd_pcm_state_name(SndPcmState state)
{
    return (unsigned int)state < STATE_COUNT ? states[state].name : "invalid";
}

const char *vsnd_pcm_cmd_name(SndPcmCmd cmd)
{
    static const char *const names[SND_PCM_CMD_MAX] = {
        "SET_PARAMS", "PREPARE", "RELEASE", "START", "STOP",
    };

    return (unsigned int)cmd < SND_PCM_CMD_MAX ? names[cmd] : "invalid";
}

bool vsnd_pcm_state_open(SndPcmState s)
{
    return (unsigned int)s < STATE_COUNT && states[s].open;
}

SndPcmState vsnd_pcm_state_guest(SndPcmState s)
{
    return (unsigned int)s < STATE_COUNT ? states[s].guest : s;
}

SndPcmState vsnd_pcm_state_shown(SndPcmState s)
{
    return (unsigned int)s < STATE_COUNT ? states[s].shown : s;
}

bool vsnd_stream_event(SndPcmStream *st, unsigned int ev)
{
    SndPcmState to;

    if (!vsnd_pcm_next_state(st->state, ev, &to)) {
        return false;
    }
    st->state = to;
    return true;
}

bool vsnd_stream_walk(SndPcmStream *st, SndPcmState target)
{
    int8_t via[STATE_COUNT], from[STATE_COUNT];
    unsigned int queue[STATE_COUNT], head = 0, tail = 0, path[STATE_COUNT], len = 0;

    if ((unsigned int)target >= STATE_COUNT) {
        return false;
    }
    memset(via, -1, sizeof(via));
    via[st->state] = EV_COUNT; /* the start */
    queue[tail++] = st->state;
    while (head < tail && via[target] < 0) {
        unsigned int s = queue[head++];

        for (unsigned int ev = 0; ev < EV_COUNT; ev++) {
            SndPcmState to;

            if (vsnd_pcm_next_state(s, ev, &to) && via[to] < 0) {
                via[to] = (int8_t)ev;
                from[to] = (int8_t)s;
                queue[tail++] = to;
            }
        }
    }
    if (via[target] < 0) {
        return false;
    }
    for (unsigned int s = target; s != st->state; s = (unsigned int)from[s]) {
        path[len++] = (unsigned int)via[s];
    }
    while (len) {
        vsnd_stream_event(st, path[--len]);
    }
    return true;
}

void vsnd_pcm_update_polling(SndPcm *pcm)
{
    bool on = false;

    for (uint32_t i = 0; i < pcm->n && !on; i++) {
        const SndPcmStream *st = &pcm->streams[i];

        /* Only while running: what the guest queued before START (or
         * before RELEASE) is taken when that control request arrives. */
        on = st->has_params && st->state == SND_PCM_STATE_RUNNING &&
             (st->params.features & (1u << VIRTIO_SND_PCM_F_MSG_POLLING));
    }
    if (on != pcm->polling) {
        pcm->polling = on;
        if (pcm->host->polling) {
            pcm->host->polling(pcm->opaque, on);
        }
    }
}
