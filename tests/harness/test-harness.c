/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-harness.c - self-test of the test harness.
 *
 * The ring builders are checked against a small device-side reader written
 * here from the spec (split: "The Virtqueue Descriptor Table", "Available
 * Ring", "Used Ring"; packed: "Packed Virtqueues"), independent of the
 * project's vhost-user core; the front-end's message order is checked
 * against a scripted back-end on a socketpair.
 */
#include "config.h"

#include <endian.h>
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/virtio_ring.h>

#include "fake-frontend.h"
#include "fake-guest.h"

/* ---------------- a minimal device-side ring reader ---------------- */

typedef struct DevSeg {
    uint8_t *host;
    uint32_t len;
    bool writable;
} DevSeg;

typedef struct DevChain {
    uint16_t id;
    uint16_t ndesc;        /* ring slots (packed) */
    unsigned int nseg;
    DevSeg seg[256];
} DevChain;

typedef struct Dev {
    FgMem *mem;
    FgVq *vq;
    uint16_t size;
    /* split */
    uint16_t last_avail;
    uint16_t used_idx;
    /* packed */
    uint16_t avail_pos;
    bool avail_wrap;
    uint16_t used_pos;
    bool used_wrap;
} Dev;

static void dev_init(Dev *d, FgMem *mem, FgVq *vq)
{
    memset(d, 0, sizeof(*d));
    d->mem = mem;
    d->vq = vq;
    d->size = fg_vq_size(vq);
    d->avail_wrap = d->used_wrap = true;
}

static void dev_add_seg(DevChain *c, FgMem *mem, uint64_t addr, uint32_t len, bool w)
{
    g_assert_cmpuint(c->nseg, <, G_N_ELEMENTS(c->seg));
    uint8_t *h = fg_ptr(mem, addr, len);
    g_assert_nonnull(h);
    if (c->nseg)
        g_assert(!c->seg[c->nseg - 1].writable || w); /* readable before writable */
    c->seg[c->nseg++] = (DevSeg){ h, len, w };
}

static void dev_walk_table(DevChain *c, FgMem *mem, uint64_t table, uint32_t len, bool packed)
{
    g_assert_cmpuint(len % 16, ==, 0);
    unsigned int n = len / 16;
    if (packed) {
        for (unsigned int i = 0; i < n; i++) {
            struct vring_packed_desc *pd = fg_ptr(mem, table + 16ull * i, 16);
            g_assert_nonnull(pd);
            dev_add_seg(c, mem, le64toh(pd->addr), le32toh(pd->len),
                        le16toh(pd->flags) & VRING_DESC_F_WRITE);
        }
        return;
    }
    unsigned int i = 0, count = 0;
    for (;;) {
        g_assert_cmpuint(i, <, n);
        g_assert_cmpuint(++count, <=, n);
        struct vring_desc *sd = fg_ptr(mem, table + 16ull * i, 16);
        g_assert_nonnull(sd);
        uint16_t fl = le16toh(sd->flags);
        g_assert(!(fl & VRING_DESC_F_INDIRECT));
        dev_add_seg(c, mem, le64toh(sd->addr), le32toh(sd->len), fl & VRING_DESC_F_WRITE);
        if (!(fl & VRING_DESC_F_NEXT))
            break;
        i = le16toh(sd->next);
    }
}

static bool dev_pop(Dev *d, DevChain *c)
{
    FgVq *vq = d->vq;
    memset(c, 0, offsetof(DevChain, seg));
    if (fg_vq_packed(vq)) {
        struct vring_packed_desc *ring = fg_ptr(d->mem, fg_vq_desc_gpa(vq), 16ull * d->size);
        uint16_t fl = le16toh(__atomic_load_n(&ring[d->avail_pos].flags, __ATOMIC_ACQUIRE));
        bool a = fl & (1u << VRING_PACKED_DESC_F_AVAIL), u = fl & (1u << VRING_PACKED_DESC_F_USED);
        if (a != d->avail_wrap || u == d->avail_wrap)
            return false;
        for (;;) {
            struct vring_packed_desc *pd = &ring[d->avail_pos];
            fl = le16toh(pd->flags);
            if (fl & VRING_DESC_F_INDIRECT)
                dev_walk_table(c, d->mem, le64toh(pd->addr), le32toh(pd->len), true);
            else
                dev_add_seg(c, d->mem, le64toh(pd->addr), le32toh(pd->len), fl & VRING_DESC_F_WRITE);
            c->id = le16toh(pd->id);
            c->ndesc++;
            if (++d->avail_pos == d->size) {
                d->avail_pos = 0;
                d->avail_wrap = !d->avail_wrap;
            }
            if (!(fl & VRING_DESC_F_NEXT))
                break;
        }
        return true;
    }
    uint8_t *avail = fg_ptr(d->mem, fg_vq_driver_gpa(vq), 4 + 2ull * d->size);
    uint16_t aidx = le16toh(__atomic_load_n((uint16_t *)(avail + 2), __ATOMIC_ACQUIRE));
    if (aidx == d->last_avail)
        return false;
    uint16_t head = le16toh(*(uint16_t *)(avail + 4 + 2u * (d->last_avail % d->size)));
    d->last_avail++;
    c->id = head;
    struct vring_desc *table = fg_ptr(d->mem, fg_vq_desc_gpa(vq), 16ull * d->size);
    uint16_t i = head;
    unsigned int count = 0;
    for (;;) {
        g_assert_cmpuint(i, <, d->size);
        g_assert_cmpuint(++count, <=, d->size);
        uint16_t fl = le16toh(table[i].flags);
        if (fl & VRING_DESC_F_INDIRECT) {
            dev_walk_table(c, d->mem, le64toh(table[i].addr), le32toh(table[i].len), false);
            g_assert(!(fl & VRING_DESC_F_NEXT));
            break;
        }
        dev_add_seg(c, d->mem, le64toh(table[i].addr), le32toh(table[i].len),
                    fl & VRING_DESC_F_WRITE);
        if (!(fl & VRING_DESC_F_NEXT))
            break;
        i = le16toh(table[i].next);
    }
    return true;
}

static void dev_push(Dev *d, const DevChain *c, uint32_t len)
{
    FgVq *vq = d->vq;
    if (fg_vq_packed(vq)) {
        struct vring_packed_desc *ring = fg_ptr(d->mem, fg_vq_desc_gpa(vq), 16ull * d->size);
        struct vring_packed_desc *pd = &ring[d->used_pos];
        pd->id = htole16(c->id);
        pd->len = htole32(len);
        uint16_t fl = d->used_wrap ? ((1u << VRING_PACKED_DESC_F_AVAIL) | (1u << VRING_PACKED_DESC_F_USED)) : 0;
        if (len)
            fl |= VRING_DESC_F_WRITE;
        __atomic_store_n(&pd->flags, htole16(fl), __ATOMIC_RELEASE);
        d->used_pos = (uint16_t)(d->used_pos + c->ndesc);
        if (d->used_pos >= d->size) {
            d->used_pos = (uint16_t)(d->used_pos - d->size);
            d->used_wrap = !d->used_wrap;
        }
        return;
    }
    uint8_t *used = fg_ptr(d->mem, fg_vq_device_gpa(vq), 4 + 8ull * d->size);
    uint32_t e[2] = { htole32(c->id), htole32(len) };
    memcpy(used + 4 + 8u * (d->used_idx % d->size), e, 8);
    d->used_idx++;
    __atomic_store_n((uint16_t *)(used + 2), htole16(d->used_idx), __ATOMIC_RELEASE);
}

/* Copy the readable stream out / fill the writable stream with a pattern. */
static size_t dev_read_all(const DevChain *c, uint8_t *buf, size_t max)
{
    size_t n = 0;
    for (unsigned int i = 0; i < c->nseg; i++) {
        if (c->seg[i].writable)
            continue;
        g_assert_cmpuint(n + c->seg[i].len, <=, max);
        memcpy(buf + n, c->seg[i].host, c->seg[i].len);
        n += c->seg[i].len;
    }
    return n;
}

static uint32_t dev_write_all(const DevChain *c, uint8_t seed)
{
    uint32_t n = 0;
    for (unsigned int i = 0; i < c->nseg; i++) {
        if (!c->seg[i].writable)
            continue;
        for (uint32_t k = 0; k < c->seg[i].len; k++)
            c->seg[i].host[k] = (uint8_t)(seed + n + k);
        n += c->seg[i].len;
    }
    return n;
}

/* ---------------- tests ---------------- */

static void test_mem_layout(void)
{
    g_autoptr(FgMem) mem = fg_mem_new(3, 1 << 20, 1 << 16);
    g_assert_cmpuint(mem->nregions, ==, 3);
    for (unsigned int i = 0; i < 3; i++) {
        const FgRegion *r = &mem->region[i];
        g_assert_nonnull(fg_ptr(mem, r->gpa, r->size));
        g_assert_null(fg_ptr(mem, r->gpa, r->size + 1));
        g_assert_cmpuint(fg_gpa_to_uva(mem, r->gpa + 5), ==, r->uva + 5);
        g_assert_cmpuint(r->uva, !=, r->gpa);
        if (i)
            g_assert_cmpuint(r->gpa, ==, mem->region[i - 1].gpa + (1 << 20) + (1 << 16));
    }
    uint64_t hole = fg_mem_hole(mem);
    g_assert_null(fg_ptr(mem, hole, 1));
    g_assert_cmpuint(fg_gpa_to_uva(mem, hole), ==, 0);
    /* round robin: consecutive allocations in different regions */
    uint64_t a = fg_alloc(mem, 100, 8), b = fg_alloc(mem, 100, 8);
    g_assert_cmpuint(a / (1 << 20), !=, b / (1 << 20));
    /* the same memfd bytes through both views */
    fg_write(mem, b, "hello", 5);
    g_assert_cmpmem(mem->base + mem->region[1].mmap_offset + (b - mem->region[1].gpa), 5,
                    "hello", 5);
}

typedef struct RtParams {
    bool packed;
    bool indirect;
    bool page_split;
    uint32_t max_seg;
    uint16_t size;
    unsigned int rounds;
    bool out_of_order;
} RtParams;

typedef struct RtBuf {
    uint64_t out_gpa, in_gpa;
    uint32_t out_len, in_len;
    uint8_t seed;
} RtBuf;

/* Add chains, let the in-test device consume them (maybe out of order),
 * check bytes in both directions and the returned tokens/lengths. */
static void test_roundtrip(gconstpointer data)
{
    const RtParams *p = data;
    g_autoptr(FgMem) mem = fg_mem_new(4, 1 << 20, 1 << 20);
    FgVqOpts o = { .size = p->size, .packed = p->packed, .event_idx = true, .indirect = p->indirect };
    g_autoptr(FgVq) vq = fg_vq_new(mem, &o);
    Dev dev;
    dev_init(&dev, mem, vq);
    FgAddOpts ao = { .indirect = p->indirect, .page_split = p->page_split, .max_seg = p->max_seg };

    enum { NBUF = 16 };
    RtBuf bufs[NBUF];
    for (unsigned int i = 0; i < NBUF; i++) {
        bool small = p->rounds > 10000;
        bufs[i].out_len = small ? 1 + i : 1 + (i * 977) % 9000;
        bufs[i].in_len = small ? 8 + i : 8 + (i * 131) % 5000;
        bufs[i].out_gpa = fg_alloc(mem, bufs[i].out_len, 1);
        bufs[i].in_gpa = fg_alloc(mem, bufs[i].in_len, 1);
    }
    unsigned int added = 0, completed = 0;
    DevChain *held = g_new0(DevChain, 4);
    unsigned int nheld = 0;
    g_autofree uint8_t *rd = g_malloc(65536);
    bool busy[NBUF] = { false };
    while (completed < p->rounds) {
        /* add as many as fit */
        while (added < p->rounds) {
            unsigned int b = added % NBUF;
            if (busy[b])
                break;
            RtBuf *bf = &bufs[b];
            bf->seed = (uint8_t)(added * 7);
            uint8_t *o_host = fg_ptr(mem, bf->out_gpa, bf->out_len);
            for (uint32_t k = 0; k < bf->out_len; k++)
                o_host[k] = (uint8_t)(bf->seed ^ k);
            FgSeg segs[2] = { { bf->out_gpa, bf->out_len, false }, { bf->in_gpa, bf->in_len, true } };
            int r = fg_vq_add(vq, segs, 2, &ao, &bufs[b]);
            if (r == -ENOSPC)
                break;
            g_assert_cmpint(r, >=, 0);
            busy[b] = true;
            added++;
        }
        /* device side */
        DevChain *c = g_new0(DevChain, 1);
        g_assert_true(dev_pop(&dev, c));
        RtBuf *bf = NULL;
        size_t n = dev_read_all(c, rd, 65536);
        /* identify buffer by content: seed ^ 0 is the first byte */
        for (unsigned int b = 0; b < NBUF; b++)
            if (busy[b] && bufs[b].out_len == n && rd[0] == bufs[b].seed)
                bf = &bufs[b];
        g_assert_nonnull(bf);
        for (size_t k = 0; k < n; k++)
            g_assert_cmpuint(rd[k], ==, (uint8_t)(bf->seed ^ k));
        if (p->out_of_order && nheld < 3 && !p->packed) {
            held[nheld++] = *c;       /* complete later, out of order */
            g_free(c);
            if (nheld < 3 && added > completed + nheld)
                continue;
        } else {
            held[nheld++] = *c;
            g_free(c);
        }
        /* complete held chains in reverse order */
        while (nheld) {
            DevChain *h = &held[--nheld];
            uint32_t w = dev_write_all(h, 0x40);
            dev_push(&dev, h, w);
        }
        FgUsed u;
        while (fg_vq_get_used(vq, &u)) {
            RtBuf *got = u.token;
            g_assert_nonnull(got);
            g_assert_cmpuint(u.len, ==, got->in_len);
            uint8_t *in = fg_ptr(mem, got->in_gpa, got->in_len);
            for (uint32_t k = 0; k < got->in_len; k++)
                g_assert_cmpuint(in[k], ==, (uint8_t)(0x40 + k));
            memset(in, 0, got->in_len);
            busy[got - bufs] = false;
            completed++;
        }
    }
    g_assert_cmpuint(fg_vq_inflight(vq), ==, 0);
    g_assert_false(dev_pop(&dev, &held[0]));
    g_free(held);
}

static void test_split_chain_shape(void)
{
    /* page_split cuts at gpa page boundaries; max_seg at byte counts */
    g_autoptr(FgMem) mem = fg_mem_new(2, 1 << 20, 1 << 16);
    FgVqOpts o = { .size = 64 };
    g_autoptr(FgVq) vq = fg_vq_new(mem, &o);
    Dev dev;
    dev_init(&dev, mem, vq);
    uint64_t hdr = fg_alloc_in(mem, 0, 4, 4);
    uint64_t data = fg_alloc_in(mem, 1, 3 * FG_PAGE_SIZE, FG_PAGE_SIZE) + 100;
    uint64_t st = fg_alloc_in(mem, 0, 8, 8);
    FgSeg segs[3] = { { hdr, 4, false }, { data, 2 * FG_PAGE_SIZE, false }, { st, 8, true } };
    FgAddOpts ao = { .page_split = true };
    int head = fg_vq_add(vq, segs, 3, &ao, segs);
    g_assert_cmpint(head, >=, 0);
    DevChain c;
    g_assert_true(dev_pop(&dev, &c));
    g_assert_cmpuint(c.nseg, ==, 5);   /* hdr, 3 page pieces, status */
    g_assert_cmpuint(c.seg[1].len, ==, FG_PAGE_SIZE - 100);
    g_assert_cmpuint(c.seg[2].len, ==, FG_PAGE_SIZE);
    g_assert_cmpuint(c.seg[3].len, ==, 100);
    g_assert_true(c.seg[4].writable);
    g_assert_cmpuint(fg_vq_free_count(vq), ==, 64 - 5);
    ao = (FgAddOpts){ .max_seg = 3 };
    FgSeg one = { hdr, 10, false };
    g_assert_cmpint(fg_vq_add(vq, &one, 1, &ao, &one), >=, 0);
    g_assert_true(dev_pop(&dev, &c));
    g_assert_cmpuint(c.nseg, ==, 4);   /* 3+3+3+1 */
    /* writable before readable is refused */
    FgSeg bad[2] = { { st, 8, true }, { hdr, 4, false } };
    g_assert_cmpint(fg_vq_add(vq, bad, 2, NULL, bad), ==, -EINVAL);
    /* ring full */
    FgSeg big = { data, 60, false };
    ao = (FgAddOpts){ .max_seg = 1 };
    g_assert_cmpint(fg_vq_add(vq, &big, 1, &ao, &big), ==, -ENOSPC);
}

static void test_split_event_idx(void)
{
    g_autoptr(FgMem) mem = fg_mem_new(1, 1 << 20, 0);
    FgVqOpts o = { .size = 8, .event_idx = true };
    g_autoptr(FgVq) vq = fg_vq_new(mem, &o);
    uint64_t b = fg_alloc(mem, 64, 8);
    FgSeg s = { b, 64, true };
    uint8_t *used = fg_ptr(mem, fg_vq_device_gpa(vq), 6 + 8 * 8);
    /* avail_event = 0: the first buffer (idx 0 -> 1) needs a kick */
    g_assert_cmpint(fg_vq_add(vq, &s, 1, NULL, &s), >=, 0);
    g_assert_true(fg_vq_kick_needed(vq));
    /* device says: kick me after avail idx 5 */
    *(uint16_t *)(used + 4 + 8 * 8) = htole16(5);
    g_assert_cmpint(fg_vq_add(vq, &s, 1, NULL, &s), >=, 0);
    g_assert_false(fg_vq_kick_needed(vq));       /* idx 2 */
    for (int i = 0; i < 4; i++)
        g_assert_cmpint(fg_vq_add(vq, &s, 1, NULL, &s), >=, 0);
    g_assert_true(fg_vq_kick_needed(vq));        /* crossed 5 -> 6 */
    /* used_event follows consumption while callbacks are enabled */
    Dev dev;
    dev_init(&dev, mem, vq);
    DevChain c;
    g_assert_true(dev_pop(&dev, &c));
    dev_push(&dev, &c, 0);
    FgUsed u;
    g_assert_true(fg_vq_get_used(vq, &u));
    uint8_t *avail = fg_ptr(mem, fg_vq_driver_gpa(vq), 6 + 2 * 8);
    g_assert_cmpuint(le16toh(*(uint16_t *)(avail + 4 + 2 * 8)), ==, 1);
    fg_vq_disable_cb(vq);
    g_assert_cmpuint(le16toh(*(uint16_t *)(avail + 4 + 2 * 8)), ==, 0);
}

static void test_packed_event_suppression(void)
{
    g_autoptr(FgMem) mem = fg_mem_new(1, 1 << 20, 0);
    FgVqOpts o = { .size = 8, .packed = true, .event_idx = true };
    g_autoptr(FgVq) vq = fg_vq_new(mem, &o);
    uint64_t b = fg_alloc(mem, 64, 8);
    FgSeg s = { b, 64, true };
    uint16_t *devev = fg_ptr(mem, fg_vq_device_gpa(vq), 4);
    g_assert_cmpint(fg_vq_add(vq, &s, 1, NULL, &s), >=, 0);
    g_assert_true(fg_vq_kick_needed(vq));         /* ENABLE */
    devev[1] = htole16(VRING_PACKED_EVENT_FLAG_DISABLE);
    g_assert_cmpint(fg_vq_add(vq, &s, 1, NULL, &s), >=, 0);
    g_assert_false(fg_vq_kick_needed(vq));
    devev[0] = htole16(3 | (1u << 15));           /* desc 3, wrap 1 */
    devev[1] = htole16(VRING_PACKED_EVENT_FLAG_DESC);
    g_assert_cmpint(fg_vq_add(vq, &s, 1, NULL, &s), >=, 0); /* pos 2 */
    g_assert_false(fg_vq_kick_needed(vq));
    g_assert_cmpint(fg_vq_add(vq, &s, 1, NULL, &s), >=, 0); /* pos 3 */
    g_assert_true(fg_vq_kick_needed(vq));
    /* base encoding of a fresh packed ring: both wrap counters 1 */
    g_autoptr(FgVq) fresh = fg_vq_new(mem, &o);
    g_assert_cmpuint(fg_vq_base(fresh), ==, 0x80008000u);
}

static void test_wait_call(void)
{
    g_autoptr(FgMem) mem = fg_mem_new(1, 1 << 20, 0);
    FgVqOpts o = { .size = 4 };
    g_autoptr(FgVq) vq = fg_vq_new(mem, &o);
    g_assert_false(fg_vq_wait_call(vq, 10));
    uint64_t one = 1;
    g_assert_cmpint(write(fg_vq_call_fd(vq), &one, 8), ==, 8);
    g_assert_true(fg_vq_wait_call(vq, 1000));
    g_assert_false(fg_vq_clear_call(vq));
    g_assert_cmpuint(fg_vq_calls_seen(vq), ==, 1);
    FgUsed u;
    g_assert_false(fg_vq_wait_used(vq, &u, 30));
}

/* ---------------- front-end against a scripted back-end ---------------- */

typedef struct Script {
    int fd;
    GArray *seen;          /* request codes in order */
    uint64_t features;
    uint64_t protocol;
    unsigned int fds_total;
} Script;

static gpointer script_backend(gpointer data)
{
    Script *s = data;
    g_autoptr(FfConn) be = ff_new_from_fd(s->fd);
    g_autofree FfMsg *m = g_new0(FfMsg, 1);
    uint8_t status = 0;
    while (ff_recv(be, m, 5000) == 0) {
        g_array_append_val(s->seen, m->request);
        s->fds_total += m->nfds;
        ff_msg_clear_fds(m);
        uint64_t v = 0;
        bool reply = true;
        uint32_t size = 8;
        uint8_t payload[300] = { 0 };
        switch (m->request) {
        case FF_GET_FEATURES: v = s->features; break;
        case FF_GET_PROTOCOL_FEATURES: v = s->protocol; break;
        case FF_GET_QUEUE_NUM: v = 4; break;
        case FF_GET_MAX_MEM_SLOTS: v = 32; break;
        case FF_GET_STATUS: v = status; break;
        case FF_SET_STATUS: status = (uint8_t)m->payload.u64; reply = false; break;
        case FF_GET_VRING_BASE:
            size = 8;
            memcpy(payload, m->payload.bytes, 8);
            break;
        case FF_GET_CONFIG:
            size = m->size;
            memcpy(payload, m->payload.bytes, 12);
            payload[12] = 7;
            break;
        default:
            reply = false;
        }
        if (m->flags & FF_FLAG_NEED_REPLY && !reply) {
            reply = true;
            v = 0;
        }
        if (!reply)
            continue;
        if (m->request != FF_GET_VRING_BASE && m->request != FF_GET_CONFIG)
            memcpy(payload, &v, 8);
        ff_send_full(be, m->request, FF_VERSION | FF_FLAG_REPLY, size, payload, size, NULL, 0);
    }
    return NULL;
}

static void test_frontend_qemu_order(gconstpointer data)
{
    bool reply_ack = GPOINTER_TO_INT(data);
    int sv[2];
    g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), ==, 0);
    Script s = { .fd = sv[1], .seen = g_array_new(FALSE, FALSE, sizeof(uint32_t)) };
    s.features = (1ull << 32) | (1ull << 30) | (1ull << 28) | (1ull << 29);
    s.protocol = (1ull << FF_PROTO_F_MQ) | (1ull << FF_PROTO_F_CONFIG) |
                 (1ull << FF_PROTO_F_STATUS) | (1ull << FF_PROTO_F_CONFIGURE_MEM_SLOTS) |
                 (reply_ack ? 1ull << FF_PROTO_F_REPLY_ACK : 0) | (1ull << 40);
    GThread *t = g_thread_new("script", script_backend, &s);
    g_autoptr(FgMem) mem = fg_mem_new(2, 1 << 20, 1 << 16);
    FgVq *vqs[4];
    for (int i = 0; i < 4; i++)
        vqs[i] = fg_vq_new(mem, &(FgVqOpts){ .size = 64, .event_idx = true });
    g_autoptr(GError) err = NULL;
    FfConn *ff = ff_new_from_fd(sv[0]);
    g_assert_true(ff_realize(ff, &err));
    g_assert_no_error(err);
    /* unknown protocol bit 40 is masked like QEMU does */
    g_assert_cmpuint(ff_protocol_features(ff) & (1ull << 40), ==, 0);
    uint8_t cfg[12];
    g_assert_true(ff_get_config(ff, 0, sizeof(cfg), cfg, &err));
    g_assert_no_error(err);
    g_assert_cmpuint(cfg[0], ==, 7);
    g_assert_true(ff_start(ff, mem, vqs, NULL, &err));
    g_assert_no_error(err);
    g_assert_cmphex(ff_acked_features(ff), ==, s.features);
    uint32_t bases[4];
    g_assert_true(ff_stop(ff, bases, &err));
    g_assert_no_error(err);
    ff_free(ff);
    g_thread_join(t);

    static const uint32_t expect[] = {
        FF_GET_FEATURES, FF_GET_PROTOCOL_FEATURES, FF_SET_PROTOCOL_FEATURES, FF_GET_QUEUE_NUM,
        FF_GET_MAX_MEM_SLOTS, FF_SET_OWNER, FF_GET_FEATURES,
        FF_SET_VRING_CALL, FF_SET_VRING_CALL, FF_SET_VRING_CALL, FF_SET_VRING_CALL,
        FF_GET_CONFIG,
        FF_SET_FEATURES, FF_GET_STATUS, FF_SET_STATUS, FF_SET_MEM_TABLE,
        FF_SET_VRING_NUM, FF_SET_VRING_BASE, FF_SET_VRING_ADDR, FF_SET_VRING_KICK, FF_SET_VRING_CALL,
        FF_SET_VRING_NUM, FF_SET_VRING_BASE, FF_SET_VRING_ADDR, FF_SET_VRING_KICK, FF_SET_VRING_CALL,
        FF_SET_VRING_NUM, FF_SET_VRING_BASE, FF_SET_VRING_ADDR, FF_SET_VRING_KICK, FF_SET_VRING_CALL,
        FF_SET_VRING_NUM, FF_SET_VRING_BASE, FF_SET_VRING_ADDR, FF_SET_VRING_KICK, FF_SET_VRING_CALL,
        FF_SET_VRING_ENABLE, FF_SET_VRING_ENABLE, FF_SET_VRING_ENABLE, FF_SET_VRING_ENABLE,
        FF_GET_STATUS, FF_SET_STATUS,
        FF_SET_VRING_ENABLE, FF_SET_VRING_ENABLE, FF_SET_VRING_ENABLE, FF_SET_VRING_ENABLE,
        FF_GET_VRING_BASE, FF_GET_VRING_BASE, FF_GET_VRING_BASE, FF_GET_VRING_BASE,
        FF_SET_STATUS,
    };
    g_assert_cmpuint(s.seen->len, ==, G_N_ELEMENTS(expect));
    for (unsigned int i = 0; i < G_N_ELEMENTS(expect); i++) {
        if (g_array_index(s.seen, uint32_t, i) != expect[i])
            g_error("message %u: got %s, want %s", i,
                    ff_request_name(g_array_index(s.seen, uint32_t, i)),
                    ff_request_name(expect[i]));
    }
    /* 4 masked calls + 2 memory fds + 4x(kick, call) */
    g_assert_cmpuint(s.fds_total, ==, 4 + 2 + 8);
    g_array_free(s.seen, TRUE);
    for (int i = 0; i < 4; i++)
        fg_vq_free(vqs[i]);
}


