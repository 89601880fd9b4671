/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-integration-drivers.c - every driver module inside the real daemon.
 *
 * The driver tests (test-audio-*) load a module into a test program that
 * exports nothing; the daemon is another process image, with its own
 * symbols next to the driver's libraries (issue 17: alsa-lib's calls once
 * landed in the device's snd_pcm_state(), and the daemon aborted at the
 * guest's first PREPARE).  So here $VSND_DAEMON runs with --driver=alsa,
 * pulse, pipewire and auto, modules from $VSND_DRIVERDIR, and the fake
 * Linux guest of tests/harness plays and records through it.  Judged on
 * samples, never on return codes:
 *  - alsa: a `file` PCM over `null` defined in a private ~/.asoundrc
 *    (tests/harness/host-alsa.h: a temporary HOME, so alsa.conf and its
 *    hooks run as for a user): what the guest played is the file, byte
 *    for byte; what the guest records through a file PCM with `infile` is
 *    that file, byte for byte; both at the audio rate, although the file
 *    PCM has no clock.  The stock `null` PCM: everything completes
 *    OK and capture is digital silence in every byte (the null plugin
 *    writes nothing into the buffer it is given).
 *  - auto with no PipeWire or PulseAudio reachable picks alsa, whose
 *    default PCM is the file PCM: the guest's tone is the file.
 *  - pulse, pipewire: private servers with a null sink; the sink's monitor
 *    recorded on the host holds the guest's tone, every frame bit for bit
 *    and in order, then silence only, and a tone played into the sink on
 *    the host is in the guest's recording (the default source is that
 *    monitor) the same way.  Nothing converts on the way: S16_LE 48 kHz
 *    stereo everywhere.  Silent gaps inside a tone lose no frame and are
 *    reported, not judged (see tone_walk()).
 *
 * Each test sets the environment the daemon inherits (HOME,
 * XDG_RUNTIME_DIR, PULSE_SERVER, PIPEWIRE_*...) and puts it back after.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>

#include <glib/gstdio.h>
#include <linux/virtio_snd.h>

#include "tests/audio/audio-test-util.h"
#include "tests/harness/daemon.h"
#include "tests/harness/host-alsa.h"
#include "tests/harness/snd-guest.h"
#include "tests/judge/audio-judge.h"
#include "tests/judge/wav-file.h"

#define RATE 48000
#define CH 2
#define FRAME 4
#define NPER 4                          /* periods the guest keeps queued */
#define FILE_PERIOD (480 * FRAME)       /* 10 ms: the file PCM has no clock */
#define SERVER_PERIOD (4800 * FRAME)    /* 100 ms: slack on a loaded machine */

/* Everything the server tests change in their own environment (the alsa
 * ones: host-alsa.h). */
static const char *const env_names[] = {
    "HOME", "XDG_RUNTIME_DIR", "XDG_CONFIG_HOME", "XDG_STATE_HOME",
    "PULSE_SERVER", "PULSE_SINK", "PULSE_SOURCE", "PIPEWIRE_RUNTIME_DIR", "PIPEWIRE_REMOTE",
    "PIPEWIRE_PROPS", "PIPEWIRE_DEBUG", NULL,
};

/* GLib warns about unsetenv() once threads run: only where needed. */
static void unset(const char *name)
{
    if (g_getenv(name))
        g_unsetenv(name);
}

/* ---- the daemon and the fake guest ---------------------------------------- */

static VdProc *daemon_start(const char *const *argv)
{
    g_autoptr(GError) err = NULL;
    VdProc *vd = vd_spawn_ready_argv(argv, &err);
    g_assert_no_error(err);
    return vd;
}

/* Fail the test with @what and the daemon's log. */
static void fail_with_log(VdProc *vd, const char *what)
{
    g_autofree char *log = vd_stderr(vd);
    gsize l = strlen(log);
    g_test_fail_printf("%s (daemon %s)\n--- daemon (tail):\n%s", what,
                       vd_alive(vd) ? "alive" : "DEAD", log + (l > 4000 ? l - 4000 : 0));
}

