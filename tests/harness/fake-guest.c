/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fake-guest.c - driver-side split/packed rings with Linux's bookkeeping.
 *
 * See fake-guest.h for the theory of operation.  The driver-side ring
 * rules follow the VIRTIO 1.x sections "Supplying Buffers to The Device"
 * (split and packed), "Receiving Used Buffers From The Device" and the
 * notification suppression subsections; all ring fields are little-endian.
 */
#include "config.h"

#include "fake-guest.h"
#include "tests/vu-driver/vring-enc.h"

#include <endian.h>
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <linux/virtio_ring.h>

#define FG_IND_MAX 64u     /* entries per indirect table */

/* ------------------------------------------------------------------ */

typedef struct FgSlot {
    void *token;          /* NULL: free */
    uint16_t ndesc;       /* ring descriptors (slots) the chain uses */
} FgSlot;

struct FgVq {
    FgMem *mem;
    uint16_t size;
    bool packed;
    bool event_idx;
    bool cb_disabled;
    uint64_t desc_gpa, drv_gpa, dev_gpa;
    uint64_t ind_gpa;     /* indirect table pool: size * FG_IND_MAX entries */
    int kick_fd, call_fd;
    uint64_t calls;
    unsigned int inflight;
    unsigned int num_free;
    uint16_t num_added;   /* made available since the last kick check */
    FgSlot *slot;         /* by head (split) / buffer id (packed) */
    /* split */
    uint16_t *next;       /* shadow of chain links and the free list */
    uint16_t free_head;
    uint16_t avail_idx;   /* next avail slot to fill */
    uint16_t published;   /* value of avail->idx in memory */
    uint16_t last_used;
    /* packed */
    uint16_t next_avail;
    bool avail_wrap;
    uint16_t used_pos;
    bool used_wrap;
    uint16_t *free_ids;
    unsigned int nfree_ids;
};

/* Little-endian ring field accessors with single loads/stores. */
static uint16_t ld16(const void *p)
{
    return le16toh(__atomic_load_n((const uint16_t *)p, __ATOMIC_RELAXED));
}

static void st16(void *p, uint16_t v)
{
    __atomic_store_n((uint16_t *)p, htole16(v), __ATOMIC_RELAXED);
}

static uint8_t *gp(const FgVq *vq, uint64_t gpa, uint64_t len)
{
    uint8_t *p = fg_ptr(vq->mem, gpa, len);
    g_assert(p);
    return p;
}

/* The descriptor table (split) / ring (packed). */
static uint8_t *desc_p(const FgVq *vq)
{
    return gp(vq, vq->desc_gpa, 16ull * vq->size);
}

static uint8_t *avail_p(const FgVq *vq)
{
    return gp(vq, vq->drv_gpa, 6 + 2ull * vq->size);
}

static uint8_t *used_p(const FgVq *vq)
{
    return gp(vq, vq->dev_gpa, 6 + 8ull * vq->size);
}

void fg_vq_reset(FgVq *vq)
{
    memset(gp(vq, vq->desc_gpa, 16ull * vq->size), 0, 16ull * vq->size);
    if (vq->packed) {
        memset(gp(vq, vq->drv_gpa, 4), 0, 4);
        memset(gp(vq, vq->dev_gpa, 4), 0, 4);
        vq->next_avail = 0;
        vq->avail_wrap = true;
        vq->used_pos = 0;
        vq->used_wrap = true;
        vq->nfree_ids = 0;
        for (int i = vq->size - 1; i >= 0; i--)
            vq->free_ids[vq->nfree_ids++] = (uint16_t)i;
    } else {
        memset(avail_p(vq), 0, 6 + 2ull * vq->size);
        memset(used_p(vq), 0, 6 + 8ull * vq->size);
        for (unsigned int i = 0; i < vq->size; i++)
            vq->next[i] = (uint16_t)(i + 1);
        vq->free_head = 0;
        vq->avail_idx = vq->published = vq->last_used = 0;
    }
    memset(vq->slot, 0, sizeof(FgSlot) * vq->size);
    vq->num_free = vq->size;
    vq->num_added = 0;
    vq->inflight = 0;
    vq->cb_disabled = false;
    fg_vq_clear_call(vq);
}

