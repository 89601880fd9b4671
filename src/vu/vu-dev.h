/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vu-dev.h - public API of the vhost-user protocol core.
 *
 * The core owns one front-end connection: it reads and validates messages,
 * maps guest memory, runs the split/packed virtqueues, inflight tracking and
 * dirty logging.  It does not depend on any main loop: the application
 * supplies watch callbacks (VuLoopOps) and calls vu_dev_dispatch() when the
 * socket is readable.  The device on top (virtio-snd) plugs in through
 * VuDevIface.  Everything here runs on one thread.
 *
 * Lifetime: vu_dev_new() takes ownership of the connected socket fd;
 * vu_dev_free() releases every resource of the connection (mappings, fds,
 * in-flight elements) and calls iface->reset() first.
 */
#ifndef VU_DEV_H
#define VU_DEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

typedef struct VuDev VuDev;
typedef struct VuVirtq VuVirtq;

/*
 * One popped descriptor chain, split into the driver-readable part (out_sg)
 * and the device-writable part (in_sg).  Every iovec lies entirely inside
 * mapped guest memory (checked once, at pop).  Allocated by vu_queue_pop(),
 * freed with vu_elem_free() after vu_queue_push() or vu_queue_detach().
 * The iovecs stay valid until then, even across memory-table changes (the
 * core defers unmapping of replaced regions).
 */
typedef struct VuVirtqElement {
    unsigned int index; /* head descriptor id (split) / buffer id (packed) */
    unsigned int out_num;
    unsigned int in_num;
    struct iovec *out_sg;
    struct iovec *in_sg;
} VuVirtqElement;

typedef void (*VuWatchCb)(VuDev *dev, int fd, void *data);

typedef struct VuLoopOps {
    /* Watch @fd for readability, call @cb(dev, fd, data) while readable. */
    void (*set_watch)(VuDev *dev, int fd, VuWatchCb cb, void *data, void *loop);
    void (*remove_watch)(VuDev *dev, int fd, void *loop);
} VuLoopOps;

/* Directions and phases of SET_DEVICE_STATE_FD (vhost-user spec). */
enum {
    VU_TRANSFER_STATE_DIRECTION_SAVE = 0,
    VU_TRANSFER_STATE_DIRECTION_LOAD = 1,
};
enum {
    VU_TRANSFER_STATE_PHASE_STOPPED = 0,
};

/* Why the device is being reset (passed to the reset hook). */
typedef enum {
    VU_RESET_STATUS,     /* SET_STATUS(0): newer QEMU sends it on every vhost stop */
    VU_RESET_DEVICE,     /* RESET_DEVICE: the guest reset the device */
    VU_RESET_DISCONNECT, /* the front-end closed the connection (end of file, reset) */
    VU_RESET_DROPPED,    /* the back-end ends a connection the front-end still holds
                          * (a malformed message, a stalled front-end, the daemon
                          * exits: vu_dev_free() without a close seen) */
} VuResetReason;

/*
 * The device's hooks.  All optional; a NULL hook means the default noted.
 * They are called from inside vu_dev_dispatch() or a kick watch.
 */
typedef struct VuDevIface {
    /* Device-specific virtio feature bits offered (transport bits and
     * VHOST_F_LOG_ALL / PROTOCOL_FEATURES are added by the core). */
    uint64_t (*get_features)(VuDev *dev);
    /* The front-end acked @features (whole virtio feature word). */
    void (*set_features)(VuDev *dev, uint64_t features);
    /* Fill @len bytes of config space starting at @offset; 0 or -errno. */
    int (*get_config)(VuDev *dev, uint8_t *config, uint32_t offset, uint32_t len);
    int (*set_config)(VuDev *dev, const uint8_t *data, uint32_t offset, uint32_t len,
                      uint32_t flags);
    /* Buffers may be available on queue @qidx (kick, or ring just started).
     * Also called for a started ring that is disabled: the device
     * processes it without side effects (vu_queue_pop_disabled()).
     * @opaque (the device's, as vu_dev_opaque() gives it) and the ring
     * @vq come in the call: the walk of one buffer from the kick to the
     * device enters this layer's files no more than it must. */
    void (*queue_kick)(VuDev *dev, void *opaque, VuVirtq *vq, int qidx);
    /* Ring @qidx was started/stopped.  On stop (GET_VRING_BASE) the device
     * must push or detach every element it holds from that queue before
     * returning: the core answers GET_VRING_BASE right after. */
    void (*queue_set_started)(VuDev *dev, int qidx, bool started);
    /* Every ring is stopped now (true) / the first ring started again. */
    void (*suspend)(VuDev *dev, bool suspended);
    /* Virtio device reset: RESET_DEVICE, SET_STATUS(0), or the end of
     * the connection (@why says which).  The device returns to its
     * power-on state.  (RESET_OWNER only disables the rings.) */
    void (*reset)(VuDev *dev, VuResetReason why);
    /* SET_DEVICE_STATE_FD: takes ownership of @fd.  Return 0 or -errno.
     * Must not block: transfer asynchronously.  *reply_fd = -1 unless the
     * back-end wants to supply its own pipe end. */
    int (*set_device_state_fd)(VuDev *dev, int direction, int phase, int fd, int *reply_fd);
    /* CHECK_DEVICE_STATE: 0 on success of the last transfer, else -errno. */
    int (*check_device_state)(VuDev *dev);
} VuDevIface;

