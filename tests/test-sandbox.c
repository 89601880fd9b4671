/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-sandbox.c - the confinement the daemon applies, proved on the real
 * module: each case forks a child that builds the daemon's own policy from
 * a command line (vsnd_options_parse + vsnd_sandbox_policy_new with the
 * driver's name), applies it with vsnd_sandbox_apply() and then tries what
 * a compromised daemon would try.  The child reports through its exit
 * status; a kill by the filter shows as SIGSYS.  The daemon itself is run
 * with --sandbox=on, log and off and must serve a front-end in each.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <linux/capability.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "src/options.h"
#include "src/sandbox.h"

typedef struct {
    char *dir;     /* everything of one case */
    char *sock;    /* <dir>/sock/snd.sock: its directory is granted */
    char *out;     /* <dir>/out: the wav driver's dir= */
    char *secret;  /* <dir>/outside/secret: granted to nobody */
    char *err;     /* <dir>/stderr: the child's stderr */
} Fixture;

typedef struct {
    const char *driver;  /* the name the registry reports */
    const char *level;   /* --sandbox value */
} Case;

static void fixture_setup(Fixture *f, gconstpointer data)
{
    g_autofree char *sockdir = NULL, *outside = NULL;

    f->dir = g_dir_make_tmp("vsnd-sandbox-XXXXXX", NULL);
    g_assert_nonnull(f->dir);
    sockdir = g_build_filename(f->dir, "sock", NULL);
    outside = g_build_filename(f->dir, "outside", NULL);
    f->out = g_build_filename(f->dir, "out", NULL);
    g_assert_cmpint(g_mkdir(sockdir, 0700), ==, 0);
    g_assert_cmpint(g_mkdir(outside, 0700), ==, 0);
    g_assert_cmpint(g_mkdir(f->out, 0700), ==, 0);
    f->sock = g_build_filename(sockdir, "snd.sock", NULL);
    f->secret = g_build_filename(outside, "secret", NULL);
    f->err = g_build_filename(f->dir, "stderr", NULL);
    g_assert_true(g_file_set_contents(f->secret, "guest must not read this", -1, NULL));
}

static void remove_tree(const char *path)
{
    g_autoptr(GDir) d = g_dir_open(path, 0, NULL);
    const char *name;

    while (d && (name = g_dir_read_name(d))) {
        g_autofree char *child = g_build_filename(path, name, NULL);

        if (g_file_test(child, G_FILE_TEST_IS_DIR) && !g_file_test(child, G_FILE_TEST_IS_SYMLINK))
            remove_tree(child);
        else
            g_unlink(child);
    }
    g_rmdir(path);
}

static void fixture_teardown(Fixture *f, gconstpointer data)
{
    remove_tree(f->dir);
    g_free(f->dir);
    g_free(f->sock);
    g_free(f->out);
    g_free(f->secret);
    g_free(f->err);
}

/* The daemon's configuration for @c, from a command line as the daemon parses it. */
static VsndConfig *config_for(const Fixture *f, const Case *c, const char *user)
{
    g_autofree char *sock = g_strdup_printf("--socket-path=%s", f->sock);
    g_autofree char *driver = strcmp(c->driver, "wav") == 0
                                  ? g_strdup_printf("--driver=wav,dir=%s", f->out)
                                  : g_strdup_printf("--driver=%s", c->driver);
    g_autofree char *level = g_strdup_printf("--sandbox=%s", c->level);
    g_autofree char *user_opt = user ? g_strdup_printf("--user=%s", user) : NULL;
    char *args[] = {"vhost-user-snd", sock, driver, level, user_opt, NULL};
    g_autofree char **argv = g_memdup2(args, sizeof(args));
    int argc = user ? 5 : 4;
    gboolean done = FALSE;
    g_autoptr(GError) error = NULL;
    VsndConfig *cfg = vsnd_options_parse(&argc, &argv, &done, &error);

    g_assert_no_error(error);
    g_assert_nonnull(cfg);
    return cfg;
}

/* What the confined child tries; its exit status says which expectation broke. */
typedef int (*Probe)(const Fixture *f);

/*
 * Forks a child that applies the daemon's policy for @c and runs @probe.
 * Returns the child's wait status; the child's stderr is in f->err.
 */
static int run_confined(const Fixture *f, const Case *c, const char *user, Probe probe)
{
    g_autoptr(VsndConfig) cfg = config_for(f, c, user);
    g_autoptr(VsndSandboxPolicy) policy = vsnd_sandbox_policy_new(cfg, c->driver);
    int err_fd = open(f->err, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    int status = 0;
    pid_t pid;

    g_assert_cmpint(err_fd, >=, 0);
    pid = fork();
    g_assert_cmpint(pid, >=, 0);
    if (pid == 0) {
        g_autoptr(GError) error = NULL;

        dup2(err_fd, STDERR_FILENO);
        if (!vsnd_sandbox_apply(policy, &error)) {
            g_printerr("apply: %s\n", error->message);
            _exit(100);
        }
        _exit(probe(f));
    }
    close(err_fd);
    g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
    return status;
}

static char *child_stderr(const Fixture *f)
{
    char *text = NULL;

    g_assert_true(g_file_get_contents(f->err, &text, NULL, NULL));
    return text;
}

static void assert_exited_ok(const Fixture *f, int status)
{
    g_autofree char *err = child_stderr(f);

    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        g_test_message("child stderr:\n%s", err);
    g_assert_true(WIFEXITED(status));
    g_assert_cmpint(WEXITSTATUS(status), ==, 0);
}

static void assert_killed(const Fixture *f, int status)
{
    g_autofree char *err = child_stderr(f);

    if (!WIFSIGNALED(status))
        g_test_message("child exited %d, stderr:\n%s", WEXITSTATUS(status), err);
    g_assert_true(WIFSIGNALED(status));
    g_assert_cmpint(WTERMSIG(status), ==, SIGSYS);
}

/* ---- probes ------------------------------------------------------------------ */

static int probe_files(const Fixture *f)
{
    int fd;

    /* Outside every granted path: neither read nor created. */
    fd = open(f->secret, O_RDONLY | O_CLOEXEC);
    if (fd >= 0 || errno != EACCES)
        return 1;
    fd = open("/etc/vsnd-sandbox-test", O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    if (fd >= 0 || errno != EACCES)
        return 2;
    /* System files stay readable (ALSA's and the servers' configuration). */
    fd = open("/etc/passwd", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 3;
    close(fd);
    fd = open("/etc/passwd", O_WRONLY | O_CLOEXEC);
    if (fd >= 0 || errno != EACCES)
        return 4;
    return 0;
}

/* The wav driver's directory stays writable, and truncatable. */
static int probe_wav_dir(const Fixture *f)
{
    g_autofree char *rec = g_build_filename(f->out, "stream-0.wav", NULL);
    int fd = open(rec, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

    if (fd < 0)
        return 1;
    if (write(fd, "RIFF", 4) != 4)
        return 2;
    close(fd);
    return 0;
}

static int probe_inet(const Fixture *f)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    return fd >= 0 ? 0 : 1; /* reached only when not killed */
}

static int probe_unix(const Fixture *f)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

    return fd >= 0 ? 0 : 1;
}

static int probe_exec(const Fixture *f)
{
    char *const argv[] = {"true", NULL};
    char *const envp[] = {NULL};

    execve("/bin/true", argv, envp);
    return 1;
}

static int probe_fork(const Fixture *f)
{
    pid_t pid = fork();

    if (pid == 0)
        _exit(0);
    return 1;
}

/* A call outside every list (not one of the known escapes): trapped, named. */
static int probe_unlisted(const Fixture *f)
{
    syscall(SYS_acct, NULL);
    return 1;
}

static int probe_identity(const Fixture *f)
{
    struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
    struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];

    if (getuid() == 0 || geteuid() == 0 || getgid() == 0)
        return 1;
    if (syscall(SYS_capget, &hdr, data) < 0)
        return 2;
    for (int i = 0; i < _LINUX_CAPABILITY_U32S_3; i++) {
        if (data[i].effective || data[i].permitted || data[i].inheritable)
            return 3;
    }
    if (prctl(PR_CAPBSET_READ, CAP_SYS_ADMIN, 0, 0, 0) != 0)
        return 4;
    if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
        return 5;
    return 0;
}

/* ---- cases ------------------------------------------------------------------- */

static void test_files(Fixture *f, gconstpointer data)
{
    const Case *c = data;

    assert_exited_ok(f, run_confined(f, c, NULL, probe_files));
    if (strcmp(c->driver, "wav") == 0)
        assert_exited_ok(f, run_confined(f, c, NULL, probe_wav_dir));
}

static void test_inet(Fixture *f, gconstpointer data)
{
    assert_killed(f, run_confined(f, data, NULL, probe_inet));
    /* Unix sockets remain: the audio servers and the front-end use them. */
    assert_exited_ok(f, run_confined(f, data, NULL, probe_unix));
}

static void test_exec(Fixture *f, gconstpointer data)
{
    assert_killed(f, run_confined(f, data, NULL, probe_exec));
    assert_killed(f, run_confined(f, data, NULL, probe_fork));
}

static void test_unlisted(Fixture *f, gconstpointer data)
{
    g_autofree char *err = NULL;

    assert_killed(f, run_confined(f, data, NULL, probe_unlisted));
    err = child_stderr(f);
    g_assert_nonnull(strstr(err, "sandbox: forbidden system call"));
    g_assert_nonnull(strstr(err, "(acct)"));
}

/* --sandbox=off: everything above is possible again. */
static void test_off(Fixture *f, gconstpointer data)
{
    const Case off = {((const Case *)data)->driver, "off"};
    int status;

    assert_exited_ok(f, run_confined(f, &off, NULL, probe_inet));
    assert_exited_ok(f, run_confined(f, &off, NULL, probe_exec)); /* /bin/true's status */
    /* probe_files expects denials: off must make it fail at its first check. */
    status = run_confined(f, &off, NULL, probe_files);
    g_assert_true(WIFEXITED(status));
    g_assert_cmpint(WEXITSTATUS(status), ==, 1);
}

/* --sandbox=log: the filter denies nothing (the kernel logs instead). */
static void test_log(Fixture *f, gconstpointer data)
{
    const Case log = {((const Case *)data)->driver, "log"};

    assert_exited_ok(f, run_confined(f, &log, NULL, probe_inet));
    assert_exited_ok(f, run_confined(f, &log, NULL, probe_unix));
}

/* Root with --user: the user, no capability in any set, no new privileges. */
static void test_user(Fixture *f, gconstpointer data)
{
    g_assert_cmpint(chmod(f->dir, 0755), ==, 0);
    assert_exited_ok(f, run_confined(f, data, "nobody", probe_identity));
}

/* ---- the daemon -------------------------------------------------------------- */

static const char *daemon_path(void)
{
    const char *p = g_getenv("VSND_DAEMON");

    g_assert_nonnull(p);
    return p;
}

static void die_with_test(gpointer data)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
}

/* GET_FEATURES over the socket: the confined daemon still serves. */
static void assert_serves(const char *path)
{
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    uint32_t req[3] = {1 /* GET_FEATURES */, 0x1 /* version */, 0};
    uint32_t reply[5] = {0};
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ssize_t n;

    g_strlcpy(sun.sun_path, path, sizeof(sun.sun_path));
    for (int i = 0; i < 1000 && connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0; i++)
        g_usleep(5000);
    g_assert_cmpint(write(fd, req, sizeof(req)), ==, sizeof(req));
    n = read(fd, reply, sizeof(reply));
    g_assert_cmpint(n, ==, 20);
    g_assert_cmpuint(reply[0], ==, 1);
    g_assert_cmpuint(reply[1], ==, 0x1 | (1u << 2));
    g_assert_cmpuint(reply[2], ==, 8);
    g_assert_true(reply[3] & (1u << 30) || reply[4] & (1u << 0)); /* VIRTIO_F_VERSION_1 (bit 32) */
    close(fd);
}

static void test_daemon_level(Fixture *f, gconstpointer data)
{
    const Case *c = data;
    g_autofree char *sock = g_strdup_printf("--socket-path=%s", f->sock);
    g_autofree char *driver = g_strdup_printf("--driver=wav,dir=%s", f->out);
    g_autofree char *level = g_strdup_printf("--sandbox=%s", c->level);
    const char *argv[] = {daemon_path(), sock, driver, level, NULL};
    g_autoptr(GSubprocessLauncher) l = g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDERR_PIPE);
    g_autoptr(GSubprocess) p = NULL;
    g_autoptr(GError) error = NULL;
    g_autofree char *err = NULL;

    g_subprocess_launcher_set_child_setup(l, die_with_test, NULL, NULL);
    p = g_subprocess_launcher_spawnv(l, argv, &error);
    g_assert_no_error(error);
    assert_serves(f->sock);
    assert_serves(f->sock); /* and again: the next front-end is accepted */
    g_subprocess_send_signal(p, SIGTERM);
    g_subprocess_communicate_utf8(p, NULL, NULL, NULL, &err, &error);
    g_assert_no_error(error);
    g_test_message("daemon stderr:\n%s", err);
    g_assert_true(g_subprocess_get_if_exited(p));
    g_assert_cmpint(g_subprocess_get_exit_status(p), ==, 0);
    /* The socket it created is removed: its directory is granted. */
    g_assert_false(g_file_test(f->sock, G_FILE_TEST_EXISTS));
    if (strcmp(c->level, "on") == 0)
        g_assert_nonnull(strstr(err, "sandbox: on for the wav driver"));
    else if (strcmp(c->level, "log") == 0)
        g_assert_nonnull(strstr(err, "sandbox: log mode for the wav driver"));
    else
        g_assert_nonnull(strstr(err, "sandbox: off"));
}

