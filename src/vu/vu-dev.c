/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vu-dev.c - the vhost-user back-end protocol state machine.
 *
 * DOC: Theory of operation (vhost-user.rst: "Communication", "Ring
 * states", "Suspended device state", "Multiple queue support",
 * "Migration", "Migrating back-end state", "Inflight I/O tracking",
 * "REPLY_ACK", and the front-end message types it lists):
 *
 * vu_dev_dispatch() reads one message (vu-msg.c), checks it against the
 * single validation table, and calls the handler from vu_handlers[].  A
 * handler returns 0 (done), VU_REPLY (it filled an explicit reply), a
 * negative errno (the request failed: answered with a non-zero ack when
 * the front-end set need_reply, the connection stays), or -EPROTO (the
 * message is malformed: the connection is dropped, all fds closed).
 * Unknown requests are answered with an error ack when need_reply is set
 * and otherwise ignored.  REPLY_ACK is honoured on every request without
 * an explicit reply.
 *
 * Ring states follow the current spec: started/stopped and
 * enabled/disabled are independent; SET_VRING_KICK starts a ring (so the
 * sound event queue, filled without a kick, is seen), GET_VRING_BASE
 * stops it after letting the device return its buffers
 * (iface->queue_set_started(false)) and answers the index (split: next
 * avail index; packed: avail index | avail wrap << 15 | used index << 16
 * | used wrap << 31); SET_FEATURES without PROTOCOL_FEATURES enables all
 * rings.  A started but disabled ring is processed "without causing any
 * side effects": its kicks reach the device, which takes what the guest
 * queued since the disable through vu_queue_pop_disabled() (what was
 * queued before belongs to the enabled state: SET_VRING_ENABLE(0) first
 * lets the device take it as enabled, and a ring started disabled keeps
 * what it holds for the enable).  With every ring stopped the device is
 * suspended: pushes,
 * notifications and event-suppression writes are no-ops, messages are
 * still answered.
 *
 * A corrupt ring marks the device broken (vu_dev_set_broken): no more
 * pops until a reset (RESET_DEVICE, SET_STATUS(0)), and
 * GET_STATUS reports DEVICE_NEEDS_RESET.  Device-state transfer
 * (SET_DEVICE_STATE_FD / CHECK_DEVICE_STATE) is delegated to the device
 * hooks; the content of the state is the device's business.
 */
#include "config.h"

#define G_LOG_DOMAIN "vsnd-vu"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <string.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <linux/vhost_types.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>

#include "vu-int.h"

/* The connection: only this file sees it.  The rings (vu-virtq.c,
 * vu-inflight.c) work over its VuRingShared and report through VuRingHost. */
struct VuDev {
    int sock;
    unsigned int num_queues;
    unsigned int max_queue_size;
    const VuDevIface *iface;
    void *opaque;
    const VuLoopOps *loop_ops;
    void *loop;

    VuRingShared shared;       /* features, read by the rings */
    uint8_t status;
    bool suspend_notified;
    bool peer_closed;          /* the front-end closed the connection */

    VuMem mem;
    VuLog log;
    VuInflightArea inflight;
    VuVirtq *vq;

    int poll_fd;               /* timerfd for kick-less rings */
};

#ifndef VIRTIO_F_RING_PACKED
#define VIRTIO_F_RING_PACKED 34
#endif

#define VU_REPLY 1
#define VU_POLL_INTERVAL_NS (5 * 1000 * 1000)

static const uint64_t vu_core_features =
    (1ull << VIRTIO_F_VERSION_1) | (1ull << VIRTIO_RING_F_EVENT_IDX) |
    (1ull << VIRTIO_RING_F_INDIRECT_DESC) | (1ull << VIRTIO_F_RING_PACKED) |
    (1ull << VHOST_F_LOG_ALL) | (1ull << VHOST_USER_F_PROTOCOL_FEATURES);

static const uint64_t vu_protocol_features =
    (1ull << VHOST_USER_PROTOCOL_F_MQ) | (1ull << VHOST_USER_PROTOCOL_F_LOG_SHMFD) |
    (1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK) | (1ull << VHOST_USER_PROTOCOL_F_CONFIG) |
    (1ull << VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD) |
    (1ull << VHOST_USER_PROTOCOL_F_RESET_DEVICE) |
    (1ull << VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS) |
    (1ull << VHOST_USER_PROTOCOL_F_STATUS) | (1ull << VHOST_USER_PROTOCOL_F_DEVICE_STATE);

