/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vu-virtq.c - split and packed virtqueues from the device side.
 *
 * Theory of operation (VIRTIO 1.x "Split Virtqueues", "Packed
 * Virtqueues", "Indirect Descriptors", "Used Buffer Notification
 * Suppression", "Driver and Device Event Suppression"; vhost-user.rst
 * "Ring states", "Suspended device state", SET_VRING_* and
 * GET_VRING_BASE):
 *
 * Rings are started by SET_VRING_KICK (also with the no-fd flag: then the
 * core polls the avail side on a timer) and stopped by GET_VRING_BASE;
 * enabled/disabled is tracked independently.  A ring is usable ("ready")
 * when started, enabled, mapped, and the device is not broken; a started,
 * disabled ring is kicked too and offers, through
 * vu_queue_pop_disabled(), only what the guest queued since the disable
 * (vu_virtq_mark_disabled()).  Nothing
 * here writes guest memory or signals an eventfd for a stopped ring, so
 * while every ring is stopped the device is suspended.
 *
 * Pop walks one chain (direct, or through one level of indirect table),
 * copying each descriptor out of guest memory before looking at it, and
 * collects its buffers; vu-mem then translates the whole chain in one
 * call (vu_mem_map_chain()) into out_sg/in_sg iovecs, bounds-checked once
 * against the memory table (a buffer crossing regions becomes several
 * iovecs), and references the mappings they lie in.
 * Anything a correct driver never produces - head >= num, avail idx
 * moving by more than num, next out of range, a chain longer than the
 * table (loop), indirect inside indirect, indirect with NEXT, an indirect
 * table that is empty or not a multiple of 16, a readable descriptor
 * after a writable one, memory outside every region, more than 4 GiB in
 * a chain - marks the device broken (NEEDS_RESET) instead of being
 * trusted.
 *
 * Push writes the used entry (split: used ring then idx with a release
 * barrier; packed: id/len, release barrier, then the flags that hand the
 * descriptor back), marks the written pages dirty when logging, and keeps
 * the inflight region current.  Notify uses event-idx (used_event, or the
 * packed driver event suppression area) with a full barrier before
 * reading the guest's wish.
 *
 * Elements may be given back with vu_queue_unpop(): the most recently
 * popped one is rewound in the ring (so GET_VRING_BASE stays exact); an
 * older one is kept as a copy, popped again first, and rewound once the
 * elements popped after it come back too.  One popped after it that was
 * completed already makes that impossible: the give-back is refused and
 * the caller completes the element (the ring knows its pop order; the
 * device keeps none).
 */
#include "config.h"

#define G_LOG_DOMAIN "vsnd-vu"

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>

#include <linux/vhost_types.h>
#include <linux/virtio_config.h>

#include "iov-util.h"
#include "vu-int.h"

#ifndef VIRTIO_F_RING_PACKED
#define VIRTIO_F_RING_PACKED 34
#endif

#define PACKED_F_AVAIL (1u << VRING_PACKED_DESC_F_AVAIL)
#define PACKED_F_USED (1u << VRING_PACKED_DESC_F_USED)

static inline uint16_t ld16(const void *p)
{
    return le16toh(__atomic_load_n((const uint16_t *)p, __ATOMIC_RELAXED));
}

static inline void st16(void *p, uint16_t v)
{
    __atomic_store_n((uint16_t *)p, htole16(v), __ATOMIC_RELAXED);
}

static inline void st32(void *p, uint32_t v)
{
    __atomic_store_n((uint32_t *)p, htole32(v), __ATOMIC_RELAXED);
}

static inline bool vu_need_event(uint16_t event_idx, uint16_t new_idx, uint16_t old_idx)
{
    return (uint16_t)(new_idx - event_idx - 1) < (uint16_t)(new_idx - old_idx);
}

static bool vq_has_feature(const VuVirtq *vq, unsigned int bit)
{
    return vu_ring_has_feature(vq->shared, bit);
}

/* Split ring layout helpers. */
#define AVAIL_FLAGS(vq) ((vq)->avail)
#define AVAIL_IDX(vq) ((vq)->avail + 2)
#define AVAIL_RING(vq, i) ((vq)->avail + 4 + 2 * (size_t)(i))
#define USED_EVENT(vq) ((vq)->avail + 4 + 2 * (size_t)(vq)->num)
#define USED_FLAGS(vq) ((vq)->used)
#define USED_IDX(vq) ((vq)->used + 2)
#define USED_RING(vq, i) ((vq)->used + 4 + 8 * (size_t)(i))
#define AVAIL_EVENT(vq) ((vq)->used + 4 + 8 * (size_t)(vq)->num)

static void vq_log(VuVirtq *vq, uint64_t off, uint64_t len)
{
    VuLog *log = vq->shared->log;

    if (!vq_has_feature(vq, VHOST_F_LOG_ALL) || !vu_log_active(log)) {
        return;
    }
    if (vq->addr.flags & (1u << VHOST_VRING_F_LOG)) {
        vu_log_write(log, vq->addr.log_guest_addr + off, len);
    }
}

static void vq_log_desc(VuVirtq *vq, uint64_t off, uint64_t len)
{
    VuLog *log = vq->shared->log;

    if (vq_has_feature(vq, VHOST_F_LOG_ALL) && vu_log_active(log) && vq->desc_gpa_ok) {
        vu_log_write(log, vq->desc_gpa + off, len);
    }
}

static void vq_report_broken(VuVirtq *vq, const char *msg)
{
    g_autofree char *line = g_strdup_printf("queue %u: %s", vq->idx, msg);

    vq->shared->host->broken(vq->shared->host_opaque, line);
}

static void vq_report_poll_changed(VuVirtq *vq)
{
    vq->shared->host->poll_changed(vq->shared->host_opaque);
}

static void vq_report_kick(VuVirtq *vq)
{
    vq->shared->host->kick(vq->shared->host_opaque, vq->idx);
}

void vu_virtq_broken(VuVirtq *vq, const char *fmt, ...)
{
    g_autofree char *msg = NULL;
    va_list ap;

    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    vq_report_broken(vq, msg);
    if (vq->err_fd >= 0 && vq->started) {
        uint64_t one = 1;
        ssize_t r = write(vq->err_fd, &one, sizeof(one));

        (void)r;
    }
}

