/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-audio-judge.c - the audio judge of the real-guest tests, judged
 * itself: tones are measured where they were generated in every format,
 * planted clicks, gaps and phase jumps are found where they were planted
 * (and a clean sine has none), bit comparison and the "A inside B" search
 * point at the right byte, and WAV files round-trip in every layout while
 * truncated ones read what is there and malformed ones fail cleanly.
 * G.711 (mu-law, A-law) is judged against the standard's values, code by
 * code, and in the WAV form the daemon's wav driver writes.
 */
#include "config.h"

#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include "audio/wav-format.h"
#include "tests/judge/audio-judge.h"
#include "tests/judge/wav-file.h"

#define RATE 48000

static char *tmpdir;

static char *tmp_path(const char *name)
{
    return g_build_filename(tmpdir, name, NULL);
}

/* @frames of a tone (channel c at @freq + 100 c) in @fmt, decoded. */
static JudgeSignal *tone_signal(JudgeFormat fmt, guint channels, double freq, double db,
                                gsize frames)
{
    JudgeToneSpec t = { fmt, channels, RATE, freq, 100.0, db };
    gsize len;
    g_autofree guint8 *pcm = judge_tone_new(&t, frames, &len);

    return judge_signal_new(fmt, channels, RATE, pcm, len);
}

/* Mono samples quantised through @fmt, as a recording would be. */
static JudgeSignal *quantised(JudgeFormat fmt, const double *x, gsize frames)
{
    g_autofree guint8 *pcm = g_malloc(frames * judge_format_bytes(fmt));

    judge_encode(fmt, x, pcm, frames);
    return judge_signal_new(fmt, 1, RATE, pcm, frames * judge_format_bytes(fmt));
}

static double *sine(gsize frames, double freq, double amp)
{
    double *x = g_new(double, frames);

    for (gsize i = 0; i < frames; i++)
        x[i] = amp * sin(2.0 * G_PI * fmod(i * freq / RATE, 1.0));
    return x;
}

static gboolean is_g711(JudgeFormat fmt)
{
    return fmt == JUDGE_FORMAT_MU_LAW || fmt == JUDGE_FORMAT_A_LAW;
}

/* Level tolerance in dB: G.711 is lossy (a step is up to 1/16 of the value). */
static double level_tolerance(JudgeFormat fmt)
{
    return is_g711(fmt) ? 0.3 : 0.1;
}

static void assert_continuity(const JudgeContinuity *c, guint ngaps, guint nglitches)
{
    if (c->gaps->len != ngaps || c->glitches->len != nglitches) {
        g_autoptr(GString) s = g_string_new(NULL);

        judge_describe_continuity(s, c, RATE);
        g_error("expected %u gap(s), %u discontinuities: %s", ngaps, nglitches, s->str);
    }
}

/* ---- formats ----------------------------------------------------------- */

static void test_format_names(void)
{
    for (int f = 0; f < JUDGE_FORMAT_COUNT; f++) {
        const char *name = judge_format_name((JudgeFormat)f);
        g_autofree char *lower = g_ascii_strdown(name, -1);

        g_assert_nonnull(name);
        g_assert_cmpint(judge_format_from_name(name), ==, f);
        g_assert_cmpint(judge_format_from_name(lower), ==, f);
        g_assert_cmpuint(judge_format_bits((JudgeFormat)f), <=,
                         judge_format_bytes((JudgeFormat)f) * 8);
    }
    g_assert_cmpstr(judge_format_name(JUDGE_FORMAT_S24_3LE), ==, "S24_3LE");
    g_assert_cmpuint(judge_format_bytes(JUDGE_FORMAT_S24_LE), ==, 4);
    g_assert_cmpuint(judge_format_bits(JUDGE_FORMAT_S24_LE), ==, 24);
    g_assert_cmpint(judge_format_from_name("S16"), ==, JUDGE_FORMAT_INVALID);
    g_assert_cmpint(judge_format_from_name(NULL), ==, JUDGE_FORMAT_INVALID);
    g_assert_null(judge_format_name(JUDGE_FORMAT_COUNT));
    g_assert_cmpuint(judge_format_bytes(JUDGE_FORMAT_INVALID), ==, 0);

    /* G.711: as aplay -f spells them, one byte a sample, neither unsigned
     * nor float; appended, so the older values stay. */
    g_assert_cmpint(judge_format_from_name("MU_LAW"), ==, JUDGE_FORMAT_MU_LAW);
    g_assert_cmpint(judge_format_from_name("A_LAW"), ==, JUDGE_FORMAT_A_LAW);
    g_assert_cmpstr(judge_format_name(JUDGE_FORMAT_MU_LAW), ==, "MU_LAW");
    g_assert_cmpstr(judge_format_name(JUDGE_FORMAT_A_LAW), ==, "A_LAW");
    g_assert_cmpint(JUDGE_FORMAT_FLOAT64_LE, ==, 17);
    g_assert_cmpint(JUDGE_FORMAT_MU_LAW, ==, 18);
    g_assert_cmpint(JUDGE_FORMAT_A_LAW, ==, 19);
    for (int f = JUDGE_FORMAT_MU_LAW; f <= JUDGE_FORMAT_A_LAW; f++) {
        g_assert_cmpuint(judge_format_bytes((JudgeFormat)f), ==, 1);
        g_assert_cmpuint(judge_format_bits((JudgeFormat)f), ==, 8);
        g_assert_false(judge_format_is_unsigned((JudgeFormat)f));
        g_assert_false(judge_format_is_float((JudgeFormat)f));
    }
}

static void test_format_values(void)
{
    static const guint8 s16_min[] = { 0x00, 0x80 }, s16_max[] = { 0xff, 0x7f };
    /* S24_LE: the high byte is padding, whatever it holds. */
    static const guint8 s24_neg[] = { 0xff, 0xff, 0xff, 0x00 }, u8_mid[] = { 0x80 };
    static const guint8 u16_min[] = { 0x00, 0x00 }, s20_3_max[] = { 0xff, 0xff, 0x07 };
    guint8 b[8];

    g_assert_cmpfloat(judge_sample_decode(JUDGE_FORMAT_S16_LE, s16_min), ==, -1.0);
    g_assert_cmpfloat(judge_sample_decode(JUDGE_FORMAT_S16_LE, s16_max), ==, 32767.0 / 32768);
    g_assert_cmpfloat(judge_sample_decode(JUDGE_FORMAT_S24_LE, s24_neg), ==, -1.0 / 8388608);
    g_assert_cmpfloat(judge_sample_decode(JUDGE_FORMAT_U8, u8_mid), ==, 0.0);
    g_assert_cmpfloat(judge_sample_decode(JUDGE_FORMAT_U16_LE, u16_min), ==, -1.0);
    g_assert_cmpfloat(judge_sample_decode(JUDGE_FORMAT_S20_3LE, s20_3_max), ==,
                      524287.0 / 524288);

    /* Encoding sign-extends into padding, clips, and maps NaN to silence. */
    judge_sample_encode(JUDGE_FORMAT_S24_LE, -1.0 / 8388608, b);
    g_assert_cmpmem(b, 4, "\xff\xff\xff\xff", 4);
    judge_sample_encode(JUDGE_FORMAT_S16_LE, 2.0, b);
    g_assert_cmpmem(b, 2, s16_max, 2);
    judge_sample_encode(JUDGE_FORMAT_S16_LE, -7.0, b);
    g_assert_cmpmem(b, 2, s16_min, 2);
    judge_sample_encode(JUDGE_FORMAT_U8, NAN, b);
    g_assert_cmpuint(b[0], ==, 0x80);
    judge_sample_encode(JUDGE_FORMAT_FLOAT_LE, 0.5, b);
    g_assert_cmpmem(b, 4, "\x00\x00\x00\x3f", 4);
    judge_sample_encode(JUDGE_FORMAT_FLOAT64_LE, -0.25, b);
    g_assert_cmpfloat(judge_sample_decode(JUDGE_FORMAT_FLOAT64_LE, b), ==, -0.25);

    /* Every format: exact round trip of a value on its grid (for G.711,
     * -0.375 is not on it: the value of a code is). */
    for (int f = 0; f < JUDGE_FORMAT_COUNT; f++) {
        static const guint8 code = 0x2b;
        double v = is_g711((JudgeFormat)f) ? judge_sample_decode((JudgeFormat)f, &code) : -0.375;

        judge_sample_encode((JudgeFormat)f, v, b);
        g_assert_cmpfloat(judge_sample_decode((JudgeFormat)f, b), ==, v);
    }
}

/* ---- G.711 ------------------------------------------------------------- */

/* A code's value in 16-bit units (exact: it is a whole number of them). */
static double value16(JudgeFormat fmt, guint8 code)
{
    return judge_sample_decode(fmt, &code) * 32768.0;
}

static guint8 encode1(JudgeFormat fmt, double x)
{
    guint8 code;

    judge_sample_encode(fmt, x, &code);
    return code;
}

