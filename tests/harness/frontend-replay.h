/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * frontend-replay.h - drive the daemon through a sequence recorded from
 * the real QEMU (tests/data/qemu-sequences/, format in qemu-sequence.h).
 *
 * Theory of operation: FrReplay sits on a fake guest (SgGuest, which owns
 * the FfConn, guest memory and rings) and turns each line back into the
 * request QEMU sent, with the fake guest acting where the real guest
 * acted in between:
 *  - SET_FEATURES: the driver's rings exist (created for the acked
 *    features, event queue filled without a kick, like virtsnd_find_vqs())
 *  - SET_VRING_BASE of the control queue with a fresh value while the
 *    guest had already used its rings: the guest was reset, its rings
 *    start over (sg_reset_rings())
 *  - SET_VRING_BASE "saved": the value the back-end answered to that
 *    ring's last GET_VRING_BASE, as QEMU restores it
 *  - ADD_MEM_REG: the k-th region of the guest memory (make the guest with
 *    as many regions as the sequence adds, fr_count())
 *  - CTL JACK/PCM/CHMAP_INFO: the probe query, answers kept in the guest
 *  - KICKED r...: QEMU's kick of those rings when it hands them over
 *  - DISCONNECT: the socket is shut down (QEMU exited)
 *  - GET_INFLIGHT_FD / SET_INFLIGHT_FD: the region is taken from the
 *    back-end, or handed back (the previous connection's, adopted with
 *    ff_adopt_inflight(), when the back-end restarted)
 *  - SET_DEVICE_STATE_FD save/load (+ CHECK_DEVICE_STATE): ff_save_state()
 *    keeps the blob (fr_state()), ff_load_state() sends the one given with
 *    fr_set_state(); SET_LOG_BASE: a fresh log covering the guest memory
 *  - SET_VRING_BASE "other" on a migration destination: the source's
 *    GET_VRING_BASE answers, handed over with fr_adopt_bases()
 * CTL PCM_* lines (the captured aplay/arecord) are not replayed: the tests
 * play with the fake guest themselves.
 */
#ifndef VSND_TESTS_FRONTEND_REPLAY_H
#define VSND_TESTS_FRONTEND_REPLAY_H

#include <glib.h>
#include <stdbool.h>

#include "snd-guest.h"

typedef struct FrReplay FrReplay;

/* Replay onto @sg (borrowed; its FfConn is connected, nothing sent yet). */
FrReplay *fr_new(SgGuest *sg);
void fr_free(FrReplay *r);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FrReplay, fr_free)
/* Play the lines of @text in order.  Return: false with @error naming the
 * line that failed. */
bool fr_run(FrReplay *r, const char *text, GError **error);
/* Device state saved by a replayed SET_DEVICE_STATE_FD save (borrowed). */
GBytes *fr_state(FrReplay *r);
/* The state a replayed SET_DEVICE_STATE_FD load sends (ref taken). */
void fr_set_state(FrReplay *r, GBytes *state);
/* QEMU carries the vring bases to the destination. */
void fr_adopt_bases(FrReplay *to, const FrReplay *from);
/* qs_load(@name) + fr_run(). */
bool fr_run_file(FrReplay *r, const char *name, GError **error);
/* Lines of @text starting with @request. */
unsigned int fr_count(const char *text, const char *request);

#endif /* VSND_TESTS_FRONTEND_REPLAY_H */
