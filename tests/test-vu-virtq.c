/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-vu-virtq.c - split and packed rings as a guest driver fills them:
 * pop/push with real bytes in guest memory, indirect tables, buffers
 * crossing regions, notification suppression, give-back, and every kind
 * of ring corruption (device broken, nothing written to the used ring).
 */
#include "config.h"

#include <endian.h>
#include <string.h>
#include <unistd.h>

#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>

#include "test-vu-common.h"
#include "vu/vu-int.h"

#define F_PACKED (1ull << 34)
#define F_BASE ((1ull << VIRTIO_F_VERSION_1) | (1ull << VIRTIO_RING_F_INDIRECT_DESC))
#define F_EVIDX (1ull << VIRTIO_RING_F_EVENT_IDX)
#define NUM 16

static TFront *setup(uint64_t features, unsigned int num)
{
    TFront *tf = tf_new();

    tf_negotiate(tf, features);
    tf_set_mem_table(tf);
    tf_setup_queue(tf, 0, num, features & F_PACKED);
    g_assert_true(vu_queue_ready(vu_dev_queue(tf->dev, 0)));
    return tf;
}

static VuVirtq *q0(TFront *tf)
{
    return vu_dev_queue(tf->dev, 0);
}

static void fill(TFront *tf, uint64_t gpa, size_t len, uint8_t seed)
{
    for (size_t i = 0; i < len; i++) {
        *(uint8_t *)tg_ptr(&tf->g, gpa + i) = (uint8_t)(seed + i);
    }
}

static void check_out(const VuVirtqElement *e, size_t len, uint8_t seed)
{
    g_autofree uint8_t *buf = g_malloc(len);

    g_assert_cmpuint(vu_iov_size(e->out_sg, e->out_num), ==, len);
    g_assert_cmpuint(vu_iov_to_buf(e->out_sg, e->out_num, 0, buf, len), ==, len);
    for (size_t i = 0; i < len; i++) {
        g_assert_cmpuint(buf[i], ==, (uint8_t)(seed + i));
    }
}

/* ---- split ------------------------------------------------------------------ */

static void test_split_pop_push(void)
{
    TFront *tf = setup(F_BASE, NUM);
    TBuf b[2] = { { TG_DATA, 256, false }, { TG_DATA + 0x1000, 512, true } };
    VuVirtqElement *e;
    uint16_t head;
    uint32_t id, len;

    g_assert_true(vu_queue_empty(tf->dev, q0(tf)));
    g_assert_null(vu_queue_pop(tf->dev, q0(tf)));
    fill(tf, TG_DATA, 256, 3);
    head = tr_split_add(tf, 0, b, 2, 0);
    g_assert_false(vu_queue_empty(tf->dev, q0(tf)));
    e = vu_queue_pop(tf->dev, q0(tf));
    g_assert_nonnull(e);
    g_assert_cmpuint(e->index, ==, head);
    g_assert_cmpuint(e->out_num, ==, 1);
    g_assert_cmpuint(e->in_num, ==, 1);
    check_out(e, 256, 3);
    g_assert_cmpuint(vu_iov_from_buf(e->in_sg, e->in_num, 4, "hello", 5), ==, 5);
    g_assert_null(vu_queue_pop(tf->dev, q0(tf)));
    vu_queue_push(tf->dev, q0(tf), e, 9);
    vu_elem_free(e);
    g_assert_cmpuint(tr_split_used_idx(tf, 0), ==, 1);
    tr_split_used_elem(tf, 0, 0, &id, &len);
    g_assert_cmpuint(id, ==, head);
    g_assert_cmpuint(len, ==, 9);
    g_assert_cmpmem(tg_ptr(&tf->g, TG_DATA + 0x1000 + 4), 5, "hello", 5);
    vu_queue_notify(tf->dev, q0(tf));
    g_assert_cmpuint(t_eventfd_read(tf->ring[0].call), ==, 1);
    g_assert_false(vu_dev_broken(tf->dev));
    tf_free(tf);
}

static void test_split_indirect(void)
{
    TFront *tf = setup(F_BASE, NUM);
    TBuf b[3] = { { TG_DATA, 16, false }, { TG_DATA + 0x100, 100, false },
                  { TG_DATA + 0x1000, 64, true } };
    VuVirtqElement *e;
    uint32_t id, len;

    fill(tf, TG_DATA, 16, 0);
    fill(tf, TG_DATA + 0x100, 100, 16);
    tr_split_add(tf, 0, b, 3, TG_DATA + 0x8000);
    e = vu_queue_pop(tf->dev, q0(tf));
    g_assert_nonnull(e);
    g_assert_cmpuint(e->out_num, ==, 2);
    g_assert_cmpuint(e->in_num, ==, 1);
    g_assert_cmpuint(e->in_sg[0].iov_len, ==, 64);
    vu_queue_push(tf->dev, q0(tf), e, 64);
    vu_elem_free(e);
    tr_split_used_elem(tf, 0, 0, &id, &len);
    g_assert_cmpuint(len, ==, 64);
    tf_free(tf);
}

