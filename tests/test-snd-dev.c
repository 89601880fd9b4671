/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-snd-dev.c - the sound device end to end, in process: the real
 * vhost-user core (src/vu) and the real host drivers (null, wav) run the
 * device on a thread of their own, and the harness's fake QEMU + fake
 * Linux driver (tests/harness/snd-guest) talk to it over a socketpair.
 *
 * Checked: probe like Linux; config space sizes; playback written to a WAV
 * file byte for byte; capture of a known WAV file byte for byte; pacing
 * (N seconds of audio take about N seconds, loose bounds); RELEASE with
 * buffers outstanding; control elements with CTL_NOTIFY through the
 * never-kicked event queue; MSG_POLLING without kicks; a queue stop
 * returning held buffers; reset and restart; invalid control and I/O
 * requests answered with the right status while the device keeps working;
 * no busy loop with idle event buffers.
 */
#include "config.h"

#include <endian.h>
#include <errno.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "audio/clock.h"
#include "audio/registry.h"
#include "snd/snd-dev.h"
#include "snd/snd-proto.h"
#include "vu/vu-dev.h"
#include "vu/vu-glib.h"
#include "tests/harness/fake-frontend.h"
#include "tests/harness/snd-guest.h"
#ifdef SND_TEST_FAKE_AUDIO
#include "test-snd-fake.h"
/* The scriptable host driver's backend; touched on the device thread only. */
static FakeAudio *fake;
#endif

#define PERIOD 1920u /* 10 ms of S16 stereo at 48 kHz */
#define PERIODS 4u

typedef struct Dev {
    GThread *thread;
    int fd;
    VsndDeviceConfig cfg;
    VsndStreamConfig stream[4];
    char *spec;
    char *dir;
    gint quit;
    gint ready;
} Dev;

static void on_closed(VuDev *dev, void *data)
{
    Dev *d = data;

    g_atomic_int_set(&d->quit, 1);
}

static gpointer dev_main(gpointer data)
{
    Dev *d = data;
    GMainContext *ctx = g_main_context_default();
    g_autoptr(GError) err = NULL;
    VsndAudio *audio;
    SndDev *snd;
    VuDev *dev;

    g_assert_true(g_main_context_acquire(ctx));
#ifdef SND_TEST_FAKE_AUDIO
    audio = fake_audio_new(&fake);
#else
    audio = vsnd_audio_new(d->spec, "test-vm", &err);
    g_assert_no_error(err);
#endif
    snd = vsnd_dev_new(&d->cfg, audio);
    dev = vu_dev_new(d->fd, 4, 1024, vsnd_dev_vu_iface(), snd, vu_glib_loop_ops(), NULL);
    vsnd_dev_attach(snd, dev);
    vu_glib_watch_socket(dev, on_closed, d);
    g_atomic_int_set(&d->ready, 1);
    while (!g_atomic_int_get(&d->quit)) {
        g_main_context_iteration(ctx, TRUE);
    }
    vu_dev_free(dev);
    vsnd_dev_free(snd);
    vsnd_audio_free(audio);
#ifdef SND_TEST_FAKE_AUDIO
    fake = NULL;
#endif
    g_main_context_release(ctx);
    return NULL;
}

/* Start a device with @streams streams on the host driver @spec; return
 * the front-end connected to it. */
static Dev *dev_start(const char *spec, guint streams, gboolean controls, FfConn **ret_ff)
{
    Dev *d = g_new0(Dev, 1);
    int sv[2];

    g_assert_cmpuint(streams, <=, G_N_ELEMENTS(d->stream));
    g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), ==, 0);
    d->dir = g_dir_make_tmp("test-snd-dev-XXXXXX", NULL);
    g_assert_nonnull(d->dir);
    {
        g_auto(GStrv) parts = g_strsplit(spec, "@DIR@", -1);
        d->spec = g_strjoinv(d->dir, parts);
    }
    d->fd = sv[1];
    d->cfg.streams = streams;
    d->cfg.jacks = streams;
    d->cfg.chmaps = streams;
    d->cfg.controls = controls;
    d->cfg.name = (char *)"test-vm";
    d->cfg.stream = d->stream;
    for (guint i = 0; i < streams; i++) {
        d->stream[i].direction = i % 2 ? VSND_DIR_INPUT : VSND_DIR_OUTPUT;
        d->stream[i].channels_min = 1;
        d->stream[i].channels_max = 2;
    }
    d->thread = g_thread_new("snd-dev", dev_main, d);
    while (!g_atomic_int_get(&d->ready)) {
        g_usleep(1000);
    }
    *ret_ff = ff_new_from_fd(sv[0]);
    return d;
}

static void rm_rf(const char *dir)
{
    GDir *dh = g_dir_open(dir, 0, NULL);
    const char *name;

    if (!dh) {
        return;
    }
    while ((name = g_dir_read_name(dh))) {
        g_autofree char *p = g_build_filename(dir, name, NULL);
        g_unlink(p);
    }
    g_dir_close(dh);
    g_rmdir(dir);
}

/* The front-end must be closed already (ff_free / sg_free). */
static void dev_stop(Dev *d)
{
    g_thread_join(d->thread);
    rm_rf(d->dir);
    g_free(d->dir);
    g_free(d->spec);
    g_free(d);
}

static SgGuest *guest_boot(FfConn *ff, uint32_t config_size)
{
    g_autoptr(GError) err = NULL;
    SgOpts o;
    SgGuest *sg;

    sg_opts_init(&o);
    if (config_size) {
        o.config_size = config_size;
    }
    sg = sg_new(ff, &o);
    g_assert_true(sg_boot(sg, &err));
    g_assert_no_error(err);
    return sg;
}

static void guest_end(SgGuest *sg, FfConn *ff, Dev *d)
{
    sg_free(sg);
    ff_free(ff);
    dev_stop(d);
}

static void pcm_ok(SgGuest *sg, uint32_t code, uint32_t sid)
{
    g_autoptr(GError) err = NULL;
    uint32_t st = 0;

    g_assert_true(sg_pcm_cmd(sg, code, sid, &st, &err));
    g_assert_no_error(err);
    g_assert_cmphex(st, ==, VIRTIO_SND_S_OK);
}

static void params_ok(SgGuest *sg, uint32_t sid, uint32_t features)
{
    g_autoptr(GError) err = NULL;
    uint32_t st = 0;

    g_assert_true(sg_pcm_set_params(sg, sid, PERIOD * PERIODS, PERIOD, 2,
                                    VIRTIO_SND_PCM_FMT_S16, VIRTIO_SND_PCM_RATE_48000, features,
                                    &st, &err));
    g_assert_no_error(err);
    g_assert_cmphex(st, ==, VIRTIO_SND_S_OK);
}

static uint32_t ctl_status(SgGuest *sg, const void *req, size_t len, void *resp,
                           uint32_t resp_len)
{
    g_autoptr(GError) err = NULL;
    uint32_t st = 0;

    g_assert_true(sg_ctl(sg, req, len, resp, resp_len, &st, &err));
    g_assert_no_error(err);
    return st;
}

static void signal_period(uint8_t *buf, unsigned int n)
{
    for (unsigned int i = 0; i < PERIOD; i++) {
        buf[i] = (uint8_t)(i * 7 + n * 13 + (i >> 8));
    }
}

/* ---- probe and config ---- */

static void test_probe(void)
{
    FfConn *ff;
    Dev *d = dev_start("null", 2, FALSE, &ff);
    SgGuest *sg = guest_boot(ff, 12);
    g_autoptr(GError) err = NULL;
    uint8_t cfg[16];

    g_assert_cmpuint(sg->jacks, ==, 2);
    g_assert_cmpuint(sg->streams, ==, 2);
    g_assert_cmpuint(sg->chmaps, ==, 2);
    g_assert_cmpuint(sg->pcm[0].direction, ==, VIRTIO_SND_D_OUTPUT);
    g_assert_cmpuint(sg->pcm[1].direction, ==, VIRTIO_SND_D_INPUT);
    g_assert_cmpuint(le32toh(sg->pcm[0].hdr.hda_fn_nid), ==, le32toh(sg->pcm[1].hdr.hda_fn_nid));
    g_assert_cmpuint(sg->pcm[0].channels_max, ==, 2);
    g_assert_cmpuint(sg->jack[0].connected, ==, 1);
    g_assert_cmpuint(sg->chmap[1].positions[1], ==, VIRTIO_SND_CHMAP_FR);
    /* VERSION_1 offered; CTLS not offered without controls */
    g_assert_cmpuint(ff_features(ff) & (1ull << 32), !=, 0);
    g_assert_cmpuint(ff_features(ff) & (1ull << VIRTIO_SND_F_CTLS), ==, 0);
    /* 16 bytes asked of a 12-byte config: zero-filled */
    memset(cfg, 0xff, sizeof(cfg));
    g_assert_true(ff_get_config(ff, 0, 16, cfg, &err));
    g_assert_no_error(err);
    g_assert_cmpuint(cfg[4], ==, 2);
    g_assert_cmpuint(cfg[12] | cfg[13] | cfg[14] | cfg[15], ==, 0);
    /* an offset in the middle */
    g_assert_true(ff_get_config(ff, 4, 4, cfg, &err));
    g_assert_no_error(err);
    g_assert_cmpuint(cfg[0], ==, 2);
    guest_end(sg, ff, d);
}

