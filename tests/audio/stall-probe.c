/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * stall-probe.c - see stall-probe.h.
 */
#include "config.h"

#include "stall-probe.h"

#include <glib.h>
#include <sched.h>
#include <time.h>
#include <unistd.h>

#define GRID_NS 1000000LL

struct StallProbe {
    GPtrArray *threads;
    gint stop;
    gint realtime;        /* threads that got SCHED_FIFO */
    gint64 *worst_ns;     /* per CPU, since the last reset (atomic) */
    int n_cpus;
};

typedef struct Probe {
    StallProbe *owner;
    int cpu;
} Probe;

static int64_t mono_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static gpointer probe(gpointer data)
{
    Probe *pr = data;
    StallProbe *p = pr->owner;
    struct sched_param param = { .sched_priority = sched_get_priority_max(SCHED_FIFO) };
    cpu_set_t set;

    CPU_ZERO(&set);
    CPU_SET(pr->cpu, &set);
    (void)sched_setaffinity(0, sizeof(set), &set);
    if (sched_setscheduler(0, SCHED_FIFO, &param) == 0)
        g_atomic_int_inc(&p->realtime);
    int64_t due = mono_ns();
    while (!g_atomic_int_get(&p->stop)) {
        due += GRID_NS;
        struct timespec ts = { (time_t)(due / 1000000000LL), (long)(due % 1000000000LL) };
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
        int64_t late = mono_ns() - due;
        gint64 *w = &p->worst_ns[pr->cpu];
        gint64 cur = __atomic_load_n(w, __ATOMIC_RELAXED);
        while (late > cur && !__atomic_compare_exchange_n(w, &cur, late, false,
                                                          __ATOMIC_RELAXED, __ATOMIC_RELAXED))
            ;
        if (late > GRID_NS)
            due = mono_ns(); /* back on the grid from now */
    }
    g_free(pr);
    return NULL;
}

StallProbe *stall_probe_start(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    StallProbe *p = g_new0(StallProbe, 1);

    p->n_cpus = n > 0 ? (int)n : 1;
    p->worst_ns = g_new0(gint64, p->n_cpus);
    p->threads = g_ptr_array_new();
    for (int cpu = 0; cpu < p->n_cpus; cpu++) {
        Probe *pr = g_new0(Probe, 1);
        g_autofree char *name = g_strdup_printf("stall-probe-%d", cpu);
        GThread *t;

        pr->owner = p;
        pr->cpu = cpu;
        t = g_thread_try_new(name, probe, pr, NULL);
        if (t)
            g_ptr_array_add(p->threads, t);
        else
            g_free(pr);
    }
    if (!p->threads->len) {
        stall_probe_stop(p);
        return NULL;
    }
    return p;
}

void stall_probe_reset(StallProbe *p)
{
    for (int cpu = 0; p && cpu < p->n_cpus; cpu++)
        __atomic_store_n(&p->worst_ns[cpu], 0, __ATOMIC_RELAXED);
}

double stall_probe_worst_ms(StallProbe *p, int *cpu)
{
    gint64 worst = 0;

    if (cpu)
        *cpu = -1;
    for (int c = 0; p && c < p->n_cpus; c++) {
        gint64 w = __atomic_load_n(&p->worst_ns[c], __ATOMIC_RELAXED);
        if (w > worst) {
            worst = w;
            if (cpu)
                *cpu = c;
        }
    }
    return worst / 1e6;
}

bool stall_probe_realtime(StallProbe *p)
{
    return p && g_atomic_int_get(&p->realtime) == (gint)p->threads->len;
}

void stall_probe_stop(StallProbe *p)
{
    if (!p)
        return;
    g_atomic_int_set(&p->stop, 1);
    for (guint i = 0; i < p->threads->len; i++)
        g_thread_join(g_ptr_array_index(p->threads, i));
    g_ptr_array_free(p->threads, TRUE);
    g_free(p->worst_ns);
    g_free(p);
}
