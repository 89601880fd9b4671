/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * snd-dev.c - the virtio-snd device on top of the vhost-user core.
 *
 * DOC: Theory of operation
 *
 * This file is the queue plumbing; the logic lives in the modules it wires
 * together: snd-ctl (control requests), snd-pcm (streams and I/O), snd-info
 * (jacks, channel maps), snd-kctl (control elements), snd-event (pending
 * events).  Spec "Sound Device": four queues, 0 control, 1 event, 2 tx,
 * 3 rx.
 *
 * - Config space: {jacks, streams, chmaps, controls}.  It is 16 bytes when
 *   VIRTIO_SND_F_CTLS is offered (QEMU controls=on reads 16), else 12; any
 *   range is answered, bytes beyond the config read as zero.  The guest
 *   reads it before the features reach us (QEMU sends SET_FEATURES only at
 *   DRIVER_OK), so the offer, not the negotiation, decides the size.
 * - Control queue: each request is copied out of guest memory, handled
 *   synchronously and answered in the same kick.  The data queues are
 *   polled first, so I/O sent before a RELEASE is completed by it; events
 *   a request raises follow its reply.
 * - Event queue: the guest fills it without kicking (Linux sound/virtio/
 *   virtio_card.c, virtsnd_event_send()); buffers are popped only when an event is pending, events wait in a
 *   bounded queue until a buffer shows up.  Nothing is popped otherwise, so
 *   idle buffers cost nothing.
 * - tx/rx: each chain is parsed into an SndIoMsg (snd-pcm-io) and handed to
 *   the stream manager, which completes it (status + used length) when the
 *   host has consumed or produced its frames.
 * - A queue stop (GET_VRING_BASE) leaves nothing held from that queue:
 *   untouched messages go back to the ring when the core can rewind over
 *   them (tx: vu_queue_unpop_tail(), the newest popped, played and
 *   completed after the restart, which a Linux guest needs to keep
 *   playing after `cont`; rx: vu_queue_unpop(), which says no when a
 *   buffer popped after it completed already),
 *   the rest complete (a tx message's frames move into the stream's
 *   carry, status OK, played later) and running streams pause, which
 *   resume when the queue starts again (polling re-armed for MSG_POLLING
 *   streams); a reset returns to power-on.
 *
 * Lifecycle: pause or guest reset.  QEMU 10.0.2 and 10.2.2 drive
 * vhost-user-snd as a vhost-user-base device and never send SET_STATUS(0)
 * or DRIVER_OK to it (recorded in tests/data/qemu-sequences/): `stop` is
 * SET_VRING_ENABLE(0) x4 + GET_VRING_BASE x4, `cont` restarts the rings at
 * the same addresses and bases, and a guest reset (system_reset, reboot)
 * is the same stop followed by rings at new addresses with base 0 and a
 * guest that probes again.  Newer QEMU may add SET_STATUS(0) to every
 * stop.  So neither a ring stop nor SET_STATUS(0) says "reset"; the
 * device keeps everything the guest can observe (stream states and
 * parameters, carried playback, control values, jack remaps, pending
 * events) across the stop and decides when the first ring starts again
 * (restart_decide()):
 *   - the ring comes back with zero indices at another address, or the
 *     control ring (always used once the guest probed) comes back at
 *     index 0: the guest re-created its rings, it re-initialises; the
 *     device resets completely (guest_reinit()), a parked state is
 *     dropped;
 *   - the ring resumes at non-zero indices where it stopped: a pause;
 *     if SET_STATUS(0) reset the device in between, the state it parked
 *     is restored (the guest never saw that reset).
 *   RESET_DEVICE is a real reset: nothing is parked and nothing is
 *   restored.  RESET_OWNER (deprecated) only disables the rings.
 * - Broken: a device-readable event buffer is a corrupt event queue
 *   (vu_dev_set_broken(), NEEDS_RESET) until the next reset.
 *
 * State for migration (snd-migrate.c): everything the guest can observe
 * lives in SndPcm (per stream: state, parameters, gain, playback carried
 * over a queue stop), SndInfo (jack remaps; connection follows the host),
 * SndKctl (control values) and the event queue.  Nothing is in flight once
 * every ring is stopped: a stop gives the waiting buffers back to the ring
 * when they are the newest popped and completes the others (a tx
 * message's frames move into the stream's carry), so no element
 * bookkeeping needs saving.  SET_DEVICE_STATE_FD is refused unless
 * the device is suspended.  A SET_STATUS(0) of a stopped device (newer
 * QEMU after GET_VRING_BASE) parks the state for a SAVE that may follow
 * and for a pause that resumes (see Lifecycle).  With --state-file the
 * state is also written when a control request or reset changed it
 * (coalesced, by the writer thread of snd-state-writer.c), and loaded when the first ring of a new
 * connection starts, only if that front-end handed back the inflight
 * region a previous back-end set up (vu_dev_inflight_handed_back(): a
 * running VM reconnecting, never a fresh VM): the restart continuity of
 * snd-migrate.c.
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#define G_LOG_DOMAIN "vsnd-snd"
#include <glib.h>

