/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-vu-common.c - the in-process front-end, guest and device used by
 * the vhost-user core tests.  Plays QEMU with raw messages over a
 * socketpair and the guest driver with hand-built rings in memfd RAM.
 */
#include "config.h"

#include <dirent.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>

#include "test-vu-common.h"

#ifndef VIRTIO_F_RING_PACKED
#define VIRTIO_F_RING_PACKED 34
#endif

/* ---- device ------------------------------------------------------------- */

static TDevice *td_of(VuDev *dev)
{
    return &((TFront *)vu_dev_opaque(dev))->td;
}

static uint64_t td_get_features(VuDev *dev)
{
    return 1ull << 0;
}

static void td_set_features(VuDev *dev, uint64_t f)
{
    td_of(dev)->features_acked = f;
}

static int td_get_config(VuDev *dev, uint8_t *config, uint32_t offset, uint32_t len)
{
    TDevice *td = td_of(dev);

    if (td->config_fail || offset > sizeof(td->config) || len > sizeof(td->config) - offset) {
        return -EINVAL;
    }
    memcpy(config, td->config + offset, len);
    return 0;
}

static int td_set_config(VuDev *dev, const uint8_t *data, uint32_t offset, uint32_t len,
                         uint32_t flags)
{
    TDevice *td = td_of(dev);

    if (offset > sizeof(td->set_config_buf) || len > sizeof(td->set_config_buf) - offset) {
        return -EINVAL;
    }
    memcpy(td->set_config_buf + offset, data, len);
    td->set_config_offset = offset;
    td->set_config_len = len;
    td->set_config_flags = flags;
    return 0;
}

static void td_queue_kick(VuDev *dev, void *opaque, VuVirtq *vq, int q)
{
    TDevice *td = td_of(dev);

    g_assert_true(opaque == vu_dev_opaque(dev));
    g_assert_true(vq == vu_dev_queue(dev, (unsigned int)q));
    if (q >= 0 && q < TG_NQ) {
        td->kicks[q]++;
    }
    if (td->on_kick) {
        td->on_kick(dev, q);
    }
}

static void td_queue_set_started(VuDev *dev, int q, bool started)
{
    TDevice *td = td_of(dev);

    g_assert_cmpint(q, >=, 0);
    g_assert_cmpint(q, <, TG_NQ);
    td->started[q] = started;
    if (started) {
        td->start_calls[q]++;
        return;
    }
    td->stop_calls[q]++;
    /* Return every held element, as the contract requires. */
    if (td->held[q]) {
        for (guint i = 0; i < td->held[q]->len; i++) {
            VuVirtqElement *e = g_ptr_array_index(td->held[q], i);

            vu_queue_push(dev, vu_dev_queue(dev, (unsigned int)q), e, 0);
            vu_elem_free(e);
        }
        g_ptr_array_set_size(td->held[q], 0);
    }
}

static void td_suspend(VuDev *dev, bool s)
{
    if (s) {
        td_of(dev)->suspends++;
    } else {
        td_of(dev)->resumes++;
    }
}

static void td_reset(VuDev *dev, VuResetReason why)
{
    TDevice *td = td_of(dev);

    td->resets++;
    td->last_reset = why;
    if (td->reset_out) {
        *td->reset_out = why;
    }
    for (int q = 0; q < TG_NQ; q++) {
        if (td->held[q]) {
            for (guint i = 0; i < td->held[q]->len; i++) {
                vu_elem_free(g_ptr_array_index(td->held[q], i));
            }
            g_ptr_array_set_size(td->held[q], 0);
        }
    }
}

static int td_set_device_state_fd(VuDev *dev, int dir, int phase, int fd, int *reply_fd)
{
    TDevice *td = td_of(dev);

    if (td->state_fd >= 0) {
        close(td->state_fd);
    }
    td->state_fd = fd;
    td->state_dir = dir;
    td->state_phase = phase;
    if (td->state_reply_fd) {
        int p[2];

        g_assert_cmpint(pipe2(p, O_CLOEXEC), ==, 0);
        close(p[1]);
        *reply_fd = p[0];
    }
    return td->state_ret;
}

