/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * snd-pcm.h - the PCM stream manager.
 *
 * One SndPcm owns every PCM stream of the device: what each stream offers
 * (PCM_INFO), its parameters and state (one transition table), its host
 * stream (audio/registry.h) and its FIFO of pending I/O messages.  It knows
 * nothing about virtqueues: the device layer hands it parsed messages
 * (snd-pcm-io.h) and gets them back through SndPcmHost.complete().
 *
 * Threading: main thread only; host driver events arrive on it too.
 * Sources: the manager adds GLib idle/timeout sources to the thread-default
 * main context (pumping after a driver's ready(), pacing while the host is
 * gone); vsnd_pcm_free() and vsnd_pcm_reset() remove them.
 */
#ifndef VSND_SND_PCM_H
#define VSND_SND_PCM_H

#include <stdbool.h>
#include <stdint.h>

#include "snd/snd-config.h"
#include "audio/registry.h"
#include "snd/snd-proto.h"
#include "snd/snd-pcm-io.h"

/* Stream states (spec: PCM Command Lifecycle). */
typedef enum {
    SND_PCM_STATE_INIT,     /* power-on: no parameters yet */
    SND_PCM_STATE_PARAMS,   /* parameters set */
    SND_PCM_STATE_PREPARED, /* host stream open */
    SND_PCM_STATE_RUNNING,
    SND_PCM_STATE_STOPPED,  /* paused: queued playback kept */
    SND_PCM_STATE_RELEASED, /* host stream closed, parameters kept */
    SND_PCM_STATE_MAX
} SndPcmState;

typedef enum {
    SND_PCM_CMD_SET_PARAMS,
    SND_PCM_CMD_PREPARE,
    SND_PCM_CMD_RELEASE,
    SND_PCM_CMD_START,
    SND_PCM_CMD_STOP,
    SND_PCM_CMD_MAX
} SndPcmCmd;

/* Largest buffer_bytes accepted (Linux asks at most ~4.4 MB: 18 channels
 * of FLOAT64 at 192 kHz for 160 ms). */
#define SND_PCM_MAX_BUFFER_BYTES (8u * 1024 * 1024)

/* PCM features the device offers and implements. */
#define SND_PCM_FEATURES_OFFERED \
    ((1u << VIRTIO_SND_PCM_F_MSG_POLLING) | (1u << VIRTIO_SND_PCM_F_EVT_XRUNS))

/* Parameters as set by PCM_SET_PARAMS (host byte order, validated). */
typedef struct SndPcmParams {
    uint32_t buffer_bytes;
    uint32_t period_bytes;
    uint32_t features;
    uint8_t channels;
    uint8_t format;
    uint8_t rate;
} SndPcmParams;

/* What the device layer provides to the manager. */
typedef struct SndPcmHost {
    /* Write @status/@latency_bytes into @msg, return it to its queue, free
     * @msg and its element.  Called in FIFO order per stream. */
    void (*complete)(void *opaque, SndIoMsg *msg, uint32_t status, uint32_t latency_bytes);
    /* Free @msg and its element without touching guest memory (reset). */
    void (*discard)(void *opaque, SndIoMsg *msg);
    /* Queue the event {@code, @data} for the guest. */
    void (*event)(void *opaque, uint32_t code, uint32_t data);
    /* The host end of @stream_id went away (false) or came back (true). */
    void (*connected)(void *opaque, uint32_t stream_id, bool connected);
    /* Whether some stream now wants its queues polled (MSG_POLLING). */
    void (*polling)(void *opaque, bool on);
    /* Optional.  A queue stops with message @msg still waiting (capture,
     * or playback not touched yet): give its buffer back to the ring
     * unused (it is offered again when the ring restarts, here or on a
     * migration destination) and free @msg.  Return false to have it
     * completed instead (capture: silence; playback: carried). */
    bool (*giveback)(void *opaque, SndIoMsg *msg);
} SndPcmHost;

typedef struct SndPcm SndPcm;

/*
 * vsnd_pcm_transition() - the one PCM transition table.
 * Return: true and *@ret_to when @cmd is allowed in @from, else false.
 */
bool vsnd_pcm_transition(SndPcmState from, SndPcmCmd cmd, SndPcmState *ret_to);
const char *vsnd_pcm_state_name(SndPcmState state);
const char *vsnd_pcm_cmd_name(SndPcmCmd cmd);

/* @cfg, @audio, @host borrowed; they outlive the manager. */
SndPcm *vsnd_pcm_new(const VsndDeviceConfig *cfg, VsndAudio *audio, const SndPcmHost *host,
                    void *opaque);
void vsnd_pcm_free(SndPcm *pcm);
uint32_t vsnd_pcm_count(const SndPcm *pcm);

