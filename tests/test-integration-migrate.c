/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-integration-migrate.c - live migration and restart continuity with
 * real daemon processes, the fake front-end playing QEMU on both sides.
 *
 * Migration (vhost-user.rst "Migrating back-end state"): the guest plays a
 * known signal (every frame numbered) through daemon A with the wav
 * driver; mid-stream the rings stop as QEMU stops them (SET_VRING_ENABLE 0,
 * GET_VRING_BASE x 4), A's state is saved; daemon B is set up as QEMU's
 * destination does it (realize, load the state, then memory table, rings
 * with A's bases, kick, call, enable, DRIVER_OK) and the guest carries on
 * on the same rings.  The WAV files of A and B, concatenated, are the
 * signal: nothing lost, nothing twice, no silence.  Capture likewise: the
 * guest receives whole periods of the file's numbered frames, one run from
 * A then one from B, never a made-up period.  Across drivers (wav -> null,
 * null -> wav), bad blobs through the daemon, the dirty log of every page
 * the daemon wrote (a shadow of guest memory kept through the log equals
 * guest memory), and the back-end restart: A is SIGKILLed mid-playback, B
 * gets the inflight region and the state file and the stream plays on
 * without SET_PARAMS/PREPARE/START, split and packed.
 *
 * Timing is loose: periods of 25 ms, waits of seconds.
 */
#include "config.h"

#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <linux/virtio_snd.h>

#include "tests/harness/daemon.h"
#include "tests/harness/fake-frontend.h"
#include "tests/harness/snd-guest.h"

#define RATE_HZ 48000u
#define FRAME 4u                        /* S16 stereo */
#define PERIOD_FRAMES 1200u             /* 25 ms */
#define PERIOD_BYTES (PERIOD_FRAMES * FRAME)
#define NMSG 4
#define NRX 16                          /* capture buffers of the dirty-log test */
#define TOTAL 40                        /* periods played per test */
#define MIGRATE_AT 12                   /* completions before migrating */
#define WAIT_MS 5000

/* ---- helpers ---------------------------------------------------------------- */

static char *make_dir(void)
{
    g_autoptr(GError) err = NULL;
    char *dir = g_dir_make_tmp("vsnd-migrate-XXXXXX", &err);

    g_assert_no_error(err);
    return dir;
}

/* The state file is written by the daemon's writer thread, coalesced
 * (snd-state-writer.h): wait until it exists and has not changed for
 * 200 ms, at most WAIT_MS.  Return: whether it exists. */
static gboolean wait_state_settled(const char *path)
{
    gint64 end = g_get_monotonic_time() + (gint64)WAIT_MS * 1000;
    gint64 last_change = g_get_monotonic_time();
    struct stat prev = { 0 };

    while (g_get_monotonic_time() < end) {
        struct stat st;
        if (stat(path, &st) != 0 || st.st_mtim.tv_nsec != prev.st_mtim.tv_nsec ||
            st.st_mtim.tv_sec != prev.st_mtim.tv_sec || st.st_size != prev.st_size ||
            st.st_ino != prev.st_ino) {
            if (stat(path, &prev) != 0)
                memset(&prev, 0, sizeof(prev));
            last_change = g_get_monotonic_time();
        } else if (g_get_monotonic_time() - last_change >= 200 * 1000) {
            return TRUE;
        }
        g_usleep(10 * 1000);
    }
    return g_file_test(path, G_FILE_TEST_EXISTS);
}

static void rm_dir(char *dir)
{
    g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
    const char *name;

    while (d && (name = g_dir_read_name(d))) {
        g_autofree char *p = g_build_filename(dir, name, NULL);
        g_unlink(p);
    }
    g_rmdir(dir);
    g_free(dir);
}

/* A daemon with the @driver spec, and a --state-file when @state_file. */
static VdProc *spawn_with_state(const char *driver, const char *state_file)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *arg = g_strdup_printf("--driver=%s", driver);
    g_autofree char *state = state_file ? g_strdup_printf("--state-file=%s", state_file) : NULL;
    const char *argv[] = { arg, state, NULL };
    VdProc *vd = vd_spawn(VD_LISTEN_SOCKET, argv, &err);

    g_assert_no_error(err);
    g_assert_true(vd_wait_socket(vd, WAIT_MS));
    return vd;
}

static VdProc *spawn(const char *driver)
{
    return spawn_with_state(driver, NULL);
}

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

    /* what Linux selects: MSG_POLLING and EVT_XRUNS when offered, and then
     * no tx/rx kicks (the fake guest follows the accepted features) */
    g_assert_true(sg_pcm_set_params(sg, sid, PERIOD_BYTES * NMSG, PERIOD_BYTES, 2,
                                    VIRTIO_SND_PCM_FMT_S16, VIRTIO_SND_PCM_RATE_48000,
                                    sg_linux_pcm_features(sg, sid), &st, &err));
    g_assert_no_error(err);
    g_assert_cmphex(st, ==, VIRTIO_SND_S_OK);
}

static uint32_t stream_of(SgGuest *sg, uint8_t dir)
{
    for (uint32_t i = 0; i < sg->streams; i++) {
        if (sg->pcm[i].direction == dir) {
            return i;
        }
    }
    g_assert_not_reached();
}

/* Frame f of the signal: left = f, right = ~f (16 bits each). */
static void signal_period(unsigned int period, uint8_t *out)
{
    for (unsigned int i = 0; i < PERIOD_FRAMES; i++) {
        uint16_t f = (uint16_t)(period * PERIOD_FRAMES + i);
        uint16_t l = GUINT16_TO_LE(f), r = GUINT16_TO_LE((uint16_t)~f);

        memcpy(out + i * FRAME, &l, 2);
        memcpy(out + i * FRAME + 2, &r, 2);
    }
}

/* The sample bytes of a WAV file the wav driver wrote (after the "data"
 * chunk header; the header's size may be stale after a SIGKILL). */
