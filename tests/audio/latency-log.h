/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * latency-log.h - what the daemon's --verbose log says of latency_bytes:
 * every I/O completion (when, how many bytes, the latency_bytes it
 * carried: snd-pcm-pump.c's "completed at" line) as a trace for
 * heard-judge.h, and what PipeWire itself reported for the stream (the
 * pipewire driver's line per latency query).  Used where the test cannot
 * see the completions itself: a real guest (test-guest-desktop), and next
 * to the fake guest's own trace (test-integration-latency).
 */
#ifndef VSND_TESTS_LATENCY_LOG_H
#define VSND_TESTS_LATENCY_LOG_H

#include <stdbool.h>
#include <stdint.h>

#include "tests/harness/sg-alsa.h"

/*
 * The playback (@tx) or capture completions of stream @sid in @log, in
 * order, into @trace (at most @cap): t_us (and t_lo_us: the device knows
 * the moment) when the daemon completed it, latency_bytes, and end_bytes
 * counted from the first completion in @log (give the log from the play's
 * start).  Return: how many (those past @cap are counted, not stored).
 */
unsigned int ll_completions(const char *log, uint32_t sid, bool tx, SgAlsaCompletion *trace,
                            unsigned int cap);

/* What the pipewire driver logged of pw_stream_get_time_n over @log, as
 * one line (g_free()). */
char *ll_pipewire_report(const char *log);

#endif /* VSND_TESTS_LATENCY_LOG_H */
