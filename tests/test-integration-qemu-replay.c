/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-integration-qemu-replay.c - the daemon driven through exactly what
 * the real QEMU 10.0.2 sent (tests/data/qemu-sequences/, recorded and
 * re-checked by tests/test-guest-sequences under make check-guest), with
 * the fake guest behaving like the Linux driver in between: packed rings,
 * PCM_SET_PARAMS with MSG_POLLING|EVT_XRUNS, no tx/rx kicks.
 *
 * Each case also checks that the daemon's -v log names the requests of the
 * replayed file in order (the same reduction the guest test uses), then
 * what the daemon must do: probe answers, playback running, nothing
 * completed while the VM is stopped, playback resuming after cont, the
 * card working after a reset, the daemon serving the next QEMU after quit.
 */
#include "config.h"

#include <endian.h>
#include <signal.h>
#include <string.h>

#include <glib/gstdio.h>
#include <linux/virtio_snd.h>

#include "tests/harness/daemon.h"
#include "tests/harness/fake-frontend.h"
#include "tests/harness/frontend-replay.h"
#include "tests/harness/qemu-sequence.h"
#include "tests/harness/snd-guest.h"

#define PERIOD_BYTES 1920u /* 10 ms of S16 stereo at 48 kHz */
#define NMSG 4u

typedef struct Env {
    VdProc *vd;
    SgGuest *sg;
    FrReplay *fr;
    size_t log_from;
    SgIoMsg *msg[NMSG];
    uint8_t data[PERIOD_BYTES];
    unsigned int completed;
} Env;

static void env_free(Env *e)
{
    fr_free(e->fr);
    sg_free(e->sg);
    vd_free(e->vd);
}

/* Replay @name with @fr against @vd and check the daemon's log names the
 * same requests. */
static bool replay_on(Env *e, VdProc *vd, FrReplay *fr, const char *name)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *text = qs_load(name, &err);
    g_assert_no_error(err);
    {
        /* the window starts here: requests of our own before are answered */
        g_autofree char *before = vd_stderr(vd);
        e->log_from = strlen(before);
    }
    if (!fr_run(fr, text, &err)) {
        g_autofree char *log = vd_stderr(vd);
        g_test_message("daemon log:\n%s", log);
        g_test_message("replaying %s: %s", name, err->message);
        g_test_fail_printf("replaying %s: %s", name, err->message);
        return false;
    }
    /* the daemon logs each request before it answers; a request without an
     * answer may still be in its socket: wait for the log to catch up */
    g_autoptr(GPtrArray) want = qs_names(text);
    g_autofree char *diff = NULL;
    g_autofree char *log = NULL;
    for (int i = 0; i < 100; i++) {
        g_free(log);
        g_free(diff);
        log = vd_stderr(vd);
        g_autoptr(GPtrArray) got = qs_log_requests(log, e->log_from);
        diff = qs_diff(want, got);
        if (!diff)
            break;
        g_usleep(10000);
    }
    e->log_from = strlen(log);
    if (diff) {
        g_test_message("daemon log after replaying %s:\n%s", name, diff);
        g_test_fail_printf("daemon log after replaying %s:\n%s", name, diff);
        return false;
    }
    return true;
}

static bool replay(Env *e, const char *name)
{
    return replay_on(e, e->vd, e->fr, name);
}

/* A daemon with -v and @args (NULL-terminated, may be NULL), booted by
 * the recorded sequence @boot_name. */
