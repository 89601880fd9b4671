/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-audio-wav.c - the wav driver: recorded files byte for byte
 * (header included), lossless format conversions, the header of a file
 * whose writer died, append/truncate on re-open, file naming, capture
 * from a file (looping, format must match) and from the test tone.
 */
#include "config.h"

#include <errno.h>
#include <gio/gio.h>
#include <linux/virtio_snd.h>
#include <math.h>
#include <sys/wait.h>
#include <unistd.h>

#include "audio/clock.h"
#include "audio/pcm-format.h"
#include "audio/registry.h"
#include "tests/audio/audio-test-util.h"

#define MS INT64_C(1000000)

static VsndPcmParams params(VsndDirection dir, uint8_t format, uint8_t rate, uint8_t channels,
                            unsigned int sample_bytes, uint32_t stream_id)
{
    uint32_t period = 480 * sample_bytes * channels;
    VsndPcmParams p = {
        .direction = dir, .format = format, .rate = rate, .channels = channels,
        .period_bytes = period, .buffer_bytes = 4 * period, .stream_id = stream_id,
        .label = "vm: test",
    };
    return p;
}

static VsndAudio *wav_new(const char *opts)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *spec = g_strdup_printf("wav,clock=manual%s%s", opts ? "," : "",
                                            opts ? opts : "");
    VsndAudio *a = vsnd_audio_new(spec, "vm", &err);

    g_assert_no_error(err);
    return a;
}

/* Write @len bytes period by period, letting the manual clock play them. */
static void play(VsndAudio *a, VsndAudioStream *s, const uint8_t *data, size_t len,
                 size_t period)
{
    for (size_t done = 0; done < len;) {
        /* split each period into two uneven pieces like guest pages */
        size_t n = MIN(period, len - done);
        size_t first = MIN(n, (size_t)7);
        struct iovec iov[2] = { { (void *)(data + done), first },
                                { (void *)(data + done + first), n - first } };
        ssize_t r = vsnd_audio_write(a, s, iov, 2);
        if (r == -EAGAIN) {
            vsnd_manual_clock_advance(5 * MS);
            continue;
        }
        g_assert_cmpint(r, ==, (ssize_t)n);
        done += n;
    }
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
    put16(p, (uint16_t)v);
    put16(p + 2, (uint16_t)(v >> 16));
}

static void test_s16_byte_exact(void)
{
    g_autofree char *dir = atu_tmpdir("vsnd-wav-XXXXXX");
    g_autofree char *opts = g_strdup_printf("dir=%s", dir);
    g_autoptr(VsndAudio) a = wav_new(opts);
    VsndPcmParams p = params(VSND_DIR_OUTPUT, VSND_PCM_FMT_S16,
                             VSND_PCM_RATE_44100, 2, 2, 3);
    const size_t frames = 4410 + 123; /* not a whole number of periods */
    g_autofree int16_t *sig = atu_signal_s16(frames, 2, 44100);
    g_autofree uint8_t *expect = g_malloc(44 + frames * 4);
    g_autofree char *path = g_build_filename(dir, "stream-3.wav", NULL);
    g_autofree char *got = NULL;
    gsize got_len;
    AtuEvents ev = { 0 };
    g_autoptr(GError) err = NULL;
    VsndAudioStream *s;

    p.period_bytes = 441 * 4;
    s = vsnd_audio_open(a, &p, &atu_events, &ev, &err);
    g_assert_no_error(err);
    g_assert_cmpint(vsnd_audio_start(a, s), ==, 0);
    play(a, s, (const uint8_t *)sig, frames * 4, p.period_bytes);
    g_assert_cmpint(vsnd_audio_stop(a, s), ==, 0);

    /* The canonical 44-byte PCM header, spelled out by hand. */
    memcpy(expect, "RIFF", 4);
    put32(expect + 4, (uint32_t)(36 + frames * 4));
    memcpy(expect + 8, "WAVEfmt ", 8);
    put32(expect + 16, 16);
    put16(expect + 20, 1);           /* PCM */
    put16(expect + 22, 2);           /* channels */
    put32(expect + 24, 44100);
    put32(expect + 28, 44100 * 4);   /* byte rate */
    put16(expect + 32, 4);           /* block align */
    put16(expect + 34, 16);          /* bits */
    memcpy(expect + 36, "data", 4);
    put32(expect + 40, (uint32_t)(frames * 4));
    for (size_t i = 0; i < frames * 2; i++)
        put16(expect + 44 + 2 * i, (uint16_t)sig[i]);

    g_assert_true(g_file_get_contents(path, &got, &got_len, NULL));
    g_assert_cmpmem(got, got_len, expect, 44 + frames * 4);
    vsnd_audio_close(a, s);
    atu_rmdir(dir);
}

