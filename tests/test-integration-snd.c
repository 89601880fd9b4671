/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-integration-snd.c - the real daemon against a fake Linux guest.
 *
 * tests/harness/snd-guest plays the Linux virtio-snd driver on top of the
 * fake QEMU: probe, control requests, PCM playback/capture with the null
 * host driver, bad requests on valid rings (answered BAD_MSG/NOT_SUPP,
 * life goes on), and the event-queue starvation case: the guest fills the
 * event queue at probe without kicking it (EVENT_IDX negotiated); control
 * requests must still be answered promptly and the daemon must not spin.
 */
#include "config.h"

#include <endian.h>
#include <signal.h>
#include <string.h>

#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <linux/virtio_snd.h>

#include "tests/harness/daemon.h"
#include "tests/harness/fake-frontend.h"
#include "tests/harness/snd-guest.h"
#ifdef SG_HAVE_CTLS
#include "snd/snd-proto.h"
#endif

#define PERIOD_BYTES 1920u      /* 10 ms of S16 stereo at 48 kHz */

static VdProc *spawn(void)
{
    g_autoptr(GError) err = NULL;
    VdProc *vd = vd_spawn_ready(NULL, &err);
    g_assert_no_error(err);
    return vd;
}

static SgGuest *boot(VdProc *vd, bool packed)
{
    g_autoptr(GError) err = NULL;
    SgOpts o;
    sg_opts_init(&o);
    o.packed = packed;
    SgGuest *sg = sg_connect(vd, &o, &err);
    g_assert_no_error(err);
    if (!sg_boot(sg, &err)) {
        g_autofree char *log = vd_stderr(vd);
        g_printerr("daemon stderr:\n%s\n", log);
    }
    g_assert_no_error(err);
    return sg;
}

static void ok(SgGuest *sg, uint32_t code, uint32_t sid)
{
    g_autoptr(GError) err = NULL;
    uint32_t st = 0;
    g_assert_true(sg_pcm_cmd(sg, code, sid, &st, &err));
    g_assert_no_error(err);
    g_assert_cmphex(st, ==, VIRTIO_SND_S_OK);
}

/* A guest that kicks the ring for every buffer (Linux before 6.7, which
 * had no MSG_POLLING) instead of the features Linux selects today. */
static bool kick_every_buffer;

static void params(SgGuest *sg, uint32_t sid, uint32_t period, unsigned int periods)
{
    g_autoptr(GError) err = NULL;
    uint32_t st = 0;
    /* the features Linux selects (MSG_POLLING|EVT_XRUNS when offered);
     * the fake guest then kicks tx/rx no more, like Linux */
    uint32_t features = kick_every_buffer ? 0 : sg_linux_pcm_features(sg, sid);

    g_assert_true(sg_pcm_set_params(sg, sid, period * periods, period, 2, VIRTIO_SND_PCM_FMT_S16,
                                    VIRTIO_SND_PCM_RATE_48000, features, &st, &err));
    g_assert_no_error(err);
    g_assert_cmphex(st, ==, VIRTIO_SND_S_OK);
}

static int find_stream(SgGuest *sg, uint8_t dir)
{
    for (uint32_t i = 0; i < sg->streams; i++)
        if (sg->pcm[i].direction == dir)
            return (int)i;
    return -1;
}

static void probe(bool packed)
{
    if (!vd_require())
        return;
    g_autoptr(VdProc) vd = spawn();
    g_autoptr(GError) err = NULL;
    if (packed) {
        g_autoptr(FfConn) ff = vd_connect(vd, &err);
        g_assert_no_error(err);
        uint64_t f;
        g_assert_true(ff_get_u64(ff, FF_GET_FEATURES, &f, &err));
        if (!(f & (1ull << 34))) {
            g_test_fail_printf("daemon does not offer VIRTIO_F_RING_PACKED (a missing feature fails, never skips)");
            return;
        }
    }
    g_autoptr(SgGuest) sg = boot(vd, packed);
    /* default topology: 2 streams, one output and one input */
    g_assert_cmpuint(sg->streams, ==, 2);
    g_assert_cmpint(find_stream(sg, VIRTIO_SND_D_OUTPUT), >=, 0);
    g_assert_cmpint(find_stream(sg, VIRTIO_SND_D_INPUT), >=, 0);
    for (uint32_t i = 0; i < sg->streams; i++) {
        const struct virtio_snd_pcm_info *p = &sg->pcm[i];
        static const uint8_t zero[5];
        g_assert_cmpmem(p->padding, 5, zero, 5);
        g_assert_true(le64toh(p->formats) & (1ull << VIRTIO_SND_PCM_FMT_S16));
        g_assert_true(le64toh(p->rates) & (1ull << VIRTIO_SND_PCM_RATE_48000));
    }
    for (uint32_t i = 0; i < sg->chmaps; i++)
        g_assert_cmpuint(sg->chmap[i].channels, >=, 1);
    /* every config read gives the same answer */
    uint32_t v;
    g_assert_true(sg_read_config(sg, 4, &v, &err));
    g_assert_cmpuint(v, ==, sg->streams);
}

