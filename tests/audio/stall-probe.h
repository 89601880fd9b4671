/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * stall-probe.h - how long the test machine stopped running its threads.
 *
 * One realtime thread per online CPU, pinned there, sleeps to a 1 ms grid
 * and notes how late it woke.  A realtime thread preempts every ordinary
 * task, so a late wakeup is a CPU that did not run at all (a vCPU its host
 * did not schedule) or a realtime task in the way: time no audio path on
 * that CPU got, the daemon's included.  Without the privilege for a
 * realtime policy the threads run at normal priority and say so.
 */
#ifndef VSND_TESTS_STALL_PROBE_H
#define VSND_TESTS_STALL_PROBE_H

#include <stdbool.h>

typedef struct StallProbe StallProbe;

/* NULL when no thread could be started. */
StallProbe *stall_probe_start(void);
/* Forget what was seen so far. */
void stall_probe_reset(StallProbe *p);
/* The latest any thread woke since the last reset, in ms, and on which
 * CPU (@cpu may be NULL); 0 for NULL. */
double stall_probe_worst_ms(StallProbe *p, int *cpu);
/* Whether the threads run with a realtime policy. */
bool stall_probe_realtime(StallProbe *p);
/* Stop and join them; NULL is fine. */
void stall_probe_stop(StallProbe *p);

#endif