static void test_g711_values(void)
{
    const JudgeFormat mu = JUDGE_FORMAT_MU_LAW, a = JUDGE_FORMAT_A_LAW;

    /* mu-law (G.711 table 2, 14-bit values times 4): the two zeros, the
     * smallest steps, the ends of segments 0 and 1, full scale. */
    g_assert_cmpfloat(value16(mu, 0xff), ==, 0.0);
    g_assert_cmpfloat(value16(mu, 0x7f), ==, 0.0);
    g_assert_false(signbit(judge_sample_decode(mu, (const guint8 *)"\x7f")));
    g_assert_cmpfloat(value16(mu, 0xfe), ==, 8.0);     /* 2 */
    g_assert_cmpfloat(value16(mu, 0x7e), ==, -8.0);
    g_assert_cmpfloat(value16(mu, 0xf0), ==, 120.0);   /* 30: segment 0 ends */
    g_assert_cmpfloat(value16(mu, 0xef), ==, 132.0);   /* 33: segment 1 starts */
    g_assert_cmpfloat(value16(mu, 0xe0), ==, 372.0);   /* 93 */
    g_assert_cmpfloat(value16(mu, 0x8f), ==, 16764.0); /* 4191: segment 7 starts */
    g_assert_cmpfloat(value16(mu, 0x80), ==, 32124.0); /* 8031 */
    g_assert_cmpfloat(value16(mu, 0x00), ==, -32124.0);

    /* A-law (13-bit values times 8): no zero; 0xd5/0x55 are +-1. */
    g_assert_cmpfloat(value16(a, 0xd5), ==, 8.0);
    g_assert_cmpfloat(value16(a, 0x55), ==, -8.0);
    g_assert_cmpfloat(value16(a, 0xd4), ==, 24.0);     /* 3 */
    g_assert_cmpfloat(value16(a, 0xda), ==, 248.0);    /* 31: segment 0 ends */
    g_assert_cmpfloat(value16(a, 0xc5), ==, 264.0);    /* 33: segment 1 starts */
    g_assert_cmpfloat(value16(a, 0xf5), ==, 528.0);    /* 66: segment 2 starts */
    g_assert_cmpfloat(value16(a, 0xe5), ==, 1056.0);   /* 132: segment 3 starts */
    g_assert_cmpfloat(value16(a, 0xaa), ==, 32256.0);  /* 4032 */
    g_assert_cmpfloat(value16(a, 0x2a), ==, -32256.0);

    /* Encoding: silence, full scale and beyond, NaN, tiny values. */
    g_assert_cmpuint(encode1(mu, 0.0), ==, 0xff);
    g_assert_cmpuint(encode1(mu, -1e-9), ==, 0xff);
    g_assert_cmpuint(encode1(mu, NAN), ==, 0xff);
    g_assert_cmpuint(encode1(mu, 1.0), ==, 0x80);
    g_assert_cmpuint(encode1(mu, 5.0), ==, 0x80);
    g_assert_cmpuint(encode1(mu, -1.0), ==, 0x00);
    g_assert_cmpuint(encode1(mu, -5.0), ==, 0x00);
    g_assert_cmpuint(encode1(mu, -1.0 / 8192), ==, 0x7e); /* -1 -> -2 */
    g_assert_cmpuint(encode1(a, 0.0), ==, 0xd5);
    g_assert_cmpuint(encode1(a, NAN), ==, 0xd5);
    g_assert_cmpuint(encode1(a, -1.0 / 4096), ==, 0x55);  /* the mirror of 0 */
    g_assert_cmpuint(encode1(a, -2.0 / 4096), ==, 0x55);
    g_assert_cmpuint(encode1(a, -3.0 / 4096), ==, 0x54);
    g_assert_cmpuint(encode1(a, 1.0), ==, 0xaa);
    g_assert_cmpuint(encode1(a, -1.0), ==, 0x2a);
    /* Nearest linear value first: 0.6 of a 14-bit step rounds up to 1. */
    g_assert_cmpuint(encode1(mu, 0.6 / 8192), ==, 0xfe);
    g_assert_cmpuint(encode1(mu, 0.4 / 8192), ==, 0xff);
}

static void test_g711_codes(void)
{
    for (int f = JUDGE_FORMAT_MU_LAW; f <= JUDGE_FORMAT_A_LAW; f++) {
        JudgeFormat fmt = (JudgeFormat)f;
        /* One 16-bit unit of the linear grid: 4 for mu-law, 8 for A-law. */
        const double unit = fmt == JUDGE_FORMAT_MU_LAW ? 4.0 : 8.0;
        const gint lo = fmt == JUDGE_FORMAT_MU_LAW ? -8192 : -4096;
        guint zeros = 0, survivors = 0;
        guint8 all[256], again[256];
        double prev_value = -INFINITY;

        for (guint c = 0; c < 256; c++)
            all[c] = (guint8)c;
        g_autoptr(JudgeSignal) s = judge_signal_new(fmt, 1, RATE, all, sizeof(all));
        judge_encode(fmt, s->samples, again, 256);
        for (guint c = 0; c < 256; c++) {
            double v = value16(fmt, (guint8)c);

            /* A linear value of the law's grid, shifted into 16 bits. */
            g_assert_cmpfloat(v, ==, floor(v));
            g_assert_cmpfloat(fmod(v, unit), ==, 0.0);
            g_assert_cmpfloat(fabs(v), <=, fmt == JUDGE_FORMAT_MU_LAW ? 32124.0 : 32256.0);
            if (v == 0.0)
                zeros++;
            if (again[c] == c)
                survivors++;
            else /* the documented duplicate: mu-law -0 comes back as +0 */
                g_assert_true(fmt == JUDGE_FORMAT_MU_LAW && c == 0x7f && again[c] == 0xff);
        }
        g_assert_cmpuint(zeros, ==, fmt == JUDGE_FORMAT_MU_LAW ? 2 : 0);
        g_assert_cmpuint(survivors, ==, fmt == JUDGE_FORMAT_MU_LAW ? 255 : 256);

        /* Every linear value: the code's value never falls as the input
         * rises, and is at most one step of its segment away (a step is
         * 1/16 of the value or less; the smallest steps are 2 units). */
        for (gint v = lo; v < -lo; v++) {
            double want = v * unit, got = value16(fmt, encode1(fmt, want / 32768.0));
            double step = MAX(2.0 * unit, fabs(got) / 16.0);

            g_assert_cmpfloat(got, >=, prev_value);
            prev_value = got;
            /* Beyond the last decision level the code is full scale. */
            if (fabs(want) <= (fmt == JUDGE_FORMAT_MU_LAW ? 32632.0 : 32768.0))
                g_assert_cmpfloat(fabs(got - want), <=, step);
        }
    }
}

static void test_g711_silence(void)
{
    /* mu-law: both zeros are silence.  A-law: nothing is, not even the
     * codes next to 0 that ALSA and the daemon fill silence with. */
    static const guint8 mu[] = { 0xff, 0x7f, 0xff, 0x7f, 0xfe, 0xff, 0x7f };
    static const guint8 alaw[] = { 0xd5, 0x55, 0xd5, 0x55 };
    g_autoptr(JudgeSignal) m = judge_signal_new(JUDGE_FORMAT_MU_LAW, 1, RATE, mu, sizeof(mu));
    g_autoptr(JudgeSignal) a = judge_signal_new(JUDGE_FORMAT_A_LAW, 1, RATE, alaw, sizeof(alaw));
    JudgeLevel l;

    g_assert_cmpuint(judge_leading_silence(m, 0), ==, 4);
    g_assert_cmpuint(judge_trailing_silence(m, 0), ==, 2);
    g_assert_true(judge_is_silent(m, 0, 0, 4));
    g_assert_false(judge_is_silent(m, JUDGE_ALL_CHANNELS, 0, G_MAXSIZE));
    g_assert_false(judge_is_silent(a, 0, 0, 1));
    g_assert_cmpuint(judge_leading_silence(a, JUDGE_ALL_CHANNELS), ==, 0);
    g_assert_cmpuint(judge_trailing_silence(a, 0), ==, 0);
    /* What tells A-law's silence: its level, -72.2 dBFS. */
    judge_level(a, 0, 0, G_MAXSIZE, &l);
    g_assert_cmpfloat_with_epsilon(l.peak_dbfs, judge_db(8.0 / 32768), 1e-9);
    g_assert_cmpfloat_with_epsilon(l.rms_dbfs, judge_db(8.0 / 32768), 1e-9);
}

static void test_g711_tones(void)
{
    static const double levels[] = { -1.0, -6.0, -20.0, -40.0 };
    static const double freqs[] = { 1000.0, 997.3, 440.0, 3001.0 };

    for (int f = JUDGE_FORMAT_MU_LAW; f <= JUDGE_FORMAT_A_LAW; f++) {
        for (guint i = 0; i < G_N_ELEMENTS(levels); i++) {
            /* 8 kHz, the telephone rate, and 48 kHz. */
            for (guint rate = 8000; rate <= RATE; rate += RATE - 8000) {
                JudgeToneSpec t = { (JudgeFormat)f, 2, rate, freqs[i], 100.0, levels[i] };
                gsize len;
                g_autofree guint8 *pcm = judge_tone_new(&t, rate, &len);
                g_autoptr(JudgeSignal) s = judge_signal_new(t.format, 2, rate, pcm, len);

                g_assert_cmpuint(len, ==, 2 * rate);
                for (guint ch = 0; ch < 2; ch++) {
                    double want = freqs[i] + 100.0 * ch;
                    JudgeTone tone;
                    JudgeLevel l;

                    g_assert_true(judge_tone_present(s, ch, 0, G_MAXSIZE, want, 0.5, &tone));
                    g_test_message("%s %u Hz ch%u: %.4f Hz %.3f dBFS (want %.1f) purity %.5f",
                                   judge_format_name(t.format), rate, ch, tone.freq_hz,
                                   tone.level_dbfs, levels[i], tone.purity);
                    g_assert_cmpfloat_with_epsilon(tone.freq_hz, want, 0.5);
                    g_assert_cmpfloat_with_epsilon(tone.level_dbfs, levels[i], 0.3);
                    judge_level(s, ch, 0, G_MAXSIZE, &l);
                    g_assert_cmpfloat_with_epsilon(l.rms_dbfs, levels[i] + JUDGE_SINE_RMS_DB, 0.3);
                    g_assert_cmpfloat_with_epsilon(l.peak_dbfs, levels[i], 0.3);
                }
            }
        }
    }
}

