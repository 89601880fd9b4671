/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * audio-judge.c - sample formats, tones, bit comparison, frequency, level,
 * silence and continuity of a sine.  See audio-judge.h for the contracts.
 */
#define G_LOG_DOMAIN "audio-judge"
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tests/judge/audio-judge.h"

/* ---- sample formats ---------------------------------------------------- */

typedef enum { KIND_SIGNED, KIND_UNSIGNED, KIND_FLOAT, KIND_MU_LAW, KIND_A_LAW } SampleKind;

typedef struct {
    const char *name;
    guint8 bytes;   /* container */
    guint8 bits;    /* significant, low-aligned */
    SampleKind kind;
} FormatInfo;

static const FormatInfo formats[JUDGE_FORMAT_COUNT] = {
    [JUDGE_FORMAT_S8] = { "S8", 1, 8, KIND_SIGNED },
    [JUDGE_FORMAT_U8] = { "U8", 1, 8, KIND_UNSIGNED },
    [JUDGE_FORMAT_S16_LE] = { "S16_LE", 2, 16, KIND_SIGNED },
    [JUDGE_FORMAT_U16_LE] = { "U16_LE", 2, 16, KIND_UNSIGNED },
    [JUDGE_FORMAT_S18_3LE] = { "S18_3LE", 3, 18, KIND_SIGNED },
    [JUDGE_FORMAT_U18_3LE] = { "U18_3LE", 3, 18, KIND_UNSIGNED },
    [JUDGE_FORMAT_S20_3LE] = { "S20_3LE", 3, 20, KIND_SIGNED },
    [JUDGE_FORMAT_U20_3LE] = { "U20_3LE", 3, 20, KIND_UNSIGNED },
    [JUDGE_FORMAT_S24_3LE] = { "S24_3LE", 3, 24, KIND_SIGNED },
    [JUDGE_FORMAT_U24_3LE] = { "U24_3LE", 3, 24, KIND_UNSIGNED },
    [JUDGE_FORMAT_S20_LE] = { "S20_LE", 4, 20, KIND_SIGNED },
    [JUDGE_FORMAT_U20_LE] = { "U20_LE", 4, 20, KIND_UNSIGNED },
    [JUDGE_FORMAT_S24_LE] = { "S24_LE", 4, 24, KIND_SIGNED },
    [JUDGE_FORMAT_U24_LE] = { "U24_LE", 4, 24, KIND_UNSIGNED },
    [JUDGE_FORMAT_S32_LE] = { "S32_LE", 4, 32, KIND_SIGNED },
    [JUDGE_FORMAT_U32_LE] = { "U32_LE", 4, 32, KIND_UNSIGNED },
    [JUDGE_FORMAT_FLOAT_LE] = { "FLOAT_LE", 4, 32, KIND_FLOAT },
    [JUDGE_FORMAT_FLOAT64_LE] = { "FLOAT64_LE", 8, 64, KIND_FLOAT },
    [JUDGE_FORMAT_MU_LAW] = { "MU_LAW", 1, 8, KIND_MU_LAW },
    [JUDGE_FORMAT_A_LAW] = { "A_LAW", 1, 8, KIND_A_LAW },
};

static const FormatInfo *format_info(JudgeFormat fmt)
{
    return fmt >= 0 && fmt < JUDGE_FORMAT_COUNT ? &formats[fmt] : NULL;
}

const char *judge_format_name(JudgeFormat fmt)
{
    const FormatInfo *f = format_info(fmt);

    return f ? f->name : NULL;
}

JudgeFormat judge_format_from_name(const char *name)
{
    for (int i = 0; name && i < JUDGE_FORMAT_COUNT; i++) {
        if (g_ascii_strcasecmp(name, formats[i].name) == 0)
            return (JudgeFormat)i;
    }
    return JUDGE_FORMAT_INVALID;
}

guint judge_format_bytes(JudgeFormat fmt)
{
    const FormatInfo *f = format_info(fmt);

    return f ? f->bytes : 0;
}

guint judge_format_bits(JudgeFormat fmt)
{
    const FormatInfo *f = format_info(fmt);

    return f ? f->bits : 0;
}

gboolean judge_format_is_float(JudgeFormat fmt)
{
    const FormatInfo *f = format_info(fmt);

    return f && f->kind == KIND_FLOAT;
}

gboolean judge_format_is_unsigned(JudgeFormat fmt)
{
    const FormatInfo *f = format_info(fmt);

    return f && f->kind == KIND_UNSIGNED;
}