void vu_virtq_init(VuVirtq *vq, const VuRingShared *shared, unsigned int idx)
{
    memset(vq, 0, sizeof(*vq));
    vq->shared = shared;
    vq->idx = idx;
    vq->kick_fd = vq->call_fd = vq->err_fd = -1;
    vq->avail_wrap = vq->used_wrap = true;
    vq->notification = true;
    g_queue_init(&vq->unpopped);
}

static void vq_remove_kick_watch(VuVirtq *vq)
{
    if (vq->kick_watched) {
        vq->shared->host->unwatch_kick(vq->shared->host_opaque, vq->kick_fd);
    }
    vq->kick_watched = false;
}

static void vq_close_fd(int *fd)
{
    if (*fd >= 0) {
        close(*fd);
    }
    *fd = -1;
}

static void vq_drop_unpopped(VuVirtq *vq)
{
    VuVirtqElement *e;

    while ((e = g_queue_pop_head(&vq->unpopped))) {
        vu_elem_free(e);
    }
}

void vu_virtq_unbind_inflight(VuVirtq *vq)
{
    vq->inflight = NULL;
}

void vu_virtq_reset(VuVirtq *vq, bool close_fds)
{
    vq_remove_kick_watch(vq);
    vq_drop_unpopped(vq);
    g_free(vq->resubmit);
    vq->resubmit = NULL;
    vq->resubmit_num = vq->resubmit_pos = 0;
    g_free(vq->busy);
    vq->busy = NULL;
    if (close_fds) {
        vq_close_fd(&vq->kick_fd);
        vq_close_fd(&vq->call_fd);
        vq_close_fd(&vq->err_fd);
    }
    vq->started = vq->enabled = vq->activated = false;
    vq->polled = false;
    vq->num = 0;
    vq->addr_set = vq->mapped = false;
    vq->desc = vq->avail = vq->used = NULL;
    vq->last_avail_idx = vq->shadow_avail_idx = vq->used_idx = 0;
    vq->avail_wrap = vq->used_wrap = true;
    vq->signalled_used_valid = false;
    vq->notification = true;
    vq->inuse = 0;
    vq->inflight = NULL;
    vq->gen++;
}

bool vu_virtq_map(VuVirtq *vq)
{
    VuMem *mem = vq->shared->mem;
    bool packed = vq->started ? vq->packed : vq_has_feature(vq, VIRTIO_F_RING_PACKED);
    uint64_t dsz, asz, usz, len;
    uint8_t *d, *a, *u;

    vq->mapped = false;
    vq->desc = vq->avail = vq->used = NULL;
    if (!vq->addr_set || vq->num == 0 || mem->nregions == 0) {
        return true; /* nothing to judge yet */
    }
    dsz = 16ull * vq->num;
    if (packed) {
        asz = usz = 4;
    } else {
        asz = 6 + 2ull * vq->num;
        usz = 6 + 8ull * vq->num;
    }
    len = dsz;
    d = vu_mem_uva_to_va(mem, vq->addr.desc_user_addr, &len);
    if (!d || len < dsz) {
        return false;
    }
    len = asz;
    a = vu_mem_uva_to_va(mem, vq->addr.avail_user_addr, &len);
    if (!a || len < asz) {
        return false;
    }
    len = usz;
    u = vu_mem_uva_to_va(mem, vq->addr.used_user_addr, &len);
    if (!u || len < usz) {
        return false;
    }
    if (((uintptr_t)d & 15) || ((uintptr_t)a & (packed ? 3 : 1)) || ((uintptr_t)u & 3)) {
        return false;
    }
    vq->desc = d;
    vq->avail = a;
    vq->used = u;
    vq->desc_gpa_ok = vu_mem_uva_to_gpa(mem, vq->addr.desc_user_addr, &vq->desc_gpa);
    vq->mapped = true;
    return true;
}

static bool vq_usable(const VuVirtq *vq)
{
    return vq->started && vq->activated && vq->mapped && !vq->shared->broken;
}

bool vu_queue_started(const VuVirtq *vq)
{
    return vq->started;
}

uint64_t vu_queue_desc_addr(const VuVirtq *vq)
{
    return vq->addr_set ? vq->addr.desc_user_addr : 0;
}

uint32_t vu_queue_base(const VuVirtq *vq)
{
    return vu_virtq_get_base(vq);
}

bool vu_queue_enabled(const VuVirtq *vq)
{
    return vq->enabled;
}

bool vu_queue_ready(const VuVirtq *vq)
{
    return vq_usable(vq) && vq->enabled;
}

VuQueueState vu_queue_state(const VuVirtq *vq)
{
    if (!vq->started) {
        return VU_QUEUE_STOPPED;
    }
    if (!vq->enabled) {
        return VU_QUEUE_DISABLED;
    }
    return vq_usable(vq) ? VU_QUEUE_READY : VU_QUEUE_UNUSABLE;
}

static bool packed_desc_avail(const VuVirtq *vq, uint16_t pos, bool wrap);
static void vq_push(VuVirtq *vq, const VuElemPriv *p, uint32_t len);

static void vq_note_poll(VuVirtq *vq)
{
    if (!vq->packed) {
        vq->poll_seen = ld16(AVAIL_IDX(vq));
    } else if (packed_desc_avail(vq, vq->last_avail_idx, vq->avail_wrap)) {
        /* Reported: do not report this position again. */
        vq->poll_seen = vq->last_avail_idx;
        vq->poll_seen_wrap = vq->avail_wrap;
    } else {
        vq->poll_seen = UINT16_MAX; /* nothing seen yet */
    }
}

/* The inflight region's view at start (vu-inflight computes, the ring is
 * the one writer of its indices). */
static void vq_apply_inflight(VuVirtq *vq)
{
    VuInflightStart st;

    vu_inflight_queue_start(vq, &st);
    vq->inflight = st.region;
    g_free(vq->resubmit);
    vq->resubmit = st.resubmit;
    vq->resubmit_num = st.resubmit_num;
    vq->resubmit_pos = 0;
    vq->inflight_counter = st.counter;
    if (!st.restored) {
        return;
    }
    vq->inuse = st.inuse;
    vq->last_avail_idx = vq->shadow_avail_idx = st.last_avail_idx;
    vq->used_idx = st.used_idx;
    vq->avail_wrap = st.avail_wrap;
    vq->used_wrap = st.used_wrap;
}

