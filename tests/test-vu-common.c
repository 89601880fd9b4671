/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-vu-common.c - the in-process front-end, guest and device used by
 * the vhost-user core tests.  Plays QEMU with raw messages over a
 * socketpair and the guest driver with hand-built rings in memfd RAM; the
 * wire, the memory, the ring fields and the VuDev's end are tests/vu-driver.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>

#include "test-vu-common.h"
#include "tests/vu-driver/vring-enc.h"
#include "tests/vu-driver/vud-wire.h"

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

/* ---- loop ---------------------------------------------------------------- */

unsigned int tf_run_watches(TFront *tf, int timeout_ms)
{
    return vud_watches_run_ready(tf->watches, tf->dev, timeout_ms);
}

/* ---- guest memory ------------------------------------------------------- */

void tg_init(TGuest *g)
{
    static const FgMemLayout layout = {
        .nregions = TG_NREG, .region_size = TG_REG_SIZE, .gpa = TG_GPA_BASE,
        .uva = TG_UVA_BASE, .uva_stride = TG_REG_SIZE, .fd_per_region = true,
    };

    g->fm = fg_mem_new_layout(&layout);
    for (int i = 0; i < TG_NREG; i++) {
        g->memfd[i] = g->fm->region[i].fd;
        g->mem[i] = g->fm->region[i].host;
    }
}

void tg_fini(TGuest *g)
{
    fg_mem_free(g->fm);
}

void *tg_ptr(TGuest *g, uint64_t gpa)
{
    void *p = fg_ptr(g->fm, gpa, 1);

    g_assert_nonnull(p);
    return p;
}

/* ---- front-end ------------------------------------------------------------ */

static void tf_connect(TFront *tf)
{
    tf->dev = vud_dev_new(&tf->sock, TG_NQ, 256, &td_iface, tf, tf->watches);
}

TFront *tf_new(void)
{
    TFront *tf = g_new0(TFront, 1);

    tf->watches = g_new0(VudWatches, 1);
    tf->td.state_fd = -1;
    for (int q = 0; q < TG_NQ; q++) {
        tf->td.held[q] = g_ptr_array_new();
        tf->ring[q].kick = tf->ring[q].call = tf->ring[q].err = -1;
    }
    tg_init(&tf->g);
    tf_connect(tf);
    return tf;
}

/* Close our ends of a ring's eventfds. */
static void tr_close_fds(TRing *r)
{
    int *fds[] = { &r->kick, &r->call, &r->err };

    for (unsigned int i = 0; i < G_N_ELEMENTS(fds); i++) {
        if (*fds[i] >= 0) {
            close(*fds[i]);
        }
        *fds[i] = -1;
    }
}

static void tf_close_rings(TFront *tf)
{
    for (int q = 0; q < TG_NQ; q++) {
        tr_close_fds(&tf->ring[q]);
    }
}

void tf_reconnect(TFront *tf)
{
    vu_dev_free(tf->dev);
    close(tf->sock);
    g_assert_cmpuint(tf->watches->n, ==, 0);
    tf_close_rings(tf);
    tf_connect(tf);
}

void tf_free(TFront *tf)
{
    vu_dev_free(tf->dev);
    g_assert_cmpuint(tf->watches->n, ==, 0);
    close(tf->sock);
    tf_close_rings(tf);
    if (tf->td.state_fd >= 0) {
        close(tf->td.state_fd);
    }
    for (int q = 0; q < TG_NQ; q++) {
        g_ptr_array_free(tf->td.held[q], TRUE);
    }
    tg_fini(&tf->g);
    g_free(tf->watches);
    g_free(tf);
}

void tf_send_raw(TFront *tf, const void *buf, size_t len, const int *fds, unsigned int nfds)
{
    g_assert_cmpint(vud_send_bytes(tf->sock, buf, len, fds, nfds, false), ==, 0);
}

