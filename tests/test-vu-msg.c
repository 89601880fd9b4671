/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-vu-msg.c - vhost-user message validation and protocol replies.
 *
 * Valid requests get the answers QEMU's vhost-user-snd front-end needs;
 * every malformed message drops the connection (dispatch returns false)
 * and every fd it carried is closed.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/vhost_types.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>

#include "test-vu-common.h"

#define V VHOST_USER_VERSION
#define NR VHOST_USER_NEED_REPLY_MASK

/* ---- valid requests ------------------------------------------------------ */

static void test_get_features(void)
{
    TFront *tf = tf_new();
    uint64_t f = tf_get_u64(tf, VHOST_USER_GET_FEATURES);

    g_assert_true(f & (1ull << VIRTIO_F_VERSION_1));
    g_assert_true(f & (1ull << VIRTIO_RING_F_EVENT_IDX));
    g_assert_true(f & (1ull << VIRTIO_RING_F_INDIRECT_DESC));
    g_assert_true(f & (1ull << 34)); /* RING_PACKED */
    g_assert_true(f & (1ull << VHOST_F_LOG_ALL));
    g_assert_true(f & (1ull << VHOST_USER_F_PROTOCOL_FEATURES));
    g_assert_true(f & 1ull); /* from the device */
    g_assert_false(f & (1ull << 33)); /* never ACCESS_PLATFORM */
    tf_free(tf);
}

static void test_protocol_features(void)
{
    TFront *tf = tf_new();
    uint64_t p = tf_get_u64(tf, VHOST_USER_GET_PROTOCOL_FEATURES);
    uint64_t want = (1ull << VHOST_USER_PROTOCOL_F_MQ) | (1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK) |
                    (1ull << VHOST_USER_PROTOCOL_F_CONFIG) | (1ull << VHOST_USER_PROTOCOL_F_STATUS) |
                    (1ull << VHOST_USER_PROTOCOL_F_RESET_DEVICE) |
                    (1ull << VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD) |
                    (1ull << VHOST_USER_PROTOCOL_F_LOG_SHMFD) |
                    (1ull << VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS) |
                    (1ull << VHOST_USER_PROTOCOL_F_DEVICE_STATE);

    g_assert_cmphex(p, ==, want);
    /* Setting more than offered keeps only what we offered. */
    tf_set_u64(tf, VHOST_USER_SET_PROTOCOL_FEATURES, p | (1ull << VHOST_USER_PROTOCOL_F_BACKEND_REQ));
    g_assert_cmphex(vu_dev_protocol_features(tf->dev), ==, want);
    tf_free(tf);
}

static void test_queue_num_and_slots(void)
{
    TFront *tf = tf_new();

    g_assert_cmpuint(tf_get_u64(tf, VHOST_USER_GET_QUEUE_NUM), ==, TG_NQ);
    g_assert_cmpuint(tf_get_u64(tf, VHOST_USER_GET_MAX_MEM_SLOTS), ==, 32);
    tf_free(tf);
}

static void test_get_config(void)
{
    TFront *tf = tf_new();
    VuMsgConfig c = { .offset = 0, .size = 12 };
    VuMsgHdr hdr;

    for (int i = 0; i < 16; i++) {
        tf->td.config[i] = (uint8_t)(0xa0 + i);
    }
    g_assert_true(tf_msg(tf, VHOST_USER_GET_CONFIG, V, &c, 12 + 12, NULL, 0));
    memset(&c, 0, sizeof(c));
    g_assert_cmpuint(tf_recv(tf, &hdr, &c, sizeof(c), NULL), ==, 12 + 12);
    g_assert_cmpuint(c.size, ==, 12);
    for (int i = 0; i < 12; i++) {
        g_assert_cmpuint(c.region[i], ==, 0xa0 + i);
    }
    /* 16 bytes (controls=on) with an offset-less read. */
    c = (VuMsgConfig){ .offset = 4, .size = 8 };
    g_assert_true(tf_msg(tf, VHOST_USER_GET_CONFIG, V, &c, 12 + 8, NULL, 0));
    g_assert_cmpuint(tf_recv(tf, &hdr, &c, sizeof(c), NULL), ==, 12 + 8);
    g_assert_cmpuint(c.region[0], ==, 0xa4);
    tf_free(tf);
}

static void test_get_config_error(void)
{
    TFront *tf = tf_new();
    VuMsgConfig c = { .offset = 0, .size = 12 };
    VuMsgHdr hdr;

    tf->td.config_fail = 1;
    g_assert_true(tf_msg(tf, VHOST_USER_GET_CONFIG, V, &c, 12 + 12, NULL, 0));
    g_assert_cmpuint(tf_recv(tf, &hdr, &c, sizeof(c), NULL), ==, 0);
    g_assert_cmpuint(hdr.request, ==, VHOST_USER_GET_CONFIG);
    tf_free(tf);
}

static void test_set_config(void)
{
    TFront *tf = tf_new();
    VuMsgConfig c = { .offset = 2, .size = 3, .flags = 1, .region = { 7, 8, 9 } };
    VuMsgHdr hdr;
    uint64_t ack = 5;

    g_assert_true(tf_msg(tf, VHOST_USER_SET_CONFIG, V | NR, &c, 12 + 3, NULL, 0));
    g_assert_cmpuint(tf_recv(tf, &hdr, &ack, sizeof(ack), NULL), ==, 8);
    g_assert_cmpuint(ack, ==, 0);
    g_assert_cmpuint(tf->td.set_config_offset, ==, 2);
    g_assert_cmpuint(tf->td.set_config_len, ==, 3);
    g_assert_cmpuint(tf->td.set_config_flags, ==, 1);
    g_assert_cmpuint(tf->td.set_config_buf[3], ==, 8);
    /* Out of range for the device: error ack, connection kept. */
    c.offset = 15;
    g_assert_true(tf_msg(tf, VHOST_USER_SET_CONFIG, V | NR, &c, 12 + 3, NULL, 0));
    g_assert_cmpuint(tf_recv(tf, &hdr, &ack, sizeof(ack), NULL), ==, 8);
    g_assert_cmpuint(ack, !=, 0);
    tf_free(tf);
}

