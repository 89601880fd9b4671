/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-audio-pipewire.c - the pipewire driver module against a real,
 * private PipeWire daemon (tests/audio/pw-test.conf: dummy clock, null
 * sink "test_sink") with a headless WirePlumber linking the streams:
 * a known signal played through the driver arrives bit-exact at the
 * sink's monitor (pw-record); a known signal played into the sink
 * (pw-play) is captured bit-exact from the default source (the monitor);
 * volume/mute show in the node's Props (pw-dump); the daemon killed gives
 * error events without blocking and its return is picked up.  Signals are
 * padded with silence: PipeWire 0.3.65 drops a stream's last partial
 * quantum.  Skips only when pipewire, wireplumber or the module is absent.
 */
#include "config.h"

#include <errno.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <signal.h>

#include "audio/pcm-format.h"
#include "audio/registry.h"
#include "tests/audio/audio-test-util.h"

#define RATE 48000
#define CH 2
#define FRAME 4
/* 100 ms periods: the driver keeps two of them at the server, enough to
 * ride out a test process descheduled on a loaded machine; bit-exactness
 * needs no underrun or overrun at all. */
#define PERIOD (4800 * FRAME)

typedef struct {
    char *dir;
    char *log;
    AtuPipewire servers;
    VsndAudio *audio;
} Fixture;

static bool have_prereqs(void)
{
    const char *const progs[] = { "pipewire", "wireplumber", "pw-record", "pw-play", "pw-link",
                                  "pw-metadata", "pw-dump", "python3", NULL };

    return atu_have_programs(progs) &&
           atu_have_module("pipewire", "libpipewire-0.3-dev missing");
}

static bool cmd_output_has(const char *const *argv, const char *needle)
{
    g_autofree char *out = NULL;
    return atu_run(argv, &out) == 0 && out && strstr(out, needle);
}

static void fixture_setup(Fixture *f, gconstpointer data)
{
    g_autofree char *home = NULL;

    if (!have_prereqs())
        return;
    f->dir = atu_tmpdir("vsnd-pw-XXXXXX");
    f->log = g_build_filename(f->dir, "server.log", NULL);
    home = g_build_filename(f->dir, "home", NULL);
    g_assert_cmpint(g_mkdir_with_parents(home, 0700), ==, 0);
    g_setenv("HOME", home, TRUE);
    atu_pipewire_env(f->dir);
    g_assert_true(atu_pipewire_start(&f->servers, f->log, 20.0));
    {
        g_autoptr(GError) err = NULL;
        f->audio = vsnd_audio_new("pipewire", "vm-test", &err);
        g_assert_no_error(err);
    }
}

static void fixture_teardown(Fixture *f, gconstpointer data)
{
    vsnd_audio_free(f->audio);
    atu_pipewire_stop(&f->servers);
    if (f->dir && g_test_failed()) {
        g_autofree char *log = NULL;
        g_file_get_contents(f->log, &log, NULL, NULL);
        g_test_message("server log:\n%s", log ? log : "");
    }
    atu_rmdir(f->dir);
    g_free(f->dir);
    g_free(f->log);
}

static VsndPcmParams params(VsndDirection dir, uint32_t id, const char *label)
{
    VsndPcmParams p = {
        .direction = dir, .format = VSND_PCM_FMT_S16, .rate = VSND_PCM_RATE_48000,
        .channels = CH, .period_bytes = PERIOD, .buffer_bytes = 4 * PERIOD,
        .label = label, .stream_id = id,
    };
    return p;
}

static bool ready_seen(void *data)
{
    return ((AtuEvents *)data)->ready > 0;
}