/*
 * vu_dev_new() - wrap a connected vhost-user socket.
 * @fd: connected socket; owned by the VuDev from now on.
 * @num_queues: number of virtqueues the device has (4 for sound).
 * @max_queue_size: largest ring size accepted (<= 32768, power of two).
 * Return: a new device; never NULL.
 */
VuDev *vu_dev_new(int fd, unsigned int num_queues, unsigned int max_queue_size,
                  const VuDevIface *iface, void *iface_opaque,
                  const VuLoopOps *loop_ops, void *loop);
void vu_dev_free(VuDev *dev);

/* Socket readable: handle one message.  Return: false when the connection
 * must be dropped (peer closed, or a malformed message). */
bool vu_dev_dispatch(VuDev *dev);

int vu_dev_socket_fd(const VuDev *dev);
void *vu_dev_opaque(const VuDev *dev);
/* Negotiated virtio features. */
uint64_t vu_dev_features(const VuDev *dev);
bool vu_dev_has_feature(const VuDev *dev, unsigned int bit);
/* All rings stopped: the device must not touch guest memory or notify. */
bool vu_dev_suspended(const VuDev *dev);
/* A corrupt ring was seen; device needs reset.  Sets DEVICE_NEEDS_RESET
 * in the status when STATUS is negotiated. */