static void test_status(void)
{
    TFront *tf = tf_new();

    tf_negotiate(tf, 1ull << VIRTIO_F_VERSION_1);
    tf_set_u64(tf, VHOST_USER_SET_STATUS, 0x0b);
    g_assert_cmpuint(tf_get_u64(tf, VHOST_USER_GET_STATUS), ==, 0x0b);
    g_assert_cmpuint(tf->td.resets, ==, 0);
    tf_set_u64(tf, VHOST_USER_SET_STATUS, 0);
    g_assert_cmpuint(tf->td.resets, ==, 1);
    g_assert_cmpuint(tf_get_u64(tf, VHOST_USER_GET_STATUS), ==, 0);
    tf_free(tf);
}

static void test_device_state(void)
{
    TFront *tf = tf_new();
    VuMsgDeviceState ds = { VU_TRANSFER_STATE_DIRECTION_SAVE, VU_TRANSFER_STATE_PHASE_STOPPED };
    VuMsgHdr hdr;
    uint64_t v = 0;
    int p[2], rfd = -1;

    g_assert_cmpint(pipe2(p, O_CLOEXEC), ==, 0);
    g_assert_true(tf_msg(tf, VHOST_USER_SET_DEVICE_STATE_FD, V, &ds, sizeof(ds), &p[1], 1));
    g_assert_cmpuint(tf_recv(tf, &hdr, &v, sizeof(v), &rfd), ==, 8);
    g_assert_cmphex(v, ==, 0x100); /* success, no back-end fd */
    g_assert_cmpint(rfd, ==, -1);
    g_assert_cmpint(tf->td.state_fd, >=, 0);
    g_assert_cmpint(tf->td.state_dir, ==, 0);
    /* The device got its own copy of the write end. */
    g_assert_cmpint(write(tf->td.state_fd, "x", 1), ==, 1);
    close(p[1]);
    close(p[0]);

    /* Back-end supplies its own channel. */
    tf->td.state_reply_fd = true;
    ds.direction = VU_TRANSFER_STATE_DIRECTION_LOAD;
    g_assert_cmpint(pipe2(p, O_CLOEXEC), ==, 0);
    g_assert_true(tf_msg(tf, VHOST_USER_SET_DEVICE_STATE_FD, V, &ds, sizeof(ds), &p[0], 1));
    g_assert_cmpuint(tf_recv(tf, &hdr, &v, sizeof(v), &rfd), ==, 8);
    g_assert_cmphex(v, ==, 0);
    g_assert_cmpint(rfd, >=, 0);
    g_assert_cmpint(tf->td.state_dir, ==, 1);
    close(rfd);
    close(p[0]);
    close(p[1]);

    /* Failure: error and no fd, even if the device made one. */
    tf->td.state_ret = -EIO;
    g_assert_cmpint(pipe2(p, O_CLOEXEC), ==, 0);
    g_assert_true(tf_msg(tf, VHOST_USER_SET_DEVICE_STATE_FD, V, &ds, sizeof(ds), &p[0], 1));
    g_assert_cmpuint(tf_recv(tf, &hdr, &v, sizeof(v), &rfd), ==, 8);
    g_assert_cmphex(v & 0xff, !=, 0);
    g_assert_true(v & 0x100);
    g_assert_cmpint(rfd, ==, -1);
    close(p[0]);
    close(p[1]);

    /* Unknown phase: error, connection kept. */
    ds.phase = 7;
    g_assert_cmpint(pipe2(p, O_CLOEXEC), ==, 0);
    g_assert_true(tf_msg(tf, VHOST_USER_SET_DEVICE_STATE_FD, V, &ds, sizeof(ds), &p[0], 1));
    g_assert_cmpuint(tf_recv(tf, &hdr, &v, sizeof(v), &rfd), ==, 8);
    g_assert_cmphex(v, ==, 0x101);
    close(p[0]);
    close(p[1]);

    tf->td.check_ret = 0;
    g_assert_cmpuint(tf_get_u64(tf, VHOST_USER_CHECK_DEVICE_STATE), ==, 0);
    tf->td.check_ret = -EINVAL;
    g_assert_cmpuint(tf_get_u64(tf, VHOST_USER_CHECK_DEVICE_STATE), !=, 0);
    tf_free(tf);
}

static void test_unknown_request(void)
{
    TFront *tf = tf_new();
    unsigned int n0 = t_count_fds();
    int efd = eventfd(0, EFD_CLOEXEC);
    VuMsgHdr hdr;
    uint64_t v = 0;

    /* Without need_reply: ignored, no reply, fd closed, connection kept. */
    g_assert_true(tf_msg(tf, VHOST_USER_SET_BACKEND_REQ_FD, V, NULL, 0, &efd, 1));
    g_assert_false(tf_has_reply(tf));
    close(efd);
    g_assert_cmpuint(t_count_fds(), ==, n0);
    /* With need_reply: error ack. */
    g_assert_true(tf_msg(tf, 1000, V | NR, NULL, 0, NULL, 0));
    g_assert_cmpuint(tf_recv(tf, &hdr, &v, sizeof(v), NULL), ==, 8);
    g_assert_cmpuint(hdr.request, ==, 1000);
    g_assert_cmpuint(v, !=, 0);
    g_assert_cmpuint(tf_get_u64(tf, VHOST_USER_GET_QUEUE_NUM), ==, TG_NQ);
    tf_free(tf);
}

static void test_eof(void)
{
    TFront *tf = tf_new();

    shutdown(tf->sock, SHUT_WR);
    g_assert_false(vu_dev_dispatch(tf->dev));
    tf_free(tf);
}

static void test_spurious_dispatch(void)
{
    TFront *tf = tf_new();

    /* Nothing to read: not a disconnect. */
    g_assert_true(vu_dev_dispatch(tf->dev));
    tf_free(tf);
}

/*
 * The message sequence QEMU's vhost-user-snd sends from realize to a guest
 * reset, every request with need_reply set.
 */