/* Lossless conversions where WAV stores a format differently. */
static void test_formats(void)
{
    static const struct {
        uint8_t format;
        unsigned int sb;
        uint8_t in[8];        /* two samples */
        uint16_t tag, bits, valid;
        uint8_t out[8];
    } cases[] = {
        { VSND_PCM_FMT_U8, 1, { 0x00, 0xff }, 1, 8, 8, { 0x00, 0xff } },
        { VSND_PCM_FMT_S8, 1, { 0x00, 0x7f }, 1, 8, 8, { 0x80, 0xff } },
        { VSND_PCM_FMT_U16, 2, { 0x00, 0x80, 0xff, 0xff }, 1, 16, 16,
          { 0x00, 0x00, 0xff, 0x7f } },
        { VSND_PCM_FMT_S24_3, 3, { 1, 2, 3, 4, 5, 6 }, 1, 24, 24, { 1, 2, 3, 4, 5, 6 } },
        { VSND_PCM_FMT_S24, 4, { 0x01, 0x02, 0x83, 0xff, 0x11, 0x22, 0x33, 0x00 },
          0xfffe, 32, 24, { 0x00, 0x01, 0x02, 0x83, 0x00, 0x11, 0x22, 0x33 } },
        { VSND_PCM_FMT_U20, 4, { 0x00, 0x00, 0x08, 0x00, 0xff, 0xff, 0x0f, 0x00 },
          0xfffe, 32, 20, { 0x00, 0x00, 0x00, 0x00, 0x00, 0xf0, 0xff, 0x7f } },
        { VSND_PCM_FMT_S20_3, 3, { 0x01, 0x00, 0x08, 0xff, 0xff, 0x07 },
          0xfffe, 24, 20, { 0x10, 0x00, 0x80, 0xf0, 0xff, 0x7f } },
        { VSND_PCM_FMT_FLOAT, 4, { 0, 0, 0x80, 0x3f, 0, 0, 0x80, 0xbf }, 3, 32, 32,
          { 0, 0, 0x80, 0x3f, 0, 0, 0x80, 0xbf } },
        { VSND_PCM_FMT_MU_LAW, 1, { 0xff, 0x00 }, 7, 8, 8, { 0xff, 0x00 } },
        { VSND_PCM_FMT_A_LAW, 1, { 0xd5, 0x2a }, 6, 8, 8, { 0xd5, 0x2a } },
    };
    g_autofree char *dir = atu_tmpdir("vsnd-wav-XXXXXX");
    g_autofree char *opts = g_strdup_printf("dir=%s", dir);
    g_autoptr(VsndAudio) a = wav_new(opts);
    VsndPcmCaps caps;

    g_assert_cmpint(vsnd_audio_query_caps(a, VSND_DIR_OUTPUT, &caps), ==, 0);
    /* every integer format, FLOAT, FLOAT64, A-law, mu-law; no ADPCM/DSD/IEC958 */
    g_assert_cmphex(caps.formats, ==, 0x1ffffe);
    g_assert_cmphex(caps.rates, ==, 0xffff);

    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        VsndPcmParams p = params(VSND_DIR_OUTPUT, cases[i].format, VSND_PCM_RATE_8000, 1,
                                 cases[i].sb, (uint32_t)i);
        g_autofree char *path = g_strdup_printf("%s/stream-%zu.wav", dir, i);
        AtuEvents ev = { 0 };
        g_autoptr(GError) err = NULL;
        VsndAudioStream *s;
        struct iovec iov = { (void *)cases[i].in, 2 * cases[i].sb };
        AtuWav w;

        p.period_bytes = 2 * cases[i].sb;
        p.buffer_bytes = 2 * p.period_bytes;
        s = vsnd_audio_open(a, &p, &atu_events, &ev, &err);
        g_assert_no_error(err);
        g_assert_cmpint(vsnd_audio_write(a, s, &iov, 1), ==, (ssize_t)(2 * cases[i].sb));
        vsnd_audio_close(a, s);

        g_assert_true(atu_wav_load(path, &w));
        g_assert_cmphex(w.tag, ==, cases[i].tag);
        g_assert_cmpuint(w.bits, ==, cases[i].bits);
        g_assert_cmpuint(w.channels, ==, 1);
        g_assert_cmpuint(w.rate, ==, 8000);
        g_assert_cmpuint(w.data_size, ==, 2 * cases[i].sb);
        g_assert_cmpuint(w.riff_size, ==, w.raw_len - 8);
        g_assert_cmpmem(w.data, w.data_len, cases[i].out, 2 * cases[i].sb);
        if (cases[i].tag == 0xfffe) {
            const uint8_t *fmt = w.data - 8 - 12 - 40; /* fmt body before fact + data */
            g_assert_cmpuint(fmt[18] | fmt[19] << 8, ==, cases[i].valid);
        }
        atu_wav_clear(&w);
    }
    /* Not representable: refused with a reason. */
    {
        VsndPcmParams p = params(VSND_DIR_OUTPUT, VSND_PCM_FMT_DSD_U8,
                                 VSND_PCM_RATE_8000, 1, 1, 99);
        AtuEvents ev = { 0 };
        g_autoptr(GError) err = NULL;
        g_assert_null(vsnd_audio_open(a, &p, &atu_events, &ev, &err));
        g_assert_nonnull(strstr(err->message, "WAV cannot hold format DSD_U8"));
    }
    atu_rmdir(dir);
}