/* Direct descriptors followed by one indirect one (allowed by the spec). */
static void test_split_direct_then_indirect(void)
{
    TFront *tf = setup(F_BASE, NUM);
    uint8_t *tbl = tg_ptr(&tf->g, TG_DATA + 0x8000);
    struct vring_desc d = { htole64(TG_DATA + 0x1000), htole32(32), htole16(VRING_DESC_F_WRITE), 0 };
    VuVirtqElement *e;

    memcpy(tbl, &d, sizeof(d));
    tr_split_write_desc(tf, 0, 0, TG_DATA, 8, VRING_DESC_F_NEXT, 1);
    tr_split_write_desc(tf, 0, 1, TG_DATA + 0x8000, 16, VRING_DESC_F_INDIRECT, 0);
    tr_split_publish(tf, 0, 0);
    e = vu_queue_pop(tf->dev, q0(tf));
    g_assert_nonnull(e);
    g_assert_cmpuint(e->out_num, ==, 1);
    g_assert_cmpuint(e->in_num, ==, 1);
    vu_elem_free(e);
    tf_free(tf);
}

static void test_split_cross_region(void)
{
    TFront *tf = setup(F_BASE, NUM);
    uint64_t edge = TG_GPA_BASE + TG_REG_SIZE;
    TBuf b[2] = { { edge - 100, 300, false }, { edge - 50, 100, true } };
    VuVirtqElement *e;
    uint8_t data[100];

    fill(tf, edge - 100, 300, 7);
    tr_split_add(tf, 0, b, 2, 0);
    e = vu_queue_pop(tf->dev, q0(tf));
    g_assert_nonnull(e);
    g_assert_cmpuint(e->out_num, ==, 2);
    g_assert_cmpuint(e->out_sg[0].iov_len, ==, 100);
    g_assert_cmpuint(e->out_sg[1].iov_len, ==, 200);
    check_out(e, 300, 7);
    g_assert_cmpuint(e->in_num, ==, 2);
    for (int i = 0; i < 100; i++) {
        data[i] = (uint8_t)(0x80 + i);
    }
    g_assert_cmpuint(vu_iov_from_buf(e->in_sg, e->in_num, 0, data, 100), ==, 100);
    /* Bytes landed on both sides of the boundary, in their own memfds. */
    g_assert_cmpmem(tf->g.mem[0] + TG_REG_SIZE - 50, 50, data, 50);
    g_assert_cmpmem(tf->g.mem[1], 50, data + 50, 50);
    vu_queue_push(tf->dev, q0(tf), e, 100);
    vu_elem_free(e);
    tf_free(tf);
}

static void set_used_event(TFront *tf, unsigned int q, uint16_t v)
{
    uint16_t le = htole16(v);

    memcpy((uint8_t *)tg_ptr(&tf->g, TG_AVAIL(q)) + 4 + 2 * tf->ring[q].num, &le, 2);
}

static void pop_push_one(TFront *tf)
{
    TBuf b = { TG_DATA, 8, true };
    VuVirtqElement *e;

    tr_split_add(tf, 0, &b, 1, 0);
    e = vu_queue_pop(tf->dev, q0(tf));
    g_assert_nonnull(e);
    vu_queue_push(tf->dev, q0(tf), e, 8);
    vu_elem_free(e);
}

static void test_split_event_idx(void)
{
    TFront *tf = setup(F_BASE | F_EVIDX, NUM);
    int call = tf->ring[0].call;

    set_used_event(tf, 0, 4);
    pop_push_one(tf);
    vu_queue_notify(tf->dev, q0(tf)); /* first one always */
    g_assert_cmpuint(t_eventfd_read(call), ==, 1);
    pop_push_one(tf);
    pop_push_one(tf);
    vu_queue_notify(tf->dev, q0(tf)); /* used 3: event 4 not passed */
    g_assert_cmpuint(t_eventfd_read(call), ==, 0);
    pop_push_one(tf);
    vu_queue_notify(tf->dev, q0(tf)); /* used 4: still not passed */
    g_assert_cmpuint(t_eventfd_read(call), ==, 0);
    pop_push_one(tf);
    vu_queue_notify(tf->dev, q0(tf)); /* used 5: passed 4 */
    g_assert_cmpuint(t_eventfd_read(call), ==, 1);
    vu_queue_notify(tf->dev, q0(tf)); /* nothing new */
    g_assert_cmpuint(t_eventfd_read(call), ==, 0);
    tf_free(tf);
}

static void test_split_no_interrupt(void)
{
    TFront *tf = setup(F_BASE, NUM);
    uint16_t one = htole16(VRING_AVAIL_F_NO_INTERRUPT), zero = 0;

    memcpy(tg_ptr(&tf->g, TG_AVAIL(0)), &one, 2);
    pop_push_one(tf);
    vu_queue_notify(tf->dev, q0(tf));
    g_assert_cmpuint(t_eventfd_read(tf->ring[0].call), ==, 0);
    memcpy(tg_ptr(&tf->g, TG_AVAIL(0)), &zero, 2);
    vu_queue_notify(tf->dev, q0(tf));
    g_assert_cmpuint(t_eventfd_read(tf->ring[0].call), ==, 1);
    tf_free(tf);
}

