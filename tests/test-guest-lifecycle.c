/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-guest-lifecycle.c - the VM's lifecycle during playback with a real
 * QEMU and a real Linux guest (scenarios 6, 7 and 11 of make check-guest):
 * QMP stop/cont, QMP system_reset, reboot -f in the guest, and the daemon
 * killed.  Judged on the daemon's wav file and on what the guest reports.
 */
#include "config.h"

#include "guest-test.h"
#include "judge/audio-judge.h"
#include "judge/wav-file.h"

#include <signal.h>
#include <string.h>
#include <sys/wait.h>

#define RATE 48000

static const char *const wav_args[] = {"--driver=wav", NULL};

/* The guest's aplay output holds no error and its status is 0. */
static bool aplay_clean(int status, const char *out)
{
    return status == 0 && !strstr(out, "error") && !strstr(out, "rror:");
}

/* 6. QMP stop for 1.5 s in the middle of a 6 s tone, then cont: aplay
 * finishes without an error and the daemon's file holds the whole tone,
 * continuous (the wav file has no clock: a pause leaves no gap in it, so
 * any gap or glitch is a fault). */
static void stop_cont(GtEnv *e, GBytes *raw)
{
    GtEnv env = *e;
    gv_send(env.vm, "aplay -D hw:0,0 /data/long.wav 2>&1");
    g_usleep(2 * G_USEC_PER_SEC);
    g_autoptr(GError) error = NULL;
    g_autofree char *r1 = gv_qmp(env.vm, "{\"execute\": \"stop\"}", &error);
    g_assert_no_error(error);
    g_usleep(1500 * 1000);
    g_autofree char *r2 = gv_qmp(env.vm, "{\"execute\": \"cont\"}", &error);
    g_assert_no_error(error);
    g_autofree char *out = NULL;
    int st = gv_wait(env.vm, &out, 30);

    g_autoptr(GString) desc = g_string_new(NULL);
    bool whole = gt_played_whole(&env, raw, desc);
    bool continuous = false;
    g_autoptr(JudgeWav) w = gt_stream_wav(&env, 0, NULL);
    if (w) {
        g_autoptr(JudgeSignal) s = judge_wav_signal(w);
        JudgeContinuity c;
        judge_continuity(s, 0, 0, G_MAXSIZE, NULL, &c);
        continuous = c.gaps->len == 0 && c.glitches->len == 0;
        g_string_append(desc, "; ");
        judge_describe_continuity(desc, &c, RATE);
        judge_continuity_clear(&c);
    }
    g_test_message("stop/cont: aplay status %d, output: %s; file: %s", st, out, desc->str);
    if (!aplay_clean(st, out) || !whole || !continuous) {
        /* was (QEMU 10.0.2, Linux 6.12 and 7.2): EIO 0.5 s after cont, the
         * guest never queued again after the completions of the stop */
        g_autofree char *glog = gt_guest_snd_log(&env);
        g_autofree char *msg = g_strdup_printf("stop/cont failed: aplay status %d: %s; %s\n"
                                               "--- guest virtio-snd log:\n%s",
                                               st, out, desc->str, glog ? glog : "");
        gt_fail_with_logs(&env, msg);
    }
}

static void test_stop_cont(const char *kernel)
{
    g_autoptr(GBytes) raw = NULL;
    GvFile files[] = {gt_tone_wav("/data/long.wav", 440, 6, &raw)};
    GvConfig cfg = {.files = files, .n_files = 1};
    GtEnv env;
    if (gt_start(&env, kernel, wav_args, &cfg)) {
        stop_cont(&env, raw);
        gt_finish(&env);
    }
    g_bytes_unref(files[0].contents);
}

/* After a reset or reboot during playback: the card probes again and a
 * fresh tone plays bit-exact. */
static bool plays_after_reboot(GtEnv *env, GBytes *after, GString *why)
{
    if (!gv_wait_ready(env->vm, 60)) {
        g_string_append(why, "the guest did not come back");
        return false;
    }
    g_autofree char *cards = NULL;
    if (gv_run(env->vm, "cat /proc/asound/cards", &cards, 20) != 0 ||
        !strstr(cards, "virtio-snd")) {
        g_string_append_printf(why, "no card after the reboot: %s", cards);
        return false;
    }
    g_autofree char *out = NULL;
    int st = gv_run(env->vm, "aplay -q -D hw:0,0 /data/after.wav 2>&1", &out, 30);
    if (!aplay_clean(st, out)) {
        g_string_append_printf(why, "aplay after the reboot: status %d: %s", st, out);
        return false;
    }
    if (!gt_played_whole(env, after, why))
        return false;
    return true;
}

typedef enum { RESET_QMP, RESET_GUEST } ResetKind;

static void reset_and_play(GtEnv *e, ResetKind kind, GBytes *after);

static void reset_during_playback(const char *kernel, ResetKind kind)
{
    g_autoptr(GBytes) raw = NULL, after = NULL;
    GvFile files[] = {gt_tone_wav("/data/long.wav", 440, 6, &raw),
                      gt_tone_wav("/data/after.wav", 880, 1, &after)};
    GvConfig cfg = {.files = files, .n_files = 2};
    GtEnv env;
    if (gt_start(&env, kernel, wav_args, &cfg)) {
        reset_and_play(&env, kind, after);
        gt_finish(&env);
    }
    for (size_t i = 0; i < G_N_ELEMENTS(files); i++)
        g_bytes_unref(files[i].contents);
}

