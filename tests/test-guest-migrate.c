/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-guest-migrate.c - live migration of a real Linux guest while it
 * plays or records, between two QEMUs that carry contrib/qemu's patches,
 * each with its own daemon (make check-guest-migrate).
 *
 * QEMU releases mark vhost-user-snd unmigratable, so these scenarios need a
 * patched QEMU named by $VSND_QEMU_PATCHED (a binary, or a wrapper that adds
 * its firmware directory).  Without it the program fails: it is run only by
 * its own make target, never skipped in silence.
 *
 * Judged on samples: the daemons' wav files (playback) or the guest's
 * recording (capture), with the time between the source's last and the
 * destination's first written frame measured against QEMU's downtime.
 */
#include "config.h"

#include "guest-test.h"
#include "harness/qemu-sequence.h"
#include "judge/audio-judge.h"
#include "judge/wav-file.h"
#include "capture-switch.h"
#include "wav-growth.h"

#include <glib/gstdio.h>
#include <string.h>

#define RATE 48000
#define FRAME_BYTES 4
#define PERIOD_FRAMES 4800 /* 100 ms: aplay/arecord are told so */
#define PERIOD_MS 100
#define APLAY_OPTS "-D hw:0,0 --period-size=4800 --buffer-size=19200"

/* Allowance for the scheduling of 2 cores shared by a TCG guest and two
 * QEMUs: what the measurement itself may add to downtime + one period. */
#define SLACK_MS 150

static const char *patched_qemu(void)
{
    const char *q = g_getenv("VSND_QEMU_PATCHED");
    return q && *q ? q : NULL;
}

/* A stepped tone of @seconds; *raw gets its samples. */
static guint8 *tone_new(double hz, double seconds, gsize *len)
{
    JudgeToneSpec t = {.format = JUDGE_FORMAT_S16_LE, .channels = 2, .rate = RATE,
                       .freq_hz = hz, .freq_step_hz = 110, .level_dbfs = -6};
    return judge_tone_new(&t, (gsize)(seconds * RATE), len);
}

static GvFile tone_file(const char *path, double hz, double seconds, GBytes **raw)
{
    gsize len = 0;
    guint8 *data = tone_new(hz, seconds, &len);
    gsize wlen = 0;
    guint8 *w = judge_wav_build(JUDGE_FORMAT_S16_LE, 2, RATE, data, len, JUDGE_WAV_DEFAULT,
                                &wlen, NULL);
    g_assert_nonnull(w);
    *raw = g_bytes_new_take(data, len);
    return (GvFile){.path = path, .contents = g_bytes_new_take(w, wlen)};
}

/* ---- two sides -------------------------------------------------------- */

typedef struct {
    GtEnv src;
    VdProc *dst_daemon;
    GuestVm *dst_vm;
    GvConfig cfg;
    char *uri;
    char *dir;
    QsProxy *proxy; /* between the source QEMU and its daemon, if asked */
} Mig;

/* Source and destination, each QEMU with its own daemon (-v); with
 * @proxied the source QEMU talks to its daemon through a recording proxy
 * (harness/qemu-sequence.h). */
static void mig_finish(Mig *m);

static bool mig_start_ex(Mig *m, const char *kernel, const char *const *args, const GvConfig *cfg,
                         bool proxied)
{
    memset(m, 0, sizeof *m);
    m->cfg = *cfg;
    m->cfg.qemu = patched_qemu();
    m->cfg.kernel = kernel;
    m->cfg.kernel_args = GV_SWITCH_KERNEL_ARGS;
    g_autoptr(GError) error = NULL;
    g_autoptr(GPtrArray) a = g_ptr_array_new();
    g_ptr_array_add(a, (gpointer) "-v");
    for (size_t i = 0; args[i]; i++)
        g_ptr_array_add(a, (gpointer)args[i]);
    g_ptr_array_add(a, NULL);
    m->src.kernel = kernel;
    m->src.daemon = vd_spawn_ready_argv((const char *const *)a->pdata, &error);
    if (!m->src.daemon) {
        g_test_fail_printf("source daemon: %s", error->message);
        mig_finish(m);
        return false;
    }
    GvConfig s = m->cfg;
    s.socket_path = vd_socket_path(m->src.daemon);
    if (proxied) {
        m->proxy = qs_proxy_new(s.socket_path, &error);
        g_assert_no_error(error);
        s.socket_path = qs_proxy_path(m->proxy);
    }
    m->src.vm = gv_start(&s, &error);
    if (!m->src.vm) {
        gt_fail_with_logs(&m->src, error->message);
        mig_finish(m);
        return false;
    }
    m->dst_daemon = vd_spawn_ready_argv((const char *const *)a->pdata, &error);
    if (!m->dst_daemon) {
        gt_fail_with_logs(&m->src, error->message);
        mig_finish(m);
        return false;
    }
    m->dir = g_dir_make_tmp("vsnd-mig-XXXXXX", NULL);
    m->uri = g_strdup_printf("unix:%s/mig.sock", m->dir);
    GvConfig d = m->cfg;
    d.socket_path = vd_socket_path(m->dst_daemon);
    d.name = "destination";
    m->dst_vm = gv_start_incoming(&d, m->src.vm, m->uri, &error);
    if (!m->dst_vm) {
        gt_fail_with_logs(&m->src, error->message);
        mig_finish(m);
        return false;
    }
    return true;
}