static void test_g711_continuity(void)
{
    const gsize frames = 2 * RATE, click = 30011, gap = 60007, gap_len = 4800;
    g_autofree double *x = sine(frames, 1000.0, 0.5);

    x[click] = -x[click];
    memset(x + gap, 0, gap_len * sizeof(double));
    for (int f = JUDGE_FORMAT_MU_LAW; f <= JUDGE_FORMAT_A_LAW; f++) {
        g_autoptr(JudgeSignal) s = quantised((JudgeFormat)f, x, frames);
        JudgeContinuity c;

        /* The click is seen over G.711's coarser steps; the pause is a gap
         * in mu-law, but A-law has no exact zero: there it is sound. */
        g_assert_true(judge_continuity(s, 0, 0, G_MAXSIZE, NULL, &c));
        g_test_message("%s: threshold %.3f, max residual %.3f, %u gap(s), %u glitch(es)",
                       judge_format_name((JudgeFormat)f), c.threshold, c.max_residual,
                       c.gaps->len, c.glitches->len);
        g_assert_cmpfloat(c.threshold, <=, 0.25);
        g_assert_cmpuint(g_array_index(c.glitches, JudgeGlitch, 0).frame, ==, click);
        if (f == JUDGE_FORMAT_MU_LAW) {
            assert_continuity(&c, 1, 1);
            g_assert_cmpuint(g_array_index(c.gaps, JudgeGap, 0).start, ==, gap);
            g_assert_cmpuint(g_array_index(c.gaps, JudgeGap, 0).frames, ==, gap_len);
        } else {
            g_assert_cmpuint(c.gaps->len, ==, 0);
            g_assert_cmpuint(c.glitches->len, >=, 2);
        }
        judge_continuity_clear(&c);

        /* Before the click: clean. */
        g_assert_true(judge_continuity(s, 0, 0, click - 2, NULL, &c));
        assert_continuity(&c, 0, 0);
        judge_continuity_clear(&c);
    }
}

/* ---- tones: frequency and level ---------------------------------------- */

static void test_tone_every_format(void)
{
    for (int f = 0; f < JUDGE_FORMAT_COUNT; f++) {
        g_autoptr(JudgeSignal) s = tone_signal((JudgeFormat)f, 2, 1000.0, -6.0, RATE);

        for (guint ch = 0; ch < 2; ch++) {
            double want = 1000.0 + 100.0 * ch;
            JudgeTone t;
            JudgeLevel l;

            g_assert_true(judge_tone_present(s, ch, 0, G_MAXSIZE, want, 0.5, &t));
            g_test_message("%s ch%u: %.4f Hz %.3f dBFS purity %.5f",
                           judge_format_name((JudgeFormat)f), ch, t.freq_hz, t.level_dbfs,
                           t.purity);
            g_assert_cmpfloat_with_epsilon(t.freq_hz, want, 0.5);
            g_assert_cmpfloat_with_epsilon(t.level_dbfs, -6.0, level_tolerance((JudgeFormat)f));
            judge_level(s, ch, 0, G_MAXSIZE, &l);
            g_assert_cmpuint(l.frames, ==, RATE);
            g_assert_cmpfloat_with_epsilon(l.rms_dbfs, -6.0 + JUDGE_SINE_RMS_DB,
                                           level_tolerance((JudgeFormat)f));
            g_assert_cmpfloat_with_epsilon(l.peak_dbfs, -6.0, level_tolerance((JudgeFormat)f));
        }
    }
}

static void test_tone_resolution(void)
{
    /* Between FFT bins, and not a divisor of the rate: the interpolation
     * must still land well within a tenth of a hertz. */
    static const double freqs[] = { 997.3, 440.0, 12345.67, 61.5, 19999.9 };

    for (guint i = 0; i < G_N_ELEMENTS(freqs); i++) {
        g_autoptr(JudgeSignal) s = tone_signal(JUDGE_FORMAT_S16_LE, 1, freqs[i], -20.0, RATE);
        JudgeTone t;

        g_assert_true(judge_tone_measure(s, 0, 0, G_MAXSIZE, &t));
        g_assert_cmpfloat_with_epsilon(t.freq_hz, freqs[i], 0.05);
        g_assert_cmpfloat_with_epsilon(t.level_dbfs, -20.0, 0.1);
        g_assert_cmpfloat(t.purity, >, 0.99);
    }
}

static void test_tone_absent(void)
{
    g_autoptr(JudgeSignal) s = tone_signal(JUDGE_FORMAT_S16_LE, 2, 1000.0, -6.0, RATE);
    g_autoptr(JudgeSignal) quiet = judge_signal_new_silent(1, RATE, RATE);
    g_autoptr(JudgeSignal) noise = judge_signal_new_silent(1, RATE, RATE);
    g_autoptr(GRand) rand = g_rand_new_with_seed(7);
    g_autoptr(JudgeSignal) norate = judge_signal_new_silent(1, 0, RATE);
    JudgeTone t;

    g_assert_false(judge_tone_present(s, 0, 0, G_MAXSIZE, 1010.0, 0.5, &t));
    g_assert_cmpfloat_with_epsilon(t.freq_hz, 1000.0, 0.5);
    /* A channel swap shows: channel 1 plays 1100 Hz. */
    g_assert_false(judge_tone_present(s, 1, 0, G_MAXSIZE, 1000.0, 0.5, NULL));
    g_assert_false(judge_tone_present(quiet, 0, 0, G_MAXSIZE, 1000.0, 0.5, NULL));
    for (gsize i = 0; i < noise->frames; i++)
        noise->samples[i] = g_rand_double_range(rand, -0.5, 0.5);
    g_assert_true(judge_tone_measure(noise, 0, 0, G_MAXSIZE, &t));
    g_assert_cmpfloat(t.purity, <, 0.5);
    g_assert_false(judge_tone_present(noise, 0, 0, G_MAXSIZE, t.freq_hz, 1.0, NULL));
    g_assert_false(judge_tone_measure(s, 0, 0, 8, &t));
    g_assert_false(judge_tone_measure(norate, 0, 0, G_MAXSIZE, &t));
}

static void test_tone_deterministic(void)
{
    JudgeToneSpec t = { JUDGE_FORMAT_S24_3LE, 3, RATE, 1234.5, 100.0, -3.0 };
    gsize len1, len2, frame = 3 * 3;
    g_autofree guint8 *a = judge_tone_new(&t, 10000, &len1);
    g_autofree guint8 *b = judge_tone_new(&t, 10000, &len2);
    g_autofree guint8 *pieces = g_malloc(len1);

    g_assert_cmpuint(len1, ==, 10000 * frame);
    g_assert_cmpmem(a, len1, b, len2);
    /* Generated in pieces of odd sizes: the same bytes. */
    for (gsize done = 0, step = 1; done < 10000; done += step, step = step * 3 % 997 + 1)
        judge_tone_fill(&t, done, MIN(step, 10000 - done), pieces + done * frame);
    g_assert_cmpmem(a, len1, pieces, len1);
}

static void test_level_change(void)
{
    JudgeToneSpec t = { JUDGE_FORMAT_S16_LE, 1, RATE, 1000.0, 0.0, -6.0 };
    g_autofree guint8 *pcm = g_malloc(RATE * 2);
    g_autoptr(JudgeSignal) s = NULL;
    JudgeLevel a, b;
    g_autoptr(GString) d = g_string_new(NULL);

    judge_tone_fill(&t, 0, RATE / 2, pcm);
    t.level_dbfs = -16.0;
    judge_tone_fill(&t, RATE / 2, RATE / 2, pcm + RATE);
    s = judge_signal_new(JUDGE_FORMAT_S16_LE, 1, RATE, pcm, RATE * 2);
    g_assert_cmpfloat_with_epsilon(judge_level_change_db(s, 0, 0, RATE / 2, RATE / 2, RATE / 2),
                                   -10.0, 0.5);
    g_assert_cmpfloat_with_epsilon(judge_level_change_db(s, 0, 0, RATE / 2, RATE / 2, RATE / 2),
                                   -10.0, 0.01);
    judge_level(s, 0, 0, RATE / 2, &a);
    judge_level(s, 0, RATE / 2, G_MAXSIZE, &b);
    g_assert_cmpuint(b.frames, ==, RATE / 2);
    g_assert_cmpfloat_with_epsilon(b.rms_dbfs - a.rms_dbfs, -10.0, 0.01);
    judge_describe_level(d, &b);
    g_assert_nonnull(strstr(d->str, "24000 frames"));
    /* Past the end: nothing, at -inf. */
    judge_level(s, 0, 10 * RATE, 5, &a);
    g_assert_cmpuint(a.frames, ==, 0);
    g_assert_true(isinf(a.rms_dbfs) && a.rms_dbfs < 0);
    g_assert_true(isinf(judge_db(0.0)));
    g_assert_cmpfloat_with_epsilon(judge_db(0.5), -6.0206, 0.0001);
}

/* ---- silence ----------------------------------------------------------- */