static int td_check_device_state(VuDev *dev)
{
    return td_of(dev)->check_ret;
}

static const VuDevIface td_iface = {
    .get_features = td_get_features,
    .set_features = td_set_features,
    .get_config = td_get_config,
    .set_config = td_set_config,
    .queue_kick = td_queue_kick,
    .queue_set_started = td_queue_set_started,
    .suspend = td_suspend,
    .reset = td_reset,
    .set_device_state_fd = td_set_device_state_fd,
    .check_device_state = td_check_device_state,
};

const VuDevIface *tdev_iface(void)
{
    return &td_iface;
}

/* ---- loop ops ------------------------------------------------------------ */

static void tl_remove_watch(VuDev *dev, int fd, void *loop)
{
    TFront *tf = loop;

    for (guint i = 0; i < tf->watches->len; i++) {
        if (g_array_index(tf->watches, TWatch, i).fd == fd) {
            g_array_remove_index(tf->watches, i);
            return;
        }
    }
}

static void tl_set_watch(VuDev *dev, int fd, VuWatchCb cb, void *data, void *loop)
{
    TFront *tf = loop;
    TWatch w = { .fd = fd, .cb = cb, .data = data };

    tl_remove_watch(dev, fd, loop);
    g_array_append_val(tf->watches, w);
}

static const VuLoopOps tl_ops = {
    .set_watch = tl_set_watch,
    .remove_watch = tl_remove_watch,
};

const VuLoopOps *tloop_ops(void)
{
    return &tl_ops;
}

unsigned int tf_run_watches(TFront *tf, int timeout_ms)
{
    g_autoptr(GArray) copy = g_array_copy(tf->watches);
    g_autofree struct pollfd *pfd = g_new0(struct pollfd, copy->len + 1);
    unsigned int ran = 0;

    for (guint i = 0; i < copy->len; i++) {
        pfd[i].fd = g_array_index(copy, TWatch, i).fd;
        pfd[i].events = POLLIN;
    }
    if (poll(pfd, copy->len, timeout_ms) <= 0) {
        return 0;
    }
    for (guint i = 0; i < copy->len; i++) {
        TWatch w = g_array_index(copy, TWatch, i);
        bool still = false;

        if (!(pfd[i].revents & POLLIN)) {
            continue;
        }
        for (guint j = 0; j < tf->watches->len; j++) {
            still |= g_array_index(tf->watches, TWatch, j).fd == w.fd;
        }
        if (still) {
            w.cb(tf->dev, w.fd, w.data);
            ran++;
        }
    }
    return ran;
}

/* ---- guest memory ------------------------------------------------------- */

void tg_init(TGuest *g)
{
    for (int i = 0; i < TG_NREG; i++) {
        g->memfd[i] = memfd_create("vu-test-guest", MFD_CLOEXEC);
        g_assert_cmpint(g->memfd[i], >=, 0);
        g_assert_cmpint(ftruncate(g->memfd[i], TG_REG_SIZE), ==, 0);
        g->mem[i] = mmap(NULL, TG_REG_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, g->memfd[i], 0);
        g_assert(g->mem[i] != MAP_FAILED);
    }
}

void tg_fini(TGuest *g)
{
    for (int i = 0; i < TG_NREG; i++) {
        munmap(g->mem[i], TG_REG_SIZE);
        close(g->memfd[i]);
    }
}

void *tg_ptr(TGuest *g, uint64_t gpa)
{
    uint64_t off = gpa - TG_GPA_BASE;

    g_assert_cmpuint(gpa, >=, TG_GPA_BASE);
    g_assert_cmpuint(off, <, (uint64_t)TG_NREG * TG_REG_SIZE);
    return g->mem[off / TG_REG_SIZE] + off % TG_REG_SIZE;
}

/* ---- front-end ------------------------------------------------------------ */

static void tf_connect(TFront *tf)
{
    int sv[2];

    g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), ==, 0);
    tf->sock = sv[0];
    tf->dev = vu_dev_new(sv[1], TG_NQ, 256, &td_iface, tf, &tl_ops, tf);
}

