/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-audio-null.c - the null driver: pacing on the manual clock,
 * silence in every format, truthful latency, drain, overrun, no idle
 * wakeups, and loose real-clock pacing.
 */
#include "config.h"

#include <errno.h>

#include "audio/clock.h"
#include "audio/pcm-format.h"
#include "audio/registry.h"
#include "tests/audio/audio-test-util.h"

#define MS INT64_C(1000000)

/* S16 stereo 48 kHz, 10 ms periods: 480 frames, 1920 bytes. */
static VsndPcmParams params(VsndDirection dir, uint8_t format, uint8_t channels)
{
    unsigned int fb = (format == VSND_PCM_FMT_U8 || format == VSND_PCM_FMT_MU_LAW ||
                       format == VSND_PCM_FMT_A_LAW) ? 1 :
                      format == VSND_PCM_FMT_S24_3 ? 3 :
                      format == VSND_PCM_FMT_U24 ? 4 : 2;
    VsndPcmParams p = {
        .direction = dir, .format = format, .rate = VSND_PCM_RATE_48000,
        .channels = channels, .period_bytes = 480 * fb * channels,
        .buffer_bytes = 4 * 480 * fb * channels, .label = "vm: test", .stream_id = 0,
    };
    return p;
}

static VsndAudio *manual_null(void)
{
    g_autoptr(GError) err = NULL;
    VsndAudio *a = vsnd_audio_new("null,clock=manual", "vm", &err);

    g_assert_no_error(err);
    return a;
}

static ssize_t write_n(VsndAudio *a, VsndAudioStream *s, size_t n)
{
    g_autofree uint8_t *buf = g_malloc0(n);
    struct iovec iov = { buf, n };
    return vsnd_audio_write(a, s, &iov, 1);
}

static uint32_t latency(VsndAudio *a, VsndAudioStream *s)
{
    uint32_t l = 0xdeadbeef;
    g_assert_cmpint(vsnd_audio_get_latency(a, s, &l), ==, 0);
    return l;
}

static void test_playback_pacing(void)
{
    g_autoptr(VsndAudio) a = manual_null();
    VsndPcmParams p = params(VSND_DIR_OUTPUT, VSND_PCM_FMT_S16, 2);
    AtuEvents ev = { 0 };
    g_autoptr(GError) err = NULL;
    VsndAudioStream *s = vsnd_audio_open(a, &p, &atu_events, &ev, &err);

    g_assert_no_error(err);
    /* Pre-buffering before START: two periods fit, the third waits. */
    g_assert_cmpint(write_n(a, s, 1920), ==, 1920);
    g_assert_cmpint(write_n(a, s, 1920), ==, 1920);
    g_assert_cmpint(write_n(a, s, 1920), ==, -EAGAIN);
    g_assert_cmpuint(latency(a, s), ==, 3840);
    /* Not started: time passes, nothing plays. */
    vsnd_manual_clock_advance(100 * MS);
    g_assert_cmpint(ev.ready, ==, 0);
    g_assert_cmpuint(latency(a, s), ==, 3840);

    g_assert_cmpint(vsnd_audio_start(a, s), ==, 0);
    /* Half a period later: 240 frames played, latency says so exactly. */
    vsnd_manual_clock_advance(5 * MS);
    g_assert_cmpuint(latency(a, s), ==, 3840 - 960);
    g_assert_cmpint(ev.ready, ==, 0);
    /* A period boundary: ready() once, one period of room. */
    vsnd_manual_clock_advance(5 * MS);
    g_assert_cmpint(ev.ready, ==, 1);
    g_assert_cmpuint(latency(a, s), ==, 1920);
    g_assert_cmpint(write_n(a, s, 1920), ==, 1920);
    g_assert_cmpint(write_n(a, s, 1920), ==, -EAGAIN);

    /* Ten periods of play need ten periods of time, no less. */
    for (int i = 0; i < 10; i++) {
        int before = ev.ready;
        vsnd_manual_clock_advance(10 * MS - 1);
        g_assert_cmpint(write_n(a, s, 1920), ==, -EAGAIN);
        vsnd_manual_clock_advance(1);
        g_assert_cmpint(ev.ready, ==, before + 1);
        g_assert_cmpint(write_n(a, s, 1920), ==, 1920);
    }
    /* Underrun is ridden out: the clock keeps going, the buffer empties. */
    vsnd_manual_clock_advance(1000 * MS);
    g_assert_cmpuint(latency(a, s), ==, 0);
    g_assert_cmpint(ev.errors, ==, 0);

    /* STOP keeps queued audio; it plays on after START. */
    g_assert_cmpint(write_n(a, s, 1920), ==, 1920);
    g_assert_cmpint(vsnd_audio_stop(a, s), ==, 0);
    vsnd_manual_clock_advance(500 * MS);
    g_assert_cmpuint(latency(a, s), ==, 1920);
    g_assert_cmpint(vsnd_audio_start(a, s), ==, 0);
    vsnd_manual_clock_advance(10 * MS);
    g_assert_cmpuint(latency(a, s), ==, 0);
    vsnd_audio_close(a, s);
}