static void test_qemu_sequence(void)
{
    TFront *tf = tf_new();
    uint64_t f, p, v;
    VuMsgConfig c = { .offset = 0, .size = 12 };
    VuMsgHdr hdr;

    f = tf_get_u64(tf, VHOST_USER_GET_FEATURES);
    g_assert_true(f & (1ull << VHOST_USER_F_PROTOCOL_FEATURES));
    p = tf_get_u64(tf, VHOST_USER_GET_PROTOCOL_FEATURES);
    g_assert_true(p & (1ull << VHOST_USER_PROTOCOL_F_CONFIG));
    tf_set_u64(tf, VHOST_USER_SET_PROTOCOL_FEATURES, p);
    g_assert_cmpuint(tf_get_u64(tf, VHOST_USER_GET_QUEUE_NUM), ==, TG_NQ);
    g_assert_cmpuint(tf_get_u64(tf, VHOST_USER_GET_MAX_MEM_SLOTS), ==, 32);
    g_assert_true(tf_msg(tf, VHOST_USER_SET_OWNER, V | NR, NULL, 0, NULL, 0));
    g_assert_cmpuint(tf_recv(tf, &hdr, &v, 8, NULL), ==, 8);
    g_assert_cmpuint(v, ==, 0);
    g_assert_true(tf_msg(tf, VHOST_USER_GET_CONFIG, V, &c, 12 + 12, NULL, 0));
    g_assert_cmpuint(tf_recv(tf, &hdr, &c, sizeof(c), NULL), ==, 24);
    tf->features = (1ull << VIRTIO_F_VERSION_1) | (1ull << VIRTIO_RING_F_INDIRECT_DESC) |
                   (1ull << VIRTIO_RING_F_EVENT_IDX) | (1ull << VHOST_USER_F_PROTOCOL_FEATURES);
    tf_set_u64(tf, VHOST_USER_SET_FEATURES, tf->features);
    g_assert_cmphex(tf->td.features_acked, ==, tf->features);
    v = tf_get_u64(tf, VHOST_USER_GET_STATUS);
    tf_set_u64(tf, VHOST_USER_SET_STATUS, v | 0x08);
    tf_set_mem_table(tf);
    for (unsigned int q = 0; q < TG_NQ; q++) {
        tf_setup_queue(tf, q, 64, false);
        g_assert_true(tf->td.started[q]);
    }
    v = tf_get_u64(tf, VHOST_USER_GET_STATUS);
    tf_set_u64(tf, VHOST_USER_SET_STATUS, v | 0x07);
    g_assert_cmpuint(tf_get_u64(tf, VHOST_USER_GET_STATUS), ==, 0x0f);
    g_assert_false(vu_dev_suspended(tf->dev));
    /* Guest reset. */
    for (unsigned int q = 0; q < TG_NQ; q++) {
        tf_set_state(tf, VHOST_USER_SET_VRING_ENABLE, q, 0);
    }
    for (unsigned int q = 0; q < TG_NQ; q++) {
        g_assert_cmpuint(tf_get_vring_base(tf, q), ==, 0);
        g_assert_false(tf->td.started[q]);
    }
    g_assert_true(vu_dev_suspended(tf->dev));
    g_assert_cmpuint(tf->td.suspends, ==, 1);
    tf_set_u64(tf, VHOST_USER_SET_STATUS, 0);
    g_assert_cmpuint(tf->td.resets, ==, 1);
    tf_free(tf);
}

static void ack_ok(TFront *tf, uint32_t req, const void *payload, uint32_t size, const int *fds,
                   unsigned int nfds)
{
    VuMsgHdr hdr;
    uint64_t v = 77;

    g_assert_true(tf_msg(tf, req, V | NR, payload, size, fds, nfds));
    g_assert_cmpuint(tf_recv(tf, &hdr, &v, sizeof(v), NULL), ==, 8);
    g_assert_cmpuint(hdr.request, ==, req);
    g_assert_cmpuint(v, ==, 0);
    g_assert_false(tf_has_reply(tf));
}

static void test_reply_ack_each(void)
{
    TFront *tf = tf_new();
    uint64_t f = (1ull << VIRTIO_F_VERSION_1) | (1ull << VHOST_USER_F_PROTOCOL_FEATURES);
    uint64_t proto = tf_get_u64(tf, VHOST_USER_GET_PROTOCOL_FEATURES);
    VuMsgState st;
    VuMsgMemRegionSingle reg = { 0 };
    VuMsgLog log = { .size = 4096, .offset = 0 };
    VuMsgInflight inf = { 0 };
    VuMsgConfig cfg = { .offset = 0, .size = 4 };
    int memfd, efd;
    uint64_t u;
    VuMsgHdr hdr;

    ack_ok(tf, VHOST_USER_SET_PROTOCOL_FEATURES, &proto, 8, NULL, 0);
    ack_ok(tf, VHOST_USER_SET_FEATURES, &f, 8, NULL, 0);
    ack_ok(tf, VHOST_USER_SET_OWNER, NULL, 0, NULL, 0);
    tf_set_mem_table(tf); /* SET_MEM_TABLE acked inside */
    tf_setup_queue(tf, 1, 16, false); /* NUM/BASE/ADDR/CALL/ERR/KICK/ENABLE acked inside */
    st = (VuMsgState){ 1, 0 };
    ack_ok(tf, VHOST_USER_SET_VRING_ENABLE, &st, sizeof(st), NULL, 0);

    /* ADD_MEM_REG / REM_MEM_REG */
    memfd = memfd_create("vu-test-extra", MFD_CLOEXEC);
    g_assert_cmpint(ftruncate(memfd, 65536), ==, 0);
    reg.region = (VuMsgMemRegion){ .guest_addr = 0x1000000000ull, .size = 65536,
                                   .user_addr = 0x7f3000000000ull, .mmap_offset = 0 };
    ack_ok(tf, VHOST_USER_ADD_MEM_REG, &reg, sizeof(reg), &memfd, 1);
    ack_ok(tf, VHOST_USER_REM_MEM_REG, &reg, sizeof(reg), NULL, 0);
    /* Removing it again fails (error ack, connection kept). */
    g_assert_true(tf_msg(tf, VHOST_USER_REM_MEM_REG, V | NR, &reg, sizeof(reg), NULL, 0));
    g_assert_cmpuint(tf_recv(tf, &hdr, &u, sizeof(u), NULL), ==, 8);
    g_assert_cmpuint(u, !=, 0);

    /* SET_LOG_BASE has its own reply (u64 0), need_reply or not. */
    g_assert_true(tf_msg(tf, VHOST_USER_SET_LOG_BASE, V | NR, &log, sizeof(log), &memfd, 1));
    g_assert_cmpuint(tf_recv(tf, &hdr, &u, sizeof(u), NULL), ==, 8);
    g_assert_cmpuint(u, ==, 0);
    g_assert_false(tf_has_reply(tf));
    efd = eventfd(0, EFD_CLOEXEC);
    ack_ok(tf, VHOST_USER_SET_LOG_FD, NULL, 0, &efd, 1);
    close(efd);

    /* SET_CONFIG */
    ack_ok(tf, VHOST_USER_SET_CONFIG, &cfg, 12 + 4, NULL, 0);

    /* GET_INFLIGHT_FD (explicit reply with fd) then SET_INFLIGHT_FD. */
    inf.num_queues = TG_NQ;
    inf.queue_size = 64;
    {
        int ifd = -1;
        VuMsgInflight r;

        g_assert_true(tf_msg(tf, VHOST_USER_GET_INFLIGHT_FD, V | NR, &inf, sizeof(inf), NULL, 0));
        g_assert_cmpuint(tf_recv(tf, &hdr, &r, sizeof(r), &ifd), ==, sizeof(inf));
        g_assert_cmpint(ifd, >=, 0);
        g_assert_cmpuint(r.mmap_size, >=, (uint64_t)TG_NQ * 64 * 16);
        g_assert_cmpuint(r.num_queues, ==, TG_NQ);
        g_assert_false(tf_has_reply(tf));
        ack_ok(tf, VHOST_USER_SET_INFLIGHT_FD, &r, sizeof(r), &ifd, 1);
        close(ifd);
    }

    u = 0x0f;
    ack_ok(tf, VHOST_USER_SET_STATUS, &u, 8, NULL, 0);
    ack_ok(tf, VHOST_USER_RESET_OWNER, NULL, 0, NULL, 0);
    ack_ok(tf, VHOST_USER_RESET_DEVICE, NULL, 0, NULL, 0);
    close(memfd);
    tf_free(tf);
}

