/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * alsa-status.h - what a real guest's ALSA saw of latency_bytes.  Linux's
 * virtio_snd keeps the latency_bytes of each completion (in frames) as the
 * stream's runtime->delay, and ALSA reports delay = buffer_size - avail +
 * runtime->delay; /proc/asound/card0/pcm0p/sub0/status shows delay, avail
 * and hw_ptr (the stream position after the last completion), and
 * hw_params buffer_size, so each sample names the completion whose
 * latency_bytes it must hold (alsa-status.c says which races allow a
 * neighbour's).
 */
#ifndef VSND_TESTS_ALSA_STATUS_H
#define VSND_TESTS_ALSA_STATUS_H

#include <stdint.h>

#include "tests/harness/sg-alsa.h"

/* The guest's shell loop that samples the status while `aplay` (started
 * before it, as $!) runs: one sample after each "@@status" line. */
#define GAS_SAMPLE_LOOP(status_file, hw_params_file, out_file)                                              \
    "p=$!; while kill -0 $p 2>/dev/null; do echo @@status; cat " status_file "; "           \
    "grep buffer_size " hw_params_file "; usleep 30000; done > " out_file " 2>&1; wait $p"

typedef struct GasDelays {
    unsigned int samples;  /* status samples in the dump */
    unsigned int running;  /* ...of a running (or draining) stream */
    unsigned int judged;   /* ...whose hw_ptr is the end of a completion of the trace */
    unsigned int agree;    /* ...whose delay holds that completion's latency_bytes */
    unsigned int next;     /* ...of them, a neighbour's (races in Linux's
                            * /proc: see alsa-status.c) */
} GasDelays;

/*
 * Compare the samples in @dump with the daemon's completions @trace (@n,
 * end_bytes counted from the guest's hw_ptr 0, @frame_bytes a frame).
 * Return: NULL if every judged sample agrees (with its completion's
 * latency_bytes or, raced, a neighbour's), else the first ones that do
 * not (g_free()).  @out gets the counts.
 */
char *gas_check_delays(const char *dump, const SgAlsaCompletion *trace, unsigned int n,
                       unsigned int frame_bytes, GasDelays *out);

#endif /* VSND_TESTS_ALSA_STATUS_H */