/* Assembled byte by byte: correct whatever the host's byte order. */
static guint64 load_le(const guint8 *p, guint bytes)
{
    guint64 v = 0;

    for (guint i = 0; i < bytes; i++)
        v |= (guint64)p[i] << (8 * i);
    return v;
}

static void store_le(guint8 *p, guint64 v, guint bytes)
{
    for (guint i = 0; i < bytes; i++)
        p[i] = (guint8)(v >> (8 * i));
}

/*
 * ITU-T G.711.  Both laws send sign and magnitude: a sign bit, 3 bits of
 * segment and 4 bits of step within the segment.  Every step decodes to
 * its middle.
 *
 * mu-law works on 14-bit linear values.  With a bias of 33 added to the
 * magnitude m, segment s (0..7) holds m + 33 in [2^(s+5), 2^(s+6)), in 16
 * steps of 2^(s+1); step q of segment s decodes to ((33 + 2q) << s) - 33,
 * so 0..8031.  Magnitudes from 8159 on are in the last step.  All 8 bits
 * go out inverted, which makes the sign bit 1 for positive values: +0 is
 * 0xFF and -0 is 0x7F.
 *
 * A-law works on 13-bit linear values.  Segment 0 holds magnitudes 0..31
 * and segment s >= 1 holds [2^(s+4), 2^(s+5)), in 16 steps of 2 and of 2^s;
 * step q decodes to 2q + 1 (segment 0) or (33 + 2q) << (s - 1), so 1..4032.
 * Decision levels are symmetric about 0: a negative value v has the
 * magnitude -v - 1 (v = -1 is the mirror of v = 0).  The sign bit is 1 for
 * positive values, and the even bits go out inverted (XOR 0x55).
 */
#define MU_LAW_SCALE 8192.0 /* 2^13: 14-bit values to [-1, 1) */
#define A_LAW_SCALE 4096.0  /* 2^12: 13-bit values */
#define MU_LAW_BIAS 33
#define MU_LAW_CLIP 0x1fff  /* the largest biased magnitude */

/* The mu-law segment of a biased magnitude (33..0x1fff). */
static guint mu_law_segment(guint biased)
{
    return (guint)g_bit_nth_msf(biased, -1) - 5;
}

/* The A-law segment of a magnitude (0..4095). */
static guint a_law_segment(guint mag)
{
    return mag < 32 ? 0 : (guint)g_bit_nth_msf(mag, -1) - 4;
}

static gint mu_law_expand(guint8 code)
{
    guint u = (guint8)~code, s = (u >> 4) & 7, q = u & 15;
    gint mag = (gint)((MU_LAW_BIAS + 2 * q) << s) - MU_LAW_BIAS;

    return u & 0x80 ? -mag : mag;
}

static guint8 mu_law_compress(gint v)
{
    guint biased = MIN((guint)ABS(v) + MU_LAW_BIAS, (guint)MU_LAW_CLIP);
    guint s = mu_law_segment(biased), q = (biased >> (s + 1)) & 15;

    return (guint8)~((v < 0 ? 0x80u : 0u) | s << 4 | q);
}

static gint a_law_expand(guint8 code)
{
    guint a = code ^ 0x55u, s = (a >> 4) & 7, q = a & 15;
    gint mag = (gint)(s == 0 ? 2 * q + 1 : (33 + 2 * q) << (s - 1));

    return a & 0x80 ? mag : -mag;
}

static guint8 a_law_compress(gint v)
{
    guint mag = (guint)(v >= 0 ? v : -v - 1);
    guint s, q;

    mag = MIN(mag, 4095u);
    s = a_law_segment(mag);
    q = s == 0 ? mag >> 1 : (mag >> s) & 15;
    return (guint8)(((v >= 0 ? 0x80u : 0u) | s << 4 | q) ^ 0x55u);
}

/* The linear value nearest @x on a grid of @scale per unit, rounded half
 * up and clipped to [-scale, scale - 1]; NaN is 0. */
static gint g711_linear(double x, double scale)
{
    double v = isnan(x) ? 0.0 : floor(x * scale + 0.5);

    return (gint)CLAMP(v, -scale, scale - 1.0);
}