TFront *tf_new(void)
{
    TFront *tf = g_new0(TFront, 1);

    tf->watches = g_array_new(FALSE, FALSE, sizeof(TWatch));
    tf->td.state_fd = -1;
    for (int q = 0; q < TG_NQ; q++) {
        tf->td.held[q] = g_ptr_array_new();
        tf->ring[q].kick = tf->ring[q].call = tf->ring[q].err = -1;
    }
    tg_init(&tf->g);
    tf_connect(tf);
    return tf;
}

static void tf_close_rings(TFront *tf)
{
    for (int q = 0; q < TG_NQ; q++) {
        TRing *r = &tf->ring[q];

        if (r->kick >= 0) {
            close(r->kick);
        }
        if (r->call >= 0) {
            close(r->call);
        }
        if (r->err >= 0) {
            close(r->err);
        }
        r->kick = r->call = r->err = -1;
    }
}

void tf_reconnect(TFront *tf)
{
    vu_dev_free(tf->dev);
    close(tf->sock);
    g_assert_cmpuint(tf->watches->len, ==, 0);
    tf_close_rings(tf);
    tf_connect(tf);
}

void tf_free(TFront *tf)
{
    vu_dev_free(tf->dev);
    g_assert_cmpuint(tf->watches->len, ==, 0);
    close(tf->sock);
    tf_close_rings(tf);
    if (tf->td.state_fd >= 0) {
        close(tf->td.state_fd);
    }
    for (int q = 0; q < TG_NQ; q++) {
        g_ptr_array_free(tf->td.held[q], TRUE);
    }
    tg_fini(&tf->g);
    g_array_free(tf->watches, TRUE);
    g_free(tf);
}

void tf_send_raw(TFront *tf, const void *buf, size_t len, const int *fds, unsigned int nfds)
{
    union {
        char b[CMSG_SPACE(16 * sizeof(int))];
        struct cmsghdr align;
    } ctl;
    struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
    struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

    g_assert_cmpuint(nfds, <=, 16);
    if (nfds) {
        struct cmsghdr *c;

        memset(&ctl, 0, sizeof(ctl));
        mh.msg_control = ctl.b;
        mh.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
        c = CMSG_FIRSTHDR(&mh);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(nfds * sizeof(int));
        memcpy(CMSG_DATA(c), fds, nfds * sizeof(int));
    }
    g_assert_cmpint(sendmsg(tf->sock, &mh, MSG_NOSIGNAL), ==, (ssize_t)len);
}

void tf_send(TFront *tf, uint32_t req, uint32_t flags, const void *payload, uint32_t size,
             const int *fds, unsigned int nfds)
{
    g_autofree uint8_t *buf = g_malloc0(sizeof(VuMsgHdr) + size);
    VuMsgHdr hdr = { .request = req, .flags = flags, .size = size };

    memcpy(buf, &hdr, sizeof(hdr));
    if (size) {
        memcpy(buf + sizeof(hdr), payload, size);
    }
    tf_send_raw(tf, buf, sizeof(hdr) + size, fds, nfds);
}

bool tf_msg(TFront *tf, uint32_t req, uint32_t flags, const void *payload, uint32_t size,
            const int *fds, unsigned int nfds)
{
    tf_send(tf, req, flags, payload, size, fds, nfds);
    return vu_dev_dispatch(tf->dev);
}

bool tf_has_reply(TFront *tf)
{
    struct pollfd p = { .fd = tf->sock, .events = POLLIN };

    return poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

uint32_t tf_recv(TFront *tf, VuMsgHdr *hdr, void *payload, size_t max, int *ret_fd)
{
    union {
        char b[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } ctl;
    struct iovec iov = { .iov_base = hdr, .iov_len = sizeof(*hdr) };
    struct msghdr mh = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.b, .msg_controllen = sizeof(ctl.b)
    };
    ssize_t r;

    if (ret_fd) {
        *ret_fd = -1;
    }
    g_assert_true(tf_has_reply(tf));
    r = recvmsg(tf->sock, &mh, MSG_CMSG_CLOEXEC);
    g_assert_cmpint(r, ==, sizeof(*hdr));
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
        if (c->cmsg_type == SCM_RIGHTS) {
            int fd;

            memcpy(&fd, CMSG_DATA(c), sizeof(int));
            g_assert_nonnull(ret_fd);
            *ret_fd = fd;
        }
    }
    g_assert_cmpuint(hdr->flags, ==, VHOST_USER_VERSION | VHOST_USER_REPLY_MASK);
    g_assert_cmpuint(hdr->size, <=, max);
    if (hdr->size) {
        g_assert_cmpint(recv(tf->sock, payload, hdr->size, MSG_WAITALL), ==, (ssize_t)hdr->size);
    }
    return hdr->size;
}