/* Read the ring state from memory once the ring is started and mapped. */
static bool vq_activate(VuVirtq *vq)
{
    if (!vq->started || vq->activated || !vq->mapped) {
        return false;
    }
    if (!vq->packed) {
        vq->used_idx = ld16(USED_IDX(vq));
        vq->shadow_avail_idx = vq->last_avail_idx;
    } else if (vq->last_avail_idx >= vq->num || vq->used_idx >= vq->num) {
        vu_virtq_broken(vq, "ring base beyond the ring size %u", vq->num);
        return false;
    }
    vq->signalled_used_valid = false;
    vq->activated = true;
    g_free(vq->busy);
    vq->busy = g_new0(uint8_t, vq->num);
    vq_apply_inflight(vq);
    for (unsigned int i = vq->resubmit_pos; i < vq->resubmit_num; i++) {
        /* Resubmitted heads are out already; packed entries are marked
         * busy by buffer id when popped. */
        if (!vq->packed && vq->resubmit[i] < vq->num) {
            vq->busy[vq->resubmit[i]] = 1;
        }
    }
    vq_note_poll(vq);
    if (!vq->enabled) {
        vu_virtq_mark_disabled(vq);
    }
    return true;
}

void vu_virtq_try_activate(VuVirtq *vq)
{
    if (vq_activate(vq) && vu_queue_ready(vq)) {
        vq_report_kick(vq);
    }
}

static void vq_kick_cb(VuDev *dev, int fd, void *data)
{
    VuVirtq *vq = data;
    uint64_t v;
    ssize_t r;

    (void)dev; /* the ring reports through its host table */
    do {
        r = read(fd, &v, sizeof(v));
    } while (r < 0 && errno == EINTR);
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        return; /* spurious wake-up */
    }
    if (r <= 0) {
        /* Not an eventfd, or a hung-up one (a pipe or socket at EOF):
         * the watch would fire forever.  The ring can never be kicked
         * again: stop watching and treat it as broken. */
        int err = r < 0 ? errno : 0;

        vq_remove_kick_watch(vq);
        vu_virtq_broken(vq, "kick fd %s", err ? g_strerror(err) : "hung up (end of file)");
        return;
    }
    if (vq->started && !vq->activated) {
        vu_virtq_try_activate(vq);
        return;
    }
    /* Enabled or not: a started, disabled ring is processed too (the
     * device asks vu_queue_enabled() how). */
    if (vq_usable(vq)) {
        vq_report_kick(vq);
    }
}

bool vu_virtq_polled(const VuVirtq *vq)
{
    return vq->started && (vq->polled || vq->device_polls);
}

void vu_queue_set_polling(VuDev *dev, VuVirtq *vq, bool on)
{
    (void)dev; /* the ring reports through its host table */
    if (vq->device_polls == on) {
        return;
    }
    vq->device_polls = on;
    vq_report_poll_changed(vq);
}

void vu_virtq_poll(VuVirtq *vq)
{
    bool moved;

    if (!vu_virtq_polled(vq) || !vq_usable(vq)) {
        return;
    }
    if (!vq->packed) {
        moved = ld16(AVAIL_IDX(vq)) != vq->poll_seen;
    } else {
        moved = packed_desc_avail(vq, vq->last_avail_idx, vq->avail_wrap) &&
                (vq->poll_seen != vq->last_avail_idx || vq->poll_seen_wrap != vq->avail_wrap);
    }
    if (!moved) {
        return;
    }
    vq_note_poll(vq);
    vq_report_kick(vq);
}

void vu_virtq_start(VuVirtq *vq)
{
    const VuRingHost *host = vq->shared->host;

    if (vq->started) {
        return;
    }
    vq->started = true;
    vq->gen++;
    vq->pop_seq = 0;
    vq->done_seq_end = 0;
    vq->activated = false;
    vq->packed = vq_has_feature(vq, VIRTIO_F_RING_PACKED);
    if (!vu_virtq_map(vq)) {
        vu_virtq_broken(vq, "ring addresses outside guest memory");
    }
    host->starting(vq->shared->host_opaque);
    vq_activate(vq);
    host->started(vq->shared->host_opaque, vq->idx, true);
    if (vu_queue_ready(vq)) {
        vq_report_kick(vq);
    }
}

void vu_virtq_stop(VuVirtq *vq)
{
    const VuRingHost *host = vq->shared->host;
    VuVirtqElement *e;

    if (!vq->started) {
        return;
    }
    host->started(vq->shared->host_opaque, vq->idx, false);
    /* Buffers given back out of order: complete them empty. */
    if (!g_queue_is_empty(&vq->unpopped)) {
        g_debug("queue %u: %u buffer(s) given back out of order, completed empty", vq->idx,
                g_queue_get_length(&vq->unpopped));
    }
    while ((e = g_queue_pop_head(&vq->unpopped))) {
        vq_push(vq, (const VuElemPriv *)e, 0);
        vu_elem_free(e);
    }
    if (vq->inuse > 0) {
        g_warning("queue %u stopped with %u buffer(s) still held by the device", vq->idx,
                  vq->inuse);
    }
    vq->started = false;
    vq->activated = false;
    vq->gen++;
    vq_remove_kick_watch(vq);
    vq_close_fd(&vq->kick_fd);
    vq->polled = false;
    host->stopped(vq->shared->host_opaque);
    vq_report_poll_changed(vq);
}

void vu_virtq_set_kick(VuVirtq *vq, int fd)
{
    vq_remove_kick_watch(vq);
    vq_close_fd(&vq->kick_fd);
    vq->kick_fd = fd;
    vq->polled = fd < 0;
    if (fd >= 0) {
        int fl = fcntl(fd, F_GETFL);

        if (fl >= 0) {
            (void)fcntl(fd, F_SETFL, fl | O_NONBLOCK);
        }
        vq->kick_watched =
            vq->shared->host->watch_kick(vq->shared->host_opaque, fd, vq_kick_cb, vq);
    }
    vu_virtq_start(vq);
    vq_report_poll_changed(vq);
}

void vu_virtq_set_call(VuVirtq *vq, int fd)
{
    vq_close_fd(&vq->call_fd);
    vq->call_fd = fd;
}