static SgGuest *guest_boot(VdProc *vd)
{
    g_autoptr(GError) err = NULL;
    SgOpts o;
    sg_opts_init(&o);
    o.packed = true; /* what Linux negotiates with QEMU 10 */
    SgGuest *sg = sg_connect(vd, &o, &err);
    if (sg && !sg_boot(sg, &err))
        g_clear_pointer(&sg, sg_free);
    if (!sg)
        fail_with_log(vd, err->message);
    return sg;
}

static int find_stream(SgGuest *sg, uint8_t dir)
{
    for (uint32_t i = 0; i < sg->streams; i++)
        if (sg->pcm[i].direction == dir)
            return (int)i;
    return -1;
}

/* One control request that must answer OK. */
static bool ctl_ok(VdProc *vd, SgGuest *sg, uint32_t code, uint32_t sid, uint32_t period)
{
    g_autoptr(GError) err = NULL;
    uint32_t st = ~0u;
    bool sent;
    if (code == VIRTIO_SND_R_PCM_SET_PARAMS)
        sent = sg_pcm_set_params(sg, sid, NPER * period, period, CH, VIRTIO_SND_PCM_FMT_S16,
                                 VIRTIO_SND_PCM_RATE_48000, sg_linux_pcm_features(sg, sid), &st,
                                 &err);
    else
        sent = sg_pcm_cmd(sg, code, sid, &st, &err);
    if (sent && st == VIRTIO_SND_S_OK)
        return true;
    g_autofree char *what = g_strdup_printf("control request 0x%x on stream %u: %s", code, sid,
                                            sent ? "status not OK" : err->message);
    fail_with_log(vd, what);
    return false;
}

/*
 * Play @data as Linux's aplay does: SET_PARAMS, PREPARE, NPER periods
 * queued, START, a period re-queued per completion, then (drained) STOP
 * and RELEASE.  Every message must complete OK.  Return: false after
 * failing the test.
 */
static bool guest_play(VdProc *vd, SgGuest *sg, const guint8 *data, gsize len, uint32_t period)
{
    int sid = find_stream(sg, VIRTIO_SND_D_OUTPUT);
    g_assert_cmpint(sid, >=, 0);
    g_assert_cmpuint(len % period, ==, 0);
    unsigned int total = (unsigned int)(len / period), queued = 0, done = 0;
    if (!ctl_ok(vd, sg, VIRTIO_SND_R_PCM_SET_PARAMS, (uint32_t)sid, period) ||
        !ctl_ok(vd, sg, VIRTIO_SND_R_PCM_PREPARE, (uint32_t)sid, period))
        return false;
    for (; queued < NPER && queued < total; queued++)
        g_assert_cmpint(sg_tx_submit(sg, sg_io_msg_new(sg, (uint32_t)sid, false, period),
                                     data + (gsize)queued * period, false), ==, 0);
    if (!ctl_ok(vd, sg, VIRTIO_SND_R_PCM_START, (uint32_t)sid, period))
        return false;
    while (done < total) {
        SgIoMsg *m = sg_io_wait(sg, false, 5000);
        if (!m || m->status != VIRTIO_SND_S_OK) {
            g_autofree char *what = g_strdup_printf("playback period %u of %u: %s", done + 1,
                                                    total, m ? "status not OK" : "no completion");
            fail_with_log(vd, what);
            return false;
        }
        done++;
        if (queued < total) {
            g_assert_cmpint(sg_tx_submit(sg, m, data + (gsize)queued * period, false), ==, 0);
            queued++;
        }
    }
    return ctl_ok(vd, sg, VIRTIO_SND_R_PCM_STOP, (uint32_t)sid, period) &&
           ctl_ok(vd, sg, VIRTIO_SND_R_PCM_RELEASE, (uint32_t)sid, period);
}

/* Called once per captured period (@n counts from 1). */
typedef void (*CaptureHook)(unsigned int n, void *data);

/*
 * Record @len bytes as arecord does (NPER periods queued before START, one
 * re-queued per completion, never more than @len in all: past the end of
 * its infile a file PCM repeats itself), then STOP and RELEASE.  Every
 * message must come back OK and full.  Return: the recording, or NULL
 * after failing the test.
 */