double judge_sample_decode(JudgeFormat fmt, const guint8 *p)
{
    const FormatInfo *f = format_info(fmt);
    guint64 raw, half;

    g_return_val_if_fail(f != NULL, 0.0);
    /* The integers convert exactly: -0 is +0.0, so it compares equal to 0. */
    if (f->kind == KIND_MU_LAW)
        return mu_law_expand(p[0]) / MU_LAW_SCALE;
    if (f->kind == KIND_A_LAW)
        return a_law_expand(p[0]) / A_LAW_SCALE;
    raw = load_le(p, f->bytes);
    if (f->kind == KIND_FLOAT) {
        if (f->bytes == 4) {
            guint32 r = (guint32)raw;
            float v;

            memcpy(&v, &r, sizeof(v));
            return v;
        }
        double d;

        memcpy(&d, &raw, sizeof(d));
        return d;
    }
    /* Bits above the significant ones are padding: ignored. */
    half = G_GUINT64_CONSTANT(1) << (f->bits - 1);
    raw &= (half << 1) - 1;
    if (f->kind == KIND_UNSIGNED)
        return (double)((gint64)raw - (gint64)half) / (double)half;
    return (double)(raw >= half ? (gint64)raw - (gint64)(half << 1) : (gint64)raw) /
           (double)half;
}

void judge_sample_encode(JudgeFormat fmt, double x, guint8 *p)
{
    const FormatInfo *f = format_info(fmt);
    double half, v;
    gint64 i;

    g_return_if_fail(f != NULL);
    if (f->kind == KIND_MU_LAW) {
        p[0] = mu_law_compress(g711_linear(x, MU_LAW_SCALE));
        return;
    }
    if (f->kind == KIND_A_LAW) {
        p[0] = a_law_compress(g711_linear(x, A_LAW_SCALE));
        return;
    }
    if (f->kind == KIND_FLOAT) {
        if (f->bytes == 4) {
            float fv = (float)x;
            guint32 r;

            memcpy(&r, &fv, sizeof(r));
            store_le(p, r, 4);
        } else {
            guint64 r;

            memcpy(&r, &x, sizeof(r));
            store_le(p, r, 8);
        }
        return;
    }
    half = ldexp(1.0, f->bits - 1);
    /* Round half up (not to even): the same bytes on every libm. Clip in
     * double, before the conversion could overflow. */
    v = isnan(x) ? 0.0 : floor(x * half + 0.5);
    v = CLAMP(v, -half, half - 1.0);
    i = (gint64)v;
    /* Two's complement of a gint64 sign-extends into any unused high bits. */
    store_le(p, f->kind == KIND_UNSIGNED ? (guint64)(i + (gint64)half) : (guint64)i, f->bytes);
}

void judge_decode(JudgeFormat fmt, const void *src, double *dst, gsize n)
{
    const guint8 *p = src;
    guint bytes = judge_format_bytes(fmt);

    g_return_if_fail(bytes != 0);
    for (gsize i = 0; i < n; i++)
        dst[i] = judge_sample_decode(fmt, p + i * bytes);
}

void judge_encode(JudgeFormat fmt, const double *src, void *dst, gsize n)
{
    guint8 *p = dst;
    guint bytes = judge_format_bytes(fmt);

    g_return_if_fail(bytes != 0);
    for (gsize i = 0; i < n; i++)
        judge_sample_encode(fmt, src[i], p + i * bytes);
}

/* ---- signals ----------------------------------------------------------- */

JudgeSignal *judge_signal_new(JudgeFormat fmt, guint channels, guint rate,
                              const void *data, gsize len)
{
    guint bytes = judge_format_bytes(fmt);
    JudgeSignal *s;

    if (bytes == 0 || channels == 0)
        return NULL;
    s = g_new0(JudgeSignal, 1);
    s->channels = channels;
    s->rate = rate;
    s->format = fmt;
    s->frames = len / ((gsize)bytes * channels);
    s->samples = g_new(double, s->frames * channels);
    judge_decode(fmt, data, s->samples, s->frames * channels);
    return s;
}

JudgeSignal *judge_signal_new_silent(guint channels, guint rate, gsize frames)
{
    JudgeSignal *s;

    g_return_val_if_fail(channels > 0, NULL);
    s = g_new0(JudgeSignal, 1);
    s->channels = channels;
    s->rate = rate;
    s->format = JUDGE_FORMAT_FLOAT64_LE;
    s->frames = frames;
    s->samples = g_new0(double, frames * channels);
    return s;
}

void judge_signal_free(JudgeSignal *s)
{
    if (s) {
        g_free(s->samples);
        g_free(s);
    }
}

/* Clamp (start, n) to the signal; Return: the end frame. */
static gsize range_end(const JudgeSignal *s, gsize *start, gsize n)
{
    *start = MIN(*start, s->frames);
    return *start + MIN(n, s->frames - *start);
}

/* ---- tone generation --------------------------------------------------- */