static void test_probe_split(void) { probe(false); }
static void test_probe_packed(void) { probe(true); }

/* Linux fills the event queue at probe and never kicks it; with EVENT_IDX
 * a device that waits for the kick, or polls the ring in a loop, shows up
 * here: control requests must be answered at once, CPU must stay idle. */
static void test_event_queue_starvation(void)
{
    if (!vd_require())
        return;
    g_autoptr(VdProc) vd = spawn();
    g_autoptr(SgGuest) sg = boot(vd, false);
    g_assert_true(sg->event_idx);
    g_assert_cmpuint(sg_event_free(sg), ==, sg->opts.queue_size);
    double cpu0 = vd_cpu_seconds(vd);
    g_assert_cmpfloat(cpu0, >=, 0);
    for (unsigned int i = 0; i < 50; i++) {
        g_autoptr(GError) err = NULL;
        struct virtio_snd_pcm_info info[2];
        uint32_t st;
        gint64 t0 = g_get_monotonic_time();
        g_assert_true(sg_query_info(sg, VIRTIO_SND_R_PCM_INFO, 0, sg->streams, sizeof(info[0]),
                                    info, &st, &err));
        g_assert_no_error(err);
        g_assert_cmphex(st, ==, VIRTIO_SND_S_OK);
        /* Linux gives up after 1 s; be far below even on a loaded box */
        g_assert_cmpint(g_get_monotonic_time() - t0, <, 900 * 1000);
    }
    double cpu1 = vd_cpu_seconds(vd);
    g_usleep(2 * G_USEC_PER_SEC);
    double cpu2 = vd_cpu_seconds(vd);
    g_test_message("daemon CPU: %.3f s for 50 requests, %.3f s idle over 2 s", cpu1 - cpu0,
                   cpu2 - cpu1);
    g_assert_cmpfloat(cpu2 - cpu1, <, 0.3);   /* a spinning device burns ~2 s */
    g_assert_cmpfloat(cpu1 - cpu0, <, 1.0);
    /* no event buffer was consumed without an event */
    g_assert_cmpuint(sg_event_free(sg), ==, sg->opts.queue_size);
}

typedef struct BadReq {
    const char *name;
    uint8_t req[32];
    size_t len;
    uint32_t resp_len;
    bool not_supp_ok;     /* NOT_SUPP is also an acceptable answer */
} BadReq;

#define LE(x) (uint8_t)((x) & 0xff), (uint8_t)(((x) >> 8) & 0xff), (uint8_t)(((x) >> 16) & 0xff), \
              (uint8_t)(((uint32_t)(x) >> 24) & 0xff)

static const BadReq bad_reqs[] = {
    { "prepare-stream-99", { LE(VIRTIO_SND_R_PCM_PREPARE), LE(99) }, 8, 0, false },
    { "prepare-stream-2^31", { LE(VIRTIO_SND_R_PCM_PREPARE), LE(0x80000000u) }, 8, 0, false },
    { "request-too-short", { LE(VIRTIO_SND_R_PCM_PREPARE) }, 2, 0, false },
    { "unknown-code", { LE(0x9999) }, 8, 0, true },
    { "query-count-huge", { LE(VIRTIO_SND_R_PCM_INFO), LE(0), LE(0xffffffffu), LE(32) }, 16, 64, false },
    { "query-start-plus-count-wraps", { LE(VIRTIO_SND_R_PCM_INFO), LE(0xffffffffu), LE(2), LE(32) }, 16, 64, false },
    { "query-response-too-small", { LE(VIRTIO_SND_R_PCM_INFO), LE(0), LE(2), LE(32) }, 16, 32, false },
    { "set-params-format-bit-64", { LE(VIRTIO_SND_R_PCM_SET_PARAMS), LE(0), LE(19200), LE(4800), LE(0), 2, 64, VIRTIO_SND_PCM_RATE_48000, 0 }, 24, 0, true },
    { "set-params-rate-bit-200", { LE(VIRTIO_SND_R_PCM_SET_PARAMS), LE(0), LE(19200), LE(4800), LE(0), 2, VIRTIO_SND_PCM_FMT_S16, 200, 0 }, 24, 0, true },
    { "set-params-zero-channels", { LE(VIRTIO_SND_R_PCM_SET_PARAMS), LE(0), LE(19200), LE(4800), LE(0), 0, VIRTIO_SND_PCM_FMT_S16, VIRTIO_SND_PCM_RATE_48000, 0 }, 24, 0, true },
    { "set-params-period-zero", { LE(VIRTIO_SND_R_PCM_SET_PARAMS), LE(0), LE(19200), LE(0), LE(0), 2, VIRTIO_SND_PCM_FMT_S16, VIRTIO_SND_PCM_RATE_48000, 0 }, 24, 0, true },
    { "set-params-period-over-buffer", { LE(VIRTIO_SND_R_PCM_SET_PARAMS), LE(0), LE(4800), LE(19200), LE(0), 2, VIRTIO_SND_PCM_FMT_S16, VIRTIO_SND_PCM_RATE_48000, 0 }, 24, 0, true },
    { "start-before-prepare", { LE(VIRTIO_SND_R_PCM_START), LE(0) }, 8, 0, false },
};