static bool mig_start(Mig *m, const char *kernel, const char *const *args, const GvConfig *cfg)
{
    return mig_start_ex(m, kernel, args, cfg, false);
}

/* $VSND_MIGRATE_LOGS names a directory: both daemons' whole -v logs are
 * written there (source.log, destination.log), passed or failed. */
static void mig_save_logs(Mig *m)
{
    const char *dir = g_getenv("VSND_MIGRATE_LOGS");
    if (!dir || !*dir)
        return;
    g_mkdir_with_parents(dir, 0700);
    VdProc *procs[] = {m->src.daemon, m->dst_daemon};
    const char *names[] = {"source.log", "destination.log"};
    for (int i = 0; i < 2; i++) {
        if (!procs[i])
            continue;
        g_autofree char *log = vd_stderr(procs[i]);
        g_autofree char *path = g_build_filename(dir, names[i], NULL);
        g_file_set_contents(path, log, -1, NULL);
    }
}

static void mig_finish(Mig *m)
{
    mig_save_logs(m);
    if (m->dst_vm) {
        if (gv_qemu_alive(m->dst_vm))
            gv_stop(m->dst_vm, 10000);
        g_clear_pointer(&m->dst_vm, gv_free);
    }
    if (m->dst_daemon) {
        if (!vd_alive(m->dst_daemon))
            g_test_fail_printf("the destination daemon died:\n%s", vd_stderr(m->dst_daemon));
        g_clear_pointer(&m->dst_daemon, vd_free);
    }
    if (m->src.vm && !gv_qemu_alive(m->src.vm))
        g_clear_pointer(&m->src.vm, gv_free);
    gt_finish(&m->src);
    g_clear_pointer(&m->proxy, qs_proxy_free);
    if (m->dir) {
        g_autofree char *sock = g_build_filename(m->dir, "mig.sock", NULL);
        g_unlink(sock);
        g_rmdir(m->dir);
    }
    g_free(m->dir);
    g_free(m->uri);
}

/* ---- QMP ---------------------------------------------------------------- */

/* Integer member @key of a JSON text (first occurrence), or -1. */
static gint64 json_int(const char *json, const char *key)
{
    g_autofree char *k = g_strdup_printf("\"%s\": ", key);
    const char *p = json ? strstr(json, k) : NULL;
    return p ? g_ascii_strtoll(p + strlen(k), NULL, 10) : -1;
}

/* Poll query-migrate on @vm until the status is none of the running ones.
 * Return: the last reply (the caller frees), NULL on a broken monitor. */
static char *migrate_wait(GuestVm *vm, double timeout_s)
{
    gint64 deadline = g_get_monotonic_time() + (gint64)(timeout_s * G_USEC_PER_SEC);
    for (;;) {
        g_autoptr(GError) error = NULL;
        char *r = gv_qmp(vm, "{\"execute\": \"query-migrate\"}", &error);
        if (!r)
            return NULL;
        bool running = strstr(r, "\"active\"") || strstr(r, "\"setup\"") ||
                       strstr(r, "\"device\"") || strstr(r, "\"pre-switchover\"") ||
                       strstr(r, "\"cancelling\"") || strstr(r, "\"wait-unplug\"");
        if (!running || g_get_monotonic_time() > deadline)
            return r;
        g_free(r);
        g_usleep(20000);
    }
}

