/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-daemon.c - the back-end program conventions, on the real binary:
 * --print-capabilities, exit statuses, the socket's mode and removal,
 * signals, --fd with listening and connected sockets, one front-end at a
 * time, translations.
 */
#include "config.h"

#include <errno.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define VHOST_USER_GET_FEATURES 1u
#define VHOST_USER_VERSION 0x1u
#define VHOST_USER_REPLY_MASK (1u << 2)

static const char *daemon_path(void)
{
    const char *p = g_getenv("VSND_DAEMON");

    g_assert_nonnull(p);
    return p;
}

/* A daemon must never outlive a failed test: it would hold the TAP pipe. */
static void die_with_test(gpointer data)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
}

typedef struct {
    char *dir;
    char *sock;
} Fixture;

static void fixture_setup(Fixture *f, gconstpointer data)
{
    f->dir = g_dir_make_tmp("vsnd-test-XXXXXX", NULL);
    g_assert_nonnull(f->dir);
    f->sock = g_build_filename(f->dir, "snd.sock", NULL);
}

static void fixture_teardown(Fixture *f, gconstpointer data)
{
    g_unlink(f->sock);
    g_rmdir(f->dir);
    g_free(f->sock);
    g_free(f->dir);
}

/* Runs the daemon to completion; returns its exit status. */
static int run_sync(const char *const *extra, char **out, char **err, const char *const *env)
{
    g_autoptr(GPtrArray) argv = g_ptr_array_new();
    g_autoptr(GSubprocessLauncher) l =
        g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE);
    g_autoptr(GSubprocess) p = NULL;
    g_autoptr(GError) error = NULL;

    for (const char *const *e = env; e && *e; e += 2)
        g_subprocess_launcher_setenv(l, e[0], e[1], TRUE);
    g_subprocess_launcher_set_child_setup(l, die_with_test, NULL, NULL);
    g_ptr_array_add(argv, (char *)daemon_path());
    for (const char *const *a = extra; *a; a++)
        g_ptr_array_add(argv, (char *)*a);
    g_ptr_array_add(argv, NULL);
    p = g_subprocess_launcher_spawnv(l, (const char *const *)argv->pdata, &error);
    g_assert_no_error(error);
    g_subprocess_communicate_utf8(p, NULL, NULL, out, err, &error);
    g_assert_no_error(error);
    g_assert_true(g_subprocess_get_if_exited(p));
    return g_subprocess_get_exit_status(p);
}

static GSubprocess *spawn_daemon(GSubprocessLauncher *l, const char *const *extra)
{
    g_autoptr(GPtrArray) argv = g_ptr_array_new();
    g_autoptr(GError) error = NULL;
    GSubprocess *p;

    g_ptr_array_add(argv, (char *)daemon_path());
    for (const char *const *a = extra; *a; a++)
        g_ptr_array_add(argv, (char *)*a);
    g_ptr_array_add(argv, NULL);
    g_subprocess_launcher_set_child_setup(l, die_with_test, NULL, NULL);
    p = g_subprocess_launcher_spawnv(l, (const char *const *)argv->pdata, &error);
    g_assert_no_error(error);
    return p;
}

static gboolean wait_for_socket(const char *path, GSubprocess *p)
{
    for (int i = 0; i < 1000; i++) {
        struct stat st;

        if (stat(path, &st) == 0 && S_ISSOCK(st.st_mode))
            return TRUE;
        if (g_subprocess_get_identifier(p) == NULL)
            return FALSE;
        g_usleep(5000);
    }
    return FALSE;
}

/* Waits for the daemon to exit; returns its status, or -1 on timeout. */
static int wait_exit(GSubprocess *p, int timeout_ms)
{
    g_autoptr(GError) error = NULL;
    gint64 end = g_get_monotonic_time() + (gint64)timeout_ms * 1000;

    while (g_subprocess_get_identifier(p) != NULL) {
        if (g_get_monotonic_time() > end)
            return -1;
        g_main_context_iteration(NULL, FALSE);
        g_usleep(2000);
    }
    g_subprocess_wait(p, NULL, &error);
    g_assert_no_error(error);
    if (!g_subprocess_get_if_exited(p))
        return -2;
    return g_subprocess_get_exit_status(p);
}