#include "snd/snd-ctl.h"
#include "snd/snd-dev.h"
#include "snd/snd-event.h"
#include "snd/snd-info.h"
#include "snd/snd-kctl.h"
#include "guest-log.h"
#include "snd/snd-migrate.h"
#include "snd/snd-state-writer.h"
#include "snd/snd-pcm.h"

/* virtio: VIRTIO_F_RING_PACKED. */
#define SND_F_RING_PACKED 34
/* Spec "Sound Device": control, event, tx, rx. */
#define SND_NUM_VQ 4

struct SndDev {
    const VsndDeviceConfig *cfg;
    VsndAudio *audio;
    VuDev *dev;
    SndPcm *pcm;
    SndInfo *info;
    SndKctl *kctl;
    SndEventQueue *events;
    bool in_request; /* events raised by a control request wait for its reply */
    bool peer_gone;  /* reset because the front-end closed the connection */
    /* Device-state transfer (snd-migrate.c): the current one, if any. */
    SndMigrateXfer *xfer;
    bool restart_checked;  /* state file looked at on this connection */
    /* State parked by SET_STATUS(0) of a stopped device (newer QEMU may
     * send it after GET_VRING_BASE on every vhost stop, migration
     * included): what a SAVE sends until a ring starts again; restored
     * when the rings resume (a pause, a failed migration), dropped when
     * the guest re-creates them (restart_decide()). */
    GBytes *parked;
    /* Pause or guest reset (see "Lifecycle" above): a ring stopped since
     * the last decision, and where each ring was when it stopped. */
    /* What the state file holds, as this process last posted it, and its
     * writer thread (NULL without --state-file). */
    GBytes *state_written;
    SndStateWriter *state_writer;
    bool restart_pending;
    uint64_t stopped_addr[SND_NUM_VQ];
    bool stopped_known[SND_NUM_VQ];
};

static SndDev *dev_snd(VuDev *dev)
{
    return vu_dev_opaque(dev);
}

static bool ctls_negotiated(const SndDev *snd)
{
    return snd->dev && snd->kctl && vu_dev_has_feature(snd->dev, VIRTIO_SND_F_CTLS);
}

static uint64_t vsnd_offered(const SndDev *snd)
{
    return snd->cfg->controls ? 1ull << VIRTIO_SND_F_CTLS : 0;
}

/* Every stream as at power-on (nothing to carry on). */
static bool at_power_on(const SndDev *snd)
{
    for (uint32_t i = 0; i < vsnd_pcm_count(snd->pcm); i++) {
        if (vsnd_pcm_state(snd->pcm, i) != SND_PCM_STATE_INIT) {
            return false;
        }
    }
    return true;
}

static SndMigrateDev migrate_dev(SndDev *snd)
{
    SndMigrateDev d = {
        .pcm = snd->pcm,
        .info = snd->info,
        .kctl = snd->kctl,
        .events = snd->events,
        .features = snd->dev ? vu_dev_features(snd->dev) : 0,
        .offered = vsnd_offered(snd),
    };

    return d;
}

