/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * guest-test.c - daemon + guest fixture of the real-guest tests (see
 * guest-test.h).
 */
#include "config.h"

#include "guest-test.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct GtCase {
    GtFunc func;
    char *kernel;
} GtCase;

void gt_init(int *argc, char ***argv)
{
    static char keep_going[] = "--keep-going";
    char **args = g_new0(char *, (gsize)*argc + 2); /* lives as long as the program */
    for (int i = 0; i < *argc; i++)
        args[i] = (*argv)[i];
    args[*argc] = keep_going;
    *argc += 1;
    *argv = args;
    g_test_init(argc, argv, NULL);
    /* a console or QMP write to a QEMU that already quit is an error to
     * report, not a reason to die */
    signal(SIGPIPE, SIG_IGN);
}

static void gt_case_run(gconstpointer data)
{
    const GtCase *c = data;
    if (!vd_require() || !gv_require())
        return;
    gint64 t0 = g_get_monotonic_time();
    c->func(c->kernel);
    /* the budget of make check-guest is a sum of these */
    g_test_message("scenario took %.1f s", (double)(g_get_monotonic_time() - t0) / G_USEC_PER_SEC);
}

static void gt_missing(gconstpointer data)
{
    (void)data;
    gv_require();
}

void gt_add(const char *name, GtFunc func)
{
    g_auto(GStrv) kernels = gv_kernels();
    if (!kernels[0]) {
        g_autofree char *path = g_strdup_printf("/guest/no-kernel/%s", name);
        g_test_add_data_func(path, NULL, gt_missing);
        return;
    }
    for (char **k = kernels; *k; k++) {
        GtCase *c = g_new0(GtCase, 1); /* lives as long as the test program */
        c->func = func;
        c->kernel = g_strdup(*k);
        g_autofree char *path = g_strdup_printf("/guest/%s/%s", *k, name);
        g_test_add_data_func(path, c, gt_case_run);
    }
}

int gt_kernel_version(const char *kernel)
{
    unsigned int major = 0, minor = 0;
    if (sscanf(kernel, "%u.%u", &major, &minor) != 2)
        return 0;
    return (int)(major * 100 + minor);
}

void gt_fail_with_logs(GtEnv *env, const char *what)
{
    g_autofree char *dlog = env->daemon ? vd_stderr(env->daemon) : g_strdup("");
    g_autofree char *con = env->vm ? gv_console(env->vm) : g_strdup("");
    g_autofree char *qlog = env->vm ? gv_qemu_log(env->vm) : g_strdup("");
    /* the tail is what matters; a whole -v log would drown the report */
    size_t dl = strlen(dlog), cl = strlen(con);
    g_test_fail_printf("%s\n--- guest console (tail):\n%s\n--- QEMU:\n%s\n--- daemon (tail):\n%s", what,
                       con + (cl > 4000 ? cl - 4000 : 0), qlog, dlog + (dl > 6000 ? dl - 6000 : 0));
}

bool gt_try_start(GtEnv *env, const char *kernel, const char *const *daemon_argv,
                  const GvConfig *cfg, GError **error)
{
    memset(env, 0, sizeof *env);
    env->kernel = kernel;
    g_autoptr(GPtrArray) args = g_ptr_array_new();
    g_ptr_array_add(args, (gpointer) "-v");
    for (unsigned int i = 0; daemon_argv && daemon_argv[i]; i++)
        g_ptr_array_add(args, (gpointer)daemon_argv[i]);
    g_ptr_array_add(args, NULL);
    env->daemon = vd_spawn_ready_argv((const char *const *)args->pdata, error);
    if (!env->daemon) {
        g_prefix_error(error, "daemon: ");
        return false;
    }
    GvConfig c = cfg ? *cfg : (GvConfig){0};
    c.kernel = kernel;
    c.socket_path = vd_socket_path(env->daemon);
    env->vm = gv_start(&c, error);
    if (!env->vm) {
        g_prefix_error(error, "guest %s: ", kernel);
        return false;
    }
    return true;
}

