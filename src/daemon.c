/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * daemon.c - the listening side: one front-end at a time.
 *
 * With --socket-path we create the socket (owner-only, a stale socket left
 * by a killed daemon is replaced, a live one is refused) and remove it on
 * exit.  With --fd we adopt an inherited socket: a listening one (systemd
 * socket activation) behaves like --socket-path without owning the path; a
 * connected one (one end of a socketpair) is served once, and the daemon
 * ends when that front-end leaves.  While a front-end is connected the
 * listening socket is not watched, so further front-ends wait in the
 * backlog.  When a front-end leaves, its session is freed, which resets
 * the device completely, and the next one is accepted.
 */
#define G_LOG_DOMAIN "vsnd-daemon"
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib-unix.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "daemon.h"
#include "i18n.h"
#include "session.h"


struct VsndDaemon {
    const VsndConfig *cfg;
    VsndAudio *audio;
    GMainLoop *loop;
    int listen_fd;        /* -1 when serving an inherited connected socket */
    guint listen_watch;
    char *created_path;   /* socket file to remove on exit */
    VsndSession *session;
    guint session_count;
};

static gboolean on_listen_ready(int fd, GIOCondition cond, gpointer data);

static void watch_listen_socket(VsndDaemon *d)
{
    if (d->listen_fd >= 0 && !d->listen_watch)
        d->listen_watch = g_unix_fd_add(d->listen_fd, G_IO_IN, on_listen_ready, d);
}

static void on_session_closed(VsndSession *s, void *data)
{
    VsndDaemon *d = data;

    g_info("front-end disconnected");
    vsnd_session_free(d->session);
    d->session = NULL;
    if (d->listen_fd >= 0)
        watch_listen_socket(d);
    else
        g_main_loop_quit(d->loop);
}

static void start_session(VsndDaemon *d, int fd)
{
    d->session_count++;
    g_info("front-end connected (connection %u)", d->session_count);
    d->session = vsnd_session_new(fd, d->cfg, d->audio, on_session_closed, d);
}

static gboolean on_listen_ready(int fd, GIOCondition cond, gpointer data)
{
    VsndDaemon *d = data;
    int conn = accept4(fd, NULL, NULL, SOCK_CLOEXEC);

    if (conn < 0) {
        if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
            g_warning("accept: %s", g_strerror(errno));
        return G_SOURCE_CONTINUE;
    }
    d->listen_watch = 0;
    start_session(d, conn);
    return G_SOURCE_REMOVE;
}

/* An existing path is replaced only if it is a socket nobody listens on. */
static gboolean clear_stale_socket(const char *path, GError **error)
{
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    struct stat st;
    int fd, r;

    if (lstat(path, &st) < 0)
        return TRUE;
    if (!S_ISSOCK(st.st_mode)) {
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_EXIST,
                    _("Cannot create socket “%s”: the path exists and is not a socket"), path);
        return FALSE;
    }
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return TRUE;
    memcpy(sun.sun_path, path, strlen(path));
    r = connect(fd, (struct sockaddr *)&sun, sizeof(sun));
    close(fd);
    if (r == 0) {
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_FAILED,
                    _("Cannot create socket “%s”: another back-end is listening on it"), path);
        return FALSE;
    }
    unlink(path);
    return TRUE;
}

/*
 * The socket appears at @path only once it listens: bound under a
 * temporary name beside it (@path.<pid>~) and linked to @path after
 * listen().  Bound at @path itself, the file existed a moment before
 * listen(), and a front-end that saw it and connected then was refused
 * (ECONNREFUSED; a test's client under make distcheck's load).  link()
 * fails if @path was taken meanwhile; where a file system has no links
 * for sockets, rename() publishes it.  A @path too long for the suffix is
 * bound directly.
 */
static gboolean publish_socket(const char *tmp, const char *path, GError **error)
{
    int err;

    if (link(tmp, path) == 0) {
        unlink(tmp);
        return TRUE;
    }
    err = errno;
    if (err != EEXIST && rename(tmp, path) == 0)
        return TRUE;
    if (err == EEXIST)
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_EXIST,
                    _("Cannot create socket “%s”: another back-end created it meanwhile"), path);
    else
        g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errno),
                    _("Cannot create socket “%s”: %s"), path, g_strerror(errno));
    unlink(tmp);
    return FALSE;
}