/* A scripted back-end for the optional parts: inflight, log, state. */
typedef struct Extras {
    int fd;
    int inflight_fd;
    bool load_ok;
    unsigned int inflight_set_fds;
} Extras;

static gpointer extras_backend(gpointer data)
{
    Extras *x = data;
    g_autoptr(FfConn) be = ff_new_from_fd(x->fd);
    g_autofree FfMsg *m = g_new0(FfMsg, 1);
    while (ff_recv(be, m, 5000) == 0) {
        uint8_t payload[64] = { 0 };
        uint32_t size = 8;
        int fds[1];
        unsigned int nfds = 0;
        switch (m->request) {
        case FF_GET_INFLIGHT_FD: {
            x->inflight_fd = memfd_create("test-inflight", MFD_CLOEXEC);
            g_assert_cmpint(ftruncate(x->inflight_fd, 8192), ==, 0);
            uint64_t sz = 8192, off = 0;
            memcpy(payload, &sz, 8);
            memcpy(payload + 8, &off, 8);
            memcpy(payload + 16, m->payload.bytes + 16, 4);
            size = 24;
            fds[nfds++] = x->inflight_fd;
            break;
        }
        case FF_SET_INFLIGHT_FD:
            x->inflight_set_fds += m->nfds;
            ff_msg_clear_fds(m);
            continue;
        case FF_SET_LOG_BASE: {
            g_assert_cmpuint(m->nfds, ==, 1);
            uint64_t lsz;
            memcpy(&lsz, m->payload.bytes, 8);
            uint8_t *log = mmap(NULL, lsz, PROT_READ | PROT_WRITE, MAP_SHARED, m->fds[0], 0);
            g_assert(log != MAP_FAILED);
            log[0x20000 / 4096 / 8] |= 1u << ((0x20000 / 4096) % 8);   /* gpa 0x20000 dirty */
            munmap(log, lsz);
            break;
        }
        case FF_SET_DEVICE_STATE_FD: {
            g_assert_cmpuint(m->nfds, ==, 1);
            uint32_t dir;
            memcpy(&dir, m->payload.bytes, 4);
            ff_send_full(be, m->request, FF_VERSION | FF_FLAG_REPLY, 8,
                         &(uint64_t){ FF_VRING_NOFD }, 8, NULL, 0);
            if (dir == 0) {
                g_assert_cmpint(write(m->fds[0], "STATE123", 8), ==, 8);
            } else {
                char buf[64];
                ssize_t n, got = 0;
                while ((n = read(m->fds[0], buf + got, sizeof(buf) - (size_t)got)) > 0)
                    got += n;
                x->load_ok = got == 8 && !memcmp(buf, "STATE123", 8);
            }
            ff_msg_clear_fds(m);
            continue;
        }
        case FF_CHECK_DEVICE_STATE:
            payload[0] = 0;
            break;
        default:
            ff_msg_clear_fds(m);
            continue;
        }
        ff_msg_clear_fds(m);
        ff_send_full(be, m->request, FF_VERSION | FF_FLAG_REPLY, size, payload, size, fds, nfds);
    }
    return NULL;
}