static void test_bad_request(gconstpointer data)
{
    const BadReq *b = data;
    if (!vd_require())
        return;
    g_autoptr(VdProc) vd = spawn();
    g_autoptr(SgGuest) sg = boot(vd, false);
    g_autoptr(GError) err = NULL;
    SgCtl *c = sg_ctl_submit(sg, b->req, b->len, NULL, 0, b->resp_len, &err);
    g_assert_no_error(err);
    g_assert_true(sg_ctl_wait(sg, c, 1000, &err));
    g_assert_no_error(err);
    uint32_t st = sg_ctl_status(sg, c);
    if (b->not_supp_ok && st == VIRTIO_SND_S_NOT_SUPP)
        st = VIRTIO_SND_S_BAD_MSG;
    g_assert_cmphex(st, ==, VIRTIO_SND_S_BAD_MSG);
    g_assert_cmpuint(c->used_len, >=, 4);
    g_assert_cmpuint(c->used_len, <=, 4 + b->resp_len);
    sg_ctl_release(c);
    g_assert_true(vd_alive(vd));
    /* life goes on: the stream still works */
    params(sg, 0, 4800, 4);
    ok(sg, VIRTIO_SND_R_PCM_PREPARE, 0);
    ok(sg, VIRTIO_SND_R_PCM_RELEASE, 0);
}

/* Linux >= 6.7 playback: pre-buffer before START, then a period at a
 * time; completions are the guest's clock. */
static void test_playback(void)
{
    if (!vd_require())
        return;
    g_autoptr(VdProc) vd = spawn();
    g_autoptr(SgGuest) sg = boot(vd, false);
    int sid = find_stream(sg, VIRTIO_SND_D_OUTPUT);
    g_assert_cmpint(sid, >=, 0);
    enum { NPER = 4, TOTAL = 16 };
    params(sg, (uint32_t)sid, PERIOD_BYTES, NPER);
    ok(sg, VIRTIO_SND_R_PCM_PREPARE, (uint32_t)sid);
    SgIoMsg *m[NPER];
    g_autofree uint8_t *data = g_malloc(PERIOD_BYTES);
    for (unsigned int i = 0; i < PERIOD_BYTES; i++)
        data[i] = (uint8_t)i;
    for (unsigned int i = 0; i < NPER; i++) {
        m[i] = sg_io_msg_new(sg, (uint32_t)sid, false, PERIOD_BYTES);
        g_assert_cmpint(sg_tx_submit(sg, m[i], data, false), ==, 0);
    }
    /* not played before START */
    g_assert_null(sg_io_wait(sg, false, 100));
    gint64 t_start = g_get_monotonic_time();
    ok(sg, VIRTIO_SND_R_PCM_START, (uint32_t)sid);
    unsigned int submitted = NPER, done = 0, last_seq = 0;
    while (done < TOTAL) {
        SgIoMsg *d = sg_io_wait(sg, false, 3000);
        g_assert_nonnull(d);
        g_assert_cmphex(d->status, ==, VIRTIO_SND_S_OK);
        g_assert_cmpuint(d->used_len, ==, sizeof(struct virtio_snd_pcm_status));
        if (done)
            g_assert_cmpuint(d->seq, >, last_seq);    /* FIFO per stream */
        last_seq = d->seq;
        done++;
        if (submitted < TOTAL) {
            g_assert_cmpint(sg_tx_submit(sg, d, data, false), ==, 0);
            submitted++;
        }
    }
    gint64 elapsed = g_get_monotonic_time() - t_start;
    g_test_message("%u periods of 10 ms completed in %" G_GINT64_FORMAT " us", TOTAL, elapsed);
    /* paced at the audio clock: at least half of real time (the first
     * NPER periods may fill a host buffer), at most a lot */
    g_assert_cmpint(elapsed, >=, (TOTAL - NPER) * 10000 / 2);
    g_assert_cmpint(elapsed, <, 10 * G_USEC_PER_SEC);
    ok(sg, VIRTIO_SND_R_PCM_STOP, (uint32_t)sid);
    ok(sg, VIRTIO_SND_R_PCM_RELEASE, (uint32_t)sid);
}

