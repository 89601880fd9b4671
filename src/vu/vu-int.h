/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vu-int.h - what the files of the vhost-user core share: the ring state,
 * what rings work over (VuRingShared) and report through (VuRingHost).
 * The connection itself (struct VuDev) is private to vu-dev.c.
 * Not for the device or the daemon: they use vu-dev.h.
 */
#ifndef VU_INT_H
#define VU_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include <glib.h>
#include <linux/virtio_ring.h>

#include "guest-log.h"
#include "vu-dev.h"
#include "vu-log.h"
#include "vu-mem.h"
#include "vu-msg.h"

/* Most iovecs (per direction) one element may have. */
#define VU_MAX_IOV 2048
/* Most non-empty buffers one chain may collect (VU_MAX_IOV per direction). */
#define VU_MAX_CHAIN_SEGS (2 * VU_MAX_IOV)
/* Largest indirect table we read (entries). */
#define VU_MAX_INDIRECT 2048
/* Largest ring the protocol allows. */
#define VU_MAX_QUEUE_SIZE 32768

#define VU_STATUS_NEEDS_RESET 0x40


/* A popped element with the core's bookkeeping; elem must stay first. */
typedef struct VuElemPriv {
    VuVirtqElement elem;
    uint64_t seq;            /* pop order within the ring generation */
    uint32_t gen;            /* ring generation it was popped in */
    uint16_t qidx;
    uint16_t avail_pos;      /* split: avail index; packed: ring position */
    bool avail_wrap;         /* packed: avail wrap counter at avail_pos */
    bool resubmitted;        /* came from the inflight region */
    uint16_t ndescs;         /* packed: ring descriptors the chain used */
    uint16_t inflight_entry; /* packed: head entry in the inflight region */
    bool inflight_tracked;
    unsigned int nmaps;
    VuMmap **maps;
    uint64_t *in_gpa;        /* guest address of each in_sg entry */
} VuElemPriv;

/* Shared inflight area (GET/SET_INFLIGHT_FD). */
typedef struct VuInflightArea {
    uint8_t *addr;
    size_t size;
    uint16_t num_queues;
    uint16_t queue_size;
    size_t region_size;
    bool created;     /* GET_INFLIGHT_FD made it on this connection */
    bool handed_back; /* SET_INFLIGHT_FD of a region a back-end used before */
    int watch;        /* vu_sigbus_watch() handle, valid while addr is set */
} VuInflightArea;

/* How a ring reports to the device above it.  The ring code calls up only
 * through this table (vu-dev installs it), so vu-virtq.c and vu-inflight.c
 * depend on nothing above them. */
typedef struct VuRingHost {
    /* The ring is corrupt: the device needs a reset.  @msg says why. */
    void (*broken)(void *opaque, const char *msg);
    /* A ring started, stopped or changed between kicked and polled. */
    void (*poll_changed)(void *opaque);
    /* Ring @idx may hold new buffers: the device should look. */
    void (*kick)(void *opaque, unsigned int idx);
    /* A ring is starting, before it is first looked at (the device
     * leaves the suspended state if it was in it). */
    void (*starting)(void *opaque);
    /* Ring @idx started (after its first look) or is about to stop. */
    void (*started)(void *opaque, unsigned int idx, bool started);
    /* A ring stopped (the device is suspended when it was the last). */
    void (*stopped)(void *opaque);
    /* Watch a kick fd in the main loop (@cb's VuDev is the host's).
     * Return: false when there is no loop to watch it in. */
    bool (*watch_kick)(void *opaque, int fd, VuWatchCb cb, void *data);
    void (*unwatch_kick)(void *opaque, int fd);
    /* The front-end has a message waiting on the socket. */
    bool (*front_end_pending)(void *opaque);
} VuRingHost;

/* What every ring of a device works over, set up and written by vu-dev
 * alone: the features the front-end negotiated, the guest memory map and
 * dirty log (owned by the VuDev, here by reference), the table to report
 * through, and scratch space for walking one chain at a time. */