static GBytes *wav_data(const char *dir)
{
    g_autofree char *path = g_build_filename(dir, "stream-0.wav", NULL);
    g_autofree char *buf = NULL;
    gsize len = 0;

    if (!g_file_get_contents(path, &buf, &len, NULL)) {
        return g_bytes_new(NULL, 0);
    }
    for (gsize i = 12; i + 8 <= len; i++) {
        if (memcmp(buf + i, "data", 4) == 0) {
            return g_bytes_new(buf + i + 8, len - i - 8);
        }
    }
    g_assert_not_reached();
}

/* The guest's playback: NMSG period messages, each refilled with the next
 * period of the signal when it completes, until TOTAL periods are out. */
typedef struct Player {
    SgGuest *sg;
    uint32_t sid;
    SgIoMsg *m[NMSG];
    unsigned int next;      /* next period to submit */
    unsigned int completed;
} Player;

static void player_submit(Player *p, SgIoMsg *m)
{
    uint8_t data[PERIOD_BYTES];

    if (p->next >= TOTAL) {
        return;
    }
    signal_period(p->next++, data);
    g_assert_cmpint(sg_tx_submit(p->sg, m, data, false), ==, 0);
}

static void player_start(Player *p, SgGuest *sg, bool start)
{
    p->sg = sg;
    p->sid = stream_of(sg, VIRTIO_SND_D_OUTPUT);
    set_params(sg, p->sid);
    ctl_ok(sg, VIRTIO_SND_R_PCM_PREPARE, p->sid);
    for (unsigned int i = 0; i < NMSG; i++) {
        p->m[i] = sg_io_msg_new(sg, p->sid, false, PERIOD_BYTES);
        player_submit(p, p->m[i]);
    }
    if (start) {
        ctl_ok(sg, VIRTIO_SND_R_PCM_START, p->sid);
    }
}

/* Run until @until periods completed (refilling as the guest does).
 * Return: false when nothing completed for WAIT_MS (logged). */
static bool player_try_run(Player *p, unsigned int until, VdProc *vd)
{
    while (p->completed < until) {
        SgIoMsg *d = sg_io_wait(p->sg, false, WAIT_MS);

        if (!d) {
            g_autofree char *log = vd ? vd_stderr(vd) : NULL;
            g_test_message("playback stalled after %u of %u periods; daemon said:\n%s",
                           p->completed, until, log ? log : "");
            return false;
        }
        p->completed++;
        player_submit(p, d);
    }
    return true;
}

/*
 * The Linux-like fake guest accepts MSG_POLLING and never kicks tx/rx: a
 * stream restored in RUNNING state (device state loaded on a migration
 * destination, the state file after a restart or a reconnection, the
 * state parked by SET_STATUS(0)) must be polled again once its queue
 * starts (vsnd_pcm_queue_started() re-arms polling).  A stall here is a
 * failure.
 */
static void poll_stall(const char *where)
{
    g_error("playback/capture stalls on the %s: the restored running stream negotiated "
            "MSG_POLLING and is not polled after its queue started", where);
}

static void player_run(Player *p, unsigned int until, VdProc *vd)
{
    if (!player_try_run(p, until, vd)) {
        g_error("playback stalled after %u of %u periods", p->completed, until);
    }
}

/* Take in completions that are already there, refilling like the guest. */
static unsigned int drain_done(Player *p)
{
    unsigned int n = 0;
    SgIoMsg *d;

    while ((d = sg_io_wait(p->sg, false, 0))) {
        p->completed++;
        n++;
        player_submit(p, d);
    }
    return n;
}

/* The destination: QEMU realizes the device, loads the state (VM not
 * running yet), then starts the vhost device on the migrated rings. */
static FfConn *destination(VdProc *dst, SgGuest *sg, GBytes *state, const uint32_t *bases)
{
    g_autoptr(GError) err = NULL;
    FfConn *ff2 = vd_connect(dst, &err);

    g_assert_no_error(err);
    *ff_setup(ff2) = *ff_setup(sg->ff);
    g_assert_true(ff_realize(ff2, &err));
    g_assert_no_error(err);
    g_assert_true(ff_load_state(ff2, state, &err));
    g_assert_no_error(err);
    g_assert_true(ff_start(ff2, sg->mem, sg->vq, bases, &err));
    g_assert_no_error(err);
    return ff2;
}

/* Save on the source after QEMU's stop.  @status_reset: the stop ends with
 * SET_STATUS(0), as QEMU's vhost_dev_stop() does with F_STATUS. */
static GBytes *source_save(SgGuest *sg, uint32_t *bases, bool status_reset)
{
    g_autoptr(GError) err = NULL;
    GBytes *state;

    if (status_reset) {
        g_assert_true(ff_stop(sg->ff, bases, &err));
    } else {
        g_assert_true(ff_suspend(sg->ff, bases, &err));
    }
    g_assert_no_error(err);
    state = ff_save_state(sg->ff, &err);
    g_assert_no_error(err);
    g_assert_nonnull(state);
    return state;
}

static void switch_frontend(SgGuest *sg, FfConn *ff2)
{
    ff_free(sg->ff);
    sg->ff = ff2;
}

static void check_signal(const uint8_t *data, size_t len, unsigned int first_period,
                         const char *what)
{
    uint8_t want[PERIOD_BYTES];

    g_assert_cmpuint(len % PERIOD_BYTES, ==, 0);
    for (size_t at = 0; at < len; at += PERIOD_BYTES) {
        unsigned int period = first_period + (unsigned int)(at / PERIOD_BYTES);

        signal_period(period, want);
        if (memcmp(data + at, want, PERIOD_BYTES) != 0) {
            uint16_t got;

            memcpy(&got, data + at, 2);
            g_error("%s: period %u holds frame %u, expected frame %u", what, period,
                    GUINT16_FROM_LE(got), (period * PERIOD_FRAMES) & 0xffff);
        }
    }
}

/* ---- playback migration ------------------------------------------------------- */

typedef struct Pair {
    const char *src;   /* "wav" or "null" */
    const char *dst;
    bool packed;
    bool status_reset;
} Pair;

static char *driver_spec(const char *kind, const char *dir)
{
    if (g_str_equal(kind, "wav")) {
        return g_strdup_printf("wav,dir=%s", dir);
    }
    return g_strdup("null");
}

