/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * snd-fuzz.h - shared pieces of the sound device fuzz targets: a device
 * (stream manager, info, control elements, event queue) on the scriptable
 * fake host driver (tests/test-snd-fake-audio.c), guest buffers that are
 * exact-size heap blocks (so the sanitizers see any byte outside them),
 * and one interpreter of input records driving it.
 *
 * Input records (the first byte of each picks the kind, modulo 8; numbers
 * little endian):
 *   0 ctl:    u16 req_len, u16 resp_cap, req_len bytes: vsnd_ctl_handle()
 *   1 io:     u8 flags, u8 pieces, then per piece u8 len: a tx (flags bit 0)
 *             or rx message; the device-readable part is cut into
 *             (pieces & 7) descriptors, the writable part into
 *             (pieces >> 3 & 7); bit 1 multiplies the lengths by 16 except
 *             for the first piece and the last (header, status); then 4
 *             bytes: the start of the readable part (stream id), the rest
 *             is a pattern.  Nothing is submitted while its ring is stopped
 *   2 pcm:    u8 stream, u8 op, u8 arg: SET_PARAMS from a table of sane
 *             parameters (op 0; arg: entry, bit 2 MSG_POLLING, bit 3
 *             EVT_XRUNS) or PREPARE/RELEASE/START/STOP, as control requests
 *   3 host:   u8 which, u8 what, u16 n: a host event on an open fake stream
 *             (room, data, xrun, gone, back) or a fake driver failure switch
 *   4 queue:  u8 what: a ring stops/starts (vsnd_pcm_queue_stopped/started),
 *             give back on/off
 *   5 reset:  vsnd_pcm_reset()
 *   6 loop:   u8 n: run the default main context (ready sources only)
 *   7 gain:   u8 stream, u16 gain, u8 mute: vsnd_pcm_set_gain()
 * A target restricts the kinds with a mask.  The checks (abort() on
 * failure): the used length and status of every control reply and I/O
 * completion, per-stream FIFO completion order, transitions only where the
 * PCM table allows them, every message completed or discarded exactly once.
 */
#ifndef VSND_SND_FUZZ_H
#define VSND_SND_FUZZ_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "snd/snd-ctl.h"
#include "snd/snd-event.h"
#include "snd/snd-migrate.h"
#include "test-snd-fake.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum {
    SND_FUZZ_CTL,
    SND_FUZZ_IO,
    SND_FUZZ_PCM,
    SND_FUZZ_HOST,
    SND_FUZZ_QUEUE,
    SND_FUZZ_RESET,
    SND_FUZZ_LOOP,
    SND_FUZZ_GAIN,
};
#define SND_FUZZ_ALL 0xffu

typedef struct SndFuzzDev {
    VsndDeviceConfig *cfg;
    VsndAudio *audio; /* the registry's handle of the fake driver */
    FakeAudio *fake;  /* its backend: knobs and records */
    SndPcm *pcm;
    SndInfo *info;
    SndKctl *kctl;
    SndEventQueue *events;
    SndCtlCtx ctl;
    SndMigrateDev mig;
    GHashTable *live;        /* SndIoMsg * -> its guest buffers, not yet back */
    uint64_t *last_done;     /* per stream: sequence of the last completion */
    uint64_t next_seq;
    bool giveback;           /* host->giveback takes messages back */
    bool queue_stopped[2];   /* tx, rx ring stopped: nothing is popped */
} SndFuzzDev;

/* Quiet logs (FUZZ_VERBOSE=1 keeps them), criticals abort. */
void snd_fuzz_init_once(void);
/* @streams streams (even playback, odd capture), controls offered or not
 * (with an enum control besides the per-stream volume and mute). */
SndFuzzDev *snd_fuzz_dev_new(unsigned int streams, bool controls);
/* Frees everything; aborts if a message was neither completed nor
 * discarded. */
void snd_fuzz_dev_free(SndFuzzDev *f);
/* Run the records of @data whose kind is in @kinds (bit per kind). */
void snd_fuzz_run(SndFuzzDev *f, const uint8_t *data, size_t size, unsigned int kinds);
/* Helpers for set-up code (seed states): SET_PARAMS with entry @sel of
 * the parameter table, a command, a tx message of @len frame bytes. */
uint32_t snd_fuzz_set_params(SndFuzzDev *f, uint32_t stream, unsigned int sel);
uint32_t snd_fuzz_command(SndFuzzDev *f, uint32_t stream, uint32_t code);
void snd_fuzz_tx(SndFuzzDev *f, uint32_t stream, size_t len);
/* Stream 0 running with playback queued, stream 1 (capture) prepared. */
void snd_fuzz_busy(SndFuzzDev *f);
/* Stop the tx and rx rings that run (as before a state save or load). */
void snd_fuzz_stop_rings(SndFuzzDev *f);

/*
 * snd_fuzz_session() - the ctl and io targets: one byte of set-up (bits
 * 0-1: 1, 2, 4 or 6 streams; bit 2: no control elements offered; bit 3:
 * VIRTIO_SND_F_CTLS not negotiated), then records of the kinds @kinds.
 */
int snd_fuzz_session(const uint8_t *data, size_t size, unsigned int kinds);

#endif /* VSND_SND_FUZZ_H */
