/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vu-inflight.c - inflight I/O tracking shared with the front-end.
 *
 * Theory of operation (vhost-user.rst: "Inflight I/O tracking",
 * "Inflight description", GET_INFLIGHT_FD, SET_INFLIGHT_FD):
 *
 * GET_INFLIGHT_FD asks us for a shared buffer (a memfd we create) that
 * the front-end keeps across back-end restarts; SET_INFLIGHT_FD hands it
 * back after a reconnect.  The buffer holds one region per queue, laid out
 * as the spec's QueueRegionSplit / QueueRegionPacked (the ring type is
 * only known when the ring starts, so every region is sized for the larger
 * packed layout, rounded to 64 bytes).
 *
 * Split rings: at pop, desc[head].counter = counter++ and inflight = 1;
 * at push, head joins the last-batch list, the used idx is published, then
 * inflight = 0 and used_idx = used->idx.  On start with a valid region we
 * repair the last batch if used_idx lags the used ring, then resubmit the
 * heads still marked inflight, ordered by counter, before anything new;
 * last_avail_idx becomes used->idx + (number resubmitted), because every
 * popped-but-not-used head is exactly one of those.
 *
 * Packed rings: the ring descriptors of each chain are copied into entries
 * taken from a free list (free_head/old_free_head); push returns them and
 * commits used_idx/wrap into the old_* fields.  On start, an uncommitted
 * push is committed or rolled back by looking at the ring descriptor at
 * old_used_idx, the free list is cleared of inflight marks, and the
 * remaining heads are resubmitted in counter order from the stored copies
 * (the ring itself may already be overwritten by used descriptors).
 *
 * This file writes the region, never the ring: at start it computes the
 * resubmission list and the ring's indices (VuInflightStart) and the ring
 * code applies them, so a ring's indices have one writer (vu-virtq.c).
 *
 * The buffer is writable by the front-end, so every index read from it
 * is checked against the ring size and every walk is bounded; garbage
 * re-initialises the region instead of being followed.
 */
#include "config.h"

#define G_LOG_DOMAIN "vsnd-vu"

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vu-int.h"
#include "vu-sigbus.h"

typedef struct VuDescStateSplit {
    uint8_t inflight;
    uint8_t padding[5];
    uint16_t next;
    uint64_t counter;
} VuDescStateSplit;

typedef struct VuQueueRegionSplit {
    uint64_t features;
    uint16_t version;
    uint16_t desc_num;
    uint16_t last_batch_head;
    uint16_t used_idx;
    VuDescStateSplit desc[];
} VuQueueRegionSplit;

typedef struct VuDescStatePacked {
    uint8_t inflight;
    uint8_t padding;
    uint16_t next;
    uint16_t last;
    uint16_t num;
    uint64_t counter;
    uint16_t id;
    uint16_t flags;
    uint32_t len;
    uint64_t addr;
} VuDescStatePacked;

typedef struct VuQueueRegionPacked {
    uint64_t features;
    uint16_t version;
    uint16_t desc_num;
    uint16_t free_head;
    uint16_t old_free_head;
    uint16_t used_idx;
    uint16_t old_used_idx;
    uint8_t used_wrap_counter;
    uint8_t old_used_wrap_counter;
    uint8_t padding[7];
    VuDescStatePacked desc[];
} VuQueueRegionPacked;

_Static_assert(sizeof(VuDescStateSplit) == 16, "DescStateSplit layout");
_Static_assert(sizeof(VuQueueRegionSplit) == 16, "QueueRegionSplit layout");
_Static_assert(sizeof(VuDescStatePacked) == 32, "DescStatePacked layout");
_Static_assert(sizeof(VuQueueRegionPacked) == 32, "QueueRegionPacked layout");

#define VU_INFLIGHT_VERSION 1
#define VU_INFLIGHT_ALIGN 64

size_t vu_inflight_region_size(uint16_t queue_size)
{
    size_t s = sizeof(VuQueueRegionPacked) + sizeof(VuDescStatePacked) * (size_t)queue_size;

    return (s + VU_INFLIGHT_ALIGN - 1) & ~(size_t)(VU_INFLIGHT_ALIGN - 1);
}

