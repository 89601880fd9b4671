/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-vu-dev.c - protocol state machine: ring states, GET_VRING_BASE,
 * suspended device, kicks, kick-less rings, inflight resubmission after a
 * reconnect, dirty logging, resets, and connect/disconnect leak checks.
 */
#include "config.h"

#include <endian.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/vhost_types.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>

#include <sys/socket.h>

#include "test-vu-common.h"
#include "vu/vu-glib.h"
#include "vu/vu-sigbus.h"

#define F_PACKED (1ull << 34)
#define F_BASE ((1ull << VIRTIO_F_VERSION_1) | (1ull << VIRTIO_RING_F_INDIRECT_DESC))
#define V VHOST_USER_VERSION
#define NR VHOST_USER_NEED_REPLY_MASK

static VuVirtq *q0(TFront *tf)
{
    return vu_dev_queue(tf->dev, 0);
}

static TFront *setup(uint64_t features, unsigned int num)
{
    TFront *tf = tf_new();

    tf_negotiate(tf, features);
    tf_set_mem_table(tf);
    tf_setup_queue(tf, 0, num, features & F_PACKED);
    return tf;
}

static void test_ring_states(void)
{
    TFront *tf = tf_new();
    VuVirtq *vq = q0(tf);

    g_assert_true(vu_dev_suspended(tf->dev));
    g_assert_false(vu_queue_started(vq));
    g_assert_false(vu_queue_enabled(vq));
    tf_negotiate(tf, F_BASE);
    g_assert_false(vu_queue_enabled(vq)); /* PROTOCOL_FEATURES: rings start disabled */
    tf_set_mem_table(tf);
    tf_setup_queue(tf, 0, 16, false);
    g_assert_true(vu_queue_started(vq));
    g_assert_true(vu_queue_enabled(vq));
    g_assert_true(vu_queue_ready(vq));
    g_assert_false(vu_dev_suspended(tf->dev));
    g_assert_cmpuint(tf->td.start_calls[0], ==, 1);
    g_assert_cmpuint(tf->td.kicks[0], >=, 1); /* told to look at the ring */
    g_assert_cmpuint(tf->td.resumes, ==, 0);

    /* Disable: started, not ready. */
    tf_set_state(tf, VHOST_USER_SET_VRING_ENABLE, 0, 0);
    g_assert_true(vu_queue_started(vq));
    g_assert_false(vu_queue_ready(vq));
    /* Stop: tracked enable state survives. */
    tf_set_state(tf, VHOST_USER_SET_VRING_ENABLE, 0, 1);
    tf_get_vring_base(tf, 0);
    g_assert_false(vu_queue_started(vq));
    g_assert_true(vu_queue_enabled(vq));
    g_assert_cmpuint(tf->td.stop_calls[0], ==, 1);
    g_assert_true(vu_dev_suspended(tf->dev));
    g_assert_cmpuint(tf->td.suspends, ==, 1);
    /* The old kick fd no longer restarts it. */
    g_assert_cmpint(write(tf->ring[0].kick, &(uint64_t){ 1 }, 8), ==, 8);
    g_assert_cmpuint(tf_run_watches(tf, 0), ==, 0);
    g_assert_false(vu_queue_started(vq));
    /* A new kick fd does, and the device hears it resumed. */
    tf_setup_queue_ex(tf, 0, 16, false, 0, false, true);
    g_assert_true(vu_queue_started(vq));
    g_assert_cmpuint(tf->td.resumes, ==, 1);
    tf_free(tf);
}

static void test_features_without_protocol(void)
{
    TFront *tf = tf_new();

    tf_set_u64(tf, VHOST_USER_SET_FEATURES, 1ull << VIRTIO_F_VERSION_1);
    for (unsigned int q = 0; q < TG_NQ; q++) {
        g_assert_true(vu_queue_enabled(vu_dev_queue(tf->dev, q)));
    }
    tf_free(tf);
}

static void add_one(TFront *tf, unsigned int q)
{
    TBuf b = { TG_DATA, 8, true };

    if (tf->ring[q].packed) {
        TBuf b2[2] = { { TG_DATA, 4, false }, { TG_DATA + 64, 8, true } };

        tr_packed_add(tf, q, b2, 2, 0);
    } else {
        tr_split_add(tf, q, &b, 1, 0);
    }
}

static void pop_push(TFront *tf, unsigned int n)
{
    for (unsigned int i = 0; i < n; i++) {
        VuVirtqElement *e;

        add_one(tf, 0);
        e = vu_queue_pop(tf->dev, q0(tf));
        g_assert_nonnull(e);
        vu_queue_push(tf->dev, q0(tf), e, 8);
        vu_elem_free(e);
        if (tf->ring[0].packed) {
            uint16_t id;
            uint32_t len;

            g_assert_true(tr_packed_get_used(tf, 0, &id, &len));
        }
    }
}

static void test_get_vring_base_split(void)
{
    TFront *tf = setup(F_BASE, 16);

    pop_push(tf, 3);
    add_one(tf, 0); /* available, not yet processed */
    g_assert_cmpuint(tf_get_vring_base(tf, 0), ==, 3);
    tf_free(tf);

    /* Resume from a base: the used index is read from guest memory. */
    tf = tf_new();
    tf_negotiate(tf, F_BASE);
    tf_set_mem_table(tf);
    memset(tg_ptr(&tf->g, TG_DESC(0)), 0, 0x10000);
    {
        uint16_t v = htole16(100);

        memcpy((uint8_t *)tg_ptr(&tf->g, TG_USED(0)) + 2, &v, 2);
    }
    tf->ring[0] = (TRing){ .num = 16, .avail_idx = 100, .kick = -1, .call = -1, .err = -1 };
    tf_setup_queue_ex(tf, 0, 16, false, 100, false, true);
    pop_push(tf, 2);
    g_assert_cmpuint(tr_split_used_idx(tf, 0), ==, 102);
    g_assert_cmpuint(tf_get_vring_base(tf, 0), ==, 102);
    tf_free(tf);
}

