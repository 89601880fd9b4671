/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * guest-test.h - one real-guest scenario: the daemon under test plus a QEMU
 * with a Linux guest connected to it, for every kernel in the cache.
 *
 * gt_add() registers a scenario once per guest kernel, as
 * /guest/<kernel>/<name>.  gt_start() spawns the daemon ($VSND_DAEMON, with
 * the scenario's arguments, checked for a clean exit at the end) and boots
 * the guest against it; gt_finish() powers the guest off and stops the
 * daemon.  The daemon runs in its private directory, so the wav driver's
 * default files (stream-<id>.wav) are found with gt_daemon_file().
 */
#ifndef VSND_TESTS_GUEST_GUEST_TEST_H
#define VSND_TESTS_GUEST_GUEST_TEST_H

#include "guest-vm.h"
#include "harness/daemon.h"
#include "judge/audio-judge.h"
#include "judge/wav-file.h"

/* The rate of the scenarios' tones. */
#define GT_RATE 48000

typedef struct GtEnv {
    const char *kernel;
    VdProc *daemon;
    GuestVm *vm;
} GtEnv;

typedef void (*GtFunc)(const char *kernel);

/* g_test_init() with --keep-going: one failed scenario must not hide the
 * results of the others (each boots its own VM). */
void gt_init(int *argc, char ***argv);

/* Register @func for each guest kernel (with none: one test that fails in
 * CI and is skipped elsewhere, saying what is missing). */
void gt_add(const char *name, GtFunc func);
/* The kernel's major.minor, e.g. 612 for 6.12.95. */
int gt_kernel_version(const char *kernel);

/*
 * gt_start() - daemon with @daemon_argv (NULL-terminated; -v is added),
 * then the guest (@cfg may be NULL; its kernel and socket are filled in).
 * Return: false after failing the test.
 */
bool gt_start(GtEnv *env, const char *kernel, const char *const *daemon_argv,
              const GvConfig *cfg);
/* The same without failing the test: false with @error, @env holding
 * what was started (the caller calls gt_finish()). */
bool gt_try_start(GtEnv *env, const char *kernel, const char *const *daemon_argv,
                  const GvConfig *cfg, GError **error);
/* Power off the guest (the daemon must survive it), stop the daemon. */
void gt_finish(GtEnv *env);

/* Path of @name in the daemon's directory (newly allocated). */
char *gt_daemon_file(GtEnv *env, const char *name);
/* Run @cmd in the guest; fail the test (with its output and the daemon's
 * log) unless it exits 0.  Return: its output, or NULL after failing. */
char *gt_run_ok(GtEnv *env, const char *cmd, double timeout_s);
/* The guest kernel log lines that mention virtio_snd / virtio-snd. */
char *gt_guest_snd_log(GtEnv *env);
/* Fail the test case with @what and the tails of the guest console, the
 * QEMU log and the daemon's log. */
void gt_fail_with_logs(GtEnv *env, const char *what);

/* ---- tones played by the guest, judged in the wav driver's file ---- */

/* A tone for the guest at @path (a WAV file): S16_LE stereo at GT_RATE,
 * @hz on the left and @hz + 110 on the right, at -6 dBFS, @seconds long.
 * *raw gets its samples.  The caller unrefs the contents. */
GvFile gt_tone_wav(const char *path, double hz, double seconds, GBytes **raw);
/* The daemon's stream-<@id>.wav as it is now; NULL if there is none (no
 * error) or it cannot be read (@error). */
JudgeWav *gt_stream_wav(GtEnv *env, unsigned int id, GError **error);
/* Is all of @data (samples in @w's format and channel count) in @w, byte
 * for byte?  *f gets where; *desc (may be NULL) the judge's account. */
bool gt_wav_holds(const JudgeWav *w, const void *data, gsize len, JudgeFind *f, GString *desc);
/* Is all of @raw in the daemon's stream-0.wav, byte for byte?  *desc gets
 * the judge's account (or why there is no file). */
bool gt_played_whole(GtEnv *env, GBytes *raw, GString *desc);

/* ---- what the guest granted ---- */

/* Appended to a recording command ("arecord ... &" GT_NOTE_CAPTURE_PARAMS):
 * a second in, the capture stream's hw_params go to a guest file that
 * gt_capture_buffer_frames() reads, after a migration too. */
#define GT_NOTE_CAPTURE_PARAMS \
    " sleep 1; cat /proc/asound/card0/pcm0c/sub0/hw_params >/tmp/capture-hw-params; wait $!"
/* The capture buffer (frames) noted by GT_NOTE_CAPTURE_PARAMS, or -1. */
long gt_capture_buffer_frames(GuestVm *vm);

/* Mark the current test as a known failure owned by another issue
 * (TAP "not ok # TODO", which automake counts as XFAIL). */
void gt_known_failure(const char *issue, const char *what);

#endif /* VSND_TESTS_GUEST_GUEST_TEST_H */
