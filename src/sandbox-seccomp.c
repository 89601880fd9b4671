/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sandbox-seccomp.c - the system calls the confined daemon may still make.
 *
 * An allow-list in three layers: the base that GLib's main loop, the C
 * library, the vhost-user core (guest memory mappings, the socket, its fds)
 * and the built-in drivers (null, wav, the state file) need; what an audio
 * server client adds (pulse, pipewire, and alsa through its server plugins);
 * what ALSA's devices add.  Code is never mapped by the base (no PROT_EXEC),
 * sockets are Unix only, and threads are the only clones.
 *
 * Two actions for a call outside the list.  The known ways out (exec, a
 * socket of another family, ptrace, a new process) kill the process at once
 * (SCMP_ACT_KILL_PROCESS), whatever handler the process may have installed.
 * Anything else traps: the SIGSYS handler writes one line naming the call
 * and then dies of SIGSYS, so a driver that needs one more call leaves a
 * clear trace instead of a silent death.  --sandbox=log logs instead
 * (SCMP_ACT_LOG: the kernel's audit log names each call) and denies nothing.
 *
 * Sanitizer builds also let LeakSanitizer stop the world at exit (a tracer
 * clone that shares the memory and attaches to every thread with ptrace).
 */
#define G_LOG_DOMAIN "vsnd-sandbox"
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <seccomp.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sandbox.h"

/* The base: GLib, libc, the vhost-user core, null, wav, the state file. */
static const char *const base_calls[] = {
    /* memory */
    "brk", "munmap", "mremap", "madvise", "mlock", "munlock", "memfd_create",
    /* files already open or below the Landlock rules */
    "read", "readv", "pread64", "preadv", "write", "writev", "pwrite64", "pwritev",
    "openat", "open", "close", "lseek", "fstat", "newfstatat", "stat", "lstat", "statx",
    "fstatfs", "statfs", "fcntl", "dup", "dup2", "dup3", "ftruncate", "fsync", "fdatasync",
    "rename", "renameat", "renameat2", "unlink", "unlinkat", "getdents", "getdents64", "readlink",
    "readlinkat", "access", "faccessat", "faccessat2", "getcwd", "fadvise64", "umask",
    "fchmod", "utimensat", "fallocate",
    /* the main loop and its wake-ups */
    "poll", "ppoll", "select", "pselect6", "eventfd2", "pipe2", "timerfd_create",
    "timerfd_settime", "timerfd_gettime", "epoll_create1", "epoll_ctl", "epoll_wait",
    "epoll_pwait", "epoll_pwait2",
    /* Unix sockets already made (socket() itself is checked below) */
    "accept4", "accept", "recvmsg", "sendmsg", "recvfrom", "sendto", "recvmmsg", "sendmmsg",
    "shutdown", "getsockopt", "setsockopt", "getsockname", "getpeername",
    /* threads, time, signals, identity */
    "futex", "futex_waitv", "set_robust_list", "get_robust_list", "rseq", "set_tid_address",
    "sched_yield", "sched_getaffinity", "sched_getparam", "sched_getscheduler",
    "nanosleep", "clock_nanosleep", "clock_gettime", "clock_getres", "gettimeofday", "time",
    "rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "rt_sigtimedwait", "sigaltstack",
    "tgkill", "tkill", "getpid", "gettid", "getppid", "getuid", "geteuid", "getgid",
    "getegid", "getresuid", "getresgid", "getgroups", "uname", "getrandom", "sysinfo",
    "getrlimit", "prlimit64", "getrusage", "prctl", "capget", "restart_syscall",
    "exit", "exit_group", "membarrier",
    NULL,
};

/* Audio server clients (libpulse, libpipewire): shared memory, their own loops. */
static const char *const client_calls[] = {
    "epoll_create", "inotify_init1", "inotify_add_watch", "inotify_rm_watch",
    "sched_setscheduler", "sched_setattr", "sched_getattr", "sched_setaffinity",
    "setpriority", "getpriority", "setrlimit", "mincore", "flock",
    "mkdir", "mkdirat", "sendfile", "signalfd4", "connect", "socketpair", "kill",
    NULL,
};

/* ALSA's devices and plugins: dmix/dsnoop share System V memory and semaphores. */
static const char *const device_calls[] = {
    "shmget", "shmat", "shmdt", "shmctl", "semget", "semop", "semtimedop", "semctl",
    "chmod", "fchown",
    NULL,
};

/* LeakSanitizer's stop-the-world at exit. */
static const char *const sanitizer_calls[] = {
    "ptrace", "wait4", "waitid",
    NULL,
};

/* Killed outright: no handler gets to run. */
static const char *const kill_calls[] = {
    "execve", "execveat", "fork", "vfork", "ptrace", "process_vm_readv", "process_vm_writev",
    "kexec_load", "init_module", "finit_module", "bpf", "mount", "pivot_root", "chroot",
    "setns", "unshare", "userfaultfd", "perf_event_open", "personality", "setuid", "setgid",
    "setresuid", "setresgid", "setgroups", "capset",
    NULL,
};

#if defined(VSND_SANITIZED)
static const gboolean sanitized = TRUE;
#else
static const gboolean sanitized = FALSE;
#endif

static void write_str(const char *s)
{
    ssize_t r = write(STDERR_FILENO, s, strlen(s));
    (void)r;
}

/* SIGSYS from a trapped call: one line naming it, then the death it means. */
static void on_sigsys(int sig, siginfo_t *si, void *uctx)
{
    char num[16], *p = num + sizeof(num);
    unsigned int nr = (unsigned int)si->si_syscall;
    char *name;

    /* Async-signal context: no stdio, no GLib.  The number goes first; the
     * name is looked up by libseccomp, which allocates: the trapped call was
     * not made by the allocator (its calls are all allowed), and the
     * process ends here anyway. */
    *--p = '\0';
    do {
        *--p = (char)('0' + nr % 10);
        nr /= 10;
    } while (nr);
    write_str("vhost-user-snd: sandbox: forbidden system call ");
    write_str(p);
    name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, si->si_syscall);
    write_str(" (");
    write_str(name ? name : "?");
    write_str("); ending. Run with --sandbox=log to see what a driver needs.\n");
    signal(SIGSYS, SIG_DFL);
    raise(SIGSYS);
}