/* ---- small accessors -------------------------------------------------- */

int vu_dev_socket_fd(const VuDev *dev)
{
    return dev->sock;
}

void *vu_dev_opaque(const VuDev *dev)
{
    return dev->opaque;
}

uint64_t vu_dev_features(const VuDev *dev)
{
    return dev->shared.features;
}

bool vu_dev_has_feature(const VuDev *dev, unsigned int bit)
{
    return vu_ring_has_feature(&dev->shared, bit);
}

static bool vu_dev_has_protocol_feature(const VuDev *dev, unsigned int bit)
{
    return vu_ring_has_protocol_feature(&dev->shared, bit);
}

uint64_t vu_dev_protocol_features(const VuDev *dev)
{
    return dev->shared.protocol_features;
}

unsigned int vu_dev_num_queues(const VuDev *dev)
{
    return dev->num_queues;
}

uint8_t vu_dev_status(const VuDev *dev)
{
    return dev->status | (dev->shared.broken ? VU_STATUS_NEEDS_RESET : 0);
}

bool vu_dev_inflight_handed_back(const VuDev *dev)
{
    return dev->inflight.addr && dev->inflight.handed_back;
}

void vu_queue_log_write(VuDev *dev, const VuVirtqElement *elem, size_t in_offset, size_t len)
{
    if (vu_ring_has_feature(&dev->shared, VHOST_F_LOG_ALL) && vu_log_active(&dev->log) &&
        !vu_dev_suspended(dev)) {
        vu_virtq_log_elem(&dev->shared, elem, in_offset, len);
    }
}

bool vu_dev_suspended(const VuDev *dev)
{
    for (unsigned int i = 0; i < dev->num_queues; i++) {
        if (dev->vq[i].started) {
            return false;
        }
    }
    return true;
}

bool vu_dev_broken(const VuDev *dev)
{
    return dev->shared.broken;
}

VuVirtq *vu_dev_queue(VuDev *dev, unsigned int qidx)
{
    return qidx < dev->num_queues ? &dev->vq[qidx] : NULL;
}

unsigned int vu_queue_size(const VuVirtq *vq)
{
    return vq->num;
}

void vu_dev_set_broken(VuDev *dev, const char *fmt, ...)
{
    g_autofree char *msg = NULL;
    va_list ap;

    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    if (!dev->shared.broken) {
        vsnd_guest_error("device broken, needs reset: %s", msg);
    }
    dev->shared.broken = true;
    if (vu_dev_has_protocol_feature(dev, VHOST_USER_PROTOCOL_F_STATUS)) {
        dev->status |= VU_STATUS_NEEDS_RESET;
    }
}

/* ---- kick-less rings ---------------------------------------------------- */

static void vu_dev_poll_cb(VuDev *dev, int fd, void *data)
{
    uint64_t ticks;
    ssize_t r = read(fd, &ticks, sizeof(ticks));

    (void)r;
    for (unsigned int i = 0; i < dev->num_queues; i++) {
        vu_virtq_poll(&dev->vq[i]);
    }
}

static void vu_dev_update_poll(VuDev *dev)
{
    bool need = false;

    for (unsigned int i = 0; i < dev->num_queues; i++) {
        need |= vu_virtq_polled(&dev->vq[i]);
    }
    if (need && dev->poll_fd < 0) {
        struct itimerspec its = {
            .it_interval = { 0, VU_POLL_INTERVAL_NS },
            .it_value = { 0, VU_POLL_INTERVAL_NS },
        };

        dev->poll_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
        if (dev->poll_fd < 0) {
            g_warning("cannot poll kick-less rings: %s", g_strerror(errno));
            return;
        }
        (void)timerfd_settime(dev->poll_fd, 0, &its, NULL);
        if (dev->loop_ops && dev->loop_ops->set_watch) {
            dev->loop_ops->set_watch(dev, dev->poll_fd, vu_dev_poll_cb, NULL, dev->loop);
        }
    } else if (!need && dev->poll_fd >= 0) {
        if (dev->loop_ops && dev->loop_ops->remove_watch) {
            dev->loop_ops->remove_watch(dev, dev->poll_fd, dev->loop);
        }
        close(dev->poll_fd);
        dev->poll_fd = -1;
    }
}

/* ---- what the rings report ---------------------------------------------- */

static void vu_dev_ring_broken(void *opaque, const char *msg)
{
    vu_dev_set_broken(opaque, "%s", msg);
}