void vu_inflight_clear(VuInflightArea *area)
{
    if (area->addr) {
        vu_sigbus_unwatch(area->watch);
        munmap(area->addr, area->size);
    }
    memset(area, 0, sizeof(*area));
}

void vu_inflight_reset(VuInflightArea *area)
{
    for (unsigned int i = 0; area->addr && i < area->num_queues; i++) {
        VuQueueRegionSplit *r = (VuQueueRegionSplit *)(area->addr + i * area->region_size);

        r->version = 0;
    }
}

static bool vu_inflight_geometry_ok(unsigned int max_queues, uint16_t nq, uint16_t qs)
{
    return nq >= 1 && nq <= max_queues && qs >= 1 && qs <= VU_MAX_QUEUE_SIZE;
}

int vu_inflight_get(VuInflightArea *area, unsigned int max_queues, VuMsgInflight *desc,
                    int *ret_fd)
{
    uint16_t nq = desc->num_queues, qs = desc->queue_size;
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t region, size;
    void *p;
    int fd, r;

    *ret_fd = -1;
    if (!vu_inflight_geometry_ok(max_queues, nq, qs)) {
        return -EINVAL;
    }
    region = vu_inflight_region_size(qs);
    size = region * nq;
    fd = memfd_create("vhost-user-snd-inflight", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0) {
        return -errno;
    }
    if (ftruncate(fd, (off_t)size) < 0) {
        int err = -errno;

        close(fd);
        return err;
    }
    p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
        int err = -errno;

        close(fd);
        return err;
    }
    /* The front-end must not be able to shrink it under us. */
    (void)fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK);
    r = vu_sigbus_watch(p, size, page);
    if (r < 0) {
        munmap(p, size);
        close(fd);
        return r;
    }
    vu_inflight_clear(area);
    area->watch = r;
    area->addr = p;
    area->size = size;
    area->num_queues = nq;
    area->queue_size = qs;
    area->region_size = region;
    area->created = true;
    desc->mmap_size = size;
    desc->mmap_offset = 0;
    *ret_fd = fd;
    return 0;
}

int vu_inflight_set(VuInflightArea *area, unsigned int max_queues, const VuMsgInflight *desc,
                    int fd)
{
    uint16_t nq = desc->num_queues, qs = desc->queue_size;
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    uint64_t need, end;
    bool created, handed_back = false;
    void *p;
    int r;

    if (!vu_inflight_geometry_ok(max_queues, nq, qs)) {
        return -EINVAL;
    }
    need = (uint64_t)vu_inflight_region_size(qs) * nq;
    if (desc->mmap_size < need || desc->mmap_size > (1ull << 32) ||
        (desc->mmap_offset & (page - 1)) ||
        __builtin_add_overflow(desc->mmap_offset, desc->mmap_size, &end) ||
        end > (uint64_t)INT64_MAX) {
        return -EINVAL;
    }
    r = vu_fd_check_size(fd, end);
    if (r < 0) {
        return r;
    }
    p = mmap(NULL, (size_t)desc->mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
             (off_t)desc->mmap_offset);
    if (p == MAP_FAILED) {
        return -errno;
    }
    /* The front-end's file may shrink later: watched like guest RAM. */
    r = vu_sigbus_watch(p, (size_t)desc->mmap_size, page);
    if (r < 0) {
        munmap(p, (size_t)desc->mmap_size);
        return r;
    }
    created = area->created;
    vu_inflight_clear(area);
    area->watch = r;
    /* A region this connection did not create, which a back-end has set
     * up (version written when a ring started): the front-end reconnects
     * a running VM to a restarted back-end. */
    for (uint16_t q = 0; q < nq && !created; q++) {
        const VuQueueRegionSplit *qr =
            (const VuQueueRegionSplit *)((const uint8_t *)p + (size_t)q * vu_inflight_region_size(qs));

        handed_back = handed_back || qr->version == VU_INFLIGHT_VERSION;
    }
    area->handed_back = handed_back;
    area->created = created;
    area->addr = p;
    area->size = (size_t)desc->mmap_size;
    area->num_queues = nq;
    area->queue_size = qs;
    area->region_size = vu_inflight_region_size(qs);
    return 0;
}