gsize judge_tone_fill(const JudgeToneSpec *t, gsize first, gsize frames, void *buf)
{
    guint bytes = judge_format_bytes(t->format);
    double amp = pow(10.0, t->level_dbfs / 20.0);
    guint8 *p = buf;

    g_return_val_if_fail(bytes != 0 && t->channels > 0 && t->rate > 0, 0);
    for (gsize i = 0; i < frames; i++) {
        for (guint c = 0; c < t->channels; c++) {
            double f = t->freq_hz + c * t->freq_step_hz;
            /* The phase from the frame number alone, reduced to one cycle
             * before sin(): no drift from accumulating, and long tones keep
             * their precision. */
            double cycle = fmod((double)(first + i) * f / t->rate, 1.0);

            judge_sample_encode(t->format, amp * sin(2.0 * G_PI * cycle), p);
            p += bytes;
        }
    }
    return (gsize)(p - (guint8 *)buf);
}

guint8 *judge_tone_new(const JudgeToneSpec *t, gsize frames, gsize *len)
{
    gsize size = frames * t->channels * judge_format_bytes(t->format);
    guint8 *buf = g_malloc(size ? size : 1);

    *len = judge_tone_fill(t, 0, frames, buf);
    return buf;
}

/* ---- bit comparison ---------------------------------------------------- */

void judge_compare_bytes(const void *a, gsize len_a, const void *b, gsize len_b,
                         JudgeCompare *out)
{
    const guint8 *pa = a, *pb = b;
    gsize common = MIN(len_a, len_b);

    memset(out, 0, sizeof(*out));
    out->len_a = len_a;
    out->len_b = len_b;
    out->first_diff = common;
    for (gsize i = 0; i < common; i++) {
        if (pa[i] == pb[i])
            out->equal_bytes++;
        else if (out->first_diff == common)
            out->first_diff = i;
    }
    if (out->equal_bytes == common) {
        out->identical = len_a == len_b;
        out->a_prefix_of_b = len_a <= len_b;
        out->b_prefix_of_a = len_b <= len_a;
    }
}

static gboolean frame_bytes_silent(JudgeFormat fmt, guint channels, const guint8 *p)
{
    guint bytes = judge_format_bytes(fmt);

    for (guint c = 0; c < channels; c++) {
        if (judge_sample_decode(fmt, p + c * bytes) != 0.0)
            return FALSE;
    }
    return TRUE;
}

static gsize common_prefix(const guint8 *a, const guint8 *b, gsize n)
{
    gsize i = 0;

    while (i < n && a[i] == b[i])
        i++;
    return i;
}

gboolean judge_find(JudgeFormat fmt, guint channels, const void *a, gsize len_a,
                    const void *b, gsize len_b, JudgeFind *out)
{
    const guint8 *pa = a, *pb = b;
    gsize fb = (gsize)judge_format_bytes(fmt) * channels, rest;

    memset(out, 0, sizeof(*out));
    out->a_offset = len_a;
    out->b_offset = len_b;
    g_return_val_if_fail(fb != 0, FALSE);

    for (gsize off = 0; off + fb <= len_a; off += fb) {
        if (!frame_bytes_silent(fmt, channels, pa + off)) {
            out->a_offset = off;
            break;
        }
    }
    if (out->a_offset == len_a) {
        out->a_silent = TRUE;
        return FALSE;
    }
    rest = len_a - out->a_offset;
    for (gsize p = 0; p + fb <= len_b; p += fb) {
        gsize m;

        /* Cheap anchor test first: most positions fail on the first frame. */
        if (memcmp(pb + p, pa + out->a_offset, fb) != 0)
            continue;
        m = common_prefix(pa + out->a_offset, pb + p, MIN(rest, len_b - p));
        if (m == rest) {
            out->found = TRUE;
            out->b_offset = p;
            out->matched = m;
            break;
        }
        if (m > out->matched) {
            out->b_offset = p;
            out->matched = m;
        }
    }
    out->whole = out->found && out->b_offset >= out->a_offset &&
                 memcmp(pb + out->b_offset - out->a_offset, pa, out->a_offset) == 0;
    return out->found;
}

/* ---- frequency --------------------------------------------------------- */