static guint8 *guest_record(VdProc *vd, SgGuest *sg, gsize len, uint32_t period,
                            CaptureHook hook, void *hook_data)
{
    int sid = find_stream(sg, VIRTIO_SND_D_INPUT);
    g_assert_cmpint(sid, >=, 0);
    g_assert_cmpuint(len % period, ==, 0);
    unsigned int total = (unsigned int)(len / period), queued = 0, done = 0;
    if (!ctl_ok(vd, sg, VIRTIO_SND_R_PCM_SET_PARAMS, (uint32_t)sid, period) ||
        !ctl_ok(vd, sg, VIRTIO_SND_R_PCM_PREPARE, (uint32_t)sid, period))
        return NULL;
    for (; queued < NPER && queued < total; queued++)
        g_assert_cmpint(sg_rx_submit(sg, sg_io_msg_new(sg, (uint32_t)sid, true, period), false),
                        ==, 0);
    if (!ctl_ok(vd, sg, VIRTIO_SND_R_PCM_START, (uint32_t)sid, period))
        return NULL;
    g_autofree guint8 *rec = g_malloc(len);
    while (done < total) {
        SgIoMsg *m = sg_io_wait(sg, true, 5000);
        if (!m || m->status != VIRTIO_SND_S_OK ||
            m->used_len != period + sizeof(struct virtio_snd_pcm_status)) {
            g_autofree char *what = g_strdup_printf(
                "capture period %u of %u: %s (used %u)", done + 1, total,
                m ? "status not OK or not full" : "no completion", m ? m->used_len : 0);
            fail_with_log(vd, what);
            return NULL;
        }
        sg_io_read(sg, m, rec + (gsize)done * period);
        done++;
        if (hook)
            hook(done, hook_data);
        if (queued < total) {
            g_assert_cmpint(sg_rx_submit(sg, m, false), ==, 0);
            queued++;
        }
    }
    if (!ctl_ok(vd, sg, VIRTIO_SND_R_PCM_STOP, (uint32_t)sid, period) ||
        !ctl_ok(vd, sg, VIRTIO_SND_R_PCM_RELEASE, (uint32_t)sid, period))
        return NULL;
    return g_steal_pointer(&rec);
}

/* The daemon, asked to stop, exits 0. */
static void daemon_stop(VdProc *vd)
{
    int st = vd_terminate(vd, 10000);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        g_autofree char *what = g_strdup_printf("the daemon did not exit cleanly (status 0x%x)", st);
        fail_with_log(vd, what);
    }
}

/* ---- signals and judging -------------------------------------------------- */

static JudgeToneSpec tone_spec(double hz)
{
    /* frequencies without a short common period: a search cannot lock onto
     * a later cycle of a tone whose start was lost */
    return (JudgeToneSpec){.format = JUDGE_FORMAT_S16_LE, .channels = CH, .rate = RATE,
                           .freq_hz = hz, .freq_step_hz = 217.3, .level_dbfs = -6.0};
}

static guint8 *tone_new(double hz, gsize frames, gsize *len)
{
    JudgeToneSpec t = tone_spec(hz);
    return judge_tone_new(&t, frames, len);
}

/* Fail unless @got is @want, byte for byte. */
static bool judge_identical(VdProc *vd, const char *what, const guint8 *got, gsize got_len,
                            const guint8 *want, gsize want_len)
{
    JudgeCompare c;
    judge_compare_bytes(got, got_len, want, want_len, &c);
    if (c.identical)
        return true;
    g_autoptr(GString) d = g_string_new(NULL);
    judge_describe_compare(d, &c);
    g_autofree char *msg = g_strdup_printf("%s: not what was sent: %s", what, d->str);
    fail_with_log(vd, msg);
    return false;
}

static bool frame_silent(const guint8 *f)
{
    static const guint8 zero[FRAME];
    return memcmp(f, zero, FRAME) == 0;
}

/* What of a tone reached a recording. */
typedef struct Walk {
    gsize end;              /* recording frame after the tone's last; 0: not there */
    gsize gaps, gap_frames; /* silence inserted: late, nothing lost */
    gsize drops, drop_frames; /* silence in place of tone frames: lost */
} Walk;

/* Does @rec hold tone frames [@i, @i + 16) at frame @j? */
static bool resumes(const guint8 *tone, gsize tone_frames, gsize i, const guint8 *rec,
                    gsize rec_frames, gsize j)
{
    gsize n = MIN((gsize)16, tone_frames - i);
    return i < tone_frames && j + n <= rec_frames &&
           memcmp(tone + i * FRAME, rec + j * FRAME, n * FRAME) == 0;
}