static int add_rule(scmp_filter_ctx ctx, uint32_t action, const char *name)
{
    int nr = seccomp_syscall_resolve_name(name);

    if (nr == __NR_SCMP_ERROR)
        return 0; /* not a call of this architecture */
    return seccomp_rule_add(ctx, action, nr, 0);
}

static int add_list(scmp_filter_ctx ctx, uint32_t action, const char *const *names)
{
    for (; *names; names++) {
        int r = add_rule(ctx, action, *names);

        /* -EEXIST: already allowed by a previous layer. */
        if (r < 0 && r != -EEXIST)
            return r;
    }
    return 0;
}

static gboolean in_list(const char *const *names, const char *name)
{
    for (; *names; names++) {
        if (strcmp(*names, name) == 0)
            return TRUE;
    }
    return FALSE;
}

/* The terminal requests GLib's logging and the C library make. */
static const unsigned long base_ioctls[] = {TCGETS, TIOCGWINSZ, FIONREAD, FIONBIO, FIOCLEX};

/* A rule for a forbidden form; none where it would repeat the default
 * action (log mode), which libseccomp refuses. */
static int add_deny(scmp_filter_ctx ctx, uint32_t deny, int nr, unsigned int n,
                    struct scmp_arg_cmp cmp)
{
    if (deny == SCMP_ACT_LOG)
        return 0;
    return n ? seccomp_rule_add(ctx, deny, nr, 1, cmp) : seccomp_rule_add(ctx, deny, nr, 0);
}