/* In-place iterative radix-2 FFT, @n a power of two. */
static void fft(double *re, double *im, gsize n)
{
    g_autofree double *wr = g_new(double, n / 2);
    g_autofree double *wi = g_new(double, n / 2);

    /* Each twiddle computed directly (no error builds up along a
     * recurrence), once, and read in order by the butterflies below. */
    for (gsize k = 0; k < n / 2; k++) {
        wr[k] = cos(2.0 * G_PI * k / n);
        wi[k] = -sin(2.0 * G_PI * k / n);
    }
    for (gsize i = 1, j = 0; i < n; i++) {
        gsize bit = n >> 1;

        for (; j & bit; bit >>= 1)
            j ^= bit;
        j ^= bit;
        if (i < j) {
            double t = re[i];

            re[i] = re[j];
            re[j] = t;
            t = im[i];
            im[i] = im[j];
            im[j] = t;
        }
    }
    for (gsize len = 2; len <= n; len <<= 1) {
        gsize half = len / 2, step = n / len;

        for (gsize i = 0; i < n; i += len) {
            for (gsize k = 0; k < half; k++) {
                gsize a = i + k, b = a + half;
                double c = wr[k * step], s = wi[k * step];
                double tr = re[b] * c - im[b] * s, ti = re[b] * s + im[b] * c;

                re[b] = re[a] - tr;
                im[b] = im[a] - ti;
                re[a] += tr;
                im[a] += ti;
            }
        }
    }
}

/* |sum x[i] e^(-j w i)|^2 at any w: the spectrum between the FFT bins. */
static double dtft_power(const double *x, gsize n, double w)
{
    double sr = 0.0, si = 0.0, cw = cos(w), sw = sin(w);

    /* A rotating phasor, re-seeded exactly every block so that rounding
     * cannot accumulate over a long window. */
    for (gsize b = 0; b < n; b += 4096) {
        double pr = cos(w * b), pi = -sin(w * b);
        gsize end = MIN(n, b + 4096);

        for (gsize i = b; i < end; i++) {
            double t = pr * cw + pi * sw;

            sr += x[i] * pr;
            si += x[i] * pi;
            pi = pi * cw - pr * sw;
            pr = t;
        }
    }
    return sr * sr + si * si;
}

#define TONE_MAX_FRAMES ((gsize)1 << 20)

gboolean judge_tone_measure(const JudgeSignal *s, guint ch, gsize start, gsize n,
                            JudgeTone *out)
{
    gsize end = range_end(s, &start, n), len, nfft = 16, peak = 2;
    double mean = 0.0, energy = 0.0, wsum = 0.0, best = -1.0, bin, a, b, c, d, fc, fd;
    const double golden = (sqrt(5.0) - 1.0) / 2.0, dw = 2.0 * G_PI / (s->rate ? s->rate : 1);
    g_autofree double *x = NULL, *re = NULL, *im = NULL;

    memset(out, 0, sizeof(*out));
    out->level_dbfs = -INFINITY;
    g_return_val_if_fail(ch < s->channels, FALSE);
    len = MIN(end - start, TONE_MAX_FRAMES);
    if (s->rate == 0 || len < 16)
        return FALSE;

    x = g_new(double, len);
    for (gsize i = 0; i < len; i++)
        mean += x[i] = judge_signal_at(s, start + i, ch);
    mean /= len;
    for (gsize i = 0; i < len; i++) {
        /* Hann window: its sidelobes fall fast, so the image at -f and other
         * tones do not pull the peak. */
        double w = 0.5 - 0.5 * cos(2.0 * G_PI * i / (len - 1));

        x[i] -= mean;
        energy += x[i] * x[i];
        x[i] *= w;
        wsum += w;
    }
    if (energy == 0.0)
        return FALSE;

    while (nfft < len)
        nfft <<= 1;
    re = g_new0(double, nfft);
    im = g_new0(double, nfft);
    memcpy(re, x, len * sizeof(double));
    fft(re, im, nfft);
    /* Bins 0 and 1 hold what is left of DC under the window. */
    for (gsize k = 2; k < nfft / 2; k++) {
        double p = re[k] * re[k] + im[k] * im[k];

        if (p > best) {
            best = p;
            peak = k;
        }
    }

    /* The true peak is within half a bin of the strongest bin, and the main
     * lobe is unimodal over +-1 bin: a golden-section search converges. */
    bin = (double)s->rate / nfft;
    a = (peak - 1) * bin;
    b = (peak + 1) * bin;
    c = b - golden * (b - a);
    d = a + golden * (b - a);
    fc = dtft_power(x, len, c * dw);
    fd = dtft_power(x, len, d * dw);
    for (int iter = 0; iter < 100 && b - a > 1e-6; iter++) {
        if (fc > fd) {
            b = d;
            d = c;
            fd = fc;
            c = b - golden * (b - a);
            fc = dtft_power(x, len, c * dw);
        } else {
            a = c;
            c = d;
            fc = fd;
            d = a + golden * (b - a);
            fd = dtft_power(x, len, d * dw);
        }
    }
    out->freq_hz = (a + b) / 2.0;
    /* A sine of amplitude A gives A/2 * sum(w) at its frequency. */
    out->amplitude = 2.0 * sqrt(dtft_power(x, len, out->freq_hz * dw)) / wsum;
    out->level_dbfs = judge_db(out->amplitude);
    out->purity = MIN(1.0, out->amplitude * out->amplitude / 2.0 / (energy / len));
    return TRUE;
}