static void env_boot_as(Env *e, const char *const *args, const char *boot_name)
{
    memset(e, 0, sizeof(*e));
    g_autoptr(GError) err = NULL;
    g_autoptr(GPtrArray) extra = g_ptr_array_new();
    g_ptr_array_add(extra, (gpointer) "-v");
    for (unsigned int i = 0; args && args[i]; i++)
        g_ptr_array_add(extra, (gpointer)args[i]);
    g_ptr_array_add(extra, NULL);
    e->vd = vd_spawn_ready((const char *const *)extra->pdata, &err);
    g_assert_no_error(err);
    g_autofree char *boot = qs_load(boot_name, &err);
    g_assert_no_error(err);
    SgOpts o;
    sg_opts_init(&o);
    /* QEMU's guest RAM was one region (ADD_MEM_REG once) */
    o.nregions = MAX(fr_count(boot, "ADD_MEM_REG"), 1u);
    o.region_size = 16u << 20;
    e->sg = sg_connect(e->vd, &o, &err);
    g_assert_no_error(err);
    e->fr = fr_new(e->sg);
    g_assert_true(replay(e, boot_name));
    /* the probe went through: 2 streams (one each way), packed rings */
    g_assert_cmpuint(e->sg->streams, ==, 2);
    g_assert_true(e->sg->packed);
    uint8_t st = 0;
    g_assert_true(ff_get_status(e->sg->ff, &st, &err));
    g_assert_no_error(err);
    g_assert_cmphex(st & FF_S_NEEDS_RESET, ==, 0);
}

static void env_boot(Env *e)
{
    env_boot_as(e, NULL, "boot");
}

static int find_stream(SgGuest *sg, uint8_t dir)
{
    for (uint32_t i = 0; i < sg->streams; i++)
        if (sg->pcm[i].direction == dir)
            return (int)i;
    return -1;
}

static uint32_t cmd(Env *e, uint32_t code, uint32_t sid)
{
    g_autoptr(GError) err = NULL;
    uint32_t st = 0xffffffff;
    if (!sg_pcm_cmd(e->sg, code, sid, &st, &err))
        g_test_message("PCM request 0x%x: %s", code, err->message);
    return st;
}

/* Linux's playback start: SET_PARAMS with the features it selects,
 * PREPARE, the first periods queued (not kicked under MSG_POLLING), START. */
static uint32_t start_playback(Env *e)
{
    int sid = find_stream(e->sg, VIRTIO_SND_D_OUTPUT);
    g_assert_cmpint(sid, >=, 0);
    uint32_t feat = sg_linux_pcm_features(e->sg, (uint32_t)sid);
    g_assert_cmphex(feat & (1u << VIRTIO_SND_PCM_F_MSG_POLLING), !=, 0);
    g_autoptr(GError) err = NULL;
    uint32_t st = 0;
    g_assert_true(sg_pcm_set_params(e->sg, (uint32_t)sid, PERIOD_BYTES * NMSG, PERIOD_BYTES, 2,
                                    VIRTIO_SND_PCM_FMT_S16, VIRTIO_SND_PCM_RATE_48000, feat, &st,
                                    &err));
    g_assert_no_error(err);
    g_assert_cmphex(st, ==, VIRTIO_SND_S_OK);
    g_assert_cmphex(cmd(e, VIRTIO_SND_R_PCM_PREPARE, (uint32_t)sid), ==, VIRTIO_SND_S_OK);
    for (unsigned int i = 0; i < NMSG; i++) {
        e->msg[i] = sg_io_msg_new(e->sg, (uint32_t)sid, false, PERIOD_BYTES);
        g_assert_cmpint(sg_tx_submit(e->sg, e->msg[i], e->data, false), ==, 0);
    }
    g_assert_cmphex(cmd(e, VIRTIO_SND_R_PCM_START, (uint32_t)sid), ==, VIRTIO_SND_S_OK);
    return (uint32_t)sid;
}

/* Keep the stream fed: every completed period goes back (no kick).
 * Return: completions seen within @ms. */
static unsigned int play_for(Env *e, int ms)
{
    unsigned int n = 0;
    gint64 end = g_get_monotonic_time() + (gint64)ms * 1000;
    while (g_get_monotonic_time() < end) {
        SgIoMsg *m = sg_io_wait(e->sg, false, 20);
        if (!m)
            continue;
        n++;
        e->completed++;
        if (m->status == VIRTIO_SND_S_OK)
            g_assert_cmpint(sg_tx_submit(e->sg, m, e->data, false), ==, 0);
    }
    return n;
}

