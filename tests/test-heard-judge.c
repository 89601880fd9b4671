/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-heard-judge.c - the judge of latency_bytes by when frames passed
 * the sink (tests/audio/heard-judge.h), on recordings made up here: a
 * sink that played every frame of the signal at its steady rate, and a
 * device whose latency_bytes says so.  The judge passes what is right,
 * fails a wrong latency, counts the runs a recording skips, and tells a
 * loss at the sink from the clocked recorders' own (HJ_SINK_JUDGED).
 */
#include "config.h"

#include <string.h>

#include "tests/audio/heard-judge.h"

#define RATE 48000
#define CH 2
#define FRAME 4
#define QUANTUM 1024
#define PERIOD 960                  /* 20 ms */
#define FRAMES (150 * PERIOD)       /* 3 s */
#define AHEAD (3 * PERIOD)          /* what the device holds at a completion */
#define T0_NS ((int64_t)10 * 1000000000)

static int64_t heard_ns(size_t frame)
{
    return T0_NS + (int64_t)frame * 1000000000 / RATE;
}

/* What a clocked recorder did not get right: the frames [lost_from,
 * lost_to) never reach it, [garbled_from, garbled_to) reach it with one
 * channel only. */
typedef struct Spoil {
    size_t lost_from, lost_to;
    size_t garbled_from, garbled_to;
} Spoil;

/* The sink's monitor as a clocked recorder gets it: a chunk per graph
 * cycle, stamped with when its first frame passed the sink. */
static void record(HcRecording *r, const int16_t *sig, const Spoil *sp)
{
    int16_t buf[QUANTUM * CH];

    hc_recording_init(r, FRAMES + QUANTUM);
    for (size_t f = 0; f < FRAMES; f += QUANTUM) {
        uint32_t n = (uint32_t)MIN(QUANTUM, FRAMES - f);

        if (f >= sp->lost_from && f < sp->lost_to)
            continue;
        memcpy(buf, sig + f * CH, n * FRAME);
        for (uint32_t j = 0; j < n; j++)
            if (f + j >= sp->garbled_from && f + j < sp->garbled_to)
                buf[j * CH + 1] = 0;
        g_assert_true(hc_recording_add(r, buf, n, heard_ns(f), heard_ns(f) + 500000));
    }
}

/*
 * hj_verdict() on @nrec recorders spoilt by @spoils, of a device that
 * completes a period every 20 ms, each taken 1 ms after it was made, with
 * latency_bytes @off_ms more than what the sink then still had to play of
 * it.
 */
static char *verdict(const char *what, const Spoil *spoils, unsigned int nrec, double off_ms,
                     size_t loss_frames)
{
    g_autofree int16_t *sig = hj_signal_new(FRAMES);
    const unsigned int n = FRAMES / PERIOD;
    g_autofree SgAlsaCompletion *tr = g_new0(SgAlsaCompletion, n);
    HcRecording rec[2];

    g_assert_cmpuint(nrec, <=, G_N_ELEMENTS(rec));
    for (unsigned int k = 0; k < n; k++) {
        size_t end = (size_t)(k + 1) * PERIOD;
        int64_t t_c = heard_ns(end) - heard_ns(AHEAD) + T0_NS;

        tr[k].t_us = t_c / 1000;
        tr[k].t_lo_us = tr[k].t_us - 1000;
        tr[k].latency_bytes = (uint32_t)(AHEAD * FRAME + off_ms * RATE / 1000 * FRAME);
        tr[k].end_bytes = (uint64_t)end * FRAME;
    }
    for (unsigned int i = 0; i < nrec; i++)
        record(&rec[i], sig, &spoils[i]);
    char *why = hj_verdict(what, tr, n, rec, nrec, FRAMES, 20.0, loss_frames);
    for (unsigned int i = 0; i < nrec; i++)
        hc_recording_clear(&rec[i]);
    return why;
}

static const Spoil whole = { 0, 0, 0, 0 };

static void test_right_latency_passes(void)
{
    const Spoil sp[2] = { whole, whole };
    g_autofree char *why = verdict("right", sp, 2, 0, 0);

    g_assert_null(why);
}

static void test_wrong_latency_fails(void)
{
    g_autofree char *why = verdict("30 ms short", &whole, 1, -30.0, 0);

    g_assert_nonnull(why);
    g_assert_nonnull(strstr(why, "latency_bytes is wrong"));
}