typedef struct VuRingShared {
    uint64_t features;
    uint64_t protocol_features;
    bool broken;               /* needs a reset: no ring is usable */
    VuMem *mem;
    VuLog *log;
    VuInflightArea *inflight;
    const VuRingHost *host;
    void *host_opaque;
    VuMemSeg *scratch_segs;    /* [VU_MAX_CHAIN_SEGS] */
    struct iovec *scratch_out;
    struct iovec *scratch_in;
    uint64_t *scratch_in_gpa;
} VuRingShared;

static inline bool vu_ring_has_feature(const VuRingShared *s, unsigned int bit)
{
    return bit < 64 && (s->features & (1ull << bit));
}

static inline bool vu_ring_has_protocol_feature(const VuRingShared *s, unsigned int bit)
{
    return bit < 64 && (s->protocol_features & (1ull << bit));
}

struct VuVirtq {
    const VuRingShared *shared; /* the device's, written by vu-dev */
    unsigned int idx;
    unsigned int num;          /* ring size, 0 until SET_VRING_NUM */

    VuMsgVringAddr addr;
    bool addr_set;
    bool mapped;
    bool packed;               /* latched when the ring starts */
    uint8_t *desc;             /* split vring_desc[] / packed desc ring */
    uint8_t *avail;            /* split avail ring / packed driver area */
    uint8_t *used;             /* split used ring / packed device area */
    uint64_t desc_gpa;
    bool desc_gpa_ok;

    int kick_fd;
    int call_fd;
    int err_fd;
    bool kick_watched;
    bool polled;               /* kick-less ring (no-fd flag) */
    bool device_polls;         /* the device asked for polling (vu_queue_set_polling) */

    bool started;
    bool enabled;
    bool activated;            /* indices read from memory after start */
    /* Started and disabled with nothing pending from before: what the
     * guest makes available from now on is processed as disabled
     * (vu_queue_pop_disabled()). */
    bool discard_ok;
    uint32_t gen;

    /* Split: free-running indices.  Packed: positions < num + wraps. */
    uint16_t last_avail_idx;
    uint16_t shadow_avail_idx;
    uint16_t used_idx;
    bool avail_wrap;
    bool used_wrap;
    uint16_t signalled_used;
    bool signalled_wrap;
    bool signalled_used_valid;
    bool notification;         /* kicks wanted */
    uint16_t poll_seen;
    bool poll_seen_wrap;

    unsigned int inuse;
    uint8_t *busy;             /* [num]: head / buffer id is with the device */
    uint64_t pop_seq;
    uint64_t done_seq_end;     /* 1 + newest pop_seq completed or detached */
    GQueue unpopped;           /* VuElemPriv copies, popped first */

    /* Inflight tracking of this ring (NULL when not negotiated). */
    uint8_t *inflight;
    uint64_t inflight_counter;
    uint16_t *resubmit;        /* split heads / packed entries, in order */
    unsigned int resubmit_num;
    unsigned int resubmit_pos;
};


/* vu-virtq.c: the rings, over @shared; they never read the VuDev. */
void vu_virtq_init(VuVirtq *vq, const VuRingShared *shared, unsigned int idx);
/* Forget everything (device reset); fds are kept unless @close_fds. */
void vu_virtq_reset(VuVirtq *vq, bool close_fds);
/* (Re)translate the ring addresses.  Return: false if they do not fit. */
bool vu_virtq_map(VuVirtq *vq);
void vu_virtq_start(VuVirtq *vq);
void vu_virtq_stop(VuVirtq *vq);
/* Called when a started ring may have become usable (mapping, enable). */
void vu_virtq_try_activate(VuVirtq *vq);
void vu_virtq_set_kick(VuVirtq *vq, int fd);
void vu_virtq_set_call(VuVirtq *vq, int fd);
void vu_virtq_set_err(VuVirtq *vq, int fd);
void vu_virtq_poll(VuVirtq *vq);
/* The ring is started and wants the poll timer (kick-less, or the device
 * asked). */