static uint16_t rd16(TFront *tf, uint64_t gpa)
{
    uint16_t v;

    memcpy(&v, tg_ptr(&tf->g, gpa), 2);
    return le16toh(v);
}

static void test_split_set_notification(void)
{
    TFront *tf = setup(F_BASE, NUM);

    vu_queue_set_notification(tf->dev, q0(tf), false);
    g_assert_cmpuint(rd16(tf, TG_USED(0)), ==, VRING_USED_F_NO_NOTIFY);
    vu_queue_set_notification(tf->dev, q0(tf), true);
    g_assert_cmpuint(rd16(tf, TG_USED(0)), ==, 0);
    tf_free(tf);

    tf = setup(F_BASE | F_EVIDX, NUM);
    pop_push_one(tf);
    pop_push_one(tf);
    /* avail_event follows the pops */
    g_assert_cmpuint(rd16(tf, TG_USED(0) + 4 + 8 * NUM), ==, 2);
    g_assert_cmpuint(rd16(tf, TG_USED(0)), ==, 0);
    tf_free(tf);
}

static void test_split_unpop(void)
{
    TFront *tf = setup(F_BASE, NUM);
    TBuf b = { TG_DATA, 8, true };
    VuVirtqElement *a, *c, *x;
    uint16_t ha, hb, hc;

    ha = tr_split_add(tf, 0, &b, 1, 0);
    hb = tr_split_add(tf, 0, &b, 1, 0);
    hc = tr_split_add(tf, 0, &b, 1, 0);
    a = vu_queue_pop(tf->dev, q0(tf));
    x = vu_queue_pop(tf->dev, q0(tf));
    g_assert_cmpuint(x->index, ==, hb);
    /* Tail give-back: rewound in the ring. */
    vu_queue_unpop(tf->dev, q0(tf), x);
    vu_elem_free(x);
    x = vu_queue_pop(tf->dev, q0(tf));
    g_assert_cmpuint(x->index, ==, hb);
    c = vu_queue_pop(tf->dev, q0(tf));
    g_assert_cmpuint(c->index, ==, hc);
    /* Non-tail give-back: popped again before anything else. */
    vu_queue_unpop(tf->dev, q0(tf), a);
    vu_elem_free(a);
    a = vu_queue_pop(tf->dev, q0(tf));
    g_assert_nonnull(a);
    g_assert_cmpuint(a->index, ==, ha);
    g_assert_null(vu_queue_pop(tf->dev, q0(tf)));
    /* Give back c then b: both become tails; GET_VRING_BASE says 1. */
    vu_queue_unpop(tf->dev, q0(tf), c);
    vu_queue_unpop(tf->dev, q0(tf), x);
    vu_elem_free(c);
    vu_elem_free(x);
    vu_queue_push(tf->dev, q0(tf), a, 0);
    vu_elem_free(a);
    g_assert_cmpuint(tf_get_vring_base(tf, 0), ==, 1);
    tf_free(tf);
}

/* The ring, not the device, knows whether a give-back can rewind: not
 * once an element popped after it was completed or detached. */
static void test_split_unpop_refused(void)
{
    TFront *tf = setup(F_BASE, NUM);
    TBuf b = { TG_DATA, 8, true };
    VuVirtqElement *a, *x, *c;

    for (unsigned int i = 0; i < 3; i++) {
        tr_split_add(tf, 0, &b, 1, 0);
    }
    a = vu_queue_pop(tf->dev, q0(tf));
    x = vu_queue_pop(tf->dev, q0(tf));
    c = vu_queue_pop(tf->dev, q0(tf));
    /* c is the newest: rewound. */
    g_assert_true(vu_queue_unpop(tf->dev, q0(tf), c));
    vu_elem_free(c);
    vu_queue_push(tf->dev, q0(tf), x, 0);
    vu_elem_free(x);
    /* a was popped before x, which completed: refused, nothing done. */
    g_assert_false(vu_queue_unpop(tf->dev, q0(tf), a));
    c = vu_queue_pop(tf->dev, q0(tf));
    g_assert_nonnull(c);
    g_assert_null(vu_queue_pop(tf->dev, q0(tf)));
    /* Detached counts as completed for what was popped before it. */
    vu_queue_detach(tf->dev, q0(tf), c);
    vu_elem_free(c);
    g_assert_false(vu_queue_unpop(tf->dev, q0(tf), a));
    vu_queue_push(tf->dev, q0(tf), a, 0);
    vu_elem_free(a);
    g_assert_cmpuint(tf_get_vring_base(tf, 0), ==, 3);
    tf_free(tf);
}

static void test_split_len_capped(void)
{
    TFront *tf = setup(F_BASE, NUM);
    TBuf b[2] = { { TG_DATA, 10, false }, { TG_DATA + 0x100, 64, true } };
    VuVirtqElement *e;
    uint32_t id, len;

    tr_split_add(tf, 0, b, 2, 0);
    e = vu_queue_pop(tf->dev, q0(tf));
    vu_queue_push(tf->dev, q0(tf), e, 1000);
    vu_elem_free(e);
    tr_split_used_elem(tf, 0, 0, &id, &len);
    g_assert_cmpuint(len, ==, 64);
    tf_free(tf);
}