static void test_playback_kicked(void)
{
    kick_every_buffer = true;
    test_playback();
    kick_every_buffer = false;
}

/*
 * A daemon whose stderr nobody reads (a full pipe; the same as a log file
 * on a disk that stalls) keeps serving: GLib's writer wrote every message
 * on the main thread, which blocked in write() once the pipe was full and
 * answered nothing more (a guest's play stopped; its write failed with
 * EIO).  With --verbose every control request logs a line: 2000 of them
 * fill a 4 KiB pipe many times over, and each must still be answered.
 */
static void test_stderr_not_read(void)
{
    const char *argv[] = { "--driver=null", "-v", NULL };
    g_autoptr(GError) err = NULL;
    g_autoptr(VdProc) vd = NULL;
    g_autoptr(SgGuest) sg = NULL;
    struct virtio_snd_pcm_info info;
    int pipefd[2];

    if (!vd_require())
        return;
    g_assert_cmpint(pipe2(pipefd, O_CLOEXEC), ==, 0);
    g_assert_cmpint(fcntl(pipefd[1], F_SETPIPE_SZ, 4096), >=, 4096);
    vd = vd_spawn_full(VD_LISTEN_SOCKET, argv, pipefd[1], &err);
    g_assert_no_error(err);
    close(pipefd[1]);
    g_assert_true(vd_wait_socket(vd, 10000));
    sg = boot(vd, false);
    for (int i = 0; i < 2000; i++) {
        uint32_t st = 0;

        if (!sg_query_info(sg, VIRTIO_SND_R_PCM_INFO, 0, 1, sizeof(info), &info, &st, &err))
            g_error("request %d unanswered with stderr full: %s", i, err->message);
        g_assert_cmphex(st, ==, VIRTIO_SND_S_OK);
    }
    close(pipefd[0]);
}

/* XRUN events with the features Linux selects (EVT_XRUNS offered and
 * taken): a playback stream the guest stops feeding underflows once the
 * null host has played its two periods; a capture stream without rx
 * buffers overflows.  Each raises VIRTIO_SND_EVT_PCM_XRUN for its stream
 * and the daemon's log counts them. */
static void test_xrun_events(void)
{
    if (!vd_require())
        return;
    g_autoptr(VdProc) vd = spawn();
    g_autoptr(SgGuest) sg = boot(vd, false);
    int out = find_stream(sg, VIRTIO_SND_D_OUTPUT), in = find_stream(sg, VIRTIO_SND_D_INPUT);
    g_autofree uint8_t *data = g_malloc0(PERIOD_BYTES);
    struct virtio_snd_event ev;

    g_assert_true(sg_linux_pcm_features(sg, (uint32_t)out) & (1u << VIRTIO_SND_PCM_F_EVT_XRUNS));
    params(sg, (uint32_t)out, PERIOD_BYTES, 4);
    ok(sg, VIRTIO_SND_R_PCM_PREPARE, (uint32_t)out);
    for (unsigned int i = 0; i < 2; i++)
        g_assert_cmpint(sg_tx_submit(sg, sg_io_msg_new(sg, (uint32_t)out, false, PERIOD_BYTES),
                                     data, false), ==, 0);
    ok(sg, VIRTIO_SND_R_PCM_START, (uint32_t)out);
    for (unsigned int i = 0; i < 2; i++)
        g_assert_nonnull(sg_io_wait(sg, false, 1000));
    /* nothing more: dry within the host's 20 ms (plus scheduling) */
    gint64 t0 = g_get_monotonic_time();
    g_assert_true(sg_event_get(sg, &ev, 2000));
    g_test_message("playback XRUN %" G_GINT64_FORMAT " ms after the last completion",
                   (g_get_monotonic_time() - t0) / 1000);
    g_assert_cmphex(le32toh(ev.hdr.code), ==, VIRTIO_SND_EVT_PCM_XRUN);
    g_assert_cmpuint(le32toh(ev.data), ==, (uint32_t)out);
    /* once per dry spell */
    g_assert_false(sg_event_get(sg, &ev, 200));
    /* feeding again plays on */
    g_assert_cmpint(sg_tx_submit(sg, sg_io_msg_new(sg, (uint32_t)out, false, PERIOD_BYTES), data,
                                 false), ==, 0);
    SgIoMsg *d = sg_io_wait(sg, false, 1000);
    g_assert_nonnull(d);
    g_assert_cmphex(d->status, ==, VIRTIO_SND_S_OK);
    ok(sg, VIRTIO_SND_R_PCM_STOP, (uint32_t)out);
    ok(sg, VIRTIO_SND_R_PCM_RELEASE, (uint32_t)out);
    /* drain the second underrun's event, if the stop came after it */
    while (sg_event_get(sg, &ev, 100))
        g_assert_cmpuint(le32toh(ev.data), ==, (uint32_t)out);

    params(sg, (uint32_t)in, PERIOD_BYTES, 4);
    ok(sg, VIRTIO_SND_R_PCM_PREPARE, (uint32_t)in);
    ok(sg, VIRTIO_SND_R_PCM_START, (uint32_t)in);
    g_assert_true(sg_event_get(sg, &ev, 2000));
    g_assert_cmphex(le32toh(ev.hdr.code), ==, VIRTIO_SND_EVT_PCM_XRUN);
    g_assert_cmpuint(le32toh(ev.data), ==, (uint32_t)in);
    ok(sg, VIRTIO_SND_R_PCM_STOP, (uint32_t)in);
    ok(sg, VIRTIO_SND_R_PCM_RELEASE, (uint32_t)in);

    g_autofree char *log = vd_stderr(vd);
    g_assert_nonnull(strstr(log, "playback underrun"));
    g_assert_nonnull(strstr(log, "capture overrun"));
    g_assert_nonnull(strstr(log, "xruns while it was prepared"));
}