bool vu_virtq_polled(const VuVirtq *vq);
/* The inflight area is about to change: forget the ring's region (bound
 * again at the next start). */
void vu_virtq_unbind_inflight(VuVirtq *vq);
/* The ring was just disabled, or activated while disabled. */
void vu_virtq_mark_disabled(VuVirtq *vq);
/* Ring corrupt: log, mark the device broken, signal the err fd. */
void vu_virtq_broken(VuVirtq *vq, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
/* GET_VRING_BASE encoding of the ring indices. */
uint32_t vu_virtq_get_base(const VuVirtq *vq);
/* SET_VRING_BASE. Return: false if @base is not acceptable. */
bool vu_virtq_set_base(VuVirtq *vq, uint32_t base);
/* Log a device write of @len bytes at @in_offset into @elem's in_sg as
 * dirty (the caller checked that logging is on and a ring runs). */
void vu_virtq_log_elem(const VuRingShared *shared, const VuVirtqElement *elem, size_t in_offset,
                       size_t len);

/* vu-inflight.c */
size_t vu_inflight_region_size(uint16_t queue_size);
/* GET_INFLIGHT_FD / SET_INFLIGHT_FD of a device with @max_queues rings;
 * the area replaces the previous one (the caller unbinds the rings). */
int vu_inflight_get(VuInflightArea *area, unsigned int max_queues, VuMsgInflight *desc,
                    int *ret_fd);
int vu_inflight_set(VuInflightArea *area, unsigned int max_queues, const VuMsgInflight *desc,
                    int fd);
void vu_inflight_clear(VuInflightArea *area);
/* Forget the inflight content (device reset): regions re-initialise. */
void vu_inflight_reset(VuInflightArea *area);
/* What a ring's inflight region says when the ring starts.  vu-inflight
 * computes it and writes nothing of the ring; the ring applies it (the one
 * writer of its own indices). */
typedef struct VuInflightStart {
    uint8_t *region;          /* the queue's region; NULL: not tracked */
    uint16_t *resubmit;       /* split heads / packed entries, in order (owned) */
    unsigned int resubmit_num;
    uint64_t counter;         /* next inflight counter */
    /* A valid region was found: the ring's indices and in-use count after
     * the restore (unchanged values otherwise). */
    bool restored;
    uint16_t last_avail_idx;
    uint16_t used_idx;
    bool avail_wrap;
    bool used_wrap;
    unsigned int inuse;
} VuInflightStart;
/* Ring start: bind the queue region (re-initialised when it is not
 * valid), and compute the resubmission list and indices. */
void vu_inflight_queue_start(const VuVirtq *vq, VuInflightStart *st);
/* The rest record pops and pushes in the region; none writes the ring
 * (@counter: the pop's place in the resubmission order, from the ring). */
void vu_inflight_split_pop(const VuVirtq *vq, uint16_t head, uint64_t counter);
void vu_inflight_split_push(const VuVirtq *vq, uint16_t head, bool commit);
void vu_inflight_split_unpop(const VuVirtq *vq, uint16_t head);
/* Packed: record a chain of ring descriptors (16-byte wire format). */
bool vu_inflight_packed_pop(const VuVirtq *vq, const struct vring_packed_desc *descs,
                            unsigned int n, uint64_t counter, uint16_t *ret_entry);
void vu_inflight_packed_push(const VuVirtq *vq, uint16_t entry, bool commit);
void vu_inflight_packed_unpop(const VuVirtq *vq, uint16_t entry);
/* Packed resubmission: copy the chain stored at @entry.  Return count. */
unsigned int vu_inflight_packed_chain(const VuVirtq *vq, uint16_t entry,
                                      struct vring_packed_desc *out, unsigned int max);

#endif /* VU_INT_H */