static void test_playback(Fixture *f, gconstpointer data)
{
    const size_t frames = RATE / 2, pad = RATE / 10;
    g_autofree int16_t *sig = atu_signal_s16(frames, CH, RATE);
    g_autofree int16_t *buf = g_new0(int16_t, (frames + 2 * pad) * CH);
    g_autofree char *rec = NULL;
    const char *links[] = { "pw-link", "-l", NULL };
    VsndPcmParams p = params(VSND_DIR_OUTPUT, 0, "vm-test: playback 0");
    AtuEvents ev = { 0 };
    g_autoptr(GError) err = NULL;
    VsndAudioStream *s;
    GPid recorder;
    AtuWav w;
    long off;
    size_t match;
    uint32_t lat = 0;

    if (!f->audio)
        return;
    memcpy(buf + pad * CH, sig, frames * FRAME);
    rec = g_build_filename(f->dir, "rec.wav", NULL);
    {
        const char *argv[] = { "pw-record", "--rate", "48000", "--channels", "2", "--format",
                               "s16", "--target", "test_sink", "-P",
                               "{ stream.capture.sink = true node.name = vsnd-test-rec }",
                               rec, NULL };
        recorder = atu_spawn(argv, f->log);
    }
    g_assert_true(atu_wait_output(links, "vsnd-test-rec:input_FR", 20.0));

    s = vsnd_audio_open(f->audio, &p, &atu_events, &ev, &err);
    g_assert_no_error(err);
    g_assert_true(atu_write_all(f->audio, s, buf, PERIOD, PERIOD, 10.0));
    g_assert_cmpint(vsnd_audio_start(f->audio, s), ==, 0);
    g_assert_true(atu_write_all(f->audio, s, (uint8_t *)buf + PERIOD,
                                (frames + 2 * pad) * FRAME - PERIOD, PERIOD, 20.0));
    g_assert_cmpint(vsnd_audio_get_latency(f->audio, s, &lat), ==, 0);
    g_test_message("latency while playing: %u bytes", lat);
    g_assert_cmpuint(lat, >, 0);
    g_assert_cmpuint(lat, <, RATE * FRAME);
    /* labelled for people: the node shows the VM and stream */
    {
        const char *dump[] = { "pw-dump", NULL };
        g_assert_true(cmd_output_has(dump, "\"media.name\": \"vm-test: playback 0\""));
        g_assert_true(cmd_output_has(dump, "\"application.name\": \"vm-test\""));
        g_assert_true(cmd_output_has(dump, "\"media.role\": \"Music\""));
    }
    ev.ready = 0;
    /* the pw-dump calls above can take longer than the buffered audio on a
     * loaded machine: then the ring is already empty and drain says so */
    int dr = vsnd_audio_drain(f->audio, s);
    g_assert_true(dr == -EINPROGRESS || dr == 0);
    if (dr == -EINPROGRESS)
        g_assert_true(atu_wait(ready_seen, &ev, 10.0));
    vsnd_audio_close(f->audio, s);
    atu_run_for(0.5); /* the recorder's own latency */
    atu_stop(recorder, SIGINT);

    g_assert_true(atu_wav_load(rec, &w));
    match = atu_match_s16((const int16_t *)w.data, w.data_len / FRAME, sig, frames, CH, &off);
    g_test_message("recorded %zu frames; signal at frame %ld, %zu/%zu frames exact",
                   w.data_len / FRAME, off, match, frames);
    g_assert_cmpuint(match, ==, frames);
    atu_wav_clear(&w);
}

static void test_capture(Fixture *f, gconstpointer data)
{
    const size_t frames = RATE / 2, pad = RATE / 10;
    const size_t cap_frames = RATE * 2;
    g_autofree int16_t *sig = atu_signal_s16(frames, CH, RATE);
    g_autofree int16_t *padded = g_new0(int16_t, (frames + 2 * pad) * CH);
    g_autofree int16_t *got = g_new0(int16_t, cap_frames * CH);
    g_autofree char *in = NULL;
    VsndPcmParams p = params(VSND_DIR_INPUT, 1, "vm-test: capture 1");
    AtuEvents ev = { 0 };
    g_autoptr(GError) err = NULL;
    VsndAudioStream *s;
    GPid player;
    long off;
    size_t match;

    if (!f->audio)
        return;
    memcpy(padded + pad * CH, sig, frames * FRAME);
    in = g_build_filename(f->dir, "in.wav", NULL);
    atu_wav_write_s16(in, RATE, CH, padded, frames + 2 * pad);
    /* a sink other than the default as capture target: its monitor is
     * recorded (the default source, test_sink's monitor, stays silent) */
    {
        const char *create[] = { "pw-cli", "create-node", "adapter",
                                 "{ factory.name = support.null-audio-sink node.name = second "
                                 "media.class = Audio/Sink object.linger = true "
                                 "audio.position = [ FL FR ] }", NULL };
        const char *ports[] = { "pw-link", "-o", NULL };
        g_assert_cmpint(atu_run(create, NULL), ==, 0);
        g_assert_true(atu_wait_output(ports, "second:monitor_FR", 20.0));
        atu_run_for(0.3); /* the registry event reaches the driver */
    }
    p.target = "second";
    s = vsnd_audio_open(f->audio, &p, &atu_events, &ev, &err);
    g_assert_no_error(err);
    g_assert_cmpint(vsnd_audio_start(f->audio, s), ==, 0);
    g_assert_true(atu_read_all(f->audio, s, got, PERIOD * 2, PERIOD, 20.0));
    {
        const char *argv[] = { "pw-play", "--target", "second", in, NULL };
        player = atu_spawn(argv, f->log);
    }
    g_assert_true(atu_read_all(f->audio, s, got, cap_frames * FRAME, PERIOD, 20.0));
    atu_stop(player, SIGTERM);
    vsnd_audio_close(f->audio, s);

    match = atu_match_s16(got, cap_frames, sig, frames, CH, &off);
    g_test_message("signal at captured frame %ld, %zu/%zu frames exact", off, match, frames);
    g_assert_cmpuint(match, ==, frames);
}

