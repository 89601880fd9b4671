/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-audio-alsa.c - the alsa driver module through alsa-lib with a
 * private configuration (ALSA_CONFIG_PATH): file PCMs over a null slave
 * check that played samples land in the file bit for bit and that
 * captured samples come from the file bit for bit; a "pulse" plugin PCM
 * on a private PulseAudio gives a real clock, so -EAGAIN/ready() pacing,
 * a killed server (error event, no blocking) and its return are checked.
 * Skips only when alsa-lib's module was not built, or (last test) when
 * pulseaudio or the ALSA pulse plugin is not installed.
 */
#include "config.h"

#include <errno.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <linux/virtio_snd.h>
#include <signal.h>

#include "audio/pcm-format.h"
#include "audio/registry.h"
#include "tests/audio/audio-test-util.h"

#define RATE 48000
#define CH 2
#define FRAME 4
#define PERIOD (480 * FRAME)

static char *tmpdir;

static bool have_module(void)
{
    return atu_have_module("alsa", "libasound2-dev missing");
}

static char *path_in_tmp(const char *name)
{
    return g_build_filename(tmpdir, name, NULL);
}

static VsndAudio *alsa_new(const char *device)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *spec = g_strdup_printf("alsa,device=%s", device);
    VsndAudio *a = vsnd_audio_new(spec, "vm-test", &err);

    g_assert_no_error(err);
    return a;
}

static VsndPcmParams params(VsndDirection dir, uint8_t format, uint8_t rate, uint8_t ch,
                            unsigned int sb)
{
    VsndPcmParams p = {
        .direction = dir, .format = format, .rate = rate, .channels = ch,
        .period_bytes = 480 * sb * ch, .buffer_bytes = 4 * 480 * sb * ch,
        .label = "vm-test: stream", .stream_id = 0,
    };
    return p;
}

static void test_unknown_device(void)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(VsndAudio) a = NULL;

    if (!have_module())
        return;
    a = vsnd_audio_new("alsa,device=nosuchpcm", "vm", &err);
    g_assert_null(a);
    g_assert_nonnull(err);
    g_assert_nonnull(strstr(err->message, "cannot open PCM \"nosuchpcm\""));
}

static void test_caps(void)
{
    g_autoptr(VsndAudio) a = NULL;
    VsndPcmCaps caps;

    if (!have_module())
        return;
    a = alsa_new("tofile");
    g_assert_cmpint(vsnd_audio_query_caps(a, VSND_DIR_OUTPUT, &caps), ==, 0);
    /* a file PCM over null takes every linear format */
    g_assert_true(caps.formats & (1u << VSND_PCM_FMT_S16));
    g_assert_true(caps.formats & (1u << VSND_PCM_FMT_U8));
    g_assert_true(caps.formats & (1u << VSND_PCM_FMT_S24_3));
    g_assert_true(caps.formats & (1u << VSND_PCM_FMT_FLOAT64));
    g_assert_false(caps.formats & (1u << VSND_PCM_FMT_IMA_ADPCM));
    g_assert_cmphex(caps.rates, ==, 0xffff);
    g_assert_cmpuint(caps.channels_min, ==, 1);
    g_assert_cmpuint(caps.channels_max, ==, 8);
    g_assert_true(vsnd_audio_is_connected(a, VSND_DIR_OUTPUT, NULL));
}

static void play_and_compare(uint8_t format, uint8_t rate, uint8_t ch, unsigned int sb,
                             size_t bytes)
{
    g_autoptr(VsndAudio) a = alsa_new("tofile");
    g_autofree char *out = path_in_tmp("out.raw");
    g_autofree uint8_t *data = g_malloc(bytes);
    g_autofree char *got = NULL;
    gsize got_len = 0;
    VsndPcmParams p = params(VSND_DIR_OUTPUT, format, rate, ch, sb);
    AtuEvents ev = { 0 };
    g_autoptr(GError) err = NULL;
    VsndAudioStream *s;
    uint32_t lat;

    for (size_t i = 0; i < bytes; i++)
        data[i] = (uint8_t)(i * 31 + (i >> 9));
    s = vsnd_audio_open(a, &p, &atu_events, &ev, &err);
    g_assert_no_error(err);
    /* pre-buffer one period, START, then the rest */
    g_assert_true(atu_write_all(a, s, data, p.period_bytes, p.period_bytes, 5.0));
    g_assert_cmpint(vsnd_audio_start(a, s), ==, 0);
    g_assert_true(atu_write_all(a, s, data + p.period_bytes, bytes - p.period_bytes,
                                p.period_bytes, 10.0));
    g_assert_cmpint(vsnd_audio_get_latency(a, s, &lat), ==, 0);
    g_assert_cmpint(vsnd_audio_stop(a, s), ==, 0);
    vsnd_audio_close(a, s);
    g_assert_cmpint(ev.errors, ==, 0);

    g_assert_true(g_file_get_contents(out, &got, &got_len, NULL));
    g_assert_cmpmem(got, got_len, data, bytes);
}