/* The writer dies without stop/close: the periodic header update leaves a
 * file that says how much audio it holds (all but the last second). */
static void test_header_after_crash(void)
{
    g_autofree char *dir = atu_tmpdir("vsnd-wav-XXXXXX");
    g_autofree char *path = g_build_filename(dir, "crash.wav", NULL);
    const size_t bytes = 48000 * 4 * 3 / 2; /* 1.5 s */
    AtuWav w;
    int status;
    pid_t pid = fork();

    g_assert_cmpint(pid, >=, 0);
    if (pid == 0) {
        g_autofree char *opts = g_strdup_printf("path=%s", path);
        VsndAudio *a = wav_new(opts);
        VsndPcmParams p = params(VSND_DIR_OUTPUT, VSND_PCM_FMT_S16,
                                 VSND_PCM_RATE_48000, 2, 2, 0);
        g_autofree uint8_t *buf = g_malloc(bytes);
        AtuEvents ev = { 0 };
        VsndAudioStream *s = vsnd_audio_open(a, &p, &atu_events, &ev, NULL);

        for (size_t i = 0; i < bytes; i++)
            buf[i] = (uint8_t)(i * 13);
        vsnd_audio_start(a, s);
        play(a, s, buf, bytes, p.period_bytes);
        _exit(s ? 0 : 1); /* no stop, no close, no fini */
    }
    g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
    g_assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);

    g_assert_true(atu_wav_load(path, &w));
    g_assert_cmpuint(w.raw_len, ==, 44 + bytes);   /* every byte reached the file */
    g_assert_cmpuint(w.data_size, ==, 48000 * 4);  /* header as of the 1 s update */
    g_assert_cmpuint(w.riff_size, ==, 36 + 48000 * 4);
    for (size_t i = 0; i < w.data_len; i++)
        g_assert_cmpuint(w.data[i], ==, (uint8_t)(i * 13));
    atu_wav_clear(&w);
    atu_rmdir(dir);
}