/* No drift: one hour in uneven steps plays exactly rate x 3600 frames. */
static void test_no_drift(void)
{
    g_autoptr(VsndAudio) a = manual_null();
    VsndPcmParams p = params(VSND_DIR_INPUT, VSND_PCM_FMT_S16, 2);
    AtuEvents ev = { 0 };
    g_autoptr(GError) err = NULL;
    VsndAudioStream *s;
    uint64_t produced = 0;

    p.rate = VSND_PCM_RATE_44100; /* 10 ms = 441 frames, not a whole ns */
    p.period_bytes = 441 * 4;
    p.buffer_bytes = 4 * p.period_bytes;
    s = vsnd_audio_open(a, &p, &atu_events, &ev, &err);
    g_assert_no_error(err);
    g_assert_cmpint(vsnd_audio_start(a, s), ==, 0);
    for (int64_t t = 0; t < 3600 * INT64_C(1000) * MS;) {
        int64_t step = 7 * MS + 1234567; /* not a multiple of anything */
        uint8_t buf[441 * 4];
        struct iovec iov = { buf, sizeof(buf) };

        step = MIN(step, 3600 * INT64_C(1000) * MS - t);
        vsnd_manual_clock_advance(step);
        t += step;
        while (vsnd_audio_read(a, s, &iov, 1) == (ssize_t)sizeof(buf))
            produced += 441;
    }
    /* What is left in the buffer plus what was read is exactly 1 h. */
    g_assert_cmpuint(produced + latency(a, s) / 4, ==, 44100u * 3600u);
    g_assert_cmpint(ev.errors, ==, 0);
    vsnd_audio_close(a, s);
}

static void check_silence(uint8_t format, const uint8_t *pattern, size_t plen)
{
    g_autoptr(VsndAudio) a = manual_null();
    VsndPcmParams p = params(VSND_DIR_INPUT, format, 2);
    AtuEvents ev = { 0 };
    g_autoptr(GError) err = NULL;
    VsndAudioStream *s = vsnd_audio_open(a, &p, &atu_events, &ev, &err);
    g_autofree uint8_t *buf = g_malloc(p.period_bytes);
    /* split in odd pieces, as guest pages split a period */
    struct iovec iov[3] = {
        { buf, 5 }, { buf + 5, 100 }, { buf + 105, p.period_bytes - 105 },
    };

    g_assert_no_error(err);
    memset(buf, 0x55, p.period_bytes);
    /* Nothing captured before START. */
    g_assert_cmpint(vsnd_audio_read(a, s, iov, 3), ==, -EAGAIN);
    g_assert_cmpint(vsnd_audio_start(a, s), ==, 0);
    vsnd_manual_clock_advance(9 * MS);
    g_assert_cmpint(ev.ready, ==, 0);
    g_assert_cmpint(vsnd_audio_read(a, s, iov, 3), ==, -EAGAIN);
    vsnd_manual_clock_advance(1 * MS);
    g_assert_cmpint(ev.ready, ==, 1);
    g_assert_cmpuint(latency(a, s), ==, p.period_bytes);
    g_assert_cmpint(vsnd_audio_read(a, s, iov, 3), ==, (ssize_t)p.period_bytes);
    for (size_t i = 0; i < p.period_bytes; i++)
        g_assert_cmphex(buf[i], ==, pattern[i % plen]);
    g_assert_cmpuint(latency(a, s), ==, 0);
    vsnd_audio_close(a, s);
}

static void test_capture_silence(void)
{
    static const uint8_t zero[] = { 0 }, u8[] = { 0x80 }, u24[] = { 0, 0, 0x80, 0 },
                         mulaw[] = { 0xff }, alaw[] = { 0xd5 };

    check_silence(VSND_PCM_FMT_S16, zero, 1);
    check_silence(VSND_PCM_FMT_U8, u8, 1);
    check_silence(VSND_PCM_FMT_U24, u24, 4);
    check_silence(VSND_PCM_FMT_MU_LAW, mulaw, 1);
    check_silence(VSND_PCM_FMT_A_LAW, alaw, 1);
    check_silence(VSND_PCM_FMT_S24_3, zero, 1);
}

static void test_capture_overrun(void)
{
    g_autoptr(VsndAudio) a = manual_null();
    VsndPcmParams p = params(VSND_DIR_INPUT, VSND_PCM_FMT_S16, 2);
    AtuEvents ev = { 0 };
    g_autoptr(GError) err = NULL;
    VsndAudioStream *s = vsnd_audio_open(a, &p, &atu_events, &ev, &err);

    g_assert_no_error(err);
    g_assert_cmpint(vsnd_audio_start(a, s), ==, 0);
    vsnd_manual_clock_advance(100 * MS);
    /* reported once, as an xrun */
    g_assert_cmpint(ev.errors, ==, 1);
    g_assert_cmpint(ev.last_error, ==, -EPIPE);
    /* the buffer is bounded: two periods */
    g_assert_cmpuint(latency(a, s), ==, 2 * p.period_bytes);
    vsnd_audio_close(a, s);
}