static void test_get_vring_base_packed(void)
{
    TFront *tf = setup(F_BASE | F_PACKED, 8);
    uint32_t base;

    pop_push(tf, 5); /* 5 chains of 2 descriptors: 10 slots, one lap + 2 */
    base = tf_get_vring_base(tf, 0);
    g_assert_cmphex(base & 0x7fff, ==, 2);
    g_assert_cmphex((base >> 15) & 1, ==, 0);
    g_assert_cmphex((base >> 16) & 0x7fff, ==, 2);
    g_assert_cmphex(base >> 31, ==, 0);
    tf_free(tf);

    /* SET then GET before start round-trips the encoding. */
    tf = tf_new();
    tf_negotiate(tf, F_BASE | F_PACKED);
    tf_set_state(tf, VHOST_USER_SET_VRING_NUM, 1, 8);
    tf_set_state(tf, VHOST_USER_SET_VRING_BASE, 1, 3 | (1u << 15) | (5u << 16));
    g_assert_cmphex(tf_get_vring_base(tf, 1), ==, 3 | (1u << 15) | (5u << 16));
    tf_free(tf);
}

/* The device returns held buffers in queue_set_started(false), before the
 * GET_VRING_BASE reply. */
static void test_get_vring_base_returns_elements(void)
{
    TFront *tf = setup(F_BASE, 16);

    add_one(tf, 0);
    add_one(tf, 0);
    for (int i = 0; i < 2; i++) {
        VuVirtqElement *e = vu_queue_pop(tf->dev, q0(tf));

        g_assert_nonnull(e);
        g_ptr_array_add(tf->td.held[0], e);
    }
    g_assert_cmpuint(tr_split_used_idx(tf, 0), ==, 0);
    g_assert_cmpuint(tf_get_vring_base(tf, 0), ==, 2);
    g_assert_cmpuint(tr_split_used_idx(tf, 0), ==, 2);
    tf_free(tf);
}

/* A stopped ring gives a set base back unchanged (GET before start). */
static void test_set_vring_base_while_started(void)
{
    TFront *tf = setup(F_BASE, 16);
    VuMsgState st = { 0, 5 };
    VuMsgHdr hdr;
    uint64_t ack = 0;

    g_assert_true(tf_msg(tf, VHOST_USER_SET_VRING_BASE, V | NR, &st, sizeof(st), NULL, 0));
    g_assert_cmpuint(tf_recv(tf, &hdr, &ack, 8, NULL), ==, 8);
    g_assert_cmpuint(ack, !=, 0); /* refused, connection kept */
    g_assert_cmpuint(tf_get_vring_base(tf, 0), ==, 0);
    tf_free(tf);
}

/* A front-end may send the kick fd before the ring is described: the
 * ring starts then, and is processed once it is complete. */
static void test_kick_before_setup(void)
{
    TFront *tf = tf_new();
    VuMsgVringAddr a = {
        .index = 0,
        .desc_user_addr = TG_DESC(0) - TG_GPA_BASE + TG_UVA_BASE,
        .avail_user_addr = TG_AVAIL(0) - TG_GPA_BASE + TG_UVA_BASE,
        .used_user_addr = TG_USED(0) - TG_GPA_BASE + TG_UVA_BASE,
    };
    int kick = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    uint64_t v = 0;

    tf_negotiate(tf, F_BASE);
    tf_set_mem_table(tf);
    g_assert_true(tf_msg(tf, VHOST_USER_SET_VRING_KICK, V, &v, 8, &kick, 1));
    g_assert_true(vu_queue_started(q0(tf)));
    g_assert_false(vu_queue_ready(q0(tf)));
    tf_set_state(tf, VHOST_USER_SET_VRING_NUM, 0, 16);
    tf_set_state(tf, VHOST_USER_SET_VRING_BASE, 0, 0);
    g_assert_true(tf_msg(tf, VHOST_USER_SET_VRING_ADDR, V, &a, sizeof(a), NULL, 0));
    tf_set_state(tf, VHOST_USER_SET_VRING_ENABLE, 0, 1);
    g_assert_true(vu_queue_ready(q0(tf)));
    tf->ring[0].num = 16;
    pop_push(tf, 1);
    g_assert_cmpuint(tr_split_used_idx(tf, 0), ==, 1);
    close(kick);
    tf_free(tf);
}

static void test_suspended_no_writes(void)
{
    TFront *tf = setup(F_BASE, 16);
    g_autofree uint8_t *snap0 = NULL, *snap1 = NULL;
    VuVirtqElement *e;

    add_one(tf, 0);
    e = vu_queue_pop(tf->dev, q0(tf));
    g_assert_nonnull(e);
    add_one(tf, 0);
    tf_get_vring_base(tf, 0);
    g_assert_true(vu_dev_suspended(tf->dev));
    snap0 = g_memdup2(tf->g.mem[0], TG_REG_SIZE);
    snap1 = g_memdup2(tf->g.mem[1], TG_REG_SIZE);
    vu_queue_push(tf->dev, q0(tf), e, 8);
    vu_queue_notify(tf->dev, q0(tf));
    vu_queue_set_notification(tf->dev, q0(tf), false);
    vu_queue_set_notification(tf->dev, q0(tf), true);
    g_assert_null(vu_queue_pop(tf->dev, q0(tf)));
    vu_elem_free(e);
    g_assert_true(memcmp(snap0, tf->g.mem[0], TG_REG_SIZE) == 0);
    g_assert_true(memcmp(snap1, tf->g.mem[1], TG_REG_SIZE) == 0);
    g_assert_cmpuint(t_eventfd_read(tf->ring[0].call), ==, 0);
    /* Still answering. */
    g_assert_cmpuint(tf_get_u64(tf, VHOST_USER_GET_QUEUE_NUM), ==, TG_NQ);
    tf_free(tf);
}