static void test_silence(void)
{
    g_autoptr(JudgeSignal) s = judge_signal_new_silent(2, RATE, 1000);

    g_assert_true(judge_is_silent(s, JUDGE_ALL_CHANNELS, 0, G_MAXSIZE));
    g_assert_cmpuint(judge_leading_silence(s, JUDGE_ALL_CHANNELS), ==, 1000);
    g_assert_cmpuint(judge_trailing_silence(s, 0), ==, 1000);
    /* Channel 0 sounds in [100, 900), channel 1 in [300, 700). */
    for (gsize i = 100; i < 900; i++)
        s->samples[2 * i] = 0.25;
    for (gsize i = 300; i < 700; i++)
        s->samples[2 * i + 1] = -1e-9;
    g_assert_cmpuint(judge_leading_silence(s, JUDGE_ALL_CHANNELS), ==, 100);
    g_assert_cmpuint(judge_trailing_silence(s, JUDGE_ALL_CHANNELS), ==, 100);
    g_assert_cmpuint(judge_leading_silence(s, 1), ==, 300);
    g_assert_cmpuint(judge_trailing_silence(s, 1), ==, 300);
    g_assert_true(judge_is_silent(s, JUDGE_ALL_CHANNELS, 0, 100));
    g_assert_false(judge_is_silent(s, JUDGE_ALL_CHANNELS, 0, 101));
    g_assert_true(judge_is_silent(s, 1, 0, 300));
    g_assert_false(judge_is_silent(s, 1, 299, 2));
    g_assert_true(judge_is_silent(s, 0, 900, G_MAXSIZE));
    g_assert_true(judge_is_silent(s, 0, 5000, 10));
}

static void test_silence_u8(void)
{
    /* Unsigned silence is the mid-point, not zero bytes. */
    guint8 pcm[64];
    g_autoptr(JudgeSignal) s = NULL;

    memset(pcm, 0x80, sizeof(pcm));
    pcm[40] = 0x81;
    s = judge_signal_new(JUDGE_FORMAT_U8, 1, RATE, pcm, sizeof(pcm));
    g_assert_cmpuint(judge_leading_silence(s, 0), ==, 40);
    g_assert_cmpuint(judge_trailing_silence(s, 0), ==, 23);
}

/* ---- continuity -------------------------------------------------------- */

static void test_continuity_clean(void)
{
    /* 5 s in every format, and at frequencies whose period is no whole
     * number of frames: no false alarm anywhere. */
    static const double freqs[] = { 1000.0, 997.3, 100.0, 7001.0 };

    for (int f = 0; f < JUDGE_FORMAT_COUNT; f++) {
        for (guint i = 0; i < G_N_ELEMENTS(freqs); i++) {
            g_autoptr(JudgeSignal) s = NULL;
            JudgeContinuity c;

            if (i > 0 && f != JUDGE_FORMAT_S16_LE && f != JUDGE_FORMAT_U8 &&
                f != JUDGE_FORMAT_FLOAT_LE)
                continue;
            s = tone_signal((JudgeFormat)f, 2, freqs[i], -6.0, 5 * RATE);
            for (guint ch = 0; ch < 2; ch++) {
                g_assert_true(judge_continuity(s, ch, 0, G_MAXSIZE, NULL, &c));
                assert_continuity(&c, 0, 0);
                g_assert_cmpfloat_with_epsilon(c.freq_hz, freqs[i] + 100.0 * ch, 0.01);
                g_assert_cmpfloat_with_epsilon(judge_db(c.amplitude), -6.0,
                                               level_tolerance((JudgeFormat)f));
                /* sin(0): the first frame is silent, not a gap (A-law has
                 * no silent code: +1 of 4096 is not silence). */
                g_assert_cmpuint(c.leading_silence, ==, f == JUDGE_FORMAT_A_LAW ? 0 : 1);
                judge_continuity_clear(&c);
            }
        }
    }
}

static void test_continuity_glitch(void)
{
    const gsize at = 30011;
    g_autofree double *x = sine(5 * RATE, 1000.0, 0.5);
    g_autoptr(JudgeSignal) s = NULL;
    JudgeContinuity c;

    x[at] += 0.1;
    s = quantised(JUDGE_FORMAT_S16_LE, x, 5 * RATE);
    g_assert_true(judge_continuity(s, 0, 0, G_MAXSIZE, NULL, &c));
    assert_continuity(&c, 0, 1);
    g_assert_cmpuint(g_array_index(c.glitches, JudgeGlitch, 0).frame, ==, at);
    g_assert_cmpuint(g_array_index(c.glitches, JudgeGlitch, 0).frames, <=, 3);
    judge_continuity_clear(&c);

    /* Outside the judged range, it is not seen. */
    g_assert_true(judge_continuity(s, 0, at + 10, G_MAXSIZE, NULL, &c));
    assert_continuity(&c, 0, 0);
    judge_continuity_clear(&c);
}

static void test_continuity_gap(void)
{
    const gsize at = 24007, len = RATE / 100;
    g_autofree double *x = sine(5 * RATE, 1000.0, 0.5);
    g_autoptr(JudgeSignal) s = NULL;
    JudgeContinuity c;
    JudgeGap g;

    memset(x + at, 0, len * sizeof(double));
    s = quantised(JUDGE_FORMAT_S16_LE, x, 5 * RATE);
    g_assert_true(judge_continuity(s, 0, 0, G_MAXSIZE, NULL, &c));
    assert_continuity(&c, 1, 0);
    g = g_array_index(c.gaps, JudgeGap, 0);
    g_assert_cmpuint(g.start, ==, at);
    g_assert_cmpuint(g.frames, ==, len);
    judge_continuity_clear(&c);
}

static void test_continuity_pause(void)
{
    /* A pause: lead-in silence, the tone, a gap, then the tone resumes where
     * it stopped; a click after the pause is told apart from the gap. */
    const gsize lead = 1000, play1 = RATE - 13, pause = 4800, play2 = RATE, tail = 700;
    const gsize frames = lead + play1 + pause + play2 + tail, click = lead + play1 + pause + 5000;
    g_autofree double *tone = sine(play1 + play2, 440.0, 0.3);
    g_autofree double *x = g_new0(double, frames);
    g_autoptr(JudgeSignal) s = NULL;
    g_autoptr(GString) d = g_string_new(NULL);
    JudgeContinuityOptions opt = { .freq_hz = 440.0 };
    JudgeContinuity c;

    memcpy(x + lead, tone, play1 * sizeof(double));
    memcpy(x + lead + play1 + pause, tone + play1, play2 * sizeof(double));
    x[click] = -x[click];
    s = quantised(JUDGE_FORMAT_S32_LE, x, frames);
    g_assert_true(judge_continuity(s, 0, 0, G_MAXSIZE, &opt, &c));
    assert_continuity(&c, 1, 1);
    g_assert_cmpuint(c.leading_silence, ==, lead + 1); /* the tone starts on sin(0) */
    g_assert_cmpuint(c.trailing_silence, ==, tail);
    g_assert_cmpfloat(c.freq_hz, ==, 440.0);
    g_assert_cmpuint(g_array_index(c.gaps, JudgeGap, 0).start, ==, lead + play1);
    g_assert_cmpuint(g_array_index(c.gaps, JudgeGap, 0).frames, ==, pause);
    g_assert_cmpuint(g_array_index(c.glitches, JudgeGlitch, 0).frame, ==, click);
    judge_describe_continuity(d, &c, RATE);
    g_assert_nonnull(strstr(d->str, "1 gap(s)"));
    g_assert_nonnull(strstr(d->str, "1 discontinuity"));
    judge_continuity_clear(&c);

    /* Nothing there at all. */
    g_assert_false(judge_continuity(s, 0, 0, lead, NULL, &c));
    g_assert_cmpuint(c.leading_silence, ==, lead);
    judge_continuity_clear(&c);
}

static void test_continuity_phase_jump(void)
{
    const gsize at = 36005, frames = 2 * RATE;
    g_autofree double *x = g_new(double, frames);
    g_autoptr(JudgeSignal) s = NULL;
    JudgeContinuity c;
    gsize where;

    for (gsize i = 0; i < frames; i++)
        x[i] = 0.5 * sin(2.0 * G_PI * 1000.0 * i / RATE + (i >= at ? G_PI / 2 : 0.0));
    s = quantised(JUDGE_FORMAT_S16_LE, x, frames);
    g_assert_true(judge_continuity(s, 0, 0, G_MAXSIZE, NULL, &c));
    assert_continuity(&c, 0, 1);
    where = g_array_index(c.glitches, JudgeGlitch, 0).frame;
    g_assert_cmpuint(where, >=, at - 1);
    g_assert_cmpuint(where, <=, at + 1);
    /* The frequency is still measured right across the jump. */
    g_assert_cmpfloat_with_epsilon(c.freq_hz, 1000.0, 0.5);
    judge_continuity_clear(&c);
}

static void test_continuity_channels(void)
{
    /* A gap in one channel only is reported on that channel only. */
    g_autoptr(JudgeSignal) s = tone_signal(JUDGE_FORMAT_FLOAT_LE, 2, 500.0, -12.0, RATE);
    JudgeContinuity c;

    for (gsize i = 10003; i < 10103; i++)
        s->samples[2 * i + 1] = 0.0;
    g_assert_true(judge_continuity(s, 0, 0, G_MAXSIZE, NULL, &c));
    assert_continuity(&c, 0, 0);
    judge_continuity_clear(&c);
    g_assert_true(judge_continuity(s, 1, 0, G_MAXSIZE, NULL, &c));
    assert_continuity(&c, 1, 0);
    g_assert_cmpuint(g_array_index(c.gaps, JudgeGap, 0).start, ==, 10003);
    g_assert_cmpuint(g_array_index(c.gaps, JudgeGap, 0).frames, ==, 100);
    judge_continuity_clear(&c);
}

/* ---- bit comparison ---------------------------------------------------- */