/* Fill the PCM_INFO entry of stream @id (< count). */
void vsnd_pcm_info(const SndPcm *pcm, uint32_t id, struct virtio_snd_pcm_info *ret_info);
VsndDirection vsnd_pcm_direction(const SndPcm *pcm, uint32_t id);
uint32_t vsnd_pcm_nid(const SndPcm *pcm, uint32_t id);
uint8_t vsnd_pcm_channels_max(const SndPcm *pcm, uint32_t id);
SndPcmState vsnd_pcm_state(const SndPcm *pcm, uint32_t id);
/* Parameters of stream @id; false when none were set. */
bool vsnd_pcm_params(const SndPcm *pcm, uint32_t id, SndPcmParams *ret_params);
/* Pending I/O messages of stream @id. */
unsigned int vsnd_pcm_pending(const SndPcm *pcm, uint32_t id);
/* Whether the host end of stream @id is there. */
bool vsnd_pcm_connected(const SndPcm *pcm, uint32_t id);

/*
 * vsnd_pcm_set_params() - PCM_SET_PARAMS (already copied out of the guest).
 * Return: a VIRTIO_SND_S_* status.
 */
uint32_t vsnd_pcm_set_params(SndPcm *pcm, const struct virtio_snd_pcm_set_params *req);
/*
 * vsnd_pcm_command() - PCM_PREPARE/RELEASE/START/STOP for stream @id.
 * RELEASE completes every pending message of the stream before returning.
 * Return: a VIRTIO_SND_S_* status.
 */
uint32_t vsnd_pcm_command(SndPcm *pcm, uint32_t id, SndPcmCmd cmd);

/*
 * vsnd_pcm_submit() - take an I/O message (valid per vsnd_io_msg_new()).
 * Return: 0 when the manager now owns @msg (it will come back through
 * complete()), else the VIRTIO_SND_S_* status to complete it with now.
 */
uint32_t vsnd_pcm_submit(SndPcm *pcm, SndIoMsg *msg);

/* Volume of stream @id: @gain 0..65536 linear, @mute. */
void vsnd_pcm_set_gain(SndPcm *pcm, uint32_t id, uint32_t gain, bool mute);

/*
 * vsnd_pcm_queue_stopped() - the tx (@dir OUTPUT) or rx queue stops
 * (GET_VRING_BASE: nothing may stay in flight).  Playback: untouched
 * messages, newest first, go back through host->giveback (played and
 * completed after the restart); the unplayed frames of the others are
 * copied into the stream (its "carry", played first when it runs again,
 * here or after a migration) and they complete OK (IO_ERR only when the
 * carry is full and frames are dropped).
 * Capture: pending messages go back through host->giveback, or complete
 * with silence (IO_ERR).  Running streams pause and resume in
 * vsnd_pcm_queue_started().
 */
void vsnd_pcm_queue_stopped(SndPcm *pcm, VsndDirection dir);
void vsnd_pcm_queue_started(SndPcm *pcm, VsndDirection dir);
/* Back to power-on: host streams closed, messages discarded. */
void vsnd_pcm_reset(SndPcm *pcm);

/*
 * Migration and restart (snd-migrate.c).  A snapshot is what the guest can
 * observe of one stream plus the playback audio a queue stop took over
 * (see vsnd_pcm_queue_stopped()): @state is the guest's view (a stream
 * paused by a queue stop reads RUNNING).  @carry is borrowed: from the
 * stream by vsnd_pcm_snapshot(), from the caller by vsnd_pcm_restore().
 */
typedef struct SndPcmSnapshot {
    VsndDirection direction;  /* what the stream is, not what it did */
    SndPcmState state;
    bool has_params;
    SndPcmParams params;
    uint32_t gain;
    bool mute;
    const uint8_t *carry;
    size_t carry_len;
} SndPcmSnapshot;

/* Playback bytes a queue stop may take over per stream (the rest of the
 * held messages completes unplayed, with a warning). */
#define SND_PCM_MAX_CARRY_BYTES (1024u * 1024)
/* All streams' carries together (each gets its share): with the rest of
 * the state they stay below the migration blob's cap. */
#define SND_PCM_CARRY_BUDGET_BYTES (12u * 1024 * 1024)

void vsnd_pcm_snapshot(const SndPcm *pcm, uint32_t id, SndPcmSnapshot *ret);
/* Check an untrusted snapshot for stream @id against this device, beyond
 * the per-field bounds snd-migrate.c's field table checked already: state
 * and parameters agree, parameters against the offered capabilities, the
 * carry against direction, state and buffer.  Return: true, or false with
 * *@ret_why naming the problem.  Changes nothing. */
bool vsnd_pcm_snapshot_valid(const SndPcm *pcm, uint32_t id, const SndPcmSnapshot *snap,
                            const char **ret_why);
/* Replace stream @id by a snapshot that passed vsnd_pcm_snapshot_valid():
 * pending messages discarded, host stream reopened with the snapshot's
 * parameters (a failure leaves the stream on its software clock, as when
 * the host end vanishes); a RUNNING stream comes back paused by its queue
 * and resumes in vsnd_pcm_queue_started(). */
void vsnd_pcm_restore(SndPcm *pcm, uint32_t id, const SndPcmSnapshot *snap);

#endif /* VSND_SND_PCM_H */