FgVq *fg_vq_new(FgMem *mem, const FgVqOpts *opts)
{
    g_assert(opts->size >= 1 && opts->size <= 32768);
    g_assert(opts->packed || (opts->size & (opts->size - 1)) == 0);

    FgVq *vq = g_new0(FgVq, 1);
    vq->mem = mem;
    vq->size = opts->size;
    vq->packed = opts->packed;
    vq->event_idx = opts->event_idx;
    vq->slot = g_new0(FgSlot, vq->size);
    vq->desc_gpa = fg_alloc(mem, 16ull * vq->size, 16);
    if (vq->packed) {
        vq->drv_gpa = fg_alloc(mem, 4, 4);
        vq->dev_gpa = fg_alloc(mem, 4, 4);
        vq->free_ids = g_new0(uint16_t, vq->size);
    } else {
        vq->drv_gpa = fg_alloc(mem, 6 + 2ull * vq->size, 2);
        vq->dev_gpa = fg_alloc(mem, 6 + 8ull * vq->size, 4);
        vq->next = g_new0(uint16_t, vq->size);
    }
    if (opts->indirect)
        vq->ind_gpa = fg_alloc(mem, 16ull * FG_IND_MAX * vq->size, 16);
    vq->kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    vq->call_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    g_assert(vq->kick_fd >= 0 && vq->call_fd >= 0);
    fg_vq_reset(vq);
    return vq;
}

void fg_vq_free(FgVq *vq)
{
    if (!vq)
        return;
    close(vq->kick_fd);
    close(vq->call_fd);
    g_free(vq->slot);
    g_free(vq->next);
    g_free(vq->free_ids);
    g_free(vq);
}

uint16_t fg_vq_size(const FgVq *vq) { return vq->size; }
bool fg_vq_packed(const FgVq *vq) { return vq->packed; }
uint64_t fg_vq_desc_gpa(const FgVq *vq) { return vq->desc_gpa; }
uint64_t fg_vq_driver_gpa(const FgVq *vq) { return vq->drv_gpa; }
uint64_t fg_vq_device_gpa(const FgVq *vq) { return vq->dev_gpa; }
int fg_vq_kick_fd(const FgVq *vq) { return vq->kick_fd; }
int fg_vq_call_fd(const FgVq *vq) { return vq->call_fd; }
unsigned int fg_vq_free_count(const FgVq *vq) { return vq->num_free; }
unsigned int fg_vq_inflight(const FgVq *vq) { return vq->inflight; }
uint64_t fg_vq_calls_seen(const FgVq *vq) { return vq->calls; }

uint32_t fg_vq_base(const FgVq *vq)
{
    if (!vq->packed)
        return vq->last_used;
    return (uint32_t)vq->used_pos | ((uint32_t)vq->used_wrap << 15) |
           ((uint32_t)vq->used_pos << 16) | ((uint32_t)vq->used_wrap << 31);
}

uint16_t fg_vq_next_avail(const FgVq *vq)
{
    return vq->packed ? vq->next_avail : vq->avail_idx;
}

uint16_t fg_vq_used_idx(const FgVq *vq)
{
    g_assert(!vq->packed);
    return vre_split_used_idx(used_p(vq));
}

/* Cut the segments into descriptor-sized pieces. */
static GArray *fg_pieces(const FgSeg *segs, unsigned int nsegs, const FgAddOpts *opts)
{
    GArray *pieces = g_array_new(FALSE, FALSE, sizeof(FgSeg));
    for (unsigned int i = 0; i < nsegs; i++) {
        uint64_t gpa = segs[i].gpa;
        uint32_t left = segs[i].len;
        do {
            uint32_t n = left;
            if (opts && opts->max_seg && n > opts->max_seg)
                n = opts->max_seg;
            if (opts && opts->page_split) {
                uint64_t to_page = FG_PAGE_SIZE - (gpa % FG_PAGE_SIZE);
                if (n > to_page)
                    n = (uint32_t)to_page;
            }
            FgSeg p = { gpa, n, segs[i].writable };
            g_array_append_val(pieces, p);
            gpa += n;
            left -= n;
        } while (left);
    }
    return pieces;
}