void vu_virtq_set_err(VuVirtq *vq, int fd)
{
    vq_close_fd(&vq->err_fd);
    vq->err_fd = fd;
}

uint32_t vu_virtq_get_base(const VuVirtq *vq)
{
    if (!vq->packed && !vq_has_feature(vq, VIRTIO_F_RING_PACKED)) {
        return vq->last_avail_idx;
    }
    return (uint32_t)(vq->last_avail_idx & 0x7fff) | ((uint32_t)vq->avail_wrap << 15) |
           ((uint32_t)(vq->used_idx & 0x7fff) << 16) | ((uint32_t)vq->used_wrap << 31);
}

bool vu_virtq_set_base(VuVirtq *vq, uint32_t base)
{
    if (!vq_has_feature(vq, VIRTIO_F_RING_PACKED)) {
        if (base > 0xffff) {
            return false;
        }
        vq->last_avail_idx = vq->shadow_avail_idx = (uint16_t)base;
        return true;
    }
    {
        uint16_t avail = base & 0x7fff, used = (base >> 16) & 0x7fff;

        if (vq->num && (avail >= vq->num || used >= vq->num)) {
            return false;
        }
        vq->last_avail_idx = avail;
        vq->avail_wrap = (base >> 15) & 1;
        vq->used_idx = used;
        vq->used_wrap = (base >> 31) & 1;
    }
    return true;
}

/* ---- chain walking ---------------------------------------------------- */

/* A chain being walked: its buffers are collected first (descriptor
 * checks in walk order), then translated by vu-mem in one call. */
typedef struct VuChain {
    VuVirtq *vq;
    VuMemSeg *segs;            /* shared scratch, VU_MAX_CHAIN_SEGS */
    unsigned int nsegs;
    unsigned int out_segs, in_segs;
    bool writable_seen;
    uint64_t total;
    const char *err;
} VuChain;

static bool chain_fail(VuChain *c, const char *why)
{
    if (!c->err) {
        c->err = why;
    }
    return false;
}

/* Append guest buffer [addr, addr+len) to the chain.  Each non-empty
 * buffer becomes at least one iovec, so more than VU_MAX_IOV of them in
 * one direction can never map. */
static bool chain_add(VuChain *c, uint64_t addr, uint32_t len, bool write)
{
    unsigned int *dir = write ? &c->in_segs : &c->out_segs;

    if (!write && c->writable_seen) {
        return chain_fail(c, "readable descriptor after a writable one");
    }
    c->total += len;
    if (c->total > UINT32_MAX) {
        return chain_fail(c, "chain longer than 4 GiB");
    }
    if (len == 0) {
        return true;
    }
    if (*dir >= VU_MAX_IOV) {
        return chain_fail(c, "too many buffers in chain");
    }
    (*dir)++;
    c->writable_seen |= write;
    c->segs[c->nsegs++] = (VuMemSeg){ .gpa = addr, .len = len, .write = write };
    return true;
}

/* Copy an indirect table out of guest memory; validates its size. */
static void *chain_read_indirect(VuChain *c, uint64_t addr, uint32_t len, unsigned int *ret_n)
{
    void *tbl;

    if (!vq_has_feature(c->vq, VIRTIO_RING_F_INDIRECT_DESC)) {
        chain_fail(c, "indirect descriptor without VIRTIO_RING_F_INDIRECT_DESC");
        return NULL;
    }
    if (len == 0 || len % 16 != 0) {
        chain_fail(c, "indirect table size not a non-zero multiple of 16");
        return NULL;
    }
    if (len / 16 > VU_MAX_INDIRECT) {
        chain_fail(c, "indirect table too large");
        return NULL;
    }
    tbl = g_malloc(len);
    if (!vu_mem_read(c->vq->shared->mem, addr, tbl, len)) {
        g_free(tbl);
        chain_fail(c, "indirect table outside guest memory");
        return NULL;
    }
    *ret_n = len / 16;
    return tbl;
}

/* Walk a split chain in @tbl (ring table if @guest, else a copy). */
static bool split_walk(VuChain *c, const struct vring_desc *tbl, unsigned int max, uint16_t head,
                       bool indirect)
{
    unsigned int count = 0;
    uint16_t i = head;

    for (;;) {
        struct vring_desc d;
        uint16_t flags;

        if (i >= max) {
            return chain_fail(c, "descriptor index out of range");
        }
        if (++count > max) {
            return chain_fail(c, "descriptor chain loops or is longer than the table");
        }
        memcpy(&d, &tbl[i], sizeof(d));
        flags = le16toh(d.flags);
        if (flags & VRING_DESC_F_INDIRECT) {
            g_autofree struct vring_desc *itbl = NULL;
            unsigned int n = 0;

            if (indirect) {
                return chain_fail(c, "indirect descriptor inside an indirect table");
            }
            if (flags & VRING_DESC_F_NEXT) {
                return chain_fail(c, "indirect descriptor with NEXT set");
            }
            itbl = chain_read_indirect(c, le64toh(d.addr), le32toh(d.len), &n);
            if (!itbl) {
                return false;
            }
            return split_walk(c, itbl, n, 0, true);
        }
        if (!chain_add(c, le64toh(d.addr), le32toh(d.len), flags & VRING_DESC_F_WRITE)) {
            return false;
        }
        if (!(flags & VRING_DESC_F_NEXT)) {
            return true;
        }
        i = le16toh(d.next);
    }
}

/* Walk a packed chain already copied to @descs[0..n). */
static bool packed_walk(VuChain *c, const struct vring_packed_desc *descs, unsigned int n)
{
    for (unsigned int k = 0; k < n; k++) {
        uint16_t flags = le16toh(descs[k].flags);

        if (flags & VRING_DESC_F_INDIRECT) {
            g_autofree struct vring_packed_desc *itbl = NULL;
            unsigned int in = 0;

            if (flags & VRING_DESC_F_NEXT) {
                return chain_fail(c, "indirect descriptor with NEXT set");
            }
            itbl = chain_read_indirect(c, le64toh(descs[k].addr), le32toh(descs[k].len), &in);
            if (!itbl) {
                return false;
            }
            for (unsigned int j = 0; j < in; j++) {
                uint16_t f = le16toh(itbl[j].flags);

                if (f & VRING_DESC_F_INDIRECT) {
                    return chain_fail(c, "indirect descriptor inside an indirect table");
                }
                if (!chain_add(c, le64toh(itbl[j].addr), le32toh(itbl[j].len),
                               f & VRING_DESC_F_WRITE)) {
                    return false;
                }
            }
            continue;
        }
        if (!chain_add(c, le64toh(descs[k].addr), le32toh(descs[k].len),
                       flags & VRING_DESC_F_WRITE)) {
            return false;
        }
    }
    return true;
}