static void test_playback(void)
{
    if (!have_module())
        return;
    play_and_compare(VSND_PCM_FMT_S16, VSND_PCM_RATE_48000, 2, 2, 50 * PERIOD);
    play_and_compare(VSND_PCM_FMT_FLOAT, VSND_PCM_RATE_44100, 1, 4, 20 * 480 * 4);
    play_and_compare(VSND_PCM_FMT_S24_3, VSND_PCM_RATE_24000, 6, 3, 10 * 480 * 18);
}

static void test_capture(void)
{
    g_autoptr(VsndAudio) a = NULL;
    g_autofree char *in = path_in_tmp("in.raw");
    const size_t frames = 30 * 480;
    g_autofree int16_t *sig = atu_signal_s16(frames, CH, RATE);
    g_autofree uint8_t *got = g_malloc0(frames * FRAME);
    VsndPcmParams p = params(VSND_DIR_INPUT, VSND_PCM_FMT_S16,
                             VSND_PCM_RATE_48000, CH, 2);
    AtuEvents ev = { 0 };
    g_autoptr(GError) err = NULL;
    VsndAudioStream *s;

    if (!have_module())
        return;
    a = alsa_new("tofile");
    g_assert_true(g_file_set_contents(in, (const char *)sig, (gssize)(frames * FRAME), NULL));
    p.target = "fromfile"; /* per-stream target overrides device= */
    s = vsnd_audio_open(a, &p, &atu_events, &ev, &err);
    g_assert_no_error(err);
    g_assert_cmpint(vsnd_audio_start(a, s), ==, 0);
    /* exactly the file's length: past its end the file PCM repeats data */
    g_assert_true(atu_read_all(a, s, got, frames * FRAME, PERIOD, 10.0));
    vsnd_audio_close(a, s);
    g_assert_cmpmem(got, frames * FRAME, sig, frames * FRAME);
}

/* ---- paced device: the ALSA pulse plugin on a private PulseAudio ---- */

static bool have_pulse_plugin(void)
{
    g_autofree char *pa = atu_find_program("pulseaudio");
    g_autofree char *pactl = atu_find_program("pactl");
    const char *dirs[] = { "/usr/lib/x86_64-linux-gnu/alsa-lib", "/usr/lib/aarch64-linux-gnu/alsa-lib",
                           "/usr/lib64/alsa-lib", "/usr/lib/alsa-lib" };
    bool plugin = false;

    for (size_t i = 0; i < G_N_ELEMENTS(dirs); i++) {
        g_autofree char *f = g_build_filename(dirs[i], "libasound_module_pcm_pulse.so", NULL);
        plugin = plugin || g_file_test(f, G_FILE_TEST_EXISTS);
    }
    if (!pa || !pactl || !plugin) {
        g_test_skip("pulseaudio or the ALSA pulse plugin (libasound2-plugins) is not installed");
        return false;
    }
    return true;
}

static bool back_cond(void *data)
{
    AtuEvents *ev = data;
    return ev->nerr_history >= 2 && ev->err_history[ev->nerr_history - 1] == 0;
}