static void vu_dev_ring_poll_changed(void *opaque)
{
    vu_dev_update_poll(opaque);
}

static void vu_dev_ring_kick(void *opaque, unsigned int idx)
{
    VuDev *dev = opaque;

    if (dev->iface && dev->iface->queue_kick && idx < dev->num_queues) {
        dev->iface->queue_kick(dev, dev->opaque, &dev->vq[idx], (int)idx);
    }
}

static void vu_dev_ring_starting(void *opaque)
{
    VuDev *dev = opaque;

    if (dev->suspend_notified) {
        dev->suspend_notified = false;
        if (dev->iface && dev->iface->suspend) {
            dev->iface->suspend(dev, false);
        }
    }
}

static void vu_dev_ring_started(void *opaque, unsigned int idx, bool started)
{
    VuDev *dev = opaque;

    if (dev->iface && dev->iface->queue_set_started) {
        dev->iface->queue_set_started(dev, (int)idx, started);
    }
}

static void vu_dev_ring_stopped(void *opaque)
{
    VuDev *dev = opaque;

    if (vu_dev_suspended(dev)) {
        dev->suspend_notified = true;
        if (dev->iface && dev->iface->suspend) {
            dev->iface->suspend(dev, true);
        }
    }
}

static bool vu_dev_ring_watch_kick(void *opaque, int fd, VuWatchCb cb, void *data)
{
    VuDev *dev = opaque;

    if (!dev->loop_ops || !dev->loop_ops->set_watch) {
        return false;
    }
    dev->loop_ops->set_watch(dev, fd, cb, data, dev->loop);
    return true;
}

static void vu_dev_ring_unwatch_kick(void *opaque, int fd)
{
    VuDev *dev = opaque;

    if (dev->loop_ops && dev->loop_ops->remove_watch) {
        dev->loop_ops->remove_watch(dev, fd, dev->loop);
    }
}

static bool vu_dev_ring_front_end_pending(void *opaque)
{
    const VuDev *dev = opaque;
    struct pollfd p = { .fd = dev->sock, .events = POLLIN };

    return p.fd >= 0 && poll(&p, 1, 0) > 0;
}

static const VuRingHost vu_dev_ring_host = {
    .broken = vu_dev_ring_broken,
    .poll_changed = vu_dev_ring_poll_changed,
    .kick = vu_dev_ring_kick,
    .starting = vu_dev_ring_starting,
    .started = vu_dev_ring_started,
    .stopped = vu_dev_ring_stopped,
    .watch_kick = vu_dev_ring_watch_kick,
    .unwatch_kick = vu_dev_ring_unwatch_kick,
    .front_end_pending = vu_dev_ring_front_end_pending,
};

/* ---- resets ------------------------------------------------------------- */

/* The inflight area changes or goes: no ring keeps a pointer into it. */
static void vu_dev_unbind_inflight(VuDev *dev)
{
    for (unsigned int i = 0; i < dev->num_queues; i++) {
        vu_virtq_unbind_inflight(&dev->vq[i]);
    }
}

static void vu_dev_stop_all(VuDev *dev)
{
    for (unsigned int i = 0; i < dev->num_queues; i++) {
        vu_virtq_stop(&dev->vq[i]);
    }
}

/* Virtio device reset: back to power-on, connection state kept. */
static void vu_dev_reset_device(VuDev *dev, bool forget_rings, VuResetReason why)
{
    vu_dev_stop_all(dev);
    if (dev->iface && dev->iface->reset) {
        dev->iface->reset(dev, why);
    }
    for (unsigned int i = 0; i < dev->num_queues; i++) {
        if (forget_rings) {
            vu_virtq_reset(&dev->vq[i], false);
        } else {
            dev->vq[i].enabled = false;
        }
    }
    vu_dev_unbind_inflight(dev);
    vu_inflight_reset(&dev->inflight);
    dev->shared.broken = false;
    dev->status = 0;
    vu_dev_update_poll(dev);
}

/* ---- handlers ----------------------------------------------------------- */

typedef int (*VuHandler)(VuDev *dev, VuMsg *msg, int *reply_fd);

static int take_fd(VuMsg *msg, unsigned int i)
{
    int fd = msg->fds[i];

    msg->fds[i] = -1;
    return fd;
}

static int reply_u64(VuMsg *msg, uint64_t v)
{
    msg->payload.u64 = v;
    msg->hdr.size = sizeof(uint64_t);
    return VU_REPLY;
}