typedef struct {
    uint16_t idx;
    uint64_t counter;
} VuResubmitEntry;

static int vu_resubmit_cmp(const void *a, const void *b)
{
    const VuResubmitEntry *x = a, *y = b;

    return x->counter < y->counter ? -1 : x->counter > y->counter ? 1 : 0;
}

/* The resubmission order: heads or entries by counter. */
static void vu_inflight_set_resubmit(VuInflightStart *st, VuResubmitEntry *ents, unsigned int n)
{
    if (n == 0) {
        return;
    }
    qsort(ents, n, sizeof(*ents), vu_resubmit_cmp);
    st->resubmit = g_new(uint16_t, n);
    for (unsigned int i = 0; i < n; i++) {
        st->resubmit[i] = ents[i].idx;
    }
    st->resubmit_num = n;
    st->counter = ents[n - 1].counter + 1;
}

static void vu_inflight_split_init(const VuVirtq *vq, VuQueueRegionSplit *r)
{
    memset(r->desc, 0, sizeof(r->desc[0]) * vq->num);
    r->features = 0;
    r->desc_num = (uint16_t)vq->num;
    r->last_batch_head = 0;
    r->used_idx = vq->used_idx;
    __atomic_thread_fence(__ATOMIC_RELEASE);
    r->version = VU_INFLIGHT_VERSION;
}

static void vu_inflight_split_start(const VuVirtq *vq, VuQueueRegionSplit *r, VuInflightStart *st)
{
    g_autofree VuResubmitEntry *ents = NULL;
    unsigned int n = 0;

    if (r->version != VU_INFLIGHT_VERSION || r->desc_num != vq->num) {
        vu_inflight_split_init(vq, r);
        return;
    }
    if (r->used_idx != vq->used_idx) {
        uint16_t batch = (uint16_t)(vq->used_idx - r->used_idx);
        uint16_t head = r->last_batch_head;

        if (batch > vq->num) {
            vsnd_guest_error("inflight region of queue %u is inconsistent; discarding it",
                               vq->idx);
            vu_inflight_split_init(vq, r);
            return;
        }
        for (unsigned int k = 0; k < batch && head < vq->num; k++) {
            r->desc[head].inflight = 0;
            head = r->desc[head].next;
        }
        r->used_idx = vq->used_idx;
    }
    ents = g_new(VuResubmitEntry, vq->num);
    for (unsigned int i = 0; i < vq->num; i++) {
        if (r->desc[i].inflight) {
            r->desc[i].inflight = 1;
            ents[n].idx = (uint16_t)i;
            ents[n].counter = r->desc[i].counter;
            n++;
        }
    }
    vu_inflight_set_resubmit(st, ents, n);
    /* Every popped-but-not-used head is one of those resubmitted. */
    st->restored = true;
    st->inuse = n;
    st->last_avail_idx = (uint16_t)(vq->used_idx + n);
    if (n) {
        g_info("queue %u: resubmitting %u inflight request(s)", vq->idx, n);
    }
}

static void vu_inflight_packed_init(const VuVirtq *vq, VuQueueRegionPacked *r)
{
    memset(r->desc, 0, sizeof(r->desc[0]) * vq->num);
    for (unsigned int i = 0; i < vq->num; i++) {
        r->desc[i].next = (uint16_t)(i + 1);
    }
    r->features = 0;
    r->desc_num = (uint16_t)vq->num;
    r->free_head = r->old_free_head = 0;
    r->used_idx = r->old_used_idx = vq->used_idx;
    r->used_wrap_counter = r->old_used_wrap_counter = vq->used_wrap;
    __atomic_thread_fence(__ATOMIC_RELEASE);
    r->version = VU_INFLIGHT_VERSION;
}