static void qmp_ok(GuestVm *vm, const char *json)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *r = gv_qmp(vm, json, &error);
    g_assert_no_error(error);
}

/* QEMU's default bandwidth cap makes a 256 MiB guest take seconds: the
 * tone would end before the switch. */
static void migrate(Mig *m)
{
    qmp_ok(m->src.vm, "{\"execute\": \"migrate-set-parameters\", \"arguments\": "
                      "{\"max-bandwidth\": 4000000000}}");
    g_autofree char *cmd = g_strdup_printf(
        "{\"execute\": \"migrate\", \"arguments\": {\"uri\": \"%s\"}}", m->uri);
    qmp_ok(m->src.vm, cmd);
}

/* The guest's aplay output holds no error and its status is 0. */
static bool clean(int status, const char *out)
{
    return status == 0 && !strstr(out, "rror");
}

/*
 * 1. Migration 3 s into a 20 s tone (a TCG guest takes 4-8 s to migrate).  The source's file followed by the
 * destination's is the tone, byte for byte and exactly once (nothing lost,
 * no period twice); the destination's first frame comes at most downtime +
 * one period after the source's last; the capture volume set before the
 * migration reads back from the destination's device.
 */
static void playback_judge(Mig *m, GBytes *raw, const WavGrowth *g, gint64 downtime_ms);

static void test_playback(const char *kernel)
{
    g_autoptr(GBytes) raw = NULL;
    GvFile files[] = {tone_file("/data/long.wav", 440, 20, &raw)};
    GvConfig cfg = {.files = files, .n_files = 1, .controls = true};
    static const char *const args[] = {"--driver=wav", "--controls", NULL};
    Mig m;
    if (mig_start(&m, kernel, args, &cfg)) {
        g_autofree char *o = gt_run_ok(&m.src, "amixer -q -c 0 cset name='Capture Volume' 107", 20);
        gv_send(m.src.vm, "aplay " APLAY_OPTS " /data/long.wav 2>&1");
        g_usleep(3 * G_USEC_PER_SEC);
        WavGrowth g;
        g_autofree char *src_wav = gt_daemon_file(&m.src, "stream-0.wav");
        g_autofree char *dst_wav = g_build_filename(vd_tmpdir(m.dst_daemon), "stream-0.wav", NULL);
        wav_growth_start(&g, src_wav, dst_wav);
        migrate(&m);
        g_autofree char *r = migrate_wait(m.src.vm, 60);
        g_usleep(PERIOD_MS * 3 * 1000);
        wav_growth_stop(&g);
        g_test_message("source: %s", r);
        if (!r || !strstr(r, "\"completed\"")) {
            gt_fail_with_logs(&m.src, "the migration did not complete");
        } else {
            playback_judge(&m, raw, &g, json_int(r, "downtime"));
        }
        wav_growth_clear(&g);
        mig_finish(&m);
    }
    g_bytes_unref(files[0].contents);
}