/* A chain the device keeps across a memory table change stays usable. */
static void test_split_elem_survives_mem_change(void)
{
    TFront *tf = setup(F_BASE, NUM);
    TBuf b = { TG_DATA, 64, true };
    VuVirtqElement *e;

    tr_split_add(tf, 0, &b, 1, 0);
    e = vu_queue_pop(tf->dev, q0(tf));
    g_assert_nonnull(e);
    tf_set_mem_table(tf); /* same memory, new mappings */
    memset(e->in_sg[0].iov_base, 0x5a, 64);
    g_assert_cmpuint(*(uint8_t *)tg_ptr(&tf->g, TG_DATA + 63), ==, 0x5a);
    vu_queue_push(tf->dev, q0(tf), e, 64);
    vu_elem_free(e);
    g_assert_cmpuint(tr_split_used_idx(tf, 0), ==, 1);
    tf_free(tf);
}

/* ---- packed ----------------------------------------------------------------- */

static void test_packed_pop_push(void)
{
    TFront *tf = setup(F_BASE | F_PACKED, NUM);
    TBuf b[3] = { { TG_DATA, 100, false }, { TG_DATA + 0x200, 50, false },
                  { TG_DATA + 0x1000, 128, true } };
    VuVirtqElement *e;
    uint16_t id, uid;
    uint32_t len;

    fill(tf, TG_DATA, 100, 1);
    id = tr_packed_add(tf, 0, b, 3, 0);
    e = vu_queue_pop(tf->dev, q0(tf));
    g_assert_nonnull(e);
    g_assert_cmpuint(e->index, ==, id);
    g_assert_cmpuint(e->out_num, ==, 2);
    g_assert_cmpuint(e->in_num, ==, 1);
    g_assert_null(vu_queue_pop(tf->dev, q0(tf)));
    vu_iov_from_buf(e->in_sg, e->in_num, 0, "xyz", 3);
    vu_queue_push(tf->dev, q0(tf), e, 3);
    vu_elem_free(e);
    g_assert_true(tr_packed_get_used(tf, 0, &uid, &len));
    g_assert_cmpuint(uid, ==, id);
    g_assert_cmpuint(len, ==, 3);
    g_assert_cmpmem(tg_ptr(&tf->g, TG_DATA + 0x1000), 3, "xyz", 3);
    vu_queue_notify(tf->dev, q0(tf));
    g_assert_cmpuint(t_eventfd_read(tf->ring[0].call), ==, 1);
    tf_free(tf);
}

static void test_packed_indirect(void)
{
    TFront *tf = setup(F_BASE | F_PACKED, NUM);
    TBuf b[3] = { { TG_DATA, 4, false }, { TG_DATA + 0x200, 500, false },
                  { TG_DATA + 0x1000, 8, true } };
    VuVirtqElement *e;
    uint16_t uid;
    uint32_t len;

    tr_packed_add(tf, 0, b, 3, TG_DATA + 0x8000);
    e = vu_queue_pop(tf->dev, q0(tf));
    g_assert_nonnull(e);
    g_assert_cmpuint(e->out_num, ==, 2);
    g_assert_cmpuint(e->in_num, ==, 1);
    vu_queue_push(tf->dev, q0(tf), e, 8);
    vu_elem_free(e);
    g_assert_true(tr_packed_get_used(tf, 0, &uid, &len));
    g_assert_cmpuint(len, ==, 8);
    tf_free(tf);
}

/* Many laps around a small ring: wrap counters on both sides. */
static void test_packed_wrap(void)
{
    TFront *tf = setup(F_BASE | F_PACKED, 4);
    TBuf b[3] = { { TG_DATA, 4, false }, { TG_DATA + 0x100, 4, false },
                  { TG_DATA + 0x1000, 8, true } };

    for (int round = 0; round < 20; round++) {
        unsigned int n = 1 + round % 3;
        uint16_t id = tr_packed_add(tf, 0, b + 3 - n, n, 0), uid;
        VuVirtqElement *e = vu_queue_pop(tf->dev, q0(tf));
        uint32_t len;

        g_assert_nonnull(e);
        g_assert_cmpuint(e->index, ==, id);
        g_assert_cmpuint(e->out_num + e->in_num, ==, n);
        vu_queue_push(tf->dev, q0(tf), e, 8);
        vu_elem_free(e);
        g_assert_true(tr_packed_get_used(tf, 0, &uid, &len));
        g_assert_cmpuint(uid, ==, id);
        g_assert_null(vu_queue_pop(tf->dev, q0(tf)));
    }
    g_assert_false(vu_dev_broken(tf->dev));
    tf_free(tf);
}

static void set_driver_event(TFront *tf, uint16_t off_wrap, uint16_t flags)
{
    uint16_t a = htole16(off_wrap), f = htole16(flags);
    uint8_t *p = tg_ptr(&tf->g, TG_AVAIL(0));

    memcpy(p, &a, 2);
    memcpy(p + 2, &f, 2);
}