static void test_config_controls(void)
{
    FfConn *ff;
    Dev *d = dev_start("null", 4, TRUE, &ff);
    SgGuest *sg = guest_boot(ff, 16);
    uint32_t controls = 0;
    g_autoptr(GError) err = NULL;

    g_assert_cmpuint(ff_features(ff) & (1ull << VIRTIO_SND_F_CTLS), !=, 0);
    g_assert_true(sg_read_config(sg, 12, &controls, &err));
    g_assert_no_error(err);
    g_assert_cmpuint(controls, ==, 8);
    /* odd ranges: the bytes at those offsets, zero beyond the config */
    {
        uint8_t b[8];

        memset(b, 0xff, sizeof(b));
        g_assert_true(ff_get_config(ff, 12, 1, b, &err));
        g_assert_no_error(err);
        g_assert_cmpuint(b[0], ==, 8);
        g_assert_cmpuint(b[1], ==, 0xff);
        g_assert_true(ff_get_config(ff, 5, 3, b, &err));
        g_assert_no_error(err);
        g_assert_cmpuint(b[0] | b[1] | b[2], ==, 0); /* high bytes of streams = 4 */
        g_assert_true(ff_get_config(ff, 14, 6, b, &err));
        g_assert_no_error(err);
        for (int i = 0; i < 6; i++) {
            g_assert_cmpuint(b[i], ==, 0);
        }
    }
    guest_end(sg, ff, d);
}

/* ---- playback ---- */

static GBytes *wav_data(const char *path)
{
    g_autofree uint8_t *buf = NULL;
    gsize len = 0;
    size_t at = 12;

    g_assert_true(g_file_get_contents(path, (char **)&buf, &len, NULL));
    g_assert_cmpuint(len, >=, 12);
    g_assert_cmpmem(buf, 4, "RIFF", 4);
    g_assert_cmpmem(buf + 8, 4, "WAVE", 4);
    while (at + 8 <= len) {
        uint32_t sz;

        memcpy(&sz, buf + at + 4, 4);
        sz = le32toh(sz);
        if (!memcmp(buf + at, "data", 4)) {
            return g_bytes_new(buf + at + 8, MIN(sz, len - at - 8));
        }
        at += 8 + sz + (sz & 1);
    }
    g_assert_not_reached();
    return NULL;
}

static void play(SgGuest *sg, unsigned int total, GByteArray *sent, gint64 *elapsed_us)
{
    SgIoMsg *m[PERIODS];
    uint8_t buf[PERIOD];
    unsigned int submitted = 0, completed = 0;
    gint64 t0;

    for (unsigned int i = 0; i < PERIODS; i++) {
        m[i] = sg_io_msg_new(sg, 0, false, PERIOD);
    }
    /* pre-buffer before START, as ALSA does */
    for (; submitted < PERIODS && submitted < total; submitted++) {
        signal_period(buf, submitted);
        g_byte_array_append(sent, buf, PERIOD);
        g_assert_cmpint(sg_tx_submit(sg, m[submitted % PERIODS], buf, false), ==, 0);
    }
    /* nothing completes before START */
    g_assert_null(sg_io_wait(sg, false, 50));
    t0 = g_get_monotonic_time();
    pcm_ok(sg, VIRTIO_SND_R_PCM_START, 0);
    while (completed < total) {
        SgIoMsg *done = sg_io_wait(sg, false, 2000);

        g_assert_nonnull(done);
        g_assert_cmphex(done->status, ==, VIRTIO_SND_S_OK);
        g_assert_cmpuint(done->used_len, ==, 8);
        completed++;
        if (submitted < total) {
            signal_period(buf, submitted);
            g_byte_array_append(sent, buf, PERIOD);
            g_assert_cmpint(sg_tx_submit(sg, done, buf, false), ==, 0);
            submitted++;
        }
    }
    *elapsed_us = g_get_monotonic_time() - t0;
    pcm_ok(sg, VIRTIO_SND_R_PCM_STOP, 0);
    pcm_ok(sg, VIRTIO_SND_R_PCM_RELEASE, 0);
}

static void test_playback_wav(void)
{
    FfConn *ff;
    Dev *d = dev_start("wav,dir=@DIR@", 2, FALSE, &ff);
    SgGuest *sg = guest_boot(ff, 0);
    g_autoptr(GByteArray) sent = g_byte_array_new();
    g_autoptr(GBytes) got = NULL;
    g_autofree char *path = g_build_filename(d->dir, "stream-0.wav", NULL);
    gint64 us;

    params_ok(sg, 0, 0);
    pcm_ok(sg, VIRTIO_SND_R_PCM_PREPARE, 0);
    play(sg, 25, sent, &us);
    sg_free(sg);
    ff_free(ff);
    g_thread_join(d->thread);
    d->thread = NULL;
    got = wav_data(path);
    g_assert_cmpmem(g_bytes_get_data(got, NULL), g_bytes_get_size(got), sent->data, sent->len);
    rm_rf(d->dir);
    g_free(d->dir);
    g_free(d->spec);
    g_free(d);
}

static void test_playback_pacing(void)
{
    FfConn *ff;
    Dev *d = dev_start("null", 2, FALSE, &ff);
    SgGuest *sg = guest_boot(ff, 0);
    g_autoptr(GByteArray) sent = g_byte_array_new();
    gint64 us;

    params_ok(sg, 0, 0);
    pcm_ok(sg, VIRTIO_SND_R_PCM_PREPARE, 0);
    /* 100 periods = 1 s of audio; the first PERIODS may go into the
     * driver's buffer at once.  Loose bounds: shared, noisy machine. */
    play(sg, 100, sent, &us);
    g_assert_cmpint(us, >, 600 * 1000);
    g_assert_cmpint(us, <, 4000 * 1000);
    guest_end(sg, ff, d);
}

/* ---- capture ---- */

static void write_wav(const char *path, const uint8_t *data, size_t len)
{
    uint8_t hdr[44];
    uint32_t v32;
    uint16_t v16;
    g_autoptr(GByteArray) f = g_byte_array_new();

    memcpy(hdr, "RIFF", 4);
    v32 = htole32(36 + len);
    memcpy(hdr + 4, &v32, 4);
    memcpy(hdr + 8, "WAVEfmt ", 8);
    v32 = htole32(16);
    memcpy(hdr + 16, &v32, 4);
    v16 = htole16(1);
    memcpy(hdr + 20, &v16, 2);
    v16 = htole16(2);
    memcpy(hdr + 22, &v16, 2);
    v32 = htole32(48000);
    memcpy(hdr + 24, &v32, 4);
    v32 = htole32(48000 * 4);
    memcpy(hdr + 28, &v32, 4);
    v16 = htole16(4);
    memcpy(hdr + 32, &v16, 2);
    v16 = htole16(16);
    memcpy(hdr + 34, &v16, 2);
    memcpy(hdr + 36, "data", 4);
    v32 = htole32(len);
    memcpy(hdr + 40, &v32, 4);
    g_byte_array_append(f, hdr, sizeof(hdr));
    g_byte_array_append(f, data, (guint)len);
    g_assert_true(g_file_set_contents(path, (const char *)f->data, f->len, NULL));
}

