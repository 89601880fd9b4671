/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vud-dev.c - an in-process VuDev behind a socketpair (see vud-dev.h).
 */
#include "config.h"

#include "vud-dev.h"

#include <poll.h>
#include <string.h>
#include <sys/socket.h>

#include <glib.h>

static void vud_remove_watch(VuDev *dev, int fd, void *loop)
{
    VudWatches *ws = loop;

    for (unsigned int i = 0; i < ws->n; i++) {
        if (ws->w[i].fd == fd) {
            memmove(&ws->w[i], &ws->w[i + 1], sizeof(ws->w[0]) * (ws->n - i - 1));
            ws->n--;
            return;
        }
    }
}

static void vud_set_watch(VuDev *dev, int fd, VuWatchCb cb, void *data, void *loop)
{
    VudWatches *ws = loop;

    vud_remove_watch(dev, fd, loop);
    g_assert_cmpuint(ws->n, <, VUD_MAX_WATCHES);
    ws->w[ws->n++] = (VudWatch){ .fd = fd, .cb = cb, .data = data };
}

static const VuLoopOps vud_ops = {
    .set_watch = vud_set_watch,
    .remove_watch = vud_remove_watch,
};

const VuLoopOps *vud_loop_ops(void)
{
    return &vud_ops;
}

VuDev *vud_dev_new(int *front, unsigned int num_queues, unsigned int max_queue_size,
                   const VuDevIface *iface, void *opaque, VudWatches *watches)
{
    int sv[2];

    g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), ==, 0);
    *front = sv[0];
    watches->n = 0;
    return vu_dev_new(sv[1], num_queues, max_queue_size, iface, opaque, &vud_ops, watches);
}

/* Is @fd still watched (a callback run before may have removed it)? */
static bool vud_watched(const VudWatches *ws, int fd)
{
    for (unsigned int j = 0; j < ws->n; j++) {
        if (ws->w[j].fd == fd) {
            return true;
        }
    }
    return false;
}

unsigned int vud_watches_run_ready(VudWatches *ws, VuDev *dev, int timeout_ms)
{
    VudWatches copy = *ws;
    struct pollfd pfd[VUD_MAX_WATCHES];
    unsigned int ran = 0;

    for (unsigned int i = 0; i < copy.n; i++) {
        pfd[i] = (struct pollfd){ .fd = copy.w[i].fd, .events = POLLIN };
    }
    if (poll(pfd, copy.n, timeout_ms) <= 0) {
        return 0;
    }
    for (unsigned int i = 0; i < copy.n; i++) {
        if ((pfd[i].revents & POLLIN) && vud_watched(ws, copy.w[i].fd)) {
            copy.w[i].cb(dev, copy.w[i].fd, copy.w[i].data);
            ran++;
        }
    }
    return ran;
}

void vud_watches_run_all(VudWatches *ws, VuDev *dev)
{
    VudWatches copy = *ws;

    for (unsigned int i = 0; i < copy.n; i++) {
        if (vud_watched(ws, copy.w[i].fd)) {
            copy.w[i].cb(dev, copy.w[i].fd, copy.w[i].data);
        }
    }
}