/* Restart continuity: the state as of now, in the state file. */
static void state_file_update(SndDev *snd)
{
    const char *path = snd->cfg->state_file;
    SndMigrateDev d;
    g_autoptr(GBytes) blob = NULL;

    if (!path) {
        return;
    }
    d = migrate_dev(snd);
    blob = vsnd_migrate_save(&d);
    if (snd->state_written && g_bytes_equal(blob, snd->state_written)) {
        return; /* unchanged (read-only requests, repeated resets) */
    }
    /* fsync has no place on the thread that paces audio */
    if (!snd->state_writer) {
        snd->state_writer = vsnd_state_writer_new(path, SND_STATE_WRITE_DELAY_MS);
    }
    vsnd_state_writer_post(snd->state_writer, blob);
    g_clear_pointer(&snd->state_written, g_bytes_unref);
    snd->state_written = g_steal_pointer(&blob);
}

/* ---- event queue ----------------------------------------------------------- */

static void flush_events(SndDev *snd)
{
    VuDev *dev = snd->dev;
    struct virtio_snd_event ev;
    VuVirtq *vq;
    bool pushed = false;

    if (!dev || vu_dev_suspended(dev) || vu_dev_broken(dev)) {
        return;
    }
    vq = vu_dev_queue(dev, VSND_VQ_EVENT);
    if (!vq || !vu_queue_ready(vq)) {
        return;
    }
    while (vsnd_event_queue_peek(snd->events, &ev)) {
        VuVirtqElement *elem = vu_queue_pop(dev, vq);
        size_t in_len;

        if (!elem) {
            break;
        }
        if (elem->out_num) {
            vu_elem_free(elem);
            vu_dev_set_broken(dev, "event queue: device-readable buffer");
            return;
        }
        in_len = vu_iov_size(elem->in_sg, elem->in_num);
        if (in_len < sizeof(ev)) {
            vsnd_guest_error("event queue: buffer of %zu bytes", in_len);
            vu_queue_push(dev, vq, elem, 0);
        } else {
            vu_iov_from_buf(elem->in_sg, elem->in_num, 0, &ev, sizeof(ev));
            vu_queue_push(dev, vq, elem, sizeof(ev));
            vsnd_event_queue_pop(snd->events);
        }
        vu_elem_free(elem);
        pushed = true;
    }
    if (pushed) {
        vu_queue_notify(dev, vq);
    }
}

static void send_event(SndDev *snd, uint32_t code, uint32_t data)
{
    struct virtio_snd_event ev;

    vsnd_event_make(&ev, code, data);
    vsnd_event_queue_push(snd->events, &ev);
    if (!snd->in_request) {
        flush_events(snd);
    }
}

/* ---- stream manager host ----------------------------------------------------- */

static void io_complete(void *opaque, SndIoMsg *msg, uint32_t status, uint32_t latency)
{
    SndDev *snd = opaque;
    VuVirtqElement *elem = msg->elem;
    size_t len = vsnd_io_msg_finish(msg, status, latency);

    if (snd->dev && elem) {
        VuVirtq *vq = vu_dev_queue(snd->dev, msg->tx ? VSND_VQ_TX : VSND_VQ_RX);

        vu_queue_push(snd->dev, vq, elem, (uint32_t)len);
        vu_queue_notify(snd->dev, vq);
    }
    vu_elem_free(elem);
    vsnd_io_msg_free(msg);
}

static void io_discard(void *opaque, SndIoMsg *msg)
{
    SndDev *snd = opaque;

    /* Reset: the element is forgotten, never returned to the guest. */
    if (snd->dev && msg->elem && !snd->peer_gone) {
        /* (When the front-end went away the element stays recorded in
         * the inflight region: its reconnection resubmits it.) */
        vu_queue_detach(snd->dev, vu_dev_queue(snd->dev, msg->tx ? VSND_VQ_TX : VSND_VQ_RX),
                        msg->elem);
    }
    vu_elem_free(msg->elem);
    vsnd_io_msg_free(msg);
}

static void pcm_event(void *opaque, uint32_t code, uint32_t data)
{
    send_event(opaque, code, data);
}

static void pcm_connected(void *opaque, uint32_t stream, bool connected)
{
    SndDev *snd = opaque;

    for (uint32_t j = 0; j < vsnd_info_jacks(snd->info); j++) {
        if (vsnd_info_jack_stream(snd->info, j) == stream) {
            send_event(snd, connected ? VIRTIO_SND_EVT_JACK_CONNECTED
                                      : VIRTIO_SND_EVT_JACK_DISCONNECTED, j);
        }
    }
}