static uint64_t vu_dev_offered_features(VuDev *dev)
{
    uint64_t f = vu_core_features;

    if (dev->iface && dev->iface->get_features) {
        f |= dev->iface->get_features(dev);
    }
    return f;
}

static void vu_dev_kick_ready(VuDev *dev, VuVirtq *vq)
{
    if (vu_queue_ready(vq) && dev->iface && dev->iface->queue_kick) {
        dev->iface->queue_kick(dev, dev->opaque, vq, (int)vq->idx);
    }
}

static int h_get_features(VuDev *dev, VuMsg *msg, int *reply_fd)
{
    return reply_u64(msg, vu_dev_offered_features(dev));
}

static int h_set_features(VuDev *dev, VuMsg *msg, int *reply_fd)
{
    uint64_t offered = vu_dev_offered_features(dev);
    uint64_t f = msg->payload.u64;

    if (f & ~offered) {
        vsnd_guest_error("front-end acked features 0x%" G_GINT64_MODIFIER
                           "x we did not offer; ignoring them", f & ~offered);
        f &= offered;
    }
    dev->shared.features = f;
    if (dev->iface && dev->iface->set_features) {
        dev->iface->set_features(dev, f);
    }
    if (!(f & (1ull << VHOST_USER_F_PROTOCOL_FEATURES))) {
        for (unsigned int i = 0; i < dev->num_queues; i++) {
            bool was = dev->vq[i].enabled;

            dev->vq[i].enabled = true;
            if (!was) {
                vu_dev_kick_ready(dev, &dev->vq[i]);
            }
        }
    }
    return 0;
}

static int h_set_owner(VuDev *dev, VuMsg *msg, int *reply_fd)
{
    return 0;
}

static int h_reset_owner(VuDev *dev, VuMsg *msg, int *reply_fd)
{
    /* vhost-user.rst: deprecated; "back-ends either ignore this message,
     * or use it to disable all rings".  Discarding the device state here
     * "would lead to bugs": the rings are disabled, nothing else. */
    for (unsigned int i = 0; i < dev->num_queues; i++) {
        dev->vq[i].enabled = false;
        vu_virtq_mark_disabled(&dev->vq[i]);
    }
    return 0;
}

/* Re-translate every ring after a memory table change. */
static void vu_dev_remap_rings(VuDev *dev)
{
    for (unsigned int i = 0; i < dev->num_queues; i++) {
        VuVirtq *vq = &dev->vq[i];

        bool was = vq->mapped;

        if (!vu_virtq_map(vq)) {
            /* QEMU removes a changed region before it adds its
             * replacement: the ring waits (unusable, nothing popped or
             * pushed) until a table covers it again. */
            continue;
        }
        if (!was && vq->mapped && vq->activated && vu_queue_ready(vq) && dev->iface &&
            dev->iface->queue_kick) {
            /* back in guest memory */
            dev->iface->queue_kick(dev, dev->opaque, vq, (int)vq->idx);
            continue;
        }
        vu_virtq_try_activate(vq);
    }
}

static int h_set_mem_table(VuDev *dev, VuMsg *msg, int *reply_fd)
{
    VuMem mem = { 0 };

    for (uint32_t i = 0; i < msg->payload.memory.nregions; i++) {
        int r = vu_mem_add(&mem, &msg->payload.memory.regions[i], msg->fds[i]);

        if (r < 0) {
            vsnd_guest_error("SET_MEM_TABLE region %u rejected: %s", i, g_strerror(-r));
            vu_mem_clear(&mem);
            return r == -EINVAL || r == -ENOSPC ? -EPROTO : r;
        }
    }
    vu_mem_clear(&dev->mem);
    dev->mem = mem;
    vu_dev_remap_rings(dev);
    return 0;
}

static int h_get_max_mem_slots(VuDev *dev, VuMsg *msg, int *reply_fd)
{
    return reply_u64(msg, VU_MAX_MEM_SLOTS);
}

static int h_add_mem_reg(VuDev *dev, VuMsg *msg, int *reply_fd)
{
    int r = vu_mem_add(&dev->mem, &msg->payload.memreg.region, msg->fds[0]);

    if (r < 0) {
        vsnd_guest_error("ADD_MEM_REG rejected: %s", g_strerror(-r));
        return r == -EINVAL || r == -ENOSPC ? -EPROTO : r;
    }
    vu_dev_remap_rings(dev);
    return 0;
}