static bool fg_order_ok(const FgSeg *segs, unsigned int nsegs)
{
    bool seen_w = false;
    for (unsigned int i = 0; i < nsegs; i++) {
        if (segs[i].writable)
            seen_w = true;
        else if (seen_w)
            return false;
    }
    return nsegs > 0;
}

static uint64_t fg_fill_indirect(FgVq *vq, unsigned int table, const GArray *pieces)
{
    uint64_t tgpa = vq->ind_gpa + 16ull * FG_IND_MAX * table;
    for (unsigned int i = 0; i < pieces->len; i++) {
        const FgSeg *p = &g_array_index(pieces, FgSeg, i);
        uint8_t *tbl = gp(vq, tgpa, 16ull * pieces->len);
        uint16_t fl = p->writable ? VRING_DESC_F_WRITE : 0;
        if (vq->packed) {
            vre_packed_desc(tbl, (uint16_t)i, p->gpa, p->len, 0);
            vre_packed_flags(tbl, (uint16_t)i, fl);
        } else {
            if (i + 1 < pieces->len)
                fl |= VRING_DESC_F_NEXT;
            vre_split_desc(tbl, (uint16_t)i, p->gpa, p->len, fl, (uint16_t)(i + 1));
        }
    }
    return tgpa;
}

static int fg_add_split(FgVq *vq, const GArray *pieces, bool indirect, bool publish, void *token)
{
    unsigned int need = indirect ? 1 : pieces->len;
    if (need > vq->num_free)
        return -ENOSPC;
    uint16_t head = vq->free_head;
    if (indirect) {
        uint64_t t = fg_fill_indirect(vq, head, pieces);
        vre_split_desc(desc_p(vq), head, t, 16u * pieces->len, VRING_DESC_F_INDIRECT, 0);
        vq->free_head = vq->next[head];
    } else {
        uint16_t i = head, last = head;
        for (unsigned int k = 0; k < pieces->len; k++) {
            const FgSeg *p = &g_array_index(pieces, FgSeg, k);
            uint16_t fl = p->writable ? VRING_DESC_F_WRITE : 0;
            if (k + 1 < pieces->len)
                fl |= VRING_DESC_F_NEXT;
            vre_split_desc(desc_p(vq), i, p->gpa, p->len, fl, vq->next[i]);
            last = i;
            i = vq->next[i];
        }
        vq->free_head = vq->next[last];
    }
    vq->num_free -= need;
    vq->slot[head].token = token;
    vq->slot[head].ndesc = (uint16_t)need;
    vre_split_avail_put(avail_p(vq), vq->size, vq->avail_idx, head);
    vq->avail_idx++;
    if (publish)
        fg_vq_publish(vq);
    return head;
}

static int fg_add_packed(FgVq *vq, const GArray *pieces, bool indirect, void *token)
{
    unsigned int need = indirect ? 1 : pieces->len;
    if (need > vq->num_free || !vq->nfree_ids)
        return -ENOSPC;
    uint16_t id = vq->free_ids[--vq->nfree_ids];
    uint16_t head = vq->next_avail;
    bool head_wrap = vq->avail_wrap;
    uint16_t head_flags = 0;
    uint16_t pos = head;
    bool wrap = head_wrap;
    for (unsigned int k = 0; k < need; k++) {
        uint16_t fl;
        if (indirect) {
            vre_packed_desc(desc_p(vq), pos, fg_fill_indirect(vq, id, pieces),
                            16u * pieces->len, id);
            fl = VRING_DESC_F_INDIRECT;
        } else {
            const FgSeg *p = &g_array_index(pieces, FgSeg, k);
            vre_packed_desc(desc_p(vq), pos, p->gpa, p->len, id);
            fl = (p->writable ? VRING_DESC_F_WRITE : 0) | (k + 1 < need ? VRING_DESC_F_NEXT : 0);
        }
        fl |= vre_packed_avail_bits(wrap);
        if (k == 0)
            head_flags = fl;
        else
            vre_packed_flags(desc_p(vq), pos, fl);
        if (++pos == vq->size) {
            pos = 0;
            wrap = !wrap;
        }
    }
    vq->next_avail = pos;
    vq->avail_wrap = wrap;
    vq->num_free -= need;
    vq->slot[id].token = token;
    vq->slot[id].ndesc = (uint16_t)need;
    /* The head goes live last: the device never sees half a chain. */
    vre_packed_flags(desc_p(vq), head, head_flags);
    vq->num_added++;
    (void)head_wrap;
    return id;
}

