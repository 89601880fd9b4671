/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * heard-clock-pulse.h - a PulseAudio recorder of a sink's monitor inside
 * the test process (its own threaded mainloop) that notes when each
 * fragment passed the sink, as PulseAudio itself reckons it: a record
 * stream's latency (pa_stream_get_latency(), interpolated, negative for a
 * monitor whose sink has not played the samples yet) is how long ago the
 * next sample to read was played.
 */
#ifndef VSND_TESTS_HEARD_CLOCK_PULSE_H
#define VSND_TESTS_HEARD_CLOCK_PULSE_H

#include "heard-clock.h"

typedef struct HcPulse HcPulse;

/* Record @source (S16 stereo 48 kHz) into @rec; PULSE_SERVER names the
 * server.  NULL if it cannot connect. */
HcPulse *hc_pulse_start(const char *source, HcRecording *rec);
/* Fragments read so far. */
unsigned int hc_pulse_reads(HcPulse *p);
/* Disconnect and free; @rec keeps what was recorded. */
void hc_pulse_stop(HcPulse *p);

#endif /* VSND_TESTS_HEARD_CLOCK_PULSE_H */
