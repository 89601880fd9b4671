/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fake-guest.h - the driver side of virtqueues, for tests.
 *
 * Theory of operation: guest RAM is FgMem (tests/vu-driver/guest-mem.h).
 *
 * FgVq is the driver half of one virtqueue, split (VIRTIO 1.x "Split
 * Virtqueues") or packed ("Packed Virtqueues"), built in that memory the
 * way Linux's virtio_ring.c does it: descriptors are filled first, then a
 * release barrier, then the avail index (split) or the head descriptor's
 * AVAIL/USED flags (packed).  A chain is a list of {gpa, len, writable}
 * segments, readable ones first; the builder may cut segments at arbitrary
 * byte boundaries (max_seg) into several descriptors, like Linux's
 * scatterlists cut at page boundaries, or put the whole chain into one
 * indirect table.  Completions are read back as (token, used len).  The
 * ring fields themselves are written and read by tests/vu-driver/vring-enc;
 * FgVq adds Linux's bookkeeping (free list, buffer ids, tokens, event
 * suppression).
 *
 * Ownership: FgMem owns the memfd and the mapping; an FgVq borrows its
 * FgMem (free the queues first) and owns its kick and call eventfds.
 * Everything is single-threaded test code: failures of the test's own
 * set-up abort via g_assert; nothing here trusts or asserts on what the
 * device wrote (bad used ids are reported, not asserted).
 */
#ifndef VSND_TESTS_FAKE_GUEST_H
#define VSND_TESTS_FAKE_GUEST_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tests/vu-driver/guest-mem.h"

/* One piece of a buffer chain. */
typedef struct FgSeg {
    uint64_t gpa;
    uint32_t len;
    bool writable;        /* device-writable */
} FgSeg;

typedef struct FgAddOpts {
    bool indirect;        /* put the chain into one indirect table */
    uint32_t max_seg;     /* cut segments so no descriptor exceeds this many
                           * bytes (0: no cut) */
    bool page_split;      /* cut segments at FG_PAGE_SIZE gpa boundaries */
    bool no_publish;      /* split: fill the ring slot but leave avail->idx
                           * alone (fg_vq_publish() later) */
} FgAddOpts;

typedef struct FgUsed {
    uint32_t id;          /* head id (split) / buffer id (packed) */
    uint32_t len;         /* used length the device reported */
    void *token;          /* what was given to fg_vq_add(), NULL if the id
                           * was not in flight (device bug) */
} FgUsed;

typedef struct FgVq FgVq;

typedef struct FgVqOpts {
    uint16_t size;        /* queue size: split needs a power of two */
    bool packed;
    bool event_idx;       /* VIRTIO_F_EVENT_IDX negotiated */
    bool indirect;        /* VIRTIO_F_INDIRECT_DESC negotiated (only
                           * enables the indirect table pool) */
} FgVqOpts;

/* Build an empty ring in @mem (areas taken from fg_alloc()). */
FgVq *fg_vq_new(FgMem *mem, const FgVqOpts *opts);
void fg_vq_free(FgVq *vq);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FgVq, fg_vq_free)
/* Back to the freshly initialised state (ring memory zeroed, indexes 0,
 * nothing in flight), as after a virtio reset; eventfds are kept. */
void fg_vq_reset(FgVq *vq);

uint16_t fg_vq_size(const FgVq *vq);
bool fg_vq_packed(const FgVq *vq);
/* Guest-physical addresses of the three areas (split: desc table, avail
 * ring, used ring; packed: descriptor ring, driver event suppression,
 * device event suppression). */
uint64_t fg_vq_desc_gpa(const FgVq *vq);
uint64_t fg_vq_driver_gpa(const FgVq *vq);
uint64_t fg_vq_device_gpa(const FgVq *vq);
int fg_vq_kick_fd(const FgVq *vq);  /* give to SET_VRING_KICK */
int fg_vq_call_fd(const FgVq *vq);  /* give to SET_VRING_CALL */
/* The SET_VRING_BASE value QEMU would send now: where the driver has
 * consumed used entries up to (QEMU restores last_avail_idx from the used
 * index after a back-end crash); for a fresh ring 0 (split) or 0x80008000
 * (packed: indexes 0, both wrap counters 1, vhost-user's encoding). */
