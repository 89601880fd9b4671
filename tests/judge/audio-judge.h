/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * audio-judge.h - judging audio by its samples, for the real-guest tests.
 *
 * A guest that "played without error" proves little: these helpers look at
 * what actually came out (or went in).  Raw bytes are compared bit for bit;
 * everything else works on a JudgeSignal, the samples of a buffer decoded
 * to doubles in [-1, 1) per channel.  Results are plain structs; nothing
 * prints, judge_describe_*() turn a result into text for failure messages.
 *
 * Frame ranges are (start, n) with n clamped to the end of the signal, so
 * (0, G_MAXSIZE) is "everything".  Levels are dB relative to full scale
 * (a sample value of 1.0); 0 gives -INFINITY.
 */
#ifndef VSND_TESTS_JUDGE_AUDIO_JUDGE_H
#define VSND_TESTS_JUDGE_AUDIO_JUDGE_H

#include <glib.h>

/* ---- sample formats ---------------------------------------------------- */

/*
 * Interleaved little-endian PCM layouts, named as ALSA names them.  Integer
 * samples narrower than their container are low-aligned (ALSA S24_LE is 24
 * bits in the low 3 bytes of 4); on encoding, signed ones are sign-extended
 * into the unused high bits, unsigned ones leave them zero.
 *
 * MU_LAW and A_LAW are ITU-T G.711, one byte per sample.  A code decodes
 * to its G.711 linear value (14 bits for mu-law, 13 for A-law) scaled as
 * that value shifted into 16 bits would be: mu-law 0x80 is 32124/32768,
 * A-law 0xAA 32256/32768.  Encoding takes the linear value nearest to x
 * and compresses it as G.711 does; every code survives decoding and
 * re-encoding except mu-law's negative zero 0x7F, which comes back as
 * 0xFF (+0).  "Silent" throughout this library means "decodes to exactly
 * 0.0": mu-law 0xFF and 0x7F are silent, but no A-law code is (the codes
 * next to zero, 0xD5 and 0x55, decode to +-8/32768), so for A-law data
 * judge_find() anchors on A's first frame, the silence helpers find none
 * and judge_continuity() sees no gaps: judge levels there instead.
 */
typedef enum {
    JUDGE_FORMAT_INVALID = -1,
    JUDGE_FORMAT_S8,
    JUDGE_FORMAT_U8,
    JUDGE_FORMAT_S16_LE,
    JUDGE_FORMAT_U16_LE,
    JUDGE_FORMAT_S18_3LE,
    JUDGE_FORMAT_U18_3LE,
    JUDGE_FORMAT_S20_3LE,
    JUDGE_FORMAT_U20_3LE,
    JUDGE_FORMAT_S24_3LE,
    JUDGE_FORMAT_U24_3LE,
    JUDGE_FORMAT_S20_LE,
    JUDGE_FORMAT_U20_LE,
    JUDGE_FORMAT_S24_LE,
    JUDGE_FORMAT_U24_LE,
    JUDGE_FORMAT_S32_LE,
    JUDGE_FORMAT_U32_LE,
    JUDGE_FORMAT_FLOAT_LE,
    JUDGE_FORMAT_FLOAT64_LE,
    JUDGE_FORMAT_MU_LAW,
    JUDGE_FORMAT_A_LAW,
    JUDGE_FORMAT_COUNT
} JudgeFormat;

/* "S16_LE" etc.; NULL for an invalid value. */
const char *judge_format_name(JudgeFormat fmt);
/* The format named @name (ALSA spelling, case-insensitive), or
 * JUDGE_FORMAT_INVALID. */
JudgeFormat judge_format_from_name(const char *name);
/* Bytes one sample occupies (0 for an invalid format). */
guint judge_format_bytes(JudgeFormat fmt);
/* Significant bits (32/64 for the float formats, 8 for the G.711 codes). */
guint judge_format_bits(JudgeFormat fmt);
gboolean judge_format_is_float(JudgeFormat fmt);
gboolean judge_format_is_unsigned(JudgeFormat fmt);

/* One sample at @p to a double: integers scale to [-1, 1), floats as they
 * are, G.711 codes expand as above. */
double judge_sample_decode(JudgeFormat fmt, const guint8 *p);
/* @x to one sample at @p: integers round to nearest and clip to their range
 * (NaN becomes silence; for A-law, the code of +0: 0xD5); floats are stored
 * as they are; G.711 rounds to the nearest linear value, clips, compresses. */
void judge_sample_encode(JudgeFormat fmt, double x, guint8 *p);
/* @n samples (not frames) from @src to @dst. */
void judge_decode(JudgeFormat fmt, const void *src, double *dst, gsize n);
void judge_encode(JudgeFormat fmt, const double *src, void *dst, gsize n);

/* ---- signals ----------------------------------------------------------- */

