/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-guest-restart.c - the back-end daemon is killed (SIGKILL) while a
 * real Linux guest plays, and started again with the same socket and
 * --state-file; QEMU reconnects (chardev reconnect-ms) and hands the
 * inflight region back, and the guest plays on (make check-guest-migrate).
 *
 * QEMU releases cannot reconnect a vhost-user-snd device (issue 11): this
 * needs a QEMU with contrib/qemu's patches, named by $VSND_QEMU_PATCHED.
 * Without it the program fails, like test-guest-migrate.
 *
 * Judged on samples: the wav files of the daemon's two lives, one after
 * the other, hold the tone exactly once (nothing lost, no period twice),
 * and the time between the first life's last and the second life's first
 * written frame is at most the restart time (SIGKILL to the rings restored
 * on the new daemon, QEMU's reconnect-ms included) plus one period.
 *
 * A second scenario records, through the proxy of harness/qemu-sequence.h,
 * what this QEMU sends at boot and to the restarted daemon
 * (tests/data/qemu-sequences/restart-boot.txt, restart-reconnect.txt, which
 * test-integration-qemu-replay replays); VSND_SEQ_CAPTURE=<dir> writes them
 * there instead of comparing.
 */
#include "config.h"

#include "capture-switch.h"
#include "guest-test.h"
#include "harness/qemu-sequence.h"
#include "judge/audio-judge.h"
#include "wav-growth.h"

#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>

#define RATE GT_RATE
#define FRAME_BYTES 4
#define PERIOD_FRAMES 4800 /* 100 ms: aplay is told so */
#define PERIOD_MS 100
/* A 1 s buffer: ALSA fails a write (EIO) when no period elapses within
 * 1.1 x the buffer time, so a guest rides over a restart only if QEMU has
 * reconnected by then (with aplay's default 0.4 s buffer, a 1 s
 * reconnect-ms gives EIO).  Linux's virtio_snd grants a capture buffer this
 * long only with GV_SWITCH_KERNEL_ARGS. */
#define APLAY_OPTS "-D hw:0,0 --period-size=4800 --buffer-size=48000"
/* QEMU retries the connection this often once the back-end is gone. */
#define RECONNECT_MS 250
/* Allowance for the scheduling of 2 cores shared by a TCG guest, QEMU and
 * the daemon: what the measurement itself may add. */
#define SLACK_MS 150

static const char *patched_qemu(void)
{
    const char *q = g_getenv("VSND_QEMU_PATCHED");
    return q && *q ? q : NULL;
}

/* ---- the daemon's two lives ---------------------------------------------- */

typedef struct {
    GtEnv env;          /* the guest, and the daemon's first life */
    QsProxy *proxy;     /* between QEMU and the daemon, when recording */
    VdProc *second;     /* its second life, on the first one's socket */
    char *dir;          /* holds the state file and each life's wav file */
    char *state_arg;    /* --state-file=... */
    char *wav[2];       /* each life's stream-0.wav */
    char *driver[2];    /* each life's --driver=wav,dir=... */
    gint64 listen_ms;   /* SIGKILL to the second life's listening socket */
    gint64 killed_tod;  /* local time of day (ms) of the SIGKILL */
    gint64 killed;      /* monotonic µs of the SIGKILL */
} Restart;

/* @driver_opts: appended to each life's --driver=wav,dir=... (may be ""). */
static bool restart_begin(Restart *r, const char *kernel, GvFile *files, size_t n_files,
                          bool record, const char *driver_opts)
{
    memset(r, 0, sizeof *r);
    r->dir = g_dir_make_tmp("vsnd-restart-XXXXXX", NULL);
    g_autofree char *state = g_build_filename(r->dir, "state", NULL);
    r->state_arg = g_strdup_printf("--state-file=%s", state);
    for (int i = 0; i < 2; i++) {
        g_autofree char *sub = g_build_filename(r->dir, i ? "second" : "first", NULL);
        g_mkdir(sub, 0700);
        r->wav[i] = g_build_filename(sub, "stream-0.wav", NULL);
        r->driver[i] = g_strdup_printf("--driver=wav,dir=%s%s", sub, driver_opts);
    }
    const char *args[] = {r->driver[0], r->state_arg, NULL};
    GvConfig cfg = {.files = files, .n_files = n_files, .qemu = patched_qemu(),
                    .reconnect_ms = RECONNECT_MS, .kernel_args = GV_SWITCH_KERNEL_ARGS};
    if (!record)
        return gt_start(&r->env, kernel, args, &cfg);
    /* gt_start() with the proxy in front of the daemon */
    g_autoptr(GError) error = NULL;
    const char *vargs[] = {"-v", args[0], args[1], NULL};
    r->env.kernel = kernel;
    r->env.daemon = vd_spawn_ready_argv(vargs, &error);
    if (r->env.daemon)
        r->proxy = qs_proxy_new(vd_socket_path(r->env.daemon), &error);
    if (r->proxy) {
        cfg.kernel = kernel;
        cfg.socket_path = qs_proxy_path(r->proxy);
        r->env.vm = gv_start(&cfg, &error);
    }
    if (error) {
        gt_fail_with_logs(&r->env, error->message);
        return false;
    }
    return true;
}

static bool socket_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISSOCK(st.st_mode);
}