typedef struct {
    const char *node;
    const char *want;
} PropsWait;

static bool props_cond(void *data)
{
    PropsWait *w = data;
    g_autofree char *out = atu_pipewire_node_volume(w->node);

    if (!out)
        return false;
    if (!strstr(out, w->want)) {
        g_test_message("node %s props: %s", w->node, out);
        return false;
    }
    return true;
}

static void test_volume(Fixture *f, gconstpointer data)
{
    VsndPcmParams p = params(VSND_DIR_OUTPUT, 0, "vm-test: playback 0");
    AtuEvents ev = { 0 };
    g_autoptr(GError) err = NULL;
    VsndAudioStream *s;
    g_autofree uint8_t *zero = g_malloc0(PERIOD);
    PropsWait half = { "vsnd.vm-test.playback-0", "vol [0.5, 0.5] mute False" };
    PropsWait muted = { "vsnd.vm-test.playback-0", "vol [0.25, 0.25] mute True" };

    if (!f->audio)
        return;
    s = vsnd_audio_open(f->audio, &p, &atu_events, &ev, &err);
    g_assert_no_error(err);
    g_assert_cmpint(vsnd_audio_start(f->audio, s), ==, 0);
    g_assert_true(atu_write_all(f->audio, s, zero, PERIOD, PERIOD, 10.0));
    g_assert_cmpint(vsnd_audio_set_volume(f->audio, s, 32768, false), ==, 0);
    g_assert_true(atu_wait(props_cond, &half, 15.0));
    g_assert_cmpint(vsnd_audio_set_volume(f->audio, s, 16384, true), ==, 0);
    g_assert_true(atu_wait(props_cond, &muted, 15.0));
    vsnd_audio_close(f->audio, s);
}

static void test_caps_connected(Fixture *f, gconstpointer data)
{
    VsndPcmCaps caps;

    if (!f->audio)
        return;
    g_assert_cmpint(vsnd_audio_query_caps(f->audio, VSND_DIR_OUTPUT, &caps), ==, 0);
    g_assert_true(caps.formats & (1u << VSND_PCM_FMT_S16));
    g_assert_true(caps.formats & (1u << VSND_PCM_FMT_FLOAT));
    g_assert_true(caps.formats & (1u << VSND_PCM_FMT_U16));
    g_assert_false(caps.formats & (1u << VSND_PCM_FMT_DSD_U8));
    g_assert_cmphex(caps.rates, ==, 0xffff);
    atu_run_for(0.2);
    g_assert_true(vsnd_audio_is_connected(f->audio, VSND_DIR_OUTPUT, NULL));
    g_assert_true(vsnd_audio_is_connected(f->audio, VSND_DIR_OUTPUT, "test_sink"));
    g_assert_true(vsnd_audio_is_connected(f->audio, VSND_DIR_INPUT, "test_sink"));
    g_assert_false(vsnd_audio_is_connected(f->audio, VSND_DIR_OUTPUT, "nosuch"));
}

static bool back_cond(void *data)
{
    AtuEvents *ev = data;
    return ev->nerr_history >= 2 && ev->err_history[ev->nerr_history - 1] == 0;
}