static void test_frontend_extras(void)
{
    int sv[2];
    g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), ==, 0);
    Extras x = { .fd = sv[1], .inflight_fd = -1 };
    GThread *t = g_thread_new("extras", extras_backend, &x);
    g_autoptr(GError) err = NULL;
    FfConn *ff = ff_new_from_fd(sv[0]);
    g_assert_true(ff_get_inflight(ff, 4, 64, &err));
    g_assert_no_error(err);
    uint64_t sz;
    uint8_t *map = ff_inflight_map(ff, &sz);
    g_assert_nonnull(map);
    g_assert_cmpuint(sz, ==, 8192);
    map[100] = 0x5a;
    g_assert_true(ff_set_inflight(ff, &err));
    /* a second front-end (QEMU after reconnect) sees the same region */
    FfConn *ff2 = ff_new_from_fd(-1);
    ff_adopt_inflight(ff2, ff);
    g_assert_cmpuint(((uint8_t *)ff_inflight_map(ff2, NULL))[100], ==, 0x5a);
    ff_free(ff2);
    g_autoptr(FgMem) mem = fg_mem_new(2, 1 << 20, 1 << 16);
    g_assert_true(ff_set_log_base(ff, mem, &err));
    g_assert_no_error(err);
    g_assert_true(ff_log_dirty(ff, 0x20000, 1));
    g_assert_true(ff_log_dirty(ff, 0x1f000, 0x1001));
    g_assert_false(ff_log_dirty(ff, 0x21000, 0x1000));
    ff_log_clear(ff);
    g_assert_false(ff_log_dirty(ff, 0x20000, 1));
    g_autoptr(GBytes) st = ff_save_state(ff, &err);
    g_assert_no_error(err);
    g_assert_cmpmem(g_bytes_get_data(st, NULL), g_bytes_get_size(st), "STATE123", 8);
    g_assert_true(ff_load_state(ff, st, &err));
    g_assert_no_error(err);
    ff_free(ff);
    g_thread_join(t);
    g_assert_true(x.load_ok);
    g_assert_cmpuint(x.inflight_set_fds, ==, 1);
    close(x.inflight_fd);
}