static void playback_judge(Mig *m, GBytes *raw, const WavGrowth *g, gint64 downtime_ms)
{
    g_autofree char *out = NULL;
    int st = gv_wait(m->dst_vm, &out, 30);
    g_autofree char *vol = NULL;
    int vst = gv_run(m->dst_vm, "amixer -c 0 cget name='Capture Volume'", &vol, 20);

    g_autoptr(GBytes) a = wav_samples_so_far(g->paths[0], FRAME_BYTES);
    g_autoptr(GBytes) b = wav_samples_so_far(g->paths[1], FRAME_BYTES);
    gsize a_len, b_len;
    const guint8 *a_data = g_bytes_get_data(a, &a_len);
    const guint8 *b_data = g_bytes_get_data(b, &b_len);
    g_autoptr(GByteArray) both = g_byte_array_new();
    g_byte_array_append(both, a_data, (guint)a_len);
    g_byte_array_append(both, b_data, (guint)b_len);
    gsize len;
    const guint8 *data = g_bytes_get_data(raw, &len);
    JudgeFind f;
    judge_find(JUDGE_FORMAT_S16_LE, 2, data, len, both->data, both->len, &f);
    g_autoptr(GString) desc = g_string_new(NULL);
    judge_describe_find(desc, &f);
    /* aplay pads its last period with silence: up to one period more */
    bool once = f.whole && both->len - len < (gsize)PERIOD_FRAMES * FRAME_BYTES + 1;
    gint64 gap_ms = wav_growth_gap_ms(g);
    g_test_message("playback migration: downtime %" G_GINT64_FORMAT " ms, gap %" G_GINT64_FORMAT
                   " ms (source wrote %zu bytes, destination %zu); aplay %d: %s; tone: %s; "
                   "volume on the destination: %s",
                   downtime_ms, gap_ms, a_len, b_len, st, out,
                   desc->str, vol);
    g_autoptr(GString) why = g_string_new(NULL);
    if (!clean(st, out))
        g_string_append_printf(why, "aplay on the destination: status %d: %s; ", st, out);
    if (b_len == 0)
        g_string_append(why, "the destination wrote no frame; ");
    if (!once)
        g_string_append_printf(why, "source + destination is not the tone once (%zu bytes for %zu): "
                               "%s; ", (gsize)both->len, len, desc->str);
    if (!g->first_grow[1] || gap_ms > downtime_ms + PERIOD_MS + SLACK_MS)
        g_string_append_printf(why, "gap %" G_GINT64_FORMAT " ms > downtime %" G_GINT64_FORMAT
                               " + %d ms period; ", gap_ms, downtime_ms, PERIOD_MS);
    if (vst != 0 || !strstr(vol, ": values=107"))
        g_string_append_printf(why, "capture volume on the destination: %s; ", vol);
    if (why->len) {
        g_autofree char *dlog = vd_stderr(m->dst_daemon);
        size_t dl = strlen(dlog);
        g_autofree char *qlog = gv_qemu_log(m->dst_vm);
        g_string_append_printf(why, "\n--- destination QEMU:\n%s\n--- destination daemon (tail):\n%s",
                               qlog, dlog + (dl > 6000 ? dl - 6000 : 0));
        gt_fail_with_logs(&m->src, why->str);
    }
}

/*
 * 2. Migration 2.5 s into a 20 s recording of the host's tone.  Linux
 * fails a capture read that waits 1.1 buffer times for a period (EIO,
 * "capture read timeout" in dmesg), and virtio_snd grants arecord the
 * 400 ms buffer it asks for only with GV_SWITCH_KERNEL_ARGS (else 160 ms,
 * as test-guest-restart measured; about half the runs failed so, some at
 * the switch, some while RAM was being copied); the test checks the buffer
 * it got.  The recording is 20 s long; it begins with the source's tone,
 * exactly; its silence (the frames no side delivered) is at most downtime +
 * one period; what follows the switch is the destination's input, exactly.
 */
static void capture_judge(Mig *m, const guint8 *src, gsize src_len, gint64 downtime_ms);

static void test_capture(const char *kernel)
{
    gsize src_len = 0;
    g_autofree guint8 *src = tone_new(1000, 30, &src_len);
    g_autofree char *dir = g_dir_make_tmp("vsnd-migcap-XXXXXX", NULL);
    g_autofree char *in = g_build_filename(dir, "in.wav", NULL);
    g_assert_true(judge_wav_save(in, JUDGE_FORMAT_S16_LE, 2, RATE, src, src_len,
                                 JUDGE_WAV_DEFAULT, NULL));
    g_autofree char *drv = g_strdup_printf("--driver=wav,in=%s", in);
    const char *args[] = {drv, NULL};
    GvConfig cfg = {0};
    Mig m;
    if (mig_start(&m, kernel, args, &cfg)) {
        gv_send(m.src.vm, "arecord -q " APLAY_OPTS " -f S16_LE -c 2 -r 48000 -d 20 /out/rec.wav &"
                          GT_NOTE_CAPTURE_PARAMS);
        g_usleep(2500 * 1000);
        migrate(&m);
        g_autofree char *r = migrate_wait(m.src.vm, 60);
        g_test_message("source: %s", r);
        if (!r || !strstr(r, "\"completed\""))
            gt_fail_with_logs(&m.src, "the migration did not complete");
        else
            capture_judge(&m, src, src_len, json_int(r, "downtime"));
        mig_finish(&m);
    }
    g_unlink(in);
    g_rmdir(dir);
}