/* ---- invalid messages ---------------------------------------------------- */

typedef struct Bad {
    uint32_t req;
    uint32_t flags;
    uint8_t payload[512];
    uint32_t size;
    int fds[16];
    unsigned int nfds;
} Bad;

typedef struct BadCase {
    const char *name;
    int setup; /* 0 fresh, 1 negotiated + memory, 2 + queue 0 split 16 */
    void (*build)(TFront *tf, Bad *b);
} BadCase;

static int new_eventfd(void)
{
    int fd = eventfd(0, EFD_CLOEXEC);

    g_assert_cmpint(fd, >=, 0);
    return fd;
}

static int new_memfd(size_t size)
{
    int fd = memfd_create("vu-test-bad", MFD_CLOEXEC);

    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(ftruncate(fd, (off_t)size), ==, 0);
    return fd;
}

static void set_state(Bad *b, uint32_t req, uint32_t index, uint32_t num)
{
    VuMsgState st = { index, num };

    b->req = req;
    memcpy(b->payload, &st, sizeof(st));
    b->size = sizeof(st);
}

static void set_u64(Bad *b, uint32_t req, uint64_t v)
{
    b->req = req;
    memcpy(b->payload, &v, 8);
    b->size = 8;
}

static void set_addr(Bad *b, uint32_t index, uint32_t flags, uint64_t desc, uint64_t avail,
                     uint64_t used)
{
    VuMsgVringAddr a = { index, flags, desc, used, avail, 0 };

    b->req = VHOST_USER_SET_VRING_ADDR;
    memcpy(b->payload, &a, sizeof(a));
    b->size = sizeof(a);
}

#define UVA(gpa) ((gpa) - TG_GPA_BASE + TG_UVA_BASE)

static void mem_table(Bad *b, unsigned int n, const VuMsgMemRegion *regs, unsigned int nfds)
{
    VuMsgMemory m = { .nregions = n };

    for (unsigned int i = 0; i < n && i < 8; i++) {
        m.regions[i] = regs[i];
    }
    b->req = VHOST_USER_SET_MEM_TABLE;
    memcpy(b->payload, &m, sizeof(m));
    b->size = 8 + 32 * MIN(n, 8u);
    for (unsigned int i = 0; i < nfds; i++) {
        b->fds[i] = new_memfd(65536);
    }
    b->nfds = nfds;
}

static const VuMsgMemRegion good_reg = { 0x100000, 65536, 0x7f0000100000ull, 0 };