static void test_capture_wav(void)
{
    g_autofree char *tmp = g_dir_make_tmp("test-snd-in-XXXXXX", NULL);
    g_autofree char *in = g_build_filename(tmp, "in.wav", NULL);
    g_autofree char *spec = g_strdup_printf("wav,dir=@DIR@,in=%s", in);
    uint8_t data[PERIOD * 6], got[PERIOD];
    SgIoMsg *m[PERIODS];
    FfConn *ff;
    Dev *d;
    SgGuest *sg;

    for (size_t i = 0; i < sizeof(data); i++) {
        data[i] = (uint8_t)(i * 5 + (i >> 9));
    }
    write_wav(in, data, sizeof(data));
    d = dev_start(spec, 2, FALSE, &ff);
    sg = guest_boot(ff, 0);
    params_ok(sg, 1, 0);
    pcm_ok(sg, VIRTIO_SND_R_PCM_PREPARE, 1);
    /* Linux queues every period, then starts */
    for (unsigned int i = 0; i < PERIODS; i++) {
        m[i] = sg_io_msg_new(sg, 1, true, PERIOD);
        g_assert_cmpint(sg_rx_submit(sg, m[i], false), ==, 0);
    }
    g_assert_null(sg_io_wait(sg, true, 50));
    pcm_ok(sg, VIRTIO_SND_R_PCM_START, 1);
    for (unsigned int n = 0; n < 6; n++) {
        SgIoMsg *done = sg_io_wait(sg, true, 2000);

        g_assert_nonnull(done);
        /* FIFO: the n-th completion is the n-th buffer queued */
        g_assert_true(done == m[n % PERIODS]);
        g_assert_cmpuint(done->used_len, ==, PERIOD + 8);
        g_assert_cmphex(done->status, ==, VIRTIO_SND_S_OK);
        sg_io_read(sg, done, got);
        g_assert_cmpmem(got, PERIOD, data + n * PERIOD, PERIOD);
        g_assert_cmpint(sg_rx_submit(sg, done, false), ==, 0);
    }
    pcm_ok(sg, VIRTIO_SND_R_PCM_STOP, 1);
    pcm_ok(sg, VIRTIO_SND_R_PCM_RELEASE, 1);
    /* every outstanding rx buffer came back before the RELEASE reply */
    for (unsigned int i = 0; i < PERIODS; i++) {
        SgIoMsg *done = sg_io_wait(sg, true, 0);
        g_assert_nonnull(done);
        g_assert_cmpuint(done->used_len, ==, PERIOD + 8);
    }
    guest_end(sg, ff, d);
    rm_rf(tmp);
}

/* ---- RELEASE with buffers outstanding ---- */

static void test_release_outstanding(void)
{
    FfConn *ff;
    Dev *d = dev_start("null", 2, FALSE, &ff);
    SgGuest *sg = guest_boot(ff, 0);
    uint8_t buf[PERIOD] = { 0 };
    g_autoptr(GError) err = NULL;

    params_ok(sg, 0, 0);
    pcm_ok(sg, VIRTIO_SND_R_PCM_PREPARE, 0);
    for (unsigned int i = 0; i < PERIODS; i++) {
        g_assert_cmpint(sg_tx_submit(sg, sg_io_msg_new(sg, 0, false, PERIOD), buf, false), ==, 0);
    }
    /* pre-buffered, not started: held by the device */
    g_assert_null(sg_io_wait(sg, false, 100));
    pcm_ok(sg, VIRTIO_SND_R_PCM_RELEASE, 0);
    for (unsigned int i = 0; i < PERIODS; i++) {
        SgIoMsg *done = sg_io_wait(sg, false, 0);
        g_assert_nonnull(done);
        g_assert_cmpuint(done->used_len, ==, 8);
    }
    /* xrun recovery: PREPARE again without SET_PARAMS, then play */
    pcm_ok(sg, VIRTIO_SND_R_PCM_PREPARE, 0);
    g_assert_cmpint(sg_tx_submit(sg, sg_io_msg_new(sg, 0, false, PERIOD), buf, false), ==, 0);
    pcm_ok(sg, VIRTIO_SND_R_PCM_START, 0);
    g_assert_nonnull(sg_io_wait(sg, false, 2000));
    pcm_ok(sg, VIRTIO_SND_R_PCM_STOP, 0);
    pcm_ok(sg, VIRTIO_SND_R_PCM_RELEASE, 0);
    g_assert_true(sg_reset(sg, &err));
    g_assert_no_error(err);
    guest_end(sg, ff, d);
}

/* ---- queue stop returns held buffers ---- */

static void test_queue_stop(void)
{
    FfConn *ff;
    Dev *d = dev_start("null", 2, FALSE, &ff);
    SgGuest *sg = guest_boot(ff, 0);
    uint8_t buf[PERIOD] = { 0 };
    g_autoptr(GError) err = NULL;
    uint32_t bases[4];

    params_ok(sg, 0, 0);
    pcm_ok(sg, VIRTIO_SND_R_PCM_PREPARE, 0);
    for (unsigned int i = 0; i < PERIODS; i++) {
        g_assert_cmpint(sg_tx_submit(sg, sg_io_msg_new(sg, 0, false, PERIOD), buf, false), ==, 0);
    }
    g_assert_null(sg_io_wait(sg, false, 50));
    /* QEMU's stop: GET_VRING_BASE must not leave buffers in flight.  The
     * untouched playback goes back to the ring (the base answered is the
     * one before it): nothing completes while the guest is paused (a
     * Linux guest completed during the stop never queued again after
     * cont)... */
    g_assert_true(ff_suspend(ff, bases, &err));
    g_assert_no_error(err);
    g_assert_null(sg_io_wait(sg, false, 0));
    /* ...and the same buffers are taken again, and completed once each,
     * when the rings resume at those bases */
    g_assert_true(ff_start(ff, sg->mem, sg->vq, bases, &err));
    g_assert_no_error(err);
    g_assert_null(sg_io_wait(sg, false, 50));
    pcm_ok(sg, VIRTIO_SND_R_PCM_START, 0);
    for (unsigned int i = 0; i < PERIODS; i++) {
        g_assert_nonnull(sg_io_wait(sg, false, 2000));
    }
    g_assert_null(sg_io_wait(sg, false, 100));
    g_assert_cmpuint(fg_vq_inflight(sg->vq[VIRTIO_SND_VQ_TX]), ==, 0);
    pcm_ok(sg, VIRTIO_SND_R_PCM_STOP, 0);
    pcm_ok(sg, VIRTIO_SND_R_PCM_RELEASE, 0);
    guest_end(sg, ff, d);
}

/* ---- started but disabled rings ---- */

static void tx_period(SgGuest *sg, unsigned int n, GByteArray *played)
{
    uint8_t buf[PERIOD];

    signal_period(buf, n);
    if (played) {
        g_byte_array_append(played, buf, PERIOD);
    }
    g_assert_cmpint(sg_tx_submit(sg, sg_io_msg_new(sg, 0, false, PERIOD), buf, false), ==, 0);
}

/* SET_VRING_ENABLE has no reply: a request that has one comes back only
 * once the device handled everything sent before it. */
static void ring_enable(FfConn *ff, unsigned int q, bool on)
{
    g_autoptr(GError) err = NULL;
    uint64_t f;

    g_assert_true(ff_vring_state(ff, FF_SET_VRING_ENABLE, q, on, &err));
    g_assert_no_error(err);
    g_assert_true(ff_get_u64(ff, FF_GET_FEATURES, &f, &err));
    g_assert_no_error(err);
}

static void tx_done_ok(SgGuest *sg)
{
    SgIoMsg *done = sg_io_wait(sg, false, 2000);

    g_assert_nonnull(done);
    g_assert_cmphex(done->status, ==, VIRTIO_SND_S_OK);
}

/* vhost-user.rst "Ring states": a started, disabled ring "must process the
 * ring without causing any side effects", as a network device discards
 * TX.  Playback queued on a disabled tx ring completes unplayed (was: it
 * sat in the ring, the kick ignored); a control request on a disabled
 * control ring waits for the enable (answering it would act). */