/* A full queue the device does not consume costs one callback per kick. */
static void test_kick_forwarded_once(void)
{
    TFront *tf = setup(F_BASE, 16);
    unsigned int k0;

    for (int i = 0; i < 16; i++) {
        add_one(tf, 0);
    }
    k0 = tf->td.kicks[0];
    for (int i = 0; i < 3; i++) {
        g_assert_cmpint(write(tf->ring[0].kick, &(uint64_t){ 1 }, 8), ==, 8);
    }
    g_assert_cmpuint(tf_run_watches(tf, 1000), ==, 1);
    g_assert_cmpuint(tf->td.kicks[0], ==, k0 + 1);
    g_assert_cmpuint(tf_run_watches(tf, 0), ==, 0);
    g_assert_cmpuint(tf->td.kicks[0], ==, k0 + 1);
    tf_free(tf);
}

static void test_polled_ring(gconstpointer data)
{
    bool packed = GPOINTER_TO_INT(data);
    TFront *tf = tf_new();
    unsigned int k0, ran = 0;

    tf_negotiate(tf, F_BASE | (packed ? F_PACKED : 0));
    tf_set_mem_table(tf);
    tf_setup_queue_ex(tf, 0, 16, packed, packed ? (1u << 15) | (1u << 31) : 0, true, false);
    g_assert_true(vu_queue_ready(q0(tf)));
    g_assert_cmpuint(tf->watches->n, ==, 1); /* the poll timer */
    k0 = tf->td.kicks[0];
    add_one(tf, 0);
    for (int i = 0; i < 200 && tf->td.kicks[0] == k0; i++) {
        ran += tf_run_watches(tf, 50);
    }
    g_assert_cmpuint(tf->td.kicks[0], ==, k0 + 1);
    if (packed) {
        /* The device consumes it; the next buffer is seen again. */
        VuVirtqElement *e = vu_queue_pop(tf->dev, q0(tf));

        g_assert_nonnull(e);
        vu_queue_push(tf->dev, q0(tf), e, 0);
        vu_elem_free(e);
        add_one(tf, 0);
        for (int i = 0; i < 200 && tf->td.kicks[0] == k0 + 1; i++) {
            tf_run_watches(tf, 50);
        }
        g_assert_cmpuint(tf->td.kicks[0], ==, k0 + 2);
        k0++;
    }
    /* Nothing new: timer ticks, no more kicks. */
    for (int i = 0; i < 3; i++) {
        tf_run_watches(tf, 50);
    }
    g_assert_cmpuint(tf->td.kicks[0], ==, k0 + 1);
    g_assert_cmpuint(ran, >=, 1);
    /* Stopping the only polled ring removes the timer. */
    tf_get_vring_base(tf, 0);
    g_assert_cmpuint(tf->watches->n, ==, 0);
    tf_free(tf);
}

/* ---- inflight --------------------------------------------------------------- */

static int get_inflight(TFront *tf, VuMsgInflight *ret)
{
    VuMsgInflight inf = { .num_queues = TG_NQ, .queue_size = 64 };
    VuMsgHdr hdr;
    int fd = -1;

    g_assert_true(tf_msg(tf, VHOST_USER_GET_INFLIGHT_FD, V, &inf, sizeof(inf), NULL, 0));
    g_assert_cmpuint(tf_recv(tf, &hdr, ret, sizeof(*ret), &fd), ==, sizeof(inf));
    g_assert_cmpint(fd, >=, 0);
    return fd;
}

static void set_inflight(TFront *tf, const VuMsgInflight *inf, int fd)
{
    VuMsgHdr hdr;
    uint64_t ack = 1;

    g_assert_true(tf_msg(tf, VHOST_USER_SET_INFLIGHT_FD, V | NR, inf, sizeof(*inf), &fd, 1));
    g_assert_cmpuint(tf_recv(tf, &hdr, &ack, 8, NULL), ==, 8);
    g_assert_cmpuint(ack, ==, 0);
}