static void test_compare(void)
{
    JudgeToneSpec t = { JUDGE_FORMAT_S16_LE, 2, RATE, 1000.0, 100.0, -6.0 };
    gsize len;
    g_autofree guint8 *a = judge_tone_new(&t, RATE, &len);
    g_autofree guint8 *b = g_malloc0(len + 400);
    g_autoptr(GString) d = g_string_new(NULL);
    JudgeCompare c;

    memcpy(b, a, len);
    judge_compare_bytes(a, len, b, len, &c);
    g_assert_true(c.identical);
    g_assert_cmpuint(c.first_diff, ==, len);
    g_assert_cmpuint(c.equal_bytes, ==, len);

    b[12345] ^= 0x10;
    judge_compare_bytes(a, len, b, len, &c);
    g_assert_false(c.identical);
    g_assert_false(c.a_prefix_of_b || c.b_prefix_of_a);
    g_assert_cmpuint(c.first_diff, ==, 12345);
    g_assert_cmpuint(c.equal_bytes, ==, len - 1);
    judge_describe_compare(d, &c);
    g_assert_nonnull(strstr(d->str, "12345"));
    b[12345] ^= 0x10;

    /* A recording with trailing silence: A is a prefix of it. */
    judge_compare_bytes(a, len, b, len + 400, &c);
    g_assert_false(c.identical);
    g_assert_true(c.a_prefix_of_b);
    g_assert_false(c.b_prefix_of_a);
    g_assert_cmpuint(c.first_diff, ==, len);
    judge_compare_bytes(b, len + 400, a, 100, &c);
    g_assert_true(c.b_prefix_of_a);
    g_assert_cmpuint(c.first_diff, ==, 100);
    judge_compare_bytes(NULL, 0, NULL, 0, &c);
    g_assert_true(c.identical);
}

static void test_find(void)
{
    /* A: 10 silent frames, then a tone.  B: 777 silent frames, then A's
     * tone, then 300 silent frames. */
    JudgeToneSpec t = { JUDGE_FORMAT_S16_LE, 2, RATE, 1000.0, 100.0, -6.0 };
    const gsize fb = 4, tone = 2000;
    gsize len_a = (10 + tone) * fb, len_b = (777 + tone + 300) * fb;
    g_autofree guint8 *a = g_malloc0(len_a);
    g_autofree guint8 *b = g_malloc0(len_b);
    g_autoptr(GString) d = g_string_new(NULL);
    JudgeFind f;

    /* Start the tone off a zero crossing so that A's first frame sounds. */
    judge_tone_fill(&t, 3, tone, a + 10 * fb);
    memcpy(b + 777 * fb, a + 10 * fb, tone * fb);
    g_assert_true(judge_find(t.format, 2, a, len_a, b, len_b, &f));
    g_assert_true(f.whole);
    g_assert_cmpuint(f.a_offset, ==, 10 * fb);
    g_assert_cmpuint(f.b_offset, ==, 777 * fb);
    g_assert_cmpuint(f.matched, ==, tone * fb);
    judge_describe_find(d, &f);
    g_assert_nonnull(strstr(d->str, "3108"));

    /* B with less lead-in than A: found, but not whole. */
    g_assert_true(judge_find(t.format, 2, a, len_a, b + 770 * fb, len_b - 770 * fb, &f));
    g_assert_false(f.whole);
    g_assert_cmpuint(f.b_offset, ==, 7 * fb);

    /* An earlier, partial copy in B is passed over. */
    memcpy(b + 100 * fb, a + 10 * fb, 200 * fb);
    g_assert_true(judge_find(t.format, 2, a, len_a, b, len_b, &f));
    g_assert_cmpuint(f.b_offset, ==, 777 * fb);

    /* One flipped byte: not found, the best candidate tells where. */
    b[(777 + 1500) * fb + 1] ^= 1;
    g_assert_false(judge_find(t.format, 2, a, len_a, b, len_b, &f));
    g_assert_false(f.found || f.whole || f.a_silent);
    g_assert_cmpuint(f.b_offset, ==, 777 * fb);
    g_assert_cmpuint(f.matched, ==, 1500 * fb + 1);

    /* B cut short: not found either. */
    b[(777 + 1500) * fb + 1] ^= 1;
    g_assert_false(judge_find(t.format, 2, a, len_a, b, (777 + tone - 1) * fb, &f));
    g_assert_cmpuint(f.matched, ==, (tone - 1) * fb);

    /* Nothing to look for. */
    g_assert_false(judge_find(t.format, 2, a, 10 * fb, b, len_b, &f));
    g_assert_true(f.a_silent);
}

static void test_find_u8(void)
{
    /* U8 silence is 0x80; B is frame-aligned to 3-byte frames (3 channels). */
    guint8 a[30], b[60];
    JudgeFind f;

    memset(a, 0x80, sizeof(a));
    memset(b, 0x80, sizeof(b));
    for (int i = 6; i < 30; i++)
        a[i] = (guint8)(i * 7);
    memcpy(b + 21, a + 6, 24);
    g_assert_true(judge_find(JUDGE_FORMAT_U8, 3, a, sizeof(a), b, sizeof(b), &f));
    g_assert_cmpuint(f.a_offset, ==, 6);
    g_assert_cmpuint(f.b_offset, ==, 21);
    g_assert_true(f.whole);
    /* Not on a frame boundary of B: not found. */
    g_assert_false(judge_find(JUDGE_FORMAT_U8, 3, a, sizeof(a), b + 1, sizeof(b) - 1, &f));
}

static void test_find_g711(void)
{
    /* mu-law: a lead-in of both zero codes is skipped.  A-law: 0xd5 is no
     * silence, so the anchor is A's first frame and B must hold all of A;
     * a B that holds only the tone does not do. */
    JudgeToneSpec t = { JUDGE_FORMAT_MU_LAW, 2, RATE, 1000.0, 100.0, -6.0 };
    const gsize fb = 2, lead = 6, tone = 3000, b_lead = 501;
    gsize len_a = (lead + tone) * fb, len_b = (b_lead + lead + tone + 77) * fb;
    g_autofree guint8 *a = g_malloc(len_a);
    g_autofree guint8 *b = g_malloc(len_b);
    JudgeFind f;

    memset(a, 0xff, len_a);
    memset(a + 2, 0x7f, 4);
    judge_tone_fill(&t, 1, tone, a + lead * fb);
    memset(b, 0x7f, len_b);
    memcpy(b + (b_lead + lead) * fb, a + lead * fb, tone * fb);
    g_assert_true(judge_find(t.format, 2, a, len_a, b, len_b, &f));
    g_assert_cmpuint(f.a_offset, ==, lead * fb);
    g_assert_cmpuint(f.b_offset, ==, (b_lead + lead) * fb);
    g_assert_false(f.whole); /* B's lead-in is 0x7f, A's is not all 0x7f */
    g_assert_false(judge_find(t.format, 2, a, lead * fb, b, len_b, &f));
    g_assert_true(f.a_silent);

    t.format = JUDGE_FORMAT_A_LAW;
    memset(a, 0xd5, len_a);
    judge_tone_fill(&t, 1, tone, a + lead * fb);
    memset(b, 0xd5, len_b);
    memcpy(b + b_lead * fb, a, len_a);
    g_assert_true(judge_find(t.format, 2, a, len_a, b, len_b, &f));
    g_assert_true(f.whole);
    g_assert_false(f.a_silent);
    g_assert_cmpuint(f.a_offset, ==, 0);
    /* 0xd5 frames come before it in B: the anchor matches there first,
     * the search goes on to the one place all of A is. */
    g_assert_cmpuint(f.b_offset, ==, b_lead * fb);
    g_assert_cmpuint(f.matched, ==, len_a);
    /* A's 0xd5 lead-in is part of what must be found. */
    memset(b + b_lead * fb, 0x55, lead * fb);
    g_assert_false(judge_find(t.format, 2, a, len_a, b, len_b, &f));
    g_assert_false(f.a_silent);
    /* A tone starting on sin(0) = 0xd5: found all the same. */
    judge_tone_fill(&t, 0, tone, a);
    memcpy(b + 9 * fb, a, tone * fb);
    g_assert_true(judge_find(t.format, 2, a, tone * fb, b, len_b, &f));
    g_assert_true(f.whole);
    g_assert_cmpuint(f.b_offset, ==, 9 * fb);
}

/* ---- WAV --------------------------------------------------------------- */

static const JudgeFormat wav_formats[] = {
    JUDGE_FORMAT_U8, JUDGE_FORMAT_S16_LE, JUDGE_FORMAT_S24_3LE, JUDGE_FORMAT_S20_3LE,
    JUDGE_FORMAT_S18_3LE, JUDGE_FORMAT_S24_LE, JUDGE_FORMAT_S20_LE, JUDGE_FORMAT_S32_LE,
    JUDGE_FORMAT_FLOAT_LE, JUDGE_FORMAT_FLOAT64_LE, JUDGE_FORMAT_MU_LAW, JUDGE_FORMAT_A_LAW,
};

/* wFormatTag of a plain (not extensible) header. */
static guint16 plain_tag(JudgeFormat fmt)
{
    switch (fmt) {
    case JUDGE_FORMAT_MU_LAW: return 7;
    case JUDGE_FORMAT_A_LAW: return 6;
    default: return judge_format_is_float(fmt) ? 3 : 1;
    }
}

static guint16 le16(const guint8 *p)
{
    return (guint16)(p[0] | p[1] << 8);
}

static guint32 le32(const guint8 *p)
{
    return (guint32)le16(p) | (guint32)le16(p + 2) << 16;
}

/* Offset of chunk @id in a file we wrote (chunks after the RIFF header). */
static gsize chunk_at(const guint8 *file, gsize len, const char *id)
{
    for (gsize pos = 12; pos + 8 <= len; pos += 8 + le32(file + pos + 4)) {
        if (memcmp(file + pos, id, 4) == 0)
            return pos;
    }
    g_assert_not_reached();
}