static int h_rem_mem_reg(VuDev *dev, VuMsg *msg, int *reply_fd)
{
    int r = vu_mem_remove(&dev->mem, &msg->payload.memreg.region);

    if (r < 0) {
        vsnd_guest_error("REM_MEM_REG: no such region");
        return r;
    }
    vu_dev_remap_rings(dev);
    return 0;
}

static int h_set_log_base(VuDev *dev, VuMsg *msg, int *reply_fd)
{
    int r = vu_log_set_base(&dev->log, msg->fds[0], msg->payload.log.size,
                            msg->payload.log.offset);

    if (r == -EINVAL) {
        return -EPROTO;
    }
    return reply_u64(msg, r < 0 ? 1 : 0);
}

static int h_set_log_fd(VuDev *dev, VuMsg *msg, int *reply_fd)
{
    vu_log_set_call_fd(&dev->log, take_fd(msg, 0));
    return 0;
}

static VuVirtq *msg_vq(VuDev *dev, const VuMsg *msg)
{
    return &dev->vq[vu_msg_vring_index(msg, vu_msg_rule(msg->hdr.request))];
}

static int h_set_vring_num(VuDev *dev, VuMsg *msg, int *reply_fd)
{
    VuVirtq *vq = msg_vq(dev, msg);
    uint32_t num = msg->payload.state.num;

    if (num == 0 || num > dev->max_queue_size || (num & (num - 1))) {
        return -EPROTO;
    }
    if (vq->activated) {
        return -EBUSY; /* the ring is being processed */
    }
    vq->num = num;
    if (!vu_virtq_map(vq)) {
        return -EPROTO;
    }
    vu_virtq_try_activate(vq);
    return 0;
}

static int h_set_vring_addr(VuDev *dev, VuMsg *msg, int *reply_fd)
{
    VuVirtq *vq = msg_vq(dev, msg);

    if (msg->payload.addr.flags & ~(1u << VHOST_VRING_F_LOG)) {
        return -EPROTO;
    }
    vq->addr = msg->payload.addr;
    vq->addr_set = true;
    if (!vu_virtq_map(vq)) {
        vq->addr_set = false;
        return -EPROTO;
    }
    vu_virtq_try_activate(vq);
    return 0;
}

static int h_set_vring_base(VuDev *dev, VuMsg *msg, int *reply_fd)
{
    VuVirtq *vq = msg_vq(dev, msg);

    if (vq->activated) {
        return -EBUSY; /* the ring is being processed */
    }
    return vu_virtq_set_base(vq, msg->payload.state.num) ? 0 : -EPROTO;
}

static int h_get_vring_base(VuDev *dev, VuMsg *msg, int *reply_fd)
{
    VuVirtq *vq = msg_vq(dev, msg);

    vu_virtq_stop(vq);
    msg->payload.state.num = vu_virtq_get_base(vq);
    msg->hdr.size = sizeof(msg->payload.state);
    return VU_REPLY;
}

static int msg_vring_fd(VuMsg *msg)
{
    return (msg->payload.u64 & VHOST_USER_VRING_NOFD_MASK) ? -1 : take_fd(msg, 0);
}

static int h_set_vring_kick(VuDev *dev, VuMsg *msg, int *reply_fd)
{
    vu_virtq_set_kick(msg_vq(dev, msg), msg_vring_fd(msg));
    return 0;
}

static int h_set_vring_call(VuDev *dev, VuMsg *msg, int *reply_fd)
{
    vu_virtq_set_call(msg_vq(dev, msg), msg_vring_fd(msg));
    return 0;
}

static int h_set_vring_err(VuDev *dev, VuMsg *msg, int *reply_fd)
{
    vu_virtq_set_err(msg_vq(dev, msg), msg_vring_fd(msg));
    return 0;
}

static int h_get_protocol_features(VuDev *dev, VuMsg *msg, int *reply_fd)
{
    return reply_u64(msg, vu_protocol_features);
}

static int h_set_protocol_features(VuDev *dev, VuMsg *msg, int *reply_fd)
{
    uint64_t f = msg->payload.u64;

    if (f & ~vu_protocol_features) {
        vsnd_guest_error("front-end set protocol features 0x%" G_GINT64_MODIFIER
                           "x we did not offer; ignoring them", f & ~vu_protocol_features);
    }
    dev->shared.protocol_features = f & vu_protocol_features;
    return 0;
}

static int h_get_queue_num(VuDev *dev, VuMsg *msg, int *reply_fd)
{
    return reply_u64(msg, dev->num_queues);
}