/* Rules whose arguments matter; @deny is the action for the forbidden form. */
static int add_argument_rules(scmp_filter_ctx ctx, const VsndSandboxPolicy *p, uint32_t deny)
{
    gboolean base_only = p->needs == 0;
    int r = 0;

    /* The built-in drivers never map code (no plugin is loaded after
     * start-up) and only ask the terminal; the libraries do both. */
    if (base_only) {
        r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1,
                             SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
        if (r == 0)
            r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mprotect), 1,
                                 SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
        for (size_t i = 0; r == 0 && i < G_N_ELEMENTS(base_ioctls); i++)
            r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
                                 SCMP_A1(SCMP_CMP_EQ, base_ioctls[i]));
    } else {
        r = add_list(ctx, SCMP_ACT_ALLOW, (const char *const[]){"mmap", "mprotect", "ioctl", NULL});
    }
    if (r != 0)
        return r;

    /* Sockets: Unix only, for every driver. */
    r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1, SCMP_A0(SCMP_CMP_EQ, AF_UNIX));
    if (r == 0)
        r = add_deny(ctx, deny, SCMP_SYS(socket), 1, SCMP_A0(SCMP_CMP_NE, AF_UNIX));
    /* Threads only: a clone without CLONE_THREAD is a new process.  clone3
     * hides its flags in memory, so it answers ENOSYS and the C library
     * falls back to clone.  Sanitizer builds also let LeakSanitizer clone
     * its tracer, which shares the memory (CLONE_VM) but is no thread; a
     * fork (neither flag) is refused in every build. */
    if (r == 0)
        r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
                             SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD));
    if (r == 0 && sanitized)
        r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
                             SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_VM, CLONE_VM));
    if (r == 0)
        r = add_deny(ctx, deny, SCMP_SYS(clone), 1,
                     SCMP_A0(SCMP_CMP_MASKED_EQ, sanitized ? CLONE_THREAD | CLONE_VM : CLONE_THREAD, 0));
    if (r == 0)
        r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
    return r;
}

gboolean vsnd_seccomp_apply(const VsndSandboxPolicy *p, GError **error)
{
    gboolean log = p->level == VSND_SANDBOX_LOG;
    uint32_t deny = log ? SCMP_ACT_LOG : SCMP_ACT_KILL_PROCESS;
    scmp_filter_ctx ctx = seccomp_init(log ? SCMP_ACT_LOG : SCMP_ACT_TRAP);
    int r = 0;

    if (!ctx) {
        g_set_error_literal(error, G_FILE_ERROR, G_FILE_ERROR_NOMEM, "seccomp_init failed");
        return FALSE;
    }
    /* Every thread, the audio libraries' ones included. */
    r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
    if (r == 0)
        r = add_list(ctx, SCMP_ACT_ALLOW, base_calls);
    if (r == 0 && (p->needs & (VSND_SANDBOX_NEEDS_CLIENT | VSND_SANDBOX_NEEDS_DEVICES)))
        r = add_list(ctx, SCMP_ACT_ALLOW, client_calls);
    if (r == 0 && (p->needs & VSND_SANDBOX_NEEDS_DEVICES))
        r = add_list(ctx, SCMP_ACT_ALLOW, device_calls);
    if (r == 0 && sanitized)
        r = add_list(ctx, SCMP_ACT_ALLOW, sanitizer_calls);
    for (const char *const *k = kill_calls; r == 0 && !log && *k; k++) {
        if (sanitized && in_list(sanitizer_calls, *k))
            continue;
        r = add_rule(ctx, deny, *k);
    }
    if (r == 0)
        r = add_argument_rules(ctx, p, deny);
    if (r == 0 && !log) {
        struct sigaction sa = {.sa_sigaction = on_sigsys, .sa_flags = SA_SIGINFO};

        sigemptyset(&sa.sa_mask);
        r = sigaction(SIGSYS, &sa, NULL) < 0 ? -errno : 0;
    }
    if (r == 0)
        r = seccomp_load(ctx);
    seccomp_release(ctx);
    if (r != 0) {
        g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(-r), "seccomp filter: %s",
                    g_strerror(-r));
        return FALSE;
    }
    return TRUE;
}
