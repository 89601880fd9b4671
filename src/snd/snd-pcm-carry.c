/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * snd-pcm-carry.c - a ring's stop and start (vsnd_pcm_queue_stopped(),
 * vsnd_pcm_queue_started()): nothing stays in flight across the stop, so
 * played-in-part playback is carried into the stream (played first when
 * it runs again, here or after a migration), untouched messages go back to
 * the ring, running streams pause and resume with their ring.
 */
#include "config.h"

#define G_LOG_DOMAIN "vsnd-snd"
#include <glib.h>

#include "snd/snd-format.h"
#include "guest-log.h"
#include "snd/snd-pcm-host-end.h"
#include "snd/snd-pcm-pump.h"
#include "snd/snd-pcm-state.h"

/* The most a queue stop carries for @st, in whole frames: no more than
 * the guest's buffer (a restore refuses more) and this stream's share of
 * the migration blob, so that every saved state loads. */
static size_t carry_limit(const SndPcmStream *st)
{
    unsigned int frame = vsnd_pcm_frame_bytes(st->params.format, st->params.channels);
    size_t lim = MIN((size_t)st->params.buffer_bytes, (size_t)SND_PCM_MAX_CARRY_BYTES);

    lim = MIN(lim, (size_t)SND_PCM_CARRY_BUDGET_BYTES / st->pcm->n);
    return frame ? lim / frame * frame : lim;
}

/* Playback: take the unplayed frames of every pending message over into
 * the carry (bounded), then complete the messages: OK when all their
 * frames were carried (they are played when the queue starts again),
 * IO_ERR when some had to be dropped. */
static void stream_take_over(SndPcmStream *st)
{
    SndIoMsg *msg;
    size_t lost = 0;
    size_t limit = carry_limit(st);

    /* Untouched messages, newest first, go back to the ring when they
     * are the newest popped: the guest sees them completed only once
     * they are played, after the restart. */
    while (st->pcm->host->giveback && (msg = g_queue_peek_tail(&st->fifo)) && !msg->done) {
        g_queue_pop_tail(&st->fifo);
        if (!st->pcm->host->giveback(st->pcm->opaque, msg)) {
            g_queue_push_tail(&st->fifo, msg);
            break;
        }
    }
    while ((msg = g_queue_pop_head(&st->fifo))) {
        unsigned int cnt = vsnd_io_msg_cursor(msg);
        size_t dropped = 0;

        for (unsigned int i = 0; i < cnt; i++) {
            size_t room = limit - MIN(st->carry->len, limit);
            size_t l = MIN(msg->cursor[i].iov_len, room);

            g_byte_array_append(st->carry, msg->cursor[i].iov_base, (guint)l);
            dropped += msg->cursor[i].iov_len - l;
        }
        lost += dropped;
        msg->done = msg->data_len;
        vsnd_stream_complete(st, msg, dropped ? VIRTIO_SND_S_IO_ERR : VIRTIO_SND_S_OK);
    }
    if (lost) {
        /* more than its buffer: the guest's doing */
        vsnd_guest_error("stream %u: queue stop: %zu queued playback bytes beyond %zu dropped",
                         st->id, lost, limit);
    }
}

/* Capture: hand waiting buffers back to the ring, newest first, or
 * complete them (silence, FIFO order) when the host cannot take them. */
static void stream_give_back(SndPcmStream *st)
{
    SndIoMsg *msg;

    while (st->pcm->host->giveback && (msg = g_queue_pop_tail(&st->fifo))) {
        if (!st->pcm->host->giveback(st->pcm->opaque, msg)) {
            g_queue_push_tail(&st->fifo, msg);
            break;
        }
    }
    vsnd_stream_flush(st, VIRTIO_SND_S_IO_ERR);
}

void vsnd_pcm_queue_stopped(SndPcm *pcm, VsndDirection dir)
{
    for (uint32_t i = 0; i < pcm->n; i++) {
        SndPcmStream *st = &pcm->streams[i];

        if (st->dir != dir) {
            continue;
        }
        if (dir == VSND_DIR_OUTPUT && vsnd_pcm_state_open(st->state)) {
            stream_take_over(st);
        } else if (dir == VSND_DIR_INPUT) {
            stream_give_back(st);
        } else {
            vsnd_stream_flush(st, VIRTIO_SND_S_IO_ERR);
        }
        if (st->state == SND_PCM_STATE_RUNNING) {
            vsnd_stream_clock_stop(st);
            vsnd_stream_dry_stop(st);
            g_clear_handle_id(&st->pump_id, g_source_remove);
            vsnd_host_end_stop(st);
            vsnd_stream_event(st, EV_QUEUE_STOP);
        }
    }
    vsnd_pcm_update_polling(pcm);
}

void vsnd_pcm_queue_started(SndPcm *pcm, VsndDirection dir)
{
    for (uint32_t i = 0; i < pcm->n; i++) {
        SndPcmStream *st = &pcm->streams[i];

        if (st->dir != dir || st->state != STATE_PAUSED) {
            continue;
        }
        if (st->host && !vsnd_host_end_lost(st)) {
            vsnd_host_end_start(st);
        }
        vsnd_stream_event(st, EV_QUEUE_START);
        st->dry = false;
        if (vsnd_host_end_lost(st)) {
            vsnd_stream_clock_start(st);
        } else {
            vsnd_stream_dry_arm(st);
        }
    }
    /* A MSG_POLLING stream is never kicked (Linux): resumed, it must be
     * polled again, or nothing it queues is ever taken. */
    vsnd_pcm_update_polling(pcm);
}