/* Once: the daemon's socket listens from the moment its file appears
 * (test_socket_listens_when_it_appears()).  Return: the fd, or -errno. */
static int try_connect_unix(const char *path)
{
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

    g_assert_cmpint(fd, >=, 0);
    g_strlcpy(sun.sun_path, path, sizeof(sun.sun_path));
    if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0)
        return fd;
    int err = errno;
    close(fd);
    return -err;
}

static int connect_unix(const char *path)
{
    int fd = try_connect_unix(path);

    if (fd < 0)
        g_error("connect %s: %s", path, g_strerror(-fd));
    return fd;
}

/* Sends GET_FEATURES and waits up to @timeout_ms for the reply.
 * Return: TRUE and the features, FALSE on timeout. */
static gboolean get_features(int fd, int timeout_ms, guint64 *features)
{
    guint32 hdr[3] = {VHOST_USER_GET_FEATURES, VHOST_USER_VERSION, 0};
    guint8 reply[12 + 8];
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    size_t got = 0;
    guint32 rhdr[3];

    g_assert_cmpint(send(fd, hdr, sizeof(hdr), MSG_NOSIGNAL), ==, sizeof(hdr));
    while (got < sizeof(reply)) {
        ssize_t n;

        if (poll(&pfd, 1, timeout_ms) <= 0)
            return FALSE;
        n = recv(fd, reply + got, sizeof(reply) - got, 0);
        g_assert_cmpint(n, >, 0);
        got += (size_t)n;
    }
    memcpy(rhdr, reply, sizeof(rhdr));
    g_assert_cmpuint(rhdr[0], ==, VHOST_USER_GET_FEATURES);
    g_assert_cmpuint(rhdr[1] & VHOST_USER_REPLY_MASK, !=, 0);
    g_assert_cmpuint(rhdr[2], ==, 8);
    memcpy(features, reply + 12, 8);
    return TRUE;
}

static void assert_real_features(guint64 f)
{
    g_assert_cmphex(f & (1ull << 32), !=, 0); /* VIRTIO_F_VERSION_1 */
    g_assert_cmphex(f & (1ull << 30), !=, 0); /* VHOST_USER_F_PROTOCOL_FEATURES */
}

static void test_print_capabilities(void)
{
    /* Other options are ignored, even invalid ones. */
    const char *args[] = {"--streams=0", "--print-capabilities", "--bogus", NULL};
    g_autofree char *out = NULL, *err = NULL, *pyout = NULL, *pyerr = NULL;
    g_autoptr(GError) error = NULL;
    g_autofree char *tmp = NULL;
    int fd, py_status = -1;
    const char *py_argv[] = {
        "python3", "-c",
        "import json,sys\n"
        "d=json.load(open(sys.argv[1]))\n"
        "assert d['type']=='sound', d\n"
        "assert isinstance(d['features'], list) and all(isinstance(x,str) for x in d['features'])\n"
        "print('ok')\n",
        NULL, NULL};

    g_assert_cmpint(run_sync(args, &out, &err, NULL), ==, 0);
    g_assert_cmpstr(err, ==, "");
    fd = g_file_open_tmp("caps-XXXXXX.json", &tmp, &error);
    g_assert_no_error(error);
    close(fd);
    g_assert_true(g_file_set_contents(tmp, out, -1, NULL));
    py_argv[3] = tmp;
    g_spawn_sync(NULL, (char **)py_argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &pyout, &pyerr,
                 &py_status, &error);
    g_assert_no_error(error);
    g_unlink(tmp);
    g_test_message("%s%s", pyout, pyerr);
    g_assert_true(g_spawn_check_wait_status(py_status, NULL));
    g_assert_cmpstr(pyout, ==, "ok\n");
}