void tf_send(TFront *tf, uint32_t req, uint32_t flags, const void *payload, uint32_t size,
             const int *fds, unsigned int nfds)
{
    g_assert_cmpint(vud_send_msg(tf->sock, req, flags, size, payload, size, fds, nfds, false), ==,
                    0);
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
    VudMsg msg, *m = &msg; /* on the stack: no heap block per reply */

    if (ret_fd) {
        *ret_fd = -1;
    }
    g_assert_true(tf_has_reply(tf));
    g_assert_cmpint(vud_recv_msg(tf->sock, m, 1000), ==, 0);
    g_assert_cmpuint(m->nfds, <=, 1);
    if (m->nfds) {
        g_assert_nonnull(ret_fd);
        *ret_fd = m->fds[0];
    }
    *hdr = (VuMsgHdr){ .request = m->request, .flags = m->flags, .size = m->size };
    g_assert_cmpuint(hdr->flags, ==, VHOST_USER_VERSION | VHOST_USER_REPLY_MASK);
    g_assert_cmpuint(hdr->size, <=, max);
    memcpy(payload, m->payload.bytes, hdr->size);
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
    uint8_t m[8 + FG_MAX_REGIONS * FG_MEM_REGION_SIZE];
    int fds[FG_MAX_REGIONS];
    uint32_t len = (uint32_t)fg_mem_table(tf->g.fm, m, fds);
    VuMsgHdr hdr;
    uint64_t ack = 9;

    g_assert_true(tf_msg(tf, VHOST_USER_SET_MEM_TABLE,
                         VHOST_USER_VERSION | VHOST_USER_NEED_REPLY_MASK, m, len, fds, TG_NREG));
    g_assert_cmpuint(tf_recv(tf, &hdr, &ack, sizeof(ack), NULL), ==, 8);
    g_assert_cmpuint(ack, ==, 0);
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
    uint8_t a[VUD_VRING_ADDR_SIZE];
    VuMsgHdr hdr;
    uint64_t ack = 9;

    tr_close_fds(r);
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
    vud_vring_addr(a, q, 0, fg_gpa_to_uva(tf->g.fm, TG_DESC(q)),
                   fg_gpa_to_uva(tf->g.fm, TG_USED(q)), fg_gpa_to_uva(tf->g.fm, TG_AVAIL(q)),
                   TG_USED(q));
    g_assert_true(tf_msg(tf, VHOST_USER_SET_VRING_ADDR,
                         VHOST_USER_VERSION | VHOST_USER_NEED_REPLY_MASK, a, sizeof(a), NULL, 0));
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
    vre_split_desc(tg_ptr(&tf->g, TG_DESC(q)), i, addr, len, flags, next);
}

void tr_split_publish(TFront *tf, unsigned int q, uint16_t head)
{
    TRing *r = &tf->ring[q];
    uint8_t *avail = tg_ptr(&tf->g, TG_AVAIL(q));

    vre_split_avail_put(avail, (uint16_t)r->num, r->avail_idx, head);
    r->avail_idx++;
    vre_split_avail_publish(avail, r->avail_idx);
}

uint16_t tr_split_add(TFront *tf, unsigned int q, const TBuf *bufs, unsigned int n,
                      uint64_t itbl_gpa)
{
    TRing *r = &tf->ring[q];
    uint16_t head = r->next_free % r->num;

    if (itbl_gpa) {
        uint8_t *tbl = tg_ptr(&tf->g, itbl_gpa);

        for (unsigned int i = 0; i < n; i++) {
            vre_split_desc(tbl, (uint16_t)i, bufs[i].gpa, bufs[i].len,
                           (bufs[i].write ? VRING_DESC_F_WRITE : 0) |
                               (i + 1 < n ? VRING_DESC_F_NEXT : 0),
                           (uint16_t)(i + 1));
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
    return vre_split_used_idx(tg_ptr(&tf->g, TG_USED(q)));
}

void tr_split_used_elem(TFront *tf, unsigned int q, uint16_t slot, uint32_t *id, uint32_t *len)
{
    vre_split_used_elem(tg_ptr(&tf->g, TG_USED(q)), (uint16_t)tf->ring[q].num, slot, id, len);
}

/* ---- packed ring driver --------------------------------------------------- */

uint16_t tr_packed_add(TFront *tf, unsigned int q, const TBuf *bufs, unsigned int n,
                       uint64_t itbl_gpa)
{
    TRing *r = &tf->ring[q];
    uint16_t id = r->next_id++ % r->num;
    uint16_t first_pos = r->avail_pos, first_flags = 0;
    unsigned int ring_n = itbl_gpa ? 1 : n;

    uint8_t *ring = tg_ptr(&tf->g, TG_DESC(q));

    if (itbl_gpa) {
        uint8_t *tbl = tg_ptr(&tf->g, itbl_gpa);

        for (unsigned int i = 0; i < n; i++) {
            vre_packed_desc(tbl, (uint16_t)i, bufs[i].gpa, bufs[i].len, 0);
            vre_packed_flags(tbl, (uint16_t)i, bufs[i].write ? VRING_DESC_F_WRITE : 0);
        }
    }
    for (unsigned int i = 0; i < ring_n; i++) {
        uint16_t flags = vre_packed_avail_bits(r->avail_wrap);
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
        vre_packed_desc(ring, r->avail_pos, addr, len, id);
        if (i != 0) {
            vre_packed_flags(ring, r->avail_pos, flags);
        }
        if (++r->avail_pos == r->num) {
            r->avail_pos = 0;
            r->avail_wrap = !r->avail_wrap;
        }
    }
    /* Make the head available last. */
    vre_packed_flags(ring, first_pos, first_flags);
    g_assert_cmpuint(id, <, G_N_ELEMENTS(((TRing *)0)->id_len));
    r->id_len[id] = (uint16_t)ring_n;
    return id;
}

bool tr_packed_get_used(TFront *tf, unsigned int q, uint16_t *id, uint32_t *len)
{
    TRing *r = &tf->ring[q];

    if (!vre_packed_used(tg_ptr(&tf->g, TG_DESC(q)), r->used_pos, r->used_wrap, id, len)) {
        return false;
    }
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
