/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * heard-clock-pw.h - a PipeWire recorder of a sink's monitor inside the
 * test process (its own pw_thread_loop, process() on the data thread) that
 * notes when each quantum passed the sink: the graph cycle that carried
 * it started at pw_time.now (the driver's CLOCK_MONOTONIC time for the
 * cycle, not when this thread got to run), and the monitor hands the
 * recorder the quantum the sink took in the same cycle.
 */
#ifndef VSND_TESTS_HEARD_CLOCK_PW_H
#define VSND_TESTS_HEARD_CLOCK_PW_H

#include "heard-clock.h"

typedef struct HcPw HcPw;

/* Record the monitor of @sink into @rec (S16 stereo 48 kHz) as node
 * @node_name; PIPEWIRE_RUNTIME_DIR must name the server.  NULL if it
 * cannot connect. */
HcPw *hc_pw_start(const char *sink, const char *node_name, HcRecording *rec);
/* Cycles seen so far (the recorder is linked once this moves). */
unsigned int hc_pw_cycles(HcPw *p);
/* Frames recorded so far. */
size_t hc_pw_frames(HcPw *p);
/* Disconnect and free; @rec keeps what was recorded. */
void hc_pw_stop(HcPw *p);

#endif /* VSND_TESTS_HEARD_CLOCK_PW_H */