void vu_dev_set_broken(VuDev *dev, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
bool vu_dev_broken(const VuDev *dev);

/* Number of queues given to vu_dev_new(). */
unsigned int vu_dev_num_queues(const VuDev *dev);
/* Negotiated vhost-user protocol features. */
uint64_t vu_dev_protocol_features(const VuDev *dev);
/* Virtio device status as set by SET_STATUS (| NEEDS_RESET when broken). */
uint8_t vu_dev_status(const VuDev *dev);
/* The front-end handed back (SET_INFLIGHT_FD) an inflight region that
 * this connection did not create and that a back-end had set up: it
 * reconnects a running VM to a restarted back-end. */
bool vu_dev_inflight_handed_back(const VuDev *dev);
/* Queue @qidx, or NULL if @qidx >= num_queues. */
VuVirtq *vu_dev_queue(VuDev *dev, unsigned int qidx);
/* Ring size set by the front-end (0 before SET_VRING_NUM). */
unsigned int vu_queue_size(const VuVirtq *vq);
bool vu_queue_started(const VuVirtq *vq);
/* The ring's descriptor-area address as the front-end gave it
 * (SET_VRING_ADDR, front-end virtual address) and its base index as
 * GET_VRING_BASE would answer it. */
uint64_t vu_queue_desc_addr(const VuVirtq *vq);
uint32_t vu_queue_base(const VuVirtq *vq);
bool vu_queue_enabled(const VuVirtq *vq);
/* started && enabled && not broken && memory mapped: usable now. */
bool vu_queue_ready(const VuVirtq *vq);

/* A ring's state in one question (what a queue handler decides on). */
typedef enum {
    VU_QUEUE_STOPPED,  /* not started */
    VU_QUEUE_DISABLED, /* started, disabled: processed without side effects */
    VU_QUEUE_UNUSABLE, /* started and enabled, but broken or not mapped */
    VU_QUEUE_READY,    /* vu_queue_ready() */
} VuQueueState;
VuQueueState vu_queue_state(const VuVirtq *vq);

/* Next available chain, or NULL (empty, not ready, or broken).  The chain is
 * recorded as in flight (inflight region when negotiated). */
VuVirtqElement *vu_queue_pop(VuDev *dev, VuVirtq *vq);
/* A queue handler's first look at a kicked ring, in one call: the ring's
 * state in *@state and, when it is VU_QUEUE_READY, its next chain (NULL:
 * empty) as vu_queue_pop() gives it. */
VuVirtqElement *vu_queue_pop_state(VuDev *dev, VuVirtq *vq, VuQueueState *state);
/* vhost-user.rst "Ring states": a started but disabled ring "must process
 * the ring without causing any side effects".  The next chain the guest
 * made available since the ring became disabled, or NULL: the ring is
 * enabled (use vu_queue_pop()), stopped, empty, or still holds buffers
 * made available while it was enabled (they wait for the enable), or
 * the front-end has a message waiting.  The device completes what it
 * takes without acting on it (playback consumed, not played). */
VuVirtqElement *vu_queue_pop_disabled(VuDev *dev, VuVirtq *vq);
/* Put @len bytes-written of @elem into the used ring, log the written
 * guest pages (first @len bytes of in_sg and the used entry), clear the
 * inflight record.  Does not notify.  Ignored while the ring is stopped. */
void vu_queue_push(VuDev *dev, VuVirtq *vq, const VuVirtqElement *elem, uint32_t len);
/* Dirty-log in_sg bytes [@in_offset, @in_offset + @len) of @elem.  Only
 * needed for device writes beyond the first @len bytes given to
 * vu_queue_push() (e.g. a status written at the very end of the writable
 * area of a short completion); a no-op unless logging is active. */
void vu_queue_log_write(VuDev *dev, const VuVirtqElement *elem, size_t in_offset, size_t len);
/* Signal the call fd if the guest wants it (event idx / flags). */
void vu_queue_notify(VuDev *dev, VuVirtq *vq);
/* Give @elem back only if it is the newest element popped from @vq (the
 * avail index rewinds over it); false, and nothing done, otherwise.  The
 * caller still frees @elem. */
bool vu_queue_unpop_tail(VuDev *dev, VuVirtq *vq, const VuVirtqElement *elem);
/* Give @elem back unused.  The newest popped is rewound over at once; an
 * older one is popped again first and rewound once every element popped
 * after it is given back too (a stop completes it empty if they never
 * are).  Return: true if the ring took it back; false, and nothing done,
 * when it can never be rewound (an element popped after it was pushed or
 * detached already, or it was resubmitted from the inflight region): the
 * caller completes it.  @elem stays owned by the caller, who still frees
 * it with vu_elem_free() (the core keeps what it needs). */
bool vu_queue_unpop(VuDev *dev, VuVirtq *vq, VuVirtqElement *elem);
/* Drop an element without returning it to the guest (it is no longer
 * in flight for the core); the caller still frees it. */
void vu_queue_detach(VuDev *dev, VuVirtq *vq, const VuVirtqElement *elem);
/* Enable/disable guest notifications (kicks) for this queue. */
void vu_queue_set_notification(VuDev *dev, VuVirtq *vq, bool enable);
/* Look at @vq every poll interval, kicked or not, while it is started
 * (@on), or only when kicked again: for a device whose driver stops
 * kicking a ring (virtio-snd's MSG_POLLING).  A new avail entry is then
 * reported like a kick (VuDevIface.queue_kick).  The wish outlives ring
 * stops and starts; the device withdraws it. */
void vu_queue_set_polling(VuDev *dev, VuVirtq *vq, bool on);
bool vu_queue_empty(VuDev *dev, VuVirtq *vq);
void vu_elem_free(VuVirtqElement *elem);

/* Copy helpers over an element's scatter lists; return bytes copied. */
size_t vu_iov_to_buf(const struct iovec *iov, unsigned int cnt, size_t offset, void *buf,
                     size_t len);
size_t vu_iov_from_buf(const struct iovec *iov, unsigned int cnt, size_t offset,
                       const void *buf, size_t len);
size_t vu_iov_size(const struct iovec *iov, unsigned int cnt);

#endif /* VU_DEV_H */