static void capture_judge(Mig *m, const guint8 *src, gsize src_len, gint64 downtime_ms)
{
    g_autofree char *out = NULL;
    int st = gv_wait(m->dst_vm, &out, 30);
    g_autoptr(GString) why = g_string_new(NULL);
    g_autoptr(GString) desc = g_string_new(NULL);
    g_autoptr(JudgeWav) w = NULL;
    long buffer = gt_capture_buffer_frames(m->dst_vm);
    if (buffer != 19200)
        g_string_append_printf(why, "the guest granted a %ld-frame buffer, not 400 ms; ", buffer);
    if (st != 0) {
        g_string_append_printf(why, "arecord on the destination: status %d: %s; ", st, out);
        g_autofree char *ls = NULL;
        gv_run(m->dst_vm, "ls -l /out/rec.wav", &ls, 20);
        g_string_append_printf(why, "what it recorded: %s; ", ls);
    } else {
        g_autoptr(GError) error = NULL;
        g_autoptr(GBytes) rec = gv_fetch(m->dst_vm, "/out/rec.wav", &error);
        gsize rlen = 0;
        const void *rdata = rec ? g_bytes_get_data(rec, &rlen) : NULL;
        w = rec ? judge_wav_parse(rdata, rlen, &error) : NULL;
        if (!w)
            g_string_append_printf(why, "no recording: %s; ", error ? error->message : "");
    }
    if (w) {
        CaptureSwitch cs;
        capture_switch_judge(w->data, w->data_len, src, src_len, &cs, desc);
        gsize head = cs.head, silent_ms = cs.silent_ms;
        JudgeFind t = cs.tail_find;
        g_test_message("capture migration: downtime %" G_GINT64_FORMAT " ms; %s", downtime_ms,
                       desc->str);
        if (w->data_len != (gsize)20 * RATE * FRAME_BYTES)
            g_string_append(why, "the recording is not 20 s; ");
        if (head < (gsize)2 * RATE * FRAME_BYTES)
            g_string_append(why, "less than 2 s from the source; ");
        /* The tone repeats every 100 ms (1000 and 1110 Hz): a source part
         * that ends on a multiple of 100 ms is followed seamlessly by the
         * destination's input, which starts the tone over; then the whole
         * recording is the tone and nothing is left to look at. */
        if (!t.whole && cs.tail > 0)
            g_string_append(why, "after the switch: not the destination's input; ");
        if ((gint64)silent_ms > downtime_ms + PERIOD_MS + SLACK_MS)
            g_string_append(why, "the silence is longer than downtime + one period; ");
    }
    if (why->len) {
        g_string_append(why, desc->str);
        g_autofree char *dlog = vd_stderr(m->dst_daemon);
        size_t dl = strlen(dlog);
        g_autofree char *glog = NULL;
        gv_run(m->dst_vm, "dmesg | tail -20", &glog, 20);
        g_string_append_printf(why, "\n--- destination daemon (tail):\n%s\n--- guest log:\n%s",
                               dlog + (dl > 6000 ? dl - 6000 : 0), glog);
        gt_fail_with_logs(&m->src, why->str);
    }
}

/*
 * 3. A migration that fails after the source stopped (the destination
 * refuses the device's state: its QEMU is killed while loading) resumes the
 * source, which plays the whole tone (a cancelled one: scenario 4).
 */
static void test_failed_resumes(const char *kernel)
{
    g_autoptr(GBytes) raw = NULL;
    GvFile files[] = {tone_file("/data/long.wav", 440, 8, &raw)};
    GvConfig cfg = {.files = files, .n_files = 1};
    static const char *const args[] = {"--driver=wav", NULL};
    Mig m;
    if (mig_start(&m, kernel, args, &cfg)) {
        /* the return path lets the source learn that the destination failed */
        qmp_ok(m.src.vm, "{\"execute\": \"migrate-set-capabilities\", \"arguments\": "
                         "{\"capabilities\": [{\"capability\": \"return-path\", \"state\": true}]}}");
        qmp_ok(m.dst_vm, "{\"execute\": \"migrate-set-capabilities\", \"arguments\": "
                         "{\"capabilities\": [{\"capability\": \"return-path\", \"state\": true}]}}");
        gv_send(m.src.vm, "aplay " APLAY_OPTS " /data/long.wav 2>&1");
        g_usleep(2 * G_USEC_PER_SEC);
        /* a destination whose back-end is gone cannot load the device */
        g_clear_pointer(&m.dst_daemon, vd_free);
        migrate(&m);
        g_autofree char *r = migrate_wait(m.src.vm, 60);
        g_autofree char *status = gv_qmp(m.src.vm, "{\"execute\": \"query-status\"}", NULL);
        g_test_message("failed migration: %s; source: %s", r, status);
        if (!r || !strstr(r, "\"failed\""))
            g_test_fail_printf("the migration did not fail: %s", r);
        if (!status || !strstr(status, "\"running\""))
            qmp_ok(m.src.vm, "{\"execute\": \"cont\"}");
        g_autofree char *out = NULL;
        int st = gv_wait(m.src.vm, &out, 30);
        g_autofree char *path = gt_daemon_file(&m.src, "stream-0.wav");
        g_autoptr(GBytes) w = wav_samples_so_far(path, FRAME_BYTES);
        gsize len, w_len;
        const guint8 *data = g_bytes_get_data(raw, &len);
        const guint8 *w_data = g_bytes_get_data(w, &w_len);
        JudgeFind f = {0};
        judge_find(JUDGE_FORMAT_S16_LE, 2, data, len, w_data, w_len, &f);
        g_autoptr(GString) d = g_string_new(NULL);
        judge_describe_find(d, &f);
        g_test_message("source after the failed migration: aplay %d: %s; %s", st, out, d->str);
        if (!clean(st, out) || !f.whole || w_len - len > (gsize)PERIOD_FRAMES * FRAME_BYTES)
            gt_fail_with_logs(&m.src, "the source did not play on after a failed migration");
        mig_finish(&m);
    }
    g_bytes_unref(files[0].contents);
}