static size_t file_size(const char *path)
{
    g_autofree char *c = NULL;
    gsize len = 0;
    g_assert_true(g_file_get_contents(path, &c, &len, NULL));
    return len;
}

static void test_reopen_and_naming(void)
{
    g_autofree char *dir = atu_tmpdir("vsnd-wav-XXXXXX");
    g_autofree char *opts = g_strdup_printf("path=%s/out-%%u.wav", dir);
    g_autofree char *opts1 = g_strdup_printf("path=%s/one.wav", dir);
    g_autoptr(VsndAudio) a = wav_new(opts);
    g_autoptr(VsndAudio) one = wav_new(opts1);
    g_autofree char *p7 = g_build_filename(dir, "out-7.wav", NULL);
    VsndPcmParams p = params(VSND_DIR_OUTPUT, VSND_PCM_FMT_S16,
                             VSND_PCM_RATE_48000, 2, 2, 7);
    uint8_t buf[1920] = { 1 };
    AtuEvents ev = { 0 };
    g_autoptr(GError) err = NULL;
    VsndAudioStream *s, *s2;

    s = vsnd_audio_open(a, &p, &atu_events, &ev, &err);
    g_assert_no_error(err);
    play(a, s, buf, sizeof(buf), sizeof(buf));
    vsnd_audio_close(a, s);
    g_assert_cmpuint(file_size(p7), ==, 44 + 1920);
    /* RELEASE + PREPARE with the same parameters: appended. */
    s = vsnd_audio_open(a, &p, &atu_events, &ev, &err);
    g_assert_no_error(err);
    play(a, s, buf, sizeof(buf), sizeof(buf));
    vsnd_audio_close(a, s);
    g_assert_cmpuint(file_size(p7), ==, 44 + 2 * 1920);
    /* New parameters: a new file. */
    p.channels = 1;
    p.period_bytes = 960;
    s = vsnd_audio_open(a, &p, &atu_events, &ev, &err);
    g_assert_no_error(err);
    play(a, s, buf, 960, 960);
    vsnd_audio_close(a, s);
    g_assert_cmpuint(file_size(p7), ==, 44 + 960);

    /* One path without %u: a second open stream is refused. */
    p.stream_id = 0;
    s = vsnd_audio_open(one, &p, &atu_events, &ev, &err);
    g_assert_no_error(err);
    p.stream_id = 2;
    s2 = vsnd_audio_open(one, &p, &atu_events, &ev, &err);
    g_assert_null(s2);
    g_assert_error(err, VSND_AUDIO_ERROR, VSND_AUDIO_ERROR_BUSY);
    vsnd_audio_close(one, s);
    atu_rmdir(dir);
}