void tf_set_u64(TFront *tf, uint32_t req, uint64_t v)
{
    VuMsgHdr hdr;
    uint64_t ack = 99;

    g_assert_true(tf_msg(tf, req, VHOST_USER_VERSION | VHOST_USER_NEED_REPLY_MASK, &v, sizeof(v),
                         NULL, 0));
    g_assert_cmpuint(tf_recv(tf, &hdr, &ack, sizeof(ack), NULL), ==, 8);
    g_assert_cmpuint(hdr.request, ==, req);
    g_assert_cmpuint(ack, ==, 0);
}

uint64_t tf_get_u64(TFront *tf, uint32_t req)
{
    VuMsgHdr hdr;
    uint64_t v = 0;

    g_assert_true(tf_msg(tf, req, VHOST_USER_VERSION, NULL, 0, NULL, 0));
    g_assert_cmpuint(tf_recv(tf, &hdr, &v, sizeof(v), NULL), ==, 8);
    g_assert_cmpuint(hdr.request, ==, req);
    return v;
}

void tf_set_state(TFront *tf, uint32_t req, uint32_t index, uint32_t num)
{
    VuMsgState st = { index, num };
    VuMsgHdr hdr;
    uint64_t ack = 99;

    g_assert_true(tf_msg(tf, req, VHOST_USER_VERSION | VHOST_USER_NEED_REPLY_MASK, &st,
                         sizeof(st), NULL, 0));
    g_assert_cmpuint(tf_recv(tf, &hdr, &ack, sizeof(ack), NULL), ==, 8);
    g_assert_cmpuint(ack, ==, 0);
}

uint32_t tf_get_vring_base(TFront *tf, unsigned int q)
{
    VuMsgState st = { q, 0 };
    VuMsgHdr hdr;

    g_assert_true(tf_msg(tf, VHOST_USER_GET_VRING_BASE, VHOST_USER_VERSION, &st, sizeof(st),
                         NULL, 0));
    g_assert_cmpuint(tf_recv(tf, &hdr, &st, sizeof(st), NULL), ==, sizeof(st));
    g_assert_cmpuint(st.index, ==, q);
    return st.num;
}

void tf_negotiate(TFront *tf, uint64_t features)
{
    uint64_t offered = tf_get_u64(tf, VHOST_USER_GET_FEATURES);
    uint64_t proto = tf_get_u64(tf, VHOST_USER_GET_PROTOCOL_FEATURES);

    g_assert_cmpuint(offered & features, ==, features);
    tf_set_u64(tf, VHOST_USER_SET_PROTOCOL_FEATURES, proto);
    tf->features = features | (1ull << VHOST_USER_F_PROTOCOL_FEATURES);
    tf_set_u64(tf, VHOST_USER_SET_FEATURES, tf->features);
}

void tf_set_mem_table(TFront *tf)
{
    VuMsgMemory m = { .nregions = TG_NREG };
    VuMsgHdr hdr;
    uint64_t ack = 9;

    for (int i = 0; i < TG_NREG; i++) {
        m.regions[i].guest_addr = TG_GPA_BASE + (uint64_t)i * TG_REG_SIZE;
        m.regions[i].size = TG_REG_SIZE;
        m.regions[i].user_addr = TG_UVA_BASE + (uint64_t)i * TG_REG_SIZE;
        m.regions[i].mmap_offset = 0;
    }
    g_assert_true(tf_msg(tf, VHOST_USER_SET_MEM_TABLE,
                         VHOST_USER_VERSION | VHOST_USER_NEED_REPLY_MASK, &m,
                         8 + TG_NREG * sizeof(VuMsgMemRegion), tf->g.memfd, TG_NREG));
    g_assert_cmpuint(tf_recv(tf, &hdr, &ack, sizeof(ack), NULL), ==, 8);
    g_assert_cmpuint(ack, ==, 0);
}