static void test_version_and_help(void)
{
    const char *version[] = {"--version", NULL};
    const char *help[] = {"--help", NULL};
    g_autofree char *out = NULL, *err = NULL, *hout = NULL, *herr = NULL;

    g_assert_cmpint(run_sync(version, &out, &err, NULL), ==, 0);
    g_assert_true(g_str_has_prefix(out, "vhost-user-snd " PACKAGE_VERSION));
    g_assert_cmpint(run_sync(help, &hout, &herr, NULL), ==, 0);
    for (const char *o = "--socket-path\0--fd\0--print-capabilities\0--streams\0--jacks\0"
                         "--chmaps\0--driver\0--name\0--verbose\0--version\0";
         *o; o += strlen(o) + 1)
        g_assert_nonnull(strstr(hout, o));
}

/* LANGUAGE=de shows the German help, from the catalogue built in po/. */
static void test_help_german(void)
{
    g_autofree char *gmo = g_build_filename(g_getenv("VSND_SRCDIR"), "po", "de.gmo", NULL);
    g_autofree char *root = g_dir_make_tmp("vsnd-locale-XXXXXX", NULL);
    g_autofree char *msgdir = g_build_filename(root, "de", "LC_MESSAGES", NULL);
    g_autofree char *mo = g_build_filename(msgdir, "vhost-user-snd.mo", NULL);
    g_autofree char *contents = NULL, *out = NULL, *err = NULL;
    g_autofree char *dout = NULL, *derr = NULL, *bout = NULL, *berr = NULL;
    gsize len;
    const char *help[] = {"--help", NULL};
    const char *driver_help[] = {"--driver=wav,help", NULL};
    const char *bad_driver[] = {"--fd=3", "--driver=wav,tone", NULL};
    const char *bad_dir[] = {"--fd=3", "--driver=wav,dir=/nonexistent-vsnd", NULL};
    g_autofree char *wout = NULL, *werr = NULL;
    const char *env[] = {"VSND_LOCALEDIR", root, "LANGUAGE", "de", "LC_ALL", "C.UTF-8", NULL};

    g_assert_true(g_file_get_contents(gmo, &contents, &len, NULL));
    g_assert_cmpint(g_mkdir_with_parents(msgdir, 0700), ==, 0);
    g_assert_true(g_file_set_contents(mo, contents, (gssize)len, NULL));
    g_assert_cmpint(run_sync(help, &out, &err, env), ==, 0);
    /* The driver descriptions and the registry's start-up errors too. */
    g_assert_cmpint(run_sync(driver_help, &dout, &derr, env), ==, 0);
    g_assert_cmpint(run_sync(bad_driver, &bout, &berr, env), ==, 1);
    /* ...and a driver's own (audio/wav.c, built in; modules share the domain) */
    g_assert_cmpint(run_sync(bad_dir, &wout, &werr, env), !=, 0);
    {
        g_autofree char *de = g_path_get_dirname(msgdir);

        g_unlink(mo);
        g_rmdir(msgdir);
        g_rmdir(de);
        g_rmdir(root);
    }
    g_test_message("%s", out);
    g_assert_nonnull(strstr(out, "Den vhost-user-Unix-Socket unter PFAD anlegen"));
    g_assert_nonnull(strstr(out, "Anzahl der PCM-Datenströme"));
    g_test_message("%s%s", dout, berr);
    g_assert_nonnull(strstr(dout, "Tests ohne Bildschirm"));
    g_assert_nonnull(strstr(dout, "jeden Wiedergabe-Stream in VERZ/stream-ID.wav"));
    g_assert_nonnull(strstr(berr, "Option „tone“ des Audiotreibers „wav“ braucht einen Wert"));
    g_test_message("%s", werr);
    g_assert_nonnull(strstr(werr, "wav-Treiber: dir=/nonexistent-vsnd ist kein Verzeichnis"));
}

typedef struct {
    const char *name;
    const char *args[3];
    const char *needle;
} BadArgs;