static void test_disabled_rings(void)
{
    FfConn *ff;
    Dev *d = dev_start("wav,dir=@DIR@", 2, FALSE, &ff);
    SgGuest *sg = guest_boot(ff, 0);
    g_autoptr(GByteArray) played = g_byte_array_new();
    g_autoptr(GBytes) got = NULL;
    g_autofree char *path = g_build_filename(d->dir, "stream-0.wav", NULL);
    g_autoptr(GError) err = NULL;
    struct virtio_snd_query_info q = { { htole32(VIRTIO_SND_R_PCM_INFO) }, 0, htole32(1),
                                       htole32(sizeof(struct virtio_snd_pcm_info)) };
    SgCtl *c;

    params_ok(sg, 0, 0);
    pcm_ok(sg, VIRTIO_SND_R_PCM_PREPARE, 0);
    tx_period(sg, 0, played);
    pcm_ok(sg, VIRTIO_SND_R_PCM_START, 0);
    tx_done_ok(sg);

    ring_enable(ff, VIRTIO_SND_VQ_TX, false);
    tx_period(sg, 1, NULL); /* consumed, not played */
    tx_done_ok(sg);
    tx_period(sg, 2, NULL);
    tx_done_ok(sg);
    ring_enable(ff, VIRTIO_SND_VQ_TX, true);
    tx_period(sg, 3, played);
    tx_done_ok(sg);

    ring_enable(ff, VIRTIO_SND_VQ_CONTROL, false);
    c = sg_ctl_submit(sg, &q, sizeof(q), NULL, 0, sizeof(struct virtio_snd_pcm_info), &err);
    g_assert_no_error(err);
    g_assert_false(sg_ctl_wait(sg, c, 200, &err));
    g_clear_error(&err);
    ring_enable(ff, VIRTIO_SND_VQ_CONTROL, true);
    g_assert_true(sg_ctl_wait(sg, c, 2000, &err));
    g_assert_no_error(err);
    g_assert_cmphex(sg_ctl_status(sg, c), ==, VIRTIO_SND_S_OK);
    sg_ctl_release(c);

    pcm_ok(sg, VIRTIO_SND_R_PCM_STOP, 0);
    pcm_ok(sg, VIRTIO_SND_R_PCM_RELEASE, 0);
    sg_free(sg);
    ff_free(ff);
    g_thread_join(d->thread);
    d->thread = NULL;
    got = wav_data(path);
    g_assert_cmpmem(g_bytes_get_data(got, NULL), g_bytes_get_size(got), played->data,
                    played->len);
    rm_rf(d->dir);
    g_free(d->dir);
    g_free(d->spec);
    g_free(d);
}

/* ---- reset and restart ---- */

static void test_reset_restart(void)
{
    FfConn *ff;
    Dev *d = dev_start("null", 2, FALSE, &ff);
    SgGuest *sg = guest_boot(ff, 0);
    g_autoptr(GError) err = NULL;
    uint8_t buf[PERIOD] = { 0 };

    params_ok(sg, 0, 0);
    pcm_ok(sg, VIRTIO_SND_R_PCM_PREPARE, 0);
    pcm_ok(sg, VIRTIO_SND_R_PCM_START, 0);
    g_assert_true(sg_reset(sg, &err));
    g_assert_no_error(err);
    g_assert_true(sg_restart(sg, &err));
    g_assert_no_error(err);
    /* Linux after resume: RELEASE, SET_PARAMS, PREPARE, then play */
    pcm_ok(sg, VIRTIO_SND_R_PCM_RELEASE, 0);
    params_ok(sg, 0, 0);
    pcm_ok(sg, VIRTIO_SND_R_PCM_PREPARE, 0);
    g_assert_cmpint(sg_tx_submit(sg, sg_io_msg_new(sg, 0, false, PERIOD), buf, false), ==, 0);
    pcm_ok(sg, VIRTIO_SND_R_PCM_START, 0);
    g_assert_nonnull(sg_io_wait(sg, false, 2000));
    guest_end(sg, ff, d);
}

/* A pause as newer QEMU may send it (GET_VRING_BASE, then SET_STATUS(0)),
 * and the rings resume where they stopped: the guest never saw a reset,
 * so its running stream is still running (was: back at power-on, the
 * guest's STOP refused). */
static void test_status_reset_pause(void)
{
    FfConn *ff;
    Dev *d = dev_start("null", 2, FALSE, &ff);
    SgGuest *sg = guest_boot(ff, 0);
    g_autoptr(GError) err = NULL;
    uint8_t buf[PERIOD] = { 0 };
    uint32_t bases[4];

    params_ok(sg, 0, 0);
    pcm_ok(sg, VIRTIO_SND_R_PCM_PREPARE, 0);
    pcm_ok(sg, VIRTIO_SND_R_PCM_START, 0);
    g_assert_cmpint(sg_tx_submit(sg, sg_io_msg_new(sg, 0, false, PERIOD), buf, false), ==, 0);
    g_assert_nonnull(sg_io_wait(sg, false, 2000));
    g_assert_true(ff_stop(ff, bases, &err));
    g_assert_no_error(err);
    g_assert_true(ff_start(ff, sg->mem, sg->vq, bases, &err));
    g_assert_no_error(err);
    g_assert_cmpint(sg_tx_submit(sg, sg_io_msg_new(sg, 0, false, PERIOD), buf, false), ==, 0);
    g_assert_nonnull(sg_io_wait(sg, false, 2000));
    pcm_ok(sg, VIRTIO_SND_R_PCM_STOP, 0);
    pcm_ok(sg, VIRTIO_SND_R_PCM_RELEASE, 0);
    guest_end(sg, ff, d);
}

/* RESET_DEVICE after a ring stop is a real reset: nothing is parked, a
 * SAVE that follows ships a device at power-on (was: the running stream,
 * to a guest that re-probes and gets its SET_PARAMS refused). */
static void test_reset_device_parks_nothing(void)
{
    FfConn *ff;
    Dev *d = dev_start("null", 2, FALSE, &ff);
    SgGuest *sg = guest_boot(ff, 0);
    g_autoptr(GError) err = NULL;
    g_autoptr(GBytes) state = NULL;
    uint32_t bases[4];

    if (!ff_has_protocol(ff, FF_PROTO_F_DEVICE_STATE)) {
        g_test_skip("no device-state transfer");
        guest_end(sg, ff, d);
        return;
    }
    params_ok(sg, 0, 0);
    pcm_ok(sg, VIRTIO_SND_R_PCM_PREPARE, 0);
    pcm_ok(sg, VIRTIO_SND_R_PCM_START, 0);
    g_assert_true(ff_suspend(ff, bases, &err));
    g_assert_no_error(err);
    g_assert_true(ff_command(ff, FF_RESET_DEVICE, NULL, 0, NULL, 0, &err));
    g_assert_no_error(err);
    state = ff_save_state(ff, &err);
    g_assert_no_error(err);
    g_assert_nonnull(state);
    g_assert_true(ff_load_state(ff, state, &err));
    g_assert_no_error(err);
    /* the guest re-creates its rings and sets the stream up again */
    for (unsigned int i = 0; i < 4; i++) {
        fg_vq_reset(sg->vq[i]);
    }
    for (unsigned int i = 0; i < SG_CTL_SLOTS; i++) {
        sg->ctl[i].busy = false;
    }
    memset(sg->pcm_features, 0, sizeof(sg->pcm_features));
    g_assert_true(sg_restart(sg, &err));
    g_assert_no_error(err);
    params_ok(sg, 0, 0);
    pcm_ok(sg, VIRTIO_SND_R_PCM_PREPARE, 0);
    guest_end(sg, ff, d);
}

/* ---- MSG_POLLING: no kicks ---- */

static void test_polling(void)
{
    FfConn *ff;
    Dev *d = dev_start("null", 2, FALSE, &ff);
    SgGuest *sg = guest_boot(ff, 0);
    uint8_t buf[PERIOD] = { 0 };

    g_assert_cmpuint(le32toh(sg->pcm[0].features) & (1u << VIRTIO_SND_PCM_F_MSG_POLLING), !=, 0);
    params_ok(sg, 0, 1u << VIRTIO_SND_PCM_F_MSG_POLLING);
    pcm_ok(sg, VIRTIO_SND_R_PCM_PREPARE, 0);
    pcm_ok(sg, VIRTIO_SND_R_PCM_START, 0);
    for (unsigned int i = 0; i < 3; i++) {
        g_assert_cmpint(sg_tx_submit(sg, sg_io_msg_new(sg, 0, false, PERIOD), buf, true), ==, 0);
    }
    for (unsigned int i = 0; i < 3; i++) {
        g_assert_nonnull(sg_io_wait(sg, false, 2000));
    }
    guest_end(sg, ff, d);
}

/* ---- control elements ---- */