uint32_t fg_vq_base(const FgVq *vq);
/* Number of free descriptors (split) / ring slots (packed). */
unsigned int fg_vq_free_count(const FgVq *vq);
/* Chains added and not yet seen used. */
unsigned int fg_vq_inflight(const FgVq *vq);

/*
 * fg_vq_add() - make one buffer (chain) available.
 * @segs: readable segments first, then writable ones.
 * @token: returned with the completion; must not be NULL.
 * Return: the head id (split) / buffer id (packed), or -ENOSPC, or
 * -EINVAL (bad segment order, too many pieces for an indirect table).
 * Does not kick.
 */
int fg_vq_add(FgVq *vq, const FgSeg *segs, unsigned int nsegs, const FgAddOpts *opts,
              void *token);
/* Split: advance avail->idx over slots filled with no_publish. */
void fg_vq_publish(FgVq *vq);
/* Notify the device (eventfd write), unconditionally. */
void fg_vq_kick(FgVq *vq);
/* Would Linux kick now?  Checks the device's suppression (used->flags or
 * avail_event; packed device event struct) since the last kick. */
bool fg_vq_kick_needed(FgVq *vq);
/* Kick only if fg_vq_kick_needed(). Return: whether it kicked. */
bool fg_vq_kick_prepare_notify(FgVq *vq);

/* Take the next completion, if any. Return: true if @out was filled. */
bool fg_vq_get_used(FgVq *vq, FgUsed *out);
/* Wait until the call eventfd fires (and clear it) or @timeout_ms passes.
 * Return: true if it fired. */
bool fg_vq_wait_call(FgVq *vq, int timeout_ms);
/* Clear a pending call notification; Return: whether one was pending. */
bool fg_vq_clear_call(FgVq *vq);
/* Wait for the next completion: checks the ring, then waits on the call
 * fd, re-checking at least every 50 ms (a device that skips a needed
 * notification is caught by the test comparing counts, not by a hang). */
bool fg_vq_wait_used(FgVq *vq, FgUsed *out, int timeout_ms);
/* Ask for an interrupt after the next completion (used_event = last seen
 * used idx; packed: enable or DESC mode) / ask for none. */
void fg_vq_enable_cb(FgVq *vq);
void fg_vq_disable_cb(FgVq *vq);
/* Total number of call notifications seen by the wait/clear helpers. */
uint64_t fg_vq_calls_seen(const FgVq *vq);

/* --- raw access for hostile tests (split ring only unless noted) --- */
/* Write descriptor @i of the table directly. */
void fg_vq_raw_desc(FgVq *vq, uint16_t i, uint64_t addr, uint32_t len, uint16_t flags,
                    uint16_t next);
/* Put head @head in the next avail slot and publish it. */
void fg_vq_raw_avail(FgVq *vq, uint16_t head);
/* Set avail->idx to an arbitrary value (e.g. > size ahead). */
void fg_vq_raw_avail_idx(FgVq *vq, uint16_t idx);
/* Packed: write descriptor at ring position @i with the AVAIL/USED bits of
 * the current driver wrap counter added to @flags, id @id. */
void fg_vq_raw_packed_desc(FgVq *vq, uint16_t i, uint64_t addr, uint32_t len, uint16_t id,
                           uint16_t flags);
/* Next avail slot to fill: split avail idx / packed ring position. */
uint16_t fg_vq_next_avail(const FgVq *vq);
/* Used index as written by the device (split), for checks. */
uint16_t fg_vq_used_idx(const FgVq *vq);

#endif /* VSND_TESTS_FAKE_GUEST_H */
