/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vring-enc.h - the driver's side of split and packed virtqueues, one
 * field at a time: how a guest writes descriptors, indirect tables, the
 * avail ring and packed flags, and reads used entries (VIRTIO 1.x "Split
 * Virtqueues", "Packed Virtqueues"; every field little endian).
 *
 * These write and read host pointers into guest memory and keep no state:
 * where a ring lives, which descriptors are free and what is in flight
 * belong to the caller (tests/harness/fake-guest's FgVq, which keeps a
 * free list like Linux; tests/test-vu-common's TRing, which lays chains
 * out in order at fixed addresses for hand-written corner cases).  The
 * orders that matter to a device reading concurrently are kept here:
 * a descriptor's flags (packed) and the avail index (split) are stored
 * last, after a release barrier; a used entry is read after an acquire
 * barrier.
 */
#ifndef VSND_TESTS_VRING_ENC_H
#define VSND_TESTS_VRING_ENC_H

#include <stdbool.h>
#include <stdint.h>

#define VRE_DESC_SIZE 16u

/* Split: descriptor @i of @table (also an indirect table's entry). */
void vre_split_desc(uint8_t *table, uint16_t i, uint64_t addr, uint32_t len, uint16_t flags,
                    uint16_t next);
/* Split: avail ring slot @idx (modulo @size) holds @head; not yet published. */
void vre_split_avail_put(uint8_t *avail, uint16_t size, uint16_t idx, uint16_t head);
/* Split: release barrier, then avail->idx = @idx. */
void vre_split_avail_publish(uint8_t *avail, uint16_t idx);
/* Split: used->idx as the device wrote it. */
uint16_t vre_split_used_idx(const uint8_t *used);
/* Split: used ring entry @slot (modulo @size), after an acquire barrier. */
void vre_split_used_elem(const uint8_t *used, uint16_t size, uint16_t slot, uint32_t *id,
                         uint32_t *len);

/* Packed: the AVAIL/USED bits a driver with wrap counter @wrap writes. */
uint16_t vre_packed_avail_bits(bool wrap);
/* Packed: descriptor @pos of @ring (or an indirect table's entry), all but
 * its flags. */
void vre_packed_desc(uint8_t *ring, uint16_t pos, uint64_t addr, uint32_t len, uint16_t id);
/* Packed: release barrier, then descriptor @pos's flags (makes it
 * available when they carry the avail bits). */
void vre_packed_flags(uint8_t *ring, uint16_t pos, uint16_t flags);
/* Packed: is descriptor @pos used in the driver's used wrap @wrap?  Then
 * (after an acquire barrier) its id and length. */
bool vre_packed_used(const uint8_t *ring, uint16_t pos, bool wrap, uint16_t *id, uint32_t *len);

#endif /* VSND_TESTS_VRING_ENC_H */