static int h_set_vring_enable(VuDev *dev, VuMsg *msg, int *reply_fd)
{
    VuVirtq *vq = msg_vq(dev, msg);
    uint32_t en = msg->payload.state.num;

    if (en > 1) {
        return -EPROTO;
    }
    if (!en && vq->enabled) {
        /* What the guest made available before the disable is the
         * enabled state's: the device takes it now, as a kick not yet
         * dispatched would have had it. */
        vu_dev_kick_ready(dev, vq);
    }
    vq->enabled = en;
    if (en) {
        vu_dev_kick_ready(dev, vq);
    } else {
        vu_virtq_mark_disabled(vq);
    }
    return 0;
}

static int h_get_config(VuDev *dev, VuMsg *msg, int *reply_fd)
{
    VuMsgConfig *c = &msg->payload.config;
    int r = -ENOTSUP;

    memset(c->region, 0, sizeof(c->region));
    if (dev->iface && dev->iface->get_config) {
        r = dev->iface->get_config(dev, c->region, c->offset, c->size);
    }
    if (r < 0) {
        /* Zero-length payload tells the front-end it failed. */
        msg->hdr.size = 0;
        return VU_REPLY;
    }
    msg->hdr.size = VU_MSG_CONFIG_HDR_SIZE + c->size;
    return VU_REPLY;
}

static int h_set_config(VuDev *dev, VuMsg *msg, int *reply_fd)
{
    VuMsgConfig *c = &msg->payload.config;

    if (!dev->iface || !dev->iface->set_config) {
        return -ENOTSUP;
    }
    return dev->iface->set_config(dev, c->region, c->offset, c->size, c->flags);
}

static int h_get_inflight_fd(VuDev *dev, VuMsg *msg, int *reply_fd)
{
    uint32_t size = msg->hdr.size;
    int r = vu_inflight_get(&dev->inflight, dev->num_queues, &msg->payload.inflight, reply_fd);

    if (r == 0) {
        vu_dev_unbind_inflight(dev);
    }
    if (r < 0) {
        vsnd_guest_error("GET_INFLIGHT_FD failed: %s", g_strerror(-r));
        memset(&msg->payload.inflight, 0, sizeof(msg->payload.inflight));
    }
    msg->hdr.size = size;
    return VU_REPLY;
}

static int h_set_inflight_fd(VuDev *dev, VuMsg *msg, int *reply_fd)
{
    int r = vu_inflight_set(&dev->inflight, dev->num_queues, &msg->payload.inflight, msg->fds[0]);

    if (r == 0) {
        vu_dev_unbind_inflight(dev);
    }
    if (r == -EINVAL) {
        return -EPROTO;
    }
    return r;
}

static int h_reset_device(VuDev *dev, VuMsg *msg, int *reply_fd)
{
    vu_dev_reset_device(dev, true, VU_RESET_DEVICE);
    return 0;
}

static int h_set_status(VuDev *dev, VuMsg *msg, int *reply_fd)
{
    uint64_t st = msg->payload.u64;

    if (st > 0xff) {
        return -EPROTO;
    }
    if (st == 0) {
        vu_dev_reset_device(dev, false, VU_RESET_STATUS);
        return 0;
    }
    dev->status = (uint8_t)st | (dev->shared.broken ? VU_STATUS_NEEDS_RESET : 0);
    return 0;
}

static int h_get_status(VuDev *dev, VuMsg *msg, int *reply_fd)
{
    return reply_u64(msg, vu_dev_status(dev));
}

static int h_set_device_state_fd(VuDev *dev, VuMsg *msg, int *reply_fd)
{
    uint32_t dir = msg->payload.device_state.direction;
    uint32_t phase = msg->payload.device_state.phase;
    int r;

    if (dir > VU_TRANSFER_STATE_DIRECTION_LOAD || phase != VU_TRANSFER_STATE_PHASE_STOPPED ||
        !dev->iface || !dev->iface->set_device_state_fd) {
        return reply_u64(msg, 1 | VHOST_USER_VRING_NOFD_MASK);
    }
    *reply_fd = -1;
    r = dev->iface->set_device_state_fd(dev, (int)dir, (int)phase, take_fd(msg, 0), reply_fd);
    if (r < 0 && *reply_fd >= 0) {
        close(*reply_fd);
        *reply_fd = -1;
    }
    return reply_u64(msg, (r < 0 ? 1 : 0) | (*reply_fd < 0 ? VHOST_USER_VRING_NOFD_MASK : 0));
}