/* Translate the collected buffers of @c (vu-mem, once per chain) and turn
 * them into an element holding the mappings' references.  NULL with
 * c->err set when a buffer does not map. */
static VuElemPriv *chain_to_elem(VuChain *c, unsigned int index)
{
    const VuRingShared *sh = c->vq->shared;
    VuMemChain m = {
        .out = sh->scratch_out, .out_max = VU_MAX_IOV,
        .in = sh->scratch_in, .in_gpa = sh->scratch_in_gpa, .in_max = VU_MAX_IOV,
    };
    const char *err = vu_mem_map_chain(sh->mem, c->segs, c->nsegs, &m);
    size_t sz;
    VuElemPriv *p;
    uint8_t *tail;

    if (err) {
        chain_fail(c, err);
        return NULL;
    }
    sz = sizeof(VuElemPriv) + sizeof(struct iovec) * (m.out_num + m.in_num) +
         sizeof(uint64_t) * m.in_num + sizeof(VuMmap *) * m.nmaps;
    p = g_malloc0(sz);
    tail = (uint8_t *)(p + 1);
    p->elem.index = index;
    p->elem.out_num = m.out_num;
    p->elem.in_num = m.in_num;
    p->elem.out_sg = (struct iovec *)tail;
    p->elem.in_sg = p->elem.out_sg + m.out_num;
    p->in_gpa = (uint64_t *)(p->elem.in_sg + m.in_num);
    p->maps = (VuMmap **)(p->in_gpa + m.in_num);
    memcpy(p->elem.out_sg, m.out, sizeof(struct iovec) * m.out_num);
    memcpy(p->elem.in_sg, m.in, sizeof(struct iovec) * m.in_num);
    memcpy(p->in_gpa, m.in_gpa, sizeof(uint64_t) * m.in_num);
    p->nmaps = m.nmaps;
    memcpy(p->maps, m.maps, sizeof(VuMmap *) * m.nmaps); /* references move in */
    p->qidx = (uint16_t)c->vq->idx;
    p->gen = c->vq->gen;
    return p;
}

static VuElemPriv *elem_dup(const VuElemPriv *src)
{
    size_t sz = sizeof(VuElemPriv) + sizeof(struct iovec) * (src->elem.out_num + src->elem.in_num) +
                sizeof(uint64_t) * src->elem.in_num + sizeof(VuMmap *) * src->nmaps;
    VuElemPriv *p = g_malloc(sz);
    uint8_t *tail = (uint8_t *)(p + 1);

    *p = *src;
    p->elem.out_sg = (struct iovec *)tail;
    p->elem.in_sg = p->elem.out_sg + src->elem.out_num;
    p->in_gpa = (uint64_t *)(p->elem.in_sg + src->elem.in_num);
    p->maps = (VuMmap **)(p->in_gpa + src->elem.in_num);
    memcpy(p->elem.out_sg, src->elem.out_sg, sizeof(struct iovec) * src->elem.out_num);
    memcpy(p->elem.in_sg, src->elem.in_sg, sizeof(struct iovec) * src->elem.in_num);
    memcpy(p->in_gpa, src->in_gpa, sizeof(uint64_t) * src->elem.in_num);
    for (unsigned int m = 0; m < src->nmaps; m++) {
        p->maps[m] = vu_mmap_ref(src->maps[m]);
    }
    return p;
}

void vu_elem_free(VuVirtqElement *elem)
{
    VuElemPriv *p = (VuElemPriv *)elem;

    if (!elem) {
        return;
    }
    for (unsigned int m = 0; m < p->nmaps; m++) {
        vu_mmap_unref(p->maps[m]);
    }
    g_free(p);
}

static void vq_set_busy(VuVirtq *vq, unsigned int id, bool busy)
{
    if (vq->busy && id < vq->num) {
        vq->busy[id] = busy;
    }
}

static bool vq_is_busy(const VuVirtq *vq, unsigned int id)
{
    return vq->busy && id < vq->num && vq->busy[id];
}

static VuElemPriv *split_read_elem(VuVirtq *vq, uint16_t head)
{
    VuChain c = { .vq = vq, .segs = vq->shared->scratch_segs };
    VuElemPriv *p;

    if (head >= vq->num) {
        vu_virtq_broken(vq, "guest says head %u is available in a ring of %u", head, vq->num);
        return NULL;
    }
    if (!split_walk(&c, (const struct vring_desc *)vq->desc, vq->num, head, false) ||
        !(p = chain_to_elem(&c, head))) {
        vu_virtq_broken(vq, "%s (head %u)", c.err, head);
        return NULL;
    }
    return p;
}

static VuElemPriv *packed_read_elem(VuVirtq *vq, const struct vring_packed_desc *descs,
                                    unsigned int n)
{
    VuChain c = { .vq = vq, .segs = vq->shared->scratch_segs };
    uint16_t id = le16toh(descs[n - 1].id);
    VuElemPriv *p;

    if (id >= vq->num) {
        vu_virtq_broken(vq, "buffer id %u out of range", id);
        return NULL;
    }
    if (!packed_walk(&c, descs, n) || !(p = chain_to_elem(&c, id))) {
        vu_virtq_broken(vq, "%s (buffer id %u)", c.err, id);
        return NULL;
    }
    return p;
}

static void split_set_avail_event(VuVirtq *vq, uint16_t val)
{
    st16(AVAIL_EVENT(vq), val);
    vq_log(vq, 4 + 8ull * vq->num, 2);
}

