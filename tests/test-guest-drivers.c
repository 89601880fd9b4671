/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-guest-drivers.c - a real Linux guest through --driver=alsa (make
 * check-guest): the daemon's alsa module plays into, and records from,
 * ALSA `file` PCMs over `null` in a private ~/.asoundrc
 * (tests/harness/host-alsa.h), and every frame is checked: what aplay
 * played is the file PCM's output byte for byte (in the guest's own
 * format: the file PCM converts nothing), followed only by the silence
 * aplay pads its last period with; what arecord recorded is the file the
 * capture PCM reads, byte for byte.
 *
 * The other scenarios judge through the wav driver, which is built into
 * the daemon; this is the one where a module and its library (alsa-lib)
 * run inside the daemon with a real guest (issue 17: they once shared
 * the snd_ namespace and the daemon aborted at the first PREPARE).
 */
#include "config.h"

#include "guest-test.h"
#include "harness/host-alsa.h"

#include <string.h>

typedef struct PlayCase {
    const char *path;     /* in the guest */
    const char *aplay;    /* how aplay is told the format */
    JudgeToneSpec tone;
    gsize frames;
} PlayCase;

static const PlayCase play_cases[] = {
    /* what a desktop guest plays */
    {"/data/s16.raw", "-t raw -f S16_LE -c 2 -r 48000",
     {JUDGE_FORMAT_S16_LE, 2, 48000, 440.0, 110.0, -6.0}, 48000},
    /* another format, rate and channel count: the module's mapping */
    {"/data/float.raw", "-t raw -f FLOAT_LE -c 1 -r 44100",
     {JUDGE_FORMAT_FLOAT_LE, 1, 44100, 661.5, 0.0, -6.0}, 22050},
};

/* aplay @c in the guest: out.raw is the tone, every frame, then only
 * silence.  Return: false after failing the test. */
static bool play_case(GtEnv *env, const HostAlsa *ha, const PlayCase *c, GBytes *tone)
{
    g_autofree char *cmd = g_strdup_printf("aplay -q -D hw:0,0 %s %s", c->aplay, c->path);
    g_autofree char *out = gt_run_ok(env, cmd, 60);
    if (!out) {
        g_autofree char *glog = gt_guest_snd_log(env);
        g_test_message("guest virtio-snd log:\n%s", glog ? glog : "");
        return false;
    }
    gsize len = 0;
    const guint8 *want = g_bytes_get_data(tone, &len);
    g_autoptr(GBytes) played = ha_played(ha, len);
    gsize got_len = 0;
    const guint8 *got = played ? g_bytes_get_data(played, &got_len) : NULL;
    JudgeCompare cmp;
    judge_compare_bytes(want, len, got, got_len, &cmp);
    g_autoptr(GString) d = g_string_new(NULL);
    judge_describe_compare(d, &cmp);
    g_test_message("%s: out.raw %zu bytes, the tone %zu: %s", cmd, got_len, len, d->str);
    if (!played || !cmp.a_prefix_of_b) {
        g_autofree char *msg = g_strdup_printf("%s: the file PCM's output is not the tone: %s",
                                               cmd, played ? d->str : "no out.raw");
        gt_fail_with_logs(env, msg);
        return false;
    }
    /* aplay pads its last period with silence, nothing else may follow */
    g_autoptr(JudgeSignal) tail = judge_signal_new(c->tone.format, c->tone.channels,
                                                   c->tone.rate, got + len, got_len - len);
    if (!judge_is_silent(tail, JUDGE_ALL_CHANNELS, 0, G_MAXSIZE)) {
        g_autofree char *msg = g_strdup_printf("%s: %zu frames after the tone are not silence",
                                               cmd, tail->frames);
        gt_fail_with_logs(env, msg);
        return false;
    }
    return true;
}

/* arecord in the guest from the file PCM's infile: the recording is its
 * beginning, byte for byte.  Return: false after failing the test. */
static bool capture(GtEnv *env, GBytes *in)
{
    static const char cmd[] = "arecord -q -D hw:0,0 -f S16_LE -c 2 -r 48000 -d 1 /out/rec.wav";
    g_autofree char *out = gt_run_ok(env, cmd, 60);
    if (!out)
        return false;
    g_autoptr(GError) error = NULL;
    g_autoptr(GBytes) rec = gv_fetch(env->vm, "/out/rec.wav", &error);
    gsize rlen = 0;
    const void *rdata = rec ? g_bytes_get_data(rec, &rlen) : NULL;
    g_autoptr(JudgeWav) w = rec ? judge_wav_parse(rdata, rlen, &error) : NULL;
    if (!w) {
        g_test_fail_printf("%s: %s", cmd, error->message);
        return false;
    }
    gsize len = 0;
    const guint8 *src = g_bytes_get_data(in, &len);
    JudgeCompare cmp;
    judge_compare_bytes(w->data, w->data_len, src, len, &cmp);
    g_autoptr(GString) d = g_string_new(NULL);
    judge_describe_compare(d, &cmp);
    g_test_message("%s: %zu bytes recorded: %s", cmd, w->data_len, d->str);
    if (w->data_len != (gsize)GT_RATE * 4 || !cmp.a_prefix_of_b) {
        g_autofree char *msg = g_strdup_printf("%s: %zu bytes, not the first %u of in.raw: %s",
                                               cmd, w->data_len, GT_RATE * 4, d->str);
        gt_fail_with_logs(env, msg);
        return false;
    }
    return true;
}

static void test_alsa_file_pcm(const char *kernel)
{
    g_autoptr(HostAlsa) ha = ha_new();
    /* capture reads in.raw: 3 s, more than arecord takes with what the
     * driver queues ahead (past its end a file PCM repeats itself) */
    JudgeToneSpec t = {JUDGE_FORMAT_S16_LE, 2, GT_RATE, 887.3, 217.3, -3.0};
    gsize in_len = 0;
    guint8 *in_data = judge_tone_new(&t, 3 * GT_RATE, &in_len);
    g_autoptr(GBytes) in = g_bytes_new_take(in_data, in_len);
    g_autofree char *in_path = ha_path(ha, "in.raw");
    g_assert_true(g_file_set_contents(in_path, g_bytes_get_data(in, NULL), (gssize)in_len, NULL));

    GvFile files[G_N_ELEMENTS(play_cases)];
    for (size_t i = 0; i < G_N_ELEMENTS(play_cases); i++) {
        gsize len = 0;
        guint8 *raw = judge_tone_new(&play_cases[i].tone, play_cases[i].frames, &len);
        files[i] = (GvFile){.path = play_cases[i].path, .contents = g_bytes_new_take(raw, len)};
    }
    g_autofree char *allow = ha_sandbox_allow(ha);
    const char *const args[] = {"--driver=alsa,device=tofile", "--stream=1:target=fromfile",
                                allow, NULL};
    GvConfig cfg = {.files = files, .n_files = G_N_ELEMENTS(files)};
    GtEnv env;
    if (gt_start(&env, kernel, args, &cfg)) {
        bool ok = true;
        for (size_t i = 0; ok && i < G_N_ELEMENTS(play_cases); i++)
            ok = play_case(&env, ha, &play_cases[i], files[i].contents);
        if (ok)
            capture(&env, in);
        gt_finish(&env);
    }
    for (size_t i = 0; i < G_N_ELEMENTS(files); i++)
        g_bytes_unref(files[i].contents);
}

int main(int argc, char **argv)
{
    gt_init(&argc, &argv);
    gt_add("alsa-file-pcm", test_alsa_file_pcm);
    return g_test_run();
}