static uint64_t gpa_to_uva(uint64_t gpa)
{
    return gpa - TG_GPA_BASE + TG_UVA_BASE;
}

static void tf_set_vring_fd(TFront *tf, uint32_t req, unsigned int q, int fd)
{
    uint64_t v = q;
    VuMsgHdr hdr;
    uint64_t ack = 9;

    g_assert_true(tf_msg(tf, req, VHOST_USER_VERSION | VHOST_USER_NEED_REPLY_MASK, &v, sizeof(v),
                         &fd, 1));
    g_assert_cmpuint(tf_recv(tf, &hdr, &ack, sizeof(ack), NULL), ==, 8);
    g_assert_cmpuint(ack, ==, 0);
}

void tf_setup_queue(TFront *tf, unsigned int q, unsigned int num, bool packed)
{
    tf_setup_queue_ex(tf, q, num, packed, packed ? (1u << 15) | (1u << 31) : 0, true, true);
}

void tf_setup_queue_ex(TFront *tf, unsigned int q, unsigned int num, bool packed, uint32_t base,
                       bool wipe, bool with_kick_fd)
{
    TRing *r = &tf->ring[q];
    VuMsgVringAddr a = {
        .index = q,
        .desc_user_addr = gpa_to_uva(TG_DESC(q)),
        .avail_user_addr = gpa_to_uva(TG_AVAIL(q)),
        .used_user_addr = gpa_to_uva(TG_USED(q)),
        .log_guest_addr = TG_USED(q),
    };
    VuMsgHdr hdr;
    uint64_t ack = 9;

    if (r->kick >= 0) {
        close(r->kick);
    }
    if (r->call >= 0) {
        close(r->call);
    }
    if (r->err >= 0) {
        close(r->err);
    }
    r->kick = r->call = r->err = -1;
    if (wipe) {
        memset(tg_ptr(&tf->g, TG_DESC(q)), 0, 0x10000);
        memset(r, 0, sizeof(*r));
        r->num = num;
        r->packed = packed;
        r->avail_wrap = r->used_wrap = true;
        r->kick = r->call = r->err = -1;
    }
    tf_set_state(tf, VHOST_USER_SET_VRING_NUM, q, num);
    tf_set_state(tf, VHOST_USER_SET_VRING_BASE, q, base);
    g_assert_true(tf_msg(tf, VHOST_USER_SET_VRING_ADDR,
                         VHOST_USER_VERSION | VHOST_USER_NEED_REPLY_MASK, &a, sizeof(a), NULL, 0));
    g_assert_cmpuint(tf_recv(tf, &hdr, &ack, sizeof(ack), NULL), ==, 8);
    g_assert_cmpuint(ack, ==, 0);
    r->kick = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    r->call = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    r->err = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    tf_set_vring_fd(tf, VHOST_USER_SET_VRING_CALL, q, r->call);
    tf_set_vring_fd(tf, VHOST_USER_SET_VRING_ERR, q, r->err);
    if (with_kick_fd) {
        tf_set_vring_fd(tf, VHOST_USER_SET_VRING_KICK, q, r->kick);
    } else {
        uint64_t v = q | VHOST_USER_VRING_NOFD_MASK;

        g_assert_true(tf_msg(tf, VHOST_USER_SET_VRING_KICK,
                             VHOST_USER_VERSION | VHOST_USER_NEED_REPLY_MASK, &v, sizeof(v), NULL,
                             0));
        g_assert_cmpuint(tf_recv(tf, &hdr, &ack, sizeof(ack), NULL), ==, 8);
        g_assert_cmpuint(ack, ==, 0);
    }
    tf_set_state(tf, VHOST_USER_SET_VRING_ENABLE, q, 1);
}

/* ---- split ring driver --------------------------------------------------- */