static void handle_io_both(SndDev *snd);

/* A stream with MSG_POLLING runs: Linux kicks tx and rx no more, so the
 * core looks at both rings every poll interval and reports what it finds
 * as a kick. */
static void pcm_polling(void *opaque, bool on)
{
    SndDev *snd = opaque;

    if (!snd->dev) {
        return;
    }
    vu_queue_set_polling(snd->dev, vu_dev_queue(snd->dev, VSND_VQ_TX), on);
    vu_queue_set_polling(snd->dev, vu_dev_queue(snd->dev, VSND_VQ_RX), on);
}

/* A queue stop: give a waiting buffer back to the ring.  Only possible
 * when no buffer popped after it was completed (the core, which knows the
 * pop order, rewinds the avail index over them or says no). */
static bool io_giveback(void *opaque, SndIoMsg *msg)
{
    SndDev *snd = opaque;
    VuVirtqElement *elem = msg->elem;

    if (!snd->dev || !elem) {
        return false;
    }
    if (msg->tx) {
        /* Playback not played yet: back to the ring, played after the
         * restart (here or on a migration destination) and completed
         * then, as QEMU's built-in device does across a pause. */
        if (!vu_queue_unpop_tail(snd->dev, vu_dev_queue(snd->dev, VSND_VQ_TX), elem)) {
            return false;
        }
        vu_elem_free(elem);
        vsnd_io_msg_free(msg);
        return true;
    }
    if (msg->done) {
        /* Partly filled (a host driver that delivers less than a period at
         * a time): it completes now with the frames it holds and silence
         * after them; given back, those captured frames would be lost. */
        return false;
    }
    if (!vu_queue_unpop(snd->dev, vu_dev_queue(snd->dev, VSND_VQ_RX), elem)) {
        return false;
    }
    vu_elem_free(elem);
    vsnd_io_msg_free(msg);
    return true;
}

static const SndPcmHost pcm_host = {
    .complete = io_complete,
    .discard = io_discard,
    .event = pcm_event,
    .connected = pcm_connected,
    .polling = pcm_polling,
    .giveback = io_giveback,
};

static void kctl_notify(void *opaque, uint32_t control_id, uint32_t mask)
{
    SndDev *snd = opaque;

    if (ctls_negotiated(snd)) {
        send_event(snd, VIRTIO_SND_EVT_CTL_NOTIFY, (control_id & 0xffff) | (mask << 16));
    }
}

/* ---- queues ---------------------------------------------------------------- */

static void handle_ctl(SndDev *snd)
{
    VuDev *dev = snd->dev;
    VuVirtq *vq = vu_dev_queue(dev, VSND_VQ_CONTROL);
    VuVirtqElement *elem;

    while ((elem = vu_queue_pop(dev, vq))) { /* none once the device is broken */
        size_t out_len = vu_iov_size(elem->out_sg, elem->out_num);
        size_t in_len = vu_iov_size(elem->in_sg, elem->in_num);
        size_t req_len = MIN(out_len, SND_CTL_MAX_REQUEST);
        size_t resp_cap = MIN(in_len, SND_CTL_MAX_RESPONSE);
        g_autofree uint8_t *req = g_malloc0(MAX(req_len, 1));
        g_autofree uint8_t *resp = g_malloc0(MAX(resp_cap, 1));
        SndCtlCtx ctx = {
            .pcm = snd->pcm,
            .info = snd->info,
            .kctl = snd->kctl,
            .ctls = ctls_negotiated(snd),
        };
        size_t used;

        /* I/O the guest queued before this request is taken first, so a
         * RELEASE sees (and completes) every message sent before it even
         * when the data queue's kick has not been dispatched yet. */
        handle_io_both(snd);
        /* Copy out of guest memory first; only the copy is looked at. */
        req_len = vu_iov_to_buf(elem->out_sg, elem->out_num, 0, req, req_len);
        snd->in_request = true;
        used = vsnd_ctl_handle(&ctx, req, req_len, resp, resp_cap);
        snd->in_request = false;
        used = vu_iov_from_buf(elem->in_sg, elem->in_num, 0, resp, used);
        vu_queue_push(dev, vq, elem, (uint32_t)used);
        vu_elem_free(elem);
        vu_queue_notify(dev, vq);
        flush_events(snd);
        state_file_update(snd);
    }
}