gboolean judge_tone_present(const JudgeSignal *s, guint ch, gsize start, gsize n,
                            double freq_hz, double tol_hz, JudgeTone *out)
{
    JudgeTone t;

    if (!out)
        out = &t;
    return judge_tone_measure(s, ch, start, n, out) && fabs(out->freq_hz - freq_hz) <= tol_hz &&
           out->purity > 0.5;
}

/* ---- level ------------------------------------------------------------- */

double judge_db(double linear)
{
    return linear > 0.0 ? 20.0 * log10(linear) : -INFINITY;
}

void judge_level(const JudgeSignal *s, guint ch, gsize start, gsize n, JudgeLevel *out)
{
    gsize end = range_end(s, &start, n);
    double sum = 0.0;

    memset(out, 0, sizeof(*out));
    out->rms_dbfs = out->peak_dbfs = -INFINITY;
    g_return_if_fail(ch < s->channels);
    for (gsize i = start; i < end; i++) {
        double v = judge_signal_at(s, i, ch);

        sum += v * v;
        out->peak = MAX(out->peak, fabs(v));
    }
    out->frames = end - start;
    if (out->frames) {
        out->rms = sqrt(sum / out->frames);
        out->rms_dbfs = judge_db(out->rms);
        out->peak_dbfs = judge_db(out->peak);
    }
}

double judge_level_change_db(const JudgeSignal *s, guint ch, gsize a_start, gsize a_n,
                             gsize b_start, gsize b_n)
{
    JudgeLevel a, b;

    judge_level(s, ch, a_start, a_n, &a);
    judge_level(s, ch, b_start, b_n, &b);
    if (a.rms == 0.0)
        return b.rms == 0.0 ? 0.0 : INFINITY;
    return b.rms_dbfs - a.rms_dbfs;
}

/* ---- digital silence --------------------------------------------------- */

static gboolean frame_silent(const JudgeSignal *s, gsize frame, guint ch)
{
    if (ch != JUDGE_ALL_CHANNELS)
        return judge_signal_at(s, frame, ch) == 0.0;
    for (guint c = 0; c < s->channels; c++) {
        if (judge_signal_at(s, frame, c) != 0.0)
            return FALSE;
    }
    return TRUE;
}

gboolean judge_is_silent(const JudgeSignal *s, guint ch, gsize start, gsize n)
{
    gsize end = range_end(s, &start, n);

    g_return_val_if_fail(ch < s->channels || ch == JUDGE_ALL_CHANNELS, FALSE);
    for (gsize i = start; i < end; i++) {
        if (!frame_silent(s, i, ch))
            return FALSE;
    }
    return TRUE;
}

gsize judge_leading_silence(const JudgeSignal *s, guint ch)
{
    gsize i = 0;

    g_return_val_if_fail(ch < s->channels || ch == JUDGE_ALL_CHANNELS, 0);
    while (i < s->frames && frame_silent(s, i, ch))
        i++;
    return i;
}

gsize judge_trailing_silence(const JudgeSignal *s, guint ch)
{
    gsize i = s->frames;

    g_return_val_if_fail(ch < s->channels || ch == JUDGE_ALL_CHANNELS, 0);
    while (i > 0 && frame_silent(s, i - 1, ch))
        i--;
    return s->frames - i;
}

/* ---- continuity of a sine ---------------------------------------------- */

/* The largest quantisation step among values up to @amplitude: one LSB for
 * linear integers, 0 for floats; for G.711 the step of the segment holding
 * the amplitude (with 5 % to spare: the amplitude is a percentile, the
 * true peak may sit in the next segment). */
static double quantisation_step(JudgeFormat fmt, double amplitude)
{
    const FormatInfo *f = format_info(fmt);
    double a = MIN(fabs(amplitude) * 1.05, 1.0);

    if (!f || f->kind == KIND_FLOAT)
        return 0.0;
    if (f->kind == KIND_MU_LAW) {
        guint biased = (guint)MIN(a * MU_LAW_SCALE + MU_LAW_BIAS, (double)MU_LAW_CLIP);

        return ldexp(1.0, (int)mu_law_segment(biased) + 1) / MU_LAW_SCALE;
    }
    if (f->kind == KIND_A_LAW) {
        guint s = a_law_segment((guint)MIN(a * A_LAW_SCALE, 4095.0));

        return ldexp(1.0, s ? (int)s : 1) / A_LAW_SCALE;
    }
    return ldexp(1.0, 1 - (int)f->bits);
}