void tr_split_write_desc(TFront *tf, unsigned int q, uint16_t i, uint64_t addr, uint32_t len,
                         uint16_t flags, uint16_t next)
{
    struct vring_desc d = {
        .addr = htole64(addr), .len = htole32(len), .flags = htole16(flags), .next = htole16(next)
    };

    memcpy((uint8_t *)tg_ptr(&tf->g, TG_DESC(q)) + 16 * (size_t)i, &d, sizeof(d));
}

void tr_split_publish(TFront *tf, unsigned int q, uint16_t head)
{
    TRing *r = &tf->ring[q];
    uint8_t *avail = tg_ptr(&tf->g, TG_AVAIL(q));
    uint16_t v = htole16(head);

    memcpy(avail + 4 + 2 * (r->avail_idx % r->num), &v, 2);
    r->avail_idx++;
    __atomic_thread_fence(__ATOMIC_RELEASE);
    v = htole16(r->avail_idx);
    memcpy(avail + 2, &v, 2);
}

uint16_t tr_split_add(TFront *tf, unsigned int q, const TBuf *bufs, unsigned int n,
                      uint64_t itbl_gpa)
{
    TRing *r = &tf->ring[q];
    uint16_t head = r->next_free % r->num;

    if (itbl_gpa) {
        uint8_t *tbl = tg_ptr(&tf->g, itbl_gpa);

        for (unsigned int i = 0; i < n; i++) {
            struct vring_desc d = {
                .addr = htole64(bufs[i].gpa),
                .len = htole32(bufs[i].len),
                .flags = htole16((bufs[i].write ? VRING_DESC_F_WRITE : 0) |
                                 (i + 1 < n ? VRING_DESC_F_NEXT : 0)),
                .next = htole16((uint16_t)(i + 1)),
            };

            memcpy(tbl + 16 * i, &d, sizeof(d));
        }
        tr_split_write_desc(tf, q, head, itbl_gpa, 16 * n, VRING_DESC_F_INDIRECT, 0);
        r->next_free++;
    } else {
        for (unsigned int i = 0; i < n; i++) {
            uint16_t idx = (uint16_t)((r->next_free + i) % r->num);
            uint16_t nxt = (uint16_t)((r->next_free + i + 1) % r->num);

            tr_split_write_desc(tf, q, idx, bufs[i].gpa, bufs[i].len,
                                (bufs[i].write ? VRING_DESC_F_WRITE : 0) |
                                    (i + 1 < n ? VRING_DESC_F_NEXT : 0),
                                nxt);
        }
        r->next_free = (uint16_t)(r->next_free + n);
    }
    tr_split_publish(tf, q, head);
    return head;
}

uint16_t tr_split_used_idx(TFront *tf, unsigned int q)
{
    uint16_t v;

    memcpy(&v, (uint8_t *)tg_ptr(&tf->g, TG_USED(q)) + 2, 2);
    return le16toh(v);
}

void tr_split_used_elem(TFront *tf, unsigned int q, uint16_t slot, uint32_t *id, uint32_t *len)
{
    uint8_t *e = (uint8_t *)tg_ptr(&tf->g, TG_USED(q)) + 4 + 8 * (slot % tf->ring[q].num);
    uint32_t v;

    memcpy(&v, e, 4);
    *id = le32toh(v);
    memcpy(&v, e + 4, 4);
    *len = le32toh(v);
}

/* ---- packed ring driver --------------------------------------------------- */

#define PF_AVAIL (1u << VRING_PACKED_DESC_F_AVAIL)
#define PF_USED (1u << VRING_PACKED_DESC_F_USED)

static void tr_packed_write(TFront *tf, unsigned int q, uint16_t pos, uint64_t addr,
                            uint32_t len, uint16_t id, uint16_t flags, bool flags_too)
{
    uint8_t *d = (uint8_t *)tg_ptr(&tf->g, TG_DESC(q)) + 16 * (size_t)pos;
    uint64_t a = htole64(addr);
    uint32_t l = htole32(len);
    uint16_t i = htole16(id), f = htole16(flags);

    memcpy(d, &a, 8);
    memcpy(d + 8, &l, 4);
    memcpy(d + 12, &i, 2);
    if (flags_too) {
        __atomic_thread_fence(__ATOMIC_RELEASE);
        memcpy(d + 14, &f, 2);
    }
}

