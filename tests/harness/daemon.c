/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * daemon.c - spawn and observe the daemon under test (see daemon.h).
 */
#include "config.h"

#include "daemon.h"
#include "fake-frontend.h"

#include <gio/gio.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

struct VdProc {
    pid_t pid;
    bool reaped;
    int status;
    char *tmpdir;
    char *sock_path;
    char *err_path;
    int our_fd;
    bool check_exit;
};

const char *vd_daemon_path(void)
{
    const char *p = g_getenv("VSND_DAEMON");
    if (!p || !*p || access(p, X_OK) != 0)
        return NULL;
    return p;
}

VdProc *vd_spawn(VdListen listen, const char *const *argv, GError **error)
{
    return vd_spawn_full(listen, argv, -1, error);
}

VdProc *vd_spawn_full(VdListen listen, const char *const *argv, int stderr_fd, GError **error)
{
    const char *path = vd_daemon_path();
    if (!path) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                    "VSND_DAEMON is not set to an executable daemon");
        return NULL;
    }
    g_autoptr(VdProc) vd = g_new0(VdProc, 1);
    vd->pid = -1;
    vd->our_fd = -1;
    vd->tmpdir = g_dir_make_tmp("vsnd-test-XXXXXX", error);
    if (!vd->tmpdir)
        return NULL;
    vd->err_path = g_build_filename(vd->tmpdir, "stderr.log", NULL);

    g_autoptr(GPtrArray) args = g_ptr_array_new_with_free_func(g_free);
    g_ptr_array_add(args, g_strdup(path));
    int pair[2] = { -1, -1 };
    if (listen == VD_LISTEN_SOCKET) {
        vd->sock_path = g_build_filename(vd->tmpdir, "snd.sock", NULL);
        g_ptr_array_add(args, g_strdup_printf("--socket-path=%s", vd->sock_path));
    } else if (listen == VD_LISTEN_FD) {
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) < 0) {
            g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errno), "socketpair: %s",
                        g_strerror(errno));
            return NULL;
        }
        g_ptr_array_add(args, g_strdup("--fd=3"));
    }
    for (unsigned int i = 0; argv && argv[i]; i++)
        g_ptr_array_add(args, g_strdup(argv[i]));
    g_ptr_array_add(args, NULL);

    int errfd = open(vd->err_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (errfd >= 0 && stderr_fd >= 0) {
        /* the caller's stderr (the file stays, empty: vd_stderr() is "") */
        close(errfd);
        errfd = fcntl(stderr_fd, F_DUPFD_CLOEXEC, 3);
    }
    if (errfd < 0) {
        g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errno), "%s: %s", vd->err_path,
                    g_strerror(errno));
        return NULL;
    }
    char **av = (char **)args->pdata;
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(errfd);
        g_set_error(error, G_IO_ERROR, g_io_error_from_errno(e), "fork: %s", g_strerror(e));
        return NULL;
    }
    if (pid == 0) {
        /* child: only async-signal-safe calls until exec.  It dies with
         * the test (an aborted test must not leave a daemon holding the
         * TAP pipe open, which would hang make check). */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull >= 0)
            dup2(devnull, 0);
        dup2(errfd, 1);       /* stdout too: never the test's TAP stream */
        dup2(errfd, 2);
        if (pair[1] >= 0)
            dup2(pair[1], 3);   /* dup2 clears CLOEXEC on 3 */
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        /* Files a driver writes by default (wav's stream-N.wav) land in
         * the private directory, which vd_free() removes, never in the
         * build tree. */
        if (chdir(vd->tmpdir) < 0)
            _exit(126);
        execv(av[0], av);
        _exit(127);
    }
    close(errfd);
    if (pair[1] >= 0)
        close(pair[1]);
    vd->our_fd = pair[0];
    vd->pid = pid;
    return g_steal_pointer(&vd);
}

static bool vd_reap(VdProc *vd, bool block)
{
    if (vd->reaped || vd->pid <= 0)
        return true;
    int st;
    pid_t r;
    do {
        r = waitpid(vd->pid, &st, block ? 0 : WNOHANG);
    } while (r < 0 && errno == EINTR);
    if (r == vd->pid) {
        vd->reaped = true;
        vd->status = st;
        return true;
    }
    return false;
}