/* Three quanta neither recorder got: lost at the sink, unless the sink's
 * own recording judged every frame. */
static void test_recorders_loss(void)
{
    const Spoil lost = { 20 * QUANTUM, 23 * QUANTUM, 0, 0 };
    const Spoil sp[2] = { lost, lost };
    g_autofree char *at_sink = verdict("lost", sp, 2, 0, 2 * QUANTUM);
    g_autofree char *theirs = verdict("theirs", sp, 2, 0, HJ_SINK_JUDGED);

    g_assert_nonnull(at_sink);
    g_assert_nonnull(strstr(at_sink, "3072 frames lost or garbled at the sink (2048 allowed)"));
    g_assert_null(theirs);
}

/* What one recorder lost, the other has: nothing is missing.  A garbled
 * quantum counts as the sink's unless the sink's recording judged it. */
static void test_one_recorder_covers_the_other(void)
{
    const Spoil lost[2] = { { 20 * QUANTUM, 23 * QUANTUM, 0, 0 }, whole };
    const Spoil garbled[2] = { { 0, 0, 40 * QUANTUM, 41 * QUANTUM }, whole };
    g_autofree char *covered = verdict("covered", lost, 2, 0, 0);
    g_autofree char *at_sink = verdict("garbled", garbled, 2, 0, 0);
    g_autofree char *theirs = verdict("garbled, theirs", garbled, 2, 0, HJ_SINK_JUDGED);

    g_assert_null(covered);
    g_assert_nonnull(at_sink);
    g_assert_nonnull(strstr(at_sink, "1024 frames lost or garbled at the sink"));
    g_assert_null(theirs);
}

/* A recorder that lost nearly everything leaves too little to judge,
 * whoever lost it. */
static void test_too_little_heard_fails(void)
{
    const Spoil deaf = { 10 * QUANTUM, FRAMES, 0, 0 };
    g_autofree char *why = verdict("deaf", &deaf, 1, 0, HJ_SINK_JUDGED);

    g_assert_nonnull(why);
    g_assert_nonnull(strstr(why, "could be judged"));
}

/* The sink's own recording: a run it skipped is counted in frames. */
static void test_signal_whole_counts_skipped(void)
{
    const size_t frames = 8 * QUANTUM;
    g_autofree int16_t *sig = hj_signal_new(frames);
    g_autofree int16_t *rec = g_new0(int16_t, (frames + 2 * QUANTUM) * CH);
    size_t n = 0;

    /* silence, the signal less its quanta 3 and 4, silence */
    n += QUANTUM;
    memcpy(rec + n * CH, sig, 3 * QUANTUM * FRAME);
    n += 3 * QUANTUM;
    memcpy(rec + n * CH, sig + 5 * QUANTUM * CH, 3 * QUANTUM * FRAME);
    n += 3 * QUANTUM + QUANTUM;

    g_autoptr(GString) m = g_string_new(NULL);
    g_assert_true(hj_signal_whole(rec, n, frames, HJ_ANY_SILENCE, 1, 2 * QUANTUM, m));
    g_assert_nonnull(strstr(m->str, "2048 skipped"));
    g_string_truncate(m, 0);
    g_assert_false(hj_signal_whole(rec, n, frames, HJ_ANY_SILENCE, 1, 2 * QUANTUM - 1, m));
    g_string_truncate(m, 0);
    g_assert_false(hj_signal_whole(rec, n, frames, HJ_ANY_SILENCE, 0, 2 * QUANTUM, m));
    g_string_truncate(m, 0);
    /* whole: nothing skipped */
    g_assert_true(hj_signal_whole(sig, frames, frames, 0, 0, 0, m));
    g_assert_nonnull(strstr(m->str, "0 skipped"));
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/heard-judge/right-latency-passes", test_right_latency_passes);
    g_test_add_func("/heard-judge/wrong-latency-fails", test_wrong_latency_fails);
    g_test_add_func("/heard-judge/recorders-loss", test_recorders_loss);
    g_test_add_func("/heard-judge/one-recorder-covers-the-other",
                    test_one_recorder_covers_the_other);
    g_test_add_func("/heard-judge/too-little-heard-fails", test_too_little_heard_fails);
    g_test_add_func("/heard-judge/signal-whole-counts-skipped", test_signal_whole_counts_skipped);
    return g_test_run();
}