static void test_drain(void)
{
    g_autoptr(VsndAudio) a = manual_null();
    VsndPcmParams p = params(VSND_DIR_OUTPUT, VSND_PCM_FMT_S16, 2);
    AtuEvents ev = { 0 };
    g_autoptr(GError) err = NULL;
    VsndAudioStream *s = vsnd_audio_open(a, &p, &atu_events, &ev, &err);

    g_assert_no_error(err);
    g_assert_cmpint(vsnd_audio_drain(a, s), ==, 0); /* empty */
    g_assert_cmpint(write_n(a, s, 1920), ==, 1920);
    g_assert_cmpint(vsnd_audio_start(a, s), ==, 0);
    g_assert_cmpint(vsnd_audio_drain(a, s), ==, -EINPROGRESS);
    vsnd_manual_clock_advance(10 * MS);
    g_assert_cmpint(ev.ready, ==, 1);
    g_assert_cmpuint(latency(a, s), ==, 0);
    g_assert_cmpint(vsnd_audio_drain(a, s), ==, 0);
    vsnd_audio_close(a, s);
}

static bool ready_seen(void *data)
{
    return ((AtuEvents *)data)->ready > 0;
}

/* Real clock: stopped or closed streams leave no timer armed. */
static void test_idle_no_wakeups(void)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(VsndAudio) a = vsnd_audio_new("null", "vm", &err);
    VsndPcmParams p = params(VSND_DIR_INPUT, VSND_PCM_FMT_S16, 2);
    AtuEvents ev = { 0 };
    VsndAudioStream *s;
    uint8_t buf[1920];
    struct iovec iov = { buf, sizeof(buf) };

    g_assert_no_error(err);
    while (g_main_context_iteration(NULL, FALSE))
        ;
    s = vsnd_audio_open(a, &p, &atu_events, &ev, &err);
    g_assert_no_error(err);
    g_assert_false(g_main_context_pending(NULL));
    g_assert_cmpint(vsnd_audio_start(a, s), ==, 0);
    g_assert_cmpint(vsnd_audio_read(a, s, &iov, 1), ==, -EAGAIN);
    g_assert_true(atu_wait(ready_seen, &ev, 5.0));
    g_assert_cmpint(vsnd_audio_stop(a, s), ==, 0);
    /* 50 ms with the stream stopped: nothing to dispatch at all. */
    g_usleep(50000);
    g_assert_false(g_main_context_pending(NULL));
    g_assert_false(g_main_context_iteration(NULL, FALSE));
    vsnd_audio_close(a, s);
    g_usleep(20000);
    g_assert_false(g_main_context_iteration(NULL, FALSE));
}

/* Real clock: 0.5 s of audio takes about 0.5 s (loose bounds). */
static void test_real_pacing(void)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(VsndAudio) a = vsnd_audio_new("null", "vm", &err);
    VsndPcmParams p = params(VSND_DIR_OUTPUT, VSND_PCM_FMT_S16, 2);
    AtuEvents ev = { 0 };
    VsndAudioStream *s;
    g_autofree uint8_t *buf = g_malloc0(48000 * 4);
    gint64 t0;
    double elapsed;

    g_assert_no_error(err);
    s = vsnd_audio_open(a, &p, &atu_events, &ev, &err);
    g_assert_no_error(err);
    g_assert_cmpint(vsnd_audio_start(a, s), ==, 0);
    t0 = g_get_monotonic_time();
    g_assert_true(atu_write_all(a, s, buf, 24000 * 4, 1920, 10.0));
    elapsed = (double)(g_get_monotonic_time() - t0) / G_USEC_PER_SEC;
    g_test_message("0.5 s of audio accepted in %.3f s", elapsed);
    /* Two periods may be buffered ahead: at least 0.48 s minus slack. */
    g_assert_cmpfloat(elapsed, >=, 0.45);
    g_assert_cmpfloat(elapsed, <, 5.0);
    vsnd_audio_close(a, s);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/audio/null/playback/pacing-manual-clock", test_playback_pacing);
    g_test_add_func("/audio/null/capture/no-drift-one-hour", test_no_drift);
    g_test_add_func("/audio/null/capture/silence-per-format", test_capture_silence);
    g_test_add_func("/audio/null/capture/overrun-reported-once", test_capture_overrun);
    g_test_add_func("/audio/null/playback/drain", test_drain);
    g_test_add_func("/audio/null/idle/no-wakeups", test_idle_no_wakeups);
    g_test_add_func("/audio/null/playback/real-clock-pacing", test_real_pacing);
    return g_test_run();
}