static void packed_one(TFront *tf)
{
    TBuf b = { TG_DATA, 8, true };
    VuVirtqElement *e;
    uint16_t uid;
    uint32_t len;

    tr_packed_add(tf, 0, &b, 1, 0);
    e = vu_queue_pop(tf->dev, q0(tf));
    g_assert_nonnull(e);
    vu_queue_push(tf->dev, q0(tf), e, 8);
    vu_elem_free(e);
    g_assert_true(tr_packed_get_used(tf, 0, &uid, &len));
}

static void test_packed_event_suppression(void)
{
    TFront *tf = setup(F_BASE | F_PACKED | F_EVIDX, 8);
    int call = tf->ring[0].call;

    set_driver_event(tf, 0, VRING_PACKED_EVENT_FLAG_DISABLE);
    packed_one(tf);
    vu_queue_notify(tf->dev, q0(tf));
    g_assert_cmpuint(t_eventfd_read(call), ==, 0);
    set_driver_event(tf, 0, VRING_PACKED_EVENT_FLAG_ENABLE);
    packed_one(tf);
    vu_queue_notify(tf->dev, q0(tf));
    g_assert_cmpuint(t_eventfd_read(call), ==, 1);
    /* Want an event when descriptor 4 (this lap, wrap 1) is used. */
    set_driver_event(tf, 4 | (1u << 15), VRING_PACKED_EVENT_FLAG_DESC);
    packed_one(tf); /* uses 2 */
    vu_queue_notify(tf->dev, q0(tf));
    g_assert_cmpuint(t_eventfd_read(call), ==, 0);
    packed_one(tf); /* uses 3 */
    vu_queue_notify(tf->dev, q0(tf));
    g_assert_cmpuint(t_eventfd_read(call), ==, 0);
    packed_one(tf); /* uses 4 */
    vu_queue_notify(tf->dev, q0(tf));
    g_assert_cmpuint(t_eventfd_read(call), ==, 1);
    /* Device event suppression: the device asks for no kicks. */
    vu_queue_set_notification(tf->dev, q0(tf), false);
    g_assert_cmpuint(rd16(tf, TG_USED(0) + 2), ==, VRING_PACKED_EVENT_FLAG_DISABLE);
    vu_queue_set_notification(tf->dev, q0(tf), true);
    g_assert_cmpuint(rd16(tf, TG_USED(0) + 2), ==, VRING_PACKED_EVENT_FLAG_ENABLE);
    tf_free(tf);
}

/* ---- corrupt rings ---------------------------------------------------------- */

typedef struct BadRing {
    const char *name;
    uint64_t features;
    void (*build)(TFront *tf);
} BadRing;