/*
 * Where does @tone (S16 stereo) lie in @rec, every frame of it in order,
 * bit for bit?  A server that runs dry plays silence until the next data
 * arrives (an underrun under load; and the device pauses the host stream
 * at the STOP that follows the last completion, until RELEASE resumes it
 * to drain): such a run of digital silence delays the rest and loses
 * nothing: a gap.  A run of silence after which the tone goes on further
 * on is a drop: the frames in between were lost.  Anything else that
 * differs is a fault.  *why says what when the tone is not there.
 */
static void tone_walk(const guint8 *tone, gsize tone_frames, const guint8 *rec, gsize rec_frames,
                      Walk *w, GString *why)
{
    memset(w, 0, sizeof *w);
    /* anchor on the first 100 ms, lead-in included */
    gsize probe = MIN(tone_frames, (gsize)RATE / 10);
    JudgeFind f;
    judge_find(JUDGE_FORMAT_S16_LE, CH, tone, probe * FRAME, rec, rec_frames * FRAME, &f);
    if (!f.whole) {
        g_string_append(why, "its first 100 ms are not in the recording: ");
        judge_describe_find(why, &f);
        return;
    }
    gsize i = 0, j = (f.b_offset - f.a_offset) / FRAME;
    while (i < tone_frames) {
        if (j < rec_frames && memcmp(tone + i * FRAME, rec + j * FRAME, FRAME) == 0) {
            i++, j++;
            continue;
        }
        gsize run = 0;
        while (j + run < rec_frames && frame_silent(rec + (j + run) * FRAME))
            run++;
        gsize k = i; /* where the tone goes on after the silence */
        while (run && k < tone_frames && !resumes(tone, tone_frames, k, rec, rec_frames, j + run))
            k++;
        if (run && k == i) {
            w->gaps++;
            w->gap_frames += run;
        } else if (run && k < tone_frames) {
            w->drops++;
            w->drop_frames += k - i;
            i = k;
        } else {
            g_string_append_printf(why, "frame %zu of %zu %s (recording frame %zu)", i,
                                   tone_frames, j + run >= rec_frames ? "never arrived"
                                                                      : "differs", j);
            return;
        }
        j += run;
    }
    w->end = j;
}

/*
 * @tone, every frame of it, is in @rec, and if @silent_after nothing but
 * digital silence follows it.  Drops fail the test unless @drops_excuse
 * says why the server lost them.  Return: false after failing the test.
 */
static bool judge_tone_in(VdProc *vd, const char *what, const guint8 *tone, gsize tone_len,
                          const guint8 *rec, gsize rec_len, bool silent_after,
                          const char *drops_excuse)
{
    g_autoptr(GString) why = g_string_new(NULL);
    gsize rec_frames = rec_len / FRAME;
    Walk w;
    tone_walk(tone, tone_len / FRAME, rec, rec_frames, &w, why);
    if (!w.end) {
        g_autofree char *msg = g_strdup_printf("%s: the tone (%zu frames) is not whole in the "
                                               "recording (%zu frames): %s",
                                               what, tone_len / FRAME, rec_frames, why->str);
        fail_with_log(vd, msg);
        return false;
    }
    g_test_message("%s: %zu frames recorded, the tone bit-exact up to frame %zu, "
                   "%zu silent gaps (%zu frames) inside it, %zu frames lost in %zu drops%s%s",
                   what, rec_frames, w.end, w.gaps, w.gap_frames, w.drop_frames, w.drops,
                   w.drops && drops_excuse ? ": " : "", w.drops && drops_excuse ? drops_excuse : "");
    if (w.drops && !drops_excuse) {
        g_autofree char *msg = g_strdup_printf("%s: %zu frames of the tone were lost (silence "
                                               "in their place, %zu times)",
                                               what, w.drop_frames, w.drops);
        fail_with_log(vd, msg);
        return false;
    }
    g_autoptr(JudgeSignal) s = judge_signal_new(JUDGE_FORMAT_S16_LE, CH, RATE, rec, rec_len);
    if (silent_after && !judge_is_silent(s, JUDGE_ALL_CHANNELS, w.end, G_MAXSIZE)) {
        g_autofree char *msg = g_strdup_printf("%s: after the tone the recording is not silence "
                                               "(%zu frames follow it)",
                                               what, rec_frames - w.end);
        fail_with_log(vd, msg);
        return false;
    }
    return true;
}

