/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vu-glib.c - GSource glue for the vhost-user core, nothing else.
 *
 * Theory of operation: the core asks for fd watches through VuLoopOps
 * (kick eventfds, the poll timer); each becomes a g_unix_fd_add() source on
 * the default main context, found again by fd (fds are unique in the
 * process while open).  A watch callback may remove its own watch: the
 * bookkeeping is freed by the source's destroy notify, never touched after
 * the callback returns.
 */
#include "config.h"

#define G_LOG_DOMAIN "vsnd-vu"

#include <glib-unix.h>

#include "vu-glib.h"

typedef struct VuGlibWatch {
    VuDev *dev;
    int fd;
    VuWatchCb cb;
    void *data;
    guint id;
} VuGlibWatch;

static GHashTable *vu_glib_watches; /* fd -> VuGlibWatch (owned by its source) */

static gboolean vu_glib_watch_cb(gint fd, GIOCondition cond, gpointer user_data)
{
    VuGlibWatch *w = user_data;

    w->cb(w->dev, w->fd, w->data);
    return G_SOURCE_CONTINUE;
}

static void vu_glib_watch_destroy(gpointer user_data)
{
    VuGlibWatch *w = user_data;

    if (vu_glib_watches && g_hash_table_lookup(vu_glib_watches, GINT_TO_POINTER(w->fd)) == w) {
        g_hash_table_remove(vu_glib_watches, GINT_TO_POINTER(w->fd));
    }
    g_free(w);
}

static void vu_glib_remove_watch(VuDev *dev, int fd, void *loop)
{
    VuGlibWatch *w;

    if (!vu_glib_watches) {
        return;
    }
    w = g_hash_table_lookup(vu_glib_watches, GINT_TO_POINTER(fd));
    if (w) {
        g_hash_table_remove(vu_glib_watches, GINT_TO_POINTER(fd));
        g_source_remove(w->id);
    }
}

static void vu_glib_set_watch(VuDev *dev, int fd, VuWatchCb cb, void *data, void *loop)
{
    VuGlibWatch *w;

    if (!vu_glib_watches) {
        vu_glib_watches = g_hash_table_new(g_direct_hash, g_direct_equal);
    }
    vu_glib_remove_watch(dev, fd, loop);
    w = g_new0(VuGlibWatch, 1);
    w->dev = dev;
    w->fd = fd;
    w->cb = cb;
    w->data = data;
    w->id = g_unix_fd_add_full(G_PRIORITY_DEFAULT, fd, G_IO_IN | G_IO_HUP | G_IO_ERR,
                               vu_glib_watch_cb, w, vu_glib_watch_destroy);
    g_hash_table_insert(vu_glib_watches, GINT_TO_POINTER(fd), w);
}

static const VuLoopOps vu_glib_ops = {
    .set_watch = vu_glib_set_watch,
    .remove_watch = vu_glib_remove_watch,
};

const VuLoopOps *vu_glib_loop_ops(void)
{
    return &vu_glib_ops;
}

typedef struct VuGlibSock {
    VuDev *dev;
    VuGlibClosedCb closed;
    void *data;
} VuGlibSock;

static gboolean vu_glib_sock_cb(gint fd, GIOCondition cond, gpointer user_data)
{
    VuGlibSock *s = user_data;

    if (vu_dev_dispatch(s->dev)) {
        return G_SOURCE_CONTINUE;
    }
    if (s->closed) {
        s->closed(s->dev, s->data);
    }
    return G_SOURCE_REMOVE;
}

guint vu_glib_watch_socket(VuDev *dev, VuGlibClosedCb closed, void *data)
{
    VuGlibSock *s = g_new0(VuGlibSock, 1);

    s->dev = dev;
    s->closed = closed;
    s->data = data;
    return g_unix_fd_add_full(G_PRIORITY_DEFAULT, vu_dev_socket_fd(dev),
                              G_IO_IN | G_IO_HUP | G_IO_ERR, vu_glib_sock_cb, s, g_free);
}