int fg_vq_add(FgVq *vq, const FgSeg *segs, unsigned int nsegs, const FgAddOpts *opts,
              void *token)
{
    g_assert(token);
    if (!fg_order_ok(segs, nsegs))
        return -EINVAL;
    g_autoptr(GArray) pieces = fg_pieces(segs, nsegs, opts);
    bool indirect = opts && opts->indirect;
    if (indirect && (!vq->ind_gpa || pieces->len > FG_IND_MAX))
        return -EINVAL;
    int ret;
    if (vq->packed)
        ret = fg_add_packed(vq, pieces, indirect, token);
    else
        ret = fg_add_split(vq, pieces, indirect, !(opts && opts->no_publish), token);
    if (ret >= 0)
        vq->inflight++;
    return ret;
}

void fg_vq_publish(FgVq *vq)
{
    g_assert(!vq->packed);
    vre_split_avail_publish(avail_p(vq), vq->avail_idx);
    vq->num_added += (uint16_t)(vq->avail_idx - vq->published);
    vq->published = vq->avail_idx;
}

void fg_vq_kick(FgVq *vq)
{
    uint64_t one = 1;
    g_assert_cmpint(write(vq->kick_fd, &one, sizeof(one)), ==, sizeof(one));
}

bool fg_vq_kick_needed(FgVq *vq)
{
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    bool need;
    if (vq->packed) {
        const uint8_t *ev = gp(vq, vq->dev_gpa, 4);
        uint16_t off_wrap = ld16(ev), flags = ld16(ev + 2) & 3;
        if (flags == VRING_PACKED_EVENT_FLAG_DESC && vq->event_idx) {
            uint16_t new_idx = vq->next_avail;
            uint16_t old_idx = (uint16_t)(new_idx - vq->num_added);
            uint16_t event = off_wrap & 0x7fff;
            if ((bool)(off_wrap >> 15) != vq->avail_wrap)
                event = (uint16_t)(event - vq->size);
            need = vring_need_event(event, new_idx, old_idx);
        } else {
            need = flags != VRING_PACKED_EVENT_FLAG_DISABLE;
        }
    } else {
        const uint8_t *used = used_p(vq);
        uint16_t new_idx = vq->published, old_idx = (uint16_t)(new_idx - vq->num_added);
        if (vq->event_idx)
            need = vring_need_event(ld16(used + 4 + 8u * vq->size), new_idx, old_idx);
        else
            need = !(ld16(used) & VRING_USED_F_NO_NOTIFY);
    }
    vq->num_added = 0;
    return need;
}

bool fg_vq_kick_prepare_notify(FgVq *vq)
{
    if (!fg_vq_kick_needed(vq))
        return false;
    fg_vq_kick(vq);
    return true;
}

static void fg_used_event_update(FgVq *vq)
{
    if (vq->cb_disabled)
        return;
    if (vq->packed) {
        if (vq->event_idx)
            st16(gp(vq, vq->drv_gpa, 4), (uint16_t)(vq->used_pos | (vq->used_wrap << 15)));
    } else if (vq->event_idx) {
        st16(avail_p(vq) + 4 + 2u * vq->size, vq->last_used);
    }
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
}

static void fg_release(FgVq *vq, uint32_t id, FgUsed *out)
{
    out->id = id;
    out->token = NULL;
    if (id >= vq->size || !vq->slot[id].token)
        return;          /* device bug: reported via token == NULL */
    out->token = vq->slot[id].token;
    vq->slot[id].token = NULL;
    vq->num_free += vq->slot[id].ndesc;
    vq->inflight--;
    if (vq->packed) {
        vq->free_ids[vq->nfree_ids++] = (uint16_t)id;
    } else {
        uint16_t last = (uint16_t)id;
        for (unsigned int k = 1; k < vq->slot[id].ndesc; k++)
            last = vq->next[last];
        vq->next[last] = vq->free_head;
        vq->free_head = (uint16_t)id;
    }
}

