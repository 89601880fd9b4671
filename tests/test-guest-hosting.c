/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-guest-hosting.c - how VMs are hosted (scenarios 8 and 9 of make
 * check-guest): guest RAM in 2 MiB hugepages, and two VMs with two daemons
 * at once, each file holding its own guest's tone.
 */
#include "config.h"

#include "guest-test.h"
#include "judge/audio-judge.h"
#include "judge/wav-file.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* 256 MiB of guest RAM (guest-vm.c) in 2 MiB pages */
#define GUEST_HUGEPAGES 128

/* aplay @path in the guest; the daemon's stream-0.wav must then hold the
 * tone @raw exactly.  Return: false after failing the test. */
static bool play_exact(GtEnv *env, const char *path, GBytes *raw)
{
    g_autofree char *cmd = g_strdup_printf("aplay -q -D hw:0,0 %s", path);
    g_autofree char *out = gt_run_ok(env, cmd, 30);
    if (!out)
        return false;
    g_autoptr(GString) d = g_string_new(NULL);
    if (!gt_played_whole(env, raw, d)) {
        g_test_fail_printf("%s: the tone is not in the daemon's file exactly: %s", env->kernel,
                           d->str);
        return false;
    }
    return true;
}

/* A number from /proc/meminfo, or -1. */
static long meminfo(const char *key)
{
    g_autofree char *text = NULL;
    if (!g_file_get_contents("/proc/meminfo", &text, NULL, NULL))
        return -1;
    const char *p = strstr(text, key);
    return p ? strtol(p + strlen(key), NULL, 10) : -1;
}

/* At least @n free 2 MiB hugepages, reserving more when running as root
 * (as CI does).  Return: false after failing (CI) or skipping the test. */
static bool hugepages_available(long n)
{
    long free_pages = meminfo("HugePages_Free:");
    long size_kb = meminfo("Hugepagesize:");
    if (size_kb != 2048) {
        g_test_fail_printf("default hugepage size is %ld KiB, the test needs 2048", size_kb);
        return false;
    }
    if (free_pages < n && geteuid() == 0) {
        long total = meminfo("HugePages_Total:");
        /* in place: g_file_set_contents() would rename a file over it */
        FILE *f = fopen("/proc/sys/vm/nr_hugepages", "w");
        if (f) {
            fprintf(f, "%ld\n", total + (n - free_pages));
            fclose(f);
        }
        free_pages = meminfo("HugePages_Free:");
    }
    if (free_pages >= n)
        return true;
    g_autofree char *why = g_strdup_printf(
        "%ld free 2 MiB hugepages, %ld needed: as root, echo %ld > /proc/sys/vm/nr_hugepages",
        free_pages, n, n);
    if (g_strcmp0(g_getenv("CI"), "true") == 0 || g_strcmp0(g_getenv("VSND_GUEST"), "1") == 0)
        g_test_fail_printf("%s", why);
    else
        g_test_skip(why);
    return false;
}

/* 8. Guest RAM from a hugetlb memfd: the daemon maps it and plays bit-exact. */
static void test_hugepages(const char *kernel)
{
    if (!hugepages_available(GUEST_HUGEPAGES))
        return;
    g_autoptr(GBytes) raw = NULL;
    GvFile files[] = {gt_tone_wav("/data/tone.wav", 440, 1, &raw)};
    GvConfig cfg = {.hugepages = true, .files = files, .n_files = 1};
    static const char *const args[] = {"--driver=wav", NULL};
    GtEnv env;
    g_autoptr(GError) error = NULL;
    if (gt_try_start(&env, kernel, args, &cfg, &error)) {
        play_exact(&env, "/data/tone.wav", raw);
    } else {
        g_test_fail_printf("%s", error->message);
    }
    gt_finish(&env);
    g_bytes_unref(files[0].contents);
}

/* 9. Two VMs, two daemons with their own --name, at once: each daemon's file
 * holds exactly its own guest's tone, played at the same time. */
static void test_two_vms(const char *kernel)
{
    g_autoptr(GBytes) raw_a = NULL, raw_b = NULL;
    GvFile fa[] = {gt_tone_wav("/data/tone.wav", 440, 1, &raw_a)};
    GvFile fb[] = {gt_tone_wav("/data/tone.wav", 1250, 1, &raw_b)};
    GvConfig ca = {.files = fa, .n_files = 1, .name = "vm-a"};
    GvConfig cb = {.files = fb, .n_files = 1, .name = "vm-b"};
    static const char *const args_a[] = {"--driver=wav", "--name=vm-a", NULL};
    static const char *const args_b[] = {"--driver=wav", "--name=vm-b", NULL};
    GtEnv a, b;
    bool up_a = gt_start(&a, kernel, args_a, &ca);
    bool up_b = up_a && gt_start(&b, kernel, args_b, &cb);
    if (up_a && up_b) {
        gv_send(a.vm, "aplay -q -D hw:0,0 /data/tone.wav");
        gv_send(b.vm, "aplay -q -D hw:0,0 /data/tone.wav");
        g_autofree char *oa = NULL, *ob = NULL;
        int sa = gv_wait(a.vm, &oa, 30);
        int sb = gv_wait(b.vm, &ob, 30);
        g_assert_cmpint(sa, ==, 0);
        g_assert_cmpint(sb, ==, 0);
        /* each file: its own tone exactly, and not the other's */
        g_autoptr(JudgeWav) wa = gt_stream_wav(&a, 0, NULL);
        g_autoptr(JudgeWav) wb = gt_stream_wav(&b, 0, NULL);
        g_assert_nonnull(wa);
        g_assert_nonnull(wb);
        gsize la, lb;
        const void *da = g_bytes_get_data(raw_a, &la);
        const void *db = g_bytes_get_data(raw_b, &lb);
        JudgeFind f;
        if (!gt_wav_holds(wa, da, la, &f, NULL))
            g_test_fail_printf("vm-a's file does not hold vm-a's tone exactly");
        if (!gt_wav_holds(wb, db, lb, &f, NULL))
            g_test_fail_printf("vm-b's file does not hold vm-b's tone exactly");
        gt_wav_holds(wa, db, lb, &f, NULL);
        if (f.found)
            g_test_fail_printf("vm-b's tone is in vm-a's file");
        g_autoptr(JudgeSignal) s = judge_wav_signal(wa);
        if (!judge_tone_present(s, 0, 0, G_MAXSIZE, 440, 1, NULL))
            g_test_fail_printf("vm-a's file has no 440 Hz tone");
    }
    if (up_b)
        gt_finish(&b);
    if (up_a)
        gt_finish(&a);
    g_bytes_unref(fa[0].contents);
    g_bytes_unref(fb[0].contents);
}

int main(int argc, char **argv)
{
    gt_init(&argc, &argv);
    gt_add("hugepages", test_hugepages);
    gt_add("two-vms", test_two_vms);
    return g_test_run();
}