static void test_playback(gconstpointer data)
{
    const Pair *pair = data;
    char *dir_a, *dir_b;

    if (!vd_require()) {
        return;
    }
    dir_a = make_dir();
    dir_b = make_dir();
    {
        g_autofree char *spec_a = driver_spec(pair->src, dir_a);
        g_autofree char *spec_b = driver_spec(pair->dst, dir_b);
        g_autoptr(VdProc) a = spawn(spec_a);
        g_autoptr(VdProc) b = NULL;
        g_autoptr(GError) err = NULL;
        g_autoptr(GBytes) state = NULL;
        g_autoptr(GBytes) da = NULL, db = NULL;
        SgOpts o;
        g_autoptr(SgGuest) sg = NULL;
        Player p = { 0 };
        uint32_t bases[4];
        unsigned int on_a;
        GByteArray *all;
        int st;

        sg_opts_init(&o);
        o.packed = pair->packed;
        sg = sg_connect(a, &o, &err);
        g_assert_no_error(err);
        g_assert_true(sg_boot(sg, &err));
        g_assert_no_error(err);
        g_assert_true(ff_has_protocol(sg->ff, FF_PROTO_F_DEVICE_STATE));
        player_start(&p, sg, true);
        player_run(&p, MIGRATE_AT, a);

        state = source_save(sg, bases, pair->status_reset);
        b = spawn(spec_b);
        switch_frontend(sg, destination(b, sg, state, bases));
        /* completions A wrote while stopping come first */
        on_a = p.completed + drain_done(&p);
        g_test_message("%u periods completed on A, %u bytes of state", on_a,
                       (unsigned int)g_bytes_get_size(state));
        if (!player_try_run(&p, TOTAL, b)) {
            poll_stall("migration destination");
        }
        g_assert_null(sg_io_wait(sg, false, 200)); /* nothing twice */
        ctl_ok(sg, VIRTIO_SND_R_PCM_STOP, p.sid);
        ctl_ok(sg, VIRTIO_SND_R_PCM_RELEASE, p.sid);
        g_clear_pointer(&sg, sg_free);
        /* both end cleanly (under ASan: without leaks) */
        st = vd_terminate(a, WAIT_MS);
        g_assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
        st = vd_terminate(b, WAIT_MS);
        g_assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);

        da = wav_data(dir_a);
        db = wav_data(dir_b);
        g_test_message("A wrote %zu bytes, B wrote %zu bytes", g_bytes_get_size(da),
                       g_bytes_get_size(db));
        if (g_str_equal(pair->src, "wav") && g_str_equal(pair->dst, "wav")) {
            /* the whole signal, exactly once, in order */
            all = g_byte_array_new();
            g_byte_array_append(all, g_bytes_get_data(da, NULL), (guint)g_bytes_get_size(da));
            g_byte_array_append(all, g_bytes_get_data(db, NULL), (guint)g_bytes_get_size(db));
            g_assert_cmpuint(all->len, ==, TOTAL * PERIOD_BYTES);
            check_signal(all->data, all->len, 0, "A+B");
            g_assert_cmpuint(g_bytes_get_size(da), >=, MIGRATE_AT * PERIOD_BYTES);
            g_assert_cmpuint(g_bytes_get_size(db), >, 0);
            g_byte_array_unref(all);
        } else if (g_str_equal(pair->src, "wav")) {
            /* A's part is an exact prefix; B (null) played the rest */
            g_assert_cmpuint(g_bytes_get_size(da), >=, MIGRATE_AT * PERIOD_BYTES);
            check_signal(g_bytes_get_data(da, NULL), g_bytes_get_size(da), 0, "A");
        } else {
            /* B's part is an exact suffix, starting where A stopped */
            gsize lb = g_bytes_get_size(db);

            g_assert_cmpuint(lb, >=, (TOTAL - on_a) * PERIOD_BYTES);
            g_assert_cmpuint(lb, <=, (TOTAL - MIGRATE_AT) * PERIOD_BYTES);
            check_signal(g_bytes_get_data(db, NULL), lb, TOTAL - (unsigned int)(lb / PERIOD_BYTES),
                         "B");
        }
    }
    rm_dir(dir_a);
    rm_dir(dir_b);
}

/* A failed migration: the source's rings start again, the stream goes on
 * there (the playback it took over at the stop plays first). */
static void test_source_resumes(gconstpointer data)
{
    bool status_reset = GPOINTER_TO_INT(data);
    char *dir;

    if (!vd_require()) {
        return;
    }
    dir = make_dir();
    {
        g_autofree char *spec = driver_spec("wav", dir);
        g_autoptr(VdProc) a = spawn(spec);
        g_autoptr(GError) err = NULL;
        g_autoptr(SgGuest) sg = sg_connect(a, NULL, &err);
        g_autoptr(GBytes) state = NULL, da = NULL;
        Player p = { 0 };
        uint32_t bases[4];

        g_assert_no_error(err);
        g_assert_true(sg_boot(sg, &err));
        g_assert_no_error(err);
        player_start(&p, sg, true);
        player_run(&p, MIGRATE_AT, a);
        state = source_save(sg, bases, status_reset);
        /* suspended during the save: nothing happened meanwhile */
        drain_done(&p);
        g_assert_null(sg_io_wait(sg, false, 100));
        /* the destination failed; QEMU restarts the source's vhost device */
        g_assert_true(ff_start(sg->ff, sg->mem, sg->vq, bases, &err));
        g_assert_no_error(err);
        if (!player_try_run(&p, TOTAL, a)) {
            if (!status_reset) {
                g_error("playback stalled after the source resumed");
            }
            /* Real QEMU 10.x sends no SET_STATUS(0), but the daemon
             * accepts it and must resume the same way. */
            poll_stall("source restarted after SET_STATUS(0)");
        }
        ctl_ok(sg, VIRTIO_SND_R_PCM_STOP, p.sid);
        ctl_ok(sg, VIRTIO_SND_R_PCM_RELEASE, p.sid);
        g_clear_pointer(&sg, sg_free);
        vd_terminate(a, WAIT_MS);
        da = wav_data(dir);
        g_assert_cmpuint(g_bytes_get_size(da), ==, TOTAL * PERIOD_BYTES);
        check_signal(g_bytes_get_data(da, NULL), g_bytes_get_size(da), 0, "A");
    }
    rm_dir(dir);
}