/* boot.txt: the probe answers; a Linux-style playback runs without a
 * single tx kick (the daemon polls under MSG_POLLING). */
static void test_boot(void)
{
    if (!vd_require())
        return;
    Env e;
    env_boot(&e);
    uint32_t sid = start_playback(&e);
    unsigned int n = play_for(&e, 300);
    g_assert_cmpuint(n, >=, 10);
    g_assert_cmphex(cmd(&e, VIRTIO_SND_R_PCM_STOP, sid), ==, VIRTIO_SND_S_OK);
    g_assert_cmphex(cmd(&e, VIRTIO_SND_R_PCM_RELEASE, sid), ==, VIRTIO_SND_S_OK);
    env_free(&e);
}

/* stop-playing.txt + cont-playing.txt while the fake guest plays: nothing
 * completes while stopped (the rings belong to QEMU), the stream keeps
 * playing after cont, the device is not broken. */
static void test_stop_cont_playing(void)
{
    if (!vd_require())
        return;
    Env e;
    /* declared before the first goto: an autoptr jumped over is freed
     * uninitialised */
    g_autoptr(GError) err = NULL;
    env_boot(&e);
    uint32_t sid = start_playback(&e);
    g_assert_cmpuint(play_for(&e, 200), >=, 5);
    if (!replay(&e, "stop-playing"))
        goto out;
    /* what the device gave back while the rings stopped is in the used
     * ring already; after GET_VRING_BASE nothing more may appear */
    unsigned int given_back = 0;
    SgIoMsg *back[NMSG];
    SgIoMsg *m;
    while ((m = sg_io_wait(e.sg, false, 0)) && given_back < NMSG)
        back[given_back++] = m;
    g_test_message("%u periods completed during the stop sequence", given_back);
    /* as long as the captured stop lasted (about a second) */
    g_assert_null(sg_io_wait(e.sg, false, 1000));
    if (!replay(&e, "cont-playing"))
        goto out;
    if (!vd_alive(e.vd)) {
        g_test_fail_printf("the daemon died at cont");
        goto out;
    }
    /* the guest runs again and sees those completions: Linux queues the
     * next periods in their place (no kick under MSG_POLLING) */
    for (unsigned int i = 0; i < given_back; i++)
        g_assert_cmpint(sg_tx_submit(e.sg, back[i], e.data, false), ==, 0);
    uint8_t st = 0;
    g_assert_true(ff_get_status(e.sg->ff, &st, &err));
    g_assert_no_error(err);
    unsigned int n = play_for(&e, 300);
    if (n < 10 || (st & FF_S_NEEDS_RESET)) {
        g_autofree char *log = vd_stderr(e.vd);
        g_test_message("daemon log:\n%s", log + (strlen(log) > 4000 ? strlen(log) - 4000 : 0));
        g_test_fail_printf("playback does not resume after QEMU's stop+cont (%u periods "
                           "completed in 300 ms, status 0x%x)",
                           n, st);
        goto out;
    }
    g_assert_cmphex(cmd(&e, VIRTIO_SND_R_PCM_STOP, sid), ==, VIRTIO_SND_S_OK);
    g_assert_cmphex(cmd(&e, VIRTIO_SND_R_PCM_RELEASE, sid), ==, VIRTIO_SND_S_OK);
out:
    env_free(&e);
}

/* reset-playing.txt while the fake guest plays: QEMU stops the rings, the
 * guest re-creates them and probes again; the card must then work like
 * after a fresh boot. */