static void test_wav_roundtrip(void)
{
    static const guint channel_counts[] = { 1, 2, 6 };

    for (guint i = 0; i < G_N_ELEMENTS(wav_formats); i++) {
        for (guint n = 0; n < G_N_ELEMENTS(channel_counts); n++) {
            for (int ext = 0; ext < 2; ext++) {
                JudgeFormat fmt = wav_formats[i];
                JudgeToneSpec t = { fmt, channel_counts[n], 44100, 440.0, 100.0, -1.0 };
                JudgeWavFlags flags = ext ? JUDGE_WAV_EXTENSIBLE : JUDGE_WAV_DEFAULT;
                g_autofree char *path = tmp_path("roundtrip.wav");
                g_autoptr(GError) err = NULL;
                g_autoptr(JudgeWav) w = NULL;
                g_autoptr(JudgeSignal) s = NULL;
                g_autofree guint8 *pcm = NULL;
                guint bits = judge_format_bits(fmt), bytes = judge_format_bytes(fmt);
                gboolean want_ext = ext || bits != bytes * 8 || t.channels > 2;
                gsize len;
                JudgeTone tone;

                g_assert_true(judge_wav_save_tone(path, &t, 4411, flags, &err));
                g_assert_no_error(err);
                w = judge_wav_load(path, &err);
                g_assert_no_error(err);
                g_assert_cmpint(w->format, ==, fmt);
                g_assert_cmpuint(w->channels, ==, t.channels);
                g_assert_cmpuint(w->rate, ==, 44100);
                g_assert_cmpuint(w->tag, ==, want_ext ? 0xfffe : plain_tag(fmt));
                g_assert_cmpuint(w->container_bits, ==, bytes * 8);
                g_assert_cmpuint(w->valid_bits, ==, bits);
                g_assert_false(w->size_unknown);
                pcm = judge_tone_new(&t, 4411, &len);
                g_assert_cmpmem(w->data, w->data_len, pcm, len);
                s = judge_wav_signal(w);
                g_assert_true(judge_tone_present(s, t.channels - 1, 0, G_MAXSIZE,
                                                 440.0 + 100.0 * (t.channels - 1), 0.5, &tone));
                g_assert_cmpfloat_with_epsilon(tone.level_dbfs, -1.0, level_tolerance(fmt));
                /* Non-PCM and extensible files carry a fact chunk with the
                 * frame count (the daemon's files do). */
                if (want_ext || plain_tag(fmt) != 1) {
                    g_autofree char *contents = NULL;
                    gsize flen, fact;

                    g_assert_true(g_file_get_contents(path, &contents, &flen, NULL));
                    fact = chunk_at((const guint8 *)contents, flen, "fact");
                    g_assert_cmpuint(le32((const guint8 *)contents + fact + 4), ==, 4);
                    g_assert_cmpuint(le32((const guint8 *)contents + fact + 8), ==, 4411);
                }
            }
        }
    }
}

static void test_wav_layout(void)
{
    /* S24_LE goes into the file left-justified, as WAV wants it. */
    static const guint8 one[4] = { 0x01, 0x00, 0x00, 0x00 }, minus[4] = { 0xff, 0xff, 0xff, 0xff };
    guint8 pcm[8];
    gsize len, data;
    g_autoptr(GError) err = NULL;
    g_autofree guint8 *file = NULL;
    g_autoptr(JudgeWav) w = NULL;

    memcpy(pcm, one, 4);
    memcpy(pcm + 4, minus, 4);
    file = judge_wav_build(JUDGE_FORMAT_S24_LE, 2, RATE, pcm, sizeof(pcm), 0, &len, &err);
    g_assert_no_error(err);
    data = chunk_at(file, len, "data") + 8;
    g_assert_cmpmem(file + data, 8, "\x00\x01\x00\x00\x00\xff\xff\xff", 8);
    g_assert_cmpuint(le16(file + 20), ==, 0xfffe);
    w = judge_wav_parse(file, len, &err);
    g_assert_no_error(err);
    g_assert_cmpmem(w->data, w->data_len, pcm, sizeof(pcm));
}

static void assert_refused(const guint8 *file, gsize len, int code, const char *what);

/* As audio/wav-format.h writes them, by hand: 2 channels of A-law at
 * 8 kHz (plain: tag 6, an 18-byte fmt with cbSize 0, a fact chunk), and
 * 6 channels of mu-law at 48 kHz (extensible, subformat 7, valid bits 8,
 * channel mask 0). */
static const guint8 daemon_alaw[] = {
    'R', 'I', 'F', 'F', 58, 0, 0, 0, 'W', 'A', 'V', 'E',
    'f', 'm', 't', ' ', 18, 0, 0, 0,
    6, 0, 2, 0, 0x40, 0x1f, 0, 0, 0x80, 0x3e, 0, 0, 2, 0, 8, 0, 0, 0,
    'f', 'a', 'c', 't', 4, 0, 0, 0, 4, 0, 0, 0,
    'd', 'a', 't', 'a', 8, 0, 0, 0,
    0xd5, 0x55, 0xaa, 0x2a, 0x00, 0xff, 0x80, 0x7f,
};

static const guint8 daemon_mulaw_ext[] = {
    'R', 'I', 'F', 'F', 84, 0, 0, 0, 'W', 'A', 'V', 'E',
    'f', 'm', 't', ' ', 40, 0, 0, 0,
    0xfe, 0xff, 6, 0, 0x80, 0xbb, 0, 0, 0x00, 0x65, 0x04, 0, 6, 0, 8, 0, 22, 0,
    8, 0, 0, 0, 0, 0,
    7, 0, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71,
    'f', 'a', 'c', 't', 4, 0, 0, 0, 2, 0, 0, 0,
    'd', 'a', 't', 'a', 12, 0, 0, 0,
    0xff, 0x7f, 0x80, 0x00, 0xfe, 0x7e, 0x10, 0x20, 0x30, 0x40, 0x50, 0x60,
};

static void test_wav_g711_daemon(void)
{
    static const struct {
        const guint8 *file;
        gsize len;
        JudgeFormat fmt;
        guint channels, rate;
        guint16 tag;
    } cases[] = {
        { daemon_alaw, sizeof(daemon_alaw), JUDGE_FORMAT_A_LAW, 2, 8000, 6 },
        { daemon_mulaw_ext, sizeof(daemon_mulaw_ext), JUDGE_FORMAT_MU_LAW, 6, RATE, 0xfffe },
    };
    guint8 mulaw[sizeof(daemon_alaw)];

    g_assert_cmpuint(sizeof(daemon_alaw), ==, 58 + 8);
    g_assert_cmpuint(sizeof(daemon_mulaw_ext), ==, 80 + 12);
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        gsize data = cases[i].len - (cases[i].channels == 2 ? 8 : 12), len;
        g_autoptr(GError) err = NULL;
        g_autoptr(JudgeWav) w = judge_wav_parse(cases[i].file, cases[i].len, &err);
        g_autofree guint8 *built = NULL;

        g_assert_no_error(err);
        g_assert_cmpint(w->format, ==, cases[i].fmt);
        g_assert_cmpuint(w->channels, ==, cases[i].channels);
        g_assert_cmpuint(w->rate, ==, cases[i].rate);
        g_assert_cmpuint(w->tag, ==, cases[i].tag);
        g_assert_cmpuint(w->container_bits, ==, 8);
        g_assert_cmpuint(w->valid_bits, ==, 8);
        g_assert_false(w->size_unknown);
        /* The codes as they are. */
        g_assert_cmpmem(w->data, w->data_len, cases[i].file + data, cases[i].len - data);

        /* Written back: the same bytes as the daemon's. */
        built = judge_wav_build(cases[i].fmt, cases[i].channels, cases[i].rate,
                                cases[i].file + data, cases[i].len - data, 0, &len, &err);
        g_assert_no_error(err);
        g_assert_cmpmem(built, len, cases[i].file, cases[i].len);
    }

    /* And the daemon's own header code agrees, for any channel count (4
     * frames: an even size, the daemon writes no RIFF pad byte). */
    for (guint ch = 1; ch <= 8; ch++) {
        for (int f = JUDGE_FORMAT_MU_LAW; f <= JUDGE_FORMAT_A_LAW; f++) {
            guint8 pcm[8 * 4] = { 0x12 }, h[WAV_HEADER_MAX];
            gsize len, hlen;
            WavLayout l;
            g_autoptr(GError) err = NULL;
            g_autofree guint8 *built = judge_wav_build((JudgeFormat)f, ch, 44100, pcm, ch * 4,
                                                       0, &len, &err);

            g_assert_no_error(err);
            g_assert_true(wav_layout_for(f == JUDGE_FORMAT_MU_LAW ? VSND_PCM_FMT_MU_LAW :
                                         VSND_PCM_FMT_A_LAW, ch, 44100, &l));
            hlen = wav_header(&l, ch * 4, h);
            g_assert_cmpuint(hlen, ==, l.header_len);
            g_assert_cmpuint(len, ==, hlen + ch * 4);
            g_assert_cmpmem(built, hlen, h, hlen);
        }
    }

    /* The A-law file with tag 7 is the same bytes as mu-law. */
    memcpy(mulaw, daemon_alaw, sizeof(mulaw));
    mulaw[20] = 7;
    {
        g_autoptr(GError) err = NULL;
        g_autoptr(JudgeWav) w = judge_wav_parse(mulaw, sizeof(mulaw), &err);
        g_autoptr(JudgeSignal) s = NULL;

        g_assert_no_error(err);
        g_assert_cmpint(w->format, ==, JUDGE_FORMAT_MU_LAW);
        g_assert_cmpuint(w->tag, ==, 7);
        g_assert_cmpmem(w->data, w->data_len, daemon_alaw + 58, 8);
        s = judge_wav_signal(w);
        g_assert_cmpfloat(judge_signal_at(s, 2, 1), ==, 0.0); /* 0x7f */
        g_assert_cmpfloat(judge_signal_at(s, 3, 0), ==, 32124.0 / 32768);
    }
    /* A plain 16-byte fmt (no cbSize) and no fact chunk read as well;
     * 16 bits of "A-law" do not. */
    {
        static const guint8 bare[] = {
            'R', 'I', 'F', 'F', 38, 0, 0, 0, 'W', 'A', 'V', 'E',
            'f', 'm', 't', ' ', 16, 0, 0, 0,
            6, 0, 1, 0, 0x40, 0x1f, 0, 0, 0x40, 0x1f, 0, 0, 1, 0, 8, 0,
            'd', 'a', 't', 'a', 2, 0, 0, 0, 0xd5, 0x2a,
        };
        guint8 wide[sizeof(bare)];
        g_autoptr(GError) err = NULL;
        g_autoptr(JudgeWav) w = judge_wav_parse(bare, sizeof(bare), &err);

        g_assert_no_error(err);
        g_assert_cmpint(w->format, ==, JUDGE_FORMAT_A_LAW);
        g_assert_cmpmem(w->data, w->data_len, "\xd5\x2a", 2);
        memcpy(wide, bare, sizeof(bare));
        wide[32] = 2;
        wide[34] = 16;
        assert_refused(wide, sizeof(wide), JUDGE_WAV_ERROR_UNSUPPORTED, "16-bit A-law");
    }
}

