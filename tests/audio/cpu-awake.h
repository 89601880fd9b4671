/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cpu-awake.h - keep every CPU of the test machine out of its idle halt
 * while a low-latency audio graph runs.
 */
#ifndef VSND_TESTS_CPU_AWAKE_H
#define VSND_TESTS_CPU_AWAKE_H

typedef struct CpuAwake CpuAwake;

/* One SCHED_IDLE thread per online CPU, pinned there, spinning: it runs
 * only when nothing else wants that CPU, so it takes no time from the
 * daemon, the servers or QEMU, but the CPU never halts.  NULL when no
 * thread could be started (the test goes on without). */
CpuAwake *cpu_awake_start(void);
/* Stop and join them; NULL is fine. */
void cpu_awake_stop(CpuAwake *a);

#endif