static void vu_inflight_packed_start(const VuVirtq *vq, VuQueueRegionPacked *r,
                                     VuInflightStart *st)
{
    g_autofree VuResubmitEntry *ents = NULL;
    unsigned int n = 0, total = 0;
    uint16_t idx;

    if (r->version != VU_INFLIGHT_VERSION || r->desc_num != vq->num ||
        r->old_used_idx >= vq->num || r->used_idx >= vq->num || r->old_free_head > vq->num ||
        r->free_head > vq->num) {
        vu_inflight_packed_init(vq, r);
        return;
    }
    if (r->used_idx != r->old_used_idx) {
        struct vring_packed_desc d;
        bool w = r->old_used_wrap_counter & 1;
        uint16_t avail_flags = w ? (1u << VRING_PACKED_DESC_F_AVAIL)
                                 : (1u << VRING_PACKED_DESC_F_USED);
        uint16_t mask = (1u << VRING_PACKED_DESC_F_AVAIL) | (1u << VRING_PACKED_DESC_F_USED);

        memcpy(&d, vq->desc + (size_t)r->old_used_idx * sizeof(d), sizeof(d));
        if ((le16toh(d.flags) & mask) != avail_flags) {
            /* The used descriptor reached the guest: commit. */
            r->old_free_head = r->free_head;
            r->old_used_idx = r->used_idx;
            r->old_used_wrap_counter = r->used_wrap_counter;
        }
    }
    r->free_head = r->old_free_head;
    r->used_idx = r->old_used_idx;
    r->used_wrap_counter = r->old_used_wrap_counter & 1;

    idx = r->free_head;
    for (unsigned int k = 0; k < vq->num && idx < vq->num; k++) {
        r->desc[idx].inflight = 0;
        idx = r->desc[idx].next;
    }
    ents = g_new(VuResubmitEntry, vq->num);
    for (unsigned int i = 0; i < vq->num; i++) {
        if (r->desc[i].inflight) {
            uint16_t cnt = r->desc[i].num;

            if (cnt == 0 || cnt > vq->num || total + cnt > vq->num) {
                vsnd_guest_error("inflight region of queue %u is inconsistent; discarding it",
                               vq->idx);
                vu_inflight_packed_init(vq, r);
                return;
            }
            total += cnt;
            ents[n].idx = (uint16_t)i;
            ents[n].counter = r->desc[i].counter;
            n++;
        }
    }
    vu_inflight_set_resubmit(st, ents, n);
    /* QEMU keeps no used index for packed rings: the region has it, and
     * the avail side is that far ahead by the descriptors in flight. */
    st->restored = true;
    st->inuse = n;
    st->used_idx = r->used_idx;
    st->used_wrap = r->used_wrap_counter;
    st->last_avail_idx = (uint16_t)(st->used_idx + total);
    st->avail_wrap = st->used_wrap;
    if (st->last_avail_idx >= vq->num) {
        st->last_avail_idx = (uint16_t)(st->last_avail_idx - vq->num);
        st->avail_wrap = !st->avail_wrap;
    }
    if (n) {
        g_info("queue %u: resubmitting %u inflight request(s)", vq->idx, n);
    }
}

void vu_inflight_queue_start(const VuVirtq *vq, VuInflightStart *st)
{
    const VuInflightArea *area = vq->shared->inflight;
    uint8_t *region;

    *st = (VuInflightStart){
        .last_avail_idx = vq->last_avail_idx,
        .used_idx = vq->used_idx,
        .avail_wrap = vq->avail_wrap,
        .used_wrap = vq->used_wrap,
        .inuse = vq->inuse,
    };
    if (!area->addr ||
        !vu_ring_has_protocol_feature(vq->shared, VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD) ||
        vq->idx >= area->num_queues || vq->num > area->queue_size) {
        return;
    }
    region = area->addr + vq->idx * area->region_size;
    st->region = region;
    if (vq->packed) {
        vu_inflight_packed_start(vq, (VuQueueRegionPacked *)region, st);
    } else {
        vu_inflight_split_start(vq, (VuQueueRegionSplit *)region, st);
    }
}

void vu_inflight_split_pop(const VuVirtq *vq, uint16_t head, uint64_t counter)
{
    VuQueueRegionSplit *r = (VuQueueRegionSplit *)vq->inflight;

    if (!r || head >= vq->num) {
        return;
    }
    r->desc[head].counter = counter;
    r->desc[head].inflight = 1;
}