static int cmp_double(const void *pa, const void *pb)
{
    double a = *(const double *)pa, b = *(const double *)pb;

    return (a > b) - (a < b);
}

/* 99th percentile of |x| over the non-zero samples: the sine's amplitude,
 * neither lowered by gaps nor raised by a few clicks. */
static double robust_amplitude(const JudgeSignal *s, guint ch, gsize lo, gsize hi)
{
    g_autofree double *v = g_new(double, hi - lo);
    gsize m = 0;

    for (gsize i = lo; i < hi; i++) {
        double x = fabs(judge_signal_at(s, i, ch));

        if (x != 0.0)
            v[m++] = x;
    }
    if (m == 0)
        return 0.0;
    qsort(v, m, sizeof(double), cmp_double);
    return v[(gsize)(0.99 * (m - 1))];
}

/* Mark the runs of >= @min_gap zeros in [lo, hi) in @in_gap (indexed from
 * lo) and list them. */
static void find_gaps(const JudgeSignal *s, guint ch, gsize lo, gsize hi, gsize min_gap,
                      guint8 *in_gap, GArray *gaps)
{
    gsize i = lo;

    while (i < hi) {
        gsize j = i;

        while (j < hi && judge_signal_at(s, j, ch) == 0.0)
            j++;
        if (j - i >= min_gap) {
            JudgeGap g = { .start = i, .frames = j - i };

            memset(in_gap + (i - lo), 1, j - i);
            g_array_append_val(gaps, g);
        }
        i = j > i ? j : i + 1;
    }
}

gboolean judge_continuity(const JudgeSignal *s, guint ch, gsize start, gsize n,
                          const JudgeContinuityOptions *opt, JudgeContinuity *out)
{
    static const JudgeContinuityOptions defaults;
    gsize end = range_end(s, &start, n), lo = start, hi = end;
    g_autofree guint8 *in_gap = NULL;
    JudgeGlitch cur = { 0 };
    gsize cur_first = 0, cur_last = 0;
    gboolean open = FALSE;
    double coef;

    memset(out, 0, sizeof(*out));
    out->gaps = g_array_new(FALSE, FALSE, sizeof(JudgeGap));
    out->glitches = g_array_new(FALSE, FALSE, sizeof(JudgeGlitch));
    g_return_val_if_fail(ch < s->channels, FALSE);
    if (!opt)
        opt = &defaults;

    while (lo < end && judge_signal_at(s, lo, ch) == 0.0)
        lo++;
    while (hi > lo && judge_signal_at(s, hi - 1, ch) == 0.0)
        hi--;
    out->leading_silence = lo - start;
    out->trailing_silence = end - hi;
    if (lo == hi || s->rate == 0)
        return FALSE;

    in_gap = g_new0(guint8, hi - lo);
    find_gaps(s, ch, lo, hi, opt->min_gap_frames ? opt->min_gap_frames : JUDGE_MIN_GAP_FRAMES,
              in_gap, out->gaps);

    out->freq_hz = opt->freq_hz;
    if (out->freq_hz <= 0.0) {
        JudgeTone t;

        if (!judge_tone_measure(s, ch, lo, hi - lo, &t))
            return FALSE;
        out->freq_hz = t.freq_hz;
    }
    out->amplitude = opt->amplitude > 0.0 ? opt->amplitude : robust_amplitude(s, ch, lo, hi);
    out->threshold = opt->threshold;
    if (out->threshold <= 0.0) {
        /* Rounding moves each sample by up to half a step; the residual sums
         * three samples, |2 cos w| <= 2: at most two steps.  Keep a margin. */
        double step = quantisation_step(s->format, out->amplitude);

        out->threshold = MAX(JUDGE_CONTINUITY_THRESHOLD, 4.0 * step / out->amplitude);
    }
    coef = 2.0 * cos(2.0 * G_PI * out->freq_hz / s->rate);

    for (gsize i = lo + 1; i + 1 < hi; i++) {
        gsize k = i - lo;
        double r;

        if (in_gap[k - 1] || in_gap[k] || in_gap[k + 1])
            continue;
        r = fabs(judge_signal_at(s, i + 1, ch) + judge_signal_at(s, i - 1, ch) -
                 coef * judge_signal_at(s, i, ch)) / out->amplitude;
        out->max_residual = MAX(out->max_residual, r);
        if (r <= out->threshold)
            continue;
        /* One disturbed sample raises three residuals: merge what is close. */
        if (open && i - cur_last <= 2) {
            cur.frames = i - cur_first + 1;
            if (r > cur.residual) {
                cur.residual = r;
                cur.frame = i;
            }
        } else {
            if (open)
                g_array_append_val(out->glitches, cur);
            cur = (JudgeGlitch){ .frame = i, .frames = 1, .residual = r };
            cur_first = i;
            open = TRUE;
        }
        cur_last = i;
    }
    if (open)
        g_array_append_val(out->glitches, cur);
    return TRUE;
}