static void test_reset_playing(void)
{
    if (!vd_require())
        return;
    Env e;
    env_boot(&e);
    start_playback(&e);
    g_assert_cmpuint(play_for(&e, 200), >=, 5);
    if (!replay(&e, "reset-playing")) {
        env_free(&e);
        return;
    }
    g_assert_true(vd_alive(e.vd));
    g_assert_cmpuint(e.sg->streams, ==, 2);
    g_autoptr(GError) err = NULL;
    uint8_t st = 0;
    g_assert_true(ff_get_status(e.sg->ff, &st, &err));
    g_assert_no_error(err);
    int sid = find_stream(e.sg, VIRTIO_SND_D_OUTPUT);
    uint32_t feat = sg_linux_pcm_features(e.sg, (uint32_t)sid);
    uint32_t pst = 0;
    bool sent = sg_pcm_set_params(e.sg, (uint32_t)sid, PERIOD_BYTES * NMSG, PERIOD_BYTES, 2,
                                  VIRTIO_SND_PCM_FMT_S16, VIRTIO_SND_PCM_RATE_48000, feat, &pst,
                                  &err);
    /* the guest re-created its rings: the device reset itself, so the
     * new guest's SET_PARAMS is accepted (was: refused in state running) */
    g_assert_no_error(err);
    g_assert_true(sent);
    g_assert_cmphex(pst, ==, VIRTIO_SND_S_OK);
    g_assert_cmphex(st & FF_S_NEEDS_RESET, ==, 0);
    g_assert_cmphex(cmd(&e, VIRTIO_SND_R_PCM_PREPARE, (uint32_t)sid), ==, VIRTIO_SND_S_OK);
    for (unsigned int i = 0; i < NMSG; i++)
        g_assert_cmpint(sg_tx_submit(e.sg, e.msg[i], e.data, false), ==, 0);
    g_assert_cmphex(cmd(&e, VIRTIO_SND_R_PCM_START, (uint32_t)sid), ==, VIRTIO_SND_S_OK);
    g_assert_cmpuint(play_for(&e, 300), >=, 10);
    env_free(&e);
}

/* quit.txt during playback: QEMU stops the rings and disconnects; the
 * daemon stays up and serves the next QEMU. */
static void test_quit(void)
{
    if (!vd_require())
        return;
    Env e;
    env_boot(&e);
    start_playback(&e);
    g_assert_cmpuint(play_for(&e, 200), >=, 5);
    g_assert_true(replay(&e, "quit"));
    g_assert_true(ff_wait_closed(e.sg->ff, 2000));
    g_assert_true(vd_alive(e.vd));
    g_autoptr(GError) err = NULL;
    /* the next QEMU: the recorded boot again, on a fresh connection */
    SgOpts o;
    sg_opts_init(&o);
    o.nregions = 1;
    o.region_size = 16u << 20;
    g_autoptr(SgGuest) sg2 = sg_connect(e.vd, &o, &err);
    g_assert_no_error(err);
    g_autoptr(FrReplay) fr2 = fr_new(sg2);
    g_assert_true(fr_run_file(fr2, "boot", &err));
    g_assert_no_error(err);
    g_assert_cmpuint(sg2->streams, ==, 2);
    env_free(&e);
}

/* migrate-source.txt on daemon A while the fake guest plays, then
 * migrate-destination.txt on daemon B with A's state and ring bases, as
 * the patched QEMU 10.2.2 did it; the guest plays on, on B. */