/* ---- capture migration ---------------------------------------------------------- */

#define IN_FRAMES 48000u

/* A capture file: frame i is left = i + 1, right = 0x5a5a (never silence). */
static char *make_input(const char *dir)
{
    char *path = g_build_filename(dir, "in.wav", NULL);
    uint32_t data_len = IN_FRAMES * FRAME;
    g_autofree uint8_t *buf = g_malloc0(44 + data_len);
    uint32_t v32;
    uint16_t v16;

    memcpy(buf, "RIFF", 4);
    v32 = GUINT32_TO_LE(36 + data_len);
    memcpy(buf + 4, &v32, 4);
    memcpy(buf + 8, "WAVEfmt ", 8);
    v32 = GUINT32_TO_LE(16);
    memcpy(buf + 16, &v32, 4);
    v16 = GUINT16_TO_LE(1);
    memcpy(buf + 20, &v16, 2);           /* PCM */
    v16 = GUINT16_TO_LE(2);
    memcpy(buf + 22, &v16, 2);           /* channels */
    v32 = GUINT32_TO_LE(RATE_HZ);
    memcpy(buf + 24, &v32, 4);
    v32 = GUINT32_TO_LE(RATE_HZ * FRAME);
    memcpy(buf + 28, &v32, 4);
    v16 = GUINT16_TO_LE(FRAME);
    memcpy(buf + 32, &v16, 2);
    v16 = GUINT16_TO_LE(16);
    memcpy(buf + 34, &v16, 2);
    memcpy(buf + 36, "data", 4);
    v32 = GUINT32_TO_LE(data_len);
    memcpy(buf + 40, &v32, 4);
    for (uint32_t i = 0; i < IN_FRAMES; i++) {
        uint16_t l = GUINT16_TO_LE((uint16_t)(i + 1)), r = GUINT16_TO_LE(0x5a5a);

        memcpy(buf + 44 + i * FRAME, &l, 2);
        memcpy(buf + 44 + i * FRAME + 2, &r, 2);
    }
    g_assert_true(g_file_set_contents(path, (const char *)buf, 44 + data_len, NULL));
    return path;
}

static void test_capture(gconstpointer data)
{
    bool packed = GPOINTER_TO_INT(data);
    char *dir;

    if (!vd_require()) {
        return;
    }
    dir = make_dir();
    {
        g_autofree char *in = make_input(dir);
        g_autofree char *spec = g_strdup_printf("wav,in=%s", in);
        g_autoptr(VdProc) a = spawn(spec);
        g_autoptr(VdProc) b = NULL;
        g_autoptr(GError) err = NULL;
        g_autoptr(GBytes) state = NULL;
        g_autoptr(SgGuest) sg = NULL;
        g_autofree uint16_t *got = g_new0(uint16_t, (gsize)TOTAL * PERIOD_FRAMES * 2);
        SgOpts o;
        SgIoMsg *m[NMSG];
        uint32_t bases[4], sid;
        unsigned int done = 0, runs = 1, on_a;

        sg_opts_init(&o);
        o.packed = packed;
        sg = sg_connect(a, &o, &err);
        g_assert_no_error(err);
        g_assert_true(sg_boot(sg, &err));
        g_assert_no_error(err);
        sid = stream_of(sg, VIRTIO_SND_D_INPUT);
        set_params(sg, sid);
        ctl_ok(sg, VIRTIO_SND_R_PCM_PREPARE, sid);
        for (unsigned int i = 0; i < NMSG; i++) {
            m[i] = sg_io_msg_new(sg, sid, true, PERIOD_BYTES);
            g_assert_cmpint(sg_rx_submit(sg, m[i], false), ==, 0);
        }
        ctl_ok(sg, VIRTIO_SND_R_PCM_START, sid);
        while (done < TOTAL) {
            SgIoMsg *d;

            if (done == MIGRATE_AT && !b) {
                state = source_save(sg, bases, false);
                b = spawn(spec);
                switch_frontend(sg, destination(b, sg, state, bases));
            }
            d = sg_io_wait(sg, true, WAIT_MS);
            if (!d) {
                g_autofree char *log = vd_stderr(b ? b : a);
                if (!b) {
                    g_error("capture stalled after %u periods:\n%s", done, log);
                }
                g_test_message("capture stalled after %u periods:\n%s", done, log);
                poll_stall("migration destination (capture)");
            }
            /* whole periods only: data + status */
            g_assert_cmpuint(d->used_len, ==, PERIOD_BYTES + 8);
            g_assert_cmphex(d->status, ==, VIRTIO_SND_S_OK);
            sg_io_read(sg, d, got + (gsize)done * PERIOD_FRAMES * 2);
            done++;
            g_assert_cmpint(sg_rx_submit(sg, d, false), ==, 0);
        }
        /* one numbered run from A, one from B (the file starts over on a new
         * open), each frame exactly once, no made-up period */
        on_a = 0;
        for (unsigned int f = 0; f < TOTAL * PERIOD_FRAMES; f++) {
            uint16_t l = GUINT16_FROM_LE(got[2 * f]), r = GUINT16_FROM_LE(got[2 * f + 1]);

            g_assert_cmphex(r, ==, 0x5a5a);
            if (f == 0) {
                g_assert_cmpuint(l, ==, 1);
                continue;
            }
            if (l != (uint16_t)(GUINT16_FROM_LE(got[2 * (f - 1)]) + 1)) {
                g_assert_cmpuint(l, ==, 1);          /* B's first frame */
                g_assert_cmpuint(f % PERIOD_FRAMES, ==, 0);
                on_a = f / PERIOD_FRAMES;
                runs++;
            }
        }
        g_test_message("%u periods from A, %u from B", on_a, TOTAL - on_a);
        g_assert_cmpuint(runs, ==, 2);
        g_assert_cmpuint(on_a, >=, MIGRATE_AT);
        g_clear_pointer(&sg, sg_free);
    }
    rm_dir(dir);
}

/* ---- bad blobs through the daemon ------------------------------------------------- */