void judge_continuity_clear(JudgeContinuity *c)
{
    if (c->gaps)
        g_array_unref(c->gaps);
    if (c->glitches)
        g_array_unref(c->glitches);
    c->gaps = c->glitches = NULL;
}

/* ---- descriptions ------------------------------------------------------ */

void judge_describe_compare(GString *out, const JudgeCompare *c)
{
    if (c->identical) {
        g_string_append_printf(out, "identical (%" G_GSIZE_FORMAT " bytes)", c->len_a);
        return;
    }
    g_string_append_printf(out, "A %" G_GSIZE_FORMAT " bytes, B %" G_GSIZE_FORMAT
                           " bytes; first difference at byte %" G_GSIZE_FORMAT
                           "; %" G_GSIZE_FORMAT " of the common bytes equal",
                           c->len_a, c->len_b, c->first_diff, c->equal_bytes);
    if (c->a_prefix_of_b)
        g_string_append(out, "; A is a prefix of B");
    if (c->b_prefix_of_a)
        g_string_append(out, "; B is a prefix of A");
}

void judge_describe_find(GString *out, const JudgeFind *f)
{
    if (f->a_silent) {
        g_string_append(out, "A is all silence: nothing to look for");
        return;
    }
    if (f->found) {
        g_string_append_printf(out, "A (from byte %" G_GSIZE_FORMAT ") found in B at byte %"
                               G_GSIZE_FORMAT "%s", f->a_offset, f->b_offset,
                               f->whole ? ", lead-in included" : "");
        return;
    }
    g_string_append_printf(out, "A (from byte %" G_GSIZE_FORMAT ") not in B; longest match %"
                           G_GSIZE_FORMAT " bytes at byte %" G_GSIZE_FORMAT " of B",
                           f->a_offset, f->matched, f->b_offset);
}

void judge_describe_tone(GString *out, const JudgeTone *t)
{
    g_string_append_printf(out, "tone %.3f Hz, amplitude %.5f (%.2f dBFS), purity %.4f",
                           t->freq_hz, t->amplitude, t->level_dbfs, t->purity);
}

void judge_describe_level(GString *out, const JudgeLevel *l)
{
    g_string_append_printf(out, "%" G_GSIZE_FORMAT " frames: rms %.2f dBFS, peak %.2f dBFS",
                           l->frames, l->rms_dbfs, l->peak_dbfs);
}

static void describe_frame(GString *out, gsize frame, guint rate)
{
    g_string_append_printf(out, "%" G_GSIZE_FORMAT, frame);
    if (rate)
        g_string_append_printf(out, " (%.4f s)", (double)frame / rate);
}

void judge_describe_continuity(GString *out, const JudgeContinuity *c, guint rate)
{
    guint ngaps = c->gaps ? c->gaps->len : 0, nglitches = c->glitches ? c->glitches->len : 0;

    g_string_append_printf(out, "sine %.3f Hz, amplitude %.5f, threshold %.4f, max residual %.4f; "
                           "lead-in %" G_GSIZE_FORMAT ", tail %" G_GSIZE_FORMAT " silent frames; "
                           "%u gap(s)", c->freq_hz, c->amplitude, c->threshold, c->max_residual,
                           c->leading_silence, c->trailing_silence, ngaps);
    for (guint i = 0; i < ngaps; i++) {
        const JudgeGap *g = &g_array_index(c->gaps, JudgeGap, i);

        g_string_append(out, i ? ", " : ": ");
        describe_frame(out, g->start, rate);
        g_string_append_printf(out, " +%" G_GSIZE_FORMAT, g->frames);
    }
    g_string_append_printf(out, "; %u discontinuit%s", nglitches, nglitches == 1 ? "y" : "ies");
    for (guint i = 0; i < nglitches; i++) {
        const JudgeGlitch *d = &g_array_index(c->glitches, JudgeGlitch, i);

        g_string_append(out, i ? ", " : ": ");
        describe_frame(out, d->frame, rate);
        g_string_append_printf(out, " residual %.3f", d->residual);
        if (i == 9 && nglitches > 10) {
            g_string_append_printf(out, ", ... (%u more)", nglitches - 10);
            break;
        }
    }
}
