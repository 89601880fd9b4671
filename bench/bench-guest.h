/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bench-guest.h - the benchmark's guest: the harness's fake Linux
 * virtio-snd driver (tests/harness/snd-guest.h) driven like an application
 * that keeps its ALSA buffer full, with every completion time-stamped.
 *
 * Theory of operation: bg_open() connects (retrying while the back-end
 * starts), then sg_boot() does what QEMU and Linux do at boot (realize,
 * event queue filled without a kick, DRIVER_OK, one INFO query per item
 * type).  BgIo runs a set of streams: SET_PARAMS (features selected as
 * Linux does: MSG_POLLING and EVT_XRUNS iff offered), PREPARE, @depth
 * period messages queued ahead (one message per period: xfer header, data
 * pages, status), START, then each completed message re-queued at once.
 * A stream that negotiated MSG_POLLING is never kicked (Linux never kicks
 * it).  Completions are time-stamped with CLOCK_MONOTONIC when the call
 * eventfd wakes us: that is the guest's period clock (notes 5.3).
 *
 * Ownership: BgDev owns the connection and the SgGuest; a BgIo borrows its
 * BgDev.  Single-threaded.  Back-end failures come back as GError.
 */
#ifndef VSND_BENCH_GUEST_H
#define VSND_BENCH_GUEST_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "tests/harness/fake-frontend.h"
#include "tests/harness/snd-guest.h"

typedef struct BgDev {
    SgGuest *sg;
    FfConn *ff;               /* sg->ff, owned through the guest */
    bool no_polling;          /* never select MSG_POLLING (not what Linux does) */
} BgDev;

#define BG_BURST_MAX SG_CTL_SLOTS

/* Connect to @socket, retrying until @timeout_ms (the back-end may still
 * be starting); with @realize also QEMU's realize sequence. */
FfConn *bg_connect(const char *socket, int timeout_ms, bool realize, GError **error);

/*
 * bg_open() - connect and boot a Linux-like guest.
 * @qsize: ring size of every queue (QEMU uses 64; 64 streams x 4
 *         periods need 256).
 */
BgDev *bg_open(const char *socket, uint16_t qsize, GError **error);
void bg_close(BgDev *dev);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(BgDev, bg_close)

uint32_t bg_streams(const BgDev *dev);
bool bg_indirect(const BgDev *dev);
/* Stream ids of direction @dir (VIRTIO_SND_D_*) that take 48 kHz S16
 * stereo, at most @max. */
GArray *bg_streams_of(const BgDev *dev, uint8_t dir, unsigned int max);
/* The SET_PARAMS features Linux selects for @stream (MSG_POLLING unless
 * dev->no_polling, EVT_XRUNS), each iff offered. */
uint32_t bg_linux_features(const BgDev *dev, uint32_t stream);

/* PCM_INFO of stream @id alone; @rtt_ns gets submit-to-completion.
 * Return: the status, or -1 with @error. */
int bg_pcm_info_one(BgDev *dev, uint32_t id, int64_t *rtt_ns, GError **error);
/* @n (<= BG_BURST_MAX) PCM_INFO requests queued back to back, then all
 * awaited.  Return: ns from the first submission to the last completion,
 * or -1 with @error. */
int64_t bg_ctl_burst(BgDev *dev, unsigned int n, GError **error);
/* PREPARE / START / STOP / RELEASE; Return: status or -1 with @error. */
int bg_pcm_simple(BgDev *dev, uint32_t code, uint32_t stream, GError **error);
int bg_pcm_set_params(BgDev *dev, uint32_t stream, uint32_t buffer_bytes,
                      uint32_t period_bytes, uint8_t channels, uint8_t format,
                      uint8_t rate, uint32_t features, GError **error);

typedef struct BgIo BgIo;

typedef struct BgIoStats {
    uint64_t completions;
    uint64_t kicks;           /* notifications sent to the device */
    uint64_t wakeups;         /* call eventfd wakeups seen */
    uint64_t bad_len;         /* completions with an unexpected used length */
    unsigned int polling;     /* streams that negotiated MSG_POLLING (never kicked) */
    int64_t max_gap_ns;       /* longest time between two of our wakeups while running
                               * (about a period is normal) */
} BgIoStats;

/*
 * bg_io_new() - @n streams of direction @dir, @depth periods of
 * @period_bytes queued per stream; @record keeps every completion time.
 */
BgIo *bg_io_new(BgDev *dev, uint8_t dir, const uint32_t *ids, unsigned int n,
                unsigned int depth, uint32_t period_bytes, bool record);
void bg_io_free(BgIo *io);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(BgIo, bg_io_free)

/* SET_PARAMS (48 kHz, S16, 2 channels), PREPARE, queue the periods, START
 * each stream (its start time is taken just before its START). */
bool bg_io_start(BgIo *io, GError **error);
/* Serve completions and re-queue until CLOCK_MONOTONIC reaches @until_ns. */
bool bg_io_run(BgIo *io, int64_t until_ns, GError **error);
/* STOP and RELEASE every stream, collect the flushed messages. */
bool bg_io_stop(BgIo *io, GError **error);

const BgIoStats *bg_io_stats(const BgIo *io);
/* START time of stream number @i (0..n-1) in ns. */
int64_t bg_io_start_ns(const BgIo *io, unsigned int i);
/* Completion times (int64_t ns) of stream number @i, in order, or NULL. */
const GArray *bg_io_times(const BgIo *io, unsigned int i);

#endif /* VSND_BENCH_GUEST_H */