static void reset_and_play(GtEnv *e, ResetKind kind, GBytes *after)
{
    GtEnv env = *e;
    if (kind == RESET_QMP) {
        gv_send(env.vm, "aplay -q -D hw:0,0 /data/long.wav");
        g_usleep(2500 * 1000);
        g_autoptr(GError) error = NULL;
        g_autofree char *r = gv_qmp(env.vm, "{\"execute\": \"system_reset\"}", &error);
        g_assert_no_error(error);
    } else {
        gv_send(env.vm, "aplay -q -D hw:0,0 /data/long.wav & sleep 2.5; reboot -f");
    }
    g_autoptr(GString) why = g_string_new(NULL);
    bool ok = plays_after_reboot(&env, after, why);
    g_test_message("%s during playback: %s", kind == RESET_QMP ? "system_reset" : "reboot -f",
                   ok ? "plays bit-exact afterwards" : why->str);
    if (!ok) {
        /* was (QEMU 10.0.2, Linux 6.12): SET_PARAMS refused in state
         * running after the reset, which arrives like a pause */
        gt_fail_with_logs(&env, why->str);
    }
}

/* 7a. QMP system_reset 2.5 s into a tone. */
static void test_system_reset(const char *kernel)
{
    reset_during_playback(kernel, RESET_QMP);
}

/* 7b. reboot -f inside the guest 2.5 s into a tone. */
static void test_guest_reboot(const char *kernel)
{
    reset_during_playback(kernel, RESET_GUEST);
}

/*
 * 11. The daemon killed (SIGKILL) 2 s into a tone.  QEMU 10.x releases
 * cannot reconnect a vhost-user-snd back-end (it aborts in vhost_dev_start
 * when one returns), so the guest's sound is lost until the VM restarts;
 * that is QEMU's limit, recorded here, not asserted (contrib/qemu's 0002
 * lifts it: test-guest-restart).  What our side guarantees, and
 * this asserts: the file written so far is a valid WAV whose data is an
 * exact prefix of the tone holding at least all but the last second, and a
 * new daemon serves a new VM that plays bit-exact.
 */
static void kill_and_restart(GtEnv *e, const char *kernel, const GvConfig *cfg, GBytes *raw,
                             GBytes *after);

static void test_daemon_killed(const char *kernel)
{
    g_autoptr(GBytes) raw = NULL, after = NULL;
    GvFile files[] = {gt_tone_wav("/data/long.wav", 440, 6, &raw),
                      gt_tone_wav("/data/after.wav", 880, 1, &after)};
    GvConfig cfg = {.files = files, .n_files = 2};
    GtEnv env;
    if (gt_start(&env, kernel, wav_args, &cfg))
        kill_and_restart(&env, kernel, &cfg, raw, after);
    for (size_t i = 0; i < G_N_ELEMENTS(files); i++)
        g_bytes_unref(files[i].contents);
}

static void kill_and_restart(GtEnv *e, const char *kernel, const GvConfig *cfg, GBytes *raw,
                             GBytes *after)
{
    GtEnv env = *e;
    gv_send(env.vm, "aplay -D hw:0,0 /data/long.wav 2>&1");
    g_usleep(2500 * 1000);
    g_autofree char *path = gt_daemon_file(&env, "stream-0.wav");
    int ws = vd_signal_wait(env.daemon, SIGKILL, 5000);
    g_assert_true(WIFSIGNALED(ws));

    /* our guarantee: a readable, exact prefix of at least 1 s */
    g_autoptr(GError) error = NULL;
    g_autoptr(JudgeWav) w = judge_wav_load(path, &error);
    g_assert_no_error(error);
    gsize len;
    const guint8 *data = g_bytes_get_data(raw, &len);
    JudgeCompare c;
    judge_compare_bytes(w->data, w->data_len, data, len, &c);
    if (!c.a_prefix_of_b) {
        g_autoptr(GString) d = g_string_new(NULL);
        judge_describe_compare(d, &c);
        g_test_fail_printf("the killed daemon's file is not a prefix of the tone: %s", d->str);
    }
    g_assert_cmpuint(w->data_len, >=, (gsize)RATE * 4);

    /* what QEMU and the guest do: recorded, not asserted */
    g_autofree char *out = NULL;
    int st = gv_wait(env.vm, &out, 15);
    g_usleep(500 * 1000);
    g_autofree char *qlog = gv_qemu_log(env.vm);
    g_test_message("daemon killed: guest aplay status %d: %s; QEMU alive: %d; QEMU log: %s", st,
                   out, gv_qemu_alive(env.vm), qlog);
    gv_stop(env.vm, 5000);
    g_clear_pointer(&env.vm, gv_free);
    g_clear_pointer(&env.daemon, vd_free);

    /* a new daemon serves a new VM */
    GtEnv again;
    if (gt_start(&again, kernel, wav_args, cfg)) {
        g_autofree char *o = gt_run_ok(&again, "aplay -q -D hw:0,0 /data/after.wav", 30);
        g_autoptr(GString) d = g_string_new(NULL);
        if (o && !gt_played_whole(&again, after, d))
            g_test_fail_printf("after a restart: %s", d->str);
        gt_finish(&again);
    }
}

int main(int argc, char **argv)
{
    gt_init(&argc, &argv);
    gt_add("stop-cont", test_stop_cont);
    gt_add("system-reset", test_system_reset);
    gt_add("guest-reboot", test_guest_reboot);
    gt_add("daemon-killed", test_daemon_killed);
    return g_test_run();
}
