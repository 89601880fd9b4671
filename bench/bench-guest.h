/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bench-guest.h - a Linux-like virtio-snd guest driver for the benchmark,
 * on the test harness's fake front-end (QEMU's role) and fake guest RAM.
 *
 * Theory of operation: bg_open() replays what QEMU and the Linux driver do
 * at boot (guest-driver-notes.md sections 2, 9.1): realize, GET_CONFIG,
 * DRIVER_OK with four split rings, the event queue filled but not kicked,
 * one PCM_INFO covering all streams.  Control requests are synchronous
 * round trips on the control queue (request readable, response writable,
 * one indirect descriptor when INDIRECT_DESC is offered).  BgIo runs a set
 * of streams the way an application that keeps its ALSA buffer full
 * does: SET_PARAMS, PREPARE, @depth period messages queued ahead (tx:
 * xfer header + data + status; rx: header + writable data + status; data
 * cut at page boundaries like the driver's vmalloc'ed buffer), START, and
 * each completed message immediately re-queued.  Like Linux, a stream
 * whose device offers MSG_POLLING negotiates it and is then never kicked
 * (guest-driver-notes.md 4, 5.1).  Every completion is
 * time-stamped (CLOCK_MONOTONIC) when the call eventfd wakes us, which is
 * the guest's period clock (VIRTIO 1.2 5.14.6.8; notes 5.3).
 *
 * Ownership: BgDev owns its connection, guest RAM and rings; a BgIo
 * borrows its BgDev.  Single-threaded.  Errors from the back-end are
 * reported as GError, never asserted.
 */
#ifndef VSND_BENCH_GUEST_H
#define VSND_BENCH_GUEST_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "tests/harness/fake-frontend.h"
#include "tests/harness/fake-guest.h"

typedef struct BgStreamInfo {
    uint8_t direction;        /* VIRTIO_SND_D_OUTPUT / _INPUT */
    uint8_t channels_min, channels_max;
    uint32_t features;        /* VIRTIO_SND_PCM_F_* offered */
    uint64_t formats, rates;
} BgStreamInfo;

typedef struct BgDev {
    FfConn *ff;
    FgMem *mem;
    FgVq *vq[4];
    uint16_t qsize;
    bool indirect;
    uint32_t jacks, streams, chmaps;
    BgStreamInfo *info;       /* streams entries */
    uint64_t ctl_gpa;         /* BG_CTL_SLOTS scratch areas */
    bool no_polling;          /* never select MSG_POLLING (not what Linux does) */
} BgDev;

#define BG_CTL_SLOTS 32u
#define BG_CTL_AREA 8192u

/*
 * bg_connect() - connect to @socket (retrying until @timeout_ms) and run
 * QEMU's realize sequence only.
 */
FfConn *bg_connect(const char *socket, int timeout_ms, GError **error);

/*
 * bg_open() - connect, realize, start the rings, fill the event queue and
 * learn the streams.
 * @qsize: ring size of every queue (QEMU uses 64; more than 64 streams x
 *         periods need more).
 */
BgDev *bg_open(const char *socket, uint16_t qsize, GError **error);
void bg_close(BgDev *dev);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(BgDev, bg_close)

/* Stream ids of direction @dir (VIRTIO_SND_D_*), at most @max. */
GArray *bg_streams_of(const BgDev *dev, uint8_t dir, unsigned int max);

/*
 * bg_ctl() - one control request round trip.
 * @rtt_ns: if not NULL, kick to completion as seen here.
 * Return: the response status (VIRTIO_SND_S_*), or -1 with @error (time-out,
 * bad completion).
 */
int bg_ctl(BgDev *dev, const void *req, uint32_t req_len, void *resp, uint32_t resp_len,
           int64_t *rtt_ns, GError **error);

/* PCM_INFO for stream @id alone, timed; Return: as bg_ctl(). */
int bg_pcm_info_one(BgDev *dev, uint32_t id, int64_t *rtt_ns, GError **error);

/*
 * bg_ctl_burst() - @n PCM_INFO requests (n <= BG_CTL_SLOTS, needs n ring
 * slots) made available at once with one kick; waits for all of them.
 * Return: ns from kick to the last completion, or -1 with @error.
 */
int64_t bg_ctl_burst(BgDev *dev, unsigned int n, GError **error);

/* PCM requests without payload (PREPARE, RELEASE, START, STOP). */
int bg_pcm_simple(BgDev *dev, uint32_t code, uint32_t stream, GError **error);
/* SET_PARAMS; @features as Linux selects them: MSG_POLLING and EVT_XRUNS
 * if and only if the stream offers them (bg_linux_features()). */
int bg_pcm_set_params(BgDev *dev, uint32_t stream, uint32_t buffer_bytes,
                      uint32_t period_bytes, uint8_t channels, uint8_t format,
                      uint8_t rate, uint32_t features, GError **error);
uint32_t bg_linux_features(const BgDev *dev, uint32_t stream);

typedef struct BgIo BgIo;

typedef struct BgIoStats {
    uint64_t completions;
    uint64_t kicks;           /* notifications sent to the device */
    unsigned int polling;     /* streams that negotiated MSG_POLLING (never kicked) */
    uint64_t wakeups;         /* call eventfd wakeups seen */
    uint64_t bad_len;         /* completions with an unexpected used length */
    uint64_t bad_id;          /* completions of ids not in flight */
} BgIoStats;

/*
 * bg_io_new() - prepare @n streams of direction @dir.
 * @depth: period messages kept queued per stream.
 * @record: keep every completion time per stream.
 */
BgIo *bg_io_new(BgDev *dev, uint8_t dir, const uint32_t *ids, unsigned int n,
                unsigned int depth, uint32_t period_bytes, bool record);
void bg_io_free(BgIo *io);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(BgIo, bg_io_free)

/* SET_PARAMS (48 kHz, S16, 2 channels), PREPARE, queue @depth periods per
 * stream, START each stream (its start time is taken just before the
 * START kick). */
bool bg_io_start(BgIo *io, GError **error);
/* Serve completions and re-queue until CLOCK_MONOTONIC reaches @until_ns. */
bool bg_io_run(BgIo *io, int64_t until_ns, GError **error);
/* STOP and RELEASE every stream and collect the flushed messages. */
bool bg_io_stop(BgIo *io, GError **error);

const BgIoStats *bg_io_stats(const BgIo *io);
unsigned int bg_io_nstreams(const BgIo *io);
/* START time of stream number @i (0..n-1) in ns. */
int64_t bg_io_start_ns(const BgIo *io, unsigned int i);
/* Completion times (int64_t ns) of stream number @i, in order. */
const GArray *bg_io_times(const BgIo *io, unsigned int i);
/* Number of completions of stream @i. */
uint64_t bg_io_count(const BgIo *io, unsigned int i);

#endif /* VSND_BENCH_GUEST_H */
