/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * snd-pcm.c - PCM stream manager: set-up, queries, the guest's control
 * requests and I/O messages.
 *
 * DOC: Theory of operation
 *
 * The manager's files, one job each; a file calls only files below it
 * (make check-layers finds no circle):
 *   snd-pcm-snapshot.c  a stream as the device state saves it (checks
 *                       parameters with snd-pcm.c's one parameter check)
 *   snd-pcm.c           set-up, queries, SET_PARAMS/PREPARE/RELEASE/
 *                       START/STOP, I/O message intake, volume
 *   snd-pcm-carry.c     a ring's stop and start: carry, give-back, pause
 *   snd-pcm-host.c      the host stream from open to close, capabilities
 *   snd-pcm-pump.c      completion, data to and from the driver, software
 *                       clock, xruns, host errors
 *   snd-pcm-state.c     the one transition table and state writer
 *   snd-pcm-host-end.c  the host end's table and writer, the jack
 *   snd-pcm-stream.h    the structures they share
 *
 * PREPARE opens the host stream, RELEASE completes every pending message
 * of the stream (spec "Stream Release": before the control reply) and
 * closes it.  STOP is a pause: queued playback stays for the next START.
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#define G_LOG_DOMAIN "vsnd-snd"
#include <glib.h>

#include "audio/pcm-format.h"
#include "snd/snd-format.h"
#include "guest-log.h"
#include "snd/snd-pcm-host.h"
#include "snd/snd-pcm-host-end.h"
#include "snd/snd-pcm-pump.h"
#include "snd/snd-pcm-state.h"

SndPcm *vsnd_pcm_new(const VsndDeviceConfig *cfg, VsndAudio *audio, const SndPcmHost *host,
                    void *opaque)
{
    SndPcm *pcm = g_new0(SndPcm, 1);
    uint32_t per_dir[2] = { 0, 0 };

    pcm->cfg = cfg;
    pcm->audio = audio;
    pcm->host = host;
    pcm->opaque = opaque;
    pcm->n = cfg->streams;
    pcm->streams = g_new0(SndPcmStream, pcm->n ? pcm->n : 1);
    for (uint32_t i = 0; i < pcm->n; i++) {
        SndPcmStream *st = &pcm->streams[i];
        const VsndStreamConfig *sc = cfg->stream ? &cfg->stream[i] : NULL;

        st->pcm = pcm;
        st->id = i;
        st->dir = sc ? sc->direction : (i % 2 ? VSND_DIR_INPUT : VSND_DIR_OUTPUT);
        if (st->dir != VSND_DIR_INPUT) {
            st->dir = VSND_DIR_OUTPUT;
        }
        /* The k-th playback and the k-th capture stream share function
         * group k: Linux makes them one PCM device (hw:N,k). */
        st->nid = per_dir[st->dir]++;
        st->target = sc ? sc->target : NULL;
        st->label = g_strdup_printf("%s: %s %u", cfg->name ? cfg->name : "vhost-user-snd",
                                    st->dir == VSND_DIR_OUTPUT ? "playback" : "capture", i);
        st->gain = SND_GAIN_UNITY; /* state: INIT, zeroed */
        st->carry = g_byte_array_new();
        g_queue_init(&st->fifo);
        vsnd_stream_timers_new(st);
        vsnd_stream_caps(pcm, st, sc);
        vsnd_host_end_event(st, HOST_EV_RESET);
    }
    return pcm;
}

void vsnd_pcm_free(SndPcm *pcm)
{
    if (!pcm) {
        return;
    }
    vsnd_pcm_reset(pcm);
    for (uint32_t i = 0; i < pcm->n; i++) {
        g_free(pcm->streams[i].label);
        g_byte_array_unref(pcm->streams[i].carry);
        vsnd_stream_timers_free(&pcm->streams[i]);
    }
    g_free(pcm->streams);
    g_free(pcm);
}

void vsnd_pcm_reset(SndPcm *pcm)
{
    for (uint32_t i = 0; i < pcm->n; i++) {
        SndPcmStream *st = &pcm->streams[i];

        vsnd_stream_discard(st);
        vsnd_stream_close(st, false);
        g_byte_array_set_size(st->carry, 0);
        vsnd_stream_event(st, EV_RESET);
        st->has_params = false;
        memset(&st->params, 0, sizeof(st->params));
        vsnd_host_end_event(st, HOST_EV_RESET);
        st->gain = SND_GAIN_UNITY;
        st->mute = false;
        st->soft_gain = false;
    }
    while (pcm->lingering) {
        vsnd_host_close(pcm, pcm->lingering->data);
    }
    vsnd_pcm_update_polling(pcm);
}

uint32_t vsnd_pcm_count(const SndPcm *pcm)
{
    return pcm->n;
}

void vsnd_pcm_info(const SndPcm *pcm, uint32_t id, struct virtio_snd_pcm_info *ret_info)
{
    const SndPcmStream *st = &pcm->streams[id];

    g_assert(id < pcm->n);
    memset(ret_info, 0, sizeof(*ret_info));
    ret_info->hdr.hda_fn_nid = GUINT32_TO_LE(st->nid);
    ret_info->features = GUINT32_TO_LE(SND_PCM_FEATURES_OFFERED);
    ret_info->formats = GUINT64_TO_LE(st->formats);
    ret_info->rates = GUINT64_TO_LE(st->rates);
    ret_info->direction = st->dir == VSND_DIR_OUTPUT ? VIRTIO_SND_D_OUTPUT : VIRTIO_SND_D_INPUT;
    ret_info->channels_min = st->channels_min;
    ret_info->channels_max = st->channels_max;
}

VsndDirection vsnd_pcm_direction(const SndPcm *pcm, uint32_t id)
{
    g_assert(id < pcm->n);
    return pcm->streams[id].dir;
}

uint32_t vsnd_pcm_nid(const SndPcm *pcm, uint32_t id)
{
    g_assert(id < pcm->n);
    return pcm->streams[id].nid;
}

uint8_t vsnd_pcm_channels_max(const SndPcm *pcm, uint32_t id)
{
    g_assert(id < pcm->n);
    return pcm->streams[id].channels_max;
}

SndPcmState vsnd_pcm_state(const SndPcm *pcm, uint32_t id)
{
    g_assert(id < pcm->n);
    return vsnd_pcm_state_shown(pcm->streams[id].state);
}

bool vsnd_pcm_params(const SndPcm *pcm, uint32_t id, SndPcmParams *ret_params)
{
    g_assert(id < pcm->n);
    if (!pcm->streams[id].has_params) {
        return false;
    }
    *ret_params = pcm->streams[id].params;
    return true;
}

unsigned int vsnd_pcm_pending(const SndPcm *pcm, uint32_t id)
{
    g_assert(id < pcm->n);
    return g_queue_get_length(&pcm->streams[id].fifo);
}

bool vsnd_pcm_connected(const SndPcm *pcm, uint32_t id)
{
    g_assert(id < pcm->n);
    return pcm->streams[id].host_end.connected;
}

/* Bit indices are checked against 64 before any shift. */
uint32_t vsnd_pcm_params_verdict(const SndPcmStream *st, const SndPcmParams *p,
                                 const char **ret_why)
{
    const uint32_t shmem = (1u << VIRTIO_SND_PCM_F_SHMEM_HOST) |
                           (1u << VIRTIO_SND_PCM_F_SHMEM_GUEST);
    unsigned int frame;

    if (p->format >= 64 || p->format >= VSND_PCM_FMT_COUNT) {
        *ret_why = "undefined format";
        return VIRTIO_SND_S_BAD_MSG;
    }
    if (p->rate >= 64 || p->rate >= VSND_PCM_RATE_COUNT) {
        *ret_why = "undefined rate";
        return VIRTIO_SND_S_BAD_MSG;
    }
    if (p->features >> VSND_PCM_F_COUNT) {
        *ret_why = "undefined features";
        return VIRTIO_SND_S_BAD_MSG;
    }
    if ((p->features & shmem) == shmem) {
        *ret_why = "both shared memory features";
        return VIRTIO_SND_S_BAD_MSG;
    }
    if (p->channels == 0) {
        *ret_why = "zero channels";
        return VIRTIO_SND_S_BAD_MSG;
    }
    if (p->period_bytes == 0 || p->buffer_bytes == 0 || p->buffer_bytes % p->period_bytes) {
        *ret_why = "buffer is not a multiple of the period";
        return VIRTIO_SND_S_BAD_MSG;
    }
    frame = vsnd_pcm_frame_bytes(p->format, p->channels);
    if (frame && p->period_bytes % frame) {
        *ret_why = "period is not whole frames";
        return VIRTIO_SND_S_BAD_MSG;
    }
    if (!(st->formats & (1ull << p->format)) || !(st->rates & (1ull << p->rate)) ||
        p->channels < st->channels_min || p->channels > st->channels_max ||
        (p->features & ~SND_PCM_FEATURES_OFFERED) || p->buffer_bytes > SND_PCM_MAX_BUFFER_BYTES) {
        *ret_why = "format, rate, channels, features or buffer size not offered";
        return VIRTIO_SND_S_NOT_SUPP;
    }
    return VIRTIO_SND_S_OK;
}

static uint32_t params_check(const SndPcmStream *st, const SndPcmParams *p)
{
    const char *why = NULL;
    uint32_t status = vsnd_pcm_params_verdict(st, p, &why);

    if (status != VIRTIO_SND_S_OK) {
        vsnd_guest_error("stream %u: SET_PARAMS refused (format %u rate %u channels %u "
                        "features 0x%x buffer %u period %u): %s", st->id, p->format, p->rate,
                        p->channels, p->features, p->buffer_bytes, p->period_bytes, why);
    }
    return status;
}

uint32_t vsnd_pcm_set_params(SndPcm *pcm, const struct virtio_snd_pcm_set_params *req)
{
    uint32_t id = GUINT32_FROM_LE(req->hdr.stream_id);
    SndPcmParams p = {
        .buffer_bytes = GUINT32_FROM_LE(req->buffer_bytes),
        .period_bytes = GUINT32_FROM_LE(req->period_bytes),
        .features = GUINT32_FROM_LE(req->features),
        .channels = req->channels,
        .format = req->format,
        .rate = req->rate,
    };
    SndPcmStream *st;
    uint32_t status;

    if (id >= pcm->n) {
        vsnd_guest_error("SET_PARAMS: stream id %u out of range (%u streams)", id, pcm->n);
        return VIRTIO_SND_S_BAD_MSG;
    }
    st = &pcm->streams[id];
    if (!vsnd_pcm_next_state(st->state, SND_PCM_CMD_SET_PARAMS, NULL)) {
        vsnd_guest_error("stream %u: SET_PARAMS refused in state %s", id,
                        vsnd_pcm_state_name(st->state));
        return VIRTIO_SND_S_BAD_MSG;
    }
    status = params_check(st, &p);
    if (status != VIRTIO_SND_S_OK) {
        return status;
    }
    vsnd_stream_flush(st, VIRTIO_SND_S_IO_ERR);
    vsnd_stream_close(st, false);
    g_byte_array_set_size(st->carry, 0);
    st->params = p;
    st->has_params = true;
    vsnd_stream_event(st, SND_PCM_CMD_SET_PARAMS);
    vsnd_pcm_update_polling(pcm);
    return VIRTIO_SND_S_OK;
}

uint32_t vsnd_pcm_command(SndPcm *pcm, uint32_t id, SndPcmCmd cmd)
{
    SndPcmStream *st;
    int r;

    if (cmd == SND_PCM_CMD_SET_PARAMS || (unsigned int)cmd >= SND_PCM_CMD_MAX) {
        return VIRTIO_SND_S_BAD_MSG;
    }
    if (id >= pcm->n) {
        vsnd_guest_error("%s: stream id %u out of range (%u streams)", vsnd_pcm_cmd_name(cmd), id,
                        pcm->n);
        return VIRTIO_SND_S_BAD_MSG;
    }
    st = &pcm->streams[id];
    if (!vsnd_pcm_next_state(st->state, cmd, NULL)) {
        vsnd_guest_error("stream %u: %s refused in state %s", id, vsnd_pcm_cmd_name(cmd),
                        vsnd_pcm_state_name(st->state));
        return VIRTIO_SND_S_BAD_MSG;
    }
    switch (cmd) {
    case SND_PCM_CMD_PREPARE:
        if (!st->has_params) {
            return VIRTIO_SND_S_BAD_MSG;
        }
        /* Re-prepare: nothing queued so far will play. */
        vsnd_stream_flush(st, VIRTIO_SND_S_IO_ERR);
        g_byte_array_set_size(st->carry, 0);
        if (!st->host && vsnd_stream_open(st) < 0) {
            return VIRTIO_SND_S_IO_ERR;
        }
        break;
    case SND_PCM_CMD_START:
        if (vsnd_host_end_lost(st)) {
            break; /* runs on the software clock */
        }
        r = vsnd_host_end_start(st);
        if (r < 0 && r != -ENOTSUP) {
            g_warning("stream %u: cannot start host stream: %s", id, g_strerror(-r));
            return VIRTIO_SND_S_IO_ERR;
        }
        break;
    case SND_PCM_CMD_STOP:
        vsnd_stream_clock_stop(st);
        vsnd_stream_dry_stop(st);
        st->dry = false;
        g_clear_handle_id(&st->pump_id, g_source_remove);
        r = vsnd_host_end_stop(st);
        if (r < 0 && r != -ENOTSUP) {
            g_warning("stream %u: cannot stop host stream: %s", id, g_strerror(-r));
        }
        break;
    case SND_PCM_CMD_RELEASE:
        /* Spec "Stream Release": every pending message completes first. */
        vsnd_stream_flush(st, VIRTIO_SND_S_IO_ERR);
        g_byte_array_set_size(st->carry, 0);
        /* Linux sends STOP the moment its hw_ptr reaches appl_ptr, that
         * is when the last message completed, and RELEASE right after.
         * A message completes when the host buffer took it, so the last
         * periods are still queued in the paused host stream: resume it,
         * so that the drain plays every frame whose message completed
         * (drivers drop what a stopped stream holds). */
        if (vsnd_pcm_state_shown(st->state) == SND_PCM_STATE_STOPPED &&
            st->dir == VSND_DIR_OUTPUT && st->host && !vsnd_host_end_lost(st) &&
            !vsnd_host_end_started(st)) {
            vsnd_host_end_start(st);
        }
        vsnd_stream_close(st, true);
        break;
    default:
        break;
    }
    vsnd_stream_event(st, cmd);
    if (st->state == SND_PCM_STATE_RUNNING) {
        if (vsnd_host_end_lost(st)) {
            vsnd_stream_clock_start(st);
        } else {
            vsnd_stream_pump(st);
        }
    }
    vsnd_pcm_update_polling(pcm);
    return VIRTIO_SND_S_OK;
}

uint32_t vsnd_pcm_submit(SndPcm *pcm, SndIoMsg *msg)
{
    const char *q = msg->tx ? "tx" : "rx";
    SndPcmStream *st;

    if (msg->stream_id >= pcm->n) {
        vsnd_guest_error("%s: stream id %u out of range (%u streams)", q, msg->stream_id, pcm->n);
        return VIRTIO_SND_S_BAD_MSG;
    }
    st = &pcm->streams[msg->stream_id];
    if (msg->tx != (st->dir == VSND_DIR_OUTPUT)) {
        vsnd_guest_error("%s: stream %u has the other direction", q, st->id);
        return VIRTIO_SND_S_BAD_MSG;
    }
    if (!vsnd_pcm_state_open(st->state)) {
        vsnd_guest_error("%s: stream %u is not prepared (state %s)", q, st->id,
                        vsnd_pcm_state_name(st->state));
        return VIRTIO_SND_S_BAD_MSG;
    }
    if (msg->data_len > st->params.buffer_bytes) {
        vsnd_guest_error("%s: stream %u: message of %zu bytes exceeds the buffer (%u)", q, st->id,
                        msg->data_len, st->params.buffer_bytes);
        return VIRTIO_SND_S_BAD_MSG;
    }
    msg->done = 0;
    g_queue_push_tail(&st->fifo, msg);
    /* A message ends the dry spell; the watch restarts when the FIFO
     * runs empty again. */
    vsnd_stream_dry_stop(st);
    st->dry = false;
    if (st->state == SND_PCM_STATE_RUNNING) {
        if (vsnd_host_end_lost(st)) {
            vsnd_stream_clock_start(st);
        } else {
            vsnd_stream_pump(st);
        }
    }
    return 0;
}

void vsnd_pcm_set_gain(SndPcm *pcm, uint32_t id, uint32_t gain, bool mute)
{
    SndPcmStream *st;

    if (id >= pcm->n) {
        return;
    }
    st = &pcm->streams[id];
    st->gain = MIN(gain, SND_GAIN_UNITY);
    st->mute = mute;
    vsnd_stream_apply_gain(st);
}