/* RELEASE completes every pending I/O message: Linux's sync_stop waits
 * msg_timeout_ms (1 s) after the reply for them; later ones make the
 * next hw_params/prepare fail with -EBADFD (guest notes 5.4). */
static void test_release_flushes(void)
{
    if (!vd_require())
        return;
    g_autoptr(VdProc) vd = spawn();
    g_autoptr(SgGuest) sg = boot(vd, false);
    int sid = find_stream(sg, VIRTIO_SND_D_OUTPUT);
    params(sg, (uint32_t)sid, PERIOD_BYTES, 4);
    ok(sg, VIRTIO_SND_R_PCM_PREPARE, (uint32_t)sid);
    g_autofree uint8_t *data = g_malloc0(PERIOD_BYTES);
    for (unsigned int i = 0; i < 3; i++)
        g_assert_cmpint(sg_tx_submit(sg, sg_io_msg_new(sg, (uint32_t)sid, false, PERIOD_BYTES),
                                     data, false), ==, 0);
    gint64 t0 = g_get_monotonic_time();
    ok(sg, VIRTIO_SND_R_PCM_RELEASE, (uint32_t)sid);
    for (unsigned int i = 0; i < 3; i++)
        g_assert_nonnull(sg_io_wait(sg, false, 1000));
    g_assert_cmpint(g_get_monotonic_time() - t0, <, G_USEC_PER_SEC);
    g_assert_null(sg_io_wait(sg, false, 100));
    /* XRUN recovery: RELEASE -> PREPARE without SET_PARAMS */
    ok(sg, VIRTIO_SND_R_PCM_PREPARE, (uint32_t)sid);
    ok(sg, VIRTIO_SND_R_PCM_RELEASE, (uint32_t)sid);
}

static void test_capture(void)
{
    if (!vd_require())
        return;
    g_autoptr(VdProc) vd = spawn();
    g_autoptr(SgGuest) sg = boot(vd, false);
    int sid = find_stream(sg, VIRTIO_SND_D_INPUT);
    g_assert_cmpint(sid, >=, 0);
    enum { NPER = 4 };
    params(sg, (uint32_t)sid, PERIOD_BYTES, NPER);
    ok(sg, VIRTIO_SND_R_PCM_PREPARE, (uint32_t)sid);
    for (unsigned int i = 0; i < NPER; i++)
        g_assert_cmpint(sg_rx_submit(sg, sg_io_msg_new(sg, (uint32_t)sid, true, PERIOD_BYTES),
                                     false), ==, 0);
    ok(sg, VIRTIO_SND_R_PCM_START, (uint32_t)sid);
    g_autofree uint8_t *buf = g_malloc(PERIOD_BYTES);
    for (unsigned int i = 0; i < 2 * NPER; i++) {
        SgIoMsg *d = sg_io_wait(sg, true, 3000);
        g_assert_nonnull(d);
        g_assert_cmphex(d->status, ==, VIRTIO_SND_S_OK);
        /* full period + status in the last 8 bytes (guest notes 5.3) */
        g_assert_cmpuint(d->used_len, ==, PERIOD_BYTES + sizeof(struct virtio_snd_pcm_status));
        sg_io_read(sg, d, buf);
        unsigned int untouched = 0;
        for (unsigned int k = 0; k < PERIOD_BYTES; k++)
            untouched += buf[k] == 0xee;
        g_assert_cmpuint(untouched, <, PERIOD_BYTES);
        g_assert_cmpint(sg_rx_submit(sg, d, false), ==, 0);
    }
    ok(sg, VIRTIO_SND_R_PCM_STOP, (uint32_t)sid);
    ok(sg, VIRTIO_SND_R_PCM_RELEASE, (uint32_t)sid);
}