typedef struct {
    double *samples;    /* frames * channels, interleaved */
    gsize frames;
    guint channels;
    guint rate;         /* Hz; 0 if unknown (frequency analysis then fails) */
    JudgeFormat format; /* where the samples came from: its quantisation step
                         * is what the continuity check tolerates */
} JudgeSignal;

/* Decode @len bytes of @fmt; a trailing partial frame is ignored.
 * Return: NULL if @fmt is invalid or @channels is 0. */
JudgeSignal *judge_signal_new(JudgeFormat fmt, guint channels, guint rate,
                              const void *data, gsize len);
/* @frames frames of silence (format FLOAT64_LE), to be filled by hand. */
JudgeSignal *judge_signal_new_silent(guint channels, guint rate, gsize frames);
void judge_signal_free(JudgeSignal *s);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(JudgeSignal, judge_signal_free)

static inline double judge_signal_at(const JudgeSignal *s, gsize frame, guint ch)
{
    return s->samples[frame * s->channels + ch];
}

/* ---- tone generation --------------------------------------------------- */

/*
 * A sine per channel: channel c plays freq_hz + c * freq_step_hz (a step of
 * 100 makes a channel swap visible) at peak amplitude level_dbfs, starting
 * at phase 0 on frame 0.  Sample n depends on n only, so a tone generated
 * in pieces is identical to one generated at once, byte for byte.
 */
typedef struct {
    JudgeFormat format;
    guint channels;
    guint rate;
    double freq_hz;
    double freq_step_hz;
    double level_dbfs;
} JudgeToneSpec;

/* Frames [@first, @first + @frames) into @buf, which holds
 * @frames * channels * judge_format_bytes(format) bytes.  Return: bytes written. */
gsize judge_tone_fill(const JudgeToneSpec *t, gsize first, gsize frames, void *buf);
/* The same, newly allocated; *@len gets the size. */
guint8 *judge_tone_new(const JudgeToneSpec *t, gsize frames, gsize *len);

/* ---- bit comparison ---------------------------------------------------- */

typedef struct {
    gsize len_a, len_b;
    gsize first_diff;       /* first offset where the bytes differ; a byte past
                             * the end of the shorter one differs; identical: len */
    gsize equal_bytes;      /* offsets < min(len_a, len_b) holding equal bytes */
    gboolean identical;
    gboolean a_prefix_of_b; /* len_a <= len_b and a == b[0, len_a) */
    gboolean b_prefix_of_a;
} JudgeCompare;

void judge_compare_bytes(const void *a, gsize len_a, const void *b, gsize len_b,
                         JudgeCompare *out);

/*
 * "Does A appear, exactly, in B?"  A capture may begin with silence, and a
 * played file may have its own lead-in: the search anchors on A's first
 * non-silent frame (a frame whose samples all decode to 0 is silent) and
 * tries each frame-aligned position of B holding that frame, first to last,
 * until the rest of A matches byte for byte.
 */
typedef struct {
    gboolean found;       /* A from a_offset to its end is at b_offset in B */
    gboolean whole;       /* found, and A's lead-in matches too: all of A is
                           * in B at b_offset - a_offset */
    gboolean a_silent;    /* A has no non-silent frame: nothing to anchor on */
    gsize a_offset;       /* byte offset of A's first non-silent frame */
    gsize b_offset;       /* where it is in B; when not found, the candidate
                           * that matched longest (or len_b if there was none) */
    gsize matched;        /* bytes equal from there (found: len_a - a_offset) */
} JudgeFind;

gboolean judge_find(JudgeFormat fmt, guint channels, const void *a, gsize len_a,
                    const void *b, gsize len_b, JudgeFind *out);

/* ---- frequency --------------------------------------------------------- */

typedef struct {
    double freq_hz;     /* dominant frequency, refined far below one FFT bin */
    double amplitude;   /* peak amplitude of that sine */
    double level_dbfs;  /* the same in dB */
    double purity;      /* its share of the range's (AC) energy, 0..1 */
} JudgeTone;

/*
 * The strongest sine in channel @ch over the range: a Hann-windowed FFT
 * finds the peak bin, then the windowed spectrum is maximised between the
 * neighbouring bins (a 1 s window at 48 kHz resolves well below 0.01 Hz).
 * Ranges longer than 2^20 frames are measured on their first 2^20 frames.
 * Return: FALSE if the rate is unknown, the range has fewer than 16 frames
 * or holds no AC energy.
 */
gboolean judge_tone_measure(const JudgeSignal *s, guint ch, gsize start, gsize n,
                            JudgeTone *out);
/* Is the dominant tone within @tol_hz of @freq_hz and more than half of the
 * energy?  @out (may be NULL) gets the measurement either way. */
gboolean judge_tone_present(const JudgeSignal *s, guint ch, gsize start, gsize n,
                            double freq_hz, double tol_hz, JudgeTone *out);

/* ---- level ------------------------------------------------------------- */

/* 20 log10(1/sqrt(2)): the RMS level of a full-scale sine. */
#define JUDGE_SINE_RMS_DB (-3.0102999566398120)