/* The tx ring is started but disabled (vhost-user.rst "Ring states": the
 * ring is processed "without causing any side effects", as a network
 * device discards TX): what the guest queues since the disable completes
 * at once, unplayed, and no stream sees it. */
static void discard_tx(SndDev *snd, VuVirtq *vq)
{
    VuDev *dev = snd->dev;
    VuVirtqElement *elem;
    unsigned int n = 0;

    while ((elem = vu_queue_pop_disabled(dev, vq))) {
        const char *error = NULL;
        SndIoMsg *msg = vsnd_io_msg_new(true, elem->out_sg, elem->out_num, elem->in_sg,
                                       elem->in_num, &error);

        msg->elem = elem;
        io_complete(snd, msg, msg->valid ? VIRTIO_SND_S_OK : VIRTIO_SND_S_BAD_MSG, 0);
        n++;
    }
    if (n) {
        g_debug("tx ring disabled: %u message(s) consumed unplayed", n);
    }
}

static void handle_io(SndDev *snd, VuVirtq *vq, unsigned int qidx)
{
    VuDev *dev = snd->dev;
    bool tx = qidx == VSND_VQ_TX;
    VuQueueState state = VU_QUEUE_STOPPED;
    /* State and first chain in one call into the ring code: the walk of a
     * buffer from kick to driver enters each file at most twice. */
    VuVirtqElement *elem = vq ? vu_queue_pop_state(dev, vq, &state) : NULL;

    if (state == VU_QUEUE_DISABLED && tx) {
        /* (A disabled rx ring supplies nothing: its buffers wait.) */
        discard_tx(snd, vq);
    }
    for (; elem; elem = vu_queue_pop(dev, vq)) { /* none once the device is broken */
        const char *error = NULL;
        SndIoMsg *msg = vsnd_io_msg_new(tx, elem->out_sg, elem->out_num, elem->in_sg,
                                       elem->in_num, &error);
        uint32_t status;

        msg->elem = elem;
        if (!msg->valid) {
            vsnd_guest_error("%s: %s", tx ? "tx" : "rx", error);
            status = VIRTIO_SND_S_BAD_MSG;
        } else {
            status = vsnd_pcm_submit(snd->pcm, msg);
        }
        if (status) {
            io_complete(snd, msg, status, 0);
        }
    }
}

/* Both PCM rings, looked up by index (a poll or a decision, not a kick) */
static void handle_io_both(SndDev *snd)
{
    handle_io(snd, vu_dev_queue(snd->dev, VSND_VQ_TX), VSND_VQ_TX);
    handle_io(snd, vu_dev_queue(snd->dev, VSND_VQ_RX), VSND_VQ_RX);
}

/* ---- VuDevIface -------------------------------------------------------------- */

static uint64_t vsnd_get_features(VuDev *dev)
{
    return vsnd_offered(dev_snd(dev));
}

static void vsnd_set_features(VuDev *dev, uint64_t features)
{
    g_debug("features acked: 0x%" G_GINT64_MODIFIER "x", features);
}

static int vsnd_get_config(VuDev *dev, uint8_t *config, uint32_t offset, uint32_t len)
{
    SndDev *snd = dev_snd(dev);
    struct vsnd_snd_config c = {
        .jacks = GUINT32_TO_LE(vsnd_info_jacks(snd->info)),
        .streams = GUINT32_TO_LE(vsnd_pcm_count(snd->pcm)),
        .chmaps = GUINT32_TO_LE(vsnd_info_chmaps(snd->info)),
        .controls = GUINT32_TO_LE(snd->kctl ? vsnd_kctl_count(snd->kctl) : 0),
    };
    uint64_t size = snd->cfg->controls ? sizeof(c) : VSND_CONFIG_SIZE_NO_CTLS;

    for (uint64_t i = 0; i < len; i++) {
        uint64_t at = (uint64_t)offset + i;

        config[i] = at < size ? ((const uint8_t *)&c)[at] : 0;
    }
    return 0;
}