/* ---- alsa ----------------------------------------------------------------- */

static bool have_alsa(void)
{
    return vd_require() && atu_have_module("alsa", "libasound2-dev missing");
}

/* The guest plays a tone through @driver_arg into the file PCM: out.raw is
 * the tone, byte for byte, once RELEASE answered. */
static void alsa_play_into_file(const char *driver_arg, const char *expect_log)
{
    g_autoptr(HostAlsa) ha = ha_new();
    g_autofree char *allow = ha_sandbox_allow(ha);
    const char *argv[] = {driver_arg, allow, NULL};
    g_autoptr(VdProc) vd = daemon_start(argv);
    g_autoptr(SgGuest) sg = guest_boot(vd);
    gsize len = 0;
    g_autofree guint8 *tone = tone_new(441.7, RATE / 2, &len);
    gint64 t0 = g_get_monotonic_time();
    if (sg && guest_play(vd, sg, tone, len, FILE_PERIOD)) {
        /* the file PCM has no clock: the driver paces it, or the guest's
         * period clock runs away (a real Linux fails aplay with EIO) */
        double secs = (double)(g_get_monotonic_time() - t0) / G_USEC_PER_SEC;
        g_test_message("0.5 s played in %.3f s", secs);
        if (secs < 0.25)
            fail_with_log(vd, "the file PCM was not paced at the audio rate");
        g_autoptr(GBytes) out = ha_played(ha, len);
        gsize got_len = 0;
        const guint8 *got = out ? g_bytes_get_data(out, &got_len) : NULL;
        if (!out)
            fail_with_log(vd, "the file PCM wrote no out.raw");
        else
            judge_identical(vd, "out.raw of the file PCM", got, got_len, tone, len);
    }
    if (expect_log) {
        g_autofree char *log = vd_stderr(vd);
        if (!strstr(log, expect_log)) {
            g_autofree char *what = g_strdup_printf("the daemon did not log \"%s\"", expect_log);
            fail_with_log(vd, what);
        }
    }
    g_clear_pointer(&sg, sg_free);
    daemon_stop(vd);
}

static void test_alsa_file_playback(void)
{
    if (!have_alsa())
        return;
    alsa_play_into_file("--driver=alsa,device=tofile", NULL);
}

/* The guest records in.raw through the file PCM's infile: byte for byte. */
static void test_alsa_file_capture(void)
{
    if (!have_alsa())
        return;
    g_autoptr(HostAlsa) ha = ha_new();
    gsize len = 0;
    g_autofree guint8 *tone = tone_new(613.9, RATE / 2, &len);
    g_autofree char *in = ha_path(ha, "in.raw");
    g_assert_true(g_file_set_contents(in, (const char *)tone, (gssize)len, NULL));
    g_autofree char *allow = ha_sandbox_allow(ha);
    const char *argv[] = {"--driver=alsa,device=tofile", "--stream=1:target=fromfile", allow,
                          NULL};
    g_autoptr(VdProc) vd = daemon_start(argv);
    g_autoptr(SgGuest) sg = guest_boot(vd);
    gint64 t0 = g_get_monotonic_time();
    g_autofree guint8 *rec = sg ? guest_record(vd, sg, len, FILE_PERIOD, NULL, NULL) : NULL;
    double secs = (double)(g_get_monotonic_time() - t0) / G_USEC_PER_SEC;
    g_test_message("0.5 s recorded in %.3f s", secs);
    if (rec && secs < 0.25)
        fail_with_log(vd, "the file PCM was not paced at the audio rate");
    if (rec)
        judge_identical(vd, "the guest's recording from the file PCM", rec, len, tone, len);
    g_clear_pointer(&sg, sg_free);
    daemon_stop(vd);
}

/* The stock null PCM: playback completes, capture is digital silence in
 * every byte the guest gave (the fake guest fills them with 0xee). */
