/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * stall-retry.h - play again what failed while the machine stopped.
 *
 * No device keeps time on a machine that stops its CPUs: a graph node
 * woken late in its cycle misses it, and a stream loses a quantum.  A
 * test that judges samples against a real server runs its play through
 * stall_retry(): what fails inside an attempt is collected
 * (stall_retry_failf()), and a failed attempt is played again when the
 * stall probe (stall-probe.h) saw a CPU stop long enough to explain it,
 * or when the test names another cause; a failure nothing explains fails
 * the test at once, and so does a failed assertion.  Every stop and what
 * each attempt said are in the test's log.
 */
#ifndef VSND_TESTS_STALL_RETRY_H
#define VSND_TESTS_STALL_RETRY_H

#include <glib.h>
#include <stdbool.h>

#include "tests/audio/stall-probe.h"

/* A failure: collected inside stall_retry()'s attempt, else the test
 * fails at once.  Takes @msg. */
void stall_retry_fail(char *msg);
#define stall_retry_failf(...) stall_retry_fail(g_strdup_printf(__VA_ARGS__))
/* Whether the test failed, or the running attempt has. */
bool stall_retry_failed(void);

/* One attempt. */
typedef void (*StallRetryBody)(void *opaque);
/*
 * After a failed attempt that said @failed: set *@explains_ms, the CPU
 * stop that explains such a failure, and append to @what what it
 * explains (say, "a loss, half a cycle of 1024 frames").  Return true
 * when something other than a CPU stop explains it (the daemon's own
 * report that the graph did not run its stream), also said in @what.
 */
typedef bool (*StallRetryExplain)(const char *failed, void *opaque, double *explains_ms,
                                  GString *what);

/* Run @body up to @attempts times, until an attempt passes or fails
 * unexplained.  Return: whether the last attempt passed. */
bool stall_retry(StallProbe *probe, int attempts, StallRetryBody body, StallRetryExplain explain,
                 void *opaque);

#endif