static void test_bad_level(void)
{
    char *args[] = {"vhost-user-snd", "--socket-path=/x", "--sandbox=maybe", NULL};
    g_autofree char **argv = g_memdup2(args, sizeof(args));
    int argc = 3;
    gboolean done = FALSE;
    g_autoptr(GError) error = NULL;
    VsndConfig *cfg = vsnd_options_parse(&argc, &argv, &done, &error);

    g_assert_null(cfg);
    g_assert_nonnull(error);
    g_assert_nonnull(strstr(error->message, "--sandbox"));
}

int main(int argc, char **argv)
{
    static const char *const drivers[] = {"null", "wav", "alsa", "pulse", "pipewire"};
    static Case on[G_N_ELEMENTS(drivers)];
    static const Case daemon_levels[] = {{"wav", "on"}, {"wav", "log"}, {"wav", "off"}};

    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/sandbox/bad-level", test_bad_level);
    for (guint i = 0; i < G_N_ELEMENTS(drivers); i++) {
        g_autofree char *base = g_strdup_printf("/sandbox/%s", drivers[i]);
        g_autofree char *files = g_strconcat(base, "/files", NULL);
        g_autofree char *inet = g_strconcat(base, "/no-inet-socket", NULL);
        g_autofree char *exec = g_strconcat(base, "/no-exec-no-fork", NULL);
        g_autofree char *unlisted = g_strconcat(base, "/unlisted-call-named", NULL);
        g_autofree char *off = g_strconcat(base, "/off", NULL);
        g_autofree char *log = g_strconcat(base, "/log", NULL);

        on[i] = (Case){drivers[i], "on"};
        g_test_add(files, Fixture, &on[i], fixture_setup, test_files, fixture_teardown);
        g_test_add(inet, Fixture, &on[i], fixture_setup, test_inet, fixture_teardown);
        g_test_add(exec, Fixture, &on[i], fixture_setup, test_exec, fixture_teardown);
        g_test_add(unlisted, Fixture, &on[i], fixture_setup, test_unlisted, fixture_teardown);
        g_test_add(off, Fixture, &on[i], fixture_setup, test_off, fixture_teardown);
        g_test_add(log, Fixture, &on[i], fixture_setup, test_log, fixture_teardown);
    }
    /* Switching users needs root; the suite runs as root in CI. */
    if (geteuid() == 0)
        g_test_add("/sandbox/user-drops-root", Fixture, &on[0], fixture_setup, test_user,
                   fixture_teardown);
    for (guint i = 0; i < G_N_ELEMENTS(daemon_levels); i++) {
        g_autofree char *path = g_strdup_printf("/sandbox/daemon/%s", daemon_levels[i].level);

        g_test_add(path, Fixture, &daemon_levels[i], fixture_setup, test_daemon_level,
                   fixture_teardown);
    }
    return g_test_run();
}