static void test_migrate_playing(void)
{
    if (!vd_require())
        return;
    g_autoptr(VdProc) b = NULL;
    g_autoptr(FrReplay) fb = NULL;
    g_autoptr(GError) err = NULL;
    Env e;
    env_boot(&e);
    start_playback(&e);
    g_assert_cmpuint(play_for(&e, 200), >=, 5);
    if (!replay(&e, "migrate-source"))
        goto out_a;
    g_assert_nonnull(fr_state(e.fr));
    SgIoMsg *back[NMSG];
    unsigned int given_back = 0;
    SgIoMsg *m;
    while ((m = sg_io_wait(e.sg, false, 0)) && given_back < NMSG)
        back[given_back++] = m;
    g_assert_null(sg_io_wait(e.sg, false, 200));

    const char *extra[] = {"-v", NULL};
    b = vd_spawn_ready(extra, &err);
    g_assert_no_error(err);
    FfConn *to_a = e.sg->ff;
    e.sg->ff = vd_connect(b, &err);
    g_assert_no_error(err);
    fb = fr_new(e.sg);
    fr_set_state(fb, fr_state(e.fr));
    fr_adopt_bases(fb, e.fr);
    bool ok = replay_on(&e, b, fb, "migrate-destination");
    /* the source QEMU exits */
    ff_free(to_a);
    if (!ok)
        goto out_a;
    g_assert_true(vd_alive(b));
    for (unsigned int i = 0; i < given_back; i++)
        g_assert_cmpint(sg_tx_submit(e.sg, back[i], e.data, false), ==, 0);
    unsigned int n = play_for(&e, 300);
    /* the restored running stream negotiated MSG_POLLING: it is polled
     * again once its queue starts */
    g_assert_cmpuint(n, >=, 10);
out_a:
    env_free(&e);
}

/* Has the log of @vd said @what (waiting up to 2 s)? */
static bool log_says(VdProc *vd, const char *what)
{
    for (int i = 0; i < 200; i++) {
        g_autofree char *log = vd_stderr(vd);
        if (strstr(log, what))
            return true;
        g_usleep(10000);
    }
    return false;
}

/* A new daemon with @state_arg on a new connection, the inflight region of
 * the old one handed over, restart-reconnect.txt replayed (QEMU's side of
 * a restart).  *b gets the daemon. */
static bool restart_replay(Env *e, const char *state_arg, VdProc **b)
{
    g_autoptr(GError) err = NULL;
    const char *b_args[] = {"-v", state_arg, NULL};
    *b = vd_spawn_ready(b_args, &err);
    g_assert_no_error(err);
    FfConn *to_a = e->sg->ff;
    e->sg->ff = vd_connect(*b, &err);
    g_assert_no_error(err);
    ff_adopt_inflight(e->sg->ff, to_a);
    g_autoptr(FrReplay) fb = fr_new(e->sg);
    bool ok = replay_on(e, *b, fb, "restart-reconnect");
    ff_free(to_a);
    return ok;
}

/* A daemon with a --state-file in a fresh directory, booted by
 * restart-boot.txt.  Return: the --state-file argument
 * (restart_state_remove() frees it). */
static char *restart_boot(Env *e)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *dir = g_dir_make_tmp("vsnd-replay-restart-XXXXXX", &err);
    g_assert_no_error(err);
    char *state_arg = g_strdup_printf("--state-file=%s/state", dir);
    const char *args[] = {state_arg, NULL};
    env_boot_as(e, args, "restart-boot");
    return state_arg;
}

static void restart_state_remove(char *state_arg)
{
    const char *state = state_arg + strlen("--state-file=");
    g_autofree char *dir = g_path_get_dirname(state);
    g_unlink(state);
    g_rmdir(dir);
    g_free(state_arg);
}

/* restart-boot.txt (QEMU with contrib/qemu's reconnect patch: the inflight
 * region taken at the first start) while the fake guest plays, SIGKILL,
 * then restart-reconnect.txt on a new daemon with the same --state-file
 * and the region handed back, as that QEMU did it: the new daemon restores
 * the running stream and resubmits what was in flight, and the guest plays
 * on without a single control request, nothing completing twice. */
