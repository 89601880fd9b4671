/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * session.c - one front-end connection, from accept to close.
 *
 * Joins the vhost-user core (src/vu) and the sound device (src/snd) and
 * hooks the socket into the GLib main loop; the kick fds are watched by the
 * core through vu-glib.  A session ends when the front-end closes the socket
 * or sends something the core refuses; the owner is told from an idle
 * callback, so the session is never freed from inside its own dispatch.
 */
#define G_LOG_DOMAIN "vsnd-session"
#include "config.h"

#include <glib-unix.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "session.h"
#include "snd/snd-dev.h"
#include "vu/vu-dev.h"
#include "vu/vu-glib.h"


/* A front-end that stops in the middle of a message must not hang the
 * daemon (and with it SIGTERM handling): such a read times out and the
 * connection is dropped. */
#define VSND_SESSION_RECV_TIMEOUT_S 2

struct VsndSession {
    VuDev *dev;
    SndDev *snd;
    guint socket_watch;
    guint close_idle;
    VsndSessionClosed closed;
    void *closed_data;
};

static gboolean on_close_idle(gpointer data)
{
    VsndSession *s = data;

    s->close_idle = 0;
    s->closed(s, s->closed_data);
    return G_SOURCE_REMOVE;
}

static gboolean on_socket_ready(int fd, GIOCondition cond, gpointer data)
{
    VsndSession *s = data;

    if (vu_dev_dispatch(s->dev))
        return G_SOURCE_CONTINUE;
    s->socket_watch = 0;
    s->close_idle = g_idle_add(on_close_idle, s);
    return G_SOURCE_REMOVE;
}

VsndSession *vsnd_session_new(int fd, const VsndConfig *cfg, VsndAudio *audio,
                              VsndSessionClosed closed, void *data)
{
    VsndSession *s = g_new0(VsndSession, 1);
    struct timeval tv = {.tv_sec = VSND_SESSION_RECV_TIMEOUT_S};

    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    s->closed = closed;
    s->closed_data = data;
    s->snd = vsnd_dev_new(&cfg->device, audio);
    s->dev = vu_dev_new(fd, 4, 32768, vsnd_dev_vu_iface(), s->snd, vu_glib_loop_ops(), NULL);
    vsnd_dev_attach(s->snd, s->dev);
    s->socket_watch = g_unix_fd_add(fd, G_IO_IN | G_IO_HUP | G_IO_ERR, on_socket_ready, s);
    return s;
}

void vsnd_session_free(VsndSession *s)
{
    if (!s)
        return;
    if (s->socket_watch)
        g_source_remove(s->socket_watch);
    if (s->close_idle)
        g_source_remove(s->close_idle);
    /* The core resets the device (iface->reset) before releasing the
     * connection's resources; only then may the device go. */
    vu_dev_free(s->dev);
    vsnd_dev_free(s->snd);
    g_free(s);
}