static void vsnd_queue_kick(VuDev *dev, void *opaque, VuVirtq *vq, int qidx)
{
    SndDev *snd = opaque;

    (void)dev;
    /* A started but disabled ring is processed without side effects:
     * playback is consumed unplayed (handle_io()); control requests,
     * event buffers and capture buffers wait for the enable, since
     * answering them would act for the guest or supply it data. */
    switch (qidx) {
    case VSND_VQ_CONTROL:
        handle_ctl(snd);
        break;
    case VSND_VQ_EVENT:
        flush_events(snd);
        break;
    case VSND_VQ_TX:
    case VSND_VQ_RX:
        handle_io(snd, vq, (unsigned int)qidx);
        break;
    default:
        break;
    }
}

/* Restart continuity: a new connection of a front-end that keeps the
 * inflight region (so it is resuming a guest, not booting one) gets the
 * state the previous back-end left in the state file, before the first
 * resubmitted message is looked at. */
static void restart_restore(SndDev *snd)
{
    const char *path = snd->cfg->state_file;
    g_autoptr(GBytes) blob = NULL;
    g_autoptr(GError) error = NULL;
    SndMigrateDev d;

    if (!path || !snd->dev || !vu_dev_inflight_handed_back(snd->dev)) {
        /* Only a front-end that hands back the inflight region a previous
         * back-end set up is resuming a running VM; a fresh VM (its own
         * new region, or none) never meets an old state. */
        return;
    }
    if (!at_power_on(snd)) {
        return; /* not a fresh device */
    }
    if (snd->state_writer) {
        vsnd_state_writer_flush(snd->state_writer); /* what this process wrote last */
    }
    blob = vsnd_migrate_file_read(path);
    if (!blob) {
        return;
    }
    d = migrate_dev(snd);
    if (!vsnd_migrate_load(&d, g_bytes_get_data(blob, NULL), g_bytes_get_size(blob), &error)) {
        g_warning("state file %s not restored: %s", path, error->message);
        return;
    }
    g_info("stream state restored from %s", path);
}

/* The ring's indices are those of a ring the driver just created. */
static bool ring_fresh(SndDev *snd, VuVirtq *vq)
{
    uint32_t base = vu_queue_base(vq);

    if (vu_dev_has_feature(snd->dev, SND_F_RING_PACKED)) {
        return (base & 0x7fff7fffu) == 0; /* wrap counters start at 1 */
    }
    return (base & 0xffffu) == 0;
}

/* Everything the guest can observe back to power-on: streams, jacks and
 * channel maps, control values, undelivered events, the polling timer. */
static void reset_guest_visible(SndDev *snd)
{
    vsnd_pcm_reset(snd->pcm);
    vsnd_info_reset(snd->info);
    if (snd->kctl) {
        vsnd_kctl_reset(snd->kctl);
    }
    vsnd_event_queue_clear(snd->events);
    pcm_polling(snd, false);
}

/* Forget everything the guest set up: it re-initialises the device. */
static void guest_reinit(SndDev *snd)
{
    g_clear_pointer(&snd->parked, g_bytes_unref);
    if (at_power_on(snd)) {
        return;
    }
    g_info("the guest re-initialises the device: every stream back to power-on");
    reset_guest_visible(snd);
    state_file_update(snd);
}

/* A ring starts after a stop: pause (the guest resumes) or guest reset
 * (it re-initialises); see "Lifecycle" in the comment at the top. */
static void restart_decide(SndDev *snd, int qidx)
{
    VuVirtq *vq = vu_dev_queue(snd->dev, (unsigned int)qidx);
    bool known = qidx < SND_NUM_VQ && snd->stopped_known[qidx];
    bool moved = known && vu_queue_desc_addr(vq) != snd->stopped_addr[qidx];
    bool fresh = ring_fresh(snd, vq);

    if (fresh && (moved || qidx == VSND_VQ_CONTROL)) {
        /* A new ring (or the control ring, which the guest always used
         * before a pause, back at index 0). */
        snd->restart_pending = false;
        guest_reinit(snd);
    } else if (!fresh && known) {
        /* The same ring resumes where it stopped: a pause. */
        snd->restart_pending = false;
        if (snd->parked && at_power_on(snd)) {
            /* Reset by SET_STATUS(0) after the stop (newer QEMU, or a
             * migration that did not happen): the guest never saw it. */
            g_autoptr(GBytes) parked = g_steal_pointer(&snd->parked);
            SndMigrateDev d = migrate_dev(snd);
            g_autoptr(GError) error = NULL;

            if (!vsnd_migrate_load(&d, g_bytes_get_data(parked, NULL),
                                  g_bytes_get_size(parked), &error)) {
                g_warning("parked state not restored: %s", error->message);
            }
        }
        g_clear_pointer(&snd->parked, g_bytes_unref);
    }
}