static bool connected_cond(void *data)
{
    return vsnd_audio_is_connected(data, VSND_DIR_OUTPUT, "test_sink");
}

static void test_daemon_restart(Fixture *f, gconstpointer data)
{
    VsndPcmParams p = params(VSND_DIR_OUTPUT, 0, "vm-test: playback 0");
    AtuEvents ev = { 0 };
    g_autoptr(GError) err = NULL;
    VsndAudioStream *s;
    g_autofree uint8_t *zero = g_malloc0(PERIOD);
    struct iovec iov = { zero, PERIOD };
    const char *links[] = { "pw-link", "-l", NULL };
    gint64 t0;
    ssize_t r;

    if (!f->audio)
        return;
    s = vsnd_audio_open(f->audio, &p, &atu_events, &ev, &err);
    g_assert_no_error(err);
    g_assert_cmpint(vsnd_audio_start(f->audio, s), ==, 0);
    g_assert_true(atu_write_all(f->audio, s, zero, PERIOD, PERIOD, 10.0));

    atu_stop(f->servers.pw, SIGKILL);
    atu_stop(f->servers.wp, SIGTERM); /* exits by itself anyway */
    f->servers.pw = f->servers.wp = 0;
    g_assert_true(atu_wait_errors(&ev, 1, 10.0));
    g_assert_cmpint(ev.err_history[0], ==, -ECONNRESET);
    g_assert_false(vsnd_audio_is_connected(f->audio, VSND_DIR_OUTPUT, NULL));
    t0 = g_get_monotonic_time();
    r = vsnd_audio_write(f->audio, s, &iov, 1);
    g_assert_cmpint(r, ==, -ENODEV);
    g_assert_cmpint(g_get_monotonic_time() - t0, <, G_USEC_PER_SEC);

    g_assert_true(atu_pipewire_start(&f->servers, f->log, 20.0));
    g_assert_true(atu_wait(back_cond, &ev, 20.0));
    g_assert_true(atu_wait(connected_cond, f->audio, 10.0));
    /* the stream plays again and is linked on the new daemon */
    g_assert_true(atu_write_all(f->audio, s, zero, PERIOD, PERIOD, 10.0));
    g_assert_true(atu_wait_output(links, "vsnd.vm-test.playback-0:output_FR", 10.0));
    vsnd_audio_close(f->audio, s);
}

/* params->target routes the stream to a named sink, not the default. */
static void test_target(Fixture *f, gconstpointer data)
{
    const char *create[] = { "pw-cli", "create-node", "adapter",
                             "{ factory.name = support.null-audio-sink node.name = second "
                             "media.class = Audio/Sink object.linger = true "
                             "audio.position = [ FL FR ] }", NULL };
    const char *links[] = { "pw-link", "-l", NULL };
    const char *ports[] = { "pw-link", "-i", NULL };
    VsndPcmParams p = params(VSND_DIR_OUTPUT, 2, "vm-test: playback 2");
    g_autofree uint8_t *zero = g_malloc0(PERIOD);
    AtuEvents ev = { 0 };
    g_autoptr(GError) err = NULL;
    VsndAudioStream *s;

    if (!f->audio)
        return;
    g_assert_cmpint(atu_run(create, NULL), ==, 0);
    g_assert_true(atu_wait_output(ports, "second:playback_FR", 20.0));
    p.target = "second";
    s = vsnd_audio_open(f->audio, &p, &atu_events, &ev, &err);
    g_assert_no_error(err);
    g_assert_cmpint(vsnd_audio_start(f->audio, s), ==, 0);
    g_assert_true(atu_write_all(f->audio, s, zero, PERIOD, PERIOD, 10.0));
    /* pw-link -l lists "node:port" then "  |-> node:port" for each link */
    g_assert_true(atu_wait_output(links, "|<- vsnd.vm-test.playback-2:output_FR", 20.0));
    {
        g_autofree char *out = NULL;
        g_assert_cmpint(atu_run(links, &out), ==, 0);
        g_assert_nonnull(strstr(out, "second:playback_FR\n  |<- vsnd.vm-test.playback-2:output_FR"));
        g_assert_null(strstr(out, "|<- vsnd.vm-test.playback-2:output_FR\n  |<- "));
        g_assert_null(strstr(out, "test_sink:playback_FR\n  |<- vsnd.vm-test.playback-2"));
    }
    g_assert_true(vsnd_audio_is_connected(f->audio, VSND_DIR_OUTPUT, "second"));
    vsnd_audio_close(f->audio, s);
}