static int h_check_device_state(VuDev *dev, VuMsg *msg, int *reply_fd)
{
    int r = -ENOTSUP;

    if (dev->iface && dev->iface->check_device_state) {
        r = dev->iface->check_device_state(dev);
    }
    return reply_u64(msg, r < 0 ? 1 : 0);
}

static const VuHandler vu_handlers[VHOST_USER_MAX] = {
    [VHOST_USER_GET_FEATURES] = h_get_features,
    [VHOST_USER_SET_FEATURES] = h_set_features,
    [VHOST_USER_SET_OWNER] = h_set_owner,
    [VHOST_USER_RESET_OWNER] = h_reset_owner,
    [VHOST_USER_SET_MEM_TABLE] = h_set_mem_table,
    [VHOST_USER_SET_LOG_BASE] = h_set_log_base,
    [VHOST_USER_SET_LOG_FD] = h_set_log_fd,
    [VHOST_USER_SET_VRING_NUM] = h_set_vring_num,
    [VHOST_USER_SET_VRING_ADDR] = h_set_vring_addr,
    [VHOST_USER_SET_VRING_BASE] = h_set_vring_base,
    [VHOST_USER_GET_VRING_BASE] = h_get_vring_base,
    [VHOST_USER_SET_VRING_KICK] = h_set_vring_kick,
    [VHOST_USER_SET_VRING_CALL] = h_set_vring_call,
    [VHOST_USER_SET_VRING_ERR] = h_set_vring_err,
    [VHOST_USER_GET_PROTOCOL_FEATURES] = h_get_protocol_features,
    [VHOST_USER_SET_PROTOCOL_FEATURES] = h_set_protocol_features,
    [VHOST_USER_GET_QUEUE_NUM] = h_get_queue_num,
    [VHOST_USER_SET_VRING_ENABLE] = h_set_vring_enable,
    [VHOST_USER_GET_CONFIG] = h_get_config,
    [VHOST_USER_SET_CONFIG] = h_set_config,
    [VHOST_USER_GET_INFLIGHT_FD] = h_get_inflight_fd,
    [VHOST_USER_SET_INFLIGHT_FD] = h_set_inflight_fd,
    [VHOST_USER_RESET_DEVICE] = h_reset_device,
    [VHOST_USER_GET_MAX_MEM_SLOTS] = h_get_max_mem_slots,
    [VHOST_USER_ADD_MEM_REG] = h_add_mem_reg,
    [VHOST_USER_REM_MEM_REG] = h_rem_mem_reg,
    [VHOST_USER_SET_STATUS] = h_set_status,
    [VHOST_USER_GET_STATUS] = h_get_status,
    [VHOST_USER_SET_DEVICE_STATE_FD] = h_set_device_state_fd,
    [VHOST_USER_CHECK_DEVICE_STATE] = h_check_device_state,
};

/* A socket error that means the front-end closed its end (a message cut
 * short by the close, a reply to a closed socket), as opposed to one we
 * drop the connection for. */
static bool vu_dev_peer_closed_error(int r)
{
    return r == -ECONNRESET || r == -EPIPE;
}