static void test_frontend_raw(void)
{
    int sv[2];
    g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), ==, 0);
    g_autoptr(FfConn) a = ff_new_from_fd(sv[0]);
    g_autoptr(FfConn) b = ff_new_from_fd(sv[1]);
    int fds[3] = { 0, 1, 2 };
    /* size field lies: says 100, carries 8 */
    uint64_t v = 42;
    g_assert_cmpint(ff_send_full(a, 77, 0x5, 100, &v, 8, fds, 3), ==, 0);
    g_autofree FfMsg *m = g_new0(FfMsg, 1);
    g_assert_cmpint(ff_recv(b, m, 100), ==, -ETIMEDOUT);   /* waits for 100 bytes */
    g_assert_cmpuint(m->nfds, ==, 0);
    g_assert_cmpint(ff_send(a, FF_GET_FEATURES, true, NULL, 0, NULL, 0), ==, 0);
    g_assert_cmpint(ff_send_bytes(a, "abc", 3, NULL, 0), ==, 0);
    close(ff_fd(a));
    /* reader sees the rest of the stream then EOF */
    g_assert_true(ff_wait_closed(b, 1000));
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/harness/guest/mem/layout", test_mem_layout);
    static const RtParams rt[] = {
        { .size = 16, .rounds = 300 },
        { .size = 16, .rounds = 300, .page_split = true },
        { .size = 64, .rounds = 300, .max_seg = 777, .out_of_order = true },
        { .size = 8, .rounds = 300, .indirect = true, .max_seg = 1000 },
        { .size = 4, .rounds = 70000, .indirect = true },
        { .packed = true, .size = 16, .rounds = 300 },
        { .packed = true, .size = 24, .rounds = 300, .page_split = true },
        { .packed = true, .size = 7, .rounds = 300, .indirect = true, .max_seg = 500 },
        { .packed = true, .size = 64, .rounds = 2000, .max_seg = 999 },
    };
    static const char *const rtnames[] = {
        "/harness/guest/split/roundtrip/plain", "/harness/guest/split/roundtrip/page-split",
        "/harness/guest/split/roundtrip/max-seg-out-of-order",
        "/harness/guest/split/roundtrip/indirect",
        "/harness/guest/split/roundtrip/idx-wraps-65536",
        "/harness/guest/packed/roundtrip/plain", "/harness/guest/packed/roundtrip/page-split",
        "/harness/guest/packed/roundtrip/indirect-odd-size",
        "/harness/guest/packed/roundtrip/many-wraps",
    };
    for (unsigned int i = 0; i < G_N_ELEMENTS(rt); i++)
        g_test_add_data_func(rtnames[i], &rt[i], test_roundtrip);
    g_test_add_func("/harness/guest/split/chain-shape", test_split_chain_shape);
    g_test_add_func("/harness/guest/split/event-idx", test_split_event_idx);
    g_test_add_func("/harness/guest/packed/event-suppression", test_packed_event_suppression);
    g_test_add_func("/harness/guest/wait-call", test_wait_call);
    g_test_add_func("/harness/frontend/raw", test_frontend_raw);
    g_test_add_func("/harness/frontend/inflight-log-state", test_frontend_extras);
    g_test_add_data_func("/harness/frontend/qemu-order/plain", GINT_TO_POINTER(0),
                         test_frontend_qemu_order);
    g_test_add_data_func("/harness/frontend/qemu-order/reply-ack", GINT_TO_POINTER(1),
                         test_frontend_qemu_order);
    return g_test_run();
}
