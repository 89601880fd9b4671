/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * snd-guest.h - a fake Linux virtio-snd driver for tests and benchmarks.
 *
 * Theory of operation: SgGuest sits on an FfConn (QEMU's role) and plays
 * Linux's sound/virtio/ driver as its source reads:
 *
 *  - boot (sg_boot): QEMU realize; the driver creates the 4 queues,
 *    disables the event queue's callback and fills it with one 8-byte
 *    writable buffer per ring slot WITHOUT a kick; DRIVER_OK (QEMU's
 *    vhost start); then the probe queries, each config field read as a
 *    separate GET_CONFIG(0, config_size) like QEMU's vub_get_config():
 *    jacks -> JACK_INFO(0, jacks, 24), streams -> PCM_INFO(0, streams, 32),
 *    chmaps -> CHMAP_INFO(0, chmaps, 24), one query per type covering all
 *    items and only when the count is non-zero; last the event callback
 *    is enabled.  (Control elements: not yet, see below.)
 *  - control requests (sg_ctl*): readable [request][extra], writable
 *    [status hdr][payload] as separate descriptors (or one indirect table
 *    when INDIRECT_DESC is negotiated), kicked, waited for with a timeout
 *    like msg_timeout_ms (1 s default).
 *  - PCM I/O (SgIoMsg): one message per period, allocated at "hw_params"
 *    time; the period's data lives in separately allocated pages scattered
 *    over the guest regions (Linux's vmalloc DMA buffer), so a message is
 *    xfer(4) + one descriptor per page + status(8): tx readable
 *    xfer+data, writable status; rx readable xfer, writable data+status
 *    with the status in its own last descriptor.
 *  - events: completed event buffers are read, zeroed, re-added and the
 *    queue kicked (virtsnd_event_notify_cb()).
 *
 * Control elements (VIRTIO_SND_F_CTLS, Linux >= 6.9) use the structs of
 * src/snd/snd-proto.h: when that header is in the tree (SG_HAVE_CTLS) and
 * SgOpts.controls is set, the fake driver acks F_CTLS, reads the 16-byte
 * config, sends CTL_INFO(0, controls, 96) and one CTL_ENUM_ITEMS per
 * ENUMERATED control, validating like the newest Linux
 * (virtsnd_kctl_validate_info()).  sg_ctl() sends any CTL_* request.
 *
 * Ownership: SgGuest borrows the FfConn and owns its guest memory and
 * rings.  Single-threaded.
 */
#ifndef VSND_TESTS_SND_GUEST_H
#define VSND_TESTS_SND_GUEST_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include <linux/virtio_snd.h>

#include "fake-frontend.h"
#include "fake-guest.h"

#define SG_CTL_SLOTS 16
#define SG_CTL_RESP_MAX 16384u
#define SG_DEFAULT_TIMEOUT_MS 1000   /* Linux msg_timeout_ms */
#define SG_MAX_STREAMS 64

typedef struct SgOpts {
    bool packed;              /* ack VIRTIO_F_RING_PACKED when offered (split
                               * otherwise).  Linux always does: QEMU 10 with
                               * Linux 6.12 and 7.2 negotiate packed rings with
                               * this daemon (qemu-sequences/boot.txt).  Still
                               * off by default: test-integration-proto's
                               * dirty-log and suspended tests use split-only
                               * helpers with the default options */
    bool no_indirect;         /* do not ack INDIRECT_DESC */
    bool no_event_idx;        /* do not ack EVENT_IDX */
    uint16_t queue_size;      /* default 64 (QEMU vhost-user-snd) */
    unsigned int nregions;    /* guest RAM layout, default 3 x 4 MiB */
    uint64_t region_size;
    uint64_t gap;             /* default 1 MiB */
    uint32_t config_size;     /* GET_CONFIG size: 12 (default) or 16 */
    int ctl_timeout_ms;       /* default SG_DEFAULT_TIMEOUT_MS */
    bool skip_probe;          /* boot stops after DRIVER_OK + event fill */
    bool controls;            /* ack F_CTLS (QEMU controls=on, config 16) */
    uint32_t max_seg;         /* cut every control and I/O descriptor at this
                               * many bytes (headers and status included):
                               * valid framing Linux never uses (0: off) */
} SgOpts;

/* One control request in flight. */
typedef struct SgCtl {
    bool busy;
    uint64_t req_gpa, resp_gpa;
    uint32_t resp_len;
    gint64 submitted_us;
    gint64 completed_us;      /* 0 while pending */
    uint32_t used_len;
} SgCtl;

/* One period message. */
typedef struct SgIoMsg {
    uint32_t stream_id;
    bool capture;             /* rx */
    uint32_t period_bytes;
    uint64_t xfer_gpa;
    uint64_t status_gpa;
    unsigned int npages;
    uint64_t *page_gpa;       /* each FG_PAGE_SIZE (last may be shorter) */
    bool pending;
    unsigned int seq;         /* submission order (per SgGuest) */
    gint64 submitted_us, completed_us;
    uint32_t used_len;
    uint32_t status;          /* from the status struct */
    uint32_t latency_bytes;
} SgIoMsg;

typedef struct SgGuest {
    FfConn *ff;
    FgMem *mem;
    FgVq *vq[4];
    SgOpts opts;
    uint64_t features;        /* acked virtio features */
    bool indirect, event_idx, packed;
    uint32_t jacks, streams, chmaps;
    struct virtio_snd_jack_info *jack;
    struct virtio_snd_pcm_info *pcm;
    struct virtio_snd_chmap_info *chmap;
    uint32_t controls;        /* with F_CTLS */
    uint8_t *ctl_info;        /* controls x 96-byte CTL_INFO entries */
    uint8_t **ctl_items;      /* per control: items x 64 bytes, or NULL */
    uint64_t event_gpa;       /* queue_size x struct virtio_snd_event */
    unsigned int events_seen;
    SgCtl ctl[SG_CTL_SLOTS];
    unsigned int io_seq;
    GPtrArray *msgs;          /* every SgIoMsg allocated (owned) */
    bool owns_ff;             /* made by sg_connect(): ff freed with us */
    uint32_t pcm_features[SG_MAX_STREAMS]; /* accepted SET_PARAMS features */
} SgGuest;

#if defined(__has_include)
#if __has_include("snd/snd-proto.h")
#define SG_HAVE_CTLS 1
#endif
#endif

/* Defaults for @o. */
void sg_opts_init(SgOpts *o);
/* Create the fake guest on @ff (memory now; rings at boot). */
SgGuest *sg_new(FfConn *ff, const SgOpts *o);
void sg_free(SgGuest *sg);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SgGuest, sg_free)

/* Full boot as above.  Return: false with @error on any failure (a real
 * Linux probe would fail the card in the same cases: non-OK status,
 * timeout, invalid info). */
bool sg_boot(SgGuest *sg, GError **error);
/* Guest reset / driver unbind: QEMU's stop sequence, rings reset. */
bool sg_reset(SgGuest *sg, GError **error);
/* After a reset: re-create queues, event fill, DRIVER_OK (no re-probe,
 * like virtsnd_restore()). */
bool sg_restart(SgGuest *sg, GError **error);
/* Pieces for replaying a recorded sequence (frontend-replay.h): the
 * driver's rings for the acked @acked features, created if missing, and
 * the event queue filled without a kick; a guest reset of the rings
 * (zeroed, nothing in flight, events refilled); one probe query whose
 * answer is kept like sg_boot()'s (JACK/PCM/CHMAP_INFO). */
void sg_setup_rings(SgGuest *sg, uint64_t acked);
void sg_reset_rings(SgGuest *sg);
bool sg_probe_info(SgGuest *sg, uint32_t code, uint32_t start, uint32_t count, uint32_t size,
                   GError **error);
/* Read one config field as QEMU does for the guest. */
bool sg_read_config(SgGuest *sg, uint32_t offset, uint32_t *value, GError **error);

/* --- control queue --- */
/*
 * sg_ctl_submit() - queue one control request and kick.
 * @req/@req_len: device-readable request (copied into guest memory);
 * @extra: optional second readable descriptor.
 * @resp_len: payload bytes expected after the 4-byte status header.
 * Return: the slot, or NULL with @error (no slot / ring full).
 */
SgCtl *sg_ctl_submit(SgGuest *sg, const void *req, size_t req_len, const void *extra,
                     size_t extra_len, uint32_t resp_len, GError **error);
/* Wait for @c to complete (other control completions are recorded on
 * their slots).  Return: false on timeout (@error set; the slot stays
 * busy, as Linux leaves the message in the queue). */
bool sg_ctl_wait(SgGuest *sg, SgCtl *c, int timeout_ms, GError **error);
/* Status code the device wrote / pointer to the response payload. */
uint32_t sg_ctl_status(SgGuest *sg, const SgCtl *c);
const void *sg_ctl_payload(SgGuest *sg, const SgCtl *c);
void sg_ctl_release(SgCtl *c);
/* Submit + wait + copy payload out.  *status gets the device's code. */
bool sg_ctl(SgGuest *sg, const void *req, size_t req_len, void *resp, uint32_t resp_len,
            uint32_t *status, GError **error);
bool sg_query_info(SgGuest *sg, uint32_t code, uint32_t start, uint32_t count, uint32_t size,
                   void *out, uint32_t *status, GError **error);
bool sg_pcm_set_params(SgGuest *sg, uint32_t sid, uint32_t buffer_bytes, uint32_t period_bytes,
                       uint8_t channels, uint8_t format, uint8_t rate, uint32_t features,
                       uint32_t *status, GError **error);
/* The features Linux puts into PCM_SET_PARAMS for stream @sid
 * (virtsnd_pcm_dev_set_params()): MSG_POLLING and EVT_XRUNS whenever
 * PCM_INFO offers them (captured: features 0x14 on both kernels). */
uint32_t sg_linux_pcm_features(const SgGuest *sg, uint32_t sid);
/* PREPARE / START / STOP / RELEASE. */
bool sg_pcm_cmd(SgGuest *sg, uint32_t code, uint32_t sid, uint32_t *status, GError **error);

/* --- PCM I/O --- */
/* Allocate one period message for stream @sid (direction from PCM_INFO,
 * or output if unknown). */
SgIoMsg *sg_io_msg_new(SgGuest *sg, uint32_t sid, bool capture, uint32_t period_bytes);
/* Queue a tx message with @data (period_bytes) / an rx message; kick
 * unless @no_kick or the stream's accepted SET_PARAMS carried
 * MSG_POLLING (Linux never kicks tx/rx then: the captures show only the
 * control queue kicked while aplay/arecord run).
 * Return: 0 or -errno (-ENOSPC ring full). */
int sg_tx_submit(SgGuest *sg, SgIoMsg *m, const void *data, bool no_kick);
int sg_rx_submit(SgGuest *sg, SgIoMsg *m, bool no_kick);
/* Next completion on the tx (capture=false) or rx queue.  Return: the
 * message (fields updated) or NULL on timeout.  A completion for a
 * buffer not in flight fails the test. */
SgIoMsg *sg_io_wait(SgGuest *sg, bool capture, int timeout_ms);
/* Copy an rx message's data out. */
void sg_io_read(SgGuest *sg, const SgIoMsg *m, void *buf);

/* --- events --- */
/* Next event the device wrote, re-queueing the buffer and kicking like
 * Linux.  Return: false on timeout. */
bool sg_event_get(SgGuest *sg, struct virtio_snd_event *ev, int timeout_ms);
/* Event buffers currently available to the device. */
unsigned int sg_event_free(SgGuest *sg);

struct VdProc;
/* Connect a new front-end to the daemon @vd and make a guest on it that
 * owns the connection (not booted yet). */
SgGuest *sg_connect(struct VdProc *vd, const SgOpts *o, GError **error);
/* A fresh front-end boots a guest fully (probe included), one PCM_INFO
 * query succeeds with the same stream count, clean stop and disconnect:
 * "the daemon still serves the next front-end cleanly". */
bool sg_check_serves(struct VdProc *vd, GError **error);

#endif /* VSND_TESTS_SND_GUEST_H */