static void test_alsa_null(void)
{
    if (!have_alsa())
        return;
    g_autoptr(HostAlsa) ha = ha_new();
    const char *argv[] = {"--driver=alsa,device=null", NULL};
    g_autoptr(VdProc) vd = daemon_start(argv);
    g_autoptr(SgGuest) sg = guest_boot(vd);
    gsize len = 0;
    g_autofree guint8 *tone = tone_new(441.7, RATE / 4, &len);
    g_autofree guint8 *rec = NULL;
    if (sg && guest_play(vd, sg, tone, len, FILE_PERIOD))
        rec = guest_record(vd, sg, len, FILE_PERIOD, NULL, NULL);
    if (rec) {
        g_autofree guint8 *zero = g_malloc0(len);
        judge_identical(vd, "capture from the null PCM", rec, len, zero, len);
    }
    g_clear_pointer(&sg, sg_free);
    daemon_stop(vd);
}

/* No PipeWire or PulseAudio reachable: auto picks alsa, whose default PCM
 * (the file PCM here) gets the guest's tone. */
static void test_auto_picks_alsa(void)
{
    if (!have_alsa())
        return;
    alsa_play_into_file("--driver=auto", "audio driver auto: using alsa");
}

/* ---- pulse and pipewire ----------------------------------------------------- */

typedef enum { SERVER_PULSE, SERVER_PIPEWIRE } ServerKind;

static const char *const server_names[] = {"PulseAudio", "PipeWire"};

typedef struct Server {
    ServerKind kind;
    char *dir;
    AtuEnvSaved *env;          /* what server_start() replaced */
    char *log;
    GPid pulse;
    AtuPipewire pw;
} Server;

static char *server_path(const Server *s, const char *name)
{
    return g_build_filename(s->dir, name, NULL);
}

static bool require_server(ServerKind kind)
{
    static const char *const pulse[] = {"pulseaudio", "pactl", "parec", "paplay", NULL};
    static const char *const pipewire[] = {"pipewire", "wireplumber", "pw-record", "pw-play",
                                           "pw-link", "pw-metadata", NULL};
    if (!vd_require() || !atu_have_module(kind == SERVER_PULSE ? "pulse" : "pipewire",
                                          "its development package is missing"))
        return false;
    g_autoptr(GString) missing = g_string_new(NULL);
    for (const char *const *p = kind == SERVER_PULSE ? pulse : pipewire; *p; p++) {
        g_autofree char *path = atu_find_program(*p);
        if (!path)
            g_string_append_printf(missing, " %s", *p);
    }
    if (!missing->len)
        return true;
    /* build-aux/install-deps.sh installs them: a machine without is not
     * set up, and the module would go untested in its daemon */
    g_test_fail_printf("%s: missing%s", server_names[kind], missing->str);
    return false;
}

static bool server_start(Server *s, ServerKind kind)
{
    memset(s, 0, sizeof *s);
    s->kind = kind;
    s->dir = atu_tmpdir("vsnd-drivers-XXXXXX");
    s->env = atu_env_save(env_names);
    s->log = server_path(s, "servers.log");
    g_autofree char *home = server_path(s, "home");
    g_assert_cmpint(g_mkdir_with_parents(home, 0700), ==, 0);
    g_setenv("HOME", home, TRUE);
    if (kind == SERVER_PULSE) {
        g_autofree char *run = server_path(s, "run");
        g_autofree char *config = server_path(s, "config");
        g_autofree char *server = g_strdup_printf("unix:%s/native", s->dir);
        g_assert_cmpint(g_mkdir_with_parents(run, 0700), ==, 0);
        g_assert_cmpint(g_mkdir_with_parents(config, 0700), ==, 0);
        g_setenv("XDG_RUNTIME_DIR", run, TRUE);
        g_setenv("XDG_CONFIG_HOME", config, TRUE); /* the cookie */
        g_setenv("PULSE_SERVER", server, TRUE);
        unset("PULSE_SINK");
        unset("PULSE_SOURCE");
        s->pulse = atu_pulse_start(s->dir, s->log);
        return true;
    }
    unset("PULSE_SERVER");
    atu_pipewire_env(s->dir);
    /* info level: the server then logs the clients that were too slow for
     * a cycle (its xruns); the daemon and the tools stay quiet */
    g_setenv("PIPEWIRE_DEBUG", "3", TRUE);
    bool up = atu_pipewire_start(&s->pw, s->log, 20.0);
    unset("PIPEWIRE_DEBUG");
    return up;
}