/* auto: PipeWire comes first. */
static void test_auto_picks_pipewire(Fixture *f, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(VsndAudio) a = NULL;

    if (!f->audio)
        return;
    g_test_expect_message("vsnd-audio", G_LOG_LEVEL_MESSAGE, "*auto: using pipewire*");
    a = vsnd_audio_new("auto", "vm-test", &err);
    g_test_assert_expected_messages();
    g_assert_no_error(err);
    g_assert_cmpstr(vsnd_audio_name(a), ==, "pipewire");
}

static void test_no_daemon(void)
{
    g_autofree char *dir = NULL;
    g_autofree char *remote = NULL;
    g_autoptr(GError) err = NULL;
    VsndAudio *a;

    if (!have_prereqs())
        return;
    dir = atu_tmpdir("vsnd-pw-XXXXXX");
    remote = g_build_filename(dir, "pipewire-0", NULL);
    g_setenv("PIPEWIRE_REMOTE", remote, TRUE);
    a = vsnd_audio_new("pipewire", "vm", &err);
    g_unsetenv("PIPEWIRE_REMOTE");
    g_assert_null(a);
    g_assert_error(err, VSND_AUDIO_ERROR, VSND_AUDIO_ERROR_CONNECTION_REFUSED);
    g_assert_nonnull(strstr(err->message, "cannot connect to the PipeWire daemon"));
    atu_rmdir(dir);
}

/* Regression: closing a stream right after playing and draining used to
 * crash libpipewire's data thread (process offloaded to the loop thread
 * racing pw_stream_destroy); repeat it with varying gaps. */
static void test_open_close_repeatedly(Fixture *f, gconstpointer data)
{
    g_autofree uint8_t *zero = g_malloc0(PERIOD * 3);

    if (!f->audio)
        return;
    for (int i = 0; i < 15; i++) {
        VsndPcmParams p = params(VSND_DIR_OUTPUT, 0, "vm-test: playback 0");
        AtuEvents ev = { 0 };
        VsndAudioStream *s = vsnd_audio_open(f->audio, &p, &atu_events, &ev, NULL);

        g_assert_nonnull(s);
        g_assert_cmpint(vsnd_audio_start(f->audio, s), ==, 0);
        g_assert_true(atu_write_all(f->audio, s, zero, PERIOD * 3, PERIOD, 10.0));
        ev.ready = 0;
        g_assert_cmpint(vsnd_audio_drain(f->audio, s), ==, -EINPROGRESS);
        g_assert_true(atu_wait(ready_seen, &ev, 10.0));
        vsnd_audio_close(f->audio, s);
        atu_run_for(0.02 * (i % 5));
    }
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    signal(SIGPIPE, SIG_IGN);
    g_test_add_func("/audio/pipewire/init/no-daemon", test_no_daemon);
    g_test_add("/audio/pipewire/playback/open-drain-close-repeatedly", Fixture, NULL,
               fixture_setup, test_open_close_repeatedly, fixture_teardown);
    g_test_add("/audio/pipewire/caps-and-connected", Fixture, NULL, fixture_setup,
               test_caps_connected, fixture_teardown);
    g_test_add("/audio/pipewire/playback/signal-arrives-bit-exact", Fixture, NULL,
               fixture_setup, test_playback, fixture_teardown);
    g_test_add("/audio/pipewire/capture/signal-arrives-bit-exact", Fixture, NULL,
               fixture_setup, test_capture, fixture_teardown);
    g_test_add("/audio/pipewire/volume-and-mute-on-node", Fixture, NULL, fixture_setup,
               test_volume, fixture_teardown);
    g_test_add("/audio/pipewire/target-selects-sink", Fixture, NULL, fixture_setup,
               test_target, fixture_teardown);
    g_test_add("/audio/pipewire/auto-picks-pipewire", Fixture, NULL, fixture_setup,
               test_auto_picks_pipewire, fixture_teardown);
    g_test_add("/audio/pipewire/daemon-killed-and-restarted", Fixture, NULL, fixture_setup,
               test_daemon_restart, fixture_teardown);
    return g_test_run();
}