static void test_capture_file(void)
{
    g_autofree char *dir = atu_tmpdir("vsnd-wav-XXXXXX");
    g_autofree char *in = g_build_filename(dir, "in.wav", NULL);
    g_autofree char *opts = g_strdup_printf("in=%s", in);
    const size_t frames = 1000;
    g_autofree int16_t *sig = atu_signal_s16(frames, 2, 22050);
    g_autofree uint8_t *got = g_malloc(frames * 4 * 5 / 2);
    g_autoptr(VsndAudio) a = NULL;
    VsndPcmParams p = params(VSND_DIR_INPUT, VSND_PCM_FMT_S16,
                             VSND_PCM_RATE_22050, 2, 2, 1);
    VsndPcmCaps caps;
    AtuEvents ev = { 0 };
    g_autoptr(GError) err = NULL;
    VsndAudioStream *s;
    size_t done = 0;

    atu_wav_write_s16(in, 22050, 2, sig, frames);
    a = wav_new(opts);
    /* capabilities are exactly the file's */
    g_assert_cmpint(vsnd_audio_query_caps(a, VSND_DIR_INPUT, &caps), ==, 0);
    g_assert_cmphex(caps.formats, ==, 1u << VSND_PCM_FMT_S16);
    g_assert_cmphex(caps.rates, ==, 1u << VSND_PCM_RATE_22050);
    g_assert_cmpuint(caps.channels_min, ==, 2);
    g_assert_cmpuint(caps.channels_max, ==, 2);

    p.period_bytes = 220 * 4;
    s = vsnd_audio_open(a, &p, &atu_events, &ev, &err);
    g_assert_no_error(err);
    g_assert_cmpint(vsnd_audio_start(a, s), ==, 0);
    while (done < frames * 4 * 5 / 2) {
        struct iovec iov = { got + done, MIN(p.period_bytes, frames * 4 * 5 / 2 - done) };
        ssize_t r = vsnd_audio_read(a, s, &iov, 1);
        if (r == -EAGAIN) {
            vsnd_manual_clock_advance(10 * MS);
            continue;
        }
        g_assert_cmpint(r, >, 0);
        done += (size_t)r;
    }
    /* 2.5 times the file: it loops, byte for byte */
    for (size_t i = 0; i < frames * 2 * 5 / 2; i++)
        g_assert_cmpint(((int16_t *)got)[i], ==, sig[i % (frames * 2)]);
    vsnd_audio_close(a, s);

    /* A stream that does not match the file is refused, naming both. */
    p.rate = VSND_PCM_RATE_48000;
    s = vsnd_audio_open(a, &p, &atu_events, &ev, &err);
    g_assert_null(s);
    g_assert_error(err, VSND_AUDIO_ERROR, VSND_AUDIO_ERROR_NOT_SUPPORTED);
    g_assert_nonnull(strstr(err->message, "wants S16, 48000 Hz, 2 channels"));
    g_assert_nonnull(strstr(err->message, "holds S16, 22050 Hz, 2 channels"));
    g_clear_error(&err);

    /* Not a WAV file at all. */
    g_assert_true(g_file_set_contents(in, "RIFF....WAVEjunk", -1, NULL));
    {
        g_autofree char *spec = g_strdup_printf("wav,%s", opts);
        g_autoptr(VsndAudio) b = vsnd_audio_new(spec, "vm", &err);
        g_assert_null(b);
        g_assert_error(err, VSND_AUDIO_ERROR, VSND_AUDIO_ERROR_INVALID_DATA);
    }
    atu_rmdir(dir);
}