void vu_inflight_split_push(const VuVirtq *vq, uint16_t head, bool commit)
{
    VuQueueRegionSplit *r = (VuQueueRegionSplit *)vq->inflight;

    if (!r || head >= vq->num) {
        return;
    }
    if (!commit) {
        r->desc[head].next = r->last_batch_head;
        r->last_batch_head = head;
        return;
    }
    r->desc[head].inflight = 0;
    __atomic_thread_fence(__ATOMIC_RELEASE);
    r->used_idx = vq->used_idx;
}

void vu_inflight_split_unpop(const VuVirtq *vq, uint16_t head)
{
    VuQueueRegionSplit *r = (VuQueueRegionSplit *)vq->inflight;

    if (r && head < vq->num) {
        r->desc[head].inflight = 0;
    }
}

bool vu_inflight_packed_pop(const VuVirtq *vq, const struct vring_packed_desc *descs,
                            unsigned int n, uint64_t counter, uint16_t *ret_entry)
{
    VuQueueRegionPacked *r = (VuQueueRegionPacked *)vq->inflight;
    uint16_t e;

    if (!r || n == 0) {
        return false;
    }
    e = r->old_free_head;
    if (e >= vq->num) {
        return false;
    }
    for (unsigned int k = 0; k < n; k++) {
        uint16_t fh = r->free_head;

        if (fh >= vq->num) {
            vsnd_guest_error("inflight free list of queue %u exhausted", vq->idx);
            return false;
        }
        if (k == 0) {
            r->desc[e].num = 0;
            r->desc[e].counter = counter;
            r->desc[e].inflight = 1;
        }
        if (k == n - 1) {
            r->desc[e].last = fh;
        }
        r->desc[e].num++;
        r->desc[fh].addr = le64toh(descs[k].addr);
        r->desc[fh].len = le32toh(descs[k].len);
        r->desc[fh].flags = le16toh(descs[k].flags);
        r->desc[fh].id = le16toh(descs[k].id);
        r->free_head = r->desc[fh].next;
    }
    r->old_free_head = r->free_head;
    *ret_entry = e;
    return true;
}

void vu_inflight_packed_push(const VuVirtq *vq, uint16_t entry, bool commit)
{
    VuQueueRegionPacked *r = (VuQueueRegionPacked *)vq->inflight;

    if (!r || entry >= vq->num) {
        return;
    }
    if (!commit) {
        uint16_t last = r->desc[entry].last;

        if (last < vq->num) {
            r->desc[last].next = r->free_head;
            r->free_head = entry;
        }
        return;
    }
    r->used_idx = vq->used_idx;
    r->used_wrap_counter = vq->used_wrap;
    r->desc[entry].inflight = 0;
    __atomic_thread_fence(__ATOMIC_RELEASE);
    r->old_free_head = r->free_head;
    r->old_used_idx = r->used_idx;
    r->old_used_wrap_counter = r->used_wrap_counter;
}

void vu_inflight_packed_unpop(const VuVirtq *vq, uint16_t entry)
{
    VuQueueRegionPacked *r = (VuQueueRegionPacked *)vq->inflight;

    if (!r || entry >= vq->num) {
        return;
    }
    /* Give the chain's entries back exactly like a push would. */
    if (r->desc[entry].last < vq->num) {
        r->desc[r->desc[entry].last].next = r->free_head;
        r->free_head = entry;
    }
    r->desc[entry].inflight = 0;
    r->old_free_head = r->free_head;
}

unsigned int vu_inflight_packed_chain(const VuVirtq *vq, uint16_t entry,
                                      struct vring_packed_desc *out, unsigned int max)
{
    VuQueueRegionPacked *r = (VuQueueRegionPacked *)vq->inflight;
    unsigned int n;
    uint16_t i = entry;

    if (!r || entry >= vq->num) {
        return 0;
    }
    n = r->desc[entry].num;
    if (n == 0 || n > max || n > vq->num) {
        return 0;
    }
    for (unsigned int k = 0; k < n; k++) {
        if (i >= vq->num) {
            return 0;
        }
        out[k].addr = htole64(r->desc[i].addr);
        out[k].len = htole32(r->desc[i].len);
        out[k].id = htole16(r->desc[i].id);
        out[k].flags = htole16(r->desc[i].flags);
        i = r->desc[i].next;
    }
    return n;
}
