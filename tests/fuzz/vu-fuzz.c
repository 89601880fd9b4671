/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vu-fuzz.c - helpers shared by the vhost-user core fuzz targets.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <poll.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <glib.h>

#include "vu-fuzz.h"

static uint64_t f_get_features(VuDev *dev)
{
    return 1ull << 0;
}

static int f_get_config(VuDev *dev, uint8_t *config, uint32_t offset, uint32_t len)
{
    if (offset > 16 || len > 16 - offset) {
        return -EINVAL;
    }
    memset(config, 0x11, len);
    return 0;
}

static int f_set_config(VuDev *dev, const uint8_t *data, uint32_t offset, uint32_t len,
                        uint32_t flags)
{
    return offset < 16 ? 0 : -EINVAL;
}

static int f_set_device_state_fd(VuDev *dev, int dir, int phase, int fd, int *reply_fd)
{
    close(fd);
    return dir ? 0 : -EIO;
}

static int f_check_device_state(VuDev *dev)
{
    return 0;
}

static const VuDevIface f_iface = {
    .get_features = f_get_features,
    .get_config = f_get_config,
    .set_config = f_set_config,
    .set_device_state_fd = f_set_device_state_fd,
    .check_device_state = f_check_device_state,
};

const VuDevIface *fuzz_iface(void)
{
    return &f_iface;
}

static void f_remove_watch(VuDev *dev, int fd, void *loop)
{
    FuzzCtx *ctx = loop;

    for (unsigned int i = 0; i < ctx->nwatches; i++) {
        if (ctx->watches[i].fd == fd) {
            ctx->watches[i] = ctx->watches[--ctx->nwatches];
            return;
        }
    }
}

static void f_set_watch(VuDev *dev, int fd, VuWatchCb cb, void *data, void *loop)
{
    FuzzCtx *ctx = loop;

    f_remove_watch(dev, fd, loop);
    if (ctx->nwatches < G_N_ELEMENTS(ctx->watches)) {
        ctx->watches[ctx->nwatches++] = (FuzzWatch){ fd, cb, data };
    }
}

static const VuLoopOps f_loop_ops = {
    .set_watch = f_set_watch,
    .remove_watch = f_remove_watch,
};

const VuLoopOps *fuzz_loop_ops(void)
{
    return &f_loop_ops;
}

static void fuzz_quiet_log(const gchar *domain, GLogLevelFlags level, const gchar *msg,
                           gpointer data)
{
}

void fuzz_ctx_init(FuzzCtx *ctx, unsigned int num_queues)
{
    static bool once;
    int sv[2];

    if (!once) {
        once = true;
        if (!g_getenv("FUZZ_VERBOSE")) {
            g_log_set_default_handler(fuzz_quiet_log, NULL);
        }
    }
    vu_msg_io_timeout_ms = 0;
    memset(ctx, 0, sizeof(*ctx));
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
        abort();
    }
    ctx->sock = sv[0];
    ctx->dev = vu_dev_new(sv[1], num_queues, 256, &f_iface, ctx, &f_loop_ops, ctx);
}

void fuzz_ctx_fini(FuzzCtx *ctx)
{
    vu_dev_free(ctx->dev);
    close(ctx->sock);
    if (ctx->nwatches != 0) {
        abort(); /* every watch must be removed by vu_dev_free() */
    }
}

bool fuzz_send(FuzzCtx *ctx, const void *buf, size_t len, const int *fds, unsigned int nfds)
{
    union {
        char b[CMSG_SPACE(8 * sizeof(int))];
        struct cmsghdr align;
    } ctl;
    struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
    struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

    if (len == 0) {
        return true;
    }
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
    return sendmsg(ctx->sock, &mh, MSG_NOSIGNAL | MSG_DONTWAIT) == (ssize_t)len;
}

void fuzz_drain_replies(FuzzCtx *ctx)
{
    union {
        char b[CMSG_SPACE(8 * sizeof(int))];
        struct cmsghdr align;
    } ctl;
    uint8_t buf[4096];

    for (;;) {
        struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
        struct msghdr mh = {
            .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.b, .msg_controllen = sizeof(ctl.b)
        };
        ssize_t r = recvmsg(ctx->sock, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);

        if (r <= 0) {
            return;
        }
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
            if (c->cmsg_type == SCM_RIGHTS) {
                size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);

                for (size_t i = 0; i < n; i++) {
                    int fd;

                    memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
                    close(fd);
                }
            }
        }
    }
}

bool fuzz_dispatch_pending(FuzzCtx *ctx)
{
    for (int i = 0; i < 64; i++) {
        int avail = 0;

        if (ioctl(vu_dev_socket_fd(ctx->dev), FIONREAD, &avail) < 0 || avail <= 0) {
            return true;
        }
        if (!vu_dev_dispatch(ctx->dev)) {
            return false;
        }
        fuzz_drain_replies(ctx);
    }
    return true;
}