/* Framing */
static void b_bad_version(TFront *tf, Bad *b)
{
    b->req = VHOST_USER_GET_FEATURES;
    b->flags = 2;
}
static void b_reply_flag(TFront *tf, Bad *b)
{
    b->req = VHOST_USER_GET_FEATURES;
    b->flags = V | VHOST_USER_REPLY_MASK;
}
static void b_oversized(TFront *tf, Bad *b)
{
    b->req = VHOST_USER_SET_MEM_TABLE;
    b->size = 500; /* more than any request carries */
}
static void b_too_many_fds(TFront *tf, Bad *b)
{
    mem_table(b, 1, &good_reg, 9);
}
/* Sizes and fds */
static void b_get_features_size(TFront *tf, Bad *b)
{
    set_u64(b, VHOST_USER_GET_FEATURES, 0);
}
static void b_set_features_size(TFront *tf, Bad *b)
{
    set_u64(b, VHOST_USER_SET_FEATURES, 0);
    b->size = 4;
}
static void b_set_features_fd(TFront *tf, Bad *b)
{
    set_u64(b, VHOST_USER_SET_FEATURES, 1ull << VIRTIO_F_VERSION_1);
    b->fds[0] = new_eventfd();
    b->nfds = 1;
}
static void b_set_owner_size(TFront *tf, Bad *b)
{
    set_u64(b, VHOST_USER_SET_OWNER, 0);
}
static void b_set_protocol_features_size(TFront *tf, Bad *b)
{
    b->req = VHOST_USER_SET_PROTOCOL_FEATURES;
    b->size = 0;
}
static void b_set_status_size(TFront *tf, Bad *b)
{
    set_u64(b, VHOST_USER_SET_STATUS, 1);
    b->size = 1;
}
static void b_set_status_too_large(TFront *tf, Bad *b)
{
    set_u64(b, VHOST_USER_SET_STATUS, 0x100);
}
/* Vring index checks */
static void b_num_index(TFront *tf, Bad *b)
{
    set_state(b, VHOST_USER_SET_VRING_NUM, TG_NQ, 16);
}
static void b_num_huge_index(TFront *tf, Bad *b)
{
    set_state(b, VHOST_USER_SET_VRING_NUM, 0xffffffffu, 16);
}
static void b_addr_index(TFront *tf, Bad *b)
{
    set_addr(b, TG_NQ, 0, UVA(TG_DESC(0)), UVA(TG_AVAIL(0)), UVA(TG_USED(0)));
}
static void b_base_index(TFront *tf, Bad *b)
{
    set_state(b, VHOST_USER_SET_VRING_BASE, TG_NQ, 0);
}
static void b_get_base_index(TFront *tf, Bad *b)
{
    set_state(b, VHOST_USER_GET_VRING_BASE, TG_NQ, 0);
}
static void b_kick_index(TFront *tf, Bad *b)
{
    set_u64(b, VHOST_USER_SET_VRING_KICK, TG_NQ);
    b->fds[0] = new_eventfd();
    b->nfds = 1;
}
static void b_call_index(TFront *tf, Bad *b)
{
    set_u64(b, VHOST_USER_SET_VRING_CALL, 200);
    b->fds[0] = new_eventfd();
    b->nfds = 1;
}
static void b_err_index(TFront *tf, Bad *b)
{
    set_u64(b, VHOST_USER_SET_VRING_ERR, TG_NQ | VHOST_USER_VRING_NOFD_MASK);
}
static void b_enable_index(TFront *tf, Bad *b)
{
    set_state(b, VHOST_USER_SET_VRING_ENABLE, TG_NQ, 1);
}
/* Vring values */
static void b_num_zero(TFront *tf, Bad *b)
{
    set_state(b, VHOST_USER_SET_VRING_NUM, 0, 0);
}
static void b_num_not_pow2(TFront *tf, Bad *b)
{
    set_state(b, VHOST_USER_SET_VRING_NUM, 0, 48);
}
static void b_num_too_big(TFront *tf, Bad *b)
{
    set_state(b, VHOST_USER_SET_VRING_NUM, 0, 512); /* max given: 256 */
}
static void b_num_size(TFront *tf, Bad *b)
{
    set_state(b, VHOST_USER_SET_VRING_NUM, 0, 16);
    b->size = 4;
}
static void b_addr_size(TFront *tf, Bad *b)
{
    set_addr(b, 0, 0, UVA(TG_DESC(0)), UVA(TG_AVAIL(0)), UVA(TG_USED(0)));
    b->size = 32;
}
static void b_addr_flags(TFront *tf, Bad *b)
{
    set_addr(b, 0, 0x2, UVA(TG_DESC(0)), UVA(TG_AVAIL(0)), UVA(TG_USED(0)));
}
static void b_addr_outside(TFront *tf, Bad *b)
{
    set_addr(b, 0, 0, 0x1234000, UVA(TG_AVAIL(0)), UVA(TG_USED(0)));
}
static void b_addr_used_crosses_end(TFront *tf, Bad *b)
{
    /* used ring of 16 entries does not fit before the end of guest RAM */
    set_addr(b, 0, 0, UVA(TG_DESC(0)), UVA(TG_AVAIL(0)),
             TG_UVA_BASE + (uint64_t)TG_NREG * TG_REG_SIZE - 64);
}
static void b_addr_misaligned(TFront *tf, Bad *b)
{
    set_addr(b, 0, 0, UVA(TG_DESC(0)) + 8, UVA(TG_AVAIL(0)), UVA(TG_USED(0)));
}
static void b_base_reserved(TFront *tf, Bad *b)
{
    set_state(b, VHOST_USER_SET_VRING_BASE, 0, 0x10000);
}
static void b_get_base_size(TFront *tf, Bad *b)
{
    set_state(b, VHOST_USER_GET_VRING_BASE, 0, 0);
    b->size = 0;
}
static void b_enable_value(TFront *tf, Bad *b)
{
    set_state(b, VHOST_USER_SET_VRING_ENABLE, 0, 2);
}
static void b_kick_nofd_without_flag(TFront *tf, Bad *b)
{
    set_u64(b, VHOST_USER_SET_VRING_KICK, 0);
}
static void b_kick_fd_with_nofd_flag(TFront *tf, Bad *b)
{
    set_u64(b, VHOST_USER_SET_VRING_KICK, VHOST_USER_VRING_NOFD_MASK);
    b->fds[0] = new_eventfd();
    b->nfds = 1;
}
static void b_kick_reserved_bits(TFront *tf, Bad *b)
{
    set_u64(b, VHOST_USER_SET_VRING_KICK, 1ull << 20);
    b->fds[0] = new_eventfd();
    b->nfds = 1;
}
static void b_kick_two_fds(TFront *tf, Bad *b)
{
    set_u64(b, VHOST_USER_SET_VRING_KICK, 0);
    b->fds[0] = new_eventfd();
    b->fds[1] = new_eventfd();
    b->nfds = 2;
}
static void b_call_size(TFront *tf, Bad *b)
{
    set_u64(b, VHOST_USER_SET_VRING_CALL, 0);
    b->size = 4;
    b->fds[0] = new_eventfd();
    b->nfds = 1;
}
/* Memory table */
static void b_mem_zero_regions(TFront *tf, Bad *b)
{
    mem_table(b, 0, NULL, 0);
    b->size = 8;
}
static void b_mem_too_many(TFront *tf, Bad *b)
{
    VuMsgMemRegion r[8];

    for (int i = 0; i < 8; i++) {
        r[i] = good_reg;
        r[i].guest_addr += 0x100000ull * i;
    }
    mem_table(b, 9, r, 8);
    b->size = 8 + 32 * 8;
}
static void b_mem_fd_mismatch(TFront *tf, Bad *b)
{
    VuMsgMemRegion r[2] = { good_reg, good_reg };

    r[1].guest_addr += 0x100000;
    mem_table(b, 2, r, 1);
}
static void b_mem_size_mismatch(TFront *tf, Bad *b)
{
    mem_table(b, 1, &good_reg, 1);
    b->size = 8 + 64;
}
static void b_mem_zero_size(TFront *tf, Bad *b)
{
    VuMsgMemRegion r = good_reg;

    r.size = 0;
    mem_table(b, 1, &r, 1);
}
static void b_mem_gpa_overflow(TFront *tf, Bad *b)
{
    VuMsgMemRegion r = good_reg;

    r.guest_addr = UINT64_MAX - 4096;
    mem_table(b, 1, &r, 1);
}
static void b_mem_uva_overflow(TFront *tf, Bad *b)
{
    VuMsgMemRegion r = good_reg;

    r.user_addr = UINT64_MAX - 100;
    mem_table(b, 1, &r, 1);
}
static void b_mem_offset_overflow(TFront *tf, Bad *b)
{
    VuMsgMemRegion r = good_reg;

    r.mmap_offset = UINT64_MAX - 10;
    mem_table(b, 1, &r, 1);
}
static void b_mem_beyond_file(TFront *tf, Bad *b)
{
    VuMsgMemRegion r = good_reg;

    r.mmap_offset = 4096; /* 4096 + 65536 > 65536-byte file */
    mem_table(b, 1, &r, 1);
}
static void b_mem_overlap(TFront *tf, Bad *b)
{
    VuMsgMemRegion r[2] = { good_reg, good_reg };

    r[1].guest_addr += 4096;
    r[1].user_addr += 0x1000000;
    mem_table(b, 2, r, 2);
}
static void b_add_reg_no_fd(TFront *tf, Bad *b)
{
    VuMsgMemRegionSingle s = { 0, good_reg };

    b->req = VHOST_USER_ADD_MEM_REG;
    memcpy(b->payload, &s, sizeof(s));
    b->size = sizeof(s);
}
static void b_add_reg_zero_size(TFront *tf, Bad *b)
{
    VuMsgMemRegionSingle s = { 0, good_reg };

    s.region.size = 0;
    b->req = VHOST_USER_ADD_MEM_REG;
    memcpy(b->payload, &s, sizeof(s));
    b->size = sizeof(s);
    b->fds[0] = new_memfd(65536);
    b->nfds = 1;
}
static void b_add_reg_overlap(TFront *tf, Bad *b)
{
    VuMsgMemRegionSingle s = { 0, { TG_GPA_BASE + 4096, 65536, 0x7f5000000000ull, 0 } };

    b->req = VHOST_USER_ADD_MEM_REG;
    memcpy(b->payload, &s, sizeof(s));
    b->size = sizeof(s);
    b->fds[0] = new_memfd(65536);
    b->nfds = 1;
}
static void b_add_reg_too_many(TFront *tf, Bad *b)
{
    /* Fill the 32 slots (2 used by the test guest), then one more. */
    for (unsigned int i = 0; i < 30; i++) {
        VuMsgMemRegionSingle s = { 0, { 0x2000000000ull + 0x10000ull * i, 4096,
                                        0x7f6000000000ull + 0x10000ull * i, 0 } };
        int fd = new_memfd(4096);
        VuMsgHdr hdr;
        uint64_t ack = 1;

        g_assert_true(tf_msg(tf, VHOST_USER_ADD_MEM_REG, V | NR, &s, sizeof(s), &fd, 1));
        g_assert_cmpuint(tf_recv(tf, &hdr, &ack, 8, NULL), ==, 8);
        g_assert_cmpuint(ack, ==, 0);
        close(fd);
    }
    {
        VuMsgMemRegionSingle s = { 0, { 0x3000000000ull, 4096, 0x7f7000000000ull, 0 } };

        b->req = VHOST_USER_ADD_MEM_REG;
        memcpy(b->payload, &s, sizeof(s));
        b->size = sizeof(s);
        b->fds[0] = new_memfd(4096);
        b->nfds = 1;
    }
}
static void b_rem_reg_two_fds(TFront *tf, Bad *b)
{
    VuMsgMemRegionSingle s = { 0, good_reg };

    b->req = VHOST_USER_REM_MEM_REG;
    memcpy(b->payload, &s, sizeof(s));
    b->size = sizeof(s);
    b->fds[0] = new_eventfd();
    b->fds[1] = new_eventfd();
    b->nfds = 2;
}
static void b_log_base_no_fd(TFront *tf, Bad *b)
{
    VuMsgLog l = { 4096, 0 };

    b->req = VHOST_USER_SET_LOG_BASE;
    memcpy(b->payload, &l, sizeof(l));
    b->size = sizeof(l);
}
static void b_log_base_size_zero(TFront *tf, Bad *b)
{
    VuMsgLog l = { 0, 0 };

    b->req = VHOST_USER_SET_LOG_BASE;
    memcpy(b->payload, &l, sizeof(l));
    b->size = sizeof(l);
    b->fds[0] = new_memfd(4096);
    b->nfds = 1;
}
static void b_log_base_beyond_file(TFront *tf, Bad *b)
{
    VuMsgLog l = { 8192, 4096 };

    b->req = VHOST_USER_SET_LOG_BASE;
    memcpy(b->payload, &l, sizeof(l));
    b->size = sizeof(l);
    b->fds[0] = new_memfd(4096);
    b->nfds = 1;
}
static void b_log_fd_no_fd(TFront *tf, Bad *b)
{
    b->req = VHOST_USER_SET_LOG_FD;
}
static void b_config_size_mismatch(TFront *tf, Bad *b)
{
    VuMsgConfig c = { .offset = 0, .size = 16 };

    b->req = VHOST_USER_GET_CONFIG;
    memcpy(b->payload, &c, 12);
    b->size = 12 + 12;
}
static void b_config_too_large(TFront *tf, Bad *b)
{
    VuMsgConfig c = { .offset = 0, .size = 300 };

    b->req = VHOST_USER_SET_CONFIG;
    memcpy(b->payload, &c, 12);
    b->size = 12 + 256;
}
static void b_inflight_no_fd(TFront *tf, Bad *b)
{
    VuMsgInflight i = { 65536, 0, TG_NQ, 64 };

    b->req = VHOST_USER_SET_INFLIGHT_FD;
    memcpy(b->payload, &i, sizeof(i));
    b->size = sizeof(i);
}
static void b_inflight_too_small(TFront *tf, Bad *b)
{
    VuMsgInflight i = { 4096, 0, TG_NQ, 64 };

    b->req = VHOST_USER_SET_INFLIGHT_FD;
    memcpy(b->payload, &i, sizeof(i));
    b->size = sizeof(i);
    b->fds[0] = new_memfd(4096);
    b->nfds = 1;
}
static void b_inflight_num_queues(TFront *tf, Bad *b)
{
    VuMsgInflight i = { 1 << 20, 0, TG_NQ + 1, 64 };

    b->req = VHOST_USER_SET_INFLIGHT_FD;
    memcpy(b->payload, &i, sizeof(i));
    b->size = sizeof(i);
    b->fds[0] = new_memfd(1 << 20);
    b->nfds = 1;
}
static void b_inflight_bad_size(TFront *tf, Bad *b)
{
    VuMsgInflight i = { 1 << 20, 0, TG_NQ, 64 };

    b->req = VHOST_USER_GET_INFLIGHT_FD;
    memcpy(b->payload, &i, sizeof(i));
    b->size = 22;
}
static void b_device_state_no_fd(TFront *tf, Bad *b)
{
    VuMsgDeviceState d = { 0, 0 };

    b->req = VHOST_USER_SET_DEVICE_STATE_FD;
    memcpy(b->payload, &d, sizeof(d));
    b->size = sizeof(d);
}
static void b_check_state_size(TFront *tf, Bad *b)
{
    set_u64(b, VHOST_USER_CHECK_DEVICE_STATE, 0);
}