static void r_head_out_of_range(TFront *tf)
{
    tr_split_publish(tf, 0, 100);
}
static void r_avail_idx_jump(TFront *tf)
{
    uint16_t v = htole16(NUM + 1);

    memcpy((uint8_t *)tg_ptr(&tf->g, TG_AVAIL(0)) + 2, &v, 2);
}
static void r_desc_outside_memory(TFront *tf)
{
    TBuf b = { 0x1000, 64, false };

    tr_split_add(tf, 0, &b, 1, 0);
}
static void r_desc_past_end_of_memory(TFront *tf)
{
    TBuf b = { TG_GPA_BASE + (uint64_t)TG_NREG * TG_REG_SIZE - 10, 64, true };

    tr_split_add(tf, 0, &b, 1, 0);
}
static void r_desc_addr_overflow(TFront *tf)
{
    TBuf b = { UINT64_MAX - 10, 64, true };

    tr_split_add(tf, 0, &b, 1, 0);
}
static void r_desc_loop(TFront *tf)
{
    tr_split_write_desc(tf, 0, 0, TG_DATA, 8, VRING_DESC_F_NEXT, 1);
    tr_split_write_desc(tf, 0, 1, TG_DATA, 8, VRING_DESC_F_NEXT, 0);
    tr_split_publish(tf, 0, 0);
}
static void r_next_out_of_range(TFront *tf)
{
    tr_split_write_desc(tf, 0, 0, TG_DATA, 8, VRING_DESC_F_NEXT, 200);
    tr_split_publish(tf, 0, 0);
}
static void r_write_before_read(TFront *tf)
{
    TBuf b[2] = { { TG_DATA, 8, true }, { TG_DATA + 0x100, 8, false } };

    tr_split_add(tf, 0, b, 2, 0);
}
static void r_indirect_write_before_read(TFront *tf)
{
    TBuf b[2] = { { TG_DATA, 8, true }, { TG_DATA + 0x100, 8, false } };

    tr_split_add(tf, 0, b, 2, TG_DATA + 0x8000);
}
static void r_indirect_in_indirect(TFront *tf)
{
    struct vring_desc d = { htole64(TG_DATA + 0x9000), htole32(16),
                            htole16(VRING_DESC_F_INDIRECT), 0 };

    memcpy(tg_ptr(&tf->g, TG_DATA + 0x8000), &d, sizeof(d));
    tr_split_write_desc(tf, 0, 0, TG_DATA + 0x8000, 16, VRING_DESC_F_INDIRECT, 0);
    tr_split_publish(tf, 0, 0);
}
static void r_indirect_size_not_multiple(TFront *tf)
{
    tr_split_write_desc(tf, 0, 0, TG_DATA + 0x8000, 24, VRING_DESC_F_INDIRECT, 0);
    tr_split_publish(tf, 0, 0);
}
static void r_indirect_empty(TFront *tf)
{
    tr_split_write_desc(tf, 0, 0, TG_DATA + 0x8000, 0, VRING_DESC_F_INDIRECT, 0);
    tr_split_publish(tf, 0, 0);
}
static void r_indirect_with_next(TFront *tf)
{
    TBuf b = { TG_DATA, 8, false };

    tr_split_add(tf, 0, &b, 1, TG_DATA + 0x8000);
    tr_split_write_desc(tf, 0, 0, TG_DATA + 0x8000, 16,
                        VRING_DESC_F_INDIRECT | VRING_DESC_F_NEXT, 1);
}
static void r_indirect_outside_memory(TFront *tf)
{
    tr_split_write_desc(tf, 0, 0, 0x2000, 32, VRING_DESC_F_INDIRECT, 0);
    tr_split_publish(tf, 0, 0);
}
static void r_indirect_loop(TFront *tf)
{
    uint8_t *t = tg_ptr(&tf->g, TG_DATA + 0x8000);
    struct vring_desc d0 = { htole64(TG_DATA), htole32(8), htole16(VRING_DESC_F_NEXT), htole16(1) };
    struct vring_desc d1 = { htole64(TG_DATA), htole32(8), htole16(VRING_DESC_F_NEXT), htole16(0) };

    memcpy(t, &d0, 16);
    memcpy(t + 16, &d1, 16);
    tr_split_write_desc(tf, 0, 0, TG_DATA + 0x8000, 32, VRING_DESC_F_INDIRECT, 0);
    tr_split_publish(tf, 0, 0);
}
static void r_indirect_too_large(TFront *tf)
{
    tr_split_write_desc(tf, 0, 0, TG_DATA, 16 * 4096, VRING_DESC_F_INDIRECT, 0);
    tr_split_publish(tf, 0, 0);
}
static void r_indirect_not_negotiated(TFront *tf)
{
    TBuf b = { TG_DATA, 8, false };

    tr_split_add(tf, 0, &b, 1, TG_DATA + 0x8000);
}
static void r_chain_over_4g(TFront *tf)
{
    /* 2048 indirect entries of 2 MiB each, all inside guest RAM: 4 GiB. */
    uint8_t *t = tg_ptr(&tf->g, TG_GPA_BASE + TG_REG_SIZE);

    for (unsigned int i = 0; i < 2048; i++) {
        struct vring_desc d = { htole64(TG_GPA_BASE), htole32(TG_REG_SIZE),
                                htole16(i < 2047 ? VRING_DESC_F_NEXT : 0), htole16(i + 1) };

        memcpy(t + 16 * i, &d, sizeof(d));
    }
    tr_split_write_desc(tf, 0, 0, TG_GPA_BASE + TG_REG_SIZE, 16 * 2048, VRING_DESC_F_INDIRECT, 0);
    tr_split_publish(tf, 0, 0);
}
/* packed */
static void p_write_desc(TFront *tf, uint16_t pos, uint64_t addr, uint32_t len, uint16_t id,
                         uint16_t flags)
{
    struct vring_packed_desc d = { htole64(addr), htole32(len), htole16(id),
                                   htole16(flags | (1u << VRING_PACKED_DESC_F_AVAIL)) };

    memcpy((uint8_t *)tg_ptr(&tf->g, TG_DESC(0)) + 16 * pos, &d, sizeof(d));
}
static void rp_id_out_of_range(TFront *tf)
{
    p_write_desc(tf, 0, TG_DATA, 8, 300, 0);
}
static void rp_chain_longer_than_ring(TFront *tf)
{
    for (uint16_t i = 0; i < NUM; i++) {
        p_write_desc(tf, i, TG_DATA, 8, 0, VRING_DESC_F_NEXT);
    }
}
static void rp_indirect_in_indirect(TFront *tf)
{
    struct vring_packed_desc d = { htole64(TG_DATA), htole32(16), 0,
                                   htole16(VRING_DESC_F_INDIRECT) };

    memcpy(tg_ptr(&tf->g, TG_DATA + 0x8000), &d, sizeof(d));
    p_write_desc(tf, 0, TG_DATA + 0x8000, 16, 0, VRING_DESC_F_INDIRECT);
}
static void rp_indirect_with_next(TFront *tf)
{
    p_write_desc(tf, 0, TG_DATA + 0x8000, 16, 0, VRING_DESC_F_INDIRECT | VRING_DESC_F_NEXT);
    p_write_desc(tf, 1, TG_DATA, 8, 0, 0);
}
static void rp_desc_outside_memory(TFront *tf)
{
    p_write_desc(tf, 0, 0x5000, 8, 0, 0);
}
static void rp_write_before_read(TFront *tf)
{
    p_write_desc(tf, 0, TG_DATA, 8, 0, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT);
    p_write_desc(tf, 1, TG_DATA, 8, 0, 0);
}
static void rp_indirect_size(TFront *tf)
{
    p_write_desc(tf, 0, TG_DATA + 0x8000, 40, 0, VRING_DESC_F_INDIRECT);
}