uint16_t tr_packed_add(TFront *tf, unsigned int q, const TBuf *bufs, unsigned int n,
                       uint64_t itbl_gpa)
{
    TRing *r = &tf->ring[q];
    uint16_t id = r->next_id++ % r->num;
    uint16_t first_pos = r->avail_pos, first_flags = 0;
    unsigned int ring_n = itbl_gpa ? 1 : n;

    if (itbl_gpa) {
        uint8_t *tbl = tg_ptr(&tf->g, itbl_gpa);

        for (unsigned int i = 0; i < n; i++) {
            struct vring_packed_desc d = {
                .addr = htole64(bufs[i].gpa),
                .len = htole32(bufs[i].len),
                .id = 0,
                .flags = htole16(bufs[i].write ? VRING_DESC_F_WRITE : 0),
            };

            memcpy(tbl + 16 * i, &d, sizeof(d));
        }
    }
    for (unsigned int i = 0; i < ring_n; i++) {
        uint16_t flags = r->avail_wrap ? PF_AVAIL : PF_USED;
        uint64_t addr;
        uint32_t len;

        if (itbl_gpa) {
            addr = itbl_gpa;
            len = 16 * n;
            flags |= VRING_DESC_F_INDIRECT;
        } else {
            addr = bufs[i].gpa;
            len = bufs[i].len;
            flags |= bufs[i].write ? VRING_DESC_F_WRITE : 0;
            flags |= i + 1 < n ? VRING_DESC_F_NEXT : 0;
        }
        if (i == 0) {
            first_flags = flags;
        }
        tr_packed_write(tf, q, r->avail_pos, addr, len, id, flags, i != 0);
        if (++r->avail_pos == r->num) {
            r->avail_pos = 0;
            r->avail_wrap = !r->avail_wrap;
        }
    }
    /* Make the head available last. */
    {
        uint8_t *d = (uint8_t *)tg_ptr(&tf->g, TG_DESC(q)) + 16 * (size_t)first_pos;
        uint16_t f = htole16(first_flags);

        __atomic_thread_fence(__ATOMIC_RELEASE);
        memcpy(d + 14, &f, 2);
    }
    g_assert_cmpuint(id, <, G_N_ELEMENTS(((TRing *)0)->id_len));
    r->id_len[id] = (uint16_t)ring_n;
    return id;
}

bool tr_packed_get_used(TFront *tf, unsigned int q, uint16_t *id, uint32_t *len)
{
    TRing *r = &tf->ring[q];
    uint8_t *d = (uint8_t *)tg_ptr(&tf->g, TG_DESC(q)) + 16 * (size_t)r->used_pos;
    uint16_t f, i;
    uint32_t l;

    memcpy(&f, d + 14, 2);
    f = le16toh(f);
    if (!!(f & PF_AVAIL) != r->used_wrap || !!(f & PF_USED) != r->used_wrap) {
        return false;
    }
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    memcpy(&i, d + 12, 2);
    memcpy(&l, d + 8, 4);
    *id = le16toh(i);
    *len = le32toh(l);
    r->used_pos = (uint16_t)(r->used_pos + r->id_len[*id % r->num]);
    if (r->used_pos >= r->num) {
        r->used_pos = (uint16_t)(r->used_pos - r->num);
        r->used_wrap = !r->used_wrap;
    }
    return true;
}

/* ---- misc -------------------------------------------------------------------- */

uint64_t t_eventfd_read(int fd)
{
    uint64_t v = 0;

    if (read(fd, &v, sizeof(v)) != sizeof(v)) {
        return 0;
    }
    return v;
}

unsigned int t_count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    unsigned int n = 0;
    struct dirent *e;

    g_assert_nonnull(d);
    while ((e = readdir(d))) {
        if (e->d_name[0] != '.') {
            n++;
        }
    }
    closedir(d);
    return n - 1; /* the DIR's own fd */
}
