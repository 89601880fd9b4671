/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * daemon.h - run the real vhost-user-snd daemon under test.
 *
 * Theory of operation: vd_spawn() forks and execs $VSND_DAEMON (the path
 * the build puts in the test environment) with the test's arguments plus
 * either --socket-path=<private temp dir>/snd.sock or --fd=3 with one end
 * of a socketpair (the back-end program conventions of vhost-user.rst).
 * Its stderr goes to a file in the same temp dir so a test can read what
 * it logged.  The helpers read /proc/<pid>/{fd,status,stat} for leak and
 * CPU checks.  The process is killed and reaped by vd_free() at the
 * latest; the temp dir is removed.
 *
 * Everything runs on the test's thread.  Spawn failures are returned as
 * GError; a missing $VSND_DAEMON is reported by vd_daemon_path() == NULL
 * so tests can skip with a reason.
 */
#ifndef VSND_TESTS_HARNESS_DAEMON_H
#define VSND_TESTS_HARNESS_DAEMON_H

#include <glib.h>
#include <stdbool.h>
#include <sys/types.h>

typedef struct VdProc VdProc;

typedef enum {
    VD_LISTEN_SOCKET,  /* --socket-path in a private temp dir */
    VD_LISTEN_FD,      /* --fd=3, connected socketpair end */
    VD_LISTEN_NONE,    /* the test's argv says everything */
} VdListen;

/* $VSND_DAEMON if it names an executable file, else NULL. */
const char *vd_daemon_path(void);

/*
 * vd_spawn() - start the daemon.
 * @argv: extra arguments (NULL-terminated, may be NULL), e.g.
 *        {"--driver=null", NULL}.
 * Return: the running process, or NULL with @error.
 */
VdProc *vd_spawn(VdListen listen, const char *const *argv, GError **error);
/* The same with the daemon's stdout and stderr on @stderr_fd (-1: the
 * file vd_stderr() reads). */
VdProc *vd_spawn_full(VdListen listen, const char *const *argv, int stderr_fd, GError **error);
/* Kill (SIGKILL) if still running, reap, remove the temp dir. */
void vd_free(VdProc *vd);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(VdProc, vd_free)

pid_t vd_pid(const VdProc *vd);
/* The socket path (VD_LISTEN_SOCKET) or NULL. */
const char *vd_socket_path(const VdProc *vd);
/* The private temp dir (exists while @vd lives). */
const char *vd_tmpdir(const VdProc *vd);
/* VD_LISTEN_FD: take our end of the socketpair (caller owns it; once). */
int vd_take_fd(VdProc *vd);
/* Wait until the listening socket accepts connections (or the process
 * died).  Return: true when connectable. */
bool vd_wait_socket(VdProc *vd, int timeout_ms);

/* Still running (not exited, not a zombie we reaped)? */
bool vd_alive(VdProc *vd);
/* Send @sig, wait up to @timeout_ms for exit.  Return: the wait status
 * (use WIFEXITED etc.) or -1 if it did not exit in time. */
int vd_signal_wait(VdProc *vd, int sig, int timeout_ms);
/* Wait for exit without signalling; -1 on timeout. */
int vd_wait(VdProc *vd, int timeout_ms);
/* SIGTERM then wait; SIGKILL after @timeout_ms.  Return: wait status. */
int vd_terminate(VdProc *vd, int timeout_ms);
/* Everything written to stderr so far (newly allocated). */
char *vd_stderr(const VdProc *vd);

/* /proc probes; -1 when unavailable. */
int vd_fd_count(const VdProc *vd);
long vd_rss_kb(const VdProc *vd);
/* utime + stime in seconds. */
double vd_cpu_seconds(const VdProc *vd);
/* Threads of the process. */
int vd_threads(const VdProc *vd);

/*
 * vd_require() - may an integration test run now?
 * Returns false and fails the current test when $VSND_DAEMON is missing or
 * does not answer --print-capabilities; skips it only when the user asked
 * for that with VSND_INTEGRATION=0.  VSND_INTEGRATION=1 runs the tests
 * against any daemon.
 */
bool vd_require(void);
/* Default daemon arguments for tests: the null audio driver. */
extern const char *const vd_default_args[];
/* vd_spawn(VD_LISTEN_SOCKET, vd_default_args + @extra) and wait for the
 * socket.  A daemon started this way that is still running at vd_free()
 * gets SIGTERM and must exit with status 0 and no sanitizer report
 * (ASan/LSan/UBSan) on stderr, else the test fails there. */
VdProc *vd_spawn_ready(const char *const *extra, GError **error);
/* The same with exactly @argv (no default driver). */
VdProc *vd_spawn_ready_argv(const char *const *argv, GError **error);

struct FfConn;
/* Connect a front-end to @vd's socket, retrying while the listener is
 * still coming up or busy with the previous front-end (5 s). */
struct FfConn *vd_connect(VdProc *vd, GError **error);

#endif /* VSND_TESTS_HARNESS_DAEMON_H */