static GBytes *corrupt(GBytes *state, gsize at, uint8_t x)
{
    gsize len;
    const uint8_t *d = g_bytes_get_data(state, &len);
    uint8_t *c = g_memdup2(d, len);

    c[at % len] ^= x;
    return g_bytes_new_take(c, len);
}

static void test_bad_blobs(void)
{
    if (!vd_require()) {
        return;
    }
    g_autoptr(VdProc) a = spawn("null");
    g_autoptr(GError) err = NULL;
    g_autoptr(SgGuest) sg = sg_connect(a, NULL, &err);
    g_assert_no_error(err);
    g_assert_true(sg_boot(sg, &err));
    g_assert_no_error(err);
    set_params(sg, 0);
    uint32_t bases[4];
    g_autoptr(GBytes) state = source_save(sg, bases, false);
    gsize len = g_bytes_get_size(state);
    g_autofree uint8_t *big = g_malloc0(17u * 1024 * 1024);
    memcpy(big, g_bytes_get_data(state, NULL), len);
    GBytes *bad[] = {
        corrupt(state, 3, 0x20),                 /* inside the magic */
        corrupt(state, len / 2, 0x01),           /* payload: checksum */
        corrupt(state, len - 5, 0xff),           /* framing */
        g_bytes_new_from_bytes(state, 0, len - 1),
        g_bytes_new_static(big, 17u * 1024 * 1024), /* oversized */
    };

    /* another topology: 4 streams */
    const char *argv4[] = { "--driver=null", "--streams=4", NULL };
    g_autoptr(VdProc) four = vd_spawn(VD_LISTEN_SOCKET, argv4, &err);
    g_assert_no_error(err);
    g_assert_true(vd_wait_socket(four, WAIT_MS));
    g_autoptr(VdProc) dst = spawn("null");
    for (unsigned int i = 0; i <= G_N_ELEMENTS(bad); i++) {
        bool topo = i == G_N_ELEMENTS(bad);
        g_autoptr(SgGuest) g = sg_connect(topo ? four : dst, NULL, &err);
        g_assert_no_error(err);
        g_assert_true(ff_realize(g->ff, &err));
        g_assert_no_error(err);
        g_assert_false(ff_load_state(g->ff, topo ? state : bad[i], &err));
        g_assert_nonnull(err);
        g_test_message("refused: %s", err->message);
        g_clear_error(&err);
        if (!topo) {
            /* the same device still takes the good state afterwards */
            g_assert_true(ff_load_state(g->ff, state, &err));
            g_assert_no_error(err);
            g_bytes_unref(bad[i]);
        }
    }
    g_assert_true(vd_alive(dst));
    g_assert_true(vd_alive(four));
    g_assert_true(vd_alive(a));
    g_assert_true(sg_check_serves(dst, &err));
    g_assert_no_error(err);
}

/* ---- dirty log ---------------------------------------------------------------------- */

/* One run of the dirty-log check; every logging assertion is made here.
 * Returns whether some capture completed after the snapshot, without which
 * the run proved nothing about completions (a loaded machine can deschedule
 * the test for the whole 400 ms capture buffer between START and snapshot). */