/* Capture from the wav driver's test tone: real samples arrive in the
 * guest's scattered pages, every channel equal, about -6 dBFS. */
static void test_capture_tone(void)
{
    if (!vd_require())
        return;
    g_autoptr(GError) err = NULL;
    const char *argv[] = { "--driver=wav,tone=1000", NULL };
    g_autoptr(VdProc) vd = vd_spawn(VD_LISTEN_SOCKET, argv, &err);
    g_assert_no_error(err);
    g_assert_true(vd_wait_socket(vd, 10000));
    g_autoptr(SgGuest) sg = sg_connect(vd, NULL, &err);
    g_assert_no_error(err);
    g_assert_true(sg_boot(sg, &err));
    g_assert_no_error(err);
    int sid = find_stream(sg, VIRTIO_SND_D_INPUT);
    g_assert_cmpint(sid, >=, 0);
    params(sg, (uint32_t)sid, 4800, 4);
    ok(sg, VIRTIO_SND_R_PCM_PREPARE, (uint32_t)sid);
    for (unsigned int i = 0; i < 4; i++)
        g_assert_cmpint(sg_rx_submit(sg, sg_io_msg_new(sg, (uint32_t)sid, true, 4800), false), ==, 0);
    ok(sg, VIRTIO_SND_R_PCM_START, (uint32_t)sid);
    g_autofree int16_t *pcm = g_malloc(4800);
    for (unsigned int i = 0; i < 4; i++) {
        SgIoMsg *d = sg_io_wait(sg, true, 3000);
        g_assert_nonnull(d);
        g_assert_cmpuint(d->used_len, ==, 4800 + 8);
        sg_io_read(sg, d, pcm);
        int peak = 0;
        for (unsigned int f = 0; f < 4800 / 4; f++) {
            int l = (int16_t)le16toh((uint16_t)pcm[2 * f]), r = (int16_t)le16toh((uint16_t)pcm[2 * f + 1]);
            g_assert_cmpint(l, ==, r);
            peak = MAX(peak, ABS(l));
        }
        g_assert_cmpint(peak, >, 12000);    /* half scale is 16384 */
        g_assert_cmpint(peak, <, 20000);
    }
    ok(sg, VIRTIO_SND_R_PCM_STOP, (uint32_t)sid);
    ok(sg, VIRTIO_SND_R_PCM_RELEASE, (uint32_t)sid);
}


/* I/O for a stream that does not exist / has the wrong direction is
 * completed with BAD_MSG, at once. */
static void test_io_bad_stream(void)
{
    if (!vd_require())
        return;
    g_autoptr(VdProc) vd = spawn();
    g_autoptr(SgGuest) sg = boot(vd, false);
    int in = find_stream(sg, VIRTIO_SND_D_INPUT), out = find_stream(sg, VIRTIO_SND_D_OUTPUT);
    g_autofree uint8_t *data = g_malloc0(PERIOD_BYTES);
    struct {
        uint32_t sid;
        bool capture;
    } cases[] = { { 99, false }, { 0xffffffffu, false }, { 99, true },
                  { (uint32_t)in, false }, { (uint32_t)out, true } };
    for (unsigned int i = 0; i < G_N_ELEMENTS(cases); i++) {
        SgIoMsg *m = sg_io_msg_new(sg, cases[i].sid, cases[i].capture, PERIOD_BYTES);
        if (cases[i].capture)
            g_assert_cmpint(sg_rx_submit(sg, m, false), ==, 0);
        else
            g_assert_cmpint(sg_tx_submit(sg, m, data, false), ==, 0);
        SgIoMsg *d = sg_io_wait(sg, cases[i].capture, 2000);
        g_assert_true(d == m);
        g_assert_cmphex(d->status, ==, VIRTIO_SND_S_BAD_MSG);
    }
    g_assert_true(vd_alive(vd));
}

#ifdef SG_HAVE_CTLS
/* QEMU controls=on with a Linux >= 6.9 guest: 16-byte config, CTL_INFO,
 * ENUM_ITEMS per enumerated control; then every readable control reads. */