static const BadArgs bad_args[] = {
    {"streams-zero", {"--streams=0", NULL}, "--streams"},
    {"socket-and-fd", {"--fd=0", NULL}, "--fd"},
    {"driver-unknown", {"--driver=oss", NULL}, "--driver"},
    {"jacks-text", {"--jacks=many", NULL}, "--jacks"},
};

/* An invalid value: message naming the option, status 1, no socket made. */
static void test_invalid_exit(Fixture *f, gconstpointer data)
{
    const BadArgs *b = data;
    g_autofree char *sockopt = g_strdup_printf("--socket-path=%s", f->sock);
    const char *args[] = {sockopt, b->args[0], b->args[1], NULL};
    g_autofree char *out = NULL, *err = NULL;

    g_assert_cmpint(run_sync(args, &out, &err, NULL), ==, 1);
    g_test_message("%s", err);
    g_assert_nonnull(strstr(err, b->needle));
    g_assert_false(g_file_test(f->sock, G_FILE_TEST_EXISTS));
}

static void test_socket_mode_and_sigterm(Fixture *f, gconstpointer data)
{
    int sig = GPOINTER_TO_INT(data);
    g_autofree char *sockopt = g_strdup_printf("--socket-path=%s", f->sock);
    const char *args[] = {sockopt, "--driver=null", NULL};
    g_autoptr(GSubprocessLauncher) l = g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_NONE);
    g_autoptr(GSubprocess) p = spawn_daemon(l, args);
    struct stat st;

    g_assert_true(wait_for_socket(f->sock, p));
    g_assert_cmpint(stat(f->sock, &st), ==, 0);
    g_assert_cmpuint(st.st_mode & 0777, ==, 0600);
    g_assert_cmpuint(st.st_uid, ==, getuid());

    g_subprocess_send_signal(p, sig);
    /* The 100 ms target is measured by the benchmark; here a loose bound. */
    g_assert_cmpint(wait_exit(p, 5000), ==, 0);
    g_assert_false(g_file_test(f->sock, G_FILE_TEST_EXISTS));
}

static void test_socket_serves_and_reconnects(Fixture *f, gconstpointer data)
{
    g_autofree char *sockopt = g_strdup_printf("--socket-path=%s", f->sock);
    const char *args[] = {sockopt, "--driver=null", NULL};
    g_autoptr(GSubprocessLauncher) l = g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_NONE);
    g_autoptr(GSubprocess) p = spawn_daemon(l, args);
    guint64 features = 0;
    int a, b;

    g_assert_true(wait_for_socket(f->sock, p));
    a = connect_unix(f->sock);
    g_assert_true(get_features(a, 5000, &features));
    assert_real_features(features);

    /* One front-end at a time: the second waits in the backlog... */
    b = connect_unix(f->sock);
    g_assert_false(get_features(b, 300, &features));
    /* ...and is served as soon as the first leaves. */
    close(a);
    features = 0;
    g_assert_true(get_features(b, 5000, &features));
    assert_real_features(features);
    close(b);

    /* And a third, after both are gone. */
    a = connect_unix(f->sock);
    g_assert_true(get_features(a, 5000, &features));
    close(a);

    g_subprocess_send_signal(p, SIGTERM);
    g_assert_cmpint(wait_exit(p, 5000), ==, 0);
}

/*
 * A front-end that connects the moment the socket file appears is never
 * refused: the daemon binds under a temporary name and publishes the
 * path after listen().  Bound at the path itself, a connect between
 * bind() and listen() got ECONNREFUSED (serves-one-at-a-time, once, under
 * make distcheck's load).  20 starts, the file watched every 50 us.
 */