static void test_controls(void)
{
    FfConn *ff;
    Dev *d = dev_start("null", 2, TRUE, &ff);
    SgGuest *sg = guest_boot(ff, 16);
    g_autoptr(GError) err = NULL;
    uint8_t info[4 * 96];
    uint32_t st = 0;
    struct {
        struct vsnd_ctl_hdr hdr;
        struct vsnd_ctl_value value;
    } wr;
    struct vsnd_ctl_hdr rd;
    struct vsnd_ctl_value val;
    struct virtio_snd_event ev;

    /* The fake driver boots without F_CTLS; like a driver reload with a
     * newer kernel, restart with it acked. */
    g_assert_true(sg_reset(sg, &err));
    ff_setup(ff)->want_features |= 1ull << VIRTIO_SND_F_CTLS;
    g_assert_true(sg_restart(sg, &err));
    g_assert_no_error(err);
    g_assert_cmpuint(ff_acked_features(ff) & (1ull << VIRTIO_SND_F_CTLS), !=, 0);

    g_assert_true(sg_query_info(sg, VIRTIO_SND_R_CTL_INFO, 0, 4, 96, info, &st, &err));
    g_assert_no_error(err);
    g_assert_cmphex(st, ==, VIRTIO_SND_S_OK);
    g_assert_cmpstr((const char *)info + 24, ==, "PCM Playback Volume");
    g_assert_cmpstr((const char *)info + 96 + 24, ==, "PCM Playback Switch");
    g_assert_cmpstr((const char *)info + 2 * 96 + 24, ==, "Capture Volume");

    memset(&wr, 0, sizeof(wr));
    wr.hdr.hdr.code = htole32(VIRTIO_SND_R_CTL_WRITE);
    wr.hdr.control_id = htole32(0);
    wr.value.value.integer[0] = htole32(64);
    g_assert_cmphex(ctl_status(sg, &wr, sizeof(wr), NULL, 0), ==, VIRTIO_SND_S_OK);
    /* the event queue was filled without a kick: the notification still
     * arrives */
    g_assert_true(sg_event_get(sg, &ev, 2000));
    g_assert_cmphex(le32toh(ev.hdr.code), ==, VIRTIO_SND_EVT_CTL_NOTIFY);
    g_assert_cmpuint(le32toh(ev.data) & 0xffff, ==, 0);
    g_assert_cmpuint(le32toh(ev.data) >> 16, ==, 1u << VIRTIO_SND_CTL_EVT_MASK_VALUE);

    rd.hdr.code = htole32(VIRTIO_SND_R_CTL_READ);
    rd.control_id = htole32(0);
    g_assert_cmphex(ctl_status(sg, &rd, sizeof(rd), &val, sizeof(val)), ==, VIRTIO_SND_S_OK);
    g_assert_cmpuint(le32toh(val.value.integer[0]), ==, 64);

    /* volume applied while playing: the stream still works */
    params_ok(sg, 0, 0);
    pcm_ok(sg, VIRTIO_SND_R_PCM_PREPARE, 0);
    guest_end(sg, ff, d);
}

/* ---- invalid requests, device unharmed ---- */

static void test_invalid_control(void)
{
    FfConn *ff;
    Dev *d = dev_start("null", 2, FALSE, &ff);
    SgGuest *sg = guest_boot(ff, 0);
    g_autoptr(GError) err = NULL;
    uint32_t st;
    uint8_t resp[256];
    struct {
        uint32_t w[8];
        size_t len;
        uint32_t expect;
    } cases[] = {
        { { htole32(0xdead) }, 4, VIRTIO_SND_S_NOT_SUPP },
        { { htole32(VIRTIO_SND_R_PCM_INFO), 0, htole32(0xffffffff), htole32(32) }, 16,
          VIRTIO_SND_S_BAD_MSG },
        { { htole32(VIRTIO_SND_R_PCM_INFO), 0, 1, htole32(32) }, 15, VIRTIO_SND_S_BAD_MSG },
        { { htole32(VIRTIO_SND_R_PCM_SET_PARAMS), 0, htole32(PERIOD * 4), htole32(PERIOD), 0,
            htole32(2 | 64 << 8 | 7 << 16) }, 24, VIRTIO_SND_S_BAD_MSG },
        { { htole32(VIRTIO_SND_R_PCM_START), htole32(7) }, 8, VIRTIO_SND_S_BAD_MSG },
        { { htole32(VIRTIO_SND_R_PCM_START), 0 }, 8, VIRTIO_SND_S_BAD_MSG },
        { { htole32(VIRTIO_SND_R_JACK_REMAP), htole32(9), 0, 0 }, 16, VIRTIO_SND_S_BAD_MSG },
        { { htole32(VIRTIO_SND_R_CTL_INFO), 0, 1, htole32(96) }, 16, VIRTIO_SND_S_NOT_SUPP },
        { { htole32(VIRTIO_SND_R_CHMAP_INFO), htole32(2), 1, htole32(24) }, 16,
          VIRTIO_SND_S_BAD_MSG },
    };

    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_assert_true(sg_ctl(sg, cases[i].w, cases[i].len, resp, 32, &st, &err));
        g_assert_no_error(err);
        g_assert_cmphex(st, ==, cases[i].expect);
    }
    /* the device still answers the probe query identically */
    {
        g_autofree struct virtio_snd_pcm_info *info = g_new0(struct virtio_snd_pcm_info, 2);
        g_assert_true(sg_query_info(sg, VIRTIO_SND_R_PCM_INFO, 0, 2, 32, info, &st, &err));
        g_assert_cmphex(st, ==, VIRTIO_SND_S_OK);
        g_assert_cmpmem(info, 64, sg->pcm, 64);
    }
    guest_end(sg, ff, d);
}

typedef struct RawTok {
    int dummy;
} RawTok;

/* Add a raw tx/rx chain; return the used entry. */
static FgUsed raw_io(SgGuest *sg, unsigned int q, const FgSeg *segs, unsigned int n)
{
    static RawTok tok;
    FgUsed u;

    g_assert_cmpint(fg_vq_add(sg->vq[q], segs, n, NULL, &tok), >=, 0);
    fg_vq_kick(sg->vq[q]);
    g_assert_true(fg_vq_wait_used(sg->vq[q], &u, 2000));
    g_assert_true(u.token == &tok);
    return u;
}

/* One raw I/O chain: header with @stream, then @n segments of the given
 * lengths (negative: device-writable) cut from guest memory. */
typedef struct RawIo {
    const char *what;
    unsigned int q;
    uint32_t stream;
    int seg[4];       /* segment lengths after the header; < 0 writable */
    uint32_t hdr_len; /* 0: 4 */
    uint32_t used;    /* expected used length */
    uint32_t status;  /* expected status in the last writable 8 bytes, 0: none */
} RawIo;

static void check_raw_io(SgGuest *sg, const RawIo *r)
{
    uint64_t mem = fg_alloc(sg->mem, 5 * (PERIOD * PERIODS + 64), 8);
    uint32_t id = htole32(r->stream);
    struct virtio_snd_pcm_status status;
    FgSeg segs[5];
    unsigned int n = 0;
    uint64_t at = mem, last_wr = 0;
    uint32_t last_len = 0;
    FgUsed u;

    fg_write(sg->mem, mem, &id, 4);
    segs[n++] = (FgSeg){ mem, r->hdr_len ? r->hdr_len : 4, false };
    at += 64;
    for (unsigned int k = 0; k < G_N_ELEMENTS(r->seg) && r->seg[k]; k++) {
        uint32_t len = (uint32_t)ABS(r->seg[k]);

        segs[n++] = (FgSeg){ at, len, r->seg[k] < 0 };
        if (r->seg[k] < 0) {
            last_wr = at;
            last_len = len;
        }
        at += len + 64;
    }
    u = raw_io(sg, r->q, segs, n);
    g_test_message("%s: used %u", r->what, u.len);
    g_assert_cmpuint(u.len, ==, r->used);
    if (r->status) {
        g_assert_cmpuint(last_len, >=, 8);
        fg_read(sg->mem, last_wr + last_len - 8, &status, 8);
        g_assert_cmphex(le32toh(status.status), ==, r->status);
    }
}

static void test_invalid_io(void)
{
    FfConn *ff;
    Dev *d = dev_start("null", 2, FALSE, &ff);
    SgGuest *sg = guest_boot(ff, 0);
    const uint32_t bad = VIRTIO_SND_S_BAD_MSG;
    const RawIo cases[] = {
        { "tx bad stream id", VIRTIO_SND_VQ_TX, 99, { PERIOD, -8 }, 0, 8, bad },
        { "tx huge stream id", VIRTIO_SND_VQ_TX, 0xffffffffu, { PERIOD, -8 }, 0, 8, bad },
        { "tx for a capture stream", VIRTIO_SND_VQ_TX, 1, { PERIOD, -8 }, 0, 8, bad },
        { "rx for a playback stream", VIRTIO_SND_VQ_RX, 0, { -64, -8 }, 0, 64 + 8, bad },
        { "rx bad stream id", VIRTIO_SND_VQ_RX, 7, { -64, -8 }, 0, 64 + 8, bad },
        { "tx without status", VIRTIO_SND_VQ_TX, 0, { 64 }, 0, 0, 0 },
        { "tx with a short status", VIRTIO_SND_VQ_TX, 0, { 64, -7 }, 0, 0, 0 },
        { "tx with a 3-byte header", VIRTIO_SND_VQ_TX, 0, { -8 }, 3, 8, bad },
        { "rx with a status only", VIRTIO_SND_VQ_RX, 1, { -8 }, 0, 8, bad },
        { "rx shorter than a status", VIRTIO_SND_VQ_RX, 1, { -5 }, 0, 0, 0 },
        { "tx larger than the buffer", VIRTIO_SND_VQ_TX, 0, { PERIOD * PERIODS, 4, -8 }, 0, 8,
          bad },
    };
    struct virtio_snd_pcm_status status;
    uint64_t hdr = fg_alloc(sg->mem, 8, 8), data = fg_alloc(sg->mem, PERIOD, 8),
             st = fg_alloc(sg->mem, 8, 8);
    uint32_t v = htole32(0);
    FgUsed u;

    params_ok(sg, 0, 0);
    pcm_ok(sg, VIRTIO_SND_R_PCM_PREPARE, 0);
    params_ok(sg, 1, 0);
    pcm_ok(sg, VIRTIO_SND_R_PCM_PREPARE, 1);
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        check_raw_io(sg, &cases[i]);
    }
    /* still playing fine: a valid message, split at odd boundaries */
    fg_write(sg->mem, hdr, &v, 4);
    {
        FgSeg s[] = { { hdr, 1, false }, { hdr + 1, 3, false }, { data, 7, false },
                      { data + 7, PERIOD - 7, false }, { st, 3, true }, { st + 3, 5, true } };
        pcm_ok(sg, VIRTIO_SND_R_PCM_START, 0);
        u = raw_io(sg, VIRTIO_SND_VQ_TX, s, 6);
        g_assert_cmpuint(u.len, ==, 8);
        fg_read(sg->mem, st, &status, 8);
        g_assert_cmphex(le32toh(status.status), ==, VIRTIO_SND_S_OK);
    }
    guest_end(sg, ff, d);
}