static void test_probe_controls(void)
{
    if (!vd_require())
        return;
    g_autoptr(GError) err = NULL;
    static const char *const extra[] = { "--controls", NULL };
    g_autoptr(VdProc) vd = vd_spawn_ready(extra, &err);
    g_assert_no_error(err);
    SgOpts o;
    sg_opts_init(&o);
    o.controls = true;
    g_autoptr(SgGuest) sg = sg_connect(vd, &o, &err);
    g_assert_no_error(err);
    g_assert_true(sg_boot(sg, &err));
    g_assert_no_error(err);
    g_assert_true(sg->features & (1ull << VIRTIO_SND_F_CTLS));
    for (uint32_t i = 0; i < sg->controls; i++) {
        const struct vsnd_ctl_info *ci = (const void *)(sg->ctl_info + sizeof(*ci) * i);
        if (!(le32toh(ci->access) & (1u << VIRTIO_SND_CTL_ACCESS_READ)))
            continue;
        struct vsnd_ctl_hdr h = { .hdr.code = htole32(VIRTIO_SND_R_CTL_READ),
                                  .control_id = htole32(i) };
        g_autofree struct vsnd_ctl_value *v = g_new0(struct vsnd_ctl_value, 1);
        uint32_t st;
        g_assert_true(sg_ctl(sg, &h, sizeof(h), v, sizeof(*v), &st, &err));
        g_assert_no_error(err);
        g_assert_cmphex(st, ==, VIRTIO_SND_S_OK);
    }
    /* a control id past the end is a bad message */
    struct vsnd_ctl_hdr h = { .hdr.code = htole32(VIRTIO_SND_R_CTL_READ),
                              .control_id = htole32(sg->controls) };
    g_autofree struct vsnd_ctl_value *v = g_new0(struct vsnd_ctl_value, 1);
    uint32_t st;
    g_assert_true(sg_ctl(sg, &h, sizeof(h), v, sizeof(*v), &st, &err));
    g_assert_cmphex(st, ==, VIRTIO_SND_S_BAD_MSG);
}
#endif

/* Find the "data" chunk of a RIFF/WAVE file. */
static const uint8_t *wav_data(const uint8_t *f, gsize len, gsize *data_len)
{
    if (len < 12 || memcmp(f, "RIFF", 4) || memcmp(f + 8, "WAVE", 4))
        return NULL;
    gsize off = 12;
    while (off + 8 <= len) {
        uint32_t sz;
        memcpy(&sz, f + off + 4, 4);
        sz = le32toh(sz);
        if (!memcmp(f + off, "data", 4)) {
            *data_len = MIN((gsize)sz, len - off - 8);
            return f + off + 8;
        }
        off += 8 + sz + (sz & 1);
    }
    return NULL;
}

typedef struct WavCase {
    bool packed;
    bool no_indirect;
    bool no_event_idx;
    uint32_t period;       /* not a multiple of the page size: odd splits */
    uint32_t max_seg;      /* cut descriptors at odd byte counts */
} WavCase;

/* What the guest plays arrives byte-exact in the host file: the period's
 * pages are scattered over the guest regions, split into one descriptor
 * per page (or one indirect table), across region boundaries. */