static void inflight_resubmit(bool packed)
{
    uint64_t f = F_BASE | (packed ? F_PACKED : 0);
    TFront *tf = tf_new();
    VuMsgInflight inf;
    VuVirtqElement *e[4];
    unsigned int idx[4];
    uint32_t base;
    int fd;

    tf_negotiate(tf, f);
    fd = get_inflight(tf, &inf);
    set_inflight(tf, &inf, fd);
    tf_set_mem_table(tf);
    tf_setup_queue(tf, 0, 16, packed);
    for (int i = 0; i < 4; i++) {
        TBuf b[2] = { { TG_DATA + 0x100 * i, 4, false }, { TG_DATA + 0x4000 + 0x100 * i, 8, true } };

        if (packed) {
            tr_packed_add(tf, 0, b, 2, 0);
        } else {
            tr_split_add(tf, 0, b, 2, 0);
        }
    }
    for (int i = 0; i < 3; i++) {
        e[i] = vu_queue_pop(tf->dev, q0(tf));
        g_assert_nonnull(e[i]);
        idx[i] = e[i]->index;
    }
    /* Complete the middle one; 0 and 2 stay in flight. */
    vu_queue_push(tf->dev, q0(tf), e[1], 8);
    for (int i = 0; i < 3; i++) {
        vu_elem_free(e[i]);
    }
    base = packed ? 0 : 0; /* what a front-end knows after a crash */

    /* The back-end goes away without GET_VRING_BASE. */
    tf_reconnect(tf);
    tf_negotiate(tf, f);
    set_inflight(tf, &inf, fd);
    tf_set_mem_table(tf);
    if (packed) {
        base = (1u << 15) | (1u << 31);
    }
    tf_setup_queue_ex(tf, 0, 16, packed, base, false, true);

    e[0] = vu_queue_pop(tf->dev, q0(tf));
    e[1] = vu_queue_pop(tf->dev, q0(tf));
    e[2] = vu_queue_pop(tf->dev, q0(tf));
    e[3] = vu_queue_pop(tf->dev, q0(tf));
    g_assert_nonnull(e[0]);
    g_assert_nonnull(e[1]);
    g_assert_nonnull(e[2]);
    g_assert_null(e[3]);
    /* In order of their first pop, none twice, then the never-popped one. */
    g_assert_cmpuint(e[0]->index, ==, idx[0]);
    g_assert_cmpuint(e[1]->index, ==, idx[2]);
    g_assert_cmpuint(e[0]->in_num, ==, 1);
    g_assert_true(e[0]->in_sg[0].iov_base == tg_ptr(&tf->g, TG_DATA + 0x4000) ||
                  vu_iov_size(e[0]->in_sg, 1) == 8);
    g_assert_cmpuint(e[2]->index, !=, idx[0]);
    g_assert_cmpuint(e[2]->index, !=, idx[1]);
    g_assert_cmpuint(e[2]->index, !=, idx[2]);
    for (int i = 0; i < 3; i++) {
        vu_queue_push(tf->dev, q0(tf), e[i], 8);
        vu_elem_free(e[i]);
    }
    /* Everything completed: the guest saw 4 used buffers in total. */
    if (packed) {
        uint16_t id;
        uint32_t len;
        unsigned int n = 0;

        while (tr_packed_get_used(tf, 0, &id, &len)) {
            n++;
        }
        g_assert_cmpuint(n, ==, 4);
    } else {
        g_assert_cmpuint(tr_split_used_idx(tf, 0), ==, 4);
        g_assert_cmpuint(tf_get_vring_base(tf, 0), ==, 4);
    }

    /* A third connection finds nothing left to resubmit. */
    tf_reconnect(tf);
    tf_negotiate(tf, f);
    set_inflight(tf, &inf, fd);
    tf_set_mem_table(tf);
    tf_setup_queue_ex(tf, 0, 16, packed, packed ? (4u * 2 % 16) | (1u << 15) |
                                                      ((4u * 2 % 16) << 16) | (1u << 31)
                                                : 4,
                      false, true);
    g_assert_null(vu_queue_pop(tf->dev, q0(tf)));
    g_assert_false(vu_dev_broken(tf->dev));
    close(fd);
    tf_free(tf);
}

/* An inflight region on a file the daemon cannot seal, shrunk by the
 * front-end after SET_INFLIGHT_FD: tracking a popped buffer faults, the
 * process survives and the ring keeps working. */
static void test_inflight_shrunk(void)
{
    TFront *tf = tf_new();
    VuMsgInflight inf;
    VuVirtqElement *e;
    TBuf b[2] = { { TG_DATA, 4, false }, { TG_DATA + 0x4000, 8, true } };
    uint64_t faults = vu_sigbus_faults();
    int sealed, fd;

    tf_negotiate(tf, F_BASE);
    sealed = get_inflight(tf, &inf); /* for the geometry */
    close(sealed);
    fd = memfd_create("vu-test-inflight-unsealable", MFD_CLOEXEC);
    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(ftruncate(fd, (off_t)inf.mmap_size), ==, 0);
    set_inflight(tf, &inf, fd);
    tf_set_mem_table(tf);
    tf_setup_queue(tf, 0, 16, false);
    g_assert_cmpint(ftruncate(fd, 0), ==, 0);
    tr_split_add(tf, 0, b, 2, 0);
    e = vu_queue_pop(tf->dev, q0(tf));
    g_assert_nonnull(e);
    vu_queue_push(tf->dev, q0(tf), e, 8);
    vu_elem_free(e);
    g_assert_cmpuint(vu_sigbus_faults(), >, faults);
    g_assert_cmpuint(tr_split_used_idx(tf, 0), ==, 1);
    close(fd);
    tf_free(tf);
}

static void test_inflight_split(void)
{
    inflight_resubmit(false);
}

static void test_inflight_packed(void)
{
    inflight_resubmit(true);
}

/* The inflight area is shared with the front-end: garbage in it must not
 * crash the back-end, loop, or hand out memory outside the guest. */