static bool dirty_log_attempt(void)
{
    g_autoptr(VdProc) a = spawn("wav,tone=440");
    g_autoptr(GError) err = NULL;
    SgOpts o;
    sg_opts_init(&o);
    o.packed = false;   /* the check below follows the split used index */
    g_autoptr(SgGuest) sg = sg_connect(a, &o, &err);
    g_assert_no_error(err);
    ff_setup(sg->ff)->log = true;   /* QEMU during migration: LOG_ALL + ring log */
    g_assert_true(sg_boot(sg, &err));
    g_assert_no_error(err);
    g_assert_true(ff_set_log_base(sg->ff, sg->mem, &err));
    g_assert_no_error(err);
    uint32_t out = stream_of(sg, VIRTIO_SND_D_OUTPUT), in = stream_of(sg, VIRTIO_SND_D_INPUT);
    set_params(sg, out);
    /* capture: a buffer of NRX periods (400 ms), so that some complete
     * after the snapshot even on a loaded machine */
    {
        uint32_t st = 0;
        g_assert_true(sg_pcm_set_params(sg, in, PERIOD_BYTES * NRX, PERIOD_BYTES, 2,
                                        VIRTIO_SND_PCM_FMT_S16, VIRTIO_SND_PCM_RATE_48000,
                                        sg_linux_pcm_features(sg, in), &st, &err));
        g_assert_no_error(err);
        g_assert_cmphex(st, ==, VIRTIO_SND_S_OK);
    }
    ctl_ok(sg, VIRTIO_SND_R_PCM_PREPARE, out);
    ctl_ok(sg, VIRTIO_SND_R_PCM_PREPARE, in);
    uint8_t data[PERIOD_BYTES];
    SgIoMsg *tx[NMSG], *rx[NRX];
    for (unsigned int i = 0; i < NMSG; i++) {
        signal_period(i, data);
        tx[i] = sg_io_msg_new(sg, out, false, PERIOD_BYTES);
        g_assert_cmpint(sg_tx_submit(sg, tx[i], data, false), ==, 0);
        rx[i] = sg_io_msg_new(sg, in, true, PERIOD_BYTES);
        g_assert_cmpint(sg_rx_submit(sg, rx[i], false), ==, 0);
    }
    for (unsigned int i = NMSG; i < NRX; i++) {
        rx[i] = sg_io_msg_new(sg, in, true, PERIOD_BYTES);
        g_assert_cmpint(sg_rx_submit(sg, rx[i], false), ==, 0);
    }
    uint16_t tx_used = fg_vq_used_idx(sg->vq[VIRTIO_SND_VQ_TX]);
    uint16_t rx_used = fg_vq_used_idx(sg->vq[VIRTIO_SND_VQ_RX]);
    ctl_ok(sg, VIRTIO_SND_R_PCM_START, out);
    ctl_ok(sg, VIRTIO_SND_R_PCM_START, in);

    /* From here the guest writes nothing: every change is the daemon's,
     * and the shadow follows only what the log reports. */
    FgMem *mem = sg->mem;
    ff_log_clear(sg->ff); /* first: anything written after it is logged */
    g_autofree uint8_t *shadow = g_memdup2(mem->base, mem->total);
    /* completions from here on must be logged (earlier ones may be) */
    uint16_t tx_seen = fg_vq_used_idx(sg->vq[VIRTIO_SND_VQ_TX]);
    uint16_t rx_seen = fg_vq_used_idx(sg->vq[VIRTIO_SND_VQ_RX]);
    gint64 end = g_get_monotonic_time() + 5 * G_USEC_PER_SEC;
    while ((uint16_t)(fg_vq_used_idx(sg->vq[VIRTIO_SND_VQ_TX]) - tx_used) < NMSG ||
           (uint16_t)(fg_vq_used_idx(sg->vq[VIRTIO_SND_VQ_RX]) - rx_used) < NRX) {
        g_assert_cmpint(g_get_monotonic_time(), <, end);
        g_usleep(10000);
    }
    uint32_t bases[4];
    g_assert_true(ff_suspend(sg->ff, bases, &err));
    g_assert_no_error(err);

    unsigned int dirty = 0, pages = 0;
    for (unsigned int r = 0; r < mem->nregions; r++) {
        const FgRegion *rg = &mem->region[r];
        for (uint64_t off = 0; off < rg->size; off += FG_PAGE_SIZE) {
            uint64_t at = rg->mmap_offset + off;
            pages++;
            if (ff_log_dirty(sg->ff, rg->gpa + off, FG_PAGE_SIZE)) {
                memcpy(shadow + at, mem->base + at, FG_PAGE_SIZE);
                dirty++;
            }
        }
    }
    g_test_message("%u of %u pages logged dirty", dirty, pages);
    for (unsigned int r = 0; r < mem->nregions; r++) {
        const FgRegion *rg = &mem->region[r];
        for (uint64_t off = 0; off < rg->size; off += FG_PAGE_SIZE) {
            uint64_t at = rg->mmap_offset + off;
            if (memcmp(shadow + at, mem->base + at, FG_PAGE_SIZE) != 0) {
                g_error("page at gpa 0x%" G_GINT64_MODIFIER "x written by the daemon but not "
                        "logged", rg->gpa + off);
            }
        }
    }
    /* the daemon really wrote: messages complete in FIFO order, so those
     * after the ones seen before the snapshot have logged frames, status
     * and used entries */
    g_test_message("completions after the snapshot: tx %u, rx %u",
                   NMSG - (uint16_t)(tx_seen - tx_used), NRX - (uint16_t)(rx_seen - rx_used));
    for (unsigned int i = (uint16_t)(rx_seen - rx_used); i < NRX; i++) {
        g_assert_true(ff_log_dirty(sg->ff, rx[i]->page_gpa[0], 1));
        g_assert_true(ff_log_dirty(sg->ff, rx[i]->status_gpa, 8));
        g_assert_true(ff_log_dirty(sg->ff, fg_vq_device_gpa(sg->vq[VIRTIO_SND_VQ_RX]), 8));
    }
    for (unsigned int i = (uint16_t)(tx_seen - tx_used); i < NMSG; i++) {
        g_assert_true(ff_log_dirty(sg->ff, tx[i]->status_gpa, 8));
        g_assert_true(ff_log_dirty(sg->ff, fg_vq_device_gpa(sg->vq[VIRTIO_SND_VQ_TX]), 8));
    }
    g_assert_cmpuint(dirty, <, pages / 2); /* not everything marked blindly */
    /* the capture side is paced (one period per 25 ms): normally some of
     * it completes after the snapshot */
    return (uint16_t)(rx_seen - rx_used) < NRX;
}

static void test_dirty_log(void)
{
    if (!vd_require()) {
        return;
    }
    /* Retried only for the timing precondition, never for a logging fault. */
    for (int attempt = 1; attempt <= 5; attempt++) {
        if (dirty_log_attempt())
            return;
        g_test_message("attempt %d: every capture completion came before the snapshot", attempt);
    }
    g_error("in 5 attempts no capture completion came after the snapshot");
}

/* ---- restart continuity ------------------------------------------------------------ */

static void test_restart(gconstpointer data)
{
    bool packed = GPOINTER_TO_INT(data);
    char *dir_a, *dir_b, *state_dir;

    if (!vd_require()) {
        return;
    }
    dir_a = make_dir();
    dir_b = make_dir();
    state_dir = make_dir();
    {
        g_autofree char *state_file = g_build_filename(state_dir, "snd.state", NULL);
        g_autofree char *spec_a = driver_spec("wav", dir_a);
        g_autofree char *spec_b = driver_spec("wav", dir_b);
        g_autoptr(VdProc) a = NULL, b = NULL;
        g_autoptr(GError) err = NULL;
        g_autoptr(SgGuest) sg = NULL;
        g_autoptr(GBytes) da = NULL, db = NULL;
        SgOpts o;
        Player p = { 0 };
        uint32_t bases[4];
        unsigned int before;
        GByteArray *all;

        a = spawn_with_state(spec_a, state_file);
        sg_opts_init(&o);
        o.packed = packed;
        sg = sg_connect(a, &o, &err);
        g_assert_no_error(err);
        ff_setup(sg->ff)->inflight = true;
        g_assert_true(sg_boot(sg, &err));
        g_assert_no_error(err);
        g_assert_true(ff_has_protocol(sg->ff, FF_PROTO_F_INFLIGHT_SHMFD));
        player_start(&p, sg, true);
        player_run(&p, MIGRATE_AT, a);
        g_assert_true(wait_state_settled(state_file));

        g_assert_cmpint(vd_signal_wait(a, SIGKILL, WAIT_MS), !=, -1);
        /* what A completed before dying is in the used ring */
        before = p.completed;
        while (sg_io_wait(sg, false, 0)) {
            p.completed++;
        }
        g_test_message("%u periods completed before SIGKILL", p.completed);
        before = p.completed - before;
        (void)before;

        /* QEMU: a new back-end, the same inflight region, rings from the
         * used index; the guest does not re-send SET_PARAMS/PREPARE/START */
        b = spawn_with_state(spec_b, state_file);
        FfConn *ff2 = vd_connect(b, &err);
        g_assert_no_error(err);
        ff_adopt_inflight(ff2, sg->ff);
        *ff_setup(ff2) = *ff_setup(sg->ff);
        g_assert_true(ff_realize(ff2, &err));
        g_assert_no_error(err);
        for (unsigned int q = 0; q < 4; q++) {
            bases[q] = fg_vq_base(sg->vq[q]);
        }
        g_assert_true(ff_start(ff2, sg->mem, sg->vq, bases, &err));
        g_assert_no_error(err);
        switch_frontend(sg, ff2);
        /* refill the slots A completed before dying, then play on */
        for (unsigned int i = 0; i < NMSG; i++) {
            if (!p.m[i]->pending) {
                player_submit(&p, p.m[i]);
            }
        }
        if (!player_try_run(&p, TOTAL, b)) {
            poll_stall("back-end restarted from its state file");
        }
        g_assert_null(sg_io_wait(sg, false, 200));
        ctl_ok(sg, VIRTIO_SND_R_PCM_STOP, p.sid);
        ctl_ok(sg, VIRTIO_SND_R_PCM_RELEASE, p.sid);
        g_clear_pointer(&sg, sg_free);
        vd_terminate(b, WAIT_MS);

        da = wav_data(dir_a);
        db = wav_data(dir_b);
        g_test_message("A wrote %zu bytes, B wrote %zu bytes", g_bytes_get_size(da),
                       g_bytes_get_size(db));
        all = g_byte_array_new();
        g_byte_array_append(all, g_bytes_get_data(da, NULL), (guint)g_bytes_get_size(da));
        g_byte_array_append(all, g_bytes_get_data(db, NULL), (guint)g_bytes_get_size(db));
        g_assert_cmpuint(all->len, ==, TOTAL * PERIOD_BYTES);
        check_signal(all->data, all->len, 0, "A+B");
        g_byte_array_unref(all);
        g_unlink(state_file);
    }
    rm_dir(dir_a);
    rm_dir(dir_b);
    rm_dir(state_dir);
}

