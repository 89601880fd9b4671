/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bench-proc.h - start any vhost-user sound back-end from a command
 * template and observe it from the outside.
 *
 * Theory of operation: the back-end under test is a black box.  Its
 * command line is a template in which {socket}, {streams}, {daemon} and
 * {stream_opts} are replaced (then split like a shell would, without
 * running a shell), so rust-vmm's vhost-device-sound or any other
 * implementation runs under the same measurements as ours.  Everything
 * measured about the process comes from /proc and the kernel's per-process
 * CPU clock (clock_getcpuclockid(3)): CPU time in ns, voluntary and
 * involuntary context switches of all threads (each sleep/wake cycle of a
 * thread is one voluntary switch, so their rate is the wakeup rate), RSS
 * and its anon/file/shmem split.
 *
 * The harness's daemon.h spawns only $VSND_DAEMON with fixed arguments;
 * arbitrary templates are why this file exists (candidate for the harness).
 *
 * Ownership: BpProc owns the child (killed and reaped by bp_free()) and its
 * private temporary directory (socket, stderr log).  Single-threaded.
 */
#ifndef VSND_BENCH_PROC_H
#define VSND_BENCH_PROC_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct BpVars {
    const char *daemon;      /* {daemon} */
    unsigned int streams;    /* {streams} */
    const char *stream_opts; /* {stream_opts}, may be "" */
} BpVars;

typedef struct BpProc BpProc;

/* Fill the template; Return: newly allocated command line. */
char *bp_expand(const char *tmpl, const char *socket, const BpVars *vars);

/*
 * bp_spawn() - run the expanded template in a fresh temp dir.
 * Return: the process, or NULL with @error (bad template, exec failure).
 */
BpProc *bp_spawn(const char *tmpl, const BpVars *vars, GError **error);
void bp_free(BpProc *p);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(BpProc, bp_free)

pid_t bp_pid(const BpProc *p);
const char *bp_socket(const BpProc *p);
const char *bp_cmdline(const BpProc *p);
/* CLOCK_MONOTONIC ns just before the spawn. */
int64_t bp_spawn_ns(const BpProc *p);
/* Last lines the back-end wrote to stderr (newly allocated). */
char *bp_stderr_tail(const BpProc *p, size_t max);
bool bp_alive(BpProc *p);

/*
 * bp_wait_listening() - wait until a connect() to the socket succeeds.
 * With @probe false only the socket's existence is awaited (a back-end
 * that serves exactly one connection is not disturbed).
 * Return: ns from spawn to success, or -1 (timeout or the process died).
 */
int64_t bp_wait_listening(BpProc *p, bool probe, int timeout_ms);

typedef struct BpSample {
    int64_t t_ns;             /* CLOCK_MONOTONIC when taken */
    int64_t cpu_ns;           /* user+system of all threads, ever */
    uint64_t vol_cs, invol_cs; /* context switches summed over live threads */
    long rss_kb, anon_kb, file_kb, shmem_kb;
    long pss_kb;              /* proportional set size (smaps_rollup), -1 if unknown */
    int threads;
} BpSample;

/* Read the probes. Return: false if the process is gone. */
bool bp_sample(BpProc *p, BpSample *s);

/* Monotonic clock in ns. */
int64_t bp_now_ns(void);

#endif /* VSND_BENCH_PROC_H */