static void vsnd_queue_set_started(VuDev *dev, int qidx, bool started)
{
    SndDev *snd = dev_snd(dev);

    g_debug("queue %d %s (base 0x%x)", qidx, started ? "started" : "stopped",
            vu_queue_base(vu_dev_queue(dev, (unsigned int)qidx)));
    if (!started && qidx >= 0 && qidx < SND_NUM_VQ) {
        snd->restart_pending = true;
        snd->stopped_addr[qidx] = vu_queue_desc_addr(vu_dev_queue(dev, (unsigned int)qidx));
        snd->stopped_known[qidx] = true;
    }
    if (started && snd->restart_pending) {
        restart_decide(snd, qidx);
    }
    if (started && !snd->restart_checked) {
        snd->restart_checked = true;
        restart_restore(snd);
    }
    if (qidx == VSND_VQ_TX || qidx == VSND_VQ_RX) {
        VsndDirection dir = qidx == VSND_VQ_TX ? VSND_DIR_OUTPUT : VSND_DIR_INPUT;

        if (started) {
            vsnd_pcm_queue_started(snd->pcm, dir);
        } else {
            vsnd_pcm_queue_stopped(snd->pcm, dir);
        }
    }
    if (started) {
        vsnd_queue_kick(dev, snd, vu_dev_queue(dev, (unsigned int)qidx), qidx);
    }
}

static void vsnd_suspend(VuDev *dev, bool suspended)
{
    SndDev *snd = dev_snd(dev);

    g_debug("device %s", suspended ? "suspended" : "resumed");
    if (!suspended) {
        flush_events(snd);
    }
}

static void vsnd_reset(VuDev *dev, VuResetReason why)
{
    SndDev *snd = dev_snd(dev);

    g_debug("device reset (%s)", why == VU_RESET_STATUS       ? "SET_STATUS(0)"
                                 : why == VU_RESET_DEVICE     ? "RESET_DEVICE"
                                 : why == VU_RESET_DISCONNECT ? "front-end gone"
                                                              : "connection dropped");
    /* Only a front-end that closed the connection may come back with the
     * inflight region and this state (a reconnect); any other reset is one
     * the guest or the front-end asked for, or we ended the connection. */
    snd->peer_gone = why == VU_RESET_DISCONNECT;
    g_clear_pointer(&snd->parked, g_bytes_unref);
    if (why != VU_RESET_STATUS) {
        /* RESET_DEVICE (or the connection's end): a real reset, no ring
         * comes back to resume; nothing is parked. */
        snd->restart_pending = false;
        memset(snd->stopped_known, 0, sizeof(snd->stopped_known));
    } else if (!at_power_on(snd)) {
        SndMigrateDev d = migrate_dev(snd);

        snd->parked = vsnd_migrate_save(&d);
    }
    reset_guest_visible(snd);
    g_clear_pointer(&snd->xfer, vsnd_migrate_xfer_free);
    if (!snd->peer_gone) {
        /* A virtio reset the front-end asked for: the state file follows.
         * When the front-end went away instead, the state stays for its
         * reconnection. */
        state_file_update(snd);
    }
    snd->peer_gone = false;
}

static int state_loaded(void *opaque, GBytes *blob)
{
    SndDev *snd = opaque;
    g_autoptr(GError) error = NULL;
    SndMigrateDev d = migrate_dev(snd);

    if (!snd->dev || !vu_dev_suspended(snd->dev)) {
        g_warning("device state: a ring started during the load; refused");
        return -EBUSY;
    }
    if (!vsnd_migrate_load(&d, g_bytes_get_data(blob, NULL), g_bytes_get_size(blob), &error)) {
        g_warning("%s", error->message);
        return -EINVAL;
    }
    g_info("device state loaded (%zu bytes)", g_bytes_get_size(blob));
    state_file_update(snd);
    return 0;
}