static void b_add_reg_size(TFront *tf, Bad *b)
{
    b_add_reg_zero_size(tf, b);
    b->size = 32;
}
static void b_rem_reg_size(TFront *tf, Bad *b)
{
    VuMsgMemRegionSingle s = { 0, good_reg };

    b->req = VHOST_USER_REM_MEM_REG;
    memcpy(b->payload, &s, sizeof(s));
    b->size = sizeof(s) + 8;
}
static void b_log_base_size(TFront *tf, Bad *b)
{
    b_log_base_size_zero(tf, b);
    b->size = 8;
}
static void b_enable_size(TFront *tf, Bad *b)
{
    set_state(b, VHOST_USER_SET_VRING_ENABLE, 0, 1);
    b->size = 12;
}
static void b_config_short(TFront *tf, Bad *b)
{
    b->req = VHOST_USER_GET_CONFIG;
    b->size = 8;
}
static void b_inflight_queue_size_zero(TFront *tf, Bad *b)
{
    VuMsgInflight i = { 1 << 20, 0, TG_NQ, 0 };

    b->req = VHOST_USER_SET_INFLIGHT_FD;
    memcpy(b->payload, &i, sizeof(i));
    b->size = sizeof(i);
    b->fds[0] = new_memfd(1 << 20);
    b->nfds = 1;
}
static void b_inflight_offset_overflow(TFront *tf, Bad *b)
{
    VuMsgInflight i = { 1 << 20, UINT64_MAX - 4095, TG_NQ, 64 };

    b->req = VHOST_USER_SET_INFLIGHT_FD;
    memcpy(b->payload, &i, sizeof(i));
    b->size = sizeof(i);
    b->fds[0] = new_memfd(1 << 20);
    b->nfds = 1;
}
static void b_device_state_two_fds(TFront *tf, Bad *b)
{
    b_device_state_no_fd(tf, b);
    b->fds[0] = new_eventfd();
    b->fds[1] = new_eventfd();
    b->nfds = 2;
}
static void b_get_status_fd(TFront *tf, Bad *b)
{
    b->req = VHOST_USER_GET_STATUS;
    b->fds[0] = new_eventfd();
    b->nfds = 1;
}
static void b_vring_num_while_fd(TFront *tf, Bad *b)
{
    set_state(b, VHOST_USER_SET_VRING_NUM, 0, 16);
    b->fds[0] = new_memfd(4096);
    b->nfds = 1;
}