static void vd_rm_rf(const char *dir)
{
    GDir *d = g_dir_open(dir, 0, NULL);
    if (d) {
        const char *n;
        while ((n = g_dir_read_name(d))) {
            g_autofree char *p = g_build_filename(dir, n, NULL);
            if (g_file_test(p, G_FILE_TEST_IS_DIR) && !g_file_test(p, G_FILE_TEST_IS_SYMLINK))
                vd_rm_rf(p);
            else
                unlink(p);
        }
        g_dir_close(d);
    }
    rmdir(dir);
}

/* A clean exit: status 0 and no sanitizer report on stderr. */
static void vd_assert_clean_exit(VdProc *vd)
{
    int st = vd_terminate(vd, 10000);
    g_autofree char *err = vd_stderr(vd);
    bool report = strstr(err, "Sanitizer") || strstr(err, "runtime error:");
    if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0 || report)
        g_error("daemon did not exit cleanly on SIGTERM (status 0x%x); stderr:\n%s", st, err);
}

void vd_free(VdProc *vd)
{
    if (!vd)
        return;
    if (vd->check_exit && vd->pid > 0 && !vd_reap(vd, false))
        vd_assert_clean_exit(vd);
    if (vd->pid > 0 && !vd_reap(vd, false)) {
        kill(vd->pid, SIGKILL);
        vd_reap(vd, true);
    }
    if (vd->our_fd >= 0)
        close(vd->our_fd);
    if (vd->tmpdir)
        vd_rm_rf(vd->tmpdir);
    g_free(vd->tmpdir);
    g_free(vd->sock_path);
    g_free(vd->err_path);
    g_free(vd);
}

pid_t vd_pid(const VdProc *vd) { return vd->pid; }
const char *vd_socket_path(const VdProc *vd) { return vd->sock_path; }
const char *vd_tmpdir(const VdProc *vd) { return vd->tmpdir; }

int vd_take_fd(VdProc *vd)
{
    int fd = vd->our_fd;
    vd->our_fd = -1;
    return fd;
}

bool vd_alive(VdProc *vd)
{
    return !vd_reap(vd, false);
}

bool vd_wait_socket(VdProc *vd, int timeout_ms)
{
    g_assert(vd->sock_path);
    gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
    do {
        if (!vd_alive(vd))
            return false;
        struct stat st;
        /* bind() creates the file right before listen(): connect() may
         * still be refused for an instant, ff_connect() callers retry. */
        if (stat(vd->sock_path, &st) == 0 && S_ISSOCK(st.st_mode))
            return true;
        g_usleep(10 * 1000);
    } while (g_get_monotonic_time() < deadline);
    return false;
}

int vd_wait(VdProc *vd, int timeout_ms)
{
    gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
    for (;;) {
        if (vd_reap(vd, false))
            return vd->status;
        if (g_get_monotonic_time() >= deadline)
            return -1;
        g_usleep(5 * 1000);
    }
}

int vd_signal_wait(VdProc *vd, int sig, int timeout_ms)
{
    if (!vd_reap(vd, false))
        kill(vd->pid, sig);
    return vd_wait(vd, timeout_ms);
}

int vd_terminate(VdProc *vd, int timeout_ms)
{
    int st = vd_signal_wait(vd, SIGTERM, timeout_ms);
    if (st == -1)
        st = vd_signal_wait(vd, SIGKILL, 10000);
    return st;
}

char *vd_stderr(const VdProc *vd)
{
    char *s = NULL;
    if (!g_file_get_contents(vd->err_path, &s, NULL, NULL))
        return g_strdup("");
    return s;
}

