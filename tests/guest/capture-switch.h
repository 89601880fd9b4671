/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * capture-switch.h - judge a guest's recording that switched back-ends
 * mid-way (a migration, a restarted daemon): S16_LE stereo at GT_RATE,
 * each back-end reading the same host input file from its own start.
 *
 * The recording must begin with an exact prefix of the input (the first
 * back-end), then silence (the frames no back-end delivered), then the
 * input again exactly, from wherever the second back-end was in it.
 */
#ifndef VSND_TESTS_GUEST_CAPTURE_SWITCH_H
#define VSND_TESTS_GUEST_CAPTURE_SWITCH_H

#include <glib.h>

#include "judge/audio-judge.h"

typedef struct {
    gsize head;          /* bytes from the first back-end: the input's prefix */
    gsize silent_ms;     /* the silence after them */
    gsize tail;          /* bytes after the silence */
    JudgeFind tail_find; /* where the input is in them (whole: all of them) */
} CaptureSwitch;

/* Judge @rec against the host's input @src; *desc gets an account. */
void capture_switch_judge(const guint8 *rec, gsize rec_len, const guint8 *src, gsize src_len,
                          CaptureSwitch *out, GString *desc);

#endif /* VSND_TESTS_GUEST_CAPTURE_SWITCH_H */