static const BadCase bad_cases[] = {
    { "add-mem-reg-size", 1, b_add_reg_size },
    { "rem-mem-reg-size", 1, b_rem_reg_size },
    { "set-log-base-size", 0, b_log_base_size },
    { "set-vring-enable-size", 0, b_enable_size },
    { "get-config-short", 0, b_config_short },
    { "set-inflight-fd-queue-size-zero", 0, b_inflight_queue_size_zero },
    { "set-inflight-fd-offset-overflow", 0, b_inflight_offset_overflow },
    { "set-device-state-fd-two-fds", 0, b_device_state_two_fds },
    { "get-status-with-fd", 0, b_get_status_fd },
    { "set-vring-num-with-fd", 0, b_vring_num_while_fd },
    { "bad-version", 0, b_bad_version },
    { "reply-flag-set", 0, b_reply_flag },
    { "oversized-payload", 0, b_oversized },
    { "too-many-fds", 0, b_too_many_fds },
    { "get-features-size", 0, b_get_features_size },
    { "set-features-size", 0, b_set_features_size },
    { "set-features-with-fd", 0, b_set_features_fd },
    { "set-owner-size", 0, b_set_owner_size },
    { "set-protocol-features-size", 0, b_set_protocol_features_size },
    { "set-status-size", 0, b_set_status_size },
    { "set-status-too-large", 0, b_set_status_too_large },
    { "set-vring-num-index", 0, b_num_index },
    { "set-vring-num-index-huge", 0, b_num_huge_index },
    { "set-vring-num-size", 0, b_num_size },
    { "set-vring-num-zero", 0, b_num_zero },
    { "set-vring-num-not-pow2", 0, b_num_not_pow2 },
    { "set-vring-num-too-big", 0, b_num_too_big },
    { "set-vring-addr-index", 1, b_addr_index },
    { "set-vring-addr-size", 1, b_addr_size },
    { "set-vring-addr-flags", 2, b_addr_flags },
    { "set-vring-addr-outside-memory", 2, b_addr_outside },
    { "set-vring-addr-used-past-end", 2, b_addr_used_crosses_end },
    { "set-vring-addr-misaligned", 2, b_addr_misaligned },
    { "set-vring-base-index", 0, b_base_index },
    { "set-vring-base-reserved-bits", 1, b_base_reserved },
    { "get-vring-base-index", 0, b_get_base_index },
    { "get-vring-base-size", 0, b_get_base_size },
    { "set-vring-kick-index", 0, b_kick_index },
    { "set-vring-kick-no-fd-without-flag", 0, b_kick_nofd_without_flag },
    { "set-vring-kick-fd-with-nofd-flag", 0, b_kick_fd_with_nofd_flag },
    { "set-vring-kick-reserved-bits", 0, b_kick_reserved_bits },
    { "set-vring-kick-two-fds", 0, b_kick_two_fds },
    { "set-vring-call-index", 0, b_call_index },
    { "set-vring-call-size", 0, b_call_size },
    { "set-vring-err-index", 0, b_err_index },
    { "set-vring-enable-index", 0, b_enable_index },
    { "set-vring-enable-value", 0, b_enable_value },
    { "mem-table-zero-regions", 0, b_mem_zero_regions },
    { "mem-table-too-many-regions", 0, b_mem_too_many },
    { "mem-table-fd-count-mismatch", 0, b_mem_fd_mismatch },
    { "mem-table-size-mismatch", 0, b_mem_size_mismatch },
    { "mem-table-zero-size-region", 0, b_mem_zero_size },
    { "mem-table-gpa-overflow", 0, b_mem_gpa_overflow },
    { "mem-table-uva-overflow", 0, b_mem_uva_overflow },
    { "mem-table-offset-overflow", 0, b_mem_offset_overflow },
    { "mem-table-beyond-file", 0, b_mem_beyond_file },
    { "mem-table-overlap", 0, b_mem_overlap },
    { "add-mem-reg-no-fd", 1, b_add_reg_no_fd },
    { "add-mem-reg-zero-size", 1, b_add_reg_zero_size },
    { "add-mem-reg-overlap", 1, b_add_reg_overlap },
    { "add-mem-reg-too-many", 1, b_add_reg_too_many },
    { "rem-mem-reg-two-fds", 1, b_rem_reg_two_fds },
    { "set-log-base-no-fd", 0, b_log_base_no_fd },
    { "set-log-base-size-zero", 0, b_log_base_size_zero },
    { "set-log-base-beyond-file", 0, b_log_base_beyond_file },
    { "set-log-fd-no-fd", 0, b_log_fd_no_fd },
    { "get-config-size-mismatch", 0, b_config_size_mismatch },
    { "set-config-too-large", 0, b_config_too_large },
    { "set-inflight-fd-no-fd", 0, b_inflight_no_fd },
    { "set-inflight-fd-too-small", 0, b_inflight_too_small },
    { "set-inflight-fd-num-queues", 0, b_inflight_num_queues },
    { "get-inflight-fd-size", 0, b_inflight_bad_size },
    { "set-device-state-fd-no-fd", 0, b_device_state_no_fd },
    { "check-device-state-size", 0, b_check_state_size },
};