static int vsnd_set_device_state_fd(VuDev *dev, int direction, int phase, int fd, int *reply_fd)
{
    SndDev *snd = dev_snd(dev);

    *reply_fd = -1;
    g_clear_pointer(&snd->xfer, vsnd_migrate_xfer_free);
    if (phase != VU_TRANSFER_STATE_PHASE_STOPPED || !vu_dev_suspended(dev)) {
        /* Only a suspended device has a state that holds still. */
        g_warning("device state transfer refused: %s",
                  phase != VU_TRANSFER_STATE_PHASE_STOPPED ? "unknown phase"
                                                           : "rings are running");
        if (fd >= 0) {
            close(fd);
        }
        return -EBUSY;
    }
    if (direction == VU_TRANSFER_STATE_DIRECTION_SAVE) {
        SndMigrateDev d = migrate_dev(snd);
        g_autoptr(GBytes) blob = NULL;

        if (snd->parked && at_power_on(snd)) {
            /* Stopped, then reset by SET_STATUS(0): the state is the one
             * the stop left. */
            blob = g_bytes_ref(snd->parked);
        } else {
            blob = vsnd_migrate_save(&d);
        }

        g_debug("device state: saving %zu bytes", g_bytes_get_size(blob));
        snd->xfer = vsnd_migrate_xfer_save(fd, blob);
    } else {
        g_clear_pointer(&snd->parked, g_bytes_unref);
        snd->xfer = vsnd_migrate_xfer_load(fd, state_loaded, snd);
    }
    return 0;
}

static int vsnd_check_device_state(VuDev *dev)
{
    SndDev *snd = dev_snd(dev);
    int r;

    if (!snd->xfer) {
        return -ENOENT;
    }
    r = vsnd_migrate_xfer_result(snd->xfer);
    g_clear_pointer(&snd->xfer, vsnd_migrate_xfer_free);
    return r;
}

static const VuDevIface vsnd_iface = {
    .get_features = vsnd_get_features,
    .set_features = vsnd_set_features,
    .get_config = vsnd_get_config,
    .queue_kick = vsnd_queue_kick,
    .queue_set_started = vsnd_queue_set_started,
    .suspend = vsnd_suspend,
    .reset = vsnd_reset,
    .set_device_state_fd = vsnd_set_device_state_fd,
    .check_device_state = vsnd_check_device_state,
};

/* ---- entry points ------------------------------------------------------------ */

SndDev *vsnd_dev_new(const VsndDeviceConfig *cfg, VsndAudio *audio)
{
    SndDev *snd = g_new0(SndDev, 1);

    snd->cfg = cfg;
    snd->audio = audio;
    snd->events = vsnd_event_queue_new();
    snd->pcm = vsnd_pcm_new(cfg, audio, &pcm_host, snd);
    snd->info = vsnd_info_new(cfg, snd->pcm);
    if (cfg->controls) {
        snd->kctl = vsnd_kctl_new(snd->pcm, kctl_notify, snd);
    }
    return snd;
}

void vsnd_dev_free(SndDev *snd)
{
    if (!snd) {
        return;
    }
    /* The VuDev is gone already (vu_dev_free() resets the device first). */
    snd->dev = NULL;
    g_clear_pointer(&snd->xfer, vsnd_migrate_xfer_free);
    g_clear_pointer(&snd->parked, g_bytes_unref);
    g_clear_pointer(&snd->state_written, g_bytes_unref);
    g_clear_pointer(&snd->state_writer, vsnd_state_writer_free); /* writes what is pending */
    vsnd_kctl_free(snd->kctl);
    vsnd_info_free(snd->info);
    vsnd_pcm_free(snd->pcm);
    vsnd_event_queue_free(snd->events);
    g_free(snd);
}

const VuDevIface *vsnd_dev_vu_iface(void)
{
    return &vsnd_iface;
}

void vsnd_dev_attach(SndDev *snd, VuDev *dev)
{
    snd->dev = dev;
}