static VuElemPriv *split_pop(VuVirtq *vq)
{
    VuElemPriv *p;
    uint16_t avail, head, pos;

    if (vq->resubmit_pos < vq->resubmit_num) {
        head = vq->resubmit[vq->resubmit_pos++];
        p = split_read_elem(vq, head);
        if (p) {
            p->resubmitted = true;
            p->inflight_tracked = vq->inflight != NULL;
        }
        return p;
    }
    if (vq->shadow_avail_idx == vq->last_avail_idx) {
        avail = ld16(AVAIL_IDX(vq));
        if ((uint16_t)(avail - vq->last_avail_idx) > vq->num) {
            vu_virtq_broken(vq, "avail idx moved from %u to %u (ring of %u)", vq->last_avail_idx,
                            avail, vq->num);
            return NULL;
        }
        vq->shadow_avail_idx = avail;
        if (avail == vq->last_avail_idx) {
            return NULL;
        }
    }
    /* Read the ring entry and descriptors only after seeing the idx. */
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    pos = vq->last_avail_idx;
    head = ld16(AVAIL_RING(vq, pos % vq->num));
    if (vq_is_busy(vq, head)) {
        vu_virtq_broken(vq, "guest made head %u available while it is in use", head);
        return NULL;
    }
    p = split_read_elem(vq, head);
    if (!p) {
        return NULL;
    }
    vq->last_avail_idx++;
    p->avail_pos = pos;
    p->seq = vq->pop_seq++;
    vq->inuse++;
    vq_set_busy(vq, head, true);
    if (vq->inflight) {
        vu_inflight_split_pop(vq, head, vq->inflight_counter++);
        p->inflight_tracked = true;
    }
    if (vq_has_feature(vq, VIRTIO_RING_F_EVENT_IDX) && vq->notification) {
        split_set_avail_event(vq, vq->last_avail_idx);
    }
    return p;
}

static bool packed_desc_avail(const VuVirtq *vq, uint16_t pos, bool wrap)
{
    uint16_t f;

    if (pos >= vq->num) {
        return false;
    }
    f = ld16(vq->desc + 16 * (size_t)pos + 14);
    return !!(f & PACKED_F_AVAIL) == wrap && !!(f & PACKED_F_USED) != wrap;
}

static VuElemPriv *packed_pop(VuVirtq *vq)
{
    g_autofree struct vring_packed_desc *descs = NULL;
    uint16_t pos = vq->last_avail_idx;
    bool wrap = vq->avail_wrap;
    unsigned int n = 0;
    VuElemPriv *p;

    if (vq->resubmit_pos < vq->resubmit_num) {
        uint16_t entry = vq->resubmit[vq->resubmit_pos++];

        descs = g_new(struct vring_packed_desc, vq->num);
        n = vu_inflight_packed_chain(vq, entry, descs, vq->num);
        if (n == 0) {
            vu_virtq_broken(vq, "inflight entry %u is corrupt", entry);
            return NULL;
        }
        p = packed_read_elem(vq, descs, n);
        if (p) {
            p->resubmitted = true;
            p->inflight_tracked = true;
            p->inflight_entry = entry;
            p->ndescs = (uint16_t)n;
            vq_set_busy(vq, p->elem.index, true);
        }
        return p;
    }
    if (pos >= vq->num || !packed_desc_avail(vq, pos, wrap)) {
        return NULL;
    }
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    descs = g_new(struct vring_packed_desc, vq->num);
    for (;;) {
        uint16_t flags;

        if (n >= vq->num) {
            vu_virtq_broken(vq, "descriptor chain longer than the ring");
            return NULL;
        }
        memcpy(&descs[n], vq->desc + 16 * (size_t)pos, sizeof(descs[0]));
        flags = le16toh(descs[n].flags);
        n++;
        if (++pos == vq->num) {
            pos = 0;
            wrap = !wrap;
        }
        if (!(flags & VRING_DESC_F_NEXT)) {
            break;
        }
    }
    p = packed_read_elem(vq, descs, n);
    if (!p) {
        return NULL;
    }
    if (vq_is_busy(vq, p->elem.index)) {
        vu_virtq_broken(vq, "guest made buffer id %u available while it is in use",
                        p->elem.index);
        vu_elem_free(&p->elem);
        return NULL;
    }
    vq_set_busy(vq, p->elem.index, true);
    p->avail_pos = vq->last_avail_idx;
    p->avail_wrap = vq->avail_wrap;
    p->ndescs = (uint16_t)n;
    p->seq = vq->pop_seq++;
    vq->last_avail_idx = pos;
    vq->avail_wrap = wrap;
    vq->inuse++;
    if (vq->inflight &&
        vu_inflight_packed_pop(vq, descs, n, vq->inflight_counter, &p->inflight_entry)) {
        vq->inflight_counter++;
        p->inflight_tracked = true;
    }
    return p;
}

VuVirtqElement *vu_queue_pop(VuDev *dev, VuVirtq *vq)
{
    VuElemPriv *p;

    if (!vu_queue_ready(vq)) {
        return NULL;
    }
    p = g_queue_pop_head(&vq->unpopped);
    if (p) {
        return &p->elem;
    }
    p = vq->packed ? packed_pop(vq) : split_pop(vq);
    return p ? &p->elem : NULL;
}

/* Nothing for the device on the ring right now: no given-back copy, no
 * resubmission, no new avail entry. */
static bool vq_nothing_pending(VuVirtq *vq)
{
    if (!g_queue_is_empty(&vq->unpopped) || vq->resubmit_pos < vq->resubmit_num) {
        return false;
    }
    if (vq->packed) {
        return !packed_desc_avail(vq, vq->last_avail_idx, vq->avail_wrap);
    }
    return vq->shadow_avail_idx == vq->last_avail_idx &&
           ld16(AVAIL_IDX(vq)) == vq->last_avail_idx;
}

/*
 * vhost-user.rst "Ring states": a started, disabled ring "must process the
 * ring without causing any side effects" (a network device supplies no RX
 * and discards TX).  Which buffers belong to that state is decided here,
 * once: those the guest makes available after the ring became disabled
 * (SET_VRING_ENABLE(0), or a start before SET_VRING_ENABLE(1)).  Anything
 * pending at that moment was made available while the ring was enabled
 * (or before the stop that this start resumes: playback given back to
 * the ring at GET_VRING_BASE) and waits for the enabled state; the ring is
 * FIFO, so nothing behind it is taken either.
 */
void vu_virtq_mark_disabled(VuVirtq *vq)
{
    vq->discard_ok = vq_usable(vq) && !vq->enabled && vq_nothing_pending(vq);
}