static void test_bad(gconstpointer data)
{
    const BadCase *bc = data;
    TFront *tf = tf_new();
    Bad b = { .flags = V };
    unsigned int n0;

    if (bc->setup >= 1) {
        tf_negotiate(tf, 1ull << VIRTIO_F_VERSION_1);
        tf_set_mem_table(tf);
    }
    if (bc->setup >= 2) {
        tf_set_state(tf, VHOST_USER_SET_VRING_NUM, 0, 16);
    }
    bc->build(tf, &b);
    n0 = t_count_fds();
    tf_send(tf, b.req, b.flags, b.payload, b.size, b.fds, b.nfds);
    g_assert_false(vu_dev_dispatch(tf->dev));
    /* Every fd the back-end received is closed again. */
    g_assert_cmpuint(t_count_fds(), ==, n0);
    g_assert_false(tf_has_reply(tf));
    for (unsigned int i = 0; i < b.nfds; i++) {
        close(b.fds[i]);
    }
    tf_free(tf);
}

/* A truncated message (peer gives up mid-payload) drops without hanging. */
static void test_bad_truncated(void)
{
    TFront *tf = tf_new();
    VuMsgHdr hdr = { VHOST_USER_SET_FEATURES, V, 8 };
    uint32_t half = 0;

    tf_send_raw(tf, &hdr, sizeof(hdr), NULL, 0);
    tf_send_raw(tf, &half, sizeof(half), NULL, 0);
    shutdown(tf->sock, SHUT_WR);
    g_assert_false(vu_dev_dispatch(tf->dev));
    tf_free(tf);
}

/* A front-end that never reads its replies cannot block the daemon. */
static void test_reply_not_read(void)
{
    TFront *tf = tf_new();
    int saved = vu_msg_io_timeout_ms;
    int sz = 4096;
    bool alive = true;
    unsigned int n;

    vu_msg_io_timeout_ms = 20;
    g_assert_cmpint(setsockopt(vu_dev_socket_fd(tf->dev), SOL_SOCKET, SO_SNDBUF, &sz,
                               sizeof(sz)), ==, 0);
    for (n = 0; n < 100000 && alive; n++) {
        alive = tf_msg(tf, VHOST_USER_GET_FEATURES, V, NULL, 0, NULL, 0);
    }
    g_assert_false(alive);
    vu_msg_io_timeout_ms = saved;
    tf_free(tf);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_log_set_always_fatal(G_LOG_LEVEL_CRITICAL);
    g_log_set_fatal_mask("vsnd-vu", G_LOG_LEVEL_CRITICAL);

    g_test_add_func("/vu/msg/get-features", test_get_features);
    g_test_add_func("/vu/msg/protocol-features", test_protocol_features);
    g_test_add_func("/vu/msg/get-queue-num-and-mem-slots", test_queue_num_and_slots);
    g_test_add_func("/vu/msg/get-config", test_get_config);
    g_test_add_func("/vu/msg/get-config-error-empty-reply", test_get_config_error);
    g_test_add_func("/vu/msg/set-config", test_set_config);
    g_test_add_func("/vu/msg/status", test_status);
    g_test_add_func("/vu/msg/device-state", test_device_state);
    g_test_add_func("/vu/msg/unknown-request", test_unknown_request);
    g_test_add_func("/vu/msg/eof-drops", test_eof);
    g_test_add_func("/vu/msg/spurious-dispatch", test_spurious_dispatch);
    g_test_add_func("/vu/msg/qemu-sequence", test_qemu_sequence);
    g_test_add_func("/vu/msg/reply-ack/each-request", test_reply_ack_each);
    g_test_add_func("/vu/msg/invalid/truncated-payload", test_bad_truncated);
    g_test_add_func("/vu/msg/invalid/replies-never-read", test_reply_not_read);
    for (size_t i = 0; i < G_N_ELEMENTS(bad_cases); i++) {
        g_autofree char *path = g_strdup_printf("/vu/msg/invalid/%s", bad_cases[i].name);

        g_test_add_data_func(path, &bad_cases[i], test_bad);
    }
    return g_test_run();
}