static const BadRing bad_rings[] = {
    { "head-out-of-range", F_BASE, r_head_out_of_range },
    { "avail-idx-jump", F_BASE, r_avail_idx_jump },
    { "desc-outside-memory", F_BASE, r_desc_outside_memory },
    { "desc-past-end-of-memory", F_BASE, r_desc_past_end_of_memory },
    { "desc-addr-overflow", F_BASE, r_desc_addr_overflow },
    { "desc-loop", F_BASE, r_desc_loop },
    { "next-out-of-range", F_BASE, r_next_out_of_range },
    { "write-before-read", F_BASE, r_write_before_read },
    { "indirect-write-before-read", F_BASE, r_indirect_write_before_read },
    { "indirect-in-indirect", F_BASE, r_indirect_in_indirect },
    { "indirect-size-not-multiple-of-16", F_BASE, r_indirect_size_not_multiple },
    { "indirect-empty", F_BASE, r_indirect_empty },
    { "indirect-with-next", F_BASE, r_indirect_with_next },
    { "indirect-outside-memory", F_BASE, r_indirect_outside_memory },
    { "indirect-loop", F_BASE, r_indirect_loop },
    { "indirect-too-large", F_BASE, r_indirect_too_large },
    { "indirect-not-negotiated", 1ull << VIRTIO_F_VERSION_1, r_indirect_not_negotiated },
    { "chain-over-4gib", F_BASE, r_chain_over_4g },
    { "packed-id-out-of-range", F_BASE | F_PACKED, rp_id_out_of_range },
    { "packed-chain-longer-than-ring", F_BASE | F_PACKED, rp_chain_longer_than_ring },
    { "packed-indirect-in-indirect", F_BASE | F_PACKED, rp_indirect_in_indirect },
    { "packed-indirect-with-next", F_BASE | F_PACKED, rp_indirect_with_next },
    { "packed-desc-outside-memory", F_BASE | F_PACKED, rp_desc_outside_memory },
    { "packed-write-before-read", F_BASE | F_PACKED, rp_write_before_read },
    { "packed-indirect-size-not-multiple-of-16", F_BASE | F_PACKED, rp_indirect_size },
};

static void test_bad_ring(gconstpointer data)
{
    const BadRing *br = data;
    TFront *tf = setup(br->features, NUM);
    g_autofree uint8_t *used_before = g_memdup2(tg_ptr(&tf->g, TG_USED(0)), 4 + 8 * NUM);
    g_autofree uint8_t *desc_before = NULL;

    br->build(tf);
    desc_before = g_memdup2(tg_ptr(&tf->g, TG_DESC(0)), 16 * NUM);
    g_assert_null(vu_queue_pop(tf->dev, q0(tf)));
    g_assert_true(vu_dev_broken(tf->dev));
    g_assert_false(vu_queue_ready(q0(tf)));
    g_assert_null(vu_queue_pop(tf->dev, q0(tf)));
    /* Nothing was written back to the guest. */
    if (!(br->features & F_PACKED)) {
        g_assert_cmpmem(tg_ptr(&tf->g, TG_USED(0)), 4 + 8 * NUM, used_before, 4 + 8 * NUM);
    }
    g_assert_cmpmem(tg_ptr(&tf->g, TG_DESC(0)), 16 * NUM, desc_before, 16 * NUM);
    /* The front-end hears about it. */
    g_assert_cmpuint(t_eventfd_read(tf->ring[0].err), ==, 1);
    g_assert_cmphex(tf_get_u64(tf, VHOST_USER_GET_STATUS) & 0x40, ==, 0x40);
    /* Messages still work; a device reset clears the state. */
    g_assert_cmpuint(tf_get_u64(tf, VHOST_USER_GET_QUEUE_NUM), ==, TG_NQ);
    tf_set_u64(tf, VHOST_USER_SET_STATUS, 0);
    g_assert_false(vu_dev_broken(tf->dev));
    g_assert_cmpuint(tf_get_u64(tf, VHOST_USER_GET_STATUS), ==, 0);
    tf_free(tf);
}

/* The same head (split) / buffer id (packed) offered while the device
 * still holds it. */
static void test_bad_head_in_use(gconstpointer data)
{
    bool packed = GPOINTER_TO_INT(data);
    TFront *tf = setup(F_BASE | (packed ? F_PACKED : 0), NUM);
    TBuf b = { TG_DATA, 8, true };
    VuVirtqElement *e;

    if (packed) {
        tr_packed_add(tf, 0, &b, 1, 0);
        tf->ring[0].next_id = 0; /* reuse buffer id 0 */
        tr_packed_add(tf, 0, &b, 1, 0);
    } else {
        uint16_t head = tr_split_add(tf, 0, &b, 1, 0);

        tr_split_publish(tf, 0, head);
    }
    e = vu_queue_pop(tf->dev, q0(tf));
    g_assert_nonnull(e);
    g_assert_null(vu_queue_pop(tf->dev, q0(tf)));
    g_assert_true(vu_dev_broken(tf->dev));
    vu_elem_free(e);
    tf_free(tf);
}

static void le16_at(uint8_t *p, uint16_t v)
{
    v = htole16(v);
    memcpy(p, &v, sizeof(v));
}