/* SIGKILL the first life, start the second on the same socket and state
 * file (its wav file is another one). */
static bool restart_daemon(Restart *r)
{
    const char *sock = vd_socket_path(r->env.daemon);
    gint64 killed = g_get_monotonic_time();
    r->killed = killed;
    g_autoptr(GDateTime) now = g_date_time_new_now_local();
    r->killed_tod = (gint64)g_date_time_get_hour(now) * 3600000 +
                    (gint64)g_date_time_get_minute(now) * 60000 +
                    (gint64)(g_date_time_get_seconds(now) * 1000);
    int st = vd_signal_wait(r->env.daemon, SIGKILL, 5000);
    if (st < 0 || !WIFSIGNALED(st)) {
        gt_fail_with_logs(&r->env, "the daemon did not die of SIGKILL");
        return false;
    }
    /* what a service manager restarting it would find: the stale socket
     * file, which the daemon replaces; removed here only so that its
     * reappearance says the second life listens */
    g_unlink(sock);
    g_autofree char *sock_arg = g_strdup_printf("--socket-path=%s", sock);
    const char *args[] = {"-v", sock_arg, r->driver[1], r->state_arg, NULL};
    g_autoptr(GError) error = NULL;
    r->second = vd_spawn(VD_LISTEN_NONE, args, &error);
    if (!r->second) {
        gt_fail_with_logs(&r->env, error->message);
        return false;
    }
    while (!socket_exists(sock) && vd_alive(r->second) &&
           g_get_monotonic_time() - killed < 10 * G_USEC_PER_SEC)
        g_usleep(2000);
    r->listen_ms = (g_get_monotonic_time() - killed) / 1000;
    if (!socket_exists(sock)) {
        g_autofree char *log = vd_stderr(r->second);
        g_autofree char *what = g_strdup_printf("the second daemon does not listen:\n%s", log);
        gt_fail_with_logs(&r->env, what);
        return false;
    }
    return true;
}

