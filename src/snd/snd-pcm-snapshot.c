/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * snd-pcm-snapshot.c - a stream as the device state saves it: snapshot,
 * the checks of an untrusted snapshot beyond its fields' bounds
 * (snd-migrate.c's table), restore.
 */
#include "config.h"

#include <string.h>

#define G_LOG_DOMAIN "vsnd-snd"
#include <glib.h>

#include "snd/snd-format.h"
#include "snd/snd-pcm-host.h"
#include "snd/snd-pcm-host-end.h"
#include "snd/snd-pcm-pump.h"
#include "snd/snd-pcm-state.h"

void vsnd_pcm_snapshot(const SndPcm *pcm, uint32_t id, SndPcmSnapshot *ret)
{
    const SndPcmStream *st;

    g_assert(id < pcm->n);
    st = &pcm->streams[id];
    memset(ret, 0, sizeof(*ret));
    ret->direction = st->dir;
    ret->state = vsnd_pcm_state_guest(st->state);
    ret->has_params = st->has_params;
    ret->params = st->params;
    ret->gain = st->gain;
    ret->mute = st->mute;
    ret->carry = st->carry->data;
    ret->carry_len = st->carry->len;
}

bool vsnd_pcm_snapshot_valid(const SndPcm *pcm, uint32_t id, const SndPcmSnapshot *snap,
                            const char **ret_why)
{
    const SndPcmStream *st;
    const char *why = NULL;

    if (id >= pcm->n) {
        *ret_why = "stream id out of range";
        return false;
    }
    st = &pcm->streams[id];
    if (snap->has_params != (snap->state != SND_PCM_STATE_INIT)) {
        /* Only INIT lacks parameters; every other state was reached
         * through SET_PARAMS and keeps them. */
        *ret_why = "stream state and parameters disagree";
        return false;
    }
    if (snap->has_params && vsnd_pcm_params_verdict(st, &snap->params, &why) != VIRTIO_SND_S_OK) {
        *ret_why = why;
        return false;
    }
    if (!snap->has_params && (snap->params.buffer_bytes || snap->params.period_bytes ||
                              snap->params.channels || snap->params.format ||
                              snap->params.rate || snap->params.features)) {
        *ret_why = "parameters on a stream that has none";
        return false;
    }
    if (snap->carry_len) {
        unsigned int frame = vsnd_pcm_frame_bytes(snap->params.format, snap->params.channels);

        if (st->dir != VSND_DIR_OUTPUT || !vsnd_pcm_state_open(snap->state) ||
            snap->carry_len > MIN(snap->params.buffer_bytes, SND_PCM_MAX_CARRY_BYTES) ||
            (frame && snap->carry_len % frame)) {
            *ret_why = "carried playback impossible for this stream";
            return false;
        }
    }
    return true;
}

void vsnd_pcm_restore(SndPcm *pcm, uint32_t id, const SndPcmSnapshot *snap)
{
    SndPcmStream *st;
    SndPcmState target;

    g_assert(id < pcm->n);
    st = &pcm->streams[id];
    vsnd_stream_discard(st);
    vsnd_stream_close(st, false);
    vsnd_stream_event(st, EV_RESET);
    st->has_params = snap->has_params;
    st->params = snap->params;
    st->gain = snap->gain;
    st->mute = snap->mute;
    st->soft_gain = false;
    g_byte_array_set_size(st->carry, 0);
    g_byte_array_append(st->carry, snap->carry, (guint)snap->carry_len);
    if (vsnd_pcm_state_open(snap->state) && vsnd_stream_open(st) < 0) {
        /* No host stream here: the stream keeps its state and runs on
         * the software clock, the jack says disconnected. */
        vsnd_host_end_event(st, HOST_EV_RESTORE_FAILED);
    }
    /* Every ring is stopped while a state is loaded: the guest's state
     * after its queue stopped (RUNNING is paused, resumed when the ring
     * starts), reached through the table. */
    if (!vsnd_pcm_next_state(snap->state, EV_QUEUE_STOP, &target) ||
        !vsnd_stream_walk(st, target)) {
        g_warning("stream %u: state %s cannot be restored; left at init", id,
                  vsnd_pcm_state_name(snap->state));
    }
    vsnd_pcm_update_polling(pcm);
}