static void le64_at(uint8_t *p, uint64_t v)
{
    v = htole64(v);
    memcpy(p, &v, sizeof(v));
}

/* A split ring restarted over a region a previous back-end left: the
 * inflight code computes what to resubmit and where the ring stands, and
 * writes nothing of the ring itself (vu-virtq applies the result). */
static void test_inflight_start_computes(void)
{
    enum { QS = 8 };
    size_t rsz = vu_inflight_region_size(QS);
    g_autofree uint8_t *area_mem = g_malloc0(rsz);
    VuInflightArea area = { .addr = area_mem, .size = rsz, .num_queues = 1, .queue_size = QS,
                            .region_size = rsz };
    VuRingShared sh = {
        .protocol_features = 1ull << VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD,
        .inflight = &area,
    };
    VuVirtq vq = { .shared = &sh, .num = QS, .used_idx = 40, .last_avail_idx = 45,
                   .avail_wrap = true, .used_wrap = true, .inuse = 0 };
    VuInflightStart st;
    uint8_t *d;

    /* Header: features, version 1, desc_num, last_batch_head, used_idx;
     * then {inflight, pad[5], next, counter} per head. */
    le16_at(area_mem + 8, 1);
    le16_at(area_mem + 10, QS);
    le16_at(area_mem + 14, 40);
    d = area_mem + 16;
    d[16 * 2] = 1;
    le64_at(d + 16 * 2 + 8, 7); /* head 2, popped later */
    d[16 * 5] = 1;
    le64_at(d + 16 * 5 + 8, 3); /* head 5, popped first */
    vu_inflight_queue_start(&vq, &st);
    /* The ring is as it was (the call takes a const ring, too). */
    g_assert_cmpuint(vq.used_idx, ==, 40);
    g_assert_cmpuint(vq.last_avail_idx, ==, 45);
    g_assert_cmpuint(vq.inuse, ==, 0);
    g_assert_null(vq.inflight);
    g_assert_null(vq.resubmit);
    g_assert_cmpuint(vq.inflight_counter, ==, 0);
    g_assert_true(st.region == area_mem);
    g_assert_true(st.restored);
    g_assert_cmpuint(st.resubmit_num, ==, 2);
    g_assert_cmpuint(st.resubmit[0], ==, 5);
    g_assert_cmpuint(st.resubmit[1], ==, 2);
    g_assert_cmpuint(st.counter, ==, 8);
    g_assert_cmpuint(st.inuse, ==, 2);
    g_assert_cmpuint(st.used_idx, ==, 40);
    g_assert_cmpuint(st.last_avail_idx, ==, 42); /* used + what is in flight */
    g_free(st.resubmit);

    /* Without the protocol feature nothing is tracked or changed. */
    sh.protocol_features = 0;
    vu_inflight_queue_start(&vq, &st);
    g_assert_null(st.region);
    g_assert_false(st.restored);
    g_assert_cmpuint(st.last_avail_idx, ==, 45);
    g_assert_null(st.resubmit);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_log_set_always_fatal(G_LOG_LEVEL_CRITICAL);

    g_test_add_func("/vu/virtq/split/pop-push", test_split_pop_push);
    g_test_add_func("/vu/virtq/split/indirect", test_split_indirect);
    g_test_add_func("/vu/virtq/split/direct-then-indirect", test_split_direct_then_indirect);
    g_test_add_func("/vu/virtq/split/cross-region", test_split_cross_region);
    g_test_add_func("/vu/virtq/split/event-idx", test_split_event_idx);
    g_test_add_func("/vu/virtq/split/no-interrupt-flag", test_split_no_interrupt);
    g_test_add_func("/vu/virtq/split/set-notification", test_split_set_notification);
    g_test_add_func("/vu/virtq/split/unpop", test_split_unpop);
    g_test_add_func("/vu/virtq/split/unpop-refused", test_split_unpop_refused);
    g_test_add_func("/vu/virtq/inflight/start-computes", test_inflight_start_computes);
    g_test_add_func("/vu/virtq/split/len-capped", test_split_len_capped);
    g_test_add_func("/vu/virtq/split/elem-survives-mem-change",
                    test_split_elem_survives_mem_change);
    g_test_add_func("/vu/virtq/packed/pop-push", test_packed_pop_push);
    g_test_add_func("/vu/virtq/packed/indirect", test_packed_indirect);
    g_test_add_func("/vu/virtq/packed/wrap", test_packed_wrap);
    g_test_add_func("/vu/virtq/packed/event-suppression", test_packed_event_suppression);
    g_test_add_data_func("/vu/virtq/invalid/head-already-in-use", GINT_TO_POINTER(0),
                         test_bad_head_in_use);
    g_test_add_data_func("/vu/virtq/invalid/packed-id-already-in-use", GINT_TO_POINTER(1),
                         test_bad_head_in_use);
    for (size_t i = 0; i < G_N_ELEMENTS(bad_rings); i++) {
        g_autofree char *path = g_strdup_printf("/vu/virtq/invalid/%s", bad_rings[i].name);

        g_test_add_data_func(path, &bad_rings[i], test_bad_ring);
    }
    return g_test_run();
}
