/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cpu-awake.c - see cpu-awake.h.
 *
 * Why: on the CI machines (a Firecracker VM, two vCPUs, no cpuidle driver,
 * so an idle CPU executes HLT) a vCPU that halted wakes for its timer or
 * an IPI only when the host runs it again.  Measured while QEMU (TCG) ran
 * a guest playing through PipeWire: a SCHED_FIFO 88 thread sleeping to a
 * 1 ms grid woke up to 10.5 ms late (11 of 8000 wakeups over 5 ms); the
 * scheduler trace showed the CPU idle in between and the timer's wakeup
 * arriving late, not a task in its way.  With these spinners the same
 * probe saw at most 2 ms, with or without a CPU hog beside.  A graph of
 * 256 frames (5.3 ms a cycle) loses a cycle whenever its nodes wake that
 * late, whatever the daemon does; a desktop doing low-latency audio on
 * real hardware keeps its CPUs out of deep idle the same way (PM QoS,
 * idle=poll).
 */
#include "config.h"

#include "cpu-awake.h"

#include <glib.h>
#include <sched.h>
#include <unistd.h>

struct CpuAwake {
    GPtrArray *threads;
    gint stop;
};

typedef struct Spinner {
    CpuAwake *owner;
    int cpu;
} Spinner;

static gpointer spin(gpointer data)
{
    Spinner *sp = data;
    struct sched_param param = { 0 };
    cpu_set_t set;

    CPU_ZERO(&set);
    CPU_SET(sp->cpu, &set);
    /* 0: the calling thread (Linux) */
    if (sched_setaffinity(0, sizeof(set), &set) != 0 ||
        sched_setscheduler(0, SCHED_IDLE, &param) != 0) {
        /* spinning at normal priority would take time from the test */
        g_test_message("cpu-awake: CPU %d left alone (affinity or SCHED_IDLE refused)", sp->cpu);
        g_free(sp);
        return NULL;
    }
    while (!g_atomic_int_get(&sp->owner->stop))
        ;
    g_free(sp);
    return NULL;
}

CpuAwake *cpu_awake_start(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    CpuAwake *a = g_new0(CpuAwake, 1);

    a->threads = g_ptr_array_new();
    for (int cpu = 0; cpu < n && cpu < CPU_SETSIZE; cpu++) {
        Spinner *sp = g_new0(Spinner, 1);
        g_autofree char *name = g_strdup_printf("cpu-awake-%d", cpu);
        GThread *t;

        sp->owner = a;
        sp->cpu = cpu;
        t = g_thread_try_new(name, spin, sp, NULL);
        if (t)
            g_ptr_array_add(a->threads, t);
        else
            g_free(sp);
    }
    if (!a->threads->len) {
        cpu_awake_stop(a);
        return NULL;
    }
    return a;
}

void cpu_awake_stop(CpuAwake *a)
{
    if (!a)
        return;
    g_atomic_int_set(&a->stop, 1);
    for (guint i = 0; i < a->threads->len; i++)
        g_thread_join(g_ptr_array_index(a->threads, i));
    g_ptr_array_free(a->threads, TRUE);
    g_free(a);
}