bool fuzz_msg(FuzzCtx *ctx, uint32_t req, const void *payload, uint32_t size, const int *fds,
              unsigned int nfds, void *reply, size_t reply_max, int *reply_fd)
{
    uint8_t buf[12 + 512];
    VuMsgHdr hdr = { req, VHOST_USER_VERSION, size };
    bool ok;

    if (reply_fd) {
        *reply_fd = -1;
    }
    if (size > 512) {
        return false;
    }
    memcpy(buf, &hdr, sizeof(hdr));
    if (size) {
        memcpy(buf + sizeof(hdr), payload, size);
    }
    if (!fuzz_send(ctx, buf, sizeof(hdr) + size, fds, nfds)) {
        return false;
    }
    ok = vu_dev_dispatch(ctx->dev);
    if (reply) {
        union {
            char b[CMSG_SPACE(sizeof(int))];
            struct cmsghdr align;
        } ctl;
        struct iovec iov[2] = { { &hdr, sizeof(hdr) }, { reply, reply_max } };
        struct msghdr mh = {
            .msg_iov = iov, .msg_iovlen = 2, .msg_control = ctl.b, .msg_controllen = sizeof(ctl.b)
        };

        if (recvmsg(ctx->sock, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC) > 0) {
            for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
                if (c->cmsg_type == SCM_RIGHTS) {
                    int fd;

                    memcpy(&fd, CMSG_DATA(c), sizeof(int));
                    if (reply_fd) {
                        *reply_fd = fd;
                    } else {
                        close(fd);
                    }
                }
            }
        }
    }
    fuzz_drain_replies(ctx);
    return ok;
}

void fuzz_run_watches(FuzzCtx *ctx)
{
    FuzzWatch copy[G_N_ELEMENTS(ctx->watches)];
    unsigned int n = ctx->nwatches;

    memcpy(copy, ctx->watches, sizeof(copy[0]) * n);
    for (unsigned int i = 0; i < n; i++) {
        bool still = false;

        for (unsigned int j = 0; j < ctx->nwatches; j++) {
            still |= ctx->watches[j].fd == copy[i].fd;
        }
        if (still) {
            copy[i].cb(ctx->dev, copy[i].fd, copy[i].data);
        }
    }
}

unsigned int fuzz_exercise_queue(FuzzCtx *ctx, unsigned int q, unsigned int max,
                                 const uint8_t *sel, size_t nsel)
{
    VuVirtq *vq = vu_dev_queue(ctx->dev, q);
    VuVirtqElement *held[8];
    unsigned int nheld = 0, popped = 0;

    if (!vq) {
        return 0;
    }
    for (unsigned int i = 0; i < max; i++) {
        uint8_t s = nsel ? sel[i % nsel] : 0;
        VuVirtqElement *e = vu_queue_pop(ctx->dev, vq);
        uint8_t sink[256];
        size_t in;

        if (!e) {
            break;
        }
        popped++;
        /* Touch every byte the element claims: guard pages catch lies. */
        for (unsigned int k = 0; k < e->out_num; k++) {
            volatile const uint8_t *p = e->out_sg[k].iov_base;

            if (e->out_sg[k].iov_len) {
                (void)p[0];
                (void)p[e->out_sg[k].iov_len - 1];
            }
        }
        vu_iov_to_buf(e->out_sg, e->out_num, 0, sink, sizeof(sink));
        in = vu_iov_size(e->in_sg, e->in_num);
        for (unsigned int k = 0; k < e->in_num; k++) {
            uint8_t *p = e->in_sg[k].iov_base;

            if (e->in_sg[k].iov_len) {
                p[0] = 0xab;
                p[e->in_sg[k].iov_len - 1] = 0xcd;
            }
        }
        switch (s % 5) {
        case 0:
        case 1:
            vu_queue_push(ctx->dev, vq, e, (uint32_t)(in * s / 255));
            vu_elem_free(e);
            break;
        case 2:
            vu_queue_unpop(ctx->dev, vq, e);
            vu_elem_free(e);
            break;
        case 3:
            if (nheld < G_N_ELEMENTS(held)) {
                held[nheld++] = e;
            } else {
                vu_queue_push(ctx->dev, vq, e, 0);
                vu_elem_free(e);
            }
            break;
        default:
            vu_queue_detach(ctx->dev, vq, e);
            vu_elem_free(e);
            break;
        }
        if (s & 0x40) {
            vu_queue_notify(ctx->dev, vq);
        }
        if (s & 0x80) {
            vu_queue_set_notification(ctx->dev, vq, s & 0x20);
        }
    }
    /* Complete held ones in reverse order (out of order completion). */
    while (nheld > 0) {
        VuVirtqElement *e = held[--nheld];

        vu_queue_push(ctx->dev, vq, e, 1);
        vu_elem_free(e);
    }
    vu_queue_notify(ctx->dev, vq);
    (void)vu_queue_empty(ctx->dev, vq);
    return popped;
}