static int create_listen_socket(const char *path, GError **error)
{
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    g_autofree char *tmp = g_strdup_printf("%s.%d~", path, (int)getpid());
    const char *bound;
    mode_t old_umask;
    int fd, r;

    if (strlen(path) >= sizeof(sun.sun_path)) {
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_NAMETOOLONG,
                    _("Cannot create socket “%s”: path longer than %zu bytes"), path,
                    sizeof(sun.sun_path) - 1);
        return -1;
    }
    if (!clear_stale_socket(path, error))
        return -1;
    bound = strlen(tmp) < sizeof(sun.sun_path) ? tmp : path;
    if (bound == tmp)
        unlink(tmp); /* left by a daemon of the same pid that died here */
    memcpy(sun.sun_path, bound, strlen(bound));

    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errno), _("Cannot create socket: %s"),
                    g_strerror(errno));
        return -1;
    }
    /* Owner-only (0600) from the start: no window where others may connect. */
    old_umask = umask(0177);
    r = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
    umask(old_umask);
    if (r < 0 || listen(fd, 1) < 0) {
        int err = errno;

        g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(err), _("Cannot create socket “%s”: %s"),
                    path, g_strerror(err));
        if (r == 0)
            unlink(bound);
        close(fd);
        return -1;
    }
    if (bound == tmp && !publish_socket(tmp, path, error)) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Checks that @fd is a Unix stream socket; *listening tells which kind. */
static gboolean check_inherited_fd(int fd, gboolean *listening, GError **error)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    int type = 0, acceptconn = 0;
    socklen_t optlen = sizeof(type);

    if (fcntl(fd, F_GETFD) < 0) {
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                    _("Invalid value for --fd: %d is not an open file descriptor"), fd);
        return FALSE;
    }
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &optlen) < 0 || type != SOCK_STREAM ||
        getsockname(fd, (struct sockaddr *)&ss, &len) < 0 || ss.ss_family != AF_UNIX) {
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                    _("Invalid value for --fd: %d is not a Unix stream socket"), fd);
        return FALSE;
    }
    optlen = sizeof(acceptconn);
    if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acceptconn, &optlen) < 0)
        acceptconn = 0;
    *listening = acceptconn != 0;
    return TRUE;
}

VsndDaemon *vsnd_daemon_new(const VsndConfig *cfg, VsndAudio *audio, GMainLoop *loop,
                            GError **error)
{
    g_autoptr(VsndDaemon) d = g_new0(VsndDaemon, 1);

    d->cfg = cfg;
    d->audio = audio;
    d->loop = loop;
    d->listen_fd = -1;

    if (cfg->socket_path) {
        d->listen_fd = create_listen_socket(cfg->socket_path, error);
        if (d->listen_fd < 0)
            return NULL;
        d->created_path = g_strdup(cfg->socket_path);
        g_info("listening on %s", cfg->socket_path);
    } else {
        gboolean listening;

        if (!check_inherited_fd(cfg->fd, &listening, error))
            return NULL;
        fcntl(cfg->fd, F_SETFD, FD_CLOEXEC);
        if (listening) {
            if (!g_unix_set_fd_nonblocking(cfg->fd, TRUE, error))
                return NULL;
            d->listen_fd = cfg->fd;
            g_info("listening on inherited fd %d", cfg->fd);
        } else {
            start_session(d, cfg->fd);
            return g_steal_pointer(&d);
        }
    }
    watch_listen_socket(d);
    return g_steal_pointer(&d);
}

void vsnd_daemon_free(VsndDaemon *d)
{
    if (!d)
        return;
    if (d->session)
        vsnd_session_free(d->session);
    if (d->listen_watch)
        g_source_remove(d->listen_watch);
    if (d->listen_fd >= 0)
        close(d->listen_fd);
    if (d->created_path) {
        unlink(d->created_path);
        g_free(d->created_path);
    }
    g_free(d);
}