/* The front-end has a message waiting: QEMU starts a ring (SET_VRING_KICK)
 * and enables it a few messages later, and a kick can be dispatched in
 * between; while it is still talking the ring's state may be about to
 * change. */
static bool vq_front_end_pending(const VuVirtq *vq)
{
    return vq->shared->host->front_end_pending(vq->shared->host_opaque);
}

VuVirtqElement *vu_queue_pop_state(VuDev *dev, VuVirtq *vq, VuQueueState *state)
{
    *state = vu_queue_state(vq);
    return *state == VU_QUEUE_READY ? vu_queue_pop(dev, vq) : NULL;
}

VuVirtqElement *vu_queue_pop_disabled(VuDev *dev, VuVirtq *vq)
{
    VuElemPriv *p;

    if (!vq_usable(vq) || vq->enabled || !vq->discard_ok ||
        !g_queue_is_empty(&vq->unpopped) || vq->resubmit_pos < vq->resubmit_num ||
        vq_front_end_pending(vq)) {
        return NULL;
    }
    p = vq->packed ? packed_pop(vq) : split_pop(vq);
    return p ? &p->elem : NULL;
}

static void elem_log_in(VuVirtq *vq, const VuElemPriv *p, uint32_t len)
{
    VuLog *log = vq->shared->log;

    if (!vq_has_feature(vq, VHOST_F_LOG_ALL) || !vu_log_active(log)) {
        return;
    }
    for (unsigned int i = 0; i < p->elem.in_num && len > 0; i++) {
        uint64_t l = MIN((uint64_t)len, (uint64_t)p->elem.in_sg[i].iov_len);

        vu_log_write(log, p->in_gpa[i], l);
        len -= (uint32_t)l;
    }
}

void vu_virtq_log_elem(const VuRingShared *shared, const VuVirtqElement *elem, size_t in_offset,
                       size_t len)
{
    const VuElemPriv *p = (const VuElemPriv *)elem;

    for (unsigned int i = 0; i < elem->in_num && len > 0; i++) {
        size_t l = elem->in_sg[i].iov_len;

        if (in_offset >= l) {
            in_offset -= l;
            continue;
        }
        l = MIN(l - in_offset, len);
        vu_log_write(shared->log, p->in_gpa[i] + in_offset, l);
        len -= l;
        in_offset = 0;
    }
    vu_log_kick(shared->log);
}

/* @p leaves the device for good (pushed or detached): nothing popped
 * before it can be rewound any more. */
static void vq_note_done(VuVirtq *vq, const VuElemPriv *p)
{
    if (!p->resubmitted && p->seq + 1 > vq->done_seq_end) {
        vq->done_seq_end = p->seq + 1;
    }
}

static void split_push(VuVirtq *vq, const VuElemPriv *p, uint32_t len)
{
    uint16_t slot = vq->used_idx % vq->num;
    uint8_t *ent = USED_RING(vq, slot);

    st32(ent, p->elem.index);
    st32(ent + 4, len);
    vq_log(vq, 4 + 8ull * slot, 8);
    if (p->inflight_tracked) {
        vu_inflight_split_push(vq, (uint16_t)p->elem.index, false);
    }
    __atomic_thread_fence(__ATOMIC_RELEASE);
    vq->used_idx++;
    st16(USED_IDX(vq), vq->used_idx);
    vq_log(vq, 2, 2);
    if (p->inflight_tracked) {
        vu_inflight_split_push(vq, (uint16_t)p->elem.index, true);
    }
}

static void packed_push(VuVirtq *vq, const VuElemPriv *p, uint32_t len)
{
    uint8_t *d = vq->desc + 16 * (size_t)vq->used_idx;
    uint16_t flags = vq->used_wrap ? (PACKED_F_AVAIL | PACKED_F_USED) : 0;
    unsigned int next;

    if (len) {
        flags |= VRING_DESC_F_WRITE;
    }
    st16(d + 12, (uint16_t)p->elem.index);
    st32(d + 8, len);
    if (p->inflight_tracked) {
        vu_inflight_packed_push(vq, p->inflight_entry, false);
    }
    __atomic_thread_fence(__ATOMIC_RELEASE);
    st16(d + 14, flags);
    vq_log_desc(vq, 16ull * vq->used_idx, 16);
    next = vq->used_idx + p->ndescs;
    if (next >= vq->num) {
        next -= vq->num;
        vq->used_wrap = !vq->used_wrap;
    }
    vq->used_idx = (uint16_t)next;
    if (p->inflight_tracked) {
        vu_inflight_packed_push(vq, p->inflight_entry, true);
    }
}

static void vq_push(VuVirtq *vq, const VuElemPriv *p, uint32_t len)
{
    const VuVirtqElement *elem = &p->elem;
    size_t in = vu_iov_size(elem->in_sg, elem->in_num);

    if (!vq_usable(vq) || p->gen != vq->gen || p->qidx != vq->idx) {
        return;
    }
    if (len > in) {
        len = (uint32_t)in; /* never over-report */
    }
    elem_log_in(vq, p, len);
    vq_note_done(vq, p);
    if (vq->packed) {
        packed_push(vq, p, len);
    } else {
        split_push(vq, p, len);
    }
    vq_set_busy(vq, elem->index, false);
    if (vq->inuse > 0) {
        vq->inuse--;
    }
    vu_log_kick(vq->shared->log);
}

void vu_queue_push(VuDev *dev, VuVirtq *vq, const VuVirtqElement *elem, uint32_t len)
{
    vq_push(vq, (const VuElemPriv *)elem, len);
}

void vu_queue_detach(VuDev *dev, VuVirtq *vq, const VuVirtqElement *elem)
{
    const VuElemPriv *p = (const VuElemPriv *)elem;

    if (p->gen != vq->gen || p->qidx != vq->idx) {
        return;
    }
    if (p->inflight_tracked) {
        if (vq->packed) {
            vu_inflight_packed_unpop(vq, p->inflight_entry);
        } else {
            vu_inflight_split_unpop(vq, (uint16_t)p->elem.index);
        }
    }
    vq_note_done(vq, p);
    vq_set_busy(vq, elem->index, false);
    if (vq->inuse > 0) {
        vq->inuse--;
    }
}

