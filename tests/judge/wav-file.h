/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * wav-file.h - RIFF/WAVE files for the audio judge: read what a recorder
 * (or the daemon's wav driver) left, write reference files for a guest.
 *
 * Read: WAVE_FORMAT_PCM (1), _IEEE_FLOAT (3), _ALAW (6), _MULAW (7) and
 * _EXTENSIBLE (0xFFFE) with one of those as subformat; A-law and mu-law are
 * 8 bits a sample, their data is taken as it is (JUDGE_FORMAT_A_LAW,
 * _MU_LAW).  Unknown chunks (LIST, fact, ...) are skipped,
 * odd-sized chunks are padded as RIFF says.  A data size of 0 or 0xFFFFFFFF,
 * or one larger than the file, is what a writer that was killed (or could
 * not seek back) leaves: the data then runs to the end of the file.  A
 * malformed or unsupported file is a GError, never a crash.
 *
 * Samples narrower than their container sit in its top bits in WAV but in
 * the low bits in ALSA's layouts (S24_LE, S20_LE, S20_3LE, S18_3LE): data
 * is moved between the two on the way in and out (sign-extended on reading),
 * so that JudgeWav.data holds what a guest would have played.  Formats WAV
 * cannot hold (S8, the wider unsigned ones) are stored sign-flipped by the
 * daemon's wav driver and read back as their signed twin.
 */
#ifndef VSND_TESTS_JUDGE_WAV_FILE_H
#define VSND_TESTS_JUDGE_WAV_FILE_H

#include <glib.h>

#include "tests/judge/audio-judge.h"

#define JUDGE_WAV_ERROR (judge_wav_error_quark())
GQuark judge_wav_error_quark(void);

typedef enum {
    JUDGE_WAV_ERROR_INVALID,     /* not a well-formed WAV file */
    JUDGE_WAV_ERROR_UNSUPPORTED, /* well-formed, but a layout this does not handle */
    JUDGE_WAV_ERROR_MISMATCH,    /* two files to compare differ in format */
} JudgeWavError;

typedef enum {
    JUDGE_WAV_DEFAULT = 0,
    /* WAVE_FORMAT_EXTENSIBLE even where a plain header would do. */
    JUDGE_WAV_EXTENSIBLE = 1 << 0,
    /* RIFF and data sizes 0xFFFFFFFF, as a streaming writer leaves them. */
    JUDGE_WAV_STREAM = 1 << 1,
} JudgeWavFlags;

typedef struct {
    JudgeFormat format;
    guint channels;
    guint rate;
    guint16 tag;             /* wFormatTag as found: 1, 3, 6, 7 or 0xFFFE */
    guint16 container_bits;  /* bits per sample in the file */
    guint16 valid_bits;
    guint32 channel_mask;    /* extensible only, else 0 */
    gboolean size_unknown;   /* the data size was not usable: data runs to EOF */
    guint8 *data;            /* whole frames, in format's (ALSA) layout */
    gsize data_len;
} JudgeWav;

/* Parse a whole file held in memory. */
JudgeWav *judge_wav_parse(const void *bytes, gsize len, GError **error);
JudgeWav *judge_wav_load(const char *path, GError **error);
void judge_wav_free(JudgeWav *w);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(JudgeWav, judge_wav_free)

/* Decode the data (rate and format carried over). */
JudgeSignal *judge_wav_signal(const JudgeWav *w);

/*
 * A complete file for @len bytes of @fmt (whole frames), laid out as the
 * daemon's wav driver lays it out: A-law and mu-law with tags 6 and 7 (or
 * as the extensible subformat), an 18-byte fmt chunk and a fact chunk
 * holding the frame count, as float and extensible files have one too.
 * Unsigned formats wider than 8 bits and S8 have no WAV form:
 * JUDGE_WAV_ERROR_UNSUPPORTED.
 * Return: the file, *@out_len its size.
 */
guint8 *judge_wav_build(JudgeFormat fmt, guint channels, guint rate, const void *data,
                        gsize len, JudgeWavFlags flags, gsize *out_len, GError **error);
gboolean judge_wav_save(const char *path, JudgeFormat fmt, guint channels, guint rate,
                        const void *data, gsize len, JudgeWavFlags flags, GError **error);
/* @frames of the tone @t (judge_tone_fill()) as a file. */
gboolean judge_wav_save_tone(const char *path, const JudgeToneSpec *t, gsize frames,
                             JudgeWavFlags flags, GError **error);

/*
 * The data of two files, bit for bit (judge_compare_bytes(), judge_find()).
 * Return: FALSE with @error if a file cannot be read or the two differ in
 * format, channels or rate (JUDGE_WAV_ERROR_MISMATCH); judge_wav_find()
 * also returns FALSE when A is not found (no @error then).
 */
gboolean judge_wav_compare(const char *path_a, const char *path_b, JudgeCompare *out,
                           GError **error);
gboolean judge_wav_find(const char *path_a, const char *path_b, JudgeFind *out,
                        GError **error);

#endif /* VSND_TESTS_JUDGE_WAV_FILE_H */