static void test_restart_playing(void)
{
    if (!vd_require())
        return;
    g_autoptr(GError) err = NULL;
    Env e;
    char *state_arg = restart_boot(&e);
    g_assert_nonnull(ff_inflight_map(e.sg->ff, NULL));
    start_playback(&e);
    g_assert_cmpuint(play_for(&e, 200), >=, 5);
    g_assert_cmpint(vd_signal_wait(e.vd, SIGKILL, 5000), !=, -1);
    /* the guest goes on queueing what completed before the death */
    for (SgIoMsg *m; (m = sg_io_wait(e.sg, false, 0));)
        if (m->status == VIRTIO_SND_S_OK)
            g_assert_cmpint(sg_tx_submit(e.sg, m, e.data, false), ==, 0);
    g_autoptr(VdProc) b = NULL;
    if (restart_replay(&e, state_arg, &b)) {
        g_assert_true(log_says(b, "stream state restored"));
        /* every period in flight completes once (sg_io_wait aborts on a
         * second completion), then the stream keeps playing */
        unsigned int n = play_for(&e, 400);
        g_autofree char *log = vd_stderr(b);
        if (n < 10)
            g_test_fail_printf("%u periods completed after the restart:\n%s", n, log);
        g_assert_true(vd_alive(b));
    }
    env_free(&e);
    restart_state_remove(state_arg);
}

/* The same while the fake guest records (Linux: every period queued at
 * START, each re-queued once read): every rx message in flight completes
 * once after the restart, and the capture goes on. */
static void test_restart_capturing(void)
{
    if (!vd_require())
        return;
    g_autoptr(GError) err = NULL;
    Env e;
    char *state_arg = restart_boot(&e);
    int sid = find_stream(e.sg, VIRTIO_SND_D_INPUT);
    g_assert_cmpint(sid, >=, 0);
    uint32_t feat = sg_linux_pcm_features(e.sg, (uint32_t)sid);
    uint32_t st = 0;
    g_assert_true(sg_pcm_set_params(e.sg, (uint32_t)sid, PERIOD_BYTES * NMSG, PERIOD_BYTES, 2,
                                    VIRTIO_SND_PCM_FMT_S16, VIRTIO_SND_PCM_RATE_48000, feat, &st,
                                    &err));
    g_assert_no_error(err);
    g_assert_cmphex(cmd(&e, VIRTIO_SND_R_PCM_PREPARE, (uint32_t)sid), ==, VIRTIO_SND_S_OK);
    g_assert_cmphex(cmd(&e, VIRTIO_SND_R_PCM_START, (uint32_t)sid), ==, VIRTIO_SND_S_OK);
    for (unsigned int i = 0; i < NMSG; i++) {
        e.msg[i] = sg_io_msg_new(e.sg, (uint32_t)sid, true, PERIOD_BYTES);
        g_assert_cmpint(sg_rx_submit(e.sg, e.msg[i], false), ==, 0);
    }
    unsigned int n = 0;
    for (gint64 end = g_get_monotonic_time() + 200000; g_get_monotonic_time() < end;) {
        SgIoMsg *m = sg_io_wait(e.sg, true, 20);
        if (m && m->status == VIRTIO_SND_S_OK) {
            n++;
            g_assert_cmpint(sg_rx_submit(e.sg, m, false), ==, 0);
        }
    }
    g_assert_cmpuint(n, >=, 5);
    g_assert_cmpint(vd_signal_wait(e.vd, SIGKILL, 5000), !=, -1);
    for (SgIoMsg *m; (m = sg_io_wait(e.sg, true, 0));)
        if (m->status == VIRTIO_SND_S_OK)
            g_assert_cmpint(sg_rx_submit(e.sg, m, false), ==, 0);
    g_autoptr(VdProc) b = NULL;
    if (restart_replay(&e, state_arg, &b)) {
        g_assert_true(log_says(b, "stream state restored"));
        unsigned int after = 0, bad = 0;
        for (gint64 end = g_get_monotonic_time() + 400000; g_get_monotonic_time() < end;) {
            SgIoMsg *m = sg_io_wait(e.sg, true, 20);
            if (!m)
                continue;
            if (m->status != VIRTIO_SND_S_OK) {
                bad++;
                continue;
            }
            after++;
            g_assert_cmpint(sg_rx_submit(e.sg, m, false), ==, 0);
        }
        g_autofree char *log = vd_stderr(b);
        if (after < 10 || bad)
            g_test_fail_printf("after the restart: %u periods captured, %u failed:\n%s", after,
                               bad, log);
    }
    env_free(&e);
    restart_state_remove(state_arg);
}

