/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vu-fuzz.c - helpers shared by the vhost-user core fuzz targets.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <glib.h>

#include "vu-fuzz.h"
#include "tests/vu-driver/vud-wire.h"

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

static void fuzz_quiet_log(const gchar *domain, GLogLevelFlags level, const gchar *msg,
                           gpointer data)
{
}

void fuzz_ctx_init(FuzzCtx *ctx, unsigned int num_queues)
{
    static bool once;
    if (!once) {
        once = true;
        if (!g_getenv("FUZZ_VERBOSE")) {
            g_log_set_default_handler(fuzz_quiet_log, NULL);
        }
    }
    vu_msg_io_timeout_ms = 0;
    memset(ctx, 0, sizeof(*ctx));
    ctx->dev = vud_dev_new(&ctx->sock, num_queues, 256, &f_iface, ctx, &ctx->watches);
}

void fuzz_ctx_fini(FuzzCtx *ctx)
{
    vu_dev_free(ctx->dev);
    close(ctx->sock);
    if (ctx->watches.n != 0) {
        abort(); /* every watch must be removed by vu_dev_free() */
    }
}

bool fuzz_send(FuzzCtx *ctx, const void *buf, size_t len, const int *fds, unsigned int nfds)
{
    return len == 0 || vud_send_bytes(ctx->sock, buf, len, fds, nfds, true) == 0;
}

void fuzz_drain_replies(FuzzCtx *ctx)
{
    (void)vud_discard_pending(ctx->sock);
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
    static VudMsg m;
    bool ok;

    if (reply_fd) {
        *reply_fd = -1;
    }
    if (size > 512 ||
        vud_send_msg(ctx->sock, req, VHOST_USER_VERSION, size, payload, size, fds, nfds, true)) {
        return false;
    }
    ok = vu_dev_dispatch(ctx->dev);
    if (reply && vud_recv_msg(ctx->sock, &m, 0) == 0) {
        memcpy(reply, m.payload.bytes, MIN(m.size, reply_max));
        for (unsigned int i = 0; i < m.nfds; i++) {
            if (i == 0 && reply_fd) {
                *reply_fd = m.fds[0];
            } else {
                close(m.fds[i]);
            }
        }
    }
    fuzz_drain_replies(ctx);
    return ok;
}

void fuzz_run_watches(FuzzCtx *ctx)
{
    vud_watches_run_all(&ctx->watches, ctx->dev);
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