static void server_stop(Server *s)
{
    if (s->kind == SERVER_PULSE)
        atu_stop(s->pulse, SIGTERM);
    else
        atu_pipewire_stop(&s->pw);
    if (g_test_failed()) {
        g_autofree char *log = NULL;
        g_file_get_contents(s->log, &log, NULL, NULL);
        gsize l = log ? strlen(log) : 0;
        g_test_message("server log (tail):\n%s", log ? log + (l > 3000 ? l - 3000 : 0) : "");
    }
    g_free(s->log);
    atu_env_restore(s->env);
    atu_rmdir(s->dir);
    g_free(s->dir);
}

/*
 * Why the server may have lost frames of the daemon's stream: PipeWire
 * logged it as too slow for a graph cycle (its data thread came late,
 * which a loaded machine without real-time scheduling does; the cycle's
 * data is then lost in the graph).  Return: the excuse, or NULL.
 */
static char *server_xruns(Server *s)
{
    g_autofree char *log = NULL;
    if (s->kind != SERVER_PIPEWIRE || !g_file_get_contents(s->log, &log, NULL, NULL))
        return NULL;
    unsigned int n = 0;
    g_auto(GStrv) lines = g_strsplit(log, "\n", -1);
    for (char **l = lines; *l; l++)
        n += strstr(*l, "client too slow") && strstr(*l, "(vsnd.");
    return n ? g_strdup_printf("PipeWire logged the daemon's stream too slow for %u graph "
                               "cycles", n)
             : NULL;
}

/* Record the null sink's monitor into @path; return once the recorder is
 * connected (0 after failing the test). */
static GPid monitor_record(Server *s, const char *path)
{
    GPid pid;
    bool ok;
    if (s->kind == SERVER_PULSE) {
        const char *argv[] = {"parec", "-d", "test.monitor", "--format=s16le", "--rate=48000",
                              "--channels=2", "--file-format=wav", "--latency-msec=20", path,
                              NULL};
        const char *outs[] = {"pactl", "list", "short", "source-outputs", NULL};
        pid = atu_spawn(argv, s->log);
        ok = atu_wait_output(outs, "s16le 2ch 48000Hz", 10.0);
    } else {
        const char *argv[] = {"pw-record", "--rate", "48000", "--channels", "2", "--format", "s16",
                              "--target", "test_sink", "-P",
                              "{ stream.capture.sink = true node.name = vsnd-drivers-rec }", path,
                              NULL};
        const char *links[] = {"pw-link", "-l", NULL};
        pid = atu_spawn(argv, s->log);
        ok = atu_wait_output(links, "vsnd-drivers-rec:input_FR", 10.0);
    }
    if (!ok) {
        atu_stop(pid, SIGINT);
        g_test_fail_printf("%s: the monitor recorder did not connect", server_names[s->kind]);
        return 0;
    }
    return pid;
}

/* The guest's tone reaches the null sink: the monitor recording holds it
 * whole, then only silence. */
static void server_playback(Server *s, VdProc *vd, SgGuest *sg)
{
    g_autofree char *path = server_path(s, "monitor.wav");
    GPid rec = monitor_record(s, path);
    if (!rec)
        return;
    gsize len = 0;
    /* a whole number of periods, and of PipeWire quanta (1024 frames) not:
     * the last period must arrive too */
    g_autofree guint8 *tone = tone_new(441.7, RATE, &len);
    bool played = guest_play(vd, sg, tone, len, SERVER_PERIOD);
    /* the server's latency, then some */
    g_usleep(500 * 1000);
    atu_stop(rec, SIGINT); /* the recorders finish their WAV header on SIGINT */
    if (!played)
        return;
    g_autoptr(GError) err = NULL;
    g_autoptr(JudgeWav) wav = judge_wav_load(path, &err);
    if (!wav) {
        g_test_fail_printf("%s: the monitor recording: %s", server_names[s->kind], err->message);
        return;
    }
    g_assert_cmpint(wav->format, ==, JUDGE_FORMAT_S16_LE);
    g_assert_cmpuint(wav->channels, ==, CH);
    g_assert_cmpuint(wav->rate, ==, RATE);
    g_autofree char *what = g_strdup_printf("%s playback, the sink's monitor",
                                            server_names[s->kind]);
    g_autofree char *excuse = server_xruns(s);
    judge_tone_in(vd, what, tone, len, wav->data, wav->data_len, true, excuse);
}