/* migrate-cancel.txt while the fake guest plays: the source stops for the
 * switch-over, the migration is cancelled, and QEMU restarts the rings at
 * their bases with dirty logging still on, then turns logging off.  The
 * stream plays on (MSG_POLLING: polled again), every period completes OK,
 * the device is not broken. */
static void test_migrate_cancel_playing(void)
{
    if (!vd_require())
        return;
    Env e;
    /* declared before the first goto: an autoptr jumped over is freed
     * uninitialised */
    g_autoptr(GError) err = NULL;
    /* recorded with contrib/qemu's 0002, which takes the inflight region at
     * the first start and hands it back at every later one */
    env_boot_as(&e, NULL, "restart-boot");
    uint32_t sid = start_playback(&e);
    g_assert_cmpuint(play_for(&e, 200), >=, 5);
    if (!replay(&e, "migrate-cancel"))
        goto out;
    g_assert_true(vd_alive(e.vd));
    /* what the stop completed is in the used ring: the resumed guest sees
     * it and queues the next periods in its place */
    SgIoMsg *m;
    unsigned int n = 0, errors = 0;
    while ((m = sg_io_wait(e.sg, false, 0))) {
        errors += m->status != VIRTIO_SND_S_OK;
        g_assert_cmpint(sg_tx_submit(e.sg, m, e.data, false), ==, 0);
    }
    gint64 end = g_get_monotonic_time() + 300 * 1000;
    while (g_get_monotonic_time() < end) {
        m = sg_io_wait(e.sg, false, 20);
        if (!m)
            continue;
        n++;
        errors += m->status != VIRTIO_SND_S_OK;
        g_assert_cmpint(sg_tx_submit(e.sg, m, e.data, false), ==, 0);
    }
    uint8_t st = 0;
    g_assert_true(ff_get_status(e.sg->ff, &st, &err));
    g_assert_no_error(err);
    if (n < 10 || errors || (st & FF_S_NEEDS_RESET)) {
        g_autofree char *log = vd_stderr(e.vd);
        g_test_message("daemon log:\n%s", log + (strlen(log) > 4000 ? strlen(log) - 4000 : 0));
        g_test_fail_printf("playback after a cancelled migration: %u periods in 300 ms, %u "
                           "completed with an error, status 0x%x", n, errors, st);
        goto out;
    }
    g_assert_cmphex(cmd(&e, VIRTIO_SND_R_PCM_STOP, sid), ==, VIRTIO_SND_S_OK);
    g_assert_cmphex(cmd(&e, VIRTIO_SND_R_PCM_RELEASE, sid), ==, VIRTIO_SND_S_OK);
out:
    env_free(&e);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/integration/qemu-replay/boot", test_boot);
    g_test_add_func("/integration/qemu-replay/stop-cont-playing", test_stop_cont_playing);
    g_test_add_func("/integration/qemu-replay/reset-playing", test_reset_playing);
    g_test_add_func("/integration/qemu-replay/quit", test_quit);
    g_test_add_func("/integration/qemu-replay/migrate-playing", test_migrate_playing);
    g_test_add_func("/integration/qemu-replay/restart-playing", test_restart_playing);
    g_test_add_func("/integration/qemu-replay/restart-capturing", test_restart_capturing);
    g_test_add_func("/integration/qemu-replay/migrate-cancel-playing",
                    test_migrate_cancel_playing);
    return g_test_run();
}