static void test_wav_unwritable(void)
{
    guint8 pcm[4] = { 0 };
    gsize len;
    g_autoptr(GError) err = NULL;
    g_autofree char *path = tmp_path("never.wav");

    g_assert_null(judge_wav_build(JUDGE_FORMAT_U16_LE, 1, RATE, pcm, 4, 0, &len, &err));
    g_assert_error(err, JUDGE_WAV_ERROR, JUDGE_WAV_ERROR_UNSUPPORTED);
    g_clear_error(&err);
    g_assert_false(judge_wav_save(path, JUDGE_FORMAT_S8, 1, RATE, pcm, 4, 0, &err));
    g_assert_error(err, JUDGE_WAV_ERROR, JUDGE_WAV_ERROR_UNSUPPORTED);
    g_assert_false(g_file_test(path, G_FILE_TEST_EXISTS));
    g_clear_error(&err);
    g_assert_null(judge_wav_build(JUDGE_FORMAT_S16_LE, 0, RATE, pcm, 4, 0, &len, &err));
    g_assert_error(err, JUDGE_WAV_ERROR, JUDGE_WAV_ERROR_UNSUPPORTED);
}

/* A file with the tone, cut after @keep bytes of data. */
static guint8 *cut_file(JudgeWavFlags flags, gsize keep, gsize *len, gsize *data,
                        guint8 **pcm, gsize *pcm_len)
{
    JudgeToneSpec t = { JUDGE_FORMAT_S16_LE, 2, RATE, 1000.0, 100.0, -6.0 };
    g_autoptr(GError) err = NULL;
    guint8 *file;

    *pcm = judge_tone_new(&t, 1000, pcm_len);
    file = judge_wav_build(t.format, 2, RATE, *pcm, *pcm_len, flags, len, &err);
    g_assert_no_error(err);
    *data = chunk_at(file, *len, "data") + 8;
    if (keep < *len - *data)
        *len = *data + keep;
    return file;
}

static void test_wav_stream(void)
{
    gsize len, data, pcm_len;
    g_autofree guint8 *pcm = NULL;
    /* 0xFFFFFFFF sizes, killed mid-frame: the whole frames present. */
    g_autofree guint8 *file = cut_file(JUDGE_WAV_STREAM, 1001, &len, &data, &pcm, &pcm_len);
    g_autofree char *path = tmp_path("stream.wav");
    g_autoptr(GError) err = NULL;
    g_autoptr(JudgeWav) w = NULL;

    g_assert_cmpuint(le32(file + data - 4), ==, 0xffffffff);
    g_assert_cmpuint(le32(file + 4), ==, 0xffffffff);
    g_assert_true(g_file_set_contents(path, (char *)file, (gssize)len, &err));
    w = judge_wav_load(path, &err);
    g_assert_no_error(err);
    g_assert_true(w->size_unknown);
    g_assert_cmpuint(w->data_len, ==, 1000);
    g_assert_cmpmem(w->data, w->data_len, pcm, 1000);
}

static void test_wav_killed_writer(void)
{
    gsize len, data, pcm_len;
    g_autofree guint8 *pcm = NULL;
    g_autofree guint8 *file = cut_file(0, G_MAXSIZE, &len, &data, &pcm, &pcm_len);
    g_autoptr(GError) err = NULL;
    g_autoptr(JudgeWav) w = NULL;

    /* Sizes still as written at open (header only, data 0). */
    file[4] = (guint8)(data - 8);
    memset(file + 5, 0, 3);
    memset(file + data - 4, 0, 4);
    w = judge_wav_parse(file, len, &err);
    g_assert_no_error(err);
    g_assert_true(w->size_unknown);
    g_assert_cmpmem(w->data, w->data_len, pcm, pcm_len);
    judge_wav_free(g_steal_pointer(&w));

    /* A data size beyond the end of the file. */
    file[data - 4] = 0x10;
    file[data - 1] = 0x7f;
    w = judge_wav_parse(file, len - 6, &err);
    g_assert_no_error(err);
    g_assert_true(w->size_unknown);
    g_assert_cmpuint(w->data_len, ==, pcm_len - 8);
    g_assert_cmpmem(w->data, w->data_len, pcm, pcm_len - 8);
}

static void test_wav_empty(void)
{
    gsize len, data, pcm_len;
    g_autofree guint8 *pcm = NULL;
    g_autofree guint8 *file = cut_file(0, 0, &len, &data, &pcm, &pcm_len);
    g_autofree guint8 *with_list = NULL;
    g_autoptr(GError) err = NULL;
    g_autoptr(JudgeWav) w = NULL;

    /* A proper empty file. */
    memset(file + data - 4, 0, 4);
    file[4] = (guint8)(data - 8);
    memset(file + 5, 0, 3);
    w = judge_wav_parse(file, len, &err);
    g_assert_no_error(err);
    g_assert_false(w->size_unknown);
    g_assert_cmpuint(w->data_len, ==, 0);
    judge_wav_free(g_steal_pointer(&w));

    /* An empty data chunk followed by a LIST chunk the RIFF size counts:
     * the LIST is not audio. */
    with_list = g_malloc(len + 12);
    memcpy(with_list, file, len);
    memcpy(with_list + len, "LIST\x04\x00\x00\x00INFO", 12);
    with_list[4] = (guint8)(len + 12 - 8);
    w = judge_wav_parse(with_list, len + 12, &err);
    g_assert_no_error(err);
    g_assert_false(w->size_unknown);
    g_assert_cmpuint(w->data_len, ==, 0);
}

static void test_wav_chunks(void)
{
    /* fmt, an odd-sized LIST (padded), data of 3 U8 frames (odd: padded),
     * then another chunk that must not be read as audio. */
    static const guint8 file[] = {
        'R', 'I', 'F', 'F', 62, 0, 0, 0, 'W', 'A', 'V', 'E',
        'f', 'm', 't', ' ', 16, 0, 0, 0, 1, 0, 1, 0, 0x40, 0x1f, 0, 0, 0x40, 0x1f, 0, 0, 1, 0, 8, 0,
        'L', 'I', 'S', 'T', 5, 0, 0, 0, 'a', 'b', 'c', 'd', 'e', 0,
        'd', 'a', 't', 'a', 3, 0, 0, 0, 0x10, 0x80, 0xf0, 0,
        'j', 'u', 'n', 'k', 0, 0, 0, 0,
    };
    g_autoptr(GError) err = NULL;
    g_autoptr(JudgeWav) w = judge_wav_parse(file, sizeof(file), &err);

    g_assert_no_error(err);
    g_assert_cmpint(w->format, ==, JUDGE_FORMAT_U8);
    g_assert_cmpuint(w->rate, ==, 8000);
    g_assert_cmpuint(w->channels, ==, 1);
    g_assert_cmpmem(w->data, w->data_len, "\x10\x80\xf0", 3);
    g_assert_false(w->size_unknown);
}

static void test_wav_compare_files(void)
{
    JudgeToneSpec t = { JUDGE_FORMAT_FLOAT_LE, 2, RATE, 1000.0, 100.0, -6.0 };
    g_autofree char *a = tmp_path("a.wav"), *b = tmp_path("b.wav"), *c = tmp_path("c.wav");
    g_autofree char *d = tmp_path("d.wav");
    g_autoptr(GError) err = NULL;
    gsize len;
    g_autofree guint8 *pcm = judge_tone_new(&t, 1000, &len);
    g_autofree guint8 *longer = g_malloc0(len + 4000);
    JudgeCompare cmp;
    JudgeFind f;

    g_assert_true(judge_wav_save_tone(a, &t, 1000, 0, &err));
    /* The same data, with an extensible header and 500 frames of lead-in. */
    memcpy(longer + 4000, pcm, len);
    g_assert_true(judge_wav_save(b, t.format, 2, RATE, longer, len + 4000,
                                 JUDGE_WAV_EXTENSIBLE, &err));
    g_assert_true(judge_wav_save_tone(c, &t, 1000, JUDGE_WAV_STREAM, &err));
    g_assert_no_error(err);

    g_assert_true(judge_wav_compare(a, c, &cmp, &err));
    g_assert_true(cmp.identical);
    g_assert_true(judge_wav_compare(a, b, &cmp, &err));
    g_assert_false(cmp.identical);
    g_assert_true(judge_wav_find(a, b, &f, &err));
    g_assert_no_error(err);
    g_assert_cmpuint(f.b_offset, ==, 4000 + f.a_offset);

    t.format = JUDGE_FORMAT_S16_LE;
    g_assert_true(judge_wav_save_tone(d, &t, 1000, 0, &err));
    g_assert_false(judge_wav_compare(a, d, &cmp, &err));
    g_assert_error(err, JUDGE_WAV_ERROR, JUDGE_WAV_ERROR_MISMATCH);
    g_clear_error(&err);
    g_assert_false(judge_wav_find(a, "/nonexistent/x.wav", &f, &err));
    g_assert_error(err, G_FILE_ERROR, G_FILE_ERROR_NOENT);
}