static void test_capture_tone(void)
{
    g_autoptr(VsndAudio) a = wav_new("tone=1000");
    VsndPcmParams p = params(VSND_DIR_INPUT, VSND_PCM_FMT_S16,
                             VSND_PCM_RATE_48000, 2, 2, 1);
    g_autoptr(VsndAudio) u = wav_new("tone=1000");
    VsndPcmParams pu = params(VSND_DIR_INPUT, VSND_PCM_FMT_U8,
                              VSND_PCM_RATE_48000, 1, 1, 1);
    int16_t buf[480 * 2];
    uint8_t ubuf[480];
    struct iovec iov = { buf, sizeof(buf) }, uiov = { ubuf, sizeof(ubuf) };
    AtuEvents ev = { 0 };
    g_autoptr(GError) err = NULL;
    VsndAudioStream *s = vsnd_audio_open(a, &p, &atu_events, &ev, &err);
    VsndAudioStream *su;

    g_assert_no_error(err);
    g_assert_cmpint(vsnd_audio_start(a, s), ==, 0);
    vsnd_manual_clock_advance(10 * MS);
    g_assert_cmpint(vsnd_audio_read(a, s, &iov, 1), ==, (ssize_t)sizeof(buf));
    for (int i = 0; i < 480; i++) {
        int16_t want = (int16_t)lrint(0.5 * sin(2 * G_PI * 1000.0 * i / 48000.0) * 32767.0);
        g_assert_cmpint(buf[2 * i], ==, want);
        g_assert_cmpint(buf[2 * i + 1], ==, want);
    }
    vsnd_audio_close(a, s);

    su = vsnd_audio_open(u, &pu, &atu_events, &ev, &err);
    g_assert_no_error(err);
    g_assert_cmpint(vsnd_audio_start(u, su), ==, 0);
    vsnd_manual_clock_advance(10 * MS);
    g_assert_cmpint(vsnd_audio_read(u, su, &uiov, 1), ==, (ssize_t)sizeof(ubuf));
    /* unsigned: centred on 128, peaks at 128 +- lrint(63.5) */
    g_assert_cmpuint(ubuf[0], ==, 128);
    g_assert_cmpuint(ubuf[12], ==, 128 + 64);  /* quarter period of 1 kHz */
    g_assert_cmpuint(ubuf[36], ==, 128 - 64);
    vsnd_audio_close(u, su);
}

/* Hostile input files: a table of broken headers, then random damage to a
 * valid one.  in= must fail with a GError or succeed with sane caps; it
 * never reads outside the file (run under ASan to check). */
