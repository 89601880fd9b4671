/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-guest-sequences.c - what the real QEMU sends to the daemon, per VM
 * life-cycle event, is what tests/data/qemu-sequences/ records (and what
 * the fake front-end replays, tests/harness/frontend-replay.h).
 *
 * The guest's QEMU connects to a recording proxy (harness/qemu-sequence.h)
 * in front of the daemon, so each request is seen with its parameters;
 * the daemon's own -v log must name the same requests in the same order.
 * Phases: boot (up to the driver's probe), QMP stop, cont, aplay, arecord,
 * QMP system_reset, guest "reboot -f", QMP quit.
 *
 * VSND_SEQ_CAPTURE=<dir> writes every phase to <dir>/<phase>-<kernel>.txt
 * instead of comparing: that is how the data files were produced.
 */
#include "config.h"

#include "guest-test.h"
#include "harness/qemu-sequence.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

static const char *const daemon_args[] = {"--driver=null", NULL};

typedef struct Seq {
    GtEnv env;
    QsProxy *proxy;
    size_t log_from;
    const char *capture;
    bool failed;
} Seq;

static bool seq_start(Seq *s, const char *kernel)
{
    memset(s, 0, sizeof(*s));
    s->capture = g_getenv("VSND_SEQ_CAPTURE");
    GtEnv *env = &s->env;
    env->kernel = kernel;
    const char *argv[] = {"-v", daemon_args[0], NULL};
    g_autoptr(GError) error = NULL;
    env->daemon = vd_spawn_ready_argv(argv, &error);
    if (!env->daemon) {
        g_test_fail_printf("daemon: %s", error->message);
        return false;
    }
    s->proxy = qs_proxy_new(vd_socket_path(env->daemon), &error);
    g_assert_no_error(error);
    GvConfig c = {0};
    c.kernel = kernel;
    c.socket_path = qs_proxy_path(s->proxy);
    env->vm = gv_start(&c, &error);
    if (!env->vm) {
        g_autofree char *log = vd_stderr(env->daemon);
        g_test_fail_printf("guest %s: %s\n%s", kernel, error->message, log);
        return false;
    }
    return true;
}

static void seq_finish(Seq *s)
{
    if (s->env.vm) {
        gv_stop(s->env.vm, 10000);
        g_clear_pointer(&s->env.vm, gv_free);
    }
    g_clear_pointer(&s->proxy, qs_proxy_free);
    if (s->env.daemon) {
        if (!vd_alive(s->env.daemon)) {
            g_autofree char *log = vd_stderr(s->env.daemon);
            g_test_fail_printf("the daemon died:\n%s", log);
        }
        g_clear_pointer(&s->env.daemon, vd_free);
    }
}

/* Per-kernel file when one exists (the guests differ), else the common one. */
static char *seq_expected(const char *phase, const char *kernel, GError **error)
{
    g_autofree char *mm = g_strdup_printf("%s-%d", phase, gt_kernel_version(kernel));
    char *t = qs_load(mm, NULL);
    return t ? t : qs_load(phase, error);
}

/* Every "CTL NAME ..." line of @want_text, in order, as a "control NAME "
 * line of the daemon's log @log.  Return: NULL, or what is missing. */
static char *ctl_in_log(const char *want_text, const char *log)
{
    g_auto(GStrv) lines = g_strsplit(want_text, "\n", -1);
    const char *at = log;
    for (char **l = lines; *l; l++) {
        if (!g_str_has_prefix(*l, "CTL "))
            continue;
        g_auto(GStrv) words = g_strsplit(*l + 4, " ", 3);
        if (!words[0])
            continue;
        g_autofree char *needle = g_strdup_printf("control %s ", words[0]);
        const char *hit = strstr(at, needle);
        if (!hit)
            return g_strdup_printf("the daemon's log has no \"%s\" after the previous "
                                   "request of the sequence (from \"%s\")", needle, *l);
        at = hit + strlen(needle);
    }
    return NULL;
}

/*
 * seq_check() - end one phase: wait until the front-end is quiet, then
 * compare what the proxy saw with the stored file and the daemon's log
 * with the request names of that file.
 */
static void seq_check(Seq *s, const char *phase, int quiet_ms)
{
    qs_proxy_settle(s->proxy, quiet_ms, 30000);
    g_autofree char *got = qs_proxy_take(s->proxy);
    g_autofree char *log = vd_stderr(s->env.daemon);
    size_t from = s->log_from;
    s->log_from = strlen(log);
    g_test_message("%s (%s):\n%s", phase, s->env.kernel, got);
    if (s->capture) {
        g_autofree char *file =
            g_strdup_printf("%s/%s-%s.txt", s->capture, phase, s->env.kernel);
        g_assert_true(g_file_set_contents(file, got, -1, NULL));
        return;
    }
    g_autoptr(GError) error = NULL;
    g_autofree char *want_text = seq_expected(phase, s->env.kernel, &error);
    if (!want_text) {
        g_test_fail_printf("%s: %s", phase, error->message);
        s->failed = true;
        return;
    }
    /* In the phases the guest drives, the proxy sees a control request only
     * when the guest kicks, and a driver skips kicks the device said it
     * needs no notification for (event suppression; seen once in CI under
     * load).  There QEMU's own requests are compared strictly and the
     * guest's control requests are taken from the daemon's log. */
    bool guest_driven = strcmp(phase, "playback") == 0 || strcmp(phase, "capture") == 0;
    g_autoptr(GPtrArray) want = qs_lines(want_text, guest_driven);
    g_autoptr(GPtrArray) have = qs_lines(got, guest_driven);
    g_autofree char *d = qs_diff(want, have);
    if (guest_driven && !d)
        d = ctl_in_log(want_text, log + from);
    if (d) {
        g_test_fail_printf("QEMU's %s sequence changed (kernel %s):\n%s", phase, s->env.kernel, d);
        s->failed = true;
    }
    g_autoptr(GPtrArray) names = qs_names(want_text);
    g_autoptr(GPtrArray) logged = qs_log_requests(log, from);
    g_autofree char *d2 = qs_diff(names, logged);
    if (d2) {
        g_test_fail_printf("the daemon's -v log for %s (kernel %s) does not name the requests "
                           "of the sequence:\n%s", phase, s->env.kernel, d2);
        s->failed = true;
    }
}

/* Forget what happened since the last phase (not part of any file). */
static void seq_drain(Seq *s)
{
    qs_proxy_settle(s->proxy, 300, 5000);
    g_free(qs_proxy_take(s->proxy));
    g_autofree char *log = vd_stderr(s->env.daemon);
    s->log_from = strlen(log);
}

static bool seq_qmp(Seq *s, const char *cmd)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *json = g_strdup_printf("{\"execute\":\"%s\"}", cmd);
    g_autofree char *r = gv_qmp(s->env.vm, json, &error);
    if (!r) {
        g_test_fail_printf("QMP %s: %s", cmd, error->message);
        return false;
    }
    return true;
}