/* Cause 4 of the VM lifecycle issue: the state file serves only a
 * front-end that hands back the inflight region of the previous back-end.
 * A freshly booted VM (its own new region) meets a device at power-on,
 * although a state file with a running stream is there (was: restored,
 * the new guest's SET_PARAMS refused in state running). */
static void test_fresh_vm_ignores_state(void)
{
    char *dir_a, *state_dir;

    if (!vd_require()) {
        return;
    }
    dir_a = make_dir();
    state_dir = make_dir();
    {
        g_autofree char *state_file = g_build_filename(state_dir, "snd.state", NULL);
        g_autofree char *spec_a = driver_spec("wav", dir_a);
        g_autoptr(VdProc) a = NULL, b = NULL;
        g_autoptr(GError) err = NULL;
        g_autoptr(SgGuest) sg = NULL, sg2 = NULL;
        SgOpts o;
        Player p = { 0 };

        a = spawn_with_state(spec_a, state_file);
        sg_opts_init(&o);
        sg = sg_connect(a, &o, &err);
        g_assert_no_error(err);
        ff_setup(sg->ff)->inflight = true;
        g_assert_true(sg_boot(sg, &err));
        g_assert_no_error(err);
        player_start(&p, sg, true);
        player_run(&p, 4, a);
        g_assert_true(wait_state_settled(state_file));
        g_assert_cmpint(vd_signal_wait(a, SIGKILL, WAIT_MS), !=, -1);
        g_clear_pointer(&sg, sg_free);

        /* a new VM boots on a new daemon with the same state file */
        b = spawn_with_state("null", state_file);
        sg2 = sg_connect(b, &o, &err);
        g_assert_no_error(err);
        ff_setup(sg2->ff)->inflight = true;
        g_assert_true(sg_boot(sg2, &err));
        g_assert_no_error(err);
        set_params(sg2, stream_of(sg2, VIRTIO_SND_D_OUTPUT));
        ctl_ok(sg2, VIRTIO_SND_R_PCM_PREPARE, stream_of(sg2, VIRTIO_SND_D_OUTPUT));
        g_clear_pointer(&sg2, sg_free);
        vd_terminate(b, WAIT_MS);
        g_unlink(state_file);
    }
    rm_dir(dir_a);
    rm_dir(state_dir);
}

/* The front-end drops the connection and comes back (QEMU's reconnect=):
 * same daemon, the inflight region handed back, streams as they were. */
/* The front-end resets the device and closes the connection at once (the
 * daemon reads the RESET_DEVICE with the socket at its end already): a
 * reset the front-end asked for all the same, so the state file follows
 * it.  (Guessed from the socket, it counted as a front-end gone for a
 * reconnect, and the file kept the stream the guest had just reset.) */
static void test_reset_then_close(void)
{
    char *state_dir;

    if (!vd_require()) {
        return;
    }
    state_dir = make_dir();
    {
        g_autofree char *state_file = g_build_filename(state_dir, "snd.state", NULL);
        g_autoptr(VdProc) a = NULL;
        g_autoptr(GError) err = NULL;
        g_autoptr(SgGuest) sg = NULL;
        g_autofree char *before = NULL, *after = NULL;
        gsize before_len = 0, after_len = 0;
        uint32_t sid = UINT32_MAX;

        a = spawn_with_state("null", state_file);
        sg = sg_connect(a, NULL, &err);
        g_assert_no_error(err);
        ff_setup(sg->ff)->inflight = true;
        g_assert_true(sg_boot(sg, &err));
        g_assert_no_error(err);
        g_assert_true(ff_has_protocol(sg->ff, FF_PROTO_F_RESET_DEVICE));
        for (uint32_t i = 0; i < sg->streams && sid == UINT32_MAX; i++) {
            if (sg->pcm[i].direction == VIRTIO_SND_D_OUTPUT) {
                sid = i;
            }
        }
        set_params(sg, sid);
        ctl_ok(sg, VIRTIO_SND_R_PCM_PREPARE, sid);
        g_assert_true(wait_state_settled(state_file));
        g_assert_true(g_file_get_contents(state_file, &before, &before_len, NULL));

        /* Both reach the daemon before it reads either. */
        g_assert_cmpint(kill(vd_pid(a), SIGSTOP), ==, 0);
        g_assert_cmpint(ff_send(sg->ff, FF_RESET_DEVICE, false, NULL, 0, NULL, 0), ==, 0);
        g_assert_cmpint(shutdown(ff_fd(sg->ff), SHUT_RDWR), ==, 0);
        g_assert_cmpint(kill(vd_pid(a), SIGCONT), ==, 0);
        g_assert_true(wait_state_settled(state_file));
        g_assert_true(g_file_get_contents(state_file, &after, &after_len, NULL));
        g_assert_true(before_len != after_len || memcmp(before, after, before_len) != 0);
        g_assert_true(vd_alive(a));
        g_clear_pointer(&sg, sg_free);
        vd_terminate(a, WAIT_MS);
        g_unlink(state_file);
    }
    rm_dir(state_dir);
}

