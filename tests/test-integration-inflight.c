/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-integration-inflight.c - back-end crash with I/O in flight.
 *
 * vhost-user.rst "Inflight I/O tracking": the front-end gets the shared
 * inflight region with GET_INFLIGHT_FD and hands it to every (re)started
 * back-end with SET_INFLIGHT_FD.  Here the daemon is SIGKILLed while tx
 * messages are in flight; a new daemon receives the same region, the
 * rings with base = the used index (what QEMU restores after a back-end
 * crash), and must complete every message that was still in flight
 * exactly once, for split and packed rings.
 */
#include "config.h"

#include <signal.h>
#include <string.h>

#include <linux/virtio_snd.h>

#include "tests/harness/daemon.h"
#include "tests/harness/fake-frontend.h"
#include "tests/harness/snd-guest.h"

#define PERIOD_BYTES 4800u      /* 25 ms of S16 stereo at 48 kHz */
#define NMSG 12

static void ctl_ok(SgGuest *sg, uint32_t code, uint32_t sid)
{
    g_autoptr(GError) err = NULL;
    uint32_t st = 0;
    g_assert_true(sg_pcm_cmd(sg, code, sid, &st, &err));
    g_assert_no_error(err);
    g_assert_cmphex(st, ==, VIRTIO_SND_S_OK);
}

static void set_params(SgGuest *sg, uint32_t sid)
{
    g_autoptr(GError) err = NULL;
    uint32_t st = 0;
    g_assert_true(sg_pcm_set_params(sg, sid, PERIOD_BYTES * NMSG, PERIOD_BYTES, 2,
                                    VIRTIO_SND_PCM_FMT_S16, VIRTIO_SND_PCM_RATE_48000, 0, &st,
                                    &err));
    g_assert_no_error(err);
    g_assert_cmphex(st, ==, VIRTIO_SND_S_OK);
}

static void resubmit(gconstpointer param)
{
    bool packed = GPOINTER_TO_INT(param);
    if (!vd_require())
        return;
    g_autoptr(GError) err = NULL;
    g_autoptr(VdProc) vd = vd_spawn_ready(NULL, &err);
    g_assert_no_error(err);
    SgOpts o;
    sg_opts_init(&o);
    o.packed = packed;
    g_autoptr(SgGuest) sg = sg_connect(vd, &o, &err);
    g_assert_no_error(err);
    ff_setup(sg->ff)->inflight = true;
    if (packed) {
        uint64_t f;
        g_assert_true(ff_get_u64(sg->ff, FF_GET_FEATURES, &f, &err));
        if (!(f & (1ull << 34))) {
            g_test_fail_printf("daemon does not offer VIRTIO_F_RING_PACKED (a missing feature fails, never skips)");
            return;
        }
    }
    g_assert_true(sg_boot(sg, &err));
    g_assert_no_error(err);
    g_assert_true(ff_has_protocol(sg->ff, FF_PROTO_F_INFLIGHT_SHMFD));
    uint64_t isize;
    g_assert_nonnull(ff_inflight_map(sg->ff, &isize));
    g_assert_cmpuint(isize, >, 0);

    uint32_t sid = 0;
    for (uint32_t i = 0; i < sg->streams; i++)
        if (sg->pcm[i].direction == VIRTIO_SND_D_OUTPUT) {
            sid = i;
            break;
        }
    set_params(sg, sid);
    ctl_ok(sg, VIRTIO_SND_R_PCM_PREPARE, sid);
    g_autofree uint8_t *data = g_malloc0(PERIOD_BYTES);
    unsigned int count[NMSG] = { 0 };
    SgIoMsg *m[NMSG];
    for (unsigned int i = 0; i < NMSG; i++) {
        m[i] = sg_io_msg_new(sg, sid, false, PERIOD_BYTES);
        g_assert_cmpint(sg_tx_submit(sg, m[i], data, false), ==, 0);
    }
    ctl_ok(sg, VIRTIO_SND_R_PCM_START, sid);
    /* let a couple of periods play, then crash the back-end */
    for (unsigned int k = 0; k < 2; k++) {
        SgIoMsg *d = sg_io_wait(sg, false, 3000);
        g_assert_nonnull(d);
        for (unsigned int i = 0; i < NMSG; i++)
            count[i] += d == m[i];
    }
    g_assert_cmpint(vd_signal_wait(vd, SIGKILL, 5000), !=, -1);
    /* whatever it completed before dying is in the used ring */
    for (SgIoMsg *d; (d = sg_io_wait(sg, false, 0));)
        for (unsigned int i = 0; i < NMSG; i++)
            count[i] += d == m[i];
    unsigned int before = 0;
    for (unsigned int i = 0; i < NMSG; i++)
        before += count[i];
    g_test_message("%u of %u tx messages completed before SIGKILL", before, NMSG);
    g_assert_cmpuint(before, <, NMSG);   /* some were really in flight */

    /* QEMU: new back-end, same inflight region, rings from the used idx */
    g_autoptr(VdProc) vd2 = vd_spawn_ready(NULL, &err);
    g_assert_no_error(err);
    g_autoptr(FfConn) ff2 = vd_connect(vd2, &err);
    g_assert_no_error(err);
    ff_adopt_inflight(ff2, sg->ff);
    FfSetup *s2 = ff_setup(ff2);
    *s2 = *ff_setup(sg->ff);
    g_assert_true(ff_realize(ff2, &err));
    g_assert_no_error(err);
    uint32_t bases[4];
    for (unsigned int q = 0; q < 4; q++)
        bases[q] = fg_vq_base(sg->vq[q]);
    g_assert_true(ff_start(ff2, sg->mem, sg->vq, bases, &err));
    g_assert_no_error(err);
    /* the guest's driver keeps going on the same rings */
    FfConn *old = sg->ff;
    sg->ff = ff2;
    set_params(sg, sid);
    ctl_ok(sg, VIRTIO_SND_R_PCM_PREPARE, sid);
    ctl_ok(sg, VIRTIO_SND_R_PCM_START, sid);
    unsigned int total = before;
    while (total < NMSG) {
        SgIoMsg *d = sg_io_wait(sg, false, 5000);
        if (!d) {
            g_autofree char *log = vd_stderr(vd2);
            g_error("only %u of %u in-flight messages completed after restart; stderr:\n%s",
                    total - before, NMSG - before, log);
        }
        for (unsigned int i = 0; i < NMSG; i++)
            count[i] += d == m[i];
        total++;
    }
    /* nothing completes twice (a duplicate would also abort in
     * sg_io_wait: its id is no longer in flight) */
    g_assert_null(sg_io_wait(sg, false, 300));
    for (unsigned int i = 0; i < NMSG; i++)
        g_assert_cmpuint(count[i], ==, 1);
    sg->ff = old;
    g_assert_true(vd_alive(vd2));
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_data_func("/integration/inflight/split/sigkill-resubmit-exactly-once",
                         GINT_TO_POINTER(0), resubmit);
    g_test_add_data_func("/integration/inflight/packed/sigkill-resubmit-exactly-once",
                         GINT_TO_POINTER(1), resubmit);
    return g_test_run();
}