static void test_socket_listens_when_it_appears(Fixture *f, gconstpointer data)
{
    g_autofree char *sockopt = g_strdup_printf("--socket-path=%s", f->sock);
    const char *args[] = {sockopt, "--driver=null", NULL};

    for (int i = 0; i < 20; i++) {
        g_autoptr(GSubprocessLauncher) l = g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_NONE);
        g_autoptr(GSubprocess) p = spawn_daemon(l, args);
        gint64 end = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
        struct stat st;
        guint64 features = 0;
        int fd;

        while (stat(f->sock, &st) != 0 && g_get_monotonic_time() < end)
            g_usleep(50);
        fd = try_connect_unix(f->sock);
        if (fd < 0)
            g_error("start %d: connecting as the socket appeared: %s", i, g_strerror(-fd));
        g_assert_true(S_ISSOCK(st.st_mode));
        g_assert_cmphex(st.st_mode & 0777, ==, 0600);
        g_assert_true(get_features(fd, 5000, &features));
        close(fd);
        g_subprocess_send_signal(p, SIGTERM);
        g_assert_cmpint(wait_exit(p, 5000), ==, 0);
        /* nothing left beside it: the temporary name went with the link */
        g_autoptr(GDir) dir = g_dir_open(f->dir, 0, NULL);
        g_assert_nonnull(dir);
        g_assert_null(g_dir_read_name(dir));
    }
}

static void test_socket_path_not_creatable(Fixture *f, gconstpointer data)
{
    g_autofree char *bad = g_build_filename(f->dir, "missing", "dir", "snd.sock", NULL);
    g_autofree char *sockopt = g_strdup_printf("--socket-path=%s", bad);
    const char *args[] = {sockopt, "--driver=null", NULL};
    g_autofree char *out = NULL, *err = NULL;

    g_assert_cmpint(run_sync(args, &out, &err, NULL), ==, 1);
    g_assert_nonnull(strstr(err, bad));
}

static void test_socket_path_is_a_file(Fixture *f, gconstpointer data)
{
    g_autofree char *sockopt = g_strdup_printf("--socket-path=%s", f->sock);
    const char *args[] = {sockopt, "--driver=null", NULL};
    g_autofree char *out = NULL, *err = NULL, *contents = NULL;

    g_assert_true(g_file_set_contents(f->sock, "precious", -1, NULL));
    g_assert_cmpint(run_sync(args, &out, &err, NULL), ==, 1);
    g_assert_nonnull(strstr(err, "not a socket"));
    /* Never clobbers what is not ours. */
    g_assert_true(g_file_get_contents(f->sock, &contents, NULL, NULL));
    g_assert_cmpstr(contents, ==, "precious");
}

/* A socket left by a killed daemon is replaced; a live one is refused. */
static void test_stale_and_live_socket(Fixture *f, gconstpointer data)
{
    g_autofree char *sockopt = g_strdup_printf("--socket-path=%s", f->sock);
    const char *args[] = {sockopt, "--driver=null", NULL};
    g_autoptr(GSubprocessLauncher) l = g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_NONE);
    g_autoptr(GSubprocess) first = spawn_daemon(l, args);
    g_autoptr(GSubprocess) second = NULL;
    g_autofree char *out = NULL, *err = NULL;
    guint64 features;
    int fd;

    g_assert_true(wait_for_socket(f->sock, first));
    g_assert_cmpint(run_sync(args, &out, &err, NULL), ==, 1);
    g_assert_nonnull(strstr(err, "listening"));

    g_subprocess_force_exit(first);
    wait_exit(first, 5000);
    g_assert_true(g_file_test(f->sock, G_FILE_TEST_EXISTS)); /* stale */

    second = spawn_daemon(l, args);
    /* The new daemon replaced it: wait until it answers. */
    for (int i = 0; i < 500; i++) {
        struct sockaddr_un sun = {.sun_family = AF_UNIX};

        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        g_strlcpy(sun.sun_path, f->sock, sizeof(sun.sun_path));
        if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0)
            break;
        close(fd);
        fd = -1;
        g_usleep(10000);
    }
    g_assert_cmpint(fd, >=, 0);
    g_assert_true(get_features(fd, 5000, &features));
    close(fd);
    g_subprocess_send_signal(second, SIGTERM);
    g_assert_cmpint(wait_exit(second, 5000), ==, 0);
}