/* ---- hostile chains on every queue ---- */

static void test_random_chains(void)
{
    FfConn *ff;
    Dev *d = dev_start("null", 2, TRUE, &ff);
    SgGuest *sg = guest_boot(ff, 16);
    static const unsigned int queues[] = { VIRTIO_SND_VQ_CONTROL, VIRTIO_SND_VQ_TX,
                                           VIRTIO_SND_VQ_RX };
    static const uint32_t ids[] = { 0, 1, 2, 0xffffffffu, 0x80000000u };
    uint64_t pool = fg_alloc(sg->mem, 64 * 1024, 8);
    g_autoptr(GError) err = NULL;
    uint32_t st;

    for (unsigned int i = 0; i < 300; i++) {
        unsigned int q = queues[g_test_rand_int_range(0, G_N_ELEMENTS(queues))];
        unsigned int n = (unsigned int)g_test_rand_int_range(1, 7);
        unsigned int nread = (unsigned int)g_test_rand_int_range(0, (gint32)n + 1);
        FgSeg segs[6];
        uint64_t at = pool;
        uint32_t wr_total = 0;
        RawTok tok;
        FgUsed u;

        for (unsigned int k = 0; k < n; k++) {
            uint32_t len = (uint32_t)g_test_rand_int_range(1, 300);
            uint8_t *p = fg_ptr(sg->mem, at, len);

            g_assert_nonnull(p);
            for (uint32_t b = 0; b < len; b++) {
                p[b] = (uint8_t)g_test_rand_int();
            }
            if (k == 0 && len >= 8) {
                uint32_t code = q == VIRTIO_SND_VQ_CONTROL
                                    ? (uint32_t)g_test_rand_int_range(0, 0x310) & 0x0307
                                    : ids[g_test_rand_int_range(0, G_N_ELEMENTS(ids))];
                uint32_t id = htole32(ids[g_test_rand_int_range(0, G_N_ELEMENTS(ids))]);

                code = htole32(code);
                memcpy(p, &code, 4);
                memcpy(p + 4, &id, 4);
            }
            segs[k].gpa = at;
            segs[k].len = len;
            segs[k].writable = k >= nread;
            if (segs[k].writable) {
                wr_total += len;
            }
            at += (len + 7) & ~7u;
        }
        g_assert_cmpint(fg_vq_add(sg->vq[q], segs, n, NULL, &tok), >=, 0);
        fg_vq_kick(sg->vq[q]);
        g_assert_true(fg_vq_wait_used(sg->vq[q], &u, 2000));
        g_assert_true(u.token == &tok);
        g_assert_cmpuint(u.len, <=, wr_total);
    }
    /* the device still answers the probe query identically */
    {
        g_autofree struct virtio_snd_pcm_info *info = g_new0(struct virtio_snd_pcm_info, 2);
        g_assert_true(sg_query_info(sg, VIRTIO_SND_R_PCM_INFO, 0, 2, 32, info, &st, &err));
        g_assert_no_error(err);
        g_assert_cmphex(st, ==, VIRTIO_SND_S_OK);
        g_assert_cmpmem(info, 64, sg->pcm, 64);
    }
    guest_end(sg, ff, d);
}

/* A device-readable event buffer is a corrupt event queue: the device
 * stops until a reset, then works again. */
static void test_event_readable_buffer(void)
{
    FfConn *ff;
    Dev *d = dev_start("null", 2, TRUE, &ff);
    SgGuest *sg;
    g_autoptr(GError) err = NULL;
    uint64_t buf;
    uint8_t status = 0;
    RawTok tok;
    FgUsed u;
    struct {
        struct vsnd_ctl_hdr hdr;
        struct vsnd_ctl_value value;
    } wr;
    struct virtio_snd_event ev;

    sg = guest_boot(ff, 16);
    g_assert_true(sg_reset(sg, &err));
    ff_setup(ff)->want_features |= 1ull << VIRTIO_SND_F_CTLS;
    g_assert_true(sg_restart(sg, &err));
    g_assert_no_error(err);
    /* Use up the event buffers... */
    memset(&wr, 0, sizeof(wr));
    wr.hdr.hdr.code = htole32(VIRTIO_SND_R_CTL_WRITE);
    for (unsigned int i = 0; i < sg->opts.queue_size; i++) {
        wr.value.value.integer[0] = htole32(i % 2 ? 10 : 20);
        g_assert_cmphex(ctl_status(sg, &wr, sizeof(wr), NULL, 0), ==, VIRTIO_SND_S_OK);
    }
    while (fg_vq_get_used(sg->vq[VIRTIO_SND_VQ_EVENT], &u)) {
    }
    /* ...then offer a device-readable one and raise an event. */
    buf = fg_alloc(sg->mem, 8, 8);
    {
        FgSeg s = { buf, 8, false };
        g_assert_cmpint(fg_vq_add(sg->vq[VIRTIO_SND_VQ_EVENT], &s, 1, NULL, &tok), >=, 0);
    }
    wr.value.value.integer[0] = htole32(33);
    g_assert_cmphex(ctl_status(sg, &wr, sizeof(wr), NULL, 0), ==, VIRTIO_SND_S_OK);
    g_assert_true(ff_get_status(ff, &status, &err));
    g_assert_no_error(err);
    g_assert_cmpuint(status & FF_S_NEEDS_RESET, !=, 0);
    /* a reset brings it back */
    g_assert_true(sg_reset(sg, &err));
    g_assert_no_error(err);
    g_assert_true(sg_restart(sg, &err));
    g_assert_no_error(err);
    wr.value.value.integer[0] = htole32(44);
    g_assert_cmphex(ctl_status(sg, &wr, sizeof(wr), NULL, 0), ==, VIRTIO_SND_S_OK);
    g_assert_true(sg_event_get(sg, &ev, 2000));
    g_assert_cmphex(le32toh(ev.hdr.code), ==, VIRTIO_SND_EVT_CTL_NOTIFY);
    guest_end(sg, ff, d);
}

/* ---- idle: no busy loop with unused event buffers ---- */