bool vu_dev_dispatch(VuDev *dev)
{
    VuMsg msg;
    const char *why = NULL;
    bool need_reply;
    int reply_fd = -1;
    int r, hr;

    r = vu_msg_recv(dev->sock, &msg);
    if (r == -EAGAIN || r == -EWOULDBLOCK) {
        return true;
    }
    if (r == 0) {
        g_debug("front-end closed the connection");
        dev->peer_closed = true;
        return false;
    }
    if (r < 0) {
        vsnd_guest_error("vhost-user receive failed: %s", g_strerror(-r));
        dev->peer_closed = vu_dev_peer_closed_error(r);
        return false;
    }
    need_reply = msg.hdr.flags & VHOST_USER_NEED_REPLY_MASK;
    g_debug("request %s (%u) size %u fds %u%s", vu_msg_request_name(msg.hdr.request),
            msg.hdr.request, msg.hdr.size, msg.fd_num, need_reply ? " need_reply" : "");

    r = vu_msg_validate(&msg, dev->num_queues, &why);
    if (r == -ENOSYS) {
        vsnd_guest_error("unsupported request %s (%u) ignored",
                           vu_msg_request_name(msg.hdr.request), msg.hdr.request);
        vu_msg_close_fds(&msg);
        if (need_reply) {
            msg.payload.u64 = 1;
            r = vu_msg_send_reply(dev->sock, &msg, sizeof(uint64_t), -1);
            dev->peer_closed = vu_dev_peer_closed_error(r);
            return r == 0;
        }
        return true;
    }
    if (r < 0) {
        vsnd_guest_error("malformed %s (size %u, %u fds): %s; dropping connection",
                           vu_msg_request_name(msg.hdr.request), msg.hdr.size, msg.fd_num, why);
        vu_msg_close_fds(&msg);
        return false;
    }

    hr = vu_handlers[msg.hdr.request](dev, &msg, &reply_fd);
    vu_msg_close_fds(&msg);
    if (hr == -EPROTO) {
        vsnd_guest_error("invalid %s; dropping connection",
                           vu_msg_request_name(msg.hdr.request));
        if (reply_fd >= 0) {
            close(reply_fd);
        }
        return false;
    }
    if (hr == VU_REPLY) {
        r = vu_msg_send_reply(dev->sock, &msg, msg.hdr.size, reply_fd);
    } else if (need_reply) {
        if (hr < 0) {
            g_debug("%s failed: %s", vu_msg_request_name(msg.hdr.request), g_strerror(-hr));
        }
        msg.payload.u64 = hr < 0 ? 1 : 0;
        r = vu_msg_send_reply(dev->sock, &msg, sizeof(uint64_t), -1);
    } else {
        r = 0;
    }
    if (reply_fd >= 0) {
        close(reply_fd);
    }
    dev->peer_closed = vu_dev_peer_closed_error(r);
    return r == 0;
}

/* ---- life cycle --------------------------------------------------------- */

VuDev *vu_dev_new(int fd, unsigned int num_queues, unsigned int max_queue_size,
                  const VuDevIface *iface, void *iface_opaque, const VuLoopOps *loop_ops,
                  void *loop)
{
    VuDev *dev = g_new0(VuDev, 1);

    if (num_queues == 0) {
        num_queues = 1;
    }
    if (num_queues > 256) {
        num_queues = 256; /* the KICK/CALL payload has 8 index bits */
    }
    if (max_queue_size == 0 || max_queue_size > VU_MAX_QUEUE_SIZE) {
        max_queue_size = VU_MAX_QUEUE_SIZE;
    }
    dev->sock = fd;
    dev->num_queues = num_queues;
    dev->max_queue_size = max_queue_size;
    dev->iface = iface;
    dev->opaque = iface_opaque;
    dev->loop_ops = loop_ops;
    dev->loop = loop;
    dev->poll_fd = -1;
    dev->shared.host = &vu_dev_ring_host;
    dev->shared.host_opaque = dev;
    dev->shared.mem = &dev->mem;
    dev->shared.log = &dev->log;
    dev->shared.inflight = &dev->inflight;
    vu_log_init(&dev->log);
    dev->vq = g_new0(VuVirtq, num_queues);
    for (unsigned int i = 0; i < num_queues; i++) {
        vu_virtq_init(&dev->vq[i], &dev->shared, i);
    }
    dev->shared.scratch_segs = g_new(VuMemSeg, VU_MAX_CHAIN_SEGS);
    dev->shared.scratch_out = g_new(struct iovec, VU_MAX_IOV);
    dev->shared.scratch_in = g_new(struct iovec, VU_MAX_IOV);
    dev->shared.scratch_in_gpa = g_new(uint64_t, VU_MAX_IOV);
    return dev;
}

void vu_dev_free(VuDev *dev)
{
    if (!dev) {
        return;
    }
    if (dev->iface && dev->iface->reset) {
        dev->iface->reset(dev, dev->peer_closed ? VU_RESET_DISCONNECT : VU_RESET_DROPPED);
    }
    for (unsigned int i = 0; i < dev->num_queues; i++) {
        dev->vq[i].started = false;
        vu_virtq_reset(&dev->vq[i], true);
    }
    vu_dev_update_poll(dev);
    vu_dev_unbind_inflight(dev);
    vu_inflight_clear(&dev->inflight);
    vu_log_clear(&dev->log);
    vu_mem_clear(&dev->mem);
    if (dev->sock >= 0) {
        close(dev->sock);
    }
    g_free(dev->vq);
    g_free(dev->shared.scratch_segs);
    g_free(dev->shared.scratch_out);
    g_free(dev->shared.scratch_in);
    g_free(dev->shared.scratch_in_gpa);
    g_free(dev);
}