int vd_fd_count(const VdProc *vd)
{
    g_autofree char *p = g_strdup_printf("/proc/%d/fd", (int)vd->pid);
    DIR *d = opendir(p);
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

static long vd_status_field(const VdProc *vd, const char *key)
{
    g_autofree char *p = g_strdup_printf("/proc/%d/status", (int)vd->pid);
    g_autofree char *s = NULL;
    if (!g_file_get_contents(p, &s, NULL, NULL))
        return -1;
    size_t kl = strlen(key);
    for (char *line = s; line && *line;) {
        char *nl = strchr(line, '\n');
        if (!strncmp(line, key, kl) && line[kl] == ':')
            return strtol(line + kl + 1, NULL, 10);
        line = nl ? nl + 1 : NULL;
    }
    return -1;
}

long vd_rss_kb(const VdProc *vd)
{
    return vd_status_field(vd, "VmRSS");
}

int vd_threads(const VdProc *vd)
{
    return (int)vd_status_field(vd, "Threads");
}

double vd_cpu_seconds(const VdProc *vd)
{
    g_autofree char *p = g_strdup_printf("/proc/%d/stat", (int)vd->pid);
    g_autofree char *s = NULL;
    if (!g_file_get_contents(p, &s, NULL, NULL))
        return -1;
    /* Fields after the ")" that ends the command name: state is field 3,
     * utime 14, stime 15. */
    char *q = strrchr(s, ')');
    if (!q)
        return -1;
    g_auto(GStrv) f = g_strsplit(q + 2, " ", 0);
    if (g_strv_length(f) < 13)
        return -1;
    double ticks = (double)g_ascii_strtoull(f[11], NULL, 10) + (double)g_ascii_strtoull(f[12], NULL, 10);
    return ticks / (double)sysconf(_SC_CLK_TCK);
}

/*
 * Integration tests run when $VSND_DAEMON is a working back-end, which is
 * recognised by its --print-capabilities JSON (vhost-user.rst "Backend
 * program conventions"); a placeholder daemon prints nothing.
 * VSND_INTEGRATION=1 forces them on, =0 off.
 */
static bool vd_daemon_works(void)
{
    static int works = -1;
    if (works < 0) {
        const char *argv[] = { vd_daemon_path(), "--print-capabilities", NULL };
        g_autofree char *out = NULL;
        gint status = -1;
        works = g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL,
                             &out, NULL, &status, NULL) &&
                g_spawn_check_exit_status(status, NULL) && out && strstr(out, "\"type\"");
    }
    return works;
}

const char *const vd_default_args[] = { "--driver=null", NULL };

bool vd_require(void)
{
    const char *env = g_getenv("VSND_INTEGRATION");
    if (env && !strcmp(env, "0")) {
        g_test_skip("integration tests switched off (VSND_INTEGRATION=0)");
        return false;
    }
    if (!vd_daemon_path()) {
        g_test_fail_printf("VSND_DAEMON does not name a built daemon");
        return false;
    }
    /* A daemon that cannot even print its capabilities is broken: fail. */
    if (!(env && !strcmp(env, "1")) && !vd_daemon_works()) {
        g_test_fail_printf("VSND_DAEMON %s does not answer --print-capabilities", vd_daemon_path());
        return false;
    }
    return true;
}

VdProc *vd_spawn_ready(const char *const *extra, GError **error)
{
    g_autoptr(GPtrArray) args = g_ptr_array_new();
    for (unsigned int i = 0; vd_default_args[i]; i++)
        g_ptr_array_add(args, (gpointer)vd_default_args[i]);
    for (unsigned int i = 0; extra && extra[i]; i++)
        g_ptr_array_add(args, (gpointer)extra[i]);
    g_ptr_array_add(args, NULL);
    return vd_spawn_ready_argv((const char *const *)args->pdata, error);
}

VdProc *vd_spawn_ready_argv(const char *const *argv, GError **error)
{
    g_autoptr(VdProc) vd = vd_spawn(VD_LISTEN_SOCKET, argv, error);
    if (!vd)
        return NULL;
    if (!vd_wait_socket(vd, 10000)) {
        g_autofree char *err = vd_stderr(vd);
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED,
                    "daemon did not create its socket (alive: %d); stderr:\n%s",
                    vd_alive(vd), err);
        return NULL;
    }
    vd->check_exit = true;
    return g_steal_pointer(&vd);
}

FfConn *vd_connect(VdProc *vd, GError **error)
{
    gint64 deadline = g_get_monotonic_time() + 5 * G_USEC_PER_SEC;
    for (;;) {
        g_autoptr(GError) local = NULL;
        FfConn *ff = ff_connect(vd_socket_path(vd), &local);
        if (ff)
            return ff;
        if (g_get_monotonic_time() > deadline || !vd_alive(vd)) {
            g_propagate_error(error, g_steal_pointer(&local));
            return NULL;
        }
        g_usleep(10 * 1000);
    }
}