static bool seq_run(Seq *s, const char *cmd)
{
    g_autofree char *out = gt_run_ok(&s->env, cmd, 60);
    return out != NULL;
}

/* Boot, stop, cont, aplay, arecord, system_reset, reboot -f, quit. */
static void test_lifecycle(const char *kernel)
{
    Seq s;
    if (!seq_start(&s, kernel)) {
        seq_finish(&s);
        return;
    }
    seq_check(&s, "boot", 1500);
    if (seq_qmp(&s, "stop"))
        seq_check(&s, "stop", 1000);
    if (seq_qmp(&s, "cont"))
        seq_check(&s, "cont", 1000);
    if (seq_run(&s, "aplay -q -D hw:0,0 -f S16_LE -r 48000 -c 2 -d 1 /dev/zero"))
        seq_check(&s, "playback", 500);
    if (seq_run(&s, "arecord -q -D hw:0,0 -f S16_LE -r 48000 -c 2 -d 1 /tmp/r.wav"))
        seq_check(&s, "capture", 500);
    /* stop and cont while aplay runs */
    gv_send(s.env.vm, "aplay -q -D hw:0,0 -f S16_LE -r 48000 -c 2 -d 3 /dev/zero");
    g_usleep(1200000);
    seq_drain(&s);
    if (seq_qmp(&s, "stop"))
        seq_check(&s, "stop-playing", 1000);
    if (seq_qmp(&s, "cont"))
        seq_check(&s, "cont-playing", 300);
    {
        g_autofree char *out = NULL;
        int st = gv_wait(s.env.vm, &out, 30);
        if (st != 0) {
            g_autofree char *log = vd_stderr(s.env.daemon);
            size_t ll = strlen(log);
            g_test_message("daemon log (tail):\n%s", log + (ll > 8000 ? ll - 8000 : 0));
            g_autofree char *dmesg = NULL;
            gv_run(s.env.vm, "dmesg | tail -n 15", &dmesg, 20);
            g_test_message("guest kernel log (tail):\n%s", dmesg ? dmesg : "");
            seq_drain(&s);
            g_autofree char *what = g_strdup_printf(
                "aplay across QMP stop/cont (a real guest) exits %d: %s", st, out ? out : "");
            /* was a known failure (EIO after cont) until the queue stop
             * gave untouched playback back to the ring */
            g_test_fail_printf("%s", what);
        }
    }
    seq_drain(&s);
    /* system_reset while aplay runs */
    gv_send(s.env.vm, "aplay -q -D hw:0,0 -f S16_LE -r 48000 -c 2 -d 5 /dev/zero");
    g_usleep(1200000);
    seq_drain(&s);
    if (seq_qmp(&s, "system_reset")) {
        if (!gv_wait_ready(s.env.vm, 60))
            g_test_fail_printf("no @@ready after system_reset");
        seq_check(&s, "reset-playing", 1500);
    }
    if (seq_qmp(&s, "system_reset")) {
        if (!gv_wait_ready(s.env.vm, 60))
            g_test_fail_printf("no @@ready after system_reset");
        seq_check(&s, "system_reset", 1500);
    }
    gv_send(s.env.vm, "reboot -f");
    if (!gv_wait_ready(s.env.vm, 60))
        g_test_fail_printf("no @@ready after reboot -f");
    seq_check(&s, "reboot", 1500);
    /* quit: QEMU exits, the proxy sees the socket close */
    g_autoptr(GError) error = NULL;
    g_autofree char *r = gv_qmp(s.env.vm, "{\"execute\":\"quit\"}", &error);
    (void)r; /* QEMU may close the monitor before it answers */
    for (int i = 0; i < 500 && !qs_proxy_closed(s.proxy); i++)
        g_usleep(10000);
    seq_check(&s, "quit", 300);
    seq_finish(&s);
}

int main(int argc, char **argv)
{
    gt_init(&argc, &argv);
    /* gv_stop() writes "poweroff" to a QEMU that "quit" already ended */
    signal(SIGPIPE, SIG_IGN);
    gt_add("lifecycle", test_lifecycle);
    return g_test_run();
}