/* --fd with a connected socketpair: served, and the daemon ends with it. */
static void test_fd_connected(void)
{
    g_autoptr(GSubprocessLauncher) l = g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_NONE);
    g_autoptr(GSubprocess) p = NULL;
    const char *args[] = {"--fd=3", "--driver=null", NULL};
    guint64 features = 0;
    int sv[2];

    g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), ==, 0);
    g_subprocess_launcher_take_fd(l, sv[1], 3);
    p = spawn_daemon(l, args);
    g_assert_true(get_features(sv[0], 5000, &features));
    assert_real_features(features);
    close(sv[0]);
    g_assert_cmpint(wait_exit(p, 5000), ==, 0);
}

/* --fd with a listening socket (systemd socket activation). */
static void test_fd_listening(Fixture *f, gconstpointer data)
{
    g_autoptr(GSubprocessLauncher) l = g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_NONE);
    g_autoptr(GSubprocess) p = NULL;
    const char *args[] = {"--fd=3", "--driver=null", NULL};
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    guint64 features = 0;

    g_strlcpy(sun.sun_path, f->sock, sizeof(sun.sun_path));
    g_assert_cmpint(bind(lfd, (struct sockaddr *)&sun, sizeof(sun)), ==, 0);
    g_assert_cmpint(listen(lfd, 4), ==, 0);
    g_subprocess_launcher_take_fd(l, lfd, 3);
    p = spawn_daemon(l, args);
    for (int round = 0; round < 2; round++) {
        int c = connect_unix(f->sock);

        g_assert_true(get_features(c, 5000, &features));
        assert_real_features(features);
        close(c);
    }
    g_subprocess_send_signal(p, SIGTERM);
    g_assert_cmpint(wait_exit(p, 5000), ==, 0);
    /* The path belongs to whoever made the socket: it stays. */
    g_assert_true(g_file_test(f->sock, G_FILE_TEST_EXISTS));
}

static void test_fd_invalid(void)
{
    const char *closed_fd[] = {"--fd=987", "--driver=null", NULL};
    const char *not_socket[] = {"--fd=0", "--driver=null", NULL};
    g_autofree char *out = NULL, *err = NULL, *out2 = NULL, *err2 = NULL;

    g_assert_cmpint(run_sync(closed_fd, &out, &err, NULL), ==, 1);
    g_assert_nonnull(strstr(err, "--fd"));
    /* fd 0 is /dev/null or a pipe under the test harness, not a socket. */
    g_assert_cmpint(run_sync(not_socket, &out2, &err2, NULL), ==, 1);
    g_assert_nonnull(strstr(err2, "--fd"));
}

/* A driver that cannot start is a start-up failure: early, non-zero. */
static void test_driver_unavailable(Fixture *f, gconstpointer data)
{
    g_autofree char *sockopt = g_strdup_printf("--socket-path=%s", f->sock);
    g_autofree char *server = g_strdup_printf("unix:%s/no-such-server", f->dir);
    const char *args[] = {sockopt, "--driver=pulse", NULL};
    const char *env[] = {"PULSE_SERVER", server, "XDG_RUNTIME_DIR", f->dir, NULL};
    g_autofree char *out = NULL, *err = NULL;

    g_assert_cmpint(run_sync(args, &out, &err, env), !=, 0);
    g_test_message("%s", err);
    g_assert_nonnull(strstr(err, "pulse"));
    g_assert_false(g_file_test(f->sock, G_FILE_TEST_EXISTS));
}

/* --driver=help on the real binary: exit 0 without a socket option, the
 * drivers whose modules are found listed, the others set apart; and
 * --driver=NAME,help with a driver's options. */