static void test_playback_wav(gconstpointer data)
{
    const WavCase *wc = data;
    if (!vd_require())
        return;
    g_autoptr(GError) err = NULL;
    g_autofree char *dir = g_dir_make_tmp("vsnd-wav-XXXXXX", &err);
    g_assert_no_error(err);
    g_autofree char *drv = g_strdup_printf("--driver=wav,dir=%s", dir);
    const char *argv[] = { drv, NULL };
    g_autoptr(VdProc) vd = vd_spawn(VD_LISTEN_SOCKET, argv, &err);
    g_assert_no_error(err);
    g_assert_true(vd_wait_socket(vd, 10000));
    SgOpts o;
    sg_opts_init(&o);
    o.packed = wc->packed;
    o.no_indirect = wc->no_indirect;
    o.no_event_idx = wc->no_event_idx;
    o.max_seg = wc->max_seg;
    g_autoptr(SgGuest) sg = sg_connect(vd, &o, &err);
    g_assert_no_error(err);
    if (wc->packed) {
        uint64_t f;
        g_assert_true(ff_get_u64(sg->ff, FF_GET_FEATURES, &f, &err));
        if (!(f & (1ull << 34))) {
            g_test_fail_printf("daemon does not offer VIRTIO_F_RING_PACKED (a missing feature fails, never skips)");
            return;
        }
    }
    g_assert_true(sg_boot(sg, &err));
    g_assert_no_error(err);
    g_assert_true(sg->indirect == !wc->no_indirect);
    int sid = find_stream(sg, VIRTIO_SND_D_OUTPUT);
    g_assert_cmpint(sid, >=, 0);
    enum { NPER = 4, TOTAL = 10 };
    params(sg, (uint32_t)sid, wc->period, NPER);
    ok(sg, VIRTIO_SND_R_PCM_PREPARE, (uint32_t)sid);
    g_autofree uint8_t *all = g_malloc((gsize)wc->period * TOTAL);
    for (gsize i = 0; i < (gsize)wc->period * TOTAL; i++)
        all[i] = (uint8_t)(i * 7 + (i >> 8));
    unsigned int submitted = 0, done = 0;
    for (; submitted < NPER; submitted++)
        g_assert_cmpint(sg_tx_submit(sg, sg_io_msg_new(sg, (uint32_t)sid, false, wc->period),
                                     all + (gsize)wc->period * submitted, false), ==, 0);
    ok(sg, VIRTIO_SND_R_PCM_START, (uint32_t)sid);
    while (done < TOTAL) {
        SgIoMsg *d = sg_io_wait(sg, false, 3000);
        g_assert_nonnull(d);
        g_assert_cmphex(d->status, ==, VIRTIO_SND_S_OK);
        done++;
        if (submitted < TOTAL) {
            g_assert_cmpint(sg_tx_submit(sg, d, all + (gsize)wc->period * submitted, false), ==, 0);
            submitted++;
        }
    }
    ok(sg, VIRTIO_SND_R_PCM_STOP, (uint32_t)sid);
    ok(sg, VIRTIO_SND_R_PCM_RELEASE, (uint32_t)sid);
    g_clear_pointer(&sg, sg_free);
    int st = vd_terminate(vd, 10000);
    g_assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    g_autofree char *path = g_strdup_printf("%s/stream-%d.wav", dir, sid);
    g_autofree uint8_t *file = NULL;
    gsize flen = 0;
    g_assert_true(g_file_get_contents(path, (char **)&file, &flen, &err));
    g_assert_no_error(err);
    gsize dlen = 0;
    const uint8_t *d = wav_data(file, flen, &dlen);
    g_assert_nonnull(d);
    g_assert_cmpmem(d, dlen, all, (gsize)wc->period * TOTAL);
    unlink(path);
    g_rmdir(dir);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/integration/snd/probe/split", test_probe_split);
    g_test_add_func("/integration/snd/probe/packed", test_probe_packed);
#ifdef SG_HAVE_CTLS
    g_test_add_func("/integration/snd/probe/controls", test_probe_controls);
#endif
    g_test_add_func("/integration/snd/event-queue/starvation-no-kick-event-idx",
                    test_event_queue_starvation);
    for (unsigned int i = 0; i < G_N_ELEMENTS(bad_reqs); i++) {
        g_autofree char *n = g_strdup_printf("/integration/snd/ctl/invalid/%s", bad_reqs[i].name);
        g_test_add_data_func(n, &bad_reqs[i], test_bad_request);
    }
    g_test_add_func("/integration/snd/pcm/playback-null", test_playback);
    g_test_add_func("/integration/snd/pcm/playback-null-kicked", test_playback_kicked);
    g_test_add_func("/integration/snd/stderr-not-read", test_stderr_not_read);
    static const WavCase wav_cases[] = {
        { .period = 1920 }, { .period = 4800, .no_indirect = true },
        { .period = 4800, .no_indirect = true, .no_event_idx = true },
        { .packed = true, .period = 4800 }, { .packed = true, .period = 1920, .no_indirect = true },
        { .period = 1920, .max_seg = 61 }, { .packed = true, .period = 1920, .max_seg = 3 * 19 },
        { .period = 192, .max_seg = 7 }, { .packed = true, .period = 192, .max_seg = 7 },
    };
    static const char *const wav_names[] = {
        "/integration/snd/pcm/playback-wav-bytes/split-indirect",
        "/integration/snd/pcm/playback-wav-bytes/split-page-descriptors",
        "/integration/snd/pcm/playback-wav-bytes/split-no-event-idx",
        "/integration/snd/pcm/playback-wav-bytes/packed-indirect",
        "/integration/snd/pcm/playback-wav-bytes/packed-page-descriptors",
        "/integration/snd/pcm/playback-wav-bytes/split-61-byte-descriptors",
        "/integration/snd/pcm/playback-wav-bytes/packed-57-byte-descriptors",
        "/integration/snd/pcm/playback-wav-bytes/split-7-byte-descriptors-status-split",
        "/integration/snd/pcm/playback-wav-bytes/packed-7-byte-descriptors-status-split",
    };
    for (unsigned int i = 0; i < G_N_ELEMENTS(wav_cases); i++)
        g_test_add_data_func(wav_names[i], &wav_cases[i], test_playback_wav);
    g_test_add_func("/integration/snd/pcm/release-completes-pending", test_release_flushes);
    g_test_add_func("/integration/snd/pcm/xrun-events", test_xrun_events);
    g_test_add_func("/integration/snd/pcm/capture-null", test_capture);
    g_test_add_func("/integration/snd/pcm/capture-wav-tone-samples", test_capture_tone);
    g_test_add_func("/integration/snd/pcm/io/invalid-stream", test_io_bad_stream);
    return g_test_run();
}