/* A valid 2-channel S16 header to break. */
static guint8 *good_file(gsize *len)
{
    guint8 pcm[400] = { 1 };
    g_autoptr(GError) err = NULL;
    guint8 *file = judge_wav_build(JUDGE_FORMAT_S16_LE, 2, RATE, pcm, sizeof(pcm), 0, len, &err);

    g_assert_no_error(err);
    return file;
}

static void assert_refused(const guint8 *file, gsize len, int code, const char *what)
{
    g_autoptr(GError) err = NULL;
    JudgeWav *w = judge_wav_parse(file, len, &err);

    g_assert_null(w);
    g_assert_error(err, JUDGE_WAV_ERROR, code);
    g_test_message("%s: %s", what, err->message);
}

static void test_wav_malformed(void)
{
    gsize len;
    g_autofree guint8 *file = good_file(&len);
    g_autofree guint8 *bad = g_malloc(len);
    g_autofree guint8 *ext = NULL;
    gsize ext_len, data = chunk_at(file, len, "data");
    guint8 pcm[12] = { 0 };
    g_autoptr(GError) err = NULL;

    /* Every cut inside the header, down to nothing. */
    for (gsize cut = 0; cut < data + 8; cut++)
        assert_refused(file, cut, JUDGE_WAV_ERROR_INVALID, "truncated header");
#define BREAK(stmt, code, what) \
    do { memcpy(bad, file, len); stmt; assert_refused(bad, len, code, what); } while (0)
    BREAK(bad[0] = 'X', JUDGE_WAV_ERROR_INVALID, "not RIFF");
    BREAK(bad[16] = 14, JUDGE_WAV_ERROR_INVALID, "fmt chunk too short");
    BREAK(bad[22] = 0, JUDGE_WAV_ERROR_INVALID, "zero channels");
    BREAK(memset(bad + 24, 0, 4), JUDGE_WAV_ERROR_INVALID, "zero rate");
    BREAK(bad[32] = 3, JUDGE_WAV_ERROR_INVALID, "block align");
    BREAK(bad[34] = 24, JUDGE_WAV_ERROR_INVALID, "bits vs block align");
    BREAK(bad[20] = 2, JUDGE_WAV_ERROR_UNSUPPORTED, "ADPCM");
    BREAK(memcpy(bad + 12, "fmx ", 4), JUDGE_WAV_ERROR_INVALID, "no fmt chunk");
    BREAK(memcpy(bad + data, "dat ", 4), JUDGE_WAV_ERROR_INVALID, "no data chunk");
    BREAK(memset(bad + 16, 0xff, 4), JUDGE_WAV_ERROR_INVALID, "fmt chunk past the end");
#undef BREAK

    /* Extensible: short, unknown subformat, more valid bits than the container. */
    ext = judge_wav_build(JUDGE_FORMAT_S24_LE, 1, RATE, pcm, sizeof(pcm), 0, &ext_len, &err);
    g_assert_no_error(err);
    g_assert_cmpuint(le16(ext + 20), ==, 0xfffe);
    memcpy(bad, ext, MIN(len, ext_len));
    bad[16] = 24;
    assert_refused(bad, ext_len, JUDGE_WAV_ERROR_INVALID, "extensible too short");
    memcpy(bad, ext, ext_len);
    bad[44] = 2;
    assert_refused(bad, ext_len, JUDGE_WAV_ERROR_UNSUPPORTED, "subformat");
    memcpy(bad, ext, ext_len);
    bad[38] = 40;
    assert_refused(bad, ext_len, JUDGE_WAV_ERROR_INVALID, "valid > container");
    memcpy(bad, ext, ext_len);
    bad[38] = 12;
    assert_refused(bad, ext_len, JUDGE_WAV_ERROR_UNSUPPORTED, "12 of 32 bits");
}

static void mutate(const guint8 *file, gsize len, guint32 seed)
{
    g_autofree guint8 *bad = g_malloc(len);
    g_autoptr(GRand) rand = g_rand_new_with_seed(seed);
    guint parsed = 0;

    for (int iter = 0; iter < 20000; iter++) {
        gsize cut = (gsize)g_rand_int_range(rand, 0, (gint32)len + 1);
        g_autoptr(GError) err = NULL;
        JudgeWav *w;

        memcpy(bad, file, len);
        for (int k = g_rand_int_range(rand, 1, 4); k > 0; k--)
            bad[g_rand_int_range(rand, 0, (gint32)MIN(len, 80))] = (guint8)g_rand_int(rand);
        w = judge_wav_parse(bad, cut, &err);
        g_assert_true((w == NULL) != (err == NULL));
        if (w) {
            g_autoptr(JudgeSignal) s = judge_wav_signal(w);

            g_assert_nonnull(s);
            g_assert_cmpuint(w->data_len % (judge_format_bytes(w->format) * w->channels), ==, 0);
            parsed++;
        }
        judge_wav_free(w);
    }
    g_test_message("%u of 20000 damaged files still parsed", parsed);
}

static void test_wav_mutations(void)
{
    /* Deterministic random damage to the header: errors or data, never a
     * crash or an out-of-bounds read (run under ASan). */
    gsize len;
    g_autofree guint8 *file = good_file(&len);

    mutate(file, len, 42);
    /* The G.711 headers the daemon writes, too. */
    mutate(daemon_alaw, sizeof(daemon_alaw), 43);
    mutate(daemon_mulaw_ext, sizeof(daemon_mulaw_ext), 44);
}

static void remove_tmpdir(void)
{
    g_autoptr(GDir) dir = g_dir_open(tmpdir, 0, NULL);
    const char *name;

    while (dir && (name = g_dir_read_name(dir))) {
        g_autofree char *path = tmp_path(name);

        g_unlink(path);
    }
    g_rmdir(tmpdir);
}

int main(int argc, char **argv)
{
    int ret;

    g_test_init(&argc, &argv, NULL);
    tmpdir = g_dir_make_tmp("test-audio-judge-XXXXXX", NULL);
    g_assert_nonnull(tmpdir);

    g_test_add_func("/judge/format/names", test_format_names);
    g_test_add_func("/judge/format/values", test_format_values);
    g_test_add_func("/judge/g711/values", test_g711_values);
    g_test_add_func("/judge/g711/codes", test_g711_codes);
    g_test_add_func("/judge/g711/silence", test_g711_silence);
    g_test_add_func("/judge/g711/tones", test_g711_tones);
    g_test_add_func("/judge/g711/continuity", test_g711_continuity);
    g_test_add_func("/judge/tone/every-format", test_tone_every_format);
    g_test_add_func("/judge/tone/resolution", test_tone_resolution);
    g_test_add_func("/judge/tone/absent", test_tone_absent);
    g_test_add_func("/judge/tone/deterministic", test_tone_deterministic);
    g_test_add_func("/judge/level/change", test_level_change);
    g_test_add_func("/judge/silence/edges", test_silence);
    g_test_add_func("/judge/silence/u8", test_silence_u8);
    g_test_add_func("/judge/continuity/clean", test_continuity_clean);
    g_test_add_func("/judge/continuity/glitch", test_continuity_glitch);
    g_test_add_func("/judge/continuity/gap", test_continuity_gap);
    g_test_add_func("/judge/continuity/pause", test_continuity_pause);
    g_test_add_func("/judge/continuity/phase-jump", test_continuity_phase_jump);
    g_test_add_func("/judge/continuity/channels", test_continuity_channels);
    g_test_add_func("/judge/compare/bytes", test_compare);
    g_test_add_func("/judge/compare/find", test_find);
    g_test_add_func("/judge/compare/find-u8", test_find_u8);
    g_test_add_func("/judge/compare/find-g711", test_find_g711);
    g_test_add_func("/judge/wav/roundtrip", test_wav_roundtrip);
    g_test_add_func("/judge/wav/layout", test_wav_layout);
    g_test_add_func("/judge/wav/g711-daemon", test_wav_g711_daemon);
    g_test_add_func("/judge/wav/unwritable", test_wav_unwritable);
    g_test_add_func("/judge/wav/stream", test_wav_stream);
    g_test_add_func("/judge/wav/killed-writer", test_wav_killed_writer);
    g_test_add_func("/judge/wav/empty", test_wav_empty);
    g_test_add_func("/judge/wav/chunks", test_wav_chunks);
    g_test_add_func("/judge/wav/compare-files", test_wav_compare_files);
    g_test_add_func("/judge/wav/malformed", test_wav_malformed);
    g_test_add_func("/judge/wav/mutations", test_wav_mutations);

    ret = g_test_run();
    remove_tmpdir();
    g_free(tmpdir);
    return ret;
}