typedef struct {
    gsize frames;
    double rms, peak;            /* linear */
    double rms_dbfs, peak_dbfs;  /* a sine of peak level L has rms_dbfs
                                  * L + JUDGE_SINE_RMS_DB */
} JudgeLevel;

/* 20 log10(@linear); -INFINITY for 0. */
double judge_db(double linear);
void judge_level(const JudgeSignal *s, guint ch, gsize start, gsize n, JudgeLevel *out);
/* RMS of range b relative to range a, in dB (a volume step of -6 dB between
 * them reads -6). */
double judge_level_change_db(const JudgeSignal *s, guint ch, gsize a_start, gsize a_n,
                             gsize b_start, gsize b_n);

/* ---- digital silence --------------------------------------------------- */

/* For the silence helpers: every channel must be zero. */
#define JUDGE_ALL_CHANNELS G_MAXUINT

/* Every sample of the range exactly 0 (an empty range is silent).  No A-law
 * sample is: see the sample formats above. */
gboolean judge_is_silent(const JudgeSignal *s, guint ch, gsize start, gsize n);
/* Frames of exact silence at the start / end of the whole signal. */
gsize judge_leading_silence(const JudgeSignal *s, guint ch);
gsize judge_trailing_silence(const JudgeSignal *s, guint ch);

/* ---- continuity of a sine ---------------------------------------------- */

/*
 * For a pure sine x[n+1] + x[n-1] = 2 cos(w) x[n].  The residual
 * |x[n+1] + x[n-1] - 2 cos(w) x[n]| / amplitude is ~0 along a continuous
 * sine whatever its phase, and jumps at clicks, dropped or repeated
 * samples and phase jumps.  Runs of exact zeros inside the signal are
 * gaps (the pause a test expects, or one it does not); residuals touching
 * a gap belong to the gap and are not reported again.  Silence before the
 * first and after the last non-zero sample of the range is neither.  A-law
 * has no exact zero: its silence (0xD5 or 0x55) reads as a faint signal,
 * not as a gap.
 */

/* Default thresholds; 0 in the options selects them. */
#define JUDGE_CONTINUITY_THRESHOLD 0.02
#define JUDGE_MIN_GAP_FRAMES 4

typedef struct {
    double freq_hz;        /* 0: measured over the range */
    double amplitude;      /* 0: measured (99th percentile of |x| != 0) */
    double threshold;      /* relative residual counted as a discontinuity;
                            * 0: JUDGE_CONTINUITY_THRESHOLD, raised to stay
                            * above 4 quantisation steps of the format (for
                            * G.711, of the segment the amplitude is in:
                            * 0.125..0.25 of the amplitude, so that a lost
                            * sample of a low tone may pass unseen) */
    gsize min_gap_frames;  /* 0: JUDGE_MIN_GAP_FRAMES */
} JudgeContinuityOptions;

/* A sine sample that happens to be exactly 0 next to a gap counts as part
 * of it: start and length may be one frame generous. */
typedef struct {
    gsize start;   /* first zero frame, a frame number of the signal */
    gsize frames;
} JudgeGap;

typedef struct {
    gsize frame;     /* largest residual of the event; the disturbed sample
                      * is within one frame of it */
    gsize frames;    /* span of the over-threshold residuals (merged when at
                      * most 2 frames apart) */
    double residual; /* that largest residual, relative to the amplitude */
} JudgeGlitch;

typedef struct {
    double freq_hz, amplitude, threshold;   /* what was used */
    gsize leading_silence, trailing_silence; /* frames, within the range */
    GArray *gaps;        /* JudgeGap, in order */
    GArray *glitches;    /* JudgeGlitch, in order: the discontinuities that no
                          * gap explains */
    double max_residual; /* largest relative residual outside gaps */
} JudgeContinuity;

/*
 * Judge channel @ch over the range.  @opt may be NULL (all defaults).
 * Return: FALSE if there is nothing to judge (no non-zero sample, or the
 * frequency could not be measured); @out is initialised either way and
 * must be cleared with judge_continuity_clear().
 */
gboolean judge_continuity(const JudgeSignal *s, guint ch, gsize start, gsize n,
                          const JudgeContinuityOptions *opt, JudgeContinuity *out);
void judge_continuity_clear(JudgeContinuity *c);

/* ---- descriptions for failure messages --------------------------------- */

void judge_describe_compare(GString *out, const JudgeCompare *c);
void judge_describe_find(GString *out, const JudgeFind *f);
void judge_describe_tone(GString *out, const JudgeTone *t);
void judge_describe_level(GString *out, const JudgeLevel *l);
/* @rate (may be 0) adds times in seconds to the frame numbers. */
void judge_describe_continuity(GString *out, const JudgeContinuity *c, guint rate);

#endif /* VSND_TESTS_JUDGE_AUDIO_JUDGE_H */