static void test_paced_and_server_loss(void)
{
    g_autofree char *dir = NULL;
    g_autofree char *log = NULL;
    g_autofree char *server = NULL;
    g_autoptr(VsndAudio) a = NULL;
    VsndPcmParams p = params(VSND_DIR_OUTPUT, VSND_PCM_FMT_S16,
                             VSND_PCM_RATE_48000, CH, 2);
    g_autofree uint8_t *zero = g_malloc0(RATE * FRAME);
    AtuEvents ev = { 0 };
    g_autoptr(GError) err = NULL;
    VsndAudioStream *s;
    gint64 t0;
    double elapsed;
    GPid pid;
    int eagain = 0;

    if (!have_module() || !have_pulse_plugin())
        return;
    dir = atu_tmpdir("vsnd-alsa-pa-XXXXXX");
    log = g_build_filename(dir, "server.log", NULL);
    server = g_strdup_printf("unix:%s/native", dir);
    g_setenv("PULSE_SERVER", server, TRUE);
    pid = atu_pulse_start(dir, log);

    a = alsa_new("pa");
    s = vsnd_audio_open(a, &p, &atu_events, &ev, &err);
    g_assert_no_error(err);
    g_assert_cmpint(vsnd_audio_start(a, s), ==, 0);
    /* 0.5 s of audio is paced by the server's clock through -EAGAIN/ready() */
    t0 = g_get_monotonic_time();
    for (size_t done = 0; done < RATE / 2 * FRAME;) {
        struct iovec iov = { zero + done, PERIOD };
        ssize_t r = vsnd_audio_write(a, s, &iov, 1);
        if (r == -EAGAIN) {
            int before = ev.ready;
            eagain++;
            while (ev.ready == before && g_get_monotonic_time() - t0 < 10 * G_USEC_PER_SEC)
                g_main_context_iteration(NULL, TRUE);
            continue;
        }
        g_assert_cmpint(r, ==, PERIOD);
        done += PERIOD;
    }
    elapsed = (double)(g_get_monotonic_time() - t0) / G_USEC_PER_SEC;
    g_test_message("0.5 s accepted in %.3f s, %d times -EAGAIN", elapsed, eagain);
    g_assert_cmpint(eagain, >, 0);
    g_assert_cmpfloat(elapsed, >, 0.2); /* the device buffer may hold some ahead */
    g_assert_cmpfloat(elapsed, <, 10.0);
    /* drain: completes through ready() once the device has played it all */
    {
        uint32_t lat = 0;
        int before = ev.ready;
        g_assert_cmpint(vsnd_audio_get_latency(a, s, &lat), ==, 0);
        g_assert_cmpuint(lat, >, 0);
        g_assert_cmpint(vsnd_audio_drain(a, s), ==, -EINPROGRESS);
        while (ev.ready == before && g_get_monotonic_time() - t0 < 20 * G_USEC_PER_SEC)
            g_main_context_iteration(NULL, TRUE);
        g_assert_cmpint(ev.ready, ==, before + 1);
        g_assert_cmpint(vsnd_audio_get_latency(a, s, &lat), ==, 0);
        g_assert_cmpuint(lat, <, PERIOD); /* the plugin may report a frame or two */
    }

    /* The server dies: an error event, no blocking. */
    atu_stop(pid, SIGKILL);
    t0 = g_get_monotonic_time();
    while (ev.errors == 0 && g_get_monotonic_time() - t0 < 10 * G_USEC_PER_SEC) {
        struct iovec iov = { zero, PERIOD };
        gint64 w0 = g_get_monotonic_time();
        ssize_t r = vsnd_audio_write(a, s, &iov, 1);
        g_assert_cmpint(g_get_monotonic_time() - w0, <, G_USEC_PER_SEC);
        if (r == -EAGAIN || r > 0)
            g_main_context_iteration(NULL, FALSE);
        g_usleep(5000);
        g_main_context_iteration(NULL, FALSE);
    }
    g_assert_cmpint(ev.errors, >, 0);
    g_assert_false(vsnd_audio_is_connected(a, VSND_DIR_OUTPUT, NULL));
    g_test_message("error event %d", ev.err_history[0]);
    g_assert_true(ev.err_history[0] == -ENODEV || ev.err_history[0] == -EPIPE);

    /* It comes back: the PCM is re-opened and says so. */
    if (ev.err_history[0] == -ENODEV) {
        pid = atu_pulse_start(dir, log);
        g_assert_true(atu_wait(back_cond, &ev, 20.0));
        g_assert_true(vsnd_audio_is_connected(a, VSND_DIR_OUTPUT, NULL));
        g_assert_true(atu_write_all(a, s, zero, PERIOD, PERIOD, 10.0));
    } else {
        pid = 0;
    }
    vsnd_audio_close(a, s);
    atu_stop(pid, SIGTERM);
    g_unsetenv("PULSE_SERVER");
    atu_rmdir(dir);
}

int main(int argc, char **argv)
{
    g_autofree char *conf = NULL;
    g_autofree char *text = NULL;
    int ret;

    g_test_init(&argc, &argv, NULL);
    signal(SIGPIPE, SIG_IGN);
    tmpdir = atu_tmpdir("vsnd-alsa-XXXXXX");
    conf = path_in_tmp("asound.conf");
    text = g_strdup_printf(
        "pcm.tofile {\n"
        "    type file\n"
        "    slave.pcm { type null }\n"
        "    file \"%s/out.raw\"\n"
        "    format \"raw\"\n"
        "}\n"
        "pcm.fromfile {\n"
        "    type file\n"
        "    slave.pcm { type null }\n"
        "    infile \"%s/in.raw\"\n"
        "    file \"/dev/null\"\n"
        "    format \"raw\"\n"
        "}\n"
        "pcm.pa { type pulse }\n"
        "pcm.!default \"tofile\"\n", tmpdir, tmpdir);
    g_assert_true(g_file_set_contents(conf, text, -1, NULL));
    /* self-contained: no system alsa.conf, no hooks, no stray pulse probing */
    g_setenv("ALSA_CONFIG_PATH", conf, TRUE);
    g_setenv("HOME", tmpdir, TRUE);
    g_setenv("XDG_RUNTIME_DIR", tmpdir, TRUE);

    g_test_add_func("/audio/alsa/init/unknown-device", test_unknown_device);
    g_test_add_func("/audio/alsa/caps/file-pcm", test_caps);
    g_test_add_func("/audio/alsa/playback/bit-exact-in-file", test_playback);
    g_test_add_func("/audio/alsa/capture/bit-exact-from-file", test_capture);
    g_test_add_func("/audio/alsa/pulse-plugin/paced-and-server-loss",
                    test_paced_and_server_loss);
    ret = g_test_run();
    atu_rmdir(tmpdir);
    g_free(tmpdir);
    return ret;
}