/* The guest gone, the second life must exit cleanly on SIGTERM. */
static void restart_end(Restart *r)
{
    if (r->env.vm) {
        gv_stop(r->env.vm, 10000);
        g_clear_pointer(&r->env.vm, gv_free);
    }
    g_clear_pointer(&r->proxy, qs_proxy_free);
    if (r->second) {
        g_autofree char *log = vd_stderr(r->second);
        int st = vd_alive(r->second) ? vd_terminate(r->second, 5000) : -1;
        if (st < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
            g_test_fail_printf("the restarted daemon did not exit cleanly (status %d):\n%s", st,
                               log);
        g_clear_pointer(&r->second, vd_free);
    }
    g_clear_pointer(&r->env.daemon, vd_free); /* killed: no exit check */
    g_autofree char *state = g_build_filename(r->dir, "state", NULL);
    g_unlink(state);
    for (int i = 0; i < 2; i++) {
        g_unlink(r->wav[i]);
        g_autofree char *sub = g_path_get_dirname(r->wav[i]);
        g_rmdir(sub);
        g_free(r->wav[i]);
        g_free(r->driver[i]);
    }
    g_rmdir(r->dir);
    g_free(r->dir);
    g_free(r->state_arg);
}

/* ---- the judgement ------------------------------------------------------- */

/* The local time of day (ms) of the first line of @log that holds @what
 * (GLib's "HH:MM:SS.mmm: " stamp), or -1. */
static gint64 log_time_of(const char *log, const char *what)
{
    const char *hit = strstr(log, what);
    if (!hit)
        return -1;
    const char *line = hit;
    while (line > log && line[-1] != '\n')
        line--;
    unsigned int h, m, sec, ms;
    for (const char *p = line; p < hit; p++)
        if (sscanf(p, "%2u:%2u:%2u.%3u: ", &h, &m, &sec, &ms) == 4 && p[2] == ':')
            return (gint64)h * 3600000 + (gint64)m * 60000 + sec * 1000 + ms;
    return -1;
}

/* SIGKILL to the restarted daemon's last ring started (QEMU reconnected
 * and restored the rings): the restart as the guest lives it. */
static gint64 restart_ms(const Restart *r)
{
    g_autofree char *log = vd_stderr(r->second);
    gint64 t = log_time_of(log, "queue 3 started");
    if (t < 0)
        return -1;
    if (t < r->killed_tod)
        t += 24 * 3600000; /* midnight passed */
    return t - r->killed_tod;
}

static void playback_judge(Restart *r, GBytes *tone, const WavGrowth *g)
{
    g_autofree char *out = NULL;
    int st = gv_wait(r->env.vm, &out, 60);
    g_autoptr(GBytes) a = wav_samples_so_far(g->paths[0], FRAME_BYTES);
    g_autoptr(GBytes) b = wav_samples_so_far(g->paths[1], FRAME_BYTES);
    gsize a_len, b_len, len;
    const guint8 *a_data = g_bytes_get_data(a, &a_len);
    const guint8 *b_data = g_bytes_get_data(b, &b_len);
    const guint8 *data = g_bytes_get_data(tone, &len);
    g_autoptr(GByteArray) both = g_byte_array_new();
    g_byte_array_append(both, a_data, (guint)a_len);
    g_byte_array_append(both, b_data, (guint)b_len);
    JudgeFind f;
    judge_find(JUDGE_FORMAT_S16_LE, 2, data, len, both->data, both->len, &f);
    g_autoptr(GString) desc = g_string_new(NULL);
    judge_describe_find(desc, &f);
    /* aplay pads its last period with silence: up to one period more */
    bool once = f.whole && f.b_offset == f.a_offset &&
                both->len - len < (gsize)PERIOD_FRAMES * FRAME_BYTES + 1;
    gint64 gap_ms = wav_growth_gap_ms(g);
    /* The wav driver takes audio one to two periods ahead of playing it
     * (its paced two-period buffer): the first life's last write still
     * played for at least a period, so the listener's silence is at most
     * the files' gap less one period. */
    gint64 silence_ms = gap_ms - PERIOD_MS;
    gint64 restart = restart_ms(r);
    gint64 allowed_ms = restart + PERIOD_MS + SLACK_MS;
    g_test_message("restart mid-playback: SIGKILL to the new daemon listening %" G_GINT64_FORMAT
                   " ms, to its rings restored (QEMU reconnect-ms=%d) %" G_GINT64_FORMAT
                   " ms; last write %" G_GINT64_FORMAT " ms before the SIGKILL; files' gap %"
                   G_GINT64_FORMAT " ms, silence <= %" G_GINT64_FORMAT
                   " ms (allowed %" G_GINT64_FORMAT " ms); first life wrote %zu bytes, second "
                   "%zu, the tone is %zu; aplay %d: %s; tone: %s",
                   r->listen_ms, RECONNECT_MS, restart, (r->killed - g->last_grow[0]) / 1000, gap_ms,
                   silence_ms, allowed_ms, a_len, b_len, len,
                   st, out,
                   desc->str);
    g_autoptr(GString) why = g_string_new(NULL);
    if (st != 0 || strstr(out, "rror"))
        g_string_append_printf(why, "aplay: status %d: %s; ", st, out);
    if (b_len == 0)
        g_string_append(why, "the restarted daemon wrote no frame; ");
    if (!once)
        g_string_append_printf(why, "first + second life is not the tone once (%u bytes for "
                               "%zu): %s; ", both->len, len, desc->str);
    if (restart < 0)
        g_string_append(why, "the restarted daemon did not start its rings; ");
    else if (gap_ms < 0 || silence_ms > allowed_ms)
        g_string_append_printf(why, "silence %" G_GINT64_FORMAT " ms > restart %" G_GINT64_FORMAT
                               " + period %d ms; ", silence_ms, restart, PERIOD_MS);
    if (why->len) {
        g_autofree char *log = vd_stderr(r->second);
        size_t l = strlen(log);
        g_string_append_printf(why, "\n--- restarted daemon (tail):\n%s",
                               log + (l > 6000 ? l - 6000 : 0));
        gt_fail_with_logs(&r->env, why->str);
    }
}

/*
 * 1. SIGKILL 3 s into a 20 s tone, restart at once.  The first life's file
 * followed by the second's is the tone, byte for byte and exactly once;
 * the second's first frame comes at most restart + reconnect + one period
 * after the first's last; aplay ends without error.
 */
static void test_playback(const char *kernel)
{
    g_autoptr(GBytes) tone = NULL;
    GvFile files[] = {gt_tone_wav("/data/long.wav", 440, 20, &tone)};
    Restart r;
    if (restart_begin(&r, kernel, files, G_N_ELEMENTS(files), false, "")) {
        WavGrowth g;
        wav_growth_start(&g, r.wav[0], r.wav[1]);
        gv_send(r.env.vm, "aplay " APLAY_OPTS " /data/long.wav 2>&1");
        g_usleep(3 * G_USEC_PER_SEC);
        if (restart_daemon(&r)) {
            g_usleep(3 * G_USEC_PER_SEC);
            wav_growth_stop(&g);
            playback_judge(&r, tone, &g);
        }
        wav_growth_clear(&g);
    }
    restart_end(&r);
    g_bytes_unref(files[0].contents);
}

/*
 * 2. SIGKILL 2.5 s into a 20 s recording of the host's tone (each life
 * reads it from its start), restart at once.  The recording is 20 s; it
 * begins with the first life's input exactly; its silence is at most the
 * restart + one period; then comes the second life's input, exactly.  The
 * guest must have granted arecord its 1 s buffer (GV_SWITCH_KERNEL_ARGS).
 */
static void capture_judge(Restart *r, const guint8 *src, gsize src_len);

static void test_capture(const char *kernel)
{
    g_autoptr(GBytes) raw = NULL;
    GvFile tone = gt_tone_wav("/unused.wav", 1000, 30, &raw);
    g_autofree char *dir = g_dir_make_tmp("vsnd-restart-in-XXXXXX", NULL);
    g_autofree char *in = g_build_filename(dir, "in.wav", NULL);
    gsize tlen = 0;
    const char *tdata = g_bytes_get_data(tone.contents, &tlen);
    g_assert_true(g_file_set_contents(in, tdata, (gssize)tlen, NULL));
    g_autofree char *opts = g_strdup_printf(",in=%s", in);
    Restart r;
    if (restart_begin(&r, kernel, NULL, 0, false, opts)) {
        gv_send(r.env.vm, "arecord -q " APLAY_OPTS " -f S16_LE -c 2 -r 48000 -d 20 /out/rec.wav &"
                          GT_NOTE_CAPTURE_PARAMS);
        g_usleep(2500 * 1000);
        if (restart_daemon(&r)) {
            gsize len = 0;
            const guint8 *data = g_bytes_get_data(raw, &len);
            capture_judge(&r, data, len);
        }
    }
    restart_end(&r);
    g_bytes_unref(tone.contents);
    g_unlink(in);
    g_rmdir(dir);
}

static void capture_judge(Restart *r, const guint8 *src, gsize src_len)
{
    g_autofree char *out = NULL;
    int st = gv_wait(r->env.vm, &out, 60);
    g_autoptr(GString) why = g_string_new(NULL);
    g_autoptr(GString) desc = g_string_new(NULL);
    g_autoptr(JudgeWav) w = NULL;
    /* GV_SWITCH_KERNEL_ARGS: without it Linux grants 160 ms, and the
     * read fails with EIO some 140 ms after the SIGKILL; with it 0.96 s
     * (whole periods of 80 ms) */
    long buffer = gt_capture_buffer_frames(r->env.vm);
    if (buffer < RATE * 9 / 10)
        g_string_append_printf(why, "the guest granted a %ld-frame buffer, not 1 s; ", buffer);
    if (st != 0) {
        g_string_append_printf(why, "arecord: status %d: %s; ", st, out);
    } else {
        g_autoptr(GError) error = NULL;
        g_autoptr(GBytes) rec = gv_fetch(r->env.vm, "/out/rec.wav", &error);
        gsize rlen = 0;
        const void *rdata = rec ? g_bytes_get_data(rec, &rlen) : NULL;
        w = rec ? judge_wav_parse(rdata, rlen, &error) : NULL;
        if (!w)
            g_string_append_printf(why, "no recording: %s; ", error ? error->message : "");
    }
    gint64 restart = restart_ms(r);
    if (w) {
        CaptureSwitch cs;
        capture_switch_judge(w->data, w->data_len, src, src_len, &cs, desc);
        g_test_message("restart mid-capture: SIGKILL to the rings restored %" G_GINT64_FORMAT
                       " ms; %s", restart, desc->str);
        if (w->data_len != (gsize)20 * RATE * FRAME_BYTES)
            g_string_append(why, "the recording is not 20 s; ");
        if (cs.head < (gsize)2 * RATE * FRAME_BYTES)
            g_string_append(why, "less than 2 s from the first life; ");
        if (!cs.tail_find.whole)
            g_string_append(why, "after the restart: not the second life's input; ");
        if (restart < 0 || (gint64)cs.silent_ms > restart + PERIOD_MS + SLACK_MS)
            g_string_append(why, "the silence is longer than the restart + one period; ");
    }
    if (why->len) {
        g_string_append(why, desc->str);
        g_autofree char *log = vd_stderr(r->second);
        size_t l = strlen(log);
        g_autofree char *glog = NULL;
        gv_run(r->env.vm, "dmesg | tail -20", &glog, 20);
        g_string_append_printf(why, "\n--- restarted daemon (tail):\n%s\n--- guest log:\n%s",
                               log + (l > 6000 ? l - 6000 : 0), glog);
        gt_fail_with_logs(&r->env, why->str);
    }
}

/* ---- the sequences --------------------------------------------------------- */

/*
 * One phase: wait until QEMU is quiet, then compare what the proxy saw with
 * tests/data/qemu-sequences/@phase.txt (QEMU's own requests; the guest's
 * control requests the replay needs are kept in the file) and the daemon
 * @vd's log from @log_from with the request names of that file.
 */
static void sequence_check(Restart *r, VdProc *vd, size_t log_from, const char *phase)
{
    qs_proxy_settle(r->proxy, 1500, 30000);
    g_autofree char *taken = qs_proxy_take(r->proxy);
    /* the proxy notes the daemon's death: the test's act, not QEMU's */
    g_auto(GStrv) lines = g_strsplit(taken, "\n", -1);
    g_autoptr(GString) kept = g_string_new(NULL);
    for (char **l = lines; *l; l++)
        if (**l && strcmp(*l, "BACKEND-CLOSED"))
            g_string_append_printf(kept, "%s\n", *l);
    g_autofree char *got = g_string_free(g_steal_pointer(&kept), FALSE);
    g_test_message("%s (%s):\n%s", phase, r->env.kernel, got);
    const char *capture = g_getenv("VSND_SEQ_CAPTURE");
    if (capture) {
        g_autofree char *file = g_strdup_printf("%s/%s-%s.txt", capture, phase, r->env.kernel);
        g_assert_true(g_file_set_contents(file, got, -1, NULL));
        return;
    }
    g_autoptr(GError) error = NULL;
    g_autofree char *want_text = qs_load(phase, &error);
    if (!want_text) {
        g_test_fail_printf("%s: %s", phase, error->message);
        return;
    }
    g_autoptr(GPtrArray) want = qs_lines(want_text, true);
    g_autoptr(GPtrArray) have = qs_lines(got, true);
    g_autofree char *d = qs_diff(want, have);
    if (d)
        g_test_fail_printf("QEMU's %s sequence changed (kernel %s):\n%s", phase, r->env.kernel, d);
    g_autofree char *log = vd_stderr(vd);
    g_autoptr(GPtrArray) names = qs_names(want_text);
    g_autoptr(GPtrArray) logged = qs_log_requests(log, log_from);
    g_autofree char *d2 = qs_diff(names, logged);
    if (d2)
        g_test_fail_printf("the daemon's -v log for %s (kernel %s) does not name the requests "
                           "of the sequence:\n%s", phase, r->env.kernel, d2);
}

/*
 * 3. Boot, play, SIGKILL, restart: QEMU's requests at boot and to the
 * restarted daemon are those recorded (GET_INFLIGHT_FD at the first start,
 * SET_INFLIGHT_FD of the same region on the new connection), and the
 * restarted daemon names them in its log.
 */
static void test_sequence(const char *kernel)
{
    Restart r;
    if (restart_begin(&r, kernel, NULL, 0, true, "")) {
        sequence_check(&r, r.env.daemon, 0, "restart-boot");
        gv_send(r.env.vm, "aplay -q " APLAY_OPTS " -f S16_LE -r 48000 -c 2 -d 8 /dev/zero");
        g_usleep(2 * G_USEC_PER_SEC);
        qs_proxy_settle(r.proxy, 300, 5000);
        g_free(qs_proxy_take(r.proxy)); /* the guest's playback: not in a file */
        if (restart_daemon(&r)) {
            /* quiet since the boot: wait for QEMU to come back first */
            for (int i = 0; i < 1000; i++) {
                g_autofree char *log = vd_stderr(r.second);
                if (strstr(log, "front-end connected"))
                    break;
                g_usleep(10000);
            }
            sequence_check(&r, r.second, 0, "restart-reconnect");
            g_autofree char *out = NULL;
            int st = gv_wait(r.env.vm, &out, 30);
            if (st != 0)
                gt_fail_with_logs(&r.env, "aplay failed across the restart");
        }
    }
    restart_end(&r);
}

int main(int argc, char **argv)
{
    gt_init(&argc, &argv);
    if (!patched_qemu()) {
        /* run only by make check-guest-migrate, which needs the variable */
        g_printerr("test-guest-restart: $VSND_QEMU_PATCHED must name a QEMU built with "
                   "contrib/qemu's patches\n");
        return 1;
    }
    gt_add("restart-playback", test_playback);
    gt_add("restart-capture", test_capture);
    gt_add("restart-sequence", test_sequence);
    return g_test_run();
}