/* Poll query-migrate on @vm until its status is @status.  Return: the
 * last reply (the caller frees), whatever it says after @timeout_s. */
static char *migrate_wait_for(GuestVm *vm, const char *status, double timeout_s)
{
    g_autofree char *want = g_strdup_printf("\"status\": \"%s\"", status);
    gint64 deadline = g_get_monotonic_time() + (gint64)(timeout_s * G_USEC_PER_SEC);
    for (;;) {
        char *r = gv_qmp(vm, "{\"execute\": \"query-migrate\"}", NULL);
        if (!r || strstr(r, want) || g_get_monotonic_time() > deadline)
            return r;
        g_free(r);
        g_usleep(10000);
    }
}

/* The source's vhost-user requests of one phase against
 * tests/data/qemu-sequences/@name.txt (QEMU's own requests only: the
 * guest plays meanwhile); with $VSND_SEQ_CAPTURE=<dir> written to
 * <dir>/@name-<kernel>.txt instead. */
static void sequence_check(Mig *m, const char *name, const char *got)
{
    const char *capture = g_getenv("VSND_SEQ_CAPTURE");
    g_test_message("%s (%s):\n%s", name, m->src.kernel, got);
    if (capture && *capture) {
        g_autofree char *file = g_strdup_printf("%s/%s-%s.txt", capture, name, m->src.kernel);
        g_assert_true(g_file_set_contents(file, got, -1, NULL));
        return;
    }
    g_autoptr(GError) error = NULL;
    g_autofree char *want_text = qs_load(name, &error);
    if (!want_text) {
        g_test_fail_printf("%s: %s", name, error->message);
        return;
    }
    g_autoptr(GPtrArray) want = qs_lines(want_text, true);
    g_autoptr(GPtrArray) have = qs_lines(got, true);
    g_autofree char *d = qs_diff(want, have);
    if (d)
        g_test_fail_printf("QEMU's %s sequence changed (kernel %s):\n%s", name, m->src.kernel, d);
}

/*
 * 4. migrate_cancel while the source is stopped for the switch-over
 * (pause-before-switchover holds it there: its rings are stopped, its
 * state not yet sent), 2 s into an 8 s tone: the source resumes and
 * plays the whole tone exactly once, aplay without an error, and its
 * output stalls at most for the pause + one period.  The requests QEMU
 * sends the source's back-end from the migrate command to the resume are
 * tests/data/qemu-sequences/migrate-cancel.txt.
 */
