/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * heard-judge.h - judging latency_bytes by when the frames passed the
 * sink (test-integration-latency).
 *
 * The signal (S16 stereo 48 kHz): every frame says its own index, so a
 * recording of the sink's monitor (heard-clock.h) tells when each frame
 * was heard.  latency_bytes says that a guest that stopped writing when
 * it took a completion would still hear L bytes: the end E of the
 * completed message passes the sink at t_c + L / byte rate.  hj_verdict()
 * compares that with the recordings for every completion made once the
 * sink played the stream's first frame.
 */
#ifndef VSND_TESTS_HEARD_JUDGE_H
#define VSND_TESTS_HEARD_JUDGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <glib.h>

#include "tests/audio/heard-clock.h"
#include "tests/harness/sg-alsa.h"

/* @frames frames of the signal (g_free()). */
int16_t *hj_signal_new(size_t frames);
/* Whether the @n frames of @rec (S16 stereo) hold the signal's @frames
 * frames once each, in order, with nothing but silence around them, and
 * at most @inside_max frames of silence between them (HJ_ANY_SILENCE: a
 * player's underruns), and at most @jumps places out of place (a lost or
 * repeated run) that skip at most @lost_max frames in all; what they hold
 * is appended to @m. */
#define HJ_ANY_SILENCE SIZE_MAX
bool hj_signal_whole(const int16_t *rec, size_t n, size_t frames, size_t inside_max,
                     unsigned int jumps, size_t lost_max, GString *m);
/* Whether frame @idx of the signal is in @rec yet (its last chunks; safe
 * while the recorder runs). */
bool hj_recorded(const HcRecording *rec, size_t idx);
/*
 * Whether the frames of the signal (@frames) in the @nrec recordings came
 * once and in order, no more than @loss_frames of them lost or garbled at
 * the sink (HJ_SINK_JUDGED: the sink's own recording judged every frame,
 * and what the recordings lack is their own loss, only reported), and
 * every completion of @trace whose message end was heard
 * without a break in the sink's timeline agrees with them within @tol_ms
 * plus how far the recorders' stamps stray from the sink's steady rate
 * (at most @tol_ms more: the judge's own uncertainty) (at least half of
 * them judged); and whether latency_bytes taken as 0
 * would fail (the check tells a right latency from a wrong one).  The
 * figures go to g_test_message(), prefixed by @what.  Return: NULL if
 * all holds, else what does not (g_free()).
 */
#define HJ_SINK_JUDGED SIZE_MAX
char *hj_verdict(const char *what, const SgAlsaCompletion *trace, unsigned int n,
                 const HcRecording *rec, unsigned int nrec, size_t frames, double tol_ms,
                 size_t loss_frames);

/*
 * Capture: the guest recorded @got (@got_frames frames, its positions
 * from 0) while the host played the signal (@frames) into the sink whose
 * monitor the device captures and @rec's clocked recorders record in the
 * same graph cycles (@quantum frames each).  latency_bytes of a capture
 * completion counts the frames captured after the message's last one: the
 * frame that many after it must have come in the latest cycle that began
 * before the completion (no later than the completion, no earlier than a
 * quantum and @tol_ms before it), for every completion whose message ended
 * in the signal (at least half of them), and latency_bytes a quantum
 * larger must not (it would claim frames not yet captured: the check
 * tells a right latency from a wrong one).  Return: NULL if
 * all holds, else what does not (g_free()).
 */
char *hj_capture_verdict(const char *what, const SgAlsaCompletion *trace, unsigned int n,
                         const int16_t *got, size_t got_frames, const HcRecording *rec,
                         unsigned int nrec, size_t frames, unsigned int quantum, double tol_ms);

#endif /* VSND_TESTS_HEARD_JUDGE_H */