static double cpu_seconds(void)
{
    struct rusage ru;

    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
           (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static void test_idle(void)
{
    FfConn *ff;
    Dev *d = dev_start("null", 2, FALSE, &ff);
    SgGuest *sg = guest_boot(ff, 0);
    double c0 = cpu_seconds();

    g_usleep(G_USEC_PER_SEC);
    g_assert_cmpfloat(cpu_seconds() - c0, <, 0.3);
    /* the event buffers are still all there */
    g_assert_cmpuint(sg_event_free(sg), ==, sg->opts.queue_size);
    guest_end(sg, ff, d);
}


#ifdef SND_TEST_FAKE_AUDIO
/* ---- with the scriptable driver: host events ---- */

typedef struct OnDev {
    void (*fn)(void *data);
    void *data;
    gboolean done;
    GMutex lock;
    GCond cond;
} OnDev;

static gboolean on_dev_cb(gpointer p)
{
    OnDev *o = p;

    o->fn(o->data);
    g_mutex_lock(&o->lock);
    o->done = TRUE;
    g_cond_signal(&o->cond);
    g_mutex_unlock(&o->lock);
    return G_SOURCE_REMOVE;
}

/* Run @fn(@data) on the device thread and wait for it. */
static void run_on_dev(void (*fn)(void *data), void *data)
{
    OnDev o = { .fn = fn, .data = data };

    g_mutex_init(&o.lock);
    g_cond_init(&o.cond);
    g_main_context_invoke(NULL, on_dev_cb, &o);
    g_mutex_lock(&o.lock);
    while (!o.done) {
        g_cond_wait(&o.cond, &o.lock);
    }
    g_mutex_unlock(&o.lock);
    g_mutex_clear(&o.lock);
    g_cond_clear(&o.cond);
}

static void inject_error(void *data)
{
    VsndAudioStream *s = fake_audio_last(fake);

    g_assert_nonnull(s);
    fake_stream_error(s, GPOINTER_TO_INT(data));
}

/* The device's timers run on the manual clock (fake_audio_new()); it is
 * moved on the device thread, whose main context fires them. */
static void clock_now(void *data)
{
    *(int64_t *)data = vsnd_manual_clock_now();
}

static void clock_to(void *data)
{
    int64_t t = *(int64_t *)data;

    g_assert_cmpint(t, >=, vsnd_manual_clock_now());
    vsnd_manual_clock_advance(t - vsnd_manual_clock_now());
}

static void set_room(void *data)
{
    fake->default_room = GPOINTER_TO_SIZE(data);
}

static void give_data_all(void *data)
{
    for (guint i = 0; i < fake->streams->len; i++) {
        VsndAudioStream *s = g_ptr_array_index(fake->streams, i);

        if (!s->closed && s->params.direction == VSND_DIR_INPUT) {
            fake_stream_give_data(s, GPOINTER_TO_SIZE(data));
        }
    }
}

/* Data for the first capture stream opened only. */
static void give_data_first(void *data)
{
    for (guint i = 0; i < fake->streams->len; i++) {
        VsndAudioStream *s = g_ptr_array_index(fake->streams, i);

        if (!s->closed && s->params.direction == VSND_DIR_INPUT) {
            fake_stream_give_data(s, GPOINTER_TO_SIZE(data));
            return;
        }
    }
}

static void expect_event(SgGuest *sg, uint32_t code, uint32_t data)
{
    struct virtio_snd_event ev;

    g_assert_true(sg_event_get(sg, &ev, 2000));
    g_assert_cmphex(le32toh(ev.hdr.code), ==, code);
    g_assert_cmpuint(le32toh(ev.data), ==, data);
}

static void test_fake_jack(void)
{
    FfConn *ff;
    Dev *d = dev_start("fake", 2, FALSE, &ff);
    SgGuest *sg = guest_boot(ff, 0);
    g_autoptr(GError) err = NULL;
    struct virtio_snd_jack_info jack[2];
    uint32_t st;

    g_assert_cmpuint(sg->jack[0].connected, ==, 1);
    params_ok(sg, 0, 0);
    pcm_ok(sg, VIRTIO_SND_R_PCM_PREPARE, 0);
    run_on_dev(inject_error, GINT_TO_POINTER(-ENODEV));
    expect_event(sg, VIRTIO_SND_EVT_JACK_DISCONNECTED, 0);
    g_assert_true(sg_query_info(sg, VIRTIO_SND_R_JACK_INFO, 0, 2, 24, jack, &st, &err));
    g_assert_cmphex(st, ==, VIRTIO_SND_S_OK);
    g_assert_cmpuint(jack[0].connected, ==, 0);
    g_assert_cmpuint(jack[1].connected, ==, 1);
    run_on_dev(inject_error, GINT_TO_POINTER(0));
    expect_event(sg, VIRTIO_SND_EVT_JACK_CONNECTED, 0);
    g_assert_true(sg_query_info(sg, VIRTIO_SND_R_JACK_INFO, 0, 1, 24, jack, &st, &err));
    g_assert_cmpuint(jack[0].connected, ==, 1);
    guest_end(sg, ff, d);
}

static void test_fake_xrun(void)
{
    FfConn *ff;
    Dev *d = dev_start("fake", 2, FALSE, &ff);
    SgGuest *sg = guest_boot(ff, 0);

    g_assert_cmpuint(le32toh(sg->pcm[0].features) & (1u << VIRTIO_SND_PCM_F_EVT_XRUNS), !=, 0);
    params_ok(sg, 0, 1u << VIRTIO_SND_PCM_F_EVT_XRUNS);
    pcm_ok(sg, VIRTIO_SND_R_PCM_PREPARE, 0);
    pcm_ok(sg, VIRTIO_SND_R_PCM_START, 0);
    run_on_dev(inject_error, GINT_TO_POINTER(-EPIPE));
    expect_event(sg, VIRTIO_SND_EVT_PCM_XRUN, 0);
    guest_end(sg, ff, d);
}

static void test_fake_host_gone(void)
{
    FfConn *ff;
    Dev *d = dev_start("fake", 2, FALSE, &ff);
    SgGuest *sg = guest_boot(ff, 0);
    uint8_t buf[PERIOD] = { 0 };
    int64_t t0, t;

    run_on_dev(set_room, GSIZE_TO_POINTER(0));
    params_ok(sg, 0, 0);
    pcm_ok(sg, VIRTIO_SND_R_PCM_PREPARE, 0);
    for (unsigned int i = 0; i < PERIODS; i++) {
        g_assert_cmpint(sg_tx_submit(sg, sg_io_msg_new(sg, 0, false, PERIOD), buf, false), ==, 0);
    }
    pcm_ok(sg, VIRTIO_SND_R_PCM_START, 0);
    /* the driver takes nothing: nothing completes */
    g_assert_null(sg_io_wait(sg, false, 100));
    run_on_dev(clock_now, &t0);
    run_on_dev(inject_error, GINT_TO_POINTER(-ECONNRESET));
    expect_event(sg, VIRTIO_SND_EVT_JACK_DISCONNECTED, 0);
    /* the stream keeps its pace on the device clock, with IO_ERR: one
     * message when each 10 ms period ends, none before */
    for (unsigned int k = 1; k <= PERIODS; k++) {
        SgIoMsg *m;

        t = t0 + k * 10 * G_TIME_SPAN_MILLISECOND * 1000 - 1;
        run_on_dev(clock_to, &t);
        g_assert_null(sg_io_wait(sg, false, k == 1 ? 50 : 0));
        t++;
        run_on_dev(clock_to, &t);
        m = sg_io_wait(sg, false, 2000);
        g_assert_nonnull(m);
        g_assert_cmphex(m->status, ==, VIRTIO_SND_S_IO_ERR);
    }
    guest_end(sg, ff, d);
}

static void test_fake_stalled(void)
{
    FfConn *ff;
    Dev *d = dev_start("fake", 2, FALSE, &ff);
    SgGuest *sg = guest_boot(ff, 0);
    uint8_t buf[PERIOD] = { 0 };
    SgIoMsg *m;
    gint64 t0;

    /* stream 0: a host that never takes anything */
    run_on_dev(set_room, GSIZE_TO_POINTER(0));
    params_ok(sg, 0, 0);
    pcm_ok(sg, VIRTIO_SND_R_PCM_PREPARE, 0);
    for (unsigned int i = 0; i < PERIODS; i++) {
        g_assert_cmpint(sg_tx_submit(sg, sg_io_msg_new(sg, 0, false, PERIOD), buf, false), ==, 0);
    }
    pcm_ok(sg, VIRTIO_SND_R_PCM_START, 0);
    /* the control queue still answers at once */
    t0 = g_get_monotonic_time();
    params_ok(sg, 1, 0);
    pcm_ok(sg, VIRTIO_SND_R_PCM_PREPARE, 1);
    g_assert_cmpint(g_get_monotonic_time() - t0, <, G_USEC_PER_SEC / 2);
    /* and stream 1 captures while stream 0 is stuck */
    m = sg_io_msg_new(sg, 1, true, PERIOD);
    g_assert_cmpint(sg_rx_submit(sg, m, false), ==, 0);
    pcm_ok(sg, VIRTIO_SND_R_PCM_START, 1);
    run_on_dev(give_data_all, GSIZE_TO_POINTER(PERIOD));
    g_assert_true(sg_io_wait(sg, true, 2000) == m);
    g_assert_cmpuint(m->used_len, ==, PERIOD + 8);
    g_assert_null(sg_io_wait(sg, false, 50));
    /* RELEASE of the stuck stream still returns everything */
    pcm_ok(sg, VIRTIO_SND_R_PCM_STOP, 0);
    pcm_ok(sg, VIRTIO_SND_R_PCM_RELEASE, 0);
    for (unsigned int i = 0; i < PERIODS; i++) {
        g_assert_nonnull(sg_io_wait(sg, false, 0));
    }
    guest_end(sg, ff, d);
}
/* A queue stop (QEMU's stop, a migration) with a capture buffer partly
 * filled: that one completes with the frames it holds and silence after
 * them, the untouched one goes back to the ring and is filled after the
 * restart (was: both given back, the captured frames lost and the guest,
 * waiting, seeing nothing until a whole new period came). */
static void test_fake_capture_stop_partial(void)
{
    FfConn *ff;
    Dev *d = dev_start("fake", 2, FALSE, &ff);
    SgGuest *sg = guest_boot(ff, 0);
    g_autoptr(GError) err = NULL;
    uint8_t got[PERIOD], want[PERIOD] = { 0 };
    uint32_t bases[4];
    SgIoMsg *m[2], *done;

    params_ok(sg, 1, 0);
    pcm_ok(sg, VIRTIO_SND_R_PCM_PREPARE, 1);
    for (unsigned int i = 0; i < 2; i++) {
        m[i] = sg_io_msg_new(sg, 1, true, PERIOD);
        g_assert_cmpint(sg_rx_submit(sg, m[i], false), ==, 0);
    }
    pcm_ok(sg, VIRTIO_SND_R_PCM_START, 1);
    run_on_dev(give_data_all, GSIZE_TO_POINTER(PERIOD / 2));
    g_assert_null(sg_io_wait(sg, true, 100));
    g_assert_true(ff_suspend(ff, bases, &err));
    g_assert_no_error(err);
    done = sg_io_wait(sg, true, 0);
    g_assert_true(done == m[0]);
    g_assert_cmpuint(done->used_len, ==, PERIOD + 8);
    sg_io_read(sg, done, got);
    for (unsigned int i = 0; i < PERIOD / 2; i++) {
        want[i] = (uint8_t)i; /* the fake host's bytes, then silence */
    }
    g_assert_cmpmem(got, PERIOD, want, PERIOD);
    g_assert_null(sg_io_wait(sg, true, 0));
    g_assert_true(ff_start(ff, sg->mem, sg->vq, bases, &err));
    g_assert_no_error(err);
    run_on_dev(give_data_all, GSIZE_TO_POINTER(PERIOD));
    g_assert_true(sg_io_wait(sg, true, 2000) == m[1]);
    g_assert_cmpuint(m[1]->used_len, ==, PERIOD + 8);
    pcm_ok(sg, VIRTIO_SND_R_PCM_STOP, 1);
    pcm_ok(sg, VIRTIO_SND_R_PCM_RELEASE, 1);
    guest_end(sg, ff, d);
}

/* Two capture streams on the rx ring, popped b1 (stream 3), a1, a2
 * (stream 1); a1 is partly filled at the queue stop.  a2 goes back to the
 * ring; a1 completes with its frames; b1 can no longer be rewound (a1,
 * popped after it, completed): it completes with silence and a status,
 * never empty. */
static void test_fake_capture_stop_two_streams(void)
{
    FfConn *ff;
    Dev *d = dev_start("fake", 4, FALSE, &ff);
    SgGuest *sg = guest_boot(ff, 0);
    g_autoptr(GError) err = NULL;
    uint8_t got[PERIOD], silence[PERIOD] = { 0 };
    uint32_t bases[4];
    SgIoMsg *a1, *a2, *b1, *done[2];

    params_ok(sg, 1, 0);
    params_ok(sg, 3, 0);
    pcm_ok(sg, VIRTIO_SND_R_PCM_PREPARE, 1); /* opened first: fake stream 0 */
    pcm_ok(sg, VIRTIO_SND_R_PCM_PREPARE, 3);
    b1 = sg_io_msg_new(sg, 3, true, PERIOD);
    a1 = sg_io_msg_new(sg, 1, true, PERIOD);
    a2 = sg_io_msg_new(sg, 1, true, PERIOD);
    g_assert_cmpint(sg_rx_submit(sg, b1, false), ==, 0);
    g_assert_cmpint(sg_rx_submit(sg, a1, false), ==, 0);
    g_assert_cmpint(sg_rx_submit(sg, a2, false), ==, 0);
    pcm_ok(sg, VIRTIO_SND_R_PCM_START, 1);
    pcm_ok(sg, VIRTIO_SND_R_PCM_START, 3);
    run_on_dev(give_data_first, GSIZE_TO_POINTER(PERIOD / 2));
    g_assert_null(sg_io_wait(sg, true, 100));
    g_assert_true(ff_suspend(ff, bases, &err));
    g_assert_no_error(err);
    done[0] = sg_io_wait(sg, true, 0);
    done[1] = sg_io_wait(sg, true, 0);
    g_assert_null(sg_io_wait(sg, true, 0));
    g_assert_nonnull(done[0]);
    g_assert_nonnull(done[1]);
    g_assert_true((done[0] == a1 && done[1] == b1) || (done[0] == b1 && done[1] == a1));
    g_assert_cmpuint(a1->used_len, ==, PERIOD + 8);
    g_assert_cmpuint(b1->used_len, ==, PERIOD + 8);
    g_assert_cmpuint(b1->status, ==, VIRTIO_SND_S_IO_ERR);
    sg_io_read(sg, b1, got);
    g_assert_cmpmem(got, PERIOD, silence, PERIOD);
    g_assert_cmpuint(bases[3] & 0x7fff, ==, 2); /* rx ring: a2 is back in the ring */
    g_assert_true(ff_start(ff, sg->mem, sg->vq, bases, &err));
    g_assert_no_error(err);
    run_on_dev(give_data_all, GSIZE_TO_POINTER(PERIOD));
    g_assert_true(sg_io_wait(sg, true, 2000) == a2);
    g_assert_cmpuint(a2->used_len, ==, PERIOD + 8);
    pcm_ok(sg, VIRTIO_SND_R_PCM_STOP, 1);
    pcm_ok(sg, VIRTIO_SND_R_PCM_RELEASE, 1);
    pcm_ok(sg, VIRTIO_SND_R_PCM_STOP, 3);
    pcm_ok(sg, VIRTIO_SND_R_PCM_RELEASE, 3);
    guest_end(sg, ff, d);
}

#endif

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    /* The device thread may log warnings (e.g. a host driver): not fatal. */
    g_log_set_always_fatal(G_LOG_FATAL_MASK | G_LOG_LEVEL_CRITICAL);
#ifdef SND_TEST_FAKE_AUDIO
    g_test_add_func("/snd/dev-fake/jack/disconnect-connect", test_fake_jack);
    g_test_add_func("/snd/dev-fake/xrun-event", test_fake_xrun);
    g_test_add_func("/snd/dev-fake/host-gone/paced-io-err", test_fake_host_gone);
    g_test_add_func("/snd/dev-fake/stalled-driver-blocks-nothing", test_fake_stalled);
    g_test_add_func("/snd/dev-fake/capture-stop-partial", test_fake_capture_stop_partial);
    g_test_add_func("/snd/dev-fake/capture-stop-two-streams", test_fake_capture_stop_two_streams);
    return g_test_run();
#endif
    g_test_add_func("/snd/dev/probe", test_probe);
    g_test_add_func("/snd/dev/config/controls", test_config_controls);
    g_test_add_func("/snd/dev/playback/wav-byte-exact", test_playback_wav);
    g_test_add_func("/snd/dev/playback/pacing", test_playback_pacing);
    g_test_add_func("/snd/dev/capture/wav-byte-exact", test_capture_wav);
    g_test_add_func("/snd/dev/release/outstanding", test_release_outstanding);
    g_test_add_func("/snd/dev/queue-stop/returns-held", test_queue_stop);
    g_test_add_func("/snd/dev/disabled-rings", test_disabled_rings);
    g_test_add_func("/snd/dev/reset-restart", test_reset_restart);
    g_test_add_func("/snd/dev/status-reset-pause", test_status_reset_pause);
    g_test_add_func("/snd/dev/reset-device-parks-nothing", test_reset_device_parks_nothing);
    g_test_add_func("/snd/dev/msg-polling/no-kicks", test_polling);
    g_test_add_func("/snd/dev/controls/write-notify-read", test_controls);
    g_test_add_func("/snd/dev/invalid/control", test_invalid_control);
    g_test_add_func("/snd/dev/invalid/io", test_invalid_io);
    g_test_add_func("/snd/dev/idle/no-busy-loop", test_idle);
    g_test_add_func("/snd/dev/hostile/random-chains", test_random_chains);
    g_test_add_func("/snd/dev/hostile/event-buffer-readable", test_event_readable_buffer);
    return g_test_run();
}