static void test_driver_help(Fixture *f, gconstpointer data)
{
    const char *list[] = {"--driver=help", NULL};
    const char *wav[] = {"--driver=wav,help", NULL};
    const char *bad[] = {"--driver=oss,help", NULL};
    const char *no_modules[] = {"VSND_DRIVERDIR", f->dir, NULL};
    g_autofree char *out = NULL, *err = NULL, *out2 = NULL, *err2 = NULL;
    g_autofree char *out3 = NULL, *err3 = NULL, *out4 = NULL, *err4 = NULL;
    const char *missing;

    g_assert_cmpint(run_sync(list, &out, &err, NULL), ==, 0);
    g_test_message("%s", out);
    g_assert_true(g_str_has_prefix(out, "Audio drivers on this machine"));
    for (const char *d = "auto\0null\0wav\0"; *d; d += strlen(d) + 1) {
        g_autofree char *line = g_strdup_printf("\n  %-9s ", d);
        g_assert_nonnull(strstr(out, line));
    }
#ifdef HAVE_PULSE
    g_assert_nonnull(strstr(out, "\n  pulse     "));
#endif
    /* No module in the driver directory: the module drivers are set apart. */
    g_assert_cmpint(run_sync(list, &out2, &err2, no_modules), ==, 0);
    g_test_message("%s", out2);
    missing = strstr(out2, "Not available on this machine:");
    g_assert_nonnull(missing);
    for (const char *d = "alsa\0pulse\0pipewire\0"; *d; d += strlen(d) + 1) {
        g_autofree char *line = g_strdup_printf("\n  %-9s ", d);
        g_assert_true(strstr(out2, line) > missing);
    }
    g_assert_true(strstr(out2, "\n  wav ") < missing);

    g_assert_cmpint(run_sync(wav, &out3, &err3, NULL), ==, 0);
    g_test_message("%s", out3);
    for (const char *o = "dir=DIR\0path=FILE\0in=FILE\0tone=HZ\0clock=real|manual\0"; *o;
         o += strlen(o) + 1)
        g_assert_nonnull(strstr(out3, o));
    g_assert_cmpint(run_sync(bad, &out4, &err4, NULL), ==, 1);
    g_assert_nonnull(strstr(err4, "--driver"));
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/daemon/print-capabilities", test_print_capabilities);
    g_test_add_func("/daemon/version-and-help", test_version_and_help);
    g_test_add_func("/daemon/help-german", test_help_german);
    for (guint i = 0; i < G_N_ELEMENTS(bad_args); i++) {
        g_autofree char *path = g_strdup_printf("/daemon/invalid-exit/%s", bad_args[i].name);

        g_test_add(path, Fixture, &bad_args[i], fixture_setup, test_invalid_exit, fixture_teardown);
    }
    g_test_add("/daemon/socket/mode-and-sigterm", Fixture, GINT_TO_POINTER(SIGTERM), fixture_setup,
               test_socket_mode_and_sigterm, fixture_teardown);
    g_test_add("/daemon/socket/sigint", Fixture, GINT_TO_POINTER(SIGINT), fixture_setup,
               test_socket_mode_and_sigterm, fixture_teardown);
    g_test_add("/daemon/socket/serves-one-at-a-time", Fixture, NULL, fixture_setup,
               test_socket_serves_and_reconnects, fixture_teardown);
    g_test_add("/daemon/socket/listens-when-it-appears", Fixture, NULL, fixture_setup,
               test_socket_listens_when_it_appears, fixture_teardown);
    g_test_add("/daemon/socket/not-creatable", Fixture, NULL, fixture_setup,
               test_socket_path_not_creatable, fixture_teardown);
    g_test_add("/daemon/socket/path-is-a-file", Fixture, NULL, fixture_setup,
               test_socket_path_is_a_file, fixture_teardown);
    g_test_add("/daemon/socket/stale-and-live", Fixture, NULL, fixture_setup,
               test_stale_and_live_socket, fixture_teardown);
    g_test_add_func("/daemon/fd/connected", test_fd_connected);
    g_test_add("/daemon/fd/listening", Fixture, NULL, fixture_setup, test_fd_listening,
               fixture_teardown);
    g_test_add_func("/daemon/fd/invalid", test_fd_invalid);
    g_test_add("/daemon/driver-unavailable", Fixture, NULL, fixture_setup, test_driver_unavailable,
               fixture_teardown);
    g_test_add("/daemon/driver-help", Fixture, NULL, fixture_setup, test_driver_help,
               fixture_teardown);
    return g_test_run();
}