static void test_cancel_resumes(const char *kernel)
{
    g_autoptr(GBytes) raw = NULL;
    GvFile files[] = {tone_file("/data/long.wav", 440, 8, &raw)};
    GvConfig cfg = {.files = files, .n_files = 1};
    static const char *const args[] = {"--driver=wav", NULL};
    Mig m;
    if (mig_start_ex(&m, kernel, args, &cfg, true)) {
        qmp_ok(m.src.vm, "{\"execute\": \"migrate-set-capabilities\", \"arguments\": "
                         "{\"capabilities\": [{\"capability\": \"pause-before-switchover\", "
                         "\"state\": true}]}}");
        gv_send(m.src.vm, "aplay " APLAY_OPTS " /data/long.wav 2>&1");
        g_usleep(2 * G_USEC_PER_SEC);
        qs_proxy_settle(m.proxy, 200, 5000);
        g_free(qs_proxy_take(m.proxy)); /* the boot and the playback's start */
        WavGrowth g;
        g_autofree char *src_wav = gt_daemon_file(&m.src, "stream-0.wav");
        g_autofree char *dst_wav = g_build_filename(vd_tmpdir(m.dst_daemon), "stream-0.wav", NULL);
        wav_growth_start(&g, src_wav, dst_wav);
        migrate(&m);
        g_autofree char *held = migrate_wait_for(m.src.vm, "pre-switchover", 60);
        gint64 paused = g_get_monotonic_time();
        g_usleep(300 * 1000);
        qmp_ok(m.src.vm, "{\"execute\": \"migrate_cancel\"}");
        g_autofree char *r = migrate_wait_for(m.src.vm, "cancelled", 30);
        gint64 pause_ms = (g_get_monotonic_time() - paused) / 1000;
        g_autofree char *status = gv_qmp(m.src.vm, "{\"execute\": \"query-status\"}", NULL);
        qs_proxy_settle(m.proxy, 500, 10000);
        g_autofree char *seq = qs_proxy_take(m.proxy);
        g_autofree char *out = NULL;
        int st = gv_wait(m.src.vm, &out, 30);
        wav_growth_stop(&g);
        gint64 stall_ms = g.max_stall[0] / 1000;
        g_test_message("cancelled migration: held: %s; after the cancel: %s; source: %s",
                       held, r, status);
        g_autoptr(GBytes) w = wav_samples_so_far(g.paths[0], FRAME_BYTES);
        gsize len, w_len;
        const guint8 *data = g_bytes_get_data(raw, &len);
        const guint8 *w_data = g_bytes_get_data(w, &w_len);
        JudgeFind f = {0};
        judge_find(JUDGE_FORMAT_S16_LE, 2, data, len, w_data, w_len, &f);
        g_autoptr(GString) d = g_string_new(NULL);
        judge_describe_find(d, &f);
        g_test_message("source after the cancel: aplay %d: %s; %s; longest stall of its "
                       "output %" G_GINT64_FORMAT " ms, paused %" G_GINT64_FORMAT " ms",
                       st, out, d->str, stall_ms, pause_ms);
        g_autoptr(GString) why = g_string_new(NULL);
        if (!held || !strstr(held, "\"pre-switchover\""))
            g_string_append_printf(why, "never held before the switch-over: %s; ", held);
        if (!r || !strstr(r, "\"cancelled\""))
            g_string_append_printf(why, "not cancelled: %s; ", r);
        if (!status || !strstr(status, "\"running\""))
            g_string_append_printf(why, "the source does not run: %s; ", status);
        if (!clean(st, out))
            g_string_append_printf(why, "aplay: status %d: %s; ", st, out);
        if (!f.whole || w_len - len > (gsize)PERIOD_FRAMES * FRAME_BYTES)
            g_string_append_printf(why, "the source's output is not the tone once: %s; ", d->str);
        if (stall_ms > pause_ms + PERIOD_MS + SLACK_MS)
            g_string_append_printf(why, "its output stalled %" G_GINT64_FORMAT " ms > pause %"
                                   G_GINT64_FORMAT " + %d ms period; ", stall_ms, pause_ms,
                                   PERIOD_MS);
        if (why->len)
            gt_fail_with_logs(&m.src, why->str);
        sequence_check(&m, "migrate-cancel", seq);
        wav_growth_clear(&g);
        mig_finish(&m);
    }
    g_bytes_unref(files[0].contents);
}

int main(int argc, char **argv)
{
    gt_init(&argc, &argv);
    if (!patched_qemu()) {
        /* run only by make check-guest-migrate, which needs the variable */
        g_printerr("test-guest-migrate: $VSND_QEMU_PATCHED must name a QEMU built with "
                   "contrib/qemu's patches\n");
        return 1;
    }
    gt_add("migrate-playback", test_playback);
    gt_add("migrate-capture", test_capture);
    gt_add("migrate-failed-resumes", test_failed_resumes);
    gt_add("migrate-cancel-resumes", test_cancel_resumes);
    return g_test_run();
}