static void vq_rewind_tail(VuVirtq *vq, const VuElemPriv *p)
{
    if (vq->packed) {
        vq->last_avail_idx = p->avail_pos;
        vq->avail_wrap = p->avail_wrap;
        if (p->inflight_tracked) {
            vu_inflight_packed_unpop(vq, p->inflight_entry);
        }
    } else {
        vq->last_avail_idx = p->avail_pos;
        vq->shadow_avail_idx = p->avail_pos;
        if (p->inflight_tracked) {
            vu_inflight_split_unpop(vq, (uint16_t)p->elem.index);
        }
    }
    vq->pop_seq--;
    vq_set_busy(vq, p->elem.index, false);
    if (vq->inuse > 0) {
        vq->inuse--;
    }
}

bool vu_queue_unpop_tail(VuDev *dev, VuVirtq *vq, const VuVirtqElement *elem)
{
    const VuElemPriv *p = (const VuElemPriv *)elem;

    if (!vq->started || p->gen != vq->gen || p->qidx != vq->idx || p->resubmitted ||
        p->seq + 1 != vq->pop_seq) {
        return false;
    }
    vq_rewind_tail(vq, p);
    return true;
}

bool vu_queue_unpop(VuDev *dev, VuVirtq *vq, VuVirtqElement *elem)
{
    const VuElemPriv *p = (const VuElemPriv *)elem;
    bool again = true;

    if (!vq->started || p->gen != vq->gen || p->qidx != vq->idx || p->resubmitted ||
        p->seq < vq->done_seq_end) {
        return false; /* never the tail again: the caller completes it */
    }
    if (p->seq + 1 != vq->pop_seq) {
        g_queue_push_tail(&vq->unpopped, elem_dup(p));
        return true;
    }
    vq_rewind_tail(vq, p);
    /* Earlier give-backs may now be the tail too. */
    while (again) {
        again = false;
        for (GList *l = vq->unpopped.head; l; l = l->next) {
            VuElemPriv *q = l->data;

            if (!q->resubmitted && q->seq + 1 == vq->pop_seq) {
                vq_rewind_tail(vq, q);
                g_queue_delete_link(&vq->unpopped, l);
                vu_elem_free(&q->elem);
                again = true;
                break;
            }
        }
    }
    return true;
}

void vu_queue_notify(VuDev *dev, VuVirtq *vq)
{
    bool need;

    if (!vq_usable(vq) || vq->call_fd < 0) {
        return;
    }
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (!vq->packed) {
        if (vq_has_feature(vq, VIRTIO_RING_F_EVENT_IDX)) {
            uint16_t old = vq->signalled_used;
            bool valid = vq->signalled_used_valid;

            vq->signalled_used = vq->used_idx;
            vq->signalled_used_valid = true;
            need = !valid || vu_need_event(ld16(USED_EVENT(vq)), vq->used_idx, old);
        } else {
            need = !(ld16(AVAIL_FLAGS(vq)) & VRING_AVAIL_F_NO_INTERRUPT);
        }
    } else {
        uint16_t off_wrap = ld16(vq->avail);
        uint16_t flags = ld16(vq->avail + 2) & 3;
        uint16_t old = vq->signalled_used;
        bool valid = vq->signalled_used_valid;

        vq->signalled_used = vq->used_idx;
        vq->signalled_wrap = vq->used_wrap;
        vq->signalled_used_valid = true;
        if (flags == VRING_PACKED_EVENT_FLAG_DISABLE) {
            need = false;
        } else if (flags == VRING_PACKED_EVENT_FLAG_DESC &&
                   vq_has_feature(vq, VIRTIO_RING_F_EVENT_IDX) && valid) {
            uint16_t new_idx = vq->used_idx;
            bool w = vq->used_wrap;
            int off = off_wrap & 0x7fff;

            if (new_idx < old) {
                new_idx = (uint16_t)(new_idx + vq->num);
                w = !w;
            }
            if (w != (bool)(off_wrap >> 15)) {
                off += (int)vq->num;
            }
            need = vu_need_event((uint16_t)off, new_idx, old);
        } else {
            need = true;
        }
    }
    if (need) {
        uint64_t one = 1;
        ssize_t r = write(vq->call_fd, &one, sizeof(one));

        (void)r;
    }
}

void vu_queue_set_notification(VuDev *dev, VuVirtq *vq, bool enable)
{
    vq->notification = enable;
    if (!vq_usable(vq)) {
        return;
    }
    if (vq->packed) {
        st16(vq->used + 2,
             enable ? VRING_PACKED_EVENT_FLAG_ENABLE : VRING_PACKED_EVENT_FLAG_DISABLE);
        vq_log(vq, 2, 2);
    } else if (vq_has_feature(vq, VIRTIO_RING_F_EVENT_IDX)) {
        if (enable) {
            split_set_avail_event(vq, ld16(AVAIL_IDX(vq)));
        }
    } else {
        st16(USED_FLAGS(vq), enable ? 0 : VRING_USED_F_NO_NOTIFY);
        vq_log(vq, 0, 2);
    }
    if (enable) {
        /* Make the wish visible before the caller re-checks the ring. */
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
    }
}

bool vu_queue_empty(VuDev *dev, VuVirtq *vq)
{
    if (!vu_queue_ready(vq)) {
        return true;
    }
    if (!g_queue_is_empty(&vq->unpopped) || vq->resubmit_pos < vq->resubmit_num) {
        return false;
    }
    if (vq->packed) {
        return !packed_desc_avail(vq, vq->last_avail_idx, vq->avail_wrap);
    }
    if (vq->shadow_avail_idx != vq->last_avail_idx) {
        return false;
    }
    return ld16(AVAIL_IDX(vq)) == vq->last_avail_idx;
}

/* The public copy helpers are the project's one iovec implementation. */
size_t vu_iov_size(const struct iovec *iov, unsigned int cnt)
{
    return vsnd_iov_size(iov, cnt);
}

size_t vu_iov_to_buf(const struct iovec *iov, unsigned int cnt, size_t offset, void *buf,
                     size_t len)
{
    return vsnd_iov_to_buf(iov, cnt, offset, buf, len);
}

size_t vu_iov_from_buf(const struct iovec *iov, unsigned int cnt, size_t offset, const void *buf,
                       size_t len)
{
    return vsnd_buf_to_iov(iov, cnt, offset, buf, len);
}