typedef struct HostPlayer {
    Server *s;
    const char *path;
    GPid pid;
} HostPlayer;

/* Once the guest has recorded 0.3 s (its stream is connected: data
 * flows), the host plays the tone into the sink. */
static void host_play_hook(unsigned int n, void *data)
{
    HostPlayer *p = data;
    if (n != 3 || p->pid)
        return;
    const char *pulse[] = {"paplay", "-d", "test", p->path, NULL};
    const char *pipewire[] = {"pw-play", "--target", "test_sink", p->path, NULL};
    p->pid = atu_spawn(p->s->kind == SERVER_PULSE ? pulse : pipewire, p->s->log);
}

/* A tone played into the sink on the host is in the guest's recording of
 * the default source (the sink's monitor), bit for bit. */
static void server_capture(Server *s, VdProc *vd, SgGuest *sg)
{
    const gsize frames = RATE / 2, pad = RATE / 20;
    gsize len = 0;
    g_autofree guint8 *tone = tone_new(887.3, frames, &len);
    /* padded with more than a quantum: pw-play drops a last partial one */
    g_autofree guint8 *padded = g_malloc0(len + 2 * pad * FRAME);
    memcpy(padded + pad * FRAME, tone, len);
    g_autofree char *path = server_path(s, "host-tone.wav");
    g_autoptr(GError) err = NULL;
    g_assert_true(judge_wav_save(path, JUDGE_FORMAT_S16_LE, CH, RATE, padded,
                                 len + 2 * pad * FRAME, JUDGE_WAV_DEFAULT, &err));
    HostPlayer p = {.s = s, .path = path};
    /* 2 s: the tone starts after 0.3 s and lasts 0.6 s with its padding */
    g_autofree guint8 *rec = guest_record(vd, sg, 20 * (gsize)SERVER_PERIOD, SERVER_PERIOD,
                                          host_play_hook, &p);
    atu_stop(p.pid, SIGTERM); /* long done unless something hangs */
    if (!rec)
        return;
    g_autofree char *what = g_strdup_printf("%s capture, the guest's recording",
                                            server_names[s->kind]);
    g_autofree char *excuse = server_xruns(s);
    judge_tone_in(vd, what, tone, len, rec, 20 * (gsize)SERVER_PERIOD, false, excuse);
}

static void server_case(ServerKind kind)
{
    if (!require_server(kind))
        return;
    Server s;
    if (server_start(&s, kind)) {
        const char *argv[] = {kind == SERVER_PULSE ? "--driver=pulse" : "--driver=pipewire",
                              NULL};
        g_autoptr(VdProc) vd = daemon_start(argv);
        g_autoptr(SgGuest) sg = guest_boot(vd);
        if (sg)
            server_playback(&s, vd, sg);
        if (sg && !g_test_failed())
            server_capture(&s, vd, sg);
        g_clear_pointer(&sg, sg_free);
        daemon_stop(vd);
    }
    server_stop(&s);
}

static void test_pulse(void)
{
    server_case(SERVER_PULSE);
}

static void test_pipewire(void)
{
    server_case(SERVER_PIPEWIRE);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    signal(SIGPIPE, SIG_IGN);
    g_test_add_func("/integration/drivers/alsa/file-pcm/playback-bit-exact",
                    test_alsa_file_playback);
    g_test_add_func("/integration/drivers/alsa/file-pcm/capture-bit-exact",
                    test_alsa_file_capture);
    g_test_add_func("/integration/drivers/alsa/null-pcm/play-and-record-silence", test_alsa_null);
    g_test_add_func("/integration/drivers/auto/only-alsa-picks-alsa", test_auto_picks_alsa);
    g_test_add_func("/integration/drivers/pulse/play-and-record", test_pulse);
    g_test_add_func("/integration/drivers/pipewire/play-and-record", test_pipewire);
    return g_test_run();
}