static void inflight_hostile(bool packed)
{
    uint64_t f = F_BASE | (packed ? F_PACKED : 0);
    TFront *tf = tf_new();
    g_autoptr(GRand) rnd = g_rand_new_with_seed(0x5eed);
    VuMsgInflight inf;
    uint8_t *area;
    int fd;

    tf_negotiate(tf, f);
    fd = get_inflight(tf, &inf);
    area = mmap(NULL, inf.mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    g_assert_true(area != MAP_FAILED);
    for (int round = 0; round < 200; round++) {
        VuVirtqElement *e;
        unsigned int n = 0;

        tf_reconnect(tf);
        tf_negotiate(tf, f);
        set_inflight(tf, &inf, fd);
        tf_set_mem_table(tf);
        if (round % 2 == 0) {
            /* a valid region first (fresh, as after a VM reset), then
             * damage some of it */
            memset(area, 0, inf.mmap_size);
            tf_setup_queue(tf, 0, 16, packed);
            for (int i = 0; i < 3; i++) {
                add_one(tf, 0);
                e = vu_queue_pop(tf->dev, q0(tf));
                g_assert_nonnull(e);
                vu_elem_free(e);
            }
            tf_reconnect(tf);
            tf_negotiate(tf, f);
            set_inflight(tf, &inf, fd);
            tf_set_mem_table(tf);
            for (int i = 0; i < 8; i++) {
                area[g_rand_int_range(rnd, 0, (gint32)(inf.mmap_size / 4))] =
                    (uint8_t)g_rand_int(rnd);
            }
        } else {
            for (uint64_t i = 0; i < inf.mmap_size / 4; i++) {
                area[i] = (uint8_t)g_rand_int(rnd);
            }
        }
        tf_setup_queue_ex(tf, 0, 16, packed, packed ? (1u << 15) | (1u << 31) : 0, false, true);
        while ((e = vu_queue_pop(tf->dev, q0(tf))) && n < 64) {
            /* every byte of what we got is guest memory */
            for (unsigned int k = 0; k < e->in_num; k++) {
                memset(e->in_sg[k].iov_base, 0x11, e->in_sg[k].iov_len);
            }
            vu_queue_push(tf->dev, q0(tf), e, 1);
            vu_elem_free(e);
            n++;
        }
        vu_elem_free(e);
        g_assert_cmpuint(n, <=, 32);
    }
    munmap(area, inf.mmap_size);
    close(fd);
    tf_free(tf);
}

static void test_inflight_hostile_split(void)
{
    inflight_hostile(false);
}

static void test_inflight_hostile_packed(void)
{
    inflight_hostile(true);
}

/* ---- dirty log --------------------------------------------------------------- */

static bool log_bit(const uint8_t *log, uint64_t gpa)
{
    uint64_t page = gpa / 4096;

    return log[page / 8] & (1u << (page % 8));
}

static void test_dirty_log(void)
{
    TFront *tf = setup(F_BASE | (1ull << VHOST_F_LOG_ALL), 16);
    uint64_t log_size = (TG_GPA_BASE + (uint64_t)TG_NREG * TG_REG_SIZE) / 4096 / 8 + 1;
    int logfd = memfd_create("vu-test-log", MFD_CLOEXEC);
    int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    VuMsgLog l = { log_size, 0 };
    VuMsgVringAddr a = {
        .index = 0,
        .flags = 1u << VHOST_VRING_F_LOG,
        .desc_user_addr = TG_DESC(0) - TG_GPA_BASE + TG_UVA_BASE,
        .avail_user_addr = TG_AVAIL(0) - TG_GPA_BASE + TG_UVA_BASE,
        .used_user_addr = TG_USED(0) - TG_GPA_BASE + TG_UVA_BASE,
        .log_guest_addr = TG_USED(0),
    };
    TBuf b[3] = { { TG_DATA, 100, false },
                  { TG_DATA + 0x5000, 8192, true },
                  { TG_DATA + 0x9000, 4096, true } };
    VuVirtqElement *e;
    uint8_t *log;
    VuMsgHdr hdr;
    uint64_t v = 1;

    g_assert_cmpint(ftruncate(logfd, (off_t)log_size), ==, 0);
    log = mmap(NULL, log_size, PROT_READ | PROT_WRITE, MAP_SHARED, logfd, 0);
    g_assert_true(log != MAP_FAILED);
    g_assert_true(tf_msg(tf, VHOST_USER_SET_LOG_BASE, V, &l, sizeof(l), &logfd, 1));
    g_assert_cmpuint(tf_recv(tf, &hdr, &v, 8, NULL), ==, 8);
    g_assert_cmpuint(v, ==, 0);
    g_assert_true(tf_msg(tf, VHOST_USER_SET_LOG_FD, V, NULL, 0, &efd, 1));
    g_assert_true(tf_msg(tf, VHOST_USER_SET_VRING_ADDR, V, &a, sizeof(a), NULL, 0));

    tr_split_add(tf, 0, b, 3, 0);
    e = vu_queue_pop(tf->dev, q0(tf));
    g_assert_nonnull(e);
    vu_queue_push(tf->dev, q0(tf), e, 100); /* only the first page of the first in buffer */
    vu_elem_free(e);

    g_assert_true(log_bit(log, TG_DATA + 0x5000));
    g_assert_false(log_bit(log, TG_DATA + 0x6000));
    g_assert_false(log_bit(log, TG_DATA + 0x9000));
    g_assert_false(log_bit(log, TG_DATA)); /* read-only buffer */
    g_assert_true(log_bit(log, TG_USED(0)));
    g_assert_false(log_bit(log, TG_DESC(0)));
    g_assert_cmpuint(t_eventfd_read(efd), >=, 1);

    /* A status written at the very end of a short completion. */
    tr_split_add(tf, 0, b, 3, 0);
    e = vu_queue_pop(tf->dev, q0(tf));
    g_assert_nonnull(e);
    vu_queue_log_write(tf->dev, e, 8192 + 4096 - 8, 8);
    vu_queue_push(tf->dev, q0(tf), e, 0);
    vu_elem_free(e);
    g_assert_true(log_bit(log, TG_DATA + 0x9000 + 4096 - 8));
    g_assert_false(log_bit(log, TG_DATA + 0x6000));

    /* Without VHOST_F_LOG_ALL nothing is logged. */
    memset(log, 0, log_size);
    tf_set_u64(tf, VHOST_USER_SET_FEATURES, tf->features & ~(1ull << VHOST_F_LOG_ALL));
    b[1].len = 16;
    tr_split_add(tf, 0, b, 2, 0);
    e = vu_queue_pop(tf->dev, q0(tf));
    vu_queue_push(tf->dev, q0(tf), e, 16);
    vu_elem_free(e);
    for (uint64_t i = 0; i < log_size; i++) {
        g_assert_cmpuint(log[i], ==, 0);
    }
    munmap(log, log_size);
    close(logfd);
    close(efd);
    tf_free(tf);
}

static void test_dirty_log_packed(void)
{
    TFront *tf = setup(F_BASE | F_PACKED | (1ull << VHOST_F_LOG_ALL), 16);
    uint64_t log_size = (TG_GPA_BASE + (uint64_t)TG_NREG * TG_REG_SIZE) / 4096 / 8 + 1;
    int logfd = memfd_create("vu-test-log", MFD_CLOEXEC);
    VuMsgLog l = { log_size, 0 };
    TBuf b[2] = { { TG_DATA, 100, false }, { TG_DATA + 0x5000, 64, true } };
    VuVirtqElement *e;
    uint8_t *log;
    VuMsgHdr hdr;
    uint64_t v = 1;

    g_assert_cmpint(ftruncate(logfd, (off_t)log_size), ==, 0);
    log = mmap(NULL, log_size, PROT_READ | PROT_WRITE, MAP_SHARED, logfd, 0);
    g_assert_true(tf_msg(tf, VHOST_USER_SET_LOG_BASE, V, &l, sizeof(l), &logfd, 1));
    g_assert_cmpuint(tf_recv(tf, &hdr, &v, 8, NULL), ==, 8);
    tr_packed_add(tf, 0, b, 2, 0);
    e = vu_queue_pop(tf->dev, q0(tf));
    vu_queue_push(tf->dev, q0(tf), e, 64);
    vu_elem_free(e);
    g_assert_true(log_bit(log, TG_DATA + 0x5000));
    g_assert_true(log_bit(log, TG_DESC(0))); /* the used descriptor */
    g_assert_false(log_bit(log, TG_DATA));
    munmap(log, log_size);
    close(logfd);
    tf_free(tf);
}

/* ---- resets and lifetime ----------------------------------------------------- */

static void test_reset_device(void)
{
    TFront *tf = setup(F_BASE, 16);

    tf_set_u64(tf, VHOST_USER_SET_STATUS, 0x0f);
    g_assert_true(tf_msg(tf, VHOST_USER_RESET_DEVICE, V, NULL, 0, NULL, 0));
    g_assert_false(vu_queue_started(q0(tf)));
    g_assert_false(vu_queue_enabled(q0(tf)));
    g_assert_cmpuint(vu_queue_size(q0(tf)), ==, 0);
    g_assert_cmpuint(tf->td.resets, ==, 1);
    g_assert_cmpuint(tf_get_u64(tf, VHOST_USER_GET_STATUS), ==, 0);
    /* Fully usable again after a new setup. */
    tf_setup_queue(tf, 0, 16, false);
    pop_push(tf, 1);
    tf_free(tf);
}

/* The reset hook hears why: the device must tell a reset the guest asked
 * for from a front-end that closed the connection (and may come back
 * with the inflight region) and from a connection we dropped. */
static void test_reset_reasons(void)
{
    TFront *tf = setup(F_BASE, 16);
    VuResetReason at_free = VU_RESET_STATUS;
    VuMsgHdr bad = { .request = VHOST_USER_SET_VRING_NUM, .flags = V, .size = 3 };

    tf_set_u64(tf, VHOST_USER_SET_STATUS, 0x0f);
    g_assert_true(tf_msg(tf, VHOST_USER_RESET_DEVICE, V, NULL, 0, NULL, 0));
    g_assert_cmpint(tf->td.last_reset, ==, VU_RESET_DEVICE);
    tf_set_u64(tf, VHOST_USER_SET_STATUS, 0x0f);
    tf_set_u64(tf, VHOST_USER_SET_STATUS, 0);
    g_assert_cmpint(tf->td.last_reset, ==, VU_RESET_STATUS);
    g_assert_cmpuint(tf->td.resets, ==, 2);

    /* A message, then the front-end's close: the message is a reset the
     * front-end asked for even though the socket is at its end already. */
    tf_send(tf, VHOST_USER_RESET_DEVICE, V, NULL, 0, NULL, 0);
    g_assert_cmpint(shutdown(tf->sock, SHUT_WR), ==, 0);
    g_assert_true(vu_dev_dispatch(tf->dev));
    g_assert_cmpint(tf->td.last_reset, ==, VU_RESET_DEVICE);
    g_assert_false(vu_dev_dispatch(tf->dev)); /* end of file */
    tf->td.reset_out = &at_free;
    tf_free(tf);
    g_assert_cmpint(at_free, ==, VU_RESET_DISCONNECT);

    /* A malformed message: we drop a connection the front-end holds. */
    tf = setup(F_BASE, 16);
    tf_send_raw(tf, &bad, sizeof(bad), NULL, 0);
    tf_send_raw(tf, "abc", 3, NULL, 0);
    g_assert_false(vu_dev_dispatch(tf->dev));
    tf->td.reset_out = &at_free;
    tf_free(tf);
    g_assert_cmpint(at_free, ==, VU_RESET_DROPPED);
}

/* vhost-user.rst: RESET_OWNER is deprecated, back-ends "either ignore this
 * message, or use it to disable all rings"; discarding the connection's
 * state "would lead to bugs".  The rings are disabled, the device is not
 * reset. */
static void test_reset_owner(void)
{
    TFront *tf = setup(F_BASE, 16);

    tf_set_u64(tf, VHOST_USER_SET_STATUS, 0x0f);
    g_assert_true(tf_msg(tf, VHOST_USER_RESET_OWNER, V, NULL, 0, NULL, 0));
    g_assert_false(vu_queue_enabled(q0(tf)));
    g_assert_cmpuint(tf->td.resets, ==, 0);
    g_assert_cmpuint(tf_get_u64(tf, VHOST_USER_GET_STATUS), ==, 0x0f);
    tf_free(tf);
}

/* Pop what the disabled ring offers, push it back empty. */
static unsigned int drain_disabled(TFront *tf)
{
    VuVirtqElement *e;
    unsigned int n = 0;

    while ((e = vu_queue_pop_disabled(tf->dev, q0(tf)))) {
        vu_queue_push(tf->dev, q0(tf), e, 0);
        vu_elem_free(e);
        n++;
    }
    return n;
}

static void add_buf(TFront *tf, bool packed, uint64_t gpa)
{
    TBuf b = { gpa, 16, false };

    if (packed) {
        tr_packed_add(tf, 0, &b, 1, 0);
    } else {
        tr_split_add(tf, 0, &b, 1, 0);
    }
}

/* vhost-user.rst "Ring states": a started, disabled ring "must process the
 * ring without causing any side effects" (was: not processed at all; the
 * kick of a disabled ring never reached the device).  What the guest
 * queues after the disable reaches the device through the kick and
 * vu_queue_pop_disabled(); what it queued before the disable is taken as
 * enabled, or waits for the enable, and is never processed as disabled. */
static void ring_disabled(bool packed)
{
    TFront *tf = setup(F_BASE | (packed ? F_PACKED : 0), 16);
    VuVirtqElement *e;
    unsigned int kicks;

    /* queued while enabled, not yet dispatched: the disable hands it to
     * the device as enabled first */
    add_buf(tf, packed, TG_DATA);
    kicks = tf->td.kicks[0];
    tf_set_state(tf, VHOST_USER_SET_VRING_ENABLE, 0, 0);
    g_assert_cmpuint(tf->td.kicks[0], ==, kicks + 1);
    /* (the test device took nothing: that buffer is the enabled state's) */
    g_assert_null(vu_queue_pop(tf->dev, q0(tf)));
    add_buf(tf, packed, TG_DATA + 0x100);
    g_assert_cmpint(write(tf->ring[0].kick, &(uint64_t){ 1 }, 8), ==, 8);
    g_assert_cmpuint(tf_run_watches(tf, 0), ==, 1);
    g_assert_cmpuint(tf->td.kicks[0], ==, kicks + 2); /* the kick is delivered */
    g_assert_cmpuint(drain_disabled(tf), ==, 0);      /* FIFO: behind an enabled one */
    /* enabled again: both go the normal way */
    tf_set_state(tf, VHOST_USER_SET_VRING_ENABLE, 0, 1);
    for (int i = 0; i < 2; i++) {
        e = vu_queue_pop(tf->dev, q0(tf));
        g_assert_nonnull(e);
        vu_queue_push(tf->dev, q0(tf), e, 0);
        vu_elem_free(e);
    }
    g_assert_null(vu_queue_pop_disabled(tf->dev, q0(tf))); /* enabled: not this way */

    /* disabled with an empty ring: what comes next is the disabled state's */
    tf_set_state(tf, VHOST_USER_SET_VRING_ENABLE, 0, 0);
    add_buf(tf, packed, TG_DATA + 0x200);
    g_assert_null(vu_queue_pop(tf->dev, q0(tf)));
    /* not while the front-end still has a message waiting (QEMU enables
     * the rings a few messages after it starts them) */
    tf_send(tf, VHOST_USER_GET_FEATURES, V, NULL, 0, NULL, 0);
    g_assert_cmpuint(drain_disabled(tf), ==, 0);
    g_assert_true(vu_dev_dispatch(tf->dev));
    tf_recv(tf, &(VuMsgHdr){ 0 }, &(uint64_t){ 0 }, sizeof(uint64_t), NULL);
    g_assert_cmpuint(drain_disabled(tf), ==, 1);
    add_buf(tf, packed, TG_DATA + 0x300);
    add_buf(tf, packed, TG_DATA + 0x400);
    g_assert_cmpuint(drain_disabled(tf), ==, 2);
    if (!packed) {
        g_assert_cmpuint(tr_split_used_idx(tf, 0), ==, 5);
    }
    tf_free(tf);
}

static void test_ring_disabled_split(void)
{
    ring_disabled(false);
}

static void test_ring_disabled_packed(void)
{
    ring_disabled(true);
}

static unsigned int count_maps(void)
{
    g_autofree char *maps = NULL;
    unsigned int n = 0;

    g_assert_true(g_file_get_contents("/proc/self/maps", &maps, NULL, NULL));
    for (char *p = maps; (p = strchr(p, '\n')); p++) {
        n++;
    }
    return n;
}

/* An element may outlive its VuDev: its memory stays mapped until freed. */
static void test_elem_outlives_dev(void)
{
    TFront *tf = setup(F_BASE, 16);
    VuVirtqElement *e;
    TBuf b = { TG_DATA, 64, true };

    tr_split_add(tf, 0, &b, 1, 0);
    e = vu_queue_pop(tf->dev, q0(tf));
    g_assert_nonnull(e);
    tf_reconnect(tf);
    memset(e->in_sg[0].iov_base, 0x77, 64);
    g_assert_cmpuint(*(uint8_t *)tg_ptr(&tf->g, TG_DATA), ==, 0x77);
    vu_elem_free(e);
    tf_free(tf);
}

static void test_connect_disconnect_cycles(void)
{
    TFront *tf = tf_new();
    unsigned int fds0 = 0, maps0 = 0;

    for (int i = 0; i < 1000; i++) {
        tf_negotiate(tf, F_BASE | (i % 2 ? F_PACKED : 0));
        if (i % 3 == 0) {
            VuMsgInflight inf;
            int fd = get_inflight(tf, &inf);

            set_inflight(tf, &inf, fd);
            close(fd);
        }
        tf_set_mem_table(tf);
        for (unsigned int q = 0; q < TG_NQ; q++) {
            tf_setup_queue(tf, q, 16, i % 2);
        }
        pop_push(tf, 2);
        add_one(tf, 0);
        if (i % 4 == 0) {
            /* leave one popped and unpushed at disconnect */
            VuVirtqElement *e = vu_queue_pop(tf->dev, q0(tf));

            g_assert_nonnull(e);
            g_ptr_array_add(tf->td.held[0], e);
        }
        tf_reconnect(tf);
        if (i == 9) {
            fds0 = t_count_fds();
            maps0 = count_maps();
        }
    }
    g_assert_cmpuint(t_count_fds(), ==, fds0);
    g_assert_cmpuint(count_maps(), <=, maps0 + 2);
    tf_free(tf);
}

static void on_closed(VuDev *dev, void *data)
{
    (*(int *)data)++;
}

/* The GLib glue: kicks arrive through the default main context and a
 * closed socket is reported once. */
static void test_glib_glue(void)
{
    TFront *tf = tf_new();
    int sv[2], closed = 0;
    unsigned int k0;
    guint id;

    vu_dev_free(tf->dev);
    close(tf->sock);
    g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), ==, 0);
    tf->sock = sv[0];
    tf->dev = vu_dev_new(sv[1], TG_NQ, 256, tdev_iface(), tf, vu_glib_loop_ops(), NULL);
    id = vu_glib_watch_socket(tf->dev, on_closed, &closed);
    g_assert_cmpuint(id, >, 0);

    /* Messages are dispatched by the main loop now: send, then iterate. */
    {
        uint64_t f = (1ull << VIRTIO_F_VERSION_1);
        VuMsgHdr hdr;
        uint64_t v;

        tf_send(tf, VHOST_USER_SET_FEATURES, V | NR, &f, 8, NULL, 0);
        while (!tf_has_reply(tf)) {
            g_main_context_iteration(NULL, TRUE);
        }
        g_assert_cmpuint(tf_recv(tf, &hdr, &v, 8, NULL), ==, 8);
        g_assert_cmpuint(v, ==, 0);
    }
    g_assert_true(vu_queue_enabled(q0(tf))); /* no PROTOCOL_FEATURES */
    g_source_remove(id);
    tf_set_mem_table(tf);
    tf_setup_queue(tf, 0, 16, false);
    id = vu_glib_watch_socket(tf->dev, on_closed, &closed);
    k0 = tf->td.kicks[0];
    g_assert_cmpint(write(tf->ring[0].kick, &(uint64_t){ 1 }, 8), ==, 8);
    while (tf->td.kicks[0] == k0) {
        g_main_context_iteration(NULL, TRUE);
    }
    g_assert_cmpuint(tf->td.kicks[0], ==, k0 + 1);
    /* Nothing else pending: the kick fd was drained. */
    while (g_main_context_iteration(NULL, FALSE)) {
    }
    g_assert_cmpuint(tf->td.kicks[0], ==, k0 + 1);
    /* Front-end goes away. */
    shutdown(tf->sock, SHUT_RDWR);
    while (closed == 0) {
        g_main_context_iteration(NULL, TRUE);
    }
    g_assert_cmpint(closed, ==, 1);
    /* tf_free() frees the VuDev, which removes the kick watch. */
    tf_free(tf);
    while (g_main_context_iteration(NULL, FALSE)) {
    }
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_log_set_always_fatal(G_LOG_LEVEL_CRITICAL);

    g_test_add_func("/vu/dev/ring-states", test_ring_states);
    g_test_add_func("/vu/dev/features-without-protocol-enables-rings",
                    test_features_without_protocol);
    g_test_add_func("/vu/dev/get-vring-base/split", test_get_vring_base_split);
    g_test_add_func("/vu/dev/get-vring-base/packed", test_get_vring_base_packed);
    g_test_add_func("/vu/dev/get-vring-base/device-returns-elements",
                    test_get_vring_base_returns_elements);
    g_test_add_func("/vu/dev/set-vring-base-while-started", test_set_vring_base_while_started);
    g_test_add_func("/vu/dev/suspended/no-guest-writes", test_suspended_no_writes);
    g_test_add_func("/vu/dev/kick-before-ring-setup", test_kick_before_setup);
    g_test_add_func("/vu/dev/kick-forwarded-once", test_kick_forwarded_once);
    g_test_add_data_func("/vu/dev/kick-less-ring-polled/split", GINT_TO_POINTER(0),
                         test_polled_ring);
    g_test_add_data_func("/vu/dev/kick-less-ring-polled/packed", GINT_TO_POINTER(1),
                         test_polled_ring);
    g_test_add_func("/vu/dev/inflight/split-resubmit", test_inflight_split);
    g_test_add_func("/vu/dev/inflight/shrunk-unsealable", test_inflight_shrunk);
    g_test_add_func("/vu/dev/inflight/packed-resubmit", test_inflight_packed);
    g_test_add_func("/vu/dev/inflight/hostile-region-split", test_inflight_hostile_split);
    g_test_add_func("/vu/dev/inflight/hostile-region-packed", test_inflight_hostile_packed);
    g_test_add_func("/vu/dev/log/split", test_dirty_log);
    g_test_add_func("/vu/dev/log/packed", test_dirty_log_packed);
    g_test_add_func("/vu/dev/reset-reasons", test_reset_reasons);
    g_test_add_func("/vu/dev/reset-device", test_reset_device);
    g_test_add_func("/vu/dev/reset-owner", test_reset_owner);
    g_test_add_func("/vu/dev/ring-disabled/split", test_ring_disabled_split);
    g_test_add_func("/vu/dev/ring-disabled/packed", test_ring_disabled_packed);
    g_test_add_func("/vu/dev/elem-outlives-dev", test_elem_outlives_dev);
    g_test_add_func("/vu/dev/connect-disconnect-1000", test_connect_disconnect_cycles);
    g_test_add_func("/vu/glib/kick-and-close", test_glib_glue);
    return g_test_run();
}