static void test_hostile_input(void)
{
    g_autofree char *dir = atu_tmpdir("vsnd-wav-XXXXXX");
    g_autofree char *in = g_build_filename(dir, "in.wav", NULL);
    g_autofree char *opts = g_strdup_printf("wav,clock=manual,in=%s", in);
    int16_t sig[64] = { 1, 2, 3 };
    g_autofree char *valid = NULL;
    gsize valid_len;
    static const struct {
        size_t off;
        uint8_t val[4];
        size_t n;
    } damage[] = {
        { 4, { 0xff, 0xff, 0xff, 0xff }, 4 },  /* RIFF size huge: tolerated */
        { 16, { 0xff, 0xff, 0xff, 0xff }, 4 }, /* fmt size beyond the file */
        { 16, { 8, 0, 0, 0 }, 4 },             /* fmt too short */
        { 20, { 0xfe, 0xff }, 2 },             /* extensible tag, 16-byte fmt */
        { 20, { 0x11, 0 }, 2 },                /* IMA ADPCM */
        { 22, { 0, 0 }, 2 },                   /* 0 channels */
        { 22, { 9, 0 }, 2 },                   /* 9 channels */
        { 24, { 0x11, 0x2b, 0, 0 }, 4 },       /* 11025 Hz: fine */
        { 24, { 0x12, 0x2b, 0, 0 }, 4 },       /* 11026 Hz: no virtio code */
        { 24, { 0, 0, 0, 0 }, 4 },             /* 0 Hz */
        { 34, { 12, 0 }, 2 },                  /* 12-bit PCM */
        { 34, { 0, 0 }, 2 },                   /* 0-bit */
        { 36, { 'L', 'I', 'S', 'T' }, 4 },     /* data chunk renamed: none */
        { 40, { 0, 0, 0, 0 }, 4 },             /* data size 0: use the rest */
        { 40, { 0xff, 0xff, 0xff, 0x7f }, 4 }, /* data size beyond the file */
        { 40, { 1, 0, 0, 0 }, 4 },             /* less than a frame */
        { 0, { 'R', 'I', 'F', 'X' }, 4 },
    };

    atu_wav_write_s16(in, 8000, 2, sig, 32);
    g_assert_true(g_file_get_contents(in, &valid, &valid_len, NULL));
    for (size_t i = 0; i < G_N_ELEMENTS(damage); i++) {
        g_autofree char *bad = g_memdup2(valid, valid_len);
        g_autoptr(GError) err = NULL;
        g_autoptr(VsndAudio) a = NULL;

        memcpy(bad + damage[i].off, damage[i].val, damage[i].n);
        g_assert_true(g_file_set_contents(in, bad, (gssize)valid_len, NULL));
        a = vsnd_audio_new(opts, "vm", &err);
        g_assert_true((a == NULL) != (err == NULL));
        if (a) {
            VsndPcmCaps caps;
            g_assert_cmpint(vsnd_audio_query_caps(a, VSND_DIR_INPUT, &caps), ==, 0);
            g_assert_cmpuint(caps.channels_min, >=, 1);
            g_assert_cmpuint(caps.channels_max, <=, 8);
            g_assert_cmpuint(__builtin_popcountll(caps.formats), ==, 1);
            g_assert_cmpuint(__builtin_popcountll(caps.rates), ==, 1);
        }
    }
    /* every truncation of the file */
    for (gsize len = 0; len < valid_len; len++) {
        g_autoptr(GError) err = NULL;
        g_autoptr(VsndAudio) a = NULL;
        g_assert_true(g_file_set_contents(in, valid, (gssize)len, NULL));
        a = vsnd_audio_new(opts, "vm", &err);
        g_assert_true((a == NULL) != (err == NULL));
    }
    /* random damage to the first 64 bytes */
    for (int i = 0; i < 2000; i++) {
        g_autofree char *bad = g_memdup2(valid, valid_len);
        g_autoptr(GError) err = NULL;
        g_autoptr(VsndAudio) a = NULL;
        int hits = g_test_rand_int_range(1, 4);

        for (int h = 0; h < hits; h++)
            bad[g_test_rand_int_range(0, 64)] = (char)g_test_rand_int_range(0, 256);
        g_assert_true(g_file_set_contents(in, bad, (gssize)valid_len, NULL));
        a = vsnd_audio_new(opts, "vm", &err);
        g_assert_true((a == NULL) != (err == NULL));
        if (a) {
            /* a stream matching the caps opens and reads inside the file */
            VsndPcmCaps caps;
            VsndPcmParams p = { .direction = VSND_DIR_INPUT, .stream_id = 1 };
            AtuEvents ev = { 0 };
            VsndAudioStream *s;
            uint8_t buf[4096];
            struct iovec iov;

            g_assert_cmpint(vsnd_audio_query_caps(a, VSND_DIR_INPUT, &caps), ==, 0);
            p.format = (uint8_t)__builtin_ctzll(caps.formats);
            p.rate = (uint8_t)__builtin_ctzll(caps.rates);
            p.channels = caps.channels_min;
            p.period_bytes = 8 * vsnd_pcm_frame_bytes(p.format, p.channels);
            p.buffer_bytes = 2 * p.period_bytes;
            s = vsnd_audio_open(a, &p, &atu_events, &ev, NULL);
            if (s) {
                g_assert_cmpint(vsnd_audio_start(a, s), ==, 0);
                vsnd_manual_clock_advance(1000 * MS);
                iov.iov_base = buf;
                iov.iov_len = p.period_bytes;
                g_assert_cmpint(vsnd_audio_read(a, s, &iov, 1), ==, (ssize_t)p.period_bytes);
                vsnd_audio_close(a, s);
            }
        }
    }
    atu_rmdir(dir);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/audio/wav/playback/s16-byte-exact", test_s16_byte_exact);
    g_test_add_func("/audio/wav/playback/formats-lossless", test_formats);
    g_test_add_func("/audio/wav/playback/header-after-crash", test_header_after_crash);
    g_test_add_func("/audio/wav/playback/reopen-and-naming", test_reopen_and_naming);
    g_test_add_func("/audio/wav/capture/file-loops-and-must-match", test_capture_file);
    g_test_add_func("/audio/wav/capture/tone", test_capture_tone);
    g_test_add_func("/audio/wav/capture/hostile-input-files", test_hostile_input);
    return g_test_run();
}