bool gt_start(GtEnv *env, const char *kernel, const char *const *daemon_argv, const GvConfig *cfg)
{
    g_autoptr(GError) error = NULL;
    if (gt_try_start(env, kernel, daemon_argv, cfg, &error))
        return true;
    gt_fail_with_logs(env, error->message);
    gt_finish(env);
    return false;
}

void gt_finish(GtEnv *env)
{
    if (env->vm) {
        gv_stop(env->vm, 10000);
        g_clear_pointer(&env->vm, gv_free);
    }
    if (env->daemon) {
        /* the guest is gone: the daemon must still be up, then exit 0 */
        if (!vd_alive(env->daemon))
            gt_fail_with_logs(env, "the daemon died");
        g_clear_pointer(&env->daemon, vd_free);
    }
}

char *gt_daemon_file(GtEnv *env, const char *name)
{
    return g_build_filename(vd_tmpdir(env->daemon), name, NULL);
}

char *gt_run_ok(GtEnv *env, const char *cmd, double timeout_s)
{
    char *out = NULL;
    int st = gv_run(env->vm, cmd, &out, timeout_s);
    if (st != 0) {
        g_autofree char *msg = g_strdup_printf("guest command `%s` exited with %d:\n%s", cmd, st, out);
        gt_fail_with_logs(env, msg);
        g_free(out);
        return NULL;
    }
    return out;
}

char *gt_guest_snd_log(GtEnv *env)
{
    char *out = NULL;
    gv_run(env->vm, "dmesg | grep -i -E 'virtio[-_]snd|virtsnd|SID [0-9]' || true", &out, 20);
    return out;
}

long gt_capture_buffer_frames(GuestVm *vm)
{
    g_autofree char *out = NULL;
    if (gv_run(vm, "cat /tmp/capture-hw-params", &out, 20) != 0)
        return -1;
    const char *p = strstr(out, "buffer_size: ");
    return p ? strtol(p + strlen("buffer_size: "), NULL, 10) : -1;
}

void gt_known_failure(const char *issue, const char *what)
{
    g_test_incomplete_printf("known failure, fixed by the issue \"%s\": %s", issue, what);
}

GvFile gt_tone_wav(const char *path, double hz, double seconds, GBytes **raw)
{
    JudgeToneSpec t = {.format = JUDGE_FORMAT_S16_LE, .channels = 2, .rate = GT_RATE,
                       .freq_hz = hz, .freq_step_hz = 110, .level_dbfs = -6};
    gsize len = 0;
    guint8 *data = judge_tone_new(&t, (gsize)(seconds * GT_RATE), &len);
    gsize wlen = 0;
    guint8 *w = judge_wav_build(t.format, 2, GT_RATE, data, len, JUDGE_WAV_DEFAULT, &wlen, NULL);
    g_assert_nonnull(w);
    *raw = g_bytes_new_take(data, len);
    return (GvFile){.path = path, .contents = g_bytes_new_take(w, wlen)};
}

JudgeWav *gt_stream_wav(GtEnv *env, unsigned int id, GError **error)
{
    g_autofree char *name = g_strdup_printf("stream-%u.wav", id);
    g_autofree char *path = gt_daemon_file(env, name);
    if (!g_file_test(path, G_FILE_TEST_EXISTS))
        return NULL;
    return judge_wav_load(path, error);
}

bool gt_wav_holds(const JudgeWav *w, const void *data, gsize len, JudgeFind *f, GString *desc)
{
    judge_find(w->format, w->channels, data, len, w->data, w->data_len, f);
    if (desc)
        judge_describe_find(desc, f);
    return f->whole;
}

bool gt_played_whole(GtEnv *env, GBytes *raw, GString *desc)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(JudgeWav) w = gt_stream_wav(env, 0, &error);
    if (!w) {
        g_string_append(desc, error ? error->message : "no stream-0.wav");
        return false;
    }
    gsize len;
    const void *data = g_bytes_get_data(raw, &len);
    JudgeFind f;
    return gt_wav_holds(w, data, len, &f, desc);
}