bool fg_vq_get_used(FgVq *vq, FgUsed *out)
{
    if (vq->packed) {
        uint16_t id;
        if (!vre_packed_used(desc_p(vq), vq->used_pos, vq->used_wrap, &id, &out->len))
            return false;
        uint16_t adv = (id < vq->size && vq->slot[id].token) ? vq->slot[id].ndesc : 1;
        fg_release(vq, id, out);
        vq->used_pos = (uint16_t)(vq->used_pos + adv);
        if (vq->used_pos >= vq->size) {
            vq->used_pos = (uint16_t)(vq->used_pos - vq->size);
            vq->used_wrap = !vq->used_wrap;
        }
    } else {
        const uint8_t *used = used_p(vq);
        if (vre_split_used_idx(used) == vq->last_used)
            return false;
        uint32_t id;
        vre_split_used_elem(used, vq->size, vq->last_used, &id, &out->len);
        fg_release(vq, id, out);
        vq->last_used++;
    }
    fg_used_event_update(vq);
    return true;
}

bool fg_vq_clear_call(FgVq *vq)
{
    uint64_t v;
    if (read(vq->call_fd, &v, sizeof(v)) == sizeof(v)) {
        vq->calls++;
        return true;
    }
    return false;
}

bool fg_vq_wait_call(FgVq *vq, int timeout_ms)
{
    struct pollfd pfd = { .fd = vq->call_fd, .events = POLLIN };
    int r;
    do {
        r = poll(&pfd, 1, timeout_ms);
    } while (r < 0 && errno == EINTR);
    return r > 0 && fg_vq_clear_call(vq);
}

bool fg_vq_wait_used(FgVq *vq, FgUsed *out, int timeout_ms)
{
    gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
    for (;;) {
        if (fg_vq_get_used(vq, out))
            return true;
        gint64 left = (deadline - g_get_monotonic_time()) / 1000;
        if (left <= 0)
            return fg_vq_get_used(vq, out);
        fg_vq_wait_call(vq, (int)MIN(left, 50));
    }
}

void fg_vq_enable_cb(FgVq *vq)
{
    vq->cb_disabled = false;
    if (vq->packed) {
        uint8_t *ev = gp(vq, vq->drv_gpa, 4);
        if (vq->event_idx)
            st16(ev, (uint16_t)(vq->used_pos | (vq->used_wrap << 15)));
        __atomic_thread_fence(__ATOMIC_RELEASE);
        st16(ev + 2, vq->event_idx ? VRING_PACKED_EVENT_FLAG_DESC : VRING_PACKED_EVENT_FLAG_ENABLE);
    } else {
        if (!vq->event_idx)
            st16(avail_p(vq), 0);
        fg_used_event_update(vq);
    }
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
}

void fg_vq_disable_cb(FgVq *vq)
{
    vq->cb_disabled = true;
    if (vq->packed) {
        st16(gp(vq, vq->drv_gpa, 4) + 2, VRING_PACKED_EVENT_FLAG_DISABLE);
    } else if (vq->event_idx) {
        /* What Linux does: park used_event far away. */
        st16(avail_p(vq) + 4 + 2u * vq->size, 0);
    } else {
        st16(avail_p(vq), VRING_AVAIL_F_NO_INTERRUPT);
    }
}

void fg_vq_raw_desc(FgVq *vq, uint16_t i, uint64_t addr, uint32_t len, uint16_t flags,
                    uint16_t next)
{
    g_assert(!vq->packed && i < vq->size);
    vre_split_desc(desc_p(vq), i, addr, len, flags, next);
}

void fg_vq_raw_avail(FgVq *vq, uint16_t head)
{
    g_assert(!vq->packed);
    vre_split_avail_put(avail_p(vq), vq->size, vq->avail_idx, head);
    vq->avail_idx++;
    fg_vq_publish(vq);
}

void fg_vq_raw_avail_idx(FgVq *vq, uint16_t idx)
{
    g_assert(!vq->packed);
    vre_split_avail_publish(avail_p(vq), idx);
}

void fg_vq_raw_packed_desc(FgVq *vq, uint16_t i, uint64_t addr, uint32_t len, uint16_t id,
                           uint16_t flags)
{
    g_assert(vq->packed && i < vq->size);
    vre_packed_desc(desc_p(vq), i, addr, len, id);
    vre_packed_flags(desc_p(vq), i, (uint16_t)(flags | vre_packed_avail_bits(vq->avail_wrap)));
}