static void test_reconnect(void)
{
    char *dir, *state_dir;

    if (!vd_require()) {
        return;
    }
    dir = make_dir();
    state_dir = make_dir();
    {
        g_autofree char *state_file = g_build_filename(state_dir, "snd.state", NULL);
        g_autofree char *spec = driver_spec("wav", dir);
        g_autoptr(VdProc) a = NULL;
        g_autoptr(GError) err = NULL;
        g_autoptr(SgGuest) sg = NULL;
        g_autoptr(GBytes) da = NULL;
        g_autoptr(FfConn) holder = NULL;
        int sv[2];
        uint32_t bases[4];
        Player p = { 0 };

        a = spawn_with_state(spec, state_file);
        sg = sg_connect(a, NULL, &err);
        g_assert_no_error(err);
        ff_setup(sg->ff)->inflight = true;
        g_assert_true(sg_boot(sg, &err));
        g_assert_no_error(err);
        player_start(&p, sg, true);
        player_run(&p, MIGRATE_AT, a);

        /* keep the inflight region (QEMU holds it), drop the connection */
        g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), ==, 0);
        close(sv[1]);
        holder = ff_new_from_fd(sv[0]);
        ff_adopt_inflight(holder, sg->ff);
        *ff_setup(holder) = *ff_setup(sg->ff);
        ff_free(sg->ff);
        sg->ff = vd_connect(a, &err);
        g_assert_no_error(err);
        ff_adopt_inflight(sg->ff, holder);
        *ff_setup(sg->ff) = *ff_setup(holder);
        g_assert_true(ff_realize(sg->ff, &err));
        g_assert_no_error(err);
        /* what the old connection completed is in the used ring */
        while (sg_io_wait(sg, false, 0)) {
            p.completed++;
        }
        for (unsigned int q = 0; q < 4; q++) {
            bases[q] = fg_vq_base(sg->vq[q]);
        }
        g_assert_true(ff_start(sg->ff, sg->mem, sg->vq, bases, &err));
        g_assert_no_error(err);
        for (unsigned int i = 0; i < NMSG; i++) {
            if (!p.m[i]->pending) {
                player_submit(&p, p.m[i]);
            }
        }
        if (!player_try_run(&p, TOTAL, a)) {
            poll_stall("daemon serving a reconnected front-end from its state file");
        }
        g_assert_null(sg_io_wait(sg, false, 200));
        ctl_ok(sg, VIRTIO_SND_R_PCM_STOP, p.sid);
        ctl_ok(sg, VIRTIO_SND_R_PCM_RELEASE, p.sid);
        g_clear_pointer(&sg, sg_free);
        vd_terminate(a, WAIT_MS);
        /* one file: the stream reopened with the same parameters appends */
        da = wav_data(dir);
        g_assert_cmpuint(g_bytes_get_size(da), ==, TOTAL * PERIOD_BYTES);
        check_signal(g_bytes_get_data(da, NULL), g_bytes_get_size(da), 0, "A");
        g_unlink(state_file);
    }
    rm_dir(dir);
    rm_dir(state_dir);
}

int main(int argc, char **argv)
{
    static const Pair pairs[] = {
        { "wav", "wav", false },
        { "wav", "wav", true },
        { "wav", "null", false },
        { "null", "wav", false },
        { "wav", "wav", false, true },
    };

    g_test_init(&argc, &argv, NULL);
    /* A back-end that refuses an oversized state closes its pipe end. */
    signal(SIGPIPE, SIG_IGN);
    g_test_add_data_func("/integration/migrate/playback/split/wav-to-wav", &pairs[0],
                         test_playback);
    g_test_add_data_func("/integration/migrate/playback/packed/wav-to-wav", &pairs[1],
                         test_playback);
    g_test_add_data_func("/integration/migrate/playback/split/wav-to-null", &pairs[2],
                         test_playback);
    g_test_add_data_func("/integration/migrate/playback/split/null-to-wav", &pairs[3],
                         test_playback);
    g_test_add_data_func("/integration/migrate/playback/split/wav-to-wav-status-reset",
                         &pairs[4], test_playback);
    g_test_add_data_func("/integration/migrate/playback/failed-migration-source-resumes",
                         GINT_TO_POINTER(0), test_source_resumes);
    g_test_add_data_func("/integration/migrate/playback/failed-migration-source-resumes-"
                         "status-reset", GINT_TO_POINTER(1), test_source_resumes);
    g_test_add_func("/integration/restart/frontend-reconnect", test_reconnect);
    g_test_add_func("/integration/restart/reset-then-close-updates-state", test_reset_then_close);
    g_test_add_data_func("/integration/migrate/capture/split/continuous", GINT_TO_POINTER(0),
                         test_capture);
    g_test_add_data_func("/integration/migrate/capture/packed/continuous", GINT_TO_POINTER(1),
                         test_capture);
    g_test_add_func("/integration/migrate/invalid/blobs-refused-device-unchanged",
                    test_bad_blobs);
    g_test_add_func("/integration/migrate/dirty-log/shadow-equals-memory", test_dirty_log);
    g_test_add_func("/integration/restart/fresh-vm-ignores-state", test_fresh_vm_ignores_state);
    g_test_add_data_func("/integration/restart/split/sigkill-state-restored",
                         GINT_TO_POINTER(0), test_restart);
    g_test_add_data_func("/integration/restart/packed/sigkill-state-restored",
                         GINT_TO_POINTER(1), test_restart);
    return g_test_run();
}
