/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vring-enc.c - driver-side virtqueue fields (see vring-enc.h).
 */
#include "config.h"

#include "vring-enc.h"

#include <endian.h>
#include <string.h>

#include <linux/virtio_ring.h>

/* Single little-endian 16-bit loads and stores, as a driver does them. */
static uint16_t ld16(const uint8_t *p)
{
    return le16toh(__atomic_load_n((const uint16_t *)(const void *)p, __ATOMIC_RELAXED));
}

static void st16(uint8_t *p, uint16_t v)
{
    __atomic_store_n((uint16_t *)(void *)p, htole16(v), __ATOMIC_RELAXED);
}

void vre_split_desc(uint8_t *table, uint16_t i, uint64_t addr, uint32_t len, uint16_t flags,
                    uint16_t next)
{
    struct vring_desc d = {
        .addr = htole64(addr), .len = htole32(len), .flags = htole16(flags), .next = htole16(next)
    };

    memcpy(table + VRE_DESC_SIZE * (size_t)i, &d, sizeof(d));
}

void vre_split_avail_put(uint8_t *avail, uint16_t size, uint16_t idx, uint16_t head)
{
    st16(avail + 4 + 2u * (idx % size), head);
}

void vre_split_avail_publish(uint8_t *avail, uint16_t idx)
{
    __atomic_thread_fence(__ATOMIC_RELEASE);
    st16(avail + 2, idx);
}

uint16_t vre_split_used_idx(const uint8_t *used)
{
    return ld16(used + 2);
}

void vre_split_used_elem(const uint8_t *used, uint16_t size, uint16_t slot, uint32_t *id,
                         uint32_t *len)
{
    const uint8_t *e = used + 4 + 8u * (slot % size);
    uint32_t v;

    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    memcpy(&v, e, 4);
    *id = le32toh(v);
    memcpy(&v, e + 4, 4);
    *len = le32toh(v);
}

uint16_t vre_packed_avail_bits(bool wrap)
{
    return wrap ? 1u << VRING_PACKED_DESC_F_AVAIL : 1u << VRING_PACKED_DESC_F_USED;
}

void vre_packed_desc(uint8_t *ring, uint16_t pos, uint64_t addr, uint32_t len, uint16_t id)
{
    uint8_t *d = ring + VRE_DESC_SIZE * (size_t)pos;
    uint64_t a = htole64(addr);
    uint32_t l = htole32(len);
    uint16_t i = htole16(id);

    memcpy(d, &a, 8);
    memcpy(d + 8, &l, 4);
    memcpy(d + 12, &i, 2);
}

void vre_packed_flags(uint8_t *ring, uint16_t pos, uint16_t flags)
{
    __atomic_thread_fence(__ATOMIC_RELEASE);
    st16(ring + VRE_DESC_SIZE * (size_t)pos + 14, flags);
}

bool vre_packed_used(const uint8_t *ring, uint16_t pos, bool wrap, uint16_t *id, uint32_t *len)
{
    const uint8_t *d = ring + VRE_DESC_SIZE * (size_t)pos;
    uint16_t f = ld16(d + 14);
    bool a = f & (1u << VRING_PACKED_DESC_F_AVAIL), u = f & (1u << VRING_PACKED_DESC_F_USED);
    uint32_t l;

    if (a != u || u != wrap) {
        return false;
    }
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    *id = ld16(d + 12);
    memcpy(&l, d + 8, 4);
    *len = le32toh(l);
    return true;
}
